//! The syntax stage: text to a typed AST ([`ast`]). Both parsers come from `grammar/nas.pest`:
//! the fast parser generated at build time ([`fast`], by `build/peg.rs`) parses, and where it
//! fails, pest's derived parser parses again and words the error ([`parser`]); both build the
//! same parse tree ([`tree`]). The logos token stream ([`lexer`]) serves editor-facing tools
//! and the wording of syntax errors.

pub mod ast;
pub mod fast;
pub mod lexer;
pub mod parser;
pub mod tree;
