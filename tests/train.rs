//! Training fixed networks on real data: the evaluators, reproducibility, saved weights, and
//! failures that are values (a diverged loss, data that does not fit the network).

mod common;

use nasc::arch::{self, Architecture, FixedGraph};
use nasc::data::{self, DataSpec, Splits};
use nasc::runtime::train::{self, OptimizerKind, Quiet, Schedule, Task, TrainConfig};
use nasc::runtime::{Device, Network, RuntimeError};
use std::path::PathBuf;
use std::sync::Arc;

fn fixed(text: &str) -> FixedGraph {
    let g = common::graph_of(text);
    let a = Architecture::from_json(&g, "{}").expect("no labels");
    arch::fix(&g, &a).expect("fixes")
}

fn mnist() -> Splits {
    data::load(&DataSpec::Mnist(PathBuf::from("examples/data/mnist")))
        .expect("the MNIST digits load")
}

/// Two stride-2 convolutions and a linear classifier: about 20,000 parameters.
const SMALL_CNN: &str = "network Small(x: Tensor[n, 1, 28, 28]) -> Tensor[n, 10] {
    let h = conv_bn_relu(x, out: 16, kernel: 3, stride: 2)
    let h = conv_bn_relu(h, out: 32, kernel: 3, stride: 2)
    return linear(flatten(h), out: 10)
}";

/// Two 3x3 convolutions with batch norm, ReLU and 2x2 max pooling, and a linear classifier.
const MNIST_CNN: &str = "network Mnist(x: Tensor[n, 1, 28, 28]) -> Tensor[n, 10] {
    let h = max_pool(conv_bn_relu(x, out: 16, kernel: 3), kernel: 2)
    let h = max_pool(conv_bn_relu(h, out: 32, kernel: 3), kernel: 2)
    return linear(flatten(h), out: 10)
}";

/// The real learning test: a small CNN trained for three epochs on 7,200 of the training
/// digits classifies at least 95% of the 2,000 held-out digits (96.65% measured).
#[test]
fn a_small_cnn_learns_mnist() {
    let cfg = TrainConfig {
        epochs: 3,
        batch_size: 64,
        lr: 0.05,
        weight_decay: 5e-4,
        val_fraction: 0.1,
        seed: 1,
        ..TrainConfig::default()
    };
    let (_, report) = train::train(&fixed(MNIST_CNN), &mnist(), &cfg, &Device::flex(), &mut Quiet)
        .expect("trains");
    assert_eq!(report.epochs.len(), 3);
    assert!(report.epochs[2].train_loss < report.epochs[0].train_loss, "{:?}", report.epochs);
    let val = report.epochs[2].val_metric.expect("a validation split");
    assert!(val > 0.9, "validation accuracy {val}");
    let test = report.test_metric.expect("a test split");
    assert!(test >= 0.95, "test accuracy {test} on the 2,000 held-out digits");
    assert_eq!(report.params, 16 * 9 + 32 + 16 * 32 * 9 + 64 + 32 * 49 * 10 + 10);
}

/// The same seed gives the same run on Flex, to the last bit; another seed does not.
#[test]
fn runs_with_the_same_seed_are_identical() {
    let f = fixed(SMALL_CNN);
    let data = mnist();
    let cfg = TrainConfig {
        epochs: 2,
        max_steps: Some(6),
        optimizer: OptimizerKind::Adam,
        lr: 1e-3,
        augment: true,
        ..TrainConfig::default()
    };
    let run = |seed: u64| {
        let (_, r) = train::train(
            &f,
            &data,
            &TrainConfig { seed, ..cfg.clone() },
            &Device::flex(),
            &mut Quiet,
        )
        .expect("trains");
        (
            r.epochs.iter().map(|e| (e.train_loss, e.val_loss, e.val_metric)).collect::<Vec<_>>(),
            r.test_loss,
            r.test_metric,
        )
    };
    let a = run(3);
    assert_eq!(a, run(3));
    assert_ne!(a, run(4));
}

