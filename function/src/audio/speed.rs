//! Pitch-preserving time-stretch for the request's `speed`, with `wsola` (MIT, pure Rust WSOLA).
//!
//! Speed 2.0 halves the duration at the same pitch; 1.0 returns the samples untouched.

use std::num::{NonZeroU16, NonZeroU32};

use super::resample::finite_or_clipped;

/// Slowest speed accepted (OpenAI's lower bound); lower values are clamped to it.
pub const MIN_SPEED: f32 = 0.25;
/// Fastest speed accepted (OpenAI's upper bound); higher values are clamped to it.
pub const MAX_SPEED: f32 = 4.0;

/// Time-stretches mono samples by `speed` (clamped to [0.25, 4.0]; NaN counts as 1.0) keeping the pitch:
/// the result is `round(n / speed)` samples long, and at speed 1.0 it is the input itself.
/// Non-finite samples are read as 0 (NaN) or ±1 (infinities).
pub fn change_speed(samples: &[f32], sample_rate: u32, speed: f32) -> Vec<f32> {
    let speed = if speed.is_nan() {
        1.0
    } else {
        speed.clamp(MIN_SPEED, MAX_SPEED)
    };
    if speed == 1.0 || samples.is_empty() {
        return samples.to_vec();
    }
    let want = (samples.len() as f64 / f64::from(speed)).round() as usize;
    let (Some(rate), Some(mono)) = (NonZeroU32::new(sample_rate), NonZeroU16::new(1)) else {
        return samples.to_vec();
    };
    let finite: Vec<f32> = samples.iter().map(|&s| finite_or_clipped(s)).collect();
    // Mono input is always a whole number of frames, so `stretch` has nothing to reject.
    let mut out = wsola::stretch(&finite, rate, mono, speed).unwrap_or_default();
    out.resize(want, 0.0);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::test_signal::{
        autocorrelation_pitch, rms, sine, speech_like, zero_crossings,
    };

    fn duration_ratio(out: &[f32], input: &[f32]) -> f32 {
        out.len() as f32 / input.len() as f32
    }

    #[test]
    fn speed_one_is_the_identity() {
        let x = speech_like(16_000, 1.0);
        assert_eq!(change_speed(&x, 16_000, 1.0), x);
        assert!(change_speed(&[], 16_000, 2.0).is_empty());
        assert_eq!(change_speed(&x, 16_000, f32::NAN), x);
        let wild = [0.0, f32::NAN, f32::INFINITY, -3.0, 0.5].repeat(2000);
        let out = change_speed(&wild, 16_000, 1.5);
        assert_eq!(out.len(), (10_000.0f32 / 1.5).round() as usize);
        assert!(out.iter().all(|s| s.is_finite()));
    }

    #[test]
    fn a_sine_changes_duration_but_not_frequency() {
        let rate = 16_000;
        let input = sine(rate, 2.0, &[(440.0, 0.5)]);
        for speed in [0.5f32, 2.0, 0.25, 4.0, 1.25] {
            let out = change_speed(&input, rate, speed);
            let ratio = duration_ratio(&out, &input);
            assert!(
                (ratio * speed - 1.0).abs() < 0.03,
                "speed {speed}: ratio {ratio}"
            );
            // Measure away from the edges, where the stretcher fades in and out.
            let edge = out.len() / 10;
            let body = &out[edge..out.len() - edge];
            let hz = zero_crossings(body) as f32 / 2.0 / (body.len() as f32 / rate as f32);
            assert!((hz / 440.0 - 1.0).abs() < 0.03, "speed {speed}: {hz} Hz");
            assert!(
                (rms(body) / rms(&input) - 1.0).abs() < 0.2,
                "speed {speed}: level"
            );
        }
    }

    #[test]
    fn speech_like_audio_keeps_its_pitch_and_its_syllables() {
        let rate = 16_000;
        // Three voiced segments at 120, 150 and 190 Hz with pauses between them.
        let input = speech_like(rate, 1.5);
        for speed in [0.5f32, 2.0] {
            let out = change_speed(&input, rate, speed);
            let ratio = duration_ratio(&out, &input);
            assert!(
                (ratio * speed - 1.0).abs() < 0.03,
                "speed {speed}: ratio {ratio}"
            );
            for (segment, f0) in [(0usize, 120.0f32), (1, 150.0), (2, 190.0)] {
                // Segment centres sit at 1/6, 3/6, 5/6 of the clip, stretched or not.
                let centre = out.len() * (2 * segment + 1) / 6;
                let half = (rate as usize) / 20; // 50 ms either side
                let window = &out[centre - half..centre + half];
                let pitch = autocorrelation_pitch(window, rate, 80.0, 400.0);
                assert!(
                    (pitch / f0 - 1.0).abs() < 0.03,
                    "speed {speed}, segment {segment}: {pitch} Hz vs {f0}"
                );
            }
        }
    }
}
