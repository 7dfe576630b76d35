//! The fast parser: generated at build time from `grammar/nas.pest` by `build/peg.rs`, one
//! function per rule over the byte cursor [`P`] defined here. It follows pest's semantics
//! (implicit whitespace, atomic rules, the tokens of visible rules) and builds the same tree as
//! the parser pest derives from the same grammar, about ten times faster (docs/benchmarks.md),
//! because it threads no boxed state through closures, probes the native stack only every
//! [`STACK_PROBE_EVERY`] rule calls, keeps no record of failed attempts, and skips an
//! alternative whose first byte cannot match.
//!
//! It words no errors: [`parse`] returns `None` for text that does not parse, or that nests
//! deeper than [`MAX_DEPTH`] rule calls, and the caller parses such text again with pest, which
//! says what was expected (or that the nesting is too deep). `tests/fast_parser.rs` checks that
//! the two parsers agree on every file of the repository and on random and mutated text.

use super::parser::Rule;
use super::tree::{Node, Tree};

/// How deeply rule calls may nest before the parse gives up and leaves the text to pest.
/// Parenthesised expressions take about five rule calls per level; the AST builder refuses
/// nesting deeper than [`super::parser::MAX_NESTING`] levels anyway.
pub const MAX_DEPTH: u32 = 4_000;

/// Every how many levels of rule calls the native stack is probed.
pub const STACK_PROBE_EVERY: u32 = 64;

#[allow(dead_code)]
const NON_ATOMIC: u8 = 0;
#[allow(dead_code)]
const ATOMIC: u8 = 1;
#[allow(dead_code)]
const COMPOUND_ATOMIC: u8 = 2;

/// The cursor the generated rule functions run on.
struct P<'i> {
    input: &'i str,
    bytes: &'i [u8],
    pos: usize,
    nodes: Vec<Node<Rule>>,
    /// pest's atomicity: [`NON_ATOMIC`], [`ATOMIC`] or [`COMPOUND_ATOMIC`].
    atomicity: u8,
    depth: u32,
    /// Set when the parse gave up (too deep); every rule call fails from then on.
    halted: bool,
}

/// A point to return to: the cursor and the number of queued nodes.
#[derive(Clone, Copy)]
struct Saved {
    pos: usize,
    nodes: usize,
}

impl<'i> P<'i> {
    #[inline]
    fn save(&self) -> Saved {
        Saved { pos: self.pos, nodes: self.nodes.len() }
    }

    #[inline]
    fn restore(&mut self, s: Saved) {
        self.pos = s.pos;
        self.nodes.truncate(s.nodes);
    }

    /// Enters a rule call; `false` (and the parse halted) past [`MAX_DEPTH`] or when the native
    /// stack runs low.
    #[inline]
    fn enter(&mut self) -> bool {
        self.depth += 1;
        if self.halted {
            return false;
        }
        if self.depth > MAX_DEPTH
            || (self.depth.is_multiple_of(STACK_PROBE_EVERY) && super::parser::stack_is_low())
        {
            self.halted = true;
            return false;
        }
        true
    }

    #[inline]
    fn leave(&mut self) {
        self.depth -= 1;
    }

    /// Queues the start of a visible rule's node, unless inside an atomic rule (pest keeps no
    /// tokens there). Returns the node's index, or `usize::MAX` when none was queued.
    #[inline]
    fn open(&mut self, rule: Rule, at: usize) -> usize {
        if self.atomicity == ATOMIC {
            return usize::MAX;
        }
        self.nodes.push(Node { rule, start: at as u32, end: at as u32, next: 0 });
        self.nodes.len() - 1
    }

    /// Completes the node `token` opened (or drops it if the rule failed).
    #[inline]
    fn close(&mut self, token: usize, ok: bool) {
        if token == usize::MAX {
            return;
        }
        if ok {
            let next = self.nodes.len() as u32;
            let n = &mut self.nodes[token];
            n.end = self.pos as u32;
            n.next = next;
        } else {
            self.nodes.truncate(token);
        }
    }

    /// The next byte, or 256 at the end of the input.
    #[inline]
    fn peek(&self) -> usize {
        self.bytes.get(self.pos).map_or(256, |&b| b as usize)
    }

    /// Whether the next byte (bit 256: the end of the input) is in `set`.
    #[inline]
    fn peek_in(&self, set: &[u64; 5]) -> bool {
        let c = self.bytes.get(self.pos).map_or(256, |&b| b as usize);
        (set[c >> 6] >> (c & 63)) & 1 != 0
    }

