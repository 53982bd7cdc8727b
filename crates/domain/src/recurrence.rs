//! Recurring events: the time zone a series repeats in, its RFC 5545 rule, and the
//! expansion of the rule into occurrences (instants in UTC), with the contract's DST
//! rules. The rule grammar and its expansion are the `rrule` crate's; this module adds
//! what the contract says on top:
//!
//! - expansion runs on the **wall clock of the zone**: the rule is expanded in local
//!   ("floating") time and each local start is then placed in the zone, so a 09:00
//!   Europe/Berlin series is 08:00Z in winter and 07:00Z in summer;
//! - a local time that does not exist (the spring-forward gap) is taken with the UTC
//!   offset in effect before the gap; an ambiguous one (fall-back) is its first instant;
//! - only `FREQ` `DAILY|WEEKLY|MONTHLY|YEARLY` and the parts `INTERVAL`, `COUNT`, `UNTIL`,
//!   `BYDAY`, `BYMONTHDAY`, `BYMONTH`, `BYSETPOS`, `WKST` are accepted;
//! - expansion is bounded: at most `max` occurrences up to a horizon, and the crate's
//!   own iteration limit ends a rule that never (or hardly ever) produces one.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, LocalResult, NaiveDateTime, Offset, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use rrule::{Frequency, NWeekday, RRule, RRuleSet, Unvalidated};

use crate::schedule::TimeRange;
use crate::validation::FieldError;

/// The zone of an event without one.
pub const DEFAULT_TIME_ZONE: Tz = chrono_tz::UTC;

/// Parses an IANA zone name (`Europe/Berlin`); the error names the field `time_zone`.
pub fn parse_time_zone(raw: &str) -> Result<Tz, FieldError> {
    raw.parse::<Tz>().map_err(|_| {
        FieldError::new(
            "time_zone",
            format!("{raw:?} is not an IANA time zone name (e.g. \"Europe/Berlin\", \"UTC\")"),
        )
    })
}

/// Longest rule text, in characters.
pub const RULE_MAX: usize = 500;

/// A parsed recurrence rule (an `RRULE` value without the `RRULE:` prefix). Two rules
/// are equal when their text is.
#[derive(Debug, Clone)]
pub struct Rule {
    text: String,
    rule: RRule<Unvalidated>,
}

