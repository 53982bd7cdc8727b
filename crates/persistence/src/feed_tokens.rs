//! Subscription-feed tokens, stored by hash.

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use convene_domain::ids::{FeedTokenId, UserId};
use diesel::prelude::*;

use crate::error::time::{naive, utc};
use crate::error::StoreResult;
use crate::schema::feed_tokens;
use crate::DbConnection;

/// A feed token as its owner lists it (the token itself is never stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedToken {
    /// Its id.
    pub id: FeedTokenId,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When a calendar application last read the feed with it (to the minute).
    pub last_used_at: Option<DateTime<Utc>>,
}

type Row = (i64, NaiveDateTime, Option<NaiveDateTime>);

fn token((id, created_at, last_used_at): Row) -> FeedToken {
    FeedToken {
        id: FeedTokenId(id),
        created_at: utc(created_at),
        last_used_at: last_used_at.map(utc),
    }
}

/// Stores a new token (by its hash) for `user`.
pub fn create(
    conn: &mut DbConnection,
    user: UserId,
    token_hash: &str,
    now: DateTime<Utc>,
) -> StoreResult<FeedToken> {
    let row: Row = diesel::insert_into(feed_tokens::table)
        .values((
            feed_tokens::user_id.eq(user.0),
            feed_tokens::token_hash.eq(token_hash),
            feed_tokens::created_at.eq(naive(now)),
        ))
        .returning((
            feed_tokens::id,
            feed_tokens::created_at,
            feed_tokens::last_used_at,
        ))
        .get_result(conn)?;
    Ok(token(row))
}

/// How many tokens `user` has.
pub fn count(conn: &mut DbConnection, user: UserId) -> StoreResult<i64> {
    Ok(feed_tokens::table
        .filter(feed_tokens::user_id.eq(user.0))
        .count()
        .get_result(conn)?)
}

/// `user`'s tokens, oldest first.
pub fn list(conn: &mut DbConnection, user: UserId) -> StoreResult<Vec<FeedToken>> {
    let rows: Vec<Row> = feed_tokens::table
        .filter(feed_tokens::user_id.eq(user.0))
        .order(feed_tokens::id.asc())
        .select((
            feed_tokens::id,
            feed_tokens::created_at,
            feed_tokens::last_used_at,
        ))
        .load(conn)?;
    Ok(rows.into_iter().map(token).collect())
}

/// Deletes `user`'s token `id`; false when they have no such token.
pub fn delete(conn: &mut DbConnection, user: UserId, id: FeedTokenId) -> StoreResult<bool> {
    let deleted = diesel::delete(
        feed_tokens::table
            .find(id.0)
            .filter(feed_tokens::user_id.eq(user.0)),
    )
    .execute(conn)?;
    Ok(deleted > 0)
}

/// The token stored under `token_hash`: its id and user.
pub fn find(
    conn: &mut DbConnection,
    token_hash: &str,
) -> StoreResult<Option<(FeedTokenId, UserId)>> {
    let row: Option<(i64, i64)> = feed_tokens::table
        .filter(feed_tokens::token_hash.eq(token_hash))
        .select((feed_tokens::id, feed_tokens::user_id))
        .first(conn)
        .optional()?;
    Ok(row.map(|(id, user)| (FeedTokenId(id), UserId(user))))
}

/// How stale `last_used_at` may be before a read writes it again: polling calendar
/// applications do not turn every read into a write.
pub const LAST_USED_PRECISION: Duration = Duration::minutes(1);

/// Records a use of token `id` at `now` (a no-op when one was recorded within
/// [`LAST_USED_PRECISION`]).
pub fn touch(conn: &mut DbConnection, id: FeedTokenId, now: DateTime<Utc>) -> StoreResult<()> {
    diesel::update(
        feed_tokens::table.find(id.0).filter(
            feed_tokens::last_used_at
                .is_null()
                .or(feed_tokens::last_used_at.lt(naive(now - LAST_USED_PRECISION))),
        ),
    )
    .set(feed_tokens::last_used_at.eq(naive(now)))
    .execute(conn)?;
    Ok(())
}
