//! Events: create (one or a batch), read, list, update, delete — with race-free conflict
//! detection against the owner's calendar, versions and notifications in the same
//! transaction.

use chrono::{DateTime, Utc};
use convene_domain::account::User;
use convene_domain::event::{
    check_batch_size, parse_batch, BatchSizeError, EventContent, EventInput, EventPatch, BATCH_MAX,
};
use convene_domain::ids::{EventId, UserId, Version};
use convene_domain::notification::{event_change_recipients, message, NotificationKind};
use convene_domain::permission::{authorize, Access, Action, Denied, Role};
use convene_domain::schedule::{
    conflicts_in_descending, overlapping_pairs, scan_bounds, TimeRange,
};
use convene_domain::validation::FieldError;
use convene_domain::version::ChangeKind;
use convene_persistence::events::{self, EventFields, EventRow, ListFilter};
use convene_persistence::notifications::NewNotification;
use convene_persistence::{permissions, versions, DbConnection};

use crate::error::Conflict;
use crate::time::{now, utc};
use crate::{ServiceError, Services};

/// An event as one caller sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The event's id.
    pub id: EventId,
    /// Its owner.
    pub owner_id: UserId,
    /// Its content.
    pub content: EventContent,
    /// Its current version (the ETag).
    pub version: Version,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Time of the last effective change.
    pub updated_at: DateTime<Utc>,
    /// The caller's role on it.
    pub role: Role,
}

/// An `If-Match` precondition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Precondition {
    /// `*`: the event must exist.
    Any,
    /// One of these versions must be current (an ETag that is no version matches none).
    OneOf(Vec<Version>),
}

impl Precondition {
    /// Checks the current version; 412 with it otherwise.
    pub fn check(this: Option<&Self>, current: Version) -> Result<(), ServiceError> {
        match this {
            Some(Self::OneOf(versions)) if !versions.contains(&current) => {
                Err(ServiceError::PreconditionFailed { current })
            }
            _ => Ok(()),
        }
    }
}

/// One page of a keyset-paginated list.
#[derive(Debug, Clone)]
pub struct Page<T, K> {
    /// The items, in list order.
    pub items: Vec<T>,
    /// The keyset position after the last item, when more may follow.
    pub next: Option<K>,
}

/// Which events to list and where to resume.
#[derive(Debug, Clone, Default)]
pub struct EventQuery {
    /// Only events overlapping `[from, to)`: ending after `from`...
    pub from: Option<DateTime<Utc>>,
    /// ...and starting before `to`.
    pub to: Option<DateTime<Utc>>,
    /// Only events where the caller has this role.
    pub role: Option<Role>,
    /// Resume after this `(start_time, id)`.
    pub after: Option<(DateTime<Utc>, EventId)>,
    /// Page size.
    pub limit: u32,
}

/// How many times a write contended by a concurrent writer is retried.
const ATTEMPTS: usize = 5;
/// Rows fetched per step of the conflict scan.
const SCAN_STEP: i64 = 32;

/// Runs a write, retrying it when a concurrent writer won a race (PostgreSQL's exclusion
/// constraint fired, or a version-guarded update found the row changed). The retry
/// re-reads, so it answers 409 or 412 with current facts.
pub(crate) fn retrying<T>(
    mut op: impl FnMut() -> Result<T, ServiceError>,
) -> Result<T, ServiceError> {
    let mut attempt = 1;
    loop {
        match op() {
            Err(ServiceError::Contended) if attempt < ATTEMPTS => attempt += 1,
            other => return other,
        }
    }
}

/// Maps a write error: the exclusion constraint means a concurrent writer won.
pub(crate) fn write_error(e: diesel::result::Error) -> ServiceError {
    if events::is_overlap_violation(&e) {
        ServiceError::Contended
    } else {
        e.into()
    }
}

pub(crate) fn content_of(row: &EventRow) -> Result<EventContent, ServiceError> {
    Ok(EventContent {
        title: row.title.clone(),
        description: row.description.clone(),
        range: TimeRange::new(utc(row.start_time), utc(row.end_time))
            .map_err(|_| ServiceError::Internal(format!("event {} has an empty range", row.id)))?,
        location: row.location.clone(),
    })
}

pub(crate) fn fields_of(content: &EventContent) -> EventFields {
    EventFields {
        title: content.title.clone(),
        description: content.description.clone(),
        start_time: content.range.start().naive_utc(),
        end_time: content.range.end().naive_utc(),
        location: content.location.clone(),
    }
}

