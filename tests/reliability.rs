//! Guards reliability and access on the real binary (plain local server, the default Piper voice):
//! overload answered 429 with `Retry-After` (a full queue at once, a wait past the queue timeout
//! after it), the request time limit (504, an SSE `error` event, a broken-off audio stream) that
//! really stops the synthesis, a client that hangs up freeing its slot, API keys (401 with
//! `WWW-Authenticate`, the right key 200, `/health` open), CORS off by default and on for listed
//! origins only, injected engine failures and panics answered 500 with nothing internal in the
//! body and the next request served, the eSpeak NG helper killed mid-request and restarted, and a
//! corrupt voice file refused at start naming the file.

use std::io::Write;
use std::net::TcpStream;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use e2e_tests::{binary, repo, run_to_exit, Server};
use serde_json::{json, Value};

/// About 1,500 characters: tens of seconds of speech, many seconds of synthesis.
fn long_text() -> String {
    "The committee met on Tuesday to discuss the new budget, and after a long debate it agreed to fund the library, the park and the bus line. "
        .repeat(11)
}

/// The default Piper voice (and the tiny SpeechT5), with `env` on top; the eSpeak NG helper is
/// built beside the binary.
fn piper_server(env: &[(&str, &str)]) -> Server {
    binary("espeak-phonemes", "espeak-phonemes");
    let config = repo().join("function/tts.toml");
    let mut all: Vec<(&str, &str)> = vec![
        ("TTS_CONFIG", config.to_str().unwrap()),
        ("TTS_PRECISION", "f32"),
        ("TTS_THREADS", "1"),
        ("RUST_LOG", "info"),
    ];
    all.extend_from_slice(env);
    Server::start(&all)
}

fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap()
}

fn speech(input: &str, extra: Value) -> Value {
    let mut body =
        json!({"model": "tts-1", "input": input, "voice": "alloy", "response_format": "wav"});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    body
}

/// Posts a speech body; returns (status, headers, body bytes, seconds taken).
fn post(
    url: &str,
    body: &Value,
    key: Option<&str>,
) -> (u16, reqwest::header::HeaderMap, Vec<u8>, f64) {
    let started = Instant::now();
    let mut request = client().post(format!("{url}/v1/audio/speech")).json(body);
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    let response = request.send().expect("the function answers");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = response.bytes().map(|b| b.to_vec()).unwrap_or_default();
    (status, headers, bytes, started.elapsed().as_secs_f64())
}

/// Asserts an OpenAI-shaped error body and returns its `error` object.
fn openai_error(body: &[u8]) -> Value {
    let value: Value = serde_json::from_slice(body)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(body)));
    let error = value["error"].clone();
    for field in ["message", "type", "param", "code"] {
        assert!(error.get(field).is_some(), "no {field} in {value}");
    }
    assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()));
    error
}

fn health(url: &str) -> Value {
    client()
        .get(format!("{url}/health"))
        .send()
        .and_then(|r| r.json())
        .expect("GET /health")
}

