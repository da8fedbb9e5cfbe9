"""Reception books a series in a real browser (headless Chromium, live server).

The issue's scenario: reception books 6 sessions every 2 weeks for a demo
client, one date is moved around a closed day, and the schedule shows all six.
Then a session is moved from the schedule with "shift the later sessions" on,
the shift lands one on a closed day, and the schedule still shows all six in
order. Everything is typed and clicked as a receptionist would: the htmx client
search, the keyboard in the radio list, the previews, the confirmations, the
practitioner's week calendars, the session's panel and its Move form.
"""

import datetime as dt
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from sessions_app.models import ClosedDay, Role, TreatmentPlan, TreatmentSession

from .factories import make_client, make_user, next_weekday_at

pytestmark = [
    pytest.mark.browser,
    # The live server's thread sees only committed data.
    pytest.mark.django_db(transaction=True),
]

SESSIONS = 6
INTERVAL = dt.timedelta(weeks=2)


def as_in_preview(day: dt.date) -> str:
    """A date as the preview table shows it (Django's "D d M Y")."""
    return day.strftime("%a %d %b %Y")


def field(page, label: str):
    """The form field with this label, whether or not it is marked required (*)."""
    return page.get_by_label(re.compile(rf"^\s*{re.escape(label)}\s*\*?\s*$"))


def week_blocks(page, client_name: str) -> dict[str, list[tuple[str, str]]]:
    """The client's sessions on the week's calendar shown, as {ISO day: [(time, series)]}."""
    found: dict[str, list[tuple[str, str]]] = {}
    columns = page.locator(".cal-col")
    for i in range(columns.count()):
        column = columns.nth(i)
        blocks = column.locator(".cal-session", has_text=client_name)
        for j in range(blocks.count()):
            block = blocks.nth(j)
            series = block.locator(".cal-meta > span").first.inner_text()
            found.setdefault(column.get_attribute("data-date"), []).append(
                (block.locator(".cal-time").inner_text(), series)
            )
    return found


def schedule_weeks(page, first: dt.date, last: dt.date, practitioner, client_name: str) -> dict:
    """The client's sessions on the practitioner's week calendars from `first` to `last`, walked with "Next →"."""
    page.goto(f"/schedule/?view=week&date={first.isoformat()}&practitioner={practitioner.pk}")
    monday = first - dt.timedelta(days=first.weekday())
    found: dict[str, list[tuple[str, str]]] = {}
    while True:
        expect(page.get_by_role("heading", level=1)).to_have_text(f"Week of {monday:%d %B %Y}")
        found |= week_blocks(page, client_name)
        if monday + dt.timedelta(days=7) > last:
            return found
        page.get_by_role("link", name="Next →").click()
        monday += dt.timedelta(days=7)


