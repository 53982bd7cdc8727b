//! Throughput and latency through HTTP, against the database's own limit (issue
//! "Performance", goals 1, 2 and 4).
//!
//! Builds the release `convene` binary and starts it as a child process, on a fresh
//! PostgreSQL database (`BENCH_DATABASE_URL`, default
//! `postgres://postgres@127.0.0.1:5432/test`; skipped with a message when it does not
//! answer) and on a fresh SQLite file. Keep-alive clients (one user, as a calendar
//! client would be) then run, each for [`RUN`] after [`WARMUP`]:
//!
//! - `create` at 16 and 64 concurrent clients, every create in its own free slot;
//! - `update` (a title change of the client's own event) at 16;
//! - `GET` of one event at 16; the event list (`limit=50`) at 16;
//! - `GET /healthz` at 16: HTTP alone, the ceiling of the rows above on this machine.
//!
//! On PostgreSQL the same run measures the database's limit for the same work: the
//! statements a create (and a title update) runs — the session lookup, the inserts, the
//! `NOTIFY`, the occurrence (whose trigger takes the calendar lock and is the conflict
//! check) — as prepared statements, one round trip each, on 16 connections and on as many as the
//! server's pool (10; the better counts), without HTTP; for a GET, a prepared point read
//! of the event (the goal's yardstick), and in a note the GET's own statement (session
//! and event in one query), both at 16. It prints one table (requests per second, p50,
//! p99, the limit and its p99, ratio to the limit) and checks the goals: create and
//! update at 16 ≥ 70 % of their limit, create p99 ≤ 25 ms, create at 64 no lower than
//! at 16; GET ≥ 50 % of a prepared point read, p99 ≤ 10 ms; SQLite writes p99 ≤ 50 ms
//! at 16. The process exits non-zero when a goal is missed. Loopback only.
//!
//! Lists against the size of other users' data: `--bench lists`.
//!
//! Run with `cargo bench -p convene-bench --bench http`; `CONVENE_BIN=path/to/convene`
//! measures another build of the server (an earlier version, say) with the same clients.

use std::error::Error;
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use convene_bench::{ScratchDb, Summary};
use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};
use serde_json::{json, Value};

type BenchResult<T> = Result<T, Box<dyn Error + Send + Sync>>;

const WARMUP: Duration = Duration::from_secs(1);
const RUN: Duration = Duration::from_secs(5);
const SECRET: &str = "convene-http-benchmark-secret-0123456789";
/// The server's connection pool (`DATABASE_POOL_SIZE`, its default).
const SERVER_POOL: usize = 10;

/// Where the workspace keeps its build output.
fn target_dir() -> std::path::PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"),
        Into::into,
    )
}

