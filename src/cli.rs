//! The `nasc` command line: argument parsing (clap) and the subcommands.
//!
//! Exit codes: 0 when the input is clean, 1 when it has errors, 2 for a bad command line or a
//! file that cannot be read.

use crate::arch::{self, Architecture};
use crate::check;
use crate::diagnostics::{self, wording, Diagnostic};
use crate::facts;
use crate::ir::{self, Graph};
use crate::resolve::{self, Program};
use crate::syntax::ast::{walk_module, BlockKind, Depth, ExprKind, Item};
use crate::syntax::lexer;
use clap::{Parser, Subcommand, ValueEnum};
use rand::SeedableRng;
use std::path::PathBuf;
use std::process::ExitCode;

/// nasc: a compiler and search engine for neural architecture search model spaces.
#[derive(Debug, Parser)]
#[command(name = "nasc", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Output format of diagnostics.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Format {
    /// Rendered for people (codespan-reporting).
    Text,
    /// One JSON object on standard output, for tools: `{"path", "diagnostics": [...],
    /// "networks": [...], "architecture"}`.
    Json,
}

/// When to colour terminal output.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Color {
    /// When standard error is a terminal.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// Intermediate forms `nasc check --emit` prints.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Emit {
    /// The graph IR, as readable text.
    Ir,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Compile a model space: report every error, or summarise the space.
    Check {
        /// The `.nas` file.
        file: PathBuf,
        /// How to print diagnostics.
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
        /// When to use colour.
        #[arg(long, value_enum, default_value = "auto")]
        color: Color,
        /// Also print an intermediate form.
        #[arg(long, value_enum)]
        emit: Option<Emit>,
        /// Validate this architecture (NNI's flat JSON `{"label": value}`) and print its cost.
        #[arg(long)]
        arch: Option<PathBuf>,
    },
    /// Print random valid architectures of a space (one JSON object a line), respecting its
    /// constraints.
    Sample {
        /// The `.nas` file.
        file: PathBuf,
        /// Seed of the random generator (same seed, same architectures).
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// How many architectures.
        #[arg(long, default_value_t = 1)]
        count: usize,
    },
    /// Print the syntax tree of a file as JSON.
    Ast {
        /// The `.nas` file.
        file: PathBuf,
    },
    /// Print the token stream of a file (the logos lexer editors use), one token a line.
    Tokens {
        /// The `.nas` file.
        file: PathBuf,
    },
    /// Run the language server (LSP over standard input and output), for editors.
    Lsp,
}

/// Runs the command line; returns the process exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    if !matches!(cli.command, Command::Lsp) {
        restore_sigpipe();
    }
    match cli.command {
        Command::Check { file, format, color, emit, arch } => check(&file, format, color, emit, arch.as_deref()),
        Command::Sample { file, seed, count } => sample(&file, seed, count),
        Command::Ast { file } => ast(&file),
        Command::Tokens { file } => tokens(&file),
        Command::Lsp => crate::lsp::run(),
    }
}

