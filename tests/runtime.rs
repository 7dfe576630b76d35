//! The burn runtime on small tensors: every operator's shapes and values against hand-computed
//! results or a naive reference written here, finite-difference gradient checks of the pieces
//! nasc implements itself, and the parameter count of every built network against the IR.

use burn::tensor::{Device, Tensor, TensorData};
use nasc::arch::{self, Architecture, FixedGraph};
use nasc::diagnostics::wording;
use nasc::ir::Graph;
use nasc::runtime::network::Layer;
use nasc::runtime::{Network, RuntimeError, Value};
use nasc::source::Origin;
use rand::{Rng, SeedableRng};

fn graph(text: &str) -> Graph {
    nasc::driver::graphs_of_text("test.nas", text).unwrap_or_else(|e| panic!("{e}")).remove(0)
}

fn graph_of_file(path: &str) -> Graph {
    let input = nasc::driver::Input::Path(std::path::Path::new(path));
    nasc::driver::graphs(input).unwrap_or_else(|e| panic!("{path}: {e}")).remove(0)
}

/// The fixed graph of a network without choices.
fn fixed(text: &str) -> FixedGraph {
    let g = graph(text);
    let a = Architecture::from_json(&g, "{}").expect("no labels");
    arch::fix(&g, &a).expect("fixes")
}

fn build(text: &str) -> (FixedGraph, Network) {
    let f = fixed(text);
    let net = Network::build(&f, &Device::flex(), 7).expect("builds");
    (f, net)
}

fn map(data: Vec<f32>, shape: [usize; 4], device: &Device) -> Tensor<4> {
    Tensor::from_data(TensorData::new(data, shape), device)
}

fn values(v: Value) -> (Vec<usize>, Vec<f32>) {
    let dims = v.dims();
    let data = match v {
        Value::Map(t) => t.into_data(),
        Value::Flat(t) => t.into_data(),
    };
    (dims, data.convert::<f32>().try_into_vec::<f32>().expect("f32"))
}

/// Runs a one-input network without weights on `data` of `shape` (inference).
fn run(text: &str, data: Vec<f32>, shape: [usize; 4]) -> (Vec<usize>, Vec<f32>) {
    let (_, net) = build(text);
    let device = Device::flex();
    values(net.forward_map(map(data, shape, &device)).expect("runs"))
}

fn close(a: &[f32], b: &[f32], tol: f32) {
    assert_eq!(a.len(), b.len(), "lengths differ: {a:?} vs {b:?}");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!((x - y).abs() <= tol * (1.0 + y.abs()), "element {i}: {x} vs {y}\n{a:?}\n{b:?}");
    }
}

#[test]
fn activations_match_their_formulas() {
    let xs = vec![-4.0f32, -1.0, 0.0, 1.0, 3.0, 7.0];
    let net = |op: &str| {
        format!("network T(x: Tensor[n, 1, 1, 6]) -> Tensor[n, 1, 1, 6] {{ return {op}(x) }}")
    };
    let out = |op: &str| run(&net(op), xs.clone(), [1, 1, 1, 6]).1;
    close(&out("relu"), &[0.0, 0.0, 0.0, 1.0, 3.0, 7.0], 1e-6);
    close(&out("relu6"), &[0.0, 0.0, 0.0, 1.0, 3.0, 6.0], 1e-6);
    close(&out("identity"), &xs, 0.0);
    let sigmoid: Vec<f32> = xs.iter().map(|x| 1.0 / (1.0 + (-x).exp())).collect();
    close(&out("sigmoid"), &sigmoid, 1e-5);
    let silu: Vec<f32> = xs.iter().zip(&sigmoid).map(|(x, s)| x * s).collect();
    close(&out("silu"), &silu, 1e-5);
    // x * relu6(x + 3) / 6: -4 -> 0, -1 -> -1/3, 1 -> 2/3, 3 -> 3, 7 -> 7.
    close(&out("hardswish"), &[0.0, -1.0 / 3.0, 0.0, 2.0 / 3.0, 3.0, 7.0], 1e-5);
    // x * Phi(x), exact (erf) form; values from the normal CDF table.
    close(&out("gelu"), &[-0.000_126_7, -0.158_655_3, 0.0, 0.841_344_7, 2.995_950_2, 7.0], 1e-4);
    // Dropout is the identity at inference.
    close(
        &run(
            "network T(x: Tensor[n, 1, 1, 6]) -> Tensor[n, 1, 1, 6] { return dropout(x, p: 0.5) }",
            xs.clone(),
            [1, 1, 1, 6],
        )
        .1,
        &xs,
        0.0,
    );
}

