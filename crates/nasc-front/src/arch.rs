//! Architectures: one value for every label of a space, in NNI's flat JSON export format
//! (`{"label": value, ...}`); and `fix`, which resolves every choice of the IR into a plain
//! graph that later stages run.
//!
//! JSON values follow NNI: a layer choice records the chosen alternative's name (an index is
//! accepted too), a value choice its value, a repeat its depth, an input choice the list of
//! chosen candidate indices.

use crate::ir::{Const, Domain, EvalError, Graph, LabelId, NodeId, NodeKind, Op, Reduce, Sym};
use crate::source::Loc;
use rand::Rng;
use serde::Serialize;

/// The value one label takes in an architecture.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Choice {
    /// Index into the label's domain (value, layer and depth choices).
    Index(usize),
    /// Chosen candidate indices, sorted (input choices).
    Subset(Vec<usize>),
}

/// An assignment of every label of a graph, indexed by [`LabelId`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Architecture {
    /// One choice per label.
    pub choices: Vec<Choice>,
}

/// A problem with an architecture given as JSON, naming the label.
#[derive(Debug, Clone, PartialEq)]
pub enum ArchError {
    /// The text is not JSON (E0201).
    Json {
        /// serde_json's message.
        message: String,
        /// One-based line.
        line: usize,
        /// One-based column.
        column: usize,
    },
    /// A label given twice in the object (E0201: JSON readers differ on which value such a
    /// file means).
    Duplicate {
        /// The label.
        label: String,
        /// One-based line of its second place.
        line: usize,
        /// One-based column.
        column: usize,
    },
    /// The JSON is not an object (E0202).
    NotAnObject,
    /// A label of the space has no value (E0203).
    Missing {
        /// The label.
        label: String,
        /// Its domain, written out.
        allowed: String,
    },
    /// A key that is not a label of the space (E0204).
    Unknown {
        /// The key.
        label: String,
        /// A close label.
        suggestion: Option<String>,
    },
    /// A value outside the label's domain (E0205).
    OutOfDomain {
        /// The label.
        label: String,
        /// The value given, as JSON.
        value: String,
        /// The domain, written out.
        allowed: String,
        /// What is wrong with the value when that says more than the domain (a close
        /// alternative's name, a repeated candidate index).
        hint: Option<String>,
    },
}

/// The top level of an architecture file: an object whose keys are unique (a label given twice
/// is an error at its second place, naming it, where `serde_json::Value` would keep the last
/// value silently), or anything else.
enum TopLevel {
    Object(serde_json::Map<String, serde_json::Value>),
    Other,
}

impl<'de> serde::Deserialize<'de> for TopLevel {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = TopLevel;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON value")
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut access: A,
            ) -> Result<TopLevel, A::Error> {
                let mut map = serde_json::Map::new();
                while let Some(key) = access.next_key::<String>()? {
                    if map.contains_key(&key) {
                        return Err(serde::de::Error::custom(format!(
                            "the label `{key}` is given twice"
                        )));
                    }
                    let value: serde_json::Value = access.next_value()?;
                    map.insert(key, value);
                }
                Ok(TopLevel::Object(map))
            }

            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut access: A,
            ) -> Result<TopLevel, A::Error> {
                while access.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(TopLevel::Other)
            }

            fn visit_bool<E>(self, _: bool) -> Result<TopLevel, E> {
                Ok(TopLevel::Other)
            }

            fn visit_i64<E>(self, _: i64) -> Result<TopLevel, E> {
                Ok(TopLevel::Other)
            }

            fn visit_u64<E>(self, _: u64) -> Result<TopLevel, E> {
                Ok(TopLevel::Other)
            }

            fn visit_f64<E>(self, _: f64) -> Result<TopLevel, E> {
                Ok(TopLevel::Other)
            }

            fn visit_str<E>(self, _: &str) -> Result<TopLevel, E> {
                Ok(TopLevel::Other)
            }

            fn visit_unit<E>(self) -> Result<TopLevel, E> {
                Ok(TopLevel::Other)
            }
        }
        d.deserialize_any(Visit)
    }
}

