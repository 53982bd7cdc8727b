//! The database goes away and comes back: clients get a fast 503 with `Retry-After`,
//! readiness says so, and service resumes on its own (hardening findings 14 and 15).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use convene_persistence::Backend as DbBackend;
use convene_tests::{
    app, assert_problem, backend_tests, slot, with_port, Backend, StatusCode, TcpProxy,
};
use serde_json::json;

backend_tests!(; postgres_only: a_database_outage_answers_503_fast_and_recovers);

async fn a_database_outage_answers_503_fast_and_recovers(backend: Backend) {
    let target: std::net::SocketAddr = "127.0.0.1:5432".parse().unwrap();
    let mut proxy = TcpProxy::start(target).await;
    let port = proxy.port();
    let app = app!(backend, |s| {
        let DbBackend::Postgres(url) = &s.database.database_url else {
            panic!("PostgreSQL only");
        };
        s.database.database_url = DbBackend::Postgres(with_port(url, port));
    });
    let (_, token) = app.user("outage").await;
    app.create_event(&token, "before", &slot(1), &slot(2)).await;

    proxy.cut();
    let mut slowest = Duration::ZERO;
    for i in 0..6 {
        let started = Instant::now();
        let res = app
            .post(
                "/api/events",
                &json!({"title": format!("during {i}"), "start_time": slot(10 + i), "end_time": slot(11 + i)}),
                Some(&token),
            )
            .await;
        let took = started.elapsed();
        assert_eq!(res.headers().get("retry-after").unwrap(), "1");
        assert_problem(res, StatusCode::SERVICE_UNAVAILABLE, "unavailable").await;
        if i > 0 {
            slowest = slowest.max(took);
        }
        // The first request learns of the outage within the checkout time-out.
        assert!(
            took < Duration::from_millis(2_500),
            "request {i} took {took:?}"
        );
    }
    assert!(
        slowest < Duration::from_millis(900),
        "once the outage is known, 503 comes fast: {slowest:?}"
    );
    let started = Instant::now();
    let res = app.get("/readyz", None).await;
    assert_problem(res, StatusCode::SERVICE_UNAVAILABLE, "unavailable").await;
    assert!(
        started.elapsed() < Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );

    proxy.restore().await;
    let restored = Instant::now();
    loop {
        let res = app
            .post(
                "/api/events",
                &json!({"title": "after", "start_time": slot(30), "end_time": slot(31)}),
                Some(&token),
            )
            .await;
        if res.status() == StatusCode::CREATED {
            break;
        }
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(
            restored.elapsed() < Duration::from_secs(5),
            "no recovery 5 s after the database came back"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(app.get("/readyz", None).await.status(), StatusCode::OK);
}

/// A small tmpfs mounted for one test (root only), unmounted on drop.
struct Mount(std::path::PathBuf);

impl Mount {
    /// Mounts a 16 MiB tmpfs at a new directory; `None` (the test is skipped, saying so)
    /// unless `TEST_MOUNTS` is set, which CI does: then failing to mount fails the test.
    fn tmpfs() -> Option<Self> {
        if std::env::var_os("TEST_MOUNTS").is_none() {
            eprintln!("TEST_MOUNTS is not set: skipping the full-disk test");
            return None;
        }
        let dir = std::env::temp_dir().join(format!("convene-full-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=16m", "tmpfs"])
            .arg(&dir)
            .status()
            .unwrap();
        assert!(status.success(), "TEST_MOUNTS is set but mount failed");
        Some(Self(dir))
    }

    /// Fills the filesystem with a file, until no byte is left.
    fn fill(&self) -> std::path::PathBuf {
        use std::io::Write;
        let path = self.0.join("filler");
        let mut file = std::fs::File::create(&path).unwrap();
        let chunk = vec![0u8; 64 * 1024];
        while file.write_all(&chunk).is_ok() {}
        while file.write_all(&[0u8]).is_ok() {}
        let _ = file.sync_all();
        path
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
        let _ = std::fs::remove_dir(&self.0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_answers_503_and_recovers() {
    let Some(mount) = Mount::tmpfs() else {
        return;
    };
    let url = format!("sqlite://{}/convene.db", mount.0.display());
    let base = convene_tests::start(convene_tests::test_settings(&url)).await;
    let client = reqwest::Client::new();
    let post = |path: &str, body: serde_json::Value, token: Option<String>| {
        let mut req = client.post(format!("{base}{path}")).json(&body);
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        req.send()
    };
    let account = json!({"username": "diskfull", "email": "full@example.com", "password": convene_tests::PASSWORD});
    let res = post("/api/auth/register", account.clone(), None)
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let tokens: serde_json::Value = post("/api/auth/login", account, None)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = tokens["access_token"].as_str().unwrap().to_owned();
    let event = |h: u32| {
        json!({"title": format!("e{h}"), "description": "d".repeat(10_000),
               "start_time": slot(h), "end_time": slot(h + 1)})
    };

    let filler = mount.fill();
    let mut refused = 0;
    for h in 0..60 {
        let res = post("/api/events", event(h), Some(token.clone()))
            .await
            .unwrap();
        if res.status() == StatusCode::CREATED {
            continue;
        }
        assert_eq!(res.headers().get("retry-after").unwrap(), "1");
        assert_problem(res, StatusCode::SERVICE_UNAVAILABLE, "unavailable").await;
        refused += 1;
        if refused == 3 {
            break;
        }
    }
    assert_eq!(refused, 3, "writes to a full disk are refused with 503");

    std::fs::remove_file(filler).unwrap();
    let freed = Instant::now();
    let mut h = 100;
    loop {
        let res = post("/api/events", event(h), Some(token.clone()))
            .await
            .unwrap();
        if res.status() == StatusCode::CREATED {
            break;
        }
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(freed.elapsed() < Duration::from_secs(5), "no recovery");
        h += 2;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        client
            .get(format!("{base}/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
}
