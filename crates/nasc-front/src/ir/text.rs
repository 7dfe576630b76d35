//! The readable text form of the IR (`nasc check FILE --emit ir`).

use super::{Graph, NodeKind, RegionKind};
use std::fmt::Write;

/// Writes `graph` as text: its labels, then one line per node, indented by region, with the
/// node's shape.
pub fn to_text(graph: &Graph) -> String {
    let names = |l| graph.label_name(l);
    let mut out = String::new();
    let _ = writeln!(out, "network {}", graph.name);
    for c in &graph.constraints {
        let _ = writeln!(out, "  where {:?} {} {}", c.measure, c.op.symbol(), c.bound);
    }
    let _ = writeln!(out, "labels:");
    for l in &graph.labels.labels {
        let _ = writeln!(out, "  {} : {:?} {}", l.name, l.kind, l.domain.describe());
    }
    let _ = writeln!(out, "nodes:");
    for (h, node) in graph.nodes.iter() {
        let mut depth = 0;
        let mut r = Some(node.region);
        let mut place = String::new();
        while let Some(rid) = r {
            let region = graph.regions.get(rid);
            match region.kind {
                RegionKind::Root => {}
                RegionKind::Alternative { label, index } => {
                    depth += 1;
                    if place.is_empty() {
                        let alt = match &graph.labels.get(label).domain {
                            super::Domain::Alternatives { names } => {
                                names.get(index).cloned().unwrap_or_default()
                            }
                            _ => index.to_string(),
                        };
                        place = format!("  ; when {} = {}", graph.label_name(label), alt);
                    }
                }
                RegionKind::Branch { ref cond, taken } => {
                    depth += 1;
                    if place.is_empty() {
                        place = format!("  ; when ({}) is {taken}", cond.display(&names));
                    }
                }
                RegionKind::Repetition { label, index } => {
                    depth += 1;
                    if place.is_empty() {
                        place = format!("  ; when {} > {}", graph.label_name(label), index);
                    }
                }
            }
            r = region.parent;
        }
        let indent = "  ".repeat(depth + 1);
        let body = match &node.kind {
            NodeKind::Input { index, name } => format!("input {index} `{name}`"),
            NodeKind::Op { op, inputs, attrs, .. } => {
                let mut args: Vec<String> = inputs.iter().map(|i| format!("{i:?}")).collect();
                args.extend(attrs.iter().map(|(k, v)| format!("{k}: {}", v.display(&names))));
                format!("{op}({})", args.join(", "))
            }
            NodeKind::LayerChoice { label, alternatives } => {
                format!(
                    "choice {} [{}]",
                    graph.label_name(*label),
                    alternatives.iter().map(|a| format!("{a:?}")).collect::<Vec<_>>().join(", ")
                )
            }
            NodeKind::InputChoice { label, candidates, k, reduce } => format!(
                "pick {} {k} of [{}] reduce {:?}",
                graph.label_name(*label),
                candidates.iter().map(|a| format!("{a:?}")).collect::<Vec<_>>().join(", "),
                reduce
            ),
            NodeKind::Select { cond, then, otherwise } => {
                format!("if {} then {then:?} else {otherwise:?}", cond.display(&names))
            }
            NodeKind::Repeat { label, depths, outputs } => {
                format!(
                    "repeat {} {:?} -> [{}]",
                    graph.label_name(*label),
                    depths,
                    outputs.iter().map(|a| format!("{a:?}")).collect::<Vec<_>>().join(", ")
                )
            }
        };
        let _ = writeln!(out, "{indent}{h:?} = {body} : {}{place}", graph.shape_text(&node.shape));
    }
    let _ = writeln!(out, "output {:?}", graph.output);
    out
}
