//! Phonemes for Piper voices from eSpeak NG, through the separate `espeak-phonemes` helper process.
//!
//! eSpeak NG is GPL-3.0-or-later and this function is Apache-2.0, so this module never loads the
//! library: it starts the helper (its own GPL program, `function/espeak-phonemes`) and exchanges
//! JSON lines with it over pipes. Must not import eSpeak bindings, the engine or HTTP types.
//!
//! eSpeak is global state and not thread-safe, so one helper serves one request at a time behind
//! a mutex; a request takes about a millisecond. Hold no lock of this module during inference.

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Mutex;
use std::time::Duration;

use crate::config::normalize_path;

/// File name of the helper binary.
pub const HELPER_NAME: &str = "espeak-phonemes";
/// File name of the eSpeak NG library installed by `function/scripts/setup-espeak.sh`.
pub const LIBRARY_NAME: &str = "libespeak-ng.so.1";
/// Folder name of eSpeak NG's data.
pub const DATA_NAME: &str = "espeak-ng-data";

/// The command that installs the eSpeak NG library and data.
const INSTALL_ESPEAK: &str = "bash function/scripts/setup-espeak.sh";
/// The command that builds the helper.
const BUILD_HELPER: &str = "cargo build --release -p espeak-phonemes";
/// How long the helper may take to load eSpeak NG and say it is ready.
const START_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one request may take (a 10 000-character text takes well under a second).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// The repository this library was built from (for development defaults).
const REPO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

/// Failures of phonemization with eSpeak NG.
#[derive(Debug, thiserror::Error)]
pub enum EspeakError {
    /// A file or folder is missing; says which, and the command that installs it.
    #[error("{what} not found at {}: run `{install}` (or set {env})", path.display())]
    NotInstalled {
        /// What is missing, e.g. "eSpeak NG library".
        what: &'static str,
        /// Where it was expected (the last place looked, or the path the variable named).
        path: PathBuf,
        /// The command that installs it.
        install: &'static str,
        /// The environment variable that overrides the location.
        env: &'static str,
    },
    /// The helper could not be started.
    #[error("cannot start the eSpeak NG helper {}: {source}", path.display())]
    Spawn {
        /// The helper's path.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The helper started but did not become ready (bad library or data, crash, timeout).
    #[error("the eSpeak NG helper did not start: {0}")]
    Startup(String),
    /// The helper answered a request with an error (e.g. an unknown voice).
    #[error("eSpeak NG: {0}")]
    Helper(String),
    /// The helper exited while a request was pending.
    #[error("the eSpeak NG helper exited")]
    Exited,
    /// The helper did not answer in time (it was stopped).
    #[error("the eSpeak NG helper did not answer within {0:?}")]
    Timeout(Duration),
    /// Writing to the helper failed.
    #[error("talking to the eSpeak NG helper: {0}")]
    Io(#[from] std::io::Error),
    /// The helper wrote something that is not a protocol line.
    #[error("unexpected line from the eSpeak NG helper: {0}")]
    Protocol(String),
}

/// Where the helper, the eSpeak NG library and its data are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EspeakConfig {
    /// The `espeak-phonemes` binary.
    pub helper: PathBuf,
    /// `libespeak-ng.so.1`.
    pub library: PathBuf,
    /// The `espeak-ng-data` folder.
    pub data: PathBuf,
}

impl EspeakConfig {
    /// Finds the three paths. Each comes from its environment variable (`TTS_ESPEAK_PHONEMIZER`,
    /// `TTS_ESPEAK_LIBRARY`, `TTS_ESPEAK_DATA`) if set, else the first that exists of: beside the
    /// executable (`espeak-phonemes`, `espeak/lib/`, `espeak/espeak-ng-data/`), `/opt/espeak/`
    /// (a Lambda layer: `espeak-phonemes`, `lib/`, `espeak-ng-data/`), the repository's
    /// `target/{release,debug}/espeak-phonemes` and `.espeak/`.
    pub fn discover() -> Result<Self, EspeakError> {
        let exe_dir = std::env::current_exe()
            .ok()
            .and_then(|exe| exe.parent().map(Path::to_owned));
        let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
        Self::resolve(exe_dir.as_deref(), Path::new(REPO), var)
    }

