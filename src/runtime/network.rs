//! A fixed network as a burn module: every node of a [`FixedGraph`] becomes one step, and the
//! operators with weights (convolutions, linear layers, batch norm) become burn layers.
//!
//! Tensors are NCHW: feature maps `[batch, channels, height, width]`, flat features
//! `[batch, features]`, as the `.nas` operators declare (`stdlib/ops.nas`). Initialisation
//! follows PyTorch and the papers: convolutions Kaiming normal (He et al. 2015, fan-out, gain
//! sqrt(2), as torchvision's ResNet), linear layers PyTorch's `nn.Linear` default (uniform in
//! +-1/sqrt(fan_in)), every bias zero, batch-norm weight 1 and bias 0.

use super::ops::{self, Site};
use super::RuntimeError;
use crate::arch::{FixedGraph, FixedNode};
use crate::ir::op::{self, AttrReader, Grouping, Weightless};
use crate::ir::{Const, Op};
use crate::source::Loc;
use burn::module::{Flag, Module, ModuleVisitor, Param, RunningState};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{Initializer, Linear, LinearConfig, PaddingConfig2d};
use burn::tensor::module::{batch_norm, batch_norm_train};
use burn::tensor::{Device, Tensor};

/// A value flowing through the network.
#[derive(Debug, Clone)]
pub enum Value {
    /// A feature map, `[batch, channels, height, width]`.
    Map(Tensor<4>),
    /// Flat features, `[batch, features]`.
    Flat(Tensor<2>),
}

impl Value {
    /// The dimensions, batch first.
    pub fn dims(&self) -> Vec<usize> {
        match self {
            Value::Map(t) => t.dims().to_vec(),
            Value::Flat(t) => t.dims().to_vec(),
        }
    }
}

/// Batch normalisation over the channels of `[batch, channels, height, width]` (Ioffe & Szegedy
/// 2015), as PyTorch's `nn.BatchNorm2d`: batch statistics while training (the running variance
/// updated with the unbiased estimate, as PyTorch does), running statistics otherwise. Unlike
/// burn's `BatchNorm`, the affine scale and shift are optional (`affine: false`, as DARTS' search
/// cells use), so the module holds exactly the parameters PyTorch counts.
#[derive(Module, Debug)]
pub struct BatchNorm2d {
    /// Scale per channel, `[channels]` (present when affine).
    pub gamma: Option<Param<Tensor<1>>>,
    /// Shift per channel, `[channels]` (present when affine).
    pub beta: Option<Param<Tensor<1>>>,
    /// Running mean, `[channels]` (a buffer, not trained).
    pub running_mean: RunningState<Tensor<1>>,
    /// Running variance, `[channels]` (a buffer, not trained).
    pub running_var: RunningState<Tensor<1>>,
    /// Whether this layer uses batch statistics (training) or running ones.
    pub training: Param<Flag>,
    /// Weight of the current batch in the running statistics (PyTorch's `momentum`).
    pub momentum: f64,
    /// Added to the variance before the square root.
    pub epsilon: f64,
}

impl BatchNorm2d {
    /// A batch norm over `channels` channels.
    pub fn new(
        channels: usize,
        affine: bool,
        epsilon: f64,
        momentum: f64,
        device: &Device,
    ) -> Self {
        BatchNorm2d {
            gamma: affine.then(|| Initializer::Ones.init([channels], device)),
            beta: affine.then(|| Initializer::Zeros.init([channels], device)),
            running_mean: RunningState::new(Tensor::zeros([channels], device)),
            running_var: RunningState::new(Tensor::ones([channels], device)),
            training: Param::from_bool(true),
            momentum,
            epsilon,
        }
    }

    /// Normalises `x`, `[batch, channels, height, width]`, to the same shape.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let [n, c, h, w] = x.dims();
        let device = x.device();
        let gamma =
            self.gamma.as_ref().map(|p| p.val()).unwrap_or_else(|| Tensor::ones([c], &device));
        let beta =
            self.beta.as_ref().map(|p| p.val()).unwrap_or_else(|| Tensor::zeros([c], &device));
        if device.is_autodiff() && self.training.is_enabled() {
            let out = batch_norm_train(x, gamma, beta, self.epsilon);
            let m = (n * h * w) as f64;
            let unbiased = if m > 1.0 { m / (m - 1.0) } else { 1.0 };
            let mean = self.running_mean.value_sync().to_device(&device);
            let var = self.running_var.value_sync().to_device(&device);
            let mean = mean
                .mul_scalar(1.0 - self.momentum)
                .add(out.mean.detach().mul_scalar(self.momentum));
            let var = var
                .mul_scalar(1.0 - self.momentum)
                .add(out.variance.detach().mul_scalar(self.momentum * unbiased));
            self.running_mean.update(mean.detach());
            self.running_var.update(var.detach());
            out.output
        } else {
            let mean = self.running_mean.value().to_device(&device);
            let var = self.running_var.value().to_device(&device);
            batch_norm(x, gamma, beta, mean, var, self.epsilon)
        }
    }
}

