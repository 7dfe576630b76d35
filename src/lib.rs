//! nasc: a compiler and search engine for neural architecture search (NAS) model spaces.
//!
//! Stages, each a module with one job, data flowing one way:
//! [`syntax`] (text to AST) -> [`resolve`] (modules, imports and names) -> [`check`] (types,
//! the [`ir`]) -> [`facts`] and [`arch`] (architectures, `fix`) -> [`lower`] (supernets for
//! one-shot search) -> [`runtime`] (burn modules, training) -> [`strategy`] (multi-trial),
//! [`oneshot`] (one-shot) -> [`experiment`] (the store, the search loop). [`diagnostics`]
//! renders every stage's typed errors in one place; [`cli`] is the `nasc` command. Only
//! [`runtime`] and [`oneshot`] use burn.

pub mod arch;
pub mod check;
pub mod cli;
pub mod count;
pub mod data;
pub mod diagnostics;
pub mod driver;
pub mod experiment;
pub mod facts;
pub mod ir;
pub mod lower;
pub mod lsp;
pub mod oneshot;
pub mod pool;
pub mod resolve;
pub mod runtime;
pub mod source;
pub mod stdlib;
pub mod strategy;
pub mod syntax;
