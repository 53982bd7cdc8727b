//! `GET /ws/notifications`: the caller's notifications, live.
//!
//! Protocol: authenticate with `?token=` or `Authorization: Bearer` (else 401, no
//! upgrade). Each notification is one text frame of JSON, or with `?format=msgpack` one
//! binary MessagePack frame. `?since=<id>` first replays the stored notifications that
//! come after it in delivery order (commit order: see `persistence::notifications`),
//! then continues live with no gap and no duplicate: the connection subscribes to the
//! hub before reading the store, and live items already replayed are skipped. The server pings every 30 s and drops a peer silent for 90 s;
//! it closes with 1008 when the session is revoked or the token expires, with 1013
//! when the client fell more than a queue behind, and with 1001 when the server shuts
//! down (reconnect with `since`).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use actix_web::{web, HttpRequest, HttpResponse};
use actix_ws::{CloseCode, CloseReason, Message, Session};
use chrono::{DateTime, Utc};
use convene_domain::ids::{NotificationId, UserId};
use convene_live::hub::{Ended, Full, Hub, Pushed, Subscription};
use convene_service::auth::authenticate;
use convene_service::notifications;
use convene_service::Services;
use futures_util::StreamExt;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::bearer_token;
use crate::error::{blocking, ApiError, Problem};

/// Heartbeat timing of WebSocket connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Heartbeat {
    /// How often the server pings.
    pub ping_every: Duration,
    /// How long a silent peer is kept.
    pub silence_limit: Duration,
}

impl Default for Heartbeat {
    /// The contract's timing: a ping every 30 s, a silent peer dropped after 90 s.
    fn default() -> Self {
        Self {
            ping_every: Duration::from_secs(30),
            silence_limit: Duration::from_secs(90),
        }
    }
}
/// When a refused connection may try again.
const CONNECTION_RETRY_SECONDS: u64 = 5;

/// Stored notifications read per replay step.
const REPLAY_STEP: u32 = 500;

/// Query of the WebSocket route.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WsQuery {
    /// The access token (alternatively the `Authorization: Bearer` header).
    pub token: Option<String>,
    /// `json` (text frames, the default) or `msgpack` (binary frames).
    #[param(value_type = Option<crate::dto::FrameFormat>)]
    pub format: Option<String>,
    /// Replay first the stored notifications that come after this one in delivery
    /// (commit) order.
    #[param(minimum = 0)]
    pub since: Option<i64>,
}

