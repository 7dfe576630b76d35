// `\k` is not an escape that strings know.
block Conv(x: Tensor[n, c, h, w]) -> Tensor[n, c, h, w] {
    let k = choice label "conv\kernel" [3, 5]
    return conv_bn_relu(x, out: c, kernel: k)
}
