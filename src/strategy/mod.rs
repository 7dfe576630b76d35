//! Multi-trial search strategies in ask/tell form: a strategy proposes the architecture of the
//! next trial ([`Strategy::ask`]) and receives the trial's result ([`Strategy::tell`]). The
//! experiment layer trains each proposed architecture; nothing here trains, reads files or
//! touches tensors.
//!
//! Five strategies, after NNI's multi-trial strategies and their papers:
//! [`Random`] (random search), [`Grid`] (grid search), [`Evolution`] (regularized evolution,
//! Real et al. 2019), [`Tpe`] (the Tree-structured Parzen Estimator, Bergstra et al. 2011) and
//! [`Ppo`] (NNI's `PolicyBasedRL`: an LSTM policy trained with PPO, Schulman et al. 2017, whose
//! network and training live in [`crate::runtime::controller`]).
//! [`make`] builds one by [`StrategyKind`].
//!
//! Shared rules:
//! - The direction of the metric is always explicit ([`Mode`]).
//! - Every proposal meets the space's constraints (`where params <= ...`): [`feasible`].
//! - Proposals are canonical ([`canonical`]): labels that an architecture does not use are set to
//!   their first value, so that two proposals are equal exactly when they are the same network.
//!   Deduplication is by network.
//! - Determinism: a strategy built with the same graph, mode, seed and options, given the same
//!   sequence of `ask` and `tell` calls with the same values, proposes the same architectures
//!   (the experiment layer resumes by replaying its trial history). Randomness comes from one
//!   `ChaCha8Rng` seeded with the seed, and no iteration over a hash map affects a result.
//! - A failed trial (`tell` with `None`, or a NaN metric) counts as seen, never as a parent or
//!   a good observation.
//! - Results may be outstanding: `ask` may be called any number of times before the results of
//!   earlier proposals arrive (concurrent trials).

mod evolution;
mod grid;
mod ppo;
mod random;
mod tpe;

pub use evolution::{Evolution, EvolutionOptions, CHILD_TRIES};
pub use grid::{Grid, GridOptions, MAX_SCAN};
pub use ppo::{Ppo, PpoOptions};
pub use random::{Random, RandomOptions};
pub use tpe::{Liar, Split, Tpe, TpeOptions, CANDIDATE_ROUNDS, SUBSET_CATEGORIES};

use crate::arch::{self, Architecture, Choice};
use crate::ir::{Domain, Graph, LabelId, Measure, NodeKind};
use rand::Rng;
use std::collections::{HashMap, HashSet};

/// Spaces with at most this many label assignments are small: a strategy may enumerate them,
/// so that it detects exactly when no new architecture is left.
pub const EXACT_LIMIT: u64 = crate::facts::EXACT_LIMIT;

/// How many random architectures a strategy draws, at most, for one proposal in a space that is
/// too large to enumerate, before it gives up with [`StrategyError::NoNewArchitecture`].
pub const MAX_TRIES: u64 = 10_000;

/// Random draws tried before a small space is enumerated (rejection sampling is cheap while
/// most of the space is new; near exhaustion the enumeration is exact and faster).
const QUICK_TRIES: u64 = 100;

/// The direction of the metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Larger is better (accuracy).
    Max,
    /// Smaller is better (loss, error, latency).
    Min,
}

impl Mode {
    /// The metric turned so that larger is better.
    pub fn oriented(self, metric: f64) -> f64 {
        match self {
            Mode::Max => metric,
            Mode::Min => -metric,
        }
    }

    /// Whether metric `a` is strictly better than metric `b`.
    pub fn better(self, a: f64, b: f64) -> bool {
        self.oriented(a) > self.oriented(b)
    }
}

impl std::str::FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> Result<Mode, String> {
        match s {
            "max" | "maximize" => Ok(Mode::Max),
            "min" | "minimize" => Ok(Mode::Min),
            _ => Err(format!("unknown mode `{s}`; expected `max` or `min`")),
        }
    }
}

impl std::fmt::Display for Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Mode::Max => "max",
            Mode::Min => "min",
        })
    }
}

/// A multi-trial search strategy in ask/tell form.
pub trait Strategy: Send {
    /// The next architecture to train, or `Ok(None)` when the strategy has nothing left (the
    /// space is exhausted). Every proposal is canonical and meets the space's constraints.
    fn ask(&mut self) -> Result<Option<Architecture>, StrategyError>;

