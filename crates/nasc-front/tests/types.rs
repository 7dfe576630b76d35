//! The type stage, the IR, the facts of a space, architectures and `fix`, on real spaces.

mod common;

use nasc_front::arch::{self, Architecture, Choice};
use nasc_front::diagnostics::render_plain;
use nasc_front::driver;
use nasc_front::facts::facts;
use nasc_front::ir::{self, Const, Graph, NodeKind};
use nasc_front::source::Origin;
use rand::SeedableRng;
use std::path::Path;

/// Loads, resolves and elaborates `text` (the front end's driver); panics with the rendered
/// diagnostics on any error.
fn graphs_of(name: &str, text: &str) -> Vec<Graph> {
    driver::graphs_of_text(name, text).unwrap_or_else(|e| panic!("{name}:\n{e}"))
}

fn graph_of_file(path: &str) -> Graph {
    let mut graphs = driver::graphs(driver::Input::Path(Path::new(path)))
        .unwrap_or_else(|e| panic!("{path}:\n{e}"));
    assert_eq!(graphs.len(), 1, "{path} has one network");
    graphs.remove(0)
}

/// Type errors of `text`, rendered without colour.
fn type_errors(text: &str) -> (Vec<&'static str>, String) {
    let input =
        driver::Input::Bytes { name: "test.nas", origin: &Origin::Memory, bytes: text.as_bytes() };
    let c = driver::compile(input, Default::default()).expect("bytes are readable");
    assert!(c.typed, "names resolve: {}", render_plain(&c.diagnostics, &c.program.sources));
    (
        c.diagnostics.iter().map(|d| d.code).collect(),
        render_plain(&c.diagnostics, &c.program.sources),
    )
}

fn nas_files(dir: &str, out: &mut Vec<String>) {
    for e in std::fs::read_dir(dir).expect("dir") {
        let p = e.expect("entry").path();
        if p.is_dir() {
            if !p.ends_with("errors") && !p.ends_with("data") {
                nas_files(p.to_str().expect("utf8"), out);
            }
        } else if p.extension().is_some_and(|x| x == "nas") {
            out.push(p.to_str().expect("utf8").to_string());
        }
    }
}

#[test]
fn every_network_in_examples_and_stdlib_elaborates_into_a_valid_ir() {
    common::at_repo_root();
    let mut files = Vec::new();
    nas_files("examples", &mut files);
    nas_files("stdlib", &mut files);
    let mut networks = 0;
    for f in &files {
        let graphs = driver::graphs(driver::Input::Path(Path::new(f)))
            .unwrap_or_else(|e| panic!("{f}: {e}"));
        for g in &graphs {
            ir::validate(g).unwrap_or_else(|e| panic!("{f}: {e}"));
            networks += 1;
        }
    }
    assert!(networks >= 4, "found only {networks} networks");
}

#[test]
fn a_tiny_network_costs_what_pytorch_would_count() {
    common::at_repo_root();
    // conv 1->8, 3x3, no bias: 72; batch norm: 16; linear 8->10 with bias: 90. Total 178.
    // MACs: conv 1*3*3*8 per output pixel * 26*26 pixels = 48,672; linear 80. Total 48,752.
    let g = &graphs_of(
        "tiny.nas",
        "network T(x: Tensor[n, 1, 28, 28]) -> Tensor[n, 10] {
            let h = batch_norm(conv2d(x, out: 8, kernel: 3))
            return linear(global_avg_pool(h), out: 10)
        }",
    )[0];
    assert_eq!(g.shape_text(&g.nodes.get(g.output).shape), "[n, 10]");
    let f = facts(g);
    assert_eq!((f.params.min, f.params.max, f.params.exact), (178, 178, true));
    assert_eq!((f.flops.min, f.flops.max), (48_752, 48_752));
    assert_eq!(f.distinct, Some(1));
}

