//! Event content and its validation: creation input, partial updates and batches.
//!
//! Every rule is checked on every field and all problems are reported at once, so a
//! client can fix a form in one round trip.

use std::fmt;

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use chrono_tz::Tz;

use crate::ids::{EventId, UserId, Version};
use crate::permission::Role;
use crate::recurrence::{
    apply_exceptions, end_of_time, parse_time_zone, Exception, Exceptions, Occurrence,
    OccurrenceChange, Rule, RuleEnd, Series, DEFAULT_TIME_ZONE,
};
use crate::schedule::TimeRange;
use crate::time::parse_timestamp;
use crate::validation::{check_text, FieldError};

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
    /// The wall clock a series repeats in ([`DEFAULT_TIME_ZONE`] when not given).
    pub time_zone: Tz,
    /// The recurrence rule; `None` for a single event.
    pub recurrence: Option<Rule>,
    /// Whether the event's time is busy.
    pub transparency: Transparency,
    /// Cancelled and edited occurrences of a series (always empty for a single event).
    pub exceptions: Exceptions,
}

/// One occurrence as a reader sees it: when it is and what it shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OccurrenceView {
    /// Its identity and time.
    pub occurrence: Occurrence,
    /// Its title (its own, or the series').
    pub title: String,
    /// Its description.
    pub description: String,
    /// Its location.
    pub location: Option<String>,
}

fn stamp_text(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// Whether an event's time is busy: opaque time conflicts, transparent time never does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Transparency {
    /// Busy (the default).
    #[default]
    Opaque,
    /// Free: a reminder, a holiday marker.
    Transparent,
}

impl Transparency {
    /// The wire and storage name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Opaque => "opaque",
            Self::Transparent => "transparent",
        }
    }

    /// Parses the wire name; the error names the field `transparency`.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        match raw {
            "opaque" => Ok(Self::Opaque),
            "transparent" => Ok(Self::Transparent),
            _ => Err(FieldError::new(
                "transparency",
                "must be \"opaque\" or \"transparent\"",
            )),
        }
    }
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
    /// Optional IANA zone name; `UTC` when absent.
    pub time_zone: Option<String>,
    /// Optional RRULE value; absent (or null) for a single event.
    pub recurrence: Option<String>,
    /// Optional `opaque` (default) or `transparent`.
    pub transparency: Option<String>,
}