    /// The result of an architecture it proposed: `Some(metric)` for a trial that succeeded,
    /// `None` for one that failed.
    fn tell(&mut self, arch: &Architecture, metric: Option<f64>);

    /// The strategy's name (`random`, `grid`, `evolution`, `tpe`, `ppo`).
    fn name(&self) -> &'static str;
}

/// Which strategy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StrategyKind {
    /// Random search ([`Random`]).
    Random,
    /// Grid search ([`Grid`]).
    Grid,
    /// Regularized evolution ([`Evolution`]).
    Evolution,
    /// Tree-structured Parzen Estimator ([`Tpe`]).
    Tpe,
    /// Policy-based reinforcement learning with PPO (NNI's `PolicyBasedRL`) ([`Ppo`]).
    Ppo,
}

impl StrategyKind {
    /// Every kind, in the order the documentation lists them.
    pub const ALL: [StrategyKind; 5] = [
        StrategyKind::Random,
        StrategyKind::Grid,
        StrategyKind::Evolution,
        StrategyKind::Tpe,
        StrategyKind::Ppo,
    ];

    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            StrategyKind::Random => "random",
            StrategyKind::Grid => "grid",
            StrategyKind::Evolution => "evolution",
            StrategyKind::Tpe => "tpe",
            StrategyKind::Ppo => "ppo",
        }
    }
}

impl std::str::FromStr for StrategyKind {
    type Err = StrategyError;
    fn from_str(s: &str) -> Result<StrategyKind, StrategyError> {
        StrategyKind::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| StrategyError::UnknownStrategy(s.to_string()))
    }
}

impl std::fmt::Display for StrategyKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A strategy could not be built or cannot propose.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StrategyError {
    /// Random draws found no new architecture that meets the constraints (a space too large to
    /// enumerate, with most of it tried or ruled out by the constraints).
    #[error("gave up after {tries} tries: found no new architecture that meets the space's constraints (the space is too large to enumerate, so it may not be exhausted)")]
    NoNewArchitecture {
        /// How many architectures were drawn or visited.
        tries: u64,
    },
    /// A shuffled grid numbers every label assignment with a 128-bit integer.
    #[error(
        "the model space has {size} label assignments, more than shuffled grid search can number (2^128); use grid search without shuffle, or random search"
    )]
    SpaceTooLarge {
        /// The number of label assignments, in decimal.
        size: String,
    },
    /// A label whose domain is empty: no architecture exists.
    #[error("label `{label}` has no values, so the space has no architecture")]
    EmptyDomain {
        /// The label.
        label: String,
    },
    /// An option with a value outside its range.
    #[error("option `{name}`: {message}")]
    InvalidOption {
        /// The option.
        name: String,
        /// What is wrong.
        message: String,
    },
    /// An option the strategy does not have.
    #[error("the {strategy} strategy has no option `{name}`; its options: {expected}")]
    UnknownOption {
        /// The strategy.
        strategy: &'static str,
        /// The option given.
        name: String,
        /// The options it has, comma-separated.
        expected: String,
    },
    /// A name that is no strategy.
    #[error("unknown strategy `{0}`; expected one of random, grid, evolution, tpe, ppo")]
    UnknownStrategy(String),
    /// A strategy that this module does not build.
    #[error("the {0} strategy is not built by `strategy::make`")]
    Unavailable(&'static str),
    /// The policy of the ppo strategy could not be built or trained (an internal error).
    #[error("the ppo strategy's policy failed: {0}")]
    Policy(String),
}

/// The options of every strategy (each strategy reads its own).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Options {
    /// For [`StrategyKind::Random`].
    pub random: RandomOptions,
    /// For [`StrategyKind::Grid`].
    pub grid: GridOptions,
    /// For [`StrategyKind::Evolution`].
    pub evolution: EvolutionOptions,
    /// For [`StrategyKind::Tpe`].
    pub tpe: TpeOptions,
    /// For [`StrategyKind::Ppo`].
    pub ppo: PpoOptions,
}

