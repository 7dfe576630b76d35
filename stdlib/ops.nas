// std.ops: the prelude. Every `.nas` file sees these names without importing them.
//
// Part 1 declares the built-in primitive operators (`op`): their signature, output shape, the
// conditions they require, and their cost. The runtime implements them; these declarations are
// what the type checker and the cost model read.
//
// Part 2 builds composite blocks from the primitives (`block`): conv-bn-relu, the DARTS
// operation set (Liu et al., "DARTS: Differentiable Architecture Search", ICLR 2019, following
// the reference code's `operations.py`) and a MobileNetV2 inverted residual.
//
// Conventions used throughout:
// - Tensors are NCHW: `Tensor[n, c, h, w]`; after flattening or global pooling `Tensor[n, f]`.
// - `/` on ints is floor division, so spatial sizes follow PyTorch exactly:
//   `(h + 2 * padding - dilation * (kernel - 1) - 1) / stride + 1`.
// - `params` counts trainable parameters (PyTorch's `numel()` over `parameters()`, so batch
//   norm's running mean and variance, which are buffers, are not counted).
// - `flops` counts multiply-accumulate operations (MACs) for ONE sample: the batch dimension n
//   is excluded. Only convolutions and linear layers are counted, as in the "mobile setting"
//   budgets of the NAS literature (NASNet, DARTS: < 600M multiply-adds); batch norm folds into
//   the preceding convolution at inference, and pooling, activations, additions and
//   concatenation are not counted. Bias additions are not counted either.

// ---------------------------------------------------------------------------------------------
// Part 1: primitive operators.
// ---------------------------------------------------------------------------------------------

/// 2-D convolution, as PyTorch's `torch.nn.Conv2d` (square kernel, equal stride, padding and
/// dilation in both spatial dimensions, zero padding).
///
/// Unlike PyTorch, `bias` defaults to `false`: in these spaces a convolution is nearly always
/// followed by batch norm, which makes a bias redundant (the DARTS code passes `bias=False`
/// everywhere). Set `bias: true` for PyTorch's default.
operator conv2d(
    /// The input feature map.
    x: Tensor[n, c, h, w],
    /// Output channels.
    out: int,
    /// Kernel size (square).
    kernel: int = 3,
    stride: int = 1,
    /// Zero padding added on each side (PyTorch default: 0).
    padding: int = 0,
    dilation: int = 1,
    /// Number of blocked connections from input to output channels (`groups = c` gives a
    /// depthwise convolution).
    groups: int = 1,
    bias: bool = false,
) -> Tensor[
    n,
    out,
    (h + 2 * padding - dilation * (kernel - 1) - 1) / stride + 1,
    (w + 2 * padding - dilation * (kernel - 1) - 1) / stride + 1,
] {
    require out >= 1 : "a convolution needs at least one output channel"
    require kernel >= 1 : "the kernel size must be at least 1"
    require stride >= 1 : "the stride must be at least 1"
    require padding >= 0 : "the padding must not be negative"
    require dilation >= 1 : "the dilation must be at least 1"
    require groups >= 1 : "groups must be at least 1"
    require c % groups == 0 : "input channels must be divisible by groups"
    require out % groups == 0 : "output channels must be divisible by groups"
    require h + 2 * padding >= dilation * (kernel - 1) + 1
        : "the kernel is larger than the padded input height"
    require w + 2 * padding >= dilation * (kernel - 1) + 1
        : "the kernel is larger than the padded input width"
    params = c / groups * out * kernel * kernel + (if bias then out else 0)
    flops = c / groups * kernel * kernel * out
        * ((h + 2 * padding - dilation * (kernel - 1) - 1) / stride + 1)
        * ((w + 2 * padding - dilation * (kernel - 1) - 1) / stride + 1)
}

