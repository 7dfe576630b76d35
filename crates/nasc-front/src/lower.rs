//! Supernet lowering for one-shot search: checks that a strategy can take every choice of a
//! space and computes, without any tensor, the plan from which the runtime builds the supernet
//! (`crate::runtime::supernet`).
//!
//! How each choice becomes part of one weight-shared network (the scheme of NNI's one-shot
//! mixed operations, Gao et al.'s "NNI" and the papers cited per strategy):
//! - a **layer choice** becomes a mixed operation over its alternatives (a weighted sum for
//!   DARTS and GumbelDARTS, the sampled alternative for ENAS and RandomOneShot, a binary gate
//!   for Proxyless);
//! - an **input choice** a weighted or sampled set of its candidates;
//! - a **repeat** with a depth choice a depth-mixed block over the outputs after each depth;
//! - a **value choice** on an operator's channels or kernel size shares one largest weight that
//!   each candidate slices: the first `c` output channels, the centre `k x k` of the kernel (as
//!   NNI's `MixedConv2d`). Every tensor of the supernet therefore has its largest shape over
//!   the space ([`PlanNode::dims`]); channels a candidate does not use hold zeros.
//!
//! What cannot be lowered is a [`LowerError`] with the place and the reason, reported by
//! `nasc check SPACE --strategy X` before anything trains: a value choice that changes a
//! spatial size (the largest tensor would not contain the others), a kernel choice whose
//! padding does not keep the kernels centred, a grouped convolution whose channels vary, an
//! operator the runtime does not implement, and, for strategies that mix candidates, an input
//! choice that concatenates more than one input.

use crate::ir::{Const, Domain, Graph, LabelId, LabelKind, Name, NodeKind, Op, Reduce, Sym};
use crate::source::Loc;
use serde::{Deserialize, Serialize};

/// The one-shot strategies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum OneShotKind {
    /// DARTS (Liu, Simonyan & Yang, ICLR 2019): softmax-weighted mixed operations.
    Darts,
    /// GumbelDARTS (SNAS, Xie et al. 2019; GDAS, Dong & Yang 2019): Gumbel-softmax mixing.
    GumbelDarts,
    /// ENAS (Pham et al., ICML 2018): an LSTM controller samples one path.
    Enas,
    /// Single-path one-shot, SPOS (Guo et al., ECCV 2020): uniform path sampling.
    RandomOneshot,
    /// ProxylessNAS (Cai, Zhu & Han, ICLR 2019): binary gates on one sampled path.
    Proxyless,
}

impl OneShotKind {
    /// Every one-shot strategy, in the order the documentation lists them.
    pub const ALL: [OneShotKind; 5] = [
        OneShotKind::Darts,
        OneShotKind::GumbelDarts,
        OneShotKind::Enas,
        OneShotKind::RandomOneshot,
        OneShotKind::Proxyless,
    ];

    /// The name on the command line (`gumbel-darts`).
    pub fn name(self) -> &'static str {
        match self {
            OneShotKind::Darts => "darts",
            OneShotKind::GumbelDarts => "gumbel-darts",
            OneShotKind::Enas => "enas",
            OneShotKind::RandomOneshot => "random-oneshot",
            OneShotKind::Proxyless => "proxyless",
        }
    }

    /// The strategy with this command-line name.
    pub fn from_name(name: &str) -> Option<OneShotKind> {
        OneShotKind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// Whether the forward pass mixes every candidate (DARTS, GumbelDARTS) rather than running
    /// one sampled path.
    pub fn mixes(self) -> bool {
        matches!(self, OneShotKind::Darts | OneShotKind::GumbelDarts)
    }
}

