"""Protocols per indication: the defaults the migration loads, the admin that
refuses a combination that does not fit, and what booking takes from them."""

import pytest

from sessions_app.models import SESSIONS_PLANNED_MAX, Indication, Protocol
from sessions_app.services.protocols import booking_defaults
from sessions_app.technique_rules import misfits

from .factories import admin_url

pytestmark = pytest.mark.django_db


def test_the_default_protocols_keep_to_the_ranges_of_the_clinical_sources():
    protocols = list(Protocol.objects.select_related("indication", "mixture").prefetch_related("areas"))
    assert {p.indication.name for p in protocols} == {
        "Skin rejuvenation",
        "Hair loss",
        "Body contouring",
        "Cellulite",
        "Pain management",
        "Stretch marks",
    }
    for protocol in protocols:
        # A series of 4 to 10 (DESIGN.md: "often 4 to 10, up to about 15"), days to weeks apart,
        # maintenance months apart, needles of at most 13 mm, and what fits.
        assert 4 <= protocol.sessions <= 10 <= SESSIONS_PLANNED_MAX
        assert 7 <= protocol.interval_days <= 21
        assert protocol.maintenance_interval_days is None or 60 <= protocol.maintenance_interval_days <= 180
        assert protocol.needle_length_mm <= 13
        assert not misfits(
            depth=protocol.depth, technique=protocol.technique, needle_length_mm=protocol.needle_length_mm
        )
        assert protocol.mixture.indication_id == protocol.indication_id
        assert protocol.areas.exists()


def test_booking_takes_whole_weeks_as_weeks_and_other_intervals_as_days():
    protocol = Protocol.objects.get(indication__name="Skin rejuvenation")
    assert booking_defaults(protocol)["interval"] == 2 and booking_defaults(protocol)["interval_unit"] == "weeks"
    protocol.interval_days = 10
    assert (booking_defaults(protocol)["interval"], booking_defaults(protocol)["interval_unit"]) == (10, "days")


def test_the_admin_refuses_a_protocol_whose_depth_and_needle_do_not_fit(manager_client):
    protocol = Protocol.objects.get(indication__name="Skin rejuvenation")
    data = {
        "indication": protocol.indication_id,
        "mixture": protocol.mixture_id,
        "areas": [a.pk for a in protocol.areas.all()],
        "sessions": 4,
        "interval_days": 14,
        "maintenance_interval_days": 120,
        "depth": "epidermal",
        "technique": "nappage",
        "needle_length_mm": "13",
        "volume_ml": "2",
        "points": 60,
        "notes": "",
    }
    response = manager_client.post(admin_url(Protocol, "change", protocol.pk), data)
    assert response.status_code == 200
    assert "A 13 mm needle at the epidermal depth" in response.content.decode()
    protocol.refresh_from_db()
    assert protocol.depth == "superficial_dermis"
    assert (
        manager_client.post(admin_url(Protocol, "change", protocol.pk), data | {"needle_length_mm": "4"}).status_code
        == 302
    )
    protocol.refresh_from_db()
    assert (protocol.depth, protocol.needle_length_mm) == ("epidermal", 4)


def test_an_indication_has_one_protocol():
    from django.db import IntegrityError, transaction

    from .factories import make_protocol

    skin = Indication.objects.get(name="Skin rejuvenation")
    with pytest.raises(IntegrityError), transaction.atomic():
        make_protocol(indication=skin)
    assert Protocol.objects.filter(indication=skin).count() == 1