/// Depthwise 2-D convolution: `conv2d` with `groups = c`, each input channel convolved with
/// its own `multiplier` filters (PyTorch: `nn.Conv2d(c, c * multiplier, kernel, groups=c)`;
/// MobileNet, Howard et al. 2017). Output channels: `c * multiplier`.
operator depthwise_conv2d(
    x: Tensor[n, c, h, w],
    kernel: int = 3,
    stride: int = 1,
    padding: int = 0,
    dilation: int = 1,
    /// Filters per input channel (the "depth multiplier").
    multiplier: int = 1,
    bias: bool = false,
) -> Tensor[
    n,
    c * multiplier,
    (h + 2 * padding - dilation * (kernel - 1) - 1) / stride + 1,
    (w + 2 * padding - dilation * (kernel - 1) - 1) / stride + 1,
] {
    require kernel >= 1 : "the kernel size must be at least 1"
    require stride >= 1 : "the stride must be at least 1"
    require padding >= 0 : "the padding must not be negative"
    require dilation >= 1 : "the dilation must be at least 1"
    require multiplier >= 1 : "the depth multiplier must be at least 1"
    require h + 2 * padding >= dilation * (kernel - 1) + 1
        : "the kernel is larger than the padded input height"
    require w + 2 * padding >= dilation * (kernel - 1) + 1
        : "the kernel is larger than the padded input width"
    params = c * multiplier * kernel * kernel + (if bias then c * multiplier else 0)
    flops = c * multiplier * kernel * kernel
        * ((h + 2 * padding - dilation * (kernel - 1) - 1) / stride + 1)
        * ((w + 2 * padding - dilation * (kernel - 1) - 1) / stride + 1)
}

/// Fully connected layer, as PyTorch's `torch.nn.Linear`: `y = x W^T + b`. Takes a flat
/// feature vector per sample (use `global_avg_pool` or `flatten` first). `bias` defaults to
/// `true` as in PyTorch.
operator linear(x: Tensor[n, f], out: int, bias: bool = true) -> Tensor[n, out] {
    require out >= 1 : "a linear layer needs at least one output feature"
    params = f * out + (if bias then out else 0)
    flops = f * out
}

/// Batch normalisation over the channels of an NCHW tensor, as PyTorch's
/// `torch.nn.BatchNorm2d` (Ioffe & Szegedy 2015). With `affine` it learns a scale and a shift
/// per channel (2 * c parameters); the running mean and variance are buffers, not parameters.
/// DARTS' search network uses `affine: false` inside its cells.
operator batch_norm(
    x: Tensor[n, c, h, w],
    affine: bool = true,
    eps: float = 1e-5,
    momentum: float = 0.1,
) -> Tensor[n, c, h, w] {
    require eps > 0.0 : "eps must be positive"
    require momentum >= 0.0 and momentum <= 1.0 : "momentum must be between 0 and 1"
    params = if affine then 2 * c else 0
    flops = 0
}

/// Rectified linear unit, `max(x, 0)` element-wise (PyTorch `nn.ReLU`). Any shape.
operator relu(x: Tensor[...s]) -> Tensor[...s] {
    params = 0
    flops = 0
}

/// ReLU capped at 6, `min(max(x, 0), 6)` (PyTorch `nn.ReLU6`; MobileNetV2). Any shape.
operator relu6(x: Tensor[...s]) -> Tensor[...s] {
    params = 0
    flops = 0
}

/// Gaussian error linear unit, `x * Phi(x)` (Hendrycks & Gimpel 2016; PyTorch `nn.GELU` with
/// the exact, not the tanh-approximated, form). Any shape.
operator gelu(x: Tensor[...s]) -> Tensor[...s] {
    params = 0
    flops = 0
}

/// Logistic sigmoid, `1 / (1 + exp(-x))` (PyTorch `nn.Sigmoid`). Any shape.
operator sigmoid(x: Tensor[...s]) -> Tensor[...s] {
    params = 0
    flops = 0
}

/// Sigmoid-weighted linear unit (swish), `x * sigmoid(x)` (PyTorch `nn.SiLU`; used by
/// EfficientNet). Any shape.
operator silu(x: Tensor[...s]) -> Tensor[...s] {
    params = 0
    flops = 0
}

/// Hard swish, `x * relu6(x + 3) / 6` (Howard et al. 2019, MobileNetV3; PyTorch
/// `nn.Hardswish`). Any shape.
operator hardswish(x: Tensor[...s]) -> Tensor[...s] {
    params = 0
    flops = 0
}

/// Hard sigmoid, `relu6(x + 3) / 6` (Howard et al. 2019, MobileNetV3, the gate of its
/// squeeze-and-excitation module; PyTorch `nn.Hardsigmoid`). Any shape.
operator hardsigmoid(x: Tensor[...s]) -> Tensor[...s] {
    params = 0
    flops = 0
}

