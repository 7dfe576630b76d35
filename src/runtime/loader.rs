//! burn's dataset and data-loader API over [`crate::data`]: a [`crate::data::Dataset`] becomes
//! a burn [`BurnDataset`] of [`Sample`]s, and a [`DataBatcher`] turns lists of samples into
//! [`Batch`]es of tensors on a device, augmenting images when asked to.

use std::sync::{Arc, Mutex, PoisonError};

use burn::data::dataloader::batcher::Batcher;
use burn::data::dataloader::{DataLoader, DataLoaderBuilder};
use burn::data::dataset::{Dataset as BurnDataset, DatasetError};
use burn::tensor::{Device, Int, Tensor, TensorData};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::data::{random_crop_flip, Dataset, Targets};

/// One item of a data set: its input values and its target.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    /// The input values, row-major in the data set's item shape.
    pub input: Vec<f32>,
    /// The target.
    pub target: SampleTarget,
}

/// The target of one [`Sample`].
#[derive(Clone, Debug, PartialEq)]
pub enum SampleTarget {
    /// A class label.
    Class(u32),
    /// Regression values (`dims` of the data set).
    Values(Vec<f32>),
}

/// A [`crate::data::Dataset`] as a burn dataset of [`Sample`]s (shared, not copied).
#[derive(Clone, Debug)]
pub struct SampleDataset(pub Arc<Dataset>);

impl BurnDataset<Sample> for SampleDataset {
    /// The item `index`.
    ///
    /// # Panics
    ///
    /// If `index >= len()`, as burn's `Dataset` contract allows.
    fn get(&self, index: usize) -> Result<Sample, DatasetError> {
        let ds = &self.0;
        let target = match &ds.targets {
            Targets::Classes { labels, .. } => SampleTarget::Class(labels[index]),
            Targets::Values { values, dims } => {
                SampleTarget::Values(values[index * dims..(index + 1) * dims].to_vec())
            }
        };
        Ok(Sample { input: ds.item(index).to_vec(), target })
    }

    fn len(&self) -> usize {
        self.0.len()
    }
}

/// The inputs of a batch.
#[derive(Clone, Debug)]
pub enum Inputs {
    /// Images: `[batch, channels, height, width]`.
    Image(Tensor<4>),
    /// Flat inputs: `[batch, features]`.
    Flat(Tensor<2>),
}

/// The targets of a batch.
#[derive(Clone, Debug)]
pub enum BatchTargets {
    /// Class labels: `[batch]`, integers.
    Classes(Tensor<1, Int>),
    /// Regression values: `[batch, dims]`.
    Values(Tensor<2>),
}

/// A batch of items as tensors on one device.
#[derive(Clone, Debug)]
pub struct Batch {
    /// The inputs.
    pub inputs: Inputs,
    /// The targets, one per input.
    pub targets: BatchTargets,
}

impl Batch {
    /// The number of items in the batch.
    pub fn len(&self) -> usize {
        match &self.inputs {
            Inputs::Image(t) => t.dims()[0],
            Inputs::Flat(t) => t.dims()[0],
        }
    }

    /// Whether the batch holds no items.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The CIFAR augmentation ([`random_crop_flip`]) applied to each image as it is batched.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Augment {
    /// Zero padding on each side before the random crop (4 for CIFAR; 0 for no crop).
    pub padding: usize,
    /// Whether to mirror images left-right with probability 1/2.
    pub flip: bool,
    /// The seed of the augmentation's random choices.
    pub seed: u64,
}

/// Builds [`Batch`]es from [`Sample`]s of one data set.
///
/// Items of shape `[channels, height, width]` become [`Inputs::Image`], any other shape
/// [`Inputs::Flat`] with `prod(shape)` features. With [`Augment`], every image is cropped and
/// flipped with one `ChaCha8Rng` (behind a `Mutex`) seeded by [`Augment::seed`], in the order
/// items are batched: deterministic when batches are built one at a time (0 workers, as
/// [`data_loader`] does). Augmentation is ignored for items that are not images.
#[derive(Debug)]
pub struct DataBatcher {
    item_shape: Vec<usize>,
    /// `None` for classification, `Some(dims)` for regression.
    value_dims: Option<usize>,
    augment: Option<(Augment, Mutex<ChaCha8Rng>)>,
}

impl DataBatcher {
    /// A batcher for items of `ds`, augmenting images when `augment` is given.
    pub fn new(ds: &Dataset, augment: Option<Augment>) -> DataBatcher {
        let value_dims = match &ds.targets {
            Targets::Classes { .. } => None,
            Targets::Values { dims, .. } => Some(*dims),
        };
        let augment = augment.map(|a| (a, Mutex::new(ChaCha8Rng::seed_from_u64(a.seed))));
        DataBatcher { item_shape: ds.item_shape.clone(), value_dims, augment }
    }

