//! Clients that could crowd out others: slow logins, rotating or proxied addresses,
//! too many sockets (hardening findings 4 and 6).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use convene_tests::{app, assert_problem, backend_tests, Backend, StatusCode, PASSWORD};
use serde_json::json;

backend_tests!(
    slow_logins_do_not_hold_database_connections,
    forwarded_addresses_count_only_behind_trusted_proxies,
    websocket_connections_are_capped,
);

async fn slow_logins_do_not_hold_database_connections(backend: Backend) {
    // Two pooled connections, and bcrypt slow enough to notice (cost 12).
    let app = app!(backend, |s| {
        s.database_pool_size = 2;
        s.bcrypt_cost = 12;
    });
    let (_, token) = app.user("patient").await;
    let started = Instant::now();
    let logins: Vec<_> = (0..6)
        .map(|_| {
            let req = app
                .request(reqwest::Method::POST, "/api/auth/login")
                .json(&json!({"username": "patient", "password": PASSWORD}));
            tokio::spawn(async move {
                let res = req.send().await.unwrap();
                (res.status(), started.elapsed())
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(30)).await;
    // While six logins hash, an ordinary request still gets a connection at once.
    let res = app.get("/api/auth/me", Some(&token)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let me_done = started.elapsed();
    let mut first_login = Duration::MAX;
    for login in logins {
        let (status, done) = login.await.unwrap();
        assert_eq!(status, StatusCode::OK);
        first_login = first_login.min(done);
    }
    assert!(
        me_done < first_login,
        "/me answered after {me_done:?}, the first login after {first_login:?}"
    );
}

async fn forwarded_addresses_count_only_behind_trusted_proxies(backend: Backend) {
    let attempt = |app: &convene_tests::TestApp, forwarded_for: &'static str| {
        app.request(reqwest::Method::POST, "/api/auth/login")
            .header("x-forwarded-for", forwarded_for)
            .json(&json!({"username": "nobody", "password": "wrong password"}))
            .send()
    };
    // Untrusted peer: X-Forwarded-For is ignored, every attempt is the peer's.
    let app = app!(backend, |s| s.auth_rate_limit_per_minute = 2);
    for who in ["203.0.113.1", "203.0.113.2"] {
        let res = attempt(&app, who).await.unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    let res = attempt(&app, "203.0.113.3").await.unwrap();
    assert_problem(res, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;

    // Behind a trusted proxy (the test client's 127.0.0.1), the forwarded client counts.
    let app = app!(backend, |s| {
        s.auth_rate_limit_per_minute = 2;
        s.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()];
    });
    for who in ["203.0.113.1", "203.0.113.1", "203.0.113.2", "203.0.113.2"] {
        let res = attempt(&app, who).await.unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{who}");
    }
    let res = attempt(&app, "203.0.113.1").await.unwrap();
    assert_problem(res, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    // A client's own claims left of the proxy's entry are not believed.
    let res = attempt(&app, "198.51.100.7, 203.0.113.2").await.unwrap();
    assert_problem(res, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    // IPv6 clients count per /64: rotating within it does not help.
    for who in ["2001:db8:1:2::1", "2001:db8:1:2::ffff"] {
        let res = attempt(&app, who).await.unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{who}");
    }
    let res = attempt(&app, "2001:db8:1:2:abcd::9").await.unwrap();
    assert_problem(res, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    let res = attempt(&app, "2001:db8:1:3::1").await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

async fn websocket_connections_are_capped(backend: Backend) {
    let app = app!(backend, |s| {
        s.ws_max_connections_per_user = 2;
        s.ws_max_connections = 3;
    });
    let (_, alice) = app.user("socketalice").await;
    let (_, bob) = app.user("socketbob").await;
    let (_, carol) = app.user("socketcarol").await;
    let url = |token: &str| {
        app.url(&format!("/ws/notifications?token={token}"))
            .replacen("http://", "ws://", 1)
    };
    let refused = |result: Result<_, tokio_tungstenite::tungstenite::Error>| match result {
        Err(tokio_tungstenite::tungstenite::Error::Http(res)) => {
            assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
            assert!(res.headers().get("retry-after").is_some());
        }
        Err(other) => panic!("refused how? {other}"),
        Ok(_) => panic!("accepted beyond the cap"),
    };
    let a1 = tokio_tungstenite::connect_async(url(&alice)).await.unwrap();
    let _a2 = tokio_tungstenite::connect_async(url(&alice)).await.unwrap();
    refused(tokio_tungstenite::connect_async(url(&alice)).await);
    let _b1 = tokio_tungstenite::connect_async(url(&bob)).await.unwrap();
    refused(tokio_tungstenite::connect_async(url(&carol)).await);
    // A closed socket frees its place.
    drop(a1);
    let mut admitted = false;
    for _ in 0..50 {
        if tokio_tungstenite::connect_async(url(&carol)).await.is_ok() {
            admitted = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(admitted, "a freed place is given again");
}
