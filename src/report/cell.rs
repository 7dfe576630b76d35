//! Cells drawn in the style of the DARTS paper's figures (Liu, Simonyan & Yang, ICLR 2019,
//! figures 4 and 5): the cell's states as circles, left to right, each chosen edge an arrow
//! labelled with its operation.
//!
//! Cells are recognised from an architecture's labels, as the standard library's cells name
//! them (`stdlib/cells.nas`):
//!
//! - a DARTS cell (`darts_cell ... label "normal"`): `P/node[i]` lists the two states
//!   intermediate node `i` reads (0 and 1 are the cell's inputs `c_{k-2}` and `c_{k-1}`, `2 + k`
//!   is node `k`), `P/edge[i][j]/op` is the operation on the edge from state `j`; the output
//!   `c_{k}` concatenates every intermediate node;
//! - a NAS-Bench-201 cell (`nb201_cell`): `P/edge[i][j]` is the operation on the edge from node
//!   `j` to node `i`; node 0 is the input, the last node the output.
//!
//! A cell written otherwise (ENAS's, say) is not recognised and is drawn only as operators.

use super::svg::escape;
use std::collections::BTreeMap;
use std::fmt::Write;

/// Which convention a cell follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CellKind {
    /// `P/node[i]` and `P/edge[i][j]/op` (DARTS).
    Darts,
    /// `P/edge[i][j]` (NAS-Bench-201).
    Nb201,
}

/// One cell of an architecture: its states and its chosen edges.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    /// The cell's label (`normal`, `reduce`, `cell`).
    pub prefix: String,
    /// Its convention.
    pub kind: CellKind,
    /// The states' names, in order (`c_{k-2}`, `c_{k-1}`, `0`, ... for DARTS).
    pub states: Vec<String>,
    /// The edges `(from, to, operation)`, by state index, in the order of the nodes.
    pub edges: Vec<(usize, usize, String)>,
}

/// `edge[i][j]` -> `(i, j)`.
fn two_indices(s: &str) -> Option<(usize, usize)> {
    let s = s.strip_prefix("edge[")?;
    let (i, rest) = s.split_once("][")?;
    let j = rest.strip_suffix(']')?;
    Some((i.parse().ok()?, j.parse().ok()?))
}

/// The cells of an architecture (NNI's flat JSON), in the order of their labels.
pub fn cells(arch: &serde_json::Map<String, serde_json::Value>) -> Vec<Cell> {
    let text = |v: &serde_json::Value| v.as_str().map_or_else(|| v.to_string(), str::to_string);
    // DARTS: prefix -> node i -> the states it reads; prefix -> (i, j) -> op.
    let mut nodes: BTreeMap<String, BTreeMap<usize, Vec<usize>>> = BTreeMap::new();
    let mut darts_ops: BTreeMap<String, BTreeMap<(usize, usize), String>> = BTreeMap::new();
    let mut nb201_ops: BTreeMap<String, BTreeMap<(usize, usize), String>> = BTreeMap::new();
    for (key, value) in arch {
        let Some((prefix, last)) = key.rsplit_once('/') else { continue };
        if let Some(i) = last.strip_prefix("node[").and_then(|r| r.strip_suffix(']')) {
            let states: Option<Vec<usize>> = value
                .as_array()
                .map(|a| a.iter().filter_map(|x| x.as_u64().map(|x| x as usize)).collect());
            if let (Ok(i), Some(states)) = (i.parse::<usize>(), states) {
                nodes.entry(prefix.to_string()).or_default().insert(i, states);
            }
        } else if last == "op" {
            if let Some((p, edge)) = prefix.rsplit_once('/') {
                if let Some(ij) = two_indices(edge) {
                    darts_ops.entry(p.to_string()).or_default().insert(ij, text(value));
                }
            }
        } else if let Some(ij) = two_indices(last) {
            nb201_ops.entry(prefix.to_string()).or_default().insert(ij, text(value));
        }
    }
    let mut out = Vec::new();
    for (prefix, nodes) in nodes {
        let Some(ops) = darts_ops.get(&prefix) else { continue };
        let steps = nodes.keys().max().map_or(0, |m| m + 1);
        let mut states = vec!["c_{k-2}".to_string(), "c_{k-1}".to_string()];
        states.extend((0..steps).map(|i| i.to_string()));
        states.push("c_{k}".to_string());
        let mut edges = Vec::new();
        for (i, from) in &nodes {
            for &j in from {
                let op = ops.get(&(*i, j)).cloned().unwrap_or_else(|| "?".into());
                edges.push((j, 2 + i, op));
            }
        }
        let output = states.len() - 1;
        edges.extend((0..steps).map(|i| (2 + i, output, String::new())));
        out.push(Cell { prefix, kind: CellKind::Darts, states, edges });
    }
    for (prefix, ops) in nb201_ops {
        let count = ops.keys().map(|(i, j)| (*i).max(*j)).max().map_or(0, |m| m + 1);
        let states = (0..count)
            .map(|i| match i {
                0 => "in".to_string(),
                i if i == count - 1 => "out".to_string(),
                i => i.to_string(),
            })
            .collect();
        let edges = ops.into_iter().map(|((i, j), op)| (j, i, op)).collect();
        out.push(Cell { prefix, kind: CellKind::Nb201, states, edges });
    }
    out
}

