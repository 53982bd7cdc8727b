//! Free/busy and common free slots: merged busy intervals of the events a user owns,
//! visible to the caller and their collaborators only; bounded windows; the earliest
//! aligned slots when everyone is free; series beyond the horizon.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use convene_tests::{
    app, assert_problem, backend_tests, field_errors, id_of, Backend, StatusCode, TestApp,
};
use serde_json::{json, Value};

backend_tests!(
    busy_time_is_merged_clipped_and_private,
    windows_and_user_lists_are_bounded,
    slots_are_the_earliest_aligned_times_everyone_is_free,
    series_count_beyond_the_horizon,
    a_long_answer_is_truncated_and_resumes,
);

/// `2030-01-01T00:00:00Z` plus `minutes`.
fn at(minutes: i64) -> String {
    (chrono::DateTime::parse_from_rfc3339("2030-01-01T00:00:00Z").unwrap()
        + chrono::Duration::minutes(minutes))
    .to_utc()
    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

async fn create(app: &TestApp, token: &str, body: Value) -> Value {
    let res = app.create_event_raw(token, body).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    res.json().await.unwrap()
}

async fn post_ok(app: &TestApp, path: &str, token: &str, body: &Value) -> Value {
    let res = app.post(path, body, Some(token)).await;
    assert_eq!(res.status(), StatusCode::OK, "{path} {body}");
    res.json().await.unwrap()
}

fn intervals(busy: &Value) -> Vec<(String, String)> {
    busy.as_array()
        .unwrap()
        .iter()
        .map(|b| {
            assert_eq!(b.as_object().unwrap().len(), 2, "only start and end: {b}");
            (
                b["start_time"].as_str().unwrap().to_owned(),
                b["end_time"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn span(a: i64, b: i64) -> (String, String) {
    (at(a), at(b))
}

async fn busy_time_is_merged_clipped_and_private(backend: Backend) {
    let app = app!(backend);
    let (alice, alice_token) = app.user("alice").await;
    let (bob, bob_token) = app.user("bob").await;
    let (carol, _) = app.user("carol").await;
    let (dave, dave_token) = app.user("dave").await;
    // Alice: 08:30–09:30 (starts before the window), 10:00–11:00 and 11:00–11:30
    // (touching: one interval), a transparent 13:00–14:00 (free), 15:00–16:00.
    for (title, a, b) in [
        ("early", 8 * 60 + 30, 9 * 60 + 30),
        ("one", 10 * 60, 11 * 60),
        ("two", 11 * 60, 11 * 60 + 30),
        ("late", 15 * 60, 16 * 60),
    ] {
        create(
            &app,
            &alice_token,
            json!({"title": title, "start_time": at(a), "end_time": at(b)}),
        )
        .await;
    }
    create(
        &app,
        &alice_token,
        json!({"title": "reminder", "start_time": at(13 * 60), "end_time": at(14 * 60),
               "transparency": "transparent"}),
    )
    .await;
    // Bob shares an event with Alice: they are collaborators (both ways). His own busy
    // time counts, not the events shared with him.
    let bobs = create(
        &app,
        &bob_token,
        json!({"title": "Bob's", "start_time": at(12 * 60), "end_time": at(12 * 60 + 45)}),
    )
    .await;
    app.share(&bob_token, id_of(&bobs), alice, "viewer").await;
    // Dave shares with Carol only: neither is Alice's collaborator.
    let daves = create(
        &app,
        &dave_token,
        json!({"title": "Dave's", "start_time": at(10 * 60), "end_time": at(11 * 60)}),
    )
    .await;
    app.share(&dave_token, id_of(&daves), carol, "editor").await;

    let body = json!({"user_ids": [alice, bob, carol, dave, 999_999, alice],
                      "from": at(9 * 60), "to": at(15 * 60 + 30)});
    let doc = post_ok(&app, "/api/freebusy", &alice_token, &body).await;
    assert_eq!(doc["from"], at(9 * 60));
    assert_eq!(doc["to"], at(15 * 60 + 30));
    let users = doc["users"].as_array().unwrap();
    // Repeats are answered once, in request order.
    let ids: Vec<i64> = users
        .iter()
        .map(|u| u["user_id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![alice, bob, carol, dave, 999_999]);
    assert_eq!(
        intervals(&users[0]["busy"]),
        vec![
            span(9 * 60, 9 * 60 + 30),
            span(10 * 60, 11 * 60 + 30),
            span(15 * 60, 15 * 60 + 30)
        ]
    );
    assert_eq!(users[0].as_object().unwrap().len(), 2);
    assert_eq!(
        intervals(&users[1]["busy"]),
        vec![span(12 * 60, 12 * 60 + 45)]
    );
    for hidden in &users[2..] {
        assert_eq!(hidden["error"], "not_visible", "{hidden}");
        assert!(hidden.get("busy").is_none());
    }
    // Bob sees Alice too (the share goes the other way), never titles.
    let doc = post_ok(
        &app,
        "/api/freebusy",
        &bob_token,
        &json!({"user_ids": [alice], "from": at(9 * 60), "to": at(12 * 60)}),
    )
    .await;
    assert_eq!(
        intervals(&doc["users"][0]["busy"]),
        vec![span(9 * 60, 9 * 60 + 30), span(10 * 60, 11 * 60 + 30)]
    );
    assert!(!doc.to_string().contains("early"));
    // A moved and a cancelled occurrence of a series count where they are now.
    let series = create(
        &app,
        &alice_token,
        json!({"title": "daily", "start_time": at(24 * 60 + 7 * 60), "end_time": at(24 * 60 + 8 * 60),
               "recurrence": "FREQ=DAILY;COUNT=3"}),
    )
    .await;
    let id = id_of(&series);
    app.cancel_occurrence(&alice_token, id, &at(2 * 24 * 60 + 7 * 60))
        .await;
    app.patch_occurrence(
        &alice_token,
        id,
        &at(3 * 24 * 60 + 7 * 60),
        &json!({"start_time": at(3 * 24 * 60 + 9 * 60), "end_time": at(3 * 24 * 60 + 10 * 60)}),
    )
    .await;
    let doc = post_ok(
        &app,
        "/api/freebusy",
        &alice_token,
        &json!({"user_ids": [alice], "from": at(24 * 60), "to": at(4 * 24 * 60)}),
    )
    .await;
    assert_eq!(
        intervals(&doc["users"][0]["busy"]),
        vec![
            span(24 * 60 + 7 * 60, 24 * 60 + 8 * 60),
            span(3 * 24 * 60 + 9 * 60, 3 * 24 * 60 + 10 * 60)
        ]
    );
}

async fn windows_and_user_lists_are_bounded(backend: Backend) {
    let app = app!(backend);
    let (alice, token) = app.user("alice").await;
    let day = 24 * 60;
    for (body, field) in [
        (
            json!({"user_ids": [alice], "from": at(0), "to": at(366 * day + 1)}),
            "to",
        ),
        (
            json!({"user_ids": [alice], "from": at(60), "to": at(60)}),
            "to",
        ),
        (json!({"user_ids": [alice], "to": at(60)}), "from"),
        (
            json!({"user_ids": [alice], "from": "yesterday", "to": at(60)}),
            "from",
        ),
        (json!({"from": at(0), "to": at(60)}), "user_ids"),
        (
            json!({"user_ids": [], "from": at(0), "to": at(60)}),
            "user_ids",
        ),
        (
            json!({"user_ids": (1..=51).collect::<Vec<i64>>(), "from": at(0), "to": at(60)}),
            "user_ids",
        ),
    ] {
        for path in ["/api/freebusy", "/api/freebusy/slots"] {
            let mut body = body.clone();
            if path.ends_with("slots") {
                body["duration_minutes"] = json!(30);
            }
            let res = app.post(path, &body, Some(&token)).await;
            let problem =
                assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
            let fields: Vec<String> = field_errors(&problem).into_iter().map(|(_, f)| f).collect();
            assert_eq!(fields, vec![field.to_owned()], "{path} {body}");
        }
    }
    // Every problem at once: the user list's and the window's.
    for path in ["/api/freebusy", "/api/freebusy/slots"] {
        let body =
            json!({"user_ids": [], "from": at(0), "to": at(400 * day), "duration_minutes": 0});
        let res = app.post(path, &body, Some(&token)).await;
        let problem =
            assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        let mut fields: Vec<String> = field_errors(&problem).into_iter().map(|(_, f)| f).collect();
        fields.sort();
        let mut expected = vec!["to", "user_ids"];
        if path.ends_with("slots") {
            expected.insert(0, "duration_minutes");
        }
        assert_eq!(fields, expected, "{path}");
    }
    // 366 days exactly is fine.
    post_ok(
        &app,
        "/api/freebusy",
        &token,
        &json!({"user_ids": [alice], "from": at(0), "to": at(366 * day)}),
    )
    .await;
    for (extra, field) in [
        (json!({}), "duration_minutes"),
        (json!({"duration_minutes": 0}), "duration_minutes"),
        (
            json!({"duration_minutes": 30, "step_minutes": 0}),
            "step_minutes",
        ),
        (
            json!({"duration_minutes": 30, "step_minutes": 1441}),
            "step_minutes",
        ),
        (json!({"duration_minutes": 30, "limit": 101}), "limit"),
        (json!({"duration_minutes": 30, "limit": 0}), "limit"),
    ] {
        let mut body = json!({"user_ids": [alice], "from": at(0), "to": at(60)});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        let res = app.post("/api/freebusy/slots", &body, Some(&token)).await;
        let problem =
            assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        let fields: Vec<String> = field_errors(&problem).into_iter().map(|(_, f)| f).collect();
        assert_eq!(fields, vec![field.to_owned()], "{body}");
        // Said in the contract's words, not the decoder's type names.
        let message = problem["errors"][0]["message"].as_str().unwrap();
        assert!(!message.contains("enum"), "{message}");
    }
    // JSON Schema's integers include whole floats (`30.0`); fractions are refused.
    let doc = post_ok(
        &app,
        "/api/freebusy/slots",
        &token,
        &json!({"user_ids": [alice as f64], "from": at(0), "to": at(60),
                "duration_minutes": 30.0, "step_minutes": 15.0, "limit": 2.0}),
    )
    .await;
    assert_eq!(doc["slots"].as_array().unwrap().len(), 2);
    for (body, field) in [
        (
            json!({"user_ids": [1.5], "from": at(0), "to": at(60), "duration_minutes": 30}),
            "user_ids",
        ),
        (
            json!({"user_ids": [alice], "from": at(0), "to": at(60), "duration_minutes": 30.5}),
            "duration_minutes",
        ),
        (
            json!({"user_ids": [alice], "from": at(0), "to": at(60), "duration_minutes": "half an hour"}),
            "duration_minutes",
        ),
    ] {
        let res = app.post("/api/freebusy/slots", &body, Some(&token)).await;
        let problem =
            assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        let fields: Vec<String> = field_errors(&problem).into_iter().map(|(_, f)| f).collect();
        assert_eq!(fields, vec![field.to_owned()], "{body}");
        // Said in the contract's words, not the decoder's type names.
        let message = problem["errors"][0]["message"].as_str().unwrap();
        assert!(!message.contains("enum"), "{message}");
    }
    let res = app
        .post(
            "/api/freebusy",
            &json!({"user_ids": [alice], "from": at(0), "to": at(60)}),
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

async fn slots_are_the_earliest_aligned_times_everyone_is_free(backend: Backend) {
    let app = app!(backend);
    let (alice, alice_token) = app.user("alice").await;
    let (bob, bob_token) = app.user("bob").await;
    let (stranger, stranger_token) = app.user("stranger").await;
    // Alice busy 09:00–10:10; Bob busy 10:30–11:00; they collaborate.
    create(
        &app,
        &alice_token,
        json!({"title": "a", "start_time": at(9 * 60), "end_time": at(10 * 60 + 10)}),
    )
    .await;
    let bobs = create(
        &app,
        &bob_token,
        json!({"title": "b", "start_time": at(10 * 60 + 30), "end_time": at(11 * 60)}),
    )
    .await;
    app.share(&bob_token, id_of(&bobs), alice, "viewer").await;
    // The stranger is busy all morning; Alice cannot see them: left out.
    create(
        &app,
        &stranger_token,
        json!({"title": "s", "start_time": at(8 * 60), "end_time": at(12 * 60)}),
    )
    .await;
    let body = json!({"user_ids": [alice, bob, stranger], "from": at(8 * 60 + 50),
                      "to": at(12 * 60), "duration_minutes": 30, "limit": 4});
    let doc = post_ok(&app, "/api/freebusy/slots", &alice_token, &body).await;
    assert_eq!(doc.as_object().unwrap().len(), 1);
    // 15-minute steps: 10:15 is the first start after 10:10, but 10:15–10:45 meets Bob;
    // after 11:00: 11:00, 11:15, 11:30 (11:30–12:00 ends with the window).
    assert_eq!(
        intervals(&doc["slots"]),
        vec![
            span(11 * 60, 11 * 60 + 30),
            span(11 * 60 + 15, 11 * 60 + 45),
            span(11 * 60 + 30, 12 * 60),
        ]
    );
    // Hourly steps and a limit of one; 08:50 aligns up to 09:00 (busy) → 11:00.
    let body = json!({"user_ids": [alice, bob], "from": at(8 * 60 + 50), "to": at(12 * 60),
                      "duration_minutes": 60, "step_minutes": 60, "limit": 1});
    let doc = post_ok(&app, "/api/freebusy/slots", &alice_token, &body).await;
    assert_eq!(intervals(&doc["slots"]), vec![span(11 * 60, 12 * 60)]);
    // The default step (15) and limit (20) over a free afternoon.
    let body = json!({"user_ids": [bob], "from": at(13 * 60 + 1), "to": at(23 * 60),
                      "duration_minutes": 30});
    let doc = post_ok(&app, "/api/freebusy/slots", &alice_token, &body).await;
    let slots = intervals(&doc["slots"]);
    assert_eq!(slots.len(), 20);
    assert_eq!(slots[0], span(13 * 60 + 15, 13 * 60 + 45));
    assert_eq!(slots[19], span(18 * 60, 18 * 60 + 30));
}

async fn series_count_beyond_the_horizon(backend: Backend) {
    // A 30-day horizon: the weekly series' occurrences after it are not stored.
    let app = app!(backend, |s| s.recurrence_horizon_days = 30);
    let (alice, token) = app.user("alice").await;
    let start = chrono::Utc::now() + chrono::Duration::days(1);
    let start = start.date_naive().and_hms_opt(9, 0, 0).unwrap().and_utc();
    create(
        &app,
        &token,
        json!({"title": "weekly", "start_time": start.to_rfc3339(),
               "end_time": (start + chrono::Duration::hours(1)).to_rfc3339(),
               "recurrence": "FREQ=WEEKLY"}),
    )
    .await;
    let from = start + chrono::Duration::days(70) - chrono::Duration::hours(1);
    let to = from + chrono::Duration::days(14);
    let doc = post_ok(
        &app,
        "/api/freebusy",
        &token,
        &json!({"user_ids": [alice], "from": from.to_rfc3339(), "to": to.to_rfc3339()}),
    )
    .await;
    let busy = intervals(&doc["users"][0]["busy"]);
    let expected: Vec<(String, String)> = [70, 77]
        .iter()
        .map(|d| {
            let s = start + chrono::Duration::days(*d);
            (
                s.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                (s + chrono::Duration::hours(1)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            )
        })
        .collect();
    assert_eq!(busy, expected);
}

/// Over 2,000 busy intervals in the window: the first 2,000 with `truncated`, and asking
/// again from the last one's end gives the rest.
async fn a_long_answer_is_truncated_and_resumes(backend: Backend) {
    let app = app!(backend);
    let (alice, token) = app.user("alice").await;
    // Six daily half hours through 2027: 2,190 intervals, none touching.
    let series: Vec<Value> = (0..6)
        .map(|h| {
            json!({"title": format!("Daily {h}"), "start_time": format!("2027-01-01T0{h}:00:00Z"),
                   "end_time": format!("2027-01-01T0{h}:30:00Z"), "recurrence": "FREQ=DAILY;COUNT=365"})
        })
        .collect();
    let res = app.post_batch(&token, series).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let ask =
        |from: String| json!({"user_ids": [alice], "from": from, "to": "2028-01-01T00:00:00Z"});
    let first = post_ok(
        &app,
        "/api/freebusy",
        &token,
        &ask("2027-01-01T00:00:00Z".into()),
    )
    .await;
    let entry = &first["users"][0];
    assert_eq!(entry["truncated"], true, "{entry}");
    let mut all = intervals(&entry["busy"]);
    assert_eq!(all.len(), 2000);
    let resume = all.last().unwrap().1.clone();
    let rest = post_ok(&app, "/api/freebusy", &token, &ask(resume)).await;
    let entry = &rest["users"][0];
    let mut keys: Vec<&String> = entry.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(
        keys,
        ["busy", "user_id"],
        "complete answers carry no truncated member"
    );
    all.extend(intervals(&entry["busy"]));
    assert_eq!(all.len(), 6 * 365);
    let mut expected = Vec::new();
    for day in 0..365 {
        let date =
            chrono::NaiveDate::from_ymd_opt(2027, 1, 1).unwrap() + chrono::Duration::days(day);
        for h in 0..6 {
            expected.push((format!("{date}T0{h}:00:00Z"), format!("{date}T0{h}:30:00Z")));
        }
    }
    assert_eq!(all, expected);
}
