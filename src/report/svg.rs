//! Charts as inline SVG text: scatter and line charts with axes, horizontal bars, heat maps and
//! parallel coordinates. Every chart is an `<svg class="chart">` element with a `<title>`, and
//! every point carries its own `<title>` (the browser shows it as a tooltip), so the page needs
//! no script to be read.
//!
//! Hand-written rather than drawn with a charting crate: plotters (the best kept Rust one)
//! measures every label with a font backend (`ttf`, which loads system fonts through font-kit,
//! or `ab_glyph`, which needs a font file embedded), and draws points without per-point titles
//! or classes for the page to style; the SVG here lets the browser lay the text out with its own
//! fonts, is a few hundred lines, and adds no dependency. Axis ticks follow Heckbert's "nice
//! numbers" (Graphics Gems, 1990).

use std::fmt::Write;

/// Width of a chart, in SVG user units (pixels at 100 %).
pub const WIDTH: f64 = 720.0;
/// Height of a chart.
pub const HEIGHT: f64 = 340.0;
const LEFT: f64 = 78.0;
const RIGHT: f64 = 24.0;
const TOP: f64 = 44.0;
const BOTTOM: f64 = 48.0;

/// Ten distinguishable colours (Tableau 10), for series.
pub const PALETTE: [&str; 10] = [
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
    "#9c755f", "#bab0ac",
];

/// Escapes text for HTML and SVG (element content and quoted attributes).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A number for an axis or a tooltip: integers as they are (with `k`, `M`, `G` above 10,000),
/// others with four significant digits.
pub fn number(x: f64) -> String {
    if !x.is_finite() {
        return "-".into();
    }
    let a = x.abs();
    for (above, scale, suffix) in [(1e9, 1e9, "G"), (1e6, 1e6, "M"), (1e4, 1e3, "k")] {
        if a >= above {
            return format!("{}{suffix}", trim(x / scale, 3));
        }
    }
    if x == x.round() {
        return format!("{x:.0}");
    }
    trim(x, 4)
}