    /// [`EspeakConfig::discover`] with the executable's folder, the repository and the
    /// environment given.
    fn resolve(
        exe_dir: Option<&Path>,
        repo: &Path,
        var: impl Fn(&str) -> Option<OsString>,
    ) -> Result<Self, EspeakError> {
        let opt = Path::new("/opt/espeak");
        let beside = |rel: &str| exe_dir.map(|dir| dir.join(rel));
        let helper = find(
            Wanted {
                what: "eSpeak NG helper (espeak-phonemes)",
                env: "TTS_ESPEAK_PHONEMIZER",
                install: BUILD_HELPER,
                folder: false,
            },
            var("TTS_ESPEAK_PHONEMIZER"),
            beside(HELPER_NAME).into_iter().chain([
                opt.join(HELPER_NAME),
                repo.join("target/release").join(HELPER_NAME),
                repo.join("target/debug").join(HELPER_NAME),
            ]),
        )?;
        let library = find(
            Wanted {
                what: "eSpeak NG library",
                env: "TTS_ESPEAK_LIBRARY",
                install: INSTALL_ESPEAK,
                folder: false,
            },
            var("TTS_ESPEAK_LIBRARY"),
            beside("espeak/lib")
                .into_iter()
                .chain([opt.join("lib"), repo.join(".espeak/lib")])
                .map(|dir| dir.join(LIBRARY_NAME)),
        )?;
        let data = find(
            Wanted {
                what: "eSpeak NG data",
                env: "TTS_ESPEAK_DATA",
                install: INSTALL_ESPEAK,
                folder: true,
            },
            var("TTS_ESPEAK_DATA"),
            beside("espeak")
                .into_iter()
                .chain([opt.to_owned(), repo.join(".espeak")])
                .map(|dir| dir.join(DATA_NAME)),
        )?;
        Ok(Self {
            helper,
            library,
            data,
        })
    }
}

/// One path [`EspeakConfig::resolve`] looks for.
struct Wanted {
    what: &'static str,
    env: &'static str,
    install: &'static str,
    folder: bool,
}

/// The variable's path if set (it must exist), else the first existing candidate.
fn find(
    wanted: Wanted,
    from_env: Option<OsString>,
    candidates: impl Iterator<Item = PathBuf>,
) -> Result<PathBuf, EspeakError> {
    let exists = |p: &Path| {
        if wanted.folder {
            p.is_dir()
        } else {
            p.is_file()
        }
    };
    let missing = |path: PathBuf| EspeakError::NotInstalled {
        what: wanted.what,
        path,
        install: wanted.install,
        env: wanted.env,
    };
    if let Some(path) = from_env.map(PathBuf::from) {
        return if exists(&path) {
            Ok(path)
        } else {
            Err(missing(path))
        };
    }
    let mut last = None;
    for path in candidates {
        if exists(&path) {
            return Ok(path);
        }
        last = Some(path);
    }
    Err(missing(normalize_path(&last.unwrap_or_default())))
}

/// eSpeak NG behind its helper process. `Send + Sync`: requests are serialized by a mutex.
pub struct Espeak {
    config: EspeakConfig,
    version: String,
    helper: Mutex<Option<Helper>>,
}

impl std::fmt::Debug for Espeak {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Espeak")
            .field("config", &self.config)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

impl Espeak {
    /// Starts the helper and waits (up to 10 s) until it has loaded eSpeak NG.
    pub fn start(config: &EspeakConfig) -> Result<Self, EspeakError> {
        let (helper, version) = Helper::spawn(config)?;
        Ok(Self {
            config: config.clone(),
            version,
            helper: Mutex::new(Some(helper)),
        })
    }

    /// eSpeak NG's version as the helper reported it, e.g. `1.52.0`.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The helper's process id, while one runs (for logs and tests).
    pub fn helper_id(&self) -> Option<u32> {
        self.lock().as_ref().map(|h| h.child.id())
    }

    /// Phonemizes `text` with the eSpeak voice `voice` (e.g. `en-us`): one string per sentence,
    /// assembled as Piper does (each codepoint one phoneme, clause punctuation included). If the
    /// helper has died it is restarted once and the request retried.
    pub fn phonemize(&self, text: &str, voice: &str) -> Result<Vec<String>, EspeakError> {
        parse_reply(&self.exchange(&request_line(text, voice))?)
    }

