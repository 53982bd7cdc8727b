//! The retention task's work: purge what has outlived its use (see
//! `persistence::retention`). Safe to run from every instance at once.

use chrono::{DateTime, Duration, Utc};
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
    let mut conn = services.conn()?;
    Ok(Purged {
        notifications: retention::read_notifications(&mut conn, now - policy.read_notifications)?,
        sessions: retention::ended_sessions(&mut conn, now - policy.ended_sessions)?,
        refresh_tokens: retention::expired_refresh_tokens(&mut conn, now - policy.ended_sessions)?,
    })
}
