//! Searches launched by the library: typed settings in, typed errors out. The CLI (and tests)
//! call these four steps; nothing here prints.
//!
//! 1. **prepare** ([`prepare_multi_trial`]): validate the settings, compile the space once,
//!    build the strategy once (a bad option fails here), load and prepare the data once, and
//!    check once that the data fits the network. Nothing is written: a bad setting leaves no
//!    experiment directory behind.
//! 2. **start** ([`MultiTrial::start`]): create the experiment store with the typed
//!    configuration ([`SearchConfig`], tagged `"kind": "multi-trial"` in the store).
//! 3. **run** ([`Search::run`]): the search loop of [`crate::experiment::search`]. This step
//!    owns the experiment's status: `done` when the budget is spent or the space exhausted,
//!    `interrupted` after SIGINT or SIGTERM (the running trials stop at their next step and stay
//!    unfinished, trained again on resume; a second signal exits at once, status `running`, and `--resume` reruns what was running),
//!    `failed` on any error or panic. It writes `best.json`.
//! 4. **resume** ([`resume`]): reopen an experiment, check that its space is unchanged, and
//!    give back a [`Search`] to run.
//!
//! One-shot searches take the same steps ([`prepare_one_shot`], [`OneShot::start`],
//! [`OneShotSearch::run`], [`resume`]): their loop writes a checkpoint at the end of every epoch
//! (`DIR/oneshot.ckpt`, see [`crate::oneshot::run_checkpointed`]), and a resumed one goes on
//! from it. Both kinds store a typed [`ExperimentConfig`].

