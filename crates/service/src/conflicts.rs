//! The conflict scan: the owner's stored events that a time range would overlap, found
//! by the index seek `domain::schedule` explains (one step in the usual case).

use convene_domain::event::StoredEvent;
use convene_domain::ids::{EventId, UserId};
use convene_domain::schedule::{conflicts_in_descending, scan_bounds, TimeRange};
use convene_persistence::{events, DbConnection};

use crate::error::Conflict;
use crate::ServiceError;

/// Rows fetched per step of the scan.
const SCAN_STEP: i64 = 32;

/// The owner's stored events overlapping `range` (excluding `exclude`), in start order.
pub(crate) fn find(
    conn: &mut DbConnection,
    owner: UserId,
    range: &TimeRange,
    exclude: Option<EventId>,
) -> Result<Vec<Conflict>, ServiceError> {
    let mut found: Vec<StoredEvent> = Vec::new();
    let mut before = None;
    loop {
        let step = events::starting_before_desc(
            conn,
            owner,
            scan_bounds(range),
            exclude,
            before,
            SCAN_STEP,
        )?;
        let fetched = step.len();
        before = step.last().map(|e| (e.content.range.start(), e.id));
        let overlapping = conflicts_in_descending(range, step, |e| e.content.range);
        let all_overlap = overlapping.len() == fetched;
        // Each step reaches further back in time: prepend to keep ascending order.
        found.splice(0..0, overlapping);
        if !all_overlap || fetched < SCAN_STEP as usize {
            break;
        }
    }
    Ok(found.into_iter().map(Conflict::stored).collect())
}
