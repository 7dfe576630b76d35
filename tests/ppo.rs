//! The `ppo` strategy (NNI's `PolicyBasedRL`: an LSTM policy trained with PPO, Schulman et al.
//! 2017) on real compiled spaces, with cheap known objectives instead of training.

mod common;

use nasc::arch::{self, Architecture, Choice};
use nasc::ir::{Domain, Graph};
use nasc::strategy::{
    self, canonical, feasible, well_formed, Mode, Options, Ppo, PpoOptions, Strategy,
    StrategyError, StrategyKind,
};
use rand::{Rng, SeedableRng};
use std::collections::{HashSet, VecDeque};
use std::time::Instant;

use common::{graph_of, network};

/// A synthetic objective: a fixed random score in [0, 1) for every (label, value), summed over
/// the labels the network uses (for an input choice, over its chosen inputs).
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
    move |a: &Architecture| {
        arch::active_labels(g, a)
            .into_iter()
            .map(|l| {
                let l = l.0 as usize;
                match &a.choices[l] {
                    Choice::Index(i) => single[l][*i],
                    Choice::Subset(s) => s.iter().map(|i| single[l][*i]).sum(),
                }
            })
            .sum()
    }
}

fn ppo(g: &Graph, mode: Mode, seed: u64, options: &PpoOptions) -> Box<dyn Strategy> {
    strategy::make(
        StrategyKind::Ppo,
        g,
        mode,
        seed,
        &Options { ppo: options.clone(), ..Default::default() },
    )
    .expect("ppo")
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

/// A small space with nesting (a layer choice with a value choice inside one alternative, an
/// input choice of 2 of 3, a repeat of 1-3 blocks each with its own layer choice) and a
/// parameter budget.
const SMALL: &str = include_str!("data/small_space.nas");

/// Two input choices: 2 of 3 (3 subsets: one action, the subset's rank) and 4 of 12 (495
/// subsets: four actions without replacement).
const INPUTS: &str = "
network Inputs(x: Tensor[n, 3, 8, 8]) -> Tensor[n, 10] {
    let h = conv_bn_relu(x, out: 4, kernel: 3)
    let few = [conv_bn_relu(h, out: 4, kernel: 1), max_pool(h, kernel: 3, stride: 1, padding: 1), h]
    let h = pick few 2 of few reduce sum
    let many = [h, h, h, h, h, h, h, h, h, h, h, h]
    let h = pick many 4 of many reduce sum
    return linear(global_avg_pool(h), out: 10)
}
";

/// The median of `xs`.
fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    }
}

fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len() as f64
}

/// Keeps `k` trials running: asks `k`, then tells the oldest and asks again; every `fail`-th
/// trial fails. Returns the proposals in order.
fn run_concurrent(
    s: &mut dyn Strategy,
    f: &dyn Fn(&Architecture) -> f64,
    budget: usize,
    k: usize,
    fail: usize,
) -> Vec<Architecture> {
    let mut running = VecDeque::new();
    let mut asked = Vec::new();
    while asked.len() < budget || !running.is_empty() {
        while running.len() < k && asked.len() < budget {
            let Some(a) = s.ask().expect("ask") else { break };
            asked.push(a.clone());
            running.push_back((asked.len(), a));
        }
        let Some((n, a)) = running.pop_front() else { break };
        s.tell(&a, if n % fail == 0 { None } else { Some(f(&a)) });
    }
    asked
}

/// One seed of the learning test: the metrics of PPO's and random search's proposals, in order,
/// and PPO's time asking and telling (which includes its updates).
struct Outcome {
    ppo: Vec<f64>,
    random: Vec<f64>,
    asking: std::time::Duration,
    telling: std::time::Duration,
    updates: usize,
}

