"""seed_demo: the demo accounts work, the data is believable and consistent, and
re-running or resetting neither duplicates nor loses anything real."""

import datetime as dt
import io
import re
from collections import defaultdict
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.test import Client as DjangoClient
from django.urls import reverse
from django.utils import timezone

from devtools import demo
from sessions_app.models import (
    NEEDLE_MAX_MM,
    AccessAction,
    AccessLog,
    Client,
    Consent,
    Contraindication,
    Injection,
    OpeningHours,
    PlanStatus,
    ProductLot,
    Reminder,
    ReminderChannel,
    ReminderKind,
    ReminderRule,
    ReminderStatus,
    Role,
    Screening,
    ScreeningAnswer,
    SessionStatus,
    SideEffect,
    TreatmentPlan,
    TreatmentSession,
    User,
    contraindication_severity,
)
from sessions_app.reminders.generate import reminders_generate
from sessions_app.reminders.rules import due_at, reminder_key

from .factories import make_client, make_user

CLIENTS = 30
# A fixed "now" (a Wednesday morning in the clinic), so every run plans the same clinic.
NOW = dt.datetime(2026, 11, 18, 10, 20, tzinfo=ZoneInfo("Europe/Paris"))
COUNTED = (
    Client,
    Screening,
    ScreeningAnswer,
    TreatmentPlan,
    Consent,
    TreatmentSession,
    Injection,
    SideEffect,
    Reminder,
)


def counts() -> dict[str, int]:
    counted = {model.__name__: model.objects.count() for model in COUNTED}
    counted["lots"] = ProductLot.objects.filter(lot_number__startswith=demo.DEMO_LOT_PREFIX).count()
    counted["injection lots"] = Injection.lots.through.objects.count()
    return counted


@pytest.fixture
def seeded(db):
    result = demo.demo_seed(clients=CLIENTS, now=NOW)
    assert result.created
    return result


@pytest.fixture
def fixed_now():
    with mock.patch.object(timezone, "now", return_value=NOW):
        yield


