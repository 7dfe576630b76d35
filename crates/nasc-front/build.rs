//! Build script.
//!
//! 1. Rebuilds the crate when a file of the standard library (the repository's `stdlib/`,
//!    embedded in the binary by `include_dir!`) changes; without this, cargo would keep a
//!    binary with the old `.nas` files.
//! 2. Generates `$OUT_DIR/nas_parser.rs`, the fast parser of `src/syntax/fast.rs`, from the
//!    repository's `grammar/nas.pest` (the one source of truth for the syntax). See
//!    `build/peg.rs`.
//!
//! `stdlib/` and `grammar/` belong to the language, not to this crate: they stay at the root of
//! the repository, two levels up.

#[path = "build/peg.rs"]
mod peg;

fn main() {
    println!("cargo:rerun-if-changed=../../stdlib");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=build/peg.rs");
    println!("cargo:rerun-if-changed=../../grammar/nas.pest");
    let grammar = std::fs::read_to_string("../../grammar/nas.pest").expect("read grammar/nas.pest");
    let code = peg::generate(&grammar).unwrap_or_else(|e| panic!("grammar/nas.pest: {e}"));
    let out = std::path::PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    std::fs::write(out.join("nas_parser.rs"), code).expect("write the generated parser");
}
