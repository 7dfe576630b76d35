//! One document, checked: what `nasc check` learns about it (the front end's one pipeline,
//! [`nasc_front::driver::compile`]), and the editor features computed from that.

use super::index::{touches, Index, Occurrence, Role};
use super::text::{path_to_uri, uri_to_path, LineIndex};
use lsp_types as lsp;
use lsp_types::Uri;
use nasc_front::check::TypeAt;
use nasc_front::diagnostics::{self, Severity};
use nasc_front::driver::{self, Compiled};
use nasc_front::ir::{Graph, LabelInfo};
use nasc_front::resolve::{ItemRef, Program};
use nasc_front::source::{FileId, Loc, Origin, Span};
use nasc_front::stdlib;
use nasc_front::syntax::ast::{self, BlockKind, Expr, ExprKind, Item, Param};
use nasc_front::syntax::parser::ParseCache;
use std::cell::OnceCell;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// How many instances of one expression's type, or labels of one choice, hover lists.
const HOVER_LIMIT: usize = 12;

/// A document after `nasc check`.
pub struct Analysis {
    /// The document.
    pub uri: Uri,
    /// What the check found (without the facts: E0113 comes later, see
    /// [`nasc_front::driver::unsatisfiable`]).
    pub checked: Compiled,
    /// The type of every expression of the document elaborated, recorded on first use (see
    /// [`Analysis::types`]).
    types: OnceCell<Vec<TypeAt>>,
    lines: Vec<OnceCell<LineIndex>>,
}

/// Where a diagnostic is published.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// On the document itself.
    Document,
    /// On another file on disk (an imported neighbour).
    File(Uri),
}

impl Analysis {
    /// Checks `text`, the content of the document `uri`. A `file:` URI is checked as that
    /// file, so its relative imports resolve next to it as in the CLI.
    pub fn new(uri: &Uri, text: &str) -> Self {
        Self::with_cache(uri, text, &mut ParseCache::new())
    }

    /// Like [`Analysis::new`], reusing (and refilling) `cache`'s parsed items: the language
    /// server keeps one cache per document, so that a change parses again only the items it
    /// touches. The diagnostics are those of `nasc check` ([`nasc_front::driver::compile`]): load and
    /// resolve, then the type stage when resolution is clean. The types of the expressions
    /// (for hover) are recorded later, when first asked for.
    pub fn with_cache(uri: &Uri, text: &str, cache: &mut ParseCache) -> Self {
        let (name, origin) = match uri_to_path(uri) {
            Some(p) => (p.display().to_string(), Origin::Disk(p)),
            None => (uri.as_str().to_string(), Origin::Memory),
        };
        let input = driver::Input::Bytes { name: &name, origin: &origin, bytes: text.as_bytes() };
        let options = driver::Options { cache: Some(cache), ..Default::default() };
        let checked = match driver::compile(input, options) {
            Ok(c) => c,
            Err(e) => unreachable!("bytes in memory are always readable: {e}"),
        };
        let lines = checked.program.sources.iter().map(|_| OnceCell::new()).collect();
        Analysis { uri: uri.clone(), checked, types: OnceCell::new(), lines }
    }

    /// The type of every expression of the document that elaboration reached (one per
    /// instance), recorded by running the type stage again the first time they are asked for;
    /// empty when resolution found errors (the type stage does not run then).
    pub fn types(&self) -> &[TypeAt] {
        self.types.get_or_init(|| {
            if self.checked.typed {
                driver::types_in(&self.checked.program, self.root())
            } else {
                Vec::new()
            }
        })
    }

    /// The loaded program.
    pub fn program(&self) -> &Program {
        &self.checked.program
    }

    /// The document's file.
    pub fn root(&self) -> FileId {
        self.program().modules[0].file
    }

    /// The document's text.
    pub fn text(&self) -> &str {
        &self.program().sources.get(self.root()).text
    }

    /// The document's syntax tree (items with syntax errors left out).
    pub fn ast(&self) -> &ast::Module {
        &self.program().modules[0].ast
    }

    fn line_index(&self, file: FileId) -> &LineIndex {
        self.lines[file.0].get_or_init(|| LineIndex::new(&self.program().sources.get(file).text))
    }

    /// The LSP range of a span of a loaded file.
    pub fn range(&self, loc: Loc) -> lsp::Range {
        self.line_index(loc.file).range(&self.program().sources.get(loc.file).text, loc.span)
    }

    /// The byte offset of a position in the document.
    pub fn offset(&self, pos: lsp::Position) -> usize {
        self.line_index(self.root()).offset(self.text(), pos)
    }

