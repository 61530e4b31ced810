//! From a validated request to encoded audio: the engine prepares the text into pieces
//! (sentences), one engine call per piece at the requested speed, pieces joined with short pauses
//! (shortened or lengthened with the speed), then encoding. Knows nothing of HTTP; reaches the
//! model only through [`SpeechEngine`]. Streaming ([`prepare_stream`], [`run_stream`]) does the
//! same with a streaming encoder, handing bytes on as each piece's audio arrives. With
//! [`SpeechJob::timestamps`], the engine prepares the pieces with their words and every word's
//! time in the delivered audio comes out too (see [`crate::captions`]): at the end of a whole
//! answer, and in a stream as soon as the audio where a word starts has been sent.

use std::time::{Duration, Instant};

use crate::audio::{encode, AudioError, AudioFormat, Encoded, StreamEncoder};
use crate::captions::{self, WordTime};
use crate::engine::{Durations, EngineError, SpeechEngine, Stop, Timings, WordedPiece};
use crate::text::words::Word;

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
    /// Also tell when each word of the text is spoken (models with durations only; others
    /// refuse with [`SynthesisError::NoTimestamps`]).
    pub timestamps: bool,
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
    /// When each word is spoken, if the job asked.
    pub words: Option<Vec<WordTime>>,
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
    /// Word timestamps were asked of a model that has no durations.
    #[error("model family {family} has no word timestamps")]
    NoTimestamps {
        /// The model's family.
        family: &'static str,
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
    let mut words = pieces.words.as_ref().map(|_| Vec::new());
    for (i, piece) in pieces.pieces.iter().enumerate() {
        if stop.is_set() {
            return Err(EngineError::Stopped.into());
        }
        let out = engine.synthesize(&piece.text, job.voice, job.speed)?;
        if i > 0 {
            samples.resize(samples.len() + pause, 0.0);
        }
        if let (Some(all), Some(input_words), Some(durations)) =
            (words.as_mut(), &pieces.words, &out.durations)
        {
            let times = captions::piece_times(
                piece,
                durations,
                input_words,
                samples.len(),
                info.sample_rate,
            );
            captions::extend(all, times);
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
        pieces: pieces.pieces.len(),
        timings,
        post: started.elapsed(),
        words,
    })
}

/// A job's text as the engine prepared it.
struct Pieces {
    /// The pieces, with their words when the job asked for timestamps (else none).
    pieces: Vec<WordedPiece>,
    /// The input's words, when the job asked for timestamps.
    words: Option<Vec<Word>>,
}

/// The engine's pieces of `job`'s text (with their words if the job asks for timestamps):
/// refused when there are none or they are longer than the job's limit.
fn prepare(engine: &dyn SpeechEngine, job: &SpeechJob<'_>) -> Result<Pieces, SynthesisError> {
    let pieces = if job.timestamps {
        let worded = engine
            .prepare_words(job.text)?
            .ok_or(SynthesisError::NoTimestamps {
                family: engine.info().family,
            })?;
        Pieces {
            pieces: worded.pieces,
            words: Some(worded.words),
        }
    } else {
        Pieces {
            pieces: engine
                .prepare(job.text)?
                .into_iter()
                .map(|text| WordedPiece {
                    text,
                    words: Vec::new(),
                })
                .collect(),
            words: None,
        }
    };
    if pieces.pieces.is_empty() {
        return Err(SynthesisError::NothingToSay);
    }
    if let Some(max) = job.max_spoken_chars {
        let chars = pieces.pieces.iter().map(|p| p.text.chars().count()).sum();
        if chars > max {
            return Err(SynthesisError::TooMuchSpeech { chars, max });
        }
    }
    Ok(pieces)
}

/// A job prepared for streaming: its pieces are known (so an input with nothing to say is refused
/// before any byte is sent) and the encoder is set up.
pub struct PreparedStream {
    pieces: Pieces,
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

/// What a stream hands on, in order.
#[derive(Clone, Debug, PartialEq)]
pub enum StreamEvent {
    /// Encoded audio (the header first).
    Audio(Vec<u8>),
    /// Words whose audio has started in what was sent so far (jobs with
    /// [`SpeechJob::timestamps`]), with their times in the delivered audio; every word once.
    Words(Vec<WordTime>),
}

/// The sending end of a stream: the encoder, the words waiting for their audio, and `emit`.
struct Sender<'a> {
    encoder: StreamEncoder,
    emit: &'a mut dyn FnMut(StreamEvent) -> bool,
    stop: &'a Stop,
    failure: Option<AudioError>,
    /// Samples pushed into the encoder.
    sent: usize,
    sample_rate: u32,
    /// Word times known, not yet sent (in order).
    waiting: Vec<WordTime>,
}

