"""The period a report or the side-effect signal covers, and its buckets:
plain dates in the clinic's calendar, no database. `period_refusal` is the one
rule for which periods the pages accept; `Period` itself holds any date a
calendar can put a day either side of, and its months, weeks and bounds never
step past the calendar's ends."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sessions_app.scheduling import bookable_until

# The longest period a page covers: three years of months and weeks stay
# readable on a chart, and bound what the database reads for one page.
MAX_DAYS = 3 * 366
# The first day a period may start (older dates are typing errors).
EARLIEST = dt.date(2000, 1, 1)


def latest(today: dt.date) -> dt.date:
    """The last day a period may reach: the booking horizon, beyond which
    nothing is booked, so nothing is counted."""
    return bookable_until(today)


@dataclass(frozen=True)
class Period:
    """From `start` to `end`, both included, in the clinic's calendar."""

    start: dt.date
    end: dt.date

    def __post_init__(self):
        if self.end < self.start:
            raise ValueError("A period ends on or after its start.")
        # Midnight after the end, and midnight at the start seen from any time
        # zone, must both exist: a day clear of the calendar's first and last.
        if not dt.date.min < self.start or not self.end < dt.date.max:
            raise ValueError("A period lies a day clear of the calendar's first and last days.")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def months(self) -> list[dt.date]:
        """The first day of each month the period touches (counted, never
        stepping to the month after the last: December 9999 has none)."""
        first, last = (d.year * 12 + d.month - 1 for d in (self.start, self.end))
        return [dt.date(index // 12, index % 12 + 1, 1) for index in range(first, last + 1)]

    def weeks(self) -> list[dt.date]:
        """The Monday of each week (Monday to Sunday) the period touches (the
        calendar's first day is a Monday, so the first always exists)."""
        monday = self.start - dt.timedelta(days=self.start.weekday())
        return [monday + dt.timedelta(weeks=n) for n in range((self.end - monday).days // 7 + 1)]

    def dates(self) -> list[dt.date]:
        return [self.start + dt.timedelta(days=n) for n in range(self.days)]

    def bounds(self, tz: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
        """Midnight at the start to midnight after the end, in the time zone
        given (the clinic's): what the queries compare times with."""
        start = dt.datetime.combine(self.start, dt.time.min, tzinfo=tz)
        return start, dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time.min, tzinfo=tz)

    def describe(self) -> str:
        if self.start == self.end:
            return f"{self.start:%-d %B %Y}"
        return f"{self.start:%-d %B %Y} to {self.end:%-d %B %Y}"


def months_back(today: dt.date, months: int) -> dt.date:
    """The first day of the month `months` months before today's."""
    index = today.year * 12 + today.month - 1 - months
    return dt.date(index // 12, index % 12 + 1, 1)


def default_period(today: dt.date) -> Period:
    """The last three months: the two before this one, and this one to today."""
    return Period(months_back(today, 2), today)


def presets(today: dt.date) -> list[tuple[str, Period]]:
    """The periods offered in one click, by name."""
    this_month = today.replace(day=1)
    last_month_end = this_month - dt.timedelta(days=1)
    return [
        ("This month", Period(this_month, today)),
        ("Last month", Period(last_month_end.replace(day=1), last_month_end)),
        ("Last 3 months", default_period(today)),
        ("Last 12 months", Period(months_back(today, 11), today)),
        ("This year", Period(today.replace(month=1, day=1), today)),
        ("Last year", Period(dt.date(today.year - 1, 1, 1), dt.date(today.year - 1, 12, 31))),
    ]


def period_refusal(start: dt.date, end: dt.date, *, today: dt.date) -> dict[str, str]:
    """Why a period cannot be shown (the reports, the side-effect signal), by
    field; empty when it can."""
    errors, last = {}, latest(today)
    if start < EARLIEST:
        errors["start"] = f"A period starts on {EARLIEST:%d/%m/%Y} at the earliest."
    elif start > last:
        errors["start"] = f"A period starts by {last:%d/%m/%Y}: nothing is booked further ahead."
    if end < start:
        errors["end"] = "The end comes on or after the start."
    elif end > last:
        errors["end"] = f"A period ends by {last:%d/%m/%Y} at the latest: nothing is booked further ahead."
    elif (end - start).days + 1 > MAX_DAYS:
        errors["end"] = f"A period covers at most {MAX_DAYS} days (three years): start later or end earlier."
    return errors