impl PartialEq for Rule {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Eq for Rule {}

fn rule_error(message: impl Into<String>) -> FieldError {
    FieldError::new("recurrence", message)
}

/// Whether some month of `months` (all when empty) has some day of `days` (any when
/// empty): `BYMONTH=2;BYMONTHDAY=30` never occurs.
fn some_month_has_the_day(months: &[u8], days: &[i8]) -> bool {
    const LONGEST: [u8; 12] = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    if days.is_empty() {
        return true;
    }
    let months: Vec<u8> = if months.is_empty() {
        (1..=12).collect()
    } else {
        months.to_vec()
    };
    months.iter().any(|m| {
        let longest = LONGEST[usize::from(m.clamp(&1, &12) - 1)];
        days.iter().any(|d| d.unsigned_abs() <= longest)
    })
}

/// `text` with an `UNTIL` that has no `Z` read as UTC: the crate would read it in the
/// server's local zone, so that one rule meant different things on differently
/// configured machines. A date (`UNTIL=20270110`) includes that whole day.
fn utc_until(text: &str) -> String {
    text.split(';')
        .map(|part| match part.split_once('=') {
            Some((name, value)) if name.trim().eq_ignore_ascii_case("UNTIL") => {
                let value = value.trim();
                if !value.is_ascii() {
                    return part.to_owned();
                }
                let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
                if value.len() == 15
                    && digits(&value[..8])
                    && value[8..9].eq_ignore_ascii_case("T")
                    && digits(&value[9..])
                {
                    format!("{name}={value}Z")
                } else if value.len() == 8 && digits(value) {
                    format!("{name}={value}T235959Z")
                } else {
                    part.to_owned()
                }
            }
            _ => part.to_owned(),
        })
        .collect::<Vec<_>>()
        .join(";")
}

impl Rule {
    /// Parses and checks a rule: unparsable text, an unsupported frequency or part is a
    /// problem with the field `recurrence`.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let text = raw.trim();
        if raw.chars().count() > RULE_MAX {
            return Err(rule_error(format!("must be at most {RULE_MAX} characters")));
        }
        if text.is_empty() {
            return Err(rule_error("must not be empty; use null for a single event"));
        }
        if text.to_ascii_uppercase().starts_with("RRULE:") {
            return Err(rule_error(
                "give the rule's value without the \"RRULE:\" prefix",
            ));
        }
        for part in text.split(';') {
            let name = part
                .split('=')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_uppercase();
            if !SUPPORTED_PARTS.contains(&name.as_str()) {
                return Err(rule_error(format!(
                    "{name} is not supported (supported: {})",
                    SUPPORTED_PARTS.join(", ")
                )));
            }
        }
        let rule: RRule<Unvalidated> = utc_until(text)
            .parse()
            .map_err(|e| rule_error(format!("is not a valid RRULE: {e}")))?;
        // RFC 5545: "COUNT and UNTIL MUST NOT occur in the same 'recur'"; a month has
        // no day 0 (the crate would ignore it).
        if rule.get_count().is_some() && rule.get_until().is_some() {
            return Err(rule_error("give COUNT or UNTIL, not both"));
        }
        if !rule.get_by_set_pos().is_empty()
            && rule.get_by_weekday().is_empty()
            && rule.get_by_month_day().is_empty()
            && rule.get_by_month().is_empty()
        {
            // RFC 5545: BYSETPOS "MUST only be used in conjunction with another BYxxx".
            return Err(rule_error(
                "BYSETPOS picks among the dates of another BY part (BYDAY, BYMONTHDAY or BYMONTH); give one",
            ));
        }
        if rule.get_by_month_day().contains(&0) {
            return Err(rule_error("BYMONTHDAY must be 1 to 31 or -31 to -1, not 0"));
        }
        if !some_month_has_the_day(rule.get_by_month(), rule.get_by_month_day()) {
            // Known at once: the crate would search 100,000 periods to find out.
            return Err(ExpansionError::Empty.field_error());
        }
        match rule.get_freq() {
            Frequency::Monthly | Frequency::Yearly => {}
            Frequency::Daily | Frequency::Weekly => {
                // RFC 5545: a numbered BYDAY ("-1FR") "MUST NOT be specified" with
                // another frequency; the crate would take it as every such weekday.
                if rule
                    .get_by_weekday()
                    .iter()
                    .any(|d| matches!(d, NWeekday::Nth(..)))
                {
                    return Err(rule_error(format!(
                        "a numbered BYDAY (such as -1FR) needs FREQ=MONTHLY or FREQ=YEARLY, not FREQ={}",
                        rule.get_freq()
                    )));
                }
            }
            other => {
                return Err(rule_error(format!(
                    "FREQ={other} is not supported (DAILY, WEEKLY, MONTHLY or YEARLY)"
                )))
            }
        }
        Ok(Self {
            text: text.to_owned(),
            rule,
        })
    }

    /// The rule as given (trimmed).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether the rule ends by itself (`COUNT` or `UNTIL`).
    pub fn is_bounded(&self) -> bool {
        self.rule.get_count().is_some() || self.rule.get_until().is_some()
    }

    /// The rule's `COUNT`, if it has one.
    pub fn count(&self) -> Option<u32> {
        self.rule.get_count()
    }

    /// The rule's `UNTIL` (an instant), if it has one.
    pub fn until(&self) -> Option<DateTime<Utc>> {
        self.rule.get_until().map(|u| u.with_timezone(&Utc))
    }

    /// The same rule ending otherwise: its `COUNT` and `UNTIL` replaced by `end`.
    pub fn ending(&self, end: RuleEnd) -> Result<Self, FieldError> {
        let mut parts: Vec<&str> = self
            .text
            .split(';')
            .filter(|p| {
                let name = p
                    .split('=')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_uppercase();
                name != "COUNT" && name != "UNTIL"
            })
            .collect();
        let end = match end {
            RuleEnd::Count(n) => format!("COUNT={n}"),
            RuleEnd::Until(t) => format!("UNTIL={}", t.format("%Y%m%dT%H%M%SZ")),
        };
        parts.push(&end);
        Self::parse(&parts.join(";"))
    }
}

