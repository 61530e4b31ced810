//! A SentencePiece *character* tokenizer read from a `.model` file (SpeechT5's `spm_char.model`).
//!
//! Owns: parsing the model protobuf (pieces and normalizer spec), SentencePiece's normalization
//! (the precompiled character map, whitespace rules, the `▁` meta symbol) and the char-model
//! encoding, with runs of unknown characters merged into one `<unk>` as SentencePiece does.
//! Knows nothing of OpenVINO or HTTP.

use std::collections::HashMap;
use std::path::Path;

use prost::Message;
use spm_precompiled::Precompiled;

/// SentencePiece's meta symbol standing for a space.
const SPACE_SYMBOL: char = '\u{2581}';

/// Errors while reading a SentencePiece model file.
#[derive(Debug, thiserror::Error)]
pub enum SentencePieceError {
    /// The file could not be read.
    #[error("cannot read tokenizer model {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a SentencePiece model protobuf.
    #[error("{path} is not a SentencePiece model: {reason}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
}

/// The parts of SentencePiece's `ModelProto` this tokenizer needs; other fields are skipped.
#[derive(Clone, PartialEq, Message)]
struct ModelProto {
    #[prost(message, repeated, tag = "1")]
    pieces: Vec<PieceProto>,
    #[prost(message, optional, tag = "3")]
    normalizer_spec: Option<NormalizerSpec>,
}

#[derive(Clone, PartialEq, Message)]
struct PieceProto {
    #[prost(string, optional, tag = "1")]
    piece: Option<String>,
    #[prost(float, optional, tag = "2")]
    score: Option<f32>,
    #[prost(enumeration = "PieceType", optional, tag = "3", default = "Normal")]
    kind: Option<i32>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, prost::Enumeration)]
#[repr(i32)]
enum PieceType {
    Normal = 1,
    Unknown = 2,
    Control = 3,
    UserDefined = 4,
    Byte = 6,
    Unused = 5,
}

#[derive(Clone, PartialEq, Message)]
struct NormalizerSpec {
    #[prost(string, optional, tag = "1")]
    name: Option<String>,
    #[prost(bytes = "vec", optional, tag = "2")]
    precompiled_charsmap: Option<Vec<u8>>,
    #[prost(bool, optional, tag = "3", default = "true")]
    add_dummy_prefix: Option<bool>,
    #[prost(bool, optional, tag = "4", default = "true")]
    remove_extra_whitespaces: Option<bool>,
    #[prost(bool, optional, tag = "5", default = "true")]
    escape_whitespaces: Option<bool>,
}

/// A character-level SentencePiece tokenizer.
pub struct CharTokenizer {
    ids: HashMap<char, i64>,
    control: HashMap<String, i64>,
    unk_id: i64,
    normalizer: Option<Precompiled>,
    add_dummy_prefix: bool,
    remove_extra_whitespaces: bool,
    escape_whitespaces: bool,
}

impl std::fmt::Debug for CharTokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CharTokenizer")
            .field("pieces", &self.ids.len())
            .field("unk_id", &self.unk_id)
            .finish_non_exhaustive()
    }
}

impl CharTokenizer {
    /// Reads a SentencePiece model file.
    pub fn from_file(path: &Path) -> Result<Self, SentencePieceError> {
        let bytes = std::fs::read(path).map_err(|source| SentencePieceError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_bytes(&bytes).map_err(|reason| SentencePieceError::Invalid {
            path: path.display().to_string(),
            reason,
        })
    }

    /// Parses a SentencePiece model from its protobuf bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, String> {
        let proto = ModelProto::decode(bytes).map_err(|e| e.to_string())?;
        let mut ids = HashMap::new();
        let mut control = HashMap::new();
        let mut unk_id = None;
        for (id, piece) in proto.pieces.iter().enumerate() {
            let id = i64::try_from(id).map_err(|e| e.to_string())?;
            let text = piece.piece.as_deref().unwrap_or_default();
            match piece.kind() {
                PieceType::Unknown => unk_id = Some(id),
                PieceType::Normal | PieceType::UserDefined => {
                    let mut chars = text.chars();
                    match (chars.next(), chars.next()) {
                        (Some(c), None) => {
                            ids.entry(c).or_insert(id);
                        }
                        _ => return Err(format!("piece {id} ({text:?}) is not a single character: only character models are supported")),
                    }
                }
                PieceType::Control => {
                    control.insert(text.to_owned(), id);
                }
                PieceType::Unused | PieceType::Byte => {}
            }
        }
        let unk_id = unk_id.ok_or("the model has no <unk> piece")?;
        if ids.is_empty() {
            return Err("the model has no character pieces".into());
        }
        let spec = proto.normalizer_spec.unwrap_or_default();
        let normalizer = match spec.precompiled_charsmap.as_deref() {
            Some(map) if !map.is_empty() => Some(
                Precompiled::from(map)
                    .map_err(|e| format!("bad precompiled character map: {e}"))?,
            ),
            _ => None,
        };
        Ok(Self {
            ids,
            control,
            unk_id,
            normalizer,
            add_dummy_prefix: spec.add_dummy_prefix(),
            remove_extra_whitespaces: spec.remove_extra_whitespaces(),
            escape_whitespaces: spec.escape_whitespaces(),
        })
    }

