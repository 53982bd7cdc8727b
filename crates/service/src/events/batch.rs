//! Creating events: one, or a batch of up to 500 created atomically.

use convene_domain::account::User;
use convene_domain::event::{parse_batch, BatchError, EventContent, EventInput};
use convene_domain::notification::{NotificationData, NotificationKind};
use convene_domain::permission::Role;
use convene_domain::schedule::overlaps_within;
use convene_domain::version::ChangeKind;
use convene_persistence::{events, versions};

use crate::access::Event;
use crate::error::{Conflict, Conflicts, CONFLICTS_LISTED};
use crate::revise::snapshot;
use crate::time::now;
use crate::{conflicts, notify, ServiceError, Services};

/// Creates an event owned by the actor (version 1), unless it overlaps their events.
pub fn create(services: &Services, actor: &User, input: EventInput) -> Result<Event, ServiceError> {
    let content = EventContent::parse(input).map_err(ServiceError::Validation)?;
    let mut created = store(services, actor, vec![content], false)?;
    created
        .pop()
        .ok_or_else(|| ServiceError::Internal("batch of one returned nothing".into()))
}

/// Creates 1–500 events atomically (`None`: the request named no list): every item is
/// validated and checked against the stored events and against the other items; if
/// any fails, nothing is stored.
pub fn create_batch(
    services: &Services,
    actor: &User,
    inputs: Option<Vec<EventInput>>,
) -> Result<Vec<Event>, ServiceError> {
    let contents = parse_batch(inputs).map_err(|e| match e {
        BatchError::TooLarge => ServiceError::TooLarge(e.to_string()),
        BatchError::Invalid(errors) => ServiceError::Validation(errors),
    })?;
    store(services, actor, contents, true)
}

/// Items that overlap other items of the batch: each once, naming one item it overlaps.
fn in_batch_conflicts(contents: &[EventContent]) -> Conflicts {
    let ranges: Vec<_> = contents.iter().map(|c| c.range).collect();
    let found = overlaps_within(&ranges);
    let total = found.len();
    let listed = found
        .into_iter()
        .take(CONFLICTS_LISTED)
        .map(|(item, other)| Conflict {
            id: None,
            title: Some(contents[other].title.clone()),
            start_time: ranges[other].start(),
            end_time: ranges[other].end(),
            index: Some(item),
            batch_index: Some(other),
        })
        .collect();
    Conflicts { listed, total }
}

fn store(
    services: &Services,
    actor: &User,
    contents: Vec<EventContent>,
    indexed: bool,
) -> Result<Vec<Event>, ServiceError> {
    let in_batch = in_batch_conflicts(&contents);
    if !in_batch.is_empty() {
        return Err(ServiceError::Conflict(in_batch));
    }
    services.write(|conn, notes| {
        let at = now();
        events::lock_calendar(conn, actor.id)?;
        let mut found = Conflicts::default();
        for (i, content) in contents.iter().enumerate() {
            let item =
                conflicts::find(conn, actor.id, actor.id, &content.range, None, found.room())?;
            found.extend(item, indexed.then_some(i));
        }
        if !found.is_empty() {
            return Err(ServiceError::Conflict(found));
        }
        let created = events::insert_many(conn, actor.id, &contents, at)?;
        let snapshots: Vec<_> = created
            .iter()
            .map(|e| snapshot(e, ChangeKind::Created, None, actor.id))
            .collect();
        versions::insert_many(conn, &snapshots)?;
        // New events have no grantees yet: the owner is the only participant, so no
        // per-event lookup.
        for event in &created {
            notes.extend(notify::event_changed(
                &[event.owner],
                event,
                actor,
                NotificationKind::EventCreated,
                NotificationData {
                    version: Some(event.version),
                    title: Some(event.content.title.clone()),
                    ..NotificationData::default()
                },
                at,
            ));
        }
        Ok(created
            .into_iter()
            .map(|event| Event {
                event,
                role: Role::Owner,
            })
            .collect())
    })
}
