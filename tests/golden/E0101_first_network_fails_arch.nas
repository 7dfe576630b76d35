// The first network does not type-check, so `nasc check --arch` does not validate the
// architecture next to this file against it, nor against the next network (`Other`, which
// would call the architecture's labels unknown): only the shape error is reported.
network Broken(x: Tensor[n, 784]) -> Tensor[n, 10] {
    let h = linear(x, out: choice width [64, 128])
    return linear(h, out: 12)
}

network Other(x: Tensor[n, 784]) -> Tensor[n, 10] {
    return linear(x, out: 10)
}
