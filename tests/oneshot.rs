//! One-shot search: lowering, the supernet, and the five strategies on real MNIST digits (a
//! few hundred of them, a few steps: the tests check directions, not final accuracies).

mod common;

use burn::module::Module;
use common::{graph_of, network, temp_dir};
use nasc::arch::{Architecture, Choice};
use nasc::data::{self, DataSpec, Splits};
use nasc::experiment::Store;
use nasc::launch::OneShotStored;
use nasc::lower::{lower, LowerProblem, OneShotKind};
use nasc::oneshot::mixing::{softmax_mixing, ArchParams, LabelShape};
use nasc::oneshot::{
    run, AlphaOptimizer, DartsSettings, EnasSettings, GumbelDartsSettings, OneShotConfig,
    ProxylessSettings, QuietOneShot, SposSettings, StrategySettings,
};
use nasc::runtime::supernet::{Mixing, Supernet};
use nasc::runtime::train::{prepare, Prepared};
use nasc::runtime::{Device, DeviceKind, Value};
use rand::SeedableRng;

/// A convolution against DARTS' `none`: with `none` the logits are constant, so the
/// convolution is clearly better.
const CONV_OR_ZERO: &str = "network ConvOrZero(x: Tensor[n, 1, 28, 28]) -> Tensor[n, 10] {
    let h = conv_bn_relu(x, out: 8, kernel: 3, stride: 2)
    let h = choice op {
        conv: conv_bn_relu(h, out: 8, kernel: 3, stride: 2),
        none: zero(h, stride: 2),
    }
    return linear(flatten(h), out: 10)
}";

/// Value choices on channels and kernel size, a layer choice, an input choice and a repeat.
const MIXED: &str = "network Mixed(x: Tensor[n, 1, 28, 28]) -> Tensor[n, 10] {
    let w = choice width [4, 8]
    let h = conv_bn_relu(x, out: w, kernel: choice k [3, 5], stride: 2)
    let h = choice op {
        conv: conv_bn_relu(h, out: w, kernel: 3),
        pool: max_pool(h, kernel: 3, stride: 1, padding: 1),
        skip: h,
    }
    let paths = [conv_bn_relu(h, out: w, kernel: 1), avg_pool(h, kernel: 3, stride: 1, padding: 1), h]
    let h = pick fuse 2 of paths reduce sum
    let h = repeat depth [1, 2] from h { conv_bn_relu(h, out: w, kernel: 3) }
    return linear(global_avg_pool(h), out: 10)
}";

/// The digits the tests train on.
const MNIST: &str = "mnist:examples/data/mnist";

/// 640 training digits (half for the weights, half for the architecture), 200 test digits.
fn digits() -> Prepared {
    let all = data::load(&MNIST.parse::<DataSpec>().expect("a data spec"))
        .expect("the MNIST digits load");
    let idx: Vec<usize> = (0..640).collect();
    let test: Vec<usize> = (0..200).collect();
    let splits = Splits { train: all.train.subset(&idx), test: all.test.subset(&test) };
    prepare(&splits, 0.5, 0).expect("prepares")
}

fn config(kind: OneShotKind, steps: usize, epochs: usize) -> OneShotConfig {
    let mut cfg = OneShotConfig::new(kind);
    cfg.common.epochs = epochs;
    cfg.common.batch_size = 32;
    cfg.common.max_steps = Some(steps);
    cfg.common.eval_batches = Some(2);
    cfg.common.lr = 0.1;
    cfg.common.score_batches = 2;
    cfg.common.calibration_batches = 2;
    cfg
}

/// The probability of `candidate` of `label` after the last epoch, from the store.
fn last_probability(store: &Store, label: &str, candidate: &str) -> f64 {
    let p = store.probabilities().expect("reads");
    let last = p.iter().map(|r| r.0).max().expect("an epoch");
    p.iter()
        .find(|r| r.0 == last && r.1 == label && r.2 == candidate)
        .map(|r| r.3)
        .expect("recorded")
}

