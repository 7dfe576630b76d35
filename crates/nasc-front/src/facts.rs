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
use crate::ir::{
    Const, Domain, FastMap, Graph, LabelId, Measure, NodeKind, RegionId, RegionKind, Sym,
};
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
    /// How many architectures meet the constraints, all of them together, when every one was
    /// costed.
    pub satisfying: Option<u64>,
    /// How many architectures meet each constraint alone, in the order of the graph's
    /// constraints, when every one was costed; empty otherwise.
    pub met_alone: Vec<u64>,
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

/// The facts of every graph, in order: graphs side by side on the compiler's threads
/// ([`crate::pool::map_ordered`]).
pub fn facts_all(graphs: &[Graph]) -> Vec<Facts> {
    crate::pool::map_ordered(graphs, facts)
}

/// Computes the facts of `g`. The structural count and the cost ranges are independent and
/// computed side by side ([`crate::pool::join`]).
pub fn facts(g: &Graph) -> Facts {
    let mut count = BigUint::from(1u32);
    for l in &g.labels.labels {
        count *= match &l.domain {
            Domain::Inputs { n, k } => binomial_big(*n, *k),
            d => BigUint::from(d.size().unwrap_or(0)),
        };
    }
    let (counted, facts) =
        crate::pool::join(|| crate::count::count_networks(g), || costs(g, count));
    let (networks, without_zero) = match counted {
        Some(c) => (Some(c.networks), Some(c.without_zero)),
        None => (None, None),
    };
    Facts { networks, without_zero, ..facts }
}