/// Why a choice or operator cannot be lowered.
#[derive(Debug, Clone, PartialEq)]
pub enum LowerProblem {
    /// A spatial size (height, width) differs between the values of these labels.
    SpatialSize {
        /// The labels involved, by name.
        labels: Vec<String>,
        /// Two of the sizes seen, written out.
        sizes: (String, String),
    },
    /// More combinations of the labels an operator depends on than the supernet mixes.
    TooManyCombinations {
        /// The labels, by name.
        labels: Vec<String>,
        /// How many combinations.
        count: u128,
    },
    /// A kernel-size choice whose padding, stride or dilation does not keep every kernel
    /// centred in the largest one.
    KernelNotCentred {
        /// The labels, by name.
        labels: Vec<String>,
    },
    /// A grouped convolution whose channel counts depend on a choice.
    GroupedChannels {
        /// The labels, by name.
        labels: Vec<String>,
    },
    /// A channel slice whose channels (its input's, or the slice's own) depend on a choice.
    SlicedChannels {
        /// The labels, by name.
        labels: Vec<String>,
    },
    /// An operator the runtime does not implement.
    UnknownOperator {
        /// The operator.
        op: String,
    },
    /// An input choice that concatenates `k > 1` inputs, for a strategy that mixes candidates.
    MixedConcat {
        /// The label.
        label: String,
        /// How many inputs it concatenates.
        k: usize,
    },
    /// Candidates of one choice whose tensors have different largest shapes.
    CandidateShapes {
        /// The choice's label, or the operator.
        what: String,
        /// Two of the shapes, written out.
        shapes: (String, String),
    },
    /// A value that could not be evaluated (a dimension that is not an integer, a division by
    /// zero under some value of a label).
    Eval {
        /// The evaluation error.
        message: String,
    },
}

/// A place the strategy cannot lower, with the reason.
#[derive(Debug, Clone, PartialEq)]
pub struct LowerError {
    /// The choice or operator, as written.
    pub loc: Loc,
    /// The strategy.
    pub strategy: OneShotKind,
    /// What is wrong.
    pub problem: LowerProblem,
}

/// The value labels an operator depends on and the combinations of their values, in mixed-radix
/// order (the first label varies fastest).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Deps {
    /// The labels.
    pub labels: Vec<LabelId>,
    /// Each label's domain size.
    pub sizes: Vec<usize>,
}

impl Deps {
    /// How many combinations.
    pub fn count(&self) -> usize {
        self.sizes.iter().product()
    }

    /// Combination `index`: one domain index per label.
    pub fn assignment(&self, mut index: usize) -> Vec<usize> {
        self.sizes
            .iter()
            .map(|s| {
                let i = index % s;
                index /= s;
                i
            })
            .collect()
    }
}

/// One operator under one combination of the values its labels take.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Variant {
    /// Its attributes, evaluated.
    pub attrs: Vec<(String, Const)>,
    /// Its output dimensions after the batch.
    pub dims: Vec<usize>,
}

impl Variant {
    /// An integer attribute.
    pub fn int(&self, name: &str) -> Option<i64> {
        self.attrs.iter().find(|(k, _)| k == name).and_then(|(_, v)| {
            if let Const::Int(i) = v {
                Some(*i)
            } else {
                None
            }
        })
    }
}

/// The plan of one IR node.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlanNode {
    /// The dimensions after the batch of the supernet's tensor for this node: the largest over
    /// the space (channels of concatenations add up).
    pub dims: Vec<usize>,
    /// For operators: the value labels its attributes or shape depend on.
    pub deps: Deps,
    /// For operators: one variant per combination of `deps` (one when it has none).
    pub variants: Vec<Variant>,
}

/// Everything the runtime needs to build a supernet of a graph for one strategy.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    /// The strategy it was lowered for.
    pub strategy: OneShotKind,
    /// One entry per IR node, by node index.
    pub nodes: Vec<PlanNode>,
    /// Per label: for a layer choice, the alternative that is DARTS' `none` (a `zero`
    /// operation), if any.
    pub zero_alternative: Vec<Option<usize>>,
    /// Per label: whether it is an input choice over cell edges (every candidate a layer choice
    /// with a `zero` alternative). DARTS sums such edges and ranks them by their operations'
    /// weights at export, as the reference code does, instead of giving the input choice
    /// architecture parameters of its own.
    pub edge_ranked: Vec<bool>,
}

/// The most combinations of label values one operator may depend on. MobileNetV3's
/// depthwise convolutions depend on the width, their kernel size and their expansion ratio:
/// 5 x 3 x 8 = 120 (std.spaces.mobilenetv3).
pub const MAX_COMBINATIONS: usize = 256;

fn dims_text(d: &[usize]) -> String {
    format!("[n, {}]", d.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(", "))
}

