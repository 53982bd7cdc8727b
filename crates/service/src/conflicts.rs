//! The conflict scan: the owner's stored busy occurrences that a time range would
//! overlap, found by the index seek `domain::schedule` explains (one step in the usual
//! case), bounded in what it lists and redacted for callers who cannot read them.

use std::collections::HashMap;

use convene_domain::event::StoredEvent;
use convene_domain::ids::{EventId, UserId};
use convene_domain::recurrence::Occurrence;
use convene_domain::schedule::{conflicts_in_descending, scan_bounds, TimeRange};
use convene_persistence::occurrences::{self, Busy};
use convene_persistence::{events, permissions, DbConnection};

use crate::error::{Conflict, Found};
use crate::ServiceError;

/// Rows fetched by the scan's first step: enough for the usual answer (nothing, or one
/// occurrence in the way, and the one before it that ends the scan).
const FIRST_STEP: i64 = 3;
/// Rows fetched per further step of the scan.
const SCAN_STEP: i64 = 32;

/// The owner's stored busy occurrences overlapping `range` (excluding those of
/// `exclude`), as `viewer` may see them: at most `room` are listed (the first ones, in
/// start order) and the rest only counted. Events `viewer` cannot read are listed
/// without id and title.
pub(crate) fn find(
    conn: &mut DbConnection,
    owner: UserId,
    viewer: UserId,
    range: &TimeRange,
    exclude: Option<EventId>,
    room: usize,
) -> Result<Found, ServiceError> {
    let mut found: Vec<Busy> = Vec::new();
    let mut before = None;
    let mut step_size = FIRST_STEP;
    let complete = loop {
        let step = occurrences::starting_before_desc(
            conn,
            owner,
            scan_bounds(range),
            exclude,
            before,
            step_size,
        )?;
        let fetched = step.len();
        before = step.last().map(|b| (b.range.start(), b.event_id));
        let overlapping = conflicts_in_descending(range, step, |b| b.range);
        let all_overlap = overlapping.len() == fetched;
        // Each step reaches further back in time: prepend to keep ascending order.
        found.splice(0..0, overlapping);
        if !all_overlap || fetched < step_size as usize {
            break true;
        }
        step_size = SCAN_STEP;
        if found.len() > room {
            break false;
        }
    };
    let total = if complete {
        found.len()
    } else {
        occurrences::count_overlapping(conn, owner, range, exclude)?
    };
    if complete {
        found.truncate(room);
    } else {
        found = earliest(conn, owner, range, exclude, room)?;
    }
    if found.is_empty() {
        return Ok(Found {
            listed: Vec::new(),
            total,
        });
    }
    let mut ids: Vec<EventId> = found.iter().map(|b| b.event_id).collect();
    ids.sort_unstable();
    ids.dedup();
    // Titles as the occurrences show them (an occurrence may have its own).
    let stored: HashMap<EventId, StoredEvent> = events::find_many(conn, &ids)?
        .into_iter()
        .map(|e| (e.id, e))
        .collect();
    let title = |b: &Busy| {
        stored.get(&b.event_id).map(|e| {
            e.content
                .view(Occurrence {
                    recurrence_id: b.recurrence_id,
                    range: b.range,
                    overridden: false,
                })
                .title
        })
    };
    let readable = if viewer == owner {
        None
    } else {
        Some(permissions::held_by(conn, viewer, &ids)?)
    };
    let listed = found
        .into_iter()
        .map(|b| {
            let visible = readable.as_ref().is_none_or(|r| r.contains(&b.event_id));
            let conflict = Conflict::stored(b, title(&b));
            if visible {
                conflict
            } else {
                conflict.redacted()
            }
        })
        .collect();
    Ok(Found { listed, total })
}

/// The first `room` of the owner's busy occurrences overlapping `range`, in start
/// order, by two index seeks: they are disjoint, so only the last one starting before
/// the range can reach into it; the others start inside it.
fn earliest(
    conn: &mut DbConnection,
    owner: UserId,
    range: &TimeRange,
    exclude: Option<EventId>,
    room: usize,
) -> Result<Vec<Busy>, ServiceError> {
    let mut first: Vec<Busy> =
        occurrences::starting_before_desc(conn, owner, range.start(), exclude, None, 1)?
            .into_iter()
            .filter(|b| b.range.overlaps(range))
            .collect();
    let limit = i64::try_from(room).unwrap_or(i64::MAX);
    first.extend(occurrences::starting_within_asc(
        conn, owner, range, exclude, limit,
    )?);
    first.truncate(room);
    Ok(first)
}
