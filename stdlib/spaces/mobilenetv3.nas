// std.spaces.mobilenetv3: a MobileNetV3 search space (Howard et al., "Searching for
// MobileNetV3", ICCV 2019), TuNAS-style (Bender et al., "Can Weight Sharing Outperform Random
// Architecture Search?", CVPR 2020) as NNI's hub (`MobileNetV3Space`): per block the kernel
// size, the expansion ratio and whether to add squeeze-and-excitation, and one width
// multiplier for the whole network.
//
// The skeleton is MobileNetV3-Large's (table 1 of the paper): a 3x3 stride-2 stem with hard
// swish; 15 inverted residual blocks (`mbv3_block` in std.blocks) in six stages of 1, 2, 3,
// 4, 2 and 3 blocks at 16, 24, 40, 80, 112 and 160 channels (strides 1, 2, 2, 2, 1, 2 on the
// first block of each stage; ReLU in the first three stages, hard swish after); a 1x1
// convolution to 6 x 160 channels with batch norm and hard swish; global average pooling; a
// fully connected layer to 1280 features with hard swish; dropout 0.2; the classifier.
// Channel counts are `make_divisible(base * width / 100)` and a block's expanded channels
// `make_divisible(c * expand / 10)` for its input's `c` channels, as torchvision and NNI round
// them.
//
// Labels:
// - `width`: the width multiplier in percent, one of 50, 75, 100, 125, 150;
// - `stage[s]/layer[i]/kernel`: 3, 5 or 7;
// - `stage[s]/layer[i]/expand`: the expansion ratio in tenths, one of 10, 20, 23, 25, 30, 40,
//   50, 60 (23 is 2.3). MobileNetV3-Large's non-integer ratios (200/80 and 184/80 expanded
//   channels) are 2.5 and 2.3, so the reference network is one architecture of this space:
//   examples/archs/mobilenetv3_large.json (5.48 million parameters, 217 million multiply-adds
//   at 224x224, within 1% of the paper's 5.4 million and 219 million);
// - `stage[s]/layer[i]/se`: squeeze-and-excitation after the depthwise convolution.
//
// Size: 5 x (3 x 8 x 2)^15, about 8.3 x 10^25 label assignments, every label used by every
// architecture. (An expansion of 1.0 on a block whose input and expanded channels are equal
// skips the expansion convolution, as in torchvision; the architectures stay distinct.)

import std.blocks.{make_divisible, mbv3_block}

/// One searched MobileNetV3 block: kernel, expansion and squeeze-and-excitation are labels.
/// `residual` adds `x` (it needs `stride` 1 and `out == c`).
block mbv3_choice_block(
    x: Tensor[n, c, h, w],
    out: int,
    stride: int = 1,
    hswish: bool = false,
    residual: bool = false,
) -> Tensor[n, out, (h - 1) / stride + 1, (w - 1) / stride + 1] {
    let kernel = choice kernel [3, 5, 7]
    let expand = choice expand [10, 20, 23, 25, 30, 40, 50, 60]
    let se = choice se [false, true]
    return mbv3_block(x, out: out, expanded: make_divisible(c * expand / 10), kernel: kernel,
        stride: stride, se: se, hswish: hswish, residual: residual)
}

/// One stage of `count` searched blocks to `out` channels, the first with `stride`. Every
/// block but the first has a residual connection; the first has one when `residual` (its
/// stride is 1 and its input has `out` channels).
block mbv3_stage(
    x: Tensor[n, c, h, w],
    out: int,
    count: int,
    stride: int,
    hswish: bool,
    residual: bool = false,
) -> Tensor[n, out, (h - 1) / stride + 1, (w - 1) / stride + 1] {
    let y = x
    for i in 0..count {
        let layer = mbv3_choice_block(y, out: out, stride: if i == 0 then stride else 1,
            hswish: hswish, residual: i > 0 or residual)
        let y = layer
    }
    return y
}

/// The MobileNetV3 space on MobileNetV3-Large's skeleton (see the module comment).
network MobileNetV3Space(
    /// Input channels (RGB).
    in_channels: int = 3,
    /// Input height and width.
    resolution: int = 224,
    classes: int = 1000,
    x: Tensor[n, in_channels, resolution, resolution],
) -> Tensor[n, classes] {
    let width = choice width [50, 75, 100, 125, 150]
    /// The stem's channels, then each stage's, before the width multiplier.
    let widths = [16, 16, 24, 40, 80, 112, 160]
    let y = hardswish(batch_norm(conv2d(x, out: make_divisible(widths[0] * width / 100),
        kernel: 3, stride: 2, padding: 1)))
    let counts = [1, 2, 3, 4, 2, 3]
    let strides = [1, 2, 2, 2, 1, 2]
    for s in 0..6 {
        let stage = mbv3_stage(y, out: make_divisible(widths[s + 1] * width / 100),
            count: counts[s], stride: strides[s], hswish: s >= 3,
            residual: strides[s] == 1 and widths[s] == widths[s + 1])
        let y = stage
    }
    let y = hardswish(batch_norm(conv2d(y, out: make_divisible(960 * width / 100), kernel: 1)))
    let y = hardswish(linear(global_avg_pool(y), out: 1280))
    return linear(dropout(y, p: 0.2), out: classes)
}
