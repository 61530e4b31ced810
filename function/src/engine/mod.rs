//! Speech engines: text in, f32 samples and timings out. Owns the engine interface that the HTTP
//! layer calls and the OpenVINO-backed models behind it. Must not import anything of HTTP.

mod error;
mod pool;
mod runtime;
pub mod speecht5;

use std::time::Duration;

pub use error::EngineError;
pub use runtime::{Precision, Runtime, RuntimeOptions, OPENVINO_C_LIBRARY};

/// What a model tells its callers about itself.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ModelInfo {
    /// The model's family, e.g. `speecht5`.
    pub family: &'static str,
    /// Output sample rate in Hz.
    pub sample_rate: u32,
    /// The voices it can speak with, sorted.
    pub voices: Vec<String>,
    /// The voice used when none is asked for.
    pub default_voice: String,
    /// Whether text must be normalized (numbers, symbols to words) before the model reads it.
    pub normalize_text: bool,
    /// Longest piece of text handed to one `synthesize` call (longer input is split).
    pub max_piece_chars: usize,
}

/// A finished utterance.
#[derive(Clone, Debug)]
pub struct Synthesis {
    /// Mono samples in [-1, 1] (not clipped).
    pub samples: Vec<f32>,
    /// Sample rate of `samples`.
    pub sample_rate: u32,
    /// Number of input tokens the model read.
    pub input_tokens: usize,
    /// Where the time went.
    pub timings: Timings,
}

impl Synthesis {
    /// Audio duration in seconds.
    pub fn duration_secs(&self) -> f64 {
        self.samples.len() as f64 / f64::from(self.sample_rate)
    }
}

/// Time spent in each stage of one utterance.
#[derive(Clone, Debug, Default)]
pub struct Timings {
    /// Text normalization and tokenization.
    pub tokenize: Duration,
    /// Encoder.
    pub encoder: Duration,
    /// Every decoder step, in order.
    pub decoder_steps: Vec<Duration>,
    /// Postnet.
    pub postnet: Duration,
    /// Vocoder.
    pub vocoder: Duration,
    /// Wall time of the whole utterance.
    pub total: Duration,
}

/// A text-to-speech model. Implementations are shared by concurrent requests (`&self`) and hold
/// no lock while they infer.
pub trait SpeechEngine: Send + Sync {
    /// Describes the model.
    fn info(&self) -> &ModelInfo;

    /// Synthesizes `text` with `voice` (one of [`ModelInfo::voices`]).
    fn synthesize(&self, text: &str, voice: &str) -> Result<Synthesis, EngineError>;
}
