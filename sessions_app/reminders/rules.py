"""When a reminder is due, by which channel, and when to try again: plain
values in, plain values out, no ORM. `generate` and `worker` ask these; the
tests check them without a database, time zones and daylight saving included.

Every moment returned is an aware datetime in UTC: Python compares and
subtracts datetimes that share one tzinfo on the wall clock, which gains or
loses an hour across a daylight-saving change.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from zoneinfo import ZoneInfo

from sessions_app.clearance import months_before
from sessions_app.scheduling import add_interval, wall_clock


class Unit(StrEnum):
    HOURS = "hours"
    DAYS = "days"


class Direction(StrEnum):
    BEFORE = "before"
    AFTER = "after"


@dataclass(frozen=True)
class Offset:
    """A rule's timing: `amount` hours or days before or after what the
    reminder is about. Offsets in days land at `at`, on the clinic's clock."""

    amount: int
    unit: Unit | str
    direction: Direction | str
    at: dt.time = dt.time(10, 0)


def due_at(anchor: dt.datetime | dt.date, offset: Offset, tz: ZoneInfo) -> dt.datetime:
    """When a reminder about `anchor` is due.

    Hours are elapsed time: "24 hours before" a session at 10:00 on the Monday
    after the clocks go forward is 09:00 on the Sunday, wall clock. Days are
    calendar days in the clinic's time zone: "2 days after" a session on
    Saturday is Monday at `offset.at`, whatever the clocks did in between. A
    date anchor (a maintenance date) counts hours from `offset.at` on that day.
    """
    sign = -1 if Direction(offset.direction) == Direction.BEFORE else 1
    if Unit(offset.unit) == Unit.HOURS:
        moment = anchor if isinstance(anchor, dt.datetime) else wall_clock(anchor, offset.at, tz)
        return moment.astimezone(dt.UTC) + sign * dt.timedelta(hours=offset.amount)
    day = anchor.astimezone(tz).date() if isinstance(anchor, dt.datetime) else anchor
    return wall_clock(day + dt.timedelta(days=sign * offset.amount), offset.at, tz)


def start_of_day(day: dt.date, tz: ZoneInfo) -> dt.datetime:
    """The first moment of `day` in `tz`, in UTC (a midnight the clock skips is
    the moment it jumps, one it repeats is the first of the two)."""
    return dt.datetime.combine(day, dt.time(0), tzinfo=tz).astimezone(dt.UTC)


def _first_day(holds, guess: dt.date) -> dt.date:
    """The first day on which `holds` (false, then true from some day on) is
    true, searched from a guess a day or two off."""
    day = guess
    while holds(day - dt.timedelta(days=1)):
        day -= dt.timedelta(days=1)
    while not holds(day):
        day += dt.timedelta(days=1)
    return day


def first_anchor_day(offset: Offset, since: dt.datetime, tz: ZoneInfo) -> dt.date:
    """The first day whose reminder falls due at or after `since`, for a rule
    counting from a date (a maintenance date, a screening's end of validity)
    or from a moment's day (an offset in days): a later day's is due later, an
    earlier day's before `since`. The generator asks the database only for
    what counts from then on, so a steady round reads nothing it throws away."""
    days = offset.amount if Unit(offset.unit) == Unit.DAYS else offset.amount // 24
    sign = -1 if Direction(offset.direction) == Direction.BEFORE else 1
    guess = since.astimezone(tz).date() - sign * dt.timedelta(days=days)
    return _first_day(lambda day: due_at(day, offset, tz) >= since, guess)