/// Lets a closed standard output end the process quietly, as other Unix tools do
/// (`nasc check big.nas | head`): Rust ignores SIGPIPE, which turns every later `println!`
/// into a panic. The language server keeps Rust's default and sees the write error instead.
fn restore_sigpipe() {
    #[cfg(unix)]
    // SAFETY: called once at start-up, before any thread is spawned; SIG_DFL is a valid
    // disposition for SIGPIPE.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// Loads and resolves `file`, returning the program and its diagnostics in source order.
pub fn compile(file: &std::path::Path) -> Result<(Program, Vec<Diagnostic>), resolve::ReadError> {
    let (program, errors) = resolve::load_path(file)?;
    let diags = errors.iter().map(wording::resolve_error).collect();
    Ok((program, diags))
}

/// Everything `nasc check` learns about a file.
pub struct Checked {
    /// The loaded files.
    pub program: Program,
    /// Every diagnostic, in order.
    pub diagnostics: Vec<Diagnostic>,
    /// The IR of every network, when there are no errors.
    pub graphs: Vec<Graph>,
}

/// Loads, resolves and type-checks `file`.
pub fn check_file(file: &std::path::Path) -> Result<Checked, resolve::ReadError> {
    let (program, diagnostics) = compile(file)?;
    Ok(check_resolved(program, diagnostics, false).0)
}

/// Loads, resolves and type-checks a root file given as bytes (an editor buffer) named `name`;
/// relative imports resolve next to `origin` when it is on disk. Also returns the type of every
/// expression elaborated (for hover).
pub fn check_bytes(name: &str, origin: crate::source::Origin, bytes: &[u8]) -> (Checked, Vec<check::TypeAt>) {
    let (program, errors) = resolve::load_bytes(name, origin, bytes);
    let diagnostics = errors.iter().map(wording::resolve_error).collect();
    check_resolved(program, diagnostics, true)
}

/// The type stage, run only when resolution found no errors.
fn check_resolved(program: Program, mut diagnostics: Vec<Diagnostic>, with_types: bool) -> (Checked, Vec<check::TypeAt>) {
    let mut graphs = Vec::new();
    let mut types = Vec::new();
    if diagnostics.is_empty() {
        let (g, errors, t) = if with_types {
            check::check_program_with_types(&program)
        } else {
            let (g, e) = check::check_program(&program);
            (g, e, Vec::new())
        };
        diagnostics.extend(errors.iter().map(wording::type_error));
        graphs = g;
        types = t;
    }
    (Checked { program, diagnostics, graphs }, types)
}

fn color_choice(color: Color) -> codespan_reporting::term::termcolor::ColorChoice {
    use codespan_reporting::term::termcolor::ColorChoice;
    match color {
        Color::Always => ColorChoice::Always,
        Color::Never => ColorChoice::Never,
        Color::Auto if std::io::IsTerminal::is_terminal(&std::io::stderr()) => ColorChoice::Auto,
        Color::Auto => ColorChoice::Never,
    }
}

fn check(file: &std::path::Path, format: Format, color: Color, emit: Option<Emit>, arch: Option<&std::path::Path>) -> ExitCode {
    let Checked { mut program, mut diagnostics, graphs } = match check_file(file) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let facts: Vec<facts::Facts> = graphs.iter().map(facts::facts).collect();
    for (g, f) in graphs.iter().zip(&facts) {
        if f.satisfiable == Some(false) {
            diagnostics.extend(wording::unsatisfiable(g));
        }
    }
    // An architecture to validate: errors are diagnostics in the JSON file.
    let mut arch_report = None;
    if let Some(path) = arch {
        let text = match std::fs::read(path) {
            Ok(b) => String::from_utf8_lossy(&b).into_owned(),
            Err(e) => {
                eprintln!("error: cannot read {}: {e}", path.display());
                return ExitCode::from(2);
            }
        };
        let id = program.sources.add(crate::source::SourceFile::new(path.display().to_string(), crate::source::Origin::Disk(path.to_path_buf()), text.clone()));
        if let Some(g) = graphs.first() {
            match Architecture::from_json(g, &text) {
                Ok(a) => match arch::cost(g, &a) {
                    Ok((p, fl)) => {
                        arch_report =
                            Some((p, fl, g.constraints.iter().all(|c| c.holds(if c.measure == crate::ir::Measure::Params { p as f64 } else { fl as f64 }))))
                    }
                    Err(e) => eprintln!("error: cannot cost the architecture: {e}"),
                },
                Err(errors) => diagnostics.extend(errors.iter().map(|e| wording::arch_error(id, &text, e))),
            }
        }
    }
    match format {
        Format::Json => {
            let json = serde_json::json!({
                "path": file.display().to_string(),
                "diagnostics": diagnostics::to_json(&diagnostics, &program.sources),
                "networks": graphs.iter().zip(&facts).map(|(g, f)| serde_json::json!({
                    "name": g.name,
                    "inputs": g.inputs.iter().map(|i| g.shape_text(&g.nodes.get(*i).shape)).collect::<Vec<_>>(),
                    "output": g.shape_text(&g.nodes.get(g.output).shape),
                    "labels": g.labels.labels.iter().map(|l| serde_json::json!({"name": l.name, "kind": l.kind, "domain": l.domain})).collect::<Vec<_>>(),
                    "facts": f,
                })).collect::<Vec<_>>(),
                "architecture": arch_report.map(|(p, f, ok)| serde_json::json!({"params": p, "flops": f, "meets_constraints": ok})),
            });
            println!("{}", serde_json::to_string_pretty(&json).expect("JSON serialises"));
        }
        Format::Text => {
            if !diagnostics.is_empty() {
                diagnostics::emit_stderr(&diagnostics, &program.sources, color_choice(color));
                eprintln!("{}", wording::error_count(diagnostics.len()));
            } else {
                println!("{}", summary(&program, &file.display().to_string()));
                for (g, f) in graphs.iter().zip(&facts) {
                    print!("{}", wording::space_summary(g, f));
                    if emit == Some(Emit::Ir) {
                        print!("{}", ir::to_text(g));
                    }
                }
                if let Some((p, f, ok)) = arch_report {
                    println!("{}", wording::arch_cost(p, f, ok));
                }
            }
        }
    }
    if diagnostics.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn sample(file: &std::path::Path, seed: u64, count: usize) -> ExitCode {
    let Checked { program, diagnostics, graphs } = match check_file(file) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    if !diagnostics.is_empty() {
        diagnostics::emit_stderr(&diagnostics, &program.sources, color_choice(Color::Auto));
        eprintln!("{}", wording::error_count(diagnostics.len()));
        return ExitCode::from(1);
    }
    let Some(g) = graphs.first() else {
        eprintln!("{}", wording::no_network(&file.display().to_string()));
        return ExitCode::from(1);
    };
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut printed = 0;
    let mut tries = 0u64;
    while printed < count {
        tries += 1;
        if tries > 100_000 + 1_000 * count as u64 {
            eprintln!("{}", wording::sample_gave_up(printed, count, tries - 1));
            return ExitCode::from(1);
        }
        let a = Architecture::random(g, &mut rng);
        let Ok((p, fl)) = arch::cost(g, &a) else { continue };
        let ok = g.constraints.iter().all(|c| c.holds(if c.measure == crate::ir::Measure::Params { p as f64 } else { fl as f64 }));
        if ok {
            println!("{}", serde_json::Value::Object(a.to_json(g)));
            printed += 1;
        }
    }
    ExitCode::SUCCESS
}

fn summary(program: &Program, path: &str) -> String {
    let root = &program.modules[0];
    let mut networks = Vec::new();
    let mut blocks = 0;
    for item in &root.ast.items {
        if let Item::Block(b) = item {
            match b.kind {
                BlockKind::Network => networks.push(b.name.name.clone()),
                BlockKind::Block => blocks += 1,
            }
        }
    }
    let mut choices = 0;
    walk_module(&root.ast, &mut |e| {
        choices += usize::from(matches!(
            &e.kind,
            ExprKind::LayerChoice { .. } | ExprKind::ValueChoice { .. } | ExprKind::Pick { .. } | ExprKind::Repeat { depth: Depth::Choice { .. }, .. }
        ));
    });
    wording::check_ok(path, &networks, blocks, choices)
}

fn read_text(file: &std::path::Path) -> Result<String, ExitCode> {
    match std::fs::read(file) {
        Ok(b) => Ok(String::from_utf8_lossy(&b).into_owned()),
        Err(e) => {
            eprintln!("error: cannot read {}: {e}", file.display());
            Err(ExitCode::from(2))
        }
    }
}

fn ast(file: &std::path::Path) -> ExitCode {
    let (program, diags) = match compile(file) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    println!("{}", serde_json::to_string_pretty(&program.modules[0].ast).expect("AST serialises"));
    if diags.is_empty() {
        ExitCode::SUCCESS
    } else {
        diagnostics::emit_stderr(&diags, &program.sources, codespan_reporting::term::termcolor::ColorChoice::Never);
        ExitCode::from(1)
    }
}

fn tokens(file: &std::path::Path) -> ExitCode {
    let text = match read_text(file) {
        Ok(t) => t,
        Err(c) => return c,
    };
    let mut bad = false;
    for (tok, span) in lexer::tokenize(&text) {
        bad |= tok == lexer::Token::Error;
        println!("{}..{}\t{:?}\t{}", span.start, span.end, tok, text[span.start..span.end].escape_debug());
    }
    if bad {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
