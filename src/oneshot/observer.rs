//! What a one-shot search reports while it runs.

use crate::experiment::SupernetEpoch;

/// Progress of a one-shot search.
pub trait OneShotObserver {
    /// Training starts: `epochs` epochs of `steps` weight steps.
    fn start(&mut self, epochs: usize, steps: usize);
    /// A weight step finished with this training loss.
    fn step(&mut self, epoch: usize, step: usize, loss: f64);
    /// An epoch finished.
    fn epoch(&mut self, e: &SupernetEpoch);
    /// A phase without steps began (the controller's training, the evolution).
    fn phase(&mut self, message: &str);
    /// The search over the trained supernet scored candidate `scored` of `total` (SPOS's
    /// evolution, ENAS's top-k), with this validation metric.
    fn candidate(&mut self, _scored: usize, _total: usize, _metric: f64) {}
}

/// An observer that reports nothing.
pub struct QuietOneShot;

impl OneShotObserver for QuietOneShot {
    fn start(&mut self, _: usize, _: usize) {}
    fn step(&mut self, _: usize, _: usize, _: f64) {}
    fn epoch(&mut self, _: &SupernetEpoch) {}
    fn phase(&mut self, _: &str) {}
}
