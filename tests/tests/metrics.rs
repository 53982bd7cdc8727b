//! `GET /metrics`: Prometheus text with requests by route and status, their latency,
//! the pool, open WebSockets, notifications pushed, and (PostgreSQL) listener
//! reconnections.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use convene_tests::{app, backend_tests, id_of, slot, Backend, StatusCode, TestApp};
use futures_util::StreamExt;

backend_tests!(
    metrics_count_requests_the_pool_sockets_and_pushes;
    postgres_only:
    metrics_count_listener_reconnects,
);

/// The metrics text, and the value of the sample `name{labels}` (exact text match).
async fn scrape(app: &TestApp) -> String {
    let res = app.get("/metrics", None).await;
    assert_eq!(res.status(), StatusCode::OK);
    let content_type = res.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    res.text().await.unwrap()
}

fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

async fn metrics_count_requests_the_pool_sockets_and_pushes(backend: Backend) {
    let app = app!(backend);
    let (_, token) = app.user("metered").await;
    for _ in 0..3 {
        assert_eq!(
            app.get("/api/events", Some(&token)).await.status(),
            StatusCode::OK
        );
    }
    assert_eq!(
        app.get("/api/events/999999", Some(&token)).await.status(),
        404
    );
    assert_eq!(app.get("/no/such/path", None).await.status(), 404);
    // Invented methods share one label: a client cannot grow the series without bound.
    for method in ["BREW", "WHEN", "XYZZY"] {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let res = app.request(method, "/api/events").send().await.unwrap();
        assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
    }
    let ws = format!(
        "{}/ws/notifications?token={token}",
        app.address.replacen("http://", "ws://", 1)
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(ws).await.unwrap();
    let event = app
        .create_event(&token, "Counted", &slot(1), &slot(2))
        .await;
    assert!(id_of(&event) > 0);
    tokio::time::timeout(Duration::from_secs(10), socket.next())
        .await
        .expect("the creation is pushed")
        .unwrap()
        .unwrap();

    let text = scrape(&app).await;
    let ok_lists = r#"convene_http_requests_total{method="GET",route="/api/events",status="200"}"#;
    assert_eq!(sample(&text, ok_lists), Some(3.0), "{text}");
    let missing =
        r#"convene_http_requests_total{method="GET",route="/api/events/{id}",status="404"}"#;
    assert_eq!(sample(&text, missing), Some(1.0), "{text}");
    let unmatched = r#"convene_http_requests_total{method="GET",route="unmatched",status="404"}"#;
    assert_eq!(sample(&text, unmatched), Some(1.0), "{text}");
    let invented =
        r#"convene_http_requests_total{method="OTHER",route="/api/events",status="405"}"#;
    assert_eq!(sample(&text, invented), Some(3.0), "{text}");
    assert!(!text.contains("BREW") && !text.contains("XYZZY"), "{text}");
    let latency = r#"convene_http_request_duration_seconds_count{method="GET",route="/api/events",status="200"}"#;
    assert_eq!(sample(&text, latency), Some(3.0), "{text}");
    assert!(text.contains(r#"convene_http_request_duration_seconds_bucket{method="POST",route="/api/events",status="201",le="0.1"}"#));
    assert_eq!(
        sample(&text, "convene_websockets_open"),
        Some(1.0),
        "{text}"
    );
    assert!(
        sample(&text, "convene_notifications_pushed_total").unwrap() >= 1.0,
        "{text}"
    );
    assert_eq!(
        sample(&text, "convene_notifications_dropped_total"),
        Some(0.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, "convene_live_listener_reconnects_total"),
        Some(0.0),
        "{text}"
    );
    let idle = sample(&text, r#"convene_db_pool_connections{state="idle"}"#).unwrap();
    assert!(idle >= 1.0, "{text}");
    assert_eq!(
        sample(&text, r#"convene_db_pool_connections{state="waiting"}"#),
        Some(0.0)
    );
    assert!(sample(&text, r#"convene_db_pool_connections{state="in_use"}"#).is_some());

    drop(socket);
    let closed = Instant::now();
    while sample(&scrape(&app).await, "convene_websockets_open") != Some(0.0) {
        assert!(
            closed.elapsed() < Duration::from_secs(5),
            "the socket stays counted"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// PostgreSQL: the listener's connection is killed; the reconnect is counted.
async fn metrics_count_listener_reconnects(backend: Backend) {
    let app = app!(backend);
    // The listener is connected once a change reaches a socket.
    let (_, token) = app.user("relisten").await;
    let ws = format!(
        "{}/ws/notifications?token={token}",
        app.address.replacen("http://", "ws://", 1)
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(ws).await.unwrap();
    app.create_event(&token, "Before", &slot(1), &slot(2)).await;
    tokio::time::timeout(Duration::from_secs(10), socket.next())
        .await
        .expect("pushed")
        .unwrap()
        .unwrap();
    app.kill_listener();
    let killed = Instant::now();
    while sample(
        &scrape(&app).await,
        "convene_live_listener_reconnects_total",
    ) != Some(1.0)
    {
        assert!(
            killed.elapsed() < Duration::from_secs(10),
            "no reconnect counted"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
