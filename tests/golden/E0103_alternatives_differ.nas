// The alternatives of one layer choice must produce the same shape; `wide` doubles the channels.
network Net(x: Tensor[n, 16, 32, 32]) -> Tensor[n, 16, 32, 32] {
    return choice op {
        narrow: conv2d(x, out: 16, kernel: 3, padding: 1),
        wide: conv2d(x, out: 32, kernel: 3, padding: 1),
    }
}
