//! The IDX format of MNIST and Fashion-MNIST: big-endian headers, then unsigned bytes.
//!
//! An image file is the magic number `0x00000803`, the image count, rows and columns (each a
//! big-endian `u32`), then `count * rows * cols` pixel bytes, row-major. A label file is the
//! magic number `0x00000801`, the count, then one byte per label.

use std::path::{Path, PathBuf};

use super::io::{be_u32, find_with_gz, mul, read_sized, require_dir};
use super::{DataError, Dataset, Splits, Targets};

/// The magic number of an IDX file of unsigned bytes with three dimensions (images).
pub const IMAGE_MAGIC: u32 = 0x0000_0803;
/// The magic number of an IDX file of unsigned bytes with one dimension (labels).
pub const LABEL_MAGIC: u32 = 0x0000_0801;
/// The number of classes of MNIST and Fashion-MNIST; every label must be below it.
pub const IDX_CLASSES: usize = 10;

/// The four files of an IDX data set, as (images, labels) for train then test. Each may also be
/// gzip-compressed, under the same name with `.gz` added.
pub const IDX_FILES: [(&str, &str); 2] = [
    ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
];

/// Loads the IDX data set (MNIST, Fashion-MNIST) in directory `dir`: the train and test splits,
/// items `[1, rows, cols]` with pixels scaled to `[0, 1]`, labels `0..10`.
pub fn load_idx(dir: &Path) -> Result<Splits, DataError> {
    require_dir(dir, "an IDX data set (MNIST, Fashion-MNIST) is the directory holding train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte (each may be gzipped, with .gz added)")?;
    let (train_images, train_labels) = IDX_FILES[0];
    let (test_images, test_labels) = IDX_FILES[1];
    let (train, train_path) = load_part(dir, train_images, train_labels)?;
    let (test, test_path) = load_part(dir, test_images, test_labels)?;
    if train.item_shape != test.item_shape {
        return Err(DataError::ShapeMismatch {
            train: train_path,
            train_shape: train.item_shape,
            test: test_path,
            test_shape: test.item_shape,
        });
    }
    Ok(Splits { train, test })
}

/// Loads one split: an image file and a label file, found in `dir` raw or gzipped. Returns the
/// data set and the path of its image file.
fn load_part(dir: &Path, images: &str, labels: &str) -> Result<(Dataset, PathBuf), DataError> {
    let images_path = find_with_gz(dir, images)?;
    let labels_path = find_with_gz(dir, labels)?;
    let (inputs, item_shape, count) = read_images(&images_path)?;
    let labels = read_labels(&labels_path)?;
    if labels.len() != count {
        return Err(DataError::CountMismatch {
            inputs: images_path,
            input_count: count as u64,
            targets: labels_path,
            target_count: labels.len() as u64,
        });
    }
    let dataset = Dataset {
        inputs,
        item_shape,
        targets: Targets::Classes { labels, num_classes: IDX_CLASSES },
    };
    Ok((dataset, images_path))
}

/// Reads an IDX image file: the pixels (scaled to `[0, 1]`), the item shape `[1, rows, cols]`
/// and the image count.
pub fn read_images(path: &Path) -> Result<(Vec<f32>, Vec<usize>, usize), DataError> {
    let mut dims = [0u32; 3];
    let bytes = read_sized(path, 16, &|m| check_magic(path, m, IMAGE_MAGIC, "image"), |header| {
        dims = [be_u32(header, 4), be_u32(header, 8), be_u32(header, 12)];
        let [count, rows, cols] = dims;
        if rows == 0 || cols == 0 {
            return Err(DataError::BadHeader {
                path: path.to_path_buf(),
                reason: format!(
                    "its images are {rows} x {cols} pixels; both sides must be at least 1"
                ),
            });
        }
        let pixels = mul(path, mul(path, u64::from(count), u64::from(rows))?, u64::from(cols))?;
        pixels.checked_add(16).ok_or_else(|| DataError::BadHeader {
            path: path.to_path_buf(),
            reason: "its size overflows".into(),
        })
    })?;
    let [count, rows, cols] = dims.map(|d| d as usize);
    if count == 0 {
        return Err(DataError::Empty { path: path.to_path_buf(), detail: String::new() });
    }
    let inputs = bytes[16..].iter().map(|&b| f32::from(b) / 255.0).collect();
    Ok((inputs, vec![1, rows, cols], count))
}

