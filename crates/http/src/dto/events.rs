//! Events: the create, update and batch bodies, and the event documents.

use chrono::{DateTime, Utc};
use convene_domain::event::{EventInput, PatchInput};
use convene_service::Event;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::rfc3339;

/// Deserialises a field that may be absent (`None`), `null` (`Some(None)`) or a value.
pub(super) fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// `POST /api/events` body (also each item of a batch).
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct EventCreate {
    /// 1–200 characters, not blank (some character that is not Unicode white space), no
    /// NUL (U+0000).
    #[schema(value_type = String, required = true, min_length = 1, max_length = 200, pattern = "^[^\\u0000]*[^\\u0000\\t\\n\\u000b\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\\u0000]*$", example = "Standup")]
    pub title: Option<String>,
    /// Up to 10,000 characters, no NUL; defaults to "".
    #[schema(max_length = 10000, pattern = "^[^\\u0000]*$")]
    pub description: Option<String>,
    /// RFC 3339 with an offset (`Z` or `±hh:mm`; the server also takes none, meaning
    /// UTC), at most microseconds, no leap second; years 0002–9998 as written, so that
    /// the instant falls within years 1–9999 in UTC.
    #[schema(value_type = String, format = DateTime, required = true, pattern = "^(000[2-9]|00[1-9][0-9]|0[1-9][0-9]{2}|[1-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9])-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-5][0-9](\\.[0-9]{1,6})?(Z|[+-][0-9]{2}:[0-9]{2})$", example = "2030-01-31T09:30:00Z")]
    pub start_time: Option<String>,
    /// As `start_time`, and strictly after it (a rule between two fields: 422).
    #[schema(value_type = String, format = DateTime, required = true, pattern = "^(000[2-9]|00[1-9][0-9]|0[1-9][0-9]{2}|[1-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9])-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-5][0-9](\\.[0-9]{1,6})?(Z|[+-][0-9]{2}:[0-9]{2})$", example = "2030-01-31T09:45:00Z")]
    pub end_time: Option<String>,
    /// Up to 500 characters, no NUL.
    #[schema(max_length = 500, pattern = "^[^\\u0000]*$")]
    pub location: Option<String>,
    /// IANA time zone name the series repeats in; default "UTC". An unknown zone → 422.
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = "^[A-Za-z0-9_+-]+(/[A-Za-z0-9_+-]+)*$",
        example = "Europe/Berlin"
    )]
    pub time_zone: Option<String>,
    /// RFC 5545 RRULE value without the "RRULE:" prefix, or null for a single event.
    /// `start_time`/`end_time` are the first occurrence. A rule that does not parse, an
    /// unsupported part, no occurrence at all, occurrences that overlap one another or
    /// more than MAX_OCCURRENCES of them within the horizon (from now), or more than
    /// MAX_OCCURRENCES before now → 422.
    #[schema(
        min_length = 1,
        max_length = 500,
        example = "FREQ=WEEKLY;BYDAY=MO,WE,FR;COUNT=12"
    )]
    pub recurrence: Option<String>,
    /// "opaque" (default: busy, conflict-checked) or "transparent" (never conflicts).
    #[schema(value_type = Option<super::TransparencyName>)]
    pub transparency: Option<String>,
}

impl From<EventCreate> for EventInput {
    fn from(e: EventCreate) -> Self {
        Self {
            title: e.title,
            description: e.description,
            start_time: e.start_time,
            end_time: e.end_time,
            location: e.location,
            time_zone: e.time_zone,
            recurrence: e.recurrence,
            transparency: e.transparency,
        }
    }
}

