//! Unit tests of the soak's mix, verdicts and memory checks.
use super::memory::*;
use super::mix::*;
use super::verdict::*;
use super::FORMATS;
use crate::SENTENCES;

fn spec(format: &'static str, stream: Option<&'static str>) -> Spec {
    Spec {
        index: 0,
        format,
        stream,
        speed: None,
        class: InputClass::Sentence,
        input: SENTENCES[0].into(),
        hang_up: None,
    }
}

/// A whole (or, `streamed`, open-ended) mono 16-bit wav of `samples` samples.
fn wav(samples: usize, streamed: bool) -> Vec<u8> {
    let data = (samples * 2) as u32;
    let (riff, data_len) = if streamed {
        (u32::MAX, u32::MAX)
    } else {
        (36 + data, data)
    };
    let mut out = b"RIFF".to_vec();
    out.extend(riff.to_le_bytes());
    out.extend(b"WAVEfmt ");
    out.extend(16u32.to_le_bytes());
    out.extend(1u16.to_le_bytes());
    out.extend(1u16.to_le_bytes());
    out.extend(22_050u32.to_le_bytes());
    out.extend(44_100u32.to_le_bytes());
    out.extend(2u16.to_le_bytes());
    out.extend(16u16.to_le_bytes());
    out.extend(b"data");
    out.extend(data_len.to_le_bytes());
    out.resize(44 + samples * 2, 0);
    out
}

fn answered(status: u16, body: &[u8]) -> Observed {
    Observed {
        status: Some(status),
        body: body.to_vec(),
        complete: true,
        ..Observed::default()
    }
}

fn is_other(outcome: &Outcome) -> bool {
    matches!(outcome, Outcome::Other(_))
}

#[test]
fn a_whole_200_with_a_valid_body_is_ok_and_a_cut_or_malformed_one_is_not() {
    let whole = spec("wav", None);
    assert_eq!(
        classify(&whole, &answered(200, &wav(100, false))),
        Outcome::Ok
    );
    // Sizes of a whole file that do not match its length: the body was cut.
    let mut short = wav(100, false);
    short.truncate(150);
    assert!(is_other(&classify(&whole, &answered(200, &short))));
    // The open-ended header is right only for a stream.
    assert!(is_other(&classify(&whole, &answered(200, &wav(100, true)))));
    let streamed = spec("wav", Some("audio"));
    assert_eq!(
        classify(&streamed, &answered(200, &wav(100, true))),
        Outcome::Ok
    );
    // A body error on a 200 we did not hang up on is a truncated answer.
    let mut cut = answered(200, b"ID3\x04");
    cut.complete = false;
    cut.error = Some(("body", "connection reset".into()));
    assert!(is_other(&classify(&spec("mp3", None), &cut)));
    assert!(is_other(&classify(&spec("mp3", None), &answered(200, b""))));
    assert!(is_other(&classify(
        &spec("flac", None),
        &answered(200, b"OggS")
    )));
    assert_eq!(
        classify(&spec("flac", None), &answered(200, b"fLaC\0")),
        Outcome::Ok
    );
    assert!(is_other(&classify(
        &spec("pcm", None),
        &answered(200, b"\0\0\0")
    )));
}

#[test]
fn server_sent_events_must_decode_to_audio_and_end_with_done() {
    let sse = spec("pcm", Some("sse"));
    // "AAA=" decodes to 2 zero bytes: 4 bytes of pcm in all.
    let done = "data: {\"type\":\"speech.audio.delta\",\"audio\":\"AAA=\"}\n\n\
                data: {\"type\":\"speech.audio.delta\",\"audio\":\"AAA=\"}\n\n\
                data: {\"type\":\"speech.audio.done\",\"usage\":{}}\n\n";
    assert_eq!(base64_decode("AAA=").map(|b| b.len()), Some(2));
    assert_eq!(base64_decode("aGVsbG8="), Some(b"hello".to_vec()));
    assert_eq!(base64_decode("aGVsbG8"), None);
    assert_eq!(classify(&sse, &answered(200, done.as_bytes())), Outcome::Ok);
    let unfinished = done
        .rsplit_once("data: {\"type\":\"speech.audio.done\"")
        .unwrap()
        .0;
    assert!(is_other(&classify(
        &sse,
        &answered(200, unfinished.as_bytes())
    )));
    let failed = format!("{unfinished}data: {{\"type\":\"error\",\"error\":{{}}}}\n\n");
    assert!(is_other(&classify(&sse, &answered(200, failed.as_bytes()))));
}

#[test]
fn a_429_counts_only_with_retry_after_and_an_openai_error_body() {
    let body = br#"{"error":{"message":"busy","type":"rate_limit_error","param":null,"code":"rate_limit_exceeded"}}"#;
    let mut busy = answered(429, body);
    busy.retry_after = Some("1".into());
    let s = spec("mp3", None);
    assert_eq!(classify(&s, &busy), Outcome::Saturated);
    let mut bare = busy.clone();
    bare.retry_after = None;
    assert!(is_other(&classify(&s, &bare)));
    let mut flat = busy.clone();
    flat.body = br#"{"message":"busy"}"#.to_vec();
    assert!(is_other(&classify(&s, &flat)));
    let mut no_code = busy.clone();
    no_code.body = br#"{"error":{"message":"busy","type":"x","param":null}}"#.to_vec();
    assert!(is_other(&classify(&s, &no_code)));
}

