//! The caller's stored notifications: list (newest first), mark read, mark all read; and
//! the reads a live feed needs (replay, catch-up).

use convene_domain::account::User;
use convene_domain::ids::{NotificationId, UserId};
use convene_domain::notification::Notification;
use convene_persistence::notifications;

use crate::page::{self, Page};
use crate::{ServiceError, Services};

/// A page of notifications with the caller's unread total.
#[derive(Debug, Clone)]
pub struct Inbox {
    /// The page, newest first.
    pub page: Page<Notification, NotificationId>,
    /// How many of the caller's notifications are unread, in all.
    pub unread_count: i64,
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
    let rows = notifications::list(&mut conn, actor.id, unread_only, before, page::fetch(limit))?;
    let page = Page::of(rows, limit, |n| n.id);
    let unread_count = notifications::unread_count(&mut conn, actor.id)?;
    Ok(Inbox { page, unread_count })
}

/// Marks one of the caller's notifications read (idempotent); others' are not found.
pub fn mark_read(
    services: &Services,
    actor: &User,
    id: NotificationId,
) -> Result<Notification, ServiceError> {
    let mut conn = services.conn()?;
    notifications::mark_read(&mut conn, actor.id, id)?.ok_or(ServiceError::NotFound)
}

/// Marks all of the caller's notifications read; returns how many changed.
pub fn mark_all_read(services: &Services, actor: &User) -> Result<usize, ServiceError> {
    let mut conn = services.conn()?;
    Ok(notifications::mark_all_read(&mut conn, actor.id)?)
}

/// Notifications by id, in id order (what a live listener announces).
pub fn by_ids(
    services: &Services,
    ids: &[NotificationId],
) -> Result<Vec<Notification>, ServiceError> {
    let mut conn = services.conn()?;
    Ok(notifications::by_ids(&mut conn, ids)?)
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
    Ok(notifications::after(
        &mut conn,
        user,
        after,
        i64::from(limit),
    )?)
}

/// Everyone's notifications after `after`, oldest first, at most `limit`: what a live
/// listener missed while its connection was down.
pub fn all_after(
    services: &Services,
    after: NotificationId,
    limit: u32,
) -> Result<Vec<Notification>, ServiceError> {
    let mut conn = services.conn()?;
    Ok(notifications::all_after(
        &mut conn,
        after,
        i64::from(limit),
    )?)
}

/// The highest notification id so far (0 when there is none).
pub fn latest_id(services: &Services) -> Result<NotificationId, ServiceError> {
    let mut conn = services.conn()?;
    Ok(notifications::latest_id(&mut conn)?)
}