/// Why `v` is not in `domain`, when a sentence says more than the domain itself.
fn domain_hint(domain: &Domain, v: &serde_json::Value) -> Option<String> {
    match (domain, v) {
        (Domain::Alternatives { names }, serde_json::Value::String(s)) => {
            crate::resolve::suggest(s, names.iter().map(String::as_str))
                .map(|close| format!("did you mean `{close}`?"))
        }
        (Domain::Values { values }, serde_json::Value::Number(n))
            if n.as_i64().is_none() && values.iter().any(|c| matches!(c, Const::Int(_))) =>
        {
            let f = n.as_f64().unwrap_or(f64::NAN);
            (f.fract() == 0.0 && f.abs() < 9e15 && values.contains(&Const::Int(f as i64)))
                .then(|| format!("the values are integers: write `{}`, not `{n}`", f as i64))
        }
        (Domain::Alternatives { names }, serde_json::Value::Number(_)) => Some(format!(
            "an alternative is given by its name or by its index, 0 to {}",
            names.len().saturating_sub(1)
        )),
        (Domain::Inputs { n, k }, serde_json::Value::Array(a)) => {
            let idx: Vec<Option<u64>> = a.iter().map(serde_json::Value::as_u64).collect();
            if idx.iter().any(Option::is_none) {
                return Some(format!(
                    "candidates are given by their indices, 0 to {}",
                    n.saturating_sub(1)
                ));
            }
            let mut sorted: Vec<u64> = idx.into_iter().flatten().collect();
            sorted.sort_unstable();
            if let Some(w) = sorted.windows(2).find(|w| w[0] == w[1]) {
                return Some(format!(
                    "candidate {} is picked twice; pick {k} different candidates",
                    w[0]
                ));
            }
            if let Some(big) = sorted.iter().find(|i| **i as usize >= *n) {
                return Some(format!(
                    "there is no candidate {big}: the indices are 0 to {}",
                    n.saturating_sub(1)
                ));
            }
            (sorted.len() != *k)
                .then(|| format!("pick exactly {k} of the {n} candidates ({} given)", sorted.len()))
        }
        _ => None,
    }
}

fn json_of(c: &Const) -> serde_json::Value {
    match c {
        Const::Int(i) => serde_json::Value::from(*i),
        Const::Float(f) => serde_json::Value::from(*f),
        Const::Bool(b) => serde_json::Value::from(*b),
        Const::Str(s) => serde_json::Value::from(s.clone()),
    }
}

fn const_matches(c: &Const, v: &serde_json::Value) -> bool {
    match (c, v) {
        (Const::Int(i), serde_json::Value::Number(n)) => n.as_i64() == Some(*i),
        (Const::Float(f), serde_json::Value::Number(n)) => n.as_f64() == Some(*f),
        (Const::Bool(b), serde_json::Value::Bool(x)) => b == x,
        (Const::Str(s), serde_json::Value::String(x)) => s == x,
        _ => false,
    }
}

impl Architecture {
    /// The value of a value or depth label, for evaluating symbolic values.
    pub fn value(&self, g: &Graph, l: LabelId) -> Const {
        match (&g.labels.get(l).domain, &self.choices[l.0 as usize]) {
            (Domain::Values { values }, Choice::Index(i)) => values[*i].clone(),
            _ => Const::Int(0),
        }
    }

    /// Evaluates a symbolic value under this architecture (the batch size is 1).
    pub fn eval(&self, g: &Graph, s: &Sym) -> Result<Const, EvalError> {
        s.eval(&|l| self.value(g, l), &|_| Some(1))
    }

    /// The architecture as NNI's flat JSON object.
    pub fn to_json(&self, g: &Graph) -> serde_json::Map<String, serde_json::Value> {
        let mut m = serde_json::Map::new();
        for id in g.labels.ids() {
            let info = g.labels.get(id);
            let v = match (&info.domain, &self.choices[id.0 as usize]) {
                (Domain::Values { values }, Choice::Index(i)) => json_of(&values[*i]),
                (Domain::Alternatives { names }, Choice::Index(i)) => {
                    serde_json::Value::from(names[*i].clone())
                }
                (_, Choice::Subset(s)) => serde_json::Value::from(s.clone()),
                _ => serde_json::Value::Null,
            };
            m.insert(info.name.clone(), v);
        }
        m
    }

