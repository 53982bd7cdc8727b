//! Conversions between domain UTC times and the database's naive UTC timestamps.

use chrono::{DateTime, NaiveDateTime, SubsecRound, Utc};

/// Now, at the microsecond precision both databases store.
pub(crate) fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// A database timestamp (UTC without offset) as a UTC instant.
pub(crate) fn utc(naive: NaiveDateTime) -> DateTime<Utc> {
    naive.and_utc()
}
