//! Sample-rate conversion with `rubato` (MIT/Apache-2.0): its synchronous FFT resampler, whole clips.
//!
//! The resampler's startup delay is trimmed, and the output is exactly `round(n · to / from)` long.

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Resampler};

/// Input chunk the FFT resampler works in; rubato splits it into ~256-frame sub-chunks.
const CHUNK: usize = 1024;

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
    let mut resampler =
        Fft::<f32>::new(from as usize, to as usize, CHUNK, 1, FixedSync::Input).ok()?;
    let input = InterleavedSlice::new(samples, 1, samples.len()).ok()?;
    let capacity = resampler.process_all_needed_output_len(samples.len());
    let mut buffer = vec![0.0f32; capacity];
    let produced = {
        let mut output = InterleavedSlice::new_mut(&mut buffer, 1, capacity).ok()?;
        let (_, produced) = resampler
            .process_all_into_buffer(&input, &mut output, samples.len(), None)
            .ok()?;
        produced
    };
    buffer.truncate(produced);
    Some(buffer)
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