    /// The URI of a loaded file: the document's own, a file on disk's, or the read-only copy
    /// of a standard-library module (see [`stdlib_dir`]); `None` for text from elsewhere.
    pub fn file_uri(&self, file: FileId) -> Option<Uri> {
        if file == self.root() {
            return Some(self.uri.clone());
        }
        match &self.program().sources.get(file).origin {
            Origin::Disk(p) => path_to_uri(&std::fs::canonicalize(p).unwrap_or_else(|_| p.clone())),
            Origin::Stdlib(m) => path_to_uri(&stdlib_dir()?.join(stdlib_rel_path(m))),
            Origin::Memory => None,
        }
    }

    /// An LSP location of a span of a loaded file.
    pub fn location(&self, loc: Loc) -> Option<lsp::Location> {
        Some(lsp::Location::new(self.file_uri(loc.file)?, self.range(loc)))
    }

    fn file_text(&self, loc: Loc) -> &str {
        self.program().sources.get(loc.file).text.get(loc.span.range()).unwrap_or("")
    }

    // ----------------------------------------------------------------------------------------
    // Diagnostics.
    // ----------------------------------------------------------------------------------------

    /// Every diagnostic of the check, in LSP form, with where to publish it; plus notes about
    /// diagnostics that could not be shown (for the server's log). `related` says whether the
    /// client shows related information; if not, labels are written into the message.
    pub fn diagnostics(
        &self,
        extra: &[diagnostics::Diagnostic],
        related: bool,
    ) -> (Vec<(Target, lsp::Diagnostic)>, Vec<String>) {
        let mut out = Vec::new();
        let mut dropped = Vec::new();
        for d in self.checked.diagnostics.iter().chain(extra) {
            let file = d.primary.loc.file;
            let origin = &self.program().sources.get(file).origin;
            if file == self.root() {
                out.push((
                    Target::Document,
                    self.convert(d, self.range(d.primary.loc), None, related),
                ));
            } else if let (Origin::Disk(_), Some(uri)) = (origin, self.file_uri(file)) {
                out.push((
                    Target::File(uri),
                    self.convert(d, self.range(d.primary.loc), None, related),
                ));
            } else if let Some((span, why)) = self.anchor(d) {
                let f = self.program().sources.get(file);
                let (line, col) = f.line_col(d.primary.loc.span.start);
                let note = format!("reported in {}:{line}:{col}{why}", f.name);
                let range = self.range(Loc::new(self.root(), span));
                out.push((Target::Document, self.convert(d, range, Some(note), related)));
            } else {
                dropped.push(format!(
                    "error[{}]: {} (in {}, not shown: no place in this file leads there)",
                    d.code,
                    d.message,
                    self.program().sources.get(file).name
                ));
            }
        }
        (out, dropped)
    }

    /// Where in the document to show a diagnostic located in a file that is not on disk (the
    /// standard library): a secondary label in the document, the first call of an item of
    /// that module, or the import that loads it.
    fn anchor(&self, d: &diagnostics::Diagnostic) -> Option<(Span, &'static str)> {
        let root = self.root();
        if let Some(l) = d.secondary.iter().find(|l| l.loc.file == root) {
            return Some((l.loc.span, ""));
        }
        let program = self.program();
        let module = program.modules.iter().position(|m| m.file == d.primary.loc.file)?;
        let index = Index::new(self.ast());
        let calls: Vec<(Span, &Expr)> = index
            .names
            .iter()
            .filter_map(|o| match o.role {
                Role::Callee(call)
                    if program.modules[0].scope.get(o.name).is_some_and(|r| r.module == module) =>
                {
                    Some((o.span, call))
                }
                _ => None,
            })
            .collect();
        // The call that failed: its arguments were elaborated but it has no type.
        let typed = |span: Span| self.types().iter().any(|t| t.loc == Loc::new(root, span));
        for (span, call) in &calls {
            if let ExprKind::Call { args, .. } = &call.kind {
                if !typed(call.span) && args.iter().any(|a| typed(a.value.span)) {
                    return Some((*span, ", inside this call"));
                }
            }
        }
        if let Some((span, _)) = calls.first() {
            return Some((*span, ", inside a call from this file (the first such call is marked)"));
        }
        // The first import whose module (or a module it imports) is that file.
        let imports: Vec<&ast::Import> = self
            .ast()
            .items
            .iter()
            .filter_map(|i| if let Item::Import(imp) = i { Some(imp) } else { None })
            .collect();
        for (imp, target) in imports.iter().zip(&program.modules[0].imports) {
            let Some(t) = *target else { continue };
            let mut seen = HashSet::new();
            let mut stack = vec![t];
            while let Some(m) = stack.pop() {
                if m == module {
                    return Some((imp.path_span(), ", in a module this import loads"));
                }
                if seen.insert(m) {
                    stack.extend(program.modules[m].imports.iter().flatten().copied());
                    stack.extend(program.modules[m].prelude);
                }
            }
        }
        None
    }