/// Saved weights give back exactly the test metric of the trained network.
#[test]
fn saved_weights_reproduce_the_test_metric() {
    let f = fixed(SMALL_CNN);
    let data = mnist();
    let cfg = TrainConfig { epochs: 1, max_steps: Some(20), ..TrainConfig::default() };
    let (net, report) = train::train(&f, &data, &cfg, &Device::flex(), &mut Quiet).expect("trains");
    let dir = common::temp_dir("train-weights");
    let path = dir.join("model.bpk");
    net.save(&path).expect("saves");
    let fresh = Network::build(&f, &Device::flex(), 0).expect("builds");
    let loaded = fresh.load(&path).expect("loads");
    let mut test = data.test.clone();
    report.normalization.apply(&mut test);
    let (loss, metric) = train::evaluate(
        &loaded,
        Arc::new(test),
        Task::Classification,
        cfg.batch_size,
        &Device::flex(),
    )
    .expect("evaluates");
    assert_eq!(Some(metric), report.test_metric);
    assert!((loss - report.test_loss.expect("a test split")).abs() < 1e-9);
    // Weights of another architecture are refused with the file's name, not a panic.
    let other = Network::build(
        &fixed(&SMALL_CNN.replace("out: 32", "out: 8").replace("32 * 49", "8 * 49")),
        &Device::flex(),
        0,
    )
    .expect("builds");
    let err = other.load(&path).expect_err("another architecture");
    assert!(
        matches!(err, RuntimeError::Record { .. }) && err.to_string().contains("model.bpk"),
        "{err}"
    );
    let err = Network::build(&f, &Device::flex(), 0)
        .expect("builds")
        .load(&dir.join("missing.bpk"))
        .expect_err("no file");
    assert!(err.to_string().contains("missing.bpk"), "{err}");
}

/// NNI's Regression evaluator: mean squared error on NPY targets, minimised.
#[test]
fn regression_fits_a_linear_target() {
    let dir = common::temp_dir("train-regression");
    let n = 512;
    let x: Vec<f32> = (0..n * 4).map(|i| (((i * 37) % 101) as f32 / 50.0) - 1.0).collect();
    let y: Vec<f32> = (0..n).map(|i| 2.0 * x[i * 4] - x[i * 4 + 1] + 0.5 * x[i * 4 + 3]).collect();
    common::write_npy(&dir.join("x.npy"), &[n, 4], &x);
    common::write_npy(&dir.join("y.npy"), &[n], &y);
    let data =
        data::load(&DataSpec::Npy { x: dir.join("x.npy"), y: dir.join("y.npy") }).expect("loads");
    let f = fixed("network R(x: Tensor[n, 4]) -> Tensor[n, 1] { return linear(x, out: 1) }");
    let cfg = TrainConfig {
        task: Task::Regression,
        epochs: 30,
        batch_size: 32,
        lr: 0.05,
        weight_decay: 0.0,
        schedule: Schedule::Constant,
        ..TrainConfig::default()
    };
    let (_, report) = train::train(&f, &data, &cfg, &Device::flex(), &mut Quiet).expect("trains");
    assert_eq!(report.metric, "mse");
    let first = report.epochs[0].val_metric.expect("validation");
    let test = report.test_metric.expect("a test split");
    assert!(test < 1e-3, "test mse {test} (first epoch's validation mse {first})");
    // Classification on real-valued targets is refused before any step.
    let err = train::train(
        &f,
        &data,
        &TrainConfig { task: Task::Classification, ..cfg },
        &Device::flex(),
        &mut Quiet,
    )
    .expect_err("wrong task");
    assert!(err.to_string().contains("class labels"), "{err}");
}

