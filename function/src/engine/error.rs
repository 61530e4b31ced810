//! The engine's error type: set-up failures (runtime, model folder, IR signature) that stop the
//! function at start with a message saying how to fix them, request-level faults (unknown voice)
//! and inference failures (wrapping OpenVINO's error as a source, never matched on).

use std::path::PathBuf;

/// Everything that can go wrong in an engine.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The OpenVINO C library is missing or cannot be loaded.
    #[error("OpenVINO runtime library {}: {reason}. Install it with `function/scripts/setup-openvino.sh`, or point OPENVINO_LIB (--openvino-lib) at libopenvino_c.so.2641", path.display())]
    Runtime {
        /// Where the library was looked for.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// OpenVINO could not be set up (core creation, a property, a compile).
    #[error("OpenVINO set-up failed ({what}): {source}")]
    Setup {
        /// What was being set up.
        what: String,
        /// OpenVINO's error.
        #[source]
        source: openvino::InferenceError,
    },
    /// OpenVINO reported a property value this function does not know how to read.
    #[error("OpenVINO reported {what} as {value:?}, which this function does not know")]
    Property {
        /// Which property of what.
        what: &'static str,
        /// The value as OpenVINO printed it.
        value: String,
    },
    /// The model folder is missing or lacks files.
    #[error("model folder {}: {reason}", path.display())]
    ModelFolder {
        /// The folder.
        path: PathBuf,
        /// What is missing or wrong.
        reason: String,
    },
    /// An IR's inputs or outputs are not the ones this engine drives.
    #[error("{} does not have the {kind} this engine needs: missing {missing:?}; it has {found:?}. {fix}", file.display())]
    Signature {
        /// The IR file.
        file: PathBuf,
        /// "inputs" or "outputs".
        kind: &'static str,
        /// Names not found.
        missing: Vec<String>,
        /// Names the IR has.
        found: Vec<String>,
        /// How to get a model that fits.
        fix: &'static str,
    },
    /// The phonemizer (eSpeak NG, a separate process) failed or is not installed.
    #[error("phonemizer: {0}")]
    Phonemizer(String),
    /// The caller asked synthesis to stop (the client went away).
    #[error("synthesis stopped: the client went away")]
    Stopped,
    /// The requested voice is not one this model has.
    #[error("unknown voice {0:?}")]
    UnknownVoice(String),
    /// The input is longer than the model's positions cover.
    #[error("the input is {tokens} tokens long; this model reads at most {max}")]
    InputTooLong {
        /// Tokens in the input.
        tokens: usize,
        /// The model's limit.
        max: usize,
    },
    /// Inference failed at run time.
    #[error("inference failed in the {stage}: {source}")]
    Inference {
        /// The stage (encoder, decoder, postnet, vocoder).
        stage: &'static str,
        /// OpenVINO's error.
        #[source]
        source: openvino::InferenceError,
    },
    /// A model produced a tensor of an unexpected shape or type.
    #[error("the {stage} produced an unexpected tensor: {reason}")]
    Output {
        /// The stage.
        stage: &'static str,
        /// What was unexpected.
        reason: String,
    },
}

impl EngineError {
    /// True when the error is caused by the request rather than by the engine or its set-up.
    pub fn is_client_error(&self) -> bool {
        matches!(self, Self::UnknownVoice(_) | Self::InputTooLong { .. })
    }
}
