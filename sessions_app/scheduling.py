"""The dates of a series, the clinic's time helpers and the maintenance due
date: plain values in, plain values out, no ORM.

A series is planned in the clinic's wall clock: "every 2 weeks at 10:00" stays
at 10:00 across a daylight-saving change. A proposed date that falls on a closed
day, outside opening hours, or on a practitioner's or room's existing booking is
moved to the nearest free slot that keeps at least the minimum interval after
the session before it; each move carries its reason.

Every function takes the time zone it works in; `clinic_tz()` is the clinic's,
the one reading of the setting.
"""

from __future__ import annotations

import bisect
import calendar
import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from zoneinfo import ZoneInfo

from django.conf import settings

# Sessions start on this grid (minutes past the hour).
SLOT_STEP = dt.timedelta(minutes=15)
# How far from the wanted day a free slot is looked for before giving up.
SEARCH_DAYS = 60
# How far ahead reception may book (a series, a move, a maintenance visit): a
# clinic plans a year or two ahead, and the date arithmetic stays far from year 9999.
BOOKING_HORIZON = dt.timedelta(days=2 * 365)


class IntervalUnit(StrEnum):
    DAYS = "days"
    WEEKS = "weeks"
    MONTHS = "months"


def clinic_tz() -> ZoneInfo:
    """The clinic's time zone (CLINIC_TIME_ZONE): its wall clock, calendar days,
    opening hours and reminder times."""
    return ZoneInfo(settings.TIME_ZONE)


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


def bookable_until(today: dt.date) -> dt.date:
    """The last day reception may book on."""
    return today + BOOKING_HORIZON


def minimum_interval(nominal: dt.timedelta) -> dt.timedelta:
    """The least time between two sessions of a series spaced `nominal` apart: a
    day less, so that a session may move a day earlier when its day is full."""
    return max(dt.timedelta(days=1), nominal - dt.timedelta(days=1))


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


def wall_clock(day: dt.date, time: dt.time, tz: ZoneInfo) -> dt.datetime:
    """The moment `time` on `day` happens in `tz`, in UTC; a time the clock skips
    is taken an hour later (the same moment it would have been)."""
    moment = local_datetime(day, time, tz)
    if moment is None:
        moment = local_datetime(day, (dt.datetime.combine(day, time) + dt.timedelta(hours=1)).time(), tz)
        assert moment is not None
    return moment


def calendar_days_between(start: dt.datetime, end: dt.datetime, tz: ZoneInfo) -> int:
    """How many calendar days `end` falls after `start` on the wall clock of `tz`."""
    return (end.astimezone(tz).date() - start.astimezone(tz).date()).days


def shift_days(start: dt.datetime, days: int, tz: ZoneInfo) -> dt.datetime:
    """`start` moved by `days` calendar days at the same wall-clock time: 10:00
    stays 10:00 across a daylight-saving change, which adding a timedelta to an
    aware datetime would turn into 09:00 or 11:00."""
    local = start.astimezone(tz)
    return wall_clock(local.date() + dt.timedelta(days=days), local.time().replace(tzinfo=None), tz)


def next_series_date(last_session_start: dt.datetime, interval_days: int, tz: ZoneInfo) -> dt.date:
    """The day a plan's next session is due: `interval_days` after its last
    session, in the clinic's calendar (whatever the clocks did in between)."""
    return last_session_start.astimezone(tz).date() + dt.timedelta(days=interval_days)


def maintenance_due_on(
    last_session_start: dt.datetime, maintenance_interval_days: int | None, tz: ZoneInfo
) -> dt.date | None:
    """The next maintenance date: the maintenance interval after the last
    completed session, counted as next_series_date counts. None for a plan
    without a maintenance interval."""
    if not maintenance_interval_days:
        return None
    return next_series_date(last_session_start, maintenance_interval_days, tz)


