//! The numbers behind the report's charts, as pure functions of a search's results (no store,
//! no drawing), each unit-tested on synthetic data.
//!
//! - [`best_so_far`]: the running best of an optimisation history (optuna-dashboard's
//!   "best value" line).
//! - [`pareto_front`]: the trials no other trial beats on both cost and metric (the
//!   non-dominated set of multi-objective optimisation; a sweep over the points sorted by cost,
//!   as in Kung, Luccio & Preparata, "On finding the maxima of a set of vectors", JACM 1975).
//! - [`label_importance`]: how much of the metric's variance each label's choice explains on its
//!   own. This is the first-order (main-effect) term of a functional ANOVA decomposition, the
//!   quantity fANOVA reports (Hutter, Hoos & Leyton-Brown, "An Efficient Approach for Assessing
//!   Hyperparameter Importance", ICML 2014). fANOVA estimates the main effects from a random
//!   forest fitted to the trials; here they are estimated from the trials directly, as the
//!   one-way ANOVA of the metric grouped by the label's value, and reported as omega squared
//!   (Hays, "Statistics for Psychologists", 1963): `(SS_between - (k - 1) MS_within) /
//!   (SS_total + MS_within)`, the fraction of variance explained corrected for the chance
//!   fraction that `k` groups explain in a small sample (eta squared, `SS_between / SS_total`,
//!   gives a label with many values a large share by chance alone). Clipped to `[0, 1]`. Like
//!   fANOVA's main effects it assumes the labels were sampled independently (random or grid
//!   search); under evolution or TPE, labels the strategy moved together share the credit.
//! - [`categories`]: the values of a label in axis order (numbers by value, then text).
//! - [`expected_cost`]: the expected parameters or FLOPs of the architectures a one-shot
//!   supernet's probabilities describe (ProxylessNAS's expected cost, against its target), by
//!   Monte Carlo: architectures drawn from the probabilities (each label independently, input
//!   choices `k` candidates without replacement, as the strategies sample paths), each costed
//!   exactly by the IR's cost model, and averaged. An unbiased estimate of the expectation of the
//!   sampling distribution; ProxylessNAS's loss uses its first-order model around the current
//!   choice instead (the paper's additive latency), which this does not assume.

use crate::arch::{self, Architecture, Choice};
use crate::ir::{Domain, Graph, Measure};
use crate::strategy::Mode;
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;

/// The best metric among the first `i + 1` entries, for every `i`: `None` until the first
/// value; entries that are `None` (a failed or unfinished trial) or NaN keep the best so far.
pub fn best_so_far(values: &[Option<f64>], mode: Mode) -> Vec<Option<f64>> {
    let mut best: Option<f64> = None;
    values
        .iter()
        .map(|v| {
            if let Some(v) = v.filter(|v| !v.is_nan()) {
                best = Some(match best {
                    Some(b) if mode.oriented(b) >= mode.oriented(v) => b,
                    _ => v,
                });
            }
            best
        })
        .collect()
}

/// The indices of the points `(cost, metric)` that no other point dominates (another point
/// dominates when its cost is no higher and its metric no worse, one of them strictly), in
/// increasing cost. Lower cost is better; the metric's direction is `mode`. Of points equal on
/// both, the first is kept. Points with a NaN coordinate are left out.
pub fn pareto_front(points: &[(f64, f64)], mode: Mode) -> Vec<usize> {
    let mut order: Vec<usize> =
        (0..points.len()).filter(|&i| !points[i].0.is_nan() && !points[i].1.is_nan()).collect();
    // By cost, then best metric first, then index (so the first of equal points comes first).
    order.sort_by(|&a, &b| {
        let (ca, ma) = points[a];
        let (cb, mb) = points[b];
        ca.total_cmp(&cb).then(mode.oriented(mb).total_cmp(&mode.oriented(ma))).then(a.cmp(&b))
    });
    let mut front = Vec::new();
    let mut best: Option<f64> = None;
    for i in order {
        let m = mode.oriented(points[i].1);
        // Every point before has a cost no higher: this one is on the front only if its metric
        // is strictly better than all of theirs.
        if best.is_none_or(|b| m > b) {
            front.push(i);
            best = Some(m);
        }
    }
    front
}

