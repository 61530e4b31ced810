//! `loadtest suite`: the function's cold start (without and with the compiled-model cache), a
//! concurrency sweep against one spawned server (or a given URL) with its memory sampled, the
//! streamed phase on the same server (time to first audio byte and playback stalls of one longer
//! input, one request at a time), the `loadtest.json` report of the shared contract and a
//! Markdown summary.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Map, Value};

use crate::load::{one_request, run_level, speech_body, Level, LevelPlan};
use crate::server::{proc_status_mb, RssSampler, Server, ServerConfig};
use crate::stats::{median, r3};

/// Everything the suite needs, resolved from the command line.
#[derive(Clone, Debug)]
pub struct SuitePlan {
    pub server: ServerConfig,
    /// Sweep against this base URL instead of a spawned server.
    pub url: Option<String>,
    pub path: String,
    pub model: String,
    pub voice: String,
    pub inputs: Vec<String>,
    pub cold_runs: usize,
    pub skip_cold: bool,
    pub concurrency: Vec<usize>,
    pub requests: usize,
    pub max_seconds: f64,
    pub request_timeout: Duration,
    pub rss_interval: Duration,
    pub smoke: bool,
    /// Streamed requests after the sweep (0: no streamed phase).
    pub stream_requests: usize,
    pub stream_input: String,
    /// Hang up on each streamed request after this many seconds of audio (0: read to the end).
    pub stream_listen_seconds: f64,
    pub out: PathBuf,
}

