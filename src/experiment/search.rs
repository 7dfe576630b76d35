//! The multi-trial search loop: a strategy proposes architectures, each becomes a trial that
//! trains a fixed network with the runtime's evaluator, K trials at a time, and every step is
//! recorded in the experiment's [`Store`] before the strategy hears of it.
//!
//! Resume (after any kill, SIGKILL included): the strategy is rebuilt from its seed and the
//! store's event log is replayed into it (every ask must give back the architecture recorded,
//! every tell the recorded metric), so it continues from the same state; trials that were
//! waiting or running are run again; finished trials are never rerun.

use super::store::{
    EpochRecord, EventKind, ExperimentStatus, Store, StoreError, TrialId, TrialRecord,
};
use crate::arch::{self, Architecture};
use crate::data::Splits;
use crate::ir::Graph;
use crate::runtime::train::{self, EpochMetrics, Observer, Prepared, TrainConfig, TrainReport};
use crate::runtime::{Device, RuntimeError};
use crate::strategy::{self, Mode, Strategy, StrategyError, StrategyKind};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Instant;

/// The lock file in an experiment directory that one running search holds.
pub const LOCK_FILE: &str = "search.lock";

/// The number a search optimises, read from a trial's training report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Validation accuracy of the last epoch (classification; maximise).
    #[value(name = "val_acc")]
    ValAcc,
    /// Validation loss of the last epoch (minimise).
    #[value(name = "val_loss")]
    ValLoss,
    /// Validation mean squared error of the last epoch (regression; minimise).
    #[value(name = "val_mse")]
    ValMse,
    /// Mean training loss of the last epoch (minimise).
    #[value(name = "train_loss")]
    TrainLoss,
}

impl Metric {
    /// The metric of a finished training run, `None` when the run has none (no validation
    /// split) or it is not finite.
    pub fn value(self, r: &TrainReport) -> Option<f64> {
        let last = r.epochs.last()?;
        let v = match self {
            Metric::ValAcc | Metric::ValMse => last.val_metric?,
            Metric::ValLoss => last.val_loss?,
            Metric::TrainLoss => last.train_loss,
        };
        v.is_finite().then_some(v)
    }

    /// The natural direction: accuracy up, losses and errors down.
    pub fn default_mode(self) -> Mode {
        match self {
            Metric::ValAcc => Mode::Max,
            _ => Mode::Min,
        }
    }

    /// The name used on the command line and in reports (`val_acc`).
    pub fn name(self) -> &'static str {
        match self {
            Metric::ValAcc => "val_acc",
            Metric::ValLoss => "val_loss",
            Metric::ValMse => "val_mse",
            Metric::TrainLoss => "train_loss",
        }
    }
}

/// Everything that defines a search; stored as the experiment's configuration, so a resumed
/// search runs exactly as the original.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SearchConfig {
    /// The strategy.
    pub strategy: StrategyKind,
    /// Its options as given on the command line (`population_size`, `50`), in order.
    pub options: Vec<(String, String)>,
    /// Seed of the strategy (each trial trains with this seed too).
    pub seed: u64,
    /// What to optimise.
    pub metric: Metric,
    /// In which direction.
    pub mode: Mode,
    /// Stop proposing after this many trials.
    pub max_trials: Option<usize>,
    /// Stop proposing after this many seconds of search (running trials finish).
    pub max_duration: Option<f64>,
    /// Trials trained at the same time.
    pub concurrency: usize,
    /// The `--data` spec.
    pub data: String,
    /// How each trial trains.
    pub train: TrainConfig,
    /// Where trials train.
    pub device: crate::runtime::DeviceKind,
}

