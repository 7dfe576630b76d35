//! The multi-trial strategies on real compiled spaces: random, grid, regularized evolution and
//! TPE, with cheap known objectives (a synthetic score, and NAS-Bench-201's real CIFAR-10
//! accuracies from tests/data/nb201_compact.csv.gz) instead of training.

mod common;

use nasc::arch::{self, Architecture, Choice};
use nasc::ir::{Domain, Graph};
use nasc::strategy::{
    self, canonical, feasible, Mode, Options, Strategy, StrategyError, StrategyKind,
};
use rand::{Rng, SeedableRng};
use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::time::Instant;

// ---------------------------------------------------------------------------------------------
// Spaces and objectives.
// ---------------------------------------------------------------------------------------------

use common::{graph_of, network};

/// A small space with nesting: a layer choice with a value choice inside one alternative, an
/// input choice (2 of 3), a repeat of 1-3 blocks each with its own layer choice, a width, and a
/// parameter budget that rules out the largest networks. 6,561 label assignments give 1,755
/// distinct networks.
const SMALL: &str = include_str!("data/small_space.nas");

/// Every feasible network of a small space, each once (the ground truth for exhaustion).
fn feasible_networks(g: &Graph) -> HashSet<Architecture> {
    let all = arch::enumerate(g, 1_000_000).expect("small space");
    all.iter().map(|a| canonical(g, a)).filter(|a| feasible(g, a)).collect()
}

/// A synthetic objective: a fixed random score for every (label, value), summed over the
/// labels the network uses (for an input choice, over its chosen inputs), plus a random
/// interaction between every pair of consecutive used labels, so that the optimum is not
/// label-by-label.
fn synthetic(g: &Graph, seed: u64) -> impl Fn(&Architecture) -> f64 + '_ {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let width = |d: &Domain| match d {
        Domain::Values { values } => values.len(),
        Domain::Alternatives { names } => names.len(),
        Domain::Inputs { n, .. } => *n,
    };
    let single: Vec<Vec<f64>> = g
        .labels
        .labels
        .iter()
        .map(|l| (0..width(&l.domain)).map(|_| rng.random::<f64>()).collect())
        .collect();
    let pair: Vec<Vec<f64>> =
        (0..g.labels.len()).map(|_| (0..64).map(|_| rng.random::<f64>() * 0.5).collect()).collect();
    move |a: &Architecture| {
        let used = arch::active_labels(g, a);
        let value = |c: &Choice| match c {
            Choice::Index(i) => *i,
            Choice::Subset(s) => s.iter().sum(),
        };
        let mut score = 0.0;
        for (j, l) in used.iter().enumerate() {
            let l = l.0 as usize;
            score += match &a.choices[l] {
                Choice::Index(i) => single[l][*i],
                Choice::Subset(s) => s.iter().map(|i| single[l][*i]).sum(),
            };
            if let Some(next) = used.get(j + 1) {
                let m = next.0 as usize;
                score += pair[l][(value(&a.choices[l]) * 8 + value(&a.choices[m])) % 64];
            }
        }
        score
    }
}

/// NAS-Bench-201's space and the 200-epoch CIFAR-10 validation accuracy of each of its 15,625
/// networks, keyed by canonical architecture.
fn nb201() -> &'static (Graph, HashMap<Architecture, f64>) {
    static NB201: std::sync::OnceLock<(Graph, HashMap<Architecture, f64>)> =
        std::sync::OnceLock::new();
    NB201.get_or_init(load_nb201)
}

