//! `loadtest`: measures the speech function.
//!
//! - `loadtest run --url URL`: a bounded number of requests at one concurrency against a running
//!   function; prints one JSON object (a sweep entry of the report contract).
//! - `loadtest suite`: spawns `bootstrap` itself to measure its cold start (without and with the
//!   compiled-model cache) and a concurrency sweep with its memory sampled; writes
//!   `$TTS_BENCH_OUT/loadtest.json` (`loadtest-piper.json` with `--family piper`) and prints a
//!   Markdown summary. After the sweep, a streamed phase times the first audio byte and the
//!   playback stalls of one ~200-character input, one request at a time, hanging up after a few
//!   seconds of audio. `--smoke` runs a tiny version. The function serves one model, of the
//!   family chosen with `--family`, from a configuration file the suite writes for it.
//! - `loadtest soak`: spawns `bootstrap` (or targets `--url`) and offers a mixed workload for a
//!   minute or more (every format, streamed and not, speeds, early hang-ups, bursts over the
//!   queue) while sampling its RSS; passes when every answer is a 200 or a well-formed 429, the
//!   memory stays within a bound after warm-up and the function serves normally afterwards.
//!   Prints one JSON object (also `$TTS_BENCH_OUT/soak.json` when set) and a Markdown summary on
//!   stderr. `--smoke` runs a short version for CI.
//!
//! Everything is bounded in requests and time and meant for loopback targets.

mod load;
mod server;
mod soak;
mod stats;
mod suite;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Args, Parser, Subcommand};

use server::Family;

/// The repository this binary was built from (for default paths).
const REPO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

/// Realistic sentences of about 100 characters, sent in turn.
const SENTENCES: [&str; 8] = [
    "The morning train to the coast leaves at seven fifteen, so please be at the station ten minutes early.",
    "Our quarterly results show steady growth in every region, with the strongest gains in online sales.",
    "If the weather stays clear tomorrow, we will hike to the lake and have lunch beside the old boathouse.",
    "Please remember to back up your files before installing the update, as it may restart your computer.",
    "The museum's new exhibition explores how maps shaped trade, travel and science over five centuries.",
    "Turn left at the second traffic light, then continue straight until you see the bakery on your right.",
    "She finished reading the novel late last night and could not stop thinking about its surprising end.",
    "Thank you for calling. All of our agents are busy right now, but your call is important to us today.",
];

/// The suite's streamed input: about 200 characters, several seconds of speech.
const STREAM_INPUT: &str = "The quick brown fox jumps over the lazy dog, while the cat watches from the warm windowsill. Then the dog wakes up, stretches slowly, and wanders off to find a quiet corner of the sunny garden.";

#[derive(Parser, Debug)]
#[command(about = "Load tests and cold-start measurements of the speech function")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Requests at one concurrency against a running function; prints one JSON object.
    Run(RunArgs),
    /// Cold start and concurrency sweep of a spawned function; writes loadtest.json.
    Suite(Box<SuiteArgs>),
    /// A long mixed workload (formats, streams, hang-ups, 429s) with the function's memory
    /// sampled; prints one JSON object and exits non-zero unless it passed.
    Soak(Box<SoakArgs>),
}

#[derive(Args, Debug)]
struct Request {
    /// Speech path.
    #[arg(long, default_value = "/v1/audio/speech")]
    path: String,
    /// Model name to ask for [default: `suite`: the spawned model's id (the family's name);
    /// `run`: tts-1, the function's default model].
    #[arg(long)]
    model: Option<String>,
    /// Voice to ask for (OpenAI's names map to every model's voices).
    #[arg(long, default_value = "alloy")]
    voice: String,
    /// Text to speak (repeat for several, sent in turn). Default: eight sentences of ~100 chars.
    #[arg(long)]
    input: Vec<String>,
    /// File with one text per line to speak in turn (instead of --input).
    #[arg(long, conflicts_with = "input")]
    input_file: Option<PathBuf>,
    /// Stop sending new requests after this many seconds (per level).
    #[arg(long, default_value_t = 120.0)]
    max_seconds: f64,
    /// Give up on one request after this many seconds.
    #[arg(long, default_value_t = 300)]
    request_timeout: u64,
    /// Ask for a streamed answer (`stream_format` "audio" or "sse", as raw 24 kHz pcm): the
    /// time to first byte is then the time to first audio. Default: whole WAV bodies.
    #[arg(long, value_parser = ["audio", "sse"])]
    stream_format: Option<String>,
}

