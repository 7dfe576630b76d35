//! The graph IR: one typed, acyclic dataflow graph per network, held in arenas addressed by
//! handles, with a source location for every node (naga's `Arena`/`Handle` with a parallel
//! span table is the model).
//!
//! Choice structure is explicit: a layer choice owns one sub-graph per alternative, a repeat
//! with a depth choice owns one sub-graph per repetition, an input choice owns its candidate
//! edges. Every node lives in a [`Region`]; a region other than the root is active only under
//! the architectures that choose it. [`LabelTable`] lists every decision of the space.
//!
//! Produced by `crate::check` (elaboration of a network), consumed by `crate::facts`
//! (counting, cost bounds) and `crate::arch` (architectures and `fix`).

pub mod op;
pub mod sym;
mod text;
mod validate;

/// A hash map with the Fx hasher (`rustc-hash`), for the maps of the type stage and of the
/// facts, keyed by the compiler's own small keys (names, hashes of call keys, gates), where
/// SipHash's resistance to chosen keys buys nothing and cost a twentieth of the time.
pub type FastMap<K, V> = rustc_hash::FxHashMap<K, V>;
/// The hasher of [`FastMap`], for hashing a key by hand.
pub type FastHasher = rustc_hash::FxHasher;
pub use op::Op;
pub use sym::{Const, EvalError, LabelId, Name, ScalarType, Sym};
pub use text::to_text;
pub use validate::{validate, ValidationError};

use crate::source::Loc;
use serde::Serialize;
use std::marker::PhantomData;
use std::sync::Arc;

/// A typed index into an [`Arena`].
#[derive(Serialize)]
#[serde(transparent)]
pub struct Handle<T> {
    index: u32,
    #[serde(skip)]
    _marker: PhantomData<fn() -> T>,
}

impl<T> Handle<T> {
    /// The handle of position `index` (for arenas built elsewhere; prefer [`Arena::append`]).
    pub fn new(index: usize) -> Self {
        Handle { index: index as u32, _marker: PhantomData }
    }

    /// The position in the arena (handles are handed out in order, from 0).
    pub fn index(self) -> usize {
        self.index as usize
    }
}

impl<T> Clone for Handle<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Handle<T> {}
impl<T> PartialEq for Handle<T> {
    fn eq(&self, other: &Self) -> bool {
        self.index == other.index
    }
}
impl<T> Eq for Handle<T> {}
impl<T> PartialOrd for Handle<T> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl<T> Ord for Handle<T> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.index.cmp(&other.index)
    }
}
impl<T> std::hash::Hash for Handle<T> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.index.hash(state)
    }
}
impl<T> std::fmt::Debug for Handle<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "%{}", self.index)
    }
}

/// A growable store of `T` addressed by [`Handle<T>`], with the source location of each item
/// in a parallel table.
#[derive(Debug, Clone, Serialize)]
pub struct Arena<T> {
    items: Vec<T>,
    #[serde(skip)]
    locs: Vec<Loc>,
}

impl<T> Default for Arena<T> {
    fn default() -> Self {
        Arena { items: Vec::new(), locs: Vec::new() }
    }
}

impl<T> Arena<T> {
    /// Adds an item written at `loc` and returns its handle.
    pub fn append(&mut self, item: T, loc: Loc) -> Handle<T> {
        self.items.push(item);
        self.locs.push(loc);
        Handle::new(self.items.len() - 1)
    }

    /// The item behind a handle.
    pub fn get(&self, h: Handle<T>) -> &T {
        &self.items[h.index()]
    }

    /// The item behind a handle, mutably.
    pub fn get_mut(&mut self, h: Handle<T>) -> &mut T {
        &mut self.items[h.index()]
    }

    /// Where the item was written.
    pub fn loc(&self, h: Handle<T>) -> Loc {
        self.locs[h.index()]
    }

    /// How many items.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Every handle with its item, in the order they were added.
    pub fn iter(&self) -> impl Iterator<Item = (Handle<T>, &T)> {
        self.items.iter().enumerate().map(|(i, t)| (Handle::new(i), t))
    }
}

