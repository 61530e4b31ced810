//! Property tests of the input path on hostile Unicode (emoji and flags, RTL and bidi controls,
//! combining marks, control characters, NUL, zero-width characters, long runs of one symbol, one
//! very long word), run in the regular tests: the request parser, the text normalizer and the
//! sentence splitter never panic and keep their contracts; then the real binary, on the default
//! Piper voice, answers each such input with audio or an OpenAI-shaped 4xx (never a 5xx, never a
//! dead process), `/dev/captioned_speech` with the input's own words in order or a 4xx, and
//! `model` / `voice` values made of path tricks get a 4xx that names no path. The normalizer's
//! offset map, the input's words and the phoneme-to-word alignment keep their contracts too.
//! The libFuzzer targets of `function/fuzz` (tests/fuzz.sh) search the same functions longer.

use std::time::{Duration, Instant};

use e2e_tests::{binary, repo, Server};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde_json::{json, Value};
use tts::api::{parse_speech_body, Dialect};
use tts::text::normalize::{normalize, normalize_mapped};
use tts::text::sentences::split_sentences;
use tts::text::words::{align, WordMap};

/// Characters that break naive text code, weighted among arbitrary ones and plain letters.
const NASTY: &[char] = &[
    '\0', '\u{1}', '\u{7}', '\u{8}', '\u{1b}', '\u{7f}', '\u{85}', '\u{a0}', '\u{ad}', '\u{200b}',
    '\u{200d}', '\u{200f}', '\u{202e}', '\u{2066}', '\u{2028}', '\u{feff}', '\u{fffd}', '\u{301}',
    '\u{302}', '\u{334}', '\u{20dd}', '😀', '👨', '🏽', '🇺', '🇸', '\u{fe0f}', 'ا', 'ש', '中', 'ß',
    'İ', 'ﬁ', '\n', '\r', '\t', ' ', '.', '!', '?', '…', '$', '%', '€', '£', '0', '1', '9', ',',
    ':', ';', '-', '/', '\'', '"', '(', ')', '&', '@', '#', '½', '²', 'Ⅻ',
];

fn hostile_char() -> impl Strategy<Value = char> {
    prop_oneof![
        3 => any::<char>(),
        3 => prop::sample::select(NASTY),
        2 => prop::char::range('a', 'z'),
    ]
}

/// Up to `max` hostile characters, or a run of one of them, or one long word.
fn hostile_text(max: usize) -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::collection::vec(hostile_char(), 0..max).prop_map(String::from_iter),
        1 => (hostile_char(), 1..max).prop_map(|(c, n)| std::iter::repeat_n(c, n).collect()),
        1 => prop::collection::vec(prop::char::range('a', 'z'), 1..max).prop_map(String::from_iter),
    ]
}

