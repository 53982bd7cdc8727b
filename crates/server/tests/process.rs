//! The real `convene` process: stopped with SIGTERM while WebSockets are open, it says
//! "going away" (1001) to every socket at once and exits promptly and cleanly; killed
//! with SIGKILL in the middle of batch writes, it loses no acknowledged batch and keeps
//! no partial one (on SQLite and PostgreSQL); its SQLite file made read-only for a
//! moment, it keeps no read-only connection once the file is writable again.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;

/// The SQLite `DATABASE_URL` of a file in `dir`.
fn sqlite_url(dir: &std::path::Path) -> String {
    format!("sqlite://{}/convene.db", dir.display())
}

/// A fresh PostgreSQL database (dropped with this value) made from
/// `TEST_DATABASE_URL`, or `None` when that is not set.
struct PgDatabase {
    admin: String,
    name: String,
    url: String,
}

impl PgDatabase {
    fn create() -> Option<Self> {
        use diesel::{Connection, RunQueryDsl};
        let Ok(admin) = std::env::var("TEST_DATABASE_URL") else {
            eprintln!("TEST_DATABASE_URL is not set: skipping the PostgreSQL variant");
            return None;
        };
        let name = format!("convene_process_{}", std::process::id());
        let mut conn = diesel::PgConnection::establish(&admin).expect("PostgreSQL reachable");
        diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut conn)
            .unwrap();
        diesel::sql_query(format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .unwrap();
        let mut url = url::Url::parse(&admin).unwrap();
        url.set_path(&name);
        Some(Self {
            admin,
            name,
            url: url.to_string(),
        })
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        use diesel::{Connection, RunQueryDsl};
        if let Ok(mut conn) = diesel::PgConnection::establish(&self.admin) {
            let _ = diesel::sql_query(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .execute(&mut conn);
        }
    }
}

/// A `convene serve` child on port 0 over `database_url`, and its base URL.
fn serve(dir: &std::path::Path, database_url: &str) -> (Child, String) {
    serve_with(
        dir,
        database_url,
        Command::new(env!("CARGO_BIN_EXE_convene")),
    )
}

/// `command` (the binary) set up to serve from `dir` over `database_url` on port 0, in a
/// clean environment, logging at info to a piped stdout.
fn configure(command: &mut Command, dir: &std::path::Path, database_url: &str) {
    command
        .current_dir(dir)
        .env_clear()
        .env("DATABASE_URL", database_url)
        .env("SECRET_KEY", "process-test-secret-0123456789abcdefghij")
        .env("BIND", "127.0.0.1:0")
        .env("BCRYPT_COST", "4")
        .env("AUTH_RATE_LIMIT_PER_MINUTE", "0")
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped());
}

/// [`serve`], with `command` (the binary, perhaps as another user) prepared already.
fn serve_with(dir: &std::path::Path, database_url: &str, mut command: Command) -> (Child, String) {
    configure(&mut command, dir, database_url);
    let mut child = command.spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let port = loop {
        let line = lines
            .next()
            .expect("the server says where it listens")
            .unwrap();
        if let Some(rest) = line
            .split("port=")
            .nth(1)
            .or(line.split("\"port\":").nth(1))
        {
            break rest
                .chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>();
        }
    };
    // Keep draining the log so the child never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (child, format!("127.0.0.1:{port}"))
}

