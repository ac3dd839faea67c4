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
    #[error("Guardian refused {action}: {reason}")]
    Rejected { action: String, reason: String },
    #[error("the token id space is full: 24-bit local ids allow at most 16,777,215 tokens; the store holds {live} and {wanted} more were asked for")]
    IdSpaceExhausted { live: usize, wanted: usize },
    #[error("snapshot {path}: {reason}")]
    Snapshot { path: String, reason: String },
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
    /// A name not in its table (`what` e.g. "CDNA flag", `expected` the names joined).
    #[error("unknown {what} {name:?}: expected one of {expected}")]
    UnknownName {
        what: &'static str,
        name: String,
        expected: String,
    },
}

/// The message of a caught panic.
pub fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "unknown panic".to_string())
}

impl NgError {
    /// Wrap an error with the row of a bulk input it came from.
    pub fn at_row(self, row: usize) -> NgError {
        NgError::AtRow {
            row,
            source: Box::new(self),
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
