//! A Piper voice run as two stages: the front stage (text encoder, duration predictor, frame
//! counts, flow: phoneme ids → latent z `[1, channels, frames]` and frames per id) and the decoder
//! stage (the HiFi-GAN generator: z → 256 samples per frame), decoded in overlapping windows
//! ([`super::windows`]). Owns finding the stages beside a voice, compiling them, and running them.
//!
//! The stages are cut from the voice's own `.onnx` at set-up by `function/scripts/split-piper.py`
//! (pinned `onnx`), which checks that with the noise scales at 0 the two stages give the whole
//! model's output; it writes `two-stage/front.onnx`, `decoder.onnx` and `split.json` into the
//! voice folder. At load [`Split::find`] checks that `split.json` was cut from the voice file
//! beside it (size and a hash of its head); anything amiss is a reason to run the voice whole.
//! A voice folder may also hold the stages alone (the Lambda package does: the whole model would
//! double the voice's size), and then there is no whole graph to fall back to.
//!
//! Both cores at work: the decoder is compiled twice, once on one stream with every thread (a
//! window alone, the first of a stream) and once on two streams with a thread each, where two
//! windows decode at once (measured on the joe voice: two windows on one thread each decode
//! faster than one after the other on two threads; see `bench`).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use openvino::{CompiledModel, ElementType, InferRequest, Tensor};
use serde::Deserialize;

use super::windows::{plan, Window, WindowSizes, SIZES};
use crate::engine::ov::{infer, shape, tensor};
use crate::engine::pool::Pool;
use crate::engine::{CompileOverrides, EngineError, Runtime};

const FRONT: &str = "Piper front stage";
const DECODER: &str = "Piper decoder stage";
/// The folder of the stages inside a voice folder.
pub const FOLDER: &str = "two-stage";
/// Bytes of the voice file `split.json` fingerprints (with its size), as split-piper.py does.
const FINGERPRINT_BYTES: usize = 4 << 20;
/// `TTS_PIPER_PAIRS=true` decodes two consecutive windows of the largest size at once, on a
/// thread each, instead of every window alone on every thread. Off by default: on the Intel Xeon
/// of 2026-12-04 both measured the same (paired against piper-tts: 1.16 vs 1.20 on a short text,
/// 1.06 vs 1.03 and 1.05 vs 1.05 on longer ones), and the pair's model costs a compile at start.
pub const PAIRS_ENV: &str = "TTS_PIPER_PAIRS";
/// How long a window's asynchronous inference may take before it counts as failed.
const WAIT_MS: i64 = 600_000;

/// `two-stage/split.json`.
#[derive(Debug, Deserialize)]
struct SplitFile {
    source: String,
    source_fingerprint: Fingerprint,
    latent: String,
    frames_per_id: String,
    hop: usize,
    /// Channels of the latent `[1, channels, frames]`.
    channels: usize,
    front: String,
    decoder: String,
    #[serde(default)]
    level: Option<Level>,
}

/// The voice's level as split-piper.py measured it.
#[derive(Debug, Deserialize)]
struct Level {
    peak: f32,
}

#[derive(Debug, Deserialize, PartialEq, Eq)]
struct Fingerprint {
    bytes: u64,
    head_sha256: String,
    head_bytes: usize,
}

/// The two stages of a voice, found and checked (not compiled).
#[derive(Debug)]
pub struct Split {
    pub front: PathBuf,
    pub decoder: PathBuf,
    latent: String,
    frames_per_id: String,
    hop: usize,
    channels: usize,
    /// The peak of the whole model's noise-free reading of a fixed sentence, when split.json
    /// records it.
    pub level_peak: Option<f32>,
}