impl Request {
    fn inputs(&self) -> Result<Vec<String>, String> {
        let inputs: Vec<String> = match &self.input_file {
            Some(path) => std::fs::read_to_string(path)
                .map_err(|e| format!("{}: {e}", path.display()))?
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_owned)
                .collect(),
            None if self.input.is_empty() => SENTENCES.iter().map(|s| s.to_string()).collect(),
            None => self.input.clone(),
        };
        if inputs.is_empty() {
            return Err("no input text".into());
        }
        Ok(inputs)
    }
}

#[derive(Args, Debug)]
struct RunArgs {
    /// Base URL of the function, e.g. http://127.0.0.1:8080 or http://localhost:9000.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// Total requests.
    #[arg(long, default_value_t = 20)]
    requests: usize,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 1)]
    concurrency: usize,
    /// With --stream-format: hang up once this many seconds of audio arrived (the function
    /// cancels the synthesis); latency is then the time to the hang-up. 0: read to the end.
    #[arg(long, default_value_t = 0.0)]
    listen_seconds: f64,
    #[command(flatten)]
    request: Request,
}

#[derive(Args, Debug)]
struct SuiteArgs {
    /// The function binary [default: target/release/bootstrap, under $CARGO_TARGET_DIR if set].
    #[arg(long)]
    bootstrap: Option<PathBuf>,
    /// Model family of the spawned function: the suite writes it a configuration with this one
    /// model (so TTS_MODEL_DIR never replaces another family's default model).
    #[arg(long, value_enum, default_value_t = Family::Speecht5)]
    family: Family,
    /// Model folder [default: speecht5: .models/speecht5-full-random, with --smoke the tiny test
    /// export; piper: .models/piper-joe (function/scripts/setup-piper.sh)].
    #[arg(long)]
    model_dir: Option<PathBuf>,
    /// Inference threads of the function (TTS_THREADS) [default: OpenVINO's choice].
    #[arg(long)]
    threads: Option<u32>,
    /// Inference precision (TTS_PRECISION).
    #[arg(long, default_value = "f32", value_parser = ["f32", "bf16"])]
    precision: String,
    /// Utterances synthesized at once (TTS_SLOTS).
    #[arg(long, default_value_t = 2)]
    slots: u32,
    /// Requests waiting for a slot (TTS_MAX_QUEUE) [default: the highest concurrency, so no 429].
    #[arg(long)]
    max_queue: Option<u32>,
    /// OpenVINO C library for the function (OPENVINO_LIB) [default: the function's own search].
    #[arg(long)]
    openvino_lib: Option<PathBuf>,
    /// Sweep against this running function instead of a spawned one (no RSS then).
    #[arg(long)]
    url: Option<String>,
    /// Measured cold starts per cache mode [default: 3; 1 with --smoke].
    #[arg(long)]
    cold_runs: Option<usize>,
    /// Skip the cold-start measurements.
    #[arg(long)]
    skip_cold: bool,
    /// Concurrency levels of the sweep [default: 1,2,4,8; 1,2 with --smoke].
    #[arg(long, value_delimiter = ',')]
    concurrency: Vec<usize>,
    /// Requests per level [default: 16; 3 with --smoke].
    #[arg(long)]
    requests: Option<usize>,
    /// Longest wait for the function to listen, in seconds.
    #[arg(long, default_value_t = 600)]
    start_timeout: u64,
    /// RSS sampling interval in milliseconds.
    #[arg(long, default_value_t = 200)]
    rss_interval_ms: u64,
    /// Report file [default: $TTS_BENCH_OUT/loadtest.json, loadtest-piper.json for piper;
    /// TTS_BENCH_OUT default target/bench-report].
    #[arg(long)]
    out: Option<PathBuf>,
    /// A small, fast run for CI: tiny model (speecht5), 1 cold run each, concurrency 1 and 2, 3
    /// requests each.
    #[arg(long)]
    smoke: bool,
    /// Streamed requests after the sweep, one at a time (stream_format audio, pcm) [default: 8;
    /// 2 with --smoke]; 0 skips the streamed phase.
    #[arg(long)]
    stream_requests: Option<usize>,
    /// Text of the streamed requests [default: a ~200-character sentence pair].
    #[arg(long, default_value = STREAM_INPUT)]
    stream_input: String,
    /// Hang up on each streamed request after this many seconds of audio; 0: read to the end
    /// [default: SpeechT5 4 (a random-weight export never stops by itself; it stops within one
    /// decoder step of a hang-up); Piper 0 (it stops only between sentences, so a hang-up would
    /// leave its current inference running into the next request's time to first byte)].
    #[arg(long)]
    stream_listen_seconds: Option<f64>,
    #[command(flatten)]
    request: Request,
}