/// Builds the release server and returns its path; `CONVENE_BIN` names another build
/// of it instead (to compare two versions).
fn build_server() -> BenchResult<std::path::PathBuf> {
    if let Some(binary) = std::env::var_os("CONVENE_BIN") {
        return Ok(binary.into());
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args([
            "build",
            "--quiet",
            "--release",
            "-p",
            "convene-server",
            "--bin",
            "convene",
        ])
        .status()?;
    if !status.success() {
        return Err("building the release server failed".into());
    }
    Ok(target_dir().join("release/convene"))
}

/// A server child process, killed on drop.
struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> BenchResult<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

async fn start(binary: &std::path::Path, database_url: &str) -> BenchResult<Server> {
    let port = free_port()?;
    let child = Command::new(binary)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("DATABASE_URL", database_url)
        .env("SECRET_KEY", SECRET)
        .env("BIND", format!("127.0.0.1:{port}"))
        .env("BCRYPT_COST", "4")
        .env("AUTH_RATE_LIMIT_PER_MINUTE", "0")
        .env("DATABASE_POOL_SIZE", SERVER_POOL.to_string())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()?;
    let server = Server {
        child,
        base: format!("http://127.0.0.1:{port}"),
    };
    let client = reqwest::Client::new();
    let started = Instant::now();
    loop {
        if let Ok(res) = client.get(format!("{}/healthz", server.base)).send().await {
            if res.status().is_success() {
                return Ok(server);
            }
        }
        if started.elapsed() > Duration::from_secs(30) {
            return Err("the server did not start".into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// One measured scenario.
struct Measured {
    rps: f64,
    latency: Summary,
}

/// Runs `clients` keep-alive clients for [`WARMUP`] then [`RUN`]; each calls `request`
/// with its client index and a sequence number unique across clients, and reports
/// whether the answer was the expected one.
async fn drive<F, Fut>(clients: usize, request: F) -> BenchResult<Measured>
where
    F: Fn(usize, u64) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = BenchResult<()>> + Send,
{
    let request = Arc::new(request);
    let sequence = Arc::new(AtomicU64::new(0));
    let begin = Instant::now() + WARMUP;
    let end = begin + RUN;
    let tasks: Vec<_> = (0..clients)
        .map(|c| {
            let (request, sequence) = (request.clone(), sequence.clone());
            tokio::spawn(async move {
                let mut samples = Vec::new();
                loop {
                    let started = Instant::now();
                    if started >= end {
                        return Ok::<_, String>(samples);
                    }
                    let n = sequence.fetch_add(1, Ordering::Relaxed);
                    request(c, n).await.map_err(|e| e.to_string())?;
                    if started >= begin {
                        samples.push(started.elapsed());
                    }
                }
            })
        })
        .collect();
    let mut samples = Vec::new();
    for task in tasks {
        samples.extend(task.await??);
    }
    Ok(Measured {
        rps: samples.len() as f64 / RUN.as_secs_f64(),
        latency: Summary::of(&samples).ok_or("no samples")?,
    })
}

/// A user with `events` events of their own, through the API.
struct Session {
    client: reqwest::Client,
    base: String,
    token: String,
    events: Vec<i64>,
}

/// The start of slot `n`: an hour each from 2040, so that no two creates conflict.
fn slot(n: u64) -> (String, String) {
    let start = chrono::DateTime::parse_from_rfc3339("2040-01-01T00:00:00Z")
        .unwrap_or_default()
        .to_utc()
        + chrono::Duration::hours(i64::try_from(n).unwrap_or(0));
    let end = start + chrono::Duration::minutes(30);
    (start.to_rfc3339(), end.to_rfc3339())
}

/// Slots taken before the measured creates (the setup's events): creates start after.
const SETUP_SLOTS: u64 = 1_000_000;

async fn session(server: &Server, events: usize) -> BenchResult<Session> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(128)
        .build()?;
    let body = json!({"username": "bench", "email": "bench@example.com",
                      "password": "benchmark-password"});
    let res = client
        .post(format!("{}/api/auth/register", server.base))
        .json(&body)
        .send()
        .await?;
    if !res.status().is_success() {
        return Err(format!("register: {}", res.status()).into());
    }
    let login: Value = client
        .post(format!("{}/api/auth/login", server.base))
        .json(&json!({"username": "bench", "password": "benchmark-password"}))
        .send()
        .await?
        .json()
        .await?;
    let token = login["access_token"]
        .as_str()
        .ok_or("no access token")?
        .to_owned();
    let mut ids = Vec::new();
    for n in 0..events {
        let (start, end) = slot(n as u64);
        let created: Value = client
            .post(format!("{}/api/events", server.base))
            .bearer_auth(&token)
            .json(&json!({"title": format!("setup {n}"), "start_time": start, "end_time": end}))
            .send()
            .await?
            .json()
            .await?;
        ids.push(created["id"].as_i64().ok_or("no id")?);
    }
    Ok(Session {
        client,
        base: server.base.clone(),
        token,
        events: ids,
    })
}

async fn expect(res: reqwest::Response, status: u16) -> BenchResult<()> {
    let got = res.status();
    if got.as_u16() == status {
        // Read the body: the connection is then reused.
        res.bytes().await?;
        Ok(())
    } else {
        Err(format!("expected {status}, got {got}: {}", res.text().await?).into())
    }
}

/// The HTTP scenarios, in table order.
const SCENARIOS: [(&str, usize); 6] = [
    ("create", 16),
    ("create", 64),
    ("update", 16),
    ("GET one", 16),
    ("list (limit 50)", 16),
    // No database, no token: what these clients and the HTTP stack reach on this
    // machine, the ceiling of every other row (the clients share its cores).
    (HTTP_ONLY, 16),
];

/// The scenario that measures HTTP alone (`GET /healthz`).
const HTTP_ONLY: &str = "HTTP /healthz";

async fn http_scenarios(server: &Server) -> BenchResult<Vec<Measured>> {
    let s = Arc::new(session(server, 64).await?);
    let slots = Arc::new(AtomicU64::new(SETUP_SLOTS));
    let mut out = Vec::new();
    for (name, clients) in SCENARIOS {
        let s = s.clone();
        let slots = slots.clone();
        let measured = drive(clients, move |c, n| {
            let s = s.clone();
            let slot = slots.fetch_add(1, Ordering::Relaxed);
            async move {
                let (request, status) = match name {
                    "create" => {
                        let (start, end) = self::slot(slot);
                        let body = json!({"title": "bench", "start_time": start, "end_time": end});
                        (
                            s.client.post(format!("{}/api/events", s.base)).json(&body),
                            201,
                        )
                    }
                    "update" => {
                        let url = format!("{}/api/events/{}", s.base, s.events[c]);
                        let body = json!({"title": format!("update {n}")});
                        (s.client.patch(url).json(&body), 200)
                    }
                    "GET one" => {
                        let url = format!("{}/api/events/{}", s.base, s.events[c]);
                        (s.client.get(url), 200)
                    }
                    HTTP_ONLY => {
                        let res = s.client.get(format!("{}/healthz", s.base)).send().await?;
                        return expect(res, 200).await;
                    }
                    _ => (s.client.get(format!("{}/api/events?limit=50", s.base)), 200),
                };
                expect(request.bearer_auth(&s.token).send().await?, status).await
            }
        })
        .await?;
        out.push(measured);
    }
    Ok(out)
}

/// The database's limit for the statements a request runs: `clients` threads, each on
/// its own connection with the statements prepared, each running `work` (given the
/// connection, its index and a unique sequence number) for [`WARMUP`] then [`RUN`].
fn raw_limit(
    url: &str,
    clients: usize,
    prepare: &str,
    work: impl Fn(&mut PgConnection, usize, u64) -> BenchResult<()> + Sync,
) -> BenchResult<Measured> {
    let sequence = AtomicU64::new(0);
    let begin = Instant::now() + WARMUP;
    let end = begin + RUN;
    let samples = std::thread::scope(|scope| -> BenchResult<Vec<Duration>> {
        let threads: Vec<_> = (0..clients)
            .map(|c| {
                let (work, sequence) = (&work, &sequence);
                scope.spawn(move || -> Result<Vec<Duration>, String> {
                    let mut conn = PgConnection::establish(url).map_err(|e| e.to_string())?;
                    conn.batch_execute(prepare).map_err(|e| e.to_string())?;
                    let mut samples = Vec::new();
                    loop {
                        let started = Instant::now();
                        if started >= end {
                            return Ok(samples);
                        }
                        let n = sequence.fetch_add(1, Ordering::Relaxed);
                        work(&mut conn, c, n).map_err(|e| e.to_string())?;
                        if started >= begin {
                            samples.push(started.elapsed());
                        }
                    }
                })
            })
            .collect();
        let mut all = Vec::new();
        for thread in threads {
            all.extend(thread.join().map_err(|_| "a raw client panicked")??);
        }
        Ok(all)
    })?;
    Ok(Measured {
        rps: samples.len() as f64 / RUN.as_secs_f64(),
        latency: Summary::of(&samples).ok_or("no samples")?,
    })
}

/// The statements of an authenticated request and of a create and an update, as the
/// server runs them (see `persistence::sessions::active_user`, `events::insert_many`,
/// `occurrences`, `versions`, `notifications`, `live::notify`).
const PREPARE: &str = "
    PREPARE principal(bigint, bigint) AS
        SELECT u.id, u.username, u.email, u.password_hash, u.created_at
        FROM sessions s JOIN users u ON u.id = s.user_id
        WHERE s.id = $1 AND s.user_id = $2 AND s.revoked_at IS NULL AND s.expires_at > now();
    PREPARE insert_event(bigint, text, timestamp, timestamp) AS
        INSERT INTO events (owner_id, title, description, start_time, end_time, location,
                            version, created_at, updated_at, time_zone, recurrence,
                            transparency, exceptions, series_start, series_end)
        VALUES ($1, $2, '', $3, $4, NULL, 1, now(), now(), 'UTC', NULL, 'opaque', '[]', $3, $4)
        RETURNING *;
    PREPARE insert_occurrence(bigint, bigint, timestamp, timestamp) AS
        INSERT INTO occurrences (event_id, recurrence_id, owner_id, start_time, end_time)
        VALUES ($1, $3, $2, $3, $4);
    PREPARE insert_version(bigint, int, text, timestamp, timestamp, text, bigint) AS
        INSERT INTO event_versions (event_id, version, title, description, start_time,
                                    end_time, location, change, restored_from, changed_by,
                                    changed_at, time_zone, recurrence, transparency, exceptions)
        VALUES ($1, $2, $3, '', $4, $5, NULL, $6, NULL, $7, now(), 'UTC', NULL, 'opaque', '[]');
    PREPARE insert_notification(bigint, text, bigint) AS
        INSERT INTO notifications (user_id, kind, event_id, actor_id, message, data, is_read,
                                   created_at)
        VALUES ($1, $2, $3, $1, 'bench', '{}', false, now()) RETURNING id;
    PREPARE announce(text) AS SELECT pg_notify('convene_live', $1)::text;
    PREPARE find_event(bigint, bigint) AS
        SELECT e.*, p.role FROM events e
        LEFT JOIN event_permissions p ON p.event_id = e.id AND p.user_id = $2
        WHERE e.id = $1;
    PREPARE update_event(bigint, text) AS
        UPDATE events SET title = $2, version = version + 1, updated_at = now()
        WHERE id = $1 RETURNING *;
    PREPARE grantees(bigint) AS SELECT user_id FROM event_permissions WHERE event_id = $1;
    PREPARE point_read(bigint) AS SELECT * FROM events WHERE id = $1;
    PREPARE get_event(bigint, bigint, bigint) AS
        SELECT e.*, p.role FROM sessions s
        LEFT JOIN events e ON e.id = $3
        LEFT JOIN event_permissions p ON p.event_id = e.id AND p.user_id = s.user_id
        WHERE s.id = $1 AND s.user_id = $2 AND s.revoked_at IS NULL AND s.expires_at > now();
    PREPARE insert_current_version(bigint, bigint) AS
        INSERT INTO event_versions (event_id, version, title, description, start_time,
                                    end_time, location, change, restored_from, changed_by,
                                    changed_at, time_zone, recurrence, transparency, exceptions)
        SELECT id, version, title, description, start_time, end_time, location, 'updated',
               NULL, $2, now(), time_zone, recurrence, transparency, exceptions
        FROM events WHERE id = $1;
";

/// Runs `script`'s statements (one per line) one round trip each, as the server sends
/// them.
fn statements(conn: &mut PgConnection, script: &str) -> BenchResult<()> {
    for statement in script.lines().map(str::trim).filter(|l| !l.is_empty()) {
        conn.batch_execute(statement)?;
    }
    Ok(())
}

/// The raw limits: create and update at 16, a prepared point read at 16 (goal 2's
/// yardstick), and the one statement a GET of one event runs (`persistence::events::
/// find_with_role_in_session`: the session checked as the event is read) at 16.
fn raw_limits(url: &str, user: i64, session: i64, events: &[i64]) -> BenchResult<[Measured; 4]> {
    let slots = AtomicU64::new(2 * SETUP_SLOTS);
    let create_work = |conn: &mut PgConnection, _: usize, _: u64| {
        let (start, end) = slot(slots.fetch_add(1, Ordering::Relaxed));
        let (start, end) = (&start[..19], &end[..19]);
        statements(
            conn,
            &format!(
                "EXECUTE principal({session}, {user});
                 BEGIN;
                 EXECUTE insert_event({user}, 'bench', '{start}', '{end}');
                 EXECUTE insert_version(currval('events_id_seq'), 1, 'bench', '{start}', '{end}', 'created', {user});
                 EXECUTE insert_notification({user}, 'event_created', currval('events_id_seq'));
                 EXECUTE announce('n:' || currval('notifications_id_seq'));
                 EXECUTE insert_occurrence(currval('events_id_seq'), {user}, '{start}', '{end}');
                 COMMIT;"
            ),
        )
    };
    let update_work = |conn: &mut PgConnection, c: usize, n: u64| {
        let id = events[c];
        statements(
            conn,
            &format!(
                "EXECUTE principal({session}, {user});
                 BEGIN;
                 EXECUTE find_event({id}, {user});
                 EXECUTE update_event({id}, 'raw {n}');
                 EXECUTE insert_current_version({id}, {user});
                 EXECUTE grantees({id});
                 EXECUTE insert_notification({user}, 'event_updated', {id});
                 EXECUTE announce('n:' || currval('notifications_id_seq'));
                 COMMIT;"
            ),
        )
    };
    // The limit is the better of 16 connections and the server's pool: with one user,
    // fewer transactions queueing on the calendar lock can be faster.
    let best = |work: &(dyn Fn(&mut PgConnection, usize, u64) -> BenchResult<()> + Sync)| {
        let at16 = raw_limit(url, 16, PREPARE, work)?;
        let at_pool = raw_limit(url, SERVER_POOL, PREPARE, work)?;
        Ok::<_, Box<dyn Error + Send + Sync>>(if at_pool.rps > at16.rps {
            at_pool
        } else {
            at16
        })
    };
    let create = best(&create_work)?;
    let update = best(&update_work)?;
    let read = raw_limit(url, 16, PREPARE, |conn, c, _| {
        conn.batch_execute(&format!("EXECUTE point_read({})", events[c]))?;
        Ok(())
    })?;
    let get = raw_limit(url, 16, PREPARE, |conn, c, _| {
        let id = events[c];
        conn.batch_execute(&format!("EXECUTE get_event({session}, {user}, {id})"))?;
        Ok(())
    })?;
    Ok([create, update, read, get])
}

/// The ids the raw limits need: the bench user's, its session's, its events'.
fn bench_ids(url: &str) -> BenchResult<(i64, i64, Vec<i64>)> {
    #[derive(diesel::QueryableByName)]
    struct Id {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        id: i64,
    }
    let mut conn = PgConnection::establish(url)?;
    let one = |conn: &mut PgConnection, sql: &str| -> BenchResult<Vec<i64>> {
        use diesel::RunQueryDsl;
        let rows: Vec<Id> = diesel::sql_query(sql).load(conn)?;
        Ok(rows.into_iter().map(|r| r.id).collect())
    };
    let user = one(&mut conn, "SELECT id FROM users WHERE username = 'bench'")?;
    let session = one(&mut conn, "SELECT max(id) AS id FROM sessions")?;
    let events = one(
        &mut conn,
        "SELECT id FROM events WHERE title LIKE 'setup %' ORDER BY id",
    )?;
    match (user.first(), session.first()) {
        (Some(&u), Some(&s)) => Ok((u, s, events)),
        _ => Err("the bench user is missing".into()),
    }
}

fn print_row(backend: &str, name: &str, clients: usize, m: &Measured, limit: Option<&Measured>) {
    let ratio = limit.map_or(String::from("–"), |l| {
        format!("{:.0} %", 100.0 * m.rps / l.rps)
    });
    let limit_p99 = limit.map_or(String::from("–"), |l| {
        format!("{:.2}", l.latency.p99_us / 1000.0)
    });
    let limit = limit.map_or(String::from("–"), |l| format!("{:.0}", l.rps));
    println!(
        "{backend:<10} {name:<16} {clients:>3} {:>8.0} {:>8.2} {:>8.2} {limit:>9} {limit_p99:>9} {ratio:>7}",
        m.rps,
        m.latency.median_us / 1000.0,
        m.latency.p99_us / 1000.0,
    );
}

struct Goal {
    what: String,
    met: bool,
}

async fn run(admin_url: &str) -> BenchResult<bool> {
    let binary = build_server()?;
    println!("Convene HTTP benchmark (release server as a child process, one user, loopback)");
    println!(
        "{} s per scenario after {} s warm-up",
        RUN.as_secs(),
        WARMUP.as_secs()
    );
    println!();
    println!(
        "{:<10} {:<16} {:>3} {:>8} {:>8} {:>8} {:>9} {:>9} {:>7}",
        "backend", "scenario", "c", "rps", "p50 ms", "p99 ms", "limit rps", "limit p99", "ratio"
    );
    let mut goals = Vec::new();
    let mut notes: Vec<String> = Vec::new();

    // PostgreSQL, when it answers.
    match ScratchDb::create(admin_url) {
        Err(e) => println!("postgresql: skipped ({e}); set BENCH_DATABASE_URL"),
        Ok(db) => {
            let server = start(&binary, db.url()).await?;
            let http = http_scenarios(&server).await?;
            // The server stops first: its listener would answer the raw runs' NOTIFYs.
            drop(server);
            let (user, session, events) = bench_ids(db.url())?;
            let url = db.url().to_owned();
            let limits =
                tokio::task::spawn_blocking(move || raw_limits(&url, user, session, &events))
                    .await??;
            let [create_limit, update_limit, read_limit, get_limit] = &limits;
            for ((name, clients), m) in SCENARIOS.iter().zip(&http) {
                let limit = match (*name, clients) {
                    ("create", 16) => Some(create_limit),
                    ("update", _) => Some(update_limit),
                    ("GET one", _) => Some(read_limit),
                    _ => None,
                };
                print_row("postgresql", name, *clients, m, limit);
            }
            let [create16, create64, update16, get16, _, http_only] = &http[..] else {
                return Err("scenarios missing".into());
            };
            goals.push(Goal {
                what: format!(
                    "PostgreSQL create c16 ≥ 70 % of its limit ({:.0} %)",
                    100.0 * create16.rps / create_limit.rps
                ),
                met: create16.rps >= 0.7 * create_limit.rps,
            });
            goals.push(Goal {
                what: format!(
                    "PostgreSQL create c16 p99 ≤ 25 ms ({:.1} ms)",
                    create16.latency.p99_us / 1000.0
                ),
                met: create16.latency.p99_us <= 25_000.0,
            });
            goals.push(Goal {
                what: format!(
                    "PostgreSQL create c64 no lower than c16 ({:.0} vs {:.0} rps, 5 % noise)",
                    create64.rps, create16.rps
                ),
                met: create64.rps >= 0.95 * create16.rps,
            });
            goals.push(Goal {
                what: format!(
                    "PostgreSQL update c16 ≥ 70 % of its limit ({:.0} %)",
                    100.0 * update16.rps / update_limit.rps
                ),
                met: update16.rps >= 0.7 * update_limit.rps,
            });
            goals.push(Goal {
                what: format!(
                    "PostgreSQL GET one ≥ 50 % of a prepared point read ({:.0} %), p99 ≤ 10 ms ({:.1} ms)",
                    100.0 * get16.rps / read_limit.rps,
                    get16.latency.p99_us / 1000.0
                ),
                met: get16.rps >= 0.5 * read_limit.rps && get16.latency.p99_us <= 10_000.0,
            });
            notes.push(format!(
                "PostgreSQL GET one reaches {:.0} % of what HTTP alone reaches here ({:.0} rps)",
                100.0 * get16.rps / http_only.rps,
                http_only.rps
            ));
            notes.push(format!(
                "PostgreSQL GET one reaches {:.0} % of its own statement run raw at 16 ({:.0} per second, p99 {:.2} ms)",
                100.0 * get16.rps / get_limit.rps,
                get_limit.rps,
                get_limit.latency.p99_us / 1000.0
            ));
        }
    }

    // SQLite, in a fresh directory.
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}/convene.db", dir.path().display());
    let server = start(&binary, &url).await?;
    let http = http_scenarios(&server).await?;
    for ((name, clients), m) in SCENARIOS.iter().zip(&http) {
        print_row("sqlite", name, *clients, m, None);
    }
    for (i, what) in [(0, "create c16"), (2, "update c16")] {
        goals.push(Goal {
            what: format!(
                "SQLite {what} p99 ≤ 50 ms ({:.1} ms)",
                http[i].latency.p99_us / 1000.0
            ),
            met: http[i].latency.p99_us <= 50_000.0,
        });
    }
    drop(server);

    println!();
    for note in &notes {
        println!("{note}");
    }
    let mut passed = true;
    for goal in &goals {
        passed &= goal.met;
        println!("{}  {}", if goal.met { "PASS" } else { "FAIL" }, goal.what);
    }
    Ok(passed)
}

fn main() -> ExitCode {
    convene_bench::bench_main("http", |admin_url| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?
            .block_on(run(admin_url))
            .map_err(|e| e.to_string())
    })
}
