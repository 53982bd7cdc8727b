//! A change of an event's content as a new version: shared by update and rollback.

use chrono::{DateTime, Utc};
use convene_domain::account::User;
use convene_domain::event::{EventContent, StoredEvent};
use convene_domain::ids::{EventId, UserId, Version};
use convene_domain::notification::{NotificationData, NotificationKind};
use convene_domain::permission::Action;
use convene_domain::version::{is_effective, ChangeKind, VersionRecord};
use convene_persistence::occurrences as stored_occurrences;
use convene_persistence::{events, versions, DbConnection};

use crate::access::{authorized, Event, Precondition};
use crate::error::Conflicts;
use crate::time::now;
use crate::{notify, occurrences, ServiceError, Services};

/// Whether two contents take place at the same times: same range, zone, rule,
/// transparency and exceptions (titles may differ).
fn same_time(a: &EventContent, b: &EventContent) -> bool {
    a.range == b.range
        && a.time_zone == b.time_zone
        && a.recurrence == b.recurrence
        && a.transparency == b.transparency
        && a.exceptions == b.exceptions
}

/// The version record of `event` as it now stands.
pub(crate) fn snapshot(
    event: &StoredEvent,
    change: ChangeKind,
    restored_from: Option<Version>,
    actor: UserId,
) -> VersionRecord {
    VersionRecord {
        event_id: event.id,
        version: event.version,
        content: event.content.clone(),
        change,
        restored_from,
        changed_by: actor,
        changed_at: event.updated_at,
    }
}

/// Replaces an event's content as a new version (the caller needs the role for
/// `action`), conflict-checked against the owner's calendar. `next_content` gives the
/// new content from the current one, and the version it restores for a rollback. A
/// change that alters nothing creates no version. `occurrence` names the one occurrence
/// changed, for the notifications.
#[allow(clippy::too_many_arguments)]
pub(crate) fn revise(
    services: &Services,
    actor: &User,
    id: EventId,
    precondition: Option<&Precondition>,
    action: Action,
    occurrence: Option<DateTime<Utc>>,
    next_content: impl Fn(
        &mut DbConnection,
        &EventContent,
    ) -> Result<(EventContent, Option<Version>), ServiceError>,
) -> Result<Event, ServiceError> {
    // As for creates: the database refuses overlaps itself, so the new occurrences are
    // stored without probes, and only a refusal runs the write again, probing, for 409.
    services.write_attempts(|conn, notes, probe| {
        let at = now();
        events::lock_event(conn, id)?;
        let Event { event, role } = authorized(conn, id, actor.id, action)?;
        Precondition::check(precondition, event.version)?;
        let (next, restored_from) = next_content(conn, &event.content)?;
        if !is_effective(&event.content, &next) {
            return Ok(Event { event, role });
        }
        // A change of title, description or location leaves the occurrences as they are:
        // no conflict check, so no turn on the owner's calendar lock either (the event's
        // own lock, above, orders concurrent edits of it).
        let plan = if same_time(&event.content, &next) {
            None
        } else {
            events::lock_calendar(conn, event.owner)?;
            let plan = services
                .recurrence
                .plan(&next, at)
                .map_err(|e| ServiceError::Validation(vec![e]))?;
            if probe {
                let mut found = Conflicts::default();
                occurrences::check(
                    conn,
                    event.owner,
                    actor.id,
                    &plan.busy,
                    Some(event.id),
                    None,
                    &mut found,
                )?;
                if !found.is_empty() {
                    return Err(ServiceError::Conflict(found));
                }
            }
            Some(plan)
        };
        let updated = events::update_if_version(
            conn,
            event.id,
            event.version,
            &next,
            plan.as_ref().map(|p| p.extent),
            at,
        )?
        .ok_or(ServiceError::Contended)?;
        if let Some(plan) = &plan {
            stored_occurrences::replace(conn, event.owner, event.id, &plan.busy)?;
        }
        let change = match restored_from {
            Some(_) => ChangeKind::RolledBack,
            None => ChangeKind::Updated,
        };
        versions::insert_many(conn, &[snapshot(&updated, change, restored_from, actor.id)])?;
        notes.extend(notify::event_changed(
            &notify::participants(conn, &updated)?,
            &updated,
            actor,
            NotificationKind::for_change(change),
            NotificationData {
                version: Some(updated.version),
                title: Some(updated.content.title.clone()),
                restored_from,
                recurrence_id: occurrence,
                ..NotificationData::default()
            },
            at,
        ));
        Ok(Event {
            event: updated,
            role,
        })
    })
}
