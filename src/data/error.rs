//! [`DataError`]: everything that can go wrong reading a data set, each naming the file and what a
//! user can do about it.

use std::fmt::Write as _;
use std::io;
use std::path::{Path, PathBuf};

/// The forms `--data` accepts, quoted in every [`DataError::BadSpec`].
pub const SPEC_FORMS: &str =
    "mnist:DIR, fashion-mnist:DIR, cifar10:DIR, cifar100:DIR, npy:X.npy,Y.npy";

/// A data set that could not be read. Every variant that concerns a file names it (`path`) and
/// says, in plain words, what was wrong with it.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// A `--data` value that is not one of the forms in [`SPEC_FORMS`].
    #[error("bad --data `{spec}`: {reason}; the forms are {SPEC_FORMS}")]
    BadSpec {
        /// The value as given.
        spec: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A data-set path that should be a directory is missing or is a file.
    #[error("`{}` is not a directory: {hint}", .path.display())]
    NotADirectory {
        /// The path given.
        path: PathBuf,
        /// What the directory should hold.
        hint: String,
    },
    /// A file that was not found under any of the names tried.
    #[error("`{}` not found (tried {})", .path.display(), list_paths(.tried))]
    Missing {
        /// The file looked for (the first name tried).
        path: PathBuf,
        /// Every name tried, in order.
        tried: Vec<PathBuf>,
    },
    /// An I/O error while reading a file (including corrupt gzip data).
    #[error("cannot read `{}`: {source}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// A file shorter than its header (or its format) says it must be.
    #[error("`{}` is truncated: expected {expected} bytes{}, found {found}; download or extract it again", .path.display(), decompressed_note(*.decompressed))]
    Truncated {
        /// The file.
        path: PathBuf,
        /// Bytes the header promises (header included).
        expected: u64,
        /// Bytes actually there.
        found: u64,
        /// Whether the counts are of the gzip-decompressed contents.
        decompressed: bool,
    },
    /// A file longer than its header says it is.
    #[error("`{}` is longer than its header says: expected {expected} bytes{}, found {found}; is it a file of another format, or two files joined?", .path.display(), decompressed_note(*.decompressed))]
    TrailingData {
        /// The file.
        path: PathBuf,
        /// Bytes the header accounts for (header included).
        expected: u64,
        /// Bytes actually there.
        found: u64,
        /// Whether the counts are of the gzip-decompressed contents.
        decompressed: bool,
    },
    /// A file whose first four bytes are not the magic number of the format expected.
    #[error("`{}` has the wrong magic number: expected {expected:#010x}, found {found:#010x}; is this an IDX {kind} file?", .path.display())]
    BadMagic {
        /// The file.
        path: PathBuf,
        /// The magic number of the format.
        expected: u32,
        /// The first four bytes, big-endian.
        found: u32,
        /// What the file should be ("image" or "label").
        kind: &'static str,
    },
    /// A header that is well formed but describes something unusable (a zero dimension, sizes
    /// that overflow, a gzip file where a raw one is needed, ...).
    #[error("`{}` has a bad header: {reason}", .path.display())]
    BadHeader {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A file of fixed-size records whose length is not a whole number of records.
    #[error("`{}` has {len} bytes, which is not a whole number of {record}-byte records; is it a {format} file?", .path.display())]
    BadRecordLength {
        /// The file.
        path: PathBuf,
        /// Its length in bytes.
        len: u64,
        /// The record size in bytes.
        record: u64,
        /// The format expected ("CIFAR-10 binary", "CIFAR-100 binary").
        format: &'static str,
    },
    /// Inputs and targets that do not describe the same number of items.
    #[error("`{}` holds {input_count} items but `{}` holds {target_count}; the two must describe the same items", .inputs.display(), .targets.display())]
    CountMismatch {
        /// The file of inputs (images).
        inputs: PathBuf,
        /// How many items it holds.
        input_count: u64,
        /// The file of targets (labels).
        targets: PathBuf,
        /// How many targets it holds.
        target_count: u64,
    },
    /// A training and a test file whose items have different shapes.
    #[error("`{}` holds items of shape {train_shape:?} but `{}` holds items of shape {test_shape:?}; train and test data must match", .train.display(), .test.display())]
    ShapeMismatch {
        /// The training file.
        train: PathBuf,
        /// Its item shape.
        train_shape: Vec<usize>,
        /// The test file.
        test: PathBuf,
        /// Its item shape.
        test_shape: Vec<usize>,
    },
    /// A class label outside the classes of the data set.
    #[error("`{}`: label {label} of item {index} is out of range (labels must be in 0..{num_classes})", .path.display())]
    LabelOutOfRange {
        /// The file of labels.
        path: PathBuf,
        /// The item (0-based).
        index: usize,
        /// The label found.
        label: i64,
        /// The number of classes allowed.
        num_classes: usize,
    },
    /// An NPY file whose header cannot be read.
    #[error("`{}` has a bad NPY header: {reason}", .path.display())]
    NpyHeader {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// An NPY array of an element type that cannot be used here.
    #[error("`{}` has NPY dtype `{dtype}`, which is not supported here: {expected}", .path.display())]
    NpyDtype {
        /// The file.
        path: PathBuf,
        /// The dtype as written in the header (`descr`).
        dtype: String,
        /// What is accepted, and how to convert.
        expected: String,
    },
    /// An NPY array of a rank (number of dimensions) that cannot be used here.
    #[error("`{}` holds an array of shape {shape:?}; expected {expected}", .path.display())]
    NpyRank {
        /// The file.
        path: PathBuf,
        /// Its shape.
        shape: Vec<u64>,
        /// What is accepted.
        expected: String,
    },
    /// A NaN or infinite value in an NPY array.
    #[error("`{}`: element {index} (flat, C order) is {value}; inputs and targets must be finite numbers", .path.display())]
    NonFinite {
        /// The file.
        path: PathBuf,
        /// The flat index of the first such element.
        index: usize,
        /// The value (NaN or an infinity).
        value: f64,
    },
    /// A file (or a split of it) that holds no items.
    #[error("`{}` holds no items{}", .path.display(), .detail)]
    Empty {
        /// The file.
        path: PathBuf,
        /// More context (may be empty; starts with "; " when not).
        detail: String,
    },
}

impl DataError {
    /// An [`DataError::Io`] for `path`.
    pub(crate) fn io(path: &Path) -> impl FnOnce(io::Error) -> DataError + '_ {
        move |source| DataError::Io { path: path.to_path_buf(), source }
    }
}

fn list_paths(paths: &[PathBuf]) -> String {
    let mut out = String::new();
    for (i, p) in paths.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        let _ = write!(out, "`{}`", p.display());
    }
    out
}

fn decompressed_note(decompressed: bool) -> &'static str {
    if decompressed {
        " (after gzip decompression)"
    } else {
        ""
    }
}
