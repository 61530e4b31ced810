//! `GET /`: the speech playground, one self-contained page served by the function (inline CSS
//! and script, nothing fetched from elsewhere, a strict Content-Security-Policy that allows
//! exactly its own script and style by their SHA-256). It calls the function's own API:
//! `/v1/models` and `/v1/audio/voices` for the pickers, `/v1/audio/speech` with SSE and
//! `word_timestamps` to play while the audio is made and light up the words, and
//! `/dev/captioned_speech` for whole answers with words. Off with `TTS_PLAYGROUND=false`.
//!
//! The page is open (no API key: it asks for one when the API answers 401, and keeps it in the
//! tab's session storage).

use axum::extract::State;
use axum::http::{header, HeaderValue, Method};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use sha2::{Digest, Sha256};

use super::{ApiError, AppState};

const HTML: &str = include_str!("page.html");
const STYLE: &str = include_str!("page.css");
const SCRIPT: &str = include_str!("page.js");

/// The page, rendered once at start, and its Content-Security-Policy.
#[derive(Debug)]
pub struct Playground {
    html: String,
    policy: HeaderValue,
}

/// `'sha256-…'` of `text`, as a CSP source.
fn hash_source(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

impl Playground {
    /// The page for a function whose inputs may be `max_input_chars` long and whose responses
    /// may stream (`streaming`) or not (buffered Lambda: the page turns streaming off).
    pub fn new(max_input_chars: usize, streaming: bool) -> Self {
        let html = HTML
            .replace("{{MAX_INPUT}}", &max_input_chars.to_string())
            .replace("{{STREAMING}}", if streaming { "true" } else { "false" })
            .replace("{{STYLE}}", STYLE)
            .replace("{{SCRIPT}}", SCRIPT);
        let policy = format!(
            "default-src 'none'; script-src {}; style-src {}; connect-src 'self' blob:; \
             media-src 'self' blob:; img-src data:; base-uri 'none'; form-action 'none'; \
             frame-ancestors 'none'",
            hash_source(SCRIPT),
            hash_source(STYLE)
        );
        Self {
            html,
            policy: HeaderValue::from_str(&policy).expect("the policy is ASCII"),
        }
    }
}

/// `GET /` (and `HEAD /`): the page, or 404 when it is switched off.
pub async fn page(State(state): State<AppState>, method: Method) -> Response {
    let Some(playground) = state.playground.as_deref() else {
        return ApiError::RouteNotFound {
            method: method.to_string(),
            path: "/".into(),
        }
        .into_response();
    };
    let mut response = playground.html.clone().into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(header::CONTENT_SECURITY_POLICY, playground.policy.clone());
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_holds_its_script_and_style_and_the_policy_allows_exactly_them() {
        let page = Playground::new(4096, true);
        assert!(page
            .html
            .contains(r#"<meta name="tts-max-input" content="4096">"#));
        assert!(page
            .html
            .contains(r#"<meta name="tts-streaming" content="true">"#));
        assert!(!page.html.contains("{{"), "a placeholder is left");
        let script = format!("<script>{SCRIPT}</script>");
        let style = format!("<style>{STYLE}</style>");
        assert!(page.html.contains(&script) && page.html.contains(&style));
        let policy = page.policy.to_str().unwrap();
        assert!(policy.contains(&hash_source(SCRIPT)) && policy.contains(&hash_source(STYLE)));
        assert!(policy.starts_with("default-src 'none';"));
        // Nothing external: no URL of another origin anywhere in the page.
        for scheme in ["http://", "https://", "//cdn", "src=\"http"] {
            assert!(!page.html.contains(scheme), "{scheme} in the page");
        }
        assert!(Playground::new(10, false)
            .html
            .contains(r#"<meta name="tts-streaming" content="false">"#));
    }
}
