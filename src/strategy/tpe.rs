//! The Tree-structured Parzen Estimator: Bergstra, Bardenet, Bengio & Kégl, "Algorithms for
//! Hyper-Parameter Optimization", NeurIPS 2011, with categorical Parzen estimators per label as
//! in hyperopt's `tpe.py` and NNI's `TpeTuner` (their defaults), for the maximum or the minimum
//! of the metric as asked.

use super::{
    rank_subset, unrank_subset, usable, Dom, Mode, Sampler, Space, Strategy, StrategyError,
};
use crate::arch::{Architecture, Choice};
use crate::ir::Graph;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::HashMap;

/// An input choice with at most this many `k`-subsets is one categorical label; a larger one is
/// modelled per candidate input (how often each input is among the chosen).
pub const SUBSET_CATEGORIES: u128 = 1024;

/// Rounds of `n_ei_candidates` candidates drawn for one proposal before it falls back to a
/// random new architecture (when every candidate was proposed before or breaks the
/// constraints).
pub const CANDIDATE_ROUNDS: usize = 4;

/// How many observations are good.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    /// The best `ceil(gamma * n)`, at least 1: the paper's gamma-quantile of the metric.
    Quantile,
    /// The best `min(ceil(gamma * sqrt(n)), linear_forgetting)`: hyperopt's and NNI's rule.
    Sqrt,
}

impl std::str::FromStr for Split {
    type Err = String;
    fn from_str(s: &str) -> Result<Split, String> {
        match s {
            "quantile" => Ok(Split::Quantile),
            "sqrt" => Ok(Split::Sqrt),
            _ => Err(format!("unknown split `{s}`; expected `quantile` or `sqrt`")),
        }
    }
}

/// What TPE assumes about the results of trials still running (Ginsbourger et al.'s "constant
/// liar", paper section 6.1, as NNI's `constant_liar_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Liar {
    /// They are as good as the best result so far (NNI's default).
    Best,
    /// As bad as the worst.
    Worst,
    /// The mean of the results.
    Mean,
    /// They are left out.
    None,
}

impl std::str::FromStr for Liar {
    type Err = String;
    fn from_str(s: &str) -> Result<Liar, String> {
        match s {
            "best" => Ok(Liar::Best),
            "worst" => Ok(Liar::Worst),
            "mean" => Ok(Liar::Mean),
            "none" => Ok(Liar::None),
            _ => Err(format!("unknown liar `{s}`; expected best, worst, mean or none")),
        }
    }
}

/// Options of [`Tpe`]; the defaults are NNI's and hyperopt's.
#[derive(Debug, Clone, PartialEq)]
pub struct TpeOptions {
    /// Random proposals before the estimators are used: 20.
    pub n_startup: usize,
    /// Candidates drawn from the good estimator per proposal: 24.
    pub n_ei_candidates: usize,
    /// The fraction of good observations: 0.25.
    pub gamma: f64,
    /// Weight of the uniform prior in each estimator: 1. It is the prior's total weight, spread
    /// evenly over the label's values (hyperopt's `prior_weight * p`; NNI adds it to every value).
    pub prior_weight: f64,
    /// Observations older than the newest `linear_forgetting` of a set weigh linearly less: 25.
    pub linear_forgetting: usize,
    /// How `gamma` sets the number of good observations: [`Split::Quantile`].
    pub split: Split,
    /// Results assumed for trials still running: [`Liar::Best`].
    pub liar: Liar,
    /// Never propose the same network twice: on.
    pub dedup: bool,
}

impl Default for TpeOptions {
    fn default() -> Self {
        TpeOptions {
            n_startup: 20,
            n_ei_candidates: 24,
            gamma: 0.25,
            prior_weight: 1.0,
            linear_forgetting: 25,
            split: Split::Quantile,
            liar: Liar::Best,
            dedup: true,
        }
    }
}

