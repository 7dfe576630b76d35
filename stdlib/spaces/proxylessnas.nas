// std.spaces.proxylessnas: the ProxylessNAS search space (Cai, Zhu & Han, "ProxylessNAS:
// Direct Neural Architecture Search on Target Task and Hardware", ICLR 2019), following the
// reference code's `ProxylessNASNets` (the mobile setting) and NNI's hub (`ProxylessNAS`).
//
// A MobileNetV2 backbone (Sandler et al. 2018) whose inverted residual blocks are searched.
// After the stem and a fixed first block, six stages of 4, 4, 4, 4, 4 and 1 blocks at 24, 40,
// 80, 96, 192 and 320 channels (strides 2, 2, 2, 1, 2, 1 on the first block of each stage).
// Every searchable block chooses its kernel (3, 5, 7) and expansion ratio (3, 6): six
// `mb_conv` candidates. A block that is not the first of its stage has a residual connection
// and may also be `zero`, which leaves only the residual: the block is skipped, so the depth
// of every stage is searched too (from 1 to 4 blocks), as in the paper.
//
// Size: the 6 first blocks have 6 candidates and the 15 others 7, so 6^6 x 7^15 (about
// 2.2 x 10^17) architectures; every label is used by every architecture.
//
// Labels: `stage[s]/layer[i]/op` (stage s = 0..5, block i within the stage), one of
// `k3_e3`, `k3_e6`, `k5_e3`, `k5_e6`, `k7_e3`, `k7_e6` (kernel k, expansion e), or `zero`.

/// The six MobileNetV2 blocks a ProxylessNAS layer chooses from (`3x3_MBConv3` ...
/// `7x7_MBConv6` in the paper): `mb_conv` with kernel 3, 5 or 7 and expansion 3 or 6.
block proxyless_candidates(x: Tensor[n, c, h, w], out: int, stride: int = 1)
    -> Tensor[n, out, (h - 1) / stride + 1, (w - 1) / stride + 1]
{
    return choice op {
        k3_e3: mb_conv(x, out: out, kernel: 3, expand: 3, stride: stride),
        k3_e6: mb_conv(x, out: out, kernel: 3, expand: 6, stride: stride),
        k5_e3: mb_conv(x, out: out, kernel: 5, expand: 3, stride: stride),
        k5_e6: mb_conv(x, out: out, kernel: 5, expand: 6, stride: stride),
        k7_e3: mb_conv(x, out: out, kernel: 7, expand: 3, stride: stride),
        k7_e6: mb_conv(x, out: out, kernel: 7, expand: 6, stride: stride),
    }
}

/// A skippable ProxylessNAS layer: `x` plus one of the six candidates or `zero` (the
/// `ZeroLayer` of the reference code; `x + zero(x)` is `x`, the block skipped).
block proxyless_skippable(x: Tensor[n, c, h, w]) -> Tensor[n, c, h, w] {
    return x + choice op {
        k3_e3: mb_conv(x, out: c, kernel: 3, expand: 3),
        k3_e6: mb_conv(x, out: c, kernel: 3, expand: 6),
        k5_e3: mb_conv(x, out: c, kernel: 5, expand: 3),
        k5_e6: mb_conv(x, out: c, kernel: 5, expand: 6),
        k7_e3: mb_conv(x, out: c, kernel: 7, expand: 3),
        k7_e6: mb_conv(x, out: c, kernel: 7, expand: 6),
        zero: zero(x),
    }
}

/// One stage: a first block to `out` channels with `stride` (no residual, not skippable),
/// then `count - 1` skippable blocks.
block proxyless_stage(x: Tensor[n, c, h, w], out: int, count: int, stride: int)
    -> Tensor[n, out, (h - 1) / stride + 1, (w - 1) / stride + 1]
{
    let y = x
    for i in 0..count {
        let layer = if i == 0
            then proxyless_candidates(y, out: out, stride: stride)
            else proxyless_skippable(y)
        let y = layer
    }
    return y
}

/// The ProxylessNAS (mobile) space: a 3x3 stride-2 convolution stem to 32 channels with batch
/// norm and ReLU6; a fixed MobileNetV2 block (expansion 1, 3x3) to 16 channels; the six
/// searched stages; a 1x1 convolution to 1280 channels with batch norm and ReLU6; global
/// average pooling, dropout and a linear classifier. ImageNet's 224x224 inputs end at 7x7
/// before the pooling.
network ProxylessNas(
    /// Input channels (RGB).
    in_channels: int = 3,
    /// Input height and width.
    resolution: int = 224,
    classes: int = 1000,
    /// Dropout before the classifier (the reference code trains with 0.1).
    dropout_rate: float = 0.1,
    x: Tensor[n, in_channels, resolution, resolution],
) -> Tensor[n, classes] {
    let y = relu6(batch_norm(conv2d(x, out: 32, kernel: 3, stride: 2, padding: 1)))
    let y = mb_conv(y, out: 16, expand: 1, kernel: 3)
    let widths = [24, 40, 80, 96, 192, 320]
    let counts = [4, 4, 4, 4, 4, 1]
    let strides = [2, 2, 2, 1, 2, 1]
    for s in 0..6 {
        let stage = proxyless_stage(y, out: widths[s], count: counts[s], stride: strides[s])
        let y = stage
    }
    let y = relu6(batch_norm(conv2d(y, out: 1280, kernel: 1)))
    return linear(dropout(global_avg_pool(y), p: dropout_rate), out: classes)
}
