//! Discovery routes: `GET /v1/models`, `GET /v1/models/{id}` (OpenAI's model list shapes) and
//! `GET /v1/audio/voices` (the voices of each model, how many speakers they are, its rate, how
//! it reads text and applies `speed`, and the precision it really computes in on this CPU).

use axum::extract::{Path, State};
use axum::Json;
use serde_json::{json, Value};

use super::{ApiError, AppState};
use crate::pipeline::{RuntimeInfo, ServedModel};

/// The CPU and precision object of `/health` and `/v1/audio/voices`: the CPU's name and
/// OpenVINO's capabilities for it, the precision asked for (`TTS_PRECISION`), the one the models
/// really run in, and the ones this CPU supports.
pub fn runtime_object(runtime: &RuntimeInfo) -> Value {
    let p = &runtime.precision;
    json!({
        "cpu": p.cpu,
        "capabilities": p.capabilities,
        "threads": runtime.threads,
        "precision": {
            "requested": p.requested,
            "effective": p.effective,
            "supported": p.supported,
        },
    })
}

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
                "word_timestamps": info.word_timestamps,
                "precision": info.precision,
            })
        })
        .collect();
    Json(json!({"object": "list", "data": data, "runtime": runtime_object(&state.runtime)}))
}
