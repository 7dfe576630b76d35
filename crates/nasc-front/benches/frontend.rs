//! Front-end throughput: lexing, parsing and parsing plus name resolution, in lines per second,
//! on the example spaces (with the standard library) and on a generated 20,000-line space.
//!
//!     cargo bench -p nasc-front --bench frontend
//!
//! Groups (each reports criterion's `elem/s`, where an element is one source line):
//! - `lex`: `nasc_front::syntax::lexer::tokenize`.
//! - `parse`: `nasc_front::syntax::parser::parse_module` (lexer pre-scan, item chunking, the fast
//!   parser (pest where it fails), AST).
//!   `generated_20k_edit_cached` is what an editor's change costs: `parse_module_cached` with a
//!   warm cache, alternating between the space and the space with one indented line moved
//!   one column to the right in the middle (one item parsed again, every later item's spans
//!   shifted).
//! - `pest`: `NasParser::parse(Rule::file, ..)` over the whole text, no AST, with pest's error
//!   detail off and on (`parse_module` turns it on), to split `parse` into its stages.
//! - `fast`: the parser generated from the grammar at build time (`nasc_front::syntax::fast::parse`)
//!   over the whole text, no AST: what `parse_module` runs instead of pest.
//! - `resolve`: `nasc_front::resolve::load_bytes` (parse the root and every module it loads, the
//!   prelude `std.ops` included, then check every name). Its line count is the lines of every
//!   file loaded, not only the root's; `resolve/prelude_only` (an empty root) is the fixed cost
//!   of loading the prelude. `generated_20k_edit_cached` is `load_bytes_cached` with a warm
//!   cache and the same one-line edit as in `parse`.
//!
//! `NASC_BENCH_DUMP=path` writes the generated space to `path` (to read it, or to profile
//! `nasc check` on it). The figures are recorded in docs/benchmarks.md.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use nasc_front::resolve::{load_bytes, load_bytes_cached};
use nasc_front::source::Origin;
use nasc_front::syntax::lexer::tokenize;
use nasc_front::syntax::parser::{parse_module, parse_module_cached, NasParser, ParseCache, Rule};
use pest::Parser as _;
use std::fmt::Write as _;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The size of the generated space, in lines.
const GENERATED_LINES: usize = 20_000;

fn lines(text: &str) -> usize {
    text.lines().count()
}

fn collect_nas(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            // examples/errors/ holds files that are wrong on purpose.
            if p.file_name().is_some_and(|n| n != "errors") {
                collect_nas(&p, out);
            }
        } else if p.extension().is_some_and(|e| e == "nas") {
            out.push(p);
        }
    }
}

/// (name, text) of every example (not examples/errors/) and standard-library file.
fn corpus() -> Vec<(String, String)> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut files = Vec::new();
    collect_nas(&root.join("examples"), &mut files);
    collect_nas(&root.join("stdlib"), &mut files);
    files
        .into_iter()
        .map(|p| {
            let name = p.strip_prefix(&root).unwrap_or(&p).display().to_string();
            let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{name}: {e}"));
            (name, text)
        })
        .collect()
}

