//! Grid search: every network of the space exactly once (NNI's `GridSearch`), streaming.
//!
//! In order, a mixed-radix counter runs over the labels' domains (input choices as `k`-subsets
//! in lexicographic order). Labels are ordered so that a choice comes before the labels inside
//! its alternatives, repetitions or candidates (the later a label's last use in the graph, the
//! more significant its digit); a label that cannot be used under the choices already fixed is
//! held at its first value instead of being counted through. Each counter value is proposed
//! when it is canonical (every unused label at its first value: one value per network) and
//! meets the constraints, so every network comes exactly once and nothing is materialised.
//!
//! Shuffled, the counter's index space `[0, N)` (`N` the number of label assignments, at most
//! 2^128) is visited in the order of a seeded pseudo-random permutation: a Feistel network on
//! the smallest even number of bits that holds `N - 1`, with cycle-walking to stay below `N`
//! (Black & Rogaway, "Ciphers with Arbitrary Finite Domains", CT-RSA 2002). Each index is a
//! label assignment; its canonical network is proposed the first time it comes up.

use super::{
    feasible, first_choice, next_subset, unrank_subset, Dom, Space, Strategy, StrategyError,
};
use crate::arch::{Architecture, Choice};
use crate::ir::{Graph, LabelId, NodeKind};
use num_bigint::BigUint;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::HashSet;

/// Counter values (or indices) one `ask` looks at, at most, before it returns
/// [`StrategyError::NoNewArchitecture`]; the next `ask` goes on from there.
pub const MAX_SCAN: u64 = 1_000_000;

/// Options of [`Grid`].
#[derive(Debug, Clone, PartialEq)]
pub struct GridOptions {
    /// Visit the networks in a seeded random order (default on, as NNI's `GridSearch`, which
    /// shuffles within buffers of 100; here the whole order is a permutation).
    pub shuffle: bool,
}

impl Default for GridOptions {
    fn default() -> Self {
        GridOptions { shuffle: true }
    }
}

/// Grid search: every feasible network of the space exactly once, then `Ok(None)`.
pub struct Grid {
    space: Space,
    order: Order,
}

enum Order {
    Counter(Counter),
    Shuffled(Shuffled),
}

impl Grid {
    /// Grid search over `graph`. Shuffled grid search numbers label assignments in 128 bits
    /// and fails with [`StrategyError::SpaceTooLarge`] beyond.
    pub fn new(graph: &Graph, seed: u64, options: &GridOptions) -> Result<Grid, StrategyError> {
        let space = Space::new(graph)?;
        let order = if options.shuffle {
            Order::Shuffled(Shuffled::new(&space, seed)?)
        } else {
            Order::Counter(Counter::new(&space))
        };
        Ok(Grid { space, order })
    }
}

impl Strategy for Grid {
    fn ask(&mut self) -> Result<Option<Architecture>, StrategyError> {
        match &mut self.order {
            Order::Counter(c) => c.next(&self.space),
            Order::Shuffled(s) => s.next(&self.space),
        }
    }

    fn tell(&mut self, _arch: &Architecture, _metric: Option<f64>) {}

    fn name(&self) -> &'static str {
        "grid"
    }
}

// ---------------------------------------------------------------------------------------------
// In order.
// ---------------------------------------------------------------------------------------------

struct Counter {
    /// Label ids, most significant first.
    order: Vec<usize>,
    /// The current assignment, by label id.
    current: Vec<Choice>,
    /// By position: held at its first value (the label cannot be used).
    held: Vec<bool>,
    started: bool,
    done: bool,
}

impl Counter {
    fn new(space: &Space) -> Counter {
        let g = &space.graph;
        let n = g.labels.len();
        let mut last_use: Vec<Option<usize>> = vec![None; n];
        for (i, ls) in space.node_labels.iter().enumerate() {
            for l in ls {
                last_use[l.0 as usize] = Some(i);
            }
        }
        let mut order: Vec<usize> = (0..n).collect();
        // Most significant first: latest last use; unused labels last; ties by label id.
        order.sort_by_key(|l| (std::cmp::Reverse(last_use[*l]), *l));
        let current = g.labels.labels.iter().map(|l| first_choice(&l.domain)).collect();
        Counter { order, current, held: vec![false; n], started: false, done: false }
    }

