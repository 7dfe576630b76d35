//! Counting the distinct networks of a space from its structure, without enumerating it.
//!
//! Two assignments of every label are one network when they differ only in labels the network
//! does not use (the operation on a DARTS edge that the node's input choice did not pick, a
//! choice inside an alternative not taken, a repetition beyond the depth); this is the
//! definition [`crate::facts::Facts::distinct`] applies by enumeration. Here the same number is
//! computed for spaces far too large to enumerate (the DARTS space's ~10^19 networks), in three
//! steps:
//!
//! 1. **Gates.** Walking the graph from the output back to the inputs, every node gets the
//!    condition under which it runs: a conjunction of conditions on single labels (a layer
//!    choice's or repeat's label takes one of some values, an input choice picks one of some
//!    candidates, a boolean value choice in an `if` is true or false). A node read by several
//!    consumers runs when any of them does: the union of their gates, kept exact when the
//!    gates differ in one label only or one implies the other.
//! 2. **Tree.** A label is used when any node that depends on it runs (the union of those
//!    nodes' gates). When every label's gate is its parent label's gate plus one condition on
//!    that parent, the labels form a forest.
//! 3. **Count.** Bottom up: a label with `v` values contributes the sum over its values of the
//!    product of the counts of the children that value activates; an input choice the sum over
//!    its subsets of picked candidates. Independent roots multiply.
//!
//! A gate that cannot be written exactly (the union of conditions on two unrelated labels, an
//! `if` on an expression of several labels) is replaced by a weaker one and marked approximate;
//! that is harmless for nodes that use no label (the preprocessing of a DARTS cell's input,
//! read by whichever node picks it). When a label's own gate is approximate, the labels do not
//! form a forest, or an input choice has more than [`SUBSET_LIMIT`] subsets, [`count_networks`]
//! returns `None` rather than a guess.
//!
//! The same count with every layer-choice alternative that is the `zero` operator removed is
//! DARTS' count of genotypes (Liu et al. 2019, section 2.1: the derived cell never keeps
//! `none`), the paper's "approximately 10^18".

use crate::ir::{Const, Domain, FastMap, Graph, LabelId, NodeKind, Op, Sym};
use num_bigint::BigUint;
use std::collections::{BTreeMap, BTreeSet};

/// The most subsets of one input choice that [`count_networks`] sums over.
pub const SUBSET_LIMIT: u64 = 100_000;

/// The distinct networks of a space, counted from its structure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkCount {
    /// Distinct networks (assignments that differ only in unused labels counted once).
    pub networks: BigUint,
    /// The same count without the layer-choice alternatives that are the `zero` operator
    /// (DARTS' genotypes); equal to `networks` when there are none.
    pub without_zero: BigUint,
}

/// One label's condition: the allowed values (by index in the domain) of a layer, value or
/// depth choice, or, for an input choice, candidates at least one of which must be picked.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Cond {
    Values(BTreeSet<usize>),
    Picks(BTreeSet<usize>),
}

/// A conjunction of conditions, one per label; empty means "always".
type Gate = BTreeMap<LabelId, Cond>;

/// A gate and whether it only over-approximates when the node runs (it holds whenever the
/// node runs, but maybe also when it does not).
type Approx = (Gate, bool);

struct Counter<'g> {
    g: &'g Graph,
}

/// The index of a gate in a [`Gates`] table.
type GateId = u32;

/// Every distinct gate met, each stored once: most nodes share their gate with their
/// neighbours (every node of a layer choice's alternative has the alternative's gate), so the
/// walk hands ids around instead of cloning maps, and unions and conditions are computed once
/// per distinct argument.
#[derive(Default)]
struct Gates {
    table: Vec<Approx>,
    ids: FastMap<Approx, GateId>,
    unions: FastMap<Vec<GateId>, GateId>,
    inserts: FastMap<(GateId, LabelId, Cond), GateId>,
    /// The same for conditions on one value or candidate (`true`: a candidate): the edges of
    /// choices, which make most of them.
    singles: FastMap<(GateId, LabelId, bool, usize), GateId>,
}

