//! The busy (opaque) occurrences of every event through the horizon: what the conflict
//! check reads, by the index seek `domain::schedule` explains (one probe per occurrence,
//! whatever the calendar's size). The database keeps the rule that an owner's busy time
//! never overlaps itself: the `occurrences_no_overlap` triggers (see their migrations)
//! make the same probe for every row written — on PostgreSQL under the owner's advisory
//! lock, on SQLite under its single writer — and refuse an overlap with
//! [`StoreError::Overlap`].

use chrono::{DateTime, NaiveDateTime, Utc};
use convene_domain::ids::{EventId, UserId};
use convene_domain::recurrence::Occurrence;
use convene_domain::schedule::TimeRange;
use diesel::prelude::*;

use crate::db::insert_rows;
use crate::error::time::{naive, utc};
use crate::error::{StoreError, StoreResult};
use crate::schema::occurrences;
use crate::DbConnection;

/// Rows per INSERT: five binds each, well under SQLite's 32,766.
const INSERT_CHUNK: usize = 1_000;

/// A stored busy occurrence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy {
    /// Its event.
    pub event_id: EventId,
    /// Its identity in the event (the original start).
    pub recurrence_id: DateTime<Utc>,
    /// When it is busy.
    pub range: TimeRange,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = occurrences)]
struct BusyRow {
    event_id: i64,
    recurrence_id: NaiveDateTime,
    start_time: NaiveDateTime,
    end_time: NaiveDateTime,
}

impl TryFrom<BusyRow> for Busy {
    type Error = StoreError;

    fn try_from(row: BusyRow) -> StoreResult<Self> {
        Ok(Busy {
            event_id: EventId(row.event_id),
            recurrence_id: utc(row.recurrence_id),
            range: TimeRange::new(utc(row.start_time), utc(row.end_time)).map_err(|_| {
                StoreError::Other(format!("occurrence of event {} is empty", row.event_id))
            })?,
        })
    }
}

fn busy(rows: Vec<BusyRow>) -> StoreResult<Vec<Busy>> {
    rows.into_iter().map(Busy::try_from).collect()
}

/// Stores the busy occurrences of events of `owner`, in chunks; one that would overlap
/// another of the owner's fails with [`StoreError::Overlap`].
pub fn insert(
    conn: &mut DbConnection,
    owner: UserId,
    items: &[(EventId, Occurrence)],
) -> StoreResult<()> {
    for chunk in items.chunks(INSERT_CHUNK) {
        let rows: Vec<_> = chunk
            .iter()
            .map(|(event, o)| {
                (
                    occurrences::event_id.eq(event.0),
                    occurrences::recurrence_id.eq(naive(o.recurrence_id)),
                    occurrences::owner_id.eq(owner.0),
                    occurrences::start_time.eq(naive(o.range.start())),
                    occurrences::end_time.eq(naive(o.range.end())),
                )
            })
            .collect();
        insert_rows!(conn, occurrences::table, rows.as_slice(), |q, c| q
            .execute(c))?;
    }
    Ok(())
}

/// Replaces the busy occurrences of `event` (of `owner`) by `items`.
pub fn replace(
    conn: &mut DbConnection,
    owner: UserId,
    event: EventId,
    items: &[Occurrence],
) -> StoreResult<()> {
    diesel::delete(occurrences::table.filter(occurrences::event_id.eq(event.0))).execute(conn)?;
    let rows: Vec<(EventId, Occurrence)> = items.iter().map(|o| (event, *o)).collect();
    insert(conn, owner, &rows)
}

/// The conflict scan's index seek: `owner`'s busy occurrences starting before `end`,
/// latest start first, after the keyset position `before` (exclusive), at most `limit`;
/// without those of `exclude`.
pub fn starting_before_desc(
    conn: &mut DbConnection,
    owner: UserId,
    end: DateTime<Utc>,
    exclude: Option<EventId>,
    before: Option<(DateTime<Utc>, EventId)>,
    limit: i64,
) -> StoreResult<Vec<Busy>> {
    let mut query = occurrences::table
        .filter(occurrences::owner_id.eq(owner.0))
        .filter(occurrences::start_time.lt(naive(end)))
        .select(BusyRow::as_select())
        .order((occurrences::start_time.desc(), occurrences::event_id.desc()))
        .limit(limit)
        .into_boxed();
    if let Some(id) = exclude {
        query = query.filter(occurrences::event_id.ne(id.0));
    }
    if let Some((start, id)) = before {
        let start = naive(start);
        query = query.filter(
            occurrences::start_time.lt(start).or(occurrences::start_time
                .eq(start)
                .and(occurrences::event_id.lt(id.0))),
        );
    }
    busy(query.load(conn)?)
}

