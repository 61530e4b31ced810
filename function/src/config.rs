//! The function's configuration: one file (TOML: models, their names and voice tables, limits)
//! plus flags and environment variables (every flag has one; they override the file), resolved
//! and validated at start into [`Settings`]. `bootstrap --help` lists the flags.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::Parser;
use serde::Deserialize;

use crate::engine::{Precision, RuntimeOptions, OPENVINO_C_LIBRARY};

/// The repository this binary was built from (for development defaults).
const REPO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

/// Largest payload a buffered Lambda function-URL response may carry (after base64).
pub const LAMBDA_BUFFERED_LIMIT: usize = 6 * 1024 * 1024;
/// Largest response a streamed (`RESPONSE_STREAM`) function URL may send.
pub const LAMBDA_STREAMED_LIMIT: usize = 200 * 1024 * 1024;

/// Flags and environment variables.
#[derive(Clone, Debug, Parser)]
#[command(
    name = "bootstrap",
    version,
    about = "OpenAI-compatible text-to-speech (SpeechT5 on OpenVINO), as an AWS Lambda function or a local HTTP server"
)]
pub struct Config {
    /// Configuration file (TOML): models, names, voice tables, limits. Relative model folders in
    /// it are relative to the file. Default: `tts.toml` beside the executable (as the Lambda
    /// package ships it), else the repository's `function/tts.toml`.
    #[arg(long, env = "TTS_CONFIG", default_value_os_t = default_config())]
    pub config: PathBuf,

    /// Path of OpenVINO's C library. Default: `openvino/lib/` beside the executable, else
    /// `/opt/openvino/lib/` (a Lambda layer), else the repository's `.openvino/lib/`.
    #[arg(long, env = "OPENVINO_LIB", default_value_os_t = default_openvino_lib())]
    pub openvino_lib: PathBuf,

    /// Model folder of the first configured model (overrides the file).
    #[arg(long, env = "TTS_MODEL_DIR")]
    pub model_dir: Option<PathBuf>,

    /// Inference precision. f32 matches the reference pipelines and runs everywhere; bf16 and f16
    /// need a CPU that computes in them (elsewhere OpenVINO runs f32, and a warning says so).
    #[arg(long, env = "TTS_PRECISION", value_enum, default_value_t = Precision::F32)]
    pub precision: Precision,

    /// Threads per inference (default: all cores).
    #[arg(long, env = "TTS_THREADS")]
    pub threads: Option<u32>,

    /// Folder for OpenVINO's compiled-model cache (speeds up later cold starts). Default: none.
    #[arg(long, env = "TTS_CACHE_DIR")]
    pub cache_dir: Option<PathBuf>,

    /// Compiled models shipped read-only with the package (`function/package.sh --ship-cache`),
    /// linked into the cache folder at start: OpenVINO uses the one made for this CPU and
    /// compiles otherwise. Default: `/opt/openvino-cache` when it exists.
    #[arg(long, env = "TTS_CACHE_SEED", default_value_os_t = PathBuf::from("/opt/openvino-cache"))]
    pub cache_seed: PathBuf,

    /// Entries of OpenVINO's per-shape CPU kernel cache (`CPU_RUNTIME_CACHE_CAPACITY`; default:
    /// OpenVINO's own, 5000). The decoder's shapes change at every step; 0 makes steps 2–3×
    /// slower, while 1024 and 50000 measured the same speed and memory on 220- and 490-step
    /// utterances of the full-size model.
    #[arg(long, env = "TTS_CPU_RUNTIME_CACHE")]
    pub cpu_runtime_cache: Option<u32>,

    /// How Lambda returns responses, as the function URL's `InvokeMode` says: `BUFFERED` (whole
    /// responses up to 6 MB; `stream_format` requests get the whole audio) or `RESPONSE_STREAM`
    /// (lambda_http's streaming runner: audio leaves as it is made, up to 200 MB). Outside
    /// Lambda responses always stream.
    #[arg(long, env = "TTS_INVOKE_MODE", value_enum, default_value_t = InvokeMode::Buffered)]
    pub invoke_mode: InvokeMode,

    /// CloudWatch Embedded Metric Format records on stdout (one per speech request, one for the
    /// start-up): `auto` writes them inside Lambda only, `emf` always, `off` never.
    #[arg(long, env = "TTS_METRICS", value_enum, default_value_t = MetricsMode::Auto)]
    pub metrics: MetricsMode,

    /// CloudWatch namespace of those metrics.
    #[arg(long, env = "TTS_METRICS_NAMESPACE", default_value = "TTS")]
    pub metrics_namespace: String,

