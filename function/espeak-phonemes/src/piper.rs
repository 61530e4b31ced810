//! Piper's sentence assembly (piper-phonemize's `phonemize_eSpeak`) over the clauses eSpeak
//! returns: drop `(lang)` switch markers, NFD-decompose, append the clause's ending punctuation
//! (`,` `:` `;` followed by a space), and end the sentence after `.` `?` `!`.
//!
//! Piper's eSpeak fork reports each clause's terminator (`espeak_TextToPhonemesWithTerminator`);
//! stock eSpeak NG 1.52 does not, so the terminator is recovered from the text: the last
//! character before the next clause's start, skipping the one eSpeak read ahead and spaces.

use unicode_normalization::UnicodeNormalization;

use crate::espeak::Clause;

/// Punctuation that ends a clause, as Piper maps it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Terminator {
    Period,
    Question,
    Exclamation,
    Comma,
    Colon,
    Semicolon,
}

impl Terminator {
    fn from_byte(byte: u8) -> Option<Self> {
        Some(match byte {
            b'.' => Self::Period,
            b'?' => Self::Question,
            b'!' => Self::Exclamation,
            b',' => Self::Comma,
            b':' => Self::Colon,
            b';' => Self::Semicolon,
            _ => return None,
        })
    }

    /// What Piper appends to the sentence's phonemes.
    fn phonemes(self) -> &'static str {
        match self {
            Self::Period => ".",
            Self::Question => "?",
            Self::Exclamation => "!",
            Self::Comma => ", ",
            Self::Colon => ": ",
            Self::Semicolon => "; ",
        }
    }

    fn ends_sentence(self) -> bool {
        matches!(self, Self::Period | Self::Question | Self::Exclamation)
    }
}

/// The terminator of the clause that ended where the next one starts (`next`, a byte offset into
/// `text`; `None` when the clause ended the input).
pub fn terminator(text: &[u8], next: Option<usize>) -> Option<Terminator> {
    // eSpeak has read one character past the clause's end (its look-ahead) when it returns; at the
    // end of the input that character is the terminating NUL.
    let end = next.unwrap_or(text.len() + 1).min(text.len() + 1);
    let before = end.checked_sub(1)?;
    text[..before.min(text.len())]
        .iter()
        .rev()
        .find(|&&b| b != b' ')
        .and_then(|&b| Terminator::from_byte(b))
}

/// Appends `phonemes` to `sentence` the Piper way: NFD codepoints, without `(lang)` markers.
fn push_clause(sentence: &mut String, phonemes: &str) {
    let mut in_marker = false;
    for c in phonemes.nfd() {
        if in_marker {
            in_marker = c != ')';
        } else if c == '(' {
            in_marker = true;
        } else {
            sentence.push(c);
        }
    }
}

/// Builds Piper's sentences from the clauses of `text`.
pub fn sentences(text: &[u8], clauses: &[Clause]) -> Vec<String> {
    let mut sentences = Vec::new();
    let mut current: Option<String> = None;
    for clause in clauses {
        let sentence = current.get_or_insert_with(String::new);
        push_clause(sentence, &clause.phonemes);
        if let Some(t) = terminator(text, clause.next) {
            sentence.push_str(t.phonemes());
            if t.ends_sentence() {
                sentences.extend(current.take());
            }
        }
    }
    sentences.extend(current);
    sentences
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_are_dropped_and_text_decomposed() {
        let mut s = String::new();
        push_clause(&mut s, "(fr)kafe(en) ç");
        assert_eq!(s, "kafe c\u{327}");
    }

    #[test]
    fn terminator_skips_look_ahead_and_spaces() {
        let text = b"Hello,  world. Next";
        // eSpeak leaves the pointer one past the character after the punctuation.
        assert_eq!(terminator(text, Some(8)), Some(Terminator::Comma));
        assert_eq!(terminator(text, Some(15)), Some(Terminator::Period));
        assert_eq!(terminator(text, None), None);
        assert_eq!(terminator(b"Hi!", None), Some(Terminator::Exclamation));
        assert_eq!(terminator(b"", None), None);
        assert_eq!(terminator(b"", Some(0)), None);
    }

    #[test]
    fn sentences_end_after_full_stops_only() {
        let text = b"A, b. C";
        let clauses = [
            Clause {
                phonemes: "a".into(),
                next: Some(3),
            },
            Clause {
                phonemes: "b".into(),
                next: Some(6),
            },
            Clause {
                phonemes: "c".into(),
                next: None,
            },
        ];
        assert_eq!(sentences(text, &clauses), ["a, b.", "c"]);
    }
}
