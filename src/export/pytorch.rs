//! PyTorch export: a fixed network as a self-contained `model.py` (an `nn.Module` whose layers
//! and `forward` follow the graph, in PyTorch 2's `torch.nn` and `torch.nn.functional`) and its
//! weights as a state dict in safetensors format (`model.safetensors`, loadable with
//! `safetensors.torch.load_file` and `load_state_dict(..., strict=True)`), so that a found
//! architecture can be retrained or fine-tuned in a PyTorch pipeline.
//!
//! Layers with weights become modules named after their graph node (`n12_conv2d`):
//! `nn.Conv2d` (weights `[out, in / groups, k, k]`), `nn.Linear` (weights `[out, in]`: burn's
//! `[in, out]` transposed), `nn.BatchNorm2d` (with its running statistics and
//! `num_batches_tracked`), and `nn.Dropout` (active in `train()` mode). The operators without
//! weights are written inline in `forward` as nasc's runtime computes them (`relu6` as
//! `F.relu6`, `zero` as DARTS' `x[:, :, ::s, ::s].mul(0.0)`, `mean` as the sum times
//! `1 / count`, ...). With a [`Normalization`] the module normalises its input first, as the
//! ONNX export does; it is held in non-persistent buffers, outside the state dict.

use super::ExportError;
use crate::arch::{FixedGraph, FixedNode};
use crate::data::Normalization;
use crate::ir::op::{self, AttrReader, Grouping, Pool, Weightless};
use crate::ir::Op;
use crate::runtime::network::{Layer, Strict};
use crate::runtime::{Network, RuntimeError};
use burn::tensor::Tensor;
use std::fmt::Write;

/// What the module records about itself besides the network.
#[derive(Debug, Clone, Default)]
pub struct ModuleInfo<'a> {
    /// The architecture, NNI's flat JSON (`{"label": value}`), as text.
    pub architecture: String,
    /// The `.nas` file of the space, as `nasc train` was given it.
    pub space: Option<String>,
    /// The input normalisation fitted on the training split, applied by the module first.
    pub normalization: Option<&'a Normalization>,
}

/// A tensor of the state dict: its name, shape and values (row-major).
pub type Entry = (String, Vec<usize>, StateValues);

/// The values of a state-dict tensor.
#[derive(Debug, Clone, PartialEq)]
pub enum StateValues {
    /// 32-bit floats (weights, biases, running statistics).
    F32(Vec<f32>),
    /// 64-bit integers (batch norm's `num_batches_tracked`).
    I64(Vec<i64>),
}

/// The name of the Python class: the network's name when it is a Python identifier, else
/// `Net`.
pub fn class_name(graph: &FixedGraph) -> String {
    let ok = graph.name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && graph.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        graph.name.clone()
    } else {
        "Net".into()
    }
}

/// A Python string literal of `s` (JSON's escapes are Python's).
fn py_str(s: &str) -> String {
    serde_json::Value::String(s.into()).to_string()
}

/// A float as Python reads it back exactly (Rust's shortest round-trip form).
fn py_float(v: f64) -> String {
    let s = format!("{v:?}");
    if s.contains('.') || s.contains('e') || s.contains("inf") || s.contains("NaN") {
        s
    } else {
        format!("{s}.0")
    }
}

