//! Versions: the version document, the changelog and the diff.

use chrono::{DateTime, SecondsFormat, Utc};
use convene_domain::recurrence::{Exception, Exceptions};
use convene_domain::version::{FieldChange, FieldValue, VersionRecord};
use serde::Serialize;
use utoipa::ToSchema;

use super::rfc3339;

/// One version of an event.
#[derive(Debug, Serialize, ToSchema)]
pub struct VersionRead {
    /// The event.
    pub event_id: i64,
    /// Version number (1 = created).
    pub version: i32,
    /// Title at this version.
    pub title: String,
    /// Description at this version.
    pub description: String,
    /// Start at this version.
    #[serde(serialize_with = "rfc3339")]
    pub start_time: DateTime<Utc>,
    /// End at this version.
    #[serde(serialize_with = "rfc3339")]
    pub end_time: DateTime<Utc>,
    /// Location at this version.
    #[schema(required = true)]
    pub location: Option<String>,
    /// `created`, `updated` or `rolled_back`.
    #[schema(example = "updated")]
    pub change: &'static str,
    /// The version restored, for `rolled_back`; else null.
    #[schema(required = true)]
    pub restored_from: Option<i32>,
    /// Who made the change.
    pub changed_by: i64,
    /// When.
    #[serde(serialize_with = "rfc3339")]
    pub changed_at: DateTime<Utc>,
    /// The zone at this version.
    #[schema(example = "UTC")]
    pub time_zone: &'static str,
    /// The rule at this version, or null.
    #[schema(required = true, example = json!(null))]
    pub recurrence: Option<String>,
    /// The transparency at this version.
    #[schema(value_type = super::TransparencyName, example = "opaque")]
    pub transparency: &'static str,
}

impl From<VersionRecord> for VersionRead {
    fn from(v: VersionRecord) -> Self {
        Self {
            event_id: v.event_id.0,
            version: v.version.0,
            start_time: v.content.range.start(),
            end_time: v.content.range.end(),
            title: v.content.title,
            description: v.content.description,
            location: v.content.location,
            change: v.change.as_str(),
            restored_from: v.restored_from.map(|r| r.0),
            changed_by: v.changed_by.0,
            changed_at: v.changed_at,
            time_zone: v.content.time_zone.name(),
            recurrence: v.content.recurrence.map(|r| r.as_str().to_owned()),
            transparency: v.content.transparency.as_str(),
        }
    }
}

/// A page of versions.
#[derive(Debug, Serialize, ToSchema)]
pub struct Changelog {
    /// Versions in order.
    pub items: Vec<VersionRead>,
    /// Pass as `cursor` for the next page; null on the last page.
    #[schema(required = true)]
    pub next_cursor: Option<String>,
}

/// One field's change between two versions: strings (times in UTC RFC 3339) or null;
/// for `exceptions`, the list of the series' cancelled and changed occurrences.
#[derive(Debug, Serialize, ToSchema)]
pub struct FieldDiff {
    /// Value in `from_version`.
    #[schema(schema_with = field_value_schema, required = true)]
    pub from: serde_json::Value,
    /// Value in `to_version`.
    #[schema(schema_with = field_value_schema, required = true)]
    pub to: serde_json::Value,
}

/// A field's value in a diff: a string, null, or (for `exceptions`) a list of
/// `ExceptionRead`.
fn field_value_schema() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, OneOfBuilder, Schema, Type};
    use utoipa::openapi::Ref;
    Schema::OneOf(
        OneOfBuilder::new()
            .item(ObjectBuilder::new().schema_type(Type::String))
            .item(ObjectBuilder::new().schema_type(Type::Null))
            .item(ArrayBuilder::new().items(Ref::from_schema_name("ExceptionRead")))
            .build(),
    )
}

/// One exception of a series, as a diff shows it: a cancelled occurrence, or what one
/// occurrence has apart from its series.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExceptionRead {
    /// The occurrence (its original start, UTC).
    #[schema(value_type = String, format = DateTime, example = "2027-03-29T07:00:00Z")]
    pub recurrence_id: String,
    /// Present (true) when the occurrence is cancelled.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub cancelled: Option<bool>,
    /// Its own title.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub title: Option<String>,
    /// Its own description.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub description: Option<String>,
    /// Its own location (null: none).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub location: Option<Option<String>>,
    /// Its own start (moved).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String, format = DateTime, nullable = false)]
    pub start_time: Option<String>,
    /// Its own end (moved).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String, format = DateTime, nullable = false)]
    pub end_time: Option<String>,
}

fn exceptions_value(exceptions: &Exceptions) -> serde_json::Value {
    let time = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::AutoSi, true);
    let items: Vec<ExceptionRead> = exceptions
        .iter()
        .map(|(rid, exception)| {
            let mut read = ExceptionRead {
                recurrence_id: time(*rid),
                cancelled: None,
                title: None,
                description: None,
                location: None,
                start_time: None,
                end_time: None,
            };
            match exception {
                Exception::Cancelled => read.cancelled = Some(true),
                Exception::Changed(change) => {
                    read.title = change.title.clone();
                    read.description = change.description.clone();
                    read.location = change.location.clone();
                    read.start_time = change.range.map(|r| time(r.start()));
                    read.end_time = change.range.map(|r| time(r.end()));
                }
            }
            read
        })
        .collect();
    serde_json::to_value(items).unwrap_or(serde_json::Value::Null)
}

/// The differences between two versions.
#[derive(Debug, Serialize, ToSchema)]
pub struct Diff {
    /// The event.
    pub event_id: i64,
    /// The first version.
    pub from_version: i32,
    /// The second version.
    pub to_version: i32,
    /// Each differing field among title, description, start_time, end_time, location,
    /// time_zone, recurrence, transparency and exceptions.
    pub changes: std::collections::BTreeMap<&'static str, FieldDiff>,
}

fn field_value(v: FieldValue) -> serde_json::Value {
    match v {
        FieldValue::Text(t) => t.into(),
        FieldValue::Time(t) => t.to_rfc3339_opts(SecondsFormat::AutoSi, true).into(),
        FieldValue::Null => serde_json::Value::Null,
        FieldValue::Exceptions(e) => exceptions_value(&e),
    }
}

impl Diff {
    /// The document for `changes` between two versions of `event_id`.
    pub fn new(
        event_id: i64,
        from_version: i32,
        to_version: i32,
        changes: Vec<FieldChange>,
    ) -> Self {
        Self {
            event_id,
            from_version,
            to_version,
            changes: changes
                .into_iter()
                .map(|c| {
                    (
                        c.field.as_str(),
                        FieldDiff {
                            from: field_value(c.from),
                            to: field_value(c.to),
                        },
                    )
                })
                .collect(),
        }
    }
}