/// How much one label explains the metric: see the [module documentation](self).
#[derive(Debug, Clone, PartialEq)]
pub struct Importance {
    /// The label.
    pub label: String,
    /// Omega squared of the metric grouped by the label's value, in `[0, 1]`; `None` when it
    /// cannot be estimated (the label took one value only, there are no more trials than
    /// values, or the metric never varies).
    pub score: Option<f64>,
    /// How many distinct values the label took among the trials.
    pub values: usize,
}

/// The importance of every label (in the order of `labels`) for the metric of the trials
/// `rows`: each row holds the trial's value of every label (as text, one per label, in the
/// order of `labels`) and its metric. See the [module documentation](self) for the method.
pub fn label_importance(labels: &[String], rows: &[(Vec<String>, f64)]) -> Vec<Importance> {
    let rows: Vec<&(Vec<String>, f64)> = rows.iter().filter(|(_, y)| y.is_finite()).collect();
    let n = rows.len();
    let mean = rows.iter().map(|(_, y)| y).sum::<f64>() / n.max(1) as f64;
    let ss_total: f64 = rows.iter().map(|(_, y)| (y - mean).powi(2)).sum();
    labels
        .iter()
        .enumerate()
        .map(|(l, label)| {
            let mut groups: BTreeMap<&str, (f64, usize)> = BTreeMap::new();
            for (values, y) in &rows {
                let g = groups.entry(values.get(l).map_or("", String::as_str)).or_default();
                g.0 += y;
                g.1 += 1;
            }
            let k = groups.len();
            let ss_between: f64 =
                groups.values().map(|(s, c)| *c as f64 * (s / *c as f64 - mean).powi(2)).sum();
            // A metric that never varies has no variance to explain; with the relative tolerance,
            // rounding noise of equal metrics counts as none.
            let varies = ss_total > 1e-12 * (1.0 + mean * mean) * n as f64;
            let score = (k >= 2 && n > k && varies).then(|| {
                let ms_within = (ss_total - ss_between).max(0.0) / (n - k) as f64;
                ((ss_between - (k - 1) as f64 * ms_within) / (ss_total + ms_within)).clamp(0.0, 1.0)
            });
            Importance { label: label.clone(), score, values: k }
        })
        .collect()
}

/// The distinct values of a label in the order its axis shows them: values that read as numbers
/// in increasing order, then the others in text order.
pub fn categories<'a>(values: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut numbers: Vec<(f64, &str)> = Vec::new();
    let mut texts: Vec<&str> = Vec::new();
    for v in values {
        match v.parse::<f64>() {
            Ok(x) if x.is_finite() => numbers.push((x, v)),
            _ => texts.push(v),
        }
    }
    numbers.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(b.1)));
    numbers.dedup_by(|a, b| a.1 == b.1);
    texts.sort_unstable();
    texts.dedup();
    numbers.into_iter().map(|(_, v)| v).chain(texts).map(str::to_string).collect()
}

/// `k` distinct indices drawn without replacement, each draw proportional to `p` among those
/// left (uniform when they all have zero weight), sorted.
fn draw(p: &[f64], k: usize, rng: &mut impl Rng) -> Vec<usize> {
    let mut left: Vec<usize> = (0..p.len()).collect();
    let mut out = Vec::with_capacity(k);
    while out.len() < k && !left.is_empty() {
        let total: f64 = left.iter().map(|&i| p[i].max(0.0)).sum();
        let pick = if total > 0.0 {
            let mut r = rng.random::<f64>() * total;
            let mut at = left.len() - 1;
            for (j, &i) in left.iter().enumerate() {
                r -= p[i].max(0.0);
                if r < 0.0 {
                    at = j;
                    break;
                }
            }
            at
        } else {
            rng.random_range(0..left.len())
        };
        out.push(left.remove(pick));
    }
    out.sort_unstable();
    out
}

