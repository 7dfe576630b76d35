//! The `nasc` command line: argument parsing (clap), dispatch, and printing. One file per group
//! of commands: `check` (the front end), `train`, `search` (launched through
//! [`crate::launch`]), `runs` (experiments read back) and `export` (a trained network as an
//! ONNX model, [`crate::export`]); the work itself is the library's.
//!
//! Exit codes: 0 when the input is clean, 1 when it has errors, 2 for a bad command line or a
//! file that cannot be read.

use crate::arch::{self, Architecture};
use crate::diagnostics::wording::CommandProblem;
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

mod check;
mod export;
mod report;
mod runs;
mod search;
mod train;

use check::{ast, check, sample, tokens};
use export::{export_model, Model};
use report::report;
use runs::{bench_nb201, export, runs, runs_show};
use search::{resume_search, search, SearchArgs};
use train::{eval, train};

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
    /// The architecture given with `--arch`, drawn as the SVG graph of its operators (on
    /// standard output, instead of the summary).
    Svg,
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
    /// trial, or a one-shot strategy trains one weight-shared supernet and exports the
    /// architecture it chooses (a checkpoint at the end of every epoch); everything is kept in an
    /// experiment directory (SQLite), and either kind resumes after a kill (--resume).
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
        /// Continue the experiment in this directory after an interruption; with --max-trials,
        /// go on to that many trials in all (a finished search too).
        #[arg(long, conflicts_with_all = ["file", "out", "strategy", "options", "max_duration", "concurrency", "metric", "mode", "data", "epochs", "lr", "batch_size", "seed"])]
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
    /// Export what a directory holds: the best architectures of a search's experiment as NNI's
    /// flat JSON, ready for `nasc train --arch` (`--format arch`), or the network `nasc train`
    /// trained, with its weights and in eval mode, as an ONNX model that runs without nasc
    /// (`--format onnx`, written to `DIR/model.onnx`), or as PyTorch code and weights
    /// (`--format pytorch`: `DIR/model.py` and `DIR/model.safetensors`).
    Export {
        /// An experiment directory (`nasc search --out`) or a training directory (`nasc train
        /// --out`, holding `model.bpk` and `metrics.json`).
        dir: PathBuf,
        /// What to write (default: `onnx` for a training directory, `arch` otherwise).
        #[arg(long, value_enum)]
        format: Option<ExportFormat>,
        /// How many of the best trials (`--format arch`; default 1).
        #[arg(long)]
        top: Option<usize>,
        /// The model file to write (`--format onnx`: default `DIR/model.onnx`; `--format
        /// pytorch`: the `.py` file, default `DIR/model.py`, its weights beside it as
        /// `.safetensors`).
        #[arg(long)]
        out: Option<PathBuf>,
        /// The `.nas` file of the space (`--format onnx|pytorch`; default: the one `DIR/metrics.json`
        /// names, relative to the directory `nasc train` ran in).
        #[arg(long)]
        space: Option<PathBuf>,
    },
    /// Write an HTML report of an experiment to `DIR/report.html`: the search's charts, its
    /// trials and its best architectures drawn (one self-contained file; no server, no
    /// network). For a directory of experiments, a report of each and a page comparing them.
    Report {
        /// The experiment directory, or a directory of experiments.
        dir: PathBuf,
        /// Also draw this trial's architecture, first (repeatable).
        #[arg(long = "trial", value_name = "N")]
        trials: Vec<u64>,
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

/// What `nasc export` writes.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ExportFormat {
    /// The best architectures of an experiment, NNI's flat JSON (`DIR/export/topK-trialN.json`).
    Arch,
    /// A trained network as an ONNX model (opset 17, dynamic batch; ONNX Runtime runs it).
    Onnx,
    /// A trained network as PyTorch code, `model.py` (an `nn.Module`), and its state dict,
    /// `model.safetensors`, to retrain or fine-tune in PyTorch.
    Pytorch,
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
                Some(dir) => resume_search(&dir, args.max_trials),
                None => search(args),
            }
        }
        Command::Runs { action: None, root } => runs(&root),
        Command::Runs { action: Some(RunsAction::Show { dir, top }), .. } => runs_show(&dir, top),
        Command::Export { dir, format, top, out, space } => {
            let trained = dir.join("model.bpk").is_file() && dir.join("metrics.json").is_file();
            match format.unwrap_or(if trained { ExportFormat::Onnx } else { ExportFormat::Arch }) {
                ExportFormat::Arch if trained => {
                    let d = dir.display().to_string();
                    eprintln!(
                        "{}",
                        wording::command_problem(&CommandProblem::TrainedNotExperiment(&d))
                    );
                    ExitCode::from(2)
                }
                ExportFormat::Arch if out.is_some() || space.is_some() => {
                    eprintln!("{}", wording::command_problem(&CommandProblem::ModelFlagsWithArch));
                    ExitCode::from(2)
                }
                ExportFormat::Arch => export(&dir, top.unwrap_or(1)),
                ExportFormat::Onnx | ExportFormat::Pytorch if top.is_some() => {
                    eprintln!("{}", wording::command_problem(&CommandProblem::TopWithModel));
                    ExitCode::from(2)
                }
                ExportFormat::Onnx => {
                    export_model(&dir, Model::Onnx, out.as_deref(), space.as_deref())
                }
                ExportFormat::Pytorch => {
                    export_model(&dir, Model::Pytorch, out.as_deref(), space.as_deref())
                }
            }
        }
        Command::Report { dir, trials } => report(&dir, &trials),
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

/// Every strategy's name, multi-trial then one-shot.
fn strategy_names() -> String {
    let multi = crate::strategy::StrategyKind::ALL.iter().map(|k| k.name());
    let one = crate::lower::OneShotKind::ALL.iter().map(|k| k.name());
    multi.chain(one).collect::<Vec<_>>().join(", ")
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
