//! The supernet of one-shot search: one weight-shared burn module that contains every
//! architecture of a space, built from the IR and the plan of `crate::lower`.
//!
//! Tensors are NCHW, `[batch, channels, height, width]`, or `[batch, features]`, each at its
//! largest shape over the space ([`crate::lower::PlanNode::dims`]). A candidate that uses fewer
//! channels than the largest leaves the rest at zero: a convolution or linear layer with a
//! value choice on its output channels uses the first `c` rows of one shared weight, one with a
//! kernel-size choice the centre `k x k` of the largest kernel (NNI's `MixedConv2d`); channels
//! the candidate does not use are masked back to zero after the operators that would make them
//! non-zero (batch norm's shift, the sigmoid). With every label fixed ([`LabelWeights::Hard`])
//! the forward pass computes exactly the candidate's network with the shared weights sliced.
//!
//! How much of each candidate enters the output is given per label by a [`Mixing`]: one fixed
//! value, or a weight per candidate (a softmax of the architecture parameters for DARTS, a
//! Gumbel-softmax for GumbelDARTS, a straight-through binary gate for Proxyless). A layer
//! choice's output is `sum_i w_i * out_i` over the candidates marked active (DARTS' mixed
//! operation, Liu et al. 2019, eq. 2); an input choice's `sum_i w_i * x_i`; a repeat's
//! `sum_d w_d * out_d` over its depths; an operator with value choices mixes the masks of its
//! weights (NNI's differentiable mixed operations).

use super::network::{BatchNorm2d, Init, Value};
use super::ops::{self, Site};
use super::RuntimeError;
use crate::arch::{Architecture, Choice};
use crate::ir::op::{self, AttrReader, Grouping, Weightless};
use crate::ir::{Const, Graph, LabelId, NodeKind, Op, Reduce};
use crate::lower::{Deps, Plan, Variant};
use crate::source::Loc;
use burn::module::{Module, Param};
use burn::nn::Initializer;
use burn::tensor::module::conv2d;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Device, Tensor, TensorData};
use std::convert::Infallible;

/// How one label's candidates enter the forward pass.
// A tensor handle is larger than a choice; a mixing holds one per label, so boxing would only
// add an allocation per label per step.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum LabelWeights {
    /// One value: a domain index, or for an input choice the chosen candidates. Only that
    /// path is computed.
    Hard(Choice),
    /// A weight per candidate (domain values, alternatives, input candidates or depths),
    /// `[candidates]`, and which candidates to compute (a weight of a candidate not computed
    /// is ignored).
    Soft {
        /// The weights, `[candidates]`.
        weights: Tensor<1>,
        /// Which candidates run.
        active: Vec<bool>,
    },
}

/// One [`LabelWeights`] per label of the space, by label index.
#[derive(Debug, Clone)]
pub struct Mixing {
    /// The weights of each label.
    pub labels: Vec<LabelWeights>,
}

impl Mixing {
    /// Every label fixed to `arch`'s value: the forward pass computes that architecture only.
    pub fn hard(arch: &Architecture) -> Mixing {
        Mixing { labels: arch.choices.iter().cloned().map(LabelWeights::Hard).collect() }
    }

    /// The same weights on the inner (non-autodiff) device, detached, for inference with a
    /// module from [`Module::valid`].
    pub fn valid(&self) -> Mixing {
        Mixing {
            labels: self
                .labels
                .iter()
                .map(|l| match l {
                    LabelWeights::Hard(c) => LabelWeights::Hard(c.clone()),
                    LabelWeights::Soft { weights, active } => LabelWeights::Soft {
                        weights: weights.clone().detach().inner(),
                        active: active.clone(),
                    },
                })
                .collect(),
        }
    }
}

/// A convolution whose weight is the largest over the space, `[out, in / groups, k, k]`.
#[derive(Module, Debug)]
pub struct SharedConv {
    /// The weight, `[out_max, in / groups, k_max, k_max]`.
    pub weight: Param<Tensor<4>>,
    /// The bias, `[out_max]`.
    pub bias: Option<Param<Tensor<1>>>,
}

/// A linear layer whose weight is the largest over the space, `[in, out]` (burn's layout).
#[derive(Module, Debug)]
pub struct SharedLinear {
    /// The weight, `[in_max, out_max]`.
    pub weight: Param<Tensor<2>>,
    /// The bias, `[out_max]`.
    pub bias: Option<Param<Tensor<1>>>,
}

/// A layer with shared weights.
#[derive(Module, Debug)]
pub enum SharedLayer {
    /// `conv2d` and `depthwise_conv2d`.
    Conv(SharedConv),
    /// `linear`.
    Linear(SharedLinear),
    /// `batch_norm` over the largest channel count.
    Norm(BatchNorm2d),
}

/// What a convolution step needs besides its weight.
#[derive(Debug, Clone)]
struct ConvInfo {
    stride: usize,
    /// Padding for the largest kernel: every variant's padding plus `d * (k_max - k) / 2`.
    padding: usize,
    dilation: usize,
    groups: usize,
    /// Per variant: output channels and kernel size.
    shapes: Vec<(usize, usize)>,
    depthwise_multiplier: Option<usize>,
}