#[test]
fn mnist_space_facts_are_exact_and_match_hand_counts() {
    common::at_repo_root();
    let g = graph_of_file("examples/mnist.nas");
    let f = facts(&g);
    // width 3 x (5 + 5^2 + 5^3) x (5 + 5^2) = 13,950 distinct networks; 56,250 assignments.
    assert_eq!(f.distinct, Some(13_950));
    assert_eq!(f.architectures.to_string(), "56250");
    assert!(f.params.exact);
    // Worked out by hand when the example was written: width 64, every block a 5x5 conv.
    assert_eq!(f.params.max, 513_994);
    assert_eq!(f.satisfying, Some(13_949));
}

#[test]
fn a_choice_whose_alternatives_differ_gets_a_counterexample() {
    common::at_repo_root();
    let (codes, text) = type_errors(
        "block B(x: Tensor[n, c, h, w]) -> Tensor[n, c, h, w] {
            let y = choice op {
                conv: conv2d(x, out: c, kernel: choice kernel [3, 5], padding: 1),
                skip: x,
            }
            return x + y
        }
        network N(x: Tensor[n, 1, 28, 28]) -> Tensor[n, 10] {
            let h = B(conv2d(x, out: 16, kernel: 1))
            return linear(global_avg_pool(h), out: 10)
        }",
    );
    assert_eq!(codes, vec!["E0103"], "{text}");
    assert!(
        text.contains(
            "with h/op/kernel = 5, conv yields [n, 16, 26, 26] but skip yields [n, 16, 28, 28]"
        ) || text.contains("kernel = 5"),
        "{text}"
    );
    assert!(text.contains("[n, 16, 26, 26]"), "{text}");
}

#[test]
fn operator_requirements_and_empty_outputs_are_caught_for_every_architecture() {
    common::at_repo_root();
    let (codes, text) = type_errors(
        "network N(x: Tensor[n, 1, 28, 28]) -> Tensor[n, 10] {
            let h = conv2d(x, out: 6, kernel: 3, groups: choice g [1, 2])
            return linear(global_avg_pool(h), out: 10)
        }",
    );
    assert_eq!(codes, vec!["E0104"], "{text}");
    assert!(text.contains("with g = 2") && text.contains("divisible by groups"), "{text}");

    let (codes, text) = type_errors(
        "network N(x: Tensor[n, 3, 8, 8]) -> Tensor[n, 10] {
            let h = conv2d(x, out: 4, kernel: 3, stride: choice s [1, 16])
            let h = conv2d(h, out: 4, kernel: 3)
            return linear(global_avg_pool(h), out: 10)
        }",
    );
    assert_eq!(codes, vec!["E0104"], "{text}");
    assert!(text.contains("with s = 16"), "{text}");
}

#[test]
fn wrong_shapes_at_calls_name_the_dimension() {
    common::at_repo_root();
    let (codes, text) = type_errors(
        "block B(x: Tensor[n, 16, h, w]) -> Tensor[n, 16, h, w] { return relu(x) }
        network N(x: Tensor[n, 1, 28, 28]) -> Tensor[n, 10] {
            let h = B(conv2d(x, out: 8, kernel: 3))
            return linear(global_avg_pool(h), out: 10)
        }",
    );
    assert_eq!(codes, vec!["E0101"], "{text}");
    assert!(text.contains("dimension 1") && text.contains("expected 16, found 8"), "{text}");

    let (codes, text) = type_errors(
        "network N(x: Tensor[n, 1, 28, 28]) -> Tensor[n, 10] {
            return linear(x, out: 10)
        }",
    );
    assert_eq!(codes, vec!["E0102"], "{text}");
}

#[test]
fn ir_of_the_mnist_example_is_pinned() {
    common::at_repo_root();
    let g = graph_of_file("examples/mnist.nas");
    insta::assert_snapshot!("mnist_ir", ir::to_text(&g));
}

