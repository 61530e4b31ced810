//! Ogg Opus with `opus-pure` (pure Rust, BSD-3-Clause; encoder and Ogg muxer, no C).
//!
//! Whole files and streams ([`OpusStream`]): OpusHead and OpusTags on their own pages, pre-skip from the encoder's real lookahead,
//! granule positions in 48 kHz samples, the input padded so the encoder's tail comes out, and the
//! last page's granule end-trimmed to the input's exact length (RFC 7845 §4.2, §4.4).

use opus_pure::{Application, OggOpusWriter, OpusEncoder, OpusHead, MAX_PACKET_BYTES};

use super::{AudioError, AudioFormat};

const FORMAT: AudioFormat = AudioFormat::Opus;

/// Bitrate for mono speech: "good speech" in Opus terms, well under OpenAI's file sizes.
const BITRATE_BPS: i32 = 32_000;

/// The rate Opus is encoded from: 24 or 48 kHz input is kept, anything else goes to 24 kHz.
pub(crate) fn opus_rate(input_rate: u32) -> u32 {
    match input_rate {
        24_000 | 48_000 => input_rate,
        _ => 24_000,
    }
}

/// Encodes mono f32 samples at 24 or 48 kHz (see [`opus_rate`]) as an Ogg Opus file of 20 ms packets.
pub(crate) fn encode_ogg_opus(samples: &[f32], sample_rate: u32) -> Result<Vec<u8>, AudioError> {
    let mut out = Vec::with_capacity(samples.len() / 4 + 256);
    let mut stream = OpusStream::new(sample_rate, None, &mut out)?;
    stream.push(samples, &mut out)?;
    stream.finish(&mut out)?;
    Ok(out)
}

/// Ogg Opus written as it goes: the OpusHead and OpusTags pages first, then 20 ms packets as
/// their frames fill, a page ending every few packets when streaming; `finish` pads the input by
/// the pre-skip so the encoder's tail comes out and end-trims the last page's granule to the
/// exact input length, with the end-of-stream flag.
pub(crate) struct OpusStream {
    encoder: OpusEncoder,
    writer: OggOpusWriter<Vec<u8>>,
    /// 48 kHz ticks per input sample (every Opus rate divides 48 kHz: granules are exact).
    ticks: usize,
    pre_skip: u64,
    /// Samples per 20 ms packet, the frame being filled, and samples pushed in all.
    frame: usize,
    block: Vec<f32>,
    total: u64,
    packet: Vec<u8>,
}

impl OpusStream {
    /// Starts a stream at 24 or 48 kHz, appending the two header pages to `out`. `packets_per_page`
    /// ends a page after about that many packets (`None`: pages of up to 4 KiB, for whole files).
    pub(crate) fn new(
        sample_rate: u32,
        packets_per_page: Option<usize>,
        out: &mut Vec<u8>,
    ) -> Result<OpusStream, AudioError> {
        let rate = i32::try_from(sample_rate).map_err(|e| AudioError::encoder(FORMAT, e))?;
        let mut encoder = OpusEncoder::new(rate, 1, Application::Audio).map_err(fail)?;
        encoder.bitrate_bps = BITRATE_BPS;
        let head = OpusHead::for_encoder(&encoder, sample_rate);
        let pre_skip = u64::from(head.pre_skip);
        let mut writer = OggOpusWriter::new(Vec::new(), head).map_err(fail)?;
        if let Some(packets) = packets_per_page {
            // The writer ends a page once its payload reaches the target (at the next packet).
            let packet_bytes = (BITRATE_BPS / 8 / 50) as usize;
            writer.set_page_target(packets.saturating_sub(1).max(1) * packet_bytes);
        }
        let frame = (sample_rate / 50) as usize;
        let mut stream = OpusStream {
            encoder,
            writer,
            ticks: (48_000 / sample_rate) as usize,
            pre_skip,
            frame,
            block: Vec::with_capacity(frame),
            total: 0,
            packet: vec![0u8; MAX_PACKET_BYTES],
        };
        stream.take_pages(out);
        Ok(stream)
    }

    /// Takes clipped samples; appends the pages completed now to `out`.
    pub(crate) fn push(&mut self, samples: &[f32], out: &mut Vec<u8>) -> Result<(), AudioError> {
        self.total += samples.len() as u64;
        let mut rest = samples;
        while !rest.is_empty() {
            let take = (self.frame - self.block.len()).min(rest.len());
            self.block.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if self.block.len() == self.frame {
                let n = self.encode_block()?;
                self.writer.write_packet(&self.packet[..n]).map_err(fail)?;
            }
        }
        self.take_pages(out);
        Ok(())
    }