/// The token of the query alone (the rest is read once it is checked).
#[derive(Deserialize)]
struct TokenOnly {
    token: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Frames {
    Json,
    MsgPack,
}

/// Live notifications over WebSocket.
///
/// Each notification arrives as one text frame holding a `WsNotification` document
/// (`{id, type, event_id, actor_id, message, data, timestamp}`), or with
/// `format=msgpack` as one binary MessagePack frame of the same document. `since`
/// replays the stored notifications that come after that one in delivery order, then
/// continues live with no gap and no duplicate. Delivery order is commit order: ids can
/// commit out of order under concurrent writers (7 handed out before 8, 8 committed
/// first), so on PostgreSQL notifications go out in the order of the transactions that
/// wrote them, each once every older transaction has ended, and "after `since`" means
/// after it in that order (a notification with a smaller id may follow one with a
/// greater id). With SQLite, writers run one at a time and delivery order is id order. Every connection of the user receives every
/// notification (all tabs, devices and server instances). The server pings every 30 s
/// and drops peers silent for 90 s; close code 1008 means the session was revoked or
/// the token expired, 1013 that the client fell too far behind, 1001 that the server is
/// shutting down (reconnect with `since`).
#[utoipa::path(
    get, path = "/ws/notifications", operation_id = "streamNotifications", tag = "notifications",
    params(WsQuery),
    security(("bearer" = []), ("oauth2" = [])),
    responses(
        (status = 101, description = "Switching to WebSocket; frames carry WsNotification documents"),
        (status = 400, description = "`invalid_query` or not a WebSocket request", body = Problem),
        (status = 401, description = "Missing or invalid token; no upgrade", body = Problem),
        (status = 429, description = "`rate_limited`: the user (`WS_MAX_CONNECTIONS_PER_USER`) or the server (`WS_MAX_CONNECTIONS`) has as many connections open as allowed; `Retry-After` set", body = Problem),
    )
)]
pub async fn notifications_ws(
    req: HttpRequest,
    body: web::Payload,
    services: web::Data<Services>,
    hub: web::Data<Hub>,
) -> Result<HttpResponse, ApiError> {
    // Credentials first, as on every other route: the token is read on its own, so that
    // a bad `format` or `since` beside a bad token is 401, not 400.
    let token = web::Query::<TokenOnly>::from_query(req.query_string())
        .ok()
        .and_then(|q| q.into_inner().token)
        .or_else(|| bearer_token(&req).map(str::to_owned))
        .ok_or_else(ApiError::unauthorized)?;
    let auth_services = services.clone();
    let checked = token.clone();
    let principal = blocking(move || authenticate(&auth_services, &checked)).await?;
    let query = web::Query::<WsQuery>::from_query(req.query_string())
        .map_err(|e| ApiError::invalid_query(e.to_string()))?
        .into_inner();
    if query.since.is_some_and(|since| since < 0) {
        return Err(ApiError::invalid_query(
            "since must be a notification id (0 or more)",
        ));
    }
    let frames = match query.format.as_deref() {
        None | Some("json") => Frames::Json,
        Some("msgpack") => Frames::MsgPack,
        Some(other) => {
            return Err(ApiError::invalid_query(format!(
                "format must be json or msgpack, not {other:?}"
            )))
        }
    };
    // Subscribe before the upgrade (a full hub answers 429 instead) and before anything
    // is read from the store: whatever commits from now on reaches the queue, whatever
    // committed before is in the store.
    let subscription = hub
        .subscribe(principal.user.id, principal.session_id)
        .map_err(|full| {
            let what = match full {
                Full::User => "you have as many live connections open as allowed",
                Full::Instance => "this server has as many live connections open as it takes",
            };
            ApiError::rate_limited_because(CONNECTION_RETRY_SECONDS, what)
        })?;
    // A logout that committed between the check above and the subscription closed
    // only the connections subscribed then: checked once more, now that a later one
    // would close this one too.
    let auth_services = services.clone();
    if let Err(revoked) = blocking(move || authenticate(&auth_services, &token)).await {
        hub.unsubscribe(subscription.user, subscription.id);
        return Err(revoked);
    }
    let (response, session, stream) = match actix_ws::handle(&req, body) {
        Ok(upgraded) => upgraded,
        Err(e) => {
            hub.unsubscribe(subscription.user, subscription.id);
            return Err(ApiError::new(
                actix_web::http::StatusCode::BAD_REQUEST,
                "malformed_body",
                e.to_string(),
            ));
        }
    };
    let heartbeat = req
        .app_data::<web::Data<Heartbeat>>()
        .map(|h| *h.get_ref())
        .unwrap_or_default();
    let connection = Connection {
        heartbeat,
        services: services.into_inner(),
        hub: hub.into_inner(),
        session,
        frames,
    };
    let since = query.since.map(NotificationId);
    actix_web::rt::spawn(connection.run(subscription, stream, since, principal.expires_at));
    Ok(response)
}

struct Connection {
    heartbeat: Heartbeat,
    services: Arc<Services>,
    hub: Arc<Hub>,
    session: Session,
    frames: Frames,
}

/// How a connection ended, from the server's side.
enum Close {
    Reason(CloseCode, &'static str),
    Gone,
}

impl Connection {
    async fn send(&mut self, pushed: &Pushed) -> Result<(), Close> {
        let sent = match self.frames {
            Frames::Json => match pushed.json() {
                Some(text) => self.session.text(text.clone()).await,
                None => return Err(Close::Reason(CloseCode::Error, "encoding failed")),
            },
            Frames::MsgPack => match pushed.msgpack() {
                Some(bytes) => self.session.binary(bytes.clone()).await,
                None => return Err(Close::Reason(CloseCode::Error, "encoding failed")),
            },
        };
        sent.map_err(|_| Close::Gone)
    }

