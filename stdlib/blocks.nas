// std.blocks: building blocks shared by the spaces of the model-space hub (stdlib/spaces/).
//
// The DARTS operations, conv-bn-relu and MobileNetV2's inverted residual are in the prelude
// (std.ops); the cells that carry the searched decisions are in std.cells. What is here is
// fixed structure that more than one space, or a space and its reference networks, uses:
//
// - `nb201_residual`: the residual block NAS-Bench-201 places between its stages;
// - `squeeze_excite` and `mbv3_block`: MobileNetV3's squeeze-and-excitation and its inverted
//   residual with a choice of activation and an optional SE module;
// - `channel_shuffle`-free ShuffleNetV2 blocks for SPOS (see `shuffle_block`);
// - `make_divisible`, the channel rounding of the MobileNet family.

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
