"""What the reports work out beside the database: rates from counts, and the
hours the clinic is open. Plain values in and out."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from .period import Period


def rate(part: int | float | None, whole: int | float | None) -> float | None:
    """`part` as a percentage of `whole`, to one decimal; None when there is no whole."""
    if not whole or part is None:
        return None
    return round(100 * part / whole, 1)


def median_of_counts(counts: dict[int, int]) -> float | None:
    """The median of values given as how many times each occurs (a
    histogram): the middle one, or the mean of the two middle ones, as
    PostgreSQL's PERCENTILE_CONT(0.5); None when there are none."""
    total = sum(counts.values())
    if not total:
        return None
    ordered = sorted(counts.items())

    def nth(k: int) -> int:
        for value, n in ordered:
            if k < n:
                return value
            k -= n
        raise IndexError(k)

    middle = total // 2
    if total % 2:
        return float(nth(middle))
    return (nth(middle - 1) + nth(middle)) / 2


def hours(duration: dt.timedelta | None) -> float:
    """A duration in hours, to one decimal."""
    return round(duration.total_seconds() / 3600, 1) if duration else 0.0


def open_hours_by_week(
    periods: Iterable[tuple[int, dt.time, dt.time]], closed: Iterable[dt.date], period: Period
) -> dict[dt.date, float]:
    """The hours the clinic is open each week (keyed by its Monday), from its
    opening periods (weekday 0 = Monday, opens, closes) on the days of
    `period` that are not closed days. A week the period cuts counts only its
    days inside the period."""
    per_weekday = [0.0] * 7
    for weekday, opens, closes in periods:
        day = dt.date.min
        per_weekday[weekday] += (dt.datetime.combine(day, closes) - dt.datetime.combine(day, opens)).seconds
    closed = set(closed)
    weeks = dict.fromkeys(period.weeks(), 0.0)
    for day in period.dates():
        if day not in closed:
            weeks[day - dt.timedelta(days=day.weekday())] += per_weekday[day.weekday()] / 3600
    return {week: round(total, 2) for week, total in weeks.items()}
