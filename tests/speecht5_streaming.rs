//! Guards SpeechT5's incremental synthesis on the committed tiny export, in f32: with full
//! contexts ([`StreamPlan::exact`]) the joined chunks equal the whole-utterance waveform (same
//! length, max abs difference ≤ 1e-5) for every reference case; the default plan's fast start
//! (narrow contexts at first, cross-faded joins) stays close to it and is exact once its
//! contexts are full; the first chunk leaves while the decoder still runs;
//! a stop set from the sink ends the call before another decoder step; the engine serves the
//! next request after a stop. `TTS_STREAM_MODEL=<export> cargo test --release --test
//! speecht5_streaming -- --ignored --nocapture` measures receptive field, join error and time to
//! first chunk on another export.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use e2e_tests::{max_abs_diff, openvino_lib, references_dir, tiny_model};
use serde::Deserialize;
use tts::engine::speecht5::{GenerationParams, SpeechT5, Steps, StreamEvent, StreamPlan};
use tts::engine::{EngineError, Precision, Runtime, RuntimeOptions, SpeechEngine, Stop};

#[derive(Deserialize)]
struct Manifest {
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    id: String,
    text: String,
    speaker: String,
    minlenratio: f32,
    maxlenratio: f32,
    threshold: f32,
    steps: usize,
}

impl Case {
    fn params(&self) -> Steps {
        Steps::Generate(GenerationParams {
            minlenratio: self.minlenratio,
            maxlenratio: self.maxlenratio,
            threshold: self.threshold,
        })
    }
}

fn manifest() -> Manifest {
    let text =
        std::fs::read_to_string(references_dir().join("references.json")).expect("references.json");
    serde_json::from_str(&text).expect("a valid manifest")
}

fn load(model: &std::path::Path, threads: Option<u32>) -> SpeechT5 {
    let runtime = Arc::new(
        Runtime::new(RuntimeOptions {
            library: openvino_lib(),
            precision: Precision::F32,
            threads,
            cache_dir: None,
            cache_seed: None,
            cpu_runtime_cache: None,
        })
        .expect("runtime"),
    );
    SpeechT5::load(&runtime, model, 2).expect("model")
}

fn engine() -> &'static SpeechT5 {
    static ENGINE: std::sync::OnceLock<SpeechT5> = std::sync::OnceLock::new();
    ENGINE.get_or_init(|| load(&tiny_model(), None))
}

/// The joined chunks and the decoder position at each chunk.
struct Joined {
    samples: Vec<f32>,
    chunk_steps: Vec<usize>,
    /// Where each chunk after the first starts, in samples.
    joins: Vec<usize>,
    /// Each chunk's (left, right) contexts.
    contexts: Vec<(usize, usize)>,
    steps: usize,
}

impl Joined {
    /// The first sample from which the stream is exact for a receptive field of `field` steps
    /// each way: the start of the first chunk whose contexts cover it, past the fade in from
    /// its predecessor's narrower window.
    fn exact_from(&self, field: usize, fade: usize) -> Option<usize> {
        let chunk = self
            .contexts
            .iter()
            .position(|&(left, right)| left >= field && (right >= field || right == 0))?;
        let start = if chunk == 0 { 0 } else { self.joins[chunk - 1] };
        Some((start + fade).min(self.samples.len()))
    }
}

fn stream(engine: &SpeechT5, text: &str, voice: &str, steps: Steps, plan: StreamPlan) -> Joined {
    let ids = engine.tokenize(text);
    let speaker = engine.voice(voice).unwrap();
    let mut samples = Vec::new();
    let mut seen = Vec::new();
    let mut joins = Vec::new();
    let out = engine
        .stream_ids(&ids, speaker, steps, plan, &Stop::new(), &mut |event| {
            if let StreamEvent::Chunk { samples: s, steps } = event {
                if !samples.is_empty() {
                    joins.push(samples.len());
                }
                samples.extend_from_slice(s);
                seen.push(steps);
            }
        })
        .unwrap();
    assert_eq!(out.chunk_steps, seen);
    assert_eq!(out.chunk_contexts.len(), seen.len());
    assert_eq!(out.streamed.samples, samples.len());
    Joined {
        samples,
        chunk_steps: seen,
        joins,
        contexts: out.chunk_contexts,
        steps: out.steps,
    }
}

