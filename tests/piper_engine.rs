//! The Piper engine on the real default voice (`function/scripts/setup-piper.sh`) with the eSpeak
//! NG process (`setup-espeak.sh`): waveforms equal to Piper's own runtime (onnxruntime, recorded
//! in tests/fixtures/piper-audio) with the noise switched off, sentence splitting, the speed
//! control, peak level, concurrent use and refusals.

use std::sync::{Arc, OnceLock};

use e2e_tests::{binary, openvino_lib, read_f32, repo};
use serde::Deserialize;
use tts::engine::piper::windows::CONTEXT;
use tts::engine::piper::{Piper, PEAK, STREAM_WINDOWS, WHOLE_WINDOWS};
use tts::engine::{
    Durations, EngineError, Precision, Runtime, RuntimeOptions, SpeechEngine, SpeedControl, Stop,
};
use tts::text::espeak::{Espeak, EspeakConfig};

/// The installed default voice.
fn voice_dir() -> std::path::PathBuf {
    let dir = repo().join(".models/piper-joe");
    assert!(
        dir.join("en_US-joe-medium.onnx").is_file(),
        "{} lacks the voice: run function/scripts/setup-piper.sh (tests/run.sh does)",
        dir.display()
    );
    dir
}

fn espeak() -> Arc<Espeak> {
    let root = repo().join(".espeak");
    let config = EspeakConfig {
        helper: binary("espeak-phonemes", "espeak-phonemes"),
        library: root.join("lib/libespeak-ng.so.1"),
        data: root.join("espeak-ng-data"),
    };
    Arc::new(Espeak::start(&config).expect("eSpeak NG (run function/scripts/setup-espeak.sh)"))
}

fn engine() -> &'static Piper {
    static ENGINE: OnceLock<Piper> = OnceLock::new();
    ENGINE.get_or_init(|| {
        Piper::load(&runtime(), &voice_dir(), 4, espeak()).expect("the Piper voice loads")
    })
}

#[derive(Deserialize)]
struct Cases {
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    ids: Vec<i64>,
    scales: [f32; 3],
    samples: usize,
    sample_rate: u32,
    file: String,
}

fn golden() -> Cases {
    let dir = repo().join("tests/fixtures/piper-audio");
    let text = std::fs::read_to_string(dir.join("cases.json")).expect("cases.json");
    serde_json::from_str(&text).expect("a valid cases.json")
}

#[test]
fn without_noise_the_waveform_equals_pipers_own_runtime() {
    let dir = repo().join("tests/fixtures/piper-audio");
    let cases = golden().cases;
    assert!(cases.len() >= 3);
    for case in cases {
        let expected = read_f32(&dir.join(&case.file));
        assert_eq!(expected.len(), case.samples, "{}", case.name);
        assert_eq!(case.sample_rate, engine().info().sample_rate);
        let (got, _) = engine().infer_ids(&case.ids, case.scales).unwrap();
        assert_eq!(got.len(), expected.len(), "{}: sample count", case.name);
        let diff = got
            .iter()
            .zip(&expected)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        let peak = expected.iter().fold(0.0f32, |m, s| m.max(s.abs()));
        assert!(peak > 0.05, "{}: the reference is not silent", case.name);
        assert!(
            diff <= 2e-3,
            "{}: max abs diff {diff} vs onnxruntime (peak {peak})",
            case.name
        );
    }
}

#[test]
fn the_voice_describes_itself() {
    let info = engine().info();
    assert_eq!(info.family, "piper");
    assert_eq!(info.sample_rate, 22_050);
    assert_eq!(info.voices, vec!["joe".to_owned()]);
    assert_eq!(info.default_voice, "joe");
    assert_eq!(info.speed_control, SpeedControl::Duration);
}