impl Split {
    /// The stages cut from `model` (the voice's `.onnx`, or its IR export beside the `.onnx`
    /// they were cut from), or why there are none usable: the reason is logged and the voice
    /// runs whole.
    pub fn find(dir: &Path, model: &Path) -> Result<Self, String> {
        let folder = dir.join(FOLDER);
        let meta = folder.join("split.json");
        let text = std::fs::read_to_string(&meta).map_err(|_| {
            format!(
                "no {FOLDER}/split.json in the voice folder (function/scripts/setup-piper.sh cuts the voice into its two stages)"
            )
        })?;
        let split: SplitFile = serde_json::from_str(&text)
            .map_err(|e| format!("{FOLDER}/split.json is not readable: {e}"))?;
        if Path::new(&split.source).file_name() != Some(std::ffi::OsStr::new(&split.source)) {
            return Err(format!(
                "{FOLDER}/split.json names {:?} as its source, not a file beside it",
                split.source
            ));
        }
        let source = dir.join(&split.source);
        if source.is_file() {
            let found =
                fingerprint(&source).map_err(|e| format!("cannot read {}: {e}", split.source))?;
            if found != split.source_fingerprint {
                return Err(format!(
                    "{FOLDER}/ was cut from another {} (the voice file changed since; run function/scripts/setup-piper.sh again)",
                    split.source
                ));
            }
        } else if model.is_file() && model.extension().is_some_and(|e| e == "onnx") {
            return Err(format!(
                "{FOLDER}/ was cut from {}, not from {}",
                split.source,
                model.file_name().unwrap_or_default().to_string_lossy()
            ));
        }
        let part = |name: &str| {
            let path = folder.join(name);
            if name.contains('/') || !path.is_file() {
                Err(format!("{FOLDER}/{name} is missing"))
            } else {
                Ok(path)
            }
        };
        if split.hop == 0 || split.channels == 0 {
            return Err(format!(
                "{FOLDER}/split.json says hop {} and channels {}",
                split.hop, split.channels
            ));
        }
        Ok(Self {
            front: part(&split.front)?,
            decoder: part(&split.decoder)?,
            latent: split.latent,
            frames_per_id: split.frames_per_id,
            hop: split.hop,
            channels: split.channels,
            level_peak: split
                .level
                .map(|l| l.peak)
                .filter(|p| p.is_finite() && *p > 0.0),
        })
    }
}

/// The voice file the stages in `dir` were cut from, as their split.json names it (the file
/// itself may be absent: a package ships the stages alone).
pub fn source_of(dir: &Path) -> Option<PathBuf> {
    let text = std::fs::read_to_string(dir.join(FOLDER).join("split.json")).ok()?;
    let split: SplitFile = serde_json::from_str(&text).ok()?;
    let name = Path::new(&split.source).file_name()?;
    (name == split.source.as_str()).then(|| dir.join(name))
}

/// Size and SHA-256 of the head of `path`, as split-piper.py records them.
fn fingerprint(path: &Path) -> std::io::Result<Fingerprint> {
    use sha2::Digest;
    use std::io::Read;
    let bytes = std::fs::metadata(path)?.len();
    let mut head = Vec::with_capacity(FINGERPRINT_BYTES);
    std::fs::File::open(path)?
        .take(FINGERPRINT_BYTES as u64)
        .read_to_end(&mut head)?;
    let hash = sha2::Sha256::digest(&head);
    Ok(Fingerprint {
        bytes,
        head_sha256: hash.iter().map(|b| format!("{b:02x}")).collect(),
        head_bytes: head.len(),
    })
}

/// One compiled model and the infer requests made from it.
struct Stage {
    model: Mutex<CompiledModel>,
    requests: Pool<InferRequest>,
    stage: &'static str,
}

