//! The OpenVINO runtime: loads the C library from an explicit path (the crate's `runtime-linking`)
//! and creates the `Core` with the CPU properties every model compiles with (inference precision,
//! threads, streams, compiled-model cache), reads the CPU it runs on, and records what precision
//! the models it compiles really run in. Owns nothing model-specific.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use openvino::{Core, DeviceType, RwPropertyKey};

use super::device::{compiled_precision, Device, Precision, PrecisionReport};
use super::EngineError;

/// File name of the OpenVINO C library in the 2026.4 wheel.
pub const OPENVINO_C_LIBRARY: &str = "libopenvino_c.so.2641";

/// How to set up the runtime.
#[derive(Clone, Debug)]
pub struct RuntimeOptions {
    /// Path of `libopenvino_c.so.2641`.
    pub library: PathBuf,
    /// Inference precision, set explicitly (OpenVINO would choose bf16 on a CPU that has it and
    /// f32 elsewhere); a CPU without it runs f32, which [`Runtime::precision`] reports.
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
    device: Device,
    /// The precision the compiled models run in, read back from the first one compiled.
    effective: Mutex<Option<Precision>>,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("options", &self.options)
            .field("device", &self.device)
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
        let device = Device::read(&core)?;
        Ok(Self {
            core: Mutex::new(core),
            options,
            device,
            effective: Mutex::new(None),
        })
    }

    /// The CPU, as OpenVINO reports it.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// The precision asked for and the one the models compiled so far really run in.
    pub fn precision(&self) -> PrecisionReport {
        let effective = *self
            .effective
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        PrecisionReport::new(&self.device, self.options.precision, effective)
    }

    /// The options the runtime was created with.
    pub fn options(&self) -> &RuntimeOptions {
        &self.options
    }

    /// Reads a model (an IR `.xml` beside its `.bin`, or an `.onnx` file through OpenVINO's
    /// ONNX frontend) and compiles it for the CPU; returns it with the precision it really
    /// computes in (read back from the compiled model).
    pub fn compile(&self, xml: &Path) -> Result<(openvino::CompiledModel, Precision), EngineError> {
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
        drop(core);
        let precision = compiled_precision(&compiled)?;
        {
            let mut effective = self
                .effective
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            match *effective {
                None => *effective = Some(precision),
                // One core, one hint: every model should agree. Report it if one does not.
                Some(first) if first != precision => tracing::warn!(
                    ir = %xml.display(), %precision, first = %first,
                    "this model runs in another precision than the models compiled before it"
                ),
                Some(_) => {}
            }
        }
        tracing::debug!(
            ir = %xml.display(),
            read_ms = read.as_secs_f64() * 1e3,
            compile_ms = (started.elapsed() - read).as_secs_f64() * 1e3,
            %precision,
            "compiled"
        );
        Ok((compiled, precision))
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
