//! Timestamps as the contract accepts them: RFC 3339 with any offset, or without one
//! (then UTC); at most microsecond precision; years 1–9999.

use chrono::{DateTime, Datelike, NaiveDateTime, Timelike, Utc};

/// The last instant the contract has (9999-12-31T23:59:59.999999Z): what is stored
/// stays within it, so that both databases order it among the others.
pub fn last_instant() -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp(253_402_300_799, 999_999_000)
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// Parses a timestamp; the error is a human sentence for a field error.
pub fn parse_timestamp(text: &str) -> Result<DateTime<Utc>, &'static str> {
    let text = text.trim();
    let utc = match DateTime::parse_from_rfc3339(text) {
        Ok(t) => t.with_timezone(&Utc),
        Err(_) => ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"]
            .iter()
            .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
            .ok_or("must be an RFC 3339 timestamp, e.g. 2030-01-31T09:30:00Z")?
            .and_utc(),
    };
    // chrono reads a leap second (`23:59:60`) as a nanosecond count of 1e9 or more; no
    // stored instant can be one.
    if utc.nanosecond() >= 1_000_000_000 {
        return Err("must not be a leap second (seconds 00–59)");
    }
    if utc.nanosecond() % 1_000 != 0 {
        return Err("must have at most microsecond precision");
    }
    if !(1..=9999).contains(&utc.year()) {
        return Err("must be between the years 1 and 9999");
    }
    Ok(utc)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> String {
        parse_timestamp(s)
            .unwrap()
            .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
    }

    #[test]
    fn leap_seconds_are_refused() {
        for text in [
            "2030-06-30T23:59:60Z",
            "2030-06-30T23:59:60.5Z",
            "2030-06-30T23:59:60",
            "2030-07-01T01:59:60+02:00",
        ] {
            assert_eq!(
                parse_timestamp(text),
                Err("must not be a leap second (seconds 00–59)"),
                "{text}"
            );
        }
        assert!(parse_timestamp("2030-06-30T23:59:59.999999Z").is_ok());
    }

    #[test]
    fn offsets_become_utc() {
        assert_eq!(ok("2030-01-01T10:00:00+02:00"), "2030-01-01T08:00:00Z");
        assert_eq!(ok("2030-01-01T10:00:00-05:30"), "2030-01-01T15:30:00Z");
        assert_eq!(ok("2030-01-01T10:00:00Z"), "2030-01-01T10:00:00Z");
    }

    #[test]
    fn no_offset_means_utc() {
        assert_eq!(ok("2030-01-01T10:00:00"), "2030-01-01T10:00:00Z");
        assert_eq!(ok("2030-01-01 10:00:00.5"), "2030-01-01T10:00:00.500Z");
    }

    #[test]
    fn microseconds_are_kept_and_nanoseconds_refused() {
        assert_eq!(
            ok("2030-01-01T10:00:00.123456Z"),
            "2030-01-01T10:00:00.123456Z"
        );
        assert!(parse_timestamp("2030-01-01T10:00:00.1234567Z").is_err());
    }

    #[test]
    fn garbage_and_out_of_range_are_refused() {
        for bad in [
            "",
            "tomorrow",
            "2030-13-01T00:00:00Z",
            "2030-01-01",
            "+12030-01-01T00:00:00Z",
        ] {
            assert!(parse_timestamp(bad).is_err(), "{bad}");
        }
    }
}
