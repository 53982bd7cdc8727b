//! The one error type of every use case; the HTTP layer maps it to problem details.

use chrono::{DateTime, Utc};
use convene_domain::ids::EventId;
use convene_domain::validation::FieldError;

/// A stored event (or another item of the same batch) that a write would overlap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// The stored event's id; `None` for another item of the same batch.
    pub id: Option<EventId>,
    /// Its title.
    pub title: String,
    /// Its start.
    pub start_time: DateTime<Utc>,
    /// Its end.
    pub end_time: DateTime<Utc>,
    /// In a batch: the index of the item that conflicts.
    pub index: Option<usize>,
    /// In a batch: the index of the other item it overlaps, when that is not stored.
    pub batch_index: Option<usize>,
}

/// Why a use case did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// Well-formed input that breaks a rule; every field problem is listed.
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    /// Missing, invalid, expired or revoked credentials. The text is for logs only.
    #[error("unauthorized: {0}")]
    Unauthorized(&'static str),
    /// The username is registered already (case-insensitively).
    #[error("username taken")]
    UsernameTaken,
    /// The email is registered already (case-insensitively).
    #[error("email taken")]
    EmailTaken,
    /// No such resource, or the caller may not know it exists.
    #[error("not found")]
    NotFound,
    /// The caller participates but lacks the role for the action.
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    /// The change would overlap the owner's events listed here.
    #[error("conflicts with {} event(s)", .0.len())]
    Conflict(Vec<Conflict>),
    /// A concurrent writer changed the same rows first; retried internally and only
    /// surfaced when it persists.
    #[error("contended write")]
    Contended,
    /// `If-Match` did not match; the current version is given.
    #[error("precondition failed")]
    PreconditionFailed {
        /// The event's current version (its ETag).
        current: convene_domain::ids::Version,
    },
    /// A batch has more items than allowed.
    #[error("too large: {0}")]
    TooLarge(String),
    /// The database cannot be reached right now.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// A bug or an unexpected database failure; details are logged, never sent.
    #[error("internal: {0}")]
    Internal(String),
}

impl From<diesel::result::Error> for ServiceError {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::Error;
        match e {
            Error::DatabaseError(diesel::result::DatabaseErrorKind::ClosedConnection, info) => {
                Self::Unavailable(info.message().to_owned())
            }
            other => Self::Internal(other.to_string()),
        }
    }
}

impl From<convene_persistence::db::DbError> for ServiceError {
    fn from(e: convene_persistence::db::DbError) -> Self {
        Self::Unavailable(e.to_string())
    }
}

impl From<diesel::r2d2::PoolError> for ServiceError {
    fn from(e: diesel::r2d2::PoolError) -> Self {
        Self::Unavailable(e.to_string())
    }
}
