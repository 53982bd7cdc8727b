//! The one error type of every repository function, mapped here from Diesel and r2d2 so
//! that callers need neither.

use diesel::result::{DatabaseErrorKind, Error as DieselError};

/// Which unique key a duplicate row collided with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UniqueKey {
    /// A username (compared case-insensitively).
    Username,
    /// An email address (compared case-insensitively).
    Email,
    /// Any other unique key.
    Other,
}

/// Why a storage call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The database refused busy occurrences that overlap one of the owner's (its
    /// `occurrences_no_overlap` check): a concurrent writer won a race, or the write did
    /// not probe first. Running it again, probing, re-reads the winner.
    #[error("overlaps an event written concurrently")]
    Overlap,
    /// The database aborted this transaction because of a concurrent one: a deadlock or
    /// a serialization failure. Running the transaction again succeeds.
    #[error("aborted by a concurrent transaction: {0}")]
    Aborted(String),
    /// A row with the same unique key exists.
    #[error("duplicate {0:?}")]
    Duplicate(UniqueKey),
    /// A row the write refers to is gone (a foreign key found nothing): e.g. the event
    /// was deleted by a concurrent transaction.
    #[error("a referenced row is gone")]
    Missing,
    /// The database cannot be reached (no connection in time, connection closed).
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// Anything else: a bug or an unexpected database failure (details for logs only).
    #[error("database error: {0}")]
    Other(String),
}

/// The constraint PostgreSQL names when an owner's busy occurrences would overlap (the
/// `occurrences_no_overlap` trigger raises `exclusion_violation` with it).
const OVERLAP_CONSTRAINT: &str = "occurrences_no_overlap";

impl From<DieselError> for StoreError {
    fn from(e: DieselError) -> Self {
        match &e {
            DieselError::DatabaseError(kind, info) => {
                let constraint = info.constraint_name().unwrap_or("");
                if constraint == OVERLAP_CONSTRAINT || info.message().contains(OVERLAP_CONSTRAINT) {
                    return Self::Overlap;
                }
                match kind {
                    DatabaseErrorKind::UniqueViolation => {
                        // PostgreSQL names the constraint; SQLite names the column.
                        let text = format!("{constraint} {}", info.message());
                        Self::Duplicate(if text.contains("username") {
                            UniqueKey::Username
                        } else if text.contains("email") {
                            UniqueKey::Email
                        } else {
                            UniqueKey::Other
                        })
                    }
                    DatabaseErrorKind::ForeignKeyViolation => Self::Missing,
                    DatabaseErrorKind::SerializationFailure => {
                        Self::Aborted(info.message().to_owned())
                    }
                    _ if info.message().contains("deadlock detected") => {
                        Self::Aborted(info.message().to_owned())
                    }
                    DatabaseErrorKind::ClosedConnection => {
                        note_connection_lost();
                        Self::Unavailable(info.message().to_owned())
                    }
                    _ if is_connection_lost(info.message()) => {
                        note_connection_lost();
                        Self::Unavailable(info.message().to_owned())
                    }
                    _ if is_storage_failure(info.message()) => {
                        Self::Unavailable(info.message().to_owned())
                    }
                    _ => Self::Other(e.to_string()),
                }
            }
            _ => Self::Other(e.to_string()),
        }
    }
}

