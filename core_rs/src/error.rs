//! The crate's one error type. Every variant names the thing and the value.

use thiserror::Error;

/// Result alias used across the core.
pub type Result<T> = std::result::Result<T, NgError>;

/// Everything that can go wrong in the runtime core.
#[derive(Debug, Error)]
pub enum NgError {
    #[error("unknown space {0:?}: expected one of physical, sensory, motor, emotional, cognitive, social, temporal, abstract, L1..L8 or 1..8")]
    UnknownSpace(String),
    #[error("{space}.{axis} is {value}: coordinates must be finite numbers")]
    NonFiniteCoordinate {
        space: &'static str,
        axis: &'static str,
        value: f32,
    },
    #[error("{space}.{axis} = {value} is outside the space's range [{min}, {max}] (pass clamp=True to clamp)")]
    CoordinateOutOfRange {
        space: &'static str,
        axis: &'static str,
        value: f32,
        min: f64,
        max: f64,
    },
    #[error("row {row}: {source}")]
    AtRow {
        row: usize,
        #[source]
        source: Box<NgError>,
    },
    #[error("no token with id {0}")]
    TokenNotFound(u32),
    #[error("no connection with id {0}")]
    ConnectionNotFound(u32),
    #[error("token id {0} already exists")]
    DuplicateId(u32),
    #[error("token id {0} is invalid: ids are 1..=16777215 (24-bit local ids)")]
    InvalidId(u64),
    #[error("unknown entity type {0:?}: expected one of undefined, object, event, state, process, concept, relation, pattern, rule, goal, memory, sensor, actuator, controller, buffer")]
    UnknownEntityType(String),
    #[error("unknown connection kind {0:?}")]
    UnknownConnectionKind(String),
    #[error("unknown CDNA profile {0:?}: expected one of default, explorer, analyst, creative")]
    UnknownProfile(String),
    #[error("{field} = {value} is invalid: {reason}")]
    InvalidValue {
        field: String,
        value: String,
        reason: String,
    },
    /// A write the Guardian refused (boxed: the error type stays small).
    #[error("Guardian refused {0}")]
    Rejected(Box<Rejection>),
    #[error("the token id space is full: 24-bit local ids allow at most 16,777,215 tokens; the store holds {live} and {wanted} more were asked for")]
    IdSpaceExhausted { live: usize, wanted: usize },
    #[error("snapshot {path}: {reason}")]
    Snapshot { path: String, reason: String },
    /// A Parquet dataset (or one of its files) that cannot be written or read as one.
    #[error("dataset {path}: {reason}")]
    Dataset { path: String, reason: String },
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("interrupted")]
    Interrupted,
    #[error("internal error in the runtime core ({0}); nothing was changed")]
    Internal(String),
    #[error("out of memory: {what} could not get its {bytes}")]
    OutOfMemory { what: String, bytes: String },
    #[error("{0}: no such file")]
    FileNotFound(String),
    #[error("{path}: {reason}")]
    InvalidFile { path: String, reason: String },
    #[error("scale of {space} = {value:e} is too small: the smallest scale is {min:e} (a smaller float32 is denormal or 0)")]
    ScaleTooSmall {
        space: &'static str,
        value: f64,
        min: f32,
    },
    #[error("this runtime has no bootstrap")]
    NoBootstrap,
    #[error("{words} words but {vectors} vectors")]
    WordVectorCount { words: usize, vectors: usize },
    #[error("each space may be named once, got {0} twice")]
    RepeatedSpace(&'static str),
    /// A row of a batched semantic query that cannot be ranked (`problem` says why).
    #[error("query row {row} {problem}")]
    QueryRow { row: usize, problem: String },
    /// A name not in its table (`what` e.g. "CDNA flag", `expected` the names joined).
    #[error("unknown {what} {name:?}: expected one of {expected}")]
    UnknownName {
        what: &'static str,
        name: String,
        expected: String,
    },
}

