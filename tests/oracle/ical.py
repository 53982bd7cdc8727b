"""The iCalendar oracle: expands whole calendar files (RFC 5545) with independent
implementations — icalendar parses them, recurring-ical-events expands their series
(rules, EXDATEs, RECURRENCE-ID overrides) — and writes what it finds to
ical/expansions.json, under the service's documented import rules.

The flow: calendar files under ical/ (import/: hand-written documents shaped like Google
Calendar's exports; export/: documents the service wrote) + ical/cases.json (one case per
file: which file, the window, the importing user's zone) → ical/expansions.json, an object
keyed by case name, each a list of occurrences sorted by (start_time, title):

    {"start_time": "2027-03-01T08:00:00Z", "end_time": "2027-03-01T08:30:00Z",
     "recurrence_id": "2027-03-01T08:00:00Z", "title": "Team standup",
     "transparency": "opaque"}

The black-box test tests/tests/import.rs imports (or exports) each case's file through the
API and compares `GET /api/occurrences` over the case's window with these expansions.

Cases are a JSON list of {"name", "file" (relative to ical/), "from", "to" (UTC, "…Z"),
"time_zone" (IANA)}; any file a case names is expanded the same way.

The import rules applied here (the oracle implements them itself, it does not ask the
service):
- An occurrence is in the window iff start < to and end > from (half-open).
- DATE-TIME with TZID is on the wall clock of the IANA zone of that name
  (zoneinfo.ZoneInfo(TZID), not the file's VTIMEZONE rules; PEP 495 fold=0); "…Z" is
  UTC; floating (neither) is on the wall clock of the calendar's X-WR-TIMEZONE if it has
  one, else of the case's time_zone. Everything is written in UTC, whole seconds.
- All-day (VALUE=DATE): from local midnight of the start date to local midnight of the
  end date (DTEND, or start + DURATION days, or start + 1 day), in the case's time_zone;
  always "transparent".
- A timed occurrence lasts exactly DTEND - DTSTART of its component (or DURATION, exact;
  no end: zero length).
- TRANSP:TRANSPARENT is "transparent", anything else "opaque".
- recurrence_id: an override's RECURRENCE-ID (same zone rules; a date: local midnight);
  otherwise the occurrence's own start.
- title: SUMMARY, or "(No title)" when missing or blank.
- EXDATEs remove occurrences; so do overrides with STATUS:CANCELLED.

Where recurring-ical-events would decide otherwise, this script overrides it: it never
lets x-wr-timezone move "…Z" times onto the X-WR-TIMEZONE wall clock (which
recurring_ical_events.of does by default, changing a UTC series across DST), it takes
only the wall times of the occurrences from the library and re-attaches the zones
itself, it widens the library's window and filters with the half-open rule, and it
applies EXDATEs and drops STATUS:CANCELLED overrides itself (the library yields those).

It also checks the constraints the fixtures must meet for the service to import them:
no two opaque occurrences of a case overlap (touching is fine), no series overlaps
itself, and rules use only FREQ=DAILY/WEEKLY/MONTHLY/YEARLY with INTERVAL, COUNT, UNTIL,
BYDAY, BYMONTHDAY, BYMONTH, BYSETPOS, WKST.

    python ical.py          # rewrite ical/expansions.json
    python ical.py --check  # fail (printing a diff) if it differs from a fresh expansion
"""

from __future__ import annotations

import difflib
import json
import sys
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events

HERE = Path(__file__).resolve().parent
ROOT = HERE / "ical"
CASES = ROOT / "cases.json"
OUT = ROOT / "expansions.json"

SOURCE = "X-ORACLE-SOURCE"  # tags each VEVENT so its occurrences lead back to it
MAX_WINDOW = timedelta(days=366)
ALLOWED_FREQ = {"DAILY", "WEEKLY", "MONTHLY", "YEARLY"}
ALLOWED_PARTS = {"FREQ", "INTERVAL", "COUNT", "UNTIL", "BYDAY", "BYMONTHDAY", "BYMONTH",
                 "BYSETPOS", "WKST"}


class OracleError(Exception):
    pass


def utc(text: str) -> datetime:
    if not text.endswith("Z"):
        raise OracleError(f"{text!r}: a window bound is UTC, written with Z")
    return datetime.fromisoformat(text[:-1]).replace(tzinfo=timezone.utc)


