// `trim` declares no `require`, so nothing stops it from cutting away the whole height.
operator trim(x: Tensor[n, c, h, w], rows: int) -> Tensor[n, c, h - rows, w] {
    params = 0
    flops = 0
}

network Net(x: Tensor[n, 8, 4, 4]) -> Tensor[n, 8, 1, 4] {
    let h = trim(x, rows: choice rows [1, 3, 4])
    return max_pool(h, kernel: 1)
}
