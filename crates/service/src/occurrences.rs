//! Occurrences: what a write of an event stores besides its row (its busy occurrences
//! through the horizon, checked for conflicts, then written to `occurrences`, and its
//! extent), and the list of a user's occurrences in a time window.

use chrono::{DateTime, Duration, Utc};
use convene_domain::account::User;
use convene_domain::event::EventContent;
use convene_domain::ids::{EventId, UserId};
use convene_domain::permission::Role;
use convene_domain::recurrence::{end_of_time, Occurrence};
use convene_domain::schedule::{self, TimeRange};
use convene_domain::validation::FieldError;
use convene_persistence::events::{self, Extent};
use convene_persistence::DbConnection;

use crate::access::listed;
use crate::error::Conflicts;
pub use crate::events::OccurrenceItem;
use crate::page::{self, Page};
use crate::{conflicts, ServiceError, Services};

/// Default `RECURRENCE_HORIZON_DAYS`.
pub const DEFAULT_HORIZON_DAYS: u32 = 730;
/// Default `MAX_OCCURRENCES`.
pub const DEFAULT_MAX_OCCURRENCES: usize = 2_000;

/// How far ahead occurrences are materialised and checked, and how many one series may
/// have within that horizon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecurrenceLimits {
    /// The horizon, from now.
    pub horizon: Duration,
    /// Most occurrences of one series within the horizon (and most `COUNT`).
    pub max_occurrences: usize,
}

impl Default for RecurrenceLimits {
    fn default() -> Self {
        Self {
            horizon: Duration::days(DEFAULT_HORIZON_DAYS.into()),
            max_occurrences: DEFAULT_MAX_OCCURRENCES,
        }
    }
}

/// What storing one event's content writes: its busy occurrences before the horizon
/// and its extent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Plan {
    /// The busy occurrences to check and store (none for a transparent event).
    pub busy: Vec<Occurrence>,
    /// How far its occurrences reach.
    pub extent: Extent,
}

impl RecurrenceLimits {
    /// The plan for `content` written at `now`; a series the rules refuse is a problem
    /// with the field `recurrence`.
    ///
    /// A series with a `COUNT` (at most `MAX_OCCURRENCES`) is materialised in full;
    /// any other through the horizon from now, or from its first occurrence when that
    /// lies ahead: a series planned for years from now is checked over its first
    /// horizon's worth of occurrences when it is written, not only over its first one.
    pub(crate) fn plan(
        &self,
        content: &EventContent,
        now: DateTime<Utc>,
    ) -> Result<Plan, FieldError> {
        let horizon = self.horizon_of(content, now);
        let occurrences = content.occurrences_within(now, horizon, self.max_occurrences)?;
        let series_end = content.series_end(self.max_occurrences);
        let open_beyond = content.recurrence.is_some() && series_end.is_none_or(|e| e > horizon);
        Ok(Plan {
            busy: if content.is_busy() {
                occurrences
            } else {
                Vec::new()
            },
            extent: Extent {
                series_start: content.series_start(),
                series_end,
                materialized_until: (open_beyond && content.is_busy()).then_some(horizon),
            },
        })
    }

    /// Where `content`'s materialised occurrences end when it is written at `now`: the
    /// end of time for a counted series, else the horizon from now, or from its first
    /// occurrence if that is later.
    pub(crate) fn horizon_of(&self, content: &EventContent, now: DateTime<Utc>) -> DateTime<Utc> {
        if content
            .recurrence
            .as_ref()
            .is_some_and(|r| r.count().is_some())
        {
            return end_of_time();
        }
        now.max(content.range.start())
            .checked_add_signed(self.horizon)
            .map_or_else(end_of_time, |h| h.min(end_of_time()))
    }
}

/// Adds to `found` the owner's stored busy occurrences that `busy` would overlap
/// (without those of `exclude`), as `viewer` may see them; `index` names the batch item.
/// One index probe per occurrence; a stored occurrence in the way of several of them is
/// listed once.
pub(crate) fn check(
    conn: &mut DbConnection,
    owner: UserId,
    viewer: UserId,
    busy: &[Occurrence],
    exclude: Option<EventId>,
    index: Option<usize>,
    found: &mut Conflicts,
) -> Result<(), ServiceError> {
    for occurrence in busy {
        let item = conflicts::find(
            conn,
            owner,
            viewer,
            &occurrence.range,
            exclude,
            found.room(),
        )?;
        found.extend(item, index);
    }
    Ok(())
}