#[derive(Args, Debug)]
struct SoakArgs {
    /// The function binary [default: target/release/bootstrap, under $CARGO_TARGET_DIR if set].
    #[arg(long)]
    bootstrap: Option<PathBuf>,
    /// Model family of the spawned function (it serves that one model).
    #[arg(long, value_enum, default_value_t = Family::Piper)]
    family: Family,
    /// Model folder [default: piper: .models/piper-joe; speecht5: the tiny test export].
    #[arg(long)]
    model_dir: Option<PathBuf>,
    /// Inference threads of the function (TTS_THREADS) [default: OpenVINO's choice].
    #[arg(long)]
    threads: Option<u32>,
    /// Inference precision (TTS_PRECISION).
    #[arg(long, default_value = "f32", value_parser = ["f32", "bf16"])]
    precision: String,
    /// Utterances synthesized at once (TTS_SLOTS), as in function/tts.toml.
    #[arg(long, default_value_t = 2)]
    slots: u32,
    /// Requests waiting for a slot (TTS_MAX_QUEUE), as in function/tts.toml.
    #[arg(long, default_value_t = 8)]
    max_queue: u32,
    /// OpenVINO C library for the function (OPENVINO_LIB) [default: the function's own search].
    #[arg(long)]
    openvino_lib: Option<PathBuf>,
    /// The spawned function's log filter (RUST_LOG); its stderr goes to --log-dir.
    #[arg(long, default_value = "info")]
    rust_log: String,
    /// Longest wait for the function to listen, in seconds.
    #[arg(long, default_value_t = 600)]
    start_timeout: u64,
    /// Soak this running function instead of a spawned one.
    #[arg(long)]
    url: Option<String>,
    /// With --url: the function's process id, for its RSS (none sampled without it).
    #[arg(long, requires = "url")]
    pid: Option<u32>,
    /// Speech path.
    #[arg(long, default_value = "/v1/audio/speech")]
    path: String,
    /// Model to ask for [default: the spawned family's id; with --url tts-1].
    #[arg(long)]
    model: Option<String>,
    /// Voice to ask for.
    #[arg(long, default_value = "alloy")]
    voice: String,
    /// Offer load for at least this many seconds [default: 75; 18 with --smoke].
    #[arg(long)]
    seconds: Option<f64>,
    /// …and send at least this many requests [default: 500; 60 with --smoke].
    #[arg(long)]
    requests: Option<usize>,
    /// …but stop sending after this many seconds whatever was sent (the run then fails when
    /// fewer than --requests were sent).
    #[arg(long, default_value_t = 900.0)]
    max_seconds: f64,
    /// Workers sending in a closed loop [default: 4 × available cores; 8 with --smoke].
    #[arg(long)]
    concurrency: Option<usize>,
    /// Extra requests sent at once every --burst-every seconds, to go over the queue even when
    /// the workers alone do not [default: the function's places (slots + queue) from /health];
    /// 0: no bursts.
    #[arg(long)]
    burst: Option<usize>,
    /// Seconds between bursts [default: 15; 5 with --smoke].
    #[arg(long)]
    burst_every: Option<f64>,
    /// Percentage of requests that hang up early (half on a 50–300 ms timer, half after a
    /// stream's first bytes).
    #[arg(long, default_value_t = 15.0)]
    hang_up_percent: f64,
    /// A worker's pause after a 429 before its next request (it never retries the same one;
    /// the pause keeps it from spinning on instant 429s).
    #[arg(long, default_value_t = 250)]
    pause_after_429_ms: u64,
    /// Seed of the request mix (request i is the same for a seed whatever the timing; the
    /// default's first 60 requests include both kinds of hang-up).
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// RSS sampling interval in seconds [default: 2; 1 with --smoke].
    #[arg(long)]
    rss_interval: Option<f64>,
    /// Largest RSS growth from the post-warm-up start to the end of the load, in MB.
    #[arg(long, default_value_t = 64.0)]
    rss_bound_mb: f64,
    /// Largest post-warm-up RSS slope, MB per minute [default: --rss-bound-mb over the
    /// post-warm-up window].
    #[arg(long)]
    rss_slope_mb_per_min: Option<f64>,
    /// Seconds /health may take to show every place free after the load.
    #[arg(long, default_value_t = 10.0)]
    recover_seconds: f64,
    /// Give up on one request after this many seconds (counts as other).
    #[arg(long, default_value_t = 120)]
    request_timeout: u64,
    /// Folder for the function's stderr (function-stderr.log) and one JSON line per request
    /// (requests.jsonl) [default: target/soak, target/soak-smoke with --smoke].
    #[arg(long)]
    log_dir: Option<PathBuf>,
    /// Also write the report here [default: $TTS_BENCH_OUT/soak.json when TTS_BENCH_OUT is set].
    #[arg(long)]
    out: Option<PathBuf>,
    /// A short run for CI: about 18 s, ≥ 60 requests, concurrency 8, inputs up to one sentence,
    /// the same checks.
    #[arg(long)]
    smoke: bool,
}

