//! The syntax stage: text to a typed AST ([`ast`]), by a pest parser derived from
//! `grammar/nas.pest` ([`parser`]); and the logos token stream ([`lexer`]) that editor-facing
//! tools and the parser's safety pre-scan use.

pub mod ast;
pub mod fast;
pub mod lexer;
pub mod parser;
pub mod tree;