use crate::data::{DataSpec, Splits};
use crate::driver;
use crate::experiment::search::{self, Metric, SearchConfig, SearchObserver, SearchSummary};
use crate::experiment::{ExperimentStatus, Store, StoreError, TrialRecord};
use crate::ir::Graph;
use crate::lower::Plan;
use crate::oneshot::{OneShotConfig, OneShotError, OneShotObserver, OneShotSummary};
use crate::resolve::{Program, ReadError};
use crate::runtime::train::{self, Prepared, Task, TrainConfig};
use crate::runtime::{Device, DeviceKind, RuntimeError};
use crate::strategy::{self, Mode, StrategyKind};
use rand::SeedableRng;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Why a search could not be prepared, started, resumed or run.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    /// A bad setting: nothing was created (a command line exits with 2).
    #[error("{0}")]
    Setting(String),
    /// The space file cannot be read.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// The space does not compile; its diagnostics, with the files they point into.
    #[error("the space has {} errors", .0.diagnostics.len())]
    Compile(Box<driver::Compiled>),
    /// The file declares no network to search.
    #[error("{0} declares no network")]
    NoNetwork(String),
    /// The data cannot be loaded.
    #[error(transparent)]
    Data(#[from] crate::data::DataError),
    /// The data does not fit the network (or another runtime problem before the search); the
    /// program is kept so that the error can be shown at its `.nas` place.
    #[error("{error}")]
    Runtime {
        /// The loaded space.
        program: Box<Program>,
        /// What failed.
        error: RuntimeError,
    },
    /// The experiment store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The space cannot be lowered to the one-shot strategy's supernet (E0401); the diagnostics,
    /// with the program they point into.
    #[error("the strategy cannot take this space ({} problems)", diagnostics.len())]
    Lower {
        /// The loaded space.
        program: Box<Program>,
        /// One diagnostic per place the strategy cannot take.
        diagnostics: Vec<crate::diagnostics::Diagnostic>,
    },
    /// The device cannot be used.
    #[error("{0}")]
    Device(String),
    /// An experiment cannot be resumed (its space changed, or it is not one this nasc runs).
    #[error("{0}")]
    Resume(String),
    /// The search itself failed (the experiment is marked `failed`).
    #[error(transparent)]
    Search(#[from] search::SearchError),
    /// The search panicked (a bug in nasc; the experiment is marked `failed`).
    #[error("internal error: the search panicked: {0}")]
    Panic(String),
    /// The search ran, but no trial succeeded (the experiment is `done`; nothing to export).
    #[error("no trial succeeded")]
    NoTrialSucceeded,
    /// `best.json` could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

impl LaunchError {
    /// Whether the error is the caller's setting (a command line's exit code 2) rather than a
    /// problem met while working (1).
    pub fn is_setting(&self) -> bool {
        matches!(self, LaunchError::Setting(_) | LaunchError::Read(_))
            || matches!(self, LaunchError::Runtime { error, .. }
                if matches!(error, RuntimeError::Config(_) | RuntimeError::Device(_)))
    }
}

/// A space compiled for a search: its text (recorded with the experiment), the loaded program,
/// and the IR of its first network (the one searched).
pub struct Space {
    /// The `.nas` file.
    pub file: PathBuf,
    /// Its text, as read.
    pub text: String,
    /// The loaded program (for diagnostics at `.nas` places).
    pub program: Program,
    /// The first network's IR.
    pub graph: Graph,
}

/// Reads and compiles `file` for a search (through the front end's driver).
///
/// Errors: [`LaunchError::Read`], [`LaunchError::Compile`] with the diagnostics,
/// [`LaunchError::NoNetwork`].
pub fn compile_space(file: &Path) -> Result<Space, LaunchError> {
    let bytes = std::fs::read(file)
        .map_err(|source| ReadError { path: file.display().to_string(), source })?;
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let (name, origin) = (file.display().to_string(), crate::source::Origin::Disk(file.into()));
    let input = driver::Input::Bytes { name: &name, origin: &origin, bytes: &bytes };
    let compiled = driver::compile(input, driver::Options::default())?;
    if compiled.has_errors() {
        return Err(LaunchError::Compile(Box::new(compiled)));
    }
    let driver::Compiled { program, graphs, .. } = compiled;
    match graphs.into_iter().next() {
        Some(graph) => Ok(Space { file: file.to_path_buf(), text, program, graph }),
        None => Err(LaunchError::NoNetwork(file.display().to_string())),
    }
}

/// The settings of a multi-trial search, as a user gives them (`nasc search` without a one-shot
/// strategy). [`prepare_multi_trial`] checks them and completes the defaults.
#[derive(Debug, Clone)]
pub struct MultiTrialSettings {
    /// The strategy.
    pub strategy: StrategyKind,
    /// Its options (`population_size`, `50`), in order.
    pub options: Vec<(String, String)>,
    /// What to optimise (default: `val_acc` for classification, `val_mse` for regression).
    pub metric: Option<Metric>,
    /// In which direction (default: the metric's natural one).
    pub mode: Option<Mode>,
    /// Stop proposing after this many trials.
    pub max_trials: Option<usize>,
    /// Stop proposing after this many seconds.
    pub max_duration: Option<f64>,
    /// Trials trained at the same time (at least 1).
    pub concurrency: usize,
    /// The `--data` spec (`mnist:DIR`, ...).
    pub data: String,
    /// How each trial trains (its seed is the search's seed).
    pub train: TrainConfig,
    /// Where trials train.
    pub device: DeviceKind,
}

impl MultiTrialSettings {
    /// The stored configuration: defaults filled in and every setting checked.
    ///
    /// Errors: [`LaunchError::Setting`] naming the setting.
    pub fn config(&self) -> Result<SearchConfig, LaunchError> {
        let bad = |s: String| Err(LaunchError::Setting(s));
        for (k, v) in &self.options {
            if let Err(e) = strategy::Options::default().set(self.strategy, k, v) {
                return bad(e.to_string());
            }
        }
        if self.max_trials.is_none()
            && self.max_duration.is_none()
            && self.strategy != StrategyKind::Grid
        {
            return bad("give the search a budget: --max-trials N or --max-duration 30m".into());
        }
        let train = &self.train;
        let metric = self.metric.unwrap_or(if train.task == Task::Regression {
            Metric::ValMse
        } else {
            Metric::ValAcc
        });
        match (train.task, metric) {
            (Task::Classification, Metric::ValMse) => {
                return bad("--metric val_mse needs --task regression; a classification search optimises val_acc or val_loss".into());
            }
            (Task::Regression, Metric::ValAcc) => {
                return bad("--metric val_acc needs --task classification; a regression search optimises val_mse or val_loss".into());
            }
            _ => {}
        }
        if self.concurrency == 0 {
            return bad("--concurrency must be at least 1".into());
        }
        if self.max_trials == Some(0) {
            return bad("--max-trials must be at least 1".into());
        }
        if train.val_fraction <= 0.0
            && matches!(metric, Metric::ValAcc | Metric::ValLoss | Metric::ValMse)
        {
            return bad(format!(
                "--metric {} needs a validation split (--val-fraction above 0)",
                metric.name()
            ));
        }
        Ok(SearchConfig {
            strategy: self.strategy,
            options: self.options.clone(),
            seed: train.seed,
            metric,
            mode: self.mode.unwrap_or(metric.default_mode()),
            max_trials: self.max_trials,
            max_duration: self.max_duration,
            concurrency: self.concurrency,
            // Recorded with absolute paths, so that `--resume` works from any directory.
            data: self
                .data
                .parse::<DataSpec>()
                .map_or(self.data.clone(), |d| d.absolute().to_string()),
            train: train.clone(),
            device: self.device,
        })
    }
}

/// A multi-trial search ready to start: checked settings, the compiled space, the data.
pub struct MultiTrial {
    /// The space searched.
    pub space: Space,
    /// The configuration the experiment will record.
    pub config: SearchConfig,
    data: Splits,
}

/// Loads the data of a `--data` spec.
///
/// Errors: [`LaunchError::Setting`] for a spec that does not parse, [`LaunchError::Data`] for
/// data that cannot be read.
pub fn load_data(spec: &str) -> Result<Splits, LaunchError> {
    let spec: DataSpec = spec.parse().map_err(|e| LaunchError::Setting(format!("{e}")))?;
    Ok(crate::data::load(&spec)?)
}

/// Step 1 of a multi-trial search (see the module documentation): everything that can be
/// checked before the experiment exists.
pub fn prepare_multi_trial(
    file: &Path,
    settings: &MultiTrialSettings,
) -> Result<MultiTrial, LaunchError> {
    let config = settings.config()?;
    let space = compile_space(file)?;
    let mut options = strategy::Options::default();
    for (k, v) in &config.options {
        options.set(config.strategy, k, v).map_err(|e| LaunchError::Setting(e.to_string()))?;
    }
    strategy::make(config.strategy, &space.graph, config.mode, config.seed, &options)
        .map_err(|e| LaunchError::Setting(e.to_string()))?;
    let data = load_data(&config.data)?;
    // The network's input and output do not depend on the architecture: check the data once.
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(config.seed);
    let probe = crate::arch::Architecture::random(&space.graph, &mut rng);
    let fits = crate::arch::fix(&space.graph, &probe)
        .map_err(|e| RuntimeError::Config(e.to_string()))
        .and_then(|f| {
            let net = crate::runtime::Network::build(&f, &crate::runtime::Device::flex(), 0)?;
            train::check_fit(&net, &data.train, config.train.task)
        });
    if let Err(error) = fits {
        return Err(LaunchError::Runtime { program: Box::new(space.program), error });
    }
    Ok(MultiTrial { space, config, data })
}

/// The default experiment directory of a search: `runs/<space>-<strategy>-<unix time>`.
pub fn default_run_dir(file: &Path, strategy: &str) -> PathBuf {
    let stem = file.file_stem().map_or("space".into(), |s| s.to_string_lossy().into_owned());
    let time = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    PathBuf::from("runs").join(format!("{stem}-{strategy}-{time}"))
}

/// Creates the experiment store of a search in `dir`, recording `command` (the command line),
/// the space (by its absolute path, so that `--resume` works from any directory, and its text)
/// and `config`.
pub fn create_store(
    dir: &Path,
    command: &str,
    space: &Space,
    config: &serde_json::Value,
) -> Result<Store, LaunchError> {
    let path = std::fs::canonicalize(&space.file).unwrap_or(space.file.clone());
    Ok(Store::create(dir, command, &path.display().to_string(), &space.text, config)?)
}

impl MultiTrial {
    /// Step 2: creates the experiment in `dir` (see [`create_store`]).
    pub fn start(self, dir: &Path, command: &str) -> Result<Search, LaunchError> {
        let stored = ExperimentConfig::MultiTrial(self.config.clone());
        let stored = serde_json::to_value(&stored).expect("the configuration serialises");
        let store = create_store(dir, command, &self.space, &stored)?;
        let (file, graph) = (self.space.file, self.space.graph);
        Ok(Search { store: Arc::new(store), file, graph, data: self.data, config: self.config })
    }
}

/// A multi-trial experiment ready to run (new or resumed).
pub struct Search {
    store: Arc<Store>,
    file: PathBuf,
    graph: Graph,
    data: Splits,
    /// The experiment's configuration.
    pub config: SearchConfig,
}

/// How a search ended.
#[derive(Debug)]
pub struct Finished {
    /// Trials, the best, why it stopped.
    pub summary: SearchSummary,
    /// The status recorded: `done` or `interrupted`.
    pub status: ExperimentStatus,
    /// Where the best architecture was written (`DIR/best.json`).
    pub best: PathBuf,
}

impl Search {
    /// The experiment's directory.
    pub fn dir(&self) -> &Path {
        self.store.dir()
    }

    /// The space's file.
    pub fn space_path(&self) -> &Path {
        &self.file
    }

    /// The searched network.
    pub fn graph(&self) -> &Graph {
        &self.graph
    }

    /// Gives a resumed search a new trial budget, `max_trials` in all (the trials already
    /// recorded count), and records it in the store: a finished search goes on to more trials.
    ///
    /// Errors: [`LaunchError::Store`] when the store cannot record it.
    pub fn set_max_trials(&mut self, max_trials: usize) -> Result<(), LaunchError> {
        self.config.max_trials = Some(max_trials);
        let stored = ExperimentConfig::MultiTrial(self.config.clone());
        let stored = serde_json::to_value(&stored).expect("the configuration serialises");
        self.store.set_config(&stored)?;
        Ok(())
    }

    /// Step 3: runs the search to its end (see the module documentation for the status it
    /// records), stopping early when `stop` becomes true (see [`stop_on_signals`]).
    ///
    /// Errors: everything that stops a search; the experiment is then `failed`, except for
    /// [`LaunchError::NoTrialSucceeded`] (`done`).
    pub fn run(
        self,
        observer: &mut dyn SearchObserver,
        stop: &AtomicBool,
    ) -> Result<Finished, LaunchError> {
        let device = self.config.device.device().map_err(|e| {
            let _ = self.store.set_failed(&e.to_string());
            LaunchError::Device(e.to_string())
        })?;
        let Search { store, graph, data, config, .. } = self;
        let data = Arc::new(data);
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            search::run(store.clone(), &graph, data, &config, &device, observer, stop)
        }));
        let summary = match result {
            Ok(Ok(s)) => s,
            // Another process runs this experiment: its status is that process's to set.
            Ok(Err(e @ search::SearchError::Busy(_))) => return Err(e.into()),
            Ok(Err(e)) => {
                let _ = store.set_failed(&e.to_string());
                return Err(e.into());
            }
            Err(panic) => {
                let message = train::panic_message(&*panic);
                let _ = store.set_failed(&format!("nasc panicked: {message}"));
                return Err(LaunchError::Panic(message));
            }
        };
        let status = if stop.load(Ordering::SeqCst) {
            ExperimentStatus::Interrupted
        } else {
            ExperimentStatus::Done
        };
        store.set_status(status)?;
        let best = store.dir().join("best.json");
        match &summary.best {
            Some(t) => write_best(&best, t)?,
            None if status == ExperimentStatus::Done => return Err(LaunchError::NoTrialSucceeded),
            None => {}
        }
        Ok(Finished { summary, status, best })
    }
}

