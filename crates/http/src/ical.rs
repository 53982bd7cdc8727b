//! iCalendar (RFC 5545) documents of events, written with the `icalendar` crate (which
//! folds lines and escapes text).
//!
//! One `VEVENT` per event — `UID` stable per event, `DTSTART`/`DTEND` on the wall clock of
//! the event's zone with `TZID`, `RRULE`, one `EXDATE` per cancelled occurrence,
//! `SUMMARY`, `DESCRIPTION`, `LOCATION`, `TRANSP`, `SEQUENCE` (version − 1), `DTSTAMP` and
//! `LAST-MODIFIED` (the last change) — plus one `VEVENT` with `RECURRENCE-ID` per moved or
//! edited occurrence. Times are whole seconds (iCalendar has no fractions). The zones
//! are IANA names, which calendar applications resolve themselves; no `VTIMEZONE` is
//! written.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use convene_domain::event::{StoredEvent, Transparency};
use convene_domain::ids::EventId;
use convene_domain::recurrence::Exception;
use icalendar::{Calendar, CalendarDateTime, Component, Event, EventLike, Property};

pub mod import;

/// The media type of the documents.
pub const MEDIA_TYPE: &str = "text/calendar; charset=utf-8";

/// The `UID` of an event: stable for its life.
pub fn uid(id: EventId) -> String {
    format!("event-{}@convene", id.0)
}

/// `t` on the wall clock of `zone`, with its `TZID`.
fn local(t: DateTime<Utc>, zone: Tz) -> CalendarDateTime {
    CalendarDateTime::WithTimezone {
        date_time: t.with_timezone(&zone).naive_local(),
        tzid: zone.name().to_owned(),
    }
}

/// The `VCALENDAR` of `events`.
pub fn calendar(events: &[StoredEvent]) -> String {
    let (head, tail) = envelope();
    head + &vevents(events) + &tail
}

/// The `VCALENDAR` around the events, as the crate writes it (`BEGIN`, `VERSION`,
/// `PRODID`, `CALSCALE`), and its `END`: a document written in parts (the feed) is
/// `head`, then the [`vevents`] of each part, then `tail`.
pub fn envelope() -> (String, String) {
    const END: &str = "END:VCALENDAR\r\n";
    let mut document = Calendar::empty()
        .append_property(Property::new("VERSION", "2.0"))
        .append_property(Property::new("PRODID", "-//Convene//Convene//EN"))
        .append_property(Property::new("CALSCALE", "GREGORIAN"))
        .done()
        .to_string();
    let tail = document.split_off(document.len() - END.len());
    debug_assert_eq!(tail, END);
    (document, tail)
}

/// The `VEVENT`s of `events`.
pub fn vevents(events: &[StoredEvent]) -> String {
    events
        .iter()
        .flat_map(components)
        .map(|component| Component::to_string(&component))
        .collect()
}

/// The properties every `VEVENT` of `stored` carries.
fn common(stored: &StoredEvent) -> Event {
    let content = &stored.content;
    let mut event = Event::new();
    event
        .uid(&uid(stored.id))
        .timestamp(stored.updated_at)
        .last_modified(stored.updated_at)
        .sequence(u32::try_from(stored.version.0 - 1).unwrap_or(0))
        .add_property(
            "TRANSP",
            match content.transparency {
                Transparency::Opaque => "OPAQUE",
                Transparency::Transparent => "TRANSPARENT",
            },
        );
    event
}

/// `value` as iCalendar TEXT can hold it (RFC 5545 §3.3.11: no control characters but
/// the tab; a line break is `\n`): CR LF and a lone CR become line breaks, other
/// control characters are left out. The crate escapes the rest.
fn text(value: &str) -> String {
    value
        .replace("\r\n", "\n")
        .replace('\r', "\n")
        .chars()
        .filter(|c| !c.is_control() || matches!(c, '\n' | '\t'))
        .collect()
}

/// The master `VEVENT` of `stored` and one per moved or edited occurrence.
fn components(stored: &StoredEvent) -> Vec<Event> {
    let content = &stored.content;
    let zone = content.time_zone;
    let mut master = common(stored);
    master
        .add_property(
            "CREATED",
            stored.created_at.format("%Y%m%dT%H%M%SZ").to_string(),
        )
        .summary(&text(&content.title))
        .description(&text(&content.description))
        .starts(local(content.range.start(), zone))
        .ends(local(content.range.end(), zone));
    if let Some(location) = &content.location {
        master.location(&text(location));
    }
    if let Some(rule) = &content.recurrence {
        master.add_property("RRULE", rule.as_str());
    }
    let mut overrides = Vec::new();
    for (recurrence_id, exception) in &content.exceptions {
        match exception {
            Exception::Cancelled => {
                let date = recurrence_id.with_timezone(&zone).naive_local();
                master.append_multi_property(
                    Property::new("EXDATE", date.format("%Y%m%dT%H%M%S").to_string())
                        .add_parameter("TZID", zone.name())
                        .done(),
                );
            }
            Exception::Changed(_) => {
                let Some(occurrence) = content.occurrence(*recurrence_id) else {
                    continue;
                };
                let view = content.view(occurrence);
                let mut changed = common(stored);
                changed
                    .recurrence_id(local(*recurrence_id, zone))
                    .summary(&text(&view.title))
                    .description(&text(&view.description))
                    .starts(local(occurrence.range.start(), zone))
                    .ends(local(occurrence.range.end(), zone));
                if let Some(location) = &view.location {
                    changed.location(&text(location));
                }
                overrides.push(changed.done());
            }
        }
    }
    let mut all = vec![master.done()];
    all.extend(overrides);
    all
}
