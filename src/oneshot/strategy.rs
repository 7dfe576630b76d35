//! The hooks a one-shot strategy gives the training loop ([`OneShotStrategy`]), what the loop
//! hands them ([`Space`], [`At`], [`ValBatches`]), the machinery several strategies share
//! (alpha with its optimizer, the counts of sampled candidates, the export from alpha), and
//! [`build`], the one place that turns a strategy's settings into its hooks.

use super::checkpoint::{
    load_module, load_optimizer, module_bytes, optimizer_bytes, StrategyState,
};
use super::darts::Darts;
use super::enas::Enas;
use super::error::OneShotError;
use super::export::export;
use super::mixing::{ArchParams, LabelShape};
use super::observer::OneShotObserver;
use super::proxyless::Proxyless;
use super::score::Scorer;
use super::settings::{AlphaOptimizer, CommonSettings, StrategySettings};
use super::spos::Spos;
use crate::arch::{Architecture, Choice};
use crate::experiment::{Store, TrialId};
use crate::ir::Graph;
use crate::lower::Plan;
use crate::runtime::loader::Batch;
use crate::runtime::supernet::{Mixing, Supernet};
use crate::runtime::{Device, RuntimeError};
use burn::data::dataloader::{DataLoader, DataLoaderIterator};
use burn::module::ParamId;
use burn::optim::decay::WeightDecayConfig;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::Tensor;
use std::time::Instant;

/// What a strategy knows of the search: the space, its lowering and labels, the common
/// settings and the (autodiff) device the supernet trains on.
pub(super) struct Space<'a> {
    /// The space.
    pub g: &'a Graph,
    /// Its lowering to the supernet.
    pub plan: &'a Plan,
    /// Its labels as the strategies see them.
    pub labels: &'a LabelShape,
    /// The settings every strategy shares.
    pub settings: &'a CommonSettings,
    /// The autodiff device.
    pub device: &'a Device,
}

/// Where the loop is: the epoch (from 1), the weight step within it (from 1) and the weights'
/// learning rate of that step.
#[derive(Debug, Clone, Copy)]
pub(super) struct At {
    /// The epoch, from 1.
    pub epoch: usize,
    /// The weight step in the epoch, from 1.
    pub step: usize,
    /// The weights' learning rate at this step.
    pub lr: f64,
}

/// The validation batches of one epoch, in the loader's order, starting over when they run
/// out.
pub(super) struct ValBatches<'a> {
    loader: &'a dyn DataLoader<Batch>,
    iter: Box<dyn DataLoaderIterator<Batch> + 'a>,
    orders: usize,
}

impl<'a> ValBatches<'a> {
    /// The batches of `loader` from its first.
    pub fn new(loader: &'a dyn DataLoader<Batch>) -> ValBatches<'a> {
        ValBatches { loader, iter: loader.iter(), orders: 1 }
    }

    /// How many passes over the loader were started (each draws a new order from the loader's
    /// generator; a resumed search draws them again).
    pub fn orders(&self) -> usize {
        self.orders
    }

    /// The next batch.
    ///
    /// Errors: the data set fails to give a batch, or is empty.
    pub fn next_batch(&mut self) -> Result<Batch, RuntimeError> {
        match self.iter.next() {
            Some(b) => b.map_err(|e| RuntimeError::Data(e.to_string())),
            None => {
                self.iter = self.loader.iter();
                self.orders += 1;
                self.iter
                    .next()
                    .ok_or_else(|| RuntimeError::Data("the validation split is empty".into()))?
                    .map_err(|e| RuntimeError::Data(e.to_string()))
            }
        }
    }
}

/// What the final choice works on: the space, the trained supernet, the scorer and the store
/// that records every architecture scored.
#[derive(Clone, Copy)]
pub(super) struct Trained<'a> {
    /// The space and its settings.
    pub space: &'a Space<'a>,
    /// The trained supernet.
    pub net: &'a Supernet,
    /// Scores one architecture on validation batches.
    pub scorer: &'a Scorer<'a>,
    /// The experiment's store.
    pub store: &'a Store,
}

/// The architecture a strategy exports, recorded as a trial.
#[derive(Debug, Clone)]
pub(super) struct Exported {
    /// The architecture.
    pub arch: Architecture,
    /// Whether it meets the space's constraints.
    pub feasible: bool,
    /// Its trial in the store.
    pub trial: TrialId,
    /// Its score under the shared weights ([`Scorer::score`]).
    pub metric: f64,
}