#[derive(Debug, Clone)]
enum StepKind {
    Input(usize),
    Op {
        op: Op,
        inputs: Vec<usize>,
        layer: Option<usize>,
        conv: Option<ConvInfo>,
        deps: Deps,
        variants: Vec<Variant>,
        /// For an operator without weights: its typed attributes under each variant.
        weightless: Vec<Weightless>,
    },
    LayerChoice {
        label: usize,
        alternatives: Vec<usize>,
    },
    InputChoice {
        label: usize,
        candidates: Vec<usize>,
        reduce: Reduce,
    },
    Repeat {
        label: usize,
        outputs: Vec<usize>,
    },
    Select {
        deps: Deps,
        taken: Vec<bool>,
        then: usize,
        otherwise: usize,
    },
}

#[derive(Debug, Clone)]
struct SStep {
    kind: StepKind,
    dims: Vec<usize>,
    loc: Loc,
}

/// A value in the supernet with the mask of the channels its candidate uses (`None`: all).
#[derive(Debug, Clone)]
struct Masked {
    value: Value,
    /// `[channels]` (features for flat values), 1 for used channels, 0 for unused, or a
    /// weighted mix of such masks.
    mask: Option<Tensor<1>>,
}

/// The one-shot supernet of a space (see the module documentation).
#[derive(Module, Debug)]
pub struct Supernet {
    /// The shared layers, in graph order.
    pub layers: Vec<SharedLayer>,
    #[module(skip)]
    steps: Vec<SStep>,
    #[module(skip)]
    output: usize,
    #[module(skip)]
    labels: usize,
}

/// The supernet's [`AttrReader`] over one variant's attributes: an attribute that is missing
/// or not of its type reads as the default (a negative integer as 0), so reading never fails.
struct Lenient<'a>(&'a Variant);

impl AttrReader for Lenient<'_> {
    type Error = Infallible;

    fn int(&self, name: &str, default: i64) -> Result<usize, Infallible> {
        Ok(self.0.int(name).unwrap_or(default).max(0) as usize)
    }

    fn bool(&self, name: &str, default: bool) -> Result<bool, Infallible> {
        Ok(self
            .0
            .attrs
            .iter()
            .find(|(k, _)| k == name)
            .map_or(default, |(_, c)| matches!(c, Const::Bool(true))))
    }

    fn float(&self, name: &str, default: f64) -> Result<f64, Infallible> {
        Ok(self
            .0
            .attrs
            .iter()
            .find(|(k, _)| k == name)
            .and_then(|(_, c)| c.as_f64())
            .unwrap_or(default))
    }
}

/// The value of a reading that cannot fail.
fn read<T>(r: Result<T, Infallible>) -> T {
    match r {
        Ok(t) => t,
        Err(never) => match never {},
    }
}

