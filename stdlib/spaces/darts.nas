// std.spaces.darts: the DARTS search space for CIFAR-10 (Liu et al., "DARTS: Differentiable
// Architecture Search", ICLR 2019), following `Network` in the reference `model_search.py`.

import std.cells.{darts_cell}

/// The DARTS search network: a 3x3 convolution stem with `stem_multiplier * init_channels`
/// channels, then `layers` cells. The cells at `layers / 3` and `2 * layers / 3` are
/// reduction cells, each doubling the channels and halving the spatial size; the others are
/// normal cells. Every cell reads the outputs of the two cells before it (the stem's output
/// stands in for both at the start). Global average pooling and a linear classifier close it.
///
/// The paper searches with `init_channels: 16, layers: 8` and evaluates the found cell in a
/// larger network (`init_channels: 36, layers: 20`, with an auxiliary head and drop-path,
/// which this space leaves out). The input's height and width must be divisible by 4.
block darts_network(
    x: Tensor[n, k, h, w],
    classes: int = 10,
    init_channels: int = 16,
    layers: int = 8,
    steps: int = 4,
    stem_multiplier: int = 3,
    affine: bool = false,
) -> Tensor[n, classes] {
    let stem = batch_norm(conv2d(x, out: stem_multiplier * init_channels, kernel: 3, padding: 1))
    let s0 = stem
    let s1 = stem
    let c = init_channels
    let reduction_prev = false
    for i in 0..layers {
        let reduction = i == layers / 3 or i == 2 * layers / 3
        let c = if reduction then 2 * c else c
        let next = darts_cell(
            s0,
            s1,
            c: c,
            reduction: reduction,
            reduction_prev: reduction_prev,
            steps: steps,
            affine: affine,
        )
        let s0 = s1
        let s1 = next
        let reduction_prev = reduction
    }
    return linear(global_avg_pool(s1), out: classes)
}

/// DARTS on CIFAR-10 as searched in the paper: 8 cells of 16 initial channels.
network Darts(x: Tensor[n, 3, 32, 32]) -> Tensor[n, 10] {
    return darts_network(x, classes: 10, init_channels: 16, layers: 8)
}
