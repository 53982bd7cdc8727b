//! The hub: user id → that user's open connections, each with a bounded queue.
//!
//! Delivery never waits: a connection whose queue is full is dropped from the hub (its
//! socket is then closed and the client can resume with `since`), so a slow or stuck
//! client never delays anyone else.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use convene_domain::ids::{SessionId, UserId};
use convene_domain::notification::Notification;
use convene_service::fanout::LiveSink;
use tokio::sync::{mpsc, watch};

use crate::wire;

/// Notifications queued per connection before it counts as too far behind: room for
/// the largest single change (a 500-event batch) twice over. Slots are allocated as
/// used, so an idle connection does not pay for them.
pub const QUEUE: usize = 1024;

/// A notification on its way to sockets, with its frames encoded at most once however
/// many connections receive it.
pub struct Pushed {
    /// The notification.
    pub notification: Notification,
    json: OnceLock<Option<String>>,
    msgpack: OnceLock<Option<Vec<u8>>>,
}

impl Pushed {
    /// Wraps a notification.
    pub fn new(notification: Notification) -> Self {
        Self {
            notification,
            json: OnceLock::new(),
            msgpack: OnceLock::new(),
        }
    }

    /// The JSON text frame, encoded on first use.
    pub fn json(&self) -> Option<&String> {
        self.json
            .get_or_init(|| wire::json_frame(&self.notification))
            .as_ref()
    }

    /// The MessagePack binary frame, encoded on first use.
    pub fn msgpack(&self) -> Option<&Vec<u8>> {
        self.msgpack
            .get_or_init(|| wire::msgpack_frame(&self.notification))
            .as_ref()
    }
}

/// Why the hub ends a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// The session was revoked (logout or refresh-token reuse).
    SessionRevoked,
    /// The server is shutting down.
    ShuttingDown,
}

struct Connection {
    id: u64,
    session: SessionId,
    queue: mpsc::Sender<Arc<Pushed>>,
    control: watch::Sender<Option<Ended>>,
}

/// One connection's end of the hub.
pub struct Subscription {
    /// The connection's id in the hub.
    pub id: u64,
    /// Its user.
    pub user: UserId,
    /// Notifications for it; closed when it fell too far behind.
    pub queue: mpsc::Receiver<Arc<Pushed>>,
    /// Set when the hub ends the connection.
    pub control: watch::Receiver<Option<Ended>>,
}

/// How many connections the hub holds at most.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Per user (all their tabs and devices).
    pub per_user: usize,
    /// In all, on this instance.
    pub total: usize,
}

impl Default for Limits {
    /// 32 per user, 20,000 in all (`WS_MAX_CONNECTIONS_PER_USER`, `WS_MAX_CONNECTIONS`).
    fn default() -> Self {
        Self {
            per_user: 32,
            total: 20_000,
        }
    }
}

/// Why a connection was not registered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Full {
    /// The user has [`Limits::per_user`] connections open already.
    User,
    /// The instance has [`Limits::total`] connections open already, or is stopping.
    Instance,
}

/// The open connections of this process.
#[derive(Default)]
pub struct Hub {
    connections: Mutex<HashMap<UserId, Vec<Connection>>>,
    next_id: AtomicU64,
    limits: Limits,
    closed: std::sync::atomic::AtomicBool,
    /// How many connections the map holds; changed only under its lock, so admitting a
    /// connection costs no walk over every user.
    open: std::sync::atomic::AtomicUsize,
    /// Notifications queued to a connection, since start.
    pushed: AtomicU64,
    /// Notifications not queued because the connection's queue was full (the connection
    /// is dropped with them), since start.
    dropped: AtomicU64,
    /// Times the PostgreSQL listener lost its connection and reconnected, since start.
    listener_reconnects: AtomicU64,
    /// Whether the PostgreSQL listener reads the feed on a timer (writes are frequent)
    /// rather than when woken.
    listener_polling: AtomicBool,
}

/// What the hub has done since start, for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HubStats {
    /// Connections open now.
    pub open: u64,
    /// Notifications queued to a connection.
    pub pushed: u64,
    /// Notifications dropped because a connection fell behind.
    pub dropped: u64,
    /// Reconnections of the PostgreSQL listener.
    pub listener_reconnects: u64,
    /// Whether the PostgreSQL listener reads the feed on a timer now.
    pub listener_polling: bool,
}

