//! iCalendar import (`POST /api/events/import`) and the round trips: a file exported by
//! Google Calendar (hand-written with Google's shapes under tests/oracle/ical/import/)
//! imports and lists exactly as an independent RFC 5545 implementation expands it
//! (tests/oracle/ical.py: icalendar + recurring-ical-events, results committed in
//! tests/oracle/ical/expansions.json and re-derived in CI); and what Convene exports
//! (tests/oracle/ical/export/, checked here to be what the server writes) expands there
//! to exactly the occurrences `GET /api/occurrences` lists.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use convene_tests::{
    app, assert_problem, backend_tests, field_errors, id_of, Backend, StatusCode, TestApp,
};
use serde_json::{json, Value};

backend_tests!(
    google_calendar_files_import_as_the_oracle_lists_them,
    exports_expand_elsewhere_to_the_listed_occurrences,
    imports_are_atomic_with_indexed_problems,
    import_reads_durations_overrides_and_zones,
    malformed_and_oversized_files_are_refused,
);

fn oracle_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("oracle/ical")
}

fn cases() -> Vec<Value> {
    serde_json::from_str(&std::fs::read_to_string(oracle_dir().join("cases.json")).unwrap())
        .unwrap()
}

fn expansion(name: &str) -> Vec<Value> {
    let all: Value = serde_json::from_str(
        &std::fs::read_to_string(oracle_dir().join("expansions.json")).unwrap(),
    )
    .unwrap();
    all[name].as_array().unwrap().clone()
}

async fn import(app: &TestApp, token: &str, query: &str, file: &str) -> reqwest::Response {
    app.request(reqwest::Method::POST, &format!("/api/events/import{query}"))
        .bearer_auth(token)
        .header("Content-Type", "text/calendar; charset=utf-8")
        .body(file.to_owned())
        .send()
        .await
        .unwrap()
}

fn instant(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().unwrap())
        .unwrap()
        .with_timezone(&Utc)
}

/// An occurrence as compared: start, end, recurrence id, title, transparency.
type Seen = (DateTime<Utc>, String, DateTime<Utc>, DateTime<Utc>, String);

fn seen(o: &Value) -> Seen {
    (
        instant(&o["start_time"]),
        o["title"].as_str().unwrap().to_owned(),
        instant(&o["end_time"]),
        instant(&o["recurrence_id"]),
        o["transparency"].as_str().unwrap().to_owned(),
    )
}

/// Every occurrence of the caller's calendar overlapping `[from, to)`, all pages.
async fn listed(app: &TestApp, token: &str, from: &str, to: &str) -> Vec<Seen> {
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/api/occurrences?from={from}&to={to}&limit=200");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let page = app.get_ok(&path, token).await;
        all.extend(page["items"].as_array().unwrap().iter().map(seen));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    all.sort();
    all
}

fn expected(name: &str) -> Vec<Seen> {
    let mut all: Vec<Seen> = expansion(name).iter().map(seen).collect();
    all.sort();
    all
}

async fn google_calendar_files_import_as_the_oracle_lists_them(backend: Backend) {
    let app = app!(backend);
    let mut imported = 0;
    for (k, case) in cases().iter().enumerate() {
        let file = case["file"].as_str().unwrap();
        if !file.starts_with("import/") {
            continue;
        }
        let name = case["name"].as_str().unwrap();
        let (_, token) = app.user(&format!("importer{k}")).await;
        let text = std::fs::read_to_string(oracle_dir().join(file)).unwrap();
        let zone = case["time_zone"].as_str().unwrap();
        let res = import(&app, &token, &format!("?time_zone={zone}"), &text).await;
        assert_eq!(
            res.status(),
            StatusCode::CREATED,
            "{name}: {}",
            res.text().await.unwrap()
        );
        let body: Value = res.json().await.unwrap();
        assert!(!body["created"].as_array().unwrap().is_empty());
        let got = listed(
            &app,
            &token,
            case["from"].as_str().unwrap(),
            case["to"].as_str().unwrap(),
        )
        .await;
        let want = expected(name);
        assert!(want.len() >= 10, "{name}");
        assert_eq!(got, want, "{name}: Convene's occurrences vs the oracle's");
        imported += 1;
    }
    assert_eq!(imported, 3);
}

