//! The retention task's work: purge what has outlived its use (see
//! `persistence::retention`). Safe to run from every instance at once.

use chrono::{DateTime, Duration, Utc};
use convene_persistence::db::write_transaction;
use convene_persistence::retention;

use crate::{ServiceError, Services};

/// How long what is purged is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Read notifications, from their creation.
    pub read_notifications: Duration,
    /// Ended (revoked or expired) sessions, from their end; expired refresh tokens,
    /// from their expiry.
    pub ended_sessions: Duration,
}

/// What one purge removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Purged {
    /// Read notifications.
    pub notifications: usize,
    /// Ended sessions.
    pub sessions: usize,
    /// Expired refresh tokens of sessions still open.
    pub refresh_tokens: usize,
}

/// Purges, as of `now`, what `policy` no longer keeps.
pub fn purge(
    services: &Services,
    now: DateTime<Utc>,
    policy: Retention,
) -> Result<Purged, ServiceError> {
    // One transaction each: on SQLite the purge takes its turn among the writers.
    let mut conn = services.conn()?;
    let read = now - policy.read_notifications;
    let ended = now - policy.ended_sessions;
    Ok(Purged {
        notifications: write_transaction(&mut conn, |c| retention::read_notifications(c, read))?,
        sessions: write_transaction(&mut conn, |c| retention::ended_sessions(c, ended))?,
        refresh_tokens: write_transaction(&mut conn, |c| {
            retention::expired_refresh_tokens(c, ended)
        })?,
    })
}
