//! Shared by every bench binary: the settings read from the environment, the criterion profile,
//! the engine, a recorder of the times each bench measured, and the writer of
//! `$TTS_BENCH_OUT/engine.json` (see `bench/REPORT-CONTRACT.md`).
//!
//! Environment: `TTS_BENCH_MODEL_DIR` (default `.models/speecht5-full-random`, relative paths
//! from the repository root; an int8 export is another folder), `TTS_BENCH_THREADS` (default 2,
//! 0 for OpenVINO's own choice), `TTS_BENCH_PRECISION` (`f32` default, or `bf16`),
//! `TTS_BENCH_SMOKE=1` (tiny model, minimal sampling: seconds after the build),
//! `TTS_BENCH_POSITIONS` (decoder positions, default `1,16,64,128,256`),
//! `TTS_BENCH_STEPS_PER_TOKEN` (forced steps per input token of whole utterances, default 2, 1 in
//! smoke mode),
//! `TTS_BENCH_OUT` (default `target/bench-report`), `OPENVINO_LIB`;
//! for the Piper bench `TTS_BENCH_PIPER_DIR` (default `.models/piper-joe`, from
//! `function/scripts/setup-piper.sh`) and eSpeak NG as the function finds it
//! (`TTS_ESPEAK_PHONEMIZER`, else `espeak-phonemes` in `$CARGO_TARGET_DIR/release`; the library
//! and data from `setup-espeak.sh`'s `.espeak/`).
//!
//! Each bench binary merges its own sections into `engine.json`; a run of `cargo bench -p
//! tts-bench` runs all of them, so the file is complete afterwards. Sections written under
//! another configuration are dropped, never mixed.

#![allow(dead_code)] // each bench binary uses part of this module

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use clap::ValueEnum;
use criterion::Criterion;
use serde_json::{json, Map, Value};
use tts::engine::piper::Piper;
use tts::engine::speecht5::SpeechT5;
use tts::engine::{Precision, Runtime, RuntimeOptions, SpeechEngine, OPENVINO_C_LIBRARY};
use tts::text::espeak::{Espeak, EspeakConfig};

/// Criterion's minimum, used by every group: the model benches are slow.
pub const SAMPLES: usize = 10;

/// The repository root (this crate is `<repo>/bench`).
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("bench/ has a parent")
        .to_owned()
}

