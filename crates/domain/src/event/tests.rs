//! Unit tests of event validation.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::recurrence::{Exception, OccurrenceChange};
use chrono::TimeDelta;

#[test]
fn patch_fields_are_judged_alone() {
    let patch = EventPatch {
        title: Some("  ".into()),
        description: Some("d".repeat(DESCRIPTION_MAX + 1)),
        location: Some(Some("l".repeat(LOCATION_MAX + 1))),
        ..EventPatch::default()
    };
    let fields: Vec<String> = patch.field_errors().into_iter().map(|e| e.field).collect();
    assert_eq!(fields, ["title", "description", "location"]);
    assert!(EventPatch::default().field_errors().is_empty());
    let clear = EventPatch {
        location: Some(None),
        ..EventPatch::default()
    };
    assert!(clear.field_errors().is_empty());
}

fn at(m: i64) -> DateTime<Utc> {
    DateTime::UNIX_EPOCH + TimeDelta::minutes(m)
}

fn text(m: i64) -> String {
    at(m).to_rfc3339()
}

fn input(title: &str, start: i64, end: i64) -> EventInput {
    EventInput {
        title: Some(title.into()),
        start_time: Some(text(start)),
        end_time: Some(text(end)),
        ..EventInput::default()
    }
}

fn fields<T: fmt::Debug>(r: Result<T, Vec<FieldError>>) -> Vec<String> {
    r.err()
        .unwrap_or_default()
        .into_iter()
        .map(|e| e.field)
        .collect()
}

fn errors<T: fmt::Debug>(r: Result<T, Vec<FieldError>>) -> Vec<(String, String)> {
    r.err()
        .unwrap_or_default()
        .into_iter()
        .map(|e| (e.field, e.message))
        .collect()
}

fn content() -> EventContent {
    EventContent::parse(EventInput {
        description: Some("daily".into()),
        location: Some("Room 1".into()),
        ..input("Standup", 60, 75)
    })
    .unwrap()
}

#[test]
fn parses_minimal_input_with_defaults() {
    let c = EventContent::parse(input("Standup", 0, 30)).unwrap();
    assert_eq!(
        c,
        EventContent {
            title: "Standup".into(),
            description: String::new(),
            range: TimeRange::new(at(0), at(30)).unwrap(),
            location: None,
            time_zone: chrono_tz::UTC,
            recurrence: None,
            transparency: Transparency::Opaque,
            exceptions: Exceptions::new(),
        }
    );
}

#[test]
fn title_is_stored_as_given() {
    let c = EventContent::parse(input("  Standup ", 0, 30)).unwrap();
    assert_eq!(c.title, "  Standup ");
}

#[test]
fn required_fields() {
    assert_eq!(
        errors(EventContent::parse(EventInput::default())),
        [
            ("title".into(), "is required".into()),
            ("start_time".into(), "is required".into()),
            ("end_time".into(), "is required".into()),
        ]
    );
    let no_end = EventInput {
        end_time: None,
        ..input("x", 0, 1)
    };
    assert_eq!(fields(EventContent::parse(no_end)), ["end_time"]);
}

#[test]
fn blank_titles_are_refused() {
    for blank in ["", " ", "\t\n ", "\u{3000}"] {
        assert_eq!(
            errors(EventContent::parse(input(blank, 0, 1))),
            [("title".into(), "must not be blank".into())],
            "{blank:?}"
        );
    }
}

#[test]
fn title_length_bounds_count_chars() {
    assert!(EventContent::parse(input("a", 0, 1)).is_ok());
    assert!(EventContent::parse(input(&"a".repeat(TITLE_MAX), 0, 1)).is_ok());
    assert_eq!(
        fields(EventContent::parse(input(&"a".repeat(TITLE_MAX + 1), 0, 1))),
        ["title"]
    );
    // 200 four-byte characters are 800 bytes, still 200 chars.
    assert!(EventContent::parse(input(&"😀".repeat(200), 0, 1)).is_ok());
    assert_eq!(
        fields(EventContent::parse(input(&"é".repeat(201), 0, 1))),
        ["title"]
    );
}

