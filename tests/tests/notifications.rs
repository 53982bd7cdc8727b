//! Notifications over REST: who receives what, read state, unread filter, pagination.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use convene_tests::{
    app, assert_problem, backend_tests, id_of, query_escape, slot, ts_key, Backend, Pages,
    StatusCode, TestApp,
};
use reqwest::Method;
use serde_json::{json, Value};

backend_tests!(
    creator_gets_a_read_copy,
    recipients_follow_the_rules,
    leaving_notifies_only_the_leaver,
    failed_and_noop_changes_notify_nobody,
    unread_only_and_mark_read,
    read_all_marks_everything,
    notifications_paginate_newest_first,
    batch_creation_notifies_the_owner,
);

const NOTIFICATION_KEYS: [&str; 8] = [
    "id",
    "type",
    "event_id",
    "actor_id",
    "message",
    "data",
    "is_read",
    "created_at",
];

fn assert_notification_read(n: &Value) {
    convene_tests::assert_members(n, &NOTIFICATION_KEYS, "NotificationRead");
    assert!(n["id"].as_i64().unwrap() > 0);
    assert!(n["data"].is_object(), "data is an object: {n}");
    assert!(
        n["message"].as_str().is_some_and(|m| !m.trim().is_empty()),
        "message in {n}"
    );
    assert!(n["is_read"].is_boolean());
    assert!(n["created_at"].as_str().unwrap().ends_with('Z'));
}

/// The whole first page (limit 200) of `GET /api/notifications?{query}`.
async fn page(app: &TestApp, token: &str, query: &str) -> Value {
    let page = app
        .get_ok(&format!("/api/notifications?limit=200&{query}"), token)
        .await;
    convene_tests::assert_members(
        &page,
        &["items", "next_cursor", "unread_count"],
        "notification page",
    );
    assert_eq!(page["next_cursor"], Value::Null);
    let items = page["items"].as_array().unwrap();
    for n in items {
        assert_notification_read(n);
    }
    // Newest first.
    let ids: Vec<i64> = items.iter().map(id_of).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first: {ids:?}");
    let times: Vec<String> = items
        .iter()
        .map(|n| ts_key(n["created_at"].as_str().unwrap()))
        .collect();
    assert!(
        times.windows(2).all(|w| w[0] >= w[1]),
        "newest first: {times:?}"
    );
    page
}

async fn notes(app: &TestApp, token: &str) -> Vec<Value> {
    page(app, token, "").await["items"]
        .as_array()
        .unwrap()
        .clone()
}

async fn unread_count(app: &TestApp, token: &str) -> i64 {
    page(app, token, "").await["unread_count"].as_i64().unwrap()
}

/// `(type, is_read)` of every notification, newest first.
fn kinds(items: &[Value]) -> Vec<(String, bool)> {
    items
        .iter()
        .map(|n| {
            (
                n["type"].as_str().unwrap().to_owned(),
                n["is_read"].as_bool().unwrap(),
            )
        })
        .collect()
}

fn k(kind: &str, read: bool) -> (String, bool) {
    (kind.to_owned(), read)
}

async fn creator_gets_a_read_copy(backend: Backend) {
    let app = app!(backend);
    let (owner, token) = app.user("nc_owner").await;
    let (_, other) = app.user("nc_other").await;
    let event = app
        .create_event(&token, "Kickoff", &slot(1), &slot(2))
        .await;
    let page = page(&app, &token, "").await;
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    let n = &items[0];
    assert_eq!(n["type"], "event_created");
    assert_eq!(n["event_id"], event["id"]);
    assert_eq!(n["actor_id"], owner);
    assert_eq!(n["is_read"], true);
    assert_eq!(page["unread_count"], 0);
    // Nobody else hears of it.
    assert!(notes(&app, &other).await.is_empty());
    let res = app.get("/api/notifications", None).await;
    assert_problem(res, StatusCode::UNAUTHORIZED, "unauthorized").await;
}

