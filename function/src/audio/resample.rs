//! Sample-rate conversion with `rubato` (MIT/Apache-2.0): its synchronous FFT resampler, for whole
//! clips ([`resample`]) and piece by piece ([`StreamResampler`], which `resample` runs on).
//!
//! The resampler's startup delay is trimmed, and the output is exactly `round(n · to / from)` long.

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Indexing, Resampler};

/// Input chunk the FFT resampler works in (one of its ~256-frame sub-chunks). A stream's audio
/// waits for a whole chunk, so this is also the latency it adds: 16 ms at 16 kHz (1024 held back
/// 40 ms of a 96 ms first chunk).
const CHUNK: usize = 256;

/// The length of `n` samples at `from` Hz once converted to `to` Hz: `round(n · to / from)`.
pub(crate) fn resampled_len(n: usize, from: u32, to: u32) -> usize {
    if from == 0 {
        return 0;
    }
    let (num, den) = (n as u128 * u128::from(to), u128::from(from));
    ((num + den / 2) / den) as usize
}

/// Converts mono samples from `from` Hz to `to` Hz, returning exactly `round(n · to / from)` samples
/// (the input itself when the rates are equal, nothing when either rate is 0). Non-finite input
/// samples are read as 0 (NaN) or ±1 (infinities).
pub fn resample(samples: &[f32], from: u32, to: u32) -> Vec<f32> {
    if from == 0 || to == 0 {
        return Vec::new();
    }
    if from == to || samples.is_empty() {
        return samples.to_vec();
    }
    let want = resampled_len(samples.len(), from, to);
    // One NaN or infinity would poison every FFT block it touches (and makes realfft fail).
    let finite;
    let samples = if samples.iter().all(|s| s.is_finite()) {
        samples
    } else {
        finite = samples
            .iter()
            .map(|&s| finite_or_clipped(s))
            .collect::<Vec<_>>();
        &finite[..]
    };
    let mut out = fft_resample(samples, from, to).unwrap_or_else(|| linear(samples, from, to));
    out.resize(want, 0.0);
    out
}

/// NaN to 0, infinities to ±1, finite values unchanged.
pub(crate) fn finite_or_clipped(s: f32) -> f32 {
    if s.is_nan() {
        0.0
    } else if s.is_infinite() {
        s.signum()
    } else {
        s
    }
}

/// rubato's FFT resampler over the whole clip, delay trimmed; `None` if rubato refuses.
fn fft_resample(samples: &[f32], from: u32, to: u32) -> Option<Vec<f32>> {
    let mut stream = StreamResampler::new(from, to)?;
    let mut out = Vec::with_capacity(resampled_len(samples.len(), from, to) + CHUNK);
    stream.push(samples, &mut out).ok()?;
    stream.finish(&mut out).ok()?;
    Some(out)
}

/// rubato's FFT resampler fed piece by piece: input is gathered into fixed chunks of [`CHUNK`],
/// the resampler's startup delay is dropped once from the front, and [`finish`] pumps the tail
/// out so the total is exactly `round(n · to / from)` for `n` samples pushed, the same samples
/// [`resample`] gives for the whole clip. Input must already be finite (see [`finite_or_clipped`]).
///
/// [`finish`]: StreamResampler::finish
pub(crate) struct StreamResampler {
    resampler: Fft<f32>,
    from: u32,
    to: u32,
    /// Input not yet a whole chunk.
    pending: Vec<f32>,
    /// Output buffer for one `process_into_buffer` call.
    scratch: Vec<f32>,
    /// Output samples still to drop for the startup delay.
    to_trim: usize,
    /// Samples pushed in, and delivered out (after the trim).
    pushed: usize,
    delivered: usize,
}

impl StreamResampler {
    /// A resampler from `from` Hz to `to` Hz; `None` if rubato refuses the rates.
    pub(crate) fn new(from: u32, to: u32) -> Option<StreamResampler> {
        let resampler =
            Fft::<f32>::new(from as usize, to as usize, CHUNK, 1, FixedSync::Input).ok()?;
        let to_trim = resampler.output_delay();
        let scratch = vec![0.0; resampler.output_frames_max()];
        Some(StreamResampler {
            resampler,
            from,
            to,
            pending: Vec::with_capacity(CHUNK),
            scratch,
            to_trim,
            pushed: 0,
            delivered: 0,
        })
    }

    /// Resamples every whole chunk `samples` completes, appending the output to `out`.
    pub(crate) fn push(&mut self, samples: &[f32], out: &mut Vec<f32>) -> Result<(), String> {
        self.pushed += samples.len();
        let mut rest = samples;
        while !rest.is_empty() {
            let need = self.resampler.input_frames_next() - self.pending.len();
            let take = need.min(rest.len());
            self.pending.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if self.pending.len() == self.resampler.input_frames_next() {
                self.process(None, out)?;
                self.pending.clear();
            }
        }
        Ok(())
    }