/// Lowers `g` for `strategy`: the plan, or every place the strategy cannot take.
pub fn lower(g: &Graph, strategy: OneShotKind) -> Result<Plan, Vec<LowerError>> {
    let mut errors = Vec::new();
    let mut nodes: Vec<PlanNode> = Vec::with_capacity(g.nodes.len());
    let names = |ls: &[LabelId]| ls.iter().map(|l| g.label_name(*l)).collect::<Vec<_>>();
    for (h, node) in g.nodes.iter() {
        let loc = g.nodes.loc(h);
        let mut err = |problem: LowerProblem| errors.push(LowerError { loc, strategy, problem });
        let plan = match &node.kind {
            NodeKind::Input { .. } => match variants_of(g, &[], &node.shape, &Deps::default()) {
                Ok(v) => PlanNode { dims: v[0].dims.clone(), deps: Deps::default(), variants: v },
                Err(e) => {
                    err(LowerProblem::Eval { message: e });
                    PlanNode { dims: Vec::new(), deps: Deps::default(), variants: Vec::new() }
                }
            },
            NodeKind::Op { op, kind, inputs, attrs, .. } => {
                if kind.is_none() {
                    err(LowerProblem::UnknownOperator { op: op.to_string() });
                }
                let mut labels: Vec<LabelId> = attrs
                    .iter()
                    .flat_map(|(_, s)| s.labels())
                    .chain(node.shape.iter().flat_map(|d| d.labels()))
                    .collect();
                labels.sort();
                labels.dedup();
                let sizes: Vec<usize> = labels
                    .iter()
                    .map(|l| g.labels.get(*l).domain.size().unwrap_or(u64::MAX) as usize)
                    .collect();
                let count: u128 = sizes.iter().map(|s| *s as u128).product();
                let deps = Deps { labels: labels.clone(), sizes };
                let input_dims: Vec<Vec<usize>> = inputs
                    .iter()
                    .map(|i| nodes.get(i.index()).map(|p| p.dims.clone()).unwrap_or_default())
                    .collect();
                if count > MAX_COMBINATIONS as u128 {
                    err(LowerProblem::TooManyCombinations { labels: names(&labels), count });
                    PlanNode {
                        dims: input_dims.first().cloned().unwrap_or_default(),
                        deps,
                        variants: Vec::new(),
                    }
                } else {
                    match variants_of(g, attrs, &node.shape, &deps) {
                        Err(e) => {
                            err(LowerProblem::Eval { message: e });
                            PlanNode {
                                dims: input_dims.first().cloned().unwrap_or_default(),
                                deps,
                                variants: Vec::new(),
                            }
                        }
                        Ok(variants) => {
                            let dims = op_dims(
                                op,
                                *kind,
                                &input_dims,
                                &variants,
                                g,
                                inputs,
                                &labels,
                                &mut err,
                            );
                            PlanNode { dims, deps, variants }
                        }
                    }
                }
            }
            NodeKind::LayerChoice { label, alternatives } => PlanNode {
                dims: choice_dims(&nodes, alternatives, &g.label_name(*label), &mut err),
                deps: Deps::default(),
                variants: Vec::new(),
            },
            NodeKind::Repeat { label, outputs, .. } => PlanNode {
                dims: choice_dims(&nodes, outputs, &g.label_name(*label), &mut err),
                deps: Deps::default(),
                variants: Vec::new(),
            },
            NodeKind::Select { then, otherwise, cond } => {
                let dims = choice_dims(&nodes, &[*then, *otherwise], "if", &mut err);
                let labels = cond.labels();
                let sizes = labels
                    .iter()
                    .map(|l| g.labels.get(*l).domain.size().unwrap_or(u64::MAX) as usize)
                    .collect();
                PlanNode { dims, deps: Deps { labels, sizes }, variants: Vec::new() }
            }
            NodeKind::InputChoice { label, candidates, k, reduce } => {
                let mut dims = choice_dims(&nodes, candidates, &g.label_name(*label), &mut err);
                if *reduce == Reduce::Concat && *k > 1 {
                    if strategy.mixes() || strategy == OneShotKind::Proxyless {
                        err(LowerProblem::MixedConcat { label: g.label_name(*label), k: *k });
                    }
                    if let Some(c) = dims.first_mut() {
                        *c *= k;
                    }
                }
                PlanNode { dims, deps: Deps::default(), variants: Vec::new() }
            }
        };
        nodes.push(plan);
    }
    // Per label: the `zero` alternative of layer choices, and input choices over cell edges.
    let mut zero_alternative = vec![None; g.labels.len()];
    let mut edge_ranked = vec![true; g.labels.len()];
    let is_zero = |n: crate::ir::NodeId| {
        matches!(&g.nodes.get(n).kind, NodeKind::Op { kind: Some(Op::Zero), .. })
    };
    for (_, node) in g.nodes.iter() {
        match &node.kind {
            NodeKind::LayerChoice { label, alternatives } => {
                zero_alternative[label.0 as usize] = alternatives.iter().position(|a| is_zero(*a));
            }
            NodeKind::InputChoice { label, candidates, .. } => {
                let edges = candidates.iter().all(|c| match &g.nodes.get(*c).kind {
                    NodeKind::LayerChoice { alternatives, .. } => {
                        alternatives.iter().any(|a| is_zero(*a))
                    }
                    _ => false,
                });
                edge_ranked[label.0 as usize] &= edges;
            }
            _ => {}
        }
    }
    for id in g.labels.ids() {
        if g.labels.get(id).kind != LabelKind::Input {
            edge_ranked[id.0 as usize] = false;
        }
    }
    if errors.is_empty() {
        Ok(Plan { strategy, nodes, zero_alternative, edge_ranked })
    } else {
        errors.sort_by_key(|e| (e.loc.file, e.loc.span.start));
        errors.dedup();
        Err(errors)
    }
}

