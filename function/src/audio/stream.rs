//! Streaming encoding: mono f32 chunks in as synthesis proceeds, response bytes out as soon as the
//! codec has them. Same rate policy, clipping and codec set-up as [`encode`](super::encode), which
//! shares each codec's streaming type or set-up helpers.

use super::encode::{clip, output_rate};
use super::flac::FlacStream;
use super::opus::OpusStream;
use super::pcm::append_pcm_s16le;
use super::resample::{finite_or_clipped, StreamResampler};
use super::wav::streaming_wav_header;
use super::{AudioError, AudioFormat};

/// Packets per Ogg page for streamed Opus: about 60 ms of audio per page.
const OPUS_PACKETS_PER_PAGE: usize = 3;

/// Encodes one response body piece by piece.
///
/// What each format gives, and when:
/// - `pcm`: s16le at 24 kHz; resampled output leaves per 256-sample input chunk (after the
///   resampler's delay), the same samples as [`encode`](super::encode).
/// - `wav`: a 44-byte header whose RIFF and data sizes are 0xFFFFFFFF (unknown length; ffmpeg
///   and browsers accept it, symphonia 0.6 and hound reject it), then s16le at the input rate.
/// - `flac`: the stream header (STREAMINFO with 0 total samples, no MD5, frame sizes unknown),
///   then one frame per 2048 samples.
/// - `mp3`: CBR frames (576 samples at ≤ 24 kHz) as the encoder completes them, without the Info
///   tag (not gapless: the encoder delay is in front, padding behind). At 32–48 kHz (MPEG-1)
///   rusty_mp3's bit reservoir holds every frame until `finish`; LAME (`mp3-lame`) does not.
/// - `opus`: Ogg Opus; header pages first, then a page about every three 20 ms packets; the last
///   page carries the end-trimmed granule and the end-of-stream flag.
/// - `aac` (feature `aac-fdk`): ADTS frames of 1024 samples as FDK gives them.
pub struct StreamEncoder {
    format: AudioFormat,
    rate: u32,
    resampler: Option<StreamResampler>,
    codec: Codec,
    /// Bytes produced before the first push (headers), handed out with it.
    pending: Vec<u8>,
    /// Resampled samples of the current push.
    scratch: Vec<f32>,
}

/// One codec's streaming state.
enum Codec {
    Pcm,
    Wav,
    // Codec states are boxed (Opus ~23 kB, MP3 ~9 kB): the enum stays small.
    Flac(Box<FlacStream>),
    Opus(Box<OpusStream>),
    #[cfg(not(feature = "mp3-lame"))]
    Mp3(Box<super::mp3::Mp3Stream>),
    #[cfg(feature = "mp3-lame")]
    Mp3(Box<super::mp3_lame::LameStream>),
    #[cfg(feature = "aac-fdk")]
    Aac(Box<super::aac::AacStream>),
}

impl StreamEncoder {
    /// Starts encoding `format` for audio arriving at `input_rate` Hz; the output rate is
    /// [`output_rate`]`(format, input_rate)`.
    ///
    /// # Errors
    /// [`AudioError::NotBuilt`] when the format's encoder is not in this build,
    /// [`AudioError::InvalidSampleRate`] for a rate of 0, [`AudioError::Encoder`] if the library
    /// refuses the set-up.
    pub fn new(format: AudioFormat, input_rate: u32) -> Result<StreamEncoder, AudioError> {
        format.ensure_built()?;
        if input_rate == 0 {
            return Err(AudioError::InvalidSampleRate {
                format,
                sample_rate: input_rate,
            });
        }
        let rate = output_rate(format, input_rate);
        let resampler = if rate == input_rate {
            None
        } else {
            Some(StreamResampler::new(input_rate, rate).ok_or_else(|| {
                AudioError::encoder(format, format!("cannot resample {input_rate} -> {rate} Hz"))
            })?)
        };
        let mut pending = Vec::new();
        let codec = match format {
            AudioFormat::Pcm => Codec::Pcm,
            AudioFormat::Wav => {
                pending = streaming_wav_header(rate);
                Codec::Wav
            }
            AudioFormat::Flac => Codec::Flac(Box::new(FlacStream::new(rate, &mut pending)?)),
            AudioFormat::Opus => Codec::Opus(Box::new(OpusStream::new(
                rate,
                Some(OPUS_PACKETS_PER_PAGE),
                &mut pending,
            )?)),
            #[cfg(not(feature = "mp3-lame"))]
            AudioFormat::Mp3 => Codec::Mp3(Box::new(super::mp3::Mp3Stream::new(rate)?)),
            #[cfg(feature = "mp3-lame")]
            AudioFormat::Mp3 => Codec::Mp3(Box::new(super::mp3_lame::LameStream::new(rate)?)),
            #[cfg(feature = "aac-fdk")]
            AudioFormat::Aac => Codec::Aac(Box::new(super::aac::AacStream::new(rate)?)),
            #[cfg(not(feature = "aac-fdk"))]
            AudioFormat::Aac => unreachable!("ensure_built rejected aac above"),
        };
        Ok(StreamEncoder {
            format,
            rate,
            resampler,
            codec,
            pending,
            scratch: Vec::new(),
        })
    }