#[test]
fn description_and_location_bounds() {
    let with = |d: String, l: String| EventInput {
        description: Some(d),
        location: Some(l),
        ..input("t", 0, 1)
    };
    assert!(
        EventContent::parse(with("€".repeat(DESCRIPTION_MAX), "€".repeat(LOCATION_MAX))).is_ok()
    );
    assert!(EventContent::parse(with(String::new(), String::new())).is_ok());
    assert_eq!(
        fields(EventContent::parse(with(
            "d".repeat(DESCRIPTION_MAX + 1),
            "l".into()
        ))),
        ["description"]
    );
    assert_eq!(
        fields(EventContent::parse(with(
            "d".into(),
            "€".repeat(LOCATION_MAX + 1)
        ))),
        ["location"]
    );
}

#[test]
fn end_must_be_after_start() {
    let expected = [("end_time".to_owned(), "must be after start_time".to_owned())];
    assert_eq!(errors(EventContent::parse(input("t", 5, 5))), expected);
    assert_eq!(errors(EventContent::parse(input("t", 5, 4))), expected);
    assert!(EventContent::parse(input("t", 5, 6)).is_ok());
}

#[test]
fn reports_every_problem_at_once() {
    let bad = EventInput {
        title: Some(" ".into()),
        description: Some("d".repeat(DESCRIPTION_MAX + 1)),
        start_time: Some(text(10)),
        end_time: Some(text(0)),
        location: Some("l".repeat(LOCATION_MAX + 1)),
        time_zone: Some("Europe/Nowhere".into()),
        recurrence: Some("FREQ=HOURLY".into()),
        transparency: Some("busy".into()),
    };
    assert_eq!(
        fields(EventContent::parse(bad)),
        [
            "title",
            "description",
            "end_time",
            "location",
            "time_zone",
            "recurrence",
            "transparency"
        ]
    );
    let missing_times = EventInput {
        title: Some("a".repeat(201)),
        ..EventInput::default()
    };
    assert_eq!(
        fields(EventContent::parse(missing_times)),
        ["title", "start_time", "end_time"]
    );
}

#[test]
fn empty_patch_changes_nothing() {
    assert_eq!(content().apply(EventPatch::default()), Ok(content()));
}

#[test]
fn patch_replaces_given_fields_only() {
    let patched = content()
        .apply(EventPatch {
            title: Some("Retro".into()),
            end_time: Some(at(90)),
            ..EventPatch::default()
        })
        .unwrap();
    assert_eq!(
        patched,
        EventContent {
            title: "Retro".into(),
            range: TimeRange::new(at(60), at(90)).unwrap(),
            ..content()
        }
    );
}

#[test]
fn patch_location_set_clear_keep() {
    let cleared = content()
        .apply(EventPatch {
            location: Some(None),
            ..EventPatch::default()
        })
        .unwrap();
    assert_eq!(cleared.location, None);
    let set = cleared
        .apply(EventPatch {
            location: Some(Some("Room 2".into())),
            ..EventPatch::default()
        })
        .unwrap();
    assert_eq!(set.location.as_deref(), Some("Room 2"));
    let kept = set.apply(EventPatch::default()).unwrap();
    assert_eq!(kept.location.as_deref(), Some("Room 2"));
}

#[test]
fn patch_validates_merged_times() {
    // Existing range is [60, 75).
    let end_before_start = EventPatch {
        end_time: Some(at(30)),
        ..EventPatch::default()
    };
    assert_eq!(fields(content().apply(end_before_start)), ["end_time"]);
    let start_after_end = EventPatch {
        start_time: Some(at(75)),
        ..EventPatch::default()
    };
    assert_eq!(fields(content().apply(start_after_end)), ["end_time"]);
    let both_moved = EventPatch {
        start_time: Some(at(100)),
        end_time: Some(at(130)),
        ..EventPatch::default()
    };
    assert_eq!(
        content().apply(both_moved).unwrap().range,
        TimeRange::new(at(100), at(130)).unwrap()
    );
}

