//! The output buffer: generated words and copied characters, with whitespace and comma pauses
//! held back until the next character is known, so that they collapse, never lead or trail, and
//! never double real punctuation.

#[derive(Clone, Copy, PartialEq, Default)]
enum Gap {
    #[default]
    None,
    Space,
    Newline,
}

/// The output text. Whitespace and comma pauses are held back until the next character is
/// known, so that they collapse, never lead or trail, and never double real punctuation.
#[derive(Default)]
pub(super) struct Out {
    s: String,
    gap: Gap,
    pause: bool,
    /// The last thing written was a generated word (so a following letter needs a space).
    generated: bool,
}

fn is_stop(c: char) -> bool {
    matches!(c, ',' | '.' | ';' | ':' | '!' | '?')
}

impl Out {
    /// The text written; whitespace and pauses still held back are dropped (they would trail).
    pub(super) fn into_string(self) -> String {
        self.s
    }

    /// Bytes written so far (whitespace and pauses still held back not included).
    pub(super) fn len(&self) -> usize {
        self.s.len()
    }

    /// Whitespace: a space, or a newline when `newline` (a newline wins over spaces).
    pub(super) fn gap(&mut self, newline: bool) {
        if newline {
            self.gap = Gap::Newline;
        } else if self.gap == Gap::None {
            self.gap = Gap::Space;
        }
    }

    /// A comma pause (dashes, brackets), written only if something other than punctuation
    /// follows.
    pub(super) fn pause(&mut self) {
        self.pause = true;
    }

    fn settle(&mut self, next: char, word: bool) {
        let Some(last) = self.s.chars().next_back() else {
            self.gap = Gap::None;
            self.pause = false;
            return;
        };
        if self.pause {
            self.pause = false;
            if is_stop(next) && self.gap == Gap::None {
                // The pause gives way to the punctuation, but must not glue a letter after a
                // period to it ("e.g.k—." must not become the initials "e.g.k.").
                let mut tail = self.s.chars().rev();
                if tail.next().is_some_and(char::is_alphabetic) && tail.next() == Some('.') {
                    self.gap = Gap::Space;
                }
            }
            if !is_stop(next) {
                if self.gap != Gap::Newline && !is_stop(last) && !matches!(last, '-' | '"' | '\'') {
                    self.s.push(',');
                }
                if self.gap == Gap::None {
                    self.gap = Gap::Space;
                }
            }
        }
        match self.gap {
            Gap::Space => self.s.push(' '),
            Gap::Newline => self.s.push('\n'),
            Gap::None => {
                // Generated words are kept apart from letters and digits only, so text the
                // user glued together ("3..5", "(5)") stays glued.
                if (word && last.is_alphanumeric()) || (self.generated && next.is_alphanumeric()) {
                    self.s.push(' ');
                }
            }
        }
        self.gap = Gap::None;
    }

    /// A character as the user wrote it.
    pub(super) fn raw(&mut self, c: char) {
        self.settle(c, false);
        self.s.push(c);
        self.generated = false;
    }

    pub(super) fn raw_str(&mut self, s: &str) {
        for c in s.chars() {
            self.raw(c);
        }
    }

    /// Generated words, kept apart from the letters and digits around them.
    pub(super) fn word(&mut self, w: &str) {
        let Some(first) = w.chars().next() else {
            return;
        };
        self.settle(first, true);
        self.s.push_str(w);
        self.generated = true;
    }

    /// The last word written, if it is directly followed by pending whitespace.
    pub(super) fn last_word(&self) -> &str {
        let t = self.s.trim_end();
        let start = t
            .rfind(|c: char| !c.is_alphabetic())
            .map_or(0, |i| i + t[i..].chars().next().map_or(1, char::len_utf8));
        &t[start..]
    }
}
