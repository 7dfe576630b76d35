//! The `nasc` command line: argument parsing (clap) and the subcommands.
//!
//! Exit codes: 0 when the input is clean, 1 when it has errors, 2 for a bad command line or a
//! file that cannot be read.

use crate::arch::{self, Architecture};
use crate::diagnostics::{self, wording, Diagnostic};
use crate::driver;
use crate::ir::{self, Graph};
use crate::launch::{self, LaunchError};
use crate::resolve::Program;
use crate::runtime::train::{OptimizerKind, Schedule, Task, TrainConfig};
use crate::runtime::{DeviceKind, RuntimeError};
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
        /// Validate this architecture (NNI's flat JSON `{"label": value}`) of the file's first
        /// network and print its cost.
        #[arg(long)]
        arch: Option<PathBuf>,
        /// Also check that this search strategy can take the space (a one-shot strategy must
        /// lower every choice to its supernet: darts, gumbel-darts, enas, random-oneshot,
        /// proxyless).
        #[arg(long)]
        strategy: Option<String>,
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
    /// Train one architecture of a space on real data, print its test metric, and write its
    /// weights (`model.bpk`, burn's record format) and `metrics.json` to `--out`.
    Train {
        /// The `.nas` file.
        file: PathBuf,
        /// The architecture (NNI's flat JSON `{"label": value}`); may be omitted for a space
        /// without choices.
        #[arg(long)]
        arch: Option<PathBuf>,
        /// Training settings.
        #[command(flatten)]
        opts: TrainOpts,
        /// Where to write `model.bpk` and `metrics.json`.
        #[arg(long, default_value = "nasc-train")]
        out: PathBuf,
    },
    /// Measure saved weights on the test split of the data (reproduces `nasc train`'s test
    /// metric).
    Eval {
        /// The `.nas` file.
        file: PathBuf,
        /// The architecture the weights belong to.
        #[arg(long)]
        arch: Option<PathBuf>,
        /// The weights (`model.bpk` written by `nasc train`).
        #[arg(long)]
        weights: PathBuf,
        /// The dataset: `mnist:DIR`, `fashion-mnist:DIR`, `cifar10:DIR`, `cifar100:DIR` or
        /// `npy:X.npy,Y.npy`.
        #[arg(long, default_value = "mnist:examples/data/mnist")]
        data: String,
        /// Classification (accuracy) or regression (mean squared error).
        #[arg(long, value_enum, default_value = "classification")]
        task: Task,
        /// Samples per batch.
        #[arg(long, default_value_t = 256)]
        batch_size: usize,
        /// Where to run.
        #[arg(long, value_enum, default_value = "flex")]
        device: DeviceKind,
    },
    /// Search a space: a multi-trial strategy proposes architectures and each is trained as a
    /// trial (resumable after a kill), or a one-shot strategy trains one weight-shared supernet
    /// and exports the architecture it chooses; everything is kept in an experiment directory
    /// (SQLite).
    Search {
        /// The `.nas` file (not needed with --resume).
        file: Option<PathBuf>,
        /// The strategy: multi-trial random, grid, evolution, tpe, ppo; one-shot darts, gumbel-darts, enas,
        /// random-oneshot, proxyless (docs/oneshot.md).
        #[arg(long, default_value = "random")]
        strategy: String,
        /// A strategy option, `NAME=VALUE` (repeatable): `population_size=50`, `dedup=false`.
        #[arg(long = "option", value_name = "NAME=VALUE")]
        options: Vec<String>,
        /// Stop proposing after this many trials.
        #[arg(long)]
        max_trials: Option<usize>,
        /// Stop proposing after this long (`90s`, `30m`, `2h`); running trials finish.
        #[arg(long)]
        max_duration: Option<String>,
        /// Trials trained at the same time.
        #[arg(long, default_value_t = 1)]
        concurrency: usize,
        /// What to optimise (default: val_acc, or val_mse with --task regression).
        #[arg(long, value_enum)]
        metric: Option<crate::experiment::search::Metric>,
        /// Maximise or minimise the metric (default: the metric's natural direction).
        #[arg(long, value_enum)]
        mode: Option<ModeArg>,
        /// The experiment directory (default: runs/<space>-<strategy>-<time>).
        #[arg(long)]
        out: Option<PathBuf>,
        /// DARTS: the second-order (unrolled) architecture step.
        #[arg(long)]
        unrolled: bool,
        /// Proxyless: the target of the resource loss, in multiply-accumulates per sample.
        #[arg(long, conflicts_with = "target_params")]
        target_flops: Option<f64>,
        /// Proxyless: the target of the resource loss, in parameters.
        #[arg(long)]
        target_params: Option<f64>,
        /// Continue the experiment in this directory after an interruption.
        #[arg(long, conflicts_with_all = ["file", "out", "strategy", "options", "max_trials", "max_duration", "concurrency", "metric", "mode", "data", "epochs", "lr", "batch_size", "seed"])]
        resume: Option<PathBuf>,
        /// How each trial trains.
        #[command(flatten)]
        opts: TrainOpts,
    },
    /// List the experiments under a directory (default `runs`), or show one.
    Runs {
        /// `show DIR`: the top trials of one experiment.
        #[command(subcommand)]
        action: Option<RunsAction>,
        /// Where the experiments are.
        #[arg(long, default_value = "runs")]
        root: PathBuf,
    },
    /// Write the best architectures of an experiment as NNI's flat JSON, ready for
    /// `nasc train --arch`.
    Export {
        /// The experiment directory.
        dir: PathBuf,
        /// How many of the best trials.
        #[arg(long, default_value_t = 1)]
        top: usize,
    },
    /// Benchmark a strategy on a tabular NAS benchmark by lookup (no training).
    Bench {
        /// Which benchmark.
        #[command(subcommand)]
        which: BenchKind,
    },
    /// Run the language server (LSP over standard input and output), for editors.
    Lsp,
}