impl Gates {
    fn intern(&mut self, a: Approx) -> GateId {
        if let Some(id) = self.ids.get(&a) {
            return *id;
        }
        let id = self.table.len() as GateId;
        self.table.push(a.clone());
        self.ids.insert(a, id);
        id
    }

    fn get(&self, id: GateId) -> &Approx {
        &self.table[id as usize]
    }

    /// [`Counter::union`] of the gates `items`.
    fn union(&mut self, c: &Counter, mut items: Vec<GateId>) -> GateId {
        // The same gates in any order are the same union (and one memo entry).
        items.sort_unstable();
        items.dedup();
        if let [one] = items[..] {
            return one;
        }
        // An exact "always" among them is the union (what `Counter::union` would reach after
        // dropping every other gate as implied, one pass each).
        if let Some(&always) =
            items.iter().find(|&&i| matches!(self.get(i), (g, false) if g.is_empty()))
        {
            return always;
        }
        if let Some(id) = self.unions.get(&items) {
            return *id;
        }
        let gates = items.iter().map(|i| self.get(*i).clone()).collect();
        let id = self.intern(c.union(gates));
        self.unions.insert(items, id);
        id
    }

    /// [`Gates::insert`] of the condition that `l` takes the value of index `k` (`picks`: that
    /// input choice `l` picks candidate `k`).
    fn insert_one(&mut self, c: &Counter, id: GateId, l: LabelId, picks: bool, k: usize) -> GateId {
        let key = (id, l, picks, k);
        if let Some(out) = self.singles.get(&key) {
            return *out;
        }
        let cond = if picks {
            Cond::Picks(BTreeSet::from([k]))
        } else {
            Cond::Values(BTreeSet::from([k]))
        };
        let out = self.insert(c, id, l, cond);
        self.singles.insert(key, out);
        out
    }

    /// The gate `id` with the condition `cond` on `l` added ([`Counter::insert`]; approximate
    /// when that has no exact form).
    fn insert(&mut self, c: &Counter, id: GateId, l: LabelId, cond: Cond) -> GateId {
        let key = (id, l, cond);
        if let Some(out) = self.inserts.get(&key) {
            return *out;
        }
        let (mut gate, approx) = self.get(id).clone();
        let ok = c.insert(&mut gate, l, key.2.clone());
        let out = self.intern((gate, approx || !ok));
        self.inserts.insert(key, out);
        out
    }
}

