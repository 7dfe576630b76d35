//! The experiment store: one directory `DIR/` around one SQLite database `DIR/experiment.db`
//! that never loses a finished trial, whatever moment the process is killed.
//!
//! # Durability
//!
//! - The database runs in WAL journal mode with `synchronous=FULL`: a transaction is on disk
//!   (the WAL fsynced) when its commit returns, so it survives a killed process (SIGKILL
//!   included) and also a power loss or OS crash. `NORMAL` would survive a killed process too
//!   (the OS keeps the written WAL) but may lose the last commits on power loss; the cost of
//!   `FULL` is one fsync per state change, small next to a trial that trains for seconds.
//! - Every state change ([`Store::ask`], [`Store::start`], [`Store::epoch`], [`Store::succeed`],
//!   [`Store::fail`], [`Store::set_status`], [`Store::supernet_epoch`]) is its own `BEGIN IMMEDIATE` transaction, and a
//!   trial's status change and the strategy event it implies (an ask, a tell) commit together,
//!   so the trials and the event log never disagree.
//! - An interrupted write is rolled back by SQLite on the next open; nothing is half-written.
//!
//! # Concurrency
//!
//! A [`Store`] holds one connection behind a [`Mutex`]: it is `Send + Sync`, and the threads of
//! a search share it through an `Arc<Store>`, each call taking the lock for the few
//! milliseconds of its transaction. Ids are thus handed out in ask order and the event log is
//! totally ordered. Other connections to the same file (another [`Store`], another process such
//! as a viewer) are safe too: WAL lets readers run beside the writer, writers take SQLite's write
//! lock, and each connection waits up to [`BUSY_TIMEOUT`] for it instead of failing at once.
//!
//! # Schema (version [`SCHEMA_VERSION`], in `PRAGMA user_version`)
//!
//! The file's `PRAGMA application_id` is [`APPLICATION_ID`] ("nasc"), so another program's
//! SQLite file is refused rather than written to.
//!
//! - `experiment`: one row: `command`, `config` (JSON text), `space_path`, `space_hash`,
//!   `created`, `updated` (Unix seconds), `status` (`running`, `done`, `failed`, `interrupted`).
//! - `trials`: `id` (1, 2, ... in ask order), `arch` (NNI's flat JSON), `status` (`waiting`,
//!   `running`, `succeeded`, `failed`), `metric`, `params`, `flops`, `started`, `finished`,
//!   `duration` (seconds), `error`, `attempts`.
//! - `epochs`: `trial`, `epoch`, `train_loss`, `val_loss`, `val_metric`, `lr`, `seconds`.
//! - `events`: `seq` (1, 2, ...), `kind` (`ask` or `tell`), `trial`, `metric` (a tell's; null
//!   for a failed trial), `time`. At most one ask and one tell per trial.
//! - `supernet_epochs`: one row per epoch of a one-shot strategy's supernet (DARTS, ENAS, ...):
//!   `epoch`, `train_loss`, `val_loss`, `val_metric`, `arch_loss`, `lr`, `seconds`. Empty for
//!   a multi-trial search; the architectures a one-shot strategy exports are ordinary `trials`.
//! - `probabilities`: `epoch`, `label`, `candidate`, `probability`: the supernet's probability
//!   of every candidate of every label at the end of that epoch (softmax of DARTS's alpha, say).
//!
//! The two supernet tables came after version 1 was first written, without a version bump
//! (they only add): [`Store::open`] creates them in an older experiment that lacks them.
//!
//! # Resume
//!
//! A resumed search opens the store ([`Store::open`]), rebuilds its strategy from the seed in
//! [`Store::config`] and re-feeds it [`Store::events`] in order, then reruns
//! [`Store::unfinished`] trials (asked but never told; [`Store::start`] clears the epochs of an
//! earlier attempt) before asking for new ones.

use rusqlite::{
    params, Connection, ErrorCode, OpenFlags, OptionalExtension, Transaction, TransactionBehavior,
};
use serde::Serialize;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The database's file name inside an experiment directory.
pub const DB_FILE: &str = "experiment.db";

/// The schema version this build writes and reads (`PRAGMA user_version`).
pub const SCHEMA_VERSION: i64 = 1;

/// `PRAGMA application_id` of an experiment database: the ASCII bytes "nasc".
pub const APPLICATION_ID: i64 = 0x6E61_7363;

/// How long a connection waits for another connection's write lock before failing.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

const SCHEMA: &str = "
CREATE TABLE experiment (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    command TEXT NOT NULL,
    config TEXT NOT NULL,
    space_path TEXT NOT NULL,
    space_hash TEXT NOT NULL,
    created REAL NOT NULL,
    updated REAL NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('running', 'done', 'failed', 'interrupted'))
) STRICT;
CREATE TABLE trials (
    id INTEGER PRIMARY KEY,
    arch TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('waiting', 'running', 'succeeded', 'failed')),
    metric REAL,
    params INTEGER NOT NULL CHECK (params >= 0),
    flops INTEGER NOT NULL CHECK (flops >= 0),
    started REAL,
    finished REAL,
    duration REAL,
    error TEXT,
    attempts INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX trials_by_status ON trials (status);
CREATE TABLE epochs (
    trial INTEGER NOT NULL REFERENCES trials (id),
    epoch INTEGER NOT NULL,
    train_loss REAL,
    val_loss REAL,
    val_metric REAL,
    lr REAL,
    seconds REAL,
    PRIMARY KEY (trial, epoch)
) STRICT, WITHOUT ROWID;
CREATE TABLE events (
    seq INTEGER PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('ask', 'tell')),
    trial INTEGER NOT NULL REFERENCES trials (id),
    metric REAL,
    time REAL NOT NULL,
    UNIQUE (trial, kind)
) STRICT;
";