/// Lines of an exported document that change with time or ids, made stable.
fn normalised(text: &str) -> String {
    let mut uids: Vec<String> = Vec::new();
    text.split("\r\n")
        .map(|line| {
            for name in ["DTSTAMP:", "LAST-MODIFIED:", "CREATED:"] {
                if line.starts_with(name) {
                    return format!("{name}20270101T000000Z");
                }
            }
            if let Some(uid) = line.strip_prefix("UID:") {
                let n = match uids.iter().position(|u| u == uid) {
                    Some(n) => n,
                    None => {
                        uids.push(uid.to_owned());
                        uids.len() - 1
                    }
                };
                return format!("UID:event-{}@convene", n + 1);
            }
            line.to_owned()
        })
        .collect::<Vec<_>>()
        .join("\r\n")
}

/// The export cases: each a series (or event) made through the API, with changes.
async fn make_export_case(app: &TestApp, token: &str, name: &str) -> i64 {
    let create = |body: Value| async move {
        let res = app.create_event_raw(token, body).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        id_of(&res.json::<Value>().await.unwrap())
    };
    match name {
        "export-berlin-weekly" => {
            let id = create(
                json!({"title": "Team sync", "description": "Agenda: one, two",
                "location": "Room 4", "start_time": "2027-03-01T08:00:00Z",
                "end_time": "2027-03-01T09:00:00Z", "time_zone": "Europe/Berlin",
                "recurrence": "FREQ=WEEKLY;BYDAY=MO;UNTIL=20271129T080000Z"}),
            )
            .await;
            // Cancel one in summer time, move another across the week, rename a third.
            app.cancel_occurrence(token, id, "2027-04-05T07:00:00Z")
                .await;
            for (rid, body) in [
                (
                    "2027-03-22T08:00:00Z",
                    json!({"start_time": "2027-03-24T13:00:00Z", "end_time": "2027-03-24T14:30:00Z"}),
                ),
                (
                    "2027-11-01T08:00:00Z",
                    json!({"title": "Team sync (retro)"}),
                ),
            ] {
                app.patch_occurrence(token, id, rid, &body).await;
            }
            id
        }
        "export-newyork-daily" => {
            let id = create(
                json!({"title": "Standup", "start_time": "2027-03-10T07:30:00Z",
                "end_time": "2027-03-10T07:45:00Z", "time_zone": "America/New_York",
                "recurrence": "FREQ=DAILY;COUNT=30;BYDAY=MO,TU,WE,TH,FR",
                "transparency": "transparent"}),
            )
            .await;
            app.cancel_occurrence(token, id, "2027-03-15T06:30:00Z")
                .await;
            id
        }
        "export-sydney-monthly" => {
            create(
                json!({"title": "Review", "start_time": "2027-01-28T23:00:00Z",
                "end_time": "2027-01-29T00:00:00Z", "time_zone": "Australia/Sydney",
                "recurrence": "FREQ=MONTHLY;BYDAY=FR;BYSETPOS=-1;COUNT=12"}),
            )
            .await
        }
        other => panic!("no export case {other}"),
    }
}

async fn exports_expand_elsewhere_to_the_listed_occurrences(backend: Backend) {
    let app = app!(backend);
    let bless = std::env::var_os("ICAL_BLESS").is_some();
    let mut checked = 0;
    for (k, case) in cases().iter().enumerate() {
        let file = case["file"].as_str().unwrap();
        if !file.starts_with("export/") {
            continue;
        }
        let name = case["name"].as_str().unwrap();
        let (_, token) = app.user(&format!("exporter{k}")).await;
        let id = make_export_case(&app, &token, name).await;
        let res = app
            .request(reqwest::Method::GET, &format!("/api/events/{id}"))
            .bearer_auth(&token)
            .header("Accept", "text/calendar")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let text = normalised(&res.text().await.unwrap());
        let path = oracle_dir().join(file);
        if bless {
            std::fs::write(&path, &text).unwrap();
        }
        let committed = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text, committed,
            "{name}: the export differs from {file} (what the oracle expanded); \
             if the change is intended, rewrite it with ICAL_BLESS=1 and re-run \
             tests/oracle/run.sh"
        );
        let got = listed(
            &app,
            &token,
            case["from"].as_str().unwrap(),
            case["to"].as_str().unwrap(),
        )
        .await;
        if !bless {
            let want = expected(name);
            assert!(want.len() >= 10, "{name}");
            assert_eq!(
                got, want,
                "{name}: listed vs the oracle's expansion of the export"
            );
        }
        checked += 1;
    }
    assert_eq!(checked, 3);
}

const HEAD: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Test//Test//EN\r\n";
const TAIL: &str = "END:VCALENDAR\r\n";

fn vevent(uid: &str, lines: &[&str]) -> String {
    let mut s = format!("BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20270101T000000Z\r\n");
    for l in lines {
        s.push_str(l);
        s.push_str("\r\n");
    }
    s.push_str("END:VEVENT\r\n");
    s
}

