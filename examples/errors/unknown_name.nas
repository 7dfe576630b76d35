// Deliberate error: `sep_cnv` is a misspelling of `sep_conv`.
// Expected: an unknown-name error at `sep_cnv`, with help "did you mean `sep_conv`?".

block Searched(x: Tensor[n, c, h, w]) -> Tensor[n, c, h, w] {
    return choice operation {
        conv3: conv_bn_relu(x, out: c, kernel: 3),
        sep3: sep_cnv(x, out: c, kernel: 3),
        skip: x,
    }
}

network Net(x: Tensor[n, 1, 28, 28]) -> Tensor[n, 10] {
    let h = conv_bn_relu(x, out: 16)
    let h = Searched(h)
    return linear(global_avg_pool(h), out: 10)
}
