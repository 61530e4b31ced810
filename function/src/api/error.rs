//! Every error the HTTP contract can answer, and the one table mapping each to a status, an
//! OpenAI error `type`, `param` and `code`. Bodies have OpenAI's shape
//! `{"error":{"message","type","param","code"}}`; internal faults are logged, never leaked.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An error answered to the client.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The body is not valid JSON.
    #[error("We could not parse the JSON body of your request ({0}). Send a JSON object such as {{\"model\": \"tts-1\", \"input\": \"Hello\", \"voice\": \"alloy\"}}.")]
    InvalidJson(String),
    /// A field is missing, of the wrong type or out of range.
    #[error("{message}")]
    InvalidField {
        /// The field.
        param: &'static str,
        /// OpenAI-style code.
        code: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// The model name is not one this function serves.
    #[error(
        "The model '{0}' does not exist. GET /v1/models lists the models this function serves."
    )]
    ModelNotFound(String),
    /// The voice is not one the model has.
    #[error("Unknown voice '{voice}' for model '{model}'. GET /v1/audio/voices lists the voices.")]
    UnknownVoice {
        /// The voice asked for.
        voice: String,
        /// The model.
        model: String,
    },
    /// The format's encoder was left out of this build.
    #[error("response_format '{0}' is not available in this build of the function (its encoder is a cargo feature that was not enabled); choose mp3, opus, flac, wav or pcm.")]
    FormatNotBuilt(&'static str),
    /// Nothing is served at this path.
    #[error("Unknown request URL: {method} {path}. Use POST /v1/audio/speech.")]
    RouteNotFound {
        /// The method.
        method: String,
        /// The path.
        path: String,
    },
    /// The path exists but not for this method.
    #[error("Method {method} is not allowed for {path}.")]
    MethodNotAllowed {
        /// The method.
        method: String,
        /// The path.
        path: String,
    },
    /// The body is not JSON by its content type.
    #[error("Unsupported Content-Type '{0}': send the request body as JSON with 'Content-Type: application/json'.")]
    UnsupportedMediaType(String),
    /// The request body is larger than allowed.
    #[error("The request body is larger than {max} bytes.")]
    BodyTooLarge {
        /// The limit.
        max: usize,
    },
    /// The audio would not fit in a buffered response.
    #[error("The audio is {bytes} bytes, more than a buffered response can carry ({max} bytes after base64 encoding). Shorten the input, choose a compressed response_format such as mp3 or opus, or use streaming.")]
    ResponseTooLarge {
        /// Size of the encoded audio.
        bytes: usize,
        /// The limit.
        max: usize,
    },
    /// Every synthesis place is taken, or no slot came free within the queue timeout.
    #[error("{}", saturated_message(*retry_after_secs, *waited_secs))]
    Saturated {
        /// Seconds to wait before retrying.
        retry_after_secs: u32,
        /// How long the request waited for a slot (`None`: the queue was full).
        waited_secs: Option<u32>,
    },
    /// The request ran past its time limit; its synthesis was stopped.
    #[error("The request took longer than {secs} s, this function's time limit, and was stopped. Shorten the input, split it into several requests, or use streaming (stream_format).")]
    TimedOut {
        /// The limit, in seconds.
        secs: u32,
    },
    /// Word timestamps were asked of a model without durations.
    #[error("{}", no_timestamps_message(model, with))]
    NoTimestamps {
        /// The model asked.
        model: String,
        /// The served models that have them.
        with: Vec<String>,
    },
    /// No `Authorization: Bearer` header while API keys are configured.
    #[error("You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).")]
    MissingApiKey,
    /// A key that is not one of the configured ones.
    #[error("Incorrect API key provided. Use one of the keys this function was configured with (TTS_API_KEY or TTS_API_KEY_FILE).")]
    InvalidApiKey,
    /// An internal fault (already logged with its cause).
    #[error("The server had an error while processing your request. Please retry.")]
    Internal,
}

fn no_timestamps_message(model: &str, with: &[String]) -> String {
    let which = match with {
        [] => "none of the models this function serves has them".to_owned(),
        [one] => format!("use model '{one}'"),
        many => format!("use one of the models {}", many.join(", ")),
    };
    format!("Model '{model}' has no word timestamps (it has no duration model; they come from Piper voices): {which}, or ask without timestamps (no word_timestamps on /v1/audio/speech, \"return_timestamps\": false on /dev/captioned_speech).")
}