/// `x` with `digits` significant digits, without trailing zeros.
fn trim(x: f64, digits: i32) -> String {
    if x == 0.0 {
        return "0".into();
    }
    let decimals = (digits - 1 - x.abs().log10().floor() as i32).clamp(0, 12) as usize;
    let s = format!("{x:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// Heckbert's nice number near `x`: 1, 2, 5 or 10 times a power of ten (rounded, or the next
/// one up when `round` is false).
fn nice(x: f64, round: bool) -> f64 {
    let exp = x.log10().floor();
    let f = x / 10f64.powf(exp);
    let n = if round {
        match f {
            f if f < 1.5 => 1.0,
            f if f < 3.0 => 2.0,
            f if f < 7.0 => 5.0,
            _ => 10.0,
        }
    } else {
        match f {
            f if f <= 1.0 => 1.0,
            f if f <= 2.0 => 2.0,
            f if f <= 5.0 => 5.0,
            _ => 10.0,
        }
    };
    n * 10f64.powf(exp)
}

/// About `count` evenly spaced round values covering `[min, max]`: the axis range (from the
/// first tick to the last) and the ticks (Heckbert's loose labelling).
pub fn ticks(min: f64, max: f64, count: usize) -> (f64, f64, Vec<f64>) {
    let (min, max) = if min.is_finite() && max.is_finite() { (min, max) } else { (0.0, 1.0) };
    let (min, max) = if max - min < 1e-12 * (1.0 + min.abs()) {
        let pad = if min == 0.0 { 1.0 } else { min.abs() * 0.05 };
        (min - pad, max + pad)
    } else {
        (min, max)
    };
    let range = nice(max - min, false);
    let step = nice(range / (count.max(2) - 1) as f64, true);
    let lo = (min / step).floor() * step;
    let hi = (max / step).ceil() * step;
    let n = ((hi - lo) / step).round() as usize;
    let ticks = (0..=n).map(|i| lo + i as f64 * step).collect();
    (lo, hi, ticks)
}

/// The colour of `t` in `[0, 1]` on the viridis colour map (van der Walt & Smith, 2015),
/// interpolated between nine of its stops: dark purple for 0, yellow for 1.
pub fn viridis(t: f64) -> String {
    const STOPS: [(u8, u8, u8); 9] = [
        (68, 1, 84),
        (71, 44, 122),
        (59, 81, 139),
        (44, 113, 142),
        (33, 144, 141),
        (39, 173, 129),
        (92, 200, 99),
        (170, 220, 50),
        (253, 231, 37),
    ];
    let t = if t.is_finite() { t.clamp(0.0, 1.0) } else { 0.0 };
    let x = t * (STOPS.len() - 1) as f64;
    let i = (x.floor() as usize).min(STOPS.len() - 2);
    let f = x - i as f64;
    let (a, b) = (STOPS[i], STOPS[i + 1]);
    let mix = |p: u8, q: u8| (p as f64 + f * (q as f64 - p as f64)).round() as u8;
    format!("#{:02x}{:02x}{:02x}", mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// How a series is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// Dots.
    Points,
    /// A polyline through the points.
    Line,
    /// A staircase (the value holds until the next point): best-so-far, Pareto fronts.
    Step,
}

/// One series of an [`XyChart`].
#[derive(Debug, Clone)]
pub struct Series {
    /// Its name in the legend (no legend entry when empty).
    pub name: String,
    /// Its colour.
    pub color: String,
    /// How it is drawn.
    pub style: Style,
    /// The points, `(x, y)`; non-finite ones are left out.
    pub points: Vec<(f64, f64)>,
    /// A tooltip per point (for [`Style::Points`]); none when empty.
    pub titles: Vec<String>,
    /// Per-point colours (for [`Style::Points`]), overriding `color`; none when empty.
    pub colors: Vec<String>,
}

impl Series {
    /// A series of `style` with no tooltips.
    pub fn new(
        name: impl Into<String>,
        color: &str,
        style: Style,
        points: Vec<(f64, f64)>,
    ) -> Self {
        Series {
            name: name.into(),
            color: color.into(),
            style,
            points,
            titles: Vec::new(),
            colors: Vec::new(),
        }
    }

    /// The same series with a tooltip per point.
    pub fn titled(mut self, titles: Vec<String>) -> Self {
        self.titles = titles;
        self
    }
}

/// A chart of numeric `x` against numeric `y`.
#[derive(Debug, Clone)]
pub struct XyChart<'a> {
    /// The `id` of the `<svg>` element.
    pub id: &'a str,
    /// Its title, shown above it.
    pub title: &'a str,
    /// The horizontal axis' name.
    pub x_label: &'a str,
    /// The vertical axis' name.
    pub y_label: &'a str,
    /// A logarithmic horizontal axis (for costs spanning decades); non-positive x are left out.
    pub x_log: bool,
    /// The series, drawn in order.
    pub series: Vec<Series>,
}

/// The opening of a chart's `<svg>`, with its title.
fn open(out: &mut String, id: &str, title: &str, height: f64) {
    open_wide(out, id, title, WIDTH, height);
}

/// [`open`] with another width.
fn open_wide(out: &mut String, id: &str, title: &str, width: f64, height: f64) {
    let _ = write!(
        out,
        r#"<svg class="chart" id="{id}" role="img" viewBox="0 0 {width} {height}" width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg"><title>{t}</title><text class="chart-title" x="{x}" y="20">{t}</text>"#,
        id = escape(id),
        t = escape(title),
        x = LEFT,
    );
}

/// A message in place of a chart that has nothing to show yet.
pub fn empty(id: &str, title: &str, message: &str) -> String {
    let mut out = String::new();
    open(&mut out, id, title, 90.0);
    let _ =
        write!(out, r#"<text class="empty" x="{LEFT}" y="56">{}</text></svg>"#, escape(message));
    out
}

impl XyChart<'_> {
    /// The chart as an `<svg>` element.
    pub fn render(&self) -> String {
        let keep =
            |&(x, y): &(f64, f64)| x.is_finite() && y.is_finite() && (!self.x_log || x > 0.0);
        let tx = |x: f64| if self.x_log { x.log10() } else { x };
        let all: Vec<(f64, f64)> =
            self.series.iter().flat_map(|s| s.points.iter().copied()).filter(keep).collect();
        if all.is_empty() {
            return empty(self.id, self.title, "nothing to show yet");
        }
        let (x0, x1) = all
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| (a.min(tx(p.0)), b.max(tx(p.0))));
        let (y0, y1) = all
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| (a.min(p.1), b.max(p.1)));
        let (xlo, xhi, xticks) = if self.x_log {
            let (lo, hi) =
                (x0.floor(), if x1.ceil() > x0.floor() { x1.ceil() } else { x0.floor() + 1.0 });
            (lo, hi, (lo as i32..=hi as i32).map(f64::from).collect())
        } else if all.iter().all(|p| p.0 == p.0.round()) && x1 - x0 <= 12.0 {
            // Whole numbers (trials, epochs) over a short range: one tick each.
            let (lo, hi) = (x0, if x1 > x0 { x1 } else { x0 + 1.0 });
            (lo, hi, (lo as i64..=hi as i64).map(|v| v as f64).collect())
        } else {
            ticks(x0, x1, 7)
        };
        let (ylo, yhi, yticks) = ticks(y0, y1, 6);
        let (w, h) = (WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM);
        let px = |x: f64| LEFT + (tx(x) - xlo) / (xhi - xlo) * w;
        let py = |y: f64| TOP + h - (y - ylo) / (yhi - ylo) * h;
        let mut out = String::new();
        open(&mut out, self.id, self.title, HEIGHT);
        // Axes and grid.
        out.push_str(r#"<g class="axis">"#);
        for t in &yticks {
            let y = py(*t);
            let _ = write!(
                out,
                r#"<line class="grid" x1="{LEFT}" x2="{:.1}" y1="{y:.1}" y2="{y:.1}"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
                LEFT + w,
                LEFT - 6.0,
                y + 4.0,
                number(*t)
            );
        }
        for t in &xticks {
            let x = LEFT + (t - xlo) / (xhi - xlo) * w;
            let label = if self.x_log { number(10f64.powf(*t)) } else { number(*t) };
            let _ = write!(
                out,
                r#"<line class="grid" x1="{x:.1}" x2="{x:.1}" y1="{TOP}" y2="{:.1}"/><text x="{x:.1}" y="{:.1}" text-anchor="middle">{label}</text>"#,
                TOP + h,
                TOP + h + 16.0,
            );
        }
        let _ = write!(
            out,
            r#"<rect class="frame" x="{LEFT}" y="{TOP}" width="{w}" height="{h}"/><text class="axis-label" x="{:.1}" y="{:.1}" text-anchor="middle">{}</text><text class="axis-label" transform="translate(16 {:.1}) rotate(-90)" text-anchor="middle">{}</text></g>"#,
            LEFT + w / 2.0,
            HEIGHT - 8.0,
            escape(self.x_label),
            TOP + h / 2.0,
            escape(self.y_label)
        );
        // Series.
        for s in &self.series {
            let pts: Vec<(usize, (f64, f64))> =
                s.points.iter().copied().enumerate().filter(|(_, p)| keep(p)).collect();
            match s.style {
                Style::Points => {
                    // Smaller, see-through dots when there are many.
                    let (r, opacity) = if pts.len() > 300 { (2.5, 0.6) } else { (3.5, 1.0) };
                    let _ = write!(
                        out,
                        r#"<g class="points" fill="{}" fill-opacity="{opacity}">"#,
                        escape(&s.color)
                    );
                    for (i, (x, y)) in pts {
                        let fill = s
                            .colors
                            .get(i)
                            .map_or(String::new(), |c| format!(r#" fill="{}""#, escape(c)));
                        let _ = write!(
                            out,
                            r#"<circle cx="{:.1}" cy="{:.1}" r="{r}"{fill}>"#,
                            px(x),
                            py(y)
                        );
                        if let Some(t) = s.titles.get(i) {
                            let _ = write!(out, "<title>{}</title>", escape(t));
                        }
                        out.push_str("</circle>");
                    }
                    out.push_str("</g>");
                }
                Style::Line | Style::Step => {
                    let mut d = String::new();
                    let mut last: Option<f64> = None;
                    for (_, (x, y)) in pts {
                        let (x, y) = (px(x), py(y));
                        match last {
                            None => {
                                let _ = write!(d, "M{x:.1},{y:.1}");
                            }
                            Some(ly) if s.style == Style::Step => {
                                let _ = write!(d, "L{x:.1},{ly:.1}L{x:.1},{y:.1}");
                            }
                            Some(_) => {
                                let _ = write!(d, "L{x:.1},{y:.1}");
                            }
                        }
                        last = Some(y);
                    }
                    let _ = write!(
                        out,
                        r#"<path class="line" fill="none" stroke="{}" d="{d}"><title>{}</title></path>"#,
                        escape(&s.color),
                        escape(&s.name)
                    );
                }
            }
        }
        legend(&mut out, self.series.iter().map(|s| (s.name.as_str(), s.color.as_str())));
        out.push_str("</svg>");
        out
    }
}

/// The legend, in a row below the title (at most ten entries; none for unnamed series).
fn legend<'a>(out: &mut String, entries: impl Iterator<Item = (&'a str, &'a str)>) {
    let mut x = LEFT;
    for (name, color) in entries.filter(|(n, _)| !n.is_empty()).take(10) {
        let _ = write!(
            out,
            r#"<g class="legend"><rect x="{x:.1}" y="28" width="10" height="10" fill="{}"/><text x="{:.1}" y="37">{}</text></g>"#,
            escape(color),
            x + 14.0,
            escape(name)
        );
        x += 24.0 + 7.0 * name.chars().count() as f64;
    }
}

/// Horizontal bars, one per `(name, value, tooltip)`, values in `[0, 1]` (a fraction); a
/// `None` value is shown as "n/a".
pub fn bars(id: &str, title: &str, rows: &[(String, Option<f64>, String)]) -> String {
    if rows.is_empty() {
        return empty(id, title, "nothing to show yet");
    }
    let row_h = 26.0;
    let height = TOP + rows.len() as f64 * row_h + 30.0;
    let left = 170.0;
    let w = WIDTH - left - 80.0;
    let mut out = String::new();
    open(&mut out, id, title, height);
    for (i, (name, value, tip)) in rows.iter().enumerate() {
        let y = TOP + i as f64 * row_h;
        let _ = write!(
            out,
            r#"<g class="bar"><title>{}</title><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
            escape(tip),
            left - 8.0,
            y + 16.0,
            escape(name)
        );
        match value {
            Some(v) => {
                let _ = write!(
                    out,
                    r#"<rect x="{left}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{}"/><text x="{:.1}" y="{:.1}">{:.3}</text></g>"#,
                    y + 3.0,
                    (v.clamp(0.0, 1.0) * w).max(1.0),
                    row_h - 8.0,
                    PALETTE[0],
                    left + v.clamp(0.0, 1.0) * w + 6.0,
                    y + 16.0,
                    v
                );
            }
            None => {
                let _ = write!(
                    out,
                    r#"<text class="empty" x="{left}" y="{:.1}">n/a</text></g>"#,
                    y + 16.0
                );
            }
        }
    }
    let axis_y = TOP + rows.len() as f64 * row_h + 4.0;
    for t in [0.0, 0.25, 0.5, 0.75, 1.0] {
        let x = left + t * w;
        let _ = write!(
            out,
            r#"<text class="axis" x="{x:.1}" y="{:.1}" text-anchor="middle">{t}</text>"#,
            axis_y + 14.0
        );
    }
    out.push_str("</svg>");
    out
}

/// A heat map: one row per `rows` name, one column per `columns` name, `values[r][c]` in
/// `[0, 1]` coloured on [`viridis`], each cell with its value as tooltip.
pub fn heatmap(
    id: &str,
    title: &str,
    x_label: &str,
    rows: &[String],
    columns: &[String],
    values: &[Vec<f64>],
) -> String {
    if rows.is_empty() || columns.is_empty() {
        return empty(id, title, "nothing to show yet");
    }
    let left = 150.0;
    let row_h = 22.0;
    let w = WIDTH - left - RIGHT;
    let cell_w = w / columns.len() as f64;
    let height = TOP + rows.len() as f64 * row_h + 40.0;
    let mut out = String::new();
    open(&mut out, id, title, height);
    for (r, name) in rows.iter().enumerate() {
        let y = TOP + r as f64 * row_h;
        let _ = write!(
            out,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
            left - 6.0,
            y + 15.0,
            escape(name)
        );
        for (c, col) in columns.iter().enumerate() {
            let v = values.get(r).and_then(|row| row.get(c)).copied().unwrap_or(f64::NAN);
            let _ = write!(
                out,
                r#"<rect class="cell" x="{:.2}" y="{y:.1}" width="{:.2}" height="{:.1}" fill="{}"><title>{}, {}: {}</title></rect>"#,
                left + c as f64 * cell_w,
                cell_w + 0.3,
                row_h - 1.0,
                if v.is_finite() { viridis(v) } else { "#eeeeee".into() },
                escape(name),
                escape(col),
                if v.is_finite() { format!("{v:.4}") } else { "-".into() }
            );
        }
    }
    // Column labels: at most about twelve.
    let every = columns.len().div_ceil(12).max(1);
    let base = TOP + rows.len() as f64 * row_h + 14.0;
    for (c, col) in columns.iter().enumerate().filter(|(c, _)| c % every == 0) {
        let _ = write!(
            out,
            r#"<text class="axis" x="{:.1}" y="{base:.1}" text-anchor="middle">{}</text>"#,
            left + (c as f64 + 0.5) * cell_w,
            escape(col)
        );
    }
    let _ = write!(
        out,
        r#"<text class="axis-label" x="{:.1}" y="{:.1}" text-anchor="middle">{}</text></svg>"#,
        left + w / 2.0,
        base + 18.0,
        escape(x_label)
    );
    out
}

/// One axis of a parallel-coordinates chart.
#[derive(Debug, Clone)]
pub enum ParAxis {
    /// A label: its values, evenly spaced, in this order.
    Categories {
        /// The axis' name.
        name: String,
        /// Its values, bottom to top.
        values: Vec<String>,
    },
    /// A number (the metric), from its minimum to its maximum.
    Number {
        /// The axis' name.
        name: String,
    },
}

/// Parallel coordinates: one vertical axis per `axes`, one polyline per line of `lines`, each a
/// position per axis (an index into its values for [`ParAxis::Categories`], the value for
/// [`ParAxis::Number`]), coloured by `colors` (one per line) with a tooltip each.
pub fn parallel(
    id: &str,
    title: &str,
    axes: &[ParAxis],
    lines: &[(Vec<f64>, String, String)],
) -> String {
    if axes.len() < 2 || lines.is_empty() {
        return empty(id, title, "nothing to show yet");
    }
    // Each axis' name on lines split at `/` (`depth[0]`, `SearchedBlock`, `operation`), with
    // 120 units between axes at least.
    let name_of = |a: &ParAxis| match a {
        ParAxis::Categories { name, .. } | ParAxis::Number { name } => name.clone(),
    };
    let lines_of = |a: &ParAxis| name_of(a).split('/').count();
    let name_lines = axes.iter().map(lines_of).max().unwrap_or(1) as f64;
    let width = WIDTH.max(LEFT + 60.0 + 120.0 * (axes.len() - 1) as f64);
    let bottom = 18.0 + 14.0 * name_lines;
    let height = HEIGHT - BOTTOM + bottom;
    let (w, h) = (width - LEFT - 60.0, height - TOP - bottom);
    let ax_x = |i: usize| LEFT + i as f64 * w / (axes.len() - 1) as f64;
    // The scale of each axis: position -> [0, 1].
    let scales: Vec<(f64, f64)> = axes
        .iter()
        .enumerate()
        .map(|(i, a)| match a {
            ParAxis::Categories { values, .. } => (-0.5, values.len() as f64 - 0.5),
            ParAxis::Number { .. } => {
                let (lo, hi) = lines
                    .iter()
                    .filter_map(|l| l.0.get(i).copied().filter(|v| v.is_finite()))
                    .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
                let (lo, hi, _) = ticks(lo, hi, 5);
                (lo, hi)
            }
        })
        .collect();
    let py = |i: usize, v: f64| {
        let (lo, hi) = scales[i];
        TOP + h - (v - lo) / (hi - lo) * h
    };
    let mut out = String::new();
    open_wide(&mut out, id, title, width, height);
    out.push_str(r#"<g class="lines">"#);
    for (pos, color, tip) in lines {
        let mut d = String::new();
        for (i, v) in pos.iter().enumerate().take(axes.len()) {
            if v.is_finite() {
                let _ = write!(
                    d,
                    "{}{:.1},{:.1}",
                    if d.is_empty() { "M" } else { "L" },
                    ax_x(i),
                    py(i, *v)
                );
            }
        }
        let _ = write!(
            out,
            r#"<path class="pc" fill="none" stroke="{}" d="{d}"><title>{}</title></path>"#,
            escape(color),
            escape(tip)
        );
    }
    out.push_str("</g>");
    for (i, a) in axes.iter().enumerate() {
        let x = ax_x(i);
        let name = name_of(a);
        let _ = write!(
            out,
            r#"<g class="axis"><title>{}</title><line class="pc-axis" x1="{x:.1}" x2="{x:.1}" y1="{TOP}" y2="{:.1}"/><text class="axis-label" x="{x:.1}" y="{:.1}" text-anchor="middle">"#,
            escape(&name),
            TOP + h,
            TOP + h + 6.0,
        );
        for part in name.split('/') {
            let _ = write!(out, r#"<tspan x="{x:.1}" dy="14">{}</tspan>"#, escape(part));
        }
        out.push_str("</text>");
        match a {
            ParAxis::Categories { values, .. } => {
                for (j, v) in values.iter().enumerate() {
                    let _ = write!(
                        out,
                        r#"<text class="tick" x="{:.1}" y="{:.1}">{}</text>"#,
                        x + 5.0,
                        py(i, j as f64) + 4.0,
                        escape(v)
                    );
                }
            }
            ParAxis::Number { .. } => {
                let (lo, hi) = scales[i];
                for t in
                    ticks(lo, hi, 5).2.into_iter().filter(|t| *t >= lo - 1e-9 && *t <= hi + 1e-9)
                {
                    let _ = write!(
                        out,
                        r#"<text class="tick" x="{:.1}" y="{:.1}">{}</text>"#,
                        x + 5.0,
                        py(i, t) + 4.0,
                        number(t)
                    );
                }
            }
        }
        out.push_str("</g>");
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_cover_the_range() {
        let (lo, hi, t) = ticks(0.123, 0.917, 6);
        assert!(lo <= 0.123 && hi >= 0.917, "{lo} {hi}");
        assert_eq!(t.len(), 6, "{t:?}");
        assert!((t[1] - t[0] - 0.2).abs() < 1e-12, "{t:?}");
        // A single value gets a range around it; no NaN anywhere.
        let (lo, hi, t) = ticks(5.0, 5.0, 6);
        assert!(lo < 5.0 && hi > 5.0 && t.iter().all(|x| x.is_finite()));
        let (_, _, t) = ticks(f64::NAN, 1.0, 6);
        assert!(t.iter().all(|x| x.is_finite()));
    }

    #[test]
    fn numbers_read_well() {
        assert_eq!(number(12.0), "12");
        assert_eq!(number(0.912345), "0.9123");
        assert_eq!(number(1_234_567.0), "1.23M");
        assert_eq!(number(25_000.0), "25k");
        assert_eq!(number(f64::NAN), "-");
    }

    #[test]
    fn text_is_escaped_and_empty_charts_say_so() {
        assert_eq!(escape(r#"<a href="x">&'"#), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
        let c = XyChart {
            id: "c",
            title: "t <1>",
            x_label: "x",
            y_label: "y",
            x_log: false,
            series: vec![Series::new("s", PALETTE[0], Style::Points, vec![(f64::NAN, 1.0)])],
        };
        let svg = c.render();
        assert!(svg.contains("nothing to show yet") && svg.contains("t &lt;1&gt;"), "{svg}");
        assert_eq!(viridis(0.0), "#440154");
        assert_eq!(viridis(1.0), "#fde725");
    }
}
