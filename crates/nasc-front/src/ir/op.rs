//! The operators the runtime implements, as data: one [`Op`] per operator of `stdlib/ops.nas`
//! that the fixed network (`crate::runtime::network`) and the supernet
//! (`crate::runtime::supernet`) can run, resolved once from the operator's name where the type
//! stage makes the IR node (`NodeKind::Op::kind`), and the operators' attributes, typed
//! ([`Conv`], [`Linear`], [`Norm`], [`Weightless`]), read once from their evaluated values.
//!
//! The back ends match exhaustively on [`Op`] and [`Weightless`], so adding an operator makes
//! the compiler name every place to update: [`Op::name`], [`Weightless::read`], the fixed
//! network, the supernet and the weightless forward pass (`crate::runtime::ops`).
//!
//! Burn-free: the front end uses [`Op`] to check that the runtime implements an operator
//! (`crate::lower`) without depending on the runtime.

use serde::Serialize;

/// An operator the runtime implements (its declaration, with shapes and cost formulas, is in
/// `stdlib/ops.nas`; `mean` is made by input choices that average their inputs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    /// `conv2d`: a 2-D convolution with weights `[out, in / groups, k, k]`.
    Conv2d,
    /// `depthwise_conv2d`: a convolution with one group per input channel.
    DepthwiseConv2d,
    /// `linear`: a fully connected layer on `[batch, features]`.
    Linear,
    /// `batch_norm`: batch normalisation over the channels (Ioffe & Szegedy 2015).
    BatchNorm,
    /// `relu`.
    Relu,
    /// `relu6`: `min(max(x, 0), 6)`.
    Relu6,
    /// `gelu`.
    Gelu,
    /// `sigmoid`.
    Sigmoid,
    /// `silu` (swish).
    Silu,
    /// `hardswish` (MobileNetV3).
    Hardswish,
    /// `hardsigmoid`: PyTorch's `relu6(x + 3) / 6`.
    Hardsigmoid,
    /// `max_pool`: 2-D max pooling.
    MaxPool,
    /// `avg_pool`: 2-D average pooling.
    AvgPool,
    /// `global_avg_pool`: `[batch, channels, height, width]` to `[batch, channels]`.
    GlobalAvgPool,
    /// `flatten`: `[batch, channels, height, width]` to `[batch, channels * height * width]`.
    Flatten,
    /// `dropout`.
    Dropout,
    /// `add`: the sum of the inputs.
    Add,
    /// `mean`: the mean of the inputs.
    Mean,
    /// `concat`: the inputs concatenated along the channels.
    Concat,
    /// `identity`.
    Identity,
    /// `zero`: DARTS' `none` operation, zeros of the output's shape.
    Zero,
    /// `crop`: the feature map without its first rows and columns.
    Crop,
    /// `scale`: channel `j` multiplied by `s[:, j]` (squeeze-and-excitation).
    Scale,
    /// `channel_slice`: channels `start, start + step, ...`.
    ChannelSlice,
}

impl Op {
    /// Every operator, in the order of `stdlib/ops.nas` (`mean` after `add`).
    pub const ALL: [Op; 24] = [
        Op::Conv2d,
        Op::DepthwiseConv2d,
        Op::Linear,
        Op::BatchNorm,
        Op::Relu,
        Op::Relu6,
        Op::Gelu,
        Op::Sigmoid,
        Op::Silu,
        Op::Hardswish,
        Op::Hardsigmoid,
        Op::MaxPool,
        Op::AvgPool,
        Op::GlobalAvgPool,
        Op::Flatten,
        Op::Dropout,
        Op::Add,
        Op::Mean,
        Op::Concat,
        Op::Identity,
        Op::Zero,
        Op::Crop,
        Op::Scale,
        Op::ChannelSlice,
    ];

