//! Removing what nobody needs any more: read notifications past their retention, ended
//! sessions (with their refresh tokens), and refresh tokens that have expired. Every
//! statement is idempotent, so any number of instances may run them at once.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use crate::error::time::naive;
use crate::error::StoreResult;
use crate::schema::{notifications, refresh_tokens, sessions};
use crate::DbConnection;

/// Deletes read notifications created before `before`; returns how many.
pub fn read_notifications(conn: &mut DbConnection, before: DateTime<Utc>) -> StoreResult<usize> {
    Ok(diesel::delete(
        notifications::table
            .filter(notifications::is_read.eq(true))
            .filter(notifications::created_at.lt(naive(before))),
    )
    .execute(conn)?)
}

/// Deletes sessions revoked or expired before `before` (their refresh tokens go with
/// them); returns how many.
pub fn ended_sessions(conn: &mut DbConnection, before: DateTime<Utc>) -> StoreResult<usize> {
    let before = naive(before);
    Ok(diesel::delete(
        sessions::table.filter(
            sessions::revoked_at
                .lt(before)
                .or(sessions::expires_at.lt(before)),
        ),
    )
    .execute(conn)?)
}

/// Deletes refresh tokens that expired before `before` (spent or not: neither can be
/// used again); returns how many.
pub fn expired_refresh_tokens(
    conn: &mut DbConnection,
    before: DateTime<Utc>,
) -> StoreResult<usize> {
    Ok(
        diesel::delete(refresh_tokens::table.filter(refresh_tokens::expires_at.lt(naive(before))))
            .execute(conn)?,
    )
}
