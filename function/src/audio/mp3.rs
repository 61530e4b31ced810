//! MP3 rates and bitrates, and the default encoder: `rusty_mp3` (pure Rust, Apache-2.0).
//!
//! With the `mp3-lame` feature `encode.rs` calls `mp3_lame.rs` instead; both share the rate table here.

use super::{AudioError, AudioFormat};

const FORMAT: AudioFormat = AudioFormat::Mp3;

/// The nine Layer III sample rates (MPEG-1, MPEG-2, MPEG-2.5).
const MPEG_RATES: [u32; 9] = [
    8_000, 11_025, 12_000, 16_000, 22_050, 24_000, 32_000, 44_100, 48_000,
];

/// The rate an MP3 of `input_rate` audio is encoded at: the input's own if MPEG has it, else 24 kHz.
pub(crate) fn mp3_rate(input_rate: u32) -> u32 {
    if MPEG_RATES.contains(&input_rate) {
        input_rate
    } else {
        24_000
    }
}

/// Constant bitrate in kbit/s for mono speech: 64 at the MPEG-2/2.5 rates (≤ 24 kHz), 128 above.
pub(crate) fn mp3_kbps(sample_rate: u32) -> u32 {
    if sample_rate <= 24_000 {
        64
    } else {
        128
    }
}

/// The encoder both paths share: CBR at [`mp3_kbps`], its rate fixed by an empty first push.
fn new_encoder(sample_rate: u32) -> Result<rusty_mp3::Mp3Encoder, AudioError> {
    let mut encoder = rusty_mp3::Mp3Encoder::new(rusty_mp3::Mp3EncoderConfig {
        bitrate_kbps: mp3_kbps(sample_rate),
        vbr_quality: None,
    });
    // The first push fixes the header even when it carries no samples.
    encoder
        .push_pcm_f32(&[], 1, sample_rate)
        .map_err(|e| AudioError::encoder(FORMAT, e))?;
    Ok(encoder)
}

/// Appends every packet the encoder has ready to `out`; `Ok(true)` once it is drained for good.
fn drain(encoder: &mut rusty_mp3::Mp3Encoder, out: &mut Vec<u8>) -> Result<bool, AudioError> {
    loop {
        match encoder.next_packet() {
            Ok(packet) => out.extend_from_slice(&packet),
            Err(rusty_mp3::Error::Eof) => return Ok(true),
            Err(rusty_mp3::Error::Again) => return Ok(false),
            Err(e) => return Err(AudioError::encoder(FORMAT, e)),
        }
    }
}

/// Encodes mono f32 samples at an MPEG rate (see [`mp3_rate`]) as a CBR MP3 file with a
/// gapless Info tag first.
#[cfg_attr(feature = "mp3-lame", allow(dead_code))]
pub(crate) fn encode_mp3(samples: &[f32], sample_rate: u32) -> Result<Vec<u8>, AudioError> {
    let mut encoder = new_encoder(sample_rate)?;
    encoder
        .push_pcm_f32(samples, 1, sample_rate)
        .map_err(|e| AudioError::encoder(FORMAT, e))?;
    // Draining only after `finish` gets the completed Info tag as the first packet.
    encoder.finish();
    let mut out = Vec::with_capacity(samples.len() / 2);
    drain(&mut encoder, &mut out)?;
    Ok(out)
}

/// An MP3 stream: frames leave as soon as the encoder has them (one 576-sample frame at the
/// MPEG-2 rates; at 32–48 kHz rusty_mp3's bit reservoir holds every frame until `finish`).
///
/// The Info tag is left out: its frame count and gapless delay/padding are only known at the end,
/// and a placeholder with zero frames makes some decoders (symphonia) read an empty file. So a
/// streamed MP3 decodes with the encoder delay in front and padding at the end (about 0.1 s).
#[cfg_attr(feature = "mp3-lame", allow(dead_code))]
pub(crate) struct Mp3Stream {
    encoder: rusty_mp3::Mp3Encoder,
    rate: u32,
    tag_dropped: bool,
}