/// Raw fields of a partial update: the outer `None` is an absent field, `Some(None)` a
/// JSON `null`.
#[derive(Debug, Clone, Default)]
pub struct PatchInput {
    /// New title; `null` is refused.
    pub title: Option<Option<String>>,
    /// New description; `null` clears it (`""`, the default on create).
    pub description: Option<Option<String>>,
    /// New start (RFC 3339); `null` is refused.
    pub start_time: Option<Option<String>>,
    /// New end (RFC 3339); `null` is refused.
    pub end_time: Option<Option<String>>,
    /// New location; `null` clears it.
    pub location: Option<Option<String>>,
    /// New zone; `null` is refused.
    pub time_zone: Option<Option<String>>,
    /// New rule; `null` makes the event a single one.
    pub recurrence: Option<Option<String>>,
    /// New transparency; `null` is refused.
    pub transparency: Option<Option<String>>,
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
    /// New zone.
    pub time_zone: Option<Tz>,
    /// New rule; `Some(None)` makes the event a single one.
    pub recurrence: Option<Option<Rule>>,
    /// New transparency.
    pub transparency: Option<Transparency>,
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
        validate(Draft {
            title: input.title,
            description: input.description.unwrap_or_default(),
            start: stamp(input.start_time.as_deref()),
            end: stamp(input.end_time.as_deref()),
            location: input.location,
            time_zone: input
                .time_zone
                .map_or(Ok(DEFAULT_TIME_ZONE), |z| parse_time_zone(&z)),
            recurrence: input.recurrence.map(|r| Rule::parse(&r)).transpose(),
            transparency: input
                .transparency
                .map_or(Ok(Transparency::Opaque), |t| Transparency::parse(&t)),
            exceptions: Exceptions::new(),
        })
    }

    /// The content after `patch`, validated as a whole with the same rules as
    /// [`EventContent::parse`] (e.g. moving only the end before the start is an error).
    /// A change of a series' start, zone or rule resets its exceptions: the occurrences
    /// they name are not the series' any more.
    pub fn apply(&self, patch: EventPatch) -> Result<Self, Vec<FieldError>> {
        let start = patch.start_time.unwrap_or(self.range.start());
        let time_zone = patch.time_zone.unwrap_or(self.time_zone);
        let recurrence = patch.recurrence.unwrap_or_else(|| self.recurrence.clone());
        let keeps_occurrences = start == self.range.start()
            && time_zone == self.time_zone
            && recurrence == self.recurrence;
        validate(Draft {
            title: Some(patch.title.unwrap_or_else(|| self.title.clone())),
            description: patch
                .description
                .unwrap_or_else(|| self.description.clone()),
            start: Ok(start),
            end: Ok(patch.end_time.unwrap_or(self.range.end())),
            location: patch.location.unwrap_or_else(|| self.location.clone()),
            time_zone: Ok(time_zone),
            recurrence: Ok(recurrence),
            transparency: Ok(patch.transparency.unwrap_or(self.transparency)),
            exceptions: if keeps_occurrences {
                self.exceptions.clone()
            } else {
                Exceptions::new()
            },
        })
    }

    /// The series this event repeats as, if it is one.
    pub fn series(&self) -> Option<Series> {
        self.recurrence.as_ref().map(|rule| Series {
            start: self.range.start(),
            length: self.range.end() - self.range.start(),
            zone: self.time_zone,
            rule: rule.clone(),
        })
    }

    /// Whether the event's time is busy (it conflicts with other busy time).
    pub fn is_busy(&self) -> bool {
        self.transparency == Transparency::Opaque
    }

    /// The occurrences starting before `horizon` (and the moved ones that now start
    /// before it), in start order: the one occurrence of a single event, or the
    /// series' expansion with its exceptions applied. A series with more than `max`
    /// occurrences before the horizon (or a `COUNT` above `max`), one whose rule
    /// produces nothing, or whose occurrences overlap one another is a problem with the
    /// field `recurrence`.
    pub fn occurrences_before(
        &self,
        horizon: DateTime<Utc>,
        max: usize,
    ) -> Result<Vec<Occurrence>, FieldError> {
        self.occurrences_counted(horizon, DateTime::<Utc>::MIN_UTC, max)
    }

    /// As [`EventContent::occurrences_before`], but the occurrences starting from `now`
    /// on (API.md: at most `MAX_OCCURRENCES` "within the horizon", which runs from now)
    /// and those before it are each at most `max` ([`Series::starts_counted`]).
    pub fn occurrences_within(
        &self,
        now: DateTime<Utc>,
        horizon: DateTime<Utc>,
        max: usize,
    ) -> Result<Vec<Occurrence>, FieldError> {
        self.occurrences_counted(horizon, now, max)
    }

    fn occurrences_counted(
        &self,
        horizon: DateTime<Utc>,
        counted_from: DateTime<Utc>,
        max: usize,
    ) -> Result<Vec<Occurrence>, FieldError> {
        let Some(series) = self.series() else {
            return Ok(vec![self.single()]);
        };
        let starts = series
            .starts_counted(horizon, counted_from, max)
            .map_err(|e| e.field_error())?;
        let occurrences = apply_exceptions(&starts, series.length, &self.exceptions, |r| {
            r.start() < horizon
        });
        // A moved occurrence may not land on another one of the same series.
        if let Some(pair) = occurrences
            .windows(2)
            .find(|w| w[0].range.overlaps(&w[1].range))
        {
            let moved = if pair[1].overridden { pair[1] } else { pair[0] };
            let other = if pair[1].overridden { pair[0] } else { pair[1] };
            return Err(FieldError::new(
                "start_time",
                format!(
                    "the occurrence {} would overlap the occurrence {} of the same series",
                    stamp_text(moved.recurrence_id),
                    stamp_text(other.recurrence_id)
                ),
            ));
        }
        Ok(occurrences)
    }

    /// The occurrence `recurrence_id` names, unless the event has none such (or it is
    /// cancelled). A single event's one occurrence is named by its start.
    pub fn occurrence(&self, recurrence_id: DateTime<Utc>) -> Option<Occurrence> {
        let Some(series) = self.series() else {
            return (recurrence_id == self.range.start()).then(|| self.single());
        };
        let produced = recurrence_id == series.start
            || series
                .starts_overlapping(recurrence_id, recurrence_id + Duration::microseconds(1), 2)
                .is_ok_and(|s| s.contains(&recurrence_id));
        if !produced {
            return None;
        }
        let range = TimeRange::new(recurrence_id, recurrence_id + series.length).ok()?;
        match self.exceptions.get(&recurrence_id) {
            Some(Exception::Cancelled) => None,
            Some(Exception::Changed(change)) => Some(Occurrence {
                recurrence_id,
                range: change.range.unwrap_or(range),
                overridden: true,
            }),
            None => Some(Occurrence {
                recurrence_id,
                range,
                overridden: false,
            }),
        }
    }

    /// What one occurrence shows: the series' title, description and location, with
    /// the occurrence's own changes applied.
    pub fn view(&self, occurrence: Occurrence) -> OccurrenceView {
        let change = match self.exceptions.get(&occurrence.recurrence_id) {
            Some(Exception::Changed(change)) => Some(change),
            _ => None,
        };
        OccurrenceView {
            occurrence,
            title: change
                .and_then(|c| c.title.clone())
                .unwrap_or_else(|| self.title.clone()),
            description: change
                .and_then(|c| c.description.clone())
                .unwrap_or_else(|| self.description.clone()),
            location: change
                .and_then(|c| c.location.clone())
                .unwrap_or_else(|| self.location.clone()),
        }
    }

    /// The content after `patch` (title, description, location, start, end) is applied
    /// to the occurrence `recurrence_id` alone; `None` when the event has no such
    /// occurrence. For a single event that is the event itself. The fields are judged
    /// by the rules of [`EventContent::apply`].
    pub fn change_occurrence(
        &self,
        recurrence_id: DateTime<Utc>,
        patch: EventPatch,
    ) -> Option<Result<Self, Vec<FieldError>>> {
        let occurrence = self.occurrence(recurrence_id)?;
        let Some(series) = self.series() else {
            return Some(self.apply(patch));
        };
        let view = self.view(occurrence);
        let alone = EventContent {
            title: view.title,
            description: view.description,
            range: occurrence.range,
            location: view.location,
            time_zone: self.time_zone,
            recurrence: None,
            transparency: self.transparency,
            exceptions: Exceptions::new(),
        };
        let changed = match alone.apply(EventPatch {
            time_zone: None,
            recurrence: None,
            transparency: None,
            ..patch
        }) {
            Ok(changed) => changed,
            Err(errors) => return Some(Err(errors)),
        };
        let own =
            |value: &String, series_value: &String| (value != series_value).then(|| value.clone());
        let change = OccurrenceChange {
            title: own(&changed.title, &self.title),
            description: own(&changed.description, &self.description),
            location: (changed.location != self.location).then(|| changed.location.clone()),
            range: (changed.range.start() != recurrence_id
                || changed.range.end() != recurrence_id + series.length)
                .then_some(changed.range),
        };
        let mut next = self.clone();
        if change == OccurrenceChange::default() {
            next.exceptions.remove(&recurrence_id);
        } else {
            next.exceptions
                .insert(recurrence_id, Exception::Changed(change));
        }
        Some(Ok(next))
    }

    /// The series with the occurrence `recurrence_id` cancelled; `None` when it has no
    /// such occurrence or is a single event (which is deleted instead).
    pub fn cancel_occurrence(&self, recurrence_id: DateTime<Utc>) -> Option<Self> {
        self.recurrence.as_ref()?;
        self.occurrence(recurrence_id)?;
        let mut next = self.clone();
        next.exceptions.insert(recurrence_id, Exception::Cancelled);
        Some(next)
    }

    /// "This and following": the series ending before the occurrence `at`, and a new
    /// series with the same rule, content and zone starting at `at`; a `COUNT` is
    /// divided between the two and the exceptions go with their occurrences. `None`
    /// when `at` is not a later occurrence of a series (not its first, not cancelled).
    pub fn split_at(&self, at: DateTime<Utc>, max: usize) -> Option<(Self, Self)> {
        let series = self.series()?;
        if at <= series.start || self.occurrence(at).is_none() {
            return None;
        }
        let (first_rule, second_rule) = match series.rule.count() {
            Some(count) => {
                // A `COUNT` is divided: the starts before `at` (at most `COUNT`, itself
                // at most `max`) go to the first part.
                let before_count = series.starts_counted(at, at, max).ok()?.len();
                let before = u32::try_from(before_count).ok()?;
                (
                    series.rule.ending(RuleEnd::Count(before)).ok()?,
                    series
                        .rule
                        .ending(RuleEnd::Count(count.checked_sub(before)?))
                        .ok()?,
                )
            }
            None => (
                series
                    .rule
                    .ending(RuleEnd::Until(at - Duration::seconds(1)))
                    .ok()?,
                series.rule.clone(),
            ),
        };
        let mut first = self.clone();
        first.recurrence = Some(first_rule);
        let later = first.exceptions.split_off(&at);
        let second = EventContent {
            range: TimeRange::new(at, at + series.length).ok()?,
            recurrence: Some(second_rule),
            exceptions: later,
            ..self.clone()
        };
        Some((first, second))
    }

    /// The occurrences overlapping `window`, in start order, at most `limit` of them.
    pub fn occurrences_overlapping(&self, window: &TimeRange, limit: usize) -> Vec<Occurrence> {
        let Some(series) = self.series() else {
            let single = self.single();
            return if single.range.overlaps(window) {
                vec![single]
            } else {
                Vec::new()
            };
        };
        // The rule's starts in the window (each exception takes away at most one of
        // them, so `limit` remain), then the occurrences moved into the window from
        // anywhere: `apply_exceptions` adds those whose original start is not among them.
        let starts = series
            .starts_overlapping(
                window.start(),
                window.end(),
                limit.saturating_add(self.exceptions.len()),
            )
            .unwrap_or_default();
        let mut found = apply_exceptions(&starts, series.length, &self.exceptions, |r| {
            r.overlaps(window)
        });
        found.retain(|o| o.range.overlaps(window));
        found.truncate(limit);
        found
    }

    /// The end of the last occurrence, or `None` for a series without end. Bounded
    /// series are expanded in full (at most `max` occurrences: see
    /// [`EventContent::occurrences_before`]); for `UNTIL` the bound is the last
    /// possible end.
    pub fn series_end(&self, max: usize) -> Option<DateTime<Utc>> {
        let Some(series) = self.series() else {
            return Some(self.range.end());
        };
        let moved_end = self
            .exceptions
            .values()
            .filter_map(|e| match e {
                crate::recurrence::Exception::Changed(c) => c.range.map(|r| r.end()),
                crate::recurrence::Exception::Cancelled => None,
            })
            .max();
        let rule_end = if series.rule.count().is_some() {
            series
                .starts_before(end_of_time(), max)
                .ok()
                .and_then(|s| s.last().copied())
                .map(|last| last + series.length)
        } else {
            series
                .rule
                .until()
                .map(|u| u.max(series.start) + series.length)
        }?;
        // An `UNTIL` late in 9999 plus a length would reach year 10000, which SQLite's
        // text order puts before every other date.
        Some(
            moved_end
                .map_or(rule_end, |m| m.max(rule_end))
                .min(crate::time::last_instant()),
        )
    }

    /// The start of the earliest occurrence: the first one's, or a moved one's that
    /// now starts before it.
    pub fn series_start(&self) -> DateTime<Utc> {
        self.exceptions
            .values()
            .filter_map(|e| match e {
                Exception::Changed(c) => c.range.map(|r| r.start()),
                Exception::Cancelled => None,
            })
            .fold(self.range.start(), DateTime::min)
    }

    fn single(&self) -> Occurrence {
        Occurrence {
            recurrence_id: self.range.start(),
            range: self.range,
            overridden: false,
        }
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
        let description = input.description.map(Option::unwrap_or_default);
        let start = not_null("start_time", input.start_time);
        let end = not_null("end_time", input.end_time);
        let zone = not_null("time_zone", input.time_zone);
        let transparency = not_null("transparency", input.transparency);
        let mut time = |field: &str, raw: Option<String>| {
            raw.and_then(|r| match parse_timestamp(&r) {
                Ok(t) => Some(t),
                Err(message) => {
                    errors.push(FieldError::new(field, message));
                    None
                }
            })
        };
        let start_time = time("start_time", start);
        let end_time = time("end_time", end);
        let patch = EventPatch {
            title,
            description,
            start_time,
            end_time,
            location: input.location,
            time_zone: zone.and_then(|z| kept(&mut errors, parse_time_zone(&z))),
            recurrence: match input.recurrence {
                None => None,
                Some(None) => Some(None),
                Some(Some(r)) => kept(&mut errors, Rule::parse(&r).map(Some)),
            },
            transparency: transparency.and_then(|t| kept(&mut errors, Transparency::parse(&t))),
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
            check_text(&mut errors, "description", description, 0, DESCRIPTION_MAX);
        }
        if let Some(Some(location)) = &self.location {
            check_text(&mut errors, "location", location, 0, LOCATION_MAX);
        }
        errors
    }
}

