//! Float samples to 16-bit integers, and OpenAI's headerless `pcm` body (s16le mono).
//!
//! Owns the one f32 → i16 conversion every 16-bit format shares. No resampling here.

/// One sample to 16-bit PCM, clipping out-of-range values (and NaN to 0).
pub(crate) fn to_i16(s: f32) -> i16 {
    let s = if s.is_nan() { 0.0 } else { s.clamp(-1.0, 1.0) };
    (s * f32::from(i16::MAX)).round() as i16
}

/// Mono f32 samples (clipped to [-1, 1]) as raw 16-bit little-endian PCM, no header.
pub fn encode_pcm_s16le(samples: &[f32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(samples.len() * 2);
    append_pcm_s16le(samples, &mut out);
    out
}

/// Appends samples as 16-bit little-endian PCM (the body of `pcm` and of a WAV data chunk).
pub(crate) fn append_pcm_s16le(samples: &[f32], out: &mut Vec<u8>) {
    out.reserve(samples.len() * 2);
    for &s in samples {
        out.extend_from_slice(&to_i16(s).to_le_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_range_samples_are_clipped_not_wrapped() {
        assert_eq!(to_i16(1.7), i16::MAX);
        assert_eq!(to_i16(-3.0), -i16::MAX);
        assert_eq!(to_i16(f32::NAN), 0);
        assert_eq!(to_i16(f32::INFINITY), i16::MAX);
    }

    #[test]
    fn pcm_is_two_little_endian_bytes_per_sample() {
        let bytes = encode_pcm_s16le(&[0.0, 1.0, -1.0, 0.5]);
        assert_eq!(bytes.len(), 8);
        assert_eq!(&bytes[0..2], &[0, 0]);
        assert_eq!(&bytes[2..4], &0x7fff_i16.to_le_bytes());
        assert_eq!(&bytes[4..6], &(-0x7fff_i16).to_le_bytes());
        assert_eq!(i16::from_le_bytes([bytes[6], bytes[7]]), 16384);
    }
}

#[cfg(test)]
mod round_trip {
    use crate::audio::test_signal::test_clip;
    use crate::audio::{encode, resample, AudioFormat};

    #[test]
    fn pcm_is_raw_24_khz_s16le_of_the_resampled_clip() {
        let (rate, clip) = test_clip();
        let encoded = encode(AudioFormat::Pcm, &clip, rate).unwrap();
        assert_eq!(encoded.sample_rate, 24_000);
        assert_eq!(encoded.content_type, "audio/pcm");
        assert_eq!(
            encoded.bytes.len(),
            36_000 * 2,
            "1.5 s at 24 kHz, 2 bytes each"
        );
        let expected = resample(&clip, rate, 24_000);
        for (pair, want) in encoded.bytes.chunks_exact(2).zip(expected) {
            let got = i16::from_le_bytes([pair[0], pair[1]]);
            assert_eq!(got, super::to_i16(want));
        }
    }

    #[test]
    fn pcm_at_24_khz_is_bit_exact() {
        let clip = crate::audio::test_signal::sine(24_000, 0.5, &[(300.0, 0.5)]);
        let encoded = encode(AudioFormat::Pcm, &clip, 24_000).unwrap();
        assert_eq!(encoded.bytes, super::encode_pcm_s16le(&clip));
    }
}
