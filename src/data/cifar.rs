//! The binary formats of CIFAR-10 and CIFAR-100: files of fixed-size records, each the label
//! byte(s) then 3,072 pixel bytes, a 32 x 32 red plane, then green, then blue (so an item is
//! already `[3, 32, 32]`, channels first).

use std::path::{Path, PathBuf};

use super::io::{require_dir, GZIP_MAGIC};
use super::{DataError, Dataset, Splits, Targets};

/// Pixel bytes of one CIFAR image: 3 channels of 32 x 32.
pub const CIFAR_PIXELS: usize = 3 * 32 * 32;

/// One of the two CIFAR binary formats.
struct Format {
    /// Its name in messages.
    name: &'static str,
    /// Label bytes before the pixels of each record.
    label_bytes: usize,
    /// Classes of the label used (for CIFAR-100, the fine label).
    num_classes: usize,
    /// The training files, in order.
    train: &'static [&'static str],
    /// The test file.
    test: &'static str,
    /// The directory the official archive extracts to, also looked for inside the given path.
    subdir: &'static str,
}

const CIFAR10: Format = Format {
    name: "CIFAR-10 binary",
    label_bytes: 1,
    num_classes: 10,
    train: &[
        "data_batch_1.bin",
        "data_batch_2.bin",
        "data_batch_3.bin",
        "data_batch_4.bin",
        "data_batch_5.bin",
    ],
    test: "test_batch.bin",
    subdir: "cifar-10-batches-bin",
};

const CIFAR100: Format = Format {
    name: "CIFAR-100 binary",
    label_bytes: 2,
    num_classes: 100,
    train: &["train.bin"],
    test: "test.bin",
    subdir: "cifar-100-binary",
};

/// Classes of CIFAR-100's coarse label (the first label byte), checked but not used.
const CIFAR100_COARSE: usize = 20;

/// Loads CIFAR-10 (binary version) from `dir`, or from `dir/cifar-10-batches-bin`:
/// `data_batch_1.bin` .. `data_batch_5.bin` are the train split, `test_batch.bin` the test split.
/// Items are `[3, 32, 32]`, pixels scaled to `[0, 1]`, labels `0..10`.
pub fn load_cifar10(dir: &Path) -> Result<Splits, DataError> {
    load(dir, &CIFAR10)
}

/// Loads CIFAR-100 (binary version) from `dir`, or from `dir/cifar-100-binary`: `train.bin` and
/// `test.bin`. Items are `[3, 32, 32]`, pixels scaled to `[0, 1]`; the target is the fine label
/// (100 classes).
pub fn load_cifar100(dir: &Path) -> Result<Splits, DataError> {
    load(dir, &CIFAR100)
}

fn load(dir: &Path, format: &Format) -> Result<Splits, DataError> {
    let hint = format!(
        "a {} data set is the directory holding {} and {} (or the directory `{}` inside it), extracted from the official archive",
        format.name,
        format.train.join(", "),
        format.test,
        format.subdir
    );
    require_dir(dir, &hint)?;
    let first = format.train[0];
    let tried = vec![dir.join(first), dir.join(format.subdir).join(first)];
    let Some(root) = tried.iter().position(|p| p.is_file()).map(|i| {
        if i == 0 {
            dir.to_path_buf()
        } else {
            dir.join(format.subdir)
        }
    }) else {
        return Err(DataError::Missing { path: tried[0].clone(), tried });
    };
    let mut train = Dataset {
        inputs: Vec::new(),
        item_shape: vec![3, 32, 32],
        targets: Targets::Classes { labels: Vec::new(), num_classes: format.num_classes },
    };
    for name in format.train {
        let (inputs, labels) = read_records(&existing(&root, name)?, format)?;
        train.inputs.extend_from_slice(&inputs);
        if let Targets::Classes { labels: all, .. } = &mut train.targets {
            all.extend_from_slice(&labels);
        }
    }
    let (inputs, labels) = read_records(&existing(&root, format.test)?, format)?;
    let test = Dataset {
        inputs,
        item_shape: vec![3, 32, 32],
        targets: Targets::Classes { labels, num_classes: format.num_classes },
    };
    Ok(Splits { train, test })
}

/// `root/name`, or a [`DataError::Missing`].
fn existing(root: &Path, name: &str) -> Result<PathBuf, DataError> {
    let path = root.join(name);
    if path.is_file() {
        Ok(path)
    } else {
        Err(DataError::Missing { tried: vec![path.clone()], path })
    }
}

