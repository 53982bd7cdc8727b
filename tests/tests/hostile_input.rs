//! Input a careful client never sends but a hostile one may: leap seconds, tampered
//! cursors, credentials and bodies that are both wrong (hardening findings 8 and 12).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use convene_tests::{app, assert_problem, backend_tests, slot, Backend, StatusCode, TestApp};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

backend_tests!(
    leap_seconds_are_refused_not_stored,
    tampered_cursors_outside_the_calendar_are_invalid,
    credentials_are_checked_before_the_body,
    an_ended_session_answers_401_whatever_else_is_wrong,
    wrong_methods_answer_405_with_allow,
    deep_nesting_is_refused_not_a_crash,
    nul_characters_are_field_problems,
);

async fn leap_seconds_are_refused_not_stored(backend: Backend) {
    let app = app!(backend);
    let (_, token) = app.user("leaper").await;
    for (start, end) in [
        ("2030-06-30T23:59:60Z", "2030-07-01T00:30:00Z"),
        (slot(1).as_str(), "2030-01-01T01:59:60.5+00:00"),
    ] {
        let res = app
            .post(
                "/api/events",
                &json!({"title": "leap", "start_time": start, "end_time": end}),
                Some(&token),
            )
            .await;
        let problem =
            assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        let message = problem["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains("leap second"), "{problem}");
    }
    let event = app.create_event(&token, "E", &slot(1), &slot(2)).await;
    let res = app
        .patch(
            &format!("/api/events/{}", event["id"]),
            &json!({"end_time": "2030-01-01T02:59:60Z"}),
            Some(&token),
        )
        .await;
    assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    // As a query value it is unparsable, like any other malformed timestamp.
    let res = app
        .get("/api/events?from=2030-06-30T23:59:60Z", Some(&token))
        .await;
    assert_problem(res, StatusCode::BAD_REQUEST, "invalid_query").await;
}

async fn tampered_cursors_outside_the_calendar_are_invalid(backend: Backend) {
    let app = app!(backend);
    let (_, token) = app.user("tamperer").await;
    app.create_event(&token, "E", &slot(1), &slot(2)).await;
    // Before year 1 cannot be written (positions count from its first instant); a
    // position beyond year 9999 is the calendar's end: an empty page, never a 500.
    for cursor in ["e-1_1", "e-7952342400000000000_1", "e1234567890123456789_1"] {
        let res = app
            .get(&format!("/api/events?cursor={cursor}"), Some(&token))
            .await;
        assert_problem(res, StatusCode::BAD_REQUEST, "invalid_cursor").await;
    }
    for cursor in ["e0_1", "e999999999999999999_999999999999999999"] {
        let page = app
            .get_ok(&format!("/api/events?cursor={cursor}"), &token)
            .await;
        let items = page["items"].as_array().unwrap().len();
        assert_eq!(items, usize::from(cursor == "e0_1"), "{cursor}: {page}");
    }
}

async fn credentials_are_checked_before_the_body(backend: Backend) {
    let app = app!(backend);
    let (_, token) = app.user("bodyfirst").await;
    let send = |auth: Option<&str>, content_type: &str, body: Vec<u8>| {
        let mut req = app
            .request(reqwest::Method::POST, "/api/events")
            .header("content-type", content_type)
            .body(body);
        if let Some(auth) = auth {
            req = req.header("authorization", auth);
        }
        req.send()
    };
    let big = vec![b' '; 2 * 1024 * 1024];
    for auth in [None, Some("Bearer not-a-token"), Some("Basic abc")] {
        for (content_type, body) in [
            ("text/plain", b"hello".to_vec()),
            ("application/json", b"{\"title\": ".to_vec()),
            ("application/msgpack", vec![0xc1]),
            ("application/json", big.clone()),
        ] {
            let res = send(auth, content_type, body).await.unwrap();
            let problem = assert_problem(res, StatusCode::UNAUTHORIZED, "unauthorized").await;
            assert!(problem["detail"].is_string());
        }
    }
    // With a good token the body's problems are reported as before.
    let bearer = format!("Bearer {token}");
    let res = send(Some(&bearer), "text/plain", b"x".to_vec())
        .await
        .unwrap();
    assert_problem(
        res,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    )
    .await;
    let res = send(Some(&bearer), "application/json", b"{".to_vec())
        .await
        .unwrap();
    assert_problem(res, StatusCode::BAD_REQUEST, "malformed_body").await;
}

/// A well-signed token whose session is over: a request with a body has its session
/// checked before the body is read; one without, in the hand-off that does its work, or,
/// when the handler answers before that (the path or query is wrong), after it. Either
/// way the answer is 401.
async fn an_ended_session_answers_401_whatever_else_is_wrong(backend: Backend) {
    let app = app!(backend);
    let (_, token) = app.user("ended").await;
    let event = app.create_event(&token, "mine", &slot(1), &slot(2)).await;
    let own = format!("/api/events/{}", event["id"]);
    let res = app.post("/api/auth/logout", &json!({}), Some(&token)).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let big = vec![b' '; 2 * 1024 * 1024];
    let rollback = format!("{own}/rollback/1");
    let requests: Vec<(reqwest::Method, &str, &str, Vec<u8>)> = vec![
        // Well-formed. Without a body the handler checks the session in the hand-off
        // that does its work, before the work; with one, the route checks it first.
        (reqwest::Method::GET, "/api/events", "", vec![]),
        (reqwest::Method::GET, &own, "", vec![]),
        (reqwest::Method::DELETE, &own, "", vec![]),
        (reqwest::Method::POST, &rollback, "", vec![]),
        (reqwest::Method::POST, "/api/notifications/read-all", "", vec![]),
        (reqwest::Method::GET, "/api/auth/me", "", vec![]),
        (
            reqwest::Method::PATCH,
            &own,
            "application/json",
            br#"{"title": "still mine?"}"#.to_vec(),
        ),
        (
            reqwest::Method::POST,
            "/api/events",
            "application/json",
            json!({"title": "t", "start_time": slot(3), "end_time": slot(4)})
                .to_string()
                .into_bytes(),
        ),
        (reqwest::Method::GET, "/api/users?username=ended", "", vec![]),
        // Malformed: answered before the handler's check, so checked after it.
        (reqwest::Method::POST, "/api/events", "text/plain", b"x".to_vec()),
        (reqwest::Method::POST, "/api/events", "application/json", b"{".to_vec()),
        (reqwest::Method::POST, "/api/events", "application/json", big),
        (
            reqwest::Method::POST,
            "/api/events",
            "application/json",
            br#"{"title": "t", "start_time": "2030-01-01T10:00:00Z", "end_time": "2030-01-01T09:00:00Z"}"#.to_vec(),
        ),
        (reqwest::Method::GET, "/api/events/abc", "", vec![]),
        (reqwest::Method::PUT, "/api/events/abc", "application/json", b"{}".to_vec()),
        (reqwest::Method::GET, "/api/events?limit=0", "", vec![]),
        (reqwest::Method::GET, "/api/events?cursor=nope", "", vec![]),
        (reqwest::Method::GET, "/api/users", "", vec![]),
        (reqwest::Method::GET, "/api/notifications?limit=x", "", vec![]),
    ];
    for (method, path, content_type, body) in requests {
        let mut req = app
            .request(method.clone(), path)
            .bearer_auth(&token)
            .body(body);
        if !content_type.is_empty() {
            req = req.header("content-type", content_type);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{method} {path}");
        assert_problem(res, StatusCode::UNAUTHORIZED, "unauthorized").await;
    }
    // Checked before the body is read: a request whose body never arrives is answered.
    let address = app.url("").trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    let head = format!(
        "POST /api/events HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{\"title\": "
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = vec![0; 12];
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        stream.read_exact(&mut answer),
    )
    .await
    .expect("answered without waiting for the body")
    .unwrap();
    assert_eq!(&answer, b"HTTP/1.1 401");
    // Nothing was stored or changed by the refused requests.
    let token = app.login("ended").await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let page = app.get_ok("/api/events", &token).await;
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{page}");
    assert_eq!(items[0]["title"], "mine");
    assert_eq!(items[0]["version"], 1);
}

async fn wrong_methods_answer_405_with_allow(backend: Backend) {
    let app = app!(backend);
    let (_, token) = app.user("methodical").await;
    for (method, path, allow) in [
        (reqwest::Method::DELETE, "/api/events", "GET, POST"),
        (reqwest::Method::PATCH, "/api/auth/login", "POST"),
        (reqwest::Method::GET, "/api/events/1/share", "POST"),
        (
            reqwest::Method::POST,
            "/api/events/1",
            "GET, PUT, PATCH, DELETE",
        ),
        (reqwest::Method::PUT, "/healthz", "GET"),
        (reqwest::Method::POST, "/openapi.json", "GET"),
        (reqwest::Method::DELETE, "/docs", "GET"),
        (reqwest::Method::POST, "/docs/", "GET"),
        (reqwest::Method::PUT, "/redoc", "GET"),
        (reqwest::Method::POST, "/redoc/redoc.standalone.js", "GET"),
    ] {
        for auth in [None, Some(token.as_str())] {
            let mut req = app.request(method.clone(), path);
            if let Some(token) = auth {
                req = req.bearer_auth(token);
            }
            let res = req.send().await.unwrap();
            assert_eq!(
                res.headers().get("allow").map(|v| v.to_str().unwrap()),
                Some(allow),
                "{method} {path}"
            );
            assert_problem(res, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed").await;
        }
    }
}

/// `POST /api/events/import` of `file` as `text/calendar`.
async fn import(app: &TestApp, token: &str, file: impl Into<reqwest::Body>) -> reqwest::Response {
    app.request(reqwest::Method::POST, "/api/events/import")
        .bearer_auth(token)
        .header("Content-Type", "text/calendar")
        .body(file)
        .send()
        .await
        .unwrap()
}

/// Bodies nested deeper than a parser's recursion may go: 400, and the server lives on
/// (a worker's stack overflowing aborts the whole process).
async fn deep_nesting_is_refused_not_a_crash(backend: Backend) {
    let app = app!(backend);
    let (_, token) = app.user("nester").await;
    // MessagePack: {"username": "u", "password": "p", "x": [[[…1…]]]}, 5,000 deep, on a
    // route that needs no token.
    let mut body = vec![0x83];
    for (key, value) in [("username", "u"), ("password", "p")] {
        body.push(0xa0 | key.len() as u8);
        body.extend(key.as_bytes());
        body.push(0xa0 | value.len() as u8);
        body.extend(value.as_bytes());
    }
    body.extend([0xa1, b'x']);
    body.extend(std::iter::repeat_n(0x91, 5_000));
    body.push(0x01);
    let res = app
        .request(reqwest::Method::POST, "/api/auth/login")
        .header("Content-Type", "application/msgpack")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_problem(res, StatusCode::BAD_REQUEST, "malformed_body").await;
    // JSON alike.
    let deep = format!("{{\"title\": {}1{}}}", "[".repeat(5_000), "]".repeat(5_000));
    let res = app
        .request(reqwest::Method::POST, "/api/events")
        .bearer_auth(&token)
        .header("Content-Type", "application/json")
        .body(deep)
        .send()
        .await
        .unwrap();
    assert_problem(res, StatusCode::BAD_REQUEST, "malformed_body").await;
    // A calendar file of nested components.
    let file = format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\n{}{}END:VEVENT\r\nEND:VCALENDAR\r\n",
        "BEGIN:X\r\n".repeat(5_000),
        "END:X\r\n".repeat(5_000)
    );
    let res = import(&app, &token, file).await;
    let problem = assert_problem(res, StatusCode::BAD_REQUEST, "malformed_body").await;
    assert!(problem["detail"].as_str().unwrap().len() < 300, "{problem}");
    // Still serving.
    assert_eq!(app.get("/healthz", None).await.status(), StatusCode::OK);
}

/// A NUL character cannot be stored as text by PostgreSQL: a field holding one is a 422
/// naming it, on both backends alike (not a 500 on one of them).
async fn nul_characters_are_field_problems(backend: Backend) {
    let app = app!(backend);
    let (_, token) = app.user("nul").await;
    for (field, body) in [
        (
            "title",
            json!({"title": "a\u{0}b", "start_time": slot(1), "end_time": slot(2)}),
        ),
        (
            "description",
            json!({"title": "t", "description": "\u{0}", "start_time": slot(1), "end_time": slot(2)}),
        ),
        (
            "location",
            json!({"title": "t", "location": "x\u{0}", "start_time": slot(1), "end_time": slot(2)}),
        ),
    ] {
        let res = app.post("/api/events", &body, Some(&token)).await;
        let problem =
            assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(problem["errors"][0]["field"], field, "{problem}");
    }
    let file = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:n\r\nSUMMARY:a\u{0}b\r\n\
DTSTART:20300101T090000Z\r\nDURATION:PT1H\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    let res = import(&app, &token, file).await;
    let problem = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(problem["errors"][0]["field"], "title", "{problem}");
    // Looked up, not stored: no such user.
    let found = app.get_ok("/api/users?username=a%00b", &token).await;
    assert_eq!(found, json!([]));
    let res = app
        .post(
            "/api/auth/login",
            &json!({"username": "nul\u{0}", "password": "whatever-it-is"}),
            None,
        )
        .await;
    assert_problem(res, StatusCode::UNAUTHORIZED, "unauthorized").await;
    let res = app
        .post(
            "/api/auth/register",
            &json!({"username": "nul3", "email": "a\u{0}@example.com", "password": "long enough"}),
            None,
        )
        .await;
    assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
}
