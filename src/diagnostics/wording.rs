//! Every user-facing sentence of nasc: diagnostics from each stage's typed errors, the plain
//! words for grammar rules in syntax errors, and the command line's own messages.

use super::{Diagnostic, Label, Severity};
use crate::resolve::{Located, ResolveError};
use crate::source::{Loc, Span};
use crate::syntax::parser::{Expected, Found, Rule, SyntaxError, MAX_NESTING};

/// Every diagnostic code with a short title; each has a page `docs/errors/<code>.md`.
pub const CODES: &[(&str, &str)] = &[
    ("E0001", "syntax error"),
    ("E0002", "nesting too deep"),
    ("E0003", "number literal out of range"),
    ("E0004", "unknown escape in a string"),
    ("E0005", "unterminated string"),
    ("E0006", "file is not valid UTF-8"),
    ("E0010", "unknown name"),
    ("E0011", "unknown block or operator"),
    ("E0012", "defined twice"),
    ("E0013", "unknown module"),
    ("E0014", "import cycle"),
    ("E0015", "name not found in module"),
    ("E0016", "unknown keyword argument"),
    ("E0017", "too many arguments"),
    ("E0018", "missing arguments"),
    ("E0019", "argument given twice"),
    ("E0020", "label reused with a different domain"),
    ("E0021", "unknown type"),
    ("E0022", "unknown reduction"),
    ("E0023", "missing return"),
    ("E0024", "unknown operator measure"),
    ("E0025", "not a block or operator"),
    ("E0026", "not a value"),
    ("E0027", "statement after return"),
];

fn did_you_mean(s: &Option<String>) -> Option<String> {
    s.as_ref().map(|s| format!("did you mean `{s}`?"))
}

fn diag(code: &'static str, message: String, primary: Loc, label: impl Into<String>) -> Diagnostic {
    Diagnostic {
        code,
        severity: Severity::Error,
        message,
        primary: Label {
            loc: primary,
            message: label.into(),
        },
        secondary: Vec::new(),
        notes: Vec::new(),
        help: None,
    }
}

impl Diagnostic {
    fn with_secondary(mut self, loc: Loc, message: impl Into<String>) -> Self {
        self.secondary.push(Label {
            loc,
            message: message.into(),
        });
        self
    }
    fn with_help(mut self, help: Option<String>) -> Self {
        self.help = help;
        self
    }
    fn with_note(mut self, note: String) -> Self {
        self.notes.push(note);
        self
    }
}

/// The plain words for a grammar rule in "expected ..." (never `EOI` or `expr_3`).
pub fn describe_rule(r: Rule) -> &'static str {
    use Rule::*;
    match r {
        EOI => "end of file",
        expr | expr_only => "an expression",
        ident | choice_name => "a name",
        add => "an operator",
        index => "`[`",
        int => "an integer",
        float => "a number",
        string | str_body => "a string",
        kw_import | kw_block | kw_network | kw_operator => {
            "an item (`import`, `block`, `network` or `operator`)"
        }
        kw_let => "`let`",
        kw_return => "`return`",
        kw_for => "`for`",
        kw_in => "`in`",
        kw_of => "`of`",
        kw_from => "`from`",
        kw_reduce => "`reduce`",
        kw_then => "`then`",
        kw_else => "`else`",
        kw_where => "`where`",
        kw_label => "`label`",
        kw_require => "`require`",
        kw_choice => "`choice`",
        kw_pick => "`pick`",
        kw_repeat => "`repeat`",
        kw_if => "`if`",
        kw_tensor | tensor_type => "a type",
        named_type => "a type",
        label_clause => "`label \"...\"`",
        import_decl | block_decl | network_decl | op_decl | file => {
            "an item (`import`, `block`, `network` or `operator`)"
        }
        import_list => "`.{`",
        module_path => "a module path",
        param | param_list => "a parameter",
        body | block_expr => "`{`",
        let_stmt | for_stmt | return_stmt => "a statement (`let`, `for` or `return`)",
        op_body => "`{`",
        require | measure => "an operator clause (`require`, `params = ...`, `flops = ...`)",
        where_clause => "`where`",
        arg => "an argument",
        alternatives => "`{`",
        alternative => "an alternative (`name: expression`)",
        values => "a list of values `[...]`",
        rest_dim => "`...name`",
        fixed_depth => "a depth",
        list | list_comp => "a list",
        _ => "something else",
    }
}

