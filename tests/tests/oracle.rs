//! The recurrence oracle: every case in tests/oracle/expansions.json (expanded by
//! python-dateutil with the standard library's zoneinfo, an implementation independent
//! of Convene's; see tests/oracle/expand.py) is created as a series through the API, and
//! `GET /api/occurrences` must list exactly the oracle's occurrences: DST changes in both
//! hemispheres, a half-hour shift, gaps and folds, ordinals, BYSETPOS, WKST, leap days.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use convene_tests::{app, backend_tests, id_of, Backend, StatusCode};
use serde_json::{json, Value};

backend_tests!(convene_expands_like_the_oracle);

const EXPANSIONS: &str = include_str!("../oracle/expansions.json");

async fn convene_expands_like_the_oracle(backend: Backend) {
    let app = app!(backend);
    let cases: Vec<Value> = serde_json::from_str(EXPANSIONS).unwrap();
    assert!(cases.len() >= 10);
    for (k, case) in cases.iter().enumerate() {
        let name = case["name"].as_str().unwrap();
        // One user per case: the cases' busy times may overlap one another.
        let (_, token) = app.user(&format!("oracle{k}")).await;
        let res = app
            .create_event_raw(
                &token,
                json!({
                    "title": name,
                    "start_time": case["start_time"],
                    "end_time": case["end_time"],
                    "time_zone": case["time_zone"],
                    "recurrence": case["recurrence"],
                }),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED, "{name}");
        let event: Value = res.json().await.unwrap();
        let length = chrono::DateTime::parse_from_rfc3339(case["end_time"].as_str().unwrap())
            .unwrap()
            - chrono::DateTime::parse_from_rfc3339(case["start_time"].as_str().unwrap()).unwrap();
        let mut starts = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut path = format!(
                "/api/occurrences?from={}&to={}&event_id={}&limit=200",
                case["from"].as_str().unwrap(),
                case["to"].as_str().unwrap(),
                id_of(&event)
            );
            if let Some(c) = &cursor {
                path.push_str(&format!("&cursor={c}"));
            }
            let page = app.get_ok(&path, &token).await;
            for o in page["items"].as_array().unwrap() {
                let start = o["start_time"].as_str().unwrap().to_owned();
                assert_eq!(o["recurrence_id"], o["start_time"], "{name}");
                let end =
                    chrono::DateTime::parse_from_rfc3339(o["end_time"].as_str().unwrap()).unwrap();
                assert_eq!(
                    end - chrono::DateTime::parse_from_rfc3339(&start).unwrap(),
                    length,
                    "{name}: {o}"
                );
                starts.push(start);
            }
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => break,
            }
        }
        let expected: Vec<String> = case["starts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_owned())
            .collect();
        assert_eq!(starts, expected, "{name}");
    }
}