fn run_strategy(
    name: &str,
    space: &str,
    cfg: &OneShotConfig,
) -> (Store, nasc::oneshot::OneShotSummary, nasc::ir::Graph) {
    let g = graph_of(space);
    let plan = lower(&g, cfg.kind()).expect("lowers");
    let dir = temp_dir(name);
    let store = Store::create(
        &dir,
        "test",
        "test.nas",
        space,
        &OneShotStored::new(cfg.clone(), 0.5, MNIST, DeviceKind::Flex).to_json(),
    )
    .expect("creates");
    let summary =
        run(&store, &g, &plan, &digits(), cfg, &Device::flex(), &mut QuietOneShot).expect("runs");
    (store, summary, g)
}

fn assert_valid(g: &nasc::ir::Graph, a: &Architecture) {
    let json = serde_json::to_string(&a.to_json(g)).expect("serialises");
    let back = Architecture::from_json(g, &json)
        .expect("the exported architecture is valid for the space");
    assert_eq!(&back, a);
    assert!(nasc::arch::fix(g, a).is_ok());
}

#[test]
fn gradients_reach_the_weights_and_the_architecture_parameters() {
    let g = graph_of(MIXED);
    let plan = lower(&g, OneShotKind::Darts).expect("lowers");
    let device = Device::flex().autodiff();
    let net = Supernet::build(&g, &plan, &device, 1).expect("builds");
    let labels = LabelShape::new(&g, &plan);
    let arch =
        ArchParams::new(&labels, 1e-3, &mut rand_chacha::ChaCha8Rng::seed_from_u64(0), &device);
    let x = burn::tensor::Tensor::<4>::random(
        [4, 1, 28, 28],
        burn::tensor::Distribution::Normal(0.0, 1.0),
        &device,
    );
    let Value::Flat(out) = net.forward_map(x, &softmax_mixing(&arch, &labels, true)).expect("runs")
    else {
        panic!("flat logits")
    };
    assert_eq!(out.dims(), [4, 10]);
    let grads = out.powf_scalar(2.0).mean().backward();
    for (l, a) in arch.alpha.iter().enumerate() {
        let gr = a
            .grad(&grads)
            .unwrap_or_else(|| panic!("alpha of {} has a gradient", g.labels.labels[l].name));
        let norm = gr.abs().sum().into_scalar::<f64>();
        assert!(norm > 0.0, "alpha of {} gets a non-zero gradient", g.labels.labels[l].name);
    }
    let mut weights_with_grad = 0;
    for layer in &net.layers {
        if let nasc::runtime::supernet::SharedLayer::Conv(c) = layer {
            if c.weight.grad(&grads).is_some_and(|gr| gr.abs().sum().into_scalar::<f64>() > 0.0) {
                weights_with_grad += 1;
            }
        }
    }
    assert!(
        weights_with_grad >= 4,
        "the shared convolution weights get gradients ({weights_with_grad})"
    );
}