/// A tensor shape: one symbolic integer per dimension, `[batch, channels, height, width]` for
/// feature maps, `[batch, features]` after pooling. Shared: nodes of the same shape (most of a
/// network's) hold one copy.
pub type Shape = Arc<[Sym]>;

/// An operator node's scalar arguments by parameter name, shared between the nodes of equal
/// applications.
pub type Attrs = Arc<[(Name, Sym)]>;

/// What an operator application costs, by the operator's `params` and `flops` formulas.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OpCost {
    /// Trainable parameters.
    pub params: Sym,
    /// Multiply-accumulates for one sample.
    pub flops: Sym,
}

/// An [`OpCost`] shared between the nodes of equal applications (a node holds a pointer, not
/// two formulas: the copies of a block instance replayed twenty times stay small).
pub type Cost = Arc<OpCost>;

/// Serializes a shared value as the value it holds.
fn shared<T: Serialize, S: serde::Serializer>(v: &Arc<T>, s: S) -> Result<S::Ok, S::Error> {
    v.as_ref().serialize(s)
}

/// Serializes a shared slice as the sequence it holds.
fn shared_slice<T: Serialize, S: serde::Serializer>(v: &Arc<[T]>, s: S) -> Result<S::Ok, S::Error> {
    v.as_ref().serialize(s)
}

/// Handle of a [`Node`].
pub type NodeId = Handle<Node>;

/// An operator node's tensor inputs: up to four held in the node itself (no allocation to
/// make, copy or drop one; operators read one or two tensors, concatenations more).
pub type Inputs = smallvec::SmallVec<[NodeId; 4]>;
/// Handle of a [`Region`].
pub type RegionId = Handle<Region>;

/// A region of the graph: the root, one alternative of a layer choice, or one repetition of a
/// repeat. Its nodes run only when the region is active.
#[derive(Debug, Clone, Serialize)]
pub struct Region {
    /// The enclosing region (`None` for the root).
    pub parent: Option<RegionId>,
    /// What activates it.
    pub kind: RegionKind,
}

/// What activates a region.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "region")]
pub enum RegionKind {
    /// Always active.
    Root,
    /// Active when `label` chooses alternative `index`.
    Alternative {
        /// The layer choice's label.
        label: LabelId,
        /// The alternative's position.
        index: usize,
    },
    /// Active when the depth chosen for `label` is greater than `index` (repetition `index`,
    /// counted from 0).
    Repetition {
        /// The depth choice's label.
        label: LabelId,
        /// The repetition, from 0.
        index: usize,
    },
    /// Active when `cond` evaluates to `taken` (a branch of an `if` whose condition depends on
    /// value choices).
    Branch {
        /// The condition.
        cond: Sym,
        /// Which branch.
        taken: bool,
    },
}

/// How an input choice combines the inputs it picks (NNI's `reduction`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Reduce {
    /// Element-wise sum.
    Sum,
    /// Element-wise mean.
    Mean,
    /// Concatenation along channels (dimension 1).
    Concat,
}

/// One node of the graph.
#[derive(Debug, Clone, Serialize)]
pub struct Node {
    /// What it computes.
    pub kind: NodeKind,
    /// Its output shape.
    #[serde(serialize_with = "shared_slice")]
    pub shape: Shape,
    /// The region it belongs to.
    pub region: RegionId,
}