/// A layer with weights.
#[derive(Module, Debug)]
pub enum Layer {
    /// `conv2d` and `depthwise_conv2d`.
    Conv(Conv2d),
    /// `linear`.
    Linear(Linear),
    /// `batch_norm`.
    Norm(BatchNorm2d),
}

/// What one step computes.
#[derive(Debug, Clone)]
enum Kind {
    /// The network's input with this index.
    Input(usize),
    /// The layer with weights with this index in [`Network::layers`].
    Layer(usize),
    /// An operator without weights ([`ops::forward`]).
    Weightless(Weightless),
}

/// One node of the network: what it computes, from which earlier steps, and the shape the type
/// checker proved for it.
#[derive(Debug, Clone)]
struct Step {
    kind: Kind,
    op: String,
    inputs: Vec<usize>,
    /// Expected dimensions after the batch (from the IR).
    shape: Vec<Option<i64>>,
    loc: Loc,
}

/// A fixed network (one architecture of a space) as a burn module.
///
/// Built by [`Network::build`] from a [`FixedGraph`]; [`Network::forward`] runs the steps in
/// topological order. Its weights are saved and loaded with burn's record API
/// ([`Module::save_file`], [`Module::try_load_file`]).
#[derive(Module, Debug)]
pub struct Network {
    /// The layers with weights, in graph order.
    pub layers: Vec<Layer>,
    /// Whether dropout is active (on while training, off after [`Module::valid`]).
    pub training: Param<Flag>,
    #[module(skip)]
    steps: Vec<Step>,
    #[module(skip)]
    output: usize,
    /// For each step, the last step that reads it (values are dropped after it).
    #[module(skip)]
    last_use: Vec<usize>,
}

fn attr<'a>(node: &'a FixedNode, name: &str) -> Result<&'a Const, RuntimeError> {
    node.attrs.iter().find(|(k, _)| k == name).map(|(_, v)| v).ok_or_else(|| {
        RuntimeError::Attribute {
            op: node.op.clone(),
            name: name.into(),
            loc: node.loc,
            problem: "is missing".into(),
        }
    })
}

fn int_attr(node: &FixedNode, name: &str) -> Result<usize, RuntimeError> {
    match attr(node, name)? {
        Const::Int(i) if *i >= 0 => Ok(*i as usize),
        other => Err(RuntimeError::Attribute {
            op: node.op.clone(),
            name: name.into(),
            loc: node.loc,
            problem: format!("must be a non-negative int, not {other}"),
        }),
    }
}

fn bool_attr(node: &FixedNode, name: &str) -> Result<bool, RuntimeError> {
    match attr(node, name)? {
        Const::Bool(b) => Ok(*b),
        other => Err(RuntimeError::Attribute {
            op: node.op.clone(),
            name: name.into(),
            loc: node.loc,
            problem: format!("must be a bool, not {other}"),
        }),
    }
}

fn float_attr(node: &FixedNode, name: &str) -> Result<f64, RuntimeError> {
    match attr(node, name)? {
        Const::Float(f) => Ok(*f),
        Const::Int(i) => Ok(*i as f64),
        other => Err(RuntimeError::Attribute {
            op: node.op.clone(),
            name: name.into(),
            loc: node.loc,
            problem: format!("must be a number, not {other}"),
        }),
    }
}

/// The fixed network's [`AttrReader`]: every attribute must be present and of its type (the
/// type checker fills in the defaults), so the defaults of the reader's callers are ignored.
/// The exporters (`crate::export`) read a node's attributes through it too.
pub(crate) struct Strict<'a>(pub(crate) &'a FixedNode);

