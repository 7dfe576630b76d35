// Several independent errors in one file: every one is reported, in source order, and the
// syntax error in `Broken` does not hide the errors of the items after it.
import std.ops.{conv2d, reluu}

block Broken(x: Tensor[n, c, h, w]) -> Tensor[n, c, h, w] {
    let y = conv2d(x, out: c kernel: 3)
    return y
}

block Searched(x: Tensor[n, c, h, w], x: int) -> Tensor[n, c, h, w] {
    return choice op {
        conv: conv2d(x, out: c, kernal: 3),
        sep: sep_cnv(x, out: c),
        skip: y,
    }
}

network Net(x: Tensor[n, 3, 32, 32]) -> Tensor[n, 10] {
    let h = conv_bn_relu(x)
    let p = pick 1 of [h, h] reduce max
    return linear(global_avg_pool(h), out: 10)
}
