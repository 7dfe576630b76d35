//! Golden tests of the diagnostics.
//!
//! Every `tests/golden/*.nas` file (at the repository's root) is compiled the way `nasc check`
//! compiles it, through the same driver (names, then types, then constraints; with `--arch`
//! when a `<name>.arch.json` file sits next to it) and its snapshot in
//! `tests/golden/snapshots/` holds the source, then the diagnostics rendered without colour.
//! File names in the output are relative to the repository's root (the tests run there), so
//! the snapshots are the same on every machine. Accept changed snapshots with
//! `INSTA_UPDATE=always cargo test -p nasc-front --test golden` (or `cargo insta review`), and
//! read them.
//!
//! A file named `<code>_<what>.nas` must report `<code>`; every code of
//! `nasc_front::diagnostics::wording::CODES` needs at least one such file and a page
//! `docs/errors/<code>.md`, whose wrong example must report the code and whose fixed example
//! must compile clean. Helper modules that golden files import live in `tests/golden/modules/`.

mod common;

use nasc_front::diagnostics::{self, wording, Diagnostic};
use nasc_front::driver;
use nasc_front::source::{Origin, SourceMap};
use std::path::{Path, PathBuf};

/// Where the golden inputs are, relative to the crate root (where `cargo test` runs).
const GOLDEN_DIR: &str = "tests/golden";
/// Where the error pages are.
const DOCS_DIR: &str = "docs/errors";
/// `<0xHH>` (two upper-case hex digits, 80 to FF) in a golden input or a docs example stands
/// for that byte, which is never valid UTF-8 on its own, so that no binary file has to be
/// committed.
fn invalid_byte_at(text: &[u8], i: usize) -> Option<u8> {
    let m = text.get(i..i + 6)?;
    if !(m.starts_with(b"<0x") && m[5] == b'>') {
        return None;
    }
    let hex = std::str::from_utf8(&m[3..5]).ok()?;
    if hex.chars().any(|c| c.is_ascii_lowercase()) {
        return None;
    }
    u8::from_str_radix(hex, 16).ok().filter(|b| *b >= 0x80)
}

/// Codes that their golden input and docs example do not produce yet because of a known bug in
/// `src/`, with the bug. The tests check that the bug is still there, so that fixing it fails
/// them with a reminder to delete the entry (and to accept the new snapshot).
const KNOWN_GAPS: &[(&str, &str)] = &[(
    "E0005",
    "src/syntax/parser.rs `convert_error` only reports an unterminated string when the token \
     at the error is `Token::Str` or none, but the lexer makes an unterminated string a \
     `Token::Error`, so it is reported as E0001",
)];

fn known_gap(code: &str) -> Option<&'static str> {
    KNOWN_GAPS.iter().find(|(c, _)| *c == code).map(|(_, why)| *why)
}

/// The diagnostics of one compilation, and the files they point into.
struct Outcome {
    sources: SourceMap,
    diagnostics: Vec<Diagnostic>,
}

impl Outcome {
    fn codes(&self) -> Vec<&'static str> {
        self.diagnostics.iter().map(|d| d.code).collect()
    }

    fn render(&self) -> String {
        diagnostics::render_plain(&self.diagnostics, &self.sources)
    }
}

/// The bytes of a file, with every `<0xHH>` marker replaced by its byte.
fn with_invalid_bytes(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        match invalid_byte_at(text, i) {
            Some(b) => {
                out.push(b);
                i += 6;
            }
            None => {
                out.push(text[i]);
                i += 1;
            }
        }
    }
    out
}

/// Compiles `path` as `nasc check [--arch ARCH] PATH` does, through the same driver: names
/// first; the type stage only when names are clean; the constraints of every network that
/// type-checked; then the architecture, if any, against the file's first network.
fn compile(path: &Path, arch: Option<&Path>) -> Outcome {
    let raw = std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let bytes = with_invalid_bytes(&raw);
    let (name, origin) = (path.display().to_string(), Origin::Disk(path.to_path_buf()));
    let input = driver::Input::Bytes { name: &name, origin: &origin, bytes: &bytes };
    let options = driver::Options {
        facts: true,
        arch: arch.map(driver::ArchInput::Path),
        ..Default::default()
    };
    let compiled = driver::compile(input, options).expect("the architecture file is readable");
    Outcome { sources: compiled.program.sources, diagnostics: compiled.diagnostics }
}

