//! Events: writes guarded by version and the keyset-paginated list of a user's events.
//! (The conflict scan reads their busy occurrences: `occurrences`.)

use chrono::{DateTime, NaiveDateTime, Utc};
use convene_domain::event::{EventContent, EventFilter, StoredEvent};
use convene_domain::ids::{EventId, SessionId, UserId, Version};
use convene_domain::permission::Role;
use convene_domain::schedule::TimeRange;
use diesel::prelude::*;

use crate::content::{decode_exceptions, encode_exceptions, rule_of, transparency_of, zone_of};
use crate::db::{insert_rows, per_backend, KeepPrepared};
use crate::error::time::{naive, utc};
use crate::error::{StoreError, StoreResult};
use crate::schema::{event_permissions, events, horizons, sessions};
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
    time_zone: String,
    recurrence: Option<String>,
    transparency: String,
    exceptions: String,
    // The extent is written with the event; lists order by `series_start`.
    series_start: Option<NaiveDateTime>,
    #[diesel(column_name = series_end)]
    _series_end: Option<NaiveDateTime>,
}

/// How far a stored event's occurrences reach, kept beside it for the list filter and
/// the horizon task.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Extent {
    /// The start of the earliest occurrence.
    pub series_start: DateTime<Utc>,
    /// The end of the last occurrence; `None` for a series without end.
    pub series_end: Option<DateTime<Utc>>,
    /// Occurrences starting before this instant are in `occurrences` (the horizon task
    /// moves it on); `None`: all of them are.
    pub materialized_until: Option<DateTime<Utc>>,
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
                time_zone: zone_of(&row.time_zone)?,
                recurrence: rule_of(row.recurrence.as_deref())?,
                transparency: transparency_of(&row.transparency)?,
                exceptions: decode_exceptions(&row.exceptions)?,
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
/// (an advisory lock keyed by the owner's id), taken before the conflict check: the
/// later writer sees the earlier one committed, and its check answers with what is in
/// the way. The `occurrences_no_overlap` trigger takes the same lock (for writes that do
/// not come through here). SQLite serialises writers already.
pub fn lock_calendar(conn: &mut DbConnection, owner: UserId) -> StoreResult<()> {
    if let DbConnection::Postgresql(_) = conn {
        crate::live::advisory_xact_lock(conn, owner.0)?;
    }
    Ok(())
}

/// PostgreSQL: locks event `id`'s row until the transaction ends (`FOR NO KEY UPDATE`,
/// the lock its `UPDATE` takes anyway, which rows referencing it do not wait for), taken
/// first by every write that changes an existing event: concurrent writers of one event
/// then read it one after the other, each seeing the last committed version (an
/// optimistic read would lose the race and retry, and under many writers give up), and
/// always before the owner's calendar lock, so the two never deadlock. SQLite
/// serialises writers already. A missing event locks nothing.
pub fn lock_event(conn: &mut DbConnection, id: EventId) -> StoreResult<()> {
    if let DbConnection::Postgresql(pg) = conn {
        events::table
            .find(id.0)
            .select(events::id)
            .for_no_key_update()
            .first::<i64>(pg)
            .optional()?;
    }
    Ok(())
}

/// Inserts events for `owner` (version 1) in one multi-row statement, each with its
/// extent; returns them as stored, in the order given.
pub fn insert_many(
    conn: &mut DbConnection,
    owner: UserId,
    items: &[(EventContent, Extent)],
    now: DateTime<Utc>,
) -> StoreResult<Vec<StoredEvent>> {
    let now = naive(now);
    let rows: Vec<_> = items
        .iter()
        .map(|(c, extent)| {
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
                events::time_zone.eq(c.time_zone.name()),
                events::recurrence.eq(c.recurrence.as_ref().map(|r| r.as_str())),
                events::transparency.eq(c.transparency.as_str()),
                events::exceptions.eq(encode_exceptions(&c.exceptions)),
                events::series_start.eq(naive(extent.series_start)),
                events::series_end.eq(extent.series_end.map(naive)),
            )
        })
        .collect();
    let mut inserted: Vec<EventRow> =
        insert_rows!(conn, events::table, rows.as_slice(), |q, c| q
            .returning(events::all_columns)
            .get_results(c))?;
    // Ids come from one sequence in VALUES order; sorting makes that order explicit.
    inserted.sort_unstable_by_key(|r| r.id);
    let behind: Vec<_> = inserted
        .iter()
        .zip(items)
        .filter_map(|(row, (_, extent))| {
            extent.materialized_until.map(|until| {
                (
                    horizons::event_id.eq(row.id),
                    horizons::materialized_until.eq(naive(until)),
                )
            })
        })
        .collect();
    if !behind.is_empty() {
        per_backend!(conn, |c| diesel::insert_into(horizons::table)
            .values(&behind)
            .execute(c))?;
    }
    stored(inserted)
}

