//! Guards the Lambda path: a function-URL event (payload 2.0, base64 body, as AWS sends it) goes
//! through `lambda_http`'s request conversion into the same router the local server runs, and
//! comes back as a WAV; a bad body in an event gets the same OpenAI-shaped 400.

use std::io::Cursor;

use aws_lambda_events::event::lambda_function_urls::LambdaFunctionUrlRequest;
use axum::body::to_bytes;
use clap::Parser;
use e2e_tests::{openvino_lib, repo, tiny_config};
use serde_json::Value;
use tower::ServiceExt;
use tts::api::{router, AppState};
use tts::config::Config;
use tts::pipeline::Pipeline;

fn app() -> axum::Router {
    let config = Config::parse_from([
        "bootstrap",
        "--openvino-lib",
        openvino_lib().to_str().unwrap(),
        "--config",
        tiny_config().to_str().unwrap(),
    ]);
    let settings = config.settings(true).expect("settings");
    let pipeline = Pipeline::build(config.runtime_options(), &settings).expect("pipeline");
    router(AppState::new(
        pipeline.models().clone(),
        settings.limits,
        pipeline.runtime_info(),
    ))
}

fn fixture() -> String {
    std::fs::read_to_string(repo().join("tests/fixtures/events/function_url_speech.json")).unwrap()
}

async fn invoke(event: &str) -> (u16, String, Vec<u8>) {
    let request = lambda_http::request::from_str(event).expect("lambda_http reads the event");
    let response = app().oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    let body = to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap()
        .to_vec();
    (status, content_type, body)
}

#[tokio::test]
async fn the_fixture_is_a_well_formed_function_url_event() {
    let event: LambdaFunctionUrlRequest = serde_json::from_str(&fixture()).unwrap();
    assert_eq!(event.version.as_deref(), Some("2.0"));
    assert_eq!(event.request_context.http.method.as_deref(), Some("POST"));
    assert!(event.is_base64_encoded);
}

#[tokio::test]
async fn a_function_url_event_is_answered_with_a_wav() {
    let (status, content_type, body) = invoke(&fixture()).await;
    assert_eq!((status, content_type.as_str()), (200, "audio/wav"));
    let mut reader = hound::WavReader::new(Cursor::new(body)).unwrap();
    assert_eq!(reader.spec().sample_rate, 16_000);
    let samples: Vec<i16> = reader.samples::<i16>().map(Result::unwrap).collect();
    assert!(!samples.is_empty() && samples.iter().any(|s| s.unsigned_abs() > 300));
}

#[tokio::test]
async fn a_bad_body_in_an_event_gets_an_openai_error() {
    let mut event: Value = serde_json::from_str(&fixture()).unwrap();
    event["body"] = Value::String(r#"{"model": "tts-1", "voice": "speaker_a"}"#.into());
    event["isBase64Encoded"] = Value::Bool(false);
    let (status, content_type, body) = invoke(&event.to_string()).await;
    assert_eq!((status, content_type.as_str()), (400, "application/json"));
    let error: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(error["error"]["param"], "input");
    assert_eq!(error["error"]["type"], "invalid_request_error");
}