impl Supernet {
    /// Builds the supernet of `g` from its `plan` on `device`, the shared weights initialised
    /// from `seed` as [`super::Network::build`] initialises a network's (Kaiming normal, fan-out,
    /// for convolutions at their largest size; PyTorch's default for linear layers).
    ///
    /// Errors: [`RuntimeError::Unsupported`] for a plan that does not match the graph.
    pub fn build(
        g: &Graph,
        plan: &Plan,
        device: &Device,
        seed: u64,
    ) -> Result<Supernet, RuntimeError> {
        if plan.nodes.len() != g.nodes.len() {
            return Err(RuntimeError::Config(
                "the supernet plan was made for another graph".into(),
            ));
        }
        let mut init = Init::new(seed);
        let mut layers = Vec::new();
        let mut steps = Vec::with_capacity(g.nodes.len());
        for (h, node) in g.nodes.iter() {
            let loc = g.nodes.loc(h);
            let p = &plan.nodes[h.index()];
            let unsupported = |why: &str| RuntimeError::Unsupported {
                op: "supernet".into(),
                loc,
                why: why.into(),
            };
            let kind = match &node.kind {
                NodeKind::Input { index, .. } => StepKind::Input(*index),
                NodeKind::Op { op: name, kind, inputs, .. } => {
                    let first = p
                        .variants
                        .first()
                        .ok_or_else(|| unsupported("an operator without variants"))?;
                    let Some(op) = *kind else {
                        return Err(RuntimeError::Unsupported {
                            op: name.to_string(),
                            loc,
                            why: "the supernet has no implementation of this operator".into(),
                        });
                    };
                    let in_dims = inputs
                        .first()
                        .map(|i| plan.nodes[i.index()].dims.clone())
                        .unwrap_or_default();
                    let in_c = in_dims.first().copied().unwrap_or(0);
                    let (mut layer, mut conv, mut weightless) = (None, None, Vec::new());
                    match op {
                        Op::Conv2d | Op::DepthwiseConv2d => {
                            let depthwise = op == Op::DepthwiseConv2d;
                            let convs: Vec<op::Conv> = p
                                .variants
                                .iter()
                                .map(|v| read(op::Conv::read(depthwise, &Lenient(v))))
                                .collect();
                            let k_max = convs.iter().map(|c| c.kernel).max().unwrap_or(1);
                            let c0 = read(op::Conv::read(depthwise, &Lenient(first)));
                            let (stride, dilation) = (c0.stride, c0.dilation);
                            let padding = c0.padding + dilation * (k_max - c0.kernel) / 2;
                            let (multiplier, groups) = match c0.grouping {
                                Grouping::Depthwise { multiplier } => (Some(multiplier), in_c),
                                Grouping::Groups { groups, .. } => (None, groups),
                            };
                            let out_max = p.dims.first().copied().unwrap_or(0);
                            if groups == 0
                                || in_c == 0
                                || out_max == 0
                                || in_c % groups != 0
                                || out_max % groups != 0
                            {
                                return Err(unsupported(
                                    "its channels are not a valid convolution",
                                ));
                            }
                            let shapes = p
                                .variants
                                .iter()
                                .zip(&convs)
                                .map(|(v, c)| {
                                    (
                                        if depthwise {
                                            out_max
                                        } else {
                                            v.dims.first().copied().unwrap_or(out_max)
                                        },
                                        c.kernel,
                                    )
                                })
                                .collect();
                            let bias = c0.bias.then(|| Initializer::Zeros.init([out_max], device));
                            let weight =
                                init.conv([out_max, in_c / groups, k_max, k_max], groups, device)?;
                            layers.push(SharedLayer::Conv(SharedConv { weight, bias }));
                            layer = Some(layers.len() - 1);
                            conv = Some(ConvInfo {
                                stride,
                                padding,
                                dilation,
                                groups,
                                shapes,
                                depthwise_multiplier: multiplier,
                            });
                        }
                        Op::Linear => {
                            let out_max = p.dims.first().copied().unwrap_or(0);
                            if in_c == 0 || out_max == 0 {
                                return Err(unsupported(
                                    "a linear layer needs at least one input and output",
                                ));
                            }
                            let bias = read(op::Linear::read(&Lenient(first)))
                                .bias
                                .then(|| Initializer::Zeros.init([out_max], device));
                            let weight = init.linear([in_c, out_max], device)?;
                            layers.push(SharedLayer::Linear(SharedLinear { weight, bias }));
                            layer = Some(layers.len() - 1);
                        }
                        Op::BatchNorm => {
                            let op::Norm { affine, eps, momentum } =
                                read(op::Norm::read(&Lenient(first)));
                            layers.push(SharedLayer::Norm(BatchNorm2d::new(
                                in_c, affine, eps, momentum, device,
                            )));
                            layer = Some(layers.len() - 1);
                        }
                        Op::Relu
                        | Op::Relu6
                        | Op::Gelu
                        | Op::Sigmoid
                        | Op::Silu
                        | Op::Hardswish
                        | Op::Hardsigmoid
                        | Op::MaxPool
                        | Op::AvgPool
                        | Op::GlobalAvgPool
                        | Op::Flatten
                        | Op::Dropout
                        | Op::Add
                        | Op::Mean
                        | Op::Concat
                        | Op::Identity
                        | Op::Zero
                        | Op::Crop
                        | Op::Scale
                        | Op::ChannelSlice => {
                            weightless = p
                                .variants
                                .iter()
                                .map(|v| read(Weightless::read(op, &Lenient(v))))
                                .collect::<Option<Vec<_>>>()
                                .ok_or_else(|| {
                                    unsupported("an operator with weights taken for one without")
                                })?;
                        }
                    }
                    StepKind::Op {
                        op,
                        inputs: inputs.iter().map(|i| i.index()).collect(),
                        layer,
                        conv,
                        deps: p.deps.clone(),
                        variants: p.variants.clone(),
                        weightless,
                    }
                }
                NodeKind::LayerChoice { label, alternatives } => StepKind::LayerChoice {
                    label: label.0 as usize,
                    alternatives: alternatives.iter().map(|a| a.index()).collect(),
                },
                NodeKind::InputChoice { label, candidates, reduce, .. } => StepKind::InputChoice {
                    label: label.0 as usize,
                    candidates: candidates.iter().map(|a| a.index()).collect(),
                    reduce: *reduce,
                },
                NodeKind::Repeat { label, outputs, .. } => StepKind::Repeat {
                    label: label.0 as usize,
                    outputs: outputs.iter().map(|a| a.index()).collect(),
                },
                NodeKind::Select { cond, then, otherwise } => {
                    let deps = p.deps.clone();
                    let taken = (0..deps.count().max(1))
                        .map(|i| {
                            let a = deps.assignment(i);
                            let value = |l: LabelId| match (
                                deps.labels.iter().position(|x| *x == l),
                                &g.labels.get(l).domain,
                            ) {
                                (Some(pos), crate::ir::Domain::Values { values }) => {
                                    values[a[pos]].clone()
                                }
                                _ => Const::Int(0),
                            };
                            matches!(cond.eval(&value, &|_| Some(1)), Ok(Const::Bool(true)))
                        })
                        .collect();
                    StepKind::Select {
                        deps,
                        taken,
                        then: then.index(),
                        otherwise: otherwise.index(),
                    }
                }
            };
            steps.push(SStep { kind, dims: p.dims.clone(), loc });
        }
        Ok(Supernet { layers, steps, output: g.output.index(), labels: g.labels.len() })
    }

