//! Generates nasc's fast parser from the pest grammar (`grammar/nas.pest`).
//!
//! The grammar is read with `pest_meta` (pest's own grammar parser, validator and optimiser,
//! the same front end `pest_derive` uses), and every rule becomes one plain Rust function over a
//! byte cursor (`src/syntax/fast.rs` holds the cursor). The generated parser follows pest's
//! semantics exactly, as `pest_generator` emits them:
//!
//! - ordered choice, sequences, `?`, `*`, `&` and `!` lookahead, every builtin rule the grammar
//!   uses;
//! - implicit `WHITESPACE`/`COMMENT` between the parts of sequences and repetitions in
//!   non-atomic rules, skipped only while the run-time atomicity is non-atomic;
//! - tokens for visible rules, none inside atomic rules (`@`), tokens again inside compound
//!   atomic rules (`$`), `EOI` as a visible rule;
//!
//! so it builds the same parse tree as pest's. What it leaves out is what makes pest slow:
//! boxed state threaded through closures, a native stack probe at every combinator, and the
//! bookkeeping of every attempt for error messages. It also skips an alternative of a choice at
//! once when the next byte cannot start it (each expression's first bytes are computed here;
//! an expression whose first bytes are unknown is always tried). It reports no errors: a failed
//! parse is parsed again by pest, which words the error. `tests/fast_parser.rs` checks that both
//! parsers build the same tree on every file of the repository and on random and mutated input.

use pest_meta::ast::RuleType;
use pest_meta::optimizer::{OptimizedExpr, OptimizedRule};
use std::collections::HashMap;
use std::fmt::Write as _;

/// The sets of bytes an expression may start with: bits 0-255 are bytes, bit 256 is the end of
/// the input.
type Set = [u64; 5];

const EOF_BIT: usize = 256;

/// Choices of at least this many alternatives become a `match` on the next byte.
const DISPATCH_FROM: usize = 4;

fn set_add(s: &mut Set, bit: usize) {
    s[bit / 64] |= 1 << (bit % 64);
}

fn set_union(a: &mut Set, b: &Set) {
    for (x, y) in a.iter_mut().zip(b) {
        *x |= y;
    }
}

/// How a rule was declared: `{}`, `_{}`, `@{}`, `${}`, `!{}`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Normal,
    Silent,
    Atomic,
    Compound,
    NonAtomic,
}

/// An expression of the grammar, with the builtins (but `EOI`) expanded.
#[derive(Debug)]
enum E {
    Str(Vec<u8>),
    Insens(Vec<u8>),
    Range(char, char),
    Call(usize),
    Any,
    Soi,
    EndOfInput,
    Pos(Box<E>),
    Neg(Box<E>),
    Seq(Vec<E>),
    Choice(Vec<E>),
    Opt(Box<E>),
    Rep(Box<E>),
    SkipUntil(Vec<Vec<u8>>),
}

struct R {
    name: String,
    kind: Kind,
    /// The body is generated without implicit whitespace (`@`, `$`, and pest's `WHITESPACE`
    /// and `COMMENT`).
    atomic_body: bool,
    expr: E,
}

/// What is known of an expression's start: the bytes it can begin with when it consumes
/// something (`None`: unknown, anything), and whether it can succeed consuming nothing.
#[derive(Clone, Copy)]
struct Info {
    first: Option<Set>,
    nullable: bool,
}

