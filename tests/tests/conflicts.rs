//! Conflict detection: an owner's events never overlap (half-open ranges), checked on
//! create and update, against the owner's calendar also when an editor writes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::time::Duration;

use diesel::{Connection, PgConnection, RunQueryDsl};

use convene_tests::{
    app, assert_problem, backend_tests, event_input, id_of, ids, list_event_ids, query_escape,
    slot, Backend, StatusCode,
};
use serde_json::{json, Value};

backend_tests!(
    touching_events_do_not_conflict,
    overlapping_creates_conflict,
    conflicts_are_per_owner,
    editor_moves_are_checked_against_the_owners_calendar,
    updates_are_conflict_checked,
    a_long_event_conflicts_with_many,
    the_database_refuses_overlaps_written_around_the_server;
    postgres_only:
    a_racing_writer_around_the_server_waits_and_is_refused,
);

async fn touching_events_do_not_conflict(backend: Backend) {
    let app = app!(backend);
    let (_, token) = app.user("toucher").await;
    app.create_event(&token, "a", &slot(10), &slot(11)).await;
    app.create_event(&token, "b", &slot(11), &slot(12)).await;
    app.create_event(&token, "c", &slot(9), &slot(10)).await;
    // Microsecond-precise touching.
    app.create_event(
        &token,
        "d",
        "2030-01-01T12:00:00Z",
        "2030-01-01T12:00:00.000001Z",
    )
    .await;
    app.create_event(
        &token,
        "e",
        "2030-01-01T12:00:00.000001Z",
        "2030-01-01T12:30:00Z",
    )
    .await;
    assert_eq!(list_event_ids(&app, &token, "").await.len(), 5);
}

fn assert_conflicts(problem: &Value, expected: &[&Value]) {
    let conflicts = problem["conflicts"]
        .as_array()
        .unwrap_or_else(|| panic!("conflicts in {problem}"));
    let mut got: Vec<(i64, Value, Value, Value)> = conflicts
        .iter()
        .map(|c| {
            // Outside a batch, exactly the documented members.
            convene_tests::assert_members(
                c,
                &["id", "recurrence_id", "title", "start_time", "end_time"],
                "conflict",
            );
            (
                c["id"].as_i64().unwrap_or_else(|| panic!("id in {c}")),
                c["title"].clone(),
                c["start_time"].clone(),
                c["end_time"].clone(),
            )
        })
        .collect();
    got.sort_by_key(|g| g.0);
    let mut want: Vec<(i64, Value, Value, Value)> = expected
        .iter()
        .map(|e| {
            (
                id_of(e),
                e["title"].clone(),
                e["start_time"].clone(),
                e["end_time"].clone(),
            )
        })
        .collect();
    want.sort_by_key(|w| w.0);
    assert_eq!(got, want, "conflicts of {problem}");
}

async fn overlapping_creates_conflict(backend: Backend) {
    let app = app!(backend);
    let (_, token) = app.user("overlap").await;
    let standup = app
        .create_event(&token, "Standup", &slot(10), &slot(11))
        .await;
    let lunch = app
        .create_event(&token, "Lunch", &slot(12), &slot(13))
        .await;
    let cases: Vec<(&str, &str, Vec<&Value>)> = vec![
        (
            "2030-01-01T10:30:00Z",
            "2030-01-01T11:30:00Z",
            vec![&standup],
        ),
        (
            "2030-01-01T09:30:00Z",
            "2030-01-01T10:00:00.000001Z",
            vec![&standup],
        ),
        // Identical range.
        (
            "2030-01-01T10:00:00Z",
            "2030-01-01T11:00:00Z",
            vec![&standup],
        ),
        // Containment, both ways.
        (
            "2030-01-01T09:00:00Z",
            "2030-01-01T12:00:00Z",
            vec![&standup],
        ),
        (
            "2030-01-01T10:15:00Z",
            "2030-01-01T10:45:00Z",
            vec![&standup],
        ),
        // Spanning two events.
        (
            "2030-01-01T10:59:59Z",
            "2030-01-01T12:00:01Z",
            vec![&standup, &lunch],
        ),
        (
            "2030-01-01T08:00:00Z",
            "2030-01-01T20:00:00Z",
            vec![&standup, &lunch],
        ),
    ];
    for (start, end, expected) in cases {
        let res = app
            .create_event_raw(
                &token,
                json!({"title": "clash", "start_time": start, "end_time": end}),
            )
            .await;
        let problem = assert_problem(res, StatusCode::CONFLICT, "event_conflict").await;
        assert_conflicts(&problem, &expected);
    }
    assert_eq!(
        list_event_ids(&app, &token, "").await,
        vec![id_of(&standup), id_of(&lunch)]
    );
    // The gap between them is free.
    app.create_event(&token, "gap", &slot(11), &slot(12)).await;
}

