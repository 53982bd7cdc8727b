//! Free/busy: a user's busy time as merged intervals, and the common free slots of
//! several users.

use chrono::{DateTime, Duration, Utc};

use crate::ids::UserId;
use crate::schedule::TimeRange;
use crate::validation::FieldError;

/// Most users one request names.
pub const MAX_USERS: usize = 50;
/// Most busy intervals one user's entry lists; beyond, the entry says it is truncated
/// (a year of eight meetings a working day is about 2,000).
pub const MAX_BUSY_INTERVALS: usize = 2000;
/// Most slots one request returns.
pub const MAX_SLOTS: i64 = 100;
/// Slots returned when the request names no `limit`.
pub const DEFAULT_SLOTS: i64 = 20;
/// Slot starts are aligned to this many minutes when the request names no step.
pub const DEFAULT_STEP_MINUTES: i64 = 15;
/// The longest step, a day.
pub const MAX_STEP_MINUTES: i64 = 24 * 60;

/// `ids` without repeats, in order: 1 to [`MAX_USERS`] users, else a problem with the
/// field `user_ids`.
pub fn users(ids: &[UserId]) -> Result<Vec<UserId>, FieldError> {
    let mut seen = std::collections::HashSet::new();
    let users: Vec<UserId> = ids.iter().copied().filter(|u| seen.insert(*u)).collect();
    if users.is_empty() || users.len() > MAX_USERS {
        return Err(FieldError::new(
            "user_ids",
            format!("must name 1 to {MAX_USERS} users"),
        ));
    }
    Ok(users)
}

/// The busy intervals among `busy` that meet `window`, clipped to it, in time order, with
/// overlapping and touching intervals merged into one.
pub fn merge(window: &TimeRange, busy: impl IntoIterator<Item = TimeRange>) -> Vec<TimeRange> {
    let mut clipped: Vec<(DateTime<Utc>, DateTime<Utc>)> = busy
        .into_iter()
        .filter(|b| b.overlaps(window))
        .map(|b| (b.start().max(window.start()), b.end().min(window.end())))
        .collect();
    clipped.sort_unstable();
    let mut merged: Vec<(DateTime<Utc>, DateTime<Utc>)> = Vec::with_capacity(clipped.len());
    for (start, end) in clipped {
        match merged.last_mut() {
            Some((_, last_end)) if start <= *last_end => *last_end = (*last_end).max(end),
            _ => merged.push((start, end)),
        }
    }
    merged
        .into_iter()
        .filter_map(|(start, end)| TimeRange::new(start, end).ok())
        .collect()
}

/// The first instant at or after `t` that is a whole number of `step`s after the Unix
/// epoch (so 15-minute steps fall on :00, :15, :30 and :45 UTC).
fn align_up(t: DateTime<Utc>, step: Duration) -> Option<DateTime<Utc>> {
    let step = step.num_microseconds().filter(|s| *s > 0)?;
    let micros = t.timestamp_micros();
    let aligned = micros
        .checked_add(step - 1)?
        .div_euclid(step)
        .checked_mul(step)?;
    DateTime::<Utc>::from_timestamp_micros(aligned)
}

