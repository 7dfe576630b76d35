//! How long `nasc report` takes on a large experiment, and how big the page is (issue 20,
//! item 8: a report of 1,000 trials in under one second and under 5 MB).
//!
//!     cargo bench --bench report
//!
//! The experiment is a real store written through the store's own API (as a search writes it:
//! ask, start, five epochs, succeed or fail, each its own transaction) for 1,000 random
//! architectures of `examples/mnist.nas` (8 labels), with their real parameter and FLOP counts;
//! only the metrics are made up (a deterministic function of the architecture plus noise), as
//! training 1,000 networks is not what is measured. One trial in twenty fails with an error.
//! The report is then written 10 times (read the store, compute the charts, draw the ten best
//! architectures, write the page atomically); the minimum and median are printed, with the
//! page's size. It exits with an error if the page is 5 MB or more. Figures are recorded in
//! docs/benchmarks.md.

use nasc::arch::{self, Architecture};
use nasc::experiment::{EpochRecord, Store};
use nasc::launch::{ExperimentConfig, MultiTrialSettings};
use nasc::runtime::train::TrainConfig;
use nasc::runtime::DeviceKind;
use nasc::strategy::StrategyKind;
use rand::{Rng, SeedableRng};
use std::path::Path;
use std::time::Instant;

const TRIALS: usize = 1_000;

fn main() {
    let file = Path::new("examples/mnist.nas").canonicalize().expect("examples/mnist.nas");
    let text = std::fs::read_to_string(&file).expect("readable");
    let g = nasc::launch::compile_space(&file).expect("compiles").graph;
    let dir = std::env::temp_dir().join(format!("nasc-bench-report-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let settings = MultiTrialSettings {
        strategy: StrategyKind::Random,
        options: Vec::new(),
        metric: None,
        mode: None,
        max_trials: Some(TRIALS),
        max_duration: None,
        concurrency: 1,
        data: "mnist:examples/data/mnist".into(),
        train: TrainConfig { epochs: 5, ..TrainConfig::default() },
        device: DeviceKind::Flex,
    };
    let config = ExperimentConfig::MultiTrial(settings.config().expect("valid settings"));
    let config = serde_json::to_value(&config).expect("serialises");
    let store =
        Store::create(&dir, "nasc search (bench)", &file.display().to_string(), &text, &config)
            .expect("store");
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(20);
    let started = Instant::now();
    for i in 0..TRIALS {
        let a = Architecture::random(&g, &mut rng);
        let (params, flops) = arch::cost(&g, &a).expect("costs");
        let json = serde_json::Value::Object(a.to_json(&g)).to_string();
        let id = store.ask(&json, params, flops).expect("ask");
        store.start(id).expect("start");
        // A made-up accuracy that depends on the architecture, rising over five epochs.
        let base = 0.80 + 0.1 * (params as f64).ln() / 15.0 + 0.02 * rng.random::<f64>();
        for epoch in 1..=5u32 {
            let f = f64::from(epoch) / 5.0;
            let m = EpochRecord {
                epoch,
                train_loss: 2.3 * (1.0 - 0.8 * f) + 0.05 * rng.random::<f64>(),
                val_loss: Some(2.2 * (1.0 - 0.75 * f)),
                val_metric: Some(base * (0.6 + 0.4 * f)),
                lr: 0.025 * (1.0 - f),
                seconds: 3.0,
            };
            store.epoch(id, &m).expect("epoch");
        }
        if i % 20 == 7 {
            store.fail(id, "the loss diverged (NaN) at epoch 3, step 12", 9.0).expect("fail");
        } else {
            store.succeed(id, base.min(0.999), 15.0).expect("succeed");
        }
    }
    store.set_status(nasc::experiment::ExperimentStatus::Done).expect("status");
    eprintln!("store of {TRIALS} trials written in {:.1} s", started.elapsed().as_secs_f64());
    let options = nasc::report::Options { graph: Some(g), trials: Vec::new() };
    let mut times = Vec::new();
    let mut path = dir.clone();
    for _ in 0..10 {
        let t = Instant::now();
        path = nasc::report::write(&store, &options).expect("report");
        times.push(t.elapsed().as_secs_f64());
    }
    // Without the network given: the space is compiled from its file, as `nasc report` does.
    let t = Instant::now();
    nasc::report::write(&store, &nasc::report::Options::default()).expect("report");
    let compiled = t.elapsed().as_secs_f64();
    times.sort_by(f64::total_cmp);
    let size = std::fs::metadata(&path).expect("page").len();
    println!(
        "report of {TRIALS} trials: min {:.0} ms, median {:.0} ms (10 runs); {:.0} ms compiling the space too; page {:.2} MB",
        1000.0 * times[0],
        1000.0 * times[times.len() / 2],
        1000.0 * compiled,
        size as f64 / 1e6
    );
    // NASC_BENCH_KEEP=1 keeps the experiment and its page, to look at.
    if std::env::var_os("NASC_BENCH_KEEP").is_some() {
        eprintln!("kept: {}", path.display());
    } else {
        let _ = std::fs::remove_dir_all(&dir);
    }
    if size >= 5_000_000 {
        eprintln!("error: the page is {size} bytes, not under 5 MB");
        std::process::exit(1);
    }
}
