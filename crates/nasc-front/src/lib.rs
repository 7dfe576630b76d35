//! The front end of nasc: a `.nas` model space to a checked graph IR, the facts of its
//! architectures, the plan of its one-shot supernet, and every diagnostic, with no tensor
//! library (no burn) and no training. The runtime, the search and the CLI (crate `nasc`) and the
//! language server (crate `nasc-lsp`) sit on it; ARCHITECTURE.md at the repository's root says
//! what each may import.
//!
//! Stages, each a module with one job, data flowing one way:
//! [`syntax`] (text to AST) -> [`resolve`] (modules, imports and names) -> [`check`] (types,
//! the [`ir`]) -> [`facts`] and [`arch`] (architectures, `fix`) -> [`lower`] (supernet plans
//! for one-shot search). [`driver`] is the one place the pipeline is written;
//! [`diagnostics`] renders every stage's typed errors, in one place ([`diagnostics::wording`]).

pub mod arch;
pub mod check;
pub mod count;
pub mod diagnostics;
pub mod driver;
pub mod facts;
pub mod ir;
pub mod lower;
pub mod pool;
pub mod resolve;
pub mod source;
pub mod stdlib;
pub mod syntax;

/// The repository's root (two levels above this crate), where the examples, the standard
/// library and the test inputs that the unit tests read are.
#[cfg(test)]
pub(crate) fn repo_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}
