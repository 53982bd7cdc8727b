//! What a write of an event stores besides its row: its busy occurrences through the
//! horizon (checked for conflicts, then written to `occurrences`) and its extent.

use chrono::{DateTime, Duration, Utc};
use convene_domain::event::EventContent;
use convene_domain::ids::{EventId, UserId};
use convene_domain::recurrence::Occurrence;
use convene_domain::validation::FieldError;
use convene_persistence::events::Extent;
use convene_persistence::DbConnection;

use crate::conflicts;
use crate::error::Conflicts;
use crate::ServiceError;

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
    pub(crate) fn plan(
        &self,
        content: &EventContent,
        now: DateTime<Utc>,
    ) -> Result<Plan, FieldError> {
        let horizon = now + self.horizon;
        let occurrences = content.occurrences_before(horizon, self.max_occurrences)?;
        let series_end = content.series_end(self.max_occurrences);
        let open_beyond = content.recurrence.is_some() && series_end.is_none_or(|e| e > horizon);
        Ok(Plan {
            busy: if content.is_busy() {
                occurrences
            } else {
                Vec::new()
            },
            extent: Extent {
                series_end,
                materialized_until: (open_beyond && content.is_busy()).then_some(horizon),
            },
        })
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
