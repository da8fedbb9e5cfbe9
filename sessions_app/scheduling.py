"""The dates of a series: plain values in, plain values out, no ORM.

A series is planned in the clinic's wall clock: "every 2 weeks at 10:00" stays
at 10:00 across a daylight-saving change. A proposed date that falls on a closed
day, outside opening hours, or on a practitioner's or room's existing booking is
moved to the nearest free slot that keeps at least the minimum interval after
the session before it; each move carries its reason.
"""

from __future__ import annotations

import bisect
import calendar
import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from zoneinfo import ZoneInfo

# Sessions start on this grid (minutes past the hour).
SLOT_STEP = dt.timedelta(minutes=15)
# How far from the wanted day a free slot is looked for before giving up.
SEARCH_DAYS = 60


class IntervalUnit(StrEnum):
    DAYS = "days"
    WEEKS = "weeks"
    MONTHS = "months"


def add_interval(day: dt.date, count: int, unit: IntervalUnit | str) -> dt.date:
    """`day` moved by `count` units. Months clamp to the month's end (31 January
    plus one month is 28 or 29 February), as a person would book it."""
    unit = IntervalUnit(unit)
    if unit == IntervalUnit.DAYS:
        return day + dt.timedelta(days=count)
    if unit == IntervalUnit.WEEKS:
        return day + dt.timedelta(weeks=count)
    months = day.year * 12 + (day.month - 1) + count
    year, month = divmod(months, 12)
    month += 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def local_datetime(day: dt.date, time: dt.time, tz: ZoneInfo) -> dt.datetime | None:
    """The moment a wall-clock time happens, in UTC, or None when the clock
    skips it (the hour lost when daylight saving starts).

    UTC because Python subtracts and compares two datetimes that share one
    tzinfo on the wall clock, which loses or gains an hour across a change.
    """
    naive = dt.datetime.combine(day, time)
    moment = naive.replace(tzinfo=tz).astimezone(dt.UTC)
    if moment.astimezone(tz).replace(tzinfo=None) != naive:
        return None
    return moment


class Reason(StrEnum):
    CLOSED_DAY = "closed day"
    OUTSIDE_HOURS = "outside opening hours"
    PRACTITIONER_BUSY = "practitioner already booked"
    ROOM_BUSY = "room already booked"
    TOO_SOON = "keeps the minimum interval after the previous session"
    IN_THE_PAST = "in the past"


@dataclass(frozen=True)
class Calendar:
    """When the clinic is open, and who and what is already booked.

    `hours` maps a weekday (Monday 0) to its opening periods as (opens, closes)
    wall-clock times; `closed` holds closed dates with their reason; the busy
    lists hold (start, end) aware datetimes of existing bookings.
    """

    tz: ZoneInfo
    hours: Mapping[int, Sequence[tuple[dt.time, dt.time]]]
    closed: Mapping[dt.date, str] = field(default_factory=dict)
    practitioner_busy: Sequence[tuple[dt.datetime, dt.datetime]] = ()
    room_busy: Sequence[tuple[dt.datetime, dt.datetime]] = ()

    def __post_init__(self):
        # Sorted by start, for bisect in _overlaps.
        object.__setattr__(self, "practitioner_busy", sorted(self.practitioner_busy))
        object.__setattr__(self, "room_busy", sorted(self.room_busy))

    def problem(self, start: dt.datetime, end: dt.datetime) -> str | None:
        """Why [start, end) cannot be booked, or None when it can."""
        local_start, local_end = start.astimezone(self.tz), end.astimezone(self.tz)
        day = local_start.date()
        if day in self.closed:
            reason = self.closed[day]
            return f"{Reason.CLOSED_DAY} ({reason})" if reason else str(Reason.CLOSED_DAY)
        if local_end.date() != day or not any(
            opens <= local_start.time() and local_end.time() <= closes
            for opens, closes in self.hours.get(day.weekday(), ())
        ):
            return str(Reason.OUTSIDE_HOURS)
        if _overlaps(self.practitioner_busy, start, end):
            return str(Reason.PRACTITIONER_BUSY)
        if _overlaps(self.room_busy, start, end):
            return str(Reason.ROOM_BUSY)
        return None

    def is_free(self, start: dt.datetime, end: dt.datetime) -> bool:
        return self.problem(start, end) is None

    def slots_on(self, day: dt.date, duration: dt.timedelta) -> Iterable[dt.datetime]:
        """Every grid start on `day` at which a session of `duration` fits inside
        an opening period (busy or not)."""
        if day in self.closed:
            return
        for opens, closes in self.hours.get(day.weekday(), ()):
            start = local_datetime(day, opens, self.tz)
            close = local_datetime(day, closes, self.tz)
            if start is None or close is None:
                continue
            while start + duration <= close:
                yield start
                start += SLOT_STEP


