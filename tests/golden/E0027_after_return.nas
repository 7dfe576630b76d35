// Nothing after `return` runs.
block Conv(x: Tensor[n, c, h, w]) -> Tensor[n, c, h, w] {
    let y = conv_bn_relu(x, out: c, kernel: 3)
    return y
    let z = relu(y)
}
