//! `nasc check`, `nasc sample`, `nasc ast` and `nasc tokens`: the front end on a file.

use super::*;

pub(super) fn check(
    file: &std::path::Path,
    format: Format,
    color: Color,
    emit: Option<Emit>,
    arch: Option<&std::path::Path>,
    strategy: Option<&str>,
) -> ExitCode {
    if emit == Some(Emit::Svg) {
        // One architecture drawn: the space compiled and the architecture fixed as `nasc train`
        // does (diagnostics and errors printed the same way), the SVG on standard output.
        let fixed = match super::train::load_fixed(file, arch) {
            Ok(f) => f.fixed,
            Err(code) => return code,
        };
        let title = format!("{}: {} operators", fixed.name, fixed.nodes.len());
        println!("{}", crate::report::graph::draw(&fixed, "architecture", &title));
        return ExitCode::SUCCESS;
    }
    // A one-shot strategy must lower every choice to its supernet; multi-trial strategies
    // take any space that checks.
    let one_shot = match strategy {
        Some(name) => match crate::lower::OneShotKind::from_name(name) {
            Some(kind) => Some(kind),
            None if crate::strategy::StrategyKind::ALL.iter().any(|k| k.name() == name) => None,
            None => {
                let all = strategy_names();
                eprintln!(
                    "{}",
                    wording::command_problem(&CommandProblem::UnknownStrategy { name, all: &all })
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
            eprintln!("{}", wording::command_problem(&CommandProblem::CannotCost(reason)));
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

pub(super) fn sample(file: &std::path::Path, seed: u64, count: usize) -> ExitCode {
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

pub(super) fn summary(program: &Program, path: &str) -> String {
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

pub(super) fn read_text(file: &std::path::Path) -> Result<String, ExitCode> {
    match std::fs::read(file) {
        Ok(b) => Ok(String::from_utf8_lossy(&b).into_owned()),
        Err(e) => {
            let (path, error) = (file.display().to_string(), e.to_string());
            let p = CommandProblem::CannotRead { path: &path, error: &error };
            eprintln!("{}", wording::command_problem(&p));
            Err(ExitCode::from(2))
        }
    }
}

pub(super) fn ast(file: &std::path::Path) -> ExitCode {
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

pub(super) fn tokens(file: &std::path::Path) -> ExitCode {
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
