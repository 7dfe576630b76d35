//! Policy-based reinforcement learning: an LSTM controller proposes architectures label by label
//! and is trained with PPO (Schulman et al., "Proximal Policy Optimization Algorithms", 2017) on
//! the trials' metrics, as NNI's `PolicyBasedRL` strategy (after Zoph & Le, "Neural Architecture
//! Search with Reinforcement Learning", ICLR 2017). The network and its training live in
//! [`crate::runtime::controller`]; this module maps labels to actions and results to rewards.

use super::{
    binomial, rank_subset, unrank_subset, usable, well_formed, Dom, Mode, Sampler, Space, Strategy,
    StrategyError,
};
use crate::arch::{Architecture, Choice};
use crate::ir::Graph;
use crate::runtime::controller::{Controller, ControllerConfig, Decision, Episode, Experience};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeMap, VecDeque};

/// An input choice with at most this many subsets is one categorical action (the subset's
/// lexicographic rank); a larger one is `k` actions without replacement.
pub const SUBSET_CATEGORICAL_LIMIT: u128 = 256;

/// Episodes drawn from the policy, at most, for one proposal before a uniformly random feasible
/// architecture is proposed instead (when the policy keeps proposing architectures that break
/// the constraints or, with dedup, that were proposed before).
pub const POLICY_TRIES: usize = 100;

/// Weight of the newest reward in the moving baseline: the baseline `b` becomes
/// `0.95 b + 0.05 r` after each reward `r` (an exponential moving average, as ENAS and Zoph &
/// Le use).
pub const BASELINE_DECAY: f64 = 0.95;

/// Options of [`Ppo`]; the defaults are NNI's `PolicyBasedRL` (and the tianshou `PPOPolicy`
/// defaults that it keeps).
#[derive(Debug, Clone, PartialEq)]
pub struct PpoOptions {
    /// Finished trials collected before each update of the policy: 20.
    pub samples_per_update: usize,
    /// Transitions (one action each) per minibatch: 32 (a minibatch holds whole episodes, as
    /// many as make up at least this many transitions).
    pub batch_size: usize,
    /// Epochs over the collected trials per update round: 5.
    pub repeat: usize,
    /// Update rounds per update (NNI's `update_times`): 5.
    pub update_times: usize,
    /// Adam's learning rate: 1e-4.
    pub lr: f64,
    /// PPO's clipping range: 0.2.
    pub clip: f64,
    /// Weight of the entropy bonus: 0.01.
    pub ent_coef: f64,
    /// Never propose the same network twice: off (NNI does not deduplicate).
    pub dedup: bool,
}

impl Default for PpoOptions {
    fn default() -> Self {
        let c = ControllerConfig::default();
        PpoOptions {
            samples_per_update: 20,
            batch_size: c.batch_size,
            repeat: c.repeat,
            update_times: c.update_times,
            lr: c.lr,
            clip: c.clip,
            ent_coef: c.ent_coef,
            dedup: false,
        }
    }
}

/// How one label is encoded as actions.
#[derive(Debug, Clone, Copy)]
enum Encoding {
    /// One action, the index.
    Index,
    /// One action, the rank of the sorted subset among all `k`-subsets of `n`.
    Rank { n: usize, k: usize },
    /// `k` actions, the chosen inputs.
    Picks { k: usize },
}

