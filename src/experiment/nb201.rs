//! NAS-Bench-201 by lookup: multi-trial search strategies run against the benchmark's table
//! instead of training, with the benchmark's own protocol (Dong & Yang, "NAS-Bench-201:
//! Extending the Scope of Reproducible Neural Architecture Search", ICLR 2020, section 5).
//!
//! - **Space.** `std.spaces.nasbench201` (its network `NasBench201`), compiled from the embedded
//!   standard library: six labels `cell/edge[i][j]` of five operations each, 15,625
//!   architectures, one-to-one with the benchmark's strings `|op~0|+|op~0|op~1|+|op~0|op~1|op~2|`
//!   (group `i`, position `j` is the label `cell/edge[i][j]`), [`Benchmark::arch_string`].
//! - **Table.** One row per architecture ([`Table`]), embedded in the binary ([`TABLE_GZ`]): the
//!   12-epoch CIFAR-10 validation accuracy (`h12_cifar10_valid_acc`), the 200-epoch training
//!   time (`cifar10valid_train_time_200ep_s`) and the 200-epoch CIFAR-10 test accuracy
//!   (`cifar10_test_acc`).
//! - **Protocol** ([`Benchmark::run_once`]). A strategy proposes architectures one at a time. A
//!   query returns the 12-epoch validation accuracy (the metric, maximised) and is charged the
//!   simulated time of 12 training epochs, [`QUERY_FRACTION`] (12/200) of the 200-epoch time.
//!   The run stops when the simulated budget is spent: the first query whose charge would take
//!   the total past the budget is neither charged nor counted nor told, as in the benchmark's
//!   own scripts. The run reports the 200-epoch test accuracy of the architecture with the best
//!   12-epoch validation accuracy among those queried (the first queried on ties). A strategy
//!   that proposes an architecture again (`dedup=false`) is charged again, as each query is a
//!   training run. [`run`] repeats this with seeds `0..R` and reports the mean and the standard
//!   deviation over runs ([`Nb201Report`]).
//! - **Overhead.** The CPU time of every `ask` and `tell` is measured (table lookups excluded);
//!   [`Benchmark::proposal_times`] measures it at a given number of finished trials.

use crate::arch::{self, Architecture, Choice};
use crate::ir::{Domain, Graph};
use crate::source::Origin;
use crate::strategy::{self, Mode, Options, StrategyError, StrategyKind};
use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::time::Duration;

/// The benchmark's table, gzip-compressed CSV, embedded so that the benchmark runs from any
/// directory (`tests/data/nb201_compact.csv.gz`; its README says where it comes from).
pub const TABLE_GZ: &[u8] = include_bytes!("../../tests/data/nb201_compact.csv.gz");

/// The number of architectures of NAS-Bench-201 (5 operations on 6 edges, 5^6).
pub const ARCHITECTURES: usize = 15_625;

/// The simulated search budget of the benchmark's multi-trial protocol, in seconds (Dong & Yang
/// 2020, section 5: 12,000 s on CIFAR-10).
pub const DEFAULT_BUDGET: f64 = 12_000.0;

/// The share of the 200-epoch training time charged for one query: 12 of 200 epochs.
pub const QUERY_FRACTION: f64 = 12.0 / 200.0;

/// The standard-library module of the space.
pub const SPACE_MODULE: &str = "std.spaces.nasbench201";

/// The network of [`SPACE_MODULE`] that is the benchmark's space.
pub const NETWORK: &str = "NasBench201";

/// Finished trials at which [`run`] measures the time per proposal.
pub const TIMING_AT: [usize; 2] = [100, 1_000];

/// Proposals averaged for one figure of the time per proposal: the `ask` and `tell` of trials
/// `n + 1` to `n + TIMING_WINDOW` after `n` finished trials. 20 is also the update period of the
/// ppo strategy (`samples_per_update`), so that its updates are counted at their average rate.
pub const TIMING_WINDOW: usize = 20;

