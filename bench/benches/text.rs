//! Text preparation before the encoder: normalization (numbers, symbols to words) and SpeechT5's
//! character tokenization, on a ~300-character input with digits, currency and abbreviations.

mod common;

use std::hint::black_box;
use std::time::Instant;

use common::{Recorder, Settings};
use criterion::Throughput;
use serde_json::{json, Map};
use tts::text::normalize::normalize;

const TEXT: &str = "On 3 March 2024, Dr. Smith paid $1,234.56 for 12 boxes of tea at 9:30 am, \
    then walked 2.5 km to the station on Baker St. The 7:45 train was 15 minutes late, so she \
    read 40 pages of a novel and answered 3 emails. Her order no. 1098 arrived on the 21st, \
    and 95% of the boxes were intact; she rated it 4/5.";

fn main() {
    let settings = Settings::from_env();
    let mut c = settings.criterion();
    let (engine, _) = settings.engine();
    let rec = Recorder::default();
    let normalized = normalize(TEXT);

    let mut group = c.benchmark_group("text");
    group.throughput(Throughput::Bytes(TEXT.len() as u64));
    group.bench_function("normalize", |b| {
        b.iter_custom(|iters| {
            let t = Instant::now();
            for _ in 0..iters {
                black_box(normalize(black_box(TEXT)));
            }
            let total = t.elapsed();
            rec.record_batch("normalize", total, iters);
            total
        });
    });
    group.throughput(Throughput::Bytes(normalized.len() as u64));
    group.bench_function("tokenize", |b| {
        b.iter_custom(|iters| {
            let t = Instant::now();
            for _ in 0..iters {
                black_box(engine.tokenize(black_box(&normalized)));
            }
            let total = t.elapsed();
            rec.record_batch("tokenize", total, iters);
            total
        });
    });
    group.finish();

    let mut report = Map::new();
    if let (Some(n), Some(t)) = (rec.median("normalize"), rec.median("tokenize")) {
        report.insert(
            "text".into(),
            json!({"chars": TEXT.chars().count(), "normalize_ms": n, "tokenize_ms": t}),
        );
    }
    c.final_summary();
    common::write_sections(&settings, report);
}