    /// Address of the local HTTP server (ignored inside Lambda).
    #[arg(long, env = "TTS_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,

    /// Most utterances synthesized at once per model (overrides the file). Each needs its own
    /// compiled copy of the model, compiled when first needed.
    #[arg(long, env = "TTS_SLOTS", value_parser = clap::value_parser!(u16).range(1..))]
    pub slots: Option<u16>,

    /// Requests allowed to wait for a slot before new ones get 429 (overrides the file).
    #[arg(long, env = "TTS_MAX_QUEUE")]
    pub max_queue: Option<usize>,

    /// Longest accepted `input`, in characters (overrides the file).
    #[arg(long, env = "TTS_MAX_INPUT_CHARS")]
    pub max_input_chars: Option<usize>,

    /// Largest accepted request body in bytes (overrides the file).
    #[arg(long, env = "TTS_MAX_BODY_BYTES")]
    pub max_body_bytes: Option<usize>,

    /// Longest a request may wait for a synthesis slot before it is answered 429, in seconds
    /// (overrides the file; default 10).
    #[arg(long, env = "TTS_QUEUE_TIMEOUT")]
    pub queue_timeout: Option<f64>,

    /// Longest a speech request may take, in seconds, queueing included (overrides the file;
    /// default 90; 0: no limit). Past it the synthesis stops and the client gets 504 (an `error`
    /// event in an SSE stream). Inside Lambda the invocation's own deadline, less a margin to
    /// answer, applies too.
    #[arg(long, env = "TTS_REQUEST_TIMEOUT")]
    pub request_timeout: Option<f64>,

    /// API keys that clients must send as `Authorization: Bearer <key>`, separated by commas or
    /// white space. None set (here or in `--api-key-file`): no key is needed. `/health` never
    /// needs one. Never logged.
    #[arg(long, env = "TTS_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,

    /// A file of API keys, one per line (`#` starts a comment), added to `--api-key`'s.
    #[arg(long, env = "TTS_API_KEY_FILE")]
    pub api_key_file: Option<PathBuf>,

    /// Origins allowed to call the function from a browser (CORS), separated by commas, e.g.
    /// `https://app.example.com,http://localhost:5173`; `*` allows any. Default: none (no CORS
    /// headers; browsers on other origins are refused).
    #[arg(long, env = "TTS_CORS_ORIGINS")]
    pub cors_origins: Option<String>,

    /// Serve the speech playground page at `GET /` (type, hear it stream, see the timings and
    /// the words light up). `false` turns it off (404). The deployment template turns it on
    /// only for a public function URL (AuthType NONE): a browser cannot sign AWS_IAM requests.
    #[arg(
        long,
        env = "TTS_PLAYGROUND",
        default_value_t = true,
        action = clap::ArgAction::Set,
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub playground: bool,

    /// Largest response payload in bytes after base64 (0: no limit). Default: 6 MB inside
    /// Lambda (the buffered function-URL limit), no limit outside.
    #[arg(long, env = "TTS_MAX_RESPONSE_BYTES")]
    pub max_response_bytes: Option<usize>,
}

/// A configuration problem, reported at start.
#[derive(Debug, thiserror::Error)]
#[error("configuration {}: {reason}", path.display())]
pub struct ConfigError {
    /// The file.
    pub path: PathBuf,
    /// What is wrong.
    pub reason: String,
}

/// The file's shape.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    limits: FileLimits,
    #[serde(default)]
    models: Vec<FileModel>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileLimits {
    max_input_chars: Option<usize>,
    max_instructions_chars: Option<usize>,
    max_body_bytes: Option<usize>,
    max_response_bytes: Option<usize>,
    slots: Option<u16>,
    max_queue: Option<usize>,
    queue_timeout_secs: Option<f64>,
    request_timeout_secs: Option<f64>,
    sentence_pause_ms: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileModel {
    id: String,
    family: Family,
    dir: PathBuf,
    #[serde(default)]
    aliases: Vec<String>,
    default_voice: Option<String>,
    #[serde(default)]
    voices: BTreeMap<String, String>,
}

/// Which engine runs a model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    /// Microsoft SpeechT5 exported by optimum-intel.
    Speecht5,
    /// A Piper (VITS) voice: `<name>.onnx` and `<name>.onnx.json`, phonemized by eSpeak NG.
    Piper,
}

