// A 7x7 convolution without padding on a 4x4 feature map leaves nothing.
network Net(x: Tensor[n, 8, 4, 4]) -> Tensor[n, 8, 4, 4] {
    return conv2d(x, out: 8, kernel: 7)
}