/// `nasc bench`.
#[derive(Debug, Subcommand)]
pub enum BenchKind {
    /// NAS-Bench-201 (Dong & Yang 2020) on CIFAR-10, by the benchmark's own multi-trial
    /// protocol: a query returns the 12-epoch validation accuracy and costs 12/200 of the
    /// 200-epoch training time; a run stops when the simulated budget is spent and reports the
    /// 200-epoch test accuracy of its best architecture; mean and standard deviation over runs.
    Nb201 {
        /// The strategy: random, grid, evolution, tpe, ppo.
        #[arg(long, default_value = "random")]
        strategy: String,
        /// A strategy option, `NAME=VALUE` (repeatable).
        #[arg(long = "option", value_name = "NAME=VALUE")]
        options: Vec<String>,
        /// Independent runs (seeds 0, 1, ...).
        #[arg(long, default_value_t = 100)]
        runs: usize,
        /// Simulated training budget of one run, seconds.
        #[arg(long, default_value_t = crate::experiment::nb201::DEFAULT_BUDGET)]
        budget: f64,
        /// Print the whole report as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `nasc runs show`.
#[derive(Debug, Subcommand)]
pub enum RunsAction {
    /// The top trials of one experiment.
    Show {
        /// The experiment directory.
        dir: PathBuf,
        /// How many trials.
        #[arg(long, default_value_t = 10)]
        top: usize,
    },
}

/// `--mode`.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ModeArg {
    /// Larger is better.
    Max,
    /// Smaller is better.
    Min,
}

/// The learning-rate schedules of `--schedule`.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ScheduleArg {
    /// The same rate throughout.
    Constant,
    /// Cosine annealing to 0.
    Cosine,
    /// Multiply by `--gamma` every `--step-epochs` epochs.
    Step,
}

/// Training settings shared by `nasc train` and, later, `nasc search`.
#[derive(Debug, Clone, clap::Args)]
pub struct TrainOpts {
    /// The dataset: `mnist:DIR`, `fashion-mnist:DIR`, `cifar10:DIR`, `cifar100:DIR` or
    /// `npy:X.npy,Y.npy`.
    #[arg(long, default_value = "mnist:examples/data/mnist")]
    pub data: String,
    /// Classification (cross-entropy, accuracy) or regression (mean squared error).
    #[arg(long, value_enum, default_value = "classification")]
    pub task: Task,
    /// Passes over the training data (default 1; a one-shot search's supernet: 3).
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Samples per step.
    #[arg(long, default_value_t = 64)]
    pub batch_size: usize,
    /// Initial learning rate.
    #[arg(long, default_value_t = 0.025)]
    pub lr: f64,
    /// The optimizer.
    #[arg(long, value_enum, default_value = "sgd")]
    pub optimizer: OptimizerKind,
    /// SGD momentum.
    #[arg(long, default_value_t = 0.9)]
    pub momentum: f64,
    /// L2 weight decay.
    #[arg(long, default_value_t = 3e-4)]
    pub weight_decay: f64,
    /// The learning-rate schedule.
    #[arg(long, value_enum, default_value = "cosine")]
    pub schedule: ScheduleArg,
    /// Epochs between decays of the step schedule.
    #[arg(long, default_value_t = 30)]
    pub step_epochs: usize,
    /// Decay factor of the step schedule.
    #[arg(long, default_value_t = 0.1)]
    pub gamma: f64,
    /// Clip each parameter's gradient to this L2 norm (0 turns clipping off).
    #[arg(long, default_value_t = 5.0)]
    pub grad_clip: f32,
    /// Seed of the weights, the validation split, shuffling and augmentation.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Fraction of the training split held out for validation (default 0.1; a one-shot search
    /// holds out half, as DARTS does, to train the architecture on).
    #[arg(long)]
    pub val_fraction: Option<f64>,
    /// Random crop (padding 4) and horizontal flip of training images.
    #[arg(long)]
    pub augment: bool,
    /// Stop each epoch after this many steps.
    #[arg(long)]
    pub max_steps: Option<usize>,
    /// Where to run: flex (CPU) or wgpu (needs a build with `--features wgpu`).
    #[arg(long, value_enum, default_value = "flex")]
    pub device: DeviceKind,
}

impl TrainOpts {
    /// The runtime's training configuration.
    pub fn config(&self) -> TrainConfig {
        TrainConfig {
            task: self.task,
            epochs: self.epochs.unwrap_or(1),
            batch_size: self.batch_size,
            lr: self.lr,
            optimizer: self.optimizer,
            momentum: self.momentum,
            weight_decay: self.weight_decay,
            schedule: match self.schedule {
                ScheduleArg::Constant => Schedule::Constant,
                ScheduleArg::Cosine => Schedule::Cosine,
                ScheduleArg::Step => Schedule::Step { epochs: self.step_epochs, gamma: self.gamma },
            },
            grad_clip: (self.grad_clip > 0.0).then_some(self.grad_clip),
            seed: self.seed,
            val_fraction: self.val_fraction.unwrap_or(0.1),
            augment: self.augment,
            max_steps: self.max_steps,
        }
    }
}