#[test]
fn text_is_split_into_sentences_of_phonemes() {
    let pieces = engine()
        .prepare("Hello there. Dr. Smith paid $3.50 today! Did you see it?")
        .unwrap();
    assert!(pieces.len() >= 3, "{pieces:?}");
    assert!(pieces.iter().all(|p| !p.is_empty()));
    assert!(pieces[0].starts_with('h'), "{pieces:?}");
    assert!(pieces.last().unwrap().ends_with('?'), "{pieces:?}");
    // A sentence too long for one inference is cut between words.
    let long = vec!["word"; 300].join(" ");
    let pieces = engine().prepare(&long).unwrap();
    assert!(pieces.len() >= 5, "{} pieces", pieces.len());
    assert!(pieces
        .iter()
        .all(|p| p.chars().count() <= tts::engine::piper::MAX_PIECE_PHONEMES));
    // Nothing speakable: no pieces (the HTTP layer answers 400).
    assert!(engine().prepare(" ... ?! ").unwrap().is_empty());
}

#[test]
fn a_sentence_is_speech_at_the_voices_rate_scaled_to_the_peak() {
    let piece = &engine()
        .prepare("The quick brown fox jumps over the lazy dog.")
        .unwrap()[0];
    let out = engine().synthesize(piece, "joe", 1.0).unwrap();
    assert_eq!(out.sample_rate, 22_050);
    let seconds = out.duration_secs();
    assert!((1.5..5.0).contains(&seconds), "{seconds} s");
    let peak = out.samples.iter().fold(0.0f32, |m, s| m.max(s.abs()));
    assert!((peak - PEAK).abs() < 1e-4, "peak {peak}");
    let rms = (out.samples.iter().map(|s| s * s).sum::<f32>() / out.samples.len() as f32).sqrt();
    assert!(rms > 0.03, "rms {rms}: speech, not silence");
    assert!(out.input_tokens > 40, "{} ids", out.input_tokens);
    assert!(out.timings.model > std::time::Duration::ZERO);
}

#[test]
fn speed_changes_the_duration_through_the_length_scale() {
    let piece = &engine()
        .prepare("Speed changes how long this sentence takes to say.")
        .unwrap()[0];
    // The duration predictor draws noise: average a few runs.
    let mean = |speed: f32| {
        (0..3)
            .map(|_| {
                engine()
                    .synthesize(piece, "joe", speed)
                    .unwrap()
                    .duration_secs()
            })
            .sum::<f64>()
            / 3.0
    };
    let normal = mean(1.0);
    for speed in [0.25f32, 0.5, 1.5, 2.0, 4.0] {
        let ratio = mean(speed) / normal;
        let want = 1.0 / f64::from(speed);
        assert!(
            (ratio / want - 1.0).abs() < 0.15,
            "speed {speed}: duration ratio {ratio}, want {want}"
        );
    }
    // The model's own duration control does the first part.
    assert_eq!(engine().scales(2.0)[1], 0.5);
    assert_eq!(engine().scales(0.5)[1], 2.0);
}

#[test]
fn concurrent_utterances_equal_sequential_ones() {
    let ids = engine()
        .phoneme_ids(&engine().prepare("Two requests at once.").unwrap()[0])
        .ids;
    let scales = [0.0, 1.0, 0.0];
    let alone = engine().infer_ids(&ids, scales).unwrap().0;
    let together: Vec<Vec<f32>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| s.spawn(|| engine().infer_ids(&ids, scales).unwrap().0))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for got in together {
        assert_eq!(got, alone);
    }
}

#[test]
fn an_unknown_voice_is_a_client_error() {
    let err = engine().synthesize("həlˈoʊ.", "alloy", 1.0).unwrap_err();
    assert!(err.is_client_error(), "{err}");
}

/// A runtime of its own (f32, OpenVINO's defaults otherwise).
fn runtime() -> Arc<Runtime> {
    Arc::new(
        Runtime::new(RuntimeOptions {
            library: openvino_lib(),
            precision: Precision::F32,
            threads: None,
            cache_dir: None,
            cache_seed: None,
            cpu_runtime_cache: None,
        })
        .expect("runtime"),
    )
}

