//! Microsoft SpeechT5 on OpenVINO: tokenizer → encoder → stateful decoder loop → postnet →
//! HiFi-GAN, with OpenVINO GenAI's `Text2SpeechPipeline` algorithm (the reference this engine is
//! tested against). Owns the four compiled models and the per-utterance infer requests: compiled
//! models are shared; each in-flight utterance gets its own requests (a fresh decoder request,
//! since OpenVINO's C API cannot reset decoder state; pooled encoder/postnet/vocoder requests),
//! so no lock is held across inference.

mod folder;

use std::path::Path;
use std::sync::Mutex;
use std::time::Instant;

use openvino::{CompiledModel, ElementType, InferRequest, Shape, Tensor};

pub use folder::{GenerationParams, ModelConfig, ModelFolder};

use super::pool::Pool;
use super::{EngineError, ModelInfo, Runtime, SpeechEngine, Synthesis, Timings};
use crate::text::sentencepiece::CharTokenizer;

/// HiFi-GAN's output rate for SpeechT5.
pub const SAMPLE_RATE: u32 = 16_000;
/// Name of the all-zero speaker used when a folder ships no `voices/`.
pub const FALLBACK_VOICE: &str = "default";

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
    /// The postnet spectrogram, `[frames × num_mel_bins]` row-major.
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

struct Compiled {
    encoder: CompiledModel,
    decoder: CompiledModel,
    postnet: CompiledModel,
    vocoder: CompiledModel,
}

/// Requests reused across utterances (stateless models only).
struct StatelessRequests {
    encoder: InferRequest,
    postnet: InferRequest,
    vocoder: InferRequest,
}