#[test]
fn joined_chunks_equal_the_whole_waveform_for_every_reference_case() {
    let engine = engine();
    let mut worst = (0.0f32, String::new());
    // Full contexts, and a plan cutting a chunk at every step (the most joins).
    for plan in [
        StreamPlan::exact(),
        StreamPlan {
            first: 1,
            every: 1,
            max_every: 1,
            ..StreamPlan::exact()
        },
    ] {
        for case in manifest().cases {
            let whole = engine
                .generate(&case.text, &case.speaker, case.params())
                .unwrap();
            let joined = stream(engine, &case.text, &case.speaker, case.params(), plan);
            assert_eq!(joined.steps, whole.steps, "{}: decoder steps", case.id);
            assert_eq!(joined.steps, case.steps, "{}: reference steps", case.id);
            assert_eq!(
                joined.samples.len(),
                whole.synthesis.samples.len(),
                "{}: length",
                case.id
            );
            let diff = max_abs_diff(&joined.samples, &whole.synthesis.samples);
            assert!(diff <= 1e-5, "{} {plan:?}: differs by {diff}", case.id);
            if diff >= worst.0 {
                worst = (diff, format!("{} {plan:?}", case.id));
            }
        }
    }
    eprintln!(
        "largest streamed-vs-whole difference: {:.3e} ({})",
        worst.0, worst.1
    );
}

fn correlation(a: &[f32], b: &[f32]) -> f64 {
    let dot = |x: &[f32], y: &[f32]| x.iter().zip(y).map(|(p, q)| *p as f64 * *q as f64).sum();
    let (ab, aa, bb): (f64, f64, f64) = (dot(a, b), dot(a, a), dot(b, b));
    ab / (aa * bb).sqrt()
}

#[test]
fn the_fast_start_stays_close_to_the_whole_waveform_and_is_exact_once_contexts_are_full() {
    let engine = engine();
    let plan = StreamPlan::default();
    let mut exact_tails = 0;
    for case in manifest().cases {
        let whole = engine
            .generate(&case.text, &case.speaker, case.params())
            .unwrap()
            .synthesis
            .samples;
        let joined = stream(engine, &case.text, &case.speaker, case.params(), plan);
        assert_eq!(joined.samples.len(), whole.len(), "{}: length", case.id);
        let r = correlation(&joined.samples, &whole);
        assert!(r >= 0.99, "{}: correlation {r}", case.id);
        // Narrow contexts cost accuracy only near the start-up chunks' ends, by the receptive
        // field table's error (tiny export: 1.4e-2 at 4 steps) against a peak of ~0.3.
        let startup = max_abs_diff(&joined.samples, &whole);
        assert!(startup <= 0.1, "{}: start-up error {startup}", case.id);
        // The tiny export's field is 6 steps: from the chunk whose contexts reach it on, exact.
        let Some(exact_from) = joined.exact_from(6, plan.fade) else {
            continue;
        };
        exact_tails += 1;
        let tail = max_abs_diff(&joined.samples[exact_from..], &whole[exact_from..]);
        assert!(
            tail <= 1e-5,
            "{}: after sample {exact_from}: {tail}",
            case.id
        );
    }
    assert!(
        exact_tails >= 3,
        "only {exact_tails} cases reach full contexts"
    );
    // A long forced utterance passes through every context width up to the full field.
    let (text, voice, steps) = ("A long one, forced.", "speaker_b", Steps::Exactly(200));
    let whole = engine
        .generate(text, voice, steps)
        .unwrap()
        .synthesis
        .samples;
    let joined = stream(engine, text, voice, steps, plan);
    assert_eq!(
        joined.contexts.last(),
        Some(&(18, 0)),
        "{:?}",
        joined.contexts
    );
    assert!(correlation(&joined.samples, &whole) >= 0.99);
    let exact_from = joined.exact_from(6, plan.fade).unwrap();
    assert!(exact_from < whole.len() / 4, "{exact_from}");
    let tail = max_abs_diff(&joined.samples[exact_from..], &whole[exact_from..]);
    assert!(tail <= 1e-5, "forced: after sample {exact_from}: {tail}");
}

#[test]
fn the_first_chunk_leaves_while_the_decoder_still_runs() {
    let engine = engine();
    let plan = StreamPlan::default();
    let steps = 4 * plan.first;
    let joined = stream(
        engine,
        "A sentence that runs for a while.",
        "speaker_a",
        Steps::Exactly(steps),
        plan,
    );
    assert_eq!(joined.steps, steps);
    assert!(joined.chunk_steps.len() >= 3, "{:?}", joined.chunk_steps);
    assert_eq!(joined.chunk_steps[0], plan.first);
    assert!(joined.chunk_steps[0] < steps);
    assert_eq!(*joined.chunk_steps.last().unwrap(), steps);
    assert_eq!(joined.samples.len(), steps * 2 * 256);
}

