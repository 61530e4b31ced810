//! Speech engines: text in, f32 samples and timings out. Owns the engine interface that the HTTP
//! layer calls and the OpenVINO-backed models behind it. Must not import anything of HTTP.

mod device;
mod error;
#[cfg(debug_assertions)]
pub mod faults;
mod ov;
pub mod piper;
mod pool;
mod runtime;
pub mod speecht5;

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;

pub use device::{Device, Precision, PrecisionReport};
pub use error::EngineError;
pub use runtime::{CompileOverrides, Runtime, RuntimeOptions, OPENVINO_C_LIBRARY};

use crate::text::words::Word;

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
    /// Whether its syntheses say when each word is spoken (a duration model: Piper).
    pub word_timestamps: bool,
    /// The precision its compiled model really computes in (read back from OpenVINO, which
    /// runs f32 where the CPU lacks the precision asked for).
    pub precision: Precision,
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
    /// How long each phoneme lasts in `samples` (models with a duration model: Piper).
    pub durations: Option<Durations>,
    /// Where the time went.
    pub timings: Timings,
}

/// How long each phoneme id of a piece lasts in the piece's audio as delivered (`speed`
/// included), from a model that decides durations before it makes audio (Piper's duration
/// predictor). The lengths sum to the piece's samples.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Durations {
    /// Per id the model read, in order.
    pub ids: Vec<IdDuration>,
}

/// One phoneme id's place in the piece and in its audio.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IdDuration {
    /// The phoneme character of the piece (its index among the piece's characters) this id
    /// encodes; `None` for the begin, end and pad ids between phonemes.
    pub phoneme: Option<usize>,
    /// Its length in samples.
    pub samples: usize,
}

impl Durations {
    /// Samples in all.
    pub fn total(&self) -> usize {
        self.ids.iter().map(|d| d.samples).sum()
    }
}

/// A piece to synthesize with the words of the input it speaks.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WordedPiece {
    /// The piece, as [`SpeechEngine::prepare`] gives it.
    pub text: String,
    /// The input words it speaks, in order, each with its phonemes in the piece.
    pub words: Vec<PieceWord>,
}

/// One input word in a piece.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PieceWord {
    /// The word (an index into [`WordedText::words`]).
    pub word: usize,
    /// Its phonemes: character indices of the piece (what [`IdDuration::phoneme`] counts).
    pub phonemes: std::ops::Range<usize>,
}

/// A user's text prepared with its words: the pieces to synthesize, and the words of the input
/// they speak.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WordedText {
    /// The input's words, in order.
    pub words: Vec<Word>,
    /// The pieces, as [`SpeechEngine::prepare`] gives them, with their words.
    pub pieces: Vec<WordedPiece>,
}

/// A part of a piece's audio on its way to a streaming sink, with what the engine knows of the
/// piece's timing.
#[derive(Clone, Copy, Debug)]
pub struct Chunk<'a> {
    /// The samples.
    pub samples: &'a [f32],
    /// Where they start in the piece's audio.
    pub offset: usize,
    /// Phoneme durations from models that have them (`None` from others: SpeechT5): those of
    /// the audio from the offset of the first chunk that carried them on. Two-stage Piper voices
    /// send the whole piece's with every chunk; a piece made in parts sends each part's with its
    /// chunk. Phonemes always count the piece's characters.
    pub durations: Option<&'a Durations>,
}

impl<'a> Chunk<'a> {
    /// A chunk without durations.
    pub fn plain(samples: &'a [f32], offset: usize) -> Self {
        Self {
            samples,
            offset,
            durations: None,
        }
    }
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

    /// [`Self::prepare`], with the words of `text` each piece speaks, for models whose
    /// syntheses carry [`Synthesis::durations`] (word timestamps); `None` from models that have
    /// no durations.
    fn prepare_words(&self, _text: &str) -> Result<Option<WordedText>, EngineError> {
        Ok(None)
    }

    /// Synthesizes one piece from [`Self::prepare`] with `voice` (one of [`ModelInfo::voices`])
    /// at `speed` (0.25–4; 1 is the model's natural pace), as [`ModelInfo::speed_control`] says.
    fn synthesize(&self, piece: &str, voice: &str, speed: f32) -> Result<Synthesis, EngineError>;

