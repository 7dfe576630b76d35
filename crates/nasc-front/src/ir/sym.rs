//! Symbolic values: integers, floats, booleans and strings that may depend on choice labels
//! (`width * 2`, `kernel / 2`) or on free dimension symbols (the batch size `n`).
//!
//! Constructors fold constants, so a space without value choices only ever holds constants.
//! Integer `/` is floor division and `%` the matching remainder (as Python's), so spatial sizes
//! follow PyTorch's formula `floor((h + 2p - d(k-1) - 1) / s) + 1`.

use crate::syntax::ast::{BinOp, UnaryOp};
use serde::{Serialize, Serializer};
use std::fmt;
use std::sync::Arc;

/// A name held in the IR: an operator's, an attribute's, a free dimension symbol's. Its text
/// is shared, so copying a node or a shape copies no string.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Name(Arc<str>);

impl Name {
    /// A name with this text.
    pub fn new(text: &str) -> Name {
        Name(Arc::from(text))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::ops::Deref for Name {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl From<&str> for Name {
    fn from(text: &str) -> Name {
        Name::new(text)
    }
}

impl From<String> for Name {
    fn from(text: String) -> Name {
        Name(Arc::from(text))
    }
}

impl PartialEq<str> for Name {
    fn eq(&self, other: &str) -> bool {
        &*self.0 == other
    }
}

impl PartialEq<&str> for Name {
    fn eq(&self, other: &&str) -> bool {
        &*self.0 == *other
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl Serialize for Name {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

/// Index of a label in a [`super::LabelTable`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct LabelId(pub u32);

/// A constant value.
#[derive(Debug, Clone, PartialEq)]
pub enum Const {
    /// A 64-bit integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A boolean.
    Bool(bool),
    /// A string.
    Str(String),
}

impl Serialize for Const {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Const::Int(i) => s.serialize_i64(*i),
            Const::Float(f) => s.serialize_f64(*f),
            Const::Bool(b) => s.serialize_bool(*b),
            Const::Str(t) => s.serialize_str(t),
        }
    }
}

impl fmt::Display for Const {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Const::Int(i) => write!(f, "{i}"),
            Const::Float(x) => {
                if x.fract() == 0.0 && x.abs() < 1e15 {
                    write!(f, "{x:.1}")
                } else {
                    write!(f, "{x}")
                }
            }
            Const::Bool(b) => write!(f, "{b}"),
            Const::Str(s) => write!(f, "{s:?}"),
        }
    }
}

/// The scalar types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ScalarType {
    /// `int`
    Int,
    /// `float`
    Float,
    /// `bool`
    Bool,
    /// `str`
    Str,
}

impl fmt::Display for ScalarType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ScalarType::Int => "int",
            ScalarType::Float => "float",
            ScalarType::Bool => "bool",
            ScalarType::Str => "str",
        })
    }
}

impl Const {
    /// The constant's type.
    pub fn ty(&self) -> ScalarType {
        match self {
            Const::Int(_) => ScalarType::Int,
            Const::Float(_) => ScalarType::Float,
            Const::Bool(_) => ScalarType::Bool,
            Const::Str(_) => ScalarType::Str,
        }
    }

    /// As a float, for ints and floats.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Const::Int(i) => Some(*i as f64),
            Const::Float(f) => Some(*f),
            _ => None,
        }
    }
}

/// Why a symbolic value could not be evaluated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EvalError {
    /// Division or remainder by zero.
    DivisionByZero,
    /// An integer result outside 64 bits.
    Overflow,
    /// An operator applied to values of the wrong type (`"a" * 2`).
    Type(String),
    /// A free dimension symbol (such as the batch size) where a number is needed.
    Free(String),
}

impl fmt::Display for EvalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EvalError::DivisionByZero => f.write_str("division by zero"),
            EvalError::Overflow => f.write_str("integer overflow"),
            EvalError::Type(t) => f.write_str(t),
            EvalError::Free(n) => write!(f, "`{n}` has no value here"),
        }
    }
}

