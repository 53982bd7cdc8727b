//! With the SQLite default and no `SECRET_KEY`, the signing secret is generated once,
//! kept beside the database file with mode 0600, and reused: tokens survive restarts.
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
