//! A small, strict reader of NumPy's NPY format (versions 1.0, 2.0 and 3.0), for a pair of
//! arrays: inputs and targets.
//!
//! A file is the magic string `\x93NUMPY`, a major and a minor version byte, the header length
//! (little-endian `u16` in version 1, `u32` in 2 and 3), then the header: a Python dict literal
//! `{'descr': '<f4', 'fortran_order': False, 'shape': (n, d), }` padded with spaces and a
//! newline, then the elements. Accepted element types: little-endian `float32`, `float64`,
//! `int32`, `int64` and `uint8`, in C order. (The `npyz` crate was considered; its header reader
//! allocates whatever length a header claims and multiplies shapes unchecked, so a corrupt file
//! could abort or panic.)

use std::path::{Path, PathBuf};

use super::io::read_up_to;
use super::{split, DataError, Dataset, Splits, Targets};

/// The fraction of an NPY pair held out as the test split.
pub const NPY_TEST_FRACTION: f64 = 0.2;
/// The seed of the shuffle before the test split of an NPY pair is held out.
pub const NPY_TEST_SEED: u64 = 0;
/// The most classes integer NPY labels may name: labels must lie in `0..MAX_NPY_CLASSES`.
pub const MAX_NPY_CLASSES: usize = 1 << 16;

/// The longest header accepted, in bytes (NumPy itself refuses headers over 10,000 bytes).
const MAX_HEADER: usize = 1 << 16;
/// The deepest nesting of brackets accepted in a header.
const MAX_DEPTH: usize = 16;
const MAGIC: &[u8; 6] = b"\x93NUMPY";

/// An element type of an NPY array that nasc reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dtype {
    /// `<f4`: 32-bit float.
    F32,
    /// `<f8`: 64-bit float.
    F64,
    /// `|u1`: unsigned byte.
    U8,
    /// `<i4`: 32-bit signed integer.
    I32,
    /// `<i8`: 64-bit signed integer.
    I64,
}

impl Dtype {
    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            Dtype::U8 => 1,
            Dtype::F32 | Dtype::I32 => 4,
            Dtype::F64 | Dtype::I64 => 8,
        }
    }

    /// Whether the type holds floats.
    pub fn is_float(self) -> bool {
        matches!(self, Dtype::F32 | Dtype::F64)
    }
}

/// An NPY array as read from a file: its element type, shape and little-endian element bytes.
#[derive(Clone, Debug)]
pub struct NpyArray {
    /// The file it came from.
    pub path: PathBuf,
    /// The element type.
    pub dtype: Dtype,
    /// The `descr` of the header, as written.
    pub descr: String,
    /// The shape (C order: the last dimension varies fastest).
    pub shape: Vec<u64>,
    /// The elements, `product(shape) * dtype.size()` bytes.
    pub bytes: Vec<u8>,
}

impl NpyArray {
    /// The elements as `f64` (exact for every accepted type except `int64` beyond 2^53).
    fn values_f64(&self) -> Vec<f64> {
        let b = &self.bytes;
        match self.dtype {
            Dtype::U8 => b.iter().map(|&x| f64::from(x)).collect(),
            Dtype::F32 => b
                .chunks_exact(4)
                .map(|c| f64::from(f32::from_le_bytes([c[0], c[1], c[2], c[3]])))
                .collect(),
            Dtype::I32 => b
                .chunks_exact(4)
                .map(|c| f64::from(i32::from_le_bytes([c[0], c[1], c[2], c[3]])))
                .collect(),
            Dtype::F64 => b.chunks_exact(8).map(|c| f64::from_le_bytes(le8(c))).collect(),
            Dtype::I64 => b.chunks_exact(8).map(|c| i64::from_le_bytes(le8(c)) as f64).collect(),
        }
    }

