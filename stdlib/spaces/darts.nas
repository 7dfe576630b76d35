// std.spaces.darts: the DARTS search space for CIFAR-10 (Liu, Simonyan & Yang, "DARTS:
// Differentiable Architecture Search", ICLR 2019), following `Network` in the reference
// `model_search.py` (the search network) and `NetworkCIFAR` in `model.py` (the evaluation
// network).
//
// An architecture is a pair of DARTS genotypes: one normal cell, shared by every normal cell
// of the network, and one reduction cell, shared by both reduction cells. Labels (see
// `darts_cell`): `normal/node[i]` picks the two states that intermediate node i (0-3) reads
// (0 and 1 are the cell's inputs, 2 + k is node k), and `normal/edge[i][j]/op` is the operation
// on the edge from state j to node i, one of the eight DARTS operations; the same under
// `reduce/` for the reduction cell. examples/archs/darts_v2.json is the paper's DARTS (second
// order) cell, the published DARTS_V2 genotype.
//
// Size: per cell type, the product of the label domains is 8^14 edge operations times
// C(2,2) C(3,2) C(4,2) C(5,2) = 180 input choices, about 7.9 x 10^14, and about 6.3 x 10^29 for
// the pair (what `nasc check` prints). That counts the operations of the ten edges a node does
// not pick. Counting only what is built, a node with k candidate states has C(k,2) x 8^2
// networks: 180 x 8^8, about 3 x 10^9, per cell type. The paper counts genotypes without the
// `none` operation, C(k,2) x 7^2 per node: (180 x 7^8)^2, about 1.1 x 10^18 ("approximately
// 10^18").

import std.cells.{darts_cell}

/// The DARTS network: a 3x3 convolution stem with `stem_multiplier * init_channels` channels,
/// then `layers` cells. The cells at `layers / 3` and `2 * layers / 3` are reduction cells,
/// each doubling the channels and halving the spatial size; the others are normal cells. All
/// normal cells share one genotype (the label "normal"), and the reduction cells another
/// ("reduce"). Every cell reads the outputs of the two cells before it (the stem's output
/// stands in for both at the start). Global average pooling and a linear classifier close it.
/// The search network's cells have batch norm without affine parameters (`affine: false`); the
/// evaluation network's have them. The input's height and width must be divisible by 4.
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
        let next = if reduction
            then darts_cell(s0, s1, c: c, reduction: true, reduction_prev: reduction_prev,
                steps: steps, affine: affine) label "reduce"
            else darts_cell(s0, s1, c: c, reduction: false, reduction_prev: reduction_prev,
                steps: steps, affine: affine) label "normal"
        let s0 = s1
        let s1 = next
        let reduction_prev = reduction
    }
    return linear(global_avg_pool(s1), out: classes)
}

/// DARTS as searched in the paper: 8 cells of 16 initial channels on CIFAR-10 (32x32 RGB, 10
/// classes). Every edge of the search network carries all eight operations (a mixed operation)
/// in a one-shot search.
network Darts(
    in_channels: int = 3,
    resolution: int = 32,
    classes: int = 10,
    init_channels: int = 16,
    layers: int = 8,
    x: Tensor[n, in_channels, resolution, resolution],
) -> Tensor[n, classes] {
    return darts_network(x, classes: classes, init_channels: init_channels, layers: layers)
}

/// The network DARTS evaluates a genotype in (`NetworkCIFAR`): 20 cells of 36 initial channels,
/// batch norm with affine parameters, same labels as `Darts`. The paper's auxiliary head and
/// drop-path are training devices and are left out (the paper's parameter counts exclude the
/// auxiliary head too). The DARTS_V2 genotype has 3,349,342 parameters here, the paper's
/// "3.3M".
network DartsEval(
    in_channels: int = 3,
    resolution: int = 32,
    classes: int = 10,
    init_channels: int = 36,
    layers: int = 20,
    x: Tensor[n, in_channels, resolution, resolution],
) -> Tensor[n, classes] {
    return darts_network(x, classes: classes, init_channels: init_channels, layers: layers, affine: true)
}
