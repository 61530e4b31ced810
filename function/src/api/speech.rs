//! `POST /v1/audio/speech` (OpenAI) and `POST /v3/audio/speech` (OpenVINO Model Server's path):
//! the request body and its validation, admission (429 when saturated), synthesis on a blocking
//! thread, the buffered-response size limit, and the observability headers.

use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

use std::sync::Arc;

use super::{Admitted, ApiError, AppState, RequestLog};
use crate::audio::AudioFormat;
use crate::engine::{EngineError, SpeechEngine, Stop, StopCause};
use crate::pipeline::ServedModel;
use crate::synthesis::{synthesize, SpeechJob, SpeechOutput, SynthesisError};

/// Which path the request came in on: OpenAI's strict one or the model server's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// `/v1/audio/speech`: `voice` required, mp3 by default.
    OpenAi,
    /// `/v3/audio/speech`: `voice` optional (unknown ones fall back to the default speaker),
    /// wav by default.
    ModelServer,
    /// `/dev/captioned_speech` (Kokoro-FastAPI's route): `model` and `voice` optional (Kokoro's
    /// names fall back to the default model and voice), mp3 by default.
    Captioned,
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
    /// `word_timestamps`: SSE streams also carry `speech.audio.timestamps` events.
    pub timestamps: bool,
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

/// A boolean field, `None` when absent or null.
pub(super) fn bool_field(
    fields: &Map<String, Value>,
    name: &'static str,
) -> Result<Option<bool>, ApiError> {
    match fields.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(other) => Err(ApiError::field(
            name,
            format!("'{name}' must be true or false, not {}.", field_type(other)),
        )),
    }
}

pub(super) fn string_field(
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
    from_fields(
        &parse_object(body)?,
        dialect,
        max_input_chars,
        max_instructions_chars,
    )
}

/// The body as a JSON object.
pub(super) fn parse_object(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| ApiError::InvalidJson(e.to_string()))?;
    match value {
        Value::Object(fields) => Ok(fields),
        other => Err(ApiError::InvalidJson(format!(
            "the body is {}, not a JSON object",
            field_type(&other)
        ))),
    }
}