impl Counter<'_> {
    fn size(&self, l: LabelId) -> usize {
        if self.pseudo(l) {
            return 2; // the two branches of an `if`
        }
        self.g.labels.get(l).domain.size().unwrap_or(0) as usize
    }

    /// Adds `c` on label `l` to `gate` (dropped when it allows everything); `false` when the
    /// conjunction has no exact form (two "at least one of" conditions on one input choice),
    /// and `gate` then keeps the older condition, an over-approximation.
    fn insert(&self, gate: &mut Gate, l: LabelId, c: Cond) -> bool {
        if self.always(l, &c) {
            return true;
        }
        match gate.get(&l) {
            None => {
                gate.insert(l, c);
                true
            }
            Some(Cond::Values(old)) => match &c {
                Cond::Values(new) => {
                    let both: BTreeSet<usize> = old.intersection(new).copied().collect();
                    gate.insert(l, Cond::Values(both));
                    true
                }
                Cond::Picks(_) => false,
            },
            Some(Cond::Picks(old)) => Cond::Picks(old.clone()) == c,
        }
    }

    /// Whether `c` holds under every value of `l`: it allows every value, or it asks an input
    /// choice of `k` of `n` candidates to pick one of more than `n - k` of them (pigeonhole: a
    /// DARTS node that picks 2 of its 2 candidates picks both).
    fn always(&self, l: LabelId, c: &Cond) -> bool {
        if self.pseudo(l) {
            return matches!(c, Cond::Values(v) if v.len() == 2);
        }
        match (c, &self.g.labels.get(l).domain) {
            (Cond::Values(v), _) => v.len() == self.size(l),
            (Cond::Picks(s), Domain::Inputs { n, k }) => s.len() + k > *n,
            (Cond::Picks(_), _) => false,
        }
    }

    /// Whether `l` stands for the condition of an `if` on several labels (see
    /// [`Counter::select_key`]) rather than for a label.
    fn pseudo(&self, l: LabelId) -> bool {
        l.0 as usize >= self.g.labels.len()
    }

    /// The key of the condition of the `if` node `node`, when it depends on several labels: a
    /// pseudo-label with two values (0: false, 1: true) after the real labels. Both branches
    /// together run exactly when the `if` runs, so a node that both branches read keeps an
    /// exact gate; a label whose gate keeps such a key cannot be counted.
    fn select_key(&self, node: usize) -> LabelId {
        LabelId((self.g.labels.len() + node) as u32)
    }

    /// Whether `a` holds whenever `b` does (for one label).
    fn weaker(a: &Cond, b: &Cond) -> bool {
        match (a, b) {
            (Cond::Values(x), Cond::Values(y)) | (Cond::Picks(x), Cond::Picks(y)) => y.is_subset(x),
            _ => false,
        }
    }

    /// The gate of "any of `items`": implied gates are dropped and gates that differ in one
    /// label's condition merged, until one is left (exact unless an input to it was
    /// approximate) or none of that applies (then the conditions all share, approximate).
    fn union(&self, items: Vec<Approx>) -> Approx {
        let mut items = items;
        items.dedup();
        let implies = |x: &Gate, y: &Gate| {
            x.iter().all(|(l, cx)| y.get(l).is_some_and(|cy| Self::weaker(cx, cy)))
        };
        // Gates on pairwise different sets of labels, all of one size, neither merge (that
        // needs the same labels) nor imply one another (that needs a subset of the labels):
        // the answer is what they share, approximate. This is the state of a DARTS cell read
        // by one edge of every later node, each gated on that node's input choice alone; the
        // loop below would take time cubic in the number of nodes to find it.
        if items.len() > 2 {
            let size = items[0].0.len();
            let mut seen = std::collections::HashSet::with_capacity(items.len());
            let distinct = items.iter().all(|(g, _)| {
                g.len() == size && size > 0 && seen.insert(g.keys().copied().collect::<Vec<_>>())
            });
            if distinct {
                let first = items[0].0.clone();
                let common = first
                    .into_iter()
                    .filter(|(l, c)| items.iter().all(|(g, _)| g.get(l) == Some(c)))
                    .collect();
                return (common, true);
            }
        }
        loop {
            if items.len() <= 1 {
                return items.pop().unwrap_or_default();
            }
            // Merges first (gates that differ in one label's condition), so that an
            // approximate gate does not swallow exact ones that together make it exact. Per
            // label, the gates that hold it and agree on every other label's condition are
            // merged at once (one pass, bucketed by "the gate without this label"), which
            // is what merging them two by two reaches, in time linear in the gates.
            let mut changed = false;
            let labels: BTreeSet<LabelId> =
                items.iter().flat_map(|(g, _)| g.keys().copied()).collect();
            for l in labels {
                // Ordered, so that the result does not depend on a hash seed.
                let mut buckets: BTreeMap<(Gate, bool), Vec<usize>> = BTreeMap::new();
                for (i, (g, _)) in items.iter().enumerate() {
                    if let Some(c) = g.get(&l) {
                        let mut rest = g.clone();
                        rest.remove(&l);
                        buckets.entry((rest, matches!(c, Cond::Picks(_)))).or_default().push(i);
                    }
                }
                let mut gone = vec![false; items.len()];
                let mut merged_items = Vec::new();
                for ((rest, picks), members) in buckets {
                    if members.len() < 2 {
                        continue;
                    }
                    let mut set = BTreeSet::new();
                    let mut approx = false;
                    for &i in &members {
                        match &items[i].0[&l] {
                            Cond::Values(x) | Cond::Picks(x) => set.extend(x.iter().copied()),
                        }
                        approx |= items[i].1;
                        gone[i] = true;
                    }
                    let merged = if picks { Cond::Picks(set) } else { Cond::Values(set) };
                    let mut out = rest;
                    let _always_exact = self.insert(&mut out, l, merged);
                    merged_items.push((out, approx));
                }
                if !merged_items.is_empty() {
                    changed = true;
                    let mut kept: Vec<Approx> = items
                        .into_iter()
                        .zip(gone)
                        .filter_map(|(item, gone)| (!gone).then_some(item))
                        .collect();
                    kept.extend(merged_items);
                    items = kept;
                }
            }
            if !changed {
                'implied: for i in 0..items.len() {
                    for j in 0..items.len() {
                        // j's true set lies inside i's gate: drop j (keeping i exact if either
                        // is, when the two gates are the same).
                        if i != j && implies(&items[i].0, &items[j].0) {
                            if items[i].0 == items[j].0 {
                                items[i].1 = items[i].1 && items[j].1;
                            }
                            items.remove(j);
                            changed = true;
                            break 'implied;
                        }
                    }
                }
            }
            if !changed {
                let first = items[0].0.clone();
                let common = first
                    .into_iter()
                    .filter(|(l, c)| items.iter().all(|(g, _)| g.get(l) == Some(c)))
                    .collect();
                return (common, true);
            }
        }
    }

    /// The values of a single-label condition `cond` that make it `taken`, or `None` when it
    /// depends on other than exactly one label.
    fn branch(&self, cond: &Sym, taken: bool) -> Option<(LabelId, BTreeSet<usize>)> {
        let labels = cond.labels();
        let [l] = labels[..] else { return None };
        let Domain::Values { values } = &self.g.labels.get(l).domain else { return None };
        let mut allowed = BTreeSet::new();
        for (i, v) in values.iter().enumerate() {
            match cond.eval(&|_| v.clone(), &|_| None) {
                Ok(Const::Bool(b)) if b == taken => {
                    allowed.insert(i);
                }
                Ok(Const::Bool(_)) => {}
                _ => return None,
            }
        }
        Some((l, allowed))
    }
}

