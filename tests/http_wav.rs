//! Guards the first function end to end: the real `bootstrap` binary, started as a local server
//! on the tiny SpeechT5 model, answers both speech paths with a 16-bit WAV that hound decodes,
//! with model aliases, voice objects and the model server's optional voice; discovery routes;
//! the load-test runner against it.

use std::io::Cursor;
use std::time::Duration;

use e2e_tests::Server;
use serde_json::{json, Value};

fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap()
}

fn decode_wav(bytes: &[u8]) -> (hound::WavSpec, Vec<i16>) {
    let mut reader = hound::WavReader::new(Cursor::new(bytes)).expect("a WAV file");
    let spec = reader.spec();
    let samples = reader.samples::<i16>().map(Result::unwrap).collect();
    (spec, samples)
}

#[test]
fn both_speech_paths_answer_a_decodable_non_silent_16_bit_wav() {
    let server = Server::start(&[]);
    let client = client();
    let mut decoded = Vec::new();
    for path in ["/v1/audio/speech", "/v3/audio/speech"] {
        let response = client
            .post(format!("{}{path}", server.url))
            .json(&json!({"model": "speecht5", "input": "Hello there, how are you today?", "voice": "speaker_a", "response_format": "wav"}))
            .send()
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(response.headers()["content-type"], "audio/wav");
        let audio_secs: f64 = response.headers()["x-audio-duration-seconds"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        let body = response.bytes().unwrap();
        let (spec, samples) = decode_wav(&body);
        assert_eq!(
            (spec.channels, spec.sample_rate, spec.bits_per_sample),
            (1, 16_000, 16)
        );
        // SpeechT5 makes 2 frames of 256 samples per decoder step.
        assert!(
            !samples.is_empty() && samples.len() % 512 == 0,
            "{} samples",
            samples.len()
        );
        assert!((samples.len() as f64 / 16_000.0 - audio_secs).abs() < 1e-3);
        let peak = samples.iter().map(|s| s.unsigned_abs()).max().unwrap();
        let rms = (samples.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>()
            / samples.len() as f64)
            .sqrt();
        assert!(
            peak > 300 && rms > 30.0,
            "audio is silent: peak {peak}, rms {rms:.1}"
        );
        decoded.push(samples);
    }
    assert_eq!(
        decoded[0], decoded[1],
        "/v1 and /v3 give the same audio for the same request"
    );
}

#[test]
fn model_aliases_voice_objects_and_the_v3_default_voice_work() {
    let server = Server::start(&[]);
    let client = client();
    let speak = |path: &str, body: Value| {
        let r = client
            .post(format!("{}{path}", server.url))
            .json(&body)
            .send()
            .unwrap();
        let status = r.status().as_u16();
        let fallback = r.headers().get("x-tts-voice-fallback").is_some();
        (status, fallback, r.bytes().unwrap())
    };
    let (s, _, a) = speak(
        "/v1/audio/speech",
        json!({"model": "tts-1", "input": "Hi", "voice": {"id": "speaker_b"}, "response_format": "wav"}),
    );
    assert_eq!(s, 200);
    let (s, _, b) = speak(
        "/v1/audio/speech",
        json!({"model": "microsoft/speecht5_tts", "input": "Hi", "voice": "speaker_b", "response_format": "wav"}),
    );
    assert_eq!(s, 200);
    assert_eq!(
        a, b,
        "a voice object and a voice name pick the same speaker"
    );
    // OpenAI's voice names go through the model's voice table (function/tts.toml: ash → speaker_b).
    let (s, _, c) = speak(
        "/v1/audio/speech",
        json!({"model": "tts-1", "input": "Hi", "voice": "ash", "response_format": "wav"}),
    );
    assert_eq!(s, 200);
    assert_eq!(a, c, "ash is speaker_b");
    let (s, _, d) = speak(
        "/v1/audio/speech",
        json!({"model": "tts-1", "input": "Hi", "voice": "alloy", "response_format": "wav"}),
    );
    assert_eq!(s, 200);
    assert_ne!(a, d, "alloy is speaker_a, another speaker");
    // The model server's documented clients send voice "unused" or none at all.
    let (s, fallback, _) = speak(
        "/v3/audio/speech",
        json!({"model": "speecht5", "input": "Hi", "voice": "unused"}),
    );
    assert_eq!((s, fallback), (200, true));
    let (s, fallback, _) = speak(
        "/v3/audio/speech",
        json!({"model": "speecht5", "input": "Hi"}),
    );
    assert_eq!((s, fallback), (200, false));
}

#[test]
fn discovery_routes_list_models_and_voices() {
    let server = Server::start(&[]);
    let client = client();
    let get = |path: &str| {
        let r = client.get(format!("{}{path}", server.url)).send().unwrap();
        (r.status().as_u16(), r.json::<Value>().unwrap())
    };
    let (status, models) = get("/v1/models");
    assert_eq!(status, 200);
    let ids: Vec<&str> = models["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&"speecht5")
            && ids.contains(&"tts-1")
            && ids.contains(&"microsoft/speecht5_tts"),
        "{ids:?}"
    );
    let (status, model) = get("/v1/models/microsoft/speecht5_tts");
    assert_eq!(
        (status, model["id"].as_str()),
        (200, Some("microsoft/speecht5_tts"))
    );
    let (status, error) = get("/v1/models/whisper-1");
    assert_eq!(
        (status, error["error"]["code"].as_str()),
        (404, Some("model_not_found"))
    );
    let (status, voices) = get("/v1/audio/voices");
    assert_eq!(status, 200);
    let first = &voices["data"][0];
    assert_eq!(first["voices"], json!(["speaker_a", "speaker_b"]));
    assert_eq!(
        (
            first["default_voice"].as_str(),
            first["sample_rate"].as_u64()
        ),
        (Some("speaker_a"), Some(16_000))
    );
}

#[test]
fn the_load_test_runner_reports_on_a_running_function() {
    let server = Server::start(&[]);
    let output = std::process::Command::new(e2e_tests::binary("tts-loadtest", "loadtest"))
        .args([
            "run",
            "--url",
            &server.url,
            "--requests",
            "4",
            "--concurrency",
            "2",
            "--max-seconds",
            "60",
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["statuses"], json!({"200": 4}));
    let p50 = report["latency_ms"]["p50"].as_f64().unwrap();
    let p99 = report["latency_ms"]["p99"].as_f64().unwrap();
    assert!(p50 > 0.0 && p99 >= p50, "{report}");
    assert!(report["audio_seconds_total"].as_f64().unwrap() > 0.0);
    assert!(report["rtf_p50"].as_f64().unwrap() > 0.0);
    assert!(report["ttfb_ms"]["p50"].as_f64().unwrap() > 0.0);
}
