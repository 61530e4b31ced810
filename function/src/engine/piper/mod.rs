//! Piper (VITS) voices on OpenVINO: text → words (the function's normalizer) → eSpeak NG phonemes
//! (in a separate process, see [`crate::text::espeak`]) → the voice's phoneme ids → per sentence,
//! the front stage (ids → latent and frames per id) and the decoder stage in windows (latent →
//! waveform at the voice's own rate; see [`stages`] and [`windows`]). Owns the compiled voice, how
//! concurrent requests share it, its level and its durations. A voice that does not split runs as
//! one whole graph per sentence instead.
//!
//! As Piper does it: the scales `[noise, length, noise_w]` from the voice's `.onnx.json`, and each
//! sentence of a whole answer scaled to a fixed peak. A stream cannot know a sentence's peak
//! before its first window leaves: streamed sentences get the gain the voice's own level needs
//! (learned at load, see [`LEVEL_TEXT`]), with a soft limit near full scale.
//!
//! Durations: the front stage's frames per phoneme id come out with the audio ([`Durations`], in
//! every streamed [`Chunk`] and in whole answers), mapped to the phoneme characters of the piece.
//!
//! `speed` divides the length scale, the model's own duration control, so the voice speaks
//! faster or slower naturally. The model rounds every phoneme id's duration up to whole frames, so
//! the length scale alone falls short (measured on joe: length 0.5 gives 0.61 of the duration,
//! and below 0.5 hardly anything changes as every id nears its one-frame floor). The shortfall
//! is estimated from the frames produced (each of the n ids adds about half a frame of rounding:
//! frames ≈ length × W + n/2) and the rest is made up by a short pitch-preserving time-stretch, so
//! the audio lasts 1/speed of its natural duration, as OpenAI's `speed` promises.
//!
//! The model has no state, so concurrent utterances share the compiled stages, each with infer
//! requests from bounded pools; a pool's lock is held only to take or give back a request. The
//! model draws random noise inside, so the same text sounds slightly different each time unless
//! the noise scales are 0.

mod stages;
mod text;
mod voice;
pub mod windows;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use openvino::{CompiledModel, ElementType, InferRequest};

pub use text::MAX_PIECE_PHONEMES;
pub use voice::{InferenceConfig, VoiceConfig, VoiceFolder};
pub use windows::WindowSizes;

use super::ov::{check_signature, infer, tensor};
use super::pool::Pool;
use super::{
    stream_whole, Chunk, CompileOverrides, Durations, EngineError, IdDuration, ModelInfo,
    Precision, Runtime, SpeechEngine, SpeedControl, Stop, Streamed, Synthesis, Timings, WordedText,
};
use crate::audio::change_speed;
use crate::text::espeak::Espeak;
use crate::text::normalize::normalize;
use crate::text::phoneme_ids::{PhonemeIdMap, PhonemeIds};
use stages::{Split, Stages};

/// Peak level each sentence is scaled to (Piper scales to full scale; a little headroom keeps
/// lossy encoders from clipping).
pub const PEAK: f32 = 0.95;

/// Samples per frame (the VITS decoder's upsampling; Piper's output is a multiple of it).
const HOP: usize = 256;
/// Shortest length factor asked of the model: below it the frame rounding dominates.
const MIN_LENGTH_FACTOR: f32 = 0.5;
/// Residual tempo errors smaller than this are left alone.
const STRETCH_TOLERANCE: f64 = 0.02;

/// Decoder windows of a stream: the first is the smallest (the first audio waits for it alone).
pub const STREAM_WINDOWS: WindowSizes = WindowSizes::first(windows::SIZES[0]);
/// Decoder windows of a whole answer: the largest that fit from the start.
pub const WHOLE_WINDOWS: WindowSizes = WindowSizes::first(usize::MAX);

/// A sentence of ordinary length whose noise-free reading gives the voice's level: a stream
/// cannot wait for a sentence's peak before sending its first window, so streamed sentences are
/// scaled by the gain that brings this one to [`PEAK`] (a soft limit above [`LIMIT_KNEE`] keeps
/// a louder sentence from clipping). split-piper.py measures it at set-up (the same sentence in
/// eSpeak NG's IPA); without that the voice reads it at load.
const LEVEL_TEXT: &str =
    "This is how I sound when I read an ordinary sentence, with a pause, and a question?";