impl Options {
    /// Sets one option of `kind` from text (`population_size`, `50`), as a command line gives
    /// it. Booleans are `true`/`false`.
    pub fn set(&mut self, kind: StrategyKind, key: &str, value: &str) -> Result<(), StrategyError> {
        fn parse<T: std::str::FromStr>(key: &str, value: &str) -> Result<T, StrategyError> {
            value.parse().map_err(|_| StrategyError::InvalidOption {
                name: key.to_string(),
                message: format!("cannot read `{value}`"),
            })
        }
        let unknown = |expected: &str| StrategyError::UnknownOption {
            strategy: kind.name(),
            name: key.to_string(),
            expected: expected.to_string(),
        };
        match kind {
            StrategyKind::Random => match key {
                "dedup" => self.random.dedup = parse(key, value)?,
                _ => return Err(unknown("dedup")),
            },
            StrategyKind::Grid => match key {
                "shuffle" => self.grid.shuffle = parse(key, value)?,
                _ => return Err(unknown("shuffle")),
            },
            StrategyKind::Evolution => {
                let e = &mut self.evolution;
                match key {
                    "population_size" => e.population_size = parse(key, value)?,
                    "sample_size" => e.sample_size = parse(key, value)?,
                    "mutation_prob" => e.mutation_prob = parse(key, value)?,
                    "crossover" => e.crossover = parse(key, value)?,
                    "dedup" => e.dedup = parse(key, value)?,
                    _ => {
                        return Err(unknown(
                            "population_size, sample_size, mutation_prob, crossover, dedup",
                        ))
                    }
                }
            }
            StrategyKind::Tpe => {
                let t = &mut self.tpe;
                match key {
                    "n_startup" => t.n_startup = parse(key, value)?,
                    "n_ei_candidates" => t.n_ei_candidates = parse(key, value)?,
                    "gamma" => t.gamma = parse(key, value)?,
                    "prior_weight" => t.prior_weight = parse(key, value)?,
                    "linear_forgetting" => t.linear_forgetting = parse(key, value)?,
                    "split" => t.split = parse(key, value)?,
                    "constant_liar" => t.liar = parse(key, value)?,
                    "dedup" => t.dedup = parse(key, value)?,
                    _ => return Err(unknown("n_startup, n_ei_candidates, gamma, prior_weight, linear_forgetting, split, constant_liar, dedup")),
                }
            }
            StrategyKind::Ppo => {
                let p = &mut self.ppo;
                match key {
                    "samples_per_update" => p.samples_per_update = parse(key, value)?,
                    "batch_size" => p.batch_size = parse(key, value)?,
                    "repeat" => p.repeat = parse(key, value)?,
                    "update_times" => p.update_times = parse(key, value)?,
                    "lr" => p.lr = parse(key, value)?,
                    "clip" => p.clip = parse(key, value)?,
                    "ent_coef" => p.ent_coef = parse(key, value)?,
                    "dedup" => p.dedup = parse(key, value)?,
                    _ => return Err(unknown("samples_per_update, batch_size, repeat, update_times, lr, clip, ent_coef, dedup")),
                }
            }
        }
        Ok(())
    }
}

/// Builds a strategy of `kind` over the model space `graph`, optimising the metric in
/// direction `mode`, with its randomness seeded by `seed`.
pub fn make(
    kind: StrategyKind,
    graph: &Graph,
    mode: Mode,
    seed: u64,
    options: &Options,
) -> Result<Box<dyn Strategy>, StrategyError> {
    Ok(match kind {
        StrategyKind::Random => Box::new(Random::new(graph, seed, &options.random)?),
        StrategyKind::Grid => Box::new(Grid::new(graph, seed, &options.grid)?),
        StrategyKind::Evolution => Box::new(Evolution::new(graph, mode, seed, &options.evolution)?),
        StrategyKind::Tpe => Box::new(Tpe::new(graph, mode, seed, &options.tpe)?),
        StrategyKind::Ppo => Box::new(Ppo::new(graph, mode, seed, &options.ppo)?),
    })
}

/// The first value of a domain: index 0, or the first `k` inputs.
pub fn first_choice(domain: &Domain) -> Choice {
    match domain {
        Domain::Inputs { k, .. } => Choice::Subset((0..*k).collect()),
        _ => Choice::Index(0),
    }
}

/// `arch` with every label it does not use ([`arch::active_labels`]) set to its first value:
/// two architectures are the same network exactly when their canonical forms are equal.
pub fn canonical(graph: &Graph, arch: &Architecture) -> Architecture {
    let mut active = vec![false; graph.labels.len()];
    for l in arch::active_labels(graph, arch) {
        active[l.0 as usize] = true;
    }
    let choices = arch
        .choices
        .iter()
        .zip(&graph.labels.labels)
        .zip(active)
        .map(|((c, info), on)| if on { c.clone() } else { first_choice(&info.domain) })
        .collect();
    Architecture { choices }
}

