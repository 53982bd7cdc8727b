//! Black-box test harness: starts the real Convene application on 127.0.0.1:0 against a
//! database of its own (a temporary SQLite file, or a fresh PostgreSQL database created
//! from `TEST_DATABASE_URL` and dropped afterwards) and drives it over HTTP.
//!
//! Every test runs on both backends through [`backend_tests!`], except the few it lists
//! as `postgres_only`, which exist only as PostgreSQL tests. Without
//! `TEST_DATABASE_URL` the PostgreSQL variants return early (saying so on stderr), so
//! `cargo test --workspace` works on a machine without PostgreSQL; with it they fail if
//! PostgreSQL cannot be reached.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod ical;

use std::net::TcpListener;
use std::time::Duration;

use convene_persistence::Backend as DbBackend;
use convene_server::config::Algorithm;
use convene_server::{Application, DatabaseSettings, Settings};
use diesel::{Connection, RunQueryDsl};
use rand::Rng;
use serde_json::{json, Value};

pub use reqwest::StatusCode;

/// The secret every test server signs with (tests forge tokens with it).
pub const TEST_SECRET: &str = "convene-test-secret-0123456789abcdefghijkl";
/// A password that satisfies the rules.
pub const PASSWORD: &str = "correct horse battery";

/// Which database a test runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A temporary SQLite file.
    Sqlite,
    /// A fresh database on the server named by `TEST_DATABASE_URL`.
    Postgres,
}

/// A database that exists for one test and is removed afterwards.
pub enum TestDb {
    /// The directory holding the SQLite file (deleted on drop).
    Sqlite(tempfile::TempDir),
    /// A PostgreSQL database, dropped (connections forced closed) on drop.
    Postgres {
        /// URL of the maintenance database the test database was created from.
        admin_url: String,
        /// The database's name.
        name: String,
        /// URL of the test database itself.
        url: String,
    },
}

impl TestDb {
    /// Creates a database for `backend`; `None` for PostgreSQL without
    /// `TEST_DATABASE_URL`.
    pub fn create(backend: Backend) -> Option<Self> {
        match backend {
            Backend::Sqlite => Some(Self::Sqlite(tempfile::tempdir().expect("temp dir"))),
            Backend::Postgres => {
                let Ok(admin_url) = std::env::var("TEST_DATABASE_URL") else {
                    eprintln!("TEST_DATABASE_URL is not set: skipping the PostgreSQL variant");
                    return None;
                };
                let name = format!(
                    "convene_test_{}_{:016x}",
                    std::process::id(),
                    rand::rng().random::<u64>()
                );
                let mut admin = diesel::PgConnection::establish(&admin_url).unwrap_or_else(|e| {
                    panic!("TEST_DATABASE_URL is set but PostgreSQL is unreachable: {e}")
                });
                diesel::sql_query(format!("CREATE DATABASE {name}"))
                    .execute(&mut admin)
                    .expect("create test database");
                let url = with_database(&admin_url, &name);
                Some(Self::Postgres {
                    admin_url,
                    name,
                    url,
                })
            }
        }
    }

    /// The `DATABASE_URL` of this database.
    pub fn url(&self) -> String {
        match self {
            Self::Sqlite(dir) => format!("sqlite://{}", dir.path().join("convene.db").display()),
            Self::Postgres { url, .. } => url.clone(),
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Self::Postgres {
            admin_url, name, ..
        } = self
        {
            if let Ok(mut admin) = diesel::PgConnection::establish(admin_url) {
                let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut admin);
            }
        }
    }
}

/// `url` with its database name replaced by `name` (query parameters kept). The
/// benchmarks' scratch databases use it too.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let root = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    match query {
        Some(q) => format!("{root}/{name}?{q}"),
        None => format!("{root}/{name}"),
    }
}

