//! The caller's stored notifications: list (newest first), mark read, mark all read.

use chrono::{DateTime, Utc};
use convene_domain::account::User;
use convene_domain::ids::{EventId, NotificationId, UserId};
use convene_domain::notification::NotificationKind;
use convene_persistence::notifications::{self, NotificationRow};

use crate::events::Page;
use crate::time::utc;
use crate::{ServiceError, Services};

/// A notification addressed to one user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// Its id (ids grow with time).
    pub id: NotificationId,
    /// The recipient.
    pub user_id: UserId,
    /// What happened.
    pub kind: NotificationKind,
    /// The event concerned.
    pub event_id: Option<EventId>,
    /// Who did it.
    pub actor_id: UserId,
    /// A human sentence.
    pub message: String,
    /// Details, a JSON object as text.
    pub data: String,
    /// Whether it has been read.
    pub is_read: bool,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// A page of notifications with the caller's unread total.
#[derive(Debug, Clone)]
pub struct Inbox {
    /// The page, newest first.
    pub page: Page<Notification, NotificationId>,
    /// How many of the caller's notifications are unread, in all.
    pub unread_count: i64,
}

/// Converts a stored row.
pub fn notification_of(row: NotificationRow) -> Result<Notification, ServiceError> {
    Ok(Notification {
        id: NotificationId(row.id),
        user_id: UserId(row.user_id),
        kind: NotificationKind::parse(&row.kind)
            .ok_or_else(|| ServiceError::Internal(format!("stored kind {:?}", row.kind)))?,
        event_id: row.event_id.map(EventId),
        actor_id: UserId(row.actor_id),
        message: row.message,
        data: row.data,
        is_read: row.is_read,
        created_at: utc(row.created_at),
    })
}

/// The caller's notifications, newest first, a page at a time.
pub fn list(
    services: &Services,
    actor: &User,
    unread_only: bool,
    before: Option<NotificationId>,
    limit: u32,
) -> Result<Inbox, ServiceError> {
    let mut conn = services.conn()?;
    let limit = limit as usize;
    let mut rows = notifications::list(
        &mut conn,
        actor.id.0,
        unread_only,
        before.map(|n| n.0),
        limit as i64 + 1,
    )?;
    let more = rows.len() > limit;
    rows.truncate(limit);
    let items = rows
        .into_iter()
        .map(notification_of)
        .collect::<Result<Vec<_>, _>>()?;
    let next = if more {
        items.last().map(|n| n.id)
    } else {
        None
    };
    let unread_count = notifications::unread_count(&mut conn, actor.id.0)?;
    Ok(Inbox {
        page: Page { items, next },
        unread_count,
    })
}

/// Marks one of the caller's notifications read (idempotent); others' are not found.
pub fn mark_read(
    services: &Services,
    actor: &User,
    id: NotificationId,
) -> Result<Notification, ServiceError> {
    let mut conn = services.conn()?;
    let row =
        notifications::mark_read(&mut conn, actor.id.0, id.0)?.ok_or(ServiceError::NotFound)?;
    notification_of(row)
}

/// Marks all of the caller's notifications read; returns how many changed.
pub fn mark_all_read(services: &Services, actor: &User) -> Result<usize, ServiceError> {
    let mut conn = services.conn()?;
    Ok(notifications::mark_all_read(&mut conn, actor.id.0)?)
}

/// Notifications by id, in id order (what a live listener announces).
pub fn by_ids(
    services: &Services,
    ids: &[NotificationId],
) -> Result<Vec<Notification>, ServiceError> {
    let mut conn = services.conn()?;
    let ids: Vec<i64> = ids.iter().map(|n| n.0).collect();
    notifications::by_ids(&mut conn, &ids)?
        .into_iter()
        .map(notification_of)
        .collect()
}

/// The caller's notifications with an id above `after`, oldest first, at most `limit`
/// (replaying a live feed from `since`).
pub fn replay(
    services: &Services,
    user: UserId,
    after: NotificationId,
    limit: u32,
) -> Result<Vec<Notification>, ServiceError> {
    let mut conn = services.conn()?;
    notifications::after(&mut conn, user.0, after.0, i64::from(limit))?
        .into_iter()
        .map(notification_of)
        .collect()
}

/// Everyone's notifications after `after`, oldest first, at most `limit`: what a live
/// listener missed while its connection was down.
pub fn all_after(
    services: &Services,
    after: NotificationId,
    limit: u32,
) -> Result<Vec<Notification>, ServiceError> {
    let mut conn = services.conn()?;
    notifications::all_after(&mut conn, after.0, i64::from(limit))?
        .into_iter()
        .map(notification_of)
        .collect()
}

/// The highest notification id so far (0 when there is none).
pub fn latest_id(services: &Services) -> Result<NotificationId, ServiceError> {
    let mut conn = services.conn()?;
    Ok(NotificationId(
        notifications::latest_id(&mut conn)?.unwrap_or(0),
    ))
}