/// A value that may depend on labels and free symbols.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "sym", content = "of")]
pub enum Sym {
    /// A constant.
    Const(Const),
    /// The value a value choice (or depth choice) takes.
    Label(LabelId),
    /// A free dimension symbol, such as the batch size `n`.
    Var(Name),
    /// `-x`, `not x`
    Unary(UnaryOp, Box<Sym>),
    /// `a op b`
    Binary(BinOp, Box<Sym>, Box<Sym>),
    /// `if c then a else b`
    If(Box<Sym>, Box<Sym>, Box<Sym>),
}

impl Sym {
    /// An integer constant.
    pub fn int(i: i64) -> Sym {
        Sym::Const(Const::Int(i))
    }

    /// The constant, if this is one.
    pub fn as_const(&self) -> Option<&Const> {
        match self {
            Sym::Const(c) => Some(c),
            _ => None,
        }
    }

    /// The integer constant, if this is one.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Sym::Const(Const::Int(i)) => Some(*i),
            _ => None,
        }
    }

    /// `-x` or `not x`, folded when constant.
    pub fn unary(op: UnaryOp, x: Sym) -> Result<Sym, EvalError> {
        if let Sym::Const(c) = &x {
            return unary_const(op, c).map(Sym::Const);
        }
        Ok(Sym::Unary(op, Box::new(x)))
    }

    /// `a op b`, folded when both are constant and simplified for `x + 0`, `x * 1`, `x / 1`,
    /// and for `and` / `or` with one constant side (`false and x` is `false`, `true and x` is
    /// `x`), so that a condition known at compile time stays known.
    pub fn binary(op: BinOp, a: Sym, b: Sym) -> Result<Sym, EvalError> {
        if let (Sym::Const(x), Sym::Const(y)) = (&a, &b) {
            return binary_const(op, x, y).map(Sym::Const);
        }
        if matches!(op, BinOp::And | BinOp::Or) {
            let absorbing = op == BinOp::Or;
            for (known, other) in [(&a, &b), (&b, &a)] {
                if let Sym::Const(Const::Bool(k)) = known {
                    return Ok(if *k == absorbing {
                        Sym::Const(Const::Bool(absorbing))
                    } else {
                        other.clone()
                    });
                }
            }
        }
        match (op, a.as_int(), b.as_int()) {
            (BinOp::Add, _, Some(0))
            | (BinOp::Sub, _, Some(0))
            | (BinOp::Mul, _, Some(1))
            | (BinOp::Div, _, Some(1)) => Ok(a),
            (BinOp::Add, Some(0), _) | (BinOp::Mul, Some(1), _) => Ok(b),
            _ => Ok(Sym::Binary(op, Box::new(a), Box::new(b))),
        }
    }

    /// `if c then a else b`, folded when `c` is constant.
    pub fn cond(c: Sym, a: Sym, b: Sym) -> Result<Sym, EvalError> {
        match c {
            Sym::Const(Const::Bool(true)) => Ok(a),
            Sym::Const(Const::Bool(false)) => Ok(b),
            Sym::Const(other) => {
                Err(EvalError::Type(format!("`if` needs a bool, not {}", other.ty())))
            }
            c => {
                if a == b {
                    Ok(a)
                } else {
                    Ok(Sym::If(Box::new(c), Box::new(a), Box::new(b)))
                }
            }
        }
    }

    /// This value with some labels replaced by constants (`value` returns `None` for the labels
    /// to keep), folded again.
    pub fn substitute(&self, value: &dyn Fn(LabelId) -> Option<Const>) -> Sym {
        let fold = |r: Result<Sym, EvalError>, orig: &Sym| r.unwrap_or_else(|_| orig.clone());
        match self {
            Sym::Const(_) | Sym::Var(_) => self.clone(),
            Sym::Label(l) => value(*l).map(Sym::Const).unwrap_or_else(|| self.clone()),
            Sym::Unary(op, x) => fold(Sym::unary(*op, x.substitute(value)), self),
            Sym::Binary(op, a, b) => {
                fold(Sym::binary(*op, a.substitute(value), b.substitute(value)), self)
            }
            Sym::If(c, a, b) => {
                fold(Sym::cond(c.substitute(value), a.substitute(value), b.substitute(value)), self)
            }
        }
    }

    /// Every label this value depends on, sorted, without repeats.
    pub fn labels(&self) -> Vec<LabelId> {
        let mut out = Vec::new();
        self.labels_into(&mut out);
        out.sort();
        out.dedup();
        out
    }

    /// Appends every label this value depends on to `out`, in the order met, repeats included
    /// (no allocation for a value without labels).
    pub fn labels_into(&self, out: &mut Vec<LabelId>) {
        match self {
            Sym::Const(_) | Sym::Var(_) => {}
            Sym::Label(l) => out.push(*l),
            Sym::Unary(_, x) => x.labels_into(out),
            Sym::Binary(_, a, b) => {
                a.labels_into(out);
                b.labels_into(out);
            }
            Sym::If(c, a, b) => {
                c.labels_into(out);
                a.labels_into(out);
                b.labels_into(out);
            }
        }
    }

    /// Whether this value depends on a free symbol.
    pub fn has_vars(&self) -> bool {
        match self {
            Sym::Const(_) | Sym::Label(_) => false,
            Sym::Var(_) => true,
            Sym::Unary(_, x) => x.has_vars(),
            Sym::Binary(_, a, b) => a.has_vars() || b.has_vars(),
            Sym::If(c, a, b) => c.has_vars() || a.has_vars() || b.has_vars(),
        }
    }

    /// Every free symbol this value depends on, sorted, without repeats.
    pub fn vars(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.collect(&mut Vec::new(), &mut out);
        out.sort();
        out.dedup();
        out
    }

    fn collect(&self, labels: &mut Vec<LabelId>, vars: &mut Vec<String>) {
        match self {
            Sym::Const(_) => {}
            Sym::Label(l) => labels.push(*l),
            Sym::Var(v) => vars.push(v.to_string()),
            Sym::Unary(_, x) => x.collect(labels, vars),
            Sym::Binary(_, a, b) => {
                a.collect(labels, vars);
                b.collect(labels, vars);
            }
            Sym::If(c, a, b) => {
                c.collect(labels, vars);
                a.collect(labels, vars);
                b.collect(labels, vars);
            }
        }
    }

    /// Evaluates with the label values `label` and free-symbol values `var` give.
    pub fn eval(
        &self,
        label: &dyn Fn(LabelId) -> Const,
        var: &dyn Fn(&str) -> Option<i64>,
    ) -> Result<Const, EvalError> {
        match self {
            Sym::Const(c) => Ok(c.clone()),
            Sym::Label(l) => Ok(label(*l)),
            Sym::Var(v) => var(v).map(Const::Int).ok_or_else(|| EvalError::Free(v.to_string())),
            Sym::Unary(op, x) => unary_const(*op, &x.eval(label, var)?),
            Sym::Binary(op, a, b) => binary_const(*op, &a.eval(label, var)?, &b.eval(label, var)?),
            Sym::If(c, a, b) => match c.eval(label, var)? {
                Const::Bool(true) => a.eval(label, var),
                Const::Bool(false) => b.eval(label, var),
                other => Err(EvalError::Type(format!("`if` needs a bool, not {}", other.ty()))),
            },
        }
    }

    /// Writes the value with label names from `names`.
    pub fn display<'a>(&'a self, names: &'a dyn Fn(LabelId) -> String) -> SymDisplay<'a> {
        SymDisplay { sym: self, names }
    }
}

