//! Piper (VITS) voices on OpenVINO: text → words (the function's normalizer) → eSpeak NG phonemes
//! (in a separate process, see [`crate::text::espeak`]) → the voice's phoneme ids → one VITS inference per sentence → a
//! waveform at the voice's own rate. Owns the compiled voice and how concurrent requests share it.
//!
//! As Piper does it: one inference per sentence with the scales `[noise, length, noise_w]` from
//! the voice's `.onnx.json`, and each sentence's waveform scaled to a fixed peak.
//!
//! `speed` divides the length scale, the model's own duration control, so the voice speaks
//! faster or slower naturally. The model rounds every phoneme id's duration up to whole frames, so
//! the length scale alone falls short (measured on joe: length 0.5 gives 0.61 of the duration,
//! and below 0.5 hardly anything changes as every id nears its one-frame floor). The shortfall
//! is estimated from the frames produced (each of the n ids adds about half a frame of rounding:
//! frames ≈ length × W + n/2) and the rest is made up by a short pitch-preserving time-stretch, so
//! the audio lasts 1/speed of its natural duration, as OpenAI's `speed` promises.
//!
//! The model has no state, so concurrent
//! utterances share one compiled model, each with an infer request from a bounded pool; the
//! pool's lock is held only to take or give back a request. The model draws random noise inside,
//! so the same text sounds slightly different each time unless the noise scales are 0.

mod voice;

use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use openvino::{CompiledModel, ElementType, InferRequest};

pub use voice::{InferenceConfig, VoiceConfig, VoiceFolder};

use super::ov::{check_signature, infer, tensor};
use super::pool::Pool;
use super::{
    stream_whole, CompileOverrides, EngineError, ModelInfo, Precision, Runtime, SpeechEngine,
    SpeedControl, Stop, Streamed, Synthesis, Timings,
};
use crate::audio::change_speed;
use crate::text::espeak::Espeak;
use crate::text::normalize::normalize;
use crate::text::phoneme_ids::{PhonemeIdMap, PhonemeIds};

/// Peak level each sentence is scaled to (Piper scales to full scale; a little headroom keeps
/// lossy encoders from clipping).
pub const PEAK: f32 = 0.95;

/// Samples per frame (the VITS decoder's upsampling; Piper's output is a multiple of it).
const HOP: usize = 256;
/// Shortest length factor asked of the model: below it the frame rounding dominates.
const MIN_LENGTH_FACTOR: f32 = 0.5;
/// Longest piece (in phoneme characters, about 12–15 s of speech) given to one inference: the
/// model's memory grows with the audio it makes (measured: one 800-word sentence of 133 s took a
/// 12 GB peak), so longer sentences are cut at a clause mark or between words.
pub const MAX_PIECE_PHONEMES: usize = 200;
/// Residual tempo errors smaller than this are left alone.
const STRETCH_TOLERANCE: f64 = 0.02;

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
    }
}

/// A loaded Piper voice.
pub struct Piper {
    info: ModelInfo,
    config: VoiceConfig,
    ids: PhonemeIdMap,
    espeak: Arc<Espeak>,
    /// The model file (`.onnx` or IR `.xml`), compiled again after a snapshot restore.
    model_path: std::path::PathBuf,
    /// Locked only to create a new infer request, never during inference.
    model: Mutex<CompiledModel>,
    requests: Pool<InferRequest>,
}

