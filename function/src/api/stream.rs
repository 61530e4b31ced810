//! Streamed speech responses (`stream_format`): the encoded audio as a chunked body, or
//! server-sent events as OpenAI specifies them (`speech.audio.delta` with base64 audio, then one
//! `speech.audio.done` with `usage`; with `word_timestamps`, `speech.audio.timestamps` events
//! too), or Kokoro-FastAPI's JSON lines for `/dev/captioned_speech` (audio in base64 with the
//! words it speaks). Synthesis runs on a blocking thread and hands chunks to the
//! response body through a bounded channel; when the client goes away the channel closes, the
//! request's [`Stop`] is set and the engine gives up within one decoder step or sentence.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use base64::Engine as _;
use serde_json::json;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use super::speech::synthesis_error;
use super::{Admitted, ApiError, Metrics, RequestRecord};
use crate::audio::AudioFormat;
use crate::captions::cues::{cues, render, CaptionFormat};
use crate::captions::WordTime;
use crate::engine::{EngineError, SpeechEngine, Stop, StopCause};
use crate::synthesis::{prepare_stream, run_stream, SpeechJob, StreamEvent, SynthesisError};

/// Chunks waiting for a slow client before synthesis waits too.
const CHANNEL_CHUNKS: usize = 32;

/// What a stream's body carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Wire {
    /// The encoded audio itself.
    Audio,
    /// OpenAI's server-sent events; with `timestamps`, `speech.audio.timestamps` events too.
    Sse {
        /// Send the words' times.
        timestamps: bool,
    },
    /// Kokoro-FastAPI's JSON lines `{"audio","audio_format","timestamps"}`; `captions` adds a
    /// last line whose `captions` holds the whole caption file.
    Captioned {
        /// Send the words' times (else every line's `timestamps` is empty).
        timestamps: bool,
        /// A caption file at the end.
        captions: Option<CaptionFormat>,
    },
}

impl Wire {
    /// Whether the synthesis must tell the words' times.
    fn timestamps(self) -> bool {
        match self {
            Self::Audio => false,
            Self::Sse { timestamps } => timestamps,
            Self::Captioned {
                timestamps,
                captions,
            } => timestamps || captions.is_some(),
        }
    }
}

/// Word times as JSON, in Kokoro-FastAPI's shape.
pub(super) fn words_json(words: &[WordTime]) -> serde_json::Value {
    serde_json::Value::Array(
        words
            .iter()
            .map(|w| json!({ "word": w.word, "start_time": w.start, "end_time": w.end }))
            .collect(),
    )
}

/// A validated request to stream.
pub(super) struct StreamRequest {
    pub engine: Arc<dyn SpeechEngine>,
    pub model: String,
    pub voice: String,
    pub fell_back: bool,
    pub text: String,
    pub speed: f32,
    pub format: AudioFormat,
    pub pause: Duration,
    /// [`SpeechJob::max_spoken_chars`].
    pub max_spoken_chars: usize,
    pub mode: Wire,
    /// The request's admission place, held until synthesis ends.
    pub permit: Admitted,
    /// When the stream must end (and the limit in seconds), if it has a time limit.
    pub deadline: Option<(tokio::time::Instant, u32)>,
    /// Where the stream's metrics record goes when it ends.
    pub metrics: Metrics,
    /// Characters of the input, for that record.
    pub input_chars: usize,
}