fn load_nb201() -> (Graph, HashMap<Architecture, f64>) {
    let g = network("stdlib/spaces/nasbench201.nas", "NasBench201");
    let mut gz = flate2::read::GzDecoder::new(
        std::fs::File::open("tests/data/nb201_compact.csv.gz").expect("data"),
    );
    let mut text = String::new();
    gz.read_to_string(&mut text).expect("gzip");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    let col = |name: &str| {
        header.iter().position(|h| *h == name).unwrap_or_else(|| panic!("no column {name}"))
    };
    let (arch_col, acc_col) = (col("arch"), col("cifar10_valid_acc"));
    let mut acc = HashMap::new();
    for line in lines {
        let fields: Vec<&str> = line.split(',').collect();
        // `|op~0|+|op~0|op~1|+|op~0|op~1|op~2|`: group i (from 1), position j is `cell/edge[i][j]`.
        let mut m = serde_json::Map::new();
        for (i, group) in fields[arch_col].split('+').enumerate() {
            for (j, entry) in group.trim_matches('|').split('|').enumerate() {
                let (op, _) = entry.split_once('~').expect("op~j");
                m.insert(format!("cell/edge[{}][{j}]", i + 1), serde_json::Value::from(op));
            }
        }
        let a = Architecture::from_json(&g, &serde_json::Value::Object(m).to_string())
            .expect("architecture");
        acc.insert(canonical(&g, &a), fields[acc_col].parse::<f64>().expect("accuracy"));
    }
    assert_eq!(acc.len(), 15_625);
    (g, acc)
}

/// Asks and tells `budget` times, one trial at a time; returns the metrics in order.
fn run(s: &mut dyn Strategy, objective: &dyn Fn(&Architecture) -> f64, budget: usize) -> Vec<f64> {
    let mut out = Vec::with_capacity(budget);
    for _ in 0..budget {
        let Some(a) = s.ask().expect("ask") else { break };
        let m = objective(&a);
        s.tell(&a, Some(m));
        out.push(m);
    }
    out
}

/// The best metric of a run in `mode`.
fn best(metrics: &[f64], mode: Mode) -> f64 {
    metrics
        .iter()
        .copied()
        .fold(None, |b: Option<f64>, m| {
            Some(b.map_or(m, |b| if mode.better(m, b) { m } else { b }))
        })
        .expect("a metric")
}

fn make(
    kind: StrategyKind,
    g: &Graph,
    mode: Mode,
    seed: u64,
    options: &Options,
) -> Box<dyn Strategy> {
    strategy::make(kind, g, mode, seed, options).expect("strategy")
}

/// Mean over `seeds` of the best metric found within `budget` trials.
fn mean_best(
    kind: StrategyKind,
    g: &Graph,
    mode: Mode,
    options: &Options,
    objective: &dyn Fn(&Architecture) -> f64,
    budget: usize,
    seeds: u64,
) -> f64 {
    (0..seeds)
        .map(|seed| {
            best(&run(make(kind, g, mode, seed, options).as_mut(), objective, budget), mode)
        })
        .sum::<f64>()
        / seeds as f64
}

// ---------------------------------------------------------------------------------------------
// Random search.
// ---------------------------------------------------------------------------------------------

#[test]
fn random_proposes_each_network_once_and_stops_when_the_space_is_exhausted() {
    let g = graph_of(SMALL);
    let want = feasible_networks(&g);
    let all = arch::enumerate(&g, 1_000_000).unwrap();
    let distinct: HashSet<Architecture> = all.iter().map(|a| canonical(&g, a)).collect();
    assert!(
        distinct.len() < all.len() * 3 / 4,
        "canonical dedup matters here: {} networks, {} assignments",
        distinct.len(),
        all.len()
    );
    assert!(
        want.len() < distinct.len() * 9 / 10,
        "the constraint matters here: {} of {} networks",
        want.len(),
        distinct.len()
    );
    let mut s = make(StrategyKind::Random, &g, Mode::Max, 3, &Options::default());
    let mut got = HashSet::new();
    while let Some(a) = s.ask().unwrap() {
        assert!(got.insert(a.clone()), "proposed twice: {:?}", a.to_json(&g));
        s.tell(&a, Some(0.0));
    }
    assert_eq!(got, want, "every feasible network, each once");
    assert_eq!(s.ask().unwrap(), None, "stays exhausted");
}

