//! The evaluators: train a fixed network on a dataset and measure it, as NNI's `Classification`
//! (cross-entropy loss; accuracy, maximised) and `Regression` (mean squared error, minimised)
//! evaluators do.
//!
//! One run: fit the input normalisation on the training split, hold out a seeded validation
//! part of it, train for some epochs with SGD (momentum) or Adam, a constant, cosine or step
//! learning-rate schedule, weight decay and gradient clipping, report the training loss and the
//! validation metric of every epoch, then measure the test split. Runs with the same seed on
//! Flex give identical results. A NaN or infinite loss ends the run with
//! [`RuntimeError::Diverged`]; a panic inside burn becomes [`RuntimeError::Panic`].

use super::loader::{self, Batch, BatchTargets, Inputs};
use super::network::{Network, Value};
use super::RuntimeError;
use crate::arch::FixedGraph;
use crate::data::{self, Dataset, Normalization, Splits, Targets};
use burn::module::Module;
use burn::nn::loss::{CrossEntropyLossConfig, MseLoss, Reduction};
use burn::optim::decay::WeightDecayConfig;
use burn::optim::grad_clipping::GradientClippingConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer, SgdConfig};
use burn::tensor::{Device, Int, Tensor};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Instant;

/// What the network is trained to do (NNI's evaluators).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Task {
    /// Class scores `[batch, classes]`, cross-entropy loss; metric: accuracy (maximised).
    Classification,
    /// Values `[batch, outputs]`, mean squared error; metric: MSE (minimised).
    Regression,
}

impl Task {
    /// The metric's name in reports: `accuracy` or `mse`.
    pub fn metric(self) -> &'static str {
        match self {
            Task::Classification => "accuracy",
            Task::Regression => "mse",
        }
    }
}

/// The optimizer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerKind {
    /// SGD with momentum (PyTorch's convention: no dampening).
    Sgd,
    /// Adam (Kingma & Ba 2015) with PyTorch's defaults: betas (0.9, 0.999), epsilon 1e-8.
    Adam,
}

/// How the learning rate changes over the run.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Schedule {
    /// The same rate throughout.
    Constant,
    /// Cosine annealing from the initial rate to 0 over all steps (Loshchilov & Hutter 2017;
    /// PyTorch `CosineAnnealingLR`).
    Cosine,
    /// Multiply the rate by `gamma` every `epochs` epochs (PyTorch `StepLR`).
    Step {
        /// Epochs between decays.
        epochs: usize,
        /// The factor.
        gamma: f64,
    },
}

/// Everything a training run needs besides the network and the data.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Classification or regression.
    pub task: Task,
    /// Passes over the training data.
    pub epochs: usize,
    /// Samples per step.
    pub batch_size: usize,
    /// Initial learning rate.
    pub lr: f64,
    /// SGD or Adam.
    pub optimizer: OptimizerKind,
    /// SGD momentum (ignored by Adam).
    pub momentum: f64,
    /// L2 weight decay added to the gradients (0 for none).
    pub weight_decay: f64,
    /// The learning-rate schedule.
    pub schedule: Schedule,
    /// Clip each parameter's gradient to this L2 norm (burn's `GradientClipping::Norm`, applied
    /// per parameter tensor, not to the global norm as PyTorch's `clip_grad_norm_`).
    pub grad_clip: Option<f32>,
    /// Seed of the weights, the validation split, shuffling, augmentation and dropout.
    pub seed: u64,
    /// Fraction of the training split held out for validation (0 for none).
    pub val_fraction: f64,
    /// Random crop (padding 4) and horizontal flip of training images (the usual CIFAR
    /// augmentation).
    pub augment: bool,
    /// Stop each epoch after this many steps (for quick runs); `None` for the whole split.
    pub max_steps: Option<usize>,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            task: Task::Classification,
            epochs: 1,
            batch_size: 64,
            lr: 0.025,
            optimizer: OptimizerKind::Sgd,
            momentum: 0.9,
            weight_decay: 3e-4,
            schedule: Schedule::Cosine,
            grad_clip: Some(5.0),
            seed: 0,
            val_fraction: 0.1,
            augment: false,
            max_steps: None,
        }
    }
}

