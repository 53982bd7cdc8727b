//! The recurrence migration on a database with data: existing events become single
//! events in UTC, their busy time is in `occurrences` (so they still conflict), and
//! their history carries the new fields.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use convene_tests::{backend_tests, id_of, Backend, StatusCode, TestApp, TestDb};
use diesel::connection::SimpleConnection;
use diesel::Connection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use serde_json::json;

backend_tests!(existing_events_become_single_events_in_utc);

const PG: EmbeddedMigrations = embed_migrations!("../migrations/postgres");
const SQLITE: EmbeddedMigrations = embed_migrations!("../migrations/sqlite");

/// A user (password "correct horse battery", bcrypt cost 4) with one event and its
/// first version, written as the first schema had them.
const BEFORE: &str = "
INSERT INTO users (id, username, email, password_hash, created_at) VALUES
    (1, 'old_timer', 'old@example.com',
     '$2b$04$6ybzkvIn.FFua/r9mWpVUuwluOr9oTIiKg5P3lyuHGe056QODEjia', '2026-01-01 00:00:00');
INSERT INTO events (id, owner_id, title, description, start_time, end_time, location,
                    version, created_at, updated_at) VALUES
    (1, 1, 'Legacy', '', '2027-01-04 10:00:00', '2027-01-04 11:00:00', NULL, 1,
     '2026-01-01 00:00:00', '2026-01-01 00:00:00');
INSERT INTO event_versions (event_id, version, title, description, start_time, end_time,
                            location, change, restored_from, changed_by, changed_at) VALUES
    (1, 1, 'Legacy', '', '2027-01-04 10:00:00', '2027-01-04 11:00:00', NULL, 'created',
     NULL, 1, '2026-01-01 00:00:00');
";

async fn existing_events_become_single_events_in_utc(backend: Backend) {
    let Some(db) = TestDb::create(backend) else {
        return;
    };
    let url = db.url();
    match backend {
        Backend::Sqlite => {
            let path = url.trim_start_matches("sqlite://").to_owned();
            let mut conn = diesel::SqliteConnection::establish(&path).unwrap();
            conn.run_next_migration(SQLITE).unwrap();
            conn.batch_execute(BEFORE).unwrap();
        }
        Backend::Postgres => {
            let mut conn = diesel::PgConnection::establish(&url).unwrap();
            conn.run_next_migration(PG).unwrap();
            conn.batch_execute(BEFORE).unwrap();
            conn.batch_execute(
                "SELECT setval('users_id_seq', 1); SELECT setval('events_id_seq', 1);",
            )
            .unwrap();
        }
    }
    // The server migrates the rest at start-up.
    let app = TestApp::spawn_on(backend, db, |_| {}).await;
    let token = app.access_token("old_timer").await;
    let event = app.get_ok("/api/events/1", &token).await;
    assert_eq!(event["time_zone"], "UTC");
    assert_eq!(event["recurrence"], serde_json::Value::Null);
    assert_eq!(event["transparency"], "opaque");
    let version = app.get_ok("/api/events/1/versions/1", &token).await;
    assert_eq!(version["time_zone"], "UTC");
    assert_eq!(version["recurrence"], serde_json::Value::Null);
    assert_eq!(app.count_rows("occurrences"), 1);
    // Still busy: a series over it conflicts, naming it.
    let res = app
        .create_event_raw(
            &token,
            json!({"title": "Weekly", "start_time": "2026-12-28T10:30:00Z",
                   "end_time": "2026-12-28T11:30:00Z", "recurrence": "FREQ=WEEKLY;COUNT=3"}),
        )
        .await;
    let problem = convene_tests::assert_problem(res, StatusCode::CONFLICT, "event_conflict").await;
    assert_eq!(problem["conflicts"][0]["id"], 1);
    assert_eq!(
        problem["conflicts"][0]["recurrence_id"],
        "2027-01-04T10:00:00Z"
    );
    // And it lists as one occurrence.
    let occurrences = app
        .get_ok(
            "/api/occurrences?from=2027-01-01T00:00:00Z&to=2027-02-01T00:00:00Z",
            &token,
        )
        .await;
    assert_eq!(occurrences["items"].as_array().unwrap().len(), 1);
    assert_eq!(occurrences["items"][0]["event_id"], id_of(&event));
}
