//! The one-shot training loop shared by the five strategies (see the module documentation of
//! [`crate::oneshot`]).

use super::export::{export, probabilities};
use super::mixing::{
    gumbel_mixing, proxyless_gates, sample_architecture, softmax_mixing, ArchParams, LabelShape,
};
use crate::arch::{self, Architecture, Choice};
use crate::experiment::{Store, StoreError, SupernetEpoch, TrialId};
use crate::ir::{Graph, Measure};
use crate::lower::{OneShotKind, Plan};
use crate::runtime::controller::{Controller, ControllerConfig, Decision, Experience};
use crate::runtime::loader::{self, Batch, Inputs};
use crate::runtime::supernet::{Mixing, Supernet};
use crate::runtime::train::{loss_and_metric, tune_allocator, Prepared, Task};
use crate::runtime::{Device, RuntimeError, Value};
use crate::strategy::{self, Mode, StrategyKind};
use burn::module::{Module, ModuleVisitor, Param, ParamId};
use burn::optim::decay::WeightDecayConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer, SgdConfig};
use burn::tensor::Tensor;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Instant;

/// The settings of a one-shot search. [`OneShotConfig::new`] gives the papers' and NNI's
/// defaults for a strategy; the CLI changes them with its options.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OneShotConfig {
    /// The strategy.
    pub strategy: OneShotKind,
    /// Epochs over the weights' half of the training data.
    pub epochs: usize,
    /// Items per batch (64, as DARTS and NNI).
    pub batch_size: usize,
    /// Seed of everything random: the split, the weights, alpha, the sampled paths.
    pub seed: u64,
    /// The task (classification or regression).
    pub task: Task,
    /// Weights: SGD learning rate at the start of the cosine schedule (0.025).
    pub lr: f64,
    /// Weights: learning rate at the end of the cosine schedule (0.001).
    pub lr_min: f64,
    /// Weights: SGD momentum (0.9).
    pub momentum: f64,
    /// Weights: L2 weight decay (3e-4).
    pub weight_decay: f64,
    /// Weights: gradient norm clipping (5; burn clips each tensor's norm, PyTorch's DARTS
    /// code the global norm).
    pub grad_clip: Option<f32>,
    /// Architecture parameters (or the ENAS controller): Adam learning rate (DARTS 3e-4,
    /// Proxyless 1e-3, ENAS 3.5e-4).
    pub arch_lr: f64,
    /// Adam's beta 1 for alpha (DARTS 0.5, Proxyless 0).
    pub arch_beta1: f32,
    /// L2 weight decay of alpha (DARTS 1e-3, Proxyless 0).
    pub arch_weight_decay: f64,
    /// DARTS' second-order (unrolled) architecture step.
    pub unrolled: bool,
    /// GumbelDARTS: the temperature of the first epoch (1.0).
    pub tau_max: f64,
    /// GumbelDARTS: the temperature of the last epoch (0.33).
    pub tau_min: f64,
    /// Proxyless: the resource the loss limits and its target (`--target-flops`).
    pub target: Option<(Measure, f64)>,
    /// Proxyless: the exponent of the resource loss (0.6, the paper's).
    pub resource_beta: f64,
    /// ENAS: weight of the entropy bonus (1e-4).
    pub entropy_weight: f64,
    /// ENAS: decay of the reward's moving-average baseline (0.999).
    pub baseline_decay: f64,
    /// ENAS: controller samples per epoch (each scored on one validation batch).
    pub controller_steps: usize,
    /// ENAS: samples per controller update (20, NNI's `ctrl_steps_aggregate`).
    pub controller_aggregate: usize,
    /// SPOS: candidates the evolution scores after training.
    pub search_candidates: usize,
    /// SPOS: the evolution's population (the paper's P).
    pub population: usize,
    /// SPOS: the evolution's tournament size (the paper's S).
    pub tournament: usize,
    /// Training batches that recalibrate a candidate's batch-norm statistics before it is
    /// scored.
    pub calibration_batches: usize,
    /// Validation batches that score a candidate (the same batches for every candidate).
    pub score_batches: usize,
    /// Validation batches of the per-epoch figures (`None`: the whole validation split).
    pub eval_batches: Option<usize>,
    /// ENAS: how many of the controller's architectures are scored and recorded (top-k).
    pub top_k: usize,
    /// At most this many weight steps per epoch (for quick runs).
    pub max_steps: Option<usize>,
}

