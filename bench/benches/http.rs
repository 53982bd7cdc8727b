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
//! check) — as prepared statements, one round trip each, on 16 connections and on as
//! many as the server's pool (10; the better counts), without HTTP; for a GET, a prepared
//! point read of the event at 16 (the goal's yardstick). The three rows with a limit run in
//! [`ROUNDS`] rounds, each HTTP row followed at once by its limit, and create at 64 right
//! after create at 16 (the machine's noise moves figures by tens of percent within a
//! minute, far less between two measurements taken one after the other); the table shows
//! the round with the median ratio, a note every round's. It prints one table (requests per second, p50, p99, the limit and
//! its p99, ratio to the limit) and checks the goals: create and update at 16 ≥ 70 % of
//! their limit, create p99 ≤ 25 ms, create at 64 no lower than at 16; GET ≥ 50 % of a
//! prepared point read, p99 ≤ 10 ms (p99 and the rate at 16: the rounds' medians);
//! SQLite writes p99 ≤ 50 ms at 16. The process exits non-zero when a goal is missed.
//! Loopback only; about six minutes.
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
/// Rounds of each PostgreSQL row that is measured against a raw limit.
const ROUNDS: usize = 3;
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

/// Every scenario of [`SCENARIOS`] once, in order, against `server`.
async fn http_scenarios(server: &Server, s: &Arc<Session>) -> BenchResult<Vec<Measured>> {
    let slots = Arc::new(AtomicU64::new(SETUP_SLOTS));
    let mut out = Vec::new();
    for (name, clients) in SCENARIOS {
        out.push(http_scenario(&server.base, s, &slots, name, clients).await?);
    }
    Ok(out)
}

/// Scenario `name` at `clients` against the server at `base`; creates take the next
/// free slots of `slots`.
async fn http_scenario(
    base: &str,
    s: &Arc<Session>,
    slots: &Arc<AtomicU64>,
    name: &'static str,
    clients: usize,
) -> BenchResult<Measured> {
    let (s, slots, base) = (s.clone(), slots.clone(), Arc::new(base.to_owned()));
    drive(clients, move |c, n| {
        let (s, base) = (s.clone(), base.clone());
        let slot = slots.fetch_add(1, Ordering::Relaxed);
        async move {
            let (request, status) = match name {
                "create" => {
                    let (start, end) = self::slot(slot);
                    let body = json!({"title": "bench", "start_time": start, "end_time": end});
                    (s.client.post(format!("{base}/api/events")).json(&body), 201)
                }
                "update" => {
                    let url = format!("{base}/api/events/{}", s.events[c]);
                    let body = json!({"title": format!("update {n}")});
                    (s.client.patch(url).json(&body), 200)
                }
                "GET one" => {
                    let url = format!("{base}/api/events/{}", s.events[c]);
                    (s.client.get(url), 200)
                }
                HTTP_ONLY => {
                    let res = s.client.get(format!("{base}/healthz")).send().await?;
                    return expect(res, 200).await;
                }
                _ => (s.client.get(format!("{base}/api/events?limit=50")), 200),
            };
            expect(request.bearer_auth(&s.token).send().await?, status).await
        }
    })
    .await
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
/// `events::lock_event`,
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
    PREPARE lock_event(bigint) AS SELECT id FROM events WHERE id = $1 FOR NO KEY UPDATE;
    PREPARE find_event(bigint, bigint) AS
        SELECT e.*, p.role FROM events e
        LEFT JOIN event_permissions p ON p.event_id = e.id AND p.user_id = $2
        WHERE e.id = $1;
    PREPARE update_event(bigint, text) AS
        UPDATE events SET title = $2, version = version + 1, updated_at = now()
        WHERE id = $1 RETURNING *;
    PREPARE grantees(bigint) AS SELECT user_id FROM event_permissions WHERE event_id = $1;
    PREPARE point_read(bigint) AS SELECT * FROM events WHERE id = $1;
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

/// What the raw limits run on: the bench user's id, session and events, and the next
/// free slot of the raw creates.
struct RawIds {
    user: i64,
    session: i64,
    events: Vec<i64>,
    slots: AtomicU64,
}

/// The limit of `work`: the better of 16 connections and the server's pool (with one
/// user, fewer transactions queueing on the calendar lock can be faster).
fn best_limit(
    url: &str,
    work: &(dyn Fn(&mut PgConnection, usize, u64) -> BenchResult<()> + Sync),
) -> BenchResult<Measured> {
    let at16 = raw_limit(url, 16, PREPARE, work)?;
    let at_pool = raw_limit(url, SERVER_POOL, PREPARE, work)?;
    Ok(if at_pool.rps > at16.rps {
        at_pool
    } else {
        at16
    })
}

/// The raw limit of a create.
fn raw_create(url: &str, ids: &RawIds) -> BenchResult<Measured> {
    let RawIds { user, session, .. } = ids;
    best_limit(url, &|conn, _, _| {
        let (start, end) = slot(ids.slots.fetch_add(1, Ordering::Relaxed));
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
    })
}

/// The raw limit of a title update.
fn raw_update(url: &str, ids: &RawIds) -> BenchResult<Measured> {
    let RawIds { user, session, .. } = ids;
    best_limit(url, &|conn, c, n| {
        let id = ids.events[c];
        statements(
            conn,
            &format!(
                "EXECUTE principal({session}, {user});
                 BEGIN;
                 EXECUTE lock_event({id});
                 EXECUTE find_event({id}, {user});
                 EXECUTE update_event({id}, 'raw {n}');
                 EXECUTE insert_current_version({id}, {user});
                 EXECUTE grantees({id});
                 EXECUTE insert_notification({user}, 'event_updated', {id});
                 EXECUTE announce('n:' || currval('notifications_id_seq'));
                 COMMIT;"
            ),
        )
    })
}

/// The raw limit of a GET of one event at 16: a prepared point read (goal 2's
/// yardstick).
fn raw_read(url: &str, ids: &RawIds) -> BenchResult<Measured> {
    raw_limit(url, 16, PREPARE, |conn, c, _| {
        conn.batch_execute(&format!("EXECUTE point_read({})", ids.events[c]))?;
        Ok(())
    })
}

/// The ids the raw limits need: the bench user's, its session's, its events'.
fn bench_ids(url: &str) -> BenchResult<RawIds> {
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
        (Some(&user), Some(&session)) => Ok(RawIds {
            user,
            session,
            events,
            slots: AtomicU64::new(2 * SETUP_SLOTS),
        }),
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
        Ok(db) => postgres(&binary, db.url(), &mut goals, &mut notes).await?,
    }

    // SQLite, in a fresh directory.
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}/convene.db", dir.path().display());
    let server = start(&binary, &url).await?;
    let s = Arc::new(session(&server, 64).await?);
    let http = http_scenarios(&server, &s).await?;
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

