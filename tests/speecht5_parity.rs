//! Guards numerical parity of the SpeechT5 engine with OpenVINO GenAI's `Text2SpeechPipeline`
//! (and transformers' `generate_speech`) on the committed tiny export, in f32: for every
//! reference case, identical token ids, identical decoder step count and stop rule, waveform
//! max abs difference ≤ 1e-3 against GenAI, spectrogram close to transformers'.

use std::path::Path;
use std::sync::{Arc, OnceLock};

use e2e_tests::{max_abs_diff, openvino_lib, read_f32, references_dir, tiny_model};
use serde::Deserialize;
use tts::engine::speecht5::{GenerationParams, SpeechT5, Steps, StopReason};
use tts::engine::{Precision, Runtime, RuntimeOptions};

#[derive(Deserialize)]
struct Manifest {
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Array {
    file: String,
    shape: Vec<usize>,
}

#[derive(Deserialize)]
struct Case {
    id: String,
    text: String,
    speaker: String,
    token_ids: Vec<i64>,
    genai_token_ids: Vec<i64>,
    minlenratio: f32,
    maxlenratio: f32,
    threshold: f32,
    steps: usize,
    stop_rule: String,
    tf_postnet_spectrogram: Array,
    genai_waveform: Array,
}

fn manifest() -> Manifest {
    let text =
        std::fs::read_to_string(references_dir().join("references.json")).expect("references.json");
    serde_json::from_str(&text).expect("a valid manifest")
}

fn engine() -> &'static SpeechT5 {
    static ENGINE: OnceLock<SpeechT5> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let runtime = Arc::new(
            Runtime::new(RuntimeOptions {
                library: openvino_lib(),
                precision: Precision::F32,
                threads: None,
                cache_dir: None,
                cache_seed: None,
                cpu_runtime_cache: None,
            })
            .expect("runtime"),
        );
        SpeechT5::load(&runtime, &tiny_model(), 4).expect("tiny model")
    })
}

fn load(array: &Array) -> Vec<f32> {
    let values = read_f32(&Path::new(&references_dir()).join(&array.file));
    assert_eq!(
        values.len(),
        array.shape.iter().product::<usize>(),
        "{}",
        array.file
    );
    values
}

#[test]
fn the_references_cover_both_stop_rules_and_enough_cases() {
    let cases = manifest().cases;
    assert!(cases.len() >= 16, "{} cases", cases.len());
    for rule in ["threshold", "maxlen"] {
        assert!(
            cases.iter().any(|c| c.stop_rule == rule && c.steps > 1),
            "no case stops by {rule} after step 1"
        );
    }
}

#[test]
fn token_ids_match_transformers_and_genai() {
    let engine = engine();
    for case in manifest().cases {
        assert_eq!(
            case.token_ids, case.genai_token_ids,
            "{}: the references disagree",
            case.id
        );
        assert_eq!(
            engine.tokenize(&case.text),
            case.token_ids,
            "{}: {:?}",
            case.id,
            case.text
        );
    }
}

