// `out` is given twice; `x` is given positionally and then again by keyword.
block Conv(x: Tensor[n, c, h, w]) -> Tensor[n, c, h, w] {
    let y = conv_bn_relu(x, out: c, kernel: 3, out: c)
    return relu(y, x: y)
}