async fn conflicts_are_per_owner(backend: Backend) {
    let app = app!(backend);
    let (a_id, a) = app.user("owner_a").await;
    let (_, b) = app.user("owner_b").await;
    let ea = app.create_event(&a, "A's", &slot(10), &slot(11)).await;
    let eb = app.create_event(&b, "B's", &slot(10), &slot(11)).await;
    assert_ne!(id_of(&ea), id_of(&eb));
    // Even when B's event is shared with A, A's own calendar is what counts.
    app.share(&b, id_of(&eb), a_id, "editor").await;
    app.create_event(&a, "A's second", &slot(11), &slot(12))
        .await;
    let res = app.create_event_raw(&a,
        json!({"title": "clash", "start_time": "2030-01-01T10:30:00Z", "end_time": "2030-01-01T10:40:00Z"}),
    )
    .await;
    let problem = assert_problem(res, StatusCode::CONFLICT, "event_conflict").await;
    assert_conflicts(&problem, &[&ea]);
}

async fn editor_moves_are_checked_against_the_owners_calendar(backend: Backend) {
    let app = app!(backend);
    let (_, owner) = app.user("cal_owner").await;
    let (editor_id, editor) = app.user("cal_editor").await;
    let moved = app
        .create_event(&owner, "Moved", &slot(10), &slot(11))
        .await;
    let blocker = app
        .create_event(&owner, "Blocker", &slot(16), &slot(17))
        .await;
    app.share(&owner, id_of(&moved), editor_id, "editor").await;
    let own = app
        .create_event(&editor, "Editor's own", &slot(14), &slot(15))
        .await;
    let path = format!("/api/events/{}", id_of(&moved));

    // Onto the editor's own event: fine, the owner has nothing there.
    let res = app
        .patch(
            &path,
            &json!({"start_time": slot(14), "end_time": slot(15)}),
            Some(&editor),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let read: Value = res.json().await.unwrap();
    assert_eq!(read["start_time"], slot(14));
    assert_eq!(read["role"], "editor");
    assert_eq!(read["version"], 2);

    // Onto another event of the owner, one the editor cannot read: 409 listing only its
    // busy interval (no id, no title).
    let res = app
        .put(
            &path,
            &json!({"start_time": "2030-01-01T16:30:00Z", "end_time": "2030-01-01T17:30:00Z"}),
            Some(&editor),
        )
        .await;
    let problem = assert_problem(res, StatusCode::CONFLICT, "event_conflict").await;
    assert_eq!(
        problem["conflicts"],
        json!([{"id": null, "recurrence_id": blocker["start_time"], "title": null,
                "start_time": blocker["start_time"], "end_time": blocker["end_time"]}]),
        "{problem}"
    );
    // The owner making the same move sees the event itself.
    let res = app
        .put(
            &path,
            &json!({"start_time": "2030-01-01T16:30:00Z", "end_time": "2030-01-01T17:30:00Z"}),
            Some(&owner),
        )
        .await;
    let problem = assert_problem(res, StatusCode::CONFLICT, "event_conflict").await;
    assert_conflicts(&problem, &[&blocker]);
    let read = app.get_ok(&path, &owner).await;
    assert_eq!(read["start_time"], slot(14));
    assert_eq!(read["version"], 2);
    // The editor's own calendar is untouched and still free to overlap the owner's.
    let res = app
        .get(&format!("/api/events/{}", id_of(&own)), Some(&editor))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
}

async fn updates_are_conflict_checked(backend: Backend) {
    let app = app!(backend);
    let (_, token) = app.user("mover").await;
    let a = app.create_event(&token, "A", &slot(10), &slot(11)).await;
    let b = app.create_event(&token, "B", &slot(12), &slot(13)).await;
    let path = format!("/api/events/{}", id_of(&b));
    for body in [
        json!({"start_time": "2030-01-01T10:30:00Z", "end_time": "2030-01-01T12:30:00Z"}),
        json!({"start_time": slot(10), "end_time": slot(11)}),
        json!({"start_time": "2030-01-01T10:59:00Z"}),
    ] {
        let res = app.patch(&path, &body, Some(&token)).await;
        let problem = assert_problem(res, StatusCode::CONFLICT, "event_conflict").await;
        assert_conflicts(&problem, &[&a]);
    }
    let read = app.get_ok(&path, &token).await;
    assert_eq!(read["version"], 1);
    assert_eq!(read["start_time"], slot(12));

    // Touching A: fine.
    let res = app
        .patch(&path, &json!({"start_time": slot(11)}), Some(&token))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Value>().await.unwrap()["version"], 2);
    // Overlapping only its own previous range: an event never conflicts with itself.
    let res = app
        .put(
            &path,
            &json!({"start_time": "2030-01-01T11:30:00Z", "end_time": "2030-01-01T13:30:00Z"}),
            Some(&token),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Value>().await.unwrap()["version"], 3);
    // Changing only the title of an event keeps its range and is no conflict.
    let res = app
        .patch(&path, &json!({"title": "B2"}), Some(&token))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
}

