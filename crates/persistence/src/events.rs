//! Events: rows, writes guarded by version, the conflict-scan index seek, and the
//! keyset-paginated list of a user's events.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::per_backend;
use crate::schema::{event_permissions, events};
use crate::DbConnection;

/// A stored event.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = events)]
pub struct EventRow {
    /// Primary key.
    pub id: i64,
    /// The owner (creator).
    pub owner_id: i64,
    /// Title.
    pub title: String,
    /// Description ("" when none).
    pub description: String,
    /// Start (UTC).
    pub start_time: NaiveDateTime,
    /// End (UTC), after start.
    pub end_time: NaiveDateTime,
    /// Location, if any.
    pub location: Option<String>,
    /// Current version number.
    pub version: i32,
    /// Creation time.
    pub created_at: NaiveDateTime,
    /// Time of the last effective change.
    pub updated_at: NaiveDateTime,
}

/// The editable content of an event, as stored.
#[derive(Debug, Clone, Insertable, AsChangeset)]
#[diesel(table_name = events, treat_none_as_null = true)]
pub struct EventFields {
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
    /// Start (UTC).
    pub start_time: NaiveDateTime,
    /// End (UTC).
    pub end_time: NaiveDateTime,
    /// Location; `None` stores NULL.
    pub location: Option<String>,
}

/// Inserts events for `owner_id` in one multi-row statement; returns their ids in the
/// order given.
pub fn insert_many(
    conn: &mut DbConnection,
    owner_id: i64,
    items: &[EventFields],
    now: NaiveDateTime,
) -> QueryResult<Vec<i64>> {
    let rows: Vec<_> = items
        .iter()
        .map(|f| {
            (
                events::owner_id.eq(owner_id),
                events::title.eq(&f.title),
                events::description.eq(&f.description),
                events::start_time.eq(f.start_time),
                events::end_time.eq(f.end_time),
                events::location.eq(f.location.as_deref()),
                events::version.eq(1),
                events::created_at.eq(now),
                events::updated_at.eq(now),
            )
        })
        .collect();
    let mut ids: Vec<i64> = per_backend!(conn, |c| diesel::insert_into(events::table)
        .values(&rows)
        .returning(events::id)
        .get_results(c))?;
    // Ids come from one sequence in VALUES order; sorting makes that order explicit.
    ids.sort_unstable();
    Ok(ids)
}

/// One event by id.
pub fn find(conn: &mut DbConnection, id: i64) -> QueryResult<Option<EventRow>> {
    events::table
        .find(id)
        .select(EventRow::as_select())
        .first(conn)
        .optional()
}

/// One event with the permission role `user_id` holds on it (if any).
pub fn find_with_role(
    conn: &mut DbConnection,
    id: i64,
    user_id: i64,
) -> QueryResult<Option<(EventRow, Option<String>)>> {
    events::table
        .left_join(
            event_permissions::table.on(event_permissions::event_id
                .eq(events::id)
                .and(event_permissions::user_id.eq(user_id))),
        )
        .filter(events::id.eq(id))
        .select((EventRow::as_select(), event_permissions::role.nullable()))
        .first(conn)
        .optional()
}

/// Replaces the content of event `id` if it is still at `expected_version`, moving it to
/// the next version. Returns false when another writer got there first.
pub fn update_if_version(
    conn: &mut DbConnection,
    id: i64,
    expected_version: i32,
    fields: &EventFields,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let updated = diesel::update(
        events::table
            .find(id)
            .filter(events::version.eq(expected_version)),
    )
    .set((
        fields,
        events::version.eq(expected_version + 1),
        events::updated_at.eq(now),
    ))
    .execute(conn)?;
    Ok(updated == 1)
}

/// Deletes event `id` if it is still at `expected_version`; its permissions and
/// versions go with it (foreign keys cascade).
pub fn delete_if_version(
    conn: &mut DbConnection,
    id: i64,
    expected_version: i32,
) -> QueryResult<bool> {
    let deleted = diesel::delete(
        events::table
            .find(id)
            .filter(events::version.eq(expected_version)),
    )
    .execute(conn)?;
    Ok(deleted == 1)
}

/// The conflict scan's index seek: `owner_id`'s events starting before `end`, latest
/// start first, after the keyset position `before` (exclusive), at most `limit`.
pub fn starting_before_desc(
    conn: &mut DbConnection,
    owner_id: i64,
    end: NaiveDateTime,
    exclude: Option<i64>,
    before: Option<(NaiveDateTime, i64)>,
    limit: i64,
) -> QueryResult<Vec<EventRow>> {
    let mut query = events::table
        .filter(events::owner_id.eq(owner_id))
        .filter(events::start_time.lt(end))
        .select(EventRow::as_select())
        .order((events::start_time.desc(), events::id.desc()))
        .limit(limit)
        .into_boxed();
    if let Some(id) = exclude {
        query = query.filter(events::id.ne(id));
    }
    if let Some((start, id)) = before {
        query = query.filter(
            events::start_time
                .lt(start)
                .or(events::start_time.eq(start).and(events::id.lt(id))),
        );
    }
    query.load(conn)
}

/// Which of a user's events to list.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    /// Only events ending after this instant.
    pub ends_after: Option<NaiveDateTime>,
    /// Only events starting before this instant.
    pub starts_before: Option<NaiveDateTime>,
    /// Only events where the user has this role (`owner`, `editor`, `viewer`).
    pub role: Option<String>,
    /// Keyset position: only events after this `(start_time, id)`.
    pub after: Option<(NaiveDateTime, i64)>,
}

/// Events `user_id` owns or that are shared with them, by `(start_time, id)`, each with
/// the user's permission role (`None` for the owner).
pub fn list_for_user(
    conn: &mut DbConnection,
    user_id: i64,
    filter: &ListFilter,
    limit: i64,
) -> QueryResult<Vec<(EventRow, Option<String>)>> {
    let mut query = events::table
        .left_join(
            event_permissions::table.on(event_permissions::event_id
                .eq(events::id)
                .and(event_permissions::user_id.eq(user_id))),
        )
        .select((EventRow::as_select(), event_permissions::role.nullable()))
        .order((events::start_time.asc(), events::id.asc()))
        .limit(limit)
        .into_boxed();
    query = match filter.role.as_deref() {
        Some("owner") => query.filter(events::owner_id.eq(user_id)),
        Some(role) => query.filter(event_permissions::role.nullable().eq(role)),
        None => query.filter(
            events::owner_id
                .eq(user_id)
                .or(event_permissions::user_id.nullable().is_not_null()),
        ),
    };
    if let Some(t) = filter.ends_after {
        query = query.filter(events::end_time.gt(t));
    }
    if let Some(t) = filter.starts_before {
        query = query.filter(events::start_time.lt(t));
    }
    if let Some((start, id)) = filter.after {
        query = query.filter(
            events::start_time
                .gt(start)
                .or(events::start_time.eq(start).and(events::id.gt(id))),
        );
    }
    query.load(conn)
}

/// Whether a database error is the PostgreSQL exclusion constraint that keeps an
/// owner's events from overlapping (a concurrent writer won the race).
pub fn is_overlap_violation(error: &diesel::result::Error) -> bool {
    match error {
        diesel::result::Error::DatabaseError(_, info) => {
            info.constraint_name() == Some("events_no_overlap")
                || info.message().contains("events_no_overlap")
        }
        _ => false,
    }
}
