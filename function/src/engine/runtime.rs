//! The OpenVINO runtime: loads the C library from an explicit path (the crate's `runtime-linking`)
//! and creates the `Core` with the CPU properties every model compiles with (inference precision,
//! threads, streams, compiled-model cache), reads the CPU it runs on and the precision OpenVINO
//! really runs for the configured one, and compiles models (reading back what each runs in).
//! Owns nothing model-specific.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use openvino::{Core, DeviceType, PropertyKey, RwPropertyKey};

use super::device::{compiled_precision, read_precision, Device, Precision, PrecisionReport};
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
    /// A read-only folder of compiled models shipped with the package: its blobs are linked into
    /// `cache_dir` at start (OpenVINO picks the one made for this CPU, if any, and compiles
    /// otherwise). Ignored without `cache_dir`.
    pub cache_seed: Option<PathBuf>,
    /// Entries in the CPU plugin's per-shape kernel cache (`CPU_RUNTIME_CACHE_CAPACITY`); `None`
    /// keeps OpenVINO's default (5000). The decoder's shapes change at every step.
    pub cpu_runtime_cache: Option<u32>,
}

/// OpenVINO's own default for `CPU_RUNTIME_CACHE_CAPACITY`.
const OPENVINO_RUNTIME_CACHE: u32 = 5000;

/// CPU settings one compile may take instead of the core's (see [`Runtime::compile_overriding`]).
#[derive(Clone, Copy, Debug, Default)]
pub struct CompileOverrides {
    /// Compute in this precision instead of the configured one.
    pub precision: Option<Precision>,
    /// Entries of the per-shape kernel cache (`CPU_RUNTIME_CACHE_CAPACITY`) instead of the
    /// configured ones.
    pub runtime_cache: Option<u32>,
    /// Streams (`NUM_STREAMS`) instead of one: the configured threads are shared among them, so
    /// as many requests as streams infer at once, each on its share of the cores.
    pub streams: Option<u32>,
}

fn set_streams(core: &mut Core, streams: u32) -> Result<(), EngineError> {
    core.set_property(
        &DeviceType::CPU,
        &RwPropertyKey::NumStreams,
        &streams.to_string(),
    )
    .map_err(|source| EngineError::Setup {
        what: "streams".into(),
        source,
    })
}

fn set_runtime_cache(core: &mut Core, entries: u32) -> Result<(), EngineError> {
    core.set_property(
        &DeviceType::CPU,
        &RwPropertyKey::Other("CPU_RUNTIME_CACHE_CAPACITY".into()),
        &entries.to_string(),
    )
    .map_err(|source| EngineError::Setup {
        what: "CPU runtime cache capacity".into(),
        source,
    })
}

/// Cores a runtime holds: as many models compile at once.
const COMPILERS: usize = 2;

/// A core with the CPU properties of `options`.
fn configured_core(options: &RuntimeOptions) -> Result<Core, EngineError> {
    let mut core = Core::new().map_err(|e| EngineError::Runtime {
        path: options.library.clone(),
        reason: format!("cannot create the OpenVINO core: {e}"),
    })?;
    let setup = |what: &str| {
        let what = what.to_owned();
        move |source| EngineError::Setup { what, source }
    };
    let cpu = DeviceType::CPU;
    set_hint(&mut core, options.precision)?;
    // One stream: each utterance is a chain of small latency-bound inferences.
    set_streams(&mut core, 1)?;
    if let Some(threads) = options.threads {
        core.set_property(
            &cpu,
            &RwPropertyKey::InferenceNumThreads,
            &threads.to_string(),
        )
        .map_err(setup("inference threads"))?;
    }
    if let Some(entries) = options.cpu_runtime_cache {
        set_runtime_cache(&mut core, entries)?;
    }
    if let Some(dir) = &options.cache_dir {
        std::fs::create_dir_all(dir).map_err(|e| EngineError::ModelFolder {
            path: dir.clone(),
            reason: format!("cannot create the compiled-model cache folder: {e}"),
        })?;
        core.set_property(&cpu, &RwPropertyKey::CacheDir, &dir.to_string_lossy())
            .map_err(setup("cache folder"))?;
    }
    Ok(core)
}

