//! Convene's use cases. Each public function is one operation: it loads, authorises,
//! validates, writes inside one transaction and returns domain types or a
//! [`ServiceError`]. Everything here is synchronous (Diesel, bcrypt): the HTTP layer
//! runs it on the blocking pool.

pub mod auth;
pub mod error;
pub mod events;
pub mod fanout;
pub mod history;
pub mod notifications;
pub mod sharing;
mod time;
pub mod tokens;

pub use error::ServiceError;

use convene_persistence::db::write_transaction;
use convene_persistence::notifications::NewNotification;
use convene_persistence::{notifications as stored, Database, DbConnection, PooledConnection};

use crate::fanout::Fanout;
use crate::notifications::{notification_of, Notification};

/// Settings of accounts and tokens.
#[derive(Clone)]
pub struct AuthSettings {
    /// JWT signing and verification keys, algorithm pinned.
    pub keys: tokens::TokenKeys,
    /// Access token lifetime.
    pub access_ttl: chrono::Duration,
    /// Refresh token lifetime (each rotation slides it).
    pub refresh_ttl: chrono::Duration,
    /// bcrypt cost for new password hashes.
    pub bcrypt_cost: u32,
}

/// Everything a use case needs: the pool and the settings. Cheap to share behind `Arc`.
pub struct Services {
    db: Database,
    auth: AuthSettings,
    fanout: Fanout,
    /// A hash verified against when the login name is unknown, so that an unknown
    /// username costs the same bcrypt work as a wrong password.
    dummy_hash: String,
}

impl Services {
    /// Builds the services; hashes the timing-equaliser once, at the configured cost.
    pub fn new(db: Database, auth: AuthSettings, fanout: Fanout) -> Result<Self, ServiceError> {
        let dummy_hash = bcrypt::hash("convene timing equaliser", auth.bcrypt_cost)
            .map_err(|e| ServiceError::Internal(format!("bcrypt: {e}")))?;
        Ok(Self {
            db,
            auth,
            fanout,
            dummy_hash,
        })
    }

    /// Checks that the database answers, waiting at most `timeout` for a connection.
    pub fn ping(&self, timeout: std::time::Duration) -> Result<(), ServiceError> {
        Ok(self.db.ping(timeout)?)
    }

    /// Runs a write transaction that records notifications: `f` pushes the rows to
    /// store; they are written in the same transaction, announced to other instances
    /// inside it, and pushed to local live connections only after it commits. A write
    /// that lost a race to a concurrent writer is retried (see [`events::retrying`]).
    pub(crate) fn write<T>(
        &self,
        mut f: impl FnMut(&mut DbConnection, &mut Vec<NewNotification>) -> Result<T, ServiceError>,
    ) -> Result<T, ServiceError> {
        let mut conn = self.conn()?;
        events::retrying(|| {
            let (value, committed) = write_transaction(&mut conn, |conn| {
                let mut notes = Vec::new();
                let value = f(conn, &mut notes)?;
                if !notes.is_empty() {
                    convene_persistence::live::order_notifications(conn)?;
                }
                let rows = stored::insert_many(conn, notes)?;
                let committed = rows
                    .into_iter()
                    .map(notification_of)
                    .collect::<Result<Vec<Notification>, _>>()?;
                self.fanout.in_transaction(conn, &committed)?;
                Ok::<_, ServiceError>((value, committed))
            })?;
            self.fanout.after_commit(&committed);
            Ok(value)
        })
    }

    fn conn(&self) -> Result<PooledConnection, ServiceError> {
        Ok(self.db.get()?)
    }
}
