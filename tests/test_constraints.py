"""The database itself refuses rows that break a named constraint, even when
the application's validation is bypassed (QuerySet.update, bulk_create). Runs on
SQLite and PostgreSQL alike; the overlap exclusion constraints exist on
PostgreSQL only.
"""

import datetime as dt
import itertools
from collections.abc import Callable

import pytest
from django.apps import apps
from django.db import IntegrityError, connection, transaction
from django.db.models import F, UniqueConstraint
from django.utils import timezone

from sessions_app.models import (
    AccessLog,
    ConsentText,
    MixtureComponent,
    OpeningHours,
    Product,
    ReminderChannel,
    ReminderRule,
    Role,
    Room,
    SessionStatus,
    Substance,
    TreatmentArea,
    TreatmentSession,
)

from .factories import (
    book_session,
    make_amendment,
    make_answer,
    make_client,
    make_consent,
    make_injection,
    make_lot,
    make_photo,
    make_plan,
    make_reminder,
    make_side_effect,
    make_user,
)

_keys = itertools.count(1)

# constraint name -> a function that builds valid rows and returns the write
# that breaks that constraint (and only it).
CASES: dict[str, Callable[[], Callable[[], object]]] = {}


def case(*names: str):
    def register(arrange):
        for name in names:
            CASES[name] = lambda name=name: arrange(name)
        return arrange

    return register


def update(obj, **fields) -> Callable[[], object]:
    return lambda: type(obj).objects.filter(pk=obj.pk).update(**fields)


def copy_of(obj, **changes) -> Callable[[], object]:
    """Insert a second row with obj's values (a uniqueness clash), skipping validation."""
    model = type(obj)
    values = {f.attname: getattr(obj, f.attname) for f in model._meta.concrete_fields if not f.primary_key}
    return lambda: model.objects.bulk_create([model(**{**values, **changes})])


@case("area_region_valid")
def _(name):
    return update(TreatmentArea.objects.get(name="Face"), region="sea")


@case("substance_category_valid")
def _(name):
    return update(Substance.objects.order_by("pk").first(), category="magic")


@case("product_unique_name_per_manufacturer")
def _(name):
    return copy_of(Product.objects.get(name="Hyalu Meso 1%"))


@case("lot_unique_number_per_product")
def _(name):
    return copy_of(make_lot(), received_on=None)


@case("lot_received_before_expiry")
def _(name):
    lot = make_lot()
    return update(lot, received_on=lot.expiry_date + dt.timedelta(days=1))


@case("hours_unique_period_start", "hours_weekday_valid", "hours_close_after_open")
def _(name):
    hours = OpeningHours.objects.order_by("pk").first()
    return {
        "hours_unique_period_start": copy_of(hours),
        "hours_weekday_valid": update(hours, weekday=7),
        "hours_close_after_open": update(hours, closes=F("opens")),
    }[name]


@case(
    "client_preferred_channel_valid",
    "client_email_consent_needs_email",
    "client_sms_consent_needs_phone",
    "client_born_after_1900",
    "client_erased_has_no_contact",
)
def _(name):
    client = make_client()
    return {
        "client_preferred_channel_valid": update(client, preferred_channel="fax"),
        "client_email_consent_needs_email": update(client, email="", consent_email=True),
        "client_sms_consent_needs_phone": update(client, phone="", consent_sms=True),
        "client_born_after_1900": update(client, date_of_birth=dt.date(1899, 12, 31)),
        "client_erased_has_no_contact": update(client, erased_at=timezone.now(), archived_at=timezone.now()),
    }[name]


@case("answer_unique_question_per_screening", "answer_question_valid", "answer_severity_valid")
def _(name):
    answer = make_answer()
    return {
        "answer_unique_question_per_screening": copy_of(answer),
        "answer_question_valid": update(answer, question="unicorns"),
        "answer_severity_valid": update(answer, severity="mild"),
    }[name]


@case("consent_text_version_positive")
def _(name):
    return update(ConsentText.objects.order_by("version").first(), version=0)


@case("consent_unique_text_per_plan", "consent_agreed", "consent_signed_name_present")
def _(name):
    consent = make_consent()
    return {
        "consent_unique_text_per_plan": copy_of(consent),
        "consent_agreed": update(consent, agreed=False),
        "consent_signed_name_present": update(consent, signed_name=""),
    }[name]