    fn convert(
        &self,
        d: &diagnostics::Diagnostic,
        range: lsp::Range,
        note: Option<String>,
        related: bool,
    ) -> lsp::Diagnostic {
        let mut message = d.message.clone();
        let mut info = Vec::new();
        let labels = std::iter::once(&d.primary).chain(&d.secondary);
        for l in labels {
            if l.message.is_empty() {
                continue;
            }
            match self.location(l.loc).filter(|_| related) {
                Some(location) => info.push(lsp::DiagnosticRelatedInformation {
                    location,
                    message: l.message.clone(),
                }),
                None => {
                    let f = self.program().sources.get(l.loc.file);
                    let (line, col) = f.line_col(l.loc.span.start);
                    message.push_str(&format!("\n{}:{line}:{col}: {}", f.name, l.message));
                }
            }
        }
        if let Some(n) = note {
            message.push_str(&format!("\nnote: {n}"));
        }
        for n in &d.notes {
            message.push_str(&format!("\nnote: {n}"));
        }
        if let Some(h) = &d.help {
            message.push_str(&format!("\nhelp: {h}"));
        }
        lsp::Diagnostic {
            range,
            severity: Some(match d.severity {
                Severity::Error => lsp::DiagnosticSeverity::ERROR,
                Severity::Warning => lsp::DiagnosticSeverity::WARNING,
            }),
            code: Some(lsp::NumberOrString::String(d.code.to_string())),
            source: Some("nasc".into()),
            message,
            related_information: if info.is_empty() { None } else { Some(info) },
            ..Default::default()
        }
    }

    // ----------------------------------------------------------------------------------------
    // Hover.
    // ----------------------------------------------------------------------------------------

    /// What to show for the position: the type of the expression there (every instance), a
    /// choice's labels and domains, a block's or operator's signature and doc comment.
    pub fn hover(&self, pos: lsp::Position) -> Option<lsp::Hover> {
        let offset = self.offset(pos);
        let index = Index::new(self.ast());
        let root = self.root();
        let mut parts: Vec<String> = Vec::new();
        let mut span = None;
        if let Some(o) = index.name_at(offset) {
            span = Some(o.span);
            match o.role {
                Role::Decl(i) => parts.push(self.item_doc(ItemRef { module: 0, item: i })),
                Role::Callee(call) => {
                    if let Some(r) = self.program().modules[0].scope.get(o.name) {
                        parts.push(self.item_doc(*r));
                    }
                    parts.extend(self.types_of(Loc::new(root, call.span), "result: "));
                }
                Role::Keyword(callee) => {
                    if let Some(p) = self.param_of(callee, o.name) {
                        parts.push(param_doc(self.program(), p.0, p.1));
                    }
                }
                Role::ImportName(_) => {
                    if let Some(r) = self.imported(o) {
                        parts.push(self.item_doc(r));
                    }
                }
                Role::ImportPath(i) => {
                    if let Some(m) = self.program().modules[0].imports.get(i).copied().flatten() {
                        let m = &self.program().modules[m];
                        parts.push(format!(
                            "module `{}`\n\n{}",
                            m.name,
                            self.program().sources.get(m.file).name
                        ));
                    }
                }
                Role::Param(p) => parts.push(param_doc(self.program(), root, p)),
                Role::Let(value, _) => parts
                    .extend(self.types_of(Loc::new(root, value.span), &format!("{}: ", o.name))),
                Role::Label(e) | Role::ChoiceName(e) | Role::Alternative(e) => {
                    parts.extend(self.choice_doc(e, Some(o)));
                    parts.extend(self.types_of(Loc::new(root, e.span), ""));
                }
                Role::Name | Role::Binder => {
                    parts.extend(self.types_of(Loc::new(root, o.span), &format!("{}: ", o.name)));
                }
            }
        }
        if parts.is_empty() {
            // The innermost expression that has a type (or is a choice).
            for e in index.exprs_at(offset).into_iter().rev() {
                let mut p: Vec<String> = Vec::new();
                if is_choice(e) {
                    p.extend(self.choice_doc(e, None));
                }
                p.extend(self.types_of(Loc::new(root, e.span), ""));
                if !p.is_empty() {
                    parts = p;
                    span = Some(e.span);
                    break;
                }
            }
        }
        if parts.is_empty() {
            return None;
        }
        Some(lsp::Hover {
            contents: lsp::HoverContents::Markup(lsp::MarkupContent {
                kind: lsp::MarkupKind::Markdown,
                value: parts.join("\n\n---\n\n"),
            }),
            range: span.map(|s| self.range(Loc::new(root, s))),
        })
    }

