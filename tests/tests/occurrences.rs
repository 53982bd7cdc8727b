//! Occurrences (API.md, "Recurring events, time zones and transparency"): the list of a
//! user's occurrences, changing, moving and cancelling one occurrence, splitting a
//! series, and the horizon task (run with an injected clock).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, Duration, DurationRound, Utc};
use convene_service::occurrences::RecurrenceLimits;
use convene_tests::{
    app, assert_problem, backend_tests, field_errors, id_of, race, Backend, StatusCode, TestApp,
};
use serde_json::{json, Value};

backend_tests!(
    occurrences_are_listed_by_start_across_events_and_pages,
    the_occurrence_list_validates_its_query,
    one_occurrence_is_moved_and_edited_keeping_its_identity,
    one_occurrence_is_cancelled_and_its_time_freed,
    a_moved_occurrence_hides_none_of_the_others,
    a_series_is_split_this_and_following,
    the_horizon_advances_and_skips_what_would_collide,
    the_horizon_advances_a_series_past_max_occurrences,
    a_counted_series_is_stored_in_full_and_older_ones_are_completed,
    max_occurrences_counts_from_now,
    two_instances_race_overlapping_series,
    the_occurrence_list_merges_many_events_in_bounded_steps,
);

async fn created(app: &TestApp, token: &str, body: Value) -> Value {
    let res = app.create_event_raw(token, body.clone()).await;
    assert_eq!(res.status(), StatusCode::CREATED, "create {body}");
    res.json().await.unwrap()
}

fn weekly(title: &str, start: &str, end: &str, rule: &str) -> Value {
    json!({"title": title, "start_time": start, "end_time": end, "recurrence": rule,
           "time_zone": "Europe/Berlin"})
}

/// Every occurrence `GET /api/occurrences?{query}` lists, following `next_cursor` with
/// pages of `limit`.
async fn occurrences(app: &TestApp, token: &str, query: &str, limit: u32) -> Vec<Value> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..100 {
        let mut path = format!("/api/occurrences?{query}&limit={limit}");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let page = app.get_ok(&path, token).await;
        let batch = page["items"].as_array().unwrap();
        assert!(batch.len() <= limit as usize);
        items.extend(batch.iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return items,
        }
    }
    panic!("more than 100 pages");
}

fn starts(items: &[Value]) -> Vec<&str> {
    items
        .iter()
        .map(|o| o["start_time"].as_str().unwrap())
        .collect()
}

/// Moving one occurrence far does not hide the others from a window or a page.
async fn a_moved_occurrence_hides_none_of_the_others(backend: Backend) {
    let app = app!(backend);
    let (_, alice) = app.user("mover").await;
    let day = |d: u32| format!("2027-05-{d:02}T09:00:00Z");
    let end = |d: u32| format!("2027-05-{d:02}T10:00:00Z");
    let series = created(
        &app,
        &alice,
        json!({"title": "Daily", "start_time": day(1), "end_time": end(1),
               "recurrence": "FREQ=DAILY;COUNT=10"}),
    )
    .await;
    let id = id_of(&series);
    // The second, six days on (between the 8th and the 9th); the third, far away.
    app.patch_occurrence(
        &alice,
        id,
        &day(2),
        &json!({"start_time": "2027-05-08T12:00:00Z", "end_time": "2027-05-08T13:00:00Z"}),
    )
    .await;
    app.patch_occurrence(
        &alice,
        id,
        &day(3),
        &json!({"start_time": "2027-12-01T09:00:00Z", "end_time": "2027-12-01T10:00:00Z"}),
    )
    .await;
    let all = occurrences(
        &app,
        &alice,
        "from=2027-05-01T00:00:00Z&to=2028-01-01T00:00:00Z",
        3,
    )
    .await;
    assert_eq!(
        starts(&all),
        [
            day(1).as_str(),
            &day(4),
            &day(5),
            &day(6),
            &day(7),
            &day(8),
            "2027-05-08T12:00:00Z",
            &day(9),
            &day(10),
            "2027-12-01T09:00:00Z"
        ]
    );
    let window = occurrences(
        &app,
        &alice,
        "from=2027-05-05T00:00:00Z&to=2027-05-06T00:00:00Z",
        1,
    )
    .await;
    assert_eq!(starts(&window), [day(5).as_str()]);
    assert_eq!(
        convene_tests::list_event_ids(
            &app,
            &alice,
            "from=2027-05-05T00:00:00Z&to=2027-05-06T00:00:00Z"
        )
        .await,
        [id]
    );
}

