//! ONNX export: a fixed network with its weights as an ONNX model (IR version 8, the default
//! domain at opset 17; operators as specified in ONNX's `docs/Operators.md`), in eval mode.
//!
//! The model has one input per network input, `input` (`input0`, `input1`, ... for several),
//! and one output, `output`, with the shapes the type checker proved and a dynamic batch
//! dimension `batch`: feature maps `[batch, channels, height, width]`, flat features
//! `[batch, features]` (for a classifier, logits `[batch, classes]`). With a
//! [`Normalization`] (the one `nasc train` fitted on the training split) the model starts by
//! normalising its input, `(x - mean[c]) / std[c]`, so it takes the data as nasc reads it
//! (pixels in [0, 1]) and computes what `nasc eval` computes.
//!
//! Each operator of `stdlib/ops.nas` becomes the ONNX operators that compute what nasc's
//! runtime computes (`crate::runtime::ops`, burn):
//!
//! | nasc | ONNX (opset 17) |
//! |---|---|
//! | `conv2d`, `depthwise_conv2d` | `Conv` (weights `[out, in / groups, k, k]`, `group`) |
//! | `linear` | `Gemm` (weights `[in, out]`, as burn stores them) |
//! | `batch_norm` | `BatchNormalization` in inference mode (running statistics; scale 1 and shift 0 when not affine) |
//! | `relu`, `sigmoid`, `hardswish` | `Relu`, `Sigmoid`, `HardSwish` |
//! | `relu6` | `Clip` to [0, 6] |
//! | `gelu` | `x * 0.5 * (1 + Erf(x / sqrt(2)))` (the exact form; `Gelu` is opset 20) |
//! | `silu` | `x * Sigmoid(x)` |
//! | `hardsigmoid` | `HardSigmoid` (alpha 1/6, beta 0.5) |
//! | `max_pool`, `avg_pool` | `MaxPool`, `AveragePool` (`count_include_pad`) |
//! | `global_avg_pool` | `GlobalAveragePool`, then `Flatten` to `[batch, channels]` |
//! | `flatten` | `Flatten` (axis 1) |
//! | `dropout`, `identity` | `Identity` (dropout is off in eval mode) |
//! | `add`, `mean` | `Add` in input order (then `Mul` by `1 / count` for `mean`) |
//! | `concat` | `Concat` (axis 1) |
//! | `zero` | `ConstantOfShape` of `[batch, c, h', w']` (exact zeros whatever the input) |
//! | `crop`, `channel_slice` | `Slice` on the spatial axes, on the channel axis with a step |
//! | `scale` | `Unsqueeze` of the scales to `[batch, channels, 1, 1]`, then `Mul` |
//!
//! The model's `metadata_props` hold the architecture (NNI's flat JSON), the network, the
//! space file, the normalisation and the version of nasc that wrote it. Every intermediate
//! value is declared with its proved shape (`value_info`), so ONNX's shape inference checks
//! the IR's shapes too.

use super::onnx_proto as pb;
use super::ExportError;
use crate::arch::{FixedGraph, FixedNode};
use crate::data::Normalization;
use crate::ir::op::{self, Grouping, Pool, Weightless};
use crate::ir::Op;
use crate::runtime::network::{Layer, Strict};
use crate::runtime::{Network, RuntimeError};
use burn::module::Param;
use burn::tensor::Tensor;
use prost::Message;

/// The ONNX IR version of the model (8: ONNX 1.10 and later read it).
pub const IR_VERSION: i64 = 8;
/// The version of the default operator set the model uses (17: ONNX 1.12, ONNX Runtime 1.12
/// and later).
pub const OPSET: i64 = 17;
/// The name of the batch dimension of the model's inputs and output.
pub const BATCH: &str = "batch";

/// What the model records about itself besides the network (its `metadata_props`), and
/// whether it normalises its input.
#[derive(Debug, Clone, Default)]
pub struct ModelInfo<'a> {
    /// The architecture, NNI's flat JSON (`{"label": value}`), as text.
    pub architecture: String,
    /// The `.nas` file of the space, as `nasc train` was given it.
    pub space: Option<String>,
    /// The input normalisation fitted on the training split: the model applies it to its
    /// input first (a network of one input; nasc trains no other). `None`: the model takes
    /// inputs already normalised.
    pub normalization: Option<&'a Normalization>,
}

