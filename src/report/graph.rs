//! An architecture drawn as the graph of its operators, as the IR knows it after every choice is
//! fixed ([`crate::arch::fix`]): one box per operator (its name, main attributes and output
//! shape; its parameters and FLOPs in the tooltip), one arrow per input, flowing down.
//!
//! Layout: the layered drawing of Sugiyama, Tagawa & Toda ("Methods for visual understanding of
//! hierarchical system structures", IEEE SMC 1981), reduced to its first two steps: each node's
//! layer is its longest path from an input, and the nodes of a layer are ordered by the mean
//! position of their inputs (the barycenter heuristic), one sweep down. Long edges are drawn as
//! curves, without dummy nodes.

use super::svg::escape;
use crate::arch::FixedGraph;
use std::fmt::Write;

const BOX_W: f64 = 200.0;
const BOX_H: f64 = 52.0;
const GAP_X: f64 = 22.0;
const GAP_Y: f64 = 34.0;
const MARGIN: f64 = 16.0;

/// The fill of an operator's box, by family.
fn fill(op: &str) -> &'static str {
    match op {
        "input" => "#e8e8e8",
        o if o.contains("conv") => "#cfe0f3",
        o if o.contains("pool") => "#fde3c8",
        "add" | "mean" | "concat" | "mul" => "#d5ecd4",
        o if o.contains("linear") || o.contains("dense") => "#e6d5ea",
        o if o.contains("norm") || o.contains("relu") || o.contains("act") => "#fbf3cf",
        _ => "#f4f4f4",
    }
}

/// The first attributes of a node as `name=value`, short enough for its box.
fn attrs_text(attrs: &[(String, crate::ir::Const)]) -> String {
    let mut s = String::new();
    for (k, v) in attrs {
        let v = v.to_string();
        let v = v.trim_matches('"');
        let item = format!("{}{k}={v}", if s.is_empty() { "" } else { " " });
        if s.chars().count() + item.chars().count() > 30 {
            if !s.is_empty() {
                s.push_str(" …");
            }
            break;
        }
        s.push_str(&item);
    }
    s
}

/// The shape without the batch dimension, `[16, 14, 14]`.
fn shape_text(shape: &[Option<i64>]) -> String {
    let dims: Vec<String> =
        shape.iter().skip(1).map(|d| d.map_or("?".to_string(), |d| d.to_string())).collect();
    format!("[{}]", dims.join(", "))
}

/// Each node's layer: 0 for a node without inputs, otherwise one more than its deepest input
/// (nodes come in topological order).
pub fn layers(g: &FixedGraph) -> Vec<usize> {
    let mut layer = vec![0usize; g.nodes.len()];
    for (i, n) in g.nodes.iter().enumerate() {
        layer[i] = n.inputs.iter().filter(|&&j| j < i).map(|&j| layer[j] + 1).max().unwrap_or(0);
    }
    layer
}