pub(crate) fn event_of(row: &EventRow, role: Role) -> Result<Event, ServiceError> {
    Ok(Event {
        id: EventId(row.id),
        owner_id: UserId(row.owner_id),
        content: content_of(row)?,
        version: Version(row.version),
        created_at: utc(row.created_at),
        updated_at: utc(row.updated_at),
        role,
    })
}

fn role_of(row: &EventRow, permission: Option<&str>, user: UserId) -> Option<Role> {
    if row.owner_id == user.0 {
        Some(Role::Owner)
    } else {
        permission.and_then(Role::parse)
    }
}

/// Loads an event and checks that `user` may perform `action` on it: strangers get
/// NotFound (existence is never revealed), participants without the role Forbidden.
pub(crate) fn authorized(
    conn: &mut DbConnection,
    id: EventId,
    user: UserId,
    action: Action,
) -> Result<(EventRow, Role), ServiceError> {
    let (row, permission) =
        events::find_with_role(conn, id.0, user.0)?.ok_or(ServiceError::NotFound)?;
    let access = Access::from(role_of(&row, permission.as_deref(), user));
    match authorize(access, action) {
        Ok(role) => Ok((row, role)),
        Err(Denied::NotFound) => Err(ServiceError::NotFound),
        Err(Denied::Forbidden) => Err(ServiceError::Forbidden("your role does not allow this")),
    }
}

/// The owner's stored events overlapping `range` (excluding `exclude`), found by the
/// index seek the schedule module explains: one step in the usual case.
pub(crate) fn find_conflicts(
    conn: &mut DbConnection,
    owner: i64,
    range: &TimeRange,
    exclude: Option<i64>,
) -> Result<Vec<Conflict>, ServiceError> {
    let mut found: Vec<EventRow> = Vec::new();
    let mut before = None;
    loop {
        let step = events::starting_before_desc(
            conn,
            owner,
            scan_bounds(range).naive_utc(),
            exclude,
            before,
            SCAN_STEP,
        )?;
        let fetched = step.len();
        before = step.last().map(|r| (r.start_time, r.id));
        let ranges: Vec<(EventRow, TimeRange)> = step
            .into_iter()
            .map(|r| content_of(&r).map(|c| (r, c.range)))
            .collect::<Result<_, _>>()?;
        let overlapping = conflicts_in_descending(range, ranges, |(_, r)| *r);
        let all_overlap = overlapping.len() == fetched;
        // Each step reaches further back in time: prepend to keep ascending order.
        found.splice(0..0, overlapping.into_iter().map(|(row, _)| row));
        if !all_overlap || fetched < SCAN_STEP as usize {
            break;
        }
    }
    Ok(found
        .into_iter()
        .map(|r| Conflict {
            id: Some(EventId(r.id)),
            title: r.title,
            start_time: utc(r.start_time),
            end_time: utc(r.end_time),
            index: None,
            batch_index: None,
        })
        .collect())
}

/// Builds the notification rows of an event change for every participant.
pub(crate) fn event_notifications(
    participants: &[UserId],
    row: &EventRow,
    actor: &User,
    kind: NotificationKind,
    data: serde_json::Value,
    at: DateTime<Utc>,
) -> Vec<NewNotification> {
    let text = message(kind, &actor.username, &row.title, None);
    event_change_recipients(participants, actor.id)
        .into_iter()
        .map(|r| NewNotification {
            user_id: r.user_id.0,
            kind: kind.as_str().to_owned(),
            event_id: Some(row.id),
            actor_id: actor.id.0,
            message: text.clone(),
            data: data.to_string(),
            is_read: r.is_read,
            created_at: at.naive_utc(),
        })
        .collect()
}

/// Everyone with access to a stored event: the owner and every grantee.
pub(crate) fn participants(
    conn: &mut DbConnection,
    row: &EventRow,
) -> Result<Vec<UserId>, ServiceError> {
    let mut all = vec![UserId(row.owner_id)];
    all.extend(
        permissions::grantee_ids(conn, row.id)?
            .into_iter()
            .map(UserId),
    );
    Ok(all)
}

/// The version row of `row` as it now stands.
pub(crate) fn snapshot(
    row: &EventRow,
    change: ChangeKind,
    restored_from: Option<i32>,
    actor: UserId,
) -> versions::VersionRow {
    versions::VersionRow {
        event_id: row.id,
        version: row.version,
        title: row.title.clone(),
        description: row.description.clone(),
        start_time: row.start_time,
        end_time: row.end_time,
        location: row.location.clone(),
        change: change.as_str().to_owned(),
        restored_from,
        changed_by: actor.0,
        changed_at: row.updated_at,
    }
}

