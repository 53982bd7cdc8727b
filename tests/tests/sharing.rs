//! Sharing and permissions: share (upsert, atomic), list, change and revoke roles, and
//! the role × route matrix (owner, editor, viewer, stranger, anonymous).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;

use convene_tests::{
    app, assert_problem, backend_tests, id_of, slot, Backend, StatusCode, TestApp,
};
use reqwest::Method;
use serde_json::{json, Value};

backend_tests!(
    share_returns_permission_reads,
    share_upserts_the_role,
    share_is_atomic,
    permissions_list_owner_first,
    permission_put_changes_the_role,
    permission_delete_rules,
    role_route_matrix,
    missing_events_are_404_everywhere,
);

const PERMISSION_KEYS: [&str; 7] = [
    "event_id",
    "user_id",
    "username",
    "role",
    "granted_by",
    "created_at",
    "updated_at",
];

fn assert_permission_read(p: &Value) {
    convene_tests::assert_members(p, &PERMISSION_KEYS, "PermissionRead");
    for ts in ["created_at", "updated_at"] {
        assert!(p[ts].as_str().unwrap().ends_with('Z'), "{ts} in {p}");
    }
}

async fn share_raw(app: &TestApp, token: &str, event: i64, body: Value) -> reqwest::Response {
    app.post(&format!("/api/events/{event}/share"), &body, Some(token))
        .await
}