/// How a rule ends, for [`Rule::ending`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleEnd {
    /// After this many occurrences.
    Count(u32),
    /// With the last occurrence starting at or before this instant.
    Until(DateTime<Utc>),
}

/// What happened to one occurrence of a series, keyed by its `recurrence_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exception {
    /// The occurrence is cancelled.
    Cancelled,
    /// The occurrence is edited or moved individually.
    Changed(OccurrenceChange),
}

/// The fields one occurrence overrides; `None` keeps the series' value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OccurrenceChange {
    /// Its own title.
    pub title: Option<String>,
    /// Its own description.
    pub description: Option<String>,
    /// Its own location (`Some(None)`: none).
    pub location: Option<Option<String>>,
    /// Its own time (moved).
    pub range: Option<TimeRange>,
}

/// The exceptions of a series, by `recurrence_id` (the occurrence's original start).
pub type Exceptions = BTreeMap<DateTime<Utc>, Exception>;

/// One occurrence of an event: its identity (the original start) and when it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Occurrence {
    /// The original start (UTC): the occurrence's identity, also once moved.
    pub recurrence_id: DateTime<Utc>,
    /// When it takes place.
    pub range: TimeRange,
    /// Whether it is moved or edited individually.
    pub overridden: bool,
}

/// The last instant expansion reaches: far enough for any stored time (year 9999)
/// and clear of chrono's limits when a day of margin is added.
pub fn end_of_time() -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp(253_402_214_400, 0).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// Applies `exceptions` to the rule's occurrences `starts` (each of `length`): cancelled
/// ones go, changed ones take their own time. Changed occurrences whose original start
/// is not among `starts` are added when `extra` accepts their range. In start order.
pub fn apply_exceptions(
    starts: &[DateTime<Utc>],
    length: Duration,
    exceptions: &Exceptions,
    extra: impl Fn(&TimeRange) -> bool,
) -> Vec<Occurrence> {
    let mut out: Vec<Occurrence> = Vec::with_capacity(starts.len());
    for &start in starts {
        let Ok(range) = TimeRange::new(start, start + length) else {
            continue;
        };
        match exceptions.get(&start) {
            Some(Exception::Cancelled) => {}
            Some(Exception::Changed(change)) => out.push(Occurrence {
                recurrence_id: start,
                range: change.range.unwrap_or(range),
                overridden: true,
            }),
            None => out.push(Occurrence {
                recurrence_id: start,
                range,
                overridden: false,
            }),
        }
    }
    for (rid, exception) in exceptions {
        if let Exception::Changed(OccurrenceChange {
            range: Some(range), ..
        }) = exception
        {
            if starts.binary_search(rid).is_err() && extra(range) {
                out.push(Occurrence {
                    recurrence_id: *rid,
                    range: *range,
                    overridden: true,
                });
            }
        }
    }
    out.sort_by_key(|o| (o.range.start(), o.recurrence_id));
    out
}

/// The rule parts the contract supports.
const SUPPORTED_PARTS: [&str; 9] = [
    "FREQ",
    "INTERVAL",
    "COUNT",
    "UNTIL",
    "BYDAY",
    "BYMONTHDAY",
    "BYMONTH",
    "BYSETPOS",
    "WKST",
];

/// A series: its first occurrence (DTSTART, in UTC), every occurrence's length, the zone
/// it repeats in and its rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Start of the first occurrence.
    pub start: DateTime<Utc>,
    /// Length of every occurrence.
    pub length: Duration,
    /// The wall clock the rule repeats in.
    pub zone: Tz,
    /// The rule.
    pub rule: Rule,
}

/// Why a series cannot be expanded as asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExpansionError {
    /// The rule produces no occurrence at all (e.g. `BYMONTHDAY=30;BYMONTH=2`).
    Empty,
    /// More than the allowed number of occurrences before the horizon.
    TooMany {
        /// The limit.
        max: usize,
    },
    /// A `COUNT` above the allowed number of occurrences (refused whatever its dates,
    /// so that a bounded series is checked in full).
    CountTooHigh {
        /// The limit.
        max: usize,
    },
    /// More than the allowed number of occurrences before now (the past is stored and
    /// checked too, so it is bounded like the future).
    TooManyPast {
        /// The limit.
        max: usize,
    },
    /// Two of the series' own occurrences overlap.
    SelfOverlap {
        /// The later of the two.
        at: DateTime<Utc>,
    },
    /// The crate refused the rule with this start (e.g. an `UNTIL` before it).
    Invalid(String),
}

