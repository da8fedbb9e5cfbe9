"""The reports: each table computed on a small clinic built here, whose
figures are known (3 no-shows of 20 sessions due is 15%), on SQLite and on
PostgreSQL; the CSV says what the table says; who may read which figures;
a fixed number of queries whatever the number of sessions."""

import csv
import datetime as dt
import html as html_lib
import io
import re

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from sessions_app.models import (
    ClosedDay,
    Indication,
    OpeningHours,
    PlanStatus,
    ReminderChannel,
    ReminderKind,
    ReminderStatus,
    Role,
    Room,
    SessionStatus,
    TreatmentSession,
)
from sessions_app.reminders.unsubscribe import client_unsubscribe
from sessions_app.reports.period import Period
from sessions_app.reports.queries import SECTIONS, Reports, Scope

from .factories import (
    PARIS,
    make_client,
    make_plan,
    make_reminder,
    make_rule,
    make_session,
    make_side_effect,
    make_user,
)

MARCH_2025 = Period(dt.date(2025, 3, 1), dt.date(2025, 3, 31))


@pytest.fixture(autouse=True)
def report_settings(settings):
    settings.CLINIC_LATE_CANCELLATION_HOURS = 24
    settings.CLINIC_SERIES_LATE_TOLERANCE_DAYS = 3


def local(y, m, d, h=10, minute=0) -> dt.datetime:
    return dt.datetime(y, m, d, h, minute, tzinfo=PARIS)


def reports(period: Period, practitioner=None) -> Reports:
    return Reports(Scope(period, timezone.now(), practitioner.pk if practitioner else None))


def rows(table) -> list[list]:
    return [*table.rows, table.total]


def cancelled_at(session, when: dt.datetime) -> None:
    """The cancellation happened then: its history row (written when the
    session was saved cancelled) is dated so."""
    TreatmentSession.history.filter(id=session.pk).update(history_date=when)


@pytest.fixture
def alice(db):
    return make_user(Role.PRACTITIONER, first_name="Alice", last_name="Archer")


@pytest.fixture
def bruno(db):
    return make_user(Role.PRACTITIONER, first_name="Bruno", last_name="Brun")


@pytest.fixture
def march_attendance(alice, bruno):
    """Alice: 20 sessions due on 20 days from Monday 3 March 2025 at 10:00:
    3 no-shows (Mon, Tue, Wed), 2 cancelled late (Thu, Fri: 2 hours before),
    15 completed; and one cancelled 3 days ahead (not due). Bruno: one
    no-show on Monday 10 March at 15:00."""
    plan = make_plan(practitioner=alice, sessions_planned=30)
    for i in range(20):
        start = local(2025, 3, 3) + dt.timedelta(days=i)
        status = SessionStatus.NO_SHOW if i < 3 else SessionStatus.CANCELLED if i < 5 else SessionStatus.COMPLETED
        session = make_session(plan, starts_at=start, status=status)
        if status == SessionStatus.CANCELLED:
            cancelled_at(session, start - dt.timedelta(hours=2))
    early = make_session(plan, starts_at=local(2025, 3, 25), status=SessionStatus.CANCELLED)
    cancelled_at(early, local(2025, 3, 22))
    make_session(make_plan(practitioner=bruno), starts_at=local(2025, 3, 10, 15), status=SessionStatus.NO_SHOW)


@pytest.mark.django_db
def test_no_shows_and_late_cancellations_by_month_weekday_hour_and_practitioner(march_attendance, alice):
    clinic = reports(MARCH_2025)
    assert rows(clinic.no_shows_by_month()) == [["Mar 2025", 21, 4, 19.0, 2, 9.5], ["All", 21, 4, 19.0, 2, 9.5]]
    by_weekday = {row[0]: row for row in rows(clinic.no_shows_by_weekday())}
    # Mondays 3, 10 and 17 March (Alice) and Bruno's: 2 no-shows of 4.
    assert by_weekday["Monday"] == ["Monday", 4, 2, 50.0, 0, 0.0]
    assert by_weekday["Thursday"] == ["Thursday", 3, 0, 0.0, 1, 33.3]
    assert by_weekday["Sunday"] == ["Sunday", 2, 0, 0.0, 0, 0.0]
    assert len(by_weekday) == 8  # seven days and All
    assert rows(clinic.no_shows_by_hour()) == [
        ["10:00", 20, 3, 15.0, 2, 10.0],
        ["15:00", 1, 1, 100.0, 0, 0.0],
        ["All", 21, 4, 19.0, 2, 9.5],
    ]
    assert rows(clinic.no_shows_by_practitioner()) == [
        ["Alice Archer", 20, 3, 15.0, 2, 10.0],
        ["Bruno Brun", 1, 1, 100.0, 0, 0.0],
        ["All", 21, 4, 19.0, 2, 9.5],
    ]
    # Alice's own figures: 3 no-shows of 20 sessions due is 15%.
    assert rows(reports(MARCH_2025, alice).no_shows_by_month())[0] == ["Mar 2025", 20, 3, 15.0, 2, 10.0]