/// Settings of a test server: fast bcrypt, no rate limit, a known secret.
pub fn test_settings(database_url: &str) -> Settings {
    Settings {
        database: DatabaseSettings {
            database_url: DbBackend::from_url(database_url).expect("test database url"),
        },
        secret_key: Some(TEST_SECRET.into()),
        algorithm: Algorithm::Hs256,
        access_token_expire_minutes: 30,
        refresh_token_expire_days: 14,
        bind: "127.0.0.1:0".parse().expect("bind"),
        database_pool_size: 5,
        bcrypt_cost: 4,
        auth_rate_limit_per_minute: 0,
        trusted_proxies: Vec::new(),
        database_connect_timeout: 2,
        notification_retention_days: 90,
        session_retention_days: 30,
        retention_interval_seconds: 3600,
        max_grantees_per_event: 100,
        recurrence_horizon_days: 730,
        max_occurrences: 2_000,
        ws_max_connections_per_user: 32,
        ws_max_connections: 20_000,
        rust_log: "warn".into(),
        log_format: convene_server::LogFormat::Text,
    }
}

/// A running test server and a client for it.
pub struct TestApp {
    /// `http://127.0.0.1:PORT`.
    pub address: String,
    /// The HTTP client.
    pub client: reqwest::Client,
    /// The backend in use.
    pub backend: Backend,
    /// The database (dropped after the server's task).
    pub db: TestDb,
}

impl TestApp {
    /// Starts a server on `backend` with default test settings; `None` when the backend
    /// is not available (PostgreSQL without `TEST_DATABASE_URL`).
    pub async fn spawn(backend: Backend) -> Option<Self> {
        Self::spawn_with(backend, |_| {}).await
    }

    /// Starts a server after `adjust` has changed the test settings.
    pub async fn spawn_with(backend: Backend, adjust: impl FnOnce(&mut Settings)) -> Option<Self> {
        let db = TestDb::create(backend)?;
        Some(Self::spawn_on(backend, db, adjust).await)
    }

    /// Starts a server on a database the test prepared (it migrates it at start-up).
    pub async fn spawn_on(
        backend: Backend,
        db: TestDb,
        adjust: impl FnOnce(&mut Settings),
    ) -> Self {
        let mut settings = test_settings(&db.url());
        adjust(&mut settings);
        let address = start(settings).await;
        Self {
            address,
            client: reqwest::Client::new(),
            backend,
            db,
        }
    }

    /// Runs `sql` straight on the database (around the server), on a new connection.
    pub fn execute_sql(&self, sql: &str) -> Result<usize, diesel::result::Error> {
        match DbBackend::from_url(&self.db.url()).expect("test database url") {
            DbBackend::Postgres(url) => diesel::sql_query(sql)
                .execute(&mut diesel::PgConnection::establish(&url).expect("connect")),
            DbBackend::Sqlite(path) => diesel::sql_query(sql).execute(
                &mut diesel::SqliteConnection::establish(&path.to_string_lossy()).expect("open"),
            ),
        }
    }

