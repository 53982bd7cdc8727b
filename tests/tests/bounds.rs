//! Bounds on what one request can make the server build, and what an editor may learn
//! from a conflict: findings 1 and 2 of the hardening review.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use convene_tests::{app, assert_problem, backend_tests, slot, Backend, StatusCode};
use serde_json::{json, Value};

backend_tests!(
    batch_overlaps_are_reported_once_per_item_and_capped,
    stored_conflicts_are_capped_with_the_total_in_detail,
    editors_see_only_the_busy_interval_of_events_they_cannot_read,
    validation_errors_are_capped_with_the_total_in_detail,
    share_lists_are_bounded,
    grantees_per_event_are_capped,
);

fn item(title: &str, start: &str, end: &str) -> Value {
    json!({"title": title, "start_time": start, "end_time": end})
}

fn conflicts(problem: &Value) -> &Vec<Value> {
    problem["conflicts"]
        .as_array()
        .unwrap_or_else(|| panic!("conflicts in {problem}"))
}

async fn batch_overlaps_are_reported_once_per_item_and_capped(backend: Backend) {
    let app = app!(backend);
    let (_, token) = app.user("sameslot").await;
    // 500 identical items: 124,750 overlapping pairs, but 500 failing items.
    let items: Vec<Value> = (0..500)
        .map(|i| item(&format!("item {i} {}", "x".repeat(150)), &slot(1), &slot(2)))
        .collect();
    let res = app
        .post("/api/events/batch", &json!({"events": items}), Some(&token))
        .await;
    let problem = assert_problem(res, StatusCode::CONFLICT, "event_conflict").await;
    let listed = conflicts(&problem);
    assert_eq!(listed.len(), 50, "{problem}");
    let detail = problem["detail"].as_str().unwrap();
    assert!(detail.contains("500"), "{detail}");
    let mut indices: Vec<i64> = listed
        .iter()
        .map(|c| c["index"].as_i64().unwrap())
        .collect();
    indices.dedup();
    assert_eq!(indices.len(), 50, "each item once: {problem}");
    for c in listed {
        assert_eq!(c["id"], Value::Null);
        assert_ne!(c["index"], c["batch_index"]);
        assert!(c["batch_index"].as_i64().is_some());
    }

    // Two items overlapping each other: both fail, each listed once.
    let res = app
        .post(
            "/api/events/batch",
            &json!({"events": [item("a", &slot(1), &slot(3)), item("b", &slot(2), &slot(4))]}),
            Some(&token),
        )
        .await;
    let problem = assert_problem(res, StatusCode::CONFLICT, "event_conflict").await;
    let pairs: Vec<(i64, i64)> = conflicts(&problem)
        .iter()
        .map(|c| {
            (
                c["index"].as_i64().unwrap(),
                c["batch_index"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(pairs, [(0, 1), (1, 0)], "{problem}");
    assert_eq!(conflicts(&problem)[0]["title"], "b");
}

async fn stored_conflicts_are_capped_with_the_total_in_detail(backend: Backend) {
    let app = app!(backend);
    let (_, token) = app.user("busyowner").await;
    let events: Vec<Value> = (0..60)
        .map(|h| item(&format!("e{h}"), &slot(h), &slot(h + 1)))
        .collect();
    let res = app
        .post(
            "/api/events/batch",
            &json!({"events": events}),
            Some(&token),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);

    // One event over all 60.
    let res = app
        .post(
            "/api/events",
            &item("everything", &slot(0), &slot(60)),
            Some(&token),
        )
        .await;
    let problem = assert_problem(res, StatusCode::CONFLICT, "event_conflict").await;
    assert_eq!(conflicts(&problem).len(), 50, "{problem}");
    let detail = problem["detail"].as_str().unwrap();
    assert!(detail.contains("60"), "{detail}");
    // Listed in start order.
    let starts: Vec<&str> = conflicts(&problem)
        .iter()
        .map(|c| c["start_time"].as_str().unwrap())
        .collect();
    let mut sorted = starts.clone();
    sorted.sort();
    assert_eq!(starts, sorted);

    // Across batch items, the list is capped as a whole and the total is summed.
    let res = app
        .post(
            "/api/events/batch",
            &json!({"events": [
                item("first half", &slot(0), &slot(30)),
                item("second half", &slot(30), &slot(60)),
            ]}),
            Some(&token),
        )
        .await;
    let problem = assert_problem(res, StatusCode::CONFLICT, "event_conflict").await;
    let listed = conflicts(&problem);
    assert_eq!(listed.len(), 50, "{problem}");
    assert!(
        problem["detail"].as_str().unwrap().contains("60"),
        "{problem}"
    );
    assert_eq!(listed[0]["index"], 0);
    assert_eq!(listed[49]["index"], 1);

    // Under the cap, every conflict is listed and counted.
    let res = app
        .post(
            "/api/events",
            &item("three", &slot(10), &slot(13)),
            Some(&token),
        )
        .await;
    let problem = assert_problem(res, StatusCode::CONFLICT, "event_conflict").await;
    assert_eq!(conflicts(&problem).len(), 3);
    assert_eq!(problem["detail"], "overlaps 3 existing event(s)");
}

async fn editors_see_only_the_busy_interval_of_events_they_cannot_read(backend: Backend) {
    let app = app!(backend);
    let (_, owner) = app.user("privateowner").await;
    let (editor_id, editor) = app.user("curiouseditor").await;
    let shared = app.create_event(&owner, "Shared", &slot(1), &slot(2)).await;
    let visible = app
        .create_event(&owner, "Visible", &slot(5), &slot(6))
        .await;
    let private = app
        .create_event(&owner, "Private salary talk", &slot(10), &slot(11))
        .await;
    let shared_id = shared["id"].as_i64().unwrap();
    app.share(&owner, shared_id, editor_id, "editor").await;
    app.share(&owner, visible["id"].as_i64().unwrap(), editor_id, "viewer")
        .await;

    // The editor moves the shared event over the whole calendar.
    let res = app
        .patch(
            &format!("/api/events/{shared_id}"),
            &json!({"start_time": "0001-01-01T00:00:00Z", "end_time": "9999-01-01T00:00:00Z"}),
            Some(&editor),
        )
        .await;
    let problem = assert_problem(res, StatusCode::CONFLICT, "event_conflict").await;
    let listed = conflicts(&problem);
    assert_eq!(listed.len(), 2, "{problem}");
    assert_eq!(listed[0]["id"], visible["id"]);
    assert_eq!(listed[0]["title"], "Visible");
    assert_eq!(listed[1]["id"], Value::Null);
    assert_eq!(listed[1]["title"], Value::Null);
    assert_eq!(listed[1]["start_time"], private["start_time"]);
    assert_eq!(listed[1]["end_time"], private["end_time"]);
    assert!(!problem.to_string().contains("salary"), "{problem}");

    // The owner, making the same move, sees everything.
    let res = app
        .patch(
            &format!("/api/events/{shared_id}"),
            &json!({"start_time": "0001-01-01T00:00:00Z", "end_time": "9999-01-01T00:00:00Z"}),
            Some(&owner),
        )
        .await;
    let problem = assert_problem(res, StatusCode::CONFLICT, "event_conflict").await;
    let listed = conflicts(&problem);
    assert_eq!(listed[1]["id"], private["id"]);
    assert_eq!(listed[1]["title"], "Private salary talk");
}

async fn validation_errors_are_capped_with_the_total_in_detail(backend: Backend) {
    let app = app!(backend);
    let (_, token) = app.user("manyerrors").await;
    // 500 items with three problems each.
    let items: Vec<Value> = (0..500).map(|_| json!({})).collect();
    let res = app
        .post("/api/events/batch", &json!({"events": items}), Some(&token))
        .await;
    let problem = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    let errors = problem["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 100, "{problem}");
    let detail = problem["detail"].as_str().unwrap();
    assert!(detail.contains("1500"), "{detail}");
}

async fn share_lists_are_bounded(backend: Backend) {
    let app = app!(backend);
    let (_, token) = app.user("sharer").await;
    let event = app.create_event(&token, "E", &slot(1), &slot(2)).await;
    let path = format!("/api/events/{}/share", event["id"]);
    let entries: Vec<Value> = (0..101)
        .map(|i| json!({"user_id": 1000 + i, "role": "viewer"}))
        .collect();
    let res = app.post(&path, &json!(entries), Some(&token)).await;
    assert_problem(res, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
    // A 1 MB MessagePack body of empty maps is refused the same way, without building
    // one error per entry.
    let empty_maps = vec![serde_json::Map::new(); 200_000];
    let body = rmp_serde::to_vec_named(&empty_maps).unwrap();
    let res = app
        .request(reqwest::Method::POST, &path)
        .bearer_auth(&token)
        .header("content-type", "application/msgpack")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_problem(res, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
    // 100 entries are judged entry by entry (unknown users here).
    let entries: Vec<Value> = (0..100)
        .map(|i| json!({"user_id": 1000 + i, "role": "viewer"}))
        .collect();
    let res = app.post(&path, &json!(entries), Some(&token)).await;
    let problem = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(problem["errors"].as_array().unwrap().len(), 100);
}

async fn grantees_per_event_are_capped(backend: Backend) {
    let app = app!(backend, |s| s.max_grantees_per_event = 3);
    let (_, owner) = app.user("popular").await;
    let mut users = Vec::new();
    for i in 0..4 {
        users.push(app.user(&format!("fan{i}")).await.0);
    }
    let event = app.create_event(&owner, "E", &slot(1), &slot(2)).await;
    let path = format!("/api/events/{}/share", event["id"]);
    let entries = |ids: &[i64]| {
        json!(ids
            .iter()
            .map(|id| json!({"user_id": id, "role": "viewer"}))
            .collect::<Vec<_>>())
    };
    let res = app.post(&path, &entries(&users[..2]), Some(&owner)).await;
    assert_eq!(res.status(), StatusCode::OK);
    // Two more would make four.
    let res = app.post(&path, &entries(&users[2..4]), Some(&owner)).await;
    let problem = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert!(problem["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("at most 3"));
    // Changing roles of existing grantees does not count twice; one more fits.
    let res = app
        .post(
            &path,
            &entries(&[users[0], users[1], users[2]]),
            Some(&owner),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = app.post(&path, &entries(&users[3..4]), Some(&owner)).await;
    assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    // Unknown ids and other refusals read alike.
    let res = app.post(&path, &entries(&[987_654]), Some(&owner)).await;
    let problem = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(
        problem["errors"][0]["message"],
        "is not a user this event can be shared with"
    );
}