def stamp(t: datetime) -> str:
    t = t.astimezone(timezone.utc)
    if t.microsecond:
        raise OracleError(f"{t}: iCalendar times are whole seconds")
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


class Zones:
    """The zone rules of one case: TZID by IANA name, Z as UTC, floating in `floating`,
    dates at local midnight in `local`."""

    def __init__(self, floating: str, local: str):
        self.floating = ZoneInfo(floating)
        self.local = ZoneInfo(local)

    def zone(self, value: datetime, params) -> ZoneInfo | timezone:
        tzid = params.get("TZID") if params is not None else None
        if tzid:
            try:
                return ZoneInfo(str(tzid))
            except (KeyError, ValueError) as error:
                raise OracleError(f"TZID={tzid}: not an IANA zone name") from error
        if value.tzinfo is not None:  # "…Z"; icalendar gives it no TZID parameter
            if value.utcoffset() != timedelta(0):
                raise OracleError(f"{value}: an offset without TZID that is not UTC")
            return timezone.utc
        return self.floating

    def wall(self, value: datetime, params) -> datetime:
        """`value`'s wall-clock reading, on the zone the rules give it (fold=0)."""
        return value.replace(tzinfo=None, fold=0).replace(tzinfo=self.zone(value, params))

    def midnight(self, day: date) -> datetime:
        return datetime.combine(day, time(0), tzinfo=self.local)

    def instant(self, prop) -> datetime:
        """A DTSTART/DTEND/RECURRENCE-ID property as an instant, in UTC (so that
        subtracting two is exact: Python subtracts wall times within one tzinfo)."""
        value = prop.dt
        local = self.wall(value, prop.params) if isinstance(value, datetime) \
            else self.midnight(value)
        return local.astimezone(timezone.utc)


def is_all_day(value) -> bool:
    return isinstance(value, date) and not isinstance(value, datetime)


def check_rule(source, where: str) -> None:
    rules = source.get("RRULE")
    if rules is None:
        return
    if isinstance(rules, list):
        if len(rules) != 1:
            raise OracleError(f"{where}: {len(rules)} RRULEs; the service takes one")
        rules = rules[0]
    parts = set(rules.keys())
    freq = rules.get("FREQ", [None])[0]
    if freq not in ALLOWED_FREQ or not parts <= ALLOWED_PARTS:
        raise OracleError(f"{where}: RRULE {rules.to_ical().decode()} uses what the "
                          f"service does not take ({sorted(parts - ALLOWED_PARTS)} {freq})")


def exdates(source, zones: Zones) -> set:
    """The EXDATEs of a series: instants for timed ones, dates for all-day ones."""
    found = set()
    props = source.get("EXDATE", [])
    for prop in props if isinstance(props, list) else [props]:
        for item in prop.dts:
            value = item.dt
            if is_all_day(value):
                found.add(value)
            else:
                params = item.params if item.params.get("TZID") else prop.params
                found.add(zones.wall(value, params).astimezone(timezone.utc))
    return found


def length(source, zones: Zones, all_day: bool):
    """How long each occurrence of `source` lasts: days (all-day) or an exact timedelta."""
    start = source["DTSTART"].dt
    if "DTEND" in source:
        end = source["DTEND"].dt
        if all_day:
            if not is_all_day(end):
                raise OracleError(f"{source.get('UID')}: DTEND is not a date like DTSTART")
            return (end - start).days
        return zones.instant(source["DTEND"]) - zones.instant(source["DTSTART"])
    if "DURATION" in source:
        duration = source["DURATION"].dt
        return duration.days if all_day else duration
    return 1 if all_day else timedelta(0)


