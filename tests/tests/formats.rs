//! Cross-cutting HTTP: validation (422), bodies in JSON or MessagePack, content
//! negotiation, 400/413/415, problem details everywhere.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use convene_tests::{app, assert_problem, backend_tests, Backend, StatusCode, PASSWORD};
use serde_json::{json, Value};

backend_tests!(
    every_registration_rule_is_reported,
    missing_fields_are_validation_errors,
    malformed_bodies_are_400,
    wrong_types_are_422_naming_the_field,
    wrong_content_type_is_415,
    oversized_body_is_413,
    msgpack_round_trip_matches_json,
    msgpack_binary_values_are_values,
    errors_follow_accept,
    unknown_routes_and_methods_are_problems,
);

fn fields(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            assert!(e["message"].as_str().is_some_and(|m| !m.is_empty()));
            e["field"].as_str().unwrap().to_owned()
        })
        .collect()
}

async fn register_problem(app: &convene_tests::TestApp, body: Value) -> Vec<String> {
    let res = app.post("/api/auth/register", &body, None).await;
    let problem = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    fields(&problem)
}

async fn every_registration_rule_is_reported(backend: Backend) {
    let app = app!(backend);
    let ok_email = "x@example.com";
    let cases: Vec<(Value, Vec<&str>)> = vec![
        (
            json!({"username": "ab", "email": ok_email, "password": PASSWORD}),
            vec!["username"],
        ),
        (
            json!({"username": "a".repeat(51), "email": ok_email, "password": PASSWORD}),
            vec!["username"],
        ),
        (
            json!({"username": "has space", "email": ok_email, "password": PASSWORD}),
            vec!["username"],
        ),
        (
            json!({"username": "émile", "email": ok_email, "password": PASSWORD}),
            vec!["username"],
        ),
        (
            json!({"username": "valid", "email": "not-an-email", "password": PASSWORD}),
            vec!["email"],
        ),
        (
            json!({"username": "valid", "email": "a@", "password": PASSWORD}),
            vec!["email"],
        ),
        (
            json!({"username": "valid", "email": ok_email, "password": "1234567"}),
            vec!["password"],
        ),
        (
            json!({"username": "valid", "email": ok_email, "password": "p".repeat(73)}),
            vec!["password"],
        ),
        // 25 × "€" is 25 characters but 75 bytes: over the 72-byte limit.
        (
            json!({"username": "valid", "email": ok_email, "password": "€".repeat(25)}),
            vec!["password"],
        ),
        (
            json!({"username": "a", "email": "b", "password": "c"}),
            vec!["username", "email", "password"],
        ),
    ];
    for (body, expected) in cases {
        assert_eq!(
            register_problem(&app, body.clone()).await,
            expected,
            "{body}"
        );
    }
    // Boundaries that are valid.
    for (i, (username, password)) in [
        ("abc".to_owned(), "p".repeat(8)),
        ("a".repeat(50), "p".repeat(72)),
        ("A_b.c-9".to_owned(), "€".repeat(24)),
    ]
    .into_iter()
    .enumerate()
    {
        let res = app
            .post(
                "/api/auth/register",
                &json!({"username": username, "email": format!("ok{i}@example.com"), "password": password}),
                None,
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED, "{username}");
    }
}

async fn missing_fields_are_validation_errors(backend: Backend) {
    let app = app!(backend);
    assert_eq!(
        register_problem(&app, json!({})).await,
        ["username", "email", "password"]
    );
    let res = app.post("/api/auth/login", &json!({}), None).await;
    let problem = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(fields(&problem), ["username", "password"]);
    let res = app.post("/api/auth/refresh", &json!({}), None).await;
    let problem = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(fields(&problem), ["refresh_token"]);
}

