//! Guards start-up: a bad set-up stops `bootstrap` with one clear error naming what is wrong and
//! how to fix it (missing runtime library, missing or incomplete model folder, an IR whose
//! inputs are not SpeechT5's), instead of a panic or a server that fails every request; and a folder
//! without `voices/` (as exported from microsoft/speecht5_tts) loads with a default speaker; a
//! missing Piper voice or eSpeak NG names the command that installs it.

use std::path::Path;

use e2e_tests::{run_to_exit, tiny_model};

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("tts-setup-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn a_missing_runtime_library_names_the_path_and_the_install_script() {
    let (ok, stderr) = run_to_exit(&[("OPENVINO_LIB", "/nonexistent/libopenvino_c.so.2641")]);
    assert!(!ok);
    assert!(
        stderr.contains("/nonexistent/libopenvino_c.so.2641") && stderr.contains("not found"),
        "{stderr}"
    );
    assert!(stderr.contains("setup-openvino.sh"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn a_missing_model_folder_is_named() {
    let (ok, stderr) = run_to_exit(&[("TTS_MODEL_DIR", "/nonexistent/speecht5")]);
    assert!(!ok);
    assert!(
        stderr.contains("/nonexistent/speecht5") && stderr.contains("not found"),
        "{stderr}"
    );
}

#[test]
fn an_incomplete_model_folder_lists_the_missing_files() {
    let dir = scratch("incomplete");
    copy_dir(&tiny_model(), &dir);
    std::fs::remove_file(dir.join("openvino_vocoder.bin")).unwrap();
    std::fs::remove_file(dir.join("spm_char.model")).unwrap();
    let (ok, stderr) = run_to_exit(&[("TTS_MODEL_DIR", dir.to_str().unwrap())]);
    std::fs::remove_dir_all(&dir).ok();
    assert!(!ok);
    assert!(
        stderr.contains("missing openvino_vocoder.bin, spm_char.model"),
        "{stderr}"
    );
}

#[test]
fn an_ir_with_the_wrong_inputs_is_reported_with_what_it_has() {
    let dir = scratch("signature");
    copy_dir(&tiny_model(), &dir);
    // Put the vocoder where the postnet belongs: it loads, but its inputs are not the postnet's.
    for ext in ["xml", "bin"] {
        std::fs::copy(
            dir.join(format!("openvino_vocoder.{ext}")),
            dir.join(format!("openvino_postnet.{ext}")),
        )
        .unwrap();
    }
    let (ok, stderr) = run_to_exit(&[("TTS_MODEL_DIR", dir.to_str().unwrap())]);
    std::fs::remove_dir_all(&dir).ok();
    assert!(!ok);
    assert!(
        stderr.contains("openvino_postnet.xml")
            && stderr.contains("raw_spectrogram")
            && stderr.contains("spectrogram"),
        "{stderr}"
    );
}

#[test]
fn a_voice_file_of_the_wrong_size_is_refused() {
    let dir = scratch("voice");
    copy_dir(&tiny_model(), &dir);
    std::fs::write(dir.join("voices/short.bin"), [0u8; 100]).unwrap();
    let (ok, stderr) = run_to_exit(&[("TTS_MODEL_DIR", dir.to_str().unwrap())]);
    std::fs::remove_dir_all(&dir).ok();
    assert!(!ok);
    assert!(
        stderr.contains("short.bin") && stderr.contains("512 little-endian f32"),
        "{stderr}"
    );
}

#[test]
fn a_folder_without_voices_loads_with_a_default_speaker() {
    // A folder exported from microsoft/speecht5_tts has no voices/: it must load unchanged.
    let dir = scratch("novoices");
    copy_dir(&tiny_model(), &dir);
    std::fs::remove_dir_all(dir.join("voices")).unwrap();
    let server = e2e_tests::Server::start(&[("TTS_MODEL_DIR", dir.to_str().unwrap())]);
    let client = reqwest::blocking::Client::new();
    let voices: serde_json::Value = client
        .get(format!("{}/v1/audio/voices", server.url))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(voices["data"][0]["voices"], serde_json::json!(["default"]));
    let response = client
        .post(format!("{}/v1/audio/speech", server.url))
        .json(&serde_json::json!({"model": "speecht5", "input": "Hello.", "voice": "default"}))
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.bytes().unwrap().len() > 44);
    drop(server);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_voice_table_naming_a_missing_voice_is_refused_at_start() {
    let dir = scratch("table");
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("tts.toml");
    let model = tiny_model();
    std::fs::write(
        &config,
        format!(
            "[[models]]\nid = \"speecht5\"\nfamily = \"speecht5\"\ndir = {:?}\n[models.voices]\nalloy = \"narrator\"\n",
            model.to_str().unwrap()
        ),
    )
    .unwrap();
    let (ok, stderr) = run_to_exit(&[("TTS_CONFIG", config.to_str().unwrap())]);
    std::fs::remove_dir_all(&dir).ok();
    assert!(!ok);
    assert!(
        stderr.contains("\"alloy\"") && stderr.contains("\"narrator\""),
        "{stderr}"
    );
}

#[test]
fn a_broken_configuration_file_is_named_with_the_problem() {
    let dir = scratch("config");
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("tts.toml");
    std::fs::write(
        &config,
        "[[models]]\nid = \"x\"\nfamily = \"tacotron\"\ndir = \"m\"\n",
    )
    .unwrap();
    let (ok, stderr) = run_to_exit(&[("TTS_CONFIG", config.to_str().unwrap())]);
    let (missing_ok, missing) = run_to_exit(&[("TTS_CONFIG", "/nonexistent/tts.toml")]);
    std::fs::remove_dir_all(&dir).ok();
    assert!(
        !ok && stderr.contains("tts.toml") && stderr.contains("tacotron"),
        "{stderr}"
    );
    assert!(
        !missing_ok && missing.contains("/nonexistent/tts.toml") && missing.contains("TTS_CONFIG"),
        "{missing}"
    );
}

/// A configuration serving the default Piper voice from `voice_dir`.
fn piper_config(name: &str, voice_dir: &Path) -> std::path::PathBuf {
    let dir = scratch(name);
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("tts.toml");
    std::fs::write(
        &config,
        format!(
            "[[models]]\nid = \"piper-joe\"\nfamily = \"piper\"\ndir = \"{}\"\n",
            voice_dir.display()
        ),
    )
    .unwrap();
    config
}

#[test]
fn a_missing_piper_voice_names_the_command_that_installs_it() {
    let config = piper_config("novoice", Path::new("/nonexistent/piper-joe"));
    let (ok, stderr) = run_to_exit(&[("TTS_CONFIG", config.to_str().unwrap())]);
    assert!(!ok);
    assert!(stderr.contains("/nonexistent/piper-joe"), "{stderr}");
    assert!(stderr.contains("setup-piper.sh"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn a_missing_espeak_names_the_command_that_installs_it() {
    let voice = e2e_tests::repo().join(".models/piper-joe");
    let config = piper_config("noespeak", &voice);
    for (var, value, install) in [
        (
            "TTS_ESPEAK_LIBRARY",
            "/nonexistent/libespeak-ng.so.1",
            "setup-espeak.sh",
        ),
        (
            "TTS_ESPEAK_PHONEMIZER",
            "/nonexistent/espeak-phonemes",
            "cargo build --release -p espeak-phonemes",
        ),
    ] {
        let (ok, stderr) = run_to_exit(&[("TTS_CONFIG", config.to_str().unwrap()), (var, value)]);
        assert!(!ok, "{var}");
        assert!(stderr.contains(value), "{stderr}");
        assert!(stderr.contains(install), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}
