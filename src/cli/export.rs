//! `nasc export --format onnx|pytorch`: the network `nasc train` trained, as an ONNX model or
//! as PyTorch code and weights.
//!
//! It reads what `nasc train --out DIR` wrote: `DIR/metrics.json` (the space file, the
//! architecture, the input normalisation fitted on the training split) and `DIR/model.bpk`
//! (the weights), and writes `DIR/model.onnx` ([`crate::export::onnx`]) or `DIR/model.py` and
//! `DIR/model.safetensors` ([`crate::export::pytorch`]). One command after `nasc train`,
//! without naming the space or the architecture again: the record says which network the
//! weights belong to, so they cannot be paired with another.

use super::train::{fix_arch, Fixed};
use super::*;
use crate::data::Normalization;
use crate::export::{onnx, pytorch, ExportError};

/// What `nasc export` writes of a trained network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Model {
    /// `model.onnx`.
    Onnx,
    /// `model.py` and `model.safetensors`.
    Pytorch,
}

impl Model {
    /// The format's name in messages.
    fn format(self) -> &'static str {
        match self {
            Model::Onnx => "ONNX",
            Model::Pytorch => "PyTorch",
        }
    }
}

/// Prints an export error: a diagnostic at the operator's `.nas` place when it has one.
fn report_export(program: &Program, e: &ExportError) -> ExitCode {
    match e.failure() {
        Some(f) => {
            diagnostics::emit_stderr(&[f.diagnostic()], &program.sources, color_choice(Color::Auto))
        }
        None => eprintln!("error: {e}"),
    }
    ExitCode::from(1)
}

/// Shape of a model value for people: `[batch, 1, 28, 28]`.
fn shape_text(shape: &[Option<i64>]) -> String {
    let dims: Vec<String> = shape
        .iter()
        .map(|d| d.map_or_else(|| onnx::BATCH.to_string(), |d| d.to_string()))
        .collect();
    format!("[{}]", dims.join(", "))
}

pub(super) fn export_model(
    dir: &std::path::Path,
    model: Model,
    out: Option<&std::path::Path>,
    space: Option<&std::path::Path>,
) -> ExitCode {
    let (record, weights) = (dir.join("metrics.json"), dir.join("model.bpk"));
    if !record.is_file() || !weights.is_file() {
        let d = dir.display().to_string();
        let experiment = dir.join(crate::experiment::store::DB_FILE).is_file();
        eprintln!(
            "{}",
            wording::command_problem(&CommandProblem::NotTrained { dir: &d, experiment })
        );
        return ExitCode::from(2);
    }
    let record_name = record.display().to_string();
    let bad = |what: &str| {
        let p = CommandProblem::BadTrainingRecord { path: &record_name, what };
        eprintln!("{}", wording::command_problem(&p));
        ExitCode::from(1)
    };
    let metrics: serde_json::Value = match std::fs::read(&record)
        .map_err(|e| e.to_string())
        .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()))
    {
        Ok(m) => m,
        Err(e) => return bad(&format!("it is not JSON ({e})")),
    };
    let Some(arch) = metrics.get("architecture").filter(|a| a.is_object()) else {
        return bad("it has no \"architecture\" object");
    };
    let normalization = match metrics.pointer("/report/normalization") {
        None => None,
        Some(n) => match serde_json::from_value::<Normalization>(n.clone()) {
            Ok(n) if n.mean.len() == n.std.len() && !n.mean.is_empty() => Some(n),
            _ => {
                return bad(
                    "its \"report\".\"normalization\" is not {\"mean\": [...], \"std\": [...]}",
                )
            }
        },
    };
    let space_path = match (space, metrics.get("space").and_then(|s| s.as_str())) {
        (Some(s), _) => s.to_path_buf(),
        (None, Some(s)) => {
            let path = std::path::PathBuf::from(s);
            if let Err(e) = std::fs::metadata(&path) {
                let error = e.to_string();
                let p =
                    CommandProblem::SpaceOfRecord { record: &record_name, space: s, error: &error };
                eprintln!("{}", wording::command_problem(&p));
                return ExitCode::from(2);
            }
            path
        }
        (None, None) => return bad("it has no \"space\" (pass the space with --space FILE)"),
    };
    let (program, graph) = match compile_space(&space_path) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let Fixed { program, graph, arch, fixed } =
        match fix_arch(program, graph, Some(&record), arch.to_string()) {
            Ok(f) => f,
            Err(code) => return code,
        };
    // Before any weights are read: every operator must have a form in the format.
    if let Err(e) = onnx::check(&fixed, model.format()) {
        return report_export(&program, &e);
    }
    let device = crate::runtime::Device::flex();
    let built = crate::runtime::train::catch_panics(|| {
        crate::runtime::Network::build(&fixed, &device, 0)?.load(&weights)
    });
    let net = match built {
        Ok(n) => n,
        Err(e) => return report_runtime(&program, &e),
    };
    let architecture = serde_json::Value::Object(arch.to_json(&graph)).to_string();
    let space = Some(space_path.display().to_string());
    let normalised = normalization.is_some() && fixed.inputs.len() == 1;
    let write = |path: &std::path::Path, bytes: &[u8]| -> Result<(), ExitCode> {
        std::fs::write(path, bytes).map_err(|e| {
            let (path, error) = (path.display().to_string(), e.to_string());
            let p = CommandProblem::CannotWrite { path: &path, error: &error };
            eprintln!("{}", wording::command_problem(&p));
            ExitCode::from(1)
        })
    };
    let inputs: Vec<(String, String)> = onnx::input_names(&fixed)
        .into_iter()
        .zip(&fixed.inputs)
        .map(|(name, &i)| (name, shape_text(&fixed.nodes[i].shape)))
        .collect();
    let output = shape_text(&fixed.nodes[fixed.output].shape);
    match model {
        Model::Onnx => {
            let info =
                onnx::ModelInfo { architecture, space, normalization: normalization.as_ref() };
            let bytes = match onnx::to_bytes(&fixed, &net, &info) {
                Ok(b) => b,
                Err(e) => return report_export(&program, &e),
            };
            let path = out.map_or_else(|| dir.join("model.onnx"), |p| p.to_path_buf());
            if let Err(code) = write(&path, &bytes) {
                return code;
            }
            let line = wording::exported_onnx(
                &path,
                bytes.len(),
                onnx::OPSET,
                &inputs,
                &output,
                normalised,
            );
            println!("{line}");
        }
        Model::Pytorch => {
            let info =
                pytorch::ModuleInfo { architecture, space, normalization: normalization.as_ref() };
            let (source, state) = match pytorch::export(&fixed, &net, &info) {
                Ok(r) => r,
                Err(e) => return report_export(&program, &e),
            };
            let bytes = match pytorch::safetensors_bytes(&state) {
                Ok(b) => b,
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::from(1);
                }
            };
            let path = out.map_or_else(|| dir.join("model.py"), |p| p.to_path_buf());
            let weights = path.with_extension("safetensors");
            if let Err(code) =
                write(&path, source.as_bytes()).and_then(|()| write(&weights, &bytes))
            {
                return code;
            }
            let class = pytorch::class_name(&fixed);
            let line = wording::exported_pytorch(
                &path,
                &weights,
                &class,
                bytes.len(),
                &inputs,
                &output,
                normalised,
            );
            println!("{line}");
        }
    }
    ExitCode::SUCCESS
}
