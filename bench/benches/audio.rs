//! Each response encoder on 16 kHz engine output (`tts::audio::encode`, resampling included where
//! the format needs another rate), per second of audio. No model is loaded.

mod common;

use std::hint::black_box;
use std::time::Instant;

use common::{Recorder, Settings};
use criterion::{BenchmarkId, Throughput};
use serde_json::{json, Map, Value};
use tts::audio::{encode, AudioFormat};

const RATE: u32 = 16_000;

/// A deterministic speech-like clip: a gliding harmonic voice, syllable-rate amplitude
/// modulation, short pauses and a little noise.
fn clip(seconds: u32) -> Vec<f32> {
    let mut noise = 0x2545_f491_u32;
    (0..seconds * RATE)
        .map(|i| {
            let t = f64::from(i) / f64::from(RATE);
            let f0 = 120.0 + 30.0 * (t * 1.3 * std::f64::consts::TAU).sin();
            let voice: f64 = (1..=8)
                .map(|h| (t * f0 * f64::from(h) * std::f64::consts::TAU).sin() / f64::from(h))
                .sum();
            let syllables = (t * 4.0 * std::f64::consts::TAU).sin().max(0.0);
            let pause = if (t % 1.7) > 1.5 { 0.0 } else { 1.0 };
            noise ^= noise << 13;
            noise ^= noise >> 17;
            noise ^= noise << 5;
            let hiss = f64::from(noise) / f64::from(u32::MAX) - 0.5;
            (0.3 * voice * syllables * pause + 0.01 * hiss) as f32
        })
        .collect()
}

fn main() {
    let settings = Settings::from_env();
    let mut c = settings.criterion();
    let rec = Recorder::default();
    let seconds = if settings.smoke { 1 } else { 5 };
    let audio = clip(seconds);
    let formats = [
        AudioFormat::Mp3,
        AudioFormat::Opus,
        AudioFormat::Flac,
        AudioFormat::Wav,
        AudioFormat::Pcm,
    ];

    let mut group = c.benchmark_group("audio_encode");
    // Elements are input samples at 16 kHz: 16 000 elem/s is real time.
    group.throughput(Throughput::Elements(audio.len() as u64));
    for format in formats {
        group.bench_with_input(
            BenchmarkId::new(format.name(), format!("{seconds}s")),
            &audio,
            |b, audio| {
                b.iter_custom(|iters| {
                    let t = Instant::now();
                    for _ in 0..iters {
                        black_box(encode(format, black_box(audio), RATE).expect("encode"));
                    }
                    let total = t.elapsed();
                    rec.record_batch(format.name(), total, iters);
                    total
                });
            },
        );
    }
    group.finish();

    let per_second: Map<String, Value> = formats
        .iter()
        .filter_map(|f| {
            let median = rec.median(f.name())?;
            Some((f.name().to_owned(), json!(median / f64::from(seconds))))
        })
        .collect();
    let mut report = Map::new();
    if per_second.len() == formats.len() {
        report.insert(
            "audio_encoders_ms_per_audio_second".into(),
            Value::Object(per_second),
        );
    }
    c.final_summary();
    common::write_sections(&settings, report);
}
