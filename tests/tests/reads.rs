//! Requests answered together: the GETs of one event waiting at once share one
//! round of statements, and so do the session checks of requests with a body; each
//! caller still gets exactly the answer it would alone — its role, 404 without access,
//! 401 for an ended session, its own account.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use convene_domain::ids::{EventId, SessionId, UserId};
use convene_domain::permission::Role;
use convene_service::auth::Credential;
use convene_service::occurrences::RecurrenceLimits;
use convene_service::ServiceError;
use convene_tests::{app, backend_tests, claims_of, id_of, race, slot, Backend, StatusCode};
use reqwest::Method;
use serde_json::json;

backend_tests!(
    reads_answered_together_each_get_their_own_answer,
    racing_gets_of_many_callers_each_get_their_own_answer,
    session_checks_answered_together_each_find_their_own_caller,
    racing_writes_of_many_callers_are_each_their_own,
);

/// The credential inside an access token.
fn credential(token: &str) -> Credential {
    let claims = claims_of(token);
    Credential {
        user: UserId(claims["sub"].as_str().unwrap().parse().unwrap()),
        session_id: SessionId(claims["sid"].as_i64().unwrap()),
        expires_at: chrono::Utc::now() + chrono::Duration::minutes(5),
    }
}

/// What one caller should get: its role, or the status of the problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expected {
    Read(Role),
    NotFound,
    SessionOver,
}

/// A calendar where every kind of answer occurs: Olga owns `a`, `b` and `c`; Ed edits
/// `a`; Vi views `a` and edits `b`; Stan has nothing; Gus logged out. Returns the
/// events' ids and each caller's token.
struct World {
    a: i64,
    b: i64,
    c: i64,
    olga: String,
    ed: String,
    vi: String,
    stan: String,
    gus: String,
}

async fn world(app: &convene_tests::TestApp) -> World {
    let (_, olga) = app.user("olga").await;
    let (ed_id, ed) = app.user("eddie").await;
    let (vi_id, vi) = app.user("vicky").await;
    let (_, stan) = app.user("stanley").await;
    let (_, gus) = app.user("gustav").await;
    let a = id_of(&app.create_event(&olga, "a", &slot(0), &slot(1)).await);
    let b = id_of(&app.create_event(&olga, "b", &slot(2), &slot(3)).await);
    let c = id_of(&app.create_event(&olga, "c", &slot(4), &slot(5)).await);
    app.share(&olga, a, ed_id, "editor").await;
    app.share(&olga, a, vi_id, "viewer").await;
    app.share(&olga, b, vi_id, "editor").await;
    let res = app.post("/api/auth/logout", &json!({}), Some(&gus)).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    World {
        a,
        b,
        c,
        olga,
        ed,
        vi,
        stan,
        gus,
    }
}

/// Every (caller, event) pair of the world with its answer; `missing` has no event.
fn cases(w: &World, missing: i64) -> Vec<(&str, i64, Expected)> {
    use Expected::{NotFound, Read, SessionOver};
    let mut cases = Vec::new();
    for (token, a, b, c) in [
        (
            &w.olga,
            Read(Role::Owner),
            Read(Role::Owner),
            Read(Role::Owner),
        ),
        (&w.ed, Read(Role::Editor), NotFound, NotFound),
        (&w.vi, Read(Role::Viewer), Read(Role::Editor), NotFound),
        (&w.stan, NotFound, NotFound, NotFound),
        (&w.gus, SessionOver, SessionOver, SessionOver),
    ] {
        let missing_answer = if token == &w.gus {
            SessionOver
        } else {
            NotFound
        };
        for (id, expected) in [(w.a, a), (w.b, b), (w.c, c), (missing, missing_answer)] {
            cases.push((token.as_str(), id, expected));
        }
    }
    cases
}

/// One round of the use case with every kind of read in it, each asked twice and in
/// an order that mixes callers and events, answers each as it would be alone.
async fn reads_answered_together_each_get_their_own_answer(backend: Backend) {
    let app = app!(backend);
    let w = world(&app).await;
    let missing = w.c + 1000;
    let mut cases = cases(&w, missing);
    cases.extend(cases.clone().into_iter().rev());
    // A live session asked for by another user than its own is not live for them.
    let stolen = Credential {
        user: credential(&w.stan).user,
        ..credential(&w.olga)
    };
    let services = app.services(RecurrenceLimits::default());
    let mut reads: Vec<(Credential, EventId)> = cases
        .iter()
        .map(|(token, id, _)| (credential(token), EventId(*id)))
        .collect();
    reads.push((stolen, EventId(w.a)));
    let answers = tokio::task::spawn_blocking(move || {
        convene_service::events::get_by_tokens(&services, &reads)
    })
    .await
    .unwrap();
    assert_eq!(answers.len(), cases.len() + 1);
    for ((token, id, expected), answer) in cases.iter().zip(&answers) {
        let who = claims_of(token)["sub"].clone();
        match (expected, answer) {
            (Expected::Read(role), Ok(event)) => {
                assert_eq!((event.event.id.0, event.role), (*id, *role), "user {who}");
            }
            (Expected::NotFound, Err(ServiceError::NotFound))
            | (Expected::SessionOver, Err(ServiceError::Unauthorized(_))) => {}
            (expected, answer) => {
                panic!("user {who}, event {id}: expected {expected:?}, got {answer:?}")
            }
        }
    }
    assert!(
        matches!(answers.last(), Some(Err(ServiceError::Unauthorized(_)))),
        "{:?}",
        answers.last()
    );
}