impl OneShotConfig {
    /// The defaults of `strategy` (DARTS' for the weights of every strategy).
    pub fn new(strategy: OneShotKind) -> OneShotConfig {
        let (arch_lr, arch_beta1, arch_weight_decay) = match strategy {
            OneShotKind::Darts | OneShotKind::GumbelDarts => (3e-4, 0.5, 1e-3),
            OneShotKind::Proxyless => (1e-3, 0.0, 0.0),
            OneShotKind::Enas => (3.5e-4, 0.9, 0.0),
            OneShotKind::RandomOneshot => (0.0, 0.9, 0.0),
        };
        OneShotConfig {
            strategy,
            epochs: 10,
            batch_size: 64,
            seed: 0,
            task: Task::Classification,
            lr: 0.025,
            lr_min: 0.001,
            momentum: 0.9,
            weight_decay: 3e-4,
            grad_clip: Some(5.0),
            arch_lr,
            arch_beta1,
            arch_weight_decay,
            unrolled: false,
            tau_max: 1.0,
            tau_min: 0.33,
            target: None,
            resource_beta: 0.6,
            entropy_weight: 1e-4,
            baseline_decay: 0.999,
            controller_steps: 100,
            controller_aggregate: 20,
            search_candidates: 60,
            population: 20,
            tournament: 5,
            calibration_batches: 10,
            score_batches: 16,
            eval_batches: Some(32),
            top_k: 5,
            max_steps: None,
        }
    }

    /// Checks every setting.
    ///
    /// Errors: [`RuntimeError::Config`] naming the first setting out of range.
    pub fn check(&self) -> Result<(), RuntimeError> {
        let bad = |m: &str| Err(RuntimeError::Config(m.into()));
        if self.epochs == 0 || self.batch_size == 0 || self.max_steps == Some(0) {
            return bad("--epochs, --batch-size and --max-steps must be at least 1");
        }
        if !(self.lr > 0.0 && self.lr <= 1.0) {
            return bad("--lr must be in (0, 1]");
        }
        if !(self.lr_min >= 0.0 && self.lr_min <= self.lr) {
            return bad("option lr_min (the learning rate the cosine schedule ends at) must be between 0 and --lr");
        }
        if self.strategy != OneShotKind::RandomOneshot
            && !(self.arch_lr > 0.0 && self.arch_lr.is_finite())
        {
            return bad("the architecture learning rate must be a positive number");
        }
        if !(self.tau_min > 0.0 && self.tau_max >= self.tau_min) {
            return bad("the Gumbel temperatures must be positive, the first at least the last");
        }
        if let Some((_, t)) = self.target {
            if !(t > 1.0 && t.is_finite()) {
                return bad("the resource target must be a number above 1");
            }
        }
        if self.controller_aggregate == 0 {
            return bad("option controller_aggregate must be at least 1");
        }
        if self.population < 2 {
            return bad("option population must be at least 2");
        }
        if self.tournament == 0 || self.tournament > self.population {
            return bad("option tournament must be between 1 and the population");
        }
        if self.score_batches == 0 {
            return bad("option score_batches must be at least 1");
        }
        if self.unrolled && self.strategy != OneShotKind::Darts {
            return bad("--unrolled is DARTS' second-order step; it needs --strategy darts");
        }
        Ok(())
    }
}

/// Progress of a one-shot search.
pub trait OneShotObserver {
    /// Training starts: `epochs` epochs of `steps` weight steps.
    fn start(&mut self, epochs: usize, steps: usize);
    /// A weight step finished with this training loss.
    fn step(&mut self, epoch: usize, step: usize, loss: f64);
    /// An epoch finished.
    fn epoch(&mut self, e: &SupernetEpoch);
    /// A phase without steps began (the controller's training, the evolution).
    fn phase(&mut self, message: &str);
    /// The search over the trained supernet scored candidate `scored` of `total` (SPOS's
    /// evolution, ENAS's top-k), with this validation metric.
    fn candidate(&mut self, _scored: usize, _total: usize, _metric: f64) {}
}

/// An observer that reports nothing.
pub struct QuietOneShot;

impl OneShotObserver for QuietOneShot {
    fn start(&mut self, _: usize, _: usize) {}
    fn step(&mut self, _: usize, _: usize, _: f64) {}
    fn epoch(&mut self, _: &SupernetEpoch) {}
    fn phase(&mut self, _: &str) {}
}

/// What a one-shot search found.
#[derive(Debug, Clone)]
pub struct OneShotSummary {
    /// The architecture exported (`best.json`).
    pub arch: Architecture,
    /// Its trial in the store.
    pub trial: TrialId,
    /// Its supernet validation accuracy (or loss for regression) after batch-norm
    /// recalibration.
    pub metric: f64,
    /// Whether it meets the space's constraints.
    pub feasible: bool,
    /// Every epoch.
    pub epochs: Vec<SupernetEpoch>,
}

