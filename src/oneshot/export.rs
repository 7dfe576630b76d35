//! Choosing the final architecture from the probabilities of each label's candidates, and
//! naming the candidates for the store.

use super::mixing::{sample_architecture, LabelShape};
use crate::arch::{Architecture, Choice};
use crate::ir::{Const, Domain, Graph, NodeKind};
use rand::SeedableRng;

/// For each label, the layer labels of the candidates of the edge-ranked input choices it
/// feeds: `edges[input label] = [(candidate index, layer label)]`.
fn edge_labels(g: &Graph, labels: &LabelShape) -> Vec<Vec<(usize, usize)>> {
    let mut edges = vec![Vec::new(); g.labels.len()];
    for (_, node) in g.nodes.iter() {
        if let NodeKind::InputChoice { label, candidates, .. } = &node.kind {
            if labels.edge_ranked[label.0 as usize] {
                let list: Vec<(usize, usize)> = candidates
                    .iter()
                    .enumerate()
                    .filter_map(|(j, c)| match &g.nodes.get(*c).kind {
                        NodeKind::LayerChoice { label, .. } => Some((j, label.0 as usize)),
                        _ => None,
                    })
                    .collect();
                edges[label.0 as usize] = list;
            }
        }
    }
    edges
}

/// The architecture with the most probable candidate of every label (DARTS' export):
/// input choices keep their `k` most probable candidates, and input choices over cell edges
/// keep the `k` edges whose strongest operation other than `none` is strongest, each edge with
/// that operation (the reference DARTS code's `genotype()`). When the result breaks the space's
/// constraints, the most probable of 2,000 architectures drawn from the probabilities (seeded
/// by `seed`) that meet them is taken instead; the flag says whether the result meets them.
pub fn export(
    g: &Graph,
    labels: &LabelShape,
    zero_alternative: &[Option<usize>],
    probs: &[Vec<f64>],
    seed: u64,
) -> (Architecture, bool) {
    let edges = edge_labels(g, labels);
    // Layer labels on ranked edges never choose `none`.
    let mut no_zero = vec![false; g.labels.len()];
    for list in &edges {
        for (_, l) in list {
            no_zero[*l] = true;
        }
    }
    let best_index = |l: usize| -> usize {
        let mut best = None;
        for (i, p) in probs[l].iter().enumerate() {
            if no_zero[l] && zero_alternative[l] == Some(i) && probs[l].len() > 1 {
                continue;
            }
            if best.is_none_or(|(_, q)| *p > q) {
                best = Some((i, *p));
            }
        }
        best.map_or(0, |(i, _)| i)
    };
    let choices: Vec<Choice> = (0..g.labels.len())
        .map(|l| match labels.inputs[l] {
            Some((k, _)) => {
                let score = |j: usize| -> f64 {
                    match edges[l].iter().find(|(c, _)| *c == j) {
                        Some((_, layer)) => probs[*layer][best_index(*layer)],
                        None => probs[l].get(j).copied().unwrap_or(0.0),
                    }
                };
                let mut order: Vec<usize> = (0..labels.sizes[l]).collect();
                order.sort_by(|a, b| score(*b).total_cmp(&score(*a)).then(a.cmp(b)));
                let mut s: Vec<usize> = order.into_iter().take(k).collect();
                s.sort();
                Choice::Subset(s)
            }
            None => Choice::Index(best_index(l)),
        })
        .collect();
    let arch = Architecture { choices };
    if crate::strategy::feasible(g, &arch) {
        return (arch, true);
    }
    let log_prob = |a: &Architecture| -> f64 {
        a.choices
            .iter()
            .enumerate()
            .map(|(l, c)| match c {
                Choice::Index(i) => probs[l].get(*i).copied().unwrap_or(0.0).max(1e-30).ln(),
                Choice::Subset(s) => {
                    s.iter().map(|i| probs[l].get(*i).copied().unwrap_or(0.0).max(1e-30).ln()).sum()
                }
            })
            .sum()
    };
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut best: Option<(Architecture, f64)> = None;
    for _ in 0..2000 {
        let a = sample_architecture(probs, labels, &mut rng);
        if crate::strategy::feasible(g, &a) {
            let lp = log_prob(&a);
            if best.as_ref().is_none_or(|(_, b)| lp > *b) {
                best = Some((a, lp));
            }
        }
    }
    match best {
        Some((a, _)) => (a, true),
        None => (arch, false),
    }
}

/// A candidate's name: the alternative's name, the value, the depth, or the input's index.
pub fn candidate_name(g: &Graph, label: usize, index: usize) -> String {
    match &g.labels.labels[label].domain {
        Domain::Values { values } => match values.get(index) {
            Some(Const::Str(s)) => s.clone(),
            Some(v) => v.to_string(),
            None => index.to_string(),
        },
        Domain::Alternatives { names } => {
            names.get(index).cloned().unwrap_or_else(|| index.to_string())
        }
        Domain::Inputs { .. } => index.to_string(),
    }
}

/// Every `(label, candidate, probability)` for the store.
pub fn probabilities(g: &Graph, probs: &[Vec<f64>]) -> Vec<(String, String, f64)> {
    let mut out = Vec::new();
    for (l, p) in probs.iter().enumerate() {
        for (i, v) in p.iter().enumerate() {
            out.push((g.labels.labels[l].name.clone(), candidate_name(g, l, i), *v));
        }
    }
    out
}