/// A loaded SpeechT5 model.
pub struct SpeechT5 {
    info: ModelInfo,
    config: ModelConfig,
    generation: GenerationParams,
    tokenizer: CharTokenizer,
    eos_id: i64,
    voices: std::collections::BTreeMap<String, Vec<f32>>,
    compiled: Mutex<Compiled>,
    requests: Pool<StatelessRequests>,
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
    /// Loads and compiles the export in `dir`, checking every IR's signature.
    pub fn load(runtime: &Runtime, dir: &Path) -> Result<Self, EngineError> {
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
        let mut compiled = SIGNATURES.iter().map(|(xml, inputs, outputs)| {
            let path = folder.file(xml);
            let model = runtime.compile(&path)?;
            check_signature(&model, &path, inputs, outputs)?;
            Ok(model)
        });
        let mut next = || compiled.next().expect("four signatures");
        let compiled = Compiled {
            encoder: next()?,
            decoder: next()?,
            postnet: next()?,
            vocoder: next()?,
        };

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
        };
        Ok(Self {
            info,
            config: folder.config,
            generation: folder.generation,
            tokenizer,
            eos_id,
            voices,
            compiled: Mutex::new(compiled),
            requests: Pool::default(),
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
        let started = Instant::now();
        let speaker = self.voice(voice)?;
        let ids = self.tokenize(text);
        let tokenize = started.elapsed();
        let mut utterance = self.generate_ids(&ids, speaker, steps)?;
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
        let started = Instant::now();
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
        let mut timings = Timings::default();
        let mut stateless = self.requests.take(|| self.stateless_requests())?;
        let mut decoder = self.decoder_request()?;

        // Encoder.
        let input_ids =
            tensor(ElementType::I64, &[1, ids.len() as i64], ids).map_err(infer("encoder"))?;
        let encoder = &mut stateless.encoder;
        encoder
            .set_tensor("input_ids", &input_ids)
            .map_err(infer("encoder"))?;
        let t = Instant::now();
        encoder.infer().map_err(infer("encoder"))?;
        timings.encoder = t.elapsed();
        let hidden = encoder
            .get_tensor("last_hidden_state")
            .map_err(infer("encoder"))?;
        let mask = encoder
            .get_tensor("encoder_attention_mask")
            .map_err(infer("encoder"))?;
        let encoder_len = usize::try_from(
            hidden
                .get_shape()
                .map_err(infer("encoder"))?
                .get_dimensions()[1],
        )
        .unwrap_or(0);

        // Decoder loop: the encoder's outputs are bound once, without copying.
        let (minlen, maxlen, threshold) = match steps {
            Steps::Generate(params) => {
                let (min, max) = params.step_bounds(encoder_len, self.config.reduction_factor);
                (min, max, params.threshold)
            }
            Steps::Exactly(n) => (n, n, f32::INFINITY),
        };
        // The decoder's positions end at max_speech_positions: never run past them.
        let maxlen = maxlen
            .min(self.config.max_speech_positions.saturating_sub(1))
            .max(1);
        let mel = self.config.num_mel_bins;
        let frame_values = self.config.reduction_factor * mel;
        let speaker = tensor(ElementType::F32, &[1, speaker.len() as i64], speaker)
            .map_err(infer("decoder"))?;
        let beam_idx = tensor(ElementType::I32, &[1], &[0i32]).map_err(infer("decoder"))?;
        for (name, value) in [
            ("speaker_embeddings", &speaker),
            ("encoder_hidden_states", &hidden),
            ("encoder_attention_mask", &mask),
            ("beam_idx", &beam_idx),
        ] {
            decoder.set_tensor(name, value).map_err(infer("decoder"))?;
        }
        let mut inputs_embeds = Tensor::new(
            ElementType::F32,
            &shape(&[1, 1, mel as i64]).map_err(infer("decoder"))?,
        )
        .map_err(infer("decoder"))?;
        let mut raw = Vec::with_capacity(maxlen.min(1024) * frame_values);
        let mut step = 0;
        let stop = loop {
            step += 1;
            decoder
                .set_tensor("inputs_embeds", &inputs_embeds)
                .map_err(infer("decoder"))?;
            let t = Instant::now();
            decoder.infer().map_err(infer("decoder"))?;
            timings.decoder_steps.push(t.elapsed());
            let spectrum = decoder.get_tensor("spectrum").map_err(infer("decoder"))?;
            let spectrum = spectrum.get_data::<f32>().map_err(infer("decoder"))?;
            if spectrum.len() != frame_values {
                return Err(EngineError::Output {
                    stage: "decoder",
                    reason: format!(
                        "spectrum has {} values, expected {frame_values}",
                        spectrum.len()
                    ),
                });
            }
            raw.extend_from_slice(spectrum);
            // The whole sequence so far becomes the next input, as a tensor handle (no copy).
            inputs_embeds = decoder
                .get_tensor("output_sequence_out")
                .map_err(infer("decoder"))?;
            if step < minlen {
                continue;
            }
            let prob = decoder.get_tensor("prob").map_err(infer("decoder"))?;
            let prob: f32 = prob
                .get_data::<f32>()
                .map_err(infer("decoder"))?
                .iter()
                .sum();
            if prob >= threshold {
                break StopReason::Threshold;
            }
            if step >= maxlen {
                break if matches!(steps, Steps::Exactly(_)) {
                    StopReason::Forced
                } else {
                    StopReason::MaxLength
                };
            }
        };
        drop(decoder);

        // Postnet, then the vocoder reads the postnet's output tensor directly.
        let raw = tensor(
            ElementType::F32,
            &[
                step as i64,
                1,
                self.config.reduction_factor as i64,
                mel as i64,
            ],
            &raw,
        )
        .map_err(infer("postnet"))?;
        let postnet = &mut stateless.postnet;
        postnet
            .set_tensor("raw_spectrogram", &raw)
            .map_err(infer("postnet"))?;
        let t = Instant::now();
        postnet.infer().map_err(infer("postnet"))?;
        timings.postnet = t.elapsed();
        let spectrogram = postnet
            .get_tensor("postnet_spectrogram")
            .map_err(infer("postnet"))?;
        let vocoder = &mut stateless.vocoder;
        vocoder
            .set_tensor("spectrogram", &spectrogram)
            .map_err(infer("vocoder"))?;
        let t = Instant::now();
        vocoder.infer().map_err(infer("vocoder"))?;
        timings.vocoder = t.elapsed();
        let samples = vocoder
            .get_tensor("waveform")
            .and_then(|w| w.get_data::<f32>().map(<[f32]>::to_vec))
            .map_err(infer("vocoder"))?;
        let spectrogram = spectrogram
            .get_data::<f32>()
            .map_err(infer("postnet"))?
            .to_vec();
        timings.total = started.elapsed();
        Ok(Utterance {
            synthesis: Synthesis {
                samples,
                sample_rate: SAMPLE_RATE,
                input_tokens: ids.len(),
                timings,
            },
            steps: step,
            stop,
            spectrogram,
        })
    }

    fn stateless_requests(&self) -> Result<StatelessRequests, EngineError> {
        let mut compiled = self.lock_compiled();
        let make =
            |model: &mut CompiledModel, stage| model.create_infer_request().map_err(infer(stage));
        Ok(StatelessRequests {
            encoder: make(&mut compiled.encoder, "encoder")?,
            postnet: make(&mut compiled.postnet, "postnet")?,
            vocoder: make(&mut compiled.vocoder, "vocoder")?,
        })
    }

    /// A decoder request with fresh state (≈0.1 ms to create).
    fn decoder_request(&self) -> Result<InferRequest, EngineError> {
        self.lock_compiled()
            .decoder
            .create_infer_request()
            .map_err(infer("decoder"))
    }

    fn lock_compiled(&self) -> std::sync::MutexGuard<'_, Compiled> {
        self.compiled
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl SpeechEngine for SpeechT5 {
    fn info(&self) -> &ModelInfo {
        &self.info
    }

    fn synthesize(&self, text: &str, voice: &str) -> Result<Synthesis, EngineError> {
        Ok(self
            .generate(text, voice, Steps::Generate(self.generation))?
            .synthesis)
    }
}

fn infer(stage: &'static str) -> impl Fn(openvino::InferenceError) -> EngineError {
    move |source| EngineError::Inference { stage, source }
}

fn shape(dims: &[i64]) -> Result<Shape, openvino::InferenceError> {
    Shape::new(dims)
}

/// A new tensor holding a copy of `data` (inputs built from Rust values).
fn tensor<T: Copy>(
    kind: ElementType,
    dims: &[i64],
    data: &[T],
) -> Result<Tensor, openvino::InferenceError> {
    let mut t = Tensor::new(kind, &shape(dims)?)?;
    t.get_data_mut::<T>()?.copy_from_slice(data);
    Ok(t)
}

/// Checks that a compiled IR has the named inputs and outputs the engine binds.
fn check_signature(
    model: &CompiledModel,
    file: &Path,
    inputs: &[&str],
    outputs: &[&str],
) -> Result<(), EngineError> {
    let ports = [
        ("inputs", inputs, model.get_input_size().unwrap_or(0), true),
        (
            "outputs",
            outputs,
            model.get_output_size().unwrap_or(0),
            false,
        ),
    ];
    for (kind, wanted, count, is_input) in ports {
        let port = |name: &str| {
            if is_input {
                model.get_input_by_name(name)
            } else {
                model.get_output_by_name(name)
            }
        };
        let missing: Vec<String> = wanted
            .iter()
            .filter(|n| port(n).is_err())
            .map(ToString::to_string)
            .collect();
        if !missing.is_empty() {
            let found = (0..count)
                .filter_map(|i| {
                    let node = if is_input {
                        model.get_input_by_index(i)
                    } else {
                        model.get_output_by_index(i)
                    };
                    node.and_then(|n| n.get_name()).ok()
                })
                .collect();
            return Err(EngineError::Signature {
                file: file.to_owned(),
                kind,
                missing,
                found,
            });
        }
    }
    Ok(())
}
