//! Words as the user wrote them, and how the phonemes of a sentence belong to them: the way from
//! a phoneme's time back to a word of the input, for word timestamps and captions.
//!
//! Owns: the [`WordMap`] (the words a caption shows, each a span of the input, and the words of
//! the normalized text that speak them: "$3.50" is one word spoken as five, "Dr." one word
//! spoken as "Doctor") and, in [`align`], giving each phoneme of a sentence to one of the words
//! it was read from. Pure functions; knows nothing of eSpeak, engines or HTTP.

pub mod align;

use std::ops::Range;

use super::normalize::Normalized;

/// A word as a caption shows it: a span of the user's input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Word {
    /// The input's text of the word (punctuation around it left out, punctuation that is part
    /// of it kept: "Dr.", "$3.50", "U.S.").
    pub text: String,
    /// Its bytes in the input.
    pub source: Range<usize>,
}

/// A word of the normalized text (what the phonemizer reads), and the input word it speaks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpokenWord {
    /// The word alone, without the punctuation around it ("dollars", "forty-two").
    pub text: String,
    /// Its bytes in the normalized text.
    pub output: Range<usize>,
    /// The [`Word`] it speaks (an index into [`WordMap::words`]).
    pub word: usize,
}

/// The input's words and the normalized words that speak them, both in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WordMap {
    /// The words a caption shows.
    pub words: Vec<Word>,
    /// The normalized text's words; each speaks one of [`Self::words`], in order.
    pub spoken: Vec<SpokenWord>,
}

/// Byte ranges of the whitespace-separated tokens of `text`.
fn tokens(text: &str) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        match (c.is_whitespace(), start) {
            (true, Some(s)) => {
                out.push(s..i);
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push(s..text.len());
    }
    out
}

/// `range` of `text` without the characters at either end that are neither letters nor digits;
/// `None` when nothing is left.
fn trim_to_alphanumeric(text: &str, range: Range<usize>) -> Option<Range<usize>> {
    let token = &text[range.clone()];
    let start = token.find(char::is_alphanumeric)?;
    let last = token.rfind(char::is_alphanumeric)?;
    let end = last + token[last..].chars().next().map_or(1, char::len_utf8);
    Some(range.start + start..range.start + end)
}

impl WordMap {
    /// The words of `input` and of its normalization `normalized`.
    ///
    /// A normalized word (a whitespace-separated token of the normalized text, trimmed to its
    /// letters and digits) speaks the input its rule read (see [`Normalized::source_of`]). Input
    /// words are the input's whitespace-separated tokens, joined where one rule read across
    /// them ("5 p.m." is one word); each shows the input its normalized words read, so
    /// brackets, quotes and sentence punctuation around a word are not part of it. Input that
    /// nothing speaks (a dash, an emoji) is in no word.
    pub fn new(input: &str, normalized: &Normalized) -> Self {
        let input_tokens = tokens(input);
        let mut map = WordMap::default();
        // The word being built: its last input token, its source, its spoken words.
        let mut current: Option<(usize, Range<usize>)> = None;
        let mut pending: Vec<SpokenWord> = Vec::new();
        let close = |map: &mut WordMap,
                     current: &mut Option<(usize, Range<usize>)>,
                     pending: &mut Vec<SpokenWord>| {
            if let Some((_, source)) = current.take() {
                let index = map.words.len();
                map.words.push(Word {
                    text: input[source.clone()].trim().to_owned(),
                    source,
                });
                map.spoken.extend(pending.drain(..).map(|mut s| {
                    s.word = index;
                    s
                }));
            }
        };
        for token in tokens(&normalized.text) {
            let Some(output) = trim_to_alphanumeric(&normalized.text, token) else {
                continue;
            };
            let Some(source) = normalized.source_of(output.clone()) else {
                continue;
            };
            let first = input_tokens.partition_point(|t| t.end <= source.start);
            let last = input_tokens[first..]
                .iter()
                .take_while(|t| t.start < source.end)
                .count()
                .saturating_sub(1)
                + first;
            match &mut current {
                Some((token_end, range)) if first <= *token_end => {
                    *token_end = (*token_end).max(last);
                    *range = range.start.min(source.start)..range.end.max(source.end);
                }
                _ => {
                    close(&mut map, &mut current, &mut pending);
                    current = Some((last, source));
                }
            }
            pending.push(SpokenWord {
                text: normalized.text[output.clone()].to_owned(),
                output,
                word: 0,
            });
        }
        close(&mut map, &mut current, &mut pending);
        map
    }