/// How one label is modelled.
#[derive(Debug, Clone, Copy)]
enum Model {
    /// One category per value (value, layer and depth choices; input choices with few subsets,
    /// by lexicographic rank).
    Categorical(usize),
    /// Per candidate input: `k` of `n`.
    Inputs { n: usize, k: usize },
}

/// One finished (or, with a liar, running) trial.
struct Observation {
    arch: Architecture,
    /// Labels the network uses.
    used: Vec<bool>,
    /// The metric oriented so that larger is better.
    score: f64,
}

/// The two densities of one label: l (good) and g (bad), as probabilities.
struct Densities {
    good: Vec<f64>,
    bad: Vec<f64>,
}

/// TPE. Until `n_startup` observations exist, proposals are random. Then the observations are
/// split into good (the best by the metric in the given [`Mode`], see [`Split`]) and bad; for
/// every label, l(x) and g(x) are its weighted value counts among the good and the bad
/// observations that use the label (linear forgetting by age within each set) plus a uniform
/// prior of total weight `prior_weight`. `n_ei_candidates` candidates are drawn label by label
/// from l; the proposal is the candidate with the largest product of l(x)/g(x) over the labels
/// it uses (the expected-improvement criterion), skipping candidates already proposed (dedup)
/// or breaking the constraints. A label with fewer than `n_startup` observations that use it is
/// drawn uniformly and left out of the product (as NNI). Failed trials are no observations;
/// trials still running count with the liar's value.
pub struct Tpe {
    space: Space,
    mode: Mode,
    options: TpeOptions,
    rng: ChaCha8Rng,
    sampler: Sampler,
    models: Vec<Model>,
    /// Successful trials in the order told.
    history: Vec<Observation>,
    /// Proposals whose results have not arrived, in the order proposed.
    pending: Vec<Architecture>,
    /// Canonical forms and used labels of candidates drawn before (candidates repeat).
    canonical: HashMap<Vec<Choice>, (Architecture, Vec<bool>)>,
}

/// Candidates whose canonical form is remembered, at most (then the memory starts again).
const CANONICAL_CACHE: usize = 100_000;

impl Tpe {
    /// TPE over `graph`, optimising in direction `mode`.
    pub fn new(
        graph: &Graph,
        mode: Mode,
        seed: u64,
        options: &TpeOptions,
    ) -> Result<Tpe, StrategyError> {
        let bad = |name: &str, message: &str| {
            Err(StrategyError::InvalidOption { name: name.into(), message: message.into() })
        };
        if !(options.gamma > 0.0 && options.gamma <= 1.0) {
            return bad("gamma", "must be in (0, 1]");
        }
        if options.n_ei_candidates == 0 {
            return bad("n_ei_candidates", "must be at least 1");
        }
        if !(options.prior_weight > 0.0 && options.prior_weight.is_finite()) {
            return bad("prior_weight", "must be positive");
        }
        if options.linear_forgetting == 0 {
            return bad("linear_forgetting", "must be at least 1");
        }
        let space = Space::new(graph)?;
        let models = (0..space.doms.len())
            .map(|l| match space.doms[l] {
                Dom::Index(s) => Model::Categorical(s),
                Dom::Subset { n, k } => match super::binomial(n, k) {
                    Some(c) if c <= SUBSET_CATEGORIES => Model::Categorical(c as usize),
                    _ => Model::Inputs { n, k },
                },
            })
            .collect();
        Ok(Tpe {
            space,
            mode,
            options: options.clone(),
            rng: ChaCha8Rng::seed_from_u64(seed),
            sampler: Sampler::new(options.dedup),
            models,
            history: Vec::new(),
            pending: Vec::new(),
            canonical: HashMap::new(),
        })
    }

    fn observe(&self, arch: Architecture, score: f64) -> Observation {
        Observation { used: self.space.used(&arch), arch, score }
    }

    /// Category of label `l`'s value (categorical models).
    fn category(c: &Choice, n: usize) -> usize {
        match c {
            Choice::Index(i) => *i,
            Choice::Subset(s) => rank_subset(s, n) as usize,
        }
    }