    async fn replay(
        &mut self,
        user: UserId,
        since: NotificationId,
    ) -> Result<HashSet<NotificationId>, Close> {
        let mut sent = HashSet::new();
        let failed = |_| Close::Reason(CloseCode::Error, "replay failed");
        let services = self.services.clone();
        let mut after = blocking(move || notifications::position_of(&services, since))
            .await
            .map_err(failed)?;
        loop {
            let services = self.services.clone();
            let step = blocking(move || notifications::replay(&services, user, after, REPLAY_STEP))
                .await
                .map_err(failed)?;
            let count = step.len();
            for (position, n) in step {
                let (id, pushed) = (n.id, Pushed::new(n));
                self.send(&pushed).await?;
                sent.insert(id);
                after = position;
            }
            if count < REPLAY_STEP as usize {
                return Ok(sent);
            }
        }
    }

    async fn run(
        mut self,
        mut sub: Subscription,
        mut stream: actix_ws::MessageStream,
        since: Option<NotificationId>,
        expires_at: DateTime<Utc>,
    ) {
        let outcome = self.serve(&mut sub, &mut stream, since, expires_at).await;
        self.hub.unsubscribe(sub.user, sub.id);
        if let Close::Reason(code, why) = outcome {
            let _ = self
                .session
                .close(Some(CloseReason {
                    code,
                    description: Some(why.to_owned()),
                }))
                .await;
        }
    }

    async fn serve(
        &mut self,
        sub: &mut Subscription,
        stream: &mut actix_ws::MessageStream,
        since: Option<NotificationId>,
        expires_at: DateTime<Utc>,
    ) -> Close {
        let mut replayed = match since {
            Some(since) => match self.replay(sub.user, since).await {
                Ok(sent) => sent,
                Err(close) => return close,
            },
            None => HashSet::new(),
        };
        let until_expiry = (expires_at - Utc::now()).to_std().unwrap_or(Duration::ZERO);
        let expiry = tokio::time::sleep(until_expiry);
        tokio::pin!(expiry);
        let mut ping = tokio::time::interval_at(
            tokio::time::Instant::now() + self.heartbeat.ping_every,
            self.heartbeat.ping_every,
        );
        let mut last_heard = tokio::time::Instant::now();
        loop {
            tokio::select! {
                item = sub.queue.recv() => match item {
                    Some(n) => {
                        // Replayed already: the seam between replay and live.
                        if !replayed.is_empty() && replayed.remove(&n.notification.id) {
                            continue;
                        }
                        if let Err(close) = self.send(&n).await {
                            return close;
                        }
                    }
                    // The hub let go of this connection: revoked, or too far behind.
                    None if *sub.control.borrow() == Some(Ended::SessionRevoked) => {
                        return Close::Reason(CloseCode::Policy, "session revoked");
                    }
                    None if *sub.control.borrow() == Some(Ended::ShuttingDown) => {
                        return Close::Reason(CloseCode::Away, "server shutting down; reconnect with since");
                    }
                    None => return Close::Reason(CloseCode::Again, "fell too far behind; reconnect with since"),
                },
                changed = sub.control.changed() => {
                    match *sub.control.borrow() {
                        Some(Ended::SessionRevoked) => {
                            return Close::Reason(CloseCode::Policy, "session revoked");
                        }
                        Some(Ended::ShuttingDown) => {
                            return Close::Reason(CloseCode::Away, "server shutting down; reconnect with since");
                        }
                        None => {}
                    }
                    if changed.is_err() {
                        // The hub let go without a revocation: too far behind.
                        return Close::Reason(CloseCode::Again, "fell too far behind; reconnect with since");
                    }
                },
                () = &mut expiry => return Close::Reason(CloseCode::Policy, "access token expired"),
                _ = ping.tick() => {
                    if last_heard.elapsed() >= self.heartbeat.silence_limit {
                        return Close::Reason(CloseCode::Away, "no answer to pings");
                    }
                    if self.session.ping(b"").await.is_err() {
                        return Close::Gone;
                    }
                }
                msg = stream.next() => match msg {
                    Some(Ok(Message::Ping(bytes))) => {
                        last_heard = tokio::time::Instant::now();
                        if self.session.pong(&bytes).await.is_err() {
                            return Close::Gone;
                        }
                    }
                    Some(Ok(Message::Close(_))) => return Close::Reason(CloseCode::Normal, "bye"),
                    Some(Ok(_)) => last_heard = tokio::time::Instant::now(),
                    Some(Err(_)) | None => return Close::Gone,
                },
            }
        }
    }
}
