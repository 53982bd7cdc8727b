"""The recurrence oracle: expands RFC 5545 rules with an independent implementation
(python-dateutil's rrule, zones from the standard library's zoneinfo, PEP 495 `fold=0`:
a wall time in a spring-forward gap takes the offset before the gap, an ambiguous one is
its first instant — the contract's rules) and writes what it finds to expansions.json.

The black-box test tests/tests/oracle.rs creates each case as a series through the API
and compares `GET /api/occurrences` with these expansions, on both backends.

    python expand.py          # rewrite expansions.json
    python expand.py --check  # fail if expansions.json differs from a fresh expansion
"""

from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr

HERE = Path(__file__).resolve().parent
OUT = HERE / "expansions.json"

# (name, zone, first start as local wall time, minutes, rule, window from, window to (UTC))
CASES = [
    ("berlin weekly across both DST changes", "Europe/Berlin", "2027-03-01T09:00", 60,
     "FREQ=WEEKLY;BYDAY=MO", "2027-03-01T00:00:00Z", "2027-11-30T00:00:00Z"),
    ("new york daily 02:30 through the gap and the fold", "America/New_York",
     "2027-03-10T02:30", 15, "FREQ=DAILY", "2027-03-10T00:00:00Z", "2027-11-15T00:00:00Z"),
    ("new york 01:30 daily in the fall-back hour", "America/New_York", "2027-11-05T01:30", 20,
     "FREQ=DAILY;COUNT=5", "2027-11-01T00:00:00Z", "2027-11-12T00:00:00Z"),
    ("last friday of the month", "Europe/London", "2027-01-29T17:00", 30,
     "FREQ=MONTHLY;BYDAY=-1FR;COUNT=12", "2027-01-01T00:00:00Z", "2028-01-01T00:00:00Z"),
    ("last weekday of the month (BYSETPOS)", "America/Chicago", "2027-01-29T16:00", 45,
     "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1", "2027-01-01T00:00:00Z",
     "2027-12-31T00:00:00Z"),
    ("every other week on tuesday and thursday, week starting sunday", "Asia/Kolkata",
     "2027-01-05T10:00", 30, "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,TH;WKST=SU;COUNT=20",
     "2027-01-01T00:00:00Z", "2027-12-31T00:00:00Z"),
    ("leap day, yearly", "UTC", "2028-02-29T12:00", 60,
     "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29;COUNT=3", "2028-01-01T00:00:00Z",
     "2028-12-31T00:00:00Z"),
    ("sydney weekly across the southern DST changes", "Australia/Sydney",
     "2027-03-01T08:00", 90, "FREQ=WEEKLY;BYDAY=MO,FR", "2027-03-01T00:00:00Z",
     "2027-11-01T00:00:00Z"),
    ("lord howe: a half-hour DST shift", "Australia/Lord_Howe", "2027-03-20T01:45", 30,
     "FREQ=DAILY;UNTIL=20270420T000000Z", "2027-03-15T00:00:00Z", "2027-05-01T00:00:00Z"),
    ("chatham +12:45 monthly on the 31st", "Pacific/Chatham", "2027-01-31T06:00", 60,
     "FREQ=MONTHLY;BYMONTHDAY=31", "2027-01-01T00:00:00Z", "2027-12-31T00:00:00Z"),
    ("quarterly by month on the first monday", "Europe/Paris", "2027-01-04T08:30", 60,
     "FREQ=YEARLY;BYMONTH=1,4,7,10;BYDAY=1MO", "2027-01-01T00:00:00Z",
     "2027-12-31T00:00:00Z"),
]


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def stamp(t: datetime) -> str:
    return t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def expand(case) -> dict:
    name, zone, local_start, minutes, rule, window_from, window_to = case
    tz = ZoneInfo(zone)
    # An aware DTSTART: dateutil repeats its wall time and attaches the zone (fold=0).
    dtstart = datetime.fromisoformat(local_start).replace(tzinfo=tz)
    length = timedelta(minutes=minutes)
    lo, hi = utc(window_from), utc(window_to)
    starts = []
    for occurrence in rrulestr("RRULE:" + rule, dtstart=dtstart):
        instant = occurrence.astimezone(timezone.utc)
        if instant >= hi:
            break
        if instant + length > lo:
            starts.append(stamp(instant))
    return {
        "name": name,
        "time_zone": zone,
        "start_time": stamp(dtstart),
        "end_time": stamp(dtstart + length),
        "recurrence": rule,
        "from": window_from,
        "to": window_to,
        "starts": starts,
    }


def main() -> int:
    document = json.dumps([expand(c) for c in CASES], indent=2) + "\n"
    if "--check" in sys.argv[1:]:
        if OUT.read_text() != document:
            print(f"error: {OUT} differs from python-dateutil's expansion; "
                  "run tests/oracle/run.sh to rewrite it", file=sys.stderr)
            return 1
        print(f"{OUT.name}: {len(CASES)} cases match python-dateutil")
        return 0
    OUT.write_text(document)
    print(f"wrote {OUT} ({len(CASES)} cases)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