def expand(case: dict) -> list[dict]:
    name = case["name"]
    path = ROOT / case["file"]
    lo, hi = utc(case["from"]), utc(case["to"])
    if not lo < hi <= lo + MAX_WINDOW:
        raise OracleError(f"{name}: the window must be non-empty and at most 366 days")
    calendar = icalendar.Calendar.from_ical(path.read_bytes())
    # Floating times are on X-WR-TIMEZONE's clock, else the importing user's. The property
    # is then dropped so that recurring_ical_events.of (through x-wr-timezone) does not
    # move "…Z" times onto that clock too: UTC stays UTC.
    x_wr_timezone = calendar.pop("X-WR-TIMEZONE", None)
    zones = Zones(str(x_wr_timezone) if x_wr_timezone else case["time_zone"],
                  case["time_zone"])
    sources = []
    for component in calendar.subcomponents:
        if component.name == "VEVENT":
            component[SOURCE] = icalendar.vText(str(len(sources)))
            sources.append(component)
            check_rule(component, f"{name}: {component.get('UID')}")

    # The library's own window filter compares floating and all-day times as if they were
    # UTC: ask it for two days more on each side and apply the half-open rule here.
    margin = timedelta(days=2)
    found = []
    for occurrence in recurring_ical_events.of(calendar).between(lo - margin, hi + margin):
        source = sources[int(str(occurrence[SOURCE]))]
        override = "RECURRENCE-ID" in source
        if override and str(source.get("STATUS", "")).upper() == "CANCELLED":
            continue
        value = occurrence["DTSTART"].dt
        all_day = is_all_day(value)
        span = length(source, zones, all_day)
        if all_day:
            start, end = zones.midnight(value), zones.midnight(value + timedelta(days=span))
        else:
            # The library's wall time of this occurrence, with the zone the rules give
            # the component's own DTSTART (not the tzinfo the library attached).
            start = zones.wall(value, source["DTSTART"].params)
            end = start.astimezone(timezone.utc) + span
        start = start.astimezone(timezone.utc)
        end = end.astimezone(timezone.utc)
        if override:
            recurrence_id = zones.instant(source["RECURRENCE-ID"])
        else:
            if (value if all_day else start) in exdates(source, zones):
                continue  # recurring_ical_events should have removed it already
            recurrence_id = start
        if not (start < hi and end > lo):
            continue
        summary = str(source.get("SUMMARY", ""))
        transparent = all_day or str(source.get("TRANSP", "")).upper() == "TRANSPARENT"
        found.append({
            "start_time": stamp(start),
            "end_time": stamp(end),
            "recurrence_id": stamp(recurrence_id),
            "title": summary if summary.strip() else "(No title)",
            "transparency": "transparent" if transparent else "opaque",
            "uid": str(source.get("UID", "")),
        })
    found.sort(key=lambda o: (o["start_time"], o["title"], o["end_time"],
                              o["recurrence_id"], o["transparency"], o["uid"]))
    check_overlaps(name, found)
    for o in found:
        del o["uid"]
    return found


def check_overlaps(name: str, occurrences: list[dict]) -> None:
    """The service refuses overlapping opaque occurrences of one owner (each file is
    imported by one user), and a series that overlaps itself."""

    def clash(group: list[dict], what: str) -> None:
        latest = None  # the occurrence that ends last among those seen (sorted by start)
        for o in group:
            if latest is not None and o["start_time"] < latest["end_time"]:
                raise OracleError(f"{name}: {what} overlap: {latest} and {o}")
            if latest is None or o["end_time"] > latest["end_time"]:
                latest = o

    clash([o for o in occurrences if o["transparency"] == "opaque"], "opaque occurrences")
    for uid in sorted({o["uid"] for o in occurrences}):
        clash([o for o in occurrences if o["uid"] == uid], f"occurrences of series {uid}")


def main() -> int:
    cases = json.loads(CASES.read_text(encoding="utf-8"))
    names = [c["name"] for c in cases]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    try:
        if duplicates:
            raise OracleError(f"{CASES}: duplicate case names {duplicates}")
        expansions = {c["name"]: expand(c) for c in cases}
    except OracleError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    document = json.dumps(expansions, indent=2, ensure_ascii=False) + "\n"
    counts = ", ".join(f"{n}: {len(o)}" for n, o in expansions.items())
    if "--check" in sys.argv[1:]:
        committed = OUT.read_text(encoding="utf-8") if OUT.exists() else ""
        if committed != document:
            sys.stdout.writelines(difflib.unified_diff(
                committed.splitlines(keepends=True), document.splitlines(keepends=True),
                f"{OUT.name} (committed)", f"{OUT.name} (fresh expansion)"))
            print(f"error: {OUT} differs from recurring-ical-events' expansion; "
                  "run tests/oracle/run.sh to rewrite it", file=sys.stderr)
            return 1
        print(f"{OUT.name}: {len(cases)} cases match recurring-ical-events ({counts})")
        return 0
    OUT.write_text(document, encoding="utf-8")
    print(f"wrote {OUT} ({len(cases)} cases: {counts})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