impl AttrReader for Strict<'_> {
    type Error = RuntimeError;

    fn int(&self, name: &str, _default: i64) -> Result<usize, RuntimeError> {
        int_attr(self.0, name)
    }

    fn bool(&self, name: &str, _default: bool) -> Result<bool, RuntimeError> {
        bool_attr(self.0, name)
    }

    fn float(&self, name: &str, _default: f64) -> Result<f64, RuntimeError> {
        float_attr(self.0, name)
    }
}

/// A known dimension of a node's output (`index` counts the batch as 0).
fn dim(g: &FixedGraph, node: usize, index: usize) -> Result<usize, RuntimeError> {
    let n = &g.nodes[node];
    match n.shape.get(index) {
        Some(Some(d)) if *d >= 0 => Ok(*d as usize),
        _ => Err(RuntimeError::Unsupported {
            op: n.op.clone(),
            loc: n.loc,
            why: format!("dimension {index} of its output is not known"),
        }),
    }
}

/// Draws initial weights from a generator of nasc's own, seeded per network, so that a
/// network's weights depend only on its seed: burn's device generator is global to the process
/// and shared by every network being built or trained at the same time.
pub(crate) struct Init {
    rng: rand_chacha::ChaCha8Rng,
}

impl Init {
    /// A generator seeded with `seed`.
    pub(crate) fn new(seed: u64) -> Init {
        Init { rng: rand::SeedableRng::seed_from_u64(seed) }
    }

    /// `shape` filled from `dist`, as a parameter on `device`.
    fn param<const D: usize>(
        &mut self,
        shape: [usize; D],
        dist: impl rand_distr::Distribution<f32>,
        device: &Device,
    ) -> Param<Tensor<D>> {
        let n: usize = shape.iter().product();
        let values: Vec<f32> = (0..n).map(|_| dist.sample(&mut self.rng)).collect();
        Param::from_tensor(Tensor::from_data(burn::tensor::TensorData::new(values, shape), device))
    }

    /// Kaiming normal for a convolution weight `[out, in / groups, k, k]` (He et al. 2015),
    /// fan-out mode for ReLU networks: std `sqrt(2 / (out / groups * k * k))`, as torchvision's
    /// ResNet initialises convolutions.
    pub(crate) fn conv(
        &mut self,
        shape: [usize; 4],
        groups: usize,
        device: &Device,
    ) -> Result<Param<Tensor<4>>, RuntimeError> {
        let fan_out = (shape[0] / groups * shape[2] * shape[3]).max(1) as f32;
        let normal = rand_distr::Normal::new(0.0, (2.0 / fan_out).sqrt())
            .map_err(|e| RuntimeError::Config(e.to_string()))?;
        Ok(self.param(shape, normal, device))
    }

    /// PyTorch's `nn.Linear` default for a weight `[in, out]` (burn's layout): uniform in
    /// `+-1 / sqrt(in)`.
    pub(crate) fn linear(
        &mut self,
        shape: [usize; 2],
        device: &Device,
    ) -> Result<Param<Tensor<2>>, RuntimeError> {
        let bound = 1.0 / (shape[0].max(1) as f32).sqrt();
        let uniform = rand_distr::Uniform::new_inclusive(-bound, bound)
            .map_err(|e| RuntimeError::Config(e.to_string()))?;
        Ok(self.param(shape, uniform, device))
    }
}