    /// Reads an architecture from JSON text, checking it against `g`'s labels. Every problem
    /// is returned, each naming its label.
    pub fn from_json(g: &Graph, text: &str) -> Result<Architecture, Vec<ArchError>> {
        let top: TopLevel = serde_json::from_str(text).map_err(|e| {
            let (line, column) = (e.line(), e.column());
            // The only data error `TopLevel` raises is a label given twice.
            let message = e.to_string();
            match (e.classify(), message.split('`').nth(1)) {
                (serde_json::error::Category::Data, Some(label)) => {
                    vec![ArchError::Duplicate { label: label.to_string(), line, column }]
                }
                _ => vec![ArchError::Json { message, line, column }],
            }
        })?;
        let TopLevel::Object(map) = top else { return Err(vec![ArchError::NotAnObject]) };
        let mut errors = Vec::new();
        let mut missing = Vec::new();
        let mut choices = Vec::new();
        for id in g.labels.ids() {
            let info = g.labels.get(id);
            let allowed = info.domain.describe();
            let Some(v) = map.get(&info.name) else {
                missing.push((id, ArchError::Missing { label: info.name.clone(), allowed }));
                choices.push(match &info.domain {
                    Domain::Inputs { k, .. } => Choice::Subset((0..*k).collect()),
                    _ => Choice::Index(0),
                });
                continue;
            };
            let out = || ArchError::OutOfDomain {
                label: info.name.clone(),
                value: v.to_string(),
                allowed: allowed.clone(),
                hint: domain_hint(&info.domain, v),
            };
            let c = match &info.domain {
                Domain::Values { values } => {
                    values.iter().position(|c| const_matches(c, v)).map(Choice::Index)
                }
                Domain::Alternatives { names } => match v {
                    serde_json::Value::String(s) => {
                        names.iter().position(|n| n == s).map(Choice::Index)
                    }
                    serde_json::Value::Number(n) => n
                        .as_u64()
                        .map(|i| i as usize)
                        .filter(|i| *i < names.len())
                        .map(Choice::Index),
                    _ => None,
                },
                Domain::Inputs { n, k } => {
                    let idx: Option<Vec<usize>> = match v {
                        serde_json::Value::Array(a) => {
                            a.iter().map(|x| x.as_u64().map(|i| i as usize)).collect()
                        }
                        serde_json::Value::Number(x) => x.as_u64().map(|i| vec![i as usize]),
                        _ => None,
                    };
                    idx.and_then(|mut s| {
                        s.sort();
                        s.dedup();
                        (s.len() == *k && s.iter().all(|i| i < n)).then_some(Choice::Subset(s))
                    })
                }
            };
            match c {
                Some(c) => choices.push(c),
                None => {
                    errors.push(out());
                    choices.push(match &info.domain {
                        Domain::Inputs { k, .. } => Choice::Subset((0..*k).collect()),
                        _ => Choice::Index(0),
                    });
                }
            }
        }
        // A label may be left out when the architecture does not use it (a choice inside an
        // alternative not taken, a repetition beyond the chosen depth).
        // (Values that were out of domain count as their domain's first value here.)
        if !missing.is_empty() {
            let active = active_labels(g, &Architecture { choices: choices.clone() });
            errors
                .extend(missing.into_iter().filter(|(id, _)| active.contains(id)).map(|(_, e)| e));
        }
        for key in map.keys() {
            if g.labels.find(key).is_none() {
                let suggestion =
                    crate::resolve::suggest(key, g.labels.labels.iter().map(|l| l.name.as_str()));
                errors.push(ArchError::Unknown { label: key.clone(), suggestion });
            }
        }
        if errors.is_empty() {
            Ok(Architecture { choices })
        } else {
            Err(errors)
        }
    }

