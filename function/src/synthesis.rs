//! From a validated request to encoded audio: the engine prepares the text into pieces
//! (sentences), one engine call per piece at the requested speed, pieces joined with short pauses
//! (shortened or lengthened with the speed), then encoding. Knows nothing of HTTP; reaches the
//! model only through [`SpeechEngine`]. Streaming ([`prepare_stream`], [`run_stream`]) does the
//! same with a streaming encoder, handing bytes on as each piece's audio arrives.

use std::time::{Duration, Instant};

use crate::audio::{encode, AudioError, AudioFormat, Encoded, StreamEncoder};
use crate::engine::{EngineError, SpeechEngine, Stop, Timings};

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
    /// Most characters the prepared pieces may hold together (what the model will read: words
    /// for SpeechT5, phonemes for Piper), so an input that expands enormously when read out (4096
    /// digits become 4096 words) is refused at once instead of running into the time limit.
    pub max_spoken_chars: Option<usize>,
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
    /// The prepared pieces are longer than [`SpeechJob::max_spoken_chars`].
    #[error("'input' is too long once read out: with numbers, symbols and abbreviations spelled out it makes {chars} characters of speech for this model, over its limit of {max}. Split the text into several requests.")]
    TooMuchSpeech {
        /// Characters of the prepared pieces.
        chars: usize,
        /// The limit.
        max: usize,
    },
    /// The engine or the encoder panicked (caught; the message is for the log).
    #[error("synthesis panicked: {0}")]
    Panicked(String),
}

/// Synthesizes a job with `engine`, giving up with [`EngineError::Stopped`] between two pieces
/// once `stop` is set (the client went away or the time limit passed).
pub fn synthesize(
    engine: &dyn SpeechEngine,
    job: &SpeechJob<'_>,
    stop: &Stop,
) -> Result<SpeechOutput, SynthesisError> {
    // Refuse a format that was built out before spending any inference on it.
    job.format.ensure_built()?;
    let info = engine.info();
    let pieces = prepare(engine, job)?;
    let pause = (job.pause.as_secs_f64() / f64::from(job.speed) * f64::from(info.sample_rate))
        .round() as usize;
    let mut samples: Vec<f32> = Vec::new();
    let mut timings = Timings::default();
    let mut input_tokens = 0;
    for (i, piece) in pieces.iter().enumerate() {
        if stop.is_set() {
            return Err(EngineError::Stopped.into());
        }
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

/// The engine's pieces of `job`'s text: refused when there are none or they are longer than the
/// job's limit.
fn prepare(engine: &dyn SpeechEngine, job: &SpeechJob<'_>) -> Result<Vec<String>, SynthesisError> {
    let pieces = engine.prepare(job.text)?;
    if pieces.is_empty() {
        return Err(SynthesisError::NothingToSay);
    }
    if let Some(max) = job.max_spoken_chars {
        let chars = pieces.iter().map(|p| p.chars().count()).sum();
        if chars > max {
            return Err(SynthesisError::TooMuchSpeech { chars, max });
        }
    }
    Ok(pieces)
}

/// A job prepared for streaming: its pieces are known (so an input with nothing to say is refused
/// before any byte is sent) and the encoder is set up.
pub struct PreparedStream {
    pieces: Vec<String>,
    encoder: StreamEncoder,
    sample_rate: u32,
}

impl PreparedStream {
    /// The `Content-Type` of the stream's bytes.
    pub fn content_type(&self) -> &'static str {
        self.encoder.content_type()
    }

    /// The sample rate of the encoded audio.
    pub fn sample_rate(&self) -> u32 {
        self.encoder.sample_rate()
    }
}

/// What a streamed job cost.
#[derive(Debug, Default)]
pub struct StreamSummary {
    /// Seconds of audio sent.
    pub audio_seconds: f64,
    /// Tokens read by the model, over all pieces.
    pub input_tokens: usize,
    /// Units of audio the model produced: decoder steps (SpeechT5) or frames (Piper).
    pub output_tokens: usize,
    /// Pieces synthesized.
    pub pieces: usize,
    /// Engine timings summed over pieces.
    pub timings: Timings,
}

/// Prepares `job` for [`run_stream`]: refuses a format that is not built, splits the text into
/// pieces (none → [`SynthesisError::NothingToSay`]) and starts the encoder.
pub fn prepare_stream(
    engine: &dyn SpeechEngine,
    job: &SpeechJob<'_>,
) -> Result<PreparedStream, SynthesisError> {
    job.format.ensure_built()?;
    let pieces = prepare(engine, job)?;
    let sample_rate = engine.info().sample_rate;
    Ok(PreparedStream {
        pieces,
        encoder: StreamEncoder::new(job.format, sample_rate)?,
        sample_rate,
    })
}

/// Synthesizes a prepared job piece by piece, handing encoded bytes to `emit` as soon as the
/// encoder has them (the header first, then audio while the engine still runs). `emit` returns
/// false when nobody is listening any more: then `stop` is set, the engine gives up within one
/// decoder step or sentence, and this returns [`EngineError::Stopped`].
pub fn run_stream(
    engine: &dyn SpeechEngine,
    job: &SpeechJob<'_>,
    prepared: PreparedStream,
    stop: &Stop,
    emit: &mut dyn FnMut(Vec<u8>) -> bool,
) -> Result<StreamSummary, SynthesisError> {
    let PreparedStream {
        pieces,
        mut encoder,
        sample_rate,
    } = prepared;
    let pause =
        (job.pause.as_secs_f64() / f64::from(job.speed) * f64::from(sample_rate)).round() as usize;
    let mut summary = StreamSummary {
        pieces: pieces.len(),
        ..StreamSummary::default()
    };
    let mut samples = 0usize;
    let mut failure: Option<AudioError> = None;
    let mut send =
        |encoder: &mut StreamEncoder, audio: &[f32], failure: &mut Option<AudioError>| {
            if failure.is_some() || stop.is_set() {
                return;
            }
            match encoder.push(audio) {
                Ok(bytes) if bytes.is_empty() => {}
                Ok(bytes) => {
                    if !emit(bytes) {
                        stop.set();
                    }
                }
                Err(error) => {
                    *failure = Some(error);
                    stop.set();
                }
            }
        };
    for (i, piece) in pieces.iter().enumerate() {
        if i > 0 {
            send(&mut encoder, &vec![0.0; pause], &mut failure);
            samples += pause;
        }
        let streamed = engine.synthesize_stream(piece, job.voice, job.speed, stop, &mut |chunk| {
            send(&mut encoder, chunk.samples, &mut failure)
        });
        if let Some(error) = failure.take() {
            return Err(error.into());
        }
        let streamed = streamed?;
        samples += streamed.samples;
        summary.input_tokens += streamed.input_tokens;
        summary.output_tokens += streamed.output_tokens;
        summary.timings.add(streamed.timings);
    }
    let tail = encoder.finish()?;
    if !tail.is_empty() && !emit(tail) {
        return Err(EngineError::Stopped.into());
    }
    summary.audio_seconds = samples as f64 / f64::from(sample_rate);
    Ok(summary)
}