    /// [`Self::phonemize`], each sentence with the byte offset in `text` where it starts.
    pub fn phonemize_located(
        &self,
        text: &str,
        voice: &str,
    ) -> Result<Vec<(String, usize)>, EspeakError> {
        let line = self.exchange(&request_line(text, voice))?;
        let sentences = parse_reply(&line)?;
        #[derive(serde::Deserialize)]
        struct Starts {
            starts: Vec<usize>,
        }
        let starts = serde_json::from_str::<Starts>(&line)
            .ok()
            .filter(|s| s.starts.len() == sentences.len())
            .ok_or_else(|| EspeakError::Protocol(line.clone()))?
            .starts;
        Ok(sentences.into_iter().zip(starts).collect())
    }

    /// Each of `words` read alone (its phonemes, no punctuation), in order.
    pub fn phonemize_words(&self, words: &[&str], voice: &str) -> Result<Vec<String>, EspeakError> {
        if words.is_empty() {
            return Ok(Vec::new());
        }
        let request = serde_json::json!({ "words": words, "voice": voice }).to_string();
        let line = self.exchange(&request)?;
        #[derive(serde::Deserialize)]
        struct Reply {
            words: Option<Vec<String>>,
            error: Option<String>,
        }
        match serde_json::from_str::<Reply>(&line) {
            Ok(Reply {
                words: Some(read),
                error: None,
            }) if read.len() == words.len() => Ok(read),
            Ok(Reply {
                error: Some(error), ..
            }) => Err(EspeakError::Helper(error)),
            _ => Err(EspeakError::Protocol(line)),
        }
    }

