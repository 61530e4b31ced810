//! FLAC with `flacenc` (pure Rust, Apache-2.0): one whole 16-bit mono file with its length and MD5,
//! or a stream ([`FlacStream`]): the stream header first, then one frame per block.

use flacenc::component::{BitRepr, Stream, StreamInfo};
use flacenc::error::{Verified, Verify};
use flacenc::source::{Fill, FrameBuf};

use super::pcm::to_i16;
use super::{AudioError, AudioFormat};

const FORMAT: AudioFormat = AudioFormat::Flac;

/// Block size of a streamed FLAC: 2048 samples (93–128 ms at the model rates), so the first frame
/// leaves early; whole files keep flacenc's default (4096), which compresses a little better.
pub(crate) const STREAM_BLOCK: usize = 2048;

/// The encoder configuration both paths share.
fn config() -> Result<Verified<flacenc::config::Encoder>, AudioError> {
    flacenc::config::Encoder::default()
        .into_verified()
        .map_err(|(_, e)| AudioError::encoder(FORMAT, e))
}

/// Encodes mono f32 samples (clipped to [-1, 1]) as a 16-bit FLAC file at `sample_rate`.
pub(crate) fn encode_flac(samples: &[f32], sample_rate: u32) -> Result<Vec<u8>, AudioError> {
    let ints: Vec<i32> = samples.iter().map(|&s| i32::from(to_i16(s))).collect();
    let config = config()?;
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

/// A FLAC stream written as it goes: [`FlacStream::new`] gives the stream header (its STREAMINFO
/// says 0 total samples, unknown frame sizes and no MD5, since none is known yet), then every
/// [`STREAM_BLOCK`] samples pushed become one frame; `finish` writes the short last block.
pub(crate) struct FlacStream {
    config: Verified<flacenc::config::Encoder>,
    info: StreamInfo,
    frame: FrameBuf,
    pending: Vec<i32>,
    frames: usize,
}

impl FlacStream {
    /// Starts a 16-bit mono stream at `sample_rate`, appending the stream header to `out`.
    pub(crate) fn new(sample_rate: u32, out: &mut Vec<u8>) -> Result<FlacStream, AudioError> {
        let fail = |e: flacenc::error::VerifyError| AudioError::encoder(FORMAT, e);
        let config = config()?;
        let mut stream = Stream::new(sample_rate as usize, 1, 16).map_err(fail)?;
        let info = stream.stream_info_mut();
        info.set_block_sizes(STREAM_BLOCK, STREAM_BLOCK)
            .map_err(fail)?;
        // flacenc starts `min_frame_size` at u32::MAX (it lowers it per frame); 0 means unknown.
        info.set_frame_sizes(0, 0).map_err(fail)?;
        let info = info.clone();
        let mut sink = flacenc::bitsink::ByteSink::new();
        stream
            .write(&mut sink)
            .map_err(|e| AudioError::encoder(FORMAT, e))?;
        out.extend_from_slice(sink.as_slice());
        Ok(FlacStream {
            config,
            info,
            frame: FrameBuf::with_size(1, STREAM_BLOCK).map_err(fail)?,
            pending: Vec::with_capacity(STREAM_BLOCK),
            frames: 0,
        })
    }

    /// Takes clipped samples; appends one frame to `out` per block completed.
    pub(crate) fn push(&mut self, samples: &[f32], out: &mut Vec<u8>) -> Result<(), AudioError> {
        for &s in samples {
            self.pending.push(i32::from(to_i16(s)));
            if self.pending.len() == STREAM_BLOCK {
                self.write_frame(out)?;
            }
        }
        Ok(())
    }

    /// Appends the short last frame, if any samples are left.
    pub(crate) fn finish(mut self, out: &mut Vec<u8>) -> Result<(), AudioError> {
        if !self.pending.is_empty() {
            self.write_frame(out)?;
        }
        Ok(())
    }

    fn write_frame(&mut self, out: &mut Vec<u8>) -> Result<(), AudioError> {
        self.frame
            .fill_interleaved(&self.pending)
            .map_err(|e| AudioError::encoder(FORMAT, e))?;
        self.pending.clear();
        let frame =
            flacenc::encode_fixed_size_frame(&self.config, &self.frame, self.frames, &self.info)
                .map_err(|e| AudioError::encoder(FORMAT, e))?;
        self.frames += 1;
        let mut sink = flacenc::bitsink::ByteSink::new();
        frame
            .write(&mut sink)
            .map_err(|e| AudioError::encoder(FORMAT, e))?;
        out.extend_from_slice(sink.as_slice());
        Ok(())
    }
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
