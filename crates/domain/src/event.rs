//! Event content and its validation: creation input, partial updates and batches.
//!
//! Every rule is checked on every field and all problems are reported at once, so a
//! client can fix a form in one round trip.

use std::fmt;

use chrono::{DateTime, Utc};

use crate::ids::{EventId, UserId, Version};
use crate::permission::Role;
use crate::schedule::TimeRange;
use crate::time::parse_timestamp;
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

/// An event as stored: its identity, owner, content and version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    /// The event's id.
    pub id: EventId,
    /// Its owner (the creator).
    pub owner: UserId,
    /// Its content.
    pub content: EventContent,
    /// Its current version (the ETag).
    pub version: Version,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Time of the last effective change.
    pub updated_at: DateTime<Utc>,
}

/// Which of a user's events to list, and where a page resumes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilter {
    /// Only events ending after this instant (overlapping `[from, to)`: `from`).
    pub ends_after: Option<DateTime<Utc>>,
    /// Only events starting before this instant (`to`).
    pub starts_before: Option<DateTime<Utc>>,
    /// Only events where the user has this role.
    pub role: Option<Role>,
    /// Keyset position: only events after this `(start_time, id)`.
    pub after: Option<(DateTime<Utc>, EventId)>,
}

/// Raw fields of an event to create, as they arrived; `None` when absent. Timestamps
/// are still text: [`EventContent::parse`] parses them with the other rules.
#[derive(Debug, Clone, Default)]
pub struct EventInput {
    /// Required.
    pub title: Option<String>,
    /// Optional; defaults to `""`.
    pub description: Option<String>,
    /// Required; RFC 3339 (see [`parse_timestamp`]).
    pub start_time: Option<String>,
    /// Required; strictly after `start_time`.
    pub end_time: Option<String>,
    /// Optional.
    pub location: Option<String>,
}

/// Raw fields of a partial update: the outer `None` is an absent field, `Some(None)` a
/// JSON `null`.
#[derive(Debug, Clone, Default)]
pub struct PatchInput {
    /// New title; `null` is refused.
    pub title: Option<Option<String>>,
    /// New description; `null` is refused.
    pub description: Option<Option<String>>,
    /// New start (RFC 3339); `null` is refused.
    pub start_time: Option<Option<String>>,
    /// New end (RFC 3339); `null` is refused.
    pub end_time: Option<Option<String>>,
    /// New location; `null` clears it.
    pub location: Option<Option<String>>,
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

/// The message of a required field that is missing.
const REQUIRED: &str = "is required";

/// A timestamp field: parsed, or the message saying why not.
type Stamp = Result<DateTime<Utc>, &'static str>;

fn stamp(raw: Option<&str>) -> Stamp {
    raw.map_or(Err(REQUIRED), parse_timestamp)
}

impl EventContent {
    /// Parses and validates a creation input, reporting every field problem at once
    /// (in wire order).
    pub fn parse(input: EventInput) -> Result<Self, Vec<FieldError>> {
        validate(
            input.title,
            input.description.unwrap_or_default(),
            stamp(input.start_time.as_deref()),
            stamp(input.end_time.as_deref()),
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
            Ok(patch.start_time.unwrap_or(self.range.start())),
            Ok(patch.end_time.unwrap_or(self.range.end())),
            patch.location.unwrap_or_else(|| self.location.clone()),
        )
    }
}

impl EventPatch {
    /// Parses a raw update. A `null` for a field that cannot be empty and an unparsable
    /// timestamp are refused here, together with every other problem the patch's own
    /// fields have; the rest (the merged time range) is judged by
    /// [`EventContent::apply`] against the event's current state.
    pub fn parse(input: PatchInput) -> Result<Self, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut not_null = |field: &str, value: Option<Option<String>>| match value {
            Some(None) => {
                errors.push(FieldError::new(field, "must not be null"));
                None
            }
            Some(Some(v)) => Some(v),
            None => None,
        };
        let title = not_null("title", input.title);
        let description = not_null("description", input.description);
        let start = not_null("start_time", input.start_time);
        let end = not_null("end_time", input.end_time);
        let mut time = |field: &str, raw: Option<String>| {
            raw.and_then(|r| match parse_timestamp(&r) {
                Ok(t) => Some(t),
                Err(message) => {
                    errors.push(FieldError::new(field, message));
                    None
                }
            })
        };
        let patch = EventPatch {
            title,
            description,
            start_time: time("start_time", start),
            end_time: time("end_time", end),
            location: input.location,
        };
        if errors.is_empty() {
            return Ok(patch);
        }
        let mut more = patch.field_errors();
        more.retain(|e| !errors.iter().any(|f| f.field == e.field));
        errors.extend(more);
        errors.sort_by_key(|e| FIELD_ORDER.iter().position(|f| *f == e.field));
        Err(errors)
    }