/// Writes a trial's architecture, pretty-printed, to `path`.
fn write_best(path: &Path, t: &TrialRecord) -> Result<(), LaunchError> {
    let pretty = serde_json::from_str::<serde_json::Value>(&t.arch)
        .map(|v| serde_json::to_string_pretty(&v).unwrap_or(t.arch.clone()))
        .unwrap_or(t.arch.clone());
    std::fs::write(path, pretty + "\n")
        .map_err(|source| LaunchError::Write { path: path.to_path_buf(), source })
}

/// A resumed experiment, of either kind, ready to run.
pub enum Resumed {
    /// A multi-trial search.
    MultiTrial(Box<Search>),
    /// A one-shot search, continuing from its last checkpoint.
    OneShot(Box<OneShotSearch>),
}

/// Step 4: reopens the experiment in `dir` to run it on: a multi-trial search goes on with the
/// trials not yet finished, a one-shot search from the checkpoint of its last finished epoch
/// (from scratch when it was stopped before its first).
///
/// Errors: [`LaunchError::Store`] when `dir` holds no experiment, [`LaunchError::Resume`] for a
/// configuration this nasc cannot read, a space that changed since, or a one-shot search that
/// already finished, and the errors of [`compile_space`], [`load_data`] and
/// [`prepare_one_shot`].
pub fn resume(dir: &Path) -> Result<Resumed, LaunchError> {
    let store = Store::open(dir)?;
    let info = store.info()?;
    let config = match ExperimentConfig::from_stored(&info.config) {
        Ok(ExperimentConfig::MultiTrial(c)) => c,
        Ok(ExperimentConfig::OneShot(stored)) => {
            return resume_one_shot(store, &info, stored).map(|s| Resumed::OneShot(Box::new(s)))
        }
        Err(e) => {
            return Err(LaunchError::Resume(format!(
                "{}: the experiment's configuration is not one this nasc can resume: {e}",
                dir.display()
            )))
        }
    };
    let file = checked_space(&info)?;
    let space = compile_space(&file)?;
    let data = load_data(&config.data)?;
    Ok(Resumed::MultiTrial(Box::new(Search {
        store: Arc::new(store),
        file,
        graph: space.graph,
        data,
        config,
    })))
}

