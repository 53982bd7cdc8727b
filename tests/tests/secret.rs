//! With the SQLite default and no `SECRET_KEY`, the signing secret is generated once,
//! kept beside the database file with mode 0600, and reused: tokens survive restarts;
//! the database file itself is private too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::os::unix::fs::PermissionsExt;

use convene_tests::{start, test_settings, StatusCode, PASSWORD};
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_secret_is_private_and_survives_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/data/convene.db", dir.path().display());
    let mut settings = test_settings(&url);
    settings.secret_key = None;

    let first = start(settings.clone()).await;
    let secret_path = dir.path().join("data/convene.secret");
    let mode = std::fs::metadata(&secret_path)
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "secret file mode {mode:o}");
    let secret = std::fs::read(&secret_path).unwrap();
    assert!(secret.len() >= 32);

    let client = reqwest::Client::new();
    let res = client
        .post(format!("{first}/api/auth/register"))
        .json(&json!({"username": "sam", "email": "sam@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let token: Value = client
        .post(format!("{first}/api/auth/login"))
        .json(&json!({"username": "sam", "password": PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    // A second server on the same database (a restart) accepts the same token.
    let second = start(settings).await;
    assert_eq!(
        std::fs::read(&secret_path).unwrap(),
        secret,
        "secret reused"
    );
    let res = client
        .get(format!("{second}/api/auth/me"))
        .bearer_auth(token["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}

/// The database file holds password and token hashes: it (and SQLite's `-wal`/`-shm`
/// companions, which take its mode) is created readable by its owner only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sqlite_database_is_private() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("data/convene.db");
    let settings = test_settings(&format!("sqlite://{}", db.display()));
    let base = start(settings).await;
    let res = reqwest::Client::new()
        .post(format!("{base}/api/auth/register"))
        .json(&json!({"username": "pat", "email": "pat@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let mut checked = 0;
    for name in ["convene.db", "convene.db-wal", "convene.db-shm"] {
        let Ok(meta) = std::fs::metadata(dir.path().join("data").join(name)) else {
            continue;
        };
        let mode = meta.permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{name} mode {mode:o}");
        checked += 1;
    }
    assert!(checked >= 2, "the database and its WAL exist");
}

/// Servers starting together on a fresh SQLite database agree on one complete secret:
/// it is written whole under another name and linked into place.
#[test]
fn simultaneous_starts_agree_on_one_whole_secret() {
    for _ in 0..20 {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/data/convene.db", dir.path().display());
        let mut settings = test_settings(&url);
        settings.secret_key = None;
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(8));
        let secrets: Vec<Vec<u8>> = (0..8)
            .map(|_| {
                let settings = settings.clone();
                let barrier = barrier.clone();
                std::thread::spawn(move || {
                    barrier.wait();
                    settings.resolve_secret().unwrap()
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|t| t.join().unwrap())
            .collect();
        assert!(secrets[0].len() >= 32);
        assert!(secrets.iter().all(|s| *s == secrets[0]));
        let on_disk = std::fs::read(dir.path().join("data/convene.secret")).unwrap();
        assert_eq!(on_disk, secrets[0]);
        let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("data"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .filter(|n| n != "convene.secret")
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }
}

/// A database path where no secret can be kept beside it names `DATABASE_URL` (the key
/// the user set), not `SECRET_KEY`.
#[test]
fn an_unusable_database_path_names_database_url() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"not a directory").unwrap();
    for url in [
        format!("sqlite://{}/x.db", file.display()),
        format!("sqlite://{}/sub/x.db", file.display()),
    ] {
        let mut settings = test_settings(&url);
        settings.secret_key = None;
        let e = settings.resolve_secret().unwrap_err().to_string();
        assert!(e.starts_with("DATABASE_URL: "), "{url}: {e}");
    }
}