/// Generates the Rust source of the parser for `grammar` (the text of a `.pest` file).
pub fn generate(grammar: &str) -> Result<String, String> {
    let (_, rules) = pest_meta::parse_and_optimize(grammar)
        .map_err(|errors| errors.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n"))?;
    let rules = convert_rules(&rules)?;
    Ok(Gen::new(&rules).emit())
}

fn convert_rules(rules: &[OptimizedRule]) -> Result<Vec<R>, String> {
    let mut index: HashMap<String, usize> = HashMap::new();
    for (i, r) in rules.iter().enumerate() {
        index.insert(r.name.clone(), i);
    }
    let eoi = rules.len();
    index.insert("EOI".to_string(), eoi);
    let mut out = Vec::new();
    for r in rules {
        let kind = match r.ty {
            RuleType::Normal => Kind::Normal,
            RuleType::Silent => Kind::Silent,
            RuleType::Atomic => Kind::Atomic,
            RuleType::CompoundAtomic => Kind::Compound,
            RuleType::NonAtomic => Kind::NonAtomic,
        };
        let trivia = r.name == "WHITESPACE" || r.name == "COMMENT";
        let atomic_body = matches!(kind, Kind::Atomic | Kind::Compound) || trivia;
        let expr = convert(&r.expr, &index).map_err(|e| format!("rule `{}`: {e}", r.name))?;
        out.push(R { name: r.name.clone(), kind, atomic_body, expr });
    }
    out.push(R {
        name: "EOI".to_string(),
        kind: Kind::Normal,
        atomic_body: false,
        expr: E::EndOfInput,
    });
    Ok(out)
}

fn first_char(s: &str) -> Result<char, String> {
    s.chars().next().ok_or_else(|| "an empty range bound".to_string())
}

fn convert(e: &OptimizedExpr, index: &HashMap<String, usize>) -> Result<E, String> {
    Ok(match e {
        OptimizedExpr::Str(s) => E::Str(s.as_bytes().to_vec()),
        OptimizedExpr::Insens(s) => E::Insens(s.as_bytes().to_vec()),
        OptimizedExpr::Range(a, b) => E::Range(first_char(a)?, first_char(b)?),
        OptimizedExpr::Ident(name) => match builtin(name) {
            Some(e) => e,
            None => E::Call(
                *index.get(name).ok_or_else(|| format!("unsupported builtin rule `{name}`"))?,
            ),
        },
        OptimizedExpr::PosPred(x) => E::Pos(Box::new(convert(x, index)?)),
        OptimizedExpr::NegPred(x) => E::Neg(Box::new(convert(x, index)?)),
        OptimizedExpr::Seq(..) => {
            let mut parts = Vec::new();
            flatten(e, true, &mut parts);
            E::Seq(parts.into_iter().map(|p| convert(p, index)).collect::<Result<_, _>>()?)
        }
        OptimizedExpr::Choice(..) => {
            let mut parts = Vec::new();
            flatten(e, false, &mut parts);
            E::Choice(parts.into_iter().map(|p| convert(p, index)).collect::<Result<_, _>>()?)
        }
        OptimizedExpr::Opt(x) => E::Opt(Box::new(convert(x, index)?)),
        OptimizedExpr::Rep(x) => E::Rep(Box::new(convert(x, index)?)),
        OptimizedExpr::Skip(strings) => {
            E::SkipUntil(strings.iter().map(|s| s.as_bytes().to_vec()).collect())
        }
        OptimizedExpr::RestoreOnErr(x) => convert(x, index)?,
        #[allow(unreachable_patterns)]
        other => {
            return Err(format!(
                "unsupported expression {other:?} (the stack and tags are not generated)"
            ))
        }
    })
}

/// The operands of a chain of `Seq` (`seq`) or `Choice` nodes, in order.
fn flatten<'a>(e: &'a OptimizedExpr, seq: bool, out: &mut Vec<&'a OptimizedExpr>) {
    match (e, seq) {
        (OptimizedExpr::Seq(a, b), true) | (OptimizedExpr::Choice(a, b), false) => {
            flatten(a, seq, out);
            flatten(b, seq, out);
        }
        (other, _) => out.push(other),
    }
}

/// pest's builtin rules (`pest_generator`'s `generate_builtin_rules`), but `EOI`, which is a
/// visible rule.
fn builtin(name: &str) -> Option<E> {
    let r = |a: char, b: char| E::Range(a, b);
    let s = |t: &str| E::Str(t.as_bytes().to_vec());
    Some(match name {
        "ANY" => E::Any,
        "SOI" => E::Soi,
        "ASCII_DIGIT" => r('0', '9'),
        "ASCII_NONZERO_DIGIT" => r('1', '9'),
        "ASCII_BIN_DIGIT" => r('0', '1'),
        "ASCII_OCT_DIGIT" => r('0', '7'),
        "ASCII_HEX_DIGIT" => E::Choice(vec![r('0', '9'), r('a', 'f'), r('A', 'F')]),
        "ASCII_ALPHA_LOWER" => r('a', 'z'),
        "ASCII_ALPHA_UPPER" => r('A', 'Z'),
        "ASCII_ALPHA" => E::Choice(vec![r('a', 'z'), r('A', 'Z')]),
        "ASCII_ALPHANUMERIC" => E::Choice(vec![r('a', 'z'), r('A', 'Z'), r('0', '9')]),
        "ASCII" => r('\0', '\x7f'),
        "NEWLINE" => E::Choice(vec![s("\n"), s("\r\n"), s("\r")]),
        _ => return None,
    })
}

