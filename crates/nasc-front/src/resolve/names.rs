//! Module scopes and the name check of every item body.

use super::{suggest, ItemRef, Located, Program, ResolveError};
use crate::source::{FileId, Loc, Span};
use crate::syntax::ast::*;
use rustc_hash::FxHashMap;
use std::collections::HashMap;

/// The type names the language knows.
pub const TYPE_NAMES: &[&str] = &["int", "float", "bool", "str", "list"];
/// The reductions of an input choice (NNI's `InputChoice(reduction=...)`).
pub const REDUCTIONS: &[&str] = &["sum", "mean", "concat"];
/// The cost measures an operator declares.
pub const MEASURES: &[&str] = &["params", "flops"];

/// Builds every module's scope, then checks every name in every item. Returns the problems
/// found, each located in its file.
pub fn check_names(program: &mut Program) -> Vec<Located> {
    let mut errors = Vec::new();
    build_scopes(program, &mut errors);
    let program: &Program = program;
    let mut labels: FxHashMap<String, (Loc, String)> = FxHashMap::default();
    for m in 0..program.modules.len() {
        let mut c = Checker {
            program,
            module: m,
            file: program.modules[m].file,
            scopes: Vec::new(),
            bound: FxHashMap::default(),
            errors: &mut errors,
            labels: &mut labels,
            measures: false,
        };
        for item in &program.modules[m].ast.items {
            c.item(item);
        }
    }
    errors
}

fn item_name(item: &Item) -> Option<(&Ident, &'static str)> {
    match item {
        Item::Block(b) => {
            Some((&b.name, if b.kind == BlockKind::Network { "network" } else { "block" }))
        }
        Item::Op(o) => Some((&o.name, "operator")),
        Item::Import(_) => None,
    }
}

fn build_scopes(program: &mut Program, errors: &mut Vec<Located>) {
    // Own items first, for every module, so that imports can see them.
    let mut own: Vec<FxHashMap<String, ItemRef>> = Vec::new();
    for (mi, m) in program.modules.iter().enumerate() {
        let mut scope: FxHashMap<String, ItemRef> = FxHashMap::default();
        for (ii, item) in m.ast.items.iter().enumerate() {
            if let Some((name, what)) = item_name(item) {
                if let Some(prev) = scope.get(&name.name) {
                    let first = program.item_loc(*prev);
                    errors.push(Located {
                        file: m.file,
                        error: ResolveError::Duplicate {
                            span: name.span,
                            name: name.name.clone(),
                            what,
                            first,
                        },
                    });
                } else {
                    scope.insert(name.name.clone(), ItemRef { module: mi, item: ii });
                }
            }
        }
        own.push(scope);
    }
    for mi in 0..program.modules.len() {
        let mut scope = own[mi].clone();
        let m = &program.modules[mi];
        let decls = m.ast.items.iter().filter_map(|i| match i {
            Item::Import(imp) => Some(imp),
            _ => None,
        });
        let mut explicit: HashMap<String, Span> = HashMap::new();
        for (imp, target) in decls.zip(m.imports.iter()) {
            let Some(t) = *target else { continue };
            match &imp.names {
                Some(names) => {
                    for n in names {
                        match own[t].get(&n.name) {
                            None => {
                                let suggestion =
                                    suggest(&n.name, own[t].keys().map(String::as_str));
                                errors.push(Located {
                                    file: m.file,
                                    error: ResolveError::UnknownImport {
                                        span: n.span,
                                        name: n.name.clone(),
                                        module: program.modules[t].name.clone(),
                                        suggestion,
                                    },
                                });
                            }
                            Some(r) => {
                                if let Some(local) = own[mi].get(&n.name) {
                                    errors.push(Located {
                                        file: m.file,
                                        error: ResolveError::Duplicate {
                                            span: n.span,
                                            name: n.name.clone(),
                                            what: "imported name",
                                            first: program.item_loc(*local),
                                        },
                                    });
                                    continue;
                                }
                                if let Some(prev) = explicit.get(&n.name) {
                                    if scope.get(&n.name) != Some(r) {
                                        errors.push(Located {
                                            file: m.file,
                                            error: ResolveError::Duplicate {
                                                span: n.span,
                                                name: n.name.clone(),
                                                what: "imported name",
                                                first: Loc::new(m.file, *prev),
                                            },
                                        });
                                    }
                                    continue;
                                }
                                explicit.insert(n.name.clone(), n.span);
                                scope.insert(n.name.clone(), *r);
                            }
                        }
                    }
                }
                None => {
                    for (k, r) in &own[t] {
                        scope.entry(k.clone()).or_insert(*r);
                    }
                }
            }
        }
        if let Some(p) = m.prelude {
            for (k, r) in &own[p] {
                scope.entry(k.clone()).or_insert(*r);
            }
        }
        program.modules[mi].scope = scope;
    }
}

