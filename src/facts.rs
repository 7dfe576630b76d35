//! Facts of a space, computed from the IR alone (no network is built): the number of
//! architectures, the range of parameter counts and FLOPs, and whether the constraints can be
//! met.
//!
//! Where the space has at most [`EXACT_LIMIT`] architectures every one is costed, so the
//! ranges are exact; otherwise they are sound bounds: the minimum counts the operators that
//! run in every architecture (at their cheapest) and, at every layer choice that always runs,
//! the cheapest alternative's operators; the maximum takes, at every layer choice, the
//! costliest alternative.

use crate::arch::{cost, enumerate};
use crate::ir::{Const, Domain, Graph, LabelId, Measure, NodeKind, RegionId, RegionKind, Sym};
use num_bigint::BigUint;
use serde::Serialize;

/// Spaces with at most this many architectures get exact ranges.
pub const EXACT_LIMIT: u64 = 100_000;
/// Graphs with at most this many nodes get the tighter lower bound (it needs a set of nodes per
/// node).
pub const MUST_LIVE_LIMIT: usize = 20_000;

/// A range of a measure over the space.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Range {
    /// The smallest value (or a lower bound).
    pub min: u64,
    /// The largest value (or an upper bound).
    pub max: u64,
    /// Whether `min` and `max` are attained (exact) or bounds.
    pub exact: bool,
}

/// What `nasc check` says about a space.
#[derive(Debug, Clone, Serialize)]
pub struct Facts {
    /// How many assignments of every label there are: the product of the domain sizes (what
    /// NNI reports as the size of a space).
    #[serde(serialize_with = "big_as_string")]
    pub architectures: BigUint,
    /// How many distinct networks those assignments give, when every one was enumerated: two
    /// assignments that differ only in labels the network does not use (a choice inside an
    /// alternative not taken, a repetition beyond the depth) are one network.
    pub distinct: Option<u64>,
    /// The same number counted from the structure of the space ([`crate::count`]), for spaces
    /// too large to enumerate too; `None` when the structure does not allow an exact count.
    #[serde(serialize_with = "opt_big_as_string")]
    pub networks: Option<BigUint>,
    /// `networks` without the layer-choice alternatives that are the `zero` operator (DARTS'
    /// count of genotypes).
    #[serde(serialize_with = "opt_big_as_string")]
    pub without_zero: Option<BigUint>,
    /// Trainable parameters.
    pub params: Range,
    /// Multiply-accumulates per sample.
    pub flops: Range,
    /// How many architectures meet the constraints, when every one was costed.
    pub satisfying: Option<u64>,
    /// Whether the constraints can be met: `Some(false)` when no architecture can.
    pub satisfiable: Option<bool>,
}

fn big_as_string<S: serde::Serializer>(b: &BigUint, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&b.to_string())
}

fn opt_big_as_string<S: serde::Serializer>(b: &Option<BigUint>, s: S) -> Result<S::Ok, S::Error> {
    match b {
        Some(b) => s.serialize_str(&b.to_string()),
        None => s.serialize_none(),
    }
}

/// Computes the facts of `g`.
pub fn facts(g: &Graph) -> Facts {
    let mut count = BigUint::from(1u32);
    for l in &g.labels.labels {
        count *= match &l.domain {
            Domain::Inputs { n, k } => binomial_big(*n, *k),
            d => BigUint::from(d.size().unwrap_or(0)),
        };
    }
    let counted = crate::count::count_networks(g);
    let (networks, without_zero) = match counted {
        Some(c) => (Some(c.networks), Some(c.without_zero)),
        None => (None, None),
    };
    if let Some(all) = enumerate(g, EXACT_LIMIT) {
        let mut p = (u64::MAX, 0u64);
        let mut f = (u64::MAX, 0u64);
        let mut satisfying = 0;
        let mut seen = std::collections::HashSet::new();
        for a in &all {
            let key = active_key(g, a);
            if !seen.insert(key) {
                continue;
            }
            let Ok((params, flops)) = cost(g, a) else { continue };
            p = (p.0.min(params), p.1.max(params));
            f = (f.0.min(flops), f.1.max(flops));
            let ok = g.constraints.iter().all(|c| {
                c.holds(match c.measure {
                    Measure::Params => params as f64,
                    Measure::Flops => flops as f64,
                })
            });
            satisfying += u64::from(ok);
        }
        return Facts {
            architectures: count,
            distinct: Some(seen.len() as u64),
            networks,
            without_zero,
            params: Range { min: p.0.min(p.1), max: p.1, exact: true },
            flops: Range { min: f.0.min(f.1), max: f.1, exact: true },
            satisfying: Some(satisfying),
            satisfiable: Some(satisfying > 0),
        };
    }
    let (params, flops) = bounds(g);
    let satisfiable = if g.constraints.iter().any(|c| {
        let r = match c.measure {
            Measure::Params => params,
            Measure::Flops => flops,
        };
        // The constraint fails for every value in [min, max]?
        !c.holds(r.min as f64)
            && !c.holds(r.max as f64)
            && matches!(c.op, crate::syntax::ast::BinOp::Le | crate::syntax::ast::BinOp::Lt | crate::syntax::ast::BinOp::Ge | crate::syntax::ast::BinOp::Gt)
    }) {
        Some(false)
    } else {
        None
    };
    Facts { architectures: count, distinct: None, networks, without_zero, params, flops, satisfying: None, satisfiable }
}