/// Why a one-shot search stopped.
#[derive(Debug, thiserror::Error)]
pub enum OneShotError {
    /// Training failed (a diverged loss, data that does not fit, a bad setting).
    #[error("{0}")]
    Runtime(#[from] RuntimeError),
    /// The experiment store failed.
    #[error("{0}")]
    Store(#[from] StoreError),
}

fn value_of(inputs: Inputs) -> Value {
    match inputs {
        Inputs::Image(x) => Value::Map(x),
        Inputs::Flat(x) => Value::Flat(x),
    }
}

/// Loss `[1]` and the metric's sum over the batch of `net` under `mix`.
fn batch_loss(
    net: &Supernet,
    batch: Batch,
    mix: &Mixing,
    task: Task,
    device: &Device,
) -> Result<(Tensor<1>, f64, usize), RuntimeError> {
    let n = batch.len();
    let out = net.forward(vec![value_of(batch.inputs)], mix)?;
    let (loss, metric) = loss_and_metric(task, out, batch.targets, device)?;
    Ok((loss, metric, n))
}

fn finite(loss: &Tensor<1>, epoch: usize, step: usize) -> Result<f64, RuntimeError> {
    let v = loss.clone().into_scalar::<f64>();
    if v.is_finite() {
        Ok(v)
    } else {
        Err(RuntimeError::Diverged { epoch, step, value: v })
    }
}

/// The gradients `grads` of `module`'s parameters scaled by `s`.
fn scaled<M: Module>(grads: &GradientsParams, module: &M, s: f64) -> GradientsParams {
    struct Scale<'a> {
        from: &'a GradientsParams,
        to: GradientsParams,
        s: f64,
    }
    impl ModuleVisitor for Scale<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            if let Some(g) = self.from.get::<D>(param.id) {
                self.to.register(param.id, g.mul_scalar(self.s));
            }
        }
    }
    let mut v = Scale { from: grads, to: GradientsParams::new(), s };
    module.visit(&mut v);
    v.to
}

/// The global L2 norm of the gradients of `module`'s parameters.
fn grad_norm<M: Module>(grads: &GradientsParams, module: &M) -> f64 {
    struct Norm<'a> {
        from: &'a GradientsParams,
        sum: f64,
    }
    impl ModuleVisitor for Norm<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            if let Some(g) = self.from.get::<D>(param.id) {
                self.sum += g.powf_scalar(2.0).sum().into_scalar::<f64>();
            }
        }
    }
    let mut v = Norm { from: grads, sum: 0.0 };
    module.visit(&mut v);
    v.sum.sqrt()
}

fn alpha_ids(arch: &ArchParams) -> Vec<ParamId> {
    arch.alpha.iter().map(|p| p.id).collect()
}

/// The controller's decisions for the labels of a space: one categorical decision per layer,
/// value and depth label, `k` of `n` picks per input choice.
fn decisions(labels: &LabelShape) -> Vec<Decision> {
    labels
        .sizes
        .iter()
        .zip(&labels.inputs)
        .map(|(&n, input)| match input {
            Some((k, _)) => Decision::Subset { n, k: *k },
            None => Decision::Categorical(n),
        })
        .collect()
}

fn decode(labels: &LabelShape, actions: &[usize]) -> Architecture {
    let mut at = 0;
    let choices = labels
        .inputs
        .iter()
        .map(|input| match input {
            Some((k, _)) => {
                let mut s = actions[at..(at + k).min(actions.len())].to_vec();
                s.sort();
                at += k;
                Choice::Subset(s)
            }
            None => {
                at += 1;
                Choice::Index(actions.get(at - 1).copied().unwrap_or(0))
            }
        })
        .collect();
    Architecture { choices }
}

/// Counts of each candidate of each label over sampled architectures.
struct Frequencies(Vec<Vec<f64>>, usize);

impl Frequencies {
    fn new(labels: &LabelShape) -> Frequencies {
        Frequencies(labels.sizes.iter().map(|n| vec![0.0; *n]).collect(), 0)
    }
    fn add(&mut self, a: &Architecture) {
        for (l, c) in a.choices.iter().enumerate() {
            match c {
                Choice::Index(i) => self.0[l][*i] += 1.0,
                Choice::Subset(s) => s.iter().for_each(|i| self.0[l][*i] += 1.0),
            }
        }
        self.1 += 1;
    }
    /// Fractions of samples (for input choices, the fraction that picked each candidate).
    fn fractions(&self) -> Vec<Vec<f64>> {
        self.0.iter().map(|v| v.iter().map(|c| c / self.1.max(1) as f64).collect()).collect()
    }
}

/// Everything one search holds while it trains.
struct Run<'a> {
    g: &'a Graph,
    cfg: &'a OneShotConfig,
    device: Device,
    data: &'a Prepared,
}

