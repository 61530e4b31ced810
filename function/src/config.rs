//! The function's configuration: one type, read from command-line flags and environment
//! variables (every flag has one), validated at start. `--help` lists them all.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::Parser;

use crate::engine::{Precision, RuntimeOptions, OPENVINO_C_LIBRARY};

/// The repository this binary was built from (for development defaults).
const REPO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

/// Configuration of the speech function.
#[derive(Clone, Debug, Parser)]
#[command(
    name = "bootstrap",
    version,
    about = "OpenAI-compatible text-to-speech (SpeechT5 on OpenVINO), as an AWS Lambda function or a local HTTP server"
)]
pub struct Config {
    /// Path of OpenVINO's C library. Default: `openvino/lib/` beside the executable, else
    /// `/opt/openvino/lib/` (a Lambda layer), else the repository's `.openvino/lib/`.
    #[arg(long, env = "OPENVINO_LIB", default_value_os_t = default_openvino_lib())]
    pub openvino_lib: PathBuf,

    /// SpeechT5 export folder (optimum-intel layout). Default: the repository's tiny
    /// random-weight test model, which exercises the pipeline but speaks noise.
    #[arg(long, env = "TTS_MODEL_DIR", default_value_os_t = PathBuf::from(REPO).join("tests/fixtures/speecht5-tiny/model"))]
    pub model_dir: PathBuf,

    /// Names clients may use for the model, comma-separated; the first is its id in `/v1/models`.
    /// OpenAI's own names are included so code written for OpenAI runs unchanged.
    #[arg(
        long,
        env = "TTS_MODEL_NAMES",
        value_delimiter = ',',
        default_value = "speecht5,microsoft/speecht5_tts,tts-1,tts-1-hd,gpt-4o-mini-tts"
    )]
    pub model_names: Vec<String>,

    /// Inference precision. f32 matches the reference pipelines; this CPU would pick bf16.
    #[arg(long, env = "TTS_PRECISION", value_enum, default_value_t = Precision::F32)]
    pub precision: Precision,

    /// Threads per inference (default: all cores).
    #[arg(long, env = "TTS_THREADS")]
    pub threads: Option<u32>,

    /// Folder for OpenVINO's compiled-model cache (speeds up later cold starts). Default: none.
    #[arg(long, env = "TTS_CACHE_DIR")]
    pub cache_dir: Option<PathBuf>,

    /// Most utterances synthesized at once per model. Each concurrent utterance needs its own
    /// compiled copy of the model (compiled when first needed), so memory grows with this.
    #[arg(long, env = "TTS_SLOTS", default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..))]
    pub slots: u16,

    /// Address of the local HTTP server (ignored inside Lambda).
    #[arg(long, env = "TTS_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,

    /// Longest accepted `input`, in characters.
    #[arg(long, env = "TTS_MAX_INPUT_CHARS", default_value_t = 4096)]
    pub max_input_chars: usize,
}

impl Config {
    /// Runtime options derived from the configuration.
    pub fn runtime_options(&self) -> RuntimeOptions {
        RuntimeOptions {
            library: self.openvino_lib.clone(),
            precision: self.precision,
            threads: self.threads,
            cache_dir: self.cache_dir.clone(),
        }
    }
}

fn default_openvino_lib() -> PathBuf {
    let beside_exe = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join("openvino/lib")));
    let candidates = beside_exe
        .into_iter()
        .chain([
            PathBuf::from("/opt/openvino/lib"),
            Path::new(REPO).join(".openvino/lib"),
        ])
        .map(|dir| dir.join(OPENVINO_C_LIBRARY))
        .collect::<Vec<_>>();
    let fallback = candidates.last().cloned().expect("candidates");
    let found = candidates
        .into_iter()
        .find(|p| p.is_file())
        .unwrap_or(fallback);
    // Report the path without `..` so error messages name a real folder.
    std::path::absolute(&found)
        .map(|p| normalize(&p))
        .unwrap_or(found)
}

/// Removes `.` and `..` components lexically.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}