/// What a local name is bound to.
#[derive(Debug, Clone, Copy)]
struct Binding {
    span: Span,
}

struct Checker<'a> {
    program: &'a Program,
    module: usize,
    file: FileId,
    /// Local names, innermost scope last; a later binding of a name shadows an earlier one.
    scopes: Vec<Vec<(&'a str, Binding)>>,
    /// How many bindings of each name the scopes hold: a name bound nowhere (an operator or
    /// block being called, an unknown name) is answered without searching every scope, which
    /// made a body of thousands of `let`s quadratic.
    bound: FxHashMap<&'a str, u32>,
    errors: &'a mut Vec<Located>,
    labels: &'a mut FxHashMap<String, (Loc, String)>,
    /// Inside a `where` clause, where `params` and `flops` are names.
    measures: bool,
}

impl<'a> Checker<'a> {
    fn err(&mut self, error: ResolveError) {
        self.errors.push(Located { file: self.file, error });
    }

    fn lookup(&self, name: &str) -> Option<Binding> {
        if !self.bound.contains_key(name) {
            return None;
        }
        self.scopes
            .iter()
            .rev()
            .find_map(|s| s.iter().rev().find(|(n, _)| *n == name).map(|(_, b)| *b))
    }

    fn bind(&mut self, id: &'a Ident) {
        if let Some(s) = self.scopes.last_mut() {
            s.push((&id.name, Binding { span: id.span }));
            *self.bound.entry(&id.name).or_insert(0) += 1;
        }
    }

    /// Leaves the innermost scope, forgetting its bindings.
    fn pop_scope(&mut self) {
        for (name, _) in self.scopes.pop().unwrap_or_default() {
            if let Some(n) = self.bound.get_mut(name) {
                *n -= 1;
                if *n == 0 {
                    self.bound.remove(name);
                }
            }
        }
    }

    fn local_names(&self) -> Vec<String> {
        let mut v: Vec<String> =
            self.scopes.iter().flat_map(|s| s.iter().map(|(n, _)| n.to_string())).collect();
        v.sort();
        v.dedup();
        if self.measures {
            v.extend(MEASURES.iter().map(|s| s.to_string()));
        }
        v
    }