impl std::fmt::Debug for Piper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Piper")
            .field("info", &self.info)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Piper {
    /// Loads the voice in `dir`, compiles it (checking its inputs and outputs) and checks that
    /// `espeak` knows its eSpeak voice; up to `slots` utterances infer at once.
    pub fn load(
        runtime: &Runtime,
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
        // Always f32: see PRECISION_REASON.
        let (mut model, precision) =
            runtime.compile_overriding(&folder.model, overrides(runtime))?;
        let requested = runtime.options().precision;
        if requested != Precision::F32 {
            tracing::warn!(
                voice = %folder.voice_name(),
                "the Piper voice runs in f32, not {requested}: {PRECISION_REASON}"
            );
        }
        check_signature(&model, &folder.model, &INPUTS, &OUTPUTS, FIX)?;
        let first = model.create_infer_request().map_err(infer(STAGE))?;
        let name = folder.voice_name();
        let info = ModelInfo {
            family: "piper",
            sample_rate: folder.config.audio.sample_rate,
            voices: vec![name.clone()],
            default_voice: name,
            text_frontend: "text normalized to words, eSpeak NG phonemes (IPA) mapped to the voice's phoneme ids",
            speed_control: SpeedControl::Duration,
            precision,
        };
        Ok(Self {
            info,
            config: folder.config,
            ids,
            espeak,
            model_path: folder.model,
            model: Mutex::new(model),
            requests: Pool::new(slots, vec![first]),
        })
    }

    /// The voice's `.onnx.json` values.
    pub fn config(&self) -> &VoiceConfig {
        &self.config
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

    /// Runs the model once on phoneme ids with the given scales: the raw waveform (not
    /// normalized) and the inference time.
    pub fn infer_ids(
        &self,
        ids: &[i64],
        scales: [f32; 3],
    ) -> Result<(Vec<f32>, Duration), EngineError> {
        let mut out = Vec::new();
        let took = self.infer_into(ids, scales, Some(1.0), &mut out)?;
        Ok((out, took))
    }

    /// Runs the model and appends its waveform times `gain` to `out` (`None` scales the sentence
    /// to [`PEAK`]): one pass over the output tensor, no other copy.
    fn infer_into(
        &self,
        ids: &[i64],
        scales: [f32; 3],
        gain: Option<f32>,
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
        let wave = output.get_data::<f32>().map_err(infer(STAGE))?;
        let gain = gain.unwrap_or_else(|| {
            let peak = wave.iter().fold(0.0f32, |m, s| m.max(s.abs()));
            // Piper's floor: near-silence is not amplified into noise.
            PEAK / peak.max(0.01)
        });
        out.reserve(wave.len());
        out.extend(wave.iter().map(|s| s * gain));
        Ok(took)
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
        let (model, _) = runtime.compile_overriding(&self.model_path, overrides(runtime))?;
        *self.model.lock().unwrap_or_else(PoisonError::into_inner) = model;
        self.requests.clear_idle();
        self.espeak
            .phonemize("restored", &self.config.espeak.voice)
            .map_err(|e| EngineError::Phonemizer(e.to_string()))?;
        Ok(())
    }

    /// The function's normalizer writes numbers, money, dates, units and abbreviations out as
    /// words first (eSpeak NG alone reads "$4.25" as "dollar four point two five", "St." as
    /// "saint" and ends a sentence after "Dr."), then eSpeak NG reads the words and splits them
    /// into sentences of phonemes as Piper does.
    fn prepare(&self, text: &str) -> Result<Vec<String>, EngineError> {
        let sentences = self
            .espeak
            .phonemize(&normalize(text), &self.config.espeak.voice)
            .map_err(|e| EngineError::Phonemizer(e.to_string()))?;
        Ok(sentences
            .iter()
            .filter(|s| s.chars().any(|c| !c.is_whitespace() && !is_punctuation(c)))
            .flat_map(|s| split_long(s, MAX_PIECE_PHONEMES))
            .collect())
    }

    fn synthesize(&self, piece: &str, voice: &str, speed: f32) -> Result<Synthesis, EngineError> {
        let started = Instant::now();
        if !self.info.voices.iter().any(|v| v == voice) {
            return Err(EngineError::UnknownVoice(voice.to_owned()));
        }
        let ids = self.phoneme_ids(piece);
        if !ids.missing.is_empty() {
            tracing::debug!(missing = ?ids.missing, "phonemes not in the voice's map were skipped");
        }
        let tokenize = started.elapsed();
        let mut samples = Vec::new();
        let model = self.infer_into(&ids.ids, self.scales(speed), None, &mut samples)?;
        if let Some(stretch) = residual_stretch(samples.len(), ids.ids.len(), speed) {
            samples = change_speed(&samples, self.info.sample_rate, stretch);
        }
        Ok(Synthesis {
            samples,
            sample_rate: self.info.sample_rate,
            input_tokens: ids.ids.len(),
            timings: Timings {
                tokenize,
                model,
                total: started.elapsed(),
                ..Timings::default()
            },
        })
    }

    /// Streams a sentence in two inferences when it is long: its first clause (up to the first
    /// `,` `;` `:` within 80 phonemes) goes out on its own, so the first audio of a request
    /// waits for a short inference, not a whole sentence; the rest follows without a pause.
    fn synthesize_stream(
        &self,
        piece: &str,
        voice: &str,
        speed: f32,
        stop: &Stop,
        sink: &mut dyn FnMut(&[f32]),
    ) -> Result<Streamed, EngineError> {
        let mut streamed = Streamed::default();
        for part in split_first_clause(piece, FIRST_CLAUSE_MAX) {
            streamed.add(stream_whole(self, part, voice, speed, stop, sink)?);
        }
        Ok(streamed)
    }
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

/// Cuts a sentence of phonemes into pieces of at most `max` characters: after the last clause mark
/// (`, ` `; ` `: `) in the second half of the window, else between words, else anywhere.
fn split_long(sentence: &str, max: usize) -> Vec<String> {
    let chars: Vec<char> = sentence.chars().collect();
    let mut pieces = Vec::new();
    let mut start = 0;
    while chars.len() - start > max {
        let window = &chars[start..start + max];
        let after_space = |i: usize| window[i] == ' ' && i > 0;
        let cut = (max / 2..max)
            .rev()
            .find(|&i| after_space(i) && matches!(window[i - 1], ',' | ';' | ':'))
            .or_else(|| (1..max).rev().find(|&i| after_space(i)))
            .map_or(max, |i| i + 1);
        pieces.push(
            window[..cut]
                .iter()
                .collect::<String>()
                .trim_end()
                .to_owned(),
        );
        start += cut;
    }
    pieces.push(chars[start..].iter().collect());
    pieces.retain(|p| !p.trim().is_empty());
    pieces
}

/// Punctuation eSpeak sentences carry besides phonemes.
fn is_punctuation(c: char) -> bool {
    matches!(c, '.' | ',' | ';' | ':' | '!' | '?')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_sentences_stay_whole() {
        assert_eq!(split_long("həlˈoʊ wˈɜːld.", 200), vec!["həlˈoʊ wˈɜːld."]);
    }

    #[test]
    fn long_sentences_are_cut_at_clause_marks_then_between_words() {
        let clause = "wˈʌn tˈuː θɹˈiː, ";
        let text = clause.repeat(6) + "ɛnd.";
        let pieces = split_long(&text, 40);
        assert!(pieces.iter().all(|p| p.chars().count() <= 40), "{pieces:?}");
        assert!(
            pieces[..pieces.len() - 1].iter().all(|p| p.ends_with(',')),
            "{pieces:?}"
        );
        assert_eq!(pieces.concat().replace(' ', ""), text.replace(' ', ""));

        let words = "wˈɜːd ".repeat(30);
        let pieces = split_long(&words, 40);
        assert!(pieces
            .iter()
            .all(|p| p.chars().count() <= 40 && !p.starts_with(' ')));
        assert_eq!(pieces.concat().replace(' ', ""), words.replace(' ', ""));

        let solid = "a".repeat(95);
        let pieces = split_long(&solid, 40);
        assert_eq!(
            pieces.iter().map(|p| p.len()).collect::<Vec<_>>(),
            vec![40, 40, 15]
        );
    }

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
