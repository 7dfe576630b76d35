//! The typed syntax tree of one `.nas` file. Every node carries its byte [`Span`].
//!
//! The tree is what the grammar (`grammar/nas.pest`) says, nothing more: names are not yet
//! resolved and nothing is typed. It serialises to JSON (`nasc parse --dump-ast`).

use crate::source::Span;
use serde::Serialize;

/// A name as written, with where it was written.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ident {
    /// The name.
    pub name: String,
    /// Where it is.
    pub span: Span,
}

/// A string literal after escapes are processed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StrLit {
    /// The string's value.
    pub value: String,
    /// The literal's span, quotes included.
    pub span: Span,
}

/// `///` doc comment lines, without the slashes.
pub type Docs = Vec<String>;

/// A parsed file: its items in source order.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct Module {
    /// Imports, blocks, networks and operator declarations.
    pub items: Vec<Item>,
}

/// A top-level declaration.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "item")]
pub enum Item {
    /// `import std.ops.{conv2d}`
    Import(Import),
    /// `block ...` or `network ...`
    Block(BlockDecl),
    /// `operator ...`: a built-in operator's signature and cost.
    Op(OpDecl),
}

impl Item {
    /// The span of the whole item.
    pub fn span(&self) -> Span {
        match self {
            Item::Import(i) => i.span,
            Item::Block(b) => b.span,
            Item::Op(o) => o.span,
        }
    }
}

/// `import a.b.c` (every item of the module) or `import a.b.{x, y}` (just those).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Import {
    /// Doc comment.
    pub docs: Docs,
    /// The module path segments (`std`, `ops`).
    pub path: Vec<Ident>,
    /// The names listed in braces, if any.
    pub names: Option<Vec<Ident>>,
    /// The whole import.
    pub span: Span,
}

impl Import {
    /// The dotted module path (`std.ops`).
    pub fn dotted(&self) -> String {
        self.path.iter().map(|i| i.name.as_str()).collect::<Vec<_>>().join(".")
    }

    /// The span of the module path alone.
    pub fn path_span(&self) -> Span {
        match (self.path.first(), self.path.last()) {
            (Some(a), Some(b)) => a.span.to(b.span),
            _ => self.span,
        }
    }
}

/// Whether a [`BlockDecl`] is a reusable block or a network (an entry point of a space).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum BlockKind {
    /// `block`
    Block,
    /// `network`
    Network,
}

/// `block Name(params) -> Type where constraints { body }` (or `network ...`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BlockDecl {
    /// Doc comment.
    pub docs: Docs,
    /// Block or network.
    pub kind: BlockKind,
    /// Its name.
    pub name: Ident,
    /// Parameters in order.
    pub params: Vec<Param>,
    /// The declared return type.
    pub ret: TypeExpr,
    /// `where` constraints (`params <= 500_000`).
    pub constraints: Vec<Expr>,
    /// The statements.
    pub body: Body,
    /// The whole declaration.
    pub span: Span,
}

/// `operator name(params) -> Type { require ...; params = ...; flops = ... }`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OpDecl {
    /// Doc comment.
    pub docs: Docs,
    /// Its name.
    pub name: Ident,
    /// Parameters in order.
    pub params: Vec<Param>,
    /// The output type.
    pub ret: TypeExpr,
    /// `require` conditions and cost formulas.
    pub clauses: Vec<OpClause>,
    /// The whole declaration.
    pub span: Span,
}

/// One clause of an operator declaration.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "clause")]
pub enum OpClause {
    /// `require cond : "message"`: must hold for every use.
    Require {
        /// The condition.
        cond: Expr,
        /// What to tell the user when it does not hold.
        message: Option<StrLit>,
        /// The whole clause.
        span: Span,
    },
    /// `params = expr` or `flops = expr`.
    Measure {
        /// `params` or `flops`.
        name: Ident,
        /// The formula.
        value: Expr,
        /// The whole clause.
        span: Span,
    },
}