#[test]
fn hang_ups_are_not_errors_but_other_statuses_and_transport_errors_are() {
    let s = spec("opus", Some("audio"));
    let mut ours = answered(200, b"OggS");
    ours.complete = false;
    ours.hung_up = Some(HangUpKind::AfterFirstBytes);
    assert_eq!(
        classify(&s, &ours),
        Outcome::HungUp(HangUpKind::AfterFirstBytes)
    );
    let early = Observed {
        hung_up: Some(HangUpKind::BeforeHeaders),
        ..Observed::default()
    };
    assert_eq!(
        classify(&s, &early),
        Outcome::HungUp(HangUpKind::BeforeHeaders)
    );
    let mut failed = answered(500, br#"{"error":{}}"#);
    failed.hung_up = Some(HangUpKind::AfterHeaders);
    assert!(is_other(&classify(&s, &failed)));
    let reset = Observed {
        error: Some(("connection", "connection reset by peer".into())),
        ..Observed::default()
    };
    assert!(is_other(&classify(&s, &reset)));
}

#[test]
fn the_slope_is_least_squares_in_mb_per_minute() {
    let rising: Vec<(f64, f64)> = (0..10)
        .map(|i| (i as f64 * 2.0, 100.0 + i as f64))
        .collect();
    assert!((slope_mb_per_min(&rising).unwrap() - 30.0).abs() < 1e-9);
    let noisy = [(0.0, 100.0), (1.0, 104.0), (2.0, 100.0), (3.0, 104.0)];
    assert!((slope_mb_per_min(&noisy).unwrap() - 48.0).abs() < 1e-9);
    assert_eq!(slope_mb_per_min(&[(1.0, 5.0)]), None);
    assert_eq!(slope_mb_per_min(&[(1.0, 5.0), (1.0, 6.0)]), None);
}

#[test]
fn the_rss_verdict_skips_the_warm_up_and_bounds_growth_and_slope() {
    assert_eq!(warmup_seconds(75.0), 15.0);
    assert_eq!(warmup_seconds(18.0), 3.6);
    // A climb during the warm-up, flat after it, then a sample after the load (ignored).
    let mut samples: Vec<(f64, f64)> = (0..=5)
        .map(|i| (i as f64 * 2.0, 100.0 + 40.0 * i as f64))
        .collect();
    samples.extend((6..=30).map(|i| (i as f64 * 2.0, 300.0 + (i % 2) as f64)));
    samples.push((70.0, 900.0));
    let v = rss_verdict(&samples, 60.0, 64.0, None);
    assert_eq!(v.warmup_s, 12.0);
    assert_eq!(v.start_mb, Some(300.0));
    assert_eq!(v.end_mb, Some(300.0));
    assert_eq!(v.peak_mb, Some(301.0));
    assert!(v.end_within_bound && v.slope_small, "{v:?}");
    // 64 MB over the 48 s window.
    assert_eq!(v.slope_limit_mb_per_min, Some(80.0));
    // A steady leak of 2 MB a second fails both.
    let leak: Vec<(f64, f64)> = (0..=30)
        .map(|i| (i as f64 * 2.0, 300.0 + 4.0 * i as f64))
        .collect();
    let v = rss_verdict(&leak, 60.0, 64.0, None);
    assert!(!v.end_within_bound && !v.slope_small, "{v:?}");
}

#[test]
fn the_mix_is_reproducible_and_covers_what_it_should() {
    let classes = [InputClass::Short, InputClass::Sentence, InputClass::Pair];
    let specs: Vec<Spec> = (0..2000)
        .map(|i| Spec::pick(7, i, &FORMATS, &classes, 0.15))
        .collect();
    assert_eq!(specs[123], Spec::pick(7, 123, &FORMATS, &classes, 0.15));
    assert_ne!(specs[123], Spec::pick(8, 123, &FORMATS, &classes, 0.15));
    let hang_ups = specs.iter().filter(|s| s.hang_up.is_some()).count();
    assert!((220..=380).contains(&hang_ups), "{hang_ups}");
    for s in &specs {
        if s.hang_up == Some(HangUpPlan::AfterFirstBytes) {
            assert!(s.stream.is_some());
        }
        if let Some(HangUpPlan::Timer { after_ms }) = s.hang_up {
            assert!((50..=300).contains(&after_ms));
        }
        assert!(s.speed.is_none_or(|v| (0.5..=2.0).contains(&v)));
    }
    for f in FORMATS {
        assert!(specs.iter().any(|s| s.format == f));
    }
    assert!(specs.iter().any(|s| s.stream.is_none()));
    assert!(specs.iter().any(|s| s.stream == Some("sse")));
    let no_aac: Vec<_> = FORMATS.iter().copied().filter(|f| *f != "aac").collect();
    assert!((0..500).all(|i| Spec::pick(1, i, &no_aac, &classes, 0.15).format != "aac"));
    for k in 0..SENTENCES.len() {
        let short = InputClass::Short.text(k).len();
        assert!((25..=45).contains(&short), "{}", InputClass::Short.text(k));
        assert!((180..=220).contains(&InputClass::Pair.text(k).len()));
    }
}
