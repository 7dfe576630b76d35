//! Preprocessing: seeded shuffles and splits, per-channel normalisation, and the usual CIFAR
//! augmentation (random crop with zero padding, horizontal flip). Pure functions; every random
//! choice comes from a [`ChaCha8Rng`] seeded by the caller, drawn in a fixed order, so results
//! are the same on every machine and every run.

use rand::RngCore;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::Dataset;

/// A uniform integer in `0..n` (`n >= 1`) from one 64-bit draw (multiply-shift; the bias is
/// below 2^-40 for any `n` that indexes memory). Written out, rather than taken from `rand`,
/// so that the stream of choices does not change with `rand`'s version.
pub fn below(rng: &mut (impl RngCore + ?Sized), n: usize) -> usize {
    ((u128::from(rng.next_u64()) * n as u128) >> 64) as usize
}

/// The indices `0..n` in a random order: a Fisher-Yates shuffle driven by
/// `ChaCha8Rng::seed_from_u64(seed)`.
pub fn permutation(n: usize, seed: u64) -> Vec<usize> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        let j = below(&mut rng, i + 1);
        order.swap(i, j);
    }
    order
}

/// Splits `ds` into (train, validation) after a seeded shuffle ([`permutation`]): the
/// validation part is the last `round(len * val_fraction)` items of the shuffled order, the
/// train part the others, both in shuffled order. When `len >= 2` and `0 < val_fraction < 1`,
/// each part gets at least one item. `val_fraction` is clamped to `[0, 1]` (NaN counts as 0).
/// The same `ds`, fraction and seed always give the same split.
pub fn split(ds: &Dataset, val_fraction: f64, seed: u64) -> (Dataset, Dataset) {
    let n = ds.len();
    let fraction = if val_fraction.is_nan() { 0.0 } else { val_fraction.clamp(0.0, 1.0) };
    let mut n_val = ((n as f64) * fraction).round() as usize;
    if n >= 2 && fraction > 0.0 && fraction < 1.0 {
        n_val = n_val.clamp(1, n - 1);
    }
    let n_val = n_val.min(n);
    let order = permutation(n, seed);
    let (train, val) = order.split_at(n - n_val);
    (ds.subset(train), ds.subset(val))
}

/// Per-channel normalisation: `x -> (x - mean[c]) / std[c]` for every value `x` of channel `c`.
/// Image items `[channels, height, width]` have one entry per channel; any other item shape
/// (flat `[features]`) has a single channel covering every value.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Normalization {
    /// The mean of each channel.
    pub mean: Vec<f32>,
    /// The standard deviation of each channel (population; 1 for a constant channel).
    pub std: Vec<f32>,
}

impl Normalization {
    /// The channels of items of shape `item_shape`: the first dimension of a rank-3 (image)
    /// shape, else 1.
    pub fn channels_of(item_shape: &[usize]) -> usize {
        match item_shape {
            [c, _, _] => *c,
            _ => 1,
        }
    }

    /// The mean and standard deviation of each channel over every item of `ds` (accumulated in
    /// `f64`). A channel whose deviation is below 1e-12 (constant) gets a standard deviation
    /// of 1, so that applying the normalisation never divides by zero. An empty data set gives
    /// mean 0 and deviation 1.
    pub fn fit(ds: &Dataset) -> Normalization {
        let channels = Self::channels_of(&ds.item_shape).max(1);
        let plane = ds.item_size() / channels;
        let mut sum = vec![0f64; channels];
        let mut sum_sq = vec![0f64; channels];
        if plane > 0 {
            for item in ds.inputs.chunks_exact(channels * plane) {
                for (c, values) in item.chunks_exact(plane).enumerate() {
                    for &x in values {
                        sum[c] += f64::from(x);
                        sum_sq[c] += f64::from(x) * f64::from(x);
                    }
                }
            }
        }
        let count = (ds.len() * plane) as f64;
        if count == 0.0 {
            return Normalization { mean: vec![0.0; channels], std: vec![1.0; channels] };
        }
        let (mut mean, mut std) = (Vec::with_capacity(channels), Vec::with_capacity(channels));
        for (s, s2) in sum.iter().zip(&sum_sq) {
            let m = s / count;
            let sd = (s2 / count - m * m).max(0.0).sqrt();
            mean.push(m as f32);
            std.push(if sd < 1e-12 { 1.0 } else { sd as f32 });
        }
        Normalization { mean, std }
    }

