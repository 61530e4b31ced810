//! One load level: a fixed number of workers (the concurrency) send speech requests in a closed
//! loop until the request budget or the time budget is spent. Each request is timed to its first
//! body byte (a streaming read) and to its last, and the function's own real-time factor and audio
//! duration are read from its response headers.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::json;
use tokio::sync::Mutex;

use crate::stats::{percentile, r3, sorted};

/// What to send and how much of it.
#[derive(Clone, Debug)]
pub struct LevelPlan {
    /// Full speech URL, e.g. `http://127.0.0.1:8080/v1/audio/speech`.
    pub url: String,
    pub model: String,
    pub voice: String,
    /// Texts sent in turn (request `i` sends `inputs[i % len]`).
    pub inputs: Arc<Vec<String>>,
    pub concurrency: usize,
    pub requests: usize,
    /// No new request starts after this many seconds (requests in flight finish).
    pub max_seconds: f64,
    /// `stream_format` to ask for ("audio" or "sse"); `None`: the whole audio in one body.
    pub stream_format: Option<String>,
}

/// One request's outcome.
#[derive(Clone, Debug)]
pub struct Sample {
    /// "200", "429", …, or "timeout", "connection", "body_error".
    pub status: String,
    /// Send to last body byte, milliseconds.
    pub latency_ms: f64,
    /// Send to first body byte, milliseconds (None without a body).
    pub ttfb_ms: Option<f64>,
    pub rtf: Option<f64>,
    pub audio_seconds: Option<f64>,
    pub bytes: usize,
}

impl Sample {
    pub fn ok(&self) -> bool {
        self.status == "200"
    }
}

/// The request body for input text `input`: whole WAV answers, or streamed raw PCM (24 kHz
/// s16le, so the audio's length follows from the bytes) when the plan streams.
pub fn speech_body(plan: &LevelPlan, input: &str) -> serde_json::Value {
    match &plan.stream_format {
        None => {
            json!({"model": plan.model, "input": input, "voice": plan.voice, "response_format": "wav"})
        }
        Some(stream) => json!({"model": plan.model, "input": input, "voice": plan.voice,
                               "response_format": "pcm", "stream_format": stream}),
    }
}

fn header(response: &reqwest::Response, name: &str) -> Option<f64> {
    response.headers().get(name)?.to_str().ok()?.parse().ok()
}

/// Sends one request and reads the body as a stream, noting when its first byte arrives.
pub async fn one_request(
    client: &reqwest::Client,
    url: &str,
    body: &serde_json::Value,
) -> (Instant, Sample) {
    let sent = Instant::now();
    let ms = |t: Instant| t.duration_since(sent).as_secs_f64() * 1e3;
    let failed = |status: &str| Sample {
        status: status.to_owned(),
        latency_ms: ms(Instant::now()),
        ttfb_ms: None,
        rtf: None,
        audio_seconds: None,
        bytes: 0,
    };
    let mut response = match client.post(url).json(body).send().await {
        Ok(response) => response,
        Err(e) if e.is_timeout() => return (sent, failed("timeout")),
        Err(_) => return (sent, failed("connection")),
    };
    let status = response.status().as_u16().to_string();
    let rtf = header(&response, "x-real-time-factor");
    let audio_seconds = header(&response, "x-audio-duration-seconds");
    let mut ttfb_ms = None;
    let mut bytes = 0;
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if ttfb_ms.is_none() && !chunk.is_empty() {
                    ttfb_ms = Some(ms(Instant::now()));
                }
                bytes += chunk.len();
            }
            Ok(None) => break,
            Err(e) => {
                let kind = if e.is_timeout() {
                    "timeout"
                } else {
                    "body_error"
                };
                return (sent, failed(kind));
            }
        }
    }
    let latency_ms = ms(Instant::now());
    // A streamed pcm body has no duration header: 24 kHz 16-bit mono is 48 000 bytes a second.
    let streamed_pcm = body.get("stream_format").and_then(|v| v.as_str()) == Some("audio");
    let audio_seconds =
        audio_seconds.or((streamed_pcm && bytes > 0).then(|| bytes as f64 / 48_000.0));
    let rtf = rtf.or_else(|| audio_seconds.map(|a| latency_ms / 1e3 / a));
    let sample = Sample {
        status,
        latency_ms,
        ttfb_ms,
        rtf,
        audio_seconds,
        bytes,
    };
    (sent, sample)
}

/// A finished level.
#[derive(Clone, Debug)]
pub struct Level {
    pub concurrency: usize,
    pub planned: usize,
    pub wall_s: f64,
    /// Seconds since the sweep's clock origin when this level started and ended.
    pub span: (f64, f64),
    pub samples: Vec<Sample>,
    pub rss_peak_mb: Option<f64>,
}

