//! The subscription feed: `GET /api/calendar.ics?token=` with read-only, hashed,
//! revocable feed tokens (`/api/feed-tokens`); every event the token's user owns or
//! that is shared with them; cheap to poll (ETag / 304).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;

use convene_tests::ical::{one, vevents};
use convene_tests::{
    app, assert_members, assert_problem, backend_tests, event_input, id_of, Backend, StatusCode,
    TestApp,
};
use serde_json::{json, Value};

backend_tests!(
    feed_tokens_are_issued_once_listed_and_revoked,
    the_feed_holds_the_users_calendar_and_polls_cheaply,
    a_long_feed_is_written_in_pages_each_event_once,
);

async fn issue(app: &TestApp, token: &str) -> Value {
    let res = app.post_empty("/api/feed-tokens", Some(token)).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    res.json().await.unwrap()
}

/// The URL of a new feed token of the bearer of `token`.
async fn feed_url(app: &TestApp, token: &str) -> String {
    issue(app, token).await["url"].as_str().unwrap().to_owned()
}

/// GET the feed URL as a calendar application would: no headers but `Accept: */*`.
async fn poll(url: &str, if_none_match: Option<&str>) -> reqwest::Response {
    let mut req = reqwest::Client::new().get(url).header("Accept", "*/*");
    if let Some(tag) = if_none_match {
        req = req.header("If-None-Match", tag);
    }
    req.send().await.unwrap()
}

fn uids(text: &str) -> BTreeSet<String> {
    vevents(text)
        .iter()
        .map(|e| one(e, "UID").value.clone())
        .collect()
}

fn uid(id: i64) -> String {
    format!("event-{id}@convene")
}

async fn feed_tokens_are_issued_once_listed_and_revoked(backend: Backend) {
    let app = app!(backend);
    let (_, token) = app.user("alice").await;
    let (_, bob_token) = app.user("bob").await;
    let issued = issue(&app, &token).await;
    assert_members(
        &issued,
        &["id", "token", "url", "created_at"],
        "FeedTokenCreated",
    );
    let feed_token = issued["token"].as_str().unwrap().to_owned();
    assert!(feed_token.starts_with("cvf_") && feed_token.len() > 40);
    let url = issued["url"].as_str().unwrap().to_owned();
    assert_eq!(
        url,
        app.url(&format!("/api/calendar.ics?token={feed_token}"))
    );
    // Stored as a hash only.
    assert_eq!(app.count_rows("feed_tokens"), 1);
    assert_eq!(
        app.count_rows(&format!("feed_tokens WHERE token_hash = '{feed_token}'")),
        0
    );

    // Listed without the token, last use null until the feed is read.
    let list = app.get_ok("/api/feed-tokens", &token).await;
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_members(
        &list[0],
        &["id", "created_at", "last_used_at"],
        "FeedTokenRead",
    );
    assert_eq!(list[0]["id"], issued["id"]);
    assert_eq!(list[0]["last_used_at"], Value::Null);
    let res = poll(&url, None).await;
    assert_eq!(res.status(), StatusCode::OK);
    let list = app.get_ok("/api/feed-tokens", &token).await;
    assert!(list[0]["last_used_at"].is_string(), "{list}");
    // Others see none of it and cannot revoke it.
    assert_eq!(app.get_ok("/api/feed-tokens", &bob_token).await, json!([]));
    let id = issued["id"].as_i64().unwrap();
    let res = app
        .delete(&format!("/api/feed-tokens/{id}"), Some(&bob_token))
        .await;
    assert_problem(res, StatusCode::NOT_FOUND, "not_found").await;

    // Read-only and good for the feed only: not a bearer token.
    let res = app.get("/api/auth/me", Some(&feed_token)).await;
    assert_problem(res, StatusCode::UNAUTHORIZED, "unauthorized").await;
    let res = app.get("/api/feed-tokens", None).await;
    assert_problem(res, StatusCode::UNAUTHORIZED, "unauthorized").await;
    // Wrong and missing tokens: 401.
    for path in [
        "/api/calendar.ics?token=cvf_wrong".to_owned(),
        "/api/calendar.ics".to_owned(),
        "/api/calendar.ics?token=".to_owned(),
    ] {
        let res = poll(&app.url(&path), None).await;
        assert_problem(res, StatusCode::UNAUTHORIZED, "unauthorized").await;
    }

    // Revoked: the URL answers 401 at once; a second revoke finds nothing.
    let res = app
        .delete(&format!("/api/feed-tokens/{id}"), Some(&token))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = poll(&url, None).await;
    assert_problem(res, StatusCode::UNAUTHORIZED, "unauthorized").await;
    let res = app
        .delete(&format!("/api/feed-tokens/{id}"), Some(&token))
        .await;
    assert_problem(res, StatusCode::NOT_FOUND, "not_found").await;
    assert_eq!(app.get_ok("/api/feed-tokens", &token).await, json!([]));

    // Each token is independent; at most 20 at once.
    let tokens: Vec<Value> =
        futures_util::future::join_all((0..20).map(|_| issue(&app, &token))).await;
    let distinct: BTreeSet<&str> = tokens
        .iter()
        .map(|t| t["token"].as_str().unwrap())
        .collect();
    assert_eq!(distinct.len(), 20);
    let res = app.post_empty("/api/feed-tokens", Some(&token)).await;
    assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    let first = tokens[0]["id"].as_i64().unwrap();
    let res = app
        .delete(&format!("/api/feed-tokens/{first}"), Some(&token))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = poll(tokens[0]["url"].as_str().unwrap(), None).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let res = poll(tokens[1]["url"].as_str().unwrap(), None).await;
    assert_eq!(res.status(), StatusCode::OK);
    issue(&app, &token).await;
}