def test_reception_books_six_sessions_around_a_closed_day_and_the_schedule_shows_them(reception_page):
    page = reception_page
    ines = make_user(Role.PRACTITIONER, first_name="Inès", last_name="Morel")
    make_user(Role.PRACTITIONER, first_name="Hugo", last_name="Bernard")
    patient = make_client(first_name="Camille", last_name="Demoulin")
    make_client(first_name="Jules", last_name="Demoulas")  # a namesake: the search finds two, one must be picked
    first = next_weekday_at(10, weekday=1, weeks_ahead=2)  # a Tuesday: open 09:00-13:00 and 14:00-19:00
    wanted = [(first + i * INTERVAL).date() for i in range(SESSIONS)]
    closed = wanted[2]
    ClosedDay.objects.create(date=closed, reason="Staff training")

    # The form: search the client with htmx, pick her with the keyboard.
    page.goto("/book/")
    expect(page.get_by_role("heading", name="Book a series")).to_be_visible()
    search = page.get_by_role("searchbox")
    search.click()
    search.press_sequentially("demou", delay=40)
    options = page.locator("#client-options").get_by_role("radio")
    expect(options).to_have_count(2)
    expect(options.first).not_to_be_checked()  # two matches: none is picked for reception
    search.press("Tab")
    expect(page.get_by_role("radio", name=re.compile(r"^Jules Demoulas"))).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(page.get_by_role("radio", name=re.compile(r"^Camille Demoulin"))).to_be_checked()

    field(page, "Indication").select_option(label="Skin rejuvenation")
    page.get_by_label("Face", exact=True).check()
    page.get_by_label("Neck", exact=True).check()
    field(page, "Mixture").select_option(label="Facial rejuvenation")
    field(page, "Practitioner").select_option(label="Inès Morel")
    field(page, "Room").select_option(label="Room 2")
    field(page, "Number of sessions").fill(str(SESSIONS))
    field(page, "Every").fill("2")
    field(page, "Unit").select_option(label="weeks")
    field(page, "First date").fill(first.date().isoformat())
    field(page, "Time").fill("10:00")
    field(page, "Duration (minutes)").fill("45")
    field(page, "Notes").fill("Demo client, booked from the browser test.")

    # The preview: six dates, the one on the closed day moved with its reason.
    with page.expect_navigation():
        page.get_by_role("button", name="Preview the dates").click()
    assert page.locator(".invalid-feedback").all_inner_texts() == [], "the form was refused"
    preview = page.locator("#preview")
    expect(preview.get_by_role("heading", name="Proposed sessions")).to_be_visible()
    rows = preview.locator("tbody tr")
    expect(rows).to_have_count(SESSIONS)
    shown: list[str] = []
    for i, day in enumerate(wanted):
        cells = rows.nth(i).locator("td")
        expect(cells.nth(0)).to_have_text(str(i + 1))
        chosen = cells.nth(1).locator("select option:checked")
        shown.append(chosen.inner_text().split(",")[0])
        if day == closed:
            expect(rows.nth(i)).to_have_class(re.compile(r"\btable-warning\b"))
            expect(cells.nth(1).locator(".slot-note")).to_have_text(
                f"Moved from {day:%a %d %b} 10:00: closed day (Staff training)."
            )
            assert shown[i] != as_in_preview(day)
        else:
            expect(chosen).to_have_text(f"{as_in_preview(day)}, 10:00")
            expect(cells.nth(1).locator(".slot-note")).to_have_text("")
    assert not TreatmentPlan.objects.filter(client=patient).exists(), "the preview must save nothing"

    # Confirm: the plan page of the new series.
    page.get_by_role("button", name=f"Confirm and book {SESSIONS} sessions").click()
    page.wait_for_url(re.compile(r"/plans/\d+/$"))
    plan = TreatmentPlan.objects.get(client=patient)
    assert page.url.endswith(f"/plans/{plan.pk}/")
    expect(page.get_by_role("status")).to_contain_text(f"Booked {SESSIONS} sessions for Camille Demoulin.")
    expect(page.get_by_role("heading", level=1)).to_have_text("Camille Demoulin")
    expect(page.locator("#series-progress")).to_have_text(f"0 of {SESSIONS} done")
    plan_rows = page.locator("main table tbody tr")
    expect(plan_rows).to_have_count(SESSIONS)
    for i in range(SESSIONS):
        expect(plan_rows.nth(i).locator("td").first).to_have_text(f"{i + 1} of {SESSIONS}")

    # What was booked is what the preview showed.
    sessions = list(plan.sessions.order_by("sequence"))
    booked_days = [timezone.localtime(s.starts_at).date() for s in sessions]
    assert [as_in_preview(d) for d in booked_days] == shown
    assert closed not in booked_days
    assert {s.room.name for s in sessions} == {"Room 2"}
    assert {s.practitioner.get_full_name() for s in sessions} == {"Inès Morel"}

    # The practitioner's week calendars, week by week from the first session, with "Next →".
    on_schedule = schedule_weeks(page, first.date(), max(booked_days), ines, "Camille Demoulin")
    assert on_schedule == {
        day.isoformat(): [("10:00–10:45", f"{i + 1} of {SESSIONS}")] for i, day in enumerate(booked_days)
    }
    page.goto(f"/schedule/?view=week&date={closed.isoformat()}&practitioner={ines.pk}")
    expect(page.locator(f'.cal-col[data-date="{closed.isoformat()}"] .cal-closed-day')).to_have_text(
        "Closed: Staff training"
    )

    # Session 4 moves two days later from its week's schedule, shifting 5 and 6;
    # session 5's shifted day is closed, so the preview moves it off with the reason.
    fourth = sessions[3]
    new_fourth = booked_days[3] + dt.timedelta(days=2)
    holiday = booked_days[4] + dt.timedelta(days=2)
    ClosedDay.objects.create(date=holiday, reason="Public holiday")
    # The keyboard path: the session opens in its panel, and Move opens the form.
    page.goto(f"/schedule/?view=week&date={booked_days[3].isoformat()}&practitioner={ines.pk}")
    page.locator(f'.cal-session[data-session="{fourth.pk}"] .cal-session-link').focus()
    page.keyboard.press("Enter")
    panel = page.locator("#session-dialog")
    expect(panel).to_be_visible()
    expect(panel).to_contain_text(f"session 4 of {SESSIONS}")
    panel.get_by_role("link", name="Move").click()
    expect(page.get_by_role("heading", name="Move a session")).to_be_visible()
    expect(page.locator("main p").first).to_contain_text(f"Camille Demoulin, session 4 of {SESSIONS}, now")
    field(page, "New date").fill(new_fourth.isoformat())
    expect(page.get_by_role("checkbox", name=re.compile("Shift the later sessions"))).to_be_checked()
    with page.expect_navigation():
        page.get_by_role("button", name="Preview", exact=True).click()
    moved = page.locator("#preview tbody tr")
    expect(moved).to_have_count(3)
    expect(moved.nth(0).locator("td").nth(0)).to_have_text(f"4 of {SESSIONS}")
    expect(moved.nth(0).locator("td").nth(2)).to_have_text(f"{as_in_preview(new_fourth)} 10:00")
    expect(moved.nth(1).locator("td").nth(3)).to_have_text("moved off: closed day (Public holiday)")
    assert TreatmentSession.objects.get(pk=fourth.pk).starts_at == fourth.starts_at, "the preview must save nothing"
    page.get_by_role("button", name="Confirm the move").click()
    page.wait_for_url(re.compile(r"/schedule/\?view=week"))
    expect(page.get_by_role("status")).to_contain_text("Moved 3 sessions of Camille Demoulin.")

    # The schedule still shows all six, in order, at 10:00, none on a closed day.
    moved_days = [timezone.localtime(s.starts_at).date() for s in plan.sessions.order_by("starts_at")]
    assert moved_days[:3] == booked_days[:3]
    assert moved_days[3] == new_fourth
    assert holiday not in moved_days
    assert all(b - a >= dt.timedelta(days=13) for a, b in zip(moved_days, moved_days[1:], strict=False))
    on_schedule = schedule_weeks(page, first.date(), max(moved_days), ines, "Camille Demoulin")
    assert on_schedule == {
        day.isoformat(): [("10:00–10:45", f"{i + 1} of {SESSIONS}")] for i, day in enumerate(moved_days)
    }