/// The tables that came after version 1 was first written: the one-shot (supernet) tables and
/// the reason of a failed experiment. Part of every new store, and added with `IF NOT EXISTS`
/// to an older version-1 store when it is opened.
const ADDED_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS status_reason (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    reason TEXT NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS supernet_epochs (
    epoch INTEGER PRIMARY KEY,
    train_loss REAL,
    val_loss REAL,
    val_metric REAL,
    arch_loss REAL,
    lr REAL,
    seconds REAL
) STRICT;
CREATE TABLE IF NOT EXISTS probabilities (
    epoch INTEGER NOT NULL,
    label TEXT NOT NULL,
    candidate TEXT NOT NULL,
    probability REAL NOT NULL,
    PRIMARY KEY (epoch, label, candidate)
) STRICT, WITHOUT ROWID;
";

const TRIAL_COLUMNS: &str =
    "id, arch, status, metric, params, flops, started, finished, duration, error, attempts";

/// A problem with an experiment store; each names the file (or directory) concerned.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// `create` found an experiment already there.
    #[error("{}: an experiment already exists here; use --resume to continue it, or choose another directory", .path.display())]
    Exists {
        /// The database file.
        path: PathBuf,
    },
    /// `open` found no experiment: the directory or its database is missing.
    #[error("{}: {what}", .path.display())]
    Missing {
        /// The directory or database file that is missing.
        path: PathBuf,
        /// What is missing, in words.
        what: &'static str,
    },
    /// The file exists but is not a nasc experiment database.
    #[error("{}: not a nasc experiment database: {reason}", .path.display())]
    NotExperiment {
        /// The database file.
        path: PathBuf,
        /// Why, in words.
        reason: String,
    },
    /// The database was written by a newer nasc whose schema this build cannot read.
    #[error("{}: this experiment has schema version {found}, newer than the {supported} this nasc reads; use a newer nasc", .path.display())]
    NewerVersion {
        /// The database file.
        path: PathBuf,
        /// The version found in the file.
        found: i64,
        /// The newest version this build reads.
        supported: i64,
    },
    /// The disk is full, or the directory became read-only: nothing more can be recorded, and
    /// everything recorded before is intact (SQLite's transactions).
    #[error("{}: {what}; the finished trials are kept: make room (or make it writable) and continue with `nasc search --resume {}`", .path.display(), .path.parent().unwrap_or(std::path::Path::new(".")).display())]
    Unwritable {
        /// The database file.
        path: PathBuf,
        /// `the disk is full` or `the directory is read-only`.
        what: &'static str,
    },
    /// The database is damaged, or holds values this build never writes.
    #[error("{}: the experiment database is corrupt: {reason}", .path.display())]
    Corrupt {
        /// The database file.
        path: PathBuf,
        /// What is wrong, in words.
        reason: String,
    },
    /// A trial id that the experiment does not have.
    #[error("{}: there is no trial {id}", .path.display())]
    NoTrial {
        /// The database file.
        path: PathBuf,
        /// The trial asked for.
        id: TrialId,
    },
    /// A state change that the trial's status does not allow (telling a trial twice, starting
    /// a finished one, recording an epoch of one that is not running).
    #[error("{}: trial {id} is {status}, so it cannot {action}", .path.display())]
    State {
        /// The database file.
        path: PathBuf,
        /// The trial.
        id: TrialId,
        /// Its status.
        status: TrialStatus,
        /// What was refused (`start`, `record an epoch`, `succeed`, `fail`).
        action: &'static str,
    },
    /// An argument the store refuses to record (an architecture that is not a JSON object, a
    /// NaN metric, a count that does not fit).
    #[error("{}: {reason}", .path.display())]
    Invalid {
        /// The database file.
        path: PathBuf,
        /// What is wrong, in words.
        reason: String,
    },
    /// A file-system error (creating the directory or the database file).
    #[error("{}: {source}", .path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Any other SQLite error (a full disk, a lock held past [`BUSY_TIMEOUT`], ...).
    #[error("{}: {source}", .path.display())]
    Sqlite {
        /// The database file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: rusqlite::Error,
    },
}

/// A trial's id: 1, 2, ... in the order the strategy asked for them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct TrialId(pub u64);

impl fmt::Display for TrialId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The state of a whole experiment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ExperimentStatus {
    /// Searching (or killed while searching: a crashed experiment still reads `running`).
    Running,
    /// Finished: the trial or time budget is spent, or the space is exhausted.
    Done,
    /// Stopped by an error.
    Failed,
    /// Stopped on purpose (Ctrl-C) before its budget was spent; resumable.
    Interrupted,
}

impl ExperimentStatus {
    /// The word stored in the database (`running`, `done`, `failed`, `interrupted`).
    pub fn as_str(self) -> &'static str {
        match self {
            ExperimentStatus::Running => "running",
            ExperimentStatus::Done => "done",
            ExperimentStatus::Failed => "failed",
            ExperimentStatus::Interrupted => "interrupted",
        }
    }

    fn parse(s: &str) -> Option<ExperimentStatus> {
        Some(match s {
            "running" => ExperimentStatus::Running,
            "done" => ExperimentStatus::Done,
            "failed" => ExperimentStatus::Failed,
            "interrupted" => ExperimentStatus::Interrupted,
            _ => return None,
        })
    }
}

