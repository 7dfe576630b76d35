//! The `nasc` binary, run as a user runs it: exit codes, where output goes, the JSON format,
//! and every example and standard-library file.
//!
//! Exit codes: 0 for a clean file, 1 for a file with errors, 2 for a bad command line or an
//! unreadable file.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs `nasc ARGS` in the crate root.
fn nasc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nasc"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the nasc binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("stdout is UTF-8")
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).expect("stderr is UTF-8")
}

fn code(o: &Output) -> i32 {
    o.status.code().expect("nasc exits normally, not by a signal")
}

/// Every `.nas` file under `dir` (relative to the crate root), recursively, sorted, leaving
/// out the directories named in `skip`.
fn nas_files(dir: &str, skip: &[&str]) -> Vec<PathBuf> {
    fn walk(dir: &Path, skip: &[&str], out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let p = entry.expect("a directory entry").path();
            if p.is_dir() {
                if !skip.iter().any(|s| p.ends_with(s)) {
                    walk(&p, skip, out);
                }
            } else if p.extension().is_some_and(|e| e == "nas") {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    walk(Path::new(dir), skip, &mut out);
    out.sort();
    out
}

#[test]
fn check_prints_a_summary_of_a_clean_file() {
    let o = nasc(&["check", "examples/mnist.nas"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.starts_with("examples/mnist.nas: ok: network Mnist;"),
        "unexpected summary:\n{out}"
    );
    assert!(out.contains("network Mnist("), "no network summary:\n{out}");
    assert!(out.contains("labels:"), "no labels in the summary:\n{out}");
    assert!(stderr(&o).is_empty(), "stderr: {}", stderr(&o));
}

#[test]
fn check_reports_errors_on_stderr_and_exits_1() {
    let o = nasc(&["check", "--color", "never", "examples/errors/unknown_name.nas"]);
    assert_eq!(code(&o), 1);
    assert!(stdout(&o).is_empty(), "stdout: {}", stdout(&o));
    let err = stderr(&o);
    for line in [
        "error[E0011]: cannot find block or operator `sep_cnv`",
        "  ┌─ examples/errors/unknown_name.nas:7:15",
        "7 │         sep3: sep_cnv(x, out: c, kernel: 3),",
        "  │               ^^^^^^^ not a known block or operator",
        "  = help: did you mean `sep_conv`?",
        "error: 1 error found",
    ] {
        assert!(err.lines().any(|l| l == line), "no line {line:?} in:\n{err}");
    }
    assert_eq!(err.lines().last(), Some("error: 1 error found"));
}

#[test]
fn colour_follows_the_flag_and_is_off_when_stderr_is_not_a_terminal() {
    let file = "examples/errors/duplicate_block.nas";
    let auto = stderr(&nasc(&["check", file]));
    assert!(!auto.contains('\x1b'), "escape codes in piped output:\n{auto}");
    let never = stderr(&nasc(&["check", "--color", "never", file]));
    assert_eq!(auto, never);
    let always = stderr(&nasc(&["check", "--color", "always", file]));
    assert!(always.contains('\x1b'), "no colour with --color always:\n{always}");
    assert!(always.contains("E0012"));
}

#[test]
fn several_errors_are_counted() {
    let o = nasc(&["check", "--color", "never", "tests/golden/multiple_errors.nas"]);
    assert_eq!(code(&o), 1);
    let err = stderr(&o);
    assert_eq!(err.matches("error[E").count(), 8, "{err}");
    assert_eq!(err.lines().last(), Some("error: 8 errors found"));
}

/// The diagnostics of `--format json` output: an array, or the `diagnostics` of an object
/// that also describes the networks.
fn json_diagnostics(out: &str) -> Vec<serde_json::Value> {
    let v: serde_json::Value = serde_json::from_str(out)
        .unwrap_or_else(|e| panic!("--format json prints JSON ({e}):\n{out}"));
    match v {
        serde_json::Value::Array(a) => a,
        serde_json::Value::Object(mut o) => match o.remove("diagnostics") {
            Some(serde_json::Value::Array(a)) => a,
            other => panic!("no `diagnostics` array in the JSON object: {other:?}"),
        },
        other => panic!("--format json prints an array or an object, not {other}"),
    }
}

#[test]
fn json_format_gives_every_field_of_a_diagnostic() {
    let file = "examples/errors/unknown_name.nas";
    let o = nasc(&["check", "--format", "json", file]);
    assert_eq!(code(&o), 1);
    let diags = json_diagnostics(&stdout(&o));
    assert_eq!(diags.len(), 1, "{diags:#?}");
    let d = &diags[0];
    for key in ["path", "range", "line", "column", "code", "severity", "message", "labels", "help"]
    {
        assert!(d.get(key).is_some(), "no `{key}` in {d:#}");
    }
    let text = std::fs::read_to_string(file).expect("readable");
    let start = text.find("sep_cnv(").expect("the misspelt call");
    assert_eq!(d["path"], file);
    assert_eq!(d["code"], "E0011");
    assert_eq!(d["severity"], "error");
    assert_eq!(d["message"], "cannot find block or operator `sep_cnv`");
    assert_eq!(d["line"], 7);
    assert_eq!(d["column"], 15);
    assert_eq!(d["range"], serde_json::json!([start, start + "sep_cnv".len()]));
    assert_eq!(d["help"], "did you mean `sep_conv`?");
    let labels = d["labels"].as_array().expect("labels is an array");
    assert_eq!(labels.len(), 1);
    assert_eq!(labels[0]["primary"], true);
    assert_eq!(labels[0]["path"], file);
    assert_eq!(labels[0]["message"], "not a known block or operator");
    assert_eq!(labels[0]["start"]["line"], 7);
    assert_eq!(labels[0]["start"]["column"], 15);
    assert_eq!(labels[0]["start"]["byte"], start);
    assert_eq!(labels[0]["end"]["column"], 22);
}

#[test]
fn json_format_locates_secondary_labels_in_their_own_files() {
    let o = nasc(&["check", "--format", "json", "tests/golden/E0016_unknown_keyword.nas"]);
    assert_eq!(code(&o), 1);
    let diags = json_diagnostics(&stdout(&o));
    let d = &diags[0];
    assert_eq!(d["code"], "E0016");
    assert_eq!(d["help"], "did you mean `kernel`?");
    let labels = d["labels"].as_array().expect("labels is an array");
    assert_eq!(labels.len(), 2, "{d:#}");
    assert_eq!(labels[0]["path"], "tests/golden/E0016_unknown_keyword.nas");
    assert_eq!(labels[1]["primary"], false);
    assert_eq!(labels[1]["path"], "<stdlib>/ops.nas");
    assert_eq!(labels[1]["message"], "`conv_bn_relu` is defined here");
}

#[test]
fn json_format_of_a_clean_file_has_no_diagnostics() {
    let o = nasc(&["check", "--format", "json", "examples/mnist.nas"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(json_diagnostics(&stdout(&o)).is_empty());
    assert!(stderr(&o).is_empty(), "stderr: {}", stderr(&o));
}

#[test]
fn a_missing_file_exits_2_with_a_clear_message() {
    let o = nasc(&["check", "examples/no_such_file.nas"]);
    assert_eq!(code(&o), 2);
    let err = stderr(&o);
    assert!(
        err.starts_with("error: cannot read examples/no_such_file.nas:"),
        "unclear message: {err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    assert!(stdout(&o).is_empty());
    // The same with `--format json`: there is nothing to describe, so nothing on stdout.
    let o = nasc(&["check", "--format", "json", "examples/no_such_file.nas"]);
    assert_eq!(code(&o), 2);
    assert!(stdout(&o).is_empty());
}

#[test]
fn a_missing_architecture_file_exits_2() {
    let o = nasc(&["check", "examples/mnist.nas", "--arch", "no_such_arch.json"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("no_such_arch.json"), "{}", stderr(&o));
}

/// `--arch` is an architecture of the file's first network: checked against it, named in the
/// report; when that network has errors, those are what is reported (not the labels of the
/// next network); a file without a network is an error, not a silent pass.
#[test]
fn an_architecture_is_checked_against_the_first_network() {
    let dir = std::env::temp_dir().join(format!("nasc-cli-arch-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let arch = dir.join("wa.json");
    std::fs::write(&arch, r#"{"wa": "r"}"#).expect("write");
    let net = |name: &str, label: &str, out: &str| {
        format!("network {name}(x: Tensor[n, 4]) -> Tensor[n, {out}] {{\n    return choice {label} {{ r: relu(x), s: x }}\n}}\n")
    };
    let two = dir.join("two.nas");
    let arch_s = arch.to_str().expect("utf8");
    // A checks: the architecture is A's, and the report names it.
    std::fs::write(&two, net("A", "wa", "4") + "\n" + &net("B", "wb", "4")).expect("write");
    let o = nasc(&["check", two.to_str().expect("utf8"), "--arch", arch_s]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stdout(&o).contains("architecture of `A`: "), "{}", stdout(&o));
    // A has an error: it is reported, and B's labels are not asked of the architecture.
    std::fs::write(&two, net("A", "wa", "3") + "\n" + &net("B", "wb", "4")).expect("write");
    let o = nasc(&["check", two.to_str().expect("utf8"), "--arch", arch_s]);
    assert_eq!(code(&o), 1);
    let err = stderr(&o);
    assert!(
        err.contains("error[E")
            && !err.contains("E0203")
            && !err.contains("E0204")
            && !err.contains("wb"),
        "{err}"
    );
    // No network at all.
    let none = dir.join("none.nas");
    std::fs::write(&none, "block b(x: Tensor[n, 4]) -> Tensor[n, 4] {\n    return relu(x)\n}\n")
        .expect("write");
    let o = nasc(&["check", none.to_str().expect("utf8"), "--arch", arch_s]);
    assert_eq!(code(&o), 1);
    assert!(stderr(&o).contains("has no `network`"), "{}", stderr(&o));
    let _ = std::fs::remove_dir_all(&dir);
}

/// An architecture with thousands of unknown keys gets its first problems reported and a
/// count of the rest, not one diagnostic (echoing the whole line) per key.
#[test]
fn a_flood_of_architecture_errors_is_cut_short() {
    let dir = std::env::temp_dir().join(format!("nasc-cli-flood-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let arch = dir.join("flood.json");
    let keys: Vec<String> = (0..3000).map(|i| format!("\"k{i}\": 1")).collect();
    let good = r#""width": 16, "depth": 1, "depth2": 1, "depth[0]/SearchedBlock/operation": "conv3", "depth2[0]/SearchedBlock/operation": "conv3""#;
    std::fs::write(&arch, format!("{{{good}, {}}}", keys.join(", "))).expect("write");
    let o = nasc(&[
        "check",
        "examples/mnist.nas",
        "--arch",
        arch.to_str().expect("utf8"),
        "--format",
        "json",
    ]);
    assert_eq!(code(&o), 1);
    let json: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("JSON");
    let diags = json["diagnostics"].as_array().expect("diagnostics");
    assert_eq!(diags.len(), 20, "{json}");
    assert!(diags.iter().all(|d| d["code"] == "E0204"), "{json}");
    assert!(
        diags[19].to_string().contains("2980 more problems with this architecture not shown"),
        "{}",
        diags[19]
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// `nasc sample` on a space whose constraints no architecture meets reports E0113, as
/// `nasc check` does, instead of giving up after many random tries.
#[test]
fn sample_reports_an_unsatisfiable_space() {
    let o = nasc(&["sample", "tests/golden/E0113_unsatisfiable.nas", "--count", "2"]);
    assert_eq!(code(&o), 1);
    assert!(stderr(&o).contains("error[E0113]"), "{}", stderr(&o));
    assert!(stdout(&o).is_empty());
}

/// `--emit ir` with `--format json` puts each network's IR text in the JSON.
#[test]
fn the_ir_is_in_the_json_when_asked_for() {
    let with = nasc(&["check", "examples/mnist.nas", "--format", "json", "--emit", "ir"]);
    let without = nasc(&["check", "examples/mnist.nas", "--format", "json"]);
    let ir = |o: &Output| {
        serde_json::from_str::<serde_json::Value>(&stdout(o)).expect("JSON")["networks"][0]["ir"]
            .clone()
    };
    let text = nasc(&["check", "examples/mnist.nas", "--emit", "ir"]);
    let from_json = ir(&with);
    let from_json = from_json.as_str().expect("IR text");
    assert!(!from_json.is_empty() && stdout(&text).contains(from_json), "{from_json}");
    assert!(ir(&without).is_null());
}

#[test]
fn a_directory_is_not_a_file() {
    let o = nasc(&["check", "examples"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).starts_with("error: cannot read examples"), "{}", stderr(&o));
}

#[test]
fn a_bad_command_line_exits_2() {
    for args in [
        &["check", "--bogus", "examples/mnist.nas"][..],
        &["check", "--format", "yaml", "examples/mnist.nas"],
        &["check", "--color", "sometimes", "examples/mnist.nas"],
        &["check"],
        &["frobnicate", "examples/mnist.nas"],
        &[],
    ] {
        let o = nasc(args);
        assert_eq!(code(&o), 2, "nasc {args:?}: {}", stderr(&o));
        assert!(!stderr(&o).is_empty(), "nasc {args:?} says nothing");
        assert!(stdout(&o).is_empty(), "nasc {args:?} prints {}", stdout(&o));
    }
    assert!(stderr(&nasc(&["check", "--bogus", "examples/mnist.nas"])).contains("--bogus"));
}

#[test]
fn help_and_version_exit_0() {
    let o = nasc(&["--help"]);
    assert_eq!(code(&o), 0);
    assert!(stdout(&o).contains("check"));
    let o = nasc(&["--version"]);
    assert_eq!(code(&o), 0);
    assert!(stdout(&o).starts_with("nasc "), "{}", stdout(&o));
}

#[test]
fn every_example_and_stdlib_file_checks_clean() {
    let mut files = nas_files("examples", &["errors", "data"]);
    files.extend(nas_files("stdlib", &[]));
    assert!(files.len() >= 6, "too few files found: {files:?}");
    let mut failed = Vec::new();
    for f in &files {
        let o = nasc(&["check", "--color", "never", &f.display().to_string()]);
        if code(&o) != 0 {
            failed.push(format!("{} (exit {}):\n{}", f.display(), code(&o), stderr(&o)));
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}

#[test]
fn every_error_example_fails() {
    let files = nas_files("examples/errors", &[]);
    assert!(!files.is_empty());
    for f in &files {
        let o = nasc(&["check", "--color", "never", &f.display().to_string()]);
        assert_eq!(code(&o), 1, "{}:\n{}{}", f.display(), stdout(&o), stderr(&o));
        assert!(stderr(&o).contains("error[E"), "{}: {}", f.display(), stderr(&o));
    }
}

/// Codes that their golden input does not produce yet (see `KNOWN_GAPS` in crates/nasc-front/tests/golden.rs).
const KNOWN_GAPS: &[&str] = &["E0005"];

#[test]
fn every_golden_file_fails_with_its_code_on_the_command_line() {
    let mut failed = Vec::new();
    for f in nas_files("tests/golden", &["modules", "snapshots"]) {
        let name = f.file_stem().expect("a name").to_string_lossy().into_owned();
        let mut path = f.display().to_string();
        let raw = std::fs::read(&f).expect("readable");
        if name.starts_with("E0006") {
            // The golden file marks its invalid byte as `<0xFF>`; write the real byte.
            let text = String::from_utf8(raw).expect("the golden file is UTF-8");
            let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli");
            std::fs::create_dir_all(&dir).expect("a scratch directory");
            let p = dir.join(format!("{name}.nas"));
            let mut bytes = Vec::new();
            for (i, part) in text.split("<0xFF>").enumerate() {
                if i > 0 {
                    bytes.push(0xFF);
                }
                bytes.extend_from_slice(part.as_bytes());
            }
            std::fs::write(&p, bytes).expect("writable");
            path = p.display().to_string();
        }
        let mut args = vec!["check", "--color", "never", path.as_str()];
        let arch = f.with_extension("arch.json");
        let arch = arch.display().to_string();
        if Path::new(&arch).is_file() {
            args.extend(["--arch", arch.as_str()]);
        }
        let o = nasc(&args);
        let err = stderr(&o);
        let code_here = name.split('_').next().unwrap_or("");
        let wants = if code_here.starts_with('E') && !KNOWN_GAPS.contains(&code_here) {
            format!("error[{code_here}]")
        } else {
            "error[E".to_string()
        };
        if code(&o) != 1 || !err.contains(&wants) {
            failed.push(format!("{} (exit {}), wanted {wants}:\n{err}", f.display(), code(&o)));
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}

/// A reader that stops early (`nasc check ... | head -1`) ends nasc quietly, not with a panic
/// about a broken pipe.
#[test]
fn closed_stdout_is_not_a_panic() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_nasc"))
        .args(["check", "stdlib/spaces/darts.nas", "--emit", "ir"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the nasc binary runs");
    let mut first = String::new();
    BufReader::new(child.stdout.take().expect("piped stdout"))
        .read_line(&mut first)
        .expect("one line");
    assert!(!first.is_empty());
    // The pipe's reading end is dropped here, with most of the output still unwritten.
    let out = child.wait_with_output().expect("nasc ends");
    let err = stderr(&out);
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn train_writes_weights_and_metrics_and_eval_reproduces_the_test_accuracy() {
    let out = common::temp_dir("cli-train");
    let out_s = out.to_str().expect("utf8");
    let arch = "examples/archs/mnist_small.json";
    let o = nasc(&[
        "train",
        "examples/mnist.nas",
        "--arch",
        arch,
        "--epochs",
        "1",
        "--max-steps",
        "5",
        "--out",
        out_s,
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    // Standard error is not a terminal here: plain lines instead of a progress bar.
    assert!(stderr(&o).starts_with("epoch 1: train loss "), "{}", stderr(&o));
    let printed = stdout(&o);
    let accuracy = printed
        .lines()
        .next()
        .and_then(|l| l.split(" (").next())
        .expect("a first line")
        .to_string();
    assert!(accuracy.starts_with("test accuracy "), "{printed}");
    let metrics: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("metrics.json")).expect("metrics.json"))
            .expect("JSON");
    assert_eq!(metrics["architecture"]["width"], 32);
    assert_eq!(metrics["report"]["epochs"].as_array().map(Vec::len), Some(1));
    assert_eq!(metrics["report"]["params"], 12_714);
    let weights = out.join("model.bpk");
    let o = nasc(&[
        "eval",
        "examples/mnist.nas",
        "--arch",
        arch,
        "--weights",
        weights.to_str().expect("utf8"),
        "--batch-size",
        "64",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stdout(&o).starts_with(&accuracy),
        "train printed `{accuracy}`, eval printed `{}`",
        stdout(&o)
    );
    // Weights of another architecture are refused with the file's name.
    let o = nasc(&[
        "eval",
        "examples/mnist.nas",
        "--arch",
        "examples/archs/mnist_small.json",
        "--weights",
        "examples/mnist.nas",
    ]);
    assert_eq!(code(&o), 1);
    assert!(
        stderr(&o).contains("examples/mnist.nas") && !stderr(&o).contains("panicked"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn train_refuses_data_that_does_not_fit_the_network_at_its_input() {
    let dir = common::temp_dir("cli-misfit");
    common::write_npy(&dir.join("x.npy"), &[10, 3, 32, 32], &[0.0; 10 * 3 * 32 * 32]);
    common::write_npy(&dir.join("y.npy"), &[10], &[0.0; 10]);
    // Integer labels are needed for classification: zeros as int64 would do, but the data
    // shape is checked first.
    let spec = format!("npy:{},{}", dir.join("x.npy").display(), dir.join("y.npy").display());
    let o = nasc(&[
        "train",
        "examples/mnist.nas",
        "--arch",
        "examples/archs/mnist_small.json",
        "--data",
        &spec,
        "--task",
        "regression",
    ]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    insta::assert_snapshot!("train_E0301", stderr(&o));
}

#[test]
fn train_reports_bad_data_and_bad_architectures_clearly() {
    let o = nasc(&[
        "train",
        "examples/mnist.nas",
        "--arch",
        "examples/archs/mnist_small.json",
        "--data",
        "mnist:no/such/dir",
    ]);
    assert_eq!(code(&o), 1);
    assert!(stderr(&o).contains("no/such/dir"), "{}", stderr(&o));
    let o = nasc(&[
        "train",
        "examples/mnist.nas",
        "--arch",
        "examples/archs/mnist_small.json",
        "--data",
        "imagenet:x",
    ]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("mnist:") && stderr(&o).contains("npy:"), "{}", stderr(&o));
    let o = nasc(&["train", "examples/mnist.nas"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("--arch"), "{}", stderr(&o));
    let dir = common::temp_dir("cli-badarch");
    std::fs::write(dir.join("a.json"), r#"{"width": 48, "depth": 1, "depth2": 1}"#).expect("write");
    let o = nasc(&[
        "train",
        "examples/mnist.nas",
        "--arch",
        dir.join("a.json").to_str().expect("utf8"),
    ]);
    assert_eq!(code(&o), 1);
    assert!(stderr(&o).contains("E0205") && stderr(&o).contains("width"), "{}", stderr(&o));
    let o = nasc(&[
        "train",
        "examples/mnist.nas",
        "--arch",
        "examples/archs/mnist_small.json",
        "--device",
        "wgpu",
    ]);
    if cfg!(feature = "wgpu") {
        return;
    }
    assert_eq!(code(&o), 2, "a device this build lacks is a bad command line");
    assert!(stderr(&o).contains("--features wgpu"), "{}", stderr(&o));
}

#[test]
fn eval_refuses_weights_of_another_architecture_even_with_matching_shapes() {
    let out = common::temp_dir("cli-eval-arch");
    let a = out.join("a.json");
    let b = out.join("b.json");
    // Two architectures with the same tensors: a pooling and a skip block swapped.
    std::fs::write(&a, r#"{"width": 16, "depth": 1, "depth[0]/SearchedBlock/operation": "pool", "depth2": 1, "depth2[0]/SearchedBlock/operation": "skip"}"#)
        .expect("write");
    std::fs::write(&b, r#"{"width": 16, "depth": 1, "depth[0]/SearchedBlock/operation": "skip", "depth2": 1, "depth2[0]/SearchedBlock/operation": "pool"}"#)
        .expect("write");
    let dir = out.join("run");
    let o = nasc(&[
        "train",
        "examples/mnist.nas",
        "--arch",
        a.to_str().expect("utf8"),
        "--max-steps",
        "2",
        "--out",
        dir.to_str().expect("utf8"),
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let weights = dir.join("model.bpk");
    let o = nasc(&[
        "eval",
        "examples/mnist.nas",
        "--arch",
        b.to_str().expect("utf8"),
        "--weights",
        weights.to_str().expect("utf8"),
    ]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(stderr(&o).contains("metrics.json"), "{}", stderr(&o));
    let o = nasc(&[
        "eval",
        "examples/mnist.nas",
        "--arch",
        a.to_str().expect("utf8"),
        "--weights",
        weights.to_str().expect("utf8"),
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    // An output directory that cannot be made is refused before any training.
    let o = nasc(&[
        "train",
        "examples/mnist.nas",
        "--arch",
        a.to_str().expect("utf8"),
        "--out",
        weights.join("x").to_str().expect("utf8"),
    ]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(!stderr(&o).contains("epoch 1"), "trained before checking --out: {}", stderr(&o));
}

#[test]
fn runs_and_export_refuse_bad_arguments() {
    let o = nasc(&["runs", "--root", "no/such/dir"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("no/such/dir"), "{}", stderr(&o));
    let o = nasc(&["export", "no/such/dir", "--top", "0"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("--top"), "{}", stderr(&o));
    let o = nasc(&["export", "no/such/dir"]);
    assert_eq!(code(&o), 1);
    assert!(stderr(&o).contains("no/such/dir"), "{}", stderr(&o));
}

#[test]
fn check_with_a_one_shot_strategy_reports_what_it_cannot_lower() {
    let o = nasc(&[
        "check",
        "tests/data/oneshot_concat.nas",
        "--strategy",
        "darts",
        "--color",
        "never",
    ]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    insta::assert_snapshot!("check_E0401", stderr(&o));
    // A sampling strategy takes the same space; multi-trial strategies take any space.
    for s in ["enas", "random-oneshot", "evolution"] {
        let o = nasc(&["check", "tests/data/oneshot_concat.nas", "--strategy", s]);
        assert_eq!(code(&o), 0, "{s}: {}", stderr(&o));
    }
    let o = nasc(&["check", "tests/data/oneshot_concat.nas", "--strategy", "bogus"]);
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("darts, gumbel-darts, enas, random-oneshot, proxyless"),
        "{}",
        stderr(&o)
    );
}

/// SPOS's evolution over the trained supernet says how many candidates it scores and reports
/// its progress (a line about every tenth without a terminal).
#[test]
fn random_oneshot_reports_the_evolution_as_it_goes() {
    let dir = common::temp_dir("cli-spos-progress");
    let out = dir.join("spos").display().to_string();
    let o = nasc(&[
        "search",
        "tests/data/tiny_search.nas",
        "--strategy",
        "random-oneshot",
        "--epochs",
        "1",
        "--max-steps",
        "2",
        "--option",
        "search_candidates=4",
        "--option",
        "population=2",
        "--option",
        "tournament=2",
        "--option",
        "calibration_batches=1",
        "--option",
        "score_batches=1",
        "--out",
        &out,
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("evolution over the trained supernet: 4 candidates"), "{err}");
    assert!(err.contains("scored 4/4 candidates"), "{err}");
}

#[test]
fn a_one_shot_search_exports_an_architecture_that_trains() {
    let dir = common::temp_dir("cli-oneshot");
    let out = dir.join("darts");
    let out_s = out.display().to_string();
    let o = nasc(&[
        "search",
        "tests/data/tiny_search.nas",
        "--strategy",
        "darts",
        "--epochs",
        "2",
        "--max-steps",
        "3",
        "--out",
        &out_s,
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stdout(&o).contains("exported: trial 1"), "{}", stdout(&o));
    let best = out.join("best.json");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&best).expect("best.json")).expect("JSON");
    assert!(json["width"].is_number() && json["kernel"].is_number(), "{json}");
    // The run is in the store: its epochs, the probabilities of every candidate, the exported trial.
    let o = nasc(&["runs", "show", &out_s]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let text = stdout(&o);
    assert!(
        text.contains("supernet: 2 epochs")
            && text.contains("probabilities after epoch 2:")
            && text.contains("width:"),
        "{text}"
    );
    // `nasc train --arch best.json` retrains it.
    let best_s = best.display().to_string();
    let trained = dir.join("trained").display().to_string();
    let o = nasc(&[
        "train",
        "tests/data/tiny_search.nas",
        "--arch",
        &best_s,
        "--max-steps",
        "2",
        "--out",
        &trained,
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    // The directory is taken: a new search does not overwrite it (`--resume` continues it).
    let o = nasc(&[
        "search",
        "tests/data/tiny_search.nas",
        "--strategy",
        "darts",
        "--max-steps",
        "1",
        "--out",
        &out_s,
    ]);
    assert_eq!(code(&o), 1);
    assert!(
        stderr(&o).contains("an experiment already exists here")
            && stderr(&o).contains("nasc search --resume"),
        "{}",
        stderr(&o)
    );
    // Options of the multi-trial search are refused, and so are unknown one-shot options.
    let o = nasc(&[
        "search",
        "tests/data/tiny_search.nas",
        "--strategy",
        "enas",
        "--max-trials",
        "3",
        "--out",
        &out_s,
    ]);
    assert_eq!(code(&o), 2);
    let o = nasc(&[
        "search",
        "tests/data/tiny_search.nas",
        "--strategy",
        "darts",
        "--option",
        "nope=1",
        "--out",
        &out_s,
    ]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("no option `nope`"), "{}", stderr(&o));
    let o = nasc(&[
        "search",
        "tests/data/tiny_search.nas",
        "--strategy",
        "enas",
        "--unrolled",
        "--out",
        &out_s,
    ]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
}

/// `--option` is typed per one-shot strategy: another strategy's option is ignored with a
/// warning, an unknown name lists the strategy's options, a value that is not a number is a bad
/// command line; none of them creates the experiment.
#[test]
fn one_shot_options_belong_to_their_strategy() {
    let dir = common::temp_dir("cli-oneshot-options");
    let out = dir.join("run");
    let out_s = out.display().to_string();
    let o = nasc(&[
        "search",
        "tests/data/tiny_search.nas",
        "--strategy",
        "darts",
        "--option",
        "population=3",
        "--option",
        "nope=1",
        "--out",
        &out_s,
    ]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains(
            "warning: `darts` does not use option `population` (an option of random-oneshot)"
        ),
        "{err}"
    );
    assert!(
        err.contains("error: `darts` has no option `nope`; its options are lr_min, calibration_batches, score_batches, arch_lr, arch_beta1, arch_weight_decay"),
        "{err}"
    );
    let o = nasc(&[
        "search",
        "tests/data/tiny_search.nas",
        "--strategy",
        "enas",
        "--option",
        "top_k=many",
        "--out",
        &out_s,
    ]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains("option `top_k` takes a number, not `many`"), "{}", stderr(&o));
    assert!(!out.exists(), "no experiment directory is left behind");
}

#[test]
fn a_one_shot_search_refuses_data_that_does_not_fit_before_creating_the_experiment() {
    let dir = common::temp_dir("cli-oneshot-misfit");
    common::write_npy(&dir.join("x.npy"), &[10, 3, 32, 32], &[0.0; 10 * 3 * 32 * 32]);
    common::write_npy(&dir.join("y.npy"), &[10], &[0.0; 10]);
    let spec = format!("npy:{},{}", dir.join("x.npy").display(), dir.join("y.npy").display());
    let out = dir.join("run");
    let o = nasc(&[
        "search",
        "tests/data/tiny_search.nas",
        "--strategy",
        "darts",
        "--data",
        &spec,
        "--task",
        "regression",
        "--out",
        &out.display().to_string(),
    ]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(stderr(&o).contains("E0301"), "{}", stderr(&o));
    assert!(!out.exists(), "no experiment directory is left behind");
}

#[test]
fn a_one_shot_search_without_a_validation_split_is_a_bad_command_line() {
    let dir = common::temp_dir("cli-oneshot-noval");
    let out = dir.join("run");
    let o = nasc(&[
        "search",
        "tests/data/tiny_search.nas",
        "--strategy",
        "darts",
        "--val-fraction",
        "0",
        "--out",
        &out.display().to_string(),
    ]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains("--val-fraction"), "{}", stderr(&o));
    assert!(!out.exists(), "no experiment directory is left behind");
    let o = nasc(&[
        "search",
        "tests/data/tiny_search.nas",
        "--strategy",
        "random-oneshot",
        "--option",
        "tournament=100",
        "--out",
        &out.display().to_string(),
    ]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("option tournament"), "{}", stderr(&o));
}

/// An error inside an imported space (here: zero classes reach the classifier inside
/// `std.spaces.shufflenet`) also points at the call in the file being checked.
#[test]
fn an_error_inside_an_imported_space_points_at_the_call_that_leads_there() {
    let dir = std::env::temp_dir().join(format!("nasc-cli-called-from-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("c0.nas");
    std::fs::write(
        &file,
        "import std.spaces.shufflenet.{ShuffleNetSpos}\n\nnetwork N(x: Tensor[n, 3, 32, 32]) -> Tensor[n, 0] {\n    return ShuffleNetSpos(x: x, resolution: 32, classes: 0) label \"\"\n}\n",
    )
    .expect("written");
    let o = nasc(&["check", file.to_str().expect("utf-8"), "--color", "never"]);
    assert_eq!(code(&o), 1);
    let err = stderr(&o);
    assert!(err.contains("a linear layer needs at least one output feature"), "{err}");
    assert!(err.contains("c0.nas:4:12"), "{err}");
    assert!(err.contains("in this call"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

/// A network with no trainable parameter has nothing to learn: `nasc train` measures it and
/// writes its (empty) weights instead of panicking in the backward pass, and the one-shot
/// strategies that train single paths go on past a weightless one.
#[test]
fn a_network_without_parameters_is_evaluated_not_trained() {
    let dir = common::temp_dir("cli-weightless");
    let arch = dir.join("pool.json");
    std::fs::write(&arch, r#"{"op": "pool"}"#).expect("write");
    let out = dir.join("trained").display().to_string();
    let o = nasc(&[
        "train",
        "tests/data/weightless.nas",
        "--arch",
        arch.to_str().expect("utf8"),
        "--epochs",
        "1",
        "--max-steps",
        "3",
        "--out",
        &out,
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stdout(&o).contains("test accuracy") && stdout(&o).contains(" 0 params"),
        "{}",
        stdout(&o)
    );
    for strategy in ["enas", "random-oneshot", "proxyless", "darts"] {
        let out = dir.join(strategy).display().to_string();
        let o = nasc(&[
            "search",
            "tests/data/weightless.nas",
            "--strategy",
            strategy,
            "--epochs",
            "2",
            "--max-steps",
            "4",
            "--option",
            "score_batches=2",
            "--out",
            &out,
        ]);
        assert_eq!(code(&o), 0, "{strategy}: {}", stderr(&o));
        assert!(!stderr(&o).contains("panicked"), "{strategy}: {}", stderr(&o));
    }
}

/// `nasc eval` normalises the inputs with the statistics recorded at training time, not with
/// statistics fitted again on the `--data` it is given; without them it says so.
#[test]
fn eval_uses_the_normalisation_of_training() {
    let dir = common::temp_dir("cli-eval-norm");
    let out = dir.join("small");
    let arch = "examples/archs/mnist_small.json";
    let o = nasc(&[
        "train",
        "examples/mnist.nas",
        "--arch",
        arch,
        "--epochs",
        "1",
        "--max-steps",
        "20",
        "--out",
        out.to_str().expect("utf8"),
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let weights = out.join("model.bpk").display().to_string();
    let eval = || nasc(&["eval", "examples/mnist.nas", "--arch", arch, "--weights", &weights]);
    let first = eval();
    assert_eq!(code(&first), 0, "{}", stderr(&first));
    assert!(!stderr(&first).contains("warning"), "{}", stderr(&first));
    // Other recorded statistics change the result: they are the ones used.
    let path = out.join("metrics.json");
    let mut m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).expect("metrics.json")).expect("JSON");
    m["report"]["normalization"]["mean"] = serde_json::json!([5.0]);
    std::fs::write(&path, m.to_string()).expect("write");
    let shifted = eval();
    assert_eq!(code(&shifted), 0, "{}", stderr(&shifted));
    assert_ne!(stdout(&first), stdout(&shifted));
    // Without metrics.json the statistics are fitted on --data, with a warning.
    std::fs::remove_file(&path).expect("remove");
    let refit = eval();
    assert_eq!(code(&refit), 0, "{}", stderr(&refit));
    assert!(stderr(&refit).contains("warning: no metrics.json"), "{}", stderr(&refit));
    assert_eq!(stdout(&first), stdout(&refit), "the same data: the same statistics");
}

/// `nasc export` checks the recorded architectures against the experiment's space: a store
/// changed by hand gives an error naming the trial, and no file.
#[test]
fn export_refuses_an_architecture_the_space_rejects() {
    let dir = common::temp_dir("cli-export-tampered").join("exp");
    let exp = dir.display().to_string();
    let o = nasc(&[
        "search",
        "tests/data/tiny_search.nas",
        "--max-trials",
        "2",
        "--epochs",
        "1",
        "--max-steps",
        "2",
        "--out",
        &exp,
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let o = nasc(&["export", &exp, "--top", "2"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    std::fs::remove_dir_all(dir.join("export")).expect("clean");
    let conn = rusqlite::Connection::open(dir.join("experiment.db")).expect("opens");
    conn.execute("UPDATE trials SET arch = '{\"width\": 7, \"kernel\": 3}'", []).expect("tamper");
    drop(conn);
    let o = nasc(&["export", &exp, "--top", "2"]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("records an architecture that the experiment's space rejects")
            && stderr(&o).contains("width"),
        "{}",
        stderr(&o)
    );
    assert!(!dir.join("export").exists());
}

/// ENAS exports and records only architectures that meet the space's constraints: with a FLOPs
/// bound that 2,812 of 13,950 networks meet, every recorded trial is within it.
#[test]
fn enas_records_and_exports_only_architectures_within_the_constraints() {
    let dir = common::temp_dir("cli-enas-constraints");
    let space = dir.join("mnist.nas");
    let text = std::fs::read_to_string("examples/mnist.nas").expect("read");
    let text =
        text.replace("where params <= 500_000", "where params <= 500_000, flops <= 1_000_000");
    std::fs::write(&space, text).expect("write");
    let out = dir.join("enas");
    let o = nasc(&[
        "search",
        space.to_str().expect("utf8"),
        "--strategy",
        "enas",
        "--epochs",
        "1",
        "--max-steps",
        "3",
        "--option",
        "controller_steps=4",
        "--option",
        "controller_aggregate=2",
        "--option",
        "top_k=4",
        "--option",
        "score_batches=2",
        "--option",
        "calibration_batches=2",
        "--out",
        out.to_str().expect("utf8"),
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(!stderr(&o).contains("warning"), "{}", stderr(&o));
    let trials = nasc::experiment::Store::open(&out).expect("opens").trials().expect("trials");
    assert!(!trials.is_empty());
    for t in &trials {
        assert!(
            t.flops <= 1_000_000 && t.params <= 500_000,
            "trial {} costs {} FLOPs",
            t.id.0,
            t.flops
        );
    }
}

/// A diagnostic on a very long line (an architecture written on one line, 1.5 MB here) shows a
/// window of the line around its labels, not the whole line once per diagnostic.
#[test]
fn a_long_line_is_shown_as_a_window_around_the_problem() {
    let dir = common::temp_dir("cli-long-line");
    let arch = dir.join("long.json");
    let keys: Vec<String> = (0..100_000).map(|i| format!("\"k{i}\": 1")).collect();
    let good = r#""width": 16, "depth": 1, "depth2": 1, "depth[0]/SearchedBlock/operation": "conv3", "depth2[0]/SearchedBlock/operation": "conv3""#;
    let text = format!("{{{good}, {}}}", keys.join(", "));
    assert!(text.len() > 1_000_000 && !text.contains('\n'));
    std::fs::write(&arch, text).expect("write");
    let o = nasc(&["check", "examples/mnist.nas", "--arch", arch.to_str().expect("utf8")]);
    assert_eq!(code(&o), 1);
    let err = stderr(&o);
    // Twenty diagnostics, each with a window of the line.
    assert_eq!(err.matches("error[E0204]").count(), 20, "{}", &err[..err.len().min(2000)]);
    assert!(err.len() < 40_000, "{} bytes of diagnostics", err.len());
    assert!(err.contains("…\"k0\": 1") || err.contains("\"k0\": 1"), "{}", &err[..2000]);
    assert!(err.contains('…'), "{}", &err[..2000]);
    // Columns count from the start of the real line (`k1000` is 11,021 bytes in).
    assert!(err.contains("long.json:1:11021"), "{}", &err[..2000]);
}
