//! Opaque keyset cursors and page sizes of the list endpoints.
//!
//! A cursor is base64url text of a tagged keyset position (`e:<µs>:<id>` for events,
//! `v:<version>` for a changelog, `n:<id>` for notifications); clients must treat it as
//! opaque. A cursor of one list is rejected by another.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use convene_domain::ids::{EventId, NotificationId, Version};
use convene_domain::validation::FieldError;

use crate::error::ApiError;

/// Default page size.
pub const DEFAULT_LIMIT: u32 = 50;
/// Largest page size.
pub const MAX_LIMIT: u32 = 200;

/// The page size from the `limit` query value: 400 when not a number, 422 outside
/// 1–200, the default when absent.
pub fn limit(raw: Option<&str>) -> Result<u32, ApiError> {
    let Some(raw) = raw else {
        return Ok(DEFAULT_LIMIT);
    };
    let n: i64 = raw
        .trim()
        .parse()
        .map_err(|_| ApiError::invalid_query(format!("limit must be an integer, not {raw:?}")))?;
    if !(1..=i64::from(MAX_LIMIT)).contains(&n) {
        return Err(ApiError::validation(vec![FieldError::new(
            "limit",
            format!("must be between 1 and {MAX_LIMIT}"),
        )]));
    }
    Ok(n as u32)
}

fn invalid() -> ApiError {
    ApiError::new(
        actix_web::http::StatusCode::BAD_REQUEST,
        "invalid_cursor",
        "the cursor is not one this list produced",
    )
}

/// Whether a decoded cursor instant is one a stored event can have (years 1–9999, as
/// every accepted timestamp): anything else was not produced by this list.
fn in_range(t: &DateTime<Utc>) -> bool {
    use chrono::Datelike;
    (1..=9999).contains(&t.year())
}

fn encode(text: String) -> String {
    URL_SAFE_NO_PAD.encode(text)
}

fn decode(cursor: &str, tag: &str) -> Result<Vec<String>, ApiError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(cursor.trim())
        .map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    let mut parts = text.split(':');
    if parts.next() != Some(tag) {
        return Err(invalid());
    }
    Ok(parts.map(str::to_owned).collect())
}

/// The cursor after an event at `(start, id)`.
pub fn event_cursor((start, id): (DateTime<Utc>, EventId)) -> String {
    encode(format!("e:{}:{}", start.timestamp_micros(), id.0))
}

/// Decodes an events cursor.
pub fn parse_event_cursor(cursor: &str) -> Result<(DateTime<Utc>, EventId), ApiError> {
    match decode(cursor, "e")?.as_slice() {
        [micros, id] => {
            let micros: i64 = micros.parse().map_err(|_| invalid())?;
            let start = DateTime::from_timestamp_micros(micros)
                .filter(in_range)
                .ok_or_else(invalid)?;
            Ok((start, EventId(id.parse().map_err(|_| invalid())?)))
        }
        _ => Err(invalid()),
    }
}

/// The cursor after a changelog version.
pub fn version_cursor(version: Version) -> String {
    encode(format!("v:{}", version.0))
}

/// Decodes a changelog cursor.
pub fn parse_version_cursor(cursor: &str) -> Result<Version, ApiError> {
    match decode(cursor, "v")?.as_slice() {
        [v] => Ok(Version(v.parse().map_err(|_| invalid())?)),
        _ => Err(invalid()),
    }
}

/// The cursor after a notification.
pub fn notification_cursor(id: NotificationId) -> String {
    encode(format!("n:{}", id.0))
}

/// Decodes a notifications cursor.
pub fn parse_notification_cursor(cursor: &str) -> Result<NotificationId, ApiError> {
    match decode(cursor, "n")?.as_slice() {
        [id] => Ok(NotificationId(id.parse().map_err(|_| invalid())?)),
        _ => Err(invalid()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_do_not_cross_lists() {
        let t = DateTime::from_timestamp_micros(1_900_000_000_123_456).unwrap();
        let c = event_cursor((t, EventId(42)));
        assert_eq!(parse_event_cursor(&c).unwrap(), (t, EventId(42)));
        assert!(parse_version_cursor(&c).is_err());
        let v = version_cursor(Version(7));
        assert_eq!(parse_version_cursor(&v).unwrap(), Version(7));
        assert!(parse_notification_cursor(&v).is_err());
        let n = notification_cursor(NotificationId(9));
        assert_eq!(parse_notification_cursor(&n).unwrap(), NotificationId(9));
        for bad in [
            "",
            "!!!",
            "e:1:2",
            &encode("e:x:1".into()),
            &encode("e:1".into()),
            // Years −250,000 and 20,000: integers, but no instant a stored event has.
            &encode("e:-7952342400000000000:1".into()),
            &encode("e:568971820800000000:1".into()),
        ] {
            assert!(parse_event_cursor(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn limits() {
        assert_eq!(limit(None).unwrap(), 50);
        assert_eq!(limit(Some("1")).unwrap(), 1);
        assert_eq!(limit(Some("200")).unwrap(), 200);
        assert_eq!(limit(Some("0")).unwrap_err().problem().status, 422);
        assert_eq!(limit(Some("201")).unwrap_err().problem().status, 422);
        assert_eq!(limit(Some("abc")).unwrap_err().problem().status, 400);
    }
}
