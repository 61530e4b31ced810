//! `POST /v1/audio/speech` (OpenAI) and `POST /v3/audio/speech` (OpenVINO Model Server's path):
//! the request body, its validation, and the synthesis call on a blocking thread.

use std::time::Instant;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::Value;

use super::{ApiError, AppState};
use crate::audio::encode_wav_pcm16;
use crate::engine::EngineError;

/// Which path the request came in on: OpenAI's strict one or the model server's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// `/v1/audio/speech`.
    OpenAi,
    /// `/v3/audio/speech`: `voice` optional, unknown voices fall back to the default speaker.
    ModelServer,
}

/// A validated speech request.
#[derive(Debug)]
struct SpeechRequest {
    model: String,
    input: String,
    voice: Option<String>,
}

/// `voice` is a name or `{"id": "..."}`.
#[derive(Deserialize)]
#[serde(untagged)]
enum VoiceField {
    Name(String),
    Object { id: String },
}

fn parse(body: &[u8], dialect: Dialect, max_input_chars: usize) -> Result<SpeechRequest, ApiError> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| ApiError::InvalidJson(e.to_string()))?;
    let Value::Object(fields) = value else {
        return Err(ApiError::InvalidJson(
            "the body must be a JSON object".into(),
        ));
    };
    let string = |name: &'static str| -> Result<Option<String>, ApiError> {
        match fields.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(ApiError::field(
                name,
                format!("'{name}' must be a string, got {}", kind(other)),
            )),
        }
    };
    let model = string("model")?
        .ok_or_else(|| ApiError::field("model", "you must provide a model parameter"))?;
    let input = string("input")?
        .ok_or_else(|| ApiError::field("input", "you must provide an input parameter"))?;
    if input.trim().is_empty() {
        return Err(ApiError::field(
            "input",
            "'input' is empty: give the text to speak",
        ));
    }
    let chars = input.chars().count();
    if chars > max_input_chars {
        return Err(ApiError::field(
            "input",
            format!("'input' is {chars} characters long; the maximum is {max_input_chars}"),
        ));
    }
    let voice = match fields.get("voice") {
        None | Some(Value::Null) => None,
        Some(v) => match serde_json::from_value::<VoiceField>(v.clone()) {
            Ok(VoiceField::Name(name) | VoiceField::Object { id: name }) => Some(name),
            Err(_) => {
                return Err(ApiError::field(
                    "voice",
                    "'voice' must be a voice name or an object {\"id\": \"...\"}",
                ))
            }
        },
    };
    if voice.is_none() && dialect == Dialect::OpenAi {
        return Err(ApiError::field(
            "voice",
            "you must provide a voice parameter",
        ));
    }
    match string("response_format")?.as_deref() {
        None | Some("wav") => {}
        Some(other) => {
            return Err(ApiError::field(
                "response_format",
                format!("response_format '{other}' is not available yet; this function answers 'wav' (16-bit PCM)"),
            ))
        }
    }
    Ok(SpeechRequest {
        model,
        input,
        voice,
    })
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The handler behind both speech paths.
pub async fn speech(
    state: State<AppState>,
    dialect: Dialect,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let started = Instant::now();
    if let Some(content_type) = headers.get(header::CONTENT_TYPE) {
        let value = content_type.to_str().unwrap_or_default();
        let essence = value
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        if essence != "application/json" && !essence.ends_with("+json") {
            return Err(ApiError::UnsupportedMediaType(value.to_owned()));
        }
    }
    let request = parse(&body, dialect, state.max_input_chars)?;
    let served = state
        .models
        .resolve(&request.model)
        .ok_or_else(|| ApiError::ModelNotFound(request.model.clone()))?;
    let info = served.engine.info();
    let (voice, fell_back) = match request.voice {
        Some(v) if info.voices.contains(&v) => (v, false),
        Some(v) if dialect == Dialect::OpenAi => {
            return Err(ApiError::UnknownVoice {
                voice: v,
                model: request.model,
            });
        }
        Some(_) => (info.default_voice.clone(), true),
        None => (info.default_voice.clone(), false),
    };
    let engine = served.engine.clone();
    let text = request.input;
    let voice_used = voice.clone();
    let synthesis = tokio::task::spawn_blocking(move || engine.synthesize(&text, &voice_used))
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "synthesis task failed");
            ApiError::Internal
        })?
        .map_err(|e| match e {
            EngineError::UnknownVoice(v) => ApiError::UnknownVoice { voice: v, model: served.id.clone() },
            EngineError::InputTooLong { .. } | EngineError::EmptyInput => ApiError::field("input", e.to_string()),
            other => {
                tracing::error!(error = %other, source = ?std::error::Error::source(&other), "synthesis failed");
                ApiError::Internal
            }
        })?;
    let wav = encode_wav_pcm16(&synthesis.samples, synthesis.sample_rate);
    let elapsed = started.elapsed().as_secs_f64();
    let audio_secs = synthesis.duration_secs();
    let steps = synthesis.timings.decoder_steps.len();
    tracing::info!(
        model = %served.id, voice = %voice, body_bytes = body.len(), tokens = synthesis.input_tokens,
        decoder_steps = steps, audio_secs, processing_secs = elapsed, "speech"
    );
    let mut response = ([(header::CONTENT_TYPE, "audio/wav")], wav).into_response();
    let headers = response.headers_mut();
    let mut put = |name: &'static str, value: String| {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    };
    put("x-audio-duration-seconds", format!("{audio_secs:.3}"));
    put("x-processing-seconds", format!("{elapsed:.3}"));
    put(
        "x-real-time-factor",
        format!(
            "{:.4}",
            if audio_secs > 0.0 {
                elapsed / audio_secs
            } else {
                0.0
            }
        ),
    );
    put("x-tts-model", served.id.clone());
    put("x-tts-voice", voice);
    if fell_back {
        put("x-tts-voice-fallback", "true".into());
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn param_of(body: &str, dialect: Dialect) -> Option<&'static str> {
        match parse(body.as_bytes(), dialect, 4096) {
            Err(ApiError::InvalidField { param, .. }) => Some(param),
            Err(_) => Some("<other>"),
            Ok(_) => None,
        }
    }

    #[test]
    fn a_complete_openai_body_parses() {
        let r = parse(
            br#"{"model":"tts-1","input":"Hi","voice":{"id":"alloy"}}"#,
            Dialect::OpenAi,
            4096,
        )
        .unwrap();
        assert_eq!(
            (r.model.as_str(), r.input.as_str(), r.voice.as_deref()),
            ("tts-1", "Hi", Some("alloy"))
        );
    }

    #[test]
    fn voice_is_required_on_v1_only() {
        let body = r#"{"model":"tts-1","input":"Hi"}"#;
        assert_eq!(param_of(body, Dialect::OpenAi), Some("voice"));
        assert_eq!(param_of(body, Dialect::ModelServer), None);
    }

    #[test]
    fn wrong_types_and_empty_or_long_input_name_their_field() {
        assert_eq!(
            param_of(r#"{"model":1,"input":"Hi","voice":"a"}"#, Dialect::OpenAi),
            Some("model")
        );
        assert_eq!(
            param_of(r#"{"model":"m","input":"  ","voice":"a"}"#, Dialect::OpenAi),
            Some("input")
        );
        assert_eq!(
            param_of(
                r#"{"model":"m","input":["x"],"voice":"a"}"#,
                Dialect::OpenAi
            ),
            Some("input")
        );
        assert_eq!(
            param_of(r#"{"model":"m","input":"Hi","voice":7}"#, Dialect::OpenAi),
            Some("voice")
        );
        let long = format!(
            r#"{{"model":"m","input":"{}","voice":"a"}}"#,
            "a".repeat(4097)
        );
        assert_eq!(param_of(&long, Dialect::OpenAi), Some("input"));
        assert_eq!(
            param_of(
                r#"{"model":"m","input":"Hi","voice":"a","response_format":"mp3"}"#,
                Dialect::OpenAi
            ),
            Some("response_format")
        );
    }

    #[test]
    fn malformed_json_is_its_own_error() {
        assert!(matches!(
            parse(b"{nope", Dialect::OpenAi, 4096),
            Err(ApiError::InvalidJson(_))
        ));
        assert!(matches!(
            parse(b"[1]", Dialect::OpenAi, 4096),
            Err(ApiError::InvalidJson(_))
        ));
    }
}
