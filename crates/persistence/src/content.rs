//! How an event's recurrence fields are stored: the zone by its IANA name, the rule as
//! its text, the transparency by name and the exceptions as a JSON array
//! (`[{"recurrence_id", "cancelled": true}` or `{"recurrence_id", "title"?,
//! "description"?, "location"?, "start_time"?, "end_time"?}]`, instants in RFC 3339).

use std::str::FromStr;

use chrono::{DateTime, SecondsFormat, Utc};
use chrono_tz::Tz;
use convene_domain::event::Transparency;
use convene_domain::recurrence::{Exception, Exceptions, OccurrenceChange, Rule};
use convene_domain::schedule::TimeRange;
use serde_json::{json, Map, Value};

use crate::error::{StoreError, StoreResult};

fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Other(format!("stored event field: {what}"))
}

/// A stored zone name.
pub(crate) fn zone_of(name: &str) -> StoreResult<Tz> {
    Tz::from_str(name).map_err(|_| corrupt(format!("time zone {name:?}")))
}

/// A stored rule.
pub(crate) fn rule_of(text: Option<&str>) -> StoreResult<Option<Rule>> {
    text.map(|t| Rule::parse(t).map_err(|e| corrupt(format!("rule {t:?}: {}", e.message))))
        .transpose()
}

/// A stored transparency.
pub(crate) fn transparency_of(name: &str) -> StoreResult<Transparency> {
    Transparency::parse(name).map_err(|_| corrupt(format!("transparency {name:?}")))
}

fn instant(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// The exceptions as stored.
pub(crate) fn encode_exceptions(exceptions: &Exceptions) -> String {
    let items: Vec<Value> = exceptions
        .iter()
        .map(|(rid, exception)| {
            let mut item = Map::new();
            item.insert("recurrence_id".into(), json!(instant(*rid)));
            match exception {
                Exception::Cancelled => {
                    item.insert("cancelled".into(), json!(true));
                }
                Exception::Changed(change) => {
                    if let Some(title) = &change.title {
                        item.insert("title".into(), json!(title));
                    }
                    if let Some(description) = &change.description {
                        item.insert("description".into(), json!(description));
                    }
                    if let Some(location) = &change.location {
                        item.insert("location".into(), json!(location));
                    }
                    if let Some(range) = change.range {
                        item.insert("start_time".into(), json!(instant(range.start())));
                        item.insert("end_time".into(), json!(instant(range.end())));
                    }
                }
            }
            Value::Object(item)
        })
        .collect();
    Value::Array(items).to_string()
}

/// Stored exceptions.
pub(crate) fn decode_exceptions(text: &str) -> StoreResult<Exceptions> {
    let items: Vec<Map<String, Value>> =
        serde_json::from_str(text).map_err(|e| corrupt(format!("exceptions: {e}")))?;
    let time = |item: &Map<String, Value>, key: &str| -> StoreResult<Option<DateTime<Utc>>> {
        item.get(key)
            .map(|v| {
                v.as_str()
                    .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
                    .map(|t| t.with_timezone(&Utc))
                    .ok_or_else(|| corrupt(format!("exceptions: {key} {v}")))
            })
            .transpose()
    };
    let text_of = |item: &Map<String, Value>, key: &str| -> Option<String> {
        item.get(key).and_then(Value::as_str).map(str::to_owned)
    };
    let mut exceptions = Exceptions::new();
    for item in items {
        let rid =
            time(&item, "recurrence_id")?.ok_or_else(|| corrupt("exceptions: no recurrence_id"))?;
        let exception = if item.get("cancelled").and_then(Value::as_bool) == Some(true) {
            Exception::Cancelled
        } else {
            let range = match (time(&item, "start_time")?, time(&item, "end_time")?) {
                (Some(start), Some(end)) => {
                    Some(TimeRange::new(start, end).map_err(|_| corrupt("exceptions: range"))?)
                }
                _ => None,
            };
            Exception::Changed(OccurrenceChange {
                title: text_of(&item, "title"),
                description: text_of(&item, "description"),
                location: item.get("location").map(|v| v.as_str().map(str::to_owned)),
                range,
            })
        };
        exceptions.insert(rid, exception);
    }
    Ok(exceptions)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn exceptions_round_trip() {
        let at = |h: i64| DateTime::UNIX_EPOCH + chrono::Duration::hours(h);
        let mut exceptions = Exceptions::new();
        exceptions.insert(at(1), Exception::Cancelled);
        exceptions.insert(
            at(2),
            Exception::Changed(OccurrenceChange {
                title: Some("Moved \"x\"".into()),
                description: None,
                location: Some(None),
                range: Some(TimeRange::new(at(3), at(4)).unwrap()),
            }),
        );
        exceptions.insert(
            at(5),
            Exception::Changed(OccurrenceChange {
                location: Some(Some("Room".into())),
                ..OccurrenceChange::default()
            }),
        );
        let text = encode_exceptions(&exceptions);
        assert_eq!(decode_exceptions(&text).unwrap(), exceptions);
        assert_eq!(encode_exceptions(&Exceptions::new()), "[]");
        assert!(decode_exceptions("{").is_err());
    }
}