impl Network {
    /// Builds the network of `g` on `device`, its weights initialised from `seed` (the same
    /// seed gives the same weights, whatever else runs in the process).
    ///
    /// Errors: an operator the runtime does not know, or an attribute of the wrong type
    /// ([`RuntimeError::Unsupported`], [`RuntimeError::Attribute`]), naming the `.nas` place.
    pub fn build(g: &FixedGraph, device: &Device, seed: u64) -> Result<Network, RuntimeError> {
        let mut init = Init::new(seed);
        let mut layers = Vec::new();
        let mut steps = Vec::with_capacity(g.nodes.len());
        for (i, node) in g.nodes.iter().enumerate() {
            let input_dim = |index: usize| -> Result<usize, RuntimeError> {
                let src = *node.inputs.first().ok_or_else(|| RuntimeError::Unsupported {
                    op: node.op.clone(),
                    loc: node.loc,
                    why: "it has no input".into(),
                })?;
                dim(g, src, index)
            };
            let attrs = Strict(node);
            let kind = match node.kind {
                None if node.op == "input" => {
                    Kind::Input(g.inputs.iter().position(|x| *x == i).unwrap_or(0))
                }
                None => {
                    return Err(RuntimeError::Unsupported {
                        op: node.op.clone(),
                        loc: node.loc,
                        why: "the runtime has no implementation of this operator".into(),
                    })
                }
                Some(kind @ (Op::Conv2d | Op::DepthwiseConv2d)) => {
                    let c = input_dim(1)?;
                    let conv = op::Conv::read(kind == Op::DepthwiseConv2d, &attrs)?;
                    let op::Conv { kernel, stride, padding, dilation, bias, grouping } = conv;
                    let (out, groups) = match grouping {
                        Grouping::Groups { out, groups } => (out, groups),
                        Grouping::Depthwise { multiplier } => (c * multiplier, c),
                    };
                    if kernel == 0
                        || stride == 0
                        || dilation == 0
                        || groups == 0
                        || out == 0
                        || c % groups != 0
                        || out % groups != 0
                    {
                        return Err(RuntimeError::Unsupported {
                            op: node.op.clone(),
                            loc: node.loc,
                            why: "its sizes are not a valid convolution".into(),
                        });
                    }
                    let mut conv = Conv2dConfig::new([c, out], [kernel, kernel])
                        .with_stride([stride, stride])
                        .with_dilation([dilation, dilation])
                        .with_groups(groups)
                        .with_padding(PaddingConfig2d::Explicit(padding, padding, padding, padding))
                        .with_bias(bias)
                        .with_initializer(Initializer::Zeros)
                        .init(device);
                    conv.weight = init.conv([out, c / groups, kernel, kernel], groups, device)?;
                    layers.push(Layer::Conv(conv));
                    Kind::Layer(layers.len() - 1)
                }
                Some(Op::Linear) => {
                    let f = input_dim(1)?;
                    let op::Linear { out, bias } = op::Linear::read(&attrs)?;
                    if f == 0 || out == 0 {
                        return Err(RuntimeError::Unsupported {
                            op: node.op.clone(),
                            loc: node.loc,
                            why: "a linear layer needs at least one input and output".into(),
                        });
                    }
                    let mut linear = LinearConfig::new(f, out)
                        .with_bias(bias)
                        .with_initializer(Initializer::Zeros)
                        .init(device);
                    linear.weight = init.linear([f, out], device)?;
                    layers.push(Layer::Linear(linear));
                    Kind::Layer(layers.len() - 1)
                }
                Some(Op::BatchNorm) => {
                    let c = input_dim(1)?;
                    let op::Norm { affine, eps, momentum } = op::Norm::read(&attrs)?;
                    layers.push(Layer::Norm(BatchNorm2d::new(c, affine, eps, momentum, device)));
                    Kind::Layer(layers.len() - 1)
                }
                Some(
                    kind @ (Op::Relu
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
                    | Op::ChannelSlice),
                ) => {
                    let weightless = Weightless::read(kind, &attrs)?.ok_or_else(|| {
                        RuntimeError::Unsupported {
                            op: node.op.clone(),
                            loc: node.loc,
                            why: "an operator with weights taken for one without".into(),
                        }
                    })?;
                    match weightless {
                        Weightless::MaxPool(p) | Weightless::AvgPool { pool: p, .. }
                            if p.kernel == 0 || p.stride == 0 =>
                        {
                            return Err(RuntimeError::Unsupported {
                                op: node.op.clone(),
                                loc: node.loc,
                                why: "the kernel and stride must be at least 1".into(),
                            });
                        }
                        Weightless::ChannelSlice { start, count, step } => {
                            let c = input_dim(1)?;
                            if count == 0 || step == 0 || start + (count - 1) * step >= c {
                                return Err(RuntimeError::Unsupported {
                                    op: node.op.clone(),
                                    loc: node.loc,
                                    why: format!("the slice does not fit {c} channels"),
                                });
                            }
                        }
                        _ => {}
                    }
                    Kind::Weightless(weightless)
                }
            };
            steps.push(Step {
                kind,
                op: node.op.clone(),
                inputs: node.inputs.clone(),
                shape: node.shape.clone(),
                loc: node.loc,
            });
        }
        let mut last_use: Vec<usize> = (0..steps.len()).collect();
        for (i, s) in steps.iter().enumerate() {
            for &j in &s.inputs {
                last_use[j] = last_use[j].max(i);
            }
        }
        last_use[g.output] = usize::MAX;
        Ok(Network { layers, training: Param::from_bool(true), steps, output: g.output, last_use })
    }

