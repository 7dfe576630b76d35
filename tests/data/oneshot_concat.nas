// The wrong example of docs/errors/E0401.md: an input choice that concatenates two inputs
// cannot be mixed by DARTS (tests/cli.rs).
network Net(x: Tensor[n, 1, 28, 28]) -> Tensor[n, 10] {
    let a = conv_bn_relu(x, out: 8, kernel: 3)
    let b = conv_bn_relu(x, out: 8, kernel: 5)
    let c = conv_bn_relu(x, out: 8, kernel: 1)
    // DARTS weighs the candidates of an input choice and sums them: two concatenated inputs
    // cannot be summed.
    let h = pick out 2 of [a, b, c] reduce concat
    return linear(global_avg_pool(h), out: 10)
}