/// The source of `model.py` for `graph`, and the state dict of `net` (built from `graph`, its
/// weights loaded) it loads.
///
/// Errors: [`ExportError::NoForm`] for an operator nasc's runtime does not implement, with its
/// place; [`ExportError::Runtime`] for an attribute that cannot be read or weights that do not
/// follow the graph.
pub fn export(
    graph: &FixedGraph,
    net: &Network,
    info: &ModuleInfo,
) -> Result<(String, Vec<Entry>), ExportError> {
    let mut init = String::new();
    let mut body = String::new();
    let mut state: Vec<Entry> = Vec::new();
    let mut values: Vec<String> = Vec::with_capacity(graph.nodes.len());
    let inputs: Vec<String> = match graph.inputs.len() {
        1 => vec!["x".into()],
        n => (0..n).map(|k| format!("x{k}")).collect(),
    };
    let normalise = info.normalization.filter(|_| graph.inputs.len() == 1);
    if let Some(norm) = normalise {
        let shape = &graph.nodes[graph.inputs[0]].shape;
        let view =
            if shape.len() == 4 { format!("1, {}, 1, 1", norm.mean.len()) } else { "1, -1".into() };
        let list =
            |v: &[f32]| v.iter().map(|x| py_float(f64::from(*x))).collect::<Vec<_>>().join(", ");
        let _ = writeln!(
            init,
            "        self.register_buffer(\"input_mean\", torch.tensor([{}]).view({view}), persistent=False)",
            list(&norm.mean)
        );
        let _ = writeln!(
            init,
            "        self.register_buffer(\"input_std\", torch.tensor([{}]).view({view}), persistent=False)",
            list(&norm.std)
        );
    }
    for (i, node) in graph.nodes.iter().enumerate() {
        if let Some(k) = graph.inputs.iter().position(|&x| x == i) {
            let name = inputs[k].clone();
            if normalise.is_some() {
                let _ =
                    writeln!(body, "        v{i} = ({name} - self.input_mean) / self.input_std");
                values.push(format!("v{i}"));
            } else {
                values.push(name);
            }
            continue;
        }
        let args: Vec<&str> = node.inputs.iter().map(|&j| values[j].as_str()).collect();
        let expr = layer(i, node, &args, net, &mut init, &mut state)?;
        let _ = writeln!(body, "        v{i} = {expr}  # {}", node.op);
        values.push(format!("v{i}"));
    }
    let class = class_name(graph);
    let params = inputs.join(", ");
    let norm_json = match normalise {
        Some(n) => serde_json::json!({ "mean": n.mean, "std": n.std }).to_string(),
        None => "null".into(),
    };
    let mut src = String::new();
    let _ = write!(
        src,
        r#"# Generated by nasc {version}: the network `{name}` of a nasc model space, one architecture.
# Space: {space}
# Architecture (NNI's flat JSON): {arch}
#
# Load the weights that `nasc export --format pytorch` wrote beside this file:
#
#     from safetensors.torch import load_file
#     net = {class}()
#     net.load_state_dict(load_file("model.safetensors"))
#     net.eval()  # batch norm on running statistics, dropout off; net.train() to fine-tune
#
# Input{plural}: {input_doc}. Output: {output_doc}.{norm_doc}
import json

import torch
import torch.nn.functional as F
from torch import nn

ARCHITECTURE = json.loads({arch_lit})
NORMALIZATION = json.loads({norm_lit})


class {class}(nn.Module):
    """The network `{name}` with every choice fixed by ARCHITECTURE."""

    def __init__(self):
        super().__init__()
{init}
    def forward(self, {params}):
{body}        return v{output}
"#,
        version = env!("CARGO_PKG_VERSION"),
        name = graph.name,
        space = info.space.as_deref().unwrap_or("(not recorded)"),
        arch = info.architecture,
        plural = if inputs.len() == 1 { "" } else { "s" },
        input_doc = graph
            .inputs
            .iter()
            .zip(&inputs)
            .map(|(&i, n)| format!("`{n}` {}", shape_text(&graph.nodes[i].shape)))
            .collect::<Vec<_>>()
            .join(", "),
        output_doc = shape_text(&graph.nodes[graph.output].shape),
        norm_doc = if normalise.is_some() {
            "\n# The module normalises its input with NORMALIZATION (the training split's mean and\n# standard deviation per channel), so it takes the data as nasc reads it (pixels in [0, 1])."
        } else {
            ""
        },
        arch_lit = py_str(&info.architecture),
        norm_lit = py_str(&norm_json),
        output = graph.output,
    );
    if init.is_empty() {
        // A body for `__init__` beyond `super().__init__()` is not needed; keep the file tidy.
        src = src.replace("        super().__init__()\n\n", "        super().__init__()\n");
    }
    Ok((src, state))
}

/// `[batch, 1, 28, 28]`.
fn shape_text(shape: &[Option<i64>]) -> String {
    let dims: Vec<String> =
        shape.iter().map(|d| d.map_or_else(|| "batch".to_string(), |d| d.to_string())).collect();
    format!("[{}]", dims.join(", "))
}

