//! Listing events: order, time and role filters, query validation, keyset pagination
//! (stable under inserts, keeping its filters, across extreme dates).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeSet, HashMap, HashSet};

use convene_tests::{
    app, assert_event_read, assert_problem, backend_tests, field_errors, fields, id_of, ids,
    list_event_ids, list_events, query_escape, slot, Backend, Pages, StatusCode,
};
use serde_json::{json, Value};

backend_tests!(
    list_orders_by_start_then_id,
    list_filters_by_time_with_half_open_overlap,
    list_filters_by_role,
    list_query_validation,
    keyset_pagination_is_stable_under_inserts,
    pagination_keeps_its_filters,
    extreme_dates_round_trip_and_paginate,
    shared_events_are_listed_where_they_are_now,
);

async fn list_orders_by_start_then_id(backend: Backend) {
    let app = app!(backend);
    let (a_user, a) = app.user("lister").await;
    let (_, b) = app.user("sharer_b").await;
    let (_, c) = app.user("sharer_c").await;

    let late = app.create_event(&a, "late", &slot(20), &slot(21)).await;
    let early = app.create_event(&a, "early", &slot(5), &slot(6)).await;
    // Three events starting at the same instant, owned by three users.
    let same_b = app.create_event(&b, "same b", &slot(10), &slot(11)).await;
    let same_a = app.create_event(&a, "same a", &slot(10), &slot(12)).await;
    let same_c = app.create_event(&c, "same c", &slot(10), &slot(13)).await;
    app.share(&b, id_of(&same_b), a_user, "viewer").await;
    app.share(&c, id_of(&same_c), a_user, "editor").await;
    // Not shared with A: never listed.
    app.create_event(&b, "private", &slot(15), &slot(16)).await;

    let mut same = vec![id_of(&same_a), id_of(&same_b), id_of(&same_c)];
    same.sort_unstable();
    let mut expected = vec![id_of(&early)];
    expected.extend(&same);
    expected.push(id_of(&late));

    let page = app.get_ok("/api/events", &a).await;
    assert_eq!(page["next_cursor"], Value::Null);
    let items = page["items"].as_array().unwrap();
    for item in items {
        assert_event_read(item);
    }
    assert_eq!(ids(items), expected);
    let roles: HashMap<i64, &str> = items
        .iter()
        .map(|e| (id_of(e), e["role"].as_str().unwrap()))
        .collect();
    assert_eq!(roles[&id_of(&same_a)], "owner");
    assert_eq!(roles[&id_of(&same_b)], "viewer");
    assert_eq!(roles[&id_of(&same_c)], "editor");

    // Page by page (limit 1) crosses the equal start times without loss or repeat.
    let (paged, pages) = list_events(&app, &a, "", 1).await;
    assert_eq!(ids(&paged), expected);
    assert_eq!(pages, expected.len());
    let (paged, _) = list_events(&app, &a, "", 2).await;
    assert_eq!(ids(&paged), expected);
}

async fn list_filters_by_time_with_half_open_overlap(backend: Backend) {
    let app = app!(backend);
    let (_, token) = app.user("window").await;
    let e10 = id_of(&app.create_event(&token, "10", &slot(10), &slot(11)).await);
    let e12 = id_of(&app.create_event(&token, "12", &slot(12), &slot(13)).await);
    let e14 = id_of(&app.create_event(&token, "14", &slot(14), &slot(15)).await);
    let q = |from: Option<&str>, to: Option<&str>| {
        let mut parts = Vec::new();
        if let Some(f) = from {
            parts.push(format!("from={}", query_escape(f)));
        }
        if let Some(t) = to {
            parts.push(format!("to={}", query_escape(t)));
        }
        parts.join("&")
    };
    let cases: Vec<(String, Vec<i64>)> = vec![
        (q(Some(&slot(11)), Some(&slot(12))), vec![]),
        (q(Some(&slot(10)), Some(&slot(11))), vec![e10]),
        (
            q(Some("2030-01-01T10:30:00Z"), Some("2030-01-01T12:30:00Z")),
            vec![e10, e12],
        ),
        (q(Some(&slot(13)), None), vec![e14]),
        (q(None, Some(&slot(12))), vec![e10]),
        (q(Some("2030-01-01T12:59:59.999999Z"), None), vec![e12, e14]),
        (q(None, Some("2030-01-01T12:00:00.000001Z")), vec![e10, e12]),
        (q(Some(&slot(0)), Some(&slot(100))), vec![e10, e12, e14]),
        // A window inside an event.
        (
            q(Some("2030-01-01T14:10:00Z"), Some("2030-01-01T14:20:00Z")),
            vec![e14],
        ),
        // Any offset in the query.
        (
            q(
                Some("2030-01-01T12:30:00+02:00"),
                Some("2030-01-01T11:30:00-01:00"),
            ),
            vec![e10, e12],
        ),
        (
            q(
                Some("2030-01-01T12:30:00+02:00"),
                Some("2030-01-01T11:00:00-01:00"),
            ),
            vec![e10],
        ),
        (q(Some(&slot(15)), None), vec![]),
        // An offset pasted into the URL unencoded: its `+` decodes as a space.
        (
            "from=2030-01-01T12:30:00+02:00&to=2030-01-01 13:30:00+02:00".into(),
            vec![e10],
        ),
    ];
    for (query, expected) in cases {
        assert_eq!(
            list_event_ids(&app, &token, &query).await,
            expected,
            "{query}"
        );
    }
    let res = app.get("/api/events?from=garbage", Some(&token)).await;
    assert_problem(res, StatusCode::BAD_REQUEST, "invalid_query").await;
}

