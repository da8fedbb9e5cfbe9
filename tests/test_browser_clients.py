"""Reception and managers look after clients in a real browser (headless
Chromium, live server), without the admin: a new client found missing in the
search, created and booked a series in one flow, then their phone corrected; a
duplicate offered and declined; two records of one person merged.

The UX budgets of shared/UX.md are counted: every click, tick, choice in a
list and key press that submits.
"""

import datetime as dt
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from sessions_app.models import Client, Mixture, Role, SessionStatus, TreatmentPlan

from .factories import make_client, make_injection, make_plan, make_screening, make_session, make_user
from .test_booking import next_weekday_at

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


class Actions:
    """Counts what the person does: clicks, ticks, choices and submitting keys."""

    def __init__(self, page):
        self.page, self.count = page, 0

    def click(self, locator):
        self.count += 1
        locator.click()

    def check(self, locator):
        self.count += 1
        locator.check()

    def choose(self, locator, label: str):
        self.count += 1
        locator.select_option(label=label)

    def submit(self, locator):
        self.count += 1
        locator.press("Enter")


def field(page, label: str):
    return page.get_by_label(re.compile(rf"^\s*{re.escape(label)}\s*\*?\s*$"))


def test_a_client_missing_from_the_search_is_added_booked_and_corrected_within_the_budget(sign_in_as):
    page, _ = sign_in_as(Role.RECEPTION)
    make_user(Role.PRACTITIONER, first_name="Inès", last_name="Morel")
    make_client(first_name="Noé", last_name="Garnier-Vidal")  # a namesake, not her
    first = next_weekday_at(10, weekday=1, weeks_ahead=2)
    me = Actions(page)

    page.goto("/clients/")
    search = page.get_by_role("searchbox")
    search.fill("Noémie GARNIER 06 12 34 56 78")
    me.submit(search)
    expect(page.locator("#no-match")).to_be_visible()
    me.click(page.get_by_role("link", name=re.compile(r"^No match: add")))

    # Pre-filled from what was typed: the names and the phone; the date of birth is typed.
    expect(field(page, "First name")).to_have_value("Noémie")
    expect(field(page, "Last name")).to_have_value("Garnier")
    expect(field(page, "Phone")).to_have_value("06 12 34 56 78")
    field(page, "Date of birth").fill("1979-05-21")
    me.click(page.get_by_role("button", name="Add the client"))
    expect(page.locator("#client-header")).to_contain_text("Noémie Garnier")
    noemie = Client.objects.get(last_name="Garnier")
    assert noemie.phone == "+33612345678"

    # Booked without leaving the flow: the client is already picked.
    me.click(page.locator("#main").get_by_role("link", name="Book a series"))
    expect(page.get_by_role("radio", name=re.compile(r"^Noémie Garnier"))).to_be_checked()
    # The indication's protocol fills the mixture, the areas and the series (issue 15);
    # this client's plan is six sessions rather than the protocol's four.
    me.choose(field(page, "Indication"), "Skin rejuvenation")
    expect(field(page, "Mixture")).to_have_value(str(Mixture.objects.get(name="Facial rejuvenation").pk))
    expect(page.get_by_label("Face", exact=True)).to_be_checked()
    field(page, "Number of sessions").fill("6")
    me.choose(field(page, "Practitioner"), "Inès Morel")
    me.choose(field(page, "Room"), "Room 1")
    field(page, "First date").fill(first.date().isoformat())
    field(page, "Time").fill("10:00")
    me.click(page.get_by_role("button", name="Preview the dates"))
    me.click(page.get_by_role("button", name="Confirm and book 6 sessions"))
    page.wait_for_url(re.compile(r"/plans/\d+/$"))
    assert TreatmentPlan.objects.get(client=noemie).sessions.count() == 6
    # UX.md: "new client found missing in search, created, booked a 6-session series: 12".
    assert me.count <= 12, me.count

    # Her phone corrected from her page.
    page.goto(f"/clients/{noemie.pk}/")
    page.get_by_role("link", name="Edit", exact=True).click()
    field(page, "Phone").fill("+33 7 81 22 33 44")
    page.get_by_role("button", name="Save the changes").click()
    expect(page.locator("#client-phone")).to_contain_text("07 81 22 33 44")
    noemie.refresh_from_db()
    assert noemie.phone == "+33781223344" and noemie.version == 2