/// One configured model.
#[derive(Clone, Debug)]
pub struct ModelSettings {
    /// Its id in `/v1/models`.
    pub id: String,
    /// Its engine.
    pub family: Family,
    /// Its folder.
    pub dir: PathBuf,
    /// Other names clients may use.
    pub aliases: Vec<String>,
    /// The voice used when none is given (on `/v3`) or an unknown one falls back.
    pub default_voice: Option<String>,
    /// Client voice names (such as OpenAI's) → the model's voices.
    pub voices: BTreeMap<String, String>,
}

/// A Lambda function URL's invoke mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum InvokeMode {
    /// Whole responses, at most 6 MB after base64.
    #[value(name = "BUFFERED", alias = "buffered")]
    Buffered,
    /// Streamed responses, at most 200 MB.
    #[value(
        name = "RESPONSE_STREAM",
        alias = "response-stream",
        alias = "response_stream"
    )]
    ResponseStream,
}

/// When metrics records are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum MetricsMode {
    /// Inside Lambda only (`AWS_LAMBDA_RUNTIME_API` set).
    Auto,
    /// Always.
    Emf,
    /// Never.
    Off,
}

impl MetricsMode {
    /// Whether records are written, `in_lambda` or not.
    pub fn enabled(self, in_lambda: bool) -> bool {
        match self {
            MetricsMode::Auto => in_lambda,
            MetricsMode::Emf => true,
            MetricsMode::Off => false,
        }
    }
}

/// Limits applied by the HTTP contract.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Longest `input` in characters.
    pub max_input_chars: usize,
    /// Longest `instructions` in characters.
    pub max_instructions_chars: usize,
    /// Largest request body.
    pub max_body_bytes: usize,
    /// Largest response payload after base64; `None`: unlimited.
    pub max_response_bytes: Option<usize>,
    /// Utterances synthesized at once per model.
    pub slots: usize,
    /// Requests that may wait for a slot, per model.
    pub max_queue: usize,
    /// Longest wait for a slot before 429.
    pub queue_timeout: std::time::Duration,
    /// Longest a speech request may take (queueing included) before 504; `None`: no limit.
    pub request_timeout: Option<std::time::Duration>,
    /// Silence between sentences of a long input.
    pub sentence_pause_ms: u32,
    /// Whether responses may stream (`stream_format`): outside Lambda, and inside it with
    /// `RESPONSE_STREAM`.
    pub streaming: bool,
}

/// Who may call the function: API keys and browser origins.
#[derive(Clone, Default)]
pub struct Access {
    /// SHA-256 digests of the accepted API keys (empty: no key needed). The keys themselves are
    /// not kept.
    pub key_digests: Vec<[u8; 32]>,
    /// Origins allowed by CORS (`*` for any); empty: CORS off.
    pub cors_origins: Vec<String>,
}

impl std::fmt::Debug for Access {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Access")
            .field("api_keys", &self.key_digests.len())
            .field("cors_origins", &self.cors_origins)
            .finish()
    }
}

/// The resolved configuration.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Models, in file order.
    pub models: Vec<ModelSettings>,
    /// Limits.
    pub limits: Limits,
    /// API keys and CORS.
    pub access: Access,
}

impl Config {
    /// Runtime options derived from the configuration.
    pub fn runtime_options(&self) -> RuntimeOptions {
        RuntimeOptions {
            library: self.openvino_lib.clone(),
            precision: self.precision,
            threads: self.threads,
            cache_dir: self.cache_dir.clone(),
            cache_seed: Some(self.cache_seed.clone()).filter(|dir| dir.is_dir()),
            cpu_runtime_cache: self.cpu_runtime_cache,
        }
    }