thread_local! {
    /// Whether a query on this thread found its connection lost since the last
    /// [`take_connection_lost`].
    static CONNECTION_LOST: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Notes that a query found its connection lost. A request uses its pooled connection on
/// one thread, the one that gives it back to the pool, where [`take_connection_lost`]
/// reads this: the pool then drops that connection and checks the others.
fn note_connection_lost() {
    CONNECTION_LOST.with(|lost| lost.set(true));
}

/// Whether a query on this thread found its connection lost since the last call.
pub(crate) fn take_connection_lost() -> bool {
    CONNECTION_LOST.with(|lost| lost.replace(false))
}

/// Messages of a PostgreSQL connection that is gone: the server ended it (shutdown,
/// restart, `pg_terminate_backend`) or libpq lost the link mid-request.
fn is_connection_lost(message: &str) -> bool {
    const MARKERS: [&str; 10] = [
        "terminating connection",
        "the database system is shutting down",
        "the database system is starting up",
        // libpq, when the link to the server is lost mid-request.
        "server closed the connection unexpectedly",
        "no connection to the server",
        "could not receive data from server",
        "could not send data to server",
        "SSL SYSCALL error",
        "SSL error",
        "connection to server",
    ];
    MARKERS.iter().any(|m| message.contains(m))
}

/// Messages of storage that cannot be written or reached right now (SQLite's
/// `SQLITE_READONLY`, `SQLITE_FULL`, `SQLITE_IOERR`, `SQLITE_CANTOPEN`, `SQLITE_BUSY`;
/// PostgreSQL's disk-full and read-only errors): the request may succeed later, so it is
/// `Unavailable` (503), not a bug.
fn is_storage_failure(message: &str) -> bool {
    const MARKERS: [&str; 8] = [
        "readonly database",
        "database or disk is full",
        "disk I/O error",
        "unable to open database file",
        "database is locked",
        "No space left on device",
        "could not extend file",
        "read-only transaction",
    ];
    MARKERS.iter().any(|m| message.contains(m))
}

impl From<diesel::r2d2::PoolError> for StoreError {
    fn from(e: diesel::r2d2::PoolError) -> Self {
        Self::Unavailable(e.to_string())
    }
}

impl From<crate::db::DbError> for StoreError {
    fn from(e: crate::db::DbError) -> Self {
        match e {
            crate::db::DbError::Query(q) => q.into(),
            other => Self::Unavailable(other.to_string()),
        }
    }
}

/// The result of a repository function.
pub type StoreResult<T> = Result<T, StoreError>;

/// Conversions between domain instants and the naive UTC timestamps both databases
/// store; they stay inside this crate.
pub(crate) mod time {
    use chrono::{DateTime, NaiveDateTime, Utc};

    /// A UTC instant as stored.
    pub(crate) fn naive(t: DateTime<Utc>) -> NaiveDateTime {
        t.naive_utc()
    }

    /// A stored timestamp as a UTC instant.
    pub(crate) fn utc(n: NaiveDateTime) -> DateTime<Utc> {
        n.and_utc()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_failures_are_unavailable_not_bugs() {
        for m in [
            "attempt to write a readonly database",
            "database or disk is full",
            "could not extend file \"base/1/2\": No space left on device",
            "cannot execute INSERT in a read-only transaction",
        ] {
            assert!(is_storage_failure(m), "{m}");
            assert!(!is_connection_lost(m), "{m}");
        }
        assert!(!is_storage_failure("syntax error at or near \"SELEC\""));
    }

    #[test]
    fn lost_connections_are_unavailable_and_leave_the_pool() {
        for m in [
            "server closed the connection unexpectedly\n\tThis probably means the server terminated abnormally",
            "SSL SYSCALL error: EOF detected",
            "SSL error: unexpected eof while reading",
            "could not receive data from server: Connection reset by peer",
            "terminating connection due to administrator command",
        ] {
            assert!(is_connection_lost(m), "{m}");
            assert!(!take_connection_lost());
            let e = database_error(DatabaseErrorKind::Unknown, m);
            assert!(matches!(e, StoreError::Unavailable(_)), "{m}");
            // Noted once, for the pool to drop the connection when it comes back.
            assert!(take_connection_lost());
            assert!(!take_connection_lost());
        }
        let closed = database_error(DatabaseErrorKind::ClosedConnection, "closed");
        assert!(matches!(closed, StoreError::Unavailable(_)));
        assert!(take_connection_lost());
        // A full disk is no lost connection.
        let full = database_error(DatabaseErrorKind::Unknown, "database or disk is full");
        assert!(matches!(full, StoreError::Unavailable(_)));
        assert!(!take_connection_lost());
    }

    struct Info(&'static str);

    impl diesel::result::DatabaseErrorInformation for Info {
        fn message(&self) -> &str {
            self.0
        }
        fn details(&self) -> Option<&str> {
            None
        }
        fn hint(&self) -> Option<&str> {
            None
        }
        fn table_name(&self) -> Option<&str> {
            None
        }
        fn column_name(&self) -> Option<&str> {
            None
        }
        fn constraint_name(&self) -> Option<&str> {
            None
        }
        fn statement_position(&self) -> Option<i32> {
            None
        }
    }

    fn database_error(kind: DatabaseErrorKind, message: &'static str) -> StoreError {
        DieselError::DatabaseError(kind, Box::new(Info(message))).into()
    }

    #[test]
    fn transactions_aborted_by_a_concurrent_one_can_be_retried() {
        assert!(matches!(
            database_error(DatabaseErrorKind::Unknown, "deadlock detected"),
            StoreError::Aborted(_)
        ));
        assert!(matches!(
            database_error(
                DatabaseErrorKind::SerializationFailure,
                "could not serialize access due to concurrent update"
            ),
            StoreError::Aborted(_)
        ));
        assert!(matches!(
            database_error(DatabaseErrorKind::Unknown, "division by zero"),
            StoreError::Other(_)
        ));
    }
}
