//! `nasc export --format onnx`: the network `nasc train` trained, as an ONNX model.
//!
//! It reads what `nasc train --out DIR` wrote: `DIR/metrics.json` (the space file, the
//! architecture, the input normalisation fitted on the training split) and `DIR/model.bpk`
//! (the weights), and writes `DIR/model.onnx` ([`crate::export::onnx`]). One command after
//! `nasc train`, without naming the space or the architecture again: the record says which
//! network the weights belong to, so they cannot be paired with another.

use super::train::{fix_arch, Fixed};
use super::*;
use crate::data::Normalization;
use crate::export::{onnx, ExportError};

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

pub(super) fn export_onnx(
    dir: &std::path::Path,
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
    // Before any weights are read: every operator must have an ONNX form.
    if let Err(e) = onnx::check(&fixed) {
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
    let info = onnx::ModelInfo {
        architecture: serde_json::Value::Object(arch.to_json(&graph)).to_string(),
        space: Some(space_path.display().to_string()),
        normalization: normalization.as_ref(),
    };
    let bytes = match onnx::to_bytes(&fixed, &net, &info) {
        Ok(b) => b,
        Err(e) => return report_export(&program, &e),
    };
    let path = out.map_or_else(|| dir.join("model.onnx"), |p| p.to_path_buf());
    if let Err(e) = std::fs::write(&path, &bytes) {
        let (path, error) = (path.display().to_string(), e.to_string());
        eprintln!(
            "{}",
            wording::command_problem(&CommandProblem::CannotWrite { path: &path, error: &error })
        );
        return ExitCode::from(1);
    }
    let inputs: Vec<(String, String)> = onnx::input_names(&fixed)
        .into_iter()
        .zip(&fixed.inputs)
        .map(|(name, &i)| (name, shape_text(&fixed.nodes[i].shape)))
        .collect();
    let output = shape_text(&fixed.nodes[fixed.output].shape);
    println!(
        "{}",
        wording::exported_onnx(
            &path,
            bytes.len(),
            onnx::OPSET,
            &inputs,
            &output,
            info.normalization.is_some() && fixed.inputs.len() == 1
        )
    );
    ExitCode::SUCCESS
}