impl Run<'_> {
    /// Loss and metric of `net` under `mix` over the first `batches` batches of `ds`
    /// (in order), in inference mode: `(mean loss, metric)`, the metric accuracy in [0, 1]
    /// (classification) or MSE.
    fn evaluate(
        &self,
        net: &Supernet,
        mix: &Mixing,
        ds: Arc<crate::data::Dataset>,
        batches: Option<usize>,
    ) -> Result<(f64, f64), RuntimeError> {
        let net = net.valid();
        let mix = mix.valid();
        let device = self.device.clone().inner();
        let loader = loader::data_loader(ds, self.cfg.batch_size, None, None, &device);
        let (mut loss, mut metric, mut n) = (0.0, 0.0, 0usize);
        for batch in loader.iter().take(batches.unwrap_or(usize::MAX)) {
            let (l, m, k) = batch_loss(
                &net,
                batch.map_err(|e| RuntimeError::Data(e.to_string()))?,
                &mix,
                self.cfg.task,
                &device,
            )?;
            loss += l.into_scalar::<f64>() * k as f64;
            metric += m;
            n += k;
        }
        if n == 0 {
            return Err(RuntimeError::Data("the validation split is empty".into()));
        }
        Ok((loss / n as f64, metric / n as f64))
    }

    /// The score of one architecture under the shared weights: its batch-norm statistics
    /// recalibrated on `calibration_batches` training batches (a cumulative average, as SPOS
    /// does), then its validation metric on the first `score_batches` validation batches.
    fn score(&self, net: &Supernet, a: &Architecture) -> Result<(f64, f64), RuntimeError> {
        let mix = Mixing::hard(a);
        // No parameter requires a gradient, so the forward passes build no autodiff graph
        // (one that is never consumed by a backward pass would be kept), while batch norm still
        // sees a training device and updates its statistics.
        let mut calib = net.clone().no_grad().set_norm_statistics(1.0, true);
        let loader = loader::data_loader(
            self.data.train.clone(),
            self.cfg.batch_size,
            Some(self.cfg.seed ^ 0x5eed),
            None,
            &self.device,
        );
        for (t, batch) in loader.iter().take(self.cfg.calibration_batches).enumerate() {
            calib = calib.set_norm_statistics(1.0 / (t as f64 + 1.0), false);
            let batch = batch.map_err(|e| RuntimeError::Data(e.to_string()))?;
            calib.forward(vec![value_of(batch.inputs)], &mix)?;
        }
        self.evaluate(&calib, &mix, self.data.val.clone(), Some(self.cfg.score_batches))
    }

    fn record(
        &self,
        store: &Store,
        a: &Architecture,
        metric: f64,
        seconds: f64,
    ) -> Result<TrialId, OneShotError> {
        let json = serde_json::to_string(&a.to_json(self.g)).unwrap_or_default();
        let (params, flops) = arch::cost(self.g, a).unwrap_or((0, 0));
        let id = store.ask(&json, params, flops)?;
        store.start(id)?;
        store.succeed(id, metric, seconds)?;
        Ok(id)
    }
}

/// The expected cost of the architectures drawn from `probs`, to first order around `center`:
/// `cost(center) + sum_l sum_i p_l,i * (cost(center with l = i) - cost(center))`, exact when
/// the labels' costs add up (a chain of blocks, as ProxylessNAS's expected latency assumes).
/// Returns the constant and, per label, the cost differences of its candidates.
fn cost_deltas(g: &Graph, center: &Architecture, measure: Measure) -> (f64, Vec<Vec<f64>>) {
    let cost = |a: &Architecture| -> f64 {
        let (p, f) = arch::cost(g, a).unwrap_or((0, 0));
        (match measure {
            Measure::Params => p,
            Measure::Flops => f,
        }) as f64
    };
    let base = cost(center);
    let deltas = (0..g.labels.len())
        .map(|l| match &center.choices[l] {
            Choice::Index(_) => (0..g.labels.labels[l].domain.size().unwrap_or(0) as usize)
                .map(|i| {
                    let mut a = center.clone();
                    a.choices[l] = Choice::Index(i);
                    cost(&a) - base
                })
                .collect(),
            Choice::Subset(_) => Vec::new(),
        })
        .collect();
    (base, deltas)
}

