//! Time ranges and conflict detection.
//!
//! Rule: an owner's events never overlap. Ranges are half-open `[start, end)`, so an
//! event ending at 10:00 and one starting at 10:00 touch but do not conflict.
//!
//! Why the check is one index seek, O(log n) whatever the calendar size: because the
//! invariant holds, an owner's events sorted by start also have strictly increasing ends
//! (if `a.start < b.start` and `a.end >= b.end`, `a` would contain `b`). So the only stored
//! events that can overlap a candidate are those starting before `candidate.end`
//! ([`scan_bounds`]). Scanning them in descending start order (an index seek on
//! `(owner_id, start_time)` followed by a backward walk), each next one ends earlier than
//! the last; they overlap while they still end after `candidate.start`, and the first one
//! that does not ends the scan, since every earlier one ends earlier still.
//! [`conflicts_in_descending`] is that scan. The database supplies the rows; this module
//! decides which of them conflict.
//!
//! A batch of new events must also not overlap one another: [`overlaps_within`] finds
//! every item that overlaps another with a sort and a sweep.

use std::fmt;

use chrono::{DateTime, Utc};

use crate::validation::FieldError;

/// A non-empty, half-open span of time `[start, end)`; `start < end` always holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TimeRange {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
}

/// The error of [`TimeRange::new`]: the end is not strictly after the start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidRange;

impl fmt::Display for InvalidRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("end_time must be after start_time")
    }
}

impl std::error::Error for InvalidRange {}

impl TimeRange {
    /// A range from `start` (inclusive) to `end` (exclusive); empty or reversed ranges
    /// are refused, so every `TimeRange` is a real span of time.
    pub fn new(start: DateTime<Utc>, end: DateTime<Utc>) -> Result<Self, InvalidRange> {
        if start < end {
            Ok(Self { start, end })
        } else {
            Err(InvalidRange)
        }
    }

    /// The first instant inside the range.
    pub fn start(&self) -> DateTime<Utc> {
        self.start
    }

    /// The first instant after the range (exclusive).
    pub fn end(&self) -> DateTime<Utc> {
        self.end
    }

    /// Whether the two ranges share an instant; touching ranges do not overlap.
    pub fn overlaps(&self, other: &TimeRange) -> bool {
        self.start < other.end && other.start < self.end
    }
}

/// The longest window a read covers (free/busy, free slots, the occurrence list): `to`
/// at most this many days after `from`.
pub const MAX_WINDOW_DAYS: i64 = 366;

/// Checks a read window: `to` after `from`, at most [`MAX_WINDOW_DAYS`] later; the
/// problem names the field `to`.
pub fn window(from: DateTime<Utc>, to: DateTime<Utc>) -> Result<TimeRange, FieldError> {
    let window =
        TimeRange::new(from, to).map_err(|_| FieldError::new("to", "must be after from"))?;
    if to - from > chrono::Duration::days(MAX_WINDOW_DAYS) {
        return Err(FieldError::new(
            "to",
            format!("must be at most {MAX_WINDOW_DAYS} days after from"),
        ));
    }
    Ok(window)
}

/// The exclusive upper bound of stored start times to scan for conflicts with
/// `candidate`: events starting at or after its end cannot overlap it.
pub fn scan_bounds(candidate: &TimeRange) -> DateTime<Utc> {
    candidate.end
}

/// The stored events that overlap `candidate`, in ascending start order.
///
/// `stored_desc_by_start` must be one owner's events (which never overlap one another)
/// with start before [`scan_bounds`]`(candidate)`, in descending start order, and without
/// the event being updated itself. The scan stops at the first event that does not
/// overlap (see the module docs), so it reads at most one row more than it returns.
/// Items starting at or after the bound are skipped rather than trusted.
pub fn conflicts_in_descending<T>(
    candidate: &TimeRange,
    stored_desc_by_start: impl IntoIterator<Item = T>,
    range_of: impl Fn(&T) -> TimeRange,
) -> Vec<T> {
    let mut conflicts = Vec::new();
    for item in stored_desc_by_start {
        let range = range_of(&item);
        if range.start >= candidate.end {
            continue;
        }
        if range.end > candidate.start {
            conflicts.push(item);
        } else {
            break;
        }
    }
    conflicts.reverse();
    conflicts
}

