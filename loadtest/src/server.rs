//! A `bootstrap` process spawned on a free loopback port: its start-up phases (from the
//! `startup {...}` line it prints before `listening on`), its address, and its resident memory.
//! It serves one model of one family, from a configuration file written for it (never
//! `TTS_MODEL_DIR`, which replaces the folder of whatever model a configuration lists first).

use std::collections::VecDeque;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The model family the spawned function serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Family {
    /// SpeechT5 (an optimum-intel export folder).
    Speecht5,
    /// A Piper (VITS) voice folder; the function also needs eSpeak NG and its helper.
    Piper,
}

impl Family {
    /// The family's name in the function's configuration, also the served model's id.
    pub fn id(self) -> &'static str {
        match self {
            Family::Speecht5 => "speecht5",
            Family::Piper => "piper",
        }
    }
}

/// How to start the function.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    pub bootstrap: PathBuf,
    /// The one model's family and folder.
    pub family: Family,
    pub model_dir: PathBuf,
    /// Where [`ServerConfig::write_config`] puts the function's configuration (TTS_CONFIG).
    pub config: PathBuf,
    pub threads: Option<u32>,
    pub precision: String,
    pub slots: u32,
    pub max_queue: u32,
    pub openvino_lib: Option<PathBuf>,
    /// Longest wait for `listening on` (model compilation of a full-size export can be slow).
    pub start_timeout: Duration,
    /// The function's log filter (RUST_LOG), e.g. `warn`, or `info` for one line per request.
    pub rust_log: String,
    /// Append every line the function writes to stderr to this file, each prefixed with the UTC
    /// time it was read (`None`: only the last lines are kept, to explain a failed start).
    pub stderr_log: Option<PathBuf>,
}

/// The phases the function reports about itself, in milliseconds.
#[derive(Clone, Copy, Debug, serde::Deserialize)]
pub struct Startup {
    /// Loading OpenVINO and creating its core.
    pub runtime_ms: f64,
    /// Reading and compiling every model.
    pub models_ms: f64,
    /// From `main()` start to ready to listen.
    pub ready_ms: f64,
}

/// A running function; killed on drop.
pub struct Server {
    child: Child,
    pub pid: u32,
    /// Base URL, e.g. `http://127.0.0.1:34567`.
    pub url: String,
    /// When `spawn` was called.
    pub t0: Instant,
    /// How long the `spawn` call took (fork + exec), milliseconds.
    pub spawn_ms: f64,
    /// From `t0` to reading `listening on`, milliseconds.
    pub listening_ms: f64,
    pub startup: Startup,
}

impl ServerConfig {
    /// The function's configuration: the one model, its id the family's name (the limits come
    /// from the environment the server is started with).
    pub fn config_toml(&self) -> String {
        // A TOML basic string: JSON's escaping of a path is valid TOML.
        let dir = serde_json::to_string(&self.model_dir.to_string_lossy()).unwrap_or_default();
        format!(
            "# Written by `loadtest suite` for one measurement.\n\n[[models]]\nid = \"{id}\"\nfamily = \"{id}\"\ndir = {dir}\n",
            id = self.family.id(),
        )
    }

    /// Writes [`ServerConfig::config_toml`] to [`ServerConfig::config`].
    pub fn write_config(&self) -> Result<(), String> {
        std::fs::write(&self.config, self.config_toml())
            .map_err(|e| format!("{}: {e}", self.config.display()))
    }
}

