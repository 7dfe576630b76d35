//! The type stage: elaborates every network of a resolved program into the graph IR, checking
//! tensor shapes for every architecture of the space.
//!
//! Elaboration runs the network's body the way an interpreter would, with value choices kept
//! symbolic ([`Sym`]): loops over constant ranges are unrolled, blocks are inlined with their
//! dimension symbols unified against the argument shapes, operators are applied with the output
//! shape, `require` conditions and cost formulas their `operator` declaration gives, and every
//! choice becomes a region of the IR. Where a shape depends on choices, equality is decided by
//! evaluating every combination of the labels involved (up to [`ENUMERATION_LIMIT`]), and a
//! failure is reported with one offending assignment as a counterexample.
//!
//! Errors are typed ([`TypeError`]); `crate::diagnostics::wording` words them.

mod errors;

pub use errors::{Kind, Subject, TypeError, TypeLocated};

use crate::ir::*;
use crate::resolve::{ItemRef, Program};
use crate::source::{FileId, Loc, Span};
use crate::syntax::ast::{self, BinOp, Dim, Expr, ExprKind, Item, Stmt, TypeExpr};

/// How many label combinations a shape comparison evaluates at most.
pub const ENUMERATION_LIMIT: usize = 4096;
/// How deeply block calls may nest (a block that calls itself hits this).
pub const MAX_CALL_DEPTH: usize = 64;

/// Elaborates every network in the root module of `program` (module 0).
///
/// Returns the graphs that elaborated without error and every error found.
pub fn check_program(program: &Program) -> (Vec<Graph>, Vec<TypeLocated>) {
    let (graphs, errors, _) = elaborate(program, None);
    (graphs, errors)
}

/// The type of an expression at a place, as elaboration found it (for hover in editors). A
/// block called in several places, or an expression inside a loop, has one entry per
/// instance.
#[derive(Debug, Clone, PartialEq)]
pub struct TypeAt {
    /// The expression.
    pub loc: Loc,
    /// Its type written out: `Tensor[n, 16, 14, 14]`, `int = 3`, `int = width * 2`.
    pub ty: String,
}

/// Like [`check_program`], and also records the type of every expression elaborated.
pub fn check_program_with_types(program: &Program) -> (Vec<Graph>, Vec<TypeLocated>, Vec<TypeAt>) {
    elaborate(program, Some(None))
}

/// Like [`check_program_with_types`], recording only the types of expressions written in
/// `file` (all of them with `None`): an editor shows the types of one file, and formatting
/// every type of every instance of the standard library's blocks and operators costs more than
/// the type stage itself.
pub fn check_program_with_types_in(
    program: &Program,
    file: Option<FileId>,
) -> (Vec<Graph>, Vec<TypeLocated>, Vec<TypeAt>) {
    elaborate(program, Some(file))
}

/// The networks of the root file, in order, with their item positions: what the type stage
/// elaborates (the first is the one `train`, `search`, `sample` and `check --arch` take).
pub fn networks(program: &Program) -> impl Iterator<Item = (usize, &ast::BlockDecl)> {
    program.modules[0].ast.items.iter().enumerate().filter_map(|(i, item)| match item {
        Item::Block(b) if b.kind == ast::BlockKind::Network => Some((i, b)),
        _ => None,
    })
}

/// The type stage; `record` says whether to record types, and of which file's expressions.
/// Networks are independent: a file with several has them elaborated side by side
/// ([`crate::pool::map_ordered`]); graphs, errors and types come back in the file's order.
fn elaborate(
    program: &Program,
    record: Option<Option<FileId>>,
) -> (Vec<Graph>, Vec<TypeLocated>, Vec<TypeAt>) {
    let networks: Vec<(usize, &ast::BlockDecl)> = networks(program).collect();
    let done = crate::pool::map_ordered(&networks, |&(i, b)| {
        let mut e = Elab::new(program, &b.name.name);
        e.record = record;
        let ok = e.network(ItemRef { module: 0, item: i });
        let graph = (ok && e.errors.is_empty()).then_some(e.graph);
        (graph, e.errors, e.types)
    });
    let mut graphs = Vec::new();
    let mut errors = Vec::new();
    let mut types = Vec::new();
    for (graph, mut errs, mut tys) in done {
        graphs.extend(graph);
        errors.append(&mut errs);
        types.append(&mut tys);
    }
    (graphs, errors, types)
}

/// A value during elaboration.
#[derive(Debug, Clone)]
enum Value {
    /// An int, float, bool or string, maybe depending on labels.
    Scalar(Sym),
    /// A tensor: the node computing it.
    Tensor(NodeId),
    /// A list.
    List(Vec<Value>),
    /// The dimensions bound by `...rest`.
    Dims(Vec<Sym>),
    /// The result of an expression that had an error (already reported); absorbs everything.
    Poison,
}

impl Value {
    fn kind_name(&self) -> Kind {
        match self {
            Value::Scalar(_) => Kind::Scalar,
            Value::Tensor(_) => Kind::Tensor,
            Value::List(_) => Kind::List,
            Value::Dims(_) => Kind::Dims,
            Value::Poison => Kind::Erroneous,
        }
    }
}

/// A scope: names (borrowed from the program's syntax trees) and their values. Most scopes hold
/// a few names, so a list searched from the end beats a hash map, and binding a name allocates
/// nothing; a scope past [`Scope::INDEX_FROM`] names also gets a hash index, or a block body of
/// thousands of distinct `let`s would be quadratic (each new name searched for in all earlier
/// ones). A name is bound at most once in a scope.
#[derive(Clone, Default)]
struct Scope<'p> {
    names: Vec<(&'p str, Value)>,
    index: Option<FastMap<&'p str, usize>>,
}

impl<'p> Scope<'p> {
    /// Names from which a scope is indexed.
    const INDEX_FROM: usize = 32;

    /// A scope binding `name` to `v`.
    fn one(name: &'p str, v: Value) -> Self {
        Scope { names: vec![(name, v)], index: None }
    }

    fn position(&self, name: &str) -> Option<usize> {
        match &self.index {
            Some(index) => index.get(name).copied(),
            None => self.names.iter().rposition(|(n, _)| *n == name),
        }
    }

    fn get(&self, name: &str) -> Option<&Value> {
        self.position(name).map(|i| &self.names[i].1)
    }

    fn get_mut(&mut self, name: &str) -> Option<&mut Value> {
        self.position(name).map(|i| &mut self.names[i].1)
    }

    /// Binds a name not bound in this scope yet.
    fn push(&mut self, name: &'p str, v: Value) {
        self.names.push((name, v));
        let at = self.names.len() - 1;
        match &mut self.index {
            Some(index) => {
                index.insert(name, at);
            }
            None if self.names.len() > Self::INDEX_FROM => {
                self.index =
                    Some(self.names.iter().enumerate().map(|(i, (n, _))| (*n, i)).collect());
            }
            None => {}
        }
    }
}

/// One block instance being elaborated.
struct Frame<'p> {
    module: usize,
    file: FileId,
    scopes: Vec<Scope<'p>>,
    prefix: String,
    loops: Vec<usize>,
    /// Names already used in this instance (full label or prefix -> times used).
    used: FastMap<String, usize>,
    /// Inside a labelled call: derived labels are shared by every instance, not made unique.
    tied: bool,
    /// The expression of the last `return` reached (for errors about the returned value).
    returned: Option<Span>,
}

impl<'p> Frame<'p> {
    /// A name not yet used in this instance: `name`, then `name_1`, `name_2`, ...
    fn unique(&mut self, name: String) -> String {
        let n = self.used.entry(name.clone()).or_insert(0);
        *n += 1;
        if *n == 1 {
            name
        } else {
            format!("{name}_{}", *n - 1)
        }
    }

    fn lookup(&self, name: &str) -> Option<&Value> {
        self.scopes.iter().rev().find_map(|s| s.get(name))
    }

    /// `let`: rebinds the nearest existing binding (so loop bodies carry values over), or
    /// defines the name in the innermost scope.
    fn assign(&mut self, name: &'p str, v: Value) {
        for s in self.scopes.iter_mut().rev() {
            if let Some(slot) = s.get_mut(name) {
                *slot = v;
                return;
            }
        }
        self.define(name, v);
    }

    fn define(&mut self, name: &'p str, v: Value) {
        if let Some(s) = self.scopes.last_mut() {
            match s.get_mut(name) {
                Some(slot) => *slot = v,
                None => s.push(name, v),
            }
        }
    }

    fn loop_suffix(&self) -> String {
        self.loops.iter().map(|i| format!("[{i}]")).collect()
    }
}

/// What a checked value is, for error messages; written out only when an error is reported
/// (formatting it for every argument of every call cost a tenth of the type stage).
#[derive(Clone, Copy)]
enum What<'a> {
    /// The value a block or network returns.
    Returned(&'a str),
    /// An argument of a call.
    Arg { param: &'a str, callee: &'a str },
    /// A `let` binding with a written type.
    Let(&'a str),
}

impl From<What<'_>> for Subject {
    fn from(w: What<'_>) -> Subject {
        match w {
            What::Returned(b) => Subject::Returned { block: b.into() },
            What::Arg { param, callee } => {
                Subject::Arg { param: param.into(), callee: callee.into() }
            }
            What::Let(name) => Subject::Let { name: name.into() },
        }
    }
}

/// A verdict on whether two symbolic values are equal for every architecture.
enum Verdict {
    Same,
    /// They differ under this assignment (empty when no label is involved).
    Differ(Vec<(LabelId, Const)>),
}

struct Elab<'p> {
    program: &'p Program,
    graph: Graph,
    errors: Vec<TypeLocated>,
    region: RegionId,
    depth: usize,
    /// The block calls being elaborated, outermost first (their places).
    calls: Vec<Loc>,
    /// Whether to record types, and of which file's expressions (`Some(None)`: all).
    record: Option<Option<FileId>>,
    types: Vec<TypeAt>,
    /// Operator applications that succeeded, by a hash of their [`CallKey`] (see [`Elab::call`]).
    applied: FastMap<u64, Vec<(CallKey, Applied)>>,
    /// Block instances that elaborated without error, by a hash of their [`CallKey`] (see
    /// [`Elab::replay`]).
    instances: FastMap<u64, Vec<(CallKey, Instance)>>,
    /// The IR's names, each made once.
    names: FastMap<String, Name>,
    /// Every use of a label so far, in order (the label and the choice that used it): what an
    /// instance does to the label table, replayed with it.
    label_uses: Vec<(LabelId, Loc)>,
}