@case("component_unique_product_per_mixture", "component_amount_positive", "component_unit_valid")
def _(name):
    component = MixtureComponent.objects.order_by("pk").first()
    return {
        "component_unique_product_per_mixture": copy_of(component),
        "component_amount_positive": update(component, amount=0),
        "component_unit_valid": update(component, unit="kg"),
    }[name]


@case(
    "plan_sessions_planned_range",
    "plan_interval_positive",
    "plan_interval_max",
    "plan_maintenance_interval_positive",
    "plan_maintenance_interval_max",
    "plan_status_valid",
)
def _(name):
    plan = make_plan()
    return {
        "plan_sessions_planned_range": update(plan, sessions_planned=31),
        "plan_interval_positive": update(plan, interval_days=0),
        "plan_interval_max": update(plan, interval_days=366),
        "plan_maintenance_interval_positive": update(plan, maintenance_interval_days=0),
        "plan_maintenance_interval_max": update(plan, maintenance_interval_days=731),
        "plan_status_valid": update(plan, status="paused"),
    }[name]


@case(
    "session_sequence_positive",
    "session_ends_after_start",
    "session_pain_score_range",
    "session_status_valid",
    "session_completed_has_time",
    "session_completed_is_signed",
    "session_signed_is_completed",
    "session_sequence_max",
    "session_anaesthetic_valid",
    "session_combination_therapy_valid",
    "session_unique_sequence_per_plan",
)
def _(name):
    session = book_session()
    if name == "session_unique_sequence_per_plan":
        second = book_session(plan=session.plan, sequence=2)
        return update(second, sequence=1)
    return {
        "session_sequence_positive": update(session, sequence=0),
        "session_ends_after_start": update(session, ends_at=F("starts_at")),
        "session_pain_score_range": update(session, pain_score=11),
        "session_status_valid": update(session, status="lost"),
        "session_completed_has_time": update(session, status=SessionStatus.COMPLETED, completed_at=None),
        "session_completed_is_signed": update(session, status=SessionStatus.COMPLETED, completed_at=timezone.now()),
        "session_signed_is_completed": update(session, signed_at=timezone.now(), signed_by=session.practitioner),
        "session_sequence_max": update(session, sequence=101),
        "session_anaesthetic_valid": update(session, anaesthetic="general"),
        "session_combination_therapy_valid": update(session, combination_therapy="massage"),
    }[name]


@case("amendment_reason_present")
def _(name):
    amendment = make_amendment(book_session())
    return update(amendment, reason="")


@case("access_action_valid")
def _(name):
    entry = AccessLog.objects.create(user=make_user(), action="view_client", client=make_client(), path="/")
    return {"access_action_valid": copy_of(entry, action="tamper")}[name]


@case("photo_kind_valid")
def _(name):
    photo = make_photo(book_session())
    return update(photo, kind="during")


@case(
    "injection_unique_area_per_session",
    "injection_volume_positive",
    "injection_needle_max_13mm",
    "injection_points_positive",
    "injection_points_max",
    "injection_depth_valid",
    "injection_technique_valid",
)
def _(name):
    injection = make_injection(book_session())
    return {
        "injection_unique_area_per_session": copy_of(injection),
        "injection_volume_positive": update(injection, volume_ml=0),
        "injection_needle_max_13mm": update(injection, needle_length_mm=14),
        "injection_points_positive": update(injection, points=0),
        "injection_points_max": update(injection, points=5001),
        "injection_depth_valid": update(injection, depth="subcutis"),
        "injection_technique_valid": update(injection, technique="tattoo"),
    }[name]


@case("side_effect_severity_valid", "side_effect_resolved_after_onset", "side_effect_review_complete")
def _(name):
    side_effect = make_side_effect()
    return {
        "side_effect_severity_valid": update(side_effect, severity="fatal"),
        "side_effect_resolved_after_onset": update(side_effect, resolved_on=side_effect.onset - dt.timedelta(days=1)),
        "side_effect_review_complete": update(side_effect, reviewed_at=timezone.now()),
    }[name]