#[test]
fn pooling_matches_hand_computed_windows() {
    let x: Vec<f32> = (0..16).map(|v| v as f32).collect();
    let (dims, v) = run(
        "network T(x: Tensor[n, 1, 4, 4]) -> Tensor[n, 1, 2, 2] { return max_pool(x, kernel: 2) }",
        x.clone(),
        [1, 1, 4, 4],
    );
    assert_eq!(dims, [1, 1, 2, 2]);
    close(&v, &[5.0, 7.0, 13.0, 15.0], 0.0);
    let (_, v) = run(
        "network T(x: Tensor[n, 1, 4, 4]) -> Tensor[n, 1, 2, 2] { return avg_pool(x, kernel: 2) }",
        x,
        [1, 1, 4, 4],
    );
    close(&v, &[2.5, 4.5, 10.5, 12.5], 1e-6);
    // 3x3 windows with padding 1 on [[1,2,3],[4,5,6],[7,8,9]]: the corner window holds
    // 1, 2, 4, 5 (sum 12) and five padded cells.
    let x: Vec<f32> = (1..=9).map(|v| v as f32).collect();
    let with = "network T(x: Tensor[n, 1, 3, 3]) -> Tensor[n, 1, 3, 3] { return avg_pool(x, kernel: 3, stride: 1, padding: 1) }";
    let (_, v) = run(with, x.clone(), [1, 1, 3, 3]);
    close(&v[..2], &[12.0 / 9.0, 21.0 / 9.0], 1e-6);
    let (_, v) = run(
        &with.replace("padding: 1)", "padding: 1, count_include_pad: false)"),
        x.clone(),
        [1, 1, 3, 3],
    );
    close(&v, &[3.0, 3.5, 4.0, 4.5, 5.0, 5.5, 6.0, 6.5, 7.0], 1e-6);
    // Max pooling pads with minus infinity: a negative map keeps its own values at the edges.
    let neg: Vec<f32> = x.iter().map(|v| -v).collect();
    let (_, v) = run(&with.replace("avg_pool", "max_pool"), neg, [1, 1, 3, 3]);
    close(&v, &[-1.0, -1.0, -2.0, -1.0, -1.0, -2.0, -4.0, -4.0, -5.0], 0.0);
    // Global average pooling and flatten (C, H, W order).
    let x: Vec<f32> = (0..8).map(|v| v as f32).collect();
    let (dims, v) = run(
        "network T(x: Tensor[n, 2, 2, 2]) -> Tensor[n, 2] { return global_avg_pool(x) }",
        x.clone(),
        [1, 2, 2, 2],
    );
    assert_eq!(dims, [1, 2]);
    close(&v, &[1.5, 5.5], 1e-6);
    let (dims, v) = run(
        "network T(x: Tensor[n, 2, 2, 2]) -> Tensor[n, 8] { return flatten(x) }",
        x,
        [1, 2, 2, 2],
    );
    assert_eq!(dims, [1, 8]);
    close(&v, &[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0], 0.0);
}

