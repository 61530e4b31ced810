//! The text being normalized, as characters (control characters already read as spaces), and
//! the questions the rules ask about a position in it: what character is there, whether a word
//! or number ends there, whether text matches there, whether a sentence seems to end there.

use std::ops::Deref;

/// The input characters; derefs to the slice, so `input[i]` and `input[a..b]` index it.
pub(super) struct Input {
    chars: Vec<char>,
}

impl Deref for Input {
    type Target = [char];

    fn deref(&self) -> &[char] {
        &self.chars
    }
}

/// Whether `c` breaks a line: LF, CR, VT, FF, LINE SEPARATOR or PARAGRAPH SEPARATOR.
pub(super) fn is_line_break(c: char) -> bool {
    matches!(
        c,
        '\n' | '\r' | '\u{0B}' | '\u{0C}' | '\u{2028}' | '\u{2029}'
    )
}

impl Input {
    /// The characters of `text`, with every control character that is not already whitespace
    /// (C0 controls such as NUL, BEL and ESC; DEL; C1 controls) read as a space, so that every
    /// rule sees it as one. Tabs, line breaks and NEL (U+0085) are whitespace already and keep
    /// their meaning.
    pub(super) fn new(text: &str) -> Self {
        let as_space = |c: char| c.is_control() && !c.is_whitespace();
        Input {
            chars: text
                .chars()
                .map(|c| if as_space(c) { ' ' } else { c })
                .collect(),
        }
    }

    pub(super) fn at(&self, i: usize) -> Option<char> {
        self.chars.get(i).copied()
    }

    pub(super) fn digit_at(&self, i: usize) -> bool {
        self.at(i).is_some_and(|c| c.is_ascii_digit())
    }

    /// The index after the run of ASCII digits starting at `k`.
    pub(super) fn digits_end(&self, mut k: usize) -> usize {
        while self.digit_at(k) {
            k += 1;
        }
        k
    }

    /// True when position `i` is not inside a word or number.
    pub(super) fn boundary(&self, i: usize) -> bool {
        !self.at(i).is_some_and(char::is_alphanumeric)
    }

    /// True when a word may end at `i`: no letter follows, nor a period joined to more text
    /// ("U.S.", "a.b"), so that letters written there cannot form new initials.
    pub(super) fn word_end(&self, i: usize) -> bool {
        !self.at(i).is_some_and(char::is_alphabetic)
            && (self.at(i) != Some('.') || self.boundary(i + 1))
    }

    pub(super) fn matches(&self, i: usize, s: &str) -> bool {
        (i..).zip(s.chars()).all(|(k, ch)| self.at(k) == Some(ch))
    }

    pub(super) fn matches_ignore_case(&self, i: usize, s: &str) -> bool {
        (i..)
            .zip(s.chars())
            .all(|(k, ch)| self.at(k).is_some_and(|c| c.eq_ignore_ascii_case(&ch)))
    }

    /// Whether a period just before `i` seems to end a sentence: end of text, a line break, or
    /// whitespace then a capital letter.
    pub(super) fn ends_sentence(&self, i: usize) -> bool {
        let mut k = i;
        let mut spaced = false;
        while let Some(c) = self.at(k) {
            if is_line_break(c) {
                return true;
            }
            if !c.is_whitespace() {
                return spaced && c.is_uppercase();
            }
            spaced = true;
            k += 1;
        }
        true
    }
}