impl fmt::Display for ExperimentStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The state of one trial.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TrialStatus {
    /// Asked for, not started yet.
    Waiting,
    /// Training (or killed while training).
    Running,
    /// Finished with a metric.
    Succeeded,
    /// Finished with an error.
    Failed,
}

impl TrialStatus {
    /// The word stored in the database (`waiting`, `running`, `succeeded`, `failed`).
    pub fn as_str(self) -> &'static str {
        match self {
            TrialStatus::Waiting => "waiting",
            TrialStatus::Running => "running",
            TrialStatus::Succeeded => "succeeded",
            TrialStatus::Failed => "failed",
        }
    }

    /// Whether the trial is over (succeeded or failed): its result has been told.
    pub fn is_finished(self) -> bool {
        matches!(self, TrialStatus::Succeeded | TrialStatus::Failed)
    }

    fn parse(s: &str) -> Option<TrialStatus> {
        Some(match s {
            "waiting" => TrialStatus::Waiting,
            "running" => TrialStatus::Running,
            "succeeded" => TrialStatus::Succeeded,
            "failed" => TrialStatus::Failed,
            _ => return None,
        })
    }
}

impl fmt::Display for TrialStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The experiment's own row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExperimentInfo {
    /// The command line that created it.
    pub command: String,
    /// The configuration (strategy, seed, metric, mode, budgets, data, training), as given.
    pub config: serde_json::Value,
    /// The space file, as given on the command line.
    pub space_path: String,
    /// [`hash_space`] of the space file's text when the experiment was created.
    pub space_hash: String,
    /// Creation time, Unix seconds.
    pub created: f64,
    /// Time of the last state change, Unix seconds.
    pub updated: f64,
    /// The experiment's status.
    pub status: ExperimentStatus,
    /// Why it failed, when it did and the failure was recorded ([`Store::set_failed`]).
    pub reason: Option<String>,
}

/// One trial as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrialRecord {
    /// Its id.
    pub id: TrialId,
    /// The architecture, NNI's flat JSON object (`{"label": value, ...}`), as given to `ask`.
    pub arch: String,
    /// Its status.
    pub status: TrialStatus,
    /// The final metric of a succeeded trial.
    pub metric: Option<f64>,
    /// Trainable parameters.
    pub params: u64,
    /// Multiply-accumulates per sample.
    pub flops: u64,
    /// When its last attempt started, Unix seconds.
    pub started: Option<f64>,
    /// When it finished, Unix seconds.
    pub finished: Option<f64>,
    /// How long it took, seconds, as the caller measured it.
    pub duration: Option<f64>,
    /// Why it failed.
    pub error: Option<String>,
    /// How many times it was started (more than 1 after a resume reran it).
    pub attempts: u32,
}

/// The metrics of one training epoch of a trial. A NaN is stored as SQL `NULL`: it reads back
/// as NaN in the `f64` fields and as `None` in the optional ones.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct EpochRecord {
    /// The epoch, counted as the trainer counts it.
    pub epoch: u32,
    /// Mean training loss.
    pub train_loss: f64,
    /// Validation loss, if there is a validation set.
    pub val_loss: Option<f64>,
    /// Validation metric, if there is a validation set.
    pub val_metric: Option<f64>,
    /// Learning rate.
    pub lr: f64,
    /// Wall-clock seconds the epoch took.
    pub seconds: f64,
}

/// The metrics of one training epoch of a one-shot strategy's supernet (DARTS, ENAS, ...).
/// A NaN is stored as SQL `NULL`: it reads back as NaN in the `f64` fields and as `None` in
/// the optional ones.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SupernetEpoch {
    /// The epoch, counted as the trainer counts it.
    pub epoch: u32,
    /// Mean training loss of the supernet's weights.
    pub train_loss: f64,
    /// Validation loss, if there is a validation set.
    pub val_loss: Option<f64>,
    /// Validation metric (accuracy, say), if there is a validation set.
    pub val_metric: Option<f64>,
    /// Mean loss of the architecture parameters' step, for strategies that take one (DARTS).
    pub arch_loss: Option<f64>,
    /// Learning rate of the supernet's weights.
    pub lr: f64,
    /// Wall-clock seconds the epoch took.
    pub seconds: f64,
}

/// What happened between the search and its strategy.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "lowercase", tag = "kind")]
pub enum EventKind {
    /// The strategy proposed the trial's architecture.
    Ask,
    /// The strategy was told the trial's result: its metric, or `None` for a failed trial.
    Tell {
        /// The metric told.
        metric: Option<f64>,
    },
}

/// One entry of the append-only event log.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Event {
    /// Position in the log: 1, 2, ...
    pub seq: u64,
    /// The trial concerned.
    pub trial: TrialId,
    /// Ask or tell.
    pub kind: EventKind,
    /// When it was recorded, Unix seconds.
    pub time: f64,
}

/// An experiment directory, open for reading and writing. See the [module docs](self) for
/// durability, concurrency and the schema.
#[derive(Debug)]
pub struct Store {
    dir: PathBuf,
    path: PathBuf,
    conn: Mutex<Connection>,
}

/// The hash of a space file's text recorded in an experiment (64-bit FNV-1a, written
/// `fnv1a64:` and 16 hex digits), so a resumed search can tell that the space has changed.
pub fn hash_space(text: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("fnv1a64:{h:016x}")
}

fn now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

