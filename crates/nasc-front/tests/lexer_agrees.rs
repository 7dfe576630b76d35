//! The logos lexer (`src/syntax/lexer.rs`) and the pest grammar (`grammar/nas.pest`) must agree
//! token for token: on every `.nas` file under `examples/` (except `examples/errors/`, which
//! holds files that are wrong on purpose) and `stdlib/`, both must find the same keywords,
//! identifiers, literals, comments and operators at the same byte ranges; and the two keyword
//! lists must be equal.
//!
//! The grammar side is the parse tree of `NasParser::parse(Rule::file, ..)` (the whole file at
//! once, without the parser's item chunking): every pair of a terminal rule (`kw_*`, `ident`,
//! `int`, `float`, `string`, `doc_comment`, `COMMENT`, and the operator rules `neg`, `add`,
//! `range`, ...), in source order. Wrappers such as `choice_name` (around an `ident`) and `or`
//! (around a `kw_or`) are not terminals and are skipped; `str_body` inside a `string` is too.
//! The lexer side is `tokenize` with punctuation that has no rule of its own in the grammar
//! (`(`, `,`, `->`, `=`, ...) left out. A lexer `Error` token is always kept, so a byte the
//! lexer cannot read in a file the grammar accepts is a disagreement.

mod common;

use nasc_front::syntax::lexer::{tokenize, Token, KEYWORDS};
use nasc_front::syntax::parser::{NasParser, Rule};
use pest::Parser as _;
use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};

/// A comparable token kind. Keywords carry their identity (the grammar rule's name without
/// `kw_`, or the lexer variant's name in lower case), not their text, so that a keyword lexed
/// as the wrong variant is caught; operators carry their text.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    Keyword(String),
    Ident,
    Int,
    Float,
    Str,
    DocComment,
    Comment,
    Op(&'static str),
    /// Only the lexer produces this: bytes that form no token.
    LexError,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Tok {
    kind: Kind,
    start: usize,
    end: usize,
}

impl fmt::Display for Tok {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} {}..{}", self.kind, self.start, self.end)
    }
}

/// The grammar's operator rules and the text each stands for.
fn op_rule(r: Rule) -> Option<&'static str> {
    Some(match r {
        Rule::neg | Rule::sub => "-",
        Rule::range => "..",
        Rule::eq => "==",
        Rule::ne => "!=",
        Rule::le => "<=",
        Rule::ge => ">=",
        Rule::lt => "<",
        Rule::gt => ">",
        Rule::add => "+",
        Rule::pow => "**",
        Rule::mul => "*",
        Rule::div => "/",
        Rule::rem => "%",
        _ => return None,
    })
}

/// The lexer's operator tokens and their text (the same set as [`op_rule`]).
fn op_token(t: Token) -> Option<&'static str> {
    Some(match t {
        Token::Minus => "-",
        Token::DotDot => "..",
        Token::EqEq => "==",
        Token::NotEq => "!=",
        Token::Le => "<=",
        Token::Ge => ">=",
        Token::Lt => "<",
        Token::Gt => ">",
        Token::Plus => "+",
        Token::StarStar => "**",
        Token::Star => "*",
        Token::Slash => "/",
        Token::Percent => "%",
        _ => return None,
    })
}

/// The grammar's tokens of `src`, or pest's error if `src` does not parse as a file.
fn grammar_tokens(src: &str) -> Result<Vec<Tok>, Box<pest::error::Error<Rule>>> {
    let pairs = NasParser::parse(Rule::file, src).map_err(Box::new)?;
    let mut out = Vec::new();
    for p in pairs.flatten() {
        let rule = p.as_rule();
        let name = format!("{rule:?}");
        let kind = if let Some(word) = name.strip_prefix("kw_") {
            Kind::Keyword(word.to_string())
        } else if let Some(op) = op_rule(rule) {
            Kind::Op(op)
        } else {
            match rule {
                Rule::ident => Kind::Ident,
                Rule::int => Kind::Int,
                Rule::float => Kind::Float,
                Rule::string => Kind::Str,
                Rule::doc_comment => Kind::DocComment,
                Rule::COMMENT => Kind::Comment,
                _ => continue,
            }
        };
        let span = p.as_span();
        out.push(Tok { kind, start: span.start(), end: span.end() });
    }
    Ok(out)
}

/// The lexer's tokens of `src`, of the same kinds.
fn lexer_tokens(src: &str) -> Vec<Tok> {
    let mut out = Vec::new();
    for (t, span) in tokenize(src) {
        let kind = if t.is_keyword() {
            Kind::Keyword(format!("{t:?}").to_lowercase())
        } else if let Some(op) = op_token(t) {
            Kind::Op(op)
        } else {
            match t {
                Token::Ident => Kind::Ident,
                Token::Int => Kind::Int,
                Token::Float => Kind::Float,
                Token::Str => Kind::Str,
                Token::DocComment => Kind::DocComment,
                Token::LineComment => Kind::Comment,
                Token::Error => Kind::LexError,
                _ => continue,
            }
        };
        out.push(Tok { kind, start: span.start, end: span.end });
    }
    out
}