    /// The labels that may be used when the labels at positions before `fixed` are as in
    /// `current` and the others are still open.
    fn possibly_used(&self, space: &Space, fixed: usize) -> Vec<bool> {
        let g = &space.graph;
        let mut decided = vec![false; g.labels.len()];
        for l in &self.order[..fixed] {
            decided[*l] = true;
        }
        let is = |l: &LabelId| decided[l.0 as usize];
        let arch = Architecture { choices: self.current.clone() };
        let mut live = vec![false; g.nodes.len()];
        let mut stack = vec![g.output];
        while let Some(h) = stack.pop() {
            if std::mem::replace(&mut live[h.index()], true) {
                continue;
            }
            match &g.nodes.get(h).kind {
                NodeKind::Input { .. } => {}
                NodeKind::Op { inputs, .. } => stack.extend(inputs.iter().copied()),
                NodeKind::LayerChoice { label, alternatives } => {
                    match (&self.current[label.0 as usize], is(label)) {
                        (Choice::Index(i), true) => stack.push(alternatives[*i]),
                        _ => stack.extend(alternatives.iter().copied()),
                    }
                }
                NodeKind::Repeat { label, outputs, .. } => {
                    match (&self.current[label.0 as usize], is(label)) {
                        (Choice::Index(i), true) => stack.push(outputs[*i]),
                        _ => stack.extend(outputs.iter().copied()),
                    }
                }
                NodeKind::InputChoice { label, candidates, .. } => {
                    match (&self.current[label.0 as usize], is(label)) {
                        (Choice::Subset(s), true) => stack.extend(s.iter().map(|i| candidates[*i])),
                        _ => stack.extend(candidates.iter().copied()),
                    }
                }
                NodeKind::Select { cond, then, otherwise } => {
                    let known = cond.labels().iter().all(is);
                    match (known, arch.eval(g, cond)) {
                        (true, Ok(crate::ir::Const::Bool(true))) => stack.push(*then),
                        (true, Ok(crate::ir::Const::Bool(false))) => stack.push(*otherwise),
                        (true, _) => {}
                        (false, _) => stack.extend([*then, *otherwise]),
                    }
                }
            }
        }
        let mut used = vec![false; g.labels.len()];
        for (i, ls) in space.node_labels.iter().enumerate() {
            if live[i] {
                for l in ls {
                    used[l.0 as usize] = true;
                }
            }
        }
        used
    }

    /// Sets positions `from..` to their first values, holding those that cannot be used.
    fn reset_from(&mut self, space: &Space, from: usize) {
        let mut used: Option<Vec<bool>> = None;
        for pos in from..self.order.len() {
            let l = self.order[pos];
            self.current[l] = first_choice(&space.graph.labels.labels[l].domain);
            // Fixing a label that controls nothing cannot make another label unusable.
            if used.is_none() || (pos > from && space.controls[self.order[pos - 1]]) {
                used = Some(self.possibly_used(space, pos));
            }
            self.held[pos] = !used.as_ref().is_some_and(|u| u[l]);
        }
    }

    /// Advances the counter; `false` after the last value.
    fn increment(&mut self, space: &Space) -> bool {
        for pos in (0..self.order.len()).rev() {
            if self.held[pos] {
                continue;
            }
            let l = self.order[pos];
            let advanced = match (&mut self.current[l], space.doms[l]) {
                (Choice::Index(i), Dom::Index(size)) if *i + 1 < size => {
                    *i += 1;
                    true
                }
                (Choice::Subset(s), Dom::Subset { n, .. }) => next_subset(s, n),
                _ => false,
            };
            if advanced {
                self.reset_from(space, pos + 1);
                return true;
            }
        }
        false
    }

