//! `POST /dev/captioned_speech`: speech with word timestamps in the shape of Kokoro-FastAPI's
//! route of that name, so clients written for it work unchanged.
//!
//! The body is the speech body (`model` and `voice` optional: Kokoro's model names and unknown
//! voices fall back to the default model and voice) plus Kokoro's `stream` (default true) and
//! `return_timestamps` (default true), and our `caption_format` (`vtt` or `srt`). Streamed, the
//! answer is JSON lines `{"audio","audio_format","timestamps"}` (base64 audio; each line's words
//! start in its audio or before), with a last line carrying `captions` when asked; whole, one
//! JSON object with all the audio and every word (and `captions`).

use axum::body::Body;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde_json::{json, Map, Value};

use super::speech::{
    admit, bool_field, check_timestamps, log_output, pause_and_spoken_limit, put_headers, resolve,
    run_buffered, string_field, Buffered, Dialect, Resolved,
};
use super::stream::{words_json, StreamRequest, Wire};
use super::{ApiError, AppState, RequestLog};
use crate::captions::cues::{cues, render, CaptionFormat};

/// The route's own options.
#[derive(Debug, PartialEq, Eq)]
struct Options {
    stream: bool,
    return_timestamps: bool,
    captions: Option<CaptionFormat>,
}

impl Options {
    fn parse(fields: &Map<String, Value>) -> Result<Self, ApiError> {
        let captions = match string_field(fields, "caption_format")? {
            None => None,
            Some(name) => Some(CaptionFormat::parse(&name).ok_or_else(|| {
                ApiError::field(
                    "caption_format",
                    format!(
                        "'caption_format' must be 'vtt' or 'srt'; got '{}'.",
                        name.chars().take(64).collect::<String>()
                    ),
                )
            })?),
        };
        Ok(Self {
            stream: bool_field(fields, "stream")?.unwrap_or(true),
            return_timestamps: bool_field(fields, "return_timestamps")?.unwrap_or(true),
            captions,
        })
    }
}

/// Answers one captioned speech request.
pub(super) async fn handle(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
    started: std::time::Instant,
    deadline: Option<(tokio::time::Instant, u32)>,
    log: &mut RequestLog,
) -> Result<Response, ApiError> {
    let Resolved {
        request,
        fields,
        served,
        voice,
        fell_back,
    } = resolve(state, Dialect::Captioned, headers, body, log).await?;
    let options = Options::parse(&fields)?;
    let timestamps = options.return_timestamps || options.captions.is_some();
    if timestamps {
        check_timestamps(state, &served)?;
    }
    let permit = admit(state, &served, deadline).await?;
    let (pause, max_spoken) = pause_and_spoken_limit(state);
    if options.stream && state.limits.streaming {
        log.streamed = true;
        return super::stream::respond(StreamRequest {
            engine: served.engine.clone(),
            model: served.id.clone(),
            voice,
            fell_back,
            text: request.input,
            speed: request.speed,
            format: request.format,
            pause,
            max_spoken_chars: max_spoken,
            mode: Wire::Captioned {
                timestamps: options.return_timestamps,
                captions: options.captions,
            },
            permit,
            deadline,
            metrics: state.metrics.clone(),
            input_chars: log.input_chars.unwrap_or(0),
        })
        .await;
    }
    // Whole (also what a streamed request gets from a buffered Lambda: one JSON line).
    let text = request.input;
    let mut output = run_buffered(Buffered {
        engine: served.engine.clone(),
        model: served.id.clone(),
        text: text.clone(),
        voice: voice.clone(),
        speed: request.speed,
        format: request.format,
        pause,
        max_spoken,
        timestamps,
        permit,
        deadline,
    })
    .await?;
    let elapsed = started.elapsed().as_secs_f64();
    log_output(log, &output);
    let words = output.words.take().unwrap_or_default();
    let mut body = json!({
        "audio": base64::engine::general_purpose::STANDARD.encode(&output.audio.bytes),
        "audio_format": output.audio.content_type,
        "timestamps": if options.return_timestamps { words_json(&words) } else { Value::Null },
    });
    if let Some(format) = options.captions {
        body["captions"] = Value::String(render(&cues(&text, &words), format));
    }
    let mut body = body.to_string();
    body.push('\n');
    if let Some(max) = state.limits.max_response_bytes {
        if body.len() + 16 * 1024 > max {
            return Err(ApiError::ResponseTooLarge {
                bytes: output.audio.bytes.len(),
                max,
            });
        }
    }
    let mut response = ([(header::CONTENT_TYPE, "application/json")], body).into_response();
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

#[cfg(test)]
mod tests {
    use super::*;

    fn options(body: &str) -> Result<Options, ApiError> {
        match serde_json::from_str::<Value>(body).unwrap() {
            Value::Object(fields) => Options::parse(&fields),
            _ => unreachable!(),
        }
    }

    #[test]
    fn kokoro_defaults_stream_with_timestamps() {
        assert_eq!(
            options("{}").unwrap(),
            Options {
                stream: true,
                return_timestamps: true,
                captions: None
            }
        );
        let o = options(r#"{"stream":false,"return_timestamps":false,"caption_format":"SRT"}"#)
            .unwrap();
        assert_eq!(
            (o.stream, o.return_timestamps, o.captions),
            (false, false, Some(CaptionFormat::Srt))
        );
    }

    #[test]
    fn bad_options_name_their_field() {
        for (body, param) in [
            (r#"{"stream":"yes"}"#, "stream"),
            (r#"{"return_timestamps":1}"#, "return_timestamps"),
            (r#"{"caption_format":"ass"}"#, "caption_format"),
            (r#"{"caption_format":5}"#, "caption_format"),
        ] {
            match options(body) {
                Err(ApiError::InvalidField { param: p, .. }) => assert_eq!(p, param, "{body}"),
                other => panic!("{body}: {other:?}"),
            }
        }
    }
}
