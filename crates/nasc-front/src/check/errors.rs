//! The type stage's errors, typed. Their wording lives in `crate::diagnostics::wording`.

use crate::source::{FileId, Loc, Span};

/// The value or expression an error is about, as data; [`crate::diagnostics::wording`] words
/// it ("argument `x` of `conv2d`").
#[derive(Debug, Clone, PartialEq)]
pub enum Subject {
    /// The value a block or network returns.
    Returned {
        /// The block or network.
        block: String,
    },
    /// The value a network returns (its declared output type).
    NetworkReturn {
        /// The network.
        network: String,
    },
    /// An argument of a call.
    Arg {
        /// The parameter.
        param: String,
        /// The called block or operator.
        callee: String,
    },
    /// A `let` binding with a written type.
    Let {
        /// The name bound.
        name: String,
    },
    /// A dimension of a network's input.
    InputDim {
        /// Which dimension, from 0.
        dim: usize,
        /// The input parameter.
        input: String,
    },
    /// A network's input shape, which must be written out in full.
    NetworkInputShape,
    /// A dimension of a tensor type.
    TensorDim,
    /// What an operator declaration says its output is.
    OperatorOutput {
        /// The operator.
        op: String,
    },
    /// What a `for` loop ranges over.
    ForRange,
    /// What a list comprehension ranges over.
    ComprehensionRange,
    /// The value being indexed.
    Indexed,
    /// A list index.
    ListIndex,
    /// A condition.
    Condition,
    /// A condition whose branches are tensors of different ranks.
    ConditionRanks,
    /// A condition whose branches are values of different kinds.
    ConditionKinds,
    /// A value of a value choice.
    ValueChoiceValue,
    /// The operand of a prefix operator (`-x`, `not x`).
    PrefixOperand,
    /// The operands of a binary operator.
    Operands {
        /// The operator's symbol (`+`).
        op: String,
    },
    /// A bound of a range (`0..n`).
    RangeBound,
    /// An alternative of a layer choice, which must be a tensor.
    Alternative {
        /// The alternative's name.
        name: String,
    },
    /// The candidates of an input choice.
    InputChoiceCandidates,
    /// How many inputs an input choice picks.
    PickCount,
    /// The depth of a repeat.
    RepeatDepth,
    /// A candidate depth of a repeat with a depth choice.
    CandidateDepth,
    /// The value a repeat with a depth choice carries from one block to the next.
    RepeatCarried,
    /// The body of a repeat.
    RepeatBody,
}

/// What kind of value a type error expected or found, as data; [`crate::diagnostics::wording`]
/// words it ("a tensor", "`int`").
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// A number.
    Scalar,
    /// A tensor.
    Tensor,
    /// A list.
    List,
    /// A list of dimensions (a shape).
    Dims,
    /// The result of an expression that already had an error.
    Erroneous,
    /// An integer.
    Integer,
    /// An integer dimension.
    IntegerDim,
    /// A number of at least 1.
    AtLeastOne,
    /// A tensor type (an operator's declared output).
    TensorType,
    /// A scalar type.
    ScalarType,
    /// A list or a range.
    ListOrRange,
    /// A list of tensors.
    ListOfTensors,
    /// Two numbers.
    Numbers,
    /// Two numbers, two tensors or two lists (the operands of `+`).
    NumbersTensorsOrLists,
    /// A value of the type written in the program (`int`, `bool`), quoted as code.
    Written(String),
    /// A value of this scalar type (`float`), as the type checker names it.
    Type(String),
    /// A value of the same type as the first value of a value choice.
    LikeFirst(String),
    /// This integer.
    Int(i64),
    /// A list holding values of this kind.
    ListHolding(Box<Kind>),
    /// Two operands of these kinds.
    Pair(Box<Kind>, Box<Kind>),
}