/// The record of one epoch.
#[derive(Debug, Clone, Serialize)]
pub struct EpochMetrics {
    /// The epoch, from 1.
    pub epoch: usize,
    /// Mean training loss over the epoch's steps.
    pub train_loss: f64,
    /// Validation loss (`None` without a validation split).
    pub val_loss: Option<f64>,
    /// Validation metric: accuracy in [0, 1] or MSE (`None` without a validation split).
    pub val_metric: Option<f64>,
    /// Learning rate of the epoch's last step.
    pub lr: f64,
    /// Wall-clock seconds of the epoch (training and validation).
    pub seconds: f64,
}

/// The result of a training run.
#[derive(Debug, Clone, Serialize)]
pub struct TrainReport {
    /// `accuracy` or `mse`.
    pub metric: &'static str,
    /// One record per epoch.
    pub epochs: Vec<EpochMetrics>,
    /// Loss on the test split.
    pub test_loss: Option<f64>,
    /// The metric on the test split.
    pub test_metric: Option<f64>,
    /// Trainable parameters of the network.
    pub params: usize,
    /// Multiply-accumulates per sample (from the IR).
    pub flops: u64,
    /// The input normalisation fitted on the training split.
    pub normalization: Normalization,
    /// Wall-clock seconds of the whole run.
    pub seconds: f64,
}

/// Receives progress while a network trains (the command line draws a progress bar).
pub trait Observer {
    /// The run is about to start: `steps` steps per epoch.
    fn start(&mut self, _epochs: usize, _steps: usize) {}
    /// A training step finished with this loss.
    fn step(&mut self, _epoch: usize, _step: usize, _loss: f64) {}
    /// An epoch finished.
    fn epoch(&mut self, _metrics: &EpochMetrics) {}
    /// Whether the run should stop now (checked before every step): it then ends with
    /// [`RuntimeError::Interrupted`].
    fn should_stop(&self) -> bool {
        false
    }
}

/// An observer that ignores everything.
pub struct Quiet;
impl Observer for Quiet {}

fn check_config(cfg: &TrainConfig) -> Result<(), RuntimeError> {
    let bad = |m: &str| Err(RuntimeError::Config(m.into()));
    if cfg.epochs == 0 {
        return bad("--epochs must be at least 1");
    }
    if cfg.batch_size == 0 {
        return bad("--batch-size must be at least 1");
    }
    if cfg.max_steps == Some(0) {
        return bad("--max-steps must be at least 1");
    }
    if let Schedule::Step { epochs, gamma } = cfg.schedule {
        if epochs == 0 || !(gamma > 0.0 && gamma <= 1.0) {
            return bad(
                "the step schedule needs --step-epochs of at least 1 and --gamma in (0, 1]",
            );
        }
    }
    if !(cfg.lr > 0.0 && cfg.lr <= 1.0) {
        return bad("--lr must be in (0, 1]");
    }
    if !(0.0..1.0).contains(&cfg.val_fraction) {
        return bad("the validation fraction must be in [0, 1)");
    }
    if !(cfg.weight_decay >= 0.0 && cfg.weight_decay.is_finite()) {
        return bad("--weight-decay must be a non-negative number");
    }
    if !(0.0..1.0).contains(&cfg.momentum) {
        return bad("--momentum must be in [0, 1)");
    }
    Ok(())
}

