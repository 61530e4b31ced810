//! `speecht5-steps`: times this engine on a SpeechT5 export with a forced decoder step count,
//! the same way `bench/peers/genai_speecht5.py` times OpenVINO GenAI: whole utterances of n and
//! 2n steps, per-step latency derived as (t(2n) − t(n)) / n, plus this engine's own per-step
//! timings (GenAI reports none). Prints one JSON object.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Parser;
use serde_json::json;
use tts::engine::speecht5::{SpeechT5, Steps, Utterance};
use tts::engine::{Precision, Runtime, RuntimeOptions};

#[derive(Parser)]
struct Args {
    /// SpeechT5 export folder.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../.models/speecht5-full-random"))]
    model_dir: PathBuf,
    /// OpenVINO C library.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../.openvino/lib/libopenvino_c.so.2641"))]
    openvino_lib: PathBuf,
    /// Inference precision.
    #[arg(long, value_enum, default_value_t = Precision::F32)]
    precision: Precision,
    /// Threads per inference.
    #[arg(long)]
    threads: Option<u32>,
    /// Text to speak.
    #[arg(
        long,
        default_value = "The quick brown fox jumps over the lazy dog, while the cat watches from the warm windowsill."
    )]
    text: String,
    /// Forced decoder steps n (the run also does 2n).
    #[arg(long, default_value_t = 32)]
    steps: usize,
    /// Timed repetitions of each step count (after one warm-up).
    #[arg(long, default_value_t = 5)]
    repeats: usize,
    /// Voice (a `voices/<name>.bin` of the folder).
    #[arg(long)]
    voice: Option<String>,
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let started = Instant::now();
    let runtime = std::sync::Arc::new(Runtime::new(RuntimeOptions {
        library: args.openvino_lib.clone(),
        precision: args.precision,
        threads: args.threads,
        cache_dir: None,
        cache_seed: None,
        cpu_runtime_cache: None,
    })?);
    let engine = SpeechT5::load(&runtime, &args.model_dir, 1)?;
    let load = started.elapsed();
    if let Some(warning) = runtime.precision().fallback_warning() {
        eprintln!("speecht5-steps: {warning}");
    }
    let voice = args.voice.clone().unwrap_or_else(|| {
        tts::engine::SpeechEngine::info(&engine)
            .default_voice
            .clone()
    });
    let tokens = engine.tokenize(&args.text).len();

    let run = |n: usize| -> Result<Vec<Utterance>, tts::engine::EngineError> {
        engine.generate(&args.text, &voice, Steps::Exactly(n))?; // warm-up
        (0..args.repeats)
            .map(|_| engine.generate(&args.text, &voice, Steps::Exactly(n)))
            .collect()
    };
    let short = run(args.steps)?;
    let long = run(2 * args.steps)?;
    let total = |u: &[Utterance]| median(u.iter().map(|u| ms(u.synthesis.timings.total)).collect());
    let (t_n, t_2n) = (total(&short), total(&long));
    let steps_ms: Vec<f64> = long
        .iter()
        .flat_map(|u| {
            u.synthesis
                .timings
                .decoder_steps
                .iter()
                .skip(1)
                .map(|&d| ms(d))
        })
        .collect();
    let first_ms: Vec<f64> = long
        .iter()
        .map(|u| ms(u.synthesis.timings.decoder_steps[0]))
        .collect();
    let stage =
        |f: &dyn Fn(&Utterance) -> Duration| median(long.iter().map(|u| ms(f(u))).collect());
    let audio_secs = long[0].synthesis.duration_secs();
    let report = json!({
        "engine": "tts (this project)",
        "model_dir": args.model_dir,
        "precision": args.precision,
        "device": runtime.precision(),
        "threads": args.threads,
        "text_chars": args.text.chars().count(),
        "tokens": tokens,
        "load_ms": ms(load),
        "steps": [args.steps, 2 * args.steps],
        "repeats": args.repeats,
        "median_total_ms": [t_n, t_2n],
        "per_step_ms_derived": (t_2n - t_n) / args.steps as f64,
        "per_step_ms_measured_median": median(steps_ms),
        "first_step_ms_median": median(first_ms),
        "encoder_ms_median": stage(&|u| u.synthesis.timings.encoder),
        "postnet_ms_median": stage(&|u| u.synthesis.timings.postnet),
        "vocoder_ms_median": stage(&|u| u.synthesis.timings.vocoder),
        "audio_seconds_2n": audio_secs,
        "rtf_2n": t_2n / 1e3 / audio_secs,
    });
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}