/// Where the soft limit of streamed audio starts.
const LIMIT_KNEE: f32 = 0.9;

const STAGE: &str = "Piper voice";
const INPUTS: [&str; 3] = ["input", "input_lengths", "scales"];
const OUTPUTS: [&str; 1] = ["output"];
const FIX: &str = "Use a Piper voice exported by Piper's own training code (inputs input, input_lengths, scales; output output)";

/// Why Piper voices compile in f32 whatever `TTS_PRECISION` says. Measured on the joe voice with
/// OpenVINO 2026.4 on an Intel Xeon with bf16 and fp16 (from Python too, so not this crate's
/// doing): the stochastic duration predictor's frame counts go wrong below f32.
pub const PRECISION_REASON: &str = "in bf16 about 1 inference in 10 fails (OpenVINO's Range node \
    overflows on the frame counts) and in f16 an inference can run for minutes, so Piper voices \
    always compile in f32";

/// Entries of the CPU plugin's per-shape kernel cache a Piper voice compiles with, unless
/// `TTS_CPU_RUNTIME_CACHE` sets one for every model. The voice's shapes follow the sentence
/// (phoneme count) and its random frame counts, so nearly every inference has shapes of its own:
/// with OpenVINO's default of 5000 entries the cache only grows (the soak measured the process
/// at 2 GB after 190 short requests, rising 30 MB a second; SpeechT5's decoder steps repeat
/// their shapes and keep the default).
pub const RUNTIME_CACHE: u32 = 64;

/// Always f32 (see [`PRECISION_REASON`]) and a small kernel cache (see [`RUNTIME_CACHE`]).
fn overrides(runtime: &Runtime) -> CompileOverrides {
    CompileOverrides {
        precision: Some(Precision::F32),
        runtime_cache: runtime
            .options()
            .cpu_runtime_cache
            .is_none()
            .then_some(RUNTIME_CACHE),
        streams: None,
    }
}

/// How the voice's graph runs.
enum Graph {
    /// Front stage, then the decoder in windows (see [`stages`]).
    TwoStage(Box<Stages>),
    /// The whole VITS graph in one inference per sentence (a voice that does not split).
    Whole(Whole),
}

/// The whole graph: one compiled model, requests from a bounded pool.
struct Whole {
    /// Locked only to create a new infer request, never during inference.
    model: Mutex<CompiledModel>,
    requests: Pool<InferRequest>,
}

impl Whole {
    fn compile(
        runtime: &Runtime,
        path: &Path,
        slots: usize,
    ) -> Result<(Self, Precision), EngineError> {
        let (mut model, precision) = runtime.compile_overriding(path, overrides(runtime))?;
        check_signature(&model, path, &INPUTS, &OUTPUTS, FIX)?;
        let first = model.create_infer_request().map_err(infer(STAGE))?;
        Ok((
            Self {
                model: Mutex::new(model),
                requests: Pool::new(slots, vec![first]),
            },
            precision,
        ))
    }

    /// Runs the model and appends its raw waveform to `out`.
    fn infer_into(
        &self,
        ids: &[i64],
        scales: [f32; 3],
        out: &mut Vec<f32>,
    ) -> Result<Duration, EngineError> {
        let n = ids.len() as i64;
        let input = tensor(ElementType::I64, &[1, n], ids).map_err(infer(STAGE))?;
        let lengths = tensor(ElementType::I64, &[1], &[n]).map_err(infer(STAGE))?;
        let scales = tensor(ElementType::F32, &[3], &scales).map_err(infer(STAGE))?;
        let mut request = self.requests.take(|| {
            self.model
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .create_infer_request()
                .map_err(infer(STAGE))
        })?;
        request.set_tensor("input", &input).map_err(infer(STAGE))?;
        request
            .set_tensor("input_lengths", &lengths)
            .map_err(infer(STAGE))?;
        request
            .set_tensor("scales", &scales)
            .map_err(infer(STAGE))?;
        let started = Instant::now();
        request.infer().map_err(infer(STAGE))?;
        let took = started.elapsed();
        let output = request.get_tensor("output").map_err(infer(STAGE))?;
        out.extend_from_slice(output.get_data::<f32>().map_err(infer(STAGE))?);
        Ok(took)
    }
}

