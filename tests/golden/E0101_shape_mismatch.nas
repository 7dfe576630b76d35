// `Widen` promises to keep the channel count, but its convolution doubles it.
block Widen(x: Tensor[n, c, h, w]) -> Tensor[n, c, h, w] {
    return conv2d(x, out: c * 2, kernel: 1)
}

network Net(x: Tensor[n, 8, 32, 32]) -> Tensor[n, 8, 32, 32] {
    return Widen(x)
}