async fn send_raw(
    app: &convene_tests::TestApp,
    path: &str,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> reqwest::Response {
    let mut req = app.request(reqwest::Method::POST, path).body(body);
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    req.send().await.unwrap()
}

async fn malformed_bodies_are_400(backend: Backend) {
    let app = app!(backend);
    for (ct, body) in [
        (Some("application/json"), b"{\"username\": ".to_vec()),
        (Some("application/json"), b"".to_vec()),
        (None, b"not json".to_vec()),
        (Some("application/msgpack"), vec![0xc1, 0x00, 0xff]),
        (Some("application/x-msgpack"), vec![0x93, 0x01]),
        // Every ASCII byte is a whole MessagePack integer: text and JSON sent as
        // MessagePack, and a good map with bytes after it, are not one document.
        (Some("application/msgpack"), b"not msgpack".to_vec()),
        (
            Some("application/msgpack"),
            br#"{"username": "u", "email": "u@example.com", "password": "password"}"#.to_vec(),
        ),
        (Some("application/msgpack"), {
            let mut body = rmp_serde::to_vec_named(
                &json!({"username": "trailing", "email": "t@example.com", "password": "password"}),
            )
            .unwrap();
            body.extend_from_slice(b"junk");
            body
        }),
    ] {
        let res = send_raw(&app, "/api/auth/register", ct, body).await;
        let problem = assert_problem(res, StatusCode::BAD_REQUEST, "malformed_body").await;
        assert!(!problem["detail"].as_str().unwrap().is_empty());
    }
}

/// `map` (a document of `n` < 15 members, MessagePack) with one more member, `key`,
/// holding the raw MessagePack `value`.
fn with_raw_member(map: &Value, key: &str, value: &[u8]) -> Vec<u8> {
    let mut body = rmp_serde::to_vec_named(map).unwrap();
    assert!(body[0] >= 0x80 && body[0] < 0x8f, "a small map");
    body[0] += 1;
    body.push(0xa0 + u8::try_from(key.len()).unwrap());
    body.extend_from_slice(key.as_bytes());
    body.extend_from_slice(value);
    body
}

/// MessagePack `bin` and `ext` values have no JSON counterpart: an unknown member
/// holding one is ignored like any other, a known one is of the wrong type (422).
async fn msgpack_binary_values_are_values(backend: Backend) {
    let app = app!(backend);
    let bin = [0xc4, 0x03, b'a', b'b', b'c'];
    let ext = [0xd4, 0x01, 0x00];
    let register = |body: Vec<u8>| {
        send_raw(
            &app,
            "/api/auth/register",
            Some("application/msgpack"),
            body,
        )
    };
    for (name, value) in [("bin", &bin[..]), ("ext", &ext[..])] {
        let body = with_raw_member(
            &json!({"username": format!("u_{name}"), "email": format!("{name}@example.com"), "password": "password1"}),
            "attachment",
            value,
        );
        assert_eq!(register(body).await.status(), StatusCode::CREATED, "{name}");
        let body = with_raw_member(
            &json!({"email": format!("{name}2@example.com"), "password": "password1"}),
            "username",
            value,
        );
        let res = register(body).await;
        let problem =
            assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(problem["errors"][0]["field"], "username", "{name}");
    }
}

/// A well-formed body with a value of the wrong type is a field problem (422), not a
/// syntax error: `errors` names the field by its path, and inside a batch also the index.
async fn wrong_types_are_422_naming_the_field(backend: Backend) {
    let app = app!(backend);
    let res = send_raw(
        &app,
        "/api/auth/register",
        Some("application/json"),
        br#"{"username": 5, "email": "a@b.co", "password": "password"}"#.to_vec(),
    )
    .await;
    let problem = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(fields(&problem), ["username"]);

    let (_, token) = app.user("typed").await;
    let res = app
        .post("/api/events", &json!({"title": 5, "start_time": convene_tests::slot(1), "end_time": convene_tests::slot(2)}), Some(&token))
        .await;
    let problem = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(fields(&problem), ["title"]);
    assert!(problem["errors"][0]["index"].is_null());
    // Every value of the wrong type is listed, not only the first.
    let res = app
        .post(
            "/api/events",
            &json!({"title": 5, "description": [], "start_time": 7, "end_time": convene_tests::slot(2), "location": {"x": 1}}),
            Some(&token),
        )
        .await;
    let problem = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    let mut listed = fields(&problem);
    listed.sort();
    assert_eq!(listed, ["description", "location", "start_time", "title"]);
    let res = app
        .post(
            "/api/auth/register",
            &json!({"username": 5, "email": true, "password": "password"}),
            None,
        )
        .await;
    let problem = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    let mut listed = fields(&problem);
    listed.sort();
    assert_eq!(listed, ["email", "username"]);

    let ok = |h: u32| json!({"title": "ok", "start_time": convene_tests::slot(h), "end_time": convene_tests::slot(h + 1)});
    let batch = json!({"events": [ok(1), ok(3), ok(5), {"title": ["x"], "start_time": convene_tests::slot(7), "end_time": convene_tests::slot(8)}]});
    let res = app.post("/api/events/batch", &batch, Some(&token)).await;
    let problem = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(fields(&problem), ["events[3].title"]);
    assert_eq!(problem["errors"][0]["index"], 3);
    let two_bad = json!({"events": [{"title": 1, "start_time": convene_tests::slot(1), "end_time": convene_tests::slot(2)}, ok(3), {"title": "ok", "start_time": convene_tests::slot(5), "end_time": false}]});
    let res = app.post("/api/events/batch", &two_bad, Some(&token)).await;
    let problem = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(fields(&problem), ["events[0].title", "events[2].end_time"]);
    assert_eq!(problem["errors"][1]["index"], 2);

    // The same in MessagePack.
    let res = app
        .request(reqwest::Method::POST, "/api/events/batch")
        .bearer_auth(&token)
        .header("content-type", "application/msgpack")
        .body(rmp_serde::to_vec_named(&batch).unwrap())
        .send()
        .await
        .unwrap();
    let problem = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(fields(&problem), ["events[3].title"]);

    let event = app
        .create_event(
            &token,
            "shared",
            &convene_tests::slot(20),
            &convene_tests::slot(21),
        )
        .await;
    let res = app
        .post(
            &format!("/api/events/{}/share", convene_tests::id_of(&event)),
            &json!([{"user_id": "two", "role": "viewer"}]),
            Some(&token),
        )
        .await;
    let problem = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(fields(&problem), ["[0].user_id"]);

    // A body of the wrong shape altogether.
    let res = app
        .post("/api/events", &json!("an event"), Some(&token))
        .await;
    let problem = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(fields(&problem), ["body"]);
    // A list where an object belongs is not an (empty) update: serde would read a
    // struct from a sequence of its fields.
    let id = convene_tests::id_of(&event);
    let res = app
        .patch(&format!("/api/events/{id}"), &json!([]), Some(&token))
        .await;
    let problem = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(fields(&problem), ["body"]);
    let res = app
        .patch(
            &format!("/api/events/{id}"),
            &json!(["renamed"]),
            Some(&token),
        )
        .await;
    assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(
        app.get_ok(&format!("/api/events/{id}"), &token).await["title"],
        "shared"
    );
    // And an object where the share list belongs.
    let res = app
        .post(
            &format!("/api/events/{id}/share"),
            &json!({"user_id": 1, "role": "viewer"}),
            Some(&token),
        )
        .await;
    let problem = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(fields(&problem), ["body"]);
}

async fn wrong_content_type_is_415(backend: Backend) {
    let app = app!(backend);
    for ct in [
        "text/plain",
        "application/xml",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
    ] {
        let res = send_raw(&app, "/api/auth/register", Some(ct), b"username=a".to_vec()).await;
        assert_problem(
            res,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        )
        .await;
    }
    // White space around a parameter's `;` is allowed (RFC 9110 OWS).
    let res = send_raw(
        &app,
        "/api/auth/register",
        Some("application/json ; charset=utf-8"),
        br#"{"username": "spaced", "email": "spaced@example.com", "password": "password1"}"#
            .to_vec(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    // The form is accepted on login only; other types are not.
    let res = send_raw(&app, "/api/auth/login", Some("text/plain"), b"x".to_vec()).await;
    assert_problem(
        res,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    )
    .await;
}

async fn oversized_body_is_413(backend: Backend) {
    let app = app!(backend);
    let big = json!({"username": "x".repeat(1024 * 1024), "email": "a@b.co", "password": PASSWORD});
    let res = app.post("/api/auth/register", &big, None).await;
    assert_problem(res, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
    // Without Content-Length (chunked), the limit still holds while streaming.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        (0..40).map(|_| Ok(vec![b' '; 32 * 1024])).collect();
    let res = app
        .request(reqwest::Method::POST, "/api/auth/register")
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks,
        )))
        .send()
        .await
        .unwrap();
    assert_problem(res, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
}

fn msgpack(value: &Value) -> Vec<u8> {
    rmp_serde::to_vec_named(value).unwrap()
}

async fn msgpack_round_trip_matches_json(backend: Backend) {
    let app = app!(backend);
    let body = json!({"username": "packer", "email": "packer@example.com", "password": PASSWORD});
    let res = app
        .request(reqwest::Method::POST, "/api/auth/register")
        .header("content-type", "application/msgpack")
        .header("accept", "application/msgpack")
        .body(msgpack(&body))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(
        res.headers().get("content-type").unwrap(),
        "application/msgpack"
    );
    let from_msgpack: Value = rmp_serde::from_slice(&res.bytes().await.unwrap()).unwrap();
    assert_eq!(from_msgpack["username"], "packer");
    assert_eq!(from_msgpack["role"], "user");

    let login = app
        .request(reqwest::Method::POST, "/api/auth/login")
        .header("content-type", "application/x-msgpack")
        .header("accept", "application/json;q=0.5, application/x-msgpack")
        .body(msgpack(
            &json!({"username": "packer", "password": PASSWORD}),
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), StatusCode::OK);
    let token: Value = rmp_serde::from_slice(&login.bytes().await.unwrap()).unwrap();
    let access = token["access_token"].as_str().unwrap();

    let as_json: Value = app
        .get("/api/auth/me", Some(access))
        .await
        .json()
        .await
        .unwrap();
    let res = app
        .request(reqwest::Method::GET, "/api/auth/me")
        .bearer_auth(access)
        .header("accept", "application/msgpack")
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.headers().get("content-type").unwrap(),
        "application/msgpack"
    );
    let as_msgpack: Value = rmp_serde::from_slice(&res.bytes().await.unwrap()).unwrap();
    assert_eq!(as_json, as_msgpack);
    assert_eq!(as_json, from_msgpack);

    // Ties and higher JSON quality answer JSON.
    for accept in [
        "application/msgpack, application/json",
        "application/msgpack;q=0.3, application/json",
        "*/*",
    ] {
        let res = app
            .request(reqwest::Method::GET, "/api/auth/me")
            .bearer_auth(access)
            .header("accept", accept)
            .send()
            .await
            .unwrap();
        assert_eq!(
            res.headers().get("content-type").unwrap(),
            "application/json",
            "{accept}"
        );
    }
}

async fn errors_follow_accept(backend: Backend) {
    let app = app!(backend);
    let res = app
        .request(reqwest::Method::POST, "/api/auth/register")
        .header("accept", "application/msgpack")
        .json(&json!({"username": "a"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        res.headers().get("content-type").unwrap(),
        "application/msgpack"
    );
    let problem: Value = rmp_serde::from_slice(&res.bytes().await.unwrap()).unwrap();
    assert_eq!(problem["code"], "validation_failed");
    assert_eq!(problem["status"], 422);
    assert_eq!(problem["errors"].as_array().unwrap().len(), 3);

    let res = app
        .request(reqwest::Method::GET, "/api/auth/me")
        .header("accept", "application/x-msgpack")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(res.headers().get("www-authenticate").unwrap(), "Bearer");
    assert_eq!(res.headers()["vary"], "Accept");
    let problem: Value = rmp_serde::from_slice(&res.bytes().await.unwrap()).unwrap();
    assert_eq!(problem["code"], "unauthorized");
    // The JSON problem depends on Accept too.
    let res = app.get("/api/auth/me", None).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(res.headers()["vary"], "Accept");
}

async fn unknown_routes_and_methods_are_problems(backend: Backend) {
    let app = app!(backend);
    let res = app.get("/api/nope", None).await;
    assert_problem(res, StatusCode::NOT_FOUND, "not_found").await;
    let res = app.get("/api/auth/login", None).await;
    assert!(res.status().is_client_error());
    assert_eq!(
        res.headers().get("content-type").unwrap(),
        "application/problem+json"
    );
    let res = app
        .request(reqwest::Method::GET, "/api/nope")
        .header("accept", "application/msgpack")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let problem: Value = rmp_serde::from_slice(&res.bytes().await.unwrap()).unwrap();
    assert_eq!(problem["code"], "not_found");
}