    /// The exact bytes `s` (a literal of the grammar; its length is known at compile time, so
    /// the comparison is inlined).
    #[inline]
    fn lit<const N: usize>(&mut self, s: &[u8; N]) -> bool {
        match self.bytes.get(self.pos..self.pos + N) {
            Some(t) if t == s => {
                self.pos += N;
                true
            }
            _ => false,
        }
    }

    #[allow(dead_code)]
    #[inline]
    fn lit_insensitive(&mut self, s: &[u8]) -> bool {
        match self.bytes.get(self.pos..self.pos + s.len()) {
            Some(t)
                if t.eq_ignore_ascii_case(s) && self.input.is_char_boundary(self.pos + s.len()) =>
            {
                self.pos += s.len();
                true
            }
            _ => false,
        }
    }

    /// One byte of the ASCII class `set`.
    #[inline]
    fn class(&mut self, set: &[u64; 5]) -> bool {
        match self.bytes.get(self.pos) {
            Some(&b) if (set[(b >> 6) as usize] >> (b & 63)) & 1 != 0 => {
                self.pos += 1;
                true
            }
            _ => false,
        }
    }

    /// As many bytes of the ASCII class `set` as follow.
    #[inline]
    fn class_run(&mut self, set: &[u64; 5]) {
        while let Some(&b) = self.bytes.get(self.pos) {
            if (set[(b >> 6) as usize] >> (b & 63)) & 1 == 0 {
                break;
            }
            self.pos += 1;
        }
    }

    /// One byte in `lo..=hi` (both ASCII).
    #[allow(dead_code)]
    #[inline]
    fn byte_range(&mut self, lo: u8, hi: u8) -> bool {
        match self.bytes.get(self.pos) {
            Some(&b) if lo <= b && b <= hi => {
                self.pos += 1;
                true
            }
            _ => false,
        }
    }

    /// One character in `lo..=hi`.
    #[allow(dead_code)]
    #[inline]
    fn char_range(&mut self, lo: char, hi: char) -> bool {
        match self.input[self.pos..].chars().next() {
            Some(c) if lo <= c && c <= hi => {
                self.pos += c.len_utf8();
                true
            }
            _ => false,
        }
    }

    /// Any one character.
    #[inline]
    fn any(&mut self) -> bool {
        match self.input[self.pos..].chars().next() {
            Some(c) => {
                self.pos += c.len_utf8();
                true
            }
            None => false,
        }
    }

    /// Moves to the first place where one of `strings` starts, or to the end (pest's
    /// `skip_until`).
    #[allow(dead_code)]
    #[inline]
    fn skip_until(&mut self, strings: &[&str]) -> bool {
        let rest = &self.bytes[self.pos..];
        if strings.iter().any(|s| s.is_empty()) {
            return true;
        }
        // A match of a (valid UTF-8) string always starts on a character boundary.
        let found = (0..rest.len()).find(|&i| {
            strings
                .iter()
                .any(|s| rest[i] == s.as_bytes()[0] && rest[i..].starts_with(s.as_bytes()))
        });
        self.pos += found.unwrap_or(rest.len());
        true
    }
}

#[allow(non_snake_case, unused_parens, unused_braces, dead_code, clippy::all)]
mod generated {
    use super::*;
    include!(concat!(env!("OUT_DIR"), "/nas_parser.rs"));
}

/// Parses `input` with the visible rule `rule` (at the start of the text, like pest's
/// `Parser::parse`: the rule need not reach the end unless it says `EOI`). `None` when the
/// text does not parse, nests deeper than [`MAX_DEPTH`], the native stack runs low, or is too
/// long for the tree's 32-bit offsets; pest then decides (and words the error).
pub fn parse(rule: Rule, input: &str) -> Option<Tree<'_, Rule>> {
    if input.len() >= u32::MAX as usize {
        return None;
    }
    let mut p = P {
        input,
        bytes: input.as_bytes(),
        pos: 0,
        nodes: Vec::with_capacity(input.len() / 4 + 16),
        atomicity: NON_ATOMIC,
        depth: 0,
        halted: false,
    };
    let ok = generated::parse_rule(rule, &mut p);
    if ok && !p.halted {
        Some(Tree { input, nodes: p.nodes })
    } else {
        None
    }
}
