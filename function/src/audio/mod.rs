//! Audio out of the engine: f32 samples to container formats. Pure functions, unit-tested.

mod wav;

pub use wav::encode_wav_pcm16;