async fn a_long_event_conflicts_with_many(backend: Backend) {
    let app = app!(backend);
    let (_, token) = app.user("crowded").await;
    // 70 back-to-back half-hour events from slot 10 on.
    let events: Vec<Value> = (0..70)
        .map(|i| {
            let (h, m) = (10 + i / 2, (i % 2) * 30);
            let start = format!("{}:{:02}:00Z", &slot(h)[..13], m);
            let end = if m == 0 {
                format!("{}:30:00Z", &slot(h)[..13])
            } else {
                slot(h + 1)
            };
            event_input(&format!("s{i}"), &start, &end)
        })
        .collect();
    let res = app.post_batch(&token, events).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let created: Vec<Value> = res.json().await.unwrap();
    // Before and after them: free.
    app.create_event(&token, "before", &slot(9), &slot(10))
        .await;
    app.create_event(&token, "after", &slot(45), &slot(46))
        .await;
    // One long event over all 70: the first 50 are listed, in start order, and
    // `detail` gives the total.
    let res = app.create_event_raw(&token,
        json!({"title": "long", "start_time": "2030-01-01T10:15:00Z", "end_time": "2030-01-02T20:45:00Z"}),
    )
    .await;
    let problem = assert_problem(res, StatusCode::CONFLICT, "event_conflict").await;
    let listed: Vec<i64> = problem["conflicts"]
        .as_array()
        .unwrap()
        .iter()
        .map(id_of)
        .collect();
    assert_eq!(listed, ids(&created)[..50], "the first 50 in start order");
    assert_eq!(
        problem["detail"],
        "overlaps 70 existing event(s); the first 50 are listed"
    );
    // Moving the "after" event over the last 40 lists exactly those.
    let after = list_event_ids(&app, &token, &format!("from={}", query_escape(&slot(45)))).await;
    let res = app
        .patch(
            &format!("/api/events/{}", after[0]),
            &json!({"start_time": slot(25)}),
            Some(&token),
        )
        .await;
    let problem = assert_problem(res, StatusCode::CONFLICT, "event_conflict").await;
    let listed: BTreeSet<i64> = problem["conflicts"]
        .as_array()
        .unwrap()
        .iter()
        .map(id_of)
        .collect();
    assert_eq!(listed, ids(&created[30..]).into_iter().collect());
}

/// `INSERT INTO occurrences` of one row of `owner`'s event `event`.
fn insert_occurrence(owner: i64, event: i64, start: &str, end: &str) -> String {
    format!(
        "INSERT INTO occurrences (event_id, recurrence_id, owner_id, start_time, end_time) \
         VALUES ({event}, '{start}', {owner}, '{start}', '{end}')"
    )
}

