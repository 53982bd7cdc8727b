//! What the request log records: never a credential (hardening finding 5).
//!
//! The server's own log subscriber is installed once for this test binary, writing into
//! a buffer the tests read.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use convene_tests::{app, backend_tests, Backend, StatusCode};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

backend_tests!(access_tokens_in_urls_never_reach_the_log);

/// Everything logged in this process so far.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'w> MakeWriter<'w> for Captured {
    type Writer = Captured;

    fn make_writer(&'w self) -> Self::Writer {
        self.clone()
    }
}

fn log() -> &'static Captured {
    static LOG: OnceLock<Captured> = OnceLock::new();
    LOG.get_or_init(|| {
        let captured = Captured::default();
        let subscriber = convene_server::log_subscriber(
            EnvFilter::new("info"),
            captured.clone(),
            convene_server::LogFormat::Text,
            false,
        );
        tracing::subscriber::set_global_default(subscriber).expect("install the logger");
        captured
    })
}

fn logged() -> String {
    String::from_utf8_lossy(&log().0.lock().unwrap()).into_owned()
}

async fn access_tokens_in_urls_never_reach_the_log(backend: Backend) {
    log();
    let app = app!(backend);
    let (_, token) = app.user(&format!("logged{}", backend as u8)).await;
    // The WebSocket takes the token in the query.
    let ws = app.url(&format!("/ws/notifications?since=0&token={token}"));
    let ws = ws.replacen("http://", "ws://", 1);
    let (socket, response) = tokio_tungstenite::connect_async(ws).await.unwrap();
    assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS);
    drop(socket);
    // A REST route given a token in the query (ignored there) is redacted too, and so
    // is a refused WebSocket attempt.
    let res = app
        .get(&format!("/api/events?token={token}&limit=5"), Some(&token))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = app
        .get("/ws/notifications?token=not-a-real-token-4711", None)
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

    // The subscription feed's token, good or wrong.
    let res = app.post_empty("/api/feed-tokens", Some(&token)).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let feed: serde_json::Value = res.json().await.unwrap();
    let feed_token = feed["token"].as_str().unwrap().to_owned();
    let res = app
        .get(&format!("/api/calendar.ics?token={feed_token}"), None)
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = app
        .get(
            "/api/calendar.ics?token=cvf_not-a-real-feed-token-4712",
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

    // Request lines are written when their spans close.
    let mut text = String::new();
    for _ in 0..50 {
        text = logged();
        if text.matches("token=[redacted]").count() >= 5 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        text.contains("/ws/notifications?since=0&token=[redacted]"),
        "{text}"
    );
    assert!(
        text.contains("/api/events?token=[redacted]&limit=5"),
        "{text}"
    );
    assert!(
        !text.contains(&token),
        "the access token was logged: {text}"
    );
    assert!(!text.contains("not-a-real-token-4711"), "{text}");
    assert!(
        text.contains("/api/calendar.ics?token=[redacted]"),
        "{text}"
    );
    assert!(
        !text.contains(&feed_token),
        "the feed token was logged: {text}"
    );
    assert!(!text.contains("not-a-real-feed-token-4712"), "{text}");
}