/// Why the Guardian refused a write, as data: what a rule found, without where in the call
/// it happened (the caller adds that as a [`Location`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Refusal {
    /// What was checked: a record field (`weight`, `strength`, `kind`, ...), a degree
    /// (`out_degree`, `in_degree`, `total_degree`), or the CDNA flag whose rule refused it
    /// (`STRICT_MODE`, `ENABLE_MUTATION`); `None` for a rule about the CDNA itself.
    pub field: Option<&'static str>,
    /// The value the write would give `field` (NaN for a non-finite number).
    pub value: Option<f64>,
    /// The CDNA limit `value` crossed.
    pub limit: Option<f64>,
    /// The sentence a person reads, e.g. `weight = 1.5 is outside the CDNA bounds [0, 1]`.
    pub reason: String,
}

impl Refusal {
    /// A refusal that names no field (e.g. a rule about the CDNA itself).
    pub fn new(reason: impl Into<String>) -> Refusal {
        Refusal {
            field: None,
            value: None,
            limit: None,
            reason: reason.into(),
        }
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.reason)
    }
}

/// Where in a call a refused write was; the caller knows it and adds it (the rules never
/// format it into their reasons).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Location {
    /// Row `row` of a batch.
    Row(usize),
    /// Row `row` of a connection batch, the connection `a -> b`.
    Edge { row: usize, a: u32, b: u32 },
    /// The one token a write changes.
    Token(u32),
}

impl Location {
    /// The batch row, if the location is one.
    pub fn row(&self) -> Option<usize> {
        match self {
            Location::Row(row) | Location::Edge { row, .. } => Some(*row),
            Location::Token(_) => None,
        }
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::Row(row) => write!(f, "row {row}"),
            Location::Edge { row, a, b } => write!(f, "row {row} ({a} -> {b})"),
            Location::Token(id) => write!(f, "token {id}"),
        }
    }
}

/// A write the Guardian refused: the action, where, and the rule's [`Refusal`].
#[derive(Clone, Debug, PartialEq)]
pub struct Rejection {
    /// What was attempted, e.g. `token.create`, `connection.create`, `cdna.change`.
    pub action: String,
    pub at: Option<Location>,
    pub refusal: Refusal,
}

impl Rejection {
    /// The reason with its location in front, e.g. `row 2: weight = 1.5 is outside ...`
    /// (as the event log shows it).
    pub fn located_reason(&self) -> String {
        match &self.at {
            Some(at) => format!("{at}: {}", self.refusal),
            None => self.refusal.reason.clone(),
        }
    }
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.action, self.located_reason())
    }
}

/// The message of a caught panic.
pub fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "unknown panic".to_string())
}

impl NgError {
    /// A write the Guardian refused, not yet located.
    pub fn rejected(action: impl Into<String>, refusal: Refusal) -> NgError {
        NgError::Rejected(Box::new(Rejection {
            action: action.into(),
            at: None,
            refusal,
        }))
    }

    /// Add where in the call the error happened. A refusal keeps it as data (a location it
    /// already has stays); any other error is wrapped with the location's batch row.
    pub fn at(self, at: Location) -> NgError {
        match self {
            NgError::Rejected(mut r) => {
                r.at.get_or_insert(at);
                NgError::Rejected(r)
            }
            e => match at.row() {
                Some(row) => NgError::AtRow {
                    row,
                    source: Box::new(e),
                },
                None => e,
            },
        }
    }

    /// Add the row of a bulk input the error came from.
    pub fn at_row(self, row: usize) -> NgError {
        self.at(Location::Row(row))
    }

    /// The error without its batch row (for a single write made through the batch path).
    pub fn without_row(self) -> NgError {
        match self {
            NgError::AtRow { source, .. } => *source,
            NgError::Rejected(mut r) if r.at.is_some_and(|at| at.row().is_some()) => {
                r.at = None;
                NgError::Rejected(r)
            }
            e => e,
        }
    }

    /// The batch row the error names, if any.
    pub fn row(&self) -> Option<usize> {
        match self {
            NgError::AtRow { row, .. } => Some(*row),
            NgError::Rejected(r) => r.at.and_then(|at| at.row()),
            _ => None,
        }
    }

    /// The innermost error (without row context).
    pub fn root(&self) -> &NgError {
        match self {
            NgError::AtRow { source, .. } => source.root(),
            e => e,
        }
    }

    /// Shorthand for an invalid-value error.
    pub fn invalid(
        field: impl Into<String>,
        value: impl ToString,
        reason: impl Into<String>,
    ) -> Self {
        NgError::InvalidValue {
            field: field.into(),
            value: value.to_string(),
            reason: reason.into(),
        }
    }
}