    /// The `Content-Type` of the body.
    pub fn content_type(&self) -> &'static str {
        self.format.content_type()
    }

    /// The sample rate of the encoded audio, in Hz.
    pub fn sample_rate(&self) -> u32 {
        self.rate
    }

    /// Feeds samples (NaN read as 0, clipped to [-1, 1], resampled as they come); returns the
    /// bytes ready now, possibly none, with the header in front on the first call.
    ///
    /// # Errors
    /// [`AudioError::Encoder`] if the library fails.
    pub fn push(&mut self, samples: &[f32]) -> Result<Vec<u8>, AudioError> {
        let mut out = std::mem::take(&mut self.pending);
        let mut audio = std::mem::take(&mut self.scratch);
        audio.clear();
        match &mut self.resampler {
            Some(resampler) => {
                let finite: Vec<f32> = samples.iter().map(|&s| finite_or_clipped(s)).collect();
                resampler
                    .push(&finite, &mut audio)
                    .map_err(|e| AudioError::encoder(self.format, e))?;
            }
            None => audio.extend_from_slice(samples),
        }
        clip(&mut audio);
        self.codec.push(&audio, &mut out)?;
        self.scratch = audio;
        Ok(out)
    }

    /// Flushes the resampler, the encoder's delay, the last partial frame and trailing pages;
    /// returns the last bytes (the header too, if nothing was pushed).
    ///
    /// # Errors
    /// [`AudioError::Encoder`] if the library fails.
    pub fn finish(mut self) -> Result<Vec<u8>, AudioError> {
        let mut out = std::mem::take(&mut self.pending);
        if let Some(resampler) = self.resampler.take() {
            let mut audio = Vec::new();
            resampler
                .finish(&mut audio)
                .map_err(|e| AudioError::encoder(self.format, e))?;
            clip(&mut audio);
            self.codec.push(&audio, &mut out)?;
        }
        self.codec.finish(&mut out)?;
        Ok(out)
    }
}

impl Codec {
    fn push(&mut self, samples: &[f32], out: &mut Vec<u8>) -> Result<(), AudioError> {
        match self {
            Codec::Pcm | Codec::Wav => {
                append_pcm_s16le(samples, out);
                Ok(())
            }
            Codec::Flac(s) => s.push(samples, out),
            Codec::Opus(s) => s.push(samples, out),
            Codec::Mp3(s) => s.push(samples, out),
            #[cfg(feature = "aac-fdk")]
            Codec::Aac(s) => s.push(samples, out),
        }
    }

