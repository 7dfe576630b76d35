//! One-shot searches killed with SIGKILL and resumed with `nasc search --resume`: after their
//! first checkpoint (every strategy), during SPOS's evolution, before the first checkpoint (the search starts over),
//! with a checkpoint write cut short (the previous checkpoint is used), and with a checkpoint
//! that is damaged or belongs to another search (refused, naming the file). Each resumed search
//! ends with what the same search, never interrupted, ends with: the same `best.json`, the same
//! probabilities, epochs and trials in the store.

mod common;

use nasc::experiment::{Store, TrialStatus};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const SPACE: &str = "tests/data/tiny_search.nas";
const CHECKPOINT: &str = "oneshot.ckpt";

fn nasc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nasc"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the nasc binary runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A small search of `strategy` into `dir`: three epochs of eight steps (a few tenths of a
/// second each), small options.
fn args(strategy: &str, dir: &Path) -> Vec<String> {
    let mut a: Vec<String> = ["search", SPACE, "--strategy", strategy, "--epochs", "3"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let mut more = vec![
        "--max-steps",
        "8",
        "--seed",
        "7",
        "--option",
        "calibration_batches=1",
        "--option",
        "score_batches=2",
    ];
    match strategy {
        "enas" => more.extend(["--option", "controller_steps=4"]),
        "random-oneshot" => more.extend([
            "--option",
            "search_candidates=6",
            "--option",
            "population=3",
            "--option",
            "tournament=2",
        ]),
        _ => {}
    }
    a.extend(more.iter().map(|s| s.to_string()));
    a.extend(["--out".to_string(), dir.display().to_string()]);
    a
}

fn run(strategy: &str, dir: &Path) {
    let a = args(strategy, dir);
    let o = nasc(&a.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
}

/// When to kill the search.
#[derive(Clone, Copy)]
enum Moment {
    /// As soon as its first checkpoint is on disk (between epochs, or early in the next).
    AfterFirstCheckpoint,
    /// As soon as its store exists: during the first epoch, before any checkpoint.
    BeforeAnyCheckpoint,
    /// As soon as its export has recorded a trial (SPOS: during its evolution).
    DuringExport,
}

/// Starts the search, SIGKILLs it at `moment` (asserting it was still running), and returns
/// whether a checkpoint was on disk after the kill.
fn start_and_kill(strategy: &str, dir: &Path, moment: Moment) -> bool {
    let mut child = Command::new(env!("CARGO_BIN_EXE_nasc"))
        .args(args(strategy, dir))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawns");
    let checkpoint: PathBuf = dir.join(CHECKPOINT);
    let ready = || match moment {
        Moment::AfterFirstCheckpoint => checkpoint.exists(),
        // The store is complete (it opens) before the first epoch starts.
        Moment::BeforeAnyCheckpoint => Store::open(dir).is_ok(),
        Moment::DuringExport => {
            Store::open(dir).ok().and_then(|s| s.trials().ok()).is_some_and(|t| !t.is_empty())
        }
    };
    let deadline = Instant::now() + Duration::from_secs(120);
    while !ready() {
        assert!(
            child.try_wait().expect("status").is_none(),
            "the search ended before it could be killed"
        );
        assert!(Instant::now() < deadline, "the moment to kill did not come in time");
        std::thread::sleep(Duration::from_millis(2));
    }
    assert!(child.try_wait().expect("status").is_none(), "the search ended before the kill");
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");
    dir.join(CHECKPOINT).exists()
}

fn resume(dir: &Path) -> Output {
    nasc(&["search", "--resume", dir.to_str().expect("utf8")])
}

/// One epoch's figures: epoch, training loss, validation loss and metric, architecture loss,
/// learning rate.
type Figures = (u32, f64, Option<f64>, Option<f64>, Option<f64>, f64);

/// Everything a search leaves that must not depend on an interruption: `best.json`, every
/// epoch's probabilities and figures (not its seconds), every trial's architecture, status and
/// metric.
#[derive(Debug, PartialEq)]
struct Outcome {
    best: String,
    probabilities: Vec<(u32, String, String, f64)>,
    epochs: Vec<Figures>,
    trials: Vec<(u64, String, TrialStatus, Option<f64>)>,
}

fn outcome(dir: &Path) -> Outcome {
    let store = Store::open(dir).expect("the experiment opens");
    Outcome {
        best: std::fs::read_to_string(dir.join("best.json")).expect("best.json"),
        probabilities: store.probabilities().expect("probabilities"),
        epochs: store
            .supernet_epochs()
            .expect("epochs")
            .into_iter()
            .map(|e| (e.epoch, e.train_loss, e.val_loss, e.val_metric, e.arch_loss, e.lr))
            .collect(),
        trials: store
            .trials()
            .expect("trials")
            .into_iter()
            .map(|t| (t.id.0, t.arch, t.status, t.metric))
            .collect(),
    }
}

/// The search of `strategy`, killed after its first checkpoint and resumed, ends as the same
/// search never interrupted (run twice first: it is deterministic).
fn killed_after_a_checkpoint_resumes_to_the_same_end(strategy: &str) {
    let root = common::temp_dir(&format!("resume-{strategy}"));
    let (clean, again, killed) = (root.join("clean"), root.join("again"), root.join("killed"));
    run(strategy, &clean);
    run(strategy, &again);
    let expected = outcome(&clean);
    assert_eq!(outcome(&again), expected, "two uninterrupted searches with one seed agree");
    assert_eq!(expected.epochs.len(), 3);
    assert!(!expected.trials.is_empty());
    assert!(start_and_kill(strategy, &killed, Moment::AfterFirstCheckpoint));
    let recorded = Store::open(&killed).expect("opens").supernet_epochs().expect("epochs");
    assert!(!recorded.is_empty(), "the first epoch was recorded before its checkpoint");
    assert!(!killed.join("best.json").exists(), "killed before its end");
    let o = resume(&killed);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let err = text(&o.stderr);
    assert!(err.contains("resuming after epoch"), "{err}");
    assert_eq!(outcome(&killed), expected, "the resumed search ends as the uninterrupted one");
    let info = Store::open(&killed).expect("opens").info().expect("info");
    assert_eq!(info.status.as_str(), "done");
}

#[test]
fn darts_killed_after_a_checkpoint_resumes_to_the_same_end() {
    killed_after_a_checkpoint_resumes_to_the_same_end("darts");
}

#[test]
fn enas_killed_after_a_checkpoint_resumes_to_the_same_end() {
    killed_after_a_checkpoint_resumes_to_the_same_end("enas");
}

#[test]
fn gumbel_darts_killed_after_a_checkpoint_resumes_to_the_same_end() {
    killed_after_a_checkpoint_resumes_to_the_same_end("gumbel-darts");
}

#[test]
fn proxyless_killed_after_a_checkpoint_resumes_to_the_same_end() {
    killed_after_a_checkpoint_resumes_to_the_same_end("proxyless");
}

/// SPOS (`random-oneshot`): its evolution over the trained supernet runs after the last epoch;
/// the resumed search runs it too and scores the same candidates.
#[test]
fn spos_killed_after_a_checkpoint_resumes_to_the_same_end() {
    killed_after_a_checkpoint_resumes_to_the_same_end("random-oneshot");
}

/// SPOS killed during its evolution over the trained supernet (after the last checkpoint): the
/// resumed search drops the candidates the interrupted evolution recorded and runs it again,
/// ending with the same trials and export.
#[test]
fn spos_killed_during_its_evolution_resumes_to_the_same_end() {
    let root = common::temp_dir("resume-evolution");
    let (clean, killed) = (root.join("clean"), root.join("killed"));
    run("random-oneshot", &clean);
    let expected = outcome(&clean);
    assert!(start_and_kill("random-oneshot", &killed, Moment::DuringExport));
    let before = Store::open(&killed).expect("opens").trials().expect("trials").len();
    assert!(
        (1..expected.trials.len()).contains(&before) && !killed.join("best.json").exists(),
        "killed during the evolution ({before} of {} candidates recorded)",
        expected.trials.len()
    );
    let o = resume(&killed);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("resuming after epoch 3 of 3"), "{}", text(&o.stderr));
    assert_eq!(outcome(&killed), expected);
}

/// Killed during the first epoch, before any checkpoint: the resumed search starts over and
/// still ends as the uninterrupted one.
#[test]
fn a_search_killed_before_its_first_checkpoint_starts_over() {
    let root = common::temp_dir("resume-early");
    let (clean, killed) = (root.join("clean"), root.join("killed"));
    run("darts", &clean);
    assert!(
        !start_and_kill("darts", &killed, Moment::BeforeAnyCheckpoint),
        "killed before the first checkpoint"
    );
    let o = resume(&killed);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(!text(&o.stderr).contains("resuming after epoch"), "{}", text(&o.stderr));
    assert_eq!(outcome(&killed), outcome(&clean));
}

/// A kill while a checkpoint is written leaves a partial temporary file beside the previous
/// checkpoint (the new one replaces it only by a rename once complete): the resumed search goes
/// on from the previous one. A finished search is not resumed again.
#[test]
fn a_checkpoint_write_cut_short_leaves_the_previous_checkpoint() {
    let root = common::temp_dir("resume-cut");
    let (clean, killed) = (root.join("clean"), root.join("killed"));
    run("darts", &clean);
    assert!(start_and_kill("darts", &killed, Moment::AfterFirstCheckpoint));
    let full = std::fs::read(killed.join(CHECKPOINT)).expect("the checkpoint");
    std::fs::write(killed.join("oneshot.ckpt.tmp"), &full[..full.len() / 2]).expect("writes");
    let o = resume(&killed);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(outcome(&killed), outcome(&clean));
    let o = resume(&killed);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("already finished"), "{}", text(&o.stderr));
}

