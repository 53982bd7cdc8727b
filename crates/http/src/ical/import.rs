//! Reading a calendar file (RFC 5545) exported elsewhere into events, with the
//! `icalendar` crate's parser (which unfolds lines and unescapes text).
//!
//! Each master `VEVENT` (one without `RECURRENCE-ID`) becomes an event: `SUMMARY`
//! (`(No title)` when missing or blank), `DESCRIPTION`, `LOCATION`, `DTSTART`, `DTEND` or
//! `DURATION`, `RRULE`, every `EXDATE`, `TRANSP`. The event's zone is the `TZID` of its
//! `DTSTART` (an IANA name, directly or through its `VTIMEZONE`'s `X-LIC-LOCATION`, or a
//! Windows zone name as Outlook writes them); UTC
//! for a `Z` time; for a floating time the calendar's `X-WR-TIMEZONE`, else the
//! request's zone. All-day events (`VALUE=DATE`) cover their days, midnight to midnight,
//! in the request's zone, and are transparent. A `VEVENT` with `RECURRENCE-ID` changes or
//! (`STATUS:CANCELLED`) cancels that occurrence of the series with its `UID`; one whose
//! series is not in the file is imported as a single event. Cancelled masters are not
//! imported. Problems name the component by its index among the file's `VEVENT`s.

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use chrono_tz::Tz;
use convene_domain::event::{EventContent, EventInput, EventPatch};
use convene_domain::recurrence::{parse_time_zone, place};
use convene_domain::validation::FieldError;
use icalendar::parser::{read_calendar_simple, unfold, Component, Property};
use windows_timezones::WindowsTimezone;

/// Most `VEVENT`s one import may hold.
pub const MAX_COMPONENTS: usize = 500;

/// Title of an event whose `SUMMARY` is missing or blank.
pub const UNTITLED: &str = "(No title)";

/// The events of a calendar file, each with the index of its `VEVENT`.
#[derive(Debug, Clone)]
pub struct Imported {
    /// The events to create, in file order.
    pub events: Vec<EventContent>,
    /// For each event, the index of its master `VEVENT` among the file's `VEVENT`s.
    pub components: Vec<usize>,
}

/// Why a file cannot be imported.
#[derive(Debug)]
pub enum ImportError {
    /// Not iCalendar: 400.
    Malformed(String),
    /// More than [`MAX_COMPONENTS`] `VEVENT`s: 413.
    TooMany(usize),
    /// Components that break a rule, each problem with its component's index: 422.
    Invalid(Vec<FieldError>),
}

/// A time as a property gives it.
#[derive(Debug, Clone, Copy)]
enum When {
    /// A date-time: the instant and the zone it was written in.
    At(DateTime<Utc>, Tz),
    /// A date (an all-day value).
    Day(NaiveDate),
}

/// What resolves zones in one file.
struct Zones {
    /// `TZID`s of the file's `VTIMEZONE`s that are not IANA names themselves, by the
    /// IANA zone their `X-LIC-LOCATION` names.
    aliases: HashMap<String, Tz>,
    /// Where floating times are: `X-WR-TIMEZONE`, else the request's zone.
    floating: Tz,
    /// Where all-day events are: the request's zone.
    days: Tz,
}

fn name_is(name: &str, wanted: &str) -> bool {
    name.eq_ignore_ascii_case(wanted)
}

fn props<'c, 'a>(c: &'c Component<'a>, name: &'c str) -> impl Iterator<Item = &'c Property<'a>> {
    c.properties
        .iter()
        .filter(move |p| name_is(p.name.as_str(), name))
}

fn prop<'c, 'a>(c: &'c Component<'a>, name: &str) -> Option<&'c Property<'a>> {
    c.properties.iter().find(|p| name_is(p.name.as_str(), name))
}

fn text<'c>(c: &'c Component<'_>, name: &str) -> Option<&'c str> {
    prop(c, name).map(|p| p.val.as_str())
}

fn param<'p>(p: &'p Property<'_>, key: &str) -> Option<&'p str> {
    p.params
        .iter()
        .find(|x| name_is(x.key.as_str(), key))
        .and_then(|x| x.val.as_ref())
        .map(|v| v.as_str().trim_matches('"'))
}

