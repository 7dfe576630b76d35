//! One training step of the reference CNN through nasc's real path, timed: the network is
//! compiled from `.nas` text, fixed (`arch::fix`), built as a burn module
//! (`runtime::Network::build`) on `Device::flex().autodiff()`, and trained with the step
//! `runtime::train` runs (forward through `Network::forward`, cross-entropy, backward,
//! `GradientsParams::from_grads`, SGD with momentum 0.9 and no dampening), after the allocator
//! setting `runtime::train` makes (`train::tune_allocator`).
//!
//!     RAYON_NUM_THREADS=2 cargo bench --bench train_step
//!
//! or `benches/train_step.sh`, which also runs the same network in PyTorch
//! (`benches/train_step_torch.py`) and prints the ratio. Figures are recorded in
//! docs/benchmarks.md.
//!
//! Network (the reference CNN; PyTorch: `Conv2d(1, 16, 3, padding=1, bias=False)`,
//! ReLU, `Conv2d(16, 32, 3, padding=1, bias=False)`, ReLU, mean over height and width,
//! `Linear(32, 10)`), batch 64 of synthetic 1x28x28 images, 10 classes.
//!
//! Measured (median, min and max over `NASC_BENCH_STEPS` steps, default 30, after 5 warm-up
//! steps):
//! - `step`: a whole training step, timed as one;
//! - `forward`, `backward`, `optimizer`: the phases of the same steps (forward includes the
//!   loss and reading it back, as training does; backward includes collecting the gradients);
//! - `forward only`: forward and loss on the autodiff device, no backward;
//! - `forward+backward`: forward, loss and backward, no optimizer step;
//! - `inference forward`: the network in inference mode on the plain device.
//!
//! Environment: `RAYON_NUM_THREADS` (2 when unset), `NASC_BENCH_STEPS`, `NASC_BENCH_OPS=1` to
//! also time the two convolutions alone and the two convolutions burn's default backward runs
//! for each (where the time goes), `NASC_BENCH_UNTUNED=1` to keep glibc's default allocator
//! settings (the figures before `tune_allocator`).
//!
//! Without `--bench` (for example under `cargo test --benches`) it runs one step as a smoke
//! test and prints nothing. The last line (`RESULT nasc ...`) is read by the script.

use burn::module::Module;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{GradientsParams, ModuleOptimizer, SgdConfig};
use burn::tensor::module::{conv2d, conv_transpose2d};
use burn::tensor::ops::{ConvOptions, ConvTransposeOptions};
use burn::tensor::{Device, Int, Tensor, TensorData};
use nasc::arch::{self, Architecture, FixedGraph};
use nasc::runtime::{train, Network, Value};
use rand::{Rng, SeedableRng};
use std::time::Instant;

/// The reference network of issue 4, item 8.
const REFERENCE: &str = "network Reference(x: Tensor[n, 1, 28, 28]) -> Tensor[n, 10] {
    let h = relu(conv2d(x, out: 16, kernel: 3, padding: 1))
    let h = relu(conv2d(h, out: 32, kernel: 3, padding: 1))
    return linear(global_avg_pool(h), out: 10)
}";

const BATCH: usize = 64;
const WARMUP: usize = 5;
const LR: f64 = 0.01;

/// The `.nas` text through the front end to a fixed graph, as `nasc train` does.
fn fixed(text: &str) -> FixedGraph {
    let mut graphs =
        nasc::driver::graphs_of_text("reference.nas", text).unwrap_or_else(|e| panic!("{e}"));
    let g = graphs.remove(0);
    let a = Architecture::from_json(&g, "{}").expect("no labels");
    arch::fix(&g, &a).expect("fixes")
}

/// SGD with momentum 0.9 and no dampening (PyTorch's `SGD(momentum=0.9)`), no weight decay.
fn sgd() -> ModuleOptimizer {
    SgdConfig::new()
        .with_momentum(Some(MomentumConfig { momentum: 0.9, dampening: 0.0, nesterov: false }))
        .init()
}

