"""The pure rules of reminders: due times (time zones and daylight saving
included), channels by consent and preference, retries, quiet hours and
message templates. No database."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from sessions_app.clearance import months_before
from sessions_app.reminders.messages import TemplateError, render, template_errors
from sessions_app.reminders.rules import (
    Offset,
    consents_needed,
    due_at,
    first_anchor_day,
    first_anchor_moment,
    first_screened_on,
    in_quiet_hours,
    reminder_channels,
    reminder_key,
    retry_delay,
    screening_expires_on,
    start_of_day,
)
from sessions_app.scheduling import next_series_date

PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")
UTC = dt.UTC


def at(tz, *args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=tz)


# --- Due times, one rule kind at a time -------------------------------------------


def test_upcoming_session_24_hours_before_is_elapsed_time_across_the_spring_change():
    # Clocks go forward in Paris at 02:00 on Sunday 29 March 2026: 24 hours
    # before the Sunday 10:00 session is 09:00 on the Saturday, wall clock.
    session = at(PARIS, 2026, 3, 29, 10, 0)
    due = due_at(session, Offset(24, "hours", "before"), PARIS)
    assert due == session.astimezone(UTC) - dt.timedelta(hours=24)
    assert due.astimezone(PARIS) == at(PARIS, 2026, 3, 28, 9, 0)
    assert due.tzinfo == UTC


def test_upcoming_session_hours_before_in_another_time_zone():
    # New York changes at 02:00 on Sunday 8 March 2026; a 09:30 session that day.
    session = at(NEW_YORK, 2026, 3, 8, 9, 30)
    due = due_at(session, Offset(24, "hours", "before"), NEW_YORK)
    assert due.astimezone(NEW_YORK) == at(NEW_YORK, 2026, 3, 7, 8, 30)
    # Two hours before 03:30, just after the change, is 00:30: the 02:00-03:00 hour never happened.
    early = at(NEW_YORK, 2026, 3, 8, 3, 30)
    assert due_at(early, Offset(2, "hours", "before"), NEW_YORK).astimezone(NEW_YORK) == at(NEW_YORK, 2026, 3, 8, 0, 30)


def test_aftercare_two_days_after_lands_at_the_send_time_on_the_clinics_calendar():
    # Completed late on Saturday 24 October 2026; the clocks go back on Sunday 25
    # October: "2 days after" is Monday 10:00 Paris, which is now 09:00 UTC.
    completed = at(PARIS, 2026, 10, 24, 23, 30)
    due = due_at(completed, Offset(2, "days", "after", dt.time(10, 0)), PARIS)
    assert due.astimezone(PARIS) == at(PARIS, 2026, 10, 26, 10, 0)
    assert due == at(UTC, 2026, 10, 26, 9, 0)


def test_days_count_the_clinics_date_not_the_utc_date():
    # 00:30 in Paris on 1 July is still 30 June in UTC: the clinic's date counts.
    completed = at(PARIS, 2026, 7, 1, 0, 30)
    due = due_at(completed, Offset(1, "days", "after", dt.time(9, 0)), PARIS)
    assert due.astimezone(PARIS) == at(PARIS, 2026, 7, 2, 9, 0)
    # The same moment seen from New York is 30 June evening: its clinic calls on 1 July.
    assert due_at(completed, Offset(1, "days", "after", dt.time(9, 0)), NEW_YORK).astimezone(NEW_YORK) == at(
        NEW_YORK, 2026, 7, 1, 9, 0
    )


def test_a_send_time_the_clock_skips_moves_an_hour_later():
    # 02:30 does not exist in Paris on 29 March 2026.
    due = due_at(dt.date(2026, 3, 29), Offset(0, "days", "after", dt.time(2, 30)), PARIS)
    assert due.astimezone(PARIS) == at(PARIS, 2026, 3, 29, 3, 30)


def test_next_session_unbooked_date_and_due_time():
    last = at(PARIS, 2026, 3, 20, 18, 0)
    assert next_series_date(last, 14, PARIS) == dt.date(2026, 4, 3)
    # The rule: 2 days after the last session, at 10:00, summer time by then.
    assert due_at(last, Offset(2, "days", "after"), PARIS) == at(UTC, 2026, 3, 22, 9, 0)
    assert due_at(at(PARIS, 2026, 3, 28, 18, 0), Offset(2, "days", "after"), PARIS) == at(UTC, 2026, 3, 30, 8, 0)


def test_maintenance_due_counts_from_a_date_before_or_after():
    maintenance_on = dt.date(2026, 6, 15)
    assert due_at(maintenance_on, Offset(14, "days", "before"), PARIS) == at(UTC, 2026, 6, 1, 8, 0)
    assert due_at(maintenance_on, Offset(7, "days", "after"), PARIS) == at(UTC, 2026, 6, 22, 8, 0)
    # Hours from a date count from the send time that day.
    assert due_at(maintenance_on, Offset(3, "hours", "after", dt.time(9)), NEW_YORK) == at(UTC, 2026, 6, 15, 16, 0)


@pytest.mark.parametrize(
    ("screened_on", "months", "expires"),
    [
        (dt.date(2025, 5, 10), 12, dt.date(2026, 5, 10)),
        (dt.date(2026, 1, 31), 1, dt.date(2026, 3, 1)),  # February is short: the day after its end
        (dt.date(2024, 2, 29), 12, dt.date(2025, 3, 1)),
        (dt.date(2025, 8, 31), 6, dt.date(2026, 3, 1)),
    ],
)
def test_screening_expires_on_the_day_the_treatment_rule_asks_for_a_new_one(screened_on, months, expires):
    assert screening_expires_on(screened_on, months) == expires
    # The same rule as sessions_app.clearance: valid the day before, too old that day.
    assert months_before(expires - dt.timedelta(days=1), months) < screened_on <= months_before(expires, months)


def test_screening_renewal_30_days_before():
    expires = screening_expires_on(dt.date(2025, 11, 20), 12)
    assert due_at(expires, Offset(30, "days", "before"), PARIS) == at(UTC, 2026, 10, 21, 8, 0)


# --- Channels ----------------------------------------------------------------------


def channels(preferred="email", consent_email=True, consent_sms=True, email=True, sms=True, call=False):
    return reminder_channels(
        email=email, sms=sms, call=call, preferred=preferred, consent_email=consent_email, consent_sms=consent_sms
    )


def test_the_preferred_channel_when_agreed():
    assert channels("email") == {"message": "email"}
    assert channels("sms") == {"message": "sms"}


def test_never_a_channel_the_client_did_not_agree_to():
    assert channels("email", consent_email=False) == {"message": "sms"}
    assert channels("sms", consent_sms=False) == {"message": "email"}
    assert channels("email", consent_email=False, consent_sms=False) == {"message": "call"}
    assert channels("sms", email=True, sms=False, consent_email=False) == {"message": "call"}


def test_a_client_who_prefers_the_phone_gets_a_call():
    assert channels("phone") == {"message": "call"}


def test_a_rule_with_a_call_task_makes_one_call_not_two():
    assert channels("email", call=True) == {"message": "email", "call": "call"}
    assert channels("email", consent_email=False, consent_sms=False, call=True) == {"call": "call"}
    assert channels(email=False, sms=False, call=True) == {"call": "call"}


def test_keys_name_the_rule_slot_and_subject():
    assert reminder_key("aftercare_check", "call", 3, "session", 42) == "aftercare_check:call:rule=3:session=42"


# --- Retries and quiet hours ---------------------------------------------------------


def test_backoff_doubles_up_to_the_cap():
    delays = [retry_delay(n, 300, 3600).total_seconds() for n in range(1, 7)]
    assert delays == [300, 600, 1200, 2400, 3600, 3600]


def test_quiet_hours_past_midnight_in_the_clinics_time_zone():
    quiet = (dt.time(21, 0), dt.time(8, 0))
    assert in_quiet_hours(at(PARIS, 2026, 7, 1, 21, 0), quiet, PARIS)
    assert in_quiet_hours(at(PARIS, 2026, 7, 2, 7, 59), quiet, PARIS)
    assert not in_quiet_hours(at(PARIS, 2026, 7, 2, 8, 0), quiet, PARIS)
    # 19:30 UTC is 21:30 in Paris in summer: quiet there, not in New York (15:30).
    assert in_quiet_hours(at(UTC, 2026, 7, 1, 19, 30), quiet, PARIS)
    assert not in_quiet_hours(at(UTC, 2026, 7, 1, 19, 30), quiet, NEW_YORK)
    assert not in_quiet_hours(at(PARIS, 2026, 7, 1, 23, 0), None, PARIS)


def test_quiet_hours_within_a_day():
    quiet = (dt.time(12, 0), dt.time(14, 0))
    assert in_quiet_hours(at(PARIS, 2026, 1, 5, 12, 30), quiet, PARIS)
    assert not in_quiet_hours(at(PARIS, 2026, 1, 5, 14, 0), quiet, PARIS)


# --- Templates ------------------------------------------------------------------------


def test_render_fills_the_placeholders():
    text = render(
        "Hello {client_name}, {date} at {time} with {practitioner} ({clinic}). {{ok}}",
        "upcoming_session",
        {
            "client_name": "Léa Martin",
            "date": "Monday 30 March 2026",
            "time": "10:00",
            "practitioner": "Dr Lefèvre",
            "clinic": "Mesoclinic",
        },
    )
    assert text == "Hello Léa Martin, Monday 30 March 2026 at 10:00 with Dr Lefèvre (Mesoclinic). {ok}"


@pytest.mark.parametrize(
    ("template", "kind", "message"),
    [
        ("Hi {name}", "upcoming_session", "Unknown placeholder {name}"),
        ("Hi {client_name.__class__}", "upcoming_session", "Unknown placeholder {client_name.__class__}"),
        ("At {time}", "maintenance_due", "Unknown placeholder {time}"),
        ("Hi {client_name!r}", "upcoming_session", "without a format"),
        ("Hi {}", "upcoming_session", "empty placeholder"),
        ("Hi {client_name", "upcoming_session", "braces do not match"),
    ],
)
def test_bad_templates_are_refused_with_a_readable_reason(template, kind, message):
    errors = template_errors(template, kind)
    assert any(message in e for e in errors), errors
    with pytest.raises(TemplateError, match="placeholder|format|braces"):
        render(template, kind, {})


# --- What a generation round asks the database for --------------------------------

SANTIAGO = ZoneInfo("America/Santiago")  # its clocks skip or repeat midnight
OFFSETS = [
    Offset(24, "hours", "before"),
    Offset(30, "hours", "after"),
    Offset(0, "hours", "after"),
    Offset(2, "days", "after"),
    Offset(14, "days", "before"),
    Offset(7, "days", "after", dt.time(0, 30)),
    Offset(0, "days", "after", dt.time(2, 30)),  # a time the spring change skips in Paris
]
# Rounds on both sides of the changes of clock, at odd minutes.
SINCES = [
    at(UTC, 2026, 3, 29, 0, 59),
    at(UTC, 2026, 3, 29, 1, 0),
    at(UTC, 2026, 10, 25, 0, 30),
    at(UTC, 2026, 10, 25, 1, 0),
    at(UTC, 2026, 9, 6, 3, 59),
    at(UTC, 2026, 9, 6, 4, 0),
    at(UTC, 2026, 4, 5, 2, 0),
    at(UTC, 2026, 6, 15, 9, 17),
]


@pytest.mark.parametrize("tz", [PARIS, NEW_YORK, SANTIAGO])
@pytest.mark.parametrize("offset", OFFSETS)
def test_the_first_anchor_day_is_the_first_whose_reminder_falls_due_since(tz, offset):
    for since in SINCES:
        first = first_anchor_day(offset, since, tz)
        assert due_at(first, offset, tz) >= since
        assert due_at(first - dt.timedelta(days=1), offset, tz) < since


@pytest.mark.parametrize("tz", [PARIS, NEW_YORK, SANTIAGO])
@pytest.mark.parametrize("offset", OFFSETS)
def test_the_first_anchor_moment_splits_the_anchors_due_since_from_those_before(tz, offset):
    """Every quarter of an hour over four days around it: an anchor from that
    moment on is due since, one before it is not."""
    for since in SINCES:
        first = first_anchor_moment(offset, since, tz)
        moment = first - dt.timedelta(days=2)
        while moment < first + dt.timedelta(days=2):
            assert (due_at(moment, offset, tz) >= since) == (moment >= first), (since, moment)
            moment += dt.timedelta(minutes=15)
        assert due_at(first, offset, tz) >= since


@pytest.mark.parametrize("tz", [PARIS, SANTIAGO])
def test_the_start_of_a_day_is_its_first_moment(tz):
    for day in (dt.date(2026, 3, 29), dt.date(2026, 10, 25), dt.date(2026, 9, 6), dt.date(2026, 4, 5)):
        start = start_of_day(day, tz)
        assert start.astimezone(tz).date() == day
        assert (start - dt.timedelta(microseconds=1)).astimezone(tz).date() < day


@pytest.mark.parametrize("months", [1, 6, 12])
def test_the_first_screening_day_is_the_first_that_runs_out_then_or_later(months):
    for expires in (dt.date(2026, 3, 1), dt.date(2026, 3, 2), dt.date(2026, 2, 28), dt.date(2027, 1, 31)):
        first = first_screened_on(expires, months)
        assert screening_expires_on(first, months) >= expires
        assert screening_expires_on(first - dt.timedelta(days=1), months) < expires


@pytest.mark.parametrize("call_instead", [True, False])
@pytest.mark.parametrize("call", [True, False])
@pytest.mark.parametrize("sms", [True, False])
@pytest.mark.parametrize("email", [True, False])
def test_the_consents_needed_are_those_without_which_a_rule_makes_nothing(email, sms, call, call_instead):
    needed = consents_needed(email=email, sms=sms, call=call, call_instead=call_instead)
    for preferred in ("email", "sms", "phone"):
        for consent_email in (True, False):
            for consent_sms in (True, False):
                made = reminder_channels(
                    email=email,
                    sms=sms,
                    call=call,
                    preferred=preferred,
                    consent_email=consent_email,
                    consent_sms=consent_sms,
                    call_instead=call_instead,
                )
                agrees = {"consent_email": consent_email, "consent_sms": consent_sms}
                reached = needed is None or any(agrees[c] for c in needed)
                assert bool(made) == reached