    /// The elements of an integer array as `i64` (`None` for a float array).
    fn values_i64(&self) -> Option<Vec<i64>> {
        let b = &self.bytes;
        Some(match self.dtype {
            Dtype::U8 => b.iter().map(|&x| i64::from(x)).collect(),
            Dtype::I32 => b
                .chunks_exact(4)
                .map(|c| i64::from(i32::from_le_bytes([c[0], c[1], c[2], c[3]])))
                .collect(),
            Dtype::I64 => b.chunks_exact(8).map(|c| i64::from_le_bytes(le8(c))).collect(),
            Dtype::F32 | Dtype::F64 => return None,
        })
    }

    /// The elements as finite `f32`; `u8` elements are scaled by 1/255 when `scale_bytes`.
    fn to_f32(&self, scale_bytes: bool) -> Result<Vec<f32>, DataError> {
        if self.dtype == Dtype::U8 {
            let scale = if scale_bytes { 255.0 } else { 1.0 };
            return Ok(self.bytes.iter().map(|&x| f32::from(x) / scale).collect());
        }
        let values = self.values_f64();
        let mut out = Vec::with_capacity(values.len());
        for (index, &v) in values.iter().enumerate() {
            let x = v as f32;
            if !x.is_finite() {
                return Err(DataError::NonFinite { path: self.path.clone(), index, value: v });
            }
            out.push(x);
        }
        Ok(out)
    }
}

fn le8(c: &[u8]) -> [u8; 8] {
    let mut a = [0u8; 8];
    a.copy_from_slice(c);
    a
}

/// Reads an NPY file, checking its header and that its length matches the header exactly.
pub fn read_npy(path: &Path) -> Result<NpyArray, DataError> {
    let bad = |reason: String| DataError::NpyHeader { path: path.to_path_buf(), reason };
    let file = std::fs::File::open(path).map_err(|source| match source.kind() {
        std::io::ErrorKind::NotFound => {
            DataError::Missing { path: path.to_path_buf(), tried: vec![path.to_path_buf()] }
        }
        _ => DataError::Io { path: path.to_path_buf(), source },
    })?;
    let file_len = file.metadata().map_err(DataError::io(path))?.len();
    let mut start = [0u8; 12];
    let got = read_up_to(&mut &file, &mut start).map_err(DataError::io(path))?;
    let start = &start[..got];
    if !start.starts_with(MAGIC) {
        if start.starts_with(b"PK") {
            return Err(bad("this is an .npz archive (a zip of arrays), not an .npy file; save each array with numpy.save".into()));
        }
        if got < MAGIC.len() && MAGIC.starts_with(start) {
            return Err(DataError::Truncated {
                path: path.to_path_buf(),
                expected: 10,
                found: got as u64,
                decompressed: false,
            });
        }
        return Err(bad("it does not start with the NPY magic string \\x93NUMPY; is it an .npy file written by numpy.save?".into()));
    }
    let (major, minor) = match start {
        [_, _, _, _, _, _, major, minor, ..] => (*major, *minor),
        _ => {
            return Err(DataError::Truncated {
                path: path.to_path_buf(),
                expected: 10,
                found: got as u64,
                decompressed: false,
            })
        }
    };
    let (len_bytes, header_start) = match major {
        1 => (2, 10),
        2 | 3 => (4, 12),
        _ => {
            return Err(bad(format!(
                "NPY version {major}.{minor} is not supported (only 1.0, 2.0 and 3.0 are)"
            )))
        }
    };
    if got < header_start {
        return Err(DataError::Truncated {
            path: path.to_path_buf(),
            expected: header_start as u64,
            found: got as u64,
            decompressed: false,
        });
    }
    let header_len =
        start[8..8 + len_bytes].iter().rev().fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
    if header_len > MAX_HEADER {
        return Err(bad(format!("its header claims {header_len} bytes; NPY headers are at most {MAX_HEADER} (the file is corrupt)")));
    }
    let data_start = (header_start + header_len) as u64;
    if file_len < data_start {
        return Err(DataError::Truncated {
            path: path.to_path_buf(),
            expected: data_start,
            found: file_len,
            decompressed: false,
        });
    }
    // Only the real file is read: its length bounds the allocation.
    let bytes = std::fs::read(path).map_err(DataError::io(path))?;
    let found = bytes.len() as u64;
    if found < data_start {
        return Err(DataError::Truncated {
            path: path.to_path_buf(),
            expected: data_start,
            found,
            decompressed: false,
        });
    }
    let text = std::str::from_utf8(&bytes[header_start..header_start + header_len])
        .map_err(|_| bad("its header is not text".into()))?;
    let header = parse_header(text).map_err(bad)?;
    let dtype = match header.descr.as_str() {
        "<f4" => Dtype::F32,
        "<f8" => Dtype::F64,
        "|u1" | "<u1" => Dtype::U8,
        "<i4" => Dtype::I32,
        "<i8" => Dtype::I64,
        other => {
            let hint = if other.starts_with('>') {
                " (this one is big-endian: convert with arr.astype(arr.dtype.newbyteorder('<')))"
            } else {
                ""
            };
            return Err(DataError::NpyDtype {
                path: path.to_path_buf(),
                dtype: other.to_string(),
                expected: format!("nasc reads little-endian float32 (<f4), float64 (<f8), uint8 (|u1), int32 (<i4) and int64 (<i8){hint}"),
            });
        }
    };
    if header.fortran_order {
        return Err(bad(
            "the array is in Fortran order; save numpy.ascontiguousarray(arr) instead".into(),
        ));
    }
    let overflow = || {
        bad(format!("its shape {:?} is too large to be real (the header is corrupt)", header.shape))
    };
    let count =
        header.shape.iter().try_fold(1u64, |acc, &d| acc.checked_mul(d)).ok_or_else(overflow)?;
    let expected = count
        .checked_mul(dtype.size() as u64)
        .and_then(|n| n.checked_add(data_start))
        .ok_or_else(overflow)?;
    if found < expected {
        return Err(DataError::Truncated {
            path: path.to_path_buf(),
            expected,
            found,
            decompressed: false,
        });
    }
    if found > expected {
        return Err(DataError::TrailingData {
            path: path.to_path_buf(),
            expected,
            found,
            decompressed: false,
        });
    }
    let mut bytes = bytes;
    bytes.drain(..data_start as usize);
    Ok(NpyArray {
        path: path.to_path_buf(),
        dtype,
        descr: header.descr,
        shape: header.shape,
        bytes,
    })
}

