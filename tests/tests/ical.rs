//! iCalendar export: `GET /api/events/{id}` with `Accept: text/calendar` answers the
//! event's RFC 5545 document (read back here with the `icalendar` crate's parser), and
//! `text/calendar` joins content negotiation: other routes answer JSON to it alone.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use convene_tests::ical::{one, vevents};
use convene_tests::{app, assert_problem, backend_tests, id_of, Backend, StatusCode, TestApp};
use serde_json::{json, Value};

backend_tests!(
    an_event_exports_as_a_vevent_in_its_zone,
    a_series_exports_its_rule_cancellations_and_overrides,
    text_calendar_is_negotiated_and_refused_where_unavailable,
);

async fn ics(app: &TestApp, token: &str, id: i64) -> String {
    let res = app
        .request(reqwest::Method::GET, &format!("/api/events/{id}"))
        .bearer_auth(token)
        .header("Accept", "text/calendar")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let content_type = res.headers()["content-type"].to_str().unwrap().to_owned();
    assert_eq!(content_type, "text/calendar; charset=utf-8");
    res.text().await.unwrap()
}

async fn create(app: &TestApp, token: &str, body: Value) -> Value {
    let res = app.create_event_raw(token, body).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    res.json().await.unwrap()
}

async fn an_event_exports_as_a_vevent_in_its_zone(backend: Backend) {
    let app = app!(backend);
    let (bob, bob_token) = app.user("bob").await;
    let (_, token) = app.user("alice").await;
    let event = create(
        &app,
        &token,
        json!({"title": "Plan, review; decide", "description": "Line one\nLine two",
               "location": "Room 4", "start_time": "2027-07-01T07:30:00Z",
               "end_time": "2027-07-01T08:45:00Z", "time_zone": "Europe/Berlin"}),
    )
    .await;
    let id = id_of(&event);
    let text = ics(&app, &token, id).await;
    assert!(text.contains("\r\n"), "CRLF line ends");
    let events = vevents(&text);
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!(one(e, "UID").value, format!("event-{id}@convene"));
    let start = one(e, "DTSTART");
    assert_eq!(start.param("TZID"), Some("Europe/Berlin"));
    assert_eq!(start.value, "20270701T093000"); // 07:30Z is 09:30 in Berlin (CEST)
    assert_eq!(one(e, "DTEND").value, "20270701T104500");
    // Text is escaped on the wire (commas, semicolons, newlines) and reads back as sent.
    assert!(
        text.contains("SUMMARY:Plan\\, review\\; decide\r\n"),
        "{text}"
    );
    assert!(
        text.contains("DESCRIPTION:Line one\\nLine two\r\n"),
        "{text}"
    );
    assert_eq!(one(e, "SUMMARY").value, "Plan, review; decide");
    assert_eq!(one(e, "DESCRIPTION").value, "Line one\nLine two");
    assert_eq!(one(e, "LOCATION").value, "Room 4");
    assert_eq!(one(e, "TRANSP").value, "OPAQUE");
    assert_eq!(one(e, "SEQUENCE").value, "0");
    one(e, "DTSTAMP");
    one(e, "LAST-MODIFIED");
    assert!(e.iter().all(|p| p.name != "RRULE" && p.name != "EXDATE"));

    // A change: a new SEQUENCE, the same UID; a viewer reads it too.
    app.patch_event(
        &token,
        id,
        &json!({"title": "Plan", "transparency": "transparent"}),
    )
    .await;
    app.share(&token, id, bob, "viewer").await;
    let text = ics(&app, &bob_token, id).await;
    let e = &vevents(&text)[0];
    assert_eq!(one(e, "UID").value, format!("event-{id}@convene"));
    assert_eq!(one(e, "SEQUENCE").value, "1");
    assert_eq!(one(e, "SUMMARY").value, "Plan");
    assert_eq!(one(e, "TRANSP").value, "TRANSPARENT");

    // TEXT holds no control character but the tab: CR LF and CR are line breaks, the
    // rest is left out. An empty description is still written (API.md lists it).
    app.patch_event(&token, id, &json!({"description": "a\r\nb\rc\u{7}d\te"}))
        .await;
    let text = ics(&app, &token, id).await;
    assert!(text.contains("DESCRIPTION:a\\nb\\ncd\te\r\n"), "{text}");
    app.patch_event(&token, id, &json!({"description": ""}))
        .await;
    let text = ics(&app, &token, id).await;
    assert_eq!(one(&vevents(&text)[0], "DESCRIPTION").value, "");
}

