//! The OpenVINO runtime: loads the C library from an explicit path (the crate's `runtime-linking`)
//! and creates the `Core` with the CPU properties every model compiles with (inference precision,
//! threads, streams, compiled-model cache). Owns nothing model-specific.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use openvino::{Core, DeviceType, RwPropertyKey};

use super::EngineError;

/// File name of the OpenVINO C library in the 2026.4 wheel.
pub const OPENVINO_C_LIBRARY: &str = "libopenvino_c.so.2641";

/// Floating-point precision OpenVINO's CPU plugin computes in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// 32-bit float: matches the reference pipelines exactly.
    #[default]
    F32,
    /// bfloat16: this CPU's own default, faster for matrix products, ~2e-3 off f32.
    Bf16,
    /// 16-bit float.
    F16,
}

impl Precision {
    /// OpenVINO's name for it.
    pub fn as_openvino(self) -> &'static str {
        match self {
            Self::F32 => "f32",
            Self::Bf16 => "bf16",
            Self::F16 => "f16",
        }
    }
}

/// How to set up the runtime.
#[derive(Clone, Debug)]
pub struct RuntimeOptions {
    /// Path of `libopenvino_c.so.2641`.
    pub library: PathBuf,
    /// Inference precision (explicit: the CPU would otherwise choose bf16).
    pub precision: Precision,
    /// Threads per inference; `None` lets OpenVINO use every core.
    pub threads: Option<u32>,
    /// Folder for OpenVINO's compiled-model cache; `None` disables it.
    pub cache_dir: Option<PathBuf>,
    /// Entries in the CPU plugin's per-shape kernel cache (`CPU_RUNTIME_CACHE_CAPACITY`); `None`
    /// keeps OpenVINO's default (5000). The decoder's shapes change at every step.
    pub cpu_runtime_cache: Option<u32>,
}

/// A loaded runtime and its core, shared by the engines that compile models with it.
pub struct Runtime {
    core: Mutex<Core>,
    options: RuntimeOptions,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl Runtime {
    /// Loads the C library and creates a core configured by `options`.
    pub fn new(options: RuntimeOptions) -> Result<Self, EngineError> {
        load_library(&options.library)?;
        let mut core = Core::new().map_err(|e| EngineError::Runtime {
            path: options.library.clone(),
            reason: format!("cannot create the OpenVINO core: {e}"),
        })?;
        let setup = |what: &str| {
            let what = what.to_owned();
            move |source| EngineError::Setup { what, source }
        };
        let cpu = DeviceType::CPU;
        core.set_property(
            &cpu,
            &RwPropertyKey::HintInferencePrecision,
            options.precision.as_openvino(),
        )
        .map_err(setup("inference precision"))?;
        // One stream: each utterance is a chain of small latency-bound inferences.
        core.set_property(&cpu, &RwPropertyKey::NumStreams, "1")
            .map_err(setup("streams"))?;
        if let Some(threads) = options.threads {
            core.set_property(
                &cpu,
                &RwPropertyKey::InferenceNumThreads,
                &threads.to_string(),
            )
            .map_err(setup("inference threads"))?;
        }
        if let Some(entries) = options.cpu_runtime_cache {
            core.set_property(
                &cpu,
                &RwPropertyKey::Other("CPU_RUNTIME_CACHE_CAPACITY".into()),
                &entries.to_string(),
            )
            .map_err(setup("CPU runtime cache capacity"))?;
        }
        if let Some(dir) = &options.cache_dir {
            std::fs::create_dir_all(dir).map_err(|e| EngineError::ModelFolder {
                path: dir.clone(),
                reason: format!("cannot create the compiled-model cache folder: {e}"),
            })?;
            core.set_property(&cpu, &RwPropertyKey::CacheDir, &dir.to_string_lossy())
                .map_err(setup("cache folder"))?;
        }
        Ok(Self {
            core: Mutex::new(core),
            options,
        })
    }

    /// The options the runtime was created with.
    pub fn options(&self) -> &RuntimeOptions {
        &self.options
    }

    /// Reads a model (an IR `.xml` beside its `.bin`, or an `.onnx` file through OpenVINO's
    /// ONNX frontend) and compiles it for the CPU.
    pub fn compile(&self, xml: &Path) -> Result<openvino::CompiledModel, EngineError> {
        let started = std::time::Instant::now();
        let bin = if xml.extension().is_some_and(|e| e == "xml") {
            xml.with_extension("bin").to_string_lossy().into_owned()
        } else {
            String::new()
        };
        let what = || format!("reading and compiling {}", xml.display());
        let mut core = self
            .core
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let model = core
            .read_model_from_file(&xml.to_string_lossy(), &bin)
            .map_err(|source| EngineError::Setup {
                what: what(),
                source,
            })?;
        let read = started.elapsed();
        let compiled = core
            .compile_model(&model, DeviceType::CPU)
            .map_err(|source| EngineError::Setup {
                what: what(),
                source,
            })?;
        tracing::debug!(
            ir = %xml.display(),
            read_ms = read.as_secs_f64() * 1e3,
            compile_ms = (started.elapsed() - read).as_secs_f64() * 1e3,
            "compiled"
        );
        Ok(compiled)
    }
}

/// Loads the OpenVINO C library from `path` (a second load is a no-op).
fn load_library(path: &Path) -> Result<(), EngineError> {
    if !path.is_file() {
        return Err(EngineError::Runtime {
            path: path.to_owned(),
            reason: "not found".into(),
        });
    }
    openvino_sys::library::load_from(path.to_owned()).map_err(|reason| EngineError::Runtime {
        path: path.to_owned(),
        reason,
    })
}