    /// Reads the file and applies the flags and environment variables over it.
    pub fn settings(&self, in_lambda: bool) -> Result<Settings, ConfigError> {
        let fail = |reason: String| ConfigError {
            path: self.config.clone(),
            reason,
        };
        let text = std::fs::read_to_string(&self.config).map_err(|e| {
            fail(format!(
                "cannot read it ({e}); set TTS_CONFIG or --config to a TOML file"
            ))
        })?;
        let file: File = toml::from_str(&text).map_err(|e| fail(e.to_string()))?;
        let base = self.config.parent().unwrap_or(Path::new("."));
        let mut models: Vec<ModelSettings> = file
            .models
            .into_iter()
            .map(|m| ModelSettings {
                id: m.id,
                family: m.family,
                dir: if m.dir.is_absolute() {
                    m.dir
                } else {
                    base.join(m.dir)
                },
                aliases: m.aliases,
                default_voice: m.default_voice,
                voices: m.voices,
            })
            .collect();
        let first = models
            .first_mut()
            .ok_or_else(|| fail("no [[models]] configured".into()))?;
        if let Some(dir) = &self.model_dir {
            first.dir = dir.clone();
        }
        let mut names = std::collections::HashSet::new();
        for model in &models {
            for name in std::iter::once(&model.id).chain(&model.aliases) {
                if name.is_empty() || !names.insert(name.clone()) {
                    return Err(fail(format!("model name {name:?} is empty or used twice")));
                }
            }
        }
        let limits = file.limits;
        let streaming = !in_lambda || self.invoke_mode == InvokeMode::ResponseStream;
        let max_response_bytes = self
            .max_response_bytes
            .or(limits.max_response_bytes)
            .or(in_lambda.then_some(if streaming {
                LAMBDA_STREAMED_LIMIT
            } else {
                LAMBDA_BUFFERED_LIMIT
            }))
            .filter(|&n| n > 0);
        let seconds =
            |name: &str, value: Option<f64>| -> Result<Option<std::time::Duration>, ConfigError> {
                match value {
                    None => Ok(None),
                    Some(v) if (0.0..=86_400.0).contains(&v) => {
                        Ok(Some(std::time::Duration::from_secs_f64(v)))
                    }
                    Some(v) => Err(fail(format!(
                        "{name} must be a number of seconds between 0 and 86400, not {v}"
                    ))),
                }
            };
        let queue_timeout = seconds(
            "queue_timeout_secs (TTS_QUEUE_TIMEOUT)",
            self.queue_timeout.or(limits.queue_timeout_secs),
        )?
        .unwrap_or(std::time::Duration::from_secs(10));
        let request_timeout = seconds(
            "request_timeout_secs (TTS_REQUEST_TIMEOUT)",
            self.request_timeout.or(limits.request_timeout_secs),
        )?
        .unwrap_or(std::time::Duration::from_secs(90));
        let access = self.access()?;
        Ok(Settings {
            models,
            access,
            limits: Limits {
                max_input_chars: self
                    .max_input_chars
                    .or(limits.max_input_chars)
                    .unwrap_or(4096),
                max_instructions_chars: limits.max_instructions_chars.unwrap_or(4096),
                max_body_bytes: self
                    .max_body_bytes
                    .or(limits.max_body_bytes)
                    .unwrap_or(256 * 1024),
                max_response_bytes,
                // Set by TTS_SLOTS or the file, else as many as Lambda sends at once to one
                // environment (Managed Instances), else 2. More utterances than vCPUs then share
                // the cores, but none waits behind another for a slot.
                slots: self
                    .slots
                    .or(limits.slots)
                    .map(usize::from)
                    .or(in_lambda.then(lambda_max_concurrency).flatten())
                    .unwrap_or(2)
                    .max(1),
                max_queue: self.max_queue.or(limits.max_queue).unwrap_or(8),
                queue_timeout,
                request_timeout: Some(request_timeout).filter(|t| !t.is_zero()),
                sentence_pause_ms: limits.sentence_pause_ms.unwrap_or(250),
                streaming,
            },
        })
    }
}

impl Config {
    /// The API keys (from `--api-key` and `--api-key-file`, as digests) and CORS origins.
    fn access(&self) -> Result<Access, ConfigError> {
        use sha2::Digest as _;
        let mut keys: Vec<String> = self
            .api_key
            .iter()
            .flat_map(|list| list.split(|c: char| c == ',' || c.is_whitespace()))
            .map(str::to_owned)
            .collect();
        if let Some(path) = &self.api_key_file {
            let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
                path: path.clone(),
                reason: format!("cannot read the API key file (TTS_API_KEY_FILE): {e}"),
            })?;
            keys.extend(
                text.lines()
                    .map(|line| line.split('#').next().unwrap_or_default().trim().to_owned()),
            );
        }
        keys.retain(|k| !k.is_empty());
        if self.api_key_file.is_some() && keys.is_empty() {
            return Err(ConfigError {
                path: self.api_key_file.clone().unwrap_or_default(),
                reason: "the API key file (TTS_API_KEY_FILE) holds no key".into(),
            });
        }
        let cors_origins: Vec<String> = self
            .cors_origins
            .iter()
            .flat_map(|list| list.split(','))
            .map(|o| o.trim().trim_end_matches('/').to_owned())
            .filter(|o| !o.is_empty())
            .collect();
        for origin in &cors_origins {
            let valid = origin == "*"
                || ((origin.starts_with("https://") || origin.starts_with("http://"))
                    && axum::http::HeaderValue::from_str(origin).is_ok()
                    && !origin[origin.find("//").unwrap_or(0) + 2..].contains('/'));
            if !valid {
                return Err(ConfigError {
                    path: self.config.clone(),
                    reason: format!(
                        "CORS origin {origin:?} (TTS_CORS_ORIGINS) is not an origin such as https://app.example.com or *"
                    ),
                });
            }
        }
        Ok(Access {
            key_digests: keys
                .iter()
                .map(|k| sha2::Sha256::digest(k.as_bytes()).into())
                .collect(),
            cors_origins,
        })
    }
}

