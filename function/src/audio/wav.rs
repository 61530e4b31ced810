//! 16-bit PCM WAV encoding with `hound`.

use std::io::Cursor;

/// Encodes mono f32 samples (clipped to [-1, 1]) as a 16-bit PCM WAV file.
pub fn encode_wav_pcm16(samples: &[f32], sample_rate: u32) -> Vec<u8> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut out = Cursor::new(Vec::with_capacity(44 + samples.len() * 2));
    {
        let mut writer =
            hound::WavWriter::new(&mut out, spec).expect("writing to memory cannot fail");
        let mut pcm = writer.get_i16_writer(samples.len() as u32);
        for &s in samples {
            pcm.write_sample(to_i16(s));
        }
        pcm.flush().expect("writing to memory cannot fail");
        writer.finalize().expect("writing to memory cannot fail");
    }
    out.into_inner()
}

/// One sample to 16-bit PCM, clipping out-of-range values (and NaN to 0).
fn to_i16(s: f32) -> i16 {
    let s = if s.is_nan() { 0.0 } else { s.clamp(-1.0, 1.0) };
    (s * f32::from(i16::MAX)).round() as i16
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_survive_a_round_trip_through_hound() {
        let samples: Vec<f32> = (0..1600).map(|i| (i as f32 * 0.05).sin() * 0.5).collect();
        let bytes = encode_wav_pcm16(&samples, 16_000);
        let mut reader = hound::WavReader::new(Cursor::new(bytes)).unwrap();
        assert_eq!(reader.spec().sample_rate, 16_000);
        assert_eq!(reader.spec().bits_per_sample, 16);
        let decoded: Vec<i16> = reader.samples::<i16>().map(Result::unwrap).collect();
        assert_eq!(decoded.len(), samples.len());
        for (d, s) in decoded.iter().zip(&samples) {
            assert!((f32::from(*d) / 32767.0 - s).abs() < 1.0 / 32767.0);
        }
    }

    #[test]
    fn out_of_range_samples_are_clipped_not_wrapped() {
        assert_eq!(to_i16(1.7), i16::MAX);
        assert_eq!(to_i16(-3.0), -i16::MAX);
        assert_eq!(to_i16(f32::NAN), 0);
    }
}
