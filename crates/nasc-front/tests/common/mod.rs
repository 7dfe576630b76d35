//! Helpers shared by the front end's integration tests (each test file uses some of them).
//!
//! The inputs these tests read (`tests/golden/`, `examples/`, `stdlib/`, `docs/errors/`) belong
//! to the repository, not to this crate, and the tests name them as `nasc` is run from the
//! repository's root: [`at_repo_root`] makes the root the current directory first.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The repository's root, two levels above this crate, as an absolute canonical path.
pub fn repo_root() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        std::fs::canonicalize(&root).unwrap_or_else(|e| panic!("{}: {e}", root.display()))
    })
}

/// Makes the repository's root the current directory (every test of a file calls it first;
/// they all set the same directory, so the order they run in does not matter).
pub fn at_repo_root() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| std::env::set_current_dir(repo_root()).expect("the repository's root"));
}

/// Every `.nas` file under `dirs` (relative to the repository's root), recursively, sorted.
pub fn nas_files(dirs: &[&str]) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in
            std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        {
            let p = entry.expect("directory entry").path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|e| e == "nas") {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    for d in dirs {
        walk(&repo_root().join(d), &mut out);
    }
    out.sort();
    out
}
