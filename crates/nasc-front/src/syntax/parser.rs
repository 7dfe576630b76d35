//! Parsing `.nas` text into the typed AST of [`super::ast`]: the parsers derived from
//! `grammar/nas.pest` (the fast one generated at build time, [`super::fast`]; pest's, which
//! parses again what the fast one rejects and words the error), and the conversion of their
//! parse tree ([`super::tree`]) into the AST.
//!
//! Errors are typed ([`SyntaxError`]); their wording lives in `crate::diagnostics::wording`.
//! The parser recovers at top-level items: the file is cut before every `import`, `block`,
//! `network` or `operator` keyword that starts a line at column 0, each piece is parsed on its own
//! (on several threads for a large file), and so one syntax error does not hide the errors of
//! later items.
//!
//! Bad input never panics: the fast parser gives up on runaway nesting and pest's native stack
//! guard turns it into an error, and the AST built from a parse is at most [`MAX_NESTING`]
//! expressions deep, so that every later stage can recurse over it safely.

use super::ast::*;
use super::lexer::{tokenize, Token};
use super::tree::{Pair, Tree};
use crate::source::Span;
use pest::Parser as _;
use std::collections::HashMap;

/// The pest parser generated from the grammar file.
#[derive(pest_derive::Parser)]
#[grammar = "../../../grammar/nas.pest"]
pub struct NasParser;

/// How deeply expressions may nest (each call, operator, choice, list or pair of parentheses is
/// one level).
pub const MAX_NESTING: usize = 200;

/// The nesting from which building the AST also checks that enough native stack is left.
const STACK_CHECK_FROM: usize = 8;

/// Whether the native stack is nearly used up (less than the 64 KiB that pest's guard keeps in
/// reserve), measured by pest's own guard: a parser call refused for lack of stack fails an
/// empty parse. `false` where the stack's bounds are unknown.
///
/// [`MAX_NESTING`] levels of the AST builder do not fit in every thread's stack (a level takes
/// several KiB in unoptimised builds, and test and language-server threads have 2 MiB), so
/// from [`STACK_CHECK_FROM`] on, running out of stack is reported as nesting too deep.
pub(crate) fn stack_is_low() -> bool {
    pest::state::<Rule, _>("", |s| s.optional(Ok)).is_err()
}

/// What a syntax error expected to find: a kind of construct or an exact token.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Expected {
    /// A grammar rule (described in plain words when rendered).
    Rule(Rule),
    /// An exact piece of text such as `)` or `->`.
    Token(String),
}

/// What stood where a syntax error was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// The end of the file.
    EndOfFile,
    /// A token, as written (shortened if long).
    Token(String),
}

/// A syntax error, typed. Its message is rendered in `crate::diagnostics::wording`.
#[derive(Debug, Clone, PartialEq)]
pub enum SyntaxError {
    /// The text does not follow the grammar (E0001).
    Unexpected {
        /// Where the unexpected token is.
        span: Span,
        /// What was there.
        found: Found,
        /// What would have been accepted.
        expected: Vec<Expected>,
    },
    /// Expressions nest deeper than [`MAX_NESTING`], or deeper than the parser's stack allows
    /// (E0002).
    TooDeep {
        /// The expression (or position) where the limit was reached.
        span: Span,
    },
    /// An integer literal does not fit in 64 bits, or a float is not finite (E0003).
    NumberOutOfRange {
        /// The literal.
        span: Span,
    },
    /// A `\x` escape that strings do not have (E0004). Strings know `\"`, `\\`, `\n`, `\t`.
    BadEscape {
        /// The escape, backslash included.
        span: Span,
        /// The character after the backslash.
        escape: char,
    },
    /// A string literal that reaches the end of its line without a closing quote (E0005).
    UnterminatedString {
        /// From the opening quote to the end of the line.
        span: Span,
    },
}

impl SyntaxError {
    /// The primary span of the error.
    pub fn span(&self) -> Span {
        match self {
            SyntaxError::Unexpected { span, .. }
            | SyntaxError::TooDeep { span }
            | SyntaxError::NumberOutOfRange { span }
            | SyntaxError::BadEscape { span, .. }
            | SyntaxError::UnterminatedString { span } => *span,
        }
    }
}

/// Parses a whole file. Returns the items that parsed and every syntax error found, in
/// source order. Never panics, whatever the input.
pub fn parse_module(src: &str) -> (Module, Vec<SyntaxError>) {
    parse_chunks(src, None)
}

/// Like [`parse_module`], reusing the items of `cache` for every piece of the file (an item
/// with the doc comments above it) whose text is unchanged since an earlier parse, wherever it
/// now is in the file. The language server parses a file again on every change, and most of
/// its items (and all of the standard library's) are unchanged.
pub fn parse_module_cached(src: &str, cache: &mut ParseCache) -> (Module, Vec<SyntaxError>) {
    parse_chunks(src, Some(cache))
}

/// The items of pieces of files parsed before, by their text (see [`parse_module_cached`]).
/// Only pieces that parsed without an error are kept.
#[derive(Debug, Default)]
pub struct ParseCache {
    chunks: HashMap<String, CachedChunk>,
    generation: u64,
}

#[derive(Debug)]
struct CachedChunk {
    /// Where the piece started when it was parsed (its items' spans are relative to the file).
    start: usize,
    items: Vec<Item>,
    /// The generation of the cache that last used it.
    used: u64,
}

impl ParseCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// Forgets every piece that no parse has used since the last sweep: call it after each
    /// round of parsing (one check of a document), so that the cache holds what the latest
    /// round used.
    pub fn sweep(&mut self) {
        let g = self.generation;
        self.chunks.retain(|_, c| c.used == g);
        self.generation += 1;
    }

    /// How many pieces the cache holds.
    pub fn len(&self) -> usize {
        self.chunks.len()
    }

    /// Whether the cache is empty.
    pub fn is_empty(&self) -> bool {
        self.chunks.is_empty()
    }
}

/// Files with at least this many pieces have their pieces parsed on several threads.
const PARALLEL_FROM: usize = 16;

/// What became of one piece of a file.
enum Piece {
    /// Unchanged since a parse with the cache: its items, spans shifted to where it is now.
    Cached(Vec<Item>),
    /// Parsed: the items built, and the errors met building them (numbers out of range,
    /// escapes, nesting).
    Built(Vec<Item>, Vec<SyntaxError>),
    /// Does not parse: pest's error, positions relative to the piece.
    Failed(Box<pest::error::Error<Rule>>),
}

