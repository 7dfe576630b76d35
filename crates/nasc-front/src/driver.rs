//! The front-end pipeline, written once: load and resolve a file, type-check it into the IR,
//! compute the facts of its networks (E0113 for a space no architecture satisfies), and
//! optionally lower it for a one-shot strategy and validate an architecture against its first
//! network. Every user of the front end calls [`compile`]: `nasc check` and the other commands,
//! the language server, the golden and robustness tests, the fuzz target and the benches, so
//! that what is tested is what `nasc check` does.
//!
//! The order is fixed, and each stage runs only when the one before it allows:
//! 1. load and resolve names ([`resolve`]): a [`ReadError`] when the root file cannot be read,
//!    otherwise located errors rendered as diagnostics;
//! 2. the type stage ([`check`]), only when resolution found no error;
//! 3. the facts of every network that type-checked ([`facts::facts_all`]), when asked for;
//!    E0113 for each network whose constraints no architecture meets;
//! 4. lowering for a one-shot strategy ([`lower::lower`]), when asked for (E0401);
//! 5. an architecture (NNI's flat JSON) against the file's first network, when given.
//!
//! Diagnostics come out in that order, each stage's in source order.

use crate::arch::{self, Architecture};
use crate::check::{self, TypeAt};
use crate::diagnostics::{wording, Diagnostic};
use crate::facts::{self, Facts};
use crate::ir::{Graph, Measure};
use crate::lower::{self, OneShotKind};
use crate::resolve::{self, Program, ReadError};
use crate::source::{FileId, Origin, SourceFile};
use crate::syntax::parser::ParseCache;
use std::path::Path;

/// The root file of a compilation.
#[derive(Debug, Clone, Copy)]
pub enum Input<'a> {
    /// A file on disk, read by the driver (a [`ReadError`] if it cannot be).
    Path(&'a Path),
    /// A file's bytes (an editor buffer, a test), named `name`; relative imports resolve
    /// next to `origin` when it is on disk.
    Bytes {
        /// The name diagnostics show.
        name: &'a str,
        /// Where the bytes came from.
        origin: &'a Origin,
        /// The content, UTF-8 or not (invalid UTF-8 is a diagnostic).
        bytes: &'a [u8],
    },
}

/// An architecture to validate (`nasc check --arch`).
#[derive(Debug, Clone, Copy)]
pub enum ArchInput<'a> {
    /// A JSON file on disk (a [`ReadError`] if it cannot be read).
    Path(&'a Path),
    /// JSON text, named `name` in diagnostics.
    Text {
        /// The name diagnostics show.
        name: &'a str,
        /// The JSON.
        text: &'a str,
    },
}

/// What to compute beyond names and types.
#[derive(Default)]
pub struct Options<'a> {
    /// Record the type of every expression elaborated (hover, `nasc check` does not).
    pub types: bool,
    /// Compute the facts of every network (counts, cost ranges, satisfiability) and report
    /// E0113 for an unsatisfiable space.
    pub facts: bool,
    /// Lower every network for this one-shot strategy and report what it cannot take (E0401).
    pub strategy: Option<OneShotKind>,
    /// Validate this architecture against the file's first network and cost it.
    pub arch: Option<ArchInput<'a>>,
    /// Reuse (and refill) the parsed items of an earlier compilation (the language server's
    /// per-document cache); the result is the same without it.
    pub cache: Option<&'a mut ParseCache>,
}

/// An architecture checked against the file's first network.
#[derive(Debug, Clone, PartialEq)]
pub enum ArchReport {
    /// The file declares no network (nothing to check the architecture against).
    NoNetwork,
    /// The first network did not type-check; its errors are among the diagnostics.
    NetworkFailed,
    /// The architecture is not one of the network's; its errors are among the diagnostics,
    /// in the architecture file.
    Invalid,
    /// A valid architecture whose cost could not be computed (an arithmetic problem of the
    /// space, such as an overflow).
    Uncostable {
        /// The network.
        network: String,
        /// Why, in words.
        reason: String,
    },
    /// A valid architecture and its cost.
    Costed {
        /// The network.
        network: String,
        /// Parameters.
        params: u64,
        /// Multiply-accumulates of one item (FLOPs as NAS papers count them).
        flops: u64,
        /// Whether it meets every constraint of the network.
        meets_constraints: bool,
    },
}