@pytest.mark.django_db
def test_a_late_cancellation_is_the_clients_never_the_clinics(alice):
    """Six sessions cancelled in March 2025, each two hours or three days
    before it: the clinic's within the hours is neither late nor due; the
    client's marked late is late whenever it was made; the client's not marked
    late is not; one cancelled before reception said who (no `cancellation`)
    is late only within the hours."""
    plan = make_plan(practitioner=alice, sessions_planned=10)
    cases = [
        ("clinic", 2, False),
        ("late", 2, True),
        ("late", 72, True),
        ("client", 2, False),
        ("", 2, True),
        ("", 72, False),
    ]
    for day, (who, hours_before, _late) in enumerate(cases, start=3):
        start = local(2025, 3, day)
        session = make_session(plan, starts_at=start, status=SessionStatus.CANCELLED, cancellation=who)
        cancelled_at(session, start - dt.timedelta(hours=hours_before))
    late = sum(1 for *_, is_late in cases if is_late)
    table = reports(MARCH_2025).no_shows_by_month()
    # Each late one is due (and late); no other cancellation is due.
    assert rows(table)[0] == ["Mar 2025", late, 0, 0.0, late, 100.0]
    assert "by the clinic is never late" in table.note and "24 hours" in table.note


@pytest.mark.django_db
def test_a_session_not_yet_begun_is_not_due(alice):
    plan = make_plan(practitioner=alice)
    make_session(plan, starts_at=timezone.now() + dt.timedelta(hours=3))
    today = Period(timezone.localdate(), timezone.localdate() + dt.timedelta(days=1))
    assert reports(today).no_shows_by_month().total[1] == 0


@pytest.mark.django_db
def test_series_adherence_counts_calendar_days_in_the_clinic_and_the_median_delay(alice):
    """Interval 14 days, late beyond 3 days after the due date. 30 March 2025
    is a daylight-saving change: 17 March to 4 April is 18 calendar days (18
    days less an hour), 4 days late."""
    plan = make_plan(practitioner=alice, interval_days=14, sessions_planned=10)
    for start, status in [
        (local(2025, 3, 3), SessionStatus.COMPLETED),  # the first: on time
        (local(2025, 3, 17), SessionStatus.COMPLETED),  # on its due date: 0
        (local(2025, 4, 4), SessionStatus.COMPLETED),  # 4 days late
        (local(2025, 4, 20), SessionStatus.COMPLETED),  # 2 days after: on time
        (local(2025, 5, 4), SessionStatus.NO_SHOW),
        (local(2025, 5, 6), SessionStatus.CANCELLED),
        (local(2025, 5, 8), SessionStatus.COMPLETED),  # 18 days after 20 April: 4 late
    ]:
        make_session(plan, starts_at=start, status=status)
    make_session(plan, starts_at=local(2025, 5, 30), status=SessionStatus.COMPLETED, is_maintenance=True)
    table = reports(Period(dt.date(2025, 3, 1), dt.date(2025, 5, 31))).adherence()
    assert rows(table) == [
        ["Mar 2025", 2, 0, 0, 100.0, 0.0],
        ["Apr 2025", 1, 1, 0, 50.0, 3.0],
        ["May 2025", 0, 1, 2, 0.0, 4.0],
        ["All", 3, 2, 2, 42.9, 3.0],
    ]


@pytest.mark.django_db
def test_series_adherence_reads_the_kept_session_before_from_outside_the_period_and_the_practitioner(alice, bruno):
    """A session's due date comes from the kept session before it, wherever
    that is: before the period, or another practitioner's; missed ones and
    maintenance in between do not count. Interval 14 days, late beyond 3."""
    plan = make_plan(practitioner=alice, interval_days=14, sessions_planned=10)
    make_session(plan, starts_at=local(2025, 2, 10), status=SessionStatus.COMPLETED)  # before the period
    make_session(plan, starts_at=local(2025, 2, 24), status=SessionStatus.NO_SHOW)
    make_session(plan, starts_at=local(2025, 2, 26), status=SessionStatus.COMPLETED, is_maintenance=True)
    # Due 24 February: 10 days late, the period's first kept session.
    make_session(plan, starts_at=local(2025, 3, 6), status=SessionStatus.COMPLETED)
    # Bruno's, due 20 March: on its date.
    make_session(plan, starts_at=local(2025, 3, 20), status=SessionStatus.COMPLETED, practitioner=bruno)
    # Due 3 April after Bruno's: 5 days late (Alice's own session before it is 6 March).
    make_session(plan, starts_at=local(2025, 4, 8), status=SessionStatus.COMPLETED)
    march_april = Period(dt.date(2025, 3, 1), dt.date(2025, 4, 30))
    assert rows(reports(march_april).adherence()) == [
        ["Mar 2025", 1, 1, 0, 50.0, 5.0],
        ["Apr 2025", 0, 1, 0, 0.0, 5.0],
        ["All", 1, 2, 0, 33.3, 5.0],
    ]
    assert rows(reports(march_april, alice).adherence()) == [
        ["Mar 2025", 0, 1, 0, 0.0, 10.0],
        ["Apr 2025", 0, 1, 0, 0.0, 5.0],
        ["All", 0, 2, 0, 0.0, 7.5],
    ]


