//! ENAS: an LSTM controller samples the path each weight step trains, and learns by
//! REINFORCE from the validation accuracy of the paths it samples.
//!
//! ENAS (Pham, Guan, Zoph, Le & Dean, "Efficient Neural Architecture Search via Parameter
//! Sharing", ICML 2018) alternates two phases (section 2.2): the shared weights train on paths
//! sampled from the controller's policy, then the controller, with the weights fixed, samples
//! paths, takes their accuracy on a validation batch as the reward and follows the REINFORCE
//! gradient with a moving-average baseline, plus an entropy bonus. The exported architecture is
//! the controller's most likely one; as in the paper (section 2.2, "Deriving Architectures"),
//! more architectures are sampled from the trained policy and scored, here recorded as trials
//! beside it.

use super::checkpoint::{RngState, StrategyState};
use super::error::OneShotError;
use super::mixing::LabelShape;
use super::observer::OneShotObserver;
use super::score::{batch_loss, to_inner};
use super::settings::EnasSettings;
use super::strategy::{Exported, Frequencies, OneShotStrategy, Space, Trained, ValBatches};
use crate::arch::{Architecture, Choice};
use crate::experiment::TrialId;
use crate::runtime::controller::{Controller, ControllerConfig, Decision, Experience};
use crate::runtime::supernet::{Mixing, Supernet};
use crate::runtime::train::Task;
use crate::runtime::RuntimeError;
use burn::module::Module;
use std::time::Instant;

/// ENAS: the controller, the reward's baseline and the epoch's counts of sampled candidates.
pub(super) struct Enas {
    settings: EnasSettings,
    controller: Controller,
    /// The moving average of the rewards (none before the first).
    baseline: Option<f64>,
    freq: Frequencies,
}

impl Enas {
    /// ENAS for `space` as `settings` say: the controller of ENAS' paper (64 LSTM units, logits
    /// `1.5 * tanh`) with Adam at `settings.lr`, seeded by the search's seed.
    ///
    /// Errors: a controller that cannot be built.
    pub fn new(settings: &EnasSettings, space: &Space) -> Result<Enas, RuntimeError> {
        let controller = Controller::new(
            &decisions(space.labels),
            &ControllerConfig { lr: settings.lr, ..ControllerConfig::enas() },
            space.settings.seed,
        )?;
        Ok(Enas {
            settings: *settings,
            controller,
            baseline: None,
            freq: Frequencies::new(space.labels),
        })
    }
}

impl OneShotStrategy for Enas {
    /// The controller (weights, optimizer, generator) and the reward's baseline.
    fn save_state(&self) -> Result<StrategyState, String> {
        let (policy, optim, rng) = self.controller.state().map_err(|e| e.to_string())?;
        Ok(StrategyState {
            // The baseline's bits: a decimal in JSON might not read back to the same float.
            json: serde_json::json!({
                "rng": RngState::of(&rng),
                "baseline": self.baseline.map(f64::to_bits),
            }),
            parts: vec![("controller".into(), policy), ("controller_optimizer".into(), optim)],
        })
    }

    fn restore_state(&mut self, state: &StrategyState) -> Result<(), String> {
        let rng = state.get::<RngState>("rng")?.rng()?;
        let baseline = state.get::<Option<u64>>("baseline")?.map(f64::from_bits);
        self.controller
            .restore(state.part("controller")?, state.part("controller_optimizer")?, rng)
            .map_err(|e| e.to_string())?;
        self.baseline = baseline;
        Ok(())
    }

    fn start_epoch(&mut self, space: &Space, _epoch: usize, _epochs: usize) {
        self.freq = Frequencies::new(space.labels);
    }

    /// The path the controller samples.
    fn weight_mixing(&mut self, space: &Space) -> Result<Mixing, RuntimeError> {
        let a = decode(space.labels, &self.controller.sample().actions);
        self.freq.add(&a);
        Ok(Mixing::hard(&a))
    }

    /// The controller learns from the accuracy of its paths on validation batches: one batch
    /// per sample, an update every `controller_aggregate` samples. Returns minus each reward.
    fn end_epoch(
        &mut self,
        space: &Space,
        net: &Supernet,
        val: &mut ValBatches,
        observer: &mut dyn OneShotObserver,
    ) -> Result<Vec<f64>, RuntimeError> {
        observer.phase("training the controller");
        let s = &self.settings;
        let task = space.settings.task;
        let mut losses = Vec::with_capacity(s.controller_steps);
        let mut experiences = Vec::with_capacity(s.controller_aggregate);
        let frozen = net.valid();
        let inner = space.device.clone().inner();
        for _ in 0..s.controller_steps {
            let episode = self.controller.sample();
            let a = decode(space.labels, &episode.actions);
            self.freq.add(&a);
            let v = val.next_batch()?;
            let (_, correct, n) =
                batch_loss(&frozen, to_inner(v), &Mixing::hard(&a), task, &inner)?;
            let reward = if task == Task::Classification {
                correct / n.max(1) as f64
            } else {
                -correct / n.max(1) as f64
            };
            let b = self
                .baseline
                .map_or(reward, |b| s.baseline_decay * b + (1.0 - s.baseline_decay) * reward);
            self.baseline = Some(b);
            experiences.push(Experience { episode, advantage: reward - b });
            losses.push(-reward);
            if experiences.len() == s.controller_aggregate {
                self.controller.reinforce(&experiences, s.entropy_weight)?;
                experiences.clear();
            }
        }
        Ok(losses)
    }