/// What a node computes.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "node")]
pub enum NodeKind {
    /// The network's input `index` (its parameter `name`).
    Input {
        /// Position among the network's tensor parameters.
        index: usize,
        /// The parameter's name.
        name: String,
    },
    /// A built-in operator applied to tensors, with scalar attributes that may depend on labels.
    Op {
        /// The operator's name (`conv2d`).
        op: Name,
        /// The operator, when the runtime implements it (resolved once from `op` by the type
        /// stage; `None` for an operator declared in `.nas` that the runtime does not run).
        #[serde(skip)]
        kind: Option<Op>,
        /// Tensor inputs, in parameter order.
        inputs: Inputs,
        /// Scalar arguments by parameter name, defaults filled in.
        #[serde(serialize_with = "shared_slice")]
        attrs: Attrs,
        /// Its cost formulas, shared between the nodes of equal applications.
        #[serde(serialize_with = "shared")]
        cost: Cost,
    },
    /// A layer choice: the output of the chosen alternative.
    LayerChoice {
        /// Its label.
        label: LabelId,
        /// Each alternative's output node, in domain order.
        alternatives: Vec<NodeId>,
    },
    /// An input choice: `k` of the candidates, combined by `reduce`.
    InputChoice {
        /// Its label.
        label: LabelId,
        /// The candidate inputs.
        candidates: Vec<NodeId>,
        /// How many are chosen.
        k: usize,
        /// How they are combined.
        reduce: Reduce,
    },
    /// `if cond then a else b` on tensors where `cond` depends on value choices.
    Select {
        /// The condition.
        cond: Sym,
        /// The value when it holds.
        then: NodeId,
        /// The value when it does not.
        otherwise: NodeId,
    },
    /// A repeat with a depth choice: `outputs[i]` is the value after the depth `depths[i]`.
    Repeat {
        /// The depth label.
        label: LabelId,
        /// The candidate depths.
        depths: Vec<i64>,
        /// The value after each candidate depth (the input itself for depth 0).
        outputs: Vec<NodeId>,
    },
}

impl NodeKind {
    /// The nodes this node reads.
    pub fn inputs(&self) -> Vec<NodeId> {
        self.each_input().collect()
    }

    /// Replaces every node this node reads by `f` of it.
    pub fn map_inputs(&mut self, mut f: impl FnMut(NodeId) -> NodeId) {
        match self {
            NodeKind::Input { .. } => {}
            NodeKind::Op { inputs, .. } => inputs.iter_mut().for_each(|n| *n = f(*n)),
            NodeKind::LayerChoice { alternatives: list, .. }
            | NodeKind::InputChoice { candidates: list, .. }
            | NodeKind::Repeat { outputs: list, .. } => list.iter_mut().for_each(|n| *n = f(*n)),
            NodeKind::Select { then, otherwise, .. } => {
                *then = f(*then);
                *otherwise = f(*otherwise);
            }
        }
    }

    /// The nodes this node reads, in the order of [`NodeKind::inputs`], without collecting them.
    pub fn each_input(&self) -> impl Iterator<Item = NodeId> + '_ {
        let (list, pair): (&[NodeId], [Option<NodeId>; 2]) = match self {
            NodeKind::Input { .. } => (&[], [None, None]),
            NodeKind::Op { inputs, .. } => (inputs, [None, None]),
            NodeKind::LayerChoice { alternatives, .. } => (alternatives, [None, None]),
            NodeKind::InputChoice { candidates, .. } => (candidates, [None, None]),
            NodeKind::Repeat { outputs, .. } => (outputs, [None, None]),
            NodeKind::Select { then, otherwise, .. } => (&[], [Some(*then), Some(*otherwise)]),
        };
        list.iter().copied().chain(pair.into_iter().flatten())
    }
}

/// What kind of decision a label is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LabelKind {
    /// A layer choice (NNI `LayerChoice`): one of named alternatives.
    Layer,
    /// A value choice (NNI `ValueChoice`): one of constant values.
    Value,
    /// An input choice (NNI `InputChoice`): `k` of `n` inputs.
    Input,
    /// A repeat's depth (NNI `Repeat`).
    Depth,
}

/// The values a label can take.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "domain", rename_all = "lowercase")]
pub enum Domain {
    /// Constants (value choices and depths).
    Values {
        /// The values in order.
        values: Vec<Const>,
    },
    /// Alternative names (layer choices).
    Alternatives {
        /// The names in order.
        names: Vec<String>,
    },
    /// `k` distinct inputs out of `n` (input choices), as sorted index lists.
    Inputs {
        /// How many candidates.
        n: usize,
        /// How many are chosen.
        k: usize,
    },
}

impl Domain {
    /// How many values the label can take (for inputs, `n choose k`); `None` if it exceeds u64.
    pub fn size(&self) -> Option<u64> {
        match self {
            Domain::Values { values } => Some(values.len() as u64),
            Domain::Alternatives { names } => Some(names.len() as u64),
            Domain::Inputs { n, k } => binomial(*n as u64, *k as u64),
        }
    }