/// The space file of an experiment, checked to be the text it was started with.
///
/// Errors: [`LaunchError::Resume`] when it cannot be read or changed since.
fn checked_space(info: &crate::experiment::ExperimentInfo) -> Result<PathBuf, LaunchError> {
    let file = PathBuf::from(&info.space_path);
    let text =
        std::fs::read(&file).map(|b| String::from_utf8_lossy(&b).into_owned()).map_err(|e| {
            LaunchError::Resume(format!(
                "cannot read the experiment's space {}: {e}",
                file.display()
            ))
        })?;
    if crate::experiment::hash_space(&text) != info.space_hash {
        return Err(LaunchError::Resume(format!("{} changed since the experiment started; resuming would mix two spaces (start a new experiment instead)", file.display())));
    }
    Ok(file)
}

/// Reopens a one-shot experiment: the space (unchanged), its lowering, the data and the device
/// are prepared again from what the store recorded ([`prepare_one_shot`]).
///
/// Errors: see [`resume`].
fn resume_one_shot(
    store: Store,
    info: &crate::experiment::ExperimentInfo,
    stored: OneShotStored,
) -> Result<OneShotSearch, LaunchError> {
    if info.status == ExperimentStatus::Done {
        return Err(LaunchError::Resume(format!(
            "{}: this one-shot search already finished; its architecture is in {}",
            store.dir().display(),
            store.dir().join("best.json").display()
        )));
    }
    let file = checked_space(info)?;
    let settings = OneShotSettings {
        config: stored.config.clone(),
        val_fraction: stored.val_fraction,
        data: stored.data.clone(),
        device: stored.device,
    };
    let mut one_shot = prepare_one_shot(&file, &settings)?;
    // What the store holds (the data with absolute paths) stays as it is.
    one_shot.stored = stored;
    Ok(OneShotSearch { store, one_shot, resume: true })
}