/// Everything the front end learns about a file.
pub struct Compiled {
    /// The loaded files (the root first, then what it imports, then an architecture file).
    pub program: Program,
    /// Every diagnostic, in the order of the stages, each stage's in source order.
    pub diagnostics: Vec<Diagnostic>,
    /// The IR of every network that type-checked, in the file's order.
    pub graphs: Vec<Graph>,
    /// The facts of each graph (same order), when [`Options::facts`] was set; empty otherwise.
    pub facts: Vec<Facts>,
    /// The type of every expression elaborated, when [`Options::types`] was set.
    pub types: Vec<TypeAt>,
    /// Whether the type stage ran (it does only when resolution found no error).
    pub typed: bool,
    /// The architecture's outcome, when [`Options::arch`] was set.
    pub arch: Option<ArchReport>,
}

impl std::fmt::Debug for Compiled {
    /// The diagnostics' codes and the networks' names (the program and the IR are large).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Compiled")
            .field("diagnostics", &self.diagnostics.iter().map(|d| d.code).collect::<Vec<_>>())
            .field("networks", &self.graphs.iter().map(|g| &g.name).collect::<Vec<_>>())
            .field("typed", &self.typed)
            .field("arch", &self.arch)
            .finish_non_exhaustive()
    }
}

impl Compiled {
    /// The root file.
    pub fn root(&self) -> FileId {
        self.program.modules[0].file
    }

    /// Whether any stage reported an error.
    pub fn has_errors(&self) -> bool {
        !self.diagnostics.is_empty()
    }
}

/// Runs the front end on `input` (see the module documentation for the stages).
///
/// Errors: a [`ReadError`] when the root file, or the architecture file, cannot be read;
/// everything wrong inside them is a diagnostic of the result.
pub fn compile(input: Input<'_>, options: Options<'_>) -> Result<Compiled, ReadError> {
    let Options { types: with_types, facts: with_facts, strategy, arch: arch_input, cache } =
        options;
    let (mut program, mut diagnostics) = load(input, cache)?;
    let arch_text = match arch_input {
        Some(ArchInput::Path(p)) => {
            Some((p.display().to_string(), Origin::Disk(p.into()), read(p)?))
        }
        Some(ArchInput::Text { name, text }) => Some((name.into(), Origin::Memory, text.into())),
        None => None,
    };
    let typed = diagnostics.is_empty();
    let (mut graphs, mut types) = (Vec::new(), Vec::new());
    if typed {
        let (g, errors, t) = if with_types {
            check::check_program_with_types(&program)
        } else {
            let (g, e) = check::check_program(&program);
            (g, e, Vec::new())
        };
        diagnostics.extend(errors.iter().map(wording::type_error));
        (graphs, types) = (g, t);
    }
    let facts = if with_facts { facts::facts_all(&graphs) } else { Vec::new() };
    diagnostics.extend(unsatisfiable_of(&graphs, &facts));
    if let Some(kind) = strategy {
        for g in &graphs {
            if let Err(errors) = lower::lower(g, kind) {
                diagnostics.extend(errors.iter().map(wording::lower_error));
            }
        }
    }
    let arch = arch_text.map(|(name, origin, text)| {
        let id = program.sources.add(SourceFile::new(name, origin, text.clone()));
        check_arch(&program, &graphs, id, &text, &mut diagnostics)
    });
    Ok(Compiled { program, diagnostics, graphs, facts, types, typed, arch })
}

/// The networks of a file that must compile clean (names and types; no facts), for callers
/// that have no use for diagnostics beyond showing them: tests, benches, the NAS-Bench-201
/// space. In the file's order.
///
/// Errors: the [`ReadError`]'s sentence, or every diagnostic rendered as plain text.
pub fn graphs(input: Input<'_>) -> Result<Vec<Graph>, String> {
    let c = compile(input, Options::default()).map_err(|e| e.to_string())?;
    if c.has_errors() {
        return Err(crate::diagnostics::render_plain(&c.diagnostics, &c.program.sources));
    }
    Ok(c.graphs)
}

/// [`graphs`] of source text held in memory, named `name` (imports of the standard library
/// only).
///
/// Errors: every diagnostic rendered as plain text.
pub fn graphs_of_text(name: &str, text: &str) -> Result<Vec<Graph>, String> {
    graphs(Input::Bytes { name, origin: &Origin::Memory, bytes: text.as_bytes() })
}