/// Checks that a dataset fits the network's input and the task, before any step runs.
pub fn check_fit(net: &Network, ds: &Dataset, task: Task) -> Result<(), RuntimeError> {
    let shapes = net.input_shapes();
    let [(shape, loc)] = shapes.as_slice() else {
        return Err(RuntimeError::Data(format!(
            "the network takes {} inputs; training feeds exactly one",
            shapes.len()
        )));
    };
    let matches = shape.len() == ds.item_shape.len()
        && shape.iter().zip(&ds.item_shape).all(|(e, d)| e.is_none_or(|e| e == *d as i64));
    if !matches {
        let show = |v: Vec<String>| format!("[{}]", v.join(", "));
        return Err(RuntimeError::DataShape {
            loc: *loc,
            expected: show(shape.iter().map(|d| d.map_or("?".into(), |d| d.to_string())).collect()),
            found: show(ds.item_shape.iter().map(|d| d.to_string()).collect()),
        });
    }
    let (out, _) = net.output_shape();
    let width = match out.as_slice() {
        [Some(w)] => *w as usize,
        _ => return Err(RuntimeError::Data(format!("the network's output must be flat, [batch, outputs], not {} dimensions after the batch", out.len()))),
    };
    match (task, &ds.targets) {
        (Task::Classification, Targets::Classes { labels, num_classes }) => {
            let top = labels.iter().copied().max().map_or(0, |m| m as usize + 1).max(*num_classes);
            if top > width {
                return Err(RuntimeError::Data(format!("the data has {top} classes (labels 0 to {}) but the network outputs {width} class scores", top - 1)));
            }
            Ok(())
        }
        (Task::Regression, Targets::Values { dims, .. }) => {
            if *dims != width {
                return Err(RuntimeError::Data(format!(
                    "the targets have {dims} values per item but the network outputs {width}"
                )));
            }
            Ok(())
        }
        (Task::Classification, Targets::Values { .. }) => Err(RuntimeError::Data(
            "classification needs integer class labels, but the targets are real values".into(),
        )),
        (Task::Regression, Targets::Classes { .. }) => Err(RuntimeError::Data(
            "regression needs real-valued targets, but the targets are class labels".into(),
        )),
    }
}

fn forward(net: &Network, inputs: Inputs) -> Result<Value, RuntimeError> {
    net.forward(vec![match inputs {
        Inputs::Image(x) => Value::Map(x),
        Inputs::Flat(x) => Value::Flat(x),
    }])
}

/// Loss (mean over the batch) and the metric's sum over the batch (correct predictions, or the
/// sum of squared errors divided by the output width).
pub(crate) fn loss_and_metric(
    task: Task,
    out: Value,
    targets: BatchTargets,
    device: &Device,
) -> Result<(Tensor<1>, f64), RuntimeError> {
    let Value::Flat(out) = out else {
        return Err(RuntimeError::Data("the network's output must be flat, [batch, outputs]; end it with global_avg_pool or flatten and linear".into()));
    };
    let [n, width] = out.dims();
    match (task, targets) {
        (Task::Classification, BatchTargets::Classes(y)) => {
            let loss = CrossEntropyLossConfig::new().init(device).forward(out.clone(), y.clone());
            let pred: Tensor<1, Int> = out.detach().argmax(1).reshape([n]);
            let correct = pred.equal(y).int().sum().into_scalar::<i64>() as f64;
            Ok((loss, correct))
        }
        (Task::Regression, BatchTargets::Values(y)) => {
            if y.dims() != [n, width] {
                return Err(RuntimeError::Data(format!(
                    "the network gives {width} outputs per item but the targets have {}",
                    y.dims()[1]
                )));
            }
            let loss = MseLoss::new().forward(out, y, Reduction::Mean);
            let sse = loss.clone().detach().into_scalar::<f64>() * n as f64;
            Ok((loss.reshape([1]), sse))
        }
        _ => Err(RuntimeError::Data("the targets do not match the task".into())),
    }
}