    /// The id of `<unk>`.
    pub fn unk_id(&self) -> i64 {
        self.unk_id
    }

    /// The id of a control piece such as `</s>`.
    pub fn control_id(&self, piece: &str) -> Option<i64> {
        self.control.get(piece).copied()
    }

    /// SentencePiece's normalization: character map, then whitespace rules, then `▁` for spaces.
    pub fn normalize(&self, text: &str) -> String {
        let mapped = match &self.normalizer {
            Some(map) => map.normalize_string(text),
            None => text.to_owned(),
        };
        let mut out = String::with_capacity(mapped.len() + 3);
        let mut pending_space = false;
        for c in mapped.chars() {
            if c == ' ' && self.remove_extra_whitespaces {
                // Leading spaces are dropped, runs collapse to one, trailing ones are dropped.
                pending_space = !out.is_empty();
                continue;
            }
            if pending_space {
                out.push(' ');
                pending_space = false;
            }
            out.push(c);
        }
        if out.is_empty() {
            return out;
        }
        if self.add_dummy_prefix {
            out.insert(0, ' ');
        }
        if self.escape_whitespaces {
            out = out.replace(' ', &SPACE_SYMBOL.to_string());
        }
        out
    }

    /// Encodes text into piece ids (no special tokens added).
    pub fn encode(&self, text: &str) -> Vec<i64> {
        let normalized = self.normalize(text);
        let mut ids = Vec::with_capacity(normalized.len());
        for c in normalized.chars() {
            let id = self.ids.get(&c).copied().unwrap_or(self.unk_id);
            // SentencePiece merges a run of unknown characters into one <unk> piece.
            if id == self.unk_id && ids.last() == Some(&self.unk_id) {
                continue;
            }
            ids.push(id);
        }
        ids
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(pieces: &[(&str, PieceType)]) -> CharTokenizer {
        let proto = ModelProto {
            pieces: pieces
                .iter()
                .map(|(p, k)| PieceProto {
                    piece: Some((*p).to_owned()),
                    score: Some(0.0),
                    kind: Some(*k as i32),
                })
                .collect(),
            normalizer_spec: None,
        };
        CharTokenizer::from_bytes(&proto.encode_to_vec()).unwrap()
    }

    fn abc() -> CharTokenizer {
        use PieceType::*;
        model(&[
            ("<s>", Control),
            ("<pad>", Control),
            ("</s>", Control),
            ("<unk>", Unknown),
            ("▁", Normal),
            ("a", Normal),
            ("b", Normal),
        ])
    }

    #[test]
    fn spaces_become_the_meta_symbol_with_a_dummy_prefix() {
        assert_eq!(abc().encode("a b"), vec![4, 5, 4, 6]);
    }

    #[test]
    fn extra_whitespace_is_collapsed_and_trimmed() {
        assert_eq!(abc().encode("   a    b  "), vec![4, 5, 4, 6]);
    }

    #[test]
    fn a_run_of_unknown_characters_is_one_unk() {
        assert_eq!(abc().encode("a xyz b"), vec![4, 5, 4, 3, 4, 6]);
        assert_eq!(abc().encode("日本語"), vec![4, 3]);
    }

    #[test]
    fn empty_text_gives_no_ids() {
        assert!(abc().encode("   ").is_empty());
    }

    #[test]
    fn multi_character_pieces_are_refused() {
        let proto = ModelProto {
            pieces: vec![PieceProto {
                piece: Some("ab".into()),
                score: None,
                kind: None,
            }],
            normalizer_spec: None,
        };
        let err = CharTokenizer::from_bytes(&proto.encode_to_vec()).unwrap_err();
        assert!(err.contains("not a single character"), "{err}");
    }
}
