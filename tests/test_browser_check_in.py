"""A client answers their check-in on a phone with a photo, and a practitioner
reviews and resolves the side effect it became, in a real browser (headless
Chromium, live server)."""

import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from sessions_app.models import CheckIn, Role, SideEffect

from .browser import DESKTOP
from .factories import check_in_message, check_in_path, done_session, image_bytes, make_client, make_plan

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
# UX.md: a client's check-in after a session, on a phone.
CHECK_IN_BUDGET = 4


def test_a_client_checks_in_with_a_photo_and_a_practitioner_resolves_it(new_page, sign_in_as, tmp_path):
    patient = make_client(first_name="Léa", last_name="Martin")
    message = check_in_message(done_session(days_ago=1, plan=make_plan(patient)))
    photo = tmp_path / "cheek.jpg"
    photo.write_bytes(image_bytes("JPEG", size=(640, 480)))

    phone = new_page(PHONE)
    phone.goto(check_in_path(message))
    expect(phone.get_by_role("heading", name="Hello Léa, how is the treated area?")).to_be_visible()
    taps = 0
    phone.get_by_text("Swelling", exact=True).click()
    taps += 1
    phone.locator("label[for=score-5]").click()
    taps += 1
    phone.get_by_label("A photo of the area (optional)").set_input_files(str(photo))  # choosing a photo: one tap
    taps += 1
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    phone.get_by_role("button", name="Send").click()
    taps += 1
    expect(phone.get_by_role("heading", name="Thank you, Léa")).to_be_visible()
    assert taps <= CHECK_IN_BUDGET
    check_in = CheckIn.objects.get()
    effect = check_in.side_effect
    assert (check_in.answer, check_in.score, effect.kind.name, effect.severity) == (
        "swelling",
        5,
        "Swelling",
        "moderate",
    )
    assert effect.follow_ups.get().photo

    page, practitioner = sign_in_as(Role.PRACTITIONER, DESKTOP)
    page.goto("/side-effects/")
    row = page.locator("#side-effects tbody tr", has_text="Léa Martin")
    expect(row).to_contain_text("client's check-in")
    expect(row).to_contain_text("to review")
    row.get_by_role("link", name=re.compile(r"^Swelling, moderate")).click()
    page.wait_for_url(re.compile(rf"/side-effects/{effect.pk}/$"))
    expect(page.locator("#course img")).to_have_count(1)
    page.get_by_role("button", name="Mark reviewed").click()
    expect(page.get_by_role("status")).to_contain_text("Reviewed: Swelling of Léa Martin.")
    page.get_by_label("What was seen or done").fill("Called: the swelling has gone down.")
    page.get_by_label("Severity now").select_option("mild")
    page.get_by_label("Status").select_option("resolved")
    page.get_by_label("Resolved on").fill(f"{timezone.localdate():%Y-%m-%d}")
    page.get_by_role("button", name="Add to the course").click()
    expect(page.get_by_role("status")).to_contain_text("Added to the course, now resolved.")
    expect(page.locator("#effect-badges")).to_contain_text("Resolved on")
    effect.refresh_from_db()
    assert (effect.status, effect.resolved_on, effect.reviewed_by) == ("resolved", timezone.localdate(), practitioner)
    assert SideEffect.objects.open().count() == 0
