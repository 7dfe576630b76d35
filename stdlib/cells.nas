// std.cells: the cells of cell-based search spaces, written in the language itself.
//
// - `darts_cell`: the DARTS cell (Liu et al., "DARTS: Differentiable Architecture Search",
//   ICLR 2019), used by std.spaces.darts;
// - `nb201_cell`: the NAS-Bench-201 cell (Dong & Yang, ICLR 2020), used by
//   std.spaces.nasbench201.
//
// Labels: every call of a cell is its own place, so by default each cell gets its own
// decisions. Cell-based spaces share one set of decisions between many cells: write the call
// with a label (`darts_cell(s0, s1, c: 16) label "normal"`), and every call with the same
// label makes the same decisions, under labels that start with `normal/`.

// ---------------------------------------------------------------------------------------------
// DARTS, following the reference code's `model_search.py`, `model.py` and `operations.py`.
// ---------------------------------------------------------------------------------------------

/// One DARTS edge: a layer choice over the eight operations of the DARTS search space
/// (`PRIMITIVES` in the reference `genotypes.py`), all keeping `c` channels. With
/// `stride: 2` every operation halves the spatial size. DARTS' search network builds its
/// operations with `affine: false`, the default here; its evaluation network with `affine: true`.
block darts_edge(x: Tensor[n, c, h, w], stride: int = 1, affine: bool = false)
    -> Tensor[n, c, (h - 1) / stride + 1, (w - 1) / stride + 1]
{
    return choice op {
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

/// A DARTS cell (`Cell` in the reference `model_search.py` and `model.py`). `s0` is the output
/// of the cell two back and `s1` of the previous cell. Both are first preprocessed to `c`
/// channels: `s1` by a 1x1 `relu_conv_bn`; `s0` the same way, or by `factorized_reduce` when
/// the previous cell was a reduction cell (`reduction_prev`), since `s0` is then twice the size
/// of `s1`.
///
/// Then `steps` intermediate nodes. The states of the cell are numbered as in DARTS genotypes:
/// 0 and 1 are the preprocessed inputs, 2 + i is intermediate node i. Node i has one candidate
/// edge from each earlier state j < 2 + i, a `darts_edge` whose operation is the label
/// `edge[i][j]/op`; the node sums two of those edges, and which two is the input choice
/// `node[i]` (the list of the two states' numbers). A DARTS genotype entry `(op, j)` of node i
/// is `edge[i][j]/op = op` with `j` in `node[i]`; edges not picked are never built (give them
/// any operation, e.g. `none`).
///
/// A reduction cell (`reduction`) halves the spatial size: the edges leaving states 0 and 1
/// have stride 2. It needs an even height and width (as in DARTS, whose `FactorizedReduce`
/// does). The output concatenates the intermediate nodes along the channels: `steps * c`.
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
    let stride = if reduction then 2 else 1
    let states = [p0, p1]
    for i in 0..steps {
        /// Node i's candidate edges, one from each earlier state j: stride 2 from the cell's
        /// inputs in a reduction cell.
        let edge = [
            darts_edge(states[j], stride: if j < 2 then stride else 1, affine: affine)
            for j in 0..2 + i
        ]
        /// DARTS keeps two incoming edges of every node.
        let node = pick 2 of edge reduce sum
        let states = states + [node]
    }
    let out = states[2]
    for i in 1..steps {
        let out = concat(out, states[2 + i])
    }
    return out
}

// ---------------------------------------------------------------------------------------------
// The NAS-Bench-201 cell (Dong & Yang, "NAS-Bench-201: Extending the Scope of Reproducible
// Neural Architecture Search", ICLR 2020), following `InferCell` and `OPS` in the benchmark's
// code: a densely connected DAG of `nodes` nodes where node 0 is the cell's input and every
// later node sums one edge from each earlier node. The cell's output is the last node.
// ---------------------------------------------------------------------------------------------

/// A NAS-Bench-201 cell on `c` channels (the benchmark's normal cell: stride 1, the channels
/// kept). Each edge carries one of the benchmark's five operations:
///
/// - `none`: zero (removes the edge);
/// - `skip_connect`: the identity;
/// - `nor_conv_1x1`, `nor_conv_3x3`: ReLU, convolution (no bias), batch norm with affine
///   parameters (`relu_conv_bn`);
/// - `avg_pool_3x3`: 3x3 average pooling, stride 1, padding 1, padded zeros not counted.
///
/// Labels: the edge into node `i` from node `j` is `edge[i][j]` (under the cell's own label,
/// `cell/edge[2][1]` in the NAS-Bench-201 network); it is the `j`-th operation of the `i`-th
/// group of the benchmark's architecture string `|op~0|+|op~0|op~1|+|op~0|op~1|op~2|`, which
/// for the default 4 nodes gives 5^6 = 15,625 cells.
block nb201_cell(x: Tensor[n, c, h, w], nodes: int = 4) -> Tensor[n, c, h, w] {
    let states = []
    for i in 0..nodes {
        /// One edge from each earlier node (none for node 0, the input).
        let edge = [
            choice {
                none: zero(s),
                skip_connect: s,
                nor_conv_1x1: relu_conv_bn(s, out: c, kernel: 1),
                nor_conv_3x3: relu_conv_bn(s, out: c, kernel: 3),
                avg_pool_3x3: avg_pool_3x3(s),
            }
            for s in states
        ]
        let node = if i == 0 then x else edge[0]
        for j in 1..i {
            let node = node + edge[j]
        }
        let states = states + [node]
    }
    return states[nodes - 1]
}