fn expected_words(expected: &[Expected]) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    for e in expected {
        let w = match e {
            Expected::Rule(r) => describe_rule(*r).to_string(),
            Expected::Token(t) => format!("`{t}`"),
        };
        if w != "something else" && !words.contains(&w) {
            words.push(w);
        }
    }
    words
}

fn join_or(words: &[String]) -> String {
    match words.len() {
        0 => String::new(),
        1 => words[0].clone(),
        n => format!("{} or {}", words[..n - 1].join(", "), words[n - 1]),
    }
}

/// The diagnostic for a syntax error in `file`.
pub fn syntax_error(file: crate::source::FileId, e: &SyntaxError) -> Diagnostic {
    let at = |s: Span| Loc::new(file, s);
    match e {
        SyntaxError::Unexpected {
            span,
            found,
            expected,
        } => {
            let words = expected_words(expected);
            let found_words = match found {
                Found::EndOfFile => "the end of the file".to_string(),
                Found::Token(t) => format!("`{t}`"),
            };
            let message = if words.is_empty() {
                format!("unexpected {found_words}")
            } else {
                format!("expected {}, found {found_words}", join_or(&words))
            };
            let label = if words.is_empty() {
                "not expected here".to_string()
            } else {
                format!("expected {}", join_or(&words))
            };
            diag("E0001", message, at(*span), label)
        }
        SyntaxError::TooDeep { span } => diag(
            "E0002",
            format!("expressions nest too deeply (the limit is {MAX_NESTING} levels)"),
            at(*span),
            "nesting limit reached here",
        )
        .with_help(Some("split the expression with `let` bindings".into())),
        SyntaxError::NumberOutOfRange { span } => diag(
            "E0003",
            "number literal out of range".into(),
            at(*span),
            "integers must fit in 64 bits, floats must be finite",
        ),
        SyntaxError::BadEscape { span, escape } => diag(
            "E0004",
            format!("unknown escape `\\{escape}` in a string"),
            at(*span),
            "unknown escape",
        )
        .with_help(Some("strings know `\\\"`, `\\\\`, `\\n` and `\\t`".into())),
        SyntaxError::UnterminatedString { span } => diag(
            "E0005",
            "unterminated string".into(),
            at(Span::new(span.start, span.start + 1)),
            "this string is never closed on its line",
        )
        .with_help(Some("add a closing `\"`".into())),
    }
}