    fn next(&mut self, space: &Space) -> Result<Option<Architecture>, StrategyError> {
        let mut scanned = 0u64;
        loop {
            if self.done {
                return Ok(None);
            }
            if !self.started {
                self.started = true;
                self.reset_from(space, 0);
            } else if !self.increment(space) {
                self.done = true;
                return Ok(None);
            }
            let a = Architecture { choices: self.current.clone() };
            if space.canonical(&a) == a && feasible(&space.graph, &a) {
                return Ok(Some(a));
            }
            scanned += 1;
            if scanned >= MAX_SCAN {
                return Err(StrategyError::NoNewArchitecture { tries: scanned });
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Shuffled.
// ---------------------------------------------------------------------------------------------

/// A seeded pseudo-random permutation of `[0, n)`: a balanced Feistel network on `2 * half`
/// bits (a permutation of `[0, 2^(2 half))` whatever its round function), restricted to
/// `[0, n)` by cycle-walking. `2^(2 half) < 4 n`, so a step takes fewer than 4 rounds of the
/// network on average.
pub(crate) struct Permutation {
    n: u128,
    half: u32,
    keys: [u64; 6],
}

impl Permutation {
    pub fn new(n: u128, rng: &mut impl Rng) -> Permutation {
        let bits = 128 - n.saturating_sub(1).leading_zeros();
        let half = bits.div_ceil(2).max(1);
        let keys = std::array::from_fn(|_| rng.random());
        Permutation { n, half, keys }
    }

    fn mix(mut z: u64) -> u64 {
        // SplitMix64's finaliser.
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn encrypt(&self, x: u128) -> u128 {
        let mask: u128 = (1u128 << self.half) - 1;
        let (mut l, mut r) = ((x >> self.half) & mask, x & mask);
        for k in self.keys {
            let f = Self::mix((r as u64).wrapping_add(k)) as u128 & mask;
            (l, r) = (r, l ^ f);
        }
        (l << self.half) | r
    }

    /// The image of `i` (< n).
    pub fn apply(&self, i: u128) -> u128 {
        let mut x = self.encrypt(i);
        while x >= self.n {
            x = self.encrypt(x);
        }
        x
    }
}

struct Shuffled {
    sizes: Vec<u128>,
    total: u128,
    next: u128,
    permutation: Permutation,
    seen: HashSet<Architecture>,
}

impl Shuffled {
    fn new(space: &Space, seed: u64) -> Result<Shuffled, StrategyError> {
        let sizes: Vec<u128> = (0..space.doms.len()).map(|l| space.size(l)).collect();
        let total = sizes
            .iter()
            .try_fold(1u128, |t, s| t.checked_mul(*s))
            .filter(|_| sizes.iter().all(|s| *s != u128::MAX));
        let Some(total) = total else {
            let mut big = BigUint::from(1u32);
            for info in &space.graph.labels.labels {
                big *= match &info.domain {
                    crate::ir::Domain::Inputs { n, k } => binomial_big(*n, *k),
                    d => BigUint::from(d.size().unwrap_or(0)),
                };
            }
            return Err(StrategyError::SpaceTooLarge { size: big.to_string() });
        };
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        Ok(Shuffled {
            sizes,
            total,
            next: 0,
            permutation: Permutation::new(total, &mut rng),
            seen: HashSet::new(),
        })
    }

    /// The label assignment numbered `i`: mixed radix, the last label least significant.
    fn unrank(&self, space: &Space, mut i: u128) -> Architecture {
        let mut choices = vec![Choice::Index(0); self.sizes.len()];
        for l in (0..self.sizes.len()).rev() {
            let d = i % self.sizes[l];
            i /= self.sizes[l];
            choices[l] = match space.doms[l] {
                Dom::Index(_) => Choice::Index(d as usize),
                Dom::Subset { n, k } => Choice::Subset(unrank_subset(d, n, k)),
            };
        }
        Architecture { choices }
    }

    fn next(&mut self, space: &Space) -> Result<Option<Architecture>, StrategyError> {
        let mut scanned = 0u64;
        while self.next < self.total {
            let i = self.permutation.apply(self.next);
            self.next += 1;
            let a = space.canonical(&self.unrank(space, i));
            if self.seen.insert(a.clone()) && feasible(&space.graph, &a) {
                return Ok(Some(a));
            }
            scanned += 1;
            if scanned >= MAX_SCAN {
                return Err(StrategyError::NoNewArchitecture { tries: scanned });
            }
        }
        Ok(None)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_permutation_is_a_bijection_of_every_small_range() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for n in [1u128, 2, 3, 5, 16, 17, 100, 1000, 4097] {
            let p = Permutation::new(n, &mut rng);
            let mut hit = vec![false; n as usize];
            for i in 0..n {
                let j = p.apply(i);
                assert!(j < n);
                assert!(!std::mem::replace(&mut hit[j as usize], true), "n = {n}: {j} twice");
            }
            if n >= 100 {
                let moved = (0..n).filter(|i| p.apply(*i) != *i).count();
                assert!(moved as u128 > n * 9 / 10, "n = {n}: only {moved} moved");
            }
        }
        // The largest domain: 128 bits, 64-bit halves.
        let p = Permutation::new(u128::MAX, &mut rng);
        assert_eq!(p.half, 64);
        let xs: HashSet<u128> = (0..1000u128).map(|i| p.apply(i)).collect();
        assert_eq!(xs.len(), 1000);
    }
}