def same_time_from(wanted: dt.datetime, now: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    """`wanted` when it is still ahead, otherwise its wall-clock time on the first
    day on which that time is after `now` (an overdue visit is offered from today)."""
    if wanted >= now:
        return wanted
    moved = shift_days(wanted, calendar_days_between(wanted, now, tz), tz)
    return moved if moved >= now else shift_days(moved, 1, tz)


class Reason(StrEnum):
    CLOSED_DAY = "closed day"
    OUTSIDE_HOURS = "outside opening hours"
    PRACTITIONER_BUSY = "practitioner already booked"
    ROOM_BUSY = "room already booked"
    TOO_SOON = "keeps the minimum interval after the previous session"
    TOO_LATE = "keeps the minimum interval before the next session"
    TOO_LONG = "longer than the opening hours that day"
    IN_THE_PAST = "in the past"


def overlap(start: dt.datetime, end: dt.datetime, other_start: dt.datetime, other_end: dt.datetime) -> bool:
    """Whether two half-open bookings overlap: one ending at 10:00 does not clash
    with one starting at 10:00 (the rule the database's exclusion constraints hold)."""
    return other_start < end and other_end > start


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
        periods = self.hours.get(day.weekday(), ())
        if local_end.date() != day or not any(
            opens <= local_start.time() and local_end.time() <= closes for opens, closes in periods
        ):
            longest = max((period_minutes(opens, closes) for opens, closes in periods), default=0)
            if 0 < longest < (end - start).total_seconds() // 60:
                return f"{Reason.TOO_LONG} ({day:%A}: at most {longest} minutes)"
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


def period_minutes(opens: dt.time, closes: dt.time) -> int:
    """The length of an opening period, in minutes of the wall clock."""
    return (dt.datetime.combine(dt.date.min, closes) - dt.datetime.combine(dt.date.min, opens)).seconds // 60


# No booking is longer than this (sessions sit inside one day's opening hours),
# so an overlap search need not look further back.
LONGEST_BOOKING = dt.timedelta(hours=24)


def _overlaps(busy: Sequence[tuple[dt.datetime, dt.datetime]], start: dt.datetime, end: dt.datetime) -> bool:
    """Whether [start, end) overlaps a booking of `busy` (sorted by start).
    Bookings are half-open: one ending at 10:00 does not clash with one at 10:00."""
    j = bisect.bisect_left(busy, (end,)) - 1
    while j >= 0 and busy[j][0] > start - LONGEST_BOOKING:
        if overlap(start, end, *busy[j]):
            return True
        j -= 1
    return False


def nearest_free_slot(
    wanted: dt.datetime,
    duration: dt.timedelta,
    cal: Calendar,
    not_before: dt.datetime,
    not_after: dt.datetime | None = None,
) -> dt.datetime | None:
    """The free slot a receptionist would offer: on the nearest day that has one
    (within SEARCH_DAYS either side), at the time of day closest to the wanted
    one, never before `not_before` nor after `not_after`. Ties go to the later
    slot, which keeps the series' spacing."""
    local_wanted = wanted.astimezone(cal.tz)
    wanted_day, wanted_time = local_wanted.date(), local_wanted.time().replace(tzinfo=None)
    for offset in range(SEARCH_DAYS + 1):
        best: tuple[dt.timedelta, dt.datetime] | None = None
        for day in {wanted_day + dt.timedelta(days=offset), wanted_day - dt.timedelta(days=offset)}:
            for start in cal.slots_on(day, duration):
                if start < not_before or (not_after and start > not_after) or not cal.is_free(start, start + duration):
                    continue
                slot_time = start.astimezone(cal.tz).time().replace(tzinfo=None)
                distance = abs(dt.datetime.combine(day, slot_time) - dt.datetime.combine(day, wanted_time))
                # The smallest distance; among equals, the later start.
                if best is None or (distance, -start.timestamp()) < (best[0], -best[1].timestamp()):
                    best = (distance, start)
        if best is not None:
            return best[1]
    return None


def slot_problem(
    wanted: dt.datetime,
    duration: dt.timedelta,
    cal: Calendar,
    *,
    now: dt.datetime,
    not_before: dt.datetime,
    not_after: dt.datetime | None = None,
) -> str | None:
    """Why a session cannot stay at `wanted`, or None when it can: in the past,
    too soon after the session before it (`not_before`), too late for the one
    after it (`not_after`), or the calendar's reason."""
    if wanted < now:
        return str(Reason.IN_THE_PAST)
    if wanted < not_before:
        return str(Reason.TOO_SOON)
    if not_after and wanted > not_after:
        return str(Reason.TOO_LATE)
    return cal.problem(wanted, wanted + duration)


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
    previous: dt.datetime | None = None,
) -> list[ProposedSession]:
    """The sessions of a series, each at its wanted date or moved to the nearest
    free slot. `first_start` is aware; the wall-clock time of day is kept for
    every session. The minimum interval defaults to `minimum_interval` of the
    series interval; `previous`, when given, is the start of the session before
    the first (a series continued at its end): the first keeps that interval
    after it as well."""
    if count < 1:
        raise ValueError("A series has at least one session.")
    if interval < 1:
        raise ValueError("The interval must be at least one.")
    local_first = first_start.astimezone(cal.tz)
    first_day, time_of_day = local_first.date(), local_first.time().replace(tzinfo=None)
    if min_interval is None:
        min_interval = minimum_interval(add_interval(first_day, interval, unit) - first_day)

    proposals: list[ProposedSession] = []
    for i in range(count):
        wanted = wall_clock(add_interval(first_day, interval * i, unit), time_of_day, cal.tz)
        not_before = max(now, previous + min_interval) if previous else now
        problem = slot_problem(wanted, duration, cal, now=now, not_before=not_before)
        start = wanted if problem is None else nearest_free_slot(wanted, duration, cal, not_before)
        if start is None:
            proposals.append(ProposedSession(first_sequence + i, wanted, None, None, f"no free slot ({problem})"))
            continue
        proposals.append(ProposedSession(first_sequence + i, wanted, start, start + duration, problem))
        previous = start
    return proposals
