//! The soak's report: counts, latencies, memory and the verdict as JSON, and as a markdown summary.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::server::Server;
use crate::stats::{percentile, r3, sorted};

use super::client::Record;
use super::memory::RssVerdict;
use super::mix::InputClass;
use super::verdict::{Observed, Outcome};
use super::SoakPlan;
use super::FORMATS;

/// Requests by outcome label.
pub(super) fn outcome_counts(records: &[Record]) -> BTreeMap<&'static str, usize> {
    let mut counts = BTreeMap::new();
    for r in records {
        *counts.entry(r.outcome.label()).or_default() += 1;
    }
    counts
}

/// What the report is made of.
pub(super) struct ReportParts<'a> {
    pub(super) plan: &'a SoakPlan,
    pub(super) url: &'a str,
    pub(super) pid: Option<u32>,
    pub(super) server: Option<&'a Server>,
    pub(super) places: u64,
    pub(super) burst: usize,
    pub(super) formats: &'a [&'static str],
    pub(super) aac_dropped: Option<&'a str>,
    pub(super) records: &'a [Record],
    pub(super) load_s: f64,
    pub(super) rss: &'a [(f64, f64)],
    pub(super) rss_ready_mb: Option<f64>,
    pub(super) rss_primed_mb: Option<f64>,
    pub(super) primed_s: f64,
    pub(super) rss_hwm_mb: Option<f64>,
    pub(super) verdict: Option<&'a RssVerdict>,
    pub(super) recovered_s: Option<f64>,
    pub(super) free_after_load: Option<u64>,
    pub(super) survivor: (&'a Outcome, &'a Observed, usize),
    pub(super) recovered_again_s: Option<f64>,
    pub(super) free_at_end: Option<u64>,
    pub(super) checks: &'a BTreeMap<&'static str, bool>,
    pub(super) pass: bool,
    pub(super) wall_s: f64,
}

/// Counts of one slice of the requests by outcome.
pub(super) fn tally<'a>(records: impl Iterator<Item = &'a Record>) -> Value {
    let mut t: BTreeMap<&str, usize> = [
        ("requests", 0),
        ("ok", 0),
        ("saturated", 0),
        ("hung_up", 0),
        ("other", 0),
    ]
    .into();
    for r in records {
        *t.entry("requests").or_default() += 1;
        *t.entry(r.outcome.label()).or_default() += 1;
    }
    json!(t)
}