/// `g` as an `<svg class="arch">` element with the given `id`, titled `title`.
pub fn draw(g: &FixedGraph, id: &str, title: &str) -> String {
    let layer = layers(g);
    let depth = layer.iter().max().map_or(0, |m| m + 1);
    let mut rows: Vec<Vec<usize>> = vec![Vec::new(); depth];
    for (i, &l) in layer.iter().enumerate() {
        rows[l].push(i);
    }
    // Position of each node within its row; one barycenter sweep down.
    let mut slot = vec![0.0f64; g.nodes.len()];
    for row in rows.iter_mut() {
        let key = |i: usize| {
            let ins = &g.nodes[i].inputs;
            if ins.is_empty() {
                i as f64
            } else {
                ins.iter().map(|&j| slot[j]).sum::<f64>() / ins.len() as f64
            }
        };
        let mut keyed: Vec<(f64, usize)> = row.iter().map(|&i| (key(i), i)).collect();
        keyed.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        *row = keyed.into_iter().map(|(_, i)| i).collect();
        let n = row.len() as f64;
        for (k, &i) in row.iter().enumerate() {
            // Centred rows: slots are symmetric around 0.
            slot[i] = k as f64 - (n - 1.0) / 2.0;
        }
    }
    let widest = rows.iter().map(Vec::len).max().unwrap_or(1) as f64;
    // Wide enough for the title too (about 7 units a character at the title's size).
    let width = (MARGIN * 2.0 + widest * BOX_W + (widest - 1.0) * GAP_X)
        .max(MARGIN * 2.0 + 7.5 * title.chars().count() as f64);
    let height = MARGIN * 2.0 + 24.0 + depth as f64 * (BOX_H + GAP_Y) - GAP_Y;
    let cx = |i: usize| width / 2.0 + slot[i] * (BOX_W + GAP_X);
    let top = |i: usize| MARGIN + 24.0 + layer[i] as f64 * (BOX_H + GAP_Y);
    let mut out = String::new();
    let _ = write!(
        out,
        r##"<svg class="chart arch" id="{}" role="img" font-family="system-ui, sans-serif" font-size="12" viewBox="0 0 {width:.0} {height:.0}" width="{width:.0}" height="{height:.0}" xmlns="http://www.w3.org/2000/svg"><title>{t}</title><defs><marker id="{}-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" fill="#666"/></marker></defs><text class="chart-title" x="{MARGIN}" y="{:.0}">{t}</text>"##,
        escape(id),
        escape(id),
        MARGIN + 8.0,
        t = escape(title),
    );
    out.push_str(r#"<g class="edges">"#);
    for (i, n) in g.nodes.iter().enumerate() {
        for &j in &n.inputs {
            let (x1, y1) = (cx(j), top(j) + BOX_H);
            let (x2, y2) = (cx(i), top(i));
            let bend = (y2 - y1) / 2.0;
            let _ = write!(
                out,
                r##"<path d="M{x1:.1},{y1:.1}C{x1:.1},{:.1} {x2:.1},{:.1} {x2:.1},{:.1}" fill="none" stroke="#666" marker-end="url(#{}-arrow)"/>"##,
                y1 + bend,
                y2 - bend,
                y2 - 1.0,
                escape(id)
            );
        }
    }
    out.push_str("</g><g class=\"nodes\">");
    for (i, n) in g.nodes.iter().enumerate() {
        let (x, y) = (cx(i) - BOX_W / 2.0, top(i));
        let name = if i == g.output { format!("{} (output)", n.op) } else { n.op.clone() };
        let attrs = attrs_text(&n.attrs);
        let all_attrs: Vec<String> = n.attrs.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let tip = format!(
            "{name}\n{}\nshape {}\n{} parameters, {} multiply-accumulates per sample",
            all_attrs.join(", "),
            shape_text(&n.shape),
            n.params,
            n.flops
        );
        let _ = write!(
            out,
            r#"<g class="node" data-op="{op}"><title>{tip}</title><rect x="{x:.1}" y="{y:.1}" width="{BOX_W}" height="{BOX_H}" rx="6" fill="{fill}" stroke="{stroke}"/><text x="{:.1}" y="{:.1}" text-anchor="middle" font-weight="600">{name}</text><text class="small" font-size="10" x="{:.1}" y="{:.1}" text-anchor="middle">{attrs}</text><text class="small" font-size="10" x="{:.1}" y="{:.1}" text-anchor="middle">{shape}</text></g>"#,
            x + BOX_W / 2.0,
            y + 16.0,
            x + BOX_W / 2.0,
            y + 31.0,
            x + BOX_W / 2.0,
            y + 45.0,
            op = escape(&n.op),
            tip = escape(&tip),
            fill = fill(&n.op),
            stroke = if i == g.output { "#333" } else { "#999" },
            name = escape(&name),
            attrs = escape(&attrs),
            shape = escape(&shape_text(&n.shape)),
        );
    }
    out.push_str("</g></svg>");
    out
}