struct Gen<'a> {
    rules: &'a [R],
    infos: Vec<Option<Info>>,
    visiting: Vec<bool>,
    skip_first: Option<Set>,
    sets: Vec<Set>,
}

impl<'a> Gen<'a> {
    fn new(rules: &'a [R]) -> Self {
        let mut g = Gen {
            rules,
            infos: vec![None; rules.len()],
            visiting: vec![false; rules.len()],
            skip_first: None,
            sets: Vec::new(),
        };
        // The bytes implicit whitespace can start with.
        let mut skip = [0u64; 5];
        let mut known = true;
        for name in ["WHITESPACE", "COMMENT"] {
            if let Some(i) = g.rule_index(name) {
                match g.rule_info(i).first {
                    Some(f) => set_union(&mut skip, &f),
                    None => known = false,
                }
            }
        }
        g.skip_first = known.then_some(skip);
        g
    }

    fn rule_index(&self, name: &str) -> Option<usize> {
        self.rules.iter().position(|r| r.name == name)
    }

    fn rule_info(&mut self, i: usize) -> Info {
        if let Some(info) = self.infos[i] {
            return info;
        }
        if self.visiting[i] {
            // Recursion: nothing is known (always sound).
            return Info { first: None, nullable: true };
        }
        self.visiting[i] = true;
        let rules = self.rules;
        let info = self.info(&rules[i].expr, !rules[i].atomic_body);
        self.visiting[i] = false;
        self.infos[i] = Some(info);
        info
    }

    /// What `e` can start with; `skips`: implicit whitespace runs between the parts of `e`.
    fn info(&mut self, e: &E, skips: bool) -> Info {
        let bytes = |bs: &[u8]| {
            let mut s = [0u64; 5];
            for &b in bs {
                set_add(&mut s, b as usize);
            }
            s
        };
        match e {
            E::Str(s) => match s.first() {
                Some(&b) => Info { first: Some(bytes(&[b])), nullable: false },
                None => Info { first: Some([0; 5]), nullable: true },
            },
            E::Insens(s) => match s.first() {
                Some(&b) => Info {
                    first: Some(bytes(&[b.to_ascii_lowercase(), b.to_ascii_uppercase()])),
                    nullable: false,
                },
                None => Info { first: Some([0; 5]), nullable: true },
            },
            E::Range(a, b) => {
                let mut s = [0u64; 5];
                for c in (*a as u32)..=(*b as u32).min(0x7f) {
                    set_add(&mut s, c as usize);
                }
                if (*b as u32) > 0x7f {
                    // Lead bytes of every multi-byte UTF-8 character.
                    for c in 0xc2..=0xf4 {
                        set_add(&mut s, c);
                    }
                }
                Info { first: Some(s), nullable: false }
            }
            E::Call(i) => self.rule_info(*i),
            E::Any => {
                Info { first: Some([u64::MAX, u64::MAX, u64::MAX, u64::MAX, 0]), nullable: false }
            }
            E::Soi | E::Pos(_) | E::Neg(_) => Info { first: Some([0; 5]), nullable: true },
            E::EndOfInput => {
                let mut s = [0u64; 5];
                set_add(&mut s, EOF_BIT);
                Info { first: Some(s), nullable: false }
            }
            E::Opt(x) | E::Rep(x) => Info { first: self.info(x, skips).first, nullable: true },
            E::SkipUntil(_) => Info { first: None, nullable: true },
            E::Choice(v) => {
                let mut acc = Some([0u64; 5]);
                let mut nullable = false;
                for x in v {
                    let i = self.info(x, skips);
                    nullable |= i.nullable;
                    acc = match (acc, i.first) {
                        (Some(mut a), Some(f)) => {
                            set_union(&mut a, &f);
                            Some(a)
                        }
                        _ => None,
                    };
                }
                Info { first: acc, nullable }
            }
            E::Seq(v) => {
                let mut acc = [0u64; 5];
                for x in v {
                    let i = self.info(x, skips);
                    match i.first {
                        Some(f) => set_union(&mut acc, &f),
                        None => return Info { first: None, nullable: i.nullable },
                    }
                    if !i.nullable {
                        return Info { first: Some(acc), nullable: false };
                    }
                    // `x` may consume nothing: implicit whitespace, then the next part.
                    if skips {
                        match self.skip_first {
                            Some(s) => set_union(&mut acc, &s),
                            None => return Info { first: None, nullable: true },
                        }
                    }
                }
                Info { first: Some(acc), nullable: true }
            }
        }
    }