/// Loss and metric of `net` over a whole dataset, in inference mode (running batch-norm
/// statistics, no dropout): `(mean loss, accuracy in [0, 1] or MSE)`.
pub fn evaluate(
    net: &Network,
    ds: Arc<Dataset>,
    task: Task,
    batch_size: usize,
    device: &Device,
) -> Result<(f64, f64), RuntimeError> {
    check_fit(net, &ds, task)?;
    tune_allocator();
    let net = net.valid();
    let device = device.clone().inner();
    let len = ds.len();
    if len == 0 {
        return Err(RuntimeError::Data("the evaluation split is empty".into()));
    }
    let batches = loader::data_loader(ds, batch_size.max(1), None, None, &device);
    let (mut loss_sum, mut metric_sum) = (0.0, 0.0);
    for batch in batches.iter() {
        let Batch { inputs, targets } = batch.map_err(|e| RuntimeError::Data(e.to_string()))?;
        let out = forward(&net, inputs)?;
        let n = out.dims()[0] as f64;
        let (loss, metric) = loss_and_metric(task, out, targets, &device)?;
        loss_sum += loss.into_scalar::<f64>() * n;
        metric_sum += metric;
    }
    Ok((loss_sum / len as f64, metric_sum / len as f64))
}

/// Tunes glibc's allocator for training, once per process: buffers of up to 32 MiB come from the
/// heap instead of fresh `mmap`s, and freed memory stays with the process (up to 256 MiB of free
/// heap top) instead of going back to the system after every step.
///
/// Each training step allocates and frees the same large buffers (activations, im2col tiles,
/// gradients of a few MiB each). With glibc's defaults they are often mapped and unmapped again
/// every step, and every page faults on first touch: about 15% of a step of the reference CNN of
/// `benches/train_step.rs` (docs/benchmarks.md). The cost of the setting is memory the process
/// keeps after its peak. [`train`] and [`evaluate`] call this; anything else that trains or runs
/// networks for long may call it too. Settings made through glibc's environment variables
/// (`MALLOC_MMAP_THRESHOLD_`, `MALLOC_TRIM_THRESHOLD_`, `GLIBC_TUNABLES`) are left alone. Does
/// nothing on other platforms.
pub fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            let set_by_user =
                ["MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "GLIBC_TUNABLES"]
                    .iter()
                    .any(|v| std::env::var_os(v).is_some());
            if !set_by_user {
                // SAFETY: mallopt only changes allocator parameters; glibc takes its own lock.
                unsafe {
                    libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
                    libc::mallopt(libc::M_TRIM_THRESHOLD, 256 << 20);
                }
            }
        });
    }
}

/// Builds the optimizer `cfg` asks for (PyTorch's conventions: SGD momentum without dampening,
/// Adam epsilon 1e-8; burn's defaults differ).
fn optimizer(cfg: &TrainConfig) -> ModuleOptimizer {
    let decay = (cfg.weight_decay > 0.0).then(|| WeightDecayConfig::new(cfg.weight_decay as f32));
    let clip = cfg.grad_clip.map(GradientClippingConfig::Norm);
    match cfg.optimizer {
        OptimizerKind::Sgd => {
            let momentum = (cfg.momentum > 0.0).then_some(MomentumConfig {
                momentum: cfg.momentum,
                dampening: 0.0,
                nesterov: false,
            });
            SgdConfig::new()
                .with_momentum(momentum)
                .with_weight_decay(decay)
                .with_gradient_clipping(clip)
                .init()
        }
        OptimizerKind::Adam => AdamConfig::new()
            .with_epsilon(1e-8)
            .with_weight_decay(decay)
            .with_grad_clipping(clip)
            .init(),
    }
}

/// The learning rate of step `t` (from 0) of `total`, with `per_epoch` steps an epoch.
pub fn learning_rate(cfg: &TrainConfig, t: usize, total: usize, per_epoch: usize) -> f64 {
    match cfg.schedule {
        Schedule::Constant => cfg.lr,
        Schedule::Cosine => {
            0.5 * cfg.lr * (1.0 + (std::f64::consts::PI * t as f64 / total.max(1) as f64).cos())
        }
        Schedule::Step { epochs, gamma } => {
            cfg.lr * gamma.powi((t / per_epoch.max(1) / epochs.max(1)) as i32)
        }
    }
}

