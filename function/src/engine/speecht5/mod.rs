//! Microsoft SpeechT5 on OpenVINO: tokenizer → encoder → stateful decoder loop → postnet →
//! HiFi-GAN, with OpenVINO GenAI's `Text2SpeechPipeline` algorithm (the reference this engine is
//! tested against). Owns the compiled models and how concurrent utterances share them.
//!
//! Concurrency: OpenVINO 2026.4's CPU plugin corrupts a stateful decoder when two infer requests
//! of one compiled model run at once (measured: wrong cross-attention shapes, heap corruption).
//! So each in-flight utterance takes a *slot* (its own compiled copy of the four IRs) from a
//! bounded pool, compiled on demand up to `slots`; the pool's lock is held only to take or give
//! back a slot, never during inference. Inside a slot every tensor is borrowed, not copied: the
//! encoder's outputs, the decoder's `output_sequence_out` fed back as `inputs_embeds`, and the
//! postnet's output given to the vocoder. A fresh decoder request per utterance gives fresh
//! decoder state (the C API cannot reset state).

mod folder;
mod stream;

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use openvino::{CompiledModel, ElementType, InferRequest, Tensor};

pub use folder::{GenerationParams, ModelConfig, ModelFolder};
pub use stream::{StreamEvent, StreamPlan, Streaming};

use super::ov::{check_signature, infer, shape, tensor};
use super::pool::{Pool, Pooled};
use super::{
    Chunk, EngineError, ModelInfo, Precision, Runtime, SpeechEngine, SpeedControl, Stop, Streamed,
    Synthesis, Timings,
};
use crate::audio::{change_speed, SpeedStream};
use crate::text::normalize::normalize;
use crate::text::sentencepiece::CharTokenizer;
use crate::text::sentences::split_sentences;

/// HiFi-GAN's output rate for SpeechT5.
pub const SAMPLE_RATE: u32 = 16_000;
/// Longest text piece per utterance (longer input is split at sentence boundaries).
pub const MAX_PIECE_CHARS: usize = 250;
/// Name of the all-zero speaker used when a folder ships no `voices/`.
pub const FALLBACK_VOICE: &str = "default";

/// How to get an export this engine reads.
const REEXPORT: &str =
    "Re-export the model with `optimum-cli export openvino --task text-to-audio`";

/// Tensor names the engine binds, per IR: (file, inputs, outputs).
const SIGNATURES: [(&str, &[&str], &[&str]); 4] = [
    (
        folder::ENCODER_XML,
        &["input_ids"],
        &["last_hidden_state", "encoder_attention_mask"],
    ),
    (
        folder::DECODER_XML,
        &[
            "inputs_embeds",
            "speaker_embeddings",
            "encoder_hidden_states",
            "encoder_attention_mask",
            "beam_idx",
        ],
        &["output_sequence_out", "spectrum", "prob"],
    ),
    (
        folder::POSTNET_XML,
        &["raw_spectrogram"],
        &["postnet_spectrogram"],
    ),
    (folder::VOCODER_XML, &["spectrogram"], &["waveform"]),
];

/// Why the decoder loop stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// The summed stop probabilities reached the threshold.
    Threshold,
    /// The maximum length was reached.
    MaxLength,
    /// The caller asked for an exact number of steps.
    Forced,
}

/// One utterance's SpeechT5-specific outcome, beside the generic [`Synthesis`].
#[derive(Clone, Debug)]
pub struct Utterance {
    /// Samples, rate, timings.
    pub synthesis: Synthesis,
    /// Decoder steps run.
    pub steps: usize,
    /// Why the loop stopped.
    pub stop: StopReason,
    /// The postnet spectrogram, `[frames × num_mel_bins]` row-major (empty on the function's
    /// path, which needs only the samples).
    pub spectrogram: Vec<f32>,
}