impl Stage {
    fn compile(
        runtime: &Runtime,
        path: &Path,
        overrides: CompileOverrides,
        shape: Option<(&str, &[i64])>,
        slots: usize,
        stage: &'static str,
    ) -> Result<(Self, crate::engine::Precision), EngineError> {
        let (mut model, precision) = match shape {
            Some((name, dims)) => runtime.compile_static(path, overrides, name, dims)?,
            None => runtime.compile_overriding(path, overrides)?,
        };
        // Every request the pool may lend, made now: each holds its own working memory, and
        // the process should reach its working set at start, not under load.
        let requests = (0..slots.max(1))
            .map(|_| model.create_infer_request().map_err(infer(stage)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok((
            Self {
                model: Mutex::new(model),
                requests: Pool::new(slots, requests),
                stage,
            },
            precision,
        ))
    }

    fn request(&self) -> Result<crate::engine::pool::Pooled<'_, InferRequest>, EngineError> {
        self.requests.take(|| {
            self.model
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .create_infer_request()
                .map_err(infer(self.stage))
        })
    }
}

/// The decoder compiled for one static window size, on one stream with every thread.
struct Decoder {
    size: usize,
    stage: Stage,
}

/// The compiled stages of a voice.
pub struct Stages {
    split: Split,
    front: Stage,
    /// The decoder with a dynamic shape, on one stream with every thread: a sentence too short
    /// for the smallest window. (Compiled at start with the others, beside the front stage: the
    /// soak measured 71 MB of growth when it compiled at the first short sentence instead.)
    solo: Stage,
    runtime: Arc<Runtime>,
    /// The decoder for each of [`SIZES`].
    decoders: Vec<Decoder>,
    /// The decoder for the largest size on two streams, a thread each: two consecutive windows
    /// of that size decode at once (`None` when pairs are off, see [`PAIRS_ENV`]).
    pair: Option<Stage>,
    overrides: CompileOverrides,
    slots: usize,
}

/// The front stage's output for one sentence: the latent (still in the front stage's infer
/// request, borrowed, not copied) and the frames each phoneme id got.
pub struct Front<'a> {
    request: crate::engine::pool::Pooled<'a, InferRequest>,
    latent_name: &'a str,
    /// Frames per phoneme id, in id order; they sum to `frames`.
    pub frames_per_id: Vec<u32>,
    /// Frames of the latent.
    pub frames: usize,
    channels: usize,
    /// Time the front stage took.
    pub took: Duration,
}

impl Stages {
    /// Compiles the stages of `split` with `overrides`; up to `slots` sentences at once.
    pub fn compile(
        runtime: &Arc<Runtime>,
        split: Split,
        overrides: CompileOverrides,
        slots: usize,
    ) -> Result<(Self, crate::engine::Precision), EngineError> {
        // The front stage and the decoders compile at once, on two of the runtime's cores (the
        // front stage is most of the time; the decoders fit beside it).
        let channels = split.channels as i64;
        let (front, decoders) = std::thread::scope(|scope| {
            let decoders = scope.spawn(|| -> Result<_, EngineError> {
                let solo =
                    Stage::compile(runtime, &split.decoder, overrides, None, slots, DECODER)?.0;
                let mut decoders = Vec::new();
                for &size in &SIZES {
                    let dims = [1, channels, size as i64];
                    let shape = Some((split.latent.as_str(), &dims[..]));
                    let (stage, _) =
                        Stage::compile(runtime, &split.decoder, overrides, shape, slots, DECODER)?;
                    decoders.push(Decoder { size, stage });
                }
                Ok((solo, decoders))
            });
            let front = Stage::compile(runtime, &split.front, overrides, None, slots, FRONT);
            let decoders = decoders
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (front, decoders)
        });
        let (front, precision) = front?;
        let (solo, decoders) = decoders?;
        if latent_channels(&front, &split.latent)? != channels {
            return Err(EngineError::Output {
                stage: FRONT,
                reason: "the latent's channels differ between the front stage and split.json"
                    .into(),
            });
        }
        let pair = if pairs_wanted() {
            let largest = SIZES[SIZES.len() - 1] as i64;
            let dims = [1, channels, largest];
            let two = CompileOverrides {
                streams: Some(2),
                ..overrides
            };
            let shape = Some((split.latent.as_str(), &dims[..]));
            Some(Stage::compile(runtime, &split.decoder, two, shape, 2 * slots, DECODER)?.0)
        } else {
            None
        };
        let stages = Self {
            split,
            front,
            solo,
            runtime: Arc::clone(runtime),
            decoders,
            pair,
            overrides,
            slots,
        };
        stages.check_ports()?;
        Ok((stages, precision))
    }

    /// Compiles the stages again (after a snapshot restore, for fresh random state).
    pub fn recompile(&self) -> Result<Self, EngineError> {
        let runtime = &self.runtime;
        let split = Split {
            front: self.split.front.clone(),
            decoder: self.split.decoder.clone(),
            latent: self.split.latent.clone(),
            frames_per_id: self.split.frames_per_id.clone(),
            hop: self.split.hop,
            channels: self.split.channels,
            level_peak: self.split.level_peak,
        };
        Ok(Self::compile(runtime, split, self.overrides, self.slots)?.0)
    }

