//! The fast parser generated from `grammar/nas.pest` (`nasc_front::syntax::fast`) against the parser
//! pest derives from the same grammar: on every `.nas` file of the repository, on random token
//! soups and on randomly mutated files, both accept the same texts and build the same tree
//! (rules, byte ranges, nesting), and the fast parser leaves text nested too deeply to pest.

use nasc_front::syntax::fast;
use nasc_front::syntax::parser::{NasParser, Rule};
use nasc_front::syntax::tree::Tree;
use pest::Parser as _;
use proptest::prelude::*;

mod common;

/// Every `.nas` file of the repository (examples, the standard library, test inputs, and the
/// golden files, which hold syntax errors on purpose).
fn corpus() -> Vec<(String, String)> {
    let root = common::repo_root();
    common::nas_files(&["examples", "stdlib", "tests"])
        .into_iter()
        .filter_map(|p| {
            let text = String::from_utf8(std::fs::read(&p).expect("read")).ok()?;
            Some((p.strip_prefix(root).unwrap_or(&p).display().to_string(), text))
        })
        .collect()
}

/// Both parsers on `text`: `Err` with a description where they disagree.
fn agree(rule: Rule, text: &str) -> Result<bool, String> {
    let reference = NasParser::parse(rule, text).map(|pairs| Tree::from_pest(text, pairs));
    let fast = fast::parse(rule, text);
    match (reference, fast) {
        (Ok(a), Some(b)) if a == b => Ok(true),
        (Ok(a), Some(b)) => {
            let at = a
                .nodes
                .iter()
                .zip(&b.nodes)
                .position(|(x, y)| x != y)
                .unwrap_or(a.nodes.len().min(b.nodes.len()));
            Err(format!(
                "different trees ({} and {} nodes); first difference at node {at}: pest {:?}, fast {:?}",
                a.nodes.len(),
                b.nodes.len(),
                a.nodes.get(at),
                b.nodes.get(at)
            ))
        }
        (Ok(_), None) => Err("pest parses it, the fast parser does not".to_string()),
        (Err(_), Some(_)) => Err("the fast parser parses it, pest does not".to_string()),
        (Err(_), None) => Ok(false),
    }
}

#[test]
fn both_parsers_build_the_same_tree_for_every_file_in_the_repository() {
    let files = corpus();
    assert!(files.len() > 60, "only {} files found", files.len());
    let mut parsed = 0;
    for (name, text) in &files {
        match agree(Rule::file, text) {
            Ok(ok) => parsed += ok as usize,
            Err(e) => panic!("{name}: {e}"),
        }
    }
    // The golden files of syntax errors do not parse; everything else does.
    assert!(parsed + 10 > files.len(), "{parsed} of {} files parsed", files.len());
}

#[test]
fn both_parsers_agree_on_expressions() {
    for e in [
        "a + b * c ** d - -e",
        "f(x, out: 3) label \"s\"",
        "choice op { a: x, /// doc\n b: y }",
        "choice w [1, 2, 3]",
        "pick 2 of [a, b, c] reduce concat",
        "repeat d [1, 2] from h { relu(h) }",
        "repeat 3 from h { h }",
        "[f(i) for i in 0..4]",
        "if a == 1 and not b then x else y",
        "{ let a = 1; a }",
        "x[1][2]",
        "1e-3 + 2_000 + \"s\\n\" // comment",
        "in",
        "ifx",
        "",
    ] {
        if let Err(err) = agree(Rule::expr_only, e) {
            panic!("{e:?}: {err}");
        }
    }
}

#[test]
fn text_nested_too_deeply_is_left_to_pest() {
    let deep =
        format!("block B(x: int) -> int {{ return {}x{} }}", "(".repeat(5_000), ")".repeat(5_000));
    assert!(fast::parse(Rule::file, &deep).is_none());
    let shallow =
        format!("block B(x: int) -> int {{ return {}x{} }}", "(".repeat(100), ")".repeat(100));
    assert!(fast::parse(Rule::file, &shallow).is_some());
    assert_eq!(agree(Rule::file, &shallow), Ok(true));
}

/// Pieces of `.nas` text: every keyword, names, literals, punctuation, trivia.
const PIECES: &[&str] = &[
    "import",
    "block",
    "network",
    "operator",
    "let",
    "return",
    "choice",
    "pick",
    "of",
    "reduce",
    "repeat",
    "from",
    "for",
    "in",
    "where",
    "label",
    "require",
    "if",
    "then",
    "else",
    "true",
    "false",
    "and",
    "or",
    "not",
    "Tensor",
    "x",
    "conv",
    "_a1",
    "blocks",
    "int",
    "list",
    "0",
    "12",
    "1_000",
    "1e-3",
    "2.5",
    "\"s\"",
    "\"a\\\"b\"",
    "\"",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ",",
    ":",
    ";",
    ".",
    "..",
    "...",
    "->",
    "=",
    "==",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "+",
    "-",
    "*",
    "**",
    "/",
    "%",
    " ",
    "  ",
    "\n",
    "\t",
    "// c\n",
    "/// d\n",
    "//// e\n",
    "é",
    "\r\n",
];

fn soup() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(PIECES), 0..60).prop_map(|v| v.concat())
}

/// One of the repository's files with a few random edits: bytes deleted, pieces inserted,
/// spans duplicated.
fn mutated() -> impl Strategy<Value = String> {
    let files = corpus();
    let n = files.len();
    (
        0..n,
        prop::collection::vec(
            (any::<prop::sample::Index>(), 0usize..3, prop::sample::select(PIECES), 1usize..40),
            1..6,
        ),
    )
        .prop_map(move |(i, edits)| {
            let mut text = files[i].1.clone();
            for (at, kind, piece, len) in edits {
                let mut p = at.index(text.len() + 1);
                while !text.is_char_boundary(p) {
                    p -= 1;
                }
                match kind {
                    0 => {
                        let mut end = (p + len).min(text.len());
                        while !text.is_char_boundary(end) {
                            end -= 1;
                        }
                        text.replace_range(p..end, "");
                    }
                    1 => text.insert_str(p, piece),
                    _ => {
                        let mut end = (p + len).min(text.len());
                        while !text.is_char_boundary(end) {
                            end -= 1;
                        }
                        let dup = text[p..end].to_string();
                        text.insert_str(p, &dup);
                    }
                }
            }
            text
        })
}

/// `PROPTEST_CASES` if set, else `default`.
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

proptest! {
    // `PROPTEST_CASES=N` runs more cases (docs/benchmarks.md records a long run).
    #![proptest_config(ProptestConfig { cases: cases(300), ..ProptestConfig::default() })]

    #[test]
    fn both_parsers_agree_on_random_token_soups(text in soup()) {
        prop_assert_eq!(agree(Rule::file, &text).map(|_| ()), Ok(()));
        prop_assert_eq!(agree(Rule::expr_only, &text).map(|_| ()), Ok(()));
    }

    #[test]
    fn both_parsers_agree_on_mutated_files(text in mutated()) {
        prop_assert_eq!(agree(Rule::file, &text).map(|_| ()), Ok(()));
    }
}
