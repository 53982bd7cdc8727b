//! The one error type of every use case; the HTTP layer maps it to problem details.

use convene_domain::validation::FieldError;

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