/// Requests Lambda sends one execution environment at once (`AWS_LAMBDA_MAX_CONCURRENCY`, set on
/// Lambda Managed Instances); `None` when unset or not a number.
pub fn lambda_max_concurrency() -> Option<usize> {
    std::env::var("AWS_LAMBDA_MAX_CONCURRENCY")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|&n| n >= 1)
}

/// `tts.toml` beside the executable when there is one, else the repository's.
fn default_config() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join("tts.toml")))
        .filter(|p| p.is_file())
        .unwrap_or_else(|| normalize_path(&Path::new(REPO).join("function/tts.toml")))
}

fn default_openvino_lib() -> PathBuf {
    let beside_exe = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join("openvino/lib")));
    let candidates = beside_exe
        .into_iter()
        .chain([
            PathBuf::from("/opt/openvino/lib"),
            Path::new(REPO).join(".openvino/lib"),
        ])
        .map(|dir| dir.join(OPENVINO_C_LIBRARY))
        .collect::<Vec<_>>();
    let fallback = candidates.last().cloned().expect("candidates");
    let found = candidates
        .into_iter()
        .find(|p| p.is_file())
        .unwrap_or(fallback);
    // Report the path without `..` so error messages name a real folder.
    std::path::absolute(&found)
        .map(|p| normalize_path(&p))
        .unwrap_or(found)
}

/// Removes `.` and `..` components lexically (so messages name a real folder).
pub(crate) fn normalize_path(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config_with(file: &str, args: &[&str]) -> Result<Settings, ConfigError> {
        let path = std::env::temp_dir().join(format!(
            "tts-config-{}-{}.toml",
            std::process::id(),
            file.len()
        ));
        std::fs::write(&path, file).unwrap();
        let mut argv = vec!["bootstrap", "--config", path.to_str().unwrap()];
        argv.extend(args);
        let settings = Config::parse_from(argv).settings(false);
        std::fs::remove_file(&path).ok();
        settings
    }

    #[test]
    fn the_committed_file_is_valid() {
        let config = Config::parse_from([
            "bootstrap",
            "--config",
            &format!("{REPO}/function/tts.toml"),
        ]);
        let settings = config.settings(false).unwrap();
        // The Piper voice is the default model (OpenAI's names point at it); SpeechT5 follows.
        assert_eq!(settings.models[0].id, "piper-joe");
        assert!(settings.models[0].aliases.iter().any(|a| a == "tts-1"));
        assert_eq!(settings.models[1].id, "speecht5");
        assert_eq!(settings.limits.max_input_chars, 4096);
        assert_eq!(
            settings.limits.max_response_bytes, None,
            "no response limit outside Lambda"
        );
        assert_eq!(
            config.settings(true).unwrap().limits.max_response_bytes,
            Some(LAMBDA_BUFFERED_LIMIT)
        );
    }

    #[test]
    fn flags_override_the_file_and_relative_dirs_follow_the_file() {
        let file = "[limits]\nmax_input_chars = 100\n[[models]]\nid = \"a\"\nfamily = \"speecht5\"\ndir = \"m\"\n";
        let s = config_with(file, &["--max-input-chars", "50"]).unwrap();
        assert_eq!(s.limits.max_input_chars, 50);
        assert_eq!(s.models[0].dir, std::env::temp_dir().join("m"));
        let s = config_with(file, &["--model-dir", "/x"]).unwrap();
        assert_eq!(s.models[0].dir, PathBuf::from("/x"));
    }

    #[test]
    fn duplicate_names_and_unknown_keys_are_refused() {
        let dup = "[[models]]\nid = \"a\"\nfamily = \"speecht5\"\ndir = \"m\"\naliases = [\"a\"]\n";
        assert!(config_with(dup, &[])
            .unwrap_err()
            .reason
            .contains("used twice"));
        let typo = "[[models]]\nid = \"a\"\nfamily = \"speecht5\"\ndir = \"m\"\nvoise = 1\n";
        assert!(config_with(typo, &[]).unwrap_err().reason.contains("voise"));
        assert!(config_with("", &[])
            .unwrap_err()
            .reason
            .contains("no [[models]]"));
    }
}