/// Whether `arch` meets every constraint of the space; an architecture whose cost cannot be
/// computed does not.
pub fn feasible(graph: &Graph, arch: &Architecture) -> bool {
    let Ok((params, flops)) = arch::cost(graph, arch) else { return false };
    graph.constraints.iter().all(|c| {
        c.holds(match c.measure {
            Measure::Params => params as f64,
            Measure::Flops => flops as f64,
        })
    })
}

/// Whether `arch` has one choice per label, each inside its label's domain.
pub fn well_formed(graph: &Graph, arch: &Architecture) -> bool {
    arch.choices.len() == graph.labels.len()
        && arch.choices.iter().zip(&graph.labels.labels).all(|(c, info)| match (&info.domain, c) {
            (Domain::Values { values }, Choice::Index(i)) => *i < values.len(),
            (Domain::Alternatives { names }, Choice::Index(i)) => *i < names.len(),
            (Domain::Inputs { n, k }, Choice::Subset(s)) => {
                s.len() == *k && s.windows(2).all(|w| w[0] < w[1]) && s.iter().all(|i| i < n)
            }
            _ => false,
        })
}

// ---------------------------------------------------------------------------------------------
// Shared machinery.
// ---------------------------------------------------------------------------------------------

/// The shape of one label's domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dom {
    /// `size` values, chosen by index.
    Index(usize),
    /// `k` of `n` inputs.
    Subset { n: usize, k: usize },
}

/// A model space as the strategies see it: the graph and the shape of every label's domain.
pub(crate) struct Space {
    pub graph: Graph,
    pub doms: Vec<Dom>,
    /// The number of label assignments, if at most [`EXACT_LIMIT`].
    pub small: Option<u64>,
    /// The labels each node refers to when it runs (its own choice, its symbolic attributes,
    /// cost and shape), sorted: what [`arch::active_labels`] collects, computed once.
    pub node_labels: Vec<Vec<LabelId>>,
    /// The nodes that refer to any label.
    pub labelled: Vec<usize>,
    /// Labels that decide which nodes run (choices, and the values in `if` conditions).
    pub controls: Vec<bool>,
}

impl Space {
    pub fn new(graph: &Graph) -> Result<Space, StrategyError> {
        let mut doms = Vec::with_capacity(graph.labels.len());
        let mut total: Option<u64> = Some(1);
        for info in &graph.labels.labels {
            let d = match &info.domain {
                Domain::Values { values } => Dom::Index(values.len()),
                Domain::Alternatives { names } => Dom::Index(names.len()),
                Domain::Inputs { n, k } => Dom::Subset { n: *n, k: *k },
            };
            let empty = match d {
                Dom::Index(s) => s == 0,
                Dom::Subset { n, k } => k > n,
            };
            if empty {
                return Err(StrategyError::EmptyDomain { label: info.name.clone() });
            }
            total = total.and_then(|t| info.domain.size().and_then(|s| t.checked_mul(s)));
            doms.push(d);
        }
        let small = total.filter(|t| *t <= EXACT_LIMIT);
        let mut node_labels = Vec::with_capacity(graph.nodes.len());
        let mut controls = vec![false; graph.labels.len()];
        for (_, node) in graph.nodes.iter() {
            let mut ls: Vec<LabelId> = Vec::new();
            match &node.kind {
                NodeKind::LayerChoice { label, .. }
                | NodeKind::InputChoice { label, .. }
                | NodeKind::Repeat { label, .. } => {
                    ls.push(*label);
                    controls[label.0 as usize] = true;
                }
                NodeKind::Op { attrs, cost, .. } => {
                    for (_, s) in attrs.iter() {
                        ls.extend(s.labels());
                    }
                    ls.extend(cost.params.labels());
                    ls.extend(cost.flops.labels());
                }
                NodeKind::Select { cond, .. } => {
                    for l in cond.labels() {
                        controls[l.0 as usize] = true;
                        ls.push(l);
                    }
                }
                NodeKind::Input { .. } => {}
            }
            for d in node.shape.iter() {
                ls.extend(d.labels());
            }
            ls.sort();
            ls.dedup();
            node_labels.push(ls);
        }
        let labelled = (0..node_labels.len()).filter(|i| !node_labels[*i].is_empty()).collect();
        Ok(Space { graph: graph.clone(), doms, small, node_labels, labelled, controls })
    }