/// A voice folder holding links to the installed voice's `.onnx` and `.onnx.json` (no stages),
/// plus the installed stages when `stages` says so, with their split.json edited by `edit`.
fn voice_copy(name: &str, stages: Option<&dyn Fn(&mut serde_json::Value)>) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("piper-voice-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for file in ["en_US-joe-medium.onnx", "en_US-joe-medium.onnx.json"] {
        std::os::unix::fs::symlink(voice_dir().join(file), dir.join(file)).unwrap();
    }
    if let Some(edit) = stages {
        let (from, to) = (voice_dir().join("two-stage"), dir.join("two-stage"));
        std::fs::create_dir_all(&to).unwrap();
        for file in ["front.onnx", "decoder.onnx"] {
            std::os::unix::fs::symlink(from.join(file), to.join(file)).unwrap();
        }
        let mut meta: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(from.join("split.json")).unwrap())
                .unwrap();
        edit(&mut meta);
        std::fs::write(to.join("split.json"), meta.to_string()).unwrap();
    }
    dir
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "sample counts");
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// Ids of a sentence long enough for many decoder windows.
fn long_ids() -> Vec<i64> {
    let text = "After the long rain stopped, we walked slowly down the hill to the old station, \
        where the last train of the evening was already waiting with its doors open.";
    let pieces = engine().prepare(text).unwrap();
    assert_eq!(pieces.len(), 1, "{pieces:?}");
    engine().phoneme_ids(&pieces[0]).ids
}

#[test]
fn the_voice_runs_in_two_stages_whose_output_equals_the_whole_graphs() {
    assert_eq!(
        engine().whole_reason(),
        None,
        "the installed voice has its stages"
    );
    let whole = Piper::load(&runtime(), &voice_copy("whole", None), 1, espeak()).expect("loads");
    let reason = whole
        .whole_reason()
        .expect("a voice without stages runs whole");
    assert!(reason.contains("setup-piper.sh"), "{reason}");
    // Durations come from the front stage: a whole voice says it has no word timestamps.
    assert!(engine().info().word_timestamps && !whole.info().word_timestamps);
    assert_eq!(whole.prepare_words("Hello.").unwrap(), None);
    let mut cases: Vec<Vec<i64>> = golden().cases.into_iter().map(|c| c.ids).collect();
    cases.push(long_ids());
    for ids in cases {
        let scales = [0.0, 1.0, 0.0];
        let (two, _) = engine().infer_ids(&ids, scales).unwrap();
        let (one, _) = whole.infer_ids(&ids, scales).unwrap();
        let diff = max_diff(&two, &one);
        assert!(
            diff <= 1e-4,
            "{} ids: two stages differ from the whole graph by {diff}",
            ids.len()
        );
        // The frame counts the front stage gives each id make up the audio.
        let frames = engine()
            .frames_per_id(&ids, scales)
            .unwrap()
            .expect("two stages");
        assert_eq!(frames.len(), ids.len());
        assert_eq!(
            frames.iter().map(|&f| f as usize).sum::<usize>() * 256,
            two.len()
        );
        assert_eq!(whole.frames_per_id(&ids, scales).unwrap(), None);
    }
}

#[test]
fn stages_cut_from_another_voice_file_are_not_used() {
    let edited = voice_copy(
        "other",
        Some(&|meta: &mut serde_json::Value| meta["source_fingerprint"]["bytes"] = 1.into()),
    );
    let piper = Piper::load(&runtime(), &edited, 1, espeak()).expect("loads whole");
    let reason = piper.whole_reason().expect("runs whole");
    assert!(reason.contains("cut from another"), "{reason}");
    // The same stages, unedited, are taken.
    let same = voice_copy("same", Some(&|_: &mut serde_json::Value| {}));
    let piper = Piper::load(&runtime(), &same, 1, espeak()).expect("loads");
    assert_eq!(piper.whole_reason(), None);
}

