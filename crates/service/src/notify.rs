//! Who is told what: the notifications of event and permission changes, built for the
//! write transaction to store.

use chrono::{DateTime, Utc};
use convene_domain::account::User;
use convene_domain::event::StoredEvent;
use convene_domain::ids::UserId;
use convene_domain::notification::{
    event_change_recipients, message, permission_change_recipient, NotificationBody,
    NotificationData, NotificationKind,
};
use convene_domain::permission::Role;
use convene_persistence::{permissions, DbConnection};

use crate::ServiceError;

/// Everyone with access to a stored event: the owner and every grantee.
pub(crate) fn participants(
    conn: &mut DbConnection,
    event: &StoredEvent,
) -> Result<Vec<UserId>, ServiceError> {
    let mut all = vec![event.owner];
    all.extend(permissions::grantees(conn, event.id)?);
    Ok(all)
}

/// The notifications of an event change, one per participant (the actor's own copy
/// stored read).
pub(crate) fn event_changed(
    participants: &[UserId],
    event: &StoredEvent,
    actor: &User,
    kind: NotificationKind,
    data: NotificationData,
    at: DateTime<Utc>,
) -> Vec<NotificationBody> {
    let text = message(kind, &actor.username, &event.content.title, None);
    event_change_recipients(participants, actor.id)
        .into_iter()
        .map(|r| NotificationBody {
            user_id: r.user_id,
            kind,
            event_id: Some(event.id),
            actor_id: actor.id,
            message: text.clone(),
            data: data.clone(),
            is_read: r.is_read,
            created_at: at,
        })
        .collect()
}

/// The notification that an occurrence of `event` was skipped as the horizon advanced,
/// for its owner (who is also named the actor: nobody else did it).
pub(crate) fn occurrence_skipped(
    event: &StoredEvent,
    recurrence_id: DateTime<Utc>,
    at: DateTime<Utc>,
) -> NotificationBody {
    let kind = NotificationKind::OccurrenceSkipped;
    NotificationBody {
        user_id: event.owner,
        kind,
        event_id: Some(event.id),
        actor_id: event.owner,
        message: message(kind, "", &event.content.title, None),
        data: NotificationData {
            title: Some(event.content.title.clone()),
            recurrence_id: Some(recurrence_id),
            ..NotificationData::default()
        },
        is_read: false,
        created_at: at,
    }
}

/// What the other participants of `event` (its grantees) learn when the horizon task
/// skipped one of its occurrences: the series changed (`event_updated`, a new version),
/// told in the owner's name as `occurrence_skipped` is.
pub(crate) fn occurrence_skipped_for(
    grantees: &[UserId],
    event: &StoredEvent,
    recurrence_id: DateTime<Utc>,
    at: DateTime<Utc>,
) -> Vec<NotificationBody> {
    let skipped = occurrence_skipped(event, recurrence_id, at);
    grantees
        .iter()
        .filter(|user| **user != event.owner)
        .map(|user| NotificationBody {
            user_id: *user,
            kind: NotificationKind::EventUpdated,
            data: NotificationData {
                version: Some(event.version),
                ..skipped.data.clone()
            },
            ..skipped.clone()
        })
        .collect()
}

/// The notification of a permission change, for the affected user only.
pub(crate) fn permission_changed(
    event: &StoredEvent,
    actor: &User,
    affected: UserId,
    kind: NotificationKind,
    role: Option<Role>,
    at: DateTime<Utc>,
) -> NotificationBody {
    let recipient = permission_change_recipient(affected, actor.id);
    NotificationBody {
        user_id: recipient.user_id,
        kind,
        event_id: Some(event.id),
        actor_id: actor.id,
        message: message(kind, &actor.username, &event.content.title, role),
        data: NotificationData {
            role,
            ..NotificationData::default()
        },
        is_read: recipient.is_read,
        created_at: at,
    }
}
