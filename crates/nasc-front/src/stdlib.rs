//! The standard library of `.nas` modules (`stdlib/`), embedded in the binary so that `nasc`
//! works from any directory. `std.ops` is `stdlib/ops.nas`, `std.spaces.darts` is
//! `stdlib/spaces/darts.nas`.

use include_dir::{include_dir, Dir};

static STDLIB: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../../stdlib");

/// The module imported into every file without an `import`: the built-in operators and the
/// common blocks.
pub const PRELUDE: &str = "std.ops";

/// The text of a standard-library module, by dotted name (`std.ops`); `None` if there is none.
pub fn source(module: &str) -> Option<&'static str> {
    let rest = module.strip_prefix("std.")?;
    let path = format!("{}.nas", rest.replace('.', "/"));
    STDLIB.get_file(&path).and_then(|f| f.contents_utf8())
}

/// The dotted names of every standard-library module, sorted.
pub fn modules() -> Vec<String> {
    let mut out = Vec::new();
    collect(&STDLIB, &mut out);
    out.sort();
    out
}

fn collect(dir: &Dir<'static>, out: &mut Vec<String>) {
    for f in dir.files() {
        let p = f.path();
        if p.extension().and_then(|e| e.to_str()) == Some("nas") {
            let stem = p.with_extension("");
            let dotted: Vec<String> =
                stem.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
            out.push(format!("std.{}", dotted.join(".")));
        }
    }
    for d in dir.dirs() {
        collect(d, out);
    }
}
