//! Helpers shared by the end-to-end tests: repository paths, the reference manifest, and a
//! running `bootstrap` process on a free local port.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is inside the repository")
        .to_owned()
}

/// The committed tiny SpeechT5 export.
pub fn tiny_model() -> PathBuf {
    repo().join("tests/fixtures/speecht5-tiny/model")
}

/// The tests' configuration: the tiny SpeechT5 export alone, also under OpenAI's model names.
pub fn tiny_config() -> PathBuf {
    repo().join("tests/fixtures/speecht5-tiny/tts.toml")
}

/// The committed references recorded from OpenVINO GenAI and transformers.
pub fn references_dir() -> PathBuf {
    repo().join("tests/fixtures/speecht5-tiny/references")
}

/// The OpenVINO C library installed by `function/scripts/setup-openvino.sh`.
pub fn openvino_lib() -> PathBuf {
    let lib = repo()
        .join(".openvino/lib")
        .join(tts::engine::OPENVINO_C_LIBRARY);
    assert!(
        lib.is_file(),
        "{} is missing: run function/scripts/setup-openvino.sh (tests/run.sh does)",
        lib.display()
    );
    lib
}

/// Reads a raw little-endian f32 file.
pub fn read_f32(path: &Path) -> Vec<f32> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(
        bytes.len() % 4,
        0,
        "{} is not a whole number of f32",
        path.display()
    );
    bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

/// The largest absolute difference between two signals, over their common length.
pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// Builds a workspace binary (once per test process and binary) and returns its path.
pub fn binary(package: &str, name: &str) -> PathBuf {
    static BUILT: OnceLock<std::sync::Mutex<std::collections::HashMap<String, PathBuf>>> =
        OnceLock::new();
    let mut built = BUILT
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    built
        .entry(name.to_owned())
        .or_insert_with(|| {
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let status = Command::new(cargo)
                .args(["build", "--quiet", "-p", package, "--bin", name])
                .current_dir(repo())
                .status()
                .expect("cargo runs");
            assert!(status.success(), "building {name} failed");
            let target = std::env::var_os("CARGO_TARGET_DIR")
                .map_or_else(|| repo().join("target"), PathBuf::from);
            target.join("debug").join(name)
        })
        .clone()
}

/// The function's `bootstrap` binary, built.
pub fn bootstrap() -> PathBuf {
    binary("tts-function", "bootstrap")
}

/// A `bootstrap` process serving on a free local port; killed on drop.
pub struct Server {
    child: Child,
    /// Base URL, e.g. `http://127.0.0.1:34567`.
    pub url: String,
}

impl Server {
    /// Starts the binary with extra environment variables and waits until it listens.
    pub fn start(env: &[(&str, &str)]) -> Server {
        let mut command = Command::new(bootstrap());
        command
            .env_remove("AWS_LAMBDA_RUNTIME_API")
            .env("TTS_BIND", "127.0.0.1:0")
            .env("OPENVINO_LIB", openvino_lib())
            .env("TTS_CONFIG", tiny_config())
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (k, v) in env {
            command.env(k, v);
        }
        let mut child = command.spawn().expect("bootstrap starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("listening on ") {
                    let _ = tx.send(url.to_owned());
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        let url = loop {
            if let Ok(url) = rx.recv_timeout(Duration::from_millis(100)) {
                break url;
            }
            if let Some(status) = child.try_wait().expect("child status") {
                panic!("bootstrap exited before listening: {status}");
            }
            assert!(
                Instant::now() < deadline,
                "bootstrap did not listen within 60 s"
            );
        };
        Server { child, url }
    }
}

impl Server {
    /// The process id of the running binary.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `bootstrap` to completion (for start-up failures) and returns (exit success, stderr).
pub fn run_to_exit(env: &[(&str, &str)]) -> (bool, String) {
    let mut command = Command::new(bootstrap());
    command
        .env_remove("AWS_LAMBDA_RUNTIME_API")
        .env("TTS_BIND", "127.0.0.1:0")
        .env("OPENVINO_LIB", openvino_lib())
        .env("TTS_CONFIG", tiny_config())
        .stdin(Stdio::null());
    for (k, v) in env {
        command.env(k, v);
    }
    let mut child = command
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("bootstrap starts");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = child.try_wait().expect("child status") {
            let mut stderr = String::new();
            std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut stderr)
                .ok();
            return (status.success(), stderr);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("bootstrap did not exit within 60 s (it was expected to fail at start)");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