    /// Resamples the last partial chunk and pumps silence through until the output reaches
    /// `round(pushed · to / from)` samples in all, appending the rest to `out`.
    pub(crate) fn finish(mut self, out: &mut Vec<f32>) -> Result<(), String> {
        let want = resampled_len(self.pushed, self.from, self.to);
        if !self.pending.is_empty() {
            let n = self.pending.len();
            self.process(Some(n), out)?;
        }
        self.pending.clear();
        while self.delivered < want {
            self.process(Some(0), out)?;
        }
        let excess = self.delivered - want;
        out.truncate(out.len() - excess.min(out.len()));
        Ok(())
    }

    /// One `process_into_buffer` over `pending` (`partial` valid samples, or a whole chunk).
    fn process(&mut self, partial: Option<usize>, out: &mut Vec<f32>) -> Result<(), String> {
        let frames_in = self.resampler.input_frames_next();
        self.pending.resize(frames_in.max(self.pending.len()), 0.0);
        let input =
            InterleavedSlice::new(&self.pending[..], 1, frames_in).map_err(|e| e.to_string())?;
        let capacity = self.scratch.len();
        let mut output = InterleavedSlice::new_mut(&mut self.scratch[..], 1, capacity)
            .map_err(|e| e.to_string())?;
        let indexing = Indexing {
            input_offset: 0,
            output_offset: 0,
            active_channels_mask: None,
            partial_len: partial,
        };
        let (_, produced) = self
            .resampler
            .process_into_buffer(&input, &mut output, Some(&indexing))
            .map_err(|e| e.to_string())?;
        let skip = self.to_trim.min(produced);
        self.to_trim -= skip;
        out.extend_from_slice(&self.scratch[skip..produced]);
        self.delivered += produced - skip;
        Ok(())
    }
}

/// Linear interpolation: a fallback that cannot fail, used only if rubato rejects the rates.
fn linear(samples: &[f32], from: u32, to: u32) -> Vec<f32> {
    let want = resampled_len(samples.len(), from, to);
    let step = f64::from(from) / f64::from(to);
    let last = samples.len().saturating_sub(1);
    (0..want)
        .map(|i| {
            let pos = i as f64 * step;
            let k = (pos.floor() as usize).min(last);
            let frac = (pos - k as f64) as f32;
            let next = samples[(k + 1).min(last)];
            samples[k] + (next - samples[k]) * frac
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::test_signal::{sine, zero_crossings};

    #[test]
    fn length_is_rounded_exactly() {
        assert_eq!(resampled_len(16_000, 16_000, 24_000), 24_000);
        assert_eq!(resampled_len(1, 16_000, 24_000), 2); // 1.5 rounds up
        assert_eq!(resampled_len(22_050, 22_050, 24_000), 24_000);
        assert_eq!(resampled_len(7, 24_000, 16_000), 5); // 4.67
        for (n, from, to) in [
            (24_000, 16_000, 24_000),
            (33_333, 22_050, 24_000),
            (10, 16_000, 48_000),
            (24_001, 24_000, 16_000),
            (5_000, 48_000, 24_000),
        ] {
            let out = resample(&vec![0.1; n], from, to);
            assert_eq!(out.len(), resampled_len(n, from, to), "{n} {from}->{to}");
        }
    }

    #[test]
    fn a_sine_keeps_its_frequency_and_level() {
        for (from, to) in [
            (16_000, 24_000),
            (22_050, 24_000),
            (24_000, 16_000),
            (16_000, 48_000),
        ] {
            let input = sine(from, 1.5, &[(440.0, 0.5)]);
            let out = resample(&input, from, to);
            // 440 Hz for 1.5 s: 1320 crossings, whatever the rate.
            let zc = zero_crossings(&out[100..out.len() - 100]) as f32;
            let expected = 2.0 * 440.0 * (out.len() - 200) as f32 / to as f32;
            assert!(
                (zc - expected).abs() <= 2.0,
                "{from}->{to}: {zc} vs {expected}"
            );
            // No startup delay left, no level loss: compare with the ideal sine at `to`.
            let ideal = sine(to, 1.5, &[(440.0, 0.5)]);
            let err = out[200..out.len() - 200]
                .iter()
                .zip(&ideal[200..])
                .map(|(a, b)| (a - b).abs())
                .fold(0.0f32, f32::max);
            assert!(err < 0.01, "{from}->{to}: max error {err}");
        }
    }

    #[test]
    fn equal_rates_and_degenerate_inputs_do_not_panic() {
        let x = sine(16_000, 0.1, &[(300.0, 0.3)]);
        assert_eq!(resample(&x, 16_000, 16_000), x);
        assert!(resample(&[], 16_000, 24_000).is_empty());
        assert!(resample(&x, 0, 24_000).is_empty());
        assert!(resample(&x, 16_000, 0).is_empty());
        assert_eq!(resample(&[0.5], 16_000, 24_000).len(), 2);
        let wild = [0.0, f32::NAN, f32::INFINITY, -f32::INFINITY, 0.5];
        let out = resample(&wild, 16_000, 24_000);
        assert_eq!(out.len(), 8);
        assert!(out.iter().all(|s| s.is_finite()));
    }

    #[test]
    fn the_linear_fallback_has_the_same_length() {
        let x = sine(16_000, 0.5, &[(200.0, 0.5)]);
        assert_eq!(
            linear(&x, 16_000, 24_000).len(),
            resampled_len(x.len(), 16_000, 24_000)
        );
    }
}
