//! Events: create, read, update, delete, list with filters and keyset pagination,
//! conditional requests, conflict detection (also under concurrency) and batches.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeSet, HashMap, HashSet};

use convene_tests::{
    app, assert_problem, backend_tests, etag, id_of, query_escape, race, slot, ts_key, Backend,
    StatusCode, TestApp,
};
use reqwest::Method;
use serde_json::{json, Value};

backend_tests!(
    create_returns_event_read,
    timestamps_are_normalised_to_utc,
    validation_reports_every_field,
    validation_bounds_are_inclusive,
    get_honours_if_none_match,
    put_and_patch_update_partially,
    update_validation,
    noop_update_keeps_the_version,
    if_match_preconditions,
    delete_then_404,
    list_orders_by_start_then_id,
    list_filters_by_time_with_half_open_overlap,
    list_filters_by_role,
    list_query_validation,
    keyset_pagination_is_stable_under_inserts,
    touching_events_do_not_conflict,
    overlapping_creates_conflict,
    conflicts_are_per_owner,
    editor_moves_are_checked_against_the_owners_calendar,
    updates_are_conflict_checked,
    concurrent_overlapping_creates_one_wins,
    concurrent_if_match_updates_one_wins,
    batch_creates_in_request_order,
    batch_conflicts_are_atomic,
    batch_validation_is_atomic,
    batch_size_limits,
    concurrent_moves_and_creates_onto_one_slot_one_wins,
    two_instances_share_the_conflict_guard,
    msgpack_event_round_trip,
    pagination_keeps_its_filters,
    deleted_events_leave_every_list,
    malformed_ids_are_client_errors,
    a_long_event_conflicts_with_many,
    extreme_dates_round_trip_and_paginate,
);

const EVENT_KEYS: [&str; 11] = [
    "id",
    "title",
    "description",
    "start_time",
    "end_time",
    "location",
    "owner_id",
    "version",
    "created_at",
    "updated_at",
    "role",
];

/// Asserts `event` has exactly the `EventRead` members with UTC timestamps.
fn assert_event_read(event: &Value) {
    let obj = event
        .as_object()
        .unwrap_or_else(|| panic!("object: {event}"));
    let keys: BTreeSet<&str> = obj.keys().map(String::as_str).collect();
    let expected: BTreeSet<&str> = EVENT_KEYS.into_iter().collect();
    assert_eq!(keys, expected, "EventRead members of {event}");
    for ts in ["start_time", "end_time", "created_at", "updated_at"] {
        let s = event[ts]
            .as_str()
            .unwrap_or_else(|| panic!("{ts} in {event}"));
        assert!(s.ends_with('Z') && &s[10..11] == "T", "{ts} = {s}");
    }
    assert!(event["id"].as_i64().unwrap() > 0);
    assert!(event["version"].as_i64().unwrap() >= 1);
}

fn ids(items: &[Value]) -> Vec<i64> {
    items.iter().map(id_of).collect()
}

/// `(index, field)` of every entry of a problem's `errors`, sorted.
fn field_errors(problem: &Value) -> Vec<(Option<i64>, String)> {
    let mut out: Vec<(Option<i64>, String)> = problem["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("errors in {problem}"))
        .iter()
        .map(|e| {
            assert!(
                e["message"].as_str().is_some_and(|m| !m.is_empty()),
                "message in {e}"
            );
            (e["index"].as_i64(), e["field"].as_str().unwrap().to_owned())
        })
        .collect();
    out.sort();
    out
}

fn fields(list: &[&str]) -> Vec<(Option<i64>, String)> {
    let mut out: Vec<(Option<i64>, String)> =
        list.iter().map(|f| (None, (*f).to_owned())).collect();
    out.sort();
    out
}

/// Follows `next_cursor` from the first page of `GET /api/events?{query}` (which must
/// not contain `cursor`) and returns every item plus the number of pages.
async fn list_all(app: &TestApp, token: &str, query: &str, limit: u32) -> (Vec<Value>, usize) {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut path = format!("/api/events?limit={limit}");
        if !query.is_empty() {
            path.push('&');
            path.push_str(query);
        }
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={}", query_escape(c)));
        }
        let page = app.get_ok(&path, token).await;
        pages += 1;
        let obj = page.as_object().unwrap();
        assert_eq!(obj.len(), 2, "only items and next_cursor: {page}");
        let batch = page["items"].as_array().unwrap();
        assert!(batch.len() <= limit as usize, "page over the limit");
        items.extend(batch.iter().cloned());
        match &page["next_cursor"] {
            Value::Null => break,
            Value::String(c) => {
                assert!(!batch.is_empty(), "a page with a cursor has items");
                cursor = Some(c.clone());
            }
            other => panic!("next_cursor must be a string or null: {other}"),
        }
        assert!(pages < 1000, "pagination does not end");
    }
    (items, pages)
}

async fn list_ids(app: &TestApp, token: &str, query: &str) -> Vec<i64> {
    ids(&list_all(app, token, query, 200).await.0)
}

async fn create_raw(app: &TestApp, token: &str, body: Value) -> reqwest::Response {
    app.post("/api/events", &body, Some(token)).await
}

async fn create_returns_event_read(backend: Backend) {
    let app = app!(backend);
    let (alice, token) = app.user("alice").await;
    let res = create_raw(
        &app,
        &token,
        json!({"title": "Standup", "start_time": "2030-01-01T10:00:00Z",
               "end_time": "2030-01-01T10:15:00Z", "unknown": true}),
    )
    .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let location = res
        .headers()
        .get("location")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(etag(&res).as_deref(), Some("\"1\""));
    let event: Value = res.json().await.unwrap();
    assert_event_read(&event);
    let id = id_of(&event);
    assert_eq!(location, format!("/api/events/{id}"));
    assert_eq!(event["title"], "Standup");
    assert_eq!(event["description"], "");
    assert_eq!(event["location"], Value::Null);
    assert_eq!(event["start_time"], "2030-01-01T10:00:00Z");
    assert_eq!(event["end_time"], "2030-01-01T10:15:00Z");
    assert_eq!(event["owner_id"], alice);
    assert_eq!(event["version"], 1);
    assert_eq!(event["role"], "owner");
    assert!(
        ts_key(event["created_at"].as_str().unwrap())
            <= ts_key(event["updated_at"].as_str().unwrap())
    );

    // With every field given.
    let res = create_raw(
        &app,
        &token,
        json!({"title": "Review", "description": "Quarterly", "location": "Room 4",
               "start_time": "2030-01-02T10:00:00Z", "end_time": "2030-01-02T11:00:00Z"}),
    )
    .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let full: Value = res.json().await.unwrap();
    assert_event_read(&full);
    assert_eq!(full["description"], "Quarterly");
    assert_eq!(full["location"], "Room 4");
    assert_ne!(id_of(&full), id);

    // GET returns the same document.
    let res = app.get(&location, Some(&token)).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(etag(&res).as_deref(), Some("\"1\""));
    assert_eq!(res.json::<Value>().await.unwrap(), event);

    // Authentication is required.
    let res = app
        .post(
            "/api/events",
            &json!({"title": "x", "start_time": slot(1), "end_time": slot(2)}),
            None,
        )
        .await;
    assert_problem(res, StatusCode::UNAUTHORIZED, "unauthorized").await;
}

async fn timestamps_are_normalised_to_utc(backend: Backend) {
    let app = app!(backend);
    let (_, token) = app.user("tim").await;
    let cases = [
        (
            "2030-01-01T10:00:00+02:00",
            "2030-01-01T11:00:00+02:00",
            "2030-01-01T08:00:00Z",
            "2030-01-01T09:00:00Z",
        ),
        // Without an offset: UTC.
        (
            "2030-01-02T10:00:00",
            "2030-01-02T11:30:00",
            "2030-01-02T10:00:00Z",
            "2030-01-02T11:30:00Z",
        ),
        // Microseconds are preserved, also through an offset.
        (
            "2030-01-03T10:00:00.123456Z",
            "2030-01-04T00:30:00.654321+05:30",
            "2030-01-03T10:00:00.123456Z",
            "2030-01-03T19:00:00.654321Z",
        ),
        (
            "2030-01-04T22:00:00-03:00",
            "2030-01-05T02:00:00.000001Z",
            "2030-01-05T01:00:00Z",
            "2030-01-05T02:00:00.000001Z",
        ),
    ];
    for (start, end, want_start, want_end) in cases {
        let event = app.create_event(&token, "t", start, end).await;
        assert_eq!(event["start_time"], want_start, "{start}");
        assert_eq!(event["end_time"], want_end, "{end}");
        // The stored value reads back identically.
        let read = app
            .get_ok(&format!("/api/events/{}", id_of(&event)), &token)
            .await;
        assert_eq!(read["start_time"], want_start, "{start} stored");
        assert_eq!(read["end_time"], want_end, "{end} stored");
    }
    // Offsets are honoured by conflict detection: 08:00Z–09:00Z is taken.
    let res = create_raw(
        &app,
        &token,
        json!({"title": "touch", "start_time": "2030-01-01T09:00:00Z", "end_time": "2030-01-01T10:00:00Z"}),
    )
    .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let res = create_raw(
        &app,
        &token,
        json!({"title": "overlap", "start_time": "2030-01-01T03:30:00-05:00", "end_time": "2030-01-01T08:45:00Z"}),
    )
    .await;
    assert_problem(res, StatusCode::CONFLICT, "event_conflict").await;
}

