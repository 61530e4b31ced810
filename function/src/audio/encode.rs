//! The one entry point from engine samples to a response body: picks the output rate per format,
//! resamples and clips, then hands off to the format's encoder.

use super::resample::resample;
use super::{AudioError, AudioFormat};

/// An encoded response body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoded {
    /// The file (or, for `pcm`, raw sample) bytes.
    pub bytes: Vec<u8>,
    /// The `Content-Type` to send them with.
    pub content_type: &'static str,
    /// The sample rate of the encoded audio, in Hz.
    pub sample_rate: u32,
}

/// The sample rate `format` is encoded at for audio arriving at `input_rate` Hz.
///
/// `pcm` is always 24 kHz (OpenAI's raw format); `opus` keeps 24 or 48 kHz, else 24 kHz; `mp3`
/// and `aac` keep rates their standards define, else 24 kHz; `wav` and `flac` keep the input rate.
pub fn output_rate(format: AudioFormat, input_rate: u32) -> u32 {
    match format {
        AudioFormat::Pcm => 24_000,
        AudioFormat::Opus => super::opus::opus_rate(input_rate),
        AudioFormat::Mp3 => super::mp3::mp3_rate(input_rate),
        AudioFormat::Aac => aac_rate(input_rate),
        AudioFormat::Wav | AudioFormat::Flac => input_rate,
    }
}

/// Encodes mono f32 samples (any rate; clipped to [-1, 1], NaN to 0) in `format`, resampling where
/// the format or the OpenAI contract needs another rate (see [`output_rate`]).
///
/// # Errors
/// [`AudioError::NotBuilt`] when the format's encoder is not in this build,
/// [`AudioError::InvalidSampleRate`] for a rate of 0, [`AudioError::Encoder`] if the library fails.
pub fn encode(
    format: AudioFormat,
    samples: &[f32],
    sample_rate: u32,
) -> Result<Encoded, AudioError> {
    format.ensure_built()?;
    if sample_rate == 0 {
        return Err(AudioError::InvalidSampleRate {
            format,
            sample_rate,
        });
    }
    let rate = output_rate(format, sample_rate);
    // Resampling reads NaN as 0 and infinities as ±1; clip after it, since it can overshoot.
    let mut audio = resample(samples, sample_rate, rate);
    clip(&mut audio);
    let bytes = match format {
        AudioFormat::Pcm => super::pcm::encode_pcm_s16le(&audio),
        AudioFormat::Wav => super::wav::encode_wav_pcm16(&audio, rate),
        AudioFormat::Flac => super::flac::encode_flac(&audio, rate)?,
        AudioFormat::Opus => super::opus::encode_ogg_opus(&audio, rate)?,
        AudioFormat::Mp3 => encode_mp3(&audio, rate)?,
        AudioFormat::Aac => encode_aac(&audio, rate)?,
    };
    Ok(Encoded {
        bytes,
        content_type: format.content_type(),
        sample_rate: rate,
    })
}

/// NaN to 0, everything else clipped to [-1, 1], in place.
pub(crate) fn clip(samples: &mut [f32]) {
    for s in samples {
        *s = if s.is_nan() { 0.0 } else { s.clamp(-1.0, 1.0) };
    }
}

#[cfg(not(feature = "mp3-lame"))]
fn encode_mp3(samples: &[f32], rate: u32) -> Result<Vec<u8>, AudioError> {
    super::mp3::encode_mp3(samples, rate)
}

#[cfg(feature = "mp3-lame")]
fn encode_mp3(samples: &[f32], rate: u32) -> Result<Vec<u8>, AudioError> {
    super::mp3_lame::encode_mp3_lame(samples, rate)
}

#[cfg(feature = "aac-fdk")]
fn aac_rate(input_rate: u32) -> u32 {
    super::aac::aac_rate(input_rate)
}

#[cfg(not(feature = "aac-fdk"))]
fn aac_rate(_input_rate: u32) -> u32 {
    24_000
}

#[cfg(feature = "aac-fdk")]
fn encode_aac(samples: &[f32], rate: u32) -> Result<Vec<u8>, AudioError> {
    super::aac::encode_aac_adts(samples, rate)
}