fn repo_path(value: impl AsRef<str>) -> PathBuf {
    let value = value.as_ref();
    let path = PathBuf::from(value);
    if path.is_absolute() {
        path
    } else {
        repo().join(path)
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// The runtime every engine of this bench process compiles with (see [`Settings::runtime`]).
static RUNTIME: std::sync::OnceLock<Arc<Runtime>> = std::sync::OnceLock::new();

/// The settings of one bench run, from the environment.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The SpeechT5 export actually used.
    pub model_dir: PathBuf,
    /// The Piper voice folder.
    pub piper_dir: PathBuf,
    /// Threads per inference (`None`: OpenVINO's choice).
    pub threads: Option<u32>,
    /// Inference precision.
    pub precision: Precision,
    /// CI mode: tiny model, minimal sampling.
    pub smoke: bool,
    /// Decoder positions timed by `decoder_step`.
    pub positions: Vec<usize>,
    /// Forced decoder steps per input token for whole utterances.
    pub steps_per_token: usize,
    /// Where `engine.json` goes.
    pub out: PathBuf,
    /// OpenVINO's C library.
    pub openvino_lib: PathBuf,
}

impl Settings {
    /// Reads the environment (see the module docs); exits with a message on a bad value.
    pub fn from_env() -> Self {
        let smoke = env("TTS_BENCH_SMOKE").is_some_and(|v| v != "0" && v != "false");
        let tiny = repo().join("tests/fixtures/speecht5-tiny/model");
        let model_dir = match env("TTS_BENCH_MODEL_DIR") {
            Some(dir) => repo_path(&dir),
            None if smoke => tiny.clone(),
            None => repo().join(".models/speecht5-full-random"),
        };
        let model_dir = if model_dir.join("config.json").is_file() {
            model_dir
        } else {
            println!(
                "tts-bench: no SpeechT5 export at {} (run tests/fixtures/speecht5/make.sh --full to make it); using the tiny model {}",
                model_dir.display(),
                tiny.display()
            );
            tiny
        };
        let threads = match env("TTS_BENCH_THREADS") {
            None => Some(2),
            Some(v) => match v.parse::<u32>() {
                Ok(0) => None,
                Ok(n) => Some(n),
                Err(_) => fail(&format!("TTS_BENCH_THREADS={v:?} is not a number")),
            },
        };
        let precision = env("TTS_BENCH_PRECISION").map_or(Precision::F32, |v| {
            Precision::from_str(&v, true).unwrap_or_else(|_| {
                fail(&format!("TTS_BENCH_PRECISION={v:?}: use f32, bf16 or f16"))
            })
        });
        let positions = env("TTS_BENCH_POSITIONS").map_or_else(
            || vec![1, 16, 64, 128, 256],
            |v| {
                v.split(',')
                    .map(|p| {
                        p.trim().parse().unwrap_or_else(|_| {
                            fail(&format!("TTS_BENCH_POSITIONS={v:?}: use e.g. 1,16,64"))
                        })
                    })
                    .collect()
            },
        );
        let steps_per_token =
            env("TTS_BENCH_STEPS_PER_TOKEN").map_or(if smoke { 1 } else { 2 }, |v| {
                v.parse()
                    .ok()
                    .filter(|&n: &usize| n > 0)
                    .unwrap_or_else(|| fail(&format!("TTS_BENCH_STEPS_PER_TOKEN={v:?}")))
            });
        Self {
            model_dir,
            piper_dir: env("TTS_BENCH_PIPER_DIR")
                .map_or_else(|| repo().join(".models/piper-joe"), |v| repo_path(&v)),
            threads,
            precision,
            smoke,
            positions,
            steps_per_token,
            out: env("TTS_BENCH_OUT")
                .map_or_else(|| repo().join("target/bench-report"), |v| repo_path(&v)),
            openvino_lib: env("OPENVINO_LIB").map_or_else(
                || repo().join(".openvino/lib").join(OPENVINO_C_LIBRARY),
                PathBuf::from,
            ),
        }
    }

    /// The `config` object of `engine.json`.
    pub fn config_json(&self) -> Value {
        json!({
            "model_dir": self.model_dir,
            "piper_dir": self.piper_dir,
            "threads": self.threads,
            "precision": self.precision,
            "smoke": self.smoke,
        })
    }

    /// The criterion profile: [`SAMPLES`] samples, and in smoke mode a tiny measurement time and
    /// no plots.
    pub fn criterion(&self) -> Criterion {
        let c = Criterion::default()
            .sample_size(SAMPLES)
            .warm_up_time(Duration::from_millis(if self.smoke { 5 } else { 500 }))
            .measurement_time(Duration::from_millis(if self.smoke { 20 } else { 2000 }));
        let c = if self.smoke { c.without_plots() } else { c };
        c.configure_from_args()
    }

    /// Warm-up and measurement times for a group whose iterations take about `per_iter` each
    /// (model stages): one warm-up iteration, one iteration per sample.
    pub fn slow(&self, per_iter: Duration) -> (Duration, Duration) {
        let per_iter = if self.smoke {
            Duration::from_micros(100)
        } else {
            per_iter
        };
        (Duration::from_millis(1), per_iter * SAMPLES as u32)
    }

    /// The OpenVINO runtime (no compiled-model cache), loaded on first use and shared by every
    /// engine of this bench process; `engine.json` records the CPU and the precision its models
    /// really run in from it.
    pub fn runtime(&self) -> Arc<Runtime> {
        RUNTIME
            .get_or_init(|| {
                let runtime = Runtime::new(RuntimeOptions {
                    library: self.openvino_lib.clone(),
                    precision: self.precision,
                    threads: self.threads,
                    cache_dir: None,
                    cache_seed: None,
                    cpu_runtime_cache: None,
                })
                .unwrap_or_else(|e| {
                    fail(&format!(
                        "OpenVINO runtime from {}: {e} (run function/scripts/setup-openvino.sh or set OPENVINO_LIB)",
                        self.openvino_lib.display()
                    ))
                });
                Arc::new(runtime)
            })
            .clone()
    }

    /// Loads the runtime and the model (one slot) and returns it with its default voice.
    pub fn engine(&self) -> (SpeechT5, Vec<f32>) {
        let engine = SpeechT5::load(&self.runtime(), &self.model_dir, 1)
            .unwrap_or_else(|e| fail(&format!("{}: {e}", self.model_dir.display())));
        let voice = engine
            .voice(&engine.info().default_voice)
            .expect("the default voice exists")
            .to_vec();
        (engine, voice)
    }

    /// Starts the eSpeak NG helper and loads the Piper voice (one slot).
    pub fn piper(&self) -> (Piper, Arc<Espeak>) {
        let espeak = Arc::new(
            Espeak::start(&espeak_config())
                .unwrap_or_else(|e| {
                    fail(&format!(
                        "eSpeak NG: {e} (bench/run.sh runs function/scripts/setup-espeak.sh and builds espeak-phonemes)"
                    ))
                }),
        );
        let engine = Piper::load(&self.runtime(), &self.piper_dir, 1, espeak.clone())
            .unwrap_or_else(|e| {
                fail(&format!(
                    "{}: {e} (run function/scripts/setup-piper.sh or set TTS_BENCH_PIPER_DIR)",
                    self.piper_dir.display()
                ))
            });
        (engine, espeak)
    }
}

/// Where eSpeak NG is: the function's variables if set, else the helper built in release
/// (`$CARGO_TARGET_DIR/release`; a bench binary does not live beside it) and `.espeak/`.
fn espeak_config() -> EspeakConfig {
    let target = env("CARGO_TARGET_DIR").map_or_else(|| repo().join("target"), repo_path);
    let or = |var: &str, default: PathBuf| env(var).map_or(default, PathBuf::from);
    EspeakConfig {
        helper: or(
            "TTS_ESPEAK_PHONEMIZER",
            target.join("release/espeak-phonemes"),
        ),
        library: or(
            "TTS_ESPEAK_LIBRARY",
            repo().join(".espeak/lib/libespeak-ng.so.1"),
        ),
        data: or("TTS_ESPEAK_DATA", repo().join(".espeak/espeak-ng-data")),
    }
}

fn fail(message: &str) -> ! {
    eprintln!("tts-bench: {message}");
    std::process::exit(2)
}

/// Whether criterion runs for real (not `--test`, `--list` or `--profile-time`), so that the
/// measured times belong in `engine.json`.
pub fn measuring() -> bool {
    !std::env::args().any(|a| a == "--test" || a == "--list" || a == "--profile-time")
}

/// Plain English words, no digits or punctuation, repeated to make long inputs.
pub const WORDS: &str = "the quick brown fox jumps over the lazy dog while the cat watches from \
    the warm windowsill and the birds sing in the tall old trees beside a quiet river ";

/// The first `chars` characters of [`WORDS`] repeated, without a trailing space (what
/// [`text_with_tokens`] makes for SpeechT5's character tokenizer, without needing it).
pub fn words(chars: usize) -> String {
    WORDS
        .chars()
        .cycle()
        .take(chars)
        .collect::<String>()
        .trim_end()
        .to_owned()
}

/// Text of about `tokens` tokens (with `</s>`) for `engine`: plain English words, no digits.
pub fn text_with_tokens(engine: &SpeechT5, tokens: usize) -> String {
    let mut text = String::new();
    for c in WORDS.chars().cycle() {
        if engine.tokenize(&text).len() >= tokens {
            break;
        }
        text.push(c);
    }
    text.trim_end().to_owned()
}

/// The times a bench measured, per benchmark id: one list per call of the routine, in ms per
/// iteration. Criterion calls a routine during warm-up and then once per sample, so the last
/// [`SAMPLES`] calls are the measured samples.
#[derive(Default)]
pub struct Recorder {
    calls: RefCell<BTreeMap<String, Vec<Vec<f64>>>>,
}

impl Recorder {
    /// Records one call of `id`'s routine: each value is one iteration's time in ms.
    pub fn record(&self, id: &str, values: Vec<f64>) {
        self.calls
            .borrow_mut()
            .entry(id.to_owned())
            .or_default()
            .push(values);
    }

    /// Records one call that timed `iters` iterations together in `total`.
    pub fn record_batch(&self, id: &str, total: Duration, iters: u64) {
        self.record(id, vec![ms(total) / iters.max(1) as f64]);
    }

    /// The measured values of `id` (its last [`SAMPLES`] calls), if it ran.
    pub fn values(&self, id: &str) -> Option<Vec<f64>> {
        let calls = self.calls.borrow();
        let calls = calls.get(id)?;
        let measured = &calls[calls.len().saturating_sub(SAMPLES)..];
        Some(measured.iter().flatten().copied().collect())
    }

    /// Median of `id`'s measured values, in ms.
    pub fn median(&self, id: &str) -> Option<f64> {
        self.values(id).map(|v| quantile(v, 0.5))
    }

    /// 90th percentile of `id`'s measured values, in ms.
    pub fn p90(&self, id: &str) -> Option<f64> {
        self.values(id).map(|v| quantile(v, 0.9))
    }
}

/// Milliseconds.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Linear-interpolated quantile (`q` in [0, 1]); NaN for no values.
pub fn quantile(mut values: Vec<f64>, q: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => f64::NAN,
        n => {
            let at = q * (n - 1) as f64;
            let (lo, hi) = (at.floor() as usize, at.ceil() as usize);
            values[lo] + (values[hi] - values[lo]) * (at - lo as f64)
        }
    }
}

