//! Events: create, read, update and delete one event: the `EventRead` document,
//! validation, UTC timestamps, conditional requests (`ETag`, `If-Match`,
//! `If-None-Match`), MessagePack bodies.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use convene_tests::{
    app, assert_event_read, assert_problem, backend_tests, etag, field_errors, fields, id_of,
    list_event_ids, slot, ts_key, Backend, StatusCode, TestApp,
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
    msgpack_event_round_trip,
    deleted_events_leave_every_list,
    malformed_ids_are_client_errors,
    a_body_s_values_are_judged_after_access;
    postgres_only: hot_statements_diesel_would_not_prepare_are_prepared_once,
);

async fn create_returns_event_read(backend: Backend) {
    let app = app!(backend);
    let (alice, token) = app.user("alice").await;
    let res = app
        .create_event_raw(
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
    let res = app
        .create_event_raw(
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
    let res = app.create_event_raw(&token,
        json!({"title": "touch", "start_time": "2030-01-01T09:00:00Z", "end_time": "2030-01-01T10:00:00Z"}),
    )
    .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let res = app.create_event_raw(&token,
        json!({"title": "overlap", "start_time": "2030-01-01T03:30:00-05:00", "end_time": "2030-01-01T08:45:00Z"}),
    )
    .await;
    assert_problem(res, StatusCode::CONFLICT, "event_conflict").await;
}

async fn validation_problem(app: &TestApp, token: &str, body: Value) -> Vec<(Option<i64>, String)> {
    let res = app.create_event_raw(token, body.clone()).await;
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
    assert!(list_event_ids(&app, &token, "").await.is_empty());
}

async fn validation_bounds_are_inclusive(backend: Backend) {
    let app = app!(backend);
    let (_, token) = app.user("bounds").await;
    // Limits count characters, not bytes.
    let res = app
        .create_event_raw(
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
    let res = app.create_event_raw(&token,
        json!({"title": "x", "start_time": "2030-01-01T05:00:00Z", "end_time": "2030-01-01T05:00:00.000001Z"}),
    )
    .await;
    assert_eq!(res.status(), StatusCode::CREATED);
}

/// `GET path` with `If-None-Match: tag` as the bearer of `token`.
async fn get_if_none_match(app: &TestApp, path: &str, token: &str, tag: &str) -> reqwest::Response {
    app.send(
        Method::GET,
        path,
        None,
        Some(token),
        &[("if-none-match", tag)],
    )
    .await
}

async fn get_honours_if_none_match(backend: Backend) {
    let app = app!(backend);
    let (_, token) = app.user("getter").await;
    let event = app.create_event(&token, "e", &slot(1), &slot(2)).await;
    let path = format!("/api/events/{}", id_of(&event));
    let res = app.get(&path, Some(&token)).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(etag(&res).as_deref(), Some("\"1\""));
    let res = get_if_none_match(&app, &path, &token, "\"1\"").await;
    assert_eq!(res.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(etag(&res).as_deref(), Some("\"1\""));
    // A 304 carries the Vary its 200 would (RFC 9110 §15.4.5).
    assert_eq!(res.headers()["vary"], "Accept");
    assert!(res.bytes().await.unwrap().is_empty());
    // Tags are compared as text: "01" is not "1".
    let res = get_if_none_match(&app, &path, &token, "\"01\"").await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = get_if_none_match(&app, &path, &token, "\"7\"").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Value>().await.unwrap()["version"], 1);

    // After an update the old ETag no longer matches.
    let res = app
        .patch(&path, &json!({"title": "e2"}), Some(&token))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = get_if_none_match(&app, &path, &token, "\"1\"").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(etag(&res).as_deref(), Some("\"2\""));
    let res = get_if_none_match(&app, &path, &token, "\"2\"").await;
    assert_eq!(res.status(), StatusCode::NOT_MODIFIED);

    // Unknown ids.
    let res = app.get("/api/events/999999", Some(&token)).await;
    assert_problem(res, StatusCode::NOT_FOUND, "not_found").await;
}

async fn put_and_patch_update_partially(backend: Backend) {
    let app = app!(backend);
    let (owner, token) = app.user("upd").await;
    let res = app
        .create_event_raw(
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
    // `description: null` clears it to "" (its default on create).
    let res = app
        .patch(&path, &json!({"description": null}), Some(&token))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let v7: Value = res.json().await.unwrap();
    assert_eq!(v7["description"], "");
    assert_eq!(v7["version"], 7);

    // GET agrees with the last response.
    let res = app.get(&path, Some(&token)).await;
    assert_eq!(etag(&res).as_deref(), Some("\"7\""));
    assert_eq!(res.json::<Value>().await.unwrap(), v7);

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
    let res = app
        .create_event_raw(
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
        .send_if_match(
            Method::PATCH,
            &path,
            Some(&json!({"title": "v2"})),
            &token,
            "\"1\"",
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(etag(&res).as_deref(), Some("\"2\""));

    // Stale version: 412 with the current ETag, nothing changed.
    for method in [Method::PATCH, Method::PUT] {
        let res = app
            .send_if_match(
                method.clone(),
                &path,
                Some(&json!({"title": "lost"})),
                &token,
                "\"1\"",
            )
            .await;
        let problem =
            assert_problem(res, StatusCode::PRECONDITION_FAILED, "precondition_failed").await;
        assert_eq!(problem["current_etag"], "\"2\"", "{method}");
    }
    let res = app
        .send_if_match(Method::DELETE, &path, None, &token, "\"1\"")
        .await;
    let problem = assert_problem(res, StatusCode::PRECONDITION_FAILED, "precondition_failed").await;
    assert_eq!(problem["current_etag"], "\"2\"");
    // A no-op update is still refused when the precondition fails.
    let res = app
        .send_if_match(
            Method::PATCH,
            &path,
            Some(&json!({"title": "v2"})),
            &token,
            "\"1\"",
        )
        .await;
    assert_problem(res, StatusCode::PRECONDITION_FAILED, "precondition_failed").await;
    // If-Match uses strong comparison: a weak tag never matches; unquoted is no ETag.
    // ... and tags are compared as text: "02" names no version.
    for header in ["W/\"2\"", "2", "\"02\""] {
        let res = app
            .send_if_match(
                Method::PATCH,
                &path,
                Some(&json!({"title": "weak"})),
                &token,
                header,
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
        .send_if_match(
            Method::PATCH,
            &path,
            Some(&json!({"title": "listed"})),
            &token,
            "\"1\", \"2\"",
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(etag(&res).as_deref(), Some("\"3\""));
    let res = app
        .send_if_match(
            Method::PATCH,
            &path,
            Some(&json!({"title": "v2"})),
            &token,
            "\"3\"",
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(etag(&res).as_deref(), Some("\"4\""));

    // `*` matches any version.
    let res = app
        .send_if_match(
            Method::PUT,
            &path,
            Some(&json!({"title": "v3"})),
            &token,
            "*",
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Value>().await.unwrap()["version"], 5);

    // If-None-Match on a write (RFC 9110 §13.1.2): `*` or the current tag fails,
    // another tag passes.
    for (header, status) in [
        ("*", StatusCode::PRECONDITION_FAILED),
        ("\"5\"", StatusCode::PRECONDITION_FAILED),
        ("\"4\", W/\"5\"", StatusCode::PRECONDITION_FAILED),
        ("\"4\"", StatusCode::OK),
    ] {
        let res = app
            .send(
                Method::PATCH,
                &path,
                Some(&json!({"title": "v4"})),
                Some(&token),
                &[("if-none-match", header)],
            )
            .await;
        assert_eq!(res.status(), status, "{header}");
    }
    let res = app
        .send(
            Method::DELETE,
            &path,
            None,
            Some(&token),
            &[("if-match", "\"6\""), ("if-none-match", "\"6\"")],
        )
        .await;
    assert_problem(res, StatusCode::PRECONDITION_FAILED, "precondition_failed").await;

    // DELETE with the right version.
    let res = app
        .send_if_match(Method::DELETE, &path, None, &token, "\"6\"")
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = app.get(&path, Some(&token)).await;
    assert_problem(res, StatusCode::NOT_FOUND, "not_found").await;

    // `*` on DELETE.
    let other = app.create_event(&token, "other", &slot(5), &slot(6)).await;
    let other_path = format!("/api/events/{}", id_of(&other));
    let res = app
        .send_if_match(Method::DELETE, &other_path, None, &token, "*")
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
    assert_eq!(list_event_ids(&app, &token, "").await, vec![id_of(&keep)]);
    // Its time range is free again; its id is not reused (it was the newest).
    let again = app.create_event(&token, "again", &slot(3), &slot(4)).await;
    assert!(id_of(&again) > id_of(&gone));
    // Anonymous deletes are refused.
    let res = app
        .delete(&format!("/api/events/{}", id_of(&keep)), None)
        .await;
    assert_problem(res, StatusCode::UNAUTHORIZED, "unauthorized").await;
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
        assert_eq!(list_event_ids(&app, tok, "").await, vec![id_of(&keep)]);
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

/// PostgreSQL: statements Diesel would parse and plan on every call are prepared once
/// per connection and then reused: after four updates of two events on one connection,
/// the session holds one prepared `UPDATE` of events, run four times; after three reads
/// of the live feed (its rows with the frontier), one prepared feed read, run three times.
async fn hot_statements_diesel_would_not_prepare_are_prepared_once(backend: Backend) {
    use convene_domain::ids::{EventId, UserId};
    use convene_persistence::{events, Backend as DbBackend, DbConnection};
    use diesel::RunQueryDsl;

    #[derive(diesel::QueryableByName)]
    struct Prepared {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        statements: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        runs: i64,
    }

    let app = app!(backend);
    let (alice, token) = app.user("prepared").await;
    let mut ids = Vec::new();
    for hour in [1, 3] {
        let event = app
            .create_event(&token, "t", &slot(hour), &slot(hour + 1))
            .await;
        ids.push(EventId(id_of(&event)));
    }
    let backend = DbBackend::from_url(&app.db.url()).unwrap();
    let database = convene_persistence::db::connect(&backend, 1).unwrap();
    let mut conn = database.get().unwrap();
    for _ in 0..2 {
        for &id in &ids {
            let (event, _) = events::find_with_role(&mut conn, id, UserId(alice))
                .unwrap()
                .unwrap();
            let updated = events::update_if_version(
                &mut conn,
                id,
                event.version,
                &event.content,
                None,
                chrono::Utc::now(),
            )
            .unwrap();
            assert!(updated.is_some(), "event {id} updated");
        }
    }
    let start = convene_persistence::notifications::start(&mut conn).unwrap();
    for _ in 0..3 {
        convene_persistence::notifications::feed(&mut conn, None, start, 10).unwrap();
    }
    let DbConnection::Postgresql(pg) = &mut **conn else {
        panic!("a PostgreSQL connection");
    };
    let mut prepared = |like: &str| -> (i64, i64) {
        let found: Prepared = diesel::sql_query(format!(
            "SELECT count(*) AS statements, \
                    coalesce(sum(generic_plans + custom_plans), 0)::bigint AS runs \
             FROM pg_prepared_statements WHERE statement LIKE '{like}'"
        ))
        .get_result(pg)
        .unwrap();
        (found.statements, found.runs)
    };
    assert_eq!(prepared("UPDATE \"events\"%"), (1, 4));
    assert_eq!(
        prepared("SELECT \"notifications\".\"id\"%pg_snapshot_xmin%"),
        (1, 3)
    );
}

/// Access is judged before the values of a body: a viewer's invalid update is 403 and
/// a stranger's 404 (a missing event alike); only a type the body cannot be decoded
/// into is 422 whoever sends it. The owner hears of every problem at once.
async fn a_body_s_values_are_judged_after_access(backend: Backend) {
    let app = app!(backend);
    let (_, owner) = app.user("owner").await;
    let (viewer_id, viewer) = app.user("viewer").await;
    let (_, stranger) = app.user("stranger").await;
    let event = app.create_event(&owner, "e", &slot(1), &slot(2)).await;
    app.share(&owner, id_of(&event), viewer_id, "viewer").await;
    let path = format!("/api/events/{}", id_of(&event));
    for body in [
        json!({"title": "   "}),
        json!({"title": "x".repeat(201)}),
        json!({"time_zone": "Mars/Base"}),
        json!({"recurrence": "FREQ=SECONDLY"}),
        json!({"title": null}),
        json!({"end_time": "2000-01-01T00:00:00Z"}),
    ] {
        let res = app.patch(&path, &body, Some(&viewer)).await;
        assert_problem(res, StatusCode::FORBIDDEN, "forbidden").await;
        for (token, path) in [(&stranger, path.as_str()), (&owner, "/api/events/999999")] {
            let res = app.patch(path, &body, Some(token)).await;
            assert_problem(res, StatusCode::NOT_FOUND, "not_found").await;
        }
        let res = app.patch(&path, &body, Some(&owner)).await;
        assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    }
    let res = app
        .patch(&path, &json!({"title": 5}), Some(&stranger))
        .await;
    assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
}
