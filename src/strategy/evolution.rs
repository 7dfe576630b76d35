//! Regularized (aging) evolution: Real, Aggarwal, Huang & Le, "Regularized Evolution for Image
//! Classifier Architecture Search", AAAI 2019, Algorithm 1, as NNI's `RegularizedEvolution`.

use super::{usable, Mode, Sampler, Space, Strategy, StrategyError};
use crate::arch::Architecture;
use crate::ir::Graph;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::VecDeque;

/// Children drawn, at most, for one proposal before it falls back to a random new architecture
/// (when every child is a network already proposed, or breaks the constraints).
pub const CHILD_TRIES: usize = 100;

/// Options of [`Evolution`]; the defaults are NNI's.
#[derive(Debug, Clone, PartialEq)]
pub struct EvolutionOptions {
    /// Individuals kept in the population (the paper's P): 100.
    pub population_size: usize,
    /// Individuals in each tournament (the paper's S): 25.
    pub sample_size: usize,
    /// Probability that a child resamples each label: 0.05.
    pub mutation_prob: f64,
    /// Cross two tournament winners over before mutating (uniform per label): off.
    pub crossover: bool,
    /// Never propose the same network twice: on.
    pub dedup: bool,
}

impl Default for EvolutionOptions {
    fn default() -> Self {
        EvolutionOptions {
            population_size: 100,
            sample_size: 25,
            mutation_prob: 0.05,
            crossover: false,
            dedup: true,
        }
    }
}

/// Regularized evolution. The first proposals are random until the population and the trials
/// still running reach `population_size` (NNI's rule, so a failed trial is replaced); after that
/// each proposal is a child of the best of `sample_size` members drawn at random from the
/// population (or, with crossover, a uniform crossover of two such winners), with each label
/// resampled with probability `mutation_prob`. A child that would be its parent's network again
/// gets one used label changed to another value. Each result is appended to the population,
/// and the oldest member leaves beyond `population_size` (aging). Failed trials never join.
/// With dedup a child that was proposed before, or breaks the constraints, is drawn again, up
/// to [`CHILD_TRIES`] times, then a random new architecture is proposed instead.
pub struct Evolution {
    space: Space,
    mode: Mode,
    options: EvolutionOptions,
    rng: ChaCha8Rng,
    sampler: Sampler,
    /// Finished trials, oldest first, with their metric oriented so that larger is better.
    population: VecDeque<(Architecture, f64)>,
    /// Proposals whose results have not arrived, in the order proposed.
    pending: Vec<Architecture>,
}

impl Evolution {
    /// Regularized evolution over `graph`, optimising in direction `mode`.
    pub fn new(
        graph: &Graph,
        mode: Mode,
        seed: u64,
        options: &EvolutionOptions,
    ) -> Result<Evolution, StrategyError> {
        let bad = |name: &str, message: &str| {
            Err(StrategyError::InvalidOption { name: name.into(), message: message.into() })
        };
        if options.population_size == 0 {
            return bad("population_size", "must be at least 1");
        }
        if options.sample_size == 0 || options.sample_size > options.population_size {
            return bad("sample_size", "must be between 1 and population_size");
        }
        if !(0.0..=1.0).contains(&options.mutation_prob) {
            return bad("mutation_prob", "must be a probability, between 0 and 1");
        }
        Ok(Evolution {
            space: Space::new(graph)?,
            mode,
            options: options.clone(),
            rng: ChaCha8Rng::seed_from_u64(seed),
            sampler: Sampler::new(options.dedup),
            population: VecDeque::new(),
            pending: Vec::new(),
        })
    }

    /// The current population, oldest first, with the metrics as told.
    pub fn population(&self) -> impl Iterator<Item = (&Architecture, f64)> {
        self.population.iter().map(|(a, s)| (a, self.mode.oriented(*s)))
    }

    /// The best of `sample_size` members drawn without replacement (the first drawn on ties).
    fn tournament(&mut self) -> Architecture {
        let k = self.options.sample_size.min(self.population.len());
        let picks = rand::seq::index::sample(&mut self.rng, self.population.len(), k);
        let mut best: Option<usize> = None;
        for i in picks.iter() {
            if best.is_none_or(|b| self.population[i].1 > self.population[b].1) {
                best = Some(i);
            }
        }
        self.population[best.unwrap_or(0)].0.clone()
    }