fn non_space(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

proptest! {
    #![proptest_config(Config { cases: 400, ..Config::default() })]

    /// The normalizer never panics, never blows up (numbers spell out longer, but boundedly) and
    /// leaves no control character but line breaks.
    #[test]
    fn the_normalizer_survives_hostile_text(text in hostile_text(600)) {
        let out = normalize(&text);
        let n = text.chars().count();
        prop_assert!(out.chars().count() <= 64 * n + 64, "{} → {} chars", n, out.chars().count());
        prop_assert!(
            !out.chars().any(|c| c.is_control() && c != '\n'),
            "control character left in {:?}", out
        );
    }

    /// The normalizer's offset map gives the same text, covers it in order and points into the
    /// input at character boundaries; the input's words do not overlap and each is spoken.
    #[test]
    fn the_offset_map_and_the_words_survive_hostile_text(text in hostile_text(600)) {
        let mapped = normalize_mapped(&text);
        prop_assert_eq!(&mapped.text, &normalize(&text));
        let mut end = 0;
        for span in &mapped.spans {
            prop_assert_eq!(span.output.start, end);
            end = span.output.end;
            prop_assert!(text.is_char_boundary(span.source.start) && text.is_char_boundary(span.source.end));
        }
        prop_assert_eq!(end, mapped.text.len());
        let map = WordMap::new(&text, &mapped);
        for pair in map.words.windows(2) {
            prop_assert!(pair[0].source.end <= pair[1].source.start, "{:?}", map.words);
        }
        for (i, word) in map.words.iter().enumerate() {
            prop_assert_eq!(text[word.source.clone()].trim(), word.text.as_str());
            prop_assert!(map.spoken.iter().any(|s| s.word == i));
        }
    }

    /// Any phonemes against any words: one entry per character, words in order.
    #[test]
    fn phonemes_align_with_any_words(sentence in hostile_text(400), words in prop::collection::vec(hostile_text(12), 0..40)) {
        let refs: Vec<&str> = words.iter().map(String::as_str).collect();
        let assigned = align::assign(&sentence, &refs);
        prop_assert_eq!(assigned.len(), sentence.chars().count());
        let order: Vec<usize> = assigned.iter().flatten().copied().collect();
        prop_assert!(order.windows(2).all(|w| w[0] <= w[1]));
        prop_assert!(order.iter().all(|&w| w < words.len()));
    }

    /// Sentences of normalized hostile text are non-empty, trimmed, within the limit and keep
    /// every non-whitespace character in order.
    #[test]
    fn the_splitter_keeps_every_character_within_the_limit(text in hostile_text(600), max in 1usize..500) {
        let text = normalize(&text);
        let pieces = split_sentences(&text, max);
        for piece in &pieces {
            prop_assert!(!piece.is_empty() && piece.trim() == piece.as_str(), "{:?}", piece);
            prop_assert!(piece.chars().count() <= max, "{:?} over {}", piece, max);
        }
        prop_assert_eq!(non_space(&pieces.concat()), non_space(&text));
    }

    /// Any string as `input` is a request exactly when it has something besides whitespace and
    /// fits the limit; otherwise a 400 naming `input`.
    #[test]
    fn any_input_string_is_a_request_or_a_400(text in hostile_text(5000)) {
        let body = json!({"model": "tts-1", "input": text, "voice": "alloy"}).to_string();
        let fits = !text.trim().is_empty() && text.chars().count() <= 4096;
        match parse_speech_body(body.as_bytes(), Dialect::OpenAi, 4096, 4096) {
            Ok(request) => {
                prop_assert!(fits);
                prop_assert_eq!(request.input, text);
            }
            Err(error) => {
                prop_assert!(!fits, "{}", error);
                prop_assert_eq!(error.status().as_u16(), 400);
            }
        }
    }

    /// Arbitrary bytes, and JSON with hostile strings anywhere, give a request or a 4xx.
    #[test]
    fn any_body_is_a_request_or_a_4xx(
        bytes in prop::collection::vec(any::<u8>(), 0..400),
        model in hostile_text(40),
        voice in hostile_text(40),
        format in hostile_text(12),
        speed in any::<f64>(),
    ) {
        let shaped = json!({"model": model, "input": "hi", "voice": voice, "response_format": format, "speed": speed});
        for body in [bytes, shaped.to_string().into_bytes()] {
            for dialect in [Dialect::OpenAi, Dialect::ModelServer] {
                if let Err(error) = parse_speech_body(&body, dialect, 4096, 4096) {
                    let status = error.status().as_u16();
                    prop_assert!((400..500).contains(&status), "{} {}", status, error);
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The real binary.

fn piper_server() -> Server {
    binary("espeak-phonemes", "espeak-phonemes");
    let config = repo().join("function/tts.toml");
    Server::start(&[
        ("TTS_CONFIG", config.to_str().unwrap()),
        ("TTS_PRECISION", "f32"),
        ("TTS_THREADS", "2"),
        ("RUST_LOG", "warn"),
    ])
}

fn post(url: &str, path: &str, body: &Value) -> (u16, Vec<u8>, f64) {
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(300))
        .build()
        .unwrap();
    let started = Instant::now();
    let response = client
        .post(format!("{url}{path}"))
        .json(body)
        .send()
        .expect("the function answers");
    let status = response.status().as_u16();
    let bytes = response.bytes().expect("a whole body").to_vec();
    (status, bytes, started.elapsed().as_secs_f64())
}

/// An OpenAI-shaped error body with nothing internal in its message (`what` is the client's own
/// value, which the message may quote).
fn assert_clean_error(body: &[u8], what: &str) -> Value {
    let value: Value = serde_json::from_slice(body)
        .unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {}", String::from_utf8_lossy(body)));
    let error = &value["error"];
    for field in ["message", "type", "param", "code"] {
        assert!(error.get(field).is_some(), "{what}: no {field} in {value}");
    }
    let message = error["message"]
        .as_str()
        .unwrap_or_default()
        .to_lowercase()
        .replace(&what.to_lowercase(), "<given>");
    let root = repo().to_string_lossy().to_lowercase();
    for internal in [
        root.as_str(),
        ".onnx",
        ".xml",
        ".bin",
        "openvino",
        "/etc/",
        "panicked",
    ] {
        assert!(
            !message.contains(internal),
            "{what}: {internal:?} in {message}"
        );
    }
    value
}

/// A 200 whose body is a WAV an independent decoder reads, or a clean 4xx; returns the seconds
/// of audio (0 for a 4xx).
fn audio_or_4xx(url: &str, input: &str, what: &str) -> f64 {
    let body =
        json!({"model": "tts-1", "input": input, "voice": "alloy", "response_format": "wav"});
    let (status, bytes, took) = post(url, "/v1/audio/speech", &body);
    match status {
        200 => {
            let reader = hound::WavReader::new(std::io::Cursor::new(&bytes))
                .unwrap_or_else(|e| panic!("{what}: a 200 that is not WAV ({e})"));
            let spec = reader.spec();
            let samples = reader.into_samples::<i16>().collect::<Result<Vec<_>, _>>();
            let samples = samples.unwrap_or_else(|e| panic!("{what}: a broken WAV ({e})"));
            let seconds = samples.len() as f64 / f64::from(spec.sample_rate);
            eprintln!("{what}: 200, {seconds:.2} s of audio in {took:.1} s");
            seconds
        }
        400..=499 => {
            let error = assert_clean_error(&bytes, what);
            eprintln!("{what}: {status} {}", error["error"]["message"]);
            0.0
        }
        _ => panic!(
            "{what}: {status}: {}",
            String::from_utf8_lossy(&bytes[..bytes.len().min(400)])
        ),
    }
}

/// `/dev/captioned_speech` answers `input` with timestamps of the input's own words (rising, not
/// overlapping), or an OpenAI-shaped 4xx.
fn words_or_4xx(url: &str, input: &str, what: &str) {
    let body = json!({"input": input, "stream": false, "response_format": "wav"});
    let (status, bytes, _) = post(url, "/dev/captioned_speech", &body);
    match status {
        200 => {
            let answer: Value = serde_json::from_slice(&bytes)
                .unwrap_or_else(|e| panic!("{what}: a 200 that is not JSON ({e})"));
            let words = answer["timestamps"].as_array().expect("timestamps");
            let mut at = 0;
            let mut last_end = 0.0;
            for w in words {
                let word = w["word"].as_str().expect("a word");
                let found = input[at..].find(word).unwrap_or_else(|| {
                    panic!("{what}: {word:?} is not the input's next word: {words:?}")
                });
                at += found + word.len();
                let (start, end) = (
                    w["start_time"].as_f64().unwrap(),
                    w["end_time"].as_f64().unwrap(),
                );
                assert!(last_end <= start && start < end, "{what}: {words:?}");
                last_end = end;
            }
        }
        400..=499 => {
            assert_clean_error(&bytes, what);
        }
        _ => panic!(
            "{what}: captioned {status}: {}",
            String::from_utf8_lossy(&bytes[..bytes.len().min(400)])
        ),
    }
}

fn alive(url: &str) {
    let health = reqwest::blocking::get(format!("{url}/health")).expect("the function is up");
    assert_eq!(health.status().as_u16(), 200);
}

#[test]
fn hostile_unicode_gets_audio_or_a_4xx_from_the_function() {
    let server = piper_server();
    let url = server.url.clone();
    let word: String = "pneumonoultramicroscopicsilicovolcanoconiosis"
        .chars()
        .cycle()
        .take(4096)
        .collect();
    let cases: Vec<(&str, String)> = vec![
        ("emoji", "Hello 👋🏽 world 🎉🚀 — 👨‍👩‍👧‍👦 and 🇺🇸!".into()),
        ("emoji only", "😀🎉🚀".into()),
        ("arabic", "مرحبا بالعالم، كيف حالك؟".into()),
        (
            "bidi controls",
            "Hello \u{202e}dlrow\u{202c} and \u{2066}שלום\u{2069} there.".into(),
        ),
        (
            "combining marks",
            format!("Ze{}algo text.", "\u{301}\u{302}\u{334}\u{20dd}".repeat(60)),
        ),
        (
            "control characters",
            "Bell\u{7} back\u{8} escape\u{1b}[31m red\u{1b}[0m del\u{7f} end.".into(),
        ),
        ("NUL", "Hello\u{0}world, and\u{0}\u{0} more.".into()),
        ("zero-width only", "\u{200b}\u{200d}\u{feff}".repeat(100)),
        ("4096 of one emoji", "🎉".repeat(4096)),
        ("4096 full stops", ".".repeat(4096)),
        ("4096 digits", "7".repeat(4096)),
        ("4096 dollar signs", "$".repeat(4096)),
        ("one 4096-character word", word),
    ];
    for (what, input) in &cases {
        assert_eq!(
            input.chars().count().min(4096),
            input.chars().count(),
            "{what}"
        );
        audio_or_4xx(&url, input, what);
        alive(&url);
        if input.chars().count() < 1000 {
            words_or_4xx(&url, input, what);
        }
    }
    // Read out, 4096 digits are 4096 words (about 25 minutes of speech): refused at once, not
    // left to run into the time limit.
    let body = json!({"model": "tts-1", "input": "7".repeat(4096), "voice": "alloy"});
    let (status, bytes, took) = post(&url, "/v1/audio/speech", &body);
    assert_eq!(status, 400, "{}", String::from_utf8_lossy(&bytes));
    let error = assert_clean_error(&bytes, "4096 digits");
    assert_eq!(error["error"]["param"], "input");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("too long once read out"),
        "{error}"
    );
    assert!(took < 10.0, "refused after {took:.1} s");
    // A few dozen generated ones, reproducibly.
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]),
    );
    let strategy = hostile_text(300);
    for i in 0..24 {
        let input = strategy.new_tree(&mut runner).unwrap().current();
        audio_or_4xx(&url, &input, &format!("generated #{i} {:?}", clip(&input)));
        words_or_4xx(&url, &input, &format!("generated #{i} {:?}", clip(&input)));
    }
    // Plain text still speaks afterwards.
    assert!(audio_or_4xx(&url, "Everything is fine.", "after") > 0.5);
}

fn clip(text: &str) -> String {
    text.chars().take(24).collect()
}

#[test]
fn model_and_voice_path_tricks_get_a_4xx_naming_no_path() {
    let server = piper_server();
    let url = &server.url;
    let long = "../".repeat(2000);
    let tricks = [
        "../../../../etc/passwd",
        "/etc/passwd",
        "..",
        "piper-joe/../speecht5",
        "speecht5/voices/../../../function/tts.toml",
        "speaker_a.bin",
        "voices/speaker_a",
        "piper-joe\u{0}",
        "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "C:\\Windows\\System32\\config",
        "file:///etc/passwd",
        "~/.ssh/id_rsa",
        "\u{202e}dwssap/cte/",
        long.as_str(),
    ];
    for trick in tricks {
        // As a model: no such model, on both paths.
        for path in ["/v1/audio/speech", "/v3/audio/speech"] {
            let body = json!({"model": trick, "input": "Hello.", "voice": "alloy"});
            let (status, bytes, _) = post(url, path, &body);
            assert_eq!(status, 404, "model {trick:?} on {path}");
            let error = assert_clean_error(&bytes, trick);
            assert_eq!(error["error"]["code"], "model_not_found", "{error}");
        }
        // As a voice of either model (SpeechT5 keeps its voices as files): unknown voice.
        for model in ["piper-joe", "speecht5"] {
            let body = json!({"model": model, "input": "Hello.", "voice": trick});
            let (status, bytes, _) = post(url, "/v1/audio/speech", &body);
            assert_eq!(status, 400, "voice {trick:?} of {model}");
            let error = assert_clean_error(&bytes, trick);
            assert_eq!(error["error"]["param"], "voice", "{error}");
            // The model server's path falls back to the default speaker: the name is never
            // looked up on disk, so the answer is audio.
            let (status, bytes, _) = post(url, "/v3/audio/speech", &body);
            assert_eq!(
                status,
                200,
                "voice {trick:?} of {model} on /v3: {}",
                String::from_utf8_lossy(&bytes)
            );
        }
    }
    alive(url);
}
