//! Architecture parameters and the [`Mixing`]s each strategy builds from them.

use crate::arch::{Architecture, Choice};
use crate::ir::{Domain, Graph, NodeKind, Reduce};
use crate::lower::Plan;
use crate::runtime::supernet::{LabelWeights, Mixing};
use burn::module::{Module, Param};
use burn::tensor::activation::softmax;
use burn::tensor::{Device, Tensor, TensorData};
use rand::Rng;

/// The architecture parameters alpha: one vector per label, one entry per candidate (domain
/// value, alternative, depth, or input candidate).
#[derive(Module, Debug)]
pub struct ArchParams {
    /// `alpha[label]`, `[candidates]`.
    pub alpha: Vec<Param<Tensor<1>>>,
}

/// What the strategies need to know about each label.
#[derive(Debug, Clone)]
pub struct LabelShape {
    /// Candidates per label.
    pub sizes: Vec<usize>,
    /// For input choices: `(k, reduce)`.
    pub inputs: Vec<Option<(usize, Reduce)>>,
    /// Input choices over cell edges (see [`Plan::edge_ranked`]).
    pub edge_ranked: Vec<bool>,
}

impl LabelShape {
    /// The labels of `g` as lowered in `plan`.
    pub fn new(g: &Graph, plan: &Plan) -> LabelShape {
        let sizes = g
            .labels
            .labels
            .iter()
            .map(|l| match &l.domain {
                Domain::Values { values } => values.len(),
                Domain::Alternatives { names } => names.len(),
                Domain::Inputs { n, .. } => *n,
            })
            .collect();
        let mut inputs = vec![None; g.labels.len()];
        for (_, node) in g.nodes.iter() {
            if let NodeKind::InputChoice { label, k, reduce, .. } = &node.kind {
                inputs[label.0 as usize] = Some((*k, *reduce));
            }
        }
        LabelShape { sizes, inputs, edge_ranked: plan.edge_ranked.clone() }
    }
}

impl ArchParams {
    /// Alpha for every label, `scale * N(0, 1)` (DARTS: `1e-3`), drawn from `rng`.
    pub fn new(labels: &LabelShape, scale: f64, rng: &mut impl Rng, device: &Device) -> ArchParams {
        let alpha = initial_alpha(labels, scale, rng)
            .into_iter()
            .map(|values| {
                let n = values.len();
                Param::from_tensor(Tensor::from_data(TensorData::new(values, [n]), device))
            })
            .collect();
        ArchParams { alpha }
    }

    /// The softmax of each label's alpha, as plain numbers.
    pub fn probabilities(&self) -> Vec<Vec<f64>> {
        self.alpha
            .iter()
            .map(|a| {
                let v: Vec<f32> = softmax(a.val().detach(), 0)
                    .into_data()
                    .convert::<f32>()
                    .try_into_vec::<f32>()
                    .unwrap_or_default();
                v.into_iter().map(f64::from).collect()
            })
            .collect()
    }
}

/// The values [`ArchParams::new`] starts alpha at: per label, per candidate, `scale * N(0, 1)`
/// drawn from `rng` in that order.
pub fn initial_alpha(labels: &LabelShape, scale: f64, rng: &mut impl Rng) -> Vec<Vec<f32>> {
    let normal = rand_distr::Normal::new(0.0f32, 1.0).expect("a unit normal");
    labels
        .sizes
        .iter()
        .map(|&n| {
            (0..n).map(|_| rand_distr::Distribution::sample(&normal, rng) * scale as f32).collect()
        })
        .collect()
}

/// Every candidate active, each label weighted by `weigh(alpha)` (`tracked`: the weights
/// carry the gradient to alpha); input choices over cell edges sum every edge with weight 1, as
/// the DARTS cell sums its incoming edges.
fn every_candidate(
    params: &ArchParams,
    labels: &LabelShape,
    tracked: bool,
    mut weigh: impl FnMut(Tensor<1>) -> Tensor<1>,
) -> Mixing {
    let mix = params
        .alpha
        .iter()
        .enumerate()
        .map(|(l, a)| {
            let n = labels.sizes[l];
            let a = if tracked { a.val() } else { a.val().detach() };
            let weights =
                if labels.edge_ranked[l] { Tensor::ones([n], &a.device()) } else { weigh(a) };
            LabelWeights::Soft { weights, active: vec![true; n] }
        })
        .collect();
    Mixing { labels: mix }
}

/// DARTS: `softmax(alpha)` per label, every candidate active (`tracked`: the weights carry
/// the gradient to alpha). Input choices over cell edges sum every edge with weight 1, as the
/// DARTS cell sums its incoming edges.
pub fn softmax_mixing(params: &ArchParams, labels: &LabelShape, tracked: bool) -> Mixing {
    every_candidate(params, labels, tracked, |a| softmax(a, 0))
}

/// GumbelDARTS: `softmax((alpha + g) / tau)` with `g` standard Gumbel noise drawn from `rng`.
pub fn gumbel_mixing(
    params: &ArchParams,
    labels: &LabelShape,
    tau: f64,
    tracked: bool,
    rng: &mut impl Rng,
) -> Mixing {
    every_candidate(params, labels, tracked, |a| {
        let n = a.dims()[0];
        let g: Vec<f32> = (0..n)
            .map(|_| {
                let u: f64 = rng.random_range(1e-10..1.0);
                -(-u.ln()).ln() as f32
            })
            .collect();
        let noise = Tensor::from_data(TensorData::new(g, [n]), &a.device());
        softmax((a + noise).div_scalar(tau), 0)
    })
}