#[test]
fn a_fixed_path_ignores_the_weights_it_does_not_use() {
    // Width 4 and kernel 3 use the first 4 rows and the centre 3x3 of the stem's 8x5x5 weight:
    // changing everything else leaves the output unchanged, and changing the used part does not.
    let g = graph_of(MIXED);
    let plan = lower(&g, OneShotKind::RandomOneshot).expect("lowers");
    let device = Device::flex();
    let net = Supernet::build(&g, &plan, &device, 3).expect("builds");
    let mut a = Architecture::random(&g, &mut rand_chacha::ChaCha8Rng::seed_from_u64(5));
    let width = g.labels.find("width").expect("width").0 as usize;
    let k = g.labels.find("k").expect("k").0 as usize;
    a.choices[width] = Choice::Index(0);
    a.choices[k] = Choice::Index(0);
    let x = burn::tensor::Tensor::<4>::random(
        [2, 1, 28, 28],
        burn::tensor::Distribution::Normal(0.0, 1.0),
        &device,
    );
    let run =
        |net: &Supernet| match net.valid().forward_map(x.clone(), &Mixing::hard(&a)).expect("runs")
        {
            Value::Flat(t) => t.into_data().convert::<f32>().try_to_vec::<f32>().expect("floats"),
            Value::Map(_) => panic!("flat logits"),
        };
    let before = run(&net);
    let perturb = |net: &Supernet, used: bool| {
        let mut layers = Vec::new();
        for (i, l) in net.clone().layers.into_iter().enumerate() {
            layers.push(match l {
                nasc::runtime::supernet::SharedLayer::Conv(mut c) if i == 0 => {
                    let w = c.weight.val();
                    let [o, inp, kk, _] = w.dims();
                    let mut mask = vec![0f32; o * inp * kk * kk];
                    for r in 0..o {
                        for y in 0..kk {
                            for xx in 0..kk {
                                let inside = r < 4 && (1..4).contains(&y) && (1..4).contains(&xx);
                                if inside == used {
                                    mask[((r * inp) * kk + y) * kk + xx] = 1.0;
                                }
                            }
                        }
                    }
                    let m = burn::tensor::Tensor::<4>::from_data(
                        burn::tensor::TensorData::new(mask, [o, inp, kk, kk]),
                        &device,
                    );
                    c.weight = burn::module::Param::from_tensor(w + m.mul_scalar(0.5));
                    nasc::runtime::supernet::SharedLayer::Conv(c)
                }
                other => other,
            });
        }
        let mut n = net.clone();
        n.layers = layers;
        n
    };
    let unused = run(&perturb(&net, false));
    let used = run(&perturb(&net, true));
    for (a, b) in before.iter().zip(&unused) {
        assert!((a - b).abs() < 1e-5, "weights outside the slice changed the output: {a} vs {b}");
    }
    assert!(
        before.iter().zip(&used).any(|(a, b)| (a - b).abs() > 1e-4),
        "the slice's own weights must matter"
    );
}

#[test]
fn darts_moves_probability_towards_the_convolution() {
    let mut cfg = config(OneShotKind::Darts, 10, 6);
    cfg.strategy = StrategySettings::Darts(DartsSettings {
        alpha: AlphaOptimizer { lr: 0.03, ..AlphaOptimizer::darts() },
        unrolled: false,
    });
    let (store, summary, g) = run_strategy("darts", CONV_OR_ZERO, &cfg);
    let p = last_probability(&store, "op", "conv");
    assert!(p > 0.6, "p(conv) = {p}");
    assert_valid(&g, &summary.arch);
    assert_eq!(summary.arch.choices[0], Choice::Index(0), "DARTS exports the convolution");
    let epochs = store.supernet_epochs().expect("reads");
    assert_eq!(epochs.len(), 6);
    assert!(epochs[0].arch_loss.is_some_and(f64::is_finite));
}

#[test]
fn second_order_darts_moves_probability_towards_the_convolution() {
    let mut cfg = config(OneShotKind::Darts, 10, 3);
    cfg.strategy = StrategySettings::Darts(DartsSettings {
        alpha: AlphaOptimizer { lr: 0.03, ..AlphaOptimizer::darts() },
        unrolled: true,
    });
    let (store, summary, g) = run_strategy("darts-unrolled", CONV_OR_ZERO, &cfg);
    let p = last_probability(&store, "op", "conv");
    assert!(p > 0.6, "p(conv) = {p}");
    assert_valid(&g, &summary.arch);
}

#[test]
fn gumbel_darts_moves_probability_towards_the_convolution() {
    let mut cfg = config(OneShotKind::GumbelDarts, 10, 6);
    cfg.strategy = StrategySettings::GumbelDarts(GumbelDartsSettings {
        alpha: AlphaOptimizer { lr: 0.03, ..AlphaOptimizer::darts() },
        ..GumbelDartsSettings::default()
    });
    let (store, summary, g) = run_strategy("gumbel", CONV_OR_ZERO, &cfg);
    let p = last_probability(&store, "op", "conv");
    assert!(p > 0.6, "p(conv) = {p}");
    assert_valid(&g, &summary.arch);
}

#[test]
fn proxyless_moves_probability_towards_the_convolution() {
    let mut cfg = config(OneShotKind::Proxyless, 10, 6);
    cfg.strategy = StrategySettings::Proxyless(ProxylessSettings {
        alpha: AlphaOptimizer { lr: 0.03, ..AlphaOptimizer::proxyless() },
        ..ProxylessSettings::default()
    });
    let (store, summary, g) = run_strategy("proxyless", CONV_OR_ZERO, &cfg);
    let p = last_probability(&store, "op", "conv");
    assert!(p > 0.6, "p(conv) = {p}");
    assert_valid(&g, &summary.arch);
}

