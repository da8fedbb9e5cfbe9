import datetime
import importlib

import pytest
from django.db import IntegrityError, transaction

from sessions_app.models import (
    Client,
    ClosedDay,
    Contraindication,
    Role,
    Severity,
    TreatmentArea,
    User,
    contraindication_severity,
)

from .factories import make_client, make_lot, make_user


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

    assert SessionStatus.refusal("booked", "confirmed") is None
    assert SessionStatus.refusal("confirmed", "arrived") is None
    assert SessionStatus.refusal("cancelled", "booked") == "A session that is cancelled cannot be marked booked."
    assert SessionStatus.refusal("completed", "cancelled") == "A session that is completed cannot be marked cancelled."


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


@pytest.mark.django_db
def test_the_database_refuses_an_unknown_profession():
    user = make_user(Role.PRACTITIONER)
    with pytest.raises(IntegrityError), transaction.atomic():
        # Within the column's 10 characters, so that the check constraint is what refuses it
        # (PostgreSQL refuses a longer value for its length first).
        User.objects.filter(pk=user.pk).update(profession="shaman")
