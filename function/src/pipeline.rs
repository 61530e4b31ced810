//! The pipeline: every configured model, built once per process (per warm Lambda container) in a
//! global `once_cell` and shared by all requests. Owns the mapping from client-facing model and
//! voice names to engines and their voices; its public surface has no OpenVINO types.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use once_cell::sync::OnceCell;

use crate::config::{Family, ModelSettings, Settings};
use crate::engine::piper::Piper;
use crate::engine::speecht5::SpeechT5;
use crate::engine::{EngineError, PrecisionReport, Runtime, RuntimeOptions, SpeechEngine};
use crate::text::espeak::{Espeak, EspeakConfig};

static PIPELINE: OnceCell<Pipeline> = OnceCell::new();

/// OpenAI's voice names, which every model answers to through its voice table.
pub const OPENAI_VOICES: [&str; 13] = [
    "alloy", "ash", "ballad", "coral", "echo", "fable", "onyx", "nova", "sage", "shimmer", "verse",
    "marin", "cedar",
];

/// A model as clients see it.
#[derive(Clone)]
pub struct ServedModel {
    /// The id listed in `/v1/models`.
    pub id: String,
    /// Every name that resolves to it (the id first).
    pub names: Vec<String>,
    /// The engine.
    pub engine: Arc<dyn SpeechEngine>,
    /// Client voice name → engine voice (the engine's own voices map to themselves).
    pub voices: BTreeMap<String, String>,
    /// Engine voice used when none is given, or for an unknown one on `/v3`.
    pub default_voice: String,
}

impl ServedModel {
    /// The engine voice a client voice name stands for.
    pub fn voice(&self, name: &str) -> Option<&str> {
        self.voices.get(name).map(String::as_str)
    }
}

/// The models this process serves.
#[derive(Clone, Default)]
pub struct Models {
    served: Vec<ServedModel>,
    by_name: HashMap<String, usize>,
}

impl Models {
    /// Adds an engine under its configured names and voice table; unknown voices in the table
    /// are a configuration error.
    pub fn add(
        &mut self,
        settings: &ModelSettings,
        engine: Arc<dyn SpeechEngine>,
    ) -> Result<(), String> {
        let info = engine.info();
        let own: Vec<&String> = info.voices.iter().collect();
        if own.is_empty() {
            return Err(format!("model {:?} has no voices", settings.id));
        }
        let mut voices: BTreeMap<String, String> =
            own.iter().map(|v| ((*v).clone(), (*v).clone())).collect();
        // OpenAI's names spread over the model's voices, unless the table says otherwise.
        for (i, name) in OPENAI_VOICES.iter().enumerate() {
            voices
                .entry((*name).to_owned())
                .or_insert_with(|| own[i % own.len()].clone());
        }
        for (name, target) in &settings.voices {
            if !info.voices.contains(target) {
                return Err(format!(
                    "model {:?}: voice {name:?} maps to {target:?}, which is not one of its voices {:?}",
                    settings.id, info.voices
                ));
            }
            voices.insert(name.clone(), target.clone());
        }
        let default_voice = match &settings.default_voice {
            Some(v) => voices.get(v).cloned().ok_or_else(|| {
                format!(
                    "model {:?}: default_voice {v:?} is not one of its voices",
                    settings.id
                )
            })?,
            None => info.default_voice.clone(),
        };
        let index = self.served.len();
        let names: Vec<String> = std::iter::once(settings.id.clone())
            .chain(settings.aliases.iter().cloned())
            .collect();
        for name in &names {
            self.by_name.insert(name.clone(), index);
        }
        self.served.push(ServedModel {
            id: settings.id.clone(),
            names,
            engine,
            voices,
            default_voice,
        });
        Ok(())
    }

    /// The model a client-facing name refers to.
    pub fn resolve(&self, name: &str) -> Option<&ServedModel> {
        self.by_name.get(name).map(|&i| &self.served[i])
    }

    /// All served models.
    pub fn all(&self) -> &[ServedModel] {
        &self.served
    }
}

/// Where start-up time went.
#[derive(Clone, Copy, Debug, Default, serde::Serialize)]
pub struct StartupTimings {
    /// Loading the OpenVINO library and creating its core, in milliseconds.
    pub runtime_ms: f64,
    /// Reading and compiling every model (first slot each), in milliseconds.
    pub models_ms: f64,
    /// Starting eSpeak NG's helper (part of `models_ms`; 0 without a Piper voice).
    pub espeak_ms: f64,
}

/// What the models run on, for the discovery routes: the CPU, the precision asked for and the one
/// really running, and the threads per inference.
#[derive(Clone, Debug, serde::Serialize)]
pub struct RuntimeInfo {
    /// The CPU and the precisions (asked for, running, supported).
    pub precision: PrecisionReport,
    /// Threads per inference (`None`: every core).
    pub threads: Option<u32>,
}

/// The runtime and its models.
pub struct Pipeline {
    runtime: Arc<Runtime>,
    models: Models,
    load_time: Duration,
    startup: StartupTimings,
    /// Each model's id and load time in milliseconds, in order.
    model_ms: Vec<(String, f64)>,
}

