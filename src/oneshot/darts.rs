//! DARTS and GumbelDARTS: a continuous relaxation of the choice, trained by gradient descent on
//! the architecture parameters alpha.
//!
//! DARTS (Liu, Simonyan & Yang, "DARTS: Differentiable Architecture Search", ICLR 2019)
//! relaxes each choice to a softmax over its candidates, `o(x) = sum_i softmax(alpha)_i o_i(x)`
//! (section 2.2, eq. 2), and alternates an architecture step, gradient descent on alpha of the
//! validation loss, with a weight step, gradient descent on the weights of the training loss
//! (Algorithm 1). The first-order approximation takes the validation gradient at the current
//! weights; the second-order step takes it at the weights after one virtual SGD step (eq. 7),
//! with the Hessian-vector product by finite differences (eq. 8). The exported architecture
//! keeps each label's most probable candidate (section 2.4).
//!
//! GumbelDARTS (SNAS, Xie et al., ICLR 2019; GDAS, Dong & Yang, CVPR 2019) replaces the softmax
//! by a Gumbel-softmax, `softmax((alpha + g) / tau)` with `g` standard Gumbel noise, a relaxed
//! sample of one candidate whose temperature `tau` is annealed (here linearly over the epochs,
//! from `tau_max` to `tau_min`).

use super::checkpoint::{RngState, StrategyState};
use super::error::OneShotError;
use super::mixing::{gumbel_mixing, softmax_mixing, ArchParams, LabelShape};
use super::observer::OneShotObserver;
use super::score::{batch_loss, finite};
use super::settings::{DartsSettings, GumbelDartsSettings};
use super::strategy::{Alpha, At, Exported, OneShotStrategy, Space, Trained, ValBatches};
use crate::runtime::loader::Batch;
use crate::runtime::supernet::{Mixing, Supernet};
use crate::runtime::train::Task;
use crate::runtime::{Device, RuntimeError};
use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::{GradientsParams, ModuleOptimizer, SgdConfig};
use burn::tensor::Tensor;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// How the choice is relaxed.
enum Relaxation {
    /// DARTS' softmax; `unrolled`: the second-order architecture step.
    Softmax {
        /// The second-order step.
        unrolled: bool,
    },
    /// GumbelDARTS' Gumbel-softmax at the temperature of the current epoch.
    Gumbel {
        /// The temperature schedule.
        settings: GumbelDartsSettings,
        /// The current epoch's temperature.
        tau: f64,
    },
}

/// DARTS or GumbelDARTS: alpha with its optimizer and the relaxation.
pub(super) struct Darts {
    alpha: Alpha,
    relaxation: Relaxation,
    /// The Gumbel noise (alpha is drawn from it first).
    rng: ChaCha8Rng,
}

impl Darts {
    /// DARTS for `space` as `settings` say.
    pub fn new(settings: &DartsSettings, space: &Space) -> Darts {
        let mut rng = ChaCha8Rng::seed_from_u64(space.settings.seed);
        let alpha = Alpha::new(space.labels, &settings.alpha, &mut rng, space.device);
        Darts { alpha, relaxation: Relaxation::Softmax { unrolled: settings.unrolled }, rng }
    }

    /// GumbelDARTS for `space` as `settings` say.
    pub fn gumbel(settings: &GumbelDartsSettings, space: &Space) -> Darts {
        let mut rng = ChaCha8Rng::seed_from_u64(space.settings.seed);
        let alpha = Alpha::new(space.labels, &settings.alpha, &mut rng, space.device);
        let relaxation = Relaxation::Gumbel { settings: *settings, tau: settings.tau_max };
        Darts { alpha, relaxation, rng }
    }

    /// The relaxed choice (`tracked`: its weights carry the gradient to alpha).
    fn mixing(&mut self, labels: &LabelShape, tracked: bool) -> Mixing {
        match self.relaxation {
            Relaxation::Softmax { .. } => softmax_mixing(&self.alpha.params, labels, tracked),
            Relaxation::Gumbel { tau, .. } => {
                gumbel_mixing(&self.alpha.params, labels, tau, tracked, &mut self.rng)
            }
        }
    }
}

