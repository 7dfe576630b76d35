//! Step time and peak memory of the one-shot supernets (DARTS, Proxyless, SPOS) on a space with
//! 8 candidates per choice, through the real path: `.nas` text, `lower::lower`,
//! `oneshot::run` on 2,048 real MNIST digits (half for the weights, half for the architecture).
//!
//!     cargo bench --bench oneshot
//!
//! Each strategy runs in its own process (this binary, started again with
//! `NASC_ONESHOT_STRATEGY`), so that its peak resident memory (`getrusage` `ru_maxrss`) is its
//! own. A run trains one epoch of 4 steps and one of 16; the step time is the difference of the
//! two epochs' times over 12 (the epoch's evaluation and the final scoring cancel out). Memory
//! is reported as the peak and as the growth over the resident memory before training (data
//! and compiled space loaded). `RAYON_NUM_THREADS` defaults to 2. Figures go to
//! docs/benchmarks.md.
//!
//! Without `--bench` (under `cargo test --benches`) it runs two steps of SPOS as a smoke test.

use nasc::data::{self, DataSpec, Splits};
use nasc::experiment::Store;
use nasc::launch::OneShotStored;
use nasc::lower::{lower, OneShotKind};
use nasc::oneshot::{run, OneShotConfig, QuietOneShot, SposSettings, StrategySettings};
use nasc::runtime::train::prepare;
use nasc::runtime::{Device, DeviceKind};
use std::path::PathBuf;
use std::process::Command;

/// Three layer choices of 8 candidates each (the size of the DARTS operation set) on 32
/// channels at 14x14, after a stride-2 stem.
const SPACE: &str = "
block searched(x: Tensor[n, c, h, w]) -> Tensor[n, c, h, w] {
    return choice op {
        conv1: conv_bn_relu(x, out: c, kernel: 1),
        conv3: conv_bn_relu(x, out: c, kernel: 3),
        conv5: conv_bn_relu(x, out: c, kernel: 5),
        conv7: conv_bn_relu(x, out: c, kernel: 7),
        sep3: sep_conv(x, out: c, kernel: 3),
        sep5: sep_conv(x, out: c, kernel: 5),
        max: max_pool(x, kernel: 3, stride: 1, padding: 1),
        avg: avg_pool(x, kernel: 3, stride: 1, padding: 1),
    }
}

network Bench(x: Tensor[n, 1, 28, 28]) -> Tensor[n, 10] {
    let h = conv_bn_relu(x, out: 32, kernel: 3, stride: 2)
    let h = searched(h)
    let h = searched(h)
    let h = searched(h)
    return linear(global_avg_pool(h), out: 10)
}
";

fn max_rss_kb() -> i64 {
    // SAFETY: getrusage writes into the struct we pass.
    unsafe {
        let mut u: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut u);
        u.ru_maxrss
    }
}

fn current_rss_kb() -> i64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1).and_then(|p| p.parse::<i64>().ok()))
        .map_or(0, |pages| pages * 4)
}

fn one(kind: OneShotKind, steps_a: usize, steps_b: usize) -> (f64, i64, i64) {
    let mut graphs =
        nasc::driver::graphs_of_text("bench.nas", SPACE).unwrap_or_else(|e| panic!("{e}"));
    let g = graphs.remove(0);
    let plan = lower(&g, kind).expect("lowers");
    let all =
        data::load(&DataSpec::Mnist(PathBuf::from("examples/data/mnist"))).expect("MNIST loads");
    let idx: Vec<usize> = (0..2048).collect();
    let splits = Splits { train: all.train.subset(&idx), test: all.test.subset(&idx[..64]) };
    let prepared = prepare(&splits, 0.5, 0).expect("prepares");
    let baseline = current_rss_kb();
    let mut times = Vec::new();
    for steps in [steps_a, steps_b] {
        let mut cfg = OneShotConfig::new(kind);
        cfg.common.epochs = 1;
        cfg.common.max_steps = Some(steps);
        cfg.common.eval_batches = Some(1);
        cfg.common.score_batches = 1;
        cfg.common.calibration_batches = 1;
        if let StrategySettings::RandomOneshot(s) = &mut cfg.strategy {
            *s = SposSettings { search_candidates: 2, population: 2, tournament: 1 };
        }
        let dir = std::env::temp_dir().join(format!(
            "nasc-bench-oneshot-{}-{steps}-{}",
            kind.name(),
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        let store = Store::create(
            &dir,
            "bench",
            "bench.nas",
            SPACE,
            &OneShotStored::new(cfg.clone(), 0.5, "mnist:examples/data/mnist", DeviceKind::Flex)
                .to_json(),
        )
        .expect("store");
        let s = run(&store, &g, &plan, &prepared, &cfg, &Device::flex(), &mut QuietOneShot)
            .expect("runs");
        times.push(s.epochs[0].seconds);
        let _ = std::fs::remove_dir_all(&dir);
    }
    let step = (times[1] - times[0]) / (steps_b - steps_a) as f64;
    let peak = max_rss_kb();
    (step, peak, peak - baseline)
}

fn main() {
    if std::env::var_os("RAYON_NUM_THREADS").is_none() {
        std::env::set_var("RAYON_NUM_THREADS", "2");
    }
    nasc::runtime::train::tune_allocator();
    if let Ok(name) = std::env::var("NASC_ONESHOT_STRATEGY") {
        let kind = OneShotKind::from_name(&name).expect("a one-shot strategy");
        let (step, peak, growth) = one(kind, 4, 16);
        println!("RESULT {name} {step:.4} {peak} {growth}");
        return;
    }
    if !std::env::args().any(|a| a == "--bench") {
        let _ = one(OneShotKind::RandomOneshot, 1, 2);
        return;
    }
    println!(
        "one-shot supernets, 3 choices x 8 candidates, 32 channels at 14x14, batch 64, RAYON_NUM_THREADS={}",
        std::env::var("RAYON_NUM_THREADS").unwrap_or_default()
    );
    println!("{:<16} {:>12} {:>14} {:>16}", "strategy", "step (s)", "peak RSS (MB)", "growth (MB)");
    for kind in [OneShotKind::Darts, OneShotKind::Proxyless, OneShotKind::RandomOneshot] {
        let exe = std::env::current_exe().expect("the bench binary");
        let out =
            Command::new(exe).env("NASC_ONESHOT_STRATEGY", kind.name()).output().expect("runs");
        let text = String::from_utf8_lossy(&out.stdout);
        match text.lines().find_map(|l| l.strip_prefix("RESULT ")) {
            Some(r) => {
                let f: Vec<&str> = r.split_whitespace().collect();
                let mb = |s: &str| s.parse::<f64>().unwrap_or(0.0) / 1024.0;
                println!("{:<16} {:>12} {:>14.0} {:>16.0}", f[0], f[1], mb(f[2]), mb(f[3]));
            }
            None => {
                println!("{:<16} failed: {}", kind.name(), String::from_utf8_lossy(&out.stderr))
            }
        }
    }
}