/// Loads a pair of NPY files: inputs `x` and targets `y`.
///
/// `x` is a `float32`, `float64` or `uint8` array of shape `[n, features]` (items `[features]`),
/// `[n, h, w]` (items `[1, h, w]`) or `[n, c, h, w]` (items `[c, h, w]`); `uint8` inputs are
/// scaled to `[0, 1]` like IDX and CIFAR pixels, float inputs are kept as they are (they must be
/// finite). `y` is either integer class labels of shape `[n]` ([`Targets::Classes`], with
/// `max + 1` classes) or float regression targets of shape `[n]` or `[n, dims]`
/// ([`Targets::Values`]).
///
/// NPY has no test split: after a shuffle with seed [`NPY_TEST_SEED`], the last
/// [`NPY_TEST_FRACTION`] of the items (at least one) are the test split, the rest the train
/// split ([`split`]). At least two items are needed.
pub fn load_npy(x: &Path, y: &Path) -> Result<Splits, DataError> {
    let xs = read_npy(x)?;
    let ys = read_npy(y)?;
    let rank_err = |a: &NpyArray, expected: &str| DataError::NpyRank {
        path: a.path.clone(),
        shape: a.shape.clone(),
        expected: expected.to_string(),
    };
    let item_shape: Vec<u64> =
        match xs.shape.as_slice() {
            [_, f] => vec![*f],
            [_, h, w] => vec![1, *h, *w],
            [_, c, h, w] => vec![*c, *h, *w],
            _ => return Err(rank_err(
                &xs,
                "inputs of shape [n, features], [n, height, width] or [n, channels, height, width]",
            )),
        };
    if !matches!(xs.dtype, Dtype::F32 | Dtype::F64 | Dtype::U8) {
        return Err(DataError::NpyDtype {
            path: x.to_path_buf(),
            dtype: xs.descr.clone(),
            expected: "inputs must be float32 (<f4), float64 (<f8) or uint8 (|u1); convert with x.astype('float32')".into(),
        });
    }
    if item_shape.contains(&0) {
        return Err(rank_err(
            &xs,
            "inputs whose items have at least one value (no dimension but the first may be 0)",
        ));
    }
    let n = xs.shape[0];
    if n == 0 {
        return Err(DataError::Empty { path: x.to_path_buf(), detail: String::new() });
    }
    let target_count = ys.shape.first().copied().unwrap_or(0);
    if ys.shape.is_empty() || target_count != n {
        return Err(DataError::CountMismatch {
            inputs: x.to_path_buf(),
            input_count: n,
            targets: y.to_path_buf(),
            target_count,
        });
    }
    let targets = match (ys.values_i64(), ys.shape.as_slice()) {
        (Some(labels), [_]) => {
            let mut out = Vec::with_capacity(labels.len());
            for (index, &label) in labels.iter().enumerate() {
                match u32::try_from(label) {
                    Ok(l) if (l as usize) < MAX_NPY_CLASSES => out.push(l),
                    _ => {
                        return Err(DataError::LabelOutOfRange {
                            path: y.to_path_buf(),
                            index,
                            label,
                            num_classes: MAX_NPY_CLASSES,
                        })
                    }
                }
            }
            let num_classes = out.iter().max().map_or(0, |&m| m as usize + 1);
            Targets::Classes { labels: out, num_classes }
        }
        (Some(_), _) => {
            return Err(rank_err(
                &ys,
                "integer class labels of shape [n] (flatten them with y.reshape(-1))",
            ))
        }
        (None, [_]) => Targets::Values { values: ys.to_f32(false)?, dims: 1 },
        (None, [_, d]) if *d > 0 => {
            Targets::Values { values: ys.to_f32(false)?, dims: *d as usize }
        }
        (None, _) => {
            return Err(rank_err(
                &ys,
                "float regression targets of shape [n] or [n, dims] with dims >= 1",
            ))
        }
    };
    let inputs = xs.to_f32(true)?;
    let all =
        Dataset { inputs, item_shape: item_shape.iter().map(|&d| d as usize).collect(), targets };
    if all.len() < 2 {
        return Err(DataError::Empty {
            path: x.to_path_buf(),
            detail: "; an NPY pair needs at least 2 items, as the last 20% (at least one) are held out as the test split".into(),
        });
    }
    let (train, test) = split(&all, NPY_TEST_FRACTION, NPY_TEST_SEED);
    Ok(Splits { train, test })
}

