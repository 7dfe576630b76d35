//! One-shot search: trains one weight-shared supernet ([`crate::runtime::supernet`]) of a
//! space with one of five strategies and exports the architecture it chooses, recording every
//! epoch in the experiment's store.
//!
//! - `darts` (Liu, Simonyan & Yang, "DARTS: Differentiable Architecture Search", ICLR 2019):
//!   architecture parameters alpha per label (init `1e-3 * N(0, 1)`), softmax mixing; each step
//!   an architecture step on a validation batch (Adam lr 3e-4, betas (0.5, 0.999), weight decay
//!   1e-3), then a weight step on a training batch (SGD momentum 0.9, lr 0.025 cosine to 0.001,
//!   weight decay 3e-4, gradient clipping 5); the training data split in half. First order by
//!   default; `unrolled` gives the second-order step (the paper's eq. 7 with the
//!   finite-difference Hessian-vector product of eq. 8).
//! - `gumbel-darts` (SNAS, Xie et al. 2019; GDAS, Dong & Yang 2019): the same with
//!   Gumbel-softmax mixing, the temperature annealed linearly from 1.0 to 0.33.
//! - `enas` (Pham et al., "Efficient Neural Architecture Search via Parameter Sharing", ICML
//!   2018): an LSTM controller (64 units, logits `1.5 * tanh`) samples one path per weight step;
//!   after each epoch's weight steps the controller is trained with REINFORCE on the accuracy
//!   of sampled paths on validation batches (moving-average baseline, decay 0.999; entropy
//!   bonus 1e-4; Adam lr 3.5e-4; 20 samples per update).
//! - `random-oneshot` (SPOS, Guo et al., "Single Path One-Shot Neural Architecture Search with
//!   Uniform Sampling", ECCV 2020): uniform path sampling while training, then regularized
//!   evolution over the trained supernet, each candidate scored by its validation accuracy
//!   after its batch-norm statistics are recalibrated on training batches.
//! - `proxyless` (Cai, Zhu & Han, "ProxylessNAS", ICLR 2019): binary gates; the weight step runs
//!   one path sampled from the softmax of alpha, the architecture step two sampled candidates
//!   per label with the straight-through gate gradient of the paper (section 3.2.1), Adam lr
//!   1e-3 (betas (0, 0.999)); an optional resource loss on expected FLOPs or parameters
//!   against a target, `ce * (log(E) / log(target))^0.6` (the paper's multiplicative form).
//!
//! The stages, each in its file: [`settings`] (the common settings and each strategy's own,
//! checked, parsed from `--option`, stored as JSON); `run` (the loop: batches, the weights'
//! optimizer and schedule, the store, the observer), which calls a strategy's hooks (the
//! `OneShotStrategy` trait of `strategy.rs`), one file per strategy (`darts.rs` for DARTS and
//! GumbelDARTS, `proxyless.rs`, `enas.rs`, `spos.rs`); `score.rs` (losses, figures and the
//! scores of architectures under the shared weights); [`mixing`] (alpha and the mixings built
//! from it); [`export`](mod@export) (the final choice from the probabilities).
//!
//! Like the runtime, this module uses burn.

mod checkpoint;
mod darts;
mod enas;
mod error;
pub mod export;
pub mod mixing;
mod observer;
mod proxyless;
mod run;
mod score;
pub mod settings;
mod spos;
mod strategy;

pub use checkpoint::{Checkpointing, FILE as CHECKPOINT_FILE};
pub use error::OneShotError;
pub use export::{export, probabilities};
pub use mixing::ArchParams;
pub use observer::{OneShotObserver, QuietOneShot};
pub use run::{run, run_checkpointed, OneShotSummary};
pub use settings::{
    AlphaOptimizer, CommonSettings, DartsSettings, EnasSettings, GumbelDartsSettings,
    OneShotConfig, OptionError, ProxylessSettings, SettingsError, SposSettings, StrategySettings,
};
pub use spos::spos_path;