    /// Writes the weights and batch-norm statistics to `path` (burn's record format,
    /// burnpack).
    ///
    /// Errors: [`RuntimeError::Record`] when the file cannot be written.
    pub fn save(&self, path: &std::path::Path) -> Result<(), RuntimeError> {
        self.clone().save_file(path).map_err(|e| RuntimeError::Record {
            path: path.display().to_string(),
            message: format!("cannot write the weights: {e:?}"),
        })
    }

    /// Loads weights written by [`Network::save`] into this network, which must have been
    /// built from the same architecture.
    ///
    /// Errors: [`RuntimeError::Record`] when the file is missing, unreadable, or holds weights
    /// of another architecture.
    pub fn load(self, path: &std::path::Path) -> Result<Network, RuntimeError> {
        if !path.is_file() {
            return Err(RuntimeError::Record {
                path: path.display().to_string(),
                message: "no such file".into(),
            });
        }
        self.try_load_file(path).map_err(|e| {
            let detail = match e {
                burn::store::RecordError::Io(m) => format!("cannot read the weights: {m}"),
                burn::store::RecordError::Validation(m) => {
                    let first = m.split("\\n").next().unwrap_or(&m).chars().take(200).collect::<String>();
                    format!("the weights do not fit this network (were they trained for another architecture?): {first}")
                }
            };
            RuntimeError::Record { path: path.display().to_string(), message: detail }
        })
    }

    /// The layer with weights that runs node `node` of the [`FixedGraph`] the network was built
    /// from (its index in `FixedGraph::nodes`), or `None` for a node without weights (an input,
    /// an operator without weights) or an index past the graph.
    pub fn layer_of(&self, node: usize) -> Option<&Layer> {
        match self.steps.get(node)?.kind {
            Kind::Layer(l) => self.layers.get(l),
            Kind::Input(_) | Kind::Weightless(_) => None,
        }
    }

    /// The expected input shapes (dimensions after the batch), one per network input, with the
    /// place each input is declared.
    pub fn input_shapes(&self) -> Vec<(Vec<Option<i64>>, Loc)> {
        self.steps
            .iter()
            .filter(|s| matches!(s.kind, Kind::Input(_)))
            .map(|s| (s.shape[1..].to_vec(), s.loc))
            .collect()
    }

    /// The output's dimensions after the batch (`[classes]` for a classifier) and the place of
    /// the operator that computes it.
    pub fn output_shape(&self) -> (Vec<Option<i64>>, Loc) {
        let s = &self.steps[self.output];
        (s.shape[1..].to_vec(), s.loc)
    }