/// `(user_id, role)` of every permission of `event`, in the order listed.
async fn permissions(app: &TestApp, token: &str, event: i64) -> Vec<(i64, String)> {
    let list = app
        .get_ok(&format!("/api/events/{event}/permissions"), token)
        .await;
    list.as_array()
        .unwrap_or_else(|| panic!("array: {list}"))
        .iter()
        .map(|p| {
            assert_permission_read(p);
            (
                p["user_id"].as_i64().unwrap(),
                p["role"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

async fn share_returns_permission_reads(backend: Backend) {
    let app = app!(backend);
    let (owner, token) = app.user("sh_owner").await;
    let (editor, editor_token) = app.user("sh_editor").await;
    let (viewer, viewer_token) = app.user("sh_viewer").await;
    let event = app.create_event(&token, "Shared", &slot(1), &slot(2)).await;
    let id = id_of(&event);
    let res = share_raw(
        &app,
        &token,
        id,
        json!([{"user_id": viewer, "role": "viewer"}, {"user_id": editor, "role": "editor"}]),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let granted: Vec<Value> = res.json().await.unwrap();
    assert_eq!(granted.len(), 2);
    for p in &granted {
        assert_permission_read(p);
        assert_eq!(p["event_id"], id);
        assert_eq!(p["granted_by"], owner);
    }
    assert_eq!(granted[0]["user_id"], viewer);
    assert_eq!(granted[0]["username"], "sh_viewer");
    assert_eq!(granted[0]["role"], "viewer");
    assert_eq!(granted[1]["user_id"], editor);
    assert_eq!(granted[1]["username"], "sh_editor");
    assert_eq!(granted[1]["role"], "editor");

    // The grantees now see the event with their role.
    for (tok, role) in [(&editor_token, "editor"), (&viewer_token, "viewer")] {
        let read = app.get_ok(&format!("/api/events/{id}"), tok).await;
        assert_eq!(read["role"], role);
        assert_eq!(read["owner_id"], owner);
        assert_eq!(read["title"], "Shared");
    }
}

async fn share_upserts_the_role(backend: Backend) {
    let app = app!(backend);
    let (owner, token) = app.user("up_owner").await;
    let (user, user_token) = app.user("up_user").await;
    let id = id_of(&app.create_event(&token, "e", &slot(1), &slot(2)).await);
    let res = share_raw(
        &app,
        &token,
        id,
        json!([{"user_id": user, "role": "viewer"}]),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let first: Vec<Value> = res.json().await.unwrap();
    let res = share_raw(
        &app,
        &token,
        id,
        json!([{"user_id": user, "role": "editor"}]),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let second: Vec<Value> = res.json().await.unwrap();
    assert_eq!(second.len(), 1);
    assert_permission_read(&second[0]);
    assert_eq!(second[0]["role"], "editor");
    assert_eq!(second[0]["created_at"], first[0]["created_at"]);
    assert_eq!(
        permissions(&app, &token, id).await,
        vec![(owner, "owner".into()), (user, "editor".into())]
    );
    let read = app.get_ok(&format!("/api/events/{id}"), &user_token).await;
    assert_eq!(read["role"], "editor");
    // Sharing the same role again is fine and changes nothing.
    let res = share_raw(
        &app,
        &token,
        id,
        json!([{"user_id": user, "role": "editor"}]),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        permissions(&app, &token, id).await,
        vec![(owner, "owner".into()), (user, "editor".into())]
    );
}

async fn share_is_atomic(backend: Backend) {
    let app = app!(backend);
    let (owner, token) = app.user("at_owner").await;
    let (a, _) = app.user("at_a").await;
    let (b, b_token) = app.user("at_b").await;
    let id = id_of(&app.create_event(&token, "e", &slot(1), &slot(2)).await);
    app.share(&token, id, a, "viewer").await;
    let before = permissions(&app, &token, id).await;
    let bad_requests = [
        json!([{"user_id": b, "role": "editor"}, {"user_id": 999_999, "role": "viewer"}]),
        json!([{"user_id": b, "role": "editor"}, {"user_id": owner, "role": "viewer"}]),
        json!([{"user_id": b, "role": "editor"}, {"user_id": b, "role": "viewer"}]),
        json!([{"user_id": b, "role": "editor"}, {"user_id": a, "role": "owner"}]),
        json!([{"user_id": b, "role": "admin"}]),
        json!([{"user_id": a, "role": "editor"}, {"user_id": b, "role": "superuser"}]),
    ];
    for body in bad_requests {
        let res = share_raw(&app, &token, id, body.clone()).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let problem =
            assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert!(
            !problem["errors"].as_array().unwrap().is_empty(),
            "{problem}"
        );
        assert_eq!(permissions(&app, &token, id).await, before, "after {body}");
    }
    // B gained nothing; A kept the viewer role.
    let res = app.get(&format!("/api/events/{id}"), Some(&b_token)).await;
    assert_problem(res, StatusCode::NOT_FOUND, "not_found").await;
    assert_eq!(before, vec![(owner, "owner".into()), (a, "viewer".into())]);
}

async fn permissions_list_owner_first(backend: Backend) {
    let app = app!(backend);
    // The owner registers last, so their id is the largest.
    let (viewer, viewer_token) = app.user("pl_viewer").await;
    let (editor, editor_token) = app.user("pl_editor").await;
    let (owner, token) = app.user("pl_owner").await;
    let id = id_of(&app.create_event(&token, "e", &slot(1), &slot(2)).await);
    app.share(&token, id, viewer, "viewer").await;
    app.share(&token, id, editor, "editor").await;
    for tok in [&token, &editor_token, &viewer_token] {
        let list = app
            .get_ok(&format!("/api/events/{id}/permissions"), tok)
            .await;
        let list = list.as_array().unwrap();
        assert_eq!(list.len(), 3);
        for p in list {
            assert_permission_read(p);
            assert_eq!(p["event_id"], id);
        }
        assert_eq!(list[0]["user_id"], owner);
        assert_eq!(list[0]["username"], "pl_owner");
        assert_eq!(list[0]["role"], "owner");
        let rest: BTreeSet<(i64, String)> = list[1..]
            .iter()
            .map(|p| {
                (
                    p["user_id"].as_i64().unwrap(),
                    p["role"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        assert_eq!(
            rest,
            BTreeSet::from([(viewer, "viewer".to_owned()), (editor, "editor".to_owned())])
        );
        for p in &list[1..] {
            assert_eq!(p["granted_by"], owner);
        }
    }
}

async fn permission_put_changes_the_role(backend: Backend) {
    let app = app!(backend);
    let (owner, token) = app.user("pp_owner").await;
    let (user, user_token) = app.user("pp_user").await;
    let (stranger, _) = app.user("pp_stranger").await;
    let id = id_of(&app.create_event(&token, "e", &slot(1), &slot(2)).await);
    app.share(&token, id, user, "editor").await;
    let path = format!("/api/events/{id}/permissions/{user}");

    let res = app
        .put(&path, &json!({"role": "viewer"}), Some(&token))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let p: Value = res.json().await.unwrap();
    assert_permission_read(&p);
    assert_eq!(p["role"], "viewer");
    assert_eq!(p["user_id"], user);
    assert_eq!(p["event_id"], id);
    assert_eq!(p["username"], "pp_user");
    assert_eq!(
        permissions(&app, &token, id).await,
        vec![(owner, "owner".into()), (user, "viewer".into())]
    );
    // The new role is in force at once.
    let read = app.get_ok(&format!("/api/events/{id}"), &user_token).await;
    assert_eq!(read["role"], "viewer");
    let res = app
        .patch(
            &format!("/api/events/{id}"),
            &json!({"title": "nope"}),
            Some(&user_token),
        )
        .await;
    assert_problem(res, StatusCode::FORBIDDEN, "forbidden").await;
    let res = app
        .put(&path, &json!({"role": "editor"}), Some(&token))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = app
        .patch(
            &format!("/api/events/{id}"),
            &json!({"title": "yes"}),
            Some(&user_token),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);

    // A user without a permission: 404.
    let res = app
        .put(
            &format!("/api/events/{id}/permissions/{stranger}"),
            &json!({"role": "viewer"}),
            Some(&token),
        )
        .await;
    assert_problem(res, StatusCode::NOT_FOUND, "not_found").await;
    let res = app
        .put(
            &format!("/api/events/{id}/permissions/999999"),
            &json!({"role": "viewer"}),
            Some(&token),
        )
        .await;
    assert_problem(res, StatusCode::NOT_FOUND, "not_found").await;
    // Roles other than editor and viewer are refused.
    for role in ["owner", "admin"] {
        let res = app.put(&path, &json!({"role": role}), Some(&token)).await;
        assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    }
    let res = app.put(&path, &json!({}), Some(&token)).await;
    assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(
        permissions(&app, &token, id).await,
        vec![(owner, "owner".into()), (user, "editor".into())]
    );
}

async fn permission_delete_rules(backend: Backend) {
    let app = app!(backend);
    let (owner, token) = app.user("pd_owner").await;
    let (editor, editor_token) = app.user("pd_editor").await;
    let (viewer, viewer_token) = app.user("pd_viewer").await;
    let (other, other_token) = app.user("pd_other").await;
    let (stranger, _) = app.user("pd_stranger").await;
    let id = id_of(&app.create_event(&token, "e", &slot(1), &slot(2)).await);
    let event_path = format!("/api/events/{id}");
    let perm = |user: i64| format!("/api/events/{id}/permissions/{user}");
    app.share(&token, id, editor, "editor").await;
    app.share(&token, id, viewer, "viewer").await;
    app.share(&token, id, other, "viewer").await;

    // Another participant may not remove someone else.
    let res = app.delete(&perm(viewer), Some(&editor_token)).await;
    assert_problem(res, StatusCode::FORBIDDEN, "forbidden").await;
    let res = app.delete(&perm(editor), Some(&viewer_token)).await;
    assert_problem(res, StatusCode::FORBIDDEN, "forbidden").await;
    let res = app.delete(&perm(owner), Some(&editor_token)).await;
    assert_problem(res, StatusCode::FORBIDDEN, "forbidden").await;
    assert_eq!(permissions(&app, &token, id).await.len(), 4);

    // The owner removes a viewer.
    let res = app.delete(&perm(viewer), Some(&token)).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert!(res.bytes().await.unwrap().is_empty());
    let res = app.get(&event_path, Some(&viewer_token)).await;
    assert_problem(res, StatusCode::NOT_FOUND, "not_found").await;
    // Removing them again: they have no permission.
    let res = app.delete(&perm(viewer), Some(&token)).await;
    assert_problem(res, StatusCode::NOT_FOUND, "not_found").await;
    let res = app.delete(&perm(stranger), Some(&token)).await;
    assert_problem(res, StatusCode::NOT_FOUND, "not_found").await;

    // An editor leaves.
    let res = app.delete(&perm(editor), Some(&editor_token)).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = app.get(&event_path, Some(&editor_token)).await;
    assert_problem(res, StatusCode::NOT_FOUND, "not_found").await;
    let page = app.get_ok("/api/events", &editor_token).await;
    assert_eq!(page["items"], json!([]));

    // A viewer leaves.
    let res = app.delete(&perm(other), Some(&other_token)).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = app.get(&event_path, Some(&other_token)).await;
    assert_problem(res, StatusCode::NOT_FOUND, "not_found").await;

    assert_eq!(
        permissions(&app, &token, id).await,
        vec![(owner, "owner".into())]
    );
    // The event itself is untouched.
    assert_eq!(app.get_ok(&event_path, &token).await["version"], 1);
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Actor {
    Owner,
    Editor,
    Viewer,
    Stranger,
    Anonymous,
}

struct Cast {
    owner: (i64, String),
    editor: (i64, String),
    viewer: (i64, String),
    /// A viewer whose role other actors try to change and revoke.
    target: (i64, String),
    /// A user other actors try to share the event with.
    invitee: (i64, String),
    stranger: (i64, String),
}

impl Cast {
    fn token(&self, actor: Actor) -> Option<&str> {
        match actor {
            Actor::Owner => Some(&self.owner.1),
            Actor::Editor => Some(&self.editor.1),
            Actor::Viewer => Some(&self.viewer.1),
            Actor::Stranger => Some(&self.stranger.1),
            Actor::Anonymous => None,
        }
    }
}

/// An event with two versions, shared with the editor, the viewer and the target.
async fn matrix_event(app: &TestApp, cast: &Cast, hour: u32) -> i64 {
    let token = &cast.owner.1;
    let id = id_of(
        &app.create_event(token, "Matrix", &slot(hour), &slot(hour + 1))
            .await,
    );
    let res = app
        .patch(
            &format!("/api/events/{id}"),
            &json!({"title": "Matrix v2", "location": "Here"}),
            Some(token),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    app.share(token, id, cast.editor.0, "editor").await;
    app.share(token, id, cast.viewer.0, "viewer").await;
    app.share(token, id, cast.target.0, "viewer").await;
    id
}

fn code_of(status: u16) -> &'static str {
    match status {
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not_found",
        _ => "",
    }
}

async fn role_route_matrix(backend: Backend) {
    use Actor::{Anonymous, Editor, Owner, Stranger, Viewer};
    let app = app!(backend);
    let cast = Cast {
        owner: app.user("mx_owner").await,
        editor: app.user("mx_editor").await,
        viewer: app.user("mx_viewer").await,
        target: app.user("mx_target").await,
        invitee: app.user("mx_invitee").await,
        stranger: app.user("mx_stranger").await,
    };
    let mut failures: Vec<String> = Vec::new();
    for (n, actor) in [Owner, Editor, Viewer, Stranger, Anonymous]
        .into_iter()
        .enumerate()
    {
        let id = matrix_event(&app, &cast, 10 * n as u32).await;
        let token = cast.token(actor);
        let base = format!("/api/events/{id}");
        let target = cast.target.0;
        let (denied_read, denied_write) = match actor {
            Owner | Editor | Viewer => (0, 403),
            Stranger => (404, 404),
            Anonymous => (401, 401),
        };
        let read = if denied_read == 0 { 200 } else { denied_read };
        let edit = match actor {
            Owner | Editor => 200,
            _ => denied_write,
        };
        let own = |ok: u16| if actor == Owner { ok } else { denied_write };

        // Listing shows the event with the caller's role (or 401 / absent).
        let res = app.get("/api/events", token).await;
        match actor {
            Anonymous => {
                if res.status() != StatusCode::UNAUTHORIZED {
                    failures.push(format!("{actor:?} list: {}", res.status()));
                }
            }
            _ if res.status() != StatusCode::OK => {
                failures.push(format!("{actor:?} list: {}", res.status()));
            }
            _ => {
                let page: Value = res.json().await.unwrap();
                let role = page["items"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|e| e["id"] == id)
                    .map(|e| e["role"].clone());
                let expected = match actor {
                    Owner => Some(json!("owner")),
                    Editor => Some(json!("editor")),
                    Viewer => Some(json!("viewer")),
                    _ => None,
                };
                if role != expected {
                    failures.push(format!(
                        "{actor:?} list role: {role:?}, expected {expected:?}"
                    ));
                }
            }
        }

        let routes: Vec<(&str, Method, String, Option<Value>, u16)> = vec![
            ("get", Method::GET, base.clone(), None, read),
            (
                "changelog",
                Method::GET,
                format!("{base}/changelog"),
                None,
                read,
            ),
            (
                "version",
                Method::GET,
                format!("{base}/versions/1"),
                None,
                read,
            ),
            ("diff", Method::GET, format!("{base}/diff/1/2"), None, read),
            (
                "permissions list",
                Method::GET,
                format!("{base}/permissions"),
                None,
                read,
            ),
            (
                "put",
                Method::PUT,
                base.clone(),
                Some(json!({"title": format!("put by {actor:?}")})),
                edit,
            ),
            (
                "patch",
                Method::PATCH,
                base.clone(),
                Some(json!({"description": format!("patched by {actor:?}")})),
                edit,
            ),
            (
                "rollback",
                Method::POST,
                format!("{base}/rollback/1"),
                None,
                edit,
            ),
            (
                "share",
                Method::POST,
                format!("{base}/share"),
                Some(json!([{"user_id": cast.invitee.0, "role": "viewer"}])),
                own(200),
            ),
            (
                "permission put",
                Method::PUT,
                format!("{base}/permissions/{target}"),
                Some(json!({"role": "editor"})),
                own(200),
            ),
            (
                "permission delete",
                Method::DELETE,
                format!("{base}/permissions/{target}"),
                None,
                own(204),
            ),
            ("delete", Method::DELETE, base.clone(), None, own(204)),
        ];
        for (name, method, path, body, expected) in routes {
            let res = app
                .send(method.clone(), &path, body.as_ref(), token, &[])
                .await;
            let status = res.status().as_u16();
            let text = res.text().await.unwrap();
            if status != expected {
                failures.push(format!(
                    "{actor:?} {name} ({method} {path}): {status}, expected {expected}: {text}"
                ));
                continue;
            }
            if status >= 400 {
                let problem: Value = serde_json::from_str(&text).unwrap_or_default();
                if problem["code"] != code_of(status) {
                    failures.push(format!("{actor:?} {name}: wrong problem {text}"));
                }
            }
        }
        // Nothing a denied actor tried had any effect.
        if actor != Owner {
            let event = app.get_ok(&base, &cast.owner.1).await;
            let expected_version = if actor == Editor { 5 } else { 2 };
            if event["version"] != expected_version {
                failures.push(format!("{actor:?}: event after the matrix: {event}"));
            }
            let perms = permissions(&app, &cast.owner.1, id).await;
            let expected = BTreeSet::from([
                (cast.owner.0, "owner".to_owned()),
                (cast.editor.0, "editor".to_owned()),
                (cast.viewer.0, "viewer".to_owned()),
                (cast.target.0, "viewer".to_owned()),
            ]);
            let got: BTreeSet<_> = perms.iter().cloned().collect();
            if got != expected {
                failures.push(format!(
                    "{actor:?}: permissions after the matrix: {perms:?}"
                ));
            }
        } else {
            let res = app.get(&base, Some(&cast.owner.1)).await;
            if res.status() != StatusCode::NOT_FOUND {
                failures.push(format!("owner delete left the event: {}", res.status()));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

async fn missing_events_are_404_everywhere(backend: Backend) {
    let app = app!(backend);
    let (user, token) = app.user("ghost").await;
    let base = "/api/events/987654";
    let routes: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, base.into(), None),
        (Method::PUT, base.into(), Some(json!({"title": "x"}))),
        (Method::PATCH, base.into(), Some(json!({"title": "x"}))),
        (Method::DELETE, base.into(), None),
        (
            Method::POST,
            format!("{base}/share"),
            Some(json!([{"user_id": user, "role": "viewer"}])),
        ),
        (Method::GET, format!("{base}/permissions"), None),
        (
            Method::PUT,
            format!("{base}/permissions/{user}"),
            Some(json!({"role": "viewer"})),
        ),
        (Method::DELETE, format!("{base}/permissions/{user}"), None),
        (Method::GET, format!("{base}/changelog"), None),
        (Method::GET, format!("{base}/versions/1"), None),
        (Method::GET, format!("{base}/diff/1/2"), None),
        (Method::POST, format!("{base}/rollback/1"), None),
    ];
    for (method, path, body) in routes {
        let res = app
            .send(method.clone(), &path, body.as_ref(), Some(&token), &[])
            .await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{method} {path}");
        assert_problem(res, StatusCode::NOT_FOUND, "not_found").await;
        let res = app
            .send(method.clone(), &path, body.as_ref(), None, &[])
            .await;
        assert_eq!(
            res.status(),
            StatusCode::UNAUTHORIZED,
            "anonymous {method} {path}"
        );
        assert_problem(res, StatusCode::UNAUTHORIZED, "unauthorized").await;
    }
}
