//! Experiments: a multi-trial search's record on disk, in NNI's vocabulary (an *experiment*
//! runs *trials*, each training one *architecture* that a *strategy* proposed, and reports its
//! final *metric*).
//!
//! [`store`] keeps one experiment in a directory around an SQLite database: the command and
//! configuration, every trial and its per-epoch metrics, and the log of the strategy's asks
//! and tells from which a resumed search rebuilds the strategy. [`nb201`] runs the strategies
//! against the NAS-Bench-201 table instead of training (Dong & Yang 2020).

pub mod nb201;
pub mod search;
pub mod store;

pub use store::{
    hash_space, EpochRecord, Event, EventKind, ExperimentInfo, ExperimentStatus, Store, StoreError,
    SupernetEpoch, TrialId, TrialRecord, TrialStatus, DB_FILE, SCHEMA_VERSION,
};
