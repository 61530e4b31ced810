//! What came back and what it counts as: a request's observed answer judged ok (a complete 200 of
//! decodable audio in the asked format), saturated (a well-formed 429), hung up by us, or other.

use serde::Serialize;
use serde_json::Value;

use super::mix::Spec;

/// Why a request hung up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HangUpKind {
    /// The timer fired before the response headers.
    BeforeHeaders,
    /// The timer fired after the headers, while the body was arriving.
    AfterHeaders,
    /// After the first bytes of a streamed body.
    AfterFirstBytes,
}

impl HangUpKind {
    pub(super) fn name(self) -> &'static str {
        match self {
            HangUpKind::BeforeHeaders => "before_headers",
            HangUpKind::AfterHeaders => "after_headers",
            HangUpKind::AfterFirstBytes => "after_first_bytes",
        }
    }
}

/// What the client saw of one request.
#[derive(Clone, Debug, Default)]
pub struct Observed {
    pub status: Option<u16>,
    pub retry_after: Option<String>,
    pub body: Vec<u8>,
    /// The body was read to its end.
    pub complete: bool,
    pub hung_up: Option<HangUpKind>,
    /// A transport failure: ("connection" | "timeout" | "body", the error and its causes).
    pub error: Option<(&'static str, String)>,
    pub ttfb_ms: Option<f64>,
    pub latency_ms: f64,
}

/// The verdict on one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A 200 read to the end whose body is audio of the asked format.
    Ok,
    /// A 429 with `Retry-After` and an OpenAI error body.
    Saturated,
    /// We hung up (not an error).
    HungUp(HangUpKind),
    /// Anything else: a failure of the soak.
    Other(String),
}

impl Outcome {
    pub(super) fn label(&self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Saturated => "saturated",
            Outcome::HungUp(_) => "hung_up",
            Outcome::Other(_) => "other",
        }
    }
}

/// The verdict on what `spec` got back.
pub fn classify(spec: &Spec, seen: &Observed) -> Outcome {
    match (seen.status, &seen.error) {
        (None, Some((kind, detail))) => Outcome::Other(format!("{kind} error: {detail}")),
        (None, None) => match seen.hung_up {
            Some(kind) => Outcome::HungUp(kind),
            None => Outcome::Other("no answer".into()),
        },
        (Some(200), error) => match (seen.hung_up, error) {
            (Some(kind), _) => Outcome::HungUp(kind),
            (None, Some((kind, detail))) => Outcome::Other(format!(
                "truncated 200 ({} bytes, {kind} error): {detail}",
                seen.body.len()
            )),
            (None, None) if !seen.complete => Outcome::Other("truncated 200".into()),
            (None, None) => match check_audio_body(spec, &seen.body) {
                Ok(()) => Outcome::Ok,
                Err(why) => Outcome::Other(format!("invalid 200 body: {why}")),
            },
        },
        (Some(429), error) => {
            if seen
                .retry_after
                .as_deref()
                .and_then(|v| v.trim().parse::<u64>().ok())
                .is_none()
            {
                return Outcome::Other(format!(
                    "429 without a valid Retry-After ({:?})",
                    seen.retry_after
                ));
            }
            if let Some((kind, detail)) = error {
                return Outcome::Other(format!("429 body cut ({kind} error): {detail}"));
            }
            if !seen.complete {
                // We hung up while the (tiny) error body was on its way: the header was right.
                return Outcome::Saturated;
            }
            match check_error_body(&seen.body) {
                Ok(()) => Outcome::Saturated,
                Err(why) => Outcome::Other(format!("429 with {why}")),
            }
        }
        (Some(status), _) => {
            Outcome::Other(format!("status {status}: {}", snippet(&seen.body, 300)))
        }
    }
}

pub(super) fn snippet(body: &[u8], max: usize) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(max)]).into_owned();
    if body.len() > max {
        text + "…"
    } else {
        text
    }
}

/// OpenAI's error shape: `{"error": {"message": string, "type": string, "param", "code"}}`.
pub fn check_error_body(body: &[u8]) -> Result<(), String> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| format!("a body that is not JSON ({e}): {}", snippet(body, 200)))?;
    let error = value
        .get("error")
        .and_then(Value::as_object)
        .ok_or_else(|| format!("no `error` object: {}", snippet(body, 200)))?;
    let string = |key: &str| error.get(key).is_some_and(Value::is_string);
    let nullable = |key: &str| error.get(key).is_some_and(|v| v.is_string() || v.is_null());
    if string("message") && string("type") && nullable("param") && nullable("code") {
        Ok(())
    } else {
        Err(format!(
            "an error object without message/type/param/code: {}",
            snippet(body, 200)
        ))
    }
}