/// How many steps to run: GenAI's rule, or an exact count (benchmarks).
#[derive(Clone, Copy, Debug)]
pub enum Steps {
    /// Stop as GenAI does, with these parameters.
    Generate(GenerationParams),
    /// Run exactly this many steps, ignoring the stop probability.
    Exactly(usize),
}

/// When the decoder loop ends: GenAI's rule (or an exact count), shared by the whole-utterance
/// and the streaming loops so that both run the same number of steps.
#[derive(Clone, Copy, Debug)]
struct StopRule {
    minlen: usize,
    maxlen: usize,
    threshold: f32,
    forced: bool,
}

impl StopRule {
    fn new(steps: Steps, encoder_tokens: usize, config: &ModelConfig) -> Self {
        let (minlen, maxlen, threshold) = match steps {
            Steps::Generate(params) => {
                let (min, max) = params.step_bounds(encoder_tokens, config.reduction_factor);
                (min, max, params.threshold)
            }
            Steps::Exactly(n) => (n, n, f32::INFINITY),
        };
        // The decoder's positions end at max_speech_positions: never run past them.
        let maxlen = maxlen
            .min(config.max_speech_positions.saturating_sub(1))
            .max(1);
        Self {
            minlen,
            maxlen,
            threshold,
            forced: matches!(steps, Steps::Exactly(_)),
        }
    }

    /// Called after each step: why to stop now, or `None` to go on.
    fn check(&self, session: &DecoderSession<'_>) -> Result<Option<StopReason>, EngineError> {
        let step = session.position();
        if step < self.minlen {
            return Ok(None);
        }
        if session.stop_probability()? >= self.threshold {
            return Ok(Some(StopReason::Threshold));
        }
        if step >= self.maxlen {
            return Ok(Some(if self.forced {
                StopReason::Forced
            } else {
                StopReason::MaxLength
            }));
        }
        Ok(None)
    }
}

/// One utterance's worth of compiled models: the decoder (a fresh request per utterance) and
/// reusable requests of the stateless models.
struct Slot {
    decoder: CompiledModel,
    encoder: InferRequest,
    postnet: InferRequest,
    vocoder: InferRequest,
    /// Kept alive beside their requests.
    _stateless: [CompiledModel; 3],
    /// What the decoder (where the time goes) really computes in.
    precision: Precision,
}

impl Slot {
    /// Compiles the four IRs of `dir`; with `check`, verifies their signatures too.
    fn compile(runtime: &Runtime, dir: &Path, check: bool) -> Result<Self, EngineError> {
        let compile = |index: usize| {
            let (xml, inputs, outputs) = SIGNATURES[index];
            let path = dir.join(xml);
            let (model, precision) = runtime.compile(&path)?;
            if check {
                check_signature(&model, &path, inputs, outputs, REEXPORT)?;
            }
            Ok::<_, EngineError>((model, precision))
        };
        let (mut encoder, _) = compile(0)?;
        let (decoder, precision) = compile(1)?;
        let (mut postnet, _) = compile(2)?;
        let (mut vocoder, _) = compile(3)?;
        Ok(Self {
            encoder: encoder.create_infer_request().map_err(infer("encoder"))?,
            postnet: postnet.create_infer_request().map_err(infer("postnet"))?,
            vocoder: vocoder.create_infer_request().map_err(infer("vocoder"))?,
            decoder,
            _stateless: [encoder, postnet, vocoder],
            precision,
        })
    }
}

/// A loaded SpeechT5 model.
pub struct SpeechT5 {
    info: ModelInfo,
    config: ModelConfig,
    generation: GenerationParams,
    tokenizer: CharTokenizer,
    eos_id: i64,
    voices: std::collections::BTreeMap<String, Vec<f32>>,
    runtime: Arc<Runtime>,
    dir: PathBuf,
    slots: Pool<Slot>,
    max_piece_chars: usize,
}

