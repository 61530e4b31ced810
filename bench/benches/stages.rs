//! The model's stages one at a time, through `SpeechT5::decoder_session`: one decoder step at
//! several warm positions (after k steps) with a ~100-token encoder output, the encoder on ~20
//! and ~200 tokens, the postnet, and the vocoder per second of audio. Only each stage's `infer`
//! is timed; advancing the decoder to position k is not.

mod common;

use std::hint::black_box;
use std::time::Duration;

use common::{ms, text_with_tokens, Recorder, Settings};
use criterion::{BenchmarkId, SamplingMode, Throughput};
use serde_json::{json, Map, Value};

/// Decoder steps behind the postnet and vocoder benches: 250 frames, 4 s of audio at 16 kHz.
const SPECTROGRAM_STEPS: usize = 125;

fn main() {
    let settings = Settings::from_env();
    let mut c = settings.criterion();
    let (engine, speaker) = settings.engine();
    let rec = Recorder::default();
    let mut report = Map::new();

    // One decoder step at position k: a fresh state, k untimed steps, then the timed one.
    let ids = engine.tokenize(&text_with_tokens(&engine, 100));
    let mut session = engine
        .decoder_session(&ids, &speaker)
        .expect("decoder session");
    let max_position = engine.config().max_speech_positions.saturating_sub(2);
    let positions: Vec<usize> = settings
        .positions
        .iter()
        .copied()
        .filter(|&k| k <= max_position)
        .collect();
    let mut group = c.benchmark_group("decoder_step");
    let (warm_up, measure) = settings.slow(Duration::from_millis(20));
    group
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(warm_up)
        .measurement_time(measure);
    for &k in &positions {
        let id = format!("decoder_step/{k}");
        group.bench_with_input(BenchmarkId::new("position", k), &k, |b, &k| {
            b.iter_custom(|iters| {
                let mut steps = Vec::with_capacity(iters as usize);
                for _ in 0..iters {
                    session.restart().expect("restart");
                    for _ in 0..k {
                        session.step().expect("decoder step");
                    }
                    steps.push(session.step().expect("decoder step"));
                }
                rec.record(&id, steps.iter().map(|&d| ms(d)).collect());
                steps.iter().sum()
            });
        });
    }
    group.finish();
    let decoder: Vec<Value> = positions
        .iter()
        .filter_map(|k| {
            let id = format!("decoder_step/{k}");
            Some(json!({"position": k, "median_ms": rec.median(&id)?, "p90_ms": rec.p90(&id)?}))
        })
        .collect();
    if !decoder.is_empty() {
        report.insert("decoder_step".into(), json!(decoder));
    }
    println!(
        "decoder_step: encoder length {} tokens",
        session.encoder_tokens()
    );
    drop(session);

    // Encoder on short and long input; a session per iteration, its encoder `infer` timed.
    let mut group = c.benchmark_group("encoder");
    let (warm_up, measure) = settings.slow(Duration::from_millis(100));
    group
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(warm_up)
        .measurement_time(measure);
    let inputs: Vec<Vec<i64>> = [20, 200]
        .into_iter()
        .map(|n| engine.tokenize(&text_with_tokens(&engine, n)))
        .collect();
    for ids in &inputs {
        let id = format!("encoder/{}", ids.len());
        group.throughput(Throughput::Elements(ids.len() as u64));
        group.bench_with_input(BenchmarkId::new("tokens", ids.len()), ids, |b, ids| {
            b.iter_custom(|iters| {
                let times: Vec<Duration> = (0..iters)
                    .map(|_| {
                        engine
                            .decoder_session(ids, &speaker)
                            .expect("encoder")
                            .encoder_time()
                    })
                    .collect();
                rec.record(&id, times.iter().map(|&d| ms(d)).collect());
                times.iter().sum()
            });
        });
    }
    group.finish();
    let encoder: Vec<Value> = inputs
        .iter()
        .filter_map(|ids| {
            let median = rec.median(&format!("encoder/{}", ids.len()))?;
            Some(json!({"tokens": ids.len(), "median_ms": median}))
        })
        .collect();
    if !encoder.is_empty() {
        report.insert("encoder".into(), json!(encoder));
    }

    // Postnet and vocoder on the output of a fixed number of decoder steps.
    let mut session = engine
        .decoder_session(&ids, &speaker)
        .expect("decoder session");
    let steps = SPECTROGRAM_STEPS.min(max_position);
    for _ in 0..steps {
        session.step().expect("decoder step");
    }
    session.postnet().expect("postnet");
    session.vocoder().expect("vocoder");
    let samples = session.waveform().expect("waveform").len();
    let audio_seconds = samples as f64 / f64::from(tts::engine::speecht5::SAMPLE_RATE);
    let mut group = c.benchmark_group("postnet");
    let (warm_up, measure) = settings.slow(Duration::from_millis(10));
    group
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(warm_up)
        .measurement_time(measure);
    group.bench_function(BenchmarkId::new("steps", steps), |b| {
        b.iter_custom(|iters| {
            let times: Vec<Duration> = (0..iters)
                .map(|_| session.postnet().expect("postnet"))
                .collect();
            rec.record("postnet", times.iter().map(|&d| ms(d)).collect());
            times.iter().sum()
        });
    });
    group.finish();
    let mut group = c.benchmark_group("vocoder");
    let (warm_up, measure) = settings.slow(Duration::from_millis(400));
    group
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(warm_up)
        .measurement_time(measure)
        // Elements are output samples at 16 kHz: 16 000 elem/s is real time.
        .throughput(Throughput::Elements(samples as u64));
    group.bench_function(BenchmarkId::new("audio_seconds", audio_seconds), |b| {
        b.iter_custom(|iters| {
            let times: Vec<Duration> = (0..iters)
                .map(|_| black_box(session.vocoder().expect("vocoder")))
                .collect();
            rec.record("vocoder", times.iter().map(|&d| ms(d)).collect());
            times.iter().sum()
        });
    });
    group.finish();
    drop(session);
    if let Some(median) = rec.median("postnet") {
        report.insert("postnet_ms".into(), json!(median));
    }
    if let Some(median) = rec.median("vocoder") {
        report.insert(
            "vocoder_ms_per_audio_second".into(),
            json!(median / audio_seconds),
        );
    }

    c.final_summary();
    common::write_sections(&settings, report);
}
