// Deliberate error: `Block` is defined twice.
// Expected: a duplicate-definition error at the second `Block`, with a secondary label at the
// first.

block Block(x: Tensor[n, c, h, w]) -> Tensor[n, c, h, w] {
    return conv_bn_relu(x, out: c, kernel: 3)
}

block Block(x: Tensor[n, c, h, w]) -> Tensor[n, c, h, w] {
    return sep_conv(x, out: c, kernel: 3)
}

network Net(x: Tensor[n, 1, 28, 28]) -> Tensor[n, 10] {
    let h = conv_bn_relu(x, out: 16)
    let h = Block(h)
    return linear(global_avg_pool(h), out: 10)
}