/// A block instance as elaborated once: what it appended to the graph (nodes, regions, label
/// uses) and the value it returned, with what is needed to append the same again for another
/// call with the same [`CallKey`] (see [`Elab::replay`]).
struct Instance {
    /// Its nodes, regions and label uses: positions in the graph's arenas and in
    /// `Elab::label_uses`.
    nodes: std::ops::Range<usize>,
    regions: std::ops::Range<usize>,
    uses: std::ops::Range<usize>,
    /// The region of the call.
    region: RegionId,
    /// The tensor arguments, by parameter (nodes before the instance's own).
    args: Vec<Option<NodeId>>,
    /// What it returned.
    result: Value,
    /// The call depth it ran at: a deeper call might reach the recursion limit.
    depth: usize,
    /// The prefix of its derived labels and whether they were tied, when it used labels (then
    /// only a call with the same prefix, tied too, gets the same labels).
    labels: Option<(String, bool)>,
}

/// An operator or block and the arguments given to it, tensors by shape and scalars by value:
/// what an operator application's output shape, `require` checks and cost formulas depend on,
/// and (with the place's label prefix) what a block instance elaborates to.
#[derive(PartialEq)]
struct CallKey {
    op: ItemRef,
    args: Vec<Option<ArgKey>>,
}

#[derive(PartialEq)]
enum ArgKey {
    Tensor(Shape),
    Scalar(Sym),
}

/// What a successful operator application produced, apart from its tensor inputs.
struct Applied {
    op: Name,
    kind: Option<crate::ir::Op>,
    attrs: Attrs,
    shape: Shape,
    cost: Cost,
}

impl CallKey {
    /// The key of `op` (an operator or a block) applied to `given`; `None` when an argument is
    /// neither a tensor nor a scalar.
    fn new(
        op: ItemRef,
        given: &[Option<(Value, Span)>],
        shape: impl Fn(NodeId) -> Shape,
    ) -> Option<CallKey> {
        let mut args = Vec::with_capacity(given.len());
        for g in given {
            args.push(match g {
                None => None,
                Some((Value::Tensor(n), _)) => Some(ArgKey::Tensor(shape(*n))),
                Some((Value::Scalar(s), _)) => Some(ArgKey::Scalar(s.clone())),
                Some(_) => return None,
            });
        }
        Some(CallKey { op, args })
    }

    fn hash(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = FastHasher::default();
        self.op.hash(&mut h);
        for a in &self.args {
            match a {
                None => 0u8.hash(&mut h),
                Some(ArgKey::Tensor(shape)) => {
                    1u8.hash(&mut h);
                    shape.len().hash(&mut h);
                    shape.iter().for_each(|d| hash_sym(d, &mut h));
                }
                Some(ArgKey::Scalar(s)) => {
                    2u8.hash(&mut h);
                    hash_sym(s, &mut h);
                }
            }
        }
        h.finish()
    }
}

fn hash_sym(s: &Sym, h: &mut impl std::hash::Hasher) {
    use std::hash::Hash;
    std::mem::discriminant(s).hash(h);
    match s {
        Sym::Const(c) => {
            std::mem::discriminant(c).hash(h);
            match c {
                Const::Int(i) => i.hash(h),
                Const::Float(x) => x.to_bits().hash(h),
                Const::Bool(b) => b.hash(h),
                Const::Str(t) => t.hash(h),
            }
        }
        Sym::Label(l) => l.hash(h),
        Sym::Var(v) => v.hash(h),
        Sym::Unary(op, x) => {
            std::mem::discriminant(op).hash(h);
            hash_sym(x, h);
        }
        Sym::Binary(op, a, b) => {
            std::mem::discriminant(op).hash(h);
            hash_sym(a, h);
            hash_sym(b, h);
        }
        Sym::If(c, a, b) => {
            hash_sym(c, h);
            hash_sym(a, h);
            hash_sym(b, h);
        }
    }
}

type Assignment = Vec<(LabelId, Const)>;

impl<'p> Elab<'p> {
    fn new(program: &'p Program, name: &str) -> Self {
        let mut regions = Arena::default();
        let root = regions.append(
            Region { parent: None, kind: RegionKind::Root },
            Loc::new(FileId(0), Span::default()),
        );
        let graph = Graph {
            name: name.to_string(),
            nodes: Arena::default(),
            regions,
            inputs: Vec::new(),
            output: Handle::new(0),
            labels: LabelTable::default(),
            constraints: Vec::new(),
        };
        Elab {
            program,
            graph,
            errors: Vec::new(),
            region: root,
            depth: 0,
            calls: Vec::new(),
            record: None,
            types: Vec::new(),
            applied: FastMap::default(),
            instances: FastMap::default(),
            names: FastMap::default(),
            label_uses: Vec::new(),
        }
    }

    /// Whether the types of expressions written in `file` are recorded.
    fn records(&self, file: FileId) -> bool {
        self.record.is_some_and(|only| only.is_none_or(|only| only == file))
    }

    fn err(&mut self, error: TypeError) -> Value {
        self.errors.push(TypeLocated { error, calls: self.calls.clone() });
        Value::Poison
    }

    fn loc(&self, f: &Frame<'p>, span: Span) -> Loc {
        Loc::new(f.file, span)
    }

    fn node(&mut self, kind: NodeKind, shape: impl Into<Shape>, loc: Loc) -> NodeId {
        self.graph.nodes.append(Node { kind, shape: shape.into(), region: self.region }, loc)
    }

    fn shape(&self, n: NodeId) -> &Shape {
        &self.graph.nodes.get(n).shape
    }

    fn show_shape(&self, s: &[Sym]) -> String {
        self.graph.shape_text(s)
    }

    /// A shape with the labels of a counterexample filled in: `[n, 16, 26, 26]`.
    fn show_shape_under(&self, s: &[Sym], a: &Assignment) -> String {
        let value = |l: LabelId| a.iter().find(|(x, _)| *x == l).map(|(_, v)| v.clone());
        let filled: Vec<Sym> = s.iter().map(|d| d.substitute(&value)).collect();
        self.show_shape(&filled)
    }

    fn show_assignment(&self, a: &Assignment) -> Option<String> {
        if a.is_empty() {
            return None;
        }
        let parts: Vec<String> =
            a.iter().map(|(l, v)| format!("{} = {v}", self.graph.label_name(*l))).collect();
        Some(match parts.len() {
            1 => format!("with {}", parts[0]),
            n => format!("with {} and {}", parts[..n - 1].join(", "), parts[n - 1]),
        })
    }

    // ----------------------------------------------------------------------------------------
    // Deciding facts about symbolic values by enumerating the labels involved.
    // ----------------------------------------------------------------------------------------

    fn label_values(&self, l: LabelId) -> Vec<Const> {
        match &self.graph.labels.get(l).domain {
            Domain::Values { values } => values.clone(),
            _ => Vec::new(),
        }
    }

    /// Calls `f` on assignments of `labels` (all of them, or the first [`ENUMERATION_LIMIT`])
    /// until it returns `Some`.
    fn search<T>(
        &self,
        labels: &[LabelId],
        mut f: impl FnMut(&dyn Fn(LabelId) -> Const) -> Option<T>,
    ) -> Option<(Assignment, T)> {
        let domains: Vec<Vec<Const>> = labels.iter().map(|l| self.label_values(*l)).collect();
        if domains.iter().any(|d| d.is_empty()) {
            return None;
        }
        let mut idx = vec![0usize; labels.len()];
        for _ in 0..ENUMERATION_LIMIT {
            let lookup = |l: LabelId| {
                let i = labels.iter().position(|x| *x == l).unwrap_or(0);
                domains[i][idx[i]].clone()
            };
            if let Some(t) = f(&lookup) {
                let a = labels
                    .iter()
                    .zip(&idx)
                    .map(|(l, i)| {
                        (*l, domains[labels.iter().position(|x| x == l).unwrap_or(0)][*i].clone())
                    })
                    .collect();
                return Some((a, t));
            }
            // Next combination (mixed radix).
            let mut k = 0;
            loop {
                if k == idx.len() {
                    return None;
                }
                idx[k] += 1;
                if idx[k] < domains[k].len() {
                    break;
                }
                idx[k] = 0;
                k += 1;
            }
        }
        None
    }

    /// Sample values for free symbols (the batch size): equalities must hold for all of them.
    const VAR_SAMPLES: [i64; 4] = [1, 2, 3, 7];

    /// The most label combinations [`Elab::normalize`] evaluates.
    const NORMALIZE_LIMIT: usize = 64;

    /// A dimension in a smaller form with the same value under every architecture: a constant
    /// when it takes one value under every combination of its labels (`(h + 2 * (k / 2) - k) /
    /// 1 + 1` is `h` for odd kernel sizes `k`); without this, spatial sizes after a searched
    /// kernel size carry every earlier block's kernel label, and checks enumerate all their
    /// combinations. Otherwise, when smaller, a table of nested
    /// `if l == v then ... else ...` over its labels (a width choice's channel counts after
    /// `make_divisible` are a table of five entries, not a nested expression). Left as it is
    /// when it has free symbols, evaluation fails, or its labels have more than
    /// [`Elab::NORMALIZE_LIMIT`] combinations.
    fn normalize(&self, s: Sym) -> Sym {
        if matches!(s, Sym::Const(_) | Sym::Label(_)) || s.has_vars() {
            return s;
        }
        let labels = s.labels();
        let domains: Vec<Vec<Const>> = labels.iter().map(|l| self.label_values(*l)).collect();
        let combos = domains.iter().try_fold(1usize, |acc, d| {
            acc.checked_mul(d.len()).filter(|n| *n <= Self::NORMALIZE_LIMIT)
        });
        if domains.iter().any(|d| d.is_empty()) || combos.is_none() {
            return s;
        }
        let mut values: Vec<Const> = Vec::new();
        let found = self.search(&labels, |lookup| match s.eval(lookup, &|_: &str| None) {
            Ok(c) => {
                values.push(c);
                None
            }
            Err(_) => Some(()),
        });
        if found.is_some() || values.is_empty() {
            return s;
        }
        if values.iter().all(|v| *v == values[0]) {
            return Sym::Const(values[0].clone());
        }
        // A table of `if l == v then ... else ...` over the labels, when that is smaller.
        let sizes: Vec<usize> = domains.iter().map(Vec::len).collect();
        match table(&labels, &domains, &sizes, &values, labels.len(), 0) {
            Some(t) if sym_size(&t) < sym_size(&s) => t,
            _ => s,
        }
    }