/// Why the benchmark could not run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Nb201Error {
    /// The embedded table could not be read (a broken build).
    #[error("the NAS-Bench-201 table is unreadable: {0}")]
    Table(String),
    /// The space did not compile or does not match the table (a broken build).
    #[error("the NAS-Bench-201 space does not match the benchmark: {0}")]
    Space(String),
    /// The strategy could not be built, an option was wrong, or a proposal failed.
    #[error(transparent)]
    Strategy(#[from] StrategyError),
    /// An option given as `key=value` text whose key is not `key=value`.
    #[error("option `{0}`: expected key=value")]
    BadOption(String),
    /// The budget is not a positive number of seconds.
    #[error("the budget must be a positive number of seconds, not {0}")]
    BadBudget(f64),
    /// No run was asked for.
    #[error("at least one run is needed")]
    NoRuns,
    /// A run ended before its first query fitted the budget.
    #[error("run {seed}: no query fitted the budget of {budget} s (the first costs {cost:.1} s)")]
    NothingQueried {
        /// The run's seed.
        seed: u64,
        /// The budget.
        budget: f64,
        /// The charge of the first proposal.
        cost: f64,
    },
    /// The strategy proposed an architecture of another space (a bug in the strategy).
    #[error("the strategy proposed an architecture that is not in the benchmark")]
    NotInBenchmark,
}

/// One architecture's row of the table.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Record {
    /// The benchmark's index of the architecture (0 to 15,624).
    pub index: u32,
    /// The benchmark's architecture string.
    pub arch: String,
    /// CIFAR-10 validation accuracy after 12 epochs, percent (`h12_cifar10_valid_acc`).
    pub valid12: f64,
    /// Training time of 200 epochs on CIFAR-10 (train split), seconds
    /// (`cifar10valid_train_time_200ep_s`).
    pub train_time_200: f64,
    /// CIFAR-10 test accuracy after 200 epochs, percent (`cifar10_test_acc`).
    pub test200: f64,
}

impl Record {
    /// The simulated charge of one query: 12/200 of the 200-epoch training time.
    pub fn cost(&self) -> f64 {
        self.train_time_200 * QUERY_FRACTION
    }
}

/// The benchmark's table: one [`Record`] per architecture, by architecture string.
#[derive(Debug, Clone)]
pub struct Table {
    records: Vec<Record>,
    by_arch: HashMap<String, usize>,
}

impl Table {
    /// The embedded table ([`TABLE_GZ`]).
    pub fn embedded() -> Result<Table, Nb201Error> {
        Table::from_gz(TABLE_GZ)
    }

    /// A table from gzip-compressed CSV with (at least) the columns `index`, `arch`,
    /// `h12_cifar10_valid_acc`, `cifar10valid_train_time_200ep_s` and `cifar10_test_acc`.
    pub fn from_gz(bytes: &[u8]) -> Result<Table, Nb201Error> {
        let mut text = String::new();
        flate2::read::GzDecoder::new(bytes)
            .read_to_string(&mut text)
            .map_err(|e| Nb201Error::Table(format!("gzip: {e}")))?;
        Table::from_csv(&text)
    }

    /// A table from CSV text (no quoted fields: the architecture strings have no commas).
    pub fn from_csv(text: &str) -> Result<Table, Nb201Error> {
        let mut lines = text.lines();
        let header: Vec<&str> =
            lines.next().ok_or_else(|| Nb201Error::Table("empty".into()))?.split(',').collect();
        let col = |name: &str| {
            header
                .iter()
                .position(|h| h.trim() == name)
                .ok_or_else(|| Nb201Error::Table(format!("no column `{name}`")))
        };
        let (index, arch, valid12, time, test) = (
            col("index")?,
            col("arch")?,
            col("h12_cifar10_valid_acc")?,
            col("cifar10valid_train_time_200ep_s")?,
            col("cifar10_test_acc")?,
        );
        let mut records = Vec::new();
        let mut by_arch = HashMap::new();
        for (n, line) in lines.enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            let fields: Vec<&str> = line.split(',').collect();
            let bad = |what: &str| Nb201Error::Table(format!("row {}: {what}", n + 1));
            if fields.len() != header.len() {
                return Err(bad(&format!(
                    "{} fields, the header has {}",
                    fields.len(),
                    header.len()
                )));
            }
            let number = |c: usize| {
                fields[c]
                    .trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|x| x.is_finite())
                    .ok_or_else(|| bad(&format!("`{}` is no number", fields[c])))
            };
            let r = Record {
                index: fields[index].trim().parse().map_err(|_| bad("bad index"))?,
                arch: fields[arch].trim().to_string(),
                valid12: number(valid12)?,
                train_time_200: number(time)?,
                test200: number(test)?,
            };
            if r.train_time_200 <= 0.0 {
                return Err(bad("training time not positive"));
            }
            if by_arch.insert(r.arch.clone(), records.len()).is_some() {
                return Err(bad(&format!("architecture {} twice", r.arch)));
            }
            records.push(r);
        }
        Ok(Table { records, by_arch })
    }

    /// The number of rows.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether the table has no row.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Every row, in file order.
    pub fn records(&self) -> &[Record] {
        &self.records
    }

    /// The row of an architecture string, if any.
    pub fn get(&self, arch: &str) -> Option<&Record> {
        self.by_arch.get(arch).map(|i| &self.records[*i])
    }
}

