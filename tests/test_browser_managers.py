"""A manager in a real browser (headless Chromium, live server): the reports
draw every chart with the page's figures, the period changes them, a table
downloads as CSV; a new member of staff chooses a password through the
link mailed to them and signs in with the role given."""

import csv
import datetime as dt
import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from sessions_app.models import Role, SessionStatus, User

from .browser import BROWSER_PASSWORD, TABLET, sign_in
from .factories import PARIS, make_plan, make_session, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHARTS = """() => Array.from(document.querySelectorAll("canvas[data-chart]")).map((canvas) => {
  const chart = Chart.getChart(canvas);
  return {
    slug: canvas.dataset.chart,
    labels: chart ? chart.data.labels : null,
    data: chart ? chart.data.datasets.map((d) => d.data) : null,
    drawn: canvas.width > 0 && canvas.height > 0,
  };
})"""


def rows_of(page, slug: str) -> list[list[str]]:
    return page.evaluate(
        """(slug) => Array.from(document.querySelectorAll(`#table-${slug} tr`)).map(
            (tr) => Array.from(tr.querySelectorAll("th, td")).map((cell) => cell.textContent.trim()))""",
        slug,
    )


def clinic_spring_2025():
    """March 2025: 10 sessions due, 1 no-show. April 2025: 4 due, 2 no-shows."""
    plan = make_plan(practitioner=make_user(Role.PRACTITIONER, first_name="Alice", last_name="Archer"))
    plan.sessions_planned = 20
    plan.save()
    for i in range(10):
        status = SessionStatus.NO_SHOW if i == 0 else SessionStatus.COMPLETED
        make_session(plan, starts_at=dt.datetime(2025, 3, 3 + i, 10, tzinfo=PARIS), status=status)
    for i in range(4):
        status = SessionStatus.NO_SHOW if i < 2 else SessionStatus.COMPLETED
        make_session(plan, starts_at=dt.datetime(2025, 4, 7 + i, 10, tzinfo=PARIS), status=status)


def test_the_reports_draw_each_chart_the_period_changes_the_figures_and_a_table_downloads(sign_in_as):
    clinic_spring_2025()
    page, _ = sign_in_as(Role.MANAGER)
    page.goto("/reports/?start=2025-03-01&end=2025-03-31")
    expect(page.get_by_role("heading", name="Reports", level=1)).to_be_visible()
    # A tab a section; the period goes with the tab.
    page.get_by_role("link", name="Series adherence").click()
    expect(page.get_by_role("heading", name="Series adherence", level=2)).to_be_visible()
    assert {c["slug"] for c in page.evaluate(CHARTS)} == {"series-adherence", "plans"}
    page.get_by_role("link", name="All, to print").click()
    page.wait_for_url(re.compile(r"/reports/all/\?start=2025-03-01&end=2025-03-31$"))
    figures = page.evaluate("() => JSON.parse(document.getElementById('report-charts').textContent)")
    charts = page.evaluate(CHARTS)
    # Every table with rows has its chart, drawn from the figures of the page.
    assert len(charts) == page.locator("table.report-table").count() >= 10
    for chart in charts:
        assert chart["drawn"], chart["slug"]
        spec = figures[chart["slug"]]
        assert chart["labels"] == spec["labels"], chart["slug"]
        assert chart["data"] == [d["data"] for d in spec["datasets"]], chart["slug"]
    assert rows_of(page, "no-shows-by-month")[1] == ["Mar 2025", "10", "1", "10.0", "0", "0.0"]
    march_rates = next(c for c in charts if c["slug"] == "no-shows-by-month")["data"][0]
    assert march_rates == [10]

    # The period filter: April instead.
    page.get_by_label("From").fill("2025-04-01")
    page.get_by_label("To").fill("2025-04-30")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#report-scope")).to_contain_text("1 April 2025 to 30 April 2025")
    assert "/reports/all/" in page.url
    assert rows_of(page, "no-shows-by-month")[1] == ["Apr 2025", "4", "2", "50.0", "0", "0.0"]
    april = next(c for c in page.evaluate(CHARTS) if c["slug"] == "no-shows-by-month")
    assert (april["labels"], april["data"][0]) == (["Apr 2025"], [50])

    # The table as CSV: the file says what the table says.
    link = page.locator("#no-shows").get_by_role("link", name="Download the table (CSV)").first
    with page.expect_download() as download:
        link.click()
    assert download.value.suggested_filename == "no-shows-by-month-20250401-20250430.csv"
    with open(download.value.path(), newline="", encoding="utf-8") as file:
        assert list(csv.reader(file)) == rows_of(page, "no-shows-by-month")