    /// The labels `a` uses, as a mask: [`arch::active_labels`] with the per-node label lists
    /// computed once.
    pub fn used(&self, a: &Architecture) -> Vec<bool> {
        let live = arch::liveness(&self.graph, a);
        let mut used = vec![false; self.doms.len()];
        for i in &self.labelled {
            if live[*i] {
                for l in &self.node_labels[*i] {
                    used[l.0 as usize] = true;
                }
            }
        }
        used
    }

    /// [`canonical`], faster.
    pub fn canonical(&self, a: &Architecture) -> Architecture {
        self.canonical_used(a).0
    }

    /// [`canonical`] and the labels the architecture uses.
    pub fn canonical_used(&self, a: &Architecture) -> (Architecture, Vec<bool>) {
        let used = self.used(a);
        let choices = a
            .choices
            .iter()
            .zip(&self.graph.labels.labels)
            .zip(&used)
            .map(|((c, info), on)| if *on { c.clone() } else { first_choice(&info.domain) })
            .collect();
        (Architecture { choices }, used)
    }

    pub fn feasible(&self, a: &Architecture) -> bool {
        feasible(&self.graph, a)
    }

    /// A uniformly random value of label `l`.
    pub fn random_choice(&self, l: usize, rng: &mut impl Rng) -> Choice {
        match self.doms[l] {
            Dom::Index(s) => Choice::Index(rng.random_range(0..s)),
            Dom::Subset { n, k } => {
                let mut s = rand::seq::index::sample(rng, n, k).into_vec();
                s.sort();
                Choice::Subset(s)
            }
        }
    }

    /// How many values label `l` has, saturating.
    pub fn size(&self, l: usize) -> u128 {
        match self.doms[l] {
            Dom::Index(s) => s as u128,
            Dom::Subset { n, k } => binomial(n, k).unwrap_or(u128::MAX),
        }
    }
}

/// `n choose k` in 128 bits, `None` on overflow.
pub(crate) fn binomial(n: usize, k: usize) -> Option<u128> {
    if k > n {
        return Some(0);
    }
    let k = k.min(n - k);
    let mut r: u128 = 1;
    for i in 0..k {
        // r is C(n, i), and C(n, i + 1) = r * (n - i) / (i + 1). With g = gcd(r, i + 1), the
        // factor (i + 1) / g divides n - i, so nothing larger than the result is formed.
        let (num, den) = ((n - i) as u128, i as u128 + 1);
        let g = gcd(r, den);
        r = (r / g).checked_mul(num / (den / g))?;
    }
    Some(r)
}

fn gcd(mut a: u128, mut b: u128) -> u128 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// The rank of a sorted `k`-subset of `0..n` among all of them in lexicographic order.
pub(crate) fn rank_subset(s: &[usize], n: usize) -> u128 {
    let k = s.len();
    let mut rank = 0u128;
    let mut prev = 0usize;
    for (j, &c) in s.iter().enumerate() {
        for skipped in prev..c {
            rank += binomial(n - skipped - 1, k - j - 1).unwrap_or(0);
        }
        prev = c + 1;
    }
    rank
}

/// The `k`-subset of `0..n` of lexicographic rank `rank` (the inverse of [`rank_subset`]).
pub(crate) fn unrank_subset(mut rank: u128, n: usize, k: usize) -> Vec<usize> {
    let mut out = Vec::with_capacity(k);
    let mut c = 0usize;
    for j in 0..k {
        loop {
            let count = binomial(n - c - 1, k - j - 1).unwrap_or(u128::MAX);
            if rank < count {
                break;
            }
            rank -= count;
            c += 1;
        }
        out.push(c);
        c += 1;
    }
    out
}

/// The next sorted `k`-subset of `0..n` in lexicographic order, in place; `false` after the
/// last.
pub(crate) fn next_subset(s: &mut [usize], n: usize) -> bool {
    let k = s.len();
    for j in (0..k).rev() {
        if s[j] < n - k + j {
            s[j] += 1;
            for i in j + 1..k {
                s[i] = s[i - 1] + 1;
            }
            return true;
        }
    }
    false
}

/// A Fenwick tree of weights, for drawing an index with probability proportional to its weight
/// and setting weights to zero.
struct Fenwick {
    tree: Vec<u64>,
    weights: Vec<u64>,
}

