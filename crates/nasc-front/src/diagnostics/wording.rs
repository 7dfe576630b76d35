//! Every user-facing sentence of nasc: diagnostics from each stage's typed errors, the plain
//! words for grammar rules in syntax errors, and the command line's own messages.

use super::{Diagnostic, Label, Severity};
use crate::check::{Kind, Subject, TypeError, TypeLocated};
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
    ("E0101", "shape mismatch"),
    ("E0102", "wrong number of dimensions"),
    ("E0103", "alternatives yield different shapes"),
    ("E0104", "operator requirement fails"),
    ("E0105", "empty tensor dimension"),
    ("E0106", "wrong kind of value"),
    ("E0107", "depends on a choice"),
    ("E0108", "index out of range"),
    ("E0109", "input choice picks too many"),
    ("E0110", "arithmetic error"),
    ("E0111", "recursive block"),
    ("E0112", "malformed constraint"),
    ("E0113", "constraints cannot be met"),
    ("E0114", "network parameter without a value"),
    ("E0115", "operands of `+` differ in shape"),
    ("E0201", "architecture is not JSON"),
    ("E0202", "architecture is not an object"),
    ("E0203", "architecture misses a label"),
    ("E0204", "architecture has an unknown label"),
    ("E0205", "value outside the label's domain"),
];

fn did_you_mean(s: &Option<String>) -> Option<String> {
    s.as_ref().map(|s| format!("did you mean `{s}`?"))
}

fn diag(code: &'static str, message: String, primary: Loc, label: impl Into<String>) -> Diagnostic {
    Diagnostic {
        code,
        severity: Severity::Error,
        message,
        primary: Label { loc: primary, message: label.into() },
        secondary: Vec::new(),
        notes: Vec::new(),
        help: None,
    }
}

