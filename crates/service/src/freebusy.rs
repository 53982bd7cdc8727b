//! Free/busy of users and their common free slots, from the busy occurrences they own:
//! the stored ones (index range scans of each user's occurrences), and beyond the horizon
//! those computed from their series' rules. Visible for the caller and their
//! collaborators (users sharing at least one event with them, either way) only.

use std::collections::HashSet;

use chrono::Duration;
use convene_domain::account::User;
use convene_domain::event::Transparency;
use convene_domain::freebusy::{self, MAX_BUSY_INTERVALS};
use convene_domain::ids::UserId;
use convene_domain::schedule::TimeRange;
use convene_persistence::occurrences as stored_occurrences;
use convene_persistence::{events, permissions, DbConnection};

use crate::{ServiceError, Services};

/// One user's busy time in a window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Busy {
    /// Merged, in order, within the window; at most [`MAX_BUSY_INTERVALS`].
    pub intervals: Vec<TimeRange>,
    /// Whether more busy time follows the last interval's end within the window (ask
    /// again from there).
    pub truncated: bool,
}

/// What the caller may know of one user's time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Availability {
    /// Busy at these times.
    Busy(Busy),
    /// Neither the caller nor a collaborator of theirs (or no such user).
    NotVisible,
}

/// How a slot search is shaped.
#[derive(Debug, Clone, Copy)]
pub struct SlotSearch {
    /// The slot's length.
    pub length: Duration,
    /// Slot starts fall on multiples of this (from the Unix epoch).
    pub step: Duration,
    /// Most slots returned.
    pub limit: usize,
}

/// `users` (1 to [`freebusy::MAX_USERS`], repeats answered once), each with their busy time in
/// `window` when the caller may see it; in the order given.
pub fn freebusy(
    services: &Services,
    actor: &User,
    users: &[UserId],
    window: &TimeRange,
) -> Result<Vec<(UserId, Availability)>, ServiceError> {
    let users = distinct(users)?;
    let mut conn = services.conn()?;
    let visible = visible_among(&mut conn, actor.id, &users)?;
    users
        .into_iter()
        .map(|user| {
            Ok(if visible.contains(&user) {
                let busy = busy_of(&mut conn, user, window, MAX_BUSY_INTERVALS)?;
                (user, Availability::Busy(busy))
            } else {
                (user, Availability::NotVisible)
            })
        })
        .collect()
}

/// The earliest slots of `search.length` in `window`, starting on `search.step`, when
/// every listed user the caller may see is free (users they may not see are left out).
pub fn slots(
    services: &Services,
    actor: &User,
    users: &[UserId],
    window: &TimeRange,
    search: SlotSearch,
) -> Result<Vec<TimeRange>, ServiceError> {
    let users = distinct(users)?;
    let mut conn = services.conn()?;
    let visible = visible_among(&mut conn, actor.id, &users)?;
    let mut busy = Vec::new();
    // The answer is at most `limit` slots, so every busy interval is read (a user's
    // calendar bounds it).
    for user in users.into_iter().filter(|u| visible.contains(u)) {
        busy.extend(busy_of(&mut conn, user, window, usize::MAX)?.intervals);
    }
    let busy = freebusy::merge(window, busy);
    Ok(freebusy::free_slots(
        window,
        &busy,
        search.length,
        search.step,
        search.limit,
    ))
}

/// `users` without repeats, in order; 422 naming `user_ids` when there are none or more
/// than [`freebusy::MAX_USERS`].
fn distinct(users: &[UserId]) -> Result<Vec<UserId>, ServiceError> {
    freebusy::users(users).map_err(|e| ServiceError::Validation(vec![e]))
}

/// Which of `users` the caller may see: themselves and their collaborators.
fn visible_among(
    conn: &mut DbConnection,
    caller: UserId,
    users: &[UserId],
) -> Result<HashSet<UserId>, ServiceError> {
    let others: Vec<UserId> = users.iter().copied().filter(|u| *u != caller).collect();
    let mut visible = if others.is_empty() {
        HashSet::new()
    } else {
        permissions::collaborators(conn, caller, &others)?
    };
    visible.insert(caller);
    Ok(visible)
}

/// When `user` is busy within `window`: their stored busy occurrences, and those of
/// their opaque series past how far each is stored, from the rule; merged, the first
/// `max` intervals. When more stored occurrences follow than are read, the answer
/// reaches only to the start of the first one not read (complete up to there).
fn busy_of(
    conn: &mut DbConnection,
    user: UserId,
    window: &TimeRange,
    max: usize,
) -> Result<Busy, ServiceError> {
    let (mut busy, cut) =
        stored_occurrences::busy_within(conn, user, window, max.saturating_add(1))?;
    let window = match busy.last() {
        Some(last) if cut => TimeRange::new(window.start(), last.start())
            .map_err(|e| ServiceError::Internal(format!("busy reach: {e:?}")))?,
        _ => *window,
    };
    if cut {
        busy.pop();
    }
    let window = &window;
    for (event, until) in events::behind_horizon_of(conn, user, window.end())? {
        if event.content.transparency == Transparency::Transparent {
            continue;
        }
        busy.extend(
            event
                .content
                .occurrences_overlapping(window, usize::from(u16::MAX))
                .into_iter()
                .filter(|o| o.range.start() >= until)
                .map(|o| o.range),
        );
    }
    let mut intervals = freebusy::merge(window, busy);
    let truncated = cut || intervals.len() > max;
    intervals.truncate(max);
    Ok(Busy {
        intervals,
        truncated,
    })
}
