//! The model-space hub (`stdlib/spaces/`): every published space compiles, has the published
//! number of architectures, and reproduces published parameter counts.

use nasc::arch::{self, Architecture, Choice};
use nasc::facts::facts;
use nasc::ir::{Domain, Graph};
use std::collections::HashSet;
use std::io::Read;
use std::path::Path;

/// Loads and elaborates `path`; panics with the rendered diagnostics on any error. Returns
/// every network of the file, by name.
fn networks(path: &str) -> Vec<(String, Graph)> {
    let graphs = nasc::driver::graphs(nasc::driver::Input::Path(Path::new(path)))
        .unwrap_or_else(|e| panic!("{path}:\n{e}"));
    graphs.into_iter().map(|g| (g.name.clone(), g)).collect()
}

fn network(path: &str, name: &str) -> Graph {
    networks(path)
        .into_iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("{path} has no network {name}"))
        .1
}

/// Reads an architecture JSON file against a space; panics naming every bad label.
fn arch_file(g: &Graph, path: &str) -> Architecture {
    let text = std::fs::read_to_string(path).expect("readable architecture");
    Architecture::from_json(g, &text).unwrap_or_else(|e| panic!("{path}: {e:?}"))
}

// ---------------------------------------------------------------------------------------------
// NAS-Bench-201.
// ---------------------------------------------------------------------------------------------

const NB201: &str = "stdlib/spaces/nasbench201.nas";

/// The benchmark's architecture string `|op~0|+|op~0|op~1|+|op~0|op~1|op~2|` as nasc's JSON:
/// group i (from 1), position j is the label `cell/edge[i][j]`.
fn nb201_json(arch: &str) -> String {
    let mut m = serde_json::Map::new();
    for (i, group) in arch.split('+').enumerate() {
        for (j, entry) in group.trim_matches('|').split('|').enumerate() {
            let (op, from) = entry.split_once('~').expect("op~j");
            assert_eq!(from.parse::<usize>().expect("source node"), j, "{arch}");
            m.insert(format!("cell/edge[{}][{j}]", i + 1), serde_json::Value::from(op));
        }
    }
    serde_json::Value::Object(m).to_string()
}

#[test]
fn nasbench201_has_exactly_the_benchmarks_15625_architectures() {
    let g = network(NB201, "NasBench201");
    let names: Vec<&str> = g.labels.labels.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "cell/edge[1][0]",
            "cell/edge[2][0]",
            "cell/edge[2][1]",
            "cell/edge[3][0]",
            "cell/edge[3][1]",
            "cell/edge[3][2]"
        ]
    );
    let f = facts(&g);
    assert_eq!(f.architectures.to_string(), "15625");
    assert_eq!(f.distinct, Some(15_625));
    // All edges `none`: stem, two residual blocks, final batch norm and classifier only.
    // Every edge `nor_conv_3x3`: the benchmark's largest network, 1.5316 MB.
    assert!(f.params.exact);
    assert_eq!((f.params.min, f.params.max), (73_306, 1_531_546));
}