impl Zones {
    /// The zone a `TZID` names: through its `VTIMEZONE`'s `X-LIC-LOCATION`, as an IANA
    /// name, or as a Windows zone name (Outlook's `W. Europe Standard Time`), mapped by
    /// the Unicode CLDR table to its IANA zone.
    fn tzid(&self, tzid: &str) -> Result<Tz, String> {
        if let Some(zone) = self.aliases.get(tzid) {
            return Ok(*zone);
        }
        parse_time_zone(tzid)
            .ok()
            .or_else(|| tzid.trim().parse::<WindowsTimezone>().ok().map(Tz::from))
            .ok_or_else(|| {
                format!(
                    "TZID {tzid:?} is not an IANA or Windows time zone name, nor a VTIMEZONE naming one"
                )
            })
    }

    /// The time one value of `p` gives.
    fn when(&self, p: &Property<'_>, value: &str) -> Result<When, String> {
        let value = value.trim();
        let is_date = param(p, "VALUE").is_some_and(|v| name_is(v, "DATE")) || value.len() == 8;
        if is_date {
            return NaiveDate::parse_from_str(value, "%Y%m%d")
                .map(When::Day)
                .map_err(|_| format!("{value:?} is not a DATE (YYYYMMDD)"));
        }
        if let Some(utc) = value.strip_suffix('Z') {
            let local = NaiveDateTime::parse_from_str(utc, "%Y%m%dT%H%M%S")
                .map_err(|_| format!("{value:?} is not a DATE-TIME (YYYYMMDDTHHMMSSZ)"))?;
            return Ok(When::At(local.and_utc(), Tz::UTC));
        }
        let local = NaiveDateTime::parse_from_str(value, "%Y%m%dT%H%M%S")
            .map_err(|_| format!("{value:?} is not a DATE-TIME (YYYYMMDDTHHMMSS)"))?;
        let zone = match param(p, "TZID") {
            Some(tzid) => self.tzid(tzid)?,
            None => self.floating,
        };
        Ok(When::At(place(zone, local), zone))
    }

    /// The instant a time stands for; a date is its midnight in `zone`.
    fn instant(when: When, zone: Tz) -> DateTime<Utc> {
        match when {
            When::At(t, _) => t,
            When::Day(d) => place(zone, d.and_time(NaiveTime::MIN)),
        }
    }
}

/// A `DURATION` after `start` (nominal days and weeks on the wall clock of `zone`, exact
/// hours, minutes and seconds, as RFC 5545 says).
fn after(start: DateTime<Utc>, zone: Tz, raw: &str) -> Result<DateTime<Utc>, String> {
    let bad = || format!("DURATION {raw:?} is not a positive RFC 5545 duration (e.g. PT45M, P1D)");
    let raw = raw.trim();
    let text = raw.strip_prefix('+').unwrap_or(raw);
    // (The crate stops at the first character it cannot read and ignores the rest.)
    if !text.starts_with('P')
        || !text
            .chars()
            .all(|c| c.is_ascii_digit() || "PWDTHMS".contains(c))
    {
        return Err(bad());
    }
    let (days, exact) = match iso8601::duration(text).map_err(|_| bad())? {
        iso8601::Duration::Weeks(w) => (i64::from(w) * 7, Duration::zero()),
        iso8601::Duration::YMDHMS {
            year: 0,
            month: 0,
            day,
            hour,
            minute,
            second,
            millisecond,
        } => (
            i64::from(day),
            Duration::hours(i64::from(hour))
                + Duration::minutes(i64::from(minute))
                + Duration::seconds(i64::from(second))
                + Duration::milliseconds(i64::from(millisecond)),
        ),
        iso8601::Duration::YMDHMS { .. } => return Err(bad()),
    };
    if days == 0 && exact.is_zero() {
        return Err(bad());
    }
    // A duration beyond the calendar's range (`P4294967295D`) is a bad value, not a panic.
    let local = start
        .with_timezone(&zone)
        .naive_local()
        .checked_add_signed(Duration::days(days))
        .ok_or_else(bad)?;
    place(zone, local).checked_add_signed(exact).ok_or_else(bad)
}

