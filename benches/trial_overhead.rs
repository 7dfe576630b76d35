//! What a multi-trial search spends per trial outside training (issue 5, item 8): the
//! strategy's proposal and the telling of the result, the experiment store's writes for one
//! trial (ask, start, one epoch, succeed; SQLite with WAL and synchronous=FULL), and turning the
//! architecture into a network (`arch::fix` and `Network::build` on Flex).
//!
//!     cargo bench --bench trial_overhead
//!
//! On `examples/mnist.nas` (13,950 architectures). Figures are recorded in docs/benchmarks.md.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use nasc::arch::{self, Architecture};
use nasc::experiment::{EpochRecord, Store};
use nasc::ir::Graph;
use nasc::runtime::{Device, Network};
use nasc::strategy::{self, Mode, Options, StrategyKind};
use rand::SeedableRng;
use std::hint::black_box;
use std::path::Path;

fn mnist() -> Graph {
    let input = nasc::driver::Input::Path(Path::new("examples/mnist.nas"));
    nasc::driver::graphs(input).unwrap_or_else(|e| panic!("{e}")).remove(0)
}

/// A cheap stand-in metric, so that strategies that learn have something to learn.
fn score(a: &Architecture) -> f64 {
    a.choices
        .iter()
        .enumerate()
        .map(
            |(i, c)| {
                if let arch::Choice::Index(k) = c {
                    ((i * 7 + k * 3) % 11) as f64
                } else {
                    0.0
                }
            },
        )
        .sum()
}

fn bench(c: &mut Criterion) {
    let g = mnist();
    let mut group = c.benchmark_group("trial_overhead");
    for kind in [StrategyKind::Random, StrategyKind::Evolution, StrategyKind::Tpe] {
        // The strategy after 100 finished trials (built afresh for every measurement, outside
        // the timing, so that the space never runs out): one more ask and tell.
        let at_100 = || {
            let mut s =
                strategy::make(kind, &g, Mode::Max, 1, &Options::default()).expect("strategy");
            for _ in 0..100 {
                let a = s.ask().expect("ask").expect("not exhausted");
                s.tell(&a, Some(score(&a)));
            }
            s
        };
        group.bench_function(format!("ask_tell_after_100/{}", kind.name()), |b| {
            b.iter_batched(
                at_100,
                |mut s| {
                    let a = s.ask().expect("ask").expect("not exhausted");
                    s.tell(&a, Some(score(&a)));
                    black_box(a)
                },
                BatchSize::PerIteration,
            )
        });
    }
    let dir = std::env::temp_dir().join(format!("nasc-bench-overhead-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let store = Store::create(&dir, "bench", "examples/mnist.nas", "", &serde_json::json!({}))
        .expect("store");
    let arch_json = serde_json::Value::Object(
        Architecture::random(&g, &mut rand_chacha::ChaCha8Rng::seed_from_u64(0)).to_json(&g),
    )
    .to_string();
    group.bench_function("store_one_trial", |b| {
        b.iter(|| {
            let id = store.ask(&arch_json, 100_000, 1_000_000).expect("ask");
            store.start(id).expect("start");
            store
                .epoch(
                    id,
                    &EpochRecord {
                        epoch: 1,
                        train_loss: 0.5,
                        val_loss: Some(0.4),
                        val_metric: Some(0.9),
                        lr: 0.01,
                        seconds: 1.0,
                    },
                )
                .expect("epoch");
            store.succeed(id, 0.9, 1.0).expect("succeed");
        })
    });
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
    let archs: Vec<Architecture> = (0..16).map(|_| Architecture::random(&g, &mut rng)).collect();
    let device = Device::flex().autodiff();
    let mut i = 0;
    group.bench_function("fix_and_build", |b| {
        b.iter(|| {
            i = (i + 1) % archs.len();
            let f = arch::fix(&g, &archs[i]).expect("fix");
            black_box(Network::build(&f, &device, 0).expect("build"))
        })
    });
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, bench);
criterion_main!(benches);
