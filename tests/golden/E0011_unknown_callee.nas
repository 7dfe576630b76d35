// `sep_cnv` is a misspelling of `sep_conv`, and `conv7x7` does not exist at all.
block Searched(x: Tensor[n, c, h, w]) -> Tensor[n, c, h, w] {
    return choice operation {
        sep3: sep_cnv(x, out: c, kernel: 3),
        conv7: conv7x7(x),
        skip: x,
    }
}
