"""A practitioner's day in a real browser (headless Chromium, live server).

The issue's scenario: a practitioner screens a client (every question asked,
nothing pre-answered), logs a session on two areas chosen on the chart with
the lots in use, records a bruise the next day, and finds it on the client
page. The session took place yesterday (the client came for session 1 of her
series), so "the next day" is today. Then: a two-area session that follows the
protocol, recorded and signed within the click budget of shared/UX.md (10);
the alerts banner a practitioner cannot miss; the draft that survives closing
the tab; booking filled in from the protocol.
"""

import datetime as dt
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from sessions_app.models import (
    Contraindication,
    Indication,
    Product,
    RecordDraft,
    Role,
    Screening,
    SessionStatus,
    SideEffect,
    Substance,
    TreatmentArea,
)

from .browser import TABLET
from .factories import make_cleared, make_client, make_consent, make_lot, make_plan, make_session, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def yesterday_at(hour: int) -> dt.datetime:
    day = timezone.localdate() - dt.timedelta(days=1)
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))


def answer(page, question: str, value: str) -> None:
    """Tap Yes or No on a question (a labelled button over the radio)."""
    page.get_by_role("group", name=question, exact=True).locator("label", has_text=re.compile(rf"^{value}$")).click()


def card(page, area: str):
    return page.locator(".area-card", has=page.get_by_role("heading", name=area, exact=True))


