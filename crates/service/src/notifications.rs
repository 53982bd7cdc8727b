//! The caller's stored notifications: list (newest first), mark read, mark all read; and
//! the reads a live feed needs (replay, catch-up).

use convene_domain::account::User;
use convene_domain::ids::{NotificationId, UserId};
use convene_domain::notification::Notification;
use convene_persistence::db::write_transaction;
use convene_persistence::notifications;
pub use convene_persistence::notifications::{Feed, FeedPosition};

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
    write_transaction(&mut conn, |c| notifications::mark_read(c, actor.id, id))?
        .ok_or(ServiceError::NotFound)
}

/// Marks all of the caller's notifications read; returns how many changed.
pub fn mark_all_read(services: &Services, actor: &User) -> Result<usize, ServiceError> {
    let mut conn = services.conn()?;
    Ok(write_transaction(&mut conn, |c| {
        notifications::mark_all_read(c, actor.id)
    })?)
}

/// Where notification `since` stands in delivery order (a feed resumed with `since`).
pub fn position_of(
    services: &Services,
    since: NotificationId,
) -> Result<FeedPosition, ServiceError> {
    let mut conn = services.conn()?;
    Ok(notifications::position_of(&mut conn, since)?)
}

/// The caller's final notifications after `after` in delivery order, at most `limit`
/// (replaying a live feed from `since`).
pub fn replay(
    services: &Services,
    user: UserId,
    after: FeedPosition,
    limit: u32,
) -> Result<Vec<(FeedPosition, Notification)>, ServiceError> {
    let mut conn = services.conn()?;
    Ok(notifications::feed(&mut conn, Some(user), after, i64::from(limit))?.items)
}

/// Everyone's final notifications after `after` in delivery order, at most `limit`, and
/// whether committed ones are held back behind a running transaction: what a live
/// listener delivers.
pub fn feed(services: &Services, after: FeedPosition, limit: u32) -> Result<Feed, ServiceError> {
    let mut conn = services.conn()?;
    Ok(notifications::feed(
        &mut conn,
        None,
        after,
        i64::from(limit),
    )?)
}

/// Where a live listener starts: everything final now counts as delivered.
pub fn feed_start(services: &Services) -> Result<FeedPosition, ServiceError> {
    let mut conn = services.conn()?;
    Ok(notifications::start(&mut conn)?)
}
