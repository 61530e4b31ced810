//! Guards that the function computes in the precision the CPU really supports, and says so: for
//! every `TTS_PRECISION` (f32, bf16, f16) the engine reads back what its compiled models run in;
//! a precision the CPU has changes the audio slightly, one it lacks gives exactly the audio of the
//! precision OpenVINO runs instead, with one warning naming both. The expectation comes from the
//! hardware (OpenVINO's `OPTIMIZATION_CAPABILITIES`), never from the machine the test was written
//! on. A second test runs the first again on an emulated AVX2-only AMD EPYC (`qemu-x86_64 -cpu
//! EPYC-Milan`: no AVX-512, no bf16, no fp16) so both kinds of CPU are checked on any host that
//! has bf16; and the running function reports the CPU and both precisions in `/health` and
//! `/v1/audio/voices`, logging the warning once when it falls back.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use e2e_tests::{bootstrap, max_abs_diff, openvino_lib, tiny_config, tiny_model};
use serde_json::Value;
use tts::engine::speecht5::{SpeechT5, Steps};
use tts::engine::{Device, Precision, PrecisionReport, Runtime, RuntimeOptions, SpeechEngine};

/// The emulated CPU of the second test: an AVX2-only AMD EPYC, as the project's machines were.
const EMULATED_CPU: &str = "EPYC-Milan";
/// Set in the emulated run, so its output says which CPU it ran on.
const EMULATED_ENV: &str = "TTS_TEST_EMULATED_CPU";

const TEXT: &str = "Hello world, this is a precision test.";
const STEPS: usize = 12;

fn runtime(precision: Precision) -> Arc<Runtime> {
    Arc::new(
        Runtime::new(RuntimeOptions {
            library: openvino_lib(),
            precision,
            threads: None,
            cache_dir: None,
            cache_seed: None,
            cpu_runtime_cache: None,
        })
        .expect("runtime"),
    )
}

/// The audio of the test sentence and the runtime's report, for one requested precision.
fn synthesize(precision: Precision) -> (Vec<f32>, Precision, PrecisionReport) {
    let runtime = runtime(precision);
    let engine = SpeechT5::load(&runtime, &tiny_model(), 1).expect("tiny model");
    let audio = engine
        .generate(TEXT, "speaker_a", Steps::Exactly(STEPS))
        .expect("synthesis")
        .synthesis
        .samples;
    (audio, engine.info().precision, runtime.precision())
}

#[test]
fn each_precision_runs_as_the_cpu_allows_and_a_fallback_is_exact_and_said() {
    let runs: BTreeMap<Precision, (Vec<f32>, Precision, PrecisionReport)> = Precision::ALL
        .into_iter()
        .map(|p| (p, synthesize(p)))
        .collect();
    let (f32_audio, f32_effective, report) = &runs[&Precision::F32];
    assert_eq!(*f32_effective, Precision::F32, "f32 runs everywhere");
    assert!(report.fallback_warning().is_none());
    println!(
        "cpu: {} (capabilities {}){}",
        report.cpu,
        report.capabilities.join(" "),
        std::env::var(EMULATED_ENV).map_or(String::new(), |c| format!(", emulated {c}"))
    );
    for requested in [Precision::Bf16, Precision::F16] {
        let (audio, effective, report) = &runs[&requested];
        assert_eq!(report.requested, requested);
        assert_eq!(
            report.effective, *effective,
            "the runtime's read-back agrees with the compiled model's"
        );
        let listed = Device {
            name: report.cpu.clone(),
            capabilities: report.capabilities.clone(),
        }
        .supports(requested);
        if listed {
            // The capability is listed: OpenVINO must honour it.
            assert_eq!(
                *effective, requested,
                "{requested} is supported: {report:?}"
            );
        }
        if *effective == requested {
            assert!(report.fallback_warning().is_none());
            assert_eq!(f32_audio.len(), audio.len(), "same steps, same length");
            let diff = max_abs_diff(f32_audio, audio);
            assert!(
                diff > 1e-5 && diff < 0.1,
                "{requested} should differ slightly from f32, got {diff} on {}",
                report.cpu
            );
            println!("{requested}: runs {effective}, max diff from f32 {diff:.2e}");
        } else {
            // Not supported: the precision that runs instead must give exactly its own audio, and
            // the one warning says what was asked, what runs and how to silence it.
            assert!(
                report.supported.contains(effective),
                "{requested} fell back to {effective}, which this CPU does not list: {report:?}"
            );
            let warning = report
                .fallback_warning()
                .expect("a fallback is warned about");
            for needed in [
                requested.as_openvino(),
                &format!("runs the models in {effective}"),
                &report.cpu,
                &format!("TTS_PRECISION={effective}"),
            ] {
                assert!(warning.contains(needed), "{needed:?} missing: {warning}");
            }
            let (own, own_effective, _) = &runs[effective];
            assert_eq!(own_effective, effective);
            assert_eq!(own.len(), audio.len(), "same steps, same length");
            let diff = max_abs_diff(own, audio);
            assert_eq!(
                diff, 0.0,
                "{requested} falling back to {effective} must give {effective}'s audio"
            );
            println!("{requested}: not supported, runs {effective}, equal to {effective}");
        }
    }
}