    fn check_ports(&self) -> Result<(), EngineError> {
        let front = self
            .front
            .model
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        for name in ["input", "input_lengths", "scales"] {
            front.get_input_by_name(name).map_err(infer(FRONT))?;
        }
        for name in [&self.split.latent, &self.split.frames_per_id] {
            front.get_output_by_name(name).map_err(infer(FRONT))?;
        }
        let decoder = self.decoders[0]
            .stage
            .model
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        decoder
            .get_input_by_name(&self.split.latent)
            .map_err(infer(DECODER))?;
        decoder
            .get_output_by_name("output")
            .map_err(infer(DECODER))?;
        Ok(())
    }

    /// The voice's level peak from split.json, if it has one.
    pub fn level_peak(&self) -> Option<f32> {
        self.split.level_peak
    }

    /// Samples per latent frame.
    pub fn hop(&self) -> usize {
        self.split.hop
    }

    /// Runs the front stage on one sentence's phoneme ids.
    pub fn front(&self, ids: &[i64], scales: [f32; 3]) -> Result<Front<'_>, EngineError> {
        let n = ids.len() as i64;
        let input = tensor(ElementType::I64, &[1, n], ids).map_err(infer(FRONT))?;
        let lengths = tensor(ElementType::I64, &[1], &[n]).map_err(infer(FRONT))?;
        let scales = tensor(ElementType::F32, &[3], &scales).map_err(infer(FRONT))?;
        let mut request = self.front.request()?;
        request.set_tensor("input", &input).map_err(infer(FRONT))?;
        request
            .set_tensor("input_lengths", &lengths)
            .map_err(infer(FRONT))?;
        request
            .set_tensor("scales", &scales)
            .map_err(infer(FRONT))?;
        let started = Instant::now();
        request.infer().map_err(infer(FRONT))?;
        let took = started.elapsed();
        let counts = request
            .get_tensor(&self.split.frames_per_id)
            .map_err(infer(FRONT))?;
        let frames_per_id: Vec<u32> = counts
            .get_data::<f32>()
            .map_err(infer(FRONT))?
            .iter()
            .map(|f| f.max(0.0) as u32)
            .collect();
        let latent = request
            .get_tensor(&self.split.latent)
            .map_err(infer(FRONT))?;
        let dims = latent.get_shape().map_err(infer(FRONT))?;
        let (channels, frames) = match dims.get_dimensions() {
            [1, c, f] => (*c as usize, *f as usize),
            other => {
                return Err(EngineError::Output {
                    stage: FRONT,
                    reason: format!("latent of shape {other:?}, expected [1, channels, frames]"),
                })
            }
        };
        let counted: usize = frames_per_id.iter().map(|&f| f as usize).sum();
        if counted != frames {
            return Err(EngineError::Output {
                stage: FRONT,
                reason: format!("frame counts sum to {counted}, the latent has {frames} frames"),
            });
        }
        Ok(Front {
            request,
            latent_name: &self.split.latent,
            frames_per_id,
            frames,
            channels,
            took,
        })
    }

    /// Decodes `front`'s latent in windows (see [`plan`]; the first no larger than `first`),
    /// handing each window's kept audio to `emit` in order (with its first sample's position in
    /// the sentence); stops early when `emit` returns false. Consecutive windows of a two-stream
    /// size decode two at a time, a thread each. Returns the decoder's time.
    pub fn decode(
        &self,
        front: &Front<'_>,
        first: WindowSizes,
        emit: &mut dyn FnMut(&[f32], usize) -> bool,
    ) -> Result<Duration, EngineError> {
        let started = Instant::now();
        let latent = front
            .request
            .get_tensor(front.latent_name)
            .map_err(infer(FRONT))?;
        let z = latent.get_data::<f32>().map_err(infer(FRONT))?;
        let windows = plan(front.frames, first, &SIZES);
        let hop = self.split.hop;
        let mut at = 0;
        let mut rest = windows.as_slice();
        while let Some(window) = rest.first() {
            let size = window.input.len();
            let largest = SIZES[SIZES.len() - 1];
            let pair = match (&self.pair, rest.get(1)) {
                (Some(pair), Some(next)) if size == largest && next.input.len() == largest => {
                    Some((pair, next))
                }
                _ => None,
            };
            let Some((stage, next)) = pair else {
                let stage = self
                    .decoders
                    .iter()
                    .find(|d| d.size == size)
                    .map_or(&self.solo, |d| &d.stage);
                let mut request = stage.request()?;
                self.set_window(&mut request, z, front, window)?;
                request.infer().map_err(infer(DECODER))?;
                if !emit_kept(&request, window, hop, &mut at, emit)? {
                    break;
                }
                rest = &rest[1..];
                continue;
            };
            let mut one = stage.request()?;
            let mut two = stage.request()?;
            self.set_window(&mut one, z, front, window)?;
            self.set_window(&mut two, z, front, next)?;
            one.infer_async().map_err(infer(DECODER))?;
            let started_two = two.infer_async().map_err(infer(DECODER));
            let waited_one = one.wait(WAIT_MS).map_err(infer(DECODER));
            if started_two.is_ok() {
                two.wait(WAIT_MS).map_err(infer(DECODER))?;
            }
            started_two?;
            waited_one?;
            if !emit_kept(&one, window, hop, &mut at, emit)?
                || !emit_kept(&two, next, hop, &mut at, emit)?
            {
                break;
            }
            rest = &rest[2..];
        }
        Ok(started.elapsed())
    }

    /// Copies a window of the latent (`[1, channels, frames]`, frames contiguous per channel)
    /// into a decoder input: the one copy the windows need.
    fn set_window(
        &self,
        request: &mut InferRequest,
        z: &[f32],
        front: &Front<'_>,
        window: &Window,
    ) -> Result<(), EngineError> {
        let width = window.input.len();
        let mut input = Tensor::new(
            ElementType::F32,
            &shape(&[1, front.channels as i64, width as i64]).map_err(infer(DECODER))?,
        )
        .map_err(infer(DECODER))?;
        let data = input.get_data_mut::<f32>().map_err(infer(DECODER))?;
        for (c, row) in data.chunks_exact_mut(width).enumerate() {
            let from = c * front.frames + window.input.start;
            row.copy_from_slice(&z[from..from + width]);
        }
        request
            .set_tensor(&self.split.latent, &input)
            .map_err(infer(DECODER))
    }
}