    fn item(&mut self, item: &'a Item) {
        match item {
            Item::Import(_) => {}
            Item::Block(b) => {
                self.scopes.push(Vec::new());
                self.params(&b.params);
                self.ty(&b.ret, false);
                self.measures = true;
                for c in &b.constraints {
                    self.expr(c);
                }
                self.measures = false;
                self.stmts(&b.body.stmts);
                match b.body.stmts.iter().any(|s| matches!(s, Stmt::Return { .. })) {
                    true => {}
                    false => self.err(ResolveError::MissingReturn {
                        span: b.name.span,
                        block: b.name.name.clone(),
                        end: Span::new(b.body.span.end.saturating_sub(1), b.body.span.end),
                    }),
                }
                self.pop_scope();
            }
            Item::Op(o) => {
                self.scopes.push(Vec::new());
                self.params(&o.params);
                self.ty(&o.ret, false);
                let mut seen: HashMap<&str, Span> = HashMap::new();
                for c in &o.clauses {
                    match c {
                        OpClause::Require { cond, .. } => self.expr(cond),
                        OpClause::Measure { name, value, .. } => {
                            if !MEASURES.contains(&name.name.as_str()) {
                                self.err(ResolveError::UnknownMeasure {
                                    span: name.span,
                                    name: name.name.clone(),
                                    suggestion: suggest(&name.name, MEASURES.iter().copied()),
                                });
                            } else if let Some(first) = seen.get(name.name.as_str()) {
                                let first = Loc::new(self.file, *first);
                                self.err(ResolveError::Duplicate {
                                    span: name.span,
                                    name: name.name.clone(),
                                    what: "measure",
                                    first,
                                });
                            } else {
                                seen.insert(&name.name, name.span);
                            }
                            self.expr(value);
                        }
                    }
                }
                self.pop_scope();
            }
        }
    }

    fn params(&mut self, params: &'a [Param]) {
        let mut seen: HashMap<&str, Span> = HashMap::new();
        for p in params {
            self.ty(&p.ty, true);
            if let Some(d) = &p.default {
                self.expr(d);
            }
            if let Some(first) = seen.get(p.name.name.as_str()) {
                let first = Loc::new(self.file, *first);
                self.err(ResolveError::Duplicate {
                    span: p.name.span,
                    name: p.name.name.clone(),
                    what: "parameter",
                    first,
                });
            } else {
                seen.insert(&p.name.name, p.name.span);
            }
            self.bind(&p.name);
        }
    }

    /// Checks a type; in a parameter's type (`binds`), a bare unbound name binds a dimension.
    fn ty(&mut self, t: &'a TypeExpr, binds: bool) {
        match t {
            TypeExpr::Tensor { dims, .. } => {
                for d in dims {
                    match d {
                        Dim::Rest(id) => {
                            if binds && self.lookup(&id.name).is_none() {
                                self.bind(id);
                            } else if !binds && self.lookup(&id.name).is_none() {
                                self.unknown(id);
                            }
                        }
                        Dim::Expr(Expr { kind: ExprKind::Name(id), .. })
                            if binds && self.lookup(&id.name).is_none() =>
                        {
                            self.bind(id)
                        }
                        Dim::Expr(e) => self.expr(e),
                    }
                }
            }
            TypeExpr::Named { name, arg, .. } => {
                if !TYPE_NAMES.contains(&name.name.as_str()) {
                    self.err(ResolveError::UnknownType {
                        span: name.span,
                        name: name.name.clone(),
                        suggestion: suggest(
                            &name.name,
                            TYPE_NAMES.iter().copied().chain(["Tensor"]),
                        ),
                    });
                }
                if let Some(a) = arg {
                    self.ty(a, binds);
                }
            }
        }
    }

    fn stmts(&mut self, stmts: &'a [Stmt]) {
        let mut returned: Option<Span> = None;
        for s in stmts {
            if let Some(ret) = returned.take() {
                self.err(ResolveError::AfterReturn { span: s.span(), ret });
            }
            match s {
                Stmt::Let { name, ty, value, .. } => {
                    if let Some(t) = ty {
                        self.ty(t, false);
                    }
                    self.expr(value);
                    self.bind(name);
                }
                Stmt::For { var, iter, body, .. } => {
                    self.expr(iter);
                    self.scopes.push(Vec::new());
                    self.bind(var);
                    self.stmts(&body.stmts);
                    self.pop_scope();
                }
                Stmt::Return { value, span } => {
                    self.expr(value);
                    returned = Some(*span);
                }
            }
        }
    }

