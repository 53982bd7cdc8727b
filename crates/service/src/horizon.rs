//! The horizon advances: busy series that go on past the horizon have their newly
//! in-horizon occurrences materialised and conflict-checked. An occurrence that would
//! collide with an existing one is cancelled instead (a new version of the series) and
//! the owner is told (`occurrence_skipped`).
//!
//! Every instance runs it; each series is done in its own transaction under its owner's
//! calendar lock (the one every write of that calendar takes), after re-reading how far
//! it is materialised, so two instances never do the same piece of work twice.

use chrono::{DateTime, SubsecRound, Utc};
use convene_domain::event::StoredEvent;
use convene_domain::ids::EventId;
use convene_domain::recurrence::{Exception, Occurrence};
use convene_domain::version::ChangeKind;
use convene_persistence::occurrences as stored_occurrences;
use convene_persistence::{events, permissions, versions};

use crate::occurrences::RecurrenceLimits;
use crate::revise::snapshot;
use crate::{conflicts, notify, ServiceError, Services};

/// Series taken per query of the work list.
const BATCH: i64 = 100;

/// Most occurrences of one series this task expands, from its first one on.
/// `MAX_OCCURRENCES` bounds what a client's write may produce within the horizon; a
/// series it accepted keeps advancing whatever its count (a lower limit configured
/// since, a long past): stopping it would leave its later occurrences unchecked.
const ADVANCE_MAX: usize = u16::MAX as usize - 1;

/// What one run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Advanced {
    /// Series moved on.
    pub series: usize,
    /// Occurrences materialised.
    pub materialised: usize,
    /// Occurrences cancelled because they would have collided.
    pub skipped: usize,
}

/// Moves every busy series' materialised occurrences up to `now` plus the horizon.
pub fn advance(services: &Services, now: DateTime<Utc>) -> Result<Advanced, ServiceError> {
    // What it writes (a version, notifications) carries the microseconds both databases
    // store and the API shows, whatever clock the caller read.
    let now = now.trunc_subsecs(6);
    let target = now + services.recurrence.horizon;
    let mut done = Advanced::default();
    let mut seen = std::collections::HashSet::new();
    loop {
        let due = {
            let mut conn = services.conn()?;
            events::behind_horizon(&mut conn, target, BATCH)?
        };
        let fresh: Vec<EventId> = due.into_iter().filter(|id| seen.insert(*id)).collect();
        if fresh.is_empty() {
            return Ok(done);
        }
        for id in fresh {
            let one = advance_one(services, id, target, now)?;
            done.series += usize::from(one.materialised + one.skipped > 0 || one.series > 0);
            done.materialised += one.materialised;
            done.skipped += one.skipped;
        }
    }
}

/// Moves series `id` on to `target`, if it still needs it.
fn advance_one(
    services: &Services,
    id: EventId,
    target: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Advanced, ServiceError> {
    let limits = RecurrenceLimits {
        max_occurrences: ADVANCE_MAX,
        ..services.recurrence
    };
    let max = limits.max_occurrences;
    services.write(|conn, notes| {
        // The event's lock before the calendar's, as every write takes them.
        events::lock_event(conn, id)?;
        let Some(owner) = events::find(conn, id)?.map(|e| e.owner) else {
            return Ok(Advanced::default());
        };
        events::lock_calendar(conn, owner)?;
        // Read under the lock: a writer or another instance may have been first.
        let Some(event) = events::find(conn, id)? else {
            return Ok(Advanced::default());
        };
        let Some(until) = events::materialized_until(conn, id)? else {
            return Ok(Advanced::default());
        };
        if until >= target {
            return Ok(Advanced::default());
        }
        let content = &event.content;
        let have: std::collections::HashSet<DateTime<Utc>> = content
            .occurrences_before(until, max)
            .map_err(|e| ServiceError::Internal(format!("series {id}: {}", e.message)))?
            .iter()
            .map(|o| o.recurrence_id)
            .collect();
        // Up to where a write now would materialise it (for a series stored before
        // counted series were materialised in full: all of it).
        let reach = limits.horizon_of(content, now);
        let wanted = match content.occurrences_before(reach, max) {
            Ok(all) => all,
            // More than this task expands (a daily series of 179 years): keep what is there.
            Err(e) => {
                tracing::warn!(event = %id, problem = %e.message, "horizon: series not advanced");
                return Ok(Advanced::default());
            }
        };
        let new: Vec<Occurrence> = wanted
            .into_iter()
            .filter(|o| !have.contains(&o.recurrence_id))
            .collect();
        let mut keep = Vec::new();
        let mut skipped = Vec::new();
        for occurrence in new {
            let found = conflicts::find(
                conn,
                event.owner,
                event.owner,
                &occurrence.range,
                Some(event.id),
                1,
            )?;
            if found.total == 0 {
                keep.push((event.id, occurrence));
            } else {
                skipped.push(occurrence.recurrence_id);
            }
        }
        stored_occurrences::insert(conn, event.owner, &keep)?;
        let mut next = content.clone();
        for rid in &skipped {
            next.exceptions.insert(*rid, Exception::Cancelled);
        }
        let extent = limits
            .plan(&next, now)
            .map_err(|e| ServiceError::Internal(format!("series {id}: {}", e.message)))?
            .extent;
        if skipped.is_empty() {
            events::set_materialized_until(conn, id, extent.materialized_until)?;
        } else {
            let updated: StoredEvent =
                events::update_if_version(conn, id, event.version, &next, Some(extent), now)?
                    .ok_or(ServiceError::Contended)?;
            versions::insert_many(
                conn,
                &[snapshot(&updated, ChangeKind::Updated, None, event.owner)],
            )?;
            // The owner is told why; every other participant, that the series changed.
            let grantees = permissions::grantees(conn, updated.id)?;
            for rid in &skipped {
                notes.push(notify::occurrence_skipped(&updated, *rid, now));
                notes.extend(notify::occurrence_skipped_for(
                    &grantees, &updated, *rid, now,
                ));
            }
        }
        Ok(Advanced {
            series: 1,
            materialised: keep.len(),
            skipped: skipped.len(),
        })
    })
}
