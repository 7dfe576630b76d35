//! Responsiveness of `nasc lsp`: how long after a change to a 2,000-line space its
//! diagnostics arrive, measured from outside, as an editor sees it.
//!
//!     cargo bench --bench lsp
//!
//! The benchmark starts the `nasc` binary of the bench profile (`nasc lsp`, a real process
//! speaking JSON-RPC over pipes), opens a generated space of exactly 2,000 lines (40 searched
//! blocks of 48 lines chained by one network with a `where` constraint), then sends one-line
//! incremental `didChange` notifications, one at a time, and times each from the write of the
//! change to the read of the `publishDiagnostics` for that version:
//! - `clean`: an edit that keeps the space well typed (a comment changes), so the whole
//!   pipeline runs: parse (the server's parse cache reparses only the items whose text
//!   changed), resolve with the standard library, elaborate every network (the types hover
//!   shows are recorded later, by the first hover);
//! - `error`: an edit that introduces an unknown keyword argument (resolution reports it;
//!   the type stage does not run), alternating with the fix.
//!
//! It also times a `hover` sent right after each clean change's diagnostics (the server first
//! finishes the constraint facts, which it computes after publishing, then records the types
//! of the document's expressions), and the in-process cost of one check from scratch
//! ([`nasc::lsp::analysis::Analysis::new`]) and of one check after a one-line change with a
//! warm parse cache ([`nasc::lsp::analysis::Analysis::with_cache`], what the server runs).
//! `NASC_BENCH_DUMP=path` writes the space. The figures are recorded in docs/benchmarks.md.

use serde_json::{json, Value};
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::str::FromStr;
use std::time::{Duration, Instant};

/// Changes timed per case.
const ROUNDS: usize = 40;

/// One searched block: 48 lines.
fn block(out: &mut String, i: usize) {
    let k = 3 + 2 * (i % 2);
    write!(
        out,
        r#"// -------------------------------------------------------------------------------------------
// Block {i}: a searched residual cell (generated for the language-server benchmark).
// -------------------------------------------------------------------------------------------

/// Block {i}: one of five operations, an expansion, an input choice and a searched depth;
/// every path keeps the input's shape, so the residual sum is well typed.
block B{i}(
    /// The input feature map.
    x: Tensor[n, c, h, w],
    /// A divisor of the expanded width.
    scale: int = 1,
) -> Tensor[n, c, h, w] {{
    let y = choice op {{
        /// 3x3 convolution.
        conv3: conv_bn_relu(x, out: c, kernel: 3),
        /// 5x5 convolution.
        conv5: conv_bn_relu(x, out: c, kernel: 5),
        /// Separable convolution.
        sep3: sep_conv(x, out: c, kernel: 3),
        /// Max pooling.
        pool: max_pool(x, kernel: 3, stride: 1, padding: 1),
        skip: x,
    }}
    let z = choice second {{
        dil: dil_conv(y, out: c, kernel: 3),
        avg: avg_pool_3x3(y),
        id: identity(y),
    }}
    // Merge one of the two.
    let parts = [relu(z), relu(y)]
    let m = pick merge 1 of parts reduce sum
    let k = choice k [3, 5]
    let e = choice expand [1, 2]
    let v = conv2d(m, out: c * e / scale, kernel: k, padding: k / 2)
    let v = batch_norm(v)
    let v = conv2d(relu(v), out: c, kernel: 1)
    let v = if scale == 1 then v else relu(v)
    let out = repeat depth [1, 2] from v {{
        relu(batch_norm(conv2d(v, out: c, kernel: {k}, padding: {p})))
    }}
    let s = sep_conv(out, out: c, kernel: 3)
    let s = dil_conv(s, out: c, kernel: 3)
    let t = conv_bn(s, out: c, kernel: 1)
    let t = relu(t)
    // The residual sum.
    return x + t
}}

"#,
        p = k / 2,
    )
    .expect("write to a String");
}

/// A well-typed space of exactly `target` lines.
fn space(target: usize) -> String {
    let mut s = String::from(
        "// A generated model space for the language-server benchmark (benches/lsp.rs).\n\n",
    );
    let mut blocks = 0;
    loop {
        let mut b = String::new();
        block(&mut b, blocks);
        if s.lines().count() + b.lines().count() + blocks + 12 > target {
            break;
        }
        s.push_str(&b);
        blocks += 1;
    }
    s.push_str("/// The whole space: a searched stem width, then every block in turn.\n");
    s.push_str("network Generated(x: Tensor[n, 3, 32, 32]) -> Tensor[n, 10]\n    where params <= 50_000_000\n{\n");
    s.push_str("    let width = choice stem [16, 24, 32]\n    let h = conv_bn_relu(x, out: width, kernel: 3)\n");
    for i in 0..blocks {
        writeln!(s, "    let h = B{i}(h)").unwrap();
    }
    s.push_str("    return linear(global_avg_pool(h), out: 10)\n}\n");
    while s.lines().count() < target {
        s.push_str("// padding\n");
    }
    assert_eq!(s.lines().count(), target);
    s
}

