//! Yardsticks for the GET of one event (issue "Performance", goal 2): a minimal HTTP
//! server in the benchmark's process that does what Convene's GET does — verify the
//! JWT, read the caller's live session with the event in one statement, answer the
//! event as JSON with an ETag — in two ways:
//!
//! - `/blocking/…`: the statement as Convene runs it, Diesel on the blocking pool
//!   through the service's use case (`events::get_by_token`), one hand-off per request;
//! - `/async/…`: the same statement, prepared, through `tokio-postgres` on the HTTP
//!   workers themselves (five connections per worker, no hand-off), which DESIGN.md
//!   rules out for Convene ("run every database call inside `web::block`").
//!
//! Neither has Convene's middleware (request ids, logs, metrics, problem documents),
//! so the first tells what that costs and the second what the blocking pool does.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::{Arc, OnceLock};

use actix_web::http::header;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use chrono::{DateTime, SecondsFormat, Utc};
use convene_domain::ids::{EventId, SessionId, UserId};
use convene_service::auth::Credential;
use convene_service::Services;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::BenchResult;

/// The GET's statement (`persistence::events::find_with_role_in_session`).
const GET_EVENT: &str = "
    SELECT e.id, e.owner_id, e.title, e.description, e.start_time, e.end_time,
           e.location, e.version, e.created_at, e.updated_at, e.time_zone, e.recurrence,
           e.transparency, e.exceptions, p.role
    FROM sessions s
    LEFT JOIN events e ON e.id = $3
    LEFT JOIN event_permissions p ON p.event_id = e.id AND p.user_id = s.user_id
    WHERE s.id = $1 AND s.user_id = $2 AND s.revoked_at IS NULL AND s.expires_at > now()";

/// Connections of each HTTP worker of the asynchronous way (two workers: the server's
/// pool of ten).
const PER_WORKER: usize = 5;

/// What every request needs, set once by [`start`].
struct Shared {
    url: String,
    key: jsonwebtoken::DecodingKey,
    validation: jsonwebtoken::Validation,
    services: Arc<Services>,
}

static SHARED: OnceLock<Shared> = OnceLock::new();

type Connections = Rc<Vec<(tokio_postgres::Client, tokio_postgres::Statement)>>;

thread_local! {
    /// The asynchronous way's connections of this HTTP worker, opened on its first
    /// request.
    static CONNECTIONS: RefCell<Option<Connections>> = const { RefCell::new(None) };
    static NEXT: Cell<usize> = const { Cell::new(0) };
}

/// The bases of the two ways, e.g. `http://127.0.0.1:1234/blocking`.
pub struct Probe {
    pub blocking: String,
    pub asynchronous: String,
}

/// Starts the server on its own threads, for the database at `url` and tokens signed
/// with `secret`; it runs until the process ends.
pub fn start(url: &str, secret: &str, pool: u32) -> BenchResult<Probe> {
    let services = convene_bench::services(url, pool).map_err(|e| e.to_string())?;
    let shared = Shared {
        url: url.to_owned(),
        key: jsonwebtoken::DecodingKey::from_secret(secret.as_bytes()),
        validation: jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256),
        services: Arc::new(services),
    };
    SHARED
        .set(shared)
        .map_err(|_| "the probe runs once per process")?;
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let base = format!("http://{}", listener.local_addr()?);
    // The server is built on its own thread: it is not `Send`.
    std::thread::spawn(move || {
        let app = || {
            App::new()
                .route("/blocking/api/events/{id}", web::get().to(blocking))
                .route("/async/api/events/{id}", web::get().to(asynchronous))
        };
        actix_web::rt::System::new().block_on(async move {
            match HttpServer::new(app).workers(2).listen(listener) {
                Ok(server) => server.run().await,
                Err(e) => {
                    eprintln!("the GET probe did not start: {e}");
                    Ok(())
                }
            }
        })
    });
    Ok(Probe {
        blocking: format!("{base}/blocking"),
        asynchronous: format!("{base}/async"),
    })
}

#[derive(Deserialize)]
struct Claims {
    sub: String,
    sid: i64,
}

/// The event as both ways answer it.
#[derive(Serialize)]
struct EventJson {
    id: i64,
    owner_id: i64,
    title: String,
    description: String,
    start_time: String,
    end_time: String,
    location: Option<String>,
    version: i32,
    created_at: String,
    updated_at: String,
    time_zone: String,
    recurrence: Option<String>,
    transparency: String,
    exceptions: Value,
    role: String,
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

fn status(code: u16) -> HttpResponse {
    HttpResponse::build(
        actix_web::http::StatusCode::from_u16(code)
            .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR),
    )
    .finish()
}