async fn list_filters_by_role(backend: Backend) {
    let app = app!(backend);
    let (a_id, a) = app.user("roles_a").await;
    let (_, b) = app.user("roles_b").await;
    let (_, c) = app.user("roles_c").await;
    let own = app.create_event(&a, "own", &slot(1), &slot(2)).await;
    let edit = app.create_event(&b, "edit", &slot(3), &slot(4)).await;
    let view = app.create_event(&c, "view", &slot(5), &slot(6)).await;
    app.share(&b, id_of(&edit), a_id, "editor").await;
    app.share(&c, id_of(&view), a_id, "viewer").await;
    for (role, expected) in [
        ("owner", id_of(&own)),
        ("editor", id_of(&edit)),
        ("viewer", id_of(&view)),
    ] {
        let page = app.get_ok(&format!("/api/events?role={role}"), &a).await;
        let items = page["items"].as_array().unwrap();
        assert_eq!(ids(items), vec![expected], "role={role}");
        assert_eq!(items[0]["role"], role);
    }
    assert_eq!(
        list_event_ids(&app, &a, "").await,
        vec![id_of(&own), id_of(&edit), id_of(&view)]
    );
    // Role and time filters combine.
    assert_eq!(
        list_event_ids(
            &app,
            &a,
            &format!("role=editor&from={}", query_escape(&slot(4)))
        )
        .await,
        Vec::<i64>::new()
    );
    // B sees only B's event, as owner.
    let page = app.get_ok("/api/events", &b).await;
    assert_eq!(ids(page["items"].as_array().unwrap()), vec![id_of(&edit)]);
    assert_eq!(page["items"][0]["role"], "owner");
}

async fn list_query_validation(backend: Backend) {
    let app = app!(backend);
    let (_, token) = app.user("query").await;
    for i in 0..3 {
        app.create_event(&token, "e", &slot(i * 2), &slot(i * 2 + 1))
            .await;
    }
    for limit in ["0", "201"] {
        let res = app
            .get(&format!("/api/events?limit={limit}"), Some(&token))
            .await;
        let problem =
            assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(problem["errors"][0]["field"], "limit", "limit={limit}");
    }
    for limit in ["abc", "1.5"] {
        let res = app
            .get(&format!("/api/events?limit={limit}"), Some(&token))
            .await;
        assert_problem(res, StatusCode::BAD_REQUEST, "invalid_query").await;
    }
    // A parameter twice: 400 naming it, not the framework.
    let res = app
        .get(
            "/api/events?from=2030-01-01T00:00:00Z&from=2030-01-02T00:00:00Z",
            Some(&token),
        )
        .await;
    let problem = assert_problem(res, StatusCode::BAD_REQUEST, "invalid_query").await;
    let detail = problem["detail"].as_str().unwrap();
    assert!(
        detail.contains("from") && !detail.contains("deserialize"),
        "{detail}"
    );
    for limit in [1, 200] {
        let page = app
            .get_ok(&format!("/api/events?limit={limit}"), &token)
            .await;
        assert_eq!(
            page["items"].as_array().unwrap().len(),
            (limit as usize).min(3)
        );
    }
    // The default limit (50) covers all three.
    let page = app.get_ok("/api/events", &token).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 3);
    assert_eq!(page["next_cursor"], Value::Null);
    for cursor in ["garbage", "AAAA", "eyJ4IjoxfQ", "%00%01"] {
        let res = app
            .get(&format!("/api/events?cursor={cursor}"), Some(&token))
            .await;
        assert_problem(res, StatusCode::BAD_REQUEST, "invalid_cursor").await;
    }
    let res = app.get("/api/events", None).await;
    assert_problem(res, StatusCode::UNAUTHORIZED, "unauthorized").await;
}