/// A flag that SIGINT and SIGTERM set (Ctrl-C): a search stops proposing trials, stops the
/// running ones at their next step (left unfinished) and records `interrupted`. A second signal while the flag is set ends
/// the process at once with exit code 130 (signal-hook's conditional shutdown).
///
/// Errors: the operating system refused to install the handlers.
pub fn stop_on_signals() -> std::io::Result<Arc<AtomicBool>> {
    let flag = Arc::new(AtomicBool::new(false));
    #[cfg(unix)]
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        // The order matters: the shutdown is registered first so that it sees the flag as it
        // was before this signal.
        signal_hook::flag::register_conditional_shutdown(signal, 130, flag.clone())?;
        signal_hook::flag::register(signal, flag.clone())?;
    }
    Ok(flag)
}

/// The configuration an experiment stores, typed and tagged by kind (`"kind": "multi-trial"` or
/// `"oneshot"`). Stores written before the tag existed hold a multi-trial configuration without
/// it, or a one-shot one in the flat form of earlier versions; [`ExperimentConfig::from_stored`]
/// reads both.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind")]
pub enum ExperimentConfig {
    /// A multi-trial search.
    #[serde(rename = "multi-trial")]
    MultiTrial(SearchConfig),
    /// A one-shot search.
    #[serde(rename = "oneshot")]
    OneShot(OneShotStored),
}

impl ExperimentConfig {
    /// Reads a stored configuration (see the type's documentation).
    ///
    /// Errors: the JSON is not a configuration this nasc knows.
    pub fn from_stored(value: &serde_json::Value) -> Result<ExperimentConfig, serde_json::Error> {
        if value.get("kind").is_none() {
            return serde_json::from_value(value.clone()).map(ExperimentConfig::MultiTrial);
        }
        serde_json::from_value(value.clone())
    }

    /// The strategy's name (`evolution`, `darts`).
    pub fn strategy(&self) -> &'static str {
        match self {
            ExperimentConfig::MultiTrial(c) => c.strategy.name(),
            ExperimentConfig::OneShot(s) => s.config.kind().name(),
        }
    }

    /// The name of the metric trials are ranked by (`val_acc`, `supernet_val_acc`).
    pub fn metric(&self) -> &str {
        match self {
            ExperimentConfig::MultiTrial(c) => c.metric.name(),
            ExperimentConfig::OneShot(s) => &s.metric,
        }
    }

    /// The metric's direction.
    pub fn mode(&self) -> Mode {
        match self {
            ExperimentConfig::MultiTrial(c) => c.mode,
            ExperimentConfig::OneShot(s) => s.mode,
        }
    }
}

