//! `POST /v1/audio/speech` (OpenAI) and `POST /v3/audio/speech` (OpenVINO Model Server's path):
//! the request body and its validation, admission (429 when saturated), synthesis on a blocking
//! thread, the buffered-response size limit, and the observability headers.

use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

use super::{ApiError, AppState, RequestLog};
use crate::audio::AudioFormat;
use crate::engine::{EngineError, Stop, StopCause};
use crate::synthesis::{synthesize, SpeechJob, SynthesisError};

/// Which path the request came in on: OpenAI's strict one or the model server's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// `/v1/audio/speech`: `voice` required, mp3 by default.
    OpenAi,
    /// `/v3/audio/speech`: `voice` optional (unknown ones fall back to the default speaker),
    /// wav by default.
    ModelServer,
}

/// Speed bounds, as OpenAI documents them.
const SPEED_RANGE: std::ops::RangeInclusive<f64> = 0.25..=4.0;

/// How the client asked to receive the audio (`stream_format`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamFormat {
    /// The encoded audio as a chunked body, sent as it is made.
    Audio,
    /// Server-sent events: `speech.audio.delta` with base64 audio, then `speech.audio.done`.
    Sse,
}

/// A validated speech request.
#[derive(Debug, PartialEq)]
pub struct SpeechRequest {
    /// The model name as given.
    pub model: String,
    /// The text to speak.
    pub input: String,
    /// The voice name as given (`{"id": ...}` objects unwrapped).
    pub voice: Option<String>,
    /// The audio format.
    pub format: AudioFormat,
    /// Speed factor in [0.25, 4].
    pub speed: f32,
    /// `None`: the whole audio in one body (no `stream_format`).
    pub stream: Option<StreamFormat>,
}

fn field_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn string_field(
    fields: &Map<String, Value>,
    name: &'static str,
) -> Result<Option<String>, ApiError> {
    match fields.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(ApiError::field(
            name,
            format!("'{name}' must be a string, not {}.", field_type(other)),
        )),
    }
}

