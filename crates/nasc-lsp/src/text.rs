//! Text positions and document URIs for the language server.
//!
//! nasc works in byte offsets; LSP positions are (line, character) with the character counted
//! in UTF-16 code units (the protocol's default encoding, which every client supports). Lines
//! end at `\n` (a `\r` before it belongs to the line's end).

use lsp_types::{Position, Range, TextDocumentContentChangeEvent, Uri};
use nasc_front::source::Span;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// The start of every line of a text, to convert between byte offsets and LSP positions.
#[derive(Debug, Clone)]
pub struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    /// Indexes `text`.
    pub fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { starts }
    }

    /// The LSP position of byte `offset` of `text` (clamped to the text and to a character
    /// boundary).
    pub fn position(&self, text: &str, offset: usize) -> Position {
        let mut offset = offset.min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = match self.starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let start = self.starts[line];
        let character: usize = text[start..offset].chars().map(char::len_utf16).sum();
        Position::new(line as u32, character as u32)
    }

    /// The byte offset of an LSP position in `text`. A line past the end gives the end of the
    /// text; a character past the end of its line gives the end of the line (before `\r\n`).
    pub fn offset(&self, text: &str, pos: Position) -> usize {
        let Some(&start) = self.starts.get(pos.line as usize) else {
            return text.len();
        };
        let end = self.starts.get(pos.line as usize + 1).map_or(text.len(), |next| next - 1);
        let line = text[start..end].strip_suffix('\r').unwrap_or(&text[start..end]);
        let mut units = 0usize;
        for (i, c) in line.char_indices() {
            if units >= pos.character as usize {
                return start + i;
            }
            units += c.len_utf16();
        }
        start + line.len()
    }

    /// The LSP range of a byte span of `text`.
    pub fn range(&self, text: &str, span: Span) -> Range {
        Range::new(self.position(text, span.start), self.position(text, span.end))
    }
}

/// Applies one `textDocument/didChange` content change to `text`: a whole new text, or a
/// replacement of a range.
pub fn apply_change(text: &mut String, change: &TextDocumentContentChangeEvent) {
    match change.range {
        None => text.clone_from(&change.text),
        Some(range) => {
            let index = LineIndex::new(text);
            let start = index.offset(text, range.start);
            let end = index.offset(text, range.end).max(start);
            text.replace_range(start..end, &change.text);
        }
    }
}

/// The path of a `file:` URI (percent-decoded); `None` for other schemes.
pub fn uri_to_path(uri: &Uri) -> Option<PathBuf> {
    let s = uri.as_str();
    let rest = s.strip_prefix("file://").or_else(|| s.strip_prefix("FILE://"))?;
    // Skip an authority (`file://localhost/...`); the path starts at the first `/`.
    let path = &rest[rest.find('/')?..];
    let path = path.split(['?', '#']).next().unwrap_or(path);
    let bytes = percent_decode(path);
    let decoded = String::from_utf8(bytes).ok()?;
    // `file:///c:/x` on Windows is the path `c:/x`.
    let win = decoded.as_bytes();
    if cfg!(windows)
        && win.len() >= 3
        && win[0] == b'/'
        && win[1].is_ascii_alphabetic()
        && win[2] == b':'
    {
        return Some(PathBuf::from(&decoded[1..]));
    }
    Some(PathBuf::from(decoded))
}

/// The `file:` URI of an absolute path, percent-encoding every byte that is not unreserved.
pub fn path_to_uri(path: &Path) -> Option<Uri> {
    let abs = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().ok()?.join(path)
    };
    let s = abs.to_str()?.replace('\\', "/");
    let mut out = String::from("file://");
    if !s.starts_with('/') {
        out.push('/');
    }
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    Uri::from_str(&out).ok()
}

fn percent_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = s.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(h, 16).ok());
            if let Some(v) = hex {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf16_columns_round_trip() {
        let text = "// é😀\nlet x = \"é😀\" + y\r\nz";
        let idx = LineIndex::new(text);
        let y = text.find('y').unwrap();
        let p = idx.position(text, y);
        // `let x = "` is 9 units, é is 1, 😀 is 2, `" + ` is 4.
        assert_eq!(p, Position::new(1, 16));
        assert_eq!(idx.offset(text, p), y);
        // Past the end of a line: the end of the line, before `\r\n`.
        assert_eq!(idx.offset(text, Position::new(1, 99)), y + 1);
        assert_eq!(idx.offset(text, Position::new(9, 0)), text.len());
        assert_eq!(idx.position(text, text.len()), Position::new(2, 1));
        // Inside a character: clamped to its start.
        assert_eq!(idx.position(text, 4), Position::new(0, 3));
    }

    #[test]
    fn incremental_changes() {
        let mut text = "ab\ncd😀e\n".to_string();
        let change = TextDocumentContentChangeEvent {
            range: Some(Range::new(Position::new(1, 2), Position::new(1, 4))),
            range_length: None,
            text: "X".into(),
        };
        apply_change(&mut text, &change);
        assert_eq!(text, "ab\ncdXe\n");
    }

    #[test]
    fn file_uris() {
        let uri = Uri::from_str("file:///tmp/a%20b/%C3%A9.nas").unwrap();
        assert_eq!(uri_to_path(&uri), Some(PathBuf::from("/tmp/a b/é.nas")));
        let back = path_to_uri(Path::new("/tmp/a b/é.nas")).unwrap();
        assert_eq!(back.as_str(), "file:///tmp/a%20b/%C3%A9.nas");
        assert_eq!(uri_to_path(&Uri::from_str("untitled:Untitled-1").unwrap()), None);
    }
}