fn parse_chunks(src: &str, mut cache: Option<&mut ParseCache>) -> (Module, Vec<SyntaxError>) {
    let pieces = chunks(src);
    // Pieces the cache holds, first (this marks them used).
    let mut done: Vec<Option<Piece>> = pieces
        .iter()
        .map(|&(start, end)| {
            let c = cache.as_deref_mut()?;
            let generation = c.generation;
            let hit = c.chunks.get_mut(&src[start..end])?;
            hit.used = generation;
            let delta = start as isize - hit.start as isize;
            let items = hit
                .items
                .iter()
                .cloned()
                .map(|mut item| {
                    if delta != 0 {
                        shift_item(&mut item, delta);
                    }
                    item
                })
                .collect();
            Some(Piece::Cached(items))
        })
        .collect();
    // The others, on every core for a large file: pieces are independent.
    let parse = |(slot, &(start, end)): (&mut Option<Piece>, &(usize, usize))| {
        if slot.is_none() {
            *slot = Some(parse_piece(&src[start..end], start));
        }
    };
    let missing = done.iter().filter(|d| d.is_none()).count();
    if let (true, Some(pool)) = (missing >= PARALLEL_FROM, crate::pool::pool()) {
        use rayon::prelude::*;
        pool.install(|| done.par_iter_mut().zip(pieces.par_iter()).for_each(parse));
    } else {
        done.iter_mut().zip(pieces.iter()).for_each(parse);
    }
    // The token stream is only needed to describe a syntax error.
    let mut tokens: Option<Vec<(Token, Span)>> = None;
    let mut module = Module::default();
    let mut errors = Vec::new();
    for (piece, &(start, end)) in done.into_iter().zip(&pieces) {
        match piece.expect("every piece was looked up or parsed") {
            Piece::Cached(items) => module.items.extend(items),
            Piece::Built(items, errs) => {
                if let (Some(c), true) = (cache.as_deref_mut(), errs.is_empty()) {
                    c.chunks.insert(
                        src[start..end].to_string(),
                        CachedChunk { start, items: items.clone(), used: c.generation },
                    );
                }
                module.items.extend(items);
                errors.extend(errs);
            }
            Piece::Failed(e) => errors.push(convert_error(
                src,
                start,
                tokens.get_or_insert_with(|| tokenize(src)),
                *e,
            )),
        }
    }
    errors.sort_by_key(|e| (e.span().start, e.span().end));
    (module, errors)
}

/// Parses one piece of a file (`text`, found at byte `offset` of the file) and builds its items.
fn parse_piece(text: &str, offset: usize) -> Piece {
    match parse_tree(Rule::file, text) {
        Ok(tree) => {
            let file = tree.pairs().next().expect("the file rule yields one pair");
            let mut b = Builder { offset, errors: Vec::new() };
            let mut items = Vec::new();
            for pair in children(file) {
                if pair.as_rule() == Rule::EOI {
                    continue;
                }
                if let Some(item) = b.item(pair) {
                    items.push(item);
                }
            }
            Piece::Built(items, b.errors)
        }
        Err(e) => Piece::Failed(Box::new(e)),
    }
}

/// Parses `text` with `rule`: with the fast parser generated from the grammar
/// ([`super::fast`]), and where it fails, with pest (its error detail on, to word the error);
/// pest also decides the rare text that nests too deeply for the fast parser.
fn parse_tree(rule: Rule, text: &str) -> Result<Tree<'_, Rule>, pest::error::Error<Rule>> {
    if let Some(tree) = super::fast::parse(rule, text) {
        return Ok(tree);
    }
    // Error detail (what was expected) is a process-wide pest setting; nasc always wants it on
    // for the texts pest sees, which are only those that fail (or nest too deeply).
    pest::set_error_detail(true);
    NasParser::parse(rule, text).map(|pairs| Tree::from_pest(text, pairs))
}

/// Parses one expression on its own (used by tests and editor tools).
pub fn parse_expr(src: &str) -> Result<Expr, SyntaxError> {
    let tokens = tokenize(src);
    match parse_tree(Rule::expr_only, src) {
        Ok(tree) => {
            let top = tree.pairs().next().expect("expr_only yields one pair");
            let pair = children(top).next().expect("expr_only holds an expr");
            let mut b = Builder { offset: 0, errors: Vec::new() };
            let (e, _) = b.expr(pair, 0)?;
            match b.errors.into_iter().next() {
                Some(err) => Err(err),
                None => Ok(e),
            }
        }
        Err(e) => Err(convert_error(src, 0, &tokens, e)),
    }
}

/// Cuts the file into pieces, each starting at an item keyword at column 0 (with the doc
/// comments right above it), so that items parse independently.
///
/// Works line by line: no token of the language spans lines (strings and comments end at the
/// line's end), so every line starts afresh. A line of whitespace or comments keeps the doc
/// comments seen above; a doc comment at column 0 starts them; an item keyword at column 0
/// starts a piece (at the first of those doc comments); any other line forgets them. The
/// unit test `line_chunks_equal_token_chunks` checks this against the token stream.
fn chunks(src: &str) -> Vec<(usize, usize)> {
    const ITEM_KEYWORDS: [&str; 4] = ["import", "block", "network", "operator"];
    let mut starts = vec![0usize];
    let mut doc_start: Option<usize> = None;
    let mut at = 0usize;
    for line in src.split_inclusive('\n') {
        let line_at = at;
        at += line.len();
        let rest = line.trim_start_matches([' ', '\t', '\r', '\n']);
        if rest.is_empty() {
            continue;
        }
        if rest.starts_with("//") {
            let doc = rest.starts_with("///") && !rest.starts_with("////");
            if doc && doc_start.is_none() && rest.len() == line.len() {
                doc_start = Some(line_at);
            }
            continue;
        }
        if rest.len() == line.len() {
            let item = ITEM_KEYWORDS.iter().any(|k| {
                line.strip_prefix(k).is_some_and(|after| {
                    !after.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
                })
            });
            if item {
                let s = doc_start.unwrap_or(line_at);
                if s > 0 {
                    starts.push(s);
                }
            }
        }
        doc_start = None;
    }
    pieces_between(starts, src.len())
}

/// The pieces from each start to the next (the last to `len`), given the starts in order.
fn pieces_between(mut starts: Vec<usize>, len: usize) -> Vec<(usize, usize)> {
    starts.dedup();
    let ends = starts.iter().skip(1).copied().chain([len]);
    starts.iter().copied().zip(ends).collect()
}

/// The same cut as [`chunks`], from the token stream (the reference for its test).
#[cfg(test)]
fn chunks_from_tokens(src: &str, tokens: &[(Token, Span)]) -> Vec<(usize, usize)> {
    let mut starts = vec![0usize];
    let mut doc_start: Option<usize> = None;
    for &(tok, span) in tokens {
        match tok {
            Token::DocComment => {
                if doc_start.is_none() && at_line_start(src, span.start) {
                    doc_start = Some(span.start);
                }
                continue;
            }
            Token::LineComment => continue,
            Token::Import | Token::Block | Token::Network | Token::Operator
                if at_line_start(src, span.start) =>
            {
                let s = doc_start.unwrap_or(span.start);
                if s > 0 {
                    starts.push(s);
                }
            }
            _ => {}
        }
        doc_start = None;
    }
    pieces_between(starts, src.len())
}

#[cfg(test)]
fn at_line_start(src: &str, offset: usize) -> bool {
    offset == 0 || src.as_bytes()[offset - 1] == b'\n'
}

