//! Live notifications over WebSocket: shape, fan-out to every connection, privacy,
//! gap-free resume, MessagePack frames, authentication, session revocation, token
//! expiry, and (PostgreSQL) delivery across instances and after the listener's
//! connection is killed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;
use std::time::Duration;

use base64::Engine;
use convene_tests::{
    app, assert_problem, backend_tests, id_of, slot, Backend, StatusCode, TestApp, TestDb,
    TEST_SECRET,
};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

backend_tests!(
    change_by_another_user_is_pushed,
    every_connection_of_the_user_receives_it,
    strangers_receive_nothing,
    since_replays_then_continues_without_gap_or_duplicate,
    msgpack_frames_carry_the_same_document,
    invalid_tokens_are_refused_before_upgrade,
    logout_closes_the_socket_with_1008,
    expired_token_closes_the_socket_with_1008,
    server_pings_and_drops_silent_peers,
    a_socket_opened_during_logout_is_refused_or_closed,
    concurrent_writers_deliver_live_in_replay_order;
    // SQLite is single-instance by design (the in-memory hub is the fan-out) and has no
    // listener connection: these exist only with PostgreSQL.
    postgres_only:
    change_through_one_instance_reaches_another,
    listener_recovers_after_its_connection_is_killed,
    a_logout_while_the_listener_is_away_still_closes_the_socket,
    a_notification_committed_late_comes_first_and_holds_back_later_ones,
    concurrent_writers_on_two_instances_deliver_one_order,
    a_busy_listener_reads_on_a_timer_then_listens_again,
    a_logout_while_the_listener_reads_on_a_timer_still_closes_the_socket,
);

fn ws_url(app: &TestApp, query: &str) -> String {
    format!(
        "{}/ws/notifications?{query}",
        app.address.replacen("http://", "ws://", 1)
    )
}

async fn connect(app: &TestApp, token: &str, extra: &str) -> Socket {
    let (socket, response) =
        tokio_tungstenite::connect_async(ws_url(app, &format!("token={token}{extra}")))
            .await
            .expect("websocket upgrade");
    assert_eq!(response.status(), 101);
    socket
}

/// The next notification document, or `None` if nothing arrives within `wait`.
async fn next_doc(socket: &mut Socket, wait: Duration) -> Option<Value> {
    loop {
        let msg = tokio::time::timeout(wait, socket.next())
            .await
            .ok()??
            .ok()?;
        match msg {
            Message::Text(text) => return Some(serde_json::from_str(&text).unwrap()),
            Message::Binary(bytes) => return Some(rmp_serde::from_slice(&bytes).unwrap()),
            Message::Ping(_) | Message::Pong(_) => continue,
            Message::Close(_) | Message::Frame(_) => return None,
        }
    }
}

async fn expect_doc(socket: &mut Socket) -> Value {
    next_doc(socket, Duration::from_secs(10))
        .await
        .expect("a notification")
}

/// Waits for the server to close the socket; returns the close code.
async fn close_code(socket: &mut Socket) -> Option<CloseCode> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let msg = tokio::time::timeout_at(deadline, socket.next())
            .await
            .ok()??;
        if let Ok(Message::Close(frame)) = msg {
            return frame.map(|f| f.code);
        }
        msg.ok()?;
    }
}

/// `2030-01-01T{hour}:30:00Z`: the end of the half-hour events these tests create.
fn half_past(hour: u32) -> String {
    format!("2030-01-01T{hour:02}:30:00Z")
}

