// `act` is a tensor bound by `let`, not a block or operator.
block Conv(x: Tensor[n, c, h, w]) -> Tensor[n, c, h, w] {
    let act = relu(x)
    return act(x)
}
