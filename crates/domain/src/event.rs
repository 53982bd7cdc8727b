//! Event content and its validation: creation input, partial updates and batches.
//!
//! Every rule is checked on every field and all problems are reported at once, so a
//! client can fix a form in one round trip.

use std::fmt;

use chrono::{DateTime, Utc};

use crate::schedule::TimeRange;
use crate::validation::{check_char_len, FieldError};

/// Longest title, in characters; a title also needs a non-whitespace character.
pub const TITLE_MAX: usize = 200;
/// Longest description, in characters.
pub const DESCRIPTION_MAX: usize = 10_000;
/// Longest location, in characters.
pub const LOCATION_MAX: usize = 500;
/// Most events one batch request may create.
pub const BATCH_MAX: usize = 500;

/// A valid event's editable state: exactly what a version snapshots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventContent {
    /// Title as given (not trimmed), 1–[`TITLE_MAX`] chars, not blank.
    pub title: String,
    /// Free text, at most [`DESCRIPTION_MAX`] chars; `""` when not given.
    pub description: String,
    /// When the event takes place, `[start, end)`.
    pub range: TimeRange,
    /// Where, at most [`LOCATION_MAX`] chars; `None` when unset.
    pub location: Option<String>,
}

/// Raw fields of an event to create, as they arrived; `None` when absent.
#[derive(Debug, Clone, Default)]
pub struct EventInput {
    /// Required.
    pub title: Option<String>,
    /// Optional; defaults to `""`.
    pub description: Option<String>,
    /// Required.
    pub start_time: Option<DateTime<Utc>>,
    /// Required; strictly after `start_time`.
    pub end_time: Option<DateTime<Utc>>,
    /// Optional.
    pub location: Option<String>,
}

/// A partial update: `None` leaves a field unchanged.
#[derive(Debug, Clone, Default)]
pub struct EventPatch {
    /// New title.
    pub title: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// New start.
    pub start_time: Option<DateTime<Utc>>,
    /// New end.
    pub end_time: Option<DateTime<Utc>>,
    /// New location; `Some(None)` clears it (JSON `null`), `None` leaves it.
    pub location: Option<Option<String>>,
}

impl EventContent {
    /// Validates a creation input, reporting every field problem at once.
    pub fn parse(input: EventInput) -> Result<Self, Vec<FieldError>> {
        validate(
            input.title,
            input.description.unwrap_or_default(),
            input.start_time,
            input.end_time,
            input.location,
        )
    }

    /// The content after `patch`, validated as a whole with the same rules as
    /// [`EventContent::parse`] (e.g. moving only the end before the start is an error).
    pub fn apply(&self, patch: EventPatch) -> Result<Self, Vec<FieldError>> {
        validate(
            Some(patch.title.unwrap_or_else(|| self.title.clone())),
            patch
                .description
                .unwrap_or_else(|| self.description.clone()),
            Some(patch.start_time.unwrap_or(self.range.start())),
            Some(patch.end_time.unwrap_or(self.range.end())),
            patch.location.unwrap_or_else(|| self.location.clone()),
        )
    }
}

impl EventPatch {
    /// The problems of the fields this patch sets that can be judged without the
    /// event's current state (title, description and location rules). The time range
    /// is judged by [`EventContent::apply`].
    pub fn field_errors(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if let Some(title) = &self.title {
            if title.trim().is_empty() {
                errors.push(FieldError::new("title", "must not be blank"));
            } else {
                check_char_len(&mut errors, "title", title, 1, TITLE_MAX);
            }
        }
        if let Some(description) = &self.description {
            check_char_len(&mut errors, "description", description, 0, DESCRIPTION_MAX);
        }
        if let Some(Some(location)) = &self.location {
            check_char_len(&mut errors, "location", location, 0, LOCATION_MAX);
        }
        errors
    }
}

