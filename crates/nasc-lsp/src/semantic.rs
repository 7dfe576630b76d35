//! Semantic tokens from the logos lexer: keywords, names (declarations, calls, parameters,
//! types), literals, comments and operators, for any text, however broken.

use super::text::LineIndex;
use lsp_types::{SemanticToken, SemanticTokenModifier, SemanticTokenType, SemanticTokensLegend};
use nasc_front::syntax::lexer::{tokenize, Token, TokenClass};

/// The token types the server reports, in legend order.
pub const TYPES: &[SemanticTokenType] = &[
    SemanticTokenType::KEYWORD,
    SemanticTokenType::FUNCTION,
    SemanticTokenType::CLASS,
    SemanticTokenType::PARAMETER,
    SemanticTokenType::VARIABLE,
    SemanticTokenType::NUMBER,
    SemanticTokenType::STRING,
    SemanticTokenType::COMMENT,
    SemanticTokenType::OPERATOR,
    SemanticTokenType::TYPE,
    SemanticTokenType::ENUM_MEMBER,
];

/// The token modifiers, in legend order (bit 0 first).
pub const MODIFIERS: &[SemanticTokenModifier] = &[
    SemanticTokenModifier::DECLARATION,
    SemanticTokenModifier::DOCUMENTATION,
    SemanticTokenModifier::DEFAULT_LIBRARY,
];

/// The type names of the language (as `resolve` knows them).
const TYPE_NAMES: &[&str] = &["int", "float", "bool", "str", "list"];

const KEYWORD: u32 = 0;
const FUNCTION: u32 = 1;
const CLASS: u32 = 2;
const PARAMETER: u32 = 3;
const VARIABLE: u32 = 4;
const NUMBER: u32 = 5;
const STRING: u32 = 6;
const COMMENT: u32 = 7;
const OPERATOR: u32 = 8;
const TYPE: u32 = 9;
const ENUM_MEMBER: u32 = 10;

const DECLARATION: u32 = 1;
const DOCUMENTATION: u32 = 2;
const DEFAULT_LIBRARY: u32 = 4;

/// The legend sent in the server's capabilities.
pub fn legend() -> SemanticTokensLegend {
    SemanticTokensLegend { token_types: TYPES.to_vec(), token_modifiers: MODIFIERS.to_vec() }
}

/// The semantic tokens of `text`, delta-encoded as LSP wants. `from_stdlib(name)` says
/// whether a called name is a standard-library block or operator.
pub fn tokens(text: &str, from_stdlib: &dyn Fn(&str) -> bool) -> Vec<SemanticToken> {
    let toks = tokenize(text);
    let index = LineIndex::new(text);
    // Significant tokens (not comments), to look at neighbours.
    let sig: Vec<usize> = (0..toks.len())
        .filter(|&i| !matches!(toks[i].0.class(), TokenClass::Comment | TokenClass::DocComment))
        .collect();
    let mut prev_sig = vec![None; toks.len()];
    let mut next_sig = vec![None; toks.len()];
    for (k, &i) in sig.iter().enumerate() {
        prev_sig[i] = k.checked_sub(1).map(|p| toks[sig[p]].0);
        next_sig[i] = sig.get(k + 1).map(|&n| toks[n].0);
    }
    let mut out = Vec::with_capacity(toks.len());
    let (mut last_line, mut last_start) = (0u32, 0u32);
    // Open brackets, innermost last.
    let mut brackets: Vec<Token> = Vec::new();
    for (i, &(tok, span)) in toks.iter().enumerate() {
        let word = &text[span.range()];
        match tok {
            Token::LParen | Token::LBracket | Token::LBrace => brackets.push(tok),
            Token::RParen | Token::RBracket | Token::RBrace => {
                brackets.pop();
            }
            _ => {}
        }
        let (prev, next) = (prev_sig[i], next_sig[i]);
        let kind = match tok.class() {
            TokenClass::Keyword if tok == Token::Tensor => Some((TYPE, 0)),
            TokenClass::Keyword => Some((KEYWORD, 0)),
            TokenClass::Number => Some((NUMBER, 0)),
            TokenClass::String => Some((STRING, 0)),
            TokenClass::Comment => Some((COMMENT, 0)),
            TokenClass::DocComment => Some((COMMENT, DOCUMENTATION)),
            TokenClass::Error => None,
            TokenClass::Punct => match tok {
                Token::LParen
                | Token::RParen
                | Token::LBracket
                | Token::RBracket
                | Token::LBrace
                | Token::RBrace
                | Token::Comma
                | Token::Colon
                | Token::Semi
                | Token::Dot => None,
                _ => Some((OPERATOR, 0)),
            },
            TokenClass::Ident => Some(match (prev, next) {
                (Some(Token::Block | Token::Operator), _) => (FUNCTION, DECLARATION),
                (Some(Token::Network), _) => (CLASS, DECLARATION),
                (_, Some(Token::LParen)) => {
                    (FUNCTION, if from_stdlib(word) { DEFAULT_LIBRARY } else { 0 })
                }
                (Some(Token::Reduce), _) => (ENUM_MEMBER, 0),
                (Some(Token::Colon | Token::Arrow | Token::LBracket), _)
                    if TYPE_NAMES.contains(&word) =>
                {
                    (TYPE, 0)
                }
                (_, Some(Token::Colon)) if brackets.last() == Some(&Token::LParen) => {
                    (PARAMETER, 0)
                }
                (_, Some(Token::Colon))
                    if brackets.last() == Some(&Token::LBrace) && prev != Some(Token::Let) =>
                {
                    (ENUM_MEMBER, DECLARATION)
                }
                (Some(Token::Let | Token::For | Token::Choice | Token::Pick | Token::From), _) => {
                    (VARIABLE, DECLARATION)
                }
                _ => (VARIABLE, 0),
            }),
        };
        let Some((ty, mods)) = kind else { continue };
        if word.contains('\n') || span.start == span.end {
            continue;
        }
        let pos = index.position(text, span.start);
        let length: u32 = word.chars().map(|c| c.len_utf16() as u32).sum();
        let delta_line = pos.line - last_line;
        let delta_start = if delta_line == 0 { pos.character - last_start } else { pos.character };
        out.push(SemanticToken {
            delta_line,
            delta_start,
            length,
            token_type: ty,
            token_modifiers_bitset: mods,
        });
        last_line = pos.line;
        last_start = pos.character;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_and_utf16_deltas() {
        let text = "// é😀\nblock B(x: int) -> Tensor[n] {\n  return conv2d(x, out: 1)\n}";
        let t = tokens(text, &|n| n == "conv2d");
        // The comment, then `block` on the next line.
        assert_eq!((t[0].token_type, t[0].length), (COMMENT, 6));
        assert_eq!((t[1].delta_line, t[1].delta_start, t[1].token_type), (1, 0, KEYWORD));
        assert_eq!((t[2].token_type, t[2].token_modifiers_bitset), (FUNCTION, DECLARATION));
        let call = t.iter().find(|x| x.token_modifiers_bitset == DEFAULT_LIBRARY).expect("conv2d");
        assert_eq!(call.token_type, FUNCTION);
        assert!(t.iter().any(|x| x.token_type == PARAMETER));
        assert!(t.iter().any(|x| x.token_type == TYPE));
    }
}