fn new_row(id: i64, owner: i64, content: &EventContent, at: DateTime<Utc>) -> EventRow {
    let f = fields_of(content);
    EventRow {
        id,
        owner_id: owner,
        title: f.title,
        description: f.description,
        start_time: f.start_time,
        end_time: f.end_time,
        location: f.location,
        version: 1,
        created_at: at.naive_utc(),
        updated_at: at.naive_utc(),
    }
}

/// The stored events of `owner` that `range` would overlap, in start order (the
/// conflict check on its own, read-only; writes repeat it inside their transaction).
pub fn conflicts(
    services: &Services,
    owner: UserId,
    range: &TimeRange,
) -> Result<Vec<Conflict>, ServiceError> {
    let mut conn = services.conn()?;
    find_conflicts(&mut conn, owner.0, range, None)
}

/// Creates an event owned by the actor (version 1), unless it overlaps their events.
pub fn create(services: &Services, actor: &User, input: EventInput) -> Result<Event, ServiceError> {
    let mut created = create_batch_of(services, actor, vec![input], false)?;
    created
        .pop()
        .ok_or_else(|| ServiceError::Internal("batch of one returned nothing".into()))
}

/// Creates 1–500 events atomically: every item is validated and checked against the
/// stored events and against the other items; if any fails, nothing is stored.
pub fn create_batch(
    services: &Services,
    actor: &User,
    inputs: Vec<EventInput>,
) -> Result<Vec<Event>, ServiceError> {
    match check_batch_size(inputs.len()) {
        Ok(()) => {}
        Err(BatchSizeError::Empty) => {
            return Err(ServiceError::Validation(vec![FieldError::new(
                "events",
                "must hold at least one event",
            )]))
        }
        Err(BatchSizeError::TooLarge) => {
            return Err(ServiceError::TooLarge(format!(
                "a batch holds at most {BATCH_MAX} events"
            )))
        }
    }
    create_batch_of(services, actor, inputs, true)
}

fn create_batch_of(
    services: &Services,
    actor: &User,
    inputs: Vec<EventInput>,
    indexed: bool,
) -> Result<Vec<Event>, ServiceError> {
    let contents = if indexed {
        parse_batch(inputs).map_err(ServiceError::Validation)?
    } else {
        inputs
            .into_iter()
            .map(EventContent::parse)
            .collect::<Result<Vec<_>, _>>()
            .map_err(ServiceError::Validation)?
    };
    let at_index = |i: usize| indexed.then_some(i);
    let ranges: Vec<TimeRange> = contents.iter().map(|c| c.range).collect();
    let in_batch: Vec<Conflict> = overlapping_pairs(&ranges)
        .into_iter()
        .map(|(i, j)| Conflict {
            id: None,
            title: contents[i].title.clone(),
            start_time: ranges[i].start(),
            end_time: ranges[i].end(),
            index: Some(j),
            batch_index: Some(i),
        })
        .collect();
    if !in_batch.is_empty() {
        return Err(ServiceError::Conflict(in_batch));
    }
    let fields: Vec<EventFields> = contents.iter().map(fields_of).collect();
    services.write(|conn, notes| {
        let at = now();
        {
            let mut conflicts = Vec::new();
            for (i, range) in ranges.iter().enumerate() {
                for mut c in find_conflicts(conn, actor.id.0, range, None)? {
                    c.index = at_index(i);
                    conflicts.push(c);
                }
            }
            if !conflicts.is_empty() {
                return Err(ServiceError::Conflict(conflicts));
            }
            let ids = events::insert_many(conn, actor.id.0, &fields, at.naive_utc())
                .map_err(write_error)?;
            let rows: Vec<EventRow> = ids
                .iter()
                .zip(&contents)
                .map(|(&id, content)| new_row(id, actor.id.0, content, at))
                .collect();
            let snapshots: Vec<_> = rows
                .iter()
                .map(|r| snapshot(r, ChangeKind::Created, None, actor.id))
                .collect();
            versions::insert_many(conn, &snapshots)?;
            // New events have no grantees yet: the owner is the only participant, so
            // no per-event lookup.
            for row in &rows {
                notes.extend(event_notifications(
                    &[UserId(row.owner_id)],
                    row,
                    actor,
                    NotificationKind::EventCreated,
                    serde_json::json!({"version": 1, "title": row.title}),
                    at,
                ));
            }
            rows.iter().map(|r| event_of(r, Role::Owner)).collect()
        }
    })
}