impl Hub {
    fn lock(&self) -> MutexGuard<'_, HashMap<UserId, Vec<Connection>>> {
        // A panic while holding the lock cannot leave the map inconsistent (every
        // operation is a single insert or retain), so a poisoned lock is still usable.
        self.connections.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A hub holding at most `limits` connections.
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            ..Self::default()
        }
    }

    /// Registers a connection of `user` in `session`, unless the user or the instance
    /// has as many open as the limits allow.
    pub fn subscribe(&self, user: UserId, session: SessionId) -> Result<Subscription, Full> {
        let mut map = self.lock();
        if self.open.load(Ordering::SeqCst) >= self.limits.total
            || self.closed.load(Ordering::SeqCst)
        {
            return Err(Full::Instance);
        }
        let list = map.entry(user).or_default();
        if list.len() >= self.limits.per_user {
            if list.is_empty() {
                map.remove(&user);
            }
            return Err(Full::User);
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (queue_tx, queue_rx) = mpsc::channel(QUEUE);
        let (control_tx, control_rx) = watch::channel(None);
        self.open.fetch_add(1, Ordering::SeqCst);
        list.push(Connection {
            id,
            session,
            queue: queue_tx,
            control: control_tx,
        });
        Ok(Subscription {
            id,
            user,
            queue: queue_rx,
            control: control_rx,
        })
    }

    /// Removes a connection (when its socket closes).
    pub fn unsubscribe(&self, user: UserId, id: u64) {
        let mut map = self.lock();
        if let Some(list) = map.get_mut(&user) {
            let before = list.len();
            list.retain(|c| c.id != id);
            self.open.fetch_sub(before - list.len(), Ordering::SeqCst);
            if list.is_empty() {
                map.remove(&user);
            }
        }
    }

    /// Ends every connection at once (the server is stopping) and takes no more.
    pub fn shut_down(&self) {
        let mut map = self.lock();
        for connection in map.values().flatten() {
            connection.control.send_replace(Some(Ended::ShuttingDown));
        }
        map.clear();
        self.open.store(0, Ordering::SeqCst);
        self.closed.store(true, Ordering::SeqCst);
    }

    /// The sessions with open connections.
    pub fn sessions(&self) -> Vec<SessionId> {
        let mut all: Vec<SessionId> = self.lock().values().flatten().map(|c| c.session).collect();
        all.sort_unstable();
        all.dedup();
        all
    }

    /// How many connections are open.
    pub fn connection_count(&self) -> usize {
        self.open.load(Ordering::SeqCst)
    }

    /// The counts since start. Read under the connection lock, which `deliver` holds
    /// until it has counted: a push a client has already received is always counted
    /// (a scrape right after a push must not miss it).
    pub fn stats(&self) -> HubStats {
        let _delivering = self.lock();
        HubStats {
            open: self.open.load(Ordering::SeqCst) as u64,
            pushed: self.pushed.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            listener_reconnects: self.listener_reconnects.load(Ordering::Relaxed),
            listener_polling: self.listener_polling.load(Ordering::Relaxed),
        }
    }

    /// Notes that the PostgreSQL listener lost its connection and reconnects.
    pub fn listener_reconnecting(&self) {
        self.listener_reconnects.fetch_add(1, Ordering::Relaxed);
    }

    /// Notes whether the PostgreSQL listener reads the feed on a timer.
    pub fn listener_polling(&self, polling: bool) {
        self.listener_polling.store(polling, Ordering::Relaxed);
    }
}

impl LiveSink for Hub {
    fn deliver(&self, notifications: &[Notification]) {
        let mut map = self.lock();
        for n in notifications {
            let Some(list) = map.get_mut(&n.body.user_id) else {
                continue;
            };
            let shared = Arc::new(Pushed::new(n.clone()));
            // Dropping a connection's sender closes its queue: a full queue means the
            // client fell behind, a closed one that it is gone.
            let before = list.len();
            list.retain(|c| match c.queue.try_send(shared.clone()) {
                Ok(()) => {
                    self.pushed.fetch_add(1, Ordering::Relaxed);
                    true
                }
                Err(mpsc::error::TrySendError::Full(_)) => {
                    self.dropped.fetch_add(1, Ordering::Relaxed);
                    false
                }
                Err(mpsc::error::TrySendError::Closed(_)) => false,
            });
            self.open.fetch_sub(before - list.len(), Ordering::SeqCst);
            if list.is_empty() {
                map.remove(&n.body.user_id);
            }
        }
    }

