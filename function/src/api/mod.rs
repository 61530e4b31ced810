//! The HTTP contract: routes, request validation and OpenAI-shaped errors, as one axum `Router`
//! that runs unchanged under Lambda (`lambda_http`) and as a local server. Knows the engine only
//! through `SpeechEngine` and the `Models` table; nothing of OpenVINO.

mod discovery;
mod error;
mod speech;

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::Method;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;

pub use error::ApiError;
pub use speech::Dialect;

use crate::pipeline::Models;

/// State shared by the handlers.
#[derive(Clone)]
pub struct AppState {
    /// The served models.
    pub models: Arc<Models>,
    /// Longest accepted `input`.
    pub max_input_chars: usize,
}

/// The function's router.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route(
            "/v1/audio/speech",
            post(|s, h, b| speech::speech(s, Dialect::OpenAi, h, b)).fallback(method_not_allowed),
        )
        .route(
            "/v3/audio/speech",
            post(|s, h, b| speech::speech(s, Dialect::ModelServer, h, b))
                .fallback(method_not_allowed),
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
        .fallback(not_found)
        .with_state(state)
}

async fn health(State(state): State<AppState>) -> impl IntoResponse {
    let models: Vec<_> = state.models.all().iter().map(|m| m.id.clone()).collect();
    Json(json!({"status": "ok", "models": models}))
}

async fn not_found(method: Method, request: Request) -> ApiError {
    ApiError::RouteNotFound {
        method: method.to_string(),
        path: request.uri().path().to_owned(),
    }
}

async fn method_not_allowed(method: Method, request: Request) -> ApiError {
    ApiError::MethodNotAllowed {
        method: method.to_string(),
        path: request.uri().path().to_owned(),
    }
}
