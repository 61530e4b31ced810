//! Guards the error contract: a table of malformed and hostile requests (bad JSON, wrong types,
//! huge and empty input, unknown voices and models, path tricks in `model` and `voice`, bad
//! formats, speeds out of range, wrong methods, paths and content types, oversized bodies), each
//! answered with the expected status and an OpenAI-shaped error body; and the limits that need
//! their own set-up: 429 with `Retry-After` when saturated, 413 when the audio would not fit in
//! a buffered Lambda response.

use std::time::Duration;

use e2e_tests::Server;
use serde_json::{json, Value};

/// One hostile request and the answer it must get.
struct Case {
    what: &'static str,
    method: &'static str,
    path: &'static str,
    content_type: Option<&'static str>,
    body: String,
    status: u16,
    param: Option<&'static str>,
    code: Option<&'static str>,
}

fn post(
    what: &'static str,
    body: impl Into<String>,
    status: u16,
    param: Option<&'static str>,
    code: Option<&'static str>,
) -> Case {
    Case {
        what,
        method: "POST",
        path: "/v1/audio/speech",
        content_type: Some("application/json"),
        body: body.into(),
        status,
        param,
        code,
    }
}

/// A valid v1 body with one field replaced (or removed, with `Value::Null` as "absent").
fn with(field: &str, value: Value) -> String {
    let mut body = json!({"model": "speecht5", "input": "Hello there.", "voice": "speaker_a", "response_format": "wav"});
    if value == Value::Null {
        body.as_object_mut().unwrap().remove(field);
    } else {
        body[field] = value;
    }
    body.to_string()
}

