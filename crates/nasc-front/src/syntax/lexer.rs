//! The logos lexer: the token stream for editor-facing tools (semantic highlighting, a
//! formatter, the language server) and for the parser's safety pre-scan.
//!
//! It must agree with `grammar/nas.pest` on every keyword, identifier, literal and comment;
//! `tests/lexer_agrees.rs` checks this on every file under `examples/` and `stdlib/`.

use crate::source::Span;
use logos::Logos;
use serde::Serialize;

/// Every keyword of the language, in the order the grammar lists them.
pub const KEYWORDS: &[&str] = &[
    "import", "block", "network", "operator", "let", "return", "choice", "pick", "of", "reduce",
    "repeat", "from", "for", "in", "where", "label", "require", "if", "then", "else", "true",
    "false", "and", "or", "not", "Tensor",
];

/// A token kind. Whitespace is skipped; comments are tokens.
#[derive(Logos, Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[logos(skip r"[ \t\r\n]+")]
pub enum Token {
    /// `import`
    #[token("import")]
    Import,
    /// `block`
    #[token("block")]
    Block,
    /// `network`
    #[token("network")]
    Network,
    /// `operator`
    #[token("operator")]
    Operator,
    /// `let`
    #[token("let")]
    Let,
    /// `return`
    #[token("return")]
    Return,
    /// `choice`
    #[token("choice")]
    Choice,
    /// `pick`
    #[token("pick")]
    Pick,
    /// `of`
    #[token("of")]
    Of,
    /// `reduce`
    #[token("reduce")]
    Reduce,
    /// `repeat`
    #[token("repeat")]
    Repeat,
    /// `from`
    #[token("from")]
    From,
    /// `for`
    #[token("for")]
    For,
    /// `in`
    #[token("in")]
    In,
    /// `where`
    #[token("where")]
    Where,
    /// `label`
    #[token("label")]
    Label,
    /// `require`
    #[token("require")]
    Require,
    /// `if`
    #[token("if")]
    If,
    /// `then`
    #[token("then")]
    Then,
    /// `else`
    #[token("else")]
    Else,
    /// `true`
    #[token("true")]
    True,
    /// `false`
    #[token("false")]
    False,
    /// `and`
    #[token("and")]
    And,
    /// `or`
    #[token("or")]
    Or,
    /// `not`
    #[token("not")]
    Not,
    /// `Tensor`
    #[token("Tensor")]
    Tensor,

    /// A name: `[A-Za-z_][A-Za-z0-9_]*` that is not a keyword.
    #[regex(r"[A-Za-z_][A-Za-z0-9_]*")]
    Ident,
    /// An integer literal: digits with optional `_` separators.
    #[regex(r"[0-9][0-9_]*")]
    Int,
    /// A float literal: a fraction and/or an exponent (`0.5`, `1e-3`, `2.5E+4`).
    #[regex(r"[0-9][0-9_]*(\.[0-9][0-9_]*([eE][+-]?[0-9][0-9_]*)?|[eE][+-]?[0-9][0-9_]*)")]
    Float,
    /// A string literal, quotes included; no raw newlines.
    #[regex(r#""([^"\\\n]|\\[^\n])*""#)]
    Str,
    /// `/// text`: exactly three slashes.
    #[regex(r"///([^/\n][^\n]*)?", allow_greedy = true)]
    DocComment,
    /// `// text` (and `//// text`).
    #[regex(r"//([^/\n][^\n]*)?", priority = 3, allow_greedy = true)]
    #[regex(r"////[^\n]*", allow_greedy = true)]
    LineComment,

