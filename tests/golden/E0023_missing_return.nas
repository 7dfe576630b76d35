// The block computes `y` but never returns it.
block Conv(x: Tensor[n, c, h, w]) -> Tensor[n, c, h, w] {
    let y = conv_bn_relu(x, out: c, kernel: 3)
}