/// The supernet dimensions of a choice's output: its candidates' dimensions, which must agree
/// after the channels; a candidate with fewer channels is padded with zero channels, so the
/// choice has the most channels of any candidate (an expansion ratio of 1 against 6).
fn choice_dims(
    nodes: &[PlanNode],
    of: &[crate::ir::NodeId],
    what: &str,
    err: &mut dyn FnMut(LowerProblem),
) -> Vec<usize> {
    let dims: Vec<&Vec<usize>> =
        of.iter().filter_map(|n| nodes.get(n.index())).map(|p| &p.dims).collect();
    let Some(first) = dims.first() else { return Vec::new() };
    if let Some(other) =
        dims.iter().find(|d| d.len() != first.len() || d.iter().skip(1).ne(first.iter().skip(1)))
    {
        err(LowerProblem::CandidateShapes {
            what: what.to_string(),
            shapes: (dims_text(first), dims_text(other)),
        });
    }
    let mut out = (*first).clone();
    if let Some(c) = out.first_mut() {
        *c = dims.iter().filter_map(|d| d.first().copied()).max().unwrap_or(0);
    }
    out
}

/// Every variant of an operator: its attributes and output dimensions under each combination.
fn variants_of(
    g: &Graph,
    attrs: &[(Name, Sym)],
    shape: &[Sym],
    deps: &Deps,
) -> Result<Vec<Variant>, String> {
    (0..deps.count().max(1))
        .map(|index| {
            let choice = deps.assignment(index);
            let value = |l: LabelId| -> Const {
                let pos = deps.labels.iter().position(|x| *x == l);
                match (pos, &g.labels.get(l).domain) {
                    (Some(p), Domain::Values { values }) => values[choice[p]].clone(),
                    _ => Const::Int(0),
                }
            };
            let attrs = attrs
                .iter()
                .map(|(k, s)| {
                    Ok((k.to_string(), s.eval(&value, &|_| Some(1)).map_err(|e| e.to_string())?))
                })
                .collect::<Result<Vec<_>, String>>()?;
            let dims = shape
                .iter()
                .skip(1)
                .map(|d| match d.eval(&value, &|_| Some(1)).map_err(|e| e.to_string())? {
                    Const::Int(i) if i >= 0 => Ok(i as usize),
                    other => Err(format!("a dimension is {other}, not a size")),
                })
                .collect::<Result<Vec<_>, String>>()?;
            Ok(Variant { attrs, dims })
        })
        .collect()
}

