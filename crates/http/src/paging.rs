//! Opaque keyset cursors and page sizes of the list endpoints.
//!
//! A cursor is a tagged keyset position: `e<µs since 0001-01-01T00:00:00Z>_<id>` for
//! events, `o<µs>_<event id>_<recurrence_id µs>` for occurrences, `v<version>` for a
//! changelog, `n<id>` for notifications. Clients should treat
//! it as opaque; its grammar is still a published pattern, and every cursor matching it
//! is accepted (a schema-valid request is never refused), so a position is checked by
//! its shape alone. A cursor of one list is rejected by another.

use std::num::IntErrorKind;

use chrono::{DateTime, Utc};
use convene_domain::ids::{EventId, NotificationId, Version};
use convene_domain::validation::FieldError;

use crate::error::ApiError;

/// Default page size.
pub const DEFAULT_LIMIT: u32 = 50;
/// Largest page size.
pub const MAX_LIMIT: u32 = 200;

/// The page size from the `limit` query value: 400 when not a whole number, 422 outside
/// 1–200 (however many digits), the default when absent.
pub fn limit(raw: Option<&str>) -> Result<u32, ApiError> {
    let Some(raw) = raw else {
        return Ok(DEFAULT_LIMIT);
    };
    let out_of_range = || {
        ApiError::validation(vec![FieldError::new(
            "limit",
            format!("must be between 1 and {MAX_LIMIT}"),
        )])
    };
    let n: i64 = raw.trim().parse().map_err(|e: std::num::ParseIntError| {
        match e.kind() {
            // A whole number too large for any type is out of range all the same.
            IntErrorKind::PosOverflow | IntErrorKind::NegOverflow => out_of_range(),
            _ => ApiError::invalid_query(format!("limit must be an integer, not {raw:?}")),
        }
    })?;
    if !(1..=i64::from(MAX_LIMIT)).contains(&n) {
        return Err(out_of_range());
    }
    Ok(n as u32)
}

/// A yes/no query value: `true`/`false` in any case (Python's `requests` sends `True`),
/// or `1`/`0`; absent is `false`; anything else is 400 `invalid_query`.
pub fn flag(name: &str, raw: Option<&str>) -> Result<bool, ApiError> {
    match raw.map(str::trim) {
        None => Ok(false),
        Some(v) if v.eq_ignore_ascii_case("true") || v == "1" => Ok(true),
        Some(v) if v.eq_ignore_ascii_case("false") || v == "0" => Ok(false),
        Some(v) => Err(ApiError::invalid_query(format!(
            "{name} must be true or false, not {v:?}"
        ))),
    }
}

fn invalid() -> ApiError {
    ApiError::new(
        actix_web::http::StatusCode::BAD_REQUEST,
        "invalid_cursor",
        "the cursor is not one this list produced",
    )
}

/// The pattern of an events cursor (also in the OpenAPI document: every cursor that
/// matches it is accepted).
pub const EVENT_CURSOR_PATTERN: &str = "^e[0-9]{1,18}_[0-9]{1,18}$";
/// The pattern of an occurrences cursor.
pub const OCCURRENCE_CURSOR_PATTERN: &str = "^o[0-9]{1,18}_[0-9]{1,18}_[0-9]{1,18}$";
/// The pattern of a changelog cursor.
pub const VERSION_CURSOR_PATTERN: &str = "^v[0-9]{1,9}$";
/// The pattern of a notifications cursor.
pub const NOTIFICATION_CURSOR_PATTERN: &str = "^n[0-9]{1,18}$";