    /// The name in `.nas` files (`depthwise_conv2d`).
    pub fn name(self) -> &'static str {
        match self {
            Op::Conv2d => "conv2d",
            Op::DepthwiseConv2d => "depthwise_conv2d",
            Op::Linear => "linear",
            Op::BatchNorm => "batch_norm",
            Op::Relu => "relu",
            Op::Relu6 => "relu6",
            Op::Gelu => "gelu",
            Op::Sigmoid => "sigmoid",
            Op::Silu => "silu",
            Op::Hardswish => "hardswish",
            Op::Hardsigmoid => "hardsigmoid",
            Op::MaxPool => "max_pool",
            Op::AvgPool => "avg_pool",
            Op::GlobalAvgPool => "global_avg_pool",
            Op::Flatten => "flatten",
            Op::Dropout => "dropout",
            Op::Add => "add",
            Op::Mean => "mean",
            Op::Concat => "concat",
            Op::Identity => "identity",
            Op::Zero => "zero",
            Op::Crop => "crop",
            Op::Scale => "scale",
            Op::ChannelSlice => "channel_slice",
        }
    }

    /// The operator named `name` in `.nas` files; `None` for one the runtime does not
    /// implement.
    pub fn from_name(name: &str) -> Option<Op> {
        Op::ALL.into_iter().find(|op| op.name() == name)
    }
}

impl std::fmt::Display for Op {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Reads an operator's evaluated attributes by name, as integers (non-negative), booleans or
/// numbers.
///
/// Two readers exist: the fixed network's is strict (a missing or mistyped attribute is its
/// error, and `default` is ignored); the supernet's takes `default` for a missing attribute and
/// never fails. The typed attributes below are read through one or the other.
pub trait AttrReader {
    /// Why an attribute cannot be read.
    type Error;
    /// A non-negative integer attribute.
    fn int(&self, name: &str, default: i64) -> Result<usize, Self::Error>;
    /// A boolean attribute.
    fn bool(&self, name: &str, default: bool) -> Result<bool, Self::Error>;
    /// A number (an integer is taken as a float).
    fn float(&self, name: &str, default: f64) -> Result<f64, Self::Error>;
}

/// How a convolution's channels are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grouping {
    /// `conv2d`: `out` output channels in `groups` groups.
    Groups {
        /// Output channels.
        out: usize,
        /// Groups (1: a dense convolution).
        groups: usize,
    },
    /// `depthwise_conv2d`: one group per input channel, `multiplier` outputs each.
    Depthwise {
        /// Output channels per input channel.
        multiplier: usize,
    },
}

/// The attributes of `conv2d` and `depthwise_conv2d` (square kernels, equal padding on every
/// side, as PyTorch's `nn.Conv2d` with integer arguments).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conv {
    /// Kernel size `k` (a `k x k` kernel).
    pub kernel: usize,
    /// Stride.
    pub stride: usize,
    /// Zero padding on each side.
    pub padding: usize,
    /// Dilation.
    pub dilation: usize,
    /// Whether it adds a bias per output channel.
    pub bias: bool,
    /// Its output channels and groups.
    pub grouping: Grouping,
}

impl Conv {
    /// The attributes of a convolution: `kernel`, `stride`, `padding`, `dilation`, `bias`, then
    /// `out` and `groups` (`depthwise` false) or `multiplier` (`depthwise` true), in this order.
    pub fn read<R: AttrReader>(depthwise: bool, r: &R) -> Result<Conv, R::Error> {
        let kernel = r.int("kernel", 1)?;
        let stride = r.int("stride", 1)?;
        let padding = r.int("padding", 0)?;
        let dilation = r.int("dilation", 1)?;
        let bias = r.bool("bias", false)?;
        let grouping = if depthwise {
            Grouping::Depthwise { multiplier: r.int("multiplier", 1)? }
        } else {
            Grouping::Groups { out: r.int("out", 0)?, groups: r.int("groups", 1)? }
        };
        Ok(Conv { kernel, stride, padding, dilation, bias, grouping })
    }
}

/// The attributes of `linear`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Linear {
    /// Output features.
    pub out: usize,
    /// Whether it adds a bias per output feature.
    pub bias: bool,
}