/// A dataset ready for training: the input normalisation fitted on the training split and
/// applied to every split, and the seeded validation split held out. Preparing once and
/// training many networks on it ([`train_prepared`]) is what a search does.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The training part, normalised.
    pub train: Arc<Dataset>,
    /// The validation part held out of the training split (empty without one), normalised.
    pub val: Arc<Dataset>,
    /// The test split, normalised.
    pub test: Arc<Dataset>,
    /// The normalisation, fitted on the whole training split.
    pub normalization: Normalization,
}

/// Normalises `data` and holds out `val_fraction` of its training split (seeded by `seed`).
///
/// Errors: [`RuntimeError::Config`] for a fraction outside [0, 1); [`RuntimeError::Data`] when
/// nothing is left to train on.
pub fn prepare(data: &Splits, val_fraction: f64, seed: u64) -> Result<Prepared, RuntimeError> {
    if !(0.0..1.0).contains(&val_fraction) {
        return Err(RuntimeError::Config("the validation fraction must be in [0, 1)".into()));
    }
    let normalization = Normalization::fit(&data.train);
    let mut train = data.train.clone();
    normalization.apply(&mut train);
    let mut test = data.test.clone();
    normalization.apply(&mut test);
    let (train, val) = if val_fraction > 0.0 {
        data::split(&train, val_fraction, seed)
    } else {
        (train.clone(), train.subset(&[]))
    };
    if train.is_empty() {
        return Err(RuntimeError::Data("the training split is empty".into()));
    }
    Ok(Prepared { train: Arc::new(train), val: Arc::new(val), test: Arc::new(test), normalization })
}

/// Trains a fresh network for `graph` on `data` (see the module documentation) and returns it
/// with its report. The device should have autodiff (`Device::flex().autodiff()`).
///
/// Errors: a bad setting ([`RuntimeError::Config`]), data that does not fit the network
/// ([`RuntimeError::Data`], [`RuntimeError::DataShape`]), a diverged loss
/// ([`RuntimeError::Diverged`]), an operator that fails (with its `.nas` place), or a panic
/// inside burn ([`RuntimeError::Panic`]).
pub fn train(
    graph: &FixedGraph,
    data: &Splits,
    cfg: &TrainConfig,
    device: &Device,
    observer: &mut dyn Observer,
) -> Result<(Network, TrainReport), RuntimeError> {
    check_config(cfg)?;
    let started = Instant::now();
    let prepared = prepare(data, cfg.val_fraction, cfg.seed)?;
    let (net, mut report) = train_prepared(graph, &prepared, cfg, device, observer)?;
    report.seconds = started.elapsed().as_secs_f64();
    Ok((net, report))
}

