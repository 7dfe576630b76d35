// A call that is never closed: the next line cannot continue its argument list.
network Net(x: Tensor[n, 1, 28, 28]) -> Tensor[n, 10] {
    let h = conv_bn_relu(x, out: 16, kernel: 3
    return linear(global_avg_pool(h), out: 10)
}
