//! The CPU as OpenVINO's CPU plugin sees it: its name (`FULL_DEVICE_NAME`), the precisions it can
//! compute in (`OPTIMIZATION_CAPABILITIES`), and the precision a compiled model really runs in
//! (`INFERENCE_PRECISION_HINT`, read back after compiling), with the report of both. OpenVINO
//! quietly computes in another precision when asked for one the CPU lacks (f32 for bf16 or f16 on
//! an AVX2-only CPU); this module is where that becomes visible. Owns nothing model-specific.

use openvino::{CompiledModel, Core, DeviceType, PropertyKey, RwPropertyKey};

use super::EngineError;

/// Floating-point precision OpenVINO's CPU plugin computes in.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Default, clap::ValueEnum, serde::Serialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// 32-bit float: matches the reference pipelines exactly; every CPU has it.
    #[default]
    F32,
    /// bfloat16: faster matrix products, ~2e-3 off f32. OpenVINO takes it on AVX-512 CPUs (fast
    /// with AVX512_BF16 or AMX, its default there); elsewhere it runs f32.
    Bf16,
    /// 16-bit float. OpenVINO takes it on CPUs with AVX512_FP16 (or AVX2-VNNI-2).
    F16,
}

impl Precision {
    /// Every precision, in the order the function lists them.
    pub const ALL: [Precision; 3] = [Self::F32, Self::Bf16, Self::F16];

    /// OpenVINO's name for it (also the `TTS_PRECISION` value).
    pub fn as_openvino(self) -> &'static str {
        match self {
            Self::F32 => "f32",
            Self::Bf16 => "bf16",
            Self::F16 => "f16",
        }
    }

    /// Reads OpenVINO's name of an element type back (`f32`, `bf16`, `f16`; the long names
    /// `float32`, `bfloat16`, `float16` too).
    pub fn from_openvino(name: &str) -> Option<Self> {
        match name.trim().to_ascii_lowercase().as_str() {
            "f32" | "float32" => Some(Self::F32),
            "bf16" | "bfloat16" => Some(Self::Bf16),
            "f16" | "float16" => Some(Self::F16),
            _ => None,
        }
    }

    /// The `OPTIMIZATION_CAPABILITIES` entry that says the CPU computes in this precision
    /// (f32 needs none).
    fn capability(self) -> Option<&'static str> {
        match self {
            Self::F32 => None,
            Self::Bf16 => Some("BF16"),
            Self::F16 => Some("FP16"),
        }
    }
}

impl std::fmt::Display for Precision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_openvino())
    }
}

/// The CPU the models run on, as OpenVINO reports it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Device {
    /// OpenVINO's `FULL_DEVICE_NAME`: the CPU's brand string, e.g. "AMD EPYC 7R13 Processor".
    pub name: String,
    /// OpenVINO's `OPTIMIZATION_CAPABILITIES`, e.g. `["FP32", "INT8", "BIN", "EXPORT_IMPORT"]`
    /// on an AVX2-only CPU; `BF16` and `FP16` appear where the CPU computes in them.
    pub capabilities: Vec<String>,
}

impl Device {
    /// Reads the CPU's name and capabilities from `core`.
    pub(super) fn read(core: &Core) -> Result<Self, EngineError> {
        let get = |key: PropertyKey, what: &str| {
            core.get_property(&DeviceType::CPU, &key)
                .map_err(|source| EngineError::Setup {
                    what: format!("reading the CPU's {what}"),
                    source,
                })
        };
        let name = get(PropertyKey::DeviceFullName, "name")?.trim().to_owned();
        let capabilities = parse_list(&get(PropertyKey::DeviceCapabilities, "capabilities")?);
        Ok(Self { name, capabilities })
    }

    /// A device from its reported name and `OPTIMIZATION_CAPABILITIES` value (a list separated by
    /// spaces or commas, as the C API prints it).
    pub fn new(name: &str, capabilities: &str) -> Self {
        Self {
            name: name.trim().to_owned(),
            capabilities: parse_list(capabilities),
        }
    }

    /// Whether the CPU computes in `precision` (f32 always; bf16 and f16 when OpenVINO lists
    /// the capability).
    pub fn supports(&self, precision: Precision) -> bool {
        precision
            .capability()
            .is_none_or(|cap| self.capabilities.iter().any(|c| c == cap))
    }

    /// The precisions this CPU computes in.
    pub fn precisions(&self) -> Vec<Precision> {
        Precision::ALL
            .into_iter()
            .filter(|p| self.supports(*p))
            .collect()
    }
}