@pytest.mark.django_db
def test_series_sessions_at_the_same_moment_are_not_each_others_session_before(alice, bruno):
    """Two kept sessions of one plan starting together (two practitioners,
    two rooms): the session before each is the one before both, as for the
    lookup (strictly earlier). Interval 14 days: every one on its date."""
    plan = make_plan(practitioner=alice, interval_days=14, sessions_planned=10)
    make_session(plan, starts_at=local(2025, 3, 3), status=SessionStatus.COMPLETED)
    make_session(plan, starts_at=local(2025, 3, 17), status=SessionStatus.COMPLETED)
    make_session(
        plan,
        starts_at=local(2025, 3, 17),
        status=SessionStatus.COMPLETED,
        practitioner=bruno,
        room=Room.objects.get(name="Room 2"),
    )
    make_session(plan, starts_at=local(2025, 3, 31), status=SessionStatus.COMPLETED)
    assert rows(reports(MARCH_2025).adherence())[-1] == ["All", 4, 0, 0, 100.0, 0.0]


@pytest.mark.django_db
def test_a_series_session_not_yet_begun_is_neither_kept_nor_missed(alice):
    """Series adherence counts the sessions that took place or were missed:
    one cancelled for later this week is not missed yet."""
    plan = make_plan(practitioner=alice, interval_days=14, sessions_planned=10)
    now = timezone.now()
    make_session(plan, starts_at=now - dt.timedelta(days=14), status=SessionStatus.COMPLETED)
    make_session(plan, starts_at=now - dt.timedelta(hours=2), status=SessionStatus.NO_SHOW)
    make_session(plan, starts_at=now + dt.timedelta(days=2), status=SessionStatus.CANCELLED, cancellation="client")
    today = timezone.localdate()
    table = reports(Period(today - dt.timedelta(days=20), today + dt.timedelta(days=5))).adherence()
    # kept on time, kept late, missed
    assert table.total[1:4] == [1, 0, 1]


@pytest.mark.django_db
def test_plans_started_by_what_became_of_them(alice):
    def plan_on(day, status):
        plan = make_plan(practitioner=alice, status=status)
        type(plan).objects.filter(pk=plan.pk).update(created_at=local(*day))

    plan_on((2025, 3, 1), PlanStatus.ACTIVE)
    plan_on((2025, 3, 5), PlanStatus.MAINTENANCE)
    plan_on((2025, 4, 10), PlanStatus.CANCELLED)
    plan_on((2025, 4, 11), PlanStatus.COMPLETED)
    table = reports(Period(dt.date(2025, 3, 1), dt.date(2025, 5, 31))).plans()
    assert rows(table) == [
        ["Mar 2025", 2, 1, 1, 0],
        ["Apr 2025", 2, 0, 1, 1],
        ["May 2025", 0, 0, 0, 0],
        ["All", 4, 1, 2, 1],
    ]


def _recall(plan, anchor, *, channel, status, due_at, sent_at=None, outcome=""):
    return make_reminder(
        plan.client,
        plan=plan,
        session=anchor,
        kind=ReminderKind.MAINTENANCE_DUE,
        channel=channel,
        status=status,
        due_at=due_at,
        sent_at=sent_at,
        call_outcome=outcome,
    )


def _booked(plan, starts_at, created_at):
    session = make_session(plan, starts_at=starts_at, is_maintenance=True)
    TreatmentSession.objects.filter(pk=session.pk).update(created_at=created_at)


