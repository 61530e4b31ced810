//! Discovery routes: `GET /v1/models`, `GET /v1/models/{id}` (OpenAI's model list shapes) and
//! `GET /v1/audio/voices` (the voices of each model, how many speakers they are, its rate and how
//! it reads text and applies `speed`).

use axum::extract::{Path, State};
use axum::Json;
use serde_json::{json, Value};

use super::{ApiError, AppState};
use crate::pipeline::ServedModel;

fn model_object(id: &str, model: &ServedModel) -> Value {
    json!({
        "id": id,
        "object": "model",
        "created": 0,
        "owned_by": "tts-function",
        "family": model.engine.info().family,
        "aliases": model.names,
    })
}

/// `GET /v1/models`: every name a client may use, as OpenAI lists models.
pub async fn list_models(State(state): State<AppState>) -> Json<Value> {
    let data: Vec<Value> = state
        .models
        .all()
        .iter()
        .flat_map(|m| m.names.iter().map(move |name| model_object(name, m)))
        .collect();
    Json(json!({"object": "list", "data": data}))
}

/// `GET /v1/models/{id}` (ids may contain `/`, as in `microsoft/speecht5_tts`).
pub async fn get_model(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let model = state
        .models
        .resolve(&id)
        .ok_or_else(|| ApiError::ModelNotFound(id.clone()))?;
    Ok(Json(model_object(&id, model)))
}

/// `GET /v1/audio/voices`: each model's voices, its default and its sample rate.
pub async fn list_voices(State(state): State<AppState>) -> Json<Value> {
    let data: Vec<Value> = state
        .models
        .all()
        .iter()
        .map(|m| {
            let info = m.engine.info();
            let speakers = info.voices.len();
            json!({
                "model": m.id,
                "family": info.family,
                "aliases": m.names,
                "voices": info.voices,
                "speakers": speakers,
                "note": if speakers == 1 {
                    format!("one speaker: every voice name, OpenAI's included, speaks as {:?}", info.voices[0])
                } else {
                    format!("{speakers} speakers; client voice names map to them through voice_table")
                },
                "default_voice": m.default_voice,
                "voice_table": m.voices,
                "sample_rate": info.sample_rate,
                "speed_control": info.speed_control,
                "text_frontend": info.text_frontend,
            })
        })
        .collect();
    Json(json!({"object": "list", "data": data}))
}