/// Converts a pest error (positions relative to a chunk at `offset`) into a [`SyntaxError`].
fn convert_error(
    src: &str,
    offset: usize,
    tokens: &[(Token, Span)],
    e: pest::error::Error<Rule>,
) -> SyntaxError {
    let pos = match e.location {
        pest::error::InputLocation::Pos(p) => p,
        pest::error::InputLocation::Span((s, _)) => s,
    } + offset;
    let (found, span) = found_at(src, tokens, pos);
    match &e.variant {
        pest::error::ErrorVariant::CustomError { .. } => SyntaxError::TooDeep { span },
        pest::error::ErrorVariant::ParsingError { positives, .. } => {
            if let Some(Token::Str) | None = token_kind_at(tokens, pos) {
                if src[pos..].starts_with('"') && !closes_on_line(&src[pos..]) {
                    let end = src[pos..].find('\n').map(|i| pos + i).unwrap_or(src.len());
                    return SyntaxError::UnterminatedString { span: Span::new(pos, end) };
                }
            }
            let mut expected: Vec<Expected> =
                positives.iter().filter_map(|r| visible_rule(*r)).map(Expected::Rule).collect();
            if let Some(attempts) = e.parse_attempts() {
                for t in attempts.expected_tokens() {
                    let token = t.to_string();
                    if is_punctuation(&token) {
                        expected.push(Expected::Token(token));
                    }
                }
            }
            expected.sort();
            expected.dedup();
            SyntaxError::Unexpected { span, found, expected }
        }
    }
}

fn closes_on_line(s: &str) -> bool {
    let line = s.split('\n').next().unwrap_or("");
    let mut chars = line.chars().skip(1);
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                chars.next();
            }
            '"' => return true,
            _ => {}
        }
    }
    false
}

fn token_kind_at(tokens: &[(Token, Span)], pos: usize) -> Option<Token> {
    let i = tokens.partition_point(|(_, s)| s.end <= pos);
    tokens.get(i).filter(|(_, s)| s.start <= pos).map(|(t, _)| *t)
}

/// The token that starts at (or covers) `pos`, for "found ..." and the error's span.
fn found_at(src: &str, tokens: &[(Token, Span)], pos: usize) -> (Found, Span) {
    let i = tokens.partition_point(|(_, s)| s.end <= pos);
    match tokens.get(i) {
        Some(&(_, span)) => {
            let span = if span.start <= pos { span } else { Span::new(pos, pos) };
            if span.start == span.end {
                return next_char(src, pos);
            }
            let text = &src[span.start..span.end];
            let shown: String = if text.chars().count() > 24 {
                text.chars().take(21).chain("...".chars()).collect()
            } else {
                text.to_string()
            };
            (Found::Token(shown), span)
        }
        None => next_char(src, pos),
    }
}

fn next_char(src: &str, pos: usize) -> (Found, Span) {
    match src[pos..].chars().find(|c| !c.is_whitespace()) {
        None => (Found::EndOfFile, Span::new(src.len(), src.len())),
        Some(c) => {
            let at = pos + src[pos..].find(c).unwrap_or(0);
            (Found::Token(c.to_string()), Span::new(at, at + c.len_utf8()))
        }
    }
}

/// Punctuation worth naming in "expected ..." (letters tried inside names are not).
fn is_punctuation(t: &str) -> bool {
    matches!(
        t,
        "(" | ")" | "[" | "]" | "{" | "}" | "," | ":" | ";" | "." | "..." | "->" | "=" | "\""
    )
}

/// Rules that mean something to a user; the rest are folded into these or dropped.
fn visible_rule(r: Rule) -> Option<Rule> {
    use Rule::*;
    Some(match r {
        EOI => EOI,
        // Anything that can start an expression is "an expression".
        expr | neg | kw_not | postfix_expr | choice_expr | pick_expr | repeat_expr | if_expr
        | call | list | block_expr | paren | float | int | string | kw_true | kw_false => expr,
        // The `for` part of a comprehension.
        list_comp => kw_for,
        ident | choice_name => ident,
        // Infix operators fold into one entry.
        range | or | and | eq | ne | le | ge | lt | gt | add | sub | mul | div | rem | pow => add,
        index => index,
        doc_comment | doc => return None,
        kw_import | kw_block | kw_network | kw_operator => kw_block,
        other => other,
    })
}