/// Where qemu's user-mode emulator is, if installed (`tests/run.sh` installs it).
fn qemu() -> Option<std::path::PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|dir| std::path::Path::new(dir).join("qemu-x86_64"))
        .find(|p| p.is_file())
}

#[test]
fn on_an_emulated_avx2_only_epyc_bf16_and_f16_fall_back_to_f32_exactly_with_the_warning() {
    let native = runtime(Precision::F32).precision();
    if !native.supported.contains(&Precision::Bf16) && !native.supported.contains(&Precision::F16) {
        println!(
            "{} has neither bf16 nor f16: the native run of the other test already checks the fallback",
            native.cpu
        );
        return;
    }
    let Some(qemu) = qemu() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "qemu-x86_64 is missing: tests/run.sh installs Debian's qemu-user"
        );
        eprintln!("SKIPPED: qemu-x86_64 is not installed (apt-get install qemu-user)");
        return;
    };
    let started = Instant::now();
    let out = Command::new(&qemu)
        .args(["-cpu", EMULATED_CPU])
        .arg(std::env::current_exe().expect("this test binary"))
        .args([
            "--exact",
            "each_precision_runs_as_the_cpu_allows_and_a_fallback_is_exact_and_said",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(EMULATED_ENV, EMULATED_CPU)
        .stdin(Stdio::null())
        .output()
        .expect("qemu runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the emulated run failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    println!(
        "emulated run ({:.0} s):\n{stdout}",
        started.elapsed().as_secs_f64()
    );
    for line in [
        "bf16: not supported, runs f32, equal to f32",
        "f16: not supported, runs f32, equal to f32",
        "emulated EPYC-Milan",
    ] {
        assert!(stdout.contains(line), "{line:?} missing from:\n{stdout}");
    }
    assert!(
        stdout.contains("1 passed"),
        "the emulated run did not run the test:\n{stdout}"
    );

    // The function itself on the emulated CPU: asked for bf16, it reports and warns.
    let report = serve(Precision::Bf16, Some(&qemu));
    let cpu = report.0["runtime"]["cpu"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(cpu.contains("EPYC"), "emulated CPU reported as {cpu:?}");
    let emulated = PrecisionReport {
        cpu,
        capabilities: serde_json::from_value(report.0["runtime"]["capabilities"].clone())
            .expect("capabilities"),
        supported: vec![Precision::F32],
        requested: Precision::Bf16,
        effective: Precision::F32,
    };
    assert!(
        !emulated
            .capabilities
            .iter()
            .any(|c| c == "BF16" || c == "FP16"),
        "{:?}",
        emulated.capabilities
    );
    let (effective, warnings) = check_report(&emulated, &report);
    assert_eq!((effective.as_str(), warnings), ("f32", 1));
    println!(
        "function on {}: asked bf16, runs f32, one warning ({:.0} s in all)",
        emulated.cpu,
        started.elapsed().as_secs_f64()
    );
}

/// What the running function says of itself when started with `TTS_PRECISION=requested`
/// (under `emulator` when given): `/health`, `/v1/audio/voices` and its log.
fn serve(requested: Precision, emulator: Option<&std::path::Path>) -> (Value, Value, String) {
    let mut command = match emulator {
        Some(qemu) => {
            let mut c = Command::new(qemu);
            c.args(["-cpu", EMULATED_CPU]).arg(bootstrap());
            c
        }
        None => Command::new(bootstrap()),
    };
    let mut child = command
        .env_remove("AWS_LAMBDA_RUNTIME_API")
        .env("TTS_BIND", "127.0.0.1:0")
        .env("OPENVINO_LIB", openvino_lib())
        .env("TTS_CONFIG", tiny_config())
        .env("TTS_PRECISION", requested.as_openvino())
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("bootstrap starts");
    let stderr = child.stderr.take().expect("stderr");
    let log = std::thread::spawn(move || {
        BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
            .collect::<Vec<_>>()
    });
    let stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let url = stdout
        .lines()
        .map_while(Result::ok)
        .find_map(|l| l.strip_prefix("listening on ").map(str::to_owned));
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let get = |path: &str| -> Option<Value> {
        let url = url.as_ref()?;
        client.get(format!("{url}{path}")).send().ok()?.json().ok()
    };
    let (health, voices) = (get("/health"), get("/v1/audio/voices"));
    let _ = child.kill();
    let _ = child.wait();
    let log = log.join().expect("stderr reader").join("\n");
    match (health, voices) {
        (Some(h), Some(v)) => (h, v, log),
        _ => panic!("the function did not answer /health and /v1/audio/voices:\n{log}"),
    }
}

/// Checks what the function reported against `expected` (OpenVINO's report for the same request
/// on the CPU it ran on); returns the precision it runs in and the number of fallback warnings it
/// logged.
fn check_report(
    expected: &PrecisionReport,
    (health, voices, log): &(Value, Value, String),
) -> (String, usize) {
    let runtime = &health["runtime"];
    assert_eq!(runtime, &voices["runtime"], "one report on both routes");
    assert_eq!(runtime["cpu"].as_str(), Some(expected.cpu.as_str()));
    assert_eq!(
        runtime["capabilities"],
        serde_json::json!(expected.capabilities)
    );
    assert_eq!(
        runtime["precision"],
        serde_json::json!({
            "requested": expected.requested,
            "effective": expected.effective,
            "supported": expected.supported,
        })
    );
    let effective = expected.effective.as_openvino().to_owned();
    // Every model reports the precision it really runs in.
    for model in voices["data"].as_array().unwrap() {
        assert_eq!(
            model["precision"].as_str(),
            Some(effective.as_str()),
            "{model}"
        );
    }
    let warnings = log.matches("does not compute in").count();
    if expected.effective == expected.requested {
        assert_eq!(warnings, 0, "{log}");
    } else {
        assert_eq!(warnings, 1, "one warning at start:\n{log}");
        assert!(log.contains(&format!("TTS_PRECISION={effective}")), "{log}");
    }
    (effective, warnings)
}

#[test]
fn the_function_reports_the_cpu_and_the_precision_it_runs_and_warns_once_on_a_fallback() {
    // Ask for what this CPU lacks when it lacks something, so the warning path runs here too.
    let device = runtime(Precision::F32).precision();
    let requested = [Precision::F16, Precision::Bf16]
        .into_iter()
        .find(|p| !device.supported.contains(p))
        .unwrap_or(Precision::Bf16);
    let expected = runtime(requested).precision();
    let (effective, warnings) = check_report(&expected, &serve(requested, None));
    println!(
        "{}: asked {requested}, runs {effective}, {warnings} warning(s)",
        device.cpu
    );
}