/// Events read per step of the occurrence list.
const CANDIDATE_CHUNK: i64 = 100;

/// Which occurrences to list, and where a page resumes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OccurrenceFilter {
    /// Occurrences overlapping this range.
    pub window: TimeRange,
    /// Only this event's.
    pub event: Option<EventId>,
    /// Only of events where the caller has this role.
    pub role: Option<Role>,
    /// Keyset position: only occurrences after this `(start, event, recurrence_id)`.
    pub after: Option<OccurrenceKey>,
}

/// The keyset position of an occurrence in the list: its start, its event, its id.
pub type OccurrenceKey = (DateTime<Utc>, EventId, DateTime<Utc>);

/// Every occurrence overlapping the window of the events the caller owns or that are
/// shared with them, by start, then event, then `recurrence_id`; computed from each
/// event's rule and exceptions (so also beyond the horizon). A window longer than
/// [`schedule::MAX_WINDOW_DAYS`] is a problem with the field `to`.
pub fn list(
    services: &Services,
    actor: &User,
    filter: &OccurrenceFilter,
    limit: u32,
) -> Result<Page<OccurrenceItem, OccurrenceKey>, ServiceError> {
    let window = schedule::window(filter.window.start(), filter.window.end())
        .map_err(|e| ServiceError::Validation(vec![e]))?;
    let wanted = page::fetch(limit) as usize;
    let mut conn = services.conn()?;
    let key = |item: &OccurrenceItem| -> OccurrenceKey {
        (
            item.view.occurrence.range.start(),
            item.event.event.id,
            item.view.occurrence.recurrence_id,
        )
    };
    // Occurrences before the position's start are not on this page: the part of the
    // window from there on (an occurrence starting there overlaps it).
    let from_position = match filter.after {
        Some((start, _, _)) if start > window.start() => {
            match TimeRange::new(start, window.end()) {
                Ok(rest) => rest,
                Err(_) => return Ok(Page::of(Vec::new(), limit, key)),
            }
        }
        _ => window,
    };
    // Events come in chunks by their earliest start: no occurrence of a later event
    // starts before it, so once a page's worth of occurrences starts earlier, the rest
    // cannot enter the page. At most about two pages are held at once.
    let mut items: Vec<OccurrenceItem> = Vec::new();
    let mut position = None;
    loop {
        let chunk = events::spanning(
            &mut conn,
            actor.id,
            &window,
            (filter.role, filter.event),
            position,
            CANDIDATE_CHUNK,
        )?;
        let fetched = chunk.len();
        position = chunk.last().map(|(e, _)| (e.content.series_start(), e.id));
        for (stored, granted) in chunk {
            let event = listed(stored, granted, actor.id)?;
            // Each event gives at most a page of occurrences after the position: those
            // starting from the position's start on (one of them, at that very start,
            // may still be at or before it), so a deep page is as cheap as the first.
            let occurrences = event
                .event
                .content
                .occurrences_overlapping(&from_position, wanted + 1);
            let mut taken = 0;
            for occurrence in occurrences {
                let candidate = OccurrenceItem {
                    view: event.event.content.view(occurrence),
                    event: event.clone(),
                };
                if filter.after.is_some_and(|after| key(&candidate) <= after) {
                    continue;
                }
                items.push(candidate);
                taken += 1;
                if taken == wanted {
                    break;
                }
            }
            if items.len() > 2 * wanted {
                items.sort_by_key(key);
                items.truncate(wanted);
            }
        }
        items.sort_by_key(key);
        items.truncate(wanted);
        let settled = match (items.get(wanted - 1), position) {
            (Some(last), Some((next_start, _))) => key(last).0 < next_start,
            _ => false,
        };
        if fetched < CANDIDATE_CHUNK as usize || settled {
            break;
        }
    }
    Ok(Page::of(items, limit, key))
}