/// The hooks of one one-shot strategy, called by the training loop
/// ([`run`](fn@crate::oneshot::run)): every epoch
/// [`start_epoch`](OneShotStrategy::start_epoch), then per weight step
/// [`arch_step`](OneShotStrategy::arch_step) and
/// [`weight_mixing`](OneShotStrategy::weight_mixing), then
/// [`end_epoch`](OneShotStrategy::end_epoch), [`figures_mixing`](OneShotStrategy::figures_mixing)
/// and [`probabilities`](OneShotStrategy::probabilities); after the last epoch
/// [`export`](OneShotStrategy::export). The loop owns the supernet's weights, their optimizer
/// and learning-rate schedule, the data and the store; a strategy owns its architecture
/// parameters (or controller) and its random numbers, which it writes into the loop's
/// checkpoint at the end of every epoch ([`save_state`](OneShotStrategy::save_state)) and
/// reads back on resume ([`restore_state`](OneShotStrategy::restore_state)).
pub(super) trait OneShotStrategy {
    /// The strategy's state at the end of an epoch, for the checkpoint: everything that
    /// [`start_epoch`](OneShotStrategy::start_epoch) does not derive again (architecture
    /// parameters and their optimizer, the controller, the random generators, a baseline).
    ///
    /// Errors: a record that cannot be serialised.
    fn save_state(&self) -> Result<StrategyState, String>;

    /// Puts back the state [`save_state`](OneShotStrategy::save_state) gave, into a strategy just
    /// built for the same space and settings.
    ///
    /// Errors: a state that is missing a part or does not fit.
    fn restore_state(&mut self, state: &StrategyState) -> Result<(), String>;

    /// Before `epoch` (from 1) of `epochs`.
    fn start_epoch(&mut self, _space: &Space, _epoch: usize, _epochs: usize) {}

    /// Before the weight step `at` on the training batch `train`: the architecture step, on
    /// the next of `val`. Returns the architecture loss, or `None` for a strategy without such
    /// a step.
    ///
    /// Errors: a batch that does not fit, a diverged loss.
    fn arch_step(
        &mut self,
        _space: &Space,
        _net: &Supernet,
        _train: &Batch,
        _val: &mut ValBatches,
        _at: At,
    ) -> Result<Option<f64>, RuntimeError> {
        Ok(None)
    }

    /// The mixing the next weight step trains.
    ///
    /// Errors: a controller that fails to sample.
    fn weight_mixing(&mut self, space: &Space) -> Result<Mixing, RuntimeError>;

    /// After the epoch's weight steps, with the batches of `val` that are left (ENAS trains its
    /// controller). Returns the architecture losses of the steps it took.
    ///
    /// Errors: a batch that does not fit, a failed update.
    fn end_epoch(
        &mut self,
        _space: &Space,
        _net: &Supernet,
        _val: &mut ValBatches,
        _observer: &mut dyn OneShotObserver,
    ) -> Result<Vec<f64>, RuntimeError> {
        Ok(Vec::new())
    }

    /// The mixing of the epoch's validation figures: the strategy's current choice.
    fn figures_mixing(&mut self, space: &Space) -> Mixing;

    /// The probability of every candidate of every label recorded for the epoch,
    /// `[label][candidate]`.
    fn probabilities(&self) -> Vec<Vec<f64>>;

    /// The final choice over the trained supernet `net`, scored by `scorer` and recorded in
    /// `store` with every other architecture scored on the way.
    ///
    /// Errors: a batch that does not fit, a store failure, nothing to export.
    fn export(
        &mut self,
        trained: &Trained<'_>,
        observer: &mut dyn OneShotObserver,
    ) -> Result<Exported, OneShotError>;
}

/// The hooks of the strategy `settings` name, for `space`. Alpha (where the strategy has it) is
/// drawn from the seed; ENAS builds its controller.
///
/// Errors: a controller that cannot be built.
pub(super) fn build(
    settings: &StrategySettings,
    space: &Space,
) -> Result<Box<dyn OneShotStrategy>, RuntimeError> {
    Ok(match settings {
        StrategySettings::Darts(s) => Box::new(Darts::new(s, space)),
        StrategySettings::GumbelDarts(s) => Box::new(Darts::gumbel(s, space)),
        StrategySettings::Proxyless(s) => Box::new(Proxyless::new(s, space)),
        StrategySettings::Enas(s) => Box::new(Enas::new(s, space)?),
        StrategySettings::RandomOneshot(s) => Box::new(Spos::new(s, space)),
    })
}

