// std.cells: cell-based search spaces written in the language itself.
//
// The DARTS cell (Liu et al., "DARTS: Differentiable Architecture Search", ICLR 2019),
// following the reference code's `model_search.py` and `operations.py`: a cell takes the
// outputs of the two previous cells, preprocesses them to `c` channels, and computes `steps`
// intermediate nodes. Each node sums two of its incoming edges (from the two cell inputs and
// from every earlier node), and each edge applies one of the eight DARTS operations. The
// cell's output concatenates all intermediate nodes along the channels.
//
// A reduction cell halves the spatial size: the edges leaving the two cell inputs use
// stride 2. It needs an even height and width (as in DARTS, whose `FactorizedReduce` does).
//
// Labels: every cell here gets its own decisions (each call is a different place, so its
// derived labels differ). DARTS proper shares one genotype between all normal cells and one
// between all reduction cells; see the note at `darts_nodes`.

/// One DARTS edge: a layer choice over the eight operations of the DARTS search space
/// (`PRIMITIVES` in the reference `genotypes.py`), all keeping `c` channels. With
/// `stride: 2` every operation halves the spatial size. DARTS' search network builds its
/// operations with `affine: false`, the default here.
block darts_edge(x: Tensor[n, c, h, w], stride: int = 1, affine: bool = false)
    -> Tensor[n, c, (h - 1) / stride + 1, (w - 1) / stride + 1]
{
    return choice operation {
        /// No connection (DARTS `none`).
        none: zero(x, stride: stride),
        max_pool_3x3: max_pool_3x3(x, stride: stride),
        avg_pool_3x3: avg_pool_3x3(x, stride: stride),
        /// Identity, or `factorized_reduce` at stride 2.
        skip_connect: skip_connect(x, stride: stride, affine: affine),
        sep_conv_3x3: sep_conv(x, out: c, kernel: 3, stride: stride, affine: affine),
        sep_conv_5x5: sep_conv(x, out: c, kernel: 5, stride: stride, affine: affine),
        dil_conv_3x3: dil_conv(x, out: c, kernel: 3, stride: stride, affine: affine),
        dil_conv_5x5: dil_conv(x, out: c, kernel: 5, stride: stride, affine: affine),
    }
}

/// The searched part of a DARTS cell, on inputs that are already preprocessed to `c`
/// channels and the same spatial size: `steps` intermediate nodes, each the sum of two edges
/// picked among its predecessors (`s0`, `s1` and every earlier node), each edge a
/// `darts_edge`. Returns the concatenation of the intermediate nodes: `steps * c` channels.
/// With `reduction`, edges from `s0` and `s1` have stride 2 and the output is half the size.
///
/// Note: DARTS ties the decisions of all normal cells together (one genotype), and those of
/// all reduction cells. A label written here (`label "..."`) would be shared by every node
/// and edge, not just by the same edge of another cell, and labels cannot be computed from
/// the loop index, so this cell gives each instance its own decisions.
block darts_nodes(
    s0: Tensor[n, c, h, w],
    s1: Tensor[n, c, h, w],
    reduction: bool = false,
    steps: int = 4,
    affine: bool = false,
) -> Tensor[n, steps * c, if reduction then h / 2 else h, if reduction then w / 2 else w] {
    let stride = if reduction then 2 else 1
    let inputs = [s0, s1]
    let nodes = []
    for i in 0..steps {
        /// Node i's candidate edges: one from each cell input, one from each earlier node.
        let edges = [darts_edge(s, stride: stride, affine: affine) for s in inputs]
            + [darts_edge(m, affine: affine) for m in nodes]
        /// DARTS keeps the two strongest incoming edges of every node.
        let node = pick input 2 of edges reduce sum
        let nodes = nodes + [node]
    }
    let out = nodes[0]
    for i in 1..steps {
        let out = concat(out, nodes[i])
    }
    return out
}

/// A complete DARTS cell (`Cell` in the reference `model_search.py`). `s0` is the output of
/// the cell two back and `s1` of the previous cell. Both are preprocessed to `c` channels:
/// `s1` by a 1x1 `relu_conv_bn`; `s0` the same way, or by `factorized_reduce` when the
/// previous cell was a reduction cell (`reduction_prev`), since `s0` is then twice the size
/// of `s1`. Then `darts_nodes`. Output: `steps * c` channels.
block darts_cell(
    s0: Tensor[n, c0, h0, w0],
    s1: Tensor[n, c1, h, w],
    c: int,
    reduction: bool = false,
    reduction_prev: bool = false,
    steps: int = 4,
    affine: bool = false,
) -> Tensor[n, steps * c, if reduction then h / 2 else h, if reduction then w / 2 else w] {
    let p0 = if reduction_prev
        then factorized_reduce(s0, out: c, affine: affine)
        else relu_conv_bn(s0, out: c, kernel: 1, affine: affine)
    let p1 = relu_conv_bn(s1, out: c, kernel: 1, affine: affine)
    return darts_nodes(p0, p1, reduction: reduction, steps: steps, affine: affine)
}

/// A DARTS normal cell: keeps the spatial size (see `darts_cell`).
block darts_normal_cell(
    s0: Tensor[n, c0, h0, w0],
    s1: Tensor[n, c1, h, w],
    c: int,
    reduction_prev: bool = false,
    steps: int = 4,
    affine: bool = false,
) -> Tensor[n, steps * c, h, w] {
    return darts_cell(
        s0,
        s1,
        c: c,
        reduction: false,
        reduction_prev: reduction_prev,
        steps: steps,
        affine: affine,
    )
}

/// A DARTS reduction cell: halves the spatial size (see `darts_cell`). In DARTS a reduction
/// cell doubles the channels too; pass the doubled `c`.
block darts_reduction_cell(
    s0: Tensor[n, c0, h0, w0],
    s1: Tensor[n, c1, h, w],
    c: int,
    reduction_prev: bool = false,
    steps: int = 4,
    affine: bool = false,
) -> Tensor[n, steps * c, h / 2, w / 2] {
    return darts_cell(
        s0,
        s1,
        c: c,
        reduction: true,
        reduction_prev: reduction_prev,
        steps: steps,
        affine: affine,
    )
}