/// The space and the table, matched: every architecture of the compiled space has exactly one
/// row, and every row one architecture.
#[derive(Debug, Clone)]
pub struct Benchmark {
    graph: Graph,
    table: Table,
    /// For each label, its edge `(i, j)`: into node `i` from node `j`.
    edges: Vec<(usize, usize)>,
    /// The row of each architecture (every label is always used, so architectures are
    /// canonical).
    rows: HashMap<Architecture, usize>,
}

impl Benchmark {
    /// Compiles [`SPACE_MODULE`] from the embedded standard library, loads the embedded table,
    /// and checks that they match one-to-one.
    pub fn new() -> Result<Benchmark, Nb201Error> {
        Benchmark::with_table(Table::embedded()?)
    }

    /// The embedded space against a given table.
    pub fn with_table(table: Table) -> Result<Benchmark, Nb201Error> {
        let graph = space()?;
        let mut edges = Vec::with_capacity(graph.labels.len());
        for info in &graph.labels.labels {
            let edge = parse_edge(&info.name).ok_or_else(|| {
                Nb201Error::Space(format!("label `{}` is no `cell/edge[i][j]`", info.name))
            })?;
            if !matches!(info.domain, Domain::Alternatives { .. }) {
                return Err(Nb201Error::Space(format!("label `{}` is no layer choice", info.name)));
            }
            edges.push(edge);
        }
        let mut want: Vec<(usize, usize)> =
            (1..=3).flat_map(|i| (0..i).map(move |j| (i, j))).collect();
        let mut got = edges.clone();
        want.sort();
        got.sort();
        if got != want {
            return Err(Nb201Error::Space(format!(
                "edges {got:?}, the benchmark's cell has {want:?}"
            )));
        }
        let all = arch::enumerate(&graph, ARCHITECTURES as u64)
            .ok_or_else(|| Nb201Error::Space("more than 15,625 architectures".into()))?;
        let mut b = Benchmark { graph, table, edges, rows: HashMap::with_capacity(ARCHITECTURES) };
        let mut taken = vec![false; b.table.len()];
        for a in all {
            let s = b.arch_string(&a);
            let row = *b
                .table
                .by_arch
                .get(&s)
                .ok_or_else(|| Nb201Error::Space(format!("{s} is not in the table")))?;
            if std::mem::replace(&mut taken[row], true) {
                return Err(Nb201Error::Space(format!("{s} twice")));
            }
            b.rows.insert(a, row);
        }
        if let Some(row) = taken.iter().position(|t| !t) {
            return Err(Nb201Error::Space(format!(
                "row {} ({}) has no architecture in the space",
                row, b.table.records[row].arch
            )));
        }
        Ok(b)
    }

    /// The compiled space.
    pub fn graph(&self) -> &Graph {
        &self.graph
    }

    /// The table.
    pub fn table(&self) -> &Table {
        &self.table
    }