impl SoakArgs {
    fn plan(&self) -> Result<soak::SoakPlan, String> {
        let repo = repo();
        let bootstrap = bootstrap_or_release(self.bootstrap.as_ref(), &repo);
        let model_dir = self.model_dir.clone().unwrap_or_else(|| match self.family {
            Family::Speecht5 => repo.join("tests/fixtures/speecht5-tiny/model"),
            Family::Piper => repo.join(".models/piper-joe"),
        });
        if self.url.is_none() {
            check_spawnable(&bootstrap, &model_dir, self.family)?;
        }
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let smoke = self.smoke;
        let positive = |name: &str, x: f64| {
            if x.is_finite() && x > 0.0 {
                Ok(x)
            } else {
                Err(format!("--{name} must be a positive number"))
            }
        };
        let seconds = positive(
            "seconds",
            self.seconds.unwrap_or(if smoke { 18.0 } else { 75.0 }),
        )?;
        let rss_interval = positive(
            "rss-interval",
            self.rss_interval.unwrap_or(if smoke { 1.0 } else { 2.0 }),
        )?;
        if !(0.0..=100.0).contains(&self.hang_up_percent) {
            return Err("--hang-up-percent must be within 0..=100".into());
        }
        let out = self.out.clone().or_else(|| {
            std::env::var_os("TTS_BENCH_OUT").map(|dir| PathBuf::from(dir).join("soak.json"))
        });
        Ok(soak::SoakPlan {
            server: server::ServerConfig {
                bootstrap: absolute(&bootstrap),
                family: self.family,
                model_dir: absolute(&model_dir),
                config: std::env::temp_dir().join(format!(
                    "tts-loadtest-soak-{}-{}.toml",
                    self.family.id(),
                    std::process::id()
                )),
                threads: self.threads,
                precision: self.precision.clone(),
                slots: self.slots,
                max_queue: self.max_queue,
                openvino_lib: self.openvino_lib.as_deref().map(absolute),
                start_timeout: Duration::from_secs(self.start_timeout),
                rust_log: self.rust_log.clone(),
                stderr_log: None,
            },
            url: self.url.clone(),
            pid: self.pid,
            path: self.path.clone(),
            model: self.model.clone().unwrap_or_else(|| match &self.url {
                Some(_) => "tts-1".to_owned(),
                None => self.family.id().to_owned(),
            }),
            voice: self.voice.clone(),
            seconds,
            requests: self.requests.unwrap_or(if smoke { 60 } else { 500 }),
            max_seconds: self.max_seconds.max(seconds),
            concurrency: self
                .concurrency
                .unwrap_or(if smoke { 8 } else { 4 * cores })
                .max(1),
            burst: self.burst,
            burst_every: self.burst_every.unwrap_or(if smoke { 5.0 } else { 15.0 }),
            hang_up_fraction: self.hang_up_percent / 100.0,
            pause_after_429: Duration::from_millis(self.pause_after_429_ms),
            seed: self.seed,
            classes: if smoke {
                vec![soak::InputClass::Short, soak::InputClass::Sentence]
            } else {
                vec![
                    soak::InputClass::Short,
                    soak::InputClass::Sentence,
                    soak::InputClass::Pair,
                ]
            },
            rss_interval: Duration::from_secs_f64(rss_interval),
            rss_bound_mb: self.rss_bound_mb,
            rss_slope_mb_per_min: self.rss_slope_mb_per_min,
            recover_seconds: self.recover_seconds.max(0.0),
            request_timeout: Duration::from_secs(self.request_timeout.max(1)),
            smoke,
            log_dir: absolute(&self.log_dir.clone().unwrap_or_else(|| {
                repo.join(if smoke {
                    "target/soak-smoke"
                } else {
                    "target/soak"
                })
            })),
            out: out.map(|p| absolute(&p)),
        })
    }
}