#[test]
fn zero_crop_concat_add_and_mean() {
    let x: Vec<f32> = (0..25).map(|v| v as f32 + 1.0).collect();
    let (dims, v) = run(
        "network T(x: Tensor[n, 1, 5, 5]) -> Tensor[n, 1, 3, 3] { return zero(x, stride: 2) }",
        x.clone(),
        [1, 1, 5, 5],
    );
    assert_eq!(dims, [1, 1, 3, 3]);
    assert!(v.iter().all(|v| *v == 0.0));
    let (dims, v) = run("network T(x: Tensor[n, 1, 5, 5]) -> Tensor[n, 1, 3, 4] { return crop(x, top: 2, left: 1) }", x.clone(), [1, 1, 5, 5]);
    assert_eq!(dims, [1, 1, 3, 4]);
    close(&v, &[12.0, 13.0, 14.0, 15.0, 17.0, 18.0, 19.0, 20.0, 22.0, 23.0, 24.0, 25.0], 0.0);
    let (dims, v) = run(
        "network T(x: Tensor[n, 1, 5, 5]) -> Tensor[n, 2, 5, 5] { return concat(x, relu(x)) }",
        x.clone(),
        [1, 1, 5, 5],
    );
    assert_eq!(dims, [1, 2, 5, 5]);
    close(&v[..25], &x, 0.0);
    close(&v[25..], &x, 0.0);
    let (_, v) = run(
        "network T(x: Tensor[n, 1, 5, 5]) -> Tensor[n, 1, 5, 5] { return x + x }",
        x.clone(),
        [1, 1, 5, 5],
    );
    close(&v, &x.iter().map(|v| 2.0 * v).collect::<Vec<_>>(), 0.0);
    // An input choice of two out of three with `reduce mean`: (x + relu(-x) + 3x) picks.
    let g = graph(
        "network T(x: Tensor[n, 1, 5, 5]) -> Tensor[n, 1, 5, 5] {
            let paths = [x, relu(x), x + x]
            return pick p 2 of paths reduce mean
        }",
    );
    let a = Architecture::from_json(&g, r#"{"p": [0, 2]}"#).expect("valid");
    let f = arch::fix(&g, &a).expect("fixes");
    let net = Network::build(&f, &Device::flex(), 0).expect("builds");
    let (_, v) =
        values(net.forward_map(map(x.clone(), [1, 1, 5, 5], &Device::flex())).expect("runs"));
    close(&v, &x.iter().map(|v| 1.5 * v).collect::<Vec<_>>(), 1e-6);
}

#[test]
fn hardsigmoid_scale_and_channel_slice() {
    // relu6(x + 3) / 6: -4 -> 0, -1 -> 1/3, 0 -> 1/2, 1 -> 2/3, 3 -> 1, 7 -> 1.
    let xs = vec![-4.0f32, -1.0, 0.0, 1.0, 3.0, 7.0];
    let (_, v) = run(
        "network T(x: Tensor[n, 1, 1, 6]) -> Tensor[n, 1, 1, 6] { return hardsigmoid(x) }",
        xs,
        [1, 1, 1, 6],
    );
    close(&v, &[0.0, 1.0 / 3.0, 0.5, 2.0 / 3.0, 1.0, 1.0], 1e-6);
    // Four channels of 2x2, channel j holding j * 10 + position.
    let x: Vec<f32> = (0..4).flat_map(|j| (0..4).map(move |p| (j * 10 + p) as f32)).collect();
    let (dims, v) =
        run("network T(x: Tensor[n, 4, 2, 2]) -> Tensor[n, 2, 2, 2] { return channel_slice(x, start: 1, count: 2, step: 2) }", x.clone(), [1, 4, 2, 2]);
    assert_eq!(dims, [1, 2, 2, 2]);
    close(&v, &[10.0, 11.0, 12.0, 13.0, 30.0, 31.0, 32.0, 33.0], 0.0);
    let (_, v) = run("network T(x: Tensor[n, 4, 2, 2]) -> Tensor[n, 3, 2, 2] { return channel_slice(x, start: 1, count: 3) }", x.clone(), [1, 4, 2, 2]);
    close(&v, &x[4..], 0.0);
    // Scaling each channel by its own mean (global average pooling): channel j times j * 10 + 1.5.
    let (_, v) = run("network T(x: Tensor[n, 4, 2, 2]) -> Tensor[n, 4, 2, 2] { return scale(x, global_avg_pool(x)) }", x.clone(), [1, 4, 2, 2]);
    let expected: Vec<f32> =
        x.iter().enumerate().map(|(i, v)| v * ((i / 4) as f32 * 10.0 + 1.5)).collect();
    close(&v, &expected, 1e-6);
}

