//! Helpers shared by the integration tests (each test file uses some of them).
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// A fresh, empty directory under the system's temporary directory, unique to this test
/// process and `name`.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nasc-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// Writes a little-endian float32 NPY file (format version 1.0) of this shape.
pub fn write_npy(path: &Path, shape: &[usize], values: &[f32]) {
    assert_eq!(values.len(), shape.iter().product::<usize>(), "values fill the shape");
    let dims = shape.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ");
    let dims = if shape.len() == 1 { format!("{dims},") } else { dims };
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({dims}), }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend((header.len() as u16).to_le_bytes());
    bytes.extend(header.as_bytes());
    for v in values {
        bytes.extend(v.to_le_bytes());
    }
    std::fs::write(path, bytes).expect("write npy");
}

/// Loads, resolves and elaborates `text` (through the front end's driver); panics with the
/// rendered diagnostics on any error. Returns the first network.
pub fn graph_of(text: &str) -> nasc::ir::Graph {
    let graphs = nasc::driver::graphs_of_text("test.nas", text).unwrap_or_else(|e| panic!("{e}"));
    graphs.into_iter().next().expect("a network")
}

/// The network `name` of the file at `path` (through the front end's driver); panics with the
/// rendered diagnostics on any error.
pub fn network(path: &str, name: &str) -> nasc::ir::Graph {
    let graphs = nasc::driver::graphs(nasc::driver::Input::Path(Path::new(path)))
        .unwrap_or_else(|e| panic!("{path}: {e}"));
    graphs
        .into_iter()
        .find(|g| g.name == name)
        .unwrap_or_else(|| panic!("{path} has no network {name}"))
}