    /// The benchmark's string of an architecture of the space: `|op~0|+|op~0|op~1|+|...|`,
    /// group `i` (from 1), position `j` the operation of label `cell/edge[i][j]`.
    pub fn arch_string(&self, a: &Architecture) -> String {
        let mut ops = [[""; 3]; 3];
        for ((label, (i, j)), c) in self.graph.labels.labels.iter().zip(&self.edges).zip(&a.choices)
        {
            if let (Domain::Alternatives { names }, Choice::Index(k)) = (&label.domain, c) {
                ops[i - 1][*j] = names.get(*k).map_or("", String::as_str);
            }
        }
        (1..=3)
            .map(|i| {
                format!(
                    "|{}|",
                    (0..i).map(|j| format!("{}~{j}", ops[i - 1][j])).collect::<Vec<_>>().join("|")
                )
            })
            .collect::<Vec<_>>()
            .join("+")
    }

    /// The row of an architecture of the space.
    pub fn record(&self, a: &Architecture) -> Option<&Record> {
        self.rows.get(a).map(|i| &self.table.records[*i])
    }

    /// The architecture of a benchmark string.
    pub fn architecture(&self, s: &str) -> Option<Architecture> {
        let row = *self.table.by_arch.get(s)?;
        self.rows.iter().find(|(_, r)| **r == row).map(|(a, _)| a.clone())
    }

    /// One run of the protocol (see the module's documentation) with a strategy of `kind` seeded
    /// with `seed`, and the simulated budget `budget` in seconds.
    pub fn run_once(
        &self,
        kind: StrategyKind,
        options: &Options,
        seed: u64,
        budget: f64,
    ) -> Result<RunOutcome, Nb201Error> {
        if !(budget.is_finite() && budget > 0.0) {
            return Err(Nb201Error::BadBudget(budget));
        }
        let mut s = strategy::make(kind, &self.graph, Mode::Max, seed, options)?;
        let mut seen: HashSet<usize> = HashSet::new();
        let mut out = RunOutcome { seed, ..RunOutcome::default() };
        let mut best: Option<usize> = None;
        loop {
            let t = CpuClock::start();
            let proposal = s.ask()?;
            let mut cpu = t.elapsed();
            let Some(a) = proposal else {
                out.exhausted = true;
                break;
            };
            let row = *self.rows.get(&a).ok_or(Nb201Error::NotInBenchmark)?;
            let r = &self.table.records[row];
            let cost = r.cost();
            if out.charged_s + cost > budget {
                if out.queries == 0 {
                    return Err(Nb201Error::NothingQueried { seed, budget, cost });
                }
                break;
            }
            out.charged_s += cost;
            out.queries += 1;
            if !seen.insert(row) {
                out.repeats += 1;
            }
            if best.is_none_or(|b| r.valid12 > self.table.records[b].valid12) {
                best = Some(row);
            }
            let t = CpuClock::start();
            s.tell(&a, Some(r.valid12));
            cpu += t.elapsed();
            out.cpu_s += cpu.as_secs_f64();
        }
        let b = &self.table.records
            [best.ok_or(Nb201Error::NothingQueried { seed, budget, cost: 0.0 })?];
        out.best_arch = b.arch.clone();
        out.best_valid12 = b.valid12;
        out.test_acc = b.test200;
        Ok(out)
    }

    /// The CPU time per proposal (`ask` and `tell`) of a strategy fed the table's 12-epoch
    /// validation accuracies, without a budget: for each `n` of `at`, the mean over the
    /// [`TIMING_WINDOW`] proposals after `n` finished trials, over runs with seeds `0..seeds`.
    pub fn proposal_times(
        &self,
        kind: StrategyKind,
        options: &Options,
        at: &[usize],
        seeds: u64,
    ) -> Result<Vec<ProposalTime>, Nb201Error> {
        let last = at.iter().max().map_or(0, |n| n + TIMING_WINDOW);
        let mut sums = vec![0.0f64; at.len()];
        let mut counts = vec![0usize; at.len()];
        for seed in 0..seeds.max(1) {
            let mut s = strategy::make(kind, &self.graph, Mode::Max, seed, options)?;
            for n in 0..last {
                let t = CpuClock::start();
                let Some(a) = s.ask()? else { break };
                let mut cpu = t.elapsed();
                let r = self.record(&a).ok_or(Nb201Error::NotInBenchmark)?;
                let t = CpuClock::start();
                s.tell(&a, Some(r.valid12));
                cpu += t.elapsed();
                for (k, m) in at.iter().enumerate() {
                    if (*m..m + TIMING_WINDOW).contains(&n) {
                        sums[k] += cpu.as_secs_f64();
                        counts[k] += 1;
                    }
                }
            }
        }
        Ok(at
            .iter()
            .zip(sums)
            .zip(counts)
            .map(|((n, s), c)| ProposalTime {
                finished: *n,
                proposals: c,
                ms: if c == 0 { f64::NAN } else { 1e3 * s / c as f64 },
            })
            .collect())
    }
}