@pytest.mark.django_db
def test_a_maintenance_date_counts_in_the_period_from_its_first_day_to_its_last_on_the_clinics_calendar(alice):
    """Maintenance every 30 days after a last session at 23:30 in Paris (the
    next day in UTC): dates on the period's first and last days count, the
    day before and the day after do not."""
    for day in (1, 2, 30, 31):
        plan = make_plan(practitioner=alice, maintenance_interval_days=30, status=PlanStatus.MAINTENANCE)
        anchor = make_session(plan, starts_at=local(2025, 3, day, 23, 30), status=SessionStatus.COMPLETED)
        _recall(plan, anchor, channel="email", status=ReminderStatus.PENDING, due_at=local(2025, 4, 1))
    # Due 31 March, 1 April, 29 April and 30 April; the period is 1 to 29 April.
    table = reports(Period(dt.date(2025, 4, 1), dt.date(2025, 4, 29))).maintenance()
    assert table.total[1] == 2


@pytest.mark.django_db
def test_maintenance_due_booked_within_30_days_of_the_reminder_and_overdue(alice):
    """Maintenance every 90 days. One plan booked 5 days after its reminder,
    one never booked (overdue), one booked 44 days after (booked, not soon)."""
    SENT, CALL = ReminderStatus.SENT, ReminderChannel.CALL

    def plan_after(day):
        plan = make_plan(practitioner=alice, maintenance_interval_days=90, status=PlanStatus.MAINTENANCE)
        return plan, make_session(plan, starts_at=local(*day), status=SessionStatus.COMPLETED)

    soon, a1 = plan_after((2025, 1, 10))  # due 10 April
    _recall(soon, a1, channel="email", status=SENT, due_at=local(2025, 3, 27), sent_at=local(2025, 3, 27))
    _recall(soon, a1, channel="sms", status=SENT, due_at=local(2025, 3, 27), sent_at=local(2025, 3, 28))
    _booked(soon, local(2025, 4, 15), created_at=local(2025, 4, 1))
    never, a2 = plan_after((2025, 1, 20))  # due 20 April
    _recall(never, a2, channel="sms", status=SENT, due_at=local(2025, 4, 6), sent_at=local(2025, 4, 6))
    _recall(never, a2, channel=CALL, status=ReminderStatus.PENDING, due_at=local(2025, 4, 27))
    late, a3 = plan_after((2025, 2, 1))  # due 2 May
    _recall(late, a3, channel="email", status=SENT, due_at=local(2025, 4, 18), sent_at=local(2025, 4, 18))
    _recall(late, a3, channel=CALL, status=SENT, due_at=local(2025, 5, 9), sent_at=local(2025, 6, 1), outcome="booked")
    _booked(late, local(2025, 6, 10), created_at=local(2025, 6, 1))
    other, a4 = plan_after((2025, 2, 10))  # due 11 May, an unanswered call
    _recall(other, a4, channel=CALL, status=ReminderStatus.PENDING, due_at=local(2025, 5, 18), outcome="no_answer")

    clinic = reports(Period(dt.date(2025, 4, 1), dt.date(2025, 5, 31)))
    assert rows(clinic.maintenance()) == [
        ["Apr 2025", 2, 2, 1, 1, 1, 50.0],
        ["May 2025", 2, 1, 0, 1, 1, 0.0],
        ["All", 4, 3, 1, 2, 2, 33.3],
    ]
    calls = {row[0]: row[1] for row in rows(clinic.recall_calls_table())}
    assert calls == {
        "Booked": 1,
        "Reached": 0,
        "Declined": 0,
        "No answer, to call again": 1,
        "No answer, given up": 0,
        "Not called yet": 1,
        "No longer needed": 0,
        "All": 3,
    }


