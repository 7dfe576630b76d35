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

/// The longest source line a diagnostic shows whole, in bytes. A longer line (an architecture
/// file written on one line, a generated space) is shown as a window of it around the
/// diagnostic's labels, marked `…` where it was cut, so that rendering costs the window, not
/// the line.
pub const LINE_SHOWN: usize = 240;

/// Bytes of a long line shown on each side of the labels in its window.
const WINDOW_CONTEXT: usize = 60;

/// A long line to cut: its bytes (without the line break) and the labels' extent on it.
#[derive(Clone, Copy)]
struct LongLine {
    start: usize,
    end: usize,
    lo: usize,
    hi: usize,
}

/// A cut made: the line, the window kept of it, and where the window starts in the new text.
#[derive(Clone, Copy)]
struct Cut {
    start: usize,
    end: usize,
    ws: usize,
    we: usize,
    new_ws: usize,
}

/// `d` and the sources to render it with, when a line that `d` labels is longer than
/// [`LINE_SHOWN`] bytes: a copy of the sources in which each such line is cut to a window
/// around its labels (`…` where it was cut; line numbers unchanged), and `d` with its labels
/// moved to match. `None` when every labelled line is short enough to show whole.
fn windowed(d: &Diagnostic, sources: &SourceMap) -> Option<(Windowed, Diagnostic)> {
    use crate::source::{FileId, SourceFile};
    use std::collections::BTreeMap;
    let labels: Vec<&Label> = std::iter::once(&d.primary).chain(&d.secondary).collect();
    // The long lines labelled, per file: line range (without its line break) -> window.
    let mut cuts: BTreeMap<FileId, BTreeMap<usize, LongLine>> = BTreeMap::new();
    for l in &labels {
        let f = sources.try_get(l.loc.file)?;
        let (start, end) = f.line_bounds(l.loc.span.start);
        if end - start <= LINE_SHOWN {
            continue;
        }
        let w = cuts.entry(l.loc.file).or_default().entry(start).or_insert(LongLine {
            start,
            end,
            lo: usize::MAX,
            hi: 0,
        });
        // The first label on the line (the primary, where it is there) places the window;
        // the others widen it while it stays within four times LINE_SHOWN.
        let (lo, hi) = (l.loc.span.start, l.loc.span.end.min(end));
        if w.lo == usize::MAX {
            (w.lo, w.hi) = (lo, hi);
        } else if hi.max(w.hi) - lo.min(w.lo) <= 4 * LINE_SHOWN {
            (w.lo, w.hi) = (w.lo.min(lo), w.hi.max(hi));
        }
    }
    if cuts.is_empty() {
        return None;
    }
    // Offsets after a cut line move by the bytes it lost.
    let mut moved: BTreeMap<FileId, Vec<Cut>> = BTreeMap::new();
    let mut files = Vec::new();
    let mut columns = Vec::new();
    for (id, f) in sources.iter() {
        let Some(lines) = cuts.get(&id) else {
            files.push(f.clone());
            continue;
        };
        let text = &f.text;
        let mut out = String::with_capacity(text.len().min(1 << 16));
        let mut at = 0;
        let mut list = Vec::new();
        for &LongLine { start, end, lo, hi } in lines.values() {
            let mut ws = lo.saturating_sub(WINDOW_CONTEXT).max(start);
            let mut we = (hi.max(lo) + WINDOW_CONTEXT)
                .min(end)
                .min(ws + 4 * LINE_SHOWN + 2 * WINDOW_CONTEXT);
            while !text.is_char_boundary(ws) {
                ws -= 1;
            }
            while !text.is_char_boundary(we) {
                we += 1;
            }
            out.push_str(&text[at..start]);
            if ws > start {
                out.push('…');
            }
            let new_ws = out.len();
            out.push_str(&text[ws..we]);
            if we < end {
                out.push('…');
            }
            list.push(Cut { start, end, ws, we, new_ws });
            // The `…` stands for the characters cut before the window.
            let cut_chars = text[start..ws].chars().count();
            columns.push((id, new_ws, cut_chars));
            at = end;
        }
        out.push_str(&text[at..]);
        moved.insert(id, list);
        files.push(SourceFile::new(f.name.clone(), f.origin.clone(), out));
    }
    let map = |loc: crate::source::Loc| -> crate::source::Loc {
        let Some(list) = moved.get(&loc.file) else { return loc };
        let place = |o: usize| -> usize {
            let mut shift: isize = 0;
            for &Cut { start, end, ws, we, new_ws } in list {
                if o < start {
                    break;
                }
                if o <= end {
                    return new_ws + o.clamp(ws, we) - ws;
                }
                // Bytes of the line after the window, and their mark, come after `new_ws`.
                let new_end = new_ws + (we - ws) + if we < end { '…'.len_utf8() } else { 0 };
                shift = new_end as isize - end as isize;
            }
            (o as isize + shift) as usize
        };
        let start = place(loc.span.start);
        let end = place(loc.span.end).max(start);
        crate::source::Loc::new(loc.file, crate::source::Span::new(start, end))
    };
    let mut d = d.clone();
    d.primary.loc = map(d.primary.loc);
    for l in &mut d.secondary {
        l.loc = map(l.loc);
    }
    let mut map = SourceMap::new();
    for f in files {
        map.add(f);
    }
    Some((Windowed { map, columns }, d))
}