def test_garcia_is_found_by_typing_garcia(reception_page):
    page = reception_page
    make_client(first_name="José", last_name="García")
    make_client(first_name="Ana", last_name="Garnier")
    page.goto("/clients/")
    page.get_by_role("searchbox").press_sequentially("garcia", delay=30)
    # Search as you type: the results come without a submit (the budget is one search).
    expect(page.locator("#client-results")).to_contain_text("García, José")
    expect(page.locator("#client-results a")).to_have_count(1)
    assert "q=garcia" in page.url  # the address follows, so Back and a reload keep the search


def test_a_duplicate_is_offered_and_declined(reception_page):
    page = reception_page
    make_client(first_name="Marie", last_name="Dupont", date_of_birth=dt.date(1966, 9, 14), phone="")
    page.goto("/clients/new/")
    field(page, "First name").fill("Marie")
    field(page, "Last name").fill("Dupond")
    field(page, "Date of birth").fill("1966-09-14")
    page.get_by_role("button", name="Add the client").click()

    offered = page.locator("#duplicates")
    expect(offered).to_contain_text("Is this someone already on file?")
    expect(offered.locator(".duplicate")).to_have_count(1)
    expect(offered).to_contain_text("Dupont, Marie")
    expect(offered).to_contain_text("same date of birth, similar name")
    expect(offered.get_by_role("link", name="It's this client")).to_be_visible()
    assert Client.objects.count() == 1

    page.get_by_role("button", name=re.compile(r"^No, a different person")).click()
    expect(page.locator("#client-header")).to_contain_text("Marie Dupond")
    assert sorted(Client.objects.values_list("last_name", flat=True)) == ["Dupond", "Dupont"]


def test_a_manager_merges_two_records_and_the_kept_one_shows_the_whole_history(sign_in_as):
    page, _ = sign_in_as(Role.MANAGER)
    practitioner = make_user(Role.PRACTITIONER)
    kept = make_client(first_name="Claire", last_name="Martin")
    other = make_client(first_name="Claire", last_name="Martin-Roux")
    start = timezone.now().replace(microsecond=0, second=0) - dt.timedelta(days=40)
    for i, person in enumerate((kept, other)):
        plan = make_plan(client=person, practitioner=practitioner)
        session = make_session(
            plan=plan, starts_at=start + dt.timedelta(days=i, hours=i), status=SessionStatus.COMPLETED
        )
        make_injection(session)
    make_screening(other)

    page.goto(f"/clients/{kept.pk}/")
    expect(page.locator("#timeline .timeline-session")).to_have_count(1)
    page.get_by_role("link", name="Merge with another record").click()
    page.get_by_label(re.compile("Find the other record")).fill("roux")
    page.get_by_label(re.compile("Find the other record")).press("Enter")
    page.locator("#merge-candidates").get_by_role("link", name=re.compile("Martin-Roux")).click()
    expect(page.get_by_role("radio", name=f"Keep Claire Martin, record {kept.pk}")).to_be_checked()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Merge the two records").click()

    expect(page.locator(".alert-success")).to_contain_text(f"Record {other.pk} merged into this one")
    expect(page.locator("#merged-records")).to_contain_text("Martin-Roux")
    expect(page.locator("#timeline .timeline-session")).to_have_count(2)
    expect(page.locator("#timeline .timeline-plan")).to_have_count(2)
    expect(page.locator("#timeline .timeline-screening")).to_have_count(1)
    other.refresh_from_db()
    assert other.merged_into_id == kept.pk and other.is_archived
