//! AAC-LC in ADTS with Fraunhofer FDK (`fdk-aac`): only with the `aac-fdk` feature (FDK licence).
//!
//! Whole files and streams ([`AacStream`]). The safe wrapper cannot flush, so the input is padded with a frame plus the encoder delay of
//! silence; ADTS cannot mark priming or padding, so files run ~0.1 s long.

use fdk_aac::enc::{AudioObjectType, BitRate, ChannelMode, Encoder, EncoderParams, Transport};

use super::pcm::to_i16;
use super::{AudioError, AudioFormat};

const FORMAT: AudioFormat = AudioFormat::Aac;

/// The AAC sampling frequencies (ISO/IEC 14496-3).
const AAC_RATES: [u32; 12] = [
    8_000, 11_025, 12_000, 16_000, 22_050, 24_000, 32_000, 44_100, 48_000, 64_000, 88_200, 96_000,
];

/// The rate AAC is encoded at: the input's own if AAC has it, else 24 kHz.
pub(crate) fn aac_rate(input_rate: u32) -> u32 {
    if AAC_RATES.contains(&input_rate) {
        input_rate
    } else {
        24_000
    }
}

/// Encodes mono f32 samples at an AAC rate as AAC-LC in ADTS frames (48 kbit/s ≤ 24 kHz, 64 above).
pub(crate) fn encode_aac_adts(samples: &[f32], sample_rate: u32) -> Result<Vec<u8>, AudioError> {
    let mut out = Vec::with_capacity(samples.len() / 2 + 1024);
    let mut stream = AacStream::new(sample_rate)?;
    stream.push(samples, &mut out)?;
    stream.finish(&mut out)?;
    Ok(out)
}

/// AAC-LC in ADTS written as it goes: one encoder call per 1024-sample frame, each ADTS frame
/// appended once the encoder (after its delay) gives it; `finish` pads a frame plus the delay of
/// silence so the tail comes out.
pub(crate) struct AacStream {
    encoder: Encoder,
    frame: usize,
    tail: usize,
    pcm: Vec<i16>,
    buffer: Vec<u8>,
}

impl AacStream {
    /// Starts an ADTS stream at an AAC rate (48 kbit/s ≤ 24 kHz, 64 above).
    pub(crate) fn new(sample_rate: u32) -> Result<AacStream, AudioError> {
        let encoder = Encoder::new(EncoderParams {
            bit_rate: BitRate::Cbr(if sample_rate <= 24_000 {
                48_000
            } else {
                64_000
            }),
            sample_rate,
            transport: Transport::Adts,
            channels: ChannelMode::Mono,
            audio_object_type: AudioObjectType::Mpeg4LowComplexity,
        })
        .map_err(fail)?;
        let info = encoder.info().map_err(fail)?;
        let frame = (info.frameLength as usize).max(1);
        Ok(AacStream {
            frame,
            tail: frame + info.nDelay as usize,
            pcm: Vec::with_capacity(frame * 2),
            buffer: vec![0u8; (info.maxOutBufBytes as usize).max(8192)],
            encoder,
        })
    }

    /// Takes clipped samples; appends the ADTS frames ready now to `out`.
    pub(crate) fn push(&mut self, samples: &[f32], out: &mut Vec<u8>) -> Result<(), AudioError> {
        self.pcm.extend(samples.iter().map(|&s| to_i16(s)));
        self.encode(false, out)
    }

    /// Pads the tail with silence and appends the remaining frames to `out`.
    pub(crate) fn finish(mut self, out: &mut Vec<u8>) -> Result<(), AudioError> {
        self.pcm.resize(self.pcm.len() + self.tail, 0);
        self.encode(true, out)
    }

    /// Encodes whole frames (and, when `all`, the last partial one) from the buffered samples.
    fn encode(&mut self, all: bool, out: &mut Vec<u8>) -> Result<(), AudioError> {
        let mut pos = 0;
        while self.pcm.len() - pos >= self.frame || (all && pos < self.pcm.len()) {
            let end = (pos + self.frame).min(self.pcm.len());
            let step = self
                .encoder
                .encode(&self.pcm[pos..end], &mut self.buffer)
                .map_err(fail)?;
            out.extend_from_slice(&self.buffer[..step.output_size.min(self.buffer.len())]);
            if step.input_consumed == 0 {
                break; // the encoder took nothing: stop rather than spin
            }
            pos += step.input_consumed;
        }
        self.pcm.drain(..pos.min(self.pcm.len()));
        Ok(())
    }
}

fn fail(e: fdk_aac::enc::EncoderError) -> AudioError {
    AudioError::encoder(FORMAT, e)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::encode;
    use crate::audio::test_signal::{
        assert_decodes_like_test_clip, decode_with_symphonia, test_clip,
    };

    #[test]
    fn aac_decodes_with_symphonia_at_the_input_rate() {
        let (rate, clip) = test_clip();
        let encoded = encode(AudioFormat::Aac, &clip, rate).unwrap();
        assert_eq!(encoded.sample_rate, 16_000);
        assert_eq!(encoded.content_type, "audio/aac");
        assert_eq!(encoded.bytes[0], 0xff, "ADTS sync word");
        let (got_rate, decoded) = decode_with_symphonia(encoded.bytes, "aac");
        // ADTS cannot mark priming and padding: up to three 1024-sample frames extra.
        assert_decodes_like_test_clip(
            "aac/symphonia",
            got_rate,
            &decoded,
            16_000,
            3.0 * 1024.0 / 16_000.0,
        );
    }
}
