//! Word timestamps of the default Piper voice (`function/scripts/setup-piper.sh`), through the
//! synthesis layer the HTTP routes use: the pieces prepared with words are the pieces prepared
//! without; every word of the input comes out once, in order, as the input writes it ("$3.50",
//! "Dr.", "5 p.m."), with rising, non-overlapping times ending within the audio, at every speed
//! and with the pause between sentences; a stream sends each word after the audio where it
//! starts, and the same words as the whole answer. (The times against an independent aligner:
//! tests/sdk/test_timestamps.py.)

use std::sync::{Arc, OnceLock};

use e2e_tests::{binary, openvino_lib, repo};
use tts::audio::AudioFormat;
use tts::captions::WordTime;
use tts::engine::piper::Piper;
use tts::engine::{Precision, Runtime, RuntimeOptions, SpeechEngine, Stop};
use tts::synthesis::{
    prepare_stream, run_stream, synthesize, SpeechJob, StreamEvent, SynthesisError,
};
use tts::text::espeak::{Espeak, EspeakConfig};

fn engine() -> &'static Piper {
    static ENGINE: OnceLock<Piper> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let root = repo().join(".espeak");
        let espeak = Espeak::start(&EspeakConfig {
            helper: binary("espeak-phonemes", "espeak-phonemes"),
            library: root.join("lib/libespeak-ng.so.1"),
            data: root.join("espeak-ng-data"),
        })
        .expect("eSpeak NG (run function/scripts/setup-espeak.sh)");
        let runtime = Runtime::new(RuntimeOptions {
            library: openvino_lib(),
            precision: Precision::F32,
            threads: None,
            cache_dir: None,
            cache_seed: None,
            cpu_runtime_cache: None,
        })
        .expect("OpenVINO");
        Piper::load(
            &Arc::new(runtime),
            &repo().join(".models/piper-joe"),
            2,
            Arc::new(espeak),
        )
        .expect("the Piper voice (run function/scripts/setup-piper.sh)")
    })
}

fn job(text: &str, speed: f32, format: AudioFormat) -> SpeechJob<'_> {
    SpeechJob {
        text,
        voice: "joe",
        speed,
        format,
        pause: std::time::Duration::from_millis(200),
        max_spoken_chars: None,
        timestamps: true,
    }
}

const HARD: &str = "Dr. Smith paid $3.50 at 5 p.m., didn't he? Yes (of course) \u{2014} twice. \
    The U.S. team won 3-2 on Jan. 5th; 50% of us cheered!";
const HARD_WORDS: &[&str] = &[
    "Dr.", "Smith", "paid", "$3.50", "at", "5 p.m.", "didn't", "he", "Yes", "of", "course",
    "twice", "The", "U.S.", "team", "won", "3-2", "on", "Jan.", "5th", "50%", "of", "us",
    "cheered",
];

fn check(words: &[WordTime], text: &str, seconds: f64) {
    let mut at = 0;
    for w in words {
        assert_eq!(&text[w.source.clone()], w.word, "{w:?}");
        assert!(w.source.start >= at, "{w:?} is not after byte {at}");
        at = w.source.end;
        assert!(0.0 <= w.start && w.start < w.end, "{w:?}");
    }
    for pair in words.windows(2) {
        assert!(pair[0].end <= pair[1].start, "{pair:?}");
    }
    let last = words.last().expect("words");
    assert!(
        last.end <= seconds + 1e-3,
        "{last:?} ends after the audio ({seconds} s)"
    );
}

#[test]
fn pieces_prepared_with_words_are_the_pieces_prepared_without() {
    let long = "one two three, ".repeat(40) + "and the end.";
    for text in [
        HARD,
        long.as_str(),
        "Hello.",
        " ... ?! ",
        "Wait\u{2026} what?",
    ] {
        let plain = engine().prepare(text).unwrap();
        let worded = engine()
            .prepare_words(text)
            .unwrap()
            .expect("Piper has words");
        let texts: Vec<&str> = worded.pieces.iter().map(|p| p.text.as_str()).collect();
        assert_eq!(texts, plain, "{text:?}");
        for piece in &worded.pieces {
            let chars = piece.text.chars().count();
            for pair in piece.words.windows(2) {
                assert!(
                    pair[0].word < pair[1].word && pair[0].phonemes.end <= pair[1].phonemes.start
                );
            }
            assert!(piece
                .words
                .iter()
                .all(|w| w.phonemes.end <= chars && w.word < worded.words.len()));
        }
    }
}

#[test]
fn every_word_is_timed_once_in_order_as_the_input_writes_it() {
    for speed in [1.0, 0.5, 2.0] {
        let out = synthesize(engine(), &job(HARD, speed, AudioFormat::Wav), &Stop::new()).unwrap();
        let words = out.words.expect("words were asked for");
        let shown: Vec<&str> = words.iter().map(|w| w.word.as_str()).collect();
        assert_eq!(shown, HARD_WORDS, "speed {speed}");
        check(&words, HARD, out.audio_seconds);
        // The money is five spoken words, longer than "at" after it; the pause between the
        // sentences is nobody's.
        assert!(words[3].end - words[3].start > 3.0 * (words[4].end - words[4].start));
        assert!(words[8].start - words[7].end >= 0.2 / f64::from(speed) - 1e-3);
    }
}

#[test]
fn a_stream_sends_each_word_after_the_audio_where_it_starts() {
    let text = "Streaming sends the audio first. Then the words it holds, like $12.99, follow it.";
    let whole = synthesize(engine(), &job(text, 1.0, AudioFormat::Pcm), &Stop::new()).unwrap();
    let prepared = prepare_stream(engine(), &job(text, 1.0, AudioFormat::Pcm)).unwrap();
    let mut bytes = 0usize;
    let mut words: Vec<WordTime> = Vec::new();
    let mut events = 0;
    run_stream(
        engine(),
        &job(text, 1.0, AudioFormat::Pcm),
        prepared,
        &Stop::new(),
        &mut |event| {
            events += 1;
            match event {
                StreamEvent::Audio(audio) => bytes += audio.len(),
                StreamEvent::Words(more) => {
                    // pcm is 24 kHz s16le.
                    let sent = bytes as f64 / 2.0 / 24_000.0;
                    assert!(
                        more.iter().all(|w| w.start <= sent + 0.01),
                        "{more:?} before {sent} s"
                    );
                    words.extend(more);
                }
            }
            true
        },
    )
    .unwrap();
    assert!(events > 4, "{events} events");
    let seconds = bytes as f64 / 2.0 / 24_000.0;
    check(&words, text, seconds);
    let streamed: Vec<&str> = words.iter().map(|w| w.word.as_str()).collect();
    let whole_words: Vec<&str> = whole
        .words
        .as_ref()
        .unwrap()
        .iter()
        .map(|w| w.word.as_str())
        .collect();
    assert_eq!(streamed, whole_words);
}

#[test]
fn timestamps_need_no_more_than_asking_and_nothing_to_say_is_still_refused() {
    let mut plain = job("Hello there.", 1.0, AudioFormat::Wav);
    plain.timestamps = false;
    assert!(synthesize(engine(), &plain, &Stop::new())
        .unwrap()
        .words
        .is_none());
    let nothing = synthesize(
        engine(),
        &job(" \u{2014} ", 1.0, AudioFormat::Wav),
        &Stop::new(),
    );
    assert!(
        matches!(nothing, Err(SynthesisError::NothingToSay)),
        "{nothing:?}"
    );
}
