//! The IR's invariants, checked in tests after every elaboration.

use super::{Domain, Graph, LabelKind, NodeKind, RegionKind};

/// A broken invariant of the IR.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    /// A node reads a node that comes after it (the order must be topological, so acyclic).
    #[error("node %{node} reads %{input}, which does not come before it")]
    NotTopological {
        /// The reader.
        node: usize,
        /// What it reads.
        input: usize,
    },
    /// A node refers to a label that is not in the table, or of the wrong kind.
    #[error("node %{node} refers to label {label} wrongly: {why}")]
    BadLabel {
        /// The node.
        node: usize,
        /// The label index.
        label: u32,
        /// What is wrong.
        why: String,
    },
    /// A choice node whose arity does not match its label's domain.
    #[error("node %{node}: {why}")]
    Arity {
        /// The node.
        node: usize,
        /// What is wrong.
        why: String,
    },
    /// A region whose parent does not come before it, or the first region is not the root.
    #[error("region {region} is malformed")]
    BadRegion {
        /// The region.
        region: usize,
    },
    /// A node reads a node of a region that is neither its own nor an enclosing one (so the
    /// value could be missing when it runs), other than a choice reading its alternatives.
    #[error("node %{node} reads %{input} from a region that is not active whenever it is")]
    RegionEscape {
        /// The reader.
        node: usize,
        /// What it reads.
        input: usize,
    },
    /// The output is not a node, or an input is not an `Input` node.
    #[error("the graph's inputs or output are malformed")]
    Ends,
}

/// Checks every invariant of `g`; returns the first broken one.
pub fn validate(g: &Graph) -> Result<(), ValidationError> {
    for (r, region) in g.regions.iter() {
        match (r.index(), region.parent) {
            (0, None) if matches!(region.kind, RegionKind::Root) => {}
            (0, _) => return Err(ValidationError::BadRegion { region: 0 }),
            (_, Some(p)) if p < r => {}
            _ => return Err(ValidationError::BadRegion { region: r.index() }),
        }
        if let RegionKind::Alternative { label, .. } | RegionKind::Repetition { label, .. } =
            region.kind
        {
            if label.0 as usize >= g.labels.len() {
                return Err(ValidationError::BadRegion { region: r.index() });
            }
        }
    }
    let encloses = |outer: super::RegionId, mut inner: super::RegionId| loop {
        if inner == outer {
            return true;
        }
        match g.regions.get(inner).parent {
            Some(p) => inner = p,
            None => return false,
        }
    };
    for (h, node) in g.nodes.iter() {
        let inputs = node.kind.inputs();
        let is_choice = !matches!(node.kind, NodeKind::Op { .. } | NodeKind::Input { .. });
        for i in &inputs {
            if *i >= h {
                return Err(ValidationError::NotTopological { node: h.index(), input: i.index() });
            }
            let from = g.nodes.get(*i).region;
            if !is_choice && !encloses(from, node.region) {
                return Err(ValidationError::RegionEscape { node: h.index(), input: i.index() });
            }
        }
        let check_label = |label: super::LabelId, kind: LabelKind| {
            let bad =
                |why: String| ValidationError::BadLabel { node: h.index(), label: label.0, why };
            if label.0 as usize >= g.labels.len() {
                return Err(bad("no such label".into()));
            }
            let info = g.labels.get(label);
            if info.kind != kind {
                return Err(bad(format!("expected a {kind:?} label, found {:?}", info.kind)));
            }
            Ok(info)
        };
        match &node.kind {
            NodeKind::LayerChoice { label, alternatives } => {
                let info = check_label(*label, LabelKind::Layer)?;
                match &info.domain {
                    Domain::Alternatives { names } if names.len() == alternatives.len() => {}
                    _ => {
                        return Err(ValidationError::Arity {
                            node: h.index(),
                            why: "alternatives differ from the domain".into(),
                        })
                    }
                }
            }
            NodeKind::InputChoice { label, candidates, k, .. } => {
                let info = check_label(*label, LabelKind::Input)?;
                match &info.domain {
                    Domain::Inputs { n, k: dk } if *n == candidates.len() && dk == k && k <= n => {}
                    _ => {
                        return Err(ValidationError::Arity {
                            node: h.index(),
                            why: "candidates differ from the domain".into(),
                        })
                    }
                }
            }
            NodeKind::Repeat { label, depths, outputs } => {
                let info = check_label(*label, LabelKind::Depth)?;
                if depths.len() != outputs.len() {
                    return Err(ValidationError::Arity {
                        node: h.index(),
                        why: "one output per depth".into(),
                    });
                }
                match &info.domain {
                    Domain::Values { values } if values.len() == depths.len() => {}
                    _ => {
                        return Err(ValidationError::Arity {
                            node: h.index(),
                            why: "depths differ from the domain".into(),
                        })
                    }
                }
            }
            NodeKind::Input { .. } | NodeKind::Op { .. } | NodeKind::Select { .. } => {}
        }
    }
    if g.output.index() >= g.nodes.len() {
        return Err(ValidationError::Ends);
    }
    for i in &g.inputs {
        if i.index() >= g.nodes.len() || !matches!(g.nodes.get(*i).kind, NodeKind::Input { .. }) {
            return Err(ValidationError::Ends);
        }
    }
    Ok(())
}
