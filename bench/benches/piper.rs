//! The Piper voice (`TTS_BENCH_PIPER_DIR`, default the `piper-joe` voice) the way the function
//! runs it:
//! - `piper_phonemize/{short,long}`: one round trip to the eSpeak NG helper process (text in,
//!   sentences of IPA phonemes out);
//! - `piper_utterance/{short,medium,long}`: whole utterances, the texts of the SpeechT5 utterance
//!   bench (~30, ~100 and ~300 characters): phonemize, then one inference per sentence with the
//!   voice's default scales (noise 0.667, length 1, noise_w 0.8 for joe: what users get), without
//!   the pauses between sentences or encoding.
//!
//! The model draws random noise (also in its durations), so every run makes a slightly different
//! amount of audio: the real-time factor is the median over runs of (synthesis time / that run's
//! audio seconds). In smoke mode only the short utterance runs.
//!
//! Writes the `piper` section of `engine.json`.

mod common;

use std::cell::RefCell;
use std::hint::black_box;
use std::time::{Duration, Instant};

use common::{ms, quantile, words, Recorder, Settings};
use criterion::{BenchmarkId, SamplingMode, Throughput};
use serde_json::{json, Map};
use tts::engine::piper::Piper;
use tts::engine::SpeechEngine;

const SHORT: &str = "Hello there, how are you today";
const MEDIUM: &str = "The quick brown fox jumps over the lazy dog, while the cat watches \
    from the warm windowsill above.";
/// Characters of the long text (the SpeechT5 bench's 300 tokens).
const LONG_CHARS: usize = 298;

/// One whole utterance: its wall time, audio samples, sentences and phoneme ids.
struct Run {
    took: Duration,
    samples: usize,
    sentences: usize,
    ids: usize,
}

fn utterance(engine: &Piper, text: &str, voice: &str) -> Run {
    let t = Instant::now();
    let sentences = engine.prepare(text).expect("phonemize");
    let (mut samples, mut ids) = (0, 0);
    for sentence in &sentences {
        let out = engine.synthesize(sentence, voice, 1.0).expect("synthesize");
        samples += out.samples.len();
        ids += out.input_tokens;
    }
    Run {
        took: t.elapsed(),
        samples,
        sentences: sentences.len(),
        ids,
    }
}

fn main() {
    let settings = Settings::from_env();
    let mut c = settings.criterion();
    let (engine, espeak) = settings.piper();
    let info = engine.info().clone();
    let voice = info.default_voice.clone();
    let espeak_voice = engine.config().espeak.voice.clone();
    let rate = f64::from(info.sample_rate);
    let rec = Recorder::default();
    let long = words(LONG_CHARS);
    let all = [
        ("short", SHORT),
        ("medium", MEDIUM),
        ("long", long.as_str()),
    ];
    let texts = if settings.smoke { &all[..1] } else { &all[..] };

    let mut group = c.benchmark_group("piper_phonemize");
    let mut phonemize = Vec::new();
    for (label, text) in [("short", SHORT), ("long", long.as_str())] {
        group.throughput(Throughput::Bytes(text.len() as u64));
        let id = format!("phonemize/{label}");
        group.bench_function(label, |b| {
            b.iter_custom(|iters| {
                let t = Instant::now();
                for _ in 0..iters {
                    black_box(
                        espeak
                            .phonemize(black_box(text), &espeak_voice)
                            .expect("phonemize"),
                    );
                }
                let total = t.elapsed();
                rec.record_batch(&id, total, iters);
                total
            });
        });
        if let Some(median) = rec.median(&id) {
            let sentences = espeak.phonemize(text, &espeak_voice).expect("phonemize");
            phonemize.push(json!({
                "label": label, "chars": text.chars().count(), "sentences": sentences.len(),
                "phonemes": sentences.iter().map(|s| s.chars().count()).sum::<usize>(),
                "median_ms": median,
            }));
        }
    }
    group.finish();

    let mut group = c.benchmark_group("piper_utterance");
    group.sampling_mode(SamplingMode::Flat);
    let mut utterances = Vec::new();
    for &(label, text) in texts {
        // Also the first inference of this length, outside the measurement.
        let probe = utterance(&engine, text, &voice);
        let (warm_up, measure) = settings.slow(probe.took);
        group
            .warm_up_time(warm_up)
            .measurement_time(measure)
            .throughput(Throughput::Elements(probe.samples as u64));
        let runs = RefCell::new(Vec::<Run>::new());
        group.bench_with_input(
            BenchmarkId::new(label, text.chars().count()),
            &text,
            |b, text| {
                b.iter_custom(|iters| {
                    let mut call: Vec<Run> = (0..iters)
                        .map(|_| utterance(&engine, text, &voice))
                        .collect();
                    rec.record(label, call.iter().map(|r| ms(r.took)).collect());
                    let total = call.iter().map(|r| r.took).sum();
                    runs.borrow_mut().append(&mut call);
                    total
                });
            },
        );
        // The measured calls are the last ones, as in Recorder::values.
        let measured = rec.values(label).map_or(0, |v| v.len());
        let runs = runs.into_inner();
        let runs = &runs[runs.len().saturating_sub(measured)..];
        if let (Some(median), false) = (rec.median(label), runs.is_empty()) {
            let seconds: Vec<f64> = runs.iter().map(|r| r.samples as f64 / rate).collect();
            let rtfs: Vec<f64> = runs
                .iter()
                .zip(&seconds)
                .map(|(r, s)| r.took.as_secs_f64() / s)
                .collect();
            let audio_seconds = quantile(seconds, 0.5);
            let rtf = quantile(rtfs.clone(), 0.5);
            println!(
                "piper_utterance/{label}: {} chars, {} sentences, {} phoneme ids, {audio_seconds:.2} s of audio (median), median {median:.1} ms, RTF {rtf:.3} (p90 {:.3})",
                text.chars().count(),
                probe.sentences,
                probe.ids,
                quantile(rtfs.clone(), 0.9),
            );
            utterances.push(json!({
                "label": label, "chars": text.chars().count(), "sentences": probe.sentences,
                "phoneme_ids": probe.ids, "audio_seconds": audio_seconds, "median_ms": median,
                "rtf": rtf, "rtf_p90": quantile(rtfs, 0.9), "runs": runs.len(),
            }));
        }
    }
    group.finish();

    let mut report = Map::new();
    if utterances.len() == texts.len() {
        let scales = engine.scales(1.0);
        report.insert(
            "piper".into(),
            json!({
                "voice_dir": settings.piper_dir,
                "voice": voice,
                "sample_rate": info.sample_rate,
                "scales": scales.map(|x| (f64::from(x) * 1e4).round() / 1e4),
                "scales_order": ["noise", "length", "noise_w"],
                "espeak": espeak.version(),
                "phonemize": phonemize,
                "utterances": utterances,
            }),
        );
    }
    c.final_summary();
    common::write_sections(&settings, report);
}