pub(super) fn report(p: ReportParts<'_>) -> Value {
    let plan = p.plan;
    let records = p.records;
    let mut statuses: BTreeMap<String, usize> = BTreeMap::new();
    for r in records {
        let key = match (r.seen.status, &r.seen.error) {
            (Some(s), _) => s.to_string(),
            (None, Some((kind, _))) => (*kind).to_owned(),
            (None, None) => "none (hung up before headers)".to_owned(),
        };
        *statuses.entry(key).or_default() += 1;
    }
    let mut hung_up: BTreeMap<&str, usize> = [
        ("before_headers", 0),
        ("after_headers", 0),
        ("after_first_bytes", 0),
    ]
    .into();
    for r in records {
        if let Outcome::HungUp(kind) = r.outcome {
            *hung_up.entry(kind.name()).or_default() += 1;
        }
    }
    let planned_hang_ups = records.iter().filter(|r| r.spec.hang_up.is_some()).count();
    let others: Vec<&Record> = records
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Other(_)))
        .collect();
    let ok: Vec<&Record> = records
        .iter()
        .filter(|r| r.outcome == Outcome::Ok)
        .collect();
    let latency = sorted(&ok.iter().map(|r| r.seen.latency_ms).collect::<Vec<_>>());
    let ttfb = sorted(
        &ok.iter()
            .filter(|r| r.spec.stream.is_some())
            .filter_map(|r| r.seen.ttfb_ms)
            .collect::<Vec<_>>(),
    );
    let saturated = records
        .iter()
        .filter(|r| r.seen.status == Some(429))
        .count();
    let per_format: BTreeMap<&str, Value> = FORMATS
        .iter()
        .map(|f| (*f, tally(records.iter().filter(|r| r.spec.format == *f))))
        .collect();
    let per_stream: BTreeMap<&str, Value> = [
        ("none", None),
        ("audio", Some("audio")),
        ("sse", Some("sse")),
    ]
    .into_iter()
    .map(|(k, s)| (k, tally(records.iter().filter(|r| r.spec.stream == s))))
    .collect();
    let per_class: BTreeMap<&str, Value> = [
        ("short", InputClass::Short),
        ("sentence", InputClass::Sentence),
        ("pair", InputClass::Pair),
    ]
    .into_iter()
    .map(|(k, c)| (k, tally(records.iter().filter(|r| r.spec.class == c))))
    .collect();
    let params = json!({
        "url": p.url,
        "spawned": p.server.is_some(),
        "bootstrap": p.server.map(|_| &plan.server.bootstrap),
        "family": p.server.map(|_| plan.server.family.id()),
        "model_dir": p.server.map(|_| &plan.server.model_dir),
        "threads": plan.server.threads,
        "precision": p.server.map(|_| &plan.server.precision),
        "slots": p.server.map(|_| plan.server.slots),
        "max_queue": p.server.map(|_| plan.server.max_queue),
        "rust_log": p.server.map(|_| &plan.server.rust_log),
        "model": plan.model,
        "voice": plan.voice,
        "seconds": plan.seconds,
        "requests": plan.requests,
        "max_seconds": plan.max_seconds,
        "concurrency": plan.concurrency,
        "burst": p.burst,
        "burst_every_s": plan.burst_every,
        "hang_up_fraction": plan.hang_up_fraction,
        "pause_after_429_ms": plan.pause_after_429.as_millis() as u64,
        "seed": plan.seed,
        "inputs": plan.classes,
        "rss_interval_s": plan.rss_interval.as_secs_f64(),
        "rss_bound_mb": plan.rss_bound_mb,
        "rss_slope_mb_per_min": plan.rss_slope_mb_per_min,
        "recover_seconds": plan.recover_seconds,
        "request_timeout_s": plan.request_timeout.as_secs_f64(),
        "smoke": plan.smoke,
        "log_dir": plan.log_dir,
        "cpus": std::thread::available_parallelism().map(|n| n.get()).ok(),
    });
    let definitions = json!({
        "outcomes": "ok: a 200 read to its end whose audio starts as its format does (wav: a mono 16-bit PCM RIFF header with exact sizes, 0xFFFFFFFF when streamed; sse: events decoded, ending with speech.audio.done); saturated: a 429 with a numeric Retry-After and an OpenAI error body; hung_up: we closed the connection (a timer 50-300 ms after sending, before_headers or after_headers; or after_first_bytes of a stream), not an error; other: anything else (another status, a connection error or timeout, a 200 cut short or not audio), a failure",
        "statuses": "HTTP status of every request that got headers (hung-up ones included), else the transport error kind",
        "rss": "VmRSS samples [seconds since the load started, MB]; before the load the mix's largest request (longest input, slowest speed) ran on every place twice (primed); warm-up: the first 15 s or 20% of the load, whichever is shorter; start: the first sample after it; end: the last sample of the load; slope: least squares over the post-warm-up samples; pass: end - start <= bound_mb and slope <= slope_limit (default: bound_mb over the post-warm-up window)",
        "latency_ms_200": "send to last byte of the ok requests",
    });
    let (survivor, survivor_seen, attempts) = p.survivor;
    json!({
        "pass": p.pass,
        "checks": p.checks,
        "requests": records.len(),
        "load_s": r3(p.load_s),
        "requests_per_s": r3(records.len() as f64 / p.load_s.max(1e-9)),
        "statuses": statuses,
        "outcomes": outcome_counts(records),
        "hung_up": hung_up,
        "hang_ups_planned": planned_hang_ups,
        "saturated": {
            "count": saturated,
            "well_formed": records.iter().filter(|r| r.outcome == Outcome::Saturated).count(),
            "during_bursts": records.iter().filter(|r| r.burst && r.seen.status == Some(429)).count(),
        },
        "other": {
            "count": others.len(),
            "examples": others.iter().take(10).map(|r| r.json()).collect::<Vec<_>>(),
        },
        "per_format": per_format,
        "per_stream_format": per_stream,
        "per_input": per_class,
        "burst_requests": records.iter().filter(|r| r.burst).count(),
        "latency_ms_200": {
            "count": latency.len(),
            "p50": percentile(&latency, 50.0).map(r3),
            "p90": percentile(&latency, 90.0).map(r3),
            "max": latency.last().copied().map(r3),
        },
        "ttfb_ms_streamed_200": {
            "p50": percentile(&ttfb, 50.0).map(r3),
            "p90": percentile(&ttfb, 90.0).map(r3),
        },
        "rss": {
            "pid": p.pid,
            "ready_mb": p.rss_ready_mb.map(r3),
            "primed_mb": p.rss_primed_mb.map(r3),
            "primed_s": r3(p.primed_s),
            "samples": p.rss.iter().map(|(t, mb)| json!([r3(*t), r3(*mb)])).collect::<Vec<_>>(),
            "verdict": p.verdict,
            "hwm_mb": p.rss_hwm_mb.map(r3),
        },
        "after": {
            "places": p.places,
            "all_places_free_after_s": p.recovered_s.map(r3),
            "free_places_after_load": p.free_after_load,
            "survivor": {
                "outcome": survivor.label(),
                "status": survivor_seen.status,
                "reason": match survivor { Outcome::Other(why) => Some(why.as_str()), _ => None },
                "attempts": attempts,
                "latency_ms": r3(survivor_seen.latency_ms),
            },
            "all_places_free_after_survivor_s": p.recovered_again_s.map(r3),
            "free_places_at_end": p.free_at_end,
        },
        "formats": p.formats,
        "aac": match p.aac_dropped {
            Some(why) => json!({"in_mix": false, "probe": "400", "message": why}),
            None => json!({"in_mix": true}),
        },
        "params": params,
        "wall_s": r3(p.wall_s),
        "definitions": definitions,
    })
}

