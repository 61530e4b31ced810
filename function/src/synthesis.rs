//! From a validated request to encoded audio: the engine prepares the text into pieces
//! (sentences), one engine call per piece at the requested speed, pieces joined with short pauses
//! (shortened or lengthened with the speed), then encoding. Knows nothing of HTTP; reaches the
//! model only through [`SpeechEngine`].

use std::time::{Duration, Instant};

use crate::audio::{encode, AudioError, AudioFormat, Encoded};
use crate::engine::{EngineError, SpeechEngine, Timings};

/// What to synthesize.
#[derive(Clone, Debug)]
pub struct SpeechJob<'a> {
    /// The user's text.
    pub text: &'a str,
    /// An engine voice.
    pub voice: &'a str,
    /// Speed factor in [0.25, 4].
    pub speed: f32,
    /// Output format.
    pub format: AudioFormat,
    /// Silence between pieces.
    pub pause: Duration,
}

/// Encoded audio and what it cost.
#[derive(Debug)]
pub struct SpeechOutput {
    /// The encoded audio.
    pub audio: Encoded,
    /// Duration of the audio in seconds.
    pub audio_seconds: f64,
    /// Tokens read by the model, over all pieces.
    pub input_tokens: usize,
    /// Pieces (sentences) synthesized.
    pub pieces: usize,
    /// Engine timings summed over pieces (decoder steps concatenated).
    pub timings: Timings,
    /// Time spent encoding.
    pub post: Duration,
}

/// Why a job failed.
#[derive(Debug, thiserror::Error)]
pub enum SynthesisError {
    /// The engine failed or refused.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// Encoding failed or the format is not built in.
    #[error(transparent)]
    Audio(#[from] AudioError),
    /// Nothing speakable is left after text preparation.
    #[error("the input has nothing to synthesize")]
    NothingToSay,
}

/// Synthesizes a job with `engine`.
pub fn synthesize(
    engine: &dyn SpeechEngine,
    job: &SpeechJob<'_>,
) -> Result<SpeechOutput, SynthesisError> {
    // Refuse a format that was built out before spending any inference on it.
    job.format.ensure_built()?;
    let info = engine.info();
    let pieces = engine.prepare(job.text)?;
    if pieces.is_empty() {
        return Err(SynthesisError::NothingToSay);
    }
    let pause = (job.pause.as_secs_f64() / f64::from(job.speed) * f64::from(info.sample_rate))
        .round() as usize;
    let mut samples: Vec<f32> = Vec::new();
    let mut timings = Timings::default();
    let mut input_tokens = 0;
    for (i, piece) in pieces.iter().enumerate() {
        let out = engine.synthesize(piece, job.voice, job.speed)?;
        if i > 0 {
            samples.resize(samples.len() + pause, 0.0);
        }
        samples.extend_from_slice(&out.samples);
        input_tokens += out.input_tokens;
        timings.add(out.timings);
    }
    let started = Instant::now();
    let audio_seconds = samples.len() as f64 / f64::from(info.sample_rate);
    let audio = encode(job.format, &samples, info.sample_rate)?;
    Ok(SpeechOutput {
        audio,
        audio_seconds,
        input_tokens,
        pieces: pieces.len(),
        timings,
        post: started.elapsed(),
    })
}