impl Server {
    /// Starts the function with the configuration file already written (see
    /// [`ServerConfig::write_config`]) and the compiled-model cache in `cache_dir` (none if
    /// `None`), and waits until it listens.
    pub async fn start(config: &ServerConfig, cache_dir: Option<&Path>) -> Result<Server, String> {
        let mut command = Command::new(&config.bootstrap);
        command
            .env_remove("AWS_LAMBDA_RUNTIME_API")
            .env_remove("TTS_CACHE_DIR")
            .env_remove("TTS_MODEL_DIR")
            // A key from the caller's environment would answer every request 401.
            .env_remove("TTS_API_KEY")
            .env_remove("TTS_API_KEY_FILE")
            .env("TTS_CONFIG", &config.config)
            .env("TTS_BIND", "127.0.0.1:0")
            .env("TTS_PRECISION", &config.precision)
            .env("TTS_SLOTS", config.slots.to_string())
            .env("TTS_MAX_QUEUE", config.max_queue.to_string())
            .env("RUST_LOG", &config.rust_log)
            // Plain log lines (tracing-subscriber colours them unless NO_COLOR is set).
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        if let Some(threads) = config.threads {
            command.env("TTS_THREADS", threads.to_string());
        }
        if let Some(lib) = &config.openvino_lib {
            command.env("OPENVINO_LIB", lib);
        }
        if let Some(dir) = cache_dir {
            command.env("TTS_CACHE_DIR", dir);
        }
        let t0 = Instant::now();
        let mut child = command
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", config.bootstrap.display()))?;
        let spawn_ms = t0.elapsed().as_secs_f64() * 1e3;
        let pid = child.id().unwrap_or(0);

        // The last lines of stderr, to explain a failed start.
        let tail = Arc::new(Mutex::new(VecDeque::<String>::new()));
        let mut log = match &config.stderr_log {
            Some(path) => Some(std::io::LineWriter::new(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|e| format!("{}: {e}", path.display()))?,
            )),
            None => None,
        };
        if let Some(stderr) = child.stderr.take() {
            let tail = tail.clone();
            tokio::spawn(async move {
                let mut lines = BufReader::new(stderr).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    if let Some(file) = &mut log {
                        // A line at a time: small blocking writes, and the file stays readable
                        // while the function runs.
                        let _ = writeln!(file, "[{}] {line}", utc_now());
                    }
                    let mut tail = tail.lock().unwrap_or_else(|e| e.into_inner());
                    if tail.len() == 20 {
                        tail.pop_front();
                    }
                    tail.push_back(line);
                }
            });
        }
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let deadline = tokio::time::Instant::now() + config.start_timeout;
        let mut startup = None;
        let failure = |why: String| {
            let tail = tail.lock().unwrap_or_else(|e| e.into_inner());
            let tail: Vec<_> = tail.iter().cloned().collect();
            format!("{why}; its last stderr lines:\n{}", tail.join("\n"))
        };
        let (url, listening_ms) = loop {
            let line = match tokio::time::timeout_at(deadline, lines.next_line()).await {
                Err(_) => {
                    return Err(failure(format!(
                        "bootstrap did not listen within {:?}",
                        config.start_timeout
                    )))
                }
                Ok(Ok(Some(line))) => line,
                Ok(_) => {
                    // Give the stderr reader a moment to collect the error message.
                    let status = child.wait().await.ok();
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    return Err(failure(format!(
                        "bootstrap exited before listening ({status:?})"
                    )));
                }
            };
            if let Some(json) = line.strip_prefix("startup ") {
                startup = serde_json::from_str::<Startup>(json).ok();
            } else if let Some(url) = line.strip_prefix("listening on ") {
                break (url.to_owned(), t0.elapsed().as_secs_f64() * 1e3);
            }
        };
        let startup = startup.ok_or_else(|| {
            failure("bootstrap printed no `startup {...}` line before `listening on`".into())
        })?;
        // Keep draining stdout so the function never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(Server {
            child,
            pid,
            url,
            t0,
            spawn_ms,
            listening_ms,
            startup,
        })
    }

    /// Stops the process and waits for it.
    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

/// `time` as RFC 3339 UTC with milliseconds, e.g. `2026-12-02T18:51:40.123Z` (the function's
/// own log lines carry the same kind of timestamp).
pub fn utc(time: SystemTime) -> String {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (days, rest) = ((secs / 86_400) as i64, secs % 86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rest / 3600,
        rest / 60 % 60,
        rest % 60,
        since.subsec_millis()
    )
}

/// The current time as [`utc`] writes it.
pub fn utc_now() -> String {
    utc(SystemTime::now())
}

/// A field of `/proc/<pid>/status` in megabytes (e.g. `VmRSS`, `VmHWM`), if readable.
pub fn proc_status_mb(pid: u32, field: &str) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status
        .lines()
        .find(|l| l.starts_with(field) && l[field.len()..].starts_with(':'))?;
    let kb: f64 = line[field.len() + 1..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    Some(kb / 1024.0)
}

/// Samples `VmRSS` of `pid` every `interval` until stopped: (seconds since `origin`, MB).
pub struct RssSampler {
    pid: u32,
    origin: Instant,
    samples: Arc<Mutex<Vec<(f64, f64)>>>,
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

fn sample_into(pid: u32, origin: Instant, samples: &Mutex<Vec<(f64, f64)>>) {
    if let Some(mb) = proc_status_mb(pid, "VmRSS") {
        let t = origin.elapsed().as_secs_f64();
        samples
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((t, mb));
    }
}

impl RssSampler {
    pub fn start(pid: u32, interval: Duration, origin: Instant) -> RssSampler {
        let (stop, mut stopped) = tokio::sync::watch::channel(false);
        let samples = Arc::new(Mutex::new(Vec::new()));
        let shared = samples.clone();
        let task = tokio::spawn(async move {
            let mut ticks = tokio::time::interval(interval);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = ticks.tick() => sample_into(pid, origin, &shared),
                    _ = stopped.changed() => break,
                }
            }
        });
        RssSampler {
            pid,
            origin,
            samples,
            stop,
            task,
        }
    }

    /// Takes one extra sample now (e.g. at a level's start and end).
    pub fn sample_now(&self) {
        sample_into(self.pid, self.origin, &self.samples);
    }

    /// Stops sampling and returns the samples in time order.
    pub async fn finish(self) -> Vec<(f64, f64)> {
        let _ = self.stop.send(true);
        let _ = self.task.await;
        let mut samples =
            std::mem::take(&mut *self.samples.lock().unwrap_or_else(|e| e.into_inner()));
        samples.sort_by(|a, b| a.0.total_cmp(&b.0));
        samples
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_times_are_written_as_rfc_3339() {
        assert_eq!(utc(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        let t = UNIX_EPOCH + Duration::from_millis(1_796_237_500_123);
        assert_eq!(utc(t), "2026-12-02T18:51:40.123Z");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(utc(leap), "2000-02-29T00:00:00.000Z");
    }
}