/// Runs a one-shot search of `g` (lowered to `plan`) on `data` (prepared with a validation
/// half), recording every epoch and the exported architectures in `store`.
///
/// Errors: a bad setting, data that does not fit the supernet, a diverged loss (the epochs
/// already recorded stay in the store), or a store failure.
pub fn run(
    store: &Store,
    g: &Graph,
    plan: &Plan,
    data: &Prepared,
    cfg: &OneShotConfig,
    device: &Device,
    observer: &mut dyn OneShotObserver,
) -> Result<OneShotSummary, OneShotError> {
    cfg.check()?;
    if data.val.is_empty() {
        return Err(RuntimeError::Data(
            "one-shot search needs a validation split: the architecture is chosen on it".into(),
        )
        .into());
    }
    tune_allocator();
    let device = device.clone().autodiff();
    device.seed(cfg.seed);
    let labels = LabelShape::new(g, plan);
    let run = Run { g, cfg, device: device.clone(), data };
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let input_dims =
        g.inputs.first().map(|i| plan.nodes[i.index()].dims.clone()).unwrap_or_default();
    if input_dims != data.train.item_shape {
        let show = |d: &[usize]| {
            format!("[{}]", d.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(", "))
        };
        let loc =
            g.inputs.first().map(|i| g.nodes.loc(*i)).unwrap_or_else(|| g.nodes.loc(g.output));
        return Err(RuntimeError::DataShape {
            loc,
            expected: show(&input_dims),
            found: show(&data.train.item_shape),
        }
        .into());
    }
    let mut net = Supernet::build(g, plan, &device, cfg.seed)?;
    let mut arch = ArchParams::new(&labels, 1e-3, &mut rng, &device);
    let mut w_optim: ModuleOptimizer = SgdConfig::new()
        .with_momentum((cfg.momentum > 0.0).then_some(MomentumConfig {
            momentum: cfg.momentum,
            dampening: 0.0,
            nesterov: false,
        }))
        .with_weight_decay(
            (cfg.weight_decay > 0.0).then(|| WeightDecayConfig::new(cfg.weight_decay as f32)),
        )
        .with_gradient_clipping(
            cfg.grad_clip.map(burn::grad_clipping::GradientClippingConfig::Norm),
        )
        .init();
    let mut a_optim: ModuleOptimizer = AdamConfig::new()
        .with_beta_1(cfg.arch_beta1)
        .with_beta_2(0.999)
        .with_epsilon(1e-8)
        .with_weight_decay(
            (cfg.arch_weight_decay > 0.0)
                .then(|| WeightDecayConfig::new(cfg.arch_weight_decay as f32)),
        )
        .init();
    let mut controller = match cfg.strategy {
        OneShotKind::Enas => Some(Controller::new(
            &decisions(&labels),
            &ControllerConfig { lr: cfg.arch_lr, ..ControllerConfig::enas() },
            cfg.seed,
        )?),
        _ => None,
    };
    let mut baseline: Option<f64> = None;
    let train_loader =
        loader::data_loader(data.train.clone(), cfg.batch_size, Some(cfg.seed), None, &device);
    let val_loader = loader::data_loader(
        data.val.clone(),
        cfg.batch_size,
        Some(cfg.seed.wrapping_add(1)),
        None,
        &device,
    );
    let per_epoch =
        data.train.len().div_ceil(cfg.batch_size).min(cfg.max_steps.unwrap_or(usize::MAX));
    let total = per_epoch * cfg.epochs;
    observer.start(cfg.epochs, per_epoch);
    let task = cfg.task;
    let mut epochs = Vec::new();
    let mut t = 0usize;
    for epoch in 1..=cfg.epochs {
        let epoch_start = Instant::now();
        let tau = if cfg.epochs > 1 {
            cfg.tau_max - (cfg.tau_max - cfg.tau_min) * (epoch - 1) as f64 / (cfg.epochs - 1) as f64
        } else {
            cfg.tau_max
        };
        let mut val_iter = val_loader.iter();
        let mut next_val = || -> Result<Batch, RuntimeError> {
            match val_iter.next() {
                Some(b) => b.map_err(|e| RuntimeError::Data(e.to_string())),
                None => {
                    val_iter = val_loader.iter();
                    val_iter
                        .next()
                        .ok_or_else(|| RuntimeError::Data("the validation split is empty".into()))?
                        .map_err(|e| RuntimeError::Data(e.to_string()))
                }
            }
        };
        let mut freq = Frequencies::new(&labels);
        let (mut loss_sum, mut arch_loss_sum, mut arch_steps, mut steps) =
            (0.0, 0.0, 0usize, 0usize);
        // Proxyless: the resource model around the current most probable architecture.
        let resource = match (cfg.strategy, cfg.target) {
            (OneShotKind::Proxyless, Some((measure, target))) => {
                let (center, _) =
                    export(g, &labels, &plan.zero_alternative, &arch.probabilities(), cfg.seed);
                let (base, deltas) = cost_deltas(g, &center, measure);
                Some((base, deltas, target))
            }
            _ => None,
        };
        let lr_at = |t: usize| {
            cfg.lr_min
                + 0.5
                    * (cfg.lr - cfg.lr_min)
                    * (1.0 + (std::f64::consts::PI * t as f64 / total.max(1) as f64).cos())
        };
        let mut lr = cfg.lr;
        for (step, batch) in train_loader.iter().take(per_epoch).enumerate() {
            let batch = batch.map_err(|e| RuntimeError::Data(e.to_string()))?;
            lr = lr_at(t);
            // The architecture step, on a validation batch.
            match cfg.strategy {
                OneShotKind::Darts if cfg.unrolled => {
                    let v = next_val()?;
                    let (loss, grads) =
                        unrolled_step(&net, &arch, &labels, batch.clone(), v, lr, task, &device)?;
                    arch_loss_sum += finite(&loss, epoch, step + 1)?;
                    arch_steps += 1;
                    arch = a_optim.step(cfg.arch_lr, arch, grads);
                }
                OneShotKind::Darts | OneShotKind::GumbelDarts | OneShotKind::Proxyless => {
                    let v = next_val()?;
                    let frozen = net.clone().no_grad();
                    let mix = match cfg.strategy {
                        OneShotKind::Darts => softmax_mixing(&arch, &labels, true),
                        OneShotKind::GumbelDarts => {
                            gumbel_mixing(&arch, &labels, tau, true, &mut rng)
                        }
                        _ => proxyless_gates(&arch, &labels, &mut rng).0,
                    };
                    let (mut loss, _, _) = batch_loss(&frozen, v, &mix, task, &device)?;
                    if let Some((base, deltas, target)) = &resource {
                        // Expected cost, first order around the current most probable
                        // architecture (differentiable in alpha).
                        let mut expected = Tensor::<1>::from_floats([*base as f32], &device);
                        for (l, d) in deltas.iter().enumerate() {
                            if d.is_empty() || d.iter().all(|x| *x == 0.0) {
                                continue;
                            }
                            let p = burn::tensor::activation::softmax(arch.alpha[l].val(), 0);
                            let dt = Tensor::<1>::from_floats(
                                d.iter().map(|x| *x as f32).collect::<Vec<_>>().as_slice(),
                                &device,
                            );
                            expected = expected + (p * dt).sum();
                        }
                        let ratio = expected
                            .clamp_min(2.0)
                            .log()
                            .div_scalar(target.ln())
                            .powf_scalar(cfg.resource_beta);
                        loss = loss * ratio;
                    }
                    arch_loss_sum += finite(&loss, epoch, step + 1)?;
                    arch_steps += 1;
                    let mut grads = loss.backward();
                    let grads = GradientsParams::from_params(&mut grads, &arch, &alpha_ids(&arch));
                    arch = a_optim.step(cfg.arch_lr, arch, grads);
                }
                OneShotKind::Enas | OneShotKind::RandomOneshot => {}
            }
            // The weight step, on a training batch.
            let mix = match cfg.strategy {
                OneShotKind::Darts => softmax_mixing(&arch, &labels, false),
                OneShotKind::GumbelDarts => gumbel_mixing(&arch, &labels, tau, false, &mut rng),
                OneShotKind::Proxyless => {
                    let a = sample_architecture(&arch.probabilities(), &labels, &mut rng);
                    freq.add(&a);
                    Mixing::hard(&a)
                }
                OneShotKind::Enas => {
                    let c = controller
                        .as_mut()
                        .ok_or_else(|| RuntimeError::Config("no controller".into()))?;
                    let a = decode(&labels, &c.sample().actions);
                    freq.add(&a);
                    Mixing::hard(&a)
                }
                OneShotKind::RandomOneshot => {
                    let a = spos_path(g, &mut rng);
                    freq.add(&a);
                    Mixing::hard(&a)
                }
            };
            let (loss, _, _) = batch_loss(&net, batch, &mix, task, &device)?;
            let value = finite(&loss, epoch, step + 1)?;
            let grads = GradientsParams::from_grads(loss.backward(), &net);
            net = w_optim.step(lr, net, grads);
            loss_sum += value;
            steps += 1;
            t += 1;
            observer.step(epoch, step + 1, value);
        }
        // ENAS: the controller learns from the accuracy of its paths on validation batches.
        if let Some(c) = controller.as_mut() {
            observer.phase("training the controller");
            let mut experiences = Vec::with_capacity(cfg.controller_aggregate);
            let frozen = net.valid();
            let inner = device.clone().inner();
            for _ in 0..cfg.controller_steps {
                let episode = c.sample();
                let a = decode(&labels, &episode.actions);
                freq.add(&a);
                let v = next_val()?;
                let (_, correct, n) =
                    batch_loss(&frozen, to_inner(v), &Mixing::hard(&a), task, &inner)?;
                let reward = if task == Task::Classification {
                    correct / n.max(1) as f64
                } else {
                    -correct / n.max(1) as f64
                };
                let b = baseline.map_or(reward, |b| {
                    cfg.baseline_decay * b + (1.0 - cfg.baseline_decay) * reward
                });
                baseline = Some(b);
                experiences.push(Experience { episode, advantage: reward - b });
                arch_loss_sum += -reward;
                arch_steps += 1;
                if experiences.len() == cfg.controller_aggregate {
                    c.reinforce(&experiences, cfg.entropy_weight)?;
                    experiences.clear();
                }
            }
        }
        // The epoch's validation figures under the current choice.
        let current = match cfg.strategy {
            OneShotKind::Darts | OneShotKind::GumbelDarts => softmax_mixing(&arch, &labels, false),
            OneShotKind::Proxyless => Mixing::hard(
                &export(g, &labels, &plan.zero_alternative, &arch.probabilities(), cfg.seed).0,
            ),
            OneShotKind::Enas => Mixing::hard(&decode(
                &labels,
                &controller.as_ref().map(|c| c.most_likely()).unwrap_or_default(),
            )),
            OneShotKind::RandomOneshot => Mixing::hard(&Architecture::random(g, &mut rng)),
        };
        let (val_loss, val_metric) =
            run.evaluate(&net, &current, data.val.clone(), cfg.eval_batches)?;
        let probs = match cfg.strategy {
            OneShotKind::Darts | OneShotKind::GumbelDarts | OneShotKind::Proxyless => {
                arch.probabilities()
            }
            _ => freq.fractions(),
        };
        let e = SupernetEpoch {
            epoch: epoch as u32,
            train_loss: loss_sum / steps.max(1) as f64,
            val_loss: Some(val_loss),
            val_metric: Some(val_metric),
            arch_loss: (arch_steps > 0).then(|| arch_loss_sum / arch_steps as f64),
            lr,
            seconds: epoch_start.elapsed().as_secs_f64(),
        };
        store.supernet_epoch(&e, &probabilities(g, &probs))?;
        observer.epoch(&e);
        epochs.push(e);
    }
    // The final choice.
    let maximize = task == Task::Classification;
    let oriented = |m: f64| if maximize { m } else { -m };
    let (arch_final, feasible, trial, metric) = match cfg.strategy {
        OneShotKind::Darts | OneShotKind::GumbelDarts | OneShotKind::Proxyless => {
            let t0 = Instant::now();
            let (a, feasible) =
                export(g, &labels, &plan.zero_alternative, &arch.probabilities(), cfg.seed);
            let m = run.score(&net, &a)?.1;
            let id = run.record(store, &a, m, t0.elapsed().as_secs_f64())?;
            (a, feasible, id, m)
        }
        OneShotKind::Enas => {
            observer.phase("scoring the controller's architectures");
            let c =
                controller.as_mut().ok_or_else(|| RuntimeError::Config("no controller".into()))?;
            let likely = decode(&labels, &c.most_likely());
            let mut seen = vec![likely.clone()];
            let mut tries = 0;
            while seen.len() < cfg.top_k.max(1) && tries < cfg.top_k * 20 {
                let a = decode(&labels, &c.sample().actions);
                if !seen.contains(&a) {
                    seen.push(a);
                }
                tries += 1;
            }
            let mut best: Option<(Architecture, TrialId, f64)> = None;
            let total = seen.len();
            for (i, a) in seen.into_iter().enumerate() {
                let t0 = Instant::now();
                let m = run.score(&net, &a)?.1;
                let id = run.record(store, &a, m, t0.elapsed().as_secs_f64())?;
                observer.candidate(i + 1, total, m);
                if i == 0 {
                    best = Some((a, id, m));
                }
            }
            let (a, id, m) = best.ok_or_else(|| RuntimeError::Config("no architecture".into()))?;
            let feasible = strategy::feasible(g, &a);
            (a, feasible, id, m)
        }
        OneShotKind::RandomOneshot => {
            observer.phase(&format!(
                "evolution over the trained supernet: {} candidates, each recalibrated on {} batches and scored on {} (options search_candidates, calibration_batches, score_batches)",
                cfg.search_candidates, cfg.calibration_batches, cfg.score_batches
            ));
            let mut options = strategy::Options::default();
            options.evolution.population_size = cfg.population;
            options.evolution.sample_size = cfg.tournament;
            let mode = if maximize { Mode::Max } else { Mode::Min };
            let mut evo = strategy::make(StrategyKind::Evolution, g, mode, cfg.seed, &options)
                .map_err(|e| RuntimeError::Config(e.to_string()))?;
            let mut best: Option<(Architecture, TrialId, f64)> = None;
            for i in 0..cfg.search_candidates {
                let Some(a) = evo.ask().map_err(|e| RuntimeError::Config(e.to_string()))? else {
                    break;
                };
                let t0 = Instant::now();
                let m = run.score(&net, &a)?.1;
                let id = run.record(store, &a, m, t0.elapsed().as_secs_f64())?;
                evo.tell(&a, Some(m));
                observer.candidate(i + 1, cfg.search_candidates, m);
                if best.as_ref().is_none_or(|(_, _, b)| oriented(m) > oriented(*b)) {
                    best = Some((a, id, m));
                }
            }
            let (a, id, m) = best.ok_or_else(|| {
                RuntimeError::Config("the evolution proposed no architecture".into())
            })?;
            (a, true, id, m)
        }
    };
    Ok(OneShotSummary { arch: arch_final, trial, metric, feasible, epochs })
}