/// Naive NCHW convolution with PyTorch's semantics, for reference.
#[allow(clippy::too_many_arguments)]
fn naive_conv(
    x: &[f32],
    [n, c, h, w]: [usize; 4],
    weight: &[f32],
    bias: Option<&[f32]>,
    out: usize,
    k: usize,
    stride: usize,
    pad: usize,
    dil: usize,
    groups: usize,
) -> Vec<f32> {
    let oh = (h + 2 * pad - dil * (k - 1) - 1) / stride + 1;
    let ow = (w + 2 * pad - dil * (k - 1) - 1) / stride + 1;
    let (cg, og) = (c / groups, out / groups);
    let mut y = vec![0.0f32; n * out * oh * ow];
    for b in 0..n {
        for o in 0..out {
            let g = o / og;
            for i in 0..oh {
                for j in 0..ow {
                    let mut s = bias.map_or(0.0, |b| b[o]);
                    for ci in 0..cg {
                        for ki in 0..k {
                            for kj in 0..k {
                                let (yy, xx) = (
                                    (i * stride + ki * dil) as isize - pad as isize,
                                    (j * stride + kj * dil) as isize - pad as isize,
                                );
                                if yy < 0 || xx < 0 || yy >= h as isize || xx >= w as isize {
                                    continue;
                                }
                                let cin = g * cg + ci;
                                s += x[((b * c + cin) * h + yy as usize) * w + xx as usize]
                                    * weight[((o * cg + ci) * k + ki) * k + kj];
                            }
                        }
                    }
                    y[((b * out + o) * oh + i) * ow + j] = s;
                }
            }
        }
    }
    y
}

fn conv_weights(net: &Network, layer: usize) -> (Vec<f32>, Option<Vec<f32>>) {
    let Layer::Conv(conv) = &net.layers[layer] else {
        panic!("layer {layer} is not a convolution")
    };
    let w = conv.weight.val().into_data().convert::<f32>().try_into_vec::<f32>().expect("f32");
    let b = conv
        .bias
        .as_ref()
        .map(|b| b.val().into_data().convert::<f32>().try_into_vec::<f32>().expect("f32"));
    (w, b)
}

#[test]
fn convolutions_match_a_naive_reference() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    let shape = [2, 4, 7, 6];
    let x: Vec<f32> = (0..shape.iter().product()).map(|_| rng.random_range(-1.0..1.0)).collect();
    let device = Device::flex();
    // stride 2, padding 1, dilation 2, groups 2, with a bias.
    let (f, net) = build("network T(x: Tensor[n, 4, 7, 6]) -> Tensor[n, 6, 3, 2] { return conv2d(x, out: 6, kernel: 3, stride: 2, padding: 1, dilation: 2, groups: 2, bias: true) }");
    assert_eq!(f.nodes.iter().filter(|n| n.op == "conv2d").count(), 1);
    let (w, b) = conv_weights(&net, 0);
    assert_eq!(w.len(), 6 * 2 * 3 * 3);
    assert!(b.as_ref().is_some_and(|b| b.iter().all(|v| *v == 0.0)), "biases start at zero");
    // Kaiming normal, fan-out: std sqrt(2 / (6 / 2 * 9)) = 0.272.
    let std = (w.iter().map(|v| v * v).sum::<f32>() / w.len() as f32).sqrt();
    assert!((0.17..0.38).contains(&std), "weight std {std}");
    let (dims, v) = values(net.forward_map(map(x.clone(), shape, &device)).expect("runs"));
    assert_eq!(dims, [2, 6, 3, 2]);
    close(&v, &naive_conv(&x, shape, &w, b.as_deref(), 6, 3, 2, 1, 2, 2), 1e-4);
    // Depthwise with a multiplier of 2: groups = channels, 8 outputs.
    let (_, net) = build("network T(x: Tensor[n, 4, 7, 6]) -> Tensor[n, 8, 7, 6] { return depthwise_conv2d(x, kernel: 3, padding: 1, multiplier: 2) }");
    let (w, b) = conv_weights(&net, 0);
    assert!(b.is_none());
    let (_, v) = values(net.forward_map(map(x.clone(), shape, &device)).expect("runs"));
    close(&v, &naive_conv(&x, shape, &w, None, 8, 3, 1, 1, 1, 4), 1e-4);
}