@pytest.mark.django_db
def test_reminders_sent_failed_and_unsubscribed_by_channel_and_rule():
    upcoming = make_rule("upcoming_session", name="A: day before")
    maintenance = make_rule("maintenance_due", name="B: maintenance", by_sms=True)
    calls = make_rule("aftercare_check", name="C: aftercare call", by_call=True, by_email=False)
    june = local(2025, 6, 5)
    anna = make_client(consent_email=True, consent_sms=True)
    ben = make_client(consent_email=True, consent_sms=True)

    def reminder(client, rule, channel, status, **fields):
        if status == ReminderStatus.SENT:
            fields.setdefault("sent_at", june)
        fields.setdefault("due_at", june)
        return make_reminder(client, rule=rule, kind=rule.kind, channel=channel, status=status, **fields)

    for _ in range(3):
        reminder(anna, upcoming, "email", ReminderStatus.SENT)
    reminder(anna, upcoming, "email", ReminderStatus.FAILED)
    reminder(anna, upcoming, "email", ReminderStatus.PENDING)
    reminder(ben, maintenance, "sms", ReminderStatus.SENT, sent_at=local(2025, 6, 3))
    reminder(ben, maintenance, "sms", ReminderStatus.SENT, sent_at=local(2025, 6, 4))
    reminder(ben, maintenance, "sms", ReminderStatus.CANCELLED)
    reminder(ben, calls, "call", ReminderStatus.SENT, call_outcome="reached")
    reminder(ben, upcoming, "email", ReminderStatus.SENT, due_at=local(2025, 7, 1), sent_at=local(2025, 7, 1))
    # Anna stops email on 10 June (her last email: rule A), Ben SMS on 12 June (rule B).
    client_unsubscribe(client_id=anna.pk, channel="email")
    client_unsubscribe(client_id=ben.pk, channel="sms")
    anna.history.filter(history_change_reason__startswith="Unsubscribed").update(history_date=local(2025, 6, 10))
    ben.history.filter(history_change_reason__startswith="Unsubscribed").update(history_date=local(2025, 6, 12))

    clinic = reports(Period(dt.date(2025, 6, 1), dt.date(2025, 6, 30)))
    assert rows(clinic.reminders_by_channel_table()) == [
        ["Email to client", 3, 1, 25.0, 1, 0, 1],
        ["SMS to client", 2, 0, 0.0, 0, 1, 1],
        ["Call task for staff", 1, 0, 0.0, 0, 0, 0],
        ["All", 6, 1, 14.3, 1, 1, 2],
    ]
    assert rows(clinic.reminders_by_rule_table()) == [
        ["A: day before", 3, 1, 25.0, 1, 0, 1],
        ["B: maintenance", 2, 0, 0.0, 0, 1, 1],
        ["C: aftercare call", 1, 0, 0.0, 0, 0, 0],
        ["All", 6, 1, 14.3, 1, 1, 2],
    ]


@pytest.mark.django_db
def test_utilisation_is_booked_hours_over_open_hours_per_practitioner_and_room(alice, bruno):
    """Open Monday to Friday 9:00-17:00, closed on Friday 6 June 2025: 32
    hours that week. Alice books 8 hours in room 1 (25%), Bruno 4 in room 2
    (12.5%), a no-show included and a cancelled session not."""
    OpeningHours.objects.all().delete()
    for weekday in range(5):
        OpeningHours.objects.create(weekday=weekday, opens=dt.time(9), closes=dt.time(17))
    ClosedDay.objects.create(date=dt.date(2025, 6, 6), reason="Staff training")
    room1, room2 = Room.objects.get(name="Room 1"), Room.objects.get(name="Room 2")
    plan_a, plan_b = make_plan(practitioner=alice, sessions_planned=10), make_plan(practitioner=bruno)
    for day in range(2, 6):
        start = local(2025, 6, day, 9)
        make_session(plan_a, starts_at=start, ends_at=start + dt.timedelta(hours=2), room=room1)
    for hour, status in [(9, "completed"), (11, "completed"), (13, "no_show"), (14, "completed"), (15, "cancelled")]:
        start = local(2025, 6, 2, hour)
        make_session(plan_b, starts_at=start, ends_at=start + dt.timedelta(hours=1), room=room2, status=status)
    week = reports(Period(dt.date(2025, 6, 2), dt.date(2025, 6, 8)))
    practitioners = week.utilisation_by_practitioner()
    assert practitioners.columns == ["practitioner", "02/06 (%)", "booked hours", "whole period (%)"]
    assert rows(practitioners) == [
        ["Alice Archer", 25.0, 8.0, 25.0],
        ["Bruno Brun", 12.5, 4.0, 12.5],
        ["Open hours", 32.0, 32.0, None],
    ]
    assert rows(week.utilisation_by_room()) == [
        ["Room 1", 25.0, 8.0, 25.0],
        ["Room 2", 12.5, 4.0, 12.5],
        ["Open hours", 32.0, 32.0, None],
    ]


@pytest.mark.django_db
def test_utilisation_adds_up_a_practitioners_rooms_and_a_rooms_practitioners_before_rounding(alice, bruno):
    """One query counts each practitioner's time in each room: a practitioner
    who moves between rooms has all of it, a room shared has everyone's, and
    three 20-minute sessions make an hour, not three times 0.3 hours."""
    OpeningHours.objects.all().delete()
    for weekday in range(5):
        OpeningHours.objects.create(weekday=weekday, opens=dt.time(9), closes=dt.time(17))
    rooms = list(Room.objects.order_by("name"))[:3]
    plan_a, plan_b = make_plan(practitioner=alice, sessions_planned=10), make_plan(practitioner=bruno)
    for hour, room in zip((9, 10, 11), rooms, strict=True):
        start = local(2025, 6, 2, hour)
        make_session(plan_a, starts_at=start, ends_at=start + dt.timedelta(minutes=20), room=room)
    start = local(2025, 6, 3, 9)
    make_session(plan_b, starts_at=start, ends_at=start + dt.timedelta(hours=2), room=rooms[0])
    week = reports(Period(dt.date(2025, 6, 2), dt.date(2025, 6, 8)))
    assert rows(week.utilisation_by_practitioner()) == [
        ["Alice Archer", 2.5, 1.0, 2.5],
        ["Bruno Brun", 5.0, 2.0, 5.0],
        ["Open hours", 40.0, 40.0, None],
    ]
    assert [row[:3] for row in rows(week.utilisation_by_room())] == [
        [rooms[0].name, 5.7, 2.3],  # 2.3 of 40 hours, as the table rounds it
        [rooms[1].name, 0.8, 0.3],
        [rooms[2].name, 0.8, 0.3],
        ["Open hours", 40.0, 40.0],
    ]