    /// Trainable parameters of the shared weights (batch-norm running statistics excluded).
    pub fn trainable_params(&self) -> usize {
        self.layers
            .iter()
            .map(|l| match l {
                SharedLayer::Conv(c) => {
                    c.weight.lazy_shape().num_elements()
                        + c.bias.as_ref().map_or(0, |b| b.lazy_shape().num_elements())
                }
                SharedLayer::Linear(c) => {
                    c.weight.lazy_shape().num_elements()
                        + c.bias.as_ref().map_or(0, |b| b.lazy_shape().num_elements())
                }
                SharedLayer::Norm(n) => {
                    n.gamma.as_ref().map_or(0, |b| b.lazy_shape().num_elements()) * 2
                }
            })
            .sum()
    }

    /// Sets the batch-norm momentum of every layer (`1 / (t + 1)` at batch `t` gives the
    /// cumulative average used to recalibrate statistics) and, with `reset`, sets the running
    /// statistics back to mean 0 and variance 1.
    pub fn set_norm_statistics(self, momentum: f64, reset: bool) -> Supernet {
        let Supernet { layers, steps, output, labels } = self;
        let layers = layers
            .into_iter()
            .map(|l| match l {
                SharedLayer::Norm(mut n) => {
                    n.momentum = momentum;
                    if reset {
                        let c = n.running_mean.value().dims()[0];
                        let device = n.running_mean.value().device();
                        n.running_mean =
                            burn::module::RunningState::new(Tensor::zeros([c], &device));
                        n.running_var = burn::module::RunningState::new(Tensor::ones([c], &device));
                    }
                    SharedLayer::Norm(n)
                }
                other => other,
            })
            .collect();
        Supernet { layers, steps, output, labels }
    }

    /// Which steps the forward pass computes under `mix`: those the output reads through the
    /// chosen or active candidates.
    fn needed(&self, mix: &Mixing) -> Vec<bool> {
        let mut need = vec![false; self.steps.len()];
        let mut stack = vec![self.output];
        let active = |label: usize, i: usize| match &mix.labels[label] {
            LabelWeights::Hard(Choice::Index(c)) => *c == i,
            LabelWeights::Hard(Choice::Subset(s)) => s.contains(&i),
            LabelWeights::Soft { active, .. } => active.get(i).copied().unwrap_or(false),
        };
        while let Some(n) = stack.pop() {
            if need[n] {
                continue;
            }
            need[n] = true;
            match &self.steps[n].kind {
                StepKind::Input(_) => {}
                StepKind::Op { inputs, .. } => stack.extend(inputs.iter().copied()),
                StepKind::LayerChoice { label, alternatives: c }
                | StepKind::InputChoice { label, candidates: c, .. }
                | StepKind::Repeat { label, outputs: c } => stack.extend(
                    c.iter().enumerate().filter(|(i, _)| active(*label, *i)).map(|(_, x)| *x),
                ),
                StepKind::Select { then, otherwise, .. } => stack.extend([*then, *otherwise]),
            }
        }
        need
    }

    /// The number of labels the supernet was built for (a [`Mixing`] has one entry each).
    pub fn label_count(&self) -> usize {
        self.labels
    }