impl std::fmt::Debug for SpeechT5 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpeechT5")
            .field("info", &self.info)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl SpeechT5 {
    /// Loads the export in `dir` and compiles its first slot, checking every IR's signature;
    /// up to `slots` utterances run at once (further slots are compiled when first needed).
    pub fn load(runtime: &Arc<Runtime>, dir: &Path, slots: usize) -> Result<Self, EngineError> {
        let folder = ModelFolder::open(dir)?;
        let tokenizer =
            CharTokenizer::from_file(&folder.file(folder::TOKENIZER_MODEL)).map_err(|e| {
                EngineError::ModelFolder {
                    path: dir.to_owned(),
                    reason: e.to_string(),
                }
            })?;
        let eos_id = tokenizer
            .control_id("</s>")
            .ok_or_else(|| EngineError::ModelFolder {
                path: dir.to_owned(),
                reason: format!("{} has no </s> piece", folder::TOKENIZER_MODEL),
            })?;
        let first = Slot::compile(runtime, dir, true)?;
        let mut voices = folder.voices;
        if voices.is_empty() {
            tracing::warn!(dir = %dir.display(), "no voices/*.bin speaker embeddings: using an all-zero speaker as {FALLBACK_VOICE:?}");
            voices.insert(
                FALLBACK_VOICE.to_owned(),
                vec![0.0; folder.config.speaker_embedding_dim],
            );
        }
        let default_voice = voices.keys().next().cloned().unwrap_or_default();
        let info = ModelInfo {
            family: "speecht5",
            sample_rate: SAMPLE_RATE,
            voices: voices.keys().cloned().collect(),
            default_voice,
            word_timestamps: false,
            text_frontend: "text normalized to words (numbers, symbols, abbreviations), SentencePiece characters",
            speed_control: SpeedControl::TimeStretch,
            precision: first.precision,
        };
        // Well inside the encoder's positions, and short pieces keep the decoder fast.
        let max_piece_chars = MAX_PIECE_CHARS.min(folder.config.max_text_positions / 2);
        Ok(Self {
            info,
            config: folder.config,
            generation: folder.generation,
            tokenizer,
            eos_id,
            voices,
            runtime: Arc::clone(runtime),
            dir: dir.to_owned(),
            slots: Pool::new(slots, vec![first]),
            max_piece_chars,
        })
    }

    /// The folder's `config.json` values.
    pub fn config(&self) -> &ModelConfig {
        &self.config
    }

    /// The generation parameters from the folder (GenAI's defaults where absent).
    pub fn generation(&self) -> GenerationParams {
        self.generation
    }

    /// Token ids for `text`, with the closing `</s>` as SpeechT5's tokenizer adds it.
    pub fn tokenize(&self, text: &str) -> Vec<i64> {
        let mut ids = self.tokenizer.encode(text);
        ids.push(self.eos_id);
        ids
    }

    /// The speaker embedding of a voice.
    pub fn voice(&self, name: &str) -> Result<&[f32], EngineError> {
        self.voices
            .get(name)
            .map(Vec::as_slice)
            .ok_or_else(|| EngineError::UnknownVoice(name.to_owned()))
    }

    /// Synthesizes text with a named voice and the given stop rule.
    pub fn generate(
        &self,
        text: &str,
        voice: &str,
        steps: Steps,
    ) -> Result<Utterance, EngineError> {
        self.run(text, voice, steps, true)
    }

    /// `generate`, copying the postnet spectrogram out only when asked (the function does not).
    fn run(
        &self,
        text: &str,
        voice: &str,
        steps: Steps,
        keep_spectrogram: bool,
    ) -> Result<Utterance, EngineError> {
        let started = Instant::now();
        let speaker = self.voice(voice)?;
        let ids = self.tokenize(text);
        let tokenize = started.elapsed();
        let mut utterance = self.run_ids(&ids, speaker, steps, keep_spectrogram)?;
        utterance.synthesis.timings.tokenize = tokenize;
        utterance.synthesis.timings.total = started.elapsed();
        Ok(utterance)
    }

    /// Synthesizes from token ids and a speaker embedding: the whole pipeline after tokenization.
    pub fn generate_ids(
        &self,
        ids: &[i64],
        speaker: &[f32],
        steps: Steps,
    ) -> Result<Utterance, EngineError> {
        self.run_ids(ids, speaker, steps, true)
    }

    fn run_ids(
        &self,
        ids: &[i64],
        speaker: &[f32],
        steps: Steps,
        keep_spectrogram: bool,
    ) -> Result<Utterance, EngineError> {
        let started = Instant::now();
        let mut session = self.decoder_session(ids, speaker)?;
        let mut timings = Timings {
            encoder: session.encoder_time(),
            ..Timings::default()
        };

        // Decoder loop.
        let rule = StopRule::new(steps, session.encoder_tokens(), &self.config);
        let stop = loop {
            timings.decoder_steps.push(session.step()?);
            if let Some(reason) = rule.check(&session)? {
                break reason;
            }
        };

        timings.postnet = session.postnet()?;
        timings.vocoder = session.vocoder()?;
        let samples = session.waveform()?;
        let spectrogram = if keep_spectrogram {
            session.spectrogram()?
        } else {
            Vec::new()
        };
        let step = session.position();
        drop(session);
        timings.total = started.elapsed();
        Ok(Utterance {
            synthesis: Synthesis {
                samples,
                sample_rate: SAMPLE_RATE,
                input_tokens: ids.len(),
                durations: None,
                timings,
            },
            steps: step,
            stop,
            spectrogram,
        })
    }

    /// Starts one utterance's inference to be driven stage by stage, as [`Self::generate_ids`]
    /// does and as benchmarks do to time single stages: validates the input, takes a slot from
    /// the pool (waiting if all are busy; the pool's lock is not held afterwards), runs the
    /// encoder once and binds its outputs to a fresh decoder request.
    pub fn decoder_session(
        &self,
        ids: &[i64],
        speaker: &[f32],
    ) -> Result<DecoderSession<'_>, EngineError> {
        if ids.len() > self.config.max_text_positions {
            return Err(EngineError::InputTooLong {
                tokens: ids.len(),
                max: self.config.max_text_positions,
            });
        }
        if speaker.len() != self.config.speaker_embedding_dim {
            return Err(EngineError::Output {
                stage: "speaker embedding",
                reason: format!(
                    "{} values, the model takes {}",
                    speaker.len(),
                    self.config.speaker_embedding_dim
                ),
            });
        }
        let mut slot = self
            .slots
            .take(|| Slot::compile(&self.runtime, &self.dir, false))?;

        // Encoder.
        let input_ids =
            tensor(ElementType::I64, &[1, ids.len() as i64], ids).map_err(infer("encoder"))?;
        let encoder = &mut slot.encoder;
        encoder
            .set_tensor("input_ids", &input_ids)
            .map_err(infer("encoder"))?;
        let t = Instant::now();
        encoder.infer().map_err(infer("encoder"))?;
        let encoder_time = t.elapsed();
        let hidden = encoder
            .get_tensor("last_hidden_state")
            .map_err(infer("encoder"))?;
        let mask = encoder
            .get_tensor("encoder_attention_mask")
            .map_err(infer("encoder"))?;
        let encoder_tokens = usize::try_from(
            hidden
                .get_shape()
                .map_err(infer("encoder"))?
                .get_dimensions()[1],
        )
        .unwrap_or(0);

        let speaker = tensor(ElementType::F32, &[1, speaker.len() as i64], speaker)
            .map_err(infer("decoder"))?;
        let beam_idx = tensor(ElementType::I32, &[1], &[0i32]).map_err(infer("decoder"))?;
        let mel = self.config.num_mel_bins;
        let mut session = DecoderSession {
            decoder: slot
                .decoder
                .create_infer_request()
                .map_err(infer("decoder"))?,
            inputs_embeds: zero_frame(mel)?,
            raw: Vec::new(),
            spectrogram: None,
            position: 0,
            frame_values: self.config.reduction_factor * mel,
            reduction_factor: self.config.reduction_factor,
            mel,
            encoder_tokens,
            encoder_time,
            speaker,
            beam_idx,
            hidden,
            mask,
            slot,
        };
        session.bind()?;
        Ok(session)
    }

    /// Most utterances that run at once, and slots compiled so far.
    pub fn slots(&self) -> (usize, usize) {
        (self.slots.capacity(), self.slots.created())
    }
}