fn parse_list(value: &str) -> Vec<String> {
    value
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The precision `model` really computes in: its `INFERENCE_PRECISION_HINT` as compiled (which
/// OpenVINO's CPU plugin sets to its own default when the precision asked for is not supported).
pub(super) fn compiled_precision(model: &CompiledModel) -> Result<Precision, EngineError> {
    let value = model
        .get_property(&PropertyKey::Rw(RwPropertyKey::HintInferencePrecision))
        .map(std::borrow::Cow::into_owned);
    read_precision(value, "a compiled model's INFERENCE_PRECISION_HINT")
}

/// An `INFERENCE_PRECISION_HINT` value as OpenVINO returned it (`what` names whose), read as a
/// [`Precision`].
pub(super) fn read_precision(
    value: Result<String, openvino::InferenceError>,
    what: &'static str,
) -> Result<Precision, EngineError> {
    let value = value.map_err(|source| EngineError::Setup {
        what: format!("reading {what}"),
        source,
    })?;
    Precision::from_openvino(&value).ok_or(EngineError::Property { what, value })
}

/// The precision asked for, the CPU, and what the compiled models really run in.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct PrecisionReport {
    /// The CPU's name (OpenVINO's `FULL_DEVICE_NAME`).
    pub cpu: String,
    /// OpenVINO's `OPTIMIZATION_CAPABILITIES` for it.
    pub capabilities: Vec<String>,
    /// The precisions the CPU computes in (as listed, plus the one that runs).
    pub supported: Vec<Precision>,
    /// The precision the function was configured with (`TTS_PRECISION`).
    pub requested: Precision,
    /// What models compiled with `requested` really run in (OpenVINO's CPU plugin keeps its
    /// own default when the CPU lacks the precision asked for).
    pub effective: Precision,
}

impl PrecisionReport {
    /// The report for `device` when `requested` was asked for and OpenVINO runs `effective`.
    pub fn new(device: &Device, requested: Precision, effective: Precision) -> Self {
        // OpenVINO lists BF16 from the CPU's flags but decides by its own ISA check (bf16 runs,
        // emulated, on any AVX-512 CPU): what really runs is supported, listed or not.
        let mut supported = device.precisions();
        if !supported.contains(&effective) {
            supported.push(effective);
            supported.sort();
        }
        Self {
            cpu: device.name.clone(),
            capabilities: device.capabilities.clone(),
            supported,
            requested,
            effective,
        }
    }

    /// The one warning to log when the models do not run in the precision asked for: what was
    /// asked, what the CPU is and can do, what runs instead, and how to silence it. `None` when
    /// the models run as asked.
    pub fn fallback_warning(&self) -> Option<String> {
        let effective = self.effective;
        if effective == self.requested {
            return None;
        }
        let supported: Vec<&str> = self.supported.iter().map(|p| p.as_openvino()).collect();
        Some(format!(
            "precision {requested} was asked for (TTS_PRECISION / --precision), but this CPU \
             ({cpu}; OpenVINO capabilities {caps}) does not compute in {requested}: OpenVINO runs \
             the models in {effective} instead. This CPU supports {supported}; set \
             TTS_PRECISION={effective} to ask for what runs and silence this warning.",
            requested = self.requested,
            cpu = self.cpu,
            caps = self.capabilities.join(", "),
            supported = supported.join(", "),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const AVX2: &str = "FP32 INT8 BIN EXPORT_IMPORT";
    const SAPPHIRE_RAPIDS: &str = "BF16 WINOGRAD FP32 FP16 INT8 BIN EXPORT_IMPORT";

    #[test]
    fn capabilities_decide_which_precisions_a_cpu_computes_in() {
        let amd = Device::new("AMD EPYC 7R13 Processor", AVX2);
        assert_eq!(amd.precisions(), [Precision::F32]);
        let intel = Device::new("Intel(R) Xeon(R) Processor", SAPPHIRE_RAPIDS);
        assert_eq!(intel.precisions(), Precision::ALL);
        let comma = Device::new("x", "FP32, BF16");
        assert_eq!(comma.precisions(), [Precision::F32, Precision::Bf16]);
    }

    #[test]
    fn openvino_type_names_read_back() {
        for p in Precision::ALL {
            assert_eq!(Precision::from_openvino(p.as_openvino()), Some(p));
        }
        assert_eq!(Precision::from_openvino("bfloat16"), Some(Precision::Bf16));
        assert_eq!(Precision::from_openvino("i8"), None);
    }

    #[test]
    fn a_fallback_is_one_warning_naming_the_cpu_and_the_fix() {
        let amd = Device::new("AMD EPYC 7R13 Processor", AVX2);
        let report = PrecisionReport::new(&amd, Precision::Bf16, Precision::F32);
        let warning = report.fallback_warning().expect("a warning");
        for needed in [
            "bf16",
            "AMD EPYC 7R13 Processor",
            "FP32, INT8",
            "runs the models in f32",
            "TTS_PRECISION=f32",
        ] {
            assert!(
                warning.contains(needed),
                "{needed:?} missing from {warning}"
            );
        }
        let honoured = PrecisionReport::new(&amd, Precision::F32, Precision::F32);
        assert_eq!(honoured.fallback_warning(), None);
        // Runs although not listed (an AVX-512 CPU without native bf16): supported all the same.
        let unlisted = PrecisionReport::new(&amd, Precision::Bf16, Precision::Bf16);
        assert_eq!(unlisted.supported, [Precision::F32, Precision::Bf16]);
        assert_eq!(unlisted.fallback_warning(), None);
    }
}
