// Two alternatives of one layer choice are both named `conv`.
block Searched(x: Tensor[n, c, h, w]) -> Tensor[n, c, h, w] {
    return choice operation {
        conv: conv_bn_relu(x, out: c, kernel: 3),
        skip: x,
        conv: conv_bn_relu(x, out: c, kernel: 5),
    }
}
