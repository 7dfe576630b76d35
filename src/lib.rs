//! nasc: a compiler and search engine for neural architecture search (NAS) model spaces.
//!
//! This crate is the part that trains and searches: [`runtime`] (burn modules, training) ->
//! [`strategy`] (multi-trial), [`oneshot`] (one-shot) -> [`experiment`] (the store, the search
//! loop), [`export`] (a trained network as an ONNX model), and [`cli`], the `nasc` command. It sits on the burn-free front end, crate
//! `nasc-front` (re-exported here under the same module names: [`syntax`] -> [`resolve`] ->
//! [`check`] -> [`ir`] -> [`facts`], [`arch`] -> [`lower`], with [`driver`] and
//! [`diagnostics`]), and on the language server, crate `nasc-lsp` ([`lsp`]). Only [`runtime`]
//! and [`oneshot`] use burn. ARCHITECTURE.md at the repository's root says what each may import.

pub use nasc_front::{
    arch, check, count, diagnostics, driver, facts, ir, lower, pool, resolve, source, stdlib,
    syntax,
};
pub use nasc_lsp as lsp;

pub mod cli;
pub mod data;
pub mod experiment;
pub mod export;
pub mod launch;
pub mod oneshot;
pub mod report;
pub mod runtime;
pub mod strategy;
