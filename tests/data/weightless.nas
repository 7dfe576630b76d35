// A space where one alternative has no trainable parameter at all: the max pooling path makes
// a network with nothing to learn (tests: `nasc train` and the one-shot searches go on).
network Weightless(x: Tensor[n, 1, 28, 28]) -> Tensor[n, 10] {
    let h = choice op {
        pool: max_pool(x, kernel: 3, stride: 1, padding: 1),
        conv: conv2d(x, out: 1, kernel: 3, padding: 1),
    }
    return flatten(crop(h, top: 26, left: 23))
}