async fn occurrences_are_listed_by_start_across_events_and_pages(backend: Backend) {
    let app = app!(backend);
    let (_, alice) = app.user("alice_occ").await;
    let (bob_id, bob) = app.user("bob_occ").await;
    // Mondays 09:00 Berlin (08:00Z, 07:00Z from 2027-03-29), five weeks.
    let sync = created(
        &app,
        &alice,
        weekly(
            "Sync",
            "2027-03-15T08:00:00Z",
            "2027-03-15T09:00:00Z",
            "FREQ=WEEKLY;COUNT=5",
        ),
    )
    .await;
    let lunch = created(
        &app,
        &alice,
        json!({"title": "Lunch", "start_time": "2027-03-22T11:00:00Z",
               "end_time": "2027-03-22T12:00:00Z", "transparency": "transparent"}),
    )
    .await;
    app.share(&alice, id_of(&sync), bob_id, "viewer").await;
    let window = "from=2027-03-01T00:00:00Z&to=2027-05-01T00:00:00Z";
    for limit in [1, 2, 50] {
        let all = occurrences(&app, &alice, window, limit).await;
        assert_eq!(
            starts(&all),
            [
                "2027-03-15T08:00:00Z",
                "2027-03-22T08:00:00Z",
                "2027-03-22T11:00:00Z",
                "2027-03-29T07:00:00Z",
                "2027-04-05T07:00:00Z",
                "2027-04-12T07:00:00Z",
            ],
            "limit {limit}"
        );
        convene_tests::assert_members(
            &all[0],
            &[
                "event_id",
                "recurrence_id",
                "start_time",
                "end_time",
                "title",
                "description",
                "location",
                "time_zone",
                "transparency",
                "role",
                "overridden",
            ],
            "OccurrenceRead",
        );
        assert_eq!(all[0]["recurrence_id"], all[0]["start_time"]);
        assert_eq!(all[0]["time_zone"], "Europe/Berlin");
        assert_eq!(all[0]["role"], "owner");
        assert_eq!(all[0]["overridden"], false);
        assert_eq!(all[2]["event_id"], lunch["id"]);
        assert_eq!(all[2]["transparency"], "transparent");
    }
    // The viewer sees the shared series only, with their role; filters narrow it.
    let shared = occurrences(&app, &bob, window, 50).await;
    assert_eq!(shared.len(), 5);
    assert!(shared.iter().all(|o| o["role"] == "viewer"));
    let only = occurrences(
        &app,
        &alice,
        &format!("{window}&event_id={}", id_of(&lunch)),
        50,
    )
    .await;
    assert_eq!(starts(&only), ["2027-03-22T11:00:00Z"]);
    let as_viewer = occurrences(&app, &alice, &format!("{window}&role=viewer"), 50).await;
    assert!(as_viewer.is_empty());
    // A window between occurrences, and one overlapping an occurrence's end.
    let none = occurrences(
        &app,
        &alice,
        "from=2027-03-16T00:00:00Z&to=2027-03-22T07:00:00Z",
        50,
    )
    .await;
    assert!(none.is_empty());
    let tail = occurrences(
        &app,
        &alice,
        "from=2027-04-12T07:59:59Z&to=2027-04-12T08:00:00Z",
        50,
    )
    .await;
    assert_eq!(starts(&tail), ["2027-04-12T07:00:00Z"]);
    // Strangers see nothing.
    let (_, carol) = app.user("carol_occ").await;
    assert!(occurrences(&app, &carol, window, 50).await.is_empty());
}

async fn the_occurrence_list_validates_its_query(backend: Backend) {
    let app = app!(backend);
    let (_, token) = app.user("validator_occ").await;
    for (query, status, code) in [
        ("to=2027-01-02T00:00:00Z", 422, "validation_failed"),
        ("from=2027-01-01T00:00:00Z", 422, "validation_failed"),
        ("", 422, "validation_failed"),
        (
            "from=yesterday&to=2027-01-02T00:00:00Z",
            400,
            "invalid_query",
        ),
        (
            "from=2027-01-01T00:00:00Z&to=2027-01-02T00:00:00Z&cursor=e1_2",
            400,
            "invalid_cursor",
        ),
        (
            "from=2027-01-02T00:00:00Z&to=2027-01-01T00:00:00Z",
            422,
            "validation_failed",
        ),
        (
            "from=2027-01-01T00:00:00Z&to=2028-01-03T00:00:00Z",
            422,
            "validation_failed",
        ),
        (
            "from=2027-01-01T00:00:00Z&to=2027-01-02T00:00:00Z&role=boss",
            422,
            "validation_failed",
        ),
    ] {
        let res = app
            .get(&format!("/api/occurrences?{query}"), Some(&token))
            .await;
        assert_problem(res, StatusCode::from_u16(status).unwrap(), code).await;
    }
    // Every problem at once: a window too long and an unknown role.
    let res = app
        .get(
            "/api/occurrences?from=2027-01-01T00:00:00Z&to=2028-06-01T00:00:00Z&role=boss",
            Some(&token),
        )
        .await;
    let problem = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    let mut fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    fields.sort_unstable();
    assert_eq!(fields, ["role", "to"]);
    // 366 days is the longest window.
    let ok = app
        .get(
            "/api/occurrences?from=2027-01-01T00:00:00Z&to=2028-01-02T00:00:00Z",
            Some(&token),
        )
        .await;
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(
        app.get(
            "/api/occurrences?from=2027-01-01T00:00:00Z&to=2027-01-02T00:00:00Z",
            None
        )
        .await
        .status(),
        StatusCode::UNAUTHORIZED
    );
}

