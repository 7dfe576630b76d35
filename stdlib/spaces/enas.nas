// std.spaces.enas: the ENAS macro search space for CIFAR-10 (Pham, Guan, Zoph, Le & Dean,
// "Efficient Neural Architecture Search via Parameter Sharing", ICML 2018, section 2.3 and the
// reference code's `general_child.py`).
//
// A network of `layers` layers on a fixed number of channels. Each layer applies one of six
// operations to the previous layer's output and may add the outputs of any of the layers
// before that (skip connections): with 12 layers, 6^12 operation choices and 12 x 11 / 2 = 66
// possible skip connections, 6^12 x 2^66 (about 1.6 x 10^29) architectures, the paper's count.
// Every label is used by every architecture, so the product of the label domains that
// `nasc check` prints is exactly that number.
//
// Labels: `layer[k]/op` is layer k's operation (k = 0 .. layers - 1) and `layer[k]/skip[j]`
// (j < k, a bool) whether layer k also adds the output of state j, where state 0 is the stem
// and state j > 0 is layer j - 1 (layer k always reads state k, the layer just before it).

/// An ENAS convolution branch (`_conv_branch`): a 1x1 convolution with batch norm and ReLU,
/// then a `kernel` x `kernel` convolution (depthwise-separable with `separable`), batch norm
/// and ReLU. Keeps the shape; the kernel must be odd.
block enas_conv(x: Tensor[n, c, h, w], kernel: int, separable: bool = false) -> Tensor[n, c, h, w] {
    let y = conv_bn_relu(x, out: c, kernel: 1)
    let y = if separable
        then conv2d(depthwise_conv2d(y, kernel: kernel, padding: kernel / 2), out: c, kernel: 1)
        else conv2d(y, out: c, kernel: kernel, padding: kernel / 2)
    return relu(batch_norm(y))
}

/// One ENAS macro layer (`_enas_layer`): one of the six operations on `x` (the previous
/// layer's output), plus the skip connections chosen among the `count` earlier states
/// `earlier[0 .. count]` (all of `x`'s shape), then batch norm.
block enas_layer(x: Tensor[n, c, h, w], earlier: list, count: int) -> Tensor[n, c, h, w] {
    let y = choice op {
        conv_3x3: enas_conv(x, kernel: 3),
        sep_conv_3x3: enas_conv(x, kernel: 3, separable: true),
        conv_5x5: enas_conv(x, kernel: 5),
        sep_conv_5x5: enas_conv(x, kernel: 5, separable: true),
        /// A 1x1 convolution with batch norm and ReLU, then 3x3 pooling (`_pool_branch`).
        avg_pool_3x3: avg_pool_3x3(conv_bn_relu(x, out: c, kernel: 1)),
        max_pool_3x3: max_pool_3x3(conv_bn_relu(x, out: c, kernel: 1)),
    }
    for j in 0..count {
        let y = if choice skip [false, true] then y + earlier[j] else y
    }
    return batch_norm(y)
}

/// ENAS' `_factorized_reduction`: halves the spatial size keeping the channels, with two 1x1
/// stride-2 convolutions of `c / 2` channels, the second on the input shifted by one pixel,
/// concatenated, then batch norm. Unlike DARTS' `factorized_reduce` there is no ReLU first.
block enas_reduce(x: Tensor[n, c, h, w]) -> Tensor[n, c, h / 2, w / 2] {
    let a = conv2d(x, out: c / 2, kernel: 1, stride: 2)
    let b = conv2d(crop(x, top: 1, left: 1), out: c / 2, kernel: 1, stride: 2)
    return batch_norm(concat(a, b))
}

/// The ENAS macro search network (`GeneralChild`): a 3x3 convolution stem with batch norm to
/// `channels` channels, `layers` ENAS layers, global average pooling and a linear classifier
/// (without bias, as in the reference code). After layers `layers / 3 - 1` and
/// `2 * layers / 3 - 1` every state so far is halved in size by its own `enas_reduce`, so that
/// skip connections always add tensors of one shape. The search used 12 layers of 36 channels;
/// the paper's final networks widen them (its ENAS macro result has 21.3M parameters), which
/// this space leaves to the `channels` parameter. The input's height and width must be
/// divisible by 4.
network EnasMacro(
    in_channels: int = 3,
    resolution: int = 32,
    classes: int = 10,
    channels: int = 36,
    layers: int = 12,
    x: Tensor[n, in_channels, resolution, resolution],
) -> Tensor[n, classes] {
    let stem = batch_norm(conv2d(x, out: channels, kernel: 3, padding: 1))
    let states = [stem]
    for k in 0..layers {
        let layer = enas_layer(states[k], earlier: states, count: k)
        let states = states + [layer]
        let states = if k == layers / 3 - 1 or k == 2 * layers / 3 - 1
            then [enas_reduce(s) for s in states]
            else states
    }
    return linear(global_avg_pool(states[layers]), out: classes, bias: false)
}
