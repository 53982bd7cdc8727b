//! Stored notifications: written with the change that caused them, read newest first.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::per_backend;
use crate::schema::notifications;
use crate::DbConnection;

/// A stored notification.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = notifications)]
pub struct NotificationRow {
    /// Primary key; grows with time.
    pub id: i64,
    /// The recipient.
    pub user_id: i64,
    /// The kind, e.g. `event_updated`.
    pub kind: String,
    /// The event concerned (kept after the event is deleted).
    pub event_id: Option<i64>,
    /// Who caused it.
    pub actor_id: i64,
    /// A human sentence.
    pub message: String,
    /// A JSON object with details.
    pub data: String,
    /// Whether the recipient has read it.
    pub is_read: bool,
    /// When.
    pub created_at: NaiveDateTime,
}

/// A notification to store.
// `treat_none_as_default_value = false`: `None` is NULL, so SQLite can take the rows in
// one multi-row INSERT instead of one statement per row.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = notifications, treat_none_as_default_value = false)]
pub struct NewNotification {
    /// The recipient.
    pub user_id: i64,
    /// The kind.
    pub kind: String,
    /// The event concerned.
    pub event_id: Option<i64>,
    /// Who caused it.
    pub actor_id: i64,
    /// A human sentence.
    pub message: String,
    /// A JSON object with details.
    pub data: String,
    /// Stored already read (the actor's own copy).
    pub is_read: bool,
    /// When.
    pub created_at: NaiveDateTime,
}

/// Rows per INSERT statement (8 parameters each).
const INSERT_CHUNK: usize = 1_000;

/// Stores notifications in one statement per 1,000 and returns them with their ids, in order.
pub fn insert_many(
    conn: &mut DbConnection,
    rows: Vec<NewNotification>,
) -> QueryResult<Vec<NotificationRow>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    // Chunks keep each statement well under both backends' bind-parameter limits.
    let mut ids: Vec<i64> = Vec::with_capacity(rows.len());
    for chunk in rows.chunks(INSERT_CHUNK) {
        let mut chunk_ids: Vec<i64> =
            per_backend!(conn, |c| diesel::insert_into(notifications::table)
                .values(chunk)
                .returning(notifications::id)
                .get_results(c))?;
        ids.append(&mut chunk_ids);
    }
    ids.sort_unstable();
    Ok(ids
        .into_iter()
        .zip(rows)
        .map(|(id, n)| NotificationRow {
            id,
            user_id: n.user_id,
            kind: n.kind,
            event_id: n.event_id,
            actor_id: n.actor_id,
            message: n.message,
            data: n.data,
            is_read: n.is_read,
            created_at: n.created_at,
        })
        .collect())
}

/// A user's notifications with id below `before`, newest first, at most `limit`.
pub fn list(
    conn: &mut DbConnection,
    user_id: i64,
    unread_only: bool,
    before: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<NotificationRow>> {
    let mut query = notifications::table
        .filter(notifications::user_id.eq(user_id))
        .order(notifications::id.desc())
        .limit(limit)
        .select(NotificationRow::as_select())
        .into_boxed();
    if unread_only {
        query = query.filter(notifications::is_read.eq(false));
    }
    if let Some(id) = before {
        query = query.filter(notifications::id.lt(id));
    }
    query.load(conn)
}

/// A user's notifications with id above `after`, oldest first (resuming a feed).
pub fn after(
    conn: &mut DbConnection,
    user_id: i64,
    after: i64,
    limit: i64,
) -> QueryResult<Vec<NotificationRow>> {
    notifications::table
        .filter(notifications::user_id.eq(user_id))
        .filter(notifications::id.gt(after))
        .order(notifications::id.asc())
        .limit(limit)
        .select(NotificationRow::as_select())
        .load(conn)
}

/// How many unread notifications a user has.
pub fn unread_count(conn: &mut DbConnection, user_id: i64) -> QueryResult<i64> {
    notifications::table
        .filter(notifications::user_id.eq(user_id))
        .filter(notifications::is_read.eq(false))
        .count()
        .get_result(conn)
}

/// Marks one of a user's notifications read and returns it; `None` if it is not theirs.
pub fn mark_read(
    conn: &mut DbConnection,
    user_id: i64,
    id: i64,
) -> QueryResult<Option<NotificationRow>> {
    diesel::update(
        notifications::table
            .find(id)
            .filter(notifications::user_id.eq(user_id)),
    )
    .set(notifications::is_read.eq(true))
    .execute(conn)?;
    notifications::table
        .find(id)
        .filter(notifications::user_id.eq(user_id))
        .select(NotificationRow::as_select())
        .first(conn)
        .optional()
}

/// Marks all of a user's notifications read; returns how many changed.
pub fn mark_all_read(conn: &mut DbConnection, user_id: i64) -> QueryResult<usize> {
    diesel::update(
        notifications::table
            .filter(notifications::user_id.eq(user_id))
            .filter(notifications::is_read.eq(false)),
    )
    .set(notifications::is_read.eq(true))
    .execute(conn)
}

/// Notifications by id, in id order.
pub fn by_ids(conn: &mut DbConnection, ids: &[i64]) -> QueryResult<Vec<NotificationRow>> {
    notifications::table
        .filter(notifications::id.eq_any(ids))
        .order(notifications::id.asc())
        .select(NotificationRow::as_select())
        .load(conn)
}

/// Everyone's notifications with id above `after`, oldest first (a live listener
/// catching up after reconnecting).
pub fn all_after(
    conn: &mut DbConnection,
    after: i64,
    limit: i64,
) -> QueryResult<Vec<NotificationRow>> {
    notifications::table
        .filter(notifications::id.gt(after))
        .order(notifications::id.asc())
        .limit(limit)
        .select(NotificationRow::as_select())
        .load(conn)
}

/// The highest notification id, if any.
pub fn latest_id(conn: &mut DbConnection) -> QueryResult<Option<i64>> {
    notifications::table
        .select(diesel::dsl::max(notifications::id))
        .first(conn)
}