/// The outcome of one run of the protocol.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct RunOutcome {
    /// The strategy's seed.
    pub seed: u64,
    /// Queries charged (repeats included).
    pub queries: usize,
    /// Queries of an architecture already queried in this run (each charged again).
    pub repeats: usize,
    /// Simulated training time charged, seconds (at most the budget).
    pub charged_s: f64,
    /// Whether the strategy ran out of architectures before the budget.
    pub exhausted: bool,
    /// The benchmark string of the architecture with the best 12-epoch validation accuracy.
    pub best_arch: String,
    /// Its 12-epoch validation accuracy, percent.
    pub best_valid12: f64,
    /// Its 200-epoch CIFAR-10 test accuracy, percent: the run's result.
    pub test_acc: f64,
    /// CPU time spent in the strategy's `ask` and `tell` of the queries charged, seconds.
    pub cpu_s: f64,
}

/// The CPU time per proposal at a number of finished trials.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ProposalTime {
    /// Finished trials before the proposals timed.
    pub finished: usize,
    /// Proposals timed (over all seeds).
    pub proposals: usize,
    /// Mean CPU time of one `ask` plus one `tell`, milliseconds.
    pub ms: f64,
}

/// The result of [`run`]: R runs of NAS-Bench-201's multi-trial protocol (Dong & Yang 2020,
/// section 5) with one strategy.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Nb201Report {
    /// The strategy.
    pub strategy: StrategyKind,
    /// The options given, as `key=value` pairs in order.
    pub options: Vec<(String, String)>,
    /// Runs (seeds `0..runs`).
    pub runs: usize,
    /// The simulated budget of each run, seconds.
    pub budget_s: f64,
    /// Mean over runs of the 200-epoch CIFAR-10 test accuracy of the chosen architecture, percent.
    pub test_acc_mean: f64,
    /// Its sample standard deviation over runs (n - 1 in the denominator), percent.
    pub test_acc_std: f64,
    /// Mean over runs of the best 12-epoch validation accuracy found, percent.
    pub valid12_mean: f64,
    /// Mean queries per run.
    pub queries_mean: f64,
    /// Fewest queries in a run.
    pub queries_min: usize,
    /// Most queries in a run.
    pub queries_max: usize,
    /// Repeated queries, all runs together.
    pub repeats: usize,
    /// Repeated queries as a share of all queries.
    pub repeat_share: f64,
    /// Mean CPU time of one proposal (`ask` and `tell`) over all queries of all runs, ms.
    pub proposal_ms: f64,
    /// CPU time per proposal after [`TIMING_AT`] finished trials (one run with seed 0, no
    /// budget, [`Benchmark::proposal_times`]).
    pub proposal_times: Vec<ProposalTime>,
    /// Every run.
    pub per_run: Vec<RunOutcome>,
}

/// Runs NAS-Bench-201's multi-trial protocol `runs` times (seeds `0..runs`) with a strategy of
/// `kind` and its `options` (`("population_size", "10")`, as `nasc bench nb201 --option k=v`
/// gives them), each run with the simulated budget `budget` in seconds ([`DEFAULT_BUDGET`] is
/// the benchmark's); see the module's documentation for the protocol (Dong & Yang 2020,
/// section 5). The report also holds the time per proposal at [`TIMING_AT`] finished trials,
/// from one more run (seed 0, no budget; about 10 s for ppo, milliseconds for the others).
pub fn run(
    kind: StrategyKind,
    options: &[(String, String)],
    runs: usize,
    budget: f64,
) -> Result<Nb201Report, Nb201Error> {
    run_with_progress(kind, options, runs, budget, &mut |_| {})
}

