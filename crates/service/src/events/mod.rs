//! Events: create (one or a batch), read, list, update, delete — with race-free conflict
//! detection against the owner's calendar, versions and notifications in the same
//! transaction.

mod batch;
mod occurrence;

use chrono::{DateTime, Utc};
use convene_domain::account::User;
use convene_domain::event::{EventFilter, EventPatch, PatchInput};
use convene_domain::ids::{EventId, UserId};
use convene_domain::notification::{NotificationData, NotificationKind};
use convene_domain::permission::Action;
use convene_domain::schedule::TimeRange;
use convene_persistence::events;

pub use self::batch::{create, create_batch, import};
pub use self::occurrence::{
    cancel as cancel_occurrence, split, update as update_occurrence, OccurrenceItem,
};
use crate::access::{authorized, judged, listed, Event, Precondition};
use crate::auth::{Credential, SESSION_ENDED};
use crate::error::{Found, CONFLICTS_LISTED};
use crate::page::{self, Page};
use crate::revise::revise;
use crate::time::now;
use crate::{conflicts as scan, notify, ServiceError, Services};

/// The stored events of `owner` that `range` would overlap, in start order (the
/// conflict check on its own, read-only, as the owner sees it; writes repeat it inside
/// their transaction). At most [`CONFLICTS_LISTED`] are listed; `total` counts all.
pub fn conflicts(
    services: &Services,
    owner: UserId,
    range: &TimeRange,
) -> Result<Found, ServiceError> {
    let mut conn = services.conn()?;
    scan::find(&mut conn, owner, owner, range, None, CONFLICTS_LISTED)
}

/// Events, for participants holding access tokens: `reads[i]` is event `reads[i].1` for
/// the holder of `reads[i].0`, answered in `answers[i]`. Each token's session is checked
/// as the events are read (401 when it is over); the reads share one connection and two
/// statements however many there are, so concurrent GETs can be answered together.
pub fn get_by_tokens(
    services: &Services,
    reads: &[(Credential, EventId)],
) -> Vec<Result<Event, ServiceError>> {
    let asked: Vec<events::SessionRead> = reads
        .iter()
        .map(|(credential, id)| events::SessionRead {
            session: credential.session_id,
            user: credential.user,
            event: *id,
        })
        .collect();
    services.each(
        reads,
        |conn| events::find_for_sessions(conn, &asked, now()),
        |(credential, _), found| judged(found.ok_or(SESSION_ENDED)?, credential.user, Action::Read),
    )
}

/// The events the caller owns or that are shared with them, by start then id; with a
/// time filter, those having an occurrence in it.
pub fn list(
    services: &Services,
    actor: &User,
    filter: &EventFilter,
    limit: u32,
) -> Result<Page<Event, (DateTime<Utc>, EventId)>, ServiceError> {
    let mut conn = services.conn()?;
    let wanted = page::fetch(limit);
    let window = match (filter.ends_after, filter.starts_before) {
        (None, None) => None,
        // Open ends reach the first and last instants there are (a `from` in year
        // 9999 still leaves a window, in which a series has no occurrence).
        (from, to) => TimeRange::new(
            from.unwrap_or(DateTime::<Utc>::MIN_UTC),
            to.unwrap_or(DateTime::<Utc>::MAX_UTC),
        )
        .ok(),
    };
    // The query keeps every series whose span meets the window; those without an
    // occurrence in it are skipped here, and the page is filled from further rows.
    let mut rows = Vec::new();
    let mut step = filter.clone();
    loop {
        let found = events::list_for_user(&mut conn, actor.id, &step, wanted)?;
        let fetched = found.len();
        step.after = found.last().map(|(e, _)| (e.content.range.start(), e.id));
        rows.extend(found.into_iter().filter(|(event, _)| {
            window.is_none_or(|w| {
                event.content.recurrence.is_none()
                    || !event.content.occurrences_overlapping(&w, 1).is_empty()
            })
        }));
        if rows.len() >= wanted as usize || fetched < wanted as usize {
            break;
        }
    }
    rows.truncate(wanted as usize);
    let rows = rows
        .into_iter()
        .map(|(event, granted)| listed(event, granted, actor.id))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Page::of(rows, limit, |e| {
        (e.event.content.range.start(), e.event.id)
    }))
}

/// Updates any subset of the fields (owner or editor). The raw patch is judged once the
/// caller's access is (a stranger learns nothing from it), with the merged result, so
/// that every problem is listed at once.
pub fn update(
    services: &Services,
    actor: &User,
    id: EventId,
    patch: PatchInput,
    precondition: Option<Precondition>,
) -> Result<Event, ServiceError> {
    revise(
        services,
        actor,
        id,
        precondition.as_ref(),
        Action::Update,
        None,
        |_, current| {
            let patch = EventPatch::parse(patch.clone()).map_err(ServiceError::Validation)?;
            // What decides when it takes place, kept for the error path: with the times as
            // changed, the series' expansion may be refused too, listed with the rest.
            let retimed = patch.start_time.is_some()
                || patch.end_time.is_some()
                || patch.time_zone.is_some()
                || patch.recurrence.is_some();
            let timing = retimed.then(|| EventPatch {
                title: None,
                description: None,
                location: None,
                start_time: patch.start_time,
                end_time: patch.end_time,
                time_zone: patch.time_zone,
                recurrence: patch.recurrence.clone(),
                transparency: patch.transparency,
            });
            let next = current.apply(patch).map_err(|mut errors| {
                if let Some(e) = timing
                    .and_then(|timing| current.apply(timing).ok())
                    .and_then(|next| services.recurrence.plan(&next, now()).err())
                {
                    errors.push(e);
                }
                ServiceError::Validation(errors)
            })?;
            Ok((next, None))
        },
    )
}

/// Deletes an event (owner only); its permissions and versions go with it, and every
/// participant is told.
pub fn delete(
    services: &Services,
    actor: &User,
    id: EventId,
    precondition: Option<Precondition>,
) -> Result<(), ServiceError> {
    services.write(|conn, notes| {
        let at = now();
        events::lock_event(conn, id)?;
        let Event { event, .. } = authorized(conn, id, actor.id, Action::Delete)?;
        Precondition::check(precondition.as_ref(), event.version)?;
        notes.extend(notify::event_changed(
            &notify::participants(conn, &event)?,
            &event,
            actor,
            NotificationKind::EventDeleted,
            NotificationData {
                title: Some(event.content.title.clone()),
                ..NotificationData::default()
            },
            at,
        ));
        if !events::delete_if_version(conn, event.id, event.version)? {
            return Err(ServiceError::Contended);
        }
        Ok(())
    })
}
