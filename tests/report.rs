//! `nasc report` as a user meets it: real small searches (multi-trial and one-shot) through the
//! `nasc` binary write their report while they run; `nasc report` writes it again and compares
//! a directory of experiments; bad directories get a clear error. Then every page is opened in
//! a real headless browser (Chromium, from the system's packages): the test fails on any
//! script error, on a chart missing from a view, and on any request the page makes (the
//! page's Content-Security-Policy blocks every request and its first script records each
//! blocked one in the page; a page with a planted image request checks that this detection
//! works). It saves a screenshot of every view under `target/tmp/report-screenshots/`.
//!
//! Without Chromium the browser part is skipped with a message, except under CI (the `CI`
//! environment variable set), where a missing browser fails the test: `.ci/run` installs
//! Debian's `chromium`. `NASC_CHROMIUM` names another browser binary.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Runs `nasc ARGS` in the crate root.
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

/// A small real search into `out`: the six-architecture space, a few steps per trial.
fn search(out: &Path, strategy: &str) -> Output {
    let out = out.display().to_string();
    let mut args = vec!["search", "tests/data/tiny_search.nas", "--strategy", strategy];
    if matches!(strategy, "random" | "grid" | "evolution" | "tpe") {
        args.extend(["--max-trials", "6", "--epochs", "2"]);
    } else {
        args.extend(["--epochs", "3"]);
    }
    if strategy == "proxyless" {
        args.extend(["--target-flops", "15000"]);
    }
    args.extend(["--max-steps", "3", "--out", &out]);
    let o = nasc(&args);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    o
}