    /// The bytes `e` matches when it matches exactly one ASCII byte whatever it is given
    /// (single-byte strings, ASCII ranges, choices of those, silent rules made of those): such
    /// an expression becomes one table lookup. `None` for anything else.
    fn class_of(&self, e: &E, depth: usize) -> Option<Set> {
        let mut s = [0u64; 5];
        match e {
            E::Str(b) if b.len() == 1 && b[0] < 0x80 => set_add(&mut s, b[0] as usize),
            E::Range(a, b) if (*b as u32) < 0x80 => {
                for c in (*a as u32)..=(*b as u32) {
                    set_add(&mut s, c as usize);
                }
            }
            E::Choice(v) => {
                for x in v {
                    set_union(&mut s, &self.class_of(x, depth)?);
                }
            }
            E::Call(i) if depth < 8 && self.rules[*i].kind == Kind::Silent => {
                return self.class_of(&self.rules[*i].expr, depth + 1)
            }
            _ => return None,
        }
        Some(s)
    }

    /// The name of a static holding `s`.
    fn set_name(&mut self, s: Set) -> String {
        let i = match self.sets.iter().position(|x| *x == s) {
            Some(i) => i,
            None => {
                self.sets.push(s);
                self.sets.len() - 1
            }
        };
        format!("S{i}")
    }

    fn emit(mut self) -> String {
        let mut out = String::new();
        out.push_str("// Generated by build/peg.rs from grammar/nas.pest. Do not edit.\n\n");
        let rules = self.rules;
        for (i, r) in rules.iter().enumerate() {
            let body = self.expr(&r.expr, !r.atomic_body);
            let trivia = r.name == "WHITESPACE" || r.name == "COMMENT";
            let name = &r.name;
            let _ = writeln!(out, "#[inline]\nfn r_{name}(p: &mut P<'_>) -> bool {{\n    if !p.enter() {{\n        return false;\n    }}");
            let (set_before, open, set_after) = match r.kind {
                Kind::Normal if trivia => (None, true, Some("ATOMIC")),
                Kind::Normal => (None, true, None),
                Kind::Silent if trivia => (None, false, Some("ATOMIC")),
                Kind::Silent => (None, false, None),
                Kind::Atomic => (None, true, Some("ATOMIC")),
                Kind::Compound => (Some("COMPOUND_ATOMIC"), true, None),
                Kind::NonAtomic => (Some("NON_ATOMIC"), true, None),
            };
            let _ = i;
            if let Some(a) = set_before {
                let _ = writeln!(out, "    let outer = std::mem::replace(&mut p.atomicity, {a});");
            }
            if open {
                let _ =
                    writeln!(out, "    let at = p.pos;\n    let token = p.open(Rule::{name}, at);");
            }
            if let Some(a) = set_after {
                let _ = writeln!(
                    out,
                    "    let inner_outer = std::mem::replace(&mut p.atomicity, {a});"
                );
            }
            let _ = writeln!(out, "    let ok = {body};");
            if set_after.is_some() {
                let _ = writeln!(out, "    p.atomicity = inner_outer;");
            }
            if open {
                let _ = writeln!(out, "    p.close(token, ok);");
            }
            if set_before.is_some() {
                let _ = writeln!(out, "    p.atomicity = outer;");
            }
            let _ = writeln!(out, "    p.leave();\n    ok\n}}\n");
        }
        out.push_str(&self.skip_fn());
        out.push_str("/// Runs the visible rule `rule` at the cursor.\n#[allow(unreachable_patterns)]\npub(super) fn parse_rule(rule: Rule, p: &mut P<'_>) -> bool {\n    match rule {\n");
        for r in rules.iter().filter(|r| r.kind != Kind::Silent) {
            let _ = writeln!(out, "        Rule::{0} => r_{0}(p),", r.name);
        }
        out.push_str("        _ => false,\n    }\n}\n\n");
        for (i, s) in self.sets.iter().enumerate() {
            let _ = writeln!(out, "static S{i}: [u64; 5] = {s:?};");
        }
        out
    }