/// What a one-shot experiment stores: the strategy's settings, and what the search around the
/// supernet needs to be read back (the metric of the per-epoch figures, its direction, the
/// validation split, the data and the device).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct OneShotStored {
    /// The strategy and its settings.
    #[serde(flatten)]
    pub config: OneShotConfig,
    /// `supernet_val_acc` (classification) or `supernet_val_mse` (regression).
    pub metric: String,
    /// The metric's direction.
    pub mode: Mode,
    /// The fraction of the training data held out to train the architecture on.
    pub val_fraction: f64,
    /// The `--data` spec, with absolute paths.
    pub data: String,
    /// Where the supernet trains.
    pub device: DeviceKind,
}

impl OneShotStored {
    /// What a one-shot search with `config` stores: the metric and its direction follow the
    /// task; `data` is recorded with absolute paths, as a multi-trial search's.
    pub fn new(config: OneShotConfig, val_fraction: f64, data: &str, device: DeviceKind) -> Self {
        let regression = config.common.task == Task::Regression;
        OneShotStored {
            config,
            metric: if regression { "supernet_val_mse" } else { "supernet_val_acc" }.into(),
            mode: if regression { Mode::Min } else { Mode::Max },
            val_fraction,
            data: data.parse::<DataSpec>().map_or(data.to_string(), |d| d.absolute().to_string()),
            device,
        }
    }

    /// The configuration as the store keeps it (`"kind": "oneshot"`).
    pub fn to_json(&self) -> serde_json::Value {
        let c = ExperimentConfig::OneShot(self.clone());
        serde_json::to_value(c).expect("the configuration serialises")
    }
}

/// The settings of a one-shot search, as a user gives them.
#[derive(Debug, Clone)]
pub struct OneShotSettings {
    /// The strategy and its settings ([`OneShotConfig::new`] gives the papers' defaults).
    pub config: OneShotConfig,
    /// The fraction of the training data held out to train the architecture on (DARTS: 0.5),
    /// in (0, 1).
    pub val_fraction: f64,
    /// The `--data` spec.
    pub data: String,
    /// Where the supernet trains.
    pub device: DeviceKind,
}

/// A one-shot search ready to start: checked settings, the space and its supernet plan, the
/// prepared data and the device.
pub struct OneShot {
    /// The space searched.
    pub space: Space,
    /// The configuration the experiment will record.
    pub stored: OneShotStored,
    plan: Plan,
    data: Prepared,
    device: Device,
}

/// Step 1 of a one-shot search: checks the settings, compiles the space, lowers it to the
/// strategy's supernet (E0401 for what it cannot take), loads and splits the data, checks that
/// it fits the supernet's input and that the device exists. Nothing is written.
///
/// Errors: [`LaunchError::Setting`], the errors of [`compile_space`] and [`load_data`],
/// [`LaunchError::Lower`] with the diagnostics, [`LaunchError::Runtime`] for data that does
/// not fit.
pub fn prepare_one_shot(file: &Path, settings: &OneShotSettings) -> Result<OneShot, LaunchError> {
    let cfg = &settings.config;
    cfg.check().map_err(|e| LaunchError::Setting(e.to_string()))?;
    let val_fraction = settings.val_fraction;
    if !(val_fraction > 0.0 && val_fraction < 1.0) {
        return Err(LaunchError::Setting("a one-shot search chooses the architecture on a validation split: --val-fraction must be in (0, 1) (default 0.5)".into()));
    }
    let space = compile_space(file)?;
    let plan = match crate::lower::lower(&space.graph, cfg.kind()) {
        Ok(p) => p,
        Err(errors) => {
            let diagnostics = errors.iter().map(crate::diagnostics::wording::lower_error).collect();
            return Err(LaunchError::Lower { program: Box::new(space.program), diagnostics });
        }
    };
    let data = load_data(&settings.data)?;
    // The supernet's input does not depend on the architecture: check the data once.
    let g = &space.graph;
    let input_dims =
        g.inputs.first().map(|i| plan.nodes[i.index()].dims.clone()).unwrap_or_default();
    if input_dims != data.train.item_shape {
        let show = |d: &[usize]| {
            format!("[{}]", d.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(", "))
        };
        let loc = g.inputs.first().map_or_else(|| g.nodes.loc(g.output), |i| g.nodes.loc(*i));
        let error = RuntimeError::DataShape {
            loc,
            expected: show(&input_dims),
            found: show(&data.train.item_shape),
        };
        return Err(LaunchError::Runtime { program: Box::new(space.program), error });
    }
    let data = train::prepare(&data, val_fraction, cfg.common.seed)
        .map_err(|e| LaunchError::Setting(e.to_string()))?;
    let device = settings.device.device().map_err(|e| LaunchError::Device(e.to_string()))?;
    let stored = OneShotStored::new(cfg.clone(), val_fraction, &settings.data, settings.device);
    Ok(OneShot { space, stored, plan, data, device })
}