impl Linear {
    /// `out`, then `bias`.
    pub fn read<R: AttrReader>(r: &R) -> Result<Linear, R::Error> {
        Ok(Linear { out: r.int("out", 0)?, bias: r.bool("bias", true)? })
    }
}

/// The attributes of `batch_norm` (PyTorch's `nn.BatchNorm2d`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Norm {
    /// Whether it has a learnt scale and shift per channel.
    pub affine: bool,
    /// Added to the variance before the square root.
    pub eps: f64,
    /// Weight of the current batch in the running statistics.
    pub momentum: f64,
}

impl Norm {
    /// `affine`, `eps`, then `momentum`.
    pub fn read<R: AttrReader>(r: &R) -> Result<Norm, R::Error> {
        Ok(Norm {
            affine: r.bool("affine", true)?,
            eps: r.float("eps", 1e-5)?,
            momentum: r.float("momentum", 0.1)?,
        })
    }
}

/// The attributes of `max_pool` and `avg_pool` (square windows, equal padding on every side).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pool {
    /// Window size `k` (a `k x k` window).
    pub kernel: usize,
    /// Stride.
    pub stride: usize,
    /// Padding on each side.
    pub padding: usize,
}

/// An operator without weights, with its typed attributes: what the forward pass written once
/// for the fixed network and the supernet computes (`crate::runtime::ops`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Weightless {
    /// `relu`.
    Relu,
    /// `relu6`.
    Relu6,
    /// `gelu`.
    Gelu,
    /// `sigmoid`.
    Sigmoid,
    /// `silu`.
    Silu,
    /// `hardswish`.
    Hardswish,
    /// `hardsigmoid`.
    Hardsigmoid,
    /// `max_pool`.
    MaxPool(Pool),
    /// `avg_pool`.
    AvgPool {
        /// The window.
        pool: Pool,
        /// Whether the padding counts in the average (PyTorch's `count_include_pad`).
        count_include_pad: bool,
    },
    /// `global_avg_pool`.
    GlobalAvgPool,
    /// `flatten`.
    Flatten,
    /// `dropout` with probability `p` of zeroing an element.
    Dropout {
        /// The probability of dropping an element.
        p: f64,
    },
    /// `add`.
    Add,
    /// `mean`.
    Mean,
    /// `concat`.
    Concat,
    /// `identity`.
    Identity,
    /// `zero`.
    Zero,
    /// `crop` of the first `top` rows and `left` columns.
    Crop {
        /// Rows removed at the top.
        top: usize,
        /// Columns removed at the left.
        left: usize,
    },
    /// `scale`.
    Scale,
    /// `channel_slice`: `count` channels from `start`, every `step`.
    ChannelSlice {
        /// The first channel.
        start: usize,
        /// How many channels.
        count: usize,
        /// The distance between two channels taken.
        step: usize,
    },
}