/// One generated block: about 50 lines with everything a real space has (doc and line
/// comments, lets, calls with keyword arguments, layer choices with documented alternatives,
/// value choices, a shared explicit label, input choices, a list comprehension in a for loop,
/// a repeat with a searched depth, an if, a block expression, a where clause, arithmetic).
fn generated_block(out: &mut String, i: usize) {
    let k = 3 + 2 * (i % 3);
    let w = 8 * (1 + i % 4);
    write!(
        out,
        r#"// ---------------------------------------------------------------------------------------------
// Cell {i}: a searched residual cell (generated for the front-end benchmark).
// ---------------------------------------------------------------------------------------------

/// Cell {i}: a layer choice over six operations, an expansion ratio, the shared kernel size
/// and a searched depth. Every path keeps the input's shape, so the residual sum is well typed.
block Cell{i}(
    /// The input feature map.
    x: Tensor[n, c, h, w],
    /// A divisor applied to the expanded width.
    scale: int = 2,
    p: float = 0.{d},
) -> Tensor[n, c, h, w]
    where params <= {budget}, flops <= 3e8
{{
    // The kernel size is one decision for all cells (an explicit label).
    let k = choice label "kernel" [3, 5]
    let e = choice expand [2, 4, 6]
    let mid = c * e / scale + {m}
    let a = conv_bn_relu(x, out: c, kernel: k, stride: 1)
    let b = sep_conv(x, out: c, kernel: {k}, affine: true)
    let y = choice op {{
        /// A plain 3x3 convolution.
        conv3: conv_bn_relu(x, out: c, kernel: 3),
        conv5: conv_bn_relu(x, out: c, kernel: 5),
        sep3: sep_conv(x, out: c, kernel: 3),
        dil3: dil_conv(x, out: c, kernel: 3, dilation: 2),
        /// An inverted residual.
        mb: mb_conv(x, out: c, expand: e, kernel: k),
        skip: x,
    }}
    let nodes = [a, b, y]
    for j in 0..3 {{
        // Each node sums two of its predecessors.
        let edges = [relu(s) for s in nodes]
        let nodes = nodes + [pick input 2 of edges reduce sum]
    }}
    let z = pick merge 2 of nodes reduce mean
    let z = repeat depth [1, 2, 3] from z {{
        let t = batch_norm(conv2d(z, out: mid, kernel: k, padding: k / 2), affine: false)
        relu(conv2d(t, out: c, kernel: 1) + z)
    }}
    let r = choice rate [0.0, 0.1, 0.2]
    let d = if scale > 1 and r > 0.0 then dropout(z, p: r) else {{
        let q = max_pool_3x3(z)
        avg_pool(q, kernel: 1, stride: 1)
    }}
    let width = choice width [{w}, {w2}, {w3}]
    let s = conv_bn(d, out: c, kernel: 1, stride: 1, affine: width > {w})
    return x + dropout(s, p: p)
}}

"#,
        d = 1 + i % 9,
        budget = 1_000_000 + 1_000 * i,
        m = i % 7,
        w2 = 2 * w,
        w3 = 3 * w,
    )
    .expect("write to a String");
}

/// A model space of exactly `target` lines: a header, generated cells, and a network that
/// chains them: every cell once, then again from the first as many as it takes to reach the
/// line count.
fn generated_space(target: usize) -> String {
    let mut out = String::with_capacity(target * 48);
    out.push_str(
        "// A generated model space for the front-end benchmark (benches/frontend.rs).\n\
         \n\
         import std.ops.{conv2d, batch_norm, conv_bn_relu, sep_conv, dil_conv, mb_conv}\n\
         import std.cells.{darts_cell}\n\
         \n",
    );
    // The network: 7 lines, and one per cell.
    let network_fixed = 7;
    let mut i = 0;
    loop {
        let mut block = String::new();
        generated_block(&mut block, i);
        if lines(&out) + lines(&block) + network_fixed + (i + 1) > target {
            break;
        }
        out.push_str(&block);
        i += 1;
    }
    let cells = i;
    out.push_str(
        "/// The whole space: a searched stem width, then every cell in turn.\n\
         network Generated(x: Tensor[n, 3, 32, 32]) -> Tensor[n, 10]\n    \
         where params <= 50_000_000, flops <= 6e9\n\
         {\n    \
         let width = choice stem [16, 24, 32]\n    \
         let h = conv_bn_relu(x, out: width, kernel: 3)\n",
    );
    let mut j = 0;
    while lines(&out) + 2 < target {
        writeln!(out, "    let h = Cell{}(h, scale: {})", j % cells, 1 + j % 3).unwrap();
        j += 1;
    }
    out.push_str("    return linear(global_avg_pool(h), out: 10)\n}\n");
    assert_eq!(lines(&out), target, "the generator must hit the line count");
    out
}

/// Loads `text` as a root file and panics unless it checks clean; returns the lines of every
/// file loaded (the root, the prelude and any imports).
fn check_clean(name: &str, text: &str) -> usize {
    let (program, errors) = load_bytes(name, Origin::Memory, text.as_bytes());
    assert!(
        errors.is_empty(),
        "{name} must check clean; {} errors, the first: {:?}",
        errors.len(),
        errors.first()
    );
    program.modules.iter().map(|m| lines(&program.sources.get(m.file).text)).sum()
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
}

