//! Losses and scores of the supernet: the loss of one batch under a [`Mixing`], the figures of
//! a mixing over the validation split, the score of one architecture under the shared weights
//! (batch norm recalibrated first), and the recording of a scored architecture as a trial.

use super::error::OneShotError;
use super::settings::CommonSettings;
use crate::arch::{self, Architecture};
use crate::experiment::{Store, TrialId};
use crate::ir::Graph;
use crate::runtime::loader::{self, Batch, Inputs};
use crate::runtime::supernet::{Mixing, Supernet};
use crate::runtime::train::{loss_and_metric, Prepared, Task};
use crate::runtime::{Device, RuntimeError, Value};
use burn::module::Module;
use burn::tensor::Tensor;
use std::sync::Arc;

/// The supernet's input value of a batch's inputs.
fn value_of(inputs: Inputs) -> Value {
    match inputs {
        Inputs::Image(x) => Value::Map(x),
        Inputs::Flat(x) => Value::Flat(x),
    }
}

/// Loss `[1]` and the metric's sum over the batch of `net` under `mix`, with the batch's size.
///
/// Errors: the batch does not fit the supernet.
pub(super) fn batch_loss(
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

/// The value of `loss` `[1]`.
///
/// Errors: [`RuntimeError::Diverged`] at `epoch` and `step` when it is not finite.
pub(super) fn finite(loss: &Tensor<1>, epoch: usize, step: usize) -> Result<f64, RuntimeError> {
    let v = loss.clone().into_scalar::<f64>();
    if v.is_finite() {
        Ok(v)
    } else {
        Err(RuntimeError::Diverged { epoch, step, value: v })
    }
}

/// A batch moved to the inner (non-autodiff) device.
pub(super) fn to_inner(b: Batch) -> Batch {
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

/// Scores mixings and architectures of one search's supernet on its data, and records the
/// architectures as trials.
pub(super) struct Scorer<'a> {
    /// The space.
    pub g: &'a Graph,
    /// The settings (batch size, task, seed, calibration and score batches).
    pub settings: &'a CommonSettings,
    /// The autodiff device the supernet trains on.
    pub device: Device,
    /// The training and validation splits.
    pub data: &'a Prepared,
}

impl Scorer<'_> {
    /// Loss and metric of `net` under `mix` over the first `batches` batches of `ds`
    /// (in order), in inference mode: `(mean loss, metric)`, the metric accuracy in [0, 1]
    /// (classification) or MSE.
    ///
    /// Errors: a batch that does not fit, an empty data set.
    pub fn evaluate(
        &self,
        net: &Supernet,
        mix: &Mixing,
        ds: Arc<crate::data::Dataset>,
        batches: Option<usize>,
    ) -> Result<(f64, f64), RuntimeError> {
        let net = net.valid();
        let mix = mix.valid();
        let device = self.device.clone().inner();
        let loader = loader::data_loader(ds, self.settings.batch_size, None, None, &device);
        let (mut loss, mut metric, mut n) = (0.0, 0.0, 0usize);
        for batch in loader.iter().take(batches.unwrap_or(usize::MAX)) {
            let (l, m, k) = batch_loss(
                &net,
                batch.map_err(|e| RuntimeError::Data(e.to_string()))?,
                &mix,
                self.settings.task,
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
    /// does), then its validation metric on the first `score_batches` validation batches:
    /// `(mean loss, metric)`.
    ///
    /// Errors: a batch that does not fit, an empty validation split.
    pub fn score(&self, net: &Supernet, a: &Architecture) -> Result<(f64, f64), RuntimeError> {
        let mix = Mixing::hard(a);
        // No parameter requires a gradient, so the forward passes build no autodiff graph
        // (one that is never consumed by a backward pass would be kept), while batch norm still
        // sees a training device and updates its statistics.
        let mut calib = net.clone().no_grad().set_norm_statistics(1.0, true);
        let loader = loader::data_loader(
            self.data.train.clone(),
            self.settings.batch_size,
            Some(self.settings.seed ^ 0x5eed),
            None,
            &self.device,
        );
        for (t, batch) in loader.iter().take(self.settings.calibration_batches).enumerate() {
            calib = calib.set_norm_statistics(1.0 / (t as f64 + 1.0), false);
            let batch = batch.map_err(|e| RuntimeError::Data(e.to_string()))?;
            calib.forward(vec![value_of(batch.inputs)], &mix)?;
        }
        self.evaluate(&calib, &mix, self.data.val.clone(), Some(self.settings.score_batches))
    }

    /// Records `a`, scored `metric` in `seconds`, as a succeeded trial of `store`.
    ///
    /// Errors: the store failed.
    pub fn record(
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
