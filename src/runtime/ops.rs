//! The forward pass of the operators without weights ([`Weightless`]), written once for the
//! fixed network (`super::network`) and the supernet (`super::supernet`).
//!
//! Tensors are NCHW: feature maps `[batch, channels, height, width]`, flat features
//! `[batch, features]`, as the operators are declared in `stdlib/ops.nas`; each operator
//! computes what its PyTorch counterpart computes (`nn.ReLU`, `nn.MaxPool2d`, `nn.Dropout`,
//! ...), and `zero` is DARTS' `Zero` (Liu et al. 2019).

use super::network::Value;
use super::RuntimeError;
use crate::ir::op::{Pool, Weightless};
use burn::tensor::activation;
use burn::tensor::module::{avg_pool2d, max_pool2d};
use burn::tensor::ops::{AvgPoolOptions, MaxPoolOptions};
use burn::tensor::{Distribution, Int, Tensor, TensorData};

/// What the forward pass needs from its caller besides the operator and its inputs: how the
/// caller names its errors, and what only the caller knows.
pub(crate) struct Site<'a> {
    /// The caller's shape error (its operator and `.nas` place) from what was expected and what
    /// was found.
    pub shape_error: &'a dyn Fn(&str, &str) -> RuntimeError,
    /// How flat features are described where a feature map was expected.
    pub flat: &'a str,
    /// Whether dropout drops (it drops only on an autodiff device, that is while training).
    pub training: bool,
    /// The output's height and width, for `zero`.
    pub zero_size: &'a dyn Fn() -> Result<(usize, usize), RuntimeError>,
}

