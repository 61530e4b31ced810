//! The on-disk layout of a SpeechT5 export as optimum-intel writes it (and OpenVINO GenAI and
//! Model Server load it): the four IRs, `config.json`, the optional `generation_config.json`,
//! the tokenizer's `spm_char.model` and speaker embeddings in `voices/<name>.bin` (512 raw
//! little-endian f32, the model server's format). Owns reading and checking those files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::engine::EngineError;

/// IR file names, in pipeline order.
pub const ENCODER_XML: &str = "openvino_encoder_model.xml";
/// The stateful decoder IR.
pub const DECODER_XML: &str = "openvino_decoder_model.xml";
/// The postnet IR.
pub const POSTNET_XML: &str = "openvino_postnet.xml";
/// The HiFi-GAN vocoder IR.
pub const VOCODER_XML: &str = "openvino_vocoder.xml";
/// The tokenizer model.
pub const TOKENIZER_MODEL: &str = "spm_char.model";

/// The fields of `config.json` the engine uses (defaults are SpeechT5's).
#[derive(Clone, Debug, Deserialize)]
pub struct ModelConfig {
    /// Spectrogram frames produced per decoder step.
    #[serde(default = "default_reduction_factor")]
    pub reduction_factor: usize,
    /// Mel bins per frame.
    #[serde(default = "default_num_mel_bins")]
    pub num_mel_bins: usize,
    /// Length of a speaker embedding.
    #[serde(default = "default_speaker_embedding_dim")]
    pub speaker_embedding_dim: usize,
    /// Longest token sequence the encoder's positions cover.
    #[serde(default = "default_max_text_positions")]
    pub max_text_positions: usize,
    /// Longest frame sequence the decoder's positions cover.
    #[serde(default = "default_max_speech_positions")]
    pub max_speech_positions: usize,
}

fn default_reduction_factor() -> usize {
    2
}
fn default_num_mel_bins() -> usize {
    80
}
fn default_speaker_embedding_dim() -> usize {
    512
}
fn default_max_text_positions() -> usize {
    600
}
fn default_max_speech_positions() -> usize {
    4000
}

/// The stop rule of the decoder loop, as OpenVINO GenAI's `SpeechGenerationConfig` has it.
#[derive(Clone, Copy, Debug, PartialEq, Deserialize, serde::Serialize)]
pub struct GenerationParams {
    /// No stop before `int(encoder_length × minlenratio / reduction_factor)` steps.
    #[serde(default)]
    pub minlenratio: f32,
    /// Always stop at `int(encoder_length × maxlenratio / reduction_factor)` steps.
    #[serde(default = "default_maxlenratio")]
    pub maxlenratio: f32,
    /// Stop once the summed stop probabilities of a step reach this.
    #[serde(default = "default_threshold")]
    pub threshold: f32,
}

fn default_maxlenratio() -> f32 {
    20.0
}
fn default_threshold() -> f32 {
    0.5
}

impl Default for GenerationParams {
    fn default() -> Self {
        Self {
            minlenratio: 0.0,
            maxlenratio: default_maxlenratio(),
            threshold: default_threshold(),
        }
    }
}

impl GenerationParams {
    /// Checks the constraints GenAI enforces.
    pub fn validate(&self) -> Result<(), String> {
        if self.minlenratio.is_nan() || self.minlenratio < 0.0 {
            return Err(format!(
                "minlenratio must be non-negative, got {}",
                self.minlenratio
            ));
        }
        if self.maxlenratio.is_nan() || self.maxlenratio <= self.minlenratio {
            return Err(format!(
                "maxlenratio ({}) must be greater than minlenratio ({})",
                self.maxlenratio, self.minlenratio
            ));
        }
        if !(0.0..=1.0).contains(&self.threshold) {
            return Err(format!(
                "threshold must be in [0, 1], got {}",
                self.threshold
            ));
        }
        Ok(())
    }

    /// `(minlen, maxlen)` in decoder steps for an encoder output of `encoder_len` positions,
    /// computed in f32 and truncated exactly as GenAI does.
    pub fn step_bounds(&self, encoder_len: usize, reduction_factor: usize) -> (usize, usize) {
        let len = encoder_len as f32;
        let rf = reduction_factor as f32;
        let bound = |ratio: f32| (len * ratio / rf) as usize;
        (bound(self.minlenratio), bound(self.maxlenratio))
    }
}