/// Draws `k` distinct indices with probabilities proportional to `p` (successive draws
/// without replacement), sorted.
pub fn draw_without_replacement(p: &[f64], k: usize, rng: &mut impl Rng) -> Vec<usize> {
    let mut left: Vec<(usize, f64)> = p.iter().copied().enumerate().collect();
    let mut out = Vec::with_capacity(k);
    for _ in 0..k.min(p.len()) {
        let total: f64 = left.iter().map(|(_, w)| w.max(0.0)).sum();
        let pick = if total > 0.0 && total.is_finite() {
            let mut r = rng.random_range(0.0..total);
            let mut at = left.len() - 1;
            for (i, (_, w)) in left.iter().enumerate() {
                if r < w.max(0.0) {
                    at = i;
                    break;
                }
                r -= w.max(0.0);
            }
            at
        } else {
            rng.random_range(0..left.len())
        };
        out.push(left.remove(pick).0);
    }
    out.sort();
    out
}

/// An architecture drawn from the softmax of alpha (each label independently; input choices
/// draw `k` candidates without replacement).
pub fn sample_architecture(
    probs: &[Vec<f64>],
    labels: &LabelShape,
    rng: &mut impl Rng,
) -> Architecture {
    let choices = probs
        .iter()
        .enumerate()
        .map(|(l, p)| match labels.inputs[l] {
            Some((k, _)) => Choice::Subset(draw_without_replacement(p, k, rng)),
            None => Choice::Index(draw_without_replacement(p, 1, rng)[0]),
        })
        .collect();
    Architecture { choices }
}

/// Proxyless's architecture step (Cai et al. 2019, section 3.2.1): per label, two candidates
/// drawn from `softmax(alpha)`, one of them chosen with the two's renormalised probabilities
/// `p'`; the gate of candidate `j` is `1[j chosen] + p'_j - stopgrad(p'_j)`, so the forward pass
/// runs the chosen path and the gradient of alpha is the paper's
/// `sum_i dL/dg_i * p'_i (delta_ij - p'_j)` over the two. Input choices draw their `k`
/// candidates from all `n` and gate every candidate with `softmax(alpha)`.
pub fn proxyless_gates(
    params: &ArchParams,
    labels: &LabelShape,
    rng: &mut impl Rng,
) -> (Mixing, Architecture) {
    let probs = params.probabilities();
    let mut weights = Vec::with_capacity(params.alpha.len());
    let mut choices = Vec::with_capacity(params.alpha.len());
    for (l, a) in params.alpha.iter().enumerate() {
        let n = labels.sizes[l];
        let a = a.val();
        let device = a.device();
        match labels.inputs[l] {
            Some((k, reduce)) => {
                let chosen = draw_without_replacement(&probs[l], k, rng);
                let onehot: Vec<f32> =
                    (0..n).map(|j| if chosen.contains(&j) { 1.0 } else { 0.0 }).collect();
                let p = softmax(a, 0);
                let gate = Tensor::from_data(TensorData::new(onehot, [n]), &device) + p.clone()
                    - p.detach();
                let gate = if reduce == Reduce::Mean { gate.div_scalar(k as f64) } else { gate };
                weights.push(LabelWeights::Soft { weights: gate, active: vec![true; n] });
                choices.push(Choice::Subset(chosen));
            }
            None => {
                let pair = draw_without_replacement(&probs[l], 2, rng);
                let idx = Tensor::<1, burn::tensor::Int>::from_data(
                    TensorData::new(
                        pair.iter().map(|i| *i as i64).collect::<Vec<_>>(),
                        [pair.len()],
                    ),
                    &device,
                );
                let sub = softmax(a.select(0, idx), 0);
                let sub_p: Vec<f64> = sub
                    .clone()
                    .detach()
                    .into_data()
                    .convert::<f32>()
                    .try_into_vec::<f32>()
                    .unwrap_or_default()
                    .into_iter()
                    .map(f64::from)
                    .collect();
                let pick = draw_without_replacement(&sub_p, 1, rng)[0];
                let gate_sub = sub.clone() - sub.detach()
                    + Tensor::from_data(
                        TensorData::new(
                            (0..pair.len())
                                .map(|j| if j == pick { 1.0f32 } else { 0.0 })
                                .collect::<Vec<_>>(),
                            [pair.len()],
                        ),
                        &device,
                    );
                let mut parts = Vec::with_capacity(n);
                let mut active = vec![false; n];
                for (j, on) in active.iter_mut().enumerate() {
                    match pair.iter().position(|x| *x == j) {
                        Some(pos) => {
                            parts.push(gate_sub.clone().narrow(0, pos, 1));
                            *on = true;
                        }
                        None => parts.push(Tensor::zeros([1], &device)),
                    }
                }
                weights.push(LabelWeights::Soft { weights: Tensor::cat(parts, 0), active });
                choices.push(Choice::Index(pair[pick]));
            }
        }
    }
    (Mixing { labels: weights }, Architecture { choices })
}
