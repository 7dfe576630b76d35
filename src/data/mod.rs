//! Datasets for training fixed networks: readers for IDX (MNIST, Fashion-MNIST), the CIFAR-10/100
//! binary format and NPY pairs, plus normalisation, seeded splits and augmentation. Burn-free:
//! the runtime (`crate::runtime::loader`) turns these into burn batches.
//!
//! Every reader checks its files against their headers before trusting them (magic numbers,
//! dimensions, lengths, label ranges) and reports any problem as a [`DataError`] that names the
//! file; no input, however corrupt, makes it panic or allocate more than the file holds.

mod cifar;
mod error;
mod idx;
mod io;
mod npy;
mod prep;

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

pub use cifar::{load_cifar10, load_cifar100, CIFAR_PIXELS};
pub use error::{DataError, SPEC_FORMS};
pub use idx::{
    load_idx, read_images, read_labels, IDX_CLASSES, IDX_FILES, IMAGE_MAGIC, LABEL_MAGIC,
};
pub use npy::{
    load_npy, read_npy, Dtype, NpyArray, MAX_NPY_CLASSES, NPY_TEST_FRACTION, NPY_TEST_SEED,
};
pub use prep::{below, permutation, random_crop_flip, split, Normalization};

/// A data set held in memory: `len()` items, each `prod(item_shape)` input values and a target.
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    /// The input values of every item, `len() * prod(item_shape)` of them, item after item, each
    /// item row-major in its shape.
    pub inputs: Vec<f32>,
    /// The shape of one item's inputs: `[channels, height, width]` for images (MNIST
    /// `[1, 28, 28]`, CIFAR `[3, 32, 32]`), `[features]` for flat inputs.
    pub item_shape: Vec<usize>,
    /// One target per item.
    pub targets: Targets,
}

/// The targets of a data set, one per item.
#[derive(Clone, Debug, PartialEq)]
pub enum Targets {
    /// Classification: a class label in `0..num_classes` per item.
    Classes {
        /// One label per item.
        labels: Vec<u32>,
        /// The number of classes (the model's output width).
        num_classes: usize,
    },
    /// Regression: `dims` values per item, item after item.
    Values {
        /// `len * dims` values.
        values: Vec<f32>,
        /// Values per item (at least 1).
        dims: usize,
    },
}

impl Targets {
    /// The number of items these targets describe.
    pub fn len(&self) -> usize {
        match self {
            Targets::Classes { labels, .. } => labels.len(),
            Targets::Values { values, dims } => values.len().checked_div(*dims).unwrap_or(0),
        }
    }

    /// Whether there are no targets.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The targets of the items `indices`, in that order.
    ///
    /// # Panics
    ///
    /// If an index is `>= len()`.
    pub fn subset(&self, indices: &[usize]) -> Targets {
        match self {
            Targets::Classes { labels, num_classes } => Targets::Classes {
                labels: indices.iter().map(|&i| labels[i]).collect(),
                num_classes: *num_classes,
            },
            Targets::Values { values, dims } => Targets::Values {
                values: indices
                    .iter()
                    .flat_map(|&i| &values[i * dims..(i + 1) * dims])
                    .copied()
                    .collect(),
                dims: *dims,
            },
        }
    }
}

impl Dataset {
    /// The number of items.
    pub fn len(&self) -> usize {
        self.targets.len()
    }

    /// Whether the data set has no items.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Input values per item: the product of [`Dataset::item_shape`].
    pub fn item_size(&self) -> usize {
        self.item_shape.iter().product()
    }

    /// The input values of item `i` (`item_size()` of them, row-major in `item_shape`).
    ///
    /// # Panics
    ///
    /// If `i >= len()`.
    pub fn item(&self, i: usize) -> &[f32] {
        let size = self.item_size();
        &self.inputs[i * size..(i + 1) * size]
    }

    /// A new data set of the items `indices` of this one, in that order (an index may repeat).
    ///
    /// # Panics
    ///
    /// If an index is `>= len()`.
    pub fn subset(&self, indices: &[usize]) -> Dataset {
        let size = self.item_size();
        let mut inputs = Vec::with_capacity(indices.len() * size);
        for &i in indices {
            inputs.extend_from_slice(self.item(i));
        }
        Dataset {
            inputs,
            item_shape: self.item_shape.clone(),
            targets: self.targets.subset(indices),
        }
    }
}