/// Many GETs of many callers at once through HTTP: each answer is the caller's own.
async fn racing_gets_of_many_callers_each_get_their_own_answer(backend: Backend) {
    let app = app!(backend);
    let w = world(&app).await;
    let titles = [(w.a, "a"), (w.b, "b"), (w.c, "c")];
    let cases = cases(&w, w.c + 1000);
    for _ in 0..5 {
        let requests = cases
            .iter()
            .cycle()
            .take(4 * cases.len())
            .map(|(token, id, _)| {
                app.request(Method::GET, &format!("/api/events/{id}"))
                    .bearer_auth(token)
            })
            .collect();
        let answers = race(requests).await;
        for ((_, id, expected), (status, body)) in cases.iter().cycle().zip(answers) {
            match expected {
                Expected::Read(role) => {
                    assert_eq!(status, StatusCode::OK, "{body}");
                    let title = titles.iter().find(|(e, _)| e == id).unwrap().1;
                    assert_eq!((&body["id"], &body["title"]), (&json!(id), &json!(title)));
                    assert_eq!(body["role"], json!(role.as_str()), "event {id}: {body}");
                }
                Expected::NotFound => assert_eq!(status, StatusCode::NOT_FOUND, "{body}"),
                Expected::SessionOver => {
                    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
                }
            }
        }
    }
}

/// One round of session checks with live, ended and borrowed sessions in it finds each
/// token's own account.
async fn session_checks_answered_together_each_find_their_own_caller(backend: Backend) {
    let app = app!(backend);
    let w = world(&app).await;
    let tokens = [&w.olga, &w.ed, &w.gus, &w.vi, &w.stan, &w.olga, &w.gus];
    let mut credentials: Vec<Credential> = tokens.iter().map(|t| credential(t)).collect();
    credentials.push(Credential {
        user: credential(&w.stan).user,
        ..credential(&w.vi)
    });
    let services = app.services(RecurrenceLimits::default());
    let asked = credentials.clone();
    let answers =
        tokio::task::spawn_blocking(move || convene_service::auth::callers(&services, &asked))
            .await
            .unwrap();
    assert_eq!(answers.len(), credentials.len());
    for ((token, credential), answer) in tokens.iter().zip(&credentials).zip(&answers) {
        if *token == &w.gus {
            assert!(
                matches!(answer, Err(ServiceError::Unauthorized(_))),
                "{answer:?}"
            );
        } else {
            let caller = answer.as_ref().unwrap();
            assert_eq!(caller.user.id, credential.user);
            assert_eq!(caller.session_id, credential.session_id);
        }
    }
    // Vi's session with Stan's id in the token is nobody's.
    assert!(matches!(
        answers.last(),
        Some(Err(ServiceError::Unauthorized(_)))
    ));
}

/// Many creates of many callers at once, one of them logged out: each event is its
/// caller's own, and the logged-out caller's is refused.
async fn racing_writes_of_many_callers_are_each_their_own(backend: Backend) {
    let app = app!(backend);
    let w = world(&app).await;
    let callers = [&w.olga, &w.ed, &w.vi, &w.stan, &w.gus];
    let ids: Vec<_> = callers
        .iter()
        .map(|token| {
            claims_of(token)["sub"]
                .as_str()
                .unwrap()
                .parse::<i64>()
                .unwrap()
        })
        .collect();
    let requests = (0..60)
        .map(|i| {
            app.request(Method::POST, "/api/events")
                .bearer_auth(callers[i % callers.len()])
                .json(&json!({"title": format!("w{i}"),
                              "start_time": slot(100 + i as u32),
                              "end_time": slot(101 + i as u32)}))
        })
        .collect();
    for (i, (status, body)) in race(requests).await.into_iter().enumerate() {
        if callers[i % callers.len()] == &w.gus {
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        } else {
            assert_eq!(status, StatusCode::CREATED, "{body}");
            assert_eq!(body["owner_id"], json!(ids[i % callers.len()]), "{body}");
            assert_eq!(body["title"], json!(format!("w{i}")));
        }
    }
}