async fn token(client: &reqwest::Client, base: &str) -> String {
    let res = client
        .post(format!("http://{base}/api/auth/register"))
        .json(&json!({"username": "pat", "email": "pat@example.com", "password": "correct horse battery"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    login(client, base).await
}

async fn login(client: &reqwest::Client, base: &str) -> String {
    let tokens: Value = client
        .post(format!("http://{base}/api/auth/login"))
        .json(&json!({"username": "pat", "password": "correct horse battery"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    tokens["access_token"].as_str().unwrap().to_owned()
}

/// Every page of `path` (a keyset-paginated list), concatenated.
async fn all_items(client: &reqwest::Client, base: &str, token: &str, path: &str) -> Vec<Value> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let url = match &cursor {
            Some(c) => format!("http://{base}{path}?limit=200&cursor={c}"),
            None => format!("http://{base}{path}?limit=200"),
        };
        let page: Value = client
            .get(url)
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        items.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return items,
        }
    }
}

/// 50 events, one hour each, tagged `tag`, in hours no other batch uses.
fn batch(tag: &str, first_hour: i64) -> Value {
    let start = chrono::DateTime::parse_from_rfc3339("2030-01-01T00:00:00Z").unwrap();
    let events: Vec<Value> = (0..50)
        .map(|i| {
            let at = start + chrono::Duration::hours(first_hour + i);
            json!({"title": format!("{tag}/{i}"),
                   "start_time": at.to_rfc3339(),
                   "end_time": (at + chrono::Duration::minutes(30)).to_rfc3339()})
        })
        .collect();
    json!({ "events": events })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_batches_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    sigkill_during_batches_keeps_every_batch_whole_or_absent(dir.path(), &sqlite_url(dir.path()))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_batches_on_postgres() {
    let Some(db) = PgDatabase::create() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    sigkill_during_batches_keeps_every_batch_whole_or_absent(dir.path(), &db.url).await;
}

/// 10 × SIGKILL while four writers send 50-event batches: every batch is whole or
/// absent, every acknowledged one is there, one version and one notification per event.
async fn sigkill_during_batches_keeps_every_batch_whole_or_absent(
    dir: &std::path::Path,
    database_url: &str,
) {
    let client = reqwest::Client::new();
    let mut acknowledged = Vec::new();
    for round in 0..10_i64 {
        let (mut child, base) = serve(dir, database_url);
        let token = if round == 0 {
            token(&client, &base).await
        } else {
            login(&client, &base).await
        };
        let writers: Vec<_> = (0..4_i64)
            .map(|writer| {
                let (client, base, token) = (client.clone(), base.clone(), token.clone());
                tokio::spawn(async move {
                    let mut done = Vec::new();
                    for k in 0..1_000_i64 {
                        let tag = format!("r{round}w{writer}b{k}");
                        let first_hour = ((round * 4 + writer) * 1_000 + k) * 50;
                        let sent = client
                            .post(format!("http://{base}/api/events/batch"))
                            .bearer_auth(&token)
                            .json(&batch(&tag, first_hour))
                            .send()
                            .await;
                        match sent {
                            Ok(res) if res.status() == 201 => done.push(tag),
                            Ok(res) => panic!("batch {tag}: {}", res.status()),
                            Err(_) => break, // the server died under it
                        }
                    }
                    done
                })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(150 + 40 * round as u64)).await;
        child.kill().unwrap();
        child.wait().unwrap();
        for writer in writers {
            acknowledged.extend(writer.await.unwrap());
        }
    }
    let (mut child, base) = serve(dir, database_url);
    let token = login(&client, &base).await;
    let events = all_items(&client, &base, &token, "/api/events").await;
    let mut per_batch = std::collections::BTreeMap::<String, usize>::new();
    for e in &events {
        let tag = e["title"].as_str().unwrap().split('/').next().unwrap();
        *per_batch.entry(tag.to_owned()).or_default() += 1;
        assert_eq!(e["version"], 1, "{e}");
    }
    for (tag, n) in &per_batch {
        assert_eq!(*n, 50, "batch {tag} is partial");
    }
    for tag in &acknowledged {
        assert!(
            per_batch.contains_key(tag),
            "acknowledged batch {tag} is missing"
        );
    }
    assert!(
        !acknowledged.is_empty(),
        "some batches completed before the kills"
    );
    // One notification (the owner's own copy) per stored event.
    let notes = all_items(&client, &base, &token, "/api/notifications").await;
    assert_eq!(notes.len(), events.len());
    child.kill().unwrap();
    child.wait().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_says_going_away_to_every_socket_and_exits_promptly() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, base) = serve(dir.path(), &sqlite_url(dir.path()));
    let client = reqwest::Client::new();
    let token = token(&client, &base).await;
    let mut sockets = Vec::new();
    for _ in 0..3 {
        let url = format!("ws://{base}/ws/notifications?token={token}");
        sockets.push(tokio_tungstenite::connect_async(url).await.unwrap().0);
    }
    let stopped = Instant::now();
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    for mut socket in sockets {
        let frame = tokio::time::timeout(Duration::from_secs(3), socket.next())
            .await
            .expect("a close frame within 3 s")
            .expect("a frame")
            .expect("a readable frame");
        match frame {
            Message::Close(Some(close)) => assert_eq!(close.code, CloseCode::Away),
            other => panic!("expected close 1001, got {other:?}"),
        }
    }
    let exited = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            stopped.elapsed() < Duration::from_secs(5),
            "still running 5 s after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exited.success(), "exit status {exited}");
    // Stopped without waiting out the 10 s grace period.
    assert!(
        stopped.elapsed() < Duration::from_secs(3),
        "{:?}",
        stopped.elapsed()
    );
}

/// Finding 13: the SQLite file is read-only for a moment (0444) while requests make the
/// pool open connections. SQLite would open them read-only, and they would stay so; the
/// server refuses them, readiness says the database cannot be written, and once the file
/// is writable again every write succeeds. File modes do not bind root, so as root the
/// server runs as `nobody`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_moment_leaves_no_read_only_connection() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    use std::os::unix::process::CommandExt;
    const NOBODY: u32 = 65_534;
    let dir = tempfile::tempdir().unwrap();
    let as_root = std::fs::metadata(dir.path()).unwrap().uid() == 0;
    let mut command = Command::new(env!("CARGO_BIN_EXE_convene"));
    if as_root {
        std::os::unix::fs::chown(dir.path(), Some(NOBODY), Some(NOBODY)).unwrap();
        // The build directory may be closed to others (a 0700 checkout): run a copy.
        let program = dir.path().join("convene");
        std::fs::hard_link(env!("CARGO_BIN_EXE_convene"), &program)
            .or_else(|_| std::fs::copy(env!("CARGO_BIN_EXE_convene"), &program).map(|_| ()))
            .unwrap();
        command = Command::new(program);
        command.uid(NOBODY).gid(NOBODY);
    }
    let (child, base) = serve_with(dir.path(), &sqlite_url(dir.path()), command);
    let _child = KillOnDrop(child);
    let client = reqwest::Client::new();
    let token = token(&client, &base).await;
    let create = |i: usize| {
        let hour = format!("2031-01-01T{:02}:{:02}:00Z", i / 60, i % 60);
        client
            .post(format!("http://{base}/api/events"))
            .bearer_auth(&token)
            .json(&json!({"title": format!("w{i}"), "start_time": hour,
                          "end_time": hour.replace(":00Z", ":30Z")}))
            .send()
    };
    let file = dir.path().join("convene.db");
    let set_mode = |mode| std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode));
    assert_eq!(create(0).await.unwrap().status(), 201);

    set_mode(0o444).unwrap();
    // Concurrent reads make the pool open connections while the file is read-only.
    let reads: Vec<_> = (0..20)
        .map(|_| {
            client
                .get(format!("http://{base}/api/events"))
                .bearer_auth(&token)
                .send()
        })
        .collect();
    for res in futures_util::future::join_all(reads).await {
        let status = res.unwrap().status();
        assert!(status == 200 || status == 503, "{status}");
    }
    let ready = client
        .get(format!("http://{base}/readyz"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        ready.status(),
        503,
        "readiness must see the file cannot be written"
    );
    set_mode(0o600).unwrap();

    let ready = client
        .get(format!("http://{base}/readyz"))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    for wave in 0..4 {
        let writes: Vec<_> = (0..10).map(|i| create(1 + wave * 10 + i)).collect();
        for res in futures_util::future::join_all(writes).await {
            let res = res.unwrap();
            let status = res.status();
            assert_eq!(status, 201, "{}", res.text().await.unwrap());
        }
    }
}

/// A child process killed when this is dropped, also when the test panics.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One start-up line names the database (no password), the migrations applied and the
/// address; `LOG_FORMAT=json` writes JSON objects, and text logs to a pipe carry no
/// colour codes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_start_up_line_says_where_it_runs_in_either_format() {
    for format in ["json", "text"] {
        let dir = tempfile::tempdir().unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_convene"));
        configure(&mut command, dir.path(), &sqlite_url(dir.path()));
        command.env("LOG_FORMAT", format);
        let mut child = KillOnDrop(command.spawn().unwrap());
        let lines = BufReader::new(child.0.stdout.take().unwrap()).lines();
        let mut seen = Vec::new();
        let mut start_up = None;
        for line in lines {
            let line = line.unwrap();
            seen.push(line.clone());
            assert!(!line.contains('\u{1b}'), "colour codes in a pipe: {line}");
            if line.contains("convene listening") {
                start_up = Some(line);
                break;
            }
        }
        let line = start_up.unwrap_or_else(|| panic!("no start-up line in {seen:?}"));
        let database = format!("sqlite {}/convene.db", dir.path().display());
        match format {
            "json" => {
                for earlier in &seen {
                    let _: Value = serde_json::from_str(earlier)
                        .unwrap_or_else(|e| panic!("not JSON ({e}): {earlier}"));
                }
                let doc: Value = serde_json::from_str(&line).unwrap();
                assert_eq!(doc["database"], database.as_str(), "{doc}");
                assert!(doc["migrations_applied"].as_u64().unwrap() > 0, "{doc}");
                assert_eq!(doc["bind"], "127.0.0.1:0", "{doc}");
                assert!(doc["port"].as_u64().unwrap() > 0, "{doc}");
                assert_eq!(doc["level"], "INFO");
            }
            _ => {
                assert!(line.contains(&format!("database={database}")), "{line}");
                assert!(line.contains("migrations_applied="), "{line}");
                assert!(line.contains("bind=127.0.0.1:0"), "{line}");
            }
        }
        drop(child);
    }
}

/// A server whose log reader went away (stdout and stderr closed) still stops on
/// SIGTERM: an unwritable log line is dropped, never a panic.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_a_server_whose_log_reader_is_gone() {
    let dir = tempfile::tempdir().unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_convene"));
    configure(&mut command, dir.path(), &sqlite_url(dir.path()));
    command.stderr(Stdio::piped());
    let mut child = KillOnDrop(command.spawn().unwrap());
    let mut lines = BufReader::new(child.0.stdout.take().unwrap()).lines();
    let line = loop {
        let line = lines.next().unwrap().unwrap();
        if line.contains("convene listening") {
            break line;
        }
    };
    let port: String = line
        .split("port=")
        .nth(1)
        .unwrap()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    // Serving (so the stop signal is being listened for) before the pipes close.
    let res = reqwest::get(format!("http://127.0.0.1:{port}/healthz"))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    drop(lines);
    drop(child.0.stderr.take());
    let status = Command::new("kill")
        .args(["-TERM", &child.0.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let stopped = Instant::now();
    loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            assert!(status.success(), "{status}");
            break;
        }
        assert!(
            stopped.elapsed() < Duration::from_secs(5),
            "still running 5 s after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