/// Reads an IDX label file: one label per item, each checked to be below [`IDX_CLASSES`].
pub fn read_labels(path: &Path) -> Result<Vec<u32>, DataError> {
    let bytes = read_sized(path, 8, &|m| check_magic(path, m, LABEL_MAGIC, "label"), |header| {
        Ok(u64::from(be_u32(header, 4)) + 8)
    })?;
    let labels = &bytes[8..];
    if labels.is_empty() {
        return Err(DataError::Empty { path: path.to_path_buf(), detail: String::new() });
    }
    if let Some((index, &label)) =
        labels.iter().enumerate().find(|(_, &l)| usize::from(l) >= IDX_CLASSES)
    {
        return Err(DataError::LabelOutOfRange {
            path: path.to_path_buf(),
            index,
            label: i64::from(label),
            num_classes: IDX_CLASSES,
        });
    }
    Ok(labels.iter().map(|&l| u32::from(l)).collect())
}

/// Checks a file's magic number, its first four bytes.
fn check_magic(
    path: &Path,
    magic: [u8; 4],
    expected: u32,
    kind: &'static str,
) -> Result<(), DataError> {
    let found = u32::from_be_bytes(magic);
    if found == expected {
        Ok(())
    } else {
        Err(DataError::BadMagic { path: path.to_path_buf(), expected, found, kind })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::testutil::{gzip, idx_images, idx_labels, TempDir};
    use std::io::Read;

    const MNIST: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/data/mnist");

    /// Writes a complete, valid raw IDX set: `n_train` and `n_test` images of 2 x 3 pixels.
    fn write_set(dir: &TempDir, n_train: usize, n_test: usize) {
        let pixels = |n: usize| (0..n * 6).map(|i| (i % 256) as u8).collect::<Vec<_>>();
        let labels = |n: usize| (0..n).map(|i| (i % 10) as u8).collect::<Vec<_>>();
        dir.write("train-images-idx3-ubyte", &idx_images(n_train as u32, 2, 3, &pixels(n_train)));
        dir.write("train-labels-idx1-ubyte", &idx_labels(n_train as u32, &labels(n_train)));
        dir.write("t10k-images-idx3-ubyte", &idx_images(n_test as u32, 2, 3, &pixels(n_test)));
        dir.write("t10k-labels-idx1-ubyte", &idx_labels(n_test as u32, &labels(n_test)));
    }

    #[test]
    fn reads_a_small_raw_set() {
        let dir = TempDir::new("idx-raw");
        write_set(&dir, 4, 2);
        let splits = load_idx(dir.path()).unwrap();
        assert_eq!(splits.train.len(), 4);
        assert_eq!(splits.test.len(), 2);
        assert_eq!(splits.train.item_shape, vec![1, 2, 3]);
        // Item 1 holds bytes 6..12, scaled by 1/255.
        let expected: Vec<f32> = (6..12).map(|b| b as f32 / 255.0).collect();
        assert_eq!(splits.train.item(1), expected.as_slice());
        assert_eq!(
            splits.train.targets,
            Targets::Classes { labels: vec![0, 1, 2, 3], num_classes: 10 }
        );
    }

    #[test]
    fn reads_gzipped_files_and_gzip_content_under_a_raw_name() {
        let dir = TempDir::new("idx-gz");
        write_set(&dir, 3, 1);
        // Train images only as `.gz`; test labels gzipped under the raw name (detected by magic).
        let raw = std::fs::read(dir.path().join("train-images-idx3-ubyte")).unwrap();
        std::fs::remove_file(dir.path().join("train-images-idx3-ubyte")).unwrap();
        dir.write("train-images-idx3-ubyte.gz", &gzip(&raw));
        let labels = std::fs::read(dir.path().join("t10k-labels-idx1-ubyte")).unwrap();
        dir.write("t10k-labels-idx1-ubyte", &gzip(&labels));
        let splits = load_idx(dir.path()).unwrap();
        assert_eq!(splits.train.len(), 3);
        assert_eq!(splits.train.item(2)[5], 17.0 / 255.0);
        assert_eq!(splits.test.targets, Targets::Classes { labels: vec![0], num_classes: 10 });
    }

    #[test]
    fn missing_file_names_every_name_tried() {
        let dir = TempDir::new("idx-missing");
        write_set(&dir, 2, 2);
        std::fs::remove_file(dir.path().join("t10k-labels-idx1-ubyte")).unwrap();
        let err = load_idx(dir.path()).unwrap_err();
        assert!(matches!(&err, DataError::Missing { tried, .. } if tried.len() == 2), "{err:?}");
        let msg = err.to_string();
        assert!(
            msg.contains(&dir.path().join("t10k-labels-idx1-ubyte").display().to_string()),
            "{msg}"
        );
        assert!(msg.contains("t10k-labels-idx1-ubyte.gz"), "{msg}");
    }

    #[test]
    fn a_file_instead_of_a_directory_is_an_error() {
        let dir = TempDir::new("idx-notdir");
        dir.write("x", b"hello");
        let err = load_idx(&dir.path().join("x")).unwrap_err();
        assert!(matches!(err, DataError::NotADirectory { .. }), "{err:?}");
        assert!(err.to_string().contains("t10k-images-idx3-ubyte"), "{err}");
    }

    #[test]
    fn truncated_image_file_says_expected_and_found() {
        let dir = TempDir::new("idx-trunc");
        write_set(&dir, 4, 2);
        let path = dir.path().join("train-images-idx3-ubyte");
        let raw = std::fs::read(&path).unwrap();
        std::fs::write(&path, &raw[..raw.len() - 5]).unwrap();
        let err = load_idx(dir.path()).unwrap_err();
        match &err {
            DataError::Truncated { path: p, expected, found, decompressed } => {
                assert_eq!(p, &path);
                assert_eq!((*expected, *found, *decompressed), (16 + 24, 16 + 19, false));
            }
            other => panic!("{other:?}"),
        }
        let msg = err.to_string();
        assert!(
            msg.contains(&path.display().to_string())
                && msg.contains("expected 40 bytes")
                && msg.contains("found 35"),
            "{msg}"
        );
    }

    #[test]
    fn truncated_gzipped_file_and_a_short_header() {
        let dir = TempDir::new("idx-trunc-gz");
        write_set(&dir, 4, 2);
        let path = dir.path().join("train-labels-idx1-ubyte");
        let raw = std::fs::read(&path).unwrap();
        std::fs::write(&path, gzip(&raw[..raw.len() - 1])).unwrap();
        let err = load_idx(dir.path()).unwrap_err();
        assert!(
            matches!(err, DataError::Truncated { expected: 12, found: 11, decompressed: true, .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains("after gzip decompression"), "{err}");
        // A header cut short.
        std::fs::write(&path, &raw[..5]).unwrap();
        let err = load_idx(dir.path()).unwrap_err();
        assert!(
            matches!(err, DataError::Truncated { expected: 8, found: 5, decompressed: false, .. }),
            "{err:?}"
        );
    }

    #[test]
    fn trailing_bytes_are_an_error() {
        let dir = TempDir::new("idx-trailing");
        write_set(&dir, 2, 2);
        let path = dir.path().join("t10k-images-idx3-ubyte");
        let mut raw = std::fs::read(&path).unwrap();
        raw.extend_from_slice(&[0, 0, 0]);
        std::fs::write(&path, gzip(&raw)).unwrap();
        let err = load_idx(dir.path()).unwrap_err();
        assert!(
            matches!(
                err,
                DataError::TrailingData { expected: 28, found: 31, decompressed: true, .. }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn wrong_magic_number() {
        let dir = TempDir::new("idx-magic");
        write_set(&dir, 2, 2);
        // Labels where the images should be.
        let labels = std::fs::read(dir.path().join("train-labels-idx1-ubyte")).unwrap();
        let path = dir.path().join("train-images-idx3-ubyte");
        std::fs::write(&path, &labels).unwrap();
        let err = load_idx(dir.path()).unwrap_err();
        assert!(
            matches!(
                err,
                DataError::BadMagic {
                    expected: IMAGE_MAGIC,
                    found: LABEL_MAGIC,
                    kind: "image",
                    ..
                }
            ),
            "{err:?}"
        );
        let msg = err.to_string();
        assert!(
            msg.contains(&path.display().to_string())
                && msg.contains("0x00000803")
                && msg.contains("0x00000801"),
            "{msg}"
        );
        assert!(msg.contains("is this an IDX image file?"), "{msg}");
        // And images where the labels should be (gzipped, this time).
        write_set(&dir, 2, 2);
        let images = std::fs::read(dir.path().join("t10k-images-idx3-ubyte")).unwrap();
        std::fs::remove_file(dir.path().join("t10k-labels-idx1-ubyte")).unwrap();
        dir.write("t10k-labels-idx1-ubyte.gz", &gzip(&images));
        let err = load_idx(dir.path()).unwrap_err();
        assert!(
            matches!(
                err,
                DataError::BadMagic {
                    expected: LABEL_MAGIC,
                    found: IMAGE_MAGIC,
                    kind: "label",
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("t10k-labels-idx1-ubyte.gz"), "{err}");
    }

    #[test]
    fn count_mismatch_between_images_and_labels() {
        let dir = TempDir::new("idx-count");
        write_set(&dir, 3, 2);
        dir.write("train-labels-idx1-ubyte", &idx_labels(2, &[1, 2]));
        let err = load_idx(dir.path()).unwrap_err();
        assert!(
            matches!(err, DataError::CountMismatch { input_count: 3, target_count: 2, .. }),
            "{err:?}"
        );
        let msg = err.to_string();
        assert!(
            msg.contains("train-images-idx3-ubyte") && msg.contains("train-labels-idx1-ubyte"),
            "{msg}"
        );
    }

    #[test]
    fn label_out_of_range() {
        let dir = TempDir::new("idx-label");
        write_set(&dir, 3, 2);
        dir.write("t10k-labels-idx1-ubyte", &idx_labels(2, &[9, 10]));
        let err = load_idx(dir.path()).unwrap_err();
        assert!(
            matches!(err, DataError::LabelOutOfRange { index: 1, label: 10, num_classes: 10, .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains("t10k-labels-idx1-ubyte"), "{err}");
    }

    #[test]
    fn huge_dimensions_are_rejected_without_allocating() {
        let dir = TempDir::new("idx-huge");
        write_set(&dir, 2, 2);
        // 2^32-1 images of 65535 x 65535: about 1.8e19 bytes, which overflows u64 once 16 is added
        // or the product itself, and must be reported before anything is read.
        let mut header = idx_images(u32::MAX, u32::MAX, u32::MAX, &[]);
        header.extend_from_slice(&[1, 2, 3]);
        dir.write("train-images-idx3-ubyte", &header);
        let err = load_idx(dir.path()).unwrap_err();
        assert!(matches!(err, DataError::BadHeader { .. }), "{err:?}");
        // Large but not overflowing: a truncation error, again from the header alone (gzipped too).
        dir.write(
            "train-images-idx3-ubyte",
            &gzip(&idx_images(1 << 30, 1 << 10, 1 << 10, &[7; 100])),
        );
        let err = load_idx(dir.path()).unwrap_err();
        assert!(
            matches!(err, DataError::Truncated { expected, found: 116, .. } if expected == (1u64 << 50) + 16),
            "{err:?}"
        );
        // Zero-sized images.
        dir.write("train-images-idx3-ubyte", &idx_images(2, 0, 3, &[]));
        let err = load_idx(dir.path()).unwrap_err();
        assert!(matches!(err, DataError::BadHeader { .. }), "{err:?}");
    }

    #[test]
    fn an_empty_split_is_an_error() {
        let dir = TempDir::new("idx-empty");
        write_set(&dir, 0, 2);
        let err = load_idx(dir.path()).unwrap_err();
        assert!(matches!(err, DataError::Empty { .. }), "{err:?}");
    }

    #[test]
    fn corrupt_gzip_is_an_io_error_naming_the_file() {
        let dir = TempDir::new("idx-badgz");
        write_set(&dir, 2, 2);
        let path = dir.path().join("train-images-idx3-ubyte");
        let mut gz = gzip(&std::fs::read(&path).unwrap());
        let mid = gz.len() / 2;
        gz[mid] ^= 0xff;
        gz[mid + 1] ^= 0xff;
        std::fs::write(&path, &gz).unwrap();
        let err = load_idx(dir.path()).unwrap_err();
        assert!(err.to_string().contains(&path.display().to_string()), "{err}");
    }

    /// The byte at offset `skip` of the decompressed contents of the gzipped file at `path`.
    fn gz_byte(path: &str, skip: usize) -> u8 {
        let mut bytes = Vec::new();
        flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap())
            .read_to_end(&mut bytes)
            .unwrap();
        bytes[skip]
    }

    #[test]
    fn reads_the_real_mnist_digits() {
        let splits = load_idx(Path::new(MNIST)).unwrap();
        let (train, test) = (&splits.train, &splits.test);
        assert_eq!((train.len(), test.len()), (8_000, 2_000));
        assert_eq!(train.item_shape, vec![1, 28, 28]);
        assert_eq!(test.item_shape, vec![1, 28, 28]);
        assert_eq!(train.inputs.len(), 8_000 * 784);
        for ds in [train, test] {
            let (min, max) =
                ds.inputs.iter().fold((f32::MAX, f32::MIN), |(lo, hi), &x| (lo.min(x), hi.max(x)));
            assert_eq!((min, max), (0.0, 1.0));
            let Targets::Classes { labels, num_classes } = &ds.targets else {
                panic!("classes expected")
            };
            assert_eq!(*num_classes, 10);
            let mut seen = [0usize; 10];
            labels.iter().for_each(|&l| seen[l as usize] += 1);
            assert!(seen.iter().all(|&n| n > 0), "{seen:?}");
        }
        // Facts read from the files directly: the first training label is byte 8 of the label
        // file (after magic and count), which is 1; the first test label is 2; pixel (row 5,
        // column 14) of the first training image is byte 16 + 5 * 28 + 14 of the image file, 127.
        let first_train = gz_byte(&format!("{MNIST}/train-labels-idx1-ubyte.gz"), 8);
        let first_test = gz_byte(&format!("{MNIST}/t10k-labels-idx1-ubyte.gz"), 8);
        assert_eq!((first_train, first_test), (1, 2));
        let Targets::Classes { labels, .. } = &train.targets else { unreachable!() };
        assert_eq!(labels[0], u32::from(first_train));
        let Targets::Classes { labels, .. } = &test.targets else { unreachable!() };
        assert_eq!(labels[0], u32::from(first_test));
        let pixel = gz_byte(&format!("{MNIST}/train-images-idx3-ubyte.gz"), 16 + 5 * 28 + 14);
        assert_eq!(pixel, 127);
        assert_eq!(train.item(0)[5 * 28 + 14], 127.0 / 255.0);
        // The training label counts, from a pass over the label file with Python.
        let Targets::Classes { labels, .. } = &train.targets else { unreachable!() };
        let mut counts = [0usize; 10];
        labels.iter().for_each(|&l| counts[l as usize] += 1);
        assert_eq!(counts, [814, 927, 785, 844, 781, 678, 801, 847, 748, 775]);
    }
}