fn db_error(path: &Path, e: rusqlite::Error) -> StoreError {
    match e.sqlite_error_code() {
        Some(ErrorCode::NotADatabase) => StoreError::NotExperiment {
            path: path.to_path_buf(),
            reason: "not an SQLite database".into(),
        },
        Some(ErrorCode::DatabaseCorrupt) => {
            StoreError::Corrupt { path: path.to_path_buf(), reason: e.to_string() }
        }
        Some(ErrorCode::DiskFull) => {
            StoreError::Unwritable { path: path.to_path_buf(), what: "the disk is full" }
        }
        Some(ErrorCode::ReadOnly) => StoreError::Unwritable {
            path: path.to_path_buf(),
            what: "the experiment directory is read-only",
        },
        _ => StoreError::Sqlite { path: path.to_path_buf(), source: e },
    }
}

/// A NaN as `None` (SQLite would store it as `NULL` anyway).
fn finite_or_null(x: f64) -> Option<f64> {
    (!x.is_nan()).then_some(x)
}

type RawTrial = (
    i64,
    String,
    String,
    Option<f64>,
    i64,
    i64,
    Option<f64>,
    Option<f64>,
    Option<f64>,
    Option<String>,
    i64,
);

fn raw_trial(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawTrial> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
        r.get(8)?,
        r.get(9)?,
        r.get(10)?,
    ))
}

