//! The parse tree of a `.nas` text: pest's tree (rules with their byte ranges, nested), held
//! flat in one vector, with a small `Pair` API modelled on `pest::iterators::Pair` so that the
//! AST builder reads it the same way.
//!
//! Both parsers produce it: the fast parser generated from the grammar ([`super::fast`]) and
//! pest's derived parser ([`Tree::from_pest`]), which is the reference the fast one is tested
//! against.

use pest::iterators::Pairs;
use pest::RuleType;

/// One node: a rule that matched `start..end` (byte offsets into the parsed text). Nodes are
/// stored in pre-order; a node's children are the nodes from the next index up to `next`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Node<R> {
    /// The rule that matched.
    pub rule: R,
    /// First byte of the match.
    pub start: u32,
    /// One past the last byte of the match.
    pub end: u32,
    /// The index just after this node's subtree (its next sibling, if any).
    pub next: u32,
}

/// A parse tree: the text and its nodes in pre-order (the top-level nodes are siblings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tree<'i, R> {
    /// The parsed text.
    pub input: &'i str,
    /// Every node, in pre-order.
    pub nodes: Vec<Node<R>>,
}

impl<'i, R: RuleType> Tree<'i, R> {
    /// The tree of a successful pest parse of `input` (pest's `Start`/`End` tokens, read in
    /// order, without recursion).
    pub fn from_pest(input: &'i str, pairs: Pairs<'i, R>) -> Self {
        let mut nodes: Vec<Node<R>> = Vec::new();
        let mut open: Vec<usize> = Vec::new();
        for token in pairs.tokens() {
            match token {
                pest::Token::Start { rule, pos } => {
                    open.push(nodes.len());
                    let at = pos.pos() as u32;
                    nodes.push(Node { rule, start: at, end: at, next: 0 });
                }
                pest::Token::End { pos, .. } => {
                    if let Some(i) = open.pop() {
                        nodes[i].end = pos.pos() as u32;
                        nodes[i].next = nodes.len() as u32;
                    }
                }
            }
        }
        Tree { input, nodes }
    }

    /// The top-level nodes.
    pub fn pairs(&self) -> Children<'_, R> {
        Children { input: self.input, nodes: &self.nodes, at: 0, end: self.nodes.len() }
    }
}

/// A node of a [`Tree`] with access to its text and children (like `pest::iterators::Pair`).
#[derive(Debug, Clone, Copy)]
pub struct Pair<'a, R> {
    input: &'a str,
    nodes: &'a [Node<R>],
    index: usize,
}

/// A node's byte range in the parsed text (like `pest::Span`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PairSpan<'a> {
    input: &'a str,
    start: usize,
    end: usize,
}

impl<'a> PairSpan<'a> {
    /// First byte.
    pub fn start(&self) -> usize {
        self.start
    }

    /// One past the last byte.
    pub fn end(&self) -> usize {
        self.end
    }

    /// The text of the range.
    pub fn as_str(&self) -> &'a str {
        &self.input[self.start..self.end]
    }
}

impl<'a, R: Copy> Pair<'a, R> {
    fn node(&self) -> Node<R> {
        self.nodes[self.index]
    }

    /// The rule that matched.
    pub fn as_rule(&self) -> R {
        self.node().rule
    }

    /// The byte range that matched.
    pub fn as_span(&self) -> PairSpan<'a> {
        let n = self.node();
        PairSpan { input: self.input, start: n.start as usize, end: n.end as usize }
    }

    /// The text that matched.
    pub fn as_str(&self) -> &'a str {
        self.as_span().as_str()
    }

    /// The node's children, in order.
    pub fn into_inner(self) -> Children<'a, R> {
        let n = self.node();
        Children { input: self.input, nodes: self.nodes, at: self.index + 1, end: n.next as usize }
    }
}

/// Sibling nodes, in order (like `pest::iterators::Pairs`).
#[derive(Debug, Clone)]
pub struct Children<'a, R> {
    input: &'a str,
    nodes: &'a [Node<R>],
    at: usize,
    end: usize,
}

impl<'a, R: Copy> Iterator for Children<'a, R> {
    type Item = Pair<'a, R>;

    fn next(&mut self) -> Option<Pair<'a, R>> {
        if self.at >= self.end {
            return None;
        }
        let index = self.at;
        self.at = (self.nodes[index].next as usize).max(index + 1);
        Some(Pair { input: self.input, nodes: self.nodes, index })
    }
}
