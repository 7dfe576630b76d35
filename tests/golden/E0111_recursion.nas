// `Deep` calls itself without end; `repeat` is the way to stack a block.
block Deep(x: Tensor[n, f]) -> Tensor[n, f] {
    return Deep(relu(x))
}

network Net(x: Tensor[n, 64]) -> Tensor[n, 64] {
    return Deep(x)
}
