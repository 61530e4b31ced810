//! Text before the model: tokenization (and, later, normalization and sentence splitting).
//! Pure functions over strings; knows nothing of OpenVINO or HTTP.

pub mod sentencepiece;