/// 2-D max pooling, as PyTorch's `nn.MaxPool2d` with `ceil_mode=False`: the stride defaults to
/// the kernel size, and padding pads with negative infinity.
operator max_pool(
    x: Tensor[n, c, h, w],
    kernel: int,
    stride: int = kernel,
    padding: int = 0,
) -> Tensor[n, c, (h + 2 * padding - kernel) / stride + 1, (w + 2 * padding - kernel) / stride + 1] {
    require kernel >= 1 : "the kernel size must be at least 1"
    require stride >= 1 : "the stride must be at least 1"
    require padding >= 0 : "the padding must not be negative"
    require 2 * padding <= kernel : "pooling padding must be at most half the kernel size"
    require h + 2 * padding >= kernel : "the kernel is larger than the padded input height"
    require w + 2 * padding >= kernel : "the kernel is larger than the padded input width"
    params = 0
    flops = 0
}

/// 2-D average pooling, as PyTorch's `nn.AvgPool2d` with `ceil_mode=False`: the stride
/// defaults to the kernel size and padding pads with zeros. With `count_include_pad: false`
/// the padded zeros are left out of each average (DARTS' `avg_pool_3x3` does this).
operator avg_pool(
    x: Tensor[n, c, h, w],
    kernel: int,
    stride: int = kernel,
    padding: int = 0,
    count_include_pad: bool = true,
) -> Tensor[n, c, (h + 2 * padding - kernel) / stride + 1, (w + 2 * padding - kernel) / stride + 1] {
    require kernel >= 1 : "the kernel size must be at least 1"
    require stride >= 1 : "the stride must be at least 1"
    require padding >= 0 : "the padding must not be negative"
    require 2 * padding <= kernel : "pooling padding must be at most half the kernel size"
    require h + 2 * padding >= kernel : "the kernel is larger than the padded input height"
    require w + 2 * padding >= kernel : "the kernel is larger than the padded input width"
    params = 0
    flops = 0
}

/// Global average pooling: the mean over each channel's whole feature map, flattened to one
/// feature per channel (PyTorch: `nn.AdaptiveAvgPool2d(1)` followed by `flatten(1)`).
operator global_avg_pool(x: Tensor[n, c, h, w]) -> Tensor[n, c] {
    params = 0
    flops = 0
}

/// Flattens each sample's channels and spatial dimensions into one feature vector, in C, H, W
/// order (PyTorch `torch.flatten(x, 1)`).
operator flatten(x: Tensor[n, c, h, w]) -> Tensor[n, c * h * w] {
    params = 0
    flops = 0
}

/// Dropout (Srivastava et al. 2014; PyTorch `nn.Dropout`): during training each element is
/// zeroed with probability `p` and the rest scaled by `1 / (1 - p)`; identity at inference.
/// Any shape.
operator dropout(x: Tensor[...s], p: float = 0.5) -> Tensor[...s] {
    require p >= 0.0 and p < 1.0 : "the dropout probability must be in [0, 1)"
    params = 0
    flops = 0
}

/// Element-wise sum of two tensors of the same shape (no broadcasting). `x + y` on tensors
/// means `add(x, y)`.
operator add(x: Tensor[...s], y: Tensor[...s]) -> Tensor[...s] {
    params = 0
    flops = 0
}

/// Concatenation along the channel dimension (PyTorch `torch.cat([a, b], dim=1)`); the batch
/// and spatial sizes must agree.
operator concat(a: Tensor[n, c1, h, w], b: Tensor[n, c2, h, w]) -> Tensor[n, c1 + c2, h, w] {
    params = 0
    flops = 0
}

/// Channel-wise scaling: every feature map of channel `j` of `x` multiplied by `s[:, j]`
/// (PyTorch `x * s[:, :, None, None]`), the "scale" step of squeeze-and-excitation (Hu et al.
/// 2018). `s` is typically a gate in [0, 1] computed from `x` itself.
operator scale(x: Tensor[n, c, h, w], s: Tensor[n, c]) -> Tensor[n, c, h, w] {
    params = 0
    flops = 0
}

/// Takes `count` channels of `x`, starting at channel `start` and stepping by `step` (PyTorch
/// `x[:, start : start + count * step : step]`). ShuffleNetV2 (Ma et al. 2018) splits its
/// input in two halves with it; with `step: 2` it is SPOS's fused channel shuffle and split
/// (`start: 0` the even channels, `start: 1` the odd ones).
operator channel_slice(x: Tensor[n, c, h, w], start: int = 0, count: int, step: int = 1)
    -> Tensor[n, count, h, w]
{
    require start >= 0 : "the first channel cannot be negative"
    require count >= 1 : "a channel slice needs at least one channel"
    require step >= 1 : "the step must be at least 1"
    require start + (count - 1) * step < c : "the slice runs past the last channel"
    params = 0
    flops = 0
}

/// The identity: returns its input unchanged (PyTorch `nn.Identity`). Any shape.
operator identity(x: Tensor[...s]) -> Tensor[...s] {
    params = 0
    flops = 0
}

