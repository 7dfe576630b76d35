//! `nasc runs`, `nasc runs show`, `nasc export` and `nasc bench`: experiments read back.

use super::*;

/// Every experiment directory under `root`, sorted.
pub(super) fn experiment_dirs(root: &std::path::Path) -> Vec<PathBuf> {
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
pub(super) fn maximizes(info: &crate::experiment::ExperimentInfo) -> bool {
    stored(info).is_none_or(|c| c.mode() == crate::strategy::Mode::Max)
}

/// An experiment's typed configuration; `None` for one this nasc cannot read (shown as `?`).
pub(super) fn stored(info: &crate::experiment::ExperimentInfo) -> Option<launch::ExperimentConfig> {
    launch::ExperimentConfig::from_stored(&info.config).ok()
}

pub(super) fn runs(root: &std::path::Path) -> ExitCode {
    if !root.is_dir() {
        let root = root.display().to_string();
        eprintln!("{}", wording::command_problem(&CommandProblem::NotARunsDirectory(&root)));
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
                    shown_status(&dir, &info),
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

/// The status to show for the experiment in `dir`: the stored one, except that a `running`
/// experiment that no process runs is [`wording::STOPPED`].
fn shown_status(dir: &std::path::Path, info: &crate::experiment::ExperimentInfo) -> &'static str {
    let running = info.status == crate::experiment::ExperimentStatus::Running;
    if running && !crate::experiment::search::held(dir) {
        wording::STOPPED
    } else {
        info.status.as_str()
    }
}

/// The finished trials of an experiment, best first.
pub(super) fn ranked(
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

pub(super) fn runs_show(dir: &std::path::Path, top: usize) -> ExitCode {
    let (info, trials) = match ranked(dir) {
        Ok(r) => r,
        Err(c) => return c,
    };
    println!(
        "{}: {} search of {}, {}",
        dir.display(),
        stored(&info).map_or("?", |c| c.strategy()),
        info.space_path,
        shown_status(dir, &info)
    );
    if let Some(reason) = &info.reason {
        println!("failed: {reason}");
    }
    if shown_status(dir, &info) == wording::STOPPED {
        println!("{}", wording::stopped_experiment(&dir.display().to_string()));
    }
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

pub(super) fn export(dir: &std::path::Path, top: usize) -> ExitCode {
    if top == 0 {
        eprintln!("{}", wording::command_problem(&CommandProblem::TopAtLeastOne));
        return ExitCode::from(2);
    }
    let (_, trials) = match ranked(dir) {
        Ok(r) => r,
        Err(c) => return c,
    };
    if trials.is_empty() {
        let dir = dir.display().to_string();
        eprintln!("{}", wording::command_problem(&CommandProblem::NothingToExport(&dir)));
        return ExitCode::from(1);
    }
    // The architectures are checked against the experiment's space before any is written: a
    // store changed by hand must not yield a file that `nasc train` then refuses.
    match stored_space(dir) {
        Ok(graph) => {
            for t in trials.iter().take(top) {
                if let Err(errors) = crate::arch::Architecture::from_json(&graph, &t.arch) {
                    let problems = wording::arch_problems(&t.arch, &errors);
                    let d = dir.display().to_string();
                    let p = CommandProblem::StoredArchInvalid {
                        dir: &d,
                        trial: t.id.0,
                        problems: &problems,
                    };
                    eprintln!("{}", wording::command_problem(&p));
                    return ExitCode::from(1);
                }
            }
        }
        Err(why) => {
            eprintln!(
                "{}",
                wording::command_problem(&CommandProblem::ExportUnchecked { why: &why })
            )
        }
    }
    let out = dir.join("export");
    if let Err(e) = std::fs::create_dir_all(&out) {
        let (path, error) = (out.display().to_string(), e.to_string());
        eprintln!(
            "{}",
            wording::command_problem(&CommandProblem::CannotCreate { path: &path, error: &error })
        );
        return ExitCode::from(1);
    }
    for (rank, t) in trials.iter().take(top).enumerate() {
        let path = out.join(format!("top{}-trial{}.json", rank + 1, t.id.0));
        let pretty = serde_json::from_str::<serde_json::Value>(&t.arch)
            .map(|v| serde_json::to_string_pretty(&v).unwrap_or(t.arch.clone()))
            .unwrap_or(t.arch.clone());
        if let Err(e) = std::fs::write(&path, pretty + "\n") {
            let (path, error) = (path.display().to_string(), e.to_string());
            let p = CommandProblem::CannotWrite { path: &path, error: &error };
            eprintln!("{}", wording::command_problem(&p));
            return ExitCode::from(1);
        }
        println!("{}", path.display());
    }
    ExitCode::SUCCESS
}

/// The searched network of the experiment in `dir`, compiled from its space file when that file
/// is unchanged since the experiment started; otherwise why not, in words.
fn stored_space(dir: &std::path::Path) -> Result<crate::ir::Graph, String> {
    let store = crate::experiment::Store::open(dir).map_err(|e| e.to_string())?;
    let info = store.info().map_err(|e| e.to_string())?;
    let file = std::path::PathBuf::from(&info.space_path);
    let text = std::fs::read(&file)
        .map_err(|e| format!("cannot read the experiment's space {}: {e}", file.display()))?;
    if crate::experiment::hash_space(&String::from_utf8_lossy(&text)) != info.space_hash {
        return Err(format!("the experiment's space {} changed since it started", file.display()));
    }
    crate::launch::compile_space(&file)
        .map(|s| s.graph)
        .map_err(|_| format!("the experiment's space {} does not compile", file.display()))
}

pub(super) fn bench_nb201(
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
        let all = names.join(", ");
        let p = CommandProblem::UnknownStrategy { name: strategy, all: &all };
        eprintln!("{}", wording::command_problem(&p));
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
