//! The speech request parser on arbitrary bytes (both dialects): a request or a 4xx error, never
//! a panic; an accepted request respects the input limit and a known format.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tts::api::{parse_speech_body, Dialect};

const MAX_INPUT: usize = 4096;
const MAX_INSTRUCTIONS: usize = 4096;

fuzz_target!(|data: &[u8]| {
    let Some((&first, body)) = data.split_first() else {
        return;
    };
    let dialect = if first & 1 == 0 {
        Dialect::OpenAi
    } else {
        Dialect::ModelServer
    };
    match parse_speech_body(body, dialect, MAX_INPUT, MAX_INSTRUCTIONS) {
        Ok(request) => {
            assert!(request.input.chars().count() <= MAX_INPUT);
            assert!(!request.input.trim().is_empty());
            assert!((0.25..=4.0).contains(&request.speed), "{}", request.speed);
        }
        Err(error) => {
            let status = error.status().as_u16();
            assert!((400..500).contains(&status), "{status}: {error}");
            assert!(!error.to_string().is_empty());
        }
    }
});
