//! The retention task purges read notifications, ended sessions and expired refresh
//! tokens, and nothing else (hardening finding 11).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use convene_tests::{app, backend_tests, id_of, slot, Backend, StatusCode};
use serde_json::json;

backend_tests!(read_notifications_and_ended_sessions_are_purged);

async fn read_notifications_and_ended_sessions_are_purged(backend: Backend) {
    let app = app!(backend, |s| {
        s.notification_retention_days = 0;
        s.session_retention_days = 0;
        s.retention_interval_seconds = 1;
    });
    let (_, alice) = app.user("keeper").await;
    let (bob_id, bob) = app.user("reader").await;
    let event = app.create_event(&alice, "E", &slot(1), &slot(2)).await;
    app.share(&alice, id_of(&event), bob_id, "viewer").await;
    // A third user's session ends.
    let (_, carol) = app.user("leaver").await;
    let res = app.post("/api/auth/logout", &json!({}), Some(&carol)).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let tokens = app.login("keeper").await;
    assert_eq!(app.count_rows("sessions"), 4);

    let mut purged = false;
    for _ in 0..50 {
        if app.count_rows("sessions") == 3 && app.count_rows("notifications") == 1 {
            purged = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        purged,
        "sessions {}, notifications {}",
        app.count_rows("sessions"),
        app.count_rows("notifications")
    );
    // Alice's own (read) copy is gone; Bob's unread one stays.
    let inbox = app.get_ok("/api/notifications", &alice).await;
    assert_eq!(inbox["items"], json!([]));
    let inbox = app.get_ok("/api/notifications", &bob).await;
    assert_eq!(inbox["items"].as_array().unwrap().len(), 1);
    assert_eq!(inbox["unread_count"], 1);
    // Open sessions keep working, refresh tokens included.
    let res = app
        .post(
            "/api/auth/refresh",
            &json!({"refresh_token": tokens["refresh_token"]}),
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        app.get("/api/auth/me", Some(&bob)).await.status(),
        StatusCode::OK
    );
}