/// Runs the command line; returns the process exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    if !matches!(cli.command, Command::Lsp) {
        restore_sigpipe();
    }
    match cli.command {
        Command::Check { file, format, color, emit, arch, strategy } => {
            check(&file, format, color, emit, arch.as_deref(), strategy.as_deref())
        }
        Command::Sample { file, seed, count } => sample(&file, seed, count),
        Command::Ast { file } => ast(&file),
        Command::Tokens { file } => tokens(&file),
        Command::Train { file, arch, opts, out } => train(&file, arch.as_deref(), &opts, &out),
        Command::Eval { file, arch, weights, data, task, batch_size, device } => {
            eval(&file, arch.as_deref(), &weights, &data, task, batch_size, device)
        }
        Command::Search {
            file,
            strategy,
            options,
            max_trials,
            max_duration,
            concurrency,
            metric,
            mode,
            out,
            resume,
            opts,
            unrolled,
            target_flops,
            target_params,
        } => {
            let target = target_flops
                .map(|t| (crate::ir::Measure::Flops, t))
                .or(target_params.map(|t| (crate::ir::Measure::Params, t)));
            let args = SearchArgs {
                file,
                strategy,
                options,
                max_trials,
                max_duration,
                concurrency,
                metric,
                mode,
                out,
                opts,
                unrolled,
                target,
            };
            match resume {
                Some(dir) => resume_search(&dir),
                None => search(args),
            }
        }
        Command::Runs { action: None, root } => runs(&root),
        Command::Runs { action: Some(RunsAction::Show { dir, top }), .. } => runs_show(&dir, top),
        Command::Export { dir, top } => export(&dir, top),
        Command::Bench { which: BenchKind::Nb201 { strategy, options, runs, budget, json } } => {
            bench_nb201(&strategy, &options, runs, budget, json)
        }
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

fn color_choice(color: Color) -> codespan_reporting::term::termcolor::ColorChoice {
    use codespan_reporting::term::termcolor::ColorChoice;
    match color {
        Color::Always => ColorChoice::Always,
        Color::Never => ColorChoice::Never,
        Color::Auto if std::io::IsTerminal::is_terminal(&std::io::stderr()) => ColorChoice::Auto,
        Color::Auto => ColorChoice::Never,
    }
}

fn check(
    file: &std::path::Path,
    format: Format,
    color: Color,
    emit: Option<Emit>,
    arch: Option<&std::path::Path>,
    strategy: Option<&str>,
) -> ExitCode {
    // A one-shot strategy must lower every choice to its supernet; multi-trial strategies
    // take any space that checks.
    let one_shot = match strategy {
        Some(name) => match crate::lower::OneShotKind::from_name(name) {
            Some(kind) => Some(kind),
            None if crate::strategy::StrategyKind::ALL.iter().any(|k| k.name() == name) => None,
            None => {
                eprintln!(
                    "error: unknown strategy `{name}`; the strategies are {}",
                    strategy_names()
                );
                return ExitCode::from(2);
            }
        },
        None => None,
    };
    let options = driver::Options {
        facts: true,
        strategy: one_shot,
        arch: arch.map(driver::ArchInput::Path),
        ..Default::default()
    };
    let compiled = match driver::compile(driver::Input::Path(file), options) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    // The program and the graphs are left to the operating system when the process exits:
    // freeing a large IR node by node (DARTS: 12,000 nodes) costs more than printing it.
    let driver::Compiled { program, diagnostics, graphs, facts, arch: arch_report, .. } =
        &*std::mem::ManuallyDrop::new(compiled);
    let costed = match arch_report {
        Some(driver::ArchReport::NoNetwork) => {
            eprintln!("{}", wording::no_network(&file.display().to_string()));
            return ExitCode::from(1);
        }
        Some(driver::ArchReport::Uncostable { reason, .. }) => {
            eprintln!("error: cannot cost the architecture: {reason}");
            None
        }
        Some(driver::ArchReport::Costed { network, params, flops, meets_constraints }) => {
            Some((network, *params, *flops, *meets_constraints))
        }
        _ => None,
    };
    match format {
        Format::Json => {
            let json = serde_json::json!({
                "path": file.display().to_string(),
                "diagnostics": diagnostics::to_json(diagnostics, &program.sources),
                "networks": graphs.iter().zip(facts).map(|(g, f)| serde_json::json!({
                    "name": g.name,
                    "inputs": g.inputs.iter().map(|i| g.shape_text(&g.nodes.get(*i).shape)).collect::<Vec<_>>(),
                    "output": g.shape_text(&g.nodes.get(g.output).shape),
                    "labels": g.labels.labels.iter().map(|l| serde_json::json!({"name": l.name, "kind": l.kind, "domain": l.domain})).collect::<Vec<_>>(),
                    "facts": f,
                    "ir": (emit == Some(Emit::Ir)).then(|| ir::to_text(g)),
                })).collect::<Vec<_>>(),
                "architecture": costed.map(|(n, p, f, ok)| serde_json::json!({"network": n, "params": p, "flops": f, "meets_constraints": ok})),
            });
            println!("{}", serde_json::to_string_pretty(&json).expect("JSON serialises"));
        }
        Format::Text => {
            if !diagnostics.is_empty() {
                diagnostics::emit_stderr(diagnostics, &program.sources, color_choice(color));
                eprintln!("{}", wording::error_count(diagnostics.len()));
            } else {
                println!("{}", summary(program, &file.display().to_string()));
                for (g, f) in graphs.iter().zip(facts) {
                    print!("{}", wording::space_summary(g, f));
                    if emit == Some(Emit::Ir) {
                        print!("{}", ir::to_text(g));
                    }
                }
                if let Some((n, p, f, ok)) = costed {
                    println!("{}", wording::arch_cost(n, p, f, ok));
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

/// Every strategy's name, multi-trial then one-shot.
fn strategy_names() -> String {
    let multi = crate::strategy::StrategyKind::ALL.iter().map(|k| k.name());
    let one = crate::lower::OneShotKind::ALL.iter().map(|k| k.name());
    multi.chain(one).collect::<Vec<_>>().join(", ")
}

fn sample(file: &std::path::Path, seed: u64, count: usize) -> ExitCode {
    // A space whose constraints no architecture meets is E0113, as `nasc check` says, rather
    // than a hundred thousand random tries: the facts are computed as `nasc check` does.
    let options = driver::Options { facts: true, ..Default::default() };
    let driver::Compiled { program, diagnostics, graphs, .. } =
        match driver::compile(driver::Input::Path(file), options) {
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
        let ok = g.constraints.iter().all(|c| {
            c.holds(if c.measure == crate::ir::Measure::Params { p as f64 } else { fl as f64 })
        });
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
            ExprKind::LayerChoice { .. }
                | ExprKind::ValueChoice { .. }
                | ExprKind::Pick { .. }
                | ExprKind::Repeat { depth: Depth::Choice { .. }, .. }
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
    let (program, diags) = match driver::load(driver::Input::Path(file), None) {
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

/// A space compiled and one architecture of it fixed: what `nasc train` and `nasc eval` run.
struct Fixed {
    program: Program,
    graph: Graph,
    arch: Architecture,
    fixed: arch::FixedGraph,
}

/// Compiles `file`, reads the architecture (or takes the only one of a space without
/// choices), and fixes it. Prints diagnostics and returns the exit code on failure.
fn load_fixed(
    file: &std::path::Path,
    arch_path: Option<&std::path::Path>,
) -> Result<Fixed, ExitCode> {
    let (mut program, graph) = compile_space(file)?;
    let text = match arch_path {
        Some(path) => String::from_utf8_lossy(&std::fs::read(path).map_err(|e| {
            eprintln!("error: cannot read {}: {e}", path.display());
            ExitCode::from(2)
        })?)
        .into_owned(),
        None if graph.labels.is_empty() => "{}".to_string(),
        None => {
            eprintln!(
                "error: `{}` has {} labels; pass an architecture with --arch (`nasc sample {}` prints one)",
                graph.name,
                graph.labels.len(),
                file.display()
            );
            return Err(ExitCode::from(2));
        }
    };
    let arch = match Architecture::from_json(&graph, &text) {
        Ok(a) => a,
        Err(errors) => {
            let name = arch_path.map_or("<architecture>".to_string(), |p| p.display().to_string());
            let path = arch_path.map_or(crate::source::Origin::Memory, |p| {
                crate::source::Origin::Disk(p.to_path_buf())
            });
            let id = program.sources.add(crate::source::SourceFile::new(name, path, text.clone()));
            let diags: Vec<Diagnostic> = wording::arch_errors(id, &text, &errors);
            diagnostics::emit_stderr(&diags, &program.sources, color_choice(Color::Auto));
            eprintln!("{}", wording::error_count(diags.len()));
            return Err(ExitCode::from(1));
        }
    };
    let fixed = arch::fix(&graph, &arch).map_err(|e| {
        eprintln!("error: cannot fix the architecture: {e}");
        ExitCode::from(1)
    })?;
    Ok(Fixed { program, graph, arch, fixed })
}

/// Prints a runtime error: a diagnostic at the operator's `.nas` place when it has one. A bad
/// setting exits with 2 (a bad command line), anything else with 1.
fn report_runtime(program: &Program, e: &RuntimeError) -> ExitCode {
    match e.failure().map(|f| wording::runtime_error(&f)) {
        Some(d) => diagnostics::emit_stderr(&[d], &program.sources, color_choice(Color::Auto)),
        None => eprintln!("error: {e}"),
    }
    match e {
        RuntimeError::Config(_) | RuntimeError::Device(_) => ExitCode::from(2),
        _ => ExitCode::from(1),
    }
}

fn load_data(spec: &str) -> Result<crate::data::Splits, ExitCode> {
    launch::load_data(spec).map_err(|e| report_launch(&e))
}

/// A progress bar over `steps` training steps with ETA, when standard error is a terminal.
fn step_bar(steps: usize) -> Option<indicatif::ProgressBar> {
    terminal_bar(steps, "{spinner} epoch {prefix} [{bar:30}] {pos}/{len} steps, loss {msg}, {elapsed} elapsed, ETA {eta}")
}

/// A progress bar of `len` units drawn with indicatif's `template`, when standard error is a
/// terminal.
fn terminal_bar(len: usize, template: &str) -> Option<indicatif::ProgressBar> {
    std::io::IsTerminal::is_terminal(&std::io::stderr()).then(|| {
        let bar = indicatif::ProgressBar::new(len as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template(template)
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar
    })
}

/// Progress of a training run on standard error: an indicatif bar with ETA on a terminal,
/// one plain line per epoch otherwise.
struct Progress {
    bar: Option<indicatif::ProgressBar>,
    metric: &'static str,
}

impl crate::runtime::train::Observer for Progress {
    fn start(&mut self, epochs: usize, steps: usize) {
        self.bar = step_bar(epochs * steps);
    }
    fn step(&mut self, epoch: usize, _step: usize, loss: f64) {
        if let Some(bar) = &self.bar {
            bar.set_prefix(epoch.to_string());
            bar.set_message(format!("{loss:.4}"));
            bar.inc(1);
        }
    }
    fn epoch(&mut self, m: &crate::runtime::train::EpochMetrics) {
        let val = match (m.val_loss, m.val_metric) {
            (Some(l), Some(v)) if self.metric == "accuracy" => {
                format!(", val loss {l:.4}, val accuracy {:.2}%", 100.0 * v)
            }
            (Some(l), Some(v)) => format!(", val loss {l:.4}, val mse {v:.6}"),
            _ => String::new(),
        };
        let line = format!(
            "epoch {}: train loss {:.4}{val}, lr {:.5}, {:.1} s",
            m.epoch, m.train_loss, m.lr, m.seconds
        );
        match &self.bar {
            Some(bar) => bar.println(line),
            None => eprintln!("{line}"),
        }
    }
}

fn train(
    file: &std::path::Path,
    arch_path: Option<&std::path::Path>,
    opts: &TrainOpts,
    out: &std::path::Path,
) -> ExitCode {
    let Fixed { program, graph, arch, fixed } = match load_fixed(file, arch_path) {
        Ok(f) => f,
        Err(c) => return c,
    };
    let data = match load_data(&opts.data) {
        Ok(d) => d,
        Err(c) => return c,
    };
    let device = match opts.device.device() {
        Ok(d) => d,
        Err(e) => return report_runtime(&program, &e),
    };
    // The output directory is made before training, so that a bad --out loses no training.
    if let Err(e) = std::fs::create_dir_all(out) {
        eprintln!("error: cannot create the output directory {}: {e}", out.display());
        return ExitCode::from(2);
    }
    let cfg = opts.config();
    let mut progress = Progress { bar: None, metric: cfg.task.metric() };
    let result = crate::runtime::train::train(&fixed, &data, &cfg, &device, &mut progress);
    if let Some(bar) = &progress.bar {
        bar.finish_and_clear();
    }
    let (net, report) = match result {
        Ok(r) => r,
        Err(e) => return report_runtime(&program, &e),
    };
    if let Err(e) = std::fs::create_dir_all(out) {
        eprintln!("error: cannot create {}: {e}", out.display());
        return ExitCode::from(1);
    }
    let weights = out.join("model.bpk");
    if let Err(e) = net.save(&weights) {
        eprintln!("error: {e}");
        return ExitCode::from(1);
    }
    let metrics = serde_json::json!({
        "space": file.display().to_string(),
        "network": graph.name,
        "architecture": serde_json::Value::Object(arch.to_json(&graph)),
        "data": opts.data,
        "device": opts.device,
        "config": cfg,
        "report": report,
    });
    let path = out.join("metrics.json");
    if let Err(e) = std::fs::write(
        &path,
        serde_json::to_string_pretty(&metrics).expect("metrics serialise") + "\n",
    ) {
        eprintln!("error: cannot write {}: {e}", path.display());
        return ExitCode::from(1);
    }
    let r = &report;
    println!(
        "{}",
        wording::trained(r.metric, r.test_metric, r.test_loss, r.params, r.seconds, out)
    );
    ExitCode::SUCCESS
}

fn eval(
    file: &std::path::Path,
    arch_path: Option<&std::path::Path>,
    weights: &std::path::Path,
    data: &str,
    task: Task,
    batch_size: usize,
    device: DeviceKind,
) -> ExitCode {
    let Fixed { program, fixed, graph, arch } = match load_fixed(file, arch_path) {
        Ok(f) => f,
        Err(c) => return c,
    };
    // `nasc train` writes the architecture next to the weights: weights of another
    // architecture whose tensors happen to have the same shapes are refused too.
    let recorded = weights
        .parent()
        .map(|d| d.join("metrics.json"))
        .and_then(|p| std::fs::read(&p).ok().map(|b| (p, b)));
    if let Some((path, bytes)) = recorded {
        if let Ok(m) = serde_json::from_slice::<serde_json::Value>(&bytes) {
            // Compared as networks: labels an architecture does not use do not matter.
            let given = crate::strategy::canonical(&graph, &arch);
            let trained = Architecture::from_json(&graph, &m["architecture"].to_string())
                .map(|a| crate::strategy::canonical(&graph, &a));
            if m.get("architecture").is_some() && trained.as_ref().ok() != Some(&given) {
                eprintln!(
                    "error: {} were trained for the architecture in {}, not this one",
                    weights.display(),
                    path.display()
                );
                return ExitCode::from(1);
            }
        }
    }
    let splits = match load_data(data) {
        Ok(d) => d,
        Err(c) => return c,
    };
    let device = match device.device() {
        Ok(d) => d,
        Err(e) => return report_runtime(&program, &e),
    };
    let result = crate::runtime::train::catch_panics(|| {
        let net = crate::runtime::Network::build(&fixed, &device, 0)?;
        let net = net.load(weights)?;
        let normalization = crate::data::Normalization::fit(&splits.train);
        let mut test = splits.test.clone();
        normalization.apply(&mut test);
        crate::runtime::train::evaluate(&net, std::sync::Arc::new(test), task, batch_size, &device)
    });
    match result {
        Ok((loss, metric)) => {
            if task == Task::Classification {
                println!("test accuracy {:.2}% (test loss {loss:.4})", 100.0 * metric);
            } else {
                println!("test mse {metric:.6} (test loss {loss:.4})");
            }
            ExitCode::SUCCESS
        }
        Err(e) => report_runtime(&program, &e),
    }
}

/// The arguments of `nasc search` (without `--resume`).
struct SearchArgs {
    file: Option<PathBuf>,
    strategy: String,
    options: Vec<String>,
    max_trials: Option<usize>,
    max_duration: Option<String>,
    concurrency: usize,
    metric: Option<crate::experiment::search::Metric>,
    mode: Option<ModeArg>,
    out: Option<PathBuf>,
    opts: TrainOpts,
    unrolled: bool,
    target: Option<(crate::ir::Measure, f64)>,
}

/// `90`, `90s`, `30m`, `2h` as seconds.
fn parse_duration(text: &str) -> Option<f64> {
    let text = text.trim();
    let (number, unit) = match text.char_indices().find(|(_, c)| c.is_ascii_alphabetic()) {
        Some((i, _)) => (&text[..i], &text[i..]),
        None => (text, "s"),
    };
    let v: f64 = number.trim().parse().ok().filter(|v: &f64| v.is_finite() && *v >= 0.0)?;
    Some(match unit {
        "s" | "sec" => v,
        "m" | "min" => v * 60.0,
        "h" => v * 3600.0,
        _ => return None,
    })
}

/// Compiles a space: the loaded program and its (first) network's IR, or the exit code after
/// printing why not.
fn compile_space(file: &std::path::Path) -> Result<(Program, Graph), ExitCode> {
    match launch::compile_space(file) {
        Ok(space) => Ok((space.program, space.graph)),
        Err(e) => Err(report_launch(&e)),
    }
}

/// Prints why a search could not be prepared, started or run, and gives the exit code: 2 for
/// a bad setting, 1 otherwise. Diagnostics are rendered at their `.nas` places.
fn report_launch(e: &LaunchError) -> ExitCode {
    match e {
        LaunchError::Compile(c) => {
            diagnostics::emit_stderr(&c.diagnostics, &c.program.sources, color_choice(Color::Auto));
            eprintln!("{}", wording::error_count(c.diagnostics.len()));
            ExitCode::from(1)
        }
        LaunchError::NoNetwork(file) => {
            eprintln!("{}", wording::no_network(file));
            ExitCode::from(1)
        }
        LaunchError::Runtime { program, error } => report_runtime(program, error),
        LaunchError::Lower { program, diagnostics } => {
            diagnostics::emit_stderr(diagnostics, &program.sources, color_choice(Color::Auto));
            eprintln!("{}", wording::error_count(diagnostics.len()));
            ExitCode::from(1)
        }
        e => {
            eprintln!("error: {e}");
            ExitCode::from(if e.is_setting() { 2 } else { 1 })
        }
    }
}

fn search(args: SearchArgs) -> ExitCode {
    let Some(file) = args.file.clone() else {
        eprintln!("error: nasc search needs a space file (or --resume DIR)");
        return ExitCode::from(2);
    };
    if let Some(kind) = crate::lower::OneShotKind::from_name(&args.strategy) {
        return one_shot_search(file, kind, args);
    }
    let Some(kind) =
        crate::strategy::StrategyKind::ALL.into_iter().find(|k| k.name() == args.strategy)
    else {
        eprintln!(
            "error: unknown strategy `{}`; the strategies are {}",
            args.strategy,
            strategy_names()
        );
        return ExitCode::from(2);
    };
    if args.unrolled || args.target.is_some() {
        eprintln!("error: --unrolled, --target-flops and --target-params are for the one-shot strategies darts and proxyless");
        return ExitCode::from(2);
    }
    let mut options = Vec::new();
    for o in &args.options {
        let Some((k, v)) = o.split_once('=') else {
            eprintln!("error: --option takes NAME=VALUE, not `{o}`");
            return ExitCode::from(2);
        };
        options.push((k.trim().to_string(), v.trim().to_string()));
    }
    let max_duration = match args.max_duration.as_deref().map(|d| (d, parse_duration(d))) {
        None => None,
        Some((_, Some(d))) => Some(d),
        Some((d, None)) => {
            eprintln!("error: --max-duration takes a duration such as 90s, 30m or 2h, not `{d}`");
            return ExitCode::from(2);
        }
    };
    let settings = launch::MultiTrialSettings {
        strategy: kind,
        options,
        metric: args.metric,
        mode: args.mode.map(|m| match m {
            ModeArg::Max => crate::strategy::Mode::Max,
            ModeArg::Min => crate::strategy::Mode::Min,
        }),
        max_trials: args.max_trials,
        max_duration,
        concurrency: args.concurrency,
        data: args.opts.data.clone(),
        train: args.opts.config(),
        device: args.opts.device,
    };
    let prepared = match launch::prepare_multi_trial(&file, &settings) {
        Ok(p) => p,
        Err(e) => return report_launch(&e),
    };
    let dir = args.out.unwrap_or_else(|| launch::default_run_dir(&file, kind.name()));
    let command = std::env::args().collect::<Vec<_>>().join(" ");
    let (labels, cfg) = (prepared.space.graph.labels.len(), prepared.config.clone());
    let search = match prepared.start(&dir, &command) {
        Ok(s) => s,
        Err(e) => return report_launch(&e),
    };
    eprintln!(
        "experiment {}: {} search of {} ({} labels), metric {} ({})",
        dir.display(),
        kind.name(),
        file.display(),
        labels,
        cfg.metric.name(),
        if cfg.mode == crate::strategy::Mode::Max { "max" } else { "min" }
    );
    run_search(search)
}

fn resume_search(dir: &std::path::Path) -> ExitCode {
    let search = match launch::resume(dir) {
        Ok(s) => s,
        Err(e) => {
            // Resuming is never a bad command line: every failure is the experiment's.
            report_launch(&e);
            return ExitCode::from(1);
        }
    };
    eprintln!(
        "resuming experiment {}: {} search of {}",
        dir.display(),
        search.config.strategy.name(),
        search.space_path().display()
    );
    run_search(search)
}

/// Progress of a search on standard error: a bar with trials done, the best so far, elapsed
/// time and ETA on a terminal; one line per finished trial otherwise.
struct SearchProgress {
    bar: Option<indicatif::ProgressBar>,
    metric: &'static str,
    total: Option<usize>,
}

impl crate::experiment::search::SearchObserver for SearchProgress {
    fn start(&mut self, done: usize, total: Option<usize>) {
        self.total = total;
        if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
            let bar = match total {
                Some(t) => indicatif::ProgressBar::new(t as u64),
                None => indicatif::ProgressBar::no_length(),
            };
            bar.set_style(
                indicatif::ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} trials, best {msg}, {elapsed} elapsed, ETA {eta}")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            bar.set_position(done as u64);
            bar.set_message("-");
            self.bar = Some(bar);
        }
    }
    fn trial(&mut self, t: &crate::experiment::TrialRecord, best: Option<f64>) {
        let best_text = best.map_or("-".to_string(), |b| format!("{b:.4}"));
        let result = match (t.metric, &t.error) {
            (Some(m), _) => format!("{} {m:.4}", self.metric),
            (None, Some(e)) => format!("failed: {e}"),
            (None, None) => "failed".to_string(),
        };
        let of = self.total.map_or(String::new(), |t| format!("/{t}"));
        let line = format!(
            "trial {}{of}: {result} ({:.1} s, {} params); best {best_text}",
            t.id.0,
            t.duration.unwrap_or(0.0),
            wording::thousands(t.params)
        );
        match &self.bar {
            Some(bar) => {
                bar.inc(1);
                bar.set_message(best_text);
                bar.println(line);
            }
            None => eprintln!("{line}"),
        }
    }
}

fn run_search(search: launch::Search) -> ExitCode {
    let stop = match launch::stop_on_signals() {
        Ok(flag) => flag,
        Err(e) => {
            eprintln!("error: cannot install the Ctrl-C handler: {e}");
            return ExitCode::from(1);
        }
    };
    let (dir, metric) = (search.dir().to_path_buf(), search.config.metric);
    let mut progress =
        SearchProgress { bar: None, metric: metric.name(), total: search.config.max_trials };
    let result = search.run(&mut progress, &stop);
    if let Some(bar) = &progress.bar {
        bar.finish_and_clear();
    }
    let finished = match result {
        Ok(f) => f,
        Err(e) => return report_launch(&e),
    };
    let summary = &finished.summary;
    let trials = |n: usize| if n == 1 { "1 trial".to_string() } else { format!("{n} trials") };
    println!(
        "{} succeeded, {} failed; stopped: {}",
        trials(summary.succeeded),
        summary.failed,
        summary.stopped
    );
    if let Some(best) = &summary.best {
        println!(
            "best: trial {}, {} {:.4}, {} params; architecture in {}",
            best.id.0,
            metric.name(),
            best.metric.unwrap_or(f64::NAN),
            wording::thousands(best.params),
            finished.best.display()
        );
    }
    if finished.status == crate::experiment::ExperimentStatus::Interrupted {
        eprintln!("interrupted; continue with `nasc search --resume {}`", dir.display());
        return ExitCode::from(130);
    }
    ExitCode::SUCCESS
}

/// Every experiment directory under `root`, sorted.
fn experiment_dirs(root: &std::path::Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.join(crate::experiment::DB_FILE).is_file())
                .collect()
        })
        .unwrap_or_default();
    dirs.sort();
    dirs
}

/// Whether an experiment maximises its metric, from its stored configuration.
fn maximizes(info: &crate::experiment::ExperimentInfo) -> bool {
    stored(info).is_none_or(|c| c.mode() == crate::strategy::Mode::Max)
}

/// An experiment's typed configuration; `None` for one this nasc cannot read (shown as `?`).
fn stored(info: &crate::experiment::ExperimentInfo) -> Option<launch::ExperimentConfig> {
    launch::ExperimentConfig::from_stored(&info.config).ok()
}

fn runs(root: &std::path::Path) -> ExitCode {
    if !root.is_dir() {
        eprintln!(
            "error: {} is not a directory (experiments are listed from --root, default `runs`)",
            root.display()
        );
        return ExitCode::from(2);
    }
    let dirs = experiment_dirs(root);
    if dirs.is_empty() {
        println!("no experiments under {}", root.display());
        return ExitCode::SUCCESS;
    }
    println!(
        "{:<40} {:<14} {:<11} {:>7} {:>7} {:>10}",
        "experiment", "strategy", "status", "trials", "failed", "best"
    );
    for dir in dirs {
        let row = crate::experiment::Store::open(&dir)
            .and_then(|s| Ok((s.info()?, s.trials()?, s.best(false)?, s.best(true)?)));
        match row {
            Ok((info, trials, low, high)) => {
                let best = if maximizes(&info) { high } else { low };
                let failed = trials
                    .iter()
                    .filter(|t| t.status == crate::experiment::TrialStatus::Failed)
                    .count();
                println!(
                    "{:<40} {:<14} {:<11} {:>7} {:>7} {:>10}",
                    dir.display(),
                    stored(&info).map_or("?", |c| c.strategy()),
                    info.status.as_str(),
                    trials.len(),
                    failed,
                    best.and_then(|b| b.metric).map_or("-".into(), |m| format!("{m:.4}"))
                );
            }
            Err(e) => println!("{:<40} error: {e}", dir.display()),
        }
    }
    ExitCode::SUCCESS
}

/// The finished trials of an experiment, best first.
fn ranked(
    dir: &std::path::Path,
) -> Result<(crate::experiment::ExperimentInfo, Vec<crate::experiment::TrialRecord>), ExitCode> {
    let store = crate::experiment::Store::open(dir).map_err(|e| {
        eprintln!("error: {e}");
        ExitCode::from(1)
    })?;
    let (info, mut trials) = store.info().and_then(|i| Ok((i, store.trials()?))).map_err(|e| {
        eprintln!("error: {e}");
        ExitCode::from(1)
    })?;
    trials.retain(|t| t.metric.is_some());
    let max = maximizes(&info);
    trials.sort_by(|a, b| {
        let (x, y) = (a.metric.unwrap_or(f64::NAN), b.metric.unwrap_or(f64::NAN));
        let o = if max { y.total_cmp(&x) } else { x.total_cmp(&y) };
        o.then(a.id.0.cmp(&b.id.0))
    });
    Ok((info, trials))
}

fn runs_show(dir: &std::path::Path, top: usize) -> ExitCode {
    let (info, trials) = match ranked(dir) {
        Ok(r) => r,
        Err(c) => return c,
    };
    println!(
        "{}: {} search of {}, {}",
        dir.display(),
        stored(&info).map_or("?", |c| c.strategy()),
        info.space_path,
        info.status.as_str()
    );
    println!("command: {}", info.command);
    // A one-shot strategy's supernet: its epochs, and where its architecture parameters ended.
    let supernet = crate::experiment::Store::open(dir)
        .and_then(|s| Ok((s.supernet_epochs()?, s.probabilities()?)));
    let (epochs, probabilities) = match supernet {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    if let Some(last) = epochs.last().map(|e| e.epoch) {
        let num = |x: Option<f64>| {
            x.filter(|x| !x.is_nan()).map_or_else(|| "-".to_string(), |x| format!("{x:.4}"))
        };
        println!("supernet: {} epoch{}", epochs.len(), if epochs.len() == 1 { "" } else { "s" });
        println!(
            "{:>5} {:>10} {:>10} {:>10} {:>10} {:>9}",
            "epoch", "train loss", "val loss", "val acc", "arch loss", "seconds"
        );
        for e in &epochs {
            let seconds =
                if e.seconds.is_nan() { "-".to_string() } else { format!("{:.1}", e.seconds) };
            println!(
                "{:>5} {:>10} {:>10} {:>10} {:>10} {:>9}",
                e.epoch,
                num(Some(e.train_loss)),
                num(e.val_loss),
                num(e.val_metric),
                num(e.arch_loss),
                seconds
            );
        }
        let mut labels: Vec<(String, Vec<(String, f64)>)> = Vec::new();
        for (_, label, candidate, p) in probabilities.into_iter().filter(|(e, ..)| *e == last) {
            match labels.last_mut() {
                Some((l, cs)) if *l == label => cs.push((candidate, p)),
                _ => labels.push((label, vec![(candidate, p)])),
            }
        }
        if !labels.is_empty() {
            println!("probabilities after epoch {last}:");
            for (label, mut cs) in labels {
                cs.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
                let shown: Vec<String> =
                    cs.iter().take(8).map(|(c, p)| format!("{c} {p:.4}")).collect();
                let more =
                    if cs.len() > 8 { format!(" (+{} more)", cs.len() - 8) } else { String::new() };
                println!("  {label}: {}{more}", shown.join(", "));
            }
        }
    }
    let config = stored(&info);
    let metric = config.as_ref().map_or("metric", |c| c.metric());
    println!(
        "{:>5} {:>6} {:>10} {:>12} {:>9}  architecture",
        "rank", "trial", metric, "params", "seconds"
    );
    for (rank, t) in trials.iter().take(top).enumerate() {
        println!(
            "{:>5} {:>6} {:>10.4} {:>12} {:>9.1}  {}",
            rank + 1,
            t.id.0,
            t.metric.unwrap_or(f64::NAN),
            wording::thousands(t.params),
            t.duration.unwrap_or(0.0),
            t.arch
        );
    }
    ExitCode::SUCCESS
}

fn export(dir: &std::path::Path, top: usize) -> ExitCode {
    if top == 0 {
        eprintln!("error: --top must be at least 1");
        return ExitCode::from(2);
    }
    let (_, trials) = match ranked(dir) {
        Ok(r) => r,
        Err(c) => return c,
    };
    if trials.is_empty() {
        eprintln!("error: {} has no succeeded trial to export", dir.display());
        return ExitCode::from(1);
    }
    let out = dir.join("export");
    if let Err(e) = std::fs::create_dir_all(&out) {
        eprintln!("error: cannot create {}: {e}", out.display());
        return ExitCode::from(1);
    }
    for (rank, t) in trials.iter().take(top).enumerate() {
        let path = out.join(format!("top{}-trial{}.json", rank + 1, t.id.0));
        let pretty = serde_json::from_str::<serde_json::Value>(&t.arch)
            .map(|v| serde_json::to_string_pretty(&v).unwrap_or(t.arch.clone()))
            .unwrap_or(t.arch.clone());
        if let Err(e) = std::fs::write(&path, pretty + "\n") {
            eprintln!("error: cannot write {}: {e}", path.display());
            return ExitCode::from(1);
        }
        println!("{}", path.display());
    }
    ExitCode::SUCCESS
}

fn bench_nb201(
    strategy: &str,
    options: &[String],
    runs: usize,
    budget: f64,
    json: bool,
) -> ExitCode {
    use crate::experiment::nb201;
    let Some(kind) = crate::strategy::StrategyKind::ALL.into_iter().find(|k| k.name() == strategy)
    else {
        let names: Vec<&str> =
            crate::strategy::StrategyKind::ALL.iter().map(|k| k.name()).collect();
        eprintln!("error: unknown strategy `{strategy}`; the strategies are {}", names.join(", "));
        return ExitCode::from(2);
    };
    let opts = match options.iter().map(|o| nb201::split_option(o)).collect::<Result<Vec<_>, _>>() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let bar = std::io::IsTerminal::is_terminal(&std::io::stderr()).then(|| {
        let bar = indicatif::ProgressBar::new(runs as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "[{bar:30}] {pos}/{len} runs, {elapsed} elapsed, ETA {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    let result = nb201::run_with_progress(kind, &opts, runs, budget, &mut |_| {
        if let Some(bar) = &bar {
            bar.inc(1);
        }
    });
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    match result {
        Ok(report) => {
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&report).expect("the report serialises")
                );
            } else {
                println!("{report}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

/// Progress of a one-shot search on standard error: an indicatif bar on a terminal, one line
/// per epoch otherwise.
struct OneShotProgress {
    bar: Option<indicatif::ProgressBar>,
    /// The bar of the search over the trained supernet (on a terminal).
    candidates: Option<indicatif::ProgressBar>,
}

impl OneShotProgress {
    fn line(&self, text: String) {
        match &self.bar {
            Some(bar) => bar.println(text),
            None => eprintln!("{text}"),
        }
    }
}

impl crate::oneshot::OneShotObserver for OneShotProgress {
    fn start(&mut self, epochs: usize, steps: usize) {
        self.bar = step_bar(epochs * steps);
    }
    fn step(&mut self, epoch: usize, _step: usize, loss: f64) {
        if let Some(bar) = &self.bar {
            bar.set_prefix(epoch.to_string());
            bar.set_message(format!("{loss:.4}"));
            bar.inc(1);
        }
    }
    fn epoch(&mut self, e: &crate::experiment::SupernetEpoch) {
        let val = match (e.val_loss, e.val_metric) {
            (Some(l), Some(v)) => format!(", val loss {l:.4}, val accuracy {:.2}%", 100.0 * v),
            _ => String::new(),
        };
        let arch = e.arch_loss.map_or(String::new(), |a| format!(", arch loss {a:.4}"));
        self.line(format!(
            "epoch {}: train loss {:.4}{val}{arch}, lr {:.5}, {:.1} s",
            e.epoch, e.train_loss, e.lr, e.seconds
        ));
    }
    fn phase(&mut self, message: &str) {
        self.line(format!("{message}..."));
    }
    fn candidate(&mut self, scored: usize, total: usize, metric: f64) {
        if scored == 1 {
            if let Some(bar) = self.bar.take() {
                bar.finish_and_clear();
            }
            self.candidates = terminal_bar(total, "{spinner} [{bar:30}] {pos}/{len} candidates scored, last {msg}, {elapsed} elapsed, ETA {eta}");
        }
        match &self.candidates {
            Some(bar) => {
                bar.set_message(format!("{metric:.4}"));
                bar.inc(1);
                if scored == total {
                    bar.finish_and_clear();
                }
            }
            // Without a terminal, a line about every tenth of the way.
            None if scored == total || scored.is_multiple_of(total.div_ceil(10).max(1)) => {
                eprintln!("scored {scored}/{total} candidates (last {metric:.4})");
            }
            None => {}
        }
    }
}

/// `nasc search --strategy darts|gumbel-darts|enas|random-oneshot|proxyless`.
fn one_shot_search(file: PathBuf, kind: crate::lower::OneShotKind, args: SearchArgs) -> ExitCode {
    use crate::oneshot::{OneShotConfig, OptionError, StrategySettings};
    if args.max_trials.is_some()
        || args.max_duration.is_some()
        || args.concurrency != 1
        || args.metric.is_some()
        || args.mode.is_some()
    {
        eprintln!(
            "error: a one-shot search trains one supernet; --max-trials, --max-duration, --concurrency, --metric and --mode are for the multi-trial strategies"
        );
        return ExitCode::from(2);
    }
    if args.opts.augment {
        eprintln!("error: --augment is not supported by one-shot search yet");
        return ExitCode::from(2);
    }
    let o = &args.opts;
    let mut cfg = OneShotConfig::new(kind);
    let c = &mut cfg.common;
    c.epochs = o.epochs.unwrap_or(3);
    c.batch_size = o.batch_size;
    c.seed = o.seed;
    c.task = o.task;
    c.lr = o.lr;
    c.lr_min = c.lr_min.min(o.lr);
    c.momentum = o.momentum;
    c.weight_decay = o.weight_decay;
    c.grad_clip = (o.grad_clip > 0.0).then_some(o.grad_clip);
    c.max_steps = o.max_steps;
    match (&mut cfg.strategy, args.unrolled) {
        (StrategySettings::Darts(d), unrolled) => d.unrolled = unrolled,
        (_, false) => {}
        (_, true) => {
            eprintln!("error: --unrolled is DARTS' second-order step; it needs --strategy darts");
            return ExitCode::from(2);
        }
    }
    match (&mut cfg.strategy, args.target) {
        (StrategySettings::Proxyless(p), target) => p.target = target,
        (_, None) => {}
        (_, Some(_)) => {
            eprintln!("error: --target-flops and --target-params set ProxylessNAS's resource loss; they need --strategy proxyless");
            return ExitCode::from(2);
        }
    }
    for opt in &args.options {
        let Some((k, v)) = opt.split_once('=') else {
            eprintln!("error: --option takes NAME=VALUE, not `{opt}`");
            return ExitCode::from(2);
        };
        match cfg.set_option(k.trim(), v.trim()) {
            Ok(()) => {}
            Err(e @ OptionError::NotUsed { .. }) => eprintln!("warning: {e}"),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        }
    }
    if let Err(e) = cfg.check() {
        eprintln!("error: {e}");
        return ExitCode::from(2);
    }
    let settings = launch::OneShotSettings {
        config: cfg,
        val_fraction: o.val_fraction.unwrap_or(0.5),
        data: o.data.clone(),
        device: o.device,
    };
    let prepared = match launch::prepare_one_shot(&file, &settings) {
        Ok(p) => p,
        Err(e) => return report_launch(&e),
    };
    let dir = args.out.unwrap_or_else(|| launch::default_run_dir(&file, kind.name()));
    let command = std::env::args().collect::<Vec<_>>().join(" ");
    let (labels, epochs, task) = (
        prepared.space.graph.labels.len(),
        settings.config.common.epochs,
        settings.config.common.task,
    );
    let graph = prepared.space.graph.clone();
    let search = match prepared.start(&dir, &command) {
        Ok(s) => s,
        Err(e) => return report_launch(&e),
    };
    eprintln!(
        "experiment {}: {} one-shot search of {} ({} labels), {} epoch{}",
        dir.display(),
        kind.name(),
        file.display(),
        labels,
        epochs,
        if epochs == 1 { "" } else { "s" }
    );
    let mut progress = OneShotProgress { bar: None, candidates: None };
    let result = search.run(&mut progress);
    if let Some(bar) = &progress.bar {
        bar.finish_and_clear();
    }
    let finished = match result {
        Ok(f) => f,
        Err(e) => return report_launch(&e),
    };
    let (summary, path) = (&finished.summary, &finished.best);
    let (params, _) = arch::cost(&graph, &summary.arch).unwrap_or((0, 0));
    if !summary.feasible {
        eprintln!("warning: no architecture drawn from the final probabilities meets the space's constraints; best.json is the most probable one");
    }
    println!(
        "exported: trial {}{}, {} {:.4} in the supernet (this path alone, batch norm recalibrated), {} params; architecture in {}",
        summary.trial.0,
        if kind == crate::lower::OneShotKind::Enas { " (the controller's most likely architecture)" } else { "" },
        if task == Task::Regression { "val mse" } else { "val accuracy" },
        summary.metric,
        wording::thousands(params),
        path.display()
    );
    let data = if o.data == "mnist:examples/data/mnist" {
        String::new()
    } else {
        format!(" --data {}", o.data)
    };
    println!("retrain it: nasc train {} --arch {}{data}", file.display(), path.display());
    ExitCode::SUCCESS
}