impl OneShotStrategy for Darts {
    fn save_state(&self) -> Result<StrategyState, String> {
        let mut state = StrategyState {
            json: serde_json::json!({ "rng": RngState::of(&self.rng) }),
            parts: Vec::new(),
        };
        self.alpha.save(&mut state)?;
        Ok(state)
    }

    fn restore_state(&mut self, state: &StrategyState) -> Result<(), String> {
        self.alpha.restore(state)?;
        self.rng = state.get::<RngState>("rng")?.rng()?;
        Ok(())
    }

    fn start_epoch(&mut self, _space: &Space, epoch: usize, epochs: usize) {
        if let Relaxation::Gumbel { settings, tau } = &mut self.relaxation {
            *tau = settings.tau(epoch, epochs);
        }
    }

    fn arch_step(
        &mut self,
        space: &Space,
        net: &Supernet,
        train: &Batch,
        val: &mut ValBatches,
        at: At,
    ) -> Result<Option<f64>, RuntimeError> {
        let task = space.settings.task;
        if let Relaxation::Softmax { unrolled: true } = self.relaxation {
            let v = val.next_batch()?;
            let (loss, grads) = unrolled_step(
                net,
                &self.alpha.params,
                space.labels,
                train.clone(),
                v,
                at.lr,
                task,
                space.device,
            )?;
            let value = finite(&loss, at.epoch, at.step)?;
            self.alpha.apply(grads);
            return Ok(Some(value));
        }
        let v = val.next_batch()?;
        let frozen = net.clone().no_grad();
        let mix = self.mixing(space.labels, true);
        let (loss, _, _) = batch_loss(&frozen, v, &mix, task, space.device)?;
        let value = finite(&loss, at.epoch, at.step)?;
        self.alpha.descend(loss);
        Ok(Some(value))
    }

    fn weight_mixing(&mut self, space: &Space) -> Result<Mixing, RuntimeError> {
        Ok(self.mixing(space.labels, false))
    }

    fn figures_mixing(&mut self, space: &Space) -> Mixing {
        softmax_mixing(&self.alpha.params, space.labels, false)
    }

    fn probabilities(&self) -> Vec<Vec<f64>> {
        self.alpha.params.probabilities()
    }

    fn export(
        &mut self,
        trained: &Trained<'_>,
        _observer: &mut dyn OneShotObserver,
    ) -> Result<Exported, OneShotError> {
        self.alpha.export(trained)
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

/// DARTS' second-order architecture gradient (Liu et al. 2019, eqs. 7 and 8): with
/// `w' = w - xi * grad_w L_train(w, alpha)`,
/// `grad_alpha L_val(w', alpha) - xi * (grad_alpha L_train(w+, alpha) - grad_alpha L_train(w-, alpha)) / (2 eps)`,
/// `w+- = w +- eps * grad_w' L_val(w', alpha)`, `eps = 0.01 / ||grad_w' L_val||`. The virtual
/// step is plain SGD (the reference code also applies momentum and weight decay to it).
/// Returns the validation loss `[1]` at `w'` and the gradient of alpha.
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
    let d_alpha = GradientsParams::from_params(&mut grads, arch, &Alpha::ids(arch));
    let d_w = GradientsParams::from_module(&mut grads, &unrolled);
    let eps = 0.01 / grad_norm(&d_w, &unrolled).max(1e-12);
    let alpha_grad = |w: Supernet| -> Result<GradientsParams, RuntimeError> {
        let (l, _, _) =
            batch_loss(&w, train.clone(), &softmax_mixing(arch, labels, true), task, device)?;
        let mut g = l.backward();
        Ok(GradientsParams::from_params(&mut g, arch, &Alpha::ids(arch)))
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
