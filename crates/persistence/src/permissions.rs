//! Who else may see or edit an event (the owner is `events.owner_id`, not a row here).

use std::collections::HashSet;

use chrono::{DateTime, NaiveDateTime, Utc};
use convene_domain::ids::{EventId, UserId};
use convene_domain::permission::{Permission, Role};
use diesel::prelude::*;

use crate::db::per_backend;
use crate::error::time::{naive, utc};
use crate::error::{StoreError, StoreResult};
use crate::events::role_of;
use crate::schema::{event_permissions, events, users};
use crate::DbConnection;

/// A stored permission with the grantee's username, as its columns come back.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = event_permissions)]
struct PermissionRow {
    event_id: i64,
    user_id: i64,
    #[diesel(select_expression = users::username)]
    username: String,
    role: String,
    granted_by: i64,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

impl TryFrom<PermissionRow> for Permission {
    type Error = StoreError;

    fn try_from(row: PermissionRow) -> StoreResult<Self> {
        Ok(Permission {
            event_id: EventId(row.event_id),
            user_id: UserId(row.user_id),
            username: row.username,
            role: role_of(&row.role)?,
            granted_by: UserId(row.granted_by),
            created_at: utc(row.created_at),
            updated_at: utc(row.updated_at),
        })
    }
}

/// Every permission on an event, oldest grant first.
pub fn list(conn: &mut DbConnection, event: EventId) -> StoreResult<Vec<Permission>> {
    let rows: Vec<PermissionRow> = event_permissions::table
        .inner_join(users::table.on(users::id.eq(event_permissions::user_id)))
        .filter(event_permissions::event_id.eq(event.0))
        .order((
            event_permissions::created_at.asc(),
            event_permissions::user_id.asc(),
        ))
        .select(PermissionRow::as_select())
        .load(conn)?;
    rows.into_iter().map(Permission::try_from).collect()
}

/// One user's permission on an event.
pub fn find(
    conn: &mut DbConnection,
    event: EventId,
    user: UserId,
) -> StoreResult<Option<Permission>> {
    let row: Option<PermissionRow> = event_permissions::table
        .inner_join(users::table.on(users::id.eq(event_permissions::user_id)))
        .filter(event_permissions::event_id.eq(event.0))
        .filter(event_permissions::user_id.eq(user.0))
        .select(PermissionRow::as_select())
        .first(conn)
        .optional()?;
    row.map(Permission::try_from).transpose()
}

/// Grants `role`, or changes the existing role, in one statement (`INSERT … ON CONFLICT
/// DO UPDATE`): two concurrent grants to the same user both succeed, the later one's
/// role standing. An event deleted meanwhile is `StoreError::Missing`.
pub fn upsert(
    conn: &mut DbConnection,
    event: EventId,
    user: UserId,
    role: Role,
    granted_by: UserId,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let now = naive(now);
    per_backend!(conn, |c| diesel::insert_into(event_permissions::table)
        .values((
            event_permissions::event_id.eq(event.0),
            event_permissions::user_id.eq(user.0),
            event_permissions::role.eq(role.as_str()),
            event_permissions::granted_by.eq(granted_by.0),
            event_permissions::created_at.eq(now),
            event_permissions::updated_at.eq(now),
        ))
        .on_conflict((event_permissions::event_id, event_permissions::user_id))
        .do_update()
        .set((
            event_permissions::role.eq(role.as_str()),
            event_permissions::granted_by.eq(granted_by.0),
            event_permissions::updated_at.eq(now),
        ))
        .execute(c))?;
    Ok(())
}

/// Gives event `to` the same grants as event `from` (who granted them and when stays).
pub fn copy(conn: &mut DbConnection, from: EventId, to: EventId) -> StoreResult<()> {
    let rows: Vec<(i64, String, i64, NaiveDateTime, NaiveDateTime)> = event_permissions::table
        .filter(event_permissions::event_id.eq(from.0))
        .select((
            event_permissions::user_id,
            event_permissions::role,
            event_permissions::granted_by,
            event_permissions::created_at,
            event_permissions::updated_at,
        ))
        .load(conn)?;
    if rows.is_empty() {
        return Ok(());
    }
    let values: Vec<_> = rows
        .into_iter()
        .map(|(user, role, granted_by, created_at, updated_at)| {
            (
                event_permissions::event_id.eq(to.0),
                event_permissions::user_id.eq(user),
                event_permissions::role.eq(role),
                event_permissions::granted_by.eq(granted_by),
                event_permissions::created_at.eq(created_at),
                event_permissions::updated_at.eq(updated_at),
            )
        })
        .collect();
    per_backend!(conn, |c| diesel::insert_into(event_permissions::table)
        .values(&values)
        .execute(c))?;
    Ok(())
}

/// Removes a permission; false when there was none.
pub fn delete(conn: &mut DbConnection, event: EventId, user: UserId) -> StoreResult<bool> {
    let deleted = diesel::delete(
        event_permissions::table
            .filter(event_permissions::event_id.eq(event.0))
            .filter(event_permissions::user_id.eq(user.0)),
    )
    .execute(conn)?;
    Ok(deleted == 1)
}

/// Which of `events` `user` holds a permission on (at most one query per 500 ids).
pub fn held_by(
    conn: &mut DbConnection,
    user: UserId,
    events: &[EventId],
) -> StoreResult<HashSet<EventId>> {
    let mut held = HashSet::new();
    for chunk in events.chunks(IN_CHUNK) {
        let ids: Vec<i64> = chunk.iter().map(|e| e.0).collect();
        let found: Vec<i64> = event_permissions::table
            .filter(event_permissions::user_id.eq(user.0))
            .filter(event_permissions::event_id.eq_any(ids))
            .select(event_permissions::event_id)
            .load(conn)?;
        held.extend(found.into_iter().map(EventId));
    }
    Ok(held)
}

/// Ids per `IN (…)` list: well under SQLite's and PostgreSQL's bind-parameter limits.
pub(crate) const IN_CHUNK: usize = 500;

/// The users holding a permission on an event.
pub fn grantees(conn: &mut DbConnection, event: EventId) -> StoreResult<Vec<UserId>> {
    let ids: Vec<i64> = event_permissions::table
        .filter(event_permissions::event_id.eq(event.0))
        .select(event_permissions::user_id)
        .load(conn)?;
    Ok(ids.into_iter().map(UserId).collect())
}

/// Which of `among` collaborate with `user`: they share at least one event with `user`,
/// either way (a grant on an event of one to the other). Two index scans of `user`'s own
/// rows: their events' grants and their own grants.
pub fn collaborators(
    conn: &mut DbConnection,
    user: UserId,
    among: &[UserId],
) -> StoreResult<HashSet<UserId>> {
    let ids: Vec<i64> = among.iter().map(|u| u.0).collect();
    let granted_by_user: Vec<i64> = event_permissions::table
        .inner_join(events::table.on(events::id.eq(event_permissions::event_id)))
        .filter(events::owner_id.eq(user.0))
        .filter(event_permissions::user_id.eq_any(&ids))
        .select(event_permissions::user_id)
        .distinct()
        .load(conn)?;
    let granting_user: Vec<i64> = event_permissions::table
        .inner_join(events::table.on(events::id.eq(event_permissions::event_id)))
        .filter(event_permissions::user_id.eq(user.0))
        .filter(events::owner_id.eq_any(&ids))
        .select(events::owner_id)
        .distinct()
        .load(conn)?;
    Ok(granted_by_user
        .into_iter()
        .chain(granting_user)
        .map(UserId)
        .collect())
}