    /// How many rows `table` holds, read straight from the database.
    pub fn count_rows(&self, table: &str) -> i64 {
        #[derive(diesel::QueryableByName)]
        struct Count {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let sql = format!("SELECT COUNT(*) AS n FROM {table}");
        let count: Count = match DbBackend::from_url(&self.db.url()).expect("test database url") {
            DbBackend::Postgres(url) => diesel::sql_query(sql)
                .get_result(&mut diesel::PgConnection::establish(&url).expect("connect"))
                .expect("count"),
            DbBackend::Sqlite(path) => diesel::sql_query(sql)
                .get_result(
                    &mut diesel::SqliteConnection::establish(&path.to_string_lossy())
                        .expect("open"),
                )
                .expect("count"),
        };
        count.n
    }

    /// This app's use cases, run outside the server on its database with `limits`: for
    /// background work with an injected clock (the horizon task). Notifications they
    /// store reach the inbox; on SQLite they are not pushed live (another process's hub).
    pub fn services(
        &self,
        limits: convene_service::occurrences::RecurrenceLimits,
    ) -> convene_service::Services {
        struct Nowhere;
        impl convene_service::fanout::LiveSink for Nowhere {
            fn deliver(&self, _: &[convene_domain::notification::Notification]) {}
            fn session_revoked(&self, _: convene_domain::ids::SessionId) {}
        }
        let backend = DbBackend::from_url(&self.db.url()).expect("test database url");
        let fanout = match backend {
            DbBackend::Postgres(_) => convene_service::fanout::Fanout::Postgres,
            DbBackend::Sqlite(_) => {
                convene_service::fanout::Fanout::Local(std::sync::Arc::new(Nowhere))
            }
        };
        let database = convene_persistence::db::connect(&backend, 2).expect("connect");
        convene_service::Services::new(
            database,
            convene_service::AuthSettings {
                keys: convene_service::tokens::TokenKeys::new(
                    b"convene-tests-services-0123456789",
                    convene_service::tokens::JwtAlgorithm::Hs256,
                ),
                access_ttl: chrono::Duration::minutes(30),
                refresh_ttl: chrono::Duration::days(14),
                bcrypt_cost: 4,
            },
            fanout,
        )
        .expect("services")
        .with_recurrence(limits)
    }

    /// PostgreSQL: terminates the live listener's connection to this app's database.
    pub fn kill_listener(&self) {
        let TestDb::Postgres {
            admin_url, name, ..
        } = &self.db
        else {
            panic!("a PostgreSQL-only test got a {:?} database", self.backend);
        };
        let mut admin = diesel::PgConnection::establish(admin_url).expect("connect");
        let killed = diesel::sql_query(format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = '{name}' AND application_name = 'convene-listener'"
        ))
        .execute(&mut admin)
        .expect("terminate the listener");
        assert_eq!(killed, 1, "one listener connection");
    }

    /// The absolute URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// A request builder for `method path`.
    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client.request(method, self.url(path))
    }

    /// `GET path` with an optional bearer token.
    pub async fn get(&self, path: &str, token: Option<&str>) -> reqwest::Response {
        let mut req = self.request(reqwest::Method::GET, path);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.expect("request")
    }

    /// `POST path` with a JSON body and an optional bearer token.
    pub async fn post(&self, path: &str, body: &Value, token: Option<&str>) -> reqwest::Response {
        let mut req = self.request(reqwest::Method::POST, path).json(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.expect("request")
    }

    /// Registers `username` (email `username@example.com`, password [`PASSWORD`]).
    pub async fn register(&self, username: &str) -> Value {
        let res = self
            .post(
                "/api/auth/register",
                &json!({"username": username, "email": format!("{username}@example.com"), "password": PASSWORD}),
                None,
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED, "register {username}");
        res.json().await.expect("UserRead")
    }

    /// Logs `username` in and returns the token document.
    pub async fn login(&self, username: &str) -> Value {
        let res = self
            .post(
                "/api/auth/login",
                &json!({"username": username, "password": PASSWORD}),
                None,
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK, "login {username}");
        res.json().await.expect("Token")
    }

    /// Logs `username` in (one more session) and returns its access token.
    pub async fn access_token(&self, username: &str) -> String {
        self.login(username).await["access_token"]
            .as_str()
            .expect("token")
            .to_owned()
    }

    /// Registers and logs in `username`; returns (user id, access token).
    pub async fn user(&self, username: &str) -> (i64, String) {
        let user = self.register(username).await;
        (id_of(&user), self.access_token(username).await)
    }
}

/// Builds the application from `settings` on a random port, spawns it, and waits until
/// it answers; returns its base URL.
pub async fn start(settings: Settings) -> String {
    start_with_heartbeat(settings, convene_http::ws::Heartbeat::default()).await
}