/// A shape or type problem found while elaborating a network.
#[derive(Debug, Clone, PartialEq)]
pub enum TypeError {
    /// A tensor's dimension differs from the one its type requires (E0101).
    ShapeMismatch {
        /// The value (an argument, a returned value).
        at: Loc,
        /// What the value is ("argument `x` of `conv2d`").
        what: Subject,
        /// Which dimension, from 0.
        dim: usize,
        /// The dimension the type requires.
        expected: String,
        /// The dimension the value has.
        found: String,
        /// An assignment of labels under which they differ, written out.
        counterexample: Option<String>,
        /// Where the type's dimension is written.
        declared: Loc,
    },
    /// A tensor with the wrong number of dimensions (E0102).
    RankMismatch {
        /// The value.
        at: Loc,
        /// What the value is.
        what: Subject,
        /// How many dimensions the type has.
        expected: usize,
        /// Whether the type accepts more (`...rest`).
        at_least: bool,
        /// How many the value has.
        found: usize,
        /// The value's shape.
        shape: String,
        /// Where the type is written.
        declared: Loc,
    },
    /// Two alternatives of a choice (or two depths of a repeat, or two candidates of an input
    /// choice) yield different shapes (E0103).
    AlternativesDiffer {
        /// The second alternative.
        at: Loc,
        /// The choice's label.
        label: String,
        /// The first alternative: name, place, shape.
        first: (String, Loc, String),
        /// The second alternative: name, place, shape.
        second: (String, Loc, String),
        /// An assignment under which they differ.
        counterexample: Option<String>,
    },
    /// An operator's `require` condition fails (E0104).
    RequireFailed {
        /// The call.
        at: Loc,
        /// The operator.
        op: String,
        /// The condition's message.
        message: String,
        /// An assignment under which it fails.
        counterexample: Option<String>,
        /// Where the condition is written.
        clause: Loc,
    },
    /// An operator's output has a dimension below 1 (E0105).
    EmptyDim {
        /// The call.
        at: Loc,
        /// The operator.
        op: String,
        /// The output shape.
        shape: String,
        /// Which dimension.
        dim: usize,
        /// An assignment under which it is below 1.
        counterexample: Option<String>,
    },
    /// A value of the wrong kind: a scalar where a tensor is needed, a float for an int (E0106).
    WrongKind {
        /// The value.
        at: Loc,
        /// What was needed.
        expected: Kind,
        /// What was found.
        found: Kind,
        /// What the value is.
        what: Subject,
    },
    /// Something that must be known without choosing an architecture depends on a choice
    /// (E0107).
    NotConstant {
        /// The expression.
        at: Loc,
        /// What it is.
        what: Subject,
    },
    /// A list index past the end (E0108).
    IndexOutOfRange {
        /// The index.
        at: Loc,
        /// Its value.
        index: i64,
        /// The list's length.
        len: usize,
    },
    /// An input choice picking more inputs than it has, or none (E0109).
    PickCount {
        /// The count.
        at: Loc,
        /// How many are picked.
        k: i64,
        /// How many candidates.
        n: usize,
    },
    /// Arithmetic that fails: division by zero, overflow, a type mismatch (E0110).
    Eval {
        /// The expression.
        at: Loc,
        /// What went wrong.
        error: String,
    },
    /// Block calls nested deeper than `MAX_CALL_DEPTH` (a block that calls itself) (E0111).
    Recursion {
        /// The call.
        at: Loc,
        /// The block.
        block: String,
    },
    /// A `where` clause that is not a comparison of `params` or `flops` with a constant (E0112).
    BadConstraint {
        /// The clause.
        at: Loc,
    },
    /// A network parameter that is neither a tensor nor has a default (E0114).
    NetworkParam {
        /// The parameter.
        at: Loc,
        /// Its name.
        name: String,
    },
    /// The operands of `+` have different shapes (E0115).
    OperandShapes {
        /// The operator.
        at: Loc,
        /// The left shape.
        left: String,
        /// The right shape.
        right: String,
        /// An assignment under which they differ.
        counterexample: Option<String>,
        /// The left operand.
        lhs: Loc,
        /// The right operand.
        rhs: Loc,
    },
    /// One explicit label used for choices with different domains (E0020).
    LabelConflict {
        /// The second choice.
        at: Loc,
        /// The label.
        label: String,
        /// Its domain here.
        domain: String,
        /// The first choice.
        first: Loc,
        /// The first domain.
        first_domain: String,
    },
}

impl TypeError {
    /// The primary location.
    pub fn at(&self) -> Loc {
        use TypeError::*;
        match self {
            ShapeMismatch { at, .. }
            | RankMismatch { at, .. }
            | AlternativesDiffer { at, .. }
            | RequireFailed { at, .. }
            | EmptyDim { at, .. }
            | WrongKind { at, .. }
            | NotConstant { at, .. }
            | IndexOutOfRange { at, .. }
            | PickCount { at, .. }
            | Eval { at, .. }
            | Recursion { at, .. }
            | BadConstraint { at }
            | NetworkParam { at, .. }
            | OperandShapes { at, .. }
            | LabelConflict { at, .. } => *at,
        }
    }

    fn at_mut(&mut self) -> &mut Loc {
        use TypeError::*;
        match self {
            ShapeMismatch { at, .. }
            | RankMismatch { at, .. }
            | AlternativesDiffer { at, .. }
            | RequireFailed { at, .. }
            | EmptyDim { at, .. }
            | WrongKind { at, .. }
            | NotConstant { at, .. }
            | IndexOutOfRange { at, .. }
            | PickCount { at, .. }
            | Eval { at, .. }
            | Recursion { at, .. }
            | BadConstraint { at }
            | NetworkParam { at, .. }
            | OperandShapes { at, .. }
            | LabelConflict { at, .. } => at,
        }
    }

    /// Moves the primary location to `file` when it is the span `span` (an argument checked
    /// against a type written in another file).
    pub(crate) fn set_primary_file(&mut self, file: FileId, span: Span) {
        let at = self.at_mut();
        if at.span == span {
            at.file = file;
        }
    }
}

/// A [`TypeError`] (its locations carry their files).
#[derive(Debug, Clone, PartialEq)]
pub struct TypeLocated {
    /// The error.
    pub error: TypeError,
    /// The block calls the checker was inside when it found the error, outermost first (each
    /// the place of the call).
    pub calls: Vec<Loc>,
}