/// Runs the soak, writes its report and says whether it passed.
async fn soak(args: &SoakArgs) -> Result<bool, String> {
    let plan = args.plan()?;
    let out = plan.out.clone();
    let (report, summary, pass) = soak::run(plan).await?;
    let text = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
    if let Some(out) = out {
        if let Some(parent) = out.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        std::fs::write(&out, text.clone() + "\n").map_err(|e| format!("{}: {e}", out.display()))?;
        eprintln!("[soak] wrote {}", out.display());
    }
    println!("{text}");
    eprint!("\n{summary}");
    Ok(pass)
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_owned())
}

fn repo() -> PathBuf {
    absolute(Path::new(REPO))
        .components()
        .collect::<PathBuf>()
        .canonicalize()
        .unwrap_or_else(|_| PathBuf::from(REPO))
}

/// `given`, else the release `bootstrap` (under `$CARGO_TARGET_DIR` when set).
fn bootstrap_or_release(given: Option<&PathBuf>, repo: &Path) -> PathBuf {
    given.cloned().unwrap_or_else(|| {
        std::env::var_os("CARGO_TARGET_DIR")
            .map_or_else(|| repo.join("target"), PathBuf::from)
            .join("release/bootstrap")
    })
}

/// The binary and model folder a spawned function needs exist, or what to do about it.
fn check_spawnable(bootstrap: &Path, model_dir: &Path, family: Family) -> Result<(), String> {
    if !bootstrap.is_file() {
        return Err(format!(
            "{} is missing: build it (cargo build --release -p tts-function --bin bootstrap) or pass --bootstrap",
            bootstrap.display()
        ));
    }
    if !model_dir.is_dir() {
        return Err(format!(
            "model folder {} is missing{}",
            model_dir.display(),
            match family {
                Family::Piper => " (function/scripts/setup-piper.sh installs the voice)",
                Family::Speecht5 => "",
            }
        ));
    }
    Ok(())
}

