// 16 input channels cannot be split into 3 groups.
network Net(x: Tensor[n, 16, 32, 32]) -> Tensor[n, 24, 32, 32] {
    return conv2d(x, out: 24, kernel: 3, padding: 1, groups: 3)
}
