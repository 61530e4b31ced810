//! Small helpers over the `openvino` crate shared by the engines: mapping OpenVINO errors to
//! [`EngineError`] by stage, building input tensors from Rust slices, and checking that a compiled
//! model has the inputs and outputs an engine binds.

use std::path::Path;

use openvino::{CompiledModel, ElementType, Shape, Tensor};

use super::EngineError;

/// Maps an OpenVINO error raised in `stage` to [`EngineError::Inference`].
pub fn infer(stage: &'static str) -> impl Fn(openvino::InferenceError) -> EngineError {
    move |source| EngineError::Inference { stage, source }
}

/// An OpenVINO shape from dimensions.
pub fn shape(dims: &[i64]) -> Result<Shape, openvino::InferenceError> {
    Shape::new(dims)
}

/// A new tensor holding a copy of `data` (inputs built from Rust values).
pub fn tensor<T: Copy>(
    kind: ElementType,
    dims: &[i64],
    data: &[T],
) -> Result<Tensor, openvino::InferenceError> {
    let mut t = Tensor::new(kind, &shape(dims)?)?;
    t.get_data_mut::<T>()?.copy_from_slice(data);
    Ok(t)
}

/// Checks that a compiled model has the named inputs and outputs an engine binds; the error lists
/// what is missing, what the model has, and `fix` (how to get a model that fits).
pub fn check_signature(
    model: &CompiledModel,
    file: &Path,
    inputs: &[&str],
    outputs: &[&str],
    fix: &'static str,
) -> Result<(), EngineError> {
    let ports = [
        ("inputs", inputs, model.get_input_size().unwrap_or(0), true),
        (
            "outputs",
            outputs,
            model.get_output_size().unwrap_or(0),
            false,
        ),
    ];
    for (kind, wanted, count, is_input) in ports {
        let port = |name: &str| {
            if is_input {
                model.get_input_by_name(name)
            } else {
                model.get_output_by_name(name)
            }
        };
        let missing: Vec<String> = wanted
            .iter()
            .filter(|n| port(n).is_err())
            .map(ToString::to_string)
            .collect();
        if !missing.is_empty() {
            let found = (0..count)
                .filter_map(|i| {
                    let node = if is_input {
                        model.get_input_by_index(i)
                    } else {
                        model.get_output_by_index(i)
                    };
                    node.and_then(|n| n.get_name()).ok()
                })
                .collect();
            return Err(EngineError::Signature {
                file: file.to_owned(),
                kind,
                missing,
                found,
                fix,
            });
        }
    }
    Ok(())
}