/// Where a data set is and in which format: the value of `--data`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DataSpec {
    /// `mnist:DIR` or `fashion-mnist:DIR`: the four IDX files, raw or gzipped ([`load_idx`]).
    Mnist(PathBuf),
    /// `cifar10:DIR`: the CIFAR-10 binary version ([`load_cifar10`]).
    Cifar10(PathBuf),
    /// `cifar100:DIR`: the CIFAR-100 binary version ([`load_cifar100`]).
    Cifar100(PathBuf),
    /// `npy:X.npy,Y.npy`: inputs and targets as two NPY files ([`load_npy`]).
    Npy {
        /// The inputs.
        x: PathBuf,
        /// The targets.
        y: PathBuf,
    },
}

impl FromStr for DataSpec {
    type Err = DataError;

    /// Parses `KIND:PATH`; the kinds are `mnist`, `fashion-mnist` (both IDX), `cifar10`,
    /// `cifar100` and `npy` (whose path is `X.npy,Y.npy`). Kinds are case-insensitive.
    fn from_str(spec: &str) -> Result<Self, DataError> {
        let bad = |reason: &str| DataError::BadSpec {
            spec: spec.to_string(),
            reason: reason.to_string(),
        };
        let Some((kind, path)) = spec.split_once(':') else {
            return Err(bad("it has no `KIND:` prefix"));
        };
        if path.is_empty() {
            return Err(bad("the path after the `:` is empty"));
        }
        match kind.to_ascii_lowercase().as_str() {
            "mnist" | "fashion-mnist" | "fashion_mnist" => Ok(DataSpec::Mnist(path.into())),
            "cifar10" | "cifar-10" => Ok(DataSpec::Cifar10(path.into())),
            "cifar100" | "cifar-100" => Ok(DataSpec::Cifar100(path.into())),
            "npy" => match path.split_once(',') {
                Some((x, y)) if !x.is_empty() && !y.is_empty() && !y.contains(',') => {
                    Ok(DataSpec::Npy { x: x.into(), y: y.into() })
                }
                _ => Err(bad("npy takes two files separated by one comma, inputs then targets")),
            },
            other => Err(bad(&format!("unknown kind `{other}`"))),
        }
    }
}

impl DataSpec {
    /// The same spec with every path made absolute (when it exists), so that it means the same
    /// data from any working directory (a resumed search records and rereads it).
    pub fn absolute(&self) -> DataSpec {
        let abs = |p: &PathBuf| std::fs::canonicalize(p).unwrap_or_else(|_| p.clone());
        match self {
            DataSpec::Mnist(p) => DataSpec::Mnist(abs(p)),
            DataSpec::Cifar10(p) => DataSpec::Cifar10(abs(p)),
            DataSpec::Cifar100(p) => DataSpec::Cifar100(abs(p)),
            DataSpec::Npy { x, y } => DataSpec::Npy { x: abs(x), y: abs(y) },
        }
    }
}

impl fmt::Display for DataSpec {
    /// The `--data` form of this spec (`fashion-mnist:` prints as `mnist:`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DataSpec::Mnist(p) => write!(f, "mnist:{}", p.display()),
            DataSpec::Cifar10(p) => write!(f, "cifar10:{}", p.display()),
            DataSpec::Cifar100(p) => write!(f, "cifar100:{}", p.display()),
            DataSpec::Npy { x, y } => write!(f, "npy:{},{}", x.display(), y.display()),
        }
    }
}

/// A data set's train and test splits, as its files give them.
#[derive(Clone, Debug, PartialEq)]
pub struct Splits {
    /// The training items (split further into train and validation with [`split`]).
    pub train: Dataset,
    /// The held-out test items.
    pub test: Dataset,
}

/// Loads the data set `spec` names. Both splits are non-empty and have the same item shape and
/// kind of targets.
pub fn load(spec: &DataSpec) -> Result<Splits, DataError> {
    match spec {
        DataSpec::Mnist(dir) => load_idx(dir),
        DataSpec::Cifar10(dir) => load_cifar10(dir),
        DataSpec::Cifar100(dir) => load_cifar100(dir),
        DataSpec::Npy { x, y } => load_npy(x, y),
    }
}