    /// hyperopt's `linear_forgetting_weights`: `n` weights, oldest first.
    fn forgetting(&self, n: usize) -> Vec<f64> {
        let lf = self.options.linear_forgetting;
        if n < lf {
            return vec![1.0; n];
        }
        let ramp = n - lf;
        let mut w: Vec<f64> = (0..ramp)
            .map(|i| {
                let start = 1.0 / n as f64;
                if ramp == 1 {
                    start
                } else {
                    start + (1.0 - start) * i as f64 / (ramp - 1) as f64
                }
            })
            .collect();
        w.extend(std::iter::repeat_n(1.0, lf));
        w
    }

    /// Weighted counts plus the prior, normalised. `values` are in time order.
    fn density(&self, l: usize, values: &[&Choice]) -> Vec<f64> {
        let w = self.forgetting(values.len());
        let (size, per_value, n) = match (self.models[l], self.space.doms[l]) {
            (Model::Categorical(s), Dom::Subset { n, .. }) => (s, 1.0, n),
            (Model::Categorical(s), _) => (s, 1.0, 0),
            (Model::Inputs { n, k }, _) => (n, k as f64, n),
        };
        let mut counts = vec![self.options.prior_weight * per_value / size as f64; size];
        for (c, w) in values.iter().zip(w) {
            match self.models[l] {
                Model::Categorical(_) => counts[Self::category(c, n)] += w,
                Model::Inputs { .. } => {
                    if let Choice::Subset(s) = c {
                        for i in s {
                            counts[*i] += w;
                        }
                    }
                }
            }
        }
        let total: f64 = counts.iter().sum();
        counts.iter().map(|c| c / total).collect()
    }

    /// A draw from label `l`'s good density.
    fn draw(&mut self, l: usize, p: &[f64]) -> Choice {
        let pick = |rng: &mut ChaCha8Rng, p: &[f64], skip: &[usize]| {
            let total: f64 =
                p.iter().enumerate().filter(|(i, _)| !skip.contains(i)).map(|(_, x)| x).sum();
            let mut r = rng.random::<f64>() * total;
            let mut last = 0;
            for (i, x) in p.iter().enumerate() {
                if skip.contains(&i) {
                    continue;
                }
                last = i;
                if r < *x {
                    return i;
                }
                r -= x;
            }
            last
        };
        match (self.models[l], self.space.doms[l]) {
            (Model::Categorical(_), Dom::Index(_)) => Choice::Index(pick(&mut self.rng, p, &[])),
            (Model::Categorical(_), Dom::Subset { n, k }) => {
                Choice::Subset(unrank_subset(pick(&mut self.rng, p, &[]) as u128, n, k))
            }
            (Model::Inputs { k, .. }, _) => {
                let mut s: Vec<usize> = Vec::with_capacity(k);
                for _ in 0..k {
                    let i = pick(&mut self.rng, p, &s);
                    s.push(i);
                }
                s.sort();
                Choice::Subset(s)
            }
        }
    }

    /// log l(x) - log g(x) of one label's value.
    fn log_ratio(&self, l: usize, d: &Densities, c: &Choice) -> f64 {
        match (self.models[l], self.space.doms[l], c) {
            (Model::Categorical(_), Dom::Subset { n, .. }, Choice::Subset(s)) => {
                let i = rank_subset(s, n) as usize;
                d.good[i].ln() - d.bad[i].ln()
            }
            (Model::Categorical(_), _, Choice::Index(i)) => d.good[*i].ln() - d.bad[*i].ln(),
            (Model::Inputs { .. }, _, Choice::Subset(s)) => {
                s.iter().map(|i| d.good[*i].ln() - d.bad[*i].ln()).sum()
            }
            _ => 0.0,
        }
    }