/// The children of a pair, without the comments the grammar keeps in the tree.
fn children(pair: Pair<'_, Rule>) -> impl Iterator<Item = Pair<'_, Rule>> {
    pair.into_inner().filter(|p| p.as_rule() != Rule::COMMENT)
}

type Res<T> = Result<T, SyntaxError>;

/// Builds AST nodes from pest pairs of one chunk (whose spans start at `offset`).
struct Builder {
    offset: usize,
    errors: Vec<SyntaxError>,
}

impl Builder {
    /// The node's bytes, without the whitespace pest's implicit `WHITESPACE` leaves at the end
    /// of a rule whose last part is optional (a call's span would otherwise run on to the next
    /// line, and diagnostics underline it).
    fn span(&self, p: &Pair<'_, Rule>) -> Span {
        let s = p.as_span();
        let kept = s.as_str().trim_end_matches([' ', '\t', '\r', '\n']).len();
        Span::new(s.start() + self.offset, s.start() + kept + self.offset)
    }

    fn ident(&self, p: Pair<'_, Rule>) -> Ident {
        Ident { name: p.as_str().to_string(), span: self.span(&p) }
    }

    /// Builds one item; an item with an error inside is reported and left out.
    fn item(&mut self, p: Pair<'_, Rule>) -> Option<Item> {
        let r = match p.as_rule() {
            Rule::import_decl => self.import(p).map(Item::Import),
            Rule::block_decl => self.block(p, BlockKind::Block).map(Item::Block),
            Rule::network_decl => self.block(p, BlockKind::Network).map(Item::Block),
            Rule::op_decl => self.op(p).map(Item::Op),
            other => unreachable!("the grammar has no item {other:?}"),
        };
        match r {
            Ok(i) => Some(i),
            Err(e) => {
                self.errors.push(e);
                None
            }
        }
    }

    fn docs(&self, p: Pair<'_, Rule>) -> Docs {
        children(p)
            .map(|d| {
                let t = d.as_str().trim_start_matches("///");
                t.strip_prefix(' ').unwrap_or(t).trim_end().to_string()
            })
            .collect()
    }

    fn import(&mut self, p: Pair<'_, Rule>) -> Res<Import> {
        let span = self.span(&p);
        let mut docs = Vec::new();
        let mut path = Vec::new();
        let mut names = None;
        for c in children(p) {
            match c.as_rule() {
                Rule::doc => docs = self.docs(c),
                Rule::module_path => path = children(c).map(|i| self.ident(i)).collect(),
                Rule::import_list => names = Some(children(c).map(|i| self.ident(i)).collect()),
                _ => {}
            }
        }
        Ok(Import { docs, path, names, span })
    }

    fn block(&mut self, p: Pair<'_, Rule>, kind: BlockKind) -> Res<BlockDecl> {
        let span = self.span(&p);
        let mut docs = Vec::new();
        let mut name = None;
        let mut params = Vec::new();
        let mut ret = None;
        let mut constraints = Vec::new();
        let mut body = None;
        for c in children(p) {
            match c.as_rule() {
                Rule::doc => docs = self.docs(c),
                Rule::ident => name = Some(self.ident(c)),
                Rule::param_list => params = self.params(c)?,
                Rule::tensor_type | Rule::named_type => ret = Some(self.ty(c)?),
                Rule::where_clause => {
                    for e in children(c).filter(|e| e.as_rule() == Rule::expr) {
                        constraints.push(self.expr(e, 1)?.0);
                    }
                }
                Rule::body => body = Some(self.body(c, 1)?),
                _ => {}
            }
        }
        Ok(BlockDecl {
            docs,
            kind,
            name: name.expect("grammar: block name"),
            params,
            ret: ret.expect("grammar: return type"),
            constraints,
            body: body.expect("grammar: body"),
            span,
        })
    }

    fn op(&mut self, p: Pair<'_, Rule>) -> Res<OpDecl> {
        let span = self.span(&p);
        let mut docs = Vec::new();
        let mut name = None;
        let mut params = Vec::new();
        let mut ret = None;
        let mut clauses = Vec::new();
        for c in children(p) {
            match c.as_rule() {
                Rule::doc => docs = self.docs(c),
                Rule::ident => name = Some(self.ident(c)),
                Rule::param_list => params = self.params(c)?,
                Rule::tensor_type | Rule::named_type => ret = Some(self.ty(c)?),
                Rule::op_body => {
                    for cl in children(c) {
                        let cspan = self.span(&cl);
                        match cl.as_rule() {
                            Rule::require => {
                                let mut it =
                                    children(cl).filter(|x| x.as_rule() != Rule::kw_require);
                                let cond = self.expr(it.next().expect("grammar: condition"), 1)?.0;
                                let message = match it.next() {
                                    Some(s) => Some(self.string(s)?),
                                    None => None,
                                };
                                clauses.push(OpClause::Require { cond, message, span: cspan });
                            }
                            Rule::measure => {
                                let mut it = children(cl);
                                let name = self.ident(it.next().expect("grammar: measure name"));
                                let value = self.expr(it.next().expect("grammar: formula"), 1)?.0;
                                clauses.push(OpClause::Measure { name, value, span: cspan });
                            }
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(OpDecl {
            docs,
            name: name.expect("grammar: op name"),
            params,
            ret: ret.expect("grammar: op type"),
            clauses,
            span,
        })
    }

    fn params(&mut self, p: Pair<'_, Rule>) -> Res<Vec<Param>> {
        let mut out = Vec::new();
        for c in children(p) {
            let span = self.span(&c);
            let mut docs = Vec::new();
            let mut name = None;
            let mut ty = None;
            let mut default = None;
            for x in children(c) {
                match x.as_rule() {
                    Rule::doc => docs = self.docs(x),
                    Rule::ident => name = Some(self.ident(x)),
                    Rule::tensor_type | Rule::named_type => ty = Some(self.ty(x)?),
                    Rule::expr => default = Some(self.expr(x, 1)?.0),
                    _ => {}
                }
            }
            out.push(Param {
                docs,
                name: name.expect("grammar: param name"),
                ty: ty.expect("grammar: param type"),
                default,
                span,
            });
        }
        Ok(out)
    }

    fn ty(&mut self, p: Pair<'_, Rule>) -> Res<TypeExpr> {
        self.ty_at(p, 1)
    }

    /// Builds a type nested `level` deep (`list[list[int]]` nests 2 deep).
    fn ty_at(&mut self, p: Pair<'_, Rule>, level: usize) -> Res<TypeExpr> {
        let span = self.span(&p);
        if level > MAX_NESTING || (level >= STACK_CHECK_FROM && stack_is_low()) {
            return Err(SyntaxError::TooDeep { span });
        }
        match p.as_rule() {
            Rule::tensor_type => {
                let mut dims = Vec::new();
                for d in children(p) {
                    match d.as_rule() {
                        Rule::rest_dim => {
                            let id = children(d).next().expect("grammar: rest name");
                            dims.push(Dim::Rest(self.ident(id)));
                        }
                        Rule::expr => dims.push(Dim::Expr(self.expr(d, 1)?.0)),
                        _ => {}
                    }
                }
                Ok(TypeExpr::Tensor { dims, span })
            }
            _ => {
                let mut it = children(p);
                let name = self.ident(it.next().expect("grammar: type name"));
                let arg = match it.next() {
                    Some(a) => Some(Box::new(self.ty_at(a, level + 1)?)),
                    None => None,
                };
                Ok(TypeExpr::Named { name, arg, span })
            }
        }
    }

    fn body(&mut self, p: Pair<'_, Rule>, level: usize) -> Res<Body> {
        let span = self.span(&p);
        let mut stmts = Vec::new();
        for c in children(p) {
            stmts.push(self.stmt(c, level)?.0);
        }
        Ok(Body { stmts, span })
    }

    /// Builds a statement; returns it with the height of its deepest expression.
    fn stmt(&mut self, p: Pair<'_, Rule>, level: usize) -> Res<(Stmt, usize)> {
        let span = self.span(&p);
        match p.as_rule() {
            Rule::let_stmt => {
                let mut docs = Vec::new();
                let mut name = None;
                let mut ty = None;
                let mut value = None;
                for c in children(p) {
                    match c.as_rule() {
                        Rule::doc => docs = self.docs(c),
                        Rule::ident => name = Some(self.ident(c)),
                        Rule::tensor_type | Rule::named_type => ty = Some(self.ty(c)?),
                        Rule::expr => value = Some(self.expr(c, level)?),
                        _ => {}
                    }
                }
                let (value, h) = value.expect("grammar: let value");
                Ok((Stmt::Let { docs, name: name.expect("grammar: let name"), ty, value, span }, h))
            }
            Rule::for_stmt => {
                let mut var = None;
                let mut iter = None;
                let mut body = None;
                for c in children(p) {
                    match c.as_rule() {
                        Rule::ident => var = Some(self.ident(c)),
                        Rule::expr => iter = Some(self.expr(c, level)?.0),
                        Rule::body => body = Some(self.body(c, level + 1)?),
                        _ => {}
                    }
                }
                Ok((
                    Stmt::For {
                        var: var.expect("grammar: loop variable"),
                        iter: iter.expect("grammar: loop range"),
                        body: body.expect("grammar: loop body"),
                        span,
                    },
                    1,
                ))
            }
            Rule::return_stmt => {
                let e =
                    children(p).find(|c| c.as_rule() == Rule::expr).expect("grammar: return value");
                let (value, h) = self.expr(e, level)?;
                Ok((Stmt::Return { value, span }, h))
            }
            other => unreachable!("the grammar has no statement {other:?}"),
        }
    }

    fn check_level(&self, level: usize, span: Span) -> Res<()> {
        if level > MAX_NESTING {
            Err(SyntaxError::TooDeep { span })
        } else {
            Ok(())
        }
    }

    /// Builds an expression at nesting `level`; returns it with its height.
    ///
    /// `expr`, `postfix`, `primary` and `prim_paren` are what every level of nesting passes
    /// through, so they keep few locals (the work is done in [`Operands`] and [`index_into`]):
    /// in unoptimised builds each local gets its own stack slot, and [`MAX_NESTING`] levels
    /// must fit in a 2 MiB thread.
    fn expr(&mut self, p: Pair<'_, Rule>, level: usize) -> Res<(Expr, usize)> {
        // Most expressions are one operand without operators.
        let mut it = children(p);
        if let (Some(only), None) = (it.next(), it.next()) {
            if only.as_rule() == Rule::postfix_expr {
                // The nesting check `Operands::new` makes, at this expression's span.
                let s = p.as_span();
                self.check_level(level, Span::new(s.start() + self.offset, s.end() + self.offset))?;
                return self.postfix(only, level);
            }
        }
        let mut parts = Operands::new(self.offset, &p, level)?;
        for c in children(p) {
            if c.as_rule() == Rule::postfix_expr {
                let built = self.postfix(c, parts.operand_level());
                parts.push_operand(built)?;
            } else {
                parts.push_token(&c);
            }
        }
        Ok(parts.finish())
    }

    fn postfix(&mut self, p: Pair<'_, Rule>, level: usize) -> Res<(Expr, usize)> {
        let n_idx = children(p).count().saturating_sub(1);
        let mut it = children(p);
        self.check_level(level + n_idx, Span::default())?;
        let first = it.next().expect("grammar: primary");
        let mut acc = self.primary(first, level + n_idx);
        for idx in it {
            let ispan = self.span(&idx);
            let inner = children(idx).next().expect("grammar: index expr");
            let built = self.expr(inner, level + n_idx);
            acc = index_into(acc, built, ispan);
        }
        acc
    }

    fn exprs(&mut self, p: Pair<'_, Rule>, level: usize) -> Res<(Vec<Expr>, usize)> {
        let mut out = Vec::new();
        let mut h = 0;
        for c in children(p) {
            if c.as_rule() == Rule::expr {
                let (e, eh) = self.expr(c, level)?;
                h = h.max(eh);
                out.push(e);
            }
        }
        Ok((out, h))
    }

    fn string(&mut self, p: Pair<'_, Rule>) -> Res<StrLit> {
        let span = self.span(&p);
        let raw = &p.as_str()[1..p.as_str().len() - 1];
        let mut value = String::with_capacity(raw.len());
        let mut chars = raw.char_indices();
        while let Some((i, c)) = chars.next() {
            if c != '\\' {
                value.push(c);
                continue;
            }
            let (j, e) = chars.next().expect("grammar: a backslash is followed by a character");
            match e {
                'n' => value.push('\n'),
                't' => value.push('\t'),
                '"' => value.push('"'),
                '\\' => value.push('\\'),
                other => {
                    let start = span.start + 1 + i;
                    return Err(SyntaxError::BadEscape {
                        span: Span::new(start, span.start + 1 + j + other.len_utf8()),
                        escape: other,
                    });
                }
            }
        }
        Ok(StrLit { value, span })
    }

    fn naming(
        &mut self,
        name: Option<Pair<'_, Rule>>,
        label: Option<Pair<'_, Rule>>,
    ) -> Res<Box<ChoiceName>> {
        let name = name.map(|n| self.ident(children(n).next().expect("grammar: choice name")));
        let label = match label {
            Some(l) => {
                let s = children(l)
                    .find(|x| x.as_rule() == Rule::string)
                    .expect("grammar: label string");
                Some(self.string(s)?)
            }
            None => None,
        };
        Ok(Box::new(ChoiceName { name, label }))
    }

    /// Builds a primary expression. Every kind is built by its own method, so that this
    /// function, which each level of nesting passes through, keeps a small stack frame: with
    /// all kinds' locals in one frame, a level took about 34 KiB of stack in unoptimised
    /// builds, and [`MAX_NESTING`] levels overflowed a 2 MiB thread.
    fn primary(&mut self, p: Pair<'_, Rule>, level: usize) -> Res<(Expr, usize)> {
        let span = self.span(&p);
        if level > MAX_NESTING || (level >= STACK_CHECK_FROM && stack_is_low()) {
            return Err(SyntaxError::TooDeep { span });
        }
        let next = level + 1;
        let built = match p.as_rule() {
            // Parentheses add no level to the AST, but one to the builder's recursion.
            Rule::paren => return self.prim_paren(p, next, span),
            Rule::list => self.prim_list(p, next),
            Rule::call => self.prim_call(p, next),
            Rule::if_expr => self.prim_if(p, next),
            Rule::block_expr => self.prim_block(p, next),
            Rule::choice_expr => self.prim_choice(p, next),
            Rule::pick_expr => self.prim_pick(p, next),
            Rule::repeat_expr => self.prim_repeat(p, next),
            _ => self.prim_atom(p, span),
        };
        finish_primary(built, level, span)
    }

    fn prim_atom(&mut self, p: Pair<'_, Rule>, span: Span) -> Res<(ExprKind, usize)> {
        Ok(match p.as_rule() {
            Rule::int => {
                let digits: String = p.as_str().chars().filter(|&c| c != '_').collect();
                match digits.parse::<i64>() {
                    Ok(v) => (ExprKind::Int(v), 1),
                    Err(_) => return Err(SyntaxError::NumberOutOfRange { span }),
                }
            }
            Rule::float => {
                let digits: String = p.as_str().chars().filter(|&c| c != '_').collect();
                match digits.parse::<f64>() {
                    Ok(v) if v.is_finite() => (ExprKind::Float(v), 1),
                    _ => return Err(SyntaxError::NumberOutOfRange { span }),
                }
            }
            Rule::string => (ExprKind::Str(self.string(p)?.value), 1),
            Rule::kw_true => (ExprKind::Bool(true), 1),
            Rule::kw_false => (ExprKind::Bool(false), 1),
            Rule::ident => (ExprKind::Name(self.ident(p)), 1),
            other => unreachable!("the grammar has no primary {other:?}"),
        })
    }

    fn prim_paren(&mut self, p: Pair<'_, Rule>, level: usize, span: Span) -> Res<(Expr, usize)> {
        let e = children(p).next().expect("grammar: parenthesised expr");
        let mut built = self.expr(e, level);
        if let Ok((inner, _)) = &mut built {
            inner.span = span;
        }
        built
    }

    /// A list, or a comprehension when the `for` part (`list_comp`) follows the first element.
    fn prim_list(&mut self, p: Pair<'_, Rule>, next: usize) -> Res<(ExprKind, usize)> {
        let Some(comp) = children(p).find(|c| c.as_rule() == Rule::list_comp) else {
            let (items, h) = self.exprs(p, next)?;
            return Ok((ExprKind::List(items), h + 1));
        };
        let elem = children(p).next().expect("grammar: element");
        let (elem, h1) = self.expr(elem, next)?;
        let mut it = children(comp);
        let _for = it.next();
        let var = self.ident(it.next().expect("grammar: variable"));
        let _in = it.next();
        let (iter, h2) = self.expr(it.next().expect("grammar: iterable"), next)?;
        Ok((ExprKind::ListComp { elem: Box::new(elem), var, iter: Box::new(iter) }, h1.max(h2) + 1))
    }

    fn prim_call(&mut self, p: Pair<'_, Rule>, next: usize) -> Res<(ExprKind, usize)> {
        let mut it = children(p);
        let callee = self.ident(it.next().expect("grammar: callee"));
        let mut args = Vec::new();
        let mut label = None;
        let mut h = 0;
        for a in it {
            if a.as_rule() == Rule::label_clause {
                let s = children(a)
                    .find(|x| x.as_rule() == Rule::string)
                    .expect("grammar: label string");
                label = Some(Box::new(self.string(s)?));
                continue;
            }
            let aspan = self.span(&a);
            let mut name = None;
            let mut value = None;
            for x in children(a) {
                match x.as_rule() {
                    Rule::ident => name = Some(self.ident(x)),
                    _ => value = Some(self.expr(x, next)?),
                }
            }
            let (value, vh) = value.expect("grammar: argument value");
            h = h.max(vh);
            args.push(Arg { name, value, span: aspan });
        }
        Ok((ExprKind::Call { callee, args, label }, h + 1))
    }

    fn prim_if(&mut self, p: Pair<'_, Rule>, next: usize) -> Res<(ExprKind, usize)> {
        let mut es = Vec::new();
        let mut h = 0;
        for c in children(p).filter(|c| c.as_rule() == Rule::expr) {
            let (e, eh) = self.expr(c, next)?;
            h = h.max(eh);
            es.push(e);
        }
        let otherwise = Box::new(es.pop().expect("grammar: else"));
        let then = Box::new(es.pop().expect("grammar: then"));
        let cond = Box::new(es.pop().expect("grammar: condition"));
        Ok((ExprKind::If { cond, then, otherwise }, h + 1))
    }

    fn prim_block(&mut self, p: Pair<'_, Rule>, next: usize) -> Res<(ExprKind, usize)> {
        let (stmts, value, h) = self.block_expr(p, next)?;
        Ok((ExprKind::Block { stmts, value: Box::new(value) }, h + 1))
    }

    fn prim_choice(&mut self, p: Pair<'_, Rule>, next: usize) -> Res<(ExprKind, usize)> {
        let mut name = None;
        let mut label = None;
        let mut result = None;
        for c in children(p) {
            match c.as_rule() {
                Rule::choice_name => name = Some(c),
                Rule::label_clause => label = Some(c),
                Rule::alternatives => {
                    let mut alts = Vec::new();
                    let mut h = 0;
                    for a in children(c) {
                        let aspan = self.span(&a);
                        let mut docs = Vec::new();
                        let mut aname = None;
                        let mut value = None;
                        for x in children(a) {
                            match x.as_rule() {
                                Rule::doc => docs = self.docs(x),
                                Rule::ident => aname = Some(self.ident(x)),
                                _ => value = Some(self.expr(x, next)?),
                            }
                        }
                        let (value, vh) = value.expect("grammar: alternative value");
                        h = h.max(vh);
                        alts.push(Alternative {
                            docs,
                            name: aname.expect("grammar: alternative name"),
                            value,
                            span: aspan,
                        });
                    }
                    result = Some((true, alts, Vec::new(), h));
                }
                Rule::values => {
                    let (vals, h) = self.exprs(c, next)?;
                    result = Some((false, Vec::new(), vals, h));
                }
                _ => {}
            }
        }
        let naming = self.naming(name, label)?;
        let (layer, alternatives, values, h) = result.expect("grammar: choice body");
        if layer {
            Ok((ExprKind::LayerChoice { naming, alternatives }, h + 1))
        } else {
            Ok((ExprKind::ValueChoice { naming, values }, h + 1))
        }
    }

    fn prim_pick(&mut self, p: Pair<'_, Rule>, next: usize) -> Res<(ExprKind, usize)> {
        let mut name = None;
        let mut label = None;
        let mut count = None;
        let mut candidates = None;
        let mut reduce = None;
        for c in children(p) {
            match c.as_rule() {
                Rule::choice_name => name = Some(c),
                Rule::label_clause => label = Some(c),
                Rule::int => count = Some(self.primary(c, next)?.0),
                Rule::expr => candidates = Some(self.expr(c, next)?),
                Rule::ident => reduce = Some(self.ident(c)),
                _ => {}
            }
        }
        let naming = self.naming(name, label)?;
        let (candidates, h) = candidates.expect("grammar: pick candidates");
        Ok((
            ExprKind::Pick {
                naming,
                count: Box::new(count.expect("grammar: pick count")),
                candidates: Box::new(candidates),
                reduce,
            },
            h + 1,
        ))
    }

    fn prim_repeat(&mut self, p: Pair<'_, Rule>, next: usize) -> Res<(ExprKind, usize)> {
        let mut name = None;
        let mut label = None;
        let mut depth = None;
        let mut var = None;
        let mut body = None;
        let mut h = 0;
        for c in children(p) {
            match c.as_rule() {
                Rule::choice_name => name = Some(c),
                Rule::label_clause => label = Some(c),
                Rule::values => {
                    let vspan = self.span(&c);
                    let (values, vh) = self.exprs(c, next)?;
                    h = h.max(vh);
                    depth = Some(Depth::Choice { values, span: vspan });
                }
                Rule::fixed_depth => {
                    let e = children(c).next().expect("grammar: depth");
                    let (e, eh) = self.expr(e, next)?;
                    h = h.max(eh);
                    depth = Some(Depth::Fixed(Box::new(e)));
                }
                Rule::ident => var = Some(self.ident(c)),
                Rule::block_expr => {
                    let bspan = self.span(&c);
                    let (stmts, value, bh) = self.block_expr(c, next)?;
                    h = h.max(bh);
                    body = Some(Expr {
                        kind: ExprKind::Block { stmts, value: Box::new(value) },
                        span: bspan,
                    });
                }
                _ => {}
            }
        }
        let naming = self.naming(name, label)?;
        Ok((
            ExprKind::Repeat {
                naming,
                depth: depth.expect("grammar: depth"),
                var: var.expect("grammar: carried variable"),
                body: Box::new(body.expect("grammar: repeat body")),
            },
            h + 2,
        ))
    }

    fn block_expr(&mut self, p: Pair<'_, Rule>, level: usize) -> Res<(Vec<Stmt>, Expr, usize)> {
        let mut stmts = Vec::new();
        let mut value = None;
        let mut h = 0;
        for c in children(p) {
            if c.as_rule() == Rule::expr {
                let (e, eh) = self.expr(c, level)?;
                h = h.max(eh);
                value = Some(e);
            } else {
                let (s, sh) = self.stmt(c, level)?;
                h = h.max(sh);
                stmts.push(s);
            }
        }
        Ok((stmts, value.expect("grammar: block value"), h))
    }
}

/// The parts of one `expr` being built: operands with the prefix operators before them, and the
/// infix operators between them. Kept out of [`Builder::expr`] so that its frame stays small.
struct Operands {
    offset: usize,
    level: usize,
    n_ops: usize,
    operands: Vec<(Expr, usize)>,
    ops: Vec<(BinOp, Span)>,
    prefixes: Vec<(UnaryOp, Span)>,
}

impl Operands {
    /// Checks the nesting the expression's operators add at `level`.
    fn new(offset: usize, p: &Pair<'_, Rule>, level: usize) -> Res<Operands> {
        let s = p.as_span();
        let span = Span::new(s.start() + offset, s.end() + offset);
        let n_ops = children(*p).filter(|c| binop(c.as_rule()).is_some()).count();
        if level + n_ops > MAX_NESTING {
            return Err(SyntaxError::TooDeep { span });
        }
        Ok(Operands {
            offset,
            level,
            n_ops,
            operands: Vec::new(),
            ops: Vec::new(),
            prefixes: Vec::new(),
        })
    }

    /// The level of the next operand, below every operator of the expression and its prefixes.
    fn operand_level(&self) -> usize {
        self.level + self.n_ops + self.prefixes.len()
    }

    /// An infix or prefix operator.
    fn push_token(&mut self, c: &Pair<'_, Rule>) {
        let s = c.as_span();
        let span = Span::new(s.start() + self.offset, s.end() + self.offset);
        let r = c.as_rule();
        if let Some(op) = binop(r) {
            self.ops.push((op, span));
            return;
        }
        match r {
            Rule::neg => self.prefixes.push((UnaryOp::Neg, span)),
            Rule::kw_not => self.prefixes.push((UnaryOp::Not, span)),
            other => unreachable!("the grammar has no expression part {other:?}"),
        }
    }

    /// An operand, wrapped in the prefix operators written before it.
    fn push_operand(&mut self, built: Res<(Expr, usize)>) -> Res<()> {
        let (mut e, mut h) = built?;
        while let Some((op, ospan)) = self.prefixes.pop() {
            let s = ospan.to(e.span);
            e = Expr { kind: ExprKind::Unary { op, operand: Box::new(e) }, span: s };
            h += 1;
        }
        self.operands.push((e, h));
        Ok(())
    }

    fn finish(self) -> (Expr, usize) {
        climb(self.operands, self.ops)
    }
}

/// `base[index]`, from the two built parts.
fn index_into(
    base: Res<(Expr, usize)>,
    index: Res<(Expr, usize)>,
    ispan: Span,
) -> Res<(Expr, usize)> {
    let (e, h) = base?;
    let (i, ih) = index?;
    let s = e.span.to(ispan);
    Ok((
        Expr { kind: ExprKind::Index { base: Box::new(e), index: Box::new(i) }, span: s },
        h.max(ih) + 1,
    ))
}

/// A primary expression from its built kind, if the nesting it adds at `level` is allowed.
fn finish_primary(built: Res<(ExprKind, usize)>, level: usize, span: Span) -> Res<(Expr, usize)> {
    let (kind, h) = built?;
    if level + h > MAX_NESTING {
        return Err(SyntaxError::TooDeep { span });
    }
    Ok((Expr { kind, span }, h))
}

fn binop(r: Rule) -> Option<BinOp> {
    Some(match r {
        Rule::range => BinOp::Range,
        Rule::or => BinOp::Or,
        Rule::and => BinOp::And,
        Rule::eq => BinOp::Eq,
        Rule::ne => BinOp::Ne,
        Rule::lt => BinOp::Lt,
        Rule::le => BinOp::Le,
        Rule::gt => BinOp::Gt,
        Rule::ge => BinOp::Ge,
        Rule::add => BinOp::Add,
        Rule::sub => BinOp::Sub,
        Rule::mul => BinOp::Mul,
        Rule::div => BinOp::Div,
        Rule::rem => BinOp::Rem,
        Rule::pow => BinOp::Pow,
        _ => return None,
    })
}

/// Binding power of an infix operator (higher binds tighter).
fn precedence(op: BinOp) -> u8 {
    match op {
        BinOp::Range => 1,
        BinOp::Or => 2,
        BinOp::And => 3,
        BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => 4,
        BinOp::Add | BinOp::Sub => 5,
        BinOp::Mul | BinOp::Div | BinOp::Rem => 6,
        BinOp::Pow => 7,
    }
}

/// Shunting-yard over a flat `operand (op operand)*` list; `**` is right-associative, every
/// other operator left-associative. Returns the tree and its height.
fn climb(operands: Vec<(Expr, usize)>, ops: Vec<(BinOp, Span)>) -> (Expr, usize) {
    let mut out: Vec<(Expr, usize)> = Vec::with_capacity(operands.len());
    let mut stack: Vec<(BinOp, Span)> = Vec::new();
    fn reduce(out: &mut Vec<(Expr, usize)>, (op, op_span): (BinOp, Span)) {
        let (rhs, rh) = out.pop().expect("operand");
        let (lhs, lh) = out.pop().expect("operand");
        let span = lhs.span.to(rhs.span);
        out.push((
            Expr {
                kind: ExprKind::Binary { op, op_span, lhs: Box::new(lhs), rhs: Box::new(rhs) },
                span,
            },
            lh.max(rh) + 1,
        ));
    }
    let mut operands = operands.into_iter();
    out.push(operands.next().expect("an expression has an operand"));
    for ((op, op_span), operand) in ops.into_iter().zip(operands) {
        while let Some(&(top, _)) = stack.last() {
            let p_top = precedence(top);
            let p = precedence(op);
            if p_top > p || (p_top == p && op != BinOp::Pow) {
                let t = stack.pop().expect("checked");
                reduce(&mut out, t);
            } else {
                break;
            }
        }
        stack.push((op, op_span));
        out.push(operand);
    }
    while let Some(t) = stack.pop() {
        reduce(&mut out, t);
    }
    out.pop().expect("one tree remains")
}

/// Moves every span of a cached item by `delta` bytes (the item's piece of the file moved).
fn shift_item(item: &mut Item, delta: isize) {
    let mut s = Shift(delta);
    match item {
        Item::Import(i) => {
            s.span(&mut i.span);
            i.path.iter_mut().for_each(|id| s.ident(id));
            if let Some(names) = &mut i.names {
                names.iter_mut().for_each(|id| s.ident(id));
            }
        }
        Item::Block(b) => {
            s.span(&mut b.span);
            s.ident(&mut b.name);
            b.params.iter_mut().for_each(|p| s.param(p));
            s.ty(&mut b.ret);
            b.constraints.iter_mut().for_each(|c| s.expr(c));
            s.body(&mut b.body);
        }
        Item::Op(o) => {
            s.span(&mut o.span);
            s.ident(&mut o.name);
            o.params.iter_mut().for_each(|p| s.param(p));
            s.ty(&mut o.ret);
            for c in &mut o.clauses {
                match c {
                    OpClause::Require { cond, message, span } => {
                        s.span(span);
                        s.expr(cond);
                        if let Some(m) = message {
                            s.span(&mut m.span);
                        }
                    }
                    OpClause::Measure { name, value, span } => {
                        s.span(span);
                        s.ident(name);
                        s.expr(value);
                    }
                }
            }
        }
    }
}

struct Shift(isize);

impl Shift {
    fn span(&mut self, span: &mut Span) {
        span.start = span.start.wrapping_add_signed(self.0);
        span.end = span.end.wrapping_add_signed(self.0);
    }

    fn ident(&mut self, id: &mut Ident) {
        self.span(&mut id.span);
    }

    fn param(&mut self, p: &mut Param) {
        self.span(&mut p.span);
        self.ident(&mut p.name);
        self.ty(&mut p.ty);
        if let Some(d) = &mut p.default {
            self.expr(d);
        }
    }

    fn ty(&mut self, t: &mut TypeExpr) {
        match t {
            TypeExpr::Tensor { dims, span } => {
                self.span(span);
                for d in dims {
                    match d {
                        Dim::Expr(e) => self.expr(e),
                        Dim::Rest(id) => self.ident(id),
                    }
                }
            }
            TypeExpr::Named { name, arg, span } => {
                self.span(span);
                self.ident(name);
                if let Some(a) = arg {
                    self.ty(a);
                }
            }
        }
    }

    fn body(&mut self, b: &mut Body) {
        self.span(&mut b.span);
        self.stmts(&mut b.stmts);
    }

    fn stmts(&mut self, stmts: &mut [Stmt]) {
        for st in stmts {
            match st {
                Stmt::Let { name, ty, value, span, .. } => {
                    self.span(span);
                    self.ident(name);
                    if let Some(t) = ty {
                        self.ty(t);
                    }
                    self.expr(value);
                }
                Stmt::For { var, iter, body, span } => {
                    self.span(span);
                    self.ident(var);
                    self.expr(iter);
                    self.body(body);
                }
                Stmt::Return { value, span } => {
                    self.span(span);
                    self.expr(value);
                }
            }
        }
    }

    fn naming(&mut self, n: &mut ChoiceName) {
        if let Some(id) = &mut n.name {
            self.ident(id);
        }
        if let Some(l) = &mut n.label {
            self.span(&mut l.span);
        }
    }

    fn expr(&mut self, e: &mut Expr) {
        self.span(&mut e.span);
        match &mut e.kind {
            ExprKind::Int(_) | ExprKind::Float(_) | ExprKind::Str(_) | ExprKind::Bool(_) => {}
            ExprKind::Name(id) => self.ident(id),
            ExprKind::List(items) => items.iter_mut().for_each(|i| self.expr(i)),
            ExprKind::ListComp { elem, var, iter } => {
                self.expr(elem);
                self.ident(var);
                self.expr(iter);
            }
            ExprKind::Unary { operand, .. } => self.expr(operand),
            ExprKind::Binary { op_span, lhs, rhs, .. } => {
                self.span(op_span);
                self.expr(lhs);
                self.expr(rhs);
            }
            ExprKind::Call { callee, args, label } => {
                self.ident(callee);
                for a in args {
                    self.span(&mut a.span);
                    if let Some(n) = &mut a.name {
                        self.ident(n);
                    }
                    self.expr(&mut a.value);
                }
                if let Some(l) = label {
                    self.span(&mut l.span);
                }
            }
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
                self.stmts(stmts);
                self.expr(value);
            }
            ExprKind::LayerChoice { naming, alternatives } => {
                self.naming(naming);
                for a in alternatives {
                    self.span(&mut a.span);
                    self.ident(&mut a.name);
                    self.expr(&mut a.value);
                }
            }
            ExprKind::ValueChoice { naming, values } => {
                self.naming(naming);
                values.iter_mut().for_each(|v| self.expr(v));
            }
            ExprKind::Pick { naming, count, candidates, reduce } => {
                self.naming(naming);
                self.expr(count);
                self.expr(candidates);
                if let Some(r) = reduce {
                    self.ident(r);
                }
            }
            ExprKind::Repeat { naming, depth, var, body } => {
                self.naming(naming);
                match depth {
                    Depth::Choice { values, span } => {
                        self.span(span);
                        values.iter_mut().for_each(|v| self.expr(v));
                    }
                    Depth::Fixed(d) => self.expr(d),
                }
                self.ident(var);
                self.expr(body);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPACE: &str = "import std.ops\n\n/// A block.\nblock B(x: Tensor[n, c, h, w], k: int = 3) -> Tensor[n, c, h, w] {\n    let y = choice op { a: conv2d(x, out: c, kernel: k, padding: k / 2), b: x }\n    let z = repeat depth [1, 2] from y { relu(y) }\n    return x + pick 1 of [y, z] reduce sum\n}\n\nnetwork N(x: Tensor[n, 3, 8, 8]) -> Tensor[n, 3, 8, 8] where params <= 10 {\n    let w = [f(i) for i in 0..2]\n    return if w[0] == 1 then B(x) else B(x, k: -5)\n}\n";

    /// The line-by-line cut into items equals the cut from the token stream, on every file of
    /// the repository and on texts made to catch the corner cases.
    #[test]
    fn line_chunks_equal_token_chunks() {
        let mut texts: Vec<String> = vec![
            SPACE.to_string(),
            "/// a\n// c\n\nblock B".into(),
            "/// a\n  /// b\nblock B\n/// c\nx\nnetwork N".into(),
            "//// not doc\nblock B\nblocks\nblock_x\nblock(\n import x\n\"block\nimport\r\nimport"
                .into(),
            "x /// d\noperator o\n/// d\n\"s // t\nblock B\n///\n\t\r\n///\nnetwork".into(),
            "\u{e9}block\n/// d\u{e9}\nblock\n".into(),
        ];
        let root = &crate::repo_root();
        let mut stack = vec![root.join("examples"), root.join("stdlib"), root.join("tests")];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).expect("read dir") {
                let p = entry.expect("entry").path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.extension().is_some_and(|e| e == "nas") {
                    if let Ok(t) = String::from_utf8(std::fs::read(&p).expect("read")) {
                        texts.push(t);
                    }
                }
            }
        }
        assert!(texts.len() > 60);
        for t in &texts {
            assert_eq!(chunks(t), chunks_from_tokens(t, &tokenize(t)), "{t:?}");
        }
    }

    /// A cached parse, after any sequence of changes, equals a fresh parse of the same text.
    #[test]
    fn a_cached_parse_equals_a_fresh_one() {
        let mut cache = ParseCache::new();
        let edits: Vec<String> = vec![
            SPACE.to_string(),
            SPACE.replace("/// A block.", "/// A block, documented at more length."),
            SPACE
                .replace("/// A block.", "/// A block, documented at more length.")
                .replace("kernel: k", "kernel: (k"),
            SPACE.replace("let y = ", "let yy = "),
            format!("// a comment first\n{SPACE}"),
            SPACE.to_string(),
        ];
        for text in &edits {
            let fresh = parse_module(text);
            let cached = parse_module_cached(text, &mut cache);
            cache.sweep();
            assert_eq!(cached, fresh, "{text}");
        }
        // A piece with an error is never kept.
        let broken = SPACE.replace("kernel: k", "kernel: (k");
        parse_module_cached(&broken, &mut cache);
        assert!(cache.chunks.keys().all(|k| !k.contains("kernel: (k")));
    }

    /// Moving a cached item moves every span in it.
    #[test]
    fn shifted_items_point_at_their_new_place() {
        let mut cache = ParseCache::new();
        parse_module_cached(SPACE, &mut cache);
        let moved = format!("\n\n\n{SPACE}");
        let (m, _) = parse_module_cached(&moved, &mut cache);
        let mut names = Vec::new();
        crate::syntax::ast::walk_module(&m, &mut |e| {
            if let ExprKind::Name(id) = &e.kind {
                names.push(id.clone());
            }
        });
        assert!(!names.is_empty());
        for id in names {
            assert_eq!(&moved[id.span.range()], id.name);
        }
    }
}