/// Waits until every admission place is free again (all syntheses stopped); returns how long.
fn wait_idle(url: &str, within: Duration) -> Duration {
    let started = Instant::now();
    loop {
        let h = health(url);
        if h["available_places"] == h["places"] {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < within,
            "places still taken after {within:?}: {h}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn assert_served(url: &str) {
    let (status, _, body, _) = post(url, &speech("Still here.", json!({})), None);
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert!(body.starts_with(b"RIFF"), "a WAV body");
}

/// Text of a response body, lossy.
fn text(body: &[u8]) -> String {
    String::from_utf8_lossy(body).into_owned()
}

#[test]
fn overload_is_refused_at_once_and_a_wait_past_the_queue_timeout_gets_429() {
    let server = piper_server(&[
        ("TTS_SLOTS", "1"),
        ("TTS_MAX_QUEUE", "1"),
        ("TTS_QUEUE_TIMEOUT", "1"),
    ]);
    let url = server.url.clone();
    let long = speech(&long_text(), json!({}));
    std::thread::scope(|s| {
        let running = s.spawn(|| post(&url, &long, None));
        std::thread::sleep(Duration::from_millis(400));
        let waiting = s.spawn(|| post(&url, &speech("Wait for me.", json!({})), None));
        std::thread::sleep(Duration::from_millis(300));
        // Slot and queue place taken: refused without waiting.
        let (status, headers, body, secs) = post(&url, &speech("And me.", json!({})), None);
        assert_eq!(status, 429, "{}", text(&body));
        assert!(
            secs < 0.5,
            "a full queue is answered at once, took {secs:.2} s"
        );
        assert_eq!(headers["retry-after"], "1");
        let error = openai_error(&body);
        assert_eq!(error["type"], "rate_limit_error");
        assert_eq!(error["code"], "rate_limit_exceeded");
        // The queued request gives up after the queue timeout.
        let (status, headers, body, secs) = waiting.join().unwrap();
        assert_eq!(status, 429, "{}", text(&body));
        assert!(
            (0.9..4.0).contains(&secs),
            "the wait lasts the queue timeout (1 s), took {secs:.2} s"
        );
        assert_eq!(headers["retry-after"], "1");
        assert!(
            openai_error(&body)["message"]
                .as_str()
                .unwrap()
                .contains("within 1 s"),
            "{}",
            text(&body)
        );
        let (status, _, body, _) = running.join().unwrap();
        assert_eq!(status, 200, "{}", text(&body));
    });
    assert_served(&server.url);
}

#[test]
fn the_time_limit_answers_504_and_stops_the_synthesis() {
    let server = piper_server(&[
        ("TTS_SLOTS", "1"),
        ("TTS_MAX_QUEUE", "0"),
        ("TTS_REQUEST_TIMEOUT", "1.5"),
    ]);
    let url = &server.url;
    let long = long_text();

    // Buffered: 504 in OpenAI's shape at the limit, then the slot comes back within a sentence.
    let (status, _, body, secs) = post(url, &speech(&long, json!({})), None);
    assert_eq!(status, 504, "{}", text(&body));
    assert!(
        (1.4..4.0).contains(&secs),
        "answered at the limit, took {secs:.2} s"
    );
    let error = openai_error(&body);
    assert_eq!(error["code"], "timeout");
    assert!(
        error["message"].as_str().unwrap().contains("2 s"),
        "{error}"
    );
    let freed = wait_idle(url, Duration::from_secs(5));
    eprintln!("buffered: the slot was free {freed:?} after the 504");

    // SSE: the stream starts, then ends with an `error` event saying why.
    let response = client()
        .post(format!("{url}/v1/audio/speech"))
        .json(&speech(
            &long,
            json!({"stream_format": "sse", "response_format": "pcm"}),
        ))
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);
    let events = response.text().expect("the SSE body ends cleanly");
    let last: Value = events
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .next_back()
        .map(|d| serde_json::from_str(d).unwrap())
        .expect("events");
    assert_eq!(last["type"], "error", "{last}");
    assert_eq!(last["error"]["code"], "timeout", "{last}");
    assert!(events.contains("speech.audio.delta"), "audio came first");
    wait_idle(url, Duration::from_secs(5));

    // Audio stream: broken off, so the client sees an incomplete body rather than a short success.
    let response = client()
        .post(format!("{url}/v1/audio/speech"))
        .json(&speech(
            &long,
            json!({"stream_format": "audio", "response_format": "pcm"}),
        ))
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.bytes().is_err(),
        "a timed-out audio stream must not end like a complete one"
    );
    wait_idle(url, Duration::from_secs(5));
    assert_served(url);
}