    /// Runs the supernet on `inputs` (one per network input) under `mix` and returns the
    /// output (logits `[batch, classes]` for a classifier). Only the steps the output reads
    /// through active candidates are computed.
    ///
    /// Errors: [`RuntimeError::Config`] for a mixing of another space, [`RuntimeError::Shape`]
    /// naming the `.nas` place where a tensor has another shape than the plan's.
    pub fn forward(&self, inputs: Vec<Value>, mix: &Mixing) -> Result<Value, RuntimeError> {
        if mix.labels.len() != self.labels {
            return Err(RuntimeError::Config(format!(
                "a mixing of {} labels for a supernet of {}",
                mix.labels.len(),
                self.labels
            )));
        }
        let need = self.needed(mix);
        let mut inputs: Vec<Option<Value>> = inputs.into_iter().map(Some).collect();
        let mut values: Vec<Option<Masked>> = vec![None; self.steps.len()];
        for (i, step) in self.steps.iter().enumerate() {
            if !need[i] {
                continue;
            }
            let get = |j: usize| {
                values[j].clone().ok_or_else(|| {
                    shape_error(step, "its inputs computed", "an input not computed")
                })
            };
            let out = match &step.kind {
                StepKind::Input(k) => {
                    let v = inputs
                        .get_mut(*k)
                        .and_then(Option::take)
                        .ok_or_else(|| shape_error(step, &format!("input {k}"), "no such input"))?;
                    Masked { value: v, mask: None }
                }
                StepKind::Op { op, inputs: ins, layer, conv, deps, variants, weightless } => {
                    let args = ins.iter().map(|j| get(*j)).collect::<Result<Vec<_>, _>>()?;
                    let combos = combos(deps, mix)?;
                    let (layer, conv) = (*layer, conv.as_ref());
                    self.apply_op(step, *op, args, layer, conv, variants, weightless, &combos)?
                }
                StepKind::LayerChoice { label, alternatives: c }
                | StepKind::Repeat { label, outputs: c } => match &mix.labels[*label] {
                    LabelWeights::Hard(Choice::Index(k)) => get(*c.get(*k).ok_or_else(|| {
                        shape_error(step, "a valid choice", "an index outside the domain")
                    })?)?,
                    LabelWeights::Soft { weights, active } => {
                        weighted(step, c, weights, active, &values)?
                    }
                    LabelWeights::Hard(Choice::Subset(_)) => {
                        return Err(RuntimeError::Config(
                            "a subset given for a layer choice or depth".into(),
                        ))
                    }
                },
                StepKind::InputChoice { label, candidates, reduce } => match &mix.labels[*label] {
                    LabelWeights::Hard(Choice::Subset(s)) => {
                        let picked = s.iter().map(|k| {
                            candidates.get(*k).copied().ok_or_else(|| {
                                shape_error(
                                    step,
                                    "a valid choice",
                                    "an index outside the candidates",
                                )
                            })
                        });
                        let args = picked.map(|j| get(j?)).collect::<Result<Vec<_>, _>>()?;
                        let channels = step.dims.first().copied().unwrap_or(0);
                        let args: Vec<Masked> = if *reduce == Reduce::Concat {
                            args
                        } else {
                            args.into_iter().map(|a| pad_channels(a, channels)).collect()
                        };
                        match reduce {
                            Reduce::Concat => concat(args),
                            Reduce::Sum => sum(step, args, 1.0)?,
                            Reduce::Mean => {
                                let k = args.len().max(1) as f64;
                                sum(step, args, 1.0 / k)?
                            }
                        }
                    }
                    LabelWeights::Soft { weights, active } => {
                        weighted(step, candidates, weights, active, &values)?
                    }
                    LabelWeights::Hard(Choice::Index(_)) => {
                        return Err(RuntimeError::Config(
                            "an index given for an input choice".into(),
                        ))
                    }
                },
                StepKind::Select { deps, taken, then, otherwise } => match combos(deps, mix)? {
                    Combos::Hard(c) => get(if taken.get(c).copied().unwrap_or(false) {
                        *then
                    } else {
                        *otherwise
                    })?,
                    Combos::Soft(list) => {
                        let p = list
                            .into_iter()
                            .filter(|(c, _)| taken.get(*c).copied().unwrap_or(false))
                            .map(|(_, w)| w)
                            .reduce(|a, b| a + b);
                        let channels = step.dims.first().copied().unwrap_or(0);
                        let (a, b) = (
                            pad_channels(get(*then)?, channels),
                            pad_channels(get(*otherwise)?, channels),
                        );
                        match p {
                            None => b,
                            Some(p) => {
                                let q = p.clone().neg().add_scalar(1.0);
                                Masked {
                                    value: add_values(
                                        step,
                                        scale(a.value, &p),
                                        scale(b.value, &q),
                                    )?,
                                    mask: None,
                                }
                            }
                        }
                    }
                },
            };
            let out = if matches!(step.kind, StepKind::Op { .. } | StepKind::Input(_)) {
                out
            } else {
                pad_channels(out, step.dims.first().copied().unwrap_or(0))
            };
            check_dims(step, &out.value)?;
            values[i] = Some(out);
        }
        values[self.output]
            .take()
            .map(|m| m.value)
            .ok_or_else(|| RuntimeError::Config("the supernet's output was not computed".into()))
    }

    /// Runs a single-input image supernet: `x` `[batch, channels, height, width]`.
    pub fn forward_map(&self, x: Tensor<4>, mix: &Mixing) -> Result<Value, RuntimeError> {
        self.forward(vec![Value::Map(x)], mix)
    }