#[test]
fn patch_field_rules_apply() {
    let bad = EventPatch {
        title: Some(String::new()),
        description: Some("d".repeat(DESCRIPTION_MAX + 1)),
        location: Some(Some("l".repeat(LOCATION_MAX + 1))),
        ..EventPatch::default()
    };
    assert_eq!(
        fields(content().apply(bad)),
        ["title", "description", "location"]
    );
    let long_title = EventPatch {
        title: Some("t".repeat(TITLE_MAX + 1)),
        ..EventPatch::default()
    };
    assert_eq!(fields(content().apply(long_title)), ["title"]);
}

#[test]
fn unparsable_times_are_reported_with_the_other_fields() {
    let bad = EventInput {
        title: Some(" ".into()),
        start_time: Some("yesterday".into()),
        ..input("t", 0, 1)
    };
    assert_eq!(
        errors(EventContent::parse(bad)),
        [
            ("title".into(), "must not be blank".into()),
            (
                "start_time".into(),
                "must be an RFC 3339 timestamp, e.g. 2030-01-31T09:30:00Z".into()
            ),
        ]
    );
}

#[test]
fn patch_parse_refuses_nulls_and_bad_times_with_the_other_field_rules() {
    let ok = EventPatch::parse(PatchInput {
        title: Some(Some("New".into())),
        end_time: Some(Some(text(5))),
        location: Some(None),
        description: Some(None),
        ..PatchInput::default()
    })
    .unwrap();
    assert_eq!(ok.title.as_deref(), Some("New"));
    assert_eq!(ok.end_time, Some(at(5)));
    assert_eq!(ok.location, Some(None));
    // A null description clears it, as an absent one defaults to "" on create.
    assert_eq!(ok.description.as_deref(), Some(""));
    let bad = EventPatch::parse(PatchInput {
        title: Some(Some(" ".into())),
        start_time: Some(None),
        end_time: Some(Some("soon".into())),
        ..PatchInput::default()
    });
    assert_eq!(fields(bad), ["title", "start_time", "end_time"]);
    let nulls = EventPatch::parse(PatchInput {
        time_zone: Some(None),
        transparency: Some(None),
        recurrence: Some(Some("FREQ=SECONDLY".into())),
        ..PatchInput::default()
    });
    assert_eq!(fields(nulls), ["time_zone", "recurrence", "transparency"]);
    // A null rule makes the event a single one.
    let single = EventPatch::parse(PatchInput {
        recurrence: Some(None),
        ..PatchInput::default()
    })
    .unwrap();
    assert_eq!(single.recurrence, Some(None));
    // Without a null or a bad timestamp, field rules wait for `apply`.
    let blank = EventPatch::parse(PatchInput {
        title: Some(Some(" ".into())),
        ..PatchInput::default()
    });
    assert!(blank.is_ok());
}

#[test]
fn batch_errors_carry_index() {
    let ok = parse_batch(Some(vec![input("a", 0, 1), input("b", 1, 2)])).unwrap();
    assert_eq!(ok.len(), 2);
    assert_eq!(ok[1].title, "b");
    let Err(BatchError::Invalid(err)) = parse_batch(Some(vec![
        input("a", 0, 1),
        input("", 0, 1),
        input("c", 0, 1),
        EventInput::default(),
    ])) else {
        panic!("expected item errors");
    };
    let located: Vec<(Option<usize>, &str)> =
        err.iter().map(|e| (e.index, e.field.as_str())).collect();
    assert_eq!(
        located,
        [
            (Some(1), "title"),
            (Some(3), "title"),
            (Some(3), "start_time"),
            (Some(3), "end_time"),
        ]
    );
}