impl OneShot {
    /// Step 2: creates the experiment in `dir` (an existing experiment there is refused: it is
    /// continued with `--resume`).
    pub fn start(self, dir: &Path, command: &str) -> Result<OneShotSearch, LaunchError> {
        if dir.join(crate::experiment::DB_FILE).exists() {
            return Err(LaunchError::Resume(format!("{}: an experiment already exists here; continue it with `nasc search --resume {}`, or choose another --out directory", dir.display(), dir.display())));
        }
        let store = create_store(dir, command, &self.space, &self.stored.to_json())?;
        Ok(OneShotSearch { store, one_shot: self, resume: false })
    }
}

/// A one-shot experiment ready to run (new, or resumed from its checkpoint).
pub struct OneShotSearch {
    store: Store,
    one_shot: OneShot,
    resume: bool,
}

/// How a one-shot search ended.
#[derive(Debug)]
pub struct OneShotFinished {
    /// The exported architecture, its trial, metric and the epochs.
    pub summary: OneShotSummary,
    /// Where the architecture was written (`DIR/best.json`).
    pub best: PathBuf,
}

impl OneShotSearch {
    /// The experiment's directory.
    pub fn dir(&self) -> &Path {
        self.store.dir()
    }

    /// The space searched.
    pub fn space(&self) -> &Space {
        &self.one_shot.space
    }

    /// The configuration the experiment records.
    pub fn stored(&self) -> &OneShotStored {
        &self.one_shot.stored
    }