/// Registers `username` with the server at `base` (a URL from [`start`]) and logs in;
/// returns the access token.
pub async fn account_at(base: &str, username: &str) -> String {
    let client = reqwest::Client::new();
    let account = json!({"username": username, "email": format!("{username}@example.com"), "password": PASSWORD});
    let res = client
        .post(format!("{base}/api/auth/register"))
        .json(&account)
        .send()
        .await
        .expect("register");
    assert_eq!(res.status(), StatusCode::CREATED, "register {username}");
    let tokens: Value = client
        .post(format!("{base}/api/auth/login"))
        .json(&account)
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("Token");
    tokens["access_token"].as_str().expect("token").to_owned()
}

/// Like [`start`] with another WebSocket heartbeat timing.
pub async fn start_with_heartbeat(
    settings: Settings,
    heartbeat: convene_http::ws::Heartbeat,
) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind port 0");
    let port = listener.local_addr().expect("addr").port();
    let app = tokio::task::spawn_blocking(move || {
        Application::build_with_heartbeat(&settings, listener, heartbeat)
    })
    .await
    .expect("build task")
    .expect("application starts");
    tokio::spawn(app.run_until(std::future::pending()));
    let address = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    for _ in 0..100 {
        if client
            .get(format!("{address}/healthz"))
            .send()
            .await
            .is_ok()
        {
            return address;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("server on {address} did not come up");
}

/// Asserts `res` is a problem document with `status` and `code`; returns the document.
pub async fn assert_problem(res: reqwest::Response, status: StatusCode, code: &str) -> Value {
    assert_eq!(res.status(), status, "status");
    let content_type = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert_eq!(
        content_type, "application/problem+json",
        "problem content type"
    );
    let body: Value = res.json().await.expect("problem body");
    assert_eq!(body["code"], code, "problem code in {body}");
    assert_eq!(body["status"], status.as_u16(), "problem status in {body}");
    assert_eq!(body["type"], "about:blank");
    assert!(body["title"].is_string() && body["detail"].is_string());
    body
}

/// Generates `mod sqlite` and `mod postgres`, each with one `#[tokio::test]` per named
/// `async fn name(backend: Backend)`.
///
/// Names after `postgres_only:` get only the `postgres::` test: scenarios that exist
/// only with PostgreSQL (several instances on one database, the listener connection),
/// so no SQLite variant passes without testing anything. Like every PostgreSQL variant
/// they return early (saying so on stderr) when `TEST_DATABASE_URL` is not set.
///
/// ```text
/// backend_tests!(
///     works_everywhere,
///     also_everywhere;
///     postgres_only: survives_a_listener_restart,
/// );
/// ```
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {
        $crate::backend_tests!($($name),*; postgres_only:);
    };
    ($($name:ident),* $(,)?; postgres_only: $($pg_name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::Backend::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::Backend::Postgres).await
                }
            )*
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $pg_name() {
                    super::$pg_name($crate::Backend::Postgres).await
                }
            )*
        }
    };
}

/// Starts a test app on `backend`, or returns from the enclosing test when the backend
/// is unavailable.
#[macro_export]
macro_rules! app {
    ($backend:expr) => {
        match $crate::TestApp::spawn($backend).await {
            Some(app) => app,
            None => return,
        }
    };
    ($backend:expr, $adjust:expr) => {
        match $crate::TestApp::spawn_with($backend, $adjust).await {
            Some(app) => app,
            None => return,
        }
    };
}

// ---------------------------------------------------------------------------------------
// Helpers shared by the event, sharing, history and notification tests.
// ---------------------------------------------------------------------------------------

/// `2030-01-01T00:00:00Z` plus `hour` hours, as RFC 3339 UTC (`hour` < 31 × 24).
pub fn slot(hour: u32) -> String {
    assert!(hour < 31 * 24, "slot {hour} is outside January 2030");
    format!("2030-01-{:02}T{:02}:00:00Z", 1 + hour / 24, hour % 24)
}

