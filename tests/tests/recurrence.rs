//! Recurring events, time zones and transparency (API.md, "Recurring events, time zones
//! and transparency"): series expand on the zone's wall clock, every busy occurrence is
//! conflict-checked, hostile rules are 422s, and versions cover the new fields.
//!
//! Dates are mostly in 2027, inside the default 730-day horizon from now; a series
//! starting later is checked over the horizon from its own first occurrence.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use convene_tests::{
    app, assert_event_read, assert_problem, backend_tests, field_errors, id_of, list_event_ids,
    race, Backend, StatusCode, TestApp,
};
use serde_json::{json, Value};

backend_tests!(
    a_weekly_berlin_series_keeps_its_wall_clock_across_dst,
    a_nonexistent_new_york_time_takes_the_offset_before_the_gap,
    series_conflict_with_series,
    transparent_time_never_conflicts,
    hostile_rules_and_zones_are_field_problems,
    updates_and_rollbacks_recheck_every_occurrence,
    batch_items_conflict_through_their_occurrences,
    concurrent_overlapping_series_exactly_one_wins,
    the_event_list_filters_series_by_their_occurrences,
    count_includes_a_dtstart_the_rule_would_not_produce,
    a_series_years_ahead_is_checked_from_its_first_occurrence,
    a_series_until_the_end_of_9999_is_listed,
);

/// A series body: `title` from `start` to `end` (UTC) repeating by `rule` in `zone`.
fn series(title: &str, start: &str, end: &str, rule: &str, zone: &str) -> Value {
    json!({
        "title": title,
        "start_time": start,
        "end_time": end,
        "recurrence": rule,
        "time_zone": zone,
    })
}

async fn created(app: &TestApp, token: &str, body: Value) -> Value {
    let res = app.create_event_raw(token, body.clone()).await;
    assert_eq!(res.status(), StatusCode::CREATED, "create {body}");
    let event: Value = res.json().await.unwrap();
    assert_event_read(&event);
    event
}