/// A loaded Piper voice.
pub struct Piper {
    info: ModelInfo,
    config: VoiceConfig,
    ids: PhonemeIdMap,
    espeak: Arc<Espeak>,
    /// The model file (`.onnx` or IR `.xml`), compiled again after a snapshot restore.
    model_path: PathBuf,
    /// Swapped (never held across an inference: callers clone the `Arc`) after a restore.
    graph: RwLock<Arc<Graph>>,
    slots: usize,
    /// Why the voice runs whole, when it does.
    whole_reason: Option<String>,
    /// The gain of streamed sentences (see [`LEVEL_TEXT`]).
    stream_gain: f32,
}

impl std::fmt::Debug for Piper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Piper")
            .field("info", &self.info)
            .field("config", &self.config)
            .field("whole_reason", &self.whole_reason)
            .finish_non_exhaustive()
    }
}

/// A sentence's raw audio and what it cost.
struct Raw {
    samples: Vec<f32>,
    /// Frames per id (two-stage graphs only).
    frames_per_id: Option<Vec<u32>>,
    front: Duration,
    decoder: Duration,
}

impl Piper {
    /// Loads the voice in `dir`, compiles it (checking its inputs and outputs) and checks that
    /// `espeak` knows its eSpeak voice; up to `slots` utterances infer at once. The voice runs
    /// in two stages when `dir` holds them (see [`stages`]), else whole, with the reason logged.
    pub fn load(
        runtime: &Arc<Runtime>,
        dir: &Path,
        slots: usize,
        espeak: Arc<Espeak>,
    ) -> Result<Self, EngineError> {
        let folder = VoiceFolder::open(dir)?;
        let ids = PhonemeIdMap::from_config(&folder.raw_config).map_err(|reason| {
            EngineError::ModelFolder {
                path: dir.to_owned(),
                reason: format!("phoneme_id_map: {reason}"),
            }
        })?;
        // Fails at start, not at the first request, when eSpeak lacks the voice's language.
        espeak
            .phonemize("test", &folder.config.espeak.voice)
            .map_err(|e| EngineError::ModelFolder {
                path: dir.to_owned(),
                reason: format!(
                    "eSpeak NG cannot phonemize for voice {:?}: {e}",
                    folder.config.espeak.voice
                ),
            })?;
        let requested = runtime.options().precision;
        if requested != Precision::F32 {
            tracing::warn!(
                voice = %folder.voice_name(),
                "the Piper voice runs in f32, not {requested}: {PRECISION_REASON}"
            );
        }
        let name = folder.voice_name();
        let two_stage = Split::find(dir, &folder.model).and_then(|split| {
            Stages::compile(runtime, split, overrides(runtime), slots)
                .map_err(|e| format!("its stages do not compile: {e}"))
        });
        let level_peak = two_stage.as_ref().ok().and_then(|(s, _)| s.level_peak());
        let (graph, precision, whole_reason) = match two_stage {
            Ok((stages, precision)) => (Graph::TwoStage(Box::new(stages)), precision, None),
            Err(reason) => {
                tracing::warn!(voice = %name, "the Piper voice runs whole, not in two stages: {reason}");
                let (whole, precision) = Whole::compile(runtime, &folder.model, slots)?;
                (Graph::Whole(whole), precision, Some(reason))
            }
        };
        let info = ModelInfo {
            family: "piper",
            sample_rate: folder.config.audio.sample_rate,
            voices: vec![name.clone()],
            default_voice: name,
            // The whole graph does not give its frame counts out: no durations, no timestamps.
            word_timestamps: whole_reason.is_none(),
            text_frontend: "text normalized to words, eSpeak NG phonemes (IPA) mapped to the voice's phoneme ids",
            speed_control: SpeedControl::Duration,
            precision,
        };
        let mut voice = Self {
            info,
            config: folder.config,
            ids,
            espeak,
            model_path: folder.model,
            graph: RwLock::new(Arc::new(graph)),
            slots,
            whole_reason,
            stream_gain: 1.0,
        };
        voice.stream_gain = match level_peak {
            Some(peak) => PEAK / peak.max(0.05),
            None => voice.learn_level()?,
        };
        Ok(voice)
    }