@pytest.mark.django_db
def test_namesakes_keep_the_order_they_joined_in_whatever_order_the_database_returns_them():
    """A chain has two Marie Martins: each reading lists them the same way,
    the one who joined first first, whatever order the database's GROUP BY
    gave them in (PostgreSQL's hash aggregate gives any)."""
    first, later = (make_user(Role.PRACTITIONER, first_name="Marie", last_name="Martin") for _ in range(2))
    for who, day in [(later, 2), (first, 10)]:
        make_session(make_plan(practitioner=who), starts_at=local(2025, 6, day, 9), status="no_show")
    period = reports(Period(dt.date(2025, 6, 2), dt.date(2025, 6, 15)))
    assert [row["practitioner_id"] for row in period.sessions_by_practitioner] == [first.pk, later.pk]
    week = dt.date(2025, 6, 2)
    booked = {(later.pk, week): dt.timedelta(hours=1), (first.pk, week): dt.timedelta(hours=2)}
    names = {first.pk: "Marie Martin", later.pk: "Marie Martin"}
    table = period._utilisation("u", "U", "practitioner", booked, names)
    assert [row[-2] for row in table.rows] == [2.0, 1.0]


@pytest.mark.django_db
def test_activity_by_month_and_indication_and_the_side_effect_rate(alice):
    hair = Indication.objects.get(name="Hair loss")
    for day in (3, 20):
        client = make_client()
        type(client).objects.filter(pk=client.pk).update(created_at=local(2025, 3, day))
    plan = make_plan(practitioner=alice, sessions_planned=20)
    hair_plan = make_plan(practitioner=alice, indication=hair)
    for p, day in [(plan, (2025, 3, 1)), (hair_plan, (2025, 4, 2))]:
        type(p).objects.filter(pk=p.pk).update(created_at=local(*day))
    held = [
        make_session(plan, starts_at=local(2025, 3, 3) + dt.timedelta(days=i), status="completed") for i in range(10)
    ]
    make_session(hair_plan, starts_at=local(2025, 4, 3), status="completed")
    make_session(hair_plan, starts_at=local(2025, 4, 4), status="no_show")
    make_side_effect(held[0], onset=dt.date(2025, 3, 3))
    make_side_effect(held[1], onset=dt.date(2025, 3, 5), serious=True, severity="severe")

    clinic = reports(Period(dt.date(2025, 3, 1), dt.date(2025, 4, 30)))
    # The two plans' own clients were created today, outside the period.
    assert rows(clinic.activity_by_month()) == [["Mar 2025", 2, 1, 10], ["Apr 2025", 0, 1, 1], ["All", 2, 2, 11]]
    assert rows(clinic.activity_by_indication()) == [["Hair loss", 1, 1], ["Skin rejuvenation", 1, 10], ["All", 2, 11]]
    assert rows(clinic.side_effect_rate()) == [
        ["Mar 2025", 10, 2, 20.0, 1],
        ["Apr 2025", 1, 0, 0.0, 0],
        ["All", 11, 2, 18.2, 1],
    ]


# --- The page, its CSV and who sees what -----------------------------------------------------


def page_tables(html: str) -> dict[str, list[list[str]]]:
    """Each report table of the page as the text of its cells, by CSV name."""
    tables = {}
    for slug, body in re.findall(r'<table[^>]*id="table-([a-z-]+)"[^>]*>(.*?)</table>', html, re.S):
        found = []
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S):
            cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
            found.append([html_lib.unescape(re.sub(r"<[^>]+>", "", cell)).strip() for cell in cells])
        tables[slug] = found
    return tables


def csv_rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode())))


MARCH = {"start": "2025-03-01", "end": "2025-03-31"}


