//! Versions of an event: how each came about, and the field-level diff between two.
//!
//! A version's snapshot is an [`EventContent`]; history is append-only, so a rollback is
//! a new version holding an old snapshot.

use chrono::{DateTime, Utc};

use crate::event::EventContent;
use crate::ids::{EventId, UserId, Version};
use crate::recurrence::Exceptions;

/// One version of an event: its full content and how it came to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionRecord {
    /// The event.
    pub event_id: EventId,
    /// The version number.
    pub version: Version,
    /// The content at this version.
    pub content: EventContent,
    /// How it was made.
    pub change: ChangeKind,
    /// The version it restored, for a rollback.
    pub restored_from: Option<Version>,
    /// Who made it.
    pub changed_by: UserId,
    /// When.
    pub changed_at: DateTime<Utc>,
}

/// How a version came about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChangeKind {
    /// Version 1, the event as created.
    Created,
    /// An update that changed at least one field.
    Updated,
    /// A rollback restoring an earlier version's content.
    RolledBack,
}

impl ChangeKind {
    /// Every kind.
    pub const ALL: [ChangeKind; 3] = [
        ChangeKind::Created,
        ChangeKind::Updated,
        ChangeKind::RolledBack,
    ];

    /// The wire and storage name: `created`, `updated` or `rolled_back`.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Created => "created",
            ChangeKind::Updated => "updated",
            ChangeKind::RolledBack => "rolled_back",
        }
    }

    /// The kind with that exact name, if any.
    pub fn parse(s: &str) -> Option<ChangeKind> {
        ChangeKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// An editable field of an event, as named in diffs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Field {
    /// `title`
    Title,
    /// `description`
    Description,
    /// `start_time`
    StartTime,
    /// `end_time`
    EndTime,
    /// `location`
    Location,
    /// `time_zone`
    TimeZone,
    /// `recurrence`
    Recurrence,
    /// `transparency`
    Transparency,
    /// `exceptions`: the series' cancelled and individually changed occurrences.
    Exceptions,
}

impl Field {
    /// Every field, in wire order (the order of a diff).
    pub const ALL: [Field; 9] = [
        Field::Title,
        Field::Description,
        Field::StartTime,
        Field::EndTime,
        Field::Location,
        Field::TimeZone,
        Field::Recurrence,
        Field::Transparency,
        Field::Exceptions,
    ];

    /// The wire name, e.g. `start_time`.
    pub fn as_str(self) -> &'static str {
        match self {
            Field::Title => "title",
            Field::Description => "description",
            Field::StartTime => "start_time",
            Field::EndTime => "end_time",
            Field::Location => "location",
            Field::TimeZone => "time_zone",
            Field::Recurrence => "recurrence",
            Field::Transparency => "transparency",
            Field::Exceptions => "exceptions",
        }
    }

    /// This field's value in `content`.
    pub fn value(self, content: &EventContent) -> FieldValue {
        match self {
            Field::Title => FieldValue::Text(content.title.clone()),
            Field::Description => FieldValue::Text(content.description.clone()),
            Field::StartTime => FieldValue::Time(content.range.start()),
            Field::EndTime => FieldValue::Time(content.range.end()),
            Field::Location => content
                .location
                .clone()
                .map_or(FieldValue::Null, FieldValue::Text),
            Field::TimeZone => FieldValue::Text(content.time_zone.name().to_owned()),
            Field::Recurrence => content.recurrence.as_ref().map_or(FieldValue::Null, |r| {
                FieldValue::Text(r.as_str().to_owned())
            }),
            Field::Transparency => FieldValue::Text(content.transparency.as_str().to_owned()),
            Field::Exceptions => FieldValue::Exceptions(content.exceptions.clone()),
        }
    }
}

/// One side of a field change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldValue {
    /// A text field's value.
    Text(String),
    /// A time field's value.
    Time(DateTime<Utc>),
    /// An unset optional field (a cleared location).
    Null,
    /// A series' exceptions.
    Exceptions(Exceptions),
}

