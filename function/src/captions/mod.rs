//! Word timestamps and captions: when each word of the input is spoken in the audio as
//! delivered, from the phoneme durations a model decided before it made the audio (Piper's
//! duration predictor), and captions (WebVTT, SRT) grouped from those words.
//!
//! Owns the arithmetic from a piece's [`Durations`] and its words' phonemes ([`WordedPiece`]) to
//! [`WordTime`]s, and, in [`cues`], the captions. Pure functions; knows nothing of OpenVINO or
//! HTTP.

pub mod cues;

use std::ops::Range;

use crate::engine::{Durations, WordedPiece};
use crate::text::words::Word;

/// One word of the input and when it is spoken.
#[derive(Clone, Debug, PartialEq)]
pub struct WordTime {
    /// The word as the input has it ("$3.50", "Dr.").
    pub word: String,
    /// Its bytes in the input.
    pub source: Range<usize>,
    /// When its first phoneme starts, in seconds of the delivered audio.
    pub start: f64,
    /// When its last phoneme ends.
    pub end: f64,
}

/// The times of the words of `piece`, whose audio (with `durations`) starts at sample `offset`
/// of the delivered audio at `sample_rate`. A word runs from the start of its first phoneme to
/// the end of its last one (with the pad after it, which the model gives the phoneme's
/// transition); spaces and punctuation between words are nobody's time.
pub fn piece_times(
    piece: &WordedPiece,
    durations: &Durations,
    words: &[Word],
    offset: usize,
    sample_rate: u32,
) -> Vec<WordTime> {
    // Start sample of every id, and one past the last.
    let mut starts = Vec::with_capacity(durations.ids.len() + 1);
    let mut at = offset;
    for id in &durations.ids {
        starts.push(at);
        at += id.samples;
    }
    starts.push(at);
    let seconds = |sample: usize| round_ms(sample as f64 / f64::from(sample_rate));
    let mut out: Vec<WordTime> = Vec::new();
    let mut from = 0;
    let mut gap_from = 0;
    let chars: Vec<char> = piece.text.chars().collect();
    for piece_word in &piece.words {
        let inside = |i: usize| {
            durations.ids[i]
                .phoneme
                .is_some_and(|p| piece_word.phonemes.contains(&p))
        };
        let Some(first) = (from..durations.ids.len()).find(|&i| inside(i)) else {
            continue;
        };
        let ids = &durations.ids;
        let mut last = (first..ids.len())
            .take_while(|&i| ids[i].phoneme.is_none_or(|p| p < piece_word.phonemes.end))
            .filter(|&i| inside(i))
            .last()
            .unwrap_or(first);
        // The pad right after the word's last phoneme is the word's.
        if ids.get(last + 1).is_some_and(|id| id.phoneme.is_none()) {
            last += 1;
        }
        from = last + 1;
        let Some(word) = words.get(piece_word.word) else {
            continue;
        };
        // The word space before the word (and its pad) is the word's onset, measured: without
        // it starts came 50 ms after PocketSphinx's, with it 5 ms (median). After punctuation
        // the space holds the pause, which is nobody's.
        let is_space = |i: usize| {
            ids[i].phoneme.is_some_and(|p| {
                let before = p.checked_sub(1).and_then(|b| chars.get(b));
                chars.get(p).is_some_and(|c| c.is_whitespace())
                    && before.is_none_or(|c| !c.is_ascii_punctuation())
            })
        };
        let onset =
            if first >= gap_from + 2 && ids[first - 1].phoneme.is_none() && is_space(first - 2) {
                first - 2
            } else {
                first
            };
        gap_from = last + 1;
        let (start, end) = (seconds(starts[onset]), seconds(starts[last + 1]));
        // A piece's words are distinct (text.rs groups a word's phonemes into one entry); one
        // word over two pieces is joined by `extend`.
        out.push(WordTime {
            word: word.text.clone(),
            source: word.source.clone(),
            start,
            end,
        });
    }
    out
}

/// `seconds` rounded to the millisecond.
fn round_ms(seconds: f64) -> f64 {
    (seconds * 1000.0).round() / 1000.0
}

/// Appends `more` to `words`, joining a word that continues from the last one (the same input
/// word, in two pieces).
pub fn extend(words: &mut Vec<WordTime>, more: Vec<WordTime>) {
    for word in more {
        match words.last_mut() {
            Some(last) if last.source == word.source => last.end = word.end,
            _ => words.push(word),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{IdDuration, PieceWord};

    fn ids(spec: &[(Option<usize>, usize)]) -> Durations {
        Durations {
            ids: spec
                .iter()
                .map(|&(phoneme, samples)| IdDuration { phoneme, samples })
                .collect(),
        }
    }

    fn word(text: &str, source: Range<usize>) -> Word {
        Word {
            text: text.into(),
            source,
        }
    }

    #[test]
    fn a_word_runs_from_its_first_phoneme_to_the_pad_after_its_last() {
        // "ab cd": ^ _ a _ b _ ' ' _ c _ d _ $
        let durations = ids(&[
            (None, 100),
            (None, 100),
            (Some(0), 1000),
            (None, 100),
            (Some(1), 1000),
            (None, 100),
            (Some(2), 500),
            (None, 100),
            (Some(3), 1000),
            (None, 100),
            (Some(4), 1000),
            (None, 100),
            (None, 200),
        ]);
        let piece = WordedPiece {
            text: "ab cd".into(),
            words: vec![
                PieceWord {
                    word: 0,
                    phonemes: 0..2,
                },
                PieceWord {
                    word: 1,
                    phonemes: 3..5,
                },
            ],
        };
        let words = [word("ab", 0..2), word("cd", 3..5)];
        let times = piece_times(&piece, &durations, &words, 1000, 1000);
        assert_eq!(times.len(), 2);
        // Offset 1000 samples (1 s) + ^ and _ (200).
        assert_eq!((times[0].start, times[0].end), (1.2, 3.4));
        // The word space and its pad are the next word's onset.
        assert_eq!((times[1].start, times[1].end), (3.4, 6.2));
        assert!(times[1].end <= 1.0 + durations.total() as f64 / 1000.0);

        // After a comma the space is the pause: nobody's.
        let mut text = piece.clone();
        text.text = "a, cd".into();
        text.words[0].phonemes = 0..1;
        let times = piece_times(&text, &durations, &words, 0, 1000);
        assert_eq!((times[0].start, times[0].end), (0.2, 1.3));
        assert_eq!(times[1].start, 3.0);
    }

    #[test]
    fn one_input_word_in_two_pieces_is_joined() {
        let mut all = vec![WordTime {
            word: "$3.50".into(),
            source: 0..5,
            start: 0.0,
            end: 1.0,
        }];
        extend(
            &mut all,
            vec![
                WordTime {
                    word: "$3.50".into(),
                    source: 0..5,
                    start: 1.2,
                    end: 2.0,
                },
                WordTime {
                    word: "now".into(),
                    source: 6..9,
                    start: 2.1,
                    end: 2.5,
                },
            ],
        );
        assert_eq!(all.len(), 2);
        assert_eq!((all[0].start, all[0].end), (0.0, 2.0));
    }
}