    fn unknown(&mut self, id: &Ident) {
        if let Some(r) = self.program.modules[self.module].scope.get(&id.name) {
            let def = self.program.item_loc(*r);
            self.err(ResolveError::NotAValue { span: id.span, name: id.name.clone(), def });
            return;
        }
        let names = self.local_names();
        let suggestion = suggest(&id.name, names.iter().map(String::as_str));
        self.err(ResolveError::UnknownName { span: id.span, name: id.name.clone(), suggestion });
    }

    /// Checks an explicit label's domain against the label's earlier uses. The domain is
    /// worded only for labelled choices.
    fn label(&mut self, naming: &ChoiceName, domain: impl FnOnce(&Self) -> String) {
        if let Some(l) = &naming.label {
            let domain = domain(self);
            let here = Loc::new(self.file, l.span);
            match self.labels.get(&l.value) {
                Some((first, first_domain)) if *first_domain != domain => {
                    let (first, first_domain) = (*first, first_domain.clone());
                    self.err(ResolveError::LabelDomain {
                        span: l.span,
                        label: l.value.clone(),
                        domain,
                        first,
                        first_domain,
                    });
                }
                Some(_) => {}
                None => {
                    self.labels.insert(l.value.clone(), (here, domain));
                }
            }
        }
    }

    fn text(&self, span: Span) -> String {
        let t = &self.program.sources.get(self.file).text;
        t.get(span.start..span.end).unwrap_or("").split_whitespace().collect::<Vec<_>>().join(" ")
    }

    fn values_domain(&self, values: &[Expr]) -> String {
        format!("[{}]", values.iter().map(|v| self.text(v.span)).collect::<Vec<_>>().join(", "))
    }

    fn call(&mut self, callee: &Ident, args: &'a [Arg], span: Span) {
        for a in args {
            self.expr(&a.value);
        }
        if let Some(b) = self.lookup(&callee.name) {
            self.err(ResolveError::NotCallable {
                span: callee.span,
                name: callee.name.clone(),
                bound: b.span,
            });
            return;
        }
        let scope = &self.program.modules[self.module].scope;
        let Some(&r) = scope.get(&callee.name) else {
            let suggestion = suggest(&callee.name, scope.keys().map(String::as_str));
            self.err(ResolveError::UnknownCallee {
                span: callee.span,
                name: callee.name.clone(),
                suggestion,
            });
            return;
        };
        let def = self.program.item_loc(r);
        let params: &[Param] = match self.program.item(r) {
            Item::Block(b) => &b.params,
            Item::Op(o) => &o.params,
            Item::Import(_) => return,
        };
        let mut given: Vec<Option<Span>> = vec![None; params.len()];
        let mut positional = 0usize;
        let mut too_many = false;
        for a in args {
            match &a.name {
                None => {
                    if positional >= params.len() {
                        if !too_many {
                            let n = args.iter().filter(|a| a.name.is_none()).count();
                            self.err(ResolveError::TooManyArguments {
                                span: a.span,
                                callee: callee.name.clone(),
                                expected: params.len(),
                                given: n,
                                def,
                            });
                            too_many = true;
                        }
                    } else {
                        if let Some(first) = given[positional] {
                            self.err(ResolveError::ArgumentTwice {
                                span: a.span,
                                name: params[positional].name.name.clone(),
                                first,
                            });
                        }
                        given[positional] = Some(a.span);
                    }
                    positional += 1;
                }
                Some(k) => match params.iter().position(|p| p.name.name == k.name) {
                    None => {
                        let suggestion =
                            suggest(&k.name, params.iter().map(|p| p.name.name.as_str()));
                        self.err(ResolveError::UnknownKeyword {
                            span: k.span,
                            name: k.name.clone(),
                            callee: callee.name.clone(),
                            suggestion,
                            def,
                        });
                    }
                    Some(i) => {
                        if let Some(first) = given[i] {
                            self.err(ResolveError::ArgumentTwice {
                                span: a.span,
                                name: k.name.clone(),
                                first,
                            });
                        }
                        given[i] = Some(a.span);
                    }
                },
            }
        }
        let missing: Vec<String> = params
            .iter()
            .zip(&given)
            .filter(|(p, g)| g.is_none() && p.default.is_none())
            .map(|(p, _)| p.name.name.clone())
            .collect();
        if !missing.is_empty() {
            self.err(ResolveError::MissingArguments {
                span,
                callee: callee.name.clone(),
                missing,
                def,
            });
        }
    }

