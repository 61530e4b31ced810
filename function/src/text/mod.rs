//! Text before the model: normalization (digits, symbols, abbreviations → words), sentence
//! splitting, tokenization, and Piper phonemes (eSpeak NG through its helper process, phoneme
//! ids). Pure functions over strings (except `espeak`, which talks to a child process); knows
//! nothing of OpenVINO or HTTP.

pub mod espeak;
pub mod normalize;
pub mod phoneme_ids;
pub mod sentencepiece;
pub mod sentences;
pub mod words;

/// A small deterministic generator for the property tests of this module (xorshift64, no crates).
#[cfg(test)]
pub(crate) struct TestRng(pub(crate) u64);

#[cfg(test)]
impl TestRng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub(crate) fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}