/// Benchmark indices whose `cifar10valid_params_mb` is not the parameter count of the row's own
/// architecture. This is a known bug of the benchmark's 200-epoch records (NATS-Bench issue
/// #36, "get_cost_info(hp="200") returns weird value for some models", labelled a bug; also
/// AutoDL-Projects issue #134): for some architectures, the 200-epoch cost record (and so this
/// table) carries the parameter count of another architecture, while the 12-epoch record has
/// the right one. Issue #36's three examples are 15474 (0.802426 at 12 epochs, as nasc says),
/// 7268 and 15033. Every row here is off by exactly one convolution edge (28,000 parameters for
/// a 1x1, 243,040 for a 3x3, over the 15 cells), and the table's training times follow the
/// row's own architecture, not the parameter count. Pinned so that any change is noticed.
const NB201_WRONG_PARAMS_IN_TABLE: [u32; 150] = [
    327, 737, 768, 770, 775, 1151, 2958, 3034, 3077, 3103, 3113, 3400, 3681, 3899, 4024, 4070,
    4137, 4165, 4227, 4248, 4464, 4578, 4650, 4815, 4982, 5010, 5065, 5694, 5751, 5824, 5835, 6545,
    6547, 6769, 6877, 6912, 6977, 7263, 7268, 7326, 7358, 7396, 7629, 7717, 7785, 7793, 7894, 7950,
    7981, 8181, 8280, 8322, 8423, 8447, 8533, 8540, 8557, 8719, 8809, 8965, 9043, 9141, 9172, 9270,
    9296, 9444, 9473, 9597, 9632, 9654, 9735, 10107, 10118, 10162, 10167, 10207, 10212, 10281,
    10308, 10340, 10369, 10597, 10709, 10821, 10906, 10947, 10978, 11073, 11096, 11167, 11222,
    11238, 11259, 11370, 11374, 11511, 11514, 11581, 11676, 11843, 11911, 11961, 11964, 12016,
    12121, 12187, 12204, 12271, 12316, 12317, 12464, 12540, 12542, 12568, 12707, 12748, 12822,
    12844, 12939, 13003, 13223, 13326, 13479, 13492, 13599, 13970, 14264, 14267, 14293, 14412,
    14419, 14529, 14648, 14661, 14684, 14689, 14995, 15033, 15036, 15040, 15107, 15347, 15372,
    15386, 15392, 15403, 15435, 15474, 15484, 15539,
];

#[test]
fn nasbench201_parameter_counts_match_the_benchmark_for_all_15625_architectures() {
    let g = network(NB201, "NasBench201");
    let mut gz = flate2::read::GzDecoder::new(
        std::fs::File::open("tests/data/nb201_compact.csv.gz").expect("data"),
    );
    let mut text = String::new();
    gz.read_to_string(&mut text).expect("gzip");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    let col = |name: &str| {
        header.iter().position(|h| *h == name).unwrap_or_else(|| panic!("no column {name}"))
    };
    let (index_col, arch_col, params_col) =
        (col("index"), col("arch"), col("cifar10valid_params_mb"));
    let start = std::time::Instant::now();
    let mut seen = HashSet::new();
    let (mut matching, mut mismatches) = (0, Vec::new());
    for line in lines {
        let fields: Vec<&str> = line.split(',').collect();
        let a = Architecture::from_json(&g, &nb201_json(fields[arch_col]))
            .unwrap_or_else(|e| panic!("{line}: {e:?}"));
        let (params, _) = arch::cost(&g, &a).expect("costs");
        let mb: f64 = fields[params_col].parse().expect("params_mb");
        // The table rounds to 4 decimals in millions: within 50 parameters.
        let diff = params as f64 - mb * 1e6;
        if diff.abs() <= 50.0 + 1e-6 {
            matching += 1;
        } else {
            // One edge's convolution more or fewer than the row's own architecture.
            let one_edge =
                [28_000.0, 243_040.0].iter().any(|e| (diff.abs() - e).abs() <= 50.0 + 1e-6);
            assert!(one_edge, "{}: nasc {params}, table {mb} M", fields[arch_col]);
            mismatches.push(fields[index_col].parse::<u32>().expect("index"));
        }
        seen.insert(a);
    }
    eprintln!("costed 15,625 NAS-Bench-201 architectures in {:?}", start.elapsed());
    assert_eq!(seen.len(), 15_625, "every architecture of the space, each once");
    assert_eq!(matching, 15_625 - 150);
    assert_eq!(mismatches, NB201_WRONG_PARAMS_IN_TABLE);
}

// ---------------------------------------------------------------------------------------------
// DARTS.
// ---------------------------------------------------------------------------------------------

const DARTS: &str = "stdlib/spaces/darts.nas";

