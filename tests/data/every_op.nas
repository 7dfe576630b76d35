// Every operator of `stdlib/ops.nas` in one network, with the attributes each one's ONNX form
// must get right (padding, dilation, groups, depth multiplier, biases, count_include_pad,
// strides, steps, crops): the ONNX oracle test (tests/onnx.rs) checks that its fixed network
// uses every operator nasc's runtime implements, exports it, and compares ONNX Runtime's
// output with nasc's.
network EveryOp(x: Tensor[n, 3, 16, 16]) -> Tensor[n, 10] {
    let a = relu(batch_norm(conv2d(x, out: 8, kernel: 3, padding: 1, bias: true)))
    let b = conv2d(a, out: 8, kernel: 3, padding: 2, dilation: 2, groups: 2)
    let b = relu6(batch_norm(b, affine: false, eps: 0.001))
    let d = gelu(depthwise_conv2d(b, kernel: 3, padding: 1, multiplier: 2, bias: true))
    let e = channel_slice(d, start: 1, count: 8, step: 2)
    let f = channel_slice(d, start: 0, count: 8)
    let g = silu(e) + hardswish(f)
    let s = sigmoid(linear(global_avg_pool(g), out: 8))
    let h = hardsigmoid(scale(g, s))
    let m = max_pool(h, kernel: 3, stride: 2, padding: 1)
    let p = avg_pool(h, kernel: 3, stride: 2, padding: 1, count_include_pad: false)
    let q = avg_pool(h, kernel: 2)
    let z = zero(h, stride: 2)
    let t = pick trio 3 of [m, p, q] reduce sum
    let u = pick mix 3 of [m, p, z] reduce mean
    let c = crop(concat(t, u + q), top: 1, left: 2)
    return linear(flatten(identity(dropout(c, p: 0.3))), out: 10, bias: false)
}