async fn change_by_another_user_is_pushed(backend: Backend) {
    let app = app!(backend);
    let (alice, alice_token) = app.user("alice").await;
    let (bob, bob_token) = app.user("bob").await;
    let mut socket = connect(&app, &bob_token, "").await;
    let event = app
        .create_event(&alice_token, "Standup", &slot(9), &half_past(9))
        .await;
    let id = id_of(&event);
    app.share(&alice_token, id, bob, "editor").await;
    let shared = expect_doc(&mut socket).await;
    assert_eq!(shared["type"], "event_shared");
    assert_eq!(shared["event_id"], id);
    assert_eq!(shared["actor_id"], alice);
    assert_eq!(shared["data"], json!({"role": "editor"}));
    assert!(shared["message"].as_str().unwrap().contains("Standup"));
    assert!(shared["id"].as_i64().unwrap() > 0);
    assert!(shared["timestamp"].as_str().unwrap().ends_with('Z'));
    convene_tests::assert_members(
        &shared,
        &[
            "id",
            "type",
            "event_id",
            "actor_id",
            "message",
            "data",
            "timestamp",
        ],
        "live notification",
    );

    app.patch_event(&alice_token, id, &json!({"title": "Standup (moved)"}))
        .await;
    let updated = expect_doc(&mut socket).await;
    assert_eq!(updated["type"], "event_updated");
    assert!(updated["id"].as_i64().unwrap() > shared["id"].as_i64().unwrap());
    // The pushed document is the stored notification.
    let inbox: Value = app
        .get("/api/notifications", Some(&bob_token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(inbox["items"][0]["id"], updated["id"]);
    assert_eq!(inbox["items"][0]["message"], updated["message"]);
}

async fn every_connection_of_the_user_receives_it(backend: Backend) {
    let app = app!(backend);
    let (_, alice_token) = app.user("alice").await;
    let (bob, _) = app.user("bob").await;
    let bob_phone = app.access_token("bob").await;
    let bob_laptop = app.access_token("bob").await;
    let mut tab1 = connect(&app, &bob_laptop, "").await;
    let mut tab2 = connect(&app, &bob_laptop, "").await;
    let mut phone = connect(&app, &bob_phone, "").await;
    let event = app
        .create_event(&alice_token, "Review", &slot(10), &half_past(10))
        .await;
    app.share(&alice_token, id_of(&event), bob, "viewer").await;
    let a = expect_doc(&mut tab1).await;
    let b = expect_doc(&mut tab2).await;
    let c = expect_doc(&mut phone).await;
    assert_eq!(a, b);
    assert_eq!(a, c);
}

async fn strangers_receive_nothing(backend: Backend) {
    let app = app!(backend);
    let (_, alice_token) = app.user("alice").await;
    let (carol, carol_token) = app.user("carol").await;
    let mut socket = connect(&app, &carol_token, "").await;
    let event = app
        .create_event(&alice_token, "Secret", &slot(11), &half_past(11))
        .await;
    let id = id_of(&event);
    app.patch_event(&alice_token, id, &json!({"title": "Still secret"}))
        .await;
    assert!(next_doc(&mut socket, Duration::from_millis(700))
        .await
        .is_none());
    // The socket works: something addressed to carol does arrive.
    app.share(&alice_token, id, carol, "viewer").await;
    assert_eq!(expect_doc(&mut socket).await["type"], "event_shared");
}

async fn since_replays_then_continues_without_gap_or_duplicate(backend: Backend) {
    let app = app!(backend);
    let (_, alice_token) = app.user("alice").await;
    let (bob, bob_token) = app.user("bob").await;
    let event = app
        .create_event(&alice_token, "Planning", &slot(12), &half_past(12))
        .await;
    let id = id_of(&event);
    app.share(&alice_token, id, bob, "viewer").await;
    for i in 0..5 {
        app.patch_event(&alice_token, id, &json!({"title": format!("Planning {i}")}))
            .await;
    }
    let inbox: Value = app
        .get("/api/notifications", Some(&bob_token))
        .await
        .json()
        .await
        .unwrap();
    let ids: Vec<i64> = inbox["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(id_of)
        .collect();
    let since = ids[ids.len() - 2]; // the second oldest: everything after it is replayed

    // Keep writing while the socket connects and replays.
    let writer = {
        let client = app.client.clone();
        let url = app.url(&format!("/api/events/{id}"));
        let token = alice_token.clone();
        tokio::spawn(async move {
            for i in 0..15 {
                let res = client
                    .patch(&url)
                    .bearer_auth(&token)
                    .json(&json!({"title": format!("Live {i}")}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(res.status(), 200);
            }
        })
    };
    let mut socket = connect(&app, &bob_token, &format!("&since={since}")).await;
    writer.await.unwrap();
    let all: Value = app
        .get("/api/notifications?limit=200", Some(&bob_token))
        .await
        .json()
        .await
        .unwrap();
    let mut expected: Vec<i64> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(id_of)
        .filter(|&n| n > since)
        .collect();
    expected.sort_unstable();
    let mut received = Vec::new();
    while received.len() < expected.len() {
        let doc = next_doc(&mut socket, Duration::from_secs(10))
            .await
            .expect("no gap");
        received.push(id_of(&doc));
    }
    assert!(
        next_doc(&mut socket, Duration::from_millis(500))
            .await
            .is_none(),
        "no duplicate"
    );
    let unique: HashSet<i64> = received.iter().copied().collect();
    assert_eq!(unique.len(), received.len(), "duplicates in {received:?}");
    let mut sorted = received.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, expected);
    // The replayed part comes first, in id order.
    let replayed: Vec<i64> = received
        .iter()
        .copied()
        .take_while(|&n| n <= ids[0])
        .collect();
    assert!(replayed.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(received[0], expected[0]);
}

async fn msgpack_frames_carry_the_same_document(backend: Backend) {
    let app = app!(backend);
    let (_, alice_token) = app.user("alice").await;
    let (bob, bob_token) = app.user("bob").await;
    let mut json_socket = connect(&app, &bob_token, "").await;
    let mut packed = connect(&app, &bob_token, "&format=msgpack").await;
    let event = app
        .create_event(&alice_token, "Packed", &slot(13), &half_past(13))
        .await;
    app.share(&alice_token, id_of(&event), bob, "editor").await;
    let frame = tokio::time::timeout(Duration::from_secs(10), packed.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let Message::Binary(bytes) = frame else {
        panic!("expected a binary frame, got {frame:?}");
    };
    let doc: Value = rmp_serde::from_slice(&bytes).unwrap();
    assert_eq!(doc, expect_doc(&mut json_socket).await);
    assert_eq!(doc["data"]["role"], "editor");
}

async fn invalid_tokens_are_refused_before_upgrade(backend: Backend) {
    let app = app!(backend);
    let (_, token) = app.user("alice").await;
    for query in ["", "token=not-a-jwt", &format!("token={token}x")] {
        let err = tokio_tungstenite::connect_async(ws_url(&app, query))
            .await
            .unwrap_err();
        match err {
            tokio_tungstenite::tungstenite::Error::Http(response) => {
                assert_eq!(response.status(), 401, "{query}")
            }
            other => panic!("{query}: {other:?}"),
        }
    }
    // The Authorization header works as well as the query.
    let mut request = ws_url(&app, "").into_client_request().unwrap();
    request
        .headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    let (_, response) = tokio_tungstenite::connect_async(request).await.unwrap();
    assert_eq!(response.status(), 101);
    let res = app.get("/ws/notifications?token=abc", None).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    // Credentials first: a bad query beside a missing or bad token is 401; beside a good
    // one, 400.
    for query in [
        "format=xml",
        "since=x",
        "format=xml&token=abc",
        "since=x&token=abc",
    ] {
        let res = app.get(&format!("/ws/notifications?{query}"), None).await;
        assert_problem(res, StatusCode::UNAUTHORIZED, "unauthorized").await;
    }
    for query in ["format=xml", "since=x", "since=-1"] {
        let res = app
            .get(&format!("/ws/notifications?{query}&token={token}"), None)
            .await;
        assert_problem(res, StatusCode::BAD_REQUEST, "invalid_query").await;
    }
}

async fn logout_closes_the_socket_with_1008(backend: Backend) {
    let app = app!(backend);
    let (_, token) = app.user("alice").await;
    let other = app.access_token("alice").await;
    let mut socket = connect(&app, &token, "").await;
    let mut other_socket = connect(&app, &other, "").await;
    let res = app.post("/api/auth/logout", &json!({}), Some(&token)).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(close_code(&mut socket).await, Some(CloseCode::Policy));
    // The other session's socket stays open and answers pings.
    other_socket
        .send(Message::Ping(b"hi".to_vec().into()))
        .await
        .unwrap();
    let reply = tokio::time::timeout(Duration::from_secs(5), other_socket.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(matches!(reply, Message::Pong(_)), "{reply:?}");
}

/// A socket opened while its session logs out either is refused (401) or is closed
/// with 1008: none stays open on a revoked session. Ten sessions race at a time, so the
/// server is busy between its token check and the socket's subscription.
async fn a_socket_opened_during_logout_is_refused_or_closed(backend: Backend) {
    let app = app!(backend);
    app.register("racer").await;
    let empty = json!({});
    let attempt = |n: u64| {
        let (app, empty) = (&app, &empty);
        async move {
            let token = app.access_token("racer").await;
            let url = ws_url(app, &format!("token={token}"));
            // The logout leaves at a spread of moments during the upgrade.
            let (opened, logout) = tokio::join!(tokio_tungstenite::connect_async(url), async {
                tokio::time::sleep(Duration::from_micros(n % 8 * 500)).await;
                app.post("/api/auth/logout", empty, Some(&token)).await
            });
            assert_eq!(logout.status(), StatusCode::NO_CONTENT);
            match opened {
                Ok((mut socket, _)) => {
                    assert_eq!(close_code(&mut socket).await, Some(CloseCode::Policy));
                }
                Err(tokio_tungstenite::tungstenite::Error::Http(res)) => {
                    assert_eq!(res.status(), 401);
                }
                Err(other) => panic!("{other}"),
            }
        }
    };
    for batch in 0..6u64 {
        futures_util::future::join_all((0..10).map(|i| attempt(batch * 10 + i))).await;
    }
}

async fn expired_token_closes_the_socket_with_1008(backend: Backend) {
    let app = app!(backend);
    let (_, token) = app.user("alice").await;
    let payload = token.split('.').nth(1).unwrap();
    let mut claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    claims["exp"] = json!(claims["iat"].as_i64().unwrap() + 3);
    let short = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(TEST_SECRET.as_bytes()),
    )
    .unwrap();
    let mut socket = connect(&app, &short, "").await;
    assert_eq!(close_code(&mut socket).await, Some(CloseCode::Policy));
}

/// PostgreSQL: two instances on one database; a change through A reaches a socket on B.
async fn change_through_one_instance_reaches_another(backend: Backend) {
    let a = app!(backend);
    let TestDb::Postgres { url, .. } = &a.db else {
        panic!("a PostgreSQL-only test got a {backend:?} database");
    };
    let b_address = convene_tests::start(convene_tests::test_settings(url)).await;
    let b = TestApp {
        address: b_address,
        client: reqwest::Client::new(),
        backend,
        db: TestDb::Sqlite(tempfile::tempdir().unwrap()),
    };
    let (_, alice_token) = a.user("alice").await;
    let (bob, _) = a.user("bob").await;
    let bob_token = b.access_token("bob").await;
    let mut on_a = connect(&a, &bob_token, "").await;
    let mut on_b = connect(&b, &bob_token, "").await;
    let event = a
        .create_event(&alice_token, "Cross", &slot(14), &half_past(14))
        .await;
    a.share(&alice_token, id_of(&event), bob, "viewer").await;
    let from_b = expect_doc(&mut on_b).await;
    assert_eq!(from_b["type"], "event_shared");
    assert_eq!(expect_doc(&mut on_a).await, from_b);
    // Logout through A closes the socket on B.
    let res = a
        .post("/api/auth/logout", &json!({}), Some(&bob_token))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(close_code(&mut on_b).await, Some(CloseCode::Policy));
}

/// PostgreSQL: `pg_terminate_backend` on the listener's connection; delivery resumes.
async fn listener_recovers_after_its_connection_is_killed(backend: Backend) {
    let app = app!(backend);
    let (_, alice_token) = app.user("alice").await;
    let (bob, bob_token) = app.user("bob").await;
    let mut socket = connect(&app, &bob_token, "").await;
    let event = app
        .create_event(&alice_token, "Resilient", &slot(15), &half_past(15))
        .await;
    let id = id_of(&event);
    app.share(&alice_token, id, bob, "viewer").await;
    assert_eq!(expect_doc(&mut socket).await["type"], "event_shared");

    app.kill_listener();
    // A change committed while the listener is down is still pushed: the listener
    // catches up after reconnecting (with backoff).
    app.patch_event(&alice_token, id, &json!({"title": "During the outage"}))
        .await;
    let missed = expect_doc(&mut socket).await;
    assert_eq!(missed["type"], "event_updated");
    assert_eq!(missed["data"]["title"], "During the outage");
    app.patch_event(&alice_token, id, &json!({"title": "After recovery"}))
        .await;
    assert_eq!(expect_doc(&mut socket).await["type"], "event_updated");
}

/// PostgreSQL: a logout committed while the listener is reconnecting is announced to
/// nobody; the listener re-checks the open sessions once back and closes that socket.
async fn a_logout_while_the_listener_is_away_still_closes_the_socket(backend: Backend) {
    let app = app!(backend);
    let (_, token) = app.user("awaylogout").await;
    let mut socket = connect(&app, &token, "").await;
    app.kill_listener();
    let res = app.post("/api/auth/logout", &json!({}), Some(&token)).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(close_code(&mut socket).await, Some(CloseCode::Policy));
}

/// The heartbeat, with the contract's 30 s / 90 s shortened to 200 ms / 1 s: an attentive
/// client sees pings and stays connected (tungstenite answers them with pongs as it
/// reads); a client that never answers is dropped with 1001.
async fn server_pings_and_drops_silent_peers(backend: Backend) {
    let Some(db) = TestDb::create(backend) else {
        return;
    };
    let heartbeat = convene_http::ws::Heartbeat {
        ping_every: Duration::from_millis(200),
        silence_limit: Duration::from_secs(1),
    };
    let address =
        convene_tests::start_with_heartbeat(convene_tests::test_settings(&db.url()), heartbeat)
            .await;
    let app = TestApp {
        address,
        client: reqwest::Client::new(),
        backend,
        db,
    };
    let (_, token) = app.user("alice").await;
    let mut attentive = connect(&app, &token, "").await;
    let deadline = tokio::time::Instant::now() + Duration::from_millis(2_500);
    let mut pings = 0;
    loop {
        match tokio::time::timeout_at(deadline, attentive.next()).await {
            Err(_) => break,
            Ok(Some(Ok(Message::Ping(_)))) => pings += 1,
            Ok(Some(Ok(Message::Close(frame)))) => panic!("attentive client dropped: {frame:?}"),
            Ok(None) | Ok(Some(Err(_))) => panic!("attentive client disconnected"),
            Ok(Some(Ok(_))) => {}
        }
    }
    assert!(pings >= 5, "{pings} pings in 2.5 s");

    let mut silent = connect(&app, &token, "").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    // The server has given up on it: reading now drains the unanswered pings and ends
    // with the server's close (1001) or, if the close frame raced the teardown, with the
    // connection gone; it never stays open.
    let ended = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(msg) = silent.next().await {
            match msg {
                Ok(Message::Close(frame)) => return frame.map(|f| f.code),
                Ok(_) => {}
                Err(_) => return None,
            }
        }
        None
    })
    .await
    .expect("the silent peer was dropped");
    assert!(matches!(ended, None | Some(CloseCode::Away)), "{ended:?}");
}

/// The second instance of a PostgreSQL test app, on the same database.
async fn second_instance(a: &TestApp) -> TestApp {
    let TestDb::Postgres { url, .. } = &a.db else {
        panic!("a PostgreSQL-only test got a {:?} database", a.backend);
    };
    TestApp {
        address: convene_tests::start(convene_tests::test_settings(url)).await,
        client: reqwest::Client::new(),
        backend: a.backend,
        db: TestDb::Sqlite(tempfile::tempdir().unwrap()),
    }
}

/// PostgreSQL: notification ids commit out of order, and no writer waits for another to
/// keep the feed in order. A transaction that wrote a notification (a smaller id) and is
/// still open holds back a later one (a greater id) that committed meanwhile: neither
/// the live socket nor a replay shows it; once the first commits, both arrive, the
/// smaller id first, and a feed resumed after it continues with the greater one.
async fn a_notification_committed_late_comes_first_and_holds_back_later_ones(backend: Backend) {
    use diesel::connection::SimpleConnection;
    use diesel::{Connection, RunQueryDsl};
    let app = app!(backend);
    let TestDb::Postgres { url, .. } = &app.db else {
        panic!("a PostgreSQL-only test got a {backend:?} database");
    };
    let (alice, alice_token) = app.user("alice").await;
    let (bob, bob_token) = app.user("bob").await;
    let event = app
        .create_event(&alice_token, "Planning", &slot(9), &half_past(9))
        .await;
    let id = id_of(&event);
    let mut live = connect(&app, &bob_token, "").await;
    app.share(&alice_token, id, bob, "viewer").await;
    let shared = id_of(&expect_doc(&mut live).await);

    // A writer's transaction, still open, has written a notification for Bob.
    let mut writer = diesel::PgConnection::establish(url).unwrap();
    writer.batch_execute("BEGIN").unwrap();
    #[derive(diesel::QueryableByName)]
    struct Id {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        id: i64,
    }
    let early: Id = diesel::sql_query(format!(
        "INSERT INTO notifications (user_id, kind, event_id, actor_id, message, created_at) \
         VALUES ({bob}, 'event_updated', {id}, {alice}, 'written first', now()) RETURNING id"
    ))
    .get_result(&mut writer)
    .unwrap();

    // Another change commits meanwhile, at once: nothing serialises the writers.
    let res = tokio::time::timeout(
        Duration::from_secs(5),
        app.patch(
            &format!("/api/events/{id}"),
            &json!({"title": "Planning, moved"}),
            Some(&alice_token),
        ),
    )
    .await
    .expect("a write does not wait for another transaction");
    assert_eq!(res.status(), StatusCode::OK);
    let later = id_of(&app.get_ok("/api/notifications?limit=1", &bob_token).await["items"][0]);
    assert!(later > early.id);

    // Held back: not pushed, not replayed.
    assert!(next_doc(&mut live, Duration::from_millis(700))
        .await
        .is_none());
    let mut resumed = connect(&app, &bob_token, &format!("&since={shared}")).await;
    assert!(next_doc(&mut resumed, Duration::from_millis(300))
        .await
        .is_none());

    writer.batch_execute("COMMIT").unwrap();
    for socket in [&mut live, &mut resumed] {
        assert_eq!(id_of(&expect_doc(socket).await), early.id);
        assert_eq!(id_of(&expect_doc(socket).await), later);
        assert!(next_doc(socket, Duration::from_millis(300)).await.is_none());
    }
    // Resuming after the one committed last, in delivery order, gives the greater id.
    let mut after_early = connect(&app, &bob_token, &format!("&since={}", early.id)).await;
    assert_eq!(id_of(&expect_doc(&mut after_early).await), later);
    assert!(next_doc(&mut after_early, Duration::from_millis(300))
        .await
        .is_none());
    let mut after_later = connect(&app, &bob_token, &format!("&since={later}")).await;
    assert!(next_doc(&mut after_later, Duration::from_millis(300))
        .await
        .is_none());
}

/// The id of the next `event_updated` notification on `socket`. (A share made just
/// before a socket connected may still arrive on it: its notification goes out once
/// every older transaction has ended.)
async fn next_change(socket: &mut Socket) -> i64 {
    loop {
        let doc = expect_doc(socket).await;
        if doc["type"] == "event_updated" {
            return id_of(&doc);
        }
        assert_eq!(doc["type"], "event_shared");
    }
}

/// `count` writers, each owning an event shared with `bob` as viewer: (token, event id).
async fn writers_sharing_with(app: &TestApp, bob: i64, count: usize) -> Vec<(String, i64)> {
    let mut writers = Vec::new();
    for w in 0..count {
        let (_, token) = app.user(&format!("writer_{w}")).await;
        let hour = 8 + u32::try_from(w).unwrap();
        let event = app
            .create_event(
                &token,
                &format!("Writer {w}"),
                &slot(hour),
                &half_past(hour),
            )
            .await;
        app.share(&token, id_of(&event), bob, "viewer").await;
        writers.push((token, id_of(&event)));
    }
    writers
}

/// Every writer renames its event `changes` times, all writers at once; writer `w`
/// goes through `apps[w % apps.len()]`.
async fn write_concurrently(apps: &[&TestApp], writers: Vec<(String, i64)>, changes: usize) {
    let tasks: Vec<_> = writers
        .into_iter()
        .enumerate()
        .map(|(w, (token, id))| {
            let app = apps[w % apps.len()];
            let (client, url) = (app.client.clone(), app.url(&format!("/api/events/{id}")));
            tokio::spawn(async move {
                for i in 0..changes {
                    let res = client
                        .patch(&url)
                        .bearer_auth(&token)
                        .json(&json!({"title": format!("Writer {w}, change {i}")}))
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(res.status(), 200);
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
}

/// PostgreSQL: four writers on two instances change events shared with Bob at once. Bob's
/// sockets on both instances receive every notification once, in one and the same order
/// (the delivery order), and a socket resuming from any point of it receives exactly the
/// rest, in that order.
async fn concurrent_writers_on_two_instances_deliver_one_order(backend: Backend) {
    const WRITERS: usize = 4;
    const CHANGES: usize = 12;
    let a = app!(backend);
    let b = second_instance(&a).await;
    let (bob, bob_token) = a.user("bob").await;
    let writers = writers_sharing_with(&a, bob, WRITERS).await;
    let mut on_a = connect(&a, &bob_token, "").await;
    let mut on_b = connect(&b, &bob_token, "").await;
    write_concurrently(&[&a, &b], writers, CHANGES).await;
    let total = WRITERS * CHANGES;
    let mut orders = Vec::new();
    for socket in [&mut on_a, &mut on_b] {
        let mut order = Vec::new();
        while order.len() < total {
            order.push(next_change(socket).await);
        }
        assert!(next_doc(socket, Duration::from_millis(300)).await.is_none());
        let unique: HashSet<i64> = order.iter().copied().collect();
        assert_eq!(unique.len(), total, "duplicates in {order:?}");
        orders.push(order);
    }
    assert_eq!(orders[0], orders[1], "both instances deliver one order");
    for cut in [0, total / 3, total - 1] {
        let since = orders[0][cut];
        let app = if cut % 2 == 0 { &a } else { &b };
        let mut resumed = connect(app, &bob_token, &format!("&since={since}")).await;
        let mut rest = Vec::new();
        while rest.len() < total - cut - 1 {
            rest.push(next_change(&mut resumed).await);
        }
        assert!(next_doc(&mut resumed, Duration::from_millis(300))
            .await
            .is_none());
        assert_eq!(rest, orders[0][cut + 1..], "resumed after {since}");
    }
}

/// Four writers change events shared with Bob at once, on one instance. His socket
/// receives every notification once, in the order a replay from the start gives (SQLite:
/// id order), so that resuming after any of them loses and repeats nothing.
async fn concurrent_writers_deliver_live_in_replay_order(backend: Backend) {
    const WRITERS: usize = 4;
    const CHANGES: usize = 25;
    let app = app!(backend);
    let (bob, bob_token) = app.user("bob").await;
    let writers = writers_sharing_with(&app, bob, WRITERS).await;
    let mut live = connect(&app, &bob_token, "").await;
    write_concurrently(&[&app], writers, CHANGES).await;
    let total = WRITERS * CHANGES;
    let mut order = Vec::new();
    while order.len() < total {
        order.push(next_change(&mut live).await);
    }
    let mut replay = connect(&app, &bob_token, "&since=0").await;
    let mut replayed = Vec::new();
    while replayed.len() < total {
        replayed.push(next_change(&mut replay).await);
    }
    assert_eq!(order, replayed, "live order is the replay order");
    if backend == Backend::Sqlite {
        assert!(order.windows(2).all(|w| w[0] < w[1]), "id order: {order:?}");
    }
}

/// The `convene_live_listener_polling` gauge of the instance at `address`.
async fn listener_polling(client: &reqwest::Client, address: &str) -> Option<f64> {
    let res = client
        .get(format!("{address}/metrics"))
        .send()
        .await
        .unwrap();
    res.text().await.unwrap().lines().find_map(|line| {
        line.strip_prefix("convene_live_listener_polling ")?
            .parse()
            .ok()
    })
}

/// Waits (up to `within`) until the listener's gauge reads `value`; `what` names it.
async fn until_gauge(app: &TestApp, value: f64, within: Duration, what: &str) {
    let started = std::time::Instant::now();
    while listener_polling(&app.client, &app.address).await != Some(value) {
        assert!(started.elapsed() < within, "{what}");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// Watches the listener's gauge (every millisecond, until stopped) for a 1.
struct GaugeWatch {
    done: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<bool>,
}

impl GaugeWatch {
    fn start(app: &TestApp) -> Self {
        let (done, mut stop) = tokio::sync::oneshot::channel::<()>();
        let (client, address) = (app.client.clone(), app.address.clone());
        let task = tokio::spawn(async move {
            let mut polling = false;
            while stop.try_recv().is_err() {
                polling |= listener_polling(&client, &address).await == Some(1.0);
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            polling
        });
        Self { done, task }
    }

    /// Whether the listener was seen reading on a timer.
    async fn stop(self) -> bool {
        let _ = self.done.send(());
        self.task.await.unwrap()
    }
}

/// PostgreSQL: while writes come close together the listener stops listening for
/// announcements and reads the feed on a timer (`convene_live_listener_polling` is 1);
/// every notification still arrives once, in replay order. Once writes stop it listens
/// again (0), and a lone write after that is pushed at once.
async fn a_busy_listener_reads_on_a_timer_then_listens_again(backend: Backend) {
    const WRITERS: usize = 4;
    const CHANGES: usize = 25;
    let app = app!(backend);
    let (bob, bob_token) = app.user("bob").await;
    let writers = writers_sharing_with(&app, bob, WRITERS).await;
    let lone = writers[0].clone();
    let mut live = connect(&app, &bob_token, "").await;
    // The setup's writes came close together too: the listener listens again first.
    let until_listening = || {
        until_gauge(
            &app,
            0.0,
            Duration::from_secs(5),
            "the listener did not listen again",
        )
    };
    until_listening().await;

    let watch = GaugeWatch::start(&app);
    write_concurrently(&[&app], writers, CHANGES).await;
    assert!(
        watch.stop().await,
        "the busy listener never read on a timer"
    );

    let total = WRITERS * CHANGES;
    let mut order = Vec::new();
    while order.len() < total {
        order.push(next_change(&mut live).await);
    }
    assert!(next_doc(&mut live, Duration::from_millis(300))
        .await
        .is_none());
    let mut replay = connect(&app, &bob_token, "&since=0").await;
    let mut replayed = Vec::new();
    while replayed.len() < total {
        replayed.push(next_change(&mut replay).await);
    }
    assert_eq!(order, replayed, "live order is the replay order");

    until_listening().await;
    let (token, id) = lone;
    app.patch_event(&token, id, &json!({"title": "Alone"}))
        .await;
    let doc = expect_doc(&mut live).await;
    assert_eq!(doc["type"], "event_updated");
    assert_eq!(doc["data"]["title"], "Alone");
}

/// PostgreSQL: while writes keep the listener reading on a timer (not listening, so the
/// logout's announcement reaches nobody), a logout still closes the session's socket
/// (1008) within a few seconds, the writes going on: the listener checks its open
/// sessions every second. (On a loaded machine the listener may also listen again for
/// a moment meanwhile, and check the sessions then: which of the two closed the socket
/// is not observed here.)
async fn a_logout_while_the_listener_reads_on_a_timer_still_closes_the_socket(backend: Backend) {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let app = app!(backend);
    let (carol, _) = app.user("carol").await;
    let writers = writers_sharing_with(&app, carol, 8).await;

    // Every writer renames its event over and over, each at its own pace, until told.
    let stop = Arc::new(AtomicBool::new(false));
    let writing: Vec<_> = writers
        .into_iter()
        .map(|(token, id)| {
            let (stop, client) = (stop.clone(), app.client.clone());
            let url = app.url(&format!("/api/events/{id}"));
            tokio::spawn(async move {
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) {
                    let res = client
                        .patch(&url)
                        .bearer_auth(&token)
                        .json(&json!({"title": format!("Change {i}")}))
                        .send()
                        .await
                        .unwrap();
                    let status = res.status();
                    assert_eq!(status, 200, "{}", res.text().await.unwrap());
                    i += 1;
                }
            })
        })
        .collect();
    let (_, token) = app.user("leaving").await;
    let mut socket = connect(&app, &token, "").await;
    until_gauge(
        &app,
        1.0,
        Duration::from_secs(10),
        "the listener never read on a timer",
    )
    .await;
    let res = app.post("/api/auth/logout", &json!({}), Some(&token)).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let closed = tokio::time::timeout(Duration::from_secs(5), close_code(&mut socket))
        .await
        .expect("the socket was closed while the writes went on");
    assert_eq!(closed, Some(CloseCode::Policy));
    stop.store(true, Ordering::Relaxed);
    for writer in writing {
        writer.await.unwrap();
    }
}