/// NNI's `PolicyBasedRL` with PPO.
///
/// - **Actions.** One action per label, in label order: the index of a value, layer or depth
///   choice; for an input choice of `k` of `n` inputs, the rank of the subset when there are at
///   most [`SUBSET_CATEGORICAL_LIMIT`] subsets, otherwise `k` actions without replacement.
///   Labels an architecture does not use still get an action (NNI's episodes have a fixed
///   length); the proposal is the canonical architecture.
/// - **Proposals.** Each `ask` draws episodes from the policy until one gives an architecture
///   that meets the constraints (and, with dedup, was not proposed before), up to
///   [`POLICY_TRIES`] draws; then it proposes a uniformly random such architecture instead (its
///   actions are the architecture's, with the policy's log-probabilities). Rejected draws
///   teach the policy nothing (NNI's default, `reward_for_invalid=None`). Without dedup (the
///   default) a network may be proposed again, as in NNI; with dedup a small space ends with
///   `Ok(None)` once every feasible network was proposed.
/// - **Rewards.** The metric oriented by [`Mode`] (the metric when maximising, its negation when
///   minimising). A failed trial (no metric, or NaN) is skipped, as NNI skips trials without a
///   metric. The advantage of a trial is its reward less a moving baseline
///   ([`BASELINE_DECAY`]; the baseline starts at the first reward); the controller then
///   normalises the advantages of each update (less their mean, over their standard
///   deviation, as tianshou does per minibatch), so the baseline matters only through its drift
///   within a collection. NNI estimates advantages with a learned critic and GAE instead.
/// - **Updates.** After every `samples_per_update` rewarded trials, PPO trains the policy on
///   them ([`Controller::update`]) and they are dropped (NNI's replay buffer holds exactly one
///   collection).
/// - **Concurrency.** Asks may run ahead of tells: each proposal's actions and log-probabilities
///   wait under its architecture (first in, first out when the same network is outstanding
///   twice). A result for an architecture it did not propose is used with its actions read off
///   the architecture and the current policy's log-probabilities.
/// - **Determinism.** The controller's weights, its actions and its minibatch order come from a
///   generator seeded with the seed, and the fallback draws from a second one, so the same
///   ask/tell sequence gives the same proposals.
pub struct Ppo {
    space: Space,
    mode: Mode,
    options: PpoOptions,
    encodings: Vec<Encoding>,
    controller: Controller,
    rng: ChaCha8Rng,
    sampler: Sampler,
    /// Proposals whose results have not arrived: their episodes, oldest first.
    pending: BTreeMap<Architecture, VecDeque<Episode>>,
    collected: Vec<Experience>,
    baseline: Option<f64>,
    updates: usize,
    failure: Option<String>,
}

impl Ppo {
    /// PPO over `graph`, optimising in direction `mode`.
    pub fn new(
        graph: &Graph,
        mode: Mode,
        seed: u64,
        options: &PpoOptions,
    ) -> Result<Ppo, StrategyError> {
        let bad = |name: &str, message: &str| {
            Err(StrategyError::InvalidOption { name: name.into(), message: message.into() })
        };
        for (name, v) in [
            ("samples_per_update", options.samples_per_update),
            ("batch_size", options.batch_size),
            ("repeat", options.repeat),
            ("update_times", options.update_times),
        ] {
            if v == 0 {
                return bad(name, "must be at least 1");
            }
        }
        if !(options.lr.is_finite() && options.lr > 0.0) {
            return bad("lr", "must be a positive number");
        }
        if !(options.clip.is_finite() && options.clip > 0.0) {
            return bad("clip", "must be a positive number");
        }
        if !(options.ent_coef.is_finite() && options.ent_coef >= 0.0) {
            return bad("ent_coef", "must be a non-negative number");
        }
        let space = Space::new(graph)?;
        let mut encodings = Vec::with_capacity(space.doms.len());
        let mut decisions = Vec::with_capacity(space.doms.len());
        for d in &space.doms {
            match *d {
                Dom::Index(size) => {
                    encodings.push(Encoding::Index);
                    decisions.push(Decision::Categorical(size));
                }
                Dom::Subset { n, k } => match binomial(n, k) {
                    Some(count) if count <= SUBSET_CATEGORICAL_LIMIT => {
                        encodings.push(Encoding::Rank { n, k });
                        decisions.push(Decision::Categorical(count as usize));
                    }
                    _ => {
                        encodings.push(Encoding::Picks { k });
                        decisions.push(Decision::Subset { n, k });
                    }
                },
            }
        }
        let config = ControllerConfig {
            lr: options.lr,
            clip: options.clip,
            ent_coef: options.ent_coef,
            batch_size: options.batch_size,
            repeat: options.repeat,
            update_times: options.update_times,
            ..ControllerConfig::default()
        };
        let controller = Controller::new(&decisions, &config, seed)
            .map_err(|e| StrategyError::Policy(e.to_string()))?;
        // The fallback's generator: another stream of the same seed.
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(1);
        Ok(Ppo {
            space,
            mode,
            options: options.clone(),
            encodings,
            controller,
            rng,
            sampler: Sampler::new(options.dedup),
            pending: BTreeMap::new(),
            collected: Vec::new(),
            baseline: None,
            updates: 0,
            failure: None,
        })
    }

    /// How many times the policy was updated.
    pub fn updates(&self) -> usize {
        self.updates
    }