/// A checked model folder.
#[derive(Debug)]
pub struct ModelFolder {
    /// The folder.
    pub dir: PathBuf,
    /// `config.json`.
    pub config: ModelConfig,
    /// `generation_config.json` (GenAI's defaults where absent).
    pub generation: GenerationParams,
    /// Speaker embeddings by voice name.
    pub voices: BTreeMap<String, Vec<f32>>,
}

impl ModelFolder {
    /// Opens `dir`, checking that every file the engine needs is there and readable.
    pub fn open(dir: &Path) -> Result<Self, EngineError> {
        let fail = |reason: String| EngineError::ModelFolder {
            path: dir.to_owned(),
            reason,
        };
        if !dir.is_dir() {
            return Err(fail("not found (build the test fixture with `tests/fixtures/speecht5/make.sh`, or export a model with `optimum-cli export openvino --task text-to-audio`)".into()));
        }
        let mut missing: Vec<String> = [ENCODER_XML, DECODER_XML, POSTNET_XML, VOCODER_XML]
            .iter()
            .flat_map(|xml| [xml.to_string(), xml.replace(".xml", ".bin")])
            .chain([TOKENIZER_MODEL.to_string(), "config.json".to_string()])
            .filter(|name| !dir.join(name).is_file())
            .collect();
        missing.sort();
        if !missing.is_empty() {
            return Err(fail(format!(
                "incomplete SpeechT5 export, missing {}",
                missing.join(", ")
            )));
        }
        let config: ModelConfig = read_json(&dir.join("config.json")).map_err(fail)?;
        if config.reduction_factor == 0 || config.num_mel_bins == 0 {
            return Err(fail(
                "config.json: reduction_factor and num_mel_bins must be positive".into(),
            ));
        }
        let generation_file = dir.join("generation_config.json");
        let generation: GenerationParams = if generation_file.is_file() {
            read_json(&generation_file).map_err(fail)?
        } else {
            GenerationParams::default()
        };
        generation
            .validate()
            .map_err(|e| fail(format!("generation_config.json: {e}")))?;
        let voices =
            read_voices(&dir.join("voices"), config.speaker_embedding_dim).map_err(fail)?;
        Ok(Self {
            dir: dir.to_owned(),
            config,
            generation,
            voices,
        })
    }

    /// Path of a file in the folder.
    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Reads every `<name>.bin` speaker embedding in `dir` (a missing folder means no voices).
fn read_voices(dir: &Path, dim: usize) -> Result<BTreeMap<String, Vec<f32>>, String> {
    let mut voices = BTreeMap::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(voices);
    };
    for entry in entries {
        let path = entry
            .map_err(|e| format!("cannot list {}: {e}", dir.display()))?
            .path();
        if path.extension().and_then(|e| e.to_str()) != Some("bin") {
            continue;
        }
        let Some(name) = path.file_stem().and_then(|s| s.to_str()) else {
            continue;
        };
        let bytes =
            std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        if bytes.len() != dim * 4 {
            return Err(format!(
                "{} has {} bytes; a speaker embedding is {dim} little-endian f32 ({} bytes)",
                path.display(),
                bytes.len(),
                dim * 4
            ));
        }
        let embedding = bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        voices.insert(name.to_owned(), embedding);
    }
    Ok(voices)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_bounds_truncate_like_genai() {
        let p = GenerationParams {
            minlenratio: 0.5,
            maxlenratio: 3.3,
            threshold: 0.5,
        };
        // 13 × 3.3 / 2 = 21.45 → 21; 13 × 0.5 / 2 = 3.25 → 3
        assert_eq!(p.step_bounds(13, 2), (3, 21));
    }

    #[test]
    fn genai_constraints_are_enforced() {
        let bad = GenerationParams {
            minlenratio: 2.0,
            maxlenratio: 2.0,
            threshold: 0.5,
        };
        assert!(bad.validate().unwrap_err().contains("greater than"));
        let bad = GenerationParams {
            threshold: 1.5,
            ..GenerationParams::default()
        };
        assert!(bad.validate().is_err());
        assert!(GenerationParams::default().validate().is_ok());
    }
}