    #[allow(clippy::too_many_arguments)]
    fn apply_op(
        &self,
        step: &SStep,
        op: Op,
        args: Vec<Masked>,
        layer: Option<usize>,
        conv: Option<&ConvInfo>,
        variants: &[Variant],
        weightless: &[Weightless],
        combos: &Combos,
    ) -> Result<Masked, RuntimeError> {
        let first = args.first().cloned().ok_or_else(|| shape_error(step, "an input", "none"))?;
        let device = match &first.value {
            Value::Map(t) => t.device(),
            Value::Flat(t) => t.device(),
        };
        match (layer.map(|l| &self.layers[l]), conv) {
            (Some(SharedLayer::Conv(c)), Some(info)) => {
                let Value::Map(x) = first.value else {
                    return Err(shape_error(step, "a feature map", "flat features"));
                };
                let [out_max, _, k_max, _] = c.weight.val().dims();
                let masks = |ci: usize| -> (Tensor<4>, Tensor<1>) {
                    let (oc, k) = if info.depthwise_multiplier.is_some() {
                        (out_max, info.shapes[ci].1)
                    } else {
                        info.shapes[ci]
                    };
                    (kernel_mask(out_max, oc, k_max, k, &device), prefix_mask(out_max, oc, &device))
                };
                let full = |ci: usize| {
                    let (oc, k) = info.shapes[ci];
                    (info.depthwise_multiplier.is_some() || oc == out_max) && k == k_max
                };
                let (wmask, omask): (Option<Tensor<4>>, Option<Tensor<1>>) = match combos {
                    Combos::Hard(ci) if full(*ci) => (None, None),
                    Combos::Hard(ci) => {
                        let (w, o) = masks(*ci);
                        (Some(w), Some(o))
                    }
                    Combos::Soft(list) => {
                        let mut wm: Option<Tensor<4>> = None;
                        let mut om: Option<Tensor<1>> = None;
                        for (ci, w) in list {
                            let (m4, m1) = masks(*ci);
                            let m4 = m4 * w.clone().reshape([1, 1, 1, 1]);
                            let m1 = m1 * w.clone();
                            wm = Some(wm.map_or(m4.clone(), |a| a + m4));
                            om = Some(om.map_or(m1.clone(), |a| a + m1));
                        }
                        (wm, om)
                    }
                };
                let weight = match &wmask {
                    Some(m) => c.weight.val() * m.clone(),
                    None => c.weight.val(),
                };
                let bias = c.bias.as_ref().map(|b| match &omask {
                    Some(m) => b.val() * m.clone(),
                    None => b.val(),
                });
                let options = ConvOptions::new(
                    [info.stride; 2],
                    [info.padding; 2],
                    [info.dilation; 2],
                    info.groups,
                );
                let y = conv2d(x, weight, bias, options);
                let mask = match info.depthwise_multiplier {
                    Some(m) => {
                        first.mask.map(|mask| if m == 1 { mask } else { repeat_each(mask, m) })
                    }
                    None => {
                        if info.shapes.iter().all(|(oc, _)| *oc == out_max) {
                            None
                        } else {
                            omask
                        }
                    }
                };
                return Ok(Masked { value: Value::Map(y), mask });
            }
            (Some(SharedLayer::Linear(l)), _) => {
                let Value::Flat(x) = first.value else {
                    return Err(shape_error(
                        step,
                        "flat features [batch, features]",
                        "a feature map",
                    ));
                };
                let out_max = l.weight.val().dims()[1];
                let omask: Option<Tensor<1>> = match combos {
                    Combos::Hard(ci) => {
                        let oc = variants[*ci].dims.first().copied().unwrap_or(out_max);
                        (oc < out_max).then(|| prefix_mask(out_max, oc, &device))
                    }
                    Combos::Soft(list) => list
                        .iter()
                        .map(|(ci, w)| {
                            prefix_mask(
                                out_max,
                                variants[*ci].dims.first().copied().unwrap_or(out_max),
                                &device,
                            ) * w.clone()
                        })
                        .reduce(|a, b| a + b),
                };
                let weight = match &omask {
                    Some(m) => l.weight.val() * m.clone().reshape([1, out_max]),
                    None => l.weight.val(),
                };
                let bias = l.bias.as_ref().map(|b| match &omask {
                    Some(m) => b.val() * m.clone(),
                    None => b.val(),
                });
                let y = burn::tensor::module::linear(x, weight, bias);
                return Ok(Masked { value: Value::Flat(y), mask: omask });
            }
            (Some(SharedLayer::Norm(n)), _) => {
                let Value::Map(x) = first.value else {
                    return Err(shape_error(step, "a feature map", "flat features"));
                };
                let y = n.forward(x);
                let y = match &first.mask {
                    Some(m) => {
                        let c = m.dims()[0];
                        y * m.clone().reshape([1, c, 1, 1])
                    }
                    None => y,
                };
                return Ok(Masked { value: Value::Map(y), mask: first.mask });
            }
            _ => {}
        }
        // Operators without weights: each variant computed and mixed.
        let run = |ci: usize| simple(step, &weightless[ci], &variants[ci], args.clone());
        let value = match combos {
            Combos::Hard(ci) => run(*ci)?,
            Combos::Soft(list) => {
                let mut acc: Option<Value> = None;
                for (ci, w) in list {
                    let y = scale(run(*ci)?, w);
                    acc = Some(match acc {
                        None => y,
                        Some(a) => add_values(step, a, y)?,
                    });
                }
                acc.ok_or_else(|| shape_error(step, "a value", "no active candidate"))?
            }
        };
        let masks: Vec<Option<Tensor<1>>> = args.iter().map(|a| a.mask.clone()).collect();
        let mask = match op {
            Op::Add | Op::Mean => {
                if masks.iter().all(Option::is_some) {
                    masks.into_iter().flatten().reduce(|a, b| a.max_pair(b))
                } else {
                    None
                }
            }
            Op::Concat => concat_masks(&args),
            // Lowering allows a slice only of channels no choice changes.
            Op::ChannelSlice => None,
            Op::Flatten => {
                first.mask.clone().map(|m| repeat_each(m, first.value.dims()[2..].iter().product()))
            }
            // The operators that keep the channels (those with weights returned above).
            Op::Conv2d
            | Op::DepthwiseConv2d
            | Op::Linear
            | Op::BatchNorm
            | Op::Relu
            | Op::Relu6
            | Op::Gelu
            | Op::Sigmoid
            | Op::Silu
            | Op::Hardswish
            | Op::Hardsigmoid
            | Op::MaxPool
            | Op::AvgPool
            | Op::GlobalAvgPool
            | Op::Dropout
            | Op::Identity
            | Op::Zero
            | Op::Crop
            | Op::Scale => first.mask.clone(),
        };
        // The sigmoids turn the zeros of unused channels into 1/2.
        let sigmoid = matches!(op, Op::Sigmoid | Op::Hardsigmoid);
        let value = match (&mask, value) {
            (Some(m), Value::Map(t)) if sigmoid => {
                let c = m.dims()[0];
                Value::Map(t * m.clone().reshape([1, c, 1, 1]))
            }
            (Some(m), Value::Flat(t)) if sigmoid => {
                let c = m.dims()[0];
                Value::Flat(t * m.clone().reshape([1, c]))
            }
            (_, v) => v,
        };
        Ok(Masked { value, mask })
    }
}