#[test]
fn the_level_of_streamed_sentences_is_the_one_split_piper_measured_or_learned_at_load() {
    // split-piper.py measured it with onnxruntime at set-up; a split.json without it makes the
    // voice read the same sentence at load (eSpeak NG's IPA of it is what the script reads).
    let recorded = engine().stream_gain();
    assert!((1.0..4.0).contains(&recorded), "gain {recorded}");
    let without = voice_copy(
        "level",
        Some(&|meta: &mut serde_json::Value| {
            meta.as_object_mut().unwrap().remove("level");
        }),
    );
    let learned = Piper::load(&runtime(), &without, 1, espeak()).expect("loads");
    assert_eq!(learned.whole_reason(), None);
    let diff = (learned.stream_gain() - recorded).abs() / recorded;
    assert!(
        diff < 0.01,
        "learned {} vs recorded {recorded}",
        learned.stream_gain()
    );
}

#[test]
fn windowed_decoding_equals_the_whole_sequence_decode() {
    let ids = long_ids();
    let scales = [0.0, 1.0, 0.0];
    // The whole graph decodes the whole latent at once.
    let whole = Piper::load(&runtime(), &voice_copy("decode", None), 1, espeak()).expect("loads");
    let (expected, _) = whole.infer_ids(&ids, scales).unwrap();
    let frames = expected.len() / 256;
    assert!(
        frames > 300,
        "{frames} frames: long enough for many windows"
    );
    for sizes in [STREAM_WINDOWS, WHOLE_WINDOWS] {
        let (joined, _) = engine().infer_ids_windowed(&ids, scales, sizes).unwrap();
        let diff = max_diff(&joined, &expected);
        assert!(diff <= 1e-4, "{sizes:?}: joined windows differ by {diff}");
    }
    // Every latent length, short ones too (one window of its own size, or a few of the static
    // sizes): the length scale stretches the same ids to 40–260% of their frames.
    let short = engine()
        .phoneme_ids(&engine().prepare("Yes, I see.").unwrap()[0])
        .ids;
    for length in [0.4f32, 0.7, 1.0, 1.6, 2.6] {
        let scales = [0.0, length, 0.0];
        let (expected, _) = whole.infer_ids(&short, scales).unwrap();
        let (joined, _) = engine()
            .infer_ids_windowed(&short, scales, STREAM_WINDOWS)
            .unwrap();
        let diff = max_diff(&joined, &expected);
        assert!(
            diff <= 1e-4,
            "length {length} ({} frames): {diff}",
            expected.len() / 256
        );
    }
}

#[test]
fn streaming_sends_each_window_as_it_is_decoded_with_the_sentences_durations() {
    let text = "The quick brown fox jumps over the lazy dog, while the cat watches from the warm windowsill.";
    let piece = &engine().prepare(text).unwrap()[0];
    let mut chunks: Vec<(usize, usize, Durations)> = Vec::new();
    let streamed = engine()
        .synthesize_stream(piece, "joe", 1.0, &Stop::new(), &mut |c| {
            chunks.push((
                c.offset,
                c.samples.len(),
                c.durations.cloned().expect("durations"),
            ));
        })
        .unwrap();
    assert!(chunks.len() >= 3, "{} chunks", chunks.len());
    // The first window is the small one: its audio leaves before the rest is decoded.
    assert_eq!(chunks[0].1, (STREAM_WINDOWS.first - CONTEXT) * 256);
    let mut at = 0;
    for (offset, len, durations) in &chunks {
        assert_eq!(*offset, at);
        at += len;
        assert_eq!(
            durations, &chunks[0].2,
            "every chunk carries the sentence's durations"
        );
    }
    assert_eq!(streamed.samples, at);
    let durations = &chunks[0].2;
    assert_eq!(durations.total(), at);
    assert_eq!(durations.ids.len(), streamed.input_tokens);
    // Phoneme ids point into the piece, in order; pads and the ends do not.
    let phonemes: Vec<usize> = durations.ids.iter().filter_map(|d| d.phoneme).collect();
    assert!(phonemes.windows(2).all(|w| w[0] < w[1]), "{phonemes:?}");
    assert!(*phonemes.last().unwrap() < piece.chars().count());
    let stop = Stop::new();
    stop.set();
    let stopped = engine().synthesize_stream(piece, "joe", 1.0, &stop, &mut |_| {});
    assert!(matches!(stopped, Err(EngineError::Stopped)));
    // A stop set by the sink ends the sentence after that window.
    let stop = Stop::new();
    let mut sent = 0;
    let stopped = engine().synthesize_stream(piece, "joe", 1.0, &stop, &mut |_| {
        sent += 1;
        stop.set();
    });
    assert!(matches!(stopped, Err(EngineError::Stopped)));
    assert_eq!(sent, 1);
}