    fn image_shape(&self) -> Option<[usize; 3]> {
        match self.item_shape.as_slice() {
            [c, h, w] => Some([*c, *h, *w]),
            _ => None,
        }
    }
}

impl Batcher<Sample, Batch> for DataBatcher {
    fn batch(&self, items: Vec<Sample>, device: &Device) -> Batch {
        let n = items.len();
        let size: usize = self.item_shape.iter().product();
        let mut inputs = Vec::with_capacity(n * size);
        let mut labels = Vec::with_capacity(n);
        let mut values = Vec::with_capacity(n * self.value_dims.unwrap_or(0));
        let image = self.image_shape();
        let mut rng = self
            .augment
            .as_ref()
            .filter(|_| image.is_some())
            .map(|(a, rng)| (a, rng.lock().unwrap_or_else(PoisonError::into_inner)));
        for sample in items {
            match (&mut rng, image) {
                (Some((a, rng)), Some(shape)) => inputs.extend(random_crop_flip(
                    &sample.input,
                    shape,
                    a.padding,
                    a.flip,
                    &mut **rng,
                )),
                _ => inputs.extend_from_slice(&sample.input),
            }
            match sample.target {
                SampleTarget::Class(c) => labels.push(i64::from(c)),
                SampleTarget::Values(v) => values.extend(v),
            }
        }
        drop(rng);
        let inputs = match image {
            Some([c, h, w]) => {
                Inputs::Image(Tensor::from_data(TensorData::new(inputs, [n, c, h, w]), device))
            }
            None => Inputs::Flat(Tensor::from_data(TensorData::new(inputs, [n, size]), device)),
        };
        let targets = match self.value_dims {
            None => BatchTargets::Classes(Tensor::from_data(TensorData::new(labels, [n]), device)),
            Some(dims) => {
                BatchTargets::Values(Tensor::from_data(TensorData::new(values, [n, dims]), device))
            }
        };
        Batch { inputs, targets }
    }
}