def test_the_reports_fit_a_tablet_and_say_when_the_period_is_wrong(sign_in_as):
    clinic_spring_2025()
    page, _ = sign_in_as(Role.MANAGER, TABLET)
    page.goto("/reports/?start=2025-03-31&end=2025-03-01")
    expect(page.locator("#form-errors")).to_contain_text("The end comes on or after the start.")
    expect(page.locator("#id_end")).to_have_class(re.compile(r"is-invalid"))
    assert page.locator("canvas").count() == 0
    page.goto("/reports/?start=2025-03-01&end=2025-04-30")
    assert page.evaluate("document.documentElement.scrollWidth") <= TABLET["width"]


def test_a_new_member_chooses_a_password_by_the_link_and_signs_in_with_the_role(sign_in_as, new_page, live_server):
    page, manager = sign_in_as(Role.MANAGER)
    page.goto("/staff/")
    page.get_by_role("link", name="Add a member of staff").click()
    page.get_by_label("First name").fill("Inès")
    page.get_by_label("Last name").fill("Moreau")
    page.get_by_label("Email").fill("ines@example.org")
    page.get_by_label("User name").fill("ines")
    page.get_by_role("radio", name=re.compile(r"Practitioner: screens")).check()
    page.get_by_label("Profession").select_option(label="Nurse")
    page.get_by_label("Registration number").fill("ADELI 75 123 456 7")
    page.get_by_role("button", name="Add and send the link").click()
    expect(page.get_by_role("status")).to_contain_text("Inès Moreau is added as Practitioner")
    expect(page.locator("#member-history")).to_contain_text("Added as Practitioner")

    [message] = mail.outbox
    link = re.search(r"https?://\S+/account/password/\S+/", message.body).group(0)
    assert link.startswith(live_server.url)
    member_page = new_page()
    member_page.goto(link)
    expect(member_page.get_by_role("heading", name=re.compile("choose your password"))).to_be_visible()
    member_page.locator("#id_new_password1").fill(BROWSER_PASSWORD)
    member_page.get_by_label("New password confirmation").fill(BROWSER_PASSWORD)
    member_page.get_by_role("button", name="Set my password").click()
    expect(member_page.get_by_role("status")).to_contain_text("Your password is set")
    sign_in(member_page, live_server.url, "ines", BROWSER_PASSWORD)
    expect(member_page.locator("#signed-in-as")).to_contain_text("Inès Moreau · Practitioner")
    expect(member_page.get_by_role("link", name="Side effects")).to_be_visible()
    expect(member_page.get_by_role("link", name="Staff")).to_have_count(0)
    # The link worked once.
    member_page.goto(link)
    expect(member_page.get_by_role("alert")).to_contain_text("This link no longer works")
    assert User.objects.get(username="ines").history.latest().history_change_reason == (
        "Password set with the one-time link"
    )


@pytest.mark.parametrize(("size", "hidden"), [({"width": 390, "height": 844}, 3), (TABLET, 0)])
def test_the_staff_list_fits_a_phone_and_a_tablet_without_squeezing_the_names(sign_in_as, size, hidden):
    """Six columns on a phone broke each name into a letter or two a line:
    there, the name, role and account (the member's page has the rest)."""
    make_user(Role.PRACTITIONER, first_name="Marie-Charlotte", last_name="Vandenberghe-Lefebvre")
    page, _ = sign_in_as(Role.MANAGER, size)
    page.goto("/staff/")
    assert page.evaluate("document.querySelector('#staff').scrollWidth") <= size["width"]
    headers = page.locator("#staff thead th")
    assert sum(not headers.nth(i).is_visible() for i in range(headers.count())) == hidden
    name = page.get_by_role("link", name="Marie-Charlotte Vandenberghe-Lefebvre")
    line = float(name.evaluate("(a) => getComputedStyle(a).lineHeight").removesuffix("px"))
    # At most a line a part ("Marie-Charlotte", "Vandenberghe-", "Lefebvre"), not a letter or two.
    assert name.bounding_box()["height"] <= 3 * line + 1