async fn recipients_follow_the_rules(backend: Backend) {
    let app = app!(backend);
    let (owner, o) = app.user("nr_owner").await;
    let (editor, e) = app.user("nr_editor").await;
    let (viewer, v) = app.user("nr_viewer").await;
    let (_, x) = app.user("nr_outsider").await;
    let event = app.create_event(&o, "Launch", &slot(10), &slot(11)).await;
    let id = id_of(&event);
    let path = format!("/api/events/{id}");

    // Sharing notifies each grantee with their role.
    let res = app
        .post(
            &format!("{path}/share"),
            &json!([{"user_id": editor, "role": "editor"}, {"user_id": viewer, "role": "viewer"}]),
            Some(&o),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    for (tok, role) in [(&e, "editor"), (&v, "viewer")] {
        let items = notes(&app, tok).await;
        assert_eq!(kinds(&items), vec![k("event_shared", false)], "{role}");
        assert_eq!(items[0]["data"]["role"], role);
        assert_eq!(items[0]["actor_id"], owner);
        assert_eq!(items[0]["event_id"], id);
    }
    assert_eq!(
        kinds(&notes(&app, &o).await),
        vec![k("event_created", true)]
    );

    // The editor updates: every participant, the editor's own copy read.
    let res = app
        .patch(&path, &json!({"title": "Launch!"}), Some(&e))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    for (tok, read) in [(&o, false), (&e, true), (&v, false)] {
        let items = notes(&app, tok).await;
        assert_eq!(items[0]["type"], "event_updated");
        assert_eq!(items[0]["is_read"], read);
        assert_eq!(items[0]["actor_id"], editor);
        assert_eq!(items[0]["event_id"], id);
    }

    // A role change notifies only the affected user.
    let res = app
        .put(
            &format!("{path}/permissions/{viewer}"),
            &json!({"role": "editor"}),
            Some(&o),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let items = notes(&app, &v).await;
    assert_eq!(items[0]["type"], "permission_changed");
    assert_eq!(items[0]["is_read"], false);
    assert_eq!(items[0]["data"]["role"], "editor");
    assert_eq!(items[0]["actor_id"], owner);
    assert_eq!(items[0]["event_id"], id);

    // A revocation notifies only the affected user.
    let res = app
        .delete(&format!("{path}/permissions/{editor}"), Some(&o))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let items = notes(&app, &e).await;
    assert_eq!(items[0]["type"], "permission_revoked");
    assert_eq!(items[0]["is_read"], false);
    assert_eq!(items[0]["actor_id"], owner);
    assert_eq!(items[0]["event_id"], id);

    // The former viewer (now editor) rolls back: remaining participants.
    let res = app
        .post_empty(&format!("{path}/rollback/1"), Some(&v))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    for (tok, read) in [(&o, false), (&v, true)] {
        let items = notes(&app, tok).await;
        assert_eq!(items[0]["type"], "event_rolled_back");
        assert_eq!(items[0]["is_read"], read);
        assert_eq!(items[0]["actor_id"], viewer);
        assert_eq!(items[0]["event_id"], id);
    }

    // Deleting notifies every participant.
    let res = app.delete(&path, Some(&o)).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    for (tok, read) in [(&o, true), (&v, false)] {
        let items = notes(&app, tok).await;
        assert_eq!(items[0]["type"], "event_deleted");
        assert_eq!(items[0]["is_read"], read);
        assert_eq!(items[0]["actor_id"], owner);
        assert_eq!(items[0]["event_id"], id);
    }

    // The complete picture, newest first.
    assert_eq!(
        kinds(&notes(&app, &o).await),
        vec![
            k("event_deleted", true),
            k("event_rolled_back", false),
            k("event_updated", false),
            k("event_created", true),
        ]
    );
    assert_eq!(
        kinds(&notes(&app, &e).await),
        vec![
            k("permission_revoked", false),
            k("event_updated", true),
            k("event_shared", false),
        ]
    );
    assert_eq!(
        kinds(&notes(&app, &v).await),
        vec![
            k("event_deleted", false),
            k("event_rolled_back", true),
            k("permission_changed", false),
            k("event_updated", false),
            k("event_shared", false),
        ]
    );
    assert!(notes(&app, &x).await.is_empty());
    assert_eq!(unread_count(&app, &o).await, 2);
    assert_eq!(unread_count(&app, &e).await, 2);
    assert_eq!(unread_count(&app, &v).await, 4);
    assert_eq!(unread_count(&app, &x).await, 0);
}

async fn leaving_notifies_only_the_leaver(backend: Backend) {
    let app = app!(backend);
    let (_, o) = app.user("nl_owner").await;
    let (leaver, l) = app.user("nl_leaver").await;
    let (stayer, s) = app.user("nl_stayer").await;
    let id = id_of(&app.create_event(&o, "Club", &slot(1), &slot(2)).await);
    app.share(&o, id, leaver, "viewer").await;
    app.share(&o, id, stayer, "editor").await;
    let owner_before = notes(&app, &o).await;
    let stayer_before = notes(&app, &s).await;
    let res = app
        .delete(&format!("/api/events/{id}/permissions/{leaver}"), Some(&l))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let items = notes(&app, &l).await;
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["type"], "permission_revoked");
    assert_eq!(items[0]["actor_id"], leaver);
    assert_eq!(items[0]["event_id"], id);
    assert_eq!(notes(&app, &o).await, owner_before);
    assert_eq!(notes(&app, &s).await, stayer_before);
}

async fn failed_and_noop_changes_notify_nobody(backend: Backend) {
    let app = app!(backend);
    let (_, o) = app.user("nf_owner").await;
    let (viewer, v) = app.user("nf_viewer").await;
    let id = id_of(&app.create_event(&o, "Quiet", &slot(10), &slot(11)).await);
    app.create_event(&o, "Busy", &slot(12), &slot(13)).await;
    app.share(&o, id, viewer, "viewer").await;
    let path = format!("/api/events/{id}");
    let owner_before = notes(&app, &o).await;
    let viewer_before = notes(&app, &v).await;

    // No-op update.
    let res = app.patch(&path, &json!({"title": "Quiet"}), Some(&o)).await;
    assert_eq!(res.status(), StatusCode::OK);
    // Conflict.
    let res = app
        .patch(
            &path,
            &json!({"end_time": "2030-01-01T12:30:00Z"}),
            Some(&o),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    // Stale If-Match.
    let res = app
        .send_if_match(
            Method::PATCH,
            &path,
            Some(&json!({"title": "x"})),
            &o,
            "\"9\"",
        )
        .await;
    assert_eq!(res.status(), StatusCode::PRECONDITION_FAILED);
    // Invalid.
    let res = app.patch(&path, &json!({"title": ""}), Some(&o)).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // Forbidden.
    let res = app.patch(&path, &json!({"title": "x"}), Some(&v)).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // Rollback to the current content.
    let res = app
        .post_empty(&format!("{path}/rollback/1"), Some(&o))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    // A failed share.
    let res = app
        .post(
            &format!("{path}/share"),
            &json!([{"user_id": viewer, "role": "editor"}, {"user_id": 999_999, "role": "viewer"}]),
            Some(&o),
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);

    assert_eq!(notes(&app, &o).await, owner_before);
    assert_eq!(notes(&app, &v).await, viewer_before);
}

async fn unread_only_and_mark_read(backend: Backend) {
    let app = app!(backend);
    let (_, o) = app.user("nu_owner").await;
    let (user, u) = app.user("nu_user").await;
    let id = id_of(&app.create_event(&o, "t0", &slot(1), &slot(2)).await);
    app.share(&o, id, user, "viewer").await;
    for i in 1..=2 {
        let res = app
            .patch(
                &format!("/api/events/{id}"),
                &json!({"title": format!("t{i}")}),
                Some(&o),
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK);
    }
    let unread = page(&app, &u, "unread_only=true").await;
    assert_eq!(unread["unread_count"], 3);
    let items = unread["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 3);
    assert!(items.iter().all(|n| n["is_read"] == false));

    // Mark the newest read: idempotent.
    let target = &items[0];
    let read_path = format!("/api/notifications/{}/read", id_of(target));
    for _ in 0..2 {
        let res = app.post_empty(&read_path, Some(&u)).await;
        assert_eq!(res.status(), StatusCode::OK);
        let n: Value = res.json().await.unwrap();
        assert_notification_read(&n);
        assert_eq!(n["is_read"], true);
        let mut expected = target.clone();
        expected["is_read"] = json!(true);
        assert_eq!(n, expected);
    }
    // `True` (as Python's requests sends it) and `1` are yes too.
    for query in ["unread_only=true", "unread_only=True", "unread_only=1"] {
        let unread = page(&app, &u, query).await;
        assert_eq!(unread["unread_count"], 2);
        let unread_ids: Vec<i64> = unread["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(id_of)
            .collect();
        assert_eq!(
            unread_ids,
            vec![id_of(&items[1]), id_of(&items[2])],
            "{query}"
        );
    }
    let res = app
        .get("/api/notifications?unread_only=maybe", Some(&u))
        .await;
    assert_problem(res, StatusCode::BAD_REQUEST, "invalid_query").await;
    // Without the filter (or with it off), read ones are listed too.
    for query in [
        "",
        "unread_only=false",
        "unread_only=False",
        "unread_only=0",
    ] {
        let all = page(&app, &u, query).await;
        assert_eq!(all["items"].as_array().unwrap().len(), 3, "{query}");
        assert_eq!(all["unread_count"], 2, "{query}");
        assert_eq!(all["items"][0]["is_read"], true);
    }

    // Someone else's notification, or none at all: 404.
    let res = app.post_empty(&read_path, Some(&o)).await;
    assert_problem(res, StatusCode::NOT_FOUND, "not_found").await;
    let res = app
        .post_empty("/api/notifications/999999/read", Some(&u))
        .await;
    assert_problem(res, StatusCode::NOT_FOUND, "not_found").await;
    let res = app.post_empty(&read_path, None).await;
    assert_problem(res, StatusCode::UNAUTHORIZED, "unauthorized").await;
    // The owner's own notifications are unaffected by the user's reads.
    let owner_page = page(&app, &o, "").await;
    assert_eq!(owner_page["items"].as_array().unwrap().len(), 3);
    assert_eq!(owner_page["unread_count"], 0);
}

async fn read_all_marks_everything(backend: Backend) {
    let app = app!(backend);
    let (owner, o) = app.user("na_owner").await;
    let (user, u) = app.user("na_user").await;
    // The user owns an event shared with the owner, so both have unread notifications.
    let mine = id_of(&app.create_event(&u, "mine", &slot(20), &slot(21)).await);
    app.share(&u, mine, owner, "editor").await;
    let id = id_of(&app.create_event(&o, "t0", &slot(1), &slot(2)).await);
    app.share(&o, id, user, "editor").await;
    app.patch(
        &format!("/api/events/{id}"),
        &json!({"title": "t1"}),
        Some(&o),
    )
    .await;
    assert_eq!(unread_count(&app, &u).await, 2);
    assert_eq!(unread_count(&app, &o).await, 1);

    let res = app
        .post_empty("/api/notifications/read-all", Some(&u))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Value>().await.unwrap(), json!({"updated": 2}));
    let after = page(&app, &u, "").await;
    assert_eq!(after["unread_count"], 0);
    assert!(after["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|n| n["is_read"] == true));
    assert_eq!(page(&app, &u, "unread_only=true").await["items"], json!([]));
    let res = app
        .post_empty("/api/notifications/read-all", Some(&u))
        .await;
    assert_eq!(res.json::<Value>().await.unwrap(), json!({"updated": 0}));
    // Only the caller's notifications.
    assert_eq!(unread_count(&app, &o).await, 1);
    let res = app.post_empty("/api/notifications/read-all", None).await;
    assert_problem(res, StatusCode::UNAUTHORIZED, "unauthorized").await;
}

async fn notifications_paginate_newest_first(backend: Backend) {
    let app = app!(backend);
    let (_, o) = app.user("np_owner").await;
    let (user, u) = app.user("np_user").await;
    let id = id_of(&app.create_event(&o, "t0", &slot(1), &slot(2)).await);
    app.share(&o, id, user, "editor").await;
    // 1 share + 6 updates by the owner = 7 for the user; their own 2 updates are read.
    for i in 1..=6 {
        app.patch(
            &format!("/api/events/{id}"),
            &json!({"title": format!("o{i}")}),
            Some(&o),
        )
        .await;
    }
    for i in 1..=2 {
        app.patch(
            &format!("/api/events/{id}"),
            &json!({"title": format!("u{i}")}),
            Some(&u),
        )
        .await;
    }
    let all = notes(&app, &u).await;
    assert_eq!(all.len(), 9);

    let walk =
        |query: &str| Pages::new(format!("/api/notifications?limit=4&{query}"), 10).items(&app, &u);
    let (seen, sizes) = walk("").await;
    assert_eq!(sizes, vec![4, 4, 1]);
    assert_eq!(seen, all);

    let (seen, sizes) = walk("unread_only=true").await;
    assert_eq!(sizes, vec![4, 3]);
    let expected: Vec<Value> = all
        .iter()
        .filter(|n| n["is_read"] == false)
        .cloned()
        .collect();
    assert_eq!(seen, expected);

    // New notifications arriving while paging do not disturb older pages.
    let first = app.get_ok("/api/notifications?limit=4", &u).await;
    app.patch(
        &format!("/api/events/{id}"),
        &json!({"title": "late"}),
        Some(&o),
    )
    .await;
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = app
        .get_ok(
            &format!("/api/notifications?limit=4&cursor={}", query_escape(cursor)),
            &u,
        )
        .await;
    let second_ids: Vec<i64> = second["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(id_of)
        .collect();
    let expected_ids: Vec<i64> = all[4..8].iter().map(id_of).collect();
    assert_eq!(second_ids, expected_ids);

    for bad in ["limit=0", "limit=201"] {
        let res = app
            .get(&format!("/api/notifications?{bad}"), Some(&u))
            .await;
        assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    }
    let res = app.get("/api/notifications?limit=many", Some(&u)).await;
    assert_problem(res, StatusCode::BAD_REQUEST, "invalid_query").await;
    let res = app.get("/api/notifications?cursor=garbage", Some(&u)).await;
    assert_problem(res, StatusCode::BAD_REQUEST, "invalid_cursor").await;
}

async fn batch_creation_notifies_the_owner(backend: Backend) {
    let app = app!(backend);
    let (owner, o) = app.user("nb_owner").await;
    let (_, other) = app.user("nb_other").await;
    let res = app
        .post(
            "/api/events/batch",
            &json!({"events": [
                {"title": "a", "start_time": slot(1), "end_time": slot(2)},
                {"title": "b", "start_time": slot(3), "end_time": slot(4)},
                {"title": "c", "start_time": slot(5), "end_time": slot(6)},
            ]}),
            Some(&o),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let created: Vec<Value> = res.json().await.unwrap();
    let items = notes(&app, &o).await;
    assert_eq!(kinds(&items), vec![k("event_created", true); 3]);
    let mut notified: Vec<i64> = items
        .iter()
        .map(|n| {
            assert_eq!(n["actor_id"], owner);
            n["event_id"].as_i64().unwrap()
        })
        .collect();
    notified.sort_unstable();
    let mut ids: Vec<i64> = created.iter().map(id_of).collect();
    ids.sort_unstable();
    assert_eq!(notified, ids);
    assert!(notes(&app, &other).await.is_empty());
    // A failed batch notifies nobody.
    let res = app
        .post(
            "/api/events/batch",
            &json!({"events": [
                {"title": "d", "start_time": slot(7), "end_time": slot(8)},
                {"title": "clash", "start_time": slot(1), "end_time": slot(2)},
            ]}),
            Some(&o),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert_eq!(notes(&app, &o).await, items);
}