#[test]
fn the_enas_controller_mean_reward_rises() {
    let mut cfg = config(OneShotKind::Enas, 10, 3);
    cfg.strategy = StrategySettings::Enas(EnasSettings {
        lr: 0.02,
        controller_steps: 40,
        controller_aggregate: 10,
        top_k: 2,
        ..EnasSettings::default()
    });
    let (store, summary, g) = run_strategy("enas", CONV_OR_ZERO, &cfg);
    // The arch loss of ENAS is minus the mean reward (validation accuracy of sampled paths).
    let rewards: Vec<f64> = store
        .supernet_epochs()
        .expect("reads")
        .iter()
        .map(|e| -e.arch_loss.expect("a reward"))
        .collect();
    assert_eq!(rewards.len(), 3);
    assert!(rewards[2] > rewards[0], "mean reward per epoch: {rewards:?}");
    assert_valid(&g, &summary.arch);
    assert_eq!(
        summary.arch.choices[0],
        Choice::Index(0),
        "the most likely path takes the convolution"
    );
    assert!(
        store.trials().expect("reads").len() >= 2,
        "the top-k architectures are recorded as trials"
    );
}

#[test]
fn spos_samples_paths_uniformly_and_searches_the_trained_supernet() {
    let mut cfg = config(OneShotKind::RandomOneshot, 20, 1);
    cfg.strategy = StrategySettings::RandomOneshot(SposSettings {
        search_candidates: 6,
        population: 3,
        tournament: 2,
    });
    let (store, summary, g) = run_strategy("spos", MIXED, &cfg);
    assert_valid(&g, &summary.arch);
    let trials = store.trials().expect("reads");
    assert!(trials.len() >= 3, "the evolution's candidates are trials");
    let best = trials.iter().filter_map(|t| t.metric).fold(f64::MIN, f64::max);
    assert_eq!(summary.metric, best, "the exported architecture is the best the evolution scored");
}

#[test]
fn spos_path_sampling_is_uniform() {
    // Chi-square test of the paths SPOS trains on: 6,000 draws of `op` (3 alternatives) and
    // `fuse` (3 subsets of 2 of 3); the 0.1% critical value with 2 degrees of freedom is 13.8.
    let g = graph_of(MIXED);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
    let op = g.labels.find("op").expect("op").0 as usize;
    let fuse = g.labels.find("fuse").expect("fuse").0 as usize;
    let (mut ops, mut fuses) = ([0f64; 3], std::collections::BTreeMap::<Vec<usize>, f64>::new());
    let n = 6000;
    for _ in 0..n {
        let a = nasc::oneshot::spos_path(&g, &mut rng);
        if let Choice::Index(i) = a.choices[op] {
            ops[i] += 1.0;
        }
        if let Choice::Subset(s) = &a.choices[fuse] {
            *fuses.entry(s.clone()).or_default() += 1.0;
        }
    }
    let chi = |counts: &[f64]| {
        counts
            .iter()
            .map(|c| {
                (c - n as f64 / counts.len() as f64).powi(2) / (n as f64 / counts.len() as f64)
            })
            .sum::<f64>()
    };
    assert!(chi(&ops) < 13.8, "op counts {ops:?}");
    let f: Vec<f64> = fuses.values().copied().collect();
    assert_eq!(f.len(), 3);
    assert!(chi(&f) < 13.8, "fuse counts {f:?}");
}

