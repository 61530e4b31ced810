//! FLAC with `flacenc` (pure Rust, Apache-2.0): one whole 16-bit mono file with its length and MD5.

use flacenc::component::BitRepr;
use flacenc::error::Verify;

use super::pcm::to_i16;
use super::{AudioError, AudioFormat};

const FORMAT: AudioFormat = AudioFormat::Flac;

/// Encodes mono f32 samples (clipped to [-1, 1]) as a 16-bit FLAC file at `sample_rate`.
pub(crate) fn encode_flac(samples: &[f32], sample_rate: u32) -> Result<Vec<u8>, AudioError> {
    let ints: Vec<i32> = samples.iter().map(|&s| i32::from(to_i16(s))).collect();
    let config = flacenc::config::Encoder::default()
        .into_verified()
        .map_err(|(_, e)| AudioError::encoder(FORMAT, e))?;
    let source = flacenc::source::MemSource::from_samples(&ints, 1, 16, sample_rate as usize);
    let mut stream = flacenc::encode_with_fixed_block_size(&config, source, config.block_size)
        .map_err(|e| AudioError::encoder(FORMAT, e))?;
    // flacenc counts the short last block in `min_block_size`; the spec excludes it, and symphonia
    // rejects such a file. A fixed-blocksize stream states min == max.
    let info = stream.stream_info_mut();
    let block = info.max_block_size();
    info.set_block_sizes(block, block)
        .map_err(|e| AudioError::encoder(FORMAT, e))?;
    let mut sink = flacenc::bitsink::ByteSink::new();
    stream
        .write(&mut sink)
        .map_err(|e| AudioError::encoder(FORMAT, e))?;
    Ok(sink.into_inner())
}

#[cfg(test)]
mod tests {
    use super::super::pcm::to_i16;
    use crate::audio::test_signal::{decode_with_symphonia, test_clip};
    use crate::audio::{encode, AudioFormat};

    #[test]
    fn flac_keeps_the_input_rate_and_decodes_bit_exact() {
        let (rate, clip) = test_clip();
        for input_rate in [rate, 22_050] {
            let encoded = encode(AudioFormat::Flac, &clip, input_rate).unwrap();
            assert_eq!(encoded.sample_rate, input_rate);
            assert_eq!(encoded.content_type, "audio/flac");
            assert_eq!(&encoded.bytes[..4], b"fLaC");
            assert!(
                encoded.bytes.len() < clip.len(),
                "compressed below 8 bits/sample"
            );
            let (got_rate, decoded) = decode_with_symphonia(encoded.bytes, "flac");
            assert_eq!(got_rate, input_rate);
            assert_eq!(decoded.len(), clip.len());
            for (d, s) in decoded.iter().zip(&clip) {
                assert_eq!((d * 32768.0).round() as i16, to_i16(*s));
            }
        }
    }

    #[test]
    fn flac_streaminfo_states_the_length() {
        let (rate, clip) = test_clip();
        let bytes = encode(AudioFormat::Flac, &clip, rate).unwrap().bytes;
        // STREAMINFO follows "fLaC" and a 4-byte block header; total samples are 36 bits at offset 13.
        let info = &bytes[8..];
        let total = (u64::from(info[13] & 0x0f) << 32)
            | u64::from(u32::from_be_bytes([info[14], info[15], info[16], info[17]]));
        assert_eq!(total, clip.len() as u64);
        assert!(info[18..34].iter().any(|&b| b != 0), "MD5 is set");
    }

    #[test]
    fn a_clip_shorter_than_one_block_decodes() {
        let (rate, clip) = test_clip();
        let short = &clip[..1000];
        let encoded = encode(AudioFormat::Flac, short, rate).unwrap();
        let (_, decoded) = decode_with_symphonia(encoded.bytes, "flac");
        assert_eq!(decoded.len(), short.len());
    }

    #[test]
    fn an_empty_clip_still_encodes() {
        assert!(encode(AudioFormat::Flac, &[], 16_000).is_ok());
    }
}