    fn skip_fn(&mut self) -> String {
        let ws = self.rule_index("WHITESPACE");
        let comment = self.rule_index("COMMENT");
        let mut body = String::new();
        let ws_run = ws.map(|w| match self.class_of(&E::Call(w), 0) {
            Some(class) => format!("p.class_run(&{});", self.set_name(class)),
            None => {
                let g = self.guard(&E::Call(w));
                format!("loop {{\n let at = p.pos;\n if !({g}r_WHITESPACE(p)) || p.pos == at {{\n break;\n }}\n }}")
            }
        });
        if let Some(run) = &ws_run {
            let _ = writeln!(body, "        {run}");
        }
        if let Some(c) = comment {
            let g = self.guard(&E::Call(c));
            let _ = writeln!(body, "        loop {{\n            let s = p.save();\n            if !({g}r_COMMENT(p)) || p.pos == s.pos {{\n                p.restore(s);\n                break;\n            }}");
            if let Some(run) = &ws_run {
                let _ = writeln!(body, "            {run}");
            }
            body.push_str("        }\n");
        }
        format!("/// pest's implicit whitespace: `WHITESPACE*` then `(COMMENT ~ WHITESPACE*)*`, only while non-atomic.\n#[inline]\nfn skip(p: &mut P<'_>) -> bool {{\n    if p.atomicity == NON_ATOMIC {{\n{body}    }}\n    true\n}}\n\n")
    }

    /// `p.peek_in(&S) && ` when the next byte decides that `e` cannot match, else nothing.
    fn guard(&mut self, e: &E) -> String {
        if self.class_of(e, 0).is_some() {
            // One table lookup already.
            return String::new();
        }
        let info = self.info(e, true);
        match info.first {
            Some(f) if !info.nullable && f != [u64::MAX; 5] => {
                format!("p.peek_in(&{}) && ", self.set_name(f))
            }
            _ => String::new(),
        }
    }

    /// A choice of many alternatives as a `match` on the next byte: each arm tries, in order,
    /// only the alternatives that byte can start (alternatives whose first bytes are unknown
    /// are in every arm).
    fn dispatch(&mut self, v: &[E], skips: bool) -> String {
        let firsts: Vec<Option<Set>> = v
            .iter()
            .map(|x| {
                let info = self.info(x, true);
                info.first.filter(|_| !info.nullable)
            })
            .collect();
        let code: Vec<String> = v.iter().map(|x| self.expr(x, skips)).collect();
        // For every next byte (256: the end of the input), the alternatives to try.
        let mut arms: Vec<(Vec<usize>, Vec<usize>)> = Vec::new();
        for c in 0..=EOF_BIT {
            let alts: Vec<usize> = (0..v.len())
                .filter(|&i| firsts[i].is_none_or(|f| (f[c / 64] >> (c % 64)) & 1 != 0))
                .collect();
            match arms.iter_mut().find(|(a, _)| *a == alts) {
                Some((_, bytes)) => bytes.push(c),
                None => arms.push((alts, vec![c])),
            }
        }
        let mut out = String::from("(match p.peek() {\n");
        for (alts, bytes) in &arms {
            let mut pats = Vec::new();
            let mut i = 0;
            while i < bytes.len() {
                let mut j = i;
                while j + 1 < bytes.len() && bytes[j + 1] == bytes[j] + 1 {
                    j += 1;
                }
                pats.push(if i == j {
                    format!("{}", bytes[i])
                } else {
                    format!("{}..={}", bytes[i], bytes[j])
                });
                i = j + 1;
            }
            let body = if alts.is_empty() {
                "false".to_string()
            } else {
                alts.iter().map(|&a| code[a].clone()).collect::<Vec<_>>().join("\n || ")
            };
            let _ = writeln!(out, " {} => ({body}),", pats.join(" | "));
        }
        out.push_str(" _ => false,\n})");
        out
    }

