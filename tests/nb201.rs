//! NAS-Bench-201 by lookup (`nasc::experiment::nb201`): the embedded table, its one-to-one match
//! with the compiled space, and the benchmark's multi-trial protocol (Dong & Yang 2020,
//! section 5), checked against a plain re-implementation of it.

use nasc::arch::{self, Architecture};
use nasc::experiment::nb201::{self, Benchmark, Nb201Error, QUERY_FRACTION};
use nasc::strategy::{self, canonical, Mode, Options, StrategyKind};
use std::collections::HashSet;

fn bench() -> &'static Benchmark {
    static B: std::sync::OnceLock<Benchmark> = std::sync::OnceLock::new();
    B.get_or_init(|| Benchmark::new().expect("the benchmark loads"))
}

#[test]
fn the_table_has_one_row_for_each_of_the_15625_architectures_of_the_space() {
    let b = bench();
    assert_eq!(b.table().len(), 15_625);
    let g = b.graph();
    let all = arch::enumerate(g, 20_000).expect("small space");
    assert_eq!(all.len(), 15_625);
    let mut rows = HashSet::new();
    for a in &all {
        assert_eq!(&canonical(g, a), a, "every label is always used: architectures are networks");
        let s = b.arch_string(a);
        let r = b.record(a).unwrap_or_else(|| panic!("{s}: no row"));
        assert_eq!(r.arch, s);
        assert!(rows.insert(r.index), "{s}: row {} twice", r.index);
        assert_eq!(b.architecture(&s).as_ref(), Some(a));
    }
    assert_eq!(rows.len(), 15_625, "every row, each once");
    assert_eq!(rows.iter().copied().max(), Some(15_624));
}

#[test]
fn a_known_row_by_hand() {
    // Row 1 of the file: index 1, 12-epoch validation 82.8340, 200-epoch time 2169.6414 s,
    // 200-epoch test 93.6600.
    let b = bench();
    let json = r#"{"cell/edge[1][0]": "nor_conv_3x3",
                   "cell/edge[2][0]": "nor_conv_3x3", "cell/edge[2][1]": "avg_pool_3x3",
                   "cell/edge[3][0]": "skip_connect", "cell/edge[3][1]": "nor_conv_3x3", "cell/edge[3][2]": "skip_connect"}"#;
    let a = Architecture::from_json(b.graph(), json).expect("architecture");
    let s = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|";
    assert_eq!(b.arch_string(&a), s);
    let r = b.record(&a).expect("row");
    assert_eq!(
        (r.index, r.arch.as_str(), r.valid12, r.train_time_200, r.test200),
        (1, s, 82.834, 2169.6414, 93.66)
    );
    assert!((r.cost() - 2169.6414 * 12.0 / 200.0).abs() < 1e-9);
    assert_eq!(b.table().get(s), Some(r));
}

/// The protocol, written out plainly: ask, look up, charge 12/200 of the 200-epoch time, stop
/// at the first query that would overrun the budget, keep the best 12-epoch validation accuracy.
/// Returns (queries, repeats, charged seconds, the best row's index, its test accuracy).
fn by_hand(
    b: &Benchmark,
    kind: StrategyKind,
    options: &Options,
    seed: u64,
    budget: f64,
) -> (usize, usize, f64, u32, f64) {
    let mut s = strategy::make(kind, b.graph(), Mode::Max, seed, options).expect("strategy");
    let (mut queries, mut charged) = (0, 0.0);
    let mut seen = HashSet::new();
    let mut best: Option<&nb201::Record> = None;
    while let Some(a) = s.ask().expect("ask") {
        let r = b.record(&a).expect("in the table");
        let cost = r.train_time_200 * 12.0 / 200.0;
        if charged + cost > budget {
            assert!(
                budget - charged < cost,
                "stopped only when the budget could not pay for the query"
            );
            break;
        }
        charged += cost;
        queries += 1;
        seen.insert(r.index);
        if best.is_none_or(|x| r.valid12 > x.valid12) {
            best = Some(r);
        }
        s.tell(&a, Some(r.valid12));
    }
    let best = best.expect("a query");
    (queries, queries - seen.len(), charged, best.index, best.test200)
}