fn progress(message: impl AsRef<str>) {
    eprintln!("[loadtest] {}", message.as_ref());
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// One cold start: spawn, the function's own phases, and the first request's first audio byte.
/// Returns the run's JSON (all milliseconds; `timeline_ms` are instants since the spawn call).
async fn cold_run(
    plan: &SuitePlan,
    client: &reqwest::Client,
    cache: Option<&Path>,
) -> Result<Value, String> {
    let server = Server::start(&plan.server, cache).await?;
    // Sent as soon as `listening on` was read.
    let url = format!("{}{}", server.url, plan.path);
    let body = speech_body(&level_plan(plan, &url, 1, 1), &plan.inputs[0]);
    let (sent, sample) = one_request(client, &url, &body, None).await;
    let sent_ms = ms(sent.duration_since(server.t0));
    let s = server.startup;
    // `ready_ms` counts from main(); what comes before it (exec, dynamic loading, the pipe) is
    // the rest of the time to `listening on`.
    let main_at = server.listening_ms - s.ready_ms;
    let first_byte_at = sample.ttfb_ms.map(|t| sent_ms + t);
    let run = json!({
        "spawn_ms": r3(server.spawn_ms),
        "before_main_ms": r3(main_at),
        "runtime_ms": r3(s.runtime_ms),
        "models_ms": r3(s.models_ms),
        "ready_ms": r3(s.ready_ms),
        "listening_ms": r3(server.listening_ms),
        "first_request_ms": sample.ttfb_ms.map(r3),
        "first_audio_byte_ms": first_byte_at.map(r3),
        "first_request_status": sample.status,
        "first_request_audio_seconds": sample.audio_seconds,
        "timeline_ms": {
            "spawned": r3(server.spawn_ms),
            "main": r3(main_at),
            "runtime_loaded": r3(main_at + s.runtime_ms),
            "models_compiled": r3(main_at + s.runtime_ms + s.models_ms),
            "ready": r3(server.listening_ms),
            "first_audio_byte": first_byte_at.map(r3),
        },
    });
    server.stop().await;
    if sample.status != "200" {
        return Err(format!(
            "the first request after a cold start got {}",
            sample.status
        ));
    }
    Ok(run)
}

/// Medians of every number in the runs (also inside `timeline_ms`).
fn medians(runs: &[Value]) -> Value {
    fn walk(runs: &[&Map<String, Value>]) -> Value {
        let mut out = Map::new();
        let Some(first) = runs.first() else {
            return Value::Object(out);
        };
        for (key, value) in first.iter() {
            if value.is_object() {
                let inner: Vec<_> = runs
                    .iter()
                    .filter_map(|r| r.get(key).and_then(Value::as_object))
                    .collect();
                out.insert(key.clone(), walk(&inner));
            } else if value.is_number() {
                let xs: Vec<f64> = runs
                    .iter()
                    .filter_map(|r| r.get(key).and_then(Value::as_f64))
                    .collect();
                out.insert(key.clone(), json!(median(&xs).map(r3)));
            }
        }
        Value::Object(out)
    }
    let maps: Vec<_> = runs.iter().filter_map(Value::as_object).collect();
    walk(&maps)
}

/// A fresh, empty folder under the system's temporary folder.
fn fresh_temp_dir(tag: &str) -> Result<PathBuf, String> {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let dir =
        std::env::temp_dir().join(format!("tts-loadtest-{tag}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    Ok(dir)
}

async fn cold_start(plan: &SuitePlan, client: &reqwest::Client) -> Result<Vec<Value>, String> {
    let mut entries = Vec::new();
    for cache in [false, true] {
        let dir = if cache {
            let dir = fresh_temp_dir("cache")?;
            progress(format!(
                "cold start, cache: priming start to fill {}",
                dir.display()
            ));
            let primed = Server::start(&plan.server, Some(&dir)).await;
            match primed {
                Ok(server) => server.stop().await,
                Err(e) => {
                    let _ = std::fs::remove_dir_all(&dir);
                    return Err(e);
                }
            }
            Some(dir)
        } else {
            None
        };
        let mut runs = Vec::new();
        for i in 0..plan.cold_runs {
            let run = cold_run(plan, client, dir.as_deref()).await;
            let run = match run {
                Ok(run) => run,
                Err(e) => {
                    if let Some(dir) = &dir {
                        let _ = std::fs::remove_dir_all(dir);
                    }
                    return Err(e);
                }
            };
            progress(format!(
                "cold start, cache {}: run {}/{}: ready {:.0} ms after spawn (models {:.0} ms), first audio byte {:.0} ms",
                if cache { "on" } else { "off" },
                i + 1,
                plan.cold_runs,
                run["listening_ms"].as_f64().unwrap_or(0.0),
                run["models_ms"].as_f64().unwrap_or(0.0),
                run["first_audio_byte_ms"].as_f64().unwrap_or(0.0),
            ));
            runs.push(run);
        }
        if let Some(dir) = &dir {
            let _ = std::fs::remove_dir_all(dir);
        }
        entries.push(json!({
            "cache": cache,
            "runs": runs.len(),
            "median": medians(&runs),
            "all": runs,
        }));
    }
    Ok(entries)
}

fn level_plan(plan: &SuitePlan, url: &str, concurrency: usize, requests: usize) -> LevelPlan {
    LevelPlan {
        url: url.to_owned(),
        model: plan.model.clone(),
        voice: plan.voice.clone(),
        inputs: Arc::new(plan.inputs.clone()),
        concurrency,
        requests,
        max_seconds: plan.max_seconds,
        stream_format: None,
        listen_seconds: None,
    }
}

/// The streamed phase's plan: one request at a time, raw pcm as it is made.
fn stream_plan(plan: &SuitePlan, url: &str) -> LevelPlan {
    LevelPlan {
        inputs: Arc::new(vec![plan.stream_input.clone()]),
        stream_format: Some("audio".into()),
        listen_seconds: (plan.stream_listen_seconds > 0.0).then_some(plan.stream_listen_seconds),
        ..level_plan(plan, url, 1, plan.stream_requests)
    }
}

struct Sweep {
    levels: Vec<Level>,
    stream: Option<Level>,
    warmup_ms: Vec<f64>,
    rss: Vec<(f64, f64)>,
    rss_ready_mb: Option<f64>,
    rss_hwm_mb: Option<f64>,
}

async fn sweep(plan: &SuitePlan, client: &reqwest::Client) -> Result<Sweep, String> {
    let server = match &plan.url {
        Some(_) => None,
        None => Some(Server::start(&plan.server, None).await?),
    };
    let base = match (&plan.url, &server) {
        (Some(url), _) => url.trim_end_matches('/').to_owned(),
        (None, Some(server)) => server.url.clone(),
        (None, None) => unreachable!("a server was started when no URL was given"),
    };
    let url = format!("{base}{}", plan.path);
    let origin = Instant::now();
    let pid = server.as_ref().map(|s| s.pid);
    let rss_ready_mb = pid.and_then(|pid| proc_status_mb(pid, "VmRSS"));
    let sampler = pid.map(|pid| RssSampler::start(pid, plan.rss_interval, origin));
    progress(format!(
        "sweep against {base}{}",
        if pid.is_some() {
            " (spawned; RSS sampled)"
        } else {
            ""
        }
    ));
    // One request per slot at once first, so the sweep does not count one-off costs of the
    // first inferences (the function compiles a model's further slots on their first use).
    let warmup_plan = level_plan(
        plan,
        &url,
        plan.server.slots as usize,
        plan.server.slots as usize,
    );
    let warmup = run_level(client, &warmup_plan, origin).await;
    let warmup_ms: Vec<f64> = warmup.samples.iter().map(|s| r3(s.latency_ms)).collect();
    let warmup_statuses: Vec<&str> = warmup.samples.iter().map(|s| s.status.as_str()).collect();
    progress(format!(
        "sweep warm-up, {} requests at once: {warmup_statuses:?} in {warmup_ms:?} ms",
        warmup.samples.len()
    ));
    let mut levels = Vec::new();
    for &c in &plan.concurrency {
        // The level's span for its RSS peak includes a sample just before and just after it.
        let before = origin.elapsed().as_secs_f64();
        if let Some(sampler) = &sampler {
            sampler.sample_now();
        }
        let mut level = run_level(client, &level_plan(plan, &url, c, plan.requests), origin).await;
        if let Some(sampler) = &sampler {
            sampler.sample_now();
        }
        level.span = (before, origin.elapsed().as_secs_f64());
        let report = level.report();
        progress(format!(
            "sweep concurrency {c}: {} requests in {:.1} s, statuses {:?}, p50 {:.0} ms, p90 {:.0} ms, {:.2} audio-s/s",
            report.requests,
            report.wall_s,
            report.statuses,
            report.latency_ms["p50"].unwrap_or(f64::NAN),
            report.latency_ms["p90"].unwrap_or(f64::NAN),
            report.throughput_audio_s_per_s,
        ));
        levels.push(level);
    }
    let stream = if plan.stream_requests > 0 {
        let level = run_level(client, &stream_plan(plan, &url), origin).await;
        let report = level.report();
        progress(format!(
            "streamed, {} requests one at a time (listening {}): statuses {:?}, first audio byte p50 {:.0} ms, stall p50 {:.0} ms, max {:.0} ms, {} stalled, {} hung up",
            report.requests,
            if plan.stream_listen_seconds > 0.0 {
                format!("{} s", plan.stream_listen_seconds)
            } else {
                "to the end".into()
            },
            report.statuses,
            report.ttfb_ms["p50"].unwrap_or(f64::NAN),
            report.stall_ms["p50"].unwrap_or(f64::NAN),
            report.stall_ms["max"].unwrap_or(f64::NAN),
            report.stalled_requests,
            report.hung_up,
        ));
        Some(level)
    } else {
        None
    };
    let rss = match sampler {
        Some(sampler) => sampler.finish().await,
        None => Vec::new(),
    };
    for level in &mut levels {
        level.rss_peak_mb = rss
            .iter()
            .filter(|(t, _)| *t >= level.span.0 && *t <= level.span.1)
            .map(|(_, mb)| *mb)
            .reduce(f64::max)
            .map(r3);
    }
    let rss_hwm_mb = pid.and_then(|pid| proc_status_mb(pid, "VmHWM"));
    if let Some(server) = server {
        server.stop().await;
    }
    Ok(Sweep {
        levels,
        stream,
        warmup_ms,
        rss,
        rss_ready_mb,
        rss_hwm_mb,
    })
}

fn load_average() -> Option<String> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
}

/// Runs the suite, writes the report and returns it with its Markdown summary. The function's
/// configuration file exists only while the suite runs.
pub async fn run(plan: SuitePlan) -> Result<(Value, String), String> {
    plan.server.write_config()?;
    let outcome = run_with_config(plan.clone()).await;
    let _ = std::fs::remove_file(&plan.server.config);
    outcome
}

async fn run_with_config(plan: SuitePlan) -> Result<(Value, String), String> {
    let client = reqwest::Client::builder()
        .timeout(plan.request_timeout)
        .build()
        .map_err(|e| e.to_string())?;
    let started = Instant::now();
    let load_before = load_average();
    let chars: Vec<f64> = plan
        .inputs
        .iter()
        .map(|s| s.chars().count() as f64)
        .collect();
    let config = json!({
        "bootstrap": plan.server.bootstrap,
        "family": plan.server.family.id(),
        "model_dir": plan.server.model_dir,
        "threads": plan.server.threads,
        "precision": plan.server.precision,
        "slots": plan.server.slots,
        "max_queue": plan.server.max_queue,
        "url": plan.url,
        "model": plan.model,
        "voice": plan.voice,
        "response_format": "wav",
        "inputs": plan.inputs,
        "input_chars_mean": r3(chars.iter().sum::<f64>() / chars.len().max(1) as f64),
        "cold_runs": if plan.skip_cold { 0 } else { plan.cold_runs },
        "concurrency": plan.concurrency,
        "requests_per_level": plan.requests,
        "max_seconds_per_level": plan.max_seconds,
        "rss_interval_ms": ms(plan.rss_interval),
        "smoke": plan.smoke,
        "stream_requests": plan.stream_requests,
        "stream_input": plan.stream_input,
        "stream_listen_seconds": plan.stream_listen_seconds,
        "cpus": std::thread::available_parallelism().map(|n| n.get()).ok(),
        "load_average_before": load_before,
        "started_unix_s": SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).ok(),
    });
    let cold = if plan.skip_cold {
        Vec::new()
    } else {
        cold_start(&plan, &client).await?
    };
    let sweep = sweep(&plan, &client).await?;
    let levels: Vec<_> = sweep.levels.iter().map(Level::report).collect();
    let stream = match &sweep.stream {
        Some(level) => {
            let mut report = serde_json::to_value(level.report()).map_err(|e| e.to_string())?;
            report["input_chars"] = plan.stream_input.chars().count().into();
            report["listen_seconds"] = plan.stream_listen_seconds.into();
            report
        }
        None => Value::Null,
    };
    let report = json!({
        "config": config,
        "cold_start": cold,
        "sweep": levels,
        "stream": stream,
        "warmup_requests_ms": sweep.warmup_ms,
        "rss_mb": sweep.rss.iter().map(|(t, mb)| json!({"t_s": r3(*t), "rss_mb": r3(*mb)})).collect::<Vec<_>>(),
        "rss_ready_mb": sweep.rss_ready_mb.map(r3),
        "rss_peak_mb": sweep.rss.iter().map(|(_, mb)| *mb).reduce(f64::max).map(r3),
        "rss_hwm_mb": sweep.rss_hwm_mb.map(r3),
        "wall_s": r3(started.elapsed().as_secs_f64()),
        "definitions": {
            "cold_start": "milliseconds; spawn_ms: the spawn call (fork+exec); runtime_ms, models_ms, ready_ms: the function's own startup line (ready_ms from main()); before_main_ms: listening_ms - ready_ms; listening_ms: spawn to reading `listening on`; first_request_ms: first request sent (right after `listening on`) to its first body byte; first_audio_byte_ms: spawn to that byte; timeline_ms: instants since spawn. The page cache is warm after the first start in every mode.",
            "sweep": "closed loop: `concurrency` workers send requests in turn until `requests` are sent or max_seconds passed; latency_ms and ttfb_ms over 200 responses only; rtf from the function's x-real-time-factor; throughput = sum of x-audio-duration-seconds of 200 responses / level wall time; statuses counts every outcome (429 = saturated, expected when concurrency exceeds slots + queue)",
            "stream": "after the sweep, on the same function: `requests` requests one at a time with stream_format audio (raw 24 kHz s16le pcm, 48 000 bytes per audio second) speaking one input of input_chars characters; the client hangs up once listen_seconds of audio arrived (0: reads to the end; hung_up counts the 200 responses hung up on, whose latency_ms ends at the hang-up); ttfb_ms: send to first audio byte; stall_ms: the time a player starting at the first byte at real time would wait for audio in all (a chunk arriving after the audio before it has played stalls it by the difference), over 200 responses; stalled_requests: those with a stall; stalls_total: the waits counted",
        },
    });
    if let Some(parent) = plan.out.parent() {
        std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    }
    let text = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
    std::fs::write(&plan.out, text + "\n").map_err(|e| format!("{}: {e}", plan.out.display()))?;
    progress(format!(
        "wrote {} after {:.1} s",
        plan.out.display(),
        started.elapsed().as_secs_f64()
    ));
    let summary = markdown(&report);
    Ok((report, summary))
}

fn cell(v: &Value) -> String {
    match v.as_f64() {
        Some(x) if x >= 100.0 => format!("{x:.0}"),
        Some(x) if x >= 10.0 => format!("{x:.1}"),
        Some(x) => format!("{x:.2}"),
        None => "–".into(),
    }
}

/// The Markdown summary: cold start medians, one row per sweep level, memory.
pub fn markdown(report: &Value) -> String {
    let c = &report["config"];
    let mut out = format!(
        "### Load test: {} `{}`, threads {}, {}, slots {}, queue {}\n\n",
        c["family"].as_str().unwrap_or("?"),
        c["model_dir"].as_str().unwrap_or("?"),
        c["threads"]
            .as_u64()
            .map_or("default".into(), |t| t.to_string()),
        c["precision"].as_str().unwrap_or("?"),
        c["slots"],
        c["max_queue"],
    );
    if let Some(cold) = report["cold_start"].as_array().filter(|a| !a.is_empty()) {
        out += "Cold start (medians, ms since spawn unless noted):\n\n";
        out += "| compiled-model cache | runs | spawn | runtime loaded (+dur) | models compiled (+dur) | ready | first audio byte | request → first byte |\n";
        out += "|---|---:|---:|---:|---:|---:|---:|---:|\n";
        for entry in cold {
            let m = &entry["median"];
            let t = &m["timeline_ms"];
            out += &format!(
                "| {} | {} | {} | {} (+{}) | {} (+{}) | {} | {} | {} |\n",
                if entry["cache"].as_bool() == Some(true) {
                    "on"
                } else {
                    "off"
                },
                entry["runs"],
                cell(&t["spawned"]),
                cell(&t["runtime_loaded"]),
                cell(&m["runtime_ms"]),
                cell(&t["models_compiled"]),
                cell(&m["models_ms"]),
                cell(&t["ready"]),
                cell(&t["first_audio_byte"]),
                cell(&m["first_request_ms"]),
            );
        }
        out += "\n";
    }
    out += "Concurrency sweep (latency over 200 responses, ms):\n\n";
    out += "| concurrency | requests | statuses | p50 | p90 | p99 | TTFB p50 | server RTF p50 | audio-s/s | RSS peak MB |\n";
    out += "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|\n";
    for level in report["sweep"].as_array().into_iter().flatten() {
        let statuses: BTreeMap<String, Value> =
            serde_json::from_value(level["statuses"].clone()).unwrap_or_default();
        let statuses: Vec<String> = statuses.iter().map(|(k, v)| format!("{k}×{v}")).collect();
        out += &format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            level["concurrency"],
            level["requests"],
            statuses.join(" "),
            cell(&level["latency_ms"]["p50"]),
            cell(&level["latency_ms"]["p90"]),
            cell(&level["latency_ms"]["p99"]),
            cell(&level["ttfb_ms"]["p50"]),
            cell(&level["rtf_p50"]),
            cell(&level["throughput_audio_s_per_s"]),
            cell(&level["rss_peak_mb"]),
        );
    }
    out += &stream_markdown(&report["stream"]);
    out += &format!(
        "\nRSS: {} MB when ready, {} MB peak over {} samples (VmHWM {} MB). Wall time {} s.\n",
        cell(&report["rss_ready_mb"]),
        cell(&report["rss_peak_mb"]),
        report["rss_mb"].as_array().map_or(0, Vec::len),
        cell(&report["rss_hwm_mb"]),
        cell(&report["wall_s"]),
    );
    out
}