impl ApiError {
    /// The one table: status, OpenAI error type, param and code.
    fn classify(
        &self,
    ) -> (
        StatusCode,
        &'static str,
        Option<&'static str>,
        Option<&'static str>,
    ) {
        use StatusCode as S;
        const INVALID: &str = "invalid_request_error";
        match self {
            Self::InvalidJson(_) => (S::BAD_REQUEST, INVALID, None, Some("invalid_json")),
            Self::InvalidField { param, code, .. } => {
                (S::BAD_REQUEST, INVALID, Some(param), Some(code))
            }
            Self::NoTimestamps { .. } => (
                S::BAD_REQUEST,
                INVALID,
                Some("model"),
                Some("timestamps_unsupported"),
            ),
            Self::ModelNotFound(_) => (
                S::NOT_FOUND,
                INVALID,
                Some("model"),
                Some("model_not_found"),
            ),
            Self::UnknownVoice { .. } => (
                S::BAD_REQUEST,
                INVALID,
                Some("voice"),
                Some("invalid_value"),
            ),
            Self::FormatNotBuilt(_) => (
                S::BAD_REQUEST,
                INVALID,
                Some("response_format"),
                Some("unsupported_value"),
            ),
            Self::RouteNotFound { .. } => (S::NOT_FOUND, INVALID, None, Some("unknown_url")),
            Self::MethodNotAllowed { .. } => (
                S::METHOD_NOT_ALLOWED,
                INVALID,
                None,
                Some("method_not_allowed"),
            ),
            Self::UnsupportedMediaType(_) => (
                S::UNSUPPORTED_MEDIA_TYPE,
                INVALID,
                None,
                Some("unsupported_media_type"),
            ),
            Self::BodyTooLarge { .. } => (
                S::PAYLOAD_TOO_LARGE,
                INVALID,
                None,
                Some("request_too_large"),
            ),
            Self::ResponseTooLarge { .. } => (
                S::PAYLOAD_TOO_LARGE,
                INVALID,
                Some("input"),
                Some("response_too_large"),
            ),
            Self::Saturated { .. } => (
                S::TOO_MANY_REQUESTS,
                "rate_limit_error",
                None,
                Some("rate_limit_exceeded"),
            ),
            Self::TimedOut { .. } => (S::GATEWAY_TIMEOUT, "server_error", None, Some("timeout")),
            Self::MissingApiKey => (S::UNAUTHORIZED, INVALID, None, Some("missing_api_key")),
            Self::InvalidApiKey => (S::UNAUTHORIZED, INVALID, None, Some("invalid_api_key")),
            Self::Internal => (S::INTERNAL_SERVER_ERROR, "server_error", None, None),
        }
    }

    /// Shorthand for an invalid field with code `invalid_value`.
    pub fn field(param: &'static str, message: impl Into<String>) -> Self {
        Self::InvalidField {
            param,
            code: "invalid_value",
            message: message.into(),
        }
    }

    /// Logs an internal fault with its cause and returns the error the client sees.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(cause = %cause, "internal error");
        Self::Internal
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.classify().0
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, kind, param, code) = self.classify();
        let body = json!({"error": {"message": self.to_string(), "type": kind, "param": param, "code": code}});
        let mut response = (status, axum::Json(body)).into_response();
        match self {
            Self::Saturated {
                retry_after_secs, ..
            } => {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            }
            Self::MissingApiKey => {
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"tts\""),
                );
            }
            Self::InvalidApiKey => {
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"tts\", error=\"invalid_token\""),
                );
            }
            _ => {}
        }
        response
    }
}

fn saturated_message(retry_after_secs: u32, waited_secs: Option<u32>) -> String {
    match waited_secs {
        None => format!("The function is busy: every synthesis slot and queue place is taken. Retry after {retry_after_secs} s."),
        Some(waited) => format!("The function is busy: no synthesis slot came free within {waited} s. Retry after {retry_after_secs} s."),
    }
}

/// The answer for a panic in a handler (tower-http's catch-panic layer): a 500 in OpenAI's shape,
/// the panic logged.
pub fn panic_response(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into());
    ApiError::internal(format!("handler panicked: {message}")).into_response()
}