/// The ONNX model of `net`, built from `graph` (the same graph: [`Network::build`] of it, with
/// its weights loaded), as the protobuf message.
///
/// Errors: [`ExportError::NoForm`] for an operator nasc's runtime does not implement (an
/// `operator` declared in a `.nas` file), naming its place; [`ExportError::Runtime`] for an
/// attribute that cannot be read or weights that do not follow the graph.
pub fn model(
    graph: &FixedGraph,
    net: &Network,
    info: &ModelInfo,
) -> Result<pb::ModelProto, ExportError> {
    check(graph, "ONNX")?;
    let mut b = Builder::default();
    let input_names = input_names(graph);
    let mut inputs = Vec::new();
    // The value holding each node's output.
    let mut values: Vec<String> = Vec::with_capacity(graph.nodes.len());
    for (i, node) in graph.nodes.iter().enumerate() {
        let value = match graph.inputs.iter().position(|&x| x == i) {
            Some(k) => {
                let name = input_names[k].clone();
                inputs.push(value_info(&name, &node.shape));
                match (info.normalization, graph.inputs.len()) {
                    (Some(norm), 1) => b.normalize(&name, norm, &node.shape),
                    _ => name,
                }
            }
            None => {
                let args: Vec<&str> = node.inputs.iter().map(|&j| values[j].as_str()).collect();
                let out = format!("n{i}_{}", node.op);
                b.operator(i, node, &args, &out, net)?;
                if i != graph.output {
                    b.value_info.push(value_info(&out, &node.shape));
                }
                out
            }
        };
        values.push(value);
    }
    let output_node = &graph.nodes[graph.output];
    // The output gets its public name through an identity: its node keeps the name that says
    // which operator computes it.
    b.node("Identity", "output", &[&values[graph.output]], "output", vec![]);
    let nasc_version = env!("CARGO_PKG_VERSION");
    let mut metadata = vec![
        ("nasc.version", nasc_version.to_string()),
        ("nasc.network", graph.name.clone()),
        ("nasc.architecture", info.architecture.clone()),
        (
            "nasc.input",
            match info.normalization.filter(|_| graph.inputs.len() == 1) {
                Some(_) => "the data as nasc reads it (pixels scaled to [0, 1]); the model normalises it with nasc.normalization".to_string(),
                None => "inputs already normalised as the network was trained".to_string(),
            },
        ),
    ];
    if let Some(space) = &info.space {
        metadata.push(("nasc.space", space.clone()));
    }
    if let Some(norm) = info.normalization.filter(|_| graph.inputs.len() == 1) {
        let json = serde_json::json!({ "mean": norm.mean, "std": norm.std });
        metadata.push(("nasc.normalization", json.to_string()));
    }
    Ok(pb::ModelProto {
        ir_version: Some(IR_VERSION),
        opset_import: vec![pb::OperatorSetIdProto { domain: Some(String::new()), version: Some(OPSET) }],
        producer_name: Some("nasc".into()),
        producer_version: Some(nasc_version.into()),
        doc_string: Some(format!(
            "The network `{}` of a nasc model space, one architecture with its trained weights, in eval mode.",
            graph.name
        )),
        graph: Some(pb::GraphProto {
            name: Some(graph.name.clone()),
            node: b.nodes,
            initializer: b.initializers,
            input: inputs,
            output: vec![value_info("output", &output_node.shape)],
            value_info: b.value_info,
            ..Default::default()
        }),
        metadata_props: metadata
            .into_iter()
            .map(|(k, v)| pb::StringStringEntryProto { key: Some(k.into()), value: Some(v) })
            .collect(),
        ..Default::default()
    })
}

/// [`model`] encoded as the bytes of a `.onnx` file.
///
/// Errors: as [`model`].
pub fn to_bytes(
    graph: &FixedGraph,
    net: &Network,
    info: &ModelInfo,
) -> Result<Vec<u8>, ExportError> {
    Ok(model(graph, net, info)?.encode_to_vec())
}

/// The names of the model's inputs, one per network input in order: `input` for a network of
/// one input, `input0`, `input1`, ... otherwise.
pub fn input_names(graph: &FixedGraph) -> Vec<String> {
    match graph.inputs.len() {
        1 => vec!["input".into()],
        n => (0..n).map(|k| format!("input{k}")).collect(),
    }
}

/// Checks that every operator of `graph` has a form in `format` (`ONNX`, `PyTorch`: every
/// operator nasc's runtime implements has one in both), before any weights are read.
///
/// Errors: [`ExportError::NoForm`] for the first that has none, with its place.
pub fn check(graph: &FixedGraph, format: &'static str) -> Result<(), ExportError> {
    for (i, node) in graph.nodes.iter().enumerate() {
        if node.kind.is_none() && !graph.inputs.contains(&i) {
            return Err(ExportError::NoForm { op: node.op.clone(), loc: node.loc, format });
        }
    }
    Ok(())
}

