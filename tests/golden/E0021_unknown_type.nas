// `integer` is not a type (`int` is), and neither is `lst`.
block Conv(x: Tensor[n, c, h, w], out: integer, kernels: lst[int]) -> Tensor[n, out, h, w] {
    return conv_bn_relu(x, out: out, kernel: kernels[0])
}
