// `linear` needs a 2-D tensor `[n, f]`; the image is 4-D.
network Net(x: Tensor[n, 1, 28, 28]) -> Tensor[n, 10] {
    return linear(x, out: 10)
}
