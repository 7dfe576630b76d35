//! ProxylessNAS: binary gates on one sampled path, and an optional resource loss.
//!
//! ProxylessNAS (Cai, Zhu & Han, "ProxylessNAS: Direct Neural Architecture Search on Target
//! Task and Hardware", ICLR 2019) keeps one path active at a time to bound memory (section
//! 3.2): the weight step trains one path drawn from `softmax(alpha)`, and the architecture step
//! draws two candidates per choice, runs the one chosen by their renormalised probabilities,
//! and updates alpha with the straight-through gradient of the binary gates (section 3.2.1; see
//! [`proxyless_gates`]). A differentiable resource loss (section 3.3) makes the expected cost
//! `E` part of the objective; this uses the paper's multiplicative form,
//! `ce * (log(E) / log(target))^beta`, with the expected FLOPs or parameters of the IR's cost
//! model to first order around the current most probable architecture.

use super::checkpoint::{RngState, StrategyState};
use super::error::OneShotError;
use super::export::export;
use super::mixing::{proxyless_gates, sample_architecture};
use super::observer::OneShotObserver;
use super::score::{batch_loss, finite};
use super::settings::ProxylessSettings;
use super::strategy::{Alpha, At, Exported, OneShotStrategy, Space, Trained, ValBatches};
use crate::arch::{self, Architecture, Choice};
use crate::ir::{Graph, Measure};
use crate::runtime::loader::Batch;
use crate::runtime::supernet::{Mixing, Supernet};
use crate::runtime::RuntimeError;
use burn::module::Module;
use burn::tensor::Tensor;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// The resource model of one epoch: the cost of the centre architecture and, per label, the
/// cost differences of its candidates (see [`cost_deltas`]), with the target.
struct Resource {
    base: f64,
    deltas: Vec<Vec<f64>>,
    target: f64,
}

/// ProxylessNAS: alpha with its optimizer, the resource target and the epoch's resource model.
pub(super) struct Proxyless {
    alpha: Alpha,
    settings: ProxylessSettings,
    resource: Option<Resource>,
    /// The sampled paths and gates (alpha is drawn from it first).
    rng: ChaCha8Rng,
}

impl Proxyless {
    /// ProxylessNAS for `space` as `settings` say.
    pub fn new(settings: &ProxylessSettings, space: &Space) -> Proxyless {
        let mut rng = ChaCha8Rng::seed_from_u64(space.settings.seed);
        let alpha = Alpha::new(space.labels, &settings.alpha, &mut rng, space.device);
        Proxyless { alpha, settings: *settings, resource: None, rng }
    }
}

impl OneShotStrategy for Proxyless {
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

    /// The resource model around the current most probable architecture.
    fn start_epoch(&mut self, space: &Space, _epoch: usize, _epochs: usize) {
        self.resource = self.settings.target.map(|(measure, target)| {
            let (center, _) = export(
                space.g,
                space.labels,
                &space.plan.zero_alternative,
                &self.alpha.params.probabilities(),
                space.settings.seed,
            );
            let (base, deltas) = cost_deltas(space.g, &center, measure);
            Resource { base, deltas, target }
        });
    }

    fn arch_step(
        &mut self,
        space: &Space,
        net: &Supernet,
        _train: &Batch,
        val: &mut ValBatches,
        at: At,
    ) -> Result<Option<f64>, RuntimeError> {
        let device = space.device;
        let v = val.next_batch()?;
        let frozen = net.clone().no_grad();
        let mix = proxyless_gates(&self.alpha.params, space.labels, &mut self.rng).0;
        let (mut loss, _, _) = batch_loss(&frozen, v, &mix, space.settings.task, device)?;
        if let Some(Resource { base, deltas, target }) = &self.resource {
            // Expected cost, first order around the current most probable architecture
            // (differentiable in alpha).
            let mut expected = Tensor::<1>::from_floats([*base as f32], device);
            for (l, d) in deltas.iter().enumerate() {
                if d.is_empty() || d.iter().all(|x| *x == 0.0) {
                    continue;
                }
                let p = burn::tensor::activation::softmax(self.alpha.params.alpha[l].val(), 0);
                let dt = Tensor::<1>::from_floats(
                    d.iter().map(|x| *x as f32).collect::<Vec<_>>().as_slice(),
                    device,
                );
                expected = expected + (p * dt).sum();
            }
            let ratio = expected
                .clamp_min(2.0)
                .log()
                .div_scalar(target.ln())
                .powf_scalar(self.settings.resource_beta);
            loss = loss * ratio;
        }
        let value = finite(&loss, at.epoch, at.step)?;
        self.alpha.descend(loss);
        Ok(Some(value))
    }

    /// One path drawn from the softmax of alpha.
    fn weight_mixing(&mut self, space: &Space) -> Result<Mixing, RuntimeError> {
        let a =
            sample_architecture(&self.alpha.params.probabilities(), space.labels, &mut self.rng);
        Ok(Mixing::hard(&a))
    }

    /// The architecture exported now.
    fn figures_mixing(&mut self, space: &Space) -> Mixing {
        Mixing::hard(
            &export(
                space.g,
                space.labels,
                &space.plan.zero_alternative,
                &self.alpha.params.probabilities(),
                space.settings.seed,
            )
            .0,
        )
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