#[test]
fn batch_size_bounds() {
    let n = |k: usize| Some(vec![input("a", 0, 1); k]);
    let field_of = |r: Result<Vec<EventContent>, BatchError>| match r {
        Err(BatchError::Invalid(e)) => (e[0].field.clone(), e[0].message.clone()),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        field_of(parse_batch(None)),
        ("events".into(), "is required".into())
    );
    assert_eq!(
        field_of(parse_batch(n(0))),
        ("events".into(), "must hold at least one event".into())
    );
    assert_eq!(parse_batch(n(1)).map(|v| v.len()), Ok(1));
    assert_eq!(parse_batch(n(BATCH_MAX)).map(|v| v.len()), Ok(BATCH_MAX));
    assert_eq!(parse_batch(n(BATCH_MAX + 1)), Err(BatchError::TooLarge));
    // Too large is judged before any item is parsed.
    let mut bad = vec![EventInput::default(); BATCH_MAX + 1];
    bad[0].title = Some(String::new());
    assert_eq!(parse_batch(Some(bad)), Err(BatchError::TooLarge));
}

#[test]
fn zone_rule_and_transparency_default_and_parse() {
    let plain = content();
    assert_eq!(plain.time_zone, chrono_tz::UTC);
    assert_eq!(plain.recurrence, None);
    assert!(plain.is_busy());
    let series = EventContent::parse(EventInput {
        time_zone: Some("America/New_York".into()),
        recurrence: Some("FREQ=WEEKLY;COUNT=3".into()),
        transparency: Some("transparent".into()),
        ..input("Weekly", 0, 30)
    })
    .unwrap();
    assert_eq!(series.time_zone, chrono_tz::America::New_York);
    assert_eq!(
        series.recurrence.as_ref().map(Rule::as_str),
        Some("FREQ=WEEKLY;COUNT=3")
    );
    assert!(!series.is_busy());
}

fn weekly(count: u32) -> EventContent {
    EventContent::parse(EventInput {
        recurrence: Some(format!("FREQ=WEEKLY;COUNT={count}")),
        ..input("Weekly", 0, 30)
    })
    .unwrap()
}

const WEEK: i64 = 7 * 24 * 60;

#[test]
fn occurrences_apply_cancellations_and_moves() {
    let mut series = weekly(4);
    let far = at(100 * WEEK);
    let ids: Vec<_> = series
        .occurrences_before(far, 10)
        .unwrap()
        .iter()
        .map(|o| o.recurrence_id)
        .collect();
    assert_eq!(ids, [at(0), at(WEEK), at(2 * WEEK), at(3 * WEEK)]);
    series.exceptions.insert(at(WEEK), Exception::Cancelled);
    let moved = TimeRange::new(at(2 * WEEK + 60), at(2 * WEEK + 90)).unwrap();
    series.exceptions.insert(
        at(2 * WEEK),
        Exception::Changed(OccurrenceChange {
            range: Some(moved),
            ..OccurrenceChange::default()
        }),
    );
    let occurrences = series.occurrences_before(far, 10).unwrap();
    assert_eq!(occurrences.len(), 3);
    // A moved occurrence keeps its identity.
    assert_eq!(occurrences[1].recurrence_id, at(2 * WEEK));
    assert_eq!(occurrences[1].range, moved);
    assert!(occurrences[1].overridden);
    assert!(!occurrences[0].overridden);
    // The same through a window.
    let window = TimeRange::new(at(WEEK), at(3 * WEEK)).unwrap();
    let within = series.occurrences_overlapping(&window, 10);
    assert_eq!(within.len(), 1);
    assert_eq!(within[0].range, moved);
    // The horizon cuts; the limit refuses.
    assert_eq!(
        series.occurrences_before(at(WEEK + 1), 10).unwrap().len(),
        1
    );
    assert_eq!(
        weekly(11).occurrences_before(far, 10).unwrap_err().field,
        "recurrence"
    );
    // A new start, zone or rule resets the exceptions; a new title does not.
    let retitled = series
        .apply(EventPatch {
            title: Some("Renamed".into()),
            ..EventPatch::default()
        })
        .unwrap();
    assert_eq!(retitled.exceptions.len(), 2);
    let moved_series = series
        .apply(EventPatch {
            start_time: Some(at(10)),
            end_time: Some(at(40)),
            ..EventPatch::default()
        })
        .unwrap();
    assert!(moved_series.exceptions.is_empty());
}

