// A six-architecture space for the search tests: two value choices on one convolution.
network Tiny(x: Tensor[n, 1, 28, 28]) -> Tensor[n, 10] {
    let h = conv_bn_relu(x, out: choice width [4, 8, 12], kernel: choice kernel [3, 5], stride: 2)
    return linear(global_avg_pool(h), out: 10)
}
