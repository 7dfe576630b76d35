// std.spaces.nasbench201: the NAS-Bench-201 search space (Dong & Yang, "NAS-Bench-201:
// Extending the Scope of Reproducible Neural Architecture Search", ICLR 2020), following the
// benchmark's `TinyNetwork`/`InferCell` code, as NNI's hub (`NasBench201`) does.

import std.cells.{nb201_cell}
import std.blocks.{nb201_residual}

/// The NAS-Bench-201 network: a 3x3 convolution stem with batch norm to `channels` channels,
/// then three stages of `cells` cells each at `channels`, `2 * channels` and `4 * channels`
/// channels, separated by residual blocks of stride 2 (`nb201_residual`), then batch norm,
/// ReLU, global average pooling and a linear classifier.
///
/// Every cell is the same cell: the 15,625 architectures of the benchmark. The labels are the
/// six edges of that cell, `cell/edge[i][j]` for the edge into node `i` from node `j`
/// (1 <= i <= 3, 0 <= j < i), one-to-one with the benchmark's architecture string
/// `|op~0|+|op~0|op~1|+|op~0|op~1|op~2|` (group i, position j).
///
/// With the defaults this is the benchmark's CIFAR-10 network (C = 16, N = 5), whose parameter
/// counts nasc reproduces for all 15,625 architectures (tests/hub.rs). CIFAR-100 is
/// `classes: 100`; ImageNet16-120 is 16x16 inputs (`resolution: 16`) with `classes: 120`.
network NasBench201(
    /// Input channels (RGB).
    in_channels: int = 3,
    /// Input height and width; must be divisible by 4.
    resolution: int = 32,
    classes: int = 10,
    /// Channels of the first stage (C).
    channels: int = 16,
    /// Cells per stage (N).
    cells: int = 5,
    x: Tensor[n, in_channels, resolution, resolution],
) -> Tensor[n, classes] {
    let h = batch_norm(conv2d(x, out: channels, kernel: 3, padding: 1))
    let h = repeat cells from h { nb201_cell(h) label "cell" }
    let h = nb201_residual(h, out: 2 * channels, stride: 2)
    let h = repeat cells from h { nb201_cell(h) label "cell" }
    let h = nb201_residual(h, out: 4 * channels, stride: 2)
    let h = repeat cells from h { nb201_cell(h) label "cell" }
    let h = relu(batch_norm(h))
    return linear(global_avg_pool(h), out: classes)
}
