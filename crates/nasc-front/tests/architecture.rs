//! The rules of ARCHITECTURE.md, checked: every module imports only what its row of the import
//! tables allows, and the crates depend only on what the crate table allows. A forbidden import
//! fails here with the file and the line.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// One import table of ARCHITECTURE.md: module -> the modules it may import.
type Table = BTreeMap<String, BTreeSet<String>>;

/// The table between `<!-- imports: NAME -->` and `<!-- end imports -->`.
fn table(doc: &str, name: &str) -> Table {
    let start = format!("<!-- imports: {name} -->");
    let body = doc
        .split_once(&start)
        .unwrap_or_else(|| panic!("ARCHITECTURE.md has no `{start}`"))
        .1
        .split_once("<!-- end imports -->")
        .expect("the table ends")
        .0;
    let mut t = Table::new();
    for row in body.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = row.trim_matches('|').split('|').map(str::trim).collect();
        assert_eq!(cells.len(), 2, "a row of two cells: {row}");
        let module = cells[0].trim_matches('`').to_string();
        let allowed = cells[1]
            .split(',')
            .map(|s| s.trim().trim_matches('`').to_string())
            .filter(|s| !s.is_empty())
            .collect();
        assert!(t.insert(module.clone(), allowed).is_none(), "`{module}` twice");
    }
    assert!(!t.is_empty(), "the `{name}` table is empty");
    t
}

/// The Rust files of module `module` of the crate whose sources are in `src`.
fn files_of(src: &Path, module: &str) -> Vec<PathBuf> {
    let file = src.join(format!("{module}.rs"));
    if file.is_file() {
        return vec![file];
    }
    let dir = src.join(module);
    assert!(dir.is_dir(), "ARCHITECTURE.md names `{module}`, which {} lacks", src.display());
    let mut out = Vec::new();
    let mut stack = vec![dir];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("readable") {
            let p = e.expect("an entry").path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The modules `text` imports through any of `prefixes` (`crate::`, `nasc_front::`), with the
/// line, outside comments and outside the file's `#[cfg(test)]` part. `crate::{a, b::c}` counts
/// `a` and `b`.
fn imports(text: &str, prefixes: &[&str]) -> Vec<(String, usize)> {
    let code = text.split("#[cfg(test)]").next().unwrap_or("");
    let mut out = Vec::new();
    for (n, line) in code.lines().enumerate() {
        let line = line.split("//").next().unwrap_or("");
        for prefix in prefixes {
            let mut rest = line;
            while let Some(i) = rest.find(prefix) {
                let before = rest[..i].chars().next_back();
                rest = &rest[i + prefix.len()..];
                if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                    continue;
                }
                if let Some(group) = rest.strip_prefix('{') {
                    let mut depth = 0;
                    let mut item = String::new();
                    for c in group.chars() {
                        match c {
                            '{' => depth += 1,
                            '}' if depth == 0 => break,
                            '}' => depth -= 1,
                            ',' if depth == 0 => {
                                out.extend(head(&item).map(|m| (m, n + 1)));
                                item.clear();
                                continue;
                            }
                            _ => {}
                        }
                        item.push(c);
                    }
                    out.extend(head(&item).map(|m| (m, n + 1)));
                } else {
                    out.extend(head(rest).map(|m| (m, n + 1)));
                }
            }
        }
    }
    out
}

/// The leading identifier of a path (`ir::Graph` -> `ir`).
fn head(path: &str) -> Option<String> {
    let id: String =
        path.trim_start().chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
    (!id.is_empty() && id != "self").then_some(id)
}

/// Every import of every module of `table` that its row does not allow.
fn violations(src: &Path, table: &Table, prefixes: &[&str]) -> Vec<String> {
    let mut bad = Vec::new();
    for (module, allowed) in table {
        for file in files_of(src, module) {
            let text = std::fs::read_to_string(&file).expect("readable");
            for (import, line) in imports(&text, prefixes) {
                if &import != module && !allowed.contains(&import) {
                    let shown = file.strip_prefix(common::repo_root()).unwrap_or(&file);
                    bad.push(format!("{}:{line}: `{module}` imports `{import}`", shown.display()));
                }
            }
        }
    }
    bad
}

fn doc() -> String {
    std::fs::read_to_string(common::repo_root().join("ARCHITECTURE.md")).expect("ARCHITECTURE.md")
}

/// Checks crate `name` (sources in `src`, relative to the repository's root) against its
/// table: every module of its `lib.rs` has a row, and no module imports what its row forbids.
fn check_crate(name: &str, src: &str, prefixes: &[&str]) {
    let t = table(&doc(), name);
    let src = common::repo_root().join(src);
    let lib = std::fs::read_to_string(src.join("lib.rs")).expect("lib.rs");
    for m in lib.lines().filter_map(|l| l.strip_prefix("pub mod ")) {
        let m = m.trim_end_matches(';');
        assert!(t.contains_key(m), "ARCHITECTURE.md has no row for `{m}` of {name}");
    }
    let bad = violations(&src, &t, prefixes);
    assert!(bad.is_empty(), "forbidden imports (see ARCHITECTURE.md):\n{}", bad.join("\n"));
}

#[test]
fn the_front_end_modules_import_only_what_architecture_md_allows() {
    check_crate("nasc-front", "crates/nasc-front/src", &["crate::"]);
}

#[test]
fn the_runtime_search_and_cli_modules_import_only_what_architecture_md_allows() {
    check_crate("nasc", "src", &["crate::", "nasc_front::", "nasc_lsp::"]);
}

/// The `[dependencies]` (and target-specific dependencies, not the workspace's table, not
/// dev- or build-dependencies) of a `Cargo.toml`, by name.
fn dependencies(manifest: &Path) -> BTreeSet<String> {
    let text = std::fs::read_to_string(manifest).expect("readable");
    let mut deps = BTreeSet::new();
    let mut inside = false;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            inside = line == "[dependencies]"
                || (line.starts_with("[target.") && line.ends_with(".dependencies]"));
            continue;
        }
        if inside && !line.starts_with('#') {
            if let Some((name, _)) = line.split_once(['=', '.']) {
                deps.insert(name.trim().to_string());
            }
        }
    }
    deps
}