/// The `id` member of a document (an event, a notification, …) as a number.
pub fn id_of(doc: &Value) -> i64 {
    doc["id"].as_i64().unwrap_or_else(|| panic!("id in {doc}"))
}

/// The `ETag` header of `res`, if any.
pub fn etag(res: &reqwest::Response) -> Option<String> {
    res.headers()
        .get("etag")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

impl TestApp {
    /// `method path` with an optional JSON body, an optional bearer token and extra
    /// headers. Without a body, no body and no `Content-Type` are sent.
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
        token: Option<&str>,
        headers: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut req = self.request(method, path);
        if let Some(b) = body {
            req = req.json(b);
        }
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        req.send().await.expect("request")
    }

    /// `POST path` without a body.
    pub async fn post_empty(&self, path: &str, token: Option<&str>) -> reqwest::Response {
        self.send(reqwest::Method::POST, path, None, token, &[])
            .await
    }

    /// `PUT path` with a JSON body.
    pub async fn put(&self, path: &str, body: &Value, token: Option<&str>) -> reqwest::Response {
        self.send(reqwest::Method::PUT, path, Some(body), token, &[])
            .await
    }

    /// `PATCH path` with a JSON body.
    pub async fn patch(&self, path: &str, body: &Value, token: Option<&str>) -> reqwest::Response {
        self.send(reqwest::Method::PATCH, path, Some(body), token, &[])
            .await
    }

    /// `DELETE path`.
    pub async fn delete(&self, path: &str, token: Option<&str>) -> reqwest::Response {
        self.send(reqwest::Method::DELETE, path, None, token, &[])
            .await
    }

    /// Creates an event `[start, end)` titled `title` as the bearer of `token`; asserts
    /// 201 and returns the `EventRead`.
    pub async fn create_event(&self, token: &str, title: &str, start: &str, end: &str) -> Value {
        let res = self
            .post("/api/events", &event_input(title, start, end), Some(token))
            .await;
        let status = res.status();
        let body: Value = res.json().await.expect("event body");
        assert_eq!(status, StatusCode::CREATED, "create {title}: {body}");
        body
    }

    /// Shares event `event_id` with `user_id` as `role` (owner's `token`); asserts 200.
    pub async fn share(&self, token: &str, event_id: i64, user_id: i64, role: &str) {
        let res = self
            .post(
                &format!("/api/events/{event_id}/share"),
                &json!([{"user_id": user_id, "role": role}]),
                Some(token),
            )
            .await;
        let status = res.status();
        let body: Value = res.json().await.expect("share body");
        assert_eq!(
            status,
            StatusCode::OK,
            "share {event_id} with {user_id}: {body}"
        );
    }

    /// `PATCH /api/events/{id}` with `body` as the bearer of `token`; asserts 200 and
    /// returns the `EventRead`.
    pub async fn patch_event(&self, token: &str, id: i64, body: &Value) -> Value {
        let res = self
            .patch(&format!("/api/events/{id}"), body, Some(token))
            .await;
        let status = res.status();
        let read: Value = res.json().await.expect("event body");
        assert_eq!(
            status,
            StatusCode::OK,
            "PATCH event {id} with {body}: {read}"
        );
        read
    }

    /// `DELETE /api/events/{id}/occurrences/{recurrence_id}` as the bearer of `token`:
    /// cancels one occurrence of a series; asserts 204.
    pub async fn cancel_occurrence(&self, token: &str, id: i64, recurrence_id: &str) {
        let path = format!("/api/events/{id}/occurrences/{recurrence_id}");
        let res = self.delete(&path, Some(token)).await;
        assert_eq!(res.status(), StatusCode::NO_CONTENT, "DELETE {path}");
    }

    /// `PATCH /api/events/{id}/occurrences/{recurrence_id}` with `body` as the bearer of
    /// `token`: moves or edits one occurrence; asserts 200.
    pub async fn patch_occurrence(&self, token: &str, id: i64, recurrence_id: &str, body: &Value) {
        let path = format!("/api/events/{id}/occurrences/{recurrence_id}");
        let res = self.patch(&path, body, Some(token)).await;
        assert_eq!(res.status(), StatusCode::OK, "PATCH {path} with {body}");
    }

    /// `GET path` as the bearer of `token`; asserts 200 and returns the JSON body.
    pub async fn get_ok(&self, path: &str, token: &str) -> Value {
        let res = self.get(path, Some(token)).await;
        let status = res.status();
        let body: Value = res.json().await.expect("json body");
        assert_eq!(status, StatusCode::OK, "GET {path}: {body}");
        body
    }
}