/// The directory of the 10,000 real MNIST digits shipped with nasc (8,000 train, 2,000 test),
/// relative to the repository root.
pub const EXAMPLE_MNIST: &str = "examples/data/mnist";

/// The example MNIST directory as an absolute path inside the source tree nasc was built from.
pub fn example_mnist_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/data/mnist"))
}

#[cfg(test)]
pub(crate) mod testutil;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_spec_form() {
        let p = |s: &str| s.parse::<DataSpec>().unwrap();
        assert_eq!(p("mnist:data/mnist"), DataSpec::Mnist("data/mnist".into()));
        assert_eq!(p("fashion-mnist:/d/f"), DataSpec::Mnist("/d/f".into()));
        assert_eq!(p("MNIST:x"), DataSpec::Mnist("x".into()));
        assert_eq!(p("cifar10:c"), DataSpec::Cifar10("c".into()));
        assert_eq!(p("cifar100:c"), DataSpec::Cifar100("c".into()));
        assert_eq!(p("npy:a.npy,b.npy"), DataSpec::Npy { x: "a.npy".into(), y: "b.npy".into() });
        // Only the first colon separates the kind: Windows paths keep theirs.
        assert_eq!(
            p("npy:C:\\x.npy,C:\\y.npy"),
            DataSpec::Npy { x: "C:\\x.npy".into(), y: "C:\\y.npy".into() }
        );
        assert_eq!(p("npy:a.npy,b.npy").to_string(), "npy:a.npy,b.npy");
        assert_eq!(p("cifar10:c").to_string(), "cifar10:c");
    }

    #[test]
    fn bad_specs_say_which_forms_exist() {
        for (spec, reason) in [
            ("mnist", "no `KIND:` prefix"),
            ("mnist:", "empty"),
            ("imagenet:/data", "unknown kind `imagenet`"),
            ("npy:x.npy", "two files"),
            ("npy:x.npy,", "two files"),
            ("npy:a,b,c", "two files"),
            ("", "no `KIND:` prefix"),
        ] {
            let err = spec.parse::<DataSpec>().unwrap_err();
            assert!(matches!(err, DataError::BadSpec { .. }), "{err:?}");
            let msg = err.to_string();
            assert!(msg.contains(reason), "{spec}: {msg}");
            assert!(
                msg.contains("mnist:DIR")
                    && msg.contains("cifar10:DIR")
                    && msg.contains("cifar100:DIR")
                    && msg.contains("npy:X.npy,Y.npy"),
                "{msg}"
            );
        }
    }

    #[test]
    fn dataset_items_and_subsets() {
        let ds = Dataset {
            inputs: (0..12).map(|x| x as f32).collect(),
            item_shape: vec![2, 2],
            targets: Targets::Values { values: vec![0.0, 0.5, 1.0, 1.5, 2.0, 2.5], dims: 2 },
        };
        assert_eq!((ds.len(), ds.item_size(), ds.is_empty()), (3, 4, false));
        assert_eq!(ds.item(2), &[8.0, 9.0, 10.0, 11.0]);
        let sub = ds.subset(&[2, 0, 2]);
        assert_eq!(
            sub.inputs,
            vec![8.0, 9.0, 10.0, 11.0, 0.0, 1.0, 2.0, 3.0, 8.0, 9.0, 10.0, 11.0]
        );
        assert_eq!(
            sub.targets,
            Targets::Values { values: vec![2.0, 2.5, 0.0, 0.5, 2.0, 2.5], dims: 2 }
        );
        let classes = Targets::Classes { labels: vec![4, 5, 6], num_classes: 7 };
        assert_eq!(classes.subset(&[1]), Targets::Classes { labels: vec![5], num_classes: 7 });
        assert!(ds.subset(&[]).is_empty());
    }

    #[test]
    fn load_dispatches_on_the_spec() {
        let splits = load(&DataSpec::Mnist(example_mnist_dir().to_path_buf())).unwrap();
        assert_eq!((splits.train.len(), splits.test.len()), (8_000, 2_000));
        let err = load(&DataSpec::Cifar10(example_mnist_dir().to_path_buf())).unwrap_err();
        assert!(matches!(err, DataError::Missing { .. }), "{err:?}");
    }
}