/// Parses and validates a speech request body (everything that can be checked without the
/// model): any bytes give a request or an [`ApiError`], never a panic.
pub fn parse(
    body: &[u8],
    dialect: Dialect,
    max_input_chars: usize,
    max_instructions_chars: usize,
) -> Result<SpeechRequest, ApiError> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| ApiError::InvalidJson(e.to_string()))?;
    let Value::Object(fields) = value else {
        return Err(ApiError::InvalidJson(format!(
            "the body is {}, not a JSON object",
            field_type(&value)
        )));
    };
    let model = string_field(&fields, "model")?
        .ok_or_else(|| ApiError::field("model", "You must provide a model parameter."))?;
    let input = string_field(&fields, "input")?.ok_or_else(|| {
        ApiError::field(
            "input",
            "You must provide an input parameter: the text to speak.",
        )
    })?;
    if input.trim().is_empty() {
        return Err(ApiError::field(
            "input",
            "'input' is empty: give the text to speak.",
        ));
    }
    let chars = input.chars().count();
    if chars > max_input_chars {
        return Err(ApiError::field(
            "input",
            format!("'input' is {chars} characters long; the maximum is {max_input_chars}. Split the text into several requests."),
        ));
    }
    let voice = match fields.get("voice") {
        None | Some(Value::Null) => None,
        Some(Value::String(name)) => Some(name.clone()),
        Some(Value::Object(object)) => match object.get("id") {
            Some(Value::String(id)) => Some(id.clone()),
            _ => {
                return Err(ApiError::field(
                    "voice",
                    "A voice object must be {\"id\": \"<voice name>\"}.",
                ))
            }
        },
        Some(other) => {
            return Err(ApiError::field(
                "voice",
                format!(
                    "'voice' must be a voice name or {{\"id\": \"...\"}}, not {}.",
                    field_type(other)
                ),
            ))
        }
    };
    if voice.is_none() && dialect == Dialect::OpenAi {
        return Err(ApiError::field(
            "voice",
            "You must provide a voice parameter. GET /v1/audio/voices lists them.",
        ));
    }
    if let Some(instructions) = string_field(&fields, "instructions")? {
        let chars = instructions.chars().count();
        if chars > max_instructions_chars {
            return Err(ApiError::field(
                "instructions",
                format!("'instructions' is {chars} characters long; the maximum is {max_instructions_chars}."),
            ));
        }
    }
    let format = match string_field(&fields, "response_format")? {
        None => match dialect {
            Dialect::OpenAi => AudioFormat::Mp3,
            Dialect::ModelServer => AudioFormat::Wav,
        },
        Some(name) => AudioFormat::parse(&name).ok_or_else(|| {
            ApiError::field(
                "response_format",
                format!(
                    "'response_format' must be one of mp3, opus, aac, flac, wav, pcm; got '{}'.",
                    clip(&name)
                ),
            )
        })?,
    };
    let speed = match fields.get("speed") {
        None | Some(Value::Null) => 1.0,
        Some(Value::Number(n)) => {
            let speed = n.as_f64().unwrap_or(f64::NAN);
            if !SPEED_RANGE.contains(&speed) {
                return Err(ApiError::field(
                    "speed",
                    format!("'speed' must be between 0.25 and 4.0; got {n}."),
                ));
            }
            speed as f32
        }
        Some(other) => {
            return Err(ApiError::field(
                "speed",
                format!("'speed' must be a number, not {}.", field_type(other)),
            ))
        }
    };
    let stream = match string_field(&fields, "stream_format")?.as_deref() {
        None => None,
        Some("audio") => Some(StreamFormat::Audio),
        Some("sse") => Some(StreamFormat::Sse),
        Some(other) => {
            return Err(ApiError::field(
                "stream_format",
                format!(
                    "'stream_format' must be 'sse' or 'audio'; got '{}'.",
                    clip(other)
                ),
            ))
        }
    };
    Ok(SpeechRequest {
        model,
        input,
        voice,
        format,
        speed,
        stream,
    })
}

/// A user-supplied string shortened for an error message.
fn clip(text: &str) -> String {
    let mut out: String = text.chars().take(64).collect();
    if out.len() < text.len() {
        out.push('…');
    }
    out
}

/// Time kept back from a Lambda invocation's deadline to send the answer.
const LAMBDA_MARGIN: Duration = Duration::from_millis(1500);

/// When the request must be answered by: its time limit, and inside Lambda the invocation's own
/// deadline less a margin to answer (else Lambda ends the whole environment at its timeout).
/// Also the limit in seconds that the timeout message gives.
fn deadline(
    state: &AppState,
    lambda: Option<&lambda_http::Context>,
) -> Option<(tokio::time::Instant, u32)> {
    let now = tokio::time::Instant::now();
    let limit = state.limits.request_timeout;
    let from_lambda = lambda.and_then(|context| {
        let remaining = std::time::UNIX_EPOCH + Duration::from_millis(context.deadline);
        let remaining = remaining
            .duration_since(std::time::SystemTime::now())
            .ok()?;
        Some(remaining.saturating_sub(LAMBDA_MARGIN))
    });
    let left = match (limit, from_lambda) {
        (Some(a), Some(b)) => a.min(b),
        (a, b) => a.or(b)?,
    };
    Some((now + left, left.as_secs_f64().round().max(1.0) as u32))
}

/// The handler behind both speech paths.
pub async fn speech(State(state): State<AppState>, dialect: Dialect, request: Request) -> Response {
    let started = Instant::now();
    let mut log = RequestLog::default();
    let (parts, body) = request.into_parts();
    let deadline = deadline(&state, parts.extensions.get::<lambda_http::Context>());
    let result = handle(
        &state,
        dialect,
        &parts.headers,
        body,
        started,
        deadline,
        &mut log,
    )
    .await;
    let mut response = match result {
        Ok(response) => response,
        Err(error) => error.into_response(),
    };
    log.total = Some(started.elapsed());
    response.extensions_mut().insert(log);
    response
}