@pytest.mark.parametrize("viewport", [TABLET], indirect=True)
def test_a_practitioner_screens_logs_two_areas_on_the_chart_and_records_a_bruise(sign_in_as, viewport):
    page, practitioner = sign_in_as(Role.PRACTITIONER, first_name="Inès", last_name="Morel", profession="physician")
    patient = make_client(first_name="Camille", last_name="Demoulin")
    plan = make_plan(client=patient, practitioner=practitioner, sessions_planned=6)
    plan.areas.set([TreatmentArea.objects.get(name="Face")])
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

    # Nothing is answered until asked; every question is asked; a yes opens its details.
    expect(page.locator("input.btn-check:checked")).to_have_count(0)
    diabetes = page.get_by_role("group", name="Diabetes", exact=True)
    expect(diabetes.get_by_label("Details")).to_be_hidden()
    page.get_by_role("button", name="Save the screening").click()
    expect(page.locator("#screening-errors")).to_contain_text("11 questions are not answered yet")
    for question in Contraindication:
        if question == Contraindication.SEVERE_OBESITY:
            continue  # asked for fat reduction only (folded: this client's plan rejuvenates the skin)
        answer(page, question.label, "Yes" if question == Contraindication.DIABETES else "No")
    expect(diabetes.get_by_label("Details")).to_be_visible()
    diabetes.get_by_label("Details").fill("Type 2, on metformin, HbA1c 6.8%")
    diabetes.get_by_label(re.compile("Your judgement")).fill("Well controlled; small needle, watch healing.")
    page.get_by_role("button", name="Save the screening").click()
    expect(page.get_by_role("status")).to_contain_text("Screening of Camille Demoulin saved.")
    screening = Screening.objects.get(client=patient)
    answers = {a.question: a for a in screening.answers.all()}
    assert len(answers) == len(Contraindication) - 1 and "severe_obesity" not in answers
    assert answers["diabetes"].answer and answers["diabetes"].judged_by == practitioner
    assert not any(a.answer for q, a in answers.items() if q != "diabetes")
    # The client page's header says what not to miss: the judged diabetes.
    expect(page.locator("#client-alerts")).to_contain_text("Caution: Diabetes")
    expect(page.locator("#client-alerts")).to_contain_text("Judged by Inès Morel")

    # The record, opened from the session's panel on the calendar: the neck added on the chart.
    page.goto(f"/schedule/?date={timezone.localtime(session.starts_at):%Y-%m-%d}")
    expect(block.locator(".clearance-badge")).to_have_count(0)
    expect(block.locator(".alert-badge")).to_have_text("Caution: Diabetes")
    block.locator(".cal-session-link").click()
    page.locator("#session-dialog").get_by_role("link", name="Record").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Session record: Camille Demoulin")
    page.wait_for_load_state()  # the chart answers taps once its script has run
    page.locator('.chart-zone[data-zone="neck"]').click()
    expect(page.locator(".area-card")).to_have_count(2)
    expect(page.get_by_role("checkbox", name="Neck", exact=True)).to_be_checked()
    face, neck = card(page, "Face"), card(page, "Neck")
    # The protocol of skin rejuvenation fills each card, and the lots in use are chosen.
    expect(neck.get_by_label(re.compile(r"^\s*Depth"))).to_have_value("superficial_dermis")
    expect(face.get_by_label("Hyalu Meso 1%", exact=True)).to_have_value(str(hyalu.pk))
    expect(face.get_by_label("Revita NCTF", exact=True)).to_have_value(str(revita.pk))
    for area in (face, neck):
        area.get_by_label("Vita C 20%", exact=True).select_option(label="Not used in this area")
    neck.get_by_label("Revita NCTF", exact=True).select_option(label="Not used in this area")
    neck.get_by_label(re.compile(r"^\s*Volume")).fill("1.5")
    page.get_by_label("Anaesthetic").select_option(label="Topical cream")
    page.get_by_label(re.compile(r"^\s*Pain score")).fill("2")
    page.get_by_label("Notes").fill("Tolerated well; slight redness on the neck.")
    page.get_by_role("button", name="Complete and sign").click()
    expect(page.get_by_role("status").first).to_contain_text("session completed and the record signed")
    injections = page.locator("#injections tbody tr")
    expect(injections).to_have_count(2)
    expect(injections.nth(0)).to_contain_text("Hyalu Meso 1% lot HY-2291")
    expect(injections.nth(0)).to_contain_text("Revita NCTF lot RV-7730")
    expect(injections.nth(1)).to_contain_text("Neck")
    expect(page.locator("#signature")).to_contain_text("Signed by Inès Morel")
    expect(page.locator(".chart-zone.is-on")).to_have_count(2)
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

    # The client page: the bruise in the header and the timeline, and what was injected where.
    page.goto(f"/clients/{patient.pk}/")
    expect(page.locator("#client-alerts")).to_contain_text("Side effect: Bruising")
    timeline = page.locator("#timeline")
    bruise = timeline.locator(".timeline-side_effect")
    expect(bruise).to_contain_text("Bruising, mild")
    expect(bruise).to_contain_text("Open")
    expect(bruise).to_contain_text("to review")
    expect(bruise).to_contain_text("Arnica cream")
    logged = timeline.locator(".timeline-session")
    expect(logged.locator(".injection-line")).to_have_count(2)
    expect(logged.locator(".chart-mini")).to_have_attribute("aria-label", "Chart: Face, Neck")
    expect(logged).to_contain_text("HY-2291")
    expect(logged).to_contain_text("RV-7730")
    expect(timeline.locator(".timeline-screening")).to_contain_text("Diabetes")


class Taps:
    """Counts what the practitioner does that costs a tap (shared/UX.md's budget):
    each click, and each field tapped to type in or to choose from."""

    def __init__(self, page):
        self.page, self.count = page, 0

    def click(self, locator):
        self.count += 1
        locator.click()

    def fill(self, locator, value):
        self.count += 1
        locator.fill(value)


@pytest.mark.parametrize("viewport", [TABLET], indirect=True)
def test_a_two_area_session_that_follows_the_protocol_is_recorded_and_signed_within_ten_taps(sign_in_as, viewport):
    page, practitioner = sign_in_as(Role.PRACTITIONER, profession="nurse")
    plan = make_cleared(make_plan(practitioner=practitioner, client=make_client(first_name="Léa", last_name="Roux")))
    session = make_session(plan=plan, starts_at=yesterday_at(11), status=SessionStatus.ARRIVED)
    for product in ("Hyalu Meso 1%", "Revita NCTF", "Vita C 20%"):
        make_lot(Product.objects.get(name=product))
    page.goto(f"/schedule/?date={timezone.localtime(session.starts_at):%Y-%m-%d}")

    taps = Taps(page)
    # The session on the calendar opens its panel, which offers Record.
    taps.click(page.locator(".cal-session", has_text="Léa Roux").locator(".cal-session-link"))
    taps.click(page.locator("#session-dialog").get_by_role("link", name="Record"))
    page.wait_for_load_state()
    taps.click(page.locator('.chart-zone[data-zone="neck"]'))
    expect(card(page, "Neck")).to_be_visible()
    taps.fill(page.get_by_label(re.compile(r"^\s*Pain score")), "1")
    taps.click(page.get_by_role("button", name="Complete and sign"))
    expect(page.locator("#signature")).to_contain_text("Signed")

    assert taps.count <= 10, f"{taps.count} taps"
    recorded = {i.area.name: i for i in session.injections.all()}
    assert set(recorded) == {"Face", "Neck"}
    assert {lot.product.name for lot in recorded["Neck"].lots.all()} == {"Hyalu Meso 1%", "Revita NCTF", "Vita C 20%"}
    assert (recorded["Neck"].technique, recorded["Neck"].needle_length_mm) == ("nappage", 4)


