// An input choice over two candidates cannot pick three of them.
network Net(x: Tensor[n, 64]) -> Tensor[n, 64] {
    let a = relu(x)
    let b = sigmoid(x)
    return pick 3 of [a, b] reduce sum
}
