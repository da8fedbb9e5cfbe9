"""The period a report covers, and its buckets: plain dates in the clinic's
calendar, no database."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

# The longest period a report covers: three years of months and weeks stay
# readable on a chart, and bound what the database reads for one page.
MAX_DAYS = 3 * 366
# The first day a report may start (older dates are typing errors).
EARLIEST = dt.date(2000, 1, 1)


@dataclass(frozen=True)
class Period:
    """From `start` to `end`, both included, in the clinic's calendar."""

    start: dt.date
    end: dt.date

    def __post_init__(self):
        if self.end < self.start:
            raise ValueError("A period ends on or after its start.")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def months(self) -> list[dt.date]:
        """The first day of each month the period touches."""
        month, months = self.start.replace(day=1), []
        while month <= self.end:
            months.append(month)
            month = next_month(month)
        return months

    def weeks(self) -> list[dt.date]:
        """The Monday of each week (Monday to Sunday) the period touches."""
        week, weeks = self.start - dt.timedelta(days=self.start.weekday()), []
        while week <= self.end:
            weeks.append(week)
            week += dt.timedelta(days=7)
        return weeks

    def dates(self) -> list[dt.date]:
        return [self.start + dt.timedelta(days=n) for n in range(self.days)]

    def describe(self) -> str:
        if self.start == self.end:
            return f"{self.start:%-d %B %Y}"
        return f"{self.start:%-d %B %Y} to {self.end:%-d %B %Y}"


def next_month(month: dt.date) -> dt.date:
    return dt.date(month.year + month.month // 12, month.month % 12 + 1, 1)


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


def period_refusal(start: dt.date, end: dt.date) -> dict[str, str]:
    """Why a period cannot be reported on, by field; empty when it can."""
    errors = {}
    if start < EARLIEST:
        errors["start"] = f"Reports start on {EARLIEST:%d/%m/%Y} at the earliest."
    if end < start:
        errors["end"] = "The end comes on or after the start."
    elif (end - start).days + 1 > MAX_DAYS:
        errors["end"] = f"A report covers at most {MAX_DAYS} days (three years): start later or end earlier."
    return errors