/// [`train`] on data already [`prepare`]d (with `cfg.val_fraction` and `cfg.seed`, which this
/// function does not read again).
///
/// Errors: as [`train`].
pub fn train_prepared(
    graph: &FixedGraph,
    data: &Prepared,
    cfg: &TrainConfig,
    device: &Device,
    observer: &mut dyn Observer,
) -> Result<(Network, TrainReport), RuntimeError> {
    check_config(cfg)?;
    tune_allocator();
    let started = Instant::now();
    let device = device.clone().autodiff();
    // Weights come from the seed alone; the device's generator (dropout masks) is seeded too,
    // but it is global to the process, so dropout is reproducible only when one network
    // trains at a time.
    device.seed(cfg.seed);
    let net = Network::build(graph, &device, cfg.seed)?;
    check_fit(&net, &data.train, cfg.task)?;
    let normalization = data.normalization.clone();
    let (train, val, test) = (data.train.clone(), data.val.clone(), data.test.clone());
    if cfg.augment && train.item_shape.len() != 3 {
        return Err(RuntimeError::Config(
            "--augment crops and flips images; these items are flat features".into(),
        ));
    }
    let augment = cfg.augment.then_some(loader::Augment { padding: 4, flip: true, seed: cfg.seed });
    let batches =
        loader::data_loader(train.clone(), cfg.batch_size, Some(cfg.seed), augment, &device);
    let per_epoch = train.len().div_ceil(cfg.batch_size).min(cfg.max_steps.unwrap_or(usize::MAX));
    let total = per_epoch * cfg.epochs;
    observer.start(cfg.epochs, per_epoch);
    let task = cfg.task;
    let run = || -> Result<(Network, Vec<EpochMetrics>), RuntimeError> {
        let mut net = net;
        let mut optim = optimizer(cfg);
        let mut epochs = Vec::new();
        let mut t = 0;
        for epoch in 1..=cfg.epochs {
            let epoch_start = Instant::now();
            let (mut loss_sum, mut steps, mut lr) = (0.0, 0, cfg.lr);
            for (step, batch) in batches.iter().take(per_epoch).enumerate() {
                if observer.should_stop() {
                    return Err(RuntimeError::Interrupted);
                }
                let Batch { inputs, targets } =
                    batch.map_err(|e| RuntimeError::Data(e.to_string()))?;
                let out = forward(&net, inputs)?;
                let (loss, _) = loss_and_metric(task, out, targets, &device)?;
                let value = loss.clone().into_scalar::<f64>();
                if !value.is_finite() {
                    return Err(RuntimeError::Diverged { epoch, step: step + 1, value });
                }
                lr = learning_rate(cfg, t, total, per_epoch);
                // A network without trainable parameters (every operator weightless) has nothing
                // to learn: its loss is measured and reported, and no gradient is taken (burn
                // cannot differentiate a loss that no parameter feeds).
                if loss.is_tracked() {
                    let grads = GradientsParams::from_grads(loss.backward(), &net);
                    net = optim.step(lr, net, grads);
                }
                t += 1;
                steps += 1;
                loss_sum += value;
                observer.step(epoch, step + 1, value);
            }
            let (val_loss, val_metric) = if val.is_empty() {
                (None, None)
            } else {
                let (l, m) = evaluate(&net, val.clone(), task, cfg.batch_size, &device)?;
                (Some(l), Some(m))
            };
            let m = EpochMetrics {
                epoch,
                train_loss: loss_sum / steps.max(1) as f64,
                val_loss,
                val_metric,
                lr,
                seconds: epoch_start.elapsed().as_secs_f64(),
            };
            observer.epoch(&m);
            epochs.push(m);
        }
        Ok((net, epochs))
    };
    let (net, epochs) = catch_panics(run)?;
    // A search trains on data prepared without a test split: the test split is for the final
    // architecture only.
    let (test_loss, test_metric) = if test.is_empty() {
        (None, None)
    } else {
        let (l, m) = catch_panics(|| evaluate(&net, test.clone(), task, cfg.batch_size, &device))?;
        (Some(l), Some(m))
    };
    let params = net.trainable_params();
    let report = TrainReport {
        metric: task.metric(),
        epochs,
        test_loss,
        test_metric,
        params,
        flops: graph.flops,
        normalization,
        seconds: started.elapsed().as_secs_f64(),
    };
    Ok((net, report))
}

/// Runs `f`, turning a panic inside burn into [`RuntimeError::Panic`] so that a search can
/// record the trial as failed and go on.
pub fn catch_panics<T>(f: impl FnOnce() -> Result<T, RuntimeError>) -> Result<T, RuntimeError> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(payload) => Err(RuntimeError::Panic(panic_message(&*payload))),
    }
}

/// The text of a panic's payload (a `String` or a `&str`; "unknown panic" otherwise).
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "unknown panic".into())
}