async fn validation_problem(app: &TestApp, token: &str, body: Value) -> Vec<(Option<i64>, String)> {
    let res = create_raw(app, token, body.clone()).await;
    assert_eq!(
        res.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "status for {}",
        &body.to_string()[..body.to_string().len().min(200)]
    );
    let problem = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    field_errors(&problem)
}

async fn validation_reports_every_field(backend: Backend) {
    let app = app!(backend);
    let (_, token) = app.user("val").await;
    let (s, e) = (slot(10), slot(11));
    let cases: Vec<(Value, Vec<&str>)> = vec![
        (json!({}), vec!["title", "start_time", "end_time"]),
        (json!({"title": "x"}), vec!["start_time", "end_time"]),
        (json!({"title": "x", "start_time": s}), vec!["end_time"]),
        (json!({"title": "x", "end_time": e}), vec!["start_time"]),
        (json!({"start_time": s, "end_time": e}), vec!["title"]),
        (
            json!({"title": "", "start_time": s, "end_time": e}),
            vec!["title"],
        ),
        (
            json!({"title": "   \t", "start_time": s, "end_time": e}),
            vec!["title"],
        ),
        (
            json!({"title": "x".repeat(201), "start_time": s, "end_time": e}),
            vec!["title"],
        ),
        (
            json!({"title": "x", "description": "d".repeat(10_001), "start_time": s, "end_time": e}),
            vec!["description"],
        ),
        (
            json!({"title": "x", "location": "l".repeat(501), "start_time": s, "end_time": e}),
            vec!["location"],
        ),
        (
            json!({"title": "x", "start_time": s, "end_time": s}),
            vec!["end_time"],
        ),
        (
            json!({"title": "x", "start_time": e, "end_time": s}),
            vec!["end_time"],
        ),
        (
            json!({"title": "x", "start_time": "not a time", "end_time": e}),
            vec!["start_time"],
        ),
        (
            json!({"title": "x", "start_time": s, "end_time": "2030-13-45T99:00:00Z"}),
            vec!["end_time"],
        ),
        // Everything at once.
        (
            json!({"title": " ", "description": "d".repeat(10_001), "location": "l".repeat(501),
                   "start_time": e, "end_time": s}),
            vec!["title", "description", "end_time", "location"],
        ),
    ];
    for (body, expected) in cases {
        let got = validation_problem(&app, &token, body.clone()).await;
        let shown = body.to_string();
        assert_eq!(got, fields(&expected), "{}", &shown[..shown.len().min(200)]);
    }
    // Nothing was stored.
    assert!(list_ids(&app, &token, "").await.is_empty());
}

async fn validation_bounds_are_inclusive(backend: Backend) {
    let app = app!(backend);
    let (_, token) = app.user("bounds").await;
    // Limits count characters, not bytes.
    let res = create_raw(
        &app,
        &token,
        json!({"title": "é".repeat(200), "description": "ü".repeat(10_000),
               "location": "ø".repeat(500), "start_time": slot(1), "end_time": slot(2)}),
    )
    .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let event: Value = res.json().await.unwrap();
    assert_eq!(event["title"].as_str().unwrap().chars().count(), 200);
    assert_eq!(
        event["description"].as_str().unwrap().chars().count(),
        10_000
    );
    assert_eq!(event["location"].as_str().unwrap().chars().count(), 500);
    // A one-character title and a one-microsecond event are fine.
    let res = create_raw(
        &app,
        &token,
        json!({"title": "x", "start_time": "2030-01-01T05:00:00Z", "end_time": "2030-01-01T05:00:00.000001Z"}),
    )
    .await;
    assert_eq!(res.status(), StatusCode::CREATED);
}