#[test]
fn series_end_is_the_last_occurrence_or_none() {
    assert_eq!(content().series_end(10), Some(at(75)));
    assert_eq!(weekly(4).series_end(10), Some(at(3 * WEEK + 30)));
    let open = EventContent::parse(EventInput {
        recurrence: Some("FREQ=DAILY".into()),
        ..input("Daily", 0, 30)
    })
    .unwrap();
    assert_eq!(open.series_end(10), None);
    // An UNTIL late in 9999 plus the length would pass the last instant there is.
    let late = EventContent::parse(EventInput {
        recurrence: Some("FREQ=DAILY;UNTIL=99991231T235959Z".into()),
        ..input("Daily", 0, 30)
    })
    .unwrap();
    assert_eq!(late.series_end(10), Some(crate::time::last_instant()));
    assert_eq!(
        crate::time::last_instant().to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        "9999-12-31T23:59:59.999999Z"
    );
}

#[test]
fn a_single_event_has_one_occurrence_named_by_its_start() {
    let single = content();
    let occurrences = single.occurrences_before(at(0), 1).unwrap();
    assert_eq!(occurrences.len(), 1);
    assert_eq!(occurrences[0].recurrence_id, at(60));
    assert_eq!(occurrences[0].range, single.range);
}

#[test]
fn one_occurrence_changes_apart_from_its_series() {
    let series = weekly(4);
    let far = at(100 * WEEK);
    // Unknown occurrences: none.
    assert!(series
        .change_occurrence(at(WEEK + 1), EventPatch::default())
        .is_none());
    assert!(series.cancel_occurrence(at(5 * WEEK)).is_none());
    let moved = series
        .change_occurrence(
            at(WEEK),
            EventPatch {
                title: Some("Moved".into()),
                start_time: Some(at(WEEK + 60)),
                end_time: Some(at(WEEK + 90)),
                ..EventPatch::default()
            },
        )
        .unwrap()
        .unwrap();
    let second = moved.occurrence(at(WEEK)).unwrap();
    assert_eq!(second.range.start(), at(WEEK + 60));
    assert!(second.overridden);
    assert_eq!(moved.view(second).title, "Moved");
    assert_eq!(moved.view(moved.occurrence(at(0)).unwrap()).title, "Weekly");
    // Changing it back to the series' values removes the exception.
    let back = moved
        .change_occurrence(
            at(WEEK),
            EventPatch {
                title: Some("Weekly".into()),
                start_time: Some(at(WEEK)),
                end_time: Some(at(WEEK + 30)),
                ..EventPatch::default()
            },
        )
        .unwrap()
        .unwrap();
    assert!(back.exceptions.is_empty());
    // Onto another occurrence of the series: a problem with start_time.
    let clash = series
        .change_occurrence(
            at(WEEK),
            EventPatch {
                start_time: Some(at(2 * WEEK + 10)),
                end_time: Some(at(2 * WEEK + 40)),
                ..EventPatch::default()
            },
        )
        .unwrap()
        .unwrap();
    assert_eq!(
        clash.occurrences_before(far, 10).unwrap_err().field,
        "start_time"
    );
    // A bad range is judged like an event's.
    let reversed = series
        .change_occurrence(
            at(WEEK),
            EventPatch {
                end_time: Some(at(WEEK - 1)),
                ..EventPatch::default()
            },
        )
        .unwrap();
    assert_eq!(fields(reversed), ["end_time"]);
    // Cancelled occurrences are gone and cannot be changed.
    let cancelled = series.cancel_occurrence(at(WEEK)).unwrap();
    assert!(cancelled.occurrence(at(WEEK)).is_none());
    assert!(cancelled
        .change_occurrence(at(WEEK), EventPatch::default())
        .is_none());
    // A single event's occurrence is the event itself.
    let single = content();
    assert!(single.cancel_occurrence(at(60)).is_none());
    let renamed = single
        .change_occurrence(
            at(60),
            EventPatch {
                title: Some("Renamed".into()),
                ..EventPatch::default()
            },
        )
        .unwrap()
        .unwrap();
    assert_eq!(renamed.title, "Renamed");
}