    /// The domain written out for people: `[16, 32, 64]`, `{conv3, skip}`, `2 of 4 inputs`.
    pub fn describe(&self) -> String {
        match self {
            Domain::Values { values } => {
                format!("[{}]", values.iter().map(|v| v.to_string()).collect::<Vec<_>>().join(", "))
            }
            Domain::Alternatives { names } => format!("{{{}}}", names.join(", ")),
            Domain::Inputs { n, k } => format!("{k} of {n} inputs"),
        }
    }
}

/// `n choose k`, `None` on overflow.
pub fn binomial(n: u64, k: u64) -> Option<u64> {
    if k > n {
        return Some(0);
    }
    let k = k.min(n - k);
    let mut r: u64 = 1;
    for i in 0..k {
        r = r.checked_mul(n - i)? / (i + 1);
    }
    Some(r)
}

/// One decision of the space.
#[derive(Debug, Clone, Serialize)]
pub struct LabelInfo {
    /// The label: derived from its place (`stage2/block[1]/op`) or written (`label "w"`).
    pub name: String,
    /// What kind of decision.
    pub kind: LabelKind,
    /// Its values.
    pub domain: Domain,
    /// Whether it was written explicitly.
    pub explicit: bool,
    /// Every choice expression that makes this decision.
    #[serde(skip)]
    pub uses: Vec<Loc>,
}

/// Every label of a network, in the order first met.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LabelTable {
    /// The labels; a [`LabelId`] indexes this.
    pub labels: Vec<LabelInfo>,
}

impl LabelTable {
    /// The label with this id.
    pub fn get(&self, id: LabelId) -> &LabelInfo {
        &self.labels[id.0 as usize]
    }

    /// Looks a label up by name.
    pub fn find(&self, name: &str) -> Option<LabelId> {
        self.labels.iter().position(|l| l.name == name).map(|i| LabelId(i as u32))
    }

    /// Every id, in order.
    pub fn ids(&self) -> impl Iterator<Item = LabelId> {
        (0..self.labels.len() as u32).map(LabelId)
    }

    /// How many labels.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
}

/// A cost limit from a `where` clause.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Measure {
    /// Trainable parameters.
    Params,
    /// Multiply-accumulates per sample.
    Flops,
}

/// `params <= 500_000`: a measure compared with a constant.
#[derive(Debug, Clone, Serialize)]
pub struct Constraint {
    /// What is limited.
    pub measure: Measure,
    /// `<`, `<=`, `>`, `>=`, `==` (as written).
    pub op: crate::syntax::ast::BinOp,
    /// The limit.
    pub bound: f64,
    /// Where it is written.
    #[serde(skip)]
    pub loc: Loc,
}

impl Constraint {
    /// Whether a value of the measure satisfies the constraint.
    pub fn holds(&self, value: f64) -> bool {
        use crate::syntax::ast::BinOp::*;
        match self.op {
            Lt => value < self.bound,
            Le => value <= self.bound,
            Gt => value > self.bound,
            Ge => value >= self.bound,
            Eq => value == self.bound,
            Ne => value != self.bound,
            _ => true,
        }
    }
}

/// The IR of one network.
#[derive(Debug, Clone, Serialize)]
pub struct Graph {
    /// The network's name.
    pub name: String,
    /// The nodes, in a topological order (every input before its users).
    pub nodes: Arena<Node>,
    /// The regions; the first is the root.
    pub regions: Arena<Region>,
    /// The network's tensor inputs.
    pub inputs: Vec<NodeId>,
    /// The node the network returns.
    pub output: NodeId,
    /// Every decision.
    pub labels: LabelTable,
    /// The `where` constraints.
    pub constraints: Vec<Constraint>,
}

impl Graph {
    /// A name for a label, for display.
    pub fn label_name(&self, id: LabelId) -> String {
        self.labels.get(id).name.clone()
    }

    /// A shape written out: `[n, width, 14, 14]`.
    pub fn shape_text(&self, shape: &[Sym]) -> String {
        let names = |l: LabelId| self.label_name(l);
        format!(
            "[{}]",
            shape.iter().map(|d| d.display(&names).to_string()).collect::<Vec<_>>().join(", ")
        )
    }
}
