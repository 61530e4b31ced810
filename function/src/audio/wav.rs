//! 16-bit PCM WAV files: a 44-byte RIFF header written by hand, then the samples.
//!
//! Whole files (sizes known) and, for streaming, a header with unknown sizes; nothing here can
//! fail or panic.

use super::pcm::append_pcm_s16le;

const CHANNELS: u16 = 1;
const BITS: u16 = 16;

/// Encodes mono f32 samples (clipped to [-1, 1]) as a 16-bit PCM WAV file at `sample_rate`.
pub fn encode_wav_pcm16(samples: &[f32], sample_rate: u32) -> Vec<u8> {
    let block_align = CHANNELS * BITS / 8;
    // RIFF sizes are u32; keep whole samples if a (37-hour) clip would overflow them.
    let max_samples = (u32::MAX as usize - 36) / usize::from(block_align);
    let samples = &samples[..samples.len().min(max_samples)];
    let data_len = (samples.len() * usize::from(block_align)) as u32;
    let mut out = Vec::with_capacity(44 + data_len as usize);
    write_wav_header(&mut out, sample_rate, 36 + data_len, data_len);
    append_pcm_s16le(samples, &mut out);
    out
}

/// The 44-byte header of a WAV whose length is not known yet: RIFF and data sizes are
/// 0xFFFFFFFF. ffmpeg (and most players) read such a stream to its end; symphonia 0.6 and hound
/// reject it.
pub(crate) fn streaming_wav_header(sample_rate: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(44);
    write_wav_header(&mut out, sample_rate, u32::MAX, u32::MAX);
    out
}

/// Appends a mono 16-bit PCM RIFF/WAVE header with the given RIFF and data chunk sizes.
fn write_wav_header(out: &mut Vec<u8>, sample_rate: u32, riff_len: u32, data_len: u32) {
    let block_align = CHANNELS * BITS / 8;
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&riff_len.to_le_bytes());
    out.extend_from_slice(b"WAVE");
    out.extend_from_slice(b"fmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes()); // WAVE_FORMAT_PCM
    out.extend_from_slice(&CHANNELS.to_le_bytes());
    out.extend_from_slice(&sample_rate.to_le_bytes());
    out.extend_from_slice(&(sample_rate.saturating_mul(u32::from(block_align))).to_le_bytes());
    out.extend_from_slice(&block_align.to_le_bytes());
    out.extend_from_slice(&BITS.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    #[test]
    fn samples_survive_a_round_trip_through_hound() {
        let samples: Vec<f32> = (0..1600).map(|i| (i as f32 * 0.05).sin() * 0.5).collect();
        let bytes = encode_wav_pcm16(&samples, 16_000);
        let mut reader = hound::WavReader::new(Cursor::new(bytes)).unwrap();
        assert_eq!(reader.spec().sample_rate, 16_000);
        assert_eq!(reader.spec().bits_per_sample, 16);
        assert_eq!(reader.spec().channels, 1);
        let decoded: Vec<i16> = reader.samples::<i16>().map(Result::unwrap).collect();
        assert_eq!(decoded.len(), samples.len());
        for (d, s) in decoded.iter().zip(&samples) {
            assert!((f32::from(*d) / 32767.0 - s).abs() < 1.0 / 32767.0);
        }
    }

    #[test]
    fn an_empty_clip_is_a_valid_44_byte_file() {
        let bytes = encode_wav_pcm16(&[], 22_050);
        assert_eq!(bytes.len(), 44);
        let reader = hound::WavReader::new(Cursor::new(bytes)).unwrap();
        assert_eq!(reader.len(), 0);
        assert_eq!(reader.spec().sample_rate, 22_050);
    }
}

#[cfg(test)]
mod round_trip {
    use super::super::pcm::to_i16;
    use crate::audio::test_signal::{decode_with_symphonia, test_clip};
    use crate::audio::{encode, AudioFormat};

    #[test]
    fn wav_keeps_the_input_rate_and_symphonia_reads_it_bit_exact() {
        let (rate, clip) = test_clip();
        for input_rate in [rate, 22_050] {
            let encoded = encode(AudioFormat::Wav, &clip, input_rate).unwrap();
            assert_eq!(encoded.sample_rate, input_rate);
            assert_eq!(encoded.content_type, "audio/wav");
            let (got_rate, decoded) = decode_with_symphonia(encoded.bytes, "wav");
            assert_eq!(got_rate, input_rate);
            assert_eq!(decoded.len(), clip.len());
            for (d, s) in decoded.iter().zip(&clip) {
                assert_eq!((d * 32768.0).round() as i16, to_i16(*s));
            }
        }
    }
}
