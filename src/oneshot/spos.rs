//! SPOS (`random-oneshot`): uniform single-path training, then an evolution over the trained
//! supernet.
//!
//! Single Path One-Shot (Guo, Zhang, Mu, Heng, Liu, Wei & Sun, "Single Path One-Shot Neural
//! Architecture Search with Uniform Sampling", ECCV 2020) decouples the two stages (section
//! 3.2): the supernet trains one path per step, every choice drawn uniformly and independently,
//! so that every architecture's weights are trained alike; the search then runs an evolutionary
//! algorithm over the trained supernet (section 3.4), scoring each candidate by its validation
//! accuracy under the shared weights after recalibrating its batch-norm statistics on training
//! batches (section 3.3). Here the evolution is the regularized evolution of
//! [`crate::strategy`] with the paper's population and tournament size.

use super::checkpoint::{RngState, StrategyState};
use super::error::OneShotError;
use super::mixing::initial_alpha;
use super::observer::OneShotObserver;
use super::settings::SposSettings;
use super::strategy::{Exported, Frequencies, OneShotStrategy, Space, Trained};
use crate::arch::Architecture;
use crate::experiment::TrialId;
use crate::ir::Graph;
use crate::runtime::supernet::Mixing;
use crate::runtime::train::Task;
use crate::runtime::RuntimeError;
use crate::strategy::{self, Mode, StrategyKind};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::time::Instant;

/// SPOS: the evolution's settings, the sampled paths' random numbers and the epoch's counts of
/// sampled candidates.
pub(super) struct Spos {
    settings: SposSettings,
    rng: ChaCha8Rng,
    freq: Frequencies,
}

impl Spos {
    /// SPOS for `space` as `settings` say.
    pub fn new(settings: &SposSettings, space: &Space) -> Spos {
        let mut rng = ChaCha8Rng::seed_from_u64(space.settings.seed);
        // SPOS has no alpha, but the draws that would initialize it come first in the stream, as
        // in the strategies that have one, so that a seed samples the paths it always has.
        let _ = initial_alpha(space.labels, 1e-3, &mut rng);
        Spos { settings: *settings, rng, freq: Frequencies::new(space.labels) }
    }
}

impl OneShotStrategy for Spos {
    /// The paths' generator (the evolution of the export starts afresh from the seed).
    fn save_state(&self) -> Result<StrategyState, String> {
        Ok(StrategyState {
            json: serde_json::json!({ "rng": RngState::of(&self.rng) }),
            parts: Vec::new(),
        })
    }

    fn restore_state(&mut self, state: &StrategyState) -> Result<(), String> {
        self.rng = state.get::<RngState>("rng")?.rng()?;
        Ok(())
    }

    fn start_epoch(&mut self, space: &Space, _epoch: usize, _epochs: usize) {
        self.freq = Frequencies::new(space.labels);
    }

    /// A uniformly random path ([`spos_path`]).
    fn weight_mixing(&mut self, space: &Space) -> Result<Mixing, RuntimeError> {
        let a = spos_path(space.g, &mut self.rng);
        self.freq.add(&a);
        Ok(Mixing::hard(&a))
    }

    /// Another random path: SPOS has no current choice before its evolution.
    fn figures_mixing(&mut self, space: &Space) -> Mixing {
        Mixing::hard(&Architecture::random(space.g, &mut self.rng))
    }

    /// The fractions of the epoch's sampled paths that took each candidate.
    fn probabilities(&self) -> Vec<Vec<f64>> {
        self.freq.fractions()
    }

    /// Regularized evolution over the trained supernet, `search_candidates` candidates, each
    /// scored and recorded; the best is exported.
    fn export(
        &mut self,
        trained: &Trained<'_>,
        observer: &mut dyn OneShotObserver,
    ) -> Result<Exported, OneShotError> {
        let Trained { space, net, scorer, store } = *trained;
        let common = space.settings;
        let s = &self.settings;
        observer.phase(&format!(
            "evolution over the trained supernet: {} candidates, each recalibrated on {} batches and scored on {} (options search_candidates, calibration_batches, score_batches)",
            s.search_candidates, common.calibration_batches, common.score_batches
        ));
        let maximize = common.task == Task::Classification;
        let oriented = |m: f64| if maximize { m } else { -m };
        let mut options = strategy::Options::default();
        options.evolution.population_size = s.population;
        options.evolution.sample_size = s.tournament;
        let mode = if maximize { Mode::Max } else { Mode::Min };
        let mut evo = strategy::make(StrategyKind::Evolution, space.g, mode, common.seed, &options)
            .map_err(|e| RuntimeError::Config(e.to_string()))?;
        let mut best: Option<(Architecture, TrialId, f64)> = None;
        for i in 0..s.search_candidates {
            let Some(a) = evo.ask().map_err(|e| RuntimeError::Config(e.to_string()))? else {
                break;
            };
            let t0 = Instant::now();
            let m = scorer.score(net, &a)?.1;
            let id = scorer.record(store, &a, m, t0.elapsed().as_secs_f64())?;
            evo.tell(&a, Some(m));
            observer.candidate(i + 1, s.search_candidates, m);
            if best.as_ref().is_none_or(|(_, _, b)| oriented(m) > oriented(*b)) {
                best = Some((a, id, m));
            }
        }
        let (arch, trial, metric) = best
            .ok_or_else(|| RuntimeError::Config("the evolution proposed no architecture".into()))?;
        Ok(Exported { arch, feasible: true, trial, metric })
    }
}

/// The path SPOS trains at one step (Guo et al. 2020): every label uniform over its domain,
/// independently (input choices uniform over their `k`-subsets).
pub fn spos_path(g: &Graph, rng: &mut impl rand::Rng) -> Architecture {
    Architecture::random(g, rng)
}