def first_anchor_moment(offset: Offset, since: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    """The earliest moment (a session's start or completion) whose reminder
    falls due at or after `since`, in UTC: exactly `due_at` undone."""
    if Unit(offset.unit) == Unit.HOURS:
        sign = -1 if Direction(offset.direction) == Direction.BEFORE else 1
        return since.astimezone(dt.UTC) - sign * dt.timedelta(hours=offset.amount)
    return start_of_day(first_anchor_day(offset, since, tz), tz)


def first_screened_on(expires_on: dt.date, max_age_months: int) -> dt.date:
    """The first day a screening may have been made on to run out on
    `expires_on` or later (screening_expires_on undone)."""
    return _first_day(
        lambda day: screening_expires_on(day, max_age_months) >= expires_on, months_before(expires_on, max_age_months)
    )


def screening_expires_on(screened_on: dt.date, max_age_months: int) -> dt.date:
    """The first day on which `sessions_app.clearance` finds the screening too
    old (it asks `months_before(today, months) >= screened_on`): about
    `max_age_months` after it, a day or three later when the month is short."""
    day = add_interval(screened_on, max_age_months, "months")
    while months_before(day, max_age_months) < screened_on:
        day += dt.timedelta(days=1)
    return day


# The two reminders a rule may make for one thing: the client's message (or the
# call that replaces it) and a call task for staff.
MESSAGE, CALL_TASK = "message", "call"


def reminder_channels(
    *,
    email: bool,
    sms: bool,
    call: bool,
    preferred: str,
    consent_email: bool,
    consent_sms: bool,
    call_instead: bool = True,
) -> dict[str, str]:
    """Which reminders a rule with these channels makes for this client, as
    {slot: channel}. The client's message goes by their preferred channel when
    they agreed to it and the rule offers it, else by another channel they
    agreed to; a client who prefers a phone call, or agreed to no channel the
    rule offers, gets a staff call instead (once, when the rule already has
    one), or nothing without `call_instead` (a check-in is the client's own
    answer). Never an email or SMS without the client's agreement."""
    made: dict[str, str] = {}
    if email or sms:
        offered = [ch for ch, ok in (("email", email and consent_email), ("sms", sms and consent_sms)) if ok]
        if offered and (preferred != "phone" or not call_instead):
            made[MESSAGE] = preferred if preferred in offered else offered[0]
        elif call_instead and not call:
            made[MESSAGE] = "call"
    if call:
        made[CALL_TASK] = "call"
    return made


def consents_needed(*, email: bool, sms: bool, call: bool, call_instead: bool = True) -> tuple[str, ...] | None:
    """What a client must agree to for a rule with these channels to make them
    any reminder at all (reminder_channels): None when every client gets one
    (a call task, or a call instead of a message), else the consents any one
    of which will do (none: the rule makes nothing). The generator reads only
    the clients it will remind."""
    if call or ((email or sms) and call_instead):
        return None
    return tuple(consent for consent, offered in (("consent_email", email), ("consent_sms", sms)) if offered)


def reminder_key(kind: str, slot: str, rule_id: int, subject: str, subject_id: int) -> str:
    """What a reminder is about, unique: the generator, seed_demo and the
    migration all build keys here, so running any of them again adds nothing."""
    return f"{kind}:{slot}:rule={rule_id}:{subject}={subject_id}"


def retry_delay(attempts: int, base_seconds: int, max_seconds: int) -> dt.timedelta:
    """How long to wait after the `attempts`-th failed try: doubling from
    `base_seconds`, never more than `max_seconds`."""
    return dt.timedelta(seconds=min(max_seconds, base_seconds * 2 ** max(0, attempts - 1)))


def in_quiet_hours(moment: dt.datetime, quiet: tuple[dt.time, dt.time] | None, tz: ZoneInfo) -> bool:
    """Whether `moment` falls in the quiet hours (start included, end not), on
    the clinic's clock; a window may run past midnight (21:00 to 08:00)."""
    if quiet is None:
        return False
    start, end = quiet
    now = moment.astimezone(tz).time()
    if start <= end:
        return start <= now < end
    return now >= start or now < end


def describe_offset(offset: Offset, kind_anchor: str) -> str:
    """ "24 hours before the session", "2 days after the session, at 10:00"."""
    amount, unit = offset.amount, Unit(offset.unit)
    if amount == 0:
        when = "on the day of" if unit == Unit.DAYS else "at"
    else:
        name = unit.value if amount != 1 else unit.value[:-1]
        when = f"{amount} {name} {Direction(offset.direction).value}"
    text = f"{when} {kind_anchor}"
    return f"{text}, at {offset.at:%H:%M}" if unit == Unit.DAYS else text


# What each kind's offset counts from, as the admin and the README say it.
ANCHORS: Mapping[str, str] = {
    "upcoming_session": "the session",
    "aftercare_check": "the completed session",
    "next_session_unbooked": "the last session, when the next is not booked",
    "maintenance_due": "the maintenance date",
    "screening_renewal": "the screening's end of validity",
    "check_in": "the completed session",
    "side_effect_unresolved": "the day a side effect of its kind is usually gone",
}


# A message still waiting this long after it fell due was not sent when it
# should have been (the send loop runs every few minutes): Today flags it.
MESSAGE_OVERDUE = dt.timedelta(hours=1)


def is_overdue(*, call: bool, due: dt.datetime, now: dt.datetime, tz: ZoneInfo) -> bool:
    """Whether a reminder still waiting is overdue: a call task due before
    today (on the clinic's calendar), a message not sent MESSAGE_OVERDUE after
    it fell due."""
    if call:
        return due.astimezone(tz).date() < now.astimezone(tz).date()
    return now - due > MESSAGE_OVERDUE
