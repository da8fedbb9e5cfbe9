"""A practitioner's day in a real browser (headless Chromium, live server).

The issue's scenario: a practitioner screens a client, logs a session on two
areas with two lots, records a bruise the next day, and finds it on the client
page. The session took place yesterday (the client came for session 1 of her
series), so "the next day" is today.
"""

import datetime as dt
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from sessions_app.models import Product, Role, SessionStatus, SideEffect, TreatmentArea

from .browser import TABLET
from .factories import make_client, make_consent, make_lot, make_plan, make_session

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def yesterday_at(hour: int) -> dt.datetime:
    day = timezone.localdate() - dt.timedelta(days=1)
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))


@pytest.mark.parametrize("viewport", [TABLET], indirect=True)
def test_a_practitioner_screens_logs_two_areas_with_two_lots_and_records_a_bruise(sign_in_as, viewport):
    page, practitioner = sign_in_as(Role.PRACTITIONER, first_name="Inès", last_name="Morel")
    patient = make_client(first_name="Camille", last_name="Demoulin")
    plan = make_plan(client=patient, practitioner=practitioner, sessions_planned=6)
    plan.areas.set([TreatmentArea.objects.get(name="Face"), TreatmentArea.objects.get(name="Neck")])
    make_consent(plan)
    session = make_session(plan=plan, starts_at=yesterday_at(10), status=SessionStatus.ARRIVED)
    hyalu = make_lot(Product.objects.get(name="Hyalu Meso 1%"), lot_number="HY-2291")
    revita = make_lot(Product.objects.get(name="Revita NCTF"), lot_number="RV-7730")

    # The schedule warns before the screening; the practitioner screens from the client page.
    page.goto(f"/schedule/?date={timezone.localtime(session.starts_at):%Y-%m-%d}")
    block = page.locator(".cal-session", has_text="Camille Demoulin")
    expect(block.locator(".clearance-badge")).to_have_text("Screening due")
    page.goto("/clients/?q=demoulin")
    page.locator("#client-results a", has_text="Demoulin, Camille").click()
    page.get_by_role("link", name="Screen").click()
    diabetes = page.get_by_role("group", name="Diabetes")
    diabetes.get_by_label("Yes", exact=True).check()
    diabetes.get_by_label("Details").fill("Type 2, on metformin, HbA1c 6.8%")
    diabetes.get_by_label(re.compile("Your judgement")).fill("Well controlled; small needle, watch healing.")
    page.get_by_role("button", name="Save the screening").click()
    expect(page.get_by_role("status")).to_contain_text("Screening of Camille Demoulin saved.")

    # The record, opened from the session's panel on the calendar.
    page.goto(f"/schedule/?date={timezone.localtime(session.starts_at):%Y-%m-%d}")
    expect(block.locator(".clearance-badge")).to_have_count(0)
    block.locator(".cal-session-link").click()
    page.locator("#session-dialog").get_by_role("link", name="Record").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Session record: Camille Demoulin")
    face, neck = page.locator(".injection-row").nth(0), page.locator(".injection-row").nth(1)
    expect(face.get_by_label("Area")).to_have_value(str(TreatmentArea.objects.get(name="Face").pk))
    face.get_by_label(re.compile(r"^HY-2291")).check()
    face.get_by_label(re.compile(r"^RV-7730")).check()
    for area, volume in ((face, "2.0"), (neck, "1.5")):
        area.get_by_label("Volume (ml)").fill(volume)
        area.get_by_label("Depth").select_option(label="Superficial dermis")
        area.get_by_label("Technique").select_option(label="Nappage")
        area.get_by_label("Needle (mm)").fill("4")
        area.get_by_label("Points").fill("40")
    neck.get_by_label(re.compile(r"^HY-2291")).check()
    page.get_by_label("Anaesthetic").select_option(label="Topical cream")
    page.get_by_label("Pain score (0-10)").fill("2")
    page.get_by_label("Notes").fill("Tolerated well; slight redness on the neck.")
    page.get_by_role("button", name="Complete and sign").click()
    expect(page.get_by_role("status")).to_contain_text("session completed and the record signed")
    injections = page.locator("#injections tbody tr")
    expect(injections).to_have_count(2)
    expect(injections.nth(0)).to_contain_text("Hyalu Meso 1% lot HY-2291")
    expect(injections.nth(0)).to_contain_text("Revita NCTF lot RV-7730")
    expect(injections.nth(1)).to_contain_text("Neck")
    expect(page.locator("#signature")).to_contain_text("Signed by Inès Morel")
    assert set(session.injections.get(area__name="Face").lots.all()) == {hyalu, revita}
    assert list(session.injections.get(area__name="Neck").lots.all()) == [hyalu]

    # The next day: the client calls about a bruise on the neck.
    page.get_by_role("link", name="Record a side effect").click()
    expect(page.get_by_label("Session")).to_have_value(str(session.pk))
    page.get_by_label("Kind").select_option(label="Bruising")
    page.get_by_label("Severity").select_option(label="Mild")
    page.get_by_label("Action taken").fill("Arnica cream; call back in two days.")
    page.get_by_role("button", name="Record the side effect").click()
    expect(page.get_by_role("status")).to_contain_text("Recorded Bruising (mild) for Camille Demoulin.")
    effect = SideEffect.objects.get(client=patient)
    assert (effect.session_id, effect.onset) == (session.pk, timezone.localdate())

    # The client page: the bruise, and what was injected where with its lots.
    page.goto(f"/clients/{patient.pk}/")
    timeline = page.locator("#timeline")
    bruise = timeline.locator(".timeline-side_effect")
    expect(bruise).to_contain_text("Bruising, mild")
    expect(bruise).to_contain_text("not yet reviewed")
    expect(bruise).to_contain_text("Arnica cream")
    logged = timeline.locator(".timeline-session")
    expect(logged.locator(".injection-line")).to_have_count(2)
    expect(logged).to_contain_text("HY-2291")
    expect(logged).to_contain_text("RV-7730")
    expect(timeline.locator(".timeline-screening")).to_contain_text("Diabetes")
