//! NAS-Bench-201 by lookup, every strategy: the benchmark's multi-trial protocol (Dong & Yang,
//! "NAS-Bench-201", ICLR 2020, section 5; `nasc::experiment::nb201`), R runs each, and the CPU
//! time per proposal (ask + tell) at 100 and 1,000 finished trials.
//!
//!     cargo bench --bench nb201                      # 500 runs per setting
//!     cargo bench --bench nb201 -- --runs 50 --only tpe,tpe-sqrt
//!
//! Prints each setting's summary, and writes every report as JSON to
//! `target/nb201/<setting>.json`. Figures are recorded in docs/benchmarks.md.

use nasc::experiment::nb201::{self, Benchmark, Nb201Error, DEFAULT_BUDGET, TIMING_AT};
use nasc::strategy::{StrategyError, StrategyKind};
use std::time::Instant;

/// A setting measured: a name, the strategy and its options.
type Setting = (&'static str, StrategyKind, Vec<(&'static str, &'static str)>);

/// The settings measured.
fn settings() -> Vec<Setting> {
    vec![
        ("random", StrategyKind::Random, vec![]),
        (
            "evolution-p10-s3",
            StrategyKind::Evolution,
            vec![("population_size", "10"), ("sample_size", "3")],
        ),
        ("evolution-nni", StrategyKind::Evolution, vec![]),
        ("tpe", StrategyKind::Tpe, vec![]),
        ("grid-shuffled", StrategyKind::Grid, vec![("shuffle", "true")]),
        ("ppo", StrategyKind::Ppo, vec![]),
        // Variants, for how repeats and TPE's split change the figures (not tuned: every
        // setting is run once, and all are reported).
        ("random-nodedup", StrategyKind::Random, vec![("dedup", "false")]),
        (
            "evolution-p10-s3-nodedup",
            StrategyKind::Evolution,
            vec![("population_size", "10"), ("sample_size", "3"), ("dedup", "false")],
        ),
        ("tpe-nodedup", StrategyKind::Tpe, vec![("dedup", "false")]),
        ("tpe-sqrt", StrategyKind::Tpe, vec![("split", "sqrt")]),
    ]
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value =
        |flag: &str| args.iter().position(|a| a == flag).and_then(|i| args.get(i + 1)).cloned();
    let runs: usize = value("--runs").map_or(500, |v| v.parse().expect("--runs N"));
    let budget: f64 =
        value("--budget").map_or(DEFAULT_BUDGET, |v| v.parse().expect("--budget SECONDS"));
    let timing_seeds: u64 =
        value("--timing-seeds").map_or(5, |v| v.parse().expect("--timing-seeds N"));
    let only = value("--only");
    let out_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/nb201");
    std::fs::create_dir_all(&out_dir).expect("target/nb201");
    let bench = Benchmark::new().expect("the benchmark loads");
    for (name, kind, options) in settings() {
        if only.as_deref().is_some_and(|o| !o.split(',').any(|o| o == name)) {
            continue;
        }
        let options: Vec<(String, String)> =
            options.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let start = Instant::now();
        let mut report = match nb201::run(kind, &options, runs, budget) {
            Ok(r) => r,
            Err(Nb201Error::Strategy(StrategyError::Unavailable(s))) => {
                println!("{name}: skipped, the {s} strategy is not available");
                continue;
            }
            Err(e) => panic!("{name}: {e}"),
        };
        let wall = start.elapsed();
        let opts = nb201::parse_options(kind, &options).expect("options");
        let timing_start = Instant::now();
        report.proposal_times =
            bench.proposal_times(kind, &opts, &TIMING_AT, timing_seeds).expect("timing");
        println!("{report}");
        println!(
            "  ({name}: {runs} runs in {:.1} s wall; time per proposal over {timing_seeds} seeds in {:.1} s wall)",
            wall.as_secs_f64(),
            timing_start.elapsed().as_secs_f64()
        );
        let path = out_dir.join(format!("{name}.json"));
        std::fs::write(&path, serde_json::to_string_pretty(&report).expect("json"))
            .expect("write report");
    }
}