#[test]
fn architectures_round_trip_through_json_and_fix_into_plain_graphs() {
    common::at_repo_root();
    let g = graph_of_file("examples/mnist.nas");
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    for _ in 0..50 {
        let a = Architecture::random(&g, &mut rng);
        let json = serde_json::Value::Object(a.to_json(&g)).to_string();
        let back = Architecture::from_json(&g, &json).expect("own JSON reads back");
        assert_eq!(back, a);
        let fixed = arch::fix(&g, &a).expect("fixes");
        let (p, f) = arch::cost(&g, &a).expect("costs");
        assert_eq!((fixed.params, fixed.flops), (p, f));
        // Every convolution's output size follows PyTorch's formula from its own attributes.
        for node in &fixed.nodes {
            assert!(node.inputs.iter().all(|i| *i < fixed.nodes.len()));
            if node.op == "conv2d" {
                let attr = |k: &str| match node.attrs.iter().find(|(n, _)| n == k).map(|(_, v)| v) {
                    Some(Const::Int(i)) => *i,
                    other => panic!("{k}: {other:?}"),
                };
                let input = &fixed.nodes[node.inputs[0]].shape;
                let hin = input[2].expect("height");
                let expect =
                    (hin + 2 * attr("padding") - attr("dilation") * (attr("kernel") - 1) - 1)
                        .div_euclid(attr("stride"))
                        + 1;
                assert_eq!(node.shape[2], Some(expect));
                assert_eq!(node.shape[1], Some(attr("out")));
            }
        }
        assert_eq!(fixed.nodes[fixed.output].shape, vec![None, Some(10)]);
    }
}