/// The supernet dimensions of an operator's output, checking what sharing one weight needs.
#[allow(clippy::too_many_arguments)]
fn op_dims(
    op: &str,
    kind: Option<Op>,
    inputs: &[Vec<usize>],
    variants: &[Variant],
    g: &Graph,
    input_nodes: &[crate::ir::NodeId],
    labels: &[LabelId],
    err: &mut dyn FnMut(LowerProblem),
) -> Vec<usize> {
    let names = || labels.iter().map(|l| g.label_name(*l)).collect::<Vec<_>>();
    let first = &variants[0];
    // Spatial sizes (everything after the channels) must not depend on a choice.
    let spatial = variants.iter().find(|v| {
        v.dims.len() != first.dims.len() || v.dims.iter().skip(1).ne(first.dims.iter().skip(1))
    });
    if let Some(v) = spatial {
        err(LowerProblem::SpatialSize {
            labels: names(),
            sizes: (dims_text(&first.dims), dims_text(&v.dims)),
        });
    }
    let max_channels = variants.iter().filter_map(|v| v.dims.first().copied()).max().unwrap_or(0);
    let input = inputs.first().cloned().unwrap_or_default();
    let in_channels = input.first().copied().unwrap_or(0);
    let constant = |name: &str| variants.iter().all(|v| v.int(name) == first.int(name));
    let with_channels = |c: usize| {
        let mut d = first.dims.clone();
        if let Some(x) = d.first_mut() {
            *x = c;
        }
        d
    };
    // Operators that keep the channels: the input's supernet channels, the proved spatial size.
    let keeps_channels = || {
        if !input.is_empty() && input.len() == first.dims.len() {
            with_channels(in_channels)
        } else {
            first.dims.clone()
        }
    };
    match kind {
        Some(Op::Conv2d | Op::DepthwiseConv2d) => {
            // A kernel choice that changes the spatial size is reported once, above.
            let varies = variants.len() > 1 && spatial.is_none();
            if varies && !(constant("stride") && constant("dilation")) {
                err(LowerProblem::KernelNotCentred { labels: names() });
            } else if varies {
                let kmax = variants.iter().filter_map(|v| v.int("kernel")).max().unwrap_or(1);
                let centred = |v: &Variant| {
                    let (k, p, d) = (
                        v.int("kernel").unwrap_or(1),
                        v.int("padding").unwrap_or(0),
                        v.int("dilation").unwrap_or(1),
                    );
                    let pmax_needed = p + d * (kmax - k) / 2;
                    (kmax - k) % 2 == 0
                        && pmax_needed
                            == first.int("padding").unwrap_or(0)
                                + d * (kmax - first.int("kernel").unwrap_or(1)) / 2
                };
                if !variants.iter().all(centred) {
                    err(LowerProblem::KernelNotCentred { labels: names() });
                }
            }
            if kind == Some(Op::Conv2d)
                && variants.iter().any(|v| v.int("groups").unwrap_or(1) != 1)
            {
                // Grouped: only with channels that no choice changes.
                let in_fixed = input_nodes.first().is_some_and(|n| {
                    g.nodes.get(*n).shape.get(1).is_some_and(|s| s.as_int().is_some())
                });
                if !(constant("groups") && constant("out") && in_fixed) {
                    err(LowerProblem::GroupedChannels { labels: names() });
                }
            }
            if kind == Some(Op::DepthwiseConv2d) {
                if !constant("multiplier") {
                    err(LowerProblem::GroupedChannels { labels: names() });
                }
                return with_channels(
                    in_channels * first.int("multiplier").unwrap_or(1).max(1) as usize,
                );
            }
            with_channels(max_channels)
        }
        Some(Op::Linear) => with_channels(max_channels),
        Some(Op::ChannelSlice) => {
            let in_fixed = input_nodes.first().is_some_and(|n| {
                g.nodes.get(*n).shape.get(1).is_some_and(|s| s.as_int().is_some())
            });
            if !(constant("start") && constant("count") && constant("step") && in_fixed) {
                err(LowerProblem::SlicedChannels { labels: names() });
            }
            first.dims.clone()
        }
        Some(Op::GlobalAvgPool) => vec![in_channels],
        Some(Op::Flatten) => vec![input.iter().product()],
        Some(Op::Concat) => {
            with_channels(inputs.iter().map(|d| d.first().copied().unwrap_or(0)).sum())
        }
        Some(Op::Add | Op::Mean) => {
            if let Some(other) = inputs.iter().find(|d| **d != input) {
                err(LowerProblem::CandidateShapes {
                    what: op.to_string(),
                    shapes: (dims_text(&input), dims_text(other)),
                });
            }
            input
        }
        Some(
            Op::BatchNorm
            | Op::Relu
            | Op::Relu6
            | Op::Gelu
            | Op::Sigmoid
            | Op::Silu
            | Op::Hardswish
            | Op::Hardsigmoid
            | Op::MaxPool
            | Op::AvgPool
            | Op::Dropout
            | Op::Identity
            | Op::Zero
            | Op::Crop
            | Op::Scale,
        )
        | None => keeps_channels(),
    }
}