    /// Step 3: trains the supernet and exports the architecture to `DIR/best.json`, writing a
    /// checkpoint (`DIR/oneshot.ckpt`) at the end of every epoch; a resumed search continues from
    /// it. The experiment is `done` afterwards, `failed` on any error or panic.
    ///
    /// Errors: [`LaunchError::Runtime`] for a training failure (shown at its `.nas` place),
    /// [`LaunchError::Setting`], [`LaunchError::Store`], [`LaunchError::Write`].
    pub fn run(self, observer: &mut dyn OneShotObserver) -> Result<OneShotFinished, LaunchError> {
        let OneShotSearch { store, one_shot, resume } = self;
        // Held while the supernet trains, so that `nasc runs` can tell a running search from
        // one that was killed, and so that no second process writes the same checkpoint.
        let _lock = search::lock(store.dir())?;
        if resume {
            store.set_status(ExperimentStatus::Running)?;
        }
        let OneShot { space, stored, plan, data, device } = one_shot;
        let (g, cfg) = (&space.graph, &stored.config);
        let checkpointing = crate::oneshot::Checkpointing {
            path: store.dir().join(crate::oneshot::CHECKPOINT_FILE),
            space_hash: crate::experiment::hash_space(&space.text),
            resume,
        };
        let result = train::catch_panics(|| {
            crate::oneshot::run_checkpointed(
                &store,
                g,
                &plan,
                &data,
                cfg,
                &device,
                observer,
                Some(&checkpointing),
            )
            .map_err(|e| match e {
                OneShotError::Runtime(r) => r,
                OneShotError::Settings(s) => RuntimeError::Config(s.to_string()),
                OneShotError::Store(s) => RuntimeError::Config(s.to_string()),
            })
        });
        let summary = match result {
            Ok(s) => s,
            Err(error) => {
                let _ = store.set_failed(&error.to_string());
                return Err(LaunchError::Runtime { program: Box::new(space.program), error });
            }
        };
        store.set_status(ExperimentStatus::Done)?;
        let best = store.dir().join("best.json");
        let pretty =
            serde_json::to_string_pretty(&serde_json::Value::Object(summary.arch.to_json(g)))
                .expect("an architecture serialises");
        std::fs::write(&best, pretty + "\n")
            .map_err(|source| LaunchError::Write { path: best.clone(), source })?;
        Ok(OneShotFinished { summary, best })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lower::OneShotKind;

    fn multi_trial() -> SearchConfig {
        let settings = MultiTrialSettings {
            strategy: StrategyKind::Evolution,
            options: vec![("population_size".into(), "4".into())],
            metric: None,
            mode: None,
            max_trials: Some(3),
            max_duration: None,
            concurrency: 1,
            data: "mnist:/data/mnist".into(),
            train: TrainConfig::default(),
            device: DeviceKind::Flex,
        };
        settings.config().expect("valid settings")
    }

    #[test]
    fn both_kinds_round_trip_through_the_store_tagged_by_kind() {
        let c = ExperimentConfig::MultiTrial(multi_trial());
        let v = serde_json::to_value(&c).expect("serialises");
        assert_eq!(v["kind"], "multi-trial");
        let back = ExperimentConfig::from_stored(&v).expect("reads");
        assert!(
            matches!(&back, ExperimentConfig::MultiTrial(m) if m.options == multi_trial().options)
        );
        assert_eq!(
            (back.strategy(), back.metric(), back.mode()),
            ("evolution", "val_acc", Mode::Max)
        );
        let stored = OneShotStored {
            config: OneShotConfig::new(OneShotKind::Proxyless),
            metric: "supernet_val_mse".into(),
            mode: Mode::Min,
            val_fraction: 0.5,
            data: "mnist:/data/mnist".into(),
            device: DeviceKind::Flex,
        };
        let v =
            serde_json::to_value(ExperimentConfig::OneShot(stored.clone())).expect("serialises");
        assert_eq!(
            (v["kind"].as_str(), v["strategy"].as_str()),
            (Some("oneshot"), Some("proxyless"))
        );
        match ExperimentConfig::from_stored(&v).expect("reads") {
            ExperimentConfig::OneShot(s) => {
                assert_eq!(s.config, stored.config);
                assert_eq!((s.mode, s.metric.as_str()), (Mode::Min, "supernet_val_mse"));
            }
            other => panic!("read as {other:?}"),
        }
    }

    #[test]
    fn stores_written_before_the_tag_still_open() {
        // A multi-trial configuration had no `kind`.
        let mut v = serde_json::to_value(multi_trial()).expect("serialises");
        assert!(v.get("kind").is_none());
        assert!(matches!(ExperimentConfig::from_stored(&v), Ok(ExperimentConfig::MultiTrial(_))));
        // A one-shot one was flat.
        let old: serde_json::Value =
            serde_json::from_str(crate::oneshot::settings::OLD_FLAT_DARTS).expect("JSON");
        match ExperimentConfig::from_stored(&old).expect("reads") {
            ExperimentConfig::OneShot(s) => {
                assert_eq!(s.config.kind(), OneShotKind::Darts);
                assert_eq!((s.config.common.epochs, s.mode, s.val_fraction), (2, Mode::Max, 0.5));
            }
            other => panic!("read as {other:?}"),
        }
        // Something else entirely is an error, not a panic.
        v["strategy"] = "no-such-strategy".into();
        assert!(ExperimentConfig::from_stored(&v).is_err());
    }

    #[test]
    fn bad_settings_are_refused_before_anything_is_compiled() {
        let mut s = MultiTrialSettings {
            max_trials: None,
            ..MultiTrialSettings {
                strategy: StrategyKind::Random,
                options: Vec::new(),
                metric: None,
                mode: None,
                max_trials: Some(1),
                max_duration: None,
                concurrency: 1,
                data: "mnist:/nowhere".into(),
                train: TrainConfig::default(),
                device: DeviceKind::Flex,
            }
        };
        let missing = Path::new("/no/such/space.nas");
        let e = prepare_multi_trial(missing, &s).err().expect("no budget");
        assert!(e.is_setting() && e.to_string().contains("budget"), "{e}");
        s.max_trials = Some(2);
        s.concurrency = 0;
        assert!(prepare_multi_trial(missing, &s).err().expect("refused").is_setting());
        s.concurrency = 1;
        // Valid settings reach the file, which is missing: a read error, also the caller's.
        let e = prepare_multi_trial(missing, &s).err().expect("no file");
        assert!(matches!(e, LaunchError::Read(_)), "{e}");
        let one = OneShotSettings {
            config: OneShotConfig::new(OneShotKind::Darts),
            val_fraction: 1.0,
            data: "mnist:/nowhere".into(),
            device: DeviceKind::Flex,
        };
        let e = prepare_one_shot(missing, &one).err().expect("refused");
        assert!(e.is_setting() && e.to_string().contains("--val-fraction"), "{e}");
    }
}