fn answer(event: &EventJson) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::ETAG, format!("\"{}\"", event.version)))
        .json(event)
}

/// The caller of a request: the shared state, and the user and session of its token.
fn caller(req: &HttpRequest) -> Option<(&'static Shared, Credential)> {
    let shared = SHARED.get()?;
    let token = req
        .headers()
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")?;
    let claims = jsonwebtoken::decode::<Claims>(token, &shared.key, &shared.validation)
        .ok()?
        .claims;
    let credential = Credential {
        user: UserId(claims.sub.parse().ok()?),
        session_id: SessionId(claims.sid),
        expires_at: Utc::now(),
    };
    Some((shared, credential))
}

/// Convene's way: the use case on the blocking pool.
async fn blocking(req: HttpRequest, path: web::Path<i64>) -> HttpResponse {
    let Some((shared, credential)) = caller(&req) else {
        return status(401);
    };
    let id = EventId(path.into_inner());
    let services = shared.services.clone();
    let found =
        web::block(move || convene_service::events::get_by_token(&services, &credential, id)).await;
    let Ok(Ok(found)) = found else {
        return status(404);
    };
    let (e, content) = (&found.event, &found.event.content);
    answer(&EventJson {
        id: e.id.0,
        owner_id: e.owner.0,
        title: content.title.clone(),
        description: content.description.clone(),
        start_time: rfc3339(content.range.start()),
        end_time: rfc3339(content.range.end()),
        location: content.location.clone(),
        version: e.version.0,
        created_at: rfc3339(e.created_at),
        updated_at: rfc3339(e.updated_at),
        time_zone: content.time_zone.name().to_owned(),
        recurrence: content.recurrence.as_ref().map(|r| r.as_str().to_owned()),
        transparency: content.transparency.as_str().to_owned(),
        exceptions: Value::Array(Vec::new()),
        role: found.role.as_str().to_owned(),
    })
}

/// This worker's connections, opened (and the statement prepared) on first use.
async fn connections(url: &str) -> Result<Connections, tokio_postgres::Error> {
    if let Some(open) = CONNECTIONS.with(|c| c.borrow().clone()) {
        return Ok(open);
    }
    let mut all = Vec::with_capacity(PER_WORKER);
    for _ in 0..PER_WORKER {
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
        actix_web::rt::spawn(connection);
        let statement = client.prepare(GET_EVENT).await?;
        all.push((client, statement));
    }
    let open = Rc::new(all);
    CONNECTIONS.with(|c| *c.borrow_mut() = Some(open.clone()));
    Ok(open)
}

/// The way DESIGN.md rules out: the statement on the HTTP worker, without a hand-off.
async fn asynchronous(req: HttpRequest, path: web::Path<i64>) -> HttpResponse {
    let Some((shared, credential)) = caller(&req) else {
        return status(401);
    };
    let Ok(open) = connections(&shared.url).await else {
        return status(503);
    };
    let turn = NEXT.with(|n| {
        let turn = n.get();
        n.set(turn.wrapping_add(1));
        turn
    });
    let Some((client, statement)) = open.get(turn % open.len().max(1)) else {
        return status(503);
    };
    let (session, user, id) = (
        credential.session_id.0,
        credential.user.0,
        path.into_inner(),
    );
    let row = match client.query_opt(statement, &[&session, &user, &id]).await {
        Ok(Some(row)) => row,
        Ok(None) => return status(401),
        Err(_) => return status(503),
    };
    // `timestamp` columns, read without a time crate feature: the instants are UTC.
    let time = |i: usize| rfc3339(row.get::<_, std::time::SystemTime>(i).into());
    let Some(event_id) = row.get::<_, Option<i64>>(0) else {
        return status(404);
    };
    let owner: i64 = row.get(1);
    let role = match (owner == user, row.get::<_, Option<String>>(14)) {
        (true, _) => "owner".to_owned(),
        (false, Some(role)) => role,
        (false, None) => return status(404),
    };
    answer(&EventJson {
        id: event_id,
        owner_id: owner,
        title: row.get(2),
        description: row.get(3),
        start_time: time(4),
        end_time: time(5),
        location: row.get(6),
        version: row.get(7),
        created_at: time(8),
        updated_at: time(9),
        time_zone: row.get(10),
        recurrence: row.get(11),
        transparency: row.get(12),
        exceptions: serde_json::from_str(row.get::<_, &str>(13)).unwrap_or(Value::Null),
        role,
    })
}