/// `shape` filled from a standard normal distribution, seeded.
fn random<const D: usize>(shape: [usize; D], seed: u64, device: &Device) -> Tensor<D> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let v: Vec<f32> = (0..shape.iter().product())
        .map(|_| rng.sample::<f32, _>(rand_distr::StandardNormal))
        .collect();
    Tensor::from_data(TensorData::new(v, shape), device)
}

/// Synthetic data: normal images and uniform labels, seeded.
fn batch(device: &Device) -> (Tensor<4>, Tensor<1, Int>) {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    let y: Vec<i64> = (0..BATCH).map(|_| rng.random_range(0..10)).collect();
    (random([BATCH, 1, 28, 28], 1, device), Tensor::from_data(TensorData::new(y, [BATCH]), device))
}

fn loss(net: &Network, x: &Tensor<4>, y: &Tensor<1, Int>, device: &Device) -> Tensor<1> {
    let Value::Flat(logits) = net.forward_map(x.clone()).expect("runs") else {
        panic!("the reference network's output is flat")
    };
    CrossEntropyLossConfig::new().init(device).forward(logits, y.clone())
}

/// Median, minimum and maximum in milliseconds.
struct Stats {
    median: f64,
    min: f64,
    max: f64,
}

fn stats(mut ms: Vec<f64>) -> Stats {
    ms.sort_by(f64::total_cmp);
    let n = ms.len();
    let median = if n % 2 == 1 { ms[n / 2] } else { (ms[n / 2 - 1] + ms[n / 2]) / 2.0 };
    Stats { median, min: ms[0], max: ms[n - 1] }
}

fn show(name: &str, s: &Stats) {
    println!("  {name:<22} median {:>8.2} ms   min {:>8.2}   max {:>8.2}", s.median, s.min, s.max);
}

/// Times `f` `steps` times after `WARMUP` untimed calls; `f` must finish its work (read a result
/// back or sync the device).
fn time(steps: usize, mut f: impl FnMut()) -> Stats {
    for _ in 0..WARMUP {
        f();
    }
    stats(
        (0..steps)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed().as_secs_f64() * 1e3
            })
            .collect(),
    )
}

/// The network's convolutions alone: forward on the plain device, forward + backward (sum loss,
/// both gradients) on the autodiff device, and the two convolutions burn's default conv2d
/// backward runs (Flex does not override it): the weight gradient as a convolution of the
/// input with the output gradient, batch and channels swapped, and the input gradient as a
/// transposed convolution.
fn ops(steps: usize) {
    let plain = Device::flex();
    let ad = plain.clone().autodiff();
    let opts = || ConvOptions::new([1, 1], [1, 1], [1, 1], 1);
    println!("the convolutions alone (3x3, padding 1, no bias, batch {BATCH}):");
    for (cin, cout) in [(1, 16), (16, 32)] {
        let x = random([BATCH, cin, 28, 28], 2, &plain);
        let w = random([cout, cin, 3, 3], 3, &plain);
        let g = random([BATCH, cout, 28, 28], 4, &plain);
        let s = time(steps, || {
            let _ = conv2d(x.clone(), w.clone(), None, opts()).into_data();
        });
        show(&format!("conv {cin}->{cout} forward"), &s);
        let xa = random([BATCH, cin, 28, 28], 2, &ad).require_grad();
        let wa = random([cout, cin, 3, 3], 3, &ad).require_grad();
        let s = time(steps, || {
            let grads = conv2d(xa.clone(), wa.clone(), None, opts()).sum().backward();
            let _ =
                (wa.grad(&grads).map(|t| t.into_data()), xa.grad(&grads).map(|t| t.into_data()));
        });
        show(&format!("conv {cin}->{cout} fwd+bwd"), &s);
        let s = time(steps, || {
            let _ = conv2d(x.clone().swap_dims(0, 1), g.clone().swap_dims(0, 1), None, opts())
                .into_data();
        });
        show("  weight-grad conv", &s);
        let s = time(steps, || {
            let _ = conv_transpose2d(
                g.clone(),
                w.clone(),
                None,
                ConvTransposeOptions::new([1, 1], [1, 1], [0, 0], [1, 1], 1),
            )
            .into_data();
        });
        show("  input-grad conv^T", &s);
    }
}