/// The architecture file that goes with a golden input: `x.nas` -> `x.arch.json`.
fn arch_for(path: &Path) -> Option<PathBuf> {
    let arch = path.with_extension("arch.json");
    arch.is_file().then_some(arch)
}

/// Every golden input (`tests/golden/*.nas`, not the helper modules), sorted, as paths
/// relative to the crate root.
fn golden_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(GOLDEN_DIR)
        .expect("tests/golden exists")
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "nas"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no golden inputs in {GOLDEN_DIR}");
    files
}

fn stem(path: &Path) -> String {
    path.file_stem().expect("a file name").to_string_lossy().into_owned()
}

/// The code a golden file is named after (`E0010_unknown_name.nas` -> `E0010`).
fn code_of(path: &Path) -> Option<String> {
    let s = stem(path);
    let code = s.split('_').next()?;
    let ok = code.len() == 5
        && code.starts_with('E')
        && code[1..].chars().all(|c| c.is_ascii_digit())
        && s.len() > 6;
    ok.then(|| code.to_string())
}

/// Replaces this machine's absolute path of the crate (an import cycle names canonical paths)
/// so that snapshots are stable.
fn redact(text: &str) -> String {
    text.replace(&format!("{}/", common::repo_root().display()), "<crate>/")
}

/// The snapshot of one golden input: its source (and architecture), then its diagnostics.
fn golden_output(path: &Path) -> (String, Outcome) {
    let arch = arch_for(path);
    let outcome = compile(path, arch.as_deref());
    let source = String::from_utf8_lossy(&std::fs::read(path).expect("readable")).into_owned();
    let mut out = String::new();
    out.push_str(&source);
    if !source.ends_with('\n') {
        out.push('\n');
    }
    if let Some(arch) = &arch {
        out.push_str(&format!("---------------- {} ----------------\n", arch.display()));
        let json = std::fs::read_to_string(arch).expect("readable");
        out.push_str(&json);
        if !json.ends_with('\n') {
            out.push('\n');
        }
    }
    out.push_str("================ diagnostics ================\n");
    out.push_str(&outcome.render());
    (redact(&out), outcome)
}

#[test]
fn golden_snapshots() {
    common::at_repo_root();
    let mut settings = insta::Settings::clone_current();
    // The snapshots live next to the golden inputs, at the repository's root.
    settings.set_snapshot_path("../../../tests/golden/snapshots");
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    let _settings = settings.bind_to_scope();
    let mut failed = Vec::new();
    for path in golden_files() {
        let name = stem(&path);
        let (output, _) = golden_output(&path);
        // Check every file, not only up to the first difference.
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            insta::assert_snapshot!(name.as_str(), output);
        }));
        if result.is_err() {
            failed.push(path.display().to_string());
        }
    }
    assert!(
        failed.is_empty(),
        "these golden snapshots differ (review them, then accept with \
         `INSTA_UPDATE=always cargo test -p nasc-front --test golden`): {failed:#?}"
    );
}