fn calendar(events: &[String]) -> String {
    format!("{HEAD}{}{TAIL}", events.concat())
}

async fn imports_are_atomic_with_indexed_problems(backend: Backend) {
    let app = app!(backend);
    let (_, token) = app.user("alice").await;
    app.create_event(
        &token,
        "Existing",
        "2027-05-03T10:00:00Z",
        "2027-05-03T11:00:00Z",
    )
    .await;
    let good = vevent(
        "a",
        &[
            "SUMMARY:Fine",
            "DTSTART:20270601T100000Z",
            "DTEND:20270601T110000Z",
        ],
    );
    // An unknown zone names the component (index 1) and the field.
    let file = calendar(&[
        good.clone(),
        vevent(
            "b",
            &[
                "SUMMARY:Where",
                "DTSTART;TZID=Mars/Olympus:20270602T100000",
                "DTEND;TZID=Mars/Olympus:20270602T110000",
            ],
        ),
        vevent(
            "c",
            &[
                "SUMMARY:Backwards",
                "DTSTART:20270603T110000Z",
                "DTEND:20270603T100000Z",
            ],
        ),
    ]);
    let res = import(&app, &token, "", &file).await;
    let problem = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(
        field_errors(&problem),
        vec![
            (Some(1), "time_zone".to_owned()),
            (Some(2), "end_time".to_owned())
        ],
        "{problem}"
    );
    // A conflict with a stored event names the component; VTIMEZONE blocks do not
    // count as components.
    let clash = vevent(
        "d",
        &[
            "SUMMARY:Clash",
            "DTSTART;TZID=Europe/Berlin:20270503T123000",
            "DTEND;TZID=Europe/Berlin:20270503T130000",
        ],
    );
    let file = format!(
        "{HEAD}BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\nEND:VTIMEZONE\r\n{good}{clash}{TAIL}"
    );
    let res = import(&app, &token, "", &file).await;
    let problem = assert_problem(res, StatusCode::CONFLICT, "event_conflict").await;
    let conflicts = problem["conflicts"].as_array().unwrap();
    assert_eq!(conflicts.len(), 1, "{problem}");
    assert_eq!(conflicts[0]["index"], 1);
    assert_eq!(conflicts[0]["title"], "Existing");
    // Components that overlap one another name each other.
    let twin = vevent(
        "e",
        &["SUMMARY:Twin", "DTSTART:20270601T103000Z", "DURATION:PT1H"],
    );
    let res = import(
        &app,
        &token,
        "",
        &calendar(&[good.clone(), clash.replace("20270503", "20270505"), twin]),
    )
    .await;
    let problem = assert_problem(res, StatusCode::CONFLICT, "event_conflict").await;
    let indexed: Vec<(i64, Option<i64>)> = problem["conflicts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["index"].as_i64().unwrap(), c["batch_index"].as_i64()))
        .collect();
    assert_eq!(indexed, [(0, Some(2)), (2, Some(0))], "{problem}");
    // Nothing of either attempt was stored.
    let list = app.get_ok("/api/events", &token).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    // A well-formed file imports in file order.
    let file = calendar(&[
        good,
        vevent(
            "f",
            &[
                "SUMMARY:Later",
                "DTSTART:20270701T100000Z",
                "DTEND:20270701T110000Z",
            ],
        ),
    ]);
    let res = import(&app, &token, "", &file).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let body: Value = res.json().await.unwrap();
    let titles: Vec<&str> = body["created"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["Fine", "Later"]);
    assert_eq!(body["created"][0]["version"], 1);
}

async fn import_reads_durations_overrides_and_zones(backend: Backend) {
    let app = app!(backend);
    let (_, token) = app.user("alice").await;
    let file = format!(
        "{HEAD}X-WR-TIMEZONE:America/New_York\r\n\
BEGIN:VTIMEZONE\r\nTZID:Custom Berlin\r\nX-LIC-LOCATION:Europe/Berlin\r\nEND:VTIMEZONE\r\n{}{}{}{}{}{TAIL}",
        // 0: a VTIMEZONE alias; DURATION of a nominal day across the DST change keeps
        // the wall clock (23 hours).
        vevent("s", &["SUMMARY:Long day", "DTSTART;TZID=Custom Berlin:20270327T120000", "DURATION:P1D"]),
        // 1: floating, in X-WR-TIMEZONE; a series with an EXDATE naming no occurrence.
        vevent("w", &["SUMMARY:Weekly", "DTSTART:20270405T090000", "DTEND:20270405T100000",
            "RRULE:FREQ=WEEKLY;COUNT=3", "EXDATE:20270406T090000"]),
        // 2: its moved second occurrence, with its own title.
        vevent("w", &["RECURRENCE-ID:20270412T090000", "SUMMARY:Weekly (moved)",
            "DTSTART:20270413T150000", "DTEND:20270413T160000"]),
        // 3: an occurrence whose series is not in the file: an event of its own.
        vevent("orphan", &["RECURRENCE-ID:20270501T090000Z", "SUMMARY:Lone",
            "DTSTART:20270501T090000Z", "DTEND:20270501T093000Z"]),
        // 4: a cancelled master is skipped.
        vevent("gone", &["SUMMARY:Gone", "STATUS:CANCELLED", "DTSTART:20270601T090000Z",
            "DTEND:20270601T093000Z"]),
    );
    let res = import(&app, &token, "?time_zone=Asia/Tokyo", &file).await;
    assert_eq!(
        res.status(),
        StatusCode::CREATED,
        "{}",
        res.text().await.unwrap()
    );
    let body: Value = res.json().await.unwrap();
    let created = body["created"].as_array().unwrap();
    let titles: Vec<&str> = created
        .iter()
        .map(|e| e["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["Long day", "Weekly", "Lone"]);
    assert_eq!(created[0]["time_zone"], "Europe/Berlin");
    assert_eq!(created[0]["start_time"], "2027-03-27T11:00:00Z");
    assert_eq!(created[0]["end_time"], "2027-03-28T10:00:00Z");
    assert_eq!(created[1]["time_zone"], "America/New_York");
    assert_eq!(created[1]["recurrence"], "FREQ=WEEKLY;COUNT=3");
    let got = listed(&app, &token, "2027-04-01T00:00:00Z", "2027-05-01T00:00:00Z").await;
    let starts: Vec<(String, String)> = got
        .iter()
        .map(|(start, title, ..)| (start.to_rfc3339(), title.clone()))
        .collect();
    assert_eq!(
        starts,
        [
            ("2027-04-05T13:00:00+00:00".to_owned(), "Weekly".to_owned()),
            (
                "2027-04-13T19:00:00+00:00".to_owned(),
                "Weekly (moved)".to_owned()
            ),
            ("2027-04-19T13:00:00+00:00".to_owned(), "Weekly".to_owned()),
        ]
    );
    // All-day events cover their days in the requested zone, transparent.
    let file = calendar(&[vevent(
        "day",
        &[
            "SUMMARY:Holiday",
            "DTSTART;VALUE=DATE:20270810",
            "DTEND;VALUE=DATE:20270812",
            "TRANSP:OPAQUE",
        ],
    )]);
    let res = import(&app, &token, "?time_zone=Asia/Tokyo", &file).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let body: Value = res.json().await.unwrap();
    let day = &body["created"][0];
    assert_eq!(day["start_time"], "2027-08-09T15:00:00Z");
    assert_eq!(day["end_time"], "2027-08-11T15:00:00Z");
    assert_eq!(day["transparency"], "transparent");
    assert_eq!(day["time_zone"], "Asia/Tokyo");
    // Outlook names zones the Windows way, in quotes, with a VTIMEZONE of rules only.
    let outlook = format!(
        "{HEAD}BEGIN:VTIMEZONE\r\nTZID:W. Europe Standard Time\r\n\
BEGIN:STANDARD\r\nDTSTART:16010101T030000\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\n\
RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10\r\nEND:STANDARD\r\n\
BEGIN:DAYLIGHT\r\nDTSTART:16010101T020000\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\n\
RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3\r\nEND:DAYLIGHT\r\nEND:VTIMEZONE\r\n{}{TAIL}",
        vevent(
            "outlook",
            &[
                "SUMMARY:From Outlook",
                "DTSTART;TZID=\"W. Europe Standard Time\":20270301T090000",
                "DTEND;TZID=\"W. Europe Standard Time\":20270301T100000",
            ],
        ),
    );
    let res = import(&app, &token, "", &outlook).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let body: Value = res.json().await.unwrap();
    let event = &body["created"][0];
    assert_eq!(event["time_zone"], "Europe/Berlin");
    assert_eq!(event["start_time"], "2027-03-01T08:00:00Z");
    // A name that is neither IANA nor Windows: 422 naming time_zone.
    let res = import(
        &app,
        &token,
        "",
        &calendar(&[vevent(
            "mars",
            &[
                "SUMMARY:x",
                "DTSTART;TZID=Olympus Mons Time:20270301T090000",
                "DURATION:PT1H",
            ],
        )]),
    )
    .await;
    let problem = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(
        field_errors(&problem),
        vec![(Some(0), "time_zone".to_owned())]
    );
    // An unknown zone in the query: 422 naming time_zone.
    let res = import(&app, &token, "?time_zone=Nowhere/Land", &file).await;
    let problem = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(field_errors(&problem), vec![(None, "time_zone".to_owned())]);
}

async fn malformed_and_oversized_files_are_refused(backend: Backend) {
    let app = app!(backend);
    let (_, token) = app.user("alice").await;
    for bad in [
        "hello, world",
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\n",
        "BEGIN:VEVENT\r\nSUMMARY:x\r\nEND:VEVENT\r\n",
        "",
    ] {
        let res = import(&app, &token, "", bad).await;
        assert_problem(res, StatusCode::BAD_REQUEST, "malformed_body").await;
    }
    // Not text/calendar: 415.
    let res = app
        .request(reqwest::Method::POST, "/api/events/import")
        .bearer_auth(&token)
        .json(&json!({"events": []}))
        .send()
        .await
        .unwrap();
    assert_problem(
        res,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    )
    .await;
    // The same bytes as application/octet-stream (untyped uploads) are read alike.
    let res = app
        .request(reqwest::Method::POST, "/api/events/import")
        .bearer_auth(&token)
        .header("Content-Type", "application/octet-stream")
        .body(calendar(&[vevent(
            "bin",
            &["SUMMARY:Bytes", "DTSTART:20280101T100000Z", "DURATION:PT1H"],
        )]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    // A duration past the calendar's end: 422 on end_time, not a dead worker.
    for huge in ["P4294967295D", "P4294967295W", "PT4294967295H"] {
        let res = import(
            &app,
            &token,
            "",
            &calendar(&[vevent(
                "huge",
                &[
                    "SUMMARY:Forever",
                    "DTSTART:20270901T090000Z",
                    &format!("DURATION:{huge}"),
                ],
            )]),
        )
        .await;
        let problem =
            assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(
            field_errors(&problem),
            vec![(Some(0), "end_time".to_owned())]
        );
    }
    // A fold counted in octets may split a character ("é" is C3 A9): the file is UTF-8
    // once unfolded, and reads so; bytes that are not UTF-8 even then are 400.
    let split = calendar(&[vevent(
        "fold",
        &[
            "SUMMARY:caf\u{2}",
            "DTSTART:20280102T100000Z",
            "DURATION:PT1H",
        ],
    )]);
    let mut bytes = split.into_bytes();
    let at = bytes.iter().position(|b| *b == 2).unwrap();
    bytes.splice(at..=at, [0xC3, b'\r', b'\n', b' ', 0xA9, b' ', b'o', b'k']);
    let send = |body: Vec<u8>| {
        app.request(reqwest::Method::POST, "/api/events/import")
            .bearer_auth(&token)
            .header("Content-Type", "text/calendar")
            .body(body)
            .send()
    };
    let res = send(bytes.clone()).await.unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let created: Value = res.json().await.unwrap();
    assert_eq!(created["created"][0]["title"], "café ok");
    let not_utf8: Vec<u8> = bytes
        .iter()
        .map(|b| if *b == 0xA9 { 0xFF } else { *b })
        .collect();
    let res = send(not_utf8).await.unwrap();
    assert_problem(res, StatusCode::BAD_REQUEST, "malformed_body").await;
    // Not authenticated: 401 before anything else.
    let res = app
        .request(reqwest::Method::POST, "/api/events/import")
        .header("Content-Type", "text/calendar")
        .body(calendar(&[]))
        .send()
        .await
        .unwrap();
    assert_problem(res, StatusCode::UNAUTHORIZED, "unauthorized").await;
    // 501 VEVENTs: 413; 500 are fine.
    let many = |n: usize| {
        let events: Vec<String> = (0..n)
            .map(|i| {
                let start = chrono::DateTime::parse_from_rfc3339("2027-01-01T00:00:00Z").unwrap()
                    + chrono::Duration::hours(i as i64);
                vevent(
                    &format!("m{i}"),
                    &[
                        &format!("SUMMARY:Item {i}"),
                        &format!("DTSTART:{}", start.format("%Y%m%dT%H%M%SZ")),
                        "DURATION:PT30M",
                    ],
                )
            })
            .collect();
        calendar(&events)
    };
    let res = import(&app, &token, "", &many(501)).await;
    assert_problem(res, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
    let res = import(&app, &token, "", &many(500)).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["created"].as_array().unwrap().len(), 500);
    // An empty calendar imports nothing.
    let res = import(&app, &token, "", &calendar(&[])).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["created"], json!([]));
}