impl SpeechEngine for SpeechT5 {
    fn info(&self) -> &ModelInfo {
        &self.info
    }

    /// Normalizes the text to words (the character tokenizer cannot read digits or most symbols)
    /// and splits it into sentences of at most 250 characters.
    fn prepare(&self, text: &str) -> Result<Vec<String>, EngineError> {
        Ok(split_sentences(&normalize(text), self.max_piece_chars))
    }

    /// SpeechT5 has no duration control: `speed` time-stretches the waveform, keeping the pitch.
    fn synthesize(&self, piece: &str, voice: &str, speed: f32) -> Result<Synthesis, EngineError> {
        let mut synthesis = self
            .run(piece, voice, Steps::Generate(self.generation), false)?
            .synthesis;
        if (speed - 1.0).abs() > f32::EPSILON {
            synthesis.samples = change_speed(&synthesis.samples, SAMPLE_RATE, speed);
        }
        Ok(synthesis)
    }

    /// Audio leaves while the decoder runs: chunks cut by [`StreamPlan::default`] whose join is
    /// the whole-piece waveform, or very close to it (see [`StreamPlan`]), and `stop` is checked
    /// before every decoder step. At speeds other than 1 each chunk passes through a
    /// [`SpeedStream`] on its way out: the same time-stretch as the whole piece's, fed piece by
    /// piece, so the stretched stream is `round(n / speed)` samples long like the whole answer.
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
        let speaker = self.voice(voice)?;
        let ids = self.tokenize(piece);
        let tokenize = started.elapsed();
        // At other speeds each chunk goes through the time-stretch on its way out.
        let mut stretch = SpeedStream::new(SAMPLE_RATE, speed);
        let mut stretched = Vec::new();
        let mut sent = 0usize;
        let mut send = |samples: &[f32]| {
            sink(Chunk::plain(samples, sent));
            sent += samples.len();
        };
        let mut streamed = self
            .stream_ids(
                &ids,
                speaker,
                Steps::Generate(self.generation),
                StreamPlan::default(),
                stop,
                &mut |event| {
                    let StreamEvent::Chunk { samples, .. } = event else {
                        return;
                    };
                    match stretch.as_mut() {
                        None => send(samples),
                        Some(stretch) => {
                            stretched.clear();
                            stretch.push(samples, &mut stretched);
                            if !stretched.is_empty() {
                                send(&stretched);
                            }
                        }
                    }
                },
            )?
            .streamed;
        if let Some(stretch) = stretch {
            stretched.clear();
            streamed.samples = stretch.finish(&mut stretched);
            if !stretched.is_empty() {
                send(&stretched);
            }
        }
        streamed.timings.tokenize = tokenize;
        streamed.timings.total = started.elapsed();
        Ok(streamed)
    }
}