async fn get_honours_if_none_match(backend: Backend) {
    let app = app!(backend);
    let (_, token) = app.user("getter").await;
    let event = app.create_event(&token, "e", &slot(1), &slot(2)).await;
    let path = format!("/api/events/{}", id_of(&event));
    let res = app.get(&path, Some(&token)).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(etag(&res).as_deref(), Some("\"1\""));
    let res = app
        .send(
            Method::GET,
            &path,
            None,
            Some(&token),
            &[("if-none-match", "\"1\"")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(etag(&res).as_deref(), Some("\"1\""));
    assert!(res.bytes().await.unwrap().is_empty());
    let res = app
        .send(
            Method::GET,
            &path,
            None,
            Some(&token),
            &[("if-none-match", "\"7\"")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Value>().await.unwrap()["version"], 1);

    // After an update the old ETag no longer matches.
    let res = app
        .patch(&path, &json!({"title": "e2"}), Some(&token))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = app
        .send(
            Method::GET,
            &path,
            None,
            Some(&token),
            &[("if-none-match", "\"1\"")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(etag(&res).as_deref(), Some("\"2\""));
    let res = app
        .send(
            Method::GET,
            &path,
            None,
            Some(&token),
            &[("if-none-match", "\"2\"")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::NOT_MODIFIED);

    // Unknown ids.
    let res = app.get("/api/events/999999", Some(&token)).await;
    assert_problem(res, StatusCode::NOT_FOUND, "not_found").await;
}

async fn put_and_patch_update_partially(backend: Backend) {
    let app = app!(backend);
    let (owner, token) = app.user("upd").await;
    let res = create_raw(
        &app,
        &token,
        json!({"title": "Plan", "description": "first", "location": "Hall",
               "start_time": slot(10), "end_time": slot(11)}),
    )
    .await;
    let created: Value = res.json().await.unwrap();
    let path = format!("/api/events/{}", id_of(&created));

    // PATCH one field: the others are unchanged.
    let res = app
        .patch(&path, &json!({"title": "Plan B"}), Some(&token))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(etag(&res).as_deref(), Some("\"2\""));
    let v2: Value = res.json().await.unwrap();
    assert_event_read(&v2);
    assert_eq!(v2["title"], "Plan B");
    assert_eq!(v2["description"], "first");
    assert_eq!(v2["location"], "Hall");
    assert_eq!(v2["start_time"], created["start_time"]);
    assert_eq!(v2["end_time"], created["end_time"]);
    assert_eq!(v2["version"], 2);
    assert_eq!(v2["id"], created["id"]);
    assert_eq!(v2["owner_id"], owner);
    assert_eq!(v2["role"], "owner");
    assert_eq!(v2["created_at"], created["created_at"]);

    // PUT with the same partial semantics; times with an offset.
    let res = app
        .put(
            &path,
            &json!({"description": "second", "start_time": "2030-01-01T14:00:00+02:00",
                    "end_time": slot(13)}),
            Some(&token),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(etag(&res).as_deref(), Some("\"3\""));
    let v3: Value = res.json().await.unwrap();
    assert_eq!(v3["title"], "Plan B");
    assert_eq!(v3["description"], "second");
    assert_eq!(v3["location"], "Hall");
    assert_eq!(v3["start_time"], slot(12));
    assert_eq!(v3["end_time"], slot(13));
    assert_eq!(v3["version"], 3);

    // `location: null` clears it; an absent location is left alone.
    let res = app
        .patch(&path, &json!({"location": null}), Some(&token))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let v4: Value = res.json().await.unwrap();
    assert_eq!(v4["location"], Value::Null);
    assert_eq!(v4["version"], 4);
    let res = app
        .put(&path, &json!({"title": "Plan C"}), Some(&token))
        .await;
    let v5: Value = res.json().await.unwrap();
    assert_eq!(v5["location"], Value::Null);
    assert_eq!(v5["version"], 5);
    let res = app
        .patch(&path, &json!({"location": "Roof"}), Some(&token))
        .await;
    let v6: Value = res.json().await.unwrap();
    assert_eq!(v6["location"], "Roof");
    assert_eq!(v6["version"], 6);

    // GET agrees with the last response.
    let res = app.get(&path, Some(&token)).await;
    assert_eq!(etag(&res).as_deref(), Some("\"6\""));
    assert_eq!(res.json::<Value>().await.unwrap(), v6);

    // Missing event.
    let res = app
        .patch("/api/events/999999", &json!({"title": "x"}), Some(&token))
        .await;
    assert_problem(res, StatusCode::NOT_FOUND, "not_found").await;
    let res = app
        .put("/api/events/999999", &json!({"title": "x"}), Some(&token))
        .await;
    assert_problem(res, StatusCode::NOT_FOUND, "not_found").await;
}

async fn update_validation(backend: Backend) {
    let app = app!(backend);
    let (_, token) = app.user("updval").await;
    let event = app.create_event(&token, "ok", &slot(10), &slot(11)).await;
    let path = format!("/api/events/{}", id_of(&event));
    let cases: Vec<(Value, Vec<&str>)> = vec![
        (json!({"title": " "}), vec!["title"]),
        (json!({"title": "t".repeat(201)}), vec!["title"]),
        (
            json!({"description": "d".repeat(10_001)}),
            vec!["description"],
        ),
        (json!({"location": "l".repeat(501)}), vec!["location"]),
        // Moving only the end before the stored start.
        (json!({"end_time": slot(9)}), vec!["end_time"]),
        (json!({"start_time": slot(11)}), vec!["end_time"]),
        (json!({"start_time": "yesterday"}), vec!["start_time"]),
        (
            json!({"title": "", "location": "l".repeat(501), "end_time": slot(10)}),
            vec!["title", "end_time", "location"],
        ),
        // Fields that cannot be empty refuse null.
        (json!({"title": null}), vec!["title"]),
        (json!({"start_time": null}), vec!["start_time"]),
        // Every problem at once, also when a timestamp does not parse or a field is null.
        (
            json!({"title": "", "start_time": "yesterday"}),
            vec!["title", "start_time"],
        ),
        (
            json!({"end_time": "never", "location": "l".repeat(501)}),
            vec!["end_time", "location"],
        ),
        (
            json!({"title": null, "description": "d".repeat(10_001)}),
            vec!["title", "description"],
        ),
    ];
    for method in [Method::PUT, Method::PATCH] {
        for (body, expected) in &cases {
            let res = app
                .send(method.clone(), &path, Some(body), Some(&token), &[])
                .await;
            let problem =
                assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
            let shown = body.to_string();
            assert_eq!(
                field_errors(&problem),
                fields(expected),
                "{method} {}",
                &shown[..shown.len().min(200)]
            );
        }
    }
    // Unchanged.
    let res = app.get(&path, Some(&token)).await;
    assert_eq!(etag(&res).as_deref(), Some("\"1\""));
    assert_eq!(res.json::<Value>().await.unwrap(), event);
}

async fn noop_update_keeps_the_version(backend: Backend) {
    let app = app!(backend);
    let (_, token) = app.user("noop").await;
    let res = create_raw(
        &app,
        &token,
        json!({"title": "Same", "description": "d", "location": "L",
               "start_time": slot(1), "end_time": slot(2)}),
    )
    .await;
    let event: Value = res.json().await.unwrap();
    let path = format!("/api/events/{}", id_of(&event));
    for (method, body) in [
        (Method::PATCH, json!({})),
        (Method::PUT, json!({})),
        (Method::PATCH, json!({"title": "Same"})),
        (
            Method::PUT,
            json!({"title": "Same", "description": "d", "location": "L",
                   "start_time": slot(1), "end_time": slot(2)}),
        ),
        // The same instant written with another offset is the same value.
        (
            Method::PATCH,
            json!({"start_time": "2030-01-01T02:00:00+01:00"}),
        ),
    ] {
        let res = app
            .send(method.clone(), &path, Some(&body), Some(&token), &[])
            .await;
        assert_eq!(res.status(), StatusCode::OK, "{method} {body}");
        assert_eq!(etag(&res).as_deref(), Some("\"1\""), "{method} {body}");
        let read: Value = res.json().await.unwrap();
        assert_eq!(read["version"], 1, "{method} {body}");
        // Nothing changed at all, not even updated_at.
        assert_eq!(read, event, "{method} {body}");
    }
    let res = app.get(&path, Some(&token)).await;
    assert_eq!(res.json::<Value>().await.unwrap()["version"], 1);
    // A real change after the no-ops is version 2.
    let res = app
        .patch(&path, &json!({"title": "Other"}), Some(&token))
        .await;
    assert_eq!(res.json::<Value>().await.unwrap()["version"], 2);
}

async fn if_match_preconditions(backend: Backend) {
    let app = app!(backend);
    let (_, token) = app.user("matcher").await;
    let event = app.create_event(&token, "v1", &slot(1), &slot(2)).await;
    let path = format!("/api/events/{}", id_of(&event));

    // Matching version: accepted.
    let res = app
        .send(
            Method::PATCH,
            &path,
            Some(&json!({"title": "v2"})),
            Some(&token),
            &[("if-match", "\"1\"")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(etag(&res).as_deref(), Some("\"2\""));

    // Stale version: 412 with the current ETag, nothing changed.
    for method in [Method::PATCH, Method::PUT] {
        let res = app
            .send(
                method.clone(),
                &path,
                Some(&json!({"title": "lost"})),
                Some(&token),
                &[("if-match", "\"1\"")],
            )
            .await;
        let problem =
            assert_problem(res, StatusCode::PRECONDITION_FAILED, "precondition_failed").await;
        assert_eq!(problem["current_etag"], "\"2\"", "{method}");
    }
    let res = app
        .send(
            Method::DELETE,
            &path,
            None,
            Some(&token),
            &[("if-match", "\"1\"")],
        )
        .await;
    let problem = assert_problem(res, StatusCode::PRECONDITION_FAILED, "precondition_failed").await;
    assert_eq!(problem["current_etag"], "\"2\"");
    // A no-op update is still refused when the precondition fails.
    let res = app
        .send(
            Method::PATCH,
            &path,
            Some(&json!({"title": "v2"})),
            Some(&token),
            &[("if-match", "\"1\"")],
        )
        .await;
    assert_problem(res, StatusCode::PRECONDITION_FAILED, "precondition_failed").await;
    // If-Match uses strong comparison: a weak tag never matches; unquoted is no ETag.
    for header in ["W/\"2\"", "2"] {
        let res = app
            .send(
                Method::PATCH,
                &path,
                Some(&json!({"title": "weak"})),
                Some(&token),
                &[("if-match", header)],
            )
            .await;
        let problem =
            assert_problem(res, StatusCode::PRECONDITION_FAILED, "precondition_failed").await;
        assert_eq!(problem["current_etag"], "\"2\"", "{header}");
    }
    let read = app.get_ok(&path, &token).await;
    assert_eq!(read["title"], "v2");
    assert_eq!(read["version"], 2);
    // A list of ETags matches when one of them does.
    let res = app
        .send(
            Method::PATCH,
            &path,
            Some(&json!({"title": "listed"})),
            Some(&token),
            &[("if-match", "\"1\", \"2\"")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(etag(&res).as_deref(), Some("\"3\""));
    let res = app
        .send(
            Method::PATCH,
            &path,
            Some(&json!({"title": "v2"})),
            Some(&token),
            &[("if-match", "\"3\"")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(etag(&res).as_deref(), Some("\"4\""));

    // `*` matches any version.
    let res = app
        .send(
            Method::PUT,
            &path,
            Some(&json!({"title": "v3"})),
            Some(&token),
            &[("if-match", "*")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Value>().await.unwrap()["version"], 5);

    // DELETE with the right version.
    let res = app
        .send(
            Method::DELETE,
            &path,
            None,
            Some(&token),
            &[("if-match", "\"5\"")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = app.get(&path, Some(&token)).await;
    assert_problem(res, StatusCode::NOT_FOUND, "not_found").await;

    // `*` on DELETE.
    let other = app.create_event(&token, "other", &slot(5), &slot(6)).await;
    let res = app
        .send(
            Method::DELETE,
            &format!("/api/events/{}", id_of(&other)),
            None,
            Some(&token),
            &[("if-match", "*")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
}

async fn delete_then_404(backend: Backend) {
    let app = app!(backend);
    let (_, token) = app.user("deleter").await;
    let keep = app.create_event(&token, "keep", &slot(1), &slot(2)).await;
    let gone = app.create_event(&token, "gone", &slot(3), &slot(4)).await;
    let path = format!("/api/events/{}", id_of(&gone));
    let res = app.delete(&path, Some(&token)).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert!(res.bytes().await.unwrap().is_empty());
    let res = app.get(&path, Some(&token)).await;
    assert_problem(res, StatusCode::NOT_FOUND, "not_found").await;
    let res = app.delete(&path, Some(&token)).await;
    assert_problem(res, StatusCode::NOT_FOUND, "not_found").await;
    let res = app.patch(&path, &json!({"title": "x"}), Some(&token)).await;
    assert_problem(res, StatusCode::NOT_FOUND, "not_found").await;
    assert_eq!(list_ids(&app, &token, "").await, vec![id_of(&keep)]);
    // Its time range is free again; its id is not reused (it was the newest).
    let again = app.create_event(&token, "again", &slot(3), &slot(4)).await;
    assert!(id_of(&again) > id_of(&gone));
    // Anonymous deletes are refused.
    let res = app
        .delete(&format!("/api/events/{}", id_of(&keep)), None)
        .await;
    assert_problem(res, StatusCode::UNAUTHORIZED, "unauthorized").await;
}

async fn list_orders_by_start_then_id(backend: Backend) {
    let app = app!(backend);
    let (a_user, a) = app.user("lister").await;
    let (_, b) = app.user("sharer_b").await;
    let (_, c) = app.user("sharer_c").await;

    let late = app.create_event(&a, "late", &slot(20), &slot(21)).await;
    let early = app.create_event(&a, "early", &slot(5), &slot(6)).await;
    // Three events starting at the same instant, owned by three users.
    let same_b = app.create_event(&b, "same b", &slot(10), &slot(11)).await;
    let same_a = app.create_event(&a, "same a", &slot(10), &slot(12)).await;
    let same_c = app.create_event(&c, "same c", &slot(10), &slot(13)).await;
    app.share(&b, id_of(&same_b), a_user, "viewer").await;
    app.share(&c, id_of(&same_c), a_user, "editor").await;
    // Not shared with A: never listed.
    app.create_event(&b, "private", &slot(15), &slot(16)).await;

    let mut same = vec![id_of(&same_a), id_of(&same_b), id_of(&same_c)];
    same.sort_unstable();
    let mut expected = vec![id_of(&early)];
    expected.extend(&same);
    expected.push(id_of(&late));

    let page = app.get_ok("/api/events", &a).await;
    assert_eq!(page["next_cursor"], Value::Null);
    let items = page["items"].as_array().unwrap();
    for item in items {
        assert_event_read(item);
    }
    assert_eq!(ids(items), expected);
    let roles: HashMap<i64, &str> = items
        .iter()
        .map(|e| (id_of(e), e["role"].as_str().unwrap()))
        .collect();
    assert_eq!(roles[&id_of(&same_a)], "owner");
    assert_eq!(roles[&id_of(&same_b)], "viewer");
    assert_eq!(roles[&id_of(&same_c)], "editor");

    // Page by page (limit 1) crosses the equal start times without loss or repeat.
    let (paged, pages) = list_all(&app, &a, "", 1).await;
    assert_eq!(ids(&paged), expected);
    assert_eq!(pages, expected.len());
    let (paged, _) = list_all(&app, &a, "", 2).await;
    assert_eq!(ids(&paged), expected);
}

async fn list_filters_by_time_with_half_open_overlap(backend: Backend) {
    let app = app!(backend);
    let (_, token) = app.user("window").await;
    let e10 = id_of(&app.create_event(&token, "10", &slot(10), &slot(11)).await);
    let e12 = id_of(&app.create_event(&token, "12", &slot(12), &slot(13)).await);
    let e14 = id_of(&app.create_event(&token, "14", &slot(14), &slot(15)).await);
    let q = |from: Option<&str>, to: Option<&str>| {
        let mut parts = Vec::new();
        if let Some(f) = from {
            parts.push(format!("from={}", query_escape(f)));
        }
        if let Some(t) = to {
            parts.push(format!("to={}", query_escape(t)));
        }
        parts.join("&")
    };
    let cases: Vec<(String, Vec<i64>)> = vec![
        (q(Some(&slot(11)), Some(&slot(12))), vec![]),
        (q(Some(&slot(10)), Some(&slot(11))), vec![e10]),
        (
            q(Some("2030-01-01T10:30:00Z"), Some("2030-01-01T12:30:00Z")),
            vec![e10, e12],
        ),
        (q(Some(&slot(13)), None), vec![e14]),
        (q(None, Some(&slot(12))), vec![e10]),
        (q(Some("2030-01-01T12:59:59.999999Z"), None), vec![e12, e14]),
        (q(None, Some("2030-01-01T12:00:00.000001Z")), vec![e10, e12]),
        (q(Some(&slot(0)), Some(&slot(100))), vec![e10, e12, e14]),
        // A window inside an event.
        (
            q(Some("2030-01-01T14:10:00Z"), Some("2030-01-01T14:20:00Z")),
            vec![e14],
        ),
        // Any offset in the query.
        (
            q(
                Some("2030-01-01T12:30:00+02:00"),
                Some("2030-01-01T11:30:00-01:00"),
            ),
            vec![e10, e12],
        ),
        (
            q(
                Some("2030-01-01T12:30:00+02:00"),
                Some("2030-01-01T11:00:00-01:00"),
            ),
            vec![e10],
        ),
        (q(Some(&slot(15)), None), vec![]),
    ];
    for (query, expected) in cases {
        assert_eq!(list_ids(&app, &token, &query).await, expected, "{query}");
    }
    let res = app.get("/api/events?from=garbage", Some(&token)).await;
    assert_problem(res, StatusCode::BAD_REQUEST, "invalid_query").await;
}

async fn list_filters_by_role(backend: Backend) {
    let app = app!(backend);
    let (a_id, a) = app.user("roles_a").await;
    let (_, b) = app.user("roles_b").await;
    let (_, c) = app.user("roles_c").await;
    let own = app.create_event(&a, "own", &slot(1), &slot(2)).await;
    let edit = app.create_event(&b, "edit", &slot(3), &slot(4)).await;
    let view = app.create_event(&c, "view", &slot(5), &slot(6)).await;
    app.share(&b, id_of(&edit), a_id, "editor").await;
    app.share(&c, id_of(&view), a_id, "viewer").await;
    for (role, expected) in [
        ("owner", id_of(&own)),
        ("editor", id_of(&edit)),
        ("viewer", id_of(&view)),
    ] {
        let page = app.get_ok(&format!("/api/events?role={role}"), &a).await;
        let items = page["items"].as_array().unwrap();
        assert_eq!(ids(items), vec![expected], "role={role}");
        assert_eq!(items[0]["role"], role);
    }
    assert_eq!(
        list_ids(&app, &a, "").await,
        vec![id_of(&own), id_of(&edit), id_of(&view)]
    );
    // Role and time filters combine.
    assert_eq!(
        list_ids(
            &app,
            &a,
            &format!("role=editor&from={}", query_escape(&slot(4)))
        )
        .await,
        Vec::<i64>::new()
    );
    // B sees only B's event, as owner.
    let page = app.get_ok("/api/events", &b).await;
    assert_eq!(ids(page["items"].as_array().unwrap()), vec![id_of(&edit)]);
    assert_eq!(page["items"][0]["role"], "owner");
}

async fn list_query_validation(backend: Backend) {
    let app = app!(backend);
    let (_, token) = app.user("query").await;
    for i in 0..3 {
        app.create_event(&token, "e", &slot(i * 2), &slot(i * 2 + 1))
            .await;
    }
    for limit in ["0", "201"] {
        let res = app
            .get(&format!("/api/events?limit={limit}"), Some(&token))
            .await;
        let problem =
            assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(problem["errors"][0]["field"], "limit", "limit={limit}");
    }
    for limit in ["abc", "1.5"] {
        let res = app
            .get(&format!("/api/events?limit={limit}"), Some(&token))
            .await;
        assert_problem(res, StatusCode::BAD_REQUEST, "invalid_query").await;
    }
    for limit in [1, 200] {
        let page = app
            .get_ok(&format!("/api/events?limit={limit}"), &token)
            .await;
        assert_eq!(
            page["items"].as_array().unwrap().len(),
            (limit as usize).min(3)
        );
    }
    // The default limit (50) covers all three.
    let page = app.get_ok("/api/events", &token).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 3);
    assert_eq!(page["next_cursor"], Value::Null);
    for cursor in ["garbage", "AAAA", "eyJ4IjoxfQ", "%00%01"] {
        let res = app
            .get(&format!("/api/events?cursor={cursor}"), Some(&token))
            .await;
        assert_problem(res, StatusCode::BAD_REQUEST, "invalid_cursor").await;
    }
    let res = app.get("/api/events", None).await;
    assert_problem(res, StatusCode::UNAUTHORIZED, "unauthorized").await;
}

async fn keyset_pagination_is_stable_under_inserts(backend: Backend) {
    let app = app!(backend);
    let (_, token) = app.user("pager").await;
    // 25 events at even hours 100, 102, … 148.
    let mut original = Vec::new();
    for i in 0..25 {
        let e = app
            .create_event(
                &token,
                &format!("e{i}"),
                &slot(100 + 2 * i),
                &slot(101 + 2 * i),
            )
            .await;
        original.push(id_of(&e));
    }
    let mut seen: Vec<Value> = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    // Inserted between pages: before everything, between already-seen events, between
    // future ones, after everything.
    let mut inserts = vec![(99, 100), (101, 102), (147, 148), (300, 301), (129, 130)].into_iter();
    let mut inserted = 0;
    loop {
        let path = match &cursor {
            None => "/api/events?limit=7".to_owned(),
            Some(c) => format!("/api/events?limit=7&cursor={}", query_escape(c)),
        };
        let page = app.get_ok(&path, &token).await;
        pages += 1;
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 7);
        seen.extend(items.iter().cloned());
        if let Some((s, e)) = inserts.next() {
            app.create_event(&token, "inserted", &slot(s), &slot(e))
                .await;
            inserted += 1;
        }
        match &page["next_cursor"] {
            Value::Null => break,
            Value::String(c) => cursor = Some(c.clone()),
            other => panic!("next_cursor {other}"),
        }
        assert!(pages < 20, "pagination does not end");
    }
    let seen_ids = ids(&seen);
    let unique: HashSet<i64> = seen_ids.iter().copied().collect();
    assert_eq!(unique.len(), seen_ids.len(), "no duplicates: {seen_ids:?}");
    for id in &original {
        assert!(unique.contains(id), "event {id} missing from {seen_ids:?}");
    }
    // Pages are in (start_time, id) order throughout.
    let keys: Vec<(String, i64)> = seen
        .iter()
        .map(|e| (e["start_time"].as_str().unwrap().to_owned(), id_of(e)))
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
    // A final full listing has every event, the inserted ones too.
    assert!(inserted >= 4, "at least four pages");
    let (all, pages) = list_all(&app, &token, "", 7).await;
    assert_eq!(all.len(), 25 + inserted);
    assert_eq!(pages, (25 + inserted).div_ceil(7));
}

async fn touching_events_do_not_conflict(backend: Backend) {
    let app = app!(backend);
    let (_, token) = app.user("toucher").await;
    app.create_event(&token, "a", &slot(10), &slot(11)).await;
    app.create_event(&token, "b", &slot(11), &slot(12)).await;
    app.create_event(&token, "c", &slot(9), &slot(10)).await;
    // Microsecond-precise touching.
    app.create_event(
        &token,
        "d",
        "2030-01-01T12:00:00Z",
        "2030-01-01T12:00:00.000001Z",
    )
    .await;
    app.create_event(
        &token,
        "e",
        "2030-01-01T12:00:00.000001Z",
        "2030-01-01T12:30:00Z",
    )
    .await;
    assert_eq!(list_ids(&app, &token, "").await.len(), 5);
}

fn assert_conflicts(problem: &Value, expected: &[&Value]) {
    let conflicts = problem["conflicts"]
        .as_array()
        .unwrap_or_else(|| panic!("conflicts in {problem}"));
    let mut got: Vec<(i64, Value, Value, Value)> = conflicts
        .iter()
        .map(|c| {
            // Outside a batch, exactly the documented members.
            let keys: BTreeSet<&str> = c.as_object().unwrap().keys().map(String::as_str).collect();
            assert_eq!(
                keys,
                BTreeSet::from(["id", "title", "start_time", "end_time"]),
                "conflict members of {c}"
            );
            (
                c["id"].as_i64().unwrap_or_else(|| panic!("id in {c}")),
                c["title"].clone(),
                c["start_time"].clone(),
                c["end_time"].clone(),
            )
        })
        .collect();
    got.sort_by_key(|g| g.0);
    let mut want: Vec<(i64, Value, Value, Value)> = expected
        .iter()
        .map(|e| {
            (
                id_of(e),
                e["title"].clone(),
                e["start_time"].clone(),
                e["end_time"].clone(),
            )
        })
        .collect();
    want.sort_by_key(|w| w.0);
    assert_eq!(got, want, "conflicts of {problem}");
}

async fn overlapping_creates_conflict(backend: Backend) {
    let app = app!(backend);
    let (_, token) = app.user("overlap").await;
    let standup = app
        .create_event(&token, "Standup", &slot(10), &slot(11))
        .await;
    let lunch = app
        .create_event(&token, "Lunch", &slot(12), &slot(13))
        .await;
    let cases: Vec<(&str, &str, Vec<&Value>)> = vec![
        (
            "2030-01-01T10:30:00Z",
            "2030-01-01T11:30:00Z",
            vec![&standup],
        ),
        (
            "2030-01-01T09:30:00Z",
            "2030-01-01T10:00:00.000001Z",
            vec![&standup],
        ),
        // Identical range.
        (
            "2030-01-01T10:00:00Z",
            "2030-01-01T11:00:00Z",
            vec![&standup],
        ),
        // Containment, both ways.
        (
            "2030-01-01T09:00:00Z",
            "2030-01-01T12:00:00Z",
            vec![&standup],
        ),
        (
            "2030-01-01T10:15:00Z",
            "2030-01-01T10:45:00Z",
            vec![&standup],
        ),
        // Spanning two events.
        (
            "2030-01-01T10:59:59Z",
            "2030-01-01T12:00:01Z",
            vec![&standup, &lunch],
        ),
        (
            "2030-01-01T08:00:00Z",
            "2030-01-01T20:00:00Z",
            vec![&standup, &lunch],
        ),
    ];
    for (start, end, expected) in cases {
        let res = create_raw(
            &app,
            &token,
            json!({"title": "clash", "start_time": start, "end_time": end}),
        )
        .await;
        let problem = assert_problem(res, StatusCode::CONFLICT, "event_conflict").await;
        assert_conflicts(&problem, &expected);
    }
    assert_eq!(
        list_ids(&app, &token, "").await,
        vec![id_of(&standup), id_of(&lunch)]
    );
    // The gap between them is free.
    app.create_event(&token, "gap", &slot(11), &slot(12)).await;
}

async fn conflicts_are_per_owner(backend: Backend) {
    let app = app!(backend);
    let (a_id, a) = app.user("owner_a").await;
    let (_, b) = app.user("owner_b").await;
    let ea = app.create_event(&a, "A's", &slot(10), &slot(11)).await;
    let eb = app.create_event(&b, "B's", &slot(10), &slot(11)).await;
    assert_ne!(id_of(&ea), id_of(&eb));
    // Even when B's event is shared with A, A's own calendar is what counts.
    app.share(&b, id_of(&eb), a_id, "editor").await;
    app.create_event(&a, "A's second", &slot(11), &slot(12))
        .await;
    let res = create_raw(
        &app,
        &a,
        json!({"title": "clash", "start_time": "2030-01-01T10:30:00Z", "end_time": "2030-01-01T10:40:00Z"}),
    )
    .await;
    let problem = assert_problem(res, StatusCode::CONFLICT, "event_conflict").await;
    assert_conflicts(&problem, &[&ea]);
}

async fn editor_moves_are_checked_against_the_owners_calendar(backend: Backend) {
    let app = app!(backend);
    let (_, owner) = app.user("cal_owner").await;
    let (editor_id, editor) = app.user("cal_editor").await;
    let moved = app
        .create_event(&owner, "Moved", &slot(10), &slot(11))
        .await;
    let blocker = app
        .create_event(&owner, "Blocker", &slot(16), &slot(17))
        .await;
    app.share(&owner, id_of(&moved), editor_id, "editor").await;
    let own = app
        .create_event(&editor, "Editor's own", &slot(14), &slot(15))
        .await;
    let path = format!("/api/events/{}", id_of(&moved));

    // Onto the editor's own event: fine, the owner has nothing there.
    let res = app
        .patch(
            &path,
            &json!({"start_time": slot(14), "end_time": slot(15)}),
            Some(&editor),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let read: Value = res.json().await.unwrap();
    assert_eq!(read["start_time"], slot(14));
    assert_eq!(read["role"], "editor");
    assert_eq!(read["version"], 2);

    // Onto another event of the owner: 409 listing it.
    let res = app
        .put(
            &path,
            &json!({"start_time": "2030-01-01T16:30:00Z", "end_time": "2030-01-01T17:30:00Z"}),
            Some(&editor),
        )
        .await;
    let problem = assert_problem(res, StatusCode::CONFLICT, "event_conflict").await;
    assert_conflicts(&problem, &[&blocker]);
    let read = app.get_ok(&path, &owner).await;
    assert_eq!(read["start_time"], slot(14));
    assert_eq!(read["version"], 2);
    // The editor's own calendar is untouched and still free to overlap the owner's.
    let res = app
        .get(&format!("/api/events/{}", id_of(&own)), Some(&editor))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
}

async fn updates_are_conflict_checked(backend: Backend) {
    let app = app!(backend);
    let (_, token) = app.user("mover").await;
    let a = app.create_event(&token, "A", &slot(10), &slot(11)).await;
    let b = app.create_event(&token, "B", &slot(12), &slot(13)).await;
    let path = format!("/api/events/{}", id_of(&b));
    for body in [
        json!({"start_time": "2030-01-01T10:30:00Z", "end_time": "2030-01-01T12:30:00Z"}),
        json!({"start_time": slot(10), "end_time": slot(11)}),
        json!({"start_time": "2030-01-01T10:59:00Z"}),
    ] {
        let res = app.patch(&path, &body, Some(&token)).await;
        let problem = assert_problem(res, StatusCode::CONFLICT, "event_conflict").await;
        assert_conflicts(&problem, &[&a]);
    }
    let read = app.get_ok(&path, &token).await;
    assert_eq!(read["version"], 1);
    assert_eq!(read["start_time"], slot(12));

    // Touching A: fine.
    let res = app
        .patch(&path, &json!({"start_time": slot(11)}), Some(&token))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Value>().await.unwrap()["version"], 2);
    // Overlapping only its own previous range: an event never conflicts with itself.
    let res = app
        .put(
            &path,
            &json!({"start_time": "2030-01-01T11:30:00Z", "end_time": "2030-01-01T13:30:00Z"}),
            Some(&token),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Value>().await.unwrap()["version"], 3);
    // Changing only the title of an event keeps its range and is no conflict.
    let res = app
        .patch(&path, &json!({"title": "B2"}), Some(&token))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
}

async fn concurrent_overlapping_creates_one_wins(backend: Backend) {
    let app = app!(backend);
    let (_, token) = app.user("racer").await;
    let requests = (0..20)
        .map(|i| {
            // Every pair overlaps: all start within 19 minutes and last an hour.
            app.request(Method::POST, "/api/events")
                .bearer_auth(&token)
                .json(&json!({"title": format!("race {i}"),
                              "start_time": format!("2030-01-01T10:{i:02}:00Z"),
                              "end_time": format!("2030-01-01T11:{i:02}:00Z")}))
        })
        .collect();
    let mut created = 0;
    let mut conflicts = 0;
    for (status, body) in race(requests).await {
        match status {
            StatusCode::CREATED => created += 1,
            StatusCode::CONFLICT => {
                assert_eq!(body["code"], "event_conflict");
                conflicts += 1;
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!((created, conflicts), (1, 19));
    assert_eq!(list_ids(&app, &token, "").await.len(), 1);
}

async fn concurrent_if_match_updates_one_wins(backend: Backend) {
    let app = app!(backend);
    let (_, token) = app.user("writer").await;
    let event = app.create_event(&token, "v1", &slot(1), &slot(2)).await;
    let path = format!("/api/events/{}", id_of(&event));
    let requests = (0..10)
        .map(|i| {
            app.request(Method::PATCH, &path)
                .bearer_auth(&token)
                .header("if-match", "\"1\"")
                .json(&json!({"title": format!("writer {i}")}))
        })
        .collect();
    let mut winners = Vec::new();
    let mut refused = 0;
    for (i, (status, body)) in race(requests).await.into_iter().enumerate() {
        match status {
            StatusCode::OK => {
                assert_eq!(body["version"], 2);
                winners.push(i);
            }
            StatusCode::PRECONDITION_FAILED => {
                assert_eq!(body["code"], "precondition_failed");
                assert_eq!(body["current_etag"], "\"2\"");
                refused += 1;
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one winner");
    assert_eq!(refused, 9);
    let read = app.get_ok(&path, &token).await;
    assert_eq!(read["version"], 2);
    assert_eq!(read["title"], format!("writer {}", winners[0]));
}

async fn post_batch(app: &TestApp, token: &str, events: Vec<Value>) -> reqwest::Response {
    app.post("/api/events/batch", &json!({"events": events}), Some(token))
        .await
}

fn item(title: &str, start: &str, end: &str) -> Value {
    json!({"title": title, "start_time": start, "end_time": end})
}

async fn batch_creates_in_request_order(backend: Backend) {
    let app = app!(backend);
    let (owner, token) = app.user("batcher").await;
    let res = post_batch(
        &app,
        &token,
        vec![
            item("third", &slot(14), &slot(15)),
            json!({"title": "first", "description": "d", "location": "L",
                   "start_time": "2030-01-01T12:00:00+02:00", "end_time": slot(11)}),
            item("second", &slot(12), &slot(13)),
            // Touching items do not conflict.
            item("touching", &slot(13), &slot(14)),
        ],
    )
    .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let created: Vec<Value> = res.json().await.unwrap();
    assert_eq!(created.len(), 4);
    let titles: Vec<&str> = created
        .iter()
        .map(|e| e["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["third", "first", "second", "touching"]);
    for e in &created {
        assert_event_read(e);
        assert_eq!(e["version"], 1);
        assert_eq!(e["owner_id"], owner);
        assert_eq!(e["role"], "owner");
    }
    assert_eq!(created[1]["start_time"], slot(10));
    assert_eq!(created[1]["description"], "d");
    assert_eq!(created[1]["location"], "L");
    assert_eq!(created[0]["description"], "");
    assert_eq!(created[0]["location"], Value::Null);
    let unique: HashSet<i64> = ids(&created).into_iter().collect();
    assert_eq!(unique.len(), 4);
    // All stored and readable.
    let listed = list_ids(&app, &token, "").await;
    assert_eq!(
        listed,
        vec![
            id_of(&created[1]),
            id_of(&created[2]),
            id_of(&created[3]),
            id_of(&created[0])
        ]
    );
    for e in &created {
        let read = app
            .get_ok(&format!("/api/events/{}", id_of(e)), &token)
            .await;
        assert_eq!(&read, e);
    }
}

fn conflict_indices(problem: &Value) -> BTreeSet<i64> {
    problem["conflicts"]
        .as_array()
        .unwrap_or_else(|| panic!("conflicts in {problem}"))
        .iter()
        .map(|c| {
            c["index"]
                .as_i64()
                .unwrap_or_else(|| panic!("index in conflict {c}"))
        })
        .collect()
}

async fn batch_conflicts_are_atomic(backend: Backend) {
    let app = app!(backend);
    let (_, token) = app.user("batchclash").await;
    let stored = app
        .create_event(&token, "Stored", &slot(20), &slot(21))
        .await;
    let before = list_ids(&app, &token, "").await;

    // Two items overlap each other.
    let res = post_batch(
        &app,
        &token,
        vec![
            item("a", &slot(10), &slot(11)),
            item("b", &slot(12), &slot(13)),
            item("c", "2030-01-01T10:30:00Z", "2030-01-01T11:30:00Z"),
        ],
    )
    .await;
    let problem = assert_problem(res, StatusCode::CONFLICT, "event_conflict").await;
    let indices = conflict_indices(&problem);
    assert!(!indices.is_empty());
    assert!(
        indices.is_subset(&BTreeSet::from([0, 2])),
        "only items 0 and 2 overlap: {problem}"
    );
    assert_eq!(list_ids(&app, &token, "").await, before);

    // An item overlaps a stored event.
    let res = post_batch(
        &app,
        &token,
        vec![
            item("ok", &slot(18), &slot(19)),
            item("clash", "2030-01-01T20:30:00Z", "2030-01-01T21:30:00Z"),
            item("ok too", &slot(22), &slot(23)),
        ],
    )
    .await;
    let problem = assert_problem(res, StatusCode::CONFLICT, "event_conflict").await;
    let conflicts = problem["conflicts"].as_array().unwrap();
    assert_eq!(conflicts.len(), 1, "{problem}");
    assert_eq!(conflicts[0]["index"], 1);
    assert_eq!(conflicts[0]["id"], stored["id"]);
    assert_eq!(conflicts[0]["title"], "Stored");
    assert_eq!(conflicts[0]["start_time"], slot(20));
    assert_eq!(conflicts[0]["end_time"], slot(21));
    assert_eq!(list_ids(&app, &token, "").await, before);
    // The free items of the failed batches were not stored: their slots are free.
    app.create_event(&token, "free", &slot(18), &slot(19)).await;
    app.create_event(&token, "free", &slot(10), &slot(11)).await;
}

async fn batch_validation_is_atomic(backend: Backend) {
    let app = app!(backend);
    let (_, token) = app.user("batchval").await;
    let res = post_batch(
        &app,
        &token,
        vec![
            item("ok", &slot(1), &slot(2)),
            item("", &slot(3), &slot(4)),
            item("ok", &slot(5), &slot(6)),
            item("bad range", &slot(8), &slot(7)),
            json!({"title": "no times"}),
        ],
    )
    .await;
    let problem = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    let got = field_errors(&problem);
    let want: Vec<(Option<i64>, String)> = vec![
        (Some(1), "title".into()),
        (Some(3), "end_time".into()),
        (Some(4), "end_time".into()),
        (Some(4), "start_time".into()),
    ];
    assert_eq!(got, want, "{problem}");
    assert!(list_ids(&app, &token, "").await.is_empty());

    // Unparsable timestamps in one item and rule violations in another: all reported.
    let res = post_batch(
        &app,
        &token,
        vec![
            item("ok", "half past ten", &slot(2)),
            item(" ", &slot(3), &slot(4)),
            json!({"title": "x", "location": "l".repeat(501), "start_time": slot(5), "end_time": slot(6)}),
        ],
    )
    .await;
    let problem = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    let want: Vec<(Option<i64>, String)> = vec![
        (Some(0), "start_time".into()),
        (Some(1), "title".into()),
        (Some(2), "location".into()),
    ];
    assert_eq!(field_errors(&problem), want, "{problem}");
    assert!(list_ids(&app, &token, "").await.is_empty());

    // Empty batch.
    let res = post_batch(&app, &token, vec![]).await;
    assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert!(list_ids(&app, &token, "").await.is_empty());
}

async fn batch_size_limits(backend: Backend) {
    let app = app!(backend);
    let (_, token) = app.user("bigbatch").await;
    let items = |n: u32| -> Vec<Value> {
        (0..n)
            .map(|h| item(&format!("h{h}"), &slot(h), &slot(h + 1)))
            .collect()
    };
    let res = post_batch(&app, &token, items(501)).await;
    assert_problem(res, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
    assert!(list_ids(&app, &token, "").await.is_empty());

    let res = post_batch(&app, &token, items(500)).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let created: Vec<Value> = res.json().await.unwrap();
    assert_eq!(created.len(), 500);
    for (h, e) in created.iter().enumerate() {
        assert_eq!(e["title"], format!("h{h}"));
        assert_eq!(e["start_time"], slot(h as u32));
        assert_eq!(e["version"], 1);
    }
    let (all, pages) = list_all(&app, &token, "", 200).await;
    assert_eq!(all.len(), 500);
    assert_eq!(pages, 3);
    assert_eq!(ids(&all), ids(&created));
}

async fn concurrent_moves_and_creates_onto_one_slot_one_wins(backend: Backend) {
    let app = app!(backend);
    let (_, token) = app.user("mover_race").await;
    let mut requests = Vec::new();
    for i in 0..10 {
        let e = app
            .create_event(&token, &format!("m{i}"), &slot(2 * i), &slot(2 * i + 1))
            .await;
        // Move every event onto [100, 101) (overlapping one another by minutes).
        requests.push(
            app.request(Method::PATCH, &format!("/api/events/{}", id_of(&e)))
                .bearer_auth(&token)
                .json(&json!({"start_time": format!("2030-01-05T04:{i:02}:00Z"),
                              "end_time": format!("2030-01-05T05:{i:02}:00Z")})),
        );
        // And create new events there too.
        requests.push(
            app.request(Method::POST, "/api/events")
                .bearer_auth(&token)
                .json(&json!({"title": format!("c{i}"),
                              "start_time": format!("2030-01-05T04:{:02}:00Z", 30 + i),
                              "end_time": format!("2030-01-05T05:{:02}:00Z", 30 + i)})),
        );
    }
    let results = race(requests).await;
    let mut wins = 0;
    for (status, body) in &results {
        match *status {
            StatusCode::OK | StatusCode::CREATED => wins += 1,
            StatusCode::CONFLICT => assert_eq!(body["code"], "event_conflict"),
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!(wins, 1, "exactly one write lands in the contested hour");
    let in_slot = list_ids(
        &app,
        &token,
        &format!(
            "from={}&to={}",
            query_escape(&slot(100)),
            query_escape(&slot(102))
        ),
    )
    .await;
    assert_eq!(in_slot.len(), 1);
    assert_eq!(
        list_ids(&app, &token, "").await.len(),
        10 + usize::from(results.iter().any(|(s, _)| *s == StatusCode::CREATED),)
    );
}

/// Two servers on one database: the conflict check still lets exactly one write through.
async fn two_instances_share_the_conflict_guard(backend: Backend) {
    let app = app!(backend);
    let second = convene_tests::start(convene_tests::test_settings(&app.db.url())).await;
    let (_, token) = app.user("two_servers").await;
    let mut requests = Vec::new();
    for i in 0..20 {
        let base = if i % 2 == 0 { &app.address } else { &second };
        requests.push(
            app.client
                .post(format!("{base}/api/events"))
                .bearer_auth(&token)
                .json(&json!({"title": format!("r{i}"),
                              "start_time": format!("2030-01-01T10:{i:02}:00Z"),
                              "end_time": format!("2030-01-01T11:{i:02}:00Z")})),
        );
    }
    let results = race(requests).await;
    let created = results
        .iter()
        .filter(|(s, _)| *s == StatusCode::CREATED)
        .count();
    for (status, body) in &results {
        assert!(
            *status == StatusCode::CREATED
                || (*status == StatusCode::CONFLICT && body["code"] == "event_conflict"),
            "unexpected {status}: {body}"
        );
    }
    assert_eq!(created, 1);
    assert_eq!(list_ids(&app, &token, "").await.len(), 1);
}

async fn msgpack_event_round_trip(backend: Backend) {
    let app = app!(backend);
    let (_, token) = app.user("packed").await;
    let body = json!({"title": "Packed", "start_time": "2030-01-01T10:00:00+01:00",
                      "end_time": slot(10), "location": null});
    let res = app
        .request(Method::POST, "/api/events")
        .bearer_auth(&token)
        .header("content-type", "application/msgpack")
        .header("accept", "application/msgpack")
        .body(rmp_serde::to_vec_named(&body).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(
        res.headers().get("content-type").unwrap(),
        "application/msgpack"
    );
    assert_eq!(etag(&res).as_deref(), Some("\"1\""));
    let created: Value = rmp_serde::from_slice(&res.bytes().await.unwrap()).unwrap();
    assert_event_read(&created);
    assert_eq!(created["start_time"], slot(9));
    let as_json = app
        .get_ok(&format!("/api/events/{}", id_of(&created)), &token)
        .await;
    assert_eq!(as_json, created);
    // A conflict answered in MessagePack still carries its conflicts.
    let res = app
        .request(Method::POST, "/api/events")
        .bearer_auth(&token)
        .header("accept", "application/msgpack")
        .json(&json!({"title": "clash", "start_time": slot(9), "end_time": slot(10)}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let problem: Value = rmp_serde::from_slice(&res.bytes().await.unwrap()).unwrap();
    assert_eq!(problem["code"], "event_conflict");
    assert_eq!(problem["conflicts"][0]["id"], created["id"]);
}

async fn pagination_keeps_its_filters(backend: Backend) {
    let app = app!(backend);
    let (me, token) = app.user("filtered").await;
    let (_, other) = app.user("filtered_other").await;
    let mut mine = Vec::new();
    for i in 0..9 {
        mine.push(id_of(
            &app.create_event(&token, "mine", &slot(4 * i), &slot(4 * i + 1))
                .await,
        ));
        let shared = app
            .create_event(&other, "theirs", &slot(4 * i), &slot(4 * i + 1))
            .await;
        app.share(&other, id_of(&shared), me, "viewer").await;
    }
    // Owner only, 2 per page: the cursor keeps the role filter.
    let (items, pages) = list_all(&app, &token, "role=owner", 2).await;
    assert_eq!(ids(&items), mine);
    assert_eq!(pages, 5);
    // Time window [slot 8, slot 25): events at 8, 12, 16, 20, 24 of both users.
    let query = format!(
        "from={}&to={}",
        query_escape(&slot(8)),
        query_escape(&slot(25))
    );
    let (items, _) = list_all(&app, &token, &query, 3).await;
    assert_eq!(items.len(), 10);
    for item in &items {
        let start = item["start_time"].as_str().unwrap();
        assert!(
            start >= slot(8).as_str() && start < slot(25).as_str(),
            "{start}"
        );
    }
    let (items, _) = list_all(&app, &token, &format!("{query}&role=viewer"), 2).await;
    assert_eq!(items.len(), 5);
    assert!(items.iter().all(|e| e["role"] == "viewer"));
}

async fn deleted_events_leave_every_list(backend: Backend) {
    let app = app!(backend);
    let (_, owner) = app.user("dl_owner").await;
    let (editor, editor_token) = app.user("dl_editor").await;
    let (viewer, viewer_token) = app.user("dl_viewer").await;
    let event = app.create_event(&owner, "Doomed", &slot(1), &slot(2)).await;
    let keep = app.create_event(&owner, "Kept", &slot(3), &slot(4)).await;
    for e in [&event, &keep] {
        app.share(&owner, id_of(e), editor, "editor").await;
        app.share(&owner, id_of(e), viewer, "viewer").await;
    }
    // Only the owner deletes.
    for tok in [&editor_token, &viewer_token] {
        let res = app
            .delete(&format!("/api/events/{}", id_of(&event)), Some(tok))
            .await;
        assert_problem(res, StatusCode::FORBIDDEN, "forbidden").await;
    }
    let res = app
        .delete(&format!("/api/events/{}", id_of(&event)), Some(&owner))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    for tok in [&owner, &editor_token, &viewer_token] {
        assert_eq!(list_ids(&app, tok, "").await, vec![id_of(&keep)]);
        let res = app
            .get(&format!("/api/events/{}", id_of(&event)), Some(tok))
            .await;
        assert_problem(res, StatusCode::NOT_FOUND, "not_found").await;
        let res = app
            .get(
                &format!("/api/events/{}/permissions", id_of(&event)),
                Some(tok),
            )
            .await;
        assert_problem(res, StatusCode::NOT_FOUND, "not_found").await;
    }
}

async fn malformed_ids_are_client_errors(backend: Backend) {
    let app = app!(backend);
    let (_, token) = app.user("badids").await;
    for path in [
        "/api/events/abc",
        "/api/events/-1",
        "/api/events/0",
        "/api/events/99999999999999999999999",
        "/api/events/1.5/changelog",
        "/api/events/1/versions/x",
    ] {
        let res = app.get(path, Some(&token)).await;
        let status = res.status();
        assert!(
            status == StatusCode::NOT_FOUND || status == StatusCode::BAD_REQUEST,
            "{path}: {status}"
        );
        assert_eq!(
            res.headers().get("content-type").unwrap(),
            "application/problem+json",
            "{path}"
        );
    }
}

async fn a_long_event_conflicts_with_many(backend: Backend) {
    let app = app!(backend);
    let (_, token) = app.user("crowded").await;
    // 70 back-to-back half-hour events from slot 10 on.
    let events: Vec<Value> = (0..70)
        .map(|i| {
            let (h, m) = (10 + i / 2, (i % 2) * 30);
            let start = format!("{}:{:02}:00Z", &slot(h)[..13], m);
            let end = if m == 0 {
                format!("{}:30:00Z", &slot(h)[..13])
            } else {
                slot(h + 1)
            };
            item(&format!("s{i}"), &start, &end)
        })
        .collect();
    let res = post_batch(&app, &token, events).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let created: Vec<Value> = res.json().await.unwrap();
    // Before and after them: free.
    app.create_event(&token, "before", &slot(9), &slot(10))
        .await;
    app.create_event(&token, "after", &slot(45), &slot(46))
        .await;
    // One long event over all 70: every one of them is listed, in start order.
    let res = create_raw(
        &app,
        &token,
        json!({"title": "long", "start_time": "2030-01-01T10:15:00Z", "end_time": "2030-01-02T20:45:00Z"}),
    )
    .await;
    let problem = assert_problem(res, StatusCode::CONFLICT, "event_conflict").await;
    let listed: Vec<i64> = problem["conflicts"]
        .as_array()
        .unwrap()
        .iter()
        .map(id_of)
        .collect();
    let mut sorted = listed.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, ids(&created), "every overlapped event is listed");
    // Moving the "after" event over the last 40 lists exactly those.
    let after = list_ids(&app, &token, &format!("from={}", query_escape(&slot(45)))).await;
    let res = app
        .patch(
            &format!("/api/events/{}", after[0]),
            &json!({"start_time": slot(25)}),
            Some(&token),
        )
        .await;
    let problem = assert_problem(res, StatusCode::CONFLICT, "event_conflict").await;
    let listed: BTreeSet<i64> = problem["conflicts"]
        .as_array()
        .unwrap()
        .iter()
        .map(id_of)
        .collect();
    assert_eq!(listed, ids(&created[30..]).into_iter().collect());
}

async fn extreme_dates_round_trip_and_paginate(backend: Backend) {
    let app = app!(backend);
    let (_, token) = app.user("timelord").await;
    let ranges = [
        ("0001-01-01T00:00:00Z", "0001-01-01T01:00:00Z"),
        ("1969-12-31T23:00:00Z", "1969-12-31T23:59:59.999999Z"),
        ("1969-12-31T23:59:59.999999Z", "1970-01-01T00:00:00.000001Z"),
        ("2030-06-30T12:00:00Z", "2030-06-30T13:00:00Z"),
        ("9999-12-31T22:00:00Z", "9999-12-31T23:59:59.999999Z"),
    ];
    let mut expected = Vec::new();
    for (start, end) in ranges.iter().rev() {
        let e = app.create_event(&token, "t", start, end).await;
        assert_eq!(e["start_time"], *start);
        assert_eq!(e["end_time"], *end);
        expected.insert(0, id_of(&e));
    }
    let (items, pages) = list_all(&app, &token, "", 1).await;
    assert_eq!(ids(&items), expected);
    assert_eq!(pages, 5);
    let window = format!(
        "from={}&to={}",
        query_escape("1969-12-31T23:59:59.999999Z"),
        query_escape("1970-01-01T00:00:00Z")
    );
    assert_eq!(list_ids(&app, &token, &window).await, vec![expected[2]]);
    let res = create_raw(
        &app,
        &token,
        json!({"title": "clash", "start_time": "1969-12-31T23:59:59.999998Z", "end_time": "1969-12-31T23:59:59.999999001Z"}),
    )
    .await;
    // Nanoseconds are beyond the contract's precision: refused, not rounded.
    let problem = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(field_errors(&problem), fields(&["end_time"]));
    let res = create_raw(
        &app,
        &token,
        json!({"title": "clash", "start_time": "1969-12-31T23:59:59.999998Z", "end_time": "1970-01-01T00:00:00Z"}),
    )
    .await;
    let problem = assert_problem(res, StatusCode::CONFLICT, "event_conflict").await;
    let conflicting: BTreeSet<i64> = problem["conflicts"]
        .as_array()
        .unwrap()
        .iter()
        .map(id_of)
        .collect();
    assert_eq!(conflicting, BTreeSet::from([expected[1], expected[2]]));
}
