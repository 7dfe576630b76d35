// `relu` takes one argument; the second is extra.
block Act(x: Tensor[n, c, h, w]) -> Tensor[n, c, h, w] {
    return relu(x, 0.1)
}
