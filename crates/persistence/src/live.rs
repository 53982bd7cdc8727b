//! The PostgreSQL `LISTEN`/`NOTIFY` channel that carries live fan-out between server
//! instances. Payloads stay far below PostgreSQL's 8000-byte limit: they carry ids,
//! never documents.

use convene_domain::ids::{NotificationId, SessionId};
use diesel::prelude::*;

use crate::error::StoreResult;
use crate::DbConnection;

/// The channel every instance listens on.
pub const CHANNEL: &str = "convene_live";
/// Largest payload sent (PostgreSQL refuses 8000 bytes and more).
const MAX_PAYLOAD: usize = 7_000;

diesel::define_sql_function! {
    /// PostgreSQL `pg_notify(channel, payload)`: delivered to listeners on commit.
    fn pg_notify(channel: diesel::sql_types::Text, payload: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

diesel::define_sql_function! {
    /// PostgreSQL `pg_advisory_xact_lock(key)`: held until the transaction ends.
    fn pg_advisory_xact_lock(key: diesel::sql_types::BigInt) -> diesel::sql_types::Text;
}

/// PostgreSQL: takes the advisory lock `key` until the transaction ends.
pub(crate) fn advisory_xact_lock(conn: &mut DbConnection, key: i64) -> StoreResult<()> {
    diesel::select(pg_advisory_xact_lock(key)).execute(conn)?;
    Ok(())
}

/// A message on the channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LiveMessage {
    /// New notifications were committed.
    Notifications(Vec<NotificationId>),
    /// A session was revoked (logout).
    SessionRevoked(SessionId),
}

/// Payloads announcing `ids`: `n:1,2,3`, split so none exceeds the limit.
pub fn notification_payloads(ids: &[NotificationId]) -> Vec<String> {
    let mut payloads = Vec::new();
    let mut current = String::from("n:");
    for id in ids {
        let item = id.0.to_string();
        if current.len() + item.len() + 1 > MAX_PAYLOAD {
            payloads.push(std::mem::replace(&mut current, String::from("n:")));
        }
        if current.len() > 2 {
            current.push(',');
        }
        current.push_str(&item);
    }
    if current.len() > 2 {
        payloads.push(current);
    }
    payloads
}

/// The payload announcing a revoked session: `s:<id>`.
pub fn session_payload(session: SessionId) -> String {
    format!("s:{}", session.0)
}

/// Parses a payload; `None` for anything unknown.
pub fn parse_payload(payload: &str) -> Option<LiveMessage> {
    if let Some(ids) = payload.strip_prefix("n:") {
        ids.split(',')
            .map(|id| id.parse().ok().map(NotificationId))
            .collect::<Option<Vec<_>>>()
            .map(LiveMessage::Notifications)
    } else {
        payload
            .strip_prefix("s:")
            .and_then(|id| id.parse().ok())
            .map(|id| LiveMessage::SessionRevoked(SessionId(id)))
    }
}

/// Sends `payload` on the channel (PostgreSQL only; delivered when the transaction
/// commits).
pub fn notify(conn: &mut DbConnection, payload: &str) -> StoreResult<()> {
    if let DbConnection::Postgresql(_) = conn {
        diesel::select(pg_notify(CHANNEL, payload)).execute(conn)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_round_trip_and_stay_small() {
        let ids: Vec<NotificationId> = (1_000_000_000..1_000_002_000).map(NotificationId).collect();
        let payloads = notification_payloads(&ids);
        assert!(payloads.len() > 1);
        let mut back = Vec::new();
        for p in &payloads {
            assert!(p.len() <= MAX_PAYLOAD);
            match parse_payload(p) {
                Some(LiveMessage::Notifications(mut part)) => back.append(&mut part),
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(back, ids);
        assert!(notification_payloads(&[]).is_empty());
        assert_eq!(
            parse_payload(&session_payload(SessionId(7))),
            Some(LiveMessage::SessionRevoked(SessionId(7)))
        );
        assert_eq!(parse_payload("x:1"), None);
        assert_eq!(parse_payload("n:1,x"), None);
    }
}