#[test]
fn every_reference_utterance_matches_genai_within_1e_3() {
    let engine = engine();
    let mut worst = (0.0f32, String::new());
    for case in manifest().cases {
        let params = GenerationParams {
            minlenratio: case.minlenratio,
            maxlenratio: case.maxlenratio,
            threshold: case.threshold,
        };
        let out = engine
            .generate(&case.text, &case.speaker, Steps::Generate(params))
            .expect(&case.id);
        assert_eq!(out.steps, case.steps, "{}: decoder steps", case.id);
        let expected_stop = if case.stop_rule == "threshold" {
            StopReason::Threshold
        } else {
            StopReason::MaxLength
        };
        assert_eq!(out.stop, expected_stop, "{}: stop rule", case.id);
        assert_eq!(
            out.synthesis.timings.decoder_steps.len(),
            case.steps,
            "{}: one timing per step",
            case.id
        );

        let genai = load(&case.genai_waveform);
        assert_eq!(
            out.synthesis.samples.len(),
            genai.len(),
            "{}: waveform length",
            case.id
        );
        let diff = max_abs_diff(&out.synthesis.samples, &genai);
        assert!(
            diff <= 1e-3,
            "{}: waveform differs from GenAI by {diff}",
            case.id
        );
        if diff > worst.0 {
            worst = (diff, case.id.clone());
        }

        let spectrogram = load(&case.tf_postnet_spectrogram);
        assert_eq!(
            out.spectrogram.len(),
            spectrogram.len(),
            "{}: spectrogram size",
            case.id
        );
        let diff = max_abs_diff(&out.spectrogram, &spectrogram);
        assert!(
            diff <= 1e-3,
            "{}: spectrogram differs from transformers by {diff}",
            case.id
        );
    }
    eprintln!(
        "largest waveform difference from GenAI: {:.3e} ({})",
        worst.0, worst.1
    );
}

#[test]
fn a_reused_engine_gives_identical_audio_for_the_same_request() {
    // Fresh decoder state per utterance: a second run must not inherit the first one's state.
    let engine = engine();
    let case = &manifest().cases[0];
    let params = GenerationParams {
        minlenratio: case.minlenratio,
        maxlenratio: case.maxlenratio,
        threshold: case.threshold,
    };
    let first = engine
        .generate(
            "A different sentence first.",
            &case.speaker,
            Steps::Generate(params),
        )
        .unwrap();
    assert!(!first.synthesis.samples.is_empty());
    let a = engine
        .generate(&case.text, &case.speaker, Steps::Generate(params))
        .unwrap();
    let b = engine
        .generate(&case.text, &case.speaker, Steps::Generate(params))
        .unwrap();
    assert_eq!(a.synthesis.samples, b.synthesis.samples);
}

#[test]
fn concurrent_utterances_match_sequential_ones() {
    let engine = engine();
    let cases = manifest().cases;
    let run = |case: &Case| {
        let params = GenerationParams {
            minlenratio: case.minlenratio,
            maxlenratio: case.maxlenratio,
            threshold: case.threshold,
        };
        engine
            .generate(&case.text, &case.speaker, Steps::Generate(params))
            .unwrap()
            .synthesis
            .samples
    };
    let sequential: Vec<_> = cases.iter().take(4).map(run).collect();
    let concurrent: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = cases
            .iter()
            .take(4)
            .map(|c| s.spawn(move || run(c)))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(sequential, concurrent);
}

#[test]
fn forced_step_counts_are_exact() {
    let engine = engine();
    for n in [1, 7, 20] {
        let out = engine
            .generate("Hello world.", "speaker_a", Steps::Exactly(n))
            .unwrap();
        assert_eq!((out.steps, out.stop), (n, StopReason::Forced));
        assert_eq!(out.synthesis.samples.len(), n * 2 * 256);
    }
}

#[test]
fn an_unknown_voice_is_a_client_error() {
    let err = engine()
        .generate("Hi", "nobody", Steps::Exactly(1))
        .unwrap_err();
    assert!(
        err.is_client_error() && err.to_string().contains("nobody"),
        "{err}"
    );
}

#[test]
fn the_compiled_model_cache_folder_is_filled() {
    let dir = std::env::temp_dir().join(format!("tts-cache-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let runtime = Arc::new(
        Runtime::new(RuntimeOptions {
            library: openvino_lib(),
            precision: Precision::F32,
            threads: None,
            cache_dir: Some(dir.clone()),
            cache_seed: None,
            cpu_runtime_cache: None,
        })
        .unwrap(),
    );
    SpeechT5::load(&runtime, &tiny_model(), 1).unwrap();
    let blobs = std::fs::read_dir(&dir).unwrap().count();
    std::fs::remove_dir_all(&dir).ok();
    assert!(
        blobs >= 4,
        "expected a cached blob per IR, found {blobs} files"
    );
}
