//! The report's HTML: the page of one experiment (the views of a multi-trial or of a one-shot
//! search) and the page comparing the experiments of a directory. Style and script are inline;
//! the script only switches views, sorts the trial table, reloads a running search's page, and
//! records problems (script errors, blocked requests) into the page for the browser test.

use super::numbers::{self, best_so_far, label_importance, pareto_front};
use super::svg::{self, escape, number, ParAxis, Series, Style, XyChart, PALETTE};
use super::{graph, Snapshot};
use crate::experiment::{ExperimentStatus, TrialId, TrialRecord, TrialStatus};
use crate::ir::Graph;
use crate::launch::ExperimentConfig;
use crate::strategy::Mode;
use std::fmt::Write;
use std::path::{Path, PathBuf};

const STYLE: &str = r#"
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#222;background:#fafafa}
header{background:#fff;border-bottom:1px solid #ddd;padding:14px 24px}
header h1{font-size:19px;margin:0 0 6px}
.meta{color:#555;display:flex;flex-wrap:wrap;gap:4px 18px}
.meta code{font-size:12px}
.status{display:inline-block;padding:1px 9px;border-radius:10px;font-weight:600;color:#fff;font-size:13px}
.status-running{background:#2f7fd1}.status-done{background:#3b9b4a}.status-failed{background:#c93c3c}.status-interrupted{background:#c98a1c}.status-stopped{background:#7a7a7a}
nav{background:#fff;border-bottom:1px solid #ddd;padding:0 24px;position:sticky;top:0;z-index:1}
nav a{display:inline-block;padding:9px 12px;color:#333;text-decoration:none;border-bottom:3px solid transparent}
nav a.active{border-bottom-color:#4e79a7;color:#000;font-weight:600}
main{padding:12px 24px 40px}
section.view{margin-bottom:28px}
section.view>h2{font-size:17px;margin:12px 0 4px}
.note{color:#555;max-width:900px;margin:4px 0 10px}
svg.chart{background:#fff;border:1px solid #e2e2e2;border-radius:4px;margin:6px 12px 6px 0;max-width:100%;height:auto;font-size:11px}
svg .chart-title{font-size:13px;font-weight:600}
svg .grid{stroke:#eee}svg .frame{fill:none;stroke:#bbb}
svg .axis-label{font-size:12px;fill:#444}svg .empty{fill:#888;font-style:italic}
svg .line{stroke-width:2}svg .pc{stroke-opacity:.55;stroke-width:1.3}svg .pc:hover{stroke-opacity:1;stroke-width:3}
svg .pc-axis{stroke:#444}svg .tick{fill:#333;font-size:10px}svg .small{font-size:10px;fill:#333}
svg circle:hover{stroke:#000;stroke-width:2}
.curves svg .line{stroke-width:1.2;stroke-opacity:.6}
table{border-collapse:collapse;background:#fff;font-size:13px}
th,td{border:1px solid #e2e2e2;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f0f0f0;cursor:pointer;user-select:none;position:sticky;top:38px}
th.asc::after{content:" \25B2"}th.desc::after{content:" \25BC"}
td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.failed td{background:#fdeeee}tr.best td{background:#eef7ee}
td.arch{font-family:ui-monospace,monospace;font-size:12px}td.err{color:#a22;max-width:420px}
#errors{white-space:pre-wrap;background:#fdeeee;border:1px solid #c93c3c;padding:8px 12px;margin:12px 24px}
.arch-box{overflow-x:auto}
"#;

/// Runs first, in `<head>`: records every script error and every request the page's policy
/// blocks into `data-errors` on `<html>` (the count) and the page's error box, so that a
/// browser (or the browser test) sees them even when they happen before the page is parsed.
const EARLY_SCRIPT: &str = r#"
window.nascErrors = [];
window.nascRecord = function (message) {
  window.nascErrors.push(String(message));
  document.documentElement.setAttribute('data-errors', String(window.nascErrors.length));
  var box = document.getElementById('errors');
  if (box) { box.hidden = false; box.textContent = 'Problems on this page:\n' + window.nascErrors.join('\n'); }
};
window.addEventListener('error', function (e) { window.nascRecord('script error: ' + e.message); });
document.addEventListener('securitypolicyviolation', function (e) {
  window.nascRecord('blocked a request to ' + (e.blockedURI || e.violatedDirective));
});
"#;

/// Runs last: switches views (the URL's `#view`), sorts the trial table, picks the
/// architecture shown, reloads a running search's page every 10 s, and when the page has
/// loaded records any resource it fetched (it should fetch none) and marks itself ready
/// (`data-ready`, `data-charts` on `<html>`).
const SCRIPT: &str = r#"
(function () {
  var record = window.nascRecord;
  var views = Array.prototype.slice.call(document.querySelectorAll('section.view'));
  var links = Array.prototype.slice.call(document.querySelectorAll('nav a'));
  function show() {
    var want = 'view-' + location.hash.slice(1);
    if (!views.some(function (v) { return v.id === want; })) want = views.length ? views[0].id : '';
    views.forEach(function (v) { v.hidden = v.id !== want; });
    links.forEach(function (a) { a.classList.toggle('active', 'view-' + a.getAttribute('href').slice(1) === want); });
  }
  window.addEventListener('hashchange', show);
  show();
  Array.prototype.slice.call(document.querySelectorAll('table.sortable')).forEach(function (table) {
    var heads = Array.prototype.slice.call(table.querySelectorAll('th'));
    heads.forEach(function (th, col) {
      th.addEventListener('click', function () {
        var asc = !th.classList.contains('asc');
        heads.forEach(function (h) { h.classList.remove('asc', 'desc'); });
        th.classList.add(asc ? 'asc' : 'desc');
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        function key(r) {
          var c = r.cells[col];
          if (!c) return '';
          var v = c.getAttribute('data-v');
          if (v === null) v = c.textContent;
          var n = Number(v);
          return v.trim() !== '' && isFinite(n) ? n : v;
        }
        rows.sort(function (a, b) {
          var x = key(a), y = key(b), r;
          if (typeof x === 'number' && typeof y === 'number') r = x - y;
          else if (typeof x === 'number') r = -1;
          else if (typeof y === 'number') r = 1;
          else r = String(x).localeCompare(String(y));
          return asc ? r : -r;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  });
  var pick = document.getElementById('arch-pick');
  if (pick) {
    var boxes = Array.prototype.slice.call(document.querySelectorAll('.arch-box'));
    var choose = function () { boxes.forEach(function (b) { b.hidden = b.getAttribute('data-trial') !== pick.value; }); };
    pick.addEventListener('change', choose);
    choose();
  }
  var live = document.getElementById('live');
  if (live && document.body.getAttribute('data-status') === 'running') {
    setTimeout(function () { if (live.checked) location.reload(); }, 10000);
  }
  window.addEventListener('load', function () {
    performance.getEntriesByType('resource').forEach(function (r) { record('the page loaded ' + r.name); });
    var box = document.getElementById('errors');
    if (window.nascErrors.length && box.hidden) {
      box.hidden = false;
      box.textContent = 'Problems on this page:\n' + window.nascErrors.join('\n');
    }
    var root = document.documentElement;
    root.setAttribute('data-charts', String(document.querySelectorAll('svg.chart').length));
    root.setAttribute('data-ready', 'yes');
  });
})();
"#;

/// A Unix time as `2026-12-08 03:52:27 UTC` (Hinnant's `civil_from_days`).
pub fn utc(t: f64) -> String {
    if !t.is_finite() || t < 0.0 {
        return "-".into();
    }
    let secs = t as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// The page's opening: head (style, the policy that forbids every request), body start.
fn open_page(out: &mut String, title: &str, status: Option<ExperimentStatus>) {
    let _ = write!(
        out,
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:"><meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,"><title>{}</title><style>{STYLE}</style><script>{EARLY_SCRIPT}</script></head><body data-status="{}"><div id="errors" hidden></div>"#,
        escape(title),
        status.map_or("", |s| s.as_str())
    );
}

fn close_page(out: &mut String) {
    let _ = writeln!(out, "<script>{SCRIPT}</script></body></html>");
}

/// The views of a page, for its navigation bar: `(id, name)`.
fn nav(out: &mut String, views: &[(&str, &str)]) {
    out.push_str("<nav>");
    for (id, name) in views {
        let _ = write!(out, r##"<a href="#{id}">{}</a>"##, escape(name));
    }
    out.push_str("</nav><main>");
}

fn view_open(out: &mut String, id: &str, title: &str, note: &str) {
    let _ = write!(out, r#"<section class="view" id="view-{id}"><h2>{}</h2>"#, escape(title));
    if !note.is_empty() {
        let _ = write!(out, r#"<p class="note">{note}</p>"#);
    }
}

/// The flat architecture JSON of a trial as `label=value` pairs, in its order.
fn arch_pairs(arch: &str) -> Vec<(String, String)> {
    match serde_json::from_str::<serde_json::Value>(arch) {
        Ok(serde_json::Value::Object(m)) => m
            .into_iter()
            .map(|(k, v)| {
                let v = match v {
                    serde_json::Value::String(s) => s,
                    other => other.to_string(),
                };
                (k, v)
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn arch_text(arch: &str) -> String {
    let pairs = arch_pairs(arch);
    if pairs.is_empty() {
        return arch.to_string();
    }
    pairs.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", ")
}

/// A trial's architecture for a table cell: its `label=value` pairs, folded under their count
/// when there are many (a cell space has dozens of labels).
fn arch_cell(arch: &str) -> String {
    let labels = arch_text(arch);
    if labels.chars().count() > 240 {
        format!(
            "<details><summary>{} labels</summary>{}</details>",
            arch_pairs(arch).len(),
            escape(&labels)
        )
    } else {
        escape(&labels)
    }
}

/// The metric's name and direction of an experiment.
fn metric_of(snap: &Snapshot) -> (String, Mode) {
    match &snap.config {
        Some(c) => (c.metric().to_string(), c.mode()),
        None => ("metric".into(), Mode::Max),
    }
}

/// The best succeeded trial (the earliest of equals).
fn best_trial(trials: &[TrialRecord], mode: Mode) -> Option<&TrialRecord> {
    trials
        .iter()
        .filter(|t| t.status == TrialStatus::Succeeded)
        .filter_map(|t| t.metric.filter(|m| !m.is_nan()).map(|m| (t, m)))
        .fold(None, |best: Option<(&TrialRecord, f64)>, (t, m)| match best {
            Some((_, b)) if mode.oriented(b) >= mode.oriented(m) => best,
            _ => Some((t, m)),
        })
        .map(|(t, _)| t)
}

fn header(out: &mut String, snap: &Snapshot) {
    let (metric, mode) = metric_of(snap);
    let info = &snap.info;
    let strategy = snap.config.as_ref().map_or("?", ExperimentConfig::strategy);
    let kind = if snap.is_one_shot() { "one-shot" } else { "multi-trial" };
    let finished = snap.trials.iter().filter(|t| t.status.is_finished()).count();
    let failed = snap.trials.iter().filter(|t| t.status == TrialStatus::Failed).count();
    let best = best_trial(&snap.trials, mode)
        .map(|t| {
            format!("best: trial {} with {metric} {}", t.id, number(t.metric.unwrap_or(f64::NAN)))
        })
        .unwrap_or_else(|| "no trial has succeeded yet".into());
    // A store that says `running` while no process runs the experiment (killed, or its disk
    // filled up) is shown as `nasc runs` shows it.
    let shown_status = if info.status == ExperimentStatus::Running
        && !crate::experiment::search::held(&snap.dir)
    {
        crate::diagnostics::wording::STOPPED
    } else {
        info.status.as_str()
    };
    let _ = write!(
        out,
        r#"<header><h1>nasc report: {dir} <span class="status status-{s}" id="status">{s}</span></h1><div class="meta"><span>{kind} search, strategy <b>{strategy}</b>, {metric} ({dir_word})</span><span>space <code>{space}</code></span><span>{finished} finished, {failed} failed; {best}</span><span>started {created}</span><span>last change {updated}</span><span>page written {written}</span>"#,
        dir = escape(&snap.dir.display().to_string()),
        finished = if finished == 1 { "1 trial".to_string() } else { format!("{finished} trials") },
        s = shown_status,
        strategy = escape(strategy),
        metric = escape(&metric),
        dir_word = if mode == Mode::Max { "higher is better" } else { "lower is better" },
        space = escape(&info.space_path),
        best = escape(&best),
        created = utc(info.created),
        updated = utc(info.updated),
        written = utc(snap.read_at),
    );
    if info.status == ExperimentStatus::Running {
        out.push_str(r#"<span><label><input type="checkbox" id="live" checked> reload every 10 s while the search runs</label></span>"#);
    }
    out.push_str("</div>");
    if let Some(reason) = &info.reason {
        let _ = write!(
            out,
            r#"<div class="meta" id="reason"><span>failed: {}</span></div>"#,
            escape(reason)
        );
    }
    let _ = write!(
        out,
        r#"<div class="meta"><span>command <code>{}</code></span></div></header>"#,
        escape(&info.command)
    );
}

/// The page of one experiment. `graph` is the searched network (or why it is not available),
/// `extra` the trials whose architecture is drawn besides the best.
pub(super) fn experiment_page(
    snap: &Snapshot,
    graph: Result<&Graph, &str>,
    extra: &[TrialId],
) -> String {
    let mut out = String::with_capacity(64 * 1024 + snap.trials.len() * 2048);
    open_page(&mut out, &format!("nasc report: {}", snap.dir.display()), Some(snap.info.status));
    header(&mut out, snap);
    if snap.is_one_shot() {
        nav(
            &mut out,
            &[
                ("probabilities", "Candidate probabilities"),
                ("supernet", "Supernet training"),
                ("trials", "Exported trials"),
                ("architecture", "Architecture"),
            ],
        );
        probabilities_view(&mut out, snap);
        supernet_view(&mut out, snap, graph);
        trials_view(&mut out, snap);
    } else {
        nav(
            &mut out,
            &[
                ("history", "Optimisation history"),
                ("trials", "Trials"),
                ("curves", "Learning curves"),
                ("parallel", "Parallel coordinates"),
                ("importance", "Label importance"),
                ("cost", "Metric against cost"),
                ("architecture", "Architecture"),
            ],
        );
        history_view(&mut out, snap);
        trials_view(&mut out, snap);
        curves_view(&mut out, snap);
        parallel_view(&mut out, snap);
        importance_view(&mut out, snap);
        cost_view(&mut out, snap);
    }
    architecture_view(&mut out, snap, graph, extra);
    out.push_str("</main>");
    close_page(&mut out);
    out
}

fn history_view(out: &mut String, snap: &Snapshot) {
    let (metric, mode) = metric_of(snap);
    view_open(
        out,
        "history",
        "Optimisation history",
        "Each finished trial's metric, against its number and against the time it finished, with the best so far.",
    );
    let done: Vec<&TrialRecord> = snap.trials.iter().filter(|t| t.status.is_finished()).collect();
    let values: Vec<Option<f64>> = done.iter().map(|t| t.metric).collect();
    let best = best_so_far(&values, mode);
    let tip = |t: &TrialRecord| {
        format!(
            "trial {}: {metric} {}\n{}",
            t.id,
            number(t.metric.unwrap_or(f64::NAN)),
            arch_text(&t.arch)
        )
    };
    let ok: Vec<&&TrialRecord> = done.iter().filter(|t| t.metric.is_some()).collect();
    let by_trial = XyChart {
        id: "chart-history-trial",
        title: &format!("{metric} by trial"),
        x_label: "trial",
        y_label: &metric,
        x_log: false,
        series: vec![
            Series::new(
                "trial",
                PALETTE[0],
                Style::Points,
                ok.iter().map(|t| (t.id.0 as f64, t.metric.unwrap_or(f64::NAN))).collect(),
            )
            .titled(ok.iter().map(|t| tip(t)).collect()),
            Series::new(
                "best so far",
                PALETTE[1],
                Style::Step,
                done.iter().zip(&best).filter_map(|(t, b)| b.map(|b| (t.id.0 as f64, b))).collect(),
            ),
        ],
    };
    out.push_str(&by_trial.render());
    // Against time: minutes when the search ran for more than ten of them.
    let start = snap.info.created;
    let span = done.iter().filter_map(|t| t.finished).fold(0.0f64, |m, f| m.max(f - start));
    let (scale, unit) = if span > 600.0 { (60.0, "minutes") } else { (1.0, "seconds") };
    let mut by_time: Vec<(&TrialRecord, f64)> =
        done.iter().filter_map(|t| t.finished.map(|f| (*t, (f - start) / scale))).collect();
    by_time.sort_by(|a, b| a.1.total_cmp(&b.1));
    let best_t = best_so_far(&by_time.iter().map(|(t, _)| t.metric).collect::<Vec<_>>(), mode);
    let timed: Vec<&(&TrialRecord, f64)> =
        by_time.iter().filter(|(t, _)| t.metric.is_some()).collect();
    let x_label = format!("{unit} since the search started");
    let chart = XyChart {
        id: "chart-history-time",
        title: &format!("{metric} over time"),
        x_label: &x_label,
        y_label: &metric,
        x_log: false,
        series: vec![
            Series::new(
                "trial",
                PALETTE[0],
                Style::Points,
                timed.iter().map(|(t, x)| (*x, t.metric.unwrap_or(f64::NAN))).collect(),
            )
            .titled(timed.iter().map(|(t, _)| tip(t)).collect()),
            Series::new(
                "best so far",
                PALETTE[1],
                Style::Step,
                by_time.iter().zip(&best_t).filter_map(|((_, x), b)| b.map(|b| (*x, b))).collect(),
            ),
        ],
    };
    out.push_str(&chart.render());
    out.push_str("</section>");
}

fn trials_view(out: &mut String, snap: &Snapshot) {
    let (metric, mode) = metric_of(snap);
    let one_shot = snap.is_one_shot();
    view_open(
        out,
        "trials",
        if one_shot { "Exported trials" } else { "Trials" },
        if one_shot {
            "The architectures the strategy exported, scored in the supernet. Click a column to sort."
        } else {
            "Every trial, with its status, metric, cost and architecture; failed trials show their error. Click a column to sort."
        },
    );
    let best = best_trial(&snap.trials, mode).map(|t| t.id);
    let _ = write!(
        out,
        r#"<table class="sortable" id="trial-table"><thead><tr><th>trial</th><th>status</th><th>{}</th><th>params</th><th>FLOPs</th><th>seconds</th><th>attempts</th><th>epochs</th><th>architecture</th><th>error</th></tr></thead><tbody>"#,
        escape(&metric)
    );
    for t in &snap.trials {
        let class = if Some(t.id) == best {
            "best"
        } else if t.status == TrialStatus::Failed {
            "failed"
        } else {
            ""
        };
        let num = |x: Option<f64>| x.filter(|x| x.is_finite());
        let _ = write!(
            out,
            r#"<tr class="{class}"><td class="num">{id}</td><td>{status}</td><td class="num" data-v="{mv}">{m}</td><td class="num" data-v="{p}">{ps}</td><td class="num" data-v="{f}">{fs}</td><td class="num" data-v="{dv}">{d}</td><td class="num">{a}</td><td class="num">{e}</td><td class="arch">{arch}</td><td class="err">{err}</td></tr>"#,
            id = t.id,
            status = t.status.as_str(),
            mv = num(t.metric).map_or(String::new(), |m| m.to_string()),
            m = num(t.metric).map_or("-".into(), |m| format!("{m:.4}")),
            p = t.params,
            ps = number(t.params as f64),
            f = t.flops,
            fs = number(t.flops as f64),
            dv = num(t.duration).map_or(String::new(), |d| d.to_string()),
            d = num(t.duration).map_or("-".into(), |d| format!("{d:.1}")),
            a = t.attempts,
            e = snap.epochs.get(&t.id).map_or(0, Vec::len),
            arch = arch_cell(&t.arch),
            err = escape(t.error.as_deref().unwrap_or("")),
        );
    }
    out.push_str("</tbody></table></section>");
}

fn curves_view(out: &mut String, snap: &Snapshot) {
    let (metric, mode) = metric_of(snap);
    view_open(
        out,
        "curves",
        "Learning curves",
        "Training loss and validation metric of every trial, epoch by epoch; the best trial is drawn dark. Hover a line for its trial.",
    );
    let best = best_trial(&snap.trials, mode).map(|t| t.id);
    let single = snap.epochs.values().all(|e| e.len() <= 1);
    let style = if single { Style::Points } else { Style::Line };
    let mut loss = Vec::new();
    let mut val = Vec::new();
    // The best trial last, so it is drawn on top.
    let mut order: Vec<(&TrialId, &Vec<crate::experiment::EpochRecord>)> =
        snap.epochs.iter().collect();
    order.sort_by_key(|(id, _)| Some(**id) == best);
    for (id, epochs) in order {
        let color =
            if Some(*id) == best { "#222" } else { PALETTE[(id.0 as usize) % PALETTE.len()] };
        let name = format!("trial {id}");
        let l = Series::new(
            name.clone(),
            color,
            style,
            epochs.iter().map(|e| (f64::from(e.epoch), e.train_loss)).collect(),
        );
        let v = Series::new(
            name.clone(),
            color,
            style,
            epochs.iter().map(|e| (f64::from(e.epoch), e.val_metric.unwrap_or(f64::NAN))).collect(),
        );
        let tips = |what: &str| {
            epochs.iter().map(|e| format!("{name}, epoch {}: {what}", e.epoch)).collect::<Vec<_>>()
        };
        loss.push(Series { name: String::new(), ..l.titled(tips("training loss")) });
        val.push(Series { name: String::new(), ..v.titled(tips("validation metric")) });
    }
    let wrap = |s: String| format!(r#"<span class="curves">{s}</span>"#);
    out.push_str(&wrap(
        XyChart {
            id: "chart-curves-loss",
            title: "training loss per epoch",
            x_label: "epoch",
            y_label: "training loss",
            x_log: false,
            series: loss,
        }
        .render(),
    ));
    let y = format!("validation metric ({metric})");
    out.push_str(&wrap(
        XyChart {
            id: "chart-curves-val",
            title: "validation metric per epoch",
            x_label: "epoch",
            y_label: &y,
            x_log: false,
            series: val,
        }
        .render(),
    ));
    out.push_str("</section>");
}

/// A succeeded trial's value of every label (as text, in the labels' order) and its metric.
type LabelRow<'a> = (Vec<String>, f64, &'a TrialRecord);

/// The labels of the trials' architectures, in first-seen order, and each succeeded trial's
/// values and metric.
fn label_rows(snap: &Snapshot) -> (Vec<String>, Vec<LabelRow<'_>>) {
    let mut labels: Vec<String> = Vec::new();
    let mut parsed = Vec::new();
    for t in snap.trials.iter().filter(|t| t.status == TrialStatus::Succeeded) {
        let Some(m) = t.metric.filter(|m| m.is_finite()) else { continue };
        let pairs = arch_pairs(&t.arch);
        for (k, _) in &pairs {
            if !labels.contains(k) {
                labels.push(k.clone());
            }
        }
        parsed.push((pairs, m, t));
    }
    let rows = parsed
        .into_iter()
        .map(|(pairs, m, t)| {
            let values = labels
                .iter()
                .map(|l| {
                    pairs.iter().find(|(k, _)| k == l).map_or(String::new(), |(_, v)| v.clone())
                })
                .collect();
            (values, m, t)
        })
        .collect();
    (labels, rows)
}

fn parallel_view(out: &mut String, snap: &Snapshot) {
    let (metric, mode) = metric_of(snap);
    view_open(
        out,
        "parallel",
        "Parallel coordinates",
        "One axis per label and one for the metric; each line is a succeeded trial, coloured by its metric (yellow is best). Hover a line for its trial.",
    );
    let (labels, rows) = label_rows(snap);
    let cats: Vec<Vec<String>> = (0..labels.len())
        .map(|l| numbers::categories(rows.iter().map(|r| r.0[l].as_str())))
        .collect();
    let mut axes: Vec<ParAxis> = labels
        .iter()
        .zip(&cats)
        .map(|(l, c)| ParAxis::Categories { name: l.clone(), values: c.clone() })
        .collect();
    axes.push(ParAxis::Number { name: metric.clone() });
    let (lo, hi) =
        rows.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), r| (a.min(r.1), b.max(r.1)));
    let mut lines: Vec<(Vec<f64>, String, String, f64)> = rows
        .iter()
        .map(|(values, m, t)| {
            let mut pos: Vec<f64> = values
                .iter()
                .zip(&cats)
                .map(|(v, c)| c.iter().position(|x| x == v).map_or(f64::NAN, |p| p as f64))
                .collect();
            pos.push(*m);
            let good = if hi > lo { (m - lo) / (hi - lo) } else { 1.0 };
            let good = if mode == Mode::Max { good } else { 1.0 - good };
            (pos, svg::viridis(good), format!("trial {}: {metric} {}", t.id, number(*m)), good)
        })
        .collect();
    // The best lines last, on top.
    lines.sort_by(|a, b| a.3.total_cmp(&b.3));
    let lines: Vec<(Vec<f64>, String, String)> =
        lines.into_iter().map(|(p, c, t, _)| (p, c, t)).collect();
    out.push_str(&svg::parallel(
        "chart-parallel",
        "labels and metric of every succeeded trial",
        &axes,
        &lines,
    ));
    out.push_str("</section>");
}

fn importance_view(out: &mut String, snap: &Snapshot) {
    let (metric, _) = metric_of(snap);
    view_open(
        out,
        "importance",
        "Label importance",
        "How much of the metric's variance each label's choice explains on its own: omega squared of a one-way ANOVA of the metric grouped by the label's value (Hays 1963), the main-effect term of a functional ANOVA as in fANOVA (Hutter, Hoos &amp; Leyton-Brown 2014), estimated from the trials directly instead of a random forest. It assumes labels were drawn independently (random or grid search); under evolution or TPE, labels moved together share the credit. n/a: the label took one value, or there are too few trials.",
    );
    let (labels, rows) = label_rows(snap);
    let data: Vec<(Vec<String>, f64)> = rows.iter().map(|(v, m, _)| (v.clone(), *m)).collect();
    let mut imp = label_importance(&labels, &data);
    imp.sort_by(|a, b| b.score.unwrap_or(-1.0).total_cmp(&a.score.unwrap_or(-1.0)));
    let bars: Vec<(String, Option<f64>, String)> = imp
        .iter()
        .map(|i| {
            let tip = format!(
                "{}: {} of the variance of {metric} ({} values, {} trials)",
                i.label,
                i.score.map_or("n/a".into(), |s| format!("{:.1} %", 100.0 * s)),
                i.values,
                data.len()
            );
            (i.label.clone(), i.score, tip)
        })
        .collect();
    out.push_str(&svg::bars(
        "chart-importance",
        &format!("share of the variance of {metric} each label explains"),
        &bars,
    ));
    out.push_str("</section>");
}

fn cost_view(out: &mut String, snap: &Snapshot) {
    let (metric, mode) = metric_of(snap);
    view_open(
        out,
        "cost",
        "Metric against cost",
        "Each succeeded trial's metric against its parameters and its FLOPs (multiply-accumulates per sample), both on a log scale; the line joins the Pareto front, the trials no other beats on both cost and metric.",
    );
    let ok: Vec<&TrialRecord> =
        snap.trials.iter().filter(|t| t.metric.is_some_and(|m| m.is_finite())).collect();
    for (id, what, cost) in [
        (
            "chart-cost-params",
            "parameters",
            (|t: &TrialRecord| t.params as f64) as fn(&TrialRecord) -> f64,
        ),
        ("chart-cost-flops", "FLOPs", |t: &TrialRecord| t.flops as f64),
    ] {
        let pts: Vec<(f64, f64)> =
            ok.iter().map(|t| (cost(t), t.metric.unwrap_or(f64::NAN))).collect();
        let front = pareto_front(&pts, mode);
        let front_ids: Vec<String> = front.iter().map(|&i| ok[i].id.to_string()).collect();
        let chart = XyChart {
            id,
            title: &format!(
                "{metric} against {what} (Pareto front: {} trial{})",
                front.len(),
                if front.len() == 1 { "" } else { "s" }
            ),
            x_label: what,
            y_label: &metric,
            x_log: true,
            series: vec![
                Series::new("trial", PALETTE[0], Style::Points, pts.clone()).titled(
                    ok.iter()
                        .map(|t| {
                            format!(
                                "trial {}: {metric} {}, {} {what}",
                                t.id,
                                number(t.metric.unwrap_or(f64::NAN)),
                                number(cost(t))
                            )
                        })
                        .collect(),
                ),
                Series::new(
                    "Pareto front",
                    PALETTE[2],
                    Style::Step,
                    front.iter().map(|&i| pts[i]).collect(),
                ),
            ],
        };
        out.push_str(&chart.render());
        if !front_ids.is_empty() {
            let _ = write!(
                out,
                r#"<p class="note">Pareto front on {what}, cheapest first: trials {}.</p>"#,
                front_ids.join(", ")
            );
        }
    }
    out.push_str("</section>");
}

fn probabilities_view(out: &mut String, snap: &Snapshot) {
    view_open(
        out,
        "probabilities",
        "Candidate probabilities",
        "The supernet's probability of every candidate of every label at the end of each epoch (DARTS: the softmax of alpha; ENAS: the controller's; SPOS: the sampling frequencies). One heat map per label; hover a cell for its value.",
    );
    let mut labels: Vec<String> = Vec::new();
    for (_, l, _, _) in &snap.probabilities {
        if !labels.contains(l) {
            labels.push(l.clone());
        }
    }
    let epochs: Vec<u32> = {
        let mut e: Vec<u32> = snap.probabilities.iter().map(|p| p.0).collect();
        e.dedup();
        e
    };
    if labels.is_empty() {
        out.push_str(&svg::empty(
            "chart-prob",
            "candidate probabilities",
            "no epoch has finished yet",
        ));
    }
    for (n, label) in labels.iter().enumerate() {
        let rows: Vec<&(u32, String, String, f64)> =
            snap.probabilities.iter().filter(|p| &p.1 == label).collect();
        let cands = numbers::categories(rows.iter().map(|p| p.2.as_str()));
        let values: Vec<Vec<f64>> = cands
            .iter()
            .map(|c| {
                epochs
                    .iter()
                    .map(|e| rows.iter().find(|p| p.0 == *e && &p.2 == c).map_or(f64::NAN, |p| p.3))
                    .collect()
            })
            .collect();
        let cols: Vec<String> = epochs.iter().map(u32::to_string).collect();
        out.push_str(&svg::heatmap(
            &format!("chart-prob-{n}"),
            &format!("label {label}"),
            "epoch",
            &cands,
            &cols,
            &values,
        ));
    }
    out.push_str("</section>");
}

fn supernet_view(out: &mut String, snap: &Snapshot, graph: Result<&Graph, &str>) {
    let (metric, _) = metric_of(snap);
    let strategy = snap.config.as_ref().map_or("", ExperimentConfig::strategy);
    view_open(
        out,
        "supernet",
        "Supernet training",
        "The supernet's losses and validation metric, epoch by epoch.",
    );
    let e = &snap.supernet;
    let x = |f: &dyn Fn(&crate::experiment::SupernetEpoch) -> f64| -> Vec<(f64, f64)> {
        e.iter().map(|s| (f64::from(s.epoch), f(s))).collect()
    };
    let mut losses = vec![
        Series::new("training loss", PALETTE[0], Style::Line, x(&|s| s.train_loss)),
        Series::new(
            "validation loss",
            PALETTE[1],
            Style::Line,
            x(&|s| s.val_loss.unwrap_or(f64::NAN)),
        ),
    ];
    if strategy != "enas" && e.iter().any(|s| s.arch_loss.is_some()) {
        losses.push(Series::new(
            "architecture loss",
            PALETTE[2],
            Style::Line,
            x(&|s| s.arch_loss.unwrap_or(f64::NAN)),
        ));
    }
    let style = if e.len() == 1 { Style::Points } else { Style::Line };
    for s in &mut losses {
        s.style = style;
    }
    out.push_str(
        &XyChart {
            id: "chart-supernet-loss",
            title: "supernet losses per epoch",
            x_label: "epoch",
            y_label: "loss",
            x_log: false,
            series: losses,
        }
        .render(),
    );
    let y = metric.clone();
    out.push_str(
        &XyChart {
            id: "chart-supernet-val",
            title: "supernet validation metric per epoch",
            x_label: "epoch",
            y_label: &y,
            x_log: false,
            series: vec![Series::new(
                y.clone(),
                PALETTE[4],
                style,
                x(&|s| s.val_metric.unwrap_or(f64::NAN)),
            )],
        }
        .render(),
    );
    if strategy == "enas" {
        out.push_str(r#"<p class="note">ENAS: the controller's mean reward per epoch, the validation accuracy (minus the mean squared error, for regression) of the paths it sampled for its REINFORCE updates (the stored architecture loss is minus the reward).</p>"#);
        out.push_str(
            &XyChart {
                id: "chart-enas-reward",
                title: "controller reward per epoch",
                x_label: "epoch",
                y_label: "mean reward",
                x_log: false,
                series: vec![Series::new(
                    "reward",
                    PALETTE[6],
                    style,
                    x(&|s| s.arch_loss.map_or(f64::NAN, |l| -l)),
                )],
            }
            .render(),
        );
    }
    if strategy == "proxyless" {
        proxyless_cost(out, snap, graph, style);
    }
    out.push_str("</section>");
}

/// ProxylessNAS: the expected cost of the architectures the probabilities describe, epoch by
/// epoch, against the resource loss's target (FLOPs when there is none).
fn proxyless_cost(out: &mut String, snap: &Snapshot, graph: Result<&Graph, &str>, style: Style) {
    use crate::ir::Measure;
    let target = match &snap.config {
        Some(ExperimentConfig::OneShot(s)) => match &s.config.strategy {
            crate::oneshot::StrategySettings::Proxyless(p) => p.target,
            _ => None,
        },
        _ => None,
    };
    let measure = target.map_or(Measure::Flops, |t| t.0);
    let what = if measure == Measure::Flops { "FLOPs" } else { "parameters" };
    let g = match graph {
        Ok(g) => g,
        Err(why) => {
            let _ = write!(
                out,
                r#"<p class="note">The expected cost is not drawn: {}.</p>"#,
                escape(why)
            );
            return;
        }
    };
    let _ = write!(
        out,
        r#"<p class="note">ProxylessNAS: the expected {what} of the architectures drawn from each epoch's probabilities (256 draws, each costed by the IR's cost model){}.</p>"#,
        target.map_or(
            " (no target was set: --target-flops or --target-params)".to_string(),
            |t| format!(", against the target of {}", number(t.1))
        )
    );
    let mut by_epoch: std::collections::BTreeMap<
        u32,
        std::collections::BTreeMap<String, std::collections::BTreeMap<String, f64>>,
    > = Default::default();
    for (e, l, c, p) in &snap.probabilities {
        by_epoch.entry(*e).or_default().entry(l.clone()).or_default().insert(c.clone(), *p);
    }
    let expected: Vec<(f64, f64)> = by_epoch
        .iter()
        .filter_map(|(e, probs)| {
            numbers::expected_cost(g, probs, measure, 256, u64::from(*e))
                .map(|c| (f64::from(*e), c))
        })
        .collect();
    let mut series =
        vec![Series::new(format!("expected {what}"), PALETTE[0], style, expected.clone())];
    if let (Some((_, t)), Some(first), Some(last)) = (target, expected.first(), expected.last()) {
        series.push(Series::new(
            "target",
            PALETTE[2],
            Style::Line,
            vec![(first.0, t), (last.0.max(first.0 + 1.0), t)],
        ));
    }
    let title = format!("expected {what} per epoch");
    out.push_str(
        &XyChart {
            id: "chart-proxyless-cost",
            title: &title,
            x_label: "epoch",
            y_label: what,
            x_log: false,
            series,
        }
        .render(),
    );
}

fn architecture_view(
    out: &mut String,
    snap: &Snapshot,
    graph: Result<&Graph, &str>,
    extra: &[TrialId],
) {
    let (metric, mode) = metric_of(snap);
    view_open(
        out,
        "architecture",
        "Architecture",
        "The architecture as the graph of its operators (every choice fixed), inputs at the top; hover an operator for its attributes, parameters and FLOPs. The cells of cell spaces (the standard library's DARTS and NAS-Bench-201 cells) are also drawn as the DARTS paper draws them: states left to right, each chosen edge labelled with its operation.",
    );
    let g = match graph {
        Ok(g) => g,
        Err(why) => {
            let _ = write!(
                out,
                r#"<p class="note">No architecture is drawn: {}.</p></section>"#,
                escape(why)
            );
            return;
        }
    };
    // The trials asked for, then the best ten.
    let mut ranked: Vec<&TrialRecord> =
        snap.trials.iter().filter(|t| t.metric.is_some_and(|m| m.is_finite())).collect();
    ranked.sort_by(|a, b| {
        mode.oriented(b.metric.unwrap_or(0.0))
            .total_cmp(&mode.oriented(a.metric.unwrap_or(0.0)))
            .then(a.id.cmp(&b.id))
    });
    let mut chosen: Vec<(&TrialRecord, String)> = Vec::new();
    for id in extra {
        if let Some(t) = snap.trials.iter().find(|t| t.id == *id) {
            chosen.push((t, format!("trial {} (asked for)", t.id)));
        }
    }
    for (rank, t) in ranked.iter().take(10).enumerate() {
        if !chosen.iter().any(|(c, _)| c.id == t.id) {
            chosen.push((
                t,
                format!(
                    "trial {} (rank {}, {metric} {})",
                    t.id,
                    rank + 1,
                    number(t.metric.unwrap_or(f64::NAN))
                ),
            ));
        }
    }
    if chosen.is_empty() {
        out.push_str(&svg::empty("chart-arch", "architecture", "no trial has succeeded yet"));
        out.push_str("</section>");
        return;
    }
    out.push_str(r#"<p><label>Show <select id="arch-pick">"#);
    for (t, name) in &chosen {
        let _ = write!(out, r#"<option value="{}">{}</option>"#, t.id, escape(name));
    }
    out.push_str("</select></label></p>");
    for (n, (t, name)) in chosen.iter().enumerate() {
        let labels = arch_text(&t.arch);
        let _ = write!(out, r#"<div class="arch-box" data-trial="{}">"#, t.id);
        if labels.chars().count() > 240 {
            // Many labels (a cell space): folded, the drawings say it better.
            let _ = write!(
                out,
                r#"<details class="note"><summary>{}: its {} labels</summary><code>{}</code></details>"#,
                escape(name),
                arch_pairs(&t.arch).len(),
                escape(&labels)
            );
        } else {
            let _ = write!(
                out,
                r#"<p class="note">{}: <code>{}</code></p>"#,
                escape(name),
                escape(&labels)
            );
        }
        let id = if n == 0 { "chart-arch".to_string() } else { format!("chart-arch-{}", t.id) };
        // Cells (DARTS, NAS-Bench-201) as the DARTS paper draws them, before the operators.
        if let Ok(serde_json::Value::Object(m)) = serde_json::from_str::<serde_json::Value>(&t.arch)
        {
            for (k, c) in super::cell::cells(&m).iter().enumerate() {
                let cid = if n == 0 {
                    format!("chart-cell-{k}")
                } else {
                    format!("chart-cell-{}-{k}", t.id)
                };
                out.push_str(&super::cell::draw(
                    c,
                    &cid,
                    &format!("trial {}: cell {}", t.id, c.prefix),
                ));
            }
        }
        match crate::arch::Architecture::from_json(g, &t.arch)
            .map_err(|e| format!("{} problems", e.len()))
            .and_then(|a| crate::arch::fix(g, &a).map_err(|e| e.to_string()))
        {
            Ok(fixed) => out.push_str(&graph::draw(
                &fixed,
                &id,
                &format!("trial {}: {} operators", t.id, fixed.nodes.len()),
            )),
            Err(e) => {
                let _ = write!(
                    out,
                    r#"<p class="note">This architecture cannot be drawn: {}.</p>"#,
                    escape(&e)
                );
            }
        }
        out.push_str("</div>");
    }
    out.push_str("</section>");
}

/// The page comparing the experiments under `dir`: a table (each row linking to the
/// experiment's own report) and the best so far of every multi-trial experiment on one chart.
pub(super) fn comparison_page(dir: &Path, rows: &[(PathBuf, Result<Snapshot, String>)]) -> String {
    let mut out = String::new();
    open_page(&mut out, &format!("nasc report: {}", dir.display()), None);
    let _ = write!(
        out,
        r#"<header><h1>nasc report: {} ({} experiments)</h1></header>"#,
        escape(&dir.display().to_string()),
        rows.len()
    );
    nav(&mut out, &[("compare", "Compare experiments")]);
    view_open(
        &mut out,
        "compare",
        "Experiments",
        "Each experiment's own report is linked from its name. Click a column to sort.",
    );
    out.push_str(r#"<table class="sortable" id="experiment-table"><thead><tr><th>experiment</th><th>kind</th><th>strategy</th><th>status</th><th>metric</th><th>trials</th><th>failed</th><th>best</th><th>best trial's architecture</th><th>started</th></tr></thead><tbody>"#);
    let mut series = Vec::new();
    for (k, (sub, snap)) in rows.iter().enumerate() {
        let name =
            sub.file_name().map_or(sub.display().to_string(), |n| n.to_string_lossy().into_owned());
        let link = format!(r#"<a href="{}/report.html">{}</a>"#, escape(&name), escape(&name));
        match snap {
            Ok(s) => {
                let (metric, mode) = metric_of(s);
                let best = best_trial(&s.trials, mode);
                let failed = s.trials.iter().filter(|t| t.status == TrialStatus::Failed).count();
                let _ = write!(
                    out,
                    r#"<tr><td>{link}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class="num">{}</td><td class="num">{failed}</td><td class="num" data-v="{}">{}</td><td class="arch">{}</td><td data-v="{}">{}</td></tr>"#,
                    if s.is_one_shot() { "one-shot" } else { "multi-trial" },
                    escape(s.config.as_ref().map_or("?", ExperimentConfig::strategy)),
                    s.info.status.as_str(),
                    escape(&metric),
                    s.trials.len(),
                    best.and_then(|b| b.metric).map_or(String::new(), |m| m.to_string()),
                    best.and_then(|b| b.metric).map_or("-".into(), |m| format!("{m:.4}")),
                    best.map_or(String::new(), |b| arch_cell(&b.arch)),
                    s.info.created,
                    utc(s.info.created),
                );
                if !s.is_one_shot() {
                    let done: Vec<&TrialRecord> =
                        s.trials.iter().filter(|t| t.status.is_finished()).collect();
                    let b = best_so_far(&done.iter().map(|t| t.metric).collect::<Vec<_>>(), mode);
                    let pts = b
                        .iter()
                        .enumerate()
                        .filter_map(|(i, b)| b.map(|b| ((i + 1) as f64, b)))
                        .collect();
                    series.push(Series::new(
                        format!("{name} ({metric})"),
                        PALETTE[k % PALETTE.len()],
                        Style::Step,
                        pts,
                    ));
                }
            }
            Err(e) => {
                let _ = write!(
                    out,
                    r#"<tr class="failed"><td>{}</td><td colspan="9" class="err">{}</td></tr>"#,
                    escape(&name),
                    escape(e)
                );
            }
        }
    }
    out.push_str("</tbody></table>");
    out.push_str(
        &XyChart {
            id: "chart-compare-best",
            title: "best so far of each multi-trial experiment",
            x_label: "finished trials",
            y_label: "best metric so far",
            x_log: false,
            series,
        }
        .render(),
    );
    out.push_str("</section></main>");
    close_page(&mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_written_in_utc() {
        assert_eq!(utc(0.0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(1_796_701_947.0), "2026-12-08 03:52:27 UTC");
        assert_eq!(utc(951_782_400.0), "2000-02-29 00:00:00 UTC");
        assert_eq!(utc(f64::NAN), "-");
    }

    #[test]
    fn architectures_read_as_label_value_pairs() {
        assert_eq!(
            arch_text(r#"{"width": 8, "op": "conv3x3", "in": [0, 1]}"#),
            "in=[0,1], op=conv3x3, width=8"
        );
        assert_eq!(arch_text("not json"), "not json");
    }
}