/// Prepares the text (errors are still plain 4xx answers), then answers 200 with a body that
/// carries the audio as it is made.
pub(super) async fn respond(request: StreamRequest) -> Result<Response, ApiError> {
    let StreamRequest {
        engine,
        model,
        voice,
        fell_back,
        text,
        speed,
        format,
        pause,
        max_spoken_chars,
        mode,
        permit,
        deadline,
        metrics,
        input_chars,
    } = request;
    let started = Instant::now();
    let job_parts = (text, voice.clone());
    let prepared = {
        let engine = Arc::clone(&engine);
        let (text, voice) = job_parts.clone();
        tokio::task::spawn_blocking(move || {
            prepare_stream(
                engine.as_ref(),
                &job(
                    &text,
                    &voice,
                    speed,
                    format,
                    pause,
                    max_spoken_chars,
                    mode.timestamps(),
                ),
            )
        })
        .await
        .map_err(|e| ApiError::internal(format!("streaming task failed: {e}")))?
        .map_err(|e| synthesis_error(e, &model))?
    };
    let audio_type = prepared.content_type();
    let content_type = match mode {
        Wire::Audio => audio_type,
        Wire::Sse { .. } => "text/event-stream",
        Wire::Captioned { .. } => "application/json",
    };
    let sample_rate = prepared.sample_rate();

    let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(CHANNEL_CHUNKS);
    let stop = Stop::new();
    // The client hanging up drops the body and with it the receiver: stop at once, even while the
    // engine is between chunks. So does the time limit.
    let watcher = {
        let (tx, stop) = (tx.clone(), stop.clone());
        tokio::spawn(async move {
            match deadline {
                Some((at, _)) => tokio::select! {
                    () = tx.closed() => stop.set(),
                    () = tokio::time::sleep_until(at) => stop.set_because(StopCause::TimedOut),
                },
                None => {
                    tx.closed().await;
                    stop.set();
                }
            }
        })
    };
    let model_id = model.clone();
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let (text, voice) = job_parts;
        let job = job(
            &text,
            &voice,
            speed,
            format,
            pause,
            max_spoken_chars,
            mode.timestamps(),
        );
        let mut first_byte: Option<Duration> = None;
        let mut lines = Lines {
            audio_type,
            held: None,
            all: Vec::new(),
        };
        let mut emit = |event: StreamEvent| {
            let chunk = match (mode, event) {
                (Wire::Audio, StreamEvent::Audio(bytes)) => Some(Bytes::from(bytes)),
                (Wire::Sse { .. }, StreamEvent::Audio(bytes)) => Some(sse_event(&json!({
                    "type": "speech.audio.delta",
                    "audio": base64::engine::general_purpose::STANDARD.encode(&bytes),
                }))),
                (Wire::Sse { timestamps: true }, StreamEvent::Words(words)) => {
                    Some(sse_event(&json!({
                        "type": "speech.audio.timestamps",
                        "timestamps": words_json(&words),
                    })))
                }
                (Wire::Captioned { timestamps, .. }, event) => lines.event(event, timestamps),
                (_, StreamEvent::Words(_)) => None,
            };
            match chunk {
                Some(chunk) => {
                    first_byte.get_or_insert_with(|| started.elapsed());
                    tx.blocking_send(Ok(chunk)).is_ok()
                }
                None => !tx.is_closed(),
            }
        };
        // A panic in the engine or the encoder ends this stream with an error, not the process.
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            run_stream(engine.as_ref(), &job, prepared, &stop, &mut emit)
        }))
        .unwrap_or_else(|panic| {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            Err(SynthesisError::Panicked(message))
        });
        let cancelled = matches!(result, Err(SynthesisError::Engine(EngineError::Stopped)))
            && stop.reason() == Some(StopCause::Cancelled);
        let elapsed = started.elapsed().as_secs_f64();
        // The status went out as 200 with the first byte; a stream that failed later counts as a
        // server error, one whose client went away as cancelled.
        metrics.request(&RequestRecord {
            model: model_id.clone(),
            format: format.name().into(),
            status: if result.is_ok() || cancelled {
                200
            } else if stop.reason() == Some(StopCause::TimedOut) {
                504
            } else {
                500
            },
            streamed: true,
            cancelled,
            latency_ms: elapsed * 1e3,
            first_byte_ms: first_byte.map(|d| d.as_secs_f64() * 1e3),
            audio_seconds: result.as_ref().ok().map(|s| s.audio_seconds),
            input_chars: Some(input_chars),
        });
        match result {
            Ok(summary) => {
                if let Wire::Captioned { captions, .. } = mode {
                    for line in lines.finish(&text, captions) {
                        let _ = tx.blocking_send(Ok(line));
                    }
                }
                if let Wire::Sse { .. } = mode {
                    let done = sse_event(&json!({
                        "type": "speech.audio.done",
                        "usage": {
                            "input_tokens": summary.input_tokens,
                            "output_tokens": summary.output_tokens,
                            "total_tokens": summary.input_tokens + summary.output_tokens,
                        },
                    }));
                    let _ = tx.blocking_send(Ok(done));
                }
                tracing::info!(
                    model = %model_id,
                    voice = %voice,
                    format = format.name(),
                    stream = ?mode,
                    pieces = summary.pieces,
                    input_tokens = summary.input_tokens,
                    decoder_steps = summary.timings.decoder_steps.len(),
                    audio_seconds = summary.audio_seconds,
                    first_byte_ms = first_byte.map(|d| d.as_secs_f64() * 1e3),
                    ms = elapsed * 1e3,
                    rtf = if summary.audio_seconds > 0.0 { elapsed / summary.audio_seconds } else { 0.0 },
                    "stream finished"
                );
            }
            Err(_) if cancelled => {
                tracing::info!(model = %model_id, ms = elapsed * 1e3, "stream stopped: the client went away");
            }
            Err(error) => {
                // The status is already sent: SSE clients get an error event; an audio stream is
                // broken off (no final chunk), so the client sees an incomplete body, not a
                // short success.
                let timed_out = stop.reason() == Some(StopCause::TimedOut);
                let (message, kind, code) = if timed_out {
                    let secs = deadline.map_or(0, |(_, secs)| secs);
                    tracing::warn!(model = %model_id, limit_secs = secs, "stream timed out; synthesis stopped");
                    (
                        ApiError::TimedOut { secs }.to_string(),
                        "server_error",
                        Some("timeout"),
                    )
                } else {
                    tracing::error!(model = %model_id, %error, "stream failed");
                    (
                        "The server had an error while synthesizing the speech.".to_owned(),
                        "server_error",
                        None,
                    )
                };
                if let Wire::Sse { .. } = mode {
                    let _ = tx.blocking_send(Ok(sse_event(&json!({
                        "type": "error",
                        "error": {
                            "message": message,
                            "type": kind,
                            "param": null,
                            "code": code,
                        },
                    }))));
                } else {
                    let _ = tx.blocking_send(Err(std::io::Error::other(message)));
                }
            }
        }
        watcher.abort();
    });

    let body = Body::from_stream(ReceiverStream::new(rx));
    let mut response = Response::new(body);
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    let mut put = |name: &'static str, value: String| {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    };
    put("x-audio-sample-rate", sample_rate.to_string());
    put("x-tts-model", model);
    put("x-tts-voice", voice);
    if fell_back {
        put("x-tts-voice-fallback", "true".into());
    }
    Ok(response)
}

