//! Completion: what fits at the cursor, read from the tokens before it (the text being typed
//! rarely parses): labels inside `label "..."`, module names after `import`, keyword
//! arguments inside a call, and otherwise blocks, operators, local names and keywords.

use super::analysis::Analysis;
use lsp_types::{CompletionItem, CompletionItemKind};
use nasc_front::stdlib;
use nasc_front::syntax::lexer::{tokenize, Token, TokenClass, KEYWORDS};

/// The completion items at byte `offset` of `text`. `labels` are labels remembered from the
/// last time the document checked clean (name, domain), offered with the current ones.
pub fn complete(
    analysis: &Analysis,
    text: &str,
    offset: usize,
    labels: &[(String, String)],
) -> Vec<CompletionItem> {
    let offset = offset.min(text.len());
    let toks = tokenize(text);
    // The token the cursor is in or just after (a word being typed), and everything before.
    let cur = toks.iter().position(|(_, s)| s.start < offset && offset <= s.end);
    let before_end =
        cur.unwrap_or_else(|| toks.iter().take_while(|(_, s)| s.end <= offset).count());
    if let Some(c) = cur {
        let (tok, span) = toks[c];
        let word = &text[span.range()];
        match tok.class() {
            TokenClass::Comment | TokenClass::DocComment => return Vec::new(),
            TokenClass::String | TokenClass::Error if word.starts_with('"') => {
                let in_string = tok == Token::Error || offset < span.end;
                let after_label = c > 0 && toks[c - 1].0 == Token::Label;
                return if in_string && after_label {
                    label_items(analysis, labels)
                } else {
                    Vec::new()
                };
            }
            TokenClass::Number | TokenClass::String => return Vec::new(),
            _ => {}
        }
    }
    let prev: Vec<Token> = toks[..before_end]
        .iter()
        .map(|(t, _)| *t)
        .filter(|t| !matches!(t.class(), TokenClass::Comment | TokenClass::DocComment))
        .collect();

    // `import std.` ...: module names; inside `{...}`, the module's items.
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let line = &text[line_start..offset];
    if line.trim_start().starts_with("import ") || line.trim_start() == "import" {
        return import_items(analysis, line);
    }

    let mut items = Vec::new();
    // Inside a call's parentheses, at the start of an argument: its keyword arguments.
    if let Some((callee, given)) = enclosing_call(&toks[..before_end], text) {
        if matches!(prev.last(), Some(Token::LParen | Token::Comma)) {
            items.extend(analysis.keyword_items(&callee, &given));
        }
    }
    if matches!(prev.last(), Some(Token::Dot | Token::DotDot | Token::Ellipsis)) {
        return items;
    }
    for (name, r) in analysis.callables() {
        items.push(analysis.callable_item(name, r));
    }
    for name in analysis.local_names(offset) {
        items.push(CompletionItem {
            label: name.clone(),
            kind: Some(CompletionItemKind::VARIABLE),
            sort_text: Some(format!("0{name}")),
            ..Default::default()
        });
    }
    for kw in KEYWORDS {
        items.push(CompletionItem {
            label: (*kw).to_string(),
            kind: Some(CompletionItemKind::KEYWORD),
            sort_text: Some(format!("2{kw}")),
            ..Default::default()
        });
    }
    items
}

/// The callee of the call whose parentheses enclose the end of `toks`, with the keyword
/// arguments already given.
fn enclosing_call(
    toks: &[(Token, nasc_front::source::Span)],
    text: &str,
) -> Option<(String, Vec<String>)> {
    let mut depth = 0usize;
    for i in (0..toks.len()).rev() {
        match toks[i].0 {
            Token::RParen | Token::RBracket | Token::RBrace => depth += 1,
            Token::LBracket | Token::LBrace if depth == 0 => return None,
            Token::LParen if depth == 0 => {
                let (callee_tok, callee_span) = *toks.get(i.checked_sub(1)?)?;
                if callee_tok != Token::Ident {
                    return None;
                }
                // Keywords at this call's level: `name :` after `(` or `,`.
                let mut given = Vec::new();
                let mut d = 0usize;
                for j in i + 1..toks.len() {
                    match toks[j].0 {
                        Token::LParen | Token::LBracket | Token::LBrace => d += 1,
                        Token::RParen | Token::RBracket | Token::RBrace => d = d.saturating_sub(1),
                        Token::Ident
                            if d == 0 && toks.get(j + 1).map(|t| t.0) == Some(Token::Colon) =>
                        {
                            given.push(text[toks[j].1.range()].to_string());
                        }
                        _ => {}
                    }
                }
                return Some((text[callee_span.range()].to_string(), given));
            }
            Token::LParen | Token::LBracket | Token::LBrace => depth -= 1,
            _ => {}
        }
    }
    None
}

fn label_items(analysis: &Analysis, remembered: &[(String, String)]) -> Vec<CompletionItem> {
    let mut seen: Vec<String> = Vec::new();
    let mut items = Vec::new();
    for (name, domain) in analysis.label_names().iter().chain(remembered) {
        if seen.contains(name) {
            continue;
        }
        seen.push(name.clone());
        items.push(CompletionItem {
            label: name.clone(),
            kind: Some(CompletionItemKind::ENUM_MEMBER),
            detail: Some(domain.clone()),
            ..Default::default()
        });
    }
    // Labels written in the text, checked or not.
    let text = analysis.text();
    let toks = tokenize(text);
    for pair in toks.windows(2) {
        let ((t0, _), (t1, span)) = (pair[0], pair[1]);
        if t0 == Token::Label && t1 == Token::Str && span.end >= span.start + 2 {
            let name = text[span.start + 1..span.end - 1].to_string();
            if !name.is_empty() && !seen.contains(&name) {
                seen.push(name.clone());
                items.push(CompletionItem {
                    label: name,
                    kind: Some(CompletionItemKind::ENUM_MEMBER),
                    ..Default::default()
                });
            }
        }
    }
    items
}

fn import_items(analysis: &Analysis, line: &str) -> Vec<CompletionItem> {
    // After `{`: the names of the module being imported.
    if line.contains('{') {
        let dotted = line
            .trim_start()
            .trim_start_matches("import")
            .trim()
            .split('{')
            .next()
            .unwrap_or("")
            .trim()
            .trim_end_matches('.');
        let program = analysis.program();
        let Some(m) = program.modules.iter().find(|m| {
            m.name == dotted || m.name.ends_with(&format!("/{}.nas", dotted.replace('.', "/")))
        }) else {
            return Vec::new();
        };
        return m
            .ast
            .items
            .iter()
            .filter_map(|i| match i {
                nasc_front::syntax::ast::Item::Block(b) => {
                    Some((&b.name.name, CompletionItemKind::CLASS))
                }
                nasc_front::syntax::ast::Item::Op(o) => {
                    Some((&o.name.name, CompletionItemKind::FUNCTION))
                }
                nasc_front::syntax::ast::Item::Import(_) => None,
            })
            .map(|(n, k)| CompletionItem { label: n.clone(), kind: Some(k), ..Default::default() })
            .collect();
    }
    stdlib::modules()
        .into_iter()
        .map(|m| CompletionItem {
            label: m,
            kind: Some(CompletionItemKind::MODULE),
            ..Default::default()
        })
        .collect()
}
