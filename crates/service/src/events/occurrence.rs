//! One occurrence of a series: edit or move it, cancel it, or split the series there
//! ("this and following"). Each is a new version of the series, conflict-checked like
//! any other change of its times.

use chrono::{DateTime, Utc};
use convene_domain::account::User;
use convene_domain::event::{EventContent, EventPatch, OccurrenceView, PatchInput};
use convene_domain::ids::EventId;
use convene_domain::notification::{NotificationData, NotificationKind};
use convene_domain::permission::Action;
use convene_domain::validation::FieldError;
use convene_domain::version::ChangeKind;
use convene_persistence::occurrences as stored_occurrences;
use convene_persistence::{events, permissions, versions};

use crate::access::{authorized, Event, Precondition};
use crate::error::Conflicts;
use crate::revise::{revise, snapshot};
use crate::time::now;
use crate::{notify, occurrences, ServiceError, Services};

/// An occurrence as the caller sees it, with the event it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OccurrenceItem {
    /// The event (and the caller's role on it).
    pub event: Event,
    /// The occurrence.
    pub view: OccurrenceView,
}

fn item(event: Event, recurrence_id: DateTime<Utc>) -> Result<OccurrenceItem, ServiceError> {
    // A single event's one occurrence is named by its start, which may have moved.
    let occurrence = match event.event.content.recurrence {
        Some(_) => event.event.content.occurrence(recurrence_id),
        None => event
            .event
            .content
            .occurrence(event.event.content.range.start()),
    }
    .ok_or_else(|| ServiceError::Internal("changed occurrence not found".into()))?;
    let view = event.event.content.view(occurrence);
    Ok(OccurrenceItem { event, view })
}

/// Edits or moves one occurrence (owner or editor): the title, description, location,
/// start and end it has apart from the series. For a single event, the event itself.
pub fn update(
    services: &Services,
    actor: &User,
    id: EventId,
    recurrence_id: DateTime<Utc>,
    patch: PatchInput,
    precondition: Option<Precondition>,
) -> Result<OccurrenceItem, ServiceError> {
    let event = revise(
        services,
        actor,
        id,
        precondition.as_ref(),
        Action::Update,
        Some(recurrence_id),
        |_, current| {
            let patch = EventPatch::parse(patch.clone()).map_err(ServiceError::Validation)?;
            let next = current
                .change_occurrence(recurrence_id, patch)
                .ok_or(ServiceError::NotFound)?
                .map_err(ServiceError::Validation)?;
            Ok((next, None))
        },
    )?;
    item(event, recurrence_id)
}

/// Cancels one occurrence of a series (owner or editor). A single event's one
/// occurrence cannot be cancelled (422): the event is deleted instead, by its owner.
pub fn cancel(
    services: &Services,
    actor: &User,
    id: EventId,
    recurrence_id: DateTime<Utc>,
    precondition: Option<Precondition>,
) -> Result<(), ServiceError> {
    revise(
        services,
        actor,
        id,
        precondition.as_ref(),
        Action::Update,
        Some(recurrence_id),
        |_, current| {
            if current.recurrence.is_none() {
                current
                    .occurrence(recurrence_id)
                    .ok_or(ServiceError::NotFound)?;
                return Err(ServiceError::Validation(vec![FieldError::new(
                    "recurrence_id",
                    "a single event has one occurrence: delete the event instead",
                )]));
            }
            let next = current
                .cancel_occurrence(recurrence_id)
                .ok_or(ServiceError::NotFound)?;
            Ok((next, None))
        },
    )?;
    Ok(())
}

/// "This and following" (owner or editor): the series ends before the occurrence `at`
/// and a new series with the same rule, content, zone and participants starts there
/// (a `COUNT` is divided between the two). Returns the new series.
pub fn split(
    services: &Services,
    actor: &User,
    id: EventId,
    at: DateTime<Utc>,
    precondition: Option<Precondition>,
) -> Result<Event, ServiceError> {
    let max = services.recurrence.max_occurrences;
    services.write(|conn, notes| {
        let now = now();
        events::lock_event(conn, id)?;
        let Event { event, role } = authorized(conn, id, actor.id, Action::Update)?;
        Precondition::check(precondition.as_ref(), event.version)?;
        events::lock_calendar(conn, event.owner)?;
        let (first, second) = split_contents(&event.content, at, max)?;
        let first_plan = services
            .recurrence
            .plan(&first, now)
            .map_err(|e| ServiceError::Validation(vec![e]))?;
        let second_plan = services
            .recurrence
            .plan(&second, now)
            .map_err(|e| ServiceError::Validation(vec![e]))?;
        let updated = events::update_if_version(
            conn,
            event.id,
            event.version,
            &first,
            Some(first_plan.extent),
            now,
        )?
        .ok_or(ServiceError::Contended)?;
        stored_occurrences::replace(conn, event.owner, event.id, &first_plan.busy)?;
        // The same busy time as before the split, moved to the new series: checked
        // all the same (the horizon may have moved since it was written).
        let mut found = Conflicts::default();
        occurrences::check(
            conn,
            event.owner,
            actor.id,
            &second_plan.busy,
            None,
            None,
            &mut found,
        )?;
        if !found.is_empty() {
            return Err(ServiceError::Conflict(found));
        }
        let mut created =
            events::insert_many(conn, event.owner, &[(second, second_plan.extent)], now)?;
        let new = created
            .pop()
            .ok_or_else(|| ServiceError::Internal("split created nothing".into()))?;
        let busy: Vec<_> = second_plan.busy.iter().map(|o| (new.id, *o)).collect();
        stored_occurrences::insert(conn, event.owner, &busy)?;
        permissions::copy(conn, event.id, new.id)?;
        versions::insert_many(
            conn,
            &[
                snapshot(&updated, ChangeKind::Updated, None, actor.id),
                snapshot(&new, ChangeKind::Created, None, actor.id),
            ],
        )?;
        let participants = notify::participants(conn, &updated)?;
        notes.extend(notify::event_changed(
            &participants,
            &updated,
            actor,
            NotificationKind::EventUpdated,
            NotificationData {
                version: Some(updated.version),
                title: Some(updated.content.title.clone()),
                recurrence_id: Some(at),
                ..NotificationData::default()
            },
            now,
        ));
        notes.extend(notify::event_changed(
            &participants,
            &new,
            actor,
            NotificationKind::EventCreated,
            NotificationData {
                version: Some(new.version),
                title: Some(new.content.title.clone()),
                ..NotificationData::default()
            },
            now,
        ));
        Ok(Event { event: new, role })
    })
}

/// The two halves of a split at `at`: 404 when the event has no such occurrence, 422
/// (field `at`) for the first occurrence or a single event.
fn split_contents(
    content: &EventContent,
    at: DateTime<Utc>,
    max: usize,
) -> Result<(EventContent, EventContent), ServiceError> {
    content.occurrence(at).ok_or(ServiceError::NotFound)?;
    let refuse = |message: &str| ServiceError::Validation(vec![FieldError::new("at", message)]);
    if content.recurrence.is_none() {
        return Err(refuse("a single event cannot be split"));
    }
    if at == content.range.start() {
        return Err(refuse(
            "is the series' first occurrence: nothing would remain before it",
        ));
    }
    content
        .split_at(at, max)
        .ok_or_else(|| refuse("the series cannot be split there"))
}
