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
import itertools
from collections.abc import Iterable, Iterator, Mapping, Sequence
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


class ClashFirst(StrEnum):
    """Where a session whose wanted slot is taken looks first (the setting
    CLINIC_SERIES_CLASH_FIRST): the same time on the nearest day, or the
    nearest time on the same day. Either way, the other comes next, then the
    nearest free slot on any day."""

    DAY = "day"
    TIME = "time"


# How many days either side of the wanted one a clashing session looks for
# its same time, before any other time: a receptionist offers "the same time
# on Wednesday or Thursday", not the same time a fortnight later.
SAME_TIME_DAYS = 3


def clash_first() -> ClashFirst:
    """The clinic's choice (CLINIC_SERIES_CLASH_FIRST), read where the services
    call the pure functions."""
    return ClashFirst(settings.CLINIC_SERIES_CLASH_FIRST)


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

    def open_periods(self, day: dt.date) -> list[tuple[dt.datetime, dt.datetime]]:
        """The clinic's opening periods on `day`, as aware (start, end) pairs:
        none on a closed day or a weekday without hours."""
        return open_periods(day, self.hours, self.closed, self.tz)

    def slots_on(self, day: dt.date, duration: dt.timedelta) -> Iterable[dt.datetime]:
        """Every grid start on `day` at which a session of `duration` fits inside
        an opening period (busy or not)."""
        for start, close in self.open_periods(day):
            while start + duration <= close:
                yield start
                start += SLOT_STEP


def open_periods(
    day: dt.date, hours: Mapping[int, Sequence[tuple[dt.time, dt.time]]], closed: Mapping[dt.date, str], tz: ZoneInfo
) -> list[tuple[dt.datetime, dt.datetime]]:
    """The opening periods of `day` (closed days and weekdays without hours
    have none), as aware (start, end) pairs; a time the clock skips is left out."""
    if day in closed:
        return []
    periods = []
    for opens, closes in hours.get(day.weekday(), ()):
        start, close = local_datetime(day, opens, tz), local_datetime(day, closes, tz)
        if start is not None and close is not None:
            periods.append((start, close))
    return periods


def free_periods(
    periods: Sequence[tuple[dt.datetime, dt.datetime]],
    busy: Iterable[tuple[dt.datetime, dt.datetime]],
    shortest: dt.timedelta = SLOT_STEP,
) -> list[tuple[dt.datetime, dt.datetime]]:
    """The parts of the opening `periods` that no booking of `busy` covers, at
    least `shortest` long: the free time a calendar column shows."""
    taken = sorted(busy)
    free = []
    for start, end in periods:
        cursor = start
        for busy_start, busy_end in taken:
            if busy_end <= cursor or busy_start >= end:
                continue
            if busy_start - cursor >= shortest:
                free.append((cursor, busy_start))
            cursor = max(cursor, busy_end)
        if end - cursor >= shortest:
            free.append((cursor, end))
    return free


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


def free_slots_near(
    wanted: dt.datetime,
    duration: dt.timedelta,
    cal: Calendar,
    not_before: dt.datetime,
    not_after: dt.datetime | None = None,
    *,
    first: ClashFirst = ClashFirst.DAY,
) -> Iterator[dt.datetime]:
    """The free slots a receptionist would offer instead of `wanted`, best
    first, never before `not_before` nor after `not_after`: with ClashFirst.DAY
    the same wall-clock time on the nearest day (up to SAME_TIME_DAYS either
    side), then the nearest time on the same day; with ClashFirst.TIME the
    other way round; then the nearest day that has a free slot (up to
    SEARCH_DAYS either side), at the time closest to the wanted one. Among
    equals the later slot comes first, which keeps a series' spacing. Each slot
    is given once."""
    local_wanted = wanted.astimezone(cal.tz)
    wanted_day, wanted_time = local_wanted.date(), local_wanted.time().replace(tzinfo=None)

    def fits(start: dt.datetime) -> bool:
        return start >= not_before and not (not_after and start > not_after) and cal.is_free(start, start + duration)

    def by_closeness(days: Iterable[dt.date]) -> list[dt.datetime]:
        """The free starts on these days, the time of day closest to the wanted one first."""

        def distance(start: dt.datetime) -> dt.timedelta:
            local = start.astimezone(cal.tz).replace(tzinfo=None)
            return abs(local - dt.datetime.combine(local.date(), wanted_time))

        free = [start for day in days for start in cal.slots_on(day, duration) if fits(start)]
        return sorted(free, key=lambda start: (distance(start), -start.timestamp()))

    def same_time() -> Iterator[dt.datetime]:
        for offset in range(1, SAME_TIME_DAYS + 1):
            for day in (wanted_day + dt.timedelta(days=offset), wanted_day - dt.timedelta(days=offset)):
                start = local_datetime(day, wanted_time, cal.tz)
                if start is not None and fits(start):
                    yield start

    def same_day() -> Iterator[dt.datetime]:
        yield from by_closeness([wanted_day])

    def any_day() -> Iterator[dt.datetime]:
        for offset in range(SEARCH_DAYS + 1):
            yield from by_closeness({wanted_day + dt.timedelta(days=offset), wanted_day - dt.timedelta(days=offset)})

    order = (same_time, same_day) if first == ClashFirst.DAY else (same_day, same_time)
    seen: set[dt.datetime] = set()
    for candidates in (*order, any_day):
        for start in candidates():
            if start not in seen:
                seen.add(start)
                yield start


