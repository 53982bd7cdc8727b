//! Batch creation: request order, atomic conflicts and validation, size limits.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeSet, HashSet};

use convene_tests::{
    app, assert_event_read, assert_problem, backend_tests, event_input, field_errors, id_of, ids,
    list_event_ids, list_events, slot, Backend, StatusCode,
};
use serde_json::{json, Value};

backend_tests!(
    batch_creates_in_request_order,
    batch_conflicts_are_atomic,
    batch_validation_is_atomic,
    batch_size_limits,
);

async fn batch_creates_in_request_order(backend: Backend) {
    let app = app!(backend);
    let (owner, token) = app.user("batcher").await;
    let res = app
        .post_batch(
            &token,
            vec![
                event_input("third", &slot(14), &slot(15)),
                json!({"title": "first", "description": "d", "location": "L",
                   "start_time": "2030-01-01T12:00:00+02:00", "end_time": slot(11)}),
                event_input("second", &slot(12), &slot(13)),
                // Touching items do not conflict.
                event_input("touching", &slot(13), &slot(14)),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let created: Vec<Value> = res.json().await.unwrap();
    assert_eq!(created.len(), 4);
    let titles: Vec<&str> = created
        .iter()
        .map(|e| e["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["third", "first", "second", "touching"]);
    for e in &created {
        assert_event_read(e);
        assert_eq!(e["version"], 1);
        assert_eq!(e["owner_id"], owner);
        assert_eq!(e["role"], "owner");
    }
    assert_eq!(created[1]["start_time"], slot(10));
    assert_eq!(created[1]["description"], "d");
    assert_eq!(created[1]["location"], "L");
    assert_eq!(created[0]["description"], "");
    assert_eq!(created[0]["location"], Value::Null);
    let unique: HashSet<i64> = ids(&created).into_iter().collect();
    assert_eq!(unique.len(), 4);
    // All stored and readable.
    let listed = list_event_ids(&app, &token, "").await;
    assert_eq!(
        listed,
        vec![
            id_of(&created[1]),
            id_of(&created[2]),
            id_of(&created[3]),
            id_of(&created[0])
        ]
    );
    for e in &created {
        let read = app
            .get_ok(&format!("/api/events/{}", id_of(e)), &token)
            .await;
        assert_eq!(&read, e);
    }
}

fn conflict_indices(problem: &Value) -> BTreeSet<i64> {
    problem["conflicts"]
        .as_array()
        .unwrap_or_else(|| panic!("conflicts in {problem}"))
        .iter()
        .map(|c| {
            c["index"]
                .as_i64()
                .unwrap_or_else(|| panic!("index in conflict {c}"))
        })
        .collect()
}

async fn batch_conflicts_are_atomic(backend: Backend) {
    let app = app!(backend);
    let (_, token) = app.user("batchclash").await;
    let stored = app
        .create_event(&token, "Stored", &slot(20), &slot(21))
        .await;
    let before = list_event_ids(&app, &token, "").await;

    // Two items overlap each other.
    let res = app
        .post_batch(
            &token,
            vec![
                event_input("a", &slot(10), &slot(11)),
                event_input("b", &slot(12), &slot(13)),
                event_input("c", "2030-01-01T10:30:00Z", "2030-01-01T11:30:00Z"),
            ],
        )
        .await;
    let problem = assert_problem(res, StatusCode::CONFLICT, "event_conflict").await;
    let indices = conflict_indices(&problem);
    assert!(!indices.is_empty());
    assert!(
        indices.is_subset(&BTreeSet::from([0, 2])),
        "only items 0 and 2 overlap: {problem}"
    );
    assert_eq!(list_event_ids(&app, &token, "").await, before);

    // An item overlaps a stored event.
    let res = app
        .post_batch(
            &token,
            vec![
                event_input("ok", &slot(18), &slot(19)),
                event_input("clash", "2030-01-01T20:30:00Z", "2030-01-01T21:30:00Z"),
                event_input("ok too", &slot(22), &slot(23)),
            ],
        )
        .await;
    let problem = assert_problem(res, StatusCode::CONFLICT, "event_conflict").await;
    let conflicts = problem["conflicts"].as_array().unwrap();
    assert_eq!(conflicts.len(), 1, "{problem}");
    assert_eq!(conflicts[0]["index"], 1);
    assert_eq!(conflicts[0]["id"], stored["id"]);
    assert_eq!(conflicts[0]["title"], "Stored");
    assert_eq!(conflicts[0]["start_time"], slot(20));
    assert_eq!(conflicts[0]["end_time"], slot(21));
    assert_eq!(list_event_ids(&app, &token, "").await, before);
    // The free items of the failed batches were not stored: their slots are free.
    app.create_event(&token, "free", &slot(18), &slot(19)).await;
    app.create_event(&token, "free", &slot(10), &slot(11)).await;
}

async fn batch_validation_is_atomic(backend: Backend) {
    let app = app!(backend);
    let (_, token) = app.user("batchval").await;
    let res = app
        .post_batch(
            &token,
            vec![
                event_input("ok", &slot(1), &slot(2)),
                event_input("", &slot(3), &slot(4)),
                event_input("ok", &slot(5), &slot(6)),
                event_input("bad range", &slot(8), &slot(7)),
                json!({"title": "no times"}),
            ],
        )
        .await;
    let problem = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    let got = field_errors(&problem);
    let want: Vec<(Option<i64>, String)> = vec![
        (Some(1), "events[1].title".into()),
        (Some(3), "events[3].end_time".into()),
        (Some(4), "events[4].end_time".into()),
        (Some(4), "events[4].start_time".into()),
    ];
    assert_eq!(got, want, "{problem}");
    assert!(list_event_ids(&app, &token, "").await.is_empty());

    // Unparsable timestamps in one item and rule violations in another: all reported.
    let res = app.post_batch(&token,
        vec![
            event_input("ok", "half past ten", &slot(2)),
            event_input(" ", &slot(3), &slot(4)),
            json!({"title": "x", "location": "l".repeat(501), "start_time": slot(5), "end_time": slot(6)}),
        ],
    )
    .await;
    let problem = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    let want: Vec<(Option<i64>, String)> = vec![
        (Some(0), "events[0].start_time".into()),
        (Some(1), "events[1].title".into()),
        (Some(2), "events[2].location".into()),
    ];
    assert_eq!(field_errors(&problem), want, "{problem}");
    assert!(list_event_ids(&app, &token, "").await.is_empty());

    // Every problem is listed, up to 100: 90 items without a title.
    let untitled: Vec<Value> = (0..90)
        .map(|h| json!({"start_time": slot(h), "end_time": slot(h + 1)}))
        .collect();
    let res = app.post_batch(&token, untitled).await;
    let problem = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    let got = field_errors(&problem);
    assert_eq!(got.len(), 90, "{}", problem["detail"]);
    assert!(got
        .iter()
        .enumerate()
        .all(|(i, (index, field))| *index == Some(i as i64)
            && *field == format!("events[{i}].title")));
    assert!(list_event_ids(&app, &token, "").await.is_empty());

    // Empty batch.
    let res = app.post_batch(&token, vec![]).await;
    assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert!(list_event_ids(&app, &token, "").await.is_empty());
}

async fn batch_size_limits(backend: Backend) {
    let app = app!(backend);
    let (_, token) = app.user("bigbatch").await;
    let items = |n: u32| -> Vec<Value> {
        (0..n)
            .map(|h| event_input(&format!("h{h}"), &slot(h), &slot(h + 1)))
            .collect()
    };
    let res = app.post_batch(&token, items(501)).await;
    assert_problem(res, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
    assert!(list_event_ids(&app, &token, "").await.is_empty());

    let res = app.post_batch(&token, items(500)).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let created: Vec<Value> = res.json().await.unwrap();
    assert_eq!(created.len(), 500);
    for (h, e) in created.iter().enumerate() {
        assert_eq!(e["title"], format!("h{h}"));
        assert_eq!(e["start_time"], slot(h as u32));
        assert_eq!(e["version"], 1);
    }
    let (all, pages) = list_events(&app, &token, "", 200).await;
    assert_eq!(all.len(), 500);
    assert_eq!(pages, 3);
    assert_eq!(ids(&all), ids(&created));
}