async fn a_series_exports_its_rule_cancellations_and_overrides(backend: Backend) {
    let app = app!(backend);
    let (_, token) = app.user("alice").await;
    // Weekly on Mondays 09:00 Berlin across the March DST change.
    let series = create(
        &app,
        &token,
        json!({"title": "Team sync", "start_time": "2027-03-15T08:00:00Z",
               "end_time": "2027-03-15T09:00:00Z", "time_zone": "Europe/Berlin",
               "recurrence": "FREQ=WEEKLY;BYDAY=MO;COUNT=6"}),
    )
    .await;
    let id = id_of(&series);
    app.cancel_occurrence(&token, id, "2027-03-22T08:00:00Z")
        .await;
    app.patch_occurrence(
        &token,
        id,
        "2027-04-05T07:00:00Z",
        &json!({"title": "Sync, moved", "start_time": "2027-04-06T12:00:00Z",
                "end_time": "2027-04-06T13:00:00Z"}),
    )
    .await;
    let text = ics(&app, &token, id).await;
    let events = vevents(&text);
    assert_eq!(events.len(), 2, "the master and one override");
    let master = &events[0];
    assert_eq!(one(master, "RRULE").value, "FREQ=WEEKLY;BYDAY=MO;COUNT=6");
    assert_eq!(one(master, "DTSTART").value, "20270315T090000");
    assert_eq!(one(master, "SEQUENCE").value, "2");
    let exdate = one(master, "EXDATE");
    assert_eq!(exdate.param("TZID"), Some("Europe/Berlin"));
    assert_eq!(exdate.value, "20270322T090000");
    let moved = &events[1];
    assert_eq!(one(moved, "UID").value, one(master, "UID").value);
    let rid = one(moved, "RECURRENCE-ID");
    assert_eq!(rid.param("TZID"), Some("Europe/Berlin"));
    // After the change to summer time, 07:00Z is still 09:00 in Berlin.
    assert_eq!(rid.value, "20270405T090000");
    assert_eq!(one(moved, "DTSTART").value, "20270406T140000");
    assert_eq!(one(moved, "DTEND").value, "20270406T150000");
    assert_eq!(one(moved, "SUMMARY").value, "Sync, moved");
    assert!(moved.iter().all(|p| p.name != "RRULE"));
}

async fn text_calendar_is_negotiated_and_refused_where_unavailable(backend: Backend) {
    let app = app!(backend);
    let (_, token) = app.user("alice").await;
    let event = create(
        &app,
        &token,
        json!({"title": "x", "start_time": "2027-07-01T07:30:00Z", "end_time": "2027-07-01T08:00:00Z"}),
    )
    .await;
    let id = id_of(&event);
    let get = |accept: &'static str| {
        app.request(reqwest::Method::GET, &format!("/api/events/{id}"))
            .bearer_auth(&token)
            .header("Accept", accept)
            .send()
    };
    for (accept, calendar) in [
        ("text/calendar, application/json;q=0.5", true),
        ("text/*", true),
        ("application/json, text/calendar;q=0.5", false),
        ("*/*", false),
        ("application/json", false),
    ] {
        let res = get(accept).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{accept}");
        let content_type = res.headers()["content-type"].to_str().unwrap().to_owned();
        assert_eq!(
            content_type.starts_with("text/calendar"),
            calendar,
            "{accept}: {content_type}"
        );
        if calendar {
            assert_eq!(res.headers()["etag"], "\"1\"");
        }
    }
    // Other routes answer JSON to it alone (API.md: "JSON otherwise"), errors too.
    let res = app
        .request(reqwest::Method::GET, "/api/events")
        .bearer_auth(&token)
        .header("Accept", "text/calendar")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    let res = app
        .request(reqwest::Method::POST, "/api/events")
        .bearer_auth(&token)
        .header("Accept", "text/calendar")
        .json(&json!({"title": "y", "start_time": "2027-07-02T07:30:00Z", "end_time": "2027-07-02T08:00:00Z"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let created: Value = res.json().await.unwrap();
    assert_eq!(created["title"], "y");
    let res = app
        .request(reqwest::Method::GET, "/api/events")
        .header("Accept", "text/calendar")
        .send()
        .await
        .unwrap();
    assert_problem(res, StatusCode::UNAUTHORIZED, "unauthorized").await;
}