impl Diagnostic {
    fn with_secondary(mut self, loc: Loc, message: impl Into<String>) -> Self {
        self.secondary.push(Label { loc, message: message.into() });
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
        // `label "..."` may follow any call; naming it after every call only adds noise.
        kw_label | label_clause => "something else",
        kw_require => "`require`",
        kw_choice => "`choice`",
        kw_pick => "`pick`",
        kw_repeat => "`repeat`",
        kw_if => "`if`",
        kw_tensor | tensor_type => "a type",
        named_type => "a type",
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
        SyntaxError::Unexpected { span, found, expected } => {
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
        InvalidUtf8 { offset } => {
            diag("E0006", format!("file is not valid UTF-8 (first bad byte at offset {offset})"), at(Span::new(*offset, *offset)), "invalid UTF-8 starts here")
                .with_help(Some("save the file as UTF-8 text".into()))
        }
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
        UnknownModule { span, module, looked_at, suggestion } => diag("E0013", format!("cannot find module `{module}`"), at(*span), "no such module")
            .with_note(format!("looked in {looked_at}"))
            .with_help(did_you_mean(suggestion)),
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
        ArgumentTwice { span, name, first } => {
            diag("E0019", format!("argument `{name}` is given twice"), at(*span), "given again here").with_secondary(at(*first), "first given here")
        }
        LabelDomain { span, label, domain, first, first_domain } => {
            diag("E0020", format!("label `{label}` is used for choices with different domains"), at(*span), format!("here its domain is {domain}"))
                .with_secondary(*first, format!("here its domain is {first_domain}"))
                .with_note("choices with the same explicit label are one decision, so they must offer the same values".into())
                .with_help(Some("give one of them another label, or the same values".into()))
        }
        UnknownType { span, name, suggestion } => diag("E0021", format!("unknown type `{name}`"), at(*span), "not a type")
            .with_help(did_you_mean(suggestion).or_else(|| Some("types are `int`, `float`, `bool`, `str`, `list[...]` and `Tensor[...]`".into()))),
        UnknownReduction { span, name, suggestion } => diag("E0022", format!("unknown reduction `{name}`"), at(*span), "not a reduction")
            .with_help(did_you_mean(suggestion).or_else(|| Some("reductions are `sum`, `mean` and `concat`".into()))),
        MissingReturn { span, block, end } => diag("E0023", format!("`{block}` does not end with `return`"), at(*span), "this block returns nothing")
            .with_secondary(at(*end), "the body ends here")
            .with_help(Some("end the body with `return <expression>`".into())),
        UnknownMeasure { span, name, suggestion } => {
            diag("E0024", format!("operators declare `params` and `flops`, not `{name}`"), at(*span), "unknown measure").with_help(did_you_mean(suggestion))
        }
        NotCallable { span, name, bound } => diag("E0025", format!("`{name}` is a value, not a block or operator"), at(*span), "called here")
            .with_secondary(at(*bound), format!("`{name}` is bound here")),
        NotAValue { span, name, def } => diag("E0026", format!("`{name}` is a block or operator, not a value"), at(*span), "used as a value")
            .with_secondary(*def, "defined here")
            .with_help(Some(format!("call it: `{name}(...)`"))),
        AfterReturn { span, ret } => {
            diag("E0027", "statement after `return`".into(), at(*span), "this is never reached").with_secondary(at(*ret), "the block returns here")
        }
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
        format!("network{} {}", if networks.len() == 1 { "" } else { "s" }, networks.join(", "))
    };
    format!(
        "{path}: ok: {nets}; {blocks} block{}; {choices} choice{} written",
        if blocks == 1 { "" } else { "s" },
        if choices == 1 { "" } else { "s" }
    )
}

/// The closing line when a file has errors.
pub fn error_count(errors: usize) -> String {
    format!("error: {errors} error{} found", if errors == 1 { "" } else { "s" })
}

fn with_counterexample(d: Diagnostic, c: &Option<String>) -> Diagnostic {
    match c {
        Some(c) => d.with_note(format!("for example {c}")),
        None => d,
    }
}

/// The diagnostic for a type-stage error.
pub fn type_error(e: &TypeLocated) -> Diagnostic {
    let d = type_error_at(e);
    // An error inside a block of another file (a hub space, the standard library) also points
    // at the call in the file being checked that led there.
    let Some(root) = e.calls.first().map(|c| c.file) else { return d };
    if d.primary.loc.file == root {
        return d;
    }
    match e.calls.iter().rev().find(|c| c.file == root) {
        Some(call) => d.with_secondary(*call, "in this call"),
        None => d,
    }
}

/// A kind of value a type error expected or found, in words ("a tensor", "`int`").
pub fn kind(k: &Kind) -> String {
    match k {
        Kind::Scalar => "a scalar".into(),
        Kind::Tensor => "a tensor".into(),
        Kind::List => "a list".into(),
        Kind::Dims => "a list of dimensions".into(),
        Kind::Erroneous => "an erroneous value".into(),
        Kind::Integer => "an integer".into(),
        Kind::IntegerDim => "an integer dimension".into(),
        Kind::AtLeastOne => "at least 1".into(),
        Kind::TensorType => "a tensor type".into(),
        Kind::ScalarType => "a scalar type".into(),
        Kind::ListOrRange => "a list or a range".into(),
        Kind::ListOfTensors => "a list of tensors".into(),
        Kind::Numbers => "two numbers".into(),
        Kind::NumbersTensorsOrLists => "two numbers, two tensors or two lists".into(),
        Kind::Written(t) => format!("`{t}`"),
        Kind::Type(t) => t.clone(),
        Kind::LikeFirst(t) => format!("`{t}` like the first value"),
        Kind::Int(v) => v.to_string(),
        Kind::ListHolding(k) => format!("a list holding {}", kind(k)),
        Kind::Pair(a, b) => format!("{} and {}", kind(a), kind(b)),
    }
}

/// What a type error is about, in words ("argument `x` of `conv2d`").
pub fn subject(s: &Subject) -> String {
    match s {
        Subject::Returned { block } => format!("the value returned by `{block}`"),
        Subject::NetworkReturn { network } => format!("the value returned by network `{network}`"),
        Subject::Arg { param, callee } => format!("argument `{param}` of `{callee}`"),
        Subject::Let { name } => format!("`{name}`"),
        Subject::InputDim { dim, input } => format!("dimension {dim} of the input `{input}`"),
        Subject::NetworkInputShape => "a network's input shape (write every dimension)".into(),
        Subject::TensorDim => "a tensor dimension".into(),
        Subject::OperatorOutput { op } => format!("the output of operator `{op}`"),
        Subject::ForRange => "what a `for` loop ranges over".into(),
        Subject::ComprehensionRange => "what a comprehension ranges over".into(),
        Subject::Indexed => "an indexed value".into(),
        Subject::ListIndex => "a list index".into(),
        Subject::Condition => "a condition".into(),
        Subject::ConditionRanks => "a condition that selects tensors of different ranks".into(),
        Subject::ConditionKinds => {
            "a condition that selects between values of different kinds".into()
        }
        Subject::ValueChoiceValue => "a value of a value choice".into(),
        Subject::PrefixOperand => "the operand of a prefix operator".into(),
        Subject::Operands { op } => format!("the operands of `{op}`"),
        Subject::RangeBound => "a range bound".into(),
        Subject::Alternative { name } => {
            format!("alternative `{name}` (use a value choice for scalars)")
        }
        Subject::InputChoiceCandidates => "the candidates of an input choice".into(),
        Subject::PickCount => "the number of inputs picked".into(),
        Subject::RepeatDepth => "a repeat's depth".into(),
        Subject::CandidateDepth => "a candidate depth".into(),
        Subject::RepeatCarried => "the value a repeat with a depth choice carries".into(),
        Subject::RepeatBody => "the body of a repeat".into(),
    }
}

fn type_error_at(e: &TypeLocated) -> Diagnostic {
    use TypeError::*;
    match &e.error {
        ShapeMismatch { at, what, dim, expected, found, counterexample, declared } => {
            let when = counterexample.as_ref().map(|c| format!(" {c}")).unwrap_or_default();
            with_counterexample(
                diag(
                    "E0101",
                    format!("shape mismatch in dimension {dim} of {}: expected {expected}, found {found}{when}", subject(what)),
                    *at,
                    format!("dimension {dim} is {found}"),
                )
                .with_secondary(*declared, format!("the type requires {expected}")),
                &None,
            )
        }
        RankMismatch { at, what, expected, at_least, found, shape, declared } => diag(
            "E0102",
            format!(
                "{} has {found} dimension{}, but its type needs {}{expected}",
                subject(what),
                if *found == 1 { "" } else { "s" },
                if *at_least { "at least " } else { "" }
            ),
            *at,
            format!("this tensor is {shape}"),
        )
        .with_secondary(*declared, "the type is written here")
        .with_help(Some("flatten or pool the tensor first (`global_avg_pool`, `flatten`)".into())),
        AlternativesDiffer { at, label, first, second, counterexample } => {
            let when = counterexample.as_ref().map(|c| format!("{c}, ")).unwrap_or_default();
            diag(
                "E0103",
                format!("the alternatives of `{label}` yield different shapes: {when}`{}` yields {} but `{}` yields {}", first.0, first.2, second.0, second.2),
                *at,
                format!("`{}` yields {}", second.0, second.2),
            )
            .with_secondary(first.1, format!("`{}` yields {}", first.0, first.2))
            .with_note("every alternative of a choice must produce the same shape, for every architecture".into())
        }
        RequireFailed { at, op, message, counterexample, clause } => {
            let when = counterexample.as_ref().map(|c| format!(" {c}")).unwrap_or_default();
            diag("E0104", format!("`{op}` cannot be applied here{when}: {message}"), *at, message.clone()).with_secondary(*clause, "required here")
        }
        EmptyDim { at, op, shape, dim, counterexample } => {
            let when = counterexample.as_ref().map(|c| format!(" {c}")).unwrap_or_default();
            diag("E0105", format!("`{op}` produces an empty tensor{when}: dimension {dim} of {shape} is below 1"), *at, "the output would be empty")
                .with_note(format!("the input is too small for `{op}` with these arguments"))
        }
        WrongKind { at, expected, found, what } => {
            let (expected, found) = (kind(expected), kind(found));
            diag("E0106", format!("{} must be {expected}, but it is {found}", subject(what)), *at, format!("this is {found}"))
        }
        NotConstant { at, what } => diag("E0107", format!("{} must be known without choosing an architecture", subject(what)), *at, "this depends on a choice")
            .with_help(Some("compute it from constants and parameters, not from choices".into())),
        IndexOutOfRange { at, index, len } => diag("E0108", format!("index {index} is out of range for a list of {len}"), *at, "out of range"),
        PickCount { at, k, n } => diag("E0109", format!("an input choice cannot pick {k} of {n} candidates"), *at, format!("pick between 1 and {n}")),
        Eval { at, error } => diag("E0110", format!("cannot evaluate this expression: {error}"), *at, error.clone()),
        Recursion { at, block } => diag("E0111", format!("`{block}` calls itself (or block calls nest too deeply)"), *at, "recursive call")
            .with_help(Some("use `repeat` or a `for` loop instead of recursion".into())),
        BadConstraint { at } => diag("E0112", "a constraint must compare `params` or `flops` with a constant".into(), *at, "not a constraint")
            .with_help(Some("write e.g. `where params <= 2_000_000, flops < 3e8`".into())),
        NetworkParam { at, name } => diag("E0114", format!("network parameter `{name}` needs a default value"), *at, "no value")
            .with_help(Some(format!("give it one: `{name}: int = ...`; only tensor parameters are inputs"))),
        OperandShapes { at, left, right, counterexample, lhs, rhs } => {
            let when = counterexample.as_ref().map(|c| format!(" {c}")).unwrap_or_default();
            diag("E0115", format!("cannot add tensors of shapes {left} and {right}{when}"), *at, "shapes differ")
                .with_secondary(*lhs, format!("this is {left}"))
                .with_secondary(*rhs, format!("this is {right}"))
        }
        LabelConflict { at, label, domain, first, first_domain } => {
            diag("E0020", format!("label `{label}` is used for choices with different domains"), *at, format!("here its domain is {domain}"))
                .with_secondary(*first, format!("here its domain is {first_domain}"))
                .with_note("choices with the same explicit label are one decision, so they must offer the same values".into())
        }
    }
}

/// Writes an integer with `,` between thousands.
pub fn thousands(v: impl std::fmt::Display) -> String {
    let s = v.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The summary `nasc check` prints for one network of a clean space.
pub fn space_summary(g: &crate::ir::Graph, f: &crate::facts::Facts) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let inputs: Vec<String> = g
        .inputs
        .iter()
        .map(|i| {
            let name = match &g.nodes.get(*i).kind {
                crate::ir::NodeKind::Input { name, .. } => name.clone(),
                _ => String::new(),
            };
            format!("{name}: {}", g.shape_text(&g.nodes.get(*i).shape))
        })
        .collect();
    let _ = writeln!(
        out,
        "network {}({}) -> {}",
        g.name,
        inputs.join(", "),
        g.shape_text(&g.nodes.get(g.output).shape)
    );
    let _ = writeln!(out, "  labels: {}", g.labels.len());
    let width = g.labels.labels.iter().map(|l| l.name.len()).max().unwrap_or(0);
    for l in &g.labels.labels {
        let kind = match l.kind {
            crate::ir::LabelKind::Layer => "layer choice",
            crate::ir::LabelKind::Value => "value choice",
            crate::ir::LabelKind::Input => "input choice",
            crate::ir::LabelKind::Depth => "repeat depth",
        };
        let _ = writeln!(out, "    {:width$}  {kind:12}  {}", l.name, l.domain.describe());
    }
    match (f.distinct, &f.networks) {
        (Some(d), _) => {
            let _ = writeln!(
                out,
                "  architectures: {} distinct networks ({} assignments of every label)",
                thousands(d),
                thousands(&f.architectures)
            );
        }
        (None, Some(n)) if *n != f.architectures => {
            let _ = writeln!(
                out,
                "  architectures: {} distinct networks ({} assignments of every label)",
                thousands(n),
                thousands(&f.architectures)
            );
        }
        (None, _) => {
            let _ = writeln!(
                out,
                "  architectures: {} assignments of every label",
                thousands(&f.architectures)
            );
        }
    }
    if let (Some(n), Some(z)) = (&f.networks, &f.without_zero) {
        if z != n {
            let _ =
                writeln!(out, "  without `zero` alternatives: {} distinct networks", thousands(z));
        }
    }
    let how = |r: &crate::facts::Range| {
        if r.exact {
            "exact, every architecture costed"
        } else {
            "bounds: the space is too large to cost every architecture"
        }
    };
    let _ = writeln!(
        out,
        "  params: {} to {} ({})",
        thousands(f.params.min),
        thousands(f.params.max),
        how(&f.params)
    );
    let _ = writeln!(
        out,
        "  flops:  {} to {} multiply-adds per sample ({})",
        thousands(f.flops.min),
        thousands(f.flops.max),
        how(&f.flops)
    );
    for (i, c) in g.constraints.iter().enumerate() {
        let m = match c.measure {
            crate::ir::Measure::Params => "params",
            crate::ir::Measure::Flops => "flops",
        };
        // Each constraint's line counts the networks that meet it alone; with several
        // constraints, one more line counts those that meet them all.
        let alone =
            if g.constraints.len() == 1 { f.satisfying } else { f.met_alone.get(i).copied() };
        let verdict = match (alone, f.satisfiable) {
            (Some(n), _) => format!(
                "met by {} of the {} distinct networks",
                thousands(n),
                thousands(f.distinct.unwrap_or(0))
            ),
            (None, Some(false)) => "cannot be met by any architecture".to_string(),
            (None, _) => "can be met (within the bounds above)".to_string(),
        };
        let _ = writeln!(
            out,
            "  constraint {m} {} {}: {verdict}",
            c.op.symbol(),
            thousands(c.bound as u64)
        );
    }
    if g.constraints.len() > 1 {
        if let Some(n) = f.satisfying {
            let _ = writeln!(
                out,
                "  all {} constraints together: met by {} of the {} distinct networks",
                g.constraints.len(),
                thousands(n),
                thousands(f.distinct.unwrap_or(0))
            );
        }
    }
    out
}

/// The diagnostic when no architecture of a space meets its constraints.
pub fn unsatisfiable(g: &crate::ir::Graph) -> Option<Diagnostic> {
    let c = g.constraints.first()?;
    Some(
        diag(
            "E0113",
            format!("no architecture of `{}` meets its constraints", g.name),
            c.loc,
            "never met",
        )
        .with_help(Some("relax the constraint or shrink the space's costliest choices".into())),
    )
}

/// How many problems of one architecture file are reported; the last one shown says how many
/// more there are. Each is located by searching the file, and a file that NNI wrote on one line
/// is echoed whole by every diagnostic: a file with thousands of unknown keys is a wrong file,
/// and its first problems say which.
pub const ARCH_ERRORS_SHOWN: usize = 20;

/// The diagnostics of a broken architecture file: [`arch_error`] for each of the first
/// [`ARCH_ERRORS_SHOWN`] problems, the last of them noting how many were left out.
pub fn arch_errors(
    file: crate::source::FileId,
    text: &str,
    errors: &[crate::arch::ArchError],
) -> Vec<Diagnostic> {
    let mut out: Vec<Diagnostic> =
        errors.iter().take(ARCH_ERRORS_SHOWN).map(|e| arch_error(file, text, e)).collect();
    let left = errors.len().saturating_sub(ARCH_ERRORS_SHOWN);
    if left > 0 {
        if let Some(last) = out.pop() {
            out.push(last.with_note(format!(
                "{left} more problem{} with this architecture not shown",
                if left == 1 { "" } else { "s" }
            )));
        }
    }
    out
}

/// Diagnostics for a broken architecture JSON file, each naming the label.
pub fn arch_error(
    file: crate::source::FileId,
    text: &str,
    e: &crate::arch::ArchError,
) -> Diagnostic {
    use crate::arch::ArchError::*;
    // The key `"label"` (a string followed by `:`), and the value after it.
    let key_at = |label: &str| {
        let key = format!("\"{label}\"");
        let mut from = 0;
        while let Some(i) = text[from..].find(&key).map(|i| i + from) {
            let after = text[i + key.len()..].trim_start();
            if after.starts_with(':') {
                return Some(i);
            }
            from = i + key.len();
        }
        None
    };
    let find = |label: &str| match key_at(label) {
        Some(i) => Span::new(i, i + label.len() + 2),
        None => Span::new(0, 0),
    };
    let find_value = |label: &str| match key_at(label) {
        Some(i) => {
            let colon = i + text[i..].find(':').unwrap_or(0) + 1;
            let start = colon + (text[colon..].len() - text[colon..].trim_start().len());
            let mut depth = 0i32;
            let mut end = start;
            let mut in_str = false;
            for (j, ch) in text[start..].char_indices() {
                match ch {
                    '"' => in_str = !in_str,
                    '[' | '{' if !in_str => depth += 1,
                    ']' | '}' if !in_str && depth > 0 => depth -= 1,
                    ',' | '}' | ']' if !in_str && depth == 0 => break,
                    _ => {}
                }
                end = start + j + ch.len_utf8();
            }
            let trimmed = text[start..end].trim_end().len();
            Span::new(start, start + trimmed)
        }
        None => Span::new(0, 0),
    };
    let at = |s: Span| Loc::new(file, s);
    // serde_json's one-based line and column as a byte offset into the text.
    let line_column = |line: usize, column: usize| {
        let offset =
            text.split_inclusive('\n').take(line.saturating_sub(1)).map(str::len).sum::<usize>()
                + column.saturating_sub(1);
        offset.min(text.len())
    };
    match e {
        Json { message, line, column } => {
            let message = message.split(" at line ").next().unwrap_or(message);
            let offset = line_column(*line, *column);
            diag(
                "E0201",
                format!("the architecture is not valid JSON: {message}"),
                at(Span::new(offset, offset)),
                "here",
            )
        }
        Duplicate { label, line, column } => {
            let offset = line_column(*line, *column);
            diag(
                "E0201",
                format!("the architecture gives label `{label}` twice"),
                at(Span::new(offset, offset)),
                "given again here",
            )
            .with_help(Some(
                "JSON readers differ on which value such a file means: keep one".into(),
            ))
        }
        NotAnObject => diag(
            "E0202",
            "an architecture must be a JSON object `{\"label\": value, ...}`".into(),
            at(Span::new(0, text.len().min(1))),
            "not an object",
        ),
        Missing { label, allowed } => diag(
            "E0203",
            format!("the architecture has no value for label `{label}`"),
            at(Span::new(0, text.len().min(1))),
            format!("`{label}` is missing"),
        )
        .with_help(Some(format!("add \"{label}\": one of {allowed}"))),
        Unknown { label, suggestion } => diag(
            "E0204",
            format!("`{label}` is not a label of this space"),
            at(find(label)),
            "unknown label",
        )
        .with_help(did_you_mean(suggestion)),
        OutOfDomain { label, value, allowed, hint } => diag(
            "E0205",
            format!("{value} is not a value of label `{label}`"),
            at(find_value(label)),
            format!("allowed: {allowed}"),
        )
        .with_secondary(at(find(label)), "for this label")
        .with_help(Some(hint.clone().unwrap_or_else(|| format!("choose one of {allowed}")))),
    }
}

/// `nasc check --arch`'s report for a valid architecture of the network `network`.
pub fn arch_cost(network: &str, params: u64, flops: u64, meets: bool) -> String {
    format!(
        "architecture of `{network}`: {} params, {} multiply-adds per sample; {}",
        thousands(params),
        thousands(flops),
        if meets { "meets the constraints" } else { "breaks the constraints" }
    )
}

/// When a command needs a network and the file has none.
pub fn no_network(path: &str) -> String {
    format!("error: {path} has no `network` (a space to train, search, sample or check an architecture against is a `network` declaration)")
}

/// A problem with the `nasc` command line, or with a file or directory it names, as data; the
/// command words it with [`command_problem`] (exit code 2 for the command line itself, 1
/// otherwise, as the command decides).
#[derive(Debug, Clone, PartialEq)]
pub enum CommandProblem<'a> {
    /// No strategy of this name; `all` lists them.
    UnknownStrategy {
        /// The name given.
        name: &'a str,
        /// Every strategy's name, in order.
        all: &'a str,
    },
    /// `--option` without `=`.
    OptionSyntax(&'a str),
    /// A `--max-duration` that does not parse.
    DurationSyntax(&'a str),
    /// `nasc search` without a space file or `--resume`.
    SearchNeedsSpace,
    /// One-shot flags given to a multi-trial strategy.
    OneShotFlagsForMultiTrial,
    /// Multi-trial flags given to a one-shot strategy.
    MultiTrialFlagsForOneShot,
    /// `--augment` with a one-shot strategy.
    AugmentOneShot,
    /// `--unrolled` without DARTS.
    UnrolledNeedsDarts,
    /// `--target-*` without Proxyless.
    TargetNeedsProxyless,
    /// A file that cannot be read.
    CannotRead {
        /// The file.
        path: &'a str,
        /// Why.
        error: &'a str,
    },
    /// A file or directory that cannot be written or created.
    CannotWrite {
        /// The file or directory.
        path: &'a str,
        /// Why.
        error: &'a str,
    },
    /// A directory or file that cannot be created.
    CannotCreate {
        /// The directory or file.
        path: &'a str,
        /// Why.
        error: &'a str,
    },
    /// `nasc train`'s output directory cannot be created.
    CannotCreateOutput {
        /// The directory.
        path: &'a str,
        /// Why.
        error: &'a str,
    },
    /// `nasc train` of a space with labels but no `--arch`.
    NeedsArch {
        /// The network.
        network: &'a str,
        /// How many labels it has.
        labels: usize,
        /// The space file.
        file: &'a str,
    },
    /// An architecture that cannot be fixed into a network.
    CannotFix(&'a str),
    /// An architecture whose cost cannot be computed.
    CannotCost(&'a str),
    /// `nasc eval` with weights trained for another architecture.
    WeightsForAnotherArch {
        /// The weights file.
        weights: &'a str,
        /// The architecture file.
        arch: &'a str,
    },
    /// `nasc runs --root` that is not a directory.
    NotARunsDirectory(&'a str),
    /// `--top 0`.
    TopAtLeastOne,
    /// `nasc export` of a trial whose recorded architecture the experiment's space rejects (a
    /// store changed by hand).
    StoredArchInvalid {
        /// The experiment directory.
        dir: &'a str,
        /// The trial.
        trial: u64,
        /// What is wrong ([`arch_problems`]).
        problems: &'a str,
    },
    /// `nasc export` cannot check the recorded architectures against the experiment's space
    /// (a warning: they are exported unchecked).
    ExportUnchecked {
        /// Why: the space cannot be read, has changed or does not compile.
        why: &'a str,
    },
    /// `nasc export` of an experiment without a succeeded trial.
    NothingToExport(&'a str),
    /// The Ctrl-C handler could not be installed.
    CtrlCHandler(&'a str),
    /// `nasc export --format onnx|pytorch` of a directory `nasc train` did not write; `experiment`
    /// when it is a search's experiment directory.
    NotTrained {
        /// The directory.
        dir: &'a str,
        /// Whether it holds an experiment.
        experiment: bool,
    },
    /// `nasc export --format arch` of a directory that holds no experiment but a trained
    /// network.
    TrainedNotExperiment(&'a str),
    /// A `metrics.json` of `nasc train` that lacks what an export needs.
    BadTrainingRecord {
        /// The file.
        path: &'a str,
        /// What is missing or wrong.
        what: &'a str,
    },
    /// The space a training record names cannot be read from here.
    SpaceOfRecord {
        /// The training record (`metrics.json`).
        record: &'a str,
        /// The space file it names.
        space: &'a str,
        /// Why it cannot be read.
        error: &'a str,
    },
    /// `--top` with a format that exports one trained network.
    TopWithModel,
    /// `--out` or `--space` with `nasc export --format arch`.
    ModelFlagsWithArch,
}

/// The sentence (with its `error: ` prefix) for a problem of the command line.
pub fn command_problem(p: &CommandProblem<'_>) -> String {
    use CommandProblem::*;
    let text = match p {
        UnknownStrategy { name, all } => format!("unknown strategy `{name}`; the strategies are {all}"),
        OptionSyntax(o) => format!("--option takes NAME=VALUE, not `{o}`"),
        DurationSyntax(d) => format!("--max-duration takes a duration such as 90s, 30m or 2h, not `{d}`"),
        SearchNeedsSpace => "nasc search needs a space file (or --resume DIR)".into(),
        OneShotFlagsForMultiTrial => "--unrolled, --target-flops and --target-params are for the one-shot strategies darts and proxyless".into(),
        MultiTrialFlagsForOneShot => "a one-shot search trains one supernet; --max-trials, --max-duration, --concurrency, --metric and --mode are for the multi-trial strategies".into(),
        AugmentOneShot => "--augment is not supported by one-shot search yet".into(),
        UnrolledNeedsDarts => "--unrolled is DARTS' second-order step; it needs --strategy darts".into(),
        TargetNeedsProxyless => "--target-flops and --target-params set ProxylessNAS's resource loss; they need --strategy proxyless".into(),
        CannotRead { path, error } => format!("cannot read {path}: {error}"),
        CannotWrite { path, error } => format!("cannot write {path}: {error}"),
        CannotCreate { path, error } => format!("cannot create {path}: {error}"),
        CannotCreateOutput { path, error } => {
            format!("cannot create the output directory {path}: {error}")
        }
        NeedsArch { network, labels, file } => format!("`{network}` has {labels} labels; pass an architecture with --arch (`nasc sample {file}` prints one)"),
        CannotFix(e) => format!("cannot fix the architecture: {e}"),
        CannotCost(e) => format!("cannot cost the architecture: {e}"),
        WeightsForAnotherArch { weights, arch } => format!("{weights} were trained for the architecture in {arch}, not this one"),
        NotARunsDirectory(d) => format!("{d} is not a directory (experiments are listed from --root, default `runs`)"),
        TopAtLeastOne => "--top must be at least 1".into(),
        NothingToExport(d) => format!("{d} has no succeeded trial to export"),
        StoredArchInvalid { dir, trial, problems } => format!("trial {trial} of {dir} records an architecture that the experiment's space rejects ({problems}); the store was changed since the trial ran, so nothing was exported"),
        ExportUnchecked { why } => return format!("warning: {why}; the architectures are exported without a check against it"),
        CtrlCHandler(e) => format!("cannot install the Ctrl-C handler: {e}"),
        NotTrained { dir, experiment: true } => format!("{dir} is a search's experiment, which holds architectures but no trained weights; train the best one first (`nasc train SPACE --arch {dir}/best.json --out DIR`), then export DIR"),
        NotTrained { dir, experiment: false } => format!("{dir} has no model.bpk and metrics.json written by `nasc train`; train an architecture with `nasc train SPACE --arch ARCH --out {dir}` first"),
        TrainedNotExperiment(d) => format!("{d} holds a trained network, not an experiment; `--format onnx` or `--format pytorch` exports it as a model"),
        BadTrainingRecord { path, what } => format!("{path} is not a record of `nasc train`: {what}"),
        SpaceOfRecord { record, space, error } => format!("{record} names the space {space}, which cannot be read from here ({error}); run from the directory `nasc train` ran in, or pass the space with --space FILE"),
        TopWithModel => "--top chooses among an experiment's architectures; it does not apply to --format onnx or pytorch".into(),
        ModelFlagsWithArch => "--out and --space are for --format onnx and pytorch; an experiment's architectures are written to DIR/export/".into(),
    };
    format!("error: {text}")
}

/// The problems of an architecture's JSON `text` in one line, for places that show no source
/// (a trial recorded in an experiment store): each [`arch_error`]'s message, joined by `; `.
pub fn arch_problems(text: &str, errors: &[crate::arch::ArchError]) -> String {
    let file = crate::source::FileId(0);
    errors.iter().map(|e| arch_error(file, text, e).message).collect::<Vec<_>>().join("; ")
}

/// The status `nasc runs` shows for an experiment whose store says `running` while no process
/// runs it.
pub const STOPPED: &str = "stopped";

/// What `nasc runs show` says of an experiment that is [`STOPPED`].
pub fn stopped_experiment(dir: &str) -> String {
    format!("stopped: its store says running, but no nasc process is running it (killed, or its disk filled up); continue with `nasc search --resume {dir}`")
}

/// What `nasc eval` says when the weights come without the input normalisation they were
/// trained with (no `metrics.json` of `nasc train` beside them, or one of another data set):
/// it is fitted on the `--data` given instead, which is right only for the same data.
pub fn normalization_refitted(weights: &str, why: &str) -> String {
    format!("warning: {why}; the input normalisation is fitted on the training split of --data, so the result matches training only for the same data (weights {weights})")
}

/// When `nasc sample` cannot find enough architectures that meet the constraints.
pub fn sample_gave_up(found: usize, wanted: usize, tries: u64) -> String {
    format!("error: found only {found} of {wanted} architectures meeting the constraints in {tries} random tries")
}

/// Codes of the errors found while a network runs (`nasc train`, `nasc eval`), with titles;
/// each has a page under `docs/errors/`. They come from data and weights, not from `nasc check`.
pub const RUNTIME_CODES: &[(&str, &str)] =
    &[("E0301", "the data does not fit the network"), ("E0302", "an operator failed at run time")];

/// A failure of a network at run time that has a `.nas` place, as data: the runtime's errors
/// convert into it (the front end knows no tensors), and [`runtime_error`] words it.
#[derive(Debug, Clone, PartialEq)]
pub enum RunFailure {
    /// The data's items have shape `found` (after the batch) but the network's input, declared
    /// at `loc`, is `expected` (E0301).
    DataShape {
        /// The network's input parameter.
        loc: Loc,
        /// The input shape after the batch, as the network declares it.
        expected: String,
        /// The shape of the data's items.
        found: String,
    },
    /// An operator failed (E0302); `message` says how, `at_input` when the failing node is the
    /// network's input.
    Operator {
        /// The operator (or the input parameter).
        loc: Loc,
        /// What failed, in words (the runtime error's own sentence).
        message: String,
        /// Whether the place is the network's input rather than an operator.
        at_input: bool,
    },
}

/// The diagnostic for a runtime failure that has a `.nas` place: data that does not fit the
/// network's input (E0301), or an operator that failed (E0302).
pub fn runtime_error(e: &RunFailure) -> Diagnostic {
    const BUG: &str = "the type checker proved every shape from the network's declared input; this is a bug in nasc if the data has that shape";
    match e {
        RunFailure::DataShape { loc, expected, found } => diag(
            "E0301",
            format!("the data's items are {found} but the network's input is {expected}"),
            *loc,
            format!("the network takes {expected}"),
        )
        .with_help(Some(
            "pass data of this shape with --data, or declare the input the data has".into(),
        )),
        RunFailure::Operator { loc, message, at_input: true } => diag(
            "E0302",
            format!("an operator failed at run time: {message}"),
            *loc,
            "the network's input is declared here",
        )
        .with_note(BUG.into()),
        RunFailure::Operator { loc, message, at_input: false } => diag(
            "E0302",
            format!("an operator failed at run time: {message}"),
            *loc,
            "in this operator",
        )
        .with_note(BUG.into()),
    }
}

/// What `nasc train` prints at the end: the test metric (`metric` is `accuracy`, a fraction,
/// or `mse`), the test loss, the parameter count, the seconds taken and where the weights went.
pub fn trained(
    metric: &str,
    test_metric: Option<f64>,
    test_loss: Option<f64>,
    params: usize,
    seconds: f64,
    out: &std::path::Path,
) -> String {
    let metric = if metric == "accuracy" {
        format!("test accuracy {:.2}%", 100.0 * test_metric.unwrap_or(f64::NAN))
    } else {
        format!("test mse {:.6}", test_metric.unwrap_or(f64::NAN))
    };
    format!(
        "{metric} (test loss {:.4}); {} params; {:.1} s\nweights and metrics written to {}",
        test_loss.unwrap_or(f64::NAN),
        thousands(params),
        seconds,
        out.display()
    )
}

/// Codes of the problems `nasc check --strategy X` finds when it lowers a space to the supernet
/// of a one-shot strategy, with titles; each has a page under `docs/errors/`.
pub const LOWER_CODES: &[(&str, &str)] =
    &[("E0401", "the one-shot strategy cannot lower this part of the space")];

/// The diagnostic for a place a one-shot strategy cannot lower (E0401).
pub fn lower_error(e: &crate::lower::LowerError) -> Diagnostic {
    use crate::lower::LowerProblem::*;
    let s = e.strategy.name();
    let list = |ls: &[String]| ls.iter().map(|l| format!("`{l}`")).collect::<Vec<_>>().join(", ");
    let (message, label, help): (String, String, Option<String>) = match &e.problem {
        SpatialSize { labels, sizes } => (
            format!("`{s}` cannot share one weight here: the spatial size depends on {}", list(labels)),
            format!("yields {} or {}", sizes.0, sizes.1),
            Some(
                "one-shot supernets hold every candidate in the largest tensor; keep height and width the same for every value (e.g. padding = kernel / 2)"
                    .into(),
            ),
        ),
        TooManyCombinations { labels, count } => (
            format!("`{s}` cannot mix this operator: it depends on {count} combinations of {}", list(labels)),
            "depends on too many value choices".into(),
            Some(format!("an operator may depend on at most {} combinations of value choices in a supernet", crate::lower::MAX_COMBINATIONS)),
        ),
        KernelNotCentred { labels } => (
            format!("`{s}` cannot share one kernel here: the kernel choices of {} are not centred in the largest", list(labels)),
            "kernel, padding, stride or dilation differ between values".into(),
            Some("keep stride and dilation fixed and use padding = dilation * (kernel - 1) / 2 with odd kernels, as NNI's mixed convolution requires".into()),
        ),
        GroupedChannels { labels } => (
            format!("`{s}` cannot slice a grouped convolution whose channels depend on {}", list(labels)),
            "grouped convolution with searched channels".into(),
            Some("search the channels of an ungrouped or depthwise convolution, or fix the groups' channels".into()),
        ),
        SlicedChannels { labels } => (
            format!("`{s}` cannot slice channels that depend on {}", list(labels)),
            "channel slice of searched channels".into(),
            Some("fix the channels around a `channel_slice`; search the channels of the convolutions after it instead".into()),
        ),
        UnknownOperator { op } => (format!("`{s}` cannot lower `{op}`: the runtime has no implementation of it"), "no supernet implementation".into(), None),
        MixedConcat { label, k } => (
            format!("`{s}` cannot mix the input choice `{label}`: it concatenates {k} inputs, so its candidates cannot be summed with weights"),
            format!("concatenates {k} of its candidates"),
            Some("use `reduce sum` or `reduce mean`, or a sampling strategy (enas, random-oneshot)".into()),
        ),
        CandidateShapes { what, shapes } => (
            format!("`{s}` cannot mix the candidates of `{what}`: their supernet tensors are {} and {}", shapes.0, shapes.1),
            "candidates of different largest shapes".into(),
            None,
        ),
        Eval { message } => (format!("`{s}` cannot evaluate this operator for every value of its choices: {message}"), "here".into(), None),
    };
    diag("E0401", message, e.loc, label).with_help(help)
}

/// Codes of the problems found while exporting a trained network (`nasc export --format
/// onnx`), with titles; each has a page under `docs/errors/`.
pub const EXPORT_CODES: &[(&str, &str)] =
    &[("E0501", "an operator cannot be exported to the format")];

/// A network that cannot be exported, at a `.nas` place, as data: the exporters' errors convert
/// into it, and [`export_error`] words it.
#[derive(Debug, Clone, PartialEq)]
pub enum ExportFailure {
    /// The operator `op`, written at `loc`, has no form in `format` (`ONNX`): nasc's runtime
    /// does not implement it (an `operator` declared in a `.nas` file) (E0501).
    NoForm {
        /// Where it was written.
        loc: Loc,
        /// The operator's name.
        op: String,
        /// The format.
        format: &'static str,
    },
}

/// The diagnostic for a network that cannot be exported (E0501).
pub fn export_error(e: &ExportFailure) -> Diagnostic {
    match e {
        ExportFailure::NoForm { loc, op, format } => diag(
            "E0501",
            format!("`{op}` cannot be exported to {format}: nasc's runtime has no implementation of it"),
            *loc,
            "no implementation to export",
        )
        .with_help(Some(
            "export an architecture whose network uses only the operators of `std.ops` (the prelude)".into(),
        )),
    }
}

/// What `nasc export --format pytorch` prints when it has written the module and its weights:
/// where, the class, the weights' size, and the shapes of the input and output.
pub fn exported_pytorch(
    path: &std::path::Path,
    weights: &std::path::Path,
    class: &str,
    bytes: usize,
    inputs: &[(String, String)],
    output: &str,
    normalised: bool,
) -> String {
    let inputs = inputs.iter().map(|(_, shape)| shape.clone()).collect::<Vec<_>>().join(", ");
    let kib = bytes as f64 / 1024.0;
    let takes = if normalised { " (the module normalises its input itself)" } else { "" };
    format!(
        "wrote {} (class `{class}`, an nn.Module: {inputs} to {output}{takes}) and its state dict {} ({kib:.1} KiB, safetensors)",
        path.display(),
        weights.display()
    )
}

/// What `nasc export --format onnx` prints when it has written the model: where, its size, and
/// the names and shapes of its input and output (`batch` for the batch dimension).
pub fn exported_onnx(
    path: &std::path::Path,
    bytes: usize,
    opset: i64,
    inputs: &[(String, String)],
    output: &str,
    normalised: bool,
) -> String {
    let inputs = inputs
        .iter()
        .map(|(name, shape)| format!("`{name}` {shape}"))
        .collect::<Vec<_>>()
        .join(", ");
    let kib = bytes as f64 / 1024.0;
    let takes = if normalised {
        "; it takes the data as nasc reads it (pixels in [0, 1]) and normalises it itself"
    } else {
        ""
    };
    format!(
        "wrote {} ({kib:.1} KiB, ONNX opset {opset}): input {inputs}, output `output` {output}{takes}",
        path.display()
    )
}
