// The file ends inside a block body.
block Half(x: Tensor[n, c, h, w]) -> Tensor[n, c, h, w] {
    let y = relu(x)
