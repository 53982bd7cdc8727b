//! Versioning and history: changelog, single versions, diffs and rollback.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use convene_tests::{
    app, assert_problem, backend_tests, etag, id_of, slot, ts_key, Backend, Pages, StatusCode,
    TestApp,
};
use reqwest::Method;
use serde_json::{json, Value};

backend_tests!(
    changelog_lists_every_version,
    changelog_paginates,
    versions_by_number,
    diff_lists_only_changed_fields,
    rollback_creates_a_new_version,
    rollback_to_current_content_creates_no_version,
    rollback_is_conflict_checked,
    rollback_honours_if_match,
    history_is_gone_with_the_event,
    editor_rollback_is_checked_against_the_owners_calendar,
    viewers_cannot_roll_back,
);

const VERSION_KEYS: [&str; 14] = [
    "event_id",
    "version",
    "title",
    "description",
    "start_time",
    "end_time",
    "location",
    "change",
    "restored_from",
    "changed_by",
    "changed_at",
    "time_zone",
    "recurrence",
    "transparency",
];

fn assert_version_read(v: &Value) {
    convene_tests::assert_members(v, &VERSION_KEYS, "VersionRead");
    for ts in ["start_time", "end_time", "changed_at"] {
        assert!(v[ts].as_str().unwrap().ends_with('Z'), "{ts} in {v}");
    }
}

/// The content fields of an event or a version.
fn content(v: &Value) -> Value {
    json!({
        "title": v["title"],
        "description": v["description"],
        "start_time": v["start_time"],
        "end_time": v["end_time"],
        "location": v["location"],
    })
}

async fn changelog(app: &TestApp, token: &str, id: i64) -> Vec<Value> {
    let page = app
        .get_ok(&format!("/api/events/{id}/changelog?limit=200"), token)
        .await;
    assert_eq!(page["next_cursor"], Value::Null);
    let items = page["items"].as_array().unwrap().clone();
    for v in &items {
        assert_version_read(v);
        assert_eq!(v["event_id"], id);
    }
    items
}

fn versions(items: &[Value]) -> Vec<i64> {
    items
        .iter()
        .map(|v| v["version"].as_i64().unwrap())
        .collect()
}