/// [`parse`] over the body's fields.
pub(super) fn from_fields(
    fields: &Map<String, Value>,
    dialect: Dialect,
    max_input_chars: usize,
    max_instructions_chars: usize,
) -> Result<SpeechRequest, ApiError> {
    let model = match (string_field(fields, "model")?, dialect) {
        (Some(model), _) => model,
        (None, Dialect::Captioned) => String::new(),
        (None, _) => {
            return Err(ApiError::field(
                "model",
                "You must provide a model parameter.",
            ))
        }
    };
    let input = string_field(fields, "input")?.ok_or_else(|| {
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
    if let Some(instructions) = string_field(fields, "instructions")? {
        let chars = instructions.chars().count();
        if chars > max_instructions_chars {
            return Err(ApiError::field(
                "instructions",
                format!("'instructions' is {chars} characters long; the maximum is {max_instructions_chars}."),
            ));
        }
    }
    let format = match string_field(fields, "response_format")? {
        None => match dialect {
            Dialect::OpenAi | Dialect::Captioned => AudioFormat::Mp3,
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
    let stream = match string_field(fields, "stream_format")?.as_deref() {
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
    let timestamps = bool_field(fields, "word_timestamps")?.unwrap_or(false);
    if timestamps && stream != Some(StreamFormat::Sse) && dialect != Dialect::Captioned {
        return Err(ApiError::field(
            "word_timestamps",
            "'word_timestamps' come as speech.audio.timestamps events of an SSE stream: set \"stream_format\": \"sse\", or POST the same body to /dev/captioned_speech for the audio with its timestamps (and captions) in JSON.",
        ));
    }
    Ok(SpeechRequest {
        model,
        input,
        voice,
        format,
        speed,
        stream,
        timestamps,
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
    let result = match dialect {
        Dialect::Captioned => {
            super::captioned::handle(&state, &parts.headers, body, started, deadline, &mut log)
                .await
        }
        _ => {
            handle(
                &state,
                dialect,
                &parts.headers,
                body,
                started,
                deadline,
                &mut log,
            )
            .await
        }
    };
    let mut response = match result {
        Ok(response) => response,
        Err(error) => error.into_response(),
    };
    log.total = Some(started.elapsed());
    response.extensions_mut().insert(log);
    response
}

/// A request parsed and resolved to a model and voice (not admitted yet).
pub(super) struct Resolved {
    pub request: SpeechRequest,
    /// The body's fields (for the options of other routes).
    pub fields: Map<String, Value>,
    pub served: ServedModel,
    pub voice: String,
    /// An unknown voice fell back to the model's default (`/v3`, `/dev/captioned_speech`).
    pub fell_back: bool,
}

/// Kokoro-FastAPI's model names, which `/dev/captioned_speech` takes for the default model.
const KOKORO_MODELS: [&str; 2] = ["", "kokoro"];

/// Reads, parses and resolves a speech body: content type, size, fields, model, voice, format.
pub(super) async fn resolve(
    state: &AppState,
    dialect: Dialect,
    headers: &HeaderMap,
    body: Body,
    log: &mut RequestLog,
) -> Result<Resolved, ApiError> {
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
    let fields = parse_object(&body)?;
    let request = from_fields(
        &fields,
        dialect,
        limits.max_input_chars,
        limits.max_instructions_chars,
    )?;
    let served = match state.models.resolve(&request.model) {
        Some(served) => served,
        None if dialect == Dialect::Captioned
            && KOKORO_MODELS.contains(&request.model.as_str()) =>
        {
            state
                .models
                .all()
                .first()
                .ok_or_else(|| ApiError::ModelNotFound(clip(&request.model)))?
        }
        None => return Err(ApiError::ModelNotFound(clip(&request.model))),
    }
    .clone();
    let lenient = matches!(dialect, Dialect::ModelServer | Dialect::Captioned);
    let (voice, fell_back) = match request.voice.as_deref() {
        Some(name) => match served.voice(name) {
            Some(voice) => (voice.to_owned(), false),
            None if lenient => (served.default_voice.clone(), true),
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
    Ok(Resolved {
        request,
        fields,
        served,
        voice,
        fell_back,
    })
}

/// Refuses word timestamps from a model without durations, naming the models that have them.
pub(super) fn check_timestamps(state: &AppState, served: &ServedModel) -> Result<(), ApiError> {
    if served.engine.info().word_timestamps {
        return Ok(());
    }
    Err(ApiError::NoTimestamps {
        model: served.id.clone(),
        with: state
            .models
            .all()
            .iter()
            .filter(|m| m.engine.info().word_timestamps)
            .map(|m| m.id.clone())
            .collect(),
    })
}

/// A place to synthesize: a slot of the model, after a bounded wait in its queue, or 429.
pub(super) async fn admit(
    state: &AppState,
    served: &ServedModel,
    deadline: Option<(tokio::time::Instant, u32)>,
) -> Result<Admitted, ApiError> {
    let admission = state
        .admission
        .get(&served.id)
        .ok_or_else(|| ApiError::internal(format!("no admission for model {}", served.id)))?;
    admission.enter(deadline.map(|(at, _)| at)).await
}

/// The pause between sentences, and how much longer than the input limit what the model reads
/// may be: 4 × leaves ordinary text (about 1.1× once normalized) and number-heavy text room,
/// and refuses at once what could not be spoken within the time limit anyway (4096 digits are
/// 4096 words).
pub(super) fn pause_and_spoken_limit(state: &AppState) -> (Duration, usize) {
    let limits = &state.limits;
    (
        Duration::from_millis(u64::from(limits.sentence_pause_ms)),
        limits.max_input_chars.saturating_mul(4),
    )
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
    let Resolved {
        request,
        served,
        voice,
        fell_back,
        ..
    } = resolve(state, dialect, headers, body, log).await?;
    if request.timestamps {
        check_timestamps(state, &served)?;
    }
    let limits = &state.limits;
    let permit = admit(state, &served, deadline).await?;
    let engine = served.engine.clone();
    let (pause, max_spoken) = pause_and_spoken_limit(state);
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
                mode: match mode {
                    StreamFormat::Audio => super::stream::Wire::Audio,
                    StreamFormat::Sse => super::stream::Wire::Sse {
                        timestamps: request.timestamps,
                    },
                },
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
    let mut output = run_buffered(Buffered {
        engine,
        model: served.id.clone(),
        text: request.input,
        voice: voice.clone(),
        speed: request.speed,
        format: request.format,
        pause,
        max_spoken,
        timestamps: false,
        permit,
        deadline,
    })
    .await?;
    let elapsed = started.elapsed().as_secs_f64();
    log_output(log, &output);
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
    // The audio moves into the body; the headers read only its duration and rate.
    let bytes = std::mem::take(&mut output.audio.bytes);
    let mut response = ([(header::CONTENT_TYPE, output.audio.content_type)], bytes).into_response();
    put_headers(
        response.headers_mut(),
        &output,
        elapsed,
        &served.id,
        &voice,
        fell_back,
    );
    Ok(response)
}

/// A whole answer to synthesize.
pub(super) struct Buffered {
    pub engine: Arc<dyn SpeechEngine>,
    pub model: String,
    pub text: String,
    pub voice: String,
    pub speed: f32,
    pub format: AudioFormat,
    pub pause: Duration,
    pub max_spoken: usize,
    pub timestamps: bool,
    /// The admission place, held until the synthesis ends.
    pub permit: Admitted,
    pub deadline: Option<(tokio::time::Instant, u32)>,
}

/// Synthesizes a whole answer on a blocking thread: stopped between two sentences when the
/// client hangs up (this future is dropped) or the time limit passes (then 504).
pub(super) async fn run_buffered(job: Buffered) -> Result<SpeechOutput, ApiError> {
    let Buffered {
        engine,
        model,
        text,
        voice,
        speed,
        format,
        pause,
        max_spoken,
        timestamps,
        permit,
        deadline,
    } = job;
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
                    voice: &voice,
                    speed,
                    format,
                    pause,
                    max_spoken_chars: Some(max_spoken),
                    timestamps,
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
                tracing::warn!(model = %model, limit_secs = secs, "request timed out; synthesis stopped");
                return Err(ApiError::TimedOut { secs });
            }
        },
        None => task.await,
    };
    hang_up.disarm();
    joined
        .map_err(|e| ApiError::internal(format!("synthesis task failed: {e}")))?
        .map_err(|e| synthesis_error(e, &model))
}

/// What the request log records of a whole answer.
pub(super) fn log_output(log: &mut RequestLog, output: &SpeechOutput) {
    log.audio_seconds = Some(output.audio_seconds);
    log.input_tokens = Some(output.input_tokens);
    log.decoder_steps = Some(output.timings.decoder_steps.len());
    log.pieces = Some(output.pieces);
}

/// The observability headers of a whole answer.
pub(super) fn put_headers(
    headers: &mut HeaderMap,
    output: &SpeechOutput,
    elapsed: f64,
    model: &str,
    voice: &str,
    fell_back: bool,
) {
    let audio_seconds = output.audio_seconds;
    let rtf = if audio_seconds > 0.0 {
        elapsed / audio_seconds
    } else {
        0.0
    };
    let mut put = |name: &'static str, value: String| {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    };
    put("x-audio-duration-seconds", format!("{audio_seconds:.3}"));
    put("x-audio-sample-rate", output.audio.sample_rate.to_string());
    put("x-processing-seconds", format!("{elapsed:.3}"));
    put("x-real-time-factor", format!("{rtf:.4}"));
    put("x-tts-model", model.to_owned());
    put("x-tts-voice", voice.to_owned());
    if fell_back {
        put("x-tts-voice-fallback", "true".into());
    }
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
        SynthesisError::NoTimestamps { .. } => ApiError::NoTimestamps {
            model: model.to_owned(),
            with: Vec::new(),
        },
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
            timestamps: false,
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
