//! Random search: every label independently uniform over its domain (NNI's `Random`
//! strategy; Bergstra & Bengio, "Random Search for Hyper-Parameter Optimization", JMLR 2012,
//! and Li & Talwalkar, "Random Search and Reproducibility for Neural Architecture Search",
//! UAI 2019, as the baseline of NAS).

use super::{Sampler, Space, Strategy, StrategyError};
use crate::arch::Architecture;
use crate::ir::Graph;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Options of [`Random`].
#[derive(Debug, Clone, PartialEq)]
pub struct RandomOptions {
    /// Never propose the same network twice (default on, as NNI).
    pub dedup: bool,
}

impl Default for RandomOptions {
    fn default() -> Self {
        RandomOptions { dedup: true }
    }
}

/// Random search: each proposal draws every label uniformly ([`Architecture::random`]) and
/// rejects architectures that break the constraints and, with dedup, networks already
/// proposed. In a small space (at most [`super::EXACT_LIMIT`] label assignments) it stops with
/// `Ok(None)` exactly when every feasible network was proposed; in a larger one it gives up
/// after [`super::MAX_TRIES`] draws with [`StrategyError::NoNewArchitecture`].
pub struct Random {
    space: Space,
    rng: ChaCha8Rng,
    sampler: Sampler,
}

impl Random {
    /// Random search over `graph`.
    pub fn new(graph: &Graph, seed: u64, options: &RandomOptions) -> Result<Random, StrategyError> {
        Ok(Random {
            space: Space::new(graph)?,
            rng: ChaCha8Rng::seed_from_u64(seed),
            sampler: Sampler::new(options.dedup),
        })
    }
}

impl Strategy for Random {
    fn ask(&mut self) -> Result<Option<Architecture>, StrategyError> {
        let a = self.sampler.draw(&self.space, &mut self.rng)?;
        if let Some(a) = &a {
            self.sampler.mark(a);
        }
        Ok(a)
    }

    fn tell(&mut self, _arch: &Architecture, _metric: Option<f64>) {}

    fn name(&self) -> &'static str {
        "random"
    }
}