/// A field whose value differs between two versions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldChange {
    /// Which field.
    pub field: Field,
    /// Its value in the older (`from`) version.
    pub from: FieldValue,
    /// Its value in the newer (`to`) version.
    pub to: FieldValue,
}

/// The fields that differ from `from` to `to`, in [`Field::ALL`] order.
pub fn diff(from: &EventContent, to: &EventContent) -> Vec<FieldChange> {
    Field::ALL
        .into_iter()
        .filter_map(|field| {
            let (a, b) = (field.value(from), field.value(to));
            (a != b).then_some(FieldChange {
                field,
                from: a,
                to: b,
            })
        })
        .collect()
}

/// Whether moving from `current` to `next` changes anything. A no-op update or
/// rollback creates no version (and bumps no ETag).
pub fn is_effective(current: &EventContent, next: &EventContent) -> bool {
    current != next
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::event::Transparency;
    use crate::recurrence::Rule;
    use crate::schedule::TimeRange;
    use chrono::TimeDelta;
    use proptest::prelude::*;

    fn at(m: i64) -> DateTime<Utc> {
        DateTime::UNIX_EPOCH + TimeDelta::minutes(m)
    }

    fn content(title: &str, start: i64, end: i64, location: Option<&str>) -> EventContent {
        EventContent {
            title: title.into(),
            description: String::new(),
            range: TimeRange::new(at(start), at(end)).unwrap(),
            location: location.map(Into::into),
            time_zone: chrono_tz::UTC,
            recurrence: None,
            transparency: Transparency::Opaque,
            exceptions: Default::default(),
        }
    }

    #[test]
    fn zone_rule_and_transparency_are_diffed() {
        let single = content("a", 0, 1, None);
        let series = EventContent {
            time_zone: chrono_tz::Europe::Berlin,
            recurrence: Some(Rule::parse("FREQ=WEEKLY;COUNT=3").unwrap()),
            transparency: Transparency::Transparent,
            ..single.clone()
        };
        let changes = diff(&single, &series);
        assert_eq!(
            changes,
            vec![
                FieldChange {
                    field: Field::TimeZone,
                    from: FieldValue::Text("UTC".into()),
                    to: FieldValue::Text("Europe/Berlin".into()),
                },
                FieldChange {
                    field: Field::Recurrence,
                    from: FieldValue::Null,
                    to: FieldValue::Text("FREQ=WEEKLY;COUNT=3".into()),
                },
                FieldChange {
                    field: Field::Transparency,
                    from: FieldValue::Text("opaque".into()),
                    to: FieldValue::Text("transparent".into()),
                },
            ]
        );
    }

    #[test]
    fn change_kind_names_round_trip() {
        assert_eq!(
            ChangeKind::ALL.map(ChangeKind::as_str),
            ["created", "updated", "rolled_back"]
        );
        for kind in ChangeKind::ALL {
            assert_eq!(ChangeKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(ChangeKind::parse("rolledback"), None);
    }

    #[test]
    fn field_wire_names() {
        assert_eq!(
            Field::ALL.map(Field::as_str),
            [
                "title",
                "description",
                "start_time",
                "end_time",
                "location",
                "time_zone",
                "recurrence",
                "transparency",
                "exceptions"
            ]
        );
    }

    #[test]
    fn identical_contents_have_no_diff() {
        let a = content("Standup", 0, 15, Some("Room 1"));
        assert!(diff(&a, &a).is_empty());
        assert!(!is_effective(&a, &a.clone()));
    }

    #[test]
    fn diff_lists_changed_fields_in_order() {
        let a = content("Standup", 0, 15, Some("Room 1"));
        let b = content("Retro", 0, 30, Some("Room 1"));
        assert_eq!(
            diff(&a, &b),
            vec![
                FieldChange {
                    field: Field::Title,
                    from: FieldValue::Text("Standup".into()),
                    to: FieldValue::Text("Retro".into()),
                },
                FieldChange {
                    field: Field::EndTime,
                    from: FieldValue::Time(at(15)),
                    to: FieldValue::Time(at(30)),
                },
            ]
        );
        assert!(is_effective(&a, &b));
    }

    #[test]
    fn location_set_and_cleared() {
        let none = content("t", 0, 1, None);
        let some = content("t", 0, 1, Some("Room"));
        let empty = content("t", 0, 1, Some(""));
        assert_eq!(
            diff(&none, &some),
            vec![FieldChange {
                field: Field::Location,
                from: FieldValue::Null,
                to: FieldValue::Text("Room".into()),
            }]
        );
        assert_eq!(diff(&some, &none)[0].to, FieldValue::Null);
        // An empty location is a value, distinct from no location.
        assert_eq!(diff(&none, &empty).len(), 1);
    }

    fn any_content() -> impl Strategy<Value = EventContent> {
        (
            prop::sample::select(vec!["a", "b", "  a"]),
            prop::sample::select(vec!["", "x"]),
            0i64..3,
            1i64..3,
            prop::option::of(prop::sample::select(vec!["", "l"])),
            prop::option::of(prop::sample::select(vec!["FREQ=DAILY", "FREQ=WEEKLY"])),
            any::<bool>(),
        )
            .prop_map(
                |(title, description, start, len, location, rule, transparent)| EventContent {
                    title: title.into(),
                    description: description.into(),
                    range: TimeRange::new(at(start), at(start + len)).unwrap(),
                    location: location.map(Into::into),
                    time_zone: chrono_tz::UTC,
                    recurrence: rule.map(|r| Rule::parse(r).unwrap()),
                    transparency: if transparent {
                        Transparency::Transparent
                    } else {
                        Transparency::Opaque
                    },
                    exceptions: Default::default(),
                },
            )
    }

    proptest! {
        #[test]
        fn diff_with_self_is_empty(a in any_content()) {
            prop_assert!(diff(&a, &a).is_empty());
            prop_assert!(!is_effective(&a, &a));
        }

        #[test]
        fn diff_lists_exactly_the_differing_fields(a in any_content(), b in any_content()) {
            let changes = diff(&a, &b);
            let changed: Vec<Field> = changes.iter().map(|c| c.field).collect();
            let expected: Vec<Field> = Field::ALL
                .into_iter()
                .filter(|f| f.value(&a) != f.value(&b))
                .collect();
            prop_assert_eq!(&changed, &expected);
            for c in &changes {
                prop_assert_eq!(&c.from, &c.field.value(&a));
                prop_assert_eq!(&c.to, &c.field.value(&b));
            }
            // Independent check against the struct fields themselves.
            let by_hand = [
                a.title != b.title,
                a.description != b.description,
                a.range.start() != b.range.start(),
                a.range.end() != b.range.end(),
                a.location != b.location,
                a.time_zone != b.time_zone,
                a.recurrence != b.recurrence,
                a.transparency != b.transparency,
                a.exceptions != b.exceptions,
            ];
            let hand_fields: Vec<Field> = Field::ALL
                .into_iter()
                .zip(by_hand)
                .filter_map(|(f, differs)| differs.then_some(f))
                .collect();
            prop_assert_eq!(&changed, &hand_fields);
            prop_assert_eq!(changes.is_empty(), !is_effective(&a, &b));
        }

        #[test]
        fn reversed_diff_swaps_sides(a in any_content(), b in any_content()) {
            let swapped: Vec<FieldChange> = diff(&a, &b)
                .into_iter()
                .map(|c| FieldChange { field: c.field, from: c.to, to: c.from })
                .collect();
            prop_assert_eq!(diff(&b, &a), swapped);
        }
    }
}
