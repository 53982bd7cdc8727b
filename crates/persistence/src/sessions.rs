//! Login sessions and their rotating refresh tokens.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::schema::{refresh_tokens, sessions, users};
use crate::users::UserRow;
use crate::DbConnection;

/// A stored refresh token (by hash) and the state of its session.
#[derive(Debug, Clone)]
pub struct RefreshRow {
    /// The session the token belongs to.
    pub session_id: i64,
    /// The session's user.
    pub user_id: i64,
    /// When the token stops being accepted.
    pub expires_at: NaiveDateTime,
    /// When it was exchanged for a new pair; `Some` means presenting it again is reuse.
    pub spent_at: Option<NaiveDateTime>,
    /// When the session was revoked, if it was.
    pub session_revoked_at: Option<NaiveDateTime>,
}

/// Opens a session for `user_id` and returns its id.
pub fn create(
    conn: &mut DbConnection,
    user_id: i64,
    now: NaiveDateTime,
    expires_at: NaiveDateTime,
) -> QueryResult<i64> {
    diesel::insert_into(sessions::table)
        .values((
            sessions::user_id.eq(user_id),
            sessions::created_at.eq(now),
            sessions::expires_at.eq(expires_at),
        ))
        .returning(sessions::id)
        .get_result(conn)
}

/// Stores a new refresh token hash for a session and slides the session's expiry.
pub fn add_refresh_token(
    conn: &mut DbConnection,
    session_id: i64,
    token_hash: &str,
    expires_at: NaiveDateTime,
) -> QueryResult<()> {
    diesel::insert_into(refresh_tokens::table)
        .values((
            refresh_tokens::token_hash.eq(token_hash),
            refresh_tokens::session_id.eq(session_id),
            refresh_tokens::expires_at.eq(expires_at),
        ))
        .execute(conn)?;
    diesel::update(sessions::table.find(session_id))
        .set(sessions::expires_at.eq(expires_at))
        .execute(conn)?;
    Ok(())
}

/// Looks a refresh token up by its hash.
pub fn find_refresh_token(
    conn: &mut DbConnection,
    token_hash: &str,
) -> QueryResult<Option<RefreshRow>> {
    refresh_tokens::table
        .inner_join(sessions::table)
        .filter(refresh_tokens::token_hash.eq(token_hash))
        .select((
            refresh_tokens::session_id,
            sessions::user_id,
            refresh_tokens::expires_at,
            refresh_tokens::spent_at,
            sessions::revoked_at,
        ))
        .first::<(
            i64,
            i64,
            NaiveDateTime,
            Option<NaiveDateTime>,
            Option<NaiveDateTime>,
        )>(conn)
        .optional()
        .map(|row| {
            row.map(
                |(session_id, user_id, expires_at, spent_at, session_revoked_at)| RefreshRow {
                    session_id,
                    user_id,
                    expires_at,
                    spent_at,
                    session_revoked_at,
                },
            )
        })
}

/// Marks a refresh token spent; returns false when it already was (a concurrent or
/// repeated use), which the caller treats as theft.
pub fn spend_refresh_token(
    conn: &mut DbConnection,
    token_hash: &str,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let updated = diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::token_hash.eq(token_hash))
            .filter(refresh_tokens::spent_at.is_null()),
    )
    .set(refresh_tokens::spent_at.eq(now))
    .execute(conn)?;
    Ok(updated == 1)
}

/// Revokes a session (idempotent): its refresh and access tokens stop working.
pub fn revoke(conn: &mut DbConnection, session_id: i64, now: NaiveDateTime) -> QueryResult<()> {
    diesel::update(
        sessions::table
            .find(session_id)
            .filter(sessions::revoked_at.is_null()),
    )
    .set(sessions::revoked_at.eq(now))
    .execute(conn)?;
    Ok(())
}

/// The user of a live session, in one indexed query: `None` when the session does not
/// exist, belongs to someone else, is revoked or has expired.
pub fn active_user(
    conn: &mut DbConnection,
    session_id: i64,
    user_id: i64,
    now: NaiveDateTime,
) -> QueryResult<Option<UserRow>> {
    sessions::table
        .inner_join(users::table)
        .filter(sessions::id.eq(session_id))
        .filter(sessions::user_id.eq(user_id))
        .filter(sessions::revoked_at.is_null())
        .filter(sessions::expires_at.gt(now))
        .select(UserRow::as_select())
        .first(conn)
        .optional()
}