    fn compare(&self, a: &Sym, b: &Sym) -> Verdict {
        if a == b {
            return Verdict::Same;
        }
        let mut labels = a.labels();
        labels.extend(b.labels());
        labels.sort();
        labels.dedup();
        for sample in Self::VAR_SAMPLES {
            let var = |_: &str| Some(sample);
            let found =
                self.search(&labels, |lookup| match (a.eval(lookup, &var), b.eval(lookup, &var)) {
                    (Ok(x), Ok(y)) if x == y => None,
                    (Ok(Const::Int(x)), Ok(Const::Float(y)))
                    | (Ok(Const::Float(y)), Ok(Const::Int(x)))
                        if (x as f64) == y =>
                    {
                        None
                    }
                    (Err(_), _) | (_, Err(_)) => None,
                    _ => Some(()),
                });
            if let Some((assignment, ())) = found {
                return Verdict::Differ(assignment);
            }
        }
        Verdict::Same
    }

    /// Finds an assignment under which `pred` fails for `s` (evaluation errors count as failures).
    fn refute(
        &self,
        s: &Sym,
        pred: impl Fn(&Const) -> bool,
    ) -> Option<(Assignment, Result<Const, EvalError>)> {
        let labels = s.labels();
        let var = |_: &str| Some(1);
        self.search(&labels, |lookup| match s.eval(lookup, &var) {
            Ok(c) if pred(&c) => None,
            other => Some(other),
        })
    }

    fn scalar_type(&self, s: &Sym) -> Option<ScalarType> {
        let labels = s.labels();
        let var = |_: &str| Some(1);
        let first = |l: LabelId| self.label_values(l).first().cloned().unwrap_or(Const::Int(0));
        let _ = labels;
        s.eval(&first, &var).ok().map(|c| c.ty())
    }

    // ----------------------------------------------------------------------------------------
    // Labels.
    // ----------------------------------------------------------------------------------------

    /// Finds or creates the label of a choice: derived from its place unless written, checked
    /// against an earlier use of the same label (same kind and domain).
    #[allow(clippy::too_many_arguments)]
    fn label(
        &mut self,
        f: &mut Frame<'p>,
        naming: &'p ast::ChoiceName,
        hint: Option<&str>,
        default: &str,
        kind: LabelKind,
        domain: Domain,
        span: Span,
    ) -> Option<(LabelId, String)> {
        let loc = self.loc(f, span);
        let local = naming
            .name
            .as_ref()
            .map(|n| n.name.clone())
            .or(hint.map(str::to_string))
            .unwrap_or_else(|| default.to_string());
        if let Some(l) = &naming.label {
            if let Some(id) = self.graph.labels.find(&l.value) {
                let info = self.graph.labels.get(id);
                if info.kind != kind || info.domain != domain {
                    let (first, first_domain) = (info.uses[0], info.domain.describe());
                    self.err(TypeError::LabelConflict {
                        at: loc,
                        label: l.value.clone(),
                        domain: domain.describe(),
                        first,
                        first_domain,
                    });
                    return None;
                }
                self.use_label(id, loc);
                return Some((id, local));
            }
            return Some((
                self.new_label(
                    LabelInfo {
                        name: l.value.clone(),
                        kind,
                        domain,
                        explicit: true,
                        uses: Vec::new(),
                    },
                    loc,
                ),
                local,
            ));
        }
        let name = f.unique(format!("{}{}{}", f.prefix, local, f.loop_suffix()));
        if f.tied {
            // Inside a labelled call: the same name in another instance is the same decision.
            if let Some(id) = self.graph.labels.find(&name) {
                let info = self.graph.labels.get(id);
                if info.kind != kind || info.domain != domain {
                    let (first, first_domain) = (info.uses[0], info.domain.describe());
                    self.err(TypeError::LabelConflict {
                        at: loc,
                        label: name,
                        domain: domain.describe(),
                        first,
                        first_domain,
                    });
                    return None;
                }
                self.use_label(id, loc);
                return Some((id, local));
            }
        }
        Some((
            self.new_label(
                LabelInfo { name, kind, domain, explicit: f.tied, uses: Vec::new() },
                loc,
            ),
            local,
        ))
    }

    /// The IR name with this text, shared with every other use of it.
    fn name(&mut self, text: &str) -> Name {
        if let Some(n) = self.names.get(text) {
            return n.clone();
        }
        let n = Name::new(text);
        self.names.insert(text.to_string(), n.clone());
        n
    }

    /// Records a use of label `id` by the choice at `loc`.
    fn use_label(&mut self, id: LabelId, loc: Loc) {
        self.graph.labels.labels[id.0 as usize].uses.push(loc);
        self.label_uses.push((id, loc));
    }

    /// Adds a label, first used by the choice at `loc`.
    fn new_label(&mut self, info: LabelInfo, loc: Loc) -> LabelId {
        self.graph.labels.labels.push(info);
        let id = LabelId(self.graph.labels.len() as u32 - 1);
        self.use_label(id, loc);
        id
    }

    // ----------------------------------------------------------------------------------------
    // Networks, calls and binding.
    // ----------------------------------------------------------------------------------------

    fn network(&mut self, r: ItemRef) -> bool {
        let Item::Block(b) = self.program.item(r) else { return false };
        let file = self.program.modules[r.module].file;
        let mut f = Frame {
            module: r.module,
            file,
            scopes: vec![Scope::default()],
            prefix: String::new(),
            loops: Vec::new(),
            used: FastMap::default(),
            tied: false,
            returned: None,
        };
        let mut n_inputs = 0;
        for p in &b.params {
            match &p.ty {
                TypeExpr::Tensor { dims, .. } => {
                    let mut shape = Vec::new();
                    for d in dims {
                        match d {
                            Dim::Expr(Expr { kind: ExprKind::Name(id), .. })
                                if f.lookup(&id.name).is_none() =>
                            {
                                let s = Sym::Var(self.name(&id.name));
                                f.define(&id.name, Value::Scalar(s.clone()));
                                shape.push(s);
                            }
                            Dim::Expr(e) => match self.expr(&mut f, e, None) {
                                Value::Scalar(s) => {
                                    if let Some(v) = s.as_int().filter(|v| *v < 1) {
                                        self.err(TypeError::WrongKind {
                                            at: self.loc(&f, e.span),
                                            expected: Kind::AtLeastOne,
                                            found: Kind::Int(v),
                                            what: Subject::InputDim {
                                                dim: shape.len(),
                                                input: p.name.name.clone(),
                                            },
                                        });
                                        return false;
                                    }
                                    shape.push(s)
                                }
                                _ => return false,
                            },
                            Dim::Rest(id) => {
                                self.err(TypeError::NotConstant {
                                    at: self.loc(&f, id.span),
                                    what: Subject::NetworkInputShape,
                                });
                                return false;
                            }
                        }
                    }
                    let node = self.node(
                        NodeKind::Input { index: n_inputs, name: p.name.name.clone() },
                        shape,
                        self.loc(&f, p.span),
                    );
                    n_inputs += 1;
                    self.graph.inputs.push(node);
                    f.define(&p.name.name, Value::Tensor(node));
                }
                _ => match &p.default {
                    Some(d) => {
                        let v = self.expr(&mut f, d, None);
                        f.define(&p.name.name, v);
                    }
                    None => {
                        self.err(TypeError::NetworkParam {
                            at: self.loc(&f, p.span),
                            name: p.name.name.clone(),
                        });
                        return false;
                    }
                },
            }
        }
        for c in &b.constraints {
            self.constraint(&mut f, c);
        }
        // The declared return type speaks of the signature's names, not of the body's `let`s
        // (a body may rebind `w` to a tensor while the return type means the width `w`).
        let signature = f.scopes.clone();
        let Some(ret) = self.stmts(&mut f, &b.body.stmts) else { return false };
        f.scopes = signature;
        match ret {
            Value::Tensor(n) => {
                let what = What::Returned(&b.name.name);
                let at = f.returned.unwrap_or(b.body.span);
                if !self.check_type(&mut f, &b.ret, &Value::Tensor(n), false, what, at) {
                    return false;
                }
                self.graph.output = n;
                true
            }
            Value::Poison => false,
            other => {
                self.err(TypeError::WrongKind {
                    at: self.loc(&f, b.name.span),
                    expected: Kind::Tensor,
                    found: other.kind_name(),
                    what: Subject::NetworkReturn { network: b.name.name.clone() },
                });
                false
            }
        }
    }

    fn constraint(&mut self, f: &mut Frame<'p>, c: &'p Expr) {
        let loc = self.loc(f, c.span);
        let measure = |e: &Expr| match &e.kind {
            ExprKind::Name(id) if id.name == "params" => Some(Measure::Params),
            ExprKind::Name(id) if id.name == "flops" => Some(Measure::Flops),
            _ => None,
        };
        if let ExprKind::Binary { op, lhs, rhs, .. } = &c.kind {
            let flipped = |op: BinOp| match op {
                BinOp::Lt => BinOp::Gt,
                BinOp::Le => BinOp::Ge,
                BinOp::Gt => BinOp::Lt,
                BinOp::Ge => BinOp::Le,
                o => o,
            };
            let (m, bound_expr, op) = match (measure(lhs), measure(rhs)) {
                (Some(m), None) => (m, rhs, *op),
                (None, Some(m)) => (m, lhs, flipped(*op)),
                _ => {
                    self.err(TypeError::BadConstraint { at: loc });
                    return;
                }
            };
            if matches!(op, BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge | BinOp::Eq | BinOp::Ne) {
                if let Value::Scalar(Sym::Const(k)) = self.expr(f, bound_expr, None) {
                    if let Some(bound) = k.as_f64() {
                        self.graph.constraints.push(Constraint { measure: m, op, bound, loc });
                        return;
                    }
                }
            }
        }
        self.err(TypeError::BadConstraint { at: loc });
    }

