//! `espeak-phonemes`: text → IPA phonemes with eSpeak NG, assembled into sentences the way Piper
//! does it, served over stdin/stdout one JSON object per line.
//!
//! Why a separate program under GPL-3.0-or-later: eSpeak NG is GPL-3.0-or-later, and loading it
//! into a process makes that process a combined work. The text-to-speech function is Apache-2.0,
//! so it never loads eSpeak NG itself; it starts this helper and exchanges plain JSON text with it
//! over pipes (an arm's-length communication between separate programs). This program is the only
//! one that loads `libespeak-ng`, at run time with `libloading`, and it is licensed GPL-3.0-or-later
//! accordingly.
//!
//! Protocol:
//! - at start: `{"ready":true,"version":"1.52.0"}`, or `{"error":"…"}` and a non-zero exit;
//! - each request line `{"text":"…","voice":"en-us"}` gets exactly one line back,
//!   `{"sentences":["…", …],"starts":[…]}` (each sentence's phonemes, one codepoint per phoneme,
//!   and the byte offset in the text where it starts) or `{"error":"…"}`;
//! - `{"words":["…", …],"voice":"en-us"}` gets `{"words":["…", …]}`: each word's phonemes read
//!   alone (for word timestamps);
//! - the helper keeps serving after an error and exits at end of input.

mod espeak;
mod piper;

use std::ffi::CString;
use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use serde::Deserialize;
use serde_json::json;

/// Text → Piper-style IPA phonemes with eSpeak NG, as JSON lines on stdin/stdout.
#[derive(Parser)]
#[command(name = "espeak-phonemes", version)]
struct Args {
    /// Path of the eSpeak NG library (libespeak-ng.so.1).
    #[arg(long, env = "ESPEAK_LIBRARY")]
    library: PathBuf,
    /// eSpeak NG data folder (the `espeak-ng-data` folder holding phontab, en_dict, …).
    #[arg(long, env = "ESPEAK_DATA")]
    data: PathBuf,
    /// Log each clause (text offset, raw phonemes) to stderr.
    #[arg(long)]
    trace: bool,
}

/// One request line: a text to read as sentences, or words to read one by one.
#[derive(Deserialize)]
struct Request {
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    words: Option<Vec<String>>,
    voice: String,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let mut out = protocol_stdout();
    let mut espeak = match espeak::Espeak::load(&args.library, &args.data) {
        Ok(espeak) => espeak,
        Err(error) => {
            let _ = writeln!(out, "{}", json!({ "error": error }));
            let _ = out.flush();
            return ExitCode::FAILURE;
        }
    };
    if writeln!(
        out,
        "{}",
        json!({ "ready": true, "version": espeak.version() })
    )
    .and_then(|()| out.flush())
    .is_err()
    {
        return ExitCode::FAILURE;
    }

    let mut voice: Option<String> = None;
    let stdin = std::io::stdin().lock();
    for line in stdin.split(b'\n') {
        let Ok(line) = line else {
            break;
        };
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let reply = match serde_json::from_slice::<Request>(&line) {
            Ok(request) => match answer(&mut espeak, &mut voice, &request, args.trace) {
                Ok(reply) => reply,
                Err(error) => json!({ "error": error }),
            },
            Err(e) => json!({ "error": format!("invalid request: {e}") }),
        };
        if writeln!(out, "{reply}").and_then(|()| out.flush()).is_err() {
            break;
        }
    }
    ExitCode::SUCCESS
}

/// Answers one request, selecting its voice first if it differs from the current one: a text
/// gets `{"sentences":[…],"starts":[…]}` (each sentence's byte offset in the text), words get
/// `{"words":[…]}` (each word's phonemes read alone).
fn answer(
    espeak: &mut espeak::Espeak,
    voice: &mut Option<String>,
    request: &Request,
    trace: bool,
) -> Result<serde_json::Value, String> {
    if voice.as_deref() != Some(request.voice.as_str()) {
        *voice = None;
        espeak.set_voice(&request.voice)?;
        *voice = Some(request.voice.clone());
    }
    match (&request.text, &request.words) {
        (Some(text), None) => {
            let text = c_text(text);
            let clauses = espeak.clauses(&text);
            if trace {
                for clause in &clauses {
                    eprintln!(
                        "clause next={:?} phonemes={:?}",
                        clause.next, clause.phonemes
                    );
                }
            }
            let (sentences, starts): (Vec<String>, Vec<usize>) =
                piper::located_sentences(text.as_bytes(), &clauses)
                    .into_iter()
                    .unzip();
            Ok(json!({ "sentences": sentences, "starts": starts }))
        }
        (None, Some(words)) => {
            let words: Vec<String> = words
                .iter()
                .map(|w| piper::word(&espeak.clauses(&c_text(w))))
                .collect();
            Ok(json!({ "words": words }))
        }
        _ => Err("a request has either \"text\" or \"words\"".into()),
    }
}

/// `text` as a C string: a NUL would end it early; eSpeak reads it as a space would be read.
fn c_text(text: &str) -> CString {
    CString::new(text.replace('\0', " ")).expect("NUL bytes were replaced")
}

/// The protocol channel: the process's original stdout. File descriptor 1 itself is then pointed
/// at stderr, so nothing the library might print can corrupt the protocol.
fn protocol_stdout() -> std::io::BufWriter<std::fs::File> {
    use std::os::fd::FromRawFd;
    // SAFETY: dup/dup2 on the standard descriptors, which are open for the whole process; the
    // duplicate is owned by the returned File alone.
    let file = unsafe {
        let fd = libc::dup(1);
        if fd >= 0 {
            libc::dup2(2, 1);
            std::fs::File::from_raw_fd(fd)
        } else {
            // No duplicate possible: keep using descriptor 1.
            std::fs::File::from_raw_fd(1)
        }
    };
    std::io::BufWriter::new(file)
}
