//! OpenAI-compatible text-to-speech served as an AWS Lambda function: SpeechT5 on OpenVINO.
//!
//! `engine` turns text into samples (no HTTP), `text` prepares text for it, `audio` encodes
//! samples, `captions` turns phoneme durations into word times and captions, `api` is the HTTP contract (no OpenVINO), `config` is the one configuration type,
//! `pipeline` is the global, lazily built set of models that requests share, and `lambda` serves
//! the router under the Lambda runtime API.

pub mod api;
pub mod audio;
pub mod captions;
pub mod config;
pub mod engine;
pub mod lambda;
pub mod pipeline;
pub mod synthesis;
pub mod text;