/// [`run`], calling `progress` after each run with its outcome (for a progress bar: 500 runs
/// of ppo take minutes).
pub fn run_with_progress(
    kind: StrategyKind,
    options: &[(String, String)],
    runs: usize,
    budget: f64,
    progress: &mut dyn FnMut(&RunOutcome),
) -> Result<Nb201Report, Nb201Error> {
    if runs == 0 {
        return Err(Nb201Error::NoRuns);
    }
    if !(budget.is_finite() && budget > 0.0) {
        return Err(Nb201Error::BadBudget(budget));
    }
    let opts = parse_options(kind, options)?;
    let bench = Benchmark::new()?;
    let mut per_run = Vec::with_capacity(runs);
    for seed in 0..runs as u64 {
        let out = bench.run_once(kind, &opts, seed, budget)?;
        progress(&out);
        per_run.push(out);
    }
    let proposal_times = bench.proposal_times(kind, &opts, &TIMING_AT, 1)?;
    Ok(Nb201Report::new(kind, options.to_vec(), budget, per_run, proposal_times))
}

/// Reads `key=value` options of `kind` into [`Options`].
pub fn parse_options(
    kind: StrategyKind,
    options: &[(String, String)],
) -> Result<Options, Nb201Error> {
    let mut opts = Options::default();
    for (k, v) in options {
        opts.set(kind, k, v)?;
    }
    Ok(opts)
}

/// Splits `key=value` text, as a command line gives an option.
pub fn split_option(text: &str) -> Result<(String, String), Nb201Error> {
    match text.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.trim().to_string())),
        _ => Err(Nb201Error::BadOption(text.to_string())),
    }
}

impl Nb201Report {
    /// The summary of finished runs.
    pub fn new(
        strategy: StrategyKind,
        options: Vec<(String, String)>,
        budget_s: f64,
        per_run: Vec<RunOutcome>,
        proposal_times: Vec<ProposalTime>,
    ) -> Nb201Report {
        let n = per_run.len().max(1) as f64;
        let test: Vec<f64> = per_run.iter().map(|r| r.test_acc).collect();
        let test_acc_mean = test.iter().sum::<f64>() / n;
        let test_acc_std = if per_run.len() > 1 {
            (test.iter().map(|x| (x - test_acc_mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
        } else {
            0.0
        };
        let queries: usize = per_run.iter().map(|r| r.queries).sum();
        let repeats: usize = per_run.iter().map(|r| r.repeats).sum();
        let cpu: f64 = per_run.iter().map(|r| r.cpu_s).sum();
        Nb201Report {
            strategy,
            options,
            runs: per_run.len(),
            budget_s,
            test_acc_mean,
            test_acc_std,
            valid12_mean: per_run.iter().map(|r| r.best_valid12).sum::<f64>() / n,
            queries_mean: queries as f64 / n,
            queries_min: per_run.iter().map(|r| r.queries).min().unwrap_or(0),
            queries_max: per_run.iter().map(|r| r.queries).max().unwrap_or(0),
            repeats,
            repeat_share: if queries == 0 { 0.0 } else { repeats as f64 / queries as f64 },
            proposal_ms: if queries == 0 { 0.0 } else { 1e3 * cpu / queries as f64 },
            proposal_times,
            per_run,
        }
    }
}

impl std::fmt::Display for Nb201Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let options = if self.options.is_empty() {
            "defaults".to_string()
        } else {
            self.options.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", ")
        };
        writeln!(
            f,
            "NAS-Bench-201, CIFAR-10: {} ({options}), {} runs, budget {} s simulated",
            self.strategy, self.runs, self.budget_s
        )?;
        writeln!(
            f,
            "  test accuracy (200 epochs) of the architecture chosen: {:.2} +- {:.2} %",
            self.test_acc_mean, self.test_acc_std
        )?;
        writeln!(
            f,
            "  best 12-epoch validation accuracy found:              {:.2} %",
            self.valid12_mean
        )?;
        writeln!(
            f,
            "  queries per run: {:.1} (min {}, max {}); repeated queries: {} ({:.1}%, each charged again)",
            self.queries_mean,
            self.queries_min,
            self.queries_max,
            self.repeats,
            100.0 * self.repeat_share
        )?;
        write!(f, "  CPU time per proposal (ask + tell): {:.3} ms on average", self.proposal_ms)?;
        for t in &self.proposal_times {
            write!(f, ", {:.3} ms at {} finished trials", t.ms, t.finished)?;
        }
        Ok(())
    }
}

