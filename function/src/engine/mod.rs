//! Speech engines: text in, f32 samples and timings out. Owns the engine interface that the HTTP
//! layer calls and the OpenVINO-backed models behind it. Must not import anything of HTTP.

mod error;
mod ov;
pub mod piper;
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
    /// How text reaches the model, e.g. "text normalized to words, SentencePiece characters".
    pub text_frontend: &'static str,
    /// How `speed` is applied.
    pub speed_control: SpeedControl,
}

/// How a model honours a `speed` other than 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SpeedControl {
    /// The model's own duration control (e.g. Piper's length scale): natural at every speed.
    Duration,
    /// A pitch-preserving time-stretch of the model's output.
    TimeStretch,
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
    /// Single-pass models (Piper): the one inference from ids to waveform.
    pub model: Duration,
    /// Wall time of the whole utterance.
    pub total: Duration,
}

/// A text-to-speech model. Implementations are shared by concurrent requests (`&self`) and hold
/// no lock while they infer.
pub trait SpeechEngine: Send + Sync {
    /// Describes the model.
    fn info(&self) -> &ModelInfo;

    /// Turns a user's text into the pieces this model synthesizes one call at a time, in order
    /// (sentences, prepared as the model reads them: normalized words for SpeechT5, phonemes for
    /// Piper). Empty when nothing in the text is speakable.
    fn prepare(&self, text: &str) -> Result<Vec<String>, EngineError>;

    /// Synthesizes one piece from [`Self::prepare`] with `voice` (one of [`ModelInfo::voices`])
    /// at `speed` (0.25–4; 1 is the model's natural pace), as [`ModelInfo::speed_control`] says.
    fn synthesize(&self, piece: &str, voice: &str, speed: f32) -> Result<Synthesis, EngineError>;
}

impl Timings {
    /// Adds another piece's timings to these (decoder steps appended in order).
    pub fn add(&mut self, other: Timings) {
        self.tokenize += other.tokenize;
        self.encoder += other.encoder;
        self.decoder_steps.extend(other.decoder_steps);
        self.postnet += other.postnet;
        self.vocoder += other.vocoder;
        self.model += other.model;
        self.total += other.total;
    }
}