    /// The running trials as observations with the liar's value (when there is a result to lie
    /// with); the estimators see the results, then these.
    fn lies(&self) -> Vec<Observation> {
        if self.history.is_empty() || self.options.liar == Liar::None {
            return Vec::new();
        }
        let scores = self.history.iter().map(|o| o.score);
        let lie = match self.options.liar {
            Liar::Best => scores.fold(f64::NEG_INFINITY, f64::max),
            Liar::Worst => scores.fold(f64::INFINITY, f64::min),
            _ => scores.sum::<f64>() / self.history.len() as f64,
        };
        self.pending.iter().map(|a| self.observe(a.clone(), lie)).collect()
    }

    /// The TPE proposal, `None` if no candidate may be proposed.
    fn suggest(&mut self, lies: &[Observation]) -> Option<Architecture> {
        let history = std::mem::take(&mut self.history);
        let obs: Vec<&Observation> = history.iter().chain(lies).collect();
        let a = self.suggest_from(&obs);
        self.history = history;
        a
    }

    fn suggest_from(&mut self, obs: &[&Observation]) -> Option<Architecture> {
        let n = obs.len();
        let n_good = match self.options.split {
            Split::Quantile => (self.options.gamma * n as f64).ceil() as usize,
            Split::Sqrt => ((self.options.gamma * (n as f64).sqrt()).ceil() as usize)
                .min(self.options.linear_forgetting),
        }
        .clamp(1, n);
        // Best first; on ties the older first (a stable sort of time order).
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|a, b| obs[*b].score.total_cmp(&obs[*a].score));
        let mut good = vec![false; n];
        for i in &order[..n_good] {
            good[*i] = true;
        }
        let labels = self.models.len();
        let densities: Vec<Option<Densities>> = (0..labels)
            .map(|l| {
                let using: Vec<usize> = (0..n).filter(|i| obs[*i].used[l]).collect();
                if using.len() < self.options.n_startup {
                    return None;
                }
                let g: Vec<&Choice> =
                    using.iter().filter(|i| good[**i]).map(|i| &obs[*i].arch.choices[l]).collect();
                let b: Vec<&Choice> =
                    using.iter().filter(|i| !good[**i]).map(|i| &obs[*i].arch.choices[l]).collect();
                Some(Densities { good: self.density(l, &g), bad: self.density(l, &b) })
            })
            .collect();
        for _ in 0..CANDIDATE_ROUNDS {
            // Distinct draws only (a concentrated l repeats itself): the best is the same.
            let mut drawn: Vec<Vec<Choice>> = Vec::with_capacity(self.options.n_ei_candidates);
            let mut candidates: Vec<(f64, Architecture)> =
                Vec::with_capacity(self.options.n_ei_candidates);
            for _ in 0..self.options.n_ei_candidates {
                let choices: Vec<Choice> = (0..labels)
                    .map(|l| match &densities[l] {
                        Some(d) => self.draw(l, &d.good),
                        None => self.space.random_choice(l, &mut self.rng),
                    })
                    .collect();
                if drawn.contains(&choices) {
                    continue;
                }
                let (a, used) = match self.canonical.get(&choices) {
                    Some(known) => known.clone(),
                    None => {
                        if self.canonical.len() >= CANONICAL_CACHE {
                            self.canonical.clear();
                        }
                        let known =
                            self.space.canonical_used(&Architecture { choices: choices.clone() });
                        self.canonical.insert(choices.clone(), known.clone());
                        known
                    }
                };
                drawn.push(choices);
                let score = (0..labels)
                    .filter(|l| used[*l])
                    .filter_map(|l| {
                        densities[l].as_ref().map(|d| self.log_ratio(l, d, &a.choices[l]))
                    })
                    .sum();
                candidates.push((score, a));
            }
            // Best first; on ties the one drawn first.
            candidates.sort_by(|x, y| y.0.total_cmp(&x.0));
            for (_, a) in candidates {
                if !self.sampler.blocked(&a) && self.space.feasible(&a) {
                    return Some(a);
                }
            }
        }
        None
    }
}