    /// One child: tournament (and crossover), then mutation; canonical.
    fn child(&mut self) -> Architecture {
        let parent = if self.options.crossover {
            let (a, b) = (self.tournament(), self.tournament());
            let choices = a
                .choices
                .into_iter()
                .zip(b.choices)
                .map(|(x, y)| if self.rng.random_bool(0.5) { y } else { x })
                .collect();
            self.space.canonical(&Architecture { choices })
        } else {
            self.tournament()
        };
        let mut child = parent.clone();
        for l in 0..child.choices.len() {
            if self.rng.random::<f64>() < self.options.mutation_prob {
                child.choices[l] = self.space.random_choice(l, &mut self.rng);
            }
        }
        let mut child = self.space.canonical(&child);
        if child == parent {
            // Change one label the parent uses, to another value.
            let used: Vec<usize> = self
                .space
                .used(&parent)
                .into_iter()
                .enumerate()
                .filter(|(l, on)| *on && self.space.size(*l) > 1)
                .map(|(l, _)| l)
                .collect();
            if !used.is_empty() {
                let l = used[self.rng.random_range(0..used.len())];
                loop {
                    let c = self.space.random_choice(l, &mut self.rng);
                    if c != parent.choices[l] {
                        child.choices[l] = c;
                        break;
                    }
                }
                child = self.space.canonical(&child);
            }
        }
        child
    }
}

impl Strategy for Evolution {
    fn ask(&mut self) -> Result<Option<Architecture>, StrategyError> {
        let initial = self.population.len() + self.pending.len() < self.options.population_size;
        let mut proposal = None;
        if !initial && !self.population.is_empty() {
            for _ in 0..CHILD_TRIES {
                let c = self.child();
                if !self.sampler.blocked(&c) && self.space.feasible(&c) {
                    proposal = Some(c);
                    break;
                }
            }
        }
        let proposal = match proposal {
            Some(c) => Some(c),
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
            self.population.push_back((a, score));
            if self.population.len() > self.options.population_size {
                self.population.pop_front();
            }
        }
    }

    fn name(&self) -> &'static str {
        "evolution"
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{graph, NESTED};
    use super::*;

    #[test]
    fn failed_trials_never_join_the_population_and_the_oldest_leave() {
        let g = graph(NESTED);
        let options = EvolutionOptions { population_size: 3, sample_size: 2, ..Default::default() };
        let mut e = Evolution::new(&g, Mode::Max, 5, &options).unwrap();
        let asked: Vec<Architecture> = (0..6).map(|_| e.ask().unwrap().unwrap()).collect();
        e.tell(&asked[0], None);
        e.tell(&asked[1], Some(f64::NAN));
        assert_eq!(e.population().count(), 0, "failures and NaN are not results");
        for (i, a) in asked.iter().enumerate().skip(2) {
            e.tell(a, Some(i as f64));
        }
        let kept: Vec<f64> = e.population().map(|(_, m)| m).collect();
        assert_eq!(kept, [3.0, 4.0, 5.0], "the oldest left");
        assert!(e.pending.is_empty());
    }

    #[test]
    fn the_tournament_picks_the_best_in_the_mode() {
        let g = graph(NESTED);
        for mode in [Mode::Max, Mode::Min] {
            let options =
                EvolutionOptions { population_size: 4, sample_size: 4, ..Default::default() };
            let mut e = Evolution::new(&g, mode, 1, &options).unwrap();
            let asked: Vec<Architecture> = (0..4).map(|_| e.ask().unwrap().unwrap()).collect();
            for (i, a) in asked.iter().enumerate() {
                e.tell(a, Some(i as f64));
            }
            let want = if mode == Mode::Max { &asked[3] } else { &asked[0] };
            for _ in 0..10 {
                assert_eq!(&e.tournament(), want, "{mode}");
            }
        }
    }

    #[test]
    fn a_child_is_always_another_network_than_its_parent() {
        let g = graph(NESTED);
        let options = EvolutionOptions {
            population_size: 1,
            sample_size: 1,
            mutation_prob: 0.0,
            ..Default::default()
        };
        let mut e = Evolution::new(&g, Mode::Max, 3, &options).unwrap();
        let a = e.ask().unwrap().unwrap();
        e.tell(&a, Some(1.0));
        for _ in 0..50 {
            let c = e.child();
            assert_ne!(c, a);
            let differ = c.choices.iter().zip(&a.choices).filter(|(x, y)| x != y).count();
            // One used label changed; labels it (de)activates may follow.
            assert!(differ >= 1);
        }
    }

    #[test]
    fn options_out_of_range_are_refused() {
        let g = graph(NESTED);
        for o in [
            EvolutionOptions { population_size: 0, ..Default::default() },
            EvolutionOptions { sample_size: 101, ..Default::default() },
            EvolutionOptions { mutation_prob: 1.5, ..Default::default() },
        ] {
            assert!(matches!(
                Evolution::new(&g, Mode::Max, 0, &o),
                Err(StrategyError::InvalidOption { .. })
            ));
        }
    }
}