struct Server {
    child: std::process::Child,
    stdin: std::process::ChildStdin,
    stdout: BufReader<std::process::ChildStdout>,
    id: i64,
}

impl Server {
    fn send(&mut self, v: Value) {
        let body = v.to_string();
        write!(self.stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).unwrap();
        self.stdin.flush().unwrap();
    }

    fn recv(&mut self) -> Value {
        let mut len = 0;
        loop {
            let mut line = String::new();
            assert!(self.stdout.read_line(&mut line).unwrap() > 0, "the server closed its output");
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some(v) = line.strip_prefix("Content-Length: ") {
                len = v.parse().unwrap();
            }
        }
        let mut body = vec![0; len];
        self.stdout.read_exact(&mut body).unwrap();
        serde_json::from_slice(&body).unwrap()
    }

    fn request(&mut self, method: &str, params: Value) -> Value {
        self.id += 1;
        let id = self.id;
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        loop {
            let m = self.recv();
            if m["id"] == id {
                return m;
            }
        }
    }

    /// Waits for the diagnostics of `version`; returns how many there are.
    fn diagnostics(&mut self, version: i64) -> usize {
        loop {
            let m = self.recv();
            if m["method"] == "textDocument/publishDiagnostics" && m["params"]["version"] == version
            {
                return m["params"]["diagnostics"].as_array().unwrap().len();
            }
        }
    }
}