impl Strategy for Tpe {
    fn ask(&mut self) -> Result<Option<Architecture>, StrategyError> {
        let lies = self.lies();
        let observed = self.history.len() + lies.len();
        let suggested = if self.history.is_empty() || observed < self.options.n_startup {
            None
        } else {
            self.suggest(&lies)
        };
        let proposal = match suggested {
            Some(a) => Some(a),
            None => self.sampler.draw(&self.space, &mut self.rng)?,
        };
        super::record_ask(&mut self.sampler, &mut self.pending, &proposal);
        Ok(proposal)
    }

    fn tell(&mut self, arch: &Architecture, metric: Option<f64>) {
        let Some(a) = super::record_tell(&self.space, &mut self.sampler, &mut self.pending, arch)
        else {
            return;
        };
        if let Some(score) = usable(self.mode, metric) {
            let o = self.observe(a, score);
            self.history.push(o);
        }
    }

    fn name(&self) -> &'static str {
        "tpe"
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{graph, NESTED};
    use super::*;

    #[test]
    fn linear_forgetting_is_hyperopts() {
        let g = graph(NESTED);
        let t =
            Tpe::new(&g, Mode::Max, 0, &TpeOptions { linear_forgetting: 3, ..Default::default() })
                .unwrap();
        assert_eq!(t.forgetting(2), [1.0, 1.0]);
        assert_eq!(t.forgetting(3), [1.0, 1.0, 1.0]);
        assert_eq!(t.forgetting(4), [0.25, 1.0, 1.0, 1.0]);
        let w = t.forgetting(5);
        assert_eq!(w, [0.2, 1.0, 1.0, 1.0, 1.0]);
        let w = t.forgetting(7);
        assert!(
            (w[0] - 1.0 / 7.0).abs() < 1e-12
                && (w[3] - 1.0).abs() < 1e-12
                && w[1] < w[2]
                && w[2] < w[3]
        );
    }

    #[test]
    fn densities_are_weighted_counts_plus_a_uniform_prior() {
        let g = graph(NESTED);
        let t = Tpe::new(&g, Mode::Max, 0, &TpeOptions::default()).unwrap();
        // `op`: three values. Three observations of value 1, one of value 0, prior 1 spread.
        let (zero, one) = (Choice::Index(0), Choice::Index(1));
        let op = g.labels.find("op").unwrap().0 as usize;
        let p = t.density(op, &[&one, &one, &zero, &one]);
        let third = 1.0 / 3.0;
        let want = [(1.0 + third) / 5.0, (3.0 + third) / 5.0, third / 5.0];
        assert!(p.iter().zip(want).all(|(x, y)| (x - y).abs() < 1e-12), "{p:?}");
        let p = t.density(op, &[]);
        assert!(p.iter().all(|x| (x - third).abs() < 1e-12), "{p:?}");
    }

    #[test]
    fn failed_trials_are_no_observations_and_running_ones_are_lies() {
        let g = graph(NESTED);
        let mut t = Tpe::new(&g, Mode::Min, 0, &TpeOptions::default()).unwrap();
        let asked: Vec<Architecture> = (0..4).map(|_| t.ask().unwrap().unwrap()).collect();
        t.tell(&asked[0], None);
        t.tell(&asked[1], Some(3.0));
        t.tell(&asked[2], Some(1.0));
        assert_eq!(t.history.len(), 2);
        let lies = t.lies();
        // One running trial, lied to be as good as the best (the minimum, 1.0).
        assert_eq!(lies.len(), 1);
        assert_eq!(lies[0].arch, asked[3]);
        assert_eq!(lies[0].score, Mode::Min.oriented(1.0));
    }

    #[test]
    fn options_out_of_range_are_refused() {
        let g = graph(NESTED);
        for o in [
            TpeOptions { gamma: 0.0, ..Default::default() },
            TpeOptions { n_ei_candidates: 0, ..Default::default() },
            TpeOptions { prior_weight: 0.0, ..Default::default() },
            TpeOptions { linear_forgetting: 0, ..Default::default() },
        ] {
            assert!(matches!(
                Tpe::new(&g, Mode::Max, 0, &o),
                Err(StrategyError::InvalidOption { .. })
            ));
        }
    }
}