    /// The gain that brings [`LEVEL_TEXT`], read without noise, to [`PEAK`], for stages whose
    /// split.json does not record the voice's level (split-piper.py measures it at set-up).
    fn learn_level(&self) -> Result<f32, EngineError> {
        let phonemes = self
            .espeak
            .phonemize(&normalize(LEVEL_TEXT), &self.config.espeak.voice)
            .map_err(|e| EngineError::Phonemizer(e.to_string()))?
            .join(" ");
        let ids = self.phoneme_ids(&phonemes);
        let scales = [0.0, self.config.inference.length_scale, 0.0];
        let raw = self.raw(&ids.ids, scales, STREAM_WINDOWS)?;
        let peak = raw.samples.iter().fold(0.0f32, |m, s| m.max(s.abs()));
        let gain = PEAK / peak.max(0.05);
        tracing::debug!(peak, gain, "Piper voice level");
        Ok(gain)
    }

    /// The voice's `.onnx.json` values.
    pub fn config(&self) -> &VoiceConfig {
        &self.config
    }

    /// The gain streamed sentences are scaled by (see [`LEVEL_TEXT`]).
    pub fn stream_gain(&self) -> f32 {
        self.stream_gain
    }

    /// Why the voice runs as one whole graph instead of two stages, if it does.
    pub fn whole_reason(&self) -> Option<&str> {
        self.whole_reason.as_deref()
    }

    /// The scales `[noise, length, noise_w]` for `speed`, from the voice's defaults (the length
    /// factor no shorter than 0.5, see the module notes).
    pub fn scales(&self, speed: f32) -> [f32; 3] {
        let i = self.config.inference;
        [
            i.noise_scale,
            i.length_scale * length_factor(speed),
            i.noise_w,
        ]
    }

    /// Phoneme ids of one sentence of phonemes (from [`SpeechEngine::prepare`]).
    pub fn phoneme_ids(&self, phonemes: &str) -> PhonemeIds {
        self.ids.encode(phonemes)
    }

    /// Runs the voice once on phoneme ids with the given scales: the raw waveform (not
    /// normalized) and the inference time (both stages, the decoder in the windows of a whole
    /// answer).
    pub fn infer_ids(
        &self,
        ids: &[i64],
        scales: [f32; 3],
    ) -> Result<(Vec<f32>, Duration), EngineError> {
        self.infer_ids_windowed(ids, scales, WHOLE_WINDOWS)
    }

    /// [`Self::infer_ids`] with the decoder in windows of `sizes` (sizes larger than the latent
    /// decode it in one window: the whole-sequence decode).
    pub fn infer_ids_windowed(
        &self,
        ids: &[i64],
        scales: [f32; 3],
        sizes: WindowSizes,
    ) -> Result<(Vec<f32>, Duration), EngineError> {
        let raw = self.raw(ids, scales, sizes)?;
        Ok((raw.samples, raw.front + raw.decoder))
    }

    /// Frames per phoneme id the front stage gives `ids` (two-stage voices; `None` for a voice
    /// that runs whole).
    pub fn frames_per_id(
        &self,
        ids: &[i64],
        scales: [f32; 3],
    ) -> Result<Option<Vec<u32>>, EngineError> {
        let graph = self.graph();
        match &*graph {
            Graph::TwoStage(stages) => Ok(Some(stages.front(ids, scales)?.frames_per_id)),
            Graph::Whole(_) => Ok(None),
        }
    }

