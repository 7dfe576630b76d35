// A network's inputs are its tensor parameters; `width` has no value to take.
network Net(x: Tensor[n, 784], width: int) -> Tensor[n, 10] {
    let h = relu(linear(x, out: width))
    return linear(h, out: 10)
}