async fn handle(
    state: &AppState,
    dialect: Dialect,
    headers: &HeaderMap,
    body: Body,
    started: Instant,
    deadline: Option<(tokio::time::Instant, u32)>,
    log: &mut RequestLog,
) -> Result<Response, ApiError> {
    if let Some(content_type) = headers.get(header::CONTENT_TYPE) {
        let value = content_type.to_str().unwrap_or_default();
        let essence = value
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        if essence != "application/json" && !essence.ends_with("+json") {
            return Err(ApiError::UnsupportedMediaType(clip(value)));
        }
    }
    let limits = &state.limits;
    let body: Bytes = axum::body::to_bytes(body, limits.max_body_bytes)
        .await
        .map_err(|_| ApiError::BodyTooLarge {
            max: limits.max_body_bytes,
        })?;
    let request = parse(
        &body,
        dialect,
        limits.max_input_chars,
        limits.max_instructions_chars,
    )?;
    let served = state
        .models
        .resolve(&request.model)
        .ok_or_else(|| ApiError::ModelNotFound(clip(&request.model)))?;
    let (voice, fell_back) = match request.voice.as_deref() {
        Some(name) => match served.voice(name) {
            Some(voice) => (voice.to_owned(), false),
            None if dialect == Dialect::ModelServer => (served.default_voice.clone(), true),
            None => {
                return Err(ApiError::UnknownVoice {
                    voice: clip(name),
                    model: served.id.clone(),
                })
            }
        },
        None => (served.default_voice.clone(), false),
    };
    if !request.format.is_built() {
        return Err(ApiError::FormatNotBuilt(request.format.name()));
    }
    log.model = Some(served.id.clone());
    log.voice = Some(voice.clone());
    log.format = Some(request.format.name());
    log.input_chars = Some(request.input.chars().count());

    // Admission: a slot of this model, after a bounded wait in its queue, or 429.
    let admission = state
        .admission
        .get(&served.id)
        .ok_or_else(|| ApiError::internal(format!("no admission for model {}", served.id)))?;
    let permit = admission.enter(deadline.map(|(at, _)| at)).await?;
    let engine = served.engine.clone();
    let pause = Duration::from_millis(u64::from(limits.sentence_pause_ms));
    // What the model reads may be this much longer than the input limit: 4 × leaves ordinary
    // text (about 1.1× once normalized) and number-heavy text room, and refuses at once what
    // could not be spoken within the time limit anyway (4096 digits are 4096 words).
    let max_spoken = limits.max_input_chars.saturating_mul(4);
    if let Some(mode) = request.stream {
        if limits.streaming {
            log.streamed = true;
            return super::stream::respond(super::stream::StreamRequest {
                engine,
                model: served.id.clone(),
                voice,
                fell_back,
                text: request.input,
                speed: request.speed,
                format: request.format,
                pause,
                max_spoken_chars: max_spoken,
                mode,
                permit,
                deadline,
                metrics: state.metrics.clone(),
                input_chars: log.input_chars.unwrap_or(0),
            })
            .await;
        }
        if mode == StreamFormat::Sse {
            return Err(ApiError::InvalidField {
                param: "stream_format",
                code: "unsupported_value",
                message: "stream_format 'sse' needs a streamed response: this function runs with the buffered invoke mode (set the function URL's InvokeMode and TTS_INVOKE_MODE to RESPONSE_STREAM), or omit stream_format.".into(),
            });
        }
        // Buffered Lambda: "audio" gets the whole audio in the body.
    }
    let (text, speed, format) = (request.input, request.speed, request.format);
    let voice_used = voice.clone();
    // Set when this handler is dropped before it answers (the client hung up) or the time limit
    // passes: the synthesis stops between two sentences and gives its slot back.
    let stop = Stop::new();
    let mut hang_up = StopOnDrop(Some(stop.clone()));
    let task = {
        let stop = stop.clone();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            synthesize(
                engine.as_ref(),
                &SpeechJob {
                    text: &text,
                    voice: &voice_used,
                    speed,
                    format,
                    pause,
                    max_spoken_chars: Some(max_spoken),
                },
                &stop,
            )
        })
    };
    let joined = match deadline {
        Some((at, secs)) => match tokio::time::timeout_at(at, task).await {
            Ok(joined) => joined,
            Err(_) => {
                stop.set_because(StopCause::TimedOut);
                hang_up.disarm();
                tracing::warn!(model = %served.id, limit_secs = secs, "request timed out; synthesis stopped");
                return Err(ApiError::TimedOut { secs });
            }
        },
        None => task.await,
    };
    hang_up.disarm();
    let output = joined
        .map_err(|e| ApiError::internal(format!("synthesis task failed: {e}")))?
        .map_err(|e| synthesis_error(e, &served.id))?;

    let elapsed = started.elapsed().as_secs_f64();
    let audio_seconds = output.audio_seconds;
    log.audio_seconds = Some(audio_seconds);
    log.input_tokens = Some(output.input_tokens);
    log.decoder_steps = Some(output.timings.decoder_steps.len());
    log.pieces = Some(output.pieces);
    if let Some(max) = limits.max_response_bytes {
        // Lambda base64-encodes binary bodies: 4 bytes for every 3.
        let encoded = output.audio.bytes.len().div_ceil(3) * 4;
        if encoded + 16 * 1024 > max {
            return Err(ApiError::ResponseTooLarge {
                bytes: output.audio.bytes.len(),
                max,
            });
        }
    }
    let rtf = if audio_seconds > 0.0 {
        elapsed / audio_seconds
    } else {
        0.0
    };
    let mut response = (
        [(header::CONTENT_TYPE, output.audio.content_type)],
        output.audio.bytes,
    )
        .into_response();
    let headers = response.headers_mut();
    let mut put = |name: &'static str, value: String| {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    };
    put("x-audio-duration-seconds", format!("{audio_seconds:.3}"));
    put("x-audio-sample-rate", output.audio.sample_rate.to_string());
    put("x-processing-seconds", format!("{elapsed:.3}"));
    put("x-real-time-factor", format!("{rtf:.4}"));
    put("x-tts-model", served.id.clone());
    put("x-tts-voice", voice);
    if fell_back {
        put("x-tts-voice-fallback", "true".into());
    }
    Ok(response)
}

