//! `nasc search` as a user runs it: trials recorded in the experiment database, results
//! exported, a grid that exhausts its space, failed trials that do not stop the search, and a
//! search killed with SIGKILL that resumes without losing or rerunning a finished trial.

mod common;

use nasc::experiment::{Store, TrialStatus};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const SPACE: &str = "tests/data/tiny_search.nas";

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

/// A quick per-trial budget: one epoch of a few steps.
const QUICK: [&str; 6] = ["--epochs", "1", "--max-steps", "3", "--batch-size", "32"];

fn search(dir: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["search", SPACE, "--out", dir.to_str().expect("utf8")];
    args.extend(QUICK);
    args.extend(extra);
    nasc(&args)
}

#[test]
fn a_search_records_every_trial_and_exports_the_best() {
    let root = common::temp_dir("search-record");
    let dir = root.join("exp");
    let o = search(&dir, &["--strategy", "random", "--max-trials", "4", "--seed", "1"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(
        text(&o.stdout).contains("4 trials succeeded, 0 failed; stopped: max trials"),
        "{}",
        text(&o.stdout)
    );
    let store = Store::open(&dir).expect("the experiment opens");
    let trials = store.trials().expect("trials");
    assert_eq!(trials.len(), 4);
    let mut archs: Vec<&str> = trials.iter().map(|t| t.arch.as_str()).collect();
    archs.sort();
    archs.dedup();
    assert_eq!(archs.len(), 4, "random search with dedup never repeats an architecture");
    for t in &trials {
        assert_eq!(t.status, TrialStatus::Succeeded);
        assert!(t.metric.is_some_and(|m| (0.0..=1.0).contains(&m)));
        assert_eq!(store.epochs(t.id).expect("epochs").len(), 1, "per-epoch metrics are recorded");
        assert!(t.params > 0);
    }
    let info = store.info().expect("info");
    assert_eq!(info.config["strategy"], "random");
    assert_eq!(info.config["metric"], "val_acc");
    assert!(info.command.contains("--max-trials 4"));
    // best.json is an architecture `nasc check --arch` (and so `nasc train --arch`) accepts.
    let best = dir.join("best.json");
    let o = nasc(&["check", SPACE, "--arch", best.to_str().expect("utf8")]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let best_metric = trials.iter().filter_map(|t| t.metric).fold(f64::MIN, f64::max);
    // `nasc runs` lists it; `nasc runs show` ranks it; `nasc export` writes the top K.
    let o = nasc(&["runs", "--root", root.to_str().expect("utf8")]);
    assert!(
        text(&o.stdout).contains("exp") && text(&o.stdout).contains(&format!("{best_metric:.4}")),
        "{}",
        text(&o.stdout)
    );
    let o = nasc(&["runs", "show", dir.to_str().expect("utf8"), "--top", "2"]);
    let shown = text(&o.stdout);
    assert!(
        shown
            .lines()
            .any(|l| l.trim_start().starts_with("1 ") && l.contains(&format!("{best_metric:.4}"))),
        "{shown}"
    );
    let o = nasc(&["export", dir.to_str().expect("utf8"), "--top", "2"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let files: Vec<&str> = text(&o.stdout).leak().lines().collect();
    assert_eq!(files.len(), 2);
    for f in files {
        let o = nasc(&["check", SPACE, "--arch", f]);
        assert_eq!(o.status.code(), Some(0), "{f}: {}", text(&o.stderr));
    }
    // The same directory cannot hold a second experiment.
    let o = search(&dir, &["--strategy", "random", "--max-trials", "1"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("--resume"), "{}", text(&o.stderr));
}

#[test]
fn grid_search_trains_every_architecture_once_and_stops() {
    let dir = common::temp_dir("search-grid");
    let o = search(&dir, &["--strategy", "grid"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(
        text(&o.stdout).contains("6 trials succeeded, 0 failed; stopped: space exhausted"),
        "{}",
        text(&o.stdout)
    );
    let trials = Store::open(&dir).expect("opens").trials().expect("trials");
    let mut archs: Vec<String> = trials.iter().map(|t| t.arch.clone()).collect();
    archs.sort();
    archs.dedup();
    assert_eq!(archs.len(), 6);
}

#[test]
fn failed_trials_are_recorded_and_the_search_goes_on() {
    // Regression targets of 1e30 make every trial's loss overflow.
    let dir = common::temp_dir("search-fail");
    common::write_npy(&dir.join("x.npy"), &[40, 1, 28, 28], &vec![0.5; 40 * 28 * 28]);
    common::write_npy(&dir.join("y.npy"), &[40, 10], &[1e30; 400]);
    let spec = format!("npy:{},{}", dir.join("x.npy").display(), dir.join("y.npy").display());
    let exp = dir.join("exp");
    let o = search(
        &exp,
        &["--strategy", "random", "--max-trials", "3", "--data", &spec, "--task", "regression"],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("no trial succeeded"), "{}", text(&o.stderr));
    let trials = Store::open(&exp).expect("opens").trials().expect("trials");
    assert_eq!(trials.len(), 3, "the search went on after the first failure");
    for t in trials {
        assert_eq!(t.status, TrialStatus::Failed);
        assert!(t.error.as_deref().is_some_and(|e| e.contains("diverged")), "{:?}", t.error);
    }
}

/// The resume test: SIGKILL a running search, resume it, and compare with a search
/// that was never interrupted.
#[test]
fn a_killed_search_resumes_without_losing_or_rerunning_trials() {
    let root = common::temp_dir("search-kill");
    let killed = root.join("killed");
    let args = |dir: &Path| -> Vec<String> {
        let mut a: Vec<String> = [
            "search",
            SPACE,
            "--strategy",
            "evolution",
            "--option",
            "population_size=3",
            "--option",
            "sample_size=2",
            "--max-trials",
            "6",
            "--seed",
            "5",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        a.extend(
            ["--epochs", "1", "--max-steps", "15", "--batch-size", "32", "--out"]
                .iter()
                .map(|s| s.to_string()),
        );
        a.push(dir.display().to_string());
        a
    };
    let mut child = Command::new(env!("CARGO_BIN_EXE_nasc"))
        .args(args(&killed))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawns");
    // Kill it once two trials have finished (a third is then running or about to be).
    let deadline = Instant::now() + Duration::from_secs(120);
    let finished_before = loop {
        std::thread::sleep(Duration::from_millis(50));
        let done = Store::open(&killed)
            .ok()
            .and_then(|s| s.trials().ok())
            .map(|t| t.into_iter().filter(|t| t.status.is_finished()).collect::<Vec<_>>());
        if let Some(done) = done.filter(|d| d.len() >= 2) {
            child.kill().expect("SIGKILL");
            child.wait().expect("reaped");
            break done;
        }
        assert!(Instant::now() < deadline, "the search did not finish two trials in time");
        assert!(
            child.try_wait().expect("status").is_none(),
            "the search ended before it could be killed"
        );
    };
    // Trials may have finished between the last look and the kill: read them again.
    let before = Store::open(&killed).expect("opens after the kill").trials().expect("trials");
    assert!(before.iter().filter(|t| t.status.is_finished()).count() >= finished_before.len());
    let o = nasc(&["search", "--resume", killed.to_str().expect("utf8")]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let after = Store::open(&killed).expect("opens").trials().expect("trials");
    assert_eq!(after.len(), 6);
    for b in before.iter().filter(|t| t.status.is_finished()) {
        let a = after.iter().find(|a| a.id == b.id).expect("still there");
        assert_eq!(
            (a.status, a.metric, a.attempts, &a.arch),
            (b.status, b.metric, 1, &b.arch),
            "trial {} was finished before the kill: kept, not rerun",
            b.id.0
        );
    }
    assert!(after.iter().all(|t| t.status == TrialStatus::Succeeded));
    // The same search, never interrupted, proposes the same architectures in the same order.
    let clean = root.join("clean");
    let o = Command::new(env!("CARGO_BIN_EXE_nasc"))
        .args(args(&clean))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("runs");
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let uninterrupted = Store::open(&clean).expect("opens").trials().expect("trials");
    let archs =
        |t: &[nasc::experiment::TrialRecord]| t.iter().map(|t| t.arch.clone()).collect::<Vec<_>>();
    assert_eq!(archs(&after), archs(&uninterrupted), "the strategy continued from the same state");
    // A directory that holds no experiment is refused, naming it.
    let o = nasc(&["search", "--resume", root.join("missing").to_str().expect("utf8")]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("missing"), "{}", text(&o.stderr));
}

#[test]
fn resuming_after_the_space_changed_is_refused() {
    let dir = common::temp_dir("search-changed");
    let space = dir.join("space.nas");
    std::fs::copy(SPACE, &space).expect("copy");
    let exp = dir.join("exp");
    let mut args = vec![
        "search",
        space.to_str().expect("utf8"),
        "--strategy",
        "random",
        "--max-trials",
        "1",
        "--out",
        exp.to_str().expect("utf8"),
    ];
    args.extend(QUICK);
    let o = nasc(&args);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    std::fs::write(
        &space,
        std::fs::read_to_string(SPACE).expect("read").replace("[4, 8, 12]", "[4, 8, 16]"),
    )
    .expect("edit");
    let o = nasc(&["search", "--resume", exp.to_str().expect("utf8")]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("changed since the experiment started"),
        "{}",
        text(&o.stderr)
    );
}

/// Bad settings are refused before the experiment exists (exit 2, no directory left behind),
/// and data that cannot fit the space is refused once, not trial after trial.
#[test]
fn bad_search_settings_leave_no_experiment_behind() {
    let root = common::temp_dir("search-settings");
    for (extra, words) in [
        (vec!["--concurrency", "0", "--max-trials", "1"], "--concurrency"),
        (vec!["--max-trials", "0"], "--max-trials"),
        (vec!["--max-trials", "1", "--option", "population_size=0"], "population_size"),
        (vec!["--max-trials", "1", "--metric", "val_mse"], "--task regression"),
        (vec!["--max-trials", "1", "--option", "nonsense=1"], "nonsense"),
    ] {
        let dir = root.join("exp");
        let o = search(&dir, &[vec!["--strategy", "evolution"], extra.clone()].concat());
        assert_eq!(o.status.code(), Some(2), "{extra:?}: {}", text(&o.stderr));
        assert!(text(&o.stderr).contains(words), "{extra:?}: {}", text(&o.stderr));
        assert!(!dir.exists(), "{extra:?} left {} behind", dir.display());
    }
    // MNIST digits are 1x28x28; a space over CIFAR-sized input is refused with E0301 at once.
    let space = root.join("cifar.nas");
    std::fs::write(
        &space,
        "network C(x: Tensor[n, 3, 32, 32]) -> Tensor[n, 10] {\n    return linear(global_avg_pool(conv_bn_relu(x, out: choice w [4, 8])), out: 10)\n}\n",
    )
    .expect("write");
    let dir = root.join("cifar");
    let o = nasc(&[
        "search",
        space.to_str().expect("utf8"),
        "--max-trials",
        "3",
        "--out",
        dir.to_str().expect("utf8"),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("E0301"), "{}", text(&o.stderr));
    assert!(!dir.exists());
    // A network with fewer outputs than the data has classes is refused before training.
    let five = root.join("five.nas");
    std::fs::write(
        &five,
        "network F(x: Tensor[n, 1, 28, 28]) -> Tensor[n, 5] {\n    return linear(global_avg_pool(conv_bn_relu(x, out: choice w [4, 8])), out: 5)\n}\n",
    )
    .expect("write");
    let o = nasc(&[
        "search",
        five.to_str().expect("utf8"),
        "--max-trials",
        "3",
        "--out",
        root.join("five").to_str().expect("utf8"),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("10 classes") && text(&o.stderr).contains("outputs 5"),
        "{}",
        text(&o.stderr)
    );
    assert!(!text(&o.stderr).contains("panicked"));
}

#[test]
fn a_search_resumes_from_another_directory() {
    let root = common::temp_dir("search-cwd");
    let exp = root.join("exp");
    let o = search(&exp, &["--strategy", "random", "--max-trials", "1"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let o = Command::new(env!("CARGO_BIN_EXE_nasc"))
        .args(["search", "--resume", exp.to_str().expect("utf8")])
        .current_dir(&root)
        .output()
        .expect("runs");
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    // Flags that would change the experiment are refused with --resume.
    let o = nasc(&["search", "--resume", exp.to_str().expect("utf8"), "--epochs", "5"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
}

#[test]
fn a_finished_search_resumes_to_more_trials() {
    let root = common::temp_dir("search-extend");
    let exp = root.join("exp");
    let o = search(&exp, &["--strategy", "evolution", "--max-trials", "2", "--seed", "3"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let before = Store::open(&exp).expect("opens").trials().expect("trials");
    assert_eq!(before.len(), 2);
    // --max-trials on resume is the new budget in all: three more trials, the first two kept.
    let o = nasc(&["search", "--resume", exp.to_str().expect("utf8"), "--max-trials", "5"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let store = Store::open(&exp).expect("opens");
    let after = store.trials().expect("trials");
    assert_eq!(after.len(), 5, "{}", text(&o.stderr));
    assert!(after.iter().all(|t| t.status == TrialStatus::Succeeded));
    for (a, b) in before.iter().zip(&after) {
        assert_eq!((a.id, &a.arch, a.metric), (b.id, &b.arch, b.metric));
    }
    // The new budget is the experiment's: a plain resume now has nothing left to do.
    let info = store.info().expect("info");
    assert_eq!(info.config["max_trials"], serde_json::json!(5), "{}", info.config);
    let o = nasc(&["search", "--resume", exp.to_str().expect("utf8")]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(Store::open(&exp).expect("opens").trials().expect("trials").len(), 5);
}

#[test]
fn a_running_search_cannot_be_resumed_twice() {
    let root = common::temp_dir("search-lock");
    let exp = root.join("exp");
    let mut child = Command::new(env!("CARGO_BIN_EXE_nasc"))
        .args([
            "search",
            SPACE,
            "--strategy",
            "random",
            "--max-trials",
            "6",
            "--epochs",
            "1",
            "--max-steps",
            "100",
            "--out",
            exp.to_str().expect("utf8"),
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawns");
    let deadline = Instant::now() + Duration::from_secs(120);
    while Store::open(&exp).ok().and_then(|s| s.trials().ok()).is_none_or(|t| t.is_empty()) {
        assert!(Instant::now() < deadline, "the search did not start in time");
        std::thread::sleep(Duration::from_millis(20));
    }
    let o = nasc(&["search", "--resume", exp.to_str().expect("utf8")]);
    let still_running = child.try_wait().expect("status").is_none();
    child.kill().ok();
    child.wait().expect("reaped");
    assert!(
        still_running,
        "the first search finished before the second could try (give it more work)"
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("another nasc process"), "{}", text(&o.stderr));
    // Once the first process is gone (killed), its lock is gone too.
    let o = nasc(&["search", "--resume", exp.to_str().expect("utf8")]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
}

/// Ctrl-C (SIGINT) stops a search cleanly: no trial starts after it, the running one stops at
/// its next step and is left unfinished (not failed), the experiment reads `interrupted`, the
/// process says how to resume and exits with 130; `--resume` trains the stopped trial again,
/// finishes the budget and the experiment reads `done`.
#[cfg(unix)]
#[test]
fn ctrl_c_interrupts_a_search_which_then_resumes() {
    use nasc::experiment::ExperimentStatus;
    let root = common::temp_dir("search-sigint");
    let exp = root.join("exp");
    let child = Command::new(env!("CARGO_BIN_EXE_nasc"))
        .args(["search", SPACE, "--strategy", "random", "--max-trials", "6", "--seed", "2"])
        .args(["--epochs", "1", "--max-steps", "200", "--batch-size", "32", "--out"])
        .arg(&exp)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawns");
    // Interrupt once a trial has finished (the next one is then running).
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let done = Store::open(&exp)
            .ok()
            .and_then(|s| s.trials().ok())
            .is_some_and(|t| t.iter().any(|t| t.status.is_finished()));
        if done {
            break;
        }
        assert!(Instant::now() < deadline, "the search did not finish a trial in time");
        std::thread::sleep(Duration::from_millis(20));
    }
    let pid = i32::try_from(child.id()).expect("a pid");
    // SAFETY: sending a signal to our own child process, which has not been reaped yet.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
    let o = child.wait_with_output().expect("reaped");
    assert_eq!(o.status.code(), Some(130), "{}", text(&o.stderr));
    let err = text(&o.stderr);
    assert!(err.contains("; continue with `nasc search --resume"), "{err}");
    let store = Store::open(&exp).expect("opens");
    assert_eq!(store.info().expect("info").status, ExperimentStatus::Interrupted);
    let trials = store.trials().expect("trials");
    assert!(trials.len() < 6, "the search stopped before its budget: {} trials", trials.len());
    let statuses: Vec<TrialStatus> = trials.iter().map(|t| t.status).collect();
    let stopped = statuses.iter().filter(|s| !s.is_finished()).count();
    assert!(
        statuses.iter().all(|s| *s == TrialStatus::Succeeded || !s.is_finished()) && stopped <= 1,
        "no trial failed; at most the running one was left unfinished: {statuses:?}"
    );
    if stopped == 1 {
        assert!(err.contains("1 running trial was stopped"), "{err}");
    }
    drop(store);
    let o = nasc(&["runs", "--root", root.to_str().expect("utf8")]);
    assert!(text(&o.stdout).contains("interrupted"), "{}", text(&o.stdout));
    let o = nasc(&["search", "--resume", exp.to_str().expect("utf8")]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let store = Store::open(&exp).expect("opens");
    assert_eq!(store.info().expect("info").status, ExperimentStatus::Done);
    assert_eq!(store.trials().expect("trials").len(), 6);
}

/// A setting that fails every trial (a learning rate that diverges) stops the search after the
/// first trials all fail the same way: the experiment is `failed` with the reason, instead of
/// `done` with every trial failed.
#[test]
fn a_setting_that_fails_every_trial_stops_the_search() {
    let root = common::temp_dir("search-failing");
    let exp = root.join("exp");
    let o = search(&exp, &["--strategy", "random", "--max-trials", "12", "--lr", "1e6"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    let err = text(&o.stderr);
    assert!(err.contains("the first 5 trials all failed the same way"), "{err}");
    let store = Store::open(&exp).expect("opens");
    let trials = store.trials().expect("trials");
    assert_eq!(trials.len(), 5, "{err}");
    assert!(trials.iter().all(|t| t.status == TrialStatus::Failed), "{err}");
    let info = store.info().expect("info");
    assert_eq!(info.status.as_str(), "failed");
    assert!(
        info.reason.as_deref().is_some_and(|r| r.contains("all failed the same way")),
        "{info:?}"
    );
    // `nasc runs show` says why.
    let o = nasc(&["runs", "show", exp.to_str().expect("utf8")]);
    assert!(text(&o.stdout).contains("failed: stopped: the first 5 trials"), "{}", text(&o.stdout));
}

/// Unmounts a tmpfs when dropped.
struct Mounted(std::path::PathBuf);
impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// A search whose disk fills up stops with an error that says so and how to go on; every
/// trial finished before is kept, `nasc runs` shows the experiment as stopped (not running),
/// and once there is room again it resumes. A real full disk: a 3 MiB tmpfs, filled by a file
/// while the search runs (needs root to mount; CI runs as root).
#[test]
fn a_full_disk_stops_the_search_and_keeps_its_trials() {
    let root = common::temp_dir("search-full-disk");
    let mnt = root.join("mnt");
    std::fs::create_dir_all(&mnt).expect("mkdir");
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=3m", "tmpfs"])
        .arg(&mnt)
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        assert!(std::env::var_os("CI").is_none(), "CI must be able to mount a tmpfs (root)");
        eprintln!("skipped: mounting a tmpfs needs root");
        return;
    }
    let _guard = Mounted(mnt.clone());
    let exp = mnt.join("exp");
    let exp_s = exp.to_str().expect("utf8").to_string();
    let child = Command::new(env!("CARGO_BIN_EXE_nasc"))
        .args(["search", "examples/mnist.nas", "--max-trials", "500", "--out", &exp_s])
        .args(QUICK)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    let deadline = Instant::now() + Duration::from_secs(120);
    let succeeded = |exp: &Path| {
        Store::open(exp)
            .and_then(|s| s.trials())
            .map_or(0, |t| t.iter().filter(|t| t.status == TrialStatus::Succeeded).count())
    };
    while succeeded(&exp) < 3 {
        assert!(Instant::now() < deadline, "no three trials in time");
        std::thread::sleep(Duration::from_millis(100));
    }
    // Fill the disk.
    let fill = mnt.join("fill");
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&fill).expect("fill file");
        let block = vec![0u8; 64 * 1024];
        while f.write_all(&block).is_ok() {}
        let _ = f.sync_all();
    }
    let o = child.wait_with_output().expect("exits");
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("the disk is full") && err.contains("--resume"), "{err}");
    std::fs::remove_file(&fill).expect("room again");
    let store = Store::open(&exp).expect("opens");
    let trials = store.trials().expect("trials");
    let done: Vec<_> = trials.iter().filter(|t| t.status == TrialStatus::Succeeded).collect();
    assert!(done.len() >= 3, "{trials:?}");
    assert!(done.iter().all(|t| t.metric.is_some()));
    drop(store);
    let o = nasc(&["runs", "show", &exp_s]);
    assert!(text(&o.stdout).contains("stopped: its store says running"), "{}", text(&o.stdout));
    // With room again it goes on, keeping every finished trial.
    let total = trials.len() + 2;
    let o = nasc(&["search", "--resume", &exp_s, "--max-trials", &total.to_string()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let after = Store::open(&exp).expect("opens").trials().expect("trials");
    for t in &done {
        let again = after.iter().find(|a| a.id == t.id).expect("kept");
        assert_eq!((again.metric, &again.arch), (t.metric, &t.arch));
    }
}