#[test]
fn a_stop_set_by_the_sink_ends_synthesis_before_another_decoder_step() {
    let engine = engine();
    let ids = engine.tokenize("Stop me after the first chunk, please.");
    let speaker = engine.voice("speaker_a").unwrap();
    let stop = Stop::new();
    let plan = StreamPlan::default();
    let (mut steps_at_stop, mut steps_after, mut chunks) = (None, 0, 0);
    let result = engine.stream_ids(
        &ids,
        speaker,
        Steps::Exactly(200),
        plan,
        &stop,
        &mut |event| match event {
            StreamEvent::Chunk { steps, .. } => {
                chunks += 1;
                steps_at_stop = Some(steps);
                stop.set();
            }
            StreamEvent::Step(_) => {
                if steps_at_stop.is_some() {
                    steps_after += 1;
                }
            }
        },
    );
    assert!(matches!(result, Err(EngineError::Stopped)), "{result:?}");
    assert_eq!((chunks, steps_at_stop), (1, Some(plan.first)));
    assert_eq!(steps_after, 0, "decoder steps run after the stop");
}

#[test]
fn the_engine_serves_the_next_request_normally_after_a_stop() {
    let engine = engine();
    let case = &manifest().cases[0];
    let before = engine
        .generate(&case.text, &case.speaker, case.params())
        .unwrap();
    for _ in 0..3 {
        let stop = Stop::new();
        let ids = engine.tokenize(&case.text);
        let result = engine.stream_ids(
            &ids,
            engine.voice(&case.speaker).unwrap(),
            Steps::Exactly(100),
            StreamPlan {
                first: 2,
                ..StreamPlan::default()
            },
            &stop,
            &mut |event| {
                if matches!(event, StreamEvent::Chunk { .. }) {
                    stop.set();
                }
            },
        );
        assert!(matches!(result, Err(EngineError::Stopped)));
    }
    let after = engine
        .generate(&case.text, &case.speaker, case.params())
        .unwrap();
    assert_eq!(after.synthesis.samples, before.synthesis.samples);
    let whole = engine
        .synthesize(&case.text, &case.speaker, 1.0)
        .unwrap()
        .samples;
    let mut joined = Vec::new();
    let streamed = engine
        .synthesize_stream(&case.text, &case.speaker, 1.0, &Stop::new(), &mut |s| {
            joined.extend_from_slice(s.samples)
        })
        .unwrap();
    assert_eq!(streamed.samples, joined.len());
    assert_eq!(joined.len(), whole.len());
    let r = correlation(&joined, &whole);
    assert!(r >= 0.99, "correlation {r}");
}

#[test]
fn a_stop_set_before_the_call_runs_nothing() {
    let stop = Stop::new();
    stop.set();
    let result = engine().synthesize_stream("Hello.", "speaker_a", 1.0, &stop, &mut |_| {
        panic!("no audio after a stop")
    });
    assert!(matches!(result, Err(EngineError::Stopped)));
}

#[test]
fn other_speeds_stream_the_stretched_audio_while_the_decoder_runs() {
    let engine = engine();
    let case = manifest()
        .cases
        .into_iter()
        .max_by_key(|case| case.steps)
        .unwrap();
    for speed in [0.5f32, 1.5, 2.0] {
        let whole = engine
            .synthesize(&case.text, &case.speaker, speed)
            .unwrap()
            .samples;
        let mut chunks: Vec<Vec<f32>> = Vec::new();
        let streamed = engine
            .synthesize_stream(&case.text, &case.speaker, speed, &Stop::new(), &mut |s| {
                chunks.push(s.samples.to_vec())
            })
            .unwrap();
        let joined = chunks.concat();
        assert_eq!(streamed.samples, joined.len());
        assert_eq!(joined.len(), whole.len(), "speed {speed}: length");
        assert!(
            chunks.len() >= 3,
            "speed {speed}: {} chunks over {} steps",
            chunks.len(),
            case.steps
        );
        let r = correlation(&joined, &whole);
        assert!(r >= 0.99, "speed {speed}: correlation {r}");
    }
}

/// The export to measure on: `TTS_STREAM_MODEL`, or the tiny one.
fn measured_model() -> PathBuf {
    std::env::var_os("TTS_STREAM_MODEL").map_or_else(tiny_model, PathBuf::from)
}