async fn the_feed_holds_the_users_calendar_and_polls_cheaply(backend: Backend) {
    let app = app!(backend);
    let (alice, token) = app.user("alice").await;
    let (_, bob_token) = app.user("bob").await;
    let (_, carol_token) = app.user("carol").await;
    let series = app
        .create_event_raw(
            &token,
            json!({"title": "Team sync", "start_time": "2027-03-15T08:00:00Z",
                   "end_time": "2027-03-15T09:00:00Z", "time_zone": "Europe/Berlin",
                   "recurrence": "FREQ=WEEKLY;BYDAY=MO;COUNT=6"}),
        )
        .await;
    assert_eq!(series.status(), StatusCode::CREATED);
    let series = id_of(&series.json::<Value>().await.unwrap());
    app.cancel_occurrence(&token, series, "2027-03-22T08:00:00Z")
        .await;
    let own = id_of(
        &app.create_event(
            &token,
            "Dentist",
            "2027-05-03T10:00:00Z",
            "2027-05-03T11:00:00Z",
        )
        .await,
    );
    let shared = id_of(
        &app.create_event(
            &bob_token,
            "Bob's review",
            "2027-05-04T10:00:00Z",
            "2027-05-04T11:00:00Z",
        )
        .await,
    );
    app.share(&bob_token, shared, alice, "viewer").await;
    app.create_event(
        &carol_token,
        "Carol's secret",
        "2027-05-05T10:00:00Z",
        "2027-05-05T11:00:00Z",
    )
    .await;

    let url = feed_url(&app, &token).await;
    let res = poll(&url, None).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.headers()["content-type"],
        "text/calendar; charset=utf-8"
    );
    let tag = res.headers()["etag"].to_str().unwrap().to_owned();
    let text = res.text().await.unwrap();
    assert_eq!(
        uids(&text),
        [uid(series), uid(own), uid(shared)].into_iter().collect()
    );
    // Each event as its own export writes it: the series with its cancellation.
    let master = vevents(&text)
        .into_iter()
        .find(|e| one(e, "UID").value == uid(series))
        .unwrap();
    assert_eq!(one(&master, "RRULE").value, "FREQ=WEEKLY;BYDAY=MO;COUNT=6");
    assert_eq!(one(&master, "EXDATE").value, "20270322T090000");
    assert!(!text.contains("Carol"));

    // Polling: nothing changed → 304 with the same tag (also in a list, or weak).
    for condition in [tag.clone(), format!("\"x\", {tag}"), format!("W/{tag}")] {
        let res = poll(&url, Some(&condition)).await;
        assert_eq!(res.status(), StatusCode::NOT_MODIFIED, "{condition}");
        assert_eq!(res.headers()["etag"].to_str().unwrap(), tag);
    }
    // Every kind of change gives a new tag: a change by someone else to a shared event,
    // the share revoked, an event deleted, one created.
    let mut last = tag;
    async fn changed(url: &str, last: &mut String) -> String {
        let res = poll(url, Some(last)).await;
        assert_eq!(
            res.status(),
            StatusCode::OK,
            "a change gives a new document"
        );
        let tag = res.headers()["etag"].to_str().unwrap().to_owned();
        assert_ne!(&tag, last);
        *last = tag;
        res.text().await.unwrap()
    }
    app.patch_event(&bob_token, shared, &json!({"title": "Bob's review, moved"}))
        .await;
    assert!(changed(&url, &mut last)
        .await
        .contains("SUMMARY:Bob's review\\, moved"));
    let res = app
        .delete(
            &format!("/api/events/{shared}/permissions/{alice}"),
            Some(&bob_token),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert!(!uids(&changed(&url, &mut last).await).contains(&uid(shared)));
    let res = app
        .delete(&format!("/api/events/{own}"), Some(&token))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        uids(&changed(&url, &mut last).await),
        [uid(series)].into_iter().collect()
    );
    app.cancel_occurrence(&token, series, "2027-03-29T07:00:00Z")
        .await;
    let text = changed(&url, &mut last).await;
    assert_eq!(
        vevents(&text)[0]
            .iter()
            .filter(|p| p.name == "EXDATE")
            .count(),
        2
    );

    // Only text/calendar: a client that accepts none of it gets 406.
    let res = reqwest::Client::new()
        .get(&url)
        .header("Accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_problem(res, StatusCode::NOT_ACCEPTABLE, "not_acceptable").await;
    let res = reqwest::Client::new()
        .get(&url)
        .header("Accept", "text/calendar")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let res = reqwest::Client::new().get(&url).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}