/// `name: Type = default`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Param {
    /// Doc comment.
    pub docs: Docs,
    /// Its name.
    pub name: Ident,
    /// Its type.
    pub ty: TypeExpr,
    /// The default value, if any.
    pub default: Option<Expr>,
    /// The whole parameter.
    pub span: Span,
}

/// A written type.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type")]
pub enum TypeExpr {
    /// `Tensor[d0, d1, ...]`
    Tensor {
        /// The dimensions.
        dims: Vec<Dim>,
        /// The whole type.
        span: Span,
    },
    /// `int`, `float`, `bool`, `str`, `list[int]`.
    Named {
        /// The type's name.
        name: Ident,
        /// Its argument (`list[int]`), if any.
        arg: Option<Box<TypeExpr>>,
        /// The whole type.
        span: Span,
    },
}

impl TypeExpr {
    /// The span of the whole type.
    pub fn span(&self) -> Span {
        match self {
            TypeExpr::Tensor { span, .. } | TypeExpr::Named { span, .. } => *span,
        }
    }
}

/// One dimension of a tensor type.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "dim")]
pub enum Dim {
    /// An integer expression (`c`, `h / 2`, `width * 2`).
    Expr(Expr),
    /// `...rest`: the remaining dimensions, bound to a name.
    Rest(Ident),
}

/// A `{ ... }` list of statements.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Body {
    /// Statements in order.
    pub stmts: Vec<Stmt>,
    /// From `{` to `}`.
    pub span: Span,
}

/// A statement.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "stmt")]
pub enum Stmt {
    /// `let name: Type = value`
    Let {
        /// Doc comment.
        docs: Docs,
        /// The bound name.
        name: Ident,
        /// The annotated type, if any.
        ty: Option<TypeExpr>,
        /// The value.
        value: Expr,
        /// The whole statement.
        span: Span,
    },
    /// `for var in iter { body }`
    For {
        /// The loop variable.
        var: Ident,
        /// What it ranges over (`0..4`, a list).
        iter: Expr,
        /// The loop body.
        body: Body,
        /// The whole statement.
        span: Span,
    },
    /// `return value`
    Return {
        /// The returned value.
        value: Expr,
        /// The whole statement.
        span: Span,
    },
}

impl Stmt {
    /// The span of the whole statement.
    pub fn span(&self) -> Span {
        match self {
            Stmt::Let { span, .. } | Stmt::For { span, .. } | Stmt::Return { span, .. } => *span,
        }
    }
}

/// An expression with its span.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Expr {
    /// What kind of expression.
    pub kind: ExprKind,
    /// The whole expression.
    pub span: Span,
}

/// Prefix operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum UnaryOp {
    /// `-x`
    Neg,
    /// `not x`
    Not,
}

