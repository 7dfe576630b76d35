// `out` is a number of channels, not a tensor.
network Net(x: Tensor[n, 784]) -> Tensor[n, 10] {
    return linear(x, out: x)
}