    /// A uniformly random architecture (each label independently uniform over its domain).
    pub fn random(g: &Graph, rng: &mut impl Rng) -> Architecture {
        let choices = g
            .labels
            .labels
            .iter()
            .map(|info| match &info.domain {
                Domain::Values { values } => Choice::Index(rng.random_range(0..values.len())),
                Domain::Alternatives { names } => Choice::Index(rng.random_range(0..names.len())),
                Domain::Inputs { n, k } => {
                    let mut s = rand::seq::index::sample(rng, *n, *k).into_vec();
                    s.sort();
                    Choice::Subset(s)
                }
            })
            .collect();
        Architecture { choices }
    }
}

/// Which nodes run under `arch`: walks back from the output, following only chosen
/// alternatives, depths and inputs.
pub fn liveness(g: &Graph, arch: &Architecture) -> Vec<bool> {
    let mut live = vec![false; g.nodes.len()];
    let mut stack = vec![g.output];
    while let Some(n) = stack.pop() {
        if live[n.index()] {
            continue;
        }
        live[n.index()] = true;
        match &g.nodes.get(n).kind {
            NodeKind::Input { .. } => {}
            NodeKind::Op { inputs, .. } => stack.extend(inputs.iter().copied()),
            NodeKind::LayerChoice { label, alternatives } => {
                if let Choice::Index(i) = arch.choices[label.0 as usize] {
                    stack.push(alternatives[i]);
                }
            }
            NodeKind::InputChoice { label, candidates, .. } => {
                if let Choice::Subset(s) = &arch.choices[label.0 as usize] {
                    stack.extend(s.iter().map(|i| candidates[*i]));
                }
            }
            NodeKind::Repeat { label, outputs, .. } => {
                if let Choice::Index(i) = arch.choices[label.0 as usize] {
                    stack.push(outputs[i]);
                }
            }
            NodeKind::Select { cond, then, otherwise } => match arch.eval(g, cond) {
                Ok(Const::Bool(true)) => stack.push(*then),
                Ok(Const::Bool(false)) => stack.push(*otherwise),
                _ => {}
            },
        }
    }
    live
}

/// The labels an architecture uses: those of the choices that run, and the value choices that
/// the operators that run depend on. Sorted.
pub fn active_labels(g: &Graph, a: &Architecture) -> Vec<LabelId> {
    let live = liveness(g, a);
    let mut used: Vec<LabelId> = Vec::new();
    for (h, node) in g.nodes.iter() {
        if !live[h.index()] {
            continue;
        }
        match &node.kind {
            NodeKind::LayerChoice { label, .. }
            | NodeKind::InputChoice { label, .. }
            | NodeKind::Repeat { label, .. } => used.push(*label),
            NodeKind::Op { attrs, cost, .. } => {
                for (_, s) in attrs.iter() {
                    used.extend(s.labels());
                }
                used.extend(cost.params.labels());
                used.extend(cost.flops.labels());
            }
            NodeKind::Select { cond, .. } => used.extend(cond.labels()),
            NodeKind::Input { .. } => {}
        }
        for d in node.shape.iter() {
            used.extend(d.labels());
        }
    }
    used.sort();
    used.dedup();
    used
}

/// Parameter count and multiply-accumulates (per sample) of one architecture, from the IR
/// alone: the sum of the `params` and `flops` formulas of every operator that runs.
pub fn cost(g: &Graph, arch: &Architecture) -> Result<(u64, u64), EvalError> {
    let live = liveness(g, arch);
    let (mut params, mut flops) = (0u64, 0u64);
    for (h, node) in g.nodes.iter() {
        if !live[h.index()] {
            continue;
        }
        if let NodeKind::Op { cost, .. } = &node.kind {
            params = params
                .checked_add(as_count(arch.eval(g, &cost.params)?)?)
                .ok_or(EvalError::Overflow)?;
            flops = flops
                .checked_add(as_count(arch.eval(g, &cost.flops)?)?)
                .ok_or(EvalError::Overflow)?;
        }
    }
    Ok((params, flops))
}

fn as_count(c: Const) -> Result<u64, EvalError> {
    match c {
        Const::Int(i) if i >= 0 => Ok(i as u64),
        Const::Float(f) if f >= 0.0 => Ok(f.round() as u64),
        other => Err(EvalError::Type(format!("a cost must be a non-negative number, not {other}"))),
    }
}

