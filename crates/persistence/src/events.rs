//! Events: writes guarded by version, the conflict-scan index seek, and the
//! keyset-paginated list of a user's events.

use chrono::{DateTime, NaiveDateTime, Utc};
use convene_domain::event::{EventContent, EventFilter, StoredEvent};
use convene_domain::ids::{EventId, UserId, Version};
use convene_domain::permission::Role;
use convene_domain::schedule::TimeRange;
use diesel::prelude::*;

use crate::db::per_backend;
use crate::error::time::{naive, utc};
use crate::error::{StoreError, StoreResult};
use crate::schema::{event_permissions, events};
use crate::DbConnection;

/// A stored event, as its columns come back (in `events::all_columns` order, which
/// `RETURNING` uses: the multi-backend connection cannot derive it from the row type).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = events)]
struct EventRow {
    id: i64,
    owner_id: i64,
    title: String,
    description: String,
    start_time: NaiveDateTime,
    end_time: NaiveDateTime,
    location: Option<String>,
    version: i32,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

impl TryFrom<EventRow> for StoredEvent {
    type Error = StoreError;

    fn try_from(row: EventRow) -> StoreResult<Self> {
        let range = TimeRange::new(utc(row.start_time), utc(row.end_time))
            .map_err(|_| StoreError::Other(format!("event {} has an empty range", row.id)))?;
        Ok(StoredEvent {
            id: EventId(row.id),
            owner: UserId(row.owner_id),
            content: EventContent {
                title: row.title,
                description: row.description,
                range,
                location: row.location,
            },
            version: Version(row.version),
            created_at: utc(row.created_at),
            updated_at: utc(row.updated_at),
        })
    }
}

fn stored(rows: Vec<EventRow>) -> StoreResult<Vec<StoredEvent>> {
    rows.into_iter().map(StoredEvent::try_from).collect()
}

/// A permission role as stored (`editor` or `viewer`).
pub(crate) fn role_of(text: &str) -> StoreResult<Role> {
    Role::parse(text).ok_or_else(|| StoreError::Other(format!("stored role {text:?}")))
}

/// PostgreSQL: serialises the writes to `owner`'s calendar until the transaction ends
/// (an advisory lock keyed by the owner's id), taken before the conflict check. Without
/// it, two racing overlapping inserts can each wait on the other's exclusion-constraint
/// check: a deadlock PostgreSQL breaks only after `deadlock_timeout` (1 s). With it the
/// later writer sees the earlier one committed, and its conflict check answers.
/// SQLite serialises writers already.
pub fn lock_calendar(conn: &mut DbConnection, owner: UserId) -> StoreResult<()> {
    if let DbConnection::Postgresql(_) = conn {
        crate::live::advisory_xact_lock(conn, owner.0)?;
    }
    Ok(())
}

/// Inserts events for `owner` (version 1) in one multi-row statement; returns them as
/// stored, in the order given.
pub fn insert_many(
    conn: &mut DbConnection,
    owner: UserId,
    items: &[EventContent],
    now: DateTime<Utc>,
) -> StoreResult<Vec<StoredEvent>> {
    let now = naive(now);
    let rows: Vec<_> = items
        .iter()
        .map(|c| {
            (
                events::owner_id.eq(owner.0),
                events::title.eq(&c.title),
                events::description.eq(&c.description),
                events::start_time.eq(naive(c.range.start())),
                events::end_time.eq(naive(c.range.end())),
                events::location.eq(c.location.as_deref()),
                events::version.eq(1),
                events::created_at.eq(now),
                events::updated_at.eq(now),
            )
        })
        .collect();
    let mut inserted: Vec<EventRow> = per_backend!(conn, |c| diesel::insert_into(events::table)
        .values(&rows)
        .returning(events::all_columns)
        .get_results(c))?;
    // Ids come from one sequence in VALUES order; sorting makes that order explicit.
    inserted.sort_unstable_by_key(|r| r.id);
    stored(inserted)
}

/// One event with the permission role `user` holds on it, if any (the owner holds none:
/// ownership is `StoredEvent::owner`).
pub fn find_with_role(
    conn: &mut DbConnection,
    id: EventId,
    user: UserId,
) -> StoreResult<Option<(StoredEvent, Option<Role>)>> {
    let found: Option<(EventRow, Option<String>)> = events::table
        .left_join(
            event_permissions::table.on(event_permissions::event_id
                .eq(events::id)
                .and(event_permissions::user_id.eq(user.0))),
        )
        .filter(events::id.eq(id.0))
        .select((EventRow::as_select(), event_permissions::role.nullable()))
        .first(conn)
        .optional()?;
    found
        .map(|(row, role)| Ok((row.try_into()?, role.as_deref().map(role_of).transpose()?)))
        .transpose()
}

/// Replaces the content of event `id` if it is still at `expected`, moving it to the
/// next version; returns it as stored, or `None` when another writer got there first.
pub fn update_if_version(
    conn: &mut DbConnection,
    id: EventId,
    expected: Version,
    content: &EventContent,
    now: DateTime<Utc>,
) -> StoreResult<Option<StoredEvent>> {
    let row: Option<EventRow> = diesel::update(
        events::table
            .find(id.0)
            .filter(events::version.eq(expected.0)),
    )
    .set((
        events::title.eq(&content.title),
        events::description.eq(&content.description),
        events::start_time.eq(naive(content.range.start())),
        events::end_time.eq(naive(content.range.end())),
        events::location.eq(content.location.as_deref()),
        events::version.eq(expected.0 + 1),
        events::updated_at.eq(naive(now)),
    ))
    .returning(events::all_columns)
    .get_result(conn)
    .optional()?;
    row.map(StoredEvent::try_from).transpose()
}

/// Deletes event `id` if it is still at `expected`; its permissions and versions go
/// with it (foreign keys cascade). False when another writer got there first.
pub fn delete_if_version(
    conn: &mut DbConnection,
    id: EventId,
    expected: Version,
) -> StoreResult<bool> {
    let deleted = diesel::delete(
        events::table
            .find(id.0)
            .filter(events::version.eq(expected.0)),
    )
    .execute(conn)?;
    Ok(deleted == 1)
}

/// The conflict scan's index seek: `owner`'s events starting before `end`, latest start
/// first, after the keyset position `before` (exclusive), at most `limit`.
pub fn starting_before_desc(
    conn: &mut DbConnection,
    owner: UserId,
    end: DateTime<Utc>,
    exclude: Option<EventId>,
    before: Option<(DateTime<Utc>, EventId)>,
    limit: i64,
) -> StoreResult<Vec<StoredEvent>> {
    let mut query = events::table
        .filter(events::owner_id.eq(owner.0))
        .filter(events::start_time.lt(naive(end)))
        .select(EventRow::as_select())
        .order((events::start_time.desc(), events::id.desc()))
        .limit(limit)
        .into_boxed();
    if let Some(id) = exclude {
        query = query.filter(events::id.ne(id.0));
    }
    if let Some((start, id)) = before {
        let start = naive(start);
        query = query.filter(
            events::start_time
                .lt(start)
                .or(events::start_time.eq(start).and(events::id.lt(id.0))),
        );
    }
    stored(query.load(conn)?)
}

/// `owner`'s events starting inside `range` (at or after its start, before its end),
/// earliest first, at most `limit`: one index range scan.
pub fn starting_within_asc(
    conn: &mut DbConnection,
    owner: UserId,
    range: &TimeRange,
    exclude: Option<EventId>,
    limit: i64,
) -> StoreResult<Vec<StoredEvent>> {
    let mut query = events::table
        .filter(events::owner_id.eq(owner.0))
        .filter(events::start_time.ge(naive(range.start())))
        .filter(events::start_time.lt(naive(range.end())))
        .select(EventRow::as_select())
        .order((events::start_time.asc(), events::id.asc()))
        .limit(limit)
        .into_boxed();
    if let Some(id) = exclude {
        query = query.filter(events::id.ne(id.0));
    }
    stored(query.load(conn)?)
}

/// How many of `owner`'s events overlap `range` (excluding `exclude`): what a conflict
/// list too long to show in full reports as its total.
pub fn count_overlapping(
    conn: &mut DbConnection,
    owner: UserId,
    range: &TimeRange,
    exclude: Option<EventId>,
) -> StoreResult<usize> {
    let mut query = events::table
        .filter(events::owner_id.eq(owner.0))
        .filter(events::start_time.lt(naive(range.end())))
        .filter(events::end_time.gt(naive(range.start())))
        .count()
        .into_boxed();
    if let Some(id) = exclude {
        query = query.filter(events::id.ne(id.0));
    }
    let n: i64 = query.get_result(conn)?;
    Ok(usize::try_from(n).unwrap_or(usize::MAX))
}

/// Events `user` owns or that are shared with them, by `(start_time, id)`, each with the
/// user's permission role (`None` for the owner).
pub fn list_for_user(
    conn: &mut DbConnection,
    user: UserId,
    filter: &EventFilter,
    limit: i64,
) -> StoreResult<Vec<(StoredEvent, Option<Role>)>> {
    let mut query = events::table
        .left_join(
            event_permissions::table.on(event_permissions::event_id
                .eq(events::id)
                .and(event_permissions::user_id.eq(user.0))),
        )
        .select((EventRow::as_select(), event_permissions::role.nullable()))
        .order((events::start_time.asc(), events::id.asc()))
        .limit(limit)
        .into_boxed();
    query = match filter.role {
        Some(Role::Owner) => query.filter(events::owner_id.eq(user.0)),
        Some(role) => query.filter(event_permissions::role.nullable().eq(role.as_str())),
        None => query.filter(
            events::owner_id
                .eq(user.0)
                .or(event_permissions::user_id.nullable().is_not_null()),
        ),
    };
    if let Some(t) = filter.ends_after {
        query = query.filter(events::end_time.gt(naive(t)));
    }
    if let Some(t) = filter.starts_before {
        query = query.filter(events::start_time.lt(naive(t)));
    }
    if let Some((start, id)) = filter.after {
        let start = naive(start);
        query = query.filter(
            events::start_time
                .gt(start)
                .or(events::start_time.eq(start).and(events::id.gt(id.0))),
        );
    }
    let rows: Vec<(EventRow, Option<String>)> = query.load(conn)?;
    rows.into_iter()
        .map(|(row, role)| Ok((row.try_into()?, role.as_deref().map(role_of).transpose()?)))
        .collect()
}