/// Display adapter for [`Sym`] (see [`Sym::display`]).
pub struct SymDisplay<'a> {
    sym: &'a Sym,
    names: &'a dyn Fn(LabelId) -> String,
}

fn prec(op: BinOp) -> u8 {
    match op {
        BinOp::Range => 1,
        BinOp::Or => 2,
        BinOp::And => 3,
        BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => 4,
        BinOp::Add | BinOp::Sub => 5,
        BinOp::Mul | BinOp::Div | BinOp::Rem => 6,
        BinOp::Pow => 7,
    }
}

impl SymDisplay<'_> {
    fn write(&self, s: &Sym, f: &mut fmt::Formatter<'_>, outer: u8) -> fmt::Result {
        match s {
            Sym::Const(c) => write!(f, "{c}"),
            Sym::Label(l) => write!(f, "{}", (self.names)(*l)),
            Sym::Var(v) => f.write_str(v),
            Sym::Unary(UnaryOp::Neg, x) => {
                f.write_str("-")?;
                self.write(x, f, 8)
            }
            Sym::Unary(UnaryOp::Not, x) => {
                f.write_str("not ")?;
                self.write(x, f, 8)
            }
            Sym::Binary(op, a, b) => {
                let p = prec(*op);
                if p < outer {
                    f.write_str("(")?;
                }
                self.write(a, f, p)?;
                write!(f, " {} ", op.symbol())?;
                self.write(b, f, p + 1)?;
                if p < outer {
                    f.write_str(")")?;
                }
                Ok(())
            }
            Sym::If(c, a, b) => {
                if outer > 0 {
                    f.write_str("(")?;
                }
                f.write_str("if ")?;
                self.write(c, f, 0)?;
                f.write_str(" then ")?;
                self.write(a, f, 0)?;
                f.write_str(" else ")?;
                self.write(b, f, 0)?;
                if outer > 0 {
                    f.write_str(")")?;
                }
                Ok(())
            }
        }
    }
}