#[test]
fn linear_matches_a_naive_reference() {
    let (_, net) = build(
        "network T(x: Tensor[n, 3, 1, 1]) -> Tensor[n, 2] { return linear(flatten(x), out: 2) }",
    );
    let Layer::Linear(lin) = &net.layers[0] else { panic!("not linear") };
    // burn stores the weight as [in, out].
    let w = lin.weight.val().into_data().convert::<f32>().try_into_vec::<f32>().expect("f32");
    assert_eq!(lin.weight.val().dims(), [3, 2]);
    let bound = 1.0 / 3f32.sqrt();
    assert!(
        w.iter().all(|v| v.abs() <= bound),
        "PyTorch's uniform(-1/sqrt(fan_in), 1/sqrt(fan_in))"
    );
    let x = [0.5f32, -1.0, 2.0, 1.0, 0.0, -3.0];
    let (dims, v) =
        values(net.forward_map(map(x.to_vec(), [2, 3, 1, 1], &Device::flex())).expect("runs"));
    assert_eq!(dims, [2, 2]);
    let w = &w;
    let expect: Vec<f32> = (0..2)
        .flat_map(|b| (0..2).map(move |o| (0..3).map(|i| x[b * 3 + i] * w[i * 2 + o]).sum::<f32>()))
        .collect();
    close(&v, &expect, 1e-5);
}

#[test]
fn batch_norm_uses_batch_statistics_while_training_and_running_ones_after() {
    let text = "network T(x: Tensor[n, 2, 1, 2]) -> Tensor[n, 2, 1, 2] { return batch_norm(x) }";
    let f = fixed(text);
    let device = Device::flex().autodiff();
    let net = Network::build(&f, &device, 7).expect("builds");
    // Channel 0 holds 1, 2, 3, 4 over two samples; channel 1 holds 10 everywhere.
    let x = vec![1.0, 2.0, 10.0, 10.0, 3.0, 4.0, 10.0, 10.0];
    let (_, v) = values(net.forward_map(map(x.clone(), [2, 2, 1, 2], &device)).expect("runs"));
    // Mean 2.5, biased variance 1.25: (x - 2.5) / sqrt(1.25 + 1e-5).
    let s = (1.25f32 + 1e-5).sqrt();
    close(&v, &[-1.5 / s, -0.5 / s, 0.0, 0.0, 0.5 / s, 1.5 / s, 0.0, 0.0], 1e-4);
    // Running statistics moved by momentum 0.1, the variance unbiased (5/3) as PyTorch does.
    let Layer::Norm(bn) = &net.layers[0] else { panic!("not batch norm") };
    let mean = bn
        .running_mean
        .value_sync()
        .into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .expect("f32");
    let var = bn
        .running_var
        .value_sync()
        .into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .expect("f32");
    close(&mean, &[0.25, 1.0], 1e-5);
    close(&var, &[0.9 + 0.1 * 5.0 / 3.0, 0.9], 1e-5);
    // In inference mode the running statistics normalise.
    use burn::module::Module;
    let valid = net.valid();
    let (_, v) = values(valid.forward_map(map(x, [2, 2, 1, 2], &Device::flex())).expect("runs"));
    let s0 = (0.9f32 + 0.5 / 3.0 + 1e-5).sqrt();
    let s1 = (0.9f32 + 1e-5).sqrt();
    close(&v[..2], &[(1.0 - 0.25) / s0, (2.0 - 0.25) / s0], 1e-4);
    close(&v[2..4], &[9.0 / s1, 9.0 / s1], 1e-4);
}