#[test]
fn whole_answers_carry_durations_that_add_up_at_every_speed() {
    let piece = &engine()
        .prepare("Durations follow the speed of the voice.")
        .unwrap()[0];
    for speed in [1.0f32, 0.5, 2.0, 4.0] {
        let out = engine().synthesize(piece, "joe", speed).unwrap();
        let durations = out.durations.expect("durations");
        assert_eq!(durations.total(), out.samples.len(), "speed {speed}");
        assert_eq!(durations.ids.len(), out.input_tokens);
    }
}

#[test]
fn the_voice_runs_in_f32_whatever_precision_is_asked_and_every_noisy_inference_succeeds() {
    // OpenVINO 2026.4 on a CPU with bf16/f16 runs this voice unreliably below f32 (bf16: about one
    // inference in ten fails in a Range node; f16: an inference can spin for minutes), so the
    // engine compiles it in f32. Thirty noisy inferences would hit the bf16 failure with
    // probability ~96% if it did not.
    for asked in [Precision::Bf16, Precision::F16] {
        let runtime = Arc::new(
            Runtime::new(RuntimeOptions {
                library: openvino_lib(),
                precision: asked,
                threads: None,
                cache_dir: None,
                cache_seed: None,
                cpu_runtime_cache: None,
            })
            .expect("runtime"),
        );
        let piper = Piper::load(&runtime, &voice_dir(), 1, espeak()).expect("the voice loads");
        assert_eq!(piper.info().precision, Precision::F32, "asked {asked}");
        let pieces = piper
            .prepare("After the rain stopped, we walked slowly to the station.")
            .unwrap();
        for run in 0..30 {
            let out = piper
                .synthesize(&pieces[0], "joe", 1.0)
                .unwrap_or_else(|e| panic!("asked {asked}, inference {run}: {e}"));
            let seconds = out.duration_secs();
            assert!(
                (2.0..6.0).contains(&seconds),
                "asked {asked}, inference {run}: {seconds} s"
            );
        }
    }
}

#[test]
fn after_a_snapshot_restore_the_voice_is_compiled_again_and_a_lost_espeak_helper_restarted() {
    // Its own engine: the shared one serves the other tests meanwhile.
    let runtime = runtime();
    let espeak = espeak();
    let piper = Piper::load(&runtime, &voice_dir(), 2, Arc::clone(&espeak)).expect("loads");
    let piece = piper.prepare("Restored from a snapshot.").expect("prepare")[0].clone();
    let before = piper.synthesize(&piece, "joe", 1.0).expect("before");
    // A restore that lost the helper process: kill it, as a snapshot could not keep it.
    let old = espeak.helper_id().expect("a helper runs");
    std::process::Command::new("kill")
        .args(["-9", &old.to_string()])
        .status()
        .expect("kill");
    std::thread::sleep(std::time::Duration::from_millis(100));
    piper.after_restore(&runtime).expect("after_restore");
    let new = espeak.helper_id().expect("a helper runs again");
    assert_ne!(old, new, "the helper was restarted by the restore hook");
    let after = piper.synthesize(&piece, "joe", 1.0).expect("after");
    // Same text, the recompiled model: speech of the same length within the noise's reach.
    let (a, b) = (before.samples.len() as f64, after.samples.len() as f64);
    assert!((a - b).abs() / a < 0.25, "{a} vs {b} samples");
    assert!(after.samples.iter().any(|s| s.abs() > 0.1), "audible");
}