impl Pipeline {
    /// The process-wide pipeline, built on first call (later calls return it unchanged).
    pub fn global(
        runtime: RuntimeOptions,
        settings: &Settings,
    ) -> Result<&'static Pipeline, EngineError> {
        PIPELINE.get_or_try_init(|| Self::build(runtime, settings))
    }

    /// Builds a pipeline: loads the runtime, then every configured model.
    pub fn build(runtime: RuntimeOptions, settings: &Settings) -> Result<Self, EngineError> {
        let started = Instant::now();
        let runtime = Arc::new(Runtime::new(runtime)?);
        let runtime_ms = started.elapsed().as_secs_f64() * 1e3;
        let mut models = Models::default();
        // One eSpeak NG process serves every Piper voice; started only if one is configured.
        let mut espeak: Option<Arc<Espeak>> = None;
        let mut espeak_ms = 0.0;
        let mut model_ms = Vec::new();
        let slots = settings.limits.slots;
        for model in &settings.models {
            let model_started = Instant::now();
            let engine: Arc<dyn SpeechEngine> = match model.family {
                Family::Speecht5 => Arc::new(SpeechT5::load(&runtime, &model.dir, slots)?),
                Family::Piper => {
                    let espeak = match &espeak {
                        Some(e) => Arc::clone(e),
                        None => {
                            let espeak_started = Instant::now();
                            let started = EspeakConfig::discover()
                                .and_then(|config| Espeak::start(&config))
                                .map(Arc::new)
                                .map_err(|e| EngineError::Phonemizer(e.to_string()))?;
                            espeak_ms = espeak_started.elapsed().as_secs_f64() * 1e3;
                            espeak.insert(started).clone()
                        }
                    };
                    Arc::new(Piper::load(&runtime, &model.dir, slots, espeak)?)
                }
            };
            // Debug builds only: TTS_FAULTS makes chosen inputs fail or panic (reliability tests).
            #[cfg(debug_assertions)]
            let engine = match crate::engine::faults::Faults::from_env() {
                Some(faults) => faults.wrap(engine),
                None => engine,
            };
            model_ms.push((
                model.id.clone(),
                model_started.elapsed().as_secs_f64() * 1e3,
            ));
            models
                .add(model, engine)
                .map_err(|reason| EngineError::ModelFolder {
                    path: model.dir.clone(),
                    reason,
                })?;
        }
        // Said once, after every model is compiled and has told what it really runs in.
        if let Some(warning) = runtime.precision().fallback_warning() {
            tracing::warn!("{warning}");
        }
        let load_time = started.elapsed();
        let startup = StartupTimings {
            runtime_ms,
            models_ms: load_time.as_secs_f64() * 1e3 - runtime_ms,
            espeak_ms,
        };
        Ok(Self {
            runtime,
            models,
            load_time,
            startup,
            model_ms,
        })
    }

    /// The served models.
    pub fn models(&self) -> &Models {
        &self.models
    }

    /// The runtime the models run on.
    pub fn runtime(&self) -> &Runtime {
        &self.runtime
    }

    /// The CPU and the precision the models really run in.
    pub fn runtime_info(&self) -> RuntimeInfo {
        RuntimeInfo {
            precision: self.runtime.precision(),
            threads: self.runtime.options().threads,
        }
    }

    /// Time spent loading the runtime and compiling the models.
    pub fn load_time(&self) -> Duration {
        self.load_time
    }

    /// Start-up time by phase.
    pub fn startup(&self) -> StartupTimings {
        self.startup
    }

    /// Each model's id and load time in milliseconds (eSpeak NG's start counts in the first
    /// Piper voice's), in configuration order.
    pub fn model_times(&self) -> &[(String, f64)] {
        &self.model_ms
    }

    /// Before a snapshot (Lambda SnapStart) is taken: one short utterance per model, so the
    /// snapshot holds what a first inference sets up (the CPU plugin's kernels for its shapes)
    /// and a restored copy answers its first request at warm speed.
    pub fn before_snapshot(&self) -> Result<(), EngineError> {
        for model in self.models.all() {
            let started = Instant::now();
            let pieces = model.engine.prepare("Warming up before the snapshot.")?;
            if let Some(piece) = pieces.first() {
                model.engine.synthesize(piece, &model.default_voice, 1.0)?;
            }
            tracing::info!(
                model = %model.id,
                ms = started.elapsed().as_secs_f64() * 1e3,
                "warmed up before the snapshot"
            );
        }
        Ok(())
    }

    /// After a restore from a snapshot: every engine renews what must not be shared between
    /// restored copies ([`SpeechEngine::after_restore`]).
    pub fn after_restore(&self) -> Result<(), EngineError> {
        for model in self.models.all() {
            let started = Instant::now();
            model.engine.after_restore(&self.runtime)?;
            tracing::info!(
                model = %model.id,
                ms = started.elapsed().as_secs_f64() * 1e3,
                "renewed after the restore"
            );
        }
        Ok(())
    }
}