/// An event by `owner_token` with three versions: created, title changed by the editor,
/// time and location changed by the owner. Returns the event id.
async fn three_versions(app: &TestApp, owner_token: &str, editor: (i64, &str)) -> i64 {
    let res = app
        .post(
            "/api/events",
            &json!({"title": "Draft", "description": "same", "start_time": slot(10),
                    "end_time": slot(11)}),
            Some(owner_token),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let id = id_of(&res.json::<Value>().await.unwrap());
    app.share(owner_token, id, editor.0, "editor").await;
    let res = app
        .patch(
            &format!("/api/events/{id}"),
            &json!({"title": "Final"}),
            Some(editor.1),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = app
        .put(
            &format!("/api/events/{id}"),
            &json!({"start_time": slot(12), "end_time": "2030-01-01T13:30:00Z", "location": "Room 1"}),
            Some(owner_token),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Value>().await.unwrap()["version"], 3);
    id
}

async fn changelog_lists_every_version(backend: Backend) {
    let app = app!(backend);
    let (owner, token) = app.user("cl_owner").await;
    let (editor, editor_token) = app.user("cl_editor").await;
    let (viewer, viewer_token) = app.user("cl_viewer").await;
    let id = three_versions(&app, &token, (editor, &editor_token)).await;
    app.share(&token, id, viewer, "viewer").await;

    // No-op updates add nothing.
    let res = app
        .patch(
            &format!("/api/events/{id}"),
            &json!({"title": "Final"}),
            Some(&token),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);

    for tok in [&token, &editor_token, &viewer_token] {
        let page = app
            .get_ok(&format!("/api/events/{id}/changelog"), tok)
            .await;
        assert_eq!(
            page.as_object().unwrap().len(),
            2,
            "items and next_cursor: {page}"
        );
        assert_eq!(page["next_cursor"], Value::Null);
        let items = page["items"].as_array().unwrap();
        assert_eq!(versions(items), vec![1, 2, 3]);
        for v in items {
            assert_version_read(v);
            assert_eq!(v["event_id"], id);
            assert_eq!(v["restored_from"], Value::Null);
        }
        assert_eq!(
            content(&items[0]),
            json!({"title": "Draft", "description": "same", "start_time": slot(10),
                   "end_time": slot(11), "location": null})
        );
        assert_eq!(items[0]["change"], "created");
        assert_eq!(items[0]["changed_by"], owner);
        assert_eq!(
            content(&items[1]),
            json!({"title": "Final", "description": "same", "start_time": slot(10),
                   "end_time": slot(11), "location": null})
        );
        assert_eq!(items[1]["change"], "updated");
        assert_eq!(items[1]["changed_by"], editor);
        assert_eq!(
            content(&items[2]),
            json!({"title": "Final", "description": "same", "start_time": slot(12),
                   "end_time": "2030-01-01T13:30:00Z", "location": "Room 1"})
        );
        assert_eq!(items[2]["change"], "updated");
        assert_eq!(items[2]["changed_by"], owner);
        // Each version holds the full state; the last one equals the event.
        let event = app.get_ok(&format!("/api/events/{id}"), tok).await;
        assert_eq!(content(&items[2]), content(&event));
        let changed: Vec<String> = items
            .iter()
            .map(|v| ts_key(v["changed_at"].as_str().unwrap()))
            .collect();
        assert!(changed.windows(2).all(|w| w[0] <= w[1]), "{changed:?}");
        // The last version was made when the event was last updated.
        assert_eq!(items[2]["changed_at"], event["updated_at"]);
        assert_eq!(items[0]["changed_at"], event["created_at"]);
    }
}

async fn changelog_paginates(backend: Backend) {
    let app = app!(backend);
    let (_, token) = app.user("cl_pager").await;
    let id = id_of(&app.create_event(&token, "t0", &slot(1), &slot(2)).await);
    for i in 1..7 {
        let res = app
            .patch(
                &format!("/api/events/{id}"),
                &json!({"title": format!("t{i}")}),
                Some(&token),
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK);
    }
    // 7 versions, pages of 3: 3 + 3 + 1.
    let (seen, sizes) = Pages::new(format!("/api/events/{id}/changelog?limit=3"), 10)
        .items(&app, &token)
        .await;
    assert_eq!(sizes, vec![3, 3, 1]);
    assert_eq!(versions(&seen), (1..=7).collect::<Vec<_>>());
    let titles: Vec<&str> = seen.iter().map(|v| v["title"].as_str().unwrap()).collect();
    assert_eq!(titles, ["t0", "t1", "t2", "t3", "t4", "t5", "t6"]);

    for bad in ["limit=0", "limit=201"] {
        let res = app
            .get(&format!("/api/events/{id}/changelog?{bad}"), Some(&token))
            .await;
        assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    }
    let res = app
        .get(&format!("/api/events/{id}/changelog?limit=x"), Some(&token))
        .await;
    assert_problem(res, StatusCode::BAD_REQUEST, "invalid_query").await;
    let res = app
        .get(
            &format!("/api/events/{id}/changelog?cursor=garbage"),
            Some(&token),
        )
        .await;
    assert_problem(res, StatusCode::BAD_REQUEST, "invalid_cursor").await;
}

async fn versions_by_number(backend: Backend) {
    let app = app!(backend);
    let (_, token) = app.user("vn_owner").await;
    let (editor, editor_token) = app.user("vn_editor").await;
    let (_, stranger_token) = app.user("vn_stranger").await;
    let id = three_versions(&app, &token, (editor, &editor_token)).await;
    let log = changelog(&app, &token, id).await;
    for n in 1..=3 {
        let v = app
            .get_ok(&format!("/api/events/{id}/versions/{n}"), &editor_token)
            .await;
        assert_version_read(&v);
        assert_eq!(v, log[n - 1]);
    }
    for n in ["0", "4", "99"] {
        let res = app
            .get(&format!("/api/events/{id}/versions/{n}"), Some(&token))
            .await;
        assert_problem(res, StatusCode::NOT_FOUND, "not_found").await;
    }
    let res = app
        .get(
            &format!("/api/events/{id}/versions/1"),
            Some(&stranger_token),
        )
        .await;
    assert_problem(res, StatusCode::NOT_FOUND, "not_found").await;
}

async fn diff_lists_only_changed_fields(backend: Backend) {
    let app = app!(backend);
    let (_, token) = app.user("df_owner").await;
    let (editor, editor_token) = app.user("df_editor").await;
    let (viewer, viewer_token) = app.user("df_viewer").await;
    let id = three_versions(&app, &token, (editor, &editor_token)).await;
    app.share(&token, id, viewer, "viewer").await;

    let forward = json!({
        "event_id": id, "from_version": 1, "to_version": 3,
        "changes": {
            "title": {"from": "Draft", "to": "Final"},
            "start_time": {"from": slot(10), "to": slot(12)},
            "end_time": {"from": slot(11), "to": "2030-01-01T13:30:00Z"},
            "location": {"from": null, "to": "Room 1"},
        }
    });
    let backward = json!({
        "event_id": id, "from_version": 3, "to_version": 1,
        "changes": {
            "title": {"from": "Final", "to": "Draft"},
            "start_time": {"from": slot(12), "to": slot(10)},
            "end_time": {"from": "2030-01-01T13:30:00Z", "to": slot(11)},
            "location": {"from": "Room 1", "to": null},
        }
    });
    for tok in [&token, &editor_token, &viewer_token] {
        assert_eq!(
            app.get_ok(&format!("/api/events/{id}/diff/1/3"), tok).await,
            forward
        );
        assert_eq!(
            app.get_ok(&format!("/api/events/{id}/diff/3/1"), tok).await,
            backward
        );
    }
    assert_eq!(
        app.get_ok(&format!("/api/events/{id}/diff/1/2"), &token)
            .await,
        json!({"event_id": id, "from_version": 1, "to_version": 2,
               "changes": {"title": {"from": "Draft", "to": "Final"}}})
    );
    assert_eq!(
        app.get_ok(&format!("/api/events/{id}/diff/2/2"), &token)
            .await,
        json!({"event_id": id, "from_version": 2, "to_version": 2, "changes": {}})
    );
    for path in ["diff/1/4", "diff/9/1", "diff/0/1"] {
        let res = app
            .get(&format!("/api/events/{id}/{path}"), Some(&token))
            .await;
        assert_problem(res, StatusCode::NOT_FOUND, "not_found").await;
    }
}

async fn rollback(app: &TestApp, token: &str, id: i64, version: i64) -> reqwest::Response {
    app.post_empty(&format!("/api/events/{id}/rollback/{version}"), Some(token))
        .await
}

async fn rollback_creates_a_new_version(backend: Backend) {
    let app = app!(backend);
    let (owner, token) = app.user("rb_owner").await;
    let (editor, editor_token) = app.user("rb_editor").await;
    let id = three_versions(&app, &token, (editor, &editor_token)).await;
    let before = changelog(&app, &token, id).await;

    let res = rollback(&app, &token, id, 1).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(etag(&res).as_deref(), Some("\"4\""));
    let event: Value = res.json().await.unwrap();
    assert_eq!(event["version"], 4);
    assert_eq!(event["id"], id);
    assert_eq!(event["role"], "owner");
    assert_eq!(event["owner_id"], owner);
    assert_eq!(content(&event), content(&before[0]));
    assert_eq!(event["location"], Value::Null);

    let after = changelog(&app, &token, id).await;
    assert_eq!(versions(&after), vec![1, 2, 3, 4]);
    // History is not rewritten.
    assert_eq!(&after[..3], &before[..]);
    let v4 = &after[3];
    assert_eq!(v4["change"], "rolled_back");
    assert_eq!(v4["restored_from"], 1);
    assert_eq!(v4["changed_by"], owner);
    assert_eq!(content(v4), content(&before[0]));
    assert_eq!(
        content(&app.get_ok(&format!("/api/events/{id}"), &token).await),
        content(v4)
    );

    // The editor rolls forward to version 3.
    let res = rollback(&app, &editor_token, id, 3).await;
    assert_eq!(res.status(), StatusCode::OK);
    let event: Value = res.json().await.unwrap();
    assert_eq!(event["version"], 5);
    assert_eq!(event["role"], "editor");
    assert_eq!(content(&event), content(&before[2]));
    let after = changelog(&app, &token, id).await;
    assert_eq!(after[4]["change"], "rolled_back");
    assert_eq!(after[4]["restored_from"], 3);
    assert_eq!(after[4]["changed_by"], editor);

    // Diff of a rollback against what it restored: nothing.
    assert_eq!(
        app.get_ok(&format!("/api/events/{id}/diff/3/5"), &token)
            .await["changes"],
        json!({})
    );
    // Unknown version.
    let res = rollback(&app, &token, id, 42).await;
    assert_problem(res, StatusCode::NOT_FOUND, "not_found").await;
    assert_eq!(changelog(&app, &token, id).await.len(), 5);
}

async fn rollback_to_current_content_creates_no_version(backend: Backend) {
    let app = app!(backend);
    let (_, token) = app.user("rb_same").await;
    let id = id_of(&app.create_event(&token, "A", &slot(1), &slot(2)).await);
    let path = format!("/api/events/{id}");
    app.patch(&path, &json!({"title": "B"}), Some(&token)).await;
    app.patch(&path, &json!({"title": "A"}), Some(&token)).await;
    // Version 3 equals version 1: restoring 1 (or 3 itself) changes nothing.
    for v in [1, 3] {
        let res = rollback(&app, &token, id, v).await;
        assert_eq!(res.status(), StatusCode::OK, "rollback to {v}");
        assert_eq!(etag(&res).as_deref(), Some("\"3\""));
        let event: Value = res.json().await.unwrap();
        assert_eq!(event["version"], 3);
        assert_eq!(event["title"], "A");
    }
    assert_eq!(versions(&changelog(&app, &token, id).await), vec![1, 2, 3]);
}

async fn rollback_is_conflict_checked(backend: Backend) {
    let app = app!(backend);
    let (_, token) = app.user("rb_clash").await;
    let id = id_of(
        &app.create_event(&token, "Mover", &slot(10), &slot(11))
            .await,
    );
    let res = app
        .patch(
            &format!("/api/events/{id}"),
            &json!({"start_time": slot(12), "end_time": slot(13)}),
            Some(&token),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    // The old slot is taken now.
    let blocker = app
        .create_event(
            &token,
            "Blocker",
            "2030-01-01T10:30:00Z",
            "2030-01-01T11:30:00Z",
        )
        .await;
    let res = rollback(&app, &token, id, 1).await;
    let problem = assert_problem(res, StatusCode::CONFLICT, "event_conflict").await;
    let conflicts = problem["conflicts"].as_array().unwrap();
    assert_eq!(conflicts.len(), 1);
    assert_eq!(conflicts[0]["id"], blocker["id"]);
    assert_eq!(conflicts[0]["title"], "Blocker");
    assert_eq!(conflicts[0]["start_time"], "2030-01-01T10:30:00Z");
    assert_eq!(conflicts[0]["end_time"], "2030-01-01T11:30:00Z");
    let event = app.get_ok(&format!("/api/events/{id}"), &token).await;
    assert_eq!(event["version"], 2);
    assert_eq!(event["start_time"], slot(12));
    assert_eq!(versions(&changelog(&app, &token, id).await), vec![1, 2]);

    // Once the blocker is gone, the rollback goes through.
    let res = app
        .delete(&format!("/api/events/{}", id_of(&blocker)), Some(&token))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = rollback(&app, &token, id, 1).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Value>().await.unwrap()["start_time"], slot(10));
}

async fn rollback_honours_if_match(backend: Backend) {
    let app = app!(backend);
    let (_, token) = app.user("rb_match").await;
    let id = id_of(&app.create_event(&token, "one", &slot(1), &slot(2)).await);
    app.patch(
        &format!("/api/events/{id}"),
        &json!({"title": "two"}),
        Some(&token),
    )
    .await;
    let path = format!("/api/events/{id}/rollback/1");
    let res = app
        .send_if_match(Method::POST, &path, None, &token, "\"1\"")
        .await;
    let problem = assert_problem(res, StatusCode::PRECONDITION_FAILED, "precondition_failed").await;
    assert_eq!(problem["current_etag"], "\"2\"");
    assert_eq!(versions(&changelog(&app, &token, id).await), vec![1, 2]);
    let res = app
        .send_if_match(Method::POST, &path, None, &token, "\"2\"")
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(etag(&res).as_deref(), Some("\"3\""));
    let res = app
        .send_if_match(
            Method::POST,
            &format!("/api/events/{id}/rollback/2"),
            None,
            &token,
            "*",
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let event: Value = res.json().await.unwrap();
    assert_eq!(event["version"], 4);
    assert_eq!(event["title"], "two");
}

async fn history_is_gone_with_the_event(backend: Backend) {
    let app = app!(backend);
    let (_, token) = app.user("hg_owner").await;
    let id = id_of(&app.create_event(&token, "gone", &slot(1), &slot(2)).await);
    app.patch(
        &format!("/api/events/{id}"),
        &json!({"title": "gone2"}),
        Some(&token),
    )
    .await;
    let res = app.delete(&format!("/api/events/{id}"), Some(&token)).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    for path in ["changelog", "versions/1", "diff/1/2"] {
        let res = app
            .get(&format!("/api/events/{id}/{path}"), Some(&token))
            .await;
        assert_problem(res, StatusCode::NOT_FOUND, "not_found").await;
    }
    let res = rollback(&app, &token, id, 1).await;
    assert_problem(res, StatusCode::NOT_FOUND, "not_found").await;
}

async fn editor_rollback_is_checked_against_the_owners_calendar(backend: Backend) {
    let app = app!(backend);
    let (_, owner) = app.user("erb_owner").await;
    let (editor, editor_token) = app.user("erb_editor").await;
    let id = id_of(
        &app.create_event(&owner, "Shared", &slot(10), &slot(11))
            .await,
    );
    app.share(&owner, id, editor, "editor").await;
    let res = app
        .patch(
            &format!("/api/events/{id}"),
            &json!({"start_time": slot(12), "end_time": slot(13)}),
            Some(&editor_token),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    // The editor's own event at 10–11 does not block restoring version 1.
    app.create_event(&editor_token, "Editor's", &slot(10), &slot(11))
        .await;
    let res = rollback(&app, &editor_token, id, 1).await;
    assert_eq!(res.status(), StatusCode::OK);
    let event: Value = res.json().await.unwrap();
    assert_eq!(event["version"], 3);
    assert_eq!(event["start_time"], slot(10));
    // An owner's event at 12–13 blocks restoring version 2.
    let blocker = app
        .create_event(&owner, "Owner's", &slot(12), &slot(13))
        .await;
    let res = rollback(&app, &editor_token, id, 2).await;
    let problem = assert_problem(res, StatusCode::CONFLICT, "event_conflict").await;
    assert_eq!(problem["conflicts"].as_array().unwrap().len(), 1);
    // The editor cannot read the owner's event: only its busy interval is shown.
    assert_eq!(problem["conflicts"][0]["id"], Value::Null);
    assert_eq!(problem["conflicts"][0]["title"], Value::Null);
    assert_eq!(problem["conflicts"][0]["start_time"], blocker["start_time"]);
    assert_eq!(problem["conflicts"][0]["end_time"], blocker["end_time"]);
    // The owner restoring the same version is told which event is in the way.
    let res = rollback(&app, &owner, id, 2).await;
    let problem = assert_problem(res, StatusCode::CONFLICT, "event_conflict").await;
    assert_eq!(problem["conflicts"][0]["id"], blocker["id"]);
    assert_eq!(versions(&changelog(&app, &owner, id).await), vec![1, 2, 3]);
}

async fn viewers_cannot_roll_back(backend: Backend) {
    let app = app!(backend);
    let (_, owner) = app.user("vrb_owner").await;
    let (viewer, viewer_token) = app.user("vrb_viewer").await;
    let id = id_of(&app.create_event(&owner, "one", &slot(1), &slot(2)).await);
    app.patch(
        &format!("/api/events/{id}"),
        &json!({"title": "two"}),
        Some(&owner),
    )
    .await;
    app.share(&owner, id, viewer, "viewer").await;
    let res = rollback(&app, &viewer_token, id, 1).await;
    assert_problem(res, StatusCode::FORBIDDEN, "forbidden").await;
    let event = app.get_ok(&format!("/api/events/{id}"), &owner).await;
    assert_eq!(event["version"], 2);
    assert_eq!(event["title"], "two");
    assert_eq!(
        versions(&changelog(&app, &viewer_token, id).await),
        vec![1, 2]
    );
}