/// A damaged checkpoint, and one of another search, are refused with an error that names the
/// file; the epochs already recorded stay in the store, and the search resumes once the bad
/// checkpoint is gone.
#[test]
fn a_damaged_or_foreign_checkpoint_is_refused() {
    let root = common::temp_dir("resume-bad");
    let (other, killed) = (root.join("other"), root.join("killed"));
    run("enas", &other);
    assert!(start_and_kill("darts", &killed, Moment::AfterFirstCheckpoint));
    let path = killed.join(CHECKPOINT);
    let full = std::fs::read(&path).expect("the checkpoint");
    let epochs = Store::open(&killed).expect("opens").supernet_epochs().expect("epochs").len();
    let cases: [(Vec<u8>, &str); 3] = [
        (full[..full.len() - 100].to_vec(), "damaged"),
        (b"not a checkpoint at all, but long enough".to_vec(), "not a nasc checkpoint"),
        (std::fs::read(other.join(CHECKPOINT)).expect("enas's"), "other settings"),
    ];
    for (bytes, want) in cases {
        std::fs::write(&path, bytes).expect("writes");
        let o = resume(&killed);
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{err}");
        assert!(err.contains(&path.display().to_string()) && err.contains(want), "{err}");
        assert!(!err.contains("panicked"), "{err}");
        let store = Store::open(&killed).expect("the store still opens");
        assert_eq!(store.supernet_epochs().expect("epochs").len(), epochs, "epochs kept");
    }
    std::fs::remove_file(&path).expect("removes");
    let o = resume(&killed);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(killed.join("best.json").exists());
}

/// One process runs a one-shot experiment at a time: resuming it while it runs is refused
/// (two processes would write the same checkpoint), and its store is left to the first.
#[test]
fn a_running_one_shot_search_cannot_be_resumed_twice() {
    let root = common::temp_dir("resume-lock");
    let exp = root.join("exp");
    let mut child = Command::new(env!("CARGO_BIN_EXE_nasc"))
        .args(["search", SPACE, "--strategy", "darts", "--epochs", "3", "--max-steps", "60"])
        .args(["--out", exp.to_str().expect("utf8")])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawns");
    let deadline = Instant::now() + Duration::from_secs(120);
    while Store::open(&exp).is_err() {
        assert!(Instant::now() < deadline, "the search did not start in time");
        std::thread::sleep(Duration::from_millis(5));
    }
    let o = resume(&exp);
    let still_running = child.try_wait().expect("status").is_none();
    child.kill().ok();
    child.wait().expect("reaped");
    assert!(still_running, "the first search finished before the second could try");
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("another nasc process"), "{}", text(&o.stderr));
    let info = Store::open(&exp).expect("opens").info().expect("info");
    assert_eq!(info.status.as_str(), "running", "the refused resume marks nothing failed");
}