async fn keyset_pagination_is_stable_under_inserts(backend: Backend) {
    let app = app!(backend);
    let (_, token) = app.user("pager").await;
    // 25 events at even hours 100, 102, … 148.
    let mut original = Vec::new();
    for i in 0..25 {
        let e = app
            .create_event(
                &token,
                &format!("e{i}"),
                &slot(100 + 2 * i),
                &slot(101 + 2 * i),
            )
            .await;
        original.push(id_of(&e));
    }
    let mut seen: Vec<Value> = Vec::new();
    let mut pages = Pages::new("/api/events?limit=7", 20);
    // Inserted between pages: before everything, between already-seen events, between
    // future ones, after everything.
    let mut inserts = vec![(99, 100), (101, 102), (147, 148), (300, 301), (129, 130)].into_iter();
    let mut inserted = 0;
    while let Some(page) = pages.next(&app, &token).await {
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 7);
        seen.extend(items.iter().cloned());
        if let Some((s, e)) = inserts.next() {
            app.create_event(&token, "inserted", &slot(s), &slot(e))
                .await;
            inserted += 1;
        }
    }
    let seen_ids = ids(&seen);
    let unique: HashSet<i64> = seen_ids.iter().copied().collect();
    assert_eq!(unique.len(), seen_ids.len(), "no duplicates: {seen_ids:?}");
    for id in &original {
        assert!(unique.contains(id), "event {id} missing from {seen_ids:?}");
    }
    // Pages are in (start_time, id) order throughout.
    let keys: Vec<(String, i64)> = seen
        .iter()
        .map(|e| (e["start_time"].as_str().unwrap().to_owned(), id_of(e)))
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
    // A final full listing has every event, the inserted ones too.
    assert!(inserted >= 4, "at least four pages");
    let (all, pages) = list_events(&app, &token, "", 7).await;
    assert_eq!(all.len(), 25 + inserted);
    assert_eq!(pages, (25 + inserted).div_ceil(7));
}

async fn pagination_keeps_its_filters(backend: Backend) {
    let app = app!(backend);
    let (me, token) = app.user("filtered").await;
    let (_, other) = app.user("filtered_other").await;
    let mut mine = Vec::new();
    for i in 0..9 {
        mine.push(id_of(
            &app.create_event(&token, "mine", &slot(4 * i), &slot(4 * i + 1))
                .await,
        ));
        let shared = app
            .create_event(&other, "theirs", &slot(4 * i), &slot(4 * i + 1))
            .await;
        app.share(&other, id_of(&shared), me, "viewer").await;
    }
    // Owner only, 2 per page: the cursor keeps the role filter.
    let (items, pages) = list_events(&app, &token, "role=owner", 2).await;
    assert_eq!(ids(&items), mine);
    assert_eq!(pages, 5);
    // Time window [slot 8, slot 25): events at 8, 12, 16, 20, 24 of both users.
    let query = format!(
        "from={}&to={}",
        query_escape(&slot(8)),
        query_escape(&slot(25))
    );
    let (items, _) = list_events(&app, &token, &query, 3).await;
    assert_eq!(items.len(), 10);
    for item in &items {
        let start = item["start_time"].as_str().unwrap();
        assert!(
            start >= slot(8).as_str() && start < slot(25).as_str(),
            "{start}"
        );
    }
    let (items, _) = list_events(&app, &token, &format!("{query}&role=viewer"), 2).await;
    assert_eq!(items.len(), 5);
    assert!(items.iter().all(|e| e["role"] == "viewer"));
}