@pytest.mark.django_db
def test_each_csv_is_its_table_on_the_page(manager_client, march_attendance):
    page = manager_client.get(reverse("reports_section", args=["all"]), MARCH)
    assert page.status_code == 200
    tables = page_tables(page.content.decode())
    # Every table but the reminders by rule (no reminder in March): it says "Nothing in this period."
    every = {slug for section in SECTIONS for slug, _ in section.tables}
    assert set(tables) == every - {"reminders-by-rule"}
    for slug, shown in tables.items():
        response = manager_client.get(reverse("report_csv", args=[slug]), MARCH)
        assert response.status_code == 200, slug
        assert response["Content-Type"] == "text/csv; charset=utf-8"
        assert response["Content-Disposition"] == f'attachment; filename="{slug}-20250301-20250331.csv"'
        assert csv_rows(response) == shown, slug
    assert tables["no-shows-by-month"][1:] == [
        ["Mar 2025", "21", "4", "19.0", "2", "9.5"],
        ["All", "21", "4", "19.0", "2", "9.5"],
    ]


@pytest.mark.django_db
def test_a_practitioner_sees_only_their_own_figures(client, march_attendance, alice, bruno):
    client.force_login(alice)
    # A practitioner has no choice of whose figures: the parameter is ignored.
    page = client.get(reverse("reports"), {**MARCH, "practitioner": bruno.pk})
    html = page.content.decode()
    assert page.status_code == 200
    assert "your own figures" in html
    tables = page_tables(html)
    assert tables["no-shows-by-month"][1] == ["Mar 2025", "20", "3", "15.0", "2", "10.0"]
    assert "no-shows-by-practitioner" not in tables
    assert client.get(reverse("reports_section", args=["reminders"]), MARCH).status_code == 404
    every = page_tables(client.get(reverse("reports_section", args=["all"]), MARCH).content.decode())
    assert "reminders-by-channel" not in every and "series-adherence" in every
    assert client.get(reverse("report_csv", args=["reminders-by-channel"]), MARCH).status_code == 404
    assert csv_rows(client.get(reverse("report_csv", args=["no-shows-by-hour"]), MARCH))[1][:3] == ["10:00", "20", "3"]


@pytest.mark.django_db
def test_a_manager_may_look_at_one_practitioners_figures(manager_client, march_attendance, bruno):
    tables = page_tables(manager_client.get(reverse("reports"), {**MARCH, "practitioner": bruno.pk}).content.decode())
    assert tables["no-shows-by-month"][1] == ["Mar 2025", "1", "1", "100.0", "0", "0.0"]


@pytest.mark.django_db
def test_reception_may_not_read_the_reports(client):
    client.force_login(make_user(Role.RECEPTION))
    assert client.get(reverse("reports")).status_code == 403
    assert client.get(reverse("report_csv", args=["no-shows-by-month"])).status_code == 403
    assert "Reports" not in client.get(reverse("dashboard")).content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"start": "2025-03-31", "end": "2025-03-01"}, "end", "The end comes on or after the start."),
        ({"start": "2020-01-01", "end": "2025-03-01"}, "end", "at most 1098 days"),
        ({"start": "1999-12-31", "end": "2000-01-05"}, "start", "A period starts on 01/01/2000 at the earliest"),
        ({"start": "2026-01-01", "end": "9999-12-31"}, "end", "nothing is booked further ahead"),
        ({"start": "31-31-2025", "end": "2025-03-01"}, "start", "Enter a valid date."),
        ({"start": "2025-03-01\x00", "end": "<script>"}, "end", "Enter a valid date."),
    ],
)
def test_a_bad_period_is_refused_beside_its_field_and_in_the_summary(manager_client, params, field, message):
    response = manager_client.get(reverse("reports"), params)
    assert response.status_code == 200
    form = response.context["form"]
    assert any(message in error for error in form.errors[field])
    html = response.content.decode()
    assert 'id="form-errors"' in html and f'href="#id_{field}"' in html
    assert "report-charts" not in html and "<script>" not in html.split("</nav>", 1)[1]
    assert manager_client.get(reverse("report_csv", args=["no-shows-by-month"]), params).status_code == 404


@pytest.mark.django_db
def test_the_default_period_is_the_last_three_months(manager_client):
    response = manager_client.get(reverse("reports"))
    today = timezone.localdate()
    assert response.context["scope"].period.end == today
    assert response.context["scope"].period.start.day == 1
    assert len(response.context["scope"].period.months()) == 3


@pytest.mark.django_db
def test_the_side_effect_rate_says_its_measure_and_links_to_the_signal_over_the_same_period(manager_client):
    url = reverse("reports_section", args=["side-effects"])
    response = manager_client.get(url, MARCH)
    html = response.content.decode()
    link = re.search(r'<a href="([^"]+)" id="signal-link">', html).group(1)
    assert link == reverse("side_effect_signal") + "?start=2025-03-01&amp;end=2025-03-31"
    assert "each one counted" in html and "share of completed sessions followed by at least one" in html
    signal = manager_client.get(html_lib.unescape(link)).content.decode()
    assert "from 01/03/2025 to 31/03/2025" in signal
    assert 'the reports\' "side effects per 100 sessions held" counts every side effect' in signal