#[test]
fn random_exhausts_mnist_exactly() {
    let g = network("examples/mnist.nas", "Mnist");
    let mut s = make(StrategyKind::Random, &g, Mode::Max, 0, &Options::default());
    let start = Instant::now();
    let mut seen = HashSet::new();
    while let Some(a) = s.ask().unwrap() {
        assert!(feasible(&g, &a), "{:?}", a.to_json(&g));
        assert!(seen.insert(a));
    }
    eprintln!(
        "random search proposed all {} networks of mnist.nas in {:?}",
        seen.len(),
        start.elapsed()
    );
    // 13,950 networks; the parameter budget rules out one (nasc check's `satisfying`).
    assert_eq!(seen.len(), 13_949);
    assert_eq!(nasc::facts::facts(&g).satisfying, Some(13_949));
}

#[test]
fn every_proposal_meets_the_constraints() {
    // mnist.nas: params <= 500,000.
    let g = network("examples/mnist.nas", "Mnist");
    for kind in
        [StrategyKind::Random, StrategyKind::Evolution, StrategyKind::Tpe, StrategyKind::Grid]
    {
        let options = Options {
            evolution: strategy::EvolutionOptions {
                population_size: 20,
                sample_size: 5,
                ..Default::default()
            },
            ..Default::default()
        };
        let mut s = make(kind, &g, Mode::Max, 1, &options);
        // Reward size, so that the strategies that learn push against the budget.
        let objective = |a: &Architecture| arch::cost(&g, a).unwrap().0 as f64;
        for m in run(s.as_mut(), &objective, 300) {
            assert!(m <= 500_000.0, "{kind}: {m} parameters");
        }
    }
    // A space where most label assignments break the budget.
    let tight = graph_of(&SMALL.replace("params <= 2_000", "params <= 500"));
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
    let broken =
        (0..1000).filter(|_| !feasible(&tight, &Architecture::random(&tight, &mut rng))).count();
    assert!(broken > 550, "the constraint rules out most of the space: {broken} of 1000");
    for kind in
        [StrategyKind::Random, StrategyKind::Evolution, StrategyKind::Tpe, StrategyKind::Grid]
    {
        let mut s = make(kind, &tight, Mode::Max, 2, &Options::default());
        let mut n = 0;
        while let Some(a) = s.ask().unwrap() {
            assert!(arch::cost(&tight, &a).unwrap().0 <= 500, "{kind}");
            s.tell(&a, Some(n as f64));
            n += 1;
        }
        assert_eq!(n, feasible_networks(&tight).len(), "{kind} exhausts the feasible networks");
    }
}

#[test]
fn random_search_is_determined_by_its_seed() {
    let g = network("stdlib/spaces/nasbench201.nas", "NasBench201");
    let asks = |seed: u64| {
        let mut s = make(StrategyKind::Random, &g, Mode::Max, seed, &Options::default());
        (0..50).map(|_| s.ask().unwrap().unwrap()).collect::<Vec<_>>()
    };
    assert_eq!(asks(7), asks(7));
    assert_ne!(asks(7), asks(8));
}

// ---------------------------------------------------------------------------------------------
// Grid search.
// ---------------------------------------------------------------------------------------------

fn grid(g: &Graph, shuffle: bool, seed: u64) -> Box<dyn Strategy> {
    let options = Options { grid: strategy::GridOptions { shuffle }, ..Default::default() };
    make(StrategyKind::Grid, g, Mode::Max, seed, &options)
}

fn drain(s: &mut dyn Strategy) -> Vec<Architecture> {
    let mut out = Vec::new();
    while let Some(a) = s.ask().unwrap() {
        out.push(a);
    }
    out
}

