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
