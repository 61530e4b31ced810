//! `loadtest suite --smoke` against the debug `bootstrap`, with the tiny SpeechT5 model and with
//! the Piper voice (`--family piper`, which needs function/scripts/setup-piper.sh and
//! setup-espeak.sh): the report it writes is well-formed and sane, and names the family.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("loadtest/ is inside the repository")
        .to_owned()
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| repo().join("target"), PathBuf::from)
}

/// Builds the function's debug `bootstrap` (and the eSpeak NG helper it finds beside itself)
/// and returns its path.
fn debug_bootstrap() -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args([
            "build",
            "--quiet",
            "-p",
            "tts-function",
            "--bin",
            "bootstrap",
            "-p",
            "espeak-phonemes",
        ])
        .current_dir(repo())
        .status()
        .expect("cargo runs");
    assert!(status.success(), "building bootstrap failed");
    target_dir().join("debug/bootstrap")
}

/// Runs `loadtest suite --smoke` with `args` and returns its report, checked for what every
/// family's report holds.
fn smoke_suite(name: &str, args: &[&str]) -> Value {
    let bootstrap = debug_bootstrap();
    let out = target_dir().join(format!("loadtest-smoke-test/{name}.json"));
    let _ = std::fs::remove_file(&out);
    let output = Command::new(env!("CARGO_BIN_EXE_loadtest"))
        .args(["suite", "--smoke", "--bootstrap"])
        .arg(&bootstrap)
        .arg("--out")
        .arg(&out)
        .args(args)
        .current_dir(repo())
        .output()
        .expect("loadtest runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    // Progress on stderr, one line per phase and level; the Markdown summary on stdout.
    assert!(stderr.contains("sweep concurrency 2"), "{stderr}");
    let summary = String::from_utf8_lossy(&output.stdout);
    assert!(summary.contains("| concurrency |"), "{summary}");
    assert!(stderr.contains("streamed, 2 requests"), "{stderr}");
    assert!(
        summary.contains("Streamed playback (2 requests"),
        "{summary}"
    );

    let report: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(report["config"]["smoke"], true);
    check_report(&report);
    check_stream(&report);
    report
}

fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

#[test]
fn the_smoke_suite_reports_cold_start_sweep_and_memory() {
    let report = smoke_suite("speecht5", &[]);
    assert_eq!(report["config"]["family"], "speecht5");
    assert_eq!(report["config"]["model"], "speecht5");
    assert_eq!(num(&report["stream"]["listen_seconds"]), 4.0);
    assert!(report["config"]["model_dir"]
        .as_str()
        .unwrap()
        .ends_with("speecht5-tiny/model"));
}

#[test]
fn the_piper_smoke_suite_measures_the_piper_voice() {
    let voice = repo().join(".models/piper-joe");
    assert!(
        voice.is_dir(),
        "{} is missing: run function/scripts/setup-piper.sh and setup-espeak.sh",
        voice.display()
    );
    let report = smoke_suite(
        "piper",
        &["--family", "piper", "--input", "Hello there, friend."],
    );
    assert_eq!(report["config"]["family"], "piper");
    assert_eq!(report["config"]["model"], "piper");
    assert!(report["config"]["model_dir"]
        .as_str()
        .unwrap()
        .ends_with("piper-joe"));
    // Piper's streamed requests are read to the end (it stops only between sentences).
    assert_eq!(num(&report["stream"]["listen_seconds"]), 0.0);
    assert_eq!(report["stream"]["hung_up"], 0, "{}", report["stream"]);
    // Piper is faster than real time even in a debug build (the model runs in OpenVINO), one
    // request at a time. At higher concurrency the requests share the machine's cores, so their
    // RTF depends on the core count and speed of the CPU: only measured, not bounded.
    for level in report["sweep"].as_array().unwrap() {
        let rtf = num(&level["rtf_p50"]);
        assert!(rtf.is_finite() && rtf > 0.0, "{level}");
        if level["concurrency"] == 1 {
            assert!(rtf < 1.0, "{level}");
        }
    }
}

/// The streamed phase of one smoke report: two streamed pcm requests.
fn check_stream(report: &Value) {
    let stream = &report["stream"];
    assert_eq!(stream["requests"], 2, "{stream}");
    assert_eq!(
        stream["statuses"],
        serde_json::json!({"200": 2}),
        "{stream}"
    );
    let listen = num(&stream["listen_seconds"]);
    assert!(listen == 0.0 || listen == 4.0, "{stream}");
    assert!(num(&stream["input_chars"]) > 150.0, "{stream}");
    assert!(num(&stream["ttfb_ms"]["p50"]) > 0.0, "{stream}");
    assert!(num(&stream["stall_ms"]["max"]) >= 0.0, "{stream}");
    assert!(
        stream["stalled_requests"].as_u64().unwrap() <= 2,
        "{stream}"
    );
}

/// Cold start, sweep and memory of one smoke report.
fn check_report(report: &Value) {
    // Cold start: without then with the compiled-model cache, phases positive and in order.
    let cold = report["cold_start"].as_array().unwrap();
    assert_eq!(cold.len(), 2, "{report}");
    assert_eq!(cold[0]["cache"], false);
    assert_eq!(cold[1]["cache"], true);
    for entry in cold {
        assert_eq!(entry["runs"], 1);
        assert_eq!(entry["all"][0]["first_request_status"], "200");
        let m = &entry["median"];
        for key in ["runtime_ms", "models_ms", "ready_ms", "first_audio_byte_ms"] {
            assert!(num(&m[key]) > 0.0, "{key}: {entry}");
        }
        let t = &m["timeline_ms"];
        let order = [
            "spawned",
            "runtime_loaded",
            "models_compiled",
            "ready",
            "first_audio_byte",
        ];
        for pair in order.windows(2) {
            assert!(
                0.0 < num(&t[pair[0]]) && num(&t[pair[0]]) <= num(&t[pair[1]]),
                "{} then {}: {entry}",
                pair[0],
                pair[1]
            );
        }
        assert!(num(&m["first_audio_byte_ms"]) > num(&m["listening_ms"]));
    }

    // Sweep: concurrency 1 and 2, three requests each, all 200.
    let sweep = report["sweep"].as_array().unwrap();
    let levels: Vec<u64> = sweep
        .iter()
        .map(|l| l["concurrency"].as_u64().unwrap())
        .collect();
    assert_eq!(levels, [1, 2]);
    for level in sweep {
        assert_eq!(level["requests"], 3, "{level}");
        assert_eq!(level["statuses"], serde_json::json!({"200": 3}), "{level}");
        let (p50, p90, p99) = (
            num(&level["latency_ms"]["p50"]),
            num(&level["latency_ms"]["p90"]),
            num(&level["latency_ms"]["p99"]),
        );
        assert!(0.0 < p50 && p50 <= p90 && p90 <= p99, "{level}");
        assert!(num(&level["ttfb_ms"]["p50"]) > 0.0, "{level}");
        assert!(num(&level["ttfb_ms"]["p50"]) <= p50, "{level}");
        assert!(num(&level["rtf_p50"]) > 0.0, "{level}");
        assert!(num(&level["throughput_audio_s_per_s"]) > 0.0, "{level}");
        assert_eq!(level["latencies_ms"].as_array().unwrap().len(), 3);
        assert!(num(&level["rss_peak_mb"]) > 0.0, "{level}");
    }

    // Memory of the spawned function over the sweep.
    let rss = report["rss_mb"].as_array().unwrap();
    assert!(rss.len() >= 2, "{report}");
    for pair in rss.windows(2) {
        assert!(num(&pair[0]["t_s"]) <= num(&pair[1]["t_s"]));
    }
    assert!(rss.iter().all(|s| num(&s["rss_mb"]) > 1.0), "{report}");
}