    /// Normalises one item in place; its values are split into `self.mean.len()` equal
    /// channel planes.
    ///
    /// # Panics
    ///
    /// If the item's length is not a multiple of the channel count (an item of another data
    /// set than the one fitted).
    pub fn apply_item(&self, item: &mut [f32]) {
        let channels = self.mean.len().max(1);
        assert!(
            item.len().is_multiple_of(channels),
            "an item of {} values cannot be normalised as {channels} channels",
            item.len()
        );
        let plane = item.len() / channels;
        if plane == 0 {
            return;
        }
        for (c, values) in item.chunks_exact_mut(plane).enumerate() {
            let (m, s) = (self.mean[c], self.std[c]);
            values.iter_mut().for_each(|x| *x = (*x - m) / s);
        }
    }

    /// Normalises every item of `ds` in place.
    ///
    /// # Panics
    ///
    /// If `ds` has a different channel count than this normalisation.
    pub fn apply(&self, ds: &mut Dataset) {
        assert_eq!(
            Self::channels_of(&ds.item_shape),
            self.mean.len(),
            "normalisation of {} channels applied to items of shape {:?}",
            self.mean.len(),
            ds.item_shape
        );
        let size = ds.item_size();
        if size == 0 {
            return;
        }
        for item in ds.inputs.chunks_exact_mut(size) {
            self.apply_item(item);
        }
    }
}