/// The level's summary, as in the report contract's `sweep` entries (plus a few extras).
#[derive(Serialize)]
pub struct LevelReport {
    pub concurrency: usize,
    pub requests: usize,
    pub requests_planned: usize,
    pub wall_s: f64,
    pub latency_ms: BTreeMap<&'static str, Option<f64>>,
    pub ttfb_ms: BTreeMap<&'static str, Option<f64>>,
    pub rtf_p50: Option<f64>,
    pub rtf_p90: Option<f64>,
    pub audio_seconds_total: f64,
    /// Body bytes of the 200 responses.
    pub response_bytes_total: usize,
    pub throughput_audio_s_per_s: f64,
    pub requests_per_s: f64,
    pub statuses: BTreeMap<String, usize>,
    pub rss_peak_mb: Option<f64>,
    /// Every successful request's latency, in completion order.
    pub latencies_ms: Vec<f64>,
    /// Every successful request's time to first audio byte, in completion order.
    pub ttfbs_ms: Vec<f64>,
}

impl Level {
    pub fn report(&self) -> LevelReport {
        let ok: Vec<&Sample> = self.samples.iter().filter(|s| s.ok()).collect();
        let latencies: Vec<f64> = ok.iter().map(|s| r3(s.latency_ms)).collect();
        let ttfbs: Vec<f64> = ok.iter().filter_map(|s| s.ttfb_ms.map(r3)).collect();
        let rtf = sorted(&ok.iter().filter_map(|s| s.rtf).collect::<Vec<_>>());
        let audio_total: f64 = ok.iter().filter_map(|s| s.audio_seconds).sum();
        let (lat, ttfb) = (sorted(&latencies), sorted(&ttfbs));
        let mut statuses = BTreeMap::new();
        for s in &self.samples {
            *statuses.entry(s.status.clone()).or_default() += 1;
        }
        let wall = self.wall_s.max(1e-9);
        LevelReport {
            concurrency: self.concurrency,
            requests: self.samples.len(),
            requests_planned: self.planned,
            wall_s: r3(self.wall_s),
            latency_ms: [
                ("p50", percentile(&lat, 50.0)),
                ("p90", percentile(&lat, 90.0)),
                ("p99", percentile(&lat, 99.0)),
                ("max", lat.last().copied()),
            ]
            .into(),
            ttfb_ms: [
                ("p50", percentile(&ttfb, 50.0)),
                ("p90", percentile(&ttfb, 90.0)),
            ]
            .into(),
            rtf_p50: percentile(&rtf, 50.0),
            rtf_p90: percentile(&rtf, 90.0),
            audio_seconds_total: r3(audio_total),
            response_bytes_total: ok.iter().map(|s| s.bytes).sum(),
            throughput_audio_s_per_s: r3(audio_total / wall),
            requests_per_s: r3(ok.len() as f64 / wall),
            statuses,
            rss_peak_mb: self.rss_peak_mb,
            latencies_ms: latencies,
            ttfbs_ms: ttfbs,
        }
    }
}

/// Runs one level to completion. `origin` is the sweep's clock origin (for `span`).
pub async fn run_level(client: &reqwest::Client, plan: &LevelPlan, origin: Instant) -> Level {
    let samples = Arc::new(Mutex::new(Vec::with_capacity(plan.requests)));
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(plan.max_seconds.max(0.0));
    let workers: Vec<_> = (0..plan.concurrency.max(1))
        .map(|_| {
            let (client, plan, samples, next) =
                (client.clone(), plan.clone(), samples.clone(), next.clone());
            tokio::spawn(async move {
                loop {
                    if Instant::now() >= deadline {
                        break;
                    }
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= plan.requests {
                        break;
                    }
                    let body = speech_body(&plan, &plan.inputs[i % plan.inputs.len()]);
                    let (_, sample) = one_request(&client, &plan.url, &body).await;
                    samples.lock().await.push(sample);
                }
            })
        })
        .collect();
    for worker in workers {
        // A worker only panics on a bug; its requests are then simply missing from the level.
        let _ = worker.await;
    }
    let ended = Instant::now();
    let samples = std::mem::take(&mut *samples.lock().await);
    Level {
        concurrency: plan.concurrency,
        planned: plan.requests,
        wall_s: ended.duration_since(started).as_secs_f64(),
        span: (
            started.duration_since(origin).as_secs_f64(),
            ended.duration_since(origin).as_secs_f64(),
        ),
        samples,
        rss_peak_mb: None,
    }
}