fn stats(name: &str, mut v: Vec<Duration>) -> String {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let mean = v.iter().map(|d| ms(*d)).sum::<f64>() / v.len() as f64;
    format!(
        "{name:<34} n={:<3} median {:>7.2} ms   p90 {:>7.2} ms   max {:>7.2} ms   mean {:>7.2} ms",
        v.len(),
        ms(v[v.len() / 2]),
        ms(v[v.len() * 9 / 10]),
        ms(v[v.len() - 1]),
        mean
    )
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing: run either way.
    let text = space(2000);
    if let Ok(path) = std::env::var("NASC_BENCH_DUMP") {
        std::fs::write(&path, &text).expect("write the space");
    }
    let dir = std::env::temp_dir().join(format!("nasc-lsp-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("space.nas");
    std::fs::write(&path, &text).unwrap();
    let uri = format!("file://{}", path.display());

    // In process: one check of the space, as the server does it.
    let lsp_uri = nasc::lsp::Uri::from_str(&uri).unwrap();
    let a = nasc::lsp::analysis::Analysis::new(&lsp_uri, &text);
    assert!(
        a.checked.diagnostics.is_empty(),
        "the space must check clean: {:?}",
        a.checked.diagnostics.first().map(|d| &d.message)
    );
    let (mut resolve, mut types, mut plain, mut parse) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut root_types, mut cached_parse) = (Vec::new(), Vec::new());
    // The same one-character comment change as the `clean` case below.
    let edited = [text.replacen("// Block 20:", "// Xlock 20:", 1), text.clone()];
    let mut cache = nasc::syntax::parser::ParseCache::new();
    nasc::syntax::parser::parse_module_cached(&text, &mut cache);
    for i in 0..10 {
        let t = Instant::now();
        std::hint::black_box(nasc::syntax::parser::parse_module(&text));
        parse.push(t.elapsed());
        let t = Instant::now();
        let (program, _) =
            nasc::resolve::load_bytes("space.nas", nasc::source::Origin::Memory, text.as_bytes());
        resolve.push(t.elapsed());
        let t = Instant::now();
        std::hint::black_box(nasc::check::check_program(&program));
        plain.push(t.elapsed());
        let t = Instant::now();
        std::hint::black_box(nasc::check::check_program_with_types(&program));
        types.push(t.elapsed());
        let t = Instant::now();
        std::hint::black_box(nasc::check::check_program_with_types_in(
            &program,
            Some(program.modules[0].file),
        ));
        root_types.push(t.elapsed());
        let t = Instant::now();
        std::hint::black_box(nasc::syntax::parser::parse_module_cached(&edited[i % 2], &mut cache));
        cached_parse.push(t.elapsed());
        cache.sweep();
    }
    let (mut check, mut cached) = (Vec::new(), Vec::new());
    let mut cache = nasc::syntax::parser::ParseCache::new();
    std::hint::black_box(nasc::lsp::analysis::Analysis::with_cache(&lsp_uri, &text, &mut cache));
    for i in 0..10 {
        let t = Instant::now();
        let a = nasc::lsp::analysis::Analysis::new(&lsp_uri, &text);
        check.push(t.elapsed());
        std::hint::black_box(a);
        let t = Instant::now();
        let a = nasc::lsp::analysis::Analysis::with_cache(&lsp_uri, &edited[i % 2], &mut cache);
        cached.push(t.elapsed());
        assert!(a.checked.diagnostics.is_empty());
        std::hint::black_box(a);
    }

    let mut child = Command::new(env!("CARGO_BIN_EXE_nasc"))
        .arg("lsp")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start nasc lsp");
    let stdin = child.stdin.take().unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let mut s = Server { child, stdin, stdout, id: 0 };
    s.request("initialize", json!({"capabilities": {}}));
    s.send(json!({"jsonrpc": "2.0", "method": "initialized", "params": {}}));
    s.send(
        json!({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": {"uri": uri, "languageId": "nas", "version": 0, "text": text}}}),
    );
    assert_eq!(s.diagnostics(0), 0);

    // The line to edit: a comment in the middle of the file, and a call in block 20.
    let lines: Vec<&str> = text.lines().collect();
    let comment = lines.iter().position(|l| l.starts_with("// Block 20:")).unwrap() as u32;
    let call = lines
        .iter()
        .skip(comment as usize)
        .position(|l| l.contains("max_pool(x, kernel: 3"))
        .unwrap() as u32
        + comment;
    let col = lines[call as usize].find("kernel").unwrap() as u32;
    let mut version = 0;
    let (mut clean, mut error, mut fixed, mut hover) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        // A clean edit: one character of a comment.
        version += 1;
        let ch = if round % 2 == 0 { "X" } else { "B" };
        let change = json!({"range": {"start": {"line": comment, "character": 3}, "end": {"line": comment, "character": 4}}, "text": ch});
        let t = Instant::now();
        s.send(json!({"jsonrpc": "2.0", "method": "textDocument/didChange", "params": {"textDocument": {"uri": uri, "version": version}, "contentChanges": [change]}}));
        assert_eq!(s.diagnostics(version), 0);
        clean.push(t.elapsed());
        let t = Instant::now();
        let h = s.request(
            "textDocument/hover",
            json!({"textDocument": {"uri": uri}, "position": {"line": call, "character": 14}}),
        );
        hover.push(t.elapsed());
        assert!(
            h["result"]["contents"]["value"].as_str().is_some_and(|v| v.contains("Tensor[")),
            "{h}"
        );

        // An error (`kernel` -> `kernl`), then its fix.
        for (text, bad) in [("kernl", true), ("kernel", false)] {
            version += 1;
            let len = if bad { 6 } else { 5 };
            let change = json!({"range": {"start": {"line": call, "character": col}, "end": {"line": call, "character": col + len}}, "text": text});
            let t = Instant::now();
            s.send(json!({"jsonrpc": "2.0", "method": "textDocument/didChange", "params": {"textDocument": {"uri": uri, "version": version}, "contentChanges": [change]}}));
            let n = s.diagnostics(version);
            assert_eq!(n > 0, bad, "{n} diagnostics");
            if bad {
                error.push(t.elapsed())
            } else {
                fixed.push(t.elapsed())
            }
        }
    }
    s.request("shutdown", Value::Null);
    s.send(json!({"jsonrpc": "2.0", "method": "exit", "params": null}));
    let _ = s.child.wait();
    let _ = std::fs::remove_dir_all(&dir);

    println!(
        "nasc lsp, a {}-line space ({} bytes), {} rounds",
        text.lines().count(),
        text.len(),
        ROUNDS
    );
    println!("{}", stats("parse the space (parse_module)", parse));
    println!("{}", stats("reparse, one-line change, cached", cached_parse));
    println!("{}", stats("load and resolve (load_bytes)", resolve));
    println!("{}", stats("type stage (check_program)", plain));
    println!("{}", stats("type stage, types recorded", types));
    println!("{}", stats("type stage, root file's types", root_types));
    println!("{}", stats("check in process (Analysis::new)", check));
    println!("{}", stats("check after a change (with_cache)", cached));
    println!("{}", stats("change -> diagnostics (clean)", clean));
    println!("{}", stats("change -> diagnostics (error)", error));
    println!("{}", stats("change -> diagnostics (fixed)", fixed));
    println!("{}", stats("hover right after (clean)", hover));
}