    /// Sends one request line and returns the helper's answer line. If the helper has died it
    /// is restarted once and the request sent again.
    fn exchange(&self, request: &str) -> Result<String, EspeakError> {
        let mut slot = self.lock();
        let mut restarted = false;
        loop {
            let helper = match slot.as_mut() {
                Some(helper) => helper,
                None => slot.insert(Helper::spawn(&self.config)?.0),
            };
            match helper.request(request) {
                Ok(line) => return Ok(line),
                Err(error) => {
                    // The process is dead or unusable: stop it; the next request starts another.
                    *slot = None;
                    let died = matches!(error, EspeakError::Exited | EspeakError::Io(_));
                    if !died || restarted {
                        return Err(error);
                    }
                    tracing::warn!(%error, "eSpeak NG helper died; restarting it");
                    restarted = true;
                }
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Helper>> {
        self.helper
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// One running helper process; killed on drop.
struct Helper {
    child: Child,
    stdin: ChildStdin,
    /// Lines of the helper's stdout, read by a thread; disconnected at end of output.
    lines: Receiver<String>,
}

impl Helper {
    /// Starts the helper and reads its ready line; returns it with the eSpeak NG version.
    fn spawn(config: &EspeakConfig) -> Result<(Self, String), EspeakError> {
        let mut child = Command::new(&config.helper)
            .arg("--library")
            .arg(&config.library)
            .arg("--data")
            .arg(&config.data)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|source| EspeakError::Spawn {
                path: config.helper.clone(),
                source,
            })?;
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("espeak-phonemes-reader".into())
            .spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            })?;
        let mut helper = Helper {
            child,
            stdin,
            lines,
        };
        let line = match helper.lines.recv_timeout(START_TIMEOUT) {
            Ok(line) => line,
            Err(RecvTimeoutError::Timeout) => {
                return Err(EspeakError::Startup(format!(
                    "no ready line within {START_TIMEOUT:?}"
                )))
            }
            Err(RecvTimeoutError::Disconnected) => {
                let status = helper.child.wait()?;
                return Err(EspeakError::Startup(format!(
                    "it exited ({status}) without a ready line"
                )));
            }
        };
        let reply: serde_json::Value =
            serde_json::from_str(&line).map_err(|_| EspeakError::Protocol(line.clone()))?;
        if let Some(error) = reply.get("error").and_then(serde_json::Value::as_str) {
            return Err(EspeakError::Startup(error.to_owned()));
        }
        if reply.get("ready") != Some(&serde_json::Value::Bool(true)) {
            return Err(EspeakError::Protocol(line));
        }
        let version = reply
            .get("version")
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default()
            .to_owned();
        tracing::debug!(pid = helper.child.id(), %version, "eSpeak NG helper ready");
        Ok((helper, version))
    }

    /// Sends one request line and returns the reply line.
    fn request(&mut self, request: &str) -> Result<String, EspeakError> {
        self.stdin
            .write_all(request.as_bytes())
            .and_then(|()| self.stdin.write_all(b"\n"))
            .and_then(|()| self.stdin.flush())?;
        match self.lines.recv_timeout(REQUEST_TIMEOUT) {
            Ok(line) => Ok(line),
            Err(RecvTimeoutError::Timeout) => Err(EspeakError::Timeout(REQUEST_TIMEOUT)),
            Err(RecvTimeoutError::Disconnected) => Err(EspeakError::Exited),
        }
    }
}

impl Drop for Helper {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The request line the helper reads for `text` in `voice`: one JSON object on one line (any
/// newline or control character in the text is escaped by the JSON encoding).
pub fn request_line(text: &str, voice: &str) -> String {
    serde_json::json!({ "text": text, "voice": voice }).to_string()
}

/// Reads a reply line of the helper: the sentences, or the helper's error (any line gives one or
/// the other, never a panic).
pub fn parse_reply(line: &str) -> Result<Vec<String>, EspeakError> {
    #[derive(serde::Deserialize)]
    struct Reply {
        sentences: Option<Vec<String>>,
        error: Option<String>,
    }
    match serde_json::from_str::<Reply>(line) {
        Ok(Reply {
            sentences: Some(sentences),
            error: None,
        }) => Ok(sentences),
        Ok(Reply {
            error: Some(error), ..
        }) => Err(EspeakError::Helper(error)),
        _ => Err(EspeakError::Protocol(line.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn espeak_is_send_and_sync() {
        assert_send_sync::<Espeak>();
    }

    /// A scratch folder under the target directory, emptied first.
    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("tts-espeak-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch folder");
        dir
    }

    fn touch(path: &Path) {
        std::fs::create_dir_all(path.parent().expect("parent")).expect("folder");
        std::fs::write(path, b"").expect("file");
    }

    #[test]
    fn discovery_prefers_the_files_beside_the_executable() {
        let root = scratch("beside");
        let (exe, repo) = (root.join("bin"), root.join("repo"));
        touch(&exe.join("espeak-phonemes"));
        touch(&exe.join("espeak/lib/libespeak-ng.so.1"));
        std::fs::create_dir_all(exe.join("espeak/espeak-ng-data")).expect("data");
        touch(&repo.join("target/debug/espeak-phonemes"));
        let config = EspeakConfig::resolve(Some(&exe), &repo, |_| None).expect("found");
        assert_eq!(config.helper, exe.join("espeak-phonemes"));
        assert_eq!(config.library, exe.join("espeak/lib/libespeak-ng.so.1"));
        assert_eq!(config.data, exe.join("espeak/espeak-ng-data"));
    }

    #[test]
    fn discovery_falls_back_to_the_repository() {
        let root = scratch("repo");
        let repo = root.join("repo");
        touch(&repo.join("target/debug/espeak-phonemes"));
        touch(&repo.join(".espeak/lib/libespeak-ng.so.1"));
        std::fs::create_dir_all(repo.join(".espeak/espeak-ng-data")).expect("data");
        let config = EspeakConfig::resolve(Some(&root.join("bin")), &repo, |_| None);
        if Path::new("/opt/espeak").exists() {
            return; // a layer installed on this machine takes precedence
        }
        let config = config.expect("found");
        assert_eq!(config.helper, repo.join("target/debug/espeak-phonemes"));
        assert_eq!(config.data, repo.join(".espeak/espeak-ng-data"));
    }

    #[test]
    fn missing_files_name_the_path_and_the_install_command() {
        let root = scratch("missing");
        let repo = root.join("repo");
        let error = EspeakConfig::resolve(None, &repo, |_| None).expect_err("nothing installed");
        let message = error.to_string();
        assert!(
            message.contains(
                &repo
                    .join("target/debug/espeak-phonemes")
                    .display()
                    .to_string()
            ),
            "{message}"
        );
        assert!(
            message.contains("cargo build --release -p espeak-phonemes"),
            "{message}"
        );

        touch(&repo.join("target/release/espeak-phonemes"));
        let message = EspeakConfig::resolve(None, &repo, |_| None)
            .expect_err("no library")
            .to_string();
        assert!(
            message.contains(".espeak/lib/libespeak-ng.so.1"),
            "{message}"
        );
        assert!(
            message.contains("bash function/scripts/setup-espeak.sh"),
            "{message}"
        );
    }

    #[test]
    fn environment_variables_override_and_must_exist() {
        let root = scratch("env");
        touch(&root.join("helper"));
        touch(&root.join("lib.so"));
        let vars: HashMap<&str, PathBuf> = [
            ("TTS_ESPEAK_PHONEMIZER", root.join("helper")),
            ("TTS_ESPEAK_LIBRARY", root.join("lib.so")),
            ("TTS_ESPEAK_DATA", root.clone()),
        ]
        .into();
        let var = |name: &str| vars.get(name).map(|p| p.clone().into_os_string());
        let config = EspeakConfig::resolve(None, &root, var).expect("from variables");
        assert_eq!(config.helper, root.join("helper"));
        assert_eq!(config.data, root);

        let error = EspeakConfig::resolve(None, &root, |name| match name {
            "TTS_ESPEAK_LIBRARY" => Some(root.join("nope.so").into_os_string()),
            other => var(other),
        })
        .expect_err("missing library");
        assert!(matches!(error, EspeakError::NotInstalled { .. }));
        let message = error.to_string();
        assert!(message.contains("nope.so") && message.contains("TTS_ESPEAK_LIBRARY"));
    }

    #[test]
    fn replies_parse_to_sentences_or_errors() {
        assert_eq!(
            parse_reply(r#"{"sentences":["a.","b"]}"#).expect("ok"),
            ["a.", "b"]
        );
        assert!(matches!(
            parse_reply(r#"{"error":"unknown voice"}"#),
            Err(EspeakError::Helper(m)) if m == "unknown voice"
        ));
        assert!(matches!(
            parse_reply("garbage"),
            Err(EspeakError::Protocol(_))
        ));
        assert!(matches!(parse_reply("{}"), Err(EspeakError::Protocol(_))));
    }

    /// A stand-in helper: a shell script speaking the protocol.
    fn fake_helper(name: &str, script: &str) -> EspeakConfig {
        use std::os::unix::fs::PermissionsExt;
        let dir = scratch(name);
        let helper = dir.join("helper.sh");
        std::fs::write(&helper, format!("#!/bin/sh\n{script}")).expect("script");
        std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755))
            .expect("executable");
        EspeakConfig {
            helper,
            library: dir.join("lib"),
            data: dir.clone(),
        }
    }

    #[test]
    fn a_helper_that_fails_at_start_reports_its_error() {
        let config = fake_helper("fails", "echo '{\"error\":\"no data\"}'; exit 1\n");
        let error = Espeak::start(&config).expect_err("startup fails");
        assert!(
            matches!(&error, EspeakError::Startup(m) if m == "no data"),
            "{error}"
        );
        let config = fake_helper("silent", "exit 3\n");
        let error = Espeak::start(&config).expect_err("startup fails");
        assert!(
            error.to_string().contains("without a ready line"),
            "{error}"
        );
    }

    #[test]
    fn a_missing_helper_is_a_spawn_error() {
        let config = EspeakConfig {
            helper: PathBuf::from("/nonexistent/espeak-phonemes"),
            library: PathBuf::new(),
            data: PathBuf::new(),
        };
        assert!(matches!(
            Espeak::start(&config),
            Err(EspeakError::Spawn { .. })
        ));
    }

    #[test]
    fn a_helper_that_dies_after_each_answer_is_restarted_once_per_request() {
        // Answers one request then exits: each request after the first finds it dead.
        let config = fake_helper(
            "one-shot",
            "echo '{\"ready\":true,\"version\":\"test\"}'\nread line\necho '{\"sentences\":[\"ok\"]}'\n",
        );
        let espeak = Espeak::start(&config).expect("starts");
        assert_eq!(espeak.version(), "test");
        for _ in 0..3 {
            assert_eq!(espeak.phonemize("hi", "en-us").expect("answer"), ["ok"]);
        }
    }

    #[test]
    fn a_helper_that_always_dies_gives_up_after_one_restart() {
        let config = fake_helper(
            "dies",
            "echo '{\"ready\":true,\"version\":\"test\"}'\nread line\nexit 1\n",
        );
        let espeak = Espeak::start(&config).expect("starts");
        assert!(matches!(
            espeak.phonemize("hi", "en-us"),
            Err(EspeakError::Exited | EspeakError::Io(_))
        ));
    }
}
