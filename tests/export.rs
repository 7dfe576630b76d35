//! The exports against someone else's runtime (issue 19, items 2, 3 and 4): networks of every
//! hub space and example, and a network using every operator, with random architectures and
//! random weights, and a network really trained by `nasc train`, are exported as ONNX models
//! and as PyTorch modules with their state dicts; ONNX's checker must accept each model, and
//! ONNX Runtime and PyTorch must compute nasc's outputs on the same inputs (max absolute
//! difference under 1e-4); the README's MNIST model must have the same test accuracy in ONNX
//! Runtime as in `nasc eval`.
//!
//! The oracles run in the Python of a virtual environment with `onnx`, `onnxruntime` and
//! `torch` (pinned in `tests/onnx/requirements.txt` and `tests/pytorch/requirements.txt`;
//! `.ci/run` makes it in `target/venv`), named by `NASC_PYTHON`. Without it the oracle tests
//! say they skipped, except under CI (`CI` set), where they fail.

mod common;

use burn::module::{Module, Param};
use burn::tensor::{Tensor, TensorData};
use nasc::arch::{self, Architecture, FixedGraph};
use nasc::export::{onnx, pytorch};
use nasc::runtime::network::Layer;
use nasc::runtime::{Device, Network, Value};
use rand::{Rng, SeedableRng};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The largest absolute difference allowed between nasc's and ONNX Runtime's outputs.
const TOLERANCE: f32 = 1e-4;

/// The oracle's Python, or `None` (with a line saying why) when the tests must skip it.
fn python() -> Option<PathBuf> {
    match std::env::var_os("NASC_PYTHON") {
        Some(p) => {
            let p = PathBuf::from(p);
            assert!(p.is_file(), "NASC_PYTHON={} is not a file", p.display());
            Some(p)
        }
        None if std::env::var_os("CI").is_some() => panic!(
            "CI must run the ONNX oracle, but NASC_PYTHON is not set: .ci/run makes the virtual \
             environment target/venv from tests/onnx/requirements.txt and sets it"
        ),
        None => {
            // Written to the process's standard error itself, past the test harness's capture,
            // so that a passing run shows what it skipped.
            let _ = writeln!(
                std::io::stderr(),
                "skipped: the ONNX oracle, since NASC_PYTHON is not set (the Python of a virtual \
                 environment with tests/onnx/requirements.txt installed; .ci/run makes one in \
                 target/venv)"
            );
            None
        }
    }
}

fn nasc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nasc")).args(args).output().expect("nasc runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// One network for the oracles: its ONNX model, its PyTorch module (`model.py`, the class, the
/// state dict), its input (raw float32, batch first) and nasc's output.
struct Case {
    what: String,
    model: PathBuf,
    module: (PathBuf, String, PathBuf),
    input: Vec<f32>,
    shape: Vec<usize>,
    expected: Vec<f32>,
    architecture: String,
}

