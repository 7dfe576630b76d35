//! Bad input never panics, hangs or overflows the stack (issue 2, item 6): arbitrary bytes,
//! mutated files of the repository, an empty file, 100,000 levels of nesting of every kind of
//! expression, and a 10 MB line each get diagnostics (or none) whose spans lie inside the text,
//! through names, types and the facts of the space. The fuzz target under `fuzz/` runs the
//! same path on many more inputs.

use nasc_front::diagnostics::{render_plain, to_json, Diagnostic};
use nasc_front::driver;
use nasc_front::resolve::Program;
use nasc_front::source::Origin;
use proptest::prelude::*;

mod common;

/// Compiles `bytes` as `nasc check` does (names; types when names are clean; facts of every
/// network), renders the diagnostics both ways, and checks that every span lies inside its
/// file. Returns the codes reported.
fn check_bytes(bytes: &[u8]) -> Vec<&'static str> {
    let input = driver::Input::Bytes { name: "input.nas", origin: &Origin::Memory, bytes };
    let options = driver::Options { facts: true, ..Default::default() };
    let driver::Compiled { program, diagnostics: diags, .. } =
        driver::compile(input, options).expect("bytes are always readable");
    assert_spans_inside(&program, &diags);
    let text = render_plain(&diags, &program.sources);
    assert_eq!(diags.is_empty(), text.is_empty());
    assert_eq!(to_json(&diags, &program.sources).len(), diags.len());
    diags.iter().map(|d| d.code).collect()
}

fn assert_spans_inside(program: &Program, diags: &[Diagnostic]) {
    for d in diags {
        for l in std::iter::once(&d.primary).chain(&d.secondary) {
            let text = &program.sources.get(l.loc.file).text;
            assert!(
                l.loc.span.start <= l.loc.span.end && l.loc.span.end <= text.len(),
                "{}: span {:?} outside a {}-byte file",
                d.code,
                l.loc.span,
                text.len()
            );
        }
    }
}

/// The examples and test inputs (files of a size that checks in milliseconds).
fn corpus() -> Vec<Vec<u8>> {
    common::nas_files(&["examples", "tests"])
        .iter()
        .map(|p| std::fs::read(p).expect("read"))
        .collect()
}

/// One nested construct `n` levels deep, in a block.
fn nested(which: &str, n: usize) -> String {
    let body = match which {
        "paren" => format!("{}y{}", "(".repeat(n), ")".repeat(n)),
        "call" => format!("{}y{}", "f(".repeat(n), ")".repeat(n)),
        "kwcall" => format!("{}y{}", "f(a: ".repeat(n), ")".repeat(n)),
        "list" => format!("{}y{}", "[".repeat(n), "]".repeat(n)),
        "comp" => format!("{}y{}", "[".repeat(n), " for i in x]".repeat(n)),
        "neg" => format!("{}y", "- ".repeat(n)),
        "not" => format!("{}y", "not ".repeat(n)),
        "block" => format!("{}y{}", "{".repeat(n), "}".repeat(n)),
        "letblock" => format!("{}y{}", "{ let a = ".repeat(n), " a }".repeat(n)),
        "choice" => format!("{}y{}", "choice { a: ".repeat(n), "}".repeat(n)),
        "vchoice" => format!("{}y{}", "choice [".repeat(n), "]".repeat(n)),
        "if" => format!("{}y{}", "if x then ".repeat(n), " else x".repeat(n)),
        "ifc" => format!("{}y{}", "if ".repeat(n), " then x else x".repeat(n)),
        "index" => format!("{}y{}", "x[".repeat(n), "]".repeat(n)),
        "pick" => format!("{}y{}", "pick 1 of [".repeat(n), "]".repeat(n)),
        "repeat" => format!("{}y{}", "repeat d [1] from h {".repeat(n), "}".repeat(n)),
        "add" => format!("y{}", " + x".repeat(n)),
        "pow" => format!("y{}", " ** x".repeat(n)),
        "open paren" => "(".repeat(n),
        "open call" => "f(".repeat(n),
        "open list" => "[".repeat(n),
        "type" => {
            return format!(
                "block B(x: {}int{}) -> int {{ return x }}",
                "list[".repeat(n),
                "]".repeat(n)
            )
        }
        _ => unreachable!("{which}"),
    };
    format!("block B(x: int) -> int {{ return {body} }}")
}