impl Weightless {
    /// `op` with its attributes read from `r`, or `None` for an operator with weights
    /// (`conv2d`, `depthwise_conv2d`, `linear`, `batch_norm`).
    pub fn read<R: AttrReader>(op: Op, r: &R) -> Result<Option<Weightless>, R::Error> {
        let pool = |r: &R| -> Result<Pool, R::Error> {
            Ok(Pool {
                kernel: r.int("kernel", 1)?,
                stride: r.int("stride", 1)?,
                padding: r.int("padding", 0)?,
            })
        };
        Ok(Some(match op {
            Op::Conv2d | Op::DepthwiseConv2d | Op::Linear | Op::BatchNorm => return Ok(None),
            Op::Relu => Weightless::Relu,
            Op::Relu6 => Weightless::Relu6,
            Op::Gelu => Weightless::Gelu,
            Op::Sigmoid => Weightless::Sigmoid,
            Op::Silu => Weightless::Silu,
            Op::Hardswish => Weightless::Hardswish,
            Op::Hardsigmoid => Weightless::Hardsigmoid,
            Op::MaxPool => Weightless::MaxPool(pool(r)?),
            Op::AvgPool => Weightless::AvgPool {
                pool: pool(r)?,
                count_include_pad: r.bool("count_include_pad", true)?,
            },
            Op::GlobalAvgPool => Weightless::GlobalAvgPool,
            Op::Flatten => Weightless::Flatten,
            Op::Dropout => Weightless::Dropout { p: r.float("p", 0.5)? },
            Op::Add => Weightless::Add,
            Op::Mean => Weightless::Mean,
            Op::Concat => Weightless::Concat,
            Op::Identity => Weightless::Identity,
            Op::Zero => Weightless::Zero,
            Op::Crop => Weightless::Crop { top: r.int("top", 0)?, left: r.int("left", 0)? },
            Op::Scale => Weightless::Scale,
            Op::ChannelSlice => Weightless::ChannelSlice {
                start: r.int("start", 0)?,
                count: r.int("count", 1)?,
                step: r.int("step", 1)?,
            },
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each variant's position in [`Op::ALL`], by an exhaustive match: a new variant does not
    /// compile until it is listed here, and then fails the test until `ALL` holds it.
    fn position(op: Op) -> usize {
        match op {
            Op::Conv2d => 0,
            Op::DepthwiseConv2d => 1,
            Op::Linear => 2,
            Op::BatchNorm => 3,
            Op::Relu => 4,
            Op::Relu6 => 5,
            Op::Gelu => 6,
            Op::Sigmoid => 7,
            Op::Silu => 8,
            Op::Hardswish => 9,
            Op::Hardsigmoid => 10,
            Op::MaxPool => 11,
            Op::AvgPool => 12,
            Op::GlobalAvgPool => 13,
            Op::Flatten => 14,
            Op::Dropout => 15,
            Op::Add => 16,
            Op::Mean => 17,
            Op::Concat => 18,
            Op::Identity => 19,
            Op::Zero => 20,
            Op::Crop => 21,
            Op::Scale => 22,
            Op::ChannelSlice => 23,
        }
    }

    #[test]
    fn all_lists_every_variant_once() {
        let positions: Vec<usize> = Op::ALL.iter().map(|op| position(*op)).collect();
        assert_eq!(positions, (0..Op::ALL.len()).collect::<Vec<_>>());
    }

    #[test]
    fn names_are_distinct() {
        for (i, a) in Op::ALL.iter().enumerate() {
            for b in &Op::ALL[i + 1..] {
                assert_ne!(a.name(), b.name());
            }
        }
    }

    /// The supernet's reading: every attribute missing, so every default.
    struct Defaults;

    impl AttrReader for Defaults {
        type Error = ();
        fn int(&self, _: &str, default: i64) -> Result<usize, ()> {
            Ok(default as usize)
        }
        fn bool(&self, _: &str, default: bool) -> Result<bool, ()> {
            Ok(default)
        }
        fn float(&self, _: &str, default: f64) -> Result<f64, ()> {
            Ok(default)
        }
    }

    #[test]
    fn only_the_operators_with_weights_are_not_weightless() {
        for op in Op::ALL {
            let weighted =
                matches!(op, Op::Conv2d | Op::DepthwiseConv2d | Op::Linear | Op::BatchNorm);
            assert_eq!(Weightless::read(op, &Defaults).unwrap().is_none(), weighted, "{op:?}");
        }
        assert_eq!(
            Weightless::read(Op::AvgPool, &Defaults),
            Ok(Some(Weightless::AvgPool {
                pool: Pool { kernel: 1, stride: 1, padding: 0 },
                count_include_pad: true
            }))
        );
        let conv = Conv::read(true, &Defaults).unwrap();
        assert_eq!(conv.grouping, Grouping::Depthwise { multiplier: 1 });
        assert_eq!(Linear::read(&Defaults), Ok(Linear { out: 0, bias: true }));
    }

    #[test]
    fn names_round_trip() {
        for op in Op::ALL {
            assert_eq!(Op::from_name(op.name()), Some(op));
        }
        assert_eq!(Op::from_name("conv3d"), None);
    }
}