# What every reports page asks: session, user, the roles and permissions in
# one query (roles.load_access), the practitioner choices of the filter. On
# PostgreSQL the reports' queries run without JIT compilation
# (queries.reports_planned), with more memory to sort in: one statement, inside the test's own
# transaction a savepoint and its release.
AROUND = 4 + (3 if connection.vendor == "postgresql" else 0)
# Each section's queries: one per chart, and the small ones utilisation needs.
SECTION_QUERIES = {
    "no-shows": 3,  # attendance by hour (for months, weekdays, hours), by practitioner, their names
    "series": 2,  # series sessions by day and delay (for months, the whole period, medians), plans by month
    "maintenance": 2,  # maintenance dates, recall calls
    "reminders": 3,  # by channel and rule, unsubscribes, the rules' names
    "utilisation": 5,  # booked hours by practitioner and room, their names, opening hours, closed days, rooms' names
    "activity": 5,  # attendance by hour (sessions held), new clients, plans by month, by indication (2)
    "side-effects": 2,  # side effects by month, attendance by hour (sessions held)
}


@pytest.mark.django_db
@pytest.mark.parametrize("section", [*SECTION_QUERIES, "all"])
def test_each_section_makes_the_same_queries_however_many_sessions(
    manager_client, alice, section, django_assert_num_queries
):
    # "all" shares the queries two sections both read (attendance by hour, plans by
    # month); no-shows and utilisation each read their practitioners' names.
    expected = AROUND + (sum(SECTION_QUERIES.values()) - 3 if section == "all" else SECTION_QUERIES[section])
    url = reverse("reports_section", args=[section])
    plan = make_plan(practitioner=alice, sessions_planned=30)
    make_session(plan, starts_at=local(2025, 3, 3), status="completed")
    with django_assert_num_queries(expected):
        manager_client.get(url, MARCH)
    for day in range(4, 30):
        make_session(plan, starts_at=local(2025, 3, day), status="completed" if day % 3 else "no_show")
    make_side_effect(plan.sessions.first(), onset=dt.date(2025, 3, 4))
    with django_assert_num_queries(expected):
        response = manager_client.get(url, MARCH)
    assert response.status_code == 200 and response.context["sections"]


@pytest.mark.django_db
def test_the_reports_open_on_the_no_shows_with_a_tab_for_each_section(manager_client, march_attendance):
    page = manager_client.get(reverse("reports"), MARCH)
    assert [s.slug for s, _ in page.context["sections"]] == ["no-shows"]
    html = page.content.decode()
    for section in [*SECTION_QUERIES, "all"]:
        assert f'href="{reverse("reports_section", args=[section])}?start=2025-03-01&amp;end=2025-03-31"' in html
    assert page_tables(html)["no-shows-by-month"][1][1] == "21"
    assert manager_client.get("/reports/nothing/").status_code == 404


@pytest.mark.django_db
def test_a_name_in_a_report_table_is_shown_as_typed_never_as_markup(manager_client, alice):
    """The tables' rows are written in Python (tables.Table.body_html): each
    cell escaped as the templates escape it."""
    odd = make_user(Role.PRACTITIONER, first_name='<b onclick="x()">Zoé', last_name="O'Neil & co")
    make_session(make_plan(practitioner=odd), starts_at=local(2025, 3, 10, 15), status=SessionStatus.NO_SHOW)
    make_session(make_plan(practitioner=alice), starts_at=local(2025, 3, 11), status=SessionStatus.COMPLETED)
    html = manager_client.get(reverse("reports"), MARCH).content.decode()
    assert "&lt;b onclick=&quot;x()&quot;&gt;Zoé O&#x27;Neil &amp; co</th>" in html
    assert '<b onclick="x()">' not in html
    by_practitioner = page_tables(html)["no-shows-by-practitioner"]
    assert by_practitioner[1:] == [
        ["Alice Archer", "1", "0", "0.0", "0", "0.0"],
        ['<b onclick="x()">Zoé O\'Neil & co', "1", "1", "100.0", "0", "0.0"],
        ["All", "2", "1", "50.0", "0", "0.0"],
    ]


@pytest.mark.django_db
def test_a_practitioner_group_without_report_permissions_is_refused(client, alice):
    group = Group.objects.get(name=Role.PRACTITIONER)
    group.permissions.remove(*group.permissions.filter(codename="view_own_reports"))
    client.force_login(alice)
    assert client.get(reverse("reports")).status_code == 403