const NESTED: &[&str] = &[
    "paren",
    "call",
    "kwcall",
    "list",
    "comp",
    "neg",
    "not",
    "block",
    "letblock",
    "choice",
    "vchoice",
    "if",
    "ifc",
    "index",
    "pick",
    "repeat",
    "add",
    "pow",
    "open paren",
    "open call",
    "open list",
    "type",
];

#[test]
fn nesting_100000_levels_deep_is_an_error_not_a_crash() {
    for which in NESTED {
        let text = nested(which, 100_000);
        // A thread with the 2 MiB stack of a test or language-server thread.
        let codes = std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(move || check_bytes(text.as_bytes()))
            .expect("spawn")
            .join();
        let codes = codes.unwrap_or_else(|_| panic!("{which}: panicked"));
        assert!(codes.contains(&"E0002") || codes.contains(&"E0001"), "{which}: {codes:?}");
    }
}

#[test]
fn nesting_that_is_deep_but_allowed_checks_normally() {
    // 150 levels of parentheses: within the limit of 200, so only the names are wrong.
    let codes = check_bytes(nested("paren", 150).as_bytes());
    assert!(!codes.contains(&"E0002"), "{codes:?}");
}

#[test]
fn an_empty_file_and_a_file_of_whitespace_have_no_errors() {
    assert!(check_bytes(b"").is_empty());
    assert!(check_bytes(b" \n\t\r\n// only a comment\n").is_empty());
}

#[test]
fn a_10_mb_line_is_handled() {
    let n = 10 << 20;
    for (name, text) in [
        ("comment", format!("// {}\n", "x".repeat(n))),
        ("string", format!("block B(x: int) -> int {{ return \"{}\" }}", "x".repeat(n))),
        ("ident", format!("block B(x: int) -> int {{ return {} }}", "x".repeat(n))),
        ("digits", format!("block B(x: int) -> int {{ return {} }}", "1".repeat(n))),
        ("bare ident", "x".repeat(n)),
    ] {
        let codes = check_bytes(text.as_bytes());
        let expected: &[&str] = match name {
            // A block no network calls is not type-checked: the string is fine.
            "comment" | "string" => &[],
            "ident" => &["E0010"],
            "digits" => &["E0003"],
            _ => &["E0001"],
        };
        assert_eq!(codes, expected, "{name}");
    }
}

/// A repository file with random edits: bytes deleted, arbitrary bytes inserted, spans
/// duplicated.
fn mutated() -> impl Strategy<Value = Vec<u8>> {
    let files = corpus();
    let n = files.len();
    (
        0..n,
        prop::collection::vec(
            (
                any::<prop::sample::Index>(),
                0usize..3,
                prop::collection::vec(any::<u8>(), 1..6),
                1usize..30,
            ),
            1..5,
        ),
    )
        .prop_map(move |(i, edits)| {
            let mut text = files[i].clone();
            for (at, kind, bytes, len) in edits {
                let p = at.index(text.len() + 1);
                let end = (p + len).min(text.len());
                match kind {
                    0 => {
                        text.drain(p..end);
                    }
                    1 => {
                        text.splice(p..p, bytes);
                    }
                    _ => {
                        let dup: Vec<u8> = text[p..end].to_vec();
                        text.splice(p..p, dup);
                    }
                }
            }
            text
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        check_bytes(&bytes);
    }

    #[test]
    fn mutated_files_never_panic(bytes in mutated()) {
        check_bytes(&bytes);
    }
}

#[test]
fn nesting_too_deep_points_at_the_expression_where_the_limit_is_reached() {
    let text = nested("paren", 300);
    let input =
        driver::Input::Bytes { name: "input.nas", origin: &Origin::Memory, bytes: text.as_bytes() };
    let (program, diags) = driver::load(input, None).expect("bytes are always readable");
    let d = diags.iter().find(|d| d.code == "E0002").expect("E0002");
    // Inside the parentheses, not at the start of the file.
    let at = d.primary.loc.span.start;
    assert!(
        at > text.find('(').expect("a paren"),
        "E0002 at byte {at}: {}",
        render_plain(&diags, &program.sources)
    );
}