/// [`Facts`] without the structural count (`networks` and `without_zero` left `None`):
/// `architectures` is `count`, the ranges exact by enumeration or bounds.
fn costs(g: &Graph, count: BigUint) -> Facts {
    if let Some(all) = enumerate(g, EXACT_LIMIT) {
        let mut p = (u64::MAX, 0u64);
        let mut f = (u64::MAX, 0u64);
        let mut satisfying = 0;
        let mut met_alone = vec![0u64; g.constraints.len()];
        let mut seen = std::collections::HashSet::new();
        for a in &all {
            let key = active_key(g, a);
            if !seen.insert(key) {
                continue;
            }
            let Ok((params, flops)) = cost(g, a) else { continue };
            p = (p.0.min(params), p.1.max(params));
            f = (f.0.min(flops), f.1.max(flops));
            let mut ok = true;
            for (c, met) in g.constraints.iter().zip(&mut met_alone) {
                let holds = c.holds(match c.measure {
                    Measure::Params => params as f64,
                    Measure::Flops => flops as f64,
                });
                *met += u64::from(holds);
                ok &= holds;
            }
            satisfying += u64::from(ok);
        }
        return Facts {
            architectures: count,
            distinct: Some(seen.len() as u64),
            networks: None,
            without_zero: None,
            params: Range { min: p.0.min(p.1), max: p.1, exact: true },
            flops: Range { min: f.0.min(f.1), max: f.1, exact: true },
            satisfying: Some(satisfying),
            met_alone,
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
            && matches!(
                c.op,
                crate::syntax::ast::BinOp::Le
                    | crate::syntax::ast::BinOp::Lt
                    | crate::syntax::ast::BinOp::Ge
                    | crate::syntax::ast::BinOp::Gt
            )
    }) {
        Some(false)
    } else {
        None
    };
    Facts {
        architectures: count,
        distinct: None,
        networks: None,
        without_zero: None,
        params,
        flops,
        satisfying: None,
        met_alone: Vec::new(),
        satisfiable,
    }
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
            NodeKind::Op { cost, .. } => (sym_range(g, &cost.params), sym_range(g, &cost.flops)),
            _ => ((0, 0), (0, 0)),
        })
        .collect();
    let always = must_live(g);
    let mut min_p =
        (0..n).filter(|i| always[*i]).map(|i| ranges[i].0 .0).fold(0u64, u64::saturating_add);
    let mut min_f =
        (0..n).filter(|i| always[*i]).map(|i| ranges[i].1 .0).fold(0u64, u64::saturating_add);
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
                    cost = (
                        cost.0.saturating_add(ranges[i].0 .0),
                        cost.1.saturating_add(ranges[i].1 .0),
                    );
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
    // The alternative regions of each layer choice, in order: a choice's alternatives are
    // made one after the other under one parent, numbered from 0 (another instance of a
    // labelled choice under the same parent starts again at 0).
    let mut open: FastMap<(usize, LabelId), usize> = FastMap::default();
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut group_of = vec![usize::MAX; nr];
    for (h, sr) in g.regions.iter().skip(1) {
        let s = h.index();
        if let (Some(parent), RegionKind::Alternative { label, index }) = (sr.parent, &sr.kind) {
            let at = match open.get(&(parent.index(), *label)) {
                Some(&gi) if *index > 0 => gi,
                _ => {
                    groups.push(Vec::new());
                    open.insert((parent.index(), *label), groups.len() - 1);
                    groups.len() - 1
                }
            };
            groups[at].push(s);
            group_of[s] = at;
        }
    }
    // Regions are created after their parents, so children have larger indices, and a
    // choice's first alternative comes before the others and everything inside them.
    let mut total = own.clone();
    for r in (1..nr).rev() {
        let rid = RegionId::new(r);
        let region = g.regions.get(rid);
        let Some(parent) = region.parent else { continue };
        match region.kind {
            RegionKind::Alternative { index, .. } => {
                // Only the costliest alternative of the choice runs: added once, when its
                // first alternative is reached (the others are complete by then).
                if index == 0 {
                    let siblings = &groups[group_of[r]];
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
    (
        Range { min: min_p, max: total[0].0.max(min_p), exact: false },
        Range { min: min_f, max: total[0].1.max(min_f), exact: false },
    )
}

/// The labels an architecture uses, with their values: the identity of the network it gives.
fn active_key(g: &Graph, a: &crate::arch::Architecture) -> Vec<(u32, crate::arch::Choice)> {
    crate::arch::active_labels(g, a)
        .into_iter()
        .map(|l| (l.0, a.choices[l.0 as usize].clone()))
        .collect()
}

/// Nodes that run in every architecture (a sound under-approximation for graphs over
/// [`MUST_LIVE_LIMIT`] nodes: then only operators reached through operators count).
///
/// `must[i]`, the nodes that run whenever node `i` runs (`i` included), is `{i}` plus the
/// union of its inputs' sets for an operator (it reads all of them) and plus their
/// intersection for a choice (it reads one). Each set is kept as a checkpoint (a bit set over
/// every node) plus a short list of later nodes. An operator with one input adds itself to
/// its input's list without copying anything. Inputs that share a checkpoint are combined on
/// their lists alone ((B u E1) n (B u E2) = B u (E1 n E2)), and lists that share a tail (every
/// operation of a choice extends its input's list) on the cells before it alone. Only inputs
/// with different checkpoints, or a list grown past [`LIST_LIMIT`], make a new bit set: in a
/// DARTS network (about 8,500 nodes) about a hundred bit sets instead of one per node.
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
    let mut sets = MustSets { words: n / 64 + 1, full: Vec::new(), cells: Vec::new() };
    let mut rows: Vec<MustRow> = Vec::with_capacity(n);
    let mut inputs: Vec<usize> = Vec::new();
    let (mut scratch, mut other): (Vec<u32>, Vec<u32>) = (Vec::new(), Vec::new());
    for (h, node) in g.nodes.iter() {
        let i = h.index();
        let union = reads_all(&node.kind);
        inputs.clear();
        inputs.extend(node.kind.each_input().map(|x| x.index()));
        inputs.sort_unstable();
        inputs.dedup();
        let row = match inputs[..] {
            [] => MustRow::EMPTY,
            [j] => rows[j],
            _ if inputs.iter().all(|&j| rows[j].base == rows[inputs[0]].base) => {
                // One checkpoint: combine the lists. Their common tail is in every one; only
                // the cells before it are looked at.
                let heads: Vec<MustRow> = inputs.iter().map(|&j| rows[j]).collect();
                let tail = sets.split(&heads, &mut scratch);
                if !union {
                    // In every list: counted once per list (a list holds a node once).
                    scratch.sort_unstable();
                    let k = heads.len();
                    other.clear();
                    other.extend(
                        scratch
                            .chunk_by(|a, b| a == b)
                            .filter(|run| run.len() == k)
                            .map(|run| run[0]),
                    );
                    std::mem::swap(&mut scratch, &mut other);
                } else {
                    scratch.sort_unstable();
                    scratch.dedup();
                }
                scratch.iter().fold(tail, |row, &x| sets.push(row, x))
            }
            _ => {
                let mut bits = sets.materialize(rows[inputs[0]]);
                for &j in &inputs[1..] {
                    let more = sets.materialize(rows[j]);
                    if union {
                        bits.iter_mut().zip(&more).for_each(|(o, w)| *o |= w);
                    } else {
                        bits.iter_mut().zip(&more).for_each(|(o, w)| *o &= w);
                    }
                }
                sets.checkpoint(bits)
            }
        };
        let row = sets.push(row, i as u32);
        rows.push(if row.len > LIST_LIMIT { sets.checkpoint(sets.materialize(row)) } else { row });
    }
    let out = sets.materialize(rows[g.output.index()]);
    (0..n).map(|i| out[i / 64] >> (i % 64) & 1 == 1).collect()
}

/// Whether a node of this kind reads every one of its inputs when it runs (an operator, an
/// input choice that picks all its candidates) rather than one of them (a choice).
fn reads_all(kind: &NodeKind) -> bool {
    match kind {
        NodeKind::Input { .. } | NodeKind::Op { .. } => true,
        NodeKind::InputChoice { k, candidates, .. } => *k == candidates.len(),
        _ => false,
    }
}

/// The longest list of nodes a [`MustRow`] keeps beside its checkpoint.
const LIST_LIMIT: u32 = 64;
/// No checkpoint or no list cell.
const NIL: u32 = u32::MAX;

/// A set of nodes for [`must_live`]: the checkpoint `base` (an index into
/// [`MustSets::full`], or [`NIL`] for the empty set) plus the `len` nodes of the list starting
/// at cell `head`.
#[derive(Clone, Copy)]
struct MustRow {
    base: u32,
    head: u32,
    len: u32,
}

impl MustRow {
    const EMPTY: MustRow = MustRow { base: NIL, head: NIL, len: 0 };
}

/// The storage behind [`MustRow`]s: checkpoints (bit sets of `words` words over every node)
/// and list cells (a node and the next cell), shared between rows.
struct MustSets {
    words: usize,
    full: Vec<Vec<u64>>,
    cells: Vec<(u32, u32)>,
}

impl MustSets {
    /// `row` with node `i` added (`i` must not be in its list already).
    fn push(&mut self, row: MustRow, i: u32) -> MustRow {
        self.cells.push((i, row.head));
        MustRow { base: row.base, head: self.cells.len() as u32 - 1, len: row.len + 1 }
    }

    /// The longest tail (same cells) that the lists of `rows` share, as a row; the nodes of
    /// the cells before it, every list's, go to `out` (a node once per list).
    fn split(&self, rows: &[MustRow], out: &mut Vec<u32>) -> MustRow {
        out.clear();
        let mut cur: Vec<(u32, u32)> = rows.iter().map(|r| (r.head, r.len)).collect();
        loop {
            let longest = cur.iter().map(|c| c.1).max().unwrap_or(0);
            let same = cur.iter().all(|c| *c == cur[0]);
            if same {
                return MustRow { base: rows[0].base, head: cur[0].0, len: cur[0].1 };
            }
            // Lists of equal length share a tail only from a cell at the same length on: step
            // the longest (all of them when the lengths are equal).
            for c in cur.iter_mut().filter(|c| c.1 == longest) {
                let (node, next) = self.cells[c.0 as usize];
                out.push(node);
                *c = (next, c.1 - 1);
            }
        }
    }

    /// The set of `row` as a bit set.
    fn materialize(&self, row: MustRow) -> Vec<u64> {
        let mut bits = if row.base == NIL {
            vec![0; self.words]
        } else {
            self.full[row.base as usize].clone()
        };
        let mut c = row.head;
        while c != NIL {
            let (node, next) = self.cells[c as usize];
            bits[node as usize / 64] |= 1u64 << (node % 64);
            c = next;
        }
        bits
    }

    /// A new checkpoint holding `bits`, as a row with an empty list.
    fn checkpoint(&mut self, bits: Vec<u64>) -> MustRow {
        self.full.push(bits);
        MustRow { base: self.full.len() as u32 - 1, head: NIL, len: 0 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{Arena, Inputs, LabelTable, Node, NodeId, Reduce, Region};
    use crate::source::{FileId, Loc, Span};
    use proptest::prelude::*;
    use std::sync::Arc;

    /// The definition of [`must_live`] written plainly: a bit set over the earlier nodes for
    /// every node (what it computed before the shared lists).
    fn must_live_plain(g: &Graph) -> Vec<bool> {
        let n = g.nodes.len();
        let mut must: Vec<Vec<u64>> = Vec::with_capacity(n);
        for (h, node) in g.nodes.iter() {
            let i = h.index();
            let union = reads_all(&node.kind);
            let mut row: Option<Vec<u64>> = None;
            for input in node.kind.each_input() {
                let prev = &must[input.index()];
                row = Some(match row {
                    None => prev.clone(),
                    Some(r) => {
                        r.iter().zip(prev).map(|(a, b)| if union { a | b } else { a & b }).collect()
                    }
                });
            }
            let mut row = row.unwrap_or_else(|| vec![0; n / 64 + 1]);
            row[i / 64] |= 1 << (i % 64);
            must.push(row);
        }
        let out = &must[g.output.index()];
        (0..n).map(|i| out[i / 64] >> (i % 64) & 1 == 1).collect()
    }

    /// Every network of the repository's spaces: the same nodes as the plain definition.
    #[test]
    fn must_live_agrees_with_the_plain_definition_on_every_space() {
        let root = &crate::repo_root();
        let mut graphs = 0;
        for dir in ["examples", "stdlib/spaces"] {
            for entry in std::fs::read_dir(root.join(dir)).expect("readable") {
                let path = entry.expect("entry").path();
                if path.extension().is_none_or(|e| e != "nas") {
                    continue;
                }
                let input = crate::driver::Input::Path(&path);
                for g in crate::driver::graphs(input).unwrap_or_else(|e| panic!("{e}")) {
                    let always = must_live(&g);
                    assert_eq!(always, must_live_plain(&g), "{}: {}", path.display(), g.name);
                    assert!(always[g.output.index()]);
                    graphs += 1;
                }
            }
        }
        assert!(graphs >= 9, "{graphs}");
    }

    /// One node of a test graph: its kind (0 and 1: an operator reading one or two nodes, 2 a
    /// layer choice, 3 an input choice of `k + 1`, 4 an `if`, 5 a repeat) and the earlier nodes
    /// it reads.
    type Spec = (u8, Vec<usize>, usize);

    /// A graph of every node kind: node 0 an input, node `i + 1` made from `specs[i]`.
    fn graph(specs: &[Spec]) -> Graph {
        let loc = Loc::new(FileId(0), Span { start: 0, end: 0 });
        let mut regions = Arena::default();
        let root = regions.append(Region { parent: None, kind: crate::ir::RegionKind::Root }, loc);
        let mut nodes: Arena<Node> = Arena::default();
        let shape: crate::ir::Shape = Arc::from(Vec::new());
        let mut add = |kind| nodes.append(Node { kind, shape: shape.clone(), region: root }, loc);
        let mut last = add(NodeKind::Input { index: 0, name: "x".into() });
        for (kind, picks, k) in specs {
            let earlier: Vec<NodeId> = picks.iter().map(|p| NodeId::new(*p)).collect();
            let label = crate::ir::LabelId(0);
            let kind = match kind {
                0 | 1 => NodeKind::Op {
                    op: "op".into(),
                    kind: None,
                    inputs: earlier
                        .iter()
                        .copied()
                        .take(1 + usize::from(*kind))
                        .collect::<Inputs>(),
                    attrs: Arc::from(Vec::new()),
                    cost: Arc::new(crate::ir::OpCost { params: Sym::int(0), flops: Sym::int(0) }),
                },
                2 => NodeKind::LayerChoice { label, alternatives: earlier },
                3 => NodeKind::InputChoice {
                    label,
                    k: 1 + k % earlier.len(),
                    candidates: earlier,
                    reduce: Reduce::Sum,
                },
                4 => NodeKind::Select {
                    cond: Sym::Label(label),
                    then: earlier[0],
                    otherwise: *earlier.last().expect("one"),
                },
                _ => NodeKind::Repeat {
                    label,
                    depths: (0..earlier.len() as i64).collect(),
                    outputs: earlier,
                },
            };
            last = add(kind);
        }
        Graph {
            name: "G".into(),
            nodes,
            regions,
            inputs: vec![NodeId::new(0)],
            output: last,
            labels: LabelTable::default(),
            constraints: Vec::new(),
        }
    }

    /// A chain longer than the list limit, twice over, then a choice between its end and an
    /// early node: the nodes up to the early one run, the rest do not.
    #[test]
    fn must_live_past_the_list_limit() {
        let mut specs: Vec<Spec> = (0..150).map(|i| (0, vec![i], 0)).collect();
        specs.push((2, vec![150, 10], 0));
        let g = graph(&specs);
        let always = must_live(&g);
        assert_eq!(always, must_live_plain(&g));
        assert_eq!(
            (0..always.len()).filter(|i| always[*i]).collect::<Vec<_>>(),
            (0..=10).chain([151]).collect::<Vec<_>>()
        );
    }

    proptest! {
        /// Random graphs of up to 300 nodes (past the 64-node list limit and over several
        /// words): the same nodes as the plain definition.
        #[test]
        fn must_live_agrees_with_the_plain_definition_on_random_graphs(
            raw in prop::collection::vec((0u8..6, prop::collection::vec(any::<prop::sample::Index>(), 1..5), 0usize..4), 0..300)
        ) {
            let specs: Vec<Spec> = raw.iter().enumerate().map(|(i, (kind, picks, k))| (*kind, picks.iter().map(|p| p.index(i + 1)).collect(), *k)).collect();
            let g = graph(&specs);
            prop_assert_eq!(must_live(&g), must_live_plain(&g));
        }
    }
}