fn benches(c: &mut Criterion) {
    let corpus = corpus();
    let corpus_lines: usize = corpus.iter().map(|(_, t)| lines(t)).sum();
    let examples: Vec<&(String, String)> =
        corpus.iter().filter(|(n, _)| n.starts_with("examples")).collect();
    assert!(!examples.is_empty(), "no examples found");
    let generated = generated_space(GENERATED_LINES);
    // To look at the generated space, or to profile `nasc check` on it.
    if let Some(path) = std::env::var_os("NASC_BENCH_DUMP") {
        std::fs::write(&path, &generated).expect("write NASC_BENCH_DUMP");
    }
    let generated_loaded = check_clean("generated.nas", &generated);
    let examples_loaded: usize = examples.iter().map(|(n, t)| check_clean(n, t)).sum();
    for (name, text) in &corpus {
        let (_, errors) = parse_module(text);
        assert!(errors.is_empty(), "{name} must parse: {errors:?}");
    }
    assert!(NasParser::parse(Rule::file, &generated).is_ok());

    let inputs: [(&str, usize); 2] = [("corpus", corpus_lines), ("generated_20k", GENERATED_LINES)];
    // An editor's change: one indented line in the middle moved one column to the right.
    let middle = generated[generated.len() / 2..].find("\n    ").expect("an indented line")
        + generated.len() / 2
        + 1;
    let edits = [format!("{} {}", &generated[..middle], &generated[middle..]), generated.clone()];
    assert!(parse_module(&edits[0]).1.is_empty());

    let mut g = c.benchmark_group("lex");
    for (id, n) in inputs {
        g.throughput(Throughput::Elements(n as u64));
        g.bench_function(BenchmarkId::from_parameter(id), |b| match id {
            "corpus" => b.iter(|| {
                for (_, t) in &corpus {
                    black_box(tokenize(black_box(t)));
                }
            }),
            _ => b.iter(|| black_box(tokenize(black_box(&generated)))),
        });
    }
    g.finish();

    let mut g = c.benchmark_group("parse");
    for (id, n) in inputs {
        g.throughput(Throughput::Elements(n as u64));
        g.bench_function(BenchmarkId::from_parameter(id), |b| match id {
            "corpus" => b.iter(|| {
                for (_, t) in &corpus {
                    black_box(parse_module(black_box(t)));
                }
            }),
            _ => b.iter(|| black_box(parse_module(black_box(&generated)))),
        });
    }
    g.throughput(Throughput::Elements(GENERATED_LINES as u64));
    g.bench_function("generated_20k_edit_cached", |b| {
        let mut cache = ParseCache::new();
        parse_module_cached(&generated, &mut cache);
        let mut i = 0;
        b.iter(|| {
            i += 1;
            let parsed = parse_module_cached(black_box(&edits[i % 2]), &mut cache);
            cache.sweep();
            black_box(parsed)
        })
    });
    g.finish();

    let mut g = c.benchmark_group("pest");
    g.throughput(Throughput::Elements(GENERATED_LINES as u64));
    for detail in [false, true] {
        let id =
            if detail { "generated_20k_error_detail_on" } else { "generated_20k_error_detail_off" };
        g.bench_function(id, |b| {
            pest::set_error_detail(detail);
            b.iter(|| black_box(NasParser::parse(Rule::file, black_box(&generated)).is_ok()))
        });
    }
    g.finish();

    let mut g = c.benchmark_group("fast");
    g.throughput(Throughput::Elements(GENERATED_LINES as u64));
    g.bench_function("generated_20k", |b| {
        b.iter(|| {
            black_box(nasc_front::syntax::fast::parse(Rule::file, black_box(&generated)).is_some())
        })
    });
    g.finish();

    let mut g = c.benchmark_group("resolve");
    g.throughput(Throughput::Elements(examples_loaded as u64));
    g.bench_function("examples", |b| {
        b.iter(|| {
            for (n, t) in &examples {
                black_box(load_bytes(n, Origin::Memory, black_box(t.as_bytes())));
            }
        })
    });
    g.throughput(Throughput::Elements(generated_loaded as u64));
    g.bench_function("generated_20k", |b| {
        b.iter(|| {
            black_box(load_bytes("generated.nas", Origin::Memory, black_box(generated.as_bytes())))
        })
    });
    g.bench_function("generated_20k_edit_cached", |b| {
        let mut cache = ParseCache::new();
        load_bytes_cached("generated.nas", Origin::Memory, generated.as_bytes(), &mut cache);
        let mut i = 0;
        b.iter(|| {
            i += 1;
            let loaded = load_bytes_cached(
                "generated.nas",
                Origin::Memory,
                black_box(edits[i % 2].as_bytes()),
                &mut cache,
            );
            cache.sweep();
            black_box(loaded)
        })
    });
    let prelude_lines = check_clean("empty.nas", "");
    g.throughput(Throughput::Elements(prelude_lines as u64));
    g.bench_function("prelude_only", |b| {
        b.iter(|| black_box(load_bytes("empty.nas", Origin::Memory, b"")))
    });
    g.finish();

    eprintln!(
        "lines: corpus {corpus_lines} ({} files), examples with what they load \
         {examples_loaded}, generated {GENERATED_LINES} (with what it loads \
         {generated_loaded}), prelude {prelude_lines}",
        corpus.len()
    );
}

criterion_group! {
    name = frontend;
    config = config();
    targets = benches
}
criterion_main!(frontend);