/// `s` percent-encoded for a URL query value (everything but unreserved characters).
pub fn query_escape(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A sort key for an RFC 3339 UTC timestamp as the server writes it (`…Z` with 0–9
/// fractional digits): plain string comparison would put `…00Z` after `…00.5Z`.
pub fn ts_key(ts: &str) -> String {
    let body = ts
        .strip_suffix('Z')
        .unwrap_or_else(|| panic!("UTC timestamp: {ts}"));
    let (secs, frac) = body.split_once('.').unwrap_or((body, ""));
    format!("{secs}.{frac:0<9}")
}

/// Asserts `doc` is an object with exactly the members `keys` (`what` names the schema).
pub fn assert_members(doc: &Value, keys: &[&str], what: &str) {
    let found: std::collections::BTreeSet<&str> = doc
        .as_object()
        .unwrap_or_else(|| panic!("{what} is not an object: {doc}"))
        .keys()
        .map(String::as_str)
        .collect();
    let expected: std::collections::BTreeSet<&str> = keys.iter().copied().collect();
    assert_eq!(found, expected, "{what} members of {doc}");
}

// ---------------------------------------------------------------------------------------
// Events: documents, field errors, listings, batches, races.
// ---------------------------------------------------------------------------------------

/// The members of an `EventRead`.
pub const EVENT_KEYS: [&str; 14] = [
    "id",
    "title",
    "description",
    "start_time",
    "end_time",
    "location",
    "owner_id",
    "version",
    "created_at",
    "updated_at",
    "role",
    "time_zone",
    "recurrence",
    "transparency",
];

/// Asserts `event` has exactly the `EventRead` members with UTC timestamps.
pub fn assert_event_read(event: &Value) {
    assert_members(event, &EVENT_KEYS, "EventRead");
    for ts in ["start_time", "end_time", "created_at", "updated_at"] {
        let s = event[ts]
            .as_str()
            .unwrap_or_else(|| panic!("{ts} in {event}"));
        assert!(s.ends_with('Z') && &s[10..11] == "T", "{ts} = {s}");
    }
    assert!(id_of(event) > 0);
    assert!(event["version"].as_i64().unwrap() >= 1);
}

/// The ids of `items`, in order.
pub fn ids(items: &[Value]) -> Vec<i64> {
    items.iter().map(id_of).collect()
}

/// The body of one event to create: `title` over `[start, end)`.
pub fn event_input(title: &str, start: &str, end: &str) -> Value {
    json!({"title": title, "start_time": start, "end_time": end})
}

/// `(index, field)` of every entry of a problem's `errors`, sorted; asserts each has a
/// message.
pub fn field_errors(problem: &Value) -> Vec<(Option<i64>, String)> {
    let mut out: Vec<(Option<i64>, String)> = problem["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("errors in {problem}"))
        .iter()
        .map(|e| {
            assert!(
                e["message"].as_str().is_some_and(|m| !m.is_empty()),
                "message in {e}"
            );
            (e["index"].as_i64(), e["field"].as_str().unwrap().to_owned())
        })
        .collect();
    out.sort();
    out
}

/// What [`field_errors`] returns for errors on `list` (no batch index), sorted.
pub fn fields(list: &[&str]) -> Vec<(Option<i64>, String)> {
    let mut out: Vec<(Option<i64>, String)> =
        list.iter().map(|f| (None, (*f).to_owned())).collect();
    out.sort();
    out
}

/// Walks a keyset-paginated listing: `GET path`, then `path&cursor=…` with each page's
/// `next_cursor` until a page has none.
pub struct Pages {
    path: String,
    cursor: Option<String>,
    done: bool,
    fetched: usize,
    max_pages: usize,
}

impl Pages {
    /// The pages of `path` (which has a query, and no `cursor` in it); the test fails
    /// when a listing would go on for more than `max_pages` pages.
    pub fn new(path: impl Into<String>, max_pages: usize) -> Self {
        Self {
            path: path.into(),
            cursor: None,
            done: false,
            fetched: 0,
            max_pages,
        }
    }

    /// The next page as the bearer of `token` (asserting 200), or `None` after the last.
    pub async fn next(&mut self, app: &TestApp, token: &str) -> Option<Value> {
        if self.done {
            return None;
        }
        let path = match &self.cursor {
            None => self.path.clone(),
            Some(c) => format!("{}&cursor={}", self.path, query_escape(c)),
        };
        let page = app.get_ok(&path, token).await;
        self.fetched += 1;
        match &page["next_cursor"] {
            Value::Null => self.done = true,
            Value::String(c) => {
                assert!(
                    self.fetched < self.max_pages,
                    "pagination of {} does not end",
                    self.path
                );
                self.cursor = Some(c.clone());
            }
            other => panic!("next_cursor must be a string or null: {other}"),
        }
        Some(page)
    }

    /// Every item of every remaining page, and the number of items on each page.
    pub async fn items(mut self, app: &TestApp, token: &str) -> (Vec<Value>, Vec<usize>) {
        let mut items = Vec::new();
        let mut sizes = Vec::new();
        while let Some(page) = self.next(app, token).await {
            let batch = page["items"].as_array().expect("items");
            sizes.push(batch.len());
            items.extend(batch.iter().cloned());
        }
        (items, sizes)
    }

    /// How many pages have been fetched.
    pub fn fetched(&self) -> usize {
        self.fetched
    }
}

/// Follows `next_cursor` from the first page of `GET /api/events?limit={limit}&{query}`
/// (`query` without `cursor`) and returns every item plus the number of pages.
pub async fn list_events(
    app: &TestApp,
    token: &str,
    query: &str,
    limit: u32,
) -> (Vec<Value>, usize) {
    let mut path = format!("/api/events?limit={limit}");
    if !query.is_empty() {
        path.push('&');
        path.push_str(query);
    }
    let mut pages = Pages::new(path, 1000);
    let mut items = Vec::new();
    while let Some(page) = pages.next(app, token).await {
        let obj = page.as_object().unwrap();
        assert_eq!(obj.len(), 2, "only items and next_cursor: {page}");
        let batch = page["items"].as_array().unwrap();
        assert!(batch.len() <= limit as usize, "page over the limit");
        if page["next_cursor"].is_string() {
            assert!(!batch.is_empty(), "a page with a cursor has items");
        }
        items.extend(batch.iter().cloned());
    }
    (items, pages.fetched())
}

/// The ids of every event `GET /api/events?{query}` lists, in order.
pub async fn list_event_ids(app: &TestApp, token: &str, query: &str) -> Vec<i64> {
    ids(&list_events(app, token, query, 200).await.0)
}

impl TestApp {
    /// `POST /api/events` with `body` as the bearer of `token`, status unchecked.
    pub async fn create_event_raw(&self, token: &str, body: Value) -> reqwest::Response {
        self.post("/api/events", &body, Some(token)).await
    }

    /// `POST /api/events/batch` of `events` as the bearer of `token`, status unchecked.
    pub async fn post_batch(&self, token: &str, events: Vec<Value>) -> reqwest::Response {
        self.post("/api/events/batch", &json!({"events": events}), Some(token))
            .await
    }

    /// `method path` with an optional JSON body and `If-Match: tag` as the bearer of
    /// `token`.
    pub async fn send_if_match(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
        token: &str,
        tag: &str,
    ) -> reqwest::Response {
        self.send(method, path, body, Some(token), &[("if-match", tag)])
            .await
    }
}

/// A TCP proxy on 127.0.0.1 in front of another address, that a test can cut (every
/// connection dropped, new ones refused) and restore on the same port: a database
/// outage without touching the database.
pub struct TcpProxy {
    port: u16,
    target: std::net::SocketAddr,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl TcpProxy {
    /// A running proxy to `target`.
    pub async fn start(target: std::net::SocketAddr) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind proxy");
        let port = listener.local_addr().expect("proxy addr").port();
        let mut proxy = Self {
            port,
            target,
            task: None,
        };
        proxy.task = Some(tokio::spawn(Self::serve(listener, target)));
        proxy
    }

    /// Its port.
    pub fn port(&self) -> u16 {
        self.port
    }

    async fn serve(listener: tokio::net::TcpListener, target: std::net::SocketAddr) {
        let mut links = tokio::task::JoinSet::new();
        while let Ok((mut client, _)) = listener.accept().await {
            links.spawn(async move {
                if let Ok(mut server) = tokio::net::TcpStream::connect(target).await {
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                }
            });
        }
        // Dropping the set aborts every link.
    }

    /// Cuts every connection and refuses new ones.
    pub fn cut(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }

    /// Serves again on the same port.
    pub async fn restore(&mut self) {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", self.port))
            .await
            .expect("rebind proxy");
        self.task = Some(tokio::spawn(Self::serve(listener, self.target)));
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.cut();
    }
}

/// `url` with its host and port replaced by `127.0.0.1:port`.
pub fn with_port(url: &str, port: u16) -> String {
    let scheme_end = url.find("://").map_or(0, |i| i + 3);
    let rest = &url[scheme_end..];
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let userinfo = authority.rfind('@').map_or("", |i| &authority[..=i]);
    format!(
        "{}{userinfo}127.0.0.1:{port}{}",
        &url[..scheme_end],
        &rest[authority_end..]
    )
}

/// The claims of a JWT, read without checking its signature.
pub fn claims_of(token: &str) -> Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).expect("a JWT has a payload");
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .expect("base64url"),
    )
    .expect("JSON claims")
}