fn job<'a>(
    text: &'a str,
    voice: &'a str,
    speed: f32,
    format: AudioFormat,
    pause: Duration,
    max_spoken_chars: usize,
    timestamps: bool,
) -> SpeechJob<'a> {
    SpeechJob {
        text,
        voice,
        speed,
        format,
        pause,
        max_spoken_chars: Some(max_spoken_chars),
        timestamps,
    }
}

/// Kokoro-FastAPI's JSON lines: each line's audio with the words that start in it. Words come
/// after the audio they start in, so each audio part is held until the next event.
struct Lines {
    audio_type: &'static str,
    /// Audio not sent yet.
    held: Option<Vec<u8>>,
    /// Every word so far (for the captions).
    all: Vec<WordTime>,
}

impl Lines {
    fn line(&self, audio: &[u8], words: &[WordTime], timestamps: bool) -> Bytes {
        let words = if timestamps { words } else { &[] };
        let mut line = json!({
            "audio": base64::engine::general_purpose::STANDARD.encode(audio),
            "audio_format": self.audio_type,
            "timestamps": words_json(words),
        })
        .to_string();
        line.push('\n');
        Bytes::from(line)
    }

    /// The line to send for `event`, if one is due.
    fn event(&mut self, event: StreamEvent, timestamps: bool) -> Option<Bytes> {
        match event {
            StreamEvent::Audio(bytes) => {
                let previous = self.held.replace(bytes)?;
                Some(self.line(&previous, &[], timestamps))
            }
            StreamEvent::Words(words) => {
                let audio = self.held.take().unwrap_or_default();
                let line = self.line(&audio, &words, timestamps);
                self.all.extend(words);
                Some(line)
            }
        }
    }

    /// The last lines: audio still held, then the captions of `text` if asked.
    fn finish(&mut self, text: &str, captions: Option<CaptionFormat>) -> Vec<Bytes> {
        let mut out = Vec::new();
        if let Some(audio) = self.held.take() {
            out.push(self.line(&audio, &[], false));
        }
        if let Some(format) = captions {
            let mut line = json!({
                "audio": "",
                "audio_format": self.audio_type,
                "timestamps": [],
                "captions": render(&cues(text, &self.all), format),
            })
            .to_string();
            line.push('\n');
            out.push(Bytes::from(line));
        }
        out
    }
}

/// One server-sent event carrying `value` as its data.
fn sse_event(value: &serde_json::Value) -> Bytes {
    Bytes::from(format!("data: {value}\n\n"))
}