/// The earliest `limit` intervals of `length` inside `window` that start on a multiple of
/// `step` (see [`align_up`]) and meet none of `busy` (merged, in time order: [`merge`]).
pub fn free_slots(
    window: &TimeRange,
    busy: &[TimeRange],
    length: Duration,
    step: Duration,
    limit: usize,
) -> Vec<TimeRange> {
    let mut slots = Vec::new();
    let mut next = 0;
    let mut start = align_up(window.start(), step);
    while let Some(s) = start {
        if slots.len() >= limit {
            break;
        }
        let Some(end) = s.checked_add_signed(length).filter(|e| *e <= window.end()) else {
            break;
        };
        while busy.get(next).is_some_and(|b| b.end() <= s) {
            next += 1;
        }
        match busy.get(next) {
            // The slot meets busy time: the next candidate starts once it is over.
            Some(b) if b.start() < end => start = align_up(b.end(), step),
            _ => {
                if let Ok(slot) = TimeRange::new(s, end) {
                    slots.push(slot);
                }
                start = s.checked_add_signed(step);
            }
        }
    }
    slots
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    fn at(minutes: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap() + Duration::minutes(minutes)
    }

    fn range(a: i64, b: i64) -> TimeRange {
        TimeRange::new(at(a), at(b)).unwrap()
    }

    #[test]
    fn users_are_distinct_and_bounded() {
        let ids = [UserId(3), UserId(1), UserId(3)];
        assert_eq!(users(&ids).unwrap(), [UserId(3), UserId(1)]);
        assert_eq!(users(&[]).unwrap_err().field, "user_ids");
        let many: Vec<UserId> = (1..=51).map(UserId).collect();
        assert!(users(&many[..50]).is_ok());
        assert!(users(&many).is_err());
    }

    #[test]
    fn busy_time_is_clipped_sorted_and_merged() {
        let window = range(60, 600);
        let busy = vec![
            range(300, 360),
            range(0, 90),    // clipped to 60–90
            range(90, 120),  // touches: merged into 60–120
            range(340, 400), // overlaps 300–360: 300–400
            range(600, 700), // after the window
            range(500, 650), // clipped to 500–600
        ];
        assert_eq!(
            merge(&window, busy),
            vec![range(60, 120), range(300, 400), range(500, 600)]
        );
        assert!(merge(&window, Vec::new()).is_empty());
    }

    #[test]
    fn slots_are_aligned_free_and_the_earliest() {
        // Window 09:07–12:00; busy 09:30–10:10 and 11:00–11:20.
        let window = range(9 * 60 + 7, 12 * 60);
        let busy = [
            range(9 * 60 + 30, 10 * 60 + 10),
            range(11 * 60, 11 * 60 + 20),
        ];
        let slots = free_slots(
            &window,
            &busy,
            Duration::minutes(30),
            Duration::minutes(15),
            10,
        );
        let starts: Vec<i64> = slots
            .iter()
            .map(|s| (s.start() - at(0)).num_minutes())
            .collect();
        // 09:15 is the first aligned start; 09:15–09:45 meets 09:30; after 10:10 the
        // next aligned start is 10:15; 10:45 would meet 11:00; after 11:20: 11:30.
        assert_eq!(starts, vec![10 * 60 + 15, 10 * 60 + 30, 11 * 60 + 30]);
        assert!(slots
            .iter()
            .all(|s| s.end() - s.start() == Duration::minutes(30)));
        let two = free_slots(
            &window,
            &busy,
            Duration::minutes(30),
            Duration::minutes(15),
            2,
        );
        assert_eq!(two, slots[..2]);
        // Longer than any free stretch: none.
        assert!(
            free_slots(&window, &busy, Duration::hours(2), Duration::minutes(15), 5).is_empty()
        );
    }

    proptest! {
        /// Every slot lies in the window, has the length, starts on a step, meets no busy
        /// time, and no earlier aligned start was free.
        #[test]
        fn slots_are_free_aligned_and_none_is_skipped(
            intervals in prop::collection::vec((0i64..2000, 1i64..200), 0..20),
            length in 5i64..120,
            step in prop::sample::select(vec![5i64, 10, 15, 30, 60]),
        ) {
            let window = range(0, 2000);
            let busy = merge(&window, intervals.iter().map(|(s, l)| range(*s, s + l)));
            let slots = free_slots(&window, &busy, Duration::minutes(length), Duration::minutes(step), 1000);
            let free = |s: i64| {
                s + length <= 2000 && busy.iter().all(|b| !b.overlaps(&range(s, s + length)))
            };
            let expected: Vec<i64> = (0..2000).step_by(usize::try_from(step).unwrap()).filter(|s| free(*s)).collect();
            let got: Vec<i64> = slots.iter().map(|s| (s.start() - at(0)).num_minutes()).collect();
            prop_assert_eq!(got, expected);
        }
    }
}