/// Sends `requests` all at once; returns each `(status, JSON body or null)` in request
/// order.
pub async fn race(requests: Vec<reqwest::RequestBuilder>) -> Vec<(StatusCode, Value)> {
    let handles: Vec<_> = requests
        .into_iter()
        .map(|req| {
            tokio::spawn(async move {
                let res = req.send().await.unwrap();
                let status = res.status();
                let body: Value = res.json().await.unwrap_or(Value::Null);
                (status, body)
            })
        })
        .collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_is_replaced() {
        assert_eq!(
            with_port(
                "postgres://postgres@127.0.0.1:5432/db?sslmode=disable",
                7000
            ),
            "postgres://postgres@127.0.0.1:7000/db?sslmode=disable"
        );
        assert_eq!(
            with_port("postgres://localhost/db", 7000),
            "postgres://127.0.0.1:7000/db"
        );
    }

    #[test]
    fn database_name_is_replaced() {
        assert_eq!(
            with_database("postgres://u@h:5432/test", "x"),
            "postgres://u@h:5432/x"
        );
        assert_eq!(
            with_database("postgres://u@h/test?sslmode=disable", "x"),
            "postgres://u@h/x?sslmode=disable"
        );
        assert_eq!(with_database("postgres://h", "x"), "postgres://h/x");
    }
}