/// One round of a row measured against a raw limit: the HTTP figures, and the limit
/// measured right after them.
struct Round {
    http: Measured,
    limit: Measured,
}

impl Round {
    fn ratio(&self) -> f64 {
        self.http.rps / self.limit.rps
    }
}

/// The round with the median ratio.
fn median_round(rounds: &[Round]) -> BenchResult<&Round> {
    let mut sorted: Vec<&Round> = rounds.iter().collect();
    sorted.sort_by(|a, b| a.ratio().total_cmp(&b.ratio()));
    Ok(*sorted.get(sorted.len() / 2).ok_or("no rounds")?)
}

/// The median of `values` (the upper one of an even count).
fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

/// The rounds' ratios, in the order run.
fn ratios(rounds: &[Round]) -> String {
    rounds
        .iter()
        .map(|r| format!("{:.0} %", 100.0 * r.ratio()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The PostgreSQL rows, the goals they judge and the notes. The rows with a raw limit
/// run in [`ROUNDS`] rounds, each HTTP row followed at once by its limit (the server
/// stopped meanwhile: its listener would read the raw work's notifications), and create
/// at 64 right after create at 16; the table shows the round with the median ratio, the
/// notes every round. The machine's noise moves the figures by tens of percent over a
/// minute, much less between two measurements taken one after the other.
async fn postgres(
    binary: &std::path::Path,
    url: &str,
    goals: &mut Vec<Goal>,
    notes: &mut Vec<String>,
) -> BenchResult<()> {
    let mut server = start(binary, url).await?;
    let s = Arc::new(session(&server, 64).await?);
    let ids = Arc::new(bench_ids(url)?);
    let slots = Arc::new(AtomicU64::new(SETUP_SLOTS));
    let (mut creates, mut updates, mut gets) = (vec![], vec![], vec![]);
    // Create at 64 clients, each with the rate at 16 measured right before it.
    let mut wide: Vec<(Measured, f64)> = Vec::new();
    for _ in 0..ROUNDS {
        for name in ["create", "update", "GET one"] {
            let http = http_scenario(&server.base, &s, &slots, name, 16).await?;
            if name == "create" {
                let at64 = http_scenario(&server.base, &s, &slots, name, 64).await?;
                wide.push((at64, http.rps));
            }
            drop(server);
            let (raw_url, raw_ids) = (url.to_owned(), ids.clone());
            let limit = tokio::task::spawn_blocking(move || match name {
                "create" => raw_create(&raw_url, &raw_ids),
                "update" => raw_update(&raw_url, &raw_ids),
                _ => raw_read(&raw_url, &raw_ids),
            })
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e: Box<dyn Error + Send + Sync>| e.to_string())?;
            server = start(binary, url).await?;
            let round = Round { http, limit };
            match name {
                "create" => creates.push(round),
                "update" => updates.push(round),
                _ => gets.push(round),
            }
        }
    }
    let list = http_scenario(&server.base, &s, &slots, "list (limit 50)", 16).await?;
    let http_only = http_scenario(&server.base, &s, &slots, HTTP_ONLY, 16).await?;
    drop(server);
    let wide_ratios = wide
        .iter()
        .map(|(at64, at16)| format!("{:.0} %", 100.0 * at64.rps / at16))
        .collect::<Vec<_>>()
        .join(", ");
    wide.sort_by(|(a, a16), (b, b16)| (a.rps / a16).total_cmp(&(b.rps / b16)));
    let (create64, create64_at16) = wide.get(wide.len() / 2).ok_or("no rounds")?;
    let (create16, update16, get16) = (
        median_round(&creates)?,
        median_round(&updates)?,
        median_round(&gets)?,
    );
    let row = |name, clients, round: &Round| {
        print_row("postgresql", name, clients, &round.http, Some(&round.limit));
    };
    row("create", 16, create16);
    print_row("postgresql", "create", 64, create64, None);
    row("update", 16, update16);
    row("GET one", 16, get16);
    print_row("postgresql", "list (limit 50)", 16, &list, None);
    print_row("postgresql", HTTP_ONLY, 16, &http_only, None);

    let create_p99 = median(creates.iter().map(|r| r.http.latency.p99_us).collect());
    let get_p99 = median(gets.iter().map(|r| r.http.latency.p99_us).collect());
    goals.push(Goal {
        what: format!(
            "PostgreSQL create c16 ≥ 70 % of its limit ({:.0} %)",
            100.0 * create16.ratio()
        ),
        met: create16.ratio() >= 0.7,
    });
    goals.push(Goal {
        what: format!(
            "PostgreSQL create c16 p99 ≤ 25 ms ({:.1} ms, median of the rounds)",
            create_p99 / 1000.0
        ),
        met: create_p99 <= 25_000.0,
    });
    goals.push(Goal {
        what: format!(
            "PostgreSQL create c64 no lower than c16 ({:.0} vs {create64_at16:.0} rps, each round c64 right after c16, the median round; 5 % noise)",
            create64.rps
        ),
        met: create64.rps >= 0.95 * create64_at16,
    });
    goals.push(Goal {
        what: format!(
            "PostgreSQL update c16 ≥ 70 % of its limit ({:.0} %)",
            100.0 * update16.ratio()
        ),
        met: update16.ratio() >= 0.7,
    });
    goals.push(Goal {
        what: format!(
            "PostgreSQL GET one ≥ 50 % of a prepared point read ({:.0} %), p99 ≤ 10 ms ({:.1} ms, median of the rounds)",
            100.0 * get16.ratio(),
            get_p99 / 1000.0
        ),
        met: get16.ratio() >= 0.5 && get_p99 <= 10_000.0,
    });
    notes.push(format!(
        "PostgreSQL rounds, HTTP / limit: create {}; update {}; GET one {}; create c64 / c16: {}",
        ratios(&creates),
        ratios(&updates),
        ratios(&gets),
        wide_ratios
    ));
    notes.push(format!(
        "PostgreSQL GET one reaches {:.0} % of what HTTP alone reaches here ({:.0} rps)",
        100.0 * get16.http.rps / http_only.rps,
        http_only.rps
    ));
    Ok(())
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
