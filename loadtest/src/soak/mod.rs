//! `loadtest soak`: a long mixed workload against one function, checking that every answer is a
//! 200 or a well-formed 429 and that the process's memory stays flat.
//!
//! Before the clock starts the mix's largest request runs on every place twice ([`prime`]), so
//! the function's working set (a dynamic-shape model holds memory for the largest shapes it has
//! run) is reached before the memory is judged. Then workers (the concurrency) send requests in a closed loop until both the time and the request
//! budget are spent; every `burst_every` seconds a burst of extra requests pushes the requests
//! in flight over the function's places (slots + queue), so some answers are 429s. Each request is
//! drawn from a seeded xorshift by its index alone ([`Spec::pick`]), so request `i` of a run can be
//! sent again by hand: a response format, streamed (`audio`, `sse`) or not, sometimes a speed, a
//! short to medium input from [`crate::SENTENCES`], and for about 15% of them an early hang-up
//! (a timer closing the connection 50–300 ms after sending, usually before the headers, or a hang-up
//! after a stream's first bytes). What came back is [`classify`]d; memory comes from
//! [`RssSampler`]; after the load one more request must get a 200 and `/health` must show every
//! place free again.
//!
//! This module owns the workload and its verdict; it starts the function through [`Server`] and
//! imports no function code (it talks HTTP only).

mod client;
mod memory;
mod mix;
mod report;
#[cfg(test)]
mod tests;
mod verdict;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use serde_json::Value;

use crate::server::{proc_status_mb, RssSampler, Server, ServerConfig};
use crate::SENTENCES;

use client::{error_chain, send, Record};
use memory::rss_verdict;
pub use mix::InputClass;
use mix::Spec;
use report::{markdown, outcome_counts, report, ReportParts};
use verdict::{check_error_body, classify, Observed, Outcome};

/// Every response format the contract knows, in the order the mix draws from.
pub const FORMATS: [&str; 6] = ["mp3", "opus", "aac", "flac", "wav", "pcm"];

/// Everything the soak needs, resolved from the command line.
#[derive(Clone, Debug)]
pub struct SoakPlan {
    /// How to spawn the function (unused with `url`).
    pub server: ServerConfig,
    /// Soak this running function instead of a spawned one.
    pub url: Option<String>,
    /// With `url`: the process whose RSS to sample.
    pub pid: Option<u32>,
    pub path: String,
    pub model: String,
    pub voice: String,
    /// Keep offering load for at least this long…
    pub seconds: f64,
    /// …and until at least this many requests were sent.
    pub requests: usize,
    /// …but never past this many seconds (then the run fails if `requests` were not reached).
    pub max_seconds: f64,
    pub concurrency: usize,
    /// Extra requests sent at once every `burst_every` seconds (`None`: the function's places,
    /// read from `/health`; 0: no bursts).
    pub burst: Option<usize>,
    pub burst_every: f64,
    /// Fraction of requests that hang up early (half on a timer, half after a stream's first bytes).
    pub hang_up_fraction: f64,
    /// A worker's pause after a 429 before its next (different) request: it does not retry.
    pub pause_after_429: Duration,
    pub seed: u64,
    /// Input lengths in the mix.
    pub classes: Vec<InputClass>,
    pub rss_interval: Duration,
    pub rss_bound_mb: f64,
    /// Largest post-warm-up RSS slope that passes (`None`: the bound spread over the post-warm-up
    /// window, i.e. the fitted line may rise by at most the bound).
    pub rss_slope_mb_per_min: Option<f64>,
    /// How long `/health` may take to show every place free after the load.
    pub recover_seconds: f64,
    pub request_timeout: Duration,
    pub smoke: bool,
    /// Folder for the function's stderr and one JSON line per request.
    pub log_dir: PathBuf,
    /// Also write the report here.
    pub out: Option<PathBuf>,
}

