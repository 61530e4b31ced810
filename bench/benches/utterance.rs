//! Whole utterances through `SpeechT5::generate` (tokenize → encoder → decoder → postnet →
//! vocoder) with forced step counts, so that random weights cannot change the work:
//! - `utterance/{short,medium,long}`: ~30, ~100 and ~300 characters, `TTS_BENCH_STEPS_PER_TOKEN`
//!   (default 2, about natural speech) steps per token; prints and records the real-time factor;
//! - `utterance_steps/{n,2n}`: `TTS_BENCH_TEXT` (default: the medium text) at n = `TTS_BENCH_STEPS`
//!   and 2n steps, for the per-step cost derived as (t(2n) − t(n)) / n, as `speecht5-steps` and
//!   the GenAI peer script measure it.

mod common;

use std::time::{Duration, Instant};

use common::{ms, text_with_tokens, Recorder, Settings};
use criterion::{BenchmarkId, SamplingMode, Throughput};
use serde_json::{json, Map, Value};
use tts::engine::speecht5::{SpeechT5, Steps};

const SHORT: &str = "Hello there, how are you today";
const MEDIUM: &str = "The quick brown fox jumps over the lazy dog, while the cat watches \
    from the warm windowsill above.";

/// One timed `generate`: its wall time and the audio samples it made.
fn run(engine: &SpeechT5, text: &str, voice: &str, steps: usize) -> (Duration, usize) {
    let t = Instant::now();
    let utterance = engine
        .generate(text, voice, Steps::Exactly(steps))
        .expect("generate");
    (t.elapsed(), utterance.synthesis.samples.len())
}

fn main() {
    let settings = Settings::from_env();
    let mut c = settings.criterion();
    let (engine, _) = settings.engine();
    let voice = tts::engine::SpeechEngine::info(&engine)
        .default_voice
        .clone();
    let rec = Recorder::default();
    let rate = f64::from(tts::engine::speecht5::SAMPLE_RATE);
    let max_steps = engine.config().max_speech_positions.saturating_sub(1);
    let long = text_with_tokens(&engine, 300);
    let texts = [
        ("short", SHORT),
        ("medium", MEDIUM),
        ("long", long.as_str()),
    ];
    // Samples per decoder step (the vocoder's output is proportional to the frames).
    let per_step = run(&engine, SHORT, &voice, 2).1 / 2;

    let mut group = c.benchmark_group("utterance");
    group.sampling_mode(SamplingMode::Flat);
    let mut utterances = Vec::new();
    for (label, text) in texts {
        let tokens = engine.tokenize(text).len();
        let steps = (settings.steps_per_token * tokens).min(max_steps);
        let (warm_up, measure) = settings.slow(Duration::from_millis(16 * steps as u64));
        let samples = std::cell::Cell::new(per_step * steps);
        // Elements are output samples at 16 kHz: 16 000 elem/s is real time (RTF 1).
        group
            .warm_up_time(warm_up)
            .measurement_time(measure)
            .throughput(Throughput::Elements((per_step * steps) as u64));
        group.bench_with_input(BenchmarkId::new(label, steps), &text, |b, text| {
            b.iter_custom(|iters| {
                let runs: Vec<(Duration, usize)> = (0..iters)
                    .map(|_| run(&engine, text, &voice, steps))
                    .collect();
                samples.set(runs[0].1);
                rec.record(label, runs.iter().map(|r| ms(r.0)).collect());
                runs.iter().map(|r| r.0).sum()
            });
        });
        if let Some(median) = rec.median(label) {
            let audio_seconds = samples.get() as f64 / rate;
            let rtf = median / 1e3 / audio_seconds;
            println!(
                "utterance/{label}: {} chars, {tokens} tokens, {steps} steps, {audio_seconds:.2} s of audio, median {median:.1} ms, RTF {rtf:.3}",
                text.chars().count()
            );
            utterances.push(json!({
                "label": label, "chars": text.chars().count(), "tokens": tokens, "steps": steps,
                "audio_seconds": audio_seconds, "median_ms": median, "rtf": rtf,
            }));
        }
    }
    group.finish();

    // The same sentence and step counts as the peers get from bench/run.sh (TTS_BENCH_TEXT,
    // TTS_BENCH_STEPS), so the per-step figures compare like with like.
    let step_text = std::env::var("TTS_BENCH_TEXT").unwrap_or_else(|_| MEDIUM.to_owned());
    let n = std::env::var("TTS_BENCH_STEPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if settings.smoke { 8 } else { 32 });
    let mut group = c.benchmark_group("utterance_steps");
    group.sampling_mode(SamplingMode::Flat);
    for steps in [n, 2 * n] {
        let (warm_up, measure) = settings.slow(Duration::from_millis(16 * steps as u64 + 150));
        group.warm_up_time(warm_up).measurement_time(measure);
        let id = format!("steps/{steps}");
        group.bench_with_input(BenchmarkId::new("medium", steps), &steps, |b, &steps| {
            b.iter_custom(|iters| {
                let times: Vec<Duration> = (0..iters)
                    .map(|_| run(&engine, &step_text, &voice, steps).0)
                    .collect();
                rec.record(&id, times.iter().map(|&d| ms(d)).collect());
                times.iter().sum()
            });
        });
    }
    group.finish();

    let mut report = Map::new();
    if utterances.len() == texts.len() {
        report.insert("utterances".into(), Value::Array(utterances));
    }
    if let (Some(t_n), Some(t_2n)) = (
        rec.median(&format!("steps/{n}")),
        rec.median(&format!("steps/{}", 2 * n)),
    ) {
        report.insert("steps".into(), json!([n, 2 * n]));
        report.insert("utterance_ms".into(), json!([t_n, t_2n]));
        report.insert("per_step_derived_ms".into(), json!((t_2n - t_n) / n as f64));
    }
    c.final_summary();
    common::write_sections(&settings, report);
}
