//! `nasc train` and `nasc eval`: one architecture, trained or evaluated.

use super::*;

/// A space compiled and one architecture of it fixed: what `nasc train` and `nasc eval` run.
pub(super) struct Fixed {
    pub(super) program: Program,
    pub(super) graph: Graph,
    pub(super) arch: Architecture,
    pub(super) fixed: arch::FixedGraph,
}

/// Compiles `file`, reads the architecture (or takes the only one of a space without
/// choices), and fixes it. Prints diagnostics and returns the exit code on failure.
pub(super) fn load_fixed(
    file: &std::path::Path,
    arch_path: Option<&std::path::Path>,
) -> Result<Fixed, ExitCode> {
    let (program, graph) = compile_space(file)?;
    let text = match arch_path {
        Some(path) => String::from_utf8_lossy(&std::fs::read(path).map_err(|e| {
            let (path, error) = (path.display().to_string(), e.to_string());
            let p = CommandProblem::CannotRead { path: &path, error: &error };
            eprintln!("{}", wording::command_problem(&p));
            ExitCode::from(2)
        })?)
        .into_owned(),
        None if graph.labels.is_empty() => "{}".to_string(),
        None => {
            let file = file.display().to_string();
            let p = CommandProblem::NeedsArch {
                network: &graph.name,
                labels: graph.labels.len(),
                file: &file,
            };
            eprintln!("{}", wording::command_problem(&p));
            return Err(ExitCode::from(2));
        }
    };
    fix_arch(program, graph, arch_path, text)
}

/// Reads the architecture `text` (from the file `arch_path`, or made in memory when `None`)
/// against `graph` and fixes it. Prints diagnostics and returns the exit code on failure.
pub(super) fn fix_arch(
    mut program: Program,
    graph: Graph,
    arch_path: Option<&std::path::Path>,
    text: String,
) -> Result<Fixed, ExitCode> {
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
        let e = e.to_string();
        eprintln!("{}", wording::command_problem(&CommandProblem::CannotFix(&e)));
        ExitCode::from(1)
    })?;
    Ok(Fixed { program, graph, arch, fixed })
}

/// Progress of a training run on standard error: an indicatif bar with ETA on a terminal,
/// one plain line per epoch otherwise.
pub(super) struct Progress {
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

pub(super) fn train(
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
        let (path, error) = (out.display().to_string(), e.to_string());
        let p = CommandProblem::CannotCreateOutput { path: &path, error: &error };
        eprintln!("{}", wording::command_problem(&p));
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
        let (path, error) = (out.display().to_string(), e.to_string());
        let p = CommandProblem::CannotCreate { path: &path, error: &error };
        eprintln!("{}", wording::command_problem(&p));
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
        let (path, error) = (path.display().to_string(), e.to_string());
        let p = CommandProblem::CannotWrite { path: &path, error: &error };
        eprintln!("{}", wording::command_problem(&p));
        return ExitCode::from(1);
    }
    let r = &report;
    println!(
        "{}",
        wording::trained(r.metric, r.test_metric, r.test_loss, r.params, r.seconds, out)
    );
    ExitCode::SUCCESS
}

pub(super) fn eval(
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
    // `nasc train` writes the architecture and the input normalisation next to the weights:
    // weights of another architecture whose tensors happen to have the same shapes are
    // refused, and the inputs are normalised as they were in training.
    let recorded = weights
        .parent()
        .map(|d| d.join("metrics.json"))
        .and_then(|p| std::fs::read(&p).ok().map(|b| (p, b)))
        .and_then(|(p, b)| serde_json::from_slice::<serde_json::Value>(&b).ok().map(|m| (p, m)));
    if let Some((path, m)) = &recorded {
        // Compared as networks: labels an architecture does not use do not matter.
        let given = crate::strategy::canonical(&graph, &arch);
        let trained = Architecture::from_json(&graph, &m["architecture"].to_string())
            .map(|a| crate::strategy::canonical(&graph, &a));
        if m.get("architecture").is_some() && trained.as_ref().ok() != Some(&given) {
            let (weights, arch) = (weights.display().to_string(), path.display().to_string());
            let p = CommandProblem::WeightsForAnotherArch { weights: &weights, arch: &arch };
            eprintln!("{}", wording::command_problem(&p));
            return ExitCode::from(1);
        }
    }
    let trained_normalization = recorded.as_ref().and_then(|(_, m)| {
        serde_json::from_value::<crate::data::Normalization>(m["report"]["normalization"].clone())
            .ok()
    });
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
        let mut test = splits.test.clone();
        let channels = crate::data::Normalization::channels_of(&test.item_shape);
        let normalization = match &trained_normalization {
            Some(n) if n.mean.len() == channels => n.clone(),
            other => {
                let why = match other {
                    None => "no metrics.json of `nasc train` beside the weights".to_string(),
                    Some(n) => format!(
                        "the weights were trained on data of {} channels, --data has {channels}",
                        n.mean.len()
                    ),
                };
                eprintln!(
                    "{}",
                    wording::normalization_refitted(&weights.display().to_string(), &why)
                );
                crate::data::Normalization::fit(&splits.train)
            }
        };
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
