//! Fuzzes the whole front end on arbitrary bytes, the way `nasc check` (and `nasc tokens`)
//! drive it: lex, parse, load and resolve names, type-check whatever resolved, compute the
//! facts of every network, and render every diagnostic as text and as JSON. Nothing here may
//! panic, whatever the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nasc::diagnostics::{self, wording};
use nasc::source::Origin;

fuzz_target!(|data: &[u8]| {
    // `nasc tokens`: invalid UTF-8 is replaced (U+FFFD) before lexing.
    let text = String::from_utf8_lossy(data);
    for (_tok, span) in nasc::syntax::lexer::tokenize(&text) {
        // Every span must lie on char boundaries of the text, as `nasc tokens` slices it.
        let _ = &text[span.start..span.end];
    }
    // The parser on its own (the loader skips parsing files that are not UTF-8).
    let (_module, _syntax_errors) = nasc::syntax::parser::parse_module(&text);

    // `nasc check`: the loader takes the bytes as read from disk and reports invalid UTF-8
    // itself. `Origin::Memory` keeps relative imports off the file system; `std.*` imports
    // still load the embedded standard library.
    let (program, errors) = nasc::resolve::load_bytes("fuzz.nas", Origin::Memory, data);
    let mut diags: Vec<_> = errors.iter().map(wording::resolve_error).collect();
    let mut graphs = Vec::new();
    if diags.is_empty() {
        // The type stage runs only when resolution found no errors (as in `cli::check_resolved`).
        let (g, type_errors) = nasc::check::check_program(&program);
        diags.extend(type_errors.iter().map(wording::type_error));
        graphs = g;
        // The editor path also records types.
        let _ = nasc::check::check_program_with_types(&program);
    }
    let facts: Vec<_> = graphs.iter().map(nasc::facts::facts).collect();
    for (g, f) in graphs.iter().zip(&facts) {
        if f.satisfiable == Some(false) {
            diags.extend(wording::unsatisfiable(g));
        }
    }

    // Render, both ways the CLI does.
    let _plain = diagnostics::render_plain(&diags, &program.sources);
    let json = diagnostics::to_json(&diags, &program.sources);
    let _ = serde_json::to_string(&json).expect("diagnostics serialise");
    let _ = wording::error_count(diags.len());
    if diags.is_empty() {
        for (g, f) in graphs.iter().zip(&facts) {
            let _ = wording::space_summary(g, f);
            let _ = nasc::ir::to_text(g);
            let _ = serde_json::to_string(f).expect("facts serialise");
            for i in &g.inputs {
                let _ = g.shape_text(&g.nodes.get(*i).shape);
            }
            let _ = g.shape_text(&g.nodes.get(g.output).shape);
        }
    }
    // `nasc ast`: the root module's AST serialises.
    let _ = serde_json::to_string(&program.modules[0].ast).expect("AST serialises");
});
