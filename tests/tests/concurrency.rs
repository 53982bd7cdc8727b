//! Concurrent writes: racing creates, moves and `If-Match` updates let exactly one
//! through, also across two server instances on one database; racing shares and
//! deletes never answer 500.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use convene_tests::{
    app, backend_tests, id_of, list_event_ids, query_escape, race, slot, Backend, StatusCode,
};
use reqwest::Method;
use serde_json::json;

backend_tests!(
    concurrent_overlapping_creates_one_wins,
    concurrent_if_match_updates_one_wins,
    concurrent_updates_without_if_match_all_apply,
    concurrent_moves_and_creates_onto_one_slot_one_wins,
    two_instances_share_the_conflict_guard,
    concurrent_shares_of_one_user_all_succeed,
    a_share_racing_a_delete_is_200_or_404,
    shares_racing_moves_and_revokes_keep_grants_true;
    postgres_only:
    instances_starting_together_on_a_fresh_database_all_start,
);

/// Four instances start at the same moment on a database no migration has touched: the
/// advisory lock lets one migrate while the others wait, and every one serves.
async fn instances_starting_together_on_a_fresh_database_all_start(backend: Backend) {
    let Some(db) = convene_tests::TestDb::create(backend) else {
        return;
    };
    let starts: Vec<_> = (0..4)
        .map(|_| {
            tokio::spawn(convene_tests::start(convene_tests::test_settings(
                &db.url(),
            )))
        })
        .collect();
    let client = reqwest::Client::new();
    for start in starts {
        let address = start.await.expect("every instance starts");
        let res = client
            .get(format!("{address}/readyz"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
    }
}

async fn concurrent_overlapping_creates_one_wins(backend: Backend) {
    let app = app!(backend);
    let (_, token) = app.user("racer").await;
    let requests = (0..20)
        .map(|i| {
            // Every pair overlaps: all start within 19 minutes and last an hour.
            app.request(Method::POST, "/api/events")
                .bearer_auth(&token)
                .json(&json!({"title": format!("race {i}"),
                              "start_time": format!("2030-01-01T10:{i:02}:00Z"),
                              "end_time": format!("2030-01-01T11:{i:02}:00Z")}))
        })
        .collect();
    let mut created = 0;
    let mut conflicts = 0;
    for (status, body) in race(requests).await {
        match status {
            StatusCode::CREATED => created += 1,
            StatusCode::CONFLICT => {
                assert_eq!(body["code"], "event_conflict");
                conflicts += 1;
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!((created, conflicts), (1, 19));
    assert_eq!(list_event_ids(&app, &token, "").await.len(), 1);
}

async fn concurrent_if_match_updates_one_wins(backend: Backend) {
    let app = app!(backend);
    let (_, token) = app.user("writer").await;
    let event = app.create_event(&token, "v1", &slot(1), &slot(2)).await;
    let path = format!("/api/events/{}", id_of(&event));
    let requests = (0..10)
        .map(|i| {
            app.request(Method::PATCH, &path)
                .bearer_auth(&token)
                .header("if-match", "\"1\"")
                .json(&json!({"title": format!("writer {i}")}))
        })
        .collect();
    let mut winners = Vec::new();
    let mut refused = 0;
    for (i, (status, body)) in race(requests).await.into_iter().enumerate() {
        match status {
            StatusCode::OK => {
                assert_eq!(body["version"], 2);
                winners.push(i);
            }
            StatusCode::PRECONDITION_FAILED => {
                assert_eq!(body["code"], "precondition_failed");
                assert_eq!(body["current_etag"], "\"2\"");
                refused += 1;
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one winner");
    assert_eq!(refused, 9);
    let read = app.get_ok(&path, &token).await;
    assert_eq!(read["version"], 2);
    assert_eq!(read["title"], format!("writer {}", winners[0]));
}

/// Without `If-Match`, concurrent updates of one event all apply, one after the other
/// (none is refused because another was first): twelve renames and twelve moves to free
/// slots give 24 versions, each answered once.
async fn concurrent_updates_without_if_match_all_apply(backend: Backend) {
    let app = app!(backend);
    let (_, token) = app.user("writer").await;
    let event = app.create_event(&token, "v1", &slot(1), &slot(2)).await;
    let path = format!("/api/events/{}", id_of(&event));
    let renames = (0..12).map(|i| json!({"description": format!("d{i}")}));
    let moves =
        (0..12).map(|i| json!({"start_time": slot(20 + 2 * i), "end_time": slot(21 + 2 * i)}));
    let requests = renames
        .chain(moves)
        .map(|body| {
            app.request(Method::PATCH, &path)
                .bearer_auth(&token)
                .json(&body)
        })
        .collect();
    let mut versions: Vec<i64> = race(requests)
        .await
        .into_iter()
        .map(|(status, body)| {
            assert_eq!(status, StatusCode::OK, "{body}");
            body["version"].as_i64().unwrap()
        })
        .collect();
    versions.sort_unstable();
    assert_eq!(versions, (2..=25).collect::<Vec<_>>());
    assert_eq!(app.get_ok(&path, &token).await["version"], 25);
}

async fn concurrent_moves_and_creates_onto_one_slot_one_wins(backend: Backend) {
    let app = app!(backend);
    let (_, token) = app.user("mover_race").await;
    let mut requests = Vec::new();
    for i in 0..10 {
        let e = app
            .create_event(&token, &format!("m{i}"), &slot(2 * i), &slot(2 * i + 1))
            .await;
        // Move every event onto [100, 101) (overlapping one another by minutes).
        requests.push(
            app.request(Method::PATCH, &format!("/api/events/{}", id_of(&e)))
                .bearer_auth(&token)
                .json(&json!({"start_time": format!("2030-01-05T04:{i:02}:00Z"),
                              "end_time": format!("2030-01-05T05:{i:02}:00Z")})),
        );
        // And create new events there too.
        requests.push(
            app.request(Method::POST, "/api/events")
                .bearer_auth(&token)
                .json(&json!({"title": format!("c{i}"),
                              "start_time": format!("2030-01-05T04:{:02}:00Z", 30 + i),
                              "end_time": format!("2030-01-05T05:{:02}:00Z", 30 + i)})),
        );
    }
    let results = race(requests).await;
    let mut wins = 0;
    for (status, body) in &results {
        match *status {
            StatusCode::OK | StatusCode::CREATED => wins += 1,
            StatusCode::CONFLICT => assert_eq!(body["code"], "event_conflict"),
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!(wins, 1, "exactly one write lands in the contested hour");
    let in_slot = list_event_ids(
        &app,
        &token,
        &format!(
            "from={}&to={}",
            query_escape(&slot(100)),
            query_escape(&slot(102))
        ),
    )
    .await;
    assert_eq!(in_slot.len(), 1);
    assert_eq!(
        list_event_ids(&app, &token, "").await.len(),
        10 + usize::from(results.iter().any(|(s, _)| *s == StatusCode::CREATED),)
    );
}

/// Two servers on one database, 50 rounds: 10 overlapping creates raced across both let
/// exactly one through, then 10 `If-Match` PATCHes of that event with the same ETag
/// let exactly one through.
async fn two_instances_share_the_conflict_guard(backend: Backend) {
    let app = app!(backend);
    let second = convene_tests::start(convene_tests::test_settings(&app.db.url())).await;
    let (_, token) = app.user("two_servers").await;
    let instances = [app.address.clone(), second];
    for round in 0..50 {
        let day = format!("2030-02-{:02}", 1 + round % 28);
        let hour = 2 * (round / 28);
        let creates = (0..10)
            .map(|i| {
                app.client
                    .post(format!("{}/api/events", instances[i % 2]))
                    .bearer_auth(&token)
                    .json(&json!({"title": format!("r{round}c{i}"),
                                  "start_time": format!("{day}T{hour:02}:{i:02}:00Z"),
                                  "end_time": format!("{day}T{:02}:{i:02}:00Z", hour + 1)}))
            })
            .collect();
        let mut winner = None;
        for (status, body) in race(creates).await {
            match status {
                StatusCode::CREATED => {
                    assert!(winner.is_none(), "round {round}: a second create won");
                    winner = Some(id_of(&body));
                }
                StatusCode::CONFLICT => assert_eq!(body["code"], "event_conflict"),
                other => panic!("round {round}: unexpected {other}: {body}"),
            }
        }
        let id = winner.unwrap_or_else(|| panic!("round {round}: no create won"));
        let patches = (0..10)
            .map(|i| {
                app.client
                    .patch(format!("{}/api/events/{id}", instances[i % 2]))
                    .bearer_auth(&token)
                    .header("if-match", "\"1\"")
                    .json(&json!({"title": format!("r{round}p{i}")}))
            })
            .collect();
        let mut updated = 0;
        for (status, body) in race(patches).await {
            match status {
                StatusCode::OK => updated += 1,
                StatusCode::PRECONDITION_FAILED => {
                    assert_eq!(body["code"], "precondition_failed");
                }
                other => panic!("round {round}: unexpected {other}: {body}"),
            }
        }
        assert_eq!(updated, 1, "round {round}: exactly one PATCH wins");
    }
    assert_eq!(list_event_ids(&app, &token, "").await.len(), 50);
    assert_eq!(app.count_rows("event_versions"), 100);
}

async fn concurrent_shares_of_one_user_all_succeed(backend: Backend) {
    let app = app!(backend);
    let (_, owner) = app.user("sharerace").await;
    let (bob, bob_token) = app.user("sharedbob").await;
    for round in 0..5 {
        let event = app
            .create_event(&owner, &format!("r{round}"), &slot(round), &slot(round + 1))
            .await;
        let path = format!("/api/events/{}/share", id_of(&event));
        let requests = (0..10)
            .map(|i| {
                let role = if i % 2 == 0 { "editor" } else { "viewer" };
                app.request(Method::POST, &path)
                    .bearer_auth(&owner)
                    .json(&json!([{"user_id": bob, "role": role}]))
            })
            .collect();
        for (status, body) in race(requests).await {
            assert_eq!(status, StatusCode::OK, "{body}");
            assert_eq!(body[0]["user_id"], bob);
        }
        let read = app
            .get_ok(&format!("/api/events/{}", id_of(&event)), &bob_token)
            .await;
        assert!(
            read["role"] == "editor" || read["role"] == "viewer",
            "{read}"
        );
        // One grant was made, so Bob was told once that it was shared.
        let kinds = kinds_for(&app, &bob_token, id_of(&event)).await;
        assert_eq!(
            kinds.iter().filter(|k| *k == "event_shared").count(),
            1,
            "{kinds:?}"
        );
    }
}

/// The types of `token`'s user's notifications about `event`, oldest first.
async fn kinds_for(app: &convene_tests::TestApp, token: &str, event: i64) -> Vec<String> {
    let inbox = app.get_ok("/api/notifications?limit=200", token).await;
    let mut kinds: Vec<String> = inbox["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["event_id"] == event)
        .map(|n| n["type"].as_str().unwrap().to_owned())
        .collect();
    kinds.reverse();
    kinds
}

async fn a_share_racing_a_delete_is_200_or_404(backend: Backend) {
    let app = app!(backend);
    let (_, owner) = app.user("deleterace").await;
    let (bob, bob_token) = app.user("deletebob").await;
    for round in 0..10 {
        let event = app
            .create_event(&owner, &format!("d{round}"), &slot(round), &slot(round + 1))
            .await;
        let id = id_of(&event);
        let mut requests: Vec<_> = (0..4)
            .map(|_| {
                app.request(Method::POST, &format!("/api/events/{id}/share"))
                    .bearer_auth(&owner)
                    .json(&json!([{"user_id": bob, "role": "viewer"}]))
            })
            .collect();
        requests.insert(
            2,
            app.request(Method::DELETE, &format!("/api/events/{id}"))
                .bearer_auth(&owner),
        );
        let results = race(requests).await;
        assert_eq!(results[2].0, StatusCode::NO_CONTENT, "{results:?}");
        for (status, body) in results {
            assert!(
                [
                    StatusCode::OK,
                    StatusCode::NOT_FOUND,
                    StatusCode::NO_CONTENT
                ]
                .contains(&status),
                "{status} {body}"
            );
        }
        // A participant when it was deleted, Bob is told of the deletion.
        let kinds = kinds_for(&app, &bob_token, id).await;
        if kinds.contains(&"event_shared".to_owned()) {
            assert_eq!(
                kinds.last().map(String::as_str),
                Some("event_deleted"),
                "{kinds:?}"
            );
        }
    }
}

/// A share racing a move of the event: the new grantee finds the event where it now is
/// (the grant's copy of its times is written after the move), in the list and in the
/// occurrences; a role change racing a revoke leaves no grant behind, whichever goes first.
async fn shares_racing_moves_and_revokes_keep_grants_true(backend: Backend) {
    let app = app!(backend);
    let (_, owner) = app.user("mover").await;
    let (bob, bob_token) = app.user("grantee").await;
    for round in 0..12u32 {
        let event = app
            .create_event(&owner, &format!("m{round}"), &slot(round), &slot(round + 1))
            .await;
        let id = id_of(&event);
        let (start, end) = (slot(300 + round), slot(301 + round));
        let requests = vec![
            app.request(Method::PATCH, &format!("/api/events/{id}"))
                .bearer_auth(&owner)
                .json(&json!({"start_time": start, "end_time": end})),
            app.request(Method::POST, &format!("/api/events/{id}/share"))
                .bearer_auth(&owner)
                .json(&json!([{"user_id": bob, "role": "viewer"}])),
        ];
        for (status, body) in race(requests).await {
            assert_eq!(status, StatusCode::OK, "{body}");
        }
        let window = format!("from={}&to={}", query_escape(&start), query_escape(&end));
        assert_eq!(
            list_event_ids(&app, &bob_token, &window).await,
            [id],
            "round {round}"
        );
        let occurrences = app
            .get_ok(&format!("/api/occurrences?{window}"), &bob_token)
            .await;
        assert_eq!(occurrences["items"][0]["event_id"], id, "round {round}");

        let requests = vec![
            app.request(Method::PUT, &format!("/api/events/{id}/permissions/{bob}"))
                .bearer_auth(&owner)
                .json(&json!({"role": "editor"})),
            app.request(
                Method::DELETE,
                &format!("/api/events/{id}/permissions/{bob}"),
            )
            .bearer_auth(&owner),
        ];
        for (status, body) in race(requests).await {
            assert!(
                [
                    StatusCode::OK,
                    StatusCode::NO_CONTENT,
                    StatusCode::NOT_FOUND
                ]
                .contains(&status),
                "{status} {body}"
            );
        }
        let res = app
            .get(&format!("/api/events/{id}"), Some(&bob_token))
            .await;
        assert_eq!(
            res.status(),
            StatusCode::NOT_FOUND,
            "round {round}: the grant came back"
        );
    }
}
