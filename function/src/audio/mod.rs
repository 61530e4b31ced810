//! Audio out of the engine: mono f32 samples to the six OpenAI response formats, plus resampling
//! and pitch-preserving speed change. Pure functions, unit-tested.
//!
//! Knows nothing of HTTP, requests or OpenVINO: callers pass samples and a rate, get bytes back.
//! One concern per file: `format` (names, MIME types), `error`, `encode` (rate policy, dispatch),
//! one file per codec (`pcm`, `wav`, `flac`, `mp3`, `mp3_lame`, `opus`, `aac`), `resample`, `speed`,
//! `stream` (the same formats encoded piece by piece as audio arrives).

#[cfg(feature = "aac-fdk")]
mod aac;
mod encode;
mod error;
mod flac;
mod format;
mod mp3;
#[cfg(feature = "mp3-lame")]
mod mp3_lame;
mod opus;
mod pcm;
mod resample;
mod speed;
mod stream;
#[cfg(test)]
mod test_signal;
mod wav;

pub use encode::{encode, output_rate, Encoded};
pub use error::AudioError;
pub use format::AudioFormat;
pub use pcm::encode_pcm_s16le;
pub use resample::resample;
pub use speed::{change_speed, SpeedStream, MAX_SPEED, MIN_SPEED};
pub use stream::StreamEncoder;
pub use wav::encode_wav_pcm16;