/// One operator of a [`FixedGraph`].
#[derive(Debug, Clone, Serialize)]
pub struct FixedNode {
    /// `input`, or the operator's name (`conv2d`, `add`, `mean`, `concat`, ...).
    pub op: String,
    /// The operator, when the runtime implements it (`None` for an input, and for an operator
    /// declared in `.nas` that the runtime does not run).
    #[serde(skip)]
    pub kind: Option<Op>,
    /// Indices of the nodes it reads, all smaller than its own.
    pub inputs: Vec<usize>,
    /// Scalar arguments, evaluated.
    pub attrs: Vec<(String, Const)>,
    /// Output shape; the batch dimension is `None`.
    pub shape: Vec<Option<i64>>,
    /// Trainable parameters.
    pub params: u64,
    /// Multiply-accumulates per sample.
    pub flops: u64,
    /// Where it was written.
    #[serde(skip)]
    pub loc: Loc,
}

/// A network with every choice resolved: plain operators in topological order.
#[derive(Debug, Clone, Serialize)]
pub struct FixedGraph {
    /// The network's name.
    pub name: String,
    /// The operators, inputs first.
    pub nodes: Vec<FixedNode>,
    /// Indices of the input nodes.
    pub inputs: Vec<usize>,
    /// Index of the output node.
    pub output: usize,
    /// Total trainable parameters.
    pub params: u64,
    /// Total multiply-accumulates per sample.
    pub flops: u64,
}

/// Resolves every choice of `g` under `arch` (pure: no tensors). Input choices of more than
/// one input become `add` (sum), `mean` or `concat` nodes.
pub fn fix(g: &Graph, arch: &Architecture) -> Result<FixedGraph, EvalError> {
    let live = liveness(g, arch);
    // Each IR node maps to the fixed node that holds its value.
    let mut map: Vec<Option<usize>> = vec![None; g.nodes.len()];
    let mut nodes: Vec<FixedNode> = Vec::new();
    let mut inputs = Vec::new();
    let shape_of = |s: &[Sym]| -> Result<Vec<Option<i64>>, EvalError> {
        s.iter()
            .enumerate()
            .map(|(i, d)| match (i, d) {
                (0, Sym::Var(_)) => Ok(None),
                _ => match arch.eval(g, d)? {
                    Const::Int(v) => Ok(Some(v)),
                    other => {
                        Err(EvalError::Type(format!("a dimension must be an integer, not {other}")))
                    }
                },
            })
            .collect()
    };
    let get = |map: &Vec<Option<usize>>, n: NodeId| {
        map[n.index()]
            .ok_or_else(|| EvalError::Type("a node reads a value that is not computed".into()))
    };
    for (h, node) in g.nodes.iter() {
        if !live[h.index()] {
            continue;
        }
        let loc = g.nodes.loc(h);
        match &node.kind {
            NodeKind::Input { name, .. } => {
                inputs.push(nodes.len());
                map[h.index()] = Some(nodes.len());
                nodes.push(FixedNode {
                    op: "input".into(),
                    kind: None,
                    inputs: Vec::new(),
                    attrs: vec![("name".into(), Const::Str(name.clone()))],
                    shape: shape_of(&node.shape)?,
                    params: 0,
                    flops: 0,
                    loc,
                });
            }
            NodeKind::Op { op, kind, inputs: ins, attrs, cost } => {
                let ins = ins.iter().map(|i| get(&map, *i)).collect::<Result<Vec<_>, _>>()?;
                let attrs = attrs
                    .iter()
                    .map(|(k, v)| Ok((k.to_string(), arch.eval(g, v)?)))
                    .collect::<Result<Vec<_>, EvalError>>()?;
                map[h.index()] = Some(nodes.len());
                nodes.push(FixedNode {
                    op: op.to_string(),
                    kind: *kind,
                    inputs: ins,
                    attrs,
                    shape: shape_of(&node.shape)?,
                    params: as_count(arch.eval(g, &cost.params)?)?,
                    flops: as_count(arch.eval(g, &cost.flops)?)?,
                    loc,
                });
            }
            NodeKind::LayerChoice { label, alternatives } => {
                let Choice::Index(i) = arch.choices[label.0 as usize] else { continue };
                map[h.index()] = Some(get(&map, alternatives[i])?);
            }
            NodeKind::Repeat { label, outputs, .. } => {
                let Choice::Index(i) = arch.choices[label.0 as usize] else { continue };
                map[h.index()] = Some(get(&map, outputs[i])?);
            }
            NodeKind::Select { cond, then, otherwise } => {
                let pick = match arch.eval(g, cond)? {
                    Const::Bool(true) => *then,
                    Const::Bool(false) => *otherwise,
                    other => {
                        return Err(EvalError::Type(format!("`if` needs a bool, not {other}")))
                    }
                };
                map[h.index()] = Some(get(&map, pick)?);
            }
            NodeKind::InputChoice { label, candidates, reduce, .. } => {
                let Choice::Subset(s) = &arch.choices[label.0 as usize] else { continue };
                let ins =
                    s.iter().map(|i| get(&map, candidates[*i])).collect::<Result<Vec<_>, _>>()?;
                if ins.len() == 1 {
                    map[h.index()] = Some(ins[0]);
                    continue;
                }
                let op = match reduce {
                    Reduce::Sum => Op::Add,
                    Reduce::Mean => Op::Mean,
                    Reduce::Concat => Op::Concat,
                };
                map[h.index()] = Some(nodes.len());
                nodes.push(FixedNode {
                    op: op.name().into(),
                    kind: Some(op),
                    inputs: ins,
                    attrs: Vec::new(),
                    shape: shape_of(&node.shape)?,
                    params: 0,
                    flops: 0,
                    loc,
                });
            }
        }
    }
    let output = get(&map, g.output)?;
    let params = nodes.iter().map(|n| n.params).sum();
    let flops = nodes.iter().map(|n| n.flops).sum();
    Ok(FixedGraph { name: g.name.clone(), nodes, inputs, output, params, flops })
}

