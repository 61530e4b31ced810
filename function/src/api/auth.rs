//! Who may call the function: the optional API key (`Authorization: Bearer <key>`, several keys
//! allowed, compared as SHA-256 digests in constant time, never logged; `/health` and CORS
//! preflights stay open) and CORS for an explicit list of browser origins (off by default).

use axum::extract::{Request, State};
use axum::http::{header, HeaderName, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::Digest as _;
use subtle::ConstantTimeEq as _;
use tower_http::cors::{AllowHeaders, AllowOrigin, CorsLayer};

use super::{ApiError, AppState};
use crate::config::Access;

/// Paths answered without a key: the health check load balancers and Lambda probes use, and
/// the playground page (which asks for the key when the API answers 401).
const OPEN_PATHS: [&str; 2] = ["/health", "/"];

/// Response headers a browser page may read (timings and the model that answered).
const EXPOSED: [&str; 8] = [
    "x-audio-duration-seconds",
    "x-audio-sample-rate",
    "x-processing-seconds",
    "x-real-time-factor",
    "x-tts-model",
    "x-tts-voice",
    "x-tts-voice-fallback",
    "retry-after",
];

/// Whether `presented` is one of the keys whose digests are `accepted`. Every key is compared,
/// each in constant time over fixed-length digests, so neither the timing nor the length of the
/// presented key tells how close it came.
pub fn key_matches(accepted: &[[u8; 32]], presented: &str) -> bool {
    let digest: [u8; 32] = sha2::Sha256::digest(presented.as_bytes()).into();
    accepted
        .iter()
        .fold(subtle::Choice::from(0), |found, key| {
            found | key.ct_eq(&digest)
        })
        .into()
}

/// The middleware: with keys configured, every route but [`OPEN_PATHS`] (and CORS preflights)
/// needs `Authorization: Bearer <one of them>`; otherwise 401.
pub async fn require_key(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let keys = &state.access.key_digests;
    if keys.is_empty()
        || OPEN_PATHS.contains(&request.uri().path())
        || request.method() == Method::OPTIONS
    {
        return next.run(request).await;
    }
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .and_then(|v| {
            let (scheme, token) = v.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        });
    match presented {
        Some(token) if key_matches(keys, token) => next.run(request).await,
        Some(_) => ApiError::InvalidApiKey.into_response(),
        None => ApiError::MissingApiKey.into_response(),
    }
}

/// CORS for the configured origins, or `None` when none is configured (no CORS headers at all).
pub fn cors(access: &Access) -> Option<CorsLayer> {
    if access.cors_origins.is_empty() {
        return None;
    }
    let origin = if access.cors_origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(
            access
                .cors_origins
                .iter()
                .filter_map(|o| HeaderValue::from_str(o).ok()),
        )
    };
    Some(
        CorsLayer::new()
            .allow_origin(origin)
            .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
            // The headers the page asks for: the OpenAI JS SDK in a browser sends its own
            // (`x-stainless-*`, `openai-organization`, ...) besides Authorization and
            // Content-Type, and a fixed list would fail its preflight. The origin list is
            // what guards the function.
            .allow_headers(AllowHeaders::mirror_request())
            .expose_headers(EXPOSED.map(HeaderName::from_static))
            .max_age(std::time::Duration::from_secs(600)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digests(keys: &[&str]) -> Vec<[u8; 32]> {
        keys.iter()
            .map(|k| sha2::Sha256::digest(k.as_bytes()).into())
            .collect()
    }

    #[test]
    fn any_configured_key_matches_and_nothing_else_does() {
        let keys = digests(&["sk-one", "sk-two"]);
        assert!(key_matches(&keys, "sk-one"));
        assert!(key_matches(&keys, "sk-two"));
        for wrong in ["", "sk-on", "sk-one ", "SK-ONE", "sk-onesk-two", "sk-three"] {
            assert!(!key_matches(&keys, wrong), "{wrong:?}");
        }
        assert!(!key_matches(&[], "sk-one"));
    }
}