/// The three keys of an NPY header.
#[derive(Debug, PartialEq)]
struct Header {
    descr: String,
    fortran_order: bool,
    shape: Vec<u64>,
}

/// A value of the Python literal subset NPY headers use.
#[derive(Debug, PartialEq)]
enum Value {
    Str(String),
    Bool(bool),
    Int(u64),
    Seq(Vec<Value>),
}

/// Parses an NPY header dict; the error says what is wrong.
fn parse_header(text: &str) -> Result<Header, String> {
    let mut p = Parser { s: text.as_bytes(), i: 0 };
    let entries = p.dict()?;
    p.ws();
    if p.i != p.s.len() {
        return Err(format!("unexpected text after the header dict at byte {}", p.i));
    }
    let (mut descr, mut fortran_order, mut shape) = (None, None, None);
    for (key, value) in entries {
        match (key.as_str(), value) {
            ("descr", Value::Str(s)) => descr = Some(s),
            ("descr", Value::Seq(_)) => return Err("structured dtypes (records with named fields) are not supported; save a plain numeric array".into()),
            ("fortran_order", Value::Bool(b)) => fortran_order = Some(b),
            ("shape", Value::Seq(dims)) => {
                let dims = dims.into_iter().map(|d| if let Value::Int(n) = d { Ok(n) } else { Err("'shape' must be a tuple of integers".to_string()) });
                shape = Some(dims.collect::<Result<Vec<_>, _>>()?);
            }
            ("descr" | "fortran_order" | "shape", v) => return Err(format!("'{key}' has a value of the wrong kind: {v:?}")),
            (other, _) => return Err(format!("unexpected key '{other}' (an NPY header has 'descr', 'fortran_order' and 'shape')")),
        }
    }
    match (descr, fortran_order, shape) {
        (Some(descr), Some(fortran_order), Some(shape)) => {
            Ok(Header { descr, fortran_order, shape })
        }
        _ => Err("it must have the keys 'descr', 'fortran_order' and 'shape'".into()),
    }
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.s.get(self.i).copied()
    }

    fn expect(&mut self, c: u8) -> Result<(), String> {
        if self.peek() == Some(c) {
            self.i += 1;
            Ok(())
        } else {
            Err(format!("expected `{}` at byte {}", c as char, self.i))
        }
    }

    fn dict(&mut self) -> Result<Vec<(String, Value)>, String> {
        self.expect(b'{')?;
        let mut entries = Vec::new();
        loop {
            if self.peek() == Some(b'}') {
                self.i += 1;
                return Ok(entries);
            }
            let Value::Str(key) = self.value(1)? else {
                return Err(format!("dict keys must be strings (byte {})", self.i));
            };
            if entries.iter().any(|(k, _)| *k == key) {
                return Err(format!("the key '{key}' appears twice"));
            }
            self.expect(b':')?;
            let value = self.value(1)?;
            entries.push((key, value));
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b'}') => {}
                _ => return Err(format!("expected `,` or `}}` at byte {}", self.i)),
            }
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, String> {
        if depth > MAX_DEPTH {
            return Err("brackets nested too deep".into());
        }
        match self.peek() {
            Some(q @ (b'\'' | b'"')) => {
                let start = self.i + 1;
                let len =
                    self.s[start..].iter().position(|&c| c == q).ok_or("unterminated string")?;
                let raw = &self.s[start..start + len];
                if raw.contains(&b'\\') {
                    return Err("escapes in strings are not supported".into());
                }
                self.i = start + len + 1;
                Ok(Value::Str(String::from_utf8_lossy(raw).into_owned()))
            }
            Some(open @ (b'(' | b'[')) => {
                let close = if open == b'(' { b')' } else { b']' };
                self.i += 1;
                let mut items = Vec::new();
                loop {
                    if self.peek() == Some(close) {
                        self.i += 1;
                        return Ok(Value::Seq(items));
                    }
                    items.push(self.value(depth + 1)?);
                    match self.peek() {
                        Some(b',') => self.i += 1,
                        Some(c) if c == close => {}
                        _ => {
                            return Err(format!(
                                "expected `,` or `{}` at byte {}",
                                close as char, self.i
                            ))
                        }
                    }
                }
            }
            Some(b'0'..=b'9') => {
                let mut n: u64 = 0;
                while let Some(d @ b'0'..=b'9') = self.s.get(self.i).copied() {
                    n = n
                        .checked_mul(10)
                        .and_then(|n| n.checked_add(u64::from(d - b'0')))
                        .ok_or("an integer in the header is too large")?;
                    self.i += 1;
                }
                // Python 2 wrote long integers with an `L` suffix.
                if self.s.get(self.i) == Some(&b'L') {
                    self.i += 1;
                }
                Ok(Value::Int(n))
            }
            _ if self.s[self.i..].starts_with(b"True") => {
                self.i += 4;
                Ok(Value::Bool(true))
            }
            _ if self.s[self.i..].starts_with(b"False") => {
                self.i += 5;
                Ok(Value::Bool(false))
            }
            _ => Err(format!("unexpected text at byte {}", self.i)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::testutil::{npy, TempDir};

    fn f32_bytes(v: &[f32]) -> Vec<u8> {
        v.iter().flat_map(|x| x.to_le_bytes()).collect()
    }

    #[test]
    fn parses_headers_numpy_writes() {
        let h =
            parse_header("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }          \n")
                .unwrap();
        assert_eq!(h, Header { descr: "<f4".into(), fortran_order: false, shape: vec![3, 4] });
        let h = parse_header("{\"descr\":\"|u1\",\"fortran_order\":True,\"shape\":(7,)}").unwrap();
        assert_eq!(h, Header { descr: "|u1".into(), fortran_order: true, shape: vec![7] });
        assert_eq!(
            parse_header("{'descr': '<i8', 'fortran_order': False, 'shape': (2L, 3L), }")
                .unwrap()
                .shape,
            vec![2, 3]
        );
        assert_eq!(
            parse_header("{'descr': '<i8', 'fortran_order': False, 'shape': (), }").unwrap().shape,
            Vec::<u64>::new()
        );
        for bad in [
            "",
            "{'descr': '<f4', 'fortran_order': False}",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), 'extra': 1}",
            "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (3,)}",
            "{'descr': '<f4', 'fortran_order': 0, 'shape': (3,)}",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (-3,)}",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999999,)}",
            "{'descr': '<f4', 'fortran_order': False, 'shape': ('a',)}",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (3,)} x",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (3,",
            "{'descr: '<f4'}",
            &format!("{{'descr': {}}}", "(".repeat(10_000)),
        ] {
            assert!(parse_header(bad).is_err(), "accepted {bad:?}");
        }
        let structured = parse_header(
            "{'descr': [('a', '<f4'), ('b', '<i4')], 'fortran_order': False, 'shape': (3,)}",
        )
        .unwrap_err();
        assert!(structured.contains("structured"), "{structured}");
    }

    #[test]
    fn reads_version_1_and_2_files() {
        let dir = TempDir::new("npy-versions");
        for version in [1u8, 2, 3] {
            let path = dir.write(
                &format!("a{version}.npy"),
                &npy(version, "<f4", &[2, 3], &f32_bytes(&[0.5, 1.0, 1.5, 2.0, 2.5, 3.0])),
            );
            let a = read_npy(&path).unwrap();
            assert_eq!((a.dtype, a.shape.clone()), (Dtype::F32, vec![2, 3]));
            assert_eq!(a.to_f32(true).unwrap(), vec![0.5, 1.0, 1.5, 2.0, 2.5, 3.0]);
        }
    }

    #[test]
    fn loads_a_classification_pair_and_holds_out_20_percent() {
        let dir = TempDir::new("npy-classes");
        // 10 items of 3 features: item i is [i, i + 0.25, i + 0.5] (float64), label i % 4 (int64).
        let xs: Vec<u8> = (0..10)
            .flat_map(|i| [i as f64, i as f64 + 0.25, i as f64 + 0.5])
            .flat_map(|x| x.to_le_bytes())
            .collect();
        let ys: Vec<u8> = (0..10i64).flat_map(|i| (i % 4).to_le_bytes()).collect();
        let x = dir.write("x.npy", &npy(1, "<f8", &[10, 3], &xs));
        let y = dir.write("y.npy", &npy(1, "<i8", &[10], &ys));
        let splits = load_npy(&x, &y).unwrap();
        assert_eq!((splits.train.len(), splits.test.len()), (8, 2));
        assert_eq!(splits.train.item_shape, vec![3]);
        // Every item lands in one split, its label still matching its features.
        let mut seen = Vec::new();
        for ds in [&splits.train, &splits.test] {
            let Targets::Classes { labels, num_classes } = &ds.targets else { panic!() };
            assert_eq!(*num_classes, 4);
            for (k, &label) in labels.iter().enumerate() {
                let item = ds.item(k);
                let i = item[0] as usize;
                assert_eq!(item, &[i as f32, i as f32 + 0.25, i as f32 + 0.5]);
                assert_eq!(label as usize, i % 4);
                seen.push(i);
            }
        }
        seen.sort();
        assert_eq!(seen, (0..10).collect::<Vec<_>>());
        // The same files give the same split.
        let again = load_npy(&x, &y).unwrap();
        assert_eq!(again.test.inputs, splits.test.inputs);
    }

    #[test]
    fn loads_images_and_regression_targets() {
        let dir = TempDir::new("npy-images");
        // 5 grey images of 2 x 2 as uint8 [n, h, w]; targets float32 [n, 2].
        let x = dir.write(
            "x.npy",
            &npy(1, "|u1", &[5, 2, 2], &(0..20).map(|i| (i * 10) as u8).collect::<Vec<_>>()),
        );
        let y = dir.write(
            "y.npy",
            &npy(1, "<f4", &[5, 2], &f32_bytes(&(0..10).map(|i| i as f32).collect::<Vec<_>>())),
        );
        let splits = load_npy(&x, &y).unwrap();
        assert_eq!(splits.train.item_shape, vec![1, 2, 2]);
        assert_eq!((splits.train.len(), splits.test.len()), (4, 1));
        let Targets::Values { values, dims } = &splits.test.targets else { panic!() };
        assert_eq!(*dims, 2);
        // The test item's pixels are 40k..40k+30 / 255 for item k, its targets [2k, 2k + 1].
        let k = values[0] as usize / 2;
        assert_eq!(values, &vec![2.0 * k as f32, 2.0 * k as f32 + 1.0]);
        assert_eq!(splits.test.item(0), &[0, 10, 20, 30].map(|p| (40 * k + p) as f32 / 255.0));
        // Rank-4 inputs keep their channels.
        let x4 = dir.write("x4.npy", &npy(1, "<f4", &[5, 3, 1, 2], &f32_bytes(&[0.0; 30])));
        assert_eq!(load_npy(&x4, &y).unwrap().train.item_shape, vec![3, 1, 2]);
        // Rank-1 float targets are regression with one dimension.
        let y1 = dir.write("y1.npy", &npy(1, "<f8", &[5], &[0u8; 40]));
        assert!(matches!(
            load_npy(&x4, &y1).unwrap().train.targets,
            Targets::Values { dims: 1, .. }
        ));
    }

    #[test]
    fn errors_name_the_file_and_the_problem() {
        let dir = TempDir::new("npy-errors");
        let x = dir.write("x.npy", &npy(1, "<f4", &[4, 2], &f32_bytes(&[1.0; 8])));
        let y = dir.write("y.npy", &npy(1, "<i4", &[4], &[0u8; 16]));
        assert!(load_npy(&x, &y).is_ok());
        let check = |x: &Path, y: &Path, pred: &dyn Fn(&DataError) -> bool, file: &Path| {
            let err = load_npy(x, y).unwrap_err();
            assert!(pred(&err), "{err:?}");
            assert!(err.to_string().contains(&file.display().to_string()), "{err}");
        };
        // Unsupported dtype (float16; big-endian float32).
        let f16 = dir.write("f16.npy", &npy(1, "<f2", &[4, 2], &[0u8; 16]));
        check(
            &f16,
            &y,
            &|e| matches!(e, DataError::NpyDtype { dtype, .. } if dtype == "<f2"),
            &f16,
        );
        let be = dir.write("be.npy", &npy(1, ">f4", &[4, 2], &[0u8; 32]));
        check(
            &be,
            &y,
            &|e| matches!(e, DataError::NpyDtype { expected, .. } if expected.contains("big-endian")),
            &be,
        );
        // Integer inputs are refused; so are labels of rank 2.
        let xi = dir.write("xi.npy", &npy(1, "<i4", &[4, 2], &[0u8; 32]));
        check(&xi, &y, &|e| matches!(e, DataError::NpyDtype { .. }), &xi);
        let y2 = dir.write("y2.npy", &npy(1, "<i4", &[4, 1], &[0u8; 16]));
        check(&x, &y2, &|e| matches!(e, DataError::NpyRank { .. }), &y2);
        // Rank-1 inputs.
        let x1 = dir.write("x1.npy", &npy(1, "<f4", &[4], &[0u8; 16]));
        check(&x1, &y, &|e| matches!(e, DataError::NpyRank { .. }), &x1);
        // Mismatched counts.
        let y3 = dir.write("y3.npy", &npy(1, "<i4", &[3], &[0u8; 12]));
        check(
            &x,
            &y3,
            &|e| matches!(e, DataError::CountMismatch { input_count: 4, target_count: 3, .. }),
            &y3,
        );
        // Negative label.
        let yneg = dir.write(
            "yneg.npy",
            &npy(1, "<i4", &[4], &[0, 0, 0, 0, 255, 255, 255, 255, 0, 0, 0, 0, 0, 0, 0, 0]),
        );
        check(
            &x,
            &yneg,
            &|e| matches!(e, DataError::LabelOutOfRange { index: 1, label: -1, .. }),
            &yneg,
        );
        // NaN input.
        let xnan = dir.write(
            "xnan.npy",
            &npy(1, "<f4", &[4, 2], &f32_bytes(&[1.0, 1.0, 1.0, f32::NAN, 1.0, 1.0, 1.0, 1.0])),
        );
        check(&xnan, &y, &|e| matches!(e, DataError::NonFinite { index: 3, .. }), &xnan);
        // Truncated and trailing data.
        let short = dir.write("short.npy", &npy(1, "<f4", &[4, 2], &[0u8; 31]));
        check(
            &short,
            &y,
            &|e| matches!(e, DataError::Truncated { found, expected, .. } if expected - found == 1),
            &short,
        );
        let long = dir.write("long.npy", &npy(1, "<f4", &[4, 2], &[0u8; 33]));
        check(&long, &y, &|e| matches!(e, DataError::TrailingData { .. }), &long);
        // A huge shape overflows, with no allocation.
        let huge = dir.write("huge.npy", &npy(1, "<f8", &[1 << 40, 1 << 40], &[0u8; 8]));
        check(
            &huge,
            &y,
            &|e| matches!(e, DataError::NpyHeader { reason, .. } if reason.contains("too large")),
            &huge,
        );
        let big = dir.write("big.npy", &npy(1, "<f8", &[1 << 30, 1 << 20], &[0u8; 8]));
        check(&big, &y, &|e| matches!(e, DataError::Truncated { .. }), &big);
        // Not NPY at all, an .npz, a header length beyond the file, Fortran order, a bad version.
        let text = dir.write("text.npy", b"x,y\n1,2\n");
        check(
            &text,
            &y,
            &|e| matches!(e, DataError::NpyHeader { reason, .. } if reason.contains("magic")),
            &text,
        );
        let npz = dir.write("a.npz", b"PK\x03\x04rest");
        check(
            &npz,
            &y,
            &|e| matches!(e, DataError::NpyHeader { reason, .. } if reason.contains(".npz")),
            &npz,
        );
        let cut = dir.write("cut.npy", &npy(1, "<f4", &[4, 2], &[])[..20]);
        check(&cut, &y, &|e| matches!(e, DataError::Truncated { .. }), &cut);
        let mut fortran = npy(1, "<f4", &[4, 2], &[0u8; 32]);
        let at = fortran.windows(5).position(|w| w == b"False").unwrap();
        fortran[at..at + 5].copy_from_slice(b"True ");
        let fortran = dir.write("fortran.npy", &fortran);
        check(
            &fortran,
            &y,
            &|e| matches!(e, DataError::NpyHeader { reason, .. } if reason.contains("Fortran")),
            &fortran,
        );
        let mut v9 = npy(1, "<f4", &[4, 2], &[0u8; 32]);
        v9[6] = 9;
        let v9 = dir.write("v9.npy", &v9);
        check(
            &v9,
            &y,
            &|e| matches!(e, DataError::NpyHeader { reason, .. } if reason.contains("version 9")),
            &v9,
        );
        // A single item cannot be split into train and test.
        let x_one = dir.write("x_one.npy", &npy(1, "<f4", &[1, 2], &[0u8; 8]));
        let y_one = dir.write("y_one.npy", &npy(1, "<i4", &[1], &[0u8; 4]));
        check(&x_one, &y_one, &|e| matches!(e, DataError::Empty { .. }), &x_one);
        // A missing file.
        check(
            &dir.path().join("none.npy"),
            &y,
            &|e| matches!(e, DataError::Missing { .. }),
            &dir.path().join("none.npy"),
        );
    }
}