/// The gates of the edges into each node, in the order they were met: the first apart, since
/// most nodes have one consumer (no vector is allocated for them).
struct Pending {
    first: Vec<Option<GateId>>,
    more: Vec<Vec<GateId>>,
}

impl Pending {
    fn push(&mut self, node: usize, gate: GateId) {
        match self.first[node] {
            None => self.first[node] = Some(gate),
            Some(_) => self.more[node].push(gate),
        }
    }
}

/// Counts the distinct networks of `g` from its structure (see the module documentation);
/// `None` when the structure does not allow an exact count.
pub fn count_networks(g: &Graph) -> Option<NetworkCount> {
    let c = Counter { g };
    let n = g.nodes.len();
    let mut table = Gates::default();
    // Step 1: gates, from the output back (nodes are in topological order).
    let mut pending = Pending { first: vec![None; n], more: vec![Vec::new(); n] };
    let mut gates: Vec<Option<GateId>> = vec![None; n];
    let always = table.intern((Gate::new(), false));
    pending.push(g.output.index(), always);
    for (h, node) in g.nodes.iter().collect::<Vec<_>>().into_iter().rev() {
        // Every consumer comes later in the arena, so every edge into this node is known.
        let Some(first) = pending.first[h.index()] else {
            continue; // never runs
        };
        let gate = match std::mem::take(&mut pending.more[h.index()]) {
            more if more.is_empty() => first,
            more => table.union(&c, std::iter::once(first).chain(more).collect()),
        };
        gates[h.index()] = Some(gate);
        match &node.kind {
            NodeKind::Input { .. } => {}
            NodeKind::Op { inputs, .. } => {
                inputs.iter().for_each(|i| pending.push(i.index(), gate))
            }
            NodeKind::LayerChoice { label, alternatives: slots, .. }
            | NodeKind::Repeat { label, outputs: slots, .. } => {
                for (k, i) in slots.iter().enumerate() {
                    let e = table.insert_one(&c, gate, *label, false, k);
                    pending.push(i.index(), e);
                }
            }
            NodeKind::InputChoice { label, candidates, .. } => {
                for (k, i) in candidates.iter().enumerate() {
                    let e = table.insert_one(&c, gate, *label, true, k);
                    pending.push(i.index(), e);
                }
            }
            NodeKind::Select { cond, then, otherwise } => {
                for (taken, i) in [(true, then), (false, otherwise)] {
                    let e = match c.branch(cond, taken) {
                        Some((l, allowed)) => table.insert(&c, gate, l, Cond::Values(allowed)),
                        None => table.insert(
                            &c,
                            gate,
                            c.select_key(h.index()),
                            Cond::Values(BTreeSet::from([usize::from(taken)])),
                        ),
                    };
                    pending.push(i.index(), e);
                }
            }
        }
    }
    // Step 2: each label's gate, the union over the running nodes that depend on it.
    let mut label_uses: Vec<Vec<GateId>> = vec![Vec::new(); g.labels.len()];
    let mut used: Vec<LabelId> = Vec::new();
    for (h, node) in g.nodes.iter() {
        let Some(gate) = gates[h.index()] else { continue };
        used.clear();
        node.shape.iter().for_each(|d| d.labels_into(&mut used));
        match &node.kind {
            NodeKind::LayerChoice { label, .. }
            | NodeKind::InputChoice { label, .. }
            | NodeKind::Repeat { label, .. } => used.push(*label),
            NodeKind::Op { attrs, cost, .. } => {
                attrs.iter().for_each(|(_, s)| s.labels_into(&mut used));
                cost.params.labels_into(&mut used);
                cost.flops.labels_into(&mut used);
            }
            NodeKind::Select { cond, .. } => cond.labels_into(&mut used),
            NodeKind::Input { .. } => {}
        }
        used.sort();
        used.dedup();
        for l in &used {
            label_uses[l.0 as usize].push(gate);
        }
    }
    let label_gates: Vec<Option<Approx>> = label_uses
        .into_iter()
        .map(|uses| {
            (!uses.is_empty()).then(|| table.union(&c, uses)).map(|id| table.get(id).clone())
        })
        .collect();
    // Step 3: the forest of labels, and the count.
    let mut children: Vec<Vec<(LabelId, Cond)>> = vec![Vec::new(); g.labels.len()];
    let mut roots: Vec<LabelId> = Vec::new();
    for (i, gate) in label_gates.iter().enumerate() {
        let l = LabelId(i as u32);
        let Some((gate, approx)) = gate else { continue }; // never used: one network either way
        if *approx {
            return None;
        }
        if gate.is_empty() {
            roots.push(l);
            continue;
        }
        if gate.keys().any(|k| c.pseudo(*k)) {
            return None;
        }
        let parent = gate.iter().find(|(p, _)| {
            let mut rest = gate.clone();
            rest.remove(p);
            label_gates[p.0 as usize].as_ref().map(|(pg, _)| pg) == Some(&rest)
        });
        match parent {
            Some((p, cond)) if *p != l => children[p.0 as usize].push((l, cond.clone())),
            _ => return None,
        }
    }
    let zero_alternatives = zero_alternatives(g);
    let mut memo: Vec<Option<(BigUint, BigUint)>> = vec![None; g.labels.len()];
    let mut networks = BigUint::from(1u32);
    let mut without_zero = BigUint::from(1u32);
    for r in roots {
        let (a, b) = count_label(g, r, &children, &zero_alternatives, &mut memo, 0)?;
        networks *= a;
        without_zero *= b;
    }
    Some(NetworkCount { networks, without_zero })
}

