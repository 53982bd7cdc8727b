//! The PostgreSQL listener: one dedicated connection `LISTEN`ing on the live channel,
//! feeding this instance's hub with what any instance committed. It reconnects with
//! exponential backoff (up to 5 s) when the connection drops, e.g. after a database
//! restart.

use std::sync::Arc;
use std::time::Duration;

use convene_domain::ids::NotificationId;
use convene_service::fanout::{parse_payload, LiveMessage, LiveSink, CHANNEL};
use convene_service::{auth, notifications, ServiceError, Services};
use futures_util::StreamExt;
use tokio_postgres::AsyncMessage;

use crate::target::Target;
use crate::Hub;

/// The `application_name` of the listener's connection (visible in `pg_stat_activity`).
pub const APPLICATION_NAME: &str = "convene-listener";
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// Missed notifications loaded per step when catching up.
const CATCH_UP_STEP: u32 = 1_000;

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
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

async fn listen_once(
    target: &Target,
    services: &Arc<Services>,
    hub: &Arc<Hub>,
    backoff: &mut Duration,
    delivered: &mut Option<NotificationId>,
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
    client.batch_execute(&format!("LISTEN {CHANNEL}")).await?;
    tracing::info!("live listener connected");
    *backoff = Duration::from_millis(100);
    catch_up(services, hub, delivered).await?;
    end_revoked_sessions(services, hub).await?;
    while let Some(payload) = rx.recv().await {
        match parse_payload(&payload) {
            Some(LiveMessage::Notifications(mut ids)) => {
                // Ids commit (and are announced) in order: anything at or below the
                // last delivered id came through the catch-up already.
                ids.retain(|id| Some(*id) > *delivered);
                if ids.is_empty() {
                    continue;
                }
                let services = services.clone();
                match blocking(move || notifications::by_ids(&services, &ids)).await {
                    Ok(found) => {
                        *delivered = found.iter().map(|n| n.id).max().max(*delivered);
                        hub.deliver(&found);
                    }
                    Err(e) => tracing::warn!(error = %e, "cannot load announced notifications"),
                }
            }
            Some(LiveMessage::SessionRevoked(session)) => hub.session_revoked(session),
            None => tracing::warn!(payload, "unknown live payload"),
        }
    }
    driver.abort();
    drop(client);
    Ok(())
}

/// Once listening: closes the connections of sessions that ended while the listener was
/// away (their revocation was announced to nobody).
async fn end_revoked_sessions(services: &Arc<Services>, hub: &Arc<Hub>) -> Result<(), String> {
    let open = hub.sessions();
    if open.is_empty() {
        return Ok(());
    }
    let services = services.clone();
    for session in blocking(move || auth::ended_sessions(&services, &open)).await? {
        tracing::info!(
            session = session.0,
            "live listener: session ended while away"
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

/// Once listening: the first time, notes where the feed stands; after a reconnect,
/// delivers whatever was committed while the listener was away (notification ids
/// become visible in id order, so "after the last delivered id" misses nothing).
async fn catch_up(
    services: &Arc<Services>,
    hub: &Arc<Hub>,
    delivered: &mut Option<NotificationId>,
) -> Result<(), String> {
    let Some(mut after) = *delivered else {
        let services = services.clone();
        *delivered = Some(blocking(move || notifications::latest_id(&services)).await?);
        return Ok(());
    };
    loop {
        let services = services.clone();
        let missed =
            blocking(move || notifications::all_after(&services, after, CATCH_UP_STEP)).await?;
        if let Some(last) = missed.last() {
            after = last.id;
            *delivered = Some(after);
            tracing::info!(count = missed.len(), "live listener caught up");
            hub.deliver(&missed);
        }
        if missed.len() < CATCH_UP_STEP as usize {
            return Ok(());
        }
    }
}
