//! Fault injection for the reliability tests, in debug builds only (release builds, and so the
//! Lambda package, do not contain it): `TTS_FAULTS=fail:WORD,panic:WORD` wraps every engine so
//! that an input containing WORD fails its first piece with an inference error, or panics in it,
//! as a corrupt model or a bug in an engine would. The words never reach the real engine.

use std::sync::Arc;

use super::{
    Chunk, EngineError, ModelInfo, Runtime, SpeechEngine, Stop, Streamed, Synthesis, WordedPiece,
    WordedText,
};

/// The piece that stands for an injected fault (no prepared text starts with NUL).
const FAIL: &str = "\0fault:fail";
const PANIC: &str = "\0fault:panic";

/// The faults asked for in `TTS_FAULTS`: (words that fail, words that panic).
#[derive(Clone, Debug, Default)]
pub struct Faults {
    fail: Vec<String>,
    panic: Vec<String>,
}

impl Faults {
    /// Reads `TTS_FAULTS`; `None` when unset or empty.
    pub fn from_env() -> Option<Self> {
        let spec = std::env::var("TTS_FAULTS").ok()?;
        let mut faults = Faults::default();
        for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            match item.split_once(':') {
                Some(("fail", word)) if !word.is_empty() => faults.fail.push(word.to_owned()),
                Some(("panic", word)) if !word.is_empty() => faults.panic.push(word.to_owned()),
                _ => tracing::warn!(item, "TTS_FAULTS: not fail:WORD or panic:WORD; ignored"),
            }
        }
        (!faults.fail.is_empty() || !faults.panic.is_empty()).then_some(faults)
    }

    /// `engine`, failing or panicking on the configured words.
    pub fn wrap(&self, engine: Arc<dyn SpeechEngine>) -> Arc<dyn SpeechEngine> {
        tracing::warn!(faults = ?self, "fault injection is on (TTS_FAULTS)");
        Arc::new(Faulty {
            inner: engine,
            faults: self.clone(),
        })
    }
}

struct Faulty {
    inner: Arc<dyn SpeechEngine>,
    faults: Faults,
}

impl Faulty {
    /// The fault piece `text` asks for, if any.
    fn fault_for(&self, text: &str) -> Option<&'static str> {
        if self.faults.panic.iter().any(|w| text.contains(w.as_str())) {
            Some(PANIC)
        } else if self.faults.fail.iter().any(|w| text.contains(w.as_str())) {
            Some(FAIL)
        } else {
            None
        }
    }

    fn check(piece: &str) -> Result<(), EngineError> {
        match piece {
            FAIL => Err(EngineError::Output {
                stage: "injected fault",
                reason: "TTS_FAULTS asked this inference to fail".into(),
            }),
            PANIC => panic!("TTS_FAULTS asked this inference to panic"),
            _ => Ok(()),
        }
    }
}

impl SpeechEngine for Faulty {
    fn info(&self) -> &ModelInfo {
        self.inner.info()
    }

    fn prepare(&self, text: &str) -> Result<Vec<String>, EngineError> {
        let mut pieces = self.inner.prepare(text)?;
        if let Some(fault) = self.fault_for(text) {
            pieces.insert(0, fault.into());
        }
        Ok(pieces)
    }

    fn prepare_words(&self, text: &str) -> Result<Option<WordedText>, EngineError> {
        let mut worded = self.inner.prepare_words(text)?;
        if let (Some(worded), Some(fault)) = (worded.as_mut(), self.fault_for(text)) {
            worded.pieces.insert(
                0,
                WordedPiece {
                    text: fault.into(),
                    words: Vec::new(),
                },
            );
        }
        Ok(worded)
    }

    fn synthesize(&self, piece: &str, voice: &str, speed: f32) -> Result<Synthesis, EngineError> {
        Self::check(piece)?;
        self.inner.synthesize(piece, voice, speed)
    }

    fn synthesize_stream(
        &self,
        piece: &str,
        voice: &str,
        speed: f32,
        stop: &Stop,
        sink: &mut dyn FnMut(Chunk<'_>),
    ) -> Result<Streamed, EngineError> {
        Self::check(piece)?;
        self.inner
            .synthesize_stream(piece, voice, speed, stop, sink)
    }

    fn after_restore(&self, runtime: &Runtime) -> Result<(), EngineError> {
        self.inner.after_restore(runtime)
    }
}