/// Sends a raw HTTP request and hangs up after `wait` without reading the answer.
fn hang_up_after(url: &str, body: &Value, wait: Duration) {
    let address = url.trim_start_matches("http://");
    let mut socket = TcpStream::connect(address).unwrap();
    let body = body.to_string();
    write!(
        socket,
        "POST /v1/audio/speech HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    std::thread::sleep(wait);
    drop(socket);
}

#[test]
fn a_client_that_hangs_up_frees_its_slot() {
    let server = piper_server(&[("TTS_SLOTS", "1"), ("TTS_MAX_QUEUE", "0")]);
    let url = &server.url;
    for extra in [
        json!({}),
        json!({"stream_format": "audio", "response_format": "pcm"}),
        json!({"stream_format": "sse"}),
    ] {
        let started = Instant::now();
        hang_up_after(
            url,
            &speech(&long_text(), extra.clone()),
            Duration::from_millis(800),
        );
        // The whole synthesis takes many seconds: free within a sentence or two means stopped.
        let freed = wait_idle(url, Duration::from_secs(5));
        eprintln!("{extra}: slot free {freed:?} after the hang-up");
        assert!(started.elapsed() < Duration::from_secs(7));
        assert_served(url);
    }
}

#[test]
fn api_keys_guard_every_route_but_health() {
    let dir = std::env::temp_dir().join(format!("tts-keys-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("keys");
    std::fs::write(&file, "# rotated monthly\nsk-from-file\n\n").unwrap();
    let server = piper_server(&[
        ("TTS_API_KEY", "sk-first, sk-second"),
        ("TTS_API_KEY_FILE", file.to_str().unwrap()),
    ]);
    let url = &server.url;
    let body = speech("Hello.", json!({}));
    let (status, headers, bytes, _) = post(url, &body, None);
    assert_eq!(status, 401, "{}", text(&bytes));
    assert_eq!(headers["www-authenticate"], "Bearer realm=\"tts\"");
    assert_eq!(openai_error(&bytes)["code"], "missing_api_key");
    for wrong in ["sk-firs", "sk-first2", "SK-FIRST", "Basic sk-first"] {
        let (status, headers, bytes, _) = post(url, &body, Some(wrong));
        assert_eq!(status, 401, "{wrong}");
        assert!(headers["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_token"));
        let error = openai_error(&bytes);
        assert_eq!(error["code"], "invalid_api_key");
        assert!(
            !text(&bytes).contains(wrong),
            "the key is not echoed: {}",
            text(&bytes)
        );
    }
    for right in ["sk-first", "sk-second", "sk-from-file"] {
        let (status, _, bytes, _) = post(url, &body, Some(right));
        assert_eq!(status, 200, "{right}: {}", text(&bytes));
    }
    // Discovery is protected too; the health check is not.
    let models = client().get(format!("{url}/v1/models")).send().unwrap();
    assert_eq!(models.status(), 401);
    let models = client()
        .get(format!("{url}/v1/models"))
        .bearer_auth("sk-second")
        .send()
        .unwrap();
    assert_eq!(models.status(), 200);
    assert_eq!(health(url)["status"], "ok");
    std::fs::remove_dir_all(&dir).ok();
}

fn preflight(url: &str, origin: &str) -> reqwest::blocking::Response {
    client()
        .request(reqwest::Method::OPTIONS, format!("{url}/v1/audio/speech"))
        .header("Origin", origin)
        .header("Access-Control-Request-Method", "POST")
        .header(
            "Access-Control-Request-Headers",
            // What the OpenAI JS SDK sends from a browser (dangerouslyAllowBrowser).
            "authorization,content-type,x-stainless-lang,x-stainless-retry-count,x-stainless-timeout",
        )
        .send()
        .unwrap()
}

#[test]
fn cors_is_off_by_default_and_on_for_the_listed_origins_only() {
    let closed = piper_server(&[]);
    let answer = preflight(&closed.url, "https://app.example.com");
    assert!(answer
        .headers()
        .get("access-control-allow-origin")
        .is_none());
    drop(closed);

    let open = piper_server(&[
        (
            "TTS_CORS_ORIGINS",
            "https://app.example.com, http://localhost:5173",
        ),
        ("TTS_API_KEY", "sk-browser"),
    ]);
    let answer = preflight(&open.url, "https://app.example.com");
    assert!(answer.status().is_success(), "{}", answer.status());
    assert_eq!(
        answer.headers()["access-control-allow-origin"],
        "https://app.example.com"
    );
    let allowed = answer.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    for name in ["authorization", "content-type", "x-stainless-retry-count"] {
        assert!(allowed.contains(name), "{name} not in {allowed}");
    }
    let other = preflight(&open.url, "https://evil.example.net");
    assert!(other.headers().get("access-control-allow-origin").is_none());
    // A real request from the page gets the header, and may read the timing headers.
    let response = client()
        .post(format!("{}/v1/audio/speech", open.url))
        .header("Origin", "http://localhost:5173")
        .bearer_auth("sk-browser")
        .json(&speech("Hi.", json!({})))
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        "http://localhost:5173"
    );
    assert!(response.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .contains("x-processing-seconds"));
}

#[test]
fn engine_failures_and_panics_are_500s_and_the_next_request_is_served() {
    let server = piper_server(&[
        ("TTS_FAULTS", "fail:KABOOM,panic:SHATTER"),
        ("TTS_SLOTS", "1"),
        ("TTS_MAX_QUEUE", "0"),
    ]);
    let url = &server.url;
    for word in ["KABOOM", "SHATTER"] {
        let input = format!("This goes wrong: {word}.");
        let (status, _, bytes, _) = post(url, &speech(&input, json!({})), None);
        assert_eq!(status, 500, "{word}: {}", text(&bytes));
        let error = openai_error(&bytes);
        assert_eq!(error["type"], "server_error");
        for internal in ["TTS_FAULTS", "panic", "/", "openvino", "inference"] {
            assert!(
                !error["message"]
                    .as_str()
                    .unwrap()
                    .to_lowercase()
                    .contains(internal),
                "internal detail {internal:?} in {error}"
            );
        }
        assert_served(url);
        // Streamed: the status is already 200, so SSE ends with an error event.
        let events = client()
            .post(format!("{url}/v1/audio/speech"))
            .json(&speech(&input, json!({"stream_format": "sse"})))
            .send()
            .unwrap()
            .text()
            .unwrap();
        assert!(events.contains("\"type\":\"error\""), "{word}: {events}");
        assert!(!events.contains("speech.audio.done"), "{events}");
        wait_idle(url, Duration::from_secs(3));
        assert_served(url);
    }
}

/// Process ids whose parent is `parent`.
fn children(parent: u32) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // Fields after the parenthesised command: state, ppid, ...
        let after = &stat[stat.rfind(')').unwrap_or(0) + 1..];
        if after.split_whitespace().nth(1) == Some(&parent.to_string()) {
            found.push(pid);
        }
    }
    found
}