@pytest.mark.parametrize("viewport", [TABLET], indirect=True)
def test_the_alerts_banner_cannot_be_missed_on_the_record_page(sign_in_as, viewport):
    page, practitioner = sign_in_as(Role.PRACTITIONER)
    patient = make_client(first_name="Nora", last_name="Haddad")
    patient.allergies.add(Substance.objects.get(name="Lidocaine"))
    plan = make_cleared(make_plan(client=patient, practitioner=practitioner))
    session = make_session(plan=plan, starts_at=yesterday_at(9), status=SessionStatus.ARRIVED)
    page.goto(f"/sessions/{session.pk}/record/")
    banner = page.locator("#client-alerts")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("Allergy: Lidocaine")
    expect(banner).to_contain_text("Before treating")
    box = banner.bounding_box()
    assert box["y"] + box["height"] < TABLET["height"] / 2, "the banner is in the top half of the tablet's screen"


@pytest.mark.parametrize("viewport", [TABLET], indirect=True)
def test_the_draft_survives_closing_the_tab(sign_in_as, new_page, viewport, live_server):
    page, practitioner = sign_in_as(Role.PRACTITIONER)
    plan = make_cleared(make_plan(practitioner=practitioner))
    session = make_session(plan=plan, starts_at=yesterday_at(15), status=SessionStatus.ARRIVED)
    make_lot(Product.objects.get(name="Hyalu Meso 1%"))
    page.goto(f"/sessions/{session.pk}/record/")
    page.locator('.chart-zone[data-zone="decolletage"]').click()  # goto waits for the page's load
    expect(card(page, "Décolletage")).to_be_visible()
    page.get_by_label("Notes").fill("Client asked to stop after the face.")
    expect(page.locator("#draft-status")).to_contain_text("Draft saved at")
    page.close()  # the tablet's battery, a wrong swipe

    assert RecordDraft.objects.filter(session=session).exists()
    again = page.context.new_page()
    again.goto(f"{live_server.url}/sessions/{session.pk}/record/")
    expect(again.get_by_label("Notes")).to_have_value("Client asked to stop after the face.")
    expect(again.locator(".area-card")).to_have_count(2)
    expect(again.get_by_role("checkbox", name="Décolletage")).to_be_checked()


def test_choosing_an_indication_fills_the_booking_form_from_its_protocol(reception_page):
    page = reception_page
    page.goto("/book/")
    page.get_by_label(re.compile(r"^\s*Indication")).select_option(label="Body contouring")
    expect(page.get_by_label(re.compile(r"^\s*Mixture"))).to_have_value(
        str(Indication.objects.get(name="Body contouring").protocol.mixture_id)
    )
    expect(page.get_by_label("Abdomen", exact=True)).to_be_checked()
    expect(page.get_by_label("Flanks", exact=True)).to_be_checked()
    expect(page.get_by_label("Face", exact=True)).not_to_be_checked()
    expect(page.get_by_label(re.compile(r"^\s*Number of sessions"))).to_have_value("8")
    expect(page.get_by_label(re.compile(r"^\s*Every"))).to_have_value("2")
    expect(page.get_by_label(re.compile(r"^\s*Maintenance every"))).to_have_value("180")
    make_user  # noqa: B018 (imported for the other tests)
