"""Reception and a practitioner work the call list in a real browser
(headless Chromium, live server), on a desktop and on a tablet."""

import datetime as dt
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from sessions_app.models import PlanStatus, Reminder, Role, SideEffect
from sessions_app.reminders.generate import reminders_generate

from .browser import DESKTOP, TABLET
from .factories import aftercare_call, complete, make_client, make_plan, make_rule, make_session

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("size", [DESKTOP, TABLET], ids=["desktop", "tablet"])
def test_reception_works_through_the_call_list(sign_in_as, size):
    call = aftercare_call("Camille Durand")
    make_rule("maintenance_due", amount=7, direction="after", by_email=False, by_call=True)
    plan = make_plan(make_client(first_name="Hugo", last_name="Bernard"), status=PlanStatus.MAINTENANCE)
    complete(make_session(plan, starts_at=timezone.now() - dt.timedelta(days=plan.maintenance_interval_days + 10)))
    reminders_generate(now=timezone.now())
    page, _ = sign_in_as(Role.RECEPTION, size)

    if size == TABLET:
        page.get_by_role("button", name="Menu").click()
        # Once the menu has finished opening (a click during Bootstrap's
        # collapse animation can land on nothing).
        expect(page.locator("#main-nav")).to_have_class(re.compile(r"\bshow\b"))
    page.get_by_role("link", name="Call list").click()
    page.wait_for_url(re.compile(r"/calls/$"))
    expect(page.get_by_role("heading", name="Call list", level=1)).to_be_visible()
    aftercare = page.locator("#group-aftercare li")
    expect(aftercare).to_have_count(1)
    expect(aftercare.first).to_contain_text("Camille Durand")
    expect(page.locator("#group-maintenance li")).to_contain_text("Hugo Bernard")
    expect(page.get_by_role("button", name="Side effect reported")).to_have_count(0)

    # No answer: the call stays, with how often it was tried.
    aftercare.first.get_by_role("button", name="No answer").click()
    expect(page.get_by_role("status")).to_contain_text("Camille Durand: no answer.")
    expect(page.locator("#group-aftercare li").first).to_contain_text("No answer ×1")
    # Reached: it leaves the list.
    page.locator("#group-aftercare li").first.get_by_role("button", name="Reached").click()
    expect(page.get_by_role("status")).to_contain_text("Camille Durand: reached.")
    expect(page.locator("#group-aftercare li")).to_have_count(0)
    expect(page.locator("#group-aftercare")).to_contain_text("Nothing to call about.")
    # Booked: on to booking, with the client already chosen.
    page.locator("#group-maintenance li").first.get_by_role("button", name="Booked").click()
    page.wait_for_url(re.compile(r"/book/\?client=\d+$"))
    expect(page.get_by_role("radio", name=re.compile(r"^Hugo Bernard"))).to_be_checked()

    call.refresh_from_db()
    assert (call.status, call.call_outcome, call.attempts) == ("sent", "reached", 2)
    assert Reminder.objects.get(plan=plan, channel="call").call_outcome == "booked"
    # Every button stayed inside the window (nothing to scroll sideways on a tablet).
    assert page.evaluate("document.documentElement.scrollWidth") <= size["width"]


def test_a_practitioner_records_a_side_effect_reported_on_a_call(sign_in_as):
    call = aftercare_call("Léa Martin")
    page, user = sign_in_as(Role.PRACTITIONER, TABLET)
    page.goto("/calls/")
    page.locator("#group-aftercare li").first.get_by_role("button", name="Side effect reported").click()
    expect(page.get_by_role("heading", name="Record a side effect")).to_be_visible()
    expect(page.get_by_text("Léa Martin, born")).to_be_visible()
    session_choice = page.get_by_label("Session")
    assert session_choice.input_value() == str(call.session_id)
    page.get_by_label("Kind").select_option(label="Bruising")
    page.get_by_label("Severity").select_option(label="Mild")
    page.get_by_role("button", name="Record the side effect").click()
    page.wait_for_url(re.compile(r"/calls/$"))
    expect(page.get_by_role("status")).to_contain_text("Recorded Bruising (mild) for Léa Martin.")
    effect = SideEffect.objects.get()
    assert (effect.client_id, effect.session_id, effect.recorded_by) == (call.client_id, call.session_id, user)
    call.refresh_from_db()
    assert (call.status, call.call_outcome) == ("sent", "reached")
