//! From a user's text to a Piper voice's pieces: the function's normalizer writes numbers,
//! money, dates, units and abbreviations out as words (eSpeak NG alone reads "$4.25" as "dollar
//! four point two five", "St." as "saint" and ends a sentence after "Dr."), then eSpeak NG reads
//! the words and splits them into sentences of phonemes as Piper does; sentences longer than
//! [`MAX_PIECE_PHONEMES`] are cut at a clause mark or between words.
//!
//! With words ([`worded`]): the same pieces, and for each the words of the input it speaks
//! (normalizer offsets back to the input, eSpeak's reading of each word alone aligned with the
//! sentence's phonemes; see [`crate::text::words`]).

use std::ops::Range;

use super::super::{EngineError, PieceWord, WordedPiece, WordedText};
use crate::text::espeak::Espeak;
use crate::text::normalize::{normalize, normalize_mapped};
use crate::text::words::{align, WordMap};

/// Longest piece (in phoneme characters, about 12–15 s of speech) given to one inference, so
/// longer sentences are cut at a clause mark or between words. The windowed decoder's memory no
/// longer grows with the sentence, but the front stage's does (its attention is quadratic in the
/// phonemes): measured on 4,096 characters of one comma-joined sentence (Intel Xeon, 2 threads),
/// a cut at 200 peaked at 537 MB and took 9.0 s, at 600 it peaked at 705 MB and took 9.7 s. The
/// whole graph peaked at 1,154 MB with the cut at 200 (and one 800-word sentence took 12 GB).
pub const MAX_PIECE_PHONEMES: usize = 200;

fn phonemizer(error: crate::text::espeak::EspeakError) -> EngineError {
    EngineError::Phonemizer(error.to_string())
}

/// The pieces of `text`, read with the eSpeak voice `voice`.
pub fn pieces(espeak: &Espeak, voice: &str, text: &str) -> Result<Vec<String>, EngineError> {
    let sentences = espeak
        .phonemize(&normalize(text), voice)
        .map_err(phonemizer)?;
    Ok(sentences
        .iter()
        .filter(|s| speakable(s))
        .flat_map(|s| {
            let chars: Vec<char> = s.chars().collect();
            split_long(&chars, MAX_PIECE_PHONEMES)
                .into_iter()
                .map(move |r| chars[r].iter().collect::<String>())
                .collect::<Vec<_>>()
        })
        .collect())
}

/// [`pieces`] with the words of `text` each piece speaks.
pub fn worded(espeak: &Espeak, voice: &str, text: &str) -> Result<WordedText, EngineError> {
    let normalized = normalize_mapped(text);
    let map = WordMap::new(text, &normalized);
    let sentences = espeak
        .phonemize_located(&normalized.text, voice)
        .map_err(phonemizer)?;
    let spoken: Vec<&str> = map.spoken.iter().map(|s| s.text.as_str()).collect();
    let readings = espeak.phonemize_words(&spoken, voice).map_err(phonemizer)?;
    let mut pieces = Vec::new();
    for (k, (sentence, start)) in sentences.iter().enumerate() {
        if !speakable(sentence) {
            continue;
        }
        let end = sentences
            .get(k + 1)
            .map_or(normalized.text.len(), |(_, next)| *next);
        let range = map.spoken_in(*start..end);
        let words: Vec<&str> = readings[range.clone()].iter().map(String::as_str).collect();
        let assigned = align::assign(sentence, &words);
        let chars: Vec<char> = sentence.chars().collect();
        for cut in split_long(&chars, MAX_PIECE_PHONEMES) {
            let mut words: Vec<PieceWord> = Vec::new();
            for (i, local) in assigned[cut.clone()].iter().enumerate() {
                let Some(local) = local else { continue };
                let word = map.spoken[range.start + local].word;
                match words.last_mut() {
                    Some(last) if last.word == word => last.phonemes.end = i + 1,
                    _ => words.push(PieceWord {
                        word,
                        phonemes: i..i + 1,
                    }),
                }
            }
            pieces.push(WordedPiece {
                text: chars[cut].iter().collect(),
                words,
            });
        }
    }
    Ok(WordedText {
        words: map.words,
        pieces,
    })
}

/// Whether a sentence of phonemes has anything to say (not only spaces and punctuation).
fn speakable(sentence: &str) -> bool {
    sentence
        .chars()
        .any(|c| !c.is_whitespace() && !is_punctuation(c))
}

/// Cuts a sentence of phonemes into pieces of at most `max` characters: after the last clause
/// mark (`, ` `; ` `: `) in the second half of the window, else between words, else anywhere.
/// Returns each piece's characters, without the spaces at its end; no piece is empty.
pub fn split_long(chars: &[char], max: usize) -> Vec<Range<usize>> {
    let mut pieces = Vec::new();
    let mut start = 0;
    let mut push = |range: Range<usize>| {
        let mut end = range.end;
        while end > range.start && chars[end - 1].is_whitespace() {
            end -= 1;
        }
        if chars[range.start..end].iter().any(|c| !c.is_whitespace()) {
            pieces.push(range.start..end);
        }
    };
    while chars.len() - start > max {
        let window = &chars[start..start + max];
        let after_space = |i: usize| window[i] == ' ' && i > 0;
        let cut = (max / 2..max)
            .rev()
            .find(|&i| after_space(i) && matches!(window[i - 1], ',' | ';' | ':'))
            .or_else(|| (1..max).rev().find(|&i| after_space(i)))
            .map_or(max, |i| i + 1);
        push(start..start + cut);
        start += cut;
    }
    push(start..chars.len());
    pieces
}

/// Punctuation eSpeak sentences carry besides phonemes.
fn is_punctuation(c: char) -> bool {
    matches!(c, '.' | ',' | ';' | ':' | '!' | '?')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(sentence: &str, max: usize) -> Vec<String> {
        let chars: Vec<char> = sentence.chars().collect();
        split_long(&chars, max)
            .into_iter()
            .map(|r| chars[r].iter().collect())
            .collect()
    }

    #[test]
    fn short_sentences_stay_whole() {
        assert_eq!(split("həlˈoʊ wˈɜːld.", 200), vec!["həlˈoʊ wˈɜːld."]);
    }

    #[test]
    fn long_sentences_are_cut_at_clause_marks_then_between_words() {
        let clause = "wˈʌn tˈuː θɹˈiː, ";
        let text = clause.repeat(6) + "ɛnd.";
        let pieces = split(&text, 40);
        assert!(pieces.iter().all(|p| p.chars().count() <= 40), "{pieces:?}");
        assert!(
            pieces[..pieces.len() - 1].iter().all(|p| p.ends_with(',')),
            "{pieces:?}"
        );
        assert_eq!(pieces.concat().replace(' ', ""), text.replace(' ', ""));

        let words = "wˈɜːd ".repeat(30);
        let pieces = split(&words, 40);
        assert!(pieces
            .iter()
            .all(|p| p.chars().count() <= 40 && !p.starts_with(' ')));
        assert_eq!(pieces.concat().replace(' ', ""), words.replace(' ', ""));

        let solid = "a".repeat(95);
        let pieces = split(&solid, 40);
        assert_eq!(
            pieces.iter().map(|p| p.len()).collect::<Vec<_>>(),
            vec![40, 40, 15]
        );
        assert!(split("   ", 2).is_empty());
    }
}
