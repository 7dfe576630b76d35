//! `nasc report`: one self-contained HTML page of a search, written next to its store
//! (`DIR/report.html`), that any browser opens from disk. Data flows one way: the report reads
//! the experiment store and renders; it never writes to the store and knows nothing of
//! training.
//!
//! - [`Snapshot::read`] reads what the page shows from a [`Store`] (any connection: a search
//!   rewrites its report beside its own writes, WAL lets a reader run beside the writer).
//! - [`numbers`] computes what the charts plot (best so far, Pareto fronts, label importance),
//!   as pure functions; [`svg`] draws the charts as inline SVG; [`graph`] draws an
//!   architecture as the graph of its operators, and [`cell`] the cells of cell spaces (DARTS,
//!   NAS-Bench-201) as the DARTS paper draws them; `html` lays the page out.
//! - [`write`] and [`write_dir`] write the page atomically (a temporary file renamed over the
//!   old one), so a browser reloading the page during a search never sees half of it.
//!
//! The page needs no network: its style, script and charts are inline, and its
//! Content-Security-Policy (`default-src 'none'`) makes the browser refuse any request, which
//! the page's script records (`data-errors` on `<body>`, the browser test reads it).

pub mod cell;
pub mod graph;
mod html;
pub mod numbers;
pub mod svg;

use crate::diagnostics::wording::{self, CommandProblem};
use crate::experiment::{
    EpochRecord, ExperimentInfo, Store, StoreError, SupernetEpoch, TrialId, TrialRecord,
};
use crate::ir::Graph;
use crate::launch::ExperimentConfig;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The report's file name inside an experiment directory.
pub const REPORT_FILE: &str = "report.html";

/// Why a report could not be written.
#[derive(Debug)]
pub enum ReportError {
    /// The experiment store could not be read (missing, not an experiment, corrupt, ...).
    Store(StoreError),
    /// The directory holds no experiment, and no directory in it does.
    NoExperiment(PathBuf),
    /// The page could not be written.
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

impl From<StoreError> for ReportError {
    fn from(e: StoreError) -> Self {
        ReportError::Store(e)
    }
}

/// What the page of one experiment shows, read from its store at one moment.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// The experiment directory.
    pub dir: PathBuf,
    /// The experiment's own row (status, command, times).
    pub info: ExperimentInfo,
    /// Its typed configuration; `None` for one this nasc cannot read.
    pub config: Option<ExperimentConfig>,
    /// Every trial, in id order.
    pub trials: Vec<TrialRecord>,
    /// The epochs of each trial's last attempt.
    pub epochs: BTreeMap<TrialId, Vec<EpochRecord>>,
    /// A one-shot search's supernet epochs (empty for a multi-trial search).
    pub supernet: Vec<SupernetEpoch>,
    /// A one-shot search's probabilities, `(epoch, label, candidate, probability)`.
    pub probabilities: Vec<(u32, String, String, f64)>,
    /// When the snapshot was read, Unix seconds.
    pub read_at: f64,
}

impl Snapshot {
    /// Reads everything the page shows from `store`.
    ///
    /// Errors: the store's.
    pub fn read(store: &Store) -> Result<Snapshot, StoreError> {
        let info = store.info()?;
        let config = ExperimentConfig::from_stored(&info.config).ok();
        let mut epochs: BTreeMap<TrialId, Vec<EpochRecord>> = BTreeMap::new();
        for (id, e) in store.all_epochs()? {
            epochs.entry(id).or_default().push(e);
        }
        Ok(Snapshot {
            dir: store.dir().to_path_buf(),
            info,
            config,
            trials: store.trials()?,
            epochs,
            supernet: store.supernet_epochs()?,
            probabilities: store.probabilities()?,
            read_at: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64()),
        })
    }

    /// Whether the experiment is a one-shot search (its configuration says so, or it recorded
    /// supernet epochs).
    pub fn is_one_shot(&self) -> bool {
        matches!(self.config, Some(ExperimentConfig::OneShot(_))) || !self.supernet.is_empty()
    }
}