/// State shared by the workers and the burst task.
struct Shared {
    plan: SoakPlan,
    url: String,
    formats: Vec<&'static str>,
    client: reqwest::Client,
    /// The load's clock origin.
    origin: Instant,
    next: AtomicUsize,
    stop: AtomicBool,
    records: Mutex<Vec<Record>>,
    log: Mutex<Option<std::io::LineWriter<std::fs::File>>>,
}

impl Shared {
    /// Whether to send no more: the time and request budgets are spent, or the cap passed.
    fn done(&self) -> bool {
        let elapsed = self.origin.elapsed().as_secs_f64();
        let finished = self.stop.load(Ordering::SeqCst)
            || elapsed >= self.plan.max_seconds
            || (elapsed >= self.plan.seconds
                && self.next.load(Ordering::SeqCst) >= self.plan.requests);
        if finished {
            self.stop.store(true, Ordering::SeqCst);
        }
        finished
    }

    /// Sends the next request of the mix; returns its outcome.
    async fn one(&self, burst: bool) -> Outcome {
        let index = self.next.fetch_add(1, Ordering::SeqCst);
        let spec = Spec::pick(
            self.plan.seed,
            index,
            &self.formats,
            &self.plan.classes,
            self.plan.hang_up_fraction,
        );
        let body = spec.body(&self.plan.model, &self.plan.voice);
        let (at, t_s) = (SystemTime::now(), self.origin.elapsed().as_secs_f64());
        let mut seen = send(&self.client, &self.url, &body, &spec).await;
        let outcome = classify(&spec, &seen);
        // The body is judged: keep only its length.
        let bytes = seen.body.len();
        seen.body = Vec::new();
        let record = Record {
            spec,
            burst,
            t_s,
            end_s: self.origin.elapsed().as_secs_f64(),
            at,
            bytes,
            seen,
            outcome: outcome.clone(),
        };
        let line = record.json();
        if let Outcome::Other(why) = &outcome {
            progress(format!("request {index} failed: {why}; request {line}"));
        }
        if let Some(log) = &mut *self.log.lock().unwrap_or_else(|e| e.into_inner()) {
            let _ = writeln!(log, "{line}");
        }
        self.records
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(record);
        outcome
    }
}

fn progress(message: impl AsRef<str>) {
    eprintln!("[soak] {}", message.as_ref());
}

// ---------------------------------------------------------------------------------------------
// The run.

/// `GET /health`: (`available_places`, `places`: the total, when the function reports it).
async fn health(client: &reqwest::Client, base: &str) -> Result<(u64, Option<u64>), String> {
    let response = client
        .get(format!("{base}/health"))
        .send()
        .await
        .map_err(|e| format!("GET /health: {}", error_chain(&e)))?;
    let status = response.status();
    let health: Value = response
        .json()
        .await
        .map_err(|e| format!("GET /health ({status}): {}", error_chain(&e)))?;
    let free = health["available_places"]
        .as_u64()
        .ok_or_else(|| format!("GET /health ({status}) has no available_places: {health}"))?;
    Ok((free, health["places"].as_u64()))
}

