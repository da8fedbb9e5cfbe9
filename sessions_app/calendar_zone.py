"""The clinic's time zone as an iCalendar VTIMEZONE that every reader understands.

icalendar's own VTIMEZONE lists each year's daylight-saving change as one more
value of a single RDATE. RFC 5545 allows it, but vobject (and the calendar
programs built the same way) keep only the first value, and showed summer
sessions an hour off. Here the zone is written as calendar programs themselves
write it: a STANDARD and a DAYLIGHT observance, each with a yearly RRULE
("the last Sunday of March at 02:00").

The rule is not taken on trust: the changes are read from the zone itself
(zoneinfo) over the years the feed covers, and the RRULE is written only when
every one of those years changes the same way. A zone that changed its rules
in those years (or never changes) is written as one observance per change, each
with its own DTSTART: no RRULE, no RDATE, which every reader handles too.
Pure: no database.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from zoneinfo import ZoneInfo

import icalendar

ICAL_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
# The zone is read at this step, then each change found to the second. No zone
# changes its offset twice within half a day.
SCAN_STEP = dt.timedelta(hours=12)


@dataclass(frozen=True)
class Change:
    """One change of the zone's offset."""

    at: dt.datetime  # UTC, the first instant of the new offset
    offset_from: dt.timedelta
    offset_to: dt.timedelta
    name: str  # the zone's abbreviation after the change (CEST)

    @property
    def local_start(self) -> dt.datetime:
        """When it happens, on the clock it replaces: an observance's DTSTART (RFC 5545)."""
        return (self.at + self.offset_from).replace(tzinfo=None)

    @property
    def kind(self) -> str:
        return "DAYLIGHT" if self.offset_to > self.offset_from else "STANDARD"


def _offset(zone: ZoneInfo, moment: dt.datetime) -> dt.timedelta:
    return moment.astimezone(zone).utcoffset()


@lru_cache(maxsize=32)
def zone_changes(key: str, first_year: int, last_year: int) -> tuple[Change, ...]:
    """Every change of the zone's offset from 1 January of `first_year` to the
    end of `last_year`, read from zoneinfo."""
    zone = ZoneInfo(key)
    changes = []
    moment = dt.datetime(first_year, 1, 1, tzinfo=dt.UTC)
    end = dt.datetime(last_year + 1, 1, 1, tzinfo=dt.UTC)
    before = _offset(zone, moment)
    while moment < end:
        later = moment + SCAN_STEP
        after = _offset(zone, later)
        if after != before:
            low, high = moment, later  # the offset is `before` at low, `after` at high
            while high - low > dt.timedelta(seconds=1):
                middle = low + (high - low) / 2
                if _offset(zone, middle) == before:
                    low = middle
                else:
                    high = middle
            changes.append(Change(high, before, after, high.astimezone(zone).tzname()))
        moment, before = later, after
    return tuple(changes)


def _observance(kind: str, start: dt.datetime, offset_from, offset_to, name: str) -> icalendar.Component:
    observance = icalendar.TimezoneDaylight() if kind == "DAYLIGHT" else icalendar.TimezoneStandard()
    observance.add("dtstart", start)
    observance.add("tzoffsetfrom", offset_from)
    observance.add("tzoffsetto", offset_to)
    observance.add("tzname", name)
    return observance


def _yearly_byday(changes: list[Change], years: range) -> str | None:
    """BYDAY for a change that falls on the same weekday of the same week of the
    same month, at the same time, once in each of `years`; None otherwise."""
    starts = [c.local_start for c in changes]
    if [s.year for s in starts] != list(years):
        return None
    if (
        len(
            {
                (s.month, s.weekday(), s.time(), c.offset_from, c.offset_to, c.name)
                for s, c in zip(starts, changes, strict=True)
            }
        )
        > 1
    ):
        return None
    weekday = ICAL_WEEKDAYS[starts[0].weekday()]
    if all(s.day + 7 > calendar.monthrange(s.year, s.month)[1] for s in starts):
        return f"-1{weekday}"
    weeks = {(s.day - 1) // 7 + 1 for s in starts}
    return f"{weeks.pop()}{weekday}" if len(weeks) == 1 else None


def _yearly_rules(changes: tuple[Change, ...], years: range) -> list[icalendar.Component] | None:
    """A STANDARD and a DAYLIGHT observance with a yearly RRULE each, when the
    zone changes the same way every year of `years`."""
    observances = []
    for kind in ("STANDARD", "DAYLIGHT"):
        of_kind = [c for c in changes if c.kind == kind]
        byday = _yearly_byday(of_kind, years)
        if byday is None:
            return None
        first = of_kind[0]
        observance = _observance(kind, first.local_start, first.offset_from, first.offset_to, first.name)
        observance.add("rrule", {"freq": "yearly", "bymonth": first.local_start.month, "byday": byday})
        observances.append(observance)
    return observances


def _one_by_one(zone: ZoneInfo, changes: tuple[Change, ...], years: range) -> list[icalendar.Component]:
    """The offset in force at the start of `years`, then each change as its own observance."""
    start = dt.datetime(years.start, 1, 1, tzinfo=dt.UTC)
    offset = _offset(zone, start)
    first = _observance(
        "STANDARD", (start + offset).replace(tzinfo=None), offset, offset, start.astimezone(zone).tzname()
    )
    return [first] + [_observance(c.kind, c.local_start, c.offset_from, c.offset_to, c.name) for c in changes]


def vtimezone(zone: ZoneInfo, moments: Iterable[dt.datetime]) -> icalendar.Timezone:
    """The VTIMEZONE (TZID: the zone's name) that gives `moments`, and every
    time from a year before the first to a year after the last, their offset."""
    years_seen = [moment.astimezone(zone).year for moment in moments]
    if not years_seen:
        raise ValueError("A VTIMEZONE is written for the times that use it: none given.")
    years = range(min(years_seen) - 1, max(years_seen) + 2)
    changes = zone_changes(zone.key, years.start, years.stop - 1)
    timezone = icalendar.Timezone()
    timezone.add("tzid", zone.key)
    for observance in _yearly_rules(changes, years) or _one_by_one(zone, changes, years):
        timezone.add_component(observance)
    return timezone