/// The path SPOS trains at one step (Guo et al. 2020): every label uniform over its domain,
/// independently (input choices uniform over their `k`-subsets).
pub fn spos_path(g: &Graph, rng: &mut impl rand::Rng) -> Architecture {
    Architecture::random(g, rng)
}

/// A batch moved to the inner (non-autodiff) device.
fn to_inner(b: Batch) -> Batch {
    let inputs = match b.inputs {
        Inputs::Image(x) => Inputs::Image(x.inner()),
        Inputs::Flat(x) => Inputs::Flat(x.inner()),
    };
    let targets = match b.targets {
        loader::BatchTargets::Classes(y) => loader::BatchTargets::Classes(y.inner()),
        loader::BatchTargets::Values(y) => loader::BatchTargets::Values(y.inner()),
    };
    Batch { inputs, targets }
}

/// DARTS' second-order architecture gradient (Liu et al. 2019, eqs. 7 and 8): with
/// `w' = w - xi * grad_w L_train(w, alpha)`,
/// `grad_alpha L_val(w', alpha) - xi * (grad_alpha L_train(w+, alpha) - grad_alpha L_train(w-, alpha)) / (2 eps)`,
/// `w+- = w +- eps * grad_w' L_val(w', alpha)`, `eps = 0.01 / ||grad_w' L_val||`. The virtual
/// step is plain SGD (the reference code also applies momentum and weight decay to it).
/// Returns the validation loss at `w'` and the gradient of alpha.
#[allow(clippy::too_many_arguments)]
fn unrolled_step(
    net: &Supernet,
    arch: &ArchParams,
    labels: &LabelShape,
    train: Batch,
    val: Batch,
    xi: f64,
    task: Task,
    device: &Device,
) -> Result<(Tensor<1>, GradientsParams), RuntimeError> {
    let mut plain: ModuleOptimizer = SgdConfig::new().init();
    let fixed = softmax_mixing(arch, labels, false);
    let (loss, _, _) = batch_loss(net, train.clone(), &fixed, task, device)?;
    let g_train = GradientsParams::from_grads(loss.backward(), net);
    let unrolled = plain.step(xi, net.clone(), g_train);
    let (val_loss, _, _) =
        batch_loss(&unrolled, val, &softmax_mixing(arch, labels, true), task, device)?;
    let mut grads = val_loss.clone().backward();
    let d_alpha = GradientsParams::from_params(&mut grads, arch, &alpha_ids(arch));
    let d_w = GradientsParams::from_module(&mut grads, &unrolled);
    let eps = 0.01 / grad_norm(&d_w, &unrolled).max(1e-12);
    let alpha_grad = |w: Supernet| -> Result<GradientsParams, RuntimeError> {
        let (l, _, _) =
            batch_loss(&w, train.clone(), &softmax_mixing(arch, labels, true), task, device)?;
        let mut g = l.backward();
        Ok(GradientsParams::from_params(&mut g, arch, &alpha_ids(arch)))
    };
    // w + eps * dw and w - eps * dw, by plain SGD steps of the scaled gradient.
    let w_plus = plain.step(1.0, net.clone(), scaled(&d_w, net, -eps));
    let g_plus = alpha_grad(w_plus)?;
    let w_minus = plain.step(1.0, net.clone(), scaled(&d_w, net, eps));
    let g_minus = alpha_grad(w_minus)?;
    let mut out = GradientsParams::new();
    for p in &arch.alpha {
        let (Some(a), Some(gp), Some(gm)) =
            (d_alpha.get::<1>(p.id), g_plus.get::<1>(p.id), g_minus.get::<1>(p.id))
        else {
            continue;
        };
        out.register(p.id, a - (gp - gm).mul_scalar(xi / (2.0 * eps)));
    }
    Ok((val_loss, out))
}