    /// The spoken words whose normalized text starts in `output` (bytes of the normalized
    /// text), as a range of indices into [`Self::spoken`].
    pub fn spoken_in(&self, output: Range<usize>) -> Range<usize> {
        let start = self
            .spoken
            .partition_point(|s| s.output.start < output.start);
        let end = self.spoken.partition_point(|s| s.output.start < output.end);
        start..end.max(start)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::normalize::normalize_mapped;

    fn words(input: &str) -> Vec<(String, Vec<String>)> {
        let map = WordMap::new(input, &normalize_mapped(input));
        map.words
            .iter()
            .enumerate()
            .map(|(i, w)| {
                assert_eq!(input[w.source.clone()].trim(), w.text);
                let spoken = map
                    .spoken
                    .iter()
                    .filter(|s| s.word == i)
                    .map(|s| s.text.clone())
                    .collect();
                (w.text.clone(), spoken)
            })
            .collect()
    }

    fn shown(input: &str) -> Vec<String> {
        words(input).into_iter().map(|(w, _)| w).collect()
    }

    #[test]
    fn money_is_one_word_spoken_as_several() {
        assert_eq!(
            words("It costs $3.50 today."),
            [
                ("It".to_owned(), vec!["It".to_owned()]),
                ("costs".into(), vec!["costs".into()]),
                (
                    "$3.50".into(),
                    ["three", "dollars", "and", "fifty", "cents"]
                        .map(String::from)
                        .to_vec()
                ),
                ("today".into(), vec!["today".into()]),
            ]
        );
    }

    #[test]
    fn abbreviations_keep_their_periods_and_sentence_punctuation_is_left_out() {
        assert_eq!(
            words("Dr. Who lives on Baker St. It is nice."),
            [
                ("Dr.".to_owned(), vec!["Doctor".to_owned()]),
                ("Who".into(), vec!["Who".into()]),
                ("lives".into(), vec!["lives".into()]),
                ("on".into(), vec!["on".into()]),
                ("Baker".into(), vec!["Baker".into()]),
                ("St.".into(), vec!["Street".into()]),
                ("It".into(), vec!["It".into()]),
                ("is".into(), vec!["is".into()]),
                ("nice".into(), vec!["nice".into()]),
            ]
        );
        assert_eq!(shown("in the U.S. Then"), ["in", "the", "U.S.", "Then"]);
        assert_eq!(shown("apples, etc. Then"), ["apples", "etc.", "Then"]);
    }

    #[test]
    fn one_rule_across_spaces_makes_one_word() {
        assert_eq!(shown("at 5 p.m. today"), ["at", "5 p.m.", "today"]);
        assert_eq!(
            words("at 10:30am")[1],
            (
                "10:30am".to_owned(),
                ["ten", "thirty", "a", "m"].map(String::from).to_vec()
            )
        );
    }

    #[test]
    fn glued_pieces_stay_one_word_and_brackets_quotes_and_dashes_are_left_out() {
        assert_eq!(
            shown("an mp3 (two) \"well-known\" — rock & roll 50%"),
            ["an", "mp3", "two", "well-known", "rock", "&", "roll", "50%"]
        );
        assert_eq!(words("mp3")[0].1, ["mp", "three"]);
        assert_eq!(words("rock & roll")[1].1, ["and"]);
    }

    #[test]
    fn text_without_speakable_words_has_none_and_other_scripts_are_words() {
        assert!(shown(" — ... !? 😀 ").is_empty());
        assert_eq!(shown("中文 text"), ["中文", "text"]);
        assert!(shown("").is_empty());
    }

    #[test]
    fn every_spoken_word_points_at_a_word_in_order_and_words_do_not_overlap() {
        let mut rng = crate::text::TestRng(0x0005_eed0_fa11);
        let parts = [
            "$3.50", "Dr.", "Mr ", "5 p.m.", "U.S.", " ", "  ", "\n", "cats", "(", ")", "—", "-",
            "1,234", "50%", "mp3", "😀", "é", "10:30", "…", ".", ",", "\"", "'", "1/2", "#5",
        ];
        for _ in 0..5_000 {
            let text: String = (0..rng.below(14)).map(|_| rng.pick(&parts)).collect();
            let normalized = normalize_mapped(&text);
            let map = WordMap::new(&text, &normalized);
            for pair in map.words.windows(2) {
                assert!(
                    pair[0].source.end <= pair[1].source.start,
                    "{text:?}: {map:?}"
                );
            }
            for pair in map.spoken.windows(2) {
                assert!(pair[0].word <= pair[1].word, "{text:?}");
                assert!(pair[0].output.end <= pair[1].output.start, "{text:?}");
            }
            for (i, word) in map.words.iter().enumerate() {
                assert!(!word.text.is_empty(), "{text:?}");
                assert!(map.spoken.iter().any(|s| s.word == i), "{text:?}");
            }
        }
    }
}