/// One event, for any participant.
pub fn get(services: &Services, actor: &User, id: EventId) -> Result<Event, ServiceError> {
    let mut conn = services.conn()?;
    let (row, role) = authorized(&mut conn, id, actor.id, Action::Read)?;
    event_of(&row, role)
}

/// The events the caller owns or that are shared with them, by start then id.
pub fn list(
    services: &Services,
    actor: &User,
    query: EventQuery,
) -> Result<Page<Event, (DateTime<Utc>, EventId)>, ServiceError> {
    let mut conn = services.conn()?;
    let filter = ListFilter {
        ends_after: query.from.map(|t| t.naive_utc()),
        starts_before: query.to.map(|t| t.naive_utc()),
        role: query.role.map(|r| r.as_str().to_owned()),
        after: query.after.map(|(t, id)| (t.naive_utc(), id.0)),
    };
    let limit = query.limit as usize;
    let mut rows = events::list_for_user(&mut conn, actor.id.0, &filter, limit as i64 + 1)?;
    let more = rows.len() > limit;
    rows.truncate(limit);
    let items = rows
        .iter()
        .map(|(row, permission)| {
            let role = role_of(row, permission.as_deref(), actor.id)
                .ok_or_else(|| ServiceError::Internal("listed an event without access".into()))?;
            event_of(row, role)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let next = if more {
        items.last().map(|e| (e.content.range.start(), e.id))
    } else {
        None
    };
    Ok(Page { items, next })
}

/// Applies a change of content as a new version (owner or editor), conflict-checked
/// against the owner's calendar. A change that alters nothing creates no version.
pub(crate) fn change(
    services: &Services,
    actor: &User,
    id: EventId,
    precondition: Option<&Precondition>,
    action: Action,
    next_content: impl Fn(
        &mut DbConnection,
        &EventContent,
    ) -> Result<(EventContent, Option<i32>), ServiceError>,
) -> Result<Event, ServiceError> {
    services.write(|conn, notes| {
        let at = now();
        {
            let (row, role) = authorized(conn, id, actor.id, action)?;
            Precondition::check(precondition, Version(row.version))?;
            let current = content_of(&row)?;
            let (next, restored_from) = next_content(conn, &current)?;
            if next == current {
                return event_of(&row, role);
            }
            let conflicts = find_conflicts(conn, row.owner_id, &next.range, Some(row.id))?;
            if !conflicts.is_empty() {
                return Err(ServiceError::Conflict(conflicts));
            }
            let fields = fields_of(&next);
            if !events::update_if_version(conn, row.id, row.version, &fields, at.naive_utc())
                .map_err(write_error)?
            {
                return Err(ServiceError::Contended);
            }
            let updated = EventRow {
                title: fields.title,
                description: fields.description,
                start_time: fields.start_time,
                end_time: fields.end_time,
                location: fields.location,
                version: row.version + 1,
                updated_at: at.naive_utc(),
                ..row
            };
            let (kind, notification) = match restored_from {
                Some(_) => (ChangeKind::RolledBack, NotificationKind::EventRolledBack),
                None => (ChangeKind::Updated, NotificationKind::EventUpdated),
            };
            versions::insert_many(conn, &[snapshot(&updated, kind, restored_from, actor.id)])?;
            let mut data = serde_json::json!({"version": updated.version, "title": updated.title});
            if let Some(v) = restored_from {
                data["restored_from"] = v.into();
            }
            notes.extend(event_notifications(
                &participants(conn, &updated)?,
                &updated,
                actor,
                notification,
                data,
                at,
            ));
            event_of(&updated, role)
        }
    })
}

/// Updates any subset of the fields (owner or editor).
pub fn update(
    services: &Services,
    actor: &User,
    id: EventId,
    patch: EventPatch,
    precondition: Option<Precondition>,
) -> Result<Event, ServiceError> {
    change(
        services,
        actor,
        id,
        precondition.as_ref(),
        Action::Update,
        |_, current| {
            let next = current
                .apply(patch.clone())
                .map_err(ServiceError::Validation)?;
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
        {
            let (row, _) = authorized(conn, id, actor.id, Action::Delete)?;
            Precondition::check(precondition.as_ref(), Version(row.version))?;
            notes.extend(event_notifications(
                &participants(conn, &row)?,
                &row,
                actor,
                NotificationKind::EventDeleted,
                serde_json::json!({"title": row.title}),
                at,
            ));
            if !events::delete_if_version(conn, row.id, row.version)? {
                return Err(ServiceError::Contended);
            }
            Ok(())
        }
    })
}