/// A burn data loader over `ds`: batches of `batch_size` items (at least 1; the last batch may
/// be smaller), in order, or reshuffled on every pass (every `iter()`) from `shuffle_seed`,
/// augmented when `augment` is given, built on `device` in the calling thread (0 workers), so
/// that the same seeds give the same batches on every run.
pub fn data_loader(
    ds: Arc<Dataset>,
    batch_size: usize,
    shuffle_seed: Option<u64>,
    augment: Option<Augment>,
    device: &Device,
) -> Arc<dyn DataLoader<Batch>> {
    let batcher = DataBatcher::new(&ds, augment);
    let mut builder = DataLoaderBuilder::new(batcher)
        .batch_size(batch_size.max(1))
        .num_workers(0)
        .set_device(device.clone());
    if let Some(seed) = shuffle_seed {
        builder = builder.shuffle(seed);
    }
    builder.build(SampleDataset(ds))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 5 images `[1, 2, 2]`; item i holds `[i, i + 0.1, i + 0.2, i + 0.3]`, label `i % 3`.
    fn images() -> Arc<Dataset> {
        let inputs = (0..5).flat_map(|i| [0.0, 0.1, 0.2, 0.3].map(|d| i as f32 + d)).collect();
        Arc::new(Dataset {
            inputs,
            item_shape: vec![1, 2, 2],
            targets: Targets::Classes { labels: vec![0, 1, 2, 0, 1], num_classes: 3 },
        })
    }

    fn floats<const D: usize>(t: &Tensor<D>) -> Vec<f32> {
        t.to_data().try_into_vec_as::<f32>().unwrap()
    }

    fn image_batch(b: &Batch) -> (Vec<usize>, Vec<f32>, Vec<i64>) {
        let Inputs::Image(x) = &b.inputs else { panic!("image inputs expected") };
        let BatchTargets::Classes(y) = &b.targets else { panic!("classes expected") };
        assert_eq!(y.dims(), [x.dims()[0]]);
        (x.dims().to_vec(), floats(x), y.to_data().try_into_vec_as::<i64>().unwrap())
    }

    fn all_batches(loader: &Arc<dyn DataLoader<Batch>>) -> Vec<Batch> {
        loader.iter().map(|b| b.unwrap()).collect()
    }

    #[test]
    fn batches_images_in_order_with_a_partial_last_batch() {
        let loader = data_loader(images(), 2, None, None, &Device::flex());
        assert_eq!(loader.num_items(), 5);
        let batches = all_batches(&loader);
        assert_eq!(batches.len(), 3);
        let (shape, x, y) = image_batch(&batches[0]);
        assert_eq!(shape, vec![2, 1, 2, 2]);
        assert_eq!(x, vec![0.0, 0.1, 0.2, 0.3, 1.0, 1.1, 1.2, 1.3]);
        assert_eq!(y, vec![0, 1]);
        let (shape, x, y) = image_batch(&batches[2]);
        assert_eq!(shape, vec![1, 1, 2, 2]);
        assert_eq!(x, vec![4.0, 4.1, 4.2, 4.3]);
        assert_eq!(y, vec![1]);
        assert_eq!(batches.iter().map(Batch::len).collect::<Vec<_>>(), vec![2, 2, 1]);
    }

    #[test]
    fn flat_inputs_and_regression_targets() {
        let ds = Arc::new(Dataset {
            inputs: (0..6).map(|x| x as f32).collect(),
            item_shape: vec![2],
            targets: Targets::Values { values: vec![0.5, -0.5, 1.5, -1.5, 2.5, -2.5], dims: 2 },
        });
        let batches = all_batches(&data_loader(ds, 2, None, None, &Device::flex()));
        assert_eq!(batches.len(), 2);
        let (Inputs::Flat(x), BatchTargets::Values(y)) = (&batches[0].inputs, &batches[0].targets)
        else {
            panic!("{:?}", batches[0])
        };
        assert_eq!((x.dims(), y.dims()), ([2, 2], [2, 2]));
        assert_eq!(floats(x), vec![0.0, 1.0, 2.0, 3.0]);
        assert_eq!(floats(y), vec![0.5, -0.5, 1.5, -1.5]);
        let (Inputs::Flat(x), BatchTargets::Values(y)) = (&batches[1].inputs, &batches[1].targets)
        else {
            panic!("{:?}", batches[1])
        };
        assert_eq!((x.dims(), y.dims()), ([1, 2], [1, 2]));
        assert_eq!((floats(x), floats(y)), (vec![4.0, 5.0], vec![2.5, -2.5]));
    }

    /// The item ids (first value of each image, its integer part) of one pass, batch by batch.
    fn pass(loader: &Arc<dyn DataLoader<Batch>>) -> Vec<Vec<i64>> {
        all_batches(loader)
            .iter()
            .map(|b| {
                let (_, x, y) = image_batch(b);
                let ids: Vec<i64> = x.chunks(4).map(|item| item[0].floor() as i64).collect();
                // Labels travel with their items.
                assert_eq!(
                    y,
                    ids.iter().map(|i| [0, 1, 2, 0, 1][*i as usize]).collect::<Vec<i64>>()
                );
                ids
            })
            .collect()
    }

    #[test]
    fn shuffling_is_deterministic_for_a_seed() {
        let device = Device::flex();
        let a = data_loader(images(), 2, Some(7), None, &device);
        let b = data_loader(images(), 2, Some(7), None, &device);
        let (a1, a2) = (pass(&a), pass(&a));
        assert_eq!(
            (pass(&b), pass(&b)),
            (a1.clone(), a2.clone()),
            "same seed, same order, pass after pass"
        );
        for p in [&a1, &a2] {
            let mut ids: Vec<i64> = p.concat();
            ids.sort();
            assert_eq!(ids, vec![0, 1, 2, 3, 4]);
            assert_eq!(p.iter().map(Vec::len).collect::<Vec<_>>(), vec![2, 2, 1]);
        }
        // Some seed among a few gives another order (5! = 120 orders).
        let other: Vec<_> =
            (8..12).map(|s| pass(&data_loader(images(), 2, Some(s), None, &device))).collect();
        assert!(other.iter().any(|o| *o != a1), "{other:?}");
    }

    #[test]
    fn augmentation_is_seeded_and_changes_images() {
        let device = Device::flex();
        let aug = Augment { padding: 1, flip: true, seed: 5 };
        let run = |seed| {
            let loader = data_loader(images(), 5, None, Some(Augment { seed, ..aug }), &device);
            (0..3).map(|_| image_batch(&all_batches(&loader)[0]).1).collect::<Vec<_>>()
        };
        let first = run(5);
        assert_eq!(first, run(5));
        assert_ne!(first, run(6));
        // Each augmented item is a crop/flip of its own image, so the values are 0 or from it.
        let plain = image_batch(&all_batches(&data_loader(images(), 5, None, None, &device))[0]).1;
        for out in &first {
            assert_ne!(out, &plain);
            for (k, item) in out.chunks(4).enumerate() {
                assert!(
                    item.iter().all(|v| *v == 0.0 || plain[k * 4..k * 4 + 4].contains(v)),
                    "{item:?}"
                );
            }
        }
        // Successive passes draw new crops.
        assert!(first.windows(2).any(|w| w[0] != w[1]));
    }
}