async fn extreme_dates_round_trip_and_paginate(backend: Backend) {
    let app = app!(backend);
    let (_, token) = app.user("timelord").await;
    let ranges = [
        ("0001-01-01T00:00:00Z", "0001-01-01T01:00:00Z"),
        ("1969-12-31T23:00:00Z", "1969-12-31T23:59:59.999999Z"),
        ("1969-12-31T23:59:59.999999Z", "1970-01-01T00:00:00.000001Z"),
        ("2030-06-30T12:00:00Z", "2030-06-30T13:00:00Z"),
        ("9999-12-31T22:00:00Z", "9999-12-31T23:59:59.999999Z"),
    ];
    let mut expected = Vec::new();
    for (start, end) in ranges.iter().rev() {
        let e = app.create_event(&token, "t", start, end).await;
        assert_eq!(e["start_time"], *start);
        assert_eq!(e["end_time"], *end);
        expected.insert(0, id_of(&e));
    }
    let (items, pages) = list_events(&app, &token, "", 1).await;
    assert_eq!(ids(&items), expected);
    assert_eq!(pages, 5);
    let window = format!(
        "from={}&to={}",
        query_escape("1969-12-31T23:59:59.999999Z"),
        query_escape("1970-01-01T00:00:00Z")
    );
    assert_eq!(
        list_event_ids(&app, &token, &window).await,
        vec![expected[2]]
    );
    let res = app.create_event_raw(&token,
        json!({"title": "clash", "start_time": "1969-12-31T23:59:59.999998Z", "end_time": "1969-12-31T23:59:59.999999001Z"}),
    )
    .await;
    // Nanoseconds are beyond the contract's precision: refused, not rounded.
    let problem = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(field_errors(&problem), fields(&["end_time"]));
    let res = app.create_event_raw(&token,
        json!({"title": "clash", "start_time": "1969-12-31T23:59:59.999998Z", "end_time": "1970-01-01T00:00:00Z"}),
    )
    .await;
    let problem = assert_problem(res, StatusCode::CONFLICT, "event_conflict").await;
    let conflicting: BTreeSet<i64> = problem["conflicts"]
        .as_array()
        .unwrap()
        .iter()
        .map(id_of)
        .collect();
    assert_eq!(conflicting, BTreeSet::from([expected[1], expected[2]]));
}

/// The events shared with a user are listed from that user's grants, which carry their
/// events' times: every change of an event's times (an update, a rule, a rollback)
/// moves it in its grantees' lists, filters and pages at once, and grants made before
/// or after the change alike.
async fn shared_events_are_listed_where_they_are_now(backend: Backend) {
    let app = app!(backend);
    let (alice_id, alice) = app.user("grantee").await;
    let (carol_id, _) = app.user("late_grantee").await;
    let (_, bob) = app.user("sharer").await;
    let own_early = app
        .create_event(&alice, "own early", &slot(2), &slot(3))
        .await;
    let own_late = app
        .create_event(&alice, "own late", &slot(30), &slot(31))
        .await;
    let moved = app.create_event(&bob, "moved", &slot(10), &slot(11)).await;
    let moved_id = id_of(&moved);
    app.share(&bob, moved_id, alice_id, "viewer").await;
    let order = |a: &Value, b: &Value, c: &Value| vec![id_of(a), id_of(b), id_of(c)];
    let all = |query: &'static str| {
        let (app, alice) = (&app, &alice);
        async move { ids(&list_events(app, alice, query, 1).await.0) }
    };
    assert_eq!(all("").await, order(&own_early, &moved, &own_late));

    // Bob moves it after Alice's late event: her list (in pages of one), her time
    // filter and her role filter follow.
    app.patch_event(
        &bob,
        moved_id,
        &json!({"start_time": slot(40), "end_time": slot(41)}),
    )
    .await;
    assert_eq!(all("").await, order(&own_early, &own_late, &moved));
    let from = |hour| format!("from={}", query_escape(&slot(hour)));
    assert_eq!(
        list_event_ids(&app, &alice, &from(35)).await,
        vec![moved_id]
    );
    assert_eq!(
        list_event_ids(&app, &alice, &format!("{}&role=viewer", from(5))).await,
        vec![moved_id]
    );
    assert_eq!(
        list_event_ids(&app, &alice, &format!("{}&role=viewer", from(45))).await,
        Vec::<i64>::new()
    );

    // A rollback moves it back, for Alice and for a grant made after the move.
    app.share(&bob, moved_id, carol_id, "editor").await;
    let res = app
        .post_empty(&format!("/api/events/{moved_id}/rollback/1"), Some(&bob))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(all("").await, order(&own_early, &moved, &own_late));
    assert_eq!(
        list_event_ids(&app, &alice, &format!("{}&role=viewer", from(35))).await,
        Vec::<i64>::new()
    );
    let carol = app.access_token("late_grantee").await;
    assert_eq!(
        list_event_ids(&app, &carol, &format!("role=editor&{}", from(9))).await,
        vec![moved_id]
    );

    // A weekly rule reaching past the window lists it in a later window, for Alice (from
    // her grant) and Bob, with `from` alone (a window open until the end of time).
    app.patch_event(
        &bob,
        moved_id,
        &json!({"recurrence": "FREQ=WEEKLY;COUNT=3"}),
    )
    .await;
    assert_eq!(
        list_event_ids(&app, &alice, &format!("{}&role=viewer", from(24 * 8))).await,
        vec![moved_id]
    );
    assert_eq!(
        list_event_ids(&app, &bob, &from(24 * 8)).await,
        vec![moved_id]
    );
}