# No booking is longer than this (sessions sit inside one day's opening hours),
# so an overlap search need not look further back.
LONGEST_BOOKING = dt.timedelta(hours=24)


def _overlaps(busy: Sequence[tuple[dt.datetime, dt.datetime]], start: dt.datetime, end: dt.datetime) -> bool:
    """Whether [start, end) overlaps a booking of `busy` (sorted by start).
    Bookings are half-open: one ending at 10:00 does not clash with one at 10:00."""
    j = bisect.bisect_left(busy, (end,)) - 1
    while j >= 0 and busy[j][0] > start - LONGEST_BOOKING:
        if busy[j][1] > start:
            return True
        j -= 1
    return False


def nearest_free_slot(
    wanted: dt.datetime, duration: dt.timedelta, cal: Calendar, not_before: dt.datetime
) -> dt.datetime | None:
    """The free slot a receptionist would offer: on the nearest day that has one
    (within SEARCH_DAYS either side), at the time of day closest to the wanted
    one, and never before `not_before`. Ties go to the later slot, which keeps
    the series' spacing."""
    local_wanted = wanted.astimezone(cal.tz)
    wanted_day, wanted_time = local_wanted.date(), local_wanted.time().replace(tzinfo=None)
    for offset in range(SEARCH_DAYS + 1):
        best: tuple[dt.timedelta, dt.datetime] | None = None
        for day in {wanted_day + dt.timedelta(days=offset), wanted_day - dt.timedelta(days=offset)}:
            for start in cal.slots_on(day, duration):
                if start < not_before or not cal.is_free(start, start + duration):
                    continue
                slot_time = start.astimezone(cal.tz).time().replace(tzinfo=None)
                distance = abs(dt.datetime.combine(day, slot_time) - dt.datetime.combine(day, wanted_time))
                # The smallest distance; among equals, the later start.
                if best is None or (distance, -start.timestamp()) < (best[0], -best[1].timestamp()):
                    best = (distance, start)
        if best is not None:
            return best[1]
    return None


@dataclass(frozen=True)
class ProposedSession:
    sequence: int
    wanted: dt.datetime
    start: dt.datetime | None  # None when no free slot was found
    end: dt.datetime | None
    reason: str | None  # why it was moved, or why no slot was found

    @property
    def moved(self) -> bool:
        return self.start != self.wanted


def propose_series(
    *,
    first_start: dt.datetime,
    count: int,
    interval: int,
    unit: IntervalUnit | str,
    duration: dt.timedelta,
    cal: Calendar,
    now: dt.datetime,
    min_interval: dt.timedelta | None = None,
    first_sequence: int = 1,
) -> list[ProposedSession]:
    """The sessions of a series, each at its wanted date or moved to the nearest
    free slot. `first_start` is aware; the wall-clock time of day is kept for
    every session. The minimum interval defaults to the series interval less a
    day, so a session may move a day earlier when its wanted day is full."""
    if count < 1:
        raise ValueError("A series has at least one session.")
    if interval < 1:
        raise ValueError("The interval must be at least one.")
    local_first = first_start.astimezone(cal.tz)
    first_day, time_of_day = local_first.date(), local_first.time().replace(tzinfo=None)
    if min_interval is None:
        nominal = add_interval(first_day, interval, unit) - first_day
        min_interval = max(dt.timedelta(days=1), nominal - dt.timedelta(days=1))

    proposals: list[ProposedSession] = []
    previous: dt.datetime | None = None
    for i in range(count):
        day = add_interval(first_day, interval * i, unit)
        wanted = local_datetime(day, time_of_day, cal.tz)
        if wanted is None:  # the clock skips this time: an hour later is the same moment it would have been
            wanted = local_datetime(day, (dt.datetime.combine(day, time_of_day) + dt.timedelta(hours=1)).time(), cal.tz)
            assert wanted is not None
        not_before = max(now, previous + min_interval) if previous else now
        if wanted < now:
            problem: str | None = str(Reason.IN_THE_PAST)
        elif previous and wanted < not_before:
            problem = str(Reason.TOO_SOON)
        else:
            problem = cal.problem(wanted, wanted + duration)
        start = wanted if problem is None else nearest_free_slot(wanted, duration, cal, not_before)
        if start is None:
            proposals.append(ProposedSession(first_sequence + i, wanted, None, None, f"no free slot ({problem})"))
            continue
        proposals.append(ProposedSession(first_sequence + i, wanted, start, start + duration, problem))
        previous = start
    return proposals