fn refused(result: Result<usize, diesel::result::Error>) {
    let e = result.expect_err("an overlap is refused");
    assert!(e.to_string().contains("overlaps a busy occurrence"), "{e}");
}

/// The database itself keeps an owner's busy occurrences apart (the
/// `occurrences_no_overlap` triggers), also for writes that do not come through the
/// server: an overlapping insert or update fails, touching is fine.
async fn the_database_refuses_overlaps_written_around_the_server(backend: Backend) {
    let app = app!(backend);
    let (alice, token) = app.user("alice").await;
    app.create_event(&token, "First", &slot(10), &slot(11))
        .await;
    let second = id_of(
        &app.create_event(&token, "Second", &slot(12), &slot(13))
            .await,
    );
    let row = |start: &str, end: &str| insert_occurrence(alice, second, start, end);
    // Into a stored occurrence, and two rows of one statement into each other.
    refused(app.execute_sql(&row("2030-01-01 10:30:00", "2030-01-01 10:45:00")));
    refused(app.execute_sql(&format!(
        "{}, ({second}, '2031-01-01 00:00:00', {alice}, '2031-01-01 00:20:00', \
         '2031-01-01 00:40:00')",
        row("2031-01-01 00:30:00", "2031-01-01 01:00:00")
    )));
    // Touching is not overlapping; moving one into another is.
    app.execute_sql(&row("2030-01-01 11:00:00", "2030-01-01 12:00:00"))
        .unwrap();
    refused(app.execute_sql(&format!(
        "UPDATE occurrences SET end_time = '2030-01-01 12:30:00' \
         WHERE event_id = {second} AND recurrence_id = '2030-01-01 11:00:00'"
    )));
    // Another owner's time is theirs.
    let (bob, bob_token) = app.user("bob").await;
    let bobs = id_of(
        &app.create_event(&bob_token, "Bob's", &slot(20), &slot(21))
            .await,
    );
    app.execute_sql(&insert_occurrence(
        bob,
        bobs,
        "2030-01-01 10:30:00",
        "2030-01-01 10:45:00",
    ))
    .unwrap();
    assert_eq!(app.count_rows("occurrences"), 5);
}

/// PostgreSQL: a writer racing another for the same calendar around the server waits
/// for it (the owner's advisory lock), then sees its commit and is refused; writes in
/// REPEATABLE READ, whose snapshot could miss a concurrent commit, are refused.
async fn a_racing_writer_around_the_server_waits_and_is_refused(backend: Backend) {
    let app = app!(backend);
    let (alice, token) = app.user("alice").await;
    let first = id_of(
        &app.create_event(&token, "First", &slot(10), &slot(11))
            .await,
    );
    let second = id_of(
        &app.create_event(&token, "Second", &slot(12), &slot(13))
            .await,
    );
    let url = app.db.url();
    let mut conn = PgConnection::establish(&url).unwrap();
    diesel::sql_query("BEGIN").execute(&mut conn).unwrap();
    diesel::sql_query(insert_occurrence(
        alice,
        first,
        "2030-01-02 09:00:00",
        "2030-01-02 10:00:00",
    ))
    .execute(&mut conn)
    .unwrap();
    let racer = {
        let sql = insert_occurrence(alice, second, "2030-01-02 09:30:00", "2030-01-02 10:30:00");
        std::thread::spawn(move || {
            diesel::sql_query(sql).execute(&mut PgConnection::establish(&url).unwrap())
        })
    };
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        !racer.is_finished(),
        "the second writer waits for the first"
    );
    diesel::sql_query("COMMIT").execute(&mut conn).unwrap();
    refused(racer.join().unwrap());

    let repeatable = diesel::sql_query("BEGIN ISOLATION LEVEL REPEATABLE READ")
        .execute(&mut conn)
        .and_then(|_| {
            diesel::sql_query(insert_occurrence(
                alice,
                first,
                "2030-01-03 09:00:00",
                "2030-01-03 10:00:00",
            ))
            .execute(&mut conn)
        });
    let e = repeatable.expect_err("REPEATABLE READ writes are refused");
    assert!(e.to_string().contains("READ COMMITTED"), "{e}");
    diesel::sql_query("ROLLBACK").execute(&mut conn).unwrap();
    assert_eq!(app.count_rows("occurrences"), 3);
}
