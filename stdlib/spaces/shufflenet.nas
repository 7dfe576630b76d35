// std.spaces.shufflenet: the ShuffleNetV2-based search space of Single Path One-Shot (Guo,
// Zhang, Mu, Heng, Liu, Wei & Sun, "Single Path One-Shot Neural Architecture Search with
// Uniform Sampling", ECCV 2020), following the reference code's `ShuffleNetV2_OneShot` and
// NNI's hub (`ShuffleNetSpace`), at width 1.0x.
//
// 20 choice blocks in four stages of 4, 4, 8 and 4 blocks, each choosing one of four units:
// ShuffleNet 3x3, 5x5, 7x7 and Xception (`shufflenet_unit` in std.blocks). Every label is used
// by every architecture, so the 4^20 (about 1.1 x 10^12) assignments are the space's
// architectures, the paper's count.
//
// Labels: `stage[s]/layer[i]/op` (stage s = 0..3, choice block i within the stage), one of
// `shufflenet_3x3`, `shufflenet_5x5`, `shufflenet_7x7`, `xception_3x3`.

import std.blocks.{shufflenet_unit}

/// One SPOS choice block: one of the four units with `out` channels and `stride`.
block spos_choice_block(x: Tensor[n, c, h, w], out: int, stride: int = 1)
    -> Tensor[n, out, (h - 1) / stride + 1, (w - 1) / stride + 1]
{
    return choice op {
        shufflenet_3x3: shufflenet_unit(x, out: out, kernel: 3, stride: stride),
        shufflenet_5x5: shufflenet_unit(x, out: out, kernel: 5, stride: stride),
        shufflenet_7x7: shufflenet_unit(x, out: out, kernel: 7, stride: stride),
        xception_3x3: shufflenet_unit(x, out: out, kernel: 3, stride: stride, xception: true),
    }
}

/// The SPOS supernet's space (`ShuffleNetV2_OneShot`, 1.0x): a 3x3 stride-2 convolution stem
/// to 16 channels with batch norm and ReLU; four stages of choice blocks at 64, 160, 320 and
/// 640 channels (4, 4, 8 and 4 blocks; the first block of each stage has stride 2); a 1x1
/// convolution to 1024 channels with batch norm and ReLU; global average pooling, dropout 0.1
/// and a linear classifier without bias. ImageNet's 224x224 inputs end at 7x7 before the
/// pooling; smaller inputs work too (each of the five stride-2 steps halves the height and
/// width, rounding up: 32x32 ends at 1x1).
network ShuffleNetSpos(
    /// Input channels (RGB).
    in_channels: int = 3,
    /// Input height and width.
    resolution: int = 224,
    classes: int = 1000,
    x: Tensor[n, in_channels, resolution, resolution],
) -> Tensor[n, classes] {
    let y = relu(batch_norm(conv2d(x, out: 16, kernel: 3, stride: 2, padding: 1)))
    let widths = [64, 160, 320, 640]
    let repeats = [4, 4, 8, 4]
    for s in 0..4 {
        let stage = spos_stage(y, out: widths[s], count: repeats[s])
        let y = stage
    }
    let y = relu(batch_norm(conv2d(y, out: 1024, kernel: 1)))
    return linear(dropout(global_avg_pool(y), p: 0.1), out: classes, bias: false)
}

/// The choice blocks of one SPOS stage: `count` of them to `out` channels, the first with
/// stride 2.
block spos_stage(x: Tensor[n, c, h, w], out: int, count: int)
    -> Tensor[n, out, (h - 1) / 2 + 1, (w - 1) / 2 + 1]
{
    let y = x
    for i in 0..count {
        let layer = spos_choice_block(y, out: out, stride: if i == 0 then 2 else 1)
        let y = layer
    }
    return y
}