    /// The problems of the fields this patch sets that can be judged without the
    /// event's current state (title, description and location rules).
    fn field_errors(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if let Some(title) = &self.title {
            check_title(&mut errors, title);
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

/// The wire order of event fields, in which problems are listed.
const FIELD_ORDER: [&str; 5] = ["title", "description", "start_time", "end_time", "location"];

fn check_title(errors: &mut Vec<FieldError>, title: &str) {
    if title.trim().is_empty() {
        errors.push(FieldError::new("title", "must not be blank"));
    } else {
        check_char_len(errors, "title", title, 1, TITLE_MAX);
    }
}

/// Checks every field (`None` = a missing required one), in wire order, and builds the
/// content if there is no problem.
fn validate(
    title: Option<String>,
    description: String,
    start: Stamp,
    end: Stamp,
    location: Option<String>,
) -> Result<EventContent, Vec<FieldError>> {
    let mut errors = Vec::new();
    match &title {
        None => errors.push(FieldError::new("title", REQUIRED)),
        Some(t) => check_title(&mut errors, t),
    }
    check_char_len(&mut errors, "description", &description, 0, DESCRIPTION_MAX);
    if let Err(message) = start {
        errors.push(FieldError::new("start_time", message));
    }
    if let Err(message) = end {
        errors.push(FieldError::new("end_time", message));
    }
    let range = match (start, end) {
        (Ok(start), Ok(end)) => match TimeRange::new(start, end) {
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

/// Why a batch cannot be created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchError {
    /// More than [`BATCH_MAX`] items (the caller answers 413).
    TooLarge,
    /// Missing, empty, or items with problems; item errors carry their `index`.
    Invalid(Vec<FieldError>),
}

impl fmt::Display for BatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLarge => write!(f, "a batch holds at most {BATCH_MAX} events"),
            Self::Invalid(errors) => write!(f, "{} invalid field(s)", errors.len()),
        }
    }
}

/// Parses a batch: 1 to [`BATCH_MAX`] items (`None` is a missing `events` field), every
/// item's problems reported at once, each error carrying its item's `index`.
pub fn parse_batch(items: Option<Vec<EventInput>>) -> Result<Vec<EventContent>, BatchError> {
    let items =
        items.ok_or_else(|| BatchError::Invalid(vec![FieldError::new("events", REQUIRED)]))?;
    if items.len() > BATCH_MAX {
        return Err(BatchError::TooLarge);
    }
    if items.is_empty() {
        return Err(BatchError::Invalid(vec![FieldError::new(
            "events",
            "must hold at least one event",
        )]));
    }
    let mut contents = Vec::with_capacity(items.len());
    let mut errors = Vec::new();
    for (index, input) in items.into_iter().enumerate() {
        match EventContent::parse(input) {
            Ok(content) => contents.push(content),
            Err(errs) => errors.extend(errs.into_iter().map(|e| e.at(index))),
        }
    }
    if errors.is_empty() {
        Ok(contents)
    } else {
        Err(BatchError::Invalid(errors))
    }
}

#[cfg(test)]
mod tests;