/// A loaded runtime and its cores, shared by the engines that compile models with them.
pub struct Runtime {
    /// Locked while a model compiles on it (a free one is taken first).
    cores: Vec<Mutex<Core>>,
    options: RuntimeOptions,
    device: Device,
    /// The precision OpenVINO's CPU plugin took the configured one for (read back from the
    /// core: a CPU without bf16 or f16 keeps its own default).
    effective: Precision,
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
    /// Loads the C library and creates the cores configured by `options` (two: two models can
    /// compile at once, on separate cores, as the stages of a Piper voice do).
    pub fn new(options: RuntimeOptions) -> Result<Self, EngineError> {
        load_library(&options.library)?;
        if let (Some(dir), Some(seed)) = (&options.cache_dir, &options.cache_seed) {
            std::fs::create_dir_all(dir).map_err(|e| EngineError::ModelFolder {
                path: dir.clone(),
                reason: format!("cannot create the compiled-model cache folder: {e}"),
            })?;
            let linked = seed_cache(seed, dir);
            tracing::debug!(seed = %seed.display(), linked, "compiled-model cache seeded");
        }
        let cores = (0..COMPILERS)
            .map(|_| configured_core(&options))
            .collect::<Result<Vec<_>, _>>()?;
        let device = Device::read(&cores[0])?;
        let effective = hint(&cores[0])?;
        Ok(Self {
            cores: cores.into_iter().map(Mutex::new).collect(),
            options,
            device,
            effective,
        })
    }