    /// The types recorded for an expression, deduplicated, as Markdown code, each line
    /// starting with `prefix`.
    fn types_of(&self, loc: Loc, prefix: &str) -> Option<String> {
        let mut seen: Vec<&str> = Vec::new();
        for t in self.types() {
            if t.loc == loc && !seen.contains(&t.ty.as_str()) {
                seen.push(&t.ty);
            }
        }
        if seen.is_empty() {
            return None;
        }
        let shown: Vec<String> =
            seen.iter().take(HOVER_LIMIT).map(|t| format!("{prefix}{t}")).collect();
        let mut s = format!("```nas\n{}\n```", shown.join("\n"));
        if seen.len() > 1 {
            s.push_str(&format!(
                "\n\n{} different types, one per instance of this expression",
                seen.len()
            ));
            if seen.len() > HOVER_LIMIT {
                s.push_str(&format!(" ({} not shown)", seen.len() - HOVER_LIMIT));
            }
        }
        Some(s)
    }

    /// The labels a choice expression makes, with their domains.
    fn labels_of(&self, e: &Expr) -> Vec<(&Graph, &LabelInfo)> {
        let loc = Loc::new(self.root(), e.span);
        let mut out = Vec::new();
        for g in &self.checked.graphs {
            for l in &g.labels.labels {
                if l.uses.contains(&loc) {
                    out.push((g, l));
                }
            }
        }
        out
    }