/// What a report draws besides the store: the space's network, to draw architectures.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The network searched; when `None`, [`write`] compiles the experiment's space file if it is
    /// unchanged since the search began (otherwise the page says why it draws no architecture).
    pub graph: Option<Graph>,
    /// Trials whose architecture the page draws besides the best ones (`--trial N`); the first
    /// is shown first.
    pub trials: Vec<TrialId>,
}

/// The network of an experiment's space, compiled from its file if the file is unchanged since
/// the experiment began; otherwise why not, in words.
pub fn space_graph(info: &ExperimentInfo) -> Result<Graph, String> {
    let file = Path::new(&info.space_path);
    let text = std::fs::read(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    if crate::experiment::hash_space(&String::from_utf8_lossy(&text)) != info.space_hash {
        return Err(format!("{} changed since the search began", file.display()));
    }
    crate::launch::compile_space(file)
        .map(|s| s.graph)
        .map_err(|e| format!("{} does not compile: {e}", file.display()))
}

/// The page of the experiment in `store`'s directory, as HTML text.
///
/// Errors: the store's.
pub fn render(store: &Store, options: &Options) -> Result<String, StoreError> {
    let snap = Snapshot::read(store)?;
    let graph = match &options.graph {
        Some(g) => Ok(g.clone()),
        None => space_graph(&snap.info),
    };
    Ok(html::experiment_page(&snap, graph.as_ref().map_err(String::as_str), &options.trials))
}

/// Writes `text` to `path` atomically: a temporary file in the same directory, renamed over
/// `path` (a reader sees the old page or the new one, never half of one).
///
/// Errors: [`ReportError::Write`].
pub fn write_atomic(path: &Path, text: &str) -> Result<(), ReportError> {
    let name = path.file_name().map_or("report".into(), |n| n.to_string_lossy().into_owned());
    let tmp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let err = |source| ReportError::Write { path: path.to_path_buf(), source };
    std::fs::write(&tmp, text).map_err(err)?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        err(e)
    })
}

/// Writes the report of the experiment in `store`'s directory to `DIR/report.html` and returns
/// its path.
///
/// Errors: the store's, [`ReportError::Write`].
pub fn write(store: &Store, options: &Options) -> Result<PathBuf, ReportError> {
    let text = render(store, options)?;
    let path = store.dir().join(REPORT_FILE);
    write_atomic(&path, &text)?;
    Ok(path)
}

/// `nasc report DIR`: the report of the experiment in `dir`; or, when `dir` holds no experiment
/// but directories that do, the report of each of them and a page comparing them in
/// `dir/report.html`. Returns the pages written, the one to open first.
///
/// Errors: [`ReportError::Store`] for an experiment that cannot be read (a missing directory, a
/// file that is not an experiment, a corrupt one), [`ReportError::NoExperiment`],
/// [`ReportError::Write`].
pub fn write_dir(dir: &Path, options: &Options) -> Result<Vec<PathBuf>, ReportError> {
    if !dir.is_dir() || dir.join(crate::experiment::DB_FILE).exists() {
        let store = Store::open(dir)?;
        return Ok(vec![write(&store, options)?]);
    }
    let mut subdirs: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|source| ReportError::Write { path: dir.to_path_buf(), source })?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.join(crate::experiment::DB_FILE).is_file())
        .collect();
    subdirs.sort();
    if subdirs.is_empty() {
        return Err(ReportError::NoExperiment(dir.to_path_buf()));
    }
    let mut rows = Vec::new();
    let mut written = Vec::new();
    for sub in &subdirs {
        // One unreadable experiment does not hide the others: its row says why.
        let row = Store::open(sub).map_err(ReportError::from).and_then(|store| {
            let snap = Snapshot::read(&store)?;
            let graph = space_graph(&snap.info);
            let page = html::experiment_page(&snap, graph.as_ref().map_err(String::as_str), &[]);
            let path = sub.join(REPORT_FILE);
            write_atomic(&path, &page)?;
            written.push(path);
            Ok(snap)
        });
        rows.push((sub.clone(), row.map_err(|e| describe(&e))));
    }
    let path = dir.join(REPORT_FILE);
    write_atomic(&path, &html::comparison_page(dir, &rows))?;
    written.insert(0, path);
    Ok(written)
}