#[test]
fn dropout_zeroes_and_rescales_while_training() {
    let f = fixed("network T(x: Tensor[n, 1, 100, 100]) -> Tensor[n, 1, 100, 100] { return dropout(x, p: 0.25) }");
    let device = Device::flex().autodiff();
    device.seed(3);
    let net = Network::build(&f, &device, 7).expect("builds");
    let (_, v) = values(net.forward_map(Tensor::ones([1, 1, 100, 100], &device)).expect("runs"));
    let zeros = v.iter().filter(|v| **v == 0.0).count();
    assert!((2_200..2_800).contains(&zeros), "{zeros} of 10,000 dropped at p = 0.25");
    assert!(
        v.iter().all(|v| *v == 0.0 || (v - 4.0 / 3.0).abs() < 1e-6),
        "survivors are scaled by 1 / (1 - p)"
    );
}

/// Central finite differences of `sum(out * r)` against burn's gradient, on the input.
fn gradient_check(text: &str, arch_json: &str, shape: [usize; 4]) {
    let g = graph(text);
    let f = arch::fix(&g, &Architecture::from_json(&g, arch_json).expect("valid")).expect("fixes");
    let device = Device::flex().autodiff();
    device.seed(11);
    let net = Network::build(&f, &device, 7).expect("builds");
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
    let n: usize = shape.iter().product();
    let x: Vec<f32> = (0..n).map(|_| rng.random_range(-1.0..1.0)).collect();
    let probe = |x: Vec<f32>| -> (Tensor<1>, Tensor<4>) {
        let xt = map(x, shape, &device).require_grad();
        let out = net.forward_map(xt.clone()).expect("runs");
        let Value::Flat(out) = out else { panic!("flat output expected") };
        let r = Tensor::<2>::from_data(
            TensorData::new(
                (0..out.dims().iter().product::<usize>())
                    .map(|i| ((i * 7 % 5) as f32) - 2.0)
                    .collect::<Vec<_>>(),
                out.dims(),
            ),
            &device,
        );
        ((out * r).sum(), xt)
    };
    let (loss, xt) = probe(x.clone());
    let grads = loss.backward();
    let grad = xt
        .grad(&grads)
        .expect("the input has a gradient")
        .into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .expect("f32");
    let eps = 1e-2f32;
    for i in (0..n).step_by((n / 24).max(1)) {
        let mut plus = x.clone();
        plus[i] += eps;
        let mut minus = x.clone();
        minus[i] -= eps;
        let fp = probe(plus).0.into_scalar::<f32>();
        let fm = probe(minus).0.into_scalar::<f32>();
        let numeric = (fp - fm) / (2.0 * eps);
        assert!(
            (numeric - grad[i]).abs() <= 2e-2 * (1.0 + numeric.abs()),
            "{text}\nelement {i}: finite difference {numeric}, autodiff {}",
            grad[i]
        );
    }
}

#[test]
fn gradients_of_our_own_pieces_match_finite_differences() {
    // Batch norm (ours: optional affine, batch statistics), crop, concat, global pooling.
    gradient_check(
        "network T(x: Tensor[n, 2, 5, 5]) -> Tensor[n, 4] {
            let a = crop(x, top: 1, left: 1)
            let b = batch_norm(a, affine: false)
            return global_avg_pool(concat(b, a))
        }",
        "{}",
        [3, 2, 5, 5],
    );
    // Mean of an input choice, zero, flatten, and DARTS' factorized reduce (two shifted
    // stride-2 paths, concatenated).
    gradient_check(
        "network T(x: Tensor[n, 2, 4, 4]) -> Tensor[n, 32] {
            let z = zero(x, stride: 1)
            let paths = [x, z, relu(x)]
            let m = pick p 3 of paths reduce mean
            return flatten(factorized_reduce(m, out: 8))
        }",
        r#"{"p": [0, 1, 2]}"#,
        [2, 2, 4, 4],
    );
}

#[test]
fn an_operator_that_gets_the_wrong_shape_names_its_place() {
    let text = "network T(x: Tensor[n, 1, 8, 8]) -> Tensor[n, 4] {\n    let y = conv2d(x, out: 4, kernel: 3)\n    return global_avg_pool(y)\n}";
    let (_, net) = build(text);
    let err =
        net.forward_map(Tensor::zeros([1, 1, 9, 9], &Device::flex())).expect_err("9x9 is not 8x8");
    let RuntimeError::Shape { op, loc, expected, found } = &err else { panic!("{err:?}") };
    assert_eq!(op, "input");
    assert_eq!((expected.as_str(), found.as_str()), ("[batch, 1, 8, 8]", "[1, 1, 9, 9]"));
    assert_eq!(&text[loc.span.range()], "x: Tensor[n, 1, 8, 8]");
    assert!(err.to_string().contains("[batch, 1, 8, 8]"), "{err}");
}