#[test]
fn darts_shares_one_normal_and_one_reduction_genotype() {
    let g = network(DARTS, "Darts");
    // Per cell type: 14 edges of 8 operations and 4 input choices (2 of 2, 3, 4, 5 states).
    let mut expected = Vec::new();
    for cell in ["normal", "reduce"] {
        for i in 0..4 {
            for j in 0..2 + i {
                expected.push(format!("{cell}/edge[{i}][{j}]/op"));
            }
            expected.push(format!("{cell}/node[{i}]"));
        }
    }
    let mut names: Vec<String> = g.labels.labels.iter().map(|l| l.name.clone()).collect();
    names.sort();
    expected.sort();
    assert_eq!(names, expected);
    // The product of the domains: (8^14 x 1 x 3 x 6 x 10)^2.
    let per_cell = num_bigint::BigUint::from(8u32).pow(14) * 180u32;
    assert_eq!(facts(&g).architectures, per_cell.pow(2));
    // Distinct networks: per node C(k,2) x 8^2, (180 x 8^8)^2; `nasc check` counts them from
    // the structure. The paper's count of genotypes (no `none`): per node C(k,2) x 7^2,
    // (180 x 7^8)^2, about 1.1 x 10^18 ("approximately 10^18").
    let f = facts(&g);
    assert_eq!(f.networks, Some(num_bigint::BigUint::from((180u128 * 8u128.pow(8)).pow(2))));
    let genotypes = (180u128 * 7u128.pow(8)).pow(2);
    assert_eq!(genotypes, 1_076_746_950_455_072_400);
    assert_eq!(f.without_zero, Some(num_bigint::BigUint::from(genotypes)));
    let text = nasc::diagnostics::wording::space_summary(&g, &f);
    assert!(
        text.contains("without `zero` alternatives: 1,076,746,950,455,072,400 distinct networks"),
        "{text}"
    );
}

/// The paper reports DARTS (second order) on CIFAR-10 with "3.3M" parameters; the reference
/// code logs `param size = 3.349342MB` for DARTS_V2 (auxiliary head excluded), and its
/// genotypes.py notes "528M" multiply-adds. nasc reproduces both exactly.
#[test]
fn darts_v2_at_36_channels_and_20_cells_has_the_published_parameters() {
    let g = network(DARTS, "DartsEval");
    let a = arch_file(&g, "examples/archs/darts_v2.json");
    let (params, flops) = arch::cost(&g, &a).expect("costs");
    assert_eq!((params, flops), (3_349_342, 528_359_040));
    // The search network (16 channels, 8 cells, no affine batch norm) with the same genotype.
    let search = network(DARTS, "Darts");
    let a = arch_file(&search, "examples/archs/darts_v2.json");
    assert_eq!(arch::cost(&search, &a).expect("costs").0, 239_898);
}

// ---------------------------------------------------------------------------------------------
// ENAS macro, ShuffleNet / SPOS, ProxylessNAS, MobileNetV3.
// ---------------------------------------------------------------------------------------------

/// The labels of `g`, by name, sorted.
fn label_names(g: &Graph) -> Vec<String> {
    let mut names: Vec<String> = g.labels.labels.iter().map(|l| l.name.clone()).collect();
    names.sort();
    names
}

#[test]
fn enas_macro_has_the_papers_6_to_the_12_times_2_to_the_66_architectures() {
    let g = network("stdlib/spaces/enas.nas", "EnasMacro");
    let ops = g.labels.labels.iter().filter(|l| l.name.ends_with("/op")).count();
    let skips = g.labels.labels.iter().filter(|l| l.name.contains("/skip[")).count();
    assert_eq!((ops, skips), (12, 66));
    let expected =
        num_bigint::BigUint::from(6u32).pow(12) * num_bigint::BigUint::from(2u32).pow(66);
    let f = facts(&g);
    assert_eq!(f.architectures, expected);
    // Every label is used by every architecture: as many distinct networks as assignments.
    assert_eq!(f.networks.as_ref(), Some(&expected));
    assert!(expected.to_string().starts_with("16"), "about 1.6 x 10^29: {expected}");
    assert_eq!(expected.to_string().len(), 30);
}

