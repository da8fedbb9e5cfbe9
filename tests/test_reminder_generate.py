"""Generation from the rules: each kind at its due time, the client's consent
and preference, idempotence, catch-up, and reminders that follow their
session when reception moves or cancels it."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from sessions_app.models import (
    Channel,
    PlanStatus,
    Reminder,
    ReminderChannel,
    ReminderKind,
    ReminderRule,
    ReminderStatus,
    SessionStatus,
    SideEffectKind,
)
from sessions_app.models.reminders import RULE_KINDS
from sessions_app.reminders import generate, rules
from sessions_app.reminders.generate import reminders_cancel_obsolete, reminders_generate, write_new
from sessions_app.reminders.rules import due_at, reminder_key, screening_expires_on
from sessions_app.services.moves import move_preview, session_move
from sessions_app.services.side_effects import side_effect_record

from .factories import (
    change_status,
    complete,
    make_client,
    make_plan,
    make_rule,
    make_screening,
    make_session,
    make_side_effect,
)

pytestmark = pytest.mark.django_db
TZ = ZoneInfo(settings.TIME_ZONE)


def now() -> dt.datetime:
    return timezone.now().replace(microsecond=0)


def reminders(**filters):
    return list(Reminder.objects.filter(**filters).order_by("key").values_list("kind", "channel", "due_at", "status"))


def test_upcoming_session_reminder_is_due_its_offset_before_by_the_clients_channel():
    rule = make_rule("upcoming_session", amount=24, unit="hours", by_sms=True)
    client = make_client(preferred_channel=Channel.SMS, consent_email=True, consent_sms=True)
    session = make_session(make_plan(client), starts_at=now() + dt.timedelta(days=3))
    assert reminders_generate(now=now()) == 1
    reminder = Reminder.objects.get()
    assert (reminder.kind, reminder.channel, reminder.rule, reminder.session) == (
        "upcoming_session",
        "sms",
        rule,
        session,
    )
    assert reminder.due_at == session.starts_at - dt.timedelta(hours=24)
    assert reminder.status == ReminderStatus.PENDING


def test_aftercare_makes_the_clients_message_and_a_call_task():
    make_rule("aftercare_check", amount=2, unit="days", by_call=True)
    started = now() - dt.timedelta(days=1)
    session = complete(make_session(make_plan(make_client(consent_email=True)), starts_at=started))
    reminders_generate(now=now())
    due = due_at(session.completed_at, ReminderRule.objects.get(active=True).offset, TZ)
    assert reminders() == [
        ("aftercare_check", "call", due, "pending"),
        ("aftercare_check", "email", due, "pending"),
    ]
    assert timezone.localtime(due).time() == dt.time(10, 0)
    assert timezone.localtime(due).date() == timezone.localtime(session.completed_at).date() + dt.timedelta(days=2)


def test_next_series_session_not_booked():
    make_rule("next_session_unbooked", amount=2)
    plan = make_plan(sessions_planned=6, interval_days=14)
    complete(make_session(plan, starts_at=now() - dt.timedelta(days=20)))
    last = complete(make_session(plan, starts_at=now() - dt.timedelta(days=3)))
    reminders_generate(now=now())
    [reminder] = Reminder.objects.all()
    assert (reminder.kind, reminder.plan, reminder.session) == ("next_session_unbooked", plan, last)
    assert reminder.due_at == due_at(last.starts_at, ReminderRule.objects.get(active=True).offset, TZ)
    # Booking the next session makes it unnecessary.
    make_session(plan, starts_at=now() + dt.timedelta(days=5))
    assert reminders_cancel_obsolete(now=now()) == 1
    reminder.refresh_from_db()
    assert reminder.status == ReminderStatus.CANCELLED
    assert reminder.last_error == "Not sent: the next session is booked, or the plan is no longer active."


def test_maintenance_due_counts_from_the_plans_maintenance_date():
    make_rule("maintenance_due", amount=14, direction="before")
    plan = make_plan(maintenance_interval_days=90, status=PlanStatus.MAINTENANCE)
    last = complete(make_session(plan, starts_at=now() - dt.timedelta(days=80)))
    reminders_generate(now=now())
    [reminder] = Reminder.objects.all()
    maintenance_on = plan.maintenance_due_on(last.starts_at)
    assert maintenance_on == timezone.localtime(last.starts_at).date() + dt.timedelta(days=90)
    assert timezone.localtime(reminder.due_at) == dt.datetime.combine(
        maintenance_on - dt.timedelta(days=14), dt.time(10), tzinfo=TZ
    )


def test_screening_renewal_before_the_screening_runs_out():
    make_rule("screening_renewal", amount=30, direction="before")
    plan = make_plan()
    screening = make_screening(plan.client, days_ago=340)
    reminders_generate(now=now())
    [reminder] = Reminder.objects.all()
    expires = screening_expires_on(timezone.localtime(screening.screened_at).date(), 12)
    assert reminder.screening == screening
    assert timezone.localtime(reminder.due_at) == dt.datetime.combine(
        expires - dt.timedelta(days=30), dt.time(10), tzinfo=TZ
    )
    # A new screening makes it unnecessary.
    make_screening(plan.client, days_ago=0)
    reminders_cancel_obsolete(now=now())
    assert Reminder.objects.get().status == ReminderStatus.CANCELLED


def test_running_twice_creates_nothing_new_with_the_default_rules():
    ReminderRule.objects.update(active=True)
    soon = make_session(starts_at=now() + dt.timedelta(days=2))
    done = complete(make_session(make_plan(make_client(consent_email=True)), starts_at=now() - dt.timedelta(days=1)))
    # A bruise recorded against it, usually gone within days: a call when it is not.
    side_effect_record(
        client=done.plan.client,
        session=done,
        kind=SideEffectKind.objects.get(name="Bruising"),
        severity="mild",
        serious=False,
        onset=timezone.localdate(),
        resolved_on=None,
        action_taken="",
        notes="",
        recorded_by=done.practitioner,
    )
    maintenance = make_plan(status=PlanStatus.MAINTENANCE, maintenance_interval_days=60)
    complete(make_session(maintenance, starts_at=now() - dt.timedelta(days=50)))
    make_screening(soon.plan.client, days_ago=340)
    first = reminders_generate(now=now())
    rows = set(Reminder.objects.values_list("key", "channel", "due_at"))
    assert first == len(rows) >= 6
    # Every kind a rule may have (a severe check-in's call is made by the check-in itself).
    assert {kind for (kind,) in Reminder.objects.values_list("kind")} == set(RULE_KINDS)
    assert reminders_generate(now=now()) == 0
    assert set(Reminder.objects.values_list("key", "channel", "due_at")) == rows


def test_generation_is_a_fixed_number_of_queries_whatever_the_sessions():
    make_rule("upcoming_session", amount=24, unit="hours")
    for i in range(3):
        make_session(starts_at=now() + dt.timedelta(days=2, hours=i))
    with CaptureQueriesContext(connection) as few:
        reminders_generate(now=now())
    Reminder.objects.all().delete()
    for i in range(30):
        make_session(starts_at=now() + dt.timedelta(days=4, hours=i))
    with CaptureQueriesContext(connection) as many:
        assert reminders_generate(now=now()) == 33
    # rules, the candidate sessions, one INSERT (a batch holds BATCH rows); on
    # PostgreSQL the planner's setting for reading every row, set and put back.
    assert len(few) == len(many) <= (6 if connection.vendor == "postgresql" else 4)


def test_a_round_larger_than_a_batch_writes_every_reminder_whole(monkeypatch):
    monkeypatch.setattr(generate, "BATCH", 2)
    rule = make_rule("upcoming_session", amount=24, unit="hours")
    sessions = [make_session(starts_at=now() + dt.timedelta(days=3, hours=i)) for i in range(5)]
    with CaptureQueriesContext(connection) as queries:
        assert reminders_generate(now=now()) == 5
    assert len([q for q in queries if q["sql"].startswith("INSERT")]) == 3
    written = Reminder.objects.order_by("session__starts_at")
    assert [(r.session, r.plan, r.client) for r in written] == [(s, s.plan, s.plan.client) for s in sessions]
    for reminder, session in zip(written, sessions, strict=True):
        assert reminder.rule == rule and reminder.kind == ReminderKind.UPCOMING_SESSION
        assert reminder.due_at == session.starts_at - dt.timedelta(hours=24)
        assert reminder.key == f"upcoming_session:message:rule={rule.pk}:session={session.pk}"
        assert (reminder.status, reminder.attempts, reminder.last_error, reminder.call_outcome) == (
            "pending",
            0,
            "",
            "",
        )
        assert reminder.sent_at is None and reminder.handled_by is None
        assert now() - dt.timedelta(minutes=1) < reminder.created_at <= timezone.now()


def test_a_reminder_another_worker_wrote_first_is_skipped_not_doubled_nor_changed():
    rule = make_rule("upcoming_session", amount=24, unit="hours")
    moment = now()
    first, second = (make_session(starts_at=moment + dt.timedelta(days=3, hours=i)) for i in range(2))

    def row(session, due):
        key = reminder_key(rule.kind, "message", rule.pk, "session", session.pk)
        return (session.plan.client_id, session.plan_id, session.pk, None, None, ReminderChannel.EMAIL, key, due)

    write_new(rule, [row(first, moment)])
    # The same key again (a worker that read before the first wrote), beside a new one.
    write_new(rule, [row(first, moment + dt.timedelta(hours=5)), row(second, moment)])
    assert reminders() == [
        (ReminderKind.UPCOMING_SESSION, ReminderChannel.EMAIL, moment, ReminderStatus.PENDING),
        (ReminderKind.UPCOMING_SESSION, ReminderChannel.EMAIL, moment, ReminderStatus.PENDING),
    ]
    assert Reminder.objects.get(session=first).due_at == moment


@pytest.mark.parametrize(
    ("preferred", "consent_email", "consent_sms", "channel"),
    [
        (Channel.EMAIL, True, True, "email"),
        (Channel.EMAIL, False, True, "sms"),
        (Channel.SMS, True, False, "email"),
        (Channel.EMAIL, False, False, "call"),
        (Channel.PHONE, True, True, "call"),
    ],
)
def test_consent_and_preference_choose_the_channel(preferred, consent_email, consent_sms, channel):
    make_rule("upcoming_session", amount=24, unit="hours", by_sms=True)
    client = make_client(preferred_channel=preferred, consent_email=consent_email, consent_sms=consent_sms)
    make_session(make_plan(client), starts_at=now() + dt.timedelta(days=3))
    reminders_generate(now=now())
    assert list(Reminder.objects.values_list("channel", flat=True)) == [channel]


def test_what_fell_due_beyond_the_catch_up_window_is_not_created():
    make_rule("aftercare_check", amount=2)
    days = settings.CLINIC_REMINDER_CATCH_UP_DAYS
    complete(make_session(starts_at=now() - dt.timedelta(days=days + 3)))  # due days + 1 ago
    recent = complete(make_session(starts_at=now() - dt.timedelta(days=days)))  # due days - 2 ago
    reminders_generate(now=now())
    assert list(Reminder.objects.values_list("session", flat=True)) == [recent.pk]


def test_archived_clients_get_no_reminders():
    make_rule("upcoming_session", amount=24, unit="hours")
    session = make_session(starts_at=now() + dt.timedelta(days=3))
    client = session.plan.client
    client.archived_at = now()
    client.save()
    assert reminders_generate(now=now()) == 0


# --- Reminders follow their session ----------------------------------------------------


def test_moving_a_session_moves_its_pending_reminder():
    rule = make_rule("upcoming_session", amount=24, unit="hours")
    session = make_session(starts_at=now() + dt.timedelta(days=3))
    reminders_generate(now=now())
    new_start = session.starts_at + dt.timedelta(days=2, hours=1)
    moves, _ = move_preview(session=session, new_start=new_start, shift_later=False)
    session_move(moves=moves)
    session.refresh_from_db()
    reminder = Reminder.objects.get()
    assert reminder.due_at == due_at(session.starts_at, rule.offset, TZ) == session.starts_at - dt.timedelta(hours=24)
    assert reminders_generate(now=now()) == 0


def test_a_reminder_sent_before_the_session_moved_is_sent_again_for_the_new_time():
    make_rule("upcoming_session", amount=24, unit="hours")
    session = make_session(starts_at=now() + dt.timedelta(hours=20))
    reminders_generate(now=now())
    Reminder.objects.update(status=ReminderStatus.SENT, sent_at=now(), claimed_at=now())
    moves, _ = move_preview(session=session, new_start=session.starts_at + dt.timedelta(days=7), shift_later=False)
    session_move(moves=moves)
    assert reminders_generate(now=now()) == 1
    sent, new = Reminder.objects.order_by("pk")
    assert sent.status == ReminderStatus.SENT and "#" in sent.key
    assert new.status == ReminderStatus.PENDING
    assert new.due_at == moves[0].start - dt.timedelta(hours=24)


@pytest.mark.parametrize(("action", "label"), [("cancel", "cancelled"), ("no_show", "no-show")])
def test_cancelling_a_session_cancels_its_pending_reminders(action, label):
    make_rule("upcoming_session", amount=24, unit="hours", by_call=True)
    session = make_session(starts_at=now() + dt.timedelta(days=3))
    other = make_session(starts_at=now() + dt.timedelta(days=4))
    reminders_generate(now=now())
    change_status(session, action)
    assert set(Reminder.objects.filter(session=session).values_list("status", "last_error")) == {
        ("cancelled", f"Not sent: the session is {label}.")
    }
    assert set(Reminder.objects.filter(session=other).values_list("status", flat=True)) == {"pending"}
    assert reminders_generate(now=now()) == 0


def test_a_session_booked_after_its_maintenance_recall_cancels_the_recall():
    make_rule("maintenance_due", amount=7, direction="after", by_email=False, by_call=True, subject="")
    plan = make_plan(status=PlanStatus.MAINTENANCE, maintenance_interval_days=60)
    complete(make_session(plan, starts_at=now() - dt.timedelta(days=64)))
    reminders_generate(now=now())
    assert list(Reminder.objects.values_list("channel", "status")) == [(ReminderChannel.CALL, "pending")]
    make_session(plan, starts_at=now() + dt.timedelta(days=3), is_maintenance=True, status=SessionStatus.BOOKED)
    reminders_cancel_obsolete(now=now())
    assert list(Reminder.objects.values_list("status", flat=True)) == ["cancelled"]


# --- A round reads only what it makes ----------------------------------------------
#
# Each rule asks the database only for the things whose reminder falls due
# inside the catch-up window, to the day: the first round makes a reminder of
# every one it reads, and the next round reads none (the steady round at a
# chain's size used to read, and throw away, hundreds of older ones each time).


def on(day: dt.date, hour: int = 11) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=TZ)


def read_by(rule: ReminderRule, at: dt.datetime) -> list:
    since = at - dt.timedelta(days=settings.CLINIC_REMINDER_CATCH_UP_DAYS)
    return list(generate.CANDIDATES[rule.kind](rule, at, since))


def edge(rule: ReminderRule, at: dt.datetime, *, expected: set, subject: str) -> None:
    """`at`'s round reads exactly `expected` (ids of `subject`), makes a
    reminder of each (the one on the edge due when the window opens), and the
    next round reads nothing."""
    since = at - dt.timedelta(days=settings.CLINIC_REMINDER_CATCH_UP_DAYS)
    read = read_by(rule, at)
    assert {getattr(t, f"{subject}_id") for t in read} == expected
    reminders_generate(now=at)
    made = Reminder.objects.filter(rule=rule)
    assert set(made.values_list(f"{subject}_id", flat=True)) == expected
    assert min(made.values_list("due_at", flat=True)) == since
    assert read_by(rule, at) == []


def test_maintenance_reads_the_plans_whose_recall_falls_due_in_the_window_whatever_their_interval():
    rule = make_rule("maintenance_due", amount=14, direction="before")
    at = on(timezone.localdate(), 10)
    # The first maintenance date whose recall (14 days before, at 10:00) is due since the window opened.
    first = timezone.localdate() - dt.timedelta(days=settings.CLINIC_REMINDER_CATCH_UP_DAYS - 14)
    inside = set()
    for interval in (30, 90, 180):
        for late in (0, 1):  # last seen on the edge, or the day before it
            plan = make_plan(maintenance_interval_days=interval, status=PlanStatus.MAINTENANCE)
            last = complete(make_session(plan, starts_at=on(first - dt.timedelta(days=interval + late), 23)))
            if not late:
                inside.add(last.pk)
    edge(rule, at, expected=inside, subject="session")


def test_screening_renewal_reads_the_screenings_that_run_out_in_the_window():
    rule = make_rule("screening_renewal", amount=30, direction="before")
    at = on(timezone.localdate(), 10)
    expires = timezone.localdate() - dt.timedelta(days=settings.CLINIC_REMINDER_CATCH_UP_DAYS - 30)
    first = rules.first_screened_on(expires, settings.CLINIC_SCREENING_MAX_AGE_MONTHS)
    inside = make_screening(make_plan().client, screened_at=on(first, 0))
    make_screening(make_plan().client, screened_at=on(first - dt.timedelta(days=1), 23))
    edge(rule, at, expected={inside.pk}, subject="screening")


def test_next_session_unbooked_reads_the_plans_last_seen_in_the_window():
    rule = make_rule("next_session_unbooked", amount=2)
    at = on(timezone.localdate(), 10)
    first = timezone.localdate() - dt.timedelta(days=settings.CLINIC_REMINDER_CATCH_UP_DAYS + 2)
    inside = complete(make_session(make_plan(), starts_at=on(first, 8)))
    complete(make_session(make_plan(), starts_at=on(first - dt.timedelta(days=1), 22)))
    edge(rule, at, expected={inside.pk}, subject="session")


@pytest.mark.parametrize("kind", ["aftercare_check", "check_in"])
def test_sessions_completed_before_the_window_are_not_read(kind):
    rule = make_rule(kind, amount=2, by_sms=True)
    at = on(timezone.localdate(), 10)
    first = timezone.localdate() - dt.timedelta(days=settings.CLINIC_REMINDER_CATCH_UP_DAYS + 2)
    plan = make_plan(make_client(consent_email=True))
    inside = complete(make_session(plan, starts_at=on(first, 8)), at=on(first, 9))
    complete(make_session(plan, starts_at=on(first - dt.timedelta(days=1), 8)), at=on(first - dt.timedelta(days=1), 23))
    edge(rule, at, expected={inside.pk}, subject="session")


def test_an_upcoming_session_is_read_until_it_begins():
    rule = make_rule("upcoming_session", amount=24, unit="hours")
    at = now()
    inside = make_session(starts_at=at + dt.timedelta(hours=1))
    make_session(starts_at=at - dt.timedelta(hours=1))  # begun: nothing to remind of
    assert {t.session_id for t in read_by(rule, at)} == {inside.pk}
    reminders_generate(now=at)
    assert read_by(rule, at) == []


def test_side_effects_expected_gone_before_the_window_are_not_read():
    rule = make_rule("side_effect_unresolved", amount=0, direction="after", send_time=dt.time(9), by_call=True)
    at = on(timezone.localdate(), 10)
    first = timezone.localdate() - dt.timedelta(days=settings.CLINIC_REMINDER_CATCH_UP_DAYS - 1)
    session = complete(make_session(starts_at=on(first - dt.timedelta(days=20))))
    inside = make_side_effect(session, onset=first - dt.timedelta(days=10), expected_resolution_on=first)
    make_side_effect(session, onset=first - dt.timedelta(days=10), expected_resolution_on=first - dt.timedelta(days=1))
    since = at - dt.timedelta(days=settings.CLINIC_REMINDER_CATCH_UP_DAYS)
    assert {t.side_effect_id for t in read_by(rule, at)} == {inside.pk}
    reminders_generate(now=at)
    made = Reminder.objects.filter(rule=rule)
    assert list(made.values_list("side_effect_id", flat=True)) == [inside.pk]
    assert made.get().due_at == on(first, 9) > since
    assert read_by(rule, at) == []


@pytest.mark.parametrize(
    ("consent_email", "consent_sms", "read"), [(True, False, True), (False, True, True), (False, False, False)]
)
def test_a_check_in_reads_only_the_sessions_of_clients_who_agreed_to_a_channel(consent_email, consent_sms, read):
    """A check-in is the client's own answer (no call replaces it): a client
    who agreed to neither channel gets none, and no round reads their sessions."""
    rule = make_rule("check_in", amount=1, by_sms=True)
    client = make_client(consent_email=consent_email, consent_sms=consent_sms, preferred_channel="phone")
    session = complete(make_session(make_plan(client), starts_at=now() - dt.timedelta(days=1)))
    at = now()
    assert [t.session_id for t in read_by(rule, at)] == ([session.pk] if read else [])
    reminders_generate(now=at)
    assert Reminder.objects.filter(session=session).exists() == read
    assert read_by(rule, at) == []