impl Fenwick {
    fn new(weights: Vec<u64>) -> Fenwick {
        let n = weights.len();
        let mut tree = vec![0u64; n + 1];
        for (i, w) in weights.iter().enumerate() {
            let mut j = i + 1;
            while j <= n {
                tree[j] += w;
                j += j & j.wrapping_neg();
            }
        }
        Fenwick { tree, weights }
    }

    fn total(&self) -> u64 {
        self.weights.iter().sum()
    }

    fn clear(&mut self, i: usize) {
        let w = std::mem::take(&mut self.weights[i]);
        let mut j = i + 1;
        while j < self.tree.len() {
            self.tree[j] -= w;
            j += j & j.wrapping_neg();
        }
    }

    /// The index whose cumulative weight range contains `r` (`r` < total).
    fn find(&self, mut r: u64) -> usize {
        let n = self.tree.len() - 1;
        let mut pos = 0usize;
        let mut step = n.next_power_of_two();
        while step > 0 {
            let next = pos + step;
            if next <= n && self.tree[next] <= r {
                pos = next;
                r -= self.tree[next];
            }
            step /= 2;
        }
        pos
    }
}

/// Every feasible network of a small space, each weighted by how many label assignments give
/// it, so that a weighted draw is the same as drawing uniform label assignments.
struct Pool {
    archs: Vec<Architecture>,
    index: HashMap<Architecture, usize>,
    weights: Fenwick,
    total: u64,
}

impl Pool {
    fn build(space: &Space) -> Option<Pool> {
        let all = arch::enumerate(&space.graph, EXACT_LIMIT)?;
        let mut archs = Vec::new();
        let mut weights: Vec<u64> = Vec::new();
        let mut index: HashMap<Architecture, usize> = HashMap::new();
        let mut infeasible: HashSet<Architecture> = HashSet::new();
        for a in &all {
            let c = space.canonical(a);
            if let Some(i) = index.get(&c) {
                weights[*i] += 1;
                continue;
            }
            if infeasible.contains(&c) {
                continue;
            }
            if !space.feasible(&c) {
                infeasible.insert(c);
                continue;
            }
            index.insert(c.clone(), archs.len());
            archs.push(c);
            weights.push(1);
        }
        let total = weights.iter().sum();
        Some(Pool { archs, index, weights: Fenwick::new(weights), total })
    }

    fn remove(&mut self, a: &Architecture) {
        if let Some(&i) = self.index.get(a) {
            self.total -= self.weights.weights[i];
            self.weights.clear(i);
        }
    }

    fn draw(&self, rng: &mut impl Rng) -> Option<Architecture> {
        debug_assert_eq!(self.total, self.weights.total());
        if self.total == 0 {
            return None;
        }
        let r = rng.random_range(0..self.total);
        Some(self.archs[self.weights.find(r)].clone())
    }
}

enum PoolState {
    NotBuilt,
    Built(Box<Pool>),
}

/// Bookkeeping of a proposal that evolution and TPE share: the sampler never proposes it again,
/// and it is pending until its result is told.
pub(crate) fn record_ask(
    sampler: &mut Sampler,
    pending: &mut Vec<Architecture>,
    proposal: &Option<Architecture>,
) {
    if let Some(a) = proposal {
        sampler.mark(a);
        pending.push(a.clone());
    }
}

/// Bookkeeping of a result that evolution and TPE share: the canonical form of `arch`, no longer
/// pending and marked seen; `None` for an architecture that does not belong to the space.
pub(crate) fn record_tell(
    space: &Space,
    sampler: &mut Sampler,
    pending: &mut Vec<Architecture>,
    arch: &Architecture,
) -> Option<Architecture> {
    if !well_formed(&space.graph, arch) {
        return None;
    }
    let a = space.canonical(arch);
    if let Some(i) = pending.iter().position(|p| *p == a) {
        pending.remove(i);
    }
    sampler.mark(&a);
    Some(a)
}

/// Draws random new architectures: uniform label assignments, canonical, feasible and (with
/// dedup) not seen before. In a small space it switches to an exact weighted draw from the
/// enumerated space once rejection gets slow, and so detects exhaustion exactly.
pub(crate) struct Sampler {
    dedup: bool,
    seen: HashSet<Architecture>,
    pool: PoolState,
}

impl Sampler {
    pub fn new(dedup: bool) -> Sampler {
        Sampler { dedup, seen: HashSet::new(), pool: PoolState::NotBuilt }
    }

    /// Whether `a` may not be proposed again (dedup is on and it was proposed).
    pub fn blocked(&self, a: &Architecture) -> bool {
        self.dedup && self.seen.contains(a)
    }

