//! The pipeline: every configured model, built once per process (per warm Lambda container) in a
//! global `once_cell` and shared by all requests. Owns the mapping from client-facing model
//! names to engines; its public surface has no OpenVINO types.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use once_cell::sync::OnceCell;

use crate::config::Config;
use crate::engine::speecht5::SpeechT5;
use crate::engine::{EngineError, Runtime, SpeechEngine};

static PIPELINE: OnceCell<Pipeline> = OnceCell::new();

/// A model as clients see it.
#[derive(Clone)]
pub struct ServedModel {
    /// The id listed in `/v1/models`.
    pub id: String,
    /// Every name that resolves to it.
    pub names: Vec<String>,
    /// The engine.
    pub engine: Arc<dyn SpeechEngine>,
}

/// The models this process serves.
#[derive(Clone, Default)]
pub struct Models {
    served: Vec<ServedModel>,
    by_name: HashMap<String, usize>,
}

impl Models {
    /// Adds an engine under `names` (the first is its id).
    pub fn add(&mut self, names: &[String], engine: Arc<dyn SpeechEngine>) {
        let index = self.served.len();
        for name in names {
            self.by_name.entry(name.clone()).or_insert(index);
        }
        self.served.push(ServedModel {
            id: names[0].clone(),
            names: names.to_vec(),
            engine,
        });
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

/// The runtime and its models.
pub struct Pipeline {
    runtime: Arc<Runtime>,
    models: Models,
    load_time: Duration,
}

impl Pipeline {
    /// The process-wide pipeline, built on first call from `config` (later calls ignore it).
    pub fn global(config: &Config) -> Result<&'static Pipeline, EngineError> {
        PIPELINE.get_or_try_init(|| Self::build(config))
    }

    /// Builds a pipeline: loads the runtime, then compiles every model.
    pub fn build(config: &Config) -> Result<Self, EngineError> {
        let started = Instant::now();
        let runtime = Arc::new(Runtime::new(config.runtime_options())?);
        let speecht5 = SpeechT5::load(&runtime, &config.model_dir, usize::from(config.slots))?;
        let mut models = Models::default();
        let names = if config.model_names.is_empty() {
            vec!["speecht5".to_owned()]
        } else {
            config.model_names.clone()
        };
        models.add(&names, Arc::new(speecht5));
        Ok(Self {
            runtime,
            models,
            load_time: started.elapsed(),
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

    /// Time spent loading the runtime and compiling the models.
    pub fn load_time(&self) -> Duration {
        self.load_time
    }
}
