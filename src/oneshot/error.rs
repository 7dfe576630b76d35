//! Why a one-shot search stops.

use super::settings::SettingsError;
use crate::experiment::StoreError;
use crate::runtime::RuntimeError;

/// Why a one-shot search stopped.
#[derive(Debug, thiserror::Error)]
pub enum OneShotError {
    /// A setting is out of range.
    #[error("{0}")]
    Settings(#[from] SettingsError),
    /// Training failed (a diverged loss, data that does not fit, a bad setting).
    #[error("{0}")]
    Runtime(#[from] RuntimeError),
    /// The experiment store failed.
    #[error("{0}")]
    Store(#[from] StoreError),
}