#[test]
fn a_series_splits_into_this_and_following() {
    let mut series = weekly(6);
    series.exceptions.insert(at(4 * WEEK), Exception::Cancelled);
    series.exceptions.insert(at(WEEK), Exception::Cancelled);
    let (first, second) = series.split_at(at(3 * WEEK), 100).unwrap();
    assert_eq!(
        first.recurrence.as_ref().map(Rule::as_str),
        Some("FREQ=WEEKLY;COUNT=3")
    );
    assert_eq!(
        second.recurrence.as_ref().map(Rule::as_str),
        Some("FREQ=WEEKLY;COUNT=3")
    );
    assert_eq!(second.range.start(), at(3 * WEEK));
    assert_eq!(
        first.exceptions.keys().copied().collect::<Vec<_>>(),
        [at(WEEK)]
    );
    assert_eq!(
        second.exceptions.keys().copied().collect::<Vec<_>>(),
        [at(4 * WEEK)]
    );
    let far = at(100 * WEEK);
    let ids = |c: &EventContent| -> Vec<DateTime<Utc>> {
        c.occurrences_before(far, 100)
            .unwrap()
            .iter()
            .map(|o| o.recurrence_id)
            .collect()
    };
    let mut both = ids(&first);
    both.extend(ids(&second));
    assert_eq!(both, ids(&series));
    // Not at the first occurrence, nor at one the series does not have.
    assert!(series.split_at(at(0), 100).is_none());
    assert!(series.split_at(at(WEEK), 100).is_none());
    assert!(series.split_at(at(2 * WEEK + 1), 100).is_none());
    assert!(content().split_at(at(60), 100).is_none());
    // Without COUNT the first half ends with UNTIL a second before the split.
    let open = EventContent::parse(EventInput {
        recurrence: Some("FREQ=DAILY".into()),
        ..input("Daily", 0, 30)
    })
    .unwrap();
    let (first, second) = open.split_at(at(3 * 24 * 60), 100).unwrap();
    assert_eq!(
        first.recurrence.as_ref().map(Rule::as_str),
        Some("FREQ=DAILY;UNTIL=19700103T235959Z")
    );
    assert_eq!(first.occurrences_before(far, 1000).unwrap().len(), 3);
    assert_eq!(second.recurrence, open.recurrence);
    // However many occurrences precede the split: without COUNT, none is counted.
    let (first, _) = open.split_at(at(500 * 24 * 60), 100).unwrap();
    assert_eq!(
        first.recurrence.as_ref().map(Rule::as_str),
        Some("FREQ=DAILY;UNTIL=19710515T235959Z")
    );
}

proptest::proptest! {
    /// Moving any occurrence of a weekly series anywhere inside its own week keeps its
    /// identity, and every other occurrence stays where the rule puts it.
    #[test]
    fn a_moved_occurrence_keeps_its_recurrence_id(
        k in 0i64..8,
        shift in -(3 * 24 * 60i64)..(3 * 24 * 60),
    ) {
        let series = weekly(8);
        let rid = at(k * WEEK);
        let moved = series
            .change_occurrence(
                rid,
                EventPatch {
                    start_time: Some(rid + TimeDelta::minutes(shift)),
                    end_time: Some(rid + TimeDelta::minutes(shift + 30)),
                    ..EventPatch::default()
                },
            )
            .unwrap()
            .unwrap();
        let all = moved.occurrences_before(at(100 * WEEK), 10).unwrap();
        proptest::prop_assert_eq!(all.len(), 8);
        for o in &all {
            if o.recurrence_id == rid {
                proptest::prop_assert_eq!(o.range.start(), rid + TimeDelta::minutes(shift));
                proptest::prop_assert_eq!(o.overridden, shift != 0);
            } else {
                proptest::prop_assert_eq!(o.range.start(), o.recurrence_id);
                proptest::prop_assert!(!o.overridden);
            }
        }
        proptest::prop_assert_eq!(moved.occurrence(rid).map(|o| o.recurrence_id), Some(rid));
    }
}