    /// The controller's most likely path.
    fn figures_mixing(&mut self, space: &Space) -> Mixing {
        Mixing::hard(&decode(space.labels, &self.controller.most_likely()))
    }

    /// The fractions of the epoch's sampled paths that took each candidate.
    fn probabilities(&self) -> Vec<Vec<f64>> {
        self.freq.fractions()
    }

    /// The controller's most likely architecture and up to `top_k - 1` others it samples (at
    /// most `20 * top_k` draws, and up to [`FEASIBLE_DRAWS`] while none meets the space's
    /// constraints), each scored and recorded. Only architectures that meet the constraints are
    /// scored, recorded and exported: the most likely one when it meets them, else the best
    /// scoring of the others. When no draw meets them, the most likely one is scored, recorded
    /// and exported, flagged infeasible (the search warns).
    fn export(
        &mut self,
        trained: &Trained<'_>,
        observer: &mut dyn OneShotObserver,
    ) -> Result<Exported, OneShotError> {
        let Trained { space, net, scorer, store } = *trained;
        observer.phase("scoring the controller's architectures");
        let top_k = self.settings.top_k.max(1);
        let g = space.g;
        let likely = decode(space.labels, &self.controller.most_likely());
        let likely_feasible = crate::strategy::feasible(g, &likely);
        let mut drawn = vec![likely.clone()];
        let mut kept: Vec<Architecture> =
            if likely_feasible { vec![likely.clone()] } else { Vec::new() };
        let mut tries = 0;
        while kept.len() < top_k
            && (tries < top_k * 20 || (kept.is_empty() && tries < FEASIBLE_DRAWS))
        {
            let a = decode(space.labels, &self.controller.sample().actions);
            tries += 1;
            if drawn.contains(&a) {
                continue;
            }
            drawn.push(a.clone());
            if crate::strategy::feasible(g, &a) {
                kept.push(a);
            }
        }
        if kept.is_empty() {
            // Nothing the controller draws meets the constraints: the most likely architecture
            // is exported, flagged so that the search says so (as DARTS' export does).
            let t0 = Instant::now();
            let m = scorer.score(net, &likely)?.1;
            let trial = scorer.record(store, &likely, m, t0.elapsed().as_secs_f64())?;
            observer.candidate(1, 1, m);
            return Ok(Exported { arch: likely, feasible: false, trial, metric: m });
        }
        let maximize = space.settings.task == Task::Classification;
        let mut best: Option<(Architecture, TrialId, f64)> = None;
        let total = kept.len();
        for (i, a) in kept.into_iter().enumerate() {
            let t0 = Instant::now();
            let m = scorer.score(net, &a)?.1;
            let id = scorer.record(store, &a, m, t0.elapsed().as_secs_f64())?;
            observer.candidate(i + 1, total, m);
            let better = match &best {
                None => true,
                // The most likely architecture, when kept, is the export (ENAS' derivation);
                // otherwise the best scoring one.
                Some(_) if likely_feasible => false,
                Some((_, _, b)) => {
                    if maximize {
                        m > *b
                    } else {
                        m < *b
                    }
                }
            };
            if better {
                best = Some((a, id, m));
            }
        }
        let (arch, trial, metric) =
            best.ok_or_else(|| RuntimeError::Config("no architecture".into()))?;
        Ok(Exported { arch, feasible: true, trial, metric })
    }
}

/// How many architectures ENAS' export draws from the controller, at most, while none of them
/// meets the space's constraints.
pub(super) const FEASIBLE_DRAWS: usize = 5_000;

/// The controller's decisions for the labels of a space: one categorical decision per layer,
/// value and depth label, `k` of `n` picks per input choice.
fn decisions(labels: &LabelShape) -> Vec<Decision> {
    labels
        .sizes
        .iter()
        .zip(&labels.inputs)
        .map(|(&n, input)| match input {
            Some((k, _)) => Decision::Subset { n, k: *k },
            None => Decision::Categorical(n),
        })
        .collect()
}

/// The architecture of the controller's `actions` (one per categorical decision, `k` per
/// input choice).
fn decode(labels: &LabelShape, actions: &[usize]) -> Architecture {
    let mut at = 0;
    let choices = labels
        .inputs
        .iter()
        .map(|input| match input {
            Some((k, _)) => {
                let mut s = actions[at..(at + k).min(actions.len())].to_vec();
                s.sort();
                at += k;
                Choice::Subset(s)
            }
            None => {
                at += 1;
                Choice::Index(actions.get(at - 1).copied().unwrap_or(0))
            }
        })
        .collect();
    Architecture { choices }
}