#[test]
fn ppo_learns_and_beats_random_search_on_a_synthetic_objective() {
    // mnist.nas: 8 labels, 13,949 feasible networks; NNI's default settings.
    let g = network("examples/mnist.nas", "Mnist");
    let f = synthetic(&g, 42);
    let (budget, seeds, window) = (200, 5u64, 40);
    let optimum = arch::enumerate(&g, 100_000)
        .expect("small")
        .iter()
        .map(|a| canonical(&g, a))
        .filter(|a| feasible(&g, a))
        .map(|a| f(&a))
        .fold(f64::MIN, f64::max);
    // Seeds run on their own threads: each strategy is self-contained.
    let runs: Vec<Outcome> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..seeds)
            .map(|seed| {
                let (g, f) = (&g, &f);
                scope.spawn(move || {
                    let mut p = Ppo::new(g, Mode::Max, seed, &PpoOptions::default()).expect("ppo");
                    let (mut asking, mut telling) =
                        (std::time::Duration::ZERO, std::time::Duration::ZERO);
                    let mut metrics = Vec::new();
                    for _ in 0..budget {
                        let t = Instant::now();
                        let a = p.ask().expect("ask").expect("a proposal");
                        asking += t.elapsed();
                        let m = f(&a);
                        let t = Instant::now();
                        p.tell(&a, Some(m));
                        telling += t.elapsed();
                        metrics.push(m);
                    }
                    let mut r = strategy::make(
                        StrategyKind::Random,
                        g,
                        Mode::Max,
                        seed,
                        &Options::default(),
                    )
                    .expect("random");
                    Outcome {
                        ppo: metrics,
                        random: run(r.as_mut(), f, budget),
                        asking,
                        telling,
                        updates: p.updates(),
                    }
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("thread")).collect()
    });
    let best = |m: &[f64], n: usize| m[..n].iter().copied().fold(f64::MIN, f64::max);
    for (seed, Outcome { ppo: p, random: r, asking, telling, updates }) in runs.iter().enumerate() {
        let (first, last) = (mean(&p[..window]), mean(&p[budget - window..]));
        eprintln!(
            "seed {seed}: ppo mean reward first {window} {first:.3}, last {window} {last:.3}; best at 100/200: ppo {:.3}/{:.3}, random {:.3}/{:.3}; \
             {:.0} us per ask, {:.0} ms per update ({updates} updates)",
            best(p, 100),
            best(p, budget),
            best(r, 100),
            best(r, budget),
            asking.as_secs_f64() * 1e6 / budget as f64,
            telling.as_secs_f64() * 1e3 / *updates as f64,
        );
        assert_eq!(*updates, budget / 20);
        assert!(last > first + 0.4, "seed {seed}: the policy improves: {first:.3} -> {last:.3}");
    }
    let first = mean(&runs.iter().map(|r| mean(&r.ppo[..window])).collect::<Vec<_>>());
    let last = mean(&runs.iter().map(|r| mean(&r.ppo[budget - window..])).collect::<Vec<_>>());
    let random_mean = mean(&runs.iter().map(|r| mean(&r.random)).collect::<Vec<_>>());
    let ppo_best = median(runs.iter().map(|r| best(&r.ppo, budget)).collect());
    let random_best = median(runs.iter().map(|r| best(&r.random, budget)).collect());
    let (ppo_100, random_100) = (
        median(runs.iter().map(|r| best(&r.ppo, 100)).collect()),
        median(runs.iter().map(|r| best(&r.random, 100)).collect()),
    );
    eprintln!(
        "mnist.nas, synthetic objective (optimum {optimum:.3}), {seeds} seeds: ppo mean reward {first:.3} (first {window}) -> {last:.3} (last {window}), \
         random's mean {random_mean:.3}; median best of 100: ppo {ppo_100:.3}, random {random_100:.3}; of {budget}: ppo {ppo_best:.3}, random {random_best:.3}"
    );
    assert!(last > first + 0.8, "the mean reward rises clearly: {first:.3} -> {last:.3}");
    assert!(ppo_100 > random_100, "median best of 100: ppo {ppo_100:.3} vs random {random_100:.3}");
    assert!(
        ppo_best > random_best,
        "median best of {budget}: ppo {ppo_best:.3} vs random {random_best:.3}"
    );
}