    /// Records that `a` (canonical) was proposed.
    pub fn mark(&mut self, a: &Architecture) {
        if self.dedup && self.seen.insert(a.clone()) {
            if let PoolState::Built(pool) = &mut self.pool {
                pool.remove(a);
            }
        }
    }

    /// A random architecture that may be proposed, `None` when a small space has none left.
    pub fn draw(
        &mut self,
        space: &Space,
        rng: &mut impl Rng,
    ) -> Result<Option<Architecture>, StrategyError> {
        if let PoolState::Built(pool) = &self.pool {
            return Ok(pool.draw(rng));
        }
        let tries = if space.small.is_some() { QUICK_TRIES } else { MAX_TRIES };
        for _ in 0..tries {
            let a = space.canonical(&Architecture::random(&space.graph, rng));
            if self.blocked(&a) || !space.feasible(&a) {
                continue;
            }
            return Ok(Some(a));
        }
        match Pool::build(space) {
            Some(mut pool) => {
                if self.dedup {
                    for a in &self.seen {
                        pool.remove(a);
                    }
                }
                let a = pool.draw(rng);
                self.pool = PoolState::Built(Box::new(pool));
                Ok(a)
            }
            None => Err(StrategyError::NoNewArchitecture { tries }),
        }
    }
}

/// A metric usable as a result: finite, oriented so that larger is better.
pub(crate) fn usable(mode: Mode, metric: Option<f64>) -> Option<f64> {
    metric.filter(|m| m.is_finite()).map(|m| mode.oriented(m))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::driver;
    use rand::SeedableRng;

    pub(crate) fn graph(text: &str) -> Graph {
        driver::graphs_of_text("t.nas", text).unwrap_or_else(|e| panic!("{e}")).remove(0)
    }

    /// A layer choice whose second alternative holds a value choice, an input choice (2 of 3),
    /// and a repeat of 1-2 blocks, each with its own kernel choice.
    pub(crate) const NESTED: &str = "
network N(x: Tensor[n, 4, 8, 8]) -> Tensor[n, 10] {
    let h = choice op {
        a: conv_bn_relu(x, out: 4, kernel: 3),
        b: dropout(conv_bn_relu(x, out: 4, kernel: 3), p: choice k [0.0, 0.1, 0.5]),
        c: x,
    }
    let paths = [conv_bn_relu(h, out: 4, kernel: 1), max_pool(h, kernel: 3, stride: 1, padding: 1), h]
    let h = pick fuse 2 of paths reduce sum
    let h = repeat depth [1, 2] from h { conv_bn_relu(h, out: 4, kernel: choice kk [1, 3]) }
    return linear(global_avg_pool(h), out: 10)
}
";

    #[test]
    fn subsets_rank_and_unrank_in_lexicographic_order() {
        for (n, k) in [(5, 2), (6, 3), (4, 4), (7, 1), (3, 0)] {
            let all = arch::combinations(n, k);
            assert_eq!(all.len() as u128, binomial(n, k).unwrap());
            let mut cur: Vec<usize> = (0..k).collect();
            for (r, s) in all.iter().enumerate() {
                assert_eq!(rank_subset(s, n), r as u128);
                assert_eq!(&unrank_subset(r as u128, n, k), s);
                assert_eq!(&cur, s);
                let more = next_subset(&mut cur, n);
                assert_eq!(more, r + 1 < all.len());
            }
        }
        assert_eq!(binomial(200, 100), None);
        assert_eq!(binomial(130, 65).map(|b| b > u64::MAX as u128), Some(true));
    }

    #[test]
    fn fenwick_draws_only_positive_weights() {
        let mut f = Fenwick::new(vec![2, 0, 3, 1]);
        let hits: Vec<usize> = (0..6).map(|r| f.find(r)).collect();
        assert_eq!(hits, [0, 0, 2, 2, 2, 3]);
        f.clear(2);
        assert_eq!(f.total(), 3);
        let hits: Vec<usize> = (0..3).map(|r| f.find(r)).collect();
        assert_eq!(hits, [0, 0, 3]);
    }

    #[test]
    fn canonical_forgets_unused_labels_only() {
        let g = graph(NESTED);
        let names: Vec<&str> = g.labels.labels.iter().map(|l| l.name.as_str()).collect();
        let id = |n: &str| {
            names
                .iter()
                .position(|x| *x == n || x.ends_with(&format!("/{n}")))
                .unwrap_or_else(|| panic!("no label {n} in {names:?}"))
        };
        assert_eq!(names.len(), 6, "{names:?}");
        let (op, k, fuse, depth) = (id("op"), id("k"), id("fuse"), id("depth"));
        let second = names
            .iter()
            .position(|x| x.contains("depth") && x.contains("[1]"))
            .unwrap_or_else(|| panic!("{names:?}"));
        let mut a = Architecture {
            choices: g.labels.labels.iter().map(|l| first_choice(&l.domain)).collect(),
        };
        // Alternative `a` and depth 1: k and the second block's kernel are unused.
        a.choices[k] = Choice::Index(2);
        a.choices[second] = Choice::Index(1);
        a.choices[fuse] = Choice::Subset(vec![1, 2]);
        let c = canonical(&g, &a);
        assert_eq!(c.choices[k], Choice::Index(0));
        assert_eq!(c.choices[second], Choice::Index(0));
        assert_eq!(c.choices[fuse], Choice::Subset(vec![1, 2]), "used labels are kept");
        assert_eq!(canonical(&g, &c), c, "idempotent");
        // Alternative `b` and depth 2: they are used and kept.
        a.choices[op] = Choice::Index(1);
        a.choices[depth] = Choice::Index(1);
        let c = canonical(&g, &a);
        assert_eq!(
            (c.choices[k].clone(), c.choices[second].clone()),
            (Choice::Index(2), Choice::Index(1))
        );
        assert!(well_formed(&g, &c));
        assert!(feasible(&g, &c));
        assert!(!well_formed(&g, &Architecture { choices: c.choices[1..].to_vec() }));
    }

    #[test]
    fn the_fast_canonical_form_is_the_canonical_form() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2);
        let nested = graph(NESTED);
        let files = [
            "examples/mnist.nas",
            "examples/nested.nas",
            "stdlib/spaces/darts.nas",
            "stdlib/spaces/enas.nas",
        ];
        let mut graphs = vec![nested];
        for f in files {
            let input = driver::Input::Path(std::path::Path::new(f));
            graphs.extend(driver::graphs(input).unwrap_or_else(|e| panic!("{f}: {e}")));
        }
        for g in &graphs {
            let space = Space::new(g).unwrap();
            for _ in 0..50 {
                let a = Architecture::random(g, &mut rng);
                assert_eq!(space.canonical(&a), canonical(g, &a), "{}", g.name);
            }
        }
    }

    #[test]
    fn the_sampler_exhausts_a_small_space_exactly() {
        let g = graph(NESTED);
        let space = Space::new(&g).unwrap();
        let distinct: HashSet<Architecture> =
            arch::enumerate(&g, 1000).unwrap().iter().map(|a| canonical(&g, a)).collect();
        let mut sampler = Sampler::new(true);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let mut got = HashSet::new();
        while let Some(a) = sampler.draw(&space, &mut rng).unwrap() {
            assert!(got.insert(a.clone()), "drawn twice: {a:?}");
            sampler.mark(&a);
        }
        assert_eq!(got, distinct);
    }

    #[test]
    fn modes_and_kinds_read_and_print() {
        assert_eq!("max".parse::<Mode>(), Ok(Mode::Max));
        assert_eq!("minimize".parse::<Mode>(), Ok(Mode::Min));
        assert!("up".parse::<Mode>().is_err());
        assert!(Mode::Min.better(1.0, 2.0) && Mode::Max.better(2.0, 1.0));
        for k in StrategyKind::ALL {
            assert_eq!(k.name().parse::<StrategyKind>(), Ok(k));
        }
        assert_eq!(
            "bayes".parse::<StrategyKind>(),
            Err(StrategyError::UnknownStrategy("bayes".into()))
        );
        let mut o = Options::default();
        o.set(StrategyKind::Evolution, "population_size", "10").unwrap();
        o.set(StrategyKind::Tpe, "split", "quantile").unwrap();
        o.set(StrategyKind::Tpe, "constant_liar", "none").unwrap();
        assert_eq!(o.evolution.population_size, 10);
        assert!(matches!(
            o.set(StrategyKind::Grid, "dedup", "true"),
            Err(StrategyError::UnknownOption { .. })
        ));
        assert!(matches!(
            o.set(StrategyKind::Evolution, "sample_size", "many"),
            Err(StrategyError::InvalidOption { .. })
        ));
    }
}