fn binomial_big(n: usize, k: usize) -> BigUint {
    if k > n {
        return BigUint::from(0u32);
    }
    let mut r = BigUint::from(1u32);
    for i in 0..k {
        r = r * BigUint::from(n - i) / BigUint::from(i + 1);
    }
    r
}

/// The smallest and largest value of `s` over the labels it depends on.
fn sym_range(g: &Graph, s: &Sym) -> (u64, u64) {
    if let Sym::Const(c) = s {
        let v = c.as_f64().unwrap_or(0.0).max(0.0) as u64;
        return (v, v);
    }
    let labels = s.labels();
    let domains: Vec<Vec<Const>> = labels
        .iter()
        .map(|l| match &g.labels.get(*l).domain {
            Domain::Values { values } => values.clone(),
            _ => vec![Const::Int(0)],
        })
        .collect();
    let mut idx = vec![0usize; labels.len()];
    let (mut lo, mut hi) = (u64::MAX, 0u64);
    for _ in 0..100_000 {
        let lookup = |l: LabelId| {
            let i = labels.iter().position(|x| *x == l).unwrap_or(0);
            domains[i][idx[i]].clone()
        };
        if let Ok(c) = s.eval(&lookup, &|_| Some(1)) {
            let v = c.as_f64().unwrap_or(0.0).max(0.0) as u64;
            lo = lo.min(v);
            hi = hi.max(v);
        }
        let mut k = 0;
        loop {
            if k == idx.len() {
                return (lo.min(hi), hi);
            }
            idx[k] += 1;
            if idx[k] < domains[k].len() {
                break;
            }
            idx[k] = 0;
            k += 1;
        }
    }
    (0, u64::MAX)
}

/// Sound bounds on params and FLOPs for spaces too large to enumerate.
fn bounds(g: &Graph) -> (Range, Range) {
    let n = g.nodes.len();
    let ranges: Vec<((u64, u64), (u64, u64))> = g
        .nodes
        .iter()
        .map(|(_, node)| match &node.kind {
            NodeKind::Op { params, flops, .. } => (sym_range(g, params), sym_range(g, flops)),
            _ => ((0, 0), (0, 0)),
        })
        .collect();
    let always = must_live(g);
    let mut min_p = (0..n).filter(|i| always[*i]).map(|i| ranges[i].0 .0).fold(0u64, u64::saturating_add);
    let mut min_f = (0..n).filter(|i| always[*i]).map(|i| ranges[i].1 .0).fold(0u64, u64::saturating_add);
    // Every layer choice that always runs runs one of its alternatives, and with it every
    // operator its output is computed from through operators alone: add the cheapest
    // alternative's. An operator is counted at most once over the whole bound (`counted`), so
    // the sum stays below the cost of every architecture.
    let mut counted = always.clone();
    for (h, node) in g.nodes.iter() {
        let NodeKind::LayerChoice { alternatives, .. } = &node.kind else { continue };
        if !always[h.index()] {
            continue;
        }
        let mut cheapest: Option<(u64, u64)> = None;
        let mut reached: Vec<usize> = Vec::new();
        for a in alternatives {
            let mut cost = (0u64, 0u64);
            let mut seen: Vec<usize> = Vec::new();
            let mut stack = vec![*a];
            while let Some(x) = stack.pop() {
                let i = x.index();
                if counted[i] || seen.contains(&i) {
                    continue;
                }
                seen.push(i);
                if let NodeKind::Op { inputs, .. } = &g.nodes.get(x).kind {
                    cost = (cost.0.saturating_add(ranges[i].0 .0), cost.1.saturating_add(ranges[i].1 .0));
                    stack.extend(inputs.iter().copied());
                }
            }
            cheapest = Some(cheapest.map_or(cost, |c| (c.0.min(cost.0), c.1.min(cost.1))));
            reached.extend(seen);
        }
        if let Some((p, f)) = cheapest {
            min_p = min_p.saturating_add(p);
            min_f = min_f.saturating_add(f);
        }
        for i in reached {
            counted[i] = true;
        }
    }
    // Upper bound: per region, its own operators plus, for each layer choice region group, the
    // costliest alternative.
    let nr = g.regions.len();
    let mut own = vec![(0u64, 0u64); nr];
    for (h, node) in g.nodes.iter() {
        let r = node.region.index();
        own[r].0 = own[r].0.saturating_add(ranges[h.index()].0 .1);
        own[r].1 = own[r].1.saturating_add(ranges[h.index()].1 .1);
    }
    // The alternative regions of each layer choice label under each parent, in order.
    let mut groups: std::collections::HashMap<(usize, LabelId), Vec<usize>> = std::collections::HashMap::new();
    for s in 1..nr {
        let sr = g.regions.get(RegionId::new(s));
        if let (Some(parent), RegionKind::Alternative { label, .. }) = (sr.parent, &sr.kind) {
            groups.entry((parent.index(), *label)).or_default().push(s);
        }
    }
    // Regions are created after their parents, so children have larger indices.
    let mut total = own.clone();
    for r in (1..nr).rev() {
        let rid = RegionId::new(r);
        let region = g.regions.get(rid);
        let Some(parent) = region.parent else { continue };
        match region.kind {
            RegionKind::Alternative { label, index } => {
                // Add only the costliest sibling alternative: handled by taking the max when
                // the first alternative (index 0) of the group is reached.
                if index == 0 {
                    let siblings = &groups[&(parent.index(), label)];
                    let best_p = siblings.iter().map(|s| total[*s].0).max().unwrap_or(0);
                    let best_f = siblings.iter().map(|s| total[*s].1).max().unwrap_or(0);
                    total[parent.index()].0 = total[parent.index()].0.saturating_add(best_p);
                    total[parent.index()].1 = total[parent.index()].1.saturating_add(best_f);
                }
            }
            RegionKind::Repetition { .. } | RegionKind::Branch { .. } => {
                total[parent.index()].0 = total[parent.index()].0.saturating_add(total[r].0);
                total[parent.index()].1 = total[parent.index()].1.saturating_add(total[r].1);
            }
            RegionKind::Root => {}
        }
    }
    (Range { min: min_p, max: total[0].0.max(min_p), exact: false }, Range { min: min_f, max: total[0].1.max(min_f), exact: false })
}