/// One utterance's inference driven stage by stage, on a slot of its own taken from the pool for
/// the session's life and given back on drop (see [`SpeechT5::decoder_session`]).
///
/// [`SpeechT5::generate_ids`] runs its decoder loop on a session; benchmarks use one to time a
/// decoder step at a chosen position ([`Self::restart`], then [`Self::step`] k times), the
/// postnet or the vocoder. Nothing on the step path is copied: the encoder's outputs are bound
/// once and `output_sequence_out` is fed back as `inputs_embeds` as a tensor handle; each step
/// appends its `spectrum` (`reduction_factor × num_mel_bins` values) for the postnet.
pub struct DecoderSession<'a> {
    decoder: InferRequest,
    inputs_embeds: Tensor,
    /// Every step's `spectrum`, in order: the postnet's input.
    raw: Vec<f32>,
    /// The postnet's output, once it has run.
    spectrogram: Option<Tensor>,
    position: usize,
    frame_values: usize,
    reduction_factor: usize,
    mel: usize,
    encoder_tokens: usize,
    encoder_time: Duration,
    speaker: Tensor,
    beam_idx: Tensor,
    hidden: Tensor,
    mask: Tensor,
    /// Last, so that requests and tensors are dropped before the slot goes back to the pool.
    slot: Pooled<'a, Slot>,
}