/// `op` applied to `args` (its tensor inputs, in parameter order).
///
/// Errors: [`RuntimeError::Shape`] from `site` for an input of the wrong kind (flat features
/// where a feature map is needed), no input, a feature map too small to crop or too narrow for
/// the channel slice.
pub(crate) fn forward(
    op: &Weightless,
    mut args: Vec<Value>,
    site: &Site,
) -> Result<Value, RuntimeError> {
    let wrong =
        |found: &str| (site.shape_error)("a feature map [batch, channels, height, width]", found);
    let first = args.first().cloned().ok_or_else(|| wrong("no input"))?;
    let map = |v: Value| match v {
        Value::Map(t) => Ok(t),
        Value::Flat(_) => Err(wrong(site.flat)),
    };
    Ok(match op {
        Weightless::Relu => unary(first, activation::relu, activation::relu),
        Weightless::Relu6 => unary(first, activation::relu6, activation::relu6),
        Weightless::Gelu => unary(first, activation::gelu, activation::gelu),
        Weightless::Sigmoid => unary(first, activation::sigmoid, activation::sigmoid),
        Weightless::Silu => unary(first, activation::silu, activation::silu),
        Weightless::Hardswish => unary(first, activation::hard_swish, activation::hard_swish),
        Weightless::Hardsigmoid => unary(first, hard_sigmoid, hard_sigmoid),
        Weightless::MaxPool(Pool { kernel, stride, padding }) => {
            let opts = MaxPoolOptions::new([*kernel, *kernel])
                .with_stride([*stride, *stride])
                .with_padding([*padding, *padding]);
            Value::Map(max_pool2d(map(first)?, opts))
        }
        Weightless::AvgPool { pool: Pool { kernel, stride, padding }, count_include_pad } => {
            let opts = AvgPoolOptions::new([*kernel, *kernel])
                .with_stride([*stride, *stride])
                .with_padding([*padding, *padding])
                .with_count_include_pad(*count_include_pad);
            Value::Map(avg_pool2d(map(first)?, opts))
        }
        Weightless::GlobalAvgPool => {
            let x = map(first)?;
            let [n, c, h, w] = x.dims();
            Value::Flat(x.reshape([n, c, h * w]).mean_dim(2).reshape([n, c]))
        }
        Weightless::Flatten => {
            let x = map(first)?;
            let [n, c, h, w] = x.dims();
            Value::Flat(x.reshape([n, c * h * w]))
        }
        Weightless::Dropout { p } => {
            // Inverted dropout (as PyTorch's `nn.Dropout`): kept elements scaled by 1 / keep.
            let active = site.training && *p > 0.0;
            let keep = 1.0 - p;
            match first {
                Value::Map(t) if active && t.device().is_autodiff() => {
                    let mask = t.random_like(Distribution::Bernoulli(keep));
                    Value::Map((t * mask).mul_scalar(1.0 / keep))
                }
                Value::Flat(t) if active && t.device().is_autodiff() => {
                    let mask = t.random_like(Distribution::Bernoulli(keep));
                    Value::Flat((t * mask).mul_scalar(1.0 / keep))
                }
                other => other,
            }
        }
        Weightless::Add | Weightless::Mean => {
            let count = args.len();
            let mut iter = args.into_iter();
            let mut acc = iter.next().ok_or_else(|| wrong("no input"))?;
            for v in iter {
                acc = match (acc, v) {
                    (Value::Map(a), Value::Map(b)) => Value::Map(a + b),
                    (Value::Flat(a), Value::Flat(b)) => Value::Flat(a + b),
                    _ => {
                        return Err((site.shape_error)(
                            "inputs of one shape",
                            "a feature map and flat features",
                        ))
                    }
                };
            }
            if matches!(op, Weightless::Mean) && count > 1 {
                let k = 1.0 / count as f64;
                unary(acc, |t| t.mul_scalar(k), |t| t.mul_scalar(k))
            } else {
                acc
            }
        }
        Weightless::Concat => {
            let maps = args.drain(..).map(map).collect::<Result<Vec<_>, _>>()?;
            Value::Map(Tensor::cat(maps, 1))
        }
        Weightless::Identity => first,
        Weightless::Zero => {
            // DARTS' `Zero`: `x[:, :, ::stride, ::stride] * 0`. The output carries no gradient
            // to the input, as in PyTorch (the gradient of `* 0` is zero).
            let x = map(first)?;
            let [n, c, _, _] = x.dims();
            let (h, w) = (site.zero_size)()?;
            Value::Map(Tensor::zeros([n, c, h, w], &x.device()))
        }
        Weightless::Crop { top, left } => {
            let x = map(first)?;
            let [n, c, h, w] = x.dims();
            if *top >= h || *left >= w {
                return Err(wrong(&format!("a feature map of {h}x{w}, too small to crop")));
            }
            Value::Map(x.slice([0..n, 0..c, *top..h, *left..w]))
        }
        Weightless::Scale => match (first, args.get(1).cloned()) {
            (Value::Map(x), Some(Value::Flat(s))) => Value::Map(scale_channels(x, s)),
            _ => {
                return Err((site.shape_error)(
                    "a feature map and one scale per channel [batch, channels]",
                    "other inputs",
                ))
            }
        },
        Weightless::ChannelSlice { start, count, step } => {
            let x = map(first)?;
            let c = x.dims()[1];
            if *count == 0 || *step == 0 || start + (count - 1) * step >= c {
                return Err(wrong(&format!(
                    "a feature map of {c} channels, too few for the slice"
                )));
            }
            Value::Map(channel_slice(x, *start, *count, *step))
        }
    })
}

/// `f4` applied to a feature map, `f2` to flat features.
fn unary(
    v: Value,
    f4: impl FnOnce(Tensor<4>) -> Tensor<4>,
    f2: impl FnOnce(Tensor<2>) -> Tensor<2>,
) -> Value {
    match v {
        Value::Map(t) => Value::Map(f4(t)),
        Value::Flat(t) => Value::Flat(f2(t)),
    }
}

/// PyTorch's `nn.Hardsigmoid`, `relu6(x + 3) / 6`, on any shape.
fn hard_sigmoid<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    activation::hard_sigmoid(x, 1.0 / 6.0, 0.5)
}

/// `x` `[batch, channels, height, width]` with channel `j` multiplied by `s[:, j]`; `s` is
/// `[batch, channels]` (squeeze-and-excitation's scale, Hu et al. 2018).
fn scale_channels(x: Tensor<4>, s: Tensor<2>) -> Tensor<4> {
    let [n, c] = s.dims();
    x * s.reshape([n, c, 1, 1])
}

/// Channels `start, start + step, ...` (`count` of them) of `x` `[batch, channels, height,
/// width]`; the caller has checked that they exist.
fn channel_slice(x: Tensor<4>, start: usize, count: usize, step: usize) -> Tensor<4> {
    if step == 1 {
        return x.narrow(1, start, count);
    }
    let index: Vec<i64> = (0..count).map(|i| (start + i * step) as i64).collect();
    let index = Tensor::<1, Int>::from_data(TensorData::new(index, [count]), &x.device());
    x.select(1, index)
}