/// The first stage alone: loads and resolves `input`, with the resolution errors as
/// diagnostics (`nasc ast` stops here).
///
/// Errors: a [`ReadError`] when a root file on disk cannot be read.
pub fn load(
    input: Input<'_>,
    cache: Option<&mut ParseCache>,
) -> Result<(Program, Vec<Diagnostic>), ReadError> {
    let (program, errors) = match (input, cache) {
        (Input::Path(p), cache) => {
            let bytes = read_bytes(p)?;
            load_bytes(&p.display().to_string(), &Origin::Disk(p.into()), &bytes, cache)
        }
        (Input::Bytes { name, origin, bytes }, cache) => load_bytes(name, origin, bytes, cache),
    };
    let diagnostics = errors.iter().map(wording::resolve_error).collect();
    Ok((program, diagnostics))
}

/// The third stage alone, for a caller that deferred the facts (the language server computes
/// them when idle): E0113 for each of `graphs` whose constraints no architecture meets. Only
/// the networks with constraints are costed.
pub fn unsatisfiable<'g>(graphs: impl IntoIterator<Item = &'g Graph>) -> Vec<Diagnostic> {
    let unsat = graphs
        .into_iter()
        .filter(|g| !g.constraints.is_empty() && facts::facts(g).satisfiable == Some(false));
    unsat.filter_map(wording::unsatisfiable).collect()
}

fn unsatisfiable_of(graphs: &[Graph], facts: &[Facts]) -> Vec<Diagnostic> {
    let unsat = graphs.iter().zip(facts).filter(|(_, f)| f.satisfiable == Some(false));
    unsat.filter_map(|(g, _)| wording::unsatisfiable(g)).collect()
}

/// The type of every expression of `file` that elaboration reached, one per instance (the
/// type stage run again, recording; for hover). Call only on a program that resolved without
/// errors, as [`compile`] does.
pub fn types_in(program: &Program, file: FileId) -> Vec<TypeAt> {
    check::check_program_with_types_in(program, Some(file)).2
}

fn load_bytes(
    name: &str,
    origin: &Origin,
    bytes: &[u8],
    cache: Option<&mut ParseCache>,
) -> (Program, Vec<resolve::Located>) {
    match cache {
        Some(cache) => {
            let r = resolve::load_bytes_cached(name, origin.clone(), bytes, cache);
            cache.sweep();
            r
        }
        None => resolve::load_bytes(name, origin.clone(), bytes),
    }
}

fn read_bytes(path: &Path) -> Result<Vec<u8>, ReadError> {
    std::fs::read(path).map_err(|source| ReadError { path: path.display().to_string(), source })
}

/// An architecture file's text (invalid UTF-8 replaced: the JSON reader reports it).
fn read(path: &Path) -> Result<String, ReadError> {
    read_bytes(path).map(|b| String::from_utf8_lossy(&b).into_owned())
}

/// Checks an architecture (file `id`, text `text`) against the file's first network, as
/// `train`, `search` and `sample` take it.
fn check_arch(
    program: &Program,
    graphs: &[Graph],
    id: FileId,
    text: &str,
    diagnostics: &mut Vec<Diagnostic>,
) -> ArchReport {
    let Some(first) = check::networks(program).next().map(|(_, b)| b.name.name.as_str()) else {
        return ArchReport::NoNetwork;
    };
    // When the first network did not check, its errors are already reported; the next
    // network is not a stand-in for it.
    let Some(g) = graphs.first().filter(|g| g.name == first) else {
        return ArchReport::NetworkFailed;
    };
    match Architecture::from_json(g, text) {
        Err(errors) => {
            diagnostics.extend(wording::arch_errors(id, text, &errors));
            ArchReport::Invalid
        }
        Ok(a) => match arch::cost(g, &a) {
            Ok((params, flops)) => ArchReport::Costed {
                network: g.name.clone(),
                params,
                flops,
                meets_constraints: g.constraints.iter().all(|c| {
                    c.holds(if c.measure == Measure::Params { params as f64 } else { flops as f64 })
                }),
            },
            Err(e) => ArchReport::Uncostable { network: g.name.clone(), reason: e.to_string() },
        },
    }
}
