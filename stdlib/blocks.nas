// std.blocks: building blocks shared by the spaces of the model-space hub (stdlib/spaces/).
//
// The DARTS operations, conv-bn-relu and MobileNetV2's inverted residual are in the prelude
// (std.ops); the cells that carry the searched decisions are in std.cells. What is here is
// fixed structure that more than one space, or a space and its reference networks, uses:
//
// - `nb201_residual`: the residual block NAS-Bench-201 places between its stages;
// - `make_divisible`, the channel rounding of the MobileNet family;
// - `squeeze_excite` and `mbv3_block`: MobileNetV3's squeeze-and-excitation and its inverted
//   residual with a choice of activation and an optional SE module (std.spaces.mobilenetv3);
// - `shufflenet_unit`: the ShuffleNetV2 and Xception units of SPOS (std.spaces.shufflenet).

/// The residual block between the stages of NAS-Bench-201 (`ResNetBasicblock` in the
/// benchmark's code, Dong & Yang 2020): two pre-activation 3x3 `relu_conv_bn` layers, the first
/// with the stride, plus a shortcut. At stride 2 the shortcut is a 2x2 average pooling followed
/// by a 1x1 convolution (no batch norm); at stride 1 it is a 1x1 `relu_conv_bn` when the
/// channels change, and the identity otherwise. At stride 2 the height and width must be even.
block nb201_residual(x: Tensor[n, c, h, w], out: int, stride: int = 1)
    -> Tensor[n, out, (h - 1) / stride + 1, (w - 1) / stride + 1]
{
    let y = relu_conv_bn(x, out: out, kernel: 3, stride: stride)
    let y = relu_conv_bn(y, out: out, kernel: 3)
    let shortcut = if stride == 2
        then conv2d(avg_pool(x, kernel: 2, stride: 2), out: out, kernel: 1)
        else if c == out then x else relu_conv_bn(x, out: out, kernel: 1)
    return shortcut + y
}

/// The channel rounding of the MobileNet family (`_make_divisible` in TensorFlow's and
/// torchvision's MobileNet code): `v` rounded to the nearest multiple of `divisor`, at least
/// `divisor`, and one `divisor` more when rounding down lost more than 10% of `v`.
block make_divisible(v: int, divisor: int = 8) -> int {
    let r = (v + divisor / 2) / divisor * divisor
    let r = if r < divisor then divisor else r
    return if 10 * r < 9 * v then r + divisor else r
}

/// MobileNetV3's squeeze-and-excitation module (Hu et al. 2018, as in Howard et al. 2019 and
/// torchvision's `SqueezeExcitation`): global average pooling, a fully connected layer (with
/// bias) to `make_divisible(c / 4)` features and ReLU, a fully connected layer back to `c`
/// and a hard sigmoid, whose outputs scale the channels of `x`. torchvision's 1x1
/// convolutions on the pooled `[n, c, 1, 1]` tensor have the same parameters and
/// multiply-adds as these linear layers.
block squeeze_excite(x: Tensor[n, c, h, w], reduction: int = 4) -> Tensor[n, c, h, w] {
    let s = relu(linear(global_avg_pool(x), out: make_divisible(c / reduction), bias: true))
    let s = hardsigmoid(linear(s, out: c, bias: true))
    return scale(x, s)
}

