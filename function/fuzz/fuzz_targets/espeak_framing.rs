//! The eSpeak NG helper's line protocol, client side: any reply line parses to sentences or an
//! error, never a panic; any text and voice make exactly one request line that decodes back to
//! the same text and voice (a newline in the text cannot split a request in two).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tts::text::espeak::{parse_reply, request_line};

fuzz_target!(|input: (&str, &str)| {
    let (a, b) = input;
    let _ = parse_reply(a);
    let line = request_line(a, b);
    assert!(!line.contains('\n') && !line.contains('\r'), "{line:?}");
    let back: serde_json::Value = serde_json::from_str(&line).expect("a request line is JSON");
    assert_eq!(back["text"].as_str(), Some(a));
    assert_eq!(back["voice"].as_str(), Some(b));
});