#[test]
fn a_far_move_hides_no_occurrence_of_a_window() {
    // Daily, 100 times; the first moved 120 days on. A window in between still lists
    // its own days, however small the limit, and the moved one where it now is.
    const DAY: i64 = 24 * 60;
    let mut daily = EventContent::parse(EventInput {
        recurrence: Some("FREQ=DAILY;COUNT=100".into()),
        ..input("Daily", 0, 30)
    })
    .unwrap();
    let moved = TimeRange::new(at(120 * DAY), at(120 * DAY + 30)).unwrap();
    daily.exceptions.insert(
        at(0),
        Exception::Changed(OccurrenceChange {
            range: Some(moved),
            ..OccurrenceChange::default()
        }),
    );
    let window = TimeRange::new(at(60 * DAY), at(63 * DAY)).unwrap();
    let ids = |series: &EventContent, limit| -> Vec<_> {
        series
            .occurrences_overlapping(&window, limit)
            .iter()
            .map(|o| o.recurrence_id)
            .collect()
    };
    assert_eq!(ids(&daily, 1), [at(60 * DAY)]);
    assert_eq!(ids(&daily, 3), [at(60 * DAY), at(61 * DAY), at(62 * DAY)]);
    let later = TimeRange::new(at(119 * DAY), at(121 * DAY)).unwrap();
    let found = daily.occurrences_overlapping(&later, 1);
    assert_eq!(found.len(), 1);
    assert_eq!((found[0].recurrence_id, found[0].range), (at(0), moved));
    // Moved into the middle of a window: in start order among the rule's.
    daily.exceptions.insert(
        at(0),
        Exception::Changed(OccurrenceChange {
            range: Some(TimeRange::new(at(61 * DAY + 60), at(61 * DAY + 90)).unwrap()),
            ..OccurrenceChange::default()
        }),
    );
    assert_eq!(ids(&daily, 3), [at(60 * DAY), at(61 * DAY), at(0)]);
}

#[test]
fn windows_at_the_ends_of_time_do_not_overflow() {
    let mut series = weekly(4);
    series.exceptions.insert(
        at(WEEK),
        Exception::Changed(OccurrenceChange {
            range: Some(TimeRange::new(at(WEEK + 60), at(WEEK + 90)).unwrap()),
            ..OccurrenceChange::default()
        }),
    );
    let everything = TimeRange::new(DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC).unwrap();
    assert_eq!(series.occurrences_overlapping(&everything, 10).len(), 4);
    let open = EventContent::parse(EventInput {
        recurrence: Some("FREQ=DAILY".into()),
        ..input("Daily", 0, 30)
    })
    .unwrap();
    let early = TimeRange::new(DateTime::<Utc>::MIN_UTC, at(3 * 24 * 60)).unwrap();
    assert_eq!(open.occurrences_overlapping(&early, 10).len(), 3);
    // A window open at its end (a list with `from` only) reaches the end of time.
    let late = TimeRange::new(at(2 * WEEK), DateTime::<Utc>::MAX_UTC).unwrap();
    assert_eq!(series.occurrences_overlapping(&late, 10).len(), 2);
    let late = TimeRange::new(at(2 * WEEK), crate::recurrence::end_of_time()).unwrap();
    assert_eq!(series.occurrences_overlapping(&late, 10).len(), 2);
    assert_eq!(open.occurrences_overlapping(&late, 10).len(), 10);
}