#[test]
fn shufflenet_spos_has_20_choice_blocks_of_4_units() {
    let g = network("stdlib/spaces/shufflenet.nas", "ShuffleNetSpos");
    let mut expected: Vec<String> = Vec::new();
    for (s, count) in [4, 4, 8, 4].into_iter().enumerate() {
        for i in 0..count {
            expected.push(format!("stage[{s}]/layer[{i}]/op"));
        }
    }
    expected.sort();
    assert_eq!(label_names(&g), expected);
    for l in &g.labels.labels {
        assert_eq!(
            l.domain.describe(),
            "{shufflenet_3x3, shufflenet_5x5, shufflenet_7x7, xception_3x3}",
            "{}",
            l.name
        );
    }
    let f = facts(&g);
    assert_eq!(f.architectures, num_bigint::BigUint::from(4u32).pow(20));
    assert_eq!(f.networks, Some(f.architectures.clone()), "every label used by every architecture");
    // Every unit keeps the stage's channels: the all-3x3 and the all-Xception networks build
    // and cost, Xception (three depthwise-separable layers) being the larger.
    let all = |unit: &str| {
        let json = serde_json::Value::Object(
            expected.iter().map(|l| (l.clone(), serde_json::Value::from(unit))).collect(),
        )
        .to_string();
        arch::cost(&g, &Architecture::from_json(&g, &json).expect("valid")).expect("costs")
    };
    let (small, large) = (all("shufflenet_3x3"), all("xception_3x3"));
    assert!(small.0 < large.0 && small.1 < large.1, "{small:?} {large:?}");
}

#[test]
fn proxylessnas_chooses_kernel_and_expansion_and_may_skip_all_but_the_first_block_of_a_stage() {
    let g = network("stdlib/spaces/proxylessnas.nas", "ProxylessNas");
    let candidates = ["k3_e3", "k3_e6", "k5_e3", "k5_e6", "k7_e3", "k7_e6"];
    let mut expected = Vec::new();
    for (s, count) in [4, 4, 4, 4, 4, 1].into_iter().enumerate() {
        for i in 0..count {
            let name = format!("stage[{s}]/layer[{i}]/op");
            let l = g
                .labels
                .labels
                .iter()
                .find(|l| l.name == name)
                .unwrap_or_else(|| panic!("no label {name}"));
            let mut domain: Vec<&str> = candidates.to_vec();
            if i > 0 {
                domain.push("zero");
            }
            assert_eq!(l.domain.describe(), format!("{{{}}}", domain.join(", ")), "{name}");
            expected.push(name);
        }
    }
    expected.sort();
    assert_eq!(label_names(&g), expected);
    let count = num_bigint::BigUint::from(6u32).pow(6) * num_bigint::BigUint::from(7u32).pow(15);
    let f = facts(&g);
    assert_eq!(f.architectures, count);
    assert_eq!(f.networks, Some(count), "every label used by every architecture");
    // With no block skipped: 6^21.
    assert_eq!(f.without_zero, Some(num_bigint::BigUint::from(6u32).pow(21)));
    // Skipping a block (zero) leaves fewer parameters than its smallest candidate.
    let with = |op: &str| {
        let mut m = serde_json::Map::new();
        for l in &expected {
            m.insert(l.clone(), serde_json::Value::from("k3_e3"));
        }
        m.insert("stage[2]/layer[3]/op".into(), serde_json::Value::from(op));
        arch::cost(
            &g,
            &Architecture::from_json(&g, &serde_json::Value::Object(m).to_string()).expect("valid"),
        )
        .expect("costs")
        .0
    };
    assert!(with("zero") < with("k3_e3"));
    assert!(with("k3_e3") < with("k7_e6"));
}