    /// A Rust expression of type `bool` that runs `e`: on `true` the cursor has moved past it
    /// and its tokens are queued, on `false` the cursor and the queue are as they were.
    fn expr(&mut self, e: &E, skips: bool) -> String {
        if let Some(class) = self.class_of(e, 0) {
            return format!("p.class(&{})", self.set_name(class));
        }
        match e {
            E::Str(s) if s.is_empty() => "true".to_string(),
            E::Str(s) => format!("p.lit(b\"{}\")", escape(s)),
            E::Insens(s) => format!("p.lit_insensitive(b\"{}\")", escape(s)),
            E::Range(a, b) if (*b as u32) < 0x80 => {
                format!("p.byte_range({}, {})", *a as u32, *b as u32)
            }
            E::Range(a, b) => {
                format!("p.char_range('\\u{{{:x}}}', '\\u{{{:x}}}')", *a as u32, *b as u32)
            }
            E::Call(i) => format!("r_{}(p)", self.rules[*i].name),
            E::Any => "p.any()".to_string(),
            E::Soi => "(p.pos == 0)".to_string(),
            E::EndOfInput => "(p.pos == p.input.len())".to_string(),
            E::Pos(x) | E::Neg(x) => {
                // The next byte often decides at once that `x` cannot match.
                let g = self.guard(x);
                let look = format!(
                    "({g}{{\n let s = p.save();\n let ok = {};\n p.restore(s);\n ok\n }})",
                    self.expr(x, skips)
                );
                if matches!(e, E::Neg(_)) {
                    format!("!{look}")
                } else {
                    look
                }
            }
            E::Seq(v) => {
                let sep = if skips { " && skip(p) && " } else { " && " };
                let parts: Vec<String> = v.iter().map(|x| self.expr(x, skips)).collect();
                format!("{{\n let s = p.save();\n if {} {{\n true\n }} else {{\n p.restore(s);\n false\n }}\n }}", parts.join(sep))
            }
            E::Choice(v) if v.len() >= DISPATCH_FROM => self.dispatch(v, skips),
            E::Choice(v) => {
                let parts: Vec<String> = v
                    .iter()
                    .map(|x| {
                        let g = self.guard(x);
                        let x = self.expr(x, skips);
                        if g.is_empty() {
                            x
                        } else {
                            format!("({g}{x})")
                        }
                    })
                    .collect();
                format!("({})", parts.join("\n || "))
            }
            E::Opt(x) => format!("{{\n let _ = {};\n true\n }}", self.expr(x, skips)),
            E::Rep(x) => {
                let class = self.class_of(x, 0);
                let x = self.expr(x, skips);
                if let (false, Some(class)) = (skips, class) {
                    return format!("{{\n p.class_run(&{});\n true\n }}", self.set_name(class));
                }
                if skips {
                    format!("{{\n if {x} {{\n loop {{\n let s = p.save();\n if !(skip(p) && {x}) || p.pos == s.pos {{\n p.restore(s);\n break;\n }}\n }}\n }}\n true\n }}")
                } else {
                    format!("{{\n loop {{\n let at = p.pos;\n if !{x} || p.pos == at {{\n break;\n }}\n }}\n true\n }}")
                }
            }
            E::SkipUntil(v) => {
                let list: Vec<String> =
                    v.iter().map(|s| format!("{:?}", String::from_utf8_lossy(s))).collect();
                format!("p.skip_until(&[{}])", list.join(", "))
            }
        }
    }
}

fn escape(s: &[u8]) -> String {
    s.iter().flat_map(|&b| std::ascii::escape_default(b)).map(char::from).collect()
}
