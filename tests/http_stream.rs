//! Streamed responses from the real binary (tiny SpeechT5, deterministic): `stream_format`
//! "audio" arrives in several chunks and joins into the same audio as the whole-body answer;
//! "sse" carries OpenAI's `speech.audio.delta` / `speech.audio.done` events whose audio is the
//! same again; a client that hangs up mid-stream frees its place at once (with one place in all,
//! the next request is served instead of getting 429).

use std::io::Read;
use std::time::{Duration, Instant};

use base64::Engine as _;
use e2e_tests::Server;
use serde_json::{json, Value};

/// Enough sentences for many pieces: the stream has chunks to send before synthesis ends.
fn long_text() -> String {
    "The quick brown fox jumps over the lazy dog. ".repeat(40)
}

fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap()
}

/// The samples of a 16-bit WAV, header skipped (a streamed WAV's sizes are unknown, 0xFFFFFFFF).
fn wav_samples(bytes: &[u8]) -> Vec<i16> {
    assert_eq!(&bytes[..4], b"RIFF");
    let data = bytes
        .windows(4)
        .position(|w| w == b"data")
        .expect("a data chunk")
        + 8;
    bytes[data..]
        .chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect()
}

/// POSTs `body` as JSON to `path` on `server`.
fn post(server: &Server, path: &str, body: &Value) -> reqwest::blocking::Response {
    client()
        .post(format!("{}{path}", server.url))
        .json(body)
        .send()
        .unwrap()
}

fn whole(server: &Server, text: &str) -> Vec<i16> {
    let response = post(
        server,
        "/v1/audio/speech",
        &json!({"model": "speecht5", "voice": "speaker_a", "input": text, "response_format": "wav"}),
    );
    assert_eq!(response.status(), 200);
    wav_samples(&response.bytes().unwrap())
}

/// Reads a streamed body, recording when each read returned data.
fn read_chunks(mut response: reqwest::blocking::Response) -> (Vec<u8>, Vec<Duration>) {
    let started = Instant::now();
    let mut body = Vec::new();
    let mut arrivals = Vec::new();
    let mut buf = [0u8; 65536];
    loop {
        let n = response.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        arrivals.push(started.elapsed());
        body.extend_from_slice(&buf[..n]);
    }
    (body, arrivals)
}

fn assert_same_audio(streamed: &[i16], whole: &[i16]) {
    assert_eq!(streamed.len(), whole.len(), "sample counts differ");
    let diff = streamed
        .iter()
        .zip(whole)
        .map(|(a, b)| (i32::from(*a) - i32::from(*b)).abs())
        .max()
        .unwrap_or(0);
    assert!(diff <= 64, "max sample difference {diff} (of 32767)");
}

#[test]
fn stream_format_audio_sends_chunks_that_join_into_the_whole_audio() {
    let server = Server::start(&[]);
    let text = long_text();
    let response = post(
        &server,
        "/v1/audio/speech",
        &json!({"model": "speecht5", "voice": "speaker_a", "input": text,
                  "response_format": "wav", "stream_format": "audio"}),
    );
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "audio/wav");
    assert!(
        response.headers().get("content-length").is_none(),
        "a chunked body"
    );
    let (body, arrivals) = read_chunks(response);
    assert!(
        arrivals.len() >= 3,
        "{} reads: the audio should arrive in pieces",
        arrivals.len()
    );
    let first = arrivals[0];
    let last = *arrivals.last().unwrap();
    assert!(
        first * 2 < last,
        "first bytes at {first:?}, last at {last:?}: chunks must leave before synthesis ends"
    );
    assert_same_audio(&wav_samples(&body), &whole(&server, &text));
}

#[test]
fn stream_format_sse_sends_openai_events_with_the_same_audio() {
    let server = Server::start(&[]);
    let text = long_text();
    let response = post(
        &server,
        "/v1/audio/speech",
        &json!({"model": "speecht5", "voice": "speaker_a", "input": text,
                  "response_format": "wav", "stream_format": "sse"}),
    );
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let body = String::from_utf8(read_chunks(response).0).unwrap();
    let events: Vec<Value> = body
        .split("\n\n")
        .filter(|e| !e.trim().is_empty())
        .map(|e| {
            let data = e.strip_prefix("data: ").expect("only data lines");
            serde_json::from_str(data).expect("JSON data")
        })
        .collect();
    let (done, deltas) = events.split_last().unwrap();
    assert!(deltas.len() >= 3, "{} deltas", deltas.len());
    let mut audio = Vec::new();
    for delta in deltas {
        assert_eq!(delta["type"], "speech.audio.delta");
        assert_eq!(delta.as_object().unwrap().len(), 2, "{delta}");
        audio.extend(
            base64::engine::general_purpose::STANDARD
                .decode(delta["audio"].as_str().unwrap())
                .unwrap(),
        );
    }
    assert_eq!(done["type"], "speech.audio.done");
    let usage = &done["usage"];
    let (input, output, total) = (
        usage["input_tokens"].as_u64().unwrap(),
        usage["output_tokens"].as_u64().unwrap(),
        usage["total_tokens"].as_u64().unwrap(),
    );
    assert!(
        input > 100 && output > 0 && total == input + output,
        "{usage}"
    );
    assert_same_audio(&wav_samples(&audio), &whole(&server, &text));
}

#[test]
fn a_client_that_hangs_up_frees_its_place_at_once() {
    // One place in all: a synthesis still running would make the next request a 429.
    let server = Server::start(&[("TTS_SLOTS", "1"), ("TTS_MAX_QUEUE", "0")]);
    let text = "The quick brown fox jumps over the lazy dog. ".repeat(90);
    let started = Instant::now();
    let mut response = post(
        &server,
        "/v1/audio/speech",
        &json!({"model": "speecht5", "voice": "speaker_a", "input": text,
                  "response_format": "pcm", "stream_format": "audio"}),
    );
    assert_eq!(response.status(), 200);
    let mut buf = [0u8; 4096];
    assert!(response.read(&mut buf).unwrap() > 0);
    let first = started.elapsed();
    drop(response);
    // The server notices the hang-up, stops within one decoder step and returns the place: on a
    // busy 2-core machine that can take longer than a fixed pause, so ask again on 429 for up to
    // 2 s (the abandoned 90-sentence synthesis would hold the place far longer).
    let hung_up = Instant::now();
    let next = loop {
        let next = post(
            &server,
            "/v1/audio/speech",
            &json!({"model": "speecht5", "voice": "speaker_a", "input": "Hello.", "response_format": "wav"}),
        );
        if next.status() != 429 || hung_up.elapsed() > Duration::from_secs(2) {
            break next;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(
        next.status(),
        200,
        "the abandoned stream still holds the only place {:?} after the hang-up (first bytes came after {first:?})",
        hung_up.elapsed()
    );
}

#[test]
fn sse_on_the_model_server_path_works_too_and_bad_stream_formats_are_refused() {
    let server = Server::start(&[]);
    let response = post(
        &server,
        "/v3/audio/speech",
        &json!({"model": "speecht5", "input": "Hello there.", "stream_format": "sse"}),
    );
    assert_eq!(response.status(), 200);
    let body = response.text().unwrap();
    assert!(body.contains("\"speech.audio.done\""), "{body}");
    let refused = post(
        &server,
        "/v1/audio/speech",
        &json!({"model": "speecht5", "voice": "speaker_a", "input": "Hi.", "stream_format": "chunks"}),
    );
    assert_eq!(refused.status(), 400);
    let error: Value = refused.json().unwrap();
    assert_eq!(error["error"]["param"], "stream_format");
}