#[test]
#[ignore = "a measurement: prints the join error against the window's contexts"]
fn measure_receptive_field() {
    let engine = load(&measured_model(), Some(2));
    let steps = Steps::Exactly(64);
    let text = "The receptive field is measured on this sentence.";
    let voice = engine.info().default_voice.clone();
    let whole = engine
        .generate(text, &voice, steps)
        .unwrap()
        .synthesis
        .samples;
    // Fixed contexts (no fast start, no fade), a chunk every 8 steps, one side varied.
    let one_sided = |left: usize, right: usize| {
        let plan = StreamPlan {
            first: 24,
            first_right: 32,
            ramp: 0,
            every: 8,
            max_every: 8,
            left,
            right,
            fade: 0,
        };
        stream(&engine, text, &voice, steps, plan)
    };
    for context in [0usize, 1, 2, 3, 4, 5, 6, 8, 10, 12, 16] {
        let (right, left) = (one_sided(32, context), one_sided(context, 32));
        eprintln!(
            "context {context:2} steps: right-only error {:.2e}, left-only error {:.2e}",
            max_abs_diff(&right.samples, &whole),
            max_abs_diff(&left.samples, &whole)
        );
    }
}

#[test]
#[ignore = "a measurement: prints the plans' error against the whole waveform on a long utterance"]
fn measure_default_plan_error() {
    let engine = load(&measured_model(), Some(2));
    let steps = Steps::Exactly(200);
    let text = "The default plan is measured on this sentence, which is long enough.";
    let voice = engine.info().default_voice.clone();
    let whole = engine
        .generate(text, &voice, steps)
        .unwrap()
        .synthesis
        .samples;
    for (name, plan) in [
        ("default", StreamPlan::default()),
        ("exact", StreamPlan::exact()),
    ] {
        let joined = stream(&engine, text, &voice, steps, plan);
        assert_eq!(joined.samples.len(), whole.len());
        let full = joined
            .exact_from(18, plan.fade)
            .unwrap_or(joined.samples.len());
        eprintln!(
            "{name} plan, 200 steps, chunks cut at {:?}: max abs difference {:.2e} overall, \
             {:.2e} from sample {full} (contexts full) on; correlation {:.6}; peak {:.2}",
            joined.chunk_steps,
            max_abs_diff(&joined.samples, &whole),
            max_abs_diff(&joined.samples[full..], &whole[full..]),
            correlation(&joined.samples, &whole),
            whole.iter().fold(0.0f32, |m, v| m.max(v.abs())),
        );
    }
}

#[test]
#[ignore = "a measurement: time to first chunk against the whole utterance"]
fn measure_time_to_first_chunk() {
    let engine = load(&measured_model(), Some(2));
    let text = "Streaming speech synthesis sends the first words to the listener while the \
                decoder is still working on the rest of the sentence, which matters most for \
                long sentences like this one here, and it goes on.";
    assert!(text.len() >= 190, "{}", text.len());
    let voice = engine.info().default_voice.clone();
    let ids = engine.tokenize(text);
    let speaker = engine.voice(&voice).unwrap();
    // Random weights never reach the stop threshold: run as many steps as real speech would.
    let steps = Steps::Exactly(
        std::env::var("TTS_STREAM_STEPS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(300),
    );
    engine
        .generate_ids(&ids, speaker, Steps::Exactly(8))
        .unwrap(); // warm-up
    let median = |mut v: Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    let (mut whole, mut first, mut total) = (Vec::new(), Vec::new(), Vec::new());
    let (mut whole_audio, mut streamed_audio) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        let t = Instant::now();
        let out = engine.generate_ids(&ids, speaker, steps).unwrap();
        whole.push(t.elapsed());
        let timings = &out.synthesis.timings;
        whole_audio.push(timings.postnet + timings.vocoder);
        let t = Instant::now();
        let mut first_at = None;
        let out = engine
            .stream_ids(
                &ids,
                speaker,
                steps,
                StreamPlan::default(),
                &Stop::new(),
                &mut |event| {
                    if matches!(event, StreamEvent::Chunk { .. }) && first_at.is_none() {
                        first_at = Some(t.elapsed());
                    }
                },
            )
            .unwrap();
        total.push(t.elapsed());
        first.push(first_at.unwrap());
        let timings = &out.streamed.timings;
        streamed_audio.push(timings.postnet + timings.vocoder);
        eprintln!("chunks cut at steps {:?}", out.chunk_steps);
    }
    let (whole, first, total) = (median(whole), median(first), median(total));
    let (whole_audio, streamed_audio) = (median(whole_audio), median(streamed_audio));
    eprintln!(
        "{} chars, {steps:?}, medians of 3: whole {whole:.2?}, streamed first chunk {first:.2?}, \
         streamed total {total:.2?} ({:+.1}%); postnet + vocoder: whole {whole_audio:.2?}, \
         streamed {streamed_audio:.2?} (+{:.2?}, {:+.1}% of the whole utterance's time)",
        text.len(),
        (total.as_secs_f64() / whole.as_secs_f64() - 1.0) * 100.0,
        streamed_audio.saturating_sub(whole_audio),
        (streamed_audio.as_secs_f64() - whole_audio.as_secs_f64()) / whole.as_secs_f64() * 100.0
    );
}