/// An `RRULE` as the event stores it: an `UNTIL` given as a date or a floating time is
/// turned into the UTC instant it stands for in `zone` (a date: the end of that day).
fn rule(raw: &str, zone: Tz) -> String {
    raw.trim()
        .split(';')
        .map(|part| {
            let Some((name, value)) = part.split_once('=') else {
                return part.to_owned();
            };
            if !name.trim().eq_ignore_ascii_case("UNTIL") || value.ends_with('Z') {
                return part.to_owned();
            }
            let local = NaiveDate::parse_from_str(value, "%Y%m%d")
                .ok()
                .and_then(|d| d.and_hms_opt(23, 59, 59))
                .or_else(|| NaiveDateTime::parse_from_str(value, "%Y%m%dT%H%M%S").ok());
            match local {
                Some(local) => format!("{name}={}", place(zone, local).format("%Y%m%dT%H%M%SZ")),
                None => part.to_owned(),
            }
        })
        .collect::<Vec<_>>()
        .join(";")
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

fn is_cancelled(c: &Component<'_>) -> bool {
    text(c, "STATUS").is_some_and(|s| name_is(s.trim(), "CANCELLED"))
}

fn title(c: &Component<'_>) -> String {
    match text(c, "SUMMARY").map(str::trim) {
        Some(t) if !t.is_empty() => text(c, "SUMMARY").unwrap_or_default().to_owned(),
        _ => UNTITLED.to_owned(),
    }
}

/// One `VEVENT`'s start, end and zone, and whether it is all-day.
struct Span {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    zone: Tz,
    all_day: bool,
}

fn span(c: &Component<'_>, zones: &Zones) -> Result<Span, FieldError> {
    let start_prop =
        prop(c, "DTSTART").ok_or_else(|| FieldError::new("start_time", "DTSTART is required"))?;
    let start = zones
        .when(start_prop, start_prop.val.as_str())
        .map_err(|m| {
            FieldError::new(
                if m.starts_with("TZID") {
                    "time_zone"
                } else {
                    "start_time"
                },
                m,
            )
        })?;
    let (zone, all_day) = match start {
        When::At(_, zone) => (zone, false),
        When::Day(_) => (zones.days, true),
    };
    let start_at = Zones::instant(start, zone);
    let end = if let Some(end_prop) = prop(c, "DTEND") {
        let end = zones.when(end_prop, end_prop.val.as_str()).map_err(|m| {
            FieldError::new(
                if m.starts_with("TZID") {
                    "time_zone"
                } else {
                    "end_time"
                },
                m,
            )
        })?;
        if matches!(end, When::Day(_)) != all_day {
            return Err(FieldError::new(
                "end_time",
                "DTEND must be a DATE when DTSTART is one, and a DATE-TIME otherwise",
            ));
        }
        Zones::instant(end, zone)
    } else if let Some(duration) = text(c, "DURATION") {
        after(start_at, zone, duration).map_err(|m| FieldError::new("end_time", m))?
    } else if all_day {
        after(start_at, zone, "P1D").map_err(|m| FieldError::new("end_time", m))?
    } else {
        return Err(FieldError::new(
            "end_time",
            "DTEND or DURATION is required for an event with a start time (Convene's events take time)",
        ));
    };
    Ok(Span {
        start: start_at,
        end,
        zone,
        all_day,
    })
}

/// A master `VEVENT` (or an override imported alone) as a new event.
fn master(
    c: &Component<'_>,
    zones: &Zones,
    with_rule: bool,
) -> Result<EventContent, Vec<FieldError>> {
    let span = span(c, zones).map_err(|e| vec![e])?;
    let rules: Vec<&Property<'_>> = if with_rule {
        props(c, "RRULE").collect()
    } else {
        Vec::new()
    };
    if rules.len() > 1 {
        return Err(vec![FieldError::new(
            "recurrence",
            "more than one RRULE is not supported",
        )]);
    }
    if with_rule && prop(c, "RDATE").is_some() {
        return Err(vec![FieldError::new(
            "recurrence",
            "RDATE is not supported",
        )]);
    }
    let transparent =
        span.all_day || text(c, "TRANSP").is_some_and(|t| name_is(t.trim(), "TRANSPARENT"));
    let mut content = EventContent::parse(EventInput {
        title: Some(title(c)),
        description: text(c, "DESCRIPTION").map(str::to_owned),
        start_time: Some(rfc3339(span.start)),
        end_time: Some(rfc3339(span.end)),
        location: text(c, "LOCATION")
            .filter(|l| !l.trim().is_empty())
            .map(str::to_owned),
        time_zone: Some(span.zone.name().to_owned()),
        recurrence: rules.first().map(|r| rule(r.val.as_str(), span.zone)),
        transparency: Some(if transparent { "transparent" } else { "opaque" }.to_owned()),
    })?;
    if content.recurrence.is_some() {
        for exdate in props(c, "EXDATE") {
            for value in exdate.val.as_str().split(',') {
                let when = zones
                    .when(exdate, value)
                    .map_err(|m| vec![FieldError::new("exdate", m)])?;
                // An EXDATE that names no occurrence of the rule removes nothing.
                if let Some(next) = content.cancel_occurrence(Zones::instant(when, span.zone)) {
                    content = next;
                }
            }
        }
    }
    Ok(content)
}