#[test]
fn the_crates_depend_only_on_what_architecture_md_allows() {
    let root = common::repo_root();
    let front = dependencies(&root.join("crates/nasc-front/Cargo.toml"));
    let lsp = dependencies(&root.join("crates/nasc-lsp/Cargo.toml"));
    let nasc = dependencies(&root.join("Cargo.toml"));
    // The reading itself works (a renamed section must not make this vacuous).
    assert!(front.contains("pest") && lsp.contains("lsp-types") && nasc.contains("burn"));
    for forbidden in ["nasc", "nasc-lsp", "burn", "lsp-server", "lsp-types", "rusqlite"] {
        assert!(!front.contains(forbidden), "nasc-front depends on {forbidden}");
    }
    for forbidden in ["nasc", "burn"] {
        assert!(!lsp.contains(forbidden), "nasc-lsp depends on {forbidden}");
    }
    for forbidden in ["lsp-server", "lsp-types"] {
        assert!(!nasc.contains(forbidden), "nasc depends on {forbidden}: only nasc-lsp speaks LSP");
    }
}

#[test]
fn a_forbidden_import_is_found() {
    // The scanner sees plain and grouped imports, and skips comments and tests.
    let text = "use crate::ir::Graph;\nfn f() { crate::facts::facts(g) }\n\
                use crate::{arch, check::TypeAt};\n// crate::driver\n\
                #[cfg(test)]\nmod tests { use crate::driver; }\n";
    let found: Vec<String> = imports(text, &["crate::"]).into_iter().map(|(m, _)| m).collect();
    assert_eq!(found, ["ir", "facts", "arch", "check"]);
    let t: Table = [("ir".to_string(), BTreeSet::new())].into();
    let src = common::repo_root().join("crates/nasc-front/src");
    // `ir` imports `source` and `syntax`; an empty row forbids them.
    assert!(!violations(&src, &t, &["crate::"]).is_empty());
}
