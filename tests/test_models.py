import datetime
import datetime as dt
import importlib

import pytest
from django.db import IntegrityError, transaction

from sessions_app.models import (
    Client,
    ClosedDay,
    Contraindication,
    Severity,
    TreatmentArea,
    contraindication_severity,
)

from .factories import PARIS, make_client, make_lot


@pytest.mark.django_db
def test_reference_data_is_loaded_by_migration():
    # A new clinic starts with areas, mixtures and rooms to book with.
    assert TreatmentArea.objects.filter(name="Face").exists()
    from sessions_app.models import Mixture, OpeningHours, Room

    assert Mixture.objects.get(name="Facial rejuvenation").components.count() == 3
    assert Room.objects.count() >= 1
    assert OpeningHours.objects.filter(weekday=0).count() == 2


@pytest.mark.django_db
def test_email_consent_without_email_is_refused_by_the_database():
    client = make_client()
    with pytest.raises(IntegrityError), transaction.atomic():
        Client.objects.filter(pk=client.pk).update(email="", consent_email=True)


@pytest.mark.django_db
def test_client_history_records_changes():
    client = make_client(first_name="Ana")
    client.first_name = "Anna"
    client.save()
    assert [h.first_name for h in client.history.all()] == ["Anna", "Ana"]


def test_pregnancy_is_absolute_and_diabetes_relative():
    assert contraindication_severity(Contraindication.PREGNANCY) == Severity.ABSOLUTE
    assert contraindication_severity(Contraindication.DIABETES) == Severity.RELATIVE


@pytest.mark.django_db
def test_lot_may_be_used_on_its_expiry_date_but_not_after():
    lot = make_lot(expiry_date=datetime.date(2026, 5, 31))
    assert not lot.is_expired_on(datetime.date(2026, 5, 31))
    assert lot.is_expired_on(datetime.date(2026, 6, 1))


def test_the_public_holidays_migration_knows_easter_and_the_fixed_days():
    holidays = importlib.import_module("sessions_app.migrations.0009_public_holidays")
    days = holidays.holidays(2027)
    assert days[datetime.date(2027, 3, 29)] == "Easter Monday"  # Easter Sunday is 28 March 2027
    assert days[datetime.date(2027, 5, 6)] == "Ascension Day"
    assert days[datetime.date(2027, 5, 17)] == "Whit Monday"
    assert days[datetime.date(2027, 7, 14)] == "Bastille Day"
    assert len(days) == 11


@pytest.mark.django_db
def test_the_public_holidays_are_loaded_as_closed_days_once():
    from django.apps import apps

    holidays = importlib.import_module("sessions_app.migrations.0009_public_holidays")
    holidays.load(apps, None)
    holidays.load(apps, None)
    assert ClosedDay.objects.filter(date__year=2028).count() == 11
    assert ClosedDay.objects.get(date=datetime.date(2026, 12, 25)).reason == "Christmas Day"


@pytest.mark.django_db
def test_an_id_beyond_the_databases_range_matches_nothing_instead_of_failing():
    client = make_client()
    for huge in (2**63, -(2**63) - 1, 10**30):
        assert list(Client.objects.filter(pk__in=[huge, client.pk])) == [client]
        assert not Client.objects.filter(pk__in=[huge]).exists()


def test_every_status_group_and_transition_names_real_statuses():
    """The groups are written as values beside the members: a typo would make
    a group silently miss a status."""
    from sessions_app.models import SessionStatus

    named = [*SessionStatus.MOVABLE, *SessionStatus.AHEAD, *SessionStatus.NOT_KEPT]
    for transition in SessionStatus.TRANSITIONS.values():
        named += [transition.target, *transition.sources]
    assert set(named) <= set(SessionStatus.values)
    assert set(SessionStatus.MOVABLE) < set(SessionStatus.AHEAD)
    assert not set(SessionStatus.AHEAD) & set(SessionStatus.NOT_KEPT)


def test_a_status_changes_only_as_an_action_allows():
    from sessions_app.models import SessionStatus

    start, now = dt.datetime(2026, 12, 1, 10, tzinfo=PARIS), dt.datetime(2026, 12, 1, 9, tzinfo=PARIS)
    assert SessionStatus.refusal("booked", "confirmed", starts_at=start, now=now) is None
    assert SessionStatus.refusal("confirmed", "arrived", starts_at=start, now=now) is None
    assert (
        SessionStatus.refusal("cancelled", "booked", starts_at=start, now=now)
        == "A session that is cancelled cannot be marked booked."
    )
    assert (
        SessionStatus.refusal("completed", "cancelled", starts_at=start, now=now)
        == "A session that is completed cannot be marked cancelled."
    )


# Monday 30 November 2026 at 10:00, clinic time; the clock of each case in the clinic's time zone.
MONDAY_10 = dt.datetime(2026, 11, 30, 10, tzinfo=PARIS)