/// `line:column` (1-based, column in characters) of a byte offset.
fn line_col(src: &str, offset: usize) -> (usize, usize) {
    let before = &src[..offset.min(src.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    (line, col)
}

fn describe(src: &str, t: Option<&Tok>) -> String {
    match t {
        None => "nothing (the sequence ends here)".to_string(),
        Some(t) => {
            let (l, c) = line_col(src, t.start);
            let text = src.get(t.start..t.end).unwrap_or("<bad range>");
            let text: String = if text.chars().count() > 40 {
                text.chars().take(37).chain("...".chars()).collect()
            } else {
                text.to_string()
            };
            format!("{t} at {l}:{c} {text:?}")
        }
    }
}

/// Compares the two sequences; on the first difference, says where and what each side has.
fn compare(name: &str, src: &str, grammar: &[Tok], lexer: &[Tok]) -> Result<(), String> {
    let n = grammar.len().max(lexer.len());
    for i in 0..n {
        let (g, l) = (grammar.get(i), lexer.get(i));
        if g != l {
            let at = g.or(l).map(|t| t.start).unwrap_or(0);
            let (line, col) = line_col(src, at);
            let src_line = src.lines().nth(line - 1).unwrap_or("");
            let context = |ts: &[Tok]| {
                ts[i.saturating_sub(3)..(i + 3).min(ts.len())]
                    .iter()
                    .map(|t| format!("    {}", describe(src, Some(t))))
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            return Err(format!(
                "{name}:{line}:{col}: the lexer and the grammar disagree at token #{i} \
                 (grammar has {} tokens, lexer {})\n  line {line}: {src_line}\n  \
                 grammar: {}\n  lexer:   {}\n  grammar context:\n{}\n  lexer context:\n{}",
                grammar.len(),
                lexer.len(),
                describe(src, g),
                describe(src, l),
                context(grammar),
                context(lexer),
            ));
        }
    }
    Ok(())
}

/// Parses and lexes `src` and compares the two token sequences.
fn check_text(name: &str, src: &str) -> Result<usize, String> {
    let grammar =
        grammar_tokens(src).map_err(|e| format!("{name}: the grammar rejects it:\n{e}"))?;
    let lexer = lexer_tokens(src);
    compare(name, src, &grammar, &lexer)?;
    Ok(grammar.len())
}

fn root() -> PathBuf {
    common::repo_root().to_path_buf()
}

fn collect_nas(dir: &Path, skip: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            if p != skip {
                collect_nas(&p, skip, out);
            }
        } else if p.extension().is_some_and(|e| e == "nas") {
            out.push(p);
        }
    }
}

/// Every `.nas` file under `examples/` (but `examples/errors/`) and `stdlib/`.
fn corpus() -> Vec<PathBuf> {
    let root = root();
    let skip = root.join("examples").join("errors");
    let mut files = Vec::new();
    collect_nas(&root.join("examples"), &skip, &mut files);
    collect_nas(&root.join("stdlib"), &skip, &mut files);
    files
}

#[test]
fn lexer_and_grammar_agree_on_every_example_and_stdlib_file() {
    let root = root();
    let files = corpus();
    // The walk must really find the corpus (a moved directory must not make this vacuous).
    for must in
        ["examples/mnist.nas", "stdlib/ops.nas", "stdlib/cells.nas", "stdlib/spaces/darts.nas"]
    {
        assert!(files.contains(&root.join(must)), "{must} not found among {files:?}");
    }
    assert!(
        !files.iter().any(|f| f.starts_with(root.join("examples/errors"))),
        "examples/errors/ must be skipped"
    );
    let mut failures = Vec::new();
    let mut total = 0;
    for f in &files {
        let name = f.strip_prefix(&root).unwrap_or(f).display().to_string();
        let src = std::fs::read_to_string(f).unwrap_or_else(|e| panic!("{name}: {e}"));
        match check_text(&name, &src) {
            Ok(n) => {
                assert!(n > 0, "{name}: no tokens compared");
                total += n;
            }
            Err(e) => failures.push(e),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} files disagree:\n\n{}",
        failures.len(),
        files.len(),
        failures.join("\n\n")
    );
    assert!(total > 1000, "only {total} tokens compared");
}

/// Corners where a lexer and a grammar written separately tend to drift apart.
#[test]
fn lexer_and_grammar_agree_on_corner_cases() {
    let src = r#"//// four slashes: a line comment, not a doc comment
///
/// a doc comment, and an empty one above
import std.ops.{conv2d}
//
/// Keyword prefixes and suffixes are names: blocks, lets, inputs, format, iffy, Tensors.
block blocks(inputs: Tensor[n, c, h, w], format: int = 1_000, Tensors: list[int] = [])
    -> Tensor[n, c, h, w]
    where format <= 2_000_000, 1e-3 < 2.5E+4, 0.5 >= 1_0.0_1e1_0
{
    let lets = [i for i in 0..4] // a range, not a float
    let iffy = if not true and false or 1 != 2 then -1 else 2 % 4 / 5 * -6
    let elsewhere = choice width label "w/\"x\"\\" [16, 32]
    let r = pick picks 1 of [inputs, inputs] reduce sum
    for fortune in 0..format {
        let thence = repeat reduced [1, 2] from inputs { inputs }
    }
    return choice ofs {
        /// documented alternative
        returns: inputs, // trailing comment
        labels: repeat label "d" [1] from inputs { { let x = inputs x } },
    }
}
operator nots(x: Tensor[...rest]) -> Tensor[...rest] {
    require 1 == 1 : "ok" ; params = 0; flops = 0
}
"#;
    let n = check_text("<corner cases>", src).unwrap_or_else(|e| panic!("{e}"));
    assert!(n > 100, "only {n} tokens compared");
    // Windows line endings: a comment runs up to the `\n`, so both keep the `\r` in it.
    let crlf = src.replace('\n', "\r\n");
    let m = check_text("<corner cases, CRLF>", &crlf).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(m, n);
}

/// `**` is one token to the lexer (`StarStar`), and the grammar has a `pow` rule for it.
#[test]
fn lexer_and_grammar_agree_on_the_power_operator() {
    let src = "block B(x: int) -> int {\n    return 2 ** x ** 3 * 4\n}\n";
    check_text("<power>", src).unwrap_or_else(|e| panic!("{e}"));
}

/// The comparison must catch a disagreement: a dropped token, a token of another kind, a
/// keyword read as another keyword, a shifted range, a lexer error token.
#[test]
fn the_comparison_catches_disagreements() {
    let src = "/// doc\nblock B(x: Tensor[n]) -> Tensor[n] { let y = choice w [1, 2.5, \"s\"] // c\n return x + y }\n";
    let grammar = grammar_tokens(src).expect("the snippet parses");
    let lexer = lexer_tokens(src);
    compare("<snippet>", src, &grammar, &lexer).expect("the snippet agrees");
    for kind in [
        Kind::DocComment,
        Kind::Keyword("block".into()),
        Kind::Ident,
        Kind::Int,
        Kind::Float,
        Kind::Str,
        Kind::Comment,
        Kind::Op("+"),
    ] {
        assert!(grammar.iter().any(|t| t.kind == kind), "the snippet has no {kind:?}");
    }

    // Drop each token in turn from either side.
    for i in 0..lexer.len() {
        let mut fewer = lexer.clone();
        let dropped = fewer.remove(i);
        let err = compare("<snippet>", src, &grammar, &fewer)
            .expect_err("a dropped lexer token must be reported");
        assert!(err.contains(&format!("token #{i}")), "{err}");
        assert!(err.contains("<snippet>:"), "{err}");
        assert!(err.contains(&dropped.to_string()), "{err}");
        let mut fewer = grammar.clone();
        fewer.remove(i);
        compare("<snippet>", src, &fewer, &lexer)
            .expect_err("a dropped grammar token must be reported");
    }

    // A keyword that the lexer would read as another keyword.
    let mut wrong = lexer.clone();
    let i = wrong.iter().position(|t| t.kind == Kind::Keyword("let".into())).expect("a let");
    wrong[i].kind = Kind::Keyword("return".into());
    let err = compare("<snippet>", src, &grammar, &wrong).expect_err("wrong keyword");
    assert!(err.contains("<snippet>:2:"), "{err}");

    // An identifier read as an int, a comment one byte short, an error token.
    let mut wrong = lexer.clone();
    let i = wrong.iter().position(|t| t.kind == Kind::Ident).expect("a name");
    wrong[i].kind = Kind::Int;
    compare("<snippet>", src, &grammar, &wrong).expect_err("wrong kind");
    let mut wrong = lexer.clone();
    let i = wrong.iter().position(|t| t.kind == Kind::Comment).expect("a comment");
    wrong[i].end -= 1;
    compare("<snippet>", src, &grammar, &wrong).expect_err("shifted range");

    // A longer sequence is not "equal" because it agrees on a common prefix: one extra
    // token at the end (here a lexer error token) must be reported.
    let bad = "block B(x: Tensor[n]) -> Tensor[n] { return x }\n";
    let mut lexed = lexer_tokens(bad);
    lexed.push(Tok { kind: Kind::LexError, start: bad.len() - 1, end: bad.len() });
    compare("<end to end>", bad, &grammar_tokens(bad).unwrap(), &lexed)
        .expect_err("an extra lexer error token must be reported");
}

/// The `kw_xxx = @{ "word" ... }` rules of the grammar file, in order, as (rule, word).
fn grammar_keyword_rules(grammar: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for line in grammar.lines() {
        let line = line.trim();
        let Some(rest) = line.strip_prefix("kw_") else {
            continue;
        };
        let Some((name, def)) = rest.split_once('=') else {
            continue;
        };
        let def = def.trim();
        let def = def
            .strip_prefix("@{")
            .unwrap_or_else(|| panic!("kw_{} must be an atomic rule: {line}", name.trim()));
        let word = def
            .trim_start()
            .strip_prefix('"')
            .and_then(|s| s.split_once('"'))
            .map(|(w, _)| w.to_string())
            .unwrap_or_else(|| panic!("kw_{} does not start with a string: {line}", name.trim()));
        assert!(
            def.contains("!ident_char"),
            "kw_{} must not continue into a name (`~ !ident_char`): {line}",
            name.trim()
        );
        out.push((format!("kw_{}", name.trim()), word));
    }
    out
}

/// The rule names listed in the grammar's `keyword = _{ ... }` rule.
fn grammar_keyword_alternatives(grammar: &str) -> Vec<String> {
    let start = grammar.find("\nkeyword").expect("the grammar has a `keyword` rule");
    let rest = &grammar[start..];
    let open = rest.find('{').expect("keyword rule body");
    let close = rest.find('}').expect("keyword rule end");
    rest[open + 1..close]
        .split('|')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

#[test]
fn keyword_lists_are_equal() {
    let text = std::fs::read_to_string(root().join("grammar/nas.pest")).expect("grammar file");
    let rules = grammar_keyword_rules(&text);
    assert!(rules.len() >= 20, "found only {rules:?}");

    // Same words, in the same order (lexer.rs promises the grammar's order).
    let words: Vec<&str> = rules.iter().map(|(_, w)| w.as_str()).collect();
    let grammar_set: BTreeSet<&str> = words.iter().copied().collect();
    let lexer_set: BTreeSet<&str> = KEYWORDS.iter().copied().collect();
    assert_eq!(grammar_set.len(), words.len(), "a keyword is defined twice: {words:?}");
    assert_eq!(
        grammar_set,
        lexer_set,
        "keywords only in the grammar: {:?}; only in the lexer: {:?}",
        grammar_set.difference(&lexer_set).collect::<Vec<_>>(),
        lexer_set.difference(&grammar_set).collect::<Vec<_>>()
    );
    assert_eq!(words, KEYWORDS, "same keywords, different order");

    // Every kw_ rule is an alternative of `keyword` (which `ident` excludes), and nothing else.
    let alts = grammar_keyword_alternatives(&text);
    let rule_names: BTreeSet<&str> = rules.iter().map(|(r, _)| r.as_str()).collect();
    let alt_names: BTreeSet<&str> = alts.iter().map(String::as_str).collect();
    assert_eq!(
        rule_names,
        alt_names,
        "kw_ rules missing from `keyword`: {:?}; `keyword` alternatives that are no kw_ rule: {:?}",
        rule_names.difference(&alt_names).collect::<Vec<_>>(),
        alt_names.difference(&rule_names).collect::<Vec<_>>()
    );
    assert_eq!(alts.len(), alt_names.len(), "`keyword` lists a rule twice");

    // And both sides behave alike on each word: a keyword is not a name, and a keyword with a
    // letter, a digit or `_` after it is one name.
    for (rule, word) in &rules {
        assert!(
            NasParser::parse(Rule::ident, word).is_err(),
            "the grammar reads keyword {word:?} as a name"
        );
        let toks = tokenize(word);
        assert_eq!(toks.len(), 1, "{word:?} lexes as {toks:?}");
        assert!(toks[0].0.is_keyword(), "{word:?} lexes as {:?}", toks[0].0);
        assert_eq!(
            format!("kw_{}", format!("{:?}", toks[0].0).to_lowercase()),
            *rule,
            "{word:?}: the lexer's variant and the grammar's rule differ"
        );
        for suffix in ["s", "_", "1", "X"] {
            let longer = format!("{word}{suffix}");
            let parsed = NasParser::parse(Rule::ident, &longer)
                .unwrap_or_else(|e| panic!("the grammar rejects the name {longer:?}: {e}"));
            assert_eq!(parsed.as_str(), longer, "the grammar splits {longer:?}");
            let toks = tokenize(&longer);
            assert_eq!(toks.len(), 1, "{longer:?} lexes as {toks:?}");
            assert_eq!(toks[0].0, Token::Ident, "{longer:?}");
        }
    }
}
