//! The one-shot training loop shared by the five strategies (see the module documentation of
//! [`crate::oneshot`]): batches per epoch, the weights' optimizer and cosine schedule, the
//! strategy's hooks ([`OneShotStrategy`](super::strategy::OneShotStrategy)), every epoch
//! recorded in the store and reported to the observer.

use super::checkpoint::{self, Checkpointing, Identity, Position};
use super::error::OneShotError;
use super::export::probabilities;
use super::mixing::LabelShape;
use super::observer::OneShotObserver;
use super::score::{batch_loss, finite, Scorer};
use super::settings::OneShotConfig;
use super::strategy::{self, At, Space, Trained, ValBatches};
use crate::arch::Architecture;
use crate::experiment::{Store, SupernetEpoch, TrialId};
use crate::ir::Graph;
use crate::lower::Plan;
use crate::runtime::loader;
use crate::runtime::supernet::Supernet;
use crate::runtime::train::{tune_allocator, Prepared};
use crate::runtime::{Device, RuntimeError};
use burn::optim::decay::WeightDecayConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{GradientsParams, ModuleOptimizer, SgdConfig};
use std::time::Instant;

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

/// Checks that the data's items have the shape of the space's input.
///
/// Errors: [`RuntimeError::DataShape`] at the input.
fn check_input(g: &Graph, plan: &Plan, data: &Prepared) -> Result<(), RuntimeError> {
    let input_dims =
        g.inputs.first().map(|i| plan.nodes[i.index()].dims.clone()).unwrap_or_default();
    if input_dims == data.train.item_shape {
        return Ok(());
    }
    let show = |d: &[usize]| {
        format!("[{}]", d.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(", "))
    };
    let loc = g.inputs.first().map(|i| g.nodes.loc(*i)).unwrap_or_else(|| g.nodes.loc(g.output));
    Err(RuntimeError::DataShape {
        loc,
        expected: show(&input_dims),
        found: show(&data.train.item_shape),
    })
}

/// Runs a one-shot search of `g` (lowered to `plan`) on `data` (prepared with a validation
/// half), recording every epoch and the exported architectures in `store`, without
/// checkpoints ([`run_checkpointed`] writes them).
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
    run_checkpointed(store, g, plan, data, cfg, device, observer, None)
}

/// The seed of the device's generator (dropout masks) in `epoch`: the search's seed in the
/// first epoch, one derived from it and the epoch after, so that a resumed search draws the
/// masks an uninterrupted one draws.
fn epoch_seed(seed: u64, epoch: usize) -> u64 {
    if epoch <= 1 {
        seed
    } else {
        seed ^ (epoch as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)
    }
}