/// DARTS' `none` operation (`Zero` in the reference `operations.py`): an all-zero tensor,
/// which removes an edge from a cell. With `stride > 1` it keeps every `stride`-th row and
/// column first (`x[:, :, ::stride, ::stride] * 0`), so the spatial size becomes
/// `ceil(h / stride)`, the same as a 3x3 convolution with padding 1 and that stride.
operator zero(x: Tensor[n, c, h, w], stride: int = 1)
    -> Tensor[n, c, (h - 1) / stride + 1, (w - 1) / stride + 1]
{
    require stride >= 1 : "the stride must be at least 1"
    params = 0
    flops = 0
}

/// Crops `top` rows from the top and `left` columns from the left of every feature map
/// (PyTorch `x[:, :, top:, left:]`). DARTS' `factorized_reduce` uses it to offset its second
/// path by one pixel.
operator crop(x: Tensor[n, c, h, w], top: int = 0, left: int = 0) -> Tensor[n, c, h - top, w - left] {
    require top >= 0 and left >= 0 : "a crop cannot be negative"
    require top < h and left < w : "the crop removes the whole feature map"
    params = 0
    flops = 0
}

// ---------------------------------------------------------------------------------------------
// Part 2: composite blocks.
//
// Blocks with a `kernel` parameter pad by `kernel / 2` ("same" padding), so for an odd kernel
// the output spatial size is `(h - 1) / stride + 1`, i.e. `ceil(h / stride)`: `h` itself at
// stride 1. Their kernels must be odd for the declared output shape to hold.
// ---------------------------------------------------------------------------------------------

/// Convolution, batch norm, ReLU: the usual post-activation CNN layer (He et al. 2016), with
/// "same" padding (`kernel / 2`; the kernel must be odd).
block conv_bn_relu(
    x: Tensor[n, c, h, w],
    out: int,
    kernel: int = 3,
    stride: int = 1,
    affine: bool = true,
) -> Tensor[n, out, (h - 1) / stride + 1, (w - 1) / stride + 1] {
    let y = conv2d(x, out: out, kernel: kernel, stride: stride, padding: kernel / 2)
    let y = batch_norm(y, affine: affine)
    return relu(y)
}

/// Convolution followed by batch norm, without an activation (a DARTS stem, or the projection
/// of an inverted residual). "Same" padding; the kernel must be odd.
block conv_bn(
    x: Tensor[n, c, h, w],
    out: int,
    kernel: int = 3,
    stride: int = 1,
    affine: bool = true,
) -> Tensor[n, out, (h - 1) / stride + 1, (w - 1) / stride + 1] {
    let y = conv2d(x, out: out, kernel: kernel, stride: stride, padding: kernel / 2)
    return batch_norm(y, affine: affine)
}

/// DARTS' `ReLUConvBN` (pre-activation order): ReLU, convolution without bias, batch norm.
/// DARTS uses it with a 1x1 kernel to preprocess a cell's inputs. "Same" padding; the kernel
/// must be odd.
block relu_conv_bn(
    x: Tensor[n, c, h, w],
    out: int,
    kernel: int = 1,
    stride: int = 1,
    affine: bool = true,
) -> Tensor[n, out, (h - 1) / stride + 1, (w - 1) / stride + 1] {
    let y = relu(x)
    let y = conv2d(y, out: out, kernel: kernel, stride: stride, padding: kernel / 2)
    return batch_norm(y, affine: affine)
}

/// DARTS' `SepConv`: a depthwise-separable convolution applied twice, each time
/// ReLU, depthwise `kernel` x `kernel` convolution, pointwise 1x1 convolution, batch norm.
/// Only the first depthwise convolution has the stride; the first pointwise keeps `c`
/// channels and the second maps to `out`. Padding `kernel / 2` (DARTS: 1 for 3x3, 2 for 5x5);
/// the kernel must be odd.
block sep_conv(
    x: Tensor[n, c, h, w],
    out: int,
    kernel: int = 3,
    stride: int = 1,
    affine: bool = true,
) -> Tensor[n, out, (h - 1) / stride + 1, (w - 1) / stride + 1] {
    let y = relu(x)
    let y = depthwise_conv2d(y, kernel: kernel, stride: stride, padding: kernel / 2)
    let y = conv2d(y, out: c, kernel: 1)
    let y = batch_norm(y, affine: affine)
    let y = relu(y)
    let y = depthwise_conv2d(y, kernel: kernel, padding: kernel / 2)
    let y = conv2d(y, out: out, kernel: 1)
    return batch_norm(y, affine: affine)
}

