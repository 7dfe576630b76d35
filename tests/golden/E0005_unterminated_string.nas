// The label's closing quote is missing.
block Conv(x: Tensor[n, c, h, w]) -> Tensor[n, c, h, w] {
    let k = choice label "kernel [3, 5]
    return conv_bn_relu(x, out: c, kernel: k)
}
