//! `nasc search` (multi-trial and one-shot, through [`crate::launch`]) and its progress display.

use super::*;

/// The arguments of `nasc search` (without `--resume`).
pub(super) struct SearchArgs {
    pub(super) file: Option<PathBuf>,
    pub(super) strategy: String,
    pub(super) options: Vec<String>,
    pub(super) max_trials: Option<usize>,
    pub(super) max_duration: Option<String>,
    pub(super) concurrency: usize,
    pub(super) metric: Option<crate::experiment::search::Metric>,
    pub(super) mode: Option<ModeArg>,
    pub(super) out: Option<PathBuf>,
    pub(super) opts: TrainOpts,
    pub(super) unrolled: bool,
    pub(super) target: Option<(crate::ir::Measure, f64)>,
}

/// `90`, `90s`, `30m`, `2h` as seconds.
pub(super) fn parse_duration(text: &str) -> Option<f64> {
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

pub(super) fn search(args: SearchArgs) -> ExitCode {
    let Some(file) = args.file.clone() else {
        eprintln!("{}", wording::command_problem(&CommandProblem::SearchNeedsSpace));
        return ExitCode::from(2);
    };
    if let Some(kind) = crate::lower::OneShotKind::from_name(&args.strategy) {
        return one_shot_search(file, kind, args);
    }
    let Some(kind) =
        crate::strategy::StrategyKind::ALL.into_iter().find(|k| k.name() == args.strategy)
    else {
        let all = strategy_names();
        let p = CommandProblem::UnknownStrategy { name: &args.strategy, all: &all };
        eprintln!("{}", wording::command_problem(&p));
        return ExitCode::from(2);
    };
    if args.unrolled || args.target.is_some() {
        eprintln!("{}", wording::command_problem(&CommandProblem::OneShotFlagsForMultiTrial));
        return ExitCode::from(2);
    }
    let mut options = Vec::new();
    for o in &args.options {
        let Some((k, v)) = o.split_once('=') else {
            eprintln!("{}", wording::command_problem(&CommandProblem::OptionSyntax(o)));
            return ExitCode::from(2);
        };
        options.push((k.trim().to_string(), v.trim().to_string()));
    }
    let max_duration = match args.max_duration.as_deref().map(|d| (d, parse_duration(d))) {
        None => None,
        Some((_, Some(d))) => Some(d),
        Some((d, None)) => {
            eprintln!("{}", wording::command_problem(&CommandProblem::DurationSyntax(d)));
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

pub(super) fn resume_search(dir: &std::path::Path, max_trials: Option<usize>) -> ExitCode {
    let resumed = match launch::resume(dir) {
        Ok(r) => r,
        Err(e) => {
            // Resuming is never a bad command line: every failure is the experiment's.
            report_launch(&e);
            return ExitCode::from(1);
        }
    };
    let mut search = match resumed {
        launch::Resumed::MultiTrial(s) => *s,
        launch::Resumed::OneShot(s) => {
            if max_trials.is_some() {
                let p = CommandProblem::MultiTrialFlagsForOneShot;
                eprintln!("{}", wording::command_problem(&p));
                return ExitCode::from(2);
            }
            eprintln!(
                "resuming experiment {}: {} one-shot search of {}",
                dir.display(),
                s.stored().config.kind().name(),
                s.space().file.display()
            );
            let data = format!(" --data {}", s.stored().data);
            return run_one_shot(*s, data);
        }
    };
    if let Some(m) = max_trials {
        if let Err(e) = search.set_max_trials(m) {
            report_launch(&e);
            return ExitCode::from(1);
        }
    }
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
pub(super) struct SearchProgress {
    bar: Option<indicatif::ProgressBar>,
    metric: &'static str,
    total: Option<usize>,
    report: LiveReport,
}

/// The HTML report of a running search (`DIR/report.html`), rewritten after every finished
/// trial or one-shot epoch; a failure to write it is a warning, once, and the search goes on.
pub(super) struct LiveReport {
    live: Option<crate::report::Live>,
    warned: bool,
}

impl LiveReport {
    /// Writes the report of the experiment in `dir` a first time and prints where it is.
    fn start(dir: &std::path::Path, graph: &Graph) -> LiveReport {
        match crate::report::Live::start(dir, Some(graph.clone())) {
            Ok(live) => {
                eprintln!("{}", wording::report_at(&live.path().display().to_string()));
                LiveReport { live: Some(live), warned: false }
            }
            Err(e) => {
                eprintln!("{}", wording::report_not_written(&crate::report::describe(&e)));
                LiveReport { live: None, warned: true }
            }
        }
    }

    /// Rewrites the report from the store as it is now.
    fn rewrite(&mut self) {
        if let Some(Err(e)) = self.live.as_ref().map(crate::report::Live::rewrite) {
            if !self.warned {
                eprintln!("{}", wording::report_not_written(&crate::report::describe(&e)));
                self.warned = true;
            }
        }
    }
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
        self.report.rewrite();
    }
}

pub(super) fn run_search(search: launch::Search) -> ExitCode {
    let stop = match launch::stop_on_signals() {
        Ok(flag) => flag,
        Err(e) => {
            let e = e.to_string();
            eprintln!("{}", wording::command_problem(&CommandProblem::CtrlCHandler(&e)));
            return ExitCode::from(1);
        }
    };
    let (dir, metric) = (search.dir().to_path_buf(), search.config.metric);
    let report = LiveReport::start(&dir, search.graph());
    let mut progress = SearchProgress {
        bar: None,
        metric: metric.name(),
        total: search.config.max_trials,
        report,
    };
    let result = search.run(&mut progress, &stop);
    if let Some(bar) = &progress.bar {
        bar.finish_and_clear();
    }
    // The experiment's final status (done, interrupted, failed) on the page.
    progress.report.rewrite();
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
        let n = summary.interrupted;
        let running = match n {
            0 => String::new(),
            1 => " (1 running trial was stopped; it trains again on resume)".to_string(),
            n => format!(" ({n} running trials were stopped; they train again on resume)"),
        };
        eprintln!("interrupted{running}; continue with `nasc search --resume {}`", dir.display());
        return ExitCode::from(130);
    }
    ExitCode::SUCCESS
}

/// Progress of a one-shot search on standard error: an indicatif bar on a terminal, one line
/// per epoch otherwise.
pub(super) struct OneShotProgress {
    bar: Option<indicatif::ProgressBar>,
    /// The bar of the search over the trained supernet (on a terminal).
    candidates: Option<indicatif::ProgressBar>,
    report: LiveReport,
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
        self.report.rewrite();
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
pub(super) fn one_shot_search(
    file: PathBuf,
    kind: crate::lower::OneShotKind,
    args: SearchArgs,
) -> ExitCode {
    use crate::oneshot::{OneShotConfig, OptionError, StrategySettings};
    if args.max_trials.is_some()
        || args.max_duration.is_some()
        || args.concurrency != 1
        || args.metric.is_some()
        || args.mode.is_some()
    {
        eprintln!("{}", wording::command_problem(&CommandProblem::MultiTrialFlagsForOneShot));
        return ExitCode::from(2);
    }
    if args.opts.augment {
        eprintln!("{}", wording::command_problem(&CommandProblem::AugmentOneShot));
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
            eprintln!("{}", wording::command_problem(&CommandProblem::UnrolledNeedsDarts));
            return ExitCode::from(2);
        }
    }
    match (&mut cfg.strategy, args.target) {
        (StrategySettings::Proxyless(p), target) => p.target = target,
        (_, None) => {}
        (_, Some(_)) => {
            eprintln!("{}", wording::command_problem(&CommandProblem::TargetNeedsProxyless));
            return ExitCode::from(2);
        }
    }
    for opt in &args.options {
        let Some((k, v)) = opt.split_once('=') else {
            eprintln!("{}", wording::command_problem(&CommandProblem::OptionSyntax(opt)));
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
    let (labels, epochs) = (prepared.space.graph.labels.len(), settings.config.common.epochs);
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
    let data = if o.data == "mnist:examples/data/mnist" {
        String::new()
    } else {
        format!(" --data {}", o.data)
    };
    run_one_shot(search, data)
}

/// Runs a one-shot search (new or resumed) and prints what it exported, with the command that
/// retrains it (`data`: its `--data` argument, empty for the default). The report is rewritten
/// after every epoch and at the end.
fn run_one_shot(search: launch::OneShotSearch, data: String) -> ExitCode {
    let graph = search.space().graph.clone();
    let file = search.space().file.clone();
    let task = search.stored().config.common.task;
    let report = LiveReport::start(search.dir(), &graph);
    let mut progress = OneShotProgress { bar: None, candidates: None, report };
    let result = search.run(&mut progress);
    if let Some(bar) = &progress.bar {
        bar.finish_and_clear();
    }
    // The exported architecture and the final status (done or failed) on the page.
    progress.report.rewrite();
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
        "exported: trial {}, {} {:.4} in the supernet (this path alone, batch norm recalibrated), {} params; architecture in {}",
        summary.trial.0,
        if task == Task::Regression { "val mse" } else { "val accuracy" },
        summary.metric,
        wording::thousands(params),
        path.display()
    );
    println!("retrain it: nasc train {} --arch {}{data}", file.display(), path.display());
    ExitCode::SUCCESS
}