#[test]
fn a_seed_and_a_history_determine_the_proposals() {
    let g = graph_of(SMALL);
    let f = synthetic(&g, 3);
    let options = PpoOptions { samples_per_update: 10, update_times: 2, ..Default::default() };
    // Three trials running at once, every 7th failing: several updates with results outstanding.
    let go = |seed| run_concurrent(ppo(&g, Mode::Min, seed, &options).as_mut(), &f, 60, 3, 7);
    let a = go(11);
    assert_eq!(a, go(11));
    let b = go(12);
    assert_ne!(a, b);
    // The same while other searches train their policies on other threads.
    let (a2, b2) = std::thread::scope(|scope| {
        let (x, y) = (scope.spawn(|| go(11)), scope.spawn(|| go(12)));
        (x.join().expect("thread"), y.join().expect("thread"))
    });
    assert_eq!((a, b), (a2, b2));
}

#[test]
fn every_proposal_meets_the_constraints() {
    // mnist.nas, params <= 500,000, rewarding size so that the policy pushes against the budget.
    let g = network("examples/mnist.nas", "Mnist");
    let size = |a: &Architecture| arch::cost(&g, a).expect("cost").0 as f64;
    let options = PpoOptions { samples_per_update: 10, ..Default::default() };
    let mut s = ppo(&g, Mode::Max, 1, &options);
    for _ in 0..60 {
        let a = s.ask().expect("ask").expect("a proposal");
        assert!(well_formed(&g, &a) && canonical(&g, &a) == a);
        assert!(size(&a) <= 500_000.0 && feasible(&g, &a), "{} parameters", size(&a));
        s.tell(&a, Some(size(&a)));
    }
    // A space where most label assignments break the budget; with dedup, every feasible network
    // is proposed once, then the space is exhausted.
    let tight = graph_of(&SMALL.replace("params <= 2_000", "params <= 400"));
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
    let broken =
        (0..1000).filter(|_| !feasible(&tight, &Architecture::random(&tight, &mut rng))).count();
    assert!(broken > 550, "the constraint rules out most of the space: {broken} of 1000");
    let want: HashSet<Architecture> = arch::enumerate(&tight, 100_000)
        .expect("small")
        .iter()
        .map(|a| canonical(&tight, a))
        .filter(|a| feasible(&tight, a))
        .collect();
    let options =
        PpoOptions { samples_per_update: 10, update_times: 1, dedup: true, ..Default::default() };
    let mut s = ppo(&tight, Mode::Max, 2, &options);
    let mut seen = HashSet::new();
    while let Some(a) = s.ask().expect("ask") {
        assert!(arch::cost(&tight, &a).expect("cost").0 <= 400);
        assert!(seen.insert(a.clone()), "dedup: proposed twice");
        s.tell(&a, Some(seen.len() as f64));
    }
    assert_eq!(seen, want, "every feasible network once");
    eprintln!("the tight space's {} feasible networks, each proposed once", want.len());
    assert_eq!(s.ask().expect("ask"), None, "stays exhausted");
}