/// Applies an override `VEVENT` to its series.
fn apply_override(
    content: &EventContent,
    c: &Component<'_>,
    zones: &Zones,
) -> Result<EventContent, Vec<FieldError>> {
    let Some(rid_prop) = prop(c, "RECURRENCE-ID") else {
        return Ok(content.clone());
    };
    let rid = zones
        .when(rid_prop, rid_prop.val.as_str())
        .map(|w| Zones::instant(w, content.time_zone))
        .map_err(|m| vec![FieldError::new("recurrence_id", m)])?;
    let not_produced = || {
        vec![FieldError::new(
            "recurrence_id",
            format!("{} is not an occurrence of its series", rfc3339(rid)),
        )]
    };
    if is_cancelled(c) {
        // Cancelling an occurrence the rule does not produce (or one cancelled already by
        // an EXDATE) changes nothing.
        return Ok(content
            .cancel_occurrence(rid)
            .unwrap_or_else(|| content.clone()));
    }
    let span = span(c, zones).map_err(|e| vec![e])?;
    let patch = EventPatch {
        title: Some(title(c)),
        description: Some(text(c, "DESCRIPTION").unwrap_or_default().to_owned()),
        start_time: Some(span.start),
        end_time: Some(span.end),
        location: Some(
            text(c, "LOCATION")
                .filter(|l| !l.trim().is_empty())
                .map(str::to_owned),
        ),
        time_zone: None,
        recurrence: None,
        transparency: None,
    };
    content
        .change_occurrence(rid, patch)
        .ok_or_else(not_produced)?
}

/// The text of a calendar file. RFC 5545 folds lines at 75 octets, and folders that
/// count octets may split a character across a fold: such a file is UTF-8 only once
/// unfolded, so it is unfolded as bytes first (the parser's own unfolding then finds
/// nothing left to do).
pub fn decode(file: Vec<u8>) -> Result<String, ImportError> {
    String::from_utf8(file).or_else(|e| {
        let bytes = e.into_bytes();
        let mut unfolded = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            let fold = match bytes[i..] {
                [b'\r', b'\n', b' ' | b'\t', ..] => 3,
                [b'\n', b' ' | b'\t', ..] => 2,
                _ => 0,
            };
            if fold == 0 {
                unfolded.push(bytes[i]);
                i += 1;
            } else {
                i += fold;
            }
        }
        String::from_utf8(unfolded)
            .map_err(|_| ImportError::Malformed("the calendar file is not UTF-8".into()))
    })
}

/// How deeply components may nest (`VCALENDAR` › `VEVENT` › `VALARM` is 3; a
/// `VTIMEZONE`'s rules 3 too).
const MAX_NESTING: usize = 8;

/// Refuses components nested deeper than `max`: the parser recurses once per level,
/// and a file of nothing but `BEGIN:` lines would take it past a worker's stack.
fn nesting_within(file: &str, max: usize) -> Result<(), ImportError> {
    let mut depth = 0usize;
    for line in file.lines() {
        let name = line.split_once(':').map_or("", |(name, _)| name.trim());
        if name.eq_ignore_ascii_case("BEGIN") {
            depth += 1;
            if depth > max {
                return Err(ImportError::Malformed(format!(
                    "components nested more than {max} deep"
                )));
            }
        } else if name.eq_ignore_ascii_case("END") {
            depth = depth.saturating_sub(1);
        }
    }
    Ok(())
}