/// Every item of `items` that overlaps another one, once, as `(item, other)` naming one
/// item it overlaps; sorted by item. A batch of n identical ranges gives n entries, not
/// the n·(n−1)/2 overlapping pairs, so a report built from it stays linear in the input.
///
/// Sort by start (then index) and sweep: an item overlaps some item that starts no later
/// than it exactly when the latest-ending such item ends after it starts; failing that,
/// it overlaps a later-starting item exactly when the next item in start order starts
/// before it ends. O(n log n).
pub fn overlaps_within(items: &[TimeRange]) -> Vec<(usize, usize)> {
    let mut order: Vec<usize> = (0..items.len()).collect();
    order.sort_by_key(|&i| (items[i].start, i));
    let mut found = Vec::new();
    let mut latest: Option<usize> = None;
    for (k, &i) in order.iter().enumerate() {
        let current = items[i];
        let before = latest.filter(|&j| items[j].end > current.start);
        let after = order
            .get(k + 1)
            .copied()
            .filter(|&j| items[j].start < current.end);
        if let Some(other) = before.or(after) {
            found.push((i, other));
        }
        if latest.is_none_or(|j| items[j].end < current.end) {
            latest = Some(i);
        }
    }
    found.sort_unstable();
    found
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use chrono::TimeDelta;
    use proptest::prelude::*;
    use std::cell::Cell;

    /// An instant `m` minutes after the epoch.
    fn at(m: i64) -> DateTime<Utc> {
        DateTime::UNIX_EPOCH + TimeDelta::minutes(m)
    }

    fn range(start: i64, end: i64) -> TimeRange {
        TimeRange::new(at(start), at(end)).unwrap()
    }

    #[test]
    fn windows_are_bounded() {
        assert!(window(at(0), at(0)).is_err());
        assert!(window(at(10), at(0)).is_err());
        assert!(window(at(0), at(0) + TimeDelta::days(366)).is_ok());
        let too_long = window(at(0), at(0) + TimeDelta::days(366) + TimeDelta::minutes(1));
        assert_eq!(too_long.unwrap_err().field, "to");
    }

    #[test]
    fn new_requires_start_before_end() {
        assert_eq!(TimeRange::new(at(5), at(5)), Err(InvalidRange));
        assert_eq!(TimeRange::new(at(6), at(5)), Err(InvalidRange));
        let r = TimeRange::new(at(5), at(6)).unwrap();
        assert_eq!((r.start(), r.end()), (at(5), at(6)));
        assert_eq!(
            InvalidRange.to_string(),
            "end_time must be after start_time"
        );
    }

    #[test]
    fn touching_ranges_do_not_overlap() {
        assert!(!range(0, 10).overlaps(&range(10, 20)));
        assert!(!range(10, 20).overlaps(&range(0, 10)));
        assert!(!range(0, 10).overlaps(&range(11, 20)));
    }

    #[test]
    fn partial_overlap_and_containment_overlap() {
        assert!(range(0, 10).overlaps(&range(9, 20)));
        assert!(range(9, 20).overlaps(&range(0, 10)));
        assert!(range(0, 30).overlaps(&range(10, 20)));
        assert!(range(10, 20).overlaps(&range(0, 30)));
        assert!(range(0, 10).overlaps(&range(0, 10)));
        assert!(range(0, 10).overlaps(&range(0, 1)));
    }

    #[test]
    fn scan_bound_is_candidate_end() {
        assert_eq!(scan_bounds(&range(3, 7)), at(7));
    }

    #[test]
    fn conflicts_are_found_and_scan_stops_early() {
        // Stored, ascending: [0,10) [10,20) [20,30) [40,50); candidate [15,45).
        let desc = vec![range(40, 50), range(20, 30), range(10, 20), range(0, 10)];
        let read = Cell::new(0);
        let found = conflicts_in_descending(&range(15, 45), desc, |r| {
            read.set(read.get() + 1);
            *r
        });
        assert_eq!(found, vec![range(10, 20), range(20, 30), range(40, 50)]);
        assert_eq!(read.get(), 4, "reads one row past the last conflict");
    }

    #[test]
    fn no_conflicts_when_only_touching() {
        let desc = vec![range(20, 30), range(0, 10)];
        assert!(conflicts_in_descending(&range(10, 20), desc, |r| *r).is_empty());
        assert!(conflicts_in_descending(&range(10, 20), Vec::new(), |r: &TimeRange| *r).is_empty());
    }

    #[test]
    fn rows_past_the_bound_are_skipped_not_trusted() {
        let desc = vec![range(50, 60), range(20, 30)];
        assert_eq!(
            conflicts_in_descending(&range(25, 50), desc, |r| *r),
            vec![range(20, 30)]
        );
    }

    #[test]
    fn batch_overlaps_name_each_item_once() {
        let items = [
            range(0, 10),
            range(20, 30),
            range(5, 25),
            range(10, 20),
            range(30, 40),
        ];
        assert_eq!(
            overlaps_within(&items),
            vec![(0, 2), (1, 2), (2, 0), (3, 2)]
        );
        assert!(overlaps_within(&[]).is_empty());
        assert!(overlaps_within(&[range(0, 1), range(1, 2)]).is_empty());
        assert_eq!(
            overlaps_within(&[range(0, 5), range(0, 5)]),
            vec![(0, 1), (1, 0)]
        );
        let same = vec![range(0, 5); 500];
        assert_eq!(overlaps_within(&same).len(), 500);
    }

    /// Sorted, pairwise disjoint ranges (possibly touching) on a minute timeline.
    fn disjoint_ranges() -> impl Strategy<Value = Vec<TimeRange>> {
        prop::collection::vec((0i64..20, 1i64..20), 0..40).prop_map(|gaps| {
            let mut t = 0;
            gaps.into_iter()
                .map(|(gap, len)| {
                    t += gap;
                    let r = range(t, t + len);
                    t += len;
                    r
                })
                .collect()
        })
    }

    fn any_range(span: i64) -> impl Strategy<Value = TimeRange> {
        (0..span, 1i64..60).prop_map(|(s, len)| range(s, s + len))
    }

    /// The database's `occurrences_no_overlap` check (both migrations), as a model: after
    /// a statement writes `written` beside `kept` (rows it did not write), each written
    /// row's probe reads the other row with the latest start before the row's end — ties
    /// broken by `tie` over row numbers, as the index order would — and fails if that row
    /// ends after the written row starts.
    fn probes_refuse(kept: &[TimeRange], written: &[TimeRange], tie: fn(usize) -> i64) -> bool {
        let all: Vec<TimeRange> = kept.iter().chain(written).copied().collect();
        (kept.len()..all.len()).any(|w| {
            (0..all.len())
                .filter(|&o| o != w && all[o].start() < all[w].end())
                .max_by_key(|&o| (all[o].start(), tie(o)))
                .is_some_and(|o| all[o].end() > all[w].start())
        })
    }

    proptest! {
        /// One probe per written row finds every overlap a statement would make, whatever
        /// the rows it writes overlap (stored rows or each other), provided the rows it
        /// did not write were apart: so the trigger needs no scan of the calendar.
        #[test]
        fn one_probe_per_written_row_finds_every_overlap(
            kept in disjoint_ranges(),
            written in prop::collection::vec(any_range(800), 0..6),
        ) {
            let overlap = written.iter().enumerate().any(|(i, w)| {
                kept.iter().any(|k| k.overlaps(w))
                    || written.iter().enumerate().any(|(j, x)| i != j && x.overlaps(w))
            });
            prop_assert_eq!(probes_refuse(&kept, &written, |o| o as i64), overlap);
            prop_assert_eq!(probes_refuse(&kept, &written, |o| -(o as i64)), overlap);
        }

        #[test]
        fn descending_scan_matches_brute_force(
            stored in disjoint_ranges(),
            candidate in any_range(800),
        ) {
            let expected: Vec<TimeRange> =
                stored.iter().copied().filter(|r| r.overlaps(&candidate)).collect();
            let desc: Vec<TimeRange> = stored
                .iter()
                .rev()
                .copied()
                .filter(|r| r.start() < scan_bounds(&candidate))
                .collect();
            let read = Cell::new(0usize);
            let found = conflicts_in_descending(&candidate, desc, |r| {
                read.set(read.get() + 1);
                *r
            });
            prop_assert_eq!(&found, &expected);
            prop_assert!(read.get() <= expected.len() + 1);
        }

        #[test]
        fn sweep_matches_brute_force(items in prop::collection::vec(any_range(200), 0..40)) {
            let failing: Vec<usize> = (0..items.len())
                .filter(|&i| (0..items.len()).any(|j| j != i && items[i].overlaps(&items[j])))
                .collect();
            let found = overlaps_within(&items);
            let reported: Vec<usize> = found.iter().map(|&(i, _)| i).collect();
            prop_assert_eq!(reported, failing);
            for (i, other) in found {
                prop_assert!(i != other && items[i].overlaps(&items[other]));
            }
        }

        #[test]
        fn overlap_is_symmetric(a in any_range(100), b in any_range(100)) {
            prop_assert_eq!(a.overlaps(&b), b.overlaps(&a));
        }
    }
}