/// Why a search stopped or could not run.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// The experiment store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The strategy failed.
    #[error(transparent)]
    Strategy(#[from] StrategyError),
    /// A resumed experiment does not replay: the space, the configuration or nasc changed.
    #[error("cannot resume: {0}")]
    Replay(String),
    /// A bad setting.
    #[error("{0}")]
    Config(String),
    /// Another process is running this experiment (it holds the lock); nothing was changed.
    #[error("{0}")]
    Busy(String),
    /// The data could not be prepared for training.
    #[error(transparent)]
    Data(#[from] RuntimeError),
    /// The first trials all failed the same way ([`FAILURES_IN_A_ROW`] of them): a setting
    /// that fails every trial (a learning rate that diverges, data that does not fit), not an
    /// architecture. The failed trials are recorded; no more start.
    #[error("stopped: the first {trials} trials all failed the same way, so the settings, not the architectures, are the likely cause; the last one: {last}")]
    Failing {
        /// How many trials failed in a row.
        trials: usize,
        /// The last one's error.
        last: String,
    },
}

/// How many trials in a row, with none succeeded before them, must fail the same way (the
/// same kind of error) for a search to stop ([`SearchError::Failing`]).
pub const FAILURES_IN_A_ROW: usize = 5;

/// What the search reports while it runs (the command line draws a progress bar).
pub trait SearchObserver: Send {
    /// The search (re)starts with `done` trials finished of at most `total`.
    fn start(&mut self, _done: usize, _total: Option<usize>) {}
    /// A trial finished (succeeded or failed); `best` is the best metric so far.
    fn trial(&mut self, _record: &TrialRecord, _best: Option<f64>) {}
}

/// An observer that ignores everything.
pub struct QuietSearch;
impl SearchObserver for QuietSearch {}

/// How a search ended.
#[derive(Debug, Clone, Serialize)]
pub struct SearchSummary {
    /// Trials that succeeded.
    pub succeeded: usize,
    /// Trials that failed.
    pub failed: usize,
    /// The best trial, if any succeeded.
    pub best: Option<TrialRecord>,
    /// Why proposing stopped: `max trials`, `max duration`, `space exhausted` or
    /// `interrupted`.
    pub stopped: &'static str,
    /// Trials that were running when the search was stopped and were left unfinished (a
    /// resumed search trains them again).
    pub interrupted: usize,
}

/// Writes each epoch of a trial into the store as it finishes, and stops the trial when the
/// search is stopped.
struct EpochsToStore<'s> {
    store: Arc<Store>,
    id: TrialId,
    stop: &'s AtomicBool,
}

impl Observer for EpochsToStore<'_> {
    fn should_stop(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    fn epoch(&mut self, m: &EpochMetrics) {
        // A failed write of one epoch's metrics must not kill the trial; the final result is
        // written (and checked) by the search loop.
        let _ = self.store.epoch(
            self.id,
            &EpochRecord {
                epoch: m.epoch as u32,
                train_loss: m.train_loss,
                val_loss: m.val_loss,
                val_metric: m.val_metric,
                lr: m.lr,
                seconds: m.seconds,
            },
        );
    }
}

struct Job {
    id: TrialId,
    arch: Architecture,
}

struct Done {
    id: TrialId,
    arch: Architecture,
    result: Result<TrainReport, RuntimeError>,
    seconds: f64,
}

/// Trains one trial: fix the architecture, train, and return the report.
fn run_trial(
    graph: &Graph,
    data: &Prepared,
    cfg: &TrainConfig,
    device: &Device,
    arch: &Architecture,
    observer: &mut dyn Observer,
) -> Result<TrainReport, RuntimeError> {
    let fixed = arch::fix(graph, arch)
        .map_err(|e| RuntimeError::Config(format!("cannot fix the architecture: {e}")))?;
    train::catch_panics(|| {
        train::train_prepared(&fixed, data, cfg, device, observer).map(|(_, report)| report)
    })
}

fn parse_arch(graph: &Graph, t: &TrialRecord) -> Result<Architecture, SearchError> {
    Architecture::from_json(graph, &t.arch).map_err(|e| {
        SearchError::Replay(format!(
            "trial {} has an architecture this space rejects: {}",
            t.id.0,
            crate::diagnostics::wording::arch_problems(&t.arch, &e)
        ))
    })
}

/// Takes the experiment in `dir` for this process: an advisory lock on `DIR/search.lock`, held
/// while the returned file is open, or until the process dies (the kernel drops it, SIGKILL
/// included). One process runs an experiment at a time.
///
/// Errors: [`SearchError::Busy`] when another process holds it; [`SearchError::Config`] when
/// the lock file cannot be opened or locked.
pub fn lock(dir: &std::path::Path) -> Result<std::fs::File, SearchError> {
    let lock_path = dir.join(LOCK_FILE);
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| SearchError::Config(format!("cannot open {}: {e}", lock_path.display())))?;
    match lock.try_lock() {
        Ok(()) => Ok(lock),
        Err(std::fs::TryLockError::WouldBlock) => Err(SearchError::Busy(format!(
            "{} is being searched by another nasc process; wait for it or stop it first",
            dir.display()
        ))),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(SearchError::Config(format!("cannot lock {}: {e}", lock_path.display())))
        }
    }
}

