//! What can go wrong while encoding audio. Carries no HTTP notion: the API layer maps it to a status.

use super::AudioFormat;

/// An encoding failure.
#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    /// The format's encoder was left out of this build (its cargo feature is off).
    #[error("response format {format} is not available in this build (cargo feature `{feature}`)")]
    NotBuilt {
        /// The requested format.
        format: AudioFormat,
        /// The cargo feature that would build its encoder.
        feature: &'static str,
    },
    /// The sample rate handed in cannot be encoded (zero).
    #[error("cannot encode {format} from a sample rate of {sample_rate} Hz")]
    InvalidSampleRate {
        /// The requested format.
        format: AudioFormat,
        /// The offending rate.
        sample_rate: u32,
    },
    /// The encoder library reported an error.
    #[error("{format} encoder failed: {reason}")]
    Encoder {
        /// The requested format.
        format: AudioFormat,
        /// The library's message.
        reason: String,
    },
}

impl AudioError {
    /// An [`AudioError::Encoder`] from any displayable library error.
    pub(crate) fn encoder(format: AudioFormat, reason: impl std::fmt::Display) -> AudioError {
        AudioError::Encoder {
            format,
            reason: reason.to_string(),
        }
    }
}