/// Compiles the benchmark's space from the embedded standard library.
pub fn space() -> Result<Graph, Nb201Error> {
    let text = crate::stdlib::source(SPACE_MODULE)
        .ok_or_else(|| Nb201Error::Space(format!("no module {SPACE_MODULE}")))?;
    let origin = Origin::Stdlib(SPACE_MODULE.to_string());
    let name = "<stdlib>/spaces/nasbench201.nas";
    let input = crate::driver::Input::Bytes { name, origin: &origin, bytes: text.as_bytes() };
    let graphs = crate::driver::graphs(input).map_err(Nb201Error::Space)?;
    graphs
        .into_iter()
        .find(|g| g.name == NETWORK)
        .ok_or_else(|| Nb201Error::Space(format!("no network {NETWORK}")))
}

/// `cell/edge[i][j]` -> `(i, j)`.
fn parse_edge(label: &str) -> Option<(usize, usize)> {
    let rest = label.strip_prefix("cell/edge[")?.strip_suffix(']')?;
    let (i, j) = rest.split_once("][")?;
    let (i, j) = (i.parse().ok()?, j.parse().ok()?);
    (1..=3).contains(&i).then_some(())?;
    (j < i).then_some((i, j))
}

/// CPU time of this process (all its threads; the burn backend of the ppo strategy may use
/// several), or wall time where there is no such clock.
struct CpuClock(Duration);

impl CpuClock {
    fn start() -> CpuClock {
        CpuClock(cpu_now())
    }

    fn elapsed(&self) -> Duration {
        cpu_now().saturating_sub(self.0)
    }
}

#[cfg(unix)]
fn cpu_now() -> Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes one timespec through a valid pointer.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return wall_now();
    }
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

#[cfg(not(unix))]
fn cpu_now() -> Duration {
    wall_now()
}

fn wall_now() -> Duration {
    static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    START.get_or_init(std::time::Instant::now).elapsed()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edges_read_from_labels() {
        assert_eq!(parse_edge("cell/edge[3][2]"), Some((3, 2)));
        assert_eq!(parse_edge("cell/edge[2][2]"), None);
        assert_eq!(parse_edge("cell/edge[4][0]"), None);
        assert_eq!(parse_edge("normal/edge[1][0]"), None);
    }

    #[test]
    fn a_small_table_reads_and_bad_rows_are_refused() {
        let csv = "index,arch,h12_cifar10_valid_acc,cifar10valid_train_time_200ep_s,cifar10_test_acc\n0,|a~0|,50.0,1000.0,60.0\n";
        let t = Table::from_csv(csv).unwrap();
        assert_eq!(t.len(), 1);
        assert_eq!(t.get("|a~0|").map(Record::cost), Some(60.0));
        assert!(Table::from_csv(&format!("{csv}1,|a~0|,50.0,1000.0,60.0\n")).is_err(), "twice");
        assert!(Table::from_csv(&format!("{csv}1,|b~0|,x,1000.0,60.0\n")).is_err(), "no number");
        assert!(Table::from_csv("index,arch\n").is_err(), "columns missing");
    }

    #[test]
    fn options_split_at_the_first_equals_sign() {
        assert_eq!(
            split_option("population_size=10").unwrap(),
            ("population_size".into(), "10".into())
        );
        assert!(split_option("shuffle").is_err());
        assert!(split_option("=1").is_err());
    }
}