#[test]
fn a_broken_architecture_names_every_bad_label() {
    common::at_repo_root();
    let g = graph_of_file("examples/mnist.nas");
    let errors =
        Architecture::from_json(&g, r#"{"width": 48, "depth": 2, "depth2": 1, "bogus": 1, "depth[0]/SearchedBlock/operation": "conv7"}"#).expect_err("invalid");
    let text = format!("{errors:?}");
    assert!(text.contains("OutOfDomain { label: \"width\""), "{text}");
    assert!(text.contains("Unknown { label: \"bogus\""), "{text}");
    assert!(text.contains("OutOfDomain { label: \"depth[0]/SearchedBlock/operation\""), "{text}");
    assert!(text.contains("Missing { label: \"depth[1]/SearchedBlock/operation\""), "{text}");
    // A misspelt alternative gets the close name, an index out of range its range.
    let hint = |json: &str| match &Architecture::from_json(&g, json).expect_err("invalid")[..] {
        [arch::ArchError::OutOfDomain { hint, .. }, ..] => hint.clone(),
        other => panic!("{other:?}"),
    };
    let base =
        r#""width": 16, "depth": 1, "depth2": 1, "depth2[0]/SearchedBlock/operation": "conv3""#;
    assert_eq!(
        hint(&format!(r#"{{{base}, "depth[0]/SearchedBlock/operation": "Conv3"}}"#)).as_deref(),
        Some("did you mean `conv3`?")
    );
    let index =
        hint(&format!(r#"{{{base}, "depth[0]/SearchedBlock/operation": 9}}"#)).expect("a hint");
    assert!(index.contains("0 to 4"), "{index}");
    // An integer label given as a float is outside its domain, with the integer to write.
    let ops = r#""depth[0]/SearchedBlock/operation": "conv3", "depth2[0]/SearchedBlock/operation": "conv3""#;
    assert_eq!(
        hint(&format!(r#"{{"width": 16.0, "depth": 1, "depth2": 1, {ops}}}"#)).as_deref(),
        Some("the values are integers: write `16`, not `16.0`")
    );
    assert!(Architecture::from_json(
        &g,
        &format!(r#"{{"width": 16, "depth": 1, "depth2": 1, {ops}}}"#)
    )
    .is_ok());
    // An input choice that picks one candidate twice says so.
    let g2 = &graphs_of(
        "pick.nas",
        "network T(x: Tensor[n, 1, 5, 5]) -> Tensor[n, 1, 5, 5] {
            return pick p 2 of [x, relu(x), x + x] reduce sum
        }",
    )[0];
    match &Architecture::from_json(g2, r#"{"p": [1, 1]}"#).expect_err("invalid")[..] {
        [arch::ArchError::OutOfDomain { hint: Some(h), .. }] => {
            assert!(h.contains("candidate 1 is picked twice"), "{h}")
        }
        other => panic!("{other:?}"),
    }
    assert!(
        matches!(Architecture::from_json(&g, "{"), Err(e) if matches!(e[0], arch::ArchError::Json { .. }))
    );
    assert!(
        matches!(Architecture::from_json(&g, "[1]"), Err(e) if e[0] == arch::ArchError::NotAnObject)
    );
    for other in ["1", "\"s\"", "null", "true", "2.5", "[{\"a\": 1, \"a\": 2}]"] {
        assert!(
            matches!(Architecture::from_json(&g, other), Err(e) if e[0] == arch::ArchError::NotAnObject),
            "{other}"
        );
    }
    // A label given twice is an error at its second place, naming it (serde_json alone keeps
    // the last value).
    match &Architecture::from_json(g2, "{\"p\": [0, 1],\n \"p\": [1, 2]}").expect_err("invalid")[..]
    {
        [arch::ArchError::Duplicate { label, line: 2, .. }] => assert_eq!(label, "p"),
        other => panic!("{other:?}"),
    }
    assert!(Architecture::from_json(g2, r#"{"p": [0, 1]}"#).is_ok());
}

#[test]
fn layer_choices_accept_names_and_indices_like_nni() {
    common::at_repo_root();
    let g = graph_of_file("examples/mnist.nas");
    let mut m = serde_json::Map::new();
    for l in &g.labels.labels {
        let v = match l.kind {
            ir::LabelKind::Layer => serde_json::json!(1),
            _ => match &l.domain {
                ir::Domain::Values { values } => serde_json::to_value(&values[0]).expect("json"),
                _ => unreachable!(),
            },
        };
        m.insert(l.name.clone(), v);
    }
    let a = Architecture::from_json(&g, &serde_json::Value::Object(m).to_string()).expect("valid");
    let layer = g.labels.find("depth[0]/SearchedBlock/operation").expect("label");
    assert_eq!(a.choices[layer.0 as usize], Choice::Index(1));
    assert_eq!(a.to_json(&g)["depth[0]/SearchedBlock/operation"], "conv5");
}

#[test]
fn input_choices_and_select_nodes_fix_correctly() {
    common::at_repo_root();
    let g = &graphs_of(
        "pick.nas",
        "network P(x: Tensor[n, 4, 8, 8]) -> Tensor[n, 10] {
            let a = conv2d(x, out: 4, kernel: 1)
            let b = conv2d(x, out: 4, kernel: 1, bias: true)
            let c = relu(x)
            let e = choice e [1, 2]
            let m = pick inp 2 of [a, b, c] reduce concat
            let m = if e == 1 then relu(m) else conv2d(m, out: 8, kernel: 1)
            return linear(global_avg_pool(m), out: 10)
        }",
    )[0];
    ir::validate(g).expect("valid IR");
    let inp = g.labels.find("inp").expect("label");
    let e = g.labels.find("e").expect("label");
    let mut a = Architecture { choices: vec![Choice::Index(0); g.labels.len()] };
    a.choices[inp.0 as usize] = Choice::Subset(vec![0, 2]);
    a.choices[e.0 as usize] = Choice::Index(0);
    let fixed = arch::fix(g, &a).expect("fixes");
    let ops: Vec<&str> = fixed.nodes.iter().map(|n| n.op.as_str()).collect();
    assert_eq!(ops, vec!["input", "conv2d", "relu", "concat", "relu", "global_avg_pool", "linear"]);
    // conv a (16) + linear (8*10+10 = 90); conv b is not picked.
    assert_eq!(fixed.params, 16 + 90);
    a.choices[e.0 as usize] = Choice::Index(1);
    let fixed = arch::fix(g, &a).expect("fixes");
    assert_eq!(fixed.params, 16 + 8 * 8 + 90);
    assert!(fixed.nodes.iter().any(|n| matches!(n.op.as_str(), "conv2d") && n.shape[1] == Some(8)));
    assert!(g.nodes.iter().any(|(_, n)| matches!(n.kind, NodeKind::Select { .. })));
}

#[test]
fn equal_explicit_labels_are_one_decision() {
    common::at_repo_root();
    let g = &graphs_of(
        "tie.nas",
        "network T(x: Tensor[n, 3, 8, 8]) -> Tensor[n, 10] {
            let a = conv2d(x, out: choice label \"w\" [8, 16], kernel: 1)
            let b = conv2d(a, out: choice label \"w\" [8, 16], kernel: 1)
            return linear(global_avg_pool(b), out: 10)
        }",
    )[0];
    assert_eq!(g.labels.len(), 1);
    assert_eq!(facts(g).distinct, Some(2));
    let (codes, _) = type_errors(
        "block B(x: Tensor[n, c, h, w], k: int) -> Tensor[n, k, h, w] {
            return conv2d(x, out: k, kernel: 1, groups: choice label \"g\" [1, k])
        }
        network T(x: Tensor[n, 8, 8, 8]) -> Tensor[n, 10] {
            let a = B(x, k: 8)
            let b = B(a, k: 4)
            return linear(global_avg_pool(b), out: 10)
        }",
    );
    assert_eq!(codes, vec!["E0020"]);
}

#[test]
fn a_recursive_block_is_an_error_not_a_hang() {
    common::at_repo_root();
    let (codes, _) = type_errors(
        "block R(x: Tensor[n, c, h, w]) -> Tensor[n, c, h, w] { return R(x) }
        network N(x: Tensor[n, 1, 8, 8]) -> Tensor[n, 1, 8, 8] { return R(x) }",
    );
    assert_eq!(codes, vec!["E0111"]);
}

/// A body may rebind a dimension's name (`let w = conv2d(..)`): the declared return type
/// still means the signature's `w`, in blocks and in networks.
#[test]
fn the_return_type_is_read_in_the_signatures_scope() {
    common::at_repo_root();
    let text = "block B(x: Tensor[n, c, h, w]) -> Tensor[n, c, h, w] {
    let w = conv2d(x, out: c, kernel: 3, padding: 1)
    let h = relu(w)
    return h
}
network N(x: Tensor[n, 4, 8, 8]) -> Tensor[n, 4, 8, 8] {
    let n = B(x)
    return n
}
";
    let graphs = graphs_of("rebind.nas", text);
    assert_eq!(graphs.len(), 1);
    assert_eq!(graphs[0].shape_text(&graphs[0].nodes.get(graphs[0].output).shape), "[n, 4, 8, 8]");
    // A wrong return value is still caught with the rebinding in place.
    let (codes, _) = type_errors(&text.replace("return h\n}", "return conv2d(h, out: 2 * c)\n}"));
    assert_eq!(codes, vec!["E0101"], "{codes:?}");
}

/// The distinct networks counted from the structure of a space (`nasc_front::count`) equal the
/// count by enumeration wherever both exist: nested layer choices, repeats, input choices
/// (DARTS-style, where a node's edges are used only if picked), `if` on a boolean choice.
#[test]
fn structural_network_counts_match_enumeration() {
    common::at_repo_root();
    let spaces = [
        (
            "nested choices and a repeat",
            "network T(x: Tensor[n, 4, 8, 8]) -> Tensor[n, 10] {
                let h = choice op {
                    conv: {
                        let k = choice k [1, 3]
                        conv2d(x, out: 4, kernel: k, padding: k / 2)
                    },
                    deep: repeat d [1, 2, 3] from x { relu(conv2d(x, out: 4, kernel: 3, padding: 1, groups: choice g [1, 2, 4])) },
                    skip: x,
                }
                return linear(global_avg_pool(h), out: 10)
            }",
        ),
        (
            "a DARTS-style node: edges used only when picked, one with a `zero` alternative",
            "network T(x: Tensor[n, 4, 8, 8]) -> Tensor[n, 10] {
                let a = relu(x)
                let b = conv2d(x, out: 4, kernel: 1)
                let c = max_pool(x, kernel: 3, stride: 1, padding: 1)
                let ea = choice e0 { none: zero(a), conv: conv2d(a, out: 4, kernel: 3, padding: 1), pool: avg_pool(a, kernel: 3, stride: 1, padding: 1) }
                let eb = choice e1 { none: zero(b), conv: conv2d(b, out: 4, kernel: 3, padding: 1) }
                let ec = choice e2 { conv: conv2d(c, out: 4, kernel: 1), id: c }
                let node = pick p 2 of [ea, eb, ec] reduce sum
                return linear(global_avg_pool(node), out: 10)
            }",
        ),
        (
            "an `if` on a boolean choice",
            "network T(x: Tensor[n, 4, 8, 8]) -> Tensor[n, 10] {
                let k = choice k [1, 3]
                let y = if choice se [false, true] then relu(conv2d(x, out: 4, kernel: k, padding: k / 2)) else x
                return linear(global_avg_pool(y + x), out: 10)
            }",
        ),
        (
            "an `if` on two labels, both branches reading the same input",
            "network T(x: Tensor[n, 4, 8, 8]) -> Tensor[n, 10] {
                let a = choice a [1, 2]
                let b = choice b [1, 2, 3]
                let h = conv2d(x, out: 4, kernel: choice k [1, 3])
                let y = if a == b then relu(h) else h
                return linear(global_avg_pool(y), out: 10)
            }",
        ),
    ];
    for (what, text) in spaces {
        let g = &graphs_of("count.nas", text)[0];
        let f = facts(g);
        let enumerated = f.distinct.unwrap_or_else(|| panic!("{what}: small enough to enumerate"));
        let counted =
            nasc_front::count::count_networks(g).unwrap_or_else(|| panic!("{what}: countable"));
        assert_eq!(counted.networks, enumerated.into(), "{what}");
        assert_eq!(f.networks, Some(counted.networks.clone()), "{what}");
    }
    // By hand for the DARTS-style node: pairs {a,b}: 3 x 2, {a,c}: 3 x 2, {b,c}: 2 x 2 = 16
    // networks; without `none`: 2 x 1 + 2 x 2 + 1 x 2 = 8.
    let g = &graphs_of("count.nas", spaces[1].1)[0];
    let counted = nasc_front::count::count_networks(g).expect("countable");
    assert_eq!((counted.networks, counted.without_zero), (16u32.into(), 8u32.into()));
    // The examples that can be enumerated agree too.
    for path in ["examples/mnist.nas", "stdlib/spaces/nasbench201.nas"] {
        let g = graph_of_file(path);
        let f = facts(&g);
        assert_eq!(f.networks, f.distinct.map(Into::into), "{path}");
    }
}

/// Dimensions and operator attributes that depend on a few labels are kept small: a spatial
/// size that a kernel choice with "same" padding cannot change is a constant, and a channel
/// count rounded by `make_divisible` over a width choice is a table of its values.
#[test]
fn dimensions_over_small_label_domains_are_normalised() {
    common::at_repo_root();
    let g = &graphs_of(
        "norm.nas",
        "import std.blocks.{make_divisible}
        network T(x: Tensor[n, 3, 9, 9]) -> Tensor[n, 10] {
            let width = choice width [50, 75, 100]
            let k = choice k [3, 5, 7]
            let h = conv2d(x, out: make_divisible(24 * width / 100), kernel: k, padding: k / 2)
            return linear(global_avg_pool(h), out: 10)
        }",
    )[0];
    let conv = g
        .nodes
        .iter()
        .map(|(_, n)| n)
        .find(|n| matches!(&n.kind, NodeKind::Op { op, .. } if op == "conv2d"))
        .expect("a conv2d");
    // 24 * width / 100 is 12, 18, 24: rounded to multiples of 8, 16, 24, 24.
    assert_eq!(g.shape_text(&conv.shape), "[n, if width == 50 then 16 else 24, 9, 9]");
    let NodeKind::Op { attrs, .. } = &conv.kind else { unreachable!() };
    let out = &attrs.iter().find(|(name, _)| name == "out").expect("out").1;
    assert_eq!(g.shape_text(std::slice::from_ref(out)), "[if width == 50 then 16 else 24]");
}

/// A network input with a dimension below 1 is an error at that dimension, not a space that
/// checks clean and fails when the first batch arrives.
#[test]
fn a_network_input_with_an_empty_dimension_is_an_error() {
    common::at_repo_root();
    let (codes, text) = type_errors(
        "network N(x: Tensor[n, 3, 0, 8]) -> Tensor[n, 10] {
            return linear(global_avg_pool(x), out: 10)
        }",
    );
    assert_eq!(codes, ["E0106"], "{text}");
    assert!(
        text.contains("dimension 2 of the input `x` must be at least 1, but it is 0"),
        "{text}"
    );
}

/// A block body with hundreds of names (past the size from which the type stage indexes a
/// scope): a `let` of an existing name rebinds it, a loop carries it over, and a name bound
/// inside a loop body is unknown after it.
#[test]
fn large_scopes_bind_rebind_and_forget_names() {
    common::at_repo_root();
    let mut body = String::from("    let h = relu(x)\n");
    for i in 0..300 {
        body += &format!("    let v{i} = relu(h)\n");
    }
    // Rebinding an early name after 300 others: the later binding is the one read.
    body += "    let v3 = linear(v299, out: 6)\n    let h = v3\n";
    body += "    for i in 0..3 {\n        let h = linear(h, out: 6)\n    }\n";
    let text = format!("network N(x: Tensor[n, 4]) -> Tensor[n, 6] {{\n{body}    return h\n}}\n");
    let g = &graphs_of("large.nas", &text)[0];
    assert_eq!(g.shape_text(&g.nodes.get(g.output).shape), "[n, 6]");
    // Four `linear`s: the rebinding and three loop iterations reading the carried value.
    let linears = g.nodes.iter().filter(|(_, n)| matches!(&n.kind, nasc_front::ir::NodeKind::Op { op, .. } if op.as_str() == "linear")).count();
    assert_eq!(linears, 4);
    // A loop body's name is gone after the loop, however many names there are.
    let text = format!(
        "network N(x: Tensor[n, 4]) -> Tensor[n, 4] {{\n{}    for i in 0..2 {{\n        let inner = relu(x)\n    }}\n    return inner\n}}\n",
        (0..300).map(|i| format!("    let v{i} = relu(x)\n")).collect::<String>()
    );
    let input =
        driver::Input::Bytes { name: "gone.nas", origin: &Origin::Memory, bytes: text.as_bytes() };
    let (program, diags) = driver::load(input, None).expect("bytes are readable");
    let rendered = render_plain(&diags, &program.sources);
    assert!(diags.iter().any(|d| d.message.contains("inner")), "{rendered}");
}

/// Operators as data (`ir::Op`): every operator `stdlib/ops.nas` declares that the runtime
/// implements maps to an `Op` whose name gives it back, and every `Op` but `mean` (which input
/// choices make, and `.nas` does not declare) is declared there.
#[test]
fn stdlib_operators_the_runtime_implements_are_ops_and_back() {
    use nasc_front::ir::Op;
    use nasc_front::syntax::ast::Item;
    let src = nasc_front::stdlib::source("std.ops").expect("std.ops is embedded");
    let (module, errors) = nasc_front::syntax::parser::parse_module(src);
    assert!(errors.is_empty(), "std.ops parses: {errors:?}");
    let declared: Vec<String> = module
        .items
        .iter()
        .filter_map(|i| match i {
            Item::Op(o) => Some(o.name.name.to_string()),
            _ => None,
        })
        .collect();
    assert!(declared.len() >= 20, "found only {} operators", declared.len());
    let mut implemented = Vec::new();
    for name in &declared {
        if let Some(op) = Op::from_name(name) {
            assert_eq!(op.name(), name, "{op:?} round trips");
            implemented.push(op);
        }
    }
    for op in Op::ALL {
        assert_eq!(Op::from_name(op.name()), Some(op), "{op:?} round trips");
        if op != Op::Mean {
            assert!(implemented.contains(&op), "`{}` is declared in stdlib/ops.nas", op.name());
        }
    }
    assert_eq!(implemented.len(), Op::ALL.len() - 1);
    assert_eq!(Op::from_name("mean"), Some(Op::Mean));
    assert_eq!(Op::from_name("conv3d"), None);
}

/// The type stage resolves each operator once and stores it in the node: the runtime's
/// operators as their `Op`, an operator declared in `.nas` that the runtime does not implement
/// as `None`, which lowering reports (the runtime has no implementation of it).
#[test]
fn the_type_stage_resolves_operators_once_and_lowering_names_the_unknown_ones() {
    use nasc_front::ir::Op;
    use nasc_front::lower::{lower, LowerProblem, OneShotKind};
    let g = &graphs_of(
        "unknown_op.nas",
        "operator swish2(x: Tensor[...s]) -> Tensor[...s] {
            params = 0
            flops = 0
        }

        network T(x: Tensor[n, 1, 8, 8]) -> Tensor[n, 10] {
            let h = swish2(relu(conv2d(x, out: 4, kernel: 3, padding: 1)))
            return linear(global_avg_pool(h), out: 10)
        }",
    )[0];
    let mut seen = Vec::new();
    for (_, node) in g.nodes.iter() {
        if let NodeKind::Op { op, kind, .. } = &node.kind {
            assert_eq!(*kind, Op::from_name(op), "`{}` is resolved", &**op);
            seen.push((op.to_string(), *kind));
        }
    }
    assert!(seen.contains(&("conv2d".into(), Some(Op::Conv2d))), "{seen:?}");
    assert!(seen.contains(&("swish2".into(), None)), "{seen:?}");
    let errors = lower(g, OneShotKind::Darts).expect_err("swish2 does not lower");
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].problem, LowerProblem::UnknownOperator { op: "swish2".into() });
}