/// Merges `sections` (top-level keys of `engine.json`) into `$TTS_BENCH_OUT/engine.json`,
/// dropping what an earlier run wrote under another configuration. Skipped when criterion is
/// not measuring or nothing was measured.
pub fn write_sections(settings: &Settings, sections: Map<String, Value>) {
    if !measuring() || sections.is_empty() {
        return;
    }
    let path = settings.out.join("engine.json");
    let config = settings.config_json();
    let mut report = std::fs::read(&path)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<Map<String, Value>>(&bytes).ok())
        .filter(|old| old.get("config") == Some(&config))
        .unwrap_or_default();
    report.insert("config".to_owned(), config);
    // What the benched models really ran in, on which CPU (OpenVINO falls back quietly).
    if let Some(precision) = RUNTIME.get().map(|r| r.precision()) {
        if let Some(warning) = precision.fallback_warning() {
            println!("tts-bench: {warning}");
        }
        report.insert("device".to_owned(), json!(precision));
    }
    report.extend(sections);
    let write = || -> std::io::Result<()> {
        std::fs::create_dir_all(&settings.out)?;
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, serde_json::to_vec_pretty(&Value::Object(report))?)?;
        std::fs::rename(&tmp, &path)
    };
    match write() {
        Ok(()) => println!("tts-bench: wrote {}", path.display()),
        Err(e) => fail(&format!("writing {}: {e}", path.display())),
    }
}