/// Every architecture of a small space, and random ones of the examples: the network burn
/// builds has exactly the parameters the IR counted.
#[test]
fn built_networks_have_the_parameter_count_of_the_ir() {
    let g = graph(
        "block Edge(x: Tensor[n, c, h, w], k: int) -> Tensor[n, c, h, w] {
            return choice op {
                conv: conv_bn_relu(x, out: c, kernel: k),
                sep: sep_conv(x, out: c, kernel: k, affine: false),
                dil: dil_conv(x, out: c, kernel: 3),
                mb: mb_conv(x, out: c, expand: choice e [1, 3], kernel: k),
                pool: avg_pool_3x3(x),
                zero: zero(x),
            }
        }
        network S(x: Tensor[n, 3, 8, 8]) -> Tensor[n, 5] {
            let width = choice width [4, 8]
            let h = conv_bn(x, out: width, kernel: 3)
            let h = repeat depth [1, 2] from h { Edge(h, k: choice kernel [3, 5]) }
            let r = skip_connect(h, stride: 2)
            let paths = [r, max_pool_3x3(h, stride: 2), relu_conv_bn(r, out: width)]
            let m = pick mix 2 of paths reduce concat
            return linear(dropout(global_avg_pool(m), p: 0.1), out: 5, bias: choice bias [true, false])
        }",
    );
    let all = arch::enumerate(&g, 100_000).expect("small space");
    assert!(all.len() > 500, "{} architectures", all.len());
    let device = Device::flex();
    let mut seen = std::collections::HashSet::new();
    for a in &all {
        let f = arch::fix(&g, a).expect("fixes");
        if !seen.insert(serde_json::to_string(&f).expect("serialises")) {
            continue; // the same network under labels it does not use
        }
        let net = Network::build(&f, &device, 7).expect("builds");
        assert_eq!(
            net.trainable_params() as u64,
            f.params,
            "{}",
            serde_json::Value::Object(a.to_json(&g))
        );
    }
    assert!(seen.len() > 200, "{} distinct networks", seen.len());
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2);
    for path in ["examples/mnist.nas", "examples/nested.nas", "examples/darts_cell.nas"] {
        let g = graph_of_file(path);
        for _ in 0..5 {
            let a = Architecture::random(&g, &mut rng);
            let f = arch::fix(&g, &a).expect("fixes");
            let net = Network::build(&f, &device, 7).expect("builds");
            assert_eq!(net.trainable_params() as u64, f.params, "{path}");
        }
    }
}

/// E0302, rendered: an operator's failure points at its place in the `.nas` file.
#[test]
fn an_operator_failure_renders_as_a_diagnostic_at_its_place() {
    let text = "network Net(x: Tensor[n, 1, 8, 8]) -> Tensor[n, 4] {\n    return global_avg_pool(conv2d(x, out: 4, kernel: 3))\n}\n";
    let input = nasc::driver::Input::Bytes {
        name: "net.nas",
        origin: &Origin::Memory,
        bytes: text.as_bytes(),
    };
    let c = nasc::driver::compile(input, Default::default()).expect("bytes are readable");
    let (program, graphs) = (c.program, c.graphs);
    let f = arch::fix(&graphs[0], &Architecture::from_json(&graphs[0], "{}").expect("valid"))
        .expect("fixes");
    let net = Network::build(&f, &Device::flex(), 0).expect("builds");
    let err = net.forward_map(Tensor::zeros([1, 1, 9, 9], &Device::flex())).expect_err("9x9");
    let d = wording::runtime_error(&err.failure().expect("it has a place"));
    assert_eq!(d.code, "E0302");
    insta::assert_snapshot!(nasc::diagnostics::render_plain(&[d], &program.sources));
}