/// Every architecture of `g` in order, if there are at most `limit`; `None` otherwise.
pub fn enumerate(g: &Graph, limit: u64) -> Option<Vec<Architecture>> {
    let mut per_label: Vec<Vec<Choice>> = Vec::new();
    let mut total: u64 = 1;
    for info in &g.labels.labels {
        let options: Vec<Choice> = match &info.domain {
            Domain::Values { values } => (0..values.len()).map(Choice::Index).collect(),
            Domain::Alternatives { names } => (0..names.len()).map(Choice::Index).collect(),
            Domain::Inputs { n, k } => {
                if info.domain.size()? > limit {
                    return None;
                }
                combinations(*n, *k).into_iter().map(Choice::Subset).collect()
            }
        };
        total = total.checked_mul(options.len() as u64)?;
        if total > limit {
            return None;
        }
        per_label.push(options);
    }
    let mut out = Vec::with_capacity(total as usize);
    let mut idx = vec![0usize; per_label.len()];
    loop {
        out.push(Architecture {
            choices: idx.iter().zip(&per_label).map(|(i, o)| o[*i].clone()).collect(),
        });
        let mut k = 0;
        loop {
            if k == idx.len() {
                return Some(out);
            }
            idx[k] += 1;
            if idx[k] < per_label[k].len() {
                break;
            }
            idx[k] = 0;
            k += 1;
        }
    }
}

/// Every `k`-subset of `0..n`, sorted, in lexicographic order.
pub fn combinations(n: usize, k: usize) -> Vec<Vec<usize>> {
    let mut out = Vec::new();
    let mut cur = Vec::with_capacity(k);
    fn go(start: usize, n: usize, k: usize, cur: &mut Vec<usize>, out: &mut Vec<Vec<usize>>) {
        if cur.len() == k {
            out.push(cur.clone());
            return;
        }
        for i in start..n {
            if n - i < k - cur.len() {
                break;
            }
            cur.push(i);
            go(i + 1, n, k, cur, out);
            cur.pop();
        }
    }
    go(0, n, k, &mut cur, &mut out);
    out
}