/// For each label, the alternatives (by index) that are the `zero` operator in some layer
/// choice of that label.
fn zero_alternatives(g: &Graph) -> Vec<BTreeSet<usize>> {
    let mut out = vec![BTreeSet::new(); g.labels.len()];
    for (_, node) in g.nodes.iter() {
        if let NodeKind::LayerChoice { label, alternatives } = &node.kind {
            for (k, a) in alternatives.iter().enumerate() {
                if matches!(&g.nodes.get(*a).kind, NodeKind::Op { kind: Some(Op::Zero), .. }) {
                    out[label.0 as usize].insert(k);
                }
            }
        }
    }
    out
}

/// (networks, networks without zero alternatives) of the subtree at `l`.
fn count_label(
    g: &Graph,
    l: LabelId,
    children: &[Vec<(LabelId, Cond)>],
    zero: &[BTreeSet<usize>],
    memo: &mut Vec<Option<(BigUint, BigUint)>>,
    depth: usize,
) -> Option<(BigUint, BigUint)> {
    if let Some(m) = &memo[l.0 as usize] {
        return Some(m.clone());
    }
    if depth > g.labels.len() {
        return None; // a cycle: not a forest
    }
    let mut kids: Vec<(Cond, BigUint, BigUint)> = Vec::new();
    for (child, cond) in &children[l.0 as usize] {
        let (a, b) = count_label(g, *child, children, zero, memo, depth + 1)?;
        kids.push((cond.clone(), a, b));
    }
    let product = |active: &dyn Fn(&Cond) -> bool| {
        let mut a = BigUint::from(1u32);
        let mut b = BigUint::from(1u32);
        for (cond, ka, kb) in &kids {
            if active(cond) {
                a *= ka;
                b *= kb;
            }
        }
        (a, b)
    };
    let mut total = (BigUint::from(0u32), BigUint::from(0u32));
    match &g.labels.get(l).domain {
        Domain::Inputs { n, k } => {
            if crate::ir::binomial(*n as u64, *k as u64).is_none_or(|s| s > SUBSET_LIMIT) {
                return None;
            }
            // Children gated on one candidate (the edges of a DARTS node, each on the state it
            // reads) multiply per candidate; a subset's product is then the product of its
            // candidates' and of the other children it activates. With no other children the
            // sum over the k-subsets is the k-th elementary symmetric polynomial of the
            // candidates' products, computed in O(n k) instead of over every subset (a node
            // of a 200-step DARTS cell has 201 candidates and 20,100 subsets).
            let one = || (BigUint::from(1u32), BigUint::from(1u32));
            let mut per_candidate = vec![one(); *n];
            let mut others: Vec<&(Cond, BigUint, BigUint)> = Vec::new();
            for kid in &kids {
                match &kid.0 {
                    Cond::Picks(s) if s.len() == 1 => {
                        let j = *s.iter().next().expect("one candidate");
                        if let Some(p) = per_candidate.get_mut(j) {
                            p.0 *= &kid.1;
                            p.1 *= &kid.2;
                        }
                    }
                    Cond::Picks(_) => others.push(kid),
                    Cond::Values(_) => {}
                }
            }
            if others.is_empty() {
                let mut e = vec![(BigUint::from(0u32), BigUint::from(0u32)); *k + 1];
                e[0] = one();
                for p in &per_candidate {
                    for t in (1..=*k).rev() {
                        let (a, b) = (&e[t - 1].0 * &p.0, &e[t - 1].1 * &p.1);
                        e[t].0 += a;
                        e[t].1 += b;
                    }
                }
                total = e.swap_remove(*k);
            } else {
                for subset in subsets(*n, *k) {
                    let (mut a, mut b) = one();
                    for j in &subset {
                        a *= &per_candidate[*j].0;
                        b *= &per_candidate[*j].1;
                    }
                    for (cond, ka, kb) in &others {
                        if let Cond::Picks(s) = cond {
                            if s.iter().any(|i| subset.contains(i)) {
                                a *= ka;
                                b *= kb;
                            }
                        }
                    }
                    total.0 += a;
                    total.1 += b;
                }
            }
        }
        d => {
            for v in 0..d.size().unwrap_or(0) as usize {
                let (a, b) = product(&|c: &Cond| match c {
                    Cond::Values(s) => s.contains(&v),
                    Cond::Picks(_) => false,
                });
                total.0 += a;
                if !zero[l.0 as usize].contains(&v) {
                    total.1 += b;
                }
            }
        }
    }
    memo[l.0 as usize] = Some(total.clone());
    Some(total)
}

/// Every `k`-element subset of `0..n`, in lexicographic order.
fn subsets(n: usize, k: usize) -> Vec<Vec<usize>> {
    let mut out = Vec::new();
    let mut current = Vec::new();
    fn go(start: usize, n: usize, k: usize, current: &mut Vec<usize>, out: &mut Vec<Vec<usize>>) {
        if current.len() == k {
            out.push(current.clone());
            return;
        }
        for i in start..n {
            current.push(i);
            go(i + 1, n, k, current, out);
            current.pop();
        }
    }
    go(0, n, k, &mut current, &mut out);
    out
}