/// `PUT`/`PATCH /api/events/{id}` body: any subset of the fields; absent fields are
/// unchanged and `location: null` clears the location.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct EventUpdate {
    /// New title: 1–200 characters, not blank, no NUL.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String, min_length = 1, max_length = 200, pattern = "^[^\\u0000]*[^\\u0000\\t\\n\\u000b\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\\u0000]*$")]
    pub title: Option<Option<String>>,
    /// New description, up to 10,000 characters; `null` clears it (`""`).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 10000, pattern = "^[^\\u0000]*$")]
    pub description: Option<Option<String>>,
    /// New start (as in `EventCreate`).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String, format = DateTime, pattern = "^(000[2-9]|00[1-9][0-9]|0[1-9][0-9]{2}|[1-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9])-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-5][0-9](\\.[0-9]{1,6})?(Z|[+-][0-9]{2}:[0-9]{2})$")]
    pub start_time: Option<Option<String>>,
    /// New end (as in `EventCreate`); the result must end after it starts.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String, format = DateTime, pattern = "^(000[2-9]|00[1-9][0-9]|0[1-9][0-9]{2}|[1-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9])-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-5][0-9](\\.[0-9]{1,6})?(Z|[+-][0-9]{2}:[0-9]{2})$")]
    pub end_time: Option<Option<String>>,
    /// New location, up to 500 characters; `null` clears it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 500, pattern = "^[^\\u0000]*$")]
    pub location: Option<Option<String>>,
    /// New zone (as in `EventCreate`). Changing a series' zone, start or rule cancels
    /// its individual occurrence changes.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String, min_length = 1, max_length = 64, pattern = "^[A-Za-z0-9_+-]+(/[A-Za-z0-9_+-]+)*$", example = "America/New_York")]
    pub time_zone: Option<Option<String>>,
    /// New rule (as in `EventCreate`); `null` makes the event a single one.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 500, example = "FREQ=WEEKLY;BYDAY=TU,TH;UNTIL=20271231T000000Z")]
    pub recurrence: Option<Option<String>>,
    /// New transparency.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = super::TransparencyName, example = "transparent")]
    pub transparency: Option<Option<String>>,
}

impl From<EventUpdate> for PatchInput {
    fn from(e: EventUpdate) -> Self {
        Self {
            title: e.title,
            description: e.description,
            start_time: e.start_time,
            end_time: e.end_time,
            location: e.location,
            time_zone: e.time_zone,
            recurrence: e.recurrence,
            transparency: e.transparency,
        }
    }
}

/// `POST /api/events/batch` body.
#[derive(Debug, Deserialize, ToSchema)]
pub struct BatchCreate {
    /// 1–500 events, created atomically (more: 413).
    #[schema(value_type = Vec<EventCreate>, required = true, min_items = 1, max_items = 500)]
    pub events: Option<Vec<EventCreate>>,
}

/// An event as the caller sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventRead {
    /// The event's id.
    pub id: i64,
    /// Title.
    pub title: String,
    /// Description ("" when none).
    pub description: String,
    /// Start (UTC).
    #[serde(serialize_with = "rfc3339")]
    pub start_time: DateTime<Utc>,
    /// End (UTC).
    #[serde(serialize_with = "rfc3339")]
    pub end_time: DateTime<Utc>,
    /// Location, or null.
    #[schema(required = true)]
    pub location: Option<String>,
    /// The owner's id.
    pub owner_id: i64,
    /// Current version (also the ETag).
    pub version: i32,
    /// Creation time (UTC).
    #[serde(serialize_with = "rfc3339")]
    pub created_at: DateTime<Utc>,
    /// Last effective change (UTC).
    #[serde(serialize_with = "rfc3339")]
    pub updated_at: DateTime<Utc>,
    /// The caller's role: `owner`, `editor` or `viewer`.
    #[schema(value_type = super::RoleName, example = "owner")]
    pub role: &'static str,
    /// The IANA zone the event repeats in.
    #[schema(example = "UTC")]
    pub time_zone: &'static str,
    /// The RRULE value, or null for a single event.
    #[schema(required = true, example = json!(null))]
    pub recurrence: Option<String>,
    /// `opaque` (busy) or `transparent`.
    #[schema(value_type = super::TransparencyName, example = "opaque")]
    pub transparency: &'static str,
}

impl From<Event> for EventRead {
    fn from(Event { event: e, role }: Event) -> Self {
        Self {
            id: e.id.0,
            start_time: e.content.range.start(),
            end_time: e.content.range.end(),
            title: e.content.title,
            description: e.content.description,
            location: e.content.location,
            owner_id: e.owner.0,
            version: e.version.0,
            created_at: e.created_at,
            updated_at: e.updated_at,
            role: role.as_str(),
            time_zone: e.content.time_zone.name(),
            recurrence: e.content.recurrence.map(|r| r.as_str().to_owned()),
            transparency: e.content.transparency.as_str(),
        }
    }
}

/// A page of events.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventList {
    /// Events by start time, then id.
    pub items: Vec<EventRead>,
    /// Pass as `cursor` for the next page; null on the last page.
    #[schema(required = true)]
    pub next_cursor: Option<String>,
}

/// A calendar file sent as `application/octet-stream` (clients that upload files
/// untyped, or whose generators have no text/calendar): the same iCalendar bytes.
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
#[allow(dead_code)]
pub struct CalendarFile(Vec<u8>);

/// The events an import created.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventsImported {
    /// One event per master `VEVENT` (and per occurrence whose series was not in the
    /// file), in file order.
    pub created: Vec<EventRead>,
}
