//! One load level: a fixed number of workers (the concurrency) send speech requests in a closed
//! loop until the request budget or the time budget is spent. Each request is timed to its first
//! body byte (a streaming read) and to its last, and the function's own real-time factor and audio
//! duration are read from its response headers. A streamed answer's audio chunks are timed as
//! they arrive, for the playback stalls a listener would hear ([`playback_stalls`]); the client
//! can hang up once it has heard enough ([`heard_enough`]).

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
    /// Hang up on a streamed answer once this many seconds of audio arrived; `None`: read it all.
    pub listen_seconds: Option<f64>,
}

/// Streamed pcm is 24 kHz s16le mono: 48 000 bytes a second of audio.
pub const PCM_BYTES_PER_SECOND: f64 = 48_000.0;

/// How often, and how long in all, playback of a stream would have waited for audio.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Stalls {
    pub total_ms: f64,
    pub count: usize,
}

/// The stalls of a listener who starts playing a stream at its first audio chunk, at real time.
/// `arrivals` are the audio chunks in order: (arrival, milliseconds since the request was sent;
/// audio bytes received before the chunk). Chunk `i` is due when the audio before it has played:
/// `first arrival + bytes_before / 48 000 s + the stalls so far`; arriving later stalls playback
/// by the difference.
pub fn playback_stalls(arrivals: &[(f64, usize)]) -> Stalls {
    let Some(&(start, _)) = arrivals.first() else {
        return Stalls::default();
    };
    let mut stalls = Stalls::default();
    for &(arrived, before) in &arrivals[1..] {
        let due = start + before as f64 / PCM_BYTES_PER_SECOND * 1e3 + stalls.total_ms;
        if arrived > due {
            stalls.total_ms += arrived - due;
            stalls.count += 1;
        }
    }
    stalls
}

/// Whether a listener who wants `listen_seconds` of audio (`None` or 0: all of it) has heard
/// enough after `audio_bytes` of pcm.
pub fn heard_enough(audio_bytes: usize, listen_seconds: Option<f64>) -> bool {
    listen_seconds.is_some_and(|s| s > 0.0 && audio_bytes as f64 >= s * PCM_BYTES_PER_SECOND)
}

/// Counts the audio in a server-sent-event body: the decoded length of each complete event's
/// base64 `audio` field (an event can span body chunks).
#[derive(Debug, Default)]
struct SseAudio {
    pending: Vec<u8>,
}

impl SseAudio {
    /// Takes one body chunk; returns the audio bytes of the events it completed.
    fn feed(&mut self, chunk: &[u8]) -> usize {
        self.pending.extend_from_slice(chunk);
        let mut audio = 0;
        while let Some(end) = self.pending.windows(2).position(|w| w == b"\n\n") {
            let event: Vec<u8> = self.pending.drain(..end + 2).collect();
            audio += String::from_utf8_lossy(&event)
                .lines()
                .filter_map(|line| line.strip_prefix("data:"))
                .filter_map(|data| serde_json::from_str::<serde_json::Value>(data.trim()).ok())
                .filter_map(|event| event["audio"].as_str().map(base64_decoded_len))
                .sum::<usize>();
        }
        audio
    }
}