    fn finish(self, out: &mut Vec<u8>) -> Result<(), AudioError> {
        match self {
            Codec::Pcm | Codec::Wav => Ok(()),
            Codec::Flac(s) => s.finish(out),
            Codec::Opus(s) => s.finish(out),
            Codec::Mp3(s) => s.finish(out),
            #[cfg(feature = "aac-fdk")]
            Codec::Aac(s) => s.finish(out),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::encode;
    use crate::audio::test_signal::{decode_with_ffmpeg, decode_with_symphonia, sine, tone_power};

    /// Uneven chunk sizes, cycled.
    const CHUNKS: [usize; 7] = [1, 37, 512, 4000, 3, 1024, 999];

    /// 3 s of 220 Hz + 660 Hz at `rate`.
    fn signal(rate: u32) -> Vec<f32> {
        sine(rate, 3.0, &[(220.0, 0.4), (660.0, 0.2)])
    }

    /// Streams `samples` in [`CHUNKS`]; the whole body.
    fn stream_all(format: AudioFormat, rate: u32, samples: &[f32]) -> Vec<u8> {
        let mut encoder = StreamEncoder::new(format, rate).unwrap();
        let mut out = Vec::new();
        let mut rest = samples;
        for &n in CHUNKS.iter().cycle() {
            if rest.is_empty() {
                break;
            }
            let (chunk, tail) = rest.split_at(n.min(rest.len()));
            out.extend(encoder.push(chunk).unwrap());
            rest = tail;
        }
        out.extend(encoder.finish().unwrap());
        out
    }

    fn built() -> impl Iterator<Item = AudioFormat> {
        AudioFormat::ALL.into_iter().filter(|f| f.is_built())
    }

    #[test]
    fn rate_and_content_type_match_the_whole_buffer_encoder() {
        for format in built() {
            for rate in [16_000, 22_050] {
                let encoder = StreamEncoder::new(format, rate).unwrap();
                assert_eq!(encoder.sample_rate(), output_rate(format, rate), "{format}");
                assert_eq!(encoder.content_type(), format.content_type());
            }
        }
    }

    #[test]
    fn the_first_fifth_of_a_second_already_gives_header_and_audio() {
        for format in built() {
            for rate in [16_000, 22_050] {
                let clip = signal(rate);
                let mut encoder = StreamEncoder::new(format, rate).unwrap();
                let first = encoder.push(&clip[..rate as usize / 5]).unwrap();
                // Bigger than any header alone: at least one frame/page of audio is in.
                let header = match format {
                    AudioFormat::Wav => 44,
                    AudioFormat::Flac => 42,
                    AudioFormat::Opus => 47 + 28 + 8 + 8 + 4 + 20,
                    _ => 0,
                };
                assert!(
                    first.len() > header + 50,
                    "{format} at {rate}: {} bytes",
                    first.len()
                );
            }
        }
    }

    #[test]
    fn pcm_streams_the_same_samples_as_the_whole_buffer() {
        for rate in [16_000, 22_050, 24_000] {
            let clip = signal(rate);
            let streamed = stream_all(AudioFormat::Pcm, rate, &clip);
            let whole = encode(AudioFormat::Pcm, &clip, rate).unwrap().bytes;
            assert_eq!(streamed.len(), whole.len(), "{rate}");
            assert_eq!(streamed.len(), 3 * 24_000 * 2);
            let max_diff = streamed
                .chunks_exact(2)
                .zip(whole.chunks_exact(2))
                .map(|(a, b)| {
                    (i32::from(i16::from_le_bytes([a[0], a[1]]))
                        - i32::from(i16::from_le_bytes([b[0], b[1]])))
                    .abs()
                })
                .max()
                .unwrap();
            assert_eq!(max_diff, 0, "{rate}: the same resampler, the same samples");
        }
    }

    #[test]
    fn wav_streams_an_open_ended_header_and_the_same_samples() {
        for rate in [16_000, 22_050] {
            let clip = signal(rate);
            let streamed = stream_all(AudioFormat::Wav, rate, &clip);
            let whole = encode(AudioFormat::Wav, &clip, rate).unwrap().bytes;
            assert_eq!(&streamed[..4], b"RIFF");
            assert_eq!(&streamed[4..8], &[0xff; 4]);
            assert_eq!(&streamed[40..44], &[0xff; 4]);
            // Same format chunk, same samples.
            assert_eq!(&streamed[8..40], &whole[8..40]);
            assert_eq!(&streamed[44..], &whole[44..]);
            if let Some((got_rate, decoded)) = decode_with_ffmpeg(&streamed, "wav") {
                assert_eq!(got_rate, rate);
                assert_eq!(decoded.len(), clip.len());
            }
        }
    }

    #[test]
    fn flac_streams_frames_that_decode_bit_exact() {
        for rate in [16_000, 22_050] {
            let clip = signal(rate);
            let streamed = stream_all(AudioFormat::Flac, rate, &clip);
            let whole = encode(AudioFormat::Flac, &clip, rate).unwrap().bytes;
            // STREAMINFO: min frame size 0 (unknown) and total samples 0 (unknown).
            let info = &streamed[8..];
            assert_eq!(&info[4..7], &[0, 0, 0], "min frame size");
            assert_eq!(info[13] & 0x0f, 0);
            assert_eq!(&info[14..18], &[0, 0, 0, 0], "total samples");
            if let Some((_, by_ffmpeg)) = decode_with_ffmpeg(&streamed, "flac") {
                assert_eq!(by_ffmpeg.len(), clip.len(), "{rate}");
            }
            let (got_rate, decoded) = decode_with_symphonia(streamed, "flac");
            let (_, want) = decode_with_symphonia(whole, "flac");
            assert_eq!(got_rate, rate);
            assert_eq!(decoded, want, "{rate}");
            assert_eq!(decoded.len(), clip.len());
        }
    }

    #[test]
    fn mp3_streams_frames_that_decode_to_the_same_audio() {
        for rate in [16_000, 22_050] {
            let clip = signal(rate);
            let streamed = stream_all(AudioFormat::Mp3, rate, &clip);
            let whole = encode(AudioFormat::Mp3, &clip, rate).unwrap().bytes;
            if let Some((_, by_ffmpeg)) = decode_with_ffmpeg(&streamed, "mp3") {
                assert!(by_ffmpeg.len().abs_diff(clip.len()) <= 1152 + 576, "{rate}");
            }
            let (got_rate, decoded) = decode_with_symphonia(streamed, "mp3");
            let (_, want) = decode_with_symphonia(whole, "mp3");
            assert_eq!(got_rate, rate);
            assert_eq!(want.len(), clip.len());
            // No Info tag: the encoder delay stays in front, padding to a whole frame behind.
            let extra = decoded.len() as i64 - want.len() as i64;
            assert!(
                (0..=(1152 + 576) as i64).contains(&extra),
                "{rate}: {} decoded vs {}",
                decoded.len(),
                want.len()
            );
            let body = &decoded[decoded.len() / 6..decoded.len() * 5 / 6];
            let (p220, p440) = (tone_power(body, rate, 220.0), tone_power(body, rate, 440.0));
            assert!(p220 > 100.0 * p440, "{rate}: {p220} vs {p440}");
            // Same audio as the whole file once the delay is lined up.
            let best = (0..=extra as usize)
                .map(|lag| {
                    let d = &decoded[lag..lag + want.len()];
                    d.iter()
                        .zip(&want)
                        .map(|(a, b)| (a - b).powi(2))
                        .sum::<f32>()
                        / want.len() as f32
                })
                .fold(f32::INFINITY, f32::min);
            assert!(best < 1e-4, "{rate}: mean square difference {best}");
        }
    }

    #[test]
    fn mp3_at_mpeg_1_rates_streams_a_valid_file_too() {
        // rusty_mp3's MPEG-1 bit reservoir may hold frames until `finish`; the file is whole.
        let rate = 44_100;
        let clip = signal(rate);
        let streamed = stream_all(AudioFormat::Mp3, rate, &clip);
        let (got_rate, decoded) = decode_with_symphonia(streamed.clone(), "mp3");
        assert_eq!(got_rate, rate);
        assert!((0..=2 * 1152 + 576).contains(&(decoded.len() - clip.len())));
        if let Some((_, by_ffmpeg)) = decode_with_ffmpeg(&streamed, "mp3") {
            assert!(by_ffmpeg.len().abs_diff(clip.len()) <= 2 * 1152 + 576);
        }
    }

    /// (header type, granule) of every Ogg page, checking sync and sequence numbers.
    fn ogg_pages(b: &[u8]) -> Vec<(u8, i64)> {
        let mut pages = Vec::new();
        let mut pos = 0;
        while pos < b.len() {
            assert_eq!(&b[pos..pos + 4], b"OggS", "page at {pos}");
            let sequence = u32::from_le_bytes(b[pos + 18..pos + 22].try_into().unwrap());
            assert_eq!(sequence as usize, pages.len());
            let granule = i64::from_le_bytes(b[pos + 6..pos + 14].try_into().unwrap());
            let segments = usize::from(b[pos + 26]);
            let body: usize = b[pos + 27..pos + 27 + segments]
                .iter()
                .map(|&l| usize::from(l))
                .sum();
            pages.push((b[pos + 5], granule));
            pos += 27 + segments + body;
        }
        pages
    }

    #[test]
    fn opus_streams_small_pages_with_the_whole_files_granules() {
        for rate in [16_000, 22_050, 48_000] {
            let clip = signal(rate);
            let streamed = stream_all(AudioFormat::Opus, rate, &clip);
            let whole = encode(AudioFormat::Opus, &clip, rate).unwrap().bytes;
            let pages = ogg_pages(&streamed);
            let whole_pages = ogg_pages(&whole);
            assert_eq!(pages[0], (0x02, 0), "OpusHead page, beginning of stream");
            assert_eq!(&streamed[28..36], b"OpusHead");
            assert_eq!(pages[1].1, 0, "OpusTags page");
            let (last_flags, last_granule) = *pages.last().unwrap();
            assert_eq!(last_flags & 0x04, 0x04, "end of stream");
            assert_eq!(last_granule, whole_pages.last().unwrap().1, "{rate}");
            let pre_skip = i64::from(u16::from_le_bytes([streamed[38], streamed[39]]));
            let out_rate = output_rate(AudioFormat::Opus, rate);
            let n = crate::audio::resample(&clip, rate, out_rate).len() as i64;
            assert_eq!(last_granule, pre_skip + n * i64::from(48_000 / out_rate));
            // Granules rise page by page; 3 s in ~60 ms pages.
            assert!(pages.windows(2).all(|w| w[1].1 >= w[0].1));
            assert!(pages.len() >= 40, "{rate}: {} pages", pages.len());
            if let Some((got_rate, decoded)) = decode_with_ffmpeg(&streamed, "opus") {
                let want = 3 * got_rate as usize;
                assert!(
                    decoded.len().abs_diff(want) <= 2,
                    "{rate}: {} vs {want}",
                    decoded.len()
                );
            }
        }
    }

    #[cfg(feature = "aac-fdk")]
    #[test]
    fn aac_streams_the_same_adts_frames_as_the_whole_buffer() {
        for rate in [16_000, 22_050] {
            let clip = signal(rate);
            let streamed = stream_all(AudioFormat::Aac, rate, &clip);
            let whole = encode(AudioFormat::Aac, &clip, rate).unwrap().bytes;
            assert_eq!(streamed, whole, "{rate}");
            let (_, decoded) = decode_with_symphonia(streamed, "aac");
            assert!(decoded.len().abs_diff(clip.len()) <= 3 * 1024 + 2048);
        }
    }

    /// How much audio each format needs before its first audio bytes leave; run with
    /// `cargo test -p tts-function first_bytes_report -- --ignored --nocapture`.
    #[test]
    #[ignore = "latency report, not a check"]
    fn first_bytes_report() {
        for format in built() {
            for rate in [16_000u32, 22_050, 44_100] {
                let clip = signal(rate);
                let mut encoder = StreamEncoder::new(format, rate).unwrap();
                let step = rate as usize / 100;
                let header = encoder.push(&[]).unwrap().len();
                let mut fed = 0;
                let mut sizes = Vec::new();
                for chunk in clip.chunks(step) {
                    fed += chunk.len();
                    let n = encoder.push(chunk).unwrap().len();
                    if n > 0 {
                        sizes.push((fed, n));
                    }
                    if sizes.len() == 3 {
                        break;
                    }
                }
                let ms = |n: usize| n * 1000 / rate as usize;
                let after: Vec<String> = sizes
                    .iter()
                    .map(|&(fed, n)| format!("{} ms ({n} B)", ms(fed)))
                    .collect();
                println!(
                    "{format:>4} @ {rate}: header {header} B, audio bytes after {}",
                    if after.is_empty() {
                        "nothing before finish".to_string()
                    } else {
                        after.join(", ")
                    }
                );
            }
        }
    }

    #[test]
    fn nothing_pushed_still_gives_a_valid_empty_body() {
        for format in built() {
            let encoder = StreamEncoder::new(format, 16_000).unwrap();
            let bytes = encoder.finish().unwrap();
            match format {
                AudioFormat::Pcm => assert!(bytes.is_empty()),
                AudioFormat::Wav => assert_eq!(bytes.len(), 44),
                _ => assert!(!bytes.is_empty(), "{format}"),
            }
        }
    }

    #[test]
    fn wild_samples_and_a_zero_rate_do_not_panic() {
        let wild = [0.0, 3.0, -7.5, f32::NAN, f32::INFINITY, f32::NEG_INFINITY];
        for format in built() {
            let mut encoder = StreamEncoder::new(format, 16_000).unwrap();
            encoder.push(&wild).unwrap();
            encoder.push(&[]).unwrap();
            encoder.finish().unwrap();
            assert!(matches!(
                StreamEncoder::new(format, 0),
                Err(AudioError::InvalidSampleRate { sample_rate: 0, .. })
            ));
        }
        if !AudioFormat::Aac.is_built() {
            assert!(matches!(
                StreamEncoder::new(AudioFormat::Aac, 16_000),
                Err(AudioError::NotBuilt { .. })
            ));
        }
    }
}
