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
/// Non-finite samples are read as 0 (NaN) or ±1 (infinities). The same samples as pushing `samples`
/// through a [`SpeedStream`] in any pieces.
pub fn change_speed(samples: &[f32], sample_rate: u32, speed: f32) -> Vec<f32> {
    let Some(mut stream) = SpeedStream::new(sample_rate, speed) else {
        return samples.to_vec();
    };
    let mut out = Vec::with_capacity(stream.planned(samples.len()));
    stream.push(samples, &mut out);
    stream.finish(&mut out);
    out
}

/// `speed` clamped to the accepted range, NaN read as 1.0.
fn clamp_speed(speed: f32) -> f32 {
    if speed.is_nan() {
        1.0
    } else {
        speed.clamp(MIN_SPEED, MAX_SPEED)
    }
}

/// The time-stretch fed piece by piece, for streamed answers: each [`push`](Self::push) hands on
/// the stretched audio WSOLA can already make (it keeps about one analysis window back), and
/// [`finish`](Self::finish) drains the rest so the total is `round(n / speed)` for `n` samples
/// pushed, as [`change_speed`] gives for the whole clip.
pub struct SpeedStream {
    stretch: wsola::TimeStretch,
    speed: f32,
    /// Output buffer for one `pull`, a multiple of the stretcher's hop.
    scratch: Vec<f32>,
    /// Stretched samples beyond `round(pushed / speed)`: held until more input allows them
    /// (WSOLA can run ahead of the nominal length at high speeds; the whole clip is trimmed).
    ahead: Vec<f32>,
    pushed: usize,
    delivered: usize,
}

impl SpeedStream {
    /// A stretcher for `speed` at `sample_rate`; `None` at speed 1 (nothing to do) or when
    /// wsola refuses the rate.
    pub fn new(sample_rate: u32, speed: f32) -> Option<SpeedStream> {
        let speed = clamp_speed(speed);
        if speed == 1.0 {
            return None;
        }
        let rate = NonZeroU32::new(sample_rate)?;
        let mut stretch = wsola::TimeStretch::new(rate, NonZeroU16::MIN).ok()?;
        stretch.set_tempo(speed);
        let scratch = vec![0.0; stretch.min_output_buff_size() * 4];
        Some(SpeedStream {
            stretch,
            speed,
            scratch,
            ahead: Vec::new(),
            pushed: 0,
            delivered: 0,
        })
    }

    /// Samples the whole clip will have once `n` samples have been pushed.
    fn planned(&self, n: usize) -> usize {
        (n as f64 / f64::from(self.speed)).round() as usize
    }

    /// Stretches `samples` (non-finite ones read as 0 or ±1), appending what is ready to `out`.
    pub fn push(&mut self, samples: &[f32], out: &mut Vec<f32>) {
        if samples.iter().all(|s| s.is_finite()) {
            self.stretch.push(samples);
        } else {
            let finite: Vec<f32> = samples.iter().map(|&s| finite_or_clipped(s)).collect();
            self.stretch.push(&finite);
        }
        self.pushed += samples.len();
        self.pull(out);
    }

    /// Drains the stretcher and pads or trims the whole output to `round(n / speed)` samples,
    /// appending the rest to `out`; returns that total (every push's output and this one's).
    pub fn finish(mut self, out: &mut Vec<f32>) -> usize {
        self.stretch.set_draining();
        self.pull(out);
        let want = self.planned(self.pushed);
        if self.delivered < want {
            out.resize(out.len() + (want - self.delivered), 0.0);
        }
        want
    }

    /// Appends what the stretcher can give, never beyond `round(pushed / speed)` in all.
    fn pull(&mut self, out: &mut Vec<f32>) {
        while let Ok(written) = self.stretch.pull(&mut self.scratch) {
            if written == 0 {
                break;
            }
            self.ahead.extend_from_slice(&self.scratch[..written]);
            if !self.stretch.is_draining() && written < self.scratch.len() {
                break;
            }
        }
        let allowed = self.planned(self.pushed).saturating_sub(self.delivered);
        let take = allowed.min(self.ahead.len());
        out.extend_from_slice(&self.ahead[..take]);
        self.ahead.drain(..take);
        self.delivered += take;
    }
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

    #[test]
    fn streamed_pieces_give_the_whole_clip_stretch() {
        let rate = 16_000;
        let input = speech_like(rate, 1.5);
        for speed in [0.5f32, 1.25, 2.0, 4.0] {
            let whole = change_speed(&input, rate, speed);
            let mut stream = SpeedStream::new(rate, speed).unwrap();
            let mut out = Vec::new();
            let mut before_finish = 0;
            for piece in input.chunks(1536) {
                stream.push(piece, &mut out);
                before_finish = out.len();
            }
            let total = stream.finish(&mut out);
            assert_eq!(total, out.len(), "speed {speed}");
            assert_eq!(out.len(), whole.len(), "speed {speed}");
            let differ = out.iter().zip(&whole).filter(|(a, b)| a != b).count();
            assert_eq!(differ, 0, "speed {speed}: {differ} samples differ");
            // Most of the audio left before the end of the input.
            assert!(
                before_finish as f32 > 0.8 * whole.len() as f32,
                "speed {speed}: {before_finish} of {} before finish",
                whole.len()
            );
        }
        assert!(SpeedStream::new(rate, 1.0).is_none());
        assert!(SpeedStream::new(rate, f32::NAN).is_none());
    }
}