/// One event.
pub fn find(conn: &mut DbConnection, id: EventId) -> StoreResult<Option<StoredEvent>> {
    let row: Option<EventRow> = events::table
        .find(id.0)
        .select(EventRow::as_select())
        .first(conn)
        .optional()?;
    row.map(StoredEvent::try_from).transpose()
}

/// One event with the permission role `user` holds on it, if any (the owner holds none:
/// ownership is `StoredEvent::owner`).
pub fn find_with_role(
    conn: &mut DbConnection,
    id: EventId,
    user: UserId,
) -> StoreResult<Option<WithRole>> {
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
    found.map(with_role).transpose()
}

/// What one holder of an access token asks [`find_for_sessions`]: event `event`, for
/// session `session` of `user`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionRead {
    /// The access token's session.
    pub session: SessionId,
    /// Its user.
    pub user: UserId,
    /// The event asked for.
    pub event: EventId,
}

/// [`find_with_role`] for holders of access tokens, their sessions checked as their
/// events are read: for each read, in order, `None` when its session is not live at
/// `now` (the condition of [`sessions::active_user`](crate::sessions::active_user)), else
/// its event (`None` when there is none) with the role granted to its user. Two
/// statements however many reads there are, so concurrent reads can share one round of
/// them: the live sessions with their users' grants on the events asked (small rows),
/// then each event asked once.
pub fn find_for_sessions(
    conn: &mut DbConnection,
    reads: &[SessionRead],
    now: DateTime<Utc>,
) -> StoreResult<Vec<Option<Option<WithRole>>>> {
    let asked: Vec<i64> = reads.iter().map(|read| read.session.0).collect();
    let events_asked: Vec<i64> = reads.iter().map(|read| read.event.0).collect();
    // A live session once per grant of its user on an event asked, or once without one.
    let live: Vec<(i64, i64, Option<i64>, Option<String>)> = sessions::table
        .left_join(
            event_permissions::table.on(event_permissions::user_id
                .eq(sessions::user_id)
                .and(event_permissions::event_id.eq_any(&events_asked))),
        )
        .filter(sessions::id.eq_any(&asked))
        .filter(sessions::revoked_at.is_null())
        .filter(sessions::expires_at.gt(naive(now)))
        .select((
            sessions::id,
            sessions::user_id,
            event_permissions::event_id.nullable(),
            event_permissions::role.nullable(),
        ))
        .load(conn)?;
    let is_live = |read: &SessionRead| {
        live.iter()
            .any(|(id, user, ..)| (*id, *user) == (read.session.0, read.user.0))
    };
    let mut ids: Vec<i64> = reads
        .iter()
        .filter(|read| is_live(read))
        .map(|read| read.event.0)
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let rows: Vec<EventRow> = if ids.is_empty() {
        Vec::new()
    } else {
        events::table
            .filter(events::id.eq_any(&ids))
            .select(EventRow::as_select())
            .load(conn)?
    };
    reads
        .iter()
        .map(|read| {
            if !is_live(read) {
                return Ok(None);
            }
            let Some(row) = rows.iter().find(|row| row.id == read.event.0) else {
                return Ok(Some(None));
            };
            let role = live
                .iter()
                .find(|(id, user, event, _)| {
                    (*id, *user, *event) == (read.session.0, read.user.0, Some(read.event.0))
                })
                .and_then(|(.., role)| role.clone());
            with_role((row.clone(), role)).map(Some).map(Some)
        })
        .collect()
}

/// An event and the role granted to the user who reads it (`None`: none granted).
pub type WithRole = (StoredEvent, Option<Role>);

/// An event row and the role its reader was granted, decoded.
fn with_role((row, role): (EventRow, Option<String>)) -> StoreResult<WithRole> {
    Ok((row.try_into()?, role.as_deref().map(role_of).transpose()?))
}