fn main() {
    // Two threads unless told otherwise, before burn starts rayon's pool.
    if std::env::var_os("RAYON_NUM_THREADS").is_none() {
        std::env::set_var("RAYON_NUM_THREADS", "2");
    }
    let tuned = std::env::var_os("NASC_BENCH_UNTUNED").is_none();
    if tuned {
        train::tune_allocator();
    }
    let benching = std::env::args().any(|a| a == "--bench");
    let steps: usize =
        std::env::var("NASC_BENCH_STEPS").ok().and_then(|s| s.parse().ok()).unwrap_or(30).max(1);

    let device = Device::flex().autodiff();
    let graph = fixed(REFERENCE);
    let mut net = Network::build(&graph, &device, 0).expect("builds");
    let mut optim = sgd();
    let (x, y) = batch(&device);

    if !benching {
        let l = loss(&net, &x, &y, &device);
        let grads = GradientsParams::from_grads(l.backward(), &net);
        let _ = optim.step(LR, net, grads);
        return;
    }

    let threads = std::env::var("RAYON_NUM_THREADS").unwrap_or_default();
    println!(
        "nasc (burn Flex) training step: reference CNN, batch {BATCH}, RAYON_NUM_THREADS={threads}, {steps} steps after {WARMUP} warm-up, {} parameters, allocator {}",
        net.trainable_params(),
        if tuned { "tuned (train::tune_allocator)" } else { "glibc defaults" }
    );

    // Whole steps, each also split into its phases.
    let (mut whole, mut fwd, mut bwd, mut opt) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for i in 0..WARMUP + steps {
        let t0 = Instant::now();
        let l = loss(&net, &x, &y, &device);
        let value = l.clone().into_scalar::<f64>();
        assert!(value.is_finite(), "the loss diverged: {value}");
        let t1 = Instant::now();
        let grads = GradientsParams::from_grads(l.backward(), &net);
        device.sync().expect("sync");
        let t2 = Instant::now();
        net = optim.step(LR, net, grads);
        device.sync().expect("sync");
        let t3 = Instant::now();
        if i >= WARMUP {
            whole.push((t3 - t0).as_secs_f64() * 1e3);
            fwd.push((t1 - t0).as_secs_f64() * 1e3);
            bwd.push((t2 - t1).as_secs_f64() * 1e3);
            opt.push((t3 - t2).as_secs_f64() * 1e3);
        }
    }
    let (step, forward, backward, optimizer) = (stats(whole), stats(fwd), stats(bwd), stats(opt));
    show("step", &step);
    show("  forward", &forward);
    show("  backward", &backward);
    show("  optimizer", &optimizer);

    let forward_only = time(steps, || {
        let _ = loss(&net, &x, &y, &device).into_scalar::<f64>();
    });
    show("forward only", &forward_only);
    let forward_backward = time(steps, || {
        let l = loss(&net, &x, &y, &device);
        let _ = GradientsParams::from_grads(l.backward(), &net);
        device.sync().expect("sync");
    });
    show("forward+backward", &forward_backward);
    let inference = {
        let valid = net.valid();
        let plain = device.clone().inner();
        let x = x.clone().inner();
        time(steps, || {
            let _ = valid.forward_map(x.clone()).expect("runs");
            plain.sync().expect("sync");
        })
    };
    show("inference forward", &inference);

    if std::env::var_os("NASC_BENCH_OPS").is_some() {
        ops(steps);
    }
    println!(
        "RESULT nasc step_ms={:.2} step_min_ms={:.2} step_max_ms={:.2} forward_ms={:.2} backward_ms={:.2} optimizer_ms={:.2} forward_only_ms={:.2} forward_backward_ms={:.2}",
        step.median, step.min, step.max, forward.median, backward.median, optimizer.median, forward_only.median, forward_backward.median
    );
}