/// The combinations of the values of an operator's labels that run, with their weights.
enum Combos {
    /// One combination (every label fixed).
    Hard(usize),
    /// Several, each with its weight `[1]` (the product of its labels' weights).
    Soft(Vec<(usize, Tensor<1>)>),
}

fn combos(deps: &Deps, mix: &Mixing) -> Result<Combos, RuntimeError> {
    let mut acc: Vec<(usize, Option<Tensor<1>>)> = vec![(0, None)];
    let mut stride = 1;
    for (pos, l) in deps.labels.iter().enumerate() {
        let size = deps.sizes[pos];
        let options: Vec<(usize, Option<Tensor<1>>)> = match &mix.labels[l.0 as usize] {
            LabelWeights::Hard(Choice::Index(i)) => vec![(*i, None)],
            LabelWeights::Hard(Choice::Subset(_)) => {
                return Err(RuntimeError::Config("a subset given for a value choice".into()))
            }
            LabelWeights::Soft { weights, active } => (0..size)
                .filter(|i| active.get(*i).copied().unwrap_or(false))
                .map(|i| (i, Some(weights.clone().narrow(0, i, 1))))
                .collect(),
        };
        let mut next = Vec::with_capacity(acc.len() * options.len());
        for (c, w) in &acc {
            for (i, v) in &options {
                let weight = match (w, v) {
                    (None, None) => None,
                    (Some(a), None) => Some(a.clone()),
                    (None, Some(b)) => Some(b.clone()),
                    (Some(a), Some(b)) => Some(a.clone() * b.clone()),
                };
                next.push((c + i * stride, weight));
            }
        }
        acc = next;
        stride *= size;
    }
    if acc.len() == 1 && acc[0].1.is_none() {
        return Ok(Combos::Hard(acc[0].0));
    }
    let mut list = Vec::with_capacity(acc.len());
    for (c, w) in acc {
        match w {
            Some(w) => list.push((c, w)),
            None => {
                return Err(RuntimeError::Config(
                    "a mixing that fixes some combinations and weighs others".into(),
                ))
            }
        }
    }
    Ok(Combos::Soft(list))
}

/// `[total]`: 1 for the first `used` entries, 0 after.
fn prefix_mask(total: usize, used: usize, device: &Device) -> Tensor<1> {
    let data: Vec<f32> = (0..total).map(|i| if i < used { 1.0 } else { 0.0 }).collect();
    Tensor::from_data(TensorData::new(data, [total]), device)
}

/// `[out_max, 1, k_max, k_max]`: 1 on the first `out` rows inside the centre `k x k` of the
/// kernel, 0 elsewhere (the slice of the shared weight a candidate uses).
fn kernel_mask(out_max: usize, out: usize, k_max: usize, k: usize, device: &Device) -> Tensor<4> {
    let off = (k_max - k.min(k_max)) / 2;
    let mut data = vec![0f32; out_max * k_max * k_max];
    for o in 0..out.min(out_max) {
        for y in off..off + k {
            for x in off..off + k {
                data[(o * k_max + y) * k_max + x] = 1.0;
            }
        }
    }
    Tensor::from_data(TensorData::new(data, [out_max, 1, k_max, k_max]), device)
}

/// Each entry of a mask repeated `times` times in place (`[a, b] -> [a, a, b, b]`).
fn repeat_each(mask: Tensor<1>, times: usize) -> Tensor<1> {
    let c = mask.dims()[0];
    mask.reshape([c, 1]).repeat_dim(1, times).reshape([c * times])
}

fn concat_masks(args: &[Masked]) -> Option<Tensor<1>> {
    if args.iter().all(|a| a.mask.is_none()) {
        return None;
    }
    let parts = args
        .iter()
        .map(|a| match &a.mask {
            Some(m) => m.clone(),
            None => {
                let (c, device) = match &a.value {
                    Value::Map(t) => (t.dims()[1], t.device()),
                    Value::Flat(t) => (t.dims()[1], t.device()),
                };
                Tensor::ones([c], &device)
            }
        })
        .collect();
    Some(Tensor::cat(parts, 0))
}

fn concat(args: Vec<Masked>) -> Masked {
    let mask = concat_masks(&args);
    let maps: Vec<Tensor<4>> = args
        .into_iter()
        .filter_map(|a| match a.value {
            Value::Map(t) => Some(t),
            Value::Flat(_) => None,
        })
        .collect();
    Masked { value: Value::Map(Tensor::cat(maps, 1)), mask }
}

fn sum(step: &SStep, args: Vec<Masked>, factor: f64) -> Result<Masked, RuntimeError> {
    let all_masked = args.iter().all(|a| a.mask.is_some());
    let mut mask: Option<Tensor<1>> = None;
    let mut acc: Option<Value> = None;
    for a in args {
        if all_masked {
            mask = match (mask, a.mask) {
                (None, m) => m,
                (Some(x), Some(y)) => Some(x.max_pair(y)),
                (x, None) => x,
            };
        }
        acc = Some(match acc {
            None => a.value,
            Some(v) => add_values(step, v, a.value)?,
        });
    }
    let value = acc.ok_or_else(|| shape_error(step, "at least one input", "none"))?;
    let value = if factor == 1.0 { value } else { scale_f(value, factor) };
    Ok(Masked { value, mask })
}

