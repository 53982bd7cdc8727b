//! The real `convene` process: stopped with SIGTERM while WebSockets are open, it says
//! "going away" (1001) to every socket at once and exits promptly and cleanly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;

/// A `convene serve` child on port 0 over a fresh SQLite file, and its base URL.
fn serve(dir: &std::path::Path) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_convene"))
        .current_dir(dir)
        .env_clear()
        .env(
            "DATABASE_URL",
            format!("sqlite://{}/convene.db", dir.display()),
        )
        .env("SECRET_KEY", "process-test-secret-0123456789abcdefghij")
        .env("BIND", "127.0.0.1:0")
        .env("BCRYPT_COST", "4")
        .env("AUTH_RATE_LIMIT_PER_MINUTE", "0")
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let port = loop {
        let line = lines
            .next()
            .expect("the server says where it listens")
            .unwrap();
        if let Some(rest) = line.split("port=").nth(1) {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_says_going_away_to_every_socket_and_exits_promptly() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, base) = serve(dir.path());
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
