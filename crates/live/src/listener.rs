//! The PostgreSQL listener: one dedicated connection feeding this instance's hub with
//! what any instance committed, in delivery order (`persistence::notifications`): it
//! delivers every final notification after the last one it delivered, and closes the
//! sockets of revoked sessions. While writes are sparse, an announcement on the channel
//! wakes it. Once writes are frequent — two announcements within [`BUSY_GAP`], or
//! several arriving while it read — it stops listening (`UNLISTEN`: PostgreSQL then
//! neither signals its backend nor sends it anything at each commit), reads the feed
//! every [`POLL`] instead (everything final since the last read, each time) and checks
//! its open sessions for revocations every [`SWEEP`]. Once a window of [`QUIET`] has
//! fewer than [`BUSY_READS`] reads that delivered something (writes no more frequent
//! than one per [`BUSY_GAP`]) it listens again, then reads the feed and checks the
//! sessions once more (what committed before `LISTEN` took effect announced itself to
//! nobody). Notifications held back behind a transaction still running are read again
//! after a wait of 5 ms doubling up to 200 ms (in either mode) until they are final. It
//! reconnects with exponential backoff (up to 5 s) when the connection drops, e.g.
//! after a database restart, and then delivers what it missed.

use std::sync::Arc;
use std::time::{Duration, Instant};

use convene_service::fanout::{parse_payload, LiveMessage, LiveSink, CHANNEL};
use convene_service::notifications::FeedPosition;
use convene_service::{auth, notifications, ServiceError, Services};
use futures_util::StreamExt;
use tokio_postgres::AsyncMessage;

use crate::target::Target;
use crate::Hub;

/// The `application_name` of the listener's connection (visible in `pg_stat_activity`).
pub const APPLICATION_NAME: &str = "convene-listener";
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// Notifications loaded per step.
const FEED_STEP: u32 = 1_000;
/// How soon notifications held back behind a running transaction are read again; the
/// wait doubles up to [`MAX_RECHECK`] while they stay held back.
const FIRST_RECHECK: Duration = Duration::from_millis(5);
const MAX_RECHECK: Duration = Duration::from_millis(200);
/// Two announcements closer than this: writes are frequent, read the feed on a timer.
const BUSY_GAP: Duration = Duration::from_millis(20);
/// How often the feed is read while writes are frequent (the most a live notification
/// waits for it then).
const POLL: Duration = Duration::from_millis(5);
/// The window over which reads on the timer are counted.
const QUIET: Duration = Duration::from_millis(100);
/// Reads that delivered something, per [`QUIET`] window, that keep the listener reading
/// on the timer (one per [`BUSY_GAP`]); fewer, and it listens again.
const BUSY_READS: u32 = 5;
/// How often open sessions are checked for revocations while not listening (the most a
/// revoked session's sockets stay open then).
const SWEEP: Duration = Duration::from_secs(1);

