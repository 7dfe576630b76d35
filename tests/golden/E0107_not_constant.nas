// A `for` loop is unrolled while checking, so its range cannot depend on a choice (use
// `repeat` for a searched depth).
network Net(x: Tensor[n, 64]) -> Tensor[n, 64] {
    let depth = choice depth [1, 2, 3]
    let h = x
    for i in 0..depth {
        let h = relu(linear(h, out: 64))
    }
    return h
}
