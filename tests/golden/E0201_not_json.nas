// A space with two labels, `width` (64 or 128) and `act` (relu or gelu). The architecture in
// the `.arch.json` file next to this one is checked against it (`nasc check --arch`).
network Net(x: Tensor[n, 784]) -> Tensor[n, 10] {
    let h = linear(x, out: choice width [64, 128])
    let h = choice act { relu: relu(h), gelu: gelu(h) }
    return linear(h, out: 10)
}
