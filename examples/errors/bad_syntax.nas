// Deliberate error: the call to `conv_bn_relu` on the first line of the body is missing its
// closing `)`.
// Expected: a syntax error at the `let` on the next line (the first token that cannot
// continue the argument list), saying that `,` or `)` was expected.

network Net(x: Tensor[n, 1, 28, 28]) -> Tensor[n, 10] {
    let h = conv_bn_relu(x, out: 16, kernel: 3
    let h = max_pool(h, kernel: 2)
    return linear(global_avg_pool(h), out: 10)
}
