//! Fuzzes the whole front end on arbitrary bytes, the way `nasc check` (and `nasc tokens`)
//! drive it: lex, parse, load and resolve names, type-check whatever resolved, compute the
//! facts of every network, and render every diagnostic as text and as JSON. Nothing here may
//! panic, whatever the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nasc_front::diagnostics::{self, wording};
use nasc_front::driver;
use nasc_front::source::Origin;

fuzz_target!(|data: &[u8]| {
    // `nasc tokens`: invalid UTF-8 is replaced (U+FFFD) before lexing.
    let text = String::from_utf8_lossy(data);
    for (_tok, span) in nasc_front::syntax::lexer::tokenize(&text) {
        // Every span must lie on char boundaries of the text, as `nasc tokens` slices it.
        let _ = &text[span.start..span.end];
    }
    // The parser on its own (the loader skips parsing files that are not UTF-8).
    let (_module, _syntax_errors) = nasc_front::syntax::parser::parse_module(&text);

    // `nasc check`, through the front end's driver: the loader takes the bytes as read from
    // disk and reports invalid UTF-8 itself. `Origin::Memory` keeps relative imports off the
    // file system; `std.*` imports still load the embedded standard library. Types are
    // recorded as for the editor (the same type stage, recording).
    let input = driver::Input::Bytes { name: "fuzz.nas", origin: &Origin::Memory, bytes: data };
    let options = driver::Options { types: true, ..Default::default() };
    let driver::Compiled { program, diagnostics: mut diags, graphs, .. } =
        driver::compile(input, options).expect("bytes in memory are readable");
    // `nasc check` computes the facts of every network. Costing every architecture of a space
    // of up to `EXACT_LIMIT` (100,000) of them takes about a second natively and tens of
    // seconds under the sanitizer, so only small spaces (and those too large to enumerate,
    // which take the cheap bounds path) are costed here; `NASC_FUZZ_ALL_FACTS=1` costs all.
    let facts: Vec<_> =
        graphs.iter().map(|g| facts_affordable(g).then(|| nasc_front::facts::facts(g))).collect();
    diags.extend(driver::unsatisfiable(graphs.iter().filter(|g| facts_affordable(g))));

    // Render, both ways the CLI does.
    let _plain = diagnostics::render_plain(&diags, &program.sources);
    let json = diagnostics::to_json(&diags, &program.sources);
    let _ = serde_json::to_string(&json).expect("diagnostics serialise");
    let _ = wording::error_count(diags.len());
    if diags.is_empty() {
        for (g, f) in graphs.iter().zip(&facts) {
            if let Some(f) = f {
                let _ = wording::space_summary(g, f);
                let _ = serde_json::to_string(f).expect("facts serialise");
            }
            let _ = nasc_front::ir::to_text(g);
            for i in &g.inputs {
                let _ = g.shape_text(&g.nodes.get(*i).shape);
            }
            let _ = g.shape_text(&g.nodes.get(g.output).shape);
        }
    }
    // `nasc ast`: the root module's AST serialises.
    let _ = serde_json::to_string(&program.modules[0].ast).expect("AST serialises");
});

/// Whether computing the facts of `g` is cheap enough for fuzzing (see above).
fn facts_affordable(g: &nasc_front::ir::Graph) -> bool {
    const SMALL: u64 = 256;
    if std::env::var_os("NASC_FUZZ_ALL_FACTS").is_some() {
        return true;
    }
    let size = g.labels.labels.iter().try_fold(1u64, |acc, l| l.domain.size().and_then(|d| acc.checked_mul(d)));
    match size {
        Some(n) => n <= SMALL || n > nasc_front::facts::EXACT_LIMIT,
        None => true,
    }
}
