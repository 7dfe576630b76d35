//! Rebuilds the crate when a file of the standard library (`stdlib/`, embedded in the binary by
//! `include_dir!`) changes; without this, cargo would keep a binary with the old `.nas` files.

fn main() {
    println!("cargo:rerun-if-changed=stdlib");
    println!("cargo:rerun-if-changed=build.rs");
}