    /// The moving baseline of the rewards (oriented so that larger is better), once a trial
    /// has succeeded.
    pub fn baseline(&self) -> Option<f64> {
        self.baseline
    }

    /// The architecture of an episode (not canonical).
    fn decode(&self, actions: &[usize]) -> Architecture {
        let mut choices = Vec::with_capacity(self.encodings.len());
        let mut at = 0;
        for e in &self.encodings {
            choices.push(match *e {
                Encoding::Index => {
                    at += 1;
                    Choice::Index(actions[at - 1])
                }
                Encoding::Rank { n, k } => {
                    at += 1;
                    Choice::Subset(unrank_subset(actions[at - 1] as u128, n, k))
                }
                Encoding::Picks { k } => {
                    let mut s = actions[at..at + k].to_vec();
                    s.sort();
                    at += k;
                    Choice::Subset(s)
                }
            });
        }
        Architecture { choices }
    }

    /// The actions of a well-formed architecture (subsets picked in increasing order).
    fn encode(&self, a: &Architecture) -> Vec<usize> {
        let mut actions = Vec::with_capacity(self.controller.len());
        for (e, c) in self.encodings.iter().zip(&a.choices) {
            match (e, c) {
                (Encoding::Index, Choice::Index(i)) => actions.push(*i),
                (Encoding::Rank { n, .. }, Choice::Subset(s)) => {
                    actions.push(rank_subset(s, *n) as usize)
                }
                (Encoding::Picks { .. }, Choice::Subset(s)) => actions.extend(s.iter().copied()),
                // A well-formed architecture matches its labels' domains.
                _ => actions.push(0),
            }
        }
        actions
    }

    /// The episode of an architecture under the current policy.
    fn episode_of(&self, a: &Architecture) -> Result<Episode, StrategyError> {
        let actions = self.encode(a);
        let log_probs = self
            .controller
            .log_probs(&actions)
            .map_err(|e| StrategyError::Policy(e.to_string()))?;
        Ok(Episode { actions, log_probs })
    }
}

impl Strategy for Ppo {
    fn ask(&mut self) -> Result<Option<Architecture>, StrategyError> {
        if let Some(f) = &self.failure {
            return Err(StrategyError::Policy(f.clone()));
        }
        let mut proposal = None;
        for _ in 0..POLICY_TRIES {
            let episode = self.controller.sample();
            let a = self.space.canonical(&self.decode(&episode.actions));
            if !self.sampler.blocked(&a) && self.space.feasible(&a) {
                proposal = Some((a, episode));
                break;
            }
        }
        let (a, episode) = match proposal {
            Some(p) => p,
            None => match self.sampler.draw(&self.space, &mut self.rng)? {
                Some(a) => {
                    let episode = self.episode_of(&a)?;
                    (a, episode)
                }
                None => return Ok(None),
            },
        };
        self.sampler.mark(&a);
        self.pending.entry(a.clone()).or_default().push_back(episode);
        Ok(Some(a))
    }

    fn tell(&mut self, arch: &Architecture, metric: Option<f64>) {
        if !well_formed(&self.space.graph, arch) {
            return;
        }
        let a = self.space.canonical(arch);
        let proposal = match self.pending.get_mut(&a) {
            Some(queue) => {
                let p = queue.pop_front();
                if queue.is_empty() {
                    self.pending.remove(&a);
                }
                p
            }
            None => None,
        };
        self.sampler.mark(&a);
        let Some(reward) = usable(self.mode, metric) else { return };
        let episode = match proposal {
            Some(e) => e,
            None => match self.episode_of(&a) {
                Ok(e) => e,
                Err(e) => {
                    self.failure = Some(e.to_string());
                    return;
                }
            },
        };
        let baseline = self.baseline.unwrap_or(reward);
        let advantage = reward - baseline;
        self.baseline = Some(BASELINE_DECAY * baseline + (1.0 - BASELINE_DECAY) * reward);
        self.collected.push(Experience { episode, advantage });
        if self.collected.len() >= self.options.samples_per_update {
            let collected = std::mem::take(&mut self.collected);
            match self.controller.update(&collected) {
                Ok(_) => self.updates += 1,
                Err(e) => self.failure = Some(format!("the policy update failed: {e}")),
            }
        }
    }

    fn name(&self) -> &'static str {
        "ppo"
    }
}
