// Both choices carry the label "kernel", so they are one decision, but they offer different
// values.
block Conv(x: Tensor[n, c, h, w]) -> Tensor[n, c, h, w] {
    let k = choice label "kernel" [3, 5]
    let y = conv_bn_relu(x, out: c, kernel: k)
    let k2 = choice label "kernel" [3, 5, 7]
    return conv_bn_relu(y, out: c, kernel: k2)
}
