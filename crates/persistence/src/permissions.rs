//! Who else may see or edit an event (the owner is `events.owner_id`, not a row here).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::schema::{event_permissions, users};
use crate::DbConnection;

/// A stored permission with the grantee's username.
#[derive(Debug, Clone, Queryable)]
pub struct PermissionRow {
    /// The event.
    pub event_id: i64,
    /// The grantee.
    pub user_id: i64,
    /// The grantee's username.
    pub username: String,
    /// `editor` or `viewer`.
    pub role: String,
    /// Who granted or last changed it.
    pub granted_by: i64,
    /// First granted.
    pub created_at: NaiveDateTime,
    /// Last changed.
    pub updated_at: NaiveDateTime,
}

type PermissionColumns = (
    event_permissions::event_id,
    event_permissions::user_id,
    users::username,
    event_permissions::role,
    event_permissions::granted_by,
    event_permissions::created_at,
    event_permissions::updated_at,
);

const COLUMNS: PermissionColumns = (
    event_permissions::event_id,
    event_permissions::user_id,
    users::username,
    event_permissions::role,
    event_permissions::granted_by,
    event_permissions::created_at,
    event_permissions::updated_at,
);

/// Every permission on an event, oldest grant first.
pub fn list(conn: &mut DbConnection, event_id: i64) -> QueryResult<Vec<PermissionRow>> {
    event_permissions::table
        .inner_join(users::table.on(users::id.eq(event_permissions::user_id)))
        .filter(event_permissions::event_id.eq(event_id))
        .order((
            event_permissions::created_at.asc(),
            event_permissions::user_id.asc(),
        ))
        .select(COLUMNS)
        .load(conn)
}

/// One user's permission on an event.
pub fn find(
    conn: &mut DbConnection,
    event_id: i64,
    user_id: i64,
) -> QueryResult<Option<PermissionRow>> {
    event_permissions::table
        .inner_join(users::table.on(users::id.eq(event_permissions::user_id)))
        .filter(event_permissions::event_id.eq(event_id))
        .filter(event_permissions::user_id.eq(user_id))
        .select(COLUMNS)
        .first(conn)
        .optional()
}

/// Grants `role`, or changes the existing role; call inside a write transaction.
pub fn upsert(
    conn: &mut DbConnection,
    event_id: i64,
    user_id: i64,
    role: &str,
    granted_by: i64,
    now: NaiveDateTime,
) -> QueryResult<()> {
    let updated = diesel::update(
        event_permissions::table
            .filter(event_permissions::event_id.eq(event_id))
            .filter(event_permissions::user_id.eq(user_id)),
    )
    .set((
        event_permissions::role.eq(role),
        event_permissions::granted_by.eq(granted_by),
        event_permissions::updated_at.eq(now),
    ))
    .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(event_permissions::table)
            .values((
                event_permissions::event_id.eq(event_id),
                event_permissions::user_id.eq(user_id),
                event_permissions::role.eq(role),
                event_permissions::granted_by.eq(granted_by),
                event_permissions::created_at.eq(now),
                event_permissions::updated_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Removes a permission; false when there was none.
pub fn delete(conn: &mut DbConnection, event_id: i64, user_id: i64) -> QueryResult<bool> {
    let deleted = diesel::delete(
        event_permissions::table
            .filter(event_permissions::event_id.eq(event_id))
            .filter(event_permissions::user_id.eq(user_id)),
    )
    .execute(conn)?;
    Ok(deleted == 1)
}

/// The ids of users holding a permission on an event.
pub fn grantee_ids(conn: &mut DbConnection, event_id: i64) -> QueryResult<Vec<i64>> {
    event_permissions::table
        .filter(event_permissions::event_id.eq(event_id))
        .select(event_permissions::user_id)
        .load(conn)
}

/// Which of `ids` are registered users.
pub fn existing_users(conn: &mut DbConnection, ids: &[i64]) -> QueryResult<Vec<(i64, String)>> {
    users::table
        .filter(users::id.eq_any(ids))
        .select((users::id, users::username))
        .load(conn)
}