impl Sender<'_> {
    fn emit(&mut self, event: StreamEvent) {
        if !(self.emit)(event) {
            self.stop.set();
        }
    }

    /// Encodes `audio` and sends what the encoder gives, then the words that start in it.
    fn audio(&mut self, audio: &[f32]) {
        if self.failure.is_some() || self.stop.is_set() {
            return;
        }
        match self.encoder.push(audio) {
            Ok(bytes) => {
                self.sent += audio.len();
                if !bytes.is_empty() {
                    self.emit(StreamEvent::Audio(bytes));
                    let sent = self.sent as f64 / f64::from(self.sample_rate);
                    let started = self.waiting.partition_point(|w| w.start < sent);
                    self.words(started);
                }
            }
            Err(error) => {
                self.failure = Some(error);
                self.stop.set();
            }
        }
    }

    /// Sends the first `count` waiting words.
    fn words(&mut self, count: usize) {
        if count > 0 && !self.stop.is_set() {
            let words: Vec<WordTime> = self.waiting.drain(..count).collect();
            self.emit(StreamEvent::Words(words));
        }
    }
}

/// Synthesizes a prepared job piece by piece, handing encoded bytes to `emit` as soon as the
/// encoder has them (the header first, then audio while the engine still runs), and with
/// [`SpeechJob::timestamps`] each word's time as soon as the audio where it starts is sent (all
/// of a piece's words by the end of its audio). `emit` returns false when nobody is listening
/// any more: then `stop` is set, the engine gives up within one decoder step or sentence, and
/// this returns [`EngineError::Stopped`].
pub fn run_stream(
    engine: &dyn SpeechEngine,
    job: &SpeechJob<'_>,
    prepared: PreparedStream,
    stop: &Stop,
    emit: &mut dyn FnMut(StreamEvent) -> bool,
) -> Result<StreamSummary, SynthesisError> {
    let PreparedStream {
        pieces,
        encoder,
        sample_rate,
    } = prepared;
    let pause =
        (job.pause.as_secs_f64() / f64::from(job.speed) * f64::from(sample_rate)).round() as usize;
    let mut summary = StreamSummary {
        pieces: pieces.pieces.len(),
        ..StreamSummary::default()
    };
    let mut out = Sender {
        encoder,
        emit,
        stop,
        failure: None,
        sent: 0,
        sample_rate,
        waiting: Vec::new(),
    };
    let mut samples = 0usize;
    for (i, piece) in pieces.pieces.iter().enumerate() {
        if i > 0 {
            out.audio(&vec![0.0; pause]);
            samples += pause;
        }
        let piece_start = samples;
        // Durations describe the audio from the chunk that brings them (see `Chunk`).
        let mut timed_until = 0usize;
        let streamed =
            engine.synthesize_stream(&piece.text, job.voice, job.speed, stop, &mut |chunk| {
                if let (Some(words), Some(durations)) = (&pieces.words, chunk.durations) {
                    if chunk.offset >= timed_until {
                        timed_until = chunk.offset + durations.total();
                        queue_times(
                            &mut out.waiting,
                            piece,
                            durations,
                            words,
                            piece_start + chunk.offset,
                            sample_rate,
                        );
                    }
                }
                out.audio(chunk.samples);
            });
        if let Some(error) = out.failure.take() {
            return Err(error.into());
        }
        let streamed = streamed?;
        out.words(out.waiting.len());
        samples += streamed.samples;
        summary.input_tokens += streamed.input_tokens;
        summary.output_tokens += streamed.output_tokens;
        summary.timings.add(streamed.timings);
    }
    let Sender { encoder, emit, .. } = out;
    let tail = encoder.finish()?;
    if stop.is_set() || (!tail.is_empty() && !emit(StreamEvent::Audio(tail))) {
        return Err(EngineError::Stopped.into());
    }
    summary.audio_seconds = samples as f64 / f64::from(sample_rate);
    Ok(summary)
}

/// Adds the times of `piece`'s words (its audio from sample `offset` described by
/// `durations`) to the waiting ones.
fn queue_times(
    waiting: &mut Vec<WordTime>,
    piece: &WordedPiece,
    durations: &Durations,
    words: &[Word],
    offset: usize,
    sample_rate: u32,
) {
    let times = captions::piece_times(piece, durations, words, offset, sample_rate);
    captions::extend(waiting, times);
}
