//! `nasc check` end to end, without the process: load and resolve, elaborate every network
//! into the IR (shape checks for every architecture), and compute the facts of the space
//! (architecture count, params and FLOPs ranges).
//!
//!     cargo bench -p nasc-front --bench check
//!
//! `elaborate` is the type stage alone, `facts` the facts of the elaborated networks alone, and
//! `full` both after loading, as `nasc check` runs them (networks side by side on the worker
//! pool; `RAYON_NUM_THREADS=1` measures one thread).
//!
//! Cases: the MNIST example, the DARTS search space of the standard library, and a generated
//! 20,000-line space (400 searched blocks, each called once from one network). Figures are
//! recorded in docs/benchmarks.md.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use nasc_front::check::check_program;
use nasc_front::driver;
use nasc_front::facts::facts_all;
use nasc_front::resolve::load_path;
use nasc_front::source::Origin;
use std::fmt::Write as _;
use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

/// A space of about `lines` lines: searched residual blocks, each called once in a chain.
fn generated(lines: usize) -> String {
    let blocks = lines / 50;
    let mut s = String::new();
    for i in 0..blocks {
        let _ = write!(
            s,
            "/// Searched block {i}.
block B{i}(x: Tensor[n, c, h, w], scale: int = 1) -> Tensor[n, c, h, w] {{
    // the operation
    let y = choice op {{
        /// 3x3 convolution
        conv3: conv_bn_relu(x, out: c, kernel: 3),
        /// 5x5 convolution
        conv5: conv_bn_relu(x, out: c, kernel: 5),
        /// separable convolution
        sep3: sep_conv(x, out: c, kernel: 3),
        /// max pooling
        pool: max_pool(x, kernel: 3, stride: 1, padding: 1),
        skip: x,
    }}
    let z = choice second {{
        dil: dil_conv(y, out: c, kernel: 3),
        avg: avg_pool_3x3(y),
        id: identity(y),
    }}
    let parts = [relu(z), relu(y)]
    let m = pick merge 1 of parts reduce sum
    let k = choice k [3, 5]
    let w = conv2d(m, out: c, kernel: k, padding: k / 2)
    let w = batch_norm(w)
    let w = if scale == 1 then w else relu(w)
    let out = repeat depth [1, 2] from w {{
        relu(w)
    }}
    return x + out
}}






















"
        );
    }
    s.push_str("network Big(x: Tensor[n, 3, 32, 32]) -> Tensor[n, 10] {\n    let h = conv_bn_relu(x, out: 16, kernel: 3)\n");
    for i in 0..blocks {
        let _ = writeln!(s, "    let h = B{i}(h)");
    }
    s.push_str("    return linear(global_avg_pool(h), out: 10)\n}\n");
    s
}

fn bench(c: &mut Criterion) {
    let root = &Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut group = c.benchmark_group("check");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(5))
        .warm_up_time(Duration::from_secs(1));
    for file in [
        "examples/mnist.nas",
        "stdlib/spaces/darts.nas",
        "stdlib/spaces/shufflenet.nas",
        "stdlib/spaces/proxylessnas.nas",
        "stdlib/spaces/mobilenetv3.nas",
    ] {
        let path = root.join(file);
        let (program, errors) = load_path(&path).expect("readable");
        assert!(errors.is_empty(), "{file}: {errors:?}");
        let (graphs, errors) = check_program(&program);
        assert!(errors.is_empty() && !graphs.is_empty(), "{file}: {errors:?}");
        group.bench_function(format!("elaborate/{file}"), |b| {
            b.iter(|| {
                let (graphs, _) = check_program(black_box(&program));
                black_box(graphs.len())
            })
        });
        group.bench_function(format!("facts/{file}"), |b| {
            b.iter(|| black_box(facts_all(&graphs).len()))
        });
        group.bench_function(format!("full/{file}"), |b| {
            b.iter(|| {
                let input = driver::Input::Path(black_box(&path));
                let options = driver::Options { facts: true, ..Default::default() };
                black_box(driver::compile(input, options).expect("readable").facts.len())
            })
        });
    }
    let text = generated(20_000);
    let lines = text.lines().count() as u64;
    let graphs = driver::graphs_of_text("generated.nas", &text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(graphs.len(), 1);
    group.throughput(Throughput::Elements(lines));
    group.bench_function("full/generated-20000-lines", |b| {
        b.iter(|| {
            let bytes = black_box(text.as_bytes());
            let input =
                driver::Input::Bytes { name: "generated.nas", origin: &Origin::Memory, bytes };
            let options = driver::Options { facts: true, ..Default::default() };
            black_box(driver::compile(input, options).expect("in memory").facts.len())
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