pub(super) fn cell(v: &Value) -> String {
    match v.as_f64() {
        Some(x) if x.abs() >= 100.0 => format!("{x:.0}"),
        Some(x) => format!("{x:.1}"),
        None => "–".into(),
    }
}

/// A short Markdown summary of the report.
pub fn markdown(report: &Value) -> String {
    let p = &report["params"];
    let o = &report["outcomes"];
    let n = |v: &Value| v.as_u64().unwrap_or(0);
    let mut out = format!(
        "### Soak: {} — {}\n\n",
        if report["pass"].as_bool() == Some(true) {
            "PASS"
        } else {
            "FAIL"
        },
        p["url"].as_str().unwrap_or("?"),
    );
    out += &format!(
        "{} requests in {} s ({} req/s) at concurrency {}, bursts of {} every {} s, seed {}; formats {}{}.\n\n",
        report["requests"],
        cell(&report["load_s"]),
        cell(&report["requests_per_s"]),
        p["concurrency"],
        p["burst"],
        p["burst_every_s"],
        p["seed"],
        report["formats"]
            .as_array()
            .map(|f| f.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", "))
            .unwrap_or_default(),
        if report["aac"]["in_mix"] == false { " (aac not built: left out)" } else { "" },
    );
    let h = &report["hung_up"];
    out += "| 200 ok | 429 | hung up (before headers / after headers / after first bytes) | other | latency p50 / p90 ms (200) |\n";
    out += "|---:|---:|---|---:|---|\n";
    out += &format!(
        "| {} | {} | {} ({} / {} / {}) | {} | {} / {} |\n\n",
        n(&o["ok"]),
        n(&o["saturated"]),
        n(&o["hung_up"]),
        n(&h["before_headers"]),
        n(&h["after_headers"]),
        n(&h["after_first_bytes"]),
        n(&o["other"]),
        cell(&report["latency_ms_200"]["p50"]),
        cell(&report["latency_ms_200"]["p90"]),
    );
    let v = &report["rss"]["verdict"];
    if v.is_object() {
        out += &format!(
            "RSS (pid {}): {} MB ready, {} MB primed (the largest request on every slot); after a {} s warm-up {} MB, peak {} MB, end {} MB (growth {} MB, bound {} MB: {}); slope {} MB/min over {} samples (limit {}: {}); VmHWM {} MB.\n",
            report["rss"]["pid"],
            cell(&report["rss"]["ready_mb"]),
            cell(&report["rss"]["primed_mb"]),
            cell(&v["warmup_s"]),
            cell(&v["start_mb"]),
            cell(&v["peak_mb"]),
            cell(&v["end_mb"]),
            cell(&v["growth_mb"]),
            cell(&v["bound_mb"]),
            if v["end_within_bound"] == true { "ok" } else { "FAIL" },
            cell(&v["slope_mb_per_min"]),
            v["post_warmup_samples"],
            cell(&v["slope_limit_mb_per_min"]),
            if v["slope_small"] == true { "ok" } else { "FAIL" },
            cell(&report["rss"]["hwm_mb"]),
        );
    } else {
        out += "RSS: not sampled (with --url, give --pid).\n";
    }
    let a = &report["after"];
    out += &format!(
        "After the load: all {} places free after {} s; a normal request got {} ({} attempt(s)); all free again after {} s.\n",
        a["places"],
        cell(&a["all_places_free_after_s"]),
        a["survivor"]["status"],
        a["survivor"]["attempts"],
        cell(&a["all_places_free_after_survivor_s"]),
    );
    let failed: Vec<&str> = report["checks"]
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(_, ok)| ok.as_bool() != Some(true))
        .map(|(k, _)| k.as_str())
        .collect();
    if !failed.is_empty() {
        out += &format!("\nFailed checks: {}.\n", failed.join(", "));
    }
    for example in report["other"]["examples"]
        .as_array()
        .into_iter()
        .flatten()
        .take(5)
    {
        out += &format!("- other: {example}\n");
    }
    out
}