/// The usual CIFAR augmentation of one image `item` of shape `[channels, height, width]`:
/// zero-pad each side by `padding`, take a random `height x width` crop of the padded image
/// (offsets uniform in `0..=2 * padding`, drawn row offset first), and, when `flip`, mirror it
/// left-right with probability 1/2 (one more draw). Returns the new item, same shape.
///
/// # Panics
///
/// If `item.len()` is not `channels * height * width`.
pub fn random_crop_flip(
    item: &[f32],
    shape: [usize; 3],
    padding: usize,
    flip: bool,
    rng: &mut (impl RngCore + ?Sized),
) -> Vec<f32> {
    let [channels, height, width] = shape;
    assert_eq!(
        item.len(),
        channels * height * width,
        "item of {} values is not of shape {shape:?}",
        item.len()
    );
    let dy = below(rng, 2 * padding + 1);
    let dx = below(rng, 2 * padding + 1);
    let mirrored = flip && rng.next_u64() >> 63 == 1;
    let mut out = vec![0f32; item.len()];
    for c in 0..channels {
        for y in 0..height {
            // Row y of the crop is row y + dy - padding of the image (zero outside it).
            let Some(src_y) = (y + dy).checked_sub(padding).filter(|&r| r < height) else {
                continue;
            };
            for x in 0..width {
                let Some(src_x) = (x + dx).checked_sub(padding).filter(|&col| col < width) else {
                    continue;
                };
                let dst_x = if mirrored { width - 1 - x } else { x };
                out[(c * height + y) * width + dst_x] = item[(c * height + src_y) * width + src_x];
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Targets;
    use std::collections::HashSet;

    /// `n` items of `[2, 1, 2]` (2 channels), item i = [i, 10 + i, 100 + 2i, 3i], label i % 3.
    fn images(n: usize) -> Dataset {
        let inputs = (0..n)
            .flat_map(|i| [i as f32, 10.0 + i as f32, 100.0 + 2.0 * i as f32, 3.0 * i as f32])
            .collect();
        Dataset {
            inputs,
            item_shape: vec![2, 1, 2],
            targets: Targets::Classes {
                labels: (0..n as u32).map(|i| i % 3).collect(),
                num_classes: 3,
            },
        }
    }

    fn ids(ds: &Dataset) -> Vec<usize> {
        (0..ds.len()).map(|k| ds.item(k)[0] as usize).collect()
    }

    #[test]
    fn permutation_is_a_seeded_permutation() {
        let p = permutation(100, 7);
        let mut sorted = p.clone();
        sorted.sort();
        assert_eq!(sorted, (0..100).collect::<Vec<_>>());
        assert_eq!(p, permutation(100, 7));
        assert_ne!(p, permutation(100, 8));
        assert_ne!(p, (0..100).collect::<Vec<_>>());
        assert!(permutation(0, 1).is_empty());
        assert_eq!(permutation(1, 1), vec![0]);
    }

    #[test]
    fn split_is_deterministic_disjoint_and_sized() {
        let ds = images(50);
        let (train, val) = split(&ds, 0.2, 42);
        assert_eq!((train.len(), val.len()), (40, 10));
        let (train2, val2) = split(&ds, 0.2, 42);
        assert_eq!((train2.inputs, val2.inputs), (train.inputs.clone(), val.inputs.clone()));
        assert_eq!(train2.targets, train.targets);
        let (_, val3) = split(&ds, 0.2, 43);
        assert_ne!(ids(&val3), ids(&val));
        let (t, v): (HashSet<_>, HashSet<_>) =
            (ids(&train).into_iter().collect(), ids(&val).into_iter().collect());
        assert!(t.is_disjoint(&v));
        assert_eq!(t.len() + v.len(), 50);
        // Labels travel with their items.
        for part in [&train, &val] {
            let Targets::Classes { labels, num_classes } = &part.targets else { panic!() };
            assert_eq!(*num_classes, 3);
            for (k, &l) in labels.iter().enumerate() {
                assert_eq!(l as usize, ids(part)[k] % 3);
                assert_eq!(part.item(k)[2], 100.0 + 2.0 * ids(part)[k] as f32);
            }
        }
        // Edge cases: tiny sets keep both sides non-empty; 0 and 1 keep everything on one side.
        assert_eq!(split(&images(2), 0.01, 0).1.len(), 1);
        assert_eq!(split(&images(2), 0.99, 0).0.len(), 1);
        assert_eq!(split(&images(5), 0.0, 0).1.len(), 0);
        assert_eq!(split(&images(5), 1.0, 0).0.len(), 0);
        assert_eq!(split(&images(5), f64::NAN, 0).1.len(), 0);
        assert_eq!(split(&images(5), 7.0, 0).1.len(), 5);
    }

    #[test]
    fn normalisation_gives_zero_mean_unit_std_per_channel() {
        let mut ds = images(20);
        let norm = Normalization::fit(&ds);
        assert_eq!(norm.mean.len(), 2);
        // Channel 0 holds i and 10 + i for i in 0..20: mean 14.5.
        assert!((norm.mean[0] - 14.5).abs() < 1e-5, "{norm:?}");
        norm.apply(&mut ds);
        let after = Normalization::fit(&ds);
        for c in 0..2 {
            assert!(after.mean[c].abs() < 1e-5, "{after:?}");
            assert!((after.std[c] - 1.0).abs() < 1e-5, "{after:?}");
        }
        // Flat items: one channel over every feature; a constant set gets std 1.
        let flat = Dataset {
            inputs: vec![2.0, 4.0, 6.0, 8.0],
            item_shape: vec![2],
            targets: Targets::Values { values: vec![0.0, 0.0], dims: 1 },
        };
        let norm = Normalization::fit(&flat);
        assert_eq!(norm.mean, vec![5.0]);
        assert!((norm.std[0] - 5f32.sqrt()).abs() < 1e-6);
        let constant = Dataset {
            inputs: vec![3.0; 4],
            item_shape: vec![2],
            targets: Targets::Values { values: vec![0.0, 0.0], dims: 1 },
        };
        let norm = Normalization::fit(&constant);
        assert_eq!((norm.mean.clone(), norm.std.clone()), (vec![3.0], vec![1.0]));
        let mut item = [3.0, 5.0];
        norm.apply_item(&mut item);
        assert_eq!(item, [0.0, 2.0]);
    }

    #[test]
    fn crop_and_flip_of_a_two_by_two_image() {
        // A 1 x 2 x 2 image [[1, 2], [3, 4]], padding 1: the padded image is 4 x 4 with the
        // image in the middle; each of the 9 offsets (dy, dx) in 0..=2 gives a crop. Listed by
        // hand: crop[y][x] = image[y + dy - 1][x + dx - 1], or 0 outside.
        let item = [1.0, 2.0, 3.0, 4.0];
        let by_offset = |dy: usize, dx: usize| -> Vec<f32> {
            match (dy, dx) {
                (0, 0) => vec![0.0, 0.0, 0.0, 1.0],
                (0, 1) => vec![0.0, 0.0, 1.0, 2.0],
                (0, 2) => vec![0.0, 0.0, 2.0, 0.0],
                (1, 0) => vec![0.0, 1.0, 0.0, 3.0],
                (1, 1) => vec![1.0, 2.0, 3.0, 4.0],
                (1, 2) => vec![2.0, 0.0, 4.0, 0.0],
                (2, 0) => vec![0.0, 3.0, 0.0, 0.0],
                (2, 1) => vec![3.0, 4.0, 0.0, 0.0],
                (2, 2) => vec![4.0, 0.0, 0.0, 0.0],
                _ => unreachable!(),
            }
        };
        let expected: HashSet<Vec<u32>> = (0..3)
            .flat_map(|dy| (0..3).map(move |dx| (dy, dx)))
            .map(|(dy, dx)| by_offset(dy, dx).iter().map(|x| x.to_bits()).collect())
            .collect();
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut seen = HashSet::new();
        for _ in 0..400 {
            let out = random_crop_flip(&item, [1, 2, 2], 1, false, &mut rng);
            let bits: Vec<u32> = out.iter().map(|x| x.to_bits()).collect();
            assert!(expected.contains(&bits), "{out:?} is not a crop");
            seen.insert(bits);
        }
        assert_eq!(seen, expected, "every crop shows up in 400 draws");
        // With flip on, each output is a crop or a crop with its rows reversed; both happen.
        let mirrored: HashSet<Vec<u32>> =
            expected.iter().map(|c| vec![c[1], c[0], c[3], c[2]]).collect();
        let (mut plain, mut flipped) = (0, 0);
        for _ in 0..400 {
            let bits: Vec<u32> = random_crop_flip(&item, [1, 2, 2], 1, true, &mut rng)
                .iter()
                .map(|x| x.to_bits())
                .collect();
            let (is_plain, is_flipped) = (expected.contains(&bits), mirrored.contains(&bits));
            assert!(is_plain || is_flipped);
            plain += usize::from(is_plain && !is_flipped);
            flipped += usize::from(is_flipped && !is_plain);
        }
        assert!(plain > 100 && flipped > 100, "{plain} plain, {flipped} flipped");
        // Padding 0 without a flip is the identity; padding 0 with a flip reverses each row of
        // each channel.
        let two_channels = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0];
        assert_eq!(
            random_crop_flip(&two_channels, [2, 2, 3], 0, false, &mut rng),
            two_channels.to_vec()
        );
        let mut outs = HashSet::new();
        for _ in 0..50 {
            let out = random_crop_flip(&two_channels, [2, 2, 3], 0, true, &mut rng);
            outs.insert(out.iter().map(|x| x.to_bits()).collect::<Vec<_>>());
        }
        let rev: Vec<u32> = [3.0f32, 2.0, 1.0, 6.0, 5.0, 4.0, 9.0, 8.0, 7.0, 12.0, 11.0, 10.0]
            .iter()
            .map(|x| x.to_bits())
            .collect();
        assert_eq!(outs, HashSet::from([two_channels.iter().map(|x| x.to_bits()).collect(), rev]));
        // Seeded: the same seed gives the same sequence.
        let run = |seed| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            (0..20)
                .map(|_| random_crop_flip(&item, [1, 2, 2], 1, true, &mut rng))
                .collect::<Vec<_>>()
        };
        assert_eq!(run(9), run(9));
        assert_ne!(run(9), run(10));
    }
}