/// Sets its [`Stop`] when dropped armed: the handler's future was dropped before it answered.
struct StopOnDrop(Option<Stop>);

impl StopOnDrop {
    fn disarm(&mut self) {
        self.0 = None;
    }
}

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        if let Some(stop) = self.0.take() {
            tracing::info!("the client went away before the answer; synthesis stopped");
            stop.set();
        }
    }
}

/// The answer for a synthesis that failed before any audio was sent.
pub(super) fn synthesis_error(error: SynthesisError, model: &str) -> ApiError {
    match error {
        SynthesisError::Engine(EngineError::UnknownVoice(v)) => ApiError::UnknownVoice {
            voice: v,
            model: model.to_owned(),
        },
        SynthesisError::Engine(e @ EngineError::InputTooLong { .. }) => {
            ApiError::field("input", e.to_string())
        }
        SynthesisError::NothingToSay => ApiError::field("input", "'input' has nothing to speak."),
        e @ SynthesisError::TooMuchSpeech { .. } => ApiError::field("input", e.to_string()),
        SynthesisError::Audio(crate::audio::AudioError::NotBuilt { format, .. }) => {
            ApiError::FormatNotBuilt(format.name())
        }
        other => ApiError::internal(format!("synthesis failed: {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_v1(body: &str) -> Result<SpeechRequest, ApiError> {
        parse(body.as_bytes(), Dialect::OpenAi, 4096, 4096)
    }

    fn param_of(body: &str, dialect: Dialect) -> Option<&'static str> {
        match parse(body.as_bytes(), dialect, 4096, 4096) {
            Err(ApiError::InvalidField { param, .. }) => Some(param),
            Err(_) => Some("<other>"),
            Ok(_) => None,
        }
    }

    #[test]
    fn a_complete_openai_body_parses_with_openai_defaults() {
        let r = parse_v1(r#"{"model":"tts-1","input":"Hi","voice":{"id":"alloy"}}"#).unwrap();
        let expected = SpeechRequest {
            model: "tts-1".into(),
            input: "Hi".into(),
            voice: Some("alloy".into()),
            format: AudioFormat::Mp3,
            speed: 1.0,
            stream: None,
        };
        assert_eq!(r, expected);
        let r = parse_v1(r#"{"model":"m","input":"Hi","voice":"a","response_format":"pcm","speed":0.25,"instructions":"calm","stream_format":"audio"}"#).unwrap();
        assert_eq!((r.format, r.speed), (AudioFormat::Pcm, 0.25));
        assert_eq!(r.stream, Some(StreamFormat::Audio));
        let r =
            parse_v1(r#"{"model":"m","input":"Hi","voice":"a","stream_format":"sse"}"#).unwrap();
        assert_eq!(r.stream, Some(StreamFormat::Sse));
    }

    #[test]
    fn the_model_server_dialect_defaults_to_wav_and_needs_no_voice() {
        let r = parse(
            br#"{"model":"m","input":"Hi"}"#,
            Dialect::ModelServer,
            4096,
            4096,
        )
        .unwrap();
        assert_eq!((r.format, r.voice), (AudioFormat::Wav, None));
        assert_eq!(
            param_of(r#"{"model":"m","input":"Hi"}"#, Dialect::OpenAi),
            Some("voice")
        );
    }

    #[test]
    fn each_bad_field_is_named() {
        for (body, param) in [
            (r#"{"model":1,"input":"Hi","voice":"a"}"#, "model"),
            (r#"{"model":"m","input":"  ","voice":"a"}"#, "input"),
            (r#"{"model":"m","input":["x"],"voice":"a"}"#, "input"),
            (r#"{"model":"m","input":"Hi","voice":7}"#, "voice"),
            (
                r#"{"model":"m","input":"Hi","voice":{"name":"a"}}"#,
                "voice",
            ),
            (
                r#"{"model":"m","input":"Hi","voice":"a","response_format":"ogg"}"#,
                "response_format",
            ),
            (
                r#"{"model":"m","input":"Hi","voice":"a","speed":4.01}"#,
                "speed",
            ),
            (
                r#"{"model":"m","input":"Hi","voice":"a","speed":"fast"}"#,
                "speed",
            ),
            (
                r#"{"model":"m","input":"Hi","voice":"a","stream_format":"wav"}"#,
                "stream_format",
            ),
            (
                r#"{"model":"m","input":"Hi","voice":"a","instructions":5}"#,
                "instructions",
            ),
        ] {
            assert_eq!(param_of(body, Dialect::OpenAi), Some(param), "{body}");
        }
        let long = format!(
            r#"{{"model":"m","input":"{}","voice":"a"}}"#,
            "é".repeat(4097)
        );
        assert_eq!(param_of(&long, Dialect::OpenAi), Some("input"));
        let exactly = format!(
            r#"{{"model":"m","input":"{}","voice":"a"}}"#,
            "é".repeat(4096)
        );
        assert_eq!(
            param_of(&exactly, Dialect::OpenAi),
            None,
            "4096 characters (not bytes) are allowed"
        );
    }

    #[test]
    fn malformed_json_is_its_own_error() {
        assert!(matches!(parse_v1("{nope"), Err(ApiError::InvalidJson(_))));
        assert!(matches!(parse_v1("[1]"), Err(ApiError::InvalidJson(_))));
    }
}
