//! The write transaction every change runs in: notifications stored with the change,
//! announced inside it, pushed after commit, and the whole retried when a concurrent
//! writer won a race.

use convene_domain::notification::{Notification, NotificationBody};
use convene_persistence::db::write_transaction_then;
use convene_persistence::{notifications, DbConnection};

use crate::fanout::Fanout;
use crate::{ServiceError, Services};

/// The notifications of a write: pushed by the use case, stored in its transaction and
/// announced inside it (`NOTIFY`), pushed to local live connections after commit.
pub(crate) struct Notes<'a> {
    pending: Vec<NotificationBody>,
    stored: Vec<Notification>,
    fanout: &'a Fanout,
}

impl Notes<'_> {
    /// Adds one notification to store.
    pub(crate) fn push(&mut self, note: NotificationBody) {
        self.pending.push(note);
    }

    /// Stores (and announces) the notifications pushed so far, now. A use case that
    /// takes the owner's calendar lock flushes before taking it, so that the lock is
    /// held for as few statements as possible; the rest are stored at the end.
    pub(crate) fn flush(&mut self, conn: &mut DbConnection) -> Result<(), ServiceError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let stored = notifications::insert_many(conn, std::mem::take(&mut self.pending))?;
        self.fanout.in_transaction(conn, &stored)?;
        self.stored.extend(stored);
        Ok(())
    }
}

impl Extend<NotificationBody> for Notes<'_> {
    fn extend<I: IntoIterator<Item = NotificationBody>>(&mut self, iter: I) {
        self.pending.extend(iter);
    }
}

/// How many times a write is attempted when a concurrent writer keeps winning.
const ATTEMPTS: usize = 5;
/// How many connections a write is tried on when one breaks before its commit.
const FRESH_CONNECTIONS: usize = 2;

/// Runs `op`, running it again (up to [`ATTEMPTS`] times in all) while it reports that
/// a concurrent writer won a race (the database's overlap check fired, or a
/// version-guarded update found the row changed). Each attempt re-reads, so the last
/// answers 409 or 412 with current facts.
pub(crate) fn retrying<T>(
    mut op: impl FnMut() -> Result<T, ServiceError>,
) -> Result<T, ServiceError> {
    let mut attempt = 1;
    loop {
        match op() {
            Err(ServiceError::Contended) if attempt < ATTEMPTS => attempt += 1,
            other => return other,
        }
    }
}

impl Services {
    /// Runs a write transaction that records notifications: `f` pushes the ones to
    /// store; they are written in the same transaction, announced to other instances
    /// inside it, and pushed to local live connections only after it commits.
    pub(crate) fn write<T>(
        &self,
        mut f: impl FnMut(&mut DbConnection, &mut Notes<'_>) -> Result<T, ServiceError>,
    ) -> Result<T, ServiceError> {
        self.write_attempts(|conn, notes, _| f(conn, notes))
    }

    /// [`Services::write`], where `f` also learns whether this is a later attempt (the
    /// first one lost a race or was refused). Writes that leave the overlap check to the
    /// database (creates and time changes store their occurrences without probing; a
    /// refusal, `StoreError::Overlap`, is [`ServiceError::Contended`]) probe on later
    /// attempts, to answer 409 with what is in the way.
    pub(crate) fn write_attempts<T>(
        &self,
        mut f: impl FnMut(&mut DbConnection, &mut Notes<'_>, bool) -> Result<T, ServiceError>,
    ) -> Result<T, ServiceError> {
        let mut attempts = 0;
        // A connection that breaks before the commit is sent (a database restart, a
        // dropped link) leaves nothing behind: the write runs once more on a fresh
        // connection. One that breaks during the commit may have committed: 503.
        let mut connections = FRESH_CONNECTIONS;
        loop {
            let mut conn = self.conn()?;
            let mut committing = false;
            let result = retrying(|| {
                committing = false;
                // Handed to local connections as soon as committed, before the next
                // writer of this process commits: live frames arrive in id order, as
                // `?since=` replays them (SQLite's writers take turns).
                let (value, _) = write_transaction_then(
                    &mut conn,
                    |conn| {
                        let mut notes = Notes {
                            pending: Vec::new(),
                            stored: Vec::new(),
                            fanout: &self.fanout,
                        };
                        attempts += 1;
                        let value = f(conn, &mut notes, attempts > 1)?;
                        notes.flush(conn)?;
                        committing = true;
                        Ok::<_, ServiceError>((value, notes.stored))
                    },
                    |(_, committed)| self.fanout.after_commit(committed),
                )?;
                Ok(value)
            });
            connections -= 1;
            match result {
                Err(ServiceError::Unavailable(why)) if !committing && connections > 0 => {
                    tracing::info!(error = %why, "connection lost before commit; writing again");
                }
                other => return other,
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn contention_is_retried_until_it_clears() {
        let mut calls = 0;
        let got = retrying(|| {
            calls += 1;
            if calls < 3 {
                Err(ServiceError::Contended)
            } else {
                Ok(calls)
            }
        });
        assert_eq!(got.unwrap(), 3);
    }

    #[test]
    fn persistent_contention_surfaces_after_the_last_attempt() {
        let mut calls = 0;
        let got: Result<(), _> = retrying(|| {
            calls += 1;
            Err(ServiceError::Contended)
        });
        assert!(matches!(got, Err(ServiceError::Contended)));
        assert_eq!(calls, ATTEMPTS);
    }

    #[test]
    fn other_errors_are_not_retried() {
        let mut calls = 0;
        let got: Result<(), _> = retrying(|| {
            calls += 1;
            Err(ServiceError::NotFound)
        });
        assert!(matches!(got, Err(ServiceError::NotFound)));
        assert_eq!(calls, 1);
    }
}