/// A DARTS cell of 120 steps (7,380 edges of 8 operations each) is counted exactly, by the
/// closed form: node `i` picks 2 of its `2 + i` edges, each with one of 8 operations (7 without
/// `none`). The count used to take time that grew with the fourth power of the steps (a cell of
/// 200 steps took 5 s here, now 1.4 s, most of it elaboration); this pins the result, not the
/// time.
#[test]
fn a_deep_darts_cell_is_counted_exactly_by_its_closed_form() {
    let steps = 120u32;
    let text = format!(
        "import std.cells.{{darts_cell}}
        network D(x: Tensor[n, 3, 8, 8]) -> Tensor[n, 10] {{
            let stem = conv_bn(x, out: 4, kernel: 3)
            let a = darts_cell(stem, stem, c: 2, steps: {steps})
            return linear(global_avg_pool(a), out: 10)
        }}"
    );
    let g = &graphs_of("deep.nas", &text)[0];
    let counted = nasc_front::count::count_networks(g).expect("countable");
    let (mut networks, mut genotypes) =
        (num_bigint::BigUint::from(1u32), num_bigint::BigUint::from(1u32));
    for i in 0..steps {
        let n = 2 + i;
        let pairs = n * (n - 1) / 2;
        networks *= pairs * 64;
        genotypes *= pairs * 49;
    }
    assert_eq!((counted.networks, counted.without_zero), (networks, genotypes));
}