#[test]
fn grid_visits_every_network_exactly_once() {
    for g in [graph_of(SMALL), network("examples/mnist.nas", "Mnist")] {
        let want = feasible_networks(&g);
        let ordered = drain(grid(&g, false, 0).as_mut());
        let shuffled = drain(grid(&g, true, 0).as_mut());
        for (what, order) in [("in order", &ordered), ("shuffled", &shuffled)] {
            let set: HashSet<Architecture> = order.iter().cloned().collect();
            assert_eq!(set.len(), order.len(), "{}: {what}: a network twice", g.name);
            assert_eq!(set, want, "{}: {what}: every feasible network", g.name);
        }
        assert_ne!(ordered, shuffled, "{}: shuffle changes the order", g.name);
        // In order starts from the all-first architecture.
        let first = Architecture {
            choices: g.labels.labels.iter().map(|l| strategy::first_choice(&l.domain)).collect(),
        };
        assert_eq!(ordered[0], first);
    }
    let g = graph_of(SMALL);
    let shuffled = drain(grid(&g, true, 0).as_mut());
    assert_eq!(shuffled, drain(grid(&g, true, 0).as_mut()), "the same seed, the same order");
    assert_ne!(shuffled, drain(grid(&g, true, 1).as_mut()), "another seed, another order");
}

#[test]
fn grid_streams_the_darts_space_without_materialising_it() {
    let g = network("stdlib/spaces/darts.nas", "Darts");
    assert!(
        nasc::facts::facts(&g).architectures.bits() > 90,
        "about 6.3 x 10^29 label assignments"
    );
    for shuffle in [false, true] {
        let start = Instant::now();
        let mut s = grid(&g, shuffle, 0);
        let first: Vec<Architecture> =
            (0..1000).map(|_| s.ask().unwrap().expect("not exhausted")).collect();
        let took = start.elapsed();
        eprintln!("DARTS, shuffle {shuffle}: 1,000 proposals in {took:?}");
        let set: HashSet<&Architecture> = first.iter().collect();
        assert_eq!(set.len(), 1000);
        assert!(first.iter().all(|a| canonical(&g, a) == *a && feasible(&g, a)));
        assert!(took.as_secs_f64() < 20.0, "{took:?}");
    }
}

#[test]
fn shuffled_grid_refuses_a_space_beyond_128_bits() {
    // 40 input choices of 32 of 64 inputs: (1.8 x 10^18)^40.
    let mut text = String::from("network Huge(x: Tensor[n, 4]) -> Tensor[n, 4] {\n    let h = x\n");
    for i in 0..40 {
        text += &format!(
            "    let xs{i} = [{}]\n    let h = pick p{i} 32 of xs{i} reduce sum\n",
            vec!["h"; 64].join(", ")
        );
    }
    text += "    return h\n}\n";
    let g = graph_of(&text);
    let err = strategy::make(StrategyKind::Grid, &g, Mode::Max, 0, &Options::default())
        .err()
        .expect("too large");
    assert!(matches!(&err, StrategyError::SpaceTooLarge { size } if size.len() > 700), "{err}");
    // In order it streams.
    let mut s = grid(&g, false, 0);
    assert!(s.ask().unwrap().is_some());
}

// ---------------------------------------------------------------------------------------------
// Evolution and TPE: better than random search.
// ---------------------------------------------------------------------------------------------

#[test]
fn evolution_and_tpe_beat_random_search_on_a_synthetic_objective() {
    let g = network("examples/mnist.nas", "Mnist");
    let f = synthetic(&g, 42);
    let o = Options::default();
    let (budget, seeds) = (200, 6);
    let r = mean_best(StrategyKind::Random, &g, Mode::Max, &o, &f, budget, seeds);
    let e = mean_best(StrategyKind::Evolution, &g, Mode::Max, &o, &f, budget, seeds);
    let t = mean_best(StrategyKind::Tpe, &g, Mode::Max, &o, &f, budget, seeds);
    let optimum = feasible_networks(&g).iter().map(&f).fold(f64::MIN, f64::max);
    eprintln!("synthetic on mnist.nas, {budget} trials, {seeds} seeds: mean best random {r:.4}, evolution {e:.4}, tpe {t:.4}; optimum {optimum:.4}");
    assert!(e > r, "evolution {e} vs random {r}");
    assert!(t > r, "tpe {t} vs random {r}");
}