#[test]
fn asks_run_ahead_of_tells_and_results_arrive_in_any_order() {
    let g = graph_of(SMALL);
    let f = synthetic(&g, 5);
    let mut p = Ppo::new(&g, Mode::Max, 3, &PpoOptions::default()).expect("ppo");
    // Sixteen outstanding, told in reverse order.
    let asked: Vec<Architecture> =
        (0..16).map(|_| p.ask().expect("ask").expect("a proposal")).collect();
    for a in asked.iter().rev() {
        p.tell(a, Some(f(a)));
    }
    assert_eq!(p.updates(), 0);
    // Results for networks it never proposed count too.
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
    for _ in 0..4 {
        let a = canonical(&g, &Architecture::random(&g, &mut rng));
        p.tell(&a, Some(f(&a)));
    }
    assert_eq!(p.updates(), 1, "20 results: one update");
    // The same network outstanding several times (no dedup): each result finds a proposal.
    let options = PpoOptions { samples_per_update: 5, ..Default::default() };
    let tiny = network("tests/data/tiny_search.nas", "Tiny");
    let mut p = Ppo::new(&tiny, Mode::Max, 0, &options).expect("ppo");
    let asked: Vec<Architecture> =
        (0..30).map(|_| p.ask().expect("ask").expect("a proposal")).collect();
    assert!(
        asked.iter().collect::<HashSet<_>>().len() < asked.len(),
        "6 networks, 30 proposals: repeats"
    );
    for a in &asked {
        p.tell(a, Some(0.5));
    }
    assert_eq!(p.updates(), 6);
    // A concurrent run: 16 running at once, every 5th failing.
    let asked =
        run_concurrent(ppo(&g, Mode::Max, 4, &PpoOptions::default()).as_mut(), &f, 100, 16, 5);
    assert_eq!(asked.len(), 100);
}

#[test]
fn failed_trials_are_skipped() {
    let g = graph_of(SMALL);
    let mut p = Ppo::new(&g, Mode::Max, 0, &PpoOptions::default()).expect("ppo");
    for _ in 0..50 {
        let a = p.ask().expect("ask").expect("a proposal");
        p.tell(&a, None);
    }
    assert_eq!((p.updates(), p.baseline()), (0, None), "failures teach nothing");
    for i in 0..40 {
        let a = p.ask().expect("ask").expect("a proposal");
        p.tell(&a, if i % 2 == 0 { Some(1.0) } else { Some(f64::NAN) });
    }
    assert_eq!(p.updates(), 1, "20 successes among 40 results");
    assert_eq!(p.baseline(), Some(1.0));
}

#[test]
fn minimising_a_negated_metric_proposes_what_maximising_proposes() {
    let g = network("examples/mnist.nas", "Mnist");
    let f = synthetic(&g, 1);
    let options = PpoOptions { samples_per_update: 10, update_times: 2, ..Default::default() };
    let asks = |mode: Mode, sign: f64| {
        let mut s = ppo(&g, mode, 9, &options);
        run(s.as_mut(), &|a| sign * f(a), 50);
        (0..10).map(|_| s.ask().expect("ask").expect("a proposal")).collect::<Vec<_>>()
    };
    let max = asks(Mode::Max, 1.0);
    assert_eq!(max, asks(Mode::Min, -1.0));
    assert_ne!(max, asks(Mode::Min, 1.0), "the mode matters");
}

#[test]
fn input_choices_are_one_action_or_several() {
    let g = graph_of(INPUTS);
    let sizes: Vec<Option<u64>> = g.labels.labels.iter().map(|l| l.domain.size()).collect();
    assert_eq!(sizes, [Some(3), Some(495)]);
    // Reward the inputs {0, 1, 2, 3} of the large choice and the first subset of the small one.
    let f = |a: &Architecture| match (&a.choices[0], &a.choices[1]) {
        (Choice::Subset(s), Choice::Subset(t)) => {
            (s == &[0, 1]) as u8 as f64 + t.iter().filter(|i| **i < 4).count() as f64
        }
        _ => panic!("input choices are subsets"),
    };
    let mut s = ppo(&g, Mode::Max, 0, &PpoOptions::default());
    let mut asked = Vec::new();
    for _ in 0..200 {
        let a = s.ask().expect("ask").expect("a proposal");
        assert!(well_formed(&g, &a), "{a:?}");
        s.tell(&a, Some(f(&a)));
        asked.push(a);
    }
    assert!(asked[..20].iter().collect::<HashSet<_>>().len() > 10, "the first proposals vary");
    let metrics: Vec<f64> = asked.iter().map(f).collect();
    let (first, last) = (mean(&metrics[..40]), mean(&metrics[160..]));
    eprintln!(
        "input choices: mean reward {first:.3} (first 40) -> {last:.3} (last 40), of at most 5; uniform choices average {:.3}",
        1.0 / 3.0 + 4.0 * 4.0 / 12.0
    );
    assert!(last > first + 1.0, "{first} -> {last}");
}