#[test]
fn mobilenetv3_space_holds_mobilenetv3_large_with_its_published_size() {
    let g = network("stdlib/spaces/mobilenetv3.nas", "MobileNetV3Space");
    let names = label_names(&g);
    assert_eq!(names.len(), 1 + 15 * 3, "{names:?}");
    assert!(names.contains(&"width".to_string()));
    // 5 widths x (3 kernels x 8 expansion ratios x SE or not) per block, 15 blocks.
    let count = num_bigint::BigUint::from(5u32) * num_bigint::BigUint::from(48u32).pow(15);
    let f = facts(&g);
    assert_eq!(f.architectures, count);
    assert_eq!(f.networks, Some(count), "every label used by every architecture");
    // The paper (Howard et al. 2019, table 3): MobileNetV3-Large 1.0, 5.4M parameters, 219M
    // multiply-adds. torchvision's `mobilenet_v3_large` has exactly 5,483,032 parameters.
    let a = arch_file(&g, "examples/archs/mobilenetv3_large.json");
    let (params, flops) = arch::cost(&g, &a).expect("costs");
    assert_eq!(params, 5_483_032);
    assert!((flops as f64 - 219e6).abs() / 219e6 < 0.02, "{flops} multiply-adds");
    // The narrowest network is smaller.
    let narrow = a
        .to_json(&g)
        .into_iter()
        .map(|(k, v)| if k == "width" { (k, serde_json::Value::from(50)) } else { (k, v) })
        .collect();
    let narrow =
        Architecture::from_json(&g, &serde_json::Value::Object(narrow).to_string()).expect("valid");
    assert!(arch::cost(&g, &narrow).expect("costs").0 < params);
}

// ---------------------------------------------------------------------------------------------
// Built with the runtime (issue 7, item 7).
// ---------------------------------------------------------------------------------------------

/// A random architecture of every network of every hub space, built as a burn module on Flex:
/// the network holds exactly the trainable parameters the IR counted, and runs one sample.
#[test]
fn random_architectures_of_every_hub_space_build_with_the_parameters_the_ir_counts() {
    use rand::SeedableRng;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
    let device = nasc::runtime::Device::flex();
    let mut built = 0;
    for path in [
        "stdlib/spaces/nasbench201.nas",
        "stdlib/spaces/darts.nas",
        "stdlib/spaces/enas.nas",
        "stdlib/spaces/shufflenet.nas",
        "stdlib/spaces/proxylessnas.nas",
        "stdlib/spaces/mobilenetv3.nas",
    ] {
        for (name, g) in networks(path) {
            for _ in 0..2 {
                let a = Architecture::random(&g, &mut rng);
                let f = arch::fix(&g, &a).expect("fixes");
                let net = nasc::runtime::Network::build(&f, &device, 0)
                    .unwrap_or_else(|e| panic!("{path} {name}: {e}"));
                assert_eq!(
                    net.trainable_params() as u64,
                    f.params,
                    "{path} {name}: {}",
                    serde_json::Value::Object(a.to_json(&g))
                );
                // One sample through it: every step's output has the shape the IR proved.
                let (dims, _) = &net.input_shapes()[0];
                let dims: Vec<usize> =
                    dims.iter().map(|d| d.expect("a fixed input shape") as usize).collect();
                let x = burn::tensor::Tensor::<4>::zeros([1, dims[0], dims[1], dims[2]], &device);
                let out = match net.forward_map(x).unwrap_or_else(|e| panic!("{path} {name}: {e}"))
                {
                    nasc::runtime::Value::Flat(t) => {
                        t.into_data().convert::<f32>().try_to_vec::<f32>().expect("f32 logits")
                    }
                    nasc::runtime::Value::Map(_) => {
                        panic!("{path} {name}: a feature map out of a classifier")
                    }
                };
                assert_eq!(
                    out.len(),
                    *g.nodes
                        .get(g.output)
                        .shape
                        .last()
                        .and_then(|d| d.as_int())
                        .as_ref()
                        .expect("classes") as usize
                );
                assert!(out.iter().all(|v| v.is_finite()), "{path} {name}: {out:?}");
                built += 1;
            }
        }
    }
    assert!(built >= 14, "{built} networks built");
}

