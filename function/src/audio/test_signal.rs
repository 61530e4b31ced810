//! Test-only signals, measurements and independent decoders (symphonia, the ffmpeg CLI).

use std::f32::consts::TAU;
use std::process::{Command, Stdio};

/// `secs` of a sum of sines `(frequency, amplitude)` at `rate`.
pub(crate) fn sine(rate: u32, secs: f32, partials: &[(f32, f32)]) -> Vec<f32> {
    let n = (rate as f32 * secs).round() as usize;
    (0..n)
        .map(|i| {
            let t = i as f32 / rate as f32;
            partials.iter().map(|&(f, a)| a * (TAU * f * t).sin()).sum()
        })
        .collect()
}

/// A crude vowel sequence: `secs` split in three voiced segments at 120, 150 and 190 Hz (harmonics
/// shaped by two formants, syllable-like envelope), separated and framed by short silences.
pub(crate) fn speech_like(rate: u32, secs: f32) -> Vec<f32> {
    let n = (rate as f32 * secs).round() as usize;
    let seg = n / 3;
    let gap = (rate as usize) * 6 / 100;
    let mut out = vec![0.0f32; n];
    for (k, f0) in [120.0f32, 150.0, 190.0].into_iter().enumerate() {
        let (start, end) = (k * seg + gap, (k + 1) * seg - gap);
        let len = (end - start) as f32;
        let harmonics = ((rate as f32 / 2.0 - 200.0) / f0) as usize;
        for (j, sample) in out[start..end].iter_mut().enumerate() {
            let t = j as f32 / rate as f32;
            let envelope = (std::f32::consts::PI * j as f32 / len).sin().powf(0.5);
            let mut v = 0.0;
            for h in 1..=harmonics {
                let f = f0 * h as f32;
                let formant = 1.0 / (1.0 + ((f - 700.0) / 150.0).powi(2))
                    + 0.5 / (1.0 + ((f - 1200.0) / 200.0).powi(2))
                    + 0.05 / h as f32;
                v += formant * (TAU * f * t).sin();
            }
            *sample = 0.3 * envelope * v;
        }
    }
    out
}

/// The standard round-trip clip: 1.5 s of 220 Hz + 660 Hz at 16 kHz, peak 0.6.
pub(crate) fn test_clip() -> (u32, Vec<f32>) {
    (16_000, sine(16_000, 1.5, &[(220.0, 0.4), (660.0, 0.2)]))
}

/// Power of `x` at `freq` Hz (Goertzel), normalized so a unit sine scores about 0.25.
pub(crate) fn tone_power(x: &[f32], rate: u32, freq: f32) -> f32 {
    let w = TAU * freq / rate as f32;
    let coeff = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0f32, 0.0f32);
    for &v in x {
        let s0 = v + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    let power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
    power / (x.len() as f32 * x.len() as f32)
}

/// Checks a lossy decode of [`test_clip`]: rate, duration within `slack_secs`, level within 30 %,
/// and both tones present well above an absent one.
pub(crate) fn assert_decodes_like_test_clip(
    what: &str,
    rate: u32,
    decoded: &[f32],
    want_rate: u32,
    slack_secs: f32,
) {
    let (_, clip) = test_clip();
    assert_eq!(rate, want_rate, "{what}: rate");
    let secs = decoded.len() as f32 / rate as f32;
    assert!(
        (secs - 1.5).abs() <= slack_secs,
        "{what}: {secs} s decoded, want 1.5 s ± {slack_secs}"
    );
    let body = &decoded[decoded.len() / 6..decoded.len() * 5 / 6];
    let level = rms(body) / rms(&clip);
    assert!((0.7..1.3).contains(&level), "{what}: level ratio {level}");
    let (p220, p660, p440) = (
        tone_power(body, rate, 220.0),
        tone_power(body, rate, 660.0),
        tone_power(body, rate, 440.0),
    );
    assert!(
        p220 > 100.0 * p440 && p660 > 20.0 * p440,
        "{what}: tones {p220} {p660} vs {p440}"
    );
}

/// Sign changes in `x`.
pub(crate) fn zero_crossings(x: &[f32]) -> usize {
    x.windows(2)
        .filter(|w| (w[0] < 0.0) != (w[1] < 0.0))
        .count()
}

/// Root mean square of `x` (0 for an empty slice).
pub(crate) fn rms(x: &[f32]) -> f32 {
    if x.is_empty() {
        return 0.0;
    }
    (x.iter().map(|v| v * v).sum::<f32>() / x.len() as f32).sqrt()
}

