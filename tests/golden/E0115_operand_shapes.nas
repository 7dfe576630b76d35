// The residual addition adds a 16-channel tensor to a 32-channel one.
network Net(x: Tensor[n, 16, 32, 32]) -> Tensor[n, 32, 32, 32] {
    let y = conv2d(x, out: 32, kernel: 3, padding: 1)
    return x + y
}