/// A loss that overflows ends the run with a clear error, not a panic or a NaN metric.
#[test]
fn a_diverging_run_is_an_error() {
    let dir = common::temp_dir("train-diverge");
    let n = 64;
    let x: Vec<f32> = (0..n * 2).map(|i| i as f32).collect();
    let y: Vec<f32> = (0..n).map(|_| 1e30).collect();
    common::write_npy(&dir.join("x.npy"), &[n, 2], &x);
    common::write_npy(&dir.join("y.npy"), &[n], &y);
    let data =
        data::load(&DataSpec::Npy { x: dir.join("x.npy"), y: dir.join("y.npy") }).expect("loads");
    let f = fixed("network R(x: Tensor[n, 2]) -> Tensor[n, 1] { return linear(x, out: 1) }");
    let cfg =
        TrainConfig { task: Task::Regression, epochs: 2, batch_size: 16, ..TrainConfig::default() };
    let err = train::train(&f, &data, &cfg, &Device::flex(), &mut Quiet).expect_err("diverges");
    let RuntimeError::Diverged { epoch, step, value } = err else { panic!("{err:?}") };
    assert_eq!((epoch, step), (1, 1));
    assert!(!value.is_finite());
}

/// Data of another shape than the network's input is refused before training, naming both.
#[test]
fn data_of_the_wrong_shape_is_refused() {
    let f = fixed("network C(x: Tensor[n, 3, 32, 32]) -> Tensor[n, 10] { return linear(global_avg_pool(x), out: 10) }");
    let err = train::train(&f, &mnist(), &TrainConfig::default(), &Device::flex(), &mut Quiet)
        .expect_err("MNIST is 1x28x28");
    assert!(matches!(err, RuntimeError::DataShape { .. }), "{err:?}");
    assert!(
        err.to_string().contains("[1, 28, 28]") && err.to_string().contains("[3, 32, 32]"),
        "{err}"
    );
}

#[test]
fn bad_settings_are_refused() {
    let f = fixed(SMALL_CNN);
    let data = mnist();
    for (cfg, words) in [
        (TrainConfig { epochs: 0, ..TrainConfig::default() }, "--epochs"),
        (TrainConfig { batch_size: 0, ..TrainConfig::default() }, "--batch-size"),
        (TrainConfig { lr: f64::NAN, ..TrainConfig::default() }, "--lr"),
        (TrainConfig { val_fraction: 1.0, ..TrainConfig::default() }, "validation"),
        (TrainConfig { max_steps: Some(0), ..TrainConfig::default() }, "--max-steps"),
        (
            TrainConfig {
                schedule: Schedule::Step { epochs: 0, gamma: 0.1 },
                ..TrainConfig::default()
            },
            "--step-epochs",
        ),
        (
            TrainConfig {
                schedule: Schedule::Step { epochs: 2, gamma: f64::NAN },
                ..TrainConfig::default()
            },
            "--gamma",
        ),
    ] {
        let err = train::train(&f, &data, &cfg, &Device::flex(), &mut Quiet).expect_err("refused");
        assert!(err.to_string().contains(words), "{err}");
    }
}

#[test]
fn the_cosine_and_step_schedules() {
    let cfg = TrainConfig { lr: 0.1, schedule: Schedule::Cosine, ..TrainConfig::default() };
    assert_eq!(train::learning_rate(&cfg, 0, 100, 10), 0.1);
    assert!((train::learning_rate(&cfg, 50, 100, 10) - 0.05).abs() < 1e-12);
    assert!(train::learning_rate(&cfg, 99, 100, 10) < 1e-3);
    let cfg = TrainConfig {
        lr: 0.1,
        schedule: Schedule::Step { epochs: 2, gamma: 0.5 },
        ..TrainConfig::default()
    };
    assert_eq!(train::learning_rate(&cfg, 19, 100, 10), 0.1);
    assert_eq!(train::learning_rate(&cfg, 20, 100, 10), 0.05);
    assert_eq!(train::learning_rate(&cfg, 45, 100, 10), 0.025);
}
