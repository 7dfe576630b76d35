// `kernal` is a misspelling of `kernel`.
block Conv(x: Tensor[n, c, h, w]) -> Tensor[n, c, h, w] {
    return conv_bn_relu(x, out: c, kernal: 3)
}
