//! The text normalizer on arbitrary text: no panic, output bounded by the input (numbers spell
//! out to many characters, but never unboundedly), no control characters left; its offset map
//! gives the same text, covers it in order and points into the input at character boundaries;
//! the input's words (for word timestamps) do not overlap; and aligning the input, read as
//! phonemes, with its own words gives every character at most one word, in order.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tts::text::normalize::{normalize, normalize_mapped};
use tts::text::words::{align, WordMap};

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
    let mapped = normalize_mapped(text);
    assert_eq!(mapped.text, out);
    let mut end = 0;
    for span in &mapped.spans {
        assert_eq!(span.output.start, end);
        end = span.output.end;
        assert!(text.is_char_boundary(span.source.start) && text.is_char_boundary(span.source.end));
    }
    assert_eq!(end, out.len());
    let map = WordMap::new(text, &mapped);
    for pair in map.words.windows(2) {
        assert!(pair[0].source.end <= pair[1].source.start);
    }
    // The alignment is linear but not cheap: short inputs keep the executions fast.
    if text.len() <= 160 {
        let spoken: Vec<&str> = map.spoken.iter().map(|s| s.text.as_str()).collect();
        let assigned = align::assign(&out, &spoken);
        assert_eq!(assigned.len(), out.chars().count());
        let order: Vec<usize> = assigned.iter().flatten().copied().collect();
        assert!(order.windows(2).all(|w| w[0] <= w[1]) && order.iter().all(|&w| w < spoken.len()));
    }
});