/// The fundamental of `x` between `lo` and `hi` Hz: the best normalized-autocorrelation lag.
pub(crate) fn autocorrelation_pitch(x: &[f32], rate: u32, lo: f32, hi: f32) -> f32 {
    let (min_lag, max_lag) = ((rate as f32 / hi) as usize, (rate as f32 / lo) as usize);
    let score = |lag: usize| {
        let (a, b) = (&x[..x.len() - lag], &x[lag..]);
        let dot: f32 = a.iter().zip(b).map(|(p, q)| p * q).sum();
        let norm =
            (a.iter().map(|p| p * p).sum::<f32>() * b.iter().map(|q| q * q).sum::<f32>()).sqrt();
        if norm > 0.0 {
            dot / norm
        } else {
            0.0
        }
    };
    let best = (min_lag..=max_lag)
        .max_by(|&a, &b| score(a).total_cmp(&score(b)))
        .unwrap_or(min_lag);
    // Parabolic interpolation around the peak for sub-sample precision.
    let (l, c, r) = (score(best - 1), score(best), score(best + 1));
    let shift = 0.5 * (l - r) / (l - 2.0 * c + r);
    let lag = best as f32 + if shift.is_finite() { shift } else { 0.0 };
    rate as f32 / lag
}

/// Decodes a whole file with symphonia: (sample rate, mono samples).
pub(crate) fn decode_with_symphonia(bytes: Vec<u8>, extension: &str) -> (u32, Vec<f32>) {
    use symphonia::core::codecs::audio::AudioDecoderOptions;
    use symphonia::core::formats::probe::Hint;
    use symphonia::core::formats::{FormatOptions, TrackType};
    use symphonia::core::io::MediaSourceStream;
    use symphonia::core::meta::MetadataOptions;

    let mss = MediaSourceStream::new(Box::new(std::io::Cursor::new(bytes)), Default::default());
    let mut hint = Hint::new();
    hint.with_extension(extension);
    let mut format = symphonia::default::get_probe()
        .probe(
            &hint,
            mss,
            FormatOptions::default(),
            MetadataOptions::default(),
        )
        .expect("symphonia recognises the container");
    let track = format
        .default_track(TrackType::Audio)
        .expect("an audio track");
    let track_id = track.id;
    let params = track
        .codec_params
        .as_ref()
        .and_then(|p| p.audio())
        .expect("audio codec params")
        .clone();
    let mut decoder = symphonia::default::get_codecs()
        .make_audio_decoder(&params, &AudioDecoderOptions::default())
        .expect("symphonia has the codec");
    let mut rate = params.sample_rate.unwrap_or(0);
    let mut samples = Vec::new();
    while let Some(packet) = format.next_packet().expect("readable packets") {
        if packet.track_id != track_id {
            continue;
        }
        let buf = decoder.decode(&packet).expect("decodable packet");
        rate = buf.spec().rate();
        let mut chunk = vec![0.0f32; buf.samples_interleaved()];
        buf.copy_to_slice_interleaved(&mut chunk);
        samples.extend(chunk);
    }
    (rate, samples)
}

/// Decodes a whole file with the ffmpeg CLI to mono f32 at its native rate: (rate, samples),
/// or `None` (with a printed note) when ffmpeg is not installed.
pub(crate) fn decode_with_ffmpeg(bytes: &[u8], extension: &str) -> Option<(u32, Vec<f32>)> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    if Command::new("ffmpeg")
        .arg("-version")
        .stdout(Stdio::null())
        .status()
        .is_err()
    {
        eprintln!("SKIPPED: ffmpeg is not installed, cannot decode {extension} independently");
        return None;
    }
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let path = std::env::temp_dir().join(format!(
        "tts-audio-test-{}-{n}.{extension}",
        std::process::id()
    ));
    std::fs::write(&path, bytes).expect("write temp file");
    let probe = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "stream=sample_rate",
            "-of",
            "csv=p=0",
        ])
        .arg(&path)
        .output()
        .expect("ffprobe runs");
    let rate = String::from_utf8_lossy(&probe.stdout)
        .trim()
        .parse()
        .expect("ffprobe prints the rate");
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(&path)
        .args(["-f", "f32le", "-ac", "1", "pipe:1"])
        .output()
        .expect("ffmpeg runs");
    let _ = std::fs::remove_file(&path);
    assert!(
        out.status.success(),
        "ffmpeg failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let samples = out
        .stdout
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    Some((rate, samples))
}
