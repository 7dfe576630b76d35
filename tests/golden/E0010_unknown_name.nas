// `widht` is a misspelling of the local `width`.
block Wide(x: Tensor[n, c, h, w]) -> Tensor[n, c * 2, h, w] {
    let width = c * 2
    return conv_bn_relu(x, out: widht, kernel: 3)
}