/// The first instant of the calendar (years 1–9999, as every accepted timestamp).
fn calendar_start() -> DateTime<Utc> {
    DateTime::from_timestamp(-62_135_596_800, 0).unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// The last instant of the calendar.
fn calendar_end() -> DateTime<Utc> {
    DateTime::from_timestamp(253_402_300_799, 999_999_000).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// The digits after `tag`, split at `_` into at most `parts` numbers of at most
/// `max_digits` digits each: the whole grammar of a cursor.
fn numbers(cursor: &str, tag: char, parts: usize, max_digits: usize) -> Result<Vec<u64>, ApiError> {
    let body = cursor.strip_prefix(tag).ok_or_else(invalid)?;
    let numbers: Vec<&str> = body.split('_').collect();
    if numbers.len() != parts {
        return Err(invalid());
    }
    numbers
        .into_iter()
        .map(|n| {
            if n.is_empty() || n.len() > max_digits || !n.bytes().all(|b| b.is_ascii_digit()) {
                return Err(invalid());
            }
            n.parse().map_err(|_| invalid())
        })
        .collect()
}

/// The cursor after an event at `(start, id)`: `e<µs since 0001-01-01>_<id>`.
pub fn event_cursor((start, id): (DateTime<Utc>, EventId)) -> String {
    let micros = (start - calendar_start())
        .num_microseconds()
        .unwrap_or(0)
        .max(0);
    format!("e{micros}_{}", id.0.max(0))
}

/// Decodes an events cursor. A position past the calendar's end (which no list
/// produces, but the pattern allows) is the end itself: nothing follows it.
pub fn parse_event_cursor(cursor: &str) -> Result<(DateTime<Utc>, EventId), ApiError> {
    let [micros, id] = numbers(cursor, 'e', 2, 18)?[..] else {
        return Err(invalid());
    };
    let micros = i64::try_from(micros).map_err(|_| invalid())?;
    let start = calendar_start()
        .checked_add_signed(chrono::Duration::microseconds(micros))
        .filter(|t| *t <= calendar_end())
        .unwrap_or_else(calendar_end);
    Ok((start, EventId(i64::try_from(id).map_err(|_| invalid())?)))
}

fn micros_since_start(t: DateTime<Utc>) -> i64 {
    (t - calendar_start())
        .num_microseconds()
        .unwrap_or(0)
        .max(0)
}

fn instant_at(micros: u64) -> Result<DateTime<Utc>, ApiError> {
    let micros = i64::try_from(micros).map_err(|_| invalid())?;
    Ok(calendar_start()
        .checked_add_signed(chrono::Duration::microseconds(micros))
        .filter(|t| *t <= calendar_end())
        .unwrap_or_else(calendar_end))
}

/// The cursor after an occurrence at `(start, event, recurrence_id)`:
/// `o<µs since 0001-01-01>_<event id>_<µs since 0001-01-01>`.
pub fn occurrence_cursor((start, event, rid): (DateTime<Utc>, EventId, DateTime<Utc>)) -> String {
    format!(
        "o{}_{}_{}",
        micros_since_start(start),
        event.0.max(0),
        micros_since_start(rid)
    )
}

/// Decodes an occurrences cursor (positions past the calendar's end are its end).
pub fn parse_occurrence_cursor(
    cursor: &str,
) -> Result<(DateTime<Utc>, EventId, DateTime<Utc>), ApiError> {
    let [start, id, rid] = numbers(cursor, 'o', 3, 18)?[..] else {
        return Err(invalid());
    };
    Ok((
        instant_at(start)?,
        EventId(i64::try_from(id).map_err(|_| invalid())?),
        instant_at(rid)?,
    ))
}

/// The cursor after a changelog version: `v<version>`.
pub fn version_cursor(version: Version) -> String {
    format!("v{}", version.0.max(0))
}

/// Decodes a changelog cursor.
pub fn parse_version_cursor(cursor: &str) -> Result<Version, ApiError> {
    let [v] = numbers(cursor, 'v', 1, 9)?[..] else {
        return Err(invalid());
    };
    Ok(Version(i32::try_from(v).map_err(|_| invalid())?))
}

/// The cursor after a notification: `n<id>`.
pub fn notification_cursor(id: NotificationId) -> String {
    format!("n{}", id.0.max(0))
}

/// Decodes a notifications cursor.
pub fn parse_notification_cursor(cursor: &str) -> Result<NotificationId, ApiError> {
    let [id] = numbers(cursor, 'n', 1, 18)?[..] else {
        return Err(invalid());
    };
    Ok(NotificationId(i64::try_from(id).map_err(|_| invalid())?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_take_any_case_and_digits() {
        for (raw, want) in [
            (None, false),
            (Some("true"), true),
            (Some("True"), true),
            (Some("TRUE"), true),
            (Some("1"), true),
            (Some("false"), false),
            (Some("False"), false),
            (Some("0"), false),
        ] {
            assert_eq!(flag("unread_only", raw).unwrap(), want, "{raw:?}");
        }
        for raw in ["yes", "", "2", "truee"] {
            let e = flag("unread_only", Some(raw)).unwrap_err();
            assert_eq!(e.problem().code, "invalid_query", "{raw:?}");
        }
    }

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
        let r = DateTime::from_timestamp_micros(1_900_000_000_000_001).unwrap();
        let o = occurrence_cursor((t, EventId(5), r));
        assert_eq!(parse_occurrence_cursor(&o).unwrap(), (t, EventId(5), r));
        assert!(parse_event_cursor(&o).is_err());
        assert!(parse_occurrence_cursor(&c).is_err());
        assert!(parse_occurrence_cursor("o1_2").is_err());
        for bad in [
            "",
            "!!!",
            "e:1:2",
            "e1",
            "e1_",
            "e_1",
            "ex_1",
            "e-1_1",
            "e1_2_3",
            " e1_2",
            "e1234567890123456789_1",
        ] {
            assert!(parse_event_cursor(bad).is_err(), "{bad:?}");
        }
        for bad in ["", "v", "v-1", "v1234567890", "n1"] {
            assert!(parse_version_cursor(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn every_cursor_matching_the_pattern_is_accepted() {
        // The calendar's first instant, and positions past its end (the end itself).
        assert_eq!(
            parse_event_cursor("e0_0").unwrap(),
            (calendar_start(), EventId(0))
        );
        let end = event_cursor((calendar_end(), EventId(1)));
        assert_eq!(parse_event_cursor(&end).unwrap().0, calendar_end());
        assert_eq!(
            parse_event_cursor("e999999999999999999_999999999999999999").unwrap(),
            (calendar_end(), EventId(999_999_999_999_999_999))
        );
        assert_eq!(
            parse_version_cursor("v999999999").unwrap(),
            Version(999_999_999)
        );
        assert_eq!(
            parse_notification_cursor("n999999999999999999").unwrap(),
            NotificationId(999_999_999_999_999_999)
        );
    }

    #[test]
    fn limits() {
        assert_eq!(limit(None).unwrap(), 50);
        assert_eq!(limit(Some("1")).unwrap(), 1);
        assert_eq!(limit(Some("200")).unwrap(), 200);
        assert_eq!(limit(Some("0")).unwrap_err().problem().status, 422);
        assert_eq!(limit(Some("201")).unwrap_err().problem().status, 422);
        assert_eq!(limit(Some("abc")).unwrap_err().problem().status, 400);
        let huge = limit(Some("99999999999999999999")).unwrap_err().problem();
        assert_eq!(huge.status, 422);
        assert_eq!(
            limit(Some("-99999999999999999999"))
                .unwrap_err()
                .problem()
                .status,
            422
        );
    }
}