/// Bytes that padded base64 text decodes to.
fn base64_decoded_len(text: &str) -> usize {
    let padding = text.bytes().rev().take_while(|&b| b == b'=').count();
    (text.len() / 4 * 3).saturating_sub(padding)
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
    /// A streamed 200 answer's playback stall, milliseconds (see [`playback_stalls`]).
    pub stall_ms: Option<f64>,
    /// How many times that playback would have stalled.
    pub stalls: usize,
    /// The client hung up after hearing `listen_seconds` of audio (latency is then to the hang-up).
    pub hung_up: bool,
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

/// Sends one request and reads the body as a stream, noting when its first byte arrives and, for
/// a streamed answer, when each piece of audio does. A streamed answer is dropped (the function
/// takes that as a cancellation) once `listen_seconds` of audio arrived.
pub async fn one_request(
    client: &reqwest::Client,
    url: &str,
    body: &serde_json::Value,
    listen_seconds: Option<f64>,
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
        stall_ms: None,
        stalls: 0,
        hung_up: false,
    };
    let mut response = match client.post(url).json(body).send().await {
        Ok(response) => response,
        Err(e) if e.is_timeout() => return (sent, failed("timeout")),
        Err(_) => return (sent, failed("connection")),
    };
    let status = response.status().as_u16().to_string();
    let rtf = header(&response, "x-real-time-factor");
    let audio_seconds = header(&response, "x-audio-duration-seconds");
    let stream_format = body.get("stream_format").and_then(|v| v.as_str());
    // Only a 200 body is audio; an error answer is a JSON body.
    let streamed = status == "200" && stream_format.is_some();
    let mut sse = (streamed && stream_format == Some("sse")).then(SseAudio::default);
    let mut ttfb_ms = None;
    let mut bytes = 0;
    // (arrival ms, audio bytes before) of each chunk that carried audio.
    let mut arrivals = Vec::new();
    let mut audio_bytes = 0;
    let mut hung_up = false;
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                let now = ms(Instant::now());
                if ttfb_ms.is_none() && !chunk.is_empty() {
                    ttfb_ms = Some(now);
                }
                bytes += chunk.len();
                let audio = match &mut sse {
                    Some(sse) => sse.feed(&chunk),
                    None if streamed => chunk.len(),
                    None => 0,
                };
                if audio > 0 {
                    arrivals.push((now, audio_bytes));
                    audio_bytes += audio;
                }
                if heard_enough(audio_bytes, listen_seconds) {
                    hung_up = true;
                    break;
                }
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
    // Hanging up: the connection closes with the response.
    drop(response);
    let latency_ms = ms(Instant::now());
    // A streamed body has no duration header: its pcm tells the audio's length.
    let audio_seconds = audio_seconds
        .or((streamed && audio_bytes > 0).then(|| audio_bytes as f64 / PCM_BYTES_PER_SECOND));
    let rtf = rtf.or_else(|| audio_seconds.map(|a| latency_ms / 1e3 / a));
    let stalls = (streamed && !arrivals.is_empty()).then(|| playback_stalls(&arrivals));
    let sample = Sample {
        status,
        latency_ms,
        ttfb_ms,
        rtf,
        audio_seconds,
        bytes,
        stall_ms: stalls.map(|s| s.total_ms),
        stalls: stalls.map_or(0, |s| s.count),
        hung_up,
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
    /// Playback stall of the streamed 200 responses (p50, p90, max; null when not streamed).
    pub stall_ms: BTreeMap<&'static str, Option<f64>>,
    /// Streamed 200 responses whose playback would have stalled at least once.
    pub stalled_requests: usize,
    /// Stalls summed over the streamed 200 responses.
    pub stalls_total: usize,
    /// 200 responses hung up on after `listen_seconds` of audio (their latency ends there).
    pub hung_up: usize,
}

impl Level {
    pub fn report(&self) -> LevelReport {
        let ok: Vec<&Sample> = self.samples.iter().filter(|s| s.ok()).collect();
        let latencies: Vec<f64> = ok.iter().map(|s| r3(s.latency_ms)).collect();
        let ttfbs: Vec<f64> = ok.iter().filter_map(|s| s.ttfb_ms.map(r3)).collect();
        let rtf = sorted(&ok.iter().filter_map(|s| s.rtf).collect::<Vec<_>>());
        let audio_total: f64 = ok.iter().filter_map(|s| s.audio_seconds).sum();
        let (lat, ttfb) = (sorted(&latencies), sorted(&ttfbs));
        let stall = sorted(
            &ok.iter()
                .filter_map(|s| s.stall_ms.map(r3))
                .collect::<Vec<_>>(),
        );
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
            stall_ms: [
                ("p50", percentile(&stall, 50.0)),
                ("p90", percentile(&stall, 90.0)),
                ("max", stall.last().copied()),
            ]
            .into(),
            stalled_requests: ok.iter().filter(|s| s.stall_ms > Some(0.0)).count(),
            stalls_total: ok.iter().map(|s| s.stalls).sum(),
            hung_up: ok.iter().filter(|s| s.hung_up).count(),
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
                    let (_, sample) =
                        one_request(&client, &plan.url, &body, plan.listen_seconds).await;
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

#[cfg(test)]
mod tests {
    use super::*;

    /// (arrival ms, bytes before) of chunks of `chunk_s` seconds of pcm arriving at `times`.
    fn chunks(times: &[f64], chunk_s: f64) -> Vec<(f64, usize)> {
        let size = (chunk_s * PCM_BYTES_PER_SECOND) as usize;
        times
            .iter()
            .enumerate()
            .map(|(i, &t)| (t, i * size))
            .collect()
    }

    #[test]
    fn a_stream_ahead_of_real_time_never_stalls() {
        // Half-second chunks every 200 ms, then one exactly on time (1000 ms + 2 s played).
        let mut arrivals = chunks(&[1000.0, 1200.0, 1400.0, 1600.0], 0.5);
        arrivals.push((3000.0, 4 * 24_000));
        assert_eq!(playback_stalls(&arrivals), Stalls::default());
        assert_eq!(playback_stalls(&[]), Stalls::default());
        assert_eq!(playback_stalls(&[(300.0, 0)]), Stalls::default());
    }

    #[test]
    fn one_late_chunk_stalls_by_its_lateness() {
        // Second chunk due at 1000 + 500 ms, arrives at 1800: playback waits 300 ms.
        let stalls = playback_stalls(&chunks(&[1000.0, 1800.0, 1900.0], 0.5));
        assert_eq!(stalls.count, 1);
        assert!((stalls.total_ms - 300.0).abs() < 1e-9, "{stalls:?}");
    }

    #[test]
    fn late_chunks_accumulate_with_the_earlier_stall_pushing_the_deadline() {
        // Chunk 1 due 1500, arrives 1800: +300. Chunk 2 due 1000 + 1000 + 300 = 2300, arrives
        // 2400: +100. Chunk 3 due 2800, arrives 2700: on time.
        let stalls = playback_stalls(&chunks(&[1000.0, 1800.0, 2400.0, 2700.0], 0.5));
        assert_eq!(stalls.count, 2);
        assert!((stalls.total_ms - 400.0).abs() < 1e-9, "{stalls:?}");
    }

    #[test]
    fn the_listener_hangs_up_after_the_seconds_asked_for() {
        assert!(!heard_enough(1_000_000, None));
        assert!(!heard_enough(1_000_000, Some(0.0)));
        assert!(!heard_enough(191_999, Some(4.0)));
        assert!(heard_enough(192_000, Some(4.0)));
        assert!(heard_enough(24_000, Some(0.5)));
    }

    #[test]
    fn sse_audio_is_counted_from_complete_events_across_chunks() {
        let mut sse = SseAudio::default();
        // "AAAA" is 3 bytes, "AAA=" 2, "AA==" 1.
        let body = "data: {\"type\":\"speech.audio.delta\",\"audio\":\"AAAAAAA=\"}\n\n\
                    data: {\"type\":\"speech.audio.delta\",\"audio\":\"AA==\"}\n\n\
                    data: {\"type\":\"speech.audio.done\",\"usage\":{}}\n\n";
        let (a, b) = body.as_bytes().split_at(20);
        assert_eq!(sse.feed(a), 0);
        assert_eq!(sse.feed(b), 5 + 1);
        assert!(sse.pending.is_empty());
    }
}