impl ExpansionError {
    /// The field problem this is (field `recurrence`).
    pub fn field_error(&self) -> FieldError {
        match self {
            Self::Empty => rule_error("produces no occurrence"),
            Self::TooMany { max } => rule_error(format!(
                "produces more than {max} occurrences within the horizon; add COUNT or UNTIL"
            )),
            Self::CountTooHigh { max } => rule_error(format!(
                "COUNT may be at most {max} (the most occurrences one series may have)"
            )),
            Self::TooManyPast { max } => rule_error(format!(
                "has more than {max} occurrences before now; start it later"
            )),
            Self::SelfOverlap { at } => rule_error(format!(
                "occurrences of this series overlap one another (at {})",
                at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
            )),
            Self::Invalid(why) => rule_error(why.clone()),
        }
    }
}

impl Series {
    /// The starts of every occurrence before `horizon`, in order, the first occurrence
    /// (DTSTART) always included: at most `max`, else [`ExpansionError::TooMany`]. A rule
    /// that produces nothing at all is [`ExpansionError::Empty`]; occurrences that
    /// overlap one another are [`ExpansionError::SelfOverlap`].
    pub fn starts_before(
        &self,
        horizon: DateTime<Utc>,
        max: usize,
    ) -> Result<Vec<DateTime<Utc>>, ExpansionError> {
        self.starts_counted(horizon, DateTime::<Utc>::MIN_UTC, max)
    }

    /// As [`Series::starts_before`], but the starts from `counted_from` on and those
    /// before it are counted apart, each at most `max` ("at most `max` occurrences
    /// within the horizon", the horizon running from now; the past, stored and checked
    /// too, bounded alike: [`ExpansionError::TooManyPast`]), so at most `2 × max + 1`
    /// dates are expanded. A `COUNT` above `max` is refused whatever the dates.
    pub fn starts_counted(
        &self,
        horizon: DateTime<Utc>,
        counted_from: DateTime<Utc>,
        max: usize,
    ) -> Result<Vec<DateTime<Utc>>, ExpansionError> {
        if self.rule.count().is_some_and(|c| c as usize > max) {
            return Err(ExpansionError::CountTooHigh { max });
        }
        let horizon = horizon.min(end_of_time());
        // A day of margin: local times can run up to a day ahead of UTC.
        let local_horizon = horizon.naive_utc() + Duration::days(1);
        let has_past = counted_from > self.start;
        let bound = if has_past { max.saturating_mul(2) } else { max };
        let wanted = u16::try_from(bound.saturating_add(1)).unwrap_or(u16::MAX);
        let result = self.set()?.before(floating(local_horizon)).all(wanted);
        let generated: Vec<DateTime<Utc>> = result
            .dates
            .iter()
            .map(|d| self.instant(d.naive_utc()))
            .filter(|t| *t < horizon)
            .collect();
        // Stopped at `wanted` dates all before the horizon: some starts are unknown.
        let cut_short =
            result.dates.len() >= usize::from(wanted) && generated.len() == result.dates.len();
        if generated.is_empty()
            && self
                .rule_set(self.rule.rule.clone())?
                .all(1)
                .dates
                .is_empty()
        {
            // Nothing before the horizon, and nothing at all.
            return Err(ExpansionError::Empty);
        }
        // DTSTART is the first occurrence, whether or not the rule would produce it.
        let mut starts = generated;
        starts.push(self.start);
        starts.sort_unstable();
        starts.dedup();
        let past = starts.iter().filter(|t| **t < counted_from).count();
        if past > max {
            return Err(ExpansionError::TooManyPast { max });
        }
        if starts.len() - past > max || cut_short {
            return Err(ExpansionError::TooMany { max });
        }
        if let Some(pair) = starts.windows(2).find(|w| w[1] < w[0] + self.length) {
            return Err(ExpansionError::SelfOverlap { at: pair[1] });
        }
        Ok(starts)
    }

