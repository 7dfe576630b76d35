//! `nasc report`: an experiment's HTML report (written by [`crate::report`]).

use super::*;
use crate::experiment::{Store, TrialId};
use crate::report::{self as page, ReportError};

/// Prints a report error (a directory that is missing, holds no experiment, or one that cannot
/// be read; a page that cannot be written) and gives exit code 1.
fn fail(e: &ReportError) -> ExitCode {
    eprintln!("error: {}", page::describe(e));
    ExitCode::from(1)
}

pub(super) fn report(dir: &std::path::Path, trials: &[u64]) -> ExitCode {
    let one = dir.join(crate::experiment::DB_FILE).exists();
    let mut options = page::Options::default();
    if !trials.is_empty() {
        if !one && dir.is_dir() {
            let d = dir.display().to_string();
            eprintln!("{}", wording::command_problem(&CommandProblem::TrialNeedsOneExperiment(&d)));
            return ExitCode::from(2);
        }
        let store = match Store::open(dir) {
            Ok(s) => s,
            Err(e) => return fail(&e.into()),
        };
        for &n in trials {
            if let Err(e) = store.trial(TrialId(n)) {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
            options.trials.push(TrialId(n));
        }
    }
    match page::write_dir(dir, &options) {
        Ok(pages) => {
            match pages.split_first() {
                Some((first, rest)) if !rest.is_empty() => println!(
                    "report: {} (comparing the experiments under {}; {} of them have their own report)",
                    first.display(),
                    dir.display(),
                    rest.len()
                ),
                Some((first, _)) => println!("report: {}", first.display()),
                None => {}
            }
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e),
    }
}