/// A report error in words (without the `error: ` the command line puts before it), worded by
/// `diagnostics::wording` except the store's own errors.
pub fn describe(e: &ReportError) -> String {
    let text = match e {
        ReportError::Store(e) => return e.to_string(),
        ReportError::NoExperiment(d) => {
            let d = d.display().to_string();
            wording::command_problem(&CommandProblem::NoExperiment(&d))
        }
        ReportError::Write { path, source } => {
            let (path, error) = (path.display().to_string(), source.to_string());
            wording::command_problem(&CommandProblem::CannotWrite { path: &path, error: &error })
        }
    };
    text.strip_prefix("error: ").map_or(text.clone(), str::to_string)
}

/// The report of a running search, rewritten by the search after every finished trial and
/// every one-shot epoch. It reads the store through a connection of its own (read only: it
/// never writes to the store).
pub struct Live {
    store: Store,
    options: Options,
    path: PathBuf,
}

impl Live {
    /// Opens the experiment in `dir` for reading and writes its report once; `graph` is the
    /// searched network (to draw architectures without compiling the space again).
    ///
    /// Errors: the store's, [`ReportError::Write`].
    pub fn start(dir: &Path, graph: Option<Graph>) -> Result<Live, ReportError> {
        let store = Store::open(dir)?;
        let options = Options { graph, trials: Vec::new() };
        let path = write(&store, &options)?;
        Ok(Live { store, options, path })
    }

    /// Where the report is (`DIR/report.html`).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Rewrites the report from the store as it is now.
    ///
    /// Errors: the store's, [`ReportError::Write`].
    pub fn rewrite(&self) -> Result<(), ReportError> {
        write(&self.store, &self.options).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::ExperimentStatus;

    /// A live report follows the store: running with no trial, then the trial, then done; each
    /// rewrite replaces the page whole and leaves no temporary file behind.
    #[test]
    fn a_live_report_follows_the_store_and_is_replaced_atomically() {
        let dir = std::env::temp_dir().join(format!("nasc-report-live-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let config = serde_json::json!({"kind": "unknown to this nasc"});
        let store = Store::create(&dir, "nasc search (test)", "/no/such/space.nas", "", &config)
            .expect("store");
        let live = Live::start(&dir, None).expect("first page");
        assert_eq!(live.path(), dir.join(REPORT_FILE));
        let page = || std::fs::read_to_string(dir.join(REPORT_FILE)).expect("page");
        let first = page();
        assert!(first.contains(r#"data-status="running""#) && first.contains("0 trials finished"));
        // No process holds the experiment here: its `running` is shown as `nasc runs` does.
        assert!(first.contains(r#"id="status">stopped<"#), "{first}");
        // The space file is gone: the page says why it draws no architecture, and does not fail.
        assert!(first.contains("No architecture is drawn: cannot read /no/such/space.nas"));
        let id = store.ask(r#"{"width": 8}"#, 100, 2000).expect("ask");
        store.start(id).expect("start");
        store.succeed(id, 0.75, 1.5).expect("succeed");
        live.rewrite().expect("rewrite");
        let second = page();
        assert!(second.contains("1 trial finished") && second.contains("width=8"), "{second}");
        store.set_status(ExperimentStatus::Done).expect("status");
        live.rewrite().expect("rewrite");
        assert!(page().contains(r#"data-status="done""#));
        // A failure's reason is on the page.
        store.set_failed("the disk is full").expect("failed");
        live.rewrite().expect("rewrite");
        assert!(page().contains("failed: the disk is full"));
        let names: Vec<String> = std::fs::read_dir(&dir)
            .expect("dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        assert!(!names.iter().any(|n| n.ends_with(".tmp")), "{names:?}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