    /// The starts of the occurrences (DTSTART included) that overlap `[from, to)`, in
    /// order, at most `limit` of them.
    pub fn starts_overlapping(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<DateTime<Utc>>, ExpansionError> {
        // From the earliest instant there is, nothing starts earlier.
        let first = from
            .checked_sub_signed(self.length)
            .unwrap_or(DateTime::<Utc>::MIN_UTC);
        let to = to.min(end_of_time());
        let mut set = self
            .set_near(first)?
            .before(floating(to.naive_utc() + Duration::days(1)));
        if let Some(after) = first.naive_utc().checked_sub_signed(Duration::days(1)) {
            set = set.after(floating(after));
        }
        // The expansion starts a day early (wall clocks and UTC differ by less), so its
        // first dates may fall before `first`: ask for more until `limit` remain or the
        // rule has no more.
        let mut wanted = u16::try_from(limit).unwrap_or(u16::MAX).max(1);
        loop {
            let dates = set.clone().all(wanted).dates;
            let mut starts: Vec<DateTime<Utc>> = dates
                .iter()
                .map(|d| self.instant(d.naive_utc()))
                .chain(std::iter::once(self.start))
                .filter(|t| *t > first && *t < to)
                .collect();
            starts.sort_unstable();
            starts.dedup();
            if starts.len() >= limit || dates.len() < usize::from(wanted) || wanted == u16::MAX {
                starts.truncate(limit);
                return Ok(starts);
            }
            wanted = wanted.saturating_mul(2);
        }
    }

    /// The occurrences after DTSTART, as a rule set on the zone's floating wall clock.
    /// RFC 5545: "The DTSTART property value always counts as the first occurrence" of a
    /// `COUNT`, also when the rule would not produce it — the crate then gives `COUNT`
    /// dates besides DTSTART, so here the rule's last one is left out.
    fn set(&self) -> Result<RRuleSet, ExpansionError> {
        let set = self.rule_set(self.rule.rule.clone())?;
        let Some(count) = self.rule.count() else {
            return Ok(set);
        };
        match set.clone().all(1).dates.first() {
            Some(first) if first.naive_utc() != self.local_start() => {
                if count > 1 {
                    self.rule_set(self.rule.rule.clone().count(count - 1))
                } else {
                    // `COUNT=1`: DTSTART alone.
                    Ok(set.exdate(*first))
                }
            }
            _ => Ok(set),
        }
    }

    /// DTSTART on the zone's wall clock, to the whole second (the rule crate counts
    /// whole seconds; [`Series::instant`] restores the fraction).
    fn local_start(&self) -> NaiveDateTime {
        let local = self.start.with_timezone(&self.zone).naive_local();
        local.with_nanosecond(0).unwrap_or(local)
    }

    /// The instant of a wall-clock time the rule produced: DTSTART itself for DTSTART's
    /// wall-clock time (which may be the second of a fall-back hour's two instances),
    /// else placed in the zone ([`place`]); DTSTART's fraction of a second carried over
    /// to every occurrence.
    fn instant(&self, local: NaiveDateTime) -> DateTime<Utc> {
        if local == self.local_start() {
            return self.start;
        }
        place(self.zone, local) + Duration::nanoseconds(self.start.nanosecond().into())
    }

    /// `rule` on the zone's floating wall clock, starting at DTSTART.
    fn rule_set(&self, rule: RRule<Unvalidated>) -> Result<RRuleSet, ExpansionError> {
        self.rule_set_from(rule, self.local_start())
    }

    /// The series' rule set for finding what starts after `from`: for a `DAILY` or
    /// `WEEKLY` rule without `COUNT`, begun on the wall clock a whole number of periods
    /// later than DTSTART and still at least a period (and two days: zones) before
    /// `from` — the same occurrences from there on, without replaying every day since
    /// DTSTART (a window in 2400 of a daily series of 2027 would otherwise walk 135,000
    /// days: a second per series in a debug build). Other rules step a month or more at
    /// a time and start where DTSTART is.
    fn set_near(&self, from: DateTime<Utc>) -> Result<RRuleSet, ExpansionError> {
        let rule = &self.rule.rule;
        let period_days = match rule.get_freq() {
            Frequency::Daily => 1,
            Frequency::Weekly => 7,
            _ => return self.set(),
        } * i64::from(rule.get_interval().max(1));
        if rule.get_count().is_some() {
            return self.set();
        }
        let local_start = self.local_start();
        let Some(local_from) = from
            .naive_utc()
            .checked_sub_signed(Duration::days(2 + period_days))
        else {
            return self.set();
        };
        let periods = (local_from - local_start).num_days() / period_days;
        if periods <= 0 {
            return self.set();
        }
        let shifted = local_start + Duration::days(periods * period_days);
        let before_until = self
            .rule
            .until()
            .is_none_or(|u| shifted < u.with_timezone(&self.zone).naive_local());
        if !before_until {
            return self.set();
        }
        self.rule_set_from(rule.clone(), shifted)
    }

    /// `rule` on the zone's floating wall clock, starting at `local_start`.
    fn rule_set_from(
        &self,
        rule: RRule<Unvalidated>,
        local_start: NaiveDateTime,
    ) -> Result<RRuleSet, ExpansionError> {
        let mut rule = yearly_equivalent(rule);
        if let Some(until) = rule.get_until() {
            // UNTIL is an instant (UTC); the expansion runs on the zone's wall clock.
            let local_until = until.with_timezone(&self.zone).naive_local();
            rule = rule.until(floating(local_until));
        }
        rule.build(floating(local_start)).map_err(|e| {
            ExpansionError::Invalid(match e {
                // The crate words it for its own developers, with floating times.
                rrule::RRuleError::ValidationError(rrule::ValidationError::UntilBeforeStart {
                    ..
                }) => "has an UNTIL before start_time (the first occurrence)".to_owned(),
                other => other.to_string(),
            })
        })
    }
}

/// `rule` stepping a year at a time where that produces the same dates: a `DAILY` or
/// `MONTHLY` rule with `INTERVAL=1`, no `BYSETPOS` and no numbered `BYDAY` whose
/// `BYMONTHDAY` or `BYDAY` picks the days is the same filter over every day of the year
/// (`BYMONTH`, `BYMONTHDAY` and plain `BYDAY` limit the days in all three frequencies,
/// and with one of the latter two given the crate adds no default from DTSTART). The
/// crate steps period by period and gives up after 100,000 periods without a date, so a
/// rare rule such as `FREQ=DAILY;BYMONTH=2;BYMONTHDAY=29;BYDAY=MO` (a Monday 29 February,
/// every 28 years) walked every day to year 9999 — half a second of CPU per series, in
/// every expansion of it; by years it walks 8,000 periods.
fn yearly_equivalent(rule: RRule<Unvalidated>) -> RRule<Unvalidated> {
    let filters_days = !rule.get_by_month_day().is_empty() || !rule.get_by_weekday().is_empty();
    let plain_days = rule
        .get_by_weekday()
        .iter()
        .all(|d| matches!(d, NWeekday::Every(_)));
    if matches!(rule.get_freq(), Frequency::Daily | Frequency::Monthly)
        && rule.get_interval() <= 1
        && rule.get_by_set_pos().is_empty()
        && filters_days
        && plain_days
    {
        rule.freq(Frequency::Yearly)
    } else {
        rule
    }
}

/// A local ("floating") time as the rule crate's UTC, so that its expansion runs on the
/// wall clock and the zone is applied afterwards by [`place`].
fn floating(local: NaiveDateTime) -> DateTime<rrule::Tz> {
    rrule::Tz::UTC.from_utc_datetime(&local)
}

/// The instant of the local time `local` in `zone`: a time in the spring-forward gap
/// takes the offset in effect before the gap; an ambiguous one is the earlier instant.
pub fn place(zone: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    match zone.from_local_datetime(&local) {
        LocalResult::Single(t) => t.with_timezone(&Utc),
        LocalResult::Ambiguous(first, _) => first.with_timezone(&Utc),
        LocalResult::None => {
            // The last hour before the gap that exists tells the offset before it.
            let before = (1..=48).find_map(|h| {
                match zone.from_local_datetime(&(local - Duration::hours(h))) {
                    LocalResult::Single(t) => Some(t),
                    LocalResult::Ambiguous(first, _) => Some(first),
                    LocalResult::None => None,
                }
            });
            match before {
                Some(t) => {
                    let offset = t.offset().fix();
                    Utc.from_utc_datetime(
                        &(local - Duration::seconds(i64::from(offset.local_minus_utc()))),
                    )
                }
                None => Utc.from_utc_datetime(&local),
            }
        }
    }
}

#[cfg(test)]
mod tests;