    /// A core no other compile holds, else the first one once it is free.
    fn free_core(&self) -> std::sync::MutexGuard<'_, Core> {
        self.cores
            .iter()
            .find_map(|core| core.try_lock().ok())
            .unwrap_or_else(|| {
                self.cores[0]
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
            })
    }

    /// The CPU, as OpenVINO reports it.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// The precision asked for, and the one models compiled with it really run in.
    pub fn precision(&self) -> PrecisionReport {
        PrecisionReport::new(&self.device, self.options.precision, self.effective)
    }

    /// The options the runtime was created with.
    pub fn options(&self) -> &RuntimeOptions {
        &self.options
    }

    /// Reads a model (an IR `.xml` beside its `.bin`, or an `.onnx` file through OpenVINO's
    /// ONNX frontend) and compiles it for the CPU in the configured precision; returns it with
    /// the precision it really computes in (read back from the compiled model).
    pub fn compile(&self, xml: &Path) -> Result<(openvino::CompiledModel, Precision), EngineError> {
        self.compile_with(xml, None, CompileOverrides::default())
    }

    /// [`Self::compile`] with some of the core's CPU settings changed for this compile only
    /// (under the core's lock, restored after): a model that must not run in the configured
    /// precision, or whose per-shape kernel cache must stay small.
    pub fn compile_overriding(
        &self,
        xml: &Path,
        overrides: CompileOverrides,
    ) -> Result<(openvino::CompiledModel, Precision), EngineError> {
        self.compile_shaped(xml, overrides, None)
    }

    /// [`Self::compile_overriding`] with the input `name` reshaped to the static `dims` first:
    /// OpenVINO then prepares every node once, at compile time, instead of at every inference
    /// whose shape differs from the last.
    pub fn compile_static(
        &self,
        xml: &Path,
        overrides: CompileOverrides,
        name: &str,
        dims: &[i64],
    ) -> Result<(openvino::CompiledModel, Precision), EngineError> {
        self.compile_shaped(xml, overrides, Some((name, dims)))
    }

    fn compile_shaped(
        &self,
        xml: &Path,
        overrides: CompileOverrides,
        shape: Option<(&str, &[i64])>,
    ) -> Result<(openvino::CompiledModel, Precision), EngineError> {
        self.compile_with(
            xml,
            shape,
            CompileOverrides {
                precision: overrides.precision.filter(|p| *p != self.options.precision),
                runtime_cache: overrides
                    .runtime_cache
                    .filter(|n| Some(*n) != self.options.cpu_runtime_cache),
                streams: overrides.streams.filter(|n| *n != 1),
            },
        )
    }

    fn compile_with(
        &self,
        xml: &Path,
        shape: Option<(&str, &[i64])>,
        overrides: CompileOverrides,
    ) -> Result<(openvino::CompiledModel, Precision), EngineError> {
        let started = std::time::Instant::now();
        let bin = if xml.extension().is_some_and(|e| e == "xml") {
            xml.with_extension("bin").to_string_lossy().into_owned()
        } else {
            String::new()
        };
        let what = || format!("reading and compiling {}", xml.display());
        let mut core = self.free_core();
        let mut model = core
            .read_model_from_file(&xml.to_string_lossy(), &bin)
            .map_err(|source| EngineError::Setup {
                what: what(),
                source,
            })?;
        if let Some((name, dims)) = shape {
            openvino::PartialShape::new_static(dims.len() as i64, dims)
                .and_then(|fixed| model.reshape_input_by_name(name, &fixed))
                .map_err(|source| EngineError::Setup {
                    what: format!("{} with its input {name} reshaped to {dims:?}", what()),
                    source,
                })?;
        }
        let read = started.elapsed();
        if let Some(p) = overrides.precision {
            set_hint(&mut core, p)?;
        }
        if let Some(entries) = overrides.runtime_cache {
            set_runtime_cache(&mut core, entries)?;
        }
        if let Some(streams) = overrides.streams {
            set_streams(&mut core, streams)?;
        }
        let compiled = core.compile_model(&model, DeviceType::CPU);
        if overrides.precision.is_some() {
            set_hint(&mut core, self.options.precision)?;
        }
        if overrides.streams.is_some() {
            set_streams(&mut core, 1)?;
        }
        if overrides.runtime_cache.is_some() {
            set_runtime_cache(
                &mut core,
                self.options
                    .cpu_runtime_cache
                    .unwrap_or(OPENVINO_RUNTIME_CACHE),
            )?;
        }
        drop(core);
        let compiled = compiled.map_err(|source| EngineError::Setup {
            what: what(),
            source,
        })?;
        let runs = compiled_precision(&compiled)?;
        tracing::debug!(
            ir = %xml.display(),
            read_ms = read.as_secs_f64() * 1e3,
            compile_ms = (started.elapsed() - read).as_secs_f64() * 1e3,
            precision = %runs,
            "compiled"
        );
        Ok((compiled, runs))
    }
}

/// Links every file of `seed` that `cache` lacks into `cache` (a symbolic link: nothing is
/// copied); returns how many. A seed that cannot be read seeds nothing: the cache then fills as
/// models compile, as it would without one.
fn seed_cache(seed: &Path, cache: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(seed) else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .filter(|e| e.path().is_file())
        .filter(|e| {
            let target = cache.join(e.file_name());
            !target.exists() && std::os::unix::fs::symlink(e.path(), target).is_ok()
        })
        .count()
}

/// Sets the inference precision models compile with from now on.
fn set_hint(core: &mut Core, precision: Precision) -> Result<(), EngineError> {
    core.set_property(
        &DeviceType::CPU,
        &RwPropertyKey::HintInferencePrecision,
        precision.as_openvino(),
    )
    .map_err(|source| EngineError::Setup {
        what: "inference precision".into(),
        source,
    })
}

/// The inference precision the core's CPU plugin settled on for the configured hint.
fn hint(core: &Core) -> Result<Precision, EngineError> {
    let value = core.get_property(
        &DeviceType::CPU,
        &PropertyKey::Rw(RwPropertyKey::HintInferencePrecision),
    );
    read_precision(value, "the CPU plugin's INFERENCE_PRECISION_HINT")
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