/// [`run`], writing a checkpoint at the end of every epoch as `checkpointing` says (none:
/// no checkpoint), and, when it says `resume`, continuing from the checkpoint it finds: the
/// supernet's weights and their optimizer, the strategy's state
/// ([`OneShotStrategy::save_state`](super::strategy::OneShotStrategy::save_state)), the
/// learning-rate schedule's position and the data's order are those the uninterrupted search
/// had after that epoch, so it ends with the same result. The epochs already in the store stay;
/// the trials an interrupted export recorded are dropped, and the export runs again. Without a
/// checkpoint (killed during the first epoch) the search starts over.
///
/// Errors: those of [`run`]; a checkpoint that cannot be written, or that cannot be read or
/// belongs to another space, settings or nasc version ([`RuntimeError::Record`], naming the
/// file).
#[allow(clippy::too_many_arguments)]
pub fn run_checkpointed(
    store: &Store,
    g: &Graph,
    plan: &Plan,
    data: &Prepared,
    cfg: &OneShotConfig,
    device: &Device,
    observer: &mut dyn OneShotObserver,
    checkpointing: Option<&Checkpointing>,
) -> Result<OneShotSummary, OneShotError> {
    cfg.check()?;
    let c = &cfg.common;
    if data.val.is_empty() {
        return Err(RuntimeError::Data(
            "one-shot search needs a validation split: the architecture is chosen on it".into(),
        )
        .into());
    }
    tune_allocator();
    let device = device.clone().autodiff();
    device.seed(c.seed);
    let labels = LabelShape::new(g, plan);
    let scorer = Scorer { g, settings: c, device: device.clone(), data };
    check_input(g, plan, data)?;
    let mut net = Supernet::build(g, plan, &device, c.seed)?;
    let space = Space { g, plan, labels: &labels, settings: c, device: &device };
    let mut strategy = strategy::build(&cfg.strategy, &space)?;
    let mut w_optim: ModuleOptimizer = SgdConfig::new()
        .with_momentum((c.momentum > 0.0).then_some(MomentumConfig {
            momentum: c.momentum,
            dampening: 0.0,
            nesterov: false,
        }))
        .with_weight_decay(
            (c.weight_decay > 0.0).then(|| WeightDecayConfig::new(c.weight_decay as f32)),
        )
        .with_gradient_clipping(c.grad_clip.map(burn::grad_clipping::GradientClippingConfig::Norm))
        .init();
    let train_loader =
        loader::data_loader(data.train.clone(), c.batch_size, Some(c.seed), None, &device);
    let val_loader = loader::data_loader(
        data.val.clone(),
        c.batch_size,
        Some(c.seed.wrapping_add(1)),
        None,
        &device,
    );
    let per_epoch = data.train.len().div_ceil(c.batch_size).min(c.max_steps.unwrap_or(usize::MAX));
    let total = per_epoch * c.epochs;
    observer.start(c.epochs, per_epoch);
    // The weights' learning rate at step `t`: cosine from `lr` to `lr_min` over the search.
    let lr_at = |t: usize| {
        c.lr_min
            + 0.5
                * (c.lr - c.lr_min)
                * (1.0 + (std::f64::consts::PI * t as f64 / total.max(1) as f64).cos())
    };
    // `--max-steps` bounds the epoch's validation pass as it bounds its training.
    let eval_batches = match (c.eval_batches, c.max_steps) {
        (Some(e), Some(m)) => Some(e.min(m)),
        (e, m) => e.or(m),
    };
    let mut epochs = Vec::new();
    let mut t = 0usize;
    let (mut train_orders, mut val_orders, mut first) = (0usize, 0usize, 1usize);
    let identity = match checkpointing {
        Some(ck) => Some(Identity {
            nasc: env!("CARGO_PKG_VERSION").to_string(),
            space_hash: ck.space_hash.clone(),
            config: serde_json::to_value(cfg)
                .map_err(|e| RuntimeError::Config(format!("the settings do not serialise: {e}")))?,
        }),
        None => None,
    };
    if let (Some(ck), Some(id)) = (checkpointing.filter(|ck| ck.resume), &identity) {
        if let Some(cp) = checkpoint::read(&ck.path, id)? {
            let bad = |m: String| RuntimeError::Record {
                path: ck.path.display().to_string(),
                message: format!("the checkpoint does not fit this search: {m}"),
            };
            let p = cp.position;
            if p.epoch == 0 || p.epoch > c.epochs || p.train_orders != p.epoch {
                return Err(
                    bad(format!("it was written after epoch {} of {}", p.epoch, c.epochs)).into()
                );
            }
            net = checkpoint::load_module(net, cp.part("supernet").map_err(bad)?).map_err(bad)?;
            w_optim =
                checkpoint::load_optimizer(w_optim, cp.part("weights_optimizer").map_err(bad)?)
                    .map_err(bad)?;
            strategy.restore_state(&cp.strategy).map_err(bad)?;
            // The data's order: each new pass over a split draws the next order from the loader's
            // generator, so the passes already made are drawn again (cheap: no batch is loaded).
            for _ in 0..p.train_orders {
                drop(train_loader.iter());
            }
            for _ in 0..p.val_orders {
                drop(val_loader.iter());
            }
            (t, train_orders, val_orders, first) =
                (p.step, p.train_orders, p.val_orders, p.epoch + 1);
            store.discard_trials_after(p.last_trial.map(TrialId))?;
            epochs = store.supernet_epochs()?;
            epochs.retain(|e| (e.epoch as usize) <= p.epoch);
            observer.phase(&format!(
                "resuming after epoch {} of {} (checkpoint {})",
                p.epoch,
                c.epochs,
                ck.path.display()
            ));
        }
    }
    for epoch in first..=c.epochs {
        let epoch_start = Instant::now();
        device.seed(epoch_seed(c.seed, epoch));
        let mut val = ValBatches::new(&*val_loader);
        train_orders += 1;
        strategy.start_epoch(&space, epoch, c.epochs);
        let (mut loss_sum, mut arch_loss_sum, mut arch_steps, mut steps) =
            (0.0, 0.0, 0usize, 0usize);
        let mut lr = c.lr;
        for (step, batch) in train_loader.iter().take(per_epoch).enumerate() {
            let batch = batch.map_err(|e| RuntimeError::Data(e.to_string()))?;
            lr = lr_at(t);
            let at = At { epoch, step: step + 1, lr };
            // The architecture step, on a validation batch.
            if let Some(l) = strategy.arch_step(&space, &net, &batch, &mut val, at)? {
                arch_loss_sum += l;
                arch_steps += 1;
            }
            // The weight step, on the training batch.
            let mix = strategy.weight_mixing(&space)?;
            let (loss, _, _) = batch_loss(&net, batch, &mix, c.task, &device)?;
            let value = finite(&loss, epoch, step + 1)?;
            // A path of weightless candidates only has no weight to train on this step.
            if loss.is_tracked() {
                let grads = GradientsParams::from_grads(loss.backward(), &net);
                net = w_optim.step(lr, net, grads);
            }
            loss_sum += value;
            steps += 1;
            t += 1;
            observer.step(epoch, step + 1, value);
        }
        for l in strategy.end_epoch(&space, &net, &mut val, observer)? {
            arch_loss_sum += l;
            arch_steps += 1;
        }
        val_orders += val.orders();
        // The epoch's validation figures under the current choice.
        let current = strategy.figures_mixing(&space);
        let (val_loss, val_metric) =
            scorer.evaluate(&net, &current, data.val.clone(), eval_batches)?;
        let e = SupernetEpoch {
            epoch: epoch as u32,
            train_loss: loss_sum / steps.max(1) as f64,
            val_loss: Some(val_loss),
            val_metric: Some(val_metric),
            arch_loss: (arch_steps > 0).then(|| arch_loss_sum / arch_steps as f64),
            lr,
            seconds: epoch_start.elapsed().as_secs_f64(),
        };
        store.supernet_epoch(&e, &probabilities(g, &strategy.probabilities()))?;
        if let (Some(ck), Some(id)) = (checkpointing, &identity) {
            let position = Position {
                epoch,
                step: t,
                train_orders,
                val_orders,
                last_trial: store.trials()?.last().map(|r| r.id.0),
            };
            let record = |m: String| RuntimeError::Record {
                path: ck.path.display().to_string(),
                message: format!("cannot record the checkpoint: {m}"),
            };
            let parts = vec![
                ("supernet".to_string(), checkpoint::module_bytes(&net).map_err(record)?),
                (
                    "weights_optimizer".to_string(),
                    checkpoint::optimizer_bytes(&w_optim).map_err(record)?,
                ),
            ];
            let state = strategy.save_state().map_err(record)?;
            checkpoint::write(&ck.path, id, &position, &parts, &state)?;
            // The search goes on from the state it just wrote, read back: tensors built from a
            // record do not always compute to the last bit as the ones they were taken from
            // (the backend may evaluate the latter lazily, fused with later operations), so an
            // uninterrupted search and one resumed from this checkpoint take the same steps.
            let reread = |m: String| RuntimeError::Record {
                path: ck.path.display().to_string(),
                message: format!("cannot read back the checkpoint: {m}"),
            };
            net = checkpoint::load_module(net, &parts[0].1).map_err(reread)?;
            w_optim = checkpoint::load_optimizer(w_optim, &parts[1].1).map_err(reread)?;
            strategy.restore_state(&state).map_err(reread)?;
        }
        observer.epoch(&e);
        epochs.push(e);
    }
    // The final choice.
    let trained = Trained { space: &space, net: &net, scorer: &scorer, store };
    let exported = strategy.export(&trained, observer)?;
    Ok(OneShotSummary {
        arch: exported.arch,
        trial: exported.trial,
        metric: exported.metric,
        feasible: exported.feasible,
        epochs,
    })
}