    /// Pads the input by the pre-skip, encodes the last packets (the last end-trimmed) and
    /// appends the remaining pages, the last with the end-of-stream flag, to `out`.
    pub(crate) fn finish(mut self, out: &mut Vec<u8>) -> Result<(), AudioError> {
        let ticks = self.ticks as u64;
        let final_granule = self.pre_skip + self.total * ticks;
        // Feed pre-skip's worth of silence past the end so the encoder's last samples come out.
        let mut pad = self.pre_skip.div_ceil(ticks) as usize;
        loop {
            let take = (self.frame - self.block.len()).min(pad);
            self.block.resize(self.block.len() + take, 0.0);
            pad -= take;
            let last = pad == 0;
            let n = self.encode_block()?;
            if last {
                // End-trim: the last page's granule says where the audio stops.
                let written = u64::try_from(self.writer.granule()).unwrap_or(0);
                let duration = final_granule.saturating_sub(written);
                let duration =
                    u32::try_from(duration).map_err(|e| AudioError::encoder(FORMAT, e))?;
                self.writer
                    .write_packet_with_duration(&self.packet[..n], duration)
                    .map_err(fail)?;
                break;
            }
            self.writer.write_packet(&self.packet[..n]).map_err(fail)?;
        }
        out.extend_from_slice(&self.writer.finish().map_err(fail)?);
        Ok(())
    }

    /// Encodes the current block (zero-filled to a whole frame) into `packet`; its length.
    fn encode_block(&mut self) -> Result<usize, AudioError> {
        self.block.resize(self.frame, 0.0);
        let n = self
            .encoder
            .encode(&self.block, self.frame, &mut self.packet)
            .map_err(fail)?;
        self.block.clear();
        Ok(n)
    }

    /// Moves the pages the writer has completed into `out`.
    fn take_pages(&mut self, out: &mut Vec<u8>) {
        if let Some(pages) = self.writer.get_mut() {
            out.append(pages);
        }
    }
}

fn fail(e: opus_pure::Error) -> AudioError {
    AudioError::encoder(FORMAT, e)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::encode;
    use crate::audio::test_signal::{assert_decodes_like_test_clip, decode_with_ffmpeg, test_clip};

    #[test]
    fn opus_rates_are_24_or_48_khz() {
        assert_eq!(opus_rate(16_000), 24_000);
        assert_eq!(opus_rate(22_050), 24_000);
        assert_eq!(opus_rate(24_000), 24_000);
        assert_eq!(opus_rate(48_000), 48_000);
    }

    #[test]
    fn the_file_is_ogg_opus_with_its_own_header_pages() {
        let (rate, clip) = test_clip();
        let encoded = encode(AudioFormat::Opus, &clip, rate).unwrap();
        assert_eq!(encoded.sample_rate, 24_000);
        assert_eq!(encoded.content_type, "audio/ogg");
        let b = &encoded.bytes;
        assert_eq!(&b[..4], b"OggS");
        assert_eq!(&b[28..36], b"OpusHead");
        let pre_skip = u16::from_le_bytes([b[38], b[39]]);
        let input_rate = u32::from_le_bytes([b[40], b[41], b[42], b[43]]);
        assert_eq!(input_rate, 24_000);
        assert!(pre_skip > 0 && pre_skip < 1000, "pre-skip {pre_skip}");
        // OpusHead's page holds one 19-byte packet, so OpusTags opens the second page.
        let second = 27 + 1 + 19;
        assert_eq!(&b[second..second + 4], b"OggS");
        assert_eq!(&b[second + 28..second + 36], b"OpusTags");
        // The last page's granule is pre-skip plus the audio, in 48 kHz samples.
        let last = b.windows(4).rposition(|w| w == b"OggS").unwrap();
        assert_eq!(b[last + 5] & 0x04, 0x04, "end-of-stream flag");
        let granule = u64::from_le_bytes(b[last + 6..last + 14].try_into().unwrap());
        assert_eq!(granule, u64::from(pre_skip) + clip.len() as u64 * 3);
    }

    #[test]
    fn opus_decodes_with_ffmpeg_to_the_exact_length() {
        let (rate, clip) = test_clip();
        for input_rate in [rate, 48_000] {
            let encoded = encode(AudioFormat::Opus, &clip, input_rate).unwrap();
            let Some((got_rate, decoded)) = decode_with_ffmpeg(&encoded.bytes, "opus") else {
                return;
            };
            // ffmpeg decodes Opus at 48 kHz; the clip is 1.5 s whatever its input rate label.
            let seconds = clip.len() as f32 / input_rate as f32;
            let want = (seconds * got_rate as f32).round() as i64;
            assert!(
                (decoded.len() as i64 - want).abs() <= 2,
                "{input_rate}: {} vs {want}",
                decoded.len()
            );
            if input_rate == rate {
                assert_decodes_like_test_clip("opus/ffmpeg", got_rate, &decoded, 48_000, 0.001);
            }
        }
    }

    #[test]
    fn an_empty_clip_still_encodes() {
        assert!(encode(AudioFormat::Opus, &[], 24_000).is_ok());
    }
}