async fn one_occurrence_is_moved_and_edited_keeping_its_identity(backend: Backend) {
    let app = app!(backend);
    let (_, alice) = app.user("mover").await;
    let (bob_id, bob) = app.user("watcher").await;
    let sync = created(
        &app,
        &alice,
        weekly(
            "Sync",
            "2027-03-15T08:00:00Z",
            "2027-03-15T09:00:00Z",
            "FREQ=WEEKLY;COUNT=4",
        ),
    )
    .await;
    let id = id_of(&sync);
    app.share(&alice, id, bob_id, "editor").await;
    let dentist = created(
        &app,
        &alice,
        json!({"title": "Dentist", "start_time": "2027-03-22T12:00:00Z",
               "end_time": "2027-03-22T13:00:00Z"}),
    )
    .await;
    let path = format!("/api/events/{id}/occurrences/2027-03-22T08:00:00Z");
    // Onto the dentist: 409 naming it.
    let res = app
        .patch(
            &path,
            &json!({"start_time": "2027-03-22T12:30:00Z", "end_time": "2027-03-22T13:30:00Z"}),
            Some(&bob),
        )
        .await;
    let problem = assert_problem(res, StatusCode::CONFLICT, "event_conflict").await;
    // The editor cannot read the dentist's appointment: only its busy time is shown.
    assert_eq!(problem["conflicts"][0]["id"], Value::Null);
    assert_eq!(problem["conflicts"][0]["start_time"], dentist["start_time"]);
    // Nor where a moved occurrence of a private series came from: its `recurrence_id`
    // is the busy interval's start.
    let physio = created(
        &app,
        &alice,
        json!({"title": "Physio", "start_time": "2027-04-05T12:00:00Z",
               "end_time": "2027-04-05T13:00:00Z", "recurrence": "FREQ=WEEKLY;COUNT=2"}),
    )
    .await;
    app.patch_occurrence(
        &alice,
        id_of(&physio),
        "2027-04-05T12:00:00Z",
        &json!({"start_time": "2027-03-22T18:00:00Z", "end_time": "2027-03-22T19:00:00Z"}),
    )
    .await;
    let res = app
        .patch(
            &path,
            &json!({"start_time": "2027-03-22T18:30:00Z", "end_time": "2027-03-22T19:30:00Z"}),
            Some(&bob),
        )
        .await;
    let problem = assert_problem(res, StatusCode::CONFLICT, "event_conflict").await;
    assert_eq!(
        problem["conflicts"],
        json!([{"id": null, "recurrence_id": "2027-03-22T18:00:00Z", "title": null,
                "start_time": "2027-03-22T18:00:00Z", "end_time": "2027-03-22T19:00:00Z"}])
    );
    // Onto the next occurrence of the same series: 422.
    let res = app
        .patch(
            &path,
            &json!({"start_time": "2027-03-29T07:30:00Z", "end_time": "2027-03-29T08:30:00Z"}),
            Some(&bob),
        )
        .await;
    let problem = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(
        field_errors(&problem),
        vec![(None, "start_time".to_owned())]
    );
    // The editor moves it to the afternoon and renames it, with If-Match.
    let res = app
        .request(reqwest::Method::PATCH, &path)
        .bearer_auth(&bob)
        .header("if-match", "\"1\"")
        .json(
            &json!({"title": "Sync (moved)", "start_time": "2027-03-22T14:00:00Z",
                      "end_time": "2027-03-22T15:00:00Z"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["etag"], "\"2\"");
    let moved: Value = res.json().await.unwrap();
    assert_eq!(moved["recurrence_id"], "2027-03-22T08:00:00Z");
    assert_eq!(moved["start_time"], "2027-03-22T14:00:00Z");
    assert_eq!(moved["title"], "Sync (moved)");
    assert_eq!(moved["overridden"], true);
    assert_eq!(moved["role"], "editor");
    // The old slot is free, the new one busy.
    created(
        &app,
        &alice,
        json!({"title": "Free now", "start_time": "2027-03-22T08:00:00Z",
               "end_time": "2027-03-22T09:00:00Z"}),
    )
    .await;
    let res = app
        .create_event_raw(
            &alice,
            json!({"title": "Clash", "start_time": "2027-03-22T14:30:00Z",
                   "end_time": "2027-03-22T14:45:00Z"}),
        )
        .await;
    let problem = assert_problem(res, StatusCode::CONFLICT, "event_conflict").await;
    assert_eq!(
        problem["conflicts"][0]["recurrence_id"],
        "2027-03-22T08:00:00Z"
    );
    assert_eq!(
        problem["conflicts"][0]["start_time"],
        "2027-03-22T14:00:00Z"
    );
    assert_eq!(problem["conflicts"][0]["title"], "Sync (moved)");
    // The list shows it where it now is; the series itself is unchanged.
    let listed = occurrences(
        &app,
        &alice,
        &format!("from=2027-03-01T00:00:00Z&to=2027-05-01T00:00:00Z&event_id={id}"),
        50,
    )
    .await;
    assert_eq!(listed[1]["start_time"], "2027-03-22T14:00:00Z");
    assert_eq!(listed[1]["title"], "Sync (moved)");
    assert_eq!(listed[2]["title"], "Sync");
    let series = app.get_ok(&format!("/api/events/{id}"), &alice).await;
    assert_eq!(series["title"], "Sync");
    assert_eq!(series["version"], 2);
    // The owner is told which occurrence changed.
    let inbox = app.get_ok("/api/notifications", &alice).await;
    let updated = inbox["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["type"] == "event_updated")
        .unwrap()
        .clone();
    assert_eq!(updated["data"]["recurrence_id"], "2027-03-22T08:00:00Z");
    // Unknown and malformed occurrences are 404; a stale If-Match is 412.
    for missing in ["2027-03-22T08:30:00Z", "2027-04-19T07:00:00Z", "not-a-time"] {
        let res = app
            .patch(
                &format!("/api/events/{id}/occurrences/{missing}"),
                &json!({"title": "x"}),
                Some(&bob),
            )
            .await;
        assert_problem(res, StatusCode::NOT_FOUND, "not_found").await;
    }
    let res = app
        .request(reqwest::Method::PATCH, &path)
        .bearer_auth(&bob)
        .header("if-match", "\"1\"")
        .json(&json!({"title": "late"}))
        .send()
        .await
        .unwrap();
    assert_problem(res, StatusCode::PRECONDITION_FAILED, "precondition_failed").await;
    // The version holds the exception: rolling back to 1 restores the original slot,
    // which is now taken by "Free now".
    let res = app
        .post(
            &format!("/api/events/{id}/rollback/1"),
            &json!({}),
            Some(&alice),
        )
        .await;
    assert_problem(res, StatusCode::CONFLICT, "event_conflict").await;
}

async fn one_occurrence_is_cancelled_and_its_time_freed(backend: Backend) {
    let app = app!(backend);
    let (_, alice) = app.user("canceller").await;
    let (carol_id, carol) = app.user("viewer_c").await;
    let sync = created(
        &app,
        &alice,
        weekly(
            "Sync",
            "2027-03-15T08:00:00Z",
            "2027-03-15T09:00:00Z",
            "FREQ=WEEKLY;COUNT=4",
        ),
    )
    .await;
    let id = id_of(&sync);
    app.share(&alice, id, carol_id, "viewer").await;
    let path = format!("/api/events/{id}/occurrences/2027-03-29T07:00:00Z");
    // Viewers cannot.
    let res = app.delete(&path, Some(&carol)).await;
    assert_problem(res, StatusCode::FORBIDDEN, "forbidden").await;
    let res = app.delete(&path, Some(&alice)).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    // Gone from the list; its time is free; cancelling again is 404.
    let listed = occurrences(
        &app,
        &alice,
        "from=2027-03-01T00:00:00Z&to=2027-05-01T00:00:00Z",
        50,
    )
    .await;
    assert_eq!(
        starts(&listed),
        [
            "2027-03-15T08:00:00Z",
            "2027-03-22T08:00:00Z",
            "2027-04-05T07:00:00Z"
        ]
    );
    created(
        &app,
        &alice,
        json!({"title": "Instead", "start_time": "2027-03-29T07:00:00Z",
               "end_time": "2027-03-29T08:00:00Z"}),
    )
    .await;
    let res = app.delete(&path, Some(&alice)).await;
    assert_problem(res, StatusCode::NOT_FOUND, "not_found").await;
    let res = app
        .patch(&path, &json!({"title": "back?"}), Some(&alice))
        .await;
    assert_problem(res, StatusCode::NOT_FOUND, "not_found").await;
    // A new version; the viewer is told which occurrence.
    let series = app.get_ok(&format!("/api/events/{id}"), &alice).await;
    assert_eq!(series["version"], 2);
    let inbox = app.get_ok("/api/notifications", &carol).await;
    let latest = &inbox["items"][0];
    assert_eq!(latest["type"], "event_updated");
    assert_eq!(latest["data"]["recurrence_id"], "2027-03-29T07:00:00Z");
    // The version holds the cancellation; the diff shows it.
    let diff = app
        .get_ok(&format!("/api/events/{id}/diff/1/2"), &alice)
        .await;
    assert_eq!(
        diff["changes"],
        json!({"exceptions": {"from": [],
                              "to": [{"recurrence_id": "2027-03-29T07:00:00Z", "cancelled": true}]}})
    );
    // A single event's occurrence is not cancelled: the event is deleted instead.
    let single = created(
        &app,
        &alice,
        json!({"title": "Once", "start_time": "2027-06-01T10:00:00Z",
               "end_time": "2027-06-01T11:00:00Z"}),
    )
    .await;
    let res = app
        .delete(
            &format!(
                "/api/events/{}/occurrences/2027-06-01T10:00:00Z",
                id_of(&single)
            ),
            Some(&alice),
        )
        .await;
    let problem = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(
        field_errors(&problem),
        vec![(None, "recurrence_id".to_owned())]
    );
}

async fn a_series_is_split_this_and_following(backend: Backend) {
    let app = app!(backend);
    let (_, alice) = app.user("splitter").await;
    let (bob_id, bob) = app.user("follower").await;
    let sync = created(
        &app,
        &alice,
        weekly(
            "Sync",
            "2027-03-15T08:00:00Z",
            "2027-03-15T09:00:00Z",
            "FREQ=WEEKLY;COUNT=6",
        ),
    )
    .await;
    let id = id_of(&sync);
    app.share(&alice, id, bob_id, "editor").await;
    // Cancel the fifth occurrence; it goes with the new series.
    let res = app
        .delete(
            &format!("/api/events/{id}/occurrences/2027-04-12T07:00:00Z"),
            Some(&alice),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    // The editor splits at the fourth.
    let res = app
        .post(
            &format!("/api/events/{id}/split"),
            &json!({"at": "2027-04-05T07:00:00Z"}),
            Some(&bob),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let second: Value = res.json().await.unwrap();
    assert_eq!(location, format!("/api/events/{}", id_of(&second)));
    assert_eq!(second["start_time"], "2027-04-05T07:00:00Z");
    assert_eq!(second["recurrence"], "FREQ=WEEKLY;COUNT=3");
    assert_eq!(second["time_zone"], "Europe/Berlin");
    assert_eq!(second["owner_id"], sync["owner_id"]);
    assert_eq!(second["role"], "editor");
    assert_eq!(second["version"], 1);
    let first = app.get_ok(&format!("/api/events/{id}"), &alice).await;
    assert_eq!(first["recurrence"], "FREQ=WEEKLY;COUNT=3");
    assert_eq!(first["version"], 3);
    // Together they have the same occurrences as before, the cancelled one still gone.
    let listed = occurrences(
        &app,
        &bob,
        "from=2027-03-01T00:00:00Z&to=2027-06-01T00:00:00Z",
        50,
    )
    .await;
    assert_eq!(
        starts(&listed),
        [
            "2027-03-15T08:00:00Z",
            "2027-03-22T08:00:00Z",
            "2027-03-29T07:00:00Z",
            "2027-04-05T07:00:00Z",
            "2027-04-19T07:00:00Z"
        ]
    );
    let owners: Vec<i64> = listed
        .iter()
        .map(|o| o["event_id"].as_i64().unwrap())
        .collect();
    assert_eq!(owners, [id, id, id, id_of(&second), id_of(&second)]);
    // Both halves are busy.
    let res = app
        .create_event_raw(
            &alice,
            json!({"title": "x", "start_time": "2027-04-19T07:30:00Z",
                   "end_time": "2027-04-19T07:45:00Z"}),
        )
        .await;
    assert_problem(res, StatusCode::CONFLICT, "event_conflict").await;
    // At the first occurrence, an unknown one, or without `at`: refused.
    for (body, status) in [
        (
            json!({"at": "2027-03-15T08:00:00Z"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (json!({"at": "2027-03-16T08:00:00Z"}), StatusCode::NOT_FOUND),
        (json!({}), StatusCode::UNPROCESSABLE_ENTITY),
    ] {
        let res = app
            .post(&format!("/api/events/{id}/split"), &body, Some(&alice))
            .await;
        assert_eq!(res.status(), status, "{body}");
    }
    // An open-ended series ends with UNTIL before the split.
    let open = created(
        &app,
        &alice,
        json!({"title": "Daily", "start_time": "2027-07-01T06:00:00Z",
               "end_time": "2027-07-01T06:30:00Z", "recurrence": "FREQ=DAILY"}),
    )
    .await;
    let res = app
        .post(
            &format!("/api/events/{}/split", id_of(&open)),
            &json!({"at": "2027-07-10T06:00:00Z"}),
            Some(&alice),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let later: Value = res.json().await.unwrap();
    assert_eq!(later["recurrence"], "FREQ=DAILY");
    let before = app
        .get_ok(&format!("/api/events/{}", id_of(&open)), &alice)
        .await;
    assert_eq!(before["recurrence"], "FREQ=DAILY;UNTIL=20270710T055959Z");
    let days = occurrences(
        &app,
        &alice,
        &format!(
            "from=2027-07-01T00:00:00Z&to=2027-08-01T00:00:00Z&event_id={}",
            id_of(&open)
        ),
        50,
    )
    .await;
    assert_eq!(days.len(), 9);
}

/// `hour` o'clock UTC, `days` after today's midnight (UTC), in RFC 3339.
fn days_from_today() -> impl Fn(i64, i64) -> String {
    let today = Utc::now().duration_trunc(Duration::days(1)).unwrap();
    move |days, hour| {
        (today + Duration::days(days) + Duration::hours(hour))
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    }
}

/// An open-ended daily series from tomorrow, 10:00–11:00 UTC, in an app whose horizon
/// is 10 days; and the occurrences stored then (about 10).
async fn daily_from_tomorrow(
    app: &TestApp,
    token: &str,
    at: &impl Fn(i64, i64) -> String,
) -> (Value, i64) {
    let series = created(
        app,
        token,
        json!({"title": "Daily", "start_time": at(1, 10), "end_time": at(1, 11),
               "recurrence": "FREQ=DAILY"}),
    )
    .await;
    let stored = app.count_rows("occurrences");
    assert!((9..=11).contains(&stored), "{stored} within 10 days");
    (series, stored)
}

async fn the_horizon_advances_and_skips_what_would_collide(backend: Backend) {
    let horizon_days = 10;
    let app = app!(backend, |s| s.recurrence_horizon_days = horizon_days);
    let (_, alice) = app.user("horizon").await;
    let at = days_from_today();
    let (series, before) = daily_from_tomorrow(&app, &alice, &at).await;
    let (bob_id, bob) = app.user("horizon_viewer").await;
    app.share(&alice, id_of(&series), bob_id, "viewer").await;
    // Beyond the horizon the series is not checked yet: this lands on day 15.
    created(
        &app,
        &alice,
        json!({"title": "Beyond", "start_time": at(15, 10), "end_time": at(15, 11)}),
    )
    .await;
    // Ten days later (an injected clock), the horizon task runs in two instances at
    // once: between them the work is done once.
    let limits = RecurrenceLimits {
        horizon: Duration::days(horizon_days.into()),
        ..RecurrenceLimits::default()
    };
    let later: DateTime<Utc> = Utc::now() + Duration::days(10);
    let runs: Vec<_> = (0..2)
        .map(|_| {
            let services = app.services(limits);
            tokio::task::spawn_blocking(move || {
                convene_service::horizon::advance(&services, later).unwrap()
            })
        })
        .collect();
    let mut skipped = 0;
    let mut materialised = 0;
    for run in runs {
        let done = run.await.unwrap();
        skipped += done.skipped;
        materialised += done.materialised;
    }
    assert_eq!(skipped, 1);
    assert!(materialised >= 8, "{materialised}");
    let services = app.services(limits);
    let again =
        tokio::task::spawn_blocking(move || convene_service::horizon::advance(&services, later))
            .await
            .unwrap()
            .unwrap();
    assert_eq!(again, Default::default(), "a later run has nothing to do");
    assert_eq!(
        app.count_rows("occurrences"),
        before + 1 + materialised as i64
    );
    // Day 15's occurrence is cancelled (a new version), the owner told.
    let rid = at(15, 10);
    let inbox = app.get_ok("/api/notifications", &alice).await;
    let skipped = &inbox["items"][0];
    assert_eq!(skipped["type"], "occurrence_skipped");
    assert_eq!(skipped["event_id"], series["id"]);
    assert_eq!(skipped["data"]["recurrence_id"], rid);
    assert_eq!(skipped["data"]["title"], "Daily");
    assert_eq!(skipped["is_read"], false);
    // At most microseconds, though the task's clock reads nanoseconds.
    let digits = |t: &Value| {
        t.as_str()
            .unwrap()
            .trim_end_matches('Z')
            .rsplit_once('.')
            .map_or(0, |(_, f)| f.len())
    };
    assert!(digits(&skipped["created_at"]) <= 6, "{skipped}");
    // The other participants learn that the series changed (a new version).
    let theirs = app.get_ok("/api/notifications", &bob).await;
    let updated = &theirs["items"][0];
    assert_eq!(updated["type"], "event_updated");
    assert_eq!(updated["event_id"], series["id"]);
    assert_eq!(updated["data"]["recurrence_id"], rid);
    assert_eq!(updated["data"]["version"], 2);
    assert_eq!(updated["is_read"], false);
    let listed = occurrences(
        &app,
        &alice,
        &format!(
            "from={}&to={}&event_id={}",
            at(14, 0),
            at(17, 0),
            id_of(&series)
        ),
        50,
    )
    .await;
    assert_eq!(starts(&listed), [at(14, 10).as_str(), at(16, 10).as_str()]);
    let current = app
        .get_ok(&format!("/api/events/{}", id_of(&series)), &alice)
        .await;
    assert_eq!(current["version"], 2);
    assert!(digits(&current["updated_at"]) <= 6, "{current}");
    // Newly materialised occurrences are checked like any other.
    let res = app
        .create_event_raw(
            &alice,
            json!({"title": "Now taken", "start_time": at(16, 10), "end_time": at(16, 11)}),
        )
        .await;
    assert_problem(res, StatusCode::CONFLICT, "event_conflict").await;
}

/// `MAX_OCCURRENCES` bounds a client's write; the horizon task moves every accepted
/// series on whatever its count from its first occurrence (here more than the limit),
/// else its later occurrences would go unchecked.
async fn the_horizon_advances_a_series_past_max_occurrences(backend: Backend) {
    let (horizon_days, max) = (10, 15);
    let app = app!(backend, |s| {
        s.recurrence_horizon_days = horizon_days;
        s.max_occurrences = max;
    });
    let (_, alice) = app.user("longrunning").await;
    let at = days_from_today();
    let (series, before) = daily_from_tomorrow(&app, &alice, &at).await;
    // Ten days later the series has about 20 occurrences from its first: more than 15.
    let limits = RecurrenceLimits {
        horizon: Duration::days(horizon_days.into()),
        max_occurrences: max as usize,
    };
    let later: DateTime<Utc> = Utc::now() + Duration::days(10);
    let services = app.services(limits);
    let done =
        tokio::task::spawn_blocking(move || convene_service::horizon::advance(&services, later))
            .await
            .unwrap()
            .unwrap();
    assert!(done.materialised >= 9, "{done:?}");
    assert_eq!(
        app.count_rows("occurrences"),
        before + done.materialised as i64
    );
    // The new occurrences are checked like any other.
    let res = app
        .create_event_raw(
            &alice,
            json!({"title": "Taken", "start_time": at(18, 10), "end_time": at(18, 11)}),
        )
        .await;
    let problem = assert_problem(res, StatusCode::CONFLICT, "event_conflict").await;
    assert_eq!(problem["conflicts"][0]["id"], series["id"]);
}

/// A series with `COUNT` is stored (and checked) in full, even past the horizon; one
/// stored before that, through the horizon only, is completed by the horizon task.
async fn a_counted_series_is_stored_in_full_and_older_ones_are_completed(backend: Backend) {
    let horizon_days = 10;
    let app = app!(backend, |s| s.recurrence_horizon_days = horizon_days);
    let (_, alice) = app.user("counted").await;
    let at = days_from_today();
    let series = created(
        &app,
        &alice,
        json!({"title": "Twenty", "start_time": at(1, 10), "end_time": at(1, 11),
               "recurrence": "FREQ=DAILY;COUNT=20"}),
    )
    .await;
    assert_eq!(app.count_rows("occurrences"), 20);
    assert_eq!(app.count_rows("horizons"), 0);
    let res = app
        .create_event_raw(
            &alice,
            json!({"title": "Day 20", "start_time": at(20, 10), "end_time": at(20, 11)}),
        )
        .await;
    assert_problem(res, StatusCode::CONFLICT, "event_conflict").await;
    // As an older version stored it: its first occurrence, materialised until its end.
    let id = id_of(&series);
    app.execute_sql(&format!(
        "DELETE FROM occurrences WHERE event_id = {id} AND start_time > \
         (SELECT MIN(start_time) FROM occurrences WHERE event_id = {id})"
    ))
    .unwrap();
    app.execute_sql(&format!(
        "INSERT INTO horizons (event_id, materialized_until) \
         SELECT event_id, end_time FROM occurrences WHERE event_id = {id}"
    ))
    .unwrap();
    assert_eq!(app.count_rows("occurrences"), 1);
    let limits = RecurrenceLimits {
        horizon: Duration::days(horizon_days.into()),
        ..RecurrenceLimits::default()
    };
    let services = app.services(limits);
    let done = tokio::task::spawn_blocking(move || {
        convene_service::horizon::advance(&services, Utc::now())
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!(done.materialised, 19, "{done:?}");
    assert_eq!(app.count_rows("occurrences"), 20);
    assert_eq!(app.count_rows("horizons"), 0);
}

/// API.md: at most `MAX_OCCURRENCES` occurrences "within the horizon", which runs from
/// now: a series begun long ago is not refused for its past (bounded alike, apart).
async fn max_occurrences_counts_from_now(backend: Backend) {
    let app = app!(backend, |s| {
        s.recurrence_horizon_days = 30;
        s.max_occurrences = 90;
    });
    let (_, alice) = app.user("oldseries").await;
    let at = days_from_today();
    // Three a week: about 86 in the 200 days past, 13 in the next 30; 99 in all.
    let old = created(
        &app,
        &alice,
        json!({"title": "Since spring", "start_time": at(-200, 9), "end_time": at(-200, 10),
               "recurrence": "FREQ=WEEKLY;BYDAY=MO,WE,FR"}),
    )
    .await;
    // Listed over a year, past and beyond the horizon: more than the limit, all there.
    let year = occurrences(
        &app,
        &alice,
        &format!(
            "from={}&to={}&event_id={}",
            at(-200, 0),
            at(166, 0),
            id_of(&old)
        ),
        200,
    )
    .await;
    assert!((150..=160).contains(&year.len()), "{}", year.len());
    // The same in pages of 7: every page is expanded from its position.
    let paged = occurrences(
        &app,
        &alice,
        &format!(
            "from={}&to={}&event_id={}",
            at(-200, 0),
            at(166, 0),
            id_of(&old)
        ),
        7,
    )
    .await;
    assert_eq!(paged, year);
    // Its past is stored and checked too.
    let busy = &year[40];
    let res = app
        .create_event_raw(
            &alice,
            json!({"title": "Clash", "start_time": busy["start_time"], "end_time": busy["end_time"]}),
        )
        .await;
    assert_problem(res, StatusCode::CONFLICT, "event_conflict").await;
    // Split at a later occurrence: both halves are accepted.
    let later = year
        .iter()
        .find(|o| o["start_time"].as_str().unwrap() > at(1, 0).as_str())
        .unwrap();
    let res = app
        .post(
            &format!("/api/events/{}/split", id_of(&old)),
            &json!({"at": later["recurrence_id"]}),
            Some(&alice),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    // Every day of the 200 past: more than 90 before now.
    let res = app
        .create_event_raw(
            &alice,
            json!({"title": "Daily", "start_time": at(-200, 12), "end_time": at(-200, 13),
                   "recurrence": "FREQ=DAILY"}),
        )
        .await;
    let problem = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(problem["errors"][0]["field"], "recurrence");
}

async fn two_instances_race_overlapping_series(backend: Backend) {
    let app = app!(backend);
    let second = convene_tests::start(convene_tests::test_settings(&app.db.url())).await;
    let (_, token) = app.user("two_series").await;
    let instances = [app.address.clone(), second];
    for round in 0..10 {
        // Six daily series of a week, starting on days 1 to 6 of one month: every two
        // of them meet on days 6 and 7.
        let requests = (0..6)
            .map(|k| {
                let start = format!("2027-{:02}-{:02}T{:02}:00:00Z", 1 + round, 1 + k, 10);
                let end = format!("2027-{:02}-{:02}T{:02}:00:00Z", 1 + round, 1 + k, 11);
                app.client
                    .post(format!("{}/api/events", instances[k % 2]))
                    .bearer_auth(&token)
                    .json(
                        &json!({"title": format!("r{round}s{k}"), "start_time": start,
                                  "end_time": end, "recurrence": "FREQ=DAILY;COUNT=7"}),
                    )
            })
            .collect();
        let results = race(requests).await;
        let won = results
            .iter()
            .filter(|(s, _)| *s == StatusCode::CREATED)
            .count();
        assert_eq!(won, 1, "round {round}: {results:?}");
        for (status, body) in &results {
            assert!(
                *status == StatusCode::CREATED || body["code"] == "event_conflict",
                "round {round}: {status} {body}"
            );
        }
    }
    assert_eq!(app.count_rows("occurrences"), 70);
}

/// More events than the list reads per step (100), with an early series whose
/// occurrences fall among them: pages still come in start order, complete.
async fn the_occurrence_list_merges_many_events_in_bounded_steps(backend: Backend) {
    let app = app!(backend);
    let (_, token) = app.user("many_events").await;
    // A daily 09:00 series from 2027-04-01, then 250 single events at 10:00 on the
    // following days (one batch).
    created(
        &app,
        &token,
        json!({"title": "Daily", "start_time": "2027-04-01T09:00:00Z",
               "end_time": "2027-04-01T09:30:00Z", "recurrence": "FREQ=DAILY;COUNT=300"}),
    )
    .await;
    let day =
        |d: i64| DateTime::parse_from_rfc3339("2027-04-02T10:00:00Z").unwrap() + Duration::days(d);
    let items: Vec<Value> = (0..250)
        .map(|d| {
            json!({"title": format!("single {d}"),
                   "start_time": day(d).to_rfc3339(),
                   "end_time": (day(d) + Duration::minutes(30)).to_rfc3339()})
        })
        .collect();
    let res = app.post_batch(&token, items).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let window = "from=2027-04-01T00:00:00Z&to=2027-12-01T00:00:00Z";
    let expected: Vec<String> = {
        let mut all: Vec<DateTime<Utc>> = (0..250)
            .map(|d| day(d).with_timezone(&Utc))
            .chain((0..244).map(|d| {
                DateTime::parse_from_rfc3339("2027-04-01T09:00:00Z")
                    .unwrap()
                    .with_timezone(&Utc)
                    + Duration::days(d)
            }))
            .filter(|t| t.to_rfc3339().as_str() < "2027-12-01")
            .collect();
        all.sort();
        all.iter()
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
            .collect()
    };
    for limit in [7, 200] {
        let listed = occurrences(&app, &token, window, limit).await;
        assert!(
            starts(&listed) == expected,
            "limit {limit}: {} listed",
            listed.len()
        );
    }
}
