//! The sentence splitter on arbitrary text and limits: every piece is non-empty, trimmed and
//! within the limit, and joining the pieces keeps every non-whitespace character in order.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tts::text::sentences::split_sentences;

fuzz_target!(|input: (u8, &str)| {
    let (limit, text) = input;
    let max = usize::from(limit).max(1);
    let pieces = split_sentences(text, usize::from(limit));
    for piece in &pieces {
        assert!(!piece.is_empty());
        assert_eq!(piece.trim(), piece.as_str());
        assert!(piece.chars().count() <= max, "{piece:?} over {max}");
    }
    let kept: String = pieces.concat().chars().filter(|c| !c.is_whitespace()).collect();
    let given: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    assert_eq!(kept, given);
});
