//! Occurrences: the occurrence document and list, the one-occurrence change and the
//! split request.

use chrono::{DateTime, Utc};
use convene_domain::event::PatchInput;
use convene_service::events::OccurrenceItem;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::events::present;
use super::rfc3339;

/// One occurrence of an event as the caller sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct OccurrenceRead {
    /// The event (series) it belongs to.
    pub event_id: i64,
    /// Its identity: its original start (UTC), kept when it is moved. A single event's
    /// one occurrence is named by its start.
    #[serde(serialize_with = "rfc3339")]
    #[schema(value_type = String, format = DateTime, example = "2027-03-29T07:00:00Z")]
    pub recurrence_id: DateTime<Utc>,
    /// Start (UTC).
    #[serde(serialize_with = "rfc3339")]
    #[schema(value_type = String, format = DateTime, example = "2027-03-29T07:00:00Z")]
    pub start_time: DateTime<Utc>,
    /// End (UTC).
    #[serde(serialize_with = "rfc3339")]
    #[schema(value_type = String, format = DateTime, example = "2027-03-29T08:00:00Z")]
    pub end_time: DateTime<Utc>,
    /// Title (the occurrence's own, or the series').
    #[schema(example = "Team sync")]
    pub title: String,
    /// Description.
    pub description: String,
    /// Location, or null.
    #[schema(required = true)]
    pub location: Option<String>,
    /// The zone the series repeats in.
    #[schema(example = "Europe/Berlin")]
    pub time_zone: &'static str,
    /// `opaque` or `transparent`.
    #[schema(value_type = super::TransparencyName, example = "opaque")]
    pub transparency: &'static str,
    /// The caller's role on the event.
    #[schema(value_type = super::RoleName, example = "owner")]
    pub role: &'static str,
    /// Whether this occurrence was moved or edited individually.
    pub overridden: bool,
}

impl From<OccurrenceItem> for OccurrenceRead {
    fn from(item: OccurrenceItem) -> Self {
        let content = &item.event.event.content;
        Self {
            event_id: item.event.event.id.0,
            recurrence_id: item.view.occurrence.recurrence_id,
            start_time: item.view.occurrence.range.start(),
            end_time: item.view.occurrence.range.end(),
            title: item.view.title,
            description: item.view.description,
            location: item.view.location,
            time_zone: content.time_zone.name(),
            transparency: content.transparency.as_str(),
            role: item.event.role.as_str(),
            overridden: item.view.occurrence.overridden,
        }
    }
}

/// A page of occurrences.
#[derive(Debug, Serialize, ToSchema)]
pub struct OccurrenceList {
    /// Occurrences by start time, then event id.
    pub items: Vec<OccurrenceRead>,
    /// Pass as `cursor` for the next page; null on the last page.
    #[schema(required = true)]
    pub next_cursor: Option<String>,
}

/// `PATCH /api/events/{id}/occurrences/{recurrence_id}` body: what this one occurrence
/// has apart from its series; absent fields are unchanged.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct OccurrenceUpdate {
    /// Its own title: 1–200 characters, not blank, no NUL.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String, min_length = 1, max_length = 200, pattern = "^[^\\u0000]*[^\\u0000\\t\\n\\u000b\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\\u0000]*$", example = "Team sync (moved)")]
    pub title: Option<Option<String>>,
    /// Its own description, up to 10,000 characters; `null`: `""`.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 10000, pattern = "^[^\\u0000]*$")]
    pub description: Option<Option<String>>,
    /// Its own location, up to 500 characters; `null`: none.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 500, pattern = "^[^\\u0000]*$")]
    pub location: Option<Option<String>>,
    /// Its new start (as `EventCreate.start_time`).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String, format = DateTime, pattern = "^(000[2-9]|00[1-9][0-9]|0[1-9][0-9]{2}|[1-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9])-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-5][0-9](\\.[0-9]{1,6})?(Z|[+-][0-9]{2}:[0-9]{2})$", example = "2027-03-29T09:00:00Z")]
    pub start_time: Option<Option<String>>,
    /// Its new end; the result must end after it starts.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String, format = DateTime, pattern = "^(000[2-9]|00[1-9][0-9]|0[1-9][0-9]{2}|[1-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9])-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-5][0-9](\\.[0-9]{1,6})?(Z|[+-][0-9]{2}:[0-9]{2})$", example = "2027-03-29T10:00:00Z")]
    pub end_time: Option<Option<String>>,
}

impl From<OccurrenceUpdate> for PatchInput {
    fn from(o: OccurrenceUpdate) -> Self {
        Self {
            title: o.title,
            description: o.description,
            start_time: o.start_time,
            end_time: o.end_time,
            location: o.location,
            ..PatchInput::default()
        }
    }
}

/// `POST /api/events/{id}/split` body.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct SplitRequest {
    /// The `recurrence_id` of the occurrence the new series starts with.
    #[schema(value_type = String, format = DateTime, required = true, pattern = "^(000[2-9]|00[1-9][0-9]|0[1-9][0-9]{2}|[1-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9])-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-5][0-9](\\.[0-9]{1,6})?(Z|[+-][0-9]{2}:[0-9]{2})$", example = "2027-04-26T07:00:00Z")]
    pub at: Option<String>,
}
