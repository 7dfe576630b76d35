//! The experiment store (`nasc::experiment::store`): round trips, refusals, clear errors on bad
//! files, concurrent writers, and durability across a real SIGKILL of a writing process.

use nasc::experiment::{
    hash_space, EpochRecord, EventKind, ExperimentStatus, Store, StoreError, TrialId, TrialRecord,
    TrialStatus, DB_FILE,
};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// A fresh, unique, empty directory path under the system's temp dir (not created).
fn temp_dir(name: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let n = N.fetch_add(1, Ordering::SeqCst);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let dir = std::env::temp_dir()
        .join(format!("nasc-store-test-{}-{n}-{nanos}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

const SPACE: &str = "block B(x: Tensor[n, c]) -> Tensor[n, c] { return x }\n";

fn config() -> serde_json::Value {
    json!({"strategy": {"name": "evolution", "population_size": 100}, "seed": 7, "metric": "val_acc", "mode": "max",
           "max_trials": 20, "data": "mnist:examples/data/mnist", "training": {"epochs": 2, "lr": 0.01}})
}

fn new_store(name: &str) -> (PathBuf, Store) {
    let dir = temp_dir(name);
    let store = Store::create(
        &dir,
        "nasc search space.nas --strategy evolution",
        "space.nas",
        SPACE,
        &config(),
    )
    .expect("create");
    (dir, store)
}

fn arch(i: u64) -> String {
    let op = ["conv3", "sep3", "skip"][(i % 3) as usize];
    json!({"op": op, "width": 16 * (1 + i % 4), "inputs": [0, i % 2 + 1]}).to_string()
}

fn epoch(e: u32) -> EpochRecord {
    EpochRecord {
        epoch: e,
        train_loss: 1.0 / f64::from(e + 1),
        val_loss: Some(0.5 / f64::from(e + 1)),
        val_metric: Some(0.8 + 0.01 * f64::from(e)),
        lr: 0.01,
        seconds: 1.5,
    }
}

fn integrity(dir: &Path) -> String {
    let conn = rusqlite::Connection::open(dir.join(DB_FILE)).expect("open for integrity_check");
    conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).expect("integrity_check")
}

#[test]
fn store_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Store>();
}

#[test]
fn hash_space_is_fnv1a64() {
    assert_eq!(hash_space(""), "fnv1a64:cbf29ce484222325");
    assert_eq!(hash_space("a"), "fnv1a64:af63dc4c8601ec8c");
    assert_ne!(hash_space(SPACE), hash_space(&SPACE.replace('x', "y")));
}

#[test]
fn round_trip_of_everything() {
    let (dir, store) = new_store("round-trip");
    let info = store.info().unwrap();
    assert_eq!(info.command, "nasc search space.nas --strategy evolution");
    assert_eq!(info.config, config());
    assert_eq!(info.space_path, "space.nas");
    assert_eq!(info.space_hash, hash_space(SPACE));
    assert_eq!(info.status, ExperimentStatus::Running);
    assert!(info.created > 1.0e9 && info.updated >= info.created);
    assert_eq!(store.config().unwrap(), config());
    assert_eq!(store.command().unwrap(), info.command);
    assert_eq!(store.space_path().unwrap(), "space.nas");
    assert_eq!(store.space_hash().unwrap(), hash_space(SPACE));

    let a = store.ask(&arch(1), 1234, 56789).unwrap();
    let b = store.ask(&arch(2), u64::from(u32::MAX) * 4, 7).unwrap();
    let c = store.ask(&arch(3), 0, 0).unwrap();
    assert_eq!((a, b, c), (TrialId(1), TrialId(2), TrialId(3)));
    store.start(b).unwrap();
    store.start(a).unwrap();
    store.epoch(a, &epoch(0)).unwrap();
    store.epoch(a, &epoch(1)).unwrap();
    let odd = EpochRecord {
        epoch: 0,
        train_loss: f64::NAN,
        val_loss: None,
        val_metric: Some(f64::NAN),
        lr: 1e-4,
        seconds: 0.25,
    };
    store.epoch(b, &odd).unwrap();
    store.fail(b, "the training loss is NaN at epoch 0, step 3: training diverged", 2.5).unwrap();
    store.succeed(a, 0.9731, 12.25).unwrap();
    store.start(c).unwrap();
    store.set_status(ExperimentStatus::Interrupted).unwrap();

    let check = |store: &Store| {
        let trials = store.trials().unwrap();
        assert_eq!(trials.len(), 3);
        let ta = &trials[0];
        assert_eq!(
            (ta.id, ta.arch.as_str(), ta.status, ta.metric),
            (a, arch(1).as_str(), TrialStatus::Succeeded, Some(0.9731))
        );
        assert_eq!(
            (ta.params, ta.flops, ta.duration, ta.error.as_deref(), ta.attempts),
            (1234, 56789, Some(12.25), None, 1)
        );
        assert!(ta.started.unwrap() <= ta.finished.unwrap());
        let tb = &trials[1];
        assert_eq!(
            (tb.status, tb.metric, tb.params, tb.flops, tb.attempts),
            (TrialStatus::Failed, None, u64::from(u32::MAX) * 4, 7, 1)
        );
        assert_eq!(
            tb.error.as_deref(),
            Some("the training loss is NaN at epoch 0, step 3: training diverged")
        );
        assert_eq!(tb.duration, Some(2.5));
        let tc = &trials[2];
        assert_eq!(
            (tc.status, tc.metric, tc.finished, tc.duration, tc.attempts),
            (TrialStatus::Running, None, None, None, 1)
        );
        assert!(tc.started.is_some());
        assert_eq!(store.trial(b).unwrap(), *tb);

        assert_eq!(store.epochs(a).unwrap(), vec![epoch(0), epoch(1)]);
        let eb = store.epochs(b).unwrap();
        assert_eq!(eb.len(), 1);
        assert!(eb[0].train_loss.is_nan());
        assert_eq!(
            (eb[0].epoch, eb[0].val_loss, eb[0].val_metric, eb[0].lr, eb[0].seconds),
            (0, None, None, 1e-4, 0.25)
        );
        assert!(store.epochs(c).unwrap().is_empty());

        let events: Vec<(u64, TrialId, EventKind)> =
            store.events().unwrap().into_iter().map(|e| (e.seq, e.trial, e.kind)).collect();
        assert_eq!(
            events,
            vec![
                (1, a, EventKind::Ask),
                (2, b, EventKind::Ask),
                (3, c, EventKind::Ask),
                (4, b, EventKind::Tell { metric: None }),
                (5, a, EventKind::Tell { metric: Some(0.9731) }),
            ]
        );
        assert_eq!(store.info().unwrap().status, ExperimentStatus::Interrupted);
        assert_eq!(store.unfinished().unwrap().iter().map(|t| t.id).collect::<Vec<_>>(), vec![c]);
    };
    check(&store);
    let before = store.trials().unwrap();
    drop(store);
    let reopened = Store::open(&dir).unwrap();
    check(&reopened);
    assert_eq!(reopened.trials().unwrap(), before);
    assert_eq!(reopened.dir(), dir.as_path());
    assert_eq!(reopened.db_path(), dir.join(DB_FILE).as_path());
    // Ids continue after the last one.
    assert_eq!(reopened.ask(&arch(4), 1, 1).unwrap(), TrialId(4));
    drop(reopened);
    assert_eq!(integrity(&dir), "ok");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn best_respects_direction_and_skips_failures() {
    let (dir, store) = new_store("best");
    assert_eq!(store.best(true).unwrap(), None);
    let metrics = [0.5, 0.9, 0.1, 0.9, 0.3];
    let ids: Vec<TrialId> = metrics
        .iter()
        .enumerate()
        .map(|(i, _)| store.ask(&arch(i as u64), 1, 1).unwrap())
        .collect();
    for (id, m) in ids.iter().zip(metrics) {
        store.start(*id).unwrap();
        store.succeed(*id, m, 1.0).unwrap();
    }
    // A failed trial and an unfinished one never count.
    let f = store.ask(&arch(9), 1, 1).unwrap();
    store.fail(f, "out of memory", 0.1).unwrap();
    store.ask(&arch(10), 1, 1).unwrap();
    let best_max = store.best(true).unwrap().unwrap();
    assert_eq!(
        (best_max.id, best_max.metric),
        (ids[1], Some(0.9)),
        "the highest, the earliest on a tie"
    );
    let best_min = store.best(false).unwrap().unwrap();
    assert_eq!((best_min.id, best_min.metric), (ids[2], Some(0.1)));
    // Negative metrics (a loss to minimise written as its negative) order correctly too.
    let n = store.ask(&arch(11), 1, 1).unwrap();
    store.succeed(n, -3.0, 1.0).unwrap();
    assert_eq!(store.best(false).unwrap().unwrap().id, n);
    assert_eq!(store.best(true).unwrap().unwrap().id, ids[1]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn unfinished_lists_waiting_and_running_and_rerun_clears_epochs() {
    let (dir, store) = new_store("unfinished");
    let ids: Vec<TrialId> = (0..5).map(|i| store.ask(&arch(i), 1, 1).unwrap()).collect();
    store.start(ids[0]).unwrap();
    store.succeed(ids[0], 0.5, 1.0).unwrap();
    store.start(ids[1]).unwrap();
    store.epoch(ids[1], &epoch(0)).unwrap();
    store.epoch(ids[1], &epoch(1)).unwrap();
    store.start(ids[2]).unwrap();
    store.fail(ids[2], "boom", 1.0).unwrap();
    store.start(ids[4]).unwrap();
    let unfinished = store.unfinished().unwrap();
    assert_eq!(
        unfinished.iter().map(|t| (t.id, t.status)).collect::<Vec<_>>(),
        vec![
            (ids[1], TrialStatus::Running),
            (ids[3], TrialStatus::Waiting),
            (ids[4], TrialStatus::Running)
        ]
    );
    // After a crash, the running trial is rerun: its old epochs go, its attempts count up.
    drop(store);
    let store = Store::open(&dir).unwrap();
    store.start(ids[1]).unwrap();
    assert!(store.epochs(ids[1]).unwrap().is_empty());
    assert_eq!(store.trial(ids[1]).unwrap().attempts, 2);
    store.epoch(ids[1], &epoch(0)).unwrap();
    store.succeed(ids[1], 0.75, 3.0).unwrap();
    assert_eq!(store.epochs(ids[1]).unwrap(), vec![epoch(0)]);
    assert_eq!(
        store.unfinished().unwrap().iter().map(|t| t.id).collect::<Vec<_>>(),
        vec![ids[3], ids[4]]
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn state_changes_the_status_does_not_allow_are_refused() {
    let (dir, store) = new_store("refusals");
    let a = store.ask(&arch(0), 1, 1).unwrap();
    let e = store.epoch(a, &epoch(0)).unwrap_err();
    assert!(matches!(e, StoreError::State { status: TrialStatus::Waiting, .. }), "{e}");
    store.start(a).unwrap();
    store.succeed(a, 0.5, 1.0).unwrap();
    for e in [
        store.succeed(a, 0.6, 1.0).unwrap_err(),
        store.fail(a, "late", 1.0).unwrap_err(),
        store.start(a).unwrap_err(),
    ] {
        assert!(matches!(e, StoreError::State { status: TrialStatus::Succeeded, .. }), "{e}");
        assert!(e.to_string().contains(&dir.join(DB_FILE).display().to_string()), "{e}");
        assert!(e.to_string().contains("trial 1 is succeeded"), "{e}");
    }
    let e = store.start(TrialId(99)).unwrap_err();
    assert!(matches!(e, StoreError::NoTrial { id: TrialId(99), .. }), "{e}");
    assert!(e.to_string().contains("no trial 99"), "{e}");
    let b = store.ask(&arch(1), 1, 1).unwrap();
    let e = store.succeed(b, f64::NAN, 1.0).unwrap_err();
    assert!(matches!(e, StoreError::Invalid { .. }) && e.to_string().contains("NaN"), "{e}");
    for bad in ["[1, 2]", "{\"op\": ", ""] {
        let e = store.ask(bad, 1, 1).unwrap_err();
        assert!(matches!(e, StoreError::Invalid { .. }), "{bad}: {e}");
    }
    let e = store.ask(&arch(2), u64::MAX, 1).unwrap_err();
    assert!(matches!(e, StoreError::Invalid { .. }) && e.to_string().contains("too large"), "{e}");
    // Refusals changed nothing: one tell for trial 1, nothing for the refused ones.
    let events = store.events().unwrap();
    assert_eq!(events.iter().filter(|e| matches!(e.kind, EventKind::Tell { .. })).count(), 1);
    assert_eq!(store.trials().unwrap().len(), 2);
    assert_eq!(store.trial(a).unwrap().metric, Some(0.5));
    // A failure can also be told for a trial that never started (its network did not build).
    store.fail(b, "cannot build `conv2d`", 0.0).unwrap();
    assert_eq!(store.trial(b).unwrap().error.as_deref(), Some("cannot build `conv2d`"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn create_refuses_an_existing_experiment() {
    let (dir, store) = new_store("exists");
    let id = store.ask(&arch(0), 1, 1).unwrap();
    let e =
        Store::create(&dir, "nasc search other.nas", "other.nas", "other", &json!({})).unwrap_err();
    assert!(matches!(e, StoreError::Exists { .. }), "{e}");
    let text = e.to_string();
    assert!(
        text.contains(&dir.join(DB_FILE).display().to_string()) && text.contains("--resume"),
        "{text}"
    );
    // The existing experiment is untouched, and still usable.
    store.start(id).unwrap();
    store.succeed(id, 0.25, 1.0).unwrap();
    drop(store);
    let store = Store::open(&dir).unwrap();
    assert_eq!(store.command().unwrap(), "nasc search space.nas --strategy evolution");
    assert_eq!(store.trial(id).unwrap().metric, Some(0.25));
    let _ = std::fs::remove_dir_all(&dir);
}

fn open_err(dir: &Path) -> StoreError {
    match Store::open(dir) {
        Ok(_) => panic!("{} opened", dir.display()),
        Err(e) => e,
    }
}

#[test]
fn open_gives_clear_errors_on_bad_directories_and_files() {
    // A missing directory.
    let missing = temp_dir("missing");
    let e = open_err(&missing);
    assert!(matches!(e, StoreError::Missing { .. }), "{e}");
    assert!(
        e.to_string().starts_with(&missing.display().to_string())
            && e.to_string().contains("no such experiment directory"),
        "{e}"
    );

    // An empty directory.
    let empty = temp_dir("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let e = open_err(&empty);
    assert!(matches!(e, StoreError::Missing { .. }), "{e}");
    assert!(
        e.to_string().starts_with(&empty.join(DB_FILE).display().to_string())
            && e.to_string().contains("no experiment here"),
        "{e}"
    );

    // A file that is not SQLite at all; it is left as it was.
    let text = temp_dir("text");
    std::fs::create_dir_all(&text).unwrap();
    let garbage =
        "this is not a database, just some text that is long enough to fill a header. ".repeat(20);
    std::fs::write(text.join(DB_FILE), &garbage).unwrap();
    let e = open_err(&text);
    assert!(matches!(e, StoreError::NotExperiment { .. }), "{e}");
    assert!(
        e.to_string().starts_with(&text.join(DB_FILE).display().to_string())
            && e.to_string().contains("not an SQLite database"),
        "{e}"
    );
    assert_eq!(std::fs::read_to_string(text.join(DB_FILE)).unwrap(), garbage);

    // An empty file (a create killed before its first commit).
    let zero = temp_dir("zero");
    std::fs::create_dir_all(&zero).unwrap();
    std::fs::write(zero.join(DB_FILE), b"").unwrap();
    let e = open_err(&zero);
    assert!(
        matches!(e, StoreError::NotExperiment { .. }) && e.to_string().contains("empty"),
        "{e}"
    );

    // Another program's SQLite database: refused, and not switched to WAL behind its back.
    let foreign = temp_dir("foreign");
    std::fs::create_dir_all(&foreign).unwrap();
    {
        let conn = rusqlite::Connection::open(foreign.join(DB_FILE)).unwrap();
        conn.execute_batch("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1);").unwrap();
    }
    let e = open_err(&foreign);
    assert!(
        matches!(e, StoreError::NotExperiment { .. }) && e.to_string().contains("another program"),
        "{e}"
    );
    {
        let conn = rusqlite::Connection::open(foreign.join(DB_FILE)).unwrap();
        let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
        assert_eq!(mode, "delete");
    }

    // An experiment written by a newer nasc.
    let (newer, store) = new_store("newer");
    drop(store);
    {
        let conn = rusqlite::Connection::open(newer.join(DB_FILE)).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
    }
    let e = open_err(&newer);
    assert!(matches!(e, StoreError::NewerVersion { found: 99, supported: 1, .. }), "{e}");
    assert!(
        e.to_string().starts_with(&newer.join(DB_FILE).display().to_string())
            && e.to_string().contains("newer"),
        "{e}"
    );

    for d in [empty, text, zero, foreign, newer] {
        let _ = std::fs::remove_dir_all(d);
    }
}

#[test]
fn open_reports_a_corrupt_database() {
    let (dir, store) = new_store("corrupt");
    for i in 0..300 {
        let id = store.ask(&arch(i), i, i).unwrap();
        store.start(id).unwrap();
        store.succeed(id, i as f64, 1.0).unwrap();
    }
    drop(store); // the last connection checkpoints the WAL into the file
    let path = dir.join(DB_FILE);
    let mut bytes = std::fs::read(&path).unwrap();
    assert!(bytes.len() > 8 * 4096, "{} bytes", bytes.len());
    // Scribble over pages 3 to 6, keeping the header page intact.
    for b in &mut bytes[2 * 4096..6 * 4096] {
        *b = 0xA5;
    }
    std::fs::write(&path, &bytes).unwrap();
    let e = open_err(&dir);
    assert!(matches!(e, StoreError::Corrupt { .. }), "{e}");
    assert!(
        e.to_string().starts_with(&path.display().to_string()) && e.to_string().contains("corrupt"),
        "{e}"
    );
    // One line, whatever SQLite's report: it goes into tables (`nasc runs`).
    assert!(!e.to_string().contains('\n'), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn concurrent_writers_all_land() {
    const THREADS: u64 = 8;
    const PER_THREAD: u64 = 20;
    let (dir, store) = new_store("concurrent");
    let store = Arc::new(store);
    // A second connection to the same file writes at the same time, as another process would.
    let other = Arc::new(Store::open(&dir).unwrap());
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let store = if t % 2 == 0 { Arc::clone(&store) } else { Arc::clone(&other) };
            std::thread::spawn(move || -> Result<Vec<(TrialId, f64)>, StoreError> {
                let mut mine = Vec::new();
                for i in 0..PER_THREAD {
                    let id = store.ask(&arch(t * 1000 + i), t, i)?;
                    store.start(id)?;
                    store.epoch(id, &epoch(0))?;
                    let m = (t * 1000 + i) as f64;
                    store.succeed(id, m, 0.5)?;
                    mine.push((id, m));
                }
                Ok(mine)
            })
        })
        .collect();
    let mut expected = BTreeMap::new();
    for h in handles {
        for (id, m) in h.join().expect("writer thread").expect("writes") {
            assert!(expected.insert(id, m).is_none(), "id {id} handed out twice");
        }
    }
    let n = THREADS * PER_THREAD;
    let trials = store.trials().unwrap();
    assert_eq!(trials.len() as u64, n);
    assert_eq!(trials.iter().map(|t| t.id.0).collect::<Vec<_>>(), (1..=n).collect::<Vec<_>>());
    for t in &trials {
        assert_eq!((t.status, t.metric), (TrialStatus::Succeeded, Some(expected[&t.id])));
        assert_eq!(store.epochs(t.id).unwrap(), vec![epoch(0)]);
    }
    check_event_log(&store, &trials);
    drop((store, other));
    assert_eq!(integrity(&dir), "ok");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Every trial has exactly one ask; every finished one exactly one tell, after its ask, with its
/// metric; unfinished ones none. Sequence numbers are 1, 2, ...
fn check_event_log(store: &Store, trials: &[TrialRecord]) {
    let events = store.events().unwrap();
    assert_eq!(
        events.iter().map(|e| e.seq).collect::<Vec<_>>(),
        (1..=events.len() as u64).collect::<Vec<_>>()
    );
    let mut asked = BTreeSet::new();
    let mut told = BTreeMap::new();
    for e in &events {
        match e.kind {
            EventKind::Ask => assert!(asked.insert(e.trial), "trial {} asked twice", e.trial),
            EventKind::Tell { metric } => {
                assert!(asked.contains(&e.trial), "trial {} told before it was asked", e.trial);
                assert!(told.insert(e.trial, metric).is_none(), "trial {} told twice", e.trial);
            }
        }
    }
    assert_eq!(asked, trials.iter().map(|t| t.id).collect());
    for t in trials {
        match t.status {
            TrialStatus::Succeeded | TrialStatus::Failed => {
                assert_eq!(told.get(&t.id), Some(&t.metric), "trial {}", t.id)
            }
            TrialStatus::Waiting | TrialStatus::Running => {
                assert!(!told.contains_key(&t.id), "trial {} unfinished but told", t.id)
            }
        }
    }
    // Asks come in id order.
    let asks: Vec<TrialId> =
        events.iter().filter(|e| e.kind == EventKind::Ask).map(|e| e.trial).collect();
    assert!(asks.windows(2).all(|w| w[0] < w[1]));
}

// ---- Durability across SIGKILL --------------------------------------------------------------

const WRITER_ENV: &str = "NASC_STORE_TEST_WRITER_DIR";
const WRITER_THREADS: u64 = 3;

fn writer_metric(id: TrialId) -> f64 {
    (id.0 as f64).sqrt() / 7.0
}

/// Not a test on its own: when `WRITER_ENV` names a directory, this becomes the child process of
/// `finished_trials_survive_sigkill`. It opens (or creates) the experiment there, reruns its
/// unfinished trials as a resumed search would, then writes trials from several threads until it
/// is killed, printing `DONE id` or `FAILED id` once `succeed` or `fail` has returned.
#[test]
fn sigkill_writer_child() {
    let Some(dir) = std::env::var_os(WRITER_ENV) else { return };
    let dir = PathBuf::from(dir);
    let store = match Store::open(&dir) {
        Ok(s) => s,
        Err(StoreError::Missing { .. }) => {
            Store::create(&dir, "writer", "space.nas", SPACE, &config()).unwrap()
        }
        Err(e) => panic!("{e}"),
    };
    let store = Arc::new(store);
    let finish = |store: &Store, id: TrialId| {
        store.start(id).unwrap();
        store.epoch(id, &epoch(0)).unwrap();
        store.epoch(id, &epoch(1)).unwrap();
        let line = if id.0.is_multiple_of(7) {
            store.fail(id, &format!("trial {id} failed on purpose"), 0.5).unwrap();
            format!("FAILED {id}")
        } else {
            store.succeed(id, writer_metric(id), 0.5).unwrap();
            format!("DONE {id}")
        };
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        writeln!(out, "{line}").unwrap();
        out.flush().unwrap();
    };
    for t in store.unfinished().unwrap() {
        finish(&store, t.id);
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let handles: Vec<_> = (0..WRITER_THREADS)
        .map(|k| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || {
                let mut i = 0;
                while std::time::Instant::now() < deadline {
                    let id = store.ask(&arch(k * 100_000 + i), i, k).unwrap();
                    finish(&store, id);
                    i += 1;
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
}

#[cfg(unix)]
#[test]
fn finished_trials_survive_sigkill() {
    use std::io::BufRead;
    use std::os::unix::process::ExitStatusExt;
    let dir = temp_dir("sigkill");
    let exe = std::env::current_exe().unwrap();
    let mut done: BTreeSet<TrialId> = BTreeSet::new();
    let mut failed: BTreeSet<TrialId> = BTreeSet::new();
    // Several kills, each at a different count, each child resuming the previous one's experiment.
    for (round, kill_after) in [5usize, 13, 29, 8].into_iter().enumerate() {
        let mut child = std::process::Command::new(&exe)
            .args(["--exact", "sigkill_writer_child", "--nocapture", "--test-threads=1"])
            .env(WRITER_ENV, &dir)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn the writer");
        let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let mut seen = 0;
        let mut record = |line: &str| {
            if let Some(id) = line.strip_prefix("DONE ") {
                assert!(done.insert(TrialId(id.parse().unwrap())), "trial {id} finished twice");
                true
            } else if let Some(id) = line.strip_prefix("FAILED ") {
                assert!(failed.insert(TrialId(id.parse().unwrap())), "trial {id} finished twice");
                true
            } else {
                false
            }
        };
        while seen < kill_after {
            let line = lines.next().expect("the writer stopped early").unwrap();
            if record(&line) {
                seen += 1;
            }
        }
        child.kill().unwrap(); // SIGKILL
                               // What it printed before dying.
        for line in lines {
            record(&line.unwrap());
        }
        let status = child.wait().unwrap();
        assert_eq!(
            status.signal(),
            Some(9),
            "round {round}: the writer was not killed by SIGKILL: {status:?}"
        );

        assert_eq!(integrity(&dir), "ok", "round {round}");
        let store = Store::open(&dir).unwrap();
        let trials = store.trials().unwrap();
        let by_id: BTreeMap<TrialId, &TrialRecord> = trials.iter().map(|t| (t.id, t)).collect();
        for id in &done {
            let t = by_id
                .get(id)
                .unwrap_or_else(|| panic!("round {round}: trial {id} reported done is lost"));
            assert_eq!(
                (t.status, t.metric),
                (TrialStatus::Succeeded, Some(writer_metric(*id))),
                "round {round}: trial {id}"
            );
            assert_eq!(store.epochs(*id).unwrap().len(), 2);
        }
        for id in &failed {
            let t = by_id
                .get(id)
                .unwrap_or_else(|| panic!("round {round}: trial {id} reported failed is lost"));
            assert_eq!(t.status, TrialStatus::Failed, "round {round}: trial {id}");
            assert_eq!(t.error.as_deref(), Some(format!("trial {id} failed on purpose").as_str()));
        }
        // Ids are contiguous; at most one trial per writer thread was caught unfinished (plus
        // any still being rerun), and the event log agrees with the trials.
        assert_eq!(
            trials.iter().map(|t| t.id.0).collect::<Vec<_>>(),
            (1..=trials.len() as u64).collect::<Vec<_>>()
        );
        let unfinished = store.unfinished().unwrap();
        assert!(
            unfinished.len() as u64 <= WRITER_THREADS + 1,
            "round {round}: {} unfinished",
            unfinished.len()
        );
        check_event_log(&store, &trials);
        // Everything the store has as finished but the child had no time to print is finished
        // properly too (it committed, then was killed before printing).
        let finished = trials.iter().filter(|t| t.status.is_finished()).count();
        assert!(finished >= done.len() + failed.len());
    }
    assert!(done.len() + failed.len() >= 55);
    let _ = std::fs::remove_dir_all(&dir);
}

fn supernet_epoch(e: u32) -> nasc::experiment::store::SupernetEpoch {
    nasc::experiment::store::SupernetEpoch {
        epoch: e,
        train_loss: 2.0 / f64::from(e + 1),
        val_loss: Some(1.5 / f64::from(e + 1)),
        val_metric: Some(0.5 + 0.1 * f64::from(e)),
        arch_loss: Some(1.8 / f64::from(e + 1)),
        lr: 0.025,
        seconds: 12.5,
    }
}

/// The softmax-like probabilities of a two-label supernet at epoch `e`: `op` sharpens towards
/// `conv3`, `skip` stays undecided.
fn supernet_probabilities(e: u32) -> Vec<(String, String, f64)> {
    let c = 0.1 * f64::from(e);
    vec![
        ("op".into(), "conv3".into(), 0.4 + c),
        ("op".into(), "maxpool".into(), 0.3 - c / 2.0),
        ("op".into(), "sep3".into(), 0.3 - c / 2.0),
        ("skip".into(), "false".into(), 0.5),
        ("skip".into(), "true".into(), 0.5),
    ]
}

fn expected_probabilities(epochs: std::ops::Range<u32>) -> Vec<(u32, String, String, f64)> {
    epochs
        .flat_map(|e| supernet_probabilities(e).into_iter().map(move |(l, c, p)| (e, l, c, p)))
        .collect()
}

#[test]
fn supernet_epochs_and_probabilities_round_trip_and_survive_reopen() {
    let (dir, store) = new_store("supernet");
    assert!(store.supernet_epochs().unwrap().is_empty());
    assert!(store.probabilities().unwrap().is_empty());
    // Recorded out of order, read back in epoch order.
    for e in [2, 0, 1] {
        store.supernet_epoch(&supernet_epoch(e), &supernet_probabilities(e)).unwrap();
    }
    let epochs: Vec<_> = (0..3).map(supernet_epoch).collect();
    assert_eq!(store.supernet_epochs().unwrap(), epochs);
    assert_eq!(store.probabilities().unwrap(), expected_probabilities(0..3));
    // The exported architectures are ordinary trials beside them.
    let id = store.ask(&arch(0), 10, 20).unwrap();
    store.start(id).unwrap();
    store.succeed(id, 0.9, 1.0).unwrap();
    drop(store);

    let store = Store::open(&dir).unwrap();
    assert_eq!(store.supernet_epochs().unwrap(), epochs);
    assert_eq!(store.probabilities().unwrap(), expected_probabilities(0..3));
    assert_eq!(store.trials().unwrap().len(), 1);
    assert_eq!(integrity(&dir), "ok");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_rerun_supernet_epoch_overwrites_the_earlier_one() {
    let (dir, store) = new_store("supernet-rerun");
    store.supernet_epoch(&supernet_epoch(0), &supernet_probabilities(0)).unwrap();
    store.supernet_epoch(&supernet_epoch(1), &supernet_probabilities(1)).unwrap();
    // Epoch 1 again (a resumed run), with other metrics and one candidate fewer.
    let mut again = supernet_epoch(1);
    again.train_loss = 0.25;
    again.val_metric = Some(0.75);
    let probs = vec![
        ("op".to_string(), "conv3".to_string(), 0.9),
        ("op".to_string(), "sep3".to_string(), 0.1),
    ];
    store.supernet_epoch(&again, &probs).unwrap();
    assert_eq!(store.supernet_epochs().unwrap(), vec![supernet_epoch(0), again]);
    let mut expected = expected_probabilities(0..1);
    expected.extend(probs.into_iter().map(|(l, c, p)| (1, l, c, p)));
    assert_eq!(store.probabilities().unwrap(), expected);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn supernet_nan_reads_back_as_nan_or_none_and_bad_probabilities_are_refused() {
    let (dir, store) = new_store("supernet-nan");
    let e = nasc::experiment::store::SupernetEpoch {
        epoch: 0,
        train_loss: f64::NAN,
        val_loss: Some(f64::NAN),
        val_metric: None,
        arch_loss: Some(f64::NAN),
        lr: f64::NAN,
        seconds: 3.0,
    };
    store.supernet_epoch(&e, &[]).unwrap();
    let back = store.supernet_epochs().unwrap();
    assert_eq!(back.len(), 1);
    assert!(back[0].train_loss.is_nan() && back[0].lr.is_nan(), "{back:?}");
    assert_eq!(
        (back[0].val_loss, back[0].val_metric, back[0].arch_loss, back[0].seconds),
        (None, None, None, 3.0)
    );

    // A NaN probability is refused, and nothing of that epoch is written.
    let bad = vec![
        ("op".to_string(), "conv3".to_string(), 0.5),
        ("op".to_string(), "sep3".to_string(), f64::NAN),
    ];
    let err = store.supernet_epoch(&supernet_epoch(1), &bad).unwrap_err();
    assert!(matches!(err, StoreError::Invalid { .. }) && err.to_string().contains("sep3"), "{err}");
    assert_eq!(store.supernet_epochs().unwrap().len(), 1);
    assert!(store.probabilities().unwrap().is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_experiment_without_the_supernet_tables_opens_and_gets_them() {
    let (dir, store) = new_store("supernet-old");
    let id = store.ask(&arch(1), 5, 6).unwrap();
    store.start(id).unwrap();
    store.epoch(id, &epoch(0)).unwrap();
    store.succeed(id, 0.5, 2.0).unwrap();
    drop(store);
    // Make it look like an experiment written before the supernet tables existed.
    {
        let conn = rusqlite::Connection::open(dir.join(DB_FILE)).unwrap();
        conn.execute_batch("DROP TABLE supernet_epochs; DROP TABLE probabilities;").unwrap();
        let n: i64 = conn.query_row("SELECT count(*) FROM sqlite_schema WHERE name IN ('supernet_epochs', 'probabilities')", [], |r| r.get(0)).unwrap();
        assert_eq!(n, 0);
    }
    let store = Store::open(&dir).unwrap();
    assert_eq!(store.trials().unwrap().len(), 1);
    assert_eq!(store.epochs(id).unwrap(), vec![epoch(0)]);
    assert!(store.supernet_epochs().unwrap().is_empty());
    assert!(store.probabilities().unwrap().is_empty());
    store.supernet_epoch(&supernet_epoch(0), &supernet_probabilities(0)).unwrap();
    drop(store);
    // The tables are there for good, with the schema a new store gets.
    let store = Store::open(&dir).unwrap();
    assert_eq!(store.supernet_epochs().unwrap(), vec![supernet_epoch(0)]);
    assert_eq!(store.probabilities().unwrap(), expected_probabilities(0..1));
    drop(store);
    let fresh = new_store("supernet-fresh");
    drop(fresh.1);
    let schema = |d: &Path| -> Vec<String> {
        let conn = rusqlite::Connection::open(d.join(DB_FILE)).unwrap();
        let mut stmt = conn.prepare("SELECT sql FROM sqlite_schema WHERE name IN ('supernet_epochs', 'probabilities') ORDER BY name").unwrap();
        let rows = stmt.query_map([], |r| r.get(0)).unwrap();
        rows.collect::<rusqlite::Result<_>>().unwrap()
    };
    assert_eq!(schema(&dir), schema(&fresh.0));
    assert_eq!(schema(&dir).len(), 2);
    assert_eq!(integrity(&dir), "ok");
    for d in [dir, fresh.0] {
        let _ = std::fs::remove_dir_all(d);
    }
}

/// What an interrupted one-shot export recorded is dropped on resume: the trials after the
/// last one kept, with their epochs and events; the ones before stay as they were.
#[test]
fn trials_after_a_point_are_discarded_with_their_records() {
    let (_dir, store) = new_store("discard");
    let mut ids = Vec::new();
    for i in 0..4 {
        let id = store.ask(&arch(i), 10, 20).expect("ask");
        store.start(id).expect("start");
        store.epoch(id, &epoch(1)).expect("epoch");
        store.succeed(id, 0.5 + i as f64 / 10.0, 1.0).expect("succeed");
        ids.push(id);
    }
    assert_eq!(store.discard_trials_after(Some(ids[1])).expect("discards"), 2);
    let kept = store.trials().expect("trials");
    assert_eq!(kept.iter().map(|t| t.id).collect::<Vec<_>>(), ids[..2].to_vec());
    assert!(store.events().expect("events").iter().all(|e| e.trial <= ids[1]));
    assert_eq!(store.epochs(ids[2]).expect("epochs").len(), 0);
    assert_eq!(store.epochs(ids[1]).expect("epochs").len(), 1);
    // New trials take the ids after the kept ones.
    assert_eq!(store.ask(&arch(9), 1, 1).expect("ask"), ids[2]);
    assert_eq!(store.discard_trials_after(None).expect("discards"), 3);
    assert!(store.trials().expect("trials").is_empty());
}
