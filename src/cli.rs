//! The `nasc` command line: argument parsing (clap) and the subcommands.
//!
//! Exit codes: 0 when the input is clean, 1 when it has errors, 2 for a bad command line or a
//! file that cannot be read.

use crate::diagnostics::{self, wording, Diagnostic};
use crate::resolve::{self, Program};
use crate::syntax::ast::{walk_module, BlockKind, Depth, ExprKind, Item};
use crate::syntax::lexer;
use clap::{Parser, Subcommand, ValueEnum};
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
    /// One JSON array of diagnostics on standard output, for tools.
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
}

/// Runs the command line; returns the process exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check {
            file,
            format,
            color,
        } => check(&file, format, color),
        Command::Ast { file } => ast(&file),
        Command::Tokens { file } => tokens(&file),
    }
}

/// Loads and resolves `file`, returning the program and its diagnostics in source order.
pub fn compile(file: &std::path::Path) -> Result<(Program, Vec<Diagnostic>), resolve::ReadError> {
    let (program, errors) = resolve::load_path(file)?;
    let diags = errors.iter().map(wording::resolve_error).collect();
    Ok((program, diags))
}

fn check(file: &std::path::Path, format: Format, color: Color) -> ExitCode {
    let (program, diags) = match compile(file) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    match format {
        Format::Json => {
            let json = diagnostics::to_json(&diags, &program.sources);
            println!(
                "{}",
                serde_json::to_string_pretty(&json).expect("diagnostics serialise")
            );
        }
        Format::Text => {
            if !diags.is_empty() {
                let choice = match color {
                    Color::Always => codespan_reporting::term::termcolor::ColorChoice::Always,
                    Color::Never => codespan_reporting::term::termcolor::ColorChoice::Never,
                    Color::Auto => {
                        if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
                            codespan_reporting::term::termcolor::ColorChoice::Auto
                        } else {
                            codespan_reporting::term::termcolor::ColorChoice::Never
                        }
                    }
                };
                diagnostics::emit_stderr(&diags, &program.sources, choice);
                eprintln!("{}", wording::error_count(diags.len()));
            } else {
                println!("{}", summary(&program, &file.display().to_string()));
            }
        }
    }
    if diags.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
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
            ExprKind::LayerChoice { .. }
                | ExprKind::ValueChoice { .. }
                | ExprKind::Pick { .. }
                | ExprKind::Repeat {
                    depth: Depth::Choice { .. },
                    ..
                }
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
    println!(
        "{}",
        serde_json::to_string_pretty(&program.modules[0].ast).expect("AST serialises")
    );
    if diags.is_empty() {
        ExitCode::SUCCESS
    } else {
        diagnostics::emit_stderr(
            &diags,
            &program.sources,
            codespan_reporting::term::termcolor::ColorChoice::Never,
        );
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
        println!(
            "{}..{}\t{:?}\t{}",
            span.start,
            span.end,
            tok,
            text[span.start..span.end].escape_debug()
        );
    }
    if bad {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