    fn graph(&self) -> Arc<Graph> {
        self.graph
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// One sentence's raw waveform, all at once.
    fn raw(&self, ids: &[i64], scales: [f32; 3], sizes: WindowSizes) -> Result<Raw, EngineError> {
        let graph = self.graph();
        match &*graph {
            Graph::TwoStage(stages) => {
                let front = stages.front(ids, scales)?;
                let mut samples = Vec::with_capacity(front.frames * stages.hop());
                let decoder = stages.decode(&front, sizes, &mut |audio, _| {
                    samples.extend_from_slice(audio);
                    true
                })?;
                Ok(Raw {
                    samples,
                    front: front.took,
                    decoder,
                    frames_per_id: Some(front.frames_per_id),
                })
            }
            Graph::Whole(whole) => {
                let mut samples = Vec::new();
                let took = whole.infer_into(ids, scales, &mut samples)?;
                Ok(Raw {
                    samples,
                    frames_per_id: None,
                    front: Duration::ZERO,
                    decoder: took,
                })
            }
        }
    }

    fn check_voice(&self, voice: &str) -> Result<(), EngineError> {
        if self.info.voices.iter().any(|v| v == voice) {
            Ok(())
        } else {
            Err(EngineError::UnknownVoice(voice.to_owned()))
        }
    }

    fn encode(&self, piece: &str) -> PhonemeIds {
        let ids = self.phoneme_ids(piece);
        if !ids.missing.is_empty() {
            tracing::debug!(missing = ?ids.missing, "phonemes not in the voice's map were skipped");
        }
        ids
    }

    /// Streams a sentence window by window (two-stage voices at a speed the model's own
    /// durations give exactly): each window's audio goes to `sink` as soon as it is decoded,
    /// scaled by the voice's stream gain.
    fn stream_windows(
        &self,
        stages: &Stages,
        ids: &PhonemeIds,
        speed: f32,
        stop: &Stop,
        sink: &mut dyn FnMut(Chunk<'_>),
        started: Instant,
    ) -> Result<Option<Streamed>, EngineError> {
        let tokenize = started.elapsed();
        let front = stages.front(&ids.ids, self.scales(speed))?;
        if stop.is_set() {
            return Err(EngineError::Stopped);
        }
        let natural = front.frames * stages.hop();
        if residual_stretch(natural, ids.ids.len(), speed).is_some() {
            return Ok(None);
        }
        let durations = durations(&front.frames_per_id, &ids.sources, stages.hop(), natural);
        let gain = self.stream_gain;
        let mut scaled = Vec::new();
        let decoder = stages.decode(&front, STREAM_WINDOWS, &mut |audio, offset| {
            if stop.is_set() {
                return false;
            }
            scaled.clear();
            scaled.extend(audio.iter().map(|s| soft_limit(s * gain)));
            sink(Chunk {
                samples: &scaled,
                offset,
                durations: Some(&durations),
            });
            !stop.is_set()
        })?;
        if stop.is_set() {
            return Err(EngineError::Stopped);
        }
        Ok(Some(Streamed {
            samples: natural,
            input_tokens: ids.ids.len(),
            output_tokens: front.frames,
            timings: Timings {
                tokenize,
                encoder: front.took,
                vocoder: decoder,
                model: front.took + decoder,
                total: started.elapsed(),
                ..Timings::default()
            },
        }))
    }
}

impl SpeechEngine for Piper {
    fn info(&self) -> &ModelInfo {
        &self.info
    }

    /// The voice's noise comes from OpenVINO's random nodes, whose state lives in the process: in
    /// copies restored from one snapshot every request would draw the same noise as in every other
    /// copy (measured by forking a process that had compiled the voice: equal outputs, even from
    /// fresh infer requests; a model compiled again after the fork differs). So the model is
    /// compiled again (from the compiled-model cache when there is one) and the idle requests
    /// replaced; and eSpeak NG's helper is asked to phonemize once, which restarts it if the
    /// restore lost it.
    fn after_restore(&self, runtime: &Runtime) -> Result<(), EngineError> {
        let graph = match &*self.graph() {
            Graph::TwoStage(stages) => Graph::TwoStage(Box::new(stages.recompile()?)),
            Graph::Whole(_) => {
                Graph::Whole(Whole::compile(runtime, &self.model_path, self.slots)?.0)
            }
        };
        *self.graph.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(graph);
        self.espeak
            .phonemize("restored", &self.config.espeak.voice)
            .map_err(|e| EngineError::Phonemizer(e.to_string()))?;
        Ok(())
    }

    /// See [`text`]: normalized words, eSpeak NG's sentences of phonemes, long ones cut.
    fn prepare(&self, text: &str) -> Result<Vec<String>, EngineError> {
        text::pieces(&self.espeak, &self.config.espeak.voice, text)
    }

    /// The same pieces with the words of `text` each speaks (see [`text::worded`]); `None` from
    /// a voice that runs whole (its graph gives no durations out).
    fn prepare_words(&self, text: &str) -> Result<Option<WordedText>, EngineError> {
        if !self.info.word_timestamps {
            return Ok(None);
        }
        text::worded(&self.espeak, &self.config.espeak.voice, text).map(Some)
    }

    /// One sentence: both stages (the decoder in windows), scaled to [`PEAK`] as Piper does, and
    /// time-stretched where the model's frame rounding falls short of `speed`.
    fn synthesize(&self, piece: &str, voice: &str, speed: f32) -> Result<Synthesis, EngineError> {
        let started = Instant::now();
        self.check_voice(voice)?;
        let ids = self.encode(piece);
        let tokenize = started.elapsed();
        let raw = self.raw(&ids.ids, self.scales(speed), WHOLE_WINDOWS)?;
        let natural = raw.samples.len();
        let mut samples = raw.samples;
        let peak = samples.iter().fold(0.0f32, |m, s| m.max(s.abs()));
        // Piper's floor: near-silence is not amplified into noise.
        let gain = PEAK / peak.max(0.01);
        samples.iter_mut().for_each(|s| *s *= gain);
        if let Some(stretch) = residual_stretch(natural, ids.ids.len(), speed) {
            samples = change_speed(&samples, self.info.sample_rate, stretch);
        }
        let durations = raw
            .frames_per_id
            .map(|frames| durations(&frames, &ids.sources, HOP, samples.len()));
        Ok(Synthesis {
            samples,
            sample_rate: self.info.sample_rate,
            input_tokens: ids.ids.len(),
            durations,
            timings: Timings {
                tokenize,
                encoder: raw.front,
                vocoder: raw.decoder,
                model: raw.front + raw.decoder,
                total: started.elapsed(),
                ..Timings::default()
            },
        })
    }

    /// Two-stage voices stream each sentence window by window: the first audio waits for the
    /// front stage and one small decoder window. At a speed that needs a time-stretch, and for a
    /// voice that runs whole, the sentence goes out at once; a whole voice splits a long
    /// sentence's first clause (up to the first `,` `;` `:` within 80 phonemes) off into an
    /// inference of its own, so the first audio waits for a short inference.
    fn synthesize_stream(
        &self,
        piece: &str,
        voice: &str,
        speed: f32,
        stop: &Stop,
        sink: &mut dyn FnMut(Chunk<'_>),
    ) -> Result<Streamed, EngineError> {
        if stop.is_set() {
            return Err(EngineError::Stopped);
        }
        let started = Instant::now();
        self.check_voice(voice)?;
        let graph = self.graph();
        if let Graph::TwoStage(stages) = &*graph {
            let ids = self.encode(piece);
            if let Some(streamed) = self.stream_windows(stages, &ids, speed, stop, sink, started)? {
                return Ok(streamed);
            }
            return stream_whole(self, piece, voice, speed, stop, sink);
        }
        let mut streamed = Streamed::default();
        let mut offset = 0;
        for part in split_first_clause(piece, FIRST_CLAUSE_MAX) {
            // The part's phonemes counted among the piece's characters.
            let skipped = piece[..part.as_ptr() as usize - piece.as_ptr() as usize]
                .chars()
                .count();
            let mut in_piece = Durations::default();
            let mut shifted = |chunk: Chunk<'_>| {
                let durations = chunk.durations.map(|d| {
                    in_piece.ids = d
                        .ids
                        .iter()
                        .map(|id| IdDuration {
                            phoneme: id.phoneme.map(|p| p + skipped),
                            ..*id
                        })
                        .collect();
                    &in_piece
                });
                sink(Chunk {
                    samples: chunk.samples,
                    offset: chunk.offset + offset,
                    durations,
                })
            };
            let part = stream_whole(self, part, voice, speed, stop, &mut shifted)?;
            offset += part.samples;
            streamed.add(part);
        }
        Ok(streamed)
    }
}

/// `x` passed through a soft limit: unchanged up to [`LIMIT_KNEE`], then bent smoothly towards 1.
fn soft_limit(x: f32) -> f32 {
    let a = x.abs();
    if a <= LIMIT_KNEE {
        x
    } else {
        let room = 1.0 - LIMIT_KNEE;
        x.signum() * (LIMIT_KNEE + room * ((a - LIMIT_KNEE) / room).tanh())
    }
}

/// Durations of a sentence's ids from the front stage's frames per id, in samples of the audio
/// as delivered (`delivered` samples: the natural length, or what the time-stretch made of it).
fn durations(
    frames_per_id: &[u32],
    sources: &[Option<usize>],
    hop: usize,
    delivered: usize,
) -> Durations {
    let natural: usize = frames_per_id.iter().map(|&f| f as usize * hop).sum();
    let mut at_natural = 0usize;
    let mut at = 0usize;
    let ids = frames_per_id
        .iter()
        .enumerate()
        .map(|(i, &frames)| {
            at_natural += frames as usize * hop;
            let end = if natural == 0 {
                0
            } else {
                ((at_natural as u128 * delivered as u128 + natural as u128 / 2) / natural as u128)
                    as usize
            };
            let samples = end - at;
            at = end;
            IdDuration {
                phoneme: sources.get(i).copied().flatten(),
                samples,
            }
        })
        .collect();
    Durations { ids }
}

/// Longest first clause split off a sentence when streaming, in phoneme characters.
const FIRST_CLAUSE_MAX: usize = 80;
/// Shortest first clause worth its own inference.
const FIRST_CLAUSE_MIN: usize = 12;

/// `[first clause, rest]` when `sentence` has a clause mark followed by a space between
/// [`FIRST_CLAUSE_MIN`] and `max` characters in, else the whole sentence.
fn split_first_clause(sentence: &str, max: usize) -> Vec<&str> {
    let mut chars = 0;
    let mut previous = ' ';
    for (at, c) in sentence.char_indices() {
        if c == ' ' && matches!(previous, ',' | ';' | ':') && chars > FIRST_CLAUSE_MIN {
            let rest = sentence[at..].trim_start();
            return if rest.is_empty() {
                vec![sentence]
            } else {
                vec![&sentence[..at], rest]
            };
        }
        chars += 1;
        if chars >= max {
            break;
        }
        previous = c;
    }
    vec![sentence]
}

/// The length-scale factor asked of the model for `speed`.
fn length_factor(speed: f32) -> f32 {
    (1.0 / speed).max(MIN_LENGTH_FACTOR)
}

/// The time-stretch (a speed factor) still needed after the model spoke `samples` samples from
/// `ids` ids at `length_factor(speed)`, or `None` when it is within 2% of 1/speed of the natural
/// duration. Natural frames are estimated as `(frames − n/2) / factor + n/2` (see the module notes).
fn residual_stretch(samples: usize, ids: usize, speed: f32) -> Option<f32> {
    if (speed - 1.0).abs() <= f32::EPSILON || samples == 0 {
        return None;
    }
    let frames = samples as f64 / HOP as f64;
    let rounding = ids as f64 / 2.0;
    let factor = f64::from(length_factor(speed));
    let natural = ((frames - rounding) / factor + rounding).max(1.0);
    let stretch = frames / (natural / f64::from(speed));
    ((stretch - 1.0).abs() > STRETCH_TOLERANCE).then_some(stretch as f32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streaming_splits_off_the_first_clause_of_a_long_sentence() {
        let s = "ðə kwˈɪk bɹˈaʊn fˈɑːks, dʒˈʌmps ˌoʊvɚ ðə lˈeɪzi dˈɑːɡ.";
        assert_eq!(
            split_first_clause(s, 80),
            vec!["ðə kwˈɪk bɹˈaʊn fˈɑːks,", "dʒˈʌmps ˌoʊvɚ ðə lˈeɪzi dˈɑːɡ."]
        );
        // No clause mark early enough, or one too early: the whole sentence.
        assert_eq!(split_first_clause(s, 10), vec![s]);
        assert_eq!(
            split_first_clause("jˈɛs, ɪts ɡˈʊd.", 80),
            vec!["jˈɛs, ɪts ɡˈʊd."]
        );
        assert_eq!(
            split_first_clause("həlˈoʊ wˈɜːld.", 80),
            vec!["həlˈoʊ wˈɜːld."]
        );
    }

    #[test]
    fn natural_speed_is_never_stretched() {
        assert_eq!(residual_stretch(256 * 238, 115, 1.0), None);
    }

    #[test]
    fn the_residual_makes_up_the_frame_rounding() {
        // Measured on joe (115 ids): 238 frames at length 1, 146 at length 0.5, 403 at 2.
        let fast = residual_stretch(256 * 146, 115, 2.0).unwrap();
        let fast_total = 146.0 / f64::from(fast);
        assert!((fast_total / 238.0 - 0.5).abs() < 0.03, "{fast_total}");
        let slow = residual_stretch(256 * 403, 115, 0.5).unwrap();
        let slow_total = 403.0 / f64::from(slow);
        assert!((slow_total / 238.0 - 2.0).abs() < 0.1, "{slow_total}");
        // Speed 4 asks the model for length 0.5 and stretches the rest.
        assert_eq!(length_factor(4.0), 0.5);
        let fastest = residual_stretch(256 * 146, 115, 4.0).unwrap();
        assert!((146.0 / f64::from(fastest) / 238.0 - 0.25).abs() < 0.02);
    }
}