/// Whether a process is running the experiment in `dir` now (holds its [`lock`]). An
/// experiment whose store says `running` while no process holds it was stopped without a
/// chance to record it: killed, or its disk filled up.
pub fn held(dir: &std::path::Path) -> bool {
    let Ok(f) = std::fs::File::open(dir.join(LOCK_FILE)) else { return false };
    matches!(f.try_lock_shared(), Err(std::fs::TryLockError::WouldBlock))
}

/// Runs (or resumes) the search recorded in `store` on `graph` and `data`, until the trial
/// budget or the time budget is spent, the strategy has nothing left to propose, or `stop`
/// becomes true (no trial starts after that; the running ones stop at their next step and stay
/// unfinished, for a resumed search to train again). The experiment's status is `running` while it runs; the caller ([`crate::launch`]) records how it
/// ended.
///
/// Errors: the store or the strategy failing, or a resumed experiment whose log does not replay.
/// A trial that fails (diverges, a runtime error, even a panic inside burn) is recorded as
/// failed, told to the strategy as such, and the search goes on.
pub fn run(
    store: Arc<Store>,
    graph: &Graph,
    data: Arc<Splits>,
    cfg: &SearchConfig,
    device: &Device,
    observer: &mut dyn SearchObserver,
    stop: &AtomicBool,
) -> Result<SearchSummary, SearchError> {
    if cfg.concurrency == 0 {
        return Err(SearchError::Config("--concurrency must be at least 1".into()));
    }
    let _lock = lock(store.dir())?;
    store.set_status(ExperimentStatus::Running)?;
    let started = Instant::now();
    // The data is normalised and split once; every trial trains on the same splits. Trials
    // are compared on the validation split; the test split is left for the final architecture.
    let mut data = train::prepare(&data, cfg.train.val_fraction, cfg.seed)?;
    data.test = Arc::new(data.test.subset(&[]));
    let data = Arc::new(data);
    let mut options = strategy::Options::default();
    for (key, value) in &cfg.options {
        options.set(cfg.strategy, key, value)?;
    }
    let mut strategy: Box<dyn Strategy> =
        strategy::make(cfg.strategy, graph, cfg.mode, cfg.seed, &options)?;
    // Replay the log into the strategy.
    let trials = store.trials()?;
    let by_id = |id: TrialId| trials.iter().find(|t| t.id == id);
    for event in store.events()? {
        let t = by_id(event.trial).ok_or_else(|| {
            SearchError::Replay(format!(
                "the log names trial {}, which is not recorded",
                event.trial.0
            ))
        })?;
        let recorded = parse_arch(graph, t)?;
        match event.kind {
            EventKind::Ask => {
                let again = strategy.ask()?;
                if again.as_ref() != Some(&recorded) {
                    return Err(SearchError::Replay(format!(
                        "the strategy now proposes {} where trial {} recorded {}; the space, the configuration or nasc changed since the experiment started",
                        again.map_or("nothing".to_string(), |a| serde_json::Value::Object(a.to_json(graph)).to_string()),
                        t.id.0,
                        t.arch
                    )));
                }
            }
            EventKind::Tell { metric } => strategy.tell(&recorded, metric),
        }
    }
    let mut pending: VecDeque<Job> = VecDeque::new();
    for t in store.unfinished()? {
        pending.push_back(Job { id: t.id, arch: parse_arch(graph, &t)? });
    }
    let maximize = cfg.mode == Mode::Max;
    let mut asked = trials.len();
    let finished = trials.iter().filter(|t| t.status.is_finished()).count();
    observer.start(finished, cfg.max_trials);
    let mut best = store.best(maximize)?.and_then(|t| t.metric);
    let (job_tx, job_rx) = mpsc::channel::<Job>();
    let job_rx = Arc::new(Mutex::new(job_rx));
    let (done_tx, done_rx) = mpsc::channel::<Done>();
    let mut stopped = "space exhausted";
    // The failures in a row since the experiment began, while no trial has succeeded: their
    // kind (the error's variant) and the last one's message.
    let mut any_succeeded = trials.iter().any(|t| t.status == super::store::TrialStatus::Succeeded);
    let mut failures: (usize, Option<std::mem::Discriminant<RuntimeError>>, String) =
        (0, None, String::new());
    let mut failing = false;
    let mut interrupted = 0usize;
    std::thread::scope(|scope| -> Result<(), SearchError> {
        for _ in 0..cfg.concurrency {
            let (job_rx, done_tx, store, data) =
                (job_rx.clone(), done_tx.clone(), store.clone(), data.clone());
            let train_cfg = TrainConfig { seed: cfg.seed, ..cfg.train.clone() };
            scope.spawn(move || loop {
                let job = match job_rx.lock() {
                    Ok(rx) => rx.recv(),
                    Err(_) => return,
                };
                let Ok(Job { id, arch }) = job else { return };
                let t0 = Instant::now();
                let result = match store.start(id) {
                    Ok(()) => run_trial(
                        graph,
                        &data,
                        &train_cfg,
                        device,
                        &arch,
                        &mut EpochsToStore { store: store.clone(), id, stop },
                    ),
                    Err(e) => {
                        Err(RuntimeError::Config(format!("cannot record the trial's start: {e}")))
                    }
                };
                if done_tx
                    .send(Done { id, arch, result, seconds: t0.elapsed().as_secs_f64() })
                    .is_err()
                {
                    return;
                }
            });
        }
        drop(done_tx);
        let mut running = 0usize;
        let mut exhausted = false;
        let result = (|| -> Result<(), SearchError> {
            loop {
                while running < cfg.concurrency && !failing {
                    let job = if stop.load(Ordering::SeqCst) {
                        stopped = "interrupted";
                        break;
                    } else if let Some(job) = pending.pop_front() {
                        job
                    } else if exhausted {
                        break;
                    } else if cfg.max_trials.is_some_and(|m| asked >= m) {
                        stopped = "max trials";
                        break;
                    } else if cfg.max_duration.is_some_and(|d| started.elapsed().as_secs_f64() >= d)
                    {
                        stopped = "max duration";
                        break;
                    } else {
                        match strategy.ask()? {
                            Some(a) => {
                                let (params, flops) = arch::cost(graph, &a).unwrap_or((0, 0));
                                let id = store.ask(
                                    &serde_json::Value::Object(a.to_json(graph)).to_string(),
                                    params,
                                    flops,
                                )?;
                                asked += 1;
                                Job { id, arch: a }
                            }
                            None => {
                                exhausted = true;
                                break;
                            }
                        }
                    };
                    if job_tx.send(job).is_err() {
                        return Err(SearchError::Config("the trial workers stopped".into()));
                    }
                    running += 1;
                }
                if running == 0 {
                    if failing {
                        return Err(SearchError::Failing {
                            trials: failures.0,
                            last: std::mem::take(&mut failures.2),
                        });
                    }
                    return Ok(());
                }
                let Ok(Done { id, arch, result, seconds }) = done_rx.recv() else {
                    return Err(SearchError::Config("the trial workers stopped".into()));
                };
                running -= 1;
                // A trial stopped by Ctrl-C is neither a success nor a failure: it stays
                // unfinished in the store, the strategy is told nothing, and a resumed search
                // trains it again.
                if matches!(result, Err(RuntimeError::Interrupted)) {
                    interrupted += 1;
                    continue;
                }
                let metric = match &result {
                    Ok(report) => cfg.metric.value(report),
                    Err(_) => None,
                };
                match (&result, metric) {
                    (Ok(_), Some(m)) => store.succeed(id, m, seconds)?,
                    (Ok(_), None) => store.fail(
                        id,
                        &format!("the run has no finite {}", cfg.metric.name()),
                        seconds,
                    )?,
                    (Err(e), _) => store.fail(id, &e.to_string(), seconds)?,
                }
                strategy.tell(&arch, metric);
                match (&result, metric) {
                    (Ok(_), Some(_)) => any_succeeded = true,
                    (Err(e), _) if !any_succeeded => {
                        let kind = std::mem::discriminant(e);
                        failures = if failures.1 == Some(kind) {
                            (failures.0 + 1, Some(kind), e.to_string())
                        } else {
                            (1, Some(kind), e.to_string())
                        };
                        failing |= failures.0 >= FAILURES_IN_A_ROW;
                    }
                    _ => {}
                }
                if let Some(m) = metric {
                    if best.is_none_or(|b| if maximize { m > b } else { m < b }) {
                        best = Some(m);
                    }
                }
                observer.trial(&store.trial(id)?, best);
            }
        })();
        drop(job_tx);
        result
    })?;
    let trials = store.trials()?;
    let succeeded =
        trials.iter().filter(|t| t.status == super::store::TrialStatus::Succeeded).count();
    let failed = trials.iter().filter(|t| t.status == super::store::TrialStatus::Failed).count();
    Ok(SearchSummary { succeeded, failed, best: store.best(maximize)?, stopped, interrupted })
}