/// Reads one file of records: the pixels of every image (scaled to `[0, 1]`) and its label.
fn read_records(path: &Path, format: &Format) -> Result<(Vec<f32>, Vec<u32>), DataError> {
    let record = format.label_bytes + CIFAR_PIXELS;
    // The whole file is read: its real length bounds the allocation.
    let bytes = std::fs::read(path).map_err(DataError::io(path))?;
    if bytes.starts_with(&GZIP_MAGIC) {
        return Err(DataError::BadHeader {
            path: path.to_path_buf(),
            reason: "it is gzip-compressed; extract it (gunzip, or tar xzf for the archive) first"
                .into(),
        });
    }
    if bytes.is_empty() {
        return Err(DataError::Empty { path: path.to_path_buf(), detail: String::new() });
    }
    if bytes.len() % record != 0 {
        return Err(DataError::BadRecordLength {
            path: path.to_path_buf(),
            len: bytes.len() as u64,
            record: record as u64,
            format: format.name,
        });
    }
    let count = bytes.len() / record;
    let mut inputs = Vec::with_capacity(count * CIFAR_PIXELS);
    let mut labels = Vec::with_capacity(count);
    for (index, rec) in bytes.chunks_exact(record).enumerate() {
        let (label_bytes, pixels) = rec.split_at(format.label_bytes);
        if format.label_bytes == 2 && usize::from(label_bytes[0]) >= CIFAR100_COARSE {
            return Err(DataError::LabelOutOfRange {
                path: path.to_path_buf(),
                index,
                label: i64::from(label_bytes[0]),
                num_classes: CIFAR100_COARSE,
            });
        }
        let label = label_bytes[format.label_bytes - 1];
        if usize::from(label) >= format.num_classes {
            return Err(DataError::LabelOutOfRange {
                path: path.to_path_buf(),
                index,
                label: i64::from(label),
                num_classes: format.num_classes,
            });
        }
        labels.push(u32::from(label));
        inputs.extend(pixels.iter().map(|&b| f32::from(b) / 255.0));
    }
    Ok((inputs, labels))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::testutil::{gzip, TempDir};

    /// A record: `labels` then pixels where channel c, row y, column x holds `(c + y + x + seed) % 256`.
    fn record(labels: &[u8], seed: usize) -> Vec<u8> {
        let mut rec = labels.to_vec();
        for c in 0..3 {
            for y in 0..32 {
                for x in 0..32 {
                    rec.push(((c + y + x + seed) % 256) as u8);
                }
            }
        }
        rec
    }

    fn write_cifar10(dir: &Path, per_file: usize) {
        std::fs::create_dir_all(dir).unwrap();
        for (f, name) in CIFAR10.train.iter().chain([&CIFAR10.test]).enumerate() {
            let bytes: Vec<u8> =
                (0..per_file).flat_map(|i| record(&[((f + i) % 10) as u8], f * 10 + i)).collect();
            std::fs::write(dir.join(name), bytes).unwrap();
        }
    }

    #[test]
    fn reads_cifar10_in_the_given_directory_or_the_archive_directory() {
        for nested in [false, true] {
            let tmp = TempDir::new("cifar10");
            let dir = if nested {
                tmp.path().join("cifar-10-batches-bin")
            } else {
                tmp.path().to_path_buf()
            };
            write_cifar10(&dir, 2);
            let splits = load_cifar10(tmp.path()).unwrap();
            assert_eq!((splits.train.len(), splits.test.len()), (10, 2));
            assert_eq!(splits.train.item_shape, vec![3, 32, 32]);
            // Train item 3 is record 1 of data_batch_2.bin: label (1 + 1) % 10, seed 11.
            let Targets::Classes { labels, num_classes } = &splits.train.targets else { panic!() };
            assert_eq!((labels[3], *num_classes), (2, 10));
            let item = splits.train.item(3);
            // Channel 2 (blue), row 4, column 5.
            assert_eq!(item[2 * 1024 + 4 * 32 + 5], (2 + 4 + 5 + 11) as f32 / 255.0);
            let Targets::Classes { labels, .. } = &splits.test.targets else { panic!() };
            assert_eq!(labels, &vec![5, 6]);
        }
    }

    #[test]
    fn reads_cifar100_fine_labels() {
        let tmp = TempDir::new("cifar100");
        let train: Vec<u8> =
            [record(&[3, 97], 0), record(&[19, 0], 1), record(&[0, 42], 2)].concat();
        tmp.write("train.bin", &train);
        tmp.write("test.bin", &record(&[1, 99], 3));
        let splits = load_cifar100(tmp.path()).unwrap();
        assert_eq!(
            splits.train.targets,
            Targets::Classes { labels: vec![97, 0, 42], num_classes: 100 }
        );
        assert_eq!(splits.test.targets, Targets::Classes { labels: vec![99], num_classes: 100 });
        assert_eq!(splits.test.item(0)[0], 3.0 / 255.0);
    }

    #[test]
    fn bad_record_length_names_the_file_and_the_record_size() {
        let tmp = TempDir::new("cifar-len");
        write_cifar10(tmp.path(), 2);
        let path = tmp.path().join("data_batch_4.bin");
        let mut bytes = std::fs::read(&path).unwrap();
        bytes.truncate(bytes.len() - 100);
        std::fs::write(&path, &bytes).unwrap();
        let err = load_cifar10(tmp.path()).unwrap_err();
        assert!(
            matches!(err, DataError::BadRecordLength { len: 6046, record: 3073, .. }),
            "{err:?}"
        );
        let msg = err.to_string();
        assert!(
            msg.contains(&path.display().to_string()) && msg.contains("3073-byte records"),
            "{msg}"
        );
        // CIFAR-10 records read as CIFAR-100 do not divide either.
        let err = load_cifar100(tmp.path()).unwrap_err();
        assert!(matches!(err, DataError::Missing { .. }), "{err:?}");
        tmp.write("train.bin", &record(&[1], 0));
        tmp.write("test.bin", &record(&[1], 0));
        let err = load_cifar100(tmp.path()).unwrap_err();
        assert!(matches!(err, DataError::BadRecordLength { record: 3074, .. }), "{err:?}");
    }

    #[test]
    fn missing_files() {
        let tmp = TempDir::new("cifar-missing");
        let err = load_cifar10(tmp.path()).unwrap_err();
        match &err {
            DataError::Missing { tried, .. } => {
                assert_eq!(
                    tried,
                    &vec![
                        tmp.path().join("data_batch_1.bin"),
                        tmp.path().join("cifar-10-batches-bin/data_batch_1.bin")
                    ]
                )
            }
            other => panic!("{other:?}"),
        }
        write_cifar10(tmp.path(), 1);
        std::fs::remove_file(tmp.path().join("test_batch.bin")).unwrap();
        let err = load_cifar10(tmp.path()).unwrap_err();
        assert!(
            err.to_string().contains(&tmp.path().join("test_batch.bin").display().to_string()),
            "{err}"
        );
        let err = load_cifar10(&tmp.path().join("nope")).unwrap_err();
        assert!(matches!(err, DataError::NotADirectory { .. }), "{err:?}");
    }

    #[test]
    fn labels_out_of_range_empty_and_gzipped_files() {
        let tmp = TempDir::new("cifar-bad");
        write_cifar10(tmp.path(), 1);
        tmp.write("data_batch_2.bin", &[record(&[3], 0), record(&[10], 0)].concat());
        let err = load_cifar10(tmp.path()).unwrap_err();
        assert!(
            matches!(err, DataError::LabelOutOfRange { index: 1, label: 10, num_classes: 10, .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains("data_batch_2.bin"), "{err}");
        tmp.write("data_batch_2.bin", &[]);
        assert!(matches!(load_cifar10(tmp.path()).unwrap_err(), DataError::Empty { .. }));
        tmp.write("data_batch_2.bin", &gzip(&record(&[3], 0)));
        let err = load_cifar10(tmp.path()).unwrap_err();
        assert!(
            matches!(err, DataError::BadHeader { .. }) && err.to_string().contains("gzip"),
            "{err:?}"
        );
        // CIFAR-100: a coarse label of 20 is out of range.
        tmp.write("train.bin", &record(&[20, 5], 0));
        tmp.write("test.bin", &record(&[1, 5], 0));
        let err = load_cifar100(tmp.path()).unwrap_err();
        assert!(
            matches!(err, DataError::LabelOutOfRange { label: 20, num_classes: 20, .. }),
            "{err:?}"
        );
    }
}