/// DARTS' `DilConv`: ReLU, dilated depthwise `kernel` x `kernel` convolution, pointwise 1x1
/// convolution, batch norm. Padding `dilation * (kernel - 1) / 2` keeps the size at stride 1
/// (DARTS: dilation 2 with padding 2 for 3x3 and 4 for 5x5); the kernel must be odd.
block dil_conv(
    x: Tensor[n, c, h, w],
    out: int,
    kernel: int = 3,
    stride: int = 1,
    dilation: int = 2,
    affine: bool = true,
) -> Tensor[n, out, (h - 1) / stride + 1, (w - 1) / stride + 1] {
    let y = relu(x)
    let y = depthwise_conv2d(
        y,
        kernel: kernel,
        stride: stride,
        padding: dilation * (kernel - 1) / 2,
        dilation: dilation,
    )
    let y = conv2d(y, out: out, kernel: 1)
    return batch_norm(y, affine: affine)
}

/// DARTS' `max_pool_3x3`: 3x3 max pooling with padding 1 and the given stride
/// (`nn.MaxPool2d(3, stride=stride, padding=1)`).
block max_pool_3x3(x: Tensor[n, c, h, w], stride: int = 1)
    -> Tensor[n, c, (h - 1) / stride + 1, (w - 1) / stride + 1]
{
    return max_pool(x, kernel: 3, stride: stride, padding: 1)
}

/// DARTS' `avg_pool_3x3`: 3x3 average pooling with padding 1 and the given stride, padded
/// zeros not counted (`nn.AvgPool2d(3, stride=stride, padding=1, count_include_pad=False)`).
block avg_pool_3x3(x: Tensor[n, c, h, w], stride: int = 1)
    -> Tensor[n, c, (h - 1) / stride + 1, (w - 1) / stride + 1]
{
    return avg_pool(x, kernel: 3, stride: stride, padding: 1, count_include_pad: false)
}

/// DARTS' `FactorizedReduce`: halves the spatial size and maps to `out` channels without
/// losing the odd pixels. ReLU, then two 1x1 stride-2 convolutions with `out / 2` channels
/// each, the second on the input shifted by one pixel (`x[:, :, 1:, 1:]`), concatenated along
/// the channels, then batch norm. Needs an even `out`, and an even `h` and `w` (otherwise the
/// two paths differ in size and the concatenation is rejected).
block factorized_reduce(x: Tensor[n, c, h, w], out: int, affine: bool = true)
    -> Tensor[n, out, h / 2, w / 2]
{
    let y = relu(x)
    let a = conv2d(y, out: out / 2, kernel: 1, stride: 2)
    let b = conv2d(crop(y, top: 1, left: 1), out: out / 2, kernel: 1, stride: 2)
    return batch_norm(concat(a, b), affine: affine)
}

/// DARTS' `skip_connect`: the identity at stride 1, and `factorized_reduce` to the same
/// number of channels at stride 2 (the only strides DARTS uses; at stride 2, `c`, `h` and `w`
/// must be even).
block skip_connect(x: Tensor[n, c, h, w], stride: int = 1, affine: bool = true)
    -> Tensor[n, c, (h - 1) / stride + 1, (w - 1) / stride + 1]
{
    return if stride == 1 then identity(x) else factorized_reduce(x, out: c, affine: affine)
}

/// MobileNetV2's inverted residual body (Sandler et al. 2018), without the residual
/// connection (add `x + mb_conv(x, ...)` yourself when `stride` is 1 and `out == c`):
/// 1x1 expansion to `c * expand` channels with batch norm and ReLU6 (skipped when `expand`
/// is 1), depthwise `kernel` x `kernel` convolution with batch norm and ReLU6, then a linear
/// 1x1 projection to `out` with batch norm. "Same" padding; the kernel must be odd.
block mb_conv(
    x: Tensor[n, c, h, w],
    out: int,
    expand: int = 6,
    kernel: int = 3,
    stride: int = 1,
) -> Tensor[n, out, (h - 1) / stride + 1, (w - 1) / stride + 1] {
    let y = if expand == 1 then x else relu6(batch_norm(conv2d(x, out: c * expand, kernel: 1)))
    let y = depthwise_conv2d(y, kernel: kernel, stride: stride, padding: kernel / 2)
    let y = relu6(batch_norm(y))
    let y = conv2d(y, out: out, kernel: 1)
    return batch_norm(y)
}