/// `m` with zero channels appended up to `channels` (a candidate with fewer channels than its
/// choice's largest), its mask extended with zeros.
fn pad_channels(m: Masked, channels: usize) -> Masked {
    let dims = m.value.dims();
    let Some(&c) = dims.get(1) else { return m };
    if c >= channels {
        return m;
    }
    let extra = channels - c;
    let (value, device) = match m.value {
        Value::Map(t) => {
            let device = t.device();
            let [n, _, h, w] = t.dims();
            (Value::Map(Tensor::cat(vec![t, Tensor::zeros([n, extra, h, w], &device)], 1)), device)
        }
        Value::Flat(t) => {
            let device = t.device();
            let [n, _] = t.dims();
            (Value::Flat(Tensor::cat(vec![t, Tensor::zeros([n, extra], &device)], 1)), device)
        }
    };
    let mask = m.mask.unwrap_or_else(|| Tensor::ones([c], &device));
    Masked { value, mask: Some(Tensor::cat(vec![mask, Tensor::zeros([extra], &device)], 0)) }
}

/// `sum_i w_i * values[c_i]` over the active candidates, with the masks mixed the same way.
fn weighted(
    step: &SStep,
    candidates: &[usize],
    weights: &Tensor<1>,
    active: &[bool],
    values: &[Option<Masked>],
) -> Result<Masked, RuntimeError> {
    let mut acc: Option<Value> = None;
    let mut mask: Option<Tensor<1>> = None;
    let mut all_masked = true;
    for (i, &c) in candidates.iter().enumerate() {
        if !active.get(i).copied().unwrap_or(false) {
            continue;
        }
        let m = values[c].clone().ok_or_else(|| {
            shape_error(step, "its candidates computed", "a candidate not computed")
        })?;
        let m = pad_channels(m, step.dims.first().copied().unwrap_or(0));
        let w = weights.clone().narrow(0, i, 1);
        match m.mask {
            Some(mk) if all_masked => {
                let mk = mk * w.clone();
                mask = Some(mask.map_or(mk.clone(), |a| a + mk));
            }
            _ => all_masked = false,
        }
        let y = scale(m.value, &w);
        acc = Some(match acc {
            None => y,
            Some(a) => add_values(step, a, y)?,
        });
    }
    let value = acc.ok_or_else(|| shape_error(step, "an active candidate", "none"))?;
    Ok(Masked { value, mask: if all_masked { mask } else { None } })
}

fn scale(v: Value, w: &Tensor<1>) -> Value {
    match v {
        Value::Map(t) => Value::Map(t * w.clone().reshape([1, 1, 1, 1])),
        Value::Flat(t) => Value::Flat(t * w.clone().reshape([1, 1])),
    }
}

fn scale_f(v: Value, w: f64) -> Value {
    match v {
        Value::Map(t) => Value::Map(t.mul_scalar(w)),
        Value::Flat(t) => Value::Flat(t.mul_scalar(w)),
    }
}

fn add_values(step: &SStep, a: Value, b: Value) -> Result<Value, RuntimeError> {
    match (a, b) {
        (Value::Map(a), Value::Map(b)) => Ok(Value::Map(a + b)),
        (Value::Flat(a), Value::Flat(b)) => Ok(Value::Flat(a + b)),
        _ => Err(shape_error(step, "inputs of one shape", "a feature map and flat features")),
    }
}

/// An operator without weights under one variant of its attributes ([`ops::forward`], with
/// the supernet's errors; `zero`'s output size is the variant's).
fn simple(
    step: &SStep,
    op: &Weightless,
    v: &Variant,
    args: Vec<Masked>,
) -> Result<Value, RuntimeError> {
    let shape_error = |expected: &str, found: &str| shape_error(step, expected, found);
    let zero_size =
        || Ok((v.dims.get(1).copied().unwrap_or(1), v.dims.get(2).copied().unwrap_or(1)));
    let site = Site {
        shape_error: &shape_error,
        flat: "flat features",
        training: true,
        zero_size: &zero_size,
    };
    ops::forward(op, args.into_iter().map(|a| a.value).collect(), &site)
}

fn shape_error(step: &SStep, expected: &str, found: &str) -> RuntimeError {
    RuntimeError::Shape {
        op: "supernet".into(),
        loc: step.loc,
        expected: expected.into(),
        found: found.into(),
    }
}

fn check_dims(step: &SStep, v: &Value) -> Result<(), RuntimeError> {
    let dims = v.dims();
    if dims.len() == step.dims.len() + 1 && dims[1..] == step.dims[..] {
        Ok(())
    } else {
        let show = |d: &[usize]| {
            format!("[{}]", d.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(", "))
        };
        Err(shape_error(
            step,
            &format!("[batch, {}]", show(&step.dims).trim_matches(['[', ']'])),
            &show(&dims),
        ))
    }
}