impl SuiteArgs {
    fn plan(&self) -> Result<suite::SuitePlan, String> {
        let repo = repo();
        let bootstrap = bootstrap_or_release(self.bootstrap.as_ref(), &repo);
        let model_dir = self
            .model_dir
            .clone()
            .unwrap_or_else(|| match (self.family, self.smoke) {
                (Family::Speecht5, true) => repo.join("tests/fixtures/speecht5-tiny/model"),
                (Family::Speecht5, false) => repo.join(".models/speecht5-full-random"),
                (Family::Piper, _) => repo.join(".models/piper-joe"),
            });
        check_spawnable(&bootstrap, &model_dir, self.family)?;
        let concurrency = if !self.concurrency.is_empty() {
            self.concurrency.clone()
        } else if self.smoke {
            vec![1, 2]
        } else {
            vec![1, 2, 4, 8]
        };
        if self.stream_input.trim().is_empty() {
            return Err("--stream-input is empty".into());
        }
        if concurrency.contains(&0) {
            return Err("a concurrency level must be at least 1".into());
        }
        let out = self.out.clone().unwrap_or_else(|| {
            std::env::var_os("TTS_BENCH_OUT")
                .map_or_else(|| repo.join("target/bench-report"), PathBuf::from)
                .join(match self.family {
                    Family::Speecht5 => "loadtest.json",
                    Family::Piper => "loadtest-piper.json",
                })
        });
        let max_queue = self
            .max_queue
            .unwrap_or_else(|| concurrency.iter().copied().max().unwrap_or(1) as u32);
        Ok(suite::SuitePlan {
            server: server::ServerConfig {
                bootstrap: absolute(&bootstrap),
                family: self.family,
                model_dir: absolute(&model_dir),
                config: std::env::temp_dir().join(format!(
                    "tts-loadtest-{}-{}.toml",
                    self.family.id(),
                    std::process::id()
                )),
                threads: self.threads,
                precision: self.precision.clone(),
                slots: self.slots,
                max_queue,
                openvino_lib: self.openvino_lib.as_deref().map(absolute),
                start_timeout: Duration::from_secs(self.start_timeout),
                rust_log: "warn".into(),
                stderr_log: None,
            },
            url: self.url.clone(),
            path: self.request.path.clone(),
            model: self
                .request
                .model
                .clone()
                .unwrap_or_else(|| self.family.id().to_owned()),
            voice: self.request.voice.clone(),
            inputs: self.request.inputs()?,
            cold_runs: self
                .cold_runs
                .unwrap_or(if self.smoke { 1 } else { 3 })
                .max(1),
            skip_cold: self.skip_cold,
            concurrency,
            requests: self.requests.unwrap_or(if self.smoke { 3 } else { 16 }),
            max_seconds: self.request.max_seconds,
            request_timeout: Duration::from_secs(self.request.request_timeout),
            rss_interval: Duration::from_millis(self.rss_interval_ms.max(10)),
            smoke: self.smoke,
            stream_requests: self
                .stream_requests
                .unwrap_or(if self.smoke { 2 } else { 8 }),
            stream_input: self.stream_input.clone(),
            stream_listen_seconds: self
                .stream_listen_seconds
                .unwrap_or(match self.family {
                    Family::Speecht5 => 4.0,
                    Family::Piper => 0.0,
                })
                .max(0.0),
            out: absolute(&out),
        })
    }
}

async fn run(args: RunArgs) -> Result<(), String> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(args.request.request_timeout))
        .build()
        .map_err(|e| e.to_string())?;
    let url = format!("{}{}", args.url.trim_end_matches('/'), args.request.path);
    let plan = load::LevelPlan {
        url: url.clone(),
        model: args
            .request
            .model
            .clone()
            .unwrap_or_else(|| "tts-1".to_owned()),
        voice: args.request.voice.clone(),
        inputs: Arc::new(args.request.inputs()?),
        concurrency: args.concurrency.max(1),
        requests: args.requests,
        max_seconds: args.request.max_seconds,
        stream_format: args.request.stream_format.clone(),
        listen_seconds: (args.listen_seconds > 0.0).then_some(args.listen_seconds),
    };
    let level = load::run_level(&client, &plan, Instant::now()).await;
    let mut report = serde_json::to_value(level.report()).map_err(|e| e.to_string())?;
    report["url"] = url.into();
    println!(
        "{}",
        serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?
    );
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let outcome = match Cli::parse().command {
        Command::Run(args) => run(args).await,
        Command::Suite(args) => match args.plan() {
            Ok(plan) => suite::run(plan)
                .await
                .map(|(_, summary)| print!("{summary}")),
            Err(e) => Err(e),
        },
        Command::Soak(args) => match soak(&args).await {
            Ok(true) => Ok(()),
            Ok(false) => Err("the soak failed its checks (see the summary above)".into()),
            Err(e) => Err(e),
        },
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("loadtest: error: {e}");
            ExitCode::FAILURE
        }
    }
}