impl fmt::Display for SymDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write(self.sym, f, 0)
    }
}

fn unary_const(op: UnaryOp, c: &Const) -> Result<Const, EvalError> {
    match (op, c) {
        (UnaryOp::Neg, Const::Int(i)) => i.checked_neg().map(Const::Int).ok_or(EvalError::Overflow),
        (UnaryOp::Neg, Const::Float(x)) => Ok(Const::Float(-x)),
        (UnaryOp::Not, Const::Bool(b)) => Ok(Const::Bool(!b)),
        (UnaryOp::Neg, other) => Err(EvalError::Type(format!("cannot negate a {}", other.ty()))),
        (UnaryOp::Not, other) => {
            Err(EvalError::Type(format!("`not` needs a bool, not {}", other.ty())))
        }
    }
}

fn floor_div(a: i64, b: i64) -> Result<i64, EvalError> {
    if b == 0 {
        return Err(EvalError::DivisionByZero);
    }
    let q = a.checked_div(b).ok_or(EvalError::Overflow)?;
    Ok(if (a % b != 0) && ((a < 0) != (b < 0)) { q - 1 } else { q })
}

fn binary_const(op: BinOp, a: &Const, b: &Const) -> Result<Const, EvalError> {
    use Const::*;
    let ty_err =
        || EvalError::Type(format!("`{}` cannot combine {} and {}", op.symbol(), a.ty(), b.ty()));
    match op {
        BinOp::And | BinOp::Or => match (a, b) {
            (Bool(x), Bool(y)) => Ok(Bool(if op == BinOp::And { *x && *y } else { *x || *y })),
            _ => Err(ty_err()),
        },
        BinOp::Eq | BinOp::Ne => {
            let eq = match (a, b) {
                (Int(_) | Float(_), Int(_) | Float(_)) => match (a, b) {
                    (Int(x), Int(y)) => x == y,
                    _ => a.as_f64() == b.as_f64(),
                },
                (Bool(x), Bool(y)) => x == y,
                (Str(x), Str(y)) => x == y,
                _ => return Err(ty_err()),
            };
            Ok(Bool(if op == BinOp::Eq { eq } else { !eq }))
        }
        BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
            let ord = match (a, b) {
                (Int(x), Int(y)) => x.cmp(y),
                (Int(_) | Float(_), Int(_) | Float(_)) => {
                    let (x, y) = (a.as_f64().unwrap_or(0.0), b.as_f64().unwrap_or(0.0));
                    x.partial_cmp(&y).ok_or_else(ty_err)?
                }
                _ => return Err(ty_err()),
            };
            use std::cmp::Ordering::*;
            Ok(Bool(match op {
                BinOp::Lt => ord == Less,
                BinOp::Le => ord != Greater,
                BinOp::Gt => ord == Greater,
                _ => ord != Less,
            }))
        }
        BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::Rem | BinOp::Pow => match (a, b)
        {
            (Int(x), Int(y)) => {
                let (x, y) = (*x, *y);
                let r = match op {
                    BinOp::Add => x.checked_add(y),
                    BinOp::Sub => x.checked_sub(y),
                    BinOp::Mul => x.checked_mul(y),
                    BinOp::Div => return floor_div(x, y).map(Int),
                    BinOp::Rem => {
                        let q = floor_div(x, y)?;
                        q.checked_mul(y).and_then(|m| x.checked_sub(m))
                    }
                    _ => {
                        if y < 0 {
                            return Ok(Float((x as f64).powf(y as f64)));
                        }
                        u32::try_from(y).ok().and_then(|e| x.checked_pow(e))
                    }
                };
                r.map(Int).ok_or(EvalError::Overflow)
            }
            (Int(_) | Float(_), Int(_) | Float(_)) => {
                let (x, y) = (a.as_f64().unwrap_or(0.0), b.as_f64().unwrap_or(0.0));
                let r = match op {
                    BinOp::Add => x + y,
                    BinOp::Sub => x - y,
                    BinOp::Mul => x * y,
                    BinOp::Div => {
                        if y == 0.0 {
                            return Err(EvalError::DivisionByZero);
                        }
                        x / y
                    }
                    BinOp::Rem => {
                        if y == 0.0 {
                            return Err(EvalError::DivisionByZero);
                        }
                        x - y * (x / y).floor()
                    }
                    _ => x.powf(y),
                };
                Ok(Float(r))
            }
            (Str(x), Str(y)) if op == BinOp::Add => Ok(Str(format!("{x}{y}"))),
            _ => Err(ty_err()),
        },
        BinOp::Range => Err(EvalError::Type("a range is not a number".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_label(_: LabelId) -> Const {
        Const::Int(0)
    }

    #[test]
    fn floor_division_and_remainder_follow_python() {
        let c = |op, a, b| binary_const(op, &Const::Int(a), &Const::Int(b)).unwrap();
        assert_eq!(c(BinOp::Div, 7, 2), Const::Int(3));
        assert_eq!(c(BinOp::Div, -7, 2), Const::Int(-4));
        assert_eq!(c(BinOp::Rem, -7, 2), Const::Int(1));
        assert_eq!(
            binary_const(BinOp::Div, &Const::Int(1), &Const::Int(0)),
            Err(EvalError::DivisionByZero)
        );
        assert_eq!(
            binary_const(BinOp::Mul, &Const::Int(i64::MAX), &Const::Int(2)),
            Err(EvalError::Overflow)
        );
    }

    #[test]
    fn conv_formula_folds_to_the_pytorch_size() {
        // floor((28 + 2*1 - 1*(3-1) - 1) / 2) + 1 = 14
        let s = Sym::binary(
            BinOp::Add,
            Sym::binary(BinOp::Div, Sym::int(28 + 2 - 2 - 1), Sym::int(2)).unwrap(),
            Sym::int(1),
        )
        .unwrap();
        assert_eq!(s, Sym::int(14));
    }

    #[test]
    fn labels_stay_symbolic_and_evaluate() {
        let w = Sym::Label(LabelId(0));
        let s = Sym::binary(BinOp::Mul, w, Sym::int(2)).unwrap();
        assert_eq!(s.labels(), vec![LabelId(0)]);
        let v = s.eval(&|_| Const::Int(16), &|_| None).unwrap();
        assert_eq!(v, Const::Int(32));
        let names = |_| "width".to_string();
        assert_eq!(s.display(&names).to_string(), "width * 2");
        assert!(Sym::Var("n".into()).eval(&no_label, &|_| None).is_err());
    }
}
