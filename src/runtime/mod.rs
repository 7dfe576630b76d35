//! The runtime: the only module of nasc that uses burn (pinned to 0.22.1). It builds a burn
//! module from a [`crate::arch::FixedGraph`] ([`network`]), feeds it data through burn's
//! dataset and data-loader API ([`loader`]) and trains and evaluates it ([`train`]). It also
//! holds the LSTM policy of the `ppo` search strategy ([`controller`]).
//!
//! The backend is chosen at run time from the device (burn 0.22 dispatches on [`Device`]):
//! Flex, burn's pure-Rust CPU backend, by default; Wgpu when nasc is built with the `wgpu`
//! feature and run with `--device wgpu`.

pub mod controller;
pub mod loader;
pub mod network;
pub(crate) mod ops;
pub mod supernet;
pub mod train;

pub use burn::tensor::Device;
pub use network::{Network, Value};

use crate::diagnostics::wording::RunFailure;
use crate::source::Loc;

/// The devices a network can run on.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum DeviceKind {
    /// Flex, burn's pure-Rust CPU backend (the default).
    Flex,
    /// burn's Wgpu backend (WGSL shaders): a GPU, or a software Vulkan driver. Needs nasc built
    /// with `--features wgpu`.
    Wgpu,
}

impl DeviceKind {
    /// The burn device, without autodiff (for inference); call `.autodiff()` to train.
    ///
    /// Errors: [`RuntimeError::Device`] when this build of nasc lacks the backend.
    pub fn device(self) -> Result<Device, RuntimeError> {
        match self {
            DeviceKind::Flex => Ok(Device::flex()),
            #[cfg(feature = "wgpu")]
            DeviceKind::Wgpu => Ok(Device::wgpu(burn::tensor::DeviceKind::DefaultDevice)),
            #[cfg(not(feature = "wgpu"))]
            DeviceKind::Wgpu => {
                Err(RuntimeError::Device("this nasc was built without the Wgpu backend; rebuild with `cargo install --path . --features wgpu`".into()))
            }
        }
    }
}

/// Everything that can go wrong while building, running or training a network. Every variant
/// that comes from an operator carries the `.nas` place it was written.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// An operator the runtime cannot build.
    #[error("cannot build `{op}`: {why}")]
    Unsupported {
        /// The operator.
        op: String,
        /// Where it was written.
        loc: Loc,
        /// Why.
        why: String,
    },
    /// An operator attribute that is missing or of the wrong type.
    #[error("argument `{name}` of `{op}` {problem}")]
    Attribute {
        /// The operator.
        op: String,
        /// The attribute.
        name: String,
        /// Where the operator was written.
        loc: Loc,
        /// What is wrong.
        problem: String,
    },
    /// A value of another shape than the type checker proved (usually data of the wrong size).
    #[error("`{op}` expected {expected} but got {found}")]
    Shape {
        /// The operator.
        op: String,
        /// Where it was written.
        loc: Loc,
        /// The proved shape.
        expected: String,
        /// The shape seen.
        found: String,
    },
    /// Data whose items have another shape than the network's input.
    #[error("the data's items are {found} but the network's input is {expected}")]
    DataShape {
        /// The network's input parameter.
        loc: Loc,
        /// The input shape after the batch, as the network declares it.
        expected: String,
        /// The shape of one item of the data.
        found: String,
    },
    /// The loss became NaN or infinite: the trial diverged.
    #[error("the training loss is {value} at epoch {epoch}, step {step}: training diverged (try a smaller learning rate)")]
    Diverged {
        /// The epoch, from 1.
        epoch: usize,
        /// The step within the epoch, from 1.
        step: usize,
        /// The loss value.
        value: f64,
    },
    /// The data does not fit the network or the evaluator.
    #[error("{0}")]
    Data(String),
    /// A bad training setting.
    #[error("{0}")]
    Config(String),
    /// The device is not available.
    #[error("{0}")]
    Device(String),
    /// Saving or loading weights failed.
    #[error("{path}: {message}")]
    Record {
        /// The weights file.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// burn panicked inside an operator (a bug in nasc or burn): the message is kept and the
    /// run ends with an error instead of a crash.
    #[error("internal error in the tensor library: {0}")]
    Panic(String),
    /// The run was asked to stop (Ctrl-C) and stopped at a step's end; nothing about the
    /// network is wrong.
    #[error("interrupted")]
    Interrupted,
}

impl RuntimeError {
    /// The `.nas` place the error comes from, if it comes from an operator.
    pub fn loc(&self) -> Option<Loc> {
        match self {
            RuntimeError::Unsupported { loc, .. }
            | RuntimeError::Attribute { loc, .. }
            | RuntimeError::Shape { loc, .. }
            | RuntimeError::DataShape { loc, .. } => Some(*loc),
            _ => None,
        }
    }

    /// The error as the data the diagnostics word (E0301 for data of the wrong shape, E0302 for
    /// an operator that failed), when it has a `.nas` place; `None` for errors without one
    /// (printed as plain errors).
    pub fn failure(&self) -> Option<RunFailure> {
        let loc = self.loc()?;
        Some(match self {
            RuntimeError::DataShape { expected, found, .. } => {
                RunFailure::DataShape { loc, expected: expected.clone(), found: found.clone() }
            }
            _ => RunFailure::Operator {
                loc,
                message: self.to_string(),
                at_input: matches!(self, RuntimeError::Shape { op, .. } if op == "input"),
            },
        })
    }
}