#[test]
fn evolution_and_tpe_beat_random_search_on_nasbench201() {
    let (g, acc) = nb201();
    let f = |a: &Architecture| acc[a];
    let o = Options::default();
    let (budget, seeds) = (100, 10);
    let r = mean_best(StrategyKind::Random, g, Mode::Max, &o, &f, budget, seeds);
    // The benchmark's own setting for regularized evolution: population 10, tournaments of 3.
    let small = Options {
        evolution: strategy::EvolutionOptions {
            population_size: 10,
            sample_size: 3,
            ..Default::default()
        },
        ..Default::default()
    };
    let e = mean_best(StrategyKind::Evolution, g, Mode::Max, &small, &f, budget, seeds);
    let t = mean_best(StrategyKind::Tpe, g, Mode::Max, &o, &f, budget, seeds);
    eprintln!("NAS-Bench-201 CIFAR-10 valid, {budget} trials, {seeds} seeds: mean best random {r:.3}, evolution {e:.3}, tpe {t:.3}");
    assert!(e > r, "evolution {e} vs random {r}");
    assert!(t > r, "tpe {t} vs random {r}");
}

#[test]
fn tpe_maximises_accuracy_when_asked_and_minimises_when_asked() {
    let (g, acc) = nb201();
    let f = |a: &Architecture| acc[a];
    let o = Options::default();
    let (budget, seeds) = (100, 6);
    let mut mean = HashMap::new();
    for mode in [Mode::Max, Mode::Min] {
        let mut after_startup = 0.0;
        for seed in 0..seeds {
            let metrics = run(make(StrategyKind::Tpe, g, mode, seed, &o).as_mut(), &f, budget);
            after_startup += metrics[20..].iter().sum::<f64>() / (budget - 20) as f64;
        }
        mean.insert(mode, after_startup / seeds as f64);
    }
    let random: f64 = acc.values().sum::<f64>() / acc.len() as f64;
    eprintln!("TPE's mean accuracy after its 20 random trials: max {:.2}, min {:.2}; the space's mean {random:.2}", mean[&Mode::Max], mean[&Mode::Min]);
    assert!(mean[&Mode::Max] > random + 5.0, "maximising proposes accurate networks");
    assert!(mean[&Mode::Min] < random - 5.0, "minimising proposes inaccurate ones");
}

#[test]
fn min_on_a_negated_metric_proposes_what_max_proposes() {
    let g = network("examples/mnist.nas", "Mnist");
    let f = synthetic(&g, 1);
    let options = Options {
        evolution: strategy::EvolutionOptions {
            population_size: 20,
            sample_size: 5,
            ..Default::default()
        },
        ..Default::default()
    };
    for kind in [StrategyKind::Evolution, StrategyKind::Tpe] {
        let asks = |mode: Mode, sign: f64| {
            let mut s = make(kind, &g, mode, 9, &options);
            let mut out = Vec::new();
            for _ in 0..80 {
                let a = s.ask().unwrap().unwrap();
                s.tell(&a, Some(sign * f(&a)));
                out.push(a);
            }
            out
        };
        let max = asks(Mode::Max, 1.0);
        assert_eq!(max, asks(Mode::Min, -1.0), "{kind}");
        assert_ne!(max, asks(Mode::Min, 1.0), "{kind}: the mode matters");
    }
}

// ---------------------------------------------------------------------------------------------
// Concurrency, failures, determinism.
// ---------------------------------------------------------------------------------------------