#[test]
fn options_are_read_and_checked() {
    let mut o = Options::default();
    for (key, value) in [
        ("samples_per_update", "10"),
        ("batch_size", "64"),
        ("repeat", "3"),
        ("update_times", "1"),
        ("lr", "3e-4"),
        ("clip", "0.1"),
        ("ent_coef", "0"),
        ("dedup", "true"),
    ] {
        o.set(StrategyKind::Ppo, key, value).expect(key);
    }
    let want = PpoOptions {
        samples_per_update: 10,
        batch_size: 64,
        repeat: 3,
        update_times: 1,
        lr: 3e-4,
        clip: 0.1,
        ent_coef: 0.0,
        dedup: true,
    };
    assert_eq!(o.ppo, want);
    assert!(matches!(
        o.set(StrategyKind::Ppo, "population_size", "3"),
        Err(StrategyError::UnknownOption { .. })
    ));
    assert!(matches!(
        o.set(StrategyKind::Ppo, "lr", "fast"),
        Err(StrategyError::InvalidOption { .. })
    ));
    let d = PpoOptions::default();
    assert_eq!(
        (d.samples_per_update, d.batch_size, d.repeat, d.update_times, d.lr, d.dedup),
        (20, 32, 5, 5, 1e-4, false),
        "NNI's defaults"
    );
    let g = graph_of(SMALL);
    for bad in [
        PpoOptions { samples_per_update: 0, ..Default::default() },
        PpoOptions { batch_size: 0, ..Default::default() },
        PpoOptions { lr: -1.0, ..Default::default() },
        PpoOptions { clip: f64::NAN, ..Default::default() },
        PpoOptions { ent_coef: -0.1, ..Default::default() },
    ] {
        assert!(
            matches!(Ppo::new(&g, Mode::Max, 0, &bad), Err(StrategyError::InvalidOption { .. })),
            "{bad:?}"
        );
    }
    assert_eq!(ppo(&g, Mode::Max, 0, &PpoOptions::default()).name(), "ppo");
}

/// Time per proposal and per update at 100 and 1,000 finished trials on mnist.nas, NNI's
/// defaults (ignored: a measurement, not a check; `cargo test --release --test ppo -- --ignored
/// --nocapture`).
#[test]
#[ignore]
fn time_per_proposal_and_update() {
    let g = network("examples/mnist.nas", "Mnist");
    let f = synthetic(&g, 42);
    let mut p = Ppo::new(&g, Mode::Max, 0, &PpoOptions::default()).expect("ppo");
    // Per window of trials: time asking, time telling (the updates), asks, updates before it.
    let (mut asking, mut telling, mut asks, mut updates_before) =
        (std::time::Duration::ZERO, std::time::Duration::ZERO, 0u32, 0);
    for n in 1..=1000 {
        let t = Instant::now();
        let a = p.ask().expect("ask").expect("a proposal");
        asking += t.elapsed();
        asks += 1;
        let m = f(&a);
        let t = Instant::now();
        p.tell(&a, Some(m));
        telling += t.elapsed();
        if n == 100 || n == 1000 {
            let updates = p.updates() - updates_before;
            eprintln!(
                "trials {}-{n}: {:.1} us per ask, {:.1} ms per update ({updates} updates), {:.2} ms per trial in all",
                n + 1 - asks as usize,
                asking.as_secs_f64() * 1e6 / asks as f64,
                telling.as_secs_f64() * 1e3 / updates as f64,
                (asking + telling).as_secs_f64() * 1e3 / asks as f64
            );
            (asking, telling, asks, updates_before) =
                (std::time::Duration::ZERO, std::time::Duration::ZERO, 0, p.updates());
        }
    }
}