/// MobileNetV3's inverted residual block (`bneck`, Howard et al. 2019, table 1; torchvision's
/// `InvertedResidual`): a 1x1 expansion to `expanded` channels with batch norm and the
/// activation (skipped when `expanded == c`), a depthwise `kernel` x `kernel` convolution with
/// batch norm and the activation, squeeze-and-excitation when `se`, then a linear 1x1
/// projection to `out` with batch norm; plus `x` when `residual` (which needs `stride` 1 and
/// `out == c`; MobileNetV3 adds it wherever they hold). The activation is hard swish when
/// `hswish`, ReLU otherwise. "Same" padding; the kernel must be odd.
block mbv3_block(
    x: Tensor[n, c, h, w],
    out: int,
    expanded: int,
    kernel: int = 3,
    stride: int = 1,
    se: bool = false,
    hswish: bool = false,
    residual: bool = false,
) -> Tensor[n, out, (h - 1) / stride + 1, (w - 1) / stride + 1] {
    let y = if expanded == c then x else batch_norm(conv2d(x, out: expanded, kernel: 1))
    let y = if expanded == c then y else if hswish then hardswish(y) else relu(y)
    let y = batch_norm(depthwise_conv2d(y, kernel: kernel, stride: stride, padding: kernel / 2))
    let y = if hswish then hardswish(y) else relu(y)
    let y = if se then squeeze_excite(y) else y
    let y = batch_norm(conv2d(y, out: out, kernel: 1))
    return if residual then x + y else y
}

/// The ShuffleNetV2 unit of Single Path One-Shot (Guo et al. 2020; `Shufflenet` and
/// `Shuffle_Xception` in the reference code, NNI's `ShuffleNetBlock`), `out` channels.
///
/// At stride 1 (`out == c`, `c` even; otherwise the output's channels do not add up to `out`,
/// an error) the input's channels are shuffled and split in one step:
/// the even channels pass through unchanged, the odd ones go through the main branch. At
/// stride 2 both branches read the whole input; the projection branch is a depthwise
/// `kernel` x `kernel` stride-2 convolution with batch norm, then a 1x1 convolution with batch
/// norm and ReLU. The main branch ends with `out` minus the projection's channels; its middle
/// width is `out / 2`:
/// - ShuffleNet (`xception: false`): 1x1 convolution, batch norm, ReLU; depthwise
///   `kernel` x `kernel` (with the stride), batch norm; 1x1 convolution, batch norm, ReLU.
/// - Xception (`xception: true`, kernel 3): three times a depthwise 3x3 convolution with batch
///   norm followed by a 1x1 convolution with batch norm and ReLU, the stride on the first.
/// The two branches are concatenated, projection first.
block shufflenet_unit(
    x: Tensor[n, c, h, w],
    out: int,
    kernel: int = 3,
    stride: int = 1,
    xception: bool = false,
) -> Tensor[n, out, (h - 1) / stride + 1, (w - 1) / stride + 1] {
    let mid = out / 2
    let inp = if stride == 1 then c / 2 else c
    // At stride 1 the main branch makes half of `out`: with an odd or a different channel
    // count the halves do not add up to `out`, and the return type says so.
    let made = if stride == 1 then out / 2 else out - c
    let proj = if stride == 1
        then channel_slice(x, start: 0, count: inp, step: 2)
        else relu(batch_norm(conv2d(
            batch_norm(depthwise_conv2d(x, kernel: kernel, stride: stride, padding: kernel / 2)),
            out: inp, kernel: 1)))
    let y = if stride == 1 then channel_slice(x, start: 1, count: inp, step: 2) else x
    let y = if xception
        then {
            let t = batch_norm(depthwise_conv2d(y, kernel: 3, stride: stride, padding: 1))
            let t = relu(batch_norm(conv2d(t, out: mid, kernel: 1)))
            let t = batch_norm(depthwise_conv2d(t, kernel: 3, padding: 1))
            let t = relu(batch_norm(conv2d(t, out: mid, kernel: 1)))
            let t = batch_norm(depthwise_conv2d(t, kernel: 3, padding: 1))
            relu(batch_norm(conv2d(t, out: made, kernel: 1)))
        }
        else {
            let t = relu(batch_norm(conv2d(y, out: mid, kernel: 1)))
            let t = batch_norm(depthwise_conv2d(t, kernel: kernel, stride: stride, padding: kernel / 2))
            relu(batch_norm(conv2d(t, out: made, kernel: 1)))
        }
    return concat(proj, y)
}
