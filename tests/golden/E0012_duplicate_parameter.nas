// The parameter `out` is declared twice.
block Stem(x: Tensor[n, c, h, w], out: int, out: int) -> Tensor[n, out, h, w] {
    return conv_bn_relu(x, out: out, kernel: 3)
}