#[test]
fn the_espeak_helper_killed_mid_request_is_restarted() {
    let server = piper_server(&[]);
    let url = server.url.clone();
    assert_served(&url);
    let pid = server.pid();
    let text_to_say = "One sentence after another, each phonemized by the helper. ".repeat(40);
    for round in 0..4 {
        let helpers = children(pid);
        assert_eq!(helpers.len(), 1, "one eSpeak NG helper: {helpers:?}");
        let body = speech(&text_to_say, json!({"response_format": "pcm"}));
        std::thread::scope(|s| {
            let request = s.spawn(|| post(&url, &body, None));
            std::thread::sleep(Duration::from_millis(5 + 15 * round));
            let _ = std::process::Command::new("kill")
                .args(["-9", &helpers[0].to_string()])
                .status();
            let (status, _, bytes, _) = request.join().unwrap();
            // The request either got through (the helper was restarted and asked again) or was
            // answered a clear 500; never a hang or a dropped connection.
            assert!(status == 200 || status == 500, "{status}: {}", text(&bytes));
            if status == 500 {
                openai_error(&bytes);
            }
            eprintln!("round {round}: {status}");
        });
        assert_served(&url);
        let now = children(pid);
        assert!(
            now.len() == 1 && now != helpers,
            "a new helper replaced {helpers:?}: {now:?}"
        );
    }
}

#[test]
fn a_corrupt_voice_file_is_a_start_up_error_naming_it() {
    let voice = repo().join(".models/piper-joe");
    let dir = std::env::temp_dir().join(format!("tts-corrupt-{}", std::process::id()));
    let folder = dir.join("voice");
    std::fs::create_dir_all(&folder).unwrap();
    let mut model = PathBuf::new();
    for entry in std::fs::read_dir(&voice).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let target = folder.join(&name);
        if name.ends_with(".onnx") {
            // Half the file: a truncated download.
            let bytes = std::fs::read(entry.path()).unwrap();
            std::fs::write(&target, &bytes[..bytes.len() / 2]).unwrap();
            model = target;
        } else if entry.path().is_file() {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
    assert!(model.is_file(), "the voice has an .onnx file");
    let config = dir.join("tts.toml");
    std::fs::write(
        &config,
        format!(
            "[[models]]\nid = \"piper-joe\"\nfamily = \"piper\"\ndir = \"{}\"\n",
            folder.display()
        ),
    )
    .unwrap();
    binary("espeak-phonemes", "espeak-phonemes");
    let (ok, stderr) = run_to_exit(&[("TTS_CONFIG", config.to_str().unwrap())]);
    assert!(!ok, "a truncated voice must stop the start");
    assert!(
        stderr.contains(model.to_str().unwrap()) || stderr.contains(folder.to_str().unwrap()),
        "the error names the file: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    std::fs::remove_dir_all(&dir).ok();
}