/// `owner`'s busy occurrences starting inside `range`, earliest first, at most `limit`:
/// one index range scan.
pub fn starting_within_asc(
    conn: &mut DbConnection,
    owner: UserId,
    range: &TimeRange,
    exclude: Option<EventId>,
    limit: i64,
) -> StoreResult<Vec<Busy>> {
    let mut query = occurrences::table
        .filter(occurrences::owner_id.eq(owner.0))
        .filter(occurrences::start_time.ge(naive(range.start())))
        .filter(occurrences::start_time.lt(naive(range.end())))
        .select(BusyRow::as_select())
        .order((occurrences::start_time.asc(), occurrences::event_id.asc()))
        .limit(limit)
        .into_boxed();
    if let Some(id) = exclude {
        query = query.filter(occurrences::event_id.ne(id.0));
    }
    busy(query.load(conn)?)
}

/// Rows per step of [`busy_within`].
const BUSY_STEP: i64 = 5_000;

/// When `owner` is busy within `window`, from the stored occurrences: the one starting
/// last before the window (an owner's busy occurrences never overlap, so no earlier one
/// can reach into it) and those starting inside it, in start order, read in steps —
/// index range scans of `(owner_id, start_time)`, whatever the rest of the calendar
/// holds. At most `max` of them: `true` when there are more.
pub fn busy_within(
    conn: &mut DbConnection,
    owner: UserId,
    window: &TimeRange,
    max: usize,
) -> StoreResult<(Vec<TimeRange>, bool)> {
    let mut busy: Vec<TimeRange> =
        starting_before_desc(conn, owner, window.start(), None, None, 1)?
            .into_iter()
            .map(|b| b.range)
            .filter(|r| r.end() > window.start())
            .collect();
    let mut from = window.start();
    loop {
        if busy.len() > max {
            busy.truncate(max);
            return Ok((busy, true));
        }
        let Ok(rest) = TimeRange::new(from, window.end()) else {
            return Ok((busy, false));
        };
        let room =
            i64::try_from(max.saturating_add(1).saturating_sub(busy.len())).unwrap_or(i64::MAX);
        let want = room.min(BUSY_STEP);
        let step = starting_within_asc(conn, owner, &rest, None, want)?;
        let full = step.len() == usize::try_from(want).unwrap_or(usize::MAX);
        // Starts are distinct (busy occurrences never overlap): go on just after the last.
        let next = step
            .last()
            .map(|b| b.range.start() + chrono::Duration::microseconds(1));
        busy.extend(step.into_iter().map(|b| b.range));
        match next {
            Some(next) if full => from = next,
            _ if busy.len() > max => {
                busy.truncate(max);
                return Ok((busy, true));
            }
            _ => return Ok((busy, false)),
        }
    }
}

/// How many of `owner`'s busy occurrences overlap `range` (without those of
/// `exclude`): what a conflict list too long to show in full reports as its total.
pub fn count_overlapping(
    conn: &mut DbConnection,
    owner: UserId,
    range: &TimeRange,
    exclude: Option<EventId>,
) -> StoreResult<usize> {
    let mut query = occurrences::table
        .filter(occurrences::owner_id.eq(owner.0))
        .filter(occurrences::start_time.lt(naive(range.end())))
        .filter(occurrences::end_time.gt(naive(range.start())))
        .count()
        .into_boxed();
    if let Some(id) = exclude {
        query = query.filter(occurrences::event_id.ne(id.0));
    }
    let n: i64 = query.get_result(conn)?;
    Ok(usize::try_from(n).unwrap_or(usize::MAX))
}