/// Reads a calendar file; `zone` is where floating times (without `X-WR-TIMEZONE`) and
/// all-day events are.
pub fn parse(file: &str, zone: Tz) -> Result<Imported, ImportError> {
    // Some applications (Outlook among them) begin their files with a byte-order mark.
    let file = file.strip_prefix('\u{feff}').unwrap_or(file);
    let unfolded = unfold(file);
    nesting_within(&unfolded, MAX_NESTING)?;
    let roots = read_calendar_simple(&unfolded).map_err(|e| {
        // The parser's message quotes the rest of the file: the start is enough.
        let why: String = e.to_string().chars().take(200).collect();
        ImportError::Malformed(format!("not iCalendar: {why}"))
    })?;
    let calendar = match roots.as_slice() {
        [root] if name_is(root.name.as_str(), "VCALENDAR") => root,
        _ => {
            return Err(ImportError::Malformed(
                "expected one VCALENDAR (BEGIN:VCALENDAR … END:VCALENDAR)".into(),
            ))
        }
    };
    let vevents: Vec<&Component<'_>> = calendar
        .components
        .iter()
        .filter(|c| name_is(c.name.as_str(), "VEVENT"))
        .collect();
    if vevents.len() > MAX_COMPONENTS {
        return Err(ImportError::TooMany(vevents.len()));
    }
    let floating = match text(calendar, "X-WR-TIMEZONE") {
        Some(name) => parse_time_zone(name.trim()).map_err(|_| {
            ImportError::Invalid(vec![FieldError::new(
                "time_zone",
                format!("X-WR-TIMEZONE {name:?} is not an IANA time zone name"),
            )])
        })?,
        None => zone,
    };
    let aliases = calendar
        .components
        .iter()
        .filter(|c| name_is(c.name.as_str(), "VTIMEZONE"))
        .filter_map(|c| {
            let tzid = text(c, "TZID")?.trim();
            let zone = parse_time_zone(tzid)
                .ok()
                .or_else(|| parse_time_zone(text(c, "X-LIC-LOCATION")?.trim()).ok())?;
            Some((tzid.to_owned(), zone))
        })
        .collect();
    let zones = Zones {
        aliases,
        floating,
        days: zone,
    };

    let uid = |c: &Component<'_>| text(c, "UID").map(|u| u.trim().to_owned());
    let mut errors = Vec::new();
    let mut events: Vec<Option<EventContent>> = Vec::new();
    let mut components = Vec::new();
    let mut by_uid: HashMap<String, usize> = HashMap::new();
    let masters = vevents
        .iter()
        .enumerate()
        .filter(|(_, c)| prop(c, "RECURRENCE-ID").is_none());
    for (i, c) in masters {
        if let Some(uid) = uid(c) {
            if by_uid.insert(uid.clone(), events.len()).is_some() {
                errors.push(
                    FieldError::new(
                        "uid",
                        format!("UID {uid:?} is on more than one VEVENT without RECURRENCE-ID"),
                    )
                    .at(i),
                );
                continue;
            }
        }
        if is_cancelled(c) {
            events.push(None);
            components.push(i);
            continue;
        }
        match master(c, &zones, true) {
            Ok(content) => events.push(Some(content)),
            Err(problems) => {
                errors.extend(problems.into_iter().map(|e| e.at(i)));
                events.push(None);
            }
        }
        components.push(i);
    }
    let overrides = vevents
        .iter()
        .enumerate()
        .filter(|(_, c)| prop(c, "RECURRENCE-ID").is_some());
    for (i, c) in overrides {
        match uid(c).and_then(|u| by_uid.get(&u).copied()) {
            Some(k) => {
                let Some(content) = events[k].as_ref() else {
                    continue; // the series is cancelled or has problems of its own
                };
                match apply_override(content, c, &zones) {
                    Ok(next) => events[k] = Some(next),
                    Err(problems) => errors.extend(problems.into_iter().map(|e| e.at(i))),
                }
            }
            // An occurrence whose series is not in the file: an event of its own.
            None if is_cancelled(c) => {}
            None => match master(c, &zones, false) {
                Ok(content) => {
                    events.push(Some(content));
                    components.push(i);
                }
                Err(problems) => errors.extend(problems.into_iter().map(|e| e.at(i))),
            },
        }
    }
    if !errors.is_empty() {
        errors.sort_by_key(|e| e.index);
        return Err(ImportError::Invalid(errors));
    }
    let mut found: Vec<(usize, EventContent)> = components
        .into_iter()
        .zip(events)
        .filter_map(|(i, e)| e.map(|e| (i, e)))
        .collect();
    found.sort_by_key(|(i, _)| *i);
    let (components, events) = found.into_iter().unzip();
    Ok(Imported { events, components })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn durations_are_nominal_days_and_exact_times() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        // Across the spring-forward night: one day keeps 12:00 on the wall clock (23 h),
        // 24 hours do not.
        let start = at("2027-03-27T11:00:00Z");
        assert_eq!(
            after(start, berlin, "P1D").unwrap(),
            at("2027-03-28T10:00:00Z")
        );
        assert_eq!(
            after(start, berlin, "PT24H").unwrap(),
            at("2027-03-28T11:00:00Z")
        );
        assert_eq!(
            after(start, berlin, "P1W").unwrap(),
            at("2027-04-03T10:00:00Z")
        );
        assert_eq!(
            after(start, berlin, "+PT45M").unwrap(),
            at("2027-03-27T11:45:00Z")
        );
        assert_eq!(
            after(start, berlin, "P1DT2H30M").unwrap(),
            at("2027-03-28T12:30:00Z")
        );
        for bad in [
            "-PT1H", "P1M", "P1Y", "45M", "", "PT", "PT0S", "P", "PT45Mx", "PT1.5H",
        ] {
            assert!(after(start, berlin, bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn until_in_local_time_or_as_a_date_becomes_utc() {
        let new_york: Tz = "America/New_York".parse().unwrap();
        assert_eq!(
            rule("FREQ=DAILY;UNTIL=20270310", new_york),
            "FREQ=DAILY;UNTIL=20270311T045959Z"
        );
        assert_eq!(
            rule("FREQ=WEEKLY;UNTIL=20270701T090000;BYDAY=MO", new_york),
            "FREQ=WEEKLY;UNTIL=20270701T130000Z;BYDAY=MO"
        );
        assert_eq!(
            rule("FREQ=DAILY;UNTIL=20270701T090000Z", new_york),
            "FREQ=DAILY;UNTIL=20270701T090000Z"
        );
        assert_eq!(rule("FREQ=DAILY;COUNT=3", new_york), "FREQ=DAILY;COUNT=3");
    }

    #[test]
    fn components_are_indexed_among_vevents() {
        let file = "BEGIN:VCALENDAR\r\nBEGIN:VTIMEZONE\r\nTZID:X\r\nEND:VTIMEZONE\r\n\
BEGIN:VEVENT\r\nUID:a\r\nDTSTART:20270101T100000Z\r\nDTEND:20270101T110000Z\r\nEND:VEVENT\r\n\
BEGIN:VEVENT\r\nUID:b\r\nDTSTART;TZID=X:20270101T100000\r\nDTEND:20270101T110000Z\r\nEND:VEVENT\r\n\
END:VCALENDAR\r\n";
        let Err(ImportError::Invalid(errors)) = parse(file, Tz::UTC) else {
            panic!("an unknown zone is a problem");
        };
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field, "time_zone");
        assert_eq!(errors[0].index, Some(1));
        let ok = parse(&file.replace("TZID=X", "TZID=Europe/Paris"), Tz::UTC).unwrap();
        let with_bom = format!("\u{feff}{}", file.replace("TZID=X", "TZID=Europe/Paris"));
        assert_eq!(parse(&with_bom, Tz::UTC).unwrap().components, [0, 1]);
        assert_eq!(ok.components, [0, 1]);
        assert_eq!(ok.events[1].time_zone.name(), "Europe/Paris");
        assert_eq!(ok.events[0].title, UNTITLED);
    }
}