@pytest.mark.parametrize(
    ("action", "now", "refused"),
    [
        # Arrived only on the session's day (the clinic's calendar), whatever the hour.
        ("arrive", dt.datetime(2026, 11, 28, 17, tzinfo=PARIS), "the client can be marked arrived only on that day"),
        ("arrive", dt.datetime(2026, 11, 30, 0, 5, tzinfo=PARIS), None),
        ("arrive", dt.datetime(2026, 11, 30, 23, 50, tzinfo=PARIS), None),
        ("arrive", dt.datetime(2026, 12, 1, 0, 5, tzinfo=PARIS), "the client can be marked arrived only on that day"),
        # Late Sunday evening in Paris is already Monday in Tokyo, still Sunday in UTC: Paris decides.
        ("arrive", dt.datetime(2026, 11, 29, 23, 30, tzinfo=PARIS).astimezone(dt.UTC), "only on that day"),
        # No-show only once the session has begun.
        ("no_show", MONDAY_10 - dt.timedelta(minutes=1), "can be marked no-show only once it has begun"),
        ("no_show", MONDAY_10, None),
        # Confirmed only before it begins.
        ("confirm", MONDAY_10 - dt.timedelta(minutes=1), None),
        ("confirm", MONDAY_10, "it can no longer be confirmed"),
        # Cancel at any time a booked session allows it.
        ("cancel", MONDAY_10 - dt.timedelta(days=30), None),
        ("cancel", MONDAY_10 + dt.timedelta(hours=2), None),
    ],
)
def test_status_changes_follow_the_clinic_s_clock(action, now, refused):
    from sessions_app.models import SessionStatus

    target = SessionStatus.TRANSITIONS[action].target
    refusal = SessionStatus.refusal("booked", target, starts_at=MONDAY_10, now=now)
    if refused is None:
        assert refusal is None
    else:
        assert refused in refusal
    assert (action in SessionStatus.actions("booked", starts_at=MONDAY_10, now=now)) is (refused is None)


def test_a_saturday_arrival_for_monday_is_refused_saying_the_day():
    from sessions_app.models import SessionStatus

    saturday = dt.datetime(2026, 11, 28, 11, tzinfo=PARIS)
    assert SessionStatus.refusal("confirmed", "arrived", starts_at=MONDAY_10, now=saturday) == (
        "This session is on Monday 30 November 2026: the client can be marked arrived only on that day."
    )


@pytest.mark.parametrize(
    ("changed_by", "ago", "undo_status", "refused"),
    [
        (1, dt.timedelta(minutes=9, seconds=59), "confirmed", None),
        (1, dt.timedelta(minutes=10), "confirmed", None),
        (1, dt.timedelta(minutes=10, seconds=1), "confirmed", "more than 10 minutes ago"),
        (2, dt.timedelta(minutes=1), "confirmed", "Only the person who changed this status can undo it."),
        (1, dt.timedelta(minutes=1), "", "no change to undo"),
    ],
)
def test_only_its_maker_undoes_a_status_change_and_only_for_ten_minutes(changed_by, ago, undo_status, refused):
    from sessions_app.models import SessionStatus

    refusal = SessionStatus.undo_refusal(
        undo_status=undo_status, changed_by_id=changed_by, changed_at=MONDAY_10, user_id=1, now=MONDAY_10 + ago
    )
    assert refusal is None if refused is None else refused in refusal


@pytest.mark.parametrize(
    ("status", "now", "refused"),
    [
        ("arrived", MONDAY_10 - dt.timedelta(minutes=20), None),  # came early
        ("confirmed", MONDAY_10 - dt.timedelta(minutes=20), "it can be recorded once the client has arrived"),
        ("confirmed", MONDAY_10 + dt.timedelta(minutes=5), None),  # begun, arrival not marked
        ("booked", MONDAY_10 - dt.timedelta(days=2), "starts on Monday 30 November 2026 at 10:00"),
        ("cancelled", MONDAY_10 + dt.timedelta(hours=1), "A cancelled session cannot be recorded."),
        ("no_show", MONDAY_10 + dt.timedelta(hours=1), "A no-show session cannot be recorded."),
        ("completed", MONDAY_10 + dt.timedelta(hours=1), "correct it with an amendment"),
    ],
)
def test_a_session_is_recorded_once_the_client_has_arrived_or_it_has_begun(status, now, refused):
    from sessions_app.models import SessionStatus

    refusal = SessionStatus.record_refusal(status, starts_at=MONDAY_10, now=now)
    assert refusal is None if refused is None else refused in refusal


@pytest.mark.parametrize(
    ("status", "now", "late"),
    [
        ("confirmed", MONDAY_10 - dt.timedelta(minutes=1), None),
        ("confirmed", MONDAY_10 + dt.timedelta(minutes=1), "Not arrived"),
        ("arrived", MONDAY_10 + dt.timedelta(minutes=44), None),
        ("arrived", MONDAY_10 + dt.timedelta(minutes=45), "Not recorded"),
        ("completed", MONDAY_10 + dt.timedelta(hours=3), None),
    ],
)
def test_what_is_overdue_about_a_session(status, now, late):
    from sessions_app.models import SessionStatus

    ends = MONDAY_10 + dt.timedelta(minutes=45)
    assert SessionStatus.lateness(status, starts_at=MONDAY_10, ends_at=ends, now=now) == late


@pytest.mark.parametrize(
    ("title", "profession"),
    [
        ("Physician", "physician"),
        ("Médecin esthétique", "physician"),
        ("Dr", "physician"),
        ("Dermatologist", "physician"),
        ("Nurse injector", "nurse"),
        ("Infirmière", "nurse"),
        ("Receptionist", ""),
        ("Drama teacher", ""),
    ],
)
def test_the_migration_reads_a_profession_from_a_job_title(title, profession):
    migration = importlib.import_module("sessions_app.migrations.0016_user_profession")
    assert migration.profession_from_title(title) == profession