/// The diagnostic for a located name-stage error.
pub fn resolve_error(e: &Located) -> Diagnostic {
    use ResolveError::*;
    let file = e.file;
    let at = |s: Span| Loc::new(file, s);
    match &e.error {
        Syntax(s) => syntax_error(file, s),
        InvalidUtf8 { offset } => diag(
            "E0006",
            format!("file is not valid UTF-8 (first bad byte at offset {offset})"),
            at(Span::new(*offset, *offset)),
            "invalid UTF-8 starts here",
        )
        .with_help(Some("save the file as UTF-8 text".into())),
        UnknownName { span, name, suggestion } => {
            diag("E0010", format!("cannot find `{name}` in this scope"), at(*span), "not found").with_help(did_you_mean(suggestion))
        }
        UnknownCallee { span, name, suggestion } => {
            let help = did_you_mean(suggestion).or_else(|| Some("define it with `block` or import it (`import std.ops.{...}`)".into()));
            diag("E0011", format!("cannot find block or operator `{name}`"), at(*span), "not a known block or operator").with_help(help)
        }
        Duplicate { span, name, what, first } => diag("E0012", format!("the {what} `{name}` is defined twice"), at(*span), "defined again here")
            .with_secondary(*first, "first defined here")
            .with_help(Some(format!("rename one of the two {what}s"))),
        UnknownModule { span, module, looked_at, suggestion } => {
            diag("E0013", format!("cannot find module `{module}`"), at(*span), "no such module")
                .with_note(format!("looked in {looked_at}"))
                .with_help(did_you_mean(suggestion))
        }
        ImportCycle { span, cycle } => diag("E0014", "modules import each other".into(), at(*span), "this import closes a cycle")
            .with_note(format!("cycle: {}", cycle.join(" -> ")))
            .with_help(Some("move the shared items into a module that both import".into())),
        UnknownImport { span, name, module, suggestion } => {
            diag("E0015", format!("module `{module}` has no item `{name}`"), at(*span), "not in this module").with_help(did_you_mean(suggestion))
        }
        UnknownKeyword { span, name, callee, suggestion, def } => {
            diag("E0016", format!("`{callee}` has no parameter `{name}`"), at(*span), "unknown keyword argument")
                .with_secondary(*def, format!("`{callee}` is defined here"))
                .with_help(did_you_mean(suggestion))
        }
        TooManyArguments { span, callee, expected, given, def } => diag(
            "E0017",
            format!("`{callee}` takes {expected} argument{}, but {given} were given", if *expected == 1 { "" } else { "s" }),
            at(*span),
            "extra argument",
        )
        .with_secondary(*def, format!("`{callee}` is defined here")),
        MissingArguments { span, callee, missing, def } => {
            let list = missing.iter().map(|m| format!("`{m}`")).collect::<Vec<_>>();
            diag(
                "E0018",
                format!("missing argument{} {} in call to `{callee}`", if missing.len() == 1 { "" } else { "s" }, join_and(&list)),
                at(*span),
                "missing arguments",
            )
            .with_secondary(*def, format!("`{callee}` is defined here"))
            .with_help(Some(format!("pass {}", missing.iter().map(|m| format!("`{m}: ...`")).collect::<Vec<_>>().join(", "))))
        }
        ArgumentTwice { span, name, first } => diag("E0019", format!("argument `{name}` is given twice"), at(*span), "given again here")
            .with_secondary(at(*first), "first given here"),
        LabelDomain { span, label, domain, first, first_domain } => diag(
            "E0020",
            format!("label `{label}` is used for choices with different domains"),
            at(*span),
            format!("here its domain is {domain}"),
        )
        .with_secondary(*first, format!("here its domain is {first_domain}"))
        .with_note("choices with the same explicit label are one decision, so they must offer the same values".into())
        .with_help(Some("give one of them another label, or the same values".into())),
        UnknownType { span, name, suggestion } => diag("E0021", format!("unknown type `{name}`"), at(*span), "not a type")
            .with_help(did_you_mean(suggestion).or_else(|| Some("types are `int`, `float`, `bool`, `str`, `list[...]` and `Tensor[...]`".into()))),
        UnknownReduction { span, name, suggestion } => {
            diag("E0022", format!("unknown reduction `{name}`"), at(*span), "not a reduction")
                .with_help(did_you_mean(suggestion).or_else(|| Some("reductions are `sum`, `mean` and `concat`".into())))
        }
        MissingReturn { span, block, end } => diag("E0023", format!("`{block}` does not end with `return`"), at(*span), "this block returns nothing")
            .with_secondary(at(*end), "the body ends here")
            .with_help(Some("end the body with `return <expression>`".into())),
        UnknownMeasure { span, name, suggestion } => {
            diag("E0024", format!("operators declare `params` and `flops`, not `{name}`"), at(*span), "unknown measure")
                .with_help(did_you_mean(suggestion))
        }
        NotCallable { span, name, bound } => diag("E0025", format!("`{name}` is a value, not a block or operator"), at(*span), "called here")
            .with_secondary(at(*bound), format!("`{name}` is bound here")),
        NotAValue { span, name, def } => diag("E0026", format!("`{name}` is a block or operator, not a value"), at(*span), "used as a value")
            .with_secondary(*def, "defined here")
            .with_help(Some(format!("call it: `{name}(...)`"))),
        AfterReturn { span, ret } => diag("E0027", "statement after `return`".into(), at(*span), "this is never reached")
            .with_secondary(at(*ret), "the block returns here"),
    }
}

fn join_and(words: &[String]) -> String {
    match words.len() {
        0 => String::new(),
        1 => words[0].clone(),
        n => format!("{} and {}", words[..n - 1].join(", "), words[n - 1]),
    }
}

/// `nasc check`'s line for a file with no errors.
pub fn check_ok(path: &str, networks: &[String], blocks: usize, choices: usize) -> String {
    let nets = if networks.is_empty() {
        "no network".to_string()
    } else {
        format!(
            "network{} {}",
            if networks.len() == 1 { "" } else { "s" },
            networks.join(", ")
        )
    };
    format!(
        "{path}: ok: {nets}; {blocks} block{}; {choices} choice{} written",
        if blocks == 1 { "" } else { "s" },
        if choices == 1 { "" } else { "s" }
    )
}

/// The closing line when a file has errors.
pub fn error_count(errors: usize) -> String {
    format!(
        "error: could not compile: {errors} error{} found",
        if errors == 1 { "" } else { "s" }
    )
}