/// Replaces the content of event `id` if it is still at `expected`, moving it to the
/// next version, and its extent when given; returns it as stored, or `None` when
/// another writer got there first.
pub fn update_if_version(
    conn: &mut DbConnection,
    id: EventId,
    expected: Version,
    content: &EventContent,
    extent: Option<Extent>,
    now: DateTime<Utc>,
) -> StoreResult<Option<StoredEvent>> {
    let target = events::table
        .find(id.0)
        .filter(events::version.eq(expected.0));
    let update = diesel::update(target)
        .set((
            events::title.eq(&content.title),
            events::description.eq(&content.description),
            events::start_time.eq(naive(content.range.start())),
            events::end_time.eq(naive(content.range.end())),
            events::location.eq(content.location.as_deref()),
            events::version.eq(expected.0 + 1),
            events::updated_at.eq(naive(now)),
            events::time_zone.eq(content.time_zone.name()),
            events::recurrence.eq(content.recurrence.as_ref().map(|r| r.as_str())),
            events::transparency.eq(content.transparency.as_str()),
            events::exceptions.eq(encode_exceptions(&content.exceptions)),
            // `None` leaves the extent as it is.
            extent.map(|e| {
                (
                    events::series_start.eq(naive(e.series_start)),
                    events::series_end.eq(e.series_end.map(naive)),
                )
            }),
        ))
        .returning(events::all_columns);
    // Two shapes (with the extent or without), each prepared once per connection.
    let update = KeepPrepared(update);
    let row: Option<EventRow> = per_backend!(conn, |c| update.get_result(c).optional())?;
    if let (Some(_), Some(extent)) = (&row, extent) {
        set_materialized_until(conn, id, extent.materialized_until)?;
    }
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

/// What a list of a user's events reads, in naive UTC: a time filter (see
/// [`list_for_user`]), a keyset position `(key, id)`, one event only, and a limit.
struct Listing {
    ends_after: Option<NaiveDateTime>,
    starts_before: Option<NaiveDateTime>,
    after: Option<(NaiveDateTime, i64)>,
    event: Option<i64>,
    limit: i64,
}

/// One branch of a user's list (a boxed query) — their own events (`events`) or their
/// grants (`event_permissions`, which carry their events' times) — as a range scan of an index
/// starting `(user, key, id)`: ordered by `(key, id)`, from the keyset position on (the
/// `key >= …` bound starts the scan there), filtered by the listing's times, at most
/// its limit.
macro_rules! list_branch {
    ($query:expr, $listing:expr, $key:expr, $id:expr, $table:ident) => {{
        let listing = &$listing;
        let mut query = $query.order(($key.asc(), $id.asc())).limit(listing.limit);
        if let Some(t) = listing.ends_after {
            query = query.filter($table::series_end.is_null().or($table::series_end.gt(t)));
        }
        if let Some(t) = listing.starts_before {
            query = query.filter($table::series_start.lt(t));
        }
        if let Some((key, id)) = listing.after {
            query = query
                .filter($key.ge(key))
                .filter($key.gt(key).or($key.eq(key).and($id.gt(id))));
        }
        if let Some(id) = listing.event {
            query = query.filter($id.eq(id));
        }
        query
    }};
}

/// The column a list of a user's events is ordered by (then the event id).
#[derive(Debug, Clone, Copy)]
enum ListKey {
    /// `start_time`: the event list.
    Start,
    /// `series_start`: the occurrence list's candidates.
    SeriesStart,
}

/// The user's events (`role` picks own, shared or both) that `listing` selects, in
/// `key` order: each branch a range scan of its index, merged.
fn user_events(
    conn: &mut DbConnection,
    user: UserId,
    role: Option<Role>,
    listing: &Listing,
    key: ListKey,
) -> StoreResult<Vec<WithRole>> {
    let owned = |conn: &mut DbConnection| -> StoreResult<Vec<EventRow>> {
        let query = events::table
            .filter(events::owner_id.eq(user.0))
            .select(EventRow::as_select())
            .into_boxed();
        Ok(match key {
            ListKey::Start => {
                list_branch!(query, listing, events::start_time, events::id, events).load(conn)?
            }
            ListKey::SeriesStart => {
                list_branch!(query, listing, events::series_start, events::id, events).load(conn)?
            }
        })
    };
    let shared = |conn: &mut DbConnection| -> StoreResult<Vec<(i64, String)>> {
        let mut query = event_permissions::table
            .filter(event_permissions::user_id.eq(user.0))
            .select((event_permissions::event_id, event_permissions::role))
            .into_boxed();
        if let Some(role) = role.filter(|r| *r != Role::Owner) {
            query = query.filter(event_permissions::role.eq(role.as_str()));
        }
        Ok(match key {
            ListKey::Start => list_branch!(
                query,
                listing,
                event_permissions::start_time,
                event_permissions::event_id,
                event_permissions
            )
            .load(conn)?,
            ListKey::SeriesStart => list_branch!(
                query,
                listing,
                event_permissions::series_start,
                event_permissions::event_id,
                event_permissions
            )
            .load(conn)?,
        })
    };
    merge(conn, role, owned, shared, listing.limit, |row| match key {
        ListKey::Start => (Some(row.start_time), row.id),
        ListKey::SeriesStart => (row.series_start, row.id),
    })
}

/// Merges a user's own events and their shared ones (each already in `key` order, at
/// most `limit`) into the first `limit` of both; `role` picks the branches to read.
/// The shared branch reads the grants alone (event id and role, in list order from the
/// grants' index), then their events by primary key: a join would let the planner walk
/// `events` in id order across every user's events and sort.
fn merge<K: Ord>(
    conn: &mut DbConnection,
    role: Option<Role>,
    owned: impl FnOnce(&mut DbConnection) -> StoreResult<Vec<EventRow>>,
    shared: impl FnOnce(&mut DbConnection) -> StoreResult<Vec<(i64, String)>>,
    limit: i64,
    key: impl Fn(&EventRow) -> K,
) -> StoreResult<Vec<WithRole>> {
    let owned = match role {
        None | Some(Role::Owner) => owned(conn)?,
        Some(_) => Vec::new(),
    };
    let grants = match role {
        None | Some(Role::Editor | Role::Viewer) => shared(conn)?,
        Some(Role::Owner) => Vec::new(),
    };
    let ids: Vec<i64> = grants.iter().map(|(id, _)| *id).collect();
    let mut shared: std::collections::HashMap<i64, EventRow> = if ids.is_empty() {
        std::collections::HashMap::new()
    } else {
        events::table
            .filter(events::id.eq_any(ids))
            .select(EventRow::as_select())
            .load::<EventRow>(conn)?
            .into_iter()
            .map(|row| (row.id, row))
            .collect()
    };
    // An event deleted between the two reads is not listed.
    let mut rows: Vec<(EventRow, Option<String>)> = owned
        .into_iter()
        .map(|row| (row, None))
        .chain(
            grants
                .into_iter()
                .filter_map(|(id, role)| shared.remove(&id).map(|row| (row, Some(role)))),
        )
        .collect();
    rows.sort_by_key(|(row, _)| key(row));
    rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    rows.into_iter().map(with_role).collect()
}

/// Every event `user` owns or that is shared with them (with `role`, or only `event`
/// when given) that may have an occurrence overlapping `window`: its earliest
/// occurrence starts before the window ends and its last one ends after the window
/// starts (or it has no end). Each with the user's permission role; by `(series_start,
/// id)` after the keyset position `after`, at most `limit`.
pub fn spanning(
    conn: &mut DbConnection,
    user: UserId,
    window: &TimeRange,
    (role, event): (Option<Role>, Option<EventId>),
    after: Option<(DateTime<Utc>, EventId)>,
    limit: i64,
) -> StoreResult<Vec<WithRole>> {
    let listing = Listing {
        ends_after: Some(naive(window.start())),
        starts_before: Some(naive(window.end())),
        after: after.map(|(start, id)| (naive(start), id.0)),
        event: event.map(|e| e.0),
        limit,
    };
    user_events(conn, user, role, &listing, ListKey::SeriesStart)
}

/// Series whose occurrences are materialised only up to before `horizon`: the horizon
/// task's work, at most `limit` of them, least advanced first.
pub fn behind_horizon(
    conn: &mut DbConnection,
    horizon: DateTime<Utc>,
    limit: i64,
) -> StoreResult<Vec<EventId>> {
    let ids: Vec<i64> = horizons::table
        .filter(horizons::materialized_until.lt(naive(horizon)))
        .order((horizons::materialized_until.asc(), horizons::event_id.asc()))
        .select(horizons::event_id)
        .limit(limit)
        .load(conn)?;
    Ok(ids.into_iter().map(EventId).collect())
}

/// `owner`'s series whose occurrences are materialised only up to before `before`, each
/// with how far: the ones a window ending at `before` must compute from the rule.
pub fn behind_horizon_of(
    conn: &mut DbConnection,
    owner: UserId,
    before: DateTime<Utc>,
) -> StoreResult<Vec<(StoredEvent, DateTime<Utc>)>> {
    let rows: Vec<(EventRow, NaiveDateTime)> = events::table
        .inner_join(horizons::table.on(horizons::event_id.eq(events::id)))
        .filter(events::owner_id.eq(owner.0))
        .filter(horizons::materialized_until.lt(naive(before)))
        .select((EventRow::as_select(), horizons::materialized_until))
        .load(conn)?;
    rows.into_iter()
        .map(|(row, until)| Ok((row.try_into()?, utc(until))))
        .collect()
}

/// How far event `id`'s occurrences are materialised; `None`: all of them.
pub fn materialized_until(
    conn: &mut DbConnection,
    id: EventId,
) -> StoreResult<Option<DateTime<Utc>>> {
    let found: Option<NaiveDateTime> = horizons::table
        .find(id.0)
        .select(horizons::materialized_until)
        .first(conn)
        .optional()?;
    Ok(found.map(utc))
}

/// Sets how far event `id`'s occurrences are materialised (`None`: all of them).
pub fn set_materialized_until(
    conn: &mut DbConnection,
    id: EventId,
    until: Option<DateTime<Utc>>,
) -> StoreResult<()> {
    diesel::delete(horizons::table.find(id.0)).execute(conn)?;
    if let Some(until) = until {
        diesel::insert_into(horizons::table)
            .values((
                horizons::event_id.eq(id.0),
                horizons::materialized_until.eq(naive(until)),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Events `ids` (those that still exist; a short list: one `IN`).
pub fn find_many(conn: &mut DbConnection, ids: &[EventId]) -> StoreResult<Vec<StoredEvent>> {
    let ids: Vec<i64> = ids.iter().map(|e| e.0).collect();
    let rows: Vec<EventRow> = events::table
        .filter(events::id.eq_any(ids))
        .select(EventRow::as_select())
        .load(conn)?;
    stored(rows)
}

/// Events `user` owns or that are shared with them, by `(start_time, id)`, each with the
/// user's permission role (`None` for the owner). A time filter keeps the events whose
/// first occurrence starts before `starts_before` and whose last one (`series_end`) ends
/// after `ends_after`: every event with an occurrence in the range, and series that may
/// have none there (the caller checks those against their rule).
pub fn list_for_user(
    conn: &mut DbConnection,
    user: UserId,
    filter: &EventFilter,
    limit: i64,
) -> StoreResult<Vec<WithRole>> {
    let listing = Listing {
        ends_after: filter.ends_after.map(naive),
        starts_before: filter.starts_before.map(naive),
        after: filter.after.map(|(start, id)| (naive(start), id.0)),
        event: None,
        limit,
    };
    user_events(conn, user, filter.role, &listing, ListKey::Start)
}

/// The ids of every event `user` owns or that is shared with them: two index scans.
fn ids_of_user(conn: &mut DbConnection, user: UserId) -> StoreResult<Vec<i64>> {
    let mut ids: Vec<i64> = events::table
        .filter(events::owner_id.eq(user.0))
        .select(events::id)
        .load(conn)?;
    ids.extend(
        event_permissions::table
            .filter(event_permissions::user_id.eq(user.0))
            .select(event_permissions::event_id)
            .load::<i64>(conn)?,
    );
    Ok(ids)
}

/// Those of the events `ids` that `user` owns or that are shared with them now (gone
/// or no longer visible ones are left out), in no particular order: a page of their
/// subscription feed.
pub fn visible_of_user(
    conn: &mut DbConnection,
    user: UserId,
    ids: &[EventId],
) -> StoreResult<Vec<StoredEvent>> {
    let ids: Vec<i64> = ids.iter().map(|id| id.0).collect();
    let shared = event_permissions::table
        .filter(event_permissions::user_id.eq(user.0))
        .filter(event_permissions::event_id.eq_any(&ids))
        .select(event_permissions::event_id);
    let rows = events::table
        .filter(events::id.eq_any(&ids))
        .filter(events::owner_id.eq(user.0).or(events::id.eq_any(shared)))
        .select(EventRow::as_select())
        .load::<EventRow>(conn)?;
    stored(rows)
}

/// The id and version of every event `user` owns or that is shared with them, by id:
/// what their subscription feed shows changes exactly when this does (every change of
/// an event makes a version; sharing, revoking and deleting change the set).
pub fn versions_of_user(
    conn: &mut DbConnection,
    user: UserId,
) -> StoreResult<Vec<(EventId, Version)>> {
    let mut versions = Vec::new();
    for chunk in ids_of_user(conn, user)?.chunks(1000) {
        versions.extend(
            events::table
                .filter(events::id.eq_any(chunk))
                .select((events::id, events::version))
                .load::<(i64, i32)>(conn)?,
        );
    }
    versions.sort_unstable();
    Ok(versions
        .into_iter()
        .map(|(id, version)| (EventId(id), Version(version)))
        .collect())
}