    /// Binds or checks `value` against the written type `ty` in frame `f`. With `binds`, a bare
    /// unbound name in a tensor type binds a dimension symbol. Returns false after reporting.
    fn check_type(
        &mut self,
        f: &mut Frame<'p>,
        ty: &'p TypeExpr,
        value: &Value,
        binds: bool,
        what: What<'_>,
        at: Span,
    ) -> bool {
        if matches!(value, Value::Poison) {
            return false;
        }
        match ty {
            TypeExpr::Tensor { dims, span } => {
                let Value::Tensor(n) = value else {
                    self.err(TypeError::WrongKind {
                        at: self.loc(f, at),
                        expected: Kind::Tensor,
                        found: value.kind_name(),
                        what: what.into(),
                    });
                    return false;
                };
                let shape = self.shape(*n).clone();
                let rest = dims.iter().position(|d| matches!(d, Dim::Rest(_)));
                let fixed = dims.len() - usize::from(rest.is_some());
                let rank_ok =
                    if rest.is_some() { shape.len() >= fixed } else { shape.len() == fixed };
                if !rank_ok {
                    self.err(TypeError::RankMismatch {
                        at: self.loc(f, at),
                        what: what.into(),
                        expected: fixed,
                        at_least: rest.is_some(),
                        found: shape.len(),
                        shape: self.show_shape(&shape),
                        declared: self.loc(f, *span),
                    });
                    return false;
                }
                let mut actual_i = 0;
                for (di, d) in dims.iter().enumerate() {
                    match d {
                        Dim::Rest(id) => {
                            let take = shape.len() - fixed;
                            let dims_v = shape[actual_i..actual_i + take].to_vec();
                            actual_i += take;
                            match f.lookup(&id.name).cloned() {
                                None if binds => f.define(&id.name, Value::Dims(dims_v)),
                                Some(Value::Dims(prev)) => {
                                    if prev.len() != dims_v.len()
                                        || prev.iter().zip(&dims_v).any(|(a, b)| {
                                            !matches!(self.compare(a, b), Verdict::Same)
                                        })
                                    {
                                        self.err(TypeError::ShapeMismatch {
                                            at: self.loc(f, at),
                                            what: what.into(),
                                            dim: di,
                                            expected: self.show_shape(&prev),
                                            found: self.show_shape(&dims_v),
                                            counterexample: None,
                                            declared: self.loc(f, id.span),
                                        });
                                        return false;
                                    }
                                }
                                _ => return false,
                            }
                        }
                        Dim::Expr(e) => {
                            let actual = shape[actual_i].clone();
                            actual_i += 1;
                            if let ExprKind::Name(id) = &e.kind {
                                if binds && f.lookup(&id.name).is_none() {
                                    f.define(&id.name, Value::Scalar(actual));
                                    continue;
                                }
                            }
                            let expected = match self.expr(f, e, None) {
                                Value::Scalar(s) => s,
                                Value::Poison => return false,
                                other => {
                                    self.err(TypeError::WrongKind {
                                        at: self.loc(f, e.span),
                                        expected: Kind::IntegerDim,
                                        found: other.kind_name(),
                                        what: Subject::TensorDim,
                                    });
                                    return false;
                                }
                            };
                            if let Verdict::Differ(a) = self.compare(&expected, &actual) {
                                self.err(TypeError::ShapeMismatch {
                                    at: self.loc(f, at),
                                    what: what.into(),
                                    dim: di,
                                    expected: self
                                        .show_shape_under(std::slice::from_ref(&expected), &a)
                                        .trim_matches(['[', ']'])
                                        .to_string(),
                                    found: self
                                        .show_shape_under(std::slice::from_ref(&actual), &a)
                                        .trim_matches(['[', ']'])
                                        .to_string(),
                                    counterexample: self.show_assignment(&a),
                                    declared: self.loc(f, e.span),
                                });
                                return false;
                            }
                        }
                    }
                }
                true
            }
            TypeExpr::Named { name, .. } => {
                let ok = match (name.name.as_str(), value) {
                    ("list", Value::List(_) | Value::Dims(_)) => true,
                    ("list", _) => false,
                    (t, Value::Scalar(s)) => match self.scalar_type(s) {
                        None => true,
                        Some(ScalarType::Int) => t == "int" || t == "float",
                        Some(ScalarType::Float) => t == "float",
                        Some(ScalarType::Bool) => t == "bool",
                        Some(ScalarType::Str) => t == "str",
                    },
                    _ => false,
                };
                if !ok {
                    let found = match value {
                        Value::Scalar(s) => {
                            self.scalar_type(s).map_or(Kind::Scalar, |t| Kind::Type(t.to_string()))
                        }
                        v => v.kind_name(),
                    };
                    self.err(TypeError::WrongKind {
                        at: self.loc(f, at),
                        expected: Kind::Written(name.name.to_string()),
                        found,
                        what: what.into(),
                    });
                }
                ok
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn call(
        &mut self,
        f: &mut Frame<'p>,
        callee: &'p ast::Ident,
        args: &'p [ast::Arg],
        call_label: Option<&'p ast::StrLit>,
        span: Span,
        hint: Option<&str>,
    ) -> Value {
        let Some(&r) = self.program.modules[f.module].scope.get(&callee.name) else {
            return Value::Poison;
        };
        let is_block = matches!(self.program.item(r), Item::Block(_));
        if is_block && self.depth >= MAX_CALL_DEPTH {
            return self
                .err(TypeError::Recursion { at: self.loc(f, span), block: callee.name.clone() });
        }
        let arg_values: Vec<(Option<&'p str>, Value, Span)> = args
            .iter()
            .map(|a| {
                (a.name.as_ref().map(|n| n.name.as_str()), self.expr(f, &a.value, None), a.span)
            })
            .collect();
        if arg_values.iter().any(|(_, v, _)| matches!(v, Value::Poison)) {
            return Value::Poison;
        }
        let item = self.program.item(r);
        let params = match item {
            Item::Block(b) => &b.params,
            Item::Op(o) => &o.params,
            Item::Import(_) => return Value::Poison,
        };
        // Positional arguments fill parameters in order; keywords by name (checked earlier).
        let mut given: Vec<Option<(Value, Span)>> = vec![None; params.len()];
        let mut pos = 0;
        for (name, v, s) in arg_values {
            let slot = match name {
                Some(n) => params.iter().position(|p| p.name.name == n),
                None => {
                    pos += 1;
                    Some(pos - 1)
                }
            };
            if let Some(i) = slot.filter(|i| *i < params.len()) {
                given[i] = Some((v, s));
            }
        }
        let callee_module = r.module;
        let callee_file = self.program.modules[callee_module].file;
        // An operator applied to arguments it succeeded on before (same shapes, same scalars)
        // gives the same output shape and costs: reuse them, unless the types of the
        // operator's own expressions are being recorded.
        let mut key = None;
        if matches!(item, Item::Op(_)) && !self.records(callee_file) {
            key = CallKey::new(r, &given, |n| self.shape(n).clone()).map(|k| {
                let h = k.hash();
                (k, h)
            });
            if let Some((k, h)) = &key {
                if let Some((_, a)) =
                    self.applied.get(h).and_then(|v| v.iter().find(|(x, _)| x == k))
                {
                    let inputs = given.iter().filter_map(|g| match g {
                        Some((Value::Tensor(n), _)) => Some(*n),
                        _ => None,
                    });
                    let kind = NodeKind::Op {
                        op: a.op.clone(),
                        kind: a.kind,
                        inputs: inputs.collect(),
                        attrs: a.attrs.clone(),
                        cost: a.cost.clone(),
                    };
                    let shape = a.shape.clone();
                    let n = self.node(kind, shape, self.loc(f, span));
                    return Value::Tensor(n);
                }
            }
        }
        let before = (
            self.errors.len(),
            self.graph.nodes.len(),
            self.graph.labels.len(),
            self.graph.regions.len(),
        );
        let given_tensors =
            given.iter().filter(|g| matches!(g, Some((Value::Tensor(_), _)))).count();
        // Blocks open a new level of derived labels; operators have no choices inside.
        let segment = match (item, call_label) {
            (Item::Block(_), Some(l)) => l.value.clone(),
            (Item::Block(_), None) => {
                let base = hint.map(str::to_string).unwrap_or_else(|| callee.name.clone());
                f.unique(format!("{}{}{}", f.prefix, base, f.loop_suffix()))
            }
            _ => String::new(),
        };
        // `label ""` on a call keeps the labels inside as they are (no prefix): an imported
        // space's labels stay those of its own architecture files.
        let prefix = if segment.is_empty() { String::new() } else { format!("{segment}/") };
        let tied = f.tied || call_label.is_some();
        // A block instance elaborated before with the same arguments: append what it appended.
        let mut instance_key = None;
        if is_block && self.record.is_none() {
            if let Some(k) = CallKey::new(r, &given, |n| self.shape(n).clone()) {
                let h = k.hash();
                if let Some(v) = self.replay(h, &k, &given, &prefix, tied) {
                    return v;
                }
                let args: Vec<Option<NodeId>> = given
                    .iter()
                    .map(|g| match g {
                        Some((Value::Tensor(n), _)) => Some(*n),
                        _ => None,
                    })
                    .collect();
                let start = (
                    self.graph.nodes.len(),
                    self.graph.regions.len(),
                    self.label_uses.len(),
                    self.errors.len(),
                    self.region,
                );
                instance_key = Some((k, h, args, start));
            }
        }
        let mut inner = Frame {
            module: callee_module,
            file: callee_file,
            scopes: vec![Scope { names: Vec::with_capacity(params.len()), index: None }],
            prefix,
            loops: Vec::new(),
            used: FastMap::default(),
            tied,
            returned: None,
        };
        let mut inputs = Inputs::new();
        let mut attrs = Vec::new();
        for (p, g) in params.iter().zip(given) {
            let (value, vspan, vfile) = match g {
                Some((v, s)) => (v, s, f.file),
                None => match &p.default {
                    Some(d) => (self.expr(&mut inner, d, None), d.span, callee_file),
                    None => return Value::Poison,
                },
            };
            if matches!(value, Value::Poison) {
                return Value::Poison;
            }
            // An operator's scalar arguments become its node's attributes: in their smaller
            // form (channel counts rounded by `make_divisible` over a width choice).
            let value = match (item, value) {
                (Item::Op(_), Value::Scalar(s)) => Value::Scalar(self.normalize(s)),
                (_, v) => v,
            };
            let what = What::Arg { param: &p.name.name, callee: &callee.name };
            // Mismatches are reported at the argument (in the caller's file).
            let saved = inner.file;
            inner.file = vfile;
            let ok = self.check_type_at(&mut inner, &p.ty, &value, what, vspan, callee_file);
            inner.file = saved;
            if !ok {
                return Value::Poison;
            }
            match &value {
                Value::Tensor(n) => inputs.push(*n),
                Value::Scalar(s) => attrs.push((self.name(&p.name.name), s.clone())),
                _ => {}
            }
            inner.define(&p.name.name, value);
        }
        self.depth += usize::from(is_block);
        let result = match item {
            Item::Op(o) => {
                let n_inputs = inputs.len();
                let v = self.apply_op(&mut inner, o, inputs, attrs, self.loc(f, span));
                // Remembered only when it made one node and nothing else (no error, no label,
                // no region) and every tensor input was an argument.
                let after = (
                    self.errors.len(),
                    self.graph.nodes.len(),
                    self.graph.labels.len(),
                    self.graph.regions.len(),
                );
                if let (Some((k, h)), Value::Tensor(n)) = (key, &v) {
                    if after == (before.0, before.1 + 1, before.2, before.3)
                        && n_inputs == given_tensors
                    {
                        let node = self.graph.nodes.get(*n);
                        if let NodeKind::Op { op, kind, attrs, cost, .. } = &node.kind {
                            let a = Applied {
                                op: op.clone(),
                                kind: *kind,
                                attrs: attrs.clone(),
                                shape: node.shape.clone(),
                                cost: cost.clone(),
                            };
                            self.applied.entry(h).or_default().push((k, a));
                        }
                    }
                }
                v
            }
            Item::Block(b) => {
                // The return type is read in the signature's scope (see `network`).
                let signature = inner.scopes.clone();
                self.calls.push(self.loc(f, span));
                let ret = self.stmts(&mut inner, &b.body.stmts);
                inner.scopes = signature;
                match ret {
                    Some(v @ Value::Tensor(_)) => {
                        let what = What::Returned(&b.name.name);
                        let at = inner.returned.unwrap_or(b.ret.span());
                        if self.check_type(&mut inner, &b.ret, &v, false, what, at) {
                            v
                        } else {
                            Value::Poison
                        }
                    }
                    Some(v @ (Value::Scalar(_) | Value::List(_))) => {
                        let what = What::Returned(&b.name.name);
                        let at = inner.returned.unwrap_or(b.ret.span());
                        if self.check_type(&mut inner, &b.ret, &v, false, what, at) {
                            v
                        } else {
                            Value::Poison
                        }
                    }
                    _ => Value::Poison,
                }
            }
            Item::Import(_) => Value::Poison,
        };
        if is_block {
            self.calls.pop();
        }
        self.depth -= usize::from(is_block);
        if let Some((k, h, args, (nodes, regions, uses, errors, region))) = instance_key {
            if self.errors.len() == errors {
                let labels = (uses < self.label_uses.len()).then_some((inner.prefix, inner.tied));
                let instance = Instance {
                    nodes: nodes..self.graph.nodes.len(),
                    regions: regions..self.graph.regions.len(),
                    uses: uses..self.label_uses.len(),
                    region,
                    args,
                    result: result.clone(),
                    depth: self.depth,
                    labels,
                };
                self.remember(k, h, instance);
            }
        }
        result
    }

    /// Keeps a block instance for [`Elab::replay`] when it can be replayed: it returned a value
    /// without error, its labels (if any) are tied to its prefix, its tensor arguments are
    /// distinct nodes, and its nodes read only those arguments and its own nodes, in the
    /// call's region or its own.
    fn remember(&mut self, k: CallKey, h: u64, inst: Instance) {
        if inst.labels.as_ref().is_some_and(|(_, tied)| !tied) || !value_replayable(&inst.result) {
            return;
        }
        let args: Vec<NodeId> = inst.args.iter().flatten().copied().collect();
        if (1..args.len()).any(|i| args[..i].contains(&args[i])) {
            return;
        }
        let known_node = |n: NodeId| inst.nodes.contains(&n.index()) || args.contains(&n);
        let known_region = |r: RegionId| r == inst.region || inst.regions.contains(&r.index());
        for i in inst.nodes.clone() {
            let node = self.graph.nodes.get(Handle::new(i));
            if !known_region(node.region) || !node.kind.each_input().all(known_node) {
                return;
            }
        }
        for i in inst.regions.clone() {
            if !self.graph.regions.get(Handle::new(i)).parent.is_some_and(known_region) {
                return;
            }
        }
        if !value_nodes(&inst.result).all(known_node) {
            return;
        }
        self.instances.entry(h).or_default().push((k, inst));
    }

    /// Appends to the graph what an earlier instance of the same block with the same arguments
    /// appended ([`Elab::remember`]), its nodes reading this call's arguments and placed in this
    /// call's region, and replays its label uses; returns the instance's value. `None` when no
    /// earlier instance applies: none with this key, none elaborated at this call depth or
    /// shallower, or its labels were derived under another prefix.
    fn replay(
        &mut self,
        h: u64,
        k: &CallKey,
        given: &[Option<(Value, Span)>],
        prefix: &str,
        tied: bool,
    ) -> Option<Value> {
        let inst = self.instances.get(&h)?.iter().find_map(|(x, inst)| {
            let labels_ok = inst.labels.as_ref().is_none_or(|(p, t)| p == prefix && *t == tied);
            (x == k && labels_ok && self.depth <= inst.depth).then_some(inst)
        })?;
        let (nodes, regions, uses, old_region) =
            (inst.nodes.clone(), inst.regions.clone(), inst.uses.clone(), inst.region);
        let mut args: Vec<(NodeId, NodeId)> = Vec::new();
        for (old, new) in inst.args.iter().zip(given) {
            if let (Some(old), Some((Value::Tensor(new), _))) = (old, new) {
                args.push((*old, *new));
            }
        }
        let result = inst.result.clone();
        let node_base = self.graph.nodes.len();
        let region_base = self.graph.regions.len();
        let node = |n: NodeId| match args.iter().find(|(old, _)| *old == n) {
            Some((_, new)) => *new,
            None => Handle::new(n.index() - nodes.start + node_base),
        };
        let caller = self.region;
        let region = |r: RegionId| {
            if r == old_region {
                caller
            } else {
                Handle::new(r.index() - regions.start + region_base)
            }
        };
        for i in regions.clone() {
            let h = Handle::new(i);
            let old = self.graph.regions.get(h);
            let new = Region { parent: old.parent.map(region), kind: old.kind.clone() };
            let loc = self.graph.regions.loc(h);
            self.graph.regions.append(new, loc);
        }
        for i in nodes.clone() {
            let h = Handle::new(i);
            let old = self.graph.nodes.get(h);
            let mut kind = old.kind.clone();
            kind.map_inputs(node);
            let new = Node { kind, shape: old.shape.clone(), region: region(old.region) };
            let loc = self.graph.nodes.loc(h);
            self.graph.nodes.append(new, loc);
        }
        for i in uses {
            let (id, loc) = self.label_uses[i];
            self.use_label(id, loc);
        }
        Some(map_value(result, &node))
    }

    /// [`Self::check_type`] where the type is written in `type_file` but the value in
    /// `inner.file`: dimension expressions are evaluated in the callee's frame.
    fn check_type_at(
        &mut self,
        inner: &mut Frame<'p>,
        ty: &'p TypeExpr,
        value: &Value,
        what: What<'_>,
        at: Span,
        type_file: FileId,
    ) -> bool {
        let value_file = inner.file;
        let n_errors = self.errors.len();
        inner.file = type_file;
        let ok = self.check_type(inner, ty, value, true, what, at);
        inner.file = value_file;
        // The primary location is the argument, in the caller's file.
        for e in &mut self.errors[n_errors..] {
            e.error.set_primary_file(value_file, at);
        }
        ok
    }

    fn apply_op(
        &mut self,
        f: &mut Frame<'p>,
        o: &'p ast::OpDecl,
        inputs: Inputs,
        attrs: Vec<(Name, Sym)>,
        call: Loc,
    ) -> Value {
        for c in &o.clauses {
            if let ast::OpClause::Require { cond, message, span } = c {
                let Value::Scalar(s) = self.expr(f, cond, None) else { return Value::Poison };
                if let Some((a, _)) = self.refute(&s, |c| *c == Const::Bool(true)) {
                    return self.err(TypeError::RequireFailed {
                        at: call,
                        op: o.name.name.clone(),
                        message: message
                            .as_ref()
                            .map(|m| m.value.clone())
                            .unwrap_or_else(|| "a requirement does not hold".into()),
                        counterexample: self.show_assignment(&a),
                        clause: self.loc(f, *span),
                    });
                }
            }
        }
        let mut measures = (Sym::int(0), Sym::int(0));
        for c in &o.clauses {
            if let ast::OpClause::Measure { name, value, .. } = c {
                let Value::Scalar(s) = self.expr(f, value, None) else { return Value::Poison };
                if name.name == "params" {
                    measures.0 = s;
                } else {
                    measures.1 = s;
                }
            }
        }
        let TypeExpr::Tensor { dims, .. } = &o.ret else {
            return self.err(TypeError::WrongKind {
                at: self.loc(f, o.ret.span()),
                expected: Kind::TensorType,
                found: Kind::ScalarType,
                what: Subject::OperatorOutput { op: o.name.name.to_string() },
            });
        };
        let mut shape = Vec::new();
        for d in dims {
            match d {
                Dim::Rest(id) => match f.lookup(&id.name) {
                    Some(Value::Dims(ds)) => shape.extend(ds.iter().cloned()),
                    _ => return Value::Poison,
                },
                Dim::Expr(e) => match self.expr(f, e, None) {
                    Value::Scalar(s) => shape.push(self.normalize(s)),
                    _ => return Value::Poison,
                },
            }
        }
        for (i, d) in shape.iter().enumerate().skip(1) {
            if let Some((a, _)) = self.refute(d, |c| matches!(c, Const::Int(v) if *v >= 1)) {
                return self.err(TypeError::EmptyDim {
                    at: call,
                    op: o.name.name.clone(),
                    shape: self.show_shape_under(&shape, &a),
                    dim: i,
                    counterexample: self.show_assignment(&a),
                });
            }
        }
        let op = self.name(&o.name.name);
        let node = self.node(
            NodeKind::Op {
                kind: crate::ir::Op::from_name(&op),
                op,
                inputs,
                attrs: attrs.into(),
                cost: std::sync::Arc::new(OpCost { params: measures.0, flops: measures.1 }),
            },
            shape,
            call,
        );
        Value::Tensor(node)
    }

    // ----------------------------------------------------------------------------------------
    // Statements and expressions.
    // ----------------------------------------------------------------------------------------

    /// Runs statements; returns the value of the `return` reached, if any.
    fn stmts(&mut self, f: &mut Frame<'p>, stmts: &'p [Stmt]) -> Option<Value> {
        for s in stmts {
            match s {
                Stmt::Let { name, ty, value, span, .. } => {
                    let v = self.expr(f, value, Some(&name.name));
                    if let Some(t) = ty {
                        if !self.check_type(f, t, &v, false, What::Let(&name.name), *span) {
                            f.assign(&name.name, Value::Poison);
                            continue;
                        }
                    }
                    f.assign(&name.name, v);
                }
                Stmt::For { var, iter, body, .. } => {
                    let items = match self.expr(f, iter, None) {
                        Value::List(items) => items,
                        Value::Poison => continue,
                        other => {
                            self.err(TypeError::WrongKind {
                                at: self.loc(f, iter.span),
                                expected: Kind::ListOrRange,
                                found: other.kind_name(),
                                what: Subject::ForRange,
                            });
                            continue;
                        }
                    };
                    for (j, item) in items.into_iter().enumerate() {
                        f.scopes.push(Scope::one(var.name.as_str(), item));
                        f.loops.push(j);
                        let r = self.stmts(f, &body.stmts);
                        f.loops.pop();
                        f.scopes.pop();
                        if r.is_some() {
                            return r;
                        }
                    }
                }
                Stmt::Return { value, .. } => {
                    f.returned = Some(value.span);
                    return Some(self.expr(f, value, None));
                }
            }
        }
        None
    }

    fn scalar(&mut self, f: &Frame<'p>, v: Value, at: Span, what: Subject) -> Option<Sym> {
        match v {
            Value::Scalar(s) => Some(s),
            Value::Poison => None,
            other => {
                self.err(TypeError::WrongKind {
                    at: self.loc(f, at),
                    expected: Kind::Scalar,
                    found: other.kind_name(),
                    what,
                });
                None
            }
        }
    }

    fn const_int(&mut self, f: &Frame<'p>, v: Value, at: Span, what: Subject) -> Option<i64> {
        let s = self.scalar(f, v, at, what.clone())?;
        match s {
            Sym::Const(Const::Int(i)) => Some(i),
            Sym::Const(other) => {
                self.err(TypeError::WrongKind {
                    at: self.loc(f, at),
                    expected: Kind::Integer,
                    found: Kind::Type(other.ty().to_string()),
                    what,
                });
                None
            }
            _ => {
                self.err(TypeError::NotConstant { at: self.loc(f, at), what });
                None
            }
        }
    }

    fn eval_err(&mut self, f: &Frame<'p>, at: Span, e: EvalError) -> Value {
        self.err(TypeError::Eval { at: self.loc(f, at), error: e.to_string() })
    }

    fn expr(&mut self, f: &mut Frame<'p>, e: &'p Expr, hint: Option<&str>) -> Value {
        let v = self.expr_inner(f, e, hint);
        if self.records(f.file) {
            let ty = match &v {
                Value::Tensor(n) => Some(format!("Tensor{}", self.show_shape(self.shape(*n)))),
                Value::Scalar(s) => {
                    let t = self
                        .scalar_type(s)
                        .map(|t| t.to_string())
                        .unwrap_or_else(|| "scalar".into());
                    Some(format!(
                        "{t} = {}",
                        self.show_shape(std::slice::from_ref(s)).trim_matches(['[', ']'])
                    ))
                }
                Value::List(items) => Some(format!("list of {}", items.len())),
                Value::Dims(ds) => Some(format!("dims {}", self.show_shape(ds))),
                Value::Poison => None,
            };
            if let Some(ty) = ty {
                self.types.push(TypeAt { loc: self.loc(f, e.span), ty });
            }
        }
        v
    }

    fn expr_inner(&mut self, f: &mut Frame<'p>, e: &'p Expr, hint: Option<&str>) -> Value {
        match &e.kind {
            ExprKind::Int(i) => Value::Scalar(Sym::int(*i)),
            ExprKind::Float(x) => Value::Scalar(Sym::Const(Const::Float(*x))),
            ExprKind::Str(s) => Value::Scalar(Sym::Const(Const::Str(s.clone()))),
            ExprKind::Bool(b) => Value::Scalar(Sym::Const(Const::Bool(*b))),
            ExprKind::Name(id) => f.lookup(&id.name).cloned().unwrap_or(Value::Poison),
            ExprKind::List(items) => {
                Value::List(items.iter().map(|i| self.expr(f, i, None)).collect())
            }
            ExprKind::ListComp { elem, var, iter } => {
                let items = match self.expr(f, iter, None) {
                    Value::List(items) => items,
                    Value::Poison => return Value::Poison,
                    other => {
                        return self.err(TypeError::WrongKind {
                            at: self.loc(f, iter.span),
                            expected: Kind::ListOrRange,
                            found: other.kind_name(),
                            what: Subject::ComprehensionRange,
                        })
                    }
                };
                let mut out = Vec::with_capacity(items.len());
                for (j, item) in items.into_iter().enumerate() {
                    f.scopes.push(Scope::one(var.name.as_str(), item));
                    f.loops.push(j);
                    out.push(self.expr(f, elem, hint));
                    f.loops.pop();
                    f.scopes.pop();
                }
                Value::List(out)
            }
            ExprKind::Unary { op, operand } => {
                let v = self.expr(f, operand, None);
                let Some(s) = self.scalar(f, v, operand.span, Subject::PrefixOperand) else {
                    return Value::Poison;
                };
                match Sym::unary(*op, s) {
                    Ok(s) => Value::Scalar(s),
                    Err(err) => self.eval_err(f, e.span, err),
                }
            }
            ExprKind::Binary { op, lhs, rhs, op_span } => {
                self.binary(f, *op, lhs, rhs, *op_span, e.span)
            }
            ExprKind::Call { callee, args, label } => {
                self.call(f, callee, args, label.as_deref(), e.span, hint)
            }
            ExprKind::Index { base, index } => {
                let b = self.expr(f, base, None);
                let i = self.expr(f, index, None);
                let items = match b {
                    Value::List(items) => items,
                    Value::Dims(ds) => ds.into_iter().map(Value::Scalar).collect(),
                    Value::Poison => return Value::Poison,
                    other => {
                        return self.err(TypeError::WrongKind {
                            at: self.loc(f, base.span),
                            expected: Kind::List,
                            found: other.kind_name(),
                            what: Subject::Indexed,
                        })
                    }
                };
                let Some(i) = self.const_int(f, i, index.span, Subject::ListIndex) else {
                    return Value::Poison;
                };
                match usize::try_from(i).ok().and_then(|i| items.get(i)) {
                    Some(v) => v.clone(),
                    None => self.err(TypeError::IndexOutOfRange {
                        at: self.loc(f, index.span),
                        index: i,
                        len: items.len(),
                    }),
                }
            }
            ExprKind::If { cond, then, otherwise } => {
                let c = self.expr(f, cond, None);
                let Some(c) = self.scalar(f, c, cond.span, Subject::Condition) else {
                    return Value::Poison;
                };
                match c {
                    Sym::Const(Const::Bool(true)) => self.expr(f, then, hint),
                    Sym::Const(Const::Bool(false)) => self.expr(f, otherwise, hint),
                    Sym::Const(other) => self.err(TypeError::WrongKind {
                        at: self.loc(f, cond.span),
                        expected: Kind::Written("bool".into()),
                        found: Kind::Type(other.ty().to_string()),
                        what: Subject::Condition,
                    }),
                    c => {
                        let saved = self.enter_region(
                            RegionKind::Branch { cond: c.clone(), taken: true },
                            self.loc(f, then.span),
                        );
                        let a = self.expr(f, then, hint);
                        self.region = saved;
                        let saved = self.enter_region(
                            RegionKind::Branch { cond: c.clone(), taken: false },
                            self.loc(f, otherwise.span),
                        );
                        let b = self.expr(f, otherwise, hint);
                        self.region = saved;
                        match (a, b) {
                            (Value::Scalar(a), Value::Scalar(b)) => match Sym::cond(c, a, b) {
                                Ok(s) => Value::Scalar(s),
                                Err(err) => self.eval_err(f, e.span, err),
                            },
                            (Value::Tensor(a), Value::Tensor(b)) => {
                                let (sa, sb) = (self.shape(a).clone(), self.shape(b).clone());
                                if sa.len() != sb.len() {
                                    return self.err(TypeError::NotConstant {
                                        at: self.loc(f, cond.span),
                                        what: Subject::ConditionRanks,
                                    });
                                }
                                let mut shape = Vec::new();
                                for (x, y) in sa.iter().cloned().zip(sb.iter().cloned()) {
                                    match Sym::cond(c.clone(), x, y) {
                                        Ok(d) => shape.push(d),
                                        Err(err) => return self.eval_err(f, e.span, err),
                                    }
                                }
                                let n = self.node(
                                    NodeKind::Select { cond: c, then: a, otherwise: b },
                                    shape,
                                    self.loc(f, e.span),
                                );
                                Value::Tensor(n)
                            }
                            (Value::Poison, _) | (_, Value::Poison) => Value::Poison,
                            _ => self.err(TypeError::NotConstant {
                                at: self.loc(f, cond.span),
                                what: Subject::ConditionKinds,
                            }),
                        }
                    }
                }
            }
            ExprKind::Block { stmts, value } => {
                f.scopes.push(Scope::default());
                let r = self.stmts(f, stmts);
                let v = match r {
                    Some(v) => v,
                    None => self.expr(f, value, hint),
                };
                f.scopes.pop();
                v
            }
            ExprKind::LayerChoice { naming, alternatives } => {
                self.layer_choice(f, naming, alternatives, hint, e.span)
            }
            ExprKind::ValueChoice { naming, values } => {
                let mut consts = Vec::new();
                for v in values {
                    let val = self.expr(f, v, None);
                    match val {
                        Value::Scalar(Sym::Const(c)) => consts.push(c),
                        Value::Poison => return Value::Poison,
                        _ => {
                            return self.err(TypeError::NotConstant {
                                at: self.loc(f, v.span),
                                what: Subject::ValueChoiceValue,
                            })
                        }
                    }
                }
                let ty = consts[0].ty();
                if let Some(bad) = consts.iter().position(|c| c.ty() != ty) {
                    return self.err(TypeError::WrongKind {
                        at: self.loc(f, values[bad].span),
                        expected: Kind::LikeFirst(ty.to_string()),
                        found: Kind::Type(consts[bad].ty().to_string()),
                        what: Subject::ValueChoiceValue,
                    });
                }
                match self.label(
                    f,
                    naming,
                    hint,
                    "choice",
                    LabelKind::Value,
                    Domain::Values { values: consts.clone() },
                    e.span,
                ) {
                    Some((id, _)) if consts.len() > 1 => Value::Scalar(Sym::Label(id)),
                    Some(_) => Value::Scalar(Sym::Const(consts[0].clone())),
                    None => Value::Poison,
                }
            }
            ExprKind::Pick { naming, count, candidates, reduce } => {
                self.pick(f, naming, count, candidates, reduce.as_ref(), hint, e.span)
            }
            ExprKind::Repeat { naming, depth, var, body } => {
                self.repeat(f, naming, depth, var, body, hint, e.span)
            }
        }
    }

    fn binary(
        &mut self,
        f: &mut Frame<'p>,
        op: BinOp,
        lhs: &'p Expr,
        rhs: &'p Expr,
        op_span: Span,
        span: Span,
    ) -> Value {
        let a = self.expr(f, lhs, None);
        let b = self.expr(f, rhs, None);
        match (op, a, b) {
            (_, Value::Poison, _) | (_, _, Value::Poison) => Value::Poison,
            (BinOp::Range, a, b) => {
                let (Some(x), Some(y)) = (
                    self.const_int(f, a, lhs.span, Subject::RangeBound),
                    self.const_int(f, b, rhs.span, Subject::RangeBound),
                ) else {
                    return Value::Poison;
                };
                if y.saturating_sub(x) > 1_000_000 {
                    return self.err(TypeError::Eval {
                        at: self.loc(f, span),
                        error: "range longer than 1,000,000".into(),
                    });
                }
                Value::List((x..y).map(|i| Value::Scalar(Sym::int(i))).collect())
            }
            (BinOp::Add, Value::List(mut x), Value::List(y)) => {
                x.extend(y);
                Value::List(x)
            }
            (BinOp::Add, Value::Tensor(x), Value::Tensor(y)) => {
                let (sx, sy) = (self.shape(x).clone(), self.shape(y).clone());
                if sx.len() != sy.len() {
                    return self.err(TypeError::OperandShapes {
                        at: self.loc(f, op_span),
                        left: self.show_shape(&sx),
                        right: self.show_shape(&sy),
                        counterexample: None,
                        lhs: self.loc(f, lhs.span),
                        rhs: self.loc(f, rhs.span),
                    });
                }
                for (a, b) in sx.iter().zip(sy.iter()) {
                    if let Verdict::Differ(asg) = self.compare(a, b) {
                        return self.err(TypeError::OperandShapes {
                            at: self.loc(f, op_span),
                            left: self.show_shape_under(&sx, &asg),
                            right: self.show_shape_under(&sy, &asg),
                            counterexample: self.show_assignment(&asg),
                            lhs: self.loc(f, lhs.span),
                            rhs: self.loc(f, rhs.span),
                        });
                    }
                }
                let zero = Sym::int(0);
                let add = self.name(crate::ir::Op::Add.name());
                let n = self.node(
                    NodeKind::Op {
                        op: add,
                        kind: Some(crate::ir::Op::Add),
                        inputs: smallvec::smallvec![x, y],
                        attrs: Attrs::from([]),
                        cost: std::sync::Arc::new(OpCost { params: zero.clone(), flops: zero }),
                    },
                    sx,
                    self.loc(f, span),
                );
                Value::Tensor(n)
            }
            (op, Value::Scalar(x), Value::Scalar(y)) => match Sym::binary(op, x, y) {
                Ok(s) => Value::Scalar(s),
                Err(err) => self.eval_err(f, span, err),
            },
            (op, a, b) => self.err(TypeError::WrongKind {
                at: self.loc(f, op_span),
                expected: if op == BinOp::Add {
                    Kind::NumbersTensorsOrLists
                } else {
                    Kind::Numbers
                },
                found: Kind::Pair(Box::new(a.kind_name()), Box::new(b.kind_name())),
                what: Subject::Operands { op: op.symbol().into() },
            }),
        }
    }

    fn enter_region(&mut self, kind: RegionKind, loc: Loc) -> RegionId {
        let saved = self.region;
        self.region = self.graph.regions.append(Region { parent: Some(saved), kind }, loc);
        saved
    }

    fn layer_choice(
        &mut self,
        f: &mut Frame<'p>,
        naming: &'p ast::ChoiceName,
        alternatives: &'p [ast::Alternative],
        hint: Option<&str>,
        span: Span,
    ) -> Value {
        let names: Vec<String> = alternatives.iter().map(|a| a.name.name.clone()).collect();
        let Some((label, local)) = self.label(
            f,
            naming,
            hint,
            "choice",
            LabelKind::Layer,
            Domain::Alternatives { names },
            span,
        ) else {
            return Value::Poison;
        };
        let saved_prefix = f.prefix.clone();
        f.prefix = format!("{saved_prefix}{local}{}/", f.loop_suffix());
        let saved_loops = std::mem::take(&mut f.loops);
        let mut outs = Vec::new();
        let mut poisoned = false;
        for (i, alt) in alternatives.iter().enumerate() {
            let saved = self
                .enter_region(RegionKind::Alternative { label, index: i }, self.loc(f, alt.span));
            let v = self.expr(f, &alt.value, Some(&alt.name.name));
            self.region = saved;
            match v {
                Value::Tensor(n) => outs.push((n, i)),
                Value::Poison => poisoned = true,
                other => {
                    self.err(TypeError::WrongKind {
                        at: self.loc(f, alt.value.span),
                        expected: Kind::Tensor,
                        found: other.kind_name(),
                        what: Subject::Alternative { name: alt.name.name.clone() },
                    });
                    poisoned = true;
                }
            }
        }
        f.prefix = saved_prefix;
        f.loops = saved_loops;
        if poisoned {
            return Value::Poison;
        }
        let (first, fi) = outs[0];
        let s0 = self.shape(first).clone();
        for &(n, i) in &outs[1..] {
            let s = self.shape(n).clone();
            let differ = if s.len() != s0.len() {
                Some(Vec::new())
            } else {
                s0.iter().zip(s.iter()).find_map(|(a, b)| match self.compare(a, b) {
                    Verdict::Differ(asg) => Some(asg),
                    Verdict::Same => None,
                })
            };
            if let Some(asg) = differ {
                let la = &alternatives[fi];
                let lb = &alternatives[i];
                return self.err(TypeError::AlternativesDiffer {
                    at: self.loc(f, lb.name.span),
                    label: self.graph.label_name(label),
                    first: (
                        la.name.name.clone(),
                        self.loc(f, la.name.span),
                        self.show_shape_under(&s0, &asg),
                    ),
                    second: (
                        lb.name.name.clone(),
                        self.loc(f, lb.name.span),
                        self.show_shape_under(&s, &asg),
                    ),
                    counterexample: self.show_assignment(&asg),
                });
            }
        }
        let node = self.node(
            NodeKind::LayerChoice { label, alternatives: outs.iter().map(|(n, _)| *n).collect() },
            s0,
            self.loc(f, span),
        );
        Value::Tensor(node)
    }

    #[allow(clippy::too_many_arguments)]
    fn pick(
        &mut self,
        f: &mut Frame<'p>,
        naming: &'p ast::ChoiceName,
        count: &'p Expr,
        candidates: &'p Expr,
        reduce: Option<&'p ast::Ident>,
        hint: Option<&str>,
        span: Span,
    ) -> Value {
        let c = self.expr(f, count, None);
        let Some(k) = self.const_int(f, c, count.span, Subject::PickCount) else {
            return Value::Poison;
        };
        let items = match self.expr(f, candidates, None) {
            Value::List(items) => items,
            Value::Poison => return Value::Poison,
            other => {
                return self.err(TypeError::WrongKind {
                    at: self.loc(f, candidates.span),
                    expected: Kind::ListOfTensors,
                    found: other.kind_name(),
                    what: Subject::InputChoiceCandidates,
                })
            }
        };
        let mut nodes = Vec::new();
        for it in items {
            match it {
                Value::Tensor(n) => nodes.push(n),
                Value::Poison => return Value::Poison,
                other => {
                    return self.err(TypeError::WrongKind {
                        at: self.loc(f, candidates.span),
                        expected: Kind::ListOfTensors,
                        found: Kind::ListHolding(Box::new(other.kind_name())),
                        what: Subject::InputChoiceCandidates,
                    })
                }
            }
        }
        if k < 1 || k as usize > nodes.len() {
            return self.err(TypeError::PickCount {
                at: self.loc(f, count.span),
                k,
                n: nodes.len(),
            });
        }
        let s0 = self.shape(nodes[0]).clone();
        for (i, n) in nodes.iter().enumerate().skip(1) {
            let s = self.shape(*n).clone();
            let differ = if s.len() != s0.len() {
                Some(Vec::new())
            } else {
                s0.iter().zip(s.iter()).find_map(|(a, b)| match self.compare(a, b) {
                    Verdict::Differ(asg) => Some(asg),
                    Verdict::Same => None,
                })
            };
            if let Some(asg) = differ {
                let cand = |j: usize| (format!("candidate {j}"), self.loc(f, candidates.span));
                let (a, al) = cand(0);
                let (b, bl) = cand(i);
                return self.err(TypeError::AlternativesDiffer {
                    at: bl,
                    label: "input choice".into(),
                    first: (a, al, self.show_shape_under(&s0, &asg)),
                    second: (b, bl, self.show_shape_under(&s, &asg)),
                    counterexample: self.show_assignment(&asg),
                });
            }
        }
        let reduce = match reduce.map(|r| r.name.as_str()) {
            None | Some("sum") => Reduce::Sum,
            Some("mean") => Reduce::Mean,
            _ => Reduce::Concat,
        };
        let k = k as usize;
        let Some((label, _)) = self.label(
            f,
            naming,
            hint,
            "input",
            LabelKind::Input,
            Domain::Inputs { n: nodes.len(), k },
            span,
        ) else {
            return Value::Poison;
        };
        let mut shape = s0;
        if reduce == Reduce::Concat && shape.len() >= 2 {
            match Sym::binary(BinOp::Mul, shape[1].clone(), Sym::int(k as i64)) {
                Ok(s) => {
                    let mut dims = shape.to_vec();
                    dims[1] = s;
                    shape = dims.into();
                }
                Err(err) => return self.eval_err(f, span, err),
            }
        }
        let node = self.node(
            NodeKind::InputChoice { label, candidates: nodes, k, reduce },
            shape,
            self.loc(f, span),
        );
        Value::Tensor(node)
    }

    #[allow(clippy::too_many_arguments)]
    fn repeat(
        &mut self,
        f: &mut Frame<'p>,
        naming: &'p ast::ChoiceName,
        depth: &'p ast::Depth,
        var: &'p ast::Ident,
        body: &'p Expr,
        hint: Option<&str>,
        span: Span,
    ) -> Value {
        let Some(init) = f.lookup(&var.name).cloned() else { return Value::Poison };
        if matches!(init, Value::Poison) {
            return Value::Poison;
        }
        match depth {
            ast::Depth::Fixed(d) => {
                let dv = self.expr(f, d, None);
                let Some(n) = self.const_int(f, dv, d.span, Subject::RepeatDepth) else {
                    return Value::Poison;
                };
                if !(0..=10_000).contains(&n) {
                    return self.err(TypeError::Eval {
                        at: self.loc(f, d.span),
                        error: format!("a repeat's depth must be between 0 and 10,000, not {n}"),
                    });
                }
                let mut cur = init;
                for i in 0..n as usize {
                    f.scopes.push(Scope::one(var.name.as_str(), cur));
                    f.loops.push(i);
                    cur = self.expr(f, body, None);
                    f.loops.pop();
                    f.scopes.pop();
                    if matches!(cur, Value::Poison) {
                        return cur;
                    }
                }
                cur
            }
            ast::Depth::Choice { values, .. } => {
                let mut depths = Vec::new();
                for v in values {
                    let dv = self.expr(f, v, None);
                    let Some(d) = self.const_int(f, dv, v.span, Subject::CandidateDepth) else {
                        return Value::Poison;
                    };
                    if !(0..=10_000).contains(&d) {
                        return self.err(TypeError::Eval {
                            at: self.loc(f, v.span),
                            error: format!(
                                "a repeat's depth must be between 0 and 10,000, not {d}"
                            ),
                        });
                    }
                    depths.push(d);
                }
                let domain =
                    Domain::Values { values: depths.iter().map(|d| Const::Int(*d)).collect() };
                let Some((label, local)) =
                    self.label(f, naming, hint, "repeat", LabelKind::Depth, domain, span)
                else {
                    return Value::Poison;
                };
                let Value::Tensor(first) = init else {
                    return self.err(TypeError::WrongKind {
                        at: self.loc(f, var.span),
                        expected: Kind::Tensor,
                        found: init.kind_name(),
                        what: Subject::RepeatCarried,
                    });
                };
                let max = *depths.iter().max().unwrap_or(&0) as usize;
                let mut after = vec![first];
                let mut cur = Value::Tensor(first);
                let saved_prefix = f.prefix.clone();
                let suffix = f.loop_suffix();
                let saved_loops = std::mem::take(&mut f.loops);
                // Repetition i+1 runs only when repetition i does: its region nests inside.
                let outer_region = self.region;
                for i in 0..max {
                    f.prefix = format!("{saved_prefix}{local}{suffix}[{i}]/");
                    self.enter_region(
                        RegionKind::Repetition { label, index: i },
                        self.loc(f, body.span),
                    );
                    f.scopes.push(Scope::one(var.name.as_str(), cur));
                    cur = self.expr(f, body, None);
                    f.scopes.pop();
                    match &cur {
                        Value::Tensor(n) => after.push(*n),
                        Value::Poison => break,
                        other => {
                            self.err(TypeError::WrongKind {
                                at: self.loc(f, body.span),
                                expected: Kind::Tensor,
                                found: other.kind_name(),
                                what: Subject::RepeatBody,
                            });
                            cur = Value::Poison;
                            break;
                        }
                    }
                }
                self.region = outer_region;
                f.prefix = saved_prefix;
                f.loops = saved_loops;
                if matches!(cur, Value::Poison) {
                    return Value::Poison;
                }
                let outputs: Vec<NodeId> = depths.iter().map(|d| after[*d as usize]).collect();
                let s0 = self.shape(outputs[0]).clone();
                for (i, o) in outputs.iter().enumerate().skip(1) {
                    let s = self.shape(*o).clone();
                    let differ = if s.len() != s0.len() {
                        Some(Vec::new())
                    } else {
                        s0.iter().zip(s.iter()).find_map(|(a, b)| match self.compare(a, b) {
                            Verdict::Differ(asg) => Some(asg),
                            Verdict::Same => None,
                        })
                    };
                    if let Some(asg) = differ {
                        let at = self.loc(f, values[i].span);
                        return self.err(TypeError::AlternativesDiffer {
                            at,
                            label: self.graph.label_name(label),
                            first: (
                                format!("depth {}", depths[0]),
                                self.loc(f, values[0].span),
                                self.show_shape_under(&s0, &asg),
                            ),
                            second: (
                                format!("depth {}", depths[i]),
                                at,
                                self.show_shape_under(&s, &asg),
                            ),
                            counterexample: self.show_assignment(&asg),
                        });
                    }
                }
                let node =
                    self.node(NodeKind::Repeat { label, depths, outputs }, s0, self.loc(f, span));
                Value::Tensor(node)
            }
        }
    }
}

/// Whether a block instance's value can be replayed ([`Elab::replay`]): no poison in it.
fn value_replayable(v: &Value) -> bool {
    match v {
        Value::Poison => false,
        Value::List(items) => items.iter().all(value_replayable),
        _ => true,
    }
}

/// The tensors in a value.
fn value_nodes(v: &Value) -> Box<dyn Iterator<Item = NodeId> + '_> {
    match v {
        Value::Tensor(n) => Box::new(std::iter::once(*n)),
        Value::List(items) => Box::new(items.iter().flat_map(value_nodes)),
        _ => Box::new(std::iter::empty()),
    }
}

/// A value with its tensors renamed by `node`.
fn map_value(v: Value, node: &dyn Fn(NodeId) -> NodeId) -> Value {
    match v {
        Value::Tensor(n) => Value::Tensor(node(n)),
        Value::List(items) => Value::List(items.into_iter().map(|i| map_value(i, node)).collect()),
        other => other,
    }
}

/// The number of nodes of a symbolic value.
fn sym_size(s: &Sym) -> usize {
    match s {
        Sym::Const(_) | Sym::Label(_) | Sym::Var(_) => 1,
        Sym::Unary(_, x) => 1 + sym_size(x),
        Sym::Binary(_, a, b) => 1 + sym_size(a) + sym_size(b),
        Sym::If(c, a, b) => 1 + sym_size(c) + sym_size(a) + sym_size(b),
    }
}

/// `values` (one per combination of `labels`, the first label varying fastest, as
/// `Elab::search` enumerates them) as nested `if label == value then ... else ...` over the
/// first `level` labels; `offset` is the index of the combination of the labels after them.
fn table(
    labels: &[LabelId],
    domains: &[Vec<Const>],
    sizes: &[usize],
    values: &[Const],
    level: usize,
    offset: usize,
) -> Option<Sym> {
    if level == 0 {
        return values.get(offset).cloned().map(Sym::Const);
    }
    let l = level - 1;
    let stride: usize = sizes[..l].iter().product();
    let mut chain = table(labels, domains, sizes, values, l, offset + (sizes[l] - 1) * stride)?;
    for (k, v) in domains[l].iter().enumerate().rev().skip(1) {
        let here = table(labels, domains, sizes, values, l, offset + k * stride)?;
        let test = Sym::binary(BinOp::Eq, Sym::Label(labels[l]), Sym::Const(v.clone())).ok()?;
        chain = Sym::cond(test, here, chain).ok()?;
    }
    Some(chain)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The graphs of `program` with reuse (`check_program`) and without (recording every type
    /// turns reuse off) are the same: serialized, node and region locations, label uses.
    fn assert_reuse_changes_nothing(program: &Program, what: &str) {
        let (plain, e1) = check_program(program);
        let (recorded, e2, _) = check_program_with_types(program);
        assert!(e1.is_empty() && e2.is_empty(), "{what}: {e1:?}");
        assert_eq!(plain.len(), recorded.len(), "{what}");
        for (a, b) in plain.iter().zip(&recorded) {
            assert_eq!(
                serde_json::to_string(a).unwrap(),
                serde_json::to_string(b).unwrap(),
                "{what}"
            );
            let node_locs =
                |g: &Graph| g.nodes.iter().map(|(h, _)| g.nodes.loc(h)).collect::<Vec<_>>();
            let region_locs =
                |g: &Graph| g.regions.iter().map(|(h, _)| g.regions.loc(h)).collect::<Vec<_>>();
            let uses =
                |g: &Graph| g.labels.labels.iter().map(|l| l.uses.clone()).collect::<Vec<_>>();
            assert!(node_locs(a) == node_locs(b) && region_locs(a) == region_locs(b), "{what}");
            assert!(uses(a) == uses(b), "{what}");
        }
    }

    /// Block instances replayed with one node for two arguments, inside the alternatives of a
    /// choice (another region), returning an argument, and under a labelled call whose choices
    /// are shared: the same graphs as without reuse.
    #[test]
    fn replayed_block_instances_read_their_own_arguments_and_regions() {
        let src = "
block pair(a: Tensor[n, c, h, w], b: Tensor[n, c, h, w]) -> Tensor[n, c, h, w] {
    return relu(a) + b
}
block first(a: Tensor[n, c, h, w], b: Tensor[n, c, h, w]) -> Tensor[n, c, h, w] {
    return a
}
block searched(x: Tensor[n, c, h, w]) -> Tensor[n, c, h, w] {
    return choice op { r: relu(x), p: pair(x, x), s: x }
}
network N(x: Tensor[n, 8, 4, 4]) -> Tensor[n, 8, 4, 4] {
    let y = relu(x)
    let p = pair(x, y)
    let q = pair(p, p)
    let f = first(q, p)
    let g = first(p, q)
    let r = choice op { a: pair(q, x), b: pair(x, q), c: first(f, g) }
    let s = searched(r) label \"cell\"
    let t = searched(s) label \"cell\"
    let u = searched(t)
    return u + pair(t, s)
}
";
        let (program, errors) =
            crate::resolve::load_bytes("reuse.nas", crate::source::Origin::Memory, src.as_bytes());
        assert!(errors.is_empty(), "{errors:?}");
        assert_reuse_changes_nothing(&program, "reuse.nas");
    }

    /// Reusing operator applications and block instances changes nothing: the graphs are those
    /// of an elaboration that records every type (which reuses none), node for node, with the
    /// same source locations and the same uses of every label.
    #[test]
    fn reused_operator_applications_and_block_instances_give_the_same_graphs() {
        let root = &crate::repo_root();
        let mut checked = 0;
        for file in [
            "examples/mnist.nas",
            "examples/darts_cell.nas",
            "examples/nested.nas",
            "stdlib/spaces/darts.nas",
            "stdlib/spaces/enas.nas",
            "stdlib/spaces/nasbench201.nas",
            "stdlib/spaces/mobilenetv3.nas",
            "stdlib/spaces/proxylessnas.nas",
            "stdlib/spaces/shufflenet.nas",
            "tests/data/oneshot_concat.nas",
            "tests/data/small_space.nas",
        ] {
            let path = root.join(file);
            if !path.is_file() {
                continue;
            }
            let (program, errors) = crate::resolve::load_path(&path).expect("readable");
            assert!(errors.is_empty(), "{file}: {errors:?}");
            assert_reuse_changes_nothing(&program, file);
            checked += 1;
        }
        assert!(checked >= 9);
    }
}
