//! `loadtest`: sends a bounded number of speech requests to a running function at a fixed
//! concurrency and prints one JSON report: latency percentiles, the function's own real-time
//! factor and audio seconds (from its response headers), throughput and errors by status.
//! Bounded in requests and time; meant for loopback targets.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use serde_json::json;
use tokio::sync::Mutex;

#[derive(Parser, Debug)]
struct Args {
    /// Base URL of the function, e.g. http://127.0.0.1:8080 or http://localhost:9000.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// Speech path.
    #[arg(long, default_value = "/v1/audio/speech")]
    path: String,
    /// Model name to ask for.
    #[arg(long, default_value = "speecht5")]
    model: String,
    /// Voice to ask for.
    #[arg(long, default_value = "speaker_a")]
    voice: String,
    /// Text to speak.
    #[arg(long, default_value = "The quick brown fox jumps over the lazy dog.")]
    input: String,
    /// Total requests.
    #[arg(long, default_value_t = 20)]
    requests: usize,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 1)]
    concurrency: usize,
    /// Stop sending new requests after this many seconds.
    #[arg(long, default_value_t = 120)]
    max_seconds: u64,
}

#[derive(Default)]
struct Results {
    latencies: Vec<f64>,
    audio_seconds: Vec<f64>,
    server_rtf: Vec<f64>,
    statuses: BTreeMap<String, usize>,
}

fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    Some(sorted[rank.min(sorted.len() - 1)])
}

fn header(response: &reqwest::Response, name: &str) -> Option<f64> {
    response.headers().get(name)?.to_str().ok()?.parse().ok()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()?;
    let url = format!("{}{}", args.url.trim_end_matches('/'), args.path);
    let body = json!({"model": args.model, "input": args.input, "voice": args.voice, "response_format": "wav"});
    let results = Arc::new(Mutex::new(Results::default()));
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let deadline = Instant::now() + Duration::from_secs(args.max_seconds);
    let started = Instant::now();
    let workers: Vec<_> = (0..args.concurrency.max(1))
        .map(|_| {
            let (client, url, body, results, next) = (
                client.clone(),
                url.clone(),
                body.clone(),
                results.clone(),
                next.clone(),
            );
            let total = args.requests;
            tokio::spawn(async move {
                while next.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < total
                    && Instant::now() < deadline
                {
                    let sent = Instant::now();
                    let outcome = client.post(&url).json(&body).send().await;
                    let mut results = results.lock().await;
                    match outcome {
                        Ok(response) => {
                            let status = response.status();
                            let audio = header(&response, "x-audio-duration-seconds");
                            let rtf = header(&response, "x-real-time-factor");
                            let complete = response.bytes().await.is_ok();
                            *results
                                .statuses
                                .entry(status.as_u16().to_string())
                                .or_default() += 1;
                            if status.is_success() && complete {
                                results.latencies.push(sent.elapsed().as_secs_f64() * 1e3);
                                results.audio_seconds.extend(audio);
                                results.server_rtf.extend(rtf);
                            }
                        }
                        Err(error) => {
                            let kind = if error.is_timeout() {
                                "timeout"
                            } else {
                                "connection"
                            };
                            *results.statuses.entry(kind.to_owned()).or_default() += 1;
                        }
                    }
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await?;
    }
    let wall = started.elapsed().as_secs_f64();
    let results = results.lock().await;
    let mut latencies = results.latencies.clone();
    latencies.sort_by(f64::total_cmp);
    let mut rtf = results.server_rtf.clone();
    rtf.sort_by(f64::total_cmp);
    let audio_total: f64 = results.audio_seconds.iter().sum();
    let report = json!({
        "url": url,
        "concurrency": args.concurrency,
        "requests_sent": results.statuses.values().sum::<usize>(),
        "statuses": results.statuses,
        "wall_seconds": wall,
        "latency_ms": {"p50": percentile(&latencies, 50.0), "p90": percentile(&latencies, 90.0), "p99": percentile(&latencies, 99.0)},
        "server_rtf_p50": percentile(&rtf, 50.0),
        "audio_seconds_total": audio_total,
        "throughput_audio_seconds_per_second": audio_total / wall,
    });
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}
