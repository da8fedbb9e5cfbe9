"""The data migration that rewrote the phone numbers already stored in E.164
(0021_client_phones_e164): the notations found at a French front desk become
one, and a number it cannot read is kept as typed and listed for a manager."""

import importlib

import pytest
from django.apps import apps

from sessions_app.models import Client

from .factories import make_client

migration = importlib.import_module("sessions_app.migrations.0021_client_phones_e164")


def typed(phone: str, **fields) -> Client:
    """A client whose number is stored as it was typed before the migration."""
    client = make_client(**fields)
    Client.objects.filter(pk=client.pk).update(phone=phone, search_key="")
    return client


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("as_typed", "e164"),
    [
        ("06 12 34 56 78", "+33612345678"),  # national, spaced
        ("0612345678", "+33612345678"),
        ("06.12.34.56.78", "+33612345678"),
        ("+33 6 12 34 56 79", "+33612345679"),  # international
        ("0033 6 12 34 56 70", "+33612345670"),  # the international prefix dialled from France
        ("+41 79 123 45 67", "+41791234567"),  # a Swiss mobile
        ("0044 20 7946 0958", "+442079460958"),  # a London number, dialled from France
    ],
)
def test_old_notations_become_e164(as_typed, e164, settings, capsys):
    settings.CLINIC_PHONE_REGION = "FR"
    client = typed(as_typed, first_name="Hélène", last_name="Müller")
    migration.forwards(apps, None)
    client.refresh_from_db()
    assert client.phone == e164
    assert client.search_key == "helene muller"  # the names' search key, written on the way
    assert "could not be read" not in capsys.readouterr().out


@pytest.mark.django_db
def test_an_unreadable_number_is_kept_as_typed_and_listed(settings, capsys):
    settings.CLINIC_PHONE_REGION = "FR"
    readable = typed("06 12 34 56 78")
    unreadable = [typed("ask her daughter"), typed("06 12")]
    migration.forwards(apps, None)
    out = capsys.readouterr().out
    assert "2 phone number(s) could not be read and were kept as typed" in out
    for client, phone in zip(unreadable, ("ask her daughter", "06 12"), strict=True):
        client.refresh_from_db()
        assert client.phone == phone
        assert f"client {client.pk}: {phone!r}" in out
    readable.refresh_from_db()
    assert readable.phone == "+33612345678"
    # Run again (a migration replayed on a copy), nothing changes and the same two are listed.
    migration.forwards(apps, None)
    assert "2 phone number(s)" in capsys.readouterr().out
    assert Client.objects.get(pk=readable.pk).phone == "+33612345678"