/// The expected cost (`measure`) of the architectures of `g` drawn from `probabilities`
/// (`label name -> candidate name -> probability`, candidates named as the store names them:
/// the alternative, the value, the depth, the input's index), estimated from `draws`
/// architectures (seeded by `seed`); see the [module documentation](self). A label missing
/// from `probabilities` draws uniformly. `None` when no drawn architecture can be costed.
pub fn expected_cost(
    g: &Graph,
    probabilities: &BTreeMap<String, BTreeMap<String, f64>>,
    measure: Measure,
    draws: usize,
    seed: u64,
) -> Option<f64> {
    // Per label: the candidates' probabilities in the domain's order, and `k` for input choices.
    let labels: Vec<(Vec<f64>, Option<usize>)> = g
        .labels
        .labels
        .iter()
        .map(|info| {
            let (names, k): (Vec<String>, Option<usize>) = match &info.domain {
                Domain::Values { values } => (
                    values
                        .iter()
                        .map(|v| match v {
                            crate::ir::Const::Str(s) => s.clone(),
                            v => v.to_string(),
                        })
                        .collect(),
                    None,
                ),
                Domain::Alternatives { names } => (names.clone(), None),
                Domain::Inputs { n, k } => ((0..*n).map(|i| i.to_string()).collect(), Some(*k)),
            };
            let probs = probabilities.get(&info.name);
            let p = names
                .iter()
                .map(|n| probs.and_then(|m| m.get(n)).copied().unwrap_or(1.0))
                .collect();
            (p, k)
        })
        .collect();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let (mut sum, mut n) = (0.0, 0usize);
    for _ in 0..draws {
        let choices = labels
            .iter()
            .map(|(p, k)| match k {
                Some(k) => Choice::Subset(draw(p, *k, &mut rng)),
                None => Choice::Index(draw(p, 1, &mut rng).first().copied().unwrap_or(0)),
            })
            .collect();
        if let Ok((params, flops)) = arch::cost(g, &Architecture { choices }) {
            sum += match measure {
                Measure::Params => params,
                Measure::Flops => flops,
            } as f64;
            n += 1;
        }
    }
    (n > 0).then(|| sum / n as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    #[test]
    fn best_so_far_follows_the_mode_and_skips_failures() {
        let v = [None, Some(0.5), Some(0.4), None, Some(0.7), Some(f64::NAN), Some(0.6)];
        let up = best_so_far(&v, Mode::Max);
        assert_eq!(up, [None, Some(0.5), Some(0.5), Some(0.5), Some(0.7), Some(0.7), Some(0.7)]);
        let down = best_so_far(&v, Mode::Min);
        assert_eq!(down, [None, Some(0.5), Some(0.4), Some(0.4), Some(0.4), Some(0.4), Some(0.4)]);
        assert!(best_so_far(&[], Mode::Max).is_empty());
    }

    #[test]
    fn the_pareto_front_keeps_exactly_the_non_dominated_points() {
        // (cost, accuracy), maximised.
        let p = [(10.0, 0.5), (20.0, 0.7), (15.0, 0.4), (30.0, 0.7), (5.0, 0.3), (25.0, 0.9)];
        assert_eq!(pareto_front(&p, Mode::Max), [4, 0, 1, 5]);
        // The same points with the metric minimised: the cheapest point also has the lowest
        // metric, so it dominates every other.
        assert_eq!(pareto_front(&p, Mode::Min), [4]);
        // Equal points: the first is kept; a NaN is left out.
        let q = [(1.0, 1.0), (1.0, 1.0), (f64::NAN, 5.0), (2.0, 2.0)];
        assert_eq!(pareto_front(&q, Mode::Max), [0, 3]);
        // Against brute force on random points: a point is on the front iff nothing dominates it.
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        for _ in 0..50 {
            let pts: Vec<(f64, f64)> = (0..40)
                .map(|_| (rng.random_range(0..10) as f64, rng.random_range(0..10) as f64))
                .collect();
            for mode in [Mode::Max, Mode::Min] {
                let front = pareto_front(&pts, mode);
                for (i, &(c, m)) in pts.iter().enumerate() {
                    let dominated = pts.iter().enumerate().any(|(j, &(c2, m2))| {
                        let (m, m2) = (mode.oriented(m), mode.oriented(m2));
                        let better = c2 <= c && m2 >= m && (c2 < c || m2 > m);
                        better || (j < i && c2 == c && m2 == m)
                    });
                    assert_eq!(front.contains(&i), !dominated, "{pts:?} {mode:?} point {i}");
                }
                assert!(front.windows(2).all(|w| pts[w[0]].0 <= pts[w[1]].0));
            }
        }
    }

    /// A synthetic search: three labels sampled at random, the metric decided by `op` alone
    /// (plus, in the second case, a little noise): `op` explains (almost) everything, the others
    /// (almost) nothing.
    #[test]
    fn importance_finds_the_one_label_that_decides_the_metric() {
        let labels: Vec<String> = ["width", "op", "depth"].map(String::from).to_vec();
        let ops = ["conv3x3", "conv5x5", "maxpool", "skip"];
        let effect = [0.9, 0.8, 0.5, 0.3];
        for noise in [0.0, 0.01] {
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
            let rows: Vec<(Vec<String>, f64)> = (0..200)
                .map(|_| {
                    let w = [4, 8, 16, 32, 64][rng.random_range(0..5)].to_string();
                    let o = rng.random_range(0..4);
                    let d = rng.random_range(1..=3).to_string();
                    let y = effect[o] + noise * (rng.random::<f64>() - 0.5);
                    (vec![w, ops[o].to_string(), d], y)
                })
                .collect();
            let imp = label_importance(&labels, &rows);
            let score = |l: &str| imp.iter().find(|i| i.label == l).and_then(|i| i.score);
            let op = score("op").expect("op is estimated");
            assert!(op > 0.99, "op explains the metric: {op} (noise {noise})");
            for other in ["width", "depth"] {
                let s = score(other).expect("estimated");
                assert!(s < 0.02, "{other} explains nothing: {s} (noise {noise})");
            }
            assert_eq!(imp.iter().map(|i| i.values).collect::<Vec<_>>(), [5, 4, 3]);
        }
    }

    #[test]
    fn importance_is_none_when_it_cannot_be_estimated() {
        let labels = vec!["a".to_string(), "b".to_string()];
        // `a` takes one value; the metric of `b`'s groups never varies.
        let rows: Vec<(Vec<String>, f64)> =
            (0..6).map(|i| (vec!["x".into(), (i % 2).to_string()], 0.5)).collect();
        let imp = label_importance(&labels, &rows);
        assert_eq!(imp[0], Importance { label: "a".into(), score: None, values: 1 });
        assert_eq!(imp[1].score, None);
        // As many trials as values: nothing left to estimate the noise from.
        let rows = vec![(vec!["1".into(), "p".into()], 0.1), (vec!["2".into(), "q".into()], 0.9)];
        assert!(label_importance(&labels, &rows).iter().all(|i| i.score.is_none()));
        assert!(label_importance(&labels, &[]).iter().all(|i| i.score.is_none()));
    }

    #[test]
    fn expected_cost_averages_the_costs_of_the_drawn_architectures() {
        let text = "network T(x: Tensor[n, 1, 8, 8]) -> Tensor[n, 10] {\n    let h = conv_bn_relu(x, out: choice width [4, 8], kernel: 3, stride: 1)\n    return linear(global_avg_pool(h), out: 10)\n}\n";
        let g = crate::driver::graphs_of_text("t.nas", text).expect("compiles").remove(0);
        let cost_of = |w: usize| {
            let a = Architecture { choices: vec![Choice::Index(w)] };
            arch::cost(&g, &a).expect("costs").0 as f64
        };
        let probs = |p4: f64| {
            let m: BTreeMap<String, f64> =
                [("4".to_string(), p4), ("8".to_string(), 1.0 - p4)].into();
            BTreeMap::from([("width".to_string(), m)])
        };
        // Certain choices: exactly that architecture's cost.
        assert_eq!(expected_cost(&g, &probs(1.0), Measure::Params, 50, 0), Some(cost_of(0)));
        assert_eq!(expected_cost(&g, &probs(0.0), Measure::Params, 50, 0), Some(cost_of(1)));
        // Even odds: about the mean of the two (4,000 draws: the standard error is under 1 %).
        let e = expected_cost(&g, &probs(0.5), Measure::Params, 4000, 1).expect("costed");
        let mean = (cost_of(0) + cost_of(1)) / 2.0;
        assert!((e - mean).abs() < 0.03 * mean, "{e} against {mean}");
        assert!(cost_of(0) < cost_of(1));
    }

    #[test]
    fn categories_put_numbers_in_order_before_text() {
        let c = categories(["16", "skip", "4", "8", "conv", "4", "2.5"]);
        assert_eq!(c, ["2.5", "4", "8", "16", "conv", "skip"]);
    }
}
