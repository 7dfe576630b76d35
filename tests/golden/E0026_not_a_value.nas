// `relu` is an operator: it must be called, not used as a value.
block Act(x: Tensor[n, c, h, w]) -> Tensor[n, c, h, w] {
    return choice activation {
        relu: relu,
        skip: x,
    }
}