/// The parameter and multiply-add bounds `nasc check` prints for spaces too large to cost
/// every architecture hold for random architectures of every hub space and example.
#[test]
fn random_architectures_cost_within_the_printed_bounds() {
    use rand::SeedableRng;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
    for path in [
        "stdlib/spaces/darts.nas",
        "stdlib/spaces/enas.nas",
        "stdlib/spaces/shufflenet.nas",
        "stdlib/spaces/proxylessnas.nas",
        "stdlib/spaces/mobilenetv3.nas",
        "examples/nested.nas",
        "examples/darts_cell.nas",
    ] {
        for (name, g) in networks(path) {
            let f = facts(&g);
            // Random architectures, and the uniform ones: every label at its v-th value (all
            // edges of a DARTS cell on the same operation, the costliest included), every
            // input choice on its first or last candidates.
            let widest = g
                .labels
                .labels
                .iter()
                .map(|l| l.domain.size().unwrap_or(1) as usize)
                .max()
                .unwrap_or(1);
            let uniform = (0..2 * widest).map(|v| Architecture {
                choices: g
                    .labels
                    .labels
                    .iter()
                    .map(|l| match &l.domain {
                        Domain::Values { values } => Choice::Index(v % values.len()),
                        Domain::Alternatives { names } => Choice::Index(v % names.len()),
                        Domain::Inputs { n, k } if v < widest => Choice::Subset((0..*k).collect()),
                        Domain::Inputs { n, k } => Choice::Subset((n - k..*n).collect()),
                    })
                    .collect(),
            });
            for a in uniform.chain((0..30).map(|_| Architecture::random(&g, &mut rng))) {
                let (p, fl) = arch::cost(&g, &a).expect("costs");
                assert!(
                    f.params.min <= p && p <= f.params.max,
                    "{path} {name}: {p} params outside {:?}",
                    f.params
                );
                assert!(
                    f.flops.min <= fl && fl <= f.flops.max,
                    "{path} {name}: {fl} multiply-adds outside {:?}",
                    f.flops
                );
            }
        }
    }
}

/// An imported space keeps its own labels with `label ""` on the call, so its architecture
/// files apply; without it, its labels are under the call's name.
#[test]
fn an_imported_space_called_with_an_empty_label_keeps_its_labels() {
    let dir = std::env::temp_dir().join(format!("nasc-hub-import-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("mb.nas");
    let text = |label: &str| {
        format!(
            "import std.spaces.mobilenetv3.{{MobileNetV3Space}}\n\nnetwork MobileNetCifar(x: Tensor[n, 3, 32, 32]) -> Tensor[n, 10] {{\n    return MobileNetV3Space(x: x, resolution: 32, classes: 10){label}\n}}\n"
        )
    };
    std::fs::write(&file, text(" label \"\"")).expect("written");
    let g = network(file.to_str().expect("utf-8 path"), "MobileNetCifar");
    assert!(g.labels.labels.iter().any(|l| l.name == "width"));
    let a = arch_file(&g, "examples/archs/mobilenetv3_large.json");
    assert!(arch::cost(&g, &a).expect("costs").0 > 4_000_000);
    std::fs::write(&file, text("")).expect("written");
    let g = network(file.to_str().expect("utf-8 path"), "MobileNetCifar");
    assert!(
        g.labels.labels.iter().all(|l| l.name.starts_with("MobileNetV3Space/")),
        "{:?}",
        g.labels.labels.first().map(|l| &l.name)
    );
    std::fs::remove_dir_all(&dir).ok();
}
