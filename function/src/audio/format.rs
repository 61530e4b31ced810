//! The six OpenAI response formats: their wire names, MIME types, and whether this build can encode them.
//!
//! Owns naming only; encoding lives in the per-codec files and the dispatch in `encode.rs`.

use std::fmt;

use super::AudioError;

/// The six OpenAI response formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AudioFormat {
    /// MPEG-1/2 Layer III, OpenAI's default.
    Mp3,
    /// Opus in an Ogg container (RFC 7845).
    Opus,
    /// AAC-LC in ADTS framing.
    Aac,
    /// FLAC, 16-bit.
    Flac,
    /// RIFF WAVE, 16-bit PCM.
    Wav,
    /// Headerless 24 kHz 16-bit little-endian mono PCM.
    Pcm,
}

impl AudioFormat {
    /// Every format, in OpenAI's documentation order.
    pub const ALL: [AudioFormat; 6] = [
        AudioFormat::Mp3,
        AudioFormat::Opus,
        AudioFormat::Aac,
        AudioFormat::Flac,
        AudioFormat::Wav,
        AudioFormat::Pcm,
    ];

    /// Parses an exact lowercase OpenAI name (`"mp3"`, `"opus"`, `"aac"`, `"flac"`, `"wav"`, `"pcm"`).
    pub fn parse(name: &str) -> Option<AudioFormat> {
        AudioFormat::ALL.into_iter().find(|f| f.name() == name)
    }

    /// The OpenAI name of this format, as accepted by [`AudioFormat::parse`].
    pub fn name(self) -> &'static str {
        match self {
            AudioFormat::Mp3 => "mp3",
            AudioFormat::Opus => "opus",
            AudioFormat::Aac => "aac",
            AudioFormat::Flac => "flac",
            AudioFormat::Wav => "wav",
            AudioFormat::Pcm => "pcm",
        }
    }

    /// The `Content-Type` of a response body in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            AudioFormat::Mp3 => "audio/mpeg",
            AudioFormat::Opus => "audio/ogg",
            AudioFormat::Aac => "audio/aac",
            AudioFormat::Flac => "audio/flac",
            AudioFormat::Wav => "audio/wav",
            AudioFormat::Pcm => "audio/pcm",
        }
    }

    /// Whether this build has an encoder for the format (false when its cargo feature is off).
    pub fn is_built(self) -> bool {
        self != AudioFormat::Aac || cfg!(feature = "aac-fdk")
    }

    /// `Ok` when this build has the format's encoder, else [`AudioError::NotBuilt`] naming the
    /// cargo feature that brings it.
    pub fn ensure_built(self) -> Result<(), AudioError> {
        if self.is_built() {
            return Ok(());
        }
        Err(AudioError::NotBuilt {
            format: self,
            feature: match self {
                AudioFormat::Aac => "aac-fdk",
                _ => "default",
            },
        })
    }
}

impl fmt::Display for AudioFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_parses_back_to_its_format() {
        for format in AudioFormat::ALL {
            assert_eq!(AudioFormat::parse(format.name()), Some(format));
            assert!(format.content_type().starts_with("audio/"));
        }
    }

    #[test]
    fn parsing_is_exact_and_lowercase() {
        for bad in ["MP3", "Opus", " wav", "wav ", "ogg", "", "pcm16", "aac "] {
            assert_eq!(AudioFormat::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn only_aac_depends_on_a_feature() {
        for format in AudioFormat::ALL {
            if format != AudioFormat::Aac {
                assert!(format.is_built(), "{format}");
            }
        }
        assert_eq!(AudioFormat::Aac.is_built(), cfg!(feature = "aac-fdk"));
    }
}
