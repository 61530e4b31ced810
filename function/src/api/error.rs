//! Every error the HTTP contract can answer, and the one table mapping each to a status, an
//! OpenAI error `type`, `param` and `code`. Bodies have OpenAI's shape
//! `{"error":{"message","type","param","code"}}`; internal faults are logged, never leaked.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An error answered to the client.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The body is not valid JSON.
    #[error("We could not parse the JSON body of your request: {0}. Send a JSON object such as {{\"model\": \"tts-1\", \"input\": \"Hello\", \"voice\": \"alloy\"}}.")]
    InvalidJson(String),
    /// A field is missing, of the wrong type or out of range.
    #[error("{message}")]
    InvalidField {
        /// The field.
        param: &'static str,
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
    /// The engine failed: logged with its cause, answered without it.
    #[error("The server had an error while processing your request. Please retry.")]
    Internal,
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
            Self::InvalidField { param, .. } => {
                (S::BAD_REQUEST, INVALID, Some(param), Some("invalid_value"))
            }
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
            Self::Internal => (S::INTERNAL_SERVER_ERROR, "server_error", None, None),
        }
    }

    /// Shorthand for [`ApiError::InvalidField`].
    pub fn field(param: &'static str, message: impl Into<String>) -> Self {
        Self::InvalidField {
            param,
            message: message.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, kind, param, code) = self.classify();
        let body = json!({"error": {"message": self.to_string(), "type": kind, "param": param, "code": code}});
        (status, axum::Json(body)).into_response()
    }
}