/// Runs the oracle on `cases`: checks each model, runs it, and returns ONNX Runtime's
/// outputs and the line it printed for each case.
fn oracle(py: &Path, dir: &Path, cases: &[Case]) -> Vec<(Vec<f32>, serde_json::Value)> {
    let mut manifest = Vec::new();
    for (k, c) in cases.iter().enumerate() {
        let input = dir.join(format!("case{k}.input.f32"));
        let output = dir.join(format!("case{k}.output.f32"));
        let bytes: Vec<u8> = c.input.iter().flat_map(|v| v.to_le_bytes()).collect();
        std::fs::write(&input, bytes).expect("write the input");
        manifest.push(serde_json::json!({
            "model": c.model, "input": input, "shape": c.shape, "output": output,
        }));
    }
    let path = dir.join("manifest.json");
    std::fs::write(&path, serde_json::Value::Array(manifest).to_string()).expect("manifest");
    let out = Command::new(py)
        .arg("tests/onnx/run_onnx.py")
        .arg("run")
        .arg(&path)
        .output()
        .expect("the oracle's Python runs");
    assert!(
        out.status.success(),
        "the oracle failed:\n{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let lines: Vec<serde_json::Value> =
        text(&out.stdout).lines().map(|l| serde_json::from_str(l).expect("a JSON line")).collect();
    assert_eq!(lines.len(), cases.len(), "{}", text(&out.stdout));
    lines
        .into_iter()
        .enumerate()
        .map(|(k, line)| {
            let bytes = std::fs::read(dir.join(format!("case{k}.output.f32"))).expect("output");
            let values = bytes
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            (values, line)
        })
        .collect()
}

/// Runs PyTorch on the modules of `cases`: each loads its state dict strictly, runs in eval
/// mode, and then takes a training step; returns PyTorch's outputs and its line per case.
fn pytorch_oracle(py: &Path, dir: &Path, cases: &[Case]) -> Vec<(Vec<f32>, serde_json::Value)> {
    let mut manifest = Vec::new();
    for (k, c) in cases.iter().enumerate() {
        let (module, class, weights) = &c.module;
        let input = dir.join(format!("torch{k}.input.f32"));
        let output = dir.join(format!("torch{k}.output.f32"));
        let bytes: Vec<u8> = c.input.iter().flat_map(|v| v.to_le_bytes()).collect();
        std::fs::write(&input, bytes).expect("write the input");
        manifest.push(serde_json::json!({
            "module": module, "class": class, "weights": weights,
            "input": input, "shape": c.shape, "output": output,
        }));
    }
    let path = dir.join("torch-manifest.json");
    std::fs::write(&path, serde_json::Value::Array(manifest).to_string()).expect("manifest");
    let out = Command::new(py)
        .arg("tests/pytorch/run_pytorch.py")
        .arg(&path)
        .output()
        .expect("the oracle's Python runs");
    assert!(out.status.success(), "PyTorch failed:\n{}\n{}", text(&out.stdout), text(&out.stderr));
    let lines: Vec<serde_json::Value> =
        text(&out.stdout).lines().map(|l| serde_json::from_str(l).expect("a JSON line")).collect();
    assert_eq!(lines.len(), cases.len(), "{}", text(&out.stdout));
    lines
        .into_iter()
        .enumerate()
        .map(|(k, line)| {
            let bytes = std::fs::read(dir.join(format!("torch{k}.output.f32"))).expect("output");
            let values = bytes
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            (values, line)
        })
        .collect()
}

/// Compares PyTorch's outputs with nasc's; returns the largest difference of each case.
fn compare_pytorch(py: &Path, dir: &Path, cases: &[Case]) -> Vec<f32> {
    let results = pytorch_oracle(py, dir, cases);
    let mut gaps = Vec::new();
    for (c, (got, line)) in cases.iter().zip(&results) {
        assert_eq!(got.len(), c.expected.len(), "{}: output size ({line})", c.what);
        let gap = got.iter().zip(&c.expected).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
        let scale = c.expected.iter().map(|v| v.abs()).fold(0f32, f32::max);
        eprintln!("{}: max |torch - nasc| = {gap:e} (outputs up to {scale:.3})", c.what);
        assert!(
            gap < TOLERANCE && got.iter().all(|v| v.is_finite()),
            "{}: PyTorch differs from nasc by {gap} (outputs up to {scale})",
            c.what
        );
        let arch = serde_json::from_str::<serde_json::Value>(&c.architecture).unwrap();
        assert_eq!(line["architecture"], arch, "{}", c.what);
        gaps.push(gap);
    }
    gaps
}

/// Compares the oracle's outputs with nasc's; returns the largest difference of each case.
fn compare(py: &Path, dir: &Path, cases: &[Case]) -> Vec<f32> {
    let results = oracle(py, dir, cases);
    let mut gaps = Vec::new();
    for (c, (got, line)) in cases.iter().zip(&results) {
        assert_eq!(got.len(), c.expected.len(), "{}: output size ({line})", c.what);
        let gap = got.iter().zip(&c.expected).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
        let scale = c.expected.iter().map(|v| v.abs()).fold(0f32, f32::max);
        eprintln!("{}: max |onnx - nasc| = {gap:e} (outputs up to {scale:.3})", c.what);
        assert!(
            gap < TOLERANCE && got.iter().all(|v| v.is_finite()),
            "{}: ONNX Runtime differs from nasc by {gap} (outputs up to {scale})",
            c.what
        );
        // What the model says about itself.
        assert_eq!(line["opset"], serde_json::json!([onnx::OPSET]), "{}", c.what);
        assert_eq!(line["batch"], onnx::BATCH, "{}: the batch dimension is dynamic", c.what);
        let meta = &line["metadata"];
        assert_eq!(meta["nasc.version"], env!("CARGO_PKG_VERSION"), "{}", c.what);
        let arch: serde_json::Value =
            serde_json::from_str(meta["nasc.architecture"].as_str().expect("architecture"))
                .expect("the architecture is JSON");
        assert_eq!(arch, serde_json::from_str::<serde_json::Value>(&c.architecture).unwrap());
        gaps.push(gap);
    }
    gaps
}

/// Uniform values in `lo..hi`.
fn uniform(rng: &mut impl Rng, n: usize, lo: f32, hi: f32) -> Vec<f32> {
    (0..n).map(|_| rng.random_range(lo..hi)).collect()
}

fn tensor1(values: Vec<f32>, device: &Device) -> Tensor<1> {
    let n = values.len();
    Tensor::from_data(TensorData::new(values, [n]), device)
}

/// Random weights everywhere, at the scale of a trained network. nasc initialises biases to
/// zero and batch norm to the identity, which would leave their export untested: every bias
/// and batch-norm scale and shift is drawn at random. The running statistics are then those
/// of one batch of random inputs (`calibration`, batch first), as training would make them:
/// with made-up statistics the activations of deep networks (DARTS' 14 summed edges per node)
/// grow to thousands, where float32 alone differs by more than the tolerance. Every running
/// variance is kept at 0.1 or more (see below). Returns the network for inference.
fn randomize(graph: &FixedGraph, seed: u64, calibration: (&[f32], &[usize])) -> Network {
    let device = Device::flex().autodiff();
    let mut net =
        Network::build(graph, &device, seed).unwrap_or_else(|e| panic!("{}: {e}", graph.name));
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut random = |n: usize, lo: f32, hi: f32| {
        Param::from_tensor(tensor1(uniform(&mut rng, n, lo, hi), &device))
    };
    for layer in net.layers.iter_mut() {
        match layer {
            Layer::Norm(bn) => {
                let c = bn.running_mean.value().dims()[0];
                if bn.gamma.is_some() {
                    bn.gamma = Some(random(c, 0.5, 1.5));
                    bn.beta = Some(random(c, -0.3, 0.3));
                }
                // The next batch's statistics replace the running ones.
                bn.momentum = 1.0;
            }
            Layer::Conv(conv) => {
                if let Some(b) = &conv.bias {
                    conv.bias = Some(random(b.dims()[0], -0.3, 0.3));
                }
            }
            Layer::Linear(lin) => {
                if let Some(b) = &lin.bias {
                    lin.bias = Some(random(b.dims()[0], -0.3, 0.3));
                }
            }
        }
    }
    nasc_output(&net, calibration.0, calibration.1, &device);
    let mut net = net.valid();
    // A channel almost constant over the batch (after a `zero` edge, say) would get a variance
    // near 0, and batch norm would then multiply float32's rounding by up to 1 / sqrt(eps).
    for layer in net.layers.iter_mut() {
        if let Layer::Norm(bn) = layer {
            let var = bn.running_var.value().clamp_min(0.1);
            bn.running_var = burn::module::RunningState::new(var);
        }
    }
    net
}

/// nasc's output of `net` on `input` of shape `shape` (batch first), flattened.
fn nasc_output(net: &Network, input: &[f32], shape: &[usize], device: &Device) -> Vec<f32> {
    let [n, c, h, w] = shape[..] else { panic!("an image input, not {shape:?}") };
    let x = Tensor::<4>::from_data(TensorData::new(input.to_vec(), [n, c, h, w]), device);
    match net.forward_map(x).expect("nasc runs the network") {
        Value::Flat(t) => t.into_data().convert::<f32>().try_to_vec::<f32>().expect("f32"),
        Value::Map(t) => t.into_data().convert::<f32>().try_to_vec::<f32>().expect("f32"),
    }
}

/// Exports `net` (built from `fixed`) without normalisation: to `stem.onnx`, and to `stem.py`
/// with `stem.safetensors`. Returns the PyTorch module's file, class and weights.
fn export(
    fixed: &FixedGraph,
    net: &Network,
    architecture: &str,
    stem: &Path,
) -> (PathBuf, String, PathBuf) {
    let info = onnx::ModelInfo { architecture: architecture.into(), ..Default::default() };
    let bytes = onnx::to_bytes(fixed, net, &info).unwrap_or_else(|e| panic!("{}: {e}", fixed.name));
    std::fs::write(stem.with_extension("onnx"), bytes).expect("write the model");
    let info = pytorch::ModuleInfo { architecture: architecture.into(), ..Default::default() };
    let (source, state) =
        pytorch::export(fixed, net, &info).unwrap_or_else(|e| panic!("{}: {e}", fixed.name));
    let (module, weights) = (stem.with_extension("py"), stem.with_extension("safetensors"));
    std::fs::write(&module, source).expect("write the module");
    std::fs::write(&weights, pytorch::safetensors_bytes(&state).expect("a state dict"))
        .expect("write the weights");
    (module, pytorch::class_name(fixed), weights)
}

/// Every network of a file.
fn networks(path: &Path) -> Vec<nasc::ir::Graph> {
    nasc::driver::graphs(nasc::driver::Input::Path(path))
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The `.nas` files directly in `dir`, sorted.
fn nas_files(dir: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("a directory")
        .map(|e| e.expect("an entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "nas"))
        .collect();
    files.sort();
    files
}

/// The network of `tests/data/every_op.nas` uses every operator nasc's runtime implements
/// (a new operator fails here until the file uses it), and its exports run in ONNX Runtime and
/// in PyTorch as in nasc, with random weights; so does every network of every hub space and
/// example, for two random architectures each. PyTorch also takes a training step on each.
#[test]
fn every_operator_hub_space_and_example_runs_in_onnx_runtime_and_pytorch_as_in_nasc() {
    let every_op = Path::new("tests/data/every_op.nas");
    let g = networks(every_op).remove(0);
    let fixed =
        arch::fix(&g, &Architecture::random(&g, &mut rand_chacha::ChaCha8Rng::seed_from_u64(0)))
            .expect("fixes");
    for op in nasc::ir::Op::ALL {
        assert!(fixed.nodes.iter().any(|n| n.kind == Some(op)), "every_op.nas does not use `{op}`");
    }
    let Some(py) = python() else { return };
    let dir = common::temp_dir("onnx-oracle");
    let device = Device::flex();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(19);
    let mut files = vec![every_op.to_path_buf()];
    files.extend(nas_files("stdlib/spaces"));
    files.extend(nas_files("examples"));
    let mut cases = Vec::new();
    for path in &files {
        for g in networks(path) {
            for k in 0..2 {
                let a = Architecture::random(&g, &mut rng);
                let architecture = serde_json::Value::Object(a.to_json(&g)).to_string();
                let fixed = arch::fix(&g, &a).expect("fixes");
                assert_eq!(fixed.inputs.len(), 1, "{}: one input", g.name);
                let dims: Vec<usize> = fixed.nodes[fixed.inputs[0]].shape[1..]
                    .iter()
                    .map(|d| d.expect("a fixed input shape") as usize)
                    .collect();
                let mut normal = |batch: usize| {
                    let shape: Vec<usize> = [batch].into_iter().chain(dims.clone()).collect();
                    let n: usize = shape.iter().product();
                    let x = (0..n).map(|_| rng.sample::<f32, _>(rand_distr::StandardNormal));
                    (x.collect::<Vec<f32>>(), shape)
                };
                let (calibration, calibration_shape) = normal(8);
                let (input, shape) = normal(2);
                let net = randomize(&fixed, cases.len() as u64, (&calibration, &calibration_shape));
                let stem = dir.join(format!("{}_{k}", g.name));
                let module = export(&fixed, &net, &architecture, &stem);
                let model = stem.with_extension("onnx");
                let expected = nasc_output(&net, &input, &shape, &device);
                let what =
                    format!("{} {} #{k} ({} nodes)", path.display(), g.name, fixed.nodes.len());
                cases.push(Case { what, model, module, input, shape, expected, architecture });
            }
        }
    }
    assert!(cases.len() >= 22, "{} cases", cases.len());
    let gaps = compare(&py, &dir, &cases);
    eprintln!(
        "ONNX Runtime: {} models, largest difference {:e}",
        gaps.len(),
        gaps.iter().copied().fold(0f32, f32::max)
    );
    let gaps = compare_pytorch(&py, &dir, &cases);
    eprintln!(
        "PyTorch: {} modules, largest difference {:e}",
        gaps.len(),
        gaps.iter().copied().fold(0f32, f32::max)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The README's MNIST model: `nasc train` (as the README runs it), then one `nasc export`
/// gives `model.onnx`; ONNX Runtime computes nasc's logits on the raw test images (the model
/// normalises them as `nasc train` did), and its test accuracy, on the IDX files read by numpy,
/// is the one `nasc eval` prints. `nasc export --format pytorch` gives a module that computes
/// the same logits in PyTorch.
#[test]
fn the_readme_mnist_model_has_the_same_test_accuracy_in_onnx_runtime() {
    let Some(py) = python() else { return };
    let dir = common::temp_dir("onnx-mnist");
    let out = dir.join("small");
    let out_s = out.to_str().expect("a UTF-8 path");
    let arch = "examples/archs/mnist_small.json";
    let o = nasc(&["train", "examples/mnist.nas", "--arch", arch, "--epochs", "2", "--out", out_s]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let weights = out.join("model.bpk");
    let o = nasc(&[
        "eval",
        "examples/mnist.nas",
        "--arch",
        arch,
        "--weights",
        weights.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let eval = text(&o.stdout);
    let nasc_accuracy = eval
        .split("test accuracy ")
        .nth(1)
        .and_then(|s| s.split('%').next())
        .unwrap_or_else(|| panic!("nasc eval prints the accuracy: {eval}"))
        .to_string();
    // One command gives the model.
    let o = nasc(&["export", out_s]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let model = out.join("model.onnx");
    assert!(text(&o.stdout).contains(&format!("wrote {}", model.display())), "{}", text(&o.stdout));
    let o = Command::new(&py)
        .args(["tests/onnx/run_onnx.py", "accuracy"])
        .arg(&model)
        .args([
            "examples/data/mnist/t10k-images-idx3-ubyte.gz",
            "examples/data/mnist/t10k-labels-idx1-ubyte.gz",
        ])
        .output()
        .expect("the oracle runs");
    assert!(o.status.success(), "{}", text(&o.stderr));
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    let onnx_accuracy = format!("{:.2}", 100.0 * r["accuracy"].as_f64().expect("accuracy"));
    eprintln!("test accuracy: nasc eval {nasc_accuracy}%, ONNX Runtime {onnx_accuracy}% ({r})");
    assert_eq!(onnx_accuracy, nasc_accuracy, "ONNX Runtime: {r}; nasc eval: {eval}");

    // The logits themselves, on the first 100 test images: ONNX Runtime on the raw pixels,
    // nasc on the pixels normalised as `nasc train` recorded.
    let metrics: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("metrics.json")).unwrap()).unwrap();
    let norm: nasc::data::Normalization =
        serde_json::from_value(metrics["report"]["normalization"].clone()).expect("recorded");
    let splits = nasc::launch::load_data("mnist:examples/data/mnist").expect("MNIST");
    let test = &splits.test;
    let n = 100;
    let raw: Vec<f32> = (0..n).flat_map(|i| test.item(i).to_vec()).collect();
    let mut normalised = raw.clone();
    for item in normalised.chunks_mut(28 * 28) {
        norm.apply_item(item);
    }
    let device = Device::flex();
    let g = networks(Path::new("examples/mnist.nas")).remove(0);
    let a = Architecture::from_json(&g, &std::fs::read_to_string(arch).unwrap()).expect("arch");
    let fixed = arch::fix(&g, &a).expect("fixes");
    let net = Network::build(&fixed, &device, 0).unwrap().load(&weights).expect("the weights");
    let shape = vec![n, 1, 28, 28];
    let expected = nasc_output(&net, &normalised, &shape, &device);
    let architecture = serde_json::Value::Object(a.to_json(&g)).to_string();
    // The same network as PyTorch code and weights, by the CLI: the module normalises too.
    let o = nasc(&["export", out_s, "--format", "pytorch"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let (module, weights) = (out.join("model.py"), out.join("model.safetensors"));
    assert!(
        text(&o.stdout).contains(&format!("wrote {}", module.display())),
        "{}",
        text(&o.stdout)
    );
    let module = (module, "Mnist".to_string(), weights);
    let what = "trained mnist_small".to_string();
    let case = Case { what, model, module, input: raw, shape, expected, architecture };
    compare(&py, &dir, std::slice::from_ref(&case));
    compare_pytorch(&py, &dir, &[case]);
    let _ = std::fs::remove_dir_all(&dir);
}

/// An operator without an ONNX or PyTorch form is refused before any weights are read, naming
/// the operator and its place (E0501, the wrong example of `docs/errors/E0501.md`); a directory
/// `nasc train` did not write is refused with what to do. No oracle needed.
#[test]
fn export_refuses_an_operator_without_a_form_and_a_directory_without_a_trained_network() {
    let dir = common::temp_dir("onnx-refuse");
    let page = std::fs::read_to_string("docs/errors/E0501.md").expect("the page");
    let wrong = page
        .split("## Wrong")
        .nth(1)
        .and_then(|s| s.split("```nas\n").nth(1))
        .and_then(|s| s.split("```").next())
        .expect("a wrong example");
    let space = dir.join("lrn.nas");
    std::fs::write(&space, wrong).unwrap();
    let trained = dir.join("trained");
    std::fs::create_dir_all(&trained).unwrap();
    let record = serde_json::json!({ "space": space, "architecture": {} });
    std::fs::write(trained.join("metrics.json"), record.to_string()).unwrap();
    std::fs::write(trained.join("model.bpk"), b"not read").unwrap();
    let o = nasc(&["export", trained.to_str().unwrap(), "--format", "onnx"]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("error[E0501]: `lrn` cannot be exported to ONNX"), "{err}");
    assert!(err.contains("lrn.nas:8:28"), "the place of the call: {err}");
    assert!(!trained.join("model.onnx").exists());
    let o = nasc(&["export", trained.to_str().unwrap(), "--format", "pytorch"]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("error[E0501]: `lrn` cannot be exported to PyTorch"), "{err}");
    assert!(!trained.join("model.py").exists());

    let empty = dir.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let o = nasc(&["export", empty.to_str().unwrap(), "--format", "onnx"]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("has no model.bpk and metrics.json written by `nasc train`"), "{err}");
    let o = nasc(&["export", trained.to_str().unwrap(), "--top", "2"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("--top chooses among an experiment's architectures"));

    // A search's experiment holds no weights: the error says how to get them.
    let experiment = dir.join("experiment");
    std::fs::create_dir_all(&experiment).unwrap();
    std::fs::write(experiment.join("experiment.db"), b"").unwrap();
    let o = nasc(&["export", experiment.to_str().unwrap(), "--format", "onnx"]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("is a search's experiment") && err.contains("best.json"), "{err}");

    // A record without an architecture, and one whose space cannot be read from here.
    std::fs::write(trained.join("metrics.json"), r#"{"space": "x.nas"}"#).unwrap();
    let o = nasc(&["export", trained.to_str().unwrap()]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("is not a record of `nasc train`: it has no \"architecture\""), "{err}");
    let record = serde_json::json!({ "space": "no/such/space.nas", "architecture": {} });
    std::fs::write(trained.join("metrics.json"), record.to_string()).unwrap();
    let o = nasc(&["export", trained.to_str().unwrap()]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("names the space no/such/space.nas") && err.contains("--space"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Without the oracle too: the model declares what the issue asks of it, read back with the
/// same protobuf types: ONNX IR 8 and opset 17, the input and output with a dynamic batch
/// dimension and the proved sizes, batch norm as `BatchNormalization` nodes (eval mode), the
/// normalisation as its first nodes, and the architecture and nasc's version in its metadata.
#[test]
fn the_model_declares_a_dynamic_batch_its_normalisation_and_its_metadata() {
    use nasc::export::onnx_proto::{
        tensor_shape_proto::dimension::Value as Dim, type_proto, ModelProto,
    };
    use prost::Message;
    let g = networks(Path::new("examples/mnist.nas")).remove(0);
    let text = std::fs::read_to_string("examples/archs/mnist_small.json").unwrap();
    let a = Architecture::from_json(&g, &text).expect("arch");
    let fixed = arch::fix(&g, &a).expect("fixes");
    let net = Network::build(&fixed, &Device::flex(), 0).expect("builds");
    let norm = nasc::data::Normalization { mean: vec![0.13], std: vec![0.31] };
    let architecture = serde_json::Value::Object(a.to_json(&g)).to_string();
    let info = onnx::ModelInfo {
        architecture: architecture.clone(),
        space: Some("examples/mnist.nas".into()),
        normalization: Some(&norm),
    };
    let bytes = onnx::to_bytes(&fixed, &net, &info).expect("exports");
    let m = ModelProto::decode(bytes.as_slice()).expect("a model");
    assert_eq!((m.ir_version, m.opset_import[0].version), (Some(8), Some(onnx::OPSET)));
    let graph = m.graph.expect("a graph");
    let dims = |v: &nasc::export::onnx_proto::ValueInfoProto| -> Vec<String> {
        let Some(type_proto::Value::TensorType(t)) =
            v.r#type.as_ref().and_then(|t| t.value.clone())
        else {
            panic!("a tensor")
        };
        t.shape
            .expect("a shape")
            .dim
            .into_iter()
            .map(|d| match d.value {
                Some(Dim::DimValue(v)) => v.to_string(),
                Some(Dim::DimParam(p)) => p,
                None => "?".into(),
            })
            .collect()
    };
    assert_eq!(graph.input.len(), 1);
    assert_eq!(graph.input[0].name.as_deref(), Some("input"));
    assert_eq!(dims(&graph.input[0]), ["batch", "1", "28", "28"]);
    assert_eq!(graph.output[0].name.as_deref(), Some("output"));
    assert_eq!(dims(&graph.output[0]), ["batch", "10"]);
    let ops: Vec<&str> = graph.node.iter().filter_map(|n| n.op_type.as_deref()).collect();
    assert_eq!(ops[..2], ["Sub", "Div"], "{ops:?}");
    let norms = fixed.nodes.iter().filter(|n| n.kind == Some(nasc::ir::Op::BatchNorm)).count();
    assert_eq!(ops.iter().filter(|o| **o == "BatchNormalization").count(), norms);
    assert!(norms > 0);
    let meta: std::collections::HashMap<String, String> = m
        .metadata_props
        .into_iter()
        .map(|p| (p.key.unwrap_or_default(), p.value.unwrap_or_default()))
        .collect();
    assert_eq!(meta["nasc.version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(meta["nasc.architecture"], architecture);
    assert_eq!(meta["nasc.network"], "Mnist");
    assert_eq!(meta["nasc.space"], "examples/mnist.nas");
    let recorded: nasc::data::Normalization =
        serde_json::from_str(&meta["nasc.normalization"]).expect("the normalisation");
    assert_eq!(recorded, norm);
}