/// Keeps `k` trials running: asks `k`, then tells the oldest and asks again; every `fail`-th
/// trial fails. Returns the proposals and their metrics (NaN for failures).
fn run_concurrent(
    s: &mut dyn Strategy,
    f: &dyn Fn(&Architecture) -> f64,
    budget: usize,
    k: usize,
    fail: usize,
) -> (Vec<Architecture>, Vec<f64>) {
    let mut running = std::collections::VecDeque::new();
    let (mut asked, mut metrics) = (Vec::new(), Vec::new());
    while asked.len() < budget || !running.is_empty() {
        while running.len() < k && asked.len() < budget {
            let Some(a) = s.ask().expect("ask") else { break };
            asked.push(a.clone());
            running.push_back((asked.len(), a));
        }
        let Some((n, a)) = running.pop_front() else { break };
        if n % fail == 0 {
            s.tell(&a, None);
            metrics.push(f64::NAN);
        } else {
            let m = f(&a);
            s.tell(&a, Some(m));
            metrics.push(m);
        }
    }
    (asked, metrics)
}

#[test]
fn asks_work_while_results_are_outstanding() {
    let (g, acc) = nb201();
    let f = |a: &Architecture| acc[a];
    let options = Options {
        evolution: strategy::EvolutionOptions {
            population_size: 10,
            sample_size: 3,
            ..Default::default()
        },
        ..Default::default()
    };
    for kind in
        [StrategyKind::Random, StrategyKind::Grid, StrategyKind::Evolution, StrategyKind::Tpe]
    {
        // 16 running at once: more than the population.
        let (asked, metrics) =
            run_concurrent(make(kind, g, Mode::Max, 4, &options).as_mut(), &f, 150, 16, 5);
        assert_eq!(asked.len(), 150, "{kind}");
        let set: HashSet<&Architecture> = asked.iter().collect();
        assert_eq!(set.len(), asked.len(), "{kind}: no network twice, results outstanding or not");
        let best = metrics.iter().copied().filter(|m| !m.is_nan()).fold(f64::MIN, f64::max);
        eprintln!("{kind} with 16 trials running, every 5th failing: best {best:.2}");
    }
}

#[test]
fn every_strategy_is_determined_by_its_seed_and_history() {
    let g = graph_of(SMALL);
    let f = synthetic(&g, 3);
    let options = Options {
        evolution: strategy::EvolutionOptions {
            population_size: 10,
            sample_size: 3,
            crossover: true,
            ..Default::default()
        },
        ..Default::default()
    };
    for kind in
        [StrategyKind::Random, StrategyKind::Grid, StrategyKind::Evolution, StrategyKind::Tpe]
    {
        let go = |seed| {
            run_concurrent(make(kind, &g, Mode::Min, seed, &options).as_mut(), &f, 120, 3, 7).0
        };
        let a = go(11);
        assert_eq!(a, go(11), "{kind}");
        assert_ne!(a, go(12), "{kind}");
    }
}

#[test]
fn strategies_go_on_when_every_trial_fails() {
    let g = graph_of(SMALL);
    for kind in [StrategyKind::Evolution, StrategyKind::Tpe] {
        let mut s = make(kind, &g, Mode::Max, 0, &Options::default());
        let mut seen = HashSet::new();
        while let Some(a) = s.ask().unwrap() {
            assert!(seen.insert(a.clone()), "{kind}");
            s.tell(&a, None);
        }
        assert_eq!(seen, feasible_networks(&g), "{kind}: failed trials count as seen");
    }
}

#[test]
fn options_out_of_range_are_refused() {
    let g = graph_of(SMALL);
    let bad = Options {
        evolution: strategy::EvolutionOptions { sample_size: 0, ..Default::default() },
        ..Default::default()
    };
    assert!(matches!(
        strategy::make(StrategyKind::Evolution, &g, Mode::Max, 0, &bad),
        Err(StrategyError::InvalidOption { .. })
    ));
    let bad = Options {
        tpe: strategy::TpeOptions { gamma: 1.5, ..Default::default() },
        ..Default::default()
    };
    assert!(matches!(
        strategy::make(StrategyKind::Tpe, &g, Mode::Max, 0, &bad),
        Err(StrategyError::InvalidOption { .. })
    ));
}