/// The declared type of a float tensor value of this shape (the batch, `None`, named
/// [`BATCH`]).
fn value_info(name: &str, shape: &[Option<i64>]) -> pb::ValueInfoProto {
    use pb::tensor_shape_proto::{dimension::Value as Dim, Dimension};
    let dim = shape
        .iter()
        .map(|d| Dimension {
            value: Some(match d {
                Some(d) => Dim::DimValue(*d),
                None => Dim::DimParam(BATCH.into()),
            }),
            ..Default::default()
        })
        .collect();
    pb::ValueInfoProto {
        name: Some(name.into()),
        r#type: Some(pb::TypeProto {
            value: Some(pb::type_proto::Value::TensorType(pb::type_proto::Tensor {
                elem_type: Some(pb::tensor_proto::DataType::Float as i32),
                shape: Some(pb::TensorShapeProto { dim }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn attr_int(name: &str, v: i64) -> pb::AttributeProto {
    pb::AttributeProto {
        name: Some(name.into()),
        r#type: Some(pb::attribute_proto::AttributeType::Int as i32),
        i: Some(v),
        ..Default::default()
    }
}

fn attr_ints(name: &str, v: &[usize]) -> pb::AttributeProto {
    pb::AttributeProto {
        name: Some(name.into()),
        r#type: Some(pb::attribute_proto::AttributeType::Ints as i32),
        ints: v.iter().map(|&x| x as i64).collect(),
        ..Default::default()
    }
}

fn attr_float(name: &str, v: f32) -> pb::AttributeProto {
    pb::AttributeProto {
        name: Some(name.into()),
        r#type: Some(pb::attribute_proto::AttributeType::Float as i32),
        f: Some(v),
        ..Default::default()
    }
}

fn attr_tensor(name: &str, t: pb::TensorProto) -> pb::AttributeProto {
    pb::AttributeProto {
        name: Some(name.into()),
        r#type: Some(pb::attribute_proto::AttributeType::Tensor as i32),
        t: Some(t),
        ..Default::default()
    }
}

/// A float tensor of shape `dims`, its values little-endian in `raw_data`.
fn float_tensor(name: &str, dims: &[usize], values: &[f32]) -> pb::TensorProto {
    pb::TensorProto {
        name: Some(name.into()),
        dims: dims.iter().map(|&d| d as i64).collect(),
        data_type: Some(pb::tensor_proto::DataType::Float as i32),
        raw_data: Some(values.iter().flat_map(|v| v.to_le_bytes()).collect()),
        ..Default::default()
    }
}

/// The values of a parameter, in row-major order.
fn values<const D: usize>(p: &Param<Tensor<D>>, node: &FixedNode) -> Result<Vec<f32>, ExportError> {
    tensor_values(p.val(), node)
}

/// The values of a tensor, in row-major order, as 32-bit floats.
fn tensor_values<const D: usize>(t: Tensor<D>, node: &FixedNode) -> Result<Vec<f32>, ExportError> {
    t.into_data().convert::<f32>().try_to_vec::<f32>().map_err(|e| {
        ExportError::Runtime(RuntimeError::Unsupported {
            op: node.op.clone(),
            loc: node.loc,
            why: format!("its weights cannot be read as 32-bit floats: {e:?}"),
        })
    })
}

/// The ONNX graph being written: nodes in order, initializers, and declared value types.
#[derive(Default)]
struct Builder {
    nodes: Vec<pb::NodeProto>,
    initializers: Vec<pb::TensorProto>,
    value_info: Vec<pb::ValueInfoProto>,
}

impl Builder {
    /// Appends the node `name` computing `output` from `inputs` with `op_type`.
    fn node(
        &mut self,
        op_type: &str,
        name: &str,
        inputs: &[&str],
        output: &str,
        attribute: Vec<pb::AttributeProto>,
    ) {
        self.nodes.push(pb::NodeProto {
            op_type: Some(op_type.into()),
            name: Some(name.into()),
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: vec![output.into()],
            attribute,
            ..Default::default()
        });
    }

    /// Adds a float initializer and returns its name.
    fn floats(&mut self, name: &str, dims: &[usize], values: &[f32]) -> String {
        self.initializers.push(float_tensor(name, dims, values));
        name.into()
    }

    /// Adds an int64 initializer and returns its name.
    fn ints(&mut self, name: &str, values: &[i64]) -> String {
        self.initializers.push(pb::TensorProto {
            name: Some(name.into()),
            dims: vec![values.len() as i64],
            data_type: Some(pb::tensor_proto::DataType::Int64 as i32),
            int64_data: values.to_vec(),
            ..Default::default()
        });
        name.into()
    }

    /// `(x - mean[c]) / std[c]` on the input `x` of shape `shape` (batch first): one channel
    /// per feature map channel of an image input `[batch, c, h, w]`, one for every value of
    /// flat features (as [`Normalization::apply_item`]). Returns the normalised value's name.
    fn normalize(&mut self, x: &str, norm: &Normalization, shape: &[Option<i64>]) -> String {
        let c = norm.mean.len();
        // Broadcast over `[batch, c, h, w]` as `[c, 1, 1]`; over flat features as `[1]`.
        let dims: Vec<usize> = if shape.len() == 4 { vec![c, 1, 1] } else { vec![c] };
        let mean = self.floats("normalize.mean", &dims, &norm.mean);
        let std = self.floats("normalize.std", &dims, &norm.std);
        self.node("Sub", "normalize.sub", &[x, &mean], "normalize.centred", vec![]);
        self.node("Div", "normalize.div", &["normalize.centred", &std], "normalized", vec![]);
        self.value_info.push(value_info("normalize.centred", shape));
        self.value_info.push(value_info("normalized", shape));
        "normalized".into()
    }

    /// Writes the nodes of graph node `i` (`node`, reading the values `args`), whose result is
    /// the value `out`.
    fn operator(
        &mut self,
        i: usize,
        node: &FixedNode,
        args: &[&str],
        out: &str,
        net: &Network,
    ) -> Result<(), ExportError> {
        let attrs = Strict(node);
        let no_layer = || {
            ExportError::Runtime(RuntimeError::Unsupported {
                op: node.op.clone(),
                loc: node.loc,
                why: "the network has no weights for it: it was built from another graph".into(),
            })
        };
        let x = *args.first().ok_or_else(|| {
            ExportError::Runtime(RuntimeError::Unsupported {
                op: node.op.clone(),
                loc: node.loc,
                why: "it has no input".into(),
            })
        })?;
        let kind = node.kind.ok_or_else(|| ExportError::NoForm {
            op: node.op.clone(),
            loc: node.loc,
            format: "ONNX",
        })?;
        let p = |suffix: &str| format!("{out}.{suffix}");
        match kind {
            Op::Conv2d | Op::DepthwiseConv2d => {
                let conv = op::Conv::read(kind == Op::DepthwiseConv2d, &attrs)?;
                let Some(Layer::Conv(layer)) = net.layer_of(i) else { return Err(no_layer()) };
                let [o, per_group, kh, kw] = layer.weight.dims();
                let groups = match conv.grouping {
                    Grouping::Groups { groups, .. } => groups,
                    Grouping::Depthwise { multiplier } => o / multiplier.max(1),
                };
                let w = self.floats(
                    &p("weight"),
                    &[o, per_group, kh, kw],
                    &values(&layer.weight, node)?,
                );
                let mut inputs = vec![x, w.as_str()];
                let bias = match (&layer.bias, conv.bias) {
                    (Some(b), true) => Some(self.floats(&p("bias"), &[o], &values(b, node)?)),
                    _ => None,
                };
                if let Some(b) = &bias {
                    inputs.push(b);
                }
                let pad = conv.padding;
                self.node(
                    "Conv",
                    out,
                    &inputs,
                    out,
                    vec![
                        attr_ints("kernel_shape", &[kh, kw]),
                        attr_ints("strides", &[conv.stride, conv.stride]),
                        attr_ints("pads", &[pad, pad, pad, pad]),
                        attr_ints("dilations", &[conv.dilation, conv.dilation]),
                        attr_int("group", groups as i64),
                    ],
                );
            }
            Op::Linear => {
                let lin = op::Linear::read(&attrs)?;
                let Some(Layer::Linear(layer)) = net.layer_of(i) else { return Err(no_layer()) };
                // burn stores the weight as `[in, out]`: `y = x W + b` is Gemm without transposes.
                let [f, o] = layer.weight.dims();
                let w = self.floats(&p("weight"), &[f, o], &values(&layer.weight, node)?);
                let mut inputs = vec![x, w.as_str()];
                let bias = match (&layer.bias, lin.bias) {
                    (Some(b), true) => Some(self.floats(&p("bias"), &[o], &values(b, node)?)),
                    _ => None,
                };
                if let Some(b) = &bias {
                    inputs.push(b);
                }
                self.node("Gemm", out, &inputs, out, vec![]);
            }
            Op::BatchNorm => {
                let norm = op::Norm::read(&attrs)?;
                let Some(Layer::Norm(layer)) = net.layer_of(i) else { return Err(no_layer()) };
                let mean = tensor_values(layer.running_mean.value(), node)?;
                let var = tensor_values(layer.running_var.value(), node)?;
                let c = mean.len();
                let scale = match &layer.gamma {
                    Some(g) => values(g, node)?,
                    None => vec![1.0; c],
                };
                let shift = match &layer.beta {
                    Some(b) => values(b, node)?,
                    None => vec![0.0; c],
                };
                let inputs = [
                    x.to_string(),
                    self.floats(&p("scale"), &[c], &scale),
                    self.floats(&p("bias"), &[c], &shift),
                    self.floats(&p("running_mean"), &[c], &mean),
                    self.floats(&p("running_var"), &[c], &var),
                ];
                let inputs: Vec<&str> = inputs.iter().map(String::as_str).collect();
                self.node(
                    "BatchNormalization",
                    out,
                    &inputs,
                    out,
                    vec![
                        attr_float("epsilon", norm.eps as f32),
                        attr_float("momentum", 1.0 - norm.momentum as f32),
                    ],
                );
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
                let w = Weightless::read(kind, &attrs)?.ok_or_else(no_layer)?;
                self.weightless(&w, node, args, out)?;
            }
        }
        Ok(())
    }

    /// Writes an operator without weights.
    fn weightless(
        &mut self,
        w: &Weightless,
        node: &FixedNode,
        args: &[&str],
        out: &str,
    ) -> Result<(), ExportError> {
        let x = args[0];
        let p = |suffix: &str| format!("{out}.{suffix}");
        let dim = |index: usize| -> Result<usize, ExportError> {
            match node.shape.get(index) {
                Some(Some(d)) if *d >= 0 => Ok(*d as usize),
                _ => Err(ExportError::Runtime(RuntimeError::Unsupported {
                    op: node.op.clone(),
                    loc: node.loc,
                    why: format!("dimension {index} of its output is not known"),
                })),
            }
        };
        match *w {
            Weightless::Relu => self.node("Relu", out, &[x], out, vec![]),
            Weightless::Relu6 => {
                let lo = self.scalar(&p("min"), 0.0);
                let hi = self.scalar(&p("max"), 6.0);
                self.node("Clip", out, &[x, &lo, &hi], out, vec![]);
            }
            Weightless::Gelu => {
                // The exact GELU, x * 0.5 * (1 + erf(x / sqrt(2))), as burn's `gelu`.
                let inv_sqrt2 = self.scalar(&p("inv_sqrt2"), std::f32::consts::FRAC_1_SQRT_2);
                let one = self.scalar(&p("one"), 1.0);
                let half = self.scalar(&p("half"), 0.5);
                self.node("Mul", &p("scaled"), &[x, &inv_sqrt2], &p("scaled"), vec![]);
                self.node("Erf", &p("erf"), &[&p("scaled")], &p("erf"), vec![]);
                self.node("Add", &p("erf1"), &[&p("erf"), &one], &p("erf1"), vec![]);
                self.node("Mul", &p("xerf1"), &[x, &p("erf1")], &p("xerf1"), vec![]);
                self.node("Mul", out, &[&p("xerf1"), &half], out, vec![]);
            }
            Weightless::Sigmoid => self.node("Sigmoid", out, &[x], out, vec![]),
            Weightless::Silu => {
                self.node("Sigmoid", &p("sigmoid"), &[x], &p("sigmoid"), vec![]);
                self.node("Mul", out, &[x, &p("sigmoid")], out, vec![]);
            }
            Weightless::Hardswish => self.node("HardSwish", out, &[x], out, vec![]),
            Weightless::Hardsigmoid => self.node(
                "HardSigmoid",
                out,
                &[x],
                out,
                vec![attr_float("alpha", 1.0 / 6.0), attr_float("beta", 0.5)],
            ),
            Weightless::MaxPool(pool) => {
                self.node("MaxPool", out, &[x], out, pool_attrs(&pool));
            }
            Weightless::AvgPool { pool, count_include_pad } => {
                let mut attrs = pool_attrs(&pool);
                attrs.push(attr_int("count_include_pad", i64::from(count_include_pad)));
                self.node("AveragePool", out, &[x], out, attrs);
            }
            Weightless::GlobalAvgPool => {
                self.node("GlobalAveragePool", &p("pooled"), &[x], &p("pooled"), vec![]);
                self.node("Flatten", out, &[&p("pooled")], out, vec![attr_int("axis", 1)]);
            }
            Weightless::Flatten => {
                self.node("Flatten", out, &[x], out, vec![attr_int("axis", 1)]);
            }
            Weightless::Dropout { .. } | Weightless::Identity => {
                self.node("Identity", out, &[x], out, vec![])
            }
            Weightless::Add | Weightless::Mean => {
                // Summed in input order, as the runtime sums them.
                let mean = matches!(w, Weightless::Mean) && args.len() > 1;
                let mut acc = x.to_string();
                for (k, y) in args.iter().enumerate().skip(1) {
                    let last = k + 1 == args.len() && !mean;
                    let to = if last { out.to_string() } else { p(&format!("sum{k}")) };
                    self.node("Add", &to, &[&acc, y], &to, vec![]);
                    acc = to;
                }
                if mean {
                    let k = self.scalar(&p("inv_count"), (1.0 / args.len() as f64) as f32);
                    self.node("Mul", out, &[&acc, &k], out, vec![]);
                } else if args.len() == 1 {
                    self.node("Identity", out, &[x], out, vec![]);
                }
            }
            Weightless::Concat => self.node("Concat", out, args, out, vec![attr_int("axis", 1)]),
            Weightless::Zero => {
                // Exact zeros of the output's shape, `[batch, c, h', w']`, the batch read from
                // the input at run time.
                let (c, h, w) = (dim(1)?, dim(2)?, dim(3)?);
                let rest = self.ints(&p("dims"), &[c as i64, h as i64, w as i64]);
                self.node(
                    "Shape",
                    &p("batch"),
                    &[x],
                    &p("batch"),
                    vec![attr_int("start", 0), attr_int("end", 1)],
                );
                self.node(
                    "Concat",
                    &p("shape"),
                    &[&p("batch"), &rest],
                    &p("shape"),
                    vec![attr_int("axis", 0)],
                );
                let zero = float_tensor("value", &[1], &[0.0]);
                self.node(
                    "ConstantOfShape",
                    out,
                    &[&p("shape")],
                    out,
                    vec![attr_tensor("value", zero)],
                );
            }
            Weightless::Crop { top, left } => {
                let starts = self.ints(&p("starts"), &[top as i64, left as i64]);
                let ends = self.ints(&p("ends"), &[i64::MAX, i64::MAX]);
                let axes = self.ints(&p("axes"), &[2, 3]);
                self.node("Slice", out, &[x, &starts, &ends, &axes], out, vec![]);
            }
            Weightless::Scale => {
                let s = args.get(1).ok_or_else(|| {
                    ExportError::Runtime(RuntimeError::Unsupported {
                        op: node.op.clone(),
                        loc: node.loc,
                        why: "it needs a feature map and its scales".into(),
                    })
                })?;
                let axes = self.ints(&p("axes"), &[2, 3]);
                self.node("Unsqueeze", &p("scales"), &[s, &axes], &p("scales"), vec![]);
                self.node("Mul", out, &[x, &p("scales")], out, vec![]);
            }
            Weightless::ChannelSlice { start, count, step } => {
                let end = start + count.saturating_sub(1) * step + 1;
                let starts = self.ints(&p("starts"), &[start as i64]);
                let ends = self.ints(&p("ends"), &[end as i64]);
                let axes = self.ints(&p("axes"), &[1]);
                let steps = self.ints(&p("steps"), &[step as i64]);
                self.node("Slice", out, &[x, &starts, &ends, &axes, &steps], out, vec![]);
            }
        }
        Ok(())
    }

    /// Adds a float scalar (shape `[]`) initializer and returns its name.
    fn scalar(&mut self, name: &str, v: f32) -> String {
        self.floats(name, &[], &[v])
    }
}

/// `kernel_shape`, `strides` and `pads` of a square pooling window.
fn pool_attrs(pool: &Pool) -> Vec<pb::AttributeProto> {
    let Pool { kernel, stride, padding } = *pool;
    vec![
        attr_ints("kernel_shape", &[kernel, kernel]),
        attr_ints("strides", &[stride, stride]),
        attr_ints("pads", &[padding, padding, padding, padding]),
    ]
}