/// Polls `/health` every 100 ms until it shows `places` free or `within` passed; returns the
/// seconds it took (`None`: not within) and the last count seen.
async fn wait_for_places(
    client: &reqwest::Client,
    base: &str,
    places: u64,
    within: Duration,
) -> (Option<f64>, Option<u64>) {
    let started = Instant::now();
    let mut last = None;
    loop {
        if let Ok((free, _)) = health(client, base).await {
            last = Some(free);
            if free >= places {
                return (Some(started.elapsed().as_secs_f64()), last);
            }
        }
        if started.elapsed() >= within {
            return (None, last);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A normal request (a sentence as mp3, read to the end), sent again after each 429 as its
/// `Retry-After` asks, for at most `within`: (the final spec's outcome, attempts).
async fn normal_request(
    client: &reqwest::Client,
    url: &str,
    plan: &SoakPlan,
    format: &'static str,
    input: &str,
    within: Duration,
) -> (Outcome, Observed, usize) {
    let spec = Spec {
        index: usize::MAX,
        format,
        stream: None,
        speed: None,
        class: InputClass::Sentence,
        input: input.to_owned(),
        hang_up: None,
    };
    let body = spec.body(&plan.model, &plan.voice);
    let started = Instant::now();
    let mut attempts = 0;
    loop {
        attempts += 1;
        let seen = send(client, url, &body, &spec).await;
        let outcome = classify(&spec, &seen);
        if outcome != Outcome::Saturated || started.elapsed() >= within {
            return (outcome, seen, attempts);
        }
        let wait = seen
            .retry_after
            .as_deref()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or(1);
        tokio::time::sleep(Duration::from_secs(wait)).await;
    }
}

/// Before the clock starts: the mix's largest request (its longest input at its slowest speed,
/// whole WAV) `n` at a time (all of the function's places, so every slot runs one), twice. A
/// dynamic-shape model holds memory for the largest shapes it has run, so its working set is
/// reached only once the largest request has run on every slot; after this, growth means a leak,
/// not a new largest input drawn late in the load. Returns the seconds it took and the RSS after.
async fn prime(
    client: &reqwest::Client,
    url: &str,
    plan: &SoakPlan,
    formats: &[&'static str],
    n: usize,
    pid: Option<u32>,
) -> Result<(f64, Option<f64>), String> {
    let (class, input) = plan
        .classes
        .iter()
        .flat_map(|&class| (0..SENTENCES.len()).map(move |k| (class, class.text(k))))
        .max_by_key(|(_, text)| text.chars().count())
        .ok_or("the mix has no input classes")?;
    let spec = Spec {
        index: usize::MAX,
        format: "wav",
        stream: None,
        speed: Some(mix::SLOWEST),
        class,
        input,
        hang_up: None,
    };
    let body = spec.body(&plan.model, &plan.voice);
    let started = Instant::now();
    for _ in 0..2 {
        let mut all = tokio::task::JoinSet::new();
        for _ in 0..n.max(1) {
            let (client, url, body, spec) =
                (client.clone(), url.to_owned(), body.clone(), spec.clone());
            // On a slow machine the last of them may wait past the queue timeout: a 429 is
            // asked again after its Retry-After (a few times), as a patient client would.
            all.spawn(async move { send_patiently(&client, &url, &body, &spec, 5).await });
        }
        while let Some(seen) = all.join_next().await {
            let seen = seen.map_err(|e| format!("priming: {e}"))?;
            if classify(&spec, &seen) != Outcome::Ok {
                return Err(format!(
                    "priming: the largest request of the mix got {:?} ({:?})",
                    seen.status,
                    String::from_utf8_lossy(&seen.body[..seen.body.len().min(300)])
                ));
            }
        }
    }
    // A rehearsal: requests of the mix (another seed, nobody hanging up), `n` at a time, so every
    // path (formats, streams, speeds, sentence lengths) has run with every place busy before the
    // memory is judged. Measured with the two-stage Piper voice: after the largest request alone
    // the first 15 s of load still added ~60 MB (encoders, stream buffers, the allocator's
    // arenas), then growth slowed to ~14 MB/min.
    let mut all = tokio::task::JoinSet::new();
    for index in 0..4 * n.max(1) {
        let spec = Spec::pick(plan.seed ^ REHEARSAL, index, formats, &plan.classes, 0.0);
        let body = spec.body(&plan.model, &plan.voice);
        let (client, url) = (client.clone(), url.to_owned());
        all.spawn(async move {
            let seen = send_patiently(&client, &url, &body, &spec, 10).await;
            (spec, seen)
        });
        if all.len() >= n.max(1) {
            rehearsed(all.join_next().await)?;
        }
    }
    while let Some(done) = all.join_next().await {
        rehearsed(Some(done))?;
    }
    Ok((
        started.elapsed().as_secs_f64(),
        pid.and_then(|pid| proc_status_mb(pid, "VmRSS")),
    ))
}

/// Sends `spec`, and asks again after its Retry-After (at most `retries` times) while the answer is
/// a 429, as a patient client would: priming must get its answers, not count refusals.
async fn send_patiently(
    client: &reqwest::Client,
    url: &str,
    body: &Value,
    spec: &Spec,
    retries: usize,
) -> Observed {
    let mut seen = send(client, url, body, spec).await;
    for _ in 0..retries {
        if classify(spec, &seen) != Outcome::Saturated {
            break;
        }
        let wait = seen
            .retry_after
            .as_deref()
            .and_then(|v| v.trim().parse().ok());
        tokio::time::sleep(Duration::from_secs(wait.unwrap_or(1))).await;
        seen = send(client, url, body, spec).await;
    }
    seen
}

/// Seeds the rehearsal of [`prime`] apart from the measured mix.
const REHEARSAL: u64 = 0x005E_ED0F_0EAE;

/// Checks one answer of the rehearsal: the function must have served it.
fn rehearsed(done: Option<Result<(Spec, Observed), tokio::task::JoinError>>) -> Result<(), String> {
    let Some(done) = done else { return Ok(()) };
    let (spec, seen) = done.map_err(|e| format!("priming: {e}"))?;
    match classify(&spec, &seen) {
        Outcome::Ok => Ok(()),
        other => Err(format!(
            "priming: request {} of the rehearsal ({} {:?}) got {other:?}, status {:?} ({:?})",
            spec.index,
            spec.format,
            spec.stream,
            seen.status,
            String::from_utf8_lossy(&seen.body[..seen.body.len().min(300)])
        )),
    }
}

/// Runs the soak: spawns the function unless the plan has a URL, and returns the report, its
/// Markdown summary and whether it passed. The function's configuration file exists only while
/// the soak runs.
pub async fn run(plan: SoakPlan) -> Result<(Value, String, bool), String> {
    std::fs::create_dir_all(&plan.log_dir)
        .map_err(|e| format!("{}: {e}", plan.log_dir.display()))?;
    let stderr_log = plan.log_dir.join("function-stderr.log");
    let _ = std::fs::remove_file(&stderr_log);
    if plan.url.is_some() {
        return soak(plan, None).await;
    }
    let mut config = plan.server.clone();
    config.stderr_log = Some(stderr_log.clone());
    config.write_config()?;
    progress(format!(
        "starting {} ({} {}), its stderr in {}",
        config.bootstrap.display(),
        config.family.id(),
        config.model_dir.display(),
        stderr_log.display()
    ));
    let server = Server::start(&config, None).await;
    let _ = std::fs::remove_file(&config.config);
    let server = server?;
    progress(format!(
        "listening on {} after {:.0} ms (pid {})",
        server.url, server.listening_ms, server.pid
    ));
    let outcome = soak(plan, Some(&server)).await;
    server.stop().await;
    outcome
}

async fn soak(plan: SoakPlan, server: Option<&Server>) -> Result<(Value, String, bool), String> {
    let base = match (&plan.url, server) {
        (_, Some(server)) => server.url.clone(),
        (Some(url), None) => url.trim_end_matches('/').to_owned(),
        (None, None) => return Err("no function to soak".into()),
    };
    let url = format!("{base}{}", plan.path);
    let pid = server.map(|s| s.pid).or(plan.pid);
    let client = reqwest::Client::builder()
        .timeout(plan.request_timeout)
        .build()
        .map_err(|e| e.to_string())?;
    let started = Instant::now();
    // The total as the function reports it, else what is free before any load.
    let (free, total) = health(&client, &base).await?;
    let places = total.unwrap_or(free);
    if free < places {
        progress(format!(
            "only {free} of {places} places are free before the load"
        ));
    }
    let rss_ready_mb = pid.and_then(|pid| proc_status_mb(pid, "VmRSS"));

    // AAC exists only with the function's aac-fdk feature: one request tells.
    let (aac, probe, _) = normal_request(
        &client,
        &url,
        &plan,
        "aac",
        "Hello.",
        Duration::from_secs_f64(plan.recover_seconds),
    )
    .await;
    let aac_dropped = match &aac {
        Outcome::Ok => None,
        Outcome::Other(_)
            if probe.status == Some(400)
                && serde_json::from_slice::<Value>(&probe.body).is_ok_and(|v| {
                    v["error"]["param"] == "response_format"
                        && check_error_body(&probe.body).is_ok()
                }) =>
        {
            let v: Value = serde_json::from_slice(&probe.body).unwrap_or_default();
            Some(v["error"]["message"].as_str().unwrap_or("").to_owned())
        }
        other => {
            return Err(format!(
                "the aac probe got neither audio nor the 400 of a build without AAC: {other:?}"
            ))
        }
    };
    let formats: Vec<&'static str> = FORMATS
        .iter()
        .copied()
        .filter(|f| *f != "aac" || aac_dropped.is_none())
        .collect();
    match &aac_dropped {
        Some(why) => progress(format!("aac left out of the mix (400: {why})")),
        None => progress("aac is built: all six formats in the mix"),
    }
    let burst = plan.burst.unwrap_or(places as usize);
    progress(format!(
        "soak of {url}: ≥ {} s and ≥ {} requests (cap {} s), {} workers, bursts of {burst} every {} s over {places} places, seed {}{}",
        plan.seconds,
        plan.requests,
        plan.max_seconds,
        plan.concurrency,
        plan.burst_every,
        plan.seed,
        match pid {
            Some(pid) => format!(", RSS of pid {pid} every {:?}", plan.rss_interval),
            None => ", no RSS (give --pid with --url)".into(),
        }
    ));

    let (primed_s, rss_primed_mb) =
        prime(&client, &url, &plan, &formats, places as usize, pid).await?;
    progress(format!(
        "primed in {primed_s:.1} s: the mix's largest request {places} at a time, then a rehearsal of the mix; RSS {} MB",
        rss_primed_mb.map_or("?".into(), |mb| format!("{mb:.0}"))
    ));

    let log = std::fs::File::create(plan.log_dir.join("requests.jsonl"))
        .map_err(|e| format!("{}: {e}", plan.log_dir.display()))?;
    let origin = Instant::now();
    let sampler = pid.map(|pid| RssSampler::start(pid, plan.rss_interval, origin));
    let shared = Arc::new(Shared {
        plan: plan.clone(),
        url: url.clone(),
        formats: formats.clone(),
        client: client.clone(),
        origin,
        next: AtomicUsize::new(0),
        stop: AtomicBool::new(false),
        records: Mutex::new(Vec::new()),
        log: Mutex::new(Some(std::io::LineWriter::new(log))),
    });
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..plan.concurrency.max(1) {
        let shared = shared.clone();
        tasks.spawn(async move {
            while !shared.done() {
                let outcome = shared.one(false).await;
                if outcome == Outcome::Saturated && !shared.plan.pause_after_429.is_zero() {
                    tokio::time::sleep(shared.plan.pause_after_429).await;
                }
            }
        });
    }
    if burst > 0 && plan.burst_every > 0.0 {
        let shared = shared.clone();
        tasks.spawn(async move {
            let every = Duration::from_secs_f64(shared.plan.burst_every);
            let mut at = tokio::time::Instant::from_std(shared.origin) + every;
            'bursts: loop {
                // Short naps, so the end of the load is not held up until the next burst.
                while tokio::time::Instant::now() < at {
                    if shared.done() {
                        break 'bursts;
                    }
                    let nap = at.min(tokio::time::Instant::now() + Duration::from_millis(100));
                    tokio::time::sleep_until(nap).await;
                }
                if shared.done() {
                    break;
                }
                let mut wave = tokio::task::JoinSet::new();
                for _ in 0..burst {
                    let shared = shared.clone();
                    wave.spawn(async move { shared.one(true).await });
                }
                while wave.join_next().await.is_some() {}
                at = (at + every).max(tokio::time::Instant::now());
            }
        });
    }
    // A progress line every 10 s while the load runs.
    let ticker = {
        let shared = shared.clone();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(Duration::from_secs(10));
            ticks.tick().await;
            loop {
                ticks.tick().await;
                let counts =
                    outcome_counts(&shared.records.lock().unwrap_or_else(|e| e.into_inner()));
                progress(format!(
                    "{:.0} s: {} sent, {counts:?}",
                    shared.origin.elapsed().as_secs_f64(),
                    shared.next.load(Ordering::SeqCst)
                ));
            }
        })
    };
    while let Some(joined) = tasks.join_next().await {
        if let Err(e) = joined {
            ticker.abort();
            return Err(format!("a soak worker failed: {e}"));
        }
    }
    ticker.abort();
    let load_s = origin.elapsed().as_secs_f64();
    if let Some(sampler) = &sampler {
        sampler.sample_now();
    }
    progress(format!(
        "load over after {load_s:.1} s; waiting for every place to be free"
    ));

    // After the load: every place free again, one more normal request answered.
    let within = Duration::from_secs_f64(plan.recover_seconds);
    let (recovered_s, free_after_load) = wait_for_places(&client, &base, places, within).await;
    let (survivor, survivor_seen, survivor_attempts) =
        normal_request(&client, &url, &plan, "mp3", SENTENCES[0], within).await;
    let (recovered_again_s, free_at_end) = wait_for_places(&client, &base, places, within).await;
    let rss = match sampler {
        Some(sampler) => sampler.finish().await,
        None => Vec::new(),
    };
    let rss_hwm_mb = pid.and_then(|pid| proc_status_mb(pid, "VmHWM"));
    let records = std::mem::take(&mut *shared.records.lock().unwrap_or_else(|e| e.into_inner()));

    let verdict = (!rss.is_empty())
        .then(|| rss_verdict(&rss, load_s, plan.rss_bound_mb, plan.rss_slope_mb_per_min));
    let counts = outcome_counts(&records);
    let count = |label: &str| counts.get(label).copied().unwrap_or(0);
    let mut checks = BTreeMap::new();
    checks.insert("requests_reached", records.len() >= plan.requests);
    checks.insert("duration_reached", load_s >= plan.seconds);
    checks.insert("no_other_answers", count("other") == 0);
    if burst > 0 {
        checks.insert("some_429_seen", count("saturated") > 0);
    }
    checks.insert("survivor_got_200", survivor == Outcome::Ok);
    checks.insert(
        "health_recovered",
        recovered_s.is_some() && recovered_again_s.is_some(),
    );
    if let Some(v) = &verdict {
        checks.insert("rss_end_within_bound", v.end_within_bound);
        checks.insert("rss_slope_small", v.slope_small);
    }
    let pass = checks.values().all(|&ok| ok);

    let report = report(ReportParts {
        plan: &plan,
        url: &url,
        pid,
        server,
        places,
        burst,
        formats: &formats,
        aac_dropped: aac_dropped.as_deref(),
        records: &records,
        load_s,
        rss: &rss,
        rss_ready_mb,
        rss_primed_mb,
        primed_s,
        rss_hwm_mb,
        verdict: verdict.as_ref(),
        recovered_s,
        free_after_load,
        survivor: (&survivor, &survivor_seen, survivor_attempts),
        recovered_again_s,
        free_at_end,
        checks: &checks,
        pass,
        wall_s: started.elapsed().as_secs_f64(),
    });
    let summary = markdown(&report);
    Ok((report, summary, pass))
}