#[cfg_attr(feature = "mp3-lame", allow(dead_code))]
impl Mp3Stream {
    /// Starts a CBR stream at an MPEG rate (see [`mp3_rate`]).
    pub(crate) fn new(sample_rate: u32) -> Result<Mp3Stream, AudioError> {
        Ok(Mp3Stream {
            encoder: new_encoder(sample_rate)?,
            rate: sample_rate,
            tag_dropped: false,
        })
    }

    /// Takes clipped samples; appends the frames ready now to `out`.
    pub(crate) fn push(&mut self, samples: &[f32], out: &mut Vec<u8>) -> Result<(), AudioError> {
        self.encoder
            .push_pcm_f32(samples, 1, self.rate)
            .map_err(|e| AudioError::encoder(FORMAT, e))?;
        self.drain(out).map(|_| ())
    }

    /// Encodes the delay and the last partial frame; appends the remaining frames to `out`.
    pub(crate) fn finish(mut self, out: &mut Vec<u8>) -> Result<(), AudioError> {
        self.encoder.finish();
        self.drain(out).map(|_| ())
    }

    /// Like [`drain`], minus the Info tag (the stream's first packet).
    fn drain(&mut self, out: &mut Vec<u8>) -> Result<bool, AudioError> {
        if !self.tag_dropped {
            match self.encoder.next_packet() {
                Ok(_tag) => self.tag_dropped = true,
                Err(rusty_mp3::Error::Again) => return Ok(false),
                Err(rusty_mp3::Error::Eof) => return Ok(true),
                Err(e) => return Err(AudioError::encoder(FORMAT, e)),
            }
        }
        drain(&mut self.encoder, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::encode;
    use crate::audio::test_signal::{
        assert_decodes_like_test_clip, decode_with_ffmpeg, decode_with_symphonia, test_clip,
    };

    #[test]
    fn mpeg_rates_are_kept_and_others_go_to_24_khz() {
        for rate in [16_000, 22_050, 24_000, 44_100, 48_000, 8_000] {
            assert_eq!(mp3_rate(rate), rate);
        }
        for rate in [17_000, 96_000, 1] {
            assert_eq!(mp3_rate(rate), 24_000);
        }
    }

    #[test]
    fn mp3_decodes_with_symphonia_at_the_input_rate() {
        let (rate, clip) = test_clip();
        let encoded = encode(AudioFormat::Mp3, &clip, rate).unwrap();
        assert_eq!(encoded.sample_rate, 16_000);
        assert_eq!(encoded.content_type, "audio/mpeg");
        let (got_rate, decoded) = decode_with_symphonia(encoded.bytes, "mp3");
        // The Info tag's delay and padding let symphonia trim to the exact input length.
        assert_eq!(decoded.len(), clip.len());
        assert_decodes_like_test_clip("mp3/symphonia", got_rate, &decoded, 16_000, 0.0);
    }

    #[test]
    fn mp3_decodes_with_ffmpeg_to_the_exact_length() {
        let (rate, clip) = test_clip();
        for input_rate in [rate, 22_050, 24_000, 44_100] {
            let encoded = encode(AudioFormat::Mp3, &clip, input_rate).unwrap();
            let Some((got_rate, decoded)) = decode_with_ffmpeg(&encoded.bytes, "mp3") else {
                return;
            };
            assert_eq!(got_rate, input_rate);
            // The Info tag makes it gapless: exactly the input's length.
            assert_eq!(decoded.len(), clip.len(), "{input_rate}");
        }
        let encoded = encode(AudioFormat::Mp3, &clip, rate).unwrap();
        if let Some((got_rate, decoded)) = decode_with_ffmpeg(&encoded.bytes, "mp3") {
            assert_decodes_like_test_clip("mp3/ffmpeg", got_rate, &decoded, 16_000, 0.0);
        }
    }

    #[test]
    fn an_odd_rate_is_resampled_to_24_khz() {
        let (_, clip) = test_clip();
        let encoded = encode(AudioFormat::Mp3, &clip, 17_000).unwrap();
        assert_eq!(encoded.sample_rate, 24_000);
    }

    #[test]
    fn an_empty_clip_still_encodes() {
        assert!(!encode(AudioFormat::Mp3, &[], 16_000)
            .unwrap()
            .bytes
            .is_empty());
    }
}