fn cases() -> Vec<Case> {
    const BAD: Option<&str> = Some("invalid_value");
    let json_err = Some("invalid_json");
    let long_input = "a".repeat(4097);
    let long_wide = "é".repeat(4097);
    let nested = "[".repeat(10_000) + &"]".repeat(10_000);
    vec![
        post("malformed JSON", "{not json", 400, None, json_err),
        post("empty body", "", 400, None, json_err),
        post(
            "truncated JSON",
            r#"{"model":"speecht5","input":"Hi""#,
            400,
            None,
            json_err,
        ),
        post("JSON array", "[]", 400, None, json_err),
        post("JSON string", r#""speak""#, 400, None, json_err),
        post("JSON null", "null", 400, None, json_err),
        post("10,000 nested arrays", nested, 400, None, json_err),
        post(
            "number out of f64 range",
            with("speed", json!(1)).replace("\"speed\":1", "\"speed\":1e999"),
            400,
            None,
            json_err,
        ),
        post(
            "missing model",
            with("model", Value::Null),
            400,
            Some("model"),
            BAD,
        ),
        post(
            "model is a number",
            with("model", json!(5)),
            400,
            Some("model"),
            BAD,
        ),
        post(
            "model is an array",
            with("model", json!(["speecht5"])),
            400,
            Some("model"),
            BAD,
        ),
        post(
            "missing input",
            with("input", Value::Null),
            400,
            Some("input"),
            BAD,
        ),
        post(
            "input is a number",
            with("input", json!(42)),
            400,
            Some("input"),
            BAD,
        ),
        post(
            "input is an array",
            with("input", json!(["Hi"])),
            400,
            Some("input"),
            BAD,
        ),
        post(
            "input is an object",
            with("input", json!({"text": "Hi"})),
            400,
            Some("input"),
            BAD,
        ),
        post(
            "input is empty",
            with("input", json!("")),
            400,
            Some("input"),
            BAD,
        ),
        post(
            "input is whitespace",
            with("input", json!(" \n\t ")),
            400,
            Some("input"),
            BAD,
        ),
        post(
            "input of 4097 characters",
            with("input", json!(long_input)),
            400,
            Some("input"),
            BAD,
        ),
        post(
            "input of 4097 two-byte characters",
            with("input", json!(long_wide)),
            400,
            Some("input"),
            BAD,
        ),
        post(
            "missing voice on /v1",
            with("voice", Value::Null),
            400,
            Some("voice"),
            BAD,
        ),
        post(
            "voice is a number",
            with("voice", json!(3)),
            400,
            Some("voice"),
            BAD,
        ),
        post(
            "voice is a boolean",
            with("voice", json!(true)),
            400,
            Some("voice"),
            BAD,
        ),
        post(
            "voice object without id",
            with("voice", json!({"name": "speaker_a"})),
            400,
            Some("voice"),
            BAD,
        ),
        post(
            "voice object with a numeric id",
            with("voice", json!({"id": 1})),
            400,
            Some("voice"),
            BAD,
        ),
        post(
            "unknown voice",
            with("voice", json!("nobody")),
            400,
            Some("voice"),
            BAD,
        ),
        post(
            "voice as a relative path",
            with("voice", json!("../../../../etc/passwd")),
            400,
            Some("voice"),
            BAD,
        ),
        post(
            "voice as a file name",
            with("voice", json!("speaker_a.bin")),
            400,
            Some("voice"),
            BAD,
        ),
        post(
            "voice with the folder",
            with("voice", json!("voices/speaker_a")),
            400,
            Some("voice"),
            BAD,
        ),
        post(
            "voice as an absolute path",
            with(
                "voice",
                json!("/work/main/tests/fixtures/speecht5-tiny/model/voices/speaker_a.bin"),
            ),
            400,
            Some("voice"),
            BAD,
        ),
        post(
            "voice with a NUL byte",
            with("voice", json!("speaker_a\u{0}")),
            400,
            Some("voice"),
            BAD,
        ),
        post(
            "voice of another case",
            with("voice", json!("Speaker_A")),
            400,
            Some("voice"),
            BAD,
        ),
        post(
            "unknown model",
            with("model", json!("gpt-5-tts")),
            404,
            Some("model"),
            Some("model_not_found"),
        ),
        post(
            "empty model",
            with("model", json!("")),
            404,
            Some("model"),
            Some("model_not_found"),
        ),
        post(
            "model as a relative path",
            with("model", json!("../../../../etc/passwd")),
            404,
            Some("model"),
            Some("model_not_found"),
        ),
        post(
            "model as the fixture folder",
            with("model", json!("tests/fixtures/speecht5-tiny/model")),
            404,
            Some("model"),
            Some("model_not_found"),
        ),
        post(
            "model as an absolute path",
            with("model", json!("/tmp")),
            404,
            Some("model"),
            Some("model_not_found"),
        ),
        post(
            "model with a URL",
            with("model", json!("https://example.com/model")),
            404,
            Some("model"),
            Some("model_not_found"),
        ),
        post(
            "unknown response_format",
            with("response_format", json!("ogg")),
            400,
            Some("response_format"),
            BAD,
        ),
        post(
            "upper-case response_format",
            with("response_format", json!("MP3")),
            400,
            Some("response_format"),
            BAD,
        ),
        post(
            "response_format is a number",
            with("response_format", json!(3)),
            400,
            Some("response_format"),
            BAD,
        ),
        post("speed 0", with("speed", json!(0)), 400, Some("speed"), BAD),
        post(
            "speed just under 0.25",
            with("speed", json!(0.249)),
            400,
            Some("speed"),
            BAD,
        ),
        post(
            "speed just over 4",
            with("speed", json!(4.001)),
            400,
            Some("speed"),
            BAD,
        ),
        post(
            "negative speed",
            with("speed", json!(-1)),
            400,
            Some("speed"),
            BAD,
        ),
        post(
            "speed as a string",
            with("speed", json!("1.0")),
            400,
            Some("speed"),
            BAD,
        ),
        post(
            "speed as an array",
            with("speed", json!([1])),
            400,
            Some("speed"),
            BAD,
        ),
        post(
            "instructions of 4097 characters",
            with("instructions", json!("b".repeat(4097))),
            400,
            Some("instructions"),
            BAD,
        ),
        post(
            "instructions is a number",
            with("instructions", json!(1)),
            400,
            Some("instructions"),
            BAD,
        ),
        post(
            "unknown stream_format",
            with("stream_format", json!("chunked")),
            400,
            Some("stream_format"),
            BAD,
        ),
        post(
            "body over the size limit",
            with("instructions", json!("c".repeat(300_000))),
            413,
            None,
            Some("request_too_large"),
        ),
        Case {
            content_type: Some("text/plain"),
            ..post(
                "text/plain body",
                with("speed", json!(1)),
                415,
                None,
                Some("unsupported_media_type"),
            )
        },
        Case {
            content_type: Some("application/x-www-form-urlencoded"),
            ..post(
                "form-encoded body (curl -d without a header)",
                with("speed", json!(1)),
                415,
                None,
                Some("unsupported_media_type"),
            )
        },
        Case {
            method: "GET",
            body: String::new(),
            ..post(
                "GET on the speech path",
                "",
                405,
                None,
                Some("method_not_allowed"),
            )
        },
        Case {
            method: "PUT",
            ..post(
                "PUT on the speech path",
                with("speed", json!(1)),
                405,
                None,
                Some("method_not_allowed"),
            )
        },
        Case {
            method: "DELETE",
            path: "/v3/audio/speech",
            ..post(
                "DELETE on the v3 path",
                "",
                405,
                None,
                Some("method_not_allowed"),
            )
        },
        Case {
            path: "/v1/models",
            ..post(
                "POST on the model list",
                "{}",
                405,
                None,
                Some("method_not_allowed"),
            )
        },
        Case {
            path: "/v2/audio/speech",
            ..post(
                "an unknown API version",
                with("speed", json!(1)),
                404,
                None,
                Some("unknown_url"),
            )
        },
        Case {
            path: "/v1/audio/speech/",
            ..post(
                "a trailing slash",
                with("speed", json!(1)),
                404,
                None,
                Some("unknown_url"),
            )
        },
        Case {
            path: "/v1/audio/%2e%2e/speech",
            ..post(
                "an encoded dot-dot path",
                with("speed", json!(1)),
                404,
                None,
                Some("unknown_url"),
            )
        },
        Case {
            path: "/v3/audio/speech",
            ..post(
                "v3: voice is a number",
                with("voice", json!(9)),
                400,
                Some("voice"),
                BAD,
            )
        },
        Case {
            path: "/v3/audio/speech",
            ..post(
                "v3: unknown model",
                with("model", json!("nope")),
                404,
                Some("model"),
                Some("model_not_found"),
            )
        },
        Case {
            path: "/v3/audio/speech",
            ..post(
                "v3: speed out of range",
                with("speed", json!(9)),
                400,
                Some("speed"),
                BAD,
            )
        },
        Case {
            path: "/v3/audio/speech",
            ..post(
                "v3: empty input",
                with("input", json!("")),
                400,
                Some("input"),
                BAD,
            )
        },
        post(
            "word timestamps without SSE",
            with("word_timestamps", json!(true)),
            400,
            Some("word_timestamps"),
            BAD,
        ),
        post(
            "word_timestamps is a string",
            with("word_timestamps", json!("yes")),
            400,
            Some("word_timestamps"),
            BAD,
        ),
        post(
            "word timestamps from a model without durations",
            json!({"model": "speecht5", "input": "Hi.", "voice": "speaker_a",
                   "stream_format": "sse", "word_timestamps": true})
            .to_string(),
            400,
            Some("model"),
            Some("timestamps_unsupported"),
        ),
        Case {
            path: "/dev/captioned_speech",
            ..post(
                "captioned speech from a model without durations",
                json!({"model": "speecht5", "input": "Hi."}).to_string(),
                400,
                Some("model"),
                Some("timestamps_unsupported"),
            )
        },
        Case {
            path: "/dev/captioned_speech",
            ..post(
                "captioned speech: a caption format that does not exist",
                json!({"model": "speecht5", "input": "Hi.", "caption_format": "ass"}).to_string(),
                400,
                Some("caption_format"),
                BAD,
            )
        },
        Case {
            path: "/dev/captioned_speech",
            ..post(
                "captioned speech: stream is not a boolean",
                json!({"model": "speecht5", "input": "Hi.", "stream": "no"}).to_string(),
                400,
                Some("stream"),
                BAD,
            )
        },
        Case {
            path: "/dev/captioned_speech",
            ..post(
                "captioned speech: an unknown model that is not Kokoro's",
                json!({"model": "nope", "input": "Hi."}).to_string(),
                404,
                Some("model"),
                Some("model_not_found"),
            )
        },
        Case {
            method: "GET",
            path: "/dev/captioned_speech",
            content_type: None,
            ..post(
                "captioned speech with GET",
                "",
                405,
                None,
                Some("method_not_allowed"),
            )
        },
    ]
}

fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

fn check_error(
    what: &str,
    sent: &str,
    response: reqwest::blocking::Response,
    status: u16,
    param: Option<&str>,
    code: Option<&str>,
) -> Value {
    assert_eq!(response.status().as_u16(), status, "{what}");
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(content_type.as_deref(), Some("application/json"), "{what}");
    let body: Value = response
        .json()
        .unwrap_or_else(|e| panic!("{what}: not JSON: {e}"));
    let error = &body["error"];
    assert!(
        error["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{what}: {body}"
    );
    assert!(
        error["type"].as_str().is_some_and(|t| !t.is_empty()),
        "{what}: {body}"
    );
    assert_eq!(error["param"].as_str(), param, "{what}: {body}");
    assert_eq!(error["code"].as_str(), code, "{what}: {body}");
    assert_eq!(
        body.as_object().unwrap().len(),
        1,
        "{what}: only the error object: {body}"
    );
    let message = error["message"].as_str().unwrap();
    for internal in ["/work/", "openvino", ".rs:", "panicked"] {
        // Echoing the client's own words is fine; revealing the server's is not.
        if !sent.contains(internal) {
            assert!(
                !message.contains(internal),
                "{what}: leaks internals: {message}"
            );
        }
    }
    body
}

#[test]
fn every_hostile_request_gets_its_status_and_an_openai_error_body() {
    let server = Server::start(&[]);
    let client = client();
    let cases = cases();
    assert!(cases.len() >= 40, "{} cases", cases.len());
    for case in cases {
        let url = format!("{}{}", server.url, case.path);
        let mut request = client
            .request(case.method.parse().unwrap(), &url)
            .body(case.body.clone());
        if let Some(content_type) = case.content_type {
            request = request.header("content-type", content_type);
        }
        let response = request
            .send()
            .unwrap_or_else(|e| panic!("{}: {e}", case.what));
        check_error(
            case.what,
            &case.body,
            response,
            case.status,
            case.param,
            case.code,
        );
    }
    // The server is still healthy after all of it.
    let health = client.get(format!("{}/health", server.url)).send().unwrap();
    assert_eq!(health.status(), 200);
}

#[test]
fn a_saturated_function_answers_429_with_retry_after() {
    // One slot and no queue: of several simultaneous long requests, some must be turned away.
    let server = Server::start(&[("TTS_SLOTS", "1"), ("TTS_MAX_QUEUE", "0")]);
    let text = "This sentence keeps the only slot busy for a while. ".repeat(40);
    let body =
        json!({"model": "speecht5", "input": text, "voice": "speaker_a", "response_format": "wav"});
    let barrier = std::sync::Barrier::new(4);
    let statuses: Vec<(u16, Option<String>, Value)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                s.spawn(|| {
                    let client = client();
                    barrier.wait();
                    let response = client
                        .post(format!("{}/v1/audio/speech", server.url))
                        .json(&body)
                        .send()
                        .unwrap();
                    let status = response.status().as_u16();
                    let retry = response
                        .headers()
                        .get("retry-after")
                        .map(|v| v.to_str().unwrap().to_owned());
                    let body = if status == 200 {
                        Value::Null
                    } else {
                        response.json().unwrap()
                    };
                    (status, retry, body)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(statuses.iter().any(|(s, ..)| *s == 200), "{statuses:?}");
    let rejected: Vec<_> = statuses.iter().filter(|(s, ..)| *s == 429).collect();
    assert!(!rejected.is_empty(), "{statuses:?}");
    for (_, retry, body) in rejected {
        assert_eq!(retry.as_deref(), Some("1"));
        assert_eq!(body["error"]["type"], "rate_limit_error");
        assert_eq!(body["error"]["code"], "rate_limit_exceeded");
    }
    assert!(
        statuses.iter().all(|(s, ..)| *s == 200 || *s == 429),
        "{statuses:?}"
    );
}

#[test]
fn audio_too_large_for_a_buffered_response_gets_413_not_a_truncated_file() {
    let server = Server::start(&[("TTS_MAX_RESPONSE_BYTES", "150000")]);
    let client = client();
    let small = json!({"model": "speecht5", "input": "Hi.", "voice": "speaker_a", "response_format": "wav"});
    let response = client
        .post(format!("{}/v1/audio/speech", server.url))
        .json(&small)
        .send()
        .unwrap();
    assert_eq!(response.status(), 200, "a short answer still fits");
    // Slowed to a quarter of the speed, the audio is at least four times as long as at speed 1.
    let long = json!({"model": "speecht5", "input": "A long answer does not fit. ".repeat(20), "voice": "speaker_a", "response_format": "wav", "speed": 0.25});
    let response = client
        .post(format!("{}/v1/audio/speech", server.url))
        .json(&long)
        .send()
        .unwrap();
    let body = check_error(
        "long wav",
        "",
        response,
        413,
        Some("input"),
        Some("response_too_large"),
    );
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("stream") && message.contains("Shorten"),
        "{message}"
    );
}

#[test]
fn the_playground_page_is_open_with_a_strict_policy_and_can_be_switched_off() {
    // Open even when API keys are set: it asks for the key when the API answers 401.
    let server = Server::start(&[("TTS_API_KEY", "sk-test")]);
    let response = client().get(format!("{}/", server.url)).send().unwrap();
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    let policy = headers["content-security-policy"].to_str().unwrap();
    for part in [
        "default-src 'none'",
        "script-src 'sha256-",
        "style-src 'sha256-",
        "connect-src 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(policy.contains(part), "{part} not in {policy}");
    }
    assert!(!policy.contains("unsafe"), "{policy}");
    let html = response.text().unwrap();
    assert!(html.starts_with("<!doctype html>") && html.contains("<script>"));
    assert!(html.contains(r#"<meta name="tts-max-input" content="4096">"#));
    let api = client()
        .get(format!("{}/v1/models", server.url))
        .send()
        .unwrap();
    assert_eq!(api.status(), 401, "the API itself still wants the key");
    drop(server);

    let off = Server::start(&[("TTS_PLAYGROUND", "false")]);
    let response = client().get(format!("{}/", off.url)).send().unwrap();
    check_error(
        "playground off",
        "",
        response,
        404,
        None,
        Some("unknown_url"),
    );
}
