//! Live fan-out of committed notifications and session revocations.
//!
//! Notifications are stored in the transaction of the change; they reach live sockets
//! only after it commits. With SQLite (one process) the committed rows go straight to
//! the local [`LiveSink`]. With PostgreSQL every instance listens on one channel: the
//! transaction `NOTIFY`s the new ids (delivered by PostgreSQL only on commit), and each
//! instance's listener, woken by it (or, while writes come close together, on a short
//! timer instead), reads the final notifications in delivery order
//! (`persistence::notifications`) and feeds its own sink, so a change made through any
//! instance reaches sockets on all of them.

use std::sync::Arc;

use convene_domain::ids::{NotificationId, SessionId};
use convene_domain::notification::Notification;
use convene_persistence::{live, DbConnection};

pub use convene_persistence::live::{parse_payload, LiveMessage, CHANNEL};

use crate::ServiceError;

/// Where live notifications go in this process (the WebSocket hub).
pub trait LiveSink: Send + Sync {
    /// Hands committed notifications to the recipients' open connections.
    fn deliver(&self, notifications: &[Notification]);
    /// Closes every connection of a revoked session.
    fn session_revoked(&self, session: SessionId);
}

/// How committed changes reach live connections.
#[derive(Clone)]
pub enum Fanout {
    /// Deliver in-process, after commit (single instance: SQLite).
    Local(Arc<dyn LiveSink>),
    /// `NOTIFY` inside the transaction; every instance's listener delivers (PostgreSQL).
    Postgres,
}

impl Fanout {
    /// Inside the writing transaction: announces new notification ids (PostgreSQL).
    pub(crate) fn in_transaction(
        &self,
        conn: &mut DbConnection,
        notifications: &[Notification],
    ) -> Result<(), ServiceError> {
        if let Self::Postgres = self {
            let ids: Vec<NotificationId> = notifications.iter().map(|n| n.id).collect();
            for payload in live::notification_payloads(&ids) {
                live::notify(conn, &payload)?;
            }
        }
        Ok(())
    }

    /// After commit: delivers in-process (local fan-out).
    pub(crate) fn after_commit(&self, notifications: &[Notification]) {
        if let Self::Local(sink) = self {
            if !notifications.is_empty() {
                sink.deliver(notifications);
            }
        }
    }

    /// Inside the revoking transaction (PostgreSQL): announces the revoked session.
    pub(crate) fn revoke_in_transaction(
        &self,
        conn: &mut DbConnection,
        session: SessionId,
    ) -> Result<(), ServiceError> {
        if let Self::Postgres = self {
            live::notify(conn, &live::session_payload(session))?;
        }
        Ok(())
    }

    /// After commit: closes the session's local connections (local fan-out).
    pub(crate) fn revoked(&self, session: SessionId) {
        if let Self::Local(sink) = self {
            sink.session_revoked(session);
        }
    }
}