    /// Trainable parameters: every weight, bias, and batch-norm scale and shift (PyTorch's
    /// `sum(p.numel() for p in parameters())`). Unlike burn's `num_params`, the batch-norm
    /// running statistics, which are buffers, are not counted.
    pub fn trainable_params(&self) -> usize {
        #[derive(Default)]
        struct Count {
            path: Vec<String>,
            total: usize,
        }
        impl ModuleVisitor for Count {
            fn enter_module(&mut self, name: &str, _container: &str) {
                self.path.push(name.to_string());
            }
            fn exit_module(&mut self, _name: &str, _container: &str) {
                self.path.pop();
            }
            fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
                if !self.path.last().is_some_and(|f| f.starts_with("running_")) {
                    self.total += param.lazy_shape().num_elements();
                }
            }
        }
        let mut count = Count::default();
        self.visit(&mut count);
        count.total
    }

    /// Runs the network on `inputs` (one value per network input, in order) and returns the
    /// output (for a classifier, logits `[batch, classes]`).
    ///
    /// Every step's output is checked against the shape the type checker proved; a mismatch
    /// (for example data of the wrong size) is a [`RuntimeError::Shape`] naming the `.nas` place
    /// of the operator, not a panic inside burn.
    pub fn forward(&self, inputs: Vec<Value>) -> Result<Value, RuntimeError> {
        let mut inputs: Vec<Option<Value>> = inputs.into_iter().map(Some).collect();
        let mut values: Vec<Option<Value>> = vec![None; self.steps.len()];
        for (i, step) in self.steps.iter().enumerate() {
            let value = match &step.kind {
                Kind::Input(k) => inputs.get_mut(*k).and_then(Option::take).ok_or_else(|| {
                    RuntimeError::Shape {
                        op: step.op.clone(),
                        loc: step.loc,
                        expected: format!("input {k}"),
                        found: "no such input".into(),
                    }
                })?,
                _ => {
                    // The graph is topologically ordered, so every input is computed by now.
                    let args = step
                        .inputs
                        .iter()
                        .map(|&j| values[j].clone().ok_or_else(|| missing(step)))
                        .collect::<Result<Vec<Value>, _>>()?;
                    for &j in &step.inputs {
                        if self.last_use[j] == i {
                            values[j] = None;
                        }
                    }
                    self.apply(step, args)?
                }
            };
            check_shape(step, &value)?;
            values[i] = Some(value);
        }
        let out = &self.steps[self.output];
        values[self.output].take().ok_or_else(|| RuntimeError::Shape {
            op: out.op.clone(),
            loc: out.loc,
            expected: "a value".into(),
            found: "none".into(),
        })
    }

    /// Runs a single-input image network: `x` `[batch, channels, height, width]` to the output
    /// (logits `[batch, classes]` for a classifier).
    pub fn forward_map(&self, x: Tensor<4>) -> Result<Value, RuntimeError> {
        self.forward(vec![Value::Map(x)])
    }

    fn apply(&self, step: &Step, args: Vec<Value>) -> Result<Value, RuntimeError> {
        let wrong = |found: &str| RuntimeError::Shape {
            op: step.op.clone(),
            loc: step.loc,
            expected: "a feature map [batch, channels, height, width]".into(),
            found: found.into(),
        };
        let first = args.first().cloned().ok_or_else(|| wrong("no input"))?;
        Ok(match &step.kind {
            Kind::Input(_) => first,
            Kind::Layer(l) => match (&self.layers[*l], first) {
                (Layer::Conv(c), Value::Map(x)) => Value::Map(c.forward(x)),
                (Layer::Norm(b), Value::Map(x)) => Value::Map(b.forward(x)),
                (Layer::Linear(lin), Value::Flat(x)) => Value::Flat(lin.forward(x)),
                (Layer::Linear(_), Value::Map(_)) => {
                    return Err(RuntimeError::Shape {
                        op: step.op.clone(),
                        loc: step.loc,
                        expected: "flat features [batch, features]".into(),
                        found: "a feature map".into(),
                    })
                }
                (_, Value::Flat(_)) => return Err(wrong("flat features [batch, features]")),
            },
            Kind::Weightless(op) => {
                let shape_error = |expected: &str, found: &str| RuntimeError::Shape {
                    op: step.op.clone(),
                    loc: step.loc,
                    expected: expected.into(),
                    found: found.into(),
                };
                let zero_size = || Ok((expected_dim(step, 2)?, expected_dim(step, 3)?));
                let site = Site {
                    shape_error: &shape_error,
                    flat: "flat features [batch, features]",
                    training: self.training.is_enabled(),
                    zero_size: &zero_size,
                };
                ops::forward(op, args, &site)?
            }
        })
    }
}

fn missing(step: &Step) -> RuntimeError {
    RuntimeError::Shape {
        op: step.op.clone(),
        loc: step.loc,
        expected: "its inputs computed".into(),
        found: "an input not computed yet".into(),
    }
}

fn expected_dim(step: &Step, index: usize) -> Result<usize, RuntimeError> {
    match step.shape.get(index) {
        Some(Some(d)) if *d >= 0 => Ok(*d as usize),
        _ => Err(RuntimeError::Unsupported {
            op: step.op.clone(),
            loc: step.loc,
            why: format!("dimension {index} of its output is not known"),
        }),
    }
}

fn check_shape(step: &Step, v: &Value) -> Result<(), RuntimeError> {
    let dims = v.dims();
    let ok = dims.len() == step.shape.len()
        && dims.iter().zip(&step.shape).skip(1).all(|(d, e)| e.is_none_or(|e| e == *d as i64));
    if ok {
        Ok(())
    } else {
        let show = |it: Vec<String>| format!("[{}]", it.join(", "));
        Err(RuntimeError::Shape {
            op: step.op.clone(),
            loc: step.loc,
            expected: show(
                step.shape
                    .iter()
                    .enumerate()
                    .map(|(i, d)| {
                        if i == 0 {
                            "batch".into()
                        } else {
                            d.map_or("?".into(), |d| d.to_string())
                        }
                    })
                    .collect(),
            ),
            found: show(dims.iter().map(|d| d.to_string()).collect()),
        })
    }
}