/// The wire order of event fields, in which problems are listed.
const FIELD_ORDER: [&str; 8] = [
    "title",
    "description",
    "start_time",
    "end_time",
    "location",
    "time_zone",
    "recurrence",
    "transparency",
];

fn check_title(errors: &mut Vec<FieldError>, title: &str) {
    if title.trim().is_empty() {
        errors.push(FieldError::new("title", "must not be blank"));
    } else {
        check_text(errors, "title", title, 1, TITLE_MAX);
    }
}

/// The value of `result`, or `None` with its problem added to `errors`.
fn kept<T>(errors: &mut Vec<FieldError>, result: Result<T, FieldError>) -> Option<T> {
    result.map_err(|e| errors.push(e)).ok()
}

/// The fields of an event before validation (`title: None` = missing).
struct Draft {
    title: Option<String>,
    description: String,
    start: Stamp,
    end: Stamp,
    location: Option<String>,
    time_zone: Result<Tz, FieldError>,
    recurrence: Result<Option<Rule>, FieldError>,
    transparency: Result<Transparency, FieldError>,
    exceptions: Exceptions,
}

/// Checks every field, in wire order, and builds the content if there is no problem.
fn validate(draft: Draft) -> Result<EventContent, Vec<FieldError>> {
    let Draft {
        title,
        description,
        start,
        end,
        location,
        time_zone,
        recurrence,
        transparency,
        exceptions,
    } = draft;
    let mut errors = Vec::new();
    match &title {
        None => errors.push(FieldError::new("title", REQUIRED)),
        Some(t) => check_title(&mut errors, t),
    }
    check_text(&mut errors, "description", &description, 0, DESCRIPTION_MAX);
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
        check_text(&mut errors, "location", location, 0, LOCATION_MAX);
    }
    let time_zone = kept(&mut errors, time_zone);
    let recurrence = kept(&mut errors, recurrence);
    let transparency = kept(&mut errors, transparency);
    match (title, range, time_zone, recurrence, transparency) {
        (Some(title), Some(range), Some(time_zone), Some(recurrence), Some(transparency))
            if errors.is_empty() =>
        {
            Ok(EventContent {
                title,
                description,
                range,
                location,
                time_zone,
                exceptions: if recurrence.is_some() {
                    exceptions
                } else {
                    Exceptions::new()
                },
                recurrence,
                transparency,
            })
        }
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