/// Checks every field (`None` = missing a required one), in wire order, and builds the
/// content if there is no problem.
fn validate(
    title: Option<String>,
    description: String,
    start: Option<DateTime<Utc>>,
    end: Option<DateTime<Utc>>,
    location: Option<String>,
) -> Result<EventContent, Vec<FieldError>> {
    let mut errors = Vec::new();
    match &title {
        None => errors.push(FieldError::new("title", "is required")),
        Some(t) if t.trim().is_empty() => {
            errors.push(FieldError::new("title", "must not be blank"));
        }
        Some(t) => check_char_len(&mut errors, "title", t, 1, TITLE_MAX),
    }
    check_char_len(&mut errors, "description", &description, 0, DESCRIPTION_MAX);
    if start.is_none() {
        errors.push(FieldError::new("start_time", "is required"));
    }
    if end.is_none() {
        errors.push(FieldError::new("end_time", "is required"));
    }
    let range = match (start, end) {
        (Some(start), Some(end)) => match TimeRange::new(start, end) {
            Ok(range) => Some(range),
            Err(_) => {
                errors.push(FieldError::new("end_time", "must be after start_time"));
                None
            }
        },
        _ => None,
    };
    if let Some(location) = &location {
        check_char_len(&mut errors, "location", location, 0, LOCATION_MAX);
    }
    match (title, range) {
        (Some(title), Some(range)) if errors.is_empty() => Ok(EventContent {
            title,
            description,
            range,
            location,
        }),
        _ => Err(errors),
    }
}

/// Validates every item of a batch; each error carries its item's `index`.
///
/// The batch size is checked separately with [`check_batch_size`].
pub fn parse_batch(inputs: Vec<EventInput>) -> Result<Vec<EventContent>, Vec<FieldError>> {
    let mut contents = Vec::with_capacity(inputs.len());
    let mut errors = Vec::new();
    for (index, input) in inputs.into_iter().enumerate() {
        match EventContent::parse(input) {
            Ok(content) => contents.push(content),
            Err(errs) => errors.extend(errs.into_iter().map(|e| e.at(index))),
        }
    }
    if errors.is_empty() {
        Ok(contents)
    } else {
        Err(errors)
    }
}

/// Why a batch has an unacceptable number of items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchSizeError {
    /// No items: the caller answers 422.
    Empty,
    /// More than [`BATCH_MAX`] items: the caller answers 413.
    TooLarge,
}

impl fmt::Display for BatchSizeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("a batch must contain at least one event"),
            Self::TooLarge => write!(f, "a batch may contain at most {BATCH_MAX} events"),
        }
    }
}

/// Checks that a batch holds 1 to [`BATCH_MAX`] items.
pub fn check_batch_size(n: usize) -> Result<(), BatchSizeError> {
    match n {
        0 => Err(BatchSizeError::Empty),
        n if n > BATCH_MAX => Err(BatchSizeError::TooLarge),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod patch_field_tests {
    use super::*;

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
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use chrono::TimeDelta;

    fn at(m: i64) -> DateTime<Utc> {
        DateTime::UNIX_EPOCH + TimeDelta::minutes(m)
    }

    fn input(title: &str, start: i64, end: i64) -> EventInput {
        EventInput {
            title: Some(title.into()),
            start_time: Some(at(start)),
            end_time: Some(at(end)),
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
            EventContent::parse(with("€".repeat(DESCRIPTION_MAX), "€".repeat(LOCATION_MAX)))
                .is_ok()
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
            start_time: Some(at(10)),
            end_time: Some(at(0)),
            location: Some("l".repeat(LOCATION_MAX + 1)),
        };
        assert_eq!(
            fields(EventContent::parse(bad)),
            ["title", "description", "end_time", "location"]
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
    fn batch_errors_carry_index() {
        let ok = parse_batch(vec![input("a", 0, 1), input("b", 1, 2)]).unwrap();
        assert_eq!(ok.len(), 2);
        assert_eq!(ok[1].title, "b");
        let err = parse_batch(vec![
            input("a", 0, 1),
            input("", 0, 1),
            input("c", 0, 1),
            EventInput::default(),
        ])
        .unwrap_err();
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
        assert_eq!(check_batch_size(0), Err(BatchSizeError::Empty));
        assert_eq!(check_batch_size(1), Ok(()));
        assert_eq!(check_batch_size(BATCH_MAX), Ok(()));
        assert_eq!(
            check_batch_size(BATCH_MAX + 1),
            Err(BatchSizeError::TooLarge)
        );
    }
}