/// The values of a tensor, row-major, as 32-bit floats.
fn floats<const D: usize>(t: Tensor<D>, node: &FixedNode) -> Result<Vec<f32>, ExportError> {
    t.into_data().convert::<f32>().try_to_vec::<f32>().map_err(|e| {
        ExportError::Runtime(RuntimeError::Unsupported {
            op: node.op.clone(),
            loc: node.loc,
            why: format!("its weights cannot be read as 32-bit floats: {e:?}"),
        })
    })
}

/// Writes the module of graph node `i` into `init` and its weights into `state` when it has
/// weights, and returns the Python expression of its output.
fn layer(
    i: usize,
    node: &FixedNode,
    args: &[&str],
    net: &Network,
    init: &mut String,
    state: &mut Vec<Entry>,
) -> Result<String, ExportError> {
    let attrs = Strict(node);
    let module = format!("n{i}_{}", node.op);
    let bug = |why: &str| {
        ExportError::Runtime(RuntimeError::Unsupported {
            op: node.op.clone(),
            loc: node.loc,
            why: why.into(),
        })
    };
    let x = *args.first().ok_or_else(|| bug("it has no input"))?;
    let kind = node.kind.ok_or_else(|| ExportError::NoForm {
        op: node.op.clone(),
        loc: node.loc,
        format: "PyTorch",
    })?;
    let no_layer = || bug("the network has no weights for it: it was built from another graph");
    let mut put = |suffix: &str, shape: Vec<usize>, v: StateValues| {
        state.push((format!("{module}.{suffix}"), shape, v));
    };
    Ok(match kind {
        Op::Conv2d | Op::DepthwiseConv2d => {
            let conv = op::Conv::read(kind == Op::DepthwiseConv2d, &attrs)?;
            let Some(Layer::Conv(l)) = net.layer_of(i) else { return Err(no_layer()) };
            let [o, per_group, k, _] = l.weight.dims();
            let groups = match conv.grouping {
                Grouping::Groups { groups, .. } => groups,
                Grouping::Depthwise { multiplier } => o / multiplier.max(1),
            };
            let c = per_group * groups;
            let has_bias = conv.bias && l.bias.is_some();
            let _ = writeln!(
                init,
                "        self.{module} = nn.Conv2d({c}, {o}, {k}, stride={}, padding={}, dilation={}, groups={groups}, bias={})",
                conv.stride,
                conv.padding,
                conv.dilation,
                if has_bias { "True" } else { "False" }
            );
            put(
                "weight",
                vec![o, per_group, k, k],
                StateValues::F32(floats(l.weight.val(), node)?),
            );
            if let (true, Some(b)) = (has_bias, &l.bias) {
                put("bias", vec![o], StateValues::F32(floats(b.val(), node)?));
            }
            format!("self.{module}({x})")
        }
        Op::Linear => {
            let lin = op::Linear::read(&attrs)?;
            let Some(Layer::Linear(l)) = net.layer_of(i) else { return Err(no_layer()) };
            let [f, o] = l.weight.dims();
            let has_bias = lin.bias && l.bias.is_some();
            let _ = writeln!(
                init,
                "        self.{module} = nn.Linear({f}, {o}, bias={})",
                if has_bias { "True" } else { "False" }
            );
            // burn's `[in, out]` is PyTorch's `[out, in]` transposed.
            let w = floats(l.weight.val().transpose(), node)?;
            put("weight", vec![o, f], StateValues::F32(w));
            if let (true, Some(b)) = (has_bias, &l.bias) {
                put("bias", vec![o], StateValues::F32(floats(b.val(), node)?));
            }
            format!("self.{module}({x})")
        }
        Op::BatchNorm => {
            let norm = op::Norm::read(&attrs)?;
            let Some(Layer::Norm(l)) = net.layer_of(i) else { return Err(no_layer()) };
            let mean = floats(l.running_mean.value(), node)?;
            let c = mean.len();
            let affine = l.gamma.is_some() && l.beta.is_some();
            let _ = writeln!(
                init,
                "        self.{module} = nn.BatchNorm2d({c}, eps={}, momentum={}, affine={})",
                py_float(norm.eps),
                py_float(norm.momentum),
                if affine { "True" } else { "False" }
            );
            if let (Some(g), Some(b)) = (&l.gamma, &l.beta) {
                put("weight", vec![c], StateValues::F32(floats(g.val(), node)?));
                put("bias", vec![c], StateValues::F32(floats(b.val(), node)?));
            }
            put("running_mean", vec![c], StateValues::F32(mean));
            put("running_var", vec![c], StateValues::F32(floats(l.running_var.value(), node)?));
            put("num_batches_tracked", vec![], StateValues::I64(vec![0]));
            format!("self.{module}({x})")
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
            match w {
                Weightless::Relu => format!("F.relu({x})"),
                Weightless::Relu6 => format!("F.relu6({x})"),
                Weightless::Gelu => format!("F.gelu({x})"),
                Weightless::Sigmoid => format!("torch.sigmoid({x})"),
                Weightless::Silu => format!("F.silu({x})"),
                Weightless::Hardswish => format!("F.hardswish({x})"),
                Weightless::Hardsigmoid => format!("F.hardsigmoid({x})"),
                Weightless::MaxPool(Pool { kernel, stride, padding }) => {
                    format!("F.max_pool2d({x}, {kernel}, stride={stride}, padding={padding})")
                }
                Weightless::AvgPool {
                    pool: Pool { kernel, stride, padding },
                    count_include_pad,
                } => {
                    format!(
                        "F.avg_pool2d({x}, {kernel}, stride={stride}, padding={padding}, count_include_pad={})",
                        if count_include_pad { "True" } else { "False" }
                    )
                }
                Weightless::GlobalAvgPool => format!("{x}.mean(dim=(2, 3))"),
                Weightless::Flatten => format!("torch.flatten({x}, 1)"),
                Weightless::Dropout { p } => {
                    let _ = writeln!(init, "        self.{module} = nn.Dropout({})", py_float(p));
                    format!("self.{module}({x})")
                }
                Weightless::Add => args.join(" + "),
                Weightless::Mean if args.len() > 1 => {
                    format!("({}) * {}", args.join(" + "), py_float(1.0 / args.len() as f64))
                }
                Weightless::Mean | Weightless::Identity => x.to_string(),
                Weightless::Concat => format!("torch.cat([{}], dim=1)", args.join(", ")),
                Weightless::Zero => {
                    let s = Strict(node).int("stride", 1)?;
                    format!("{x}[:, :, ::{s}, ::{s}].mul(0.0)")
                }
                Weightless::Crop { top, left } => format!("{x}[:, :, {top}:, {left}:]"),
                Weightless::Scale => {
                    let s =
                        args.get(1).ok_or_else(|| bug("it needs a feature map and its scales"))?;
                    format!("{x} * {s}[:, :, None, None]")
                }
                Weightless::ChannelSlice { start, count, step } => {
                    let end = start + count.saturating_sub(1) * step + 1;
                    format!("{x}[:, {start}:{end}:{step}]")
                }
            }
        }
    })
}

/// The state dict as a safetensors file.
///
/// Errors: a message from the safetensors crate (a shape that does not hold its values).
pub fn safetensors_bytes(state: &[Entry]) -> Result<Vec<u8>, String> {
    use safetensors::tensor::{Dtype, TensorView};
    let bytes: Vec<(String, Vec<usize>, Dtype, Vec<u8>)> = state
        .iter()
        .map(|(name, shape, v)| match v {
            StateValues::F32(v) => (
                name.clone(),
                shape.clone(),
                Dtype::F32,
                v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            ),
            StateValues::I64(v) => (
                name.clone(),
                shape.clone(),
                Dtype::I64,
                v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            ),
        })
        .collect();
    let views = bytes
        .iter()
        .map(|(name, shape, dtype, data)| {
            TensorView::new(*dtype, shape.clone(), data)
                .map(|v| (name.clone(), v))
                .map_err(|e| e.to_string())
        })
        .collect::<Result<Vec<_>, String>>()?;
    safetensors::tensor::serialize(views, None).map_err(|e| e.to_string())
}