/// 250 events (the feed writes 100 at a time): one document, every event exactly once,
/// sent as it is written (chunked, no `Content-Length` computed up front), and the
/// same `ETag` a poll with it confirms.
async fn a_long_feed_is_written_in_pages_each_event_once(backend: Backend) {
    let app = app!(backend);
    let (alice, token) = app.user("alice").await;
    let (_, bob_token) = app.user("bob").await;
    let mut expected = BTreeSet::new();
    for batch in 0..2 {
        let items = (0..120)
            .map(|i| {
                let start = 240 * batch + 2 * i;
                event_input(&format!("item {start}"), &hour(start), &hour(start + 1))
            })
            .collect();
        let res = app.post_batch(&token, items).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        for event in res.json::<Vec<Value>>().await.unwrap() {
            expected.insert(uid(id_of(&event)));
        }
    }
    // Ten of Bob's events shared with Alice, after hers by id.
    for i in 0..10 {
        let event = app
            .create_event(
                &bob_token,
                &format!("bob {i}"),
                &hour(2 * i),
                &hour(2 * i + 1),
            )
            .await;
        app.share(&bob_token, id_of(&event), alice, "viewer").await;
        expected.insert(uid(id_of(&event)));
    }
    assert_eq!(expected.len(), 250);

    let url = feed_url(&app, &token).await;
    let res = poll(&url, None).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers().get("content-length").is_none(),
        "the feed is sent as it is written: {:?}",
        res.headers()
    );
    let tag = res.headers()["etag"].to_str().unwrap().to_owned();
    let text = res.text().await.unwrap();
    assert!(text.starts_with("BEGIN:VCALENDAR\r\n"), "{text}");
    assert!(text.ends_with("END:VCALENDAR\r\n"));
    assert_eq!(text.matches("BEGIN:VCALENDAR").count(), 1);
    assert_eq!(text.matches("PRODID").count(), 1);
    assert_eq!(text.matches("BEGIN:VEVENT").count(), 250);
    assert_eq!(uids(&text), expected);
    assert_eq!(
        poll(&url, Some(&tag)).await.status(),
        StatusCode::NOT_MODIFIED
    );
}

/// Hour `h` of 2031 (UTC), RFC 3339.
fn hour(h: u32) -> String {
    format!("2031-01-{:02}T{:02}:00:00Z", 1 + h / 24, h % 24)
}