/// Whether a 200 body is what `spec` asked for: a server-sent-event stream must end with
/// `speech.audio.done` and carry no error event; the audio (decoded from the events) must be
/// non-empty and start as its format does (wav: a valid 16-bit PCM RIFF header, its sizes
/// exact for a whole file or 0xFFFFFFFF for a stream).
pub fn check_audio_body(spec: &Spec, body: &[u8]) -> Result<(), String> {
    let audio = match spec.stream {
        Some("sse") => sse_audio(body)?,
        _ => body.to_vec(),
    };
    check_audio(spec.format, &audio, spec.stream.is_some())
}

/// The audio carried by a complete server-sent-event body.
pub(super) fn sse_audio(body: &[u8]) -> Result<Vec<u8>, String> {
    let text = std::str::from_utf8(body).map_err(|_| "an event stream that is not UTF-8")?;
    let mut audio = Vec::new();
    let mut done = false;
    for event in text.split("\n\n").filter(|e| !e.trim().is_empty()) {
        if done {
            return Err("events after speech.audio.done".into());
        }
        let data: String = event
            .lines()
            .filter_map(|l| l.strip_prefix("data:"))
            .map(str::trim)
            .collect();
        let value: Value = serde_json::from_str(&data).map_err(|e| {
            format!(
                "an event that is not JSON ({e}): {}",
                snippet(event.as_bytes(), 200)
            )
        })?;
        match value["type"].as_str() {
            Some("speech.audio.delta") => {
                let b64 = value["audio"].as_str().ok_or("a delta without audio")?;
                audio.extend(base64_decode(b64).ok_or("a delta whose audio is not base64")?);
            }
            Some("speech.audio.done") => done = true,
            _ => return Err(format!("event {}", snippet(data.as_bytes(), 200))),
        }
    }
    if !done {
        return Err("an event stream without speech.audio.done".into());
    }
    Ok(audio)
}

/// Standard padded base64 (`None` when it is not).
pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
    pub(super) fn value(c: u8) -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    }
    let bytes = text.as_bytes();
    if !bytes.len().is_multiple_of(4) {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len() / 4 * 3);
    for (i, quad) in bytes.chunks(4).enumerate() {
        let last = i + 1 == bytes.len() / 4;
        let pad = quad.iter().rev().take_while(|&&c| c == b'=').count();
        if pad > 2 || (pad > 0 && !last) {
            return None;
        }
        let mut n = 0u32;
        for &c in &quad[..4 - pad] {
            n = n << 6 | value(c)?;
        }
        n <<= 6 * pad as u32;
        let three = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&three[..3 - pad]);
    }
    Some(out)
}

/// Whether `audio` looks like `format` (see [`check_audio_body`]).
pub fn check_audio(format: &str, audio: &[u8], streamed: bool) -> Result<(), String> {
    if audio.is_empty() {
        return Err("empty audio".into());
    }
    let starts = |magic: &[u8]| audio.starts_with(magic);
    let ok = match format {
        "wav" => return check_wav(audio, streamed),
        "pcm" => audio.len().is_multiple_of(2),
        "mp3" => starts(b"ID3") || (audio.len() > 1 && audio[0] == 0xFF && audio[1] & 0xE0 == 0xE0),
        "opus" => starts(b"OggS") && audio.get(28..36) == Some(b"OpusHead"),
        "flac" => starts(b"fLaC"),
        "aac" => audio.len() > 1 && audio[0] == 0xFF && audio[1] & 0xF6 == 0xF0,
        _ => return Err(format!("unknown format {format}")),
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{} bytes that do not start as {format} does: {:02x?}",
            audio.len(),
            &audio[..audio.len().min(16)]
        ))
    }
}

pub(super) fn check_wav(wav: &[u8], streamed: bool) -> Result<(), String> {
    if wav.len() < 44 {
        return Err(format!("a {}-byte wav, shorter than its header", wav.len()));
    }
    let u32_at = |i: usize| u32::from_le_bytes([wav[i], wav[i + 1], wav[i + 2], wav[i + 3]]);
    let u16_at = |i: usize| u16::from_le_bytes([wav[i], wav[i + 1]]);
    let (riff, data) = (u32_at(4), u32_at(40));
    let header_ok = &wav[0..4] == b"RIFF"
        && &wav[8..16] == b"WAVEfmt "
        && u32_at(16) == 16
        && u16_at(20) == 1
        && u16_at(22) == 1
        && u32_at(24) > 0
        && u32_at(28) == u32_at(24) * 2
        && u16_at(32) == 2
        && u16_at(34) == 16
        && &wav[36..40] == b"data";
    if !header_ok {
        return Err(format!(
            "not a mono 16-bit PCM RIFF header: {:02x?}",
            &wav[..44]
        ));
    }
    let sizes_ok = if streamed {
        riff == u32::MAX && data == u32::MAX
    } else {
        riff as usize == wav.len() - 8 && data as usize == wav.len() - 44
    };
    if !sizes_ok {
        return Err(format!(
            "RIFF size {riff} and data size {data} in a {}-byte {} wav",
            wav.len(),
            if streamed { "streamed" } else { "whole" }
        ));
    }
    if !(wav.len() - 44).is_multiple_of(2) {
        return Err("an odd number of sample bytes".into());
    }
    Ok(())
}