#[test]
fn every_golden_file_reports_its_code() {
    common::at_repo_root();
    let mut problems = Vec::new();
    for path in golden_files() {
        let Some(code) = code_of(&path) else { continue };
        let outcome = compile(&path, arch_for(&path).as_deref());
        let codes = outcome.codes();
        let reported = codes.contains(&code.as_str());
        match known_gap(&code) {
            None if !reported => problems.push(format!(
                "{}: expected {code}, got {codes:?}\n{}",
                path.display(),
                outcome.render()
            )),
            Some(_) if reported => problems.push(format!(
                "{}: {code} is reported now: delete it from KNOWN_GAPS in crates/nasc-front/tests/golden.rs",
                path.display()
            )),
            _ => {}
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_code_has_a_golden_file_and_a_docs_page() {
    common::at_repo_root();
    let files = golden_files();
    let named: Vec<String> = files.iter().filter_map(|p| code_of(p)).collect();
    let index = std::fs::read_to_string(format!("{DOCS_DIR}/README.md"))
        .expect("docs/errors/README.md exists");
    let mut problems = Vec::new();
    for (code, _) in wording::CODES {
        if !named.iter().any(|c| c == code) {
            problems.push(format!("{code} has no golden input {GOLDEN_DIR}/{code}_<what>.nas"));
        }
        let page = format!("{DOCS_DIR}/{code}.md");
        if !Path::new(&page).is_file() {
            problems.push(format!("{code} has no page {page}"));
        }
        if !index.contains(&format!("({code}.md)")) {
            problems.push(format!("{DOCS_DIR}/README.md does not link {code}.md"));
        }
    }
    for code in &named {
        if !wording::CODES.iter().any(|(c, _)| c == code) {
            problems.push(format!("a golden input is named after {code}, which is not in CODES"));
        }
    }
    for entry in std::fs::read_dir(DOCS_DIR).expect("docs/errors exists") {
        let p = entry.expect("a directory entry").path();
        let s = stem(&p);
        if s != "README"
            && !wording::CODES
                .iter()
                .chain(wording::RUNTIME_CODES)
                .chain(wording::LOWER_CODES)
                .chain(wording::EXPORT_CODES)
                .any(|(c, _)| *c == s)
        {
            problems.push(format!("{} is a page for a code that is not in CODES", p.display()));
        }
    }
    // A snapshot whose input was renamed or deleted would otherwise linger.
    let snapshots = format!("{GOLDEN_DIR}/snapshots");
    if let Ok(dir) = std::fs::read_dir(&snapshots) {
        for entry in dir {
            let p = entry.expect("a directory entry").path();
            if p.extension().is_some_and(|e| e == "snap") {
                let input = Path::new(GOLDEN_DIR).join(format!("{}.nas", stem(&p)));
                if !input.is_file() {
                    problems.push(format!("{} has no input {}", p.display(), input.display()));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Runtime codes come from data and weights, not from `nasc check`: their snapshots are in
/// `tests/cli.rs` and `tests/runtime.rs`; here their pages are checked.
#[test]
fn every_runtime_code_has_a_docs_page() {
    common::at_repo_root();
    let index = std::fs::read_to_string(format!("{DOCS_DIR}/README.md"))
        .expect("docs/errors/README.md exists");
    for (code, title) in
        wording::RUNTIME_CODES.iter().chain(wording::LOWER_CODES).chain(wording::EXPORT_CODES)
    {
        let page = std::fs::read_to_string(format!("{DOCS_DIR}/{code}.md"))
            .unwrap_or_else(|_| panic!("{code} has no page"));
        assert_eq!(page.lines().next(), Some(format!("# {code}: {title}").as_str()));
        assert!(
            page.contains("## Wrong") && page.contains("## Fixed"),
            "{code}.md needs a wrong and a fixed example"
        );
        assert!(
            index.contains(&format!("({code}.md)")),
            "docs/errors/README.md does not link {code}.md"
        );
    }
}

#[test]
fn several_errors_in_one_file_are_all_reported_in_source_order() {
    common::at_repo_root();
    let path = Path::new(GOLDEN_DIR).join("multiple_errors.nas");
    let outcome = compile(&path, None);
    assert_eq!(
        outcome.codes(),
        ["E0015", "E0001", "E0012", "E0016", "E0011", "E0010", "E0018", "E0022"],
        "{}",
        outcome.render()
    );
    let file = outcome.sources.get(outcome.diagnostics[0].primary.loc.file);
    let positions: Vec<(usize, usize)> = outcome
        .diagnostics
        .iter()
        .map(|d| {
            assert_eq!(d.primary.loc.file, outcome.diagnostics[0].primary.loc.file);
            file.line_col(d.primary.loc.span.start)
        })
        .collect();
    assert_eq!(
        positions,
        [(3, 25), (6, 30), (10, 39), (12, 33), (13, 14), (14, 15), (19, 13), (20, 37)]
    );
    assert!(positions.windows(2).all(|w| w[0] < w[1]));
}

/// One example of a docs page: its files (the first is the one compiled), its architecture,
/// and the lines the rendered diagnostics must contain.
#[derive(Debug, Default)]
struct Example {
    files: Vec<(String, String)>,
    arch: Option<String>,
    expect: Vec<String>,
}

/// The `## Wrong` and `## Fixed` examples of a page: every ```nas block in the section is a
/// file (named by a first line `// file: NAME.nas`, else `main.nas`), a ```json block is an
/// architecture to check against the space, and a ```text block holds lines that `nasc check`
/// prints for it.
fn page_examples(page: &str) -> (Example, Example) {
    let mut wrong = Example::default();
    let mut fixed = Example::default();
    let mut section: Option<bool> = None; // Some(true): wrong, Some(false): fixed
    let mut lines = page.lines();
    while let Some(line) = lines.next() {
        if let Some(h) = line.strip_prefix("## ") {
            let h = h.to_lowercase();
            section = if h.starts_with("wrong") {
                Some(true)
            } else if h.starts_with("fixed") {
                Some(false)
            } else {
                None
            };
            continue;
        }
        let Some(lang) = line.strip_prefix("```") else {
            continue;
        };
        let lang = lang.trim().to_string();
        let mut body = String::new();
        for l in lines.by_ref() {
            if l.starts_with("```") {
                break;
            }
            body.push_str(l);
            body.push('\n');
        }
        let Some(is_wrong) = section else { continue };
        let ex = if is_wrong { &mut wrong } else { &mut fixed };
        match lang.as_str() {
            "nas" => {
                let name = body
                    .lines()
                    .next()
                    .and_then(|l| l.strip_prefix("// file: "))
                    .map(|n| n.trim().to_string())
                    .unwrap_or_else(|| "main.nas".to_string());
                ex.files.push((name, body));
            }
            "json" => ex.arch = Some(body),
            "text" => ex.expect.extend(body.lines().map(str::to_string)),
            _ => {}
        }
    }
    (wrong, fixed)
}

/// Writes an example into a fresh directory and compiles its `entry`-th file.
fn compile_example(code: &str, which: &str, ex: &Example, entry: usize) -> Outcome {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("docs-errors").join(code).join(which);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    for (name, text) in &ex.files {
        let p = dir.join(name);
        std::fs::create_dir_all(p.parent().expect("a parent")).expect("a scratch directory");
        std::fs::write(&p, with_invalid_bytes(text.as_bytes())).expect("writable");
    }
    let arch = ex.arch.as_ref().map(|a| {
        let p = dir.join("arch.json");
        std::fs::write(&p, a).expect("writable");
        p
    });
    compile(&dir.join(&ex.files[entry].0), arch.as_deref())
}

#[test]
fn docs_examples_fail_and_fixed_examples_compile_clean() {
    common::at_repo_root();
    let mut problems = Vec::new();
    for (code, title) in wording::CODES {
        let path = format!("{DOCS_DIR}/{code}.md");
        let Ok(page) = std::fs::read_to_string(&path) else {
            problems.push(format!("{path} is missing"));
            continue;
        };
        let heading = format!("# {code}: {title}");
        if page.lines().next() != Some(heading.as_str()) {
            problems.push(format!("{path} should start with the line `{heading}`"));
        }
        let (wrong, fixed) = page_examples(&page);
        if wrong.files.is_empty() || fixed.files.is_empty() {
            problems.push(format!("{path} needs a ```nas block under `## Wrong` and `## Fixed`"));
            continue;
        }
        let w = compile_example(code, "wrong", &wrong, 0);
        let reported = w.codes().contains(code);
        match known_gap(code) {
            None if !reported => problems.push(format!(
                "{path}: the wrong example should report {code}, it reports {:?}\n{}",
                w.codes(),
                w.render()
            )),
            Some(_) if reported => problems.push(format!(
                "{path}: {code} is reported now: delete it from KNOWN_GAPS in crates/nasc-front/tests/golden.rs"
            )),
            _ => {}
        }
        if known_gap(code).is_none() {
            let rendered = w.render();
            for line in &wrong.expect {
                if !rendered.lines().any(|l| l == line) {
                    problems.push(format!("{path}: the page says `nasc check` prints `{line}`, but it prints\n{rendered}"));
                }
            }
        }
        // Every file of the fixed example compiles clean, the modules it imports included.
        for entry in 0..fixed.files.len() {
            let f = compile_example(code, "fixed", &fixed, entry);
            if !f.diagnostics.is_empty() {
                problems.push(format!(
                    "{path}: the fixed example's {} should compile clean, it reports {:?}\n{}",
                    fixed.files[entry].0,
                    f.codes(),
                    f.render()
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