    fn session_revoked(&self, session: SessionId) {
        let mut map = self.lock();
        for list in map.values_mut() {
            let before = list.len();
            list.retain(|c| {
                if c.session == session {
                    c.control.send_replace(Some(Ended::SessionRevoked));
                    false
                } else {
                    true
                }
            });
            self.open.fetch_sub(before - list.len(), Ordering::SeqCst);
        }
        map.retain(|_, list| !list.is_empty());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use convene_domain::ids::NotificationId;
    use convene_domain::notification::{NotificationBody, NotificationKind};

    fn note(id: i64, user: i64) -> Notification {
        Notification {
            id: NotificationId(id),
            body: NotificationBody {
                user_id: UserId(user),
                kind: NotificationKind::EventUpdated,
                event_id: None,
                actor_id: UserId(9),
                message: "m".into(),
                data: Default::default(),
                is_read: false,
                created_at: Utc::now(),
            },
        }
    }

    #[test]
    fn connections_are_capped_per_user_and_in_all() {
        let hub = Hub::new(Limits {
            per_user: 2,
            total: 3,
        });
        let a1 = hub.subscribe(UserId(1), SessionId(1)).unwrap();
        let _a2 = hub.subscribe(UserId(1), SessionId(1)).unwrap();
        assert_eq!(
            hub.subscribe(UserId(1), SessionId(2)).err(),
            Some(Full::User)
        );
        let _b1 = hub.subscribe(UserId(2), SessionId(3)).unwrap();
        assert_eq!(
            hub.subscribe(UserId(3), SessionId(4)).err(),
            Some(Full::Instance)
        );
        assert_eq!(hub.connection_count(), 3);
        hub.unsubscribe(a1.user, a1.id);
        assert!(hub.subscribe(UserId(3), SessionId(4)).is_ok());
    }

    #[test]
    fn delivers_to_every_connection_of_the_recipient_only() {
        let hub = Hub::default();
        let mut a1 = hub.subscribe(UserId(1), SessionId(1)).unwrap();
        let mut a2 = hub.subscribe(UserId(1), SessionId(2)).unwrap();
        let mut b = hub.subscribe(UserId(2), SessionId(3)).unwrap();
        hub.deliver(&[note(10, 1)]);
        assert_eq!(
            a1.queue.try_recv().unwrap().notification.id,
            NotificationId(10)
        );
        assert_eq!(
            a2.queue.try_recv().unwrap().notification.id,
            NotificationId(10)
        );
        assert!(b.queue.try_recv().is_err());
    }

    #[test]
    fn a_full_queue_drops_only_that_connection() {
        let hub = Hub::default();
        let mut slow = hub.subscribe(UserId(1), SessionId(1)).unwrap();
        let mut fast = hub.subscribe(UserId(1), SessionId(2)).unwrap();
        for i in 0..QUEUE as i64 {
            hub.deliver(&[note(i, 1)]);
            fast.queue.try_recv().unwrap();
        }
        hub.deliver(&[note(-1, 1)]);
        assert_eq!(
            fast.queue.try_recv().unwrap().notification.id,
            NotificationId(-1)
        );
        assert_eq!(hub.connection_count(), 1);
        for _ in 0..QUEUE {
            slow.queue.try_recv().unwrap();
        }
        assert!(matches!(
            slow.queue.try_recv(),
            Err(mpsc::error::TryRecvError::Disconnected)
        ));
        // The slow connection took QUEUE, the fast one QUEUE + 1; one was dropped.
        let stats = hub.stats();
        assert_eq!(
            (stats.pushed, stats.dropped, stats.open),
            (2 * QUEUE as u64 + 1, 1, 1)
        );
    }

    #[test]
    fn revoking_a_session_ends_its_connections() {
        let hub = Hub::default();
        let a = hub.subscribe(UserId(1), SessionId(1)).unwrap();
        let b = hub.subscribe(UserId(1), SessionId(2)).unwrap();
        hub.session_revoked(SessionId(1));
        assert_eq!(*a.control.borrow(), Some(Ended::SessionRevoked));
        assert_eq!(*b.control.borrow(), None);
        assert_eq!(hub.connection_count(), 1);
        hub.unsubscribe(UserId(1), b.id);
        assert_eq!(hub.connection_count(), 0);
    }
}
