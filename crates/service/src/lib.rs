//! Convene's use cases. Each public function is one operation: it loads, authorises,
//! validates, writes inside one transaction and returns domain types or a
//! [`ServiceError`]. Everything here is synchronous (Diesel, bcrypt): the HTTP layer
//! runs it on the blocking pool.

pub mod access;
pub mod auth;
mod conflicts;
pub mod error;
pub mod events;
pub mod fanout;
pub mod feeds;
pub mod freebusy;
pub mod history;
pub mod horizon;
pub mod notifications;
mod notify;
pub mod occurrences;
pub mod page;
pub mod retention;
mod revise;
pub mod sharing;
mod time;
pub mod tokens;
mod write;

pub use access::{Event, Precondition};
pub use error::ServiceError;
pub use page::Page;

use convene_persistence::{Database, PooledConnection, StoreError};

use crate::fanout::Fanout;

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
    /// Most users one event may be shared with (besides its owner).
    max_grantees: usize,
    /// How far occurrences are checked, and how many one series may have there.
    recurrence: occurrences::RecurrenceLimits,
}

/// Most users one event may be shared with by default (`MAX_GRANTEES_PER_EVENT`).
pub const DEFAULT_MAX_GRANTEES: usize = 100;

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
            max_grantees: DEFAULT_MAX_GRANTEES,
            recurrence: occurrences::RecurrenceLimits::default(),
        })
    }

    /// The same services sharing an event with at most `n` users.
    pub fn with_max_grantees(self, n: usize) -> Self {
        Self {
            max_grantees: n,
            ..self
        }
    }

    /// The same services checking occurrences through `limits`.
    pub fn with_recurrence(self, limits: occurrences::RecurrenceLimits) -> Self {
        Self {
            recurrence: limits,
            ..self
        }
    }

    /// Checks that the database answers, waiting at most `timeout` for a connection.
    pub fn ping(&self, timeout: std::time::Duration) -> Result<(), ServiceError> {
        Ok(self.db.ping(timeout)?)
    }

    /// The database pool's connections right now.
    pub fn pool_stats(&self) -> convene_persistence::db::PoolStats {
        self.db.stats()
    }

    pub(crate) fn conn(&self) -> Result<PooledConnection, ServiceError> {
        Ok(self.db.get()?)
    }

    /// An answer for each of `asked` from one `load` on one connection (requests answered
    /// together): `answer` makes it from what `load` found for that item (one each, in
    /// order); when the connection or the load fails, that is every item's answer.
    pub(crate) fn each<Q, F, T>(
        &self,
        asked: &[Q],
        load: impl FnOnce(&mut PooledConnection) -> Result<Vec<F>, StoreError>,
        answer: impl Fn(&Q, F) -> Result<T, ServiceError>,
    ) -> Vec<Result<T, ServiceError>> {
        match self.conn().and_then(|mut conn| Ok(load(&mut conn)?)) {
            Ok(found) => asked
                .iter()
                .zip(found)
                .map(|(item, found)| answer(item, found))
                .collect(),
            Err(failed) => asked.iter().map(|_| Err(failed.clone())).collect(),
        }
    }
}
