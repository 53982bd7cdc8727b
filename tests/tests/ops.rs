//! Operations: health, readiness, the auth rate limit, the docs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use convene_tests::{app, assert_problem, backend_tests, Backend, StatusCode, TestDb};
use diesel::{Connection, RunQueryDsl};
use serde_json::{json, Value};

backend_tests!(
    health_and_readiness,
    readiness_fails_when_the_database_is_gone,
    auth_attempts_are_rate_limited,
    rate_limit_zero_disables_it,
    docs_are_served_offline,
);

async fn health_and_readiness(backend: Backend) {
    let app = app!(backend);
    let res = app.get("/healthz", None).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Value>().await.unwrap(), json!({"status": "ok"}));
    let res = app.get("/readyz", None).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        json!({"status": "ready"})
    );
}

/// PostgreSQL: the database disappears under the running server (its connections are
/// terminated and reconnecting fails) and `/readyz` answers 503 while `/healthz` stays
/// 200. An embedded SQLite database cannot become unreachable while the process holds
/// it open, so there the check is that readiness really queries the database file.
async fn readiness_fails_when_the_database_is_gone(backend: Backend) {
    let app = app!(backend);
    match &app.db {
        TestDb::Postgres {
            admin_url, name, ..
        } => {
            let mut admin = diesel::PgConnection::establish(admin_url).unwrap();
            diesel::sql_query(format!("DROP DATABASE {name} WITH (FORCE)"))
                .execute(&mut admin)
                .unwrap();
        }
        TestDb::Sqlite(dir) => {
            // Replace the database file with garbage: fresh connections fail to open it.
            let path = dir.path().join("convene.db");
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
            }
            std::fs::create_dir(&path).unwrap();
        }
    }
    let res = app.get("/readyz", None).await;
    let problem = assert_problem(res, StatusCode::SERVICE_UNAVAILABLE, "unavailable").await;
    let detail = problem["detail"].as_str().unwrap();
    assert!(
        !detail.contains("database \"") && !detail.contains("SQL"),
        "no internals: {detail}"
    );
    assert_eq!(app.get("/healthz", None).await.status(), StatusCode::OK);
}

async fn auth_attempts_are_rate_limited(backend: Backend) {
    let app = app!(backend, |s| s.auth_rate_limit_per_minute = 3);
    // Register, a failed login and a refresh share one budget per client IP.
    let res = app
        .post("/api/auth/register", &json!({"username": "kim", "email": "kim@example.com", "password": convene_tests::PASSWORD}), None)
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let res = app
        .post(
            "/api/auth/login",
            &json!({"username": "kim", "password": "wrong password"}),
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let res = app
        .post("/api/auth/refresh", &json!({"refresh_token": "x"}), None)
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let res = app
        .post(
            "/api/auth/login",
            &json!({"username": "kim", "password": convene_tests::PASSWORD}),
            None,
        )
        .await;
    let retry_after: u64 = res
        .headers()
        .get("retry-after")
        .unwrap()
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after), "Retry-After {retry_after}");
    assert_problem(res, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    // Other routes are not limited.
    assert_eq!(app.get("/healthz", None).await.status(), StatusCode::OK);
}

async fn rate_limit_zero_disables_it(backend: Backend) {
    let app = app!(backend, |s| s.auth_rate_limit_per_minute = 0);
    for _ in 0..30 {
        let res = app
            .post(
                "/api/auth/login",
                &json!({"username": "nobody", "password": "wrong password"}),
                None,
            )
            .await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
}

async fn docs_are_served_offline(backend: Backend) {
    let app = app!(backend);
    let spec: Value = app.get("/openapi.json", None).await.json().await.unwrap();
    assert_eq!(spec["info"]["title"], "Convene");
    assert!(spec["paths"]["/api/auth/login"]["post"].is_object());
    let schemes = &spec["components"]["securitySchemes"];
    assert_eq!(
        schemes["oauth2"]["flows"]["password"]["tokenUrl"],
        "/api/auth/login"
    );
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    let docs = app.get("/docs/", None).await;
    assert_eq!(docs.status(), StatusCode::OK);
    assert!(docs.text().await.unwrap().contains("swagger"));
    // `/docs` itself is the page (no redirect), its assets under `/docs/`.
    let docs = app.get("/docs", None).await;
    assert_eq!(docs.status(), StatusCode::OK);
    let html = docs.text().await.unwrap();
    assert!(
        html.contains("<base href=\"/docs/\">") && html.contains("swagger-ui-bundle.js"),
        "{html}"
    );
    for asset in ["/docs/swagger-ui-bundle.js", "/docs/swagger-initializer.js"] {
        assert_eq!(
            app.get(asset, None).await.status(),
            StatusCode::OK,
            "{asset}"
        );
    }
    let redoc = app.get("/redoc", None).await;
    assert_eq!(redoc.status(), StatusCode::OK);
    let html = redoc.text().await.unwrap();
    assert!(
        html.contains("/redoc/redoc.standalone.js") && !html.contains("cdn."),
        "{html}"
    );
    let js = app.get("/redoc/redoc.standalone.js", None).await;
    assert_eq!(js.status(), StatusCode::OK);
    assert!(js.bytes().await.unwrap().len() > 100_000);
}