/// The architecture parameters alpha with their Adam optimizer (DARTS, GumbelDARTS,
/// Proxyless).
pub(super) struct Alpha {
    /// Alpha.
    pub params: ArchParams,
    optim: ModuleOptimizer,
    lr: f64,
}

impl Alpha {
    /// Alpha for every label, `1e-3 * N(0, 1)` (DARTS' initialization) drawn from `rng`, and
    /// Adam as `settings` say (beta 2 0.999, epsilon 1e-8).
    pub fn new(
        labels: &LabelShape,
        settings: &AlphaOptimizer,
        rng: &mut impl rand::Rng,
        device: &Device,
    ) -> Alpha {
        let params = ArchParams::new(labels, 1e-3, rng, device);
        let optim: ModuleOptimizer = AdamConfig::new()
            .with_beta_1(settings.beta1)
            .with_beta_2(0.999)
            .with_epsilon(1e-8)
            .with_weight_decay(
                (settings.weight_decay > 0.0)
                    .then(|| WeightDecayConfig::new(settings.weight_decay as f32)),
            )
            .init();
        Alpha { params, optim, lr: settings.lr }
    }

    /// Writes alpha and its optimizer's state into `state` (parts `alpha`, `alpha_optimizer`).
    ///
    /// Errors: a record that cannot be serialised.
    pub fn save(&self, state: &mut StrategyState) -> Result<(), String> {
        state.parts.push(("alpha".into(), module_bytes(&self.params)?));
        state.parts.push(("alpha_optimizer".into(), optimizer_bytes(&self.optim)?));
        Ok(())
    }

    /// Reads alpha and its optimizer's state back from `state`.
    ///
    /// Errors: a missing part, or alpha of another shape.
    pub fn restore(&mut self, state: &StrategyState) -> Result<(), String> {
        let params = load_module(self.params.clone(), state.part("alpha")?)?;
        let optim = load_optimizer(self.optim.clone(), state.part("alpha_optimizer")?)?;
        (self.params, self.optim) = (params, optim);
        Ok(())
    }

    /// The ids of alpha's parameters.
    pub fn ids(params: &ArchParams) -> Vec<ParamId> {
        params.alpha.iter().map(|p| p.id).collect()
    }

    /// One Adam step on the gradient of alpha `grads`.
    pub fn apply(&mut self, grads: GradientsParams) {
        let params = std::mem::replace(&mut self.params, ArchParams { alpha: Vec::new() });
        self.params = self.optim.step(self.lr, params, grads);
    }

    /// One Adam step down the gradient of `loss` `[1]` with respect to alpha.
    pub fn descend(&mut self, loss: Tensor<1>) {
        let mut grads = loss.backward();
        let grads =
            GradientsParams::from_params(&mut grads, &self.params, &Alpha::ids(&self.params));
        self.apply(grads);
    }

    /// DARTS' and Proxyless' export ([`export`]) from the softmax of alpha, scored and
    /// recorded.
    ///
    /// Errors: a batch that does not fit, a store failure.
    pub fn export(&self, trained: &Trained<'_>) -> Result<Exported, OneShotError> {
        let Trained { space, net, scorer, store } = *trained;
        let t0 = Instant::now();
        let (arch, feasible) = export(
            space.g,
            space.labels,
            &space.plan.zero_alternative,
            &self.params.probabilities(),
            space.settings.seed,
        );
        let metric = scorer.score(net, &arch)?.1;
        let trial = scorer.record(store, &arch, metric, t0.elapsed().as_secs_f64())?;
        Ok(Exported { arch, feasible, trial, metric })
    }
}

/// Counts of each candidate of each label over sampled architectures (ENAS, SPOS: the
/// probabilities they record).
pub(super) struct Frequencies(Vec<Vec<f64>>, usize);

impl Frequencies {
    /// No samples yet.
    pub fn new(labels: &LabelShape) -> Frequencies {
        Frequencies(labels.sizes.iter().map(|n| vec![0.0; *n]).collect(), 0)
    }

    /// Counts the candidates of `a`.
    pub fn add(&mut self, a: &Architecture) {
        for (l, c) in a.choices.iter().enumerate() {
            match c {
                Choice::Index(i) => self.0[l][*i] += 1.0,
                Choice::Subset(s) => s.iter().for_each(|i| self.0[l][*i] += 1.0),
            }
        }
        self.1 += 1;
    }

    /// Fractions of samples (for input choices, the fraction that picked each candidate).
    pub fn fractions(&self) -> Vec<Vec<f64>> {
        self.0.iter().map(|v| v.iter().map(|c| c / self.1.max(1) as f64).collect()).collect()
    }
}