/// Whether two windows decode at once (see [`PAIRS_ENV`]; on unless it says false, 0 or off).
fn pairs_wanted() -> bool {
    !matches!(
        std::env::var(PAIRS_ENV)
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref(),
        Ok("false" | "0" | "off" | "no")
    )
}

/// Channels of the front stage's latent output (`[1, channels, frames]`), from its compiled shape.
fn latent_channels(front: &Stage, latent: &str) -> Result<i64, EngineError> {
    let model = front.model.lock().unwrap_or_else(PoisonError::into_inner);
    let port = model.get_output_by_name(latent).map_err(infer(FRONT))?;
    let shape = port.get_partial_shape().map_err(infer(FRONT))?;
    match shape.get_dimensions() {
        [_, channels, _] if !channels.is_dynamic() => Ok(channels.get_min()),
        _ => Err(EngineError::Output {
            stage: FRONT,
            reason: format!("the latent {latent} is not [1, channels, frames] with known channels"),
        }),
    }
}

/// Hands the kept part of a decoded window to `emit`.
fn emit_kept(
    request: &InferRequest,
    window: &Window,
    hop: usize,
    at: &mut usize,
    emit: &mut dyn FnMut(&[f32], usize) -> bool,
) -> Result<bool, EngineError> {
    let output = request.get_tensor("output").map_err(infer(DECODER))?;
    let audio = output.get_data::<f32>().map_err(infer(DECODER))?;
    let keep = window.keep_in_window();
    let (from, to) = (keep.start * hop, keep.end * hop);
    if audio.len() < to {
        return Err(EngineError::Output {
            stage: DECODER,
            reason: format!(
                "{} samples for a window of {} frames",
                audio.len(),
                window.input.len()
            ),
        });
    }
    let offset = *at;
    *at += to - from;
    Ok(emit(&audio[from..to], offset))
}