/// Listens forever: connect, `LISTEN`, deliver; on any failure wait and reconnect.
pub async fn run(target: Target, services: Arc<Services>, hub: Arc<Hub>) {
    let mut backoff = Duration::from_millis(100);
    let mut delivered = None;
    loop {
        match listen_once(&target, &services, &hub, &mut backoff, &mut delivered).await {
            Ok(()) => tracing::warn!("live listener connection closed; reconnecting"),
            Err(e) => tracing::warn!(error = %e, "live listener failed; reconnecting"),
        }
        hub.listener_reconnecting();
        hub.listener_polling(false);
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

async fn listen_once(
    target: &Target,
    services: &Arc<Services>,
    hub: &Arc<Hub>,
    backoff: &mut Duration,
    delivered: &mut Option<FeedPosition>,
) -> Result<(), Box<dyn std::error::Error>> {
    let (client, mut connection) = target
        .config(APPLICATION_NAME)
        .connect(target.tls()?)
        .await?;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let driver = tokio::spawn(async move {
        let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(message) = messages.next().await {
            match message {
                Ok(AsyncMessage::Notification(n)) => {
                    if tx.send(n.payload().to_owned()).is_err() {
                        break;
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "live listener connection error");
                    break;
                }
            }
        }
    });
    let (listen, unlisten) = (format!("LISTEN {CHANNEL}"), format!("UNLISTEN {CHANNEL}"));
    client.batch_execute(&listen).await?;
    tracing::info!("live listener connected");
    *backoff = Duration::from_millis(100);
    let mut held_back = deliver_final(services, hub, delivered).await?.held_back;
    end_revoked_sessions(services, hub).await?;
    let mut recheck = FIRST_RECHECK;
    // Listening (else reading the feed every `POLL`), the last announcement while
    // listening, and, while not listening, the last check of the open sessions, the
    // current window's start and its reads that delivered something.
    // (The gauge reads 0 until the first switch, and again after every reconnect.)
    let mut listening = true;
    let mut last_wake: Option<Instant> = None;
    let mut swept = Instant::now();
    let mut window = Instant::now();
    let mut hits = 0;
    loop {
        let woken = if !listening || held_back {
            // Rows held back behind a running transaction wait for it with a doubling
            // wait (one left open must not make the listener read every 5 ms).
            let wait = if held_back { recheck } else { POLL };
            tokio::select! {
                payload = rx.recv() => payload,
                () = tokio::time::sleep(wait) => {
                    if held_back {
                        recheck = (recheck * 2).min(MAX_RECHECK);
                    }
                    Some(String::new())
                }
            }
        } else {
            rx.recv().await
        };
        let Some(first) = woken else { break };
        let woke_at = Instant::now();
        // Handle every announcement that arrived meanwhile, then read the feed once.
        let mut payloads = vec![first];
        while let Ok(more) = rx.try_recv() {
            payloads.push(more);
        }
        // Announcements (a timer's wake-up is an empty payload).
        let announcements = payloads.iter().filter(|p| !p.is_empty()).count();
        for payload in payloads.iter().filter(|p| !p.is_empty()) {
            match parse_payload(payload) {
                Some(LiveMessage::Notifications(_)) => {}
                Some(LiveMessage::SessionRevoked(session)) => hub.session_revoked(session),
                None => tracing::warn!(payload, "unknown live payload"),
            }
        }
        let was_held_back = held_back;
        let step = deliver_final(services, hub, delivered).await?;
        held_back = step.held_back;
        if !held_back || !was_held_back {
            recheck = FIRST_RECHECK;
        }
        if listening {
            // Only announcements count (not rechecks of held-back rows); several at once
            // came while it read: as frequent as that.
            if announcements > 0 {
                let busy = announcements > 1
                    || last_wake.is_some_and(|last| woke_at.duration_since(last) < BUSY_GAP);
                if busy {
                    client.batch_execute(&unlisten).await?;
                    listening = false;
                    hub.listener_polling(true);
                    swept = woke_at;
                    window = woke_at;
                    hits = 0;
                }
                last_wake = Some(woke_at);
            }
            continue;
        }
        if woke_at.duration_since(swept) >= SWEEP {
            end_revoked_sessions(services, hub).await?;
            swept = woke_at;
        }
        if step.delivered > 0 {
            hits += 1;
        }
        // Judged once a window is over, and not while rows wait behind a running
        // transaction (its end delivers them: a read on the timer finds them).
        if held_back || woke_at.duration_since(window) < QUIET {
            continue;
        }
        if hits >= BUSY_READS {
            window = woke_at;
            hits = 0;
        } else {
            client.batch_execute(&listen).await?;
            listening = true;
            hub.listener_polling(false);
            last_wake = None;
            // What committed before the LISTEN took effect announced itself to nobody.
            held_back = deliver_final(services, hub, delivered).await?.held_back;
            end_revoked_sessions(services, hub).await?;
        }
    }
    driver.abort();
    drop(client);
    Ok(())
}

/// Closes the connections of sessions that ended while the listener was away or not
/// listening (their revocation was announced to nobody).
async fn end_revoked_sessions(services: &Arc<Services>, hub: &Arc<Hub>) -> Result<(), String> {
    let open = hub.sessions();
    if open.is_empty() {
        return Ok(());
    }
    let services = services.clone();
    for session in blocking(move || auth::ended_sessions(&services, &open)).await? {
        tracing::info!(
            session = session.0,
            "live listener: session ended unannounced"
        );
        hub.session_revoked(session);
    }
    Ok(())
}

/// Runs a synchronous use case on the blocking pool.
async fn blocking<T, F>(f: F) -> Result<T, String>
where
    F: FnOnce() -> Result<T, ServiceError> + Send + 'static,
    T: Send + 'static,
{
    match tokio::task::spawn_blocking(f).await {
        Ok(result) => result.map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    }
}

/// What one [`deliver_final`] did.
struct Step {
    /// Notifications delivered.
    delivered: usize,
    /// Whether committed notifications are held back behind a running transaction.
    held_back: bool,
}

/// Delivers every final notification after `delivered` (the first time, notes where
/// the feed stands instead: what is final now came before this instance listened).
async fn deliver_final(
    services: &Arc<Services>,
    hub: &Arc<Hub>,
    delivered: &mut Option<FeedPosition>,
) -> Result<Step, String> {
    let mut step = Step {
        delivered: 0,
        held_back: false,
    };
    let Some(mut after) = *delivered else {
        let services = services.clone();
        *delivered = Some(blocking(move || notifications::feed_start(&services)).await?);
        return Ok(step);
    };
    loop {
        let services = services.clone();
        let feed = blocking(move || notifications::feed(&services, after, FEED_STEP)).await?;
        let count = feed.items.len();
        if let Some((last, _)) = feed.items.last() {
            after = *last;
            *delivered = Some(after);
            let found: Vec<_> = feed.items.into_iter().map(|(_, n)| n).collect();
            hub.deliver(&found);
        }
        step.delivered += count;
        if feed.held_back || count < FEED_STEP as usize {
            step.held_back = feed.held_back;
            return Ok(step);
        }
    }
}