def local(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(ZoneInfo(settings.TIME_ZONE))


def test_the_staff_accounts_sign_in_with_the_documented_password(seeded, client):
    roles = {
        demo.DEMO_MANAGER: Role.MANAGER,
        demo.DEMO_RECEPTION: Role.RECEPTION,
        **dict.fromkeys(demo.DEMO_PRACTITIONERS, Role.PRACTITIONER),
    }
    for username, role in roles.items():
        signed_in = client.post(reverse("login"), {"username": username, "password": demo.DEMO_PASSWORD})
        assert signed_in.status_code == 302, username
        client.post(reverse("logout"))
        user = User.objects.get(username=username)
        assert [g.name for g in user.groups.all()] == [role]
        assert user.is_staff == (role == Role.MANAGER)
        assert user.first_name and user.last_name
    titles = set(User.objects.filter(username__in=demo.DEMO_PRACTITIONERS).values_list("job_title", "profession"))
    # One physician (who may clear a condition that calls for caution) and one nurse injector.
    assert titles == {("Physician", "physician"), ("Nurse injector", "nurse")}


def test_a_demo_account_signed_in_on_two_tablets_stays_signed_in_on_both(seeded):
    """Signing in must not rewrite the stored password hash: a rehash (Django
    finds a demo salt too short) would sign out every other session of the account."""
    stored = User.objects.get(username=demo.DEMO_RECEPTION).password
    first, second = DjangoClient(), DjangoClient()
    for tablet in (first, second):
        signed_in = tablet.post(reverse("login"), {"username": demo.DEMO_RECEPTION, "password": demo.DEMO_PASSWORD})
        assert signed_in.status_code == 302
    assert User.objects.get(username=demo.DEMO_RECEPTION).password == stored
    assert first.get(reverse("dashboard")).status_code == 200
    assert second.get(reverse("dashboard")).status_code == 200


def test_the_demo_clinic_has_sensible_proportions(seeded):
    sessions = TreatmentSession.objects.all()
    completed = sessions.filter(status=SessionStatus.COMPLETED)
    assert Client.objects.count() == CLIENTS
    assert CLIENTS * 0.7 <= Screening.objects.count() <= CLIENTS
    assert ScreeningAnswer.objects.count() == 12 * Screening.objects.count()
    assert CLIENTS * 0.6 <= TreatmentPlan.objects.count() <= CLIENTS * 2
    assert Consent.objects.count() == TreatmentPlan.objects.count()
    assert sessions.count() >= 4 * TreatmentPlan.objects.count() * 0.8
    assert completed.count() > sessions.count() / 2
    assert sessions.filter(starts_at__gt=NOW, status__in=[SessionStatus.BOOKED, SessionStatus.CONFIRMED]).exists()
    assert sessions.filter(status=SessionStatus.CANCELLED).exists()
    assert sessions.filter(is_maintenance=True).exists()
    assert Injection.objects.count() >= completed.count()
    assert 0.05 * completed.count() <= SideEffect.objects.count() <= 0.3 * completed.count()
    assert SideEffect.objects.open().exists()
    assert Reminder.objects.filter(status=ReminderStatus.PENDING).exists()
    assert Reminder.objects.filter(status=ReminderStatus.SENT).exists()
    assert set(TreatmentPlan.objects.values_list("status", flat=True)) >= {PlanStatus.ACTIVE, PlanStatus.MAINTENANCE}
    assert Client.objects.filter(archived_at__isnull=False).exists()
    assert Client.objects.exclude(email="").exists() and Client.objects.filter(email="").exists()


def test_no_practitioner_or_room_is_double_booked(seeded):
    by_practitioner, by_room = defaultdict(list), defaultdict(list)
    for session in TreatmentSession.objects.not_cancelled():
        by_practitioner[session.practitioner_id].append((session.starts_at, session.ends_at))
        by_room[session.room_id].append((session.starts_at, session.ends_at))
    for bookings in [*by_practitioner.values(), *by_room.values()]:
        bookings.sort()
        for (_, previous_end), (start, _) in zip(bookings, bookings[1:], strict=False):
            assert start >= previous_end


def test_every_session_is_inside_opening_hours_and_30_to_60_minutes(seeded):
    hours = defaultdict(list)
    for period in OpeningHours.objects.all():
        hours[period.weekday].append((period.opens, period.closes))
    for session in TreatmentSession.objects.all():
        start, end = local(session.starts_at), local(session.ends_at)
        assert start.date() == end.date()
        assert any(opens <= start.time() and end.time() <= closes for opens, closes in hours[start.weekday()])
        assert dt.timedelta(minutes=30) <= end - start <= dt.timedelta(minutes=60)


def test_no_lot_is_used_before_it_arrived_or_after_it_expired(seeded):
    injections = Injection.objects.select_related("session", "session__plan__mixture").prefetch_related("lots")
    for injection in injections:
        day = local(injection.session.starts_at).date()
        mixture_products = set(injection.session.plan.mixture.components.values_list("product_id", flat=True))
        assert {lot.product_id for lot in injection.lots.all()} == mixture_products
        for lot in injection.lots.all():
            assert not lot.is_expired_on(day)
            assert lot.received_on <= day


def test_the_records_are_clinically_consistent(seeded):
    for session in TreatmentSession.objects.filter(status=SessionStatus.COMPLETED).prefetch_related("injections"):
        assert session.completed_at and session.pain_score is not None and session.ends_at <= NOW
        plan_areas = set(session.plan.areas.values_list("pk", flat=True))
        assert {i.area_id for i in session.injections.all()} == plan_areas
        for injection in session.injections.all():
            assert 4 <= injection.needle_length_mm <= NEEDLE_MAX_MM
    assert not TreatmentSession.objects.filter(starts_at__gt=NOW, status=SessionStatus.COMPLETED).exists()
    for plan in TreatmentPlan.objects.select_related("indication").prefetch_related("areas"):
        wanted = demo.INDICATION_AREAS[plan.indication.name]
        assert {area.name for area in plan.areas.all()} <= set(wanted)
        assert plan.mixture.indication_id == plan.indication_id
        first = plan.sessions.order_by("starts_at").first()
        assert plan.consents.get().signed_at <= first.starts_at
    for answer in ScreeningAnswer.objects.all():
        assert answer.severity == contraindication_severity(answer.question)
        assert not answer.answer or answer.details
    assert set(ScreeningAnswer.objects.values_list("question", flat=True)) == set(Contraindication.values)
    for client in Client.objects.all():
        assert client.notes.startswith(demo.DEMO_CLIENT_NOTE)
        assert not client.consent_email or client.email
        assert not client.consent_sms or client.phone


def test_reminders_follow_the_clients_consent_and_have_unique_keys(seeded):
    rule = ReminderRule.objects.get(kind=ReminderKind.UPCOMING_SESSION)
    reminders = Reminder.objects.select_related("client", "session")
    for reminder in reminders.filter(kind=ReminderKind.UPCOMING_SESSION):
        # The generator's key: running send_reminders after seed_demo adds no second reminder.
        slot = "call" if reminder.channel == ReminderChannel.CALL and rule.by_call else "message"
        assert reminder.key == reminder_key(
            ReminderKind.UPCOMING_SESSION, slot, rule.pk, "session", reminder.session_id
        )
        assert reminder.rule == rule
        assert reminder.due_at == due_at(reminder.session.starts_at, rule.offset, ZoneInfo(settings.TIME_ZONE))
        if reminder.status == ReminderStatus.PENDING:
            assert reminder.due_at > NOW
    for reminder in reminders:
        if reminder.channel == ReminderChannel.EMAIL:
            assert reminder.client.consent_email
        if reminder.channel == ReminderChannel.SMS:
            assert reminder.client.consent_sms
    upcoming = TreatmentSession.objects.filter(
        starts_at__gt=NOW + dt.timedelta(hours=rule.amount), status__in=[SessionStatus.BOOKED, SessionStatus.CONFIRMED]
    )
    assert not upcoming.filter(reminders__isnull=True).exists()
    # The rules' other kinds come from the real generator: calls for reception among them.
    assert Reminder.objects.filter(kind=ReminderKind.AFTERCARE_CHECK, channel=ReminderChannel.CALL).exists()
    assert reminders_generate(now=NOW) == 0, "seed_demo left reminders for the worker's generator to create"


@pytest.mark.django_db
def test_running_again_does_not_duplicate(fixed_now):
    call_command("seed_demo", "--clients", str(CLIENTS), stdout=io.StringIO(), verbosity=0)
    before = counts()
    out = io.StringIO()
    call_command("seed_demo", "--clients", str(CLIENTS), stdout=out, verbosity=0)
    assert counts() == before
    assert "already there" in out.getvalue() and "--reset" in out.getvalue()


@pytest.mark.django_db
def test_reset_recreates_the_same_data_and_keeps_real_records(fixed_now):
    call_command("seed_demo", "--clients", str(CLIENTS), stdout=io.StringIO(), verbosity=0)
    before = counts()
    real_client = make_client(first_name="Real", notes="A real client.")
    real_user = make_user(Role.RECEPTION)
    # A demo record someone edited in the app has history rows; reset removes those too.
    edited = TreatmentSession.objects.filter(status=SessionStatus.COMPLETED).first()
    edited.notes = "Edited."
    edited.save()
    assert edited.history.count() == 1

    call_command("seed_demo", "--clients", str(CLIENTS), "--reset", stdout=io.StringIO(), verbosity=0)

    after = counts()
    after["Client"] -= 1  # the real client
    assert after == before
    assert Client.objects.filter(pk=real_client.pk).exists()
    assert User.objects.filter(pk=real_user.pk).exists()
    assert not TreatmentSession.history.filter(id=edited.pk).exists()


@pytest.mark.django_db
def test_reset_works_after_someone_opened_demo_clients_and_keeps_the_real_access_log(fixed_now):
    """The access log is append-only (a trigger on PostgreSQL) and its entries
    hold on to the clients they name: the entries of demo clients go with
    them, the others stay, and the log is append-only again after."""
    call_command("seed_demo", "--clients", "5", stdout=io.StringIO(), verbosity=0)
    reader = make_user(Role.PRACTITIONER)
    real_client = make_client(first_name="Real", notes="A real client.")
    opened = [
        AccessLog.objects.create(user=reader, action=AccessAction.VIEW_CLIENT, client=client, path="/")
        for client in (demo.demo_clients().first(), demo.demo_clients().last())
    ]
    real = AccessLog.objects.create(user=reader, action=AccessAction.VIEW_CLIENT, client=real_client, path="/")
    no_client = AccessLog.objects.create(user=reader, action=AccessAction.EXPORT_LOT_TRACE, path="/")

    call_command("seed_demo", "--clients", "5", "--reset", stdout=io.StringIO(), verbosity=0)

    assert demo.demo_clients().count() == 5
    assert not AccessLog.objects.filter(pk__in=[entry.pk for entry in opened]).exists()
    assert set(AccessLog.objects.values_list("pk", flat=True)) == {real.pk, no_client.pk}
    if connection.vendor == "postgresql":
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            AccessLog.objects.filter(pk=real.pk).delete()


def schema() -> dict[str, set]:
    """Every constraint and index of the database, by name with its definition."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid), condeferrable, condeferred"
            " FROM pg_constraint WHERE connamespace = current_schema()::regnamespace"
        )
        constraints = set(cursor.fetchall())
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()")
        indexes = {(name, _cast_free(definition)) for name, definition in cursor.fetchall()}
    return {"constraints": constraints, "indexes": indexes}


def _cast_free(definition: str) -> str:
    """An index's definition without casts and parentheses: PostgreSQL writes
    the same condition differently once made again from its own text
    (`(ARRAY['email'::character varying, ...])::text[]` becomes
    `ARRAY[('email'::character varying)::text, ...]`)."""
    return re.sub(r"::[a-z ]+(\[\])?|[()]", "", definition)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the load's DDL is PostgreSQL's")
@pytest.mark.django_db
def test_the_load_puts_back_every_foreign_key_and_index_as_the_migrations_made_them(fixed_now):
    before = schema()
    assert any("FOREIGN KEY" in definition for _, _, definition, _, _ in before["constraints"])
    demo.demo_seed(clients=5, now=NOW)
    demo.demo_seed(clients=5, now=NOW, reset=True)
    assert schema() == before
    # And they hold: a session of a plan that does not exist is refused.
    session = TreatmentSession.objects.filter(status=SessionStatus.COMPLETED).first()
    with pytest.raises(DatabaseError), transaction.atomic():
        TreatmentSession.objects.filter(pk=session.pk).update(plan_id=10**9)
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


@pytest.mark.django_db
def test_a_failure_leaves_the_database_as_it_was(fixed_now):
    call_command("seed_demo", "--clients", "5", stdout=io.StringIO(), verbosity=0)
    before = counts()
    real_insert = demo.rows_insert

    def fail_after_the_clients(model, *args, **kwargs):
        if model is not Client:
            raise DatabaseError("disk full")
        return real_insert(model, *args, **kwargs)

    with (
        mock.patch.object(demo, "rows_insert", side_effect=fail_after_the_clients),
        pytest.raises(CommandError, match="unchanged"),
    ):
        call_command("seed_demo", "--clients", "5", "--reset", stdout=io.StringIO(), verbosity=0)
    assert counts() == before


@pytest.mark.django_db
@pytest.mark.parametrize("value", ["0", "-3", "abc", "2.5"])
def test_a_bad_client_count_is_refused(value):
    with pytest.raises(CommandError, match="--clients"):
        call_command("seed_demo", "--clients", value, stdout=io.StringIO())
    assert not Client.objects.exists()


@pytest.mark.django_db
def test_a_bad_client_count_is_refused_when_passed_as_a_keyword():
    with pytest.raises(CommandError, match="--clients"):
        call_command("seed_demo", clients=0, stdout=io.StringIO())


def test_the_demo_has_check_ins_and_one_lot_with_a_raised_rate_so_the_signal_shows_a_flag(seeded):
    from sessions_app.models import CheckIn, SideEffectSource, SignalFlag
    from sessions_app.services.signal import Period, signal_for

    # Clients answered check-ins: fine, side effects awaiting review, a severe one with its call.
    assert CheckIn.objects.filter(answer="fine").exists()
    from_check_ins = SideEffect.objects.filter(source=SideEffectSource.CHECK_IN)
    assert from_check_ins.exists() and not from_check_ins.filter(reviewed_at__isnull=False).exists()
    assert Reminder.objects.filter(kind="side_effect_urgent", status="pending").exists()
    # The raised lot is flagged (with the lots injected in the same sessions), far above the rest.
    flags = SignalFlag.objects.filter(dimension="lot", cleared_at=None)
    assert flags.exists()
    signal = signal_for(Period.default(NOW.date()), fresh=True)
    lots = {row.key: row for d in signal.dimensions if d.slug == "lot" for row in d.rows}
    for flag in flags:
        assert lots[flag.object_id].rate.flagged and lots[flag.object_id].rate.ratio > 2


def test_the_demo_books_from_the_protocols_and_records_what_fits(seeded):
    from sessions_app.models import Protocol
    from sessions_app.technique_rules import misfits

    protocols = {p.indication_id: p for p in Protocol.objects.prefetch_related("areas")}
    plans = [p for p in TreatmentPlan.objects.all() if p.indication_id in protocols]
    assert plans
    as_protocol = [p for p in plans if p.sessions_planned == protocols[p.indication_id].sessions]
    assert len(as_protocol) >= len(plans) / 2
    for injection in Injection.objects.select_related("session__plan"):
        assert not misfits(
            depth=injection.depth, technique=injection.technique, needle_length_mm=injection.needle_length_mm
        )
        protocol = protocols.get(injection.session.plan.indication_id)
        if protocol and injection.area_id in {a.pk for a in protocol.areas.all()}:
            assert (injection.depth, injection.technique) == (protocol.depth, protocol.technique)


def test_the_demo_writes_quantities_that_fit_the_volume_and_stays_under_its_ceilings(seeded):
    from sessions_app.models import InjectionQuantity, Substance
    from sessions_app.services.ledger import session_ledger

    assert InjectionQuantity.objects.exists()
    for injection in Injection.objects.prefetch_related("quantities", "lots"):
        products = {lot.product_id for lot in injection.lots.all()}
        quantities = list(injection.quantities.all())
        assert {q.product_id for q in quantities} <= products
        assert sum(q.quantity_ml for q in quantities) <= injection.volume_ml
    assert Substance.objects.filter(ceiling_per_session__isnull=False).exists()
    for session in TreatmentSession.objects.filter(status=SessionStatus.COMPLETED).select_related("plan"):
        assert session_ledger(session).warnings() == [], session


def test_the_demo_screenings_judge_and_place_their_conditions(seeded):
    from sessions_app.clearance import CAUTION, IN_AREA

    cautions = ScreeningAnswer.objects.filter(answer=True, severity=CAUTION)
    assert cautions.exists()
    for answer in ScreeningAnswer.objects.filter(answer=True).select_related("judged_by", "screening__client"):
        if answer.severity == CAUTION:
            assert answer.judged_by.is_physician and answer.judgement
        if answer.severity == IN_AREA:
            areas = set(answer.areas.values_list("pk", flat=True))
            treated = set(
                TreatmentPlan.areas.through.objects.filter(treatmentplan__client=answer.screening.client).values_list(
                    "treatmentarea_id", flat=True
                )
            )
            assert areas and not areas & treated
