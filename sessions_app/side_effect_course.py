"""A side effect's course in plain values: when one of its kind is usually
gone, and how bad a client's check-in answer is. No ORM here; the side-effect
services ask these, the tests check them without a database."""

from __future__ import annotations

import datetime as dt

# A client's 0-10 at check-in, read as a severity: up to 3 mild, up to 6
# moderate, 7 and over severe (a call at once).
MILD_UP_TO = 3
MODERATE_UP_TO = 6


def expected_resolution(onset: dt.date, expected_days: int | None) -> dt.date | None:
    """The day a side effect of its kind is usually gone: `expected_days`
    after its onset, or None when its kind has no expected time."""
    if expected_days is None:
        return None
    return onset + dt.timedelta(days=expected_days)


def severity_from_score(score: int) -> str:
    """ "mild", "moderate" or "severe" for a client's 0 to 10."""
    if not 0 <= score <= 10:
        raise ValueError(f"A score is 0 to 10, not {score}.")
    if score <= MILD_UP_TO:
        return "mild"
    if score <= MODERATE_UP_TO:
        return "moderate"
    return "severe"