@case(
    "reminder_unique_key",
    "reminder_kind_valid",
    "reminder_channel_valid",
    "reminder_status_valid",
    "reminder_sent_has_time",
    "reminder_sending_is_claimed",
)
def _(name):
    reminder = make_reminder()
    return {
        "reminder_unique_key": copy_of(reminder),
        "reminder_kind_valid": update(reminder, kind="birthday"),
        "reminder_channel_valid": update(reminder, channel="pigeon"),
        "reminder_status_valid": update(reminder, status="lost"),
        "reminder_sent_has_time": update(reminder, status="sent", sent_at=None),
        "reminder_sending_is_claimed": update(reminder, status="sending", claimed_at=None),
    }[name]


@case("reminder_call_outcome_valid", "reminder_outcome_only_for_calls", "reminder_retry_only_when_failed")
def _(name):
    call = make_reminder(channel=ReminderChannel.CALL)
    email = make_reminder()
    return {
        "reminder_call_outcome_valid": update(call, call_outcome="voicemail"),
        "reminder_outcome_only_for_calls": update(email, call_outcome="reached"),
        "reminder_retry_only_when_failed": update(email, next_attempt_at=timezone.now()),
    }[name]


@case(
    "rule_kind_valid",
    "rule_unit_valid",
    "rule_direction_valid",
    "rule_offset_range",
    "rule_has_a_channel",
    "rule_upcoming_is_before",
)
def _(name):
    rule = ReminderRule.objects.create(
        name=f"Rule {next(_keys)}", kind="aftercare_check", amount=2, unit="days", direction="after", by_call=True
    )
    return {
        "rule_kind_valid": update(rule, kind="birthday"),
        "rule_unit_valid": update(rule, unit="weeks"),
        "rule_direction_valid": update(rule, direction="around"),
        "rule_offset_range": update(rule, amount=5000),
        "rule_has_a_channel": update(rule, by_call=False),
        "rule_upcoming_is_before": update(rule, kind="upcoming_session"),
    }[name]


@case("user_profession_valid")
def _(name):
    return update(make_user(Role.PRACTITIONER), profession="surgeon")


def declared_constraints() -> dict[str, object]:
    return {
        constraint.name: constraint
        for model in apps.get_app_config("sessions_app").get_models()
        for constraint in model._meta.constraints
    }


def test_every_named_constraint_has_a_case():
    # A constraint added to a model without a case here fails this test.
    assert sorted(CASES) == sorted(declared_constraints())


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(CASES))
def test_the_database_refuses_a_row_that_breaks(name):
    violate = CASES[name]()
    with pytest.raises(IntegrityError) as refused, transaction.atomic():
        violate()
    message = str(refused.value)
    # The error names the constraint, so we know which rule refused the row.
    # SQLite names check constraints but reports a uniqueness clash by its columns.
    if connection.vendor == "sqlite" and isinstance(declared_constraints()[name], UniqueConstraint):
        assert "UNIQUE constraint failed" in message
    else:
        assert name in message


@pytest.mark.django_db
def test_a_cancelled_session_frees_its_number_in_the_database():
    # The condition of session_unique_sequence_per_plan: re-booking session 1
    # after cancelling it is allowed.
    first = book_session()
    second = book_session(plan=first.plan, sequence=2)
    TreatmentSession.objects.filter(pk=first.pk).update(status=SessionStatus.CANCELLED)
    TreatmentSession.objects.filter(pk=second.pk).update(sequence=1)
    assert sorted(first.plan.sessions.values_list("sequence", flat=True)) == [1, 1]


@pytest.mark.django_db
@pytest.mark.postgres_only
@pytest.mark.parametrize(
    ("name", "same"),
    [("session_no_practitioner_overlap", "practitioner"), ("session_no_room_overlap", "room")],
)
def test_postgres_refuses_an_overlapping_session(name, same):
    first = book_session()
    overlapping = {
        "starts_at": first.starts_at + dt.timedelta(minutes=15),
        "ends_at": first.ends_at + dt.timedelta(minutes=15),
        "practitioner": first.practitioner if same == "practitioner" else make_user(Role.PRACTITIONER),
        "room": first.room if same == "room" else Room.objects.exclude(pk=first.room_id).first(),
    }
    with pytest.raises(IntegrityError, match=name), transaction.atomic():
        TreatmentSession.objects.bulk_create([TreatmentSession(plan=first.plan, sequence=2, **overlapping)])