def nearest_free_slot(
    wanted: dt.datetime,
    duration: dt.timedelta,
    cal: Calendar,
    not_before: dt.datetime,
    not_after: dt.datetime | None = None,
    *,
    first: ClashFirst = ClashFirst.DAY,
) -> dt.datetime | None:
    """The free slot a receptionist would offer first (free_slots_near), or
    None when there is none within SEARCH_DAYS."""
    return next(free_slots_near(wanted, duration, cal, not_before, not_after, first=first), None)


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
    # Reception's own choice of slot (pinned), kept as chosen; `refused` says
    # why it cannot be booked, if it cannot.
    chosen: bool = False
    refused: str | None = None
    # Other free slots near the wanted one, best first, for reception to pick from.
    options: tuple[dt.datetime, ...] = ()

    @property
    def moved(self) -> bool:
        return self.start != self.wanted

    @property
    def bookable(self) -> bool:
        return self.start is not None and self.refused is None


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
    first: ClashFirst = ClashFirst.DAY,
    pinned: Mapping[int, dt.datetime] | None = None,
    options: int = 0,
) -> list[ProposedSession]:
    """The sessions of a series, each at its wanted date or moved to the nearest
    free slot (free_slots_near, `first` says where it looks first). `first_start`
    is aware; the wall-clock time of day is kept for every session. The minimum
    interval defaults to `minimum_interval` of the series interval; `previous`,
    when given, is the start of the session before the first (a series
    continued at its end): the first keeps that interval after it as well.

    `pinned` maps a sequence number to the start reception chose for it: that
    session stays there, with the reason it cannot be booked if it cannot (in
    the past, too soon after the one before, closed or booked), and the later
    ones are placed after it. With `options`, each session also lists that many
    other free slots near its wanted one."""
    if count < 1:
        raise ValueError("A series has at least one session.")
    if interval < 1:
        raise ValueError("The interval must be at least one.")
    pinned = pinned or {}
    local_first = first_start.astimezone(cal.tz)
    first_day, time_of_day = local_first.date(), local_first.time().replace(tzinfo=None)
    if min_interval is None:
        min_interval = minimum_interval(add_interval(first_day, interval, unit) - first_day)

    proposals: list[ProposedSession] = []
    for i in range(count):
        sequence = first_sequence + i
        wanted = wall_clock(add_interval(first_day, interval * i, unit), time_of_day, cal.tz)
        not_before = max(now, previous + min_interval) if previous else now
        nearby: tuple[dt.datetime, ...] = ()
        if options:
            candidates = free_slots_near(wanted, duration, cal, not_before, first=first)
            nearby = tuple(itertools.islice(candidates, options + 1))
        if sequence in pinned:
            start = pinned[sequence]
            refused = slot_problem(start, duration, cal, now=now, not_before=not_before)
            proposals.append(
                ProposedSession(
                    sequence,
                    wanted,
                    start,
                    start + duration,
                    None,
                    chosen=True,
                    refused=refused,
                    options=tuple(o for o in nearby if o != start)[:options],
                )
            )
            previous = start
            continue
        problem = slot_problem(wanted, duration, cal, now=now, not_before=not_before)
        if problem is None:
            start = wanted
        elif options:
            start = nearby[0] if nearby else None
        else:
            start = nearest_free_slot(wanted, duration, cal, not_before, first=first)
        if start is None:
            proposals.append(ProposedSession(sequence, wanted, None, None, f"no free slot ({problem})"))
            continue
        rest = tuple(o for o in nearby if o != start)[:options]
        proposals.append(ProposedSession(sequence, wanted, start, start + duration, problem, options=rest))
        previous = start
    return proposals
