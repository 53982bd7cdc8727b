//! The PostgreSQL listener: one dedicated connection `LISTEN`ing on the live channel,
//! feeding this instance's hub with what any instance committed. It reconnects with
//! exponential backoff (up to 5 s) when the connection drops, e.g. after a database
//! restart.

use std::sync::Arc;
use std::time::Duration;

use convene_service::fanout::{parse_payload, LiveMessage, LiveSink, CHANNEL};
use convene_service::{notifications, Services};
use futures_util::StreamExt;
use openssl::ssl::{SslConnector, SslMethod, SslVerifyMode};
use postgres_openssl::MakeTlsConnector;
use tokio_postgres::AsyncMessage;

use super::Hub;
use crate::error::blocking;

/// The `application_name` of the listener's connection (visible in `pg_stat_activity`).
pub const APPLICATION_NAME: &str = "convene-listener";
const MAX_BACKOFF: Duration = Duration::from_secs(5);

fn tls() -> Result<MakeTlsConnector, openssl::error::ErrorStack> {
    let mut builder = SslConnector::builder(SslMethod::tls())?;
    // As libpq's `sslmode=require`: encrypt; certificate checks are the operator's
    // choice of sslmode for the pooled connections.
    builder.set_verify(SslVerifyMode::NONE);
    Ok(MakeTlsConnector::new(builder.build()))
}

/// Listens forever: connect, `LISTEN`, deliver; on any failure wait and reconnect.
pub async fn run(url: String, services: Arc<Services>, hub: Arc<Hub>) {
    let mut backoff = Duration::from_millis(100);
    loop {
        match listen_once(&url, &services, &hub, &mut backoff).await {
            Ok(()) => tracing::warn!("live listener connection closed; reconnecting"),
            Err(e) => tracing::warn!(error = %e, "live listener failed; reconnecting"),
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

async fn listen_once(
    url: &str,
    services: &Arc<Services>,
    hub: &Arc<Hub>,
    backoff: &mut Duration,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut config: tokio_postgres::Config = url.parse()?;
    config.application_name(APPLICATION_NAME);
    let (client, mut connection) = config.connect(tls()?).await?;
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
    while let Some(payload) = rx.recv().await {
        match parse_payload(&payload) {
            Some(LiveMessage::Notifications(ids)) => {
                let services = services.clone();
                match blocking(move || notifications::by_ids(&services, &ids)).await {
                    Ok(found) => hub.deliver(&found),
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