impl OneShotConfig {
    /// Sets one option by name (`nasc search --option NAME=VALUE`): `arch_lr`, `arch_beta1`,
    /// `arch_weight_decay`, `lr_min`, `tau_max`, `tau_min`, `resource_beta`, `entropy_weight`,
    /// `baseline_decay`, `controller_steps`, `controller_aggregate`, `search_candidates`,
    /// `population`, `tournament`, `calibration_batches`, `score_batches`, `top_k`.
    ///
    /// Errors: an unknown name or a value that does not parse, as a sentence.
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), String> {
        fn num<T: std::str::FromStr>(name: &str, v: &str) -> Result<T, String> {
            v.parse().map_err(|_| format!("option `{name}` takes a number, not `{v}`"))
        }
        match name {
            "arch_lr" => self.arch_lr = num(name, value)?,
            "arch_beta1" => self.arch_beta1 = num(name, value)?,
            "arch_weight_decay" => self.arch_weight_decay = num(name, value)?,
            "lr_min" => self.lr_min = num(name, value)?,
            "tau_max" => self.tau_max = num(name, value)?,
            "tau_min" => self.tau_min = num(name, value)?,
            "resource_beta" => self.resource_beta = num(name, value)?,
            "entropy_weight" => self.entropy_weight = num(name, value)?,
            "baseline_decay" => self.baseline_decay = num(name, value)?,
            "controller_steps" => self.controller_steps = num(name, value)?,
            "controller_aggregate" => self.controller_aggregate = num(name, value)?,
            "search_candidates" => self.search_candidates = num(name, value)?,
            "population" => self.population = num(name, value)?,
            "tournament" => self.tournament = num(name, value)?,
            "calibration_batches" => self.calibration_batches = num(name, value)?,
            "score_batches" => self.score_batches = num(name, value)?,
            "top_k" => self.top_k = num(name, value)?,
            other => {
                return Err(format!(
                    "`{}` has no option `{other}`; its options are arch_lr, arch_beta1, arch_weight_decay, lr_min, tau_max, tau_min, resource_beta, entropy_weight, baseline_decay, controller_steps, controller_aggregate, search_candidates, population, tournament, calibration_batches, score_batches, top_k",
                    self.strategy.name()
                ))
            }
        }
        Ok(())
    }
}