#[test]
fn a_random_search_run_is_charged_12_of_200_epochs_per_query_and_stops_at_the_budget() {
    let b = bench();
    assert_eq!(QUERY_FRACTION, 12.0 / 200.0);
    let budget = 1_500.0;
    let out = b.run_once(StrategyKind::Random, &Options::default(), 7, budget).expect("run");
    let (queries, repeats, charged, best, test) =
        by_hand(b, StrategyKind::Random, &Options::default(), 7, budget);
    assert!(queries >= 5, "about 1,500 / 120 queries: {queries}");
    assert_eq!((out.queries, out.repeats), (queries, repeats));
    assert!((out.charged_s - charged).abs() < 1e-9 && out.charged_s <= budget);
    assert!(!out.exhausted);
    let r = b.table().records().iter().find(|r| r.index == best).expect("row");
    assert_eq!(out.best_arch, r.arch);
    assert_eq!(
        (out.best_valid12, out.test_acc),
        (r.valid12, test),
        "the test accuracy of the best 12-epoch validation accuracy"
    );
}

#[test]
fn repeats_are_charged_again_without_dedup() {
    // The benchmark's own evolution setting without dedup proposes networks again.
    let b = bench();
    let mut options = Options::default();
    for (k, v) in [("population_size", "10"), ("sample_size", "3"), ("dedup", "false")] {
        options.set(StrategyKind::Evolution, k, v).expect("option");
    }
    let mut any = false;
    for seed in 0..3 {
        let out = b
            .run_once(StrategyKind::Evolution, &options, seed, nb201::DEFAULT_BUDGET)
            .expect("run");
        let (queries, repeats, charged, _, test) =
            by_hand(b, StrategyKind::Evolution, &options, seed, nb201::DEFAULT_BUDGET);
        assert_eq!((out.queries, out.repeats, out.test_acc), (queries, repeats, test));
        assert!((out.charged_s - charged).abs() < 1e-9);
        any |= repeats > 0;
    }
    assert!(any, "some repeats in three runs");
    // With dedup (the default) there are none.
    let out =
        b.run_once(StrategyKind::Tpe, &Options::default(), 0, nb201::DEFAULT_BUDGET).expect("run");
    assert_eq!(out.repeats, 0);
    assert!((80..130).contains(&out.queries), "about 100 queries in 12,000 s: {}", out.queries);
}

#[test]
fn a_seed_gives_the_same_runs() {
    let options = [
        ("population_size".to_string(), "10".to_string()),
        ("sample_size".to_string(), "3".to_string()),
    ];
    let mut seen = Vec::new();
    let one = nb201::run_with_progress(StrategyKind::Evolution, &options, 3, 3_000.0, &mut |o| {
        seen.push(o.seed)
    })
    .expect("run");
    assert_eq!(seen, [0, 1, 2], "progress after each run");
    let two = nb201::run(StrategyKind::Evolution, &options, 3, 3_000.0).expect("run");
    let key = |r: &nb201::Nb201Report| {
        r.per_run.iter().map(|o| (o.queries, o.best_arch.clone(), o.test_acc)).collect::<Vec<_>>()
    };
    assert_eq!(key(&one), key(&two));
    assert_eq!(one.test_acc_mean, two.test_acc_mean);
    assert_eq!((one.runs, one.budget_s), (3, 3_000.0));
    assert_eq!(one.proposal_times.iter().map(|t| t.finished).collect::<Vec<_>>(), nb201::TIMING_AT);
    assert!(one.to_string().contains("test accuracy"), "{one}");
    let seeds: HashSet<String> = one.per_run.iter().map(|o| format!("{o:?}")).collect();
    assert_eq!(seeds.len(), 3, "different seeds, different runs");
}

#[test]
fn bad_requests_are_refused() {
    let opt = |k: &str, v: &str| vec![(k.to_string(), v.to_string())];
    assert!(matches!(nb201::run(StrategyKind::Random, &[], 0, 100.0), Err(Nb201Error::NoRuns)));
    assert!(matches!(nb201::run(StrategyKind::Random, &[], 1, 0.0), Err(Nb201Error::BadBudget(_))));
    assert!(matches!(
        nb201::run(StrategyKind::Random, &[], 1, f64::NAN),
        Err(Nb201Error::BadBudget(_))
    ));
    assert!(matches!(
        nb201::run(StrategyKind::Random, &opt("shuffle", "true"), 1, 100.0),
        Err(Nb201Error::Strategy(_))
    ));
    assert!(matches!(
        nb201::run(StrategyKind::Random, &[], 1, 1.0),
        Err(Nb201Error::NothingQueried { .. })
    ));
    assert!(nb201::split_option("dedup=false").is_ok());
}
