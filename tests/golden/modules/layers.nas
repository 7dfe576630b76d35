// A helper module for the golden tests: one block, imported as `modules.layers`.

/// Two linear layers with a ReLU between them.
block mlp(x: Tensor[n, f], hidden: int, out: int) -> Tensor[n, out] {
    return linear(relu(linear(x, out: hidden)), out: out)
}
