//! Creating events: one, or a batch of up to 500 created atomically.

use convene_domain::account::User;
use convene_domain::event::{parse_batch, BatchError, EventContent, EventInput};
use convene_domain::notification::{NotificationData, NotificationKind};
use convene_domain::permission::Role;
use convene_domain::recurrence::Occurrence;
use convene_domain::schedule::overlaps_within;
use convene_domain::validation::FieldError;
use convene_domain::version::ChangeKind;
use convene_persistence::occurrences as stored_occurrences;
use convene_persistence::{events, versions};

use crate::access::Event;
use crate::error::{Conflict, Conflicts, CONFLICTS_LISTED};
use crate::occurrences::{self, Plan};
use crate::revise::snapshot;
use crate::time::now;
use crate::{notify, ServiceError, Services};

/// Creates an event owned by the actor (version 1), unless it overlaps their events.
pub fn create(services: &Services, actor: &User, input: EventInput) -> Result<Event, ServiceError> {
    let timing = timing_of(&input);
    let content = EventContent::parse(input).map_err(|mut errors| {
        errors.extend(expansion_problem(services, timing));
        ServiceError::Validation(errors)
    })?;
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
    let timings: Vec<EventInput> = inputs.iter().flatten().map(timing_of).collect();
    let contents = parse_batch(inputs).map_err(|e| match e {
        BatchError::TooLarge => ServiceError::TooLarge(e.to_string()),
        BatchError::Invalid(mut errors) => {
            for (index, timing) in timings.into_iter().enumerate() {
                errors.extend(expansion_problem(services, timing).map(|e| e.at(index)));
            }
            errors.sort_by_key(|e| e.index);
            ServiceError::Validation(errors)
        }
    })?;
    store(services, actor, contents, true)
}

/// The fields of `input` that decide when it takes place (times, zone, rule,
/// transparency), with a valid placeholder title: what [`expansion_problem`] judges,
/// copied before the input is consumed (not its title, description or location).
fn timing_of(input: &EventInput) -> EventInput {
    EventInput {
        title: Some("-".to_owned()),
        description: None,
        location: None,
        start_time: input.start_time.clone(),
        end_time: input.end_time.clone(),
        time_zone: input.time_zone.clone(),
        recurrence: input.recurrence.clone(),
        transparency: input.transparency.clone(),
    }
}

/// The problem of an invalid event's expansion (a series overlapping itself, too many
/// occurrences, none at all), found from its [`timing_of`] when its times, zone and rule
/// are valid whatever its other fields are: so that a refusal lists every problem at once.
fn expansion_problem(services: &Services, timing: EventInput) -> Option<FieldError> {
    let content = EventContent::parse(timing).ok()?;
    services.recurrence.plan(&content, now()).err()
}

/// Creates events read from a calendar file (already validated, exceptions included)
/// atomically, like a batch: problems and conflicts carry the event's position in
/// `contents`. Nothing to create creates nothing.
pub fn import(
    services: &Services,
    actor: &User,
    contents: Vec<EventContent>,
) -> Result<Vec<Event>, ServiceError> {
    if contents.is_empty() {
        return Ok(Vec::new());
    }
    store(services, actor, contents, true)
}

/// Items whose busy occurrences overlap those of other items of the batch: each item
/// once, naming one occurrence of another item it overlaps.
fn in_batch_conflicts(contents: &[EventContent], plans: &[Plan]) -> Conflicts {
    let flat: Vec<(usize, Occurrence)> = plans
        .iter()
        .enumerate()
        .flat_map(|(item, plan)| plan.busy.iter().map(move |o| (item, *o)))
        .collect();
    let ranges: Vec<_> = flat.iter().map(|(_, o)| o.range).collect();
    let mut found: Vec<(usize, usize)> = overlaps_within(&ranges)
        .into_iter()
        .map(|(i, j)| (flat[i].0, j))
        .collect();
    // One entry per item (a series may overlap another item more than once).
    found.sort_by_key(|&(item, _)| item);
    found.dedup_by_key(|&mut (item, _)| item);
    let total = found.len();
    let listed = found
        .into_iter()
        .take(CONFLICTS_LISTED)
        .map(|(item, j)| {
            let (other, occurrence) = flat[j];
            Conflict {
                id: None,
                recurrence_id: occurrence.recurrence_id,
                title: Some(contents[other].title.clone()),
                start_time: occurrence.range.start(),
                end_time: occurrence.range.end(),
                index: Some(item),
                batch_index: Some(other),
            }
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
    let at = now();
    let mut plans = Vec::with_capacity(contents.len());
    let mut invalid = Vec::new();
    for (i, content) in contents.iter().enumerate() {
        match services.recurrence.plan(content, at) {
            Ok(plan) => plans.push(plan),
            Err(e) if indexed => invalid.push(e.at(i)),
            Err(e) => invalid.push(e),
        }
    }
    if !invalid.is_empty() {
        return Err(ServiceError::Validation(invalid));
    }
    let in_batch = in_batch_conflicts(&contents, &plans);
    if !in_batch.is_empty() {
        return Err(ServiceError::Conflict(in_batch));
    }
    // The database refuses overlapping occurrences itself (the `occurrences_no_overlap`
    // trigger, one seek per row), so they are inserted without probing first: a conflict
    // is the exception. Then the write runs again, probing, to answer 409 with the
    // occurrences in the way.
    services.write_attempts(|conn, notes, probe| {
        // The events, their first versions and their notifications are stored first: no
        // other transaction sees them before commit, and the owner's calendar lock is then
        // held only for the conflict check, the occurrences and the commit.
        let items: Vec<_> = contents
            .iter()
            .cloned()
            .zip(plans.iter().map(|p| p.extent))
            .collect();
        let created = events::insert_many(conn, actor.id, &items, at)?;
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
        notes.flush(conn)?;
        if probe {
            // The probe must see the calendar as the insert will: take the owner's lock
            // first. Without a probe, the insert's overlap trigger takes it, so the lock
            // is held for the trigger's check and the commit only (all this create
            // locked before is its own new rows, so the order cannot deadlock).
            events::lock_calendar(conn, actor.id)?;
            let mut found = Conflicts::default();
            for (i, plan) in plans.iter().enumerate() {
                occurrences::check(
                    conn,
                    actor.id,
                    actor.id,
                    &plan.busy,
                    None,
                    indexed.then_some(i),
                    &mut found,
                )?;
            }
            if !found.is_empty() {
                return Err(ServiceError::Conflict(found));
            }
        }
        let busy: Vec<_> = created
            .iter()
            .zip(&plans)
            .flat_map(|(event, plan)| plan.busy.iter().map(|o| (event.id, *o)))
            .collect();
        // Something in the way rolls back and runs again, probing.
        stored_occurrences::insert(conn, actor.id, &busy)?;
        Ok(created
            .into_iter()
            .map(|event| Event {
                event,
                role: Role::Owner,
            })
            .collect())
    })
}