impl std::fmt::Debug for DecoderSession<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DecoderSession")
            .field("encoder_tokens", &self.encoder_tokens)
            .field("position", &self.position)
            .finish_non_exhaustive()
    }
}

impl DecoderSession<'_> {
    /// The encoder's output length (tokens, with `</s>`).
    pub fn encoder_tokens(&self) -> usize {
        self.encoder_tokens
    }

    /// How long the encoder's `infer` took when the session started.
    pub fn encoder_time(&self) -> Duration {
        self.encoder_time
    }

    /// Decoder steps run since the session started or last restarted.
    pub fn position(&self) -> usize {
        self.position
    }

    /// Runs one decoder step and returns the time of its `infer` alone.
    pub fn step(&mut self) -> Result<Duration, EngineError> {
        let decoder = &mut self.decoder;
        decoder
            .set_tensor("inputs_embeds", &self.inputs_embeds)
            .map_err(infer("decoder"))?;
        let t = Instant::now();
        decoder.infer().map_err(infer("decoder"))?;
        let elapsed = t.elapsed();
        let spectrum = decoder.get_tensor("spectrum").map_err(infer("decoder"))?;
        let spectrum = spectrum.get_data::<f32>().map_err(infer("decoder"))?;
        if spectrum.len() != self.frame_values {
            return Err(EngineError::Output {
                stage: "decoder",
                reason: format!(
                    "spectrum has {} values, expected {}",
                    spectrum.len(),
                    self.frame_values
                ),
            });
        }
        self.raw.extend_from_slice(spectrum);
        // The whole sequence so far becomes the next input, as a tensor handle (no copy).
        self.inputs_embeds = decoder
            .get_tensor("output_sequence_out")
            .map_err(infer("decoder"))?;
        self.position += 1;
        Ok(elapsed)
    }

    /// The summed stop probabilities of the last step (GenAI stops once it reaches the threshold).
    pub fn stop_probability(&self) -> Result<f32, EngineError> {
        let prob = self.decoder.get_tensor("prob").map_err(infer("decoder"))?;
        Ok(prob
            .get_data::<f32>()
            .map_err(infer("decoder"))?
            .iter()
            .sum())
    }

    /// Starts the decoder over at position 0 with a fresh request (fresh state, ≈0.1 ms) and the
    /// same encoder outputs; forgets the steps run so far and the postnet's output.
    pub fn restart(&mut self) -> Result<(), EngineError> {
        self.decoder = self
            .slot
            .decoder
            .create_infer_request()
            .map_err(infer("decoder"))?;
        self.inputs_embeds = zero_frame(self.mel)?;
        self.raw.clear();
        self.spectrogram = None;
        self.position = 0;
        self.bind()
    }

    /// Runs the postnet over every step so far and returns the time of its `infer` alone; its
    /// output is kept for [`Self::vocoder`] and [`Self::spectrogram`].
    pub fn postnet(&mut self) -> Result<Duration, EngineError> {
        self.postnet_window(0..self.position)
    }

    /// [`Self::postnet`] over the decoder steps in `steps` only (a window of the utterance, as
    /// streaming runs it); its output is what [`Self::vocoder`] reads next.
    pub fn postnet_window(&mut self, steps: Range<usize>) -> Result<Duration, EngineError> {
        if steps.is_empty() || steps.end > self.position {
            return Err(EngineError::Output {
                stage: "postnet",
                reason: format!(
                    "steps {steps:?} asked for, {} decoder steps have run",
                    self.position
                ),
            });
        }
        let raw = tensor(
            ElementType::F32,
            &[
                steps.len() as i64,
                1,
                self.reduction_factor as i64,
                self.mel as i64,
            ],
            &self.raw[steps.start * self.frame_values..steps.end * self.frame_values],
        )
        .map_err(infer("postnet"))?;
        let postnet = &mut self.slot.postnet;
        postnet
            .set_tensor("raw_spectrogram", &raw)
            .map_err(infer("postnet"))?;
        let t = Instant::now();
        postnet.infer().map_err(infer("postnet"))?;
        let elapsed = t.elapsed();
        self.spectrogram = Some(
            postnet
                .get_tensor("postnet_spectrogram")
                .map_err(infer("postnet"))?,
        );
        Ok(elapsed)
    }

    /// Runs the vocoder on the postnet's last output (read in place, not copied) and returns the
    /// time of its `infer` alone; the audio is then in [`Self::waveform`].
    pub fn vocoder(&mut self) -> Result<Duration, EngineError> {
        let spectrogram = self.spectrogram.as_ref().ok_or_else(postnet_not_run)?;
        let vocoder = &mut self.slot.vocoder;
        vocoder
            .set_tensor("spectrogram", spectrogram)
            .map_err(infer("vocoder"))?;
        let t = Instant::now();
        vocoder.infer().map_err(infer("vocoder"))?;
        Ok(t.elapsed())
    }

    /// A copy of the postnet's last output, `[frames × num_mel_bins]` row-major.
    pub fn spectrogram(&self) -> Result<Vec<f32>, EngineError> {
        Ok(self
            .postnet_output()?
            .get_data::<f32>()
            .map_err(infer("postnet"))?
            .to_vec())
    }

    /// A copy of the vocoder's last output: samples at [`SAMPLE_RATE`].
    pub fn waveform(&self) -> Result<Vec<f32>, EngineError> {
        self.slot
            .vocoder
            .get_tensor("waveform")
            .and_then(|w| w.get_data::<f32>().map(<[f32]>::to_vec))
            .map_err(infer("vocoder"))
    }

    /// The vocoder's last output, writable in place (the streaming cutter cross-fades a join
    /// there before it hands the chunk on).
    fn with_waveform_mut<T>(&self, edit: impl FnOnce(&mut [f32]) -> T) -> Result<T, EngineError> {
        let mut waveform = self
            .slot
            .vocoder
            .get_tensor("waveform")
            .map_err(infer("vocoder"))?;
        Ok(edit(
            waveform.get_data_mut::<f32>().map_err(infer("vocoder"))?,
        ))
    }

    fn postnet_output(&self) -> Result<&Tensor, EngineError> {
        self.spectrogram.as_ref().ok_or_else(postnet_not_run)
    }

    /// Binds the inputs that stay fixed for the whole utterance, without copying them.
    fn bind(&mut self) -> Result<(), EngineError> {
        for (name, value) in [
            ("speaker_embeddings", &self.speaker),
            ("encoder_hidden_states", &self.hidden),
            ("encoder_attention_mask", &self.mask),
            ("beam_idx", &self.beam_idx),
        ] {
            self.decoder
                .set_tensor(name, value)
                .map_err(infer("decoder"))?;
        }
        Ok(())
    }
}

fn postnet_not_run() -> EngineError {
    EngineError::Output {
        stage: "postnet",
        reason: "the postnet has not run".to_owned(),
    }
}

/// The decoder's first input: one all-zero mel frame, `[1, 1, num_mel_bins]`.
fn zero_frame(mel: usize) -> Result<Tensor, EngineError> {
    Tensor::new(
        ElementType::F32,
        &shape(&[1, 1, mel as i64]).map_err(infer("decoder"))?,
    )
    .map_err(infer("decoder"))
}