#[test]
fn every_example_and_hub_space_lowers_or_says_why() {
    for (path, name) in [
        ("examples/mnist.nas", "Mnist"),
        ("examples/nested.nas", "Nested"),
        ("stdlib/spaces/nasbench201.nas", "NasBench201"),
        ("stdlib/spaces/darts.nas", "Darts"),
        ("stdlib/spaces/enas.nas", "EnasMacro"),
        ("stdlib/spaces/shufflenet.nas", "ShuffleNetSpos"),
        ("stdlib/spaces/proxylessnas.nas", "ProxylessNas"),
        ("stdlib/spaces/mobilenetv3.nas", "MobileNetV3Space"),
    ] {
        let g = network(path, name);
        for kind in OneShotKind::ALL {
            assert!(
                lower(&g, kind).is_ok(),
                "{path} lowers for {}: {:?}",
                kind.name(),
                lower(&g, kind).err()
            );
        }
    }
    // The DARTS cell example concatenates two of its nodes: mixing strategies cannot sum them.
    let g = network("examples/darts_cell.nas", "TinyDarts");
    let errors = lower(&g, OneShotKind::Darts).expect_err("a concatenating input choice");
    assert!(matches!(errors[0].problem, LowerProblem::MixedConcat { k: 2, .. }), "{errors:?}");
    assert!(lower(&g, OneShotKind::Enas).is_ok(), "a sampling strategy takes it");
}

#[test]
fn a_kernel_choice_that_changes_the_spatial_size_is_refused() {
    let g = graph_of(
        "network K(x: Tensor[n, 1, 28, 28]) -> Tensor[n, 10] {
            let h = conv2d(x, out: 4, kernel: choice k [3, 5])
            return linear(global_avg_pool(h), out: 10)
        }",
    );
    for kind in OneShotKind::ALL {
        let errors = lower(&g, kind).expect_err("the spatial size depends on k");
        assert!(
            matches!(&errors[0].problem, LowerProblem::SpatialSize { labels, .. } if labels == &["k".to_string()]),
            "{errors:?}"
        );
    }
}

#[test]
fn random_architectures_of_every_space_run_through_the_supernet() {
    for (path, name, input) in [
        ("examples/mnist.nas", "Mnist", [1, 28, 28]),
        ("examples/nested.nas", "Nested", [3, 32, 32]),
        ("stdlib/spaces/nasbench201.nas", "NasBench201", [3, 32, 32]),
        ("stdlib/spaces/shufflenet.nas", "ShuffleNetSpos", [3, 224, 224]),
        ("stdlib/spaces/proxylessnas.nas", "ProxylessNas", [3, 224, 224]),
        ("stdlib/spaces/mobilenetv3.nas", "MobileNetV3Space", [3, 224, 224]),
    ] {
        let g = network(path, name);
        let plan = lower(&g, OneShotKind::RandomOneshot).expect("lowers");
        let device = Device::flex();
        let net = Supernet::build(&g, &plan, &device, 0).expect("builds").valid();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2);
        for _ in 0..3 {
            let a = Architecture::random(&g, &mut rng);
            let x = burn::tensor::Tensor::<4>::zeros([2, input[0], input[1], input[2]], &device);
            let out =
                net.forward_map(x, &Mixing::hard(&a)).unwrap_or_else(|e| panic!("{path}: {e}"));
            assert_eq!(out.dims()[0], 2, "{path}");
        }
    }
}

#[test]
fn proxyless_resource_loss_pushes_towards_cheaper_candidates() {
    // The same run with a FLOPs target far below the convolution's cost ends with less
    // probability on the convolution than without one.
    let mut cfg = config(OneShotKind::Proxyless, 10, 3);
    let free_settings = ProxylessSettings {
        alpha: AlphaOptimizer { lr: 0.03, ..AlphaOptimizer::proxyless() },
        ..ProxylessSettings::default()
    };
    cfg.strategy = StrategySettings::Proxyless(free_settings);
    let (free, _, _) = run_strategy("proxyless-free", CONV_OR_ZERO, &cfg);
    cfg.strategy = StrategySettings::Proxyless(ProxylessSettings {
        target: Some((nasc::ir::Measure::Flops, 10.0)),
        resource_beta: 2.0,
        ..free_settings
    });
    let (bound, summary, g) = run_strategy("proxyless-target", CONV_OR_ZERO, &cfg);
    let (p_free, p_bound) =
        (last_probability(&free, "op", "conv"), last_probability(&bound, "op", "conv"));
    assert!(p_bound < p_free, "p(conv) with a FLOPs target {p_bound}, without {p_free}");
    assert_valid(&g, &summary.arch);
}
