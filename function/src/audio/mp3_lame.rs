//! MP3 through LAME 3.100 (`mp3lame-encoder`, LGPL-3.0, bundled C): only with the `mp3-lame` feature.
//!
//! CBR mono with the LAME Info tag written over the placeholder frame, so decoders trim the
//! encoder delay and padding (gapless). Rates and bitrates come from `mp3.rs`.

use mp3lame_encoder::{Bitrate, Builder, Encoder, FlushGap, Mode, MonoPcm, Quality};

use super::mp3::mp3_kbps;
use super::{AudioError, AudioFormat};

const FORMAT: AudioFormat = AudioFormat::Mp3;

/// A CBR mono LAME encoder at `sample_rate`, writing the Info tag placeholder if `info_tag`.
fn lame_encoder(sample_rate: u32, info_tag: bool) -> Result<Encoder, AudioError> {
    let fail = |e: mp3lame_encoder::BuildError| AudioError::encoder(FORMAT, e);
    let mut builder =
        Builder::new().ok_or_else(|| AudioError::encoder(FORMAT, "lame_init returned null"))?;
    builder.set_num_channels(1).map_err(fail)?;
    builder.set_sample_rate(sample_rate).map_err(fail)?;
    builder
        .set_brate(if mp3_kbps(sample_rate) <= 64 {
            Bitrate::Kbps64
        } else {
            Bitrate::Kbps128
        })
        .map_err(fail)?;
    builder.set_mode(Mode::Mono).map_err(fail)?;
    builder.set_quality(Quality::NearBest).map_err(fail)?;
    builder.set_to_write_vbr_tag(info_tag).map_err(fail)?;
    builder.build().map_err(fail)
}

/// Encodes mono f32 samples at an MPEG rate as a CBR MP3 file with LAME.
pub(crate) fn encode_mp3_lame(samples: &[f32], sample_rate: u32) -> Result<Vec<u8>, AudioError> {
    let mut encoder = lame_encoder(sample_rate, true)?;

    let mut out = Vec::with_capacity(mp3lame_encoder::max_required_buffer_size(samples.len()));
    encoder
        .encode_to_vec(MonoPcm(samples), &mut out)
        .map_err(|e| AudioError::encoder(FORMAT, e))?;
    // `FlushGap` pads the last partial frame; `FlushNoGap` would drop it.
    out.reserve(7200);
    encoder
        .flush_to_vec::<FlushGap>(&mut out)
        .map_err(|e| AudioError::encoder(FORMAT, e))?;

    // LAME wrote a placeholder Info frame first; overwrite it with the final one.
    let mut tag = Vec::with_capacity(encoder.lame_tag_size());
    if encoder.lame_tag_encode_to_vec(&mut tag).is_some() && tag.len() <= out.len() {
        out[..tag.len()].copy_from_slice(&tag);
    }
    Ok(out)
}

/// An MP3 stream through LAME, without the Info tag (its counts are only known at the end), so
/// it decodes with LAME's delay in front and padding behind. Frames leave as LAME completes them.
pub(crate) struct LameStream {
    encoder: Encoder,
}

impl LameStream {
    /// Starts a CBR stream at an MPEG rate.
    pub(crate) fn new(sample_rate: u32) -> Result<LameStream, AudioError> {
        Ok(LameStream {
            encoder: lame_encoder(sample_rate, false)?,
        })
    }

    /// Takes clipped samples; appends the frames ready now to `out`.
    pub(crate) fn push(&mut self, samples: &[f32], out: &mut Vec<u8>) -> Result<(), AudioError> {
        out.reserve(mp3lame_encoder::max_required_buffer_size(samples.len()));
        self.encoder
            .encode_to_vec(MonoPcm(samples), out)
            .map_err(|e| AudioError::encoder(FORMAT, e))?;
        Ok(())
    }

    /// Flushes the last partial frame (`FlushGap` pads it; `FlushNoGap` would drop it).
    pub(crate) fn finish(mut self, out: &mut Vec<u8>) -> Result<(), AudioError> {
        out.reserve(7200);
        self.encoder
            .flush_to_vec::<FlushGap>(out)
            .map_err(|e| AudioError::encoder(FORMAT, e))?;
        Ok(())
    }
}
