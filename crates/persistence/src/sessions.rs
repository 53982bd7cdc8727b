//! Login sessions and their rotating refresh tokens.

use chrono::{DateTime, NaiveDateTime, Utc};
use convene_domain::account::User;
use convene_domain::ids::{SessionId, UserId};
use diesel::prelude::*;

use crate::error::time::{naive, utc};
use crate::error::StoreResult;
use crate::schema::{refresh_tokens, sessions, users};
use crate::users::UserRow;
use crate::DbConnection;

/// A stored refresh token (by hash) and the state of its session.
#[derive(Debug, Clone)]
pub struct RefreshToken {
    /// The session the token belongs to.
    pub session: SessionId,
    /// The session's user.
    pub user: UserId,
    /// When the token stops being accepted.
    pub expires_at: DateTime<Utc>,
    /// Whether it was exchanged for a new pair already: presenting it again is reuse.
    pub spent: bool,
    /// Whether the session was revoked.
    pub session_revoked: bool,
}

/// Opens a session for `user` and returns its id.
pub fn create(
    conn: &mut DbConnection,
    user: UserId,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> StoreResult<SessionId> {
    let id: i64 = diesel::insert_into(sessions::table)
        .values((
            sessions::user_id.eq(user.0),
            sessions::created_at.eq(naive(now)),
            sessions::expires_at.eq(naive(expires_at)),
        ))
        .returning(sessions::id)
        .get_result(conn)?;
    Ok(SessionId(id))
}

/// Stores a new refresh token hash for a session and slides the session's expiry.
pub fn add_refresh_token(
    conn: &mut DbConnection,
    session: SessionId,
    token_hash: &str,
    expires_at: DateTime<Utc>,
) -> StoreResult<()> {
    let expires_at = naive(expires_at);
    diesel::insert_into(refresh_tokens::table)
        .values((
            refresh_tokens::token_hash.eq(token_hash),
            refresh_tokens::session_id.eq(session.0),
            refresh_tokens::expires_at.eq(expires_at),
        ))
        .execute(conn)?;
    diesel::update(sessions::table.find(session.0))
        .set(sessions::expires_at.eq(expires_at))
        .execute(conn)?;
    Ok(())
}

/// Looks a refresh token up by its hash.
pub fn find_refresh_token(
    conn: &mut DbConnection,
    token_hash: &str,
) -> StoreResult<Option<RefreshToken>> {
    type Row = (
        i64,
        i64,
        NaiveDateTime,
        Option<NaiveDateTime>,
        Option<NaiveDateTime>,
    );
    let row: Option<Row> = refresh_tokens::table
        .inner_join(sessions::table)
        .filter(refresh_tokens::token_hash.eq(token_hash))
        .select((
            refresh_tokens::session_id,
            sessions::user_id,
            refresh_tokens::expires_at,
            refresh_tokens::spent_at,
            sessions::revoked_at,
        ))
        .first(conn)
        .optional()?;
    Ok(row.map(
        |(session, user, expires_at, spent_at, revoked_at)| RefreshToken {
            session: SessionId(session),
            user: UserId(user),
            expires_at: utc(expires_at),
            spent: spent_at.is_some(),
            session_revoked: revoked_at.is_some(),
        },
    ))
}

/// Marks a refresh token spent; returns false when it already was (a concurrent or
/// repeated use), which the caller treats as theft.
pub fn spend_refresh_token(
    conn: &mut DbConnection,
    token_hash: &str,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    let updated = diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::token_hash.eq(token_hash))
            .filter(refresh_tokens::spent_at.is_null()),
    )
    .set(refresh_tokens::spent_at.eq(naive(now)))
    .execute(conn)?;
    Ok(updated == 1)
}

/// Revokes a session (idempotent): its refresh and access tokens stop working.
pub fn revoke(conn: &mut DbConnection, session: SessionId, now: DateTime<Utc>) -> StoreResult<()> {
    diesel::update(
        sessions::table
            .find(session.0)
            .filter(sessions::revoked_at.is_null()),
    )
    .set(sessions::revoked_at.eq(naive(now)))
    .execute(conn)?;
    Ok(())
}

/// The user of a live session, in one indexed query: `None` when the session does not
/// exist, belongs to someone else, is revoked or has expired.
pub fn active_user(
    conn: &mut DbConnection,
    session: SessionId,
    user: UserId,
    now: DateTime<Utc>,
) -> StoreResult<Option<User>> {
    let row: Option<UserRow> = sessions::table
        .inner_join(users::table)
        .filter(sessions::id.eq(session.0))
        .filter(sessions::user_id.eq(user.0))
        .filter(sessions::revoked_at.is_null())
        .filter(sessions::expires_at.gt(naive(now)))
        .select(UserRow::as_select())
        .first(conn)
        .optional()?;
    Ok(row.map(UserRow::user))
}

/// [`active_user`] for many sessions, in one statement however many there are: for
/// each `(session, user)` asked, in order, `user` when that session of theirs is live.
pub fn active_users(
    conn: &mut DbConnection,
    asked: &[(SessionId, UserId)],
    now: DateTime<Utc>,
) -> StoreResult<Vec<Option<User>>> {
    let ids: Vec<i64> = asked.iter().map(|(session, _)| session.0).collect();
    let live: Vec<(i64, i64, UserRow)> = sessions::table
        .inner_join(users::table)
        .filter(sessions::id.eq_any(&ids))
        .filter(sessions::revoked_at.is_null())
        .filter(sessions::expires_at.gt(naive(now)))
        .select((sessions::id, sessions::user_id, UserRow::as_select()))
        .load(conn)?;
    Ok(asked
        .iter()
        .map(|(session, user)| {
            live.iter()
                .find(|(id, owner, _)| (*id, *owner) == (session.0, user.0))
                .map(|(.., row)| row.clone().user())
        })
        .collect())
}

/// Which of `ids` are no longer live sessions (revoked, expired or gone), in chunks of
/// 500 ids.
pub fn ended_among(
    conn: &mut DbConnection,
    ids: &[SessionId],
    now: DateTime<Utc>,
) -> StoreResult<Vec<SessionId>> {
    let mut live = std::collections::HashSet::new();
    for chunk in ids.chunks(crate::permissions::IN_CHUNK) {
        let raw: Vec<i64> = chunk.iter().map(|s| s.0).collect();
        let found: Vec<i64> = sessions::table
            .filter(sessions::id.eq_any(raw))
            .filter(sessions::revoked_at.is_null())
            .filter(sessions::expires_at.gt(naive(now)))
            .select(sessions::id)
            .load(conn)?;
        live.extend(found);
    }
    Ok(ids
        .iter()
        .copied()
        .filter(|s| !live.contains(&s.0))
        .collect())
}