/// The colour of an operation's arrow (none: light grey, dashed elsewhere).
fn op_color(op: &str) -> &'static str {
    match op {
        "" => "#999999",
        "none" => "#c8c8c8",
        o if o.contains("skip") => "#59a14f",
        o if o.contains("pool") => "#f28e2b",
        o if o.starts_with("sep") => "#4e79a7",
        o if o.starts_with("dil") => "#b07aa1",
        o if o.contains("conv") => "#e15759",
        _ => "#555555",
    }
}

/// `cell` as an `<svg class="chart cell">` with the given `id`: states left to right (a DARTS
/// cell's two inputs stacked at the left, its output at the right), edges as arrows labelled
/// with their operations.
pub fn draw(cell: &Cell, id: &str, title: &str) -> String {
    let n = cell.states.len();
    let (col_w, row_h, r) = (150.0, 70.0, 22.0);
    // Positions: (column, row).
    let pos: Vec<(f64, f64)> = (0..n)
        .map(|s| match cell.kind {
            CellKind::Darts if s < 2 => (0.0, if s == 0 { 0.0 } else { 2.0 }),
            CellKind::Darts if s == n - 1 => ((n - 2) as f64, 1.0),
            CellKind::Darts => ((s - 1) as f64, if s % 2 == 0 { 0.5 } else { 1.5 }),
            CellKind::Nb201 => (s as f64, 1.0),
        })
        .collect();
    let cols = pos.iter().map(|p| p.0).fold(0.0, f64::max) + 1.0;
    let (width, height) = (60.0 + cols * col_w, 90.0 + 2.0 * row_h + r);
    let xy = |s: usize| (50.0 + pos[s].0 * col_w, 60.0 + pos[s].1 * row_h);
    let mut out = String::new();
    let _ = write!(
        out,
        r##"<svg class="chart cell" id="{}" role="img" font-family="system-ui, sans-serif" font-size="12" viewBox="0 0 {width:.0} {height:.0}" width="{width:.0}" height="{height:.0}" xmlns="http://www.w3.org/2000/svg"><title>{t}</title><defs><marker id="{}-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" fill="#555"/></marker></defs><text class="chart-title" x="16" y="22">{t}</text>"##,
        escape(id),
        escape(id),
        t = escape(title),
    );
    for (k, (from, to, op)) in cell.edges.iter().enumerate() {
        let ((x1, y1), (x2, y2)) = (xy(*from), xy(*to));
        let (dx, dy) = (x2 - x1, y2 - y1);
        let len = (dx * dx + dy * dy).sqrt().max(1.0);
        let (ux, uy) = (dx / len, dy / len);
        // From circle to circle; edges that skip states bend (alternately up and down) so that
        // they do not run through the states between.
        let (sx, sy, ex, ey) = (x1 + ux * r, y1 + uy * r, x2 - ux * r, y2 - uy * r);
        let span = (pos[*to].0 - pos[*from].0).abs();
        let bend = match (span > 1.0, (y2 - y1).abs() < 1.0) {
            (true, true) => 60.0,
            (true, false) => 28.0,
            _ => 0.0,
        } * if k % 2 == 0 { -1.0 } else { 1.0 };
        let (mx, my) = ((sx + ex) / 2.0 - uy * bend, (sy + ey) / 2.0 + ux * bend);
        let dash = if op == "none" { r#" stroke-dasharray="4 3""# } else { "" };
        let _ = write!(
            out,
            r#"<g class="edge"><title>{}</title><path d="M{sx:.1},{sy:.1}Q{mx:.1},{my:.1} {ex:.1},{ey:.1}" fill="none" stroke="{c}" stroke-width="2"{dash} marker-end="url(#{}-arrow)"/>"#,
            escape(&format!(
                "{} -> {}: {}",
                cell.states[*from],
                cell.states[*to],
                if op.is_empty() { "concat" } else { op }
            )),
            escape(id),
            c = op_color(op),
        );
        if !op.is_empty() {
            // The label at the curve's middle, on a white halo.
            let (lx, ly) = (0.25 * sx + 0.5 * mx + 0.25 * ex, 0.25 * sy + 0.5 * my + 0.25 * ey);
            let _ = write!(
                out,
                r##"<text x="{lx:.1}" y="{:.1}" text-anchor="middle" font-size="11" fill="{}" stroke="#fff" stroke-width="3" paint-order="stroke">{}</text>"##,
                ly - 3.0,
                op_color(op),
                escape(op)
            );
        }
        out.push_str("</g>");
    }
    for (s, name) in cell.states.iter().enumerate() {
        let (x, y) = xy(s);
        let fill = match cell.kind {
            CellKind::Darts if s < 2 => "#b7e1a1",
            CellKind::Darts if s == n - 1 => "#f6e08a",
            CellKind::Nb201 if s == 0 => "#b7e1a1",
            CellKind::Nb201 if s == n - 1 => "#f6e08a",
            _ => "#a9c7ea",
        };
        let _ = write!(
            out,
            r##"<g class="state"><circle cx="{x:.1}" cy="{y:.1}" r="{r}" fill="{fill}" stroke="#555"/><text x="{x:.1}" y="{:.1}" text-anchor="middle" font-weight="600" font-size="{}">{}</text></g>"##,
            y + 4.0,
            if name.chars().count() > 3 { 10 } else { 12 },
            escape(name)
        );
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The paper's DARTS (second order) cells, from examples/archs/darts_v2.json: the edges are
    /// the published DARTS_V2 genotype (`genotypes.py`).
    #[test]
    fn the_darts_v2_genotype_reads_back_from_its_labels() {
        let text = include_str!("../../examples/archs/darts_v2.json");
        let arch: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(text).expect("JSON");
        let found = cells(&arch);
        let prefixes: Vec<&str> = found.iter().map(|c| c.prefix.as_str()).collect();
        assert_eq!(prefixes, ["normal", "reduce"]);
        let genotype = |c: &Cell| -> Vec<(String, usize)> {
            c.edges.iter().filter(|e| !e.2.is_empty()).map(|(j, _, op)| (op.clone(), *j)).collect()
        };
        let want = |g: &[(&str, usize)]| -> Vec<(String, usize)> {
            g.iter().map(|(o, j)| (o.to_string(), *j)).collect()
        };
        // DARTS_V2.normal and DARTS_V2.reduce, each node's two edges by state (the genotype
        // lists node 2's normal edges and node 3's reduction edges the other way round).
        assert_eq!(
            genotype(&found[0]),
            want(&[
                ("sep_conv_3x3", 0),
                ("sep_conv_3x3", 1),
                ("sep_conv_3x3", 0),
                ("sep_conv_3x3", 1),
                ("skip_connect", 0),
                ("sep_conv_3x3", 1),
                ("skip_connect", 0),
                ("dil_conv_3x3", 2),
            ])
        );
        assert_eq!(
            genotype(&found[1]),
            want(&[
                ("max_pool_3x3", 0),
                ("max_pool_3x3", 1),
                ("max_pool_3x3", 1),
                ("skip_connect", 2),
                ("max_pool_3x3", 0),
                ("skip_connect", 2),
                ("max_pool_3x3", 1),
                ("skip_connect", 2),
            ])
        );
        let c = &found[0];
        assert_eq!(c.states.len(), 7);
        // Every intermediate node feeds the output.
        assert_eq!(c.edges.iter().filter(|e| e.1 == 6).count(), 4);
        let svg = draw(c, "cell", "normal cell");
        assert_eq!(svg.matches(r#"<g class="state""#).count(), 7);
        assert_eq!(svg.matches(r#"<g class="edge""#).count(), 12);
        assert!(svg.contains(">dil_conv_3x3</text>"));
    }

    #[test]
    fn a_nas_bench_201_cell_reads_back_and_other_labels_are_not_cells() {
        let arch: serde_json::Map<String, serde_json::Value> = serde_json::from_str(
            r#"{"cell/edge[1][0]": "nor_conv_3x3", "cell/edge[2][0]": "none",
                "cell/edge[2][1]": "skip_connect", "cell/edge[3][0]": "avg_pool_3x3",
                "cell/edge[3][1]": "nor_conv_1x1", "cell/edge[3][2]": "nor_conv_3x3",
                "width": 16, "block/op": "conv"}"#,
        )
        .expect("JSON");
        let found = cells(&arch);
        assert_eq!(found.len(), 1);
        let c = &found[0];
        assert_eq!((c.prefix.as_str(), c.kind), ("cell", CellKind::Nb201));
        assert_eq!(c.states, ["in", "1", "2", "out"]);
        assert_eq!(c.edges.len(), 6);
        assert!(c.edges.contains(&(1, 3, "nor_conv_1x1".to_string())));
        assert!(draw(c, "c", "cell").contains(r#"stroke-dasharray="4 3""#), "none is dashed");
    }
}