    /// `(`
    #[token("(")]
    LParen,
    /// `)`
    #[token(")")]
    RParen,
    /// `[`
    #[token("[")]
    LBracket,
    /// `]`
    #[token("]")]
    RBracket,
    /// `{`
    #[token("{")]
    LBrace,
    /// `}`
    #[token("}")]
    RBrace,
    /// `,`
    #[token(",")]
    Comma,
    /// `:`
    #[token(":")]
    Colon,
    /// `;`
    #[token(";")]
    Semi,
    /// `.`
    #[token(".")]
    Dot,
    /// `..`
    #[token("..")]
    DotDot,
    /// `...`
    #[token("...")]
    Ellipsis,
    /// `->`
    #[token("->")]
    Arrow,
    /// `=`
    #[token("=")]
    Assign,
    /// `==`
    #[token("==")]
    EqEq,
    /// `!=`
    #[token("!=")]
    NotEq,
    /// `<`
    #[token("<")]
    Lt,
    /// `<=`
    #[token("<=")]
    Le,
    /// `>`
    #[token(">")]
    Gt,
    /// `>=`
    #[token(">=")]
    Ge,
    /// `+`
    #[token("+")]
    Plus,
    /// `-`
    #[token("-")]
    Minus,
    /// `*`
    #[token("*")]
    Star,
    /// `**`
    #[token("**")]
    StarStar,
    /// `/`
    #[token("/")]
    Slash,
    /// `%`
    #[token("%")]
    Percent,

    /// Anything the language has no token for (a stray `@`, an unterminated string).
    Error,
}

/// Broad classes of tokens, for highlighting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum TokenClass {
    /// A keyword.
    Keyword,
    /// A name.
    Ident,
    /// An integer or float literal.
    Number,
    /// A string literal.
    String,
    /// A `//` comment.
    Comment,
    /// A `///` doc comment.
    DocComment,
    /// Punctuation and operators.
    Punct,
    /// Not a token of the language.
    Error,
}

impl Token {
    /// Whether this token is one of [`KEYWORDS`].
    pub fn is_keyword(self) -> bool {
        (self as usize) <= (Token::Tensor as usize)
    }

    /// The token's class, for highlighting.
    pub fn class(self) -> TokenClass {
        match self {
            t if t.is_keyword() => TokenClass::Keyword,
            Token::Ident => TokenClass::Ident,
            Token::Int | Token::Float => TokenClass::Number,
            Token::Str => TokenClass::String,
            Token::LineComment => TokenClass::Comment,
            Token::DocComment => TokenClass::DocComment,
            Token::Error => TokenClass::Error,
            _ => TokenClass::Punct,
        }
    }
}

/// Splits `src` into tokens with their byte spans. Never fails: bytes that form no token
/// become [`Token::Error`] tokens, and lexing goes on after them.
pub fn tokenize(src: &str) -> Vec<(Token, Span)> {
    let mut out = Vec::with_capacity(src.len() / 4);
    let mut lex = Token::lexer(src);
    while let Some(tok) = lex.next() {
        let r = lex.span();
        out.push((tok.unwrap_or(Token::Error), Span::new(r.start, r.end)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<Token> {
        tokenize(src).into_iter().map(|(t, _)| t).collect()
    }

    #[test]
    fn keywords_are_whole_words() {
        assert_eq!(kinds("block blocks"), vec![Token::Block, Token::Ident]);
        assert_eq!(kinds("import_x in"), vec![Token::Ident, Token::In]);
    }

    #[test]
    fn keyword_list_matches_the_token_enum() {
        for kw in KEYWORDS {
            let toks = kinds(kw);
            assert_eq!(toks.len(), 1, "{kw}");
            assert!(toks[0].is_keyword(), "{kw} lexes as {:?}", toks[0]);
        }
        assert_eq!(KEYWORDS.len(), Token::Tensor as usize + 1);
    }

    #[test]
    fn numbers_ranges_and_exponents() {
        assert_eq!(kinds("0..4"), vec![Token::Int, Token::DotDot, Token::Int]);
        assert_eq!(
            kinds("1_000 1e-3 2.5E+4 0.5"),
            vec![Token::Int, Token::Float, Token::Float, Token::Float]
        );
        assert_eq!(kinds("...rest"), vec![Token::Ellipsis, Token::Ident]);
    }

    #[test]
    fn comments_doc_comments_and_four_slashes() {
        assert_eq!(
            kinds("/// doc\n// line\n//// not doc\n///"),
            vec![Token::DocComment, Token::LineComment, Token::LineComment, Token::DocComment]
        );
    }

    #[test]
    fn bad_bytes_become_error_tokens_and_lexing_goes_on() {
        assert_eq!(
            kinds("a @ b \"open\nc"),
            vec![Token::Ident, Token::Error, Token::Ident, Token::Error, Token::Ident]
        );
    }
}