    fn expr(&mut self, e: &'a Expr) {
        match &e.kind {
            ExprKind::Int(_) | ExprKind::Float(_) | ExprKind::Str(_) | ExprKind::Bool(_) => {}
            ExprKind::Name(id) => {
                if self.lookup(&id.name).is_none()
                    && !(self.measures && MEASURES.contains(&id.name.as_str()))
                {
                    self.unknown(id);
                }
            }
            ExprKind::List(items) => items.iter().for_each(|i| self.expr(i)),
            ExprKind::ListComp { elem, var, iter } => {
                self.expr(iter);
                self.scopes.push(Vec::new());
                self.bind(var);
                self.expr(elem);
                self.pop_scope();
            }
            ExprKind::Unary { operand, .. } => self.expr(operand),
            ExprKind::Binary { lhs, rhs, .. } => {
                self.expr(lhs);
                self.expr(rhs);
            }
            ExprKind::Call { callee, args, .. } => self.call(callee, args, e.span),
            ExprKind::Index { base, index } => {
                self.expr(base);
                self.expr(index);
            }
            ExprKind::If { cond, then, otherwise } => {
                self.expr(cond);
                self.expr(then);
                self.expr(otherwise);
            }
            ExprKind::Block { stmts, value } => {
                self.scopes.push(Vec::new());
                self.stmts(stmts);
                self.expr(value);
                self.pop_scope();
            }
            ExprKind::LayerChoice { naming, alternatives } => {
                let mut seen: HashMap<&str, Span> = HashMap::new();
                for a in alternatives {
                    if let Some(first) = seen.get(a.name.name.as_str()) {
                        let first = Loc::new(self.file, *first);
                        self.err(ResolveError::Duplicate {
                            span: a.name.span,
                            name: a.name.name.clone(),
                            what: "alternative",
                            first,
                        });
                    } else {
                        seen.insert(&a.name.name, a.name.span);
                    }
                    self.expr(&a.value);
                }
                self.label(naming, |_| {
                    format!(
                        "{{{}}}",
                        alternatives
                            .iter()
                            .map(|a| a.name.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                });
            }
            ExprKind::ValueChoice { naming, values } => {
                values.iter().for_each(|v| self.expr(v));
                self.label(naming, |c| c.values_domain(values));
            }
            ExprKind::Pick { naming, count, candidates, reduce } => {
                self.expr(candidates);
                if let Some(red) = reduce {
                    if !REDUCTIONS.contains(&red.name.as_str()) {
                        self.err(ResolveError::UnknownReduction {
                            span: red.span,
                            name: red.name.clone(),
                            suggestion: suggest(&red.name, REDUCTIONS.iter().copied()),
                        });
                    }
                }
                let r = reduce.as_ref().map_or("sum", |red| red.name.as_str());
                self.label(naming, |c| {
                    format!(
                        "pick {} of {} reduce {}",
                        c.text(count.span),
                        c.text(candidates.span),
                        r
                    )
                });
            }
            ExprKind::Repeat { naming, depth, var, body } => {
                match depth {
                    Depth::Choice { values, .. } => {
                        values.iter().for_each(|v| self.expr(v));
                        self.label(naming, |c| format!("depth {}", c.values_domain(values)));
                    }
                    Depth::Fixed(d) => {
                        self.expr(d);
                        self.label(naming, |c| format!("depth {}", c.text(d.span)));
                    }
                }
                if self.lookup(&var.name).is_none() {
                    self.unknown(var);
                }
                self.scopes.push(Vec::new());
                self.bind(var);
                self.expr(body);
                self.pop_scope();
            }
        }
    }
}
