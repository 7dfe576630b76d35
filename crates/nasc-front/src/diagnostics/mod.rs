//! Diagnostics: one shape for every problem any stage finds, rendered for the terminal with
//! codespan-reporting or as JSON for tools. Stages return typed errors; [`wording`] turns them
//! into [`Diagnostic`]s, so every user-facing sentence lives in that one module.

pub mod wording;

use crate::source::{Loc, SourceMap};
use codespan_reporting::diagnostic as cs;
use codespan_reporting::term;
use serde::Serialize;

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The input is wrong; nothing downstream runs.
    Error,
    /// Suspicious but accepted.
    Warning,
}

/// A labelled place in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    /// Where.
    pub loc: Loc,
    /// What to say there (may be empty).
    pub message: String,
}

/// One problem, ready to render: a stable code, a message, a primary label on the exact span,
/// secondary labels where they help, notes, and a `help:` line where a fix is likely.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Stable code, `E0001`...; each has a page under `docs/errors/`.
    pub code: &'static str,
    /// Error or warning.
    pub severity: Severity,
    /// One line saying what is wrong.
    pub message: String,
    /// The exact place.
    pub primary: Label,
    /// Other places that explain it (the earlier definition, the other alternative).
    pub secondary: Vec<Label>,
    /// Extra facts.
    pub notes: Vec<String>,
    /// A likely fix ("did you mean `sep_conv`?").
    pub help: Option<String>,
}

impl Diagnostic {
    fn to_codespan(&self) -> cs::Diagnostic<crate::source::FileId> {
        let severity = match self.severity {
            Severity::Error => cs::Severity::Error,
            Severity::Warning => cs::Severity::Warning,
        };
        let mut labels =
            vec![cs::Label::primary(self.primary.loc.file, self.primary.loc.span.range())
                .with_message(self.primary.message.clone())];
        for l in &self.secondary {
            labels.push(
                cs::Label::secondary(l.loc.file, l.loc.span.range())
                    .with_message(l.message.clone()),
            );
        }
        let mut notes = self.notes.clone();
        if let Some(h) = &self.help {
            notes.push(format!("help: {h}"));
        }
        cs::Diagnostic::new(severity)
            .with_code(self.code)
            .with_message(self.message.clone())
            .with_labels(labels)
            .with_notes(notes)
    }
}

/// Renders diagnostics as text, without colour (for tests, pipes and files).
pub fn render_plain(diags: &[Diagnostic], sources: &SourceMap) -> String {
    let config = term::Config::default();
    let mut out = String::new();
    for d in diags {
        match term::emit_into_string(&config, sources, &d.to_codespan()) {
            Ok(s) => out.push_str(&s),
            Err(e) => out
                .push_str(&format!("error[{}]: {} (cannot show source: {e})\n", d.code, d.message)),
        }
    }
    out
}

/// Writes diagnostics to standard error, in colour when `color` says so.
pub fn emit_stderr(diags: &[Diagnostic], sources: &SourceMap, color: term::termcolor::ColorChoice) {
    let config = term::Config::default();
    let styles = term::Styles::default();
    let stream = term::termcolor::StandardStream::stderr(color);
    let mut lock = stream.lock();
    let mut writer = term::StylesWriter::new(&mut lock, &styles);
    for d in diags {
        if term::emit_to_write_style(&mut writer, &config, sources, &d.to_codespan()).is_err() {
            eprintln!("error[{}]: {}", d.code, d.message);
        }
    }
}

/// A position for JSON output: byte offset plus one-based line and column.
#[derive(Debug, Clone, Serialize)]
pub struct JsonPos {
    /// Byte offset.
    pub byte: usize,
    /// One-based line.
    pub line: usize,
    /// One-based column, in characters.
    pub column: usize,
}

/// A label for JSON output.
#[derive(Debug, Clone, Serialize)]
pub struct JsonLabel {
    /// The file's name.
    pub path: String,
    /// Start of the span.
    pub start: JsonPos,
    /// End of the span (exclusive).
    pub end: JsonPos,
    /// The label's message.
    pub message: String,
    /// Whether this is the primary label.
    pub primary: bool,
}

/// A diagnostic as `nasc check --format json` prints it.
#[derive(Debug, Clone, Serialize)]
pub struct JsonDiagnostic {
    /// The primary label's file.
    pub path: String,
    /// Stable code.
    pub code: &'static str,
    /// `error` or `warning`.
    pub severity: Severity,
    /// What is wrong.
    pub message: String,
    /// The primary span's byte range `[start, end)`.
    pub range: [usize; 2],
    /// One-based line of the primary span's start.
    pub line: usize,
    /// One-based column of the primary span's start.
    pub column: usize,
    /// Every label, the primary first.
    pub labels: Vec<JsonLabel>,
    /// Notes.
    pub notes: Vec<String>,
    /// The likely fix, if any.
    pub help: Option<String>,
}

fn json_label(l: &Label, primary: bool, sources: &SourceMap) -> JsonLabel {
    let f = sources.get(l.loc.file);
    let pos = |b: usize| {
        let (line, column) = f.line_col(b);
        JsonPos { byte: b, line, column }
    };
    JsonLabel {
        path: f.name.clone(),
        start: pos(l.loc.span.start),
        end: pos(l.loc.span.end),
        message: l.message.clone(),
        primary,
    }
}

/// Converts diagnostics into their JSON form.
pub fn to_json(diags: &[Diagnostic], sources: &SourceMap) -> Vec<JsonDiagnostic> {
    diags
        .iter()
        .map(|d| {
            let primary = json_label(&d.primary, true, sources);
            let mut labels = vec![primary.clone()];
            labels.extend(d.secondary.iter().map(|l| json_label(l, false, sources)));
            JsonDiagnostic {
                path: primary.path.clone(),
                code: d.code,
                severity: d.severity,
                message: d.message.clone(),
                range: [d.primary.loc.span.start, d.primary.loc.span.end],
                line: primary.start.line,
                column: primary.start.column,
                labels,
                notes: d.notes.clone(),
                help: d.help.clone(),
            }
        })
        .collect()
}