/// Infix operators, loosest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum BinOp {
    /// `a..b`: the integers from a up to b, excluded.
    Range,
    /// `or`
    Or,
    /// `and`
    And,
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `+` (numbers, tensors of equal shape, lists)
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/` (floor division on integers)
    Div,
    /// `%`
    Rem,
    /// `**`
    Pow,
}

impl BinOp {
    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Range => "..",
            BinOp::Or => "or",
            BinOp::And => "and",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Rem => "%",
            BinOp::Pow => "**",
        }
    }
}

/// A call argument, positional or `name: value`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Arg {
    /// The keyword, for keyword arguments.
    pub name: Option<Ident>,
    /// The value.
    pub value: Expr,
    /// The whole argument.
    pub span: Span,
}

/// One named alternative of a layer choice.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alternative {
    /// Doc comment.
    pub docs: Docs,
    /// Its name (the value the architecture JSON records for the label).
    pub name: Ident,
    /// The sub-network.
    pub value: Expr,
    /// The whole alternative.
    pub span: Span,
}

/// How a choice is named: the optional last segment of its derived label and an explicit label.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct ChoiceName {
    /// `choice op {...}`: the label's last segment.
    pub name: Option<Ident>,
    /// `choice label "w" [...]`: the whole label, shared with every choice of the same label.
    pub label: Option<StrLit>,
}

/// How many times a `repeat` body runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "depth")]
pub enum Depth {
    /// A depth choice: `repeat depth [1, 2, 3]`.
    Choice {
        /// The candidate depths.
        values: Vec<Expr>,
        /// From `[` to `]`.
        span: Span,
    },
    /// A fixed depth: `repeat 4`.
    Fixed(Box<Expr>),
}

/// The kinds of expression.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "expr", content = "of")]
pub enum ExprKind {
    /// `42`, `1_000`
    Int(i64),
    /// `0.5`, `1e-3`
    Float(f64),
    /// `"sum"`
    Str(String),
    /// `true`, `false`
    Bool(bool),
    /// A name: a parameter, a `let` binding, a dimension symbol, a loop variable.
    Name(Ident),
    /// `[a, b, c]`
    List(Vec<Expr>),
    /// `[elem for var in iter]`
    ListComp {
        /// The element expression.
        elem: Box<Expr>,
        /// The comprehension variable.
        var: Ident,
        /// What it ranges over.
        iter: Box<Expr>,
    },
    /// `-x`, `not x`
    Unary {
        /// The operator.
        op: UnaryOp,
        /// The operand.
        operand: Box<Expr>,
    },
    /// `a + b`, ...
    Binary {
        /// The operator.
        op: BinOp,
        /// Where the operator is written.
        op_span: Span,
        /// Left operand.
        lhs: Box<Expr>,
        /// Right operand.
        rhs: Box<Expr>,
    },
    /// `f(x, out: 16)`: a block or operator applied to arguments.
    Call {
        /// The block or operator.
        callee: Ident,
        /// The arguments in order.
        args: Vec<Arg>,
        /// `label "normal"`: the choices inside are labelled `normal/...` and shared by every
        /// call with the same label.
        label: Option<Box<StrLit>>,
    },
    /// `xs[i]`
    Index {
        /// The list.
        base: Box<Expr>,
        /// The position.
        index: Box<Expr>,
    },
    /// `if c then a else b`
    If {
        /// The condition.
        cond: Box<Expr>,
        /// Value when true.
        then: Box<Expr>,
        /// Value when false.
        otherwise: Box<Expr>,
    },
    /// `{ let a = ...; a }`: statements, then the value.
    Block {
        /// The statements.
        stmts: Vec<Stmt>,
        /// The value.
        value: Box<Expr>,
    },
    /// Layer choice: `choice op { conv: ..., skip: x }` (NNI's `LayerChoice`).
    LayerChoice {
        /// Name and label.
        naming: Box<ChoiceName>,
        /// The alternatives.
        alternatives: Vec<Alternative>,
    },
    /// Value choice: `choice width [16, 32]` (NNI's `ValueChoice`).
    ValueChoice {
        /// Name and label.
        naming: Box<ChoiceName>,
        /// The candidate values.
        values: Vec<Expr>,
    },
    /// Input choice: `pick 2 of [a, b, c] reduce sum` (NNI's `InputChoice`).
    Pick {
        /// Name and label.
        naming: Box<ChoiceName>,
        /// How many candidates are chosen.
        count: Box<Expr>,
        /// The candidate inputs.
        candidates: Box<Expr>,
        /// `sum`, `mean` or `concat` (sum when omitted, as NNI).
        reduce: Option<Ident>,
    },
    /// `repeat depth [1, 2] from h { body }` (NNI's `Repeat`).
    Repeat {
        /// Name and label of the depth choice.
        naming: Box<ChoiceName>,
        /// The depth.
        depth: Depth,
        /// The carried variable.
        var: Ident,
        /// The body: statements, then the value passed to the next repetition.
        body: Box<Expr>,
    },
}

/// Calls `f` on every expression of `module`, parents before children, in source order.
pub fn walk_module(module: &Module, f: &mut impl FnMut(&Expr)) {
    for item in &module.items {
        match item {
            Item::Import(_) => {}
            Item::Block(b) => {
                b.params.iter().for_each(|p| walk_param(p, f));
                walk_type(&b.ret, f);
                b.constraints.iter().for_each(|c| walk_expr(c, f));
                walk_stmts(&b.body.stmts, f);
            }
            Item::Op(o) => {
                o.params.iter().for_each(|p| walk_param(p, f));
                walk_type(&o.ret, f);
                for c in &o.clauses {
                    match c {
                        OpClause::Require { cond, .. } => walk_expr(cond, f),
                        OpClause::Measure { value, .. } => walk_expr(value, f),
                    }
                }
            }
        }
    }
}

fn walk_param(p: &Param, f: &mut impl FnMut(&Expr)) {
    walk_type(&p.ty, f);
    if let Some(d) = &p.default {
        walk_expr(d, f);
    }
}

fn walk_type(t: &TypeExpr, f: &mut impl FnMut(&Expr)) {
    match t {
        TypeExpr::Tensor { dims, .. } => {
            for d in dims {
                if let Dim::Expr(e) = d {
                    walk_expr(e, f);
                }
            }
        }
        TypeExpr::Named { arg, .. } => {
            if let Some(a) = arg {
                walk_type(a, f);
            }
        }
    }
}

fn walk_stmts(stmts: &[Stmt], f: &mut impl FnMut(&Expr)) {
    for s in stmts {
        match s {
            Stmt::Let { ty, value, .. } => {
                if let Some(t) = ty {
                    walk_type(t, f);
                }
                walk_expr(value, f);
            }
            Stmt::For { iter, body, .. } => {
                walk_expr(iter, f);
                walk_stmts(&body.stmts, f);
            }
            Stmt::Return { value, .. } => walk_expr(value, f),
        }
    }
}

/// Calls `f` on `e` and then on every expression inside it, in source order.
pub fn walk_expr(e: &Expr, f: &mut impl FnMut(&Expr)) {
    f(e);
    match &e.kind {
        ExprKind::Int(_)
        | ExprKind::Float(_)
        | ExprKind::Str(_)
        | ExprKind::Bool(_)
        | ExprKind::Name(_) => {}
        ExprKind::List(items) => items.iter().for_each(|i| walk_expr(i, f)),
        ExprKind::ListComp { elem, iter, .. } => {
            walk_expr(elem, f);
            walk_expr(iter, f);
        }
        ExprKind::Unary { operand, .. } => walk_expr(operand, f),
        ExprKind::Binary { lhs, rhs, .. } => {
            walk_expr(lhs, f);
            walk_expr(rhs, f);
        }
        ExprKind::Call { args, .. } => args.iter().for_each(|a| walk_expr(&a.value, f)),
        ExprKind::Index { base, index } => {
            walk_expr(base, f);
            walk_expr(index, f);
        }
        ExprKind::If { cond, then, otherwise } => {
            walk_expr(cond, f);
            walk_expr(then, f);
            walk_expr(otherwise, f);
        }
        ExprKind::Block { stmts, value } => {
            walk_stmts(stmts, f);
            walk_expr(value, f);
        }
        ExprKind::LayerChoice { alternatives, .. } => {
            alternatives.iter().for_each(|a| walk_expr(&a.value, f))
        }
        ExprKind::ValueChoice { values, .. } => values.iter().for_each(|v| walk_expr(v, f)),
        ExprKind::Pick { count, candidates, .. } => {
            walk_expr(count, f);
            walk_expr(candidates, f);
        }
        ExprKind::Repeat { depth, body, .. } => {
            match depth {
                Depth::Choice { values, .. } => values.iter().for_each(|v| walk_expr(v, f)),
                Depth::Fixed(d) => walk_expr(d, f),
            }
            walk_expr(body, f);
        }
    }
}