/// Writes random CIFAR-shaped images and integer classes as NPY files in `dir` (for the DARTS
/// cell example, whose input is `[3, 32, 32]`); returns the `--data` spec.
fn cifar_like(dir: &Path) -> String {
    let n = 48;
    let (x, y) = (dir.join("x.npy"), dir.join("y.npy"));
    let values: Vec<f32> =
        (0..n * 3 * 32 * 32).map(|i| ((i * 7919) % 255) as f32 / 255.0).collect();
    common::write_npy(&x, &[n, 3, 32, 32], &values);
    let mut header = format!("{{'descr': '<i8', 'fortran_order': False, 'shape': ({n},), }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend((header.len() as u16).to_le_bytes());
    bytes.extend(header.as_bytes());
    for i in 0..n as i64 {
        bytes.extend((i % 10).to_le_bytes());
    }
    std::fs::write(&y, bytes).expect("write npy");
    format!("npy:{},{}", x.display(), y.display())
}

/// The experiments every test here reads: random search, DARTS, ENAS and ProxylessNAS on the
/// six-architecture space, and a random search of the DARTS cell example (for its cells), in
/// one directory (made once per test process).
fn experiments() -> &'static Path {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let root = common::temp_dir("report");
        let data = cifar_like(&root);
        let cells = root.join("cells").display().to_string();
        let o = nasc(&[
            "search",
            "examples/darts_cell.nas",
            "--strategy",
            "random",
            "--max-trials",
            "2",
            "--max-steps",
            "1",
            "--batch-size",
            "16",
            "--val-fraction",
            "0.25",
            "--data",
            &data,
            "--out",
            &cells,
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
        for s in ["random", "darts", "enas", "proxyless"] {
            let o = search(&root.join(s), s);
            // The search says where its report is, and the report is there when it ends,
            // showing the final status.
            let report = root.join(s).join("report.html");
            let line = format!("report: {}", report.display());
            assert!(text(&o.stderr).contains(&line), "{s}: {}", text(&o.stderr));
            let page = std::fs::read_to_string(&report).expect("the search wrote its report");
            assert!(page.contains(r#"data-status="done""#), "{s}: the page says done");
        }
        root
    })
}

#[test]
fn searches_write_their_report_and_nasc_report_writes_it_again() {
    let root = experiments();
    let random = root.join("random");
    let o = nasc(&["report", &random.display().to_string()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout).trim(), format!("report: {}", random.join("report.html").display()));
    let page = std::fs::read_to_string(random.join("report.html")).expect("report");
    // Self-contained: nothing is fetched (no src or href to another file or the network).
    for needle in ["src=", "href=\"http", "@import", "url(http"] {
        assert!(!page.contains(needle), "the page references `{needle}`");
    }
    // Every view of a multi-trial search, with its charts, and every trial in the table.
    for id in [
        "view-history",
        "view-trials",
        "view-curves",
        "view-parallel",
        "view-importance",
        "view-cost",
        "view-architecture",
        "chart-history-trial",
        "chart-history-time",
        "chart-curves-loss",
        "chart-curves-val",
        "chart-parallel",
        "chart-importance",
        "chart-cost-params",
        "chart-cost-flops",
        "chart-arch",
    ] {
        assert!(page.contains(&format!(r#"id="{id}""#)), "no `{id}` in the page");
    }
    let rows = page.matches("<tr class=").count();
    assert_eq!(rows, 6, "one table row per trial");
    // `--trial N` draws that trial first; a trial that does not exist is a bad argument. (On a
    // copy of the experiment: the browser test rewrites the shared one's page.)
    let copy = common::temp_dir("report-copy");
    for e in std::fs::read_dir(&random).expect("dir") {
        let p = e.expect("entry").path();
        std::fs::copy(&p, copy.join(p.file_name().expect("name"))).expect("copy");
    }
    let random = copy;
    let o = nasc(&["report", &random.display().to_string(), "--trial", "2"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let page = std::fs::read_to_string(random.join("report.html")).expect("report");
    assert!(page.contains(r#"<option value="2">trial 2 (asked for)</option>"#), "trial 2 first");
    let o = nasc(&["report", &random.display().to_string(), "--trial", "99"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("there is no trial 99"), "{}", text(&o.stderr));
    // A one-shot search's views.
    let page = std::fs::read_to_string(root.join("enas").join("report.html")).expect("report");
    for id in [
        "view-probabilities",
        "view-supernet",
        "chart-prob-0",
        "chart-prob-1",
        "chart-supernet-loss",
        "chart-supernet-val",
        "chart-enas-reward",
        "chart-arch",
    ] {
        assert!(page.contains(&format!(r#"id="{id}""#)), "no `{id}` in the ENAS page");
    }
    let page = std::fs::read_to_string(root.join("proxyless").join("report.html")).expect("page");
    assert!(page.contains(r#"id="chart-proxyless-cost""#), "Proxyless's expected cost");
    assert!(page.contains("against the target of 15k"), "and its target");
    // The directory: a page comparing the experiments, linking to each one's report.
    let o = nasc(&["report", &root.display().to_string()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let page = std::fs::read_to_string(root.join("report.html")).expect("comparison page");
    for s in ["random", "darts", "enas", "proxyless", "cells"] {
        assert!(page.contains(&format!(r#"href="{s}/report.html""#)), "links to {s}");
    }
}

#[test]
fn check_draws_one_architecture_as_svg() {
    let dir = common::temp_dir("report-svg");
    let arch = dir.join("arch.json");
    std::fs::write(&arch, r#"{"width": 8, "kernel": 5}"#).expect("write");
    let arch = arch.display().to_string();
    let o = nasc(&["check", "tests/data/tiny_search.nas", "--arch", &arch, "--emit", "svg"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let svg = text(&o.stdout);
    assert!(svg.starts_with("<svg ") && svg.trim_end().ends_with("</svg>"), "{svg}");
    // input, conv2d, batch_norm, relu, global_avg_pool, linear; the chosen width and kernel.
    assert_eq!(svg.matches(r#"<g class="node""#).count(), 6, "{svg}");
    assert!(svg.contains("out=8 kernel=5"), "{svg}");
    // Without --arch, a space with choices needs one.
    let o = nasc(&["check", "tests/data/tiny_search.nas", "--emit", "svg"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("--arch"), "{}", text(&o.stderr));
}

#[test]
fn bad_directories_get_a_clear_error_not_a_panic() {
    let dir = common::temp_dir("report-bad");
    let missing = dir.join("nowhere").display().to_string();
    let o = nasc(&["report", &missing]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("no such experiment directory"), "{}", text(&o.stderr));
    let empty = dir.join("empty");
    std::fs::create_dir_all(&empty).expect("dir");
    let o = nasc(&["report", &empty.display().to_string()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("holds no experiment"), "{}", text(&o.stderr));
    // A file that is not an experiment database, and one that is damaged.
    let not = dir.join("not");
    std::fs::create_dir_all(&not).expect("dir");
    std::fs::write(not.join("experiment.db"), b"hello, this is not SQLite at all............")
        .expect("write");
    let o = nasc(&["report", &not.display().to_string()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("not a nasc experiment database"), "{}", text(&o.stderr));
    assert!(!text(&o.stderr).contains("panicked"), "{}", text(&o.stderr));
    let damaged = dir.join("damaged");
    search(&damaged, "random");
    let db = damaged.join("experiment.db");
    let mut bytes = std::fs::read(&db).expect("db");
    let half = bytes.len() / 2;
    bytes[half..].iter_mut().for_each(|b| *b = 0xA5);
    std::fs::write(&db, bytes).expect("write");
    let _ = std::fs::remove_file(damaged.join("experiment.db-wal"));
    let o = nasc(&["report", &damaged.display().to_string()]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    assert!(text(&o.stderr).starts_with("error: "), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("corrupt"), "{}", text(&o.stderr));
    assert!(!text(&o.stderr).contains("panicked"), "{}", text(&o.stderr));
    // `--trial` with a directory of experiments.
    let o = nasc(&["report", &dir.display().to_string(), "--trial", "1"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
}

/// The browser: `NASC_CHROMIUM` when set (and only it: set it to a missing file to see the
/// test skip, or fail under CI), or else Debian's `chromium`, or one on `PATH`.
fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("NASC_CHROMIUM") {
        return Some(PathBuf::from(p)).filter(|p| p.is_file());
    }
    let names = ["chromium", "chromium-browser", "google-chrome"];
    let dirs = std::env::var_os("PATH").map(|p| std::env::split_paths(&p).collect::<Vec<_>>());
    let mut candidates = vec![PathBuf::from("/usr/bin/chromium")];
    for d in dirs.unwrap_or_default() {
        candidates.extend(names.iter().map(|n| d.join(n)));
    }
    candidates.into_iter().find(|p| p.is_file())
}

/// Runs the browser headless on `url` with `extra` arguments (a fresh profile each time),
/// killed after 90 seconds; returns its standard output.
fn browse(browser: &Path, url: &str, extra: &[String]) -> String {
    let profile = common::temp_dir(&format!("chromium-{}", url.len() + extra.len()));
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--virtual-time-budget=3000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(url)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the browser starts");
    // Read its output while it runs: a DOM larger than the pipe's buffer would block it.
    let mut stdout = child.stdout.take().expect("piped");
    let reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = std::io::Read::read_to_end(&mut stdout, &mut buf);
        buf
    });
    let mut stderr = child.stderr.take().expect("piped");
    let errors = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = std::io::Read::read_to_end(&mut stderr, &mut buf);
        buf
    });
    let start = Instant::now();
    loop {
        if child.try_wait().expect("wait").is_some() {
            break;
        }
        if start.elapsed() > Duration::from_secs(90) {
            let _ = child.kill();
            panic!("the browser did not finish on {url} within 90 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = reader.join().expect("stdout read");
    let _ = errors.join();
    let _ = std::fs::remove_dir_all(&profile);
    text(&out)
}

/// The value of attribute `name` on the page's `<html>` element in a dumped DOM.
fn root_attr(dom: &str, name: &str) -> Option<String> {
    let start = dom.find("<html")?;
    let tag = &dom[start..start + dom[start..].find('>')?];
    let key = format!(" {name}=\"");
    let at = tag.find(&key)? + key.len();
    Some(tag[at..at + tag[at..].find('"')?].to_string())
}

/// The page at `url` as the browser leaves it: no problem recorded, its script ran to the end,
/// every chart of `charts` present (an `<svg class="chart">` with that id), and `view` shown
/// (not hidden). Returns the DOM.
fn check_page(browser: &Path, url: &str, view: &str, charts: &[&str]) -> String {
    let dom = browse(browser, url, &["--dump-dom".to_string()]);
    assert_eq!(
        root_attr(&dom, "data-errors"),
        None,
        "{url}: problems recorded:\n{}",
        errors_of(&dom)
    );
    assert_eq!(
        root_attr(&dom, "data-ready").as_deref(),
        Some("yes"),
        "{url}: the script did not finish"
    );
    for id in charts {
        let found = dom.match_indices(r#"<svg class="chart"#).any(|(i, _)| {
            dom[i..].split('>').next().is_some_and(|t| t.contains(&format!(r#"id="{id}""#)))
        });
        assert!(found, "{url}: chart `{id}` missing");
    }
    let section = format!(r#"<section class="view" id="view-{view}""#);
    let at = dom.find(&section).unwrap_or_else(|| panic!("{url}: no view `{view}`"));
    let tag = dom[at..].split('>').next().unwrap_or("");
    assert!(!tag.contains("hidden"), "{url}: view `{view}` is hidden: {tag}");
    dom
}

fn errors_of(dom: &str) -> String {
    dom.split(r#"<div id="errors">"#)
        .nth(1)
        .and_then(|s| s.split("</div>").next())
        .unwrap_or("")
        .to_string()
}

#[test]
fn the_report_opens_in_a_real_browser_without_errors_or_requests() {
    let Some(browser) = chromium() else {
        if std::env::var_os("CI").is_some() {
            panic!("no Chromium found (CI is set): .ci/run installs Debian's `chromium`; NASC_CHROMIUM names another");
        }
        eprintln!("skipped: no Chromium found (install Debian's `chromium`, or set NASC_CHROMIUM); the browser test needs one");
        return;
    };
    let root = experiments();
    let o = nasc(&["report", &root.display().to_string()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("report-screenshots");
    std::fs::create_dir_all(&shots).expect("screenshot directory");
    let url = |p: &Path, view: &str| format!("file://{}#{view}", p.display());
    let multi = root.join("random").join("report.html");
    let darts = root.join("darts").join("report.html");
    let enas = root.join("enas").join("report.html");
    let compare = root.join("report.html");
    // Every chart, read from the DOM the browser built after the scripts ran.
    check_page(
        &browser,
        &url(&multi, "parallel"),
        "parallel",
        &[
            "chart-history-trial",
            "chart-history-time",
            "chart-curves-loss",
            "chart-curves-val",
            "chart-parallel",
            "chart-importance",
            "chart-cost-params",
            "chart-cost-flops",
            "chart-arch",
        ],
    );
    let proxyless = root.join("proxyless").join("report.html");
    for (page, strategy) in [(&darts, "darts"), (&enas, "enas"), (&proxyless, "proxyless")] {
        let mut charts = vec![
            "chart-prob-0",
            "chart-prob-1",
            "chart-supernet-loss",
            "chart-supernet-val",
            "chart-arch",
        ];
        match strategy {
            "enas" => charts.push("chart-enas-reward"),
            "proxyless" => charts.push("chart-proxyless-cost"),
            _ => {}
        }
        check_page(&browser, &url(page, "supernet"), "supernet", &charts);
    }
    // The DARTS cell example: its cells a, b and d (the standard library's DARTS cells) drawn
    // as cells besides the operators; its cell e is written another way and is not.
    let cells = root.join("cells").join("report.html");
    let dom = check_page(
        &browser,
        &url(&cells, "architecture"),
        "architecture",
        &["chart-arch", "chart-cell-0", "chart-cell-1", "chart-cell-2"],
    );
    assert!(!dom.contains(r#"id="chart-cell-3""#), "only the DARTS cells are drawn as cells");
    assert!(dom.contains(">trial") && dom.contains(": cell a</text>"), "cell a is titled");
    check_page(&browser, &url(&compare, "compare"), "compare", &["chart-compare-best"]);
    // The detection is real: the same page with one image from the network is caught.
    let planted = root.join("planted.html");
    let page = std::fs::read_to_string(&multi).expect("page");
    let page =
        page.replacen("<header>", r#"<header><img alt="" src="http://127.0.0.1:9/x.png">"#, 1);
    std::fs::write(&planted, page).expect("write");
    let dom = browse(&browser, &url(&planted, "history"), &["--dump-dom".to_string()]);
    assert!(root_attr(&dom, "data-errors").is_some(), "a planted request went unnoticed");
    assert!(errors_of(&dom).contains("127.0.0.1:9"), "{}", errors_of(&dom));
    // A screenshot of every view.
    let views: Vec<(&PathBuf, &str, &str)> =
        ["history", "trials", "curves", "parallel", "importance", "cost", "architecture"]
            .iter()
            .map(|v| (&multi, "random", *v))
            .chain(
                ["probabilities", "supernet", "trials", "architecture"]
                    .iter()
                    .map(|v| (&darts, "darts", *v)),
            )
            .chain(["supernet"].iter().map(|v| (&enas, "enas", *v)))
            .chain(["supernet"].iter().map(|v| (&proxyless, "proxyless", *v)))
            .chain(["architecture"].iter().map(|v| (&cells, "cells", *v)))
            .chain(std::iter::once((&compare, "all", "compare")))
            .collect();
    for (page, name, view) in views {
        let png = shots.join(format!("{name}-{view}.png"));
        let _ = std::fs::remove_file(&png);
        browse(
            &browser,
            &url(page, view),
            &[format!("--screenshot={}", png.display()), "--window-size=1280,1000".into()],
        );
        let size = std::fs::metadata(&png).map(|m| m.len()).unwrap_or(0);
        assert!(size > 10_000, "{}: no screenshot ({size} bytes)", png.display());
    }
    eprintln!("screenshots in {}", shots.display());
}