/// The `(id, recurrence_id, start_time)` of each conflict of a 409 for `body`.
async fn conflicts_of(app: &TestApp, token: &str, body: Value) -> Vec<(Value, String, String)> {
    let res = app.create_event_raw(token, body).await;
    let problem = assert_problem(res, StatusCode::CONFLICT, "event_conflict").await;
    problem["conflicts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            convene_tests::assert_members(
                c,
                &["id", "recurrence_id", "title", "start_time", "end_time"],
                "conflict",
            );
            (
                c["id"].clone(),
                c["recurrence_id"].as_str().unwrap().to_owned(),
                c["start_time"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn single(title: &str, start: &str, end: &str) -> Value {
    json!({"title": title, "start_time": start, "end_time": end})
}

async fn a_weekly_berlin_series_keeps_its_wall_clock_across_dst(backend: Backend) {
    let app = app!(backend);
    let (_, token) = app.user("berlin").await;
    // Mondays 09:00–10:00 Berlin: 08:00Z in winter (CET); Berlin moves to CEST on
    // 2027-03-28, so from 2027-03-29 it is 07:00Z.
    let standup = created(
        &app,
        &token,
        series(
            "Standup",
            "2027-03-15T08:00:00Z",
            "2027-03-15T09:00:00Z",
            "FREQ=WEEKLY;COUNT=4",
            "Europe/Berlin",
        ),
    )
    .await;
    assert_eq!(standup["time_zone"], "Europe/Berlin");
    assert_eq!(standup["recurrence"], "FREQ=WEEKLY;COUNT=4");
    assert_eq!(standup["transparency"], "opaque");
    let id = id_of(&standup);
    // The summer occurrences are at 07:00Z.
    for monday in ["2027-03-29", "2027-04-05"] {
        let clash = conflicts_of(
            &app,
            &token,
            single(
                "clash",
                &format!("{monday}T07:30:00Z"),
                &format!("{monday}T07:45:00Z"),
            ),
        )
        .await;
        let rid = format!("{monday}T07:00:00Z");
        assert_eq!(clash, vec![(json!(id), rid.clone(), rid)]);
    }
    // The winter ones at 08:00Z.
    let winter = conflicts_of(
        &app,
        &token,
        single("clash", "2027-03-22T08:59:00Z", "2027-03-22T09:30:00Z"),
    )
    .await;
    assert_eq!(winter[0].1, "2027-03-22T08:00:00Z");
    // 08:00Z on a summer Monday is free: the series is not at a fixed UTC time.
    created(
        &app,
        &token,
        single("after", "2027-03-29T08:00:00Z", "2027-03-29T09:00:00Z"),
    )
    .await;
    // After COUNT=4 the calendar is free again.
    created(
        &app,
        &token,
        single("free", "2027-04-12T07:00:00Z", "2027-04-12T08:00:00Z"),
    )
    .await;
}

async fn a_nonexistent_new_york_time_takes_the_offset_before_the_gap(backend: Backend) {
    let app = app!(backend);
    let (_, token) = app.user("newyork").await;
    // Daily 02:30 New York; 2027-03-14 02:30 does not exist (clocks jump 02:00 → 03:00):
    // it is taken with the offset before the gap (EST, −05:00) → 07:30Z.
    created(
        &app,
        &token,
        series(
            "Night job",
            "2027-03-13T07:30:00Z",
            "2027-03-13T07:45:00Z",
            "FREQ=DAILY;COUNT=3",
            "America/New_York",
        ),
    )
    .await;
    for (probe, rid) in [
        ("2027-03-14T07:40:00Z", "2027-03-14T07:30:00Z"),
        // The day after, 02:30 EDT (−04:00) is 06:30Z.
        ("2027-03-15T06:40:00Z", "2027-03-15T06:30:00Z"),
    ] {
        let end = probe.replace(":40:00Z", ":41:00Z");
        let clash = conflicts_of(&app, &token, single("probe", probe, &end)).await;
        assert_eq!(clash.len(), 1);
        assert_eq!(clash[0].1, rid);
    }
    created(
        &app,
        &token,
        single("free", "2027-03-15T07:30:00Z", "2027-03-15T07:45:00Z"),
    )
    .await;
}

async fn series_conflict_with_series(backend: Backend) {
    let app = app!(backend);
    let (_, token) = app.user("twoseries").await;
    // Mondays 10:00–11:00 UTC, ten weeks from 2027-01-04.
    let weekly = created(
        &app,
        &token,
        series(
            "Weekly",
            "2027-01-04T10:00:00Z",
            "2027-01-04T11:00:00Z",
            "FREQ=WEEKLY;COUNT=10",
            "UTC",
        ),
    )
    .await;
    // Daily 10:30 from Wednesday 2027-01-06: its 6th occurrence is Monday 2027-01-11.
    let daily = |count: u32| {
        series(
            "Daily",
            "2027-01-06T10:30:00Z",
            "2027-01-06T11:00:00Z",
            &format!("FREQ=DAILY;COUNT={count}"),
            "UTC",
        )
    };
    let clash = conflicts_of(&app, &token, daily(7)).await;
    assert_eq!(
        clash,
        vec![(
            json!(id_of(&weekly)),
            "2027-01-11T10:00:00Z".to_owned(),
            "2027-01-11T10:00:00Z".to_owned()
        )]
    );
    // Two weeks of weekdays meet two Mondays: both are listed, in order.
    let weekdays = series(
        "Weekdays",
        "2027-01-05T10:30:00Z",
        "2027-01-05T10:45:00Z",
        "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;COUNT=10",
        "UTC",
    );
    let clash = conflicts_of(&app, &token, weekdays).await;
    let rids: Vec<&str> = clash.iter().map(|c| c.1.as_str()).collect();
    assert_eq!(rids, ["2027-01-11T10:00:00Z", "2027-01-18T10:00:00Z"]);
    // Wednesday to Sunday only: no Monday, no conflict.
    created(&app, &token, daily(5)).await;
}

async fn transparent_time_never_conflicts(backend: Backend) {
    let app = app!(backend);
    let (_, token) = app.user("transparent").await;
    let holiday = created(
        &app,
        &token,
        json!({
            "title": "Holiday",
            "start_time": "2027-05-01T00:00:00Z",
            "end_time": "2027-05-02T00:00:00Z",
            "transparency": "transparent",
        }),
    )
    .await;
    assert_eq!(holiday["transparency"], "transparent");
    // Busy time inside a transparent event, and a transparent series over busy time.
    created(
        &app,
        &token,
        single("Meeting", "2027-05-01T09:00:00Z", "2027-05-01T10:00:00Z"),
    )
    .await;
    created(
        &app,
        &token,
        json!({
            "title": "Reminder",
            "start_time": "2027-05-01T09:00:00Z",
            "end_time": "2027-05-01T09:30:00Z",
            "recurrence": "FREQ=DAILY;COUNT=3",
            "transparency": "transparent",
        }),
    )
    .await;
    // Making the holiday opaque now collides with the meeting.
    let res = app
        .patch(
            &format!("/api/events/{}", id_of(&holiday)),
            &json!({"transparency": "opaque"}),
            Some(&token),
        )
        .await;
    assert_problem(res, StatusCode::CONFLICT, "event_conflict").await;
}

async fn hostile_rules_and_zones_are_field_problems(backend: Backend) {
    let app = app!(backend);
    let (_, token) = app.user("hostile").await;
    let start = "2027-02-01T10:00:00Z";
    let end = "2027-02-01T11:00:00Z";
    let cases: Vec<(Value, &str)> = vec![
        (
            series("x", start, end, "FREQ=SECONDLY", "UTC"),
            "recurrence",
        ),
        (
            series("x", start, end, "FREQ=MINUTELY;COUNT=5", "UTC"),
            "recurrence",
        ),
        (series("x", start, end, "FREQ=HOURLY", "UTC"), "recurrence"),
        (
            series("x", start, end, "FREQ=DAILY;BYHOUR=9", "UTC"),
            "recurrence",
        ),
        (
            series("x", start, end, "RRULE:FREQ=DAILY", "UTC"),
            "recurrence",
        ),
        (
            series("x", start, end, "FREQ=DAILY;COUNT=banana", "UTC"),
            "recurrence",
        ),
        // Never produces an occurrence after the first: February 30th.
        (
            series(
                "x",
                start,
                end,
                "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30",
                "UTC",
            ),
            "recurrence",
        ),
        // Far beyond MAX_OCCURRENCES.
        (
            series("x", start, end, "FREQ=DAILY;COUNT=4000000000", "UTC"),
            "recurrence",
        ),
        (
            series("x", start, end, "FREQ=DAILY;COUNT=2001", "UTC"),
            "recurrence",
        ),
        (
            series("x", start, end, "FREQ=MONTHLY;BYDAY=MO;BYSETPOS=400", "UTC"),
            "recurrence",
        ),
        // RFC 5545: a numbered weekday only with MONTHLY or YEARLY.
        (
            series("x", start, end, "FREQ=WEEKLY;BYDAY=1MO;COUNT=5", "UTC"),
            "recurrence",
        ),
        (
            series("x", start, end, "FREQ=DAILY;BYDAY=-1FR", "UTC"),
            "recurrence",
        ),
        // Occurrences 25 hours long, a day apart, overlap each other.
        (
            series(
                "x",
                start,
                "2027-02-02T11:00:00Z",
                "FREQ=DAILY;COUNT=3",
                "UTC",
            ),
            "recurrence",
        ),
        (
            series("x", start, end, "FREQ=WEEKLY", "Mars/Olympus_Mons"),
            "time_zone",
        ),
        (
            json!({"title": "x", "start_time": start, "end_time": end, "transparency": "busy"}),
            "transparency",
        ),
    ];
    for (body, field) in cases {
        let started = Instant::now();
        let res = app.create_event_raw(&token, body.clone()).await;
        let problem =
            assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(
            field_errors(&problem),
            vec![(None, field.to_owned())],
            "{body}: {problem}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{body} took {:?}",
            started.elapsed()
        );
    }
    // A series' expansion problem is listed with the other fields' (every problem at
    // once), in a batch too, also for an item that is otherwise valid.
    let mut overlapping = series(
        "x",
        start,
        "2027-02-02T11:00:00Z",
        "FREQ=DAILY;COUNT=3",
        "UTC",
    );
    overlapping["title"] = json!("  ");
    let res = app.create_event_raw(&token, overlapping.clone()).await;
    let problem = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(
        field_errors(&problem),
        vec![(None, "recurrence".to_owned()), (None, "title".to_owned())]
    );
    let mut blank = single("y", "2027-03-01T10:00:00Z", "2027-03-01T11:00:00Z");
    blank["title"] = json!("");
    overlapping["title"] = json!("x");
    let res = app
        .post(
            "/api/events/batch",
            &json!({"events": [overlapping, blank]}),
            Some(&token),
        )
        .await;
    let problem = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(
        field_errors(&problem),
        vec![
            (Some(0), "events[0].recurrence".to_owned()),
            (Some(1), "events[1].title".to_owned())
        ]
    );
    // So too for an update: a blank title and occurrences made to overlap.
    let daily = created(
        &app,
        &token,
        series(
            "daily",
            "2027-04-01T10:00:00Z",
            "2027-04-01T11:00:00Z",
            "FREQ=DAILY;COUNT=3",
            "UTC",
        ),
    )
    .await;
    let res = app
        .patch(
            &format!("/api/events/{}", id_of(&daily)),
            &json!({"title": " ", "end_time": "2027-04-02T12:00:00Z"}),
            Some(&token),
        )
        .await;
    let problem = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(
        field_errors(&problem),
        vec![(None, "recurrence".to_owned()), (None, "title".to_owned())]
    );
    let res = app
        .patch(
            &format!("/api/events/{}", id_of(&daily)),
            &json!({"title": " "}),
            Some(&token),
        )
        .await;
    let problem = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(field_errors(&problem), vec![(None, "title".to_owned())]);
    let res = app
        .delete(&format!("/api/events/{}", id_of(&daily)), Some(&token))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    // An open-ended daily series and an UNTIL far away are fine: they are checked
    // through the horizon.
    created(
        &app,
        &token,
        series("open", start, end, "FREQ=DAILY", "UTC"),
    )
    .await;
    created(
        &app,
        &token,
        series(
            "until",
            "2027-02-01T12:00:00Z",
            "2027-02-01T13:00:00Z",
            "FREQ=DAILY;UNTIL=99990101T000000Z",
            "UTC",
        ),
    )
    .await;
    assert_eq!(app.count_rows("events"), 2);
}

async fn updates_and_rollbacks_recheck_every_occurrence(backend: Backend) {
    let app = app!(backend);
    let (_, token) = app.user("rechecker").await;
    let lunch = created(
        &app,
        &token,
        single("Lunch", "2027-01-13T12:00:00Z", "2027-01-13T13:00:00Z"),
    )
    .await;
    // Wednesdays 14:00, three weeks.
    let review = created(
        &app,
        &token,
        series(
            "Review",
            "2027-01-06T14:00:00Z",
            "2027-01-06T15:00:00Z",
            "FREQ=WEEKLY;COUNT=3",
            "UTC",
        ),
    )
    .await;
    let path = format!("/api/events/{}", id_of(&review));
    // Moving the series to noon collides with lunch on its second Wednesday.
    let res = app
        .patch(
            &path,
            &json!({"start_time": "2027-01-06T12:30:00Z", "end_time": "2027-01-06T13:30:00Z"}),
            Some(&token),
        )
        .await;
    let problem = assert_problem(res, StatusCode::CONFLICT, "event_conflict").await;
    assert_eq!(problem["conflicts"][0]["id"], lunch["id"]);
    assert_eq!(
        problem["conflicts"][0]["recurrence_id"],
        "2027-01-13T12:00:00Z"
    );
    // A single event again (version 2): its later Wednesdays are free...
    let single_again = app
        .patch_event(&token, id_of(&review), &json!({"recurrence": null}))
        .await;
    assert_eq!(single_again["recurrence"], Value::Null);
    assert_eq!(single_again["version"], 2);
    created(
        &app,
        &token,
        single("Taken", "2027-01-20T14:00:00Z", "2027-01-20T14:30:00Z"),
    )
    .await;
    // ...so restoring the series is refused, naming what is in the way.
    let res = app
        .post(&format!("{path}/rollback/1"), &json!({}), Some(&token))
        .await;
    let problem = assert_problem(res, StatusCode::CONFLICT, "event_conflict").await;
    assert_eq!(
        problem["conflicts"][0]["start_time"],
        "2027-01-20T14:00:00Z"
    );
    // Versions and the diff carry the rule, the zone and the transparency.
    let v1 = app.get_ok(&format!("{path}/versions/1"), &token).await;
    assert_eq!(v1["recurrence"], "FREQ=WEEKLY;COUNT=3");
    assert_eq!(v1["time_zone"], "UTC");
    assert_eq!(v1["transparency"], "opaque");
    let diff = app.get_ok(&format!("{path}/diff/1/2"), &token).await;
    assert_eq!(
        diff["changes"],
        json!({"recurrence": {"from": "FREQ=WEEKLY;COUNT=3", "to": null}})
    );
    // A rule change through PUT is checked too, and a title change alone passes.
    let res = app
        .put(
            &path,
            &json!({"recurrence": "FREQ=WEEKLY;COUNT=3", "time_zone": "Europe/Lisbon"}),
            Some(&token),
        )
        .await;
    assert_problem(res, StatusCode::CONFLICT, "event_conflict").await;
    let renamed = app
        .patch_event(&token, id_of(&review), &json!({"title": "Renamed"}))
        .await;
    assert_eq!(renamed["version"], 3);
}

async fn batch_items_conflict_through_their_occurrences(backend: Backend) {
    let app = app!(backend);
    let (_, token) = app.user("batcher").await;
    let res = app
        .post_batch(
            &token,
            vec![
                series(
                    "Weekly",
                    "2027-06-07T09:00:00Z",
                    "2027-06-07T10:00:00Z",
                    "FREQ=WEEKLY;COUNT=4",
                    "UTC",
                ),
                single("Clash", "2027-06-21T09:30:00Z", "2027-06-21T10:30:00Z"),
                single("Fine", "2027-06-21T10:30:00Z", "2027-06-21T11:30:00Z"),
            ],
        )
        .await;
    let problem = assert_problem(res, StatusCode::CONFLICT, "event_conflict").await;
    let conflicts = problem["conflicts"].as_array().unwrap();
    let item_1 = conflicts.iter().find(|c| c["index"] == 1).unwrap();
    assert_eq!(item_1["batch_index"], 0);
    assert_eq!(item_1["recurrence_id"], "2027-06-21T09:00:00Z");
    let item_0 = conflicts.iter().find(|c| c["index"] == 0).unwrap();
    assert_eq!(item_0["batch_index"], 1);
    assert_eq!(conflicts.len(), 2, "{problem}");
    assert_eq!(app.count_rows("events"), 0);
    // Against stored series too, with the index.
    created(
        &app,
        &token,
        series(
            "Stored",
            "2027-06-07T09:00:00Z",
            "2027-06-07T10:00:00Z",
            "FREQ=WEEKLY;COUNT=4",
            "UTC",
        ),
    )
    .await;
    let res = app
        .post_batch(
            &token,
            vec![
                single("Fine", "2027-06-08T09:00:00Z", "2027-06-08T10:00:00Z"),
                single("Clash", "2027-06-28T09:59:00Z", "2027-06-28T10:30:00Z"),
            ],
        )
        .await;
    let problem = assert_problem(res, StatusCode::CONFLICT, "event_conflict").await;
    assert_eq!(problem["conflicts"][0]["index"], 1);
    assert_eq!(
        problem["conflicts"][0]["recurrence_id"],
        "2027-06-28T09:00:00Z"
    );
}

async fn concurrent_overlapping_series_exactly_one_wins(backend: Backend) {
    let app = app!(backend);
    let (_, token) = app.user("racer").await;
    // Eight series, each starting on a different day, all meeting on 2027-09-10.
    let requests = (0..8)
        .map(|k| {
            app.request(reqwest::Method::POST, "/api/events")
                .bearer_auth(&token)
                .json(&series(
                    &format!("series {k}"),
                    &format!("2027-09-{:02}T10:00:00Z", 3 + k),
                    &format!("2027-09-{:02}T11:00:00Z", 3 + k),
                    "FREQ=DAILY;COUNT=8",
                    "UTC",
                ))
        })
        .collect();
    let results = race(requests).await;
    let created = results
        .iter()
        .filter(|(s, _)| *s == StatusCode::CREATED)
        .count();
    assert_eq!(created, 1, "{results:?}");
    assert!(results
        .iter()
        .all(|(s, _)| *s == StatusCode::CREATED || *s == StatusCode::CONFLICT));
    assert_eq!(app.count_rows("events"), 1);
    assert_eq!(app.count_rows("occurrences"), 8);
}

async fn the_event_list_filters_series_by_their_occurrences(backend: Backend) {
    let app = app!(backend);
    let (_, token) = app.user("lister").await;
    // Mondays 10:00–11:00, four weeks from 2027-01-04; and an open-ended Friday series.
    let monday = id_of(
        &created(
            &app,
            &token,
            series(
                "Monday",
                "2027-01-04T10:00:00Z",
                "2027-01-04T11:00:00Z",
                "FREQ=WEEKLY;COUNT=4",
                "UTC",
            ),
        )
        .await,
    );
    let friday = id_of(
        &created(
            &app,
            &token,
            series(
                "Friday",
                "2027-01-08T10:00:00Z",
                "2027-01-08T11:00:00Z",
                "FREQ=WEEKLY",
                "UTC",
            ),
        )
        .await,
    );
    let window = |from: &str, to: &str| format!("from={from}&to={to}");
    let listed = |q: String| {
        let app = &app;
        let token = &token;
        async move { list_event_ids(app, token, &q).await }
    };
    // The third Monday.
    assert_eq!(
        listed(window("2027-01-18T10:30:00Z", "2027-01-18T12:00:00Z")).await,
        [monday]
    );
    // Between occurrences: nothing.
    assert!(
        listed(window("2027-01-19T00:00:00Z", "2027-01-21T00:00:00Z"))
            .await
            .is_empty()
    );
    // After the Mondays end, only the open-ended series, far in the future too.
    assert_eq!(
        listed(window("2027-02-01T00:00:00Z", "2027-02-08T00:00:00Z")).await,
        [friday]
    );
    assert_eq!(
        listed(window("2040-06-01T00:00:00Z", "2040-06-08T00:00:00Z")).await,
        [friday]
    );
    assert!(
        listed(window("2040-06-02T00:00:00Z", "2040-06-07T00:00:00Z"))
            .await
            .is_empty()
    );
    // Only one end of the window.
    assert_eq!(
        listed("to=2027-01-08T10:30:00Z".to_owned()).await,
        [monday, friday]
    );
    assert_eq!(listed("to=2027-01-05T00:00:00Z".to_owned()).await, [monday]);
    assert_eq!(
        listed("from=2027-01-25T11:00:00Z".to_owned()).await,
        [friday]
    );
    // Without a window, each event once.
    assert_eq!(listed(String::new()).await, [monday, friday]);
}

/// RFC 5545: "The DTSTART property value always counts as the first occurrence" of a
/// `COUNT`, also when the rule would not produce it.
async fn count_includes_a_dtstart_the_rule_would_not_produce(backend: Backend) {
    let app = app!(backend);
    let (_, token) = app.user("offrule").await;
    // 2027-01-05 is a Tuesday; the rule gives Mondays, Wednesdays and Fridays.
    let event = created(
        &app,
        &token,
        series(
            "Off the rule",
            "2027-01-05T10:00:00Z",
            "2027-01-05T11:00:00Z",
            "FREQ=WEEKLY;BYDAY=MO,WE,FR;COUNT=4",
            "UTC",
        ),
    )
    .await;
    let id = id_of(&event);
    let res = app
        .get(
            &format!(
                "/api/occurrences?from=2027-01-01T00:00:00Z&to=2027-03-01T00:00:00Z&event_id={id}"
            ),
            Some(&token),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let page: Value = res.json().await.unwrap();
    let starts: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["start_time"].as_str().unwrap())
        .collect();
    assert_eq!(
        starts,
        [
            "2027-01-05T10:00:00Z",
            "2027-01-06T10:00:00Z",
            "2027-01-08T10:00:00Z",
            "2027-01-11T10:00:00Z"
        ]
    );
    // The Wednesday after is free: the series has ended.
    created(
        &app,
        &token,
        single("After", "2027-01-13T10:00:00Z", "2027-01-13T11:00:00Z"),
    )
    .await;
}

/// Beyond the horizon from now (2028 and later), a series is checked over a horizon's
/// worth of its own occurrences when it is written, not only over its first one.
async fn a_series_years_ahead_is_checked_from_its_first_occurrence(backend: Backend) {
    let app = app!(backend);
    let (_, token) = app.user("planner").await;
    // Mondays 10:00 from 2031-05-05, five times.
    created(
        &app,
        &token,
        series(
            "Far",
            "2031-05-05T10:00:00Z",
            "2031-05-05T11:00:00Z",
            "FREQ=WEEKLY;COUNT=5",
            "UTC",
        ),
    )
    .await;
    let found = conflicts_of(
        &app,
        &token,
        single("Third", "2031-05-19T10:30:00Z", "2031-05-19T11:30:00Z"),
    )
    .await;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].1, "2031-05-19T10:00:00Z");
    // The last one too; the Monday after is free.
    let found = conflicts_of(
        &app,
        &token,
        single("Fifth", "2031-06-02T09:30:00Z", "2031-06-02T10:30:00Z"),
    )
    .await;
    assert_eq!(found[0].1, "2031-06-02T10:00:00Z");
    created(
        &app,
        &token,
        single("After", "2031-06-09T10:00:00Z", "2031-06-09T11:00:00Z"),
    )
    .await;
    // A series without end starting then: its later occurrences are checked too.
    created(
        &app,
        &token,
        series(
            "Open",
            "2031-07-01T08:00:00Z",
            "2031-07-01T09:00:00Z",
            "FREQ=DAILY",
            "UTC",
        ),
    )
    .await;
    let found = conflicts_of(
        &app,
        &token,
        single("Busy", "2032-03-10T08:15:00Z", "2032-03-10T08:45:00Z"),
    )
    .await;
    assert_eq!(found[0].1, "2032-03-10T08:00:00Z");
    // A COUNT is checked in full, however far it reaches: the 190th Monday of 200.
    created(
        &app,
        &token,
        series(
            "Counted",
            "2027-01-04T15:00:00Z",
            "2027-01-04T16:00:00Z",
            "FREQ=WEEKLY;COUNT=200",
            "UTC",
        ),
    )
    .await;
    let found = conflicts_of(
        &app,
        &token,
        single("Late", "2030-08-19T15:30:00Z", "2030-08-19T16:30:00Z"),
    )
    .await;
    assert_eq!(found[0].1, "2030-08-19T15:00:00Z");
    created(
        &app,
        &token,
        single("Done", "2030-11-04T15:00:00Z", "2030-11-04T16:00:00Z"),
    )
    .await;
    // Within one batch alike: a daily series and an item on its third day.
    let res = app
        .post_batch(
            &token,
            vec![
                series(
                    "Daily",
                    "2031-01-01T00:00:00Z",
                    "2031-01-01T01:00:00Z",
                    "FREQ=DAILY;COUNT=5",
                    "UTC",
                ),
                single("Clash", "2031-01-03T00:30:00Z", "2031-01-03T01:30:00Z"),
            ],
        )
        .await;
    let problem = assert_problem(res, StatusCode::CONFLICT, "event_conflict").await;
    let item_1 = problem["conflicts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["index"] == 1)
        .unwrap();
    assert_eq!(item_1["recurrence_id"], "2031-01-03T00:00:00Z");
}

/// An `UNTIL` late in 9999: the series' end is kept within the calendar, so time
/// filters (and SQLite's text order) still find it.
async fn a_series_until_the_end_of_9999_is_listed(backend: Backend) {
    let app = app!(backend);
    let (_, token) = app.user("forever").await;
    let event = created(
        &app,
        &token,
        series(
            "Forever",
            "2027-01-04T09:00:00Z",
            "2027-01-04T10:00:00Z",
            "FREQ=DAILY;UNTIL=99991231T235959Z",
            "UTC",
        ),
    )
    .await;
    let window = "from=2027-01-01T00:00:00Z&to=2027-01-10T00:00:00Z";
    assert_eq!(list_event_ids(&app, &token, window).await, [id_of(&event)]);
    let page = app
        .get_ok(&format!("/api/occurrences?{window}"), &token)
        .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 6);
    // An open yearly series has no occurrence in the last days there are: a `from`
    // there lists it not (the open `to` reaches the last instant, not a day before it).
    let yearly = series(
        "Yearly",
        "2027-02-01T10:00:00Z",
        "2027-02-01T11:00:00Z",
        "FREQ=YEARLY",
        "UTC",
    );
    created(&app, &token, yearly).await;
    let listed = list_event_ids(&app, &token, "from=9999-12-30T00:00:00Z").await;
    assert_eq!(listed, [id_of(&event)]);
    for from in ["9999-12-31T00:00:00Z", "9999-12-31T12:00:00Z"] {
        let listed = list_event_ids(&app, &token, &format!("from={from}")).await;
        assert!(listed.is_empty(), "{from}: {listed:?}");
    }
}
