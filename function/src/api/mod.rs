//! The HTTP contract: routes, request validation and OpenAI-shaped errors, as one axum `Router`
//! that runs unchanged under Lambda (`lambda_http`) and as a local server, with one structured
//! log line per request. Knows the engine only through `SpeechEngine` and the `Models` table;
//! nothing of OpenVINO.

mod admission;
mod auth;
mod captioned;
mod discovery;
mod error;
mod metrics;
pub mod playground;
mod speech;
mod stream;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;

pub use admission::{Admission, Admitted};
pub use auth::key_matches;
pub use error::ApiError;
pub use metrics::{Metrics, RequestRecord};
pub use speech::{parse as parse_speech_body, Dialect, SpeechRequest, StreamFormat};

use crate::config::{Access, Limits};
use crate::pipeline::{Models, RuntimeInfo};

/// State shared by the handlers.
#[derive(Clone)]
pub struct AppState {
    /// The served models.
    pub models: Arc<Models>,
    /// Request and response limits.
    pub limits: Arc<Limits>,
    /// Each model's slots and queue (by model id); none left means 429.
    pub admission: Arc<BTreeMap<String, Admission>>,
    /// API keys and CORS origins.
    pub access: Arc<Access>,
    /// The CPU and the precision the models really run in.
    pub runtime: Arc<RuntimeInfo>,
    /// CloudWatch metric records (off unless [`AppState::with_metrics`] turns them on).
    pub metrics: Metrics,
    /// The page `GET /` serves (`None`: switched off).
    pub playground: Option<Arc<playground::Playground>>,
}

impl AppState {
    /// State for `models` running on `runtime` under `limits`: each model gets `slots` running
    /// and `max_queue` waiting places. Open to every caller until [`AppState::with_access`];
    /// the playground page is on until [`AppState::with_playground`] turns it off.
    pub fn new(models: Models, limits: Limits, runtime: RuntimeInfo) -> Self {
        let admission = models
            .all()
            .iter()
            .map(|m| {
                let places = Admission::new(limits.slots, limits.max_queue, limits.queue_timeout);
                (m.id.clone(), places)
            })
            .collect();
        Self {
            models: Arc::new(models),
            limits: Arc::new(limits),
            admission: Arc::new(admission),
            access: Arc::new(Access::default()),
            runtime: Arc::new(runtime),
            metrics: Metrics::off(),
            playground: None,
        }
        .with_playground(true)
    }

    /// The same state, with API keys and CORS origins.
    pub fn with_access(mut self, access: Access) -> Self {
        self.access = Arc::new(access);
        self
    }

    /// The same state, serving the playground page at `GET /` when `on`.
    pub fn with_playground(mut self, on: bool) -> Self {
        self.playground = on.then(|| {
            Arc::new(playground::Playground::new(
                self.limits.max_input_chars,
                self.limits.streaming,
            ))
        });
        self
    }

    /// The same state, writing `metrics` records.
    pub fn with_metrics(mut self, metrics: Metrics) -> Self {
        self.metrics = metrics;
        self
    }
}

/// What a handler tells the request log about its request.
#[derive(Clone, Debug, Default)]
pub struct RequestLog {
    model: Option<String>,
    voice: Option<String>,
    format: Option<&'static str>,
    input_chars: Option<usize>,
    input_tokens: Option<usize>,
    pieces: Option<usize>,
    decoder_steps: Option<usize>,
    audio_seconds: Option<f64>,
    total: Option<Duration>,
    /// The audio goes out as a stream, whose own end writes the metrics record.
    streamed: bool,
}

/// The function's router: the routes, then (outermost first) panics answered 500, CORS when
/// configured, the request log, and the API key check.
pub fn router(state: AppState) -> Router {
    let cors = auth::cors(&state.access);
    let router = Router::new()
        .route(
            "/v1/audio/speech",
            post(|s, r| speech::speech(s, Dialect::OpenAi, r)).fallback(method_not_allowed),
        )
        .route(
            "/v3/audio/speech",
            post(|s, r| speech::speech(s, Dialect::ModelServer, r)).fallback(method_not_allowed),
        )
        .route(
            "/dev/captioned_speech",
            post(|s, r| speech::speech(s, Dialect::Captioned, r)).fallback(method_not_allowed),
        )
        .route(
            "/v1/models",
            get(discovery::list_models).fallback(method_not_allowed),
        )
        .route(
            "/v1/models/{*id}",
            get(discovery::get_model).fallback(method_not_allowed),
        )
        .route(
            "/v1/audio/voices",
            get(discovery::list_voices).fallback(method_not_allowed),
        )
        .route("/health", get(health).fallback(method_not_allowed))
        .route("/", get(playground::page).fallback(method_not_allowed))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::require_key,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            log_request,
        ))
        .with_state(state);
    let router = match cors {
        Some(cors) => router.layer(cors),
        None => router,
    };
    router.layer(tower_http::catch_panic::CatchPanicLayer::custom(
        error::panic_response,
    ))
}

/// One structured line per request, and a metrics record per speech request answered whole
/// (streams write theirs when they end).
async fn log_request(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    let status = response.status().as_u16();
    let ms = started.elapsed().as_secs_f64() * 1e3;
    let log = response.extensions().get::<RequestLog>();
    let speech_route = matches!(
        path.as_str(),
        "/v1/audio/speech" | "/v3/audio/speech" | "/dev/captioned_speech"
    );
    let streaming = log.is_some_and(|l| l.streamed) && response.status().is_success();
    if speech_route && !streaming && state.metrics.enabled() {
        let ok = response.status().is_success();
        state.metrics.request(&RequestRecord {
            model: log
                .and_then(|l| l.model.clone())
                .unwrap_or_else(|| "-".into()),
            format: log.and_then(|l| l.format).unwrap_or("-").into(),
            status,
            streamed: false,
            cancelled: false,
            latency_ms: ms,
            first_byte_ms: ok.then_some(ms),
            audio_seconds: log.and_then(|l| l.audio_seconds).filter(|_| ok),
            input_chars: log.and_then(|l| l.input_chars),
        });
    }
    match log {
        Some(log) => {
            let rtf = match (log.total, log.audio_seconds) {
                (Some(t), Some(a)) if a > 0.0 => Some(t.as_secs_f64() / a),
                _ => None,
            };
            tracing::info!(
                %method, %path, status, ms,
                model = log.model.as_deref(), voice = log.voice.as_deref(), format = log.format,
                input_chars = log.input_chars, input_tokens = log.input_tokens, pieces = log.pieces,
                decoder_steps = log.decoder_steps, audio_seconds = log.audio_seconds, rtf,
                "request"
            );
        }
        None => tracing::info!(%method, %path, status, ms, "request"),
    }
    response
}

async fn health(State(state): State<AppState>) -> impl IntoResponse {
    let models: Vec<_> = state.models.all().iter().map(|m| m.id.clone()).collect();
    Json(json!({
        "status": "ok",
        "models": models,
        "available_places": state.admission.values().map(Admission::available).sum::<usize>(),
        "places": state.admission.values().map(Admission::capacity).sum::<usize>(),
        "runtime": discovery::runtime_object(&state.runtime),
    }))
}

async fn not_found(method: Method, request: Request) -> ApiError {
    ApiError::RouteNotFound {
        method: method.to_string(),
        path: clip_path(request.uri().path()),
    }
}

async fn method_not_allowed(method: Method, request: Request) -> ApiError {
    ApiError::MethodNotAllowed {
        method: method.to_string(),
        path: clip_path(request.uri().path()),
    }
}

fn clip_path(path: &str) -> String {
    path.chars().take(200).collect()
}