impl Store {
    /// Creates a new experiment in `dir` (created if needed) and records its command line,
    /// space and configuration; its status is `running`. Refuses a directory that already
    /// holds an `experiment.db` (resume it with [`Store::open`] instead).
    pub fn create(
        dir: &Path,
        command: &str,
        space_path: &str,
        space_text: &str,
        config: &serde_json::Value,
    ) -> Result<Store, StoreError> {
        std::fs::create_dir_all(dir)
            .map_err(|source| StoreError::Io { path: dir.to_path_buf(), source })?;
        let path = dir.join(DB_FILE);
        // Claim the file atomically: of two concurrent creates, one fails here.
        match std::fs::OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(StoreError::Exists { path })
            }
            Err(source) => return Err(StoreError::Io { path, source }),
        }
        let result = Store::initialise(dir, &path, command, space_path, space_text, config);
        if result.is_err() {
            // Leave no half-made database behind to block the next attempt.
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(dir.join(format!("{DB_FILE}{suffix}")));
            }
        }
        result
    }

    fn initialise(
        dir: &Path,
        path: &Path,
        command: &str,
        space_path: &str,
        space_text: &str,
        config: &serde_json::Value,
    ) -> Result<Store, StoreError> {
        let err = |e| db_error(path, e);
        let mut conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(err)?;
        Store::configure(&conn, path)?;
        let config_text = serde_json::to_string(config).map_err(|e| StoreError::Invalid {
            path: path.to_path_buf(),
            reason: format!("configuration: {e}"),
        })?;
        let t = now();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(err)?;
        tx.execute_batch(SCHEMA).map_err(err)?;
        tx.execute_batch(ADDED_SCHEMA).map_err(err)?;
        tx.pragma_update(None, "application_id", APPLICATION_ID).map_err(err)?;
        tx.pragma_update(None, "user_version", SCHEMA_VERSION).map_err(err)?;
        tx.execute(
            "INSERT INTO experiment (id, command, config, space_path, space_hash, created, updated, status) VALUES (1, ?1, ?2, ?3, ?4, ?5, ?5, 'running')",
            params![command, config_text, space_path, hash_space(space_text), t],
        )
        .map_err(err)?;
        tx.commit().map_err(err)?;
        Ok(Store { dir: dir.to_path_buf(), path: path.to_path_buf(), conn: Mutex::new(conn) })
    }

    /// Opens the experiment in `dir` (for `--resume`, or to read it). Fails with a clear error
    /// if the directory or its database is missing, if the file is not a nasc experiment
    /// database, if it was written by a newer nasc, or if it is corrupt.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        if !dir.is_dir() {
            return Err(StoreError::Missing {
                path: dir.to_path_buf(),
                what: "no such experiment directory",
            });
        }
        let path = dir.join(DB_FILE);
        if !path.is_file() {
            return Err(StoreError::Missing {
                path,
                what: "no experiment here (the directory has no experiment database)",
            });
        }
        let err = |e| db_error(&path, e);
        let conn = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(err)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(err)?;
        // Identify the file before writing anything to it (journal mode is written to the header).
        let app: i64 =
            conn.pragma_query_value(None, "application_id", |r| r.get(0)).map_err(err)?;
        let version: i64 =
            conn.pragma_query_value(None, "user_version", |r| r.get(0)).map_err(err)?;
        if app != APPLICATION_ID {
            let tables: i64 = conn
                .query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))
                .map_err(err)?;
            let reason = if tables == 0 {
                "the database is empty (was `nasc search` killed while creating it? remove the file and start again)".to_string()
            } else {
                "an SQLite database written by another program".to_string()
            };
            return Err(StoreError::NotExperiment { path, reason });
        }
        if version > SCHEMA_VERSION {
            return Err(StoreError::NewerVersion {
                path,
                found: version,
                supported: SCHEMA_VERSION,
            });
        }
        if version < 1 {
            return Err(StoreError::Corrupt {
                path,
                reason: format!("unknown schema version {version}"),
            });
        }
        let check: String = conn.query_row("PRAGMA quick_check", [], |r| r.get(0)).map_err(err)?;
        if check != "ok" {
            // SQLite lists every damaged page, one per line: the first says enough.
            let lines = check.lines().filter(|l| !l.starts_with("***")).count();
            let first = check.lines().find(|l| !l.starts_with("***")).unwrap_or("").trim();
            let reason = match lines {
                0 | 1 => format!("SQLite's integrity check failed: {first}"),
                n => format!("SQLite's integrity check found {n} problems, the first: {first}"),
            };
            return Err(StoreError::Corrupt { path, reason });
        }
        Store::configure(&conn, &path)?;
        Store::upgrade(&conn, &path)?;
        let store = Store { dir: dir.to_path_buf(), path, conn: Mutex::new(conn) };
        store.info()?;
        Ok(store)
    }

    /// Adds the tables that came after an older version-1 store was written (the supernet
    /// tables). Writes only when one is missing, so opening a current store (a viewer beside a
    /// running search, say) never takes the write lock.
    fn upgrade(conn: &Connection, path: &Path) -> Result<(), StoreError> {
        let err = |e| db_error(path, e);
        let present: i64 = conn
            .query_row("SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name IN ('supernet_epochs', 'probabilities', 'status_reason')", [], |r| r.get(0))
            .map_err(err)?;
        if present < 3 {
            // IF NOT EXISTS: another connection may be upgrading the same file at once.
            let tx =
                Transaction::new_unchecked(conn, TransactionBehavior::Immediate).map_err(err)?;
            tx.execute_batch(ADDED_SCHEMA).map_err(err)?;
            tx.commit().map_err(err)?;
        }
        Ok(())
    }

    /// Per-connection settings: busy timeout, WAL, `synchronous=FULL`, foreign keys.
    fn configure(conn: &Connection, path: &Path) -> Result<(), StoreError> {
        let err = |e| db_error(path, e);
        conn.busy_timeout(BUSY_TIMEOUT).map_err(err)?;
        let mode: String =
            conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0)).map_err(err)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Invalid {
                path: path.to_path_buf(),
                reason: format!("cannot use WAL journal mode here (SQLite chose `{mode}`)"),
            });
        }
        conn.pragma_update(None, "synchronous", "FULL").map_err(err)?;
        conn.pragma_update(None, "foreign_keys", true).map_err(err)?;
        Ok(())
    }

    /// The experiment directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The database file, `DIR/experiment.db`.
    pub fn db_path(&self) -> &Path {
        &self.path
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A thread that panicked mid-call left no open transaction (dropping one rolls it back).
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn err(&self, e: rusqlite::Error) -> StoreError {
        db_error(&self.path, e)
    }

    fn corrupt(&self, reason: impl Into<String>) -> StoreError {
        StoreError::Corrupt { path: self.path.clone(), reason: reason.into() }
    }

    fn invalid(&self, reason: impl Into<String>) -> StoreError {
        StoreError::Invalid { path: self.path.clone(), reason: reason.into() }
    }

    /// Runs `f` in one `BEGIN IMMEDIATE` transaction that also stamps the experiment's
    /// `updated` time; commits if `f` succeeds, rolls back otherwise.
    fn write<T>(
        &self,
        f: impl FnOnce(&Transaction<'_>, f64) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| self.err(e))?;
        let t = now();
        let out = f(&tx, t)?;
        tx.execute("UPDATE experiment SET updated = ?1 WHERE id = 1", [t])
            .map_err(|e| self.err(e))?;
        tx.commit().map_err(|e| self.err(e))?;
        Ok(out)
    }

    fn status_of(&self, tx: &Transaction<'_>, id: TrialId) -> Result<TrialStatus, StoreError> {
        let s: Option<String> = tx
            .query_row("SELECT status FROM trials WHERE id = ?1", [id.0 as i64], |r| r.get(0))
            .optional()
            .map_err(|e| self.err(e))?;
        let s = s.ok_or(StoreError::NoTrial { path: self.path.clone(), id })?;
        TrialStatus::parse(&s).ok_or_else(|| self.corrupt(format!("trial {id} has status `{s}`")))
    }

    fn refuse(&self, id: TrialId, status: TrialStatus, action: &'static str) -> StoreError {
        StoreError::State { path: self.path.clone(), id, status, action }
    }

    /// The experiment's own row.
    pub fn info(&self) -> Result<ExperimentInfo, StoreError> {
        let conn = self.lock();
        let row = conn
            .query_row("SELECT command, config, space_path, space_hash, created, updated, status FROM experiment WHERE id = 1", [], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get::<_, String>(6)?))
            })
            .optional()
            .map_err(|e| self.err(e))?;
        let (command, config, space_path, space_hash, created, updated, status) =
            row.ok_or_else(|| self.corrupt("the experiment row is missing"))?;
        let config = serde_json::from_str(&config)
            .map_err(|e| self.corrupt(format!("the configuration is not JSON: {e}")))?;
        let status = ExperimentStatus::parse(&status)
            .ok_or_else(|| self.corrupt(format!("experiment status `{status}`")))?;
        let reason = conn
            .query_row("SELECT reason FROM status_reason WHERE id = 1", [], |r| r.get(0))
            .optional()
            .map_err(|e| self.err(e))?;
        Ok(ExperimentInfo {
            command,
            config,
            space_path,
            space_hash,
            created,
            updated,
            status,
            reason,
        })
    }

    /// The configuration given to [`Store::create`].
    pub fn config(&self) -> Result<serde_json::Value, StoreError> {
        Ok(self.info()?.config)
    }

    /// The command line given to [`Store::create`].
    pub fn command(&self) -> Result<String, StoreError> {
        Ok(self.info()?.command)
    }

    /// The space file's path given to [`Store::create`].
    pub fn space_path(&self) -> Result<String, StoreError> {
        Ok(self.info()?.space_path)
    }

    /// [`hash_space`] of the space text given to [`Store::create`].
    pub fn space_hash(&self) -> Result<String, StoreError> {
        Ok(self.info()?.space_hash)
    }

    /// Replaces the configuration given to [`Store::create`] (a resumed search given a new
    /// trial budget records it).
    ///
    /// Errors: a configuration that cannot be written as JSON, the database failing.
    pub fn set_config(&self, config: &serde_json::Value) -> Result<(), StoreError> {
        let text = serde_json::to_string(config)
            .map_err(|e| self.invalid(format!("configuration: {e}")))?;
        self.write(|tx, _| {
            tx.execute("UPDATE experiment SET config = ?1 WHERE id = 1", [text.as_str()])
                .map_err(|e| self.err(e))?;
            Ok(())
        })
    }

    /// Sets the experiment's status (and forgets the reason of an earlier failure).
    pub fn set_status(&self, status: ExperimentStatus) -> Result<(), StoreError> {
        self.write(|tx, _| {
            tx.execute("UPDATE experiment SET status = ?1 WHERE id = 1", [status.as_str()])
                .map_err(|e| self.err(e))?;
            tx.execute("DELETE FROM status_reason", []).map_err(|e| self.err(e))?;
            Ok(())
        })
    }

    /// Marks the experiment `failed`, recording why (shown by `nasc runs`).
    pub fn set_failed(&self, reason: &str) -> Result<(), StoreError> {
        self.write(|tx, _| {
            tx.execute("UPDATE experiment SET status = 'failed' WHERE id = 1", [])
                .map_err(|e| self.err(e))?;
            tx.execute(
                "INSERT OR REPLACE INTO status_reason (id, reason) VALUES (1, ?1)",
                [reason],
            )
            .map_err(|e| self.err(e))?;
            Ok(())
        })
    }

    /// Records a trial the strategy proposed: a `waiting` trial and its `ask` event, in one
    /// transaction. `arch_json` must be a JSON object (NNI's flat format). Returns its id.
    pub fn ask(&self, arch_json: &str, params: u64, flops: u64) -> Result<TrialId, StoreError> {
        match serde_json::from_str::<serde_json::Value>(arch_json) {
            Ok(serde_json::Value::Object(_)) => {}
            Ok(_) => return Err(self.invalid("an architecture must be a JSON object")),
            Err(e) => return Err(self.invalid(format!("an architecture is not JSON: {e}"))),
        }
        let count = |what: &str, n: u64| {
            i64::try_from(n).map_err(|_| self.invalid(format!("{what} {n} is too large to store")))
        };
        let (params, flops) =
            (count("a parameter count of", params)?, count("a FLOP count of", flops)?);
        self.write(|tx, t| {
            tx.execute(
                "INSERT INTO trials (arch, status, params, flops) VALUES (?1, 'waiting', ?2, ?3)",
                params![arch_json, params, flops],
            )
            .map_err(|e| self.err(e))?;
            let id = tx.last_insert_rowid();
            tx.execute(
                "INSERT INTO events (kind, trial, time) VALUES ('ask', ?1, ?2)",
                params![id, t],
            )
            .map_err(|e| self.err(e))?;
            Ok(TrialId(id as u64))
        })
    }

    /// Marks a trial `running`: stamps its start time, counts the attempt, and clears what an
    /// earlier attempt recorded (its epochs). Refuses a finished trial.
    pub fn start(&self, id: TrialId) -> Result<(), StoreError> {
        self.write(|tx, t| {
            let status = self.status_of(tx, id)?;
            if status.is_finished() {
                return Err(self.refuse(id, status, "start"));
            }
            tx.execute("DELETE FROM epochs WHERE trial = ?1", [id.0 as i64]).map_err(|e| self.err(e))?;
            tx.execute(
                "UPDATE trials SET status = 'running', started = ?2, finished = NULL, duration = NULL, error = NULL, metric = NULL, attempts = attempts + 1 WHERE id = ?1",
                params![id.0 as i64, t],
            )
            .map_err(|e| self.err(e))?;
            Ok(())
        })
    }

    /// Records one epoch of a running trial (replacing an earlier record of the same epoch).
    pub fn epoch(&self, id: TrialId, m: &EpochRecord) -> Result<(), StoreError> {
        self.write(|tx, _| {
            let status = self.status_of(tx, id)?;
            if status != TrialStatus::Running {
                return Err(self.refuse(id, status, "record an epoch"));
            }
            tx.execute(
                "INSERT OR REPLACE INTO epochs (trial, epoch, train_loss, val_loss, val_metric, lr, seconds) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    id.0 as i64,
                    m.epoch,
                    finite_or_null(m.train_loss),
                    m.val_loss.and_then(finite_or_null),
                    m.val_metric.and_then(finite_or_null),
                    finite_or_null(m.lr),
                    finite_or_null(m.seconds)
                ],
            )
            .map_err(|e| self.err(e))?;
            Ok(())
        })
    }

    /// Finishes a trial with its final metric (NaN is refused: record a diverged trial with
    /// [`Store::fail`]), and logs the `tell`, in one transaction. Refuses a trial already
    /// finished, so the strategy is told each result exactly once.
    pub fn succeed(&self, id: TrialId, metric: f64, duration: f64) -> Result<(), StoreError> {
        if metric.is_nan() {
            return Err(self.invalid(format!(
                "trial {id}: the metric is NaN; record the trial as failed instead"
            )));
        }
        self.finish(id, Some(metric), None, duration, "succeed")
    }

    /// Finishes a trial as failed, keeping `error`, and logs a `tell` with no metric, in one
    /// transaction. Refuses a trial already finished.
    pub fn fail(&self, id: TrialId, error: &str, duration: f64) -> Result<(), StoreError> {
        self.finish(id, None, Some(error), duration, "fail")
    }

    fn finish(
        &self,
        id: TrialId,
        metric: Option<f64>,
        error: Option<&str>,
        duration: f64,
        action: &'static str,
    ) -> Result<(), StoreError> {
        self.write(|tx, t| {
            let status = self.status_of(tx, id)?;
            if status.is_finished() {
                return Err(self.refuse(id, status, action));
            }
            let new = if metric.is_some() { TrialStatus::Succeeded } else { TrialStatus::Failed };
            tx.execute(
                "UPDATE trials SET status = ?2, metric = ?3, error = ?4, finished = ?5, duration = ?6 WHERE id = ?1",
                params![id.0 as i64, new.as_str(), metric, error, t, finite_or_null(duration)],
            )
            .map_err(|e| self.err(e))?;
            tx.execute("INSERT INTO events (kind, trial, metric, time) VALUES ('tell', ?1, ?2, ?3)", params![id.0 as i64, metric, t])
                .map_err(|e| self.err(e))?;
            Ok(())
        })
    }

    fn query_trials(
        &self,
        filter: &str,
        args: &[&dyn rusqlite::ToSql],
    ) -> Result<Vec<TrialRecord>, StoreError> {
        let raw: Vec<RawTrial> = {
            let conn = self.lock();
            let mut stmt = conn
                .prepare(&format!("SELECT {TRIAL_COLUMNS} FROM trials {filter}"))
                .map_err(|e| self.err(e))?;
            let rows = stmt.query_map(args, raw_trial).map_err(|e| self.err(e))?;
            rows.collect::<rusqlite::Result<_>>().map_err(|e| self.err(e))?
        };
        raw.into_iter().map(|r| self.trial_of(r)).collect()
    }

    fn trial_of(&self, r: RawTrial) -> Result<TrialRecord, StoreError> {
        let (id, arch, status, metric, params, flops, started, finished, duration, error, attempts) =
            r;
        let status = TrialStatus::parse(&status)
            .ok_or_else(|| self.corrupt(format!("trial {id} has status `{status}`")))?;
        let count = |what: &str, n: i64| {
            u64::try_from(n).map_err(|_| self.corrupt(format!("trial {id} has {what} {n}")))
        };
        Ok(TrialRecord {
            id: TrialId(count("id", id)?),
            arch,
            status,
            metric,
            params: count("params", params)?,
            flops: count("flops", flops)?,
            started,
            finished,
            duration,
            error,
            attempts: u32::try_from(attempts)
                .map_err(|_| self.corrupt(format!("trial {id} has {attempts} attempts")))?,
        })
    }

    /// Every trial, in id (ask) order.
    pub fn trials(&self) -> Result<Vec<TrialRecord>, StoreError> {
        self.query_trials("ORDER BY id", &[])
    }

    /// One trial.
    pub fn trial(&self, id: TrialId) -> Result<TrialRecord, StoreError> {
        self.query_trials("WHERE id = ?1", &[&(id.0 as i64)])?
            .pop()
            .ok_or(StoreError::NoTrial { path: self.path.clone(), id })
    }

    /// The trials asked for but never finished (`waiting` or `running`), in id order: after a
    /// crash these are rerun (with [`Store::start`]), not asked for again.
    pub fn unfinished(&self) -> Result<Vec<TrialRecord>, StoreError> {
        self.query_trials("WHERE status IN ('waiting', 'running') ORDER BY id", &[])
    }

    /// The succeeded trial with the highest metric (`maximize`) or the lowest; the earliest
    /// on a tie. `None` before any trial succeeded.
    pub fn best(&self, maximize: bool) -> Result<Option<TrialRecord>, StoreError> {
        let order = if maximize { "DESC" } else { "ASC" };
        Ok(self.query_trials(&format!("WHERE status = 'succeeded' AND metric IS NOT NULL ORDER BY metric {order}, id LIMIT 1"), &[])?.pop())
    }

    /// The epochs recorded for a trial's current (last) attempt, in epoch order.
    pub fn epochs(&self, id: TrialId) -> Result<Vec<EpochRecord>, StoreError> {
        let conn = self.lock();
        let mut stmt =
            conn.prepare("SELECT epoch, train_loss, val_loss, val_metric, lr, seconds FROM epochs WHERE trial = ?1 ORDER BY epoch").map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([id.0 as i64], |r| {
                let nan = |x: Option<f64>| x.unwrap_or(f64::NAN);
                Ok(EpochRecord {
                    epoch: r.get(0)?,
                    train_loss: nan(r.get(1)?),
                    val_loss: r.get(2)?,
                    val_metric: r.get(3)?,
                    lr: nan(r.get(4)?),
                    seconds: nan(r.get(5)?),
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>().map_err(|e| self.err(e))
    }

    /// The epochs of every trial's current (last) attempt, as `(trial, epoch)`, in trial then
    /// epoch order: [`Store::epochs`] of all trials in one query (for a report of many trials).
    pub fn all_epochs(&self) -> Result<Vec<(TrialId, EpochRecord)>, StoreError> {
        let conn = self.lock();
        let mut stmt =
            conn.prepare("SELECT trial, epoch, train_loss, val_loss, val_metric, lr, seconds FROM epochs ORDER BY trial, epoch").map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| {
                let nan = |x: Option<f64>| x.unwrap_or(f64::NAN);
                let trial: i64 = r.get(0)?;
                Ok((
                    TrialId(trial.max(0) as u64),
                    EpochRecord {
                        epoch: r.get(1)?,
                        train_loss: nan(r.get(2)?),
                        val_loss: r.get(3)?,
                        val_metric: r.get(4)?,
                        lr: nan(r.get(5)?),
                        seconds: nan(r.get(6)?),
                    },
                ))
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>().map_err(|e| self.err(e))
    }

    /// The event log, in the order the events happened.
    pub fn events(&self) -> Result<Vec<Event>, StoreError> {
        let raw: Vec<(i64, String, i64, Option<f64>, f64)> = {
            let conn = self.lock();
            let mut stmt = conn
                .prepare("SELECT seq, kind, trial, metric, time FROM events ORDER BY seq")
                .map_err(|e| self.err(e))?;
            let rows = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
                .map_err(|e| self.err(e))?;
            rows.collect::<rusqlite::Result<_>>().map_err(|e| self.err(e))?
        };
        raw.into_iter()
            .map(|(seq, kind, trial, metric, time)| {
                let kind = match kind.as_str() {
                    "ask" => EventKind::Ask,
                    "tell" => EventKind::Tell { metric },
                    other => return Err(self.corrupt(format!("event {seq} has kind `{other}`"))),
                };
                let n = |x: i64| {
                    u64::try_from(x)
                        .map_err(|_| self.corrupt(format!("event {seq} has a negative number")))
                };
                Ok(Event { seq: n(seq)?, trial: TrialId(n(trial)?), kind, time })
            })
            .collect()
    }

    /// Records one epoch of a one-shot strategy's supernet and the probability of every
    /// candidate of every label at its end (`(label, candidate, probability)` triples), in one
    /// transaction. A rerun epoch replaces the earlier record, its probabilities included (a
    /// candidate missing from the new list is dropped). NaN losses, rates and times are stored
    /// as `NULL`; a probability that is not finite is refused.
    pub fn supernet_epoch(
        &self,
        e: &SupernetEpoch,
        probabilities: &[(String, String, f64)],
    ) -> Result<(), StoreError> {
        if let Some((label, candidate, p)) = probabilities.iter().find(|(_, _, p)| !p.is_finite()) {
            return Err(self.invalid(format!(
                "supernet epoch {}: the probability of `{candidate}` for `{label}` is {p}",
                e.epoch
            )));
        }
        self.write(|tx, _| {
            tx.execute(
                "INSERT OR REPLACE INTO supernet_epochs (epoch, train_loss, val_loss, val_metric, arch_loss, lr, seconds) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    e.epoch,
                    finite_or_null(e.train_loss),
                    e.val_loss.and_then(finite_or_null),
                    e.val_metric.and_then(finite_or_null),
                    e.arch_loss.and_then(finite_or_null),
                    finite_or_null(e.lr),
                    finite_or_null(e.seconds)
                ],
            )
            .map_err(|e| self.err(e))?;
            tx.execute("DELETE FROM probabilities WHERE epoch = ?1", [e.epoch]).map_err(|e| self.err(e))?;
            let mut stmt = tx
                .prepare_cached("INSERT OR REPLACE INTO probabilities (epoch, label, candidate, probability) VALUES (?1, ?2, ?3, ?4)")
                .map_err(|e| self.err(e))?;
            for (label, candidate, p) in probabilities {
                stmt.execute(params![e.epoch, label, candidate, p]).map_err(|e| self.err(e))?;
            }
            Ok(())
        })
    }

    /// Drops the trials after `last` (every trial for `None`), with their epochs and events: what
    /// the export of a one-shot search recorded before it was interrupted, which a resumed search
    /// runs again. Returns how many trials were dropped.
    ///
    /// Errors: the store failed (nothing is dropped then).
    pub fn discard_trials_after(&self, last: Option<TrialId>) -> Result<usize, StoreError> {
        let after = last.map_or(0, |t| t.0 as i64);
        self.write(|tx, _| {
            tx.execute("DELETE FROM events WHERE trial > ?1", [after]).map_err(|e| self.err(e))?;
            tx.execute("DELETE FROM epochs WHERE trial > ?1", [after]).map_err(|e| self.err(e))?;
            tx.execute("DELETE FROM trials WHERE id > ?1", [after]).map_err(|e| self.err(e))
        })
    }

    /// The supernet's epochs, in epoch order (empty for a multi-trial search).
    pub fn supernet_epochs(&self) -> Result<Vec<SupernetEpoch>, StoreError> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare("SELECT epoch, train_loss, val_loss, val_metric, arch_loss, lr, seconds FROM supernet_epochs ORDER BY epoch")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| {
                let nan = |x: Option<f64>| x.unwrap_or(f64::NAN);
                Ok(SupernetEpoch {
                    epoch: r.get(0)?,
                    train_loss: nan(r.get(1)?),
                    val_loss: r.get(2)?,
                    val_metric: r.get(3)?,
                    arch_loss: r.get(4)?,
                    lr: nan(r.get(5)?),
                    seconds: nan(r.get(6)?),
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>().map_err(|e| self.err(e))
    }

    /// Every recorded candidate probability as `(epoch, label, candidate, probability)`,
    /// ordered by epoch, then label, then candidate.
    pub fn probabilities(&self) -> Result<Vec<(u32, String, String, f64)>, StoreError> {
        let conn = self.lock();
        let mut stmt =
            conn.prepare("SELECT epoch, label, candidate, probability FROM probabilities ORDER BY epoch, label, candidate").map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>().map_err(|e| self.err(e))
    }
}
