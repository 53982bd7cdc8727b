//! Accounts and sessions: register, login, refresh, logout, me, lookup, token checks.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use base64::Engine;
use convene_tests::{
    app, assert_problem, backend_tests, claims_of, id_of, slot, Backend, StatusCode, TestApp,
    PASSWORD, TEST_SECRET,
};
use serde_json::{json, Value};

backend_tests!(
    register_returns_user_read,
    duplicates_are_case_insensitive,
    login_with_username_email_json_and_form,
    bad_credentials_are_uniform,
    me_requires_a_token,
    refresh_rotates_and_reuse_revokes_the_session,
    logout_revokes_access_and_refresh_at_once,
    forged_tokens_are_rejected,
    user_lookup_is_exact_and_hides_email,
);

async fn register_returns_user_read(backend: Backend) {
    let app = app!(backend);
    let res = app
        .post(
            "/api/auth/register",
            &json!({"username": "Alice", "email": "Alice@Example.com", "password": PASSWORD, "extra": 1}),
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let user: Value = res.json().await.unwrap();
    assert!(user["id"].as_i64().unwrap() > 0);
    assert_eq!(user["username"], "Alice");
    assert_eq!(user["email"], "Alice@Example.com");
    assert_eq!(user["role"], "user");
    let created = user["created_at"].as_str().unwrap();
    assert!(created.ends_with('Z'), "{created}");
    assert!(chrono_like(created), "{created}");
    assert!(user.get("password").is_none() && user.get("password_hash").is_none());
    assert_eq!(user.as_object().unwrap().len(), 5);
}

fn chrono_like(ts: &str) -> bool {
    ts.len() >= 20 && &ts[4..5] == "-" && &ts[10..11] == "T"
}

/// `POST /api/auth/register` for `username` with `email` (password [`PASSWORD`]).
async fn register_as(app: &TestApp, username: &str, email: &str) -> reqwest::Response {
    let body = json!({"username": username, "email": email, "password": PASSWORD});
    app.post("/api/auth/register", &body, None).await
}

async fn duplicates_are_case_insensitive(backend: Backend) {
    let app = app!(backend);
    app.register("bob").await;
    let res = register_as(&app, "BOB", "other@example.com").await;
    assert_problem(res, StatusCode::CONFLICT, "username_taken").await;
    let res = register_as(&app, "robert", "BOB@EXAMPLE.COM").await;
    assert_problem(res, StatusCode::CONFLICT, "email_taken").await;
    // Beyond ASCII too, on both databases (SQLite's lower() folds ASCII only); the
    // email is kept as typed, and logs in in any case, padded or not.
    let res = register_as(&app, "adam", "Ädam@Exämple.com").await;
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(
        res.json::<Value>().await.unwrap()["email"],
        "Ädam@Exämple.com"
    );
    let res = register_as(&app, "adam2", "ädam@EXÄMPLE.com").await;
    assert_problem(res, StatusCode::CONFLICT, "email_taken").await;
    for login in ["ÄDAM@EXÄMPLE.COM", " ädam@exämple.com "] {
        app.login(login).await;
    }
    // Both taken: the username is named, as when registering one after the other.
    let res = register_as(&app, "Adam", "ÄDAM@exämple.com").await;
    assert_problem(res, StatusCode::CONFLICT, "username_taken").await;
    // So too in a race, whichever unique index the database checks first.
    let body = json!({"username": "racer", "email": "racer@example.com", "password": PASSWORD});
    let answers =
        futures_util::future::join_all((0..6).map(|_| app.post("/api/auth/register", &body, None)))
            .await;
    let mut created = 0;
    for res in answers {
        if res.status() == StatusCode::CREATED {
            created += 1;
        } else {
            assert_problem(res, StatusCode::CONFLICT, "username_taken").await;
        }
    }
    assert_eq!(created, 1);
}

async fn login_with_username_email_json_and_form(backend: Backend) {
    let app = app!(backend);
    app.register("carol").await;
    for login in ["carol", "CAROL", "carol@example.com", "Carol@Example.COM"] {
        let res = app
            .post(
                "/api/auth/login",
                &json!({"username": login, "password": PASSWORD}),
                None,
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK, "{login}");
        let token: Value = res.json().await.unwrap();
        assert_eq!(token["token_type"], "bearer");
        assert_eq!(token["expires_in"], 1800);
        assert!(token["refresh_token"].as_str().unwrap().len() >= 32);
        let me = app
            .get("/api/auth/me", token["access_token"].as_str())
            .await;
        assert_eq!(me.status(), StatusCode::OK);
        assert_eq!(me.json::<Value>().await.unwrap()["username"], "carol");
    }
    // The OAuth2 password form, as Swagger UI sends it.
    for form in [
        vec![("username", "carol"), ("password", PASSWORD)],
        vec![
            ("grant_type", "password"),
            ("username", "carol"),
            ("password", PASSWORD),
        ],
    ] {
        let body = serde_urlencoded(&form);
        let res = app
            .request(reqwest::Method::POST, "/api/auth/login")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert!(res.json::<Value>().await.unwrap()["access_token"].is_string());
    }
    let res = app
        .request(reqwest::Method::POST, "/api/auth/login")
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials&username=carol&password=x")
        .send()
        .await
        .unwrap();
    let problem = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(problem["errors"][0]["field"], "grant_type");
}

fn serde_urlencoded(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", v.replace(' ', "+")))
        .collect::<Vec<_>>()
        .join("&")
}

async fn bad_credentials_are_uniform(backend: Backend) {
    let app = app!(backend);
    app.register("dave").await;
    let wrong_password = app
        .post(
            "/api/auth/login",
            &json!({"username": "dave", "password": "wrong password"}),
            None,
        )
        .await;
    assert_eq!(
        wrong_password.headers().get("www-authenticate").unwrap(),
        "Bearer"
    );
    let a = assert_problem(wrong_password, StatusCode::UNAUTHORIZED, "unauthorized").await;
    let unknown_user = app
        .post(
            "/api/auth/login",
            &json!({"username": "nobody", "password": PASSWORD}),
            None,
        )
        .await;
    let b = assert_problem(unknown_user, StatusCode::UNAUTHORIZED, "unauthorized").await;
    assert_eq!(a, b, "same body whether the user exists or not");
    // A 73-byte guess sharing the first 72 bytes never matches (no truncation).
    app.post(
        "/api/auth/register",
        &json!({"username": "erin", "email": "erin@example.com", "password": "p".repeat(72)}),
        None,
    )
    .await;
    let res = app
        .post(
            "/api/auth/login",
            &json!({"username": "erin", "password": "p".repeat(73)}),
            None,
        )
        .await;
    assert_problem(res, StatusCode::UNAUTHORIZED, "unauthorized").await;
    let res = app
        .post(
            "/api/auth/login",
            &json!({"username": "erin", "password": "p".repeat(72)}),
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
}

async fn me_requires_a_token(backend: Backend) {
    let app = app!(backend);
    let res = app.get("/api/auth/me", None).await;
    assert_eq!(res.headers().get("www-authenticate").unwrap(), "Bearer");
    assert_problem(res, StatusCode::UNAUTHORIZED, "unauthorized").await;
    for header in ["Bearer", "Basic abc", "Bearer not-a-jwt", "token"] {
        let res = app
            .request(reqwest::Method::GET, "/api/auth/me")
            .header("authorization", header)
            .send()
            .await
            .unwrap();
        assert_problem(res, StatusCode::UNAUTHORIZED, "unauthorized").await;
    }
}

async fn refresh_rotates_and_reuse_revokes_the_session(backend: Backend) {
    let app = app!(backend);
    app.register("frank").await;
    let first = app.login("frank").await;
    let other_session = app.login("frank").await;
    let refresh = |token: Value| {
        let app = &app;
        async move {
            app.post("/api/auth/refresh", &json!({"refresh_token": token}), None)
                .await
        }
    };
    let res = refresh(first["refresh_token"].clone()).await;
    assert_eq!(res.status(), StatusCode::OK);
    let second: Value = res.json().await.unwrap();
    assert_ne!(second["refresh_token"], first["refresh_token"]);
    assert_ne!(second["access_token"], first["access_token"]);
    assert_eq!(
        app.get("/api/auth/me", second["access_token"].as_str())
            .await
            .status(),
        StatusCode::OK
    );

    // Presenting the spent token again: 401, and the whole session is revoked.
    let res = refresh(first["refresh_token"].clone()).await;
    assert_problem(res, StatusCode::UNAUTHORIZED, "unauthorized").await;
    let res = refresh(second["refresh_token"].clone()).await;
    assert_problem(res, StatusCode::UNAUTHORIZED, "unauthorized").await;
    for token in [&first, &second] {
        let res = app
            .get("/api/auth/me", token["access_token"].as_str())
            .await;
        assert_problem(res, StatusCode::UNAUTHORIZED, "unauthorized").await;
    }
    // Other sessions of the same user are untouched.
    assert_eq!(
        app.get("/api/auth/me", other_session["access_token"].as_str())
            .await
            .status(),
        StatusCode::OK
    );
    let res = refresh(json!("never-issued")).await;
    assert_problem(res, StatusCode::UNAUTHORIZED, "unauthorized").await;
    assert_eq!(
        refresh(other_session["refresh_token"].clone())
            .await
            .status(),
        StatusCode::OK
    );
}

async fn logout_revokes_access_and_refresh_at_once(backend: Backend) {
    let app = app!(backend);
    app.register("grace").await;
    let token = app.login("grace").await;
    let access = token["access_token"].as_str().unwrap();
    let event = app.create_event(access, "mine", &slot(1), &slot(2)).await;
    let own = format!("/api/events/{}", id_of(&event));
    assert_eq!(app.get(&own, Some(access)).await.status(), StatusCode::OK);
    let res = app.post("/api/auth/logout", &json!({}), Some(access)).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert!(res.bytes().await.unwrap().is_empty());
    let res = app.get("/api/auth/me", Some(access)).await;
    assert_problem(res, StatusCode::UNAUTHORIZED, "unauthorized").await;
    // A GET of one event checks the session in the statement that reads it: the 401
    // comes before whatever the id would answer (the caller's event, none, no number).
    for path in [own.as_str(), "/api/events/999999999", "/api/events/abc"] {
        let res = app.get(path, Some(access)).await;
        assert_problem(res, StatusCode::UNAUTHORIZED, "unauthorized").await;
    }
    let res = app
        .post(
            "/api/auth/refresh",
            &json!({"refresh_token": token["refresh_token"]}),
            None,
        )
        .await;
    assert_problem(res, StatusCode::UNAUTHORIZED, "unauthorized").await;
    let res = app.post("/api/auth/logout", &json!({}), Some(access)).await;
    assert_problem(res, StatusCode::UNAUTHORIZED, "unauthorized").await;
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn sign(claims: &Value, alg: jsonwebtoken::Algorithm, secret: &str) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(alg),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

async fn forged_tokens_are_rejected(backend: Backend) {
    use jsonwebtoken::Algorithm::{HS256, HS512};
    let app = app!(backend);
    let (_, real) = app.user("heidi").await;
    let (other_id, _) = app.user("ivan").await;
    let claims = claims_of(&real);
    for key in ["sub", "sid", "iat", "exp", "jti"] {
        assert!(claims.get(key).is_some(), "claim {key} in {claims}");
    }
    assert_eq!(claims["sub"], claims["sub"].as_str().unwrap());

    // Control: a token signed with the right key and algorithm is accepted.
    let control = sign(&claims, HS256, TEST_SECRET);
    assert_eq!(
        app.get("/api/auth/me", Some(&control)).await.status(),
        StatusCode::OK
    );

    let now = claims["iat"].as_i64().unwrap();
    let mut expired = claims.clone();
    expired["iat"] = json!(now - 3600);
    expired["exp"] = json!(now - 1);
    let mut other_user = claims.clone();
    other_user["sub"] = json!(other_id.to_string());
    let header_none = b64(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = real.split('.').nth(1).unwrap();
    let signature = real.split('.').nth(2).unwrap();
    let tampered_payload = b64(other_user.to_string().as_bytes());

    let forged = [
        ("alg none", format!("{header_none}.{payload}.")),
        (
            "alg none with signature",
            format!("{header_none}.{payload}.{signature}"),
        ),
        (
            "wrong key",
            sign(&claims, HS256, "another-secret-another-secret-0123456789"),
        ),
        ("other algorithm", sign(&claims, HS512, TEST_SECRET)),
        (
            "tampered payload",
            format!(
                "{}.{tampered_payload}.{signature}",
                real.split('.').next().unwrap()
            ),
        ),
        ("expired", sign(&expired, HS256, TEST_SECRET)),
        (
            "session of another user",
            sign(&other_user, HS256, TEST_SECRET),
        ),
    ];
    // The same for a GET of one event, which checks the session as it reads: with an id
    // of an event the holder of the real token owns, and one of an event of nobody.
    let event = app.create_event(&real, "mine", &slot(1), &slot(2)).await;
    let own = format!("/api/events/{}", id_of(&event));
    assert_eq!(app.get(&own, Some(&control)).await.status(), StatusCode::OK);
    let res = app.get(&own, None).await;
    assert_problem(res, StatusCode::UNAUTHORIZED, "unauthorized").await;
    for (what, token) in forged {
        for path in ["/api/auth/me", &own, "/api/events/999999999"] {
            let res = app.get(path, Some(&token)).await;
            assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{what} {path}");
            assert_eq!(
                res.headers().get("www-authenticate").unwrap(),
                "Bearer",
                "{what} {path}"
            );
            assert_problem(res, StatusCode::UNAUTHORIZED, "unauthorized").await;
        }
    }
}

async fn user_lookup_is_exact_and_hides_email(backend: Backend) {
    let app = app!(backend);
    let (judy_id, token) = app.user("judy").await;
    app.register("judyb").await;
    let res = app.get("/api/users?username=JUDY", Some(&token)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let found: Value = res.json().await.unwrap();
    assert_eq!(found, json!([{"id": judy_id, "username": "judy"}]));
    let res = app.get("/api/users?username=jud", Some(&token)).await;
    assert_eq!(res.json::<Value>().await.unwrap(), json!([]));
    // A missing required value is 422, as for every other query.
    let res = app.get("/api/users", Some(&token)).await;
    let problem = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(problem["errors"][0]["field"], "username");
    let res = app.get("/api/users?username=judy", None).await;
    assert_problem(res, StatusCode::UNAUTHORIZED, "unauthorized").await;
}
