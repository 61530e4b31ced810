//! Piper's sentence assembly (piper-phonemize's `phonemize_eSpeak`) over the clauses eSpeak
//! returns: drop `(lang)` switch markers, NFD-decompose, append the clause's ending punctuation
//! (`,` `:` `;` followed by a space), and end the sentence after `.` `?` `!`.
//!
//! Piper's eSpeak fork reports each clause's terminator (`espeak_TextToPhonemesWithTerminator`);
//! stock eSpeak NG 1.52 does not, so the terminator is recovered from the text before the point
//! where eSpeak stopped reading (see [`terminator`]).

use unicode_normalization::UnicodeNormalization;

use crate::espeak::Clause;

/// How a clause ended, as Piper maps it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Terminator {
    Period,
    Question,
    Exclamation,
    Comma,
    Colon,
    Semicolon,
    /// A blank line: ends the sentence, appends nothing (eSpeak's `CLAUSE_PARAGRAPH`).
    Paragraph,
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
            Self::Paragraph => "",
        }
    }

    fn ends_sentence(self) -> bool {
        matches!(
            self,
            Self::Period | Self::Question | Self::Exclamation | Self::Paragraph
        )
    }
}

/// The terminator of the clause that ended where the next one starts (`next`, a byte offset into
/// `text` as eSpeak left its pointer; `None` when the clause ended the input).
///
/// eSpeak returns with its pointer just past its look-ahead: the first non-space character after
/// the clause's punctuation (the terminating NUL at the end of the input). So: step back over that
/// character and the whitespace before it, then read the run of punctuation before that. Its
/// first character is the terminator (`?!` is a question, as eSpeak reads it); `..` is eSpeak's
/// ellipsis, which Piper maps to nothing; two newlines are a paragraph end.
pub fn terminator(text: &[u8], next: Option<usize>) -> Option<Terminator> {
    // Index of the look-ahead character (text.len() stands for the NUL).
    let mut end = next.unwrap_or(text.len() + 1).min(text.len() + 1);
    end = end.checked_sub(1)?;
    // The look-ahead may be a multi-byte UTF-8 character: step back to its first byte.
    while end > 0 && end < text.len() && (text[end] & 0xC0) == 0x80 {
        end -= 1;
    }
    let before = &text[..end.min(text.len())];
    let trimmed = before.trim_ascii_end();
    let gap = &before[trimmed.len()..];
    let run_start = trimmed
        .iter()
        .rposition(|b| Terminator::from_byte(*b).is_none())
        .map_or(0, |i| i + 1);
    let run = &trimmed[run_start..];
    if gap.iter().filter(|&&b| b == b'\n').count() >= 2 {
        return Some(Terminator::Paragraph);
    }
    if run.windows(2).any(|w| w == b"..") {
        return None;
    }
    run.first().and_then(|&b| Terminator::from_byte(b))
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

/// Builds Piper's sentences from the clauses of `text`, each with the byte offset in `text`
/// where its first clause starts.
pub fn located_sentences(text: &[u8], clauses: &[Clause]) -> Vec<(String, usize)> {
    let mut sentences = Vec::new();
    let mut current: Option<(String, usize)> = None;
    let mut clause_start = 0;
    for clause in clauses {
        let (sentence, _) = current.get_or_insert_with(|| (String::new(), clause_start));
        push_clause(sentence, &clause.phonemes);
        if let Some(t) = terminator(text, clause.next) {
            sentence.push_str(t.phonemes());
            if t.ends_sentence() {
                sentences.extend(current.take());
            }
        }
        clause_start = clause
            .next
            .map_or(text.len(), |next| look_ahead_start(text, next));
    }
    sentences.extend(current);
    sentences
}

/// Where the next clause starts: eSpeak leaves its pointer (`next`) one past the next clause's
/// first character, so step back to that character's first byte.
fn look_ahead_start(text: &[u8], next: usize) -> usize {
    let mut at = next.min(text.len()).saturating_sub(1);
    while at > 0 && (text[at] & 0xC0) == 0x80 {
        at -= 1;
    }
    at
}

/// A word's phonemes read alone, from its clauses: NFD codepoints without `(lang)` markers or
/// punctuation, clauses joined by a space.
pub fn word(clauses: &[Clause]) -> String {
    let mut out = String::new();
    for clause in clauses {
        if !out.is_empty() && !clause.phonemes.trim().is_empty() {
            out.push(' ');
        }
        push_clause(&mut out, clause.phonemes.trim());
    }
    out
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
        let text = "Hello,  world. Next".as_bytes();
        // eSpeak leaves its pointer one past the first character of the next clause.
        assert_eq!(terminator(text, Some(9)), Some(Terminator::Comma));
        assert_eq!(terminator(text, Some(16)), Some(Terminator::Period));
        assert_eq!(terminator(text, None), None);
        assert_eq!(terminator(b"Hi!", None), Some(Terminator::Exclamation));
        assert_eq!(terminator(b"", None), None);
        assert_eq!(terminator(b"", Some(0)), None);
        assert_eq!(terminator(b"x", Some(0)), None);
    }

    #[test]
    fn terminator_handles_quotes_runs_ellipses_and_paragraphs() {
        // The look-ahead is a closing quote (3 bytes).
        let quoted = "\u{201c}Quoted,\u{201d} she".as_bytes();
        assert_eq!(terminator(quoted, Some(13)), Some(Terminator::Comma));
        assert_eq!(
            terminator(b"What?! Really", Some(8)),
            Some(Terminator::Question)
        );
        assert_eq!(terminator(b"Well... I guess", Some(9)), None);
        assert_eq!(
            terminator(b"One.\n\nTwo", Some(7)),
            Some(Terminator::Paragraph)
        );
    }

    #[test]
    fn sentences_end_after_full_stops_only() {
        let text = b"A, b. C";
        let clauses = [
            Clause {
                phonemes: "a".into(),
                next: Some(4),
            },
            Clause {
                phonemes: "b".into(),
                next: Some(7),
            },
            Clause {
                phonemes: "c".into(),
                next: None,
            },
        ];
        assert_eq!(
            located_sentences(text, &clauses),
            [("a, b.".to_owned(), 0), ("c".to_owned(), 6)]
        );
    }

    #[test]
    fn clause_starts_step_back_over_multibyte_look_ahead() {
        let text = "Un, \u{e9}t\u{e9}".as_bytes();
        // eSpeak's pointer is one character past the start of "été" (é is 2 bytes).
        assert_eq!(look_ahead_start(text, 6), 4);
        assert_eq!(look_ahead_start(text, 0), 0);
        assert_eq!(look_ahead_start(text, 99), text.len() - 2);
    }
}