/// The streamed phase's Markdown (empty without one).
fn stream_markdown(stream: &Value) -> String {
    if !stream.is_object() {
        return String::new();
    }
    let listen = stream["listen_seconds"].as_f64().unwrap_or(0.0);
    let statuses: BTreeMap<String, Value> =
        serde_json::from_value(stream["statuses"].clone()).unwrap_or_default();
    let statuses: Vec<String> = statuses.iter().map(|(k, v)| format!("{k}×{v}")).collect();
    let mut out = format!(
        "\nStreamed playback ({} requests one at a time, pcm, {} characters, {}; ms):\n\n",
        stream["requests"],
        stream["input_chars"],
        if listen > 0.0 {
            format!("hanging up after {listen} s of audio")
        } else {
            "read to the end".into()
        },
    );
    out += "| statuses | time to first audio byte p50 | p90 | stall p50 | stall max | stalled requests | hung up | latency p50 (whole/hang-up) | latency max |\n";
    out += "|---|---:|---:|---:|---:|---:|---:|---:|---:|\n";
    out += &format!(
        "| {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
        statuses.join(" "),
        cell(&stream["ttfb_ms"]["p50"]),
        cell(&stream["ttfb_ms"]["p90"]),
        cell(&stream["stall_ms"]["p50"]),
        cell(&stream["stall_ms"]["max"]),
        stream["stalled_requests"],
        stream["hung_up"],
        cell(&stream["latency_ms"]["p50"]),
        cell(&stream["latency_ms"]["max"]),
    );
    out
}
