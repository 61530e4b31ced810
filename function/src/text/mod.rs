//! Text before the model: normalization (digits, symbols, abbreviations → words), sentence
//! splitting and tokenization. Pure functions over strings; knows nothing of OpenVINO or HTTP.

pub mod normalize;
pub mod sentencepiece;
pub mod sentences;
