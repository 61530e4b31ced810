//! Sending one soak request over HTTP, with its planned hang-up, and recording what was seen.

use std::time::{Duration, Instant, SystemTime};

use serde_json::{json, Value};

use crate::server::utc;
use crate::stats::r3;

use super::mix::{HangUpPlan, Spec};
use super::verdict::{HangUpKind, Observed, Outcome};

/// One finished request.
#[derive(Clone, Debug)]
pub(super) struct Record {
    pub(super) spec: Spec,
    pub(super) burst: bool,
    /// Seconds since the load started, when it was sent and when it ended.
    pub(super) t_s: f64,
    pub(super) end_s: f64,
    pub(super) at: SystemTime,
    /// Body bytes received.
    pub(super) bytes: usize,
    /// What was seen, without the body.
    pub(super) seen: Observed,
    pub(super) outcome: Outcome,
}

impl Record {
    pub(super) fn json(&self) -> Value {
        json!({
            "index": self.spec.index,
            "at": utc(self.at),
            "t_s": r3(self.t_s),
            "end_s": r3(self.end_s),
            "burst": self.burst,
            "format": self.spec.format,
            "stream_format": self.spec.stream,
            "speed": self.spec.speed,
            "class": self.spec.class,
            "input_chars": self.spec.input.chars().count(),
            "input": self.spec.input,
            "hang_up_plan": self.spec.hang_up,
            "status": self.seen.status,
            "outcome": self.outcome.label(),
            "hung_up": self.seen.hung_up.map(HangUpKind::name),
            "reason": match &self.outcome { Outcome::Other(why) => Some(why.as_str()), _ => None },
            "latency_ms": r3(self.seen.latency_ms),
            "ttfb_ms": self.seen.ttfb_ms.map(r3),
            "bytes": self.bytes,
        })
    }
}

/// An error and its causes, one line.
pub(super) fn error_chain(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text += &format!(": {cause}");
        source = cause.source();
    }
    text
}

/// Sends `body` and reads the answer into `seen`; hangs up after the first bytes of a 200 body
/// when `after_first_bytes`. Dropping this future (the timer) closes the connection.
pub(super) async fn exchange(
    client: &reqwest::Client,
    url: &str,
    body: &Value,
    after_first_bytes: bool,
    sent: Instant,
    seen: &mut Observed,
) {
    let ms = || sent.elapsed().as_secs_f64() * 1e3;
    let mut response = match client.post(url).json(body).send().await {
        Ok(response) => response,
        Err(e) => {
            let kind = if e.is_timeout() {
                "timeout"
            } else {
                "connection"
            };
            seen.error = Some((kind, error_chain(&e)));
            return;
        }
    };
    seen.status = Some(response.status().as_u16());
    seen.retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if seen.ttfb_ms.is_none() && !chunk.is_empty() {
                    seen.ttfb_ms = Some(ms());
                }
                seen.body.extend_from_slice(&chunk);
                if after_first_bytes && seen.status == Some(200) && !chunk.is_empty() {
                    seen.hung_up = Some(HangUpKind::AfterFirstBytes);
                    return;
                }
            }
            Ok(None) => {
                seen.complete = true;
                return;
            }
            Err(e) => {
                let kind = if e.is_timeout() { "timeout" } else { "body" };
                seen.error = Some((kind, error_chain(&e)));
                return;
            }
        }
    }
}

/// Sends `spec` and judges the answer.
pub(super) async fn send(
    client: &reqwest::Client,
    url: &str,
    body: &Value,
    spec: &Spec,
) -> Observed {
    let sent = Instant::now();
    let mut seen = Observed::default();
    let after_first_bytes = spec.hang_up == Some(HangUpPlan::AfterFirstBytes);
    let work = exchange(client, url, body, after_first_bytes, sent, &mut seen);
    match spec.hang_up {
        Some(HangUpPlan::Timer { after_ms }) => {
            if tokio::time::timeout(Duration::from_millis(after_ms), work)
                .await
                .is_err()
            {
                seen.hung_up = Some(if seen.status.is_none() {
                    HangUpKind::BeforeHeaders
                } else {
                    HangUpKind::AfterHeaders
                });
            }
        }
        _ => work.await,
    }
    seen.latency_ms = sent.elapsed().as_secs_f64() * 1e3;
    seen
}