/// The labels an architecture uses, with their values: the identity of the network it gives.
fn active_key(g: &Graph, a: &crate::arch::Architecture) -> Vec<(u32, crate::arch::Choice)> {
    crate::arch::active_labels(g, a).into_iter().map(|l| (l.0, a.choices[l.0 as usize].clone())).collect()
}

/// Nodes that run in every architecture (a sound under-approximation for graphs over
/// [`MUST_LIVE_LIMIT`] nodes: then only operators reached through operators count).
fn must_live(g: &Graph) -> Vec<bool> {
    let n = g.nodes.len();
    if n > MUST_LIVE_LIMIT {
        let mut always = vec![false; n];
        let mut stack = vec![g.output];
        while let Some(h) = stack.pop() {
            if always[h.index()] {
                continue;
            }
            always[h.index()] = true;
            if let NodeKind::Op { inputs, .. } = &g.nodes.get(h).kind {
                stack.extend(inputs.iter().copied());
            }
        }
        return always;
    }
    // must[i]: the nodes that run whenever node i runs (including i), a bit set over the nodes
    // up to i (every input comes before its user): i / 64 + 1 words, the rows stored one after
    // the other from `start[i]`.
    let mut start = Vec::with_capacity(n + 1);
    let mut must: Vec<u64> = Vec::new();
    for (h, node) in g.nodes.iter() {
        let i = h.index();
        let here = must.len();
        start.push(here);
        let words = i / 64 + 1;
        let union = match &node.kind {
            NodeKind::Input { .. } | NodeKind::Op { .. } => true,
            NodeKind::InputChoice { k, candidates, .. } => *k == candidates.len(),
            _ => false,
        };
        let mut first = true;
        for input in node.kind.each_input() {
            let j = input.index();
            let (from, to) = (start[j], start[j] + j / 64 + 1);
            if first {
                must.extend_from_within(from..to);
                must.resize(here + words, 0);
                first = false;
                continue;
            }
            let (done, row) = must.split_at_mut(here);
            let prev = &done[from..to];
            if union {
                row.iter_mut().zip(prev).for_each(|(o, w)| *o |= w);
            } else {
                // Words past the input's row are outside its set.
                let m = prev.len().min(row.len());
                row[..m].iter_mut().zip(&prev[..m]).for_each(|(o, w)| *o &= w);
                row[m..].fill(0);
            }
        }
        must.resize(here + words, 0);
        must[here + i / 64] |= 1u64 << (i % 64);
    }
    let o = g.output.index();
    let out = &must[start[o]..start[o] + o / 64 + 1];
    (0..n).map(|i| out.get(i / 64).is_some_and(|w| w >> (i % 64) & 1 == 1)).collect()
}