    /// [`Self::synthesize`], handing the audio to `sink` in order as soon as each part is ready
    /// (the joined parts are the piece's waveform; each [`Chunk`] carries the piece's durations
    /// when the model has them), and giving up with [`EngineError::Stopped`] once `stop` is set.
    /// Engines that cannot do better hand over the whole piece at once.
    fn synthesize_stream(
        &self,
        piece: &str,
        voice: &str,
        speed: f32,
        stop: &Stop,
        sink: &mut dyn FnMut(Chunk<'_>),
    ) -> Result<Streamed, EngineError> {
        stream_whole(self, piece, voice, speed, stop, sink)
    }

    /// Makes the engine fit to serve again after its process was restored from a snapshot
    /// (Lambda SnapStart): whatever the snapshot froze that must differ from one restored copy
    /// to the next (random state), or may not have survived (helper processes), is renewed.
    fn after_restore(&self, _runtime: &Runtime) -> Result<(), EngineError> {
        Ok(())
    }
}

/// The streaming path of an engine (or a speed) that cannot do better than whole pieces:
/// [`SpeechEngine::synthesize`], then the whole piece to `sink` in one chunk, giving up with
/// [`EngineError::Stopped`] if `stop` is set before or after the inference.
pub fn stream_whole<E: SpeechEngine + ?Sized>(
    engine: &E,
    piece: &str,
    voice: &str,
    speed: f32,
    stop: &Stop,
    sink: &mut dyn FnMut(Chunk<'_>),
) -> Result<Streamed, EngineError> {
    if stop.is_set() {
        return Err(EngineError::Stopped);
    }
    let out = engine.synthesize(piece, voice, speed)?;
    if stop.is_set() {
        return Err(EngineError::Stopped);
    }
    sink(Chunk {
        samples: &out.samples,
        offset: 0,
        durations: out.durations.as_ref(),
    });
    let output_tokens = match out.timings.decoder_steps.len() {
        0 => out.samples.len().div_ceil(256),
        steps => steps,
    };
    Ok(Streamed {
        samples: out.samples.len(),
        input_tokens: out.input_tokens,
        output_tokens,
        timings: out.timings,
    })
}

impl Streamed {
    /// Adds another part's cost to this one.
    pub fn add(&mut self, other: Streamed) {
        self.samples += other.samples;
        self.input_tokens += other.input_tokens;
        self.output_tokens += other.output_tokens;
        self.timings.add(other.timings);
    }
}

/// A cancellation flag shared between a request and the engine working for it: set it (the client
/// went away, or the request ran out of time) and synthesis stops within one decoder step or
/// sentence. The first reason given is the one kept.
#[derive(Clone, Debug, Default)]
pub struct Stop(Arc<AtomicU8>);

/// Why a [`Stop`] was set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopCause {
    /// Nobody is listening any more (the client hung up).
    Cancelled,
    /// The request's time limit passed.
    TimedOut,
}

impl Stop {
    /// A flag that is not set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks the work to stop: nobody is listening.
    pub fn set(&self) {
        self.set_because(StopCause::Cancelled);
    }

    /// Asks the work to stop for `reason` (unless it was already asked for another reason).
    pub fn set_because(&self, reason: StopCause) {
        let code = match reason {
            StopCause::Cancelled => 1,
            StopCause::TimedOut => 2,
        };
        let _ = self
            .0
            .compare_exchange(0, code, Ordering::Relaxed, Ordering::Relaxed);
    }

    /// Whether stopping was asked for.
    pub fn is_set(&self) -> bool {
        self.0.load(Ordering::Relaxed) != 0
    }

    /// Why stopping was asked for, if it was.
    pub fn reason(&self) -> Option<StopCause> {
        match self.0.load(Ordering::Relaxed) {
            0 => None,
            1 => Some(StopCause::Cancelled),
            _ => Some(StopCause::TimedOut),
        }
    }
}

/// What a streamed piece cost (its audio went to the sink).
#[derive(Clone, Debug, Default)]
pub struct Streamed {
    /// Samples handed to the sink.
    pub samples: usize,
    /// Input tokens (ids) the model read.
    pub input_tokens: usize,
    /// Units of audio the model produced: decoder steps (SpeechT5) or frames of 256 samples
    /// (single-pass models).
    pub output_tokens: usize,
    /// Where the time went.
    pub timings: Timings,
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
