// `conv2d` needs `out`, and `concat` needs both `a` and `b`.
block Mix(x: Tensor[n, c, h, w]) -> Tensor[n, c * 2, h, w] {
    let y = conv2d(x, kernel: 3, padding: 1)
    return concat()
}