    fn choice_doc(&self, e: &Expr, at: Option<&Occurrence<'_>>) -> Option<String> {
        if let (Some(o), ExprKind::Call { .. }) = (at, &e.kind) {
            // `label "normal"` on a call: the choices inside share labels `normal/...`.
            let prefix = format!("{}/", o.name);
            let mut names: Vec<String> = Vec::new();
            let mut seen: HashSet<&str> = HashSet::new();
            for g in &self.checked.graphs {
                for l in &g.labels.labels {
                    if l.name.starts_with(&prefix) && seen.insert(&l.name) {
                        names.push(format!("`{}`: `{}`", l.name, l.domain.describe()));
                    }
                }
            }
            let mut s = format!(
                "call label `{}`: every call with this label makes the same decisions",
                o.name
            );
            for n in names.iter().take(HOVER_LIMIT) {
                s.push_str(&format!("\n- {n}"));
            }
            return Some(s);
        }
        let kind = match &e.kind {
            ExprKind::LayerChoice { .. } => "layer choice",
            ExprKind::ValueChoice { .. } => "value choice",
            ExprKind::Pick { .. } => "input choice",
            ExprKind::Repeat { .. } => "depth choice",
            _ => return None,
        };
        let labels = self.labels_of(e);
        if labels.is_empty() {
            // Not elaborated (errors elsewhere, or in a block no network uses): what is written.
            let written = match &e.kind {
                ExprKind::LayerChoice { alternatives, .. } => {
                    format!(
                        "{{{}}}",
                        alternatives
                            .iter()
                            .map(|a| a.name.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                }
                ExprKind::ValueChoice { values, .. } => {
                    format!(
                        "[{}]",
                        values
                            .iter()
                            .map(|v| self.file_text(Loc::new(self.root(), v.span)))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                }
                ExprKind::Repeat { depth: ast::Depth::Choice { span, .. }, .. } => {
                    self.file_text(Loc::new(self.root(), *span)).to_string()
                }
                _ => self
                    .file_text(Loc::new(self.root(), e.span))
                    .lines()
                    .next()
                    .unwrap_or("")
                    .to_string(),
            };
            return Some(format!("{kind}, domain `{written}`\n\n(labels are known once the file checks clean and a network uses this choice)"));
        }
        let mut s = kind.to_string();
        let multi = self.checked.graphs.len() > 1;
        for (g, l) in labels.iter().take(HOVER_LIMIT) {
            let size = l.domain.size().map(|n| format!(" ({n} values)")).unwrap_or_default();
            let net = if multi { format!(" in `{}`", g.name) } else { String::new() };
            s.push_str(&format!("\n- label `{}`{net}: `{}`{size}", l.name, l.domain.describe()));
        }
        if labels.len() > HOVER_LIMIT {
            s.push_str(&format!("\n- ... and {} more labels", labels.len() - HOVER_LIMIT));
        }
        Some(s)
    }

    /// The item an import's listed name brings in.
    fn imported(&self, o: &Occurrence<'_>) -> Option<ItemRef> {
        let Role::ImportName(i) = o.role else { return None };
        let m = self.program().modules[0].imports.get(i).copied().flatten()?;
        self.program().modules[m]
            .scope
            .get(o.name)
            .copied()
            .filter(|r| r.module == m)
            .or_else(|| self.program().modules[m].scope.get(o.name).copied())
    }

    /// A callee's parameter by name, with the file it is written in.
    fn param_of(&self, callee: &ast::Ident, name: &str) -> Option<(FileId, &Param)> {
        let r = *self.program().modules[0].scope.get(&callee.name)?;
        let params = item_params(self.program().item(r))?;
        let p = params.iter().find(|p| p.name.name == name)?;
        Some((self.program().modules[r.module].file, p))
    }

    /// An item's signature and doc comment, as Markdown.
    fn item_doc(&self, r: ItemRef) -> String {
        let program = self.program();
        let item = program.item(r);
        let module = &program.modules[r.module];
        let mut s = format!("```nas\n{}\n```", signature(program, r));
        let docs = match item {
            Item::Block(b) => &b.docs,
            Item::Op(o) => &o.docs,
            Item::Import(i) => &i.docs,
        };
        if !docs.is_empty() {
            s.push_str("\n\n");
            s.push_str(&doc_text(docs));
        }
        if r.module != 0 {
            s.push_str(&format!("\n\n*from `{}`*", module.name));
        }
        s
    }

    // ----------------------------------------------------------------------------------------
    // Definitions.
    // ----------------------------------------------------------------------------------------

    /// Where what is at the position is defined: a block's or operator's declaration, an
    /// imported module or name, a local binding, or every choice that makes a label.
    pub fn definition(&self, pos: lsp::Position) -> Vec<lsp::Location> {
        let offset = self.offset(pos);
        let index = Index::new(self.ast());
        let Some(o) = index.name_at(offset) else { return Vec::new() };
        let root = self.root();
        let program = self.program();
        let locs: Vec<Loc> = match o.role {
            Role::Callee(_) => match program.modules[0].scope.get(o.name) {
                Some(r) => vec![program.item_loc(*r)],
                None => index
                    .binding(o.name, o.span, o.item)
                    .map(|s| Loc::new(root, s))
                    .into_iter()
                    .collect(),
            },
            Role::Decl(_)
            | Role::Param(_)
            | Role::Let(..)
            | Role::Binder
            | Role::Alternative(_) => vec![Loc::new(root, o.span)],
            Role::Keyword(callee) => self
                .param_of(callee, o.name)
                .map(|(f, p)| Loc::new(f, p.name.span))
                .into_iter()
                .collect(),
            Role::ImportName(_) => {
                self.imported(o).map(|r| program.item_loc(r)).into_iter().collect()
            }
            Role::ImportPath(i) => match program.modules[0].imports.get(i).copied().flatten() {
                Some(m) => vec![Loc::new(program.modules[m].file, Span::new(0, 0))],
                None => Vec::new(),
            },
            Role::Name => match index.binding(o.name, o.span, o.item) {
                Some(s) => vec![Loc::new(root, s)],
                None => Vec::new(),
            },
            Role::Label(e) | Role::ChoiceName(e) => {
                let mut v: Vec<Loc> = Vec::new();
                let labels: Vec<&LabelInfo> = if matches!(e.kind, ExprKind::Call { .. }) {
                    let prefix = format!("{}/", o.name);
                    self.checked
                        .graphs
                        .iter()
                        .flat_map(|g| &g.labels.labels)
                        .filter(|l| l.name.starts_with(&prefix))
                        .collect()
                } else {
                    self.labels_of(e).into_iter().map(|(_, l)| l).collect()
                };
                for l in labels {
                    for u in &l.uses {
                        if !v.contains(u) {
                            v.push(*u);
                        }
                    }
                }
                if v.is_empty() {
                    // Not elaborated: every choice or call in this file with the same label.
                    v = index
                        .names
                        .iter()
                        .filter(|x| matches!(x.role, Role::Label(_)) && x.name == o.name)
                        .map(|x| Loc::new(root, x.span))
                        .collect();
                }
                v
            }
        };
        locs.into_iter().filter_map(|l| self.location(l)).collect()
    }

    // ----------------------------------------------------------------------------------------
    // Document symbols.
    // ----------------------------------------------------------------------------------------

    /// The document's blocks, networks and operators, with their choices nested inside.
    pub fn symbols(&self) -> Vec<lsp::DocumentSymbol> {
        let root = self.root();
        let mut out = Vec::new();
        for item in &self.ast().items {
            let (name, kind, detail, span, name_span) = match item {
                Item::Import(i) => {
                    (i.dotted(), lsp::SymbolKind::MODULE, "import", i.span, i.path_span())
                }
                Item::Block(b) => match b.kind {
                    BlockKind::Block => (
                        b.name.name.clone(),
                        lsp::SymbolKind::FUNCTION,
                        "block",
                        b.span,
                        b.name.span,
                    ),
                    BlockKind::Network => (
                        b.name.name.clone(),
                        lsp::SymbolKind::CLASS,
                        "network",
                        b.span,
                        b.name.span,
                    ),
                },
                Item::Op(o) => (
                    o.name.name.clone(),
                    lsp::SymbolKind::OPERATOR,
                    "operator",
                    o.span,
                    o.name.span,
                ),
            };
            let mut children = Vec::new();
            if let Item::Block(b) = item {
                let mut exprs = Vec::new();
                stmt_exprs(&b.body.stmts, &mut exprs);
                for e in exprs {
                    self.choice_symbols(e, &mut children);
                }
            }
            out.push(self.symbol(
                name,
                kind,
                detail.into(),
                Loc::new(root, span),
                Loc::new(root, name_span),
                children,
            ));
        }
        out
    }

    fn symbol(
        &self,
        name: String,
        kind: lsp::SymbolKind,
        detail: String,
        full: Loc,
        sel: Loc,
        children: Vec<lsp::DocumentSymbol>,
    ) -> lsp::DocumentSymbol {
        #[allow(deprecated)]
        lsp::DocumentSymbol {
            name: if name.is_empty() { "?".into() } else { name },
            detail: Some(detail),
            kind,
            tags: None,
            deprecated: None,
            range: self.range(full),
            selection_range: self.range(sel),
            children: if children.is_empty() { None } else { Some(children) },
        }
    }

    /// Symbols for the choices in `e`, nested as they are written.
    fn choice_symbols(&self, e: &Expr, out: &mut Vec<lsp::DocumentSymbol>) {
        let root = self.root();
        let naming = match &e.kind {
            ExprKind::LayerChoice { naming, .. }
            | ExprKind::ValueChoice { naming, .. }
            | ExprKind::Pick { naming, .. }
            | ExprKind::Repeat { naming, .. } => naming,
            _ => {
                for c in children(e) {
                    self.choice_symbols(c, out);
                }
                return;
            }
        };
        let (kw, kind) = match &e.kind {
            ExprKind::LayerChoice { .. } => ("choice", "layer choice"),
            ExprKind::ValueChoice { .. } => ("choice", "value choice"),
            ExprKind::Pick { .. } => ("pick", "input choice"),
            _ => ("repeat", "depth choice"),
        };
        let (name, sel) = match (&naming.name, &naming.label) {
            (_, Some(l)) => (format!("\"{}\"", l.value), l.span),
            (Some(n), None) => (n.name.clone(), n.span),
            (None, None) => {
                (kw.to_string(), Span::new(e.span.start, (e.span.start + kw.len()).min(e.span.end)))
            }
        };
        let labels = self.labels_of(e);
        let detail = match labels.first() {
            Some((_, l)) if labels.len() == 1 => format!("{kind} {}", l.domain.describe()),
            Some((_, l)) => format!("{kind} {} ({} labels)", l.domain.describe(), labels.len()),
            None => kind.to_string(),
        };
        let mut inner = Vec::new();
        if let ExprKind::LayerChoice { alternatives, .. } = &e.kind {
            for a in alternatives {
                let mut sub = Vec::new();
                self.choice_symbols(&a.value, &mut sub);
                inner.push(self.symbol(
                    a.name.name.clone(),
                    lsp::SymbolKind::ENUM_MEMBER,
                    "alternative".into(),
                    Loc::new(root, a.span),
                    Loc::new(root, a.name.span),
                    sub,
                ));
            }
        } else {
            for c in children(e) {
                self.choice_symbols(c, &mut inner);
            }
        }
        out.push(self.symbol(
            name,
            lsp::SymbolKind::ENUM,
            detail,
            Loc::new(root, e.span),
            Loc::new(root, sel),
            inner,
        ));
    }

    // ----------------------------------------------------------------------------------------
    // Completion.
    // ----------------------------------------------------------------------------------------

    /// Every block and operator in scope, for completion: (name, item).
    pub fn callables(&self) -> Vec<(&str, ItemRef)> {
        let mut v: Vec<(&str, ItemRef)> = self.program().modules[0]
            .scope
            .iter()
            .filter(|(_, r)| {
                matches!(
                    self.program().item(**r),
                    Item::Op(_) | Item::Block(ast::BlockDecl { kind: BlockKind::Block, .. })
                )
            })
            .map(|(n, r)| (n.as_str(), *r))
            .collect();
        v.sort_by_key(|(n, _)| *n);
        v
    }

    /// A completion item for a block or operator.
    pub fn callable_item(&self, name: &str, r: ItemRef) -> lsp::CompletionItem {
        let program = self.program();
        let (kind, what) = match program.item(r) {
            Item::Op(_) => (lsp::CompletionItemKind::FUNCTION, "operator"),
            _ => (lsp::CompletionItemKind::CLASS, "block"),
        };
        lsp::CompletionItem {
            label: name.to_string(),
            kind: Some(kind),
            detail: Some(format!("{what} from {}", program.modules[r.module].name)),
            documentation: Some(lsp::Documentation::MarkupContent(lsp::MarkupContent {
                kind: lsp::MarkupKind::Markdown,
                value: self.item_doc(r),
            })),
            sort_text: Some(format!("1{name}")),
            ..Default::default()
        }
    }

    /// Completion items for the keyword arguments of `callee` not already in `given`.
    pub fn keyword_items(&self, callee: &str, given: &[String]) -> Vec<lsp::CompletionItem> {
        let Some(r) = self.program().modules[0].scope.get(callee) else { return Vec::new() };
        let Some(params) = item_params(self.program().item(*r)) else { return Vec::new() };
        let file = self.program().modules[r.module].file;
        params
            .iter()
            .filter(|p| !given.contains(&p.name.name))
            .enumerate()
            .map(|(i, p)| lsp::CompletionItem {
                label: format!("{}:", p.name.name),
                kind: Some(lsp::CompletionItemKind::FIELD),
                detail: Some(param_text(self.program(), file, p)),
                documentation: (!p.docs.is_empty()).then(|| {
                    lsp::Documentation::MarkupContent(lsp::MarkupContent {
                        kind: lsp::MarkupKind::Markdown,
                        value: doc_text(&p.docs),
                    })
                }),
                insert_text: Some(format!("{}: ", p.name.name)),
                filter_text: Some(p.name.name.clone()),
                sort_text: Some(format!("0{i:03}")),
                ..Default::default()
            })
            .collect()
    }

    /// Every label of the checked networks.
    pub fn label_names(&self) -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = Vec::new();
        for g in &self.checked.graphs {
            for l in &g.labels.labels {
                if !v.iter().any(|(n, _)| *n == l.name) {
                    v.push((l.name.clone(), l.domain.describe()));
                }
            }
        }
        v
    }

    /// The names bound before `offset` in the item around it (parameters, lets, loop
    /// variables).
    pub fn local_names(&self, offset: usize) -> Vec<String> {
        let index = Index::new(self.ast());
        let item = self.ast().items.iter().position(|i| touches(i.span(), offset));
        let mut v: Vec<String> = Vec::new();
        for o in &index.names {
            if Some(o.item) == item
                && matches!(o.role, Role::Param(_) | Role::Let(..) | Role::Binder)
                && o.span.end <= offset
                && !v.iter().any(|n| n == o.name)
            {
                v.push(o.name.to_string());
            }
        }
        v
    }
}

/// Whether an expression is a choice.
fn is_choice(e: &Expr) -> bool {
    matches!(
        e.kind,
        ExprKind::LayerChoice { .. }
            | ExprKind::ValueChoice { .. }
            | ExprKind::Pick { .. }
            | ExprKind::Repeat { .. }
    )
}

/// The direct sub-expressions of `e` (statement values included), in source order.
fn children(e: &Expr) -> Vec<&Expr> {
    let mut v = Vec::new();
    match &e.kind {
        ExprKind::Int(_)
        | ExprKind::Float(_)
        | ExprKind::Str(_)
        | ExprKind::Bool(_)
        | ExprKind::Name(_) => {}
        ExprKind::List(items) => v.extend(items),
        ExprKind::ListComp { elem, iter, .. } => v.extend([&**iter, &**elem]),
        ExprKind::Unary { operand, .. } => v.push(&**operand),
        ExprKind::Binary { lhs, rhs, .. } => v.extend([&**lhs, &**rhs]),
        ExprKind::Call { args, .. } => v.extend(args.iter().map(|a| &a.value)),
        ExprKind::Index { base, index } => v.extend([&**base, &**index]),
        ExprKind::If { cond, then, otherwise } => v.extend([&**cond, &**then, &**otherwise]),
        ExprKind::Block { stmts, value } => {
            stmt_exprs(stmts, &mut v);
            v.push(&**value);
        }
        ExprKind::LayerChoice { alternatives, .. } => {
            v.extend(alternatives.iter().map(|a| &a.value))
        }
        ExprKind::ValueChoice { values, .. } => v.extend(values),
        ExprKind::Pick { count, candidates, .. } => v.extend([&**count, &**candidates]),
        ExprKind::Repeat { depth, body, .. } => {
            match depth {
                ast::Depth::Choice { values, .. } => v.extend(values),
                ast::Depth::Fixed(d) => v.push(&**d),
            }
            v.push(&**body);
        }
    }
    v
}

/// The top-level expressions of statements (let values, loop ranges and bodies, returns).
fn stmt_exprs<'a>(stmts: &'a [ast::Stmt], out: &mut Vec<&'a Expr>) {
    for s in stmts {
        match s {
            ast::Stmt::Let { value, .. } => out.push(value),
            ast::Stmt::For { iter, body, .. } => {
                out.push(iter);
                stmt_exprs(&body.stmts, out);
            }
            ast::Stmt::Return { value, .. } => out.push(value),
        }
    }
}

/// The parameters of a block or operator.
pub fn item_params(item: &Item) -> Option<&[Param]> {
    match item {
        Item::Block(b) => Some(&b.params),
        Item::Op(o) => Some(&o.params),
        Item::Import(_) => None,
    }
}

/// Doc comment lines as Markdown.
fn doc_text(docs: &[String]) -> String {
    docs.iter().map(|l| l.strip_prefix(' ').unwrap_or(l)).collect::<Vec<_>>().join("\n")
}

/// Source text with runs of whitespace made single spaces, and no space or comma before a
/// closing bracket.
fn squash(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for w in s.split_whitespace() {
        if !out.is_empty() && !out.ends_with(['[', '(']) {
            out.push(' ');
        }
        out.push_str(w);
    }
    out.replace(",]", "]")
        .replace(", ]", "]")
        .replace(",)", ")")
        .replace(" ]", "]")
        .replace(" )", ")")
}

fn span_text(program: &Program, file: FileId, span: Span) -> String {
    squash(program.sources.get(file).text.get(span.range()).unwrap_or(""))
}

/// `name: Type = default`, as written.
fn param_text(program: &Program, file: FileId, p: &Param) -> String {
    let mut s = format!("{}: {}", p.name.name, span_text(program, file, p.ty.span()));
    if let Some(d) = &p.default {
        s.push_str(&format!(" = {}", span_text(program, file, d.span)));
    }
    s
}

fn param_doc(program: &Program, file: FileId, p: &Param) -> String {
    let mut s = format!("```nas\n{}\n```", param_text(program, file, p));
    if !p.docs.is_empty() {
        s.push_str("\n\n");
        s.push_str(&doc_text(&p.docs));
    }
    s
}

/// A block's or operator's signature: `operator conv2d(x: Tensor[n, c, h, w], out: int, ...)
/// -> Tensor[...]`, one parameter a line when long.
pub fn signature(program: &Program, r: ItemRef) -> String {
    let file = program.modules[r.module].file;
    let (kw, name, params, ret, constraints): (&str, &str, &[Param], &ast::TypeExpr, &[Expr]) =
        match program.item(r) {
            Item::Block(b) => (
                if b.kind == BlockKind::Network { "network" } else { "block" },
                &b.name.name,
                &b.params,
                &b.ret,
                &b.constraints,
            ),
            Item::Op(o) => ("operator", &o.name.name, &o.params, &o.ret, &[]),
            Item::Import(i) => return format!("import {}", i.dotted()),
        };
    let ps: Vec<String> = params.iter().map(|p| param_text(program, file, p)).collect();
    let one_line = ps.join(", ");
    let mut s = if one_line.len() + name.len() > 70 {
        format!(
            "{kw} {name}(\n{}\n)",
            ps.iter().map(|p| format!("    {p},")).collect::<Vec<_>>().join("\n")
        )
    } else {
        format!("{kw} {name}({one_line})")
    };
    s.push_str(&format!(" -> {}", span_text(program, file, ret.span())));
    if !constraints.is_empty() {
        let cs: Vec<String> =
            constraints.iter().map(|c| span_text(program, file, c.span)).collect();
        s.push_str(&format!("\n    where {}", cs.join(", ")));
    }
    s
}

/// A standard-library module's path relative to the library's root: `std.spaces.darts` ->
/// `spaces/darts.nas`.
fn stdlib_rel_path(module: &str) -> PathBuf {
    PathBuf::from(format!("{}.nas", module.trim_start_matches("std.").replace('.', "/")))
}

/// A read-only copy of the embedded standard library on disk, so that editors can open it
/// (go to definition, related information): `<temp>/nasc-stdlib-<version>-<hash>/`. Written
/// once per process; `None` if it cannot be written.
pub fn stdlib_dir() -> Option<&'static Path> {
    static DIR: OnceLock<Option<PathBuf>> = OnceLock::new();
    DIR.get_or_init(|| {
        let modules = stdlib::modules();
        // FNV-1a over every module, so that a changed library gets a fresh directory.
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for m in &modules {
            for b in m.bytes().chain(stdlib::source(m).unwrap_or("").bytes()) {
                hash = (hash ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
            }
        }
        let dir = std::env::temp_dir()
            .join(format!("nasc-stdlib-{}-{hash:016x}", env!("CARGO_PKG_VERSION")));
        for m in &modules {
            let path = dir.join(stdlib_rel_path(m));
            let text = stdlib::source(m)?;
            if std::fs::read_to_string(&path).ok().as_deref() == Some(text) {
                continue;
            }
            std::fs::create_dir_all(path.parent()?).ok()?;
            let _ = std::fs::remove_file(&path);
            std::fs::write(&path, text).ok()?;
            if let Ok(meta) = std::fs::metadata(&path) {
                let mut perms = meta.permissions();
                perms.set_readonly(true);
                let _ = std::fs::set_permissions(&path, perms);
            }
        }
        Some(dir)
    })
    .as_deref()
}