#[cfg(not(feature = "aac-fdk"))]
fn encode_aac(_samples: &[f32], _rate: u32) -> Result<Vec<u8>, AudioError> {
    AudioFormat::Aac.ensure_built().map(|()| Vec::new())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::test_signal::{speech_like, test_clip};

    #[test]
    fn every_built_format_encodes_and_reports_its_rate() {
        let (rate, clip) = test_clip();
        for format in AudioFormat::ALL.into_iter().filter(|f| f.is_built()) {
            let encoded = encode(format, &clip, rate).unwrap();
            assert!(!encoded.bytes.is_empty(), "{format}");
            assert_eq!(encoded.content_type, format.content_type());
            assert_eq!(encoded.sample_rate, output_rate(format, rate), "{format}");
        }
    }

    #[test]
    fn rates_follow_the_contract() {
        use AudioFormat::*;
        for (format, input, want) in [
            (Pcm, 16_000, 24_000),
            (Pcm, 22_050, 24_000),
            (Wav, 16_000, 16_000),
            (Wav, 22_050, 22_050),
            (Flac, 22_050, 22_050),
            (Mp3, 16_000, 16_000),
            (Mp3, 22_050, 22_050),
            (Mp3, 17_000, 24_000),
            (Opus, 16_000, 24_000),
            (Opus, 48_000, 48_000),
        ] {
            assert_eq!(output_rate(format, input), want, "{format} from {input}");
        }
    }

    #[test]
    fn aac_is_not_built_without_its_feature() {
        let (rate, clip) = test_clip();
        let result = encode(AudioFormat::Aac, &clip, rate);
        if cfg!(feature = "aac-fdk") {
            assert!(result.is_ok());
        } else {
            match result {
                Err(AudioError::NotBuilt { format, feature }) => {
                    assert_eq!(format, AudioFormat::Aac);
                    assert_eq!(feature, "aac-fdk");
                }
                other => panic!("expected NotBuilt, got {other:?}"),
            }
        }
    }

    #[test]
    fn wild_samples_and_a_zero_rate_do_not_panic() {
        let wild = [
            0.0,
            3.0,
            -7.5,
            f32::NAN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            0.25,
        ];
        for format in AudioFormat::ALL.into_iter().filter(|f| f.is_built()) {
            assert!(encode(format, &wild, 16_000).is_ok(), "{format}");
            assert!(encode(format, &[], 16_000).is_ok(), "{format}: empty");
            assert!(matches!(
                encode(format, &wild, 0),
                Err(AudioError::InvalidSampleRate { sample_rate: 0, .. })
            ));
        }
    }

    /// Rough encode speed per format; run with
    /// `cargo test --release -p tts-function encode_speed -- --ignored --nocapture`.
    #[test]
    #[ignore = "timing report, not a check"]
    fn encode_speed() {
        for input_rate in [16_000u32, 22_050] {
            let secs = 20.0;
            let clip = speech_like(input_rate, secs);
            for format in AudioFormat::ALL.into_iter().filter(|f| f.is_built()) {
                let start = std::time::Instant::now();
                let runs = 3;
                let mut size = 0;
                for _ in 0..runs {
                    size = encode(format, &clip, input_rate).unwrap().bytes.len();
                }
                let elapsed = start.elapsed().as_secs_f32() / runs as f32;
                println!(
                    "{format:>4} from {input_rate} Hz -> {} Hz: {:7.0}x real time, {:6.1} kB for {secs} s",
                    output_rate(format, input_rate),
                    secs / elapsed,
                    size as f32 / 1000.0
                );
            }
            let start = std::time::Instant::now();
            let _ = crate::audio::resample(&clip, input_rate, 24_000);
            println!(
                "resample {input_rate} -> 24000: {:7.0}x real time",
                secs / start.elapsed().as_secs_f32()
            );
            for speed in [0.5f32, 2.0] {
                let start = std::time::Instant::now();
                let _ = crate::audio::change_speed(&clip, input_rate, speed);
                println!(
                    "change_speed {speed} at {input_rate}: {:7.0}x real time",
                    secs / start.elapsed().as_secs_f32()
                );
            }
        }
    }
}
