//! Where things are in one file's syntax tree: every name with its role, and every expression,
//! so that a position can be mapped to what is written there.

use nasc_front::source::Span;
use nasc_front::syntax::ast::*;

/// What a name (or label literal) at a place is.
#[derive(Debug, Clone, Copy)]
pub enum Role<'a> {
    /// The name of a block, network or operator declaration (the item's index).
    Decl(usize),
    /// A parameter's name.
    Param(&'a Param),
    /// The callee of a call (the call expression).
    Callee(&'a Expr),
    /// A keyword argument's name, with the callee.
    Keyword(&'a Ident),
    /// A segment of an import's module path (the import's ordinal among the file's imports).
    ImportPath(usize),
    /// A name listed in an import's braces (the import's ordinal).
    ImportName(usize),
    /// The name a `let` binds: its value and the whole statement's end.
    Let(&'a Expr, usize),
    /// A loop, comprehension or repeat variable.
    Binder,
    /// A name used as a value.
    Name,
    /// `label "..."` on a choice or a call (the choice or call expression).
    Label(&'a Expr),
    /// The name of a choice (`choice op {...}`: the choice expression).
    ChoiceName(&'a Expr),
    /// An alternative's name in a layer choice (the choice expression).
    Alternative(&'a Expr),
}

/// A name, or a label literal, at a place.
#[derive(Debug, Clone, Copy)]
pub struct Occurrence<'a> {
    /// What is written (a label's value, without quotes).
    pub name: &'a str,
    /// Where.
    pub span: Span,
    /// What it is.
    pub role: Role<'a>,
    /// The index of the item it is in.
    pub item: usize,
}

/// Every name and expression of a module, in source order.
#[derive(Debug, Default)]
pub struct Index<'a> {
    /// Names and labels.
    pub names: Vec<Occurrence<'a>>,
    /// Expressions, parents before children, with their item's index.
    pub exprs: Vec<(&'a Expr, usize)>,
}

/// Whether `offset` is in `span` or just after it (where a cursor after a word is).
pub fn touches(span: Span, offset: usize) -> bool {
    span.start <= offset && offset <= span.end
}

impl<'a> Index<'a> {
    /// Indexes `module`.
    pub fn new(module: &'a Module) -> Self {
        let mut ix = Index::default();
        let mut imports = 0;
        for (i, item) in module.items.iter().enumerate() {
            match item {
                Item::Import(imp) => {
                    for seg in &imp.path {
                        ix.name(seg, Role::ImportPath(imports), i);
                    }
                    for n in imp.names.iter().flatten() {
                        ix.name(n, Role::ImportName(imports), i);
                    }
                    imports += 1;
                }
                Item::Block(b) => {
                    ix.name(&b.name, Role::Decl(i), i);
                    ix.params(&b.params, i);
                    ix.ty(&b.ret, i);
                    for c in &b.constraints {
                        ix.expr(c, i);
                    }
                    ix.stmts(&b.body.stmts, i);
                }
                Item::Op(o) => {
                    ix.name(&o.name, Role::Decl(i), i);
                    ix.params(&o.params, i);
                    ix.ty(&o.ret, i);
                    for c in &o.clauses {
                        match c {
                            OpClause::Require { cond, .. } => ix.expr(cond, i),
                            OpClause::Measure { value, .. } => ix.expr(value, i),
                        }
                    }
                }
            }
        }
        ix
    }

    fn name(&mut self, id: &'a Ident, role: Role<'a>, item: usize) {
        self.names.push(Occurrence { name: &id.name, span: id.span, role, item });
    }

    fn params(&mut self, params: &'a [Param], item: usize) {
        for p in params {
            self.name(&p.name, Role::Param(p), item);
            self.ty(&p.ty, item);
            if let Some(d) = &p.default {
                self.expr(d, item);
            }
        }
    }

    fn ty(&mut self, t: &'a TypeExpr, item: usize) {
        match t {
            TypeExpr::Tensor { dims, .. } => {
                for d in dims {
                    match d {
                        Dim::Expr(e) => self.expr(e, item),
                        Dim::Rest(id) => self.name(id, Role::Binder, item),
                    }
                }
            }
            TypeExpr::Named { arg, .. } => {
                if let Some(a) = arg {
                    self.ty(a, item);
                }
            }
        }
    }

    fn stmts(&mut self, stmts: &'a [Stmt], item: usize) {
        for s in stmts {
            match s {
                Stmt::Let { name, ty, value, span, .. } => {
                    if let Some(t) = ty {
                        self.ty(t, item);
                    }
                    self.expr(value, item);
                    self.name(name, Role::Let(value, span.end), item);
                }
                Stmt::For { var, iter, body, .. } => {
                    self.expr(iter, item);
                    self.name(var, Role::Binder, item);
                    self.stmts(&body.stmts, item);
                }
                Stmt::Return { value, .. } => self.expr(value, item),
            }
        }
    }

    fn naming(&mut self, naming: &'a ChoiceName, e: &'a Expr, item: usize) {
        if let Some(n) = &naming.name {
            self.name(n, Role::ChoiceName(e), item);
        }
        if let Some(l) = &naming.label {
            self.names.push(Occurrence {
                name: &l.value,
                span: l.span,
                role: Role::Label(e),
                item,
            });
        }
    }

    fn expr(&mut self, e: &'a Expr, item: usize) {
        self.exprs.push((e, item));
        match &e.kind {
            ExprKind::Int(_) | ExprKind::Float(_) | ExprKind::Str(_) | ExprKind::Bool(_) => {}
            ExprKind::Name(id) => self.name(id, Role::Name, item),
            ExprKind::List(items) => items.iter().for_each(|x| self.expr(x, item)),
            ExprKind::ListComp { elem, var, iter } => {
                self.expr(iter, item);
                self.name(var, Role::Binder, item);
                self.expr(elem, item);
            }
            ExprKind::Unary { operand, .. } => self.expr(operand, item),
            ExprKind::Binary { lhs, rhs, .. } => {
                self.expr(lhs, item);
                self.expr(rhs, item);
            }
            ExprKind::Call { callee, args, label } => {
                self.name(callee, Role::Callee(e), item);
                if let Some(l) = label {
                    self.names.push(Occurrence {
                        name: &l.value,
                        span: l.span,
                        role: Role::Label(e),
                        item,
                    });
                }
                for a in args {
                    if let Some(k) = &a.name {
                        self.name(k, Role::Keyword(callee), item);
                    }
                    self.expr(&a.value, item);
                }
            }
            ExprKind::Index { base, index } => {
                self.expr(base, item);
                self.expr(index, item);
            }
            ExprKind::If { cond, then, otherwise } => {
                self.expr(cond, item);
                self.expr(then, item);
                self.expr(otherwise, item);
            }
            ExprKind::Block { stmts, value } => {
                self.stmts(stmts, item);
                self.expr(value, item);
            }
            ExprKind::LayerChoice { naming, alternatives } => {
                self.naming(naming, e, item);
                for a in alternatives {
                    self.name(&a.name, Role::Alternative(e), item);
                    self.expr(&a.value, item);
                }
            }
            ExprKind::ValueChoice { naming, values } => {
                self.naming(naming, e, item);
                values.iter().for_each(|v| self.expr(v, item));
            }
            ExprKind::Pick { naming, count, candidates, .. } => {
                self.naming(naming, e, item);
                self.expr(count, item);
                self.expr(candidates, item);
            }
            ExprKind::Repeat { naming, depth, var, body } => {
                self.naming(naming, e, item);
                match depth {
                    Depth::Choice { values, .. } => values.iter().for_each(|v| self.expr(v, item)),
                    Depth::Fixed(d) => self.expr(d, item),
                }
                self.name(var, Role::Binder, item);
                self.expr(body, item);
            }
        }
    }

    /// The name or label at `offset` (the narrowest one that touches it).
    pub fn name_at(&self, offset: usize) -> Option<&Occurrence<'a>> {
        self.names
            .iter()
            .filter(|o| touches(o.span, offset))
            .min_by_key(|o| o.span.end - o.span.start)
    }

    /// The expressions that contain `offset`, outermost first.
    pub fn exprs_at(&self, offset: usize) -> Vec<&'a Expr> {
        let mut v: Vec<&'a Expr> =
            self.exprs.iter().filter(|(e, _)| touches(e.span, offset)).map(|(e, _)| *e).collect();
        v.sort_by_key(|e| std::cmp::Reverse(e.span.end - e.span.start));
        v
    }

    /// Where the name used at `use_` (a value in item `item`) is bound in that item: the last
    /// binding before it (a `let` counts once its statement ends), else the first place a
    /// dimension of that name is written in a parameter's type.
    pub fn binding(&self, name: &str, use_: Span, item: usize) -> Option<Span> {
        let bound = self
            .names
            .iter()
            .filter(|o| o.item == item && o.name == name && o.span != use_)
            .filter(|o| match o.role {
                Role::Param(_) | Role::Binder => o.span.end <= use_.start,
                Role::Let(_, end) => end <= use_.start,
                _ => false,
            })
            .max_by_key(|o| o.span.start);
        if let Some(o) = bound {
            return Some(o.span);
        }
        self.names
            .iter()
            .filter(|o| o.item == item && o.name == name && matches!(o.role, Role::Name))
            .map(|o| o.span)
            .min_by_key(|s| s.start)
    }
}