/// Sources with long lines cut to windows ([`windowed`]): columns are counted as in the
/// original line, so the `file:line:column` of a diagnostic is the same either way.
struct Windowed {
    map: SourceMap,
    /// Per window: its file, where it starts in the new text, and the characters of the
    /// original line before it (the `…` stands for them).
    columns: Vec<(crate::source::FileId, usize, usize)>,
}

impl<'a> codespan_reporting::files::Files<'a> for Windowed {
    type FileId = crate::source::FileId;
    type Name = &'a str;
    type Source = &'a str;

    fn name(&'a self, id: Self::FileId) -> Result<&'a str, codespan_reporting::files::Error> {
        self.map.name(id)
    }

    fn source(&'a self, id: Self::FileId) -> Result<&'a str, codespan_reporting::files::Error> {
        self.map.source(id)
    }

    fn line_index(
        &'a self,
        id: Self::FileId,
        byte_index: usize,
    ) -> Result<usize, codespan_reporting::files::Error> {
        self.map.line_index(id, byte_index)
    }

    fn line_range(
        &'a self,
        id: Self::FileId,
        line_index: usize,
    ) -> Result<std::ops::Range<usize>, codespan_reporting::files::Error> {
        self.map.line_range(id, line_index)
    }

    fn column_number(
        &'a self,
        id: Self::FileId,
        line_index: usize,
        byte_index: usize,
    ) -> Result<usize, codespan_reporting::files::Error> {
        let range = self.map.line_range(id, line_index)?;
        let window = self
            .columns
            .iter()
            .find(|(f, new_ws, _)| *f == id && range.contains(new_ws) && byte_index >= *new_ws);
        match window {
            Some(&(_, new_ws, cut)) => {
                let text = self.map.source(id)?;
                let chars = text.get(new_ws..byte_index).map_or(0, |s| s.chars().count());
                Ok(cut + chars + 1)
            }
            None => {
                let text = self.map.source(id)?;
                Ok(codespan_reporting::files::column_index(text, range, byte_index) + 1)
            }
        }
    }
}

/// Renders diagnostics as text, without colour (for tests, pipes and files).
pub fn render_plain(diags: &[Diagnostic], sources: &SourceMap) -> String {
    let config = term::Config::default();
    let mut out = String::new();
    for d in diags {
        // A line too long to show whole is cut to a window ([`windowed`]).
        let shown = match windowed(d, sources) {
            Some((s, w)) => term::emit_into_string(&config, &s, &w.to_codespan()),
            None => term::emit_into_string(&config, sources, &d.to_codespan()),
        };
        match shown {
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
        let shown = match windowed(d, sources) {
            Some((s, w)) => term::emit_to_write_style(&mut writer, &config, &s, &w.to_codespan()),
            None => term::emit_to_write_style(&mut writer, &config, sources, &d.to_codespan()),
        };
        if shown.is_err() {
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
