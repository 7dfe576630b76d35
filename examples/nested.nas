// Nested decisions: repeats inside layer choices inside repeats, input choices, arithmetic on
// value choices, and one decision shared by many blocks through an explicit label.
//
//   nasc check examples/nested.nas

// std.ops is imported into every file anyway; naming what a file uses documents it.
import std.ops.{conv2d, batch_norm, conv_bn_relu, dil_conv, avg_pool_3x3, mb_conv}

/// A basic residual block (He et al. 2016). Its kernel size is the decision labelled
/// "kernel": the label is written out, so every ResBlock and every MBBlock in the network
/// uses the same kernel size. The padding `k / 2` follows the chosen kernel.
block ResBlock(x: Tensor[n, c, h, w]) -> Tensor[n, c, h, w] {
    let k = choice label "kernel" [3, 5]
    let y = relu(batch_norm(conv2d(x, out: c, kernel: k, padding: k / 2)))
    let y = batch_norm(conv2d(y, out: c, kernel: k, padding: k / 2))
    return relu(x + y)
}

/// A MobileNetV2 inverted residual. The expansion ratio is this block's own decision (its
/// label is derived from where the block is used); the kernel size is the shared "kernel".
block MBBlock(x: Tensor[n, c, h, w]) -> Tensor[n, c, h, w] {
    let e = choice expand [3, 6]
    return x + mb_conv(x, out: c, expand: e, kernel: choice label "kernel" [3, 5])
}

/// Three candidate paths computed from one input; two of them are picked and averaged.
block Fuse(x: Tensor[n, c, h, w]) -> Tensor[n, c, h, w] {
    let paths = [
        conv_bn_relu(x, out: c, kernel: 1),
        dil_conv(x, out: c, kernel: 3),
        avg_pool_3x3(x),
    ]
    return pick paths 2 of paths reduce mean
}

/// A stage: a stride-2 convolution to `out` channels, then one to three blocks, each of
/// which is a ResBlock or an MBBlock (a layer choice inside a repeat: every repetition
/// decides for itself).
block Stage(x: Tensor[n, c, h, w], out: int)
    -> Tensor[n, out, (h - 1) / 2 + 1, (w - 1) / 2 + 1]
{
    let y = conv_bn_relu(x, out: out, kernel: 3, stride: 2)
    return repeat depth [1, 2, 3] from y {
        choice kind {
            res: ResBlock(y),
            mb: MBBlock(y),
        }
    }
}

/// CIFAR-sized input, three resolutions (32, 16, 8). The stem width is searched and the
/// stages widen it by fixed factors, so one decision sets all three widths.
network Nested(x: Tensor[n, 3, 32, 32]) -> Tensor[n, 10]
    where params <= 1_000_000, flops <= 100_000_000
{
    let width = choice width [16, 24, 32]
    let h = conv_bn_relu(x, out: width)
    let h = Stage(h, out: width * 2)
    let h = Stage(h, out: width * 4)
    let h = Fuse(h)
    let h = choice head {
        /// Nothing more.
        plain: h,
        /// A few more residual blocks at the lowest resolution: a repeat inside a layer
        /// choice, its depth under an explicit label.
        deeper: repeat label "head_depth" [1, 2] from h { ResBlock(h) },
        /// Or a block written in place.
        wide: {
            let t = conv_bn_relu(h, out: width * 8, kernel: 1)
            conv_bn_relu(t, out: width * 4, kernel: 1)
        },
    }
    let p = choice dropout_rate [0.0, 0.1, 0.2]
    return linear(dropout(global_avg_pool(h), p: p), out: 10)
}
