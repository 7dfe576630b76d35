// DARTS-style cells: a tiny network built from the standard library's DARTS cell, and a
// smaller cell of our own written with the same tools (a loop, a list comprehension, a
// layer choice per edge and an input choice per node).
//
//   nasc check examples/darts_cell.nas

import std.cells.{darts_cell}

/// A cheaper edge than DARTS': three operations instead of eight.
block MiniEdge(x: Tensor[n, c, h, w]) -> Tensor[n, c, h, w] {
    return choice operation {
        sep_conv_3x3: sep_conv(x, out: c, kernel: 3),
        max_pool_3x3: max_pool_3x3(x),
        skip_connect: x,
    }
}

/// A three-node cell on inputs of equal shape. Each node sums two edges picked among its
/// predecessors (the two inputs and the earlier nodes); the output concatenates two of the
/// three nodes, and which two is searched too (`reduce concat`).
block MiniCell(s0: Tensor[n, c, h, w], s1: Tensor[n, c, h, w]) -> Tensor[n, 2 * c, h, w] {
    let nodes = []
    for i in 0..3 {
        let edges = [MiniEdge(s) for s in [s0, s1] + nodes]
        let nodes = nodes + [pick input 2 of edges reduce sum]
    }
    return pick output 2 of nodes reduce concat
}

/// CIFAR-sized input: a stem, a normal, a reduction and a normal DARTS cell (8 channels per
/// node before the reduction, 16 after), then our own cell and a classifier.
network TinyDarts(x: Tensor[n, 3, 32, 32]) -> Tensor[n, 10]
    // per-sample multiply-adds; by a rough count the cheapest architectures need about 4M
    // and the dearest about 26M, so the budget removes the heaviest ones
    where flops <= 20_000_000
{
    let stem = conv_bn(x, out: 24, kernel: 3)
    let a = darts_cell(stem, stem, c: 8)
    let b = darts_cell(stem, a, c: 16, reduction: true)
    let d = darts_cell(a, b, c: 16, reduction_prev: true)
    let m = relu_conv_bn(d, out: 32)
    let e = MiniCell(m, m)
    return linear(global_avg_pool(e), out: 10)
}
