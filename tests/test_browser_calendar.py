"""Reception on the calendar in a real browser (headless Chromium, live server):
drags a session to a free slot and confirms, in two actions; drags one onto a
booked slot and reads why; clicks free time and books a series there; picks
another slot for a clashing session of a series; undoes a mistaken "Arrived";
and is refused an arrival for Monday on a Saturday. On a tablet, a half-hour
session of a practitioner's week or of everyone's day keeps its warning and
status in view."""

import datetime as dt
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from sessions_app.models import ClosedDay, Role, Room, SessionStatus, TreatmentPlan, TreatmentSession

from .browser import TABLET
from .factories import make_client, make_plan, make_session, make_user, next_weekday_at

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def field(page, label: str):
    """The form field with this label, whether or not it is marked required (*)."""
    return page.get_by_label(re.compile(rf"^\s*{re.escape(label)}\s*\*?\s*$"))


def point_at(page, column, minute: int) -> tuple[float, float]:
    """Where on the screen `column`'s body shows the wall-clock `minute`."""
    cal = page.locator(".cal")
    first = int(cal.get_attribute("data-first-minute"))
    body = column.locator(".cal-body")
    body.scroll_into_view_if_needed()
    box = body.bounding_box()
    rows = box["height"] / int(
        page.evaluate("getComputedStyle(document.querySelector('.cal')).getPropertyValue('--rows')")
    )
    return box["x"] + box["width"] / 2, box["y"] + (minute - first) / 5 * rows + 2


def drag(page, block, column, minute: int, *, before_drop=None) -> None:
    """Press on `block`, move it so that its top lands on `minute` of `column`, release."""
    block.scroll_into_view_if_needed()
    box = block.bounding_box()
    page.mouse.move(box["x"] + 12, box["y"] + 4)
    page.mouse.down()
    page.mouse.move(box["x"] + 20, box["y"] + 20, steps=4)
    x, y = point_at(page, column, minute)
    page.mouse.move(x, y + 4, steps=12)
    if before_drop:
        before_drop()
    page.mouse.up()


def column_of(page, practitioner):
    return page.locator(f'.cal-col[data-practitioner="{practitioner.pk}"]')


@pytest.fixture
def ines():
    return make_user(Role.PRACTITIONER, first_name="Inès", last_name="Morel")


def test_reception_drags_a_session_to_a_free_slot_and_confirms_in_two_actions(reception_page, ines):
    page = reception_page
    hugo = make_user(Role.PRACTITIONER, first_name="Hugo", last_name="Bernard")
    day = next_weekday_at(10)
    session = make_session(
        plan=make_plan(client=make_client(first_name="Camille", last_name="Demoulin"), practitioner=ines),
        starts_at=day,
    )
    page.goto(f"/schedule/?date={day:%Y-%m-%d}")
    block = page.locator(f'.cal-session[data-session="{session.pk}"]')
    expect(block).to_contain_text("Camille Demoulin")
    actions = 0

    # 1: drag it to 15:00 in Hugo Bernard's column.
    drag(page, block, column_of(page, hugo), 15 * 60)
    actions += 1
    page.wait_for_url(re.compile(r"/sessions/\d+/move/\?"))
    expect(page.locator("#move-refusal")).to_have_count(0)
    expect(page.locator("#preview tbody tr").first.locator("td").nth(2)).to_contain_text(f"{day:%a %d %b %Y} 15:00")
    expect(page.locator("#preview")).to_contain_text("Hugo Bernard")
    assert TreatmentSession.objects.get(pk=session.pk).starts_at == day, "the preview must save nothing"

    # 2: confirm.
    page.get_by_role("button", name="Confirm the move").click()
    actions += 1
    page.wait_for_url(re.compile(r"/schedule/\?date="))
    expect(page.get_by_role("status")).to_contain_text("Moved 1 session of Camille Demoulin.")
    assert actions == 2
    session.refresh_from_db()
    assert (session.starts_at, session.practitioner) == (day.replace(hour=15), hugo)
    expect(column_of(page, hugo).locator(f'.cal-session[data-session="{session.pk}"] .cal-time')).to_have_text(
        "15:00–15:45"
    )


def test_a_drop_on_a_booked_slot_says_why_and_moves_nothing(reception_page, ines):
    page = reception_page
    day = next_weekday_at(10)
    session = make_session(plan=make_plan(practitioner=ines), starts_at=day)
    make_session(
        plan=make_plan(client=make_client(first_name="Jules", last_name="Lemaire"), practitioner=ines),
        starts_at=day.replace(hour=15),
        room=Room.objects.get(name="Room 2"),
    )
    page.goto(f"/schedule/?date={day:%Y-%m-%d}&practitioner={ines.pk}")
    block = page.locator(f'.cal-session[data-session="{session.pk}"]')
    hint = []
    drag(
        page,
        block,
        column_of(page, ines),
        15 * 60,
        before_drop=lambda: hint.append(page.locator(".cal-drop").inner_text()),
    )
    # While dragged over it, the slot says what is in the way.
    assert hint == ["15:00 · Booked: Jules Lemaire"]
    page.wait_for_url(re.compile(r"/sessions/\d+/move/\?"))
    expect(page.locator("#move-refusal")).to_contain_text(f"Not at {day:%a %d %b} 15:00: practitioner already booked.")
    expect(page.locator("#move-refusal")).to_contain_text("The nearest free slot is")
    assert TreatmentSession.objects.get(pk=session.pk).starts_at == day
    # Keep it where it is: back to the calendar, nothing moved.
    page.get_by_role("link", name="Keep it where it is").click()
    page.wait_for_url(re.compile(r"/schedule/"))
    assert TreatmentSession.objects.get(pk=session.pk).starts_at == day


def test_a_drop_on_a_closed_hour_says_why(reception_page, ines):
    page = reception_page
    day = next_weekday_at(10)
    session = make_session(plan=make_plan(practitioner=ines), starts_at=day)
    page.goto(f"/schedule/?date={day:%Y-%m-%d}&practitioner={ines.pk}")
    drag(page, page.locator(f'.cal-session[data-session="{session.pk}"]'), column_of(page, ines), 13 * 60)
    page.wait_for_url(re.compile(r"/sessions/\d+/move/\?"))
    expect(page.locator("#move-refusal")).to_contain_text(f"Not at {day:%a %d %b} 13:00: outside opening hours.")


def test_reception_clicks_free_time_and_books_a_series_there(reception_page, ines):
    page = reception_page
    patient = make_client(first_name="Léa", last_name="Fontaine")
    day = next_weekday_at(10)
    make_session(plan=make_plan(practitioner=ines), starts_at=day.replace(hour=9), ends_at=day.replace(hour=10))
    page.goto(f"/schedule/?date={day:%Y-%m-%d}&practitioner={ines.pk}")
    free = column_of(page, ines).locator(".cal-free").first
    expect(free).to_have_attribute("data-start", "10:00")
    # A click on the 10:30 quarter of the free period.
    x, y = point_at(page, column_of(page, ines), 10 * 60 + 30)
    page.mouse.click(x, y + 3)
    page.wait_for_url(re.compile(r"/book/\?"))
    expect(page.locator("#from-calendar")).to_contain_text(f"{day:%A %d %B %Y} at 10:30 with Inès Morel in Room 1")
    expect(field(page, "Practitioner")).to_have_value(str(ines.pk))
    expect(field(page, "First date")).to_have_value(f"{day:%Y-%m-%d}")
    expect(field(page, "Time")).to_have_value("10:30")
    search = page.get_by_role("searchbox")
    search.press_sequentially("fonta", delay=30)
    page.get_by_role("radio", name=re.compile(r"^Léa Fontaine")).check()
    field(page, "Indication").select_option(label="Skin rejuvenation")
    field(page, "Mixture").select_option(label="Facial rejuvenation")
    page.get_by_label("Face", exact=True).check()
    field(page, "Number of sessions").fill("4")
    with page.expect_navigation():
        page.get_by_role("button", name="Preview the dates").click()
    page.get_by_role("button", name="Confirm and book 4 sessions").click()
    page.wait_for_url(re.compile(r"/plans/\d+/$"))
    plan = TreatmentPlan.objects.get(client=patient)
    first = plan.sessions.order_by("starts_at").first()
    assert (first.starts_at, first.practitioner, first.room.name) == (day.replace(minute=30), ines, "Room 1")
    assert plan.sessions.count() == 4


def test_reception_picks_another_slot_for_a_clashing_session(reception_page, ines):
    page = reception_page
    patient = make_client(first_name="Nina", last_name="Perrin")
    first = next_weekday_at(10, weeks_ahead=2)
    # Session 2's date is taken at 10:00.
    make_session(plan=make_plan(practitioner=ines), starts_at=first + dt.timedelta(weeks=2))
    page.goto(f"/book/?date={first:%Y-%m-%d}&time=10:00&practitioner={ines.pk}")
    page.get_by_role("searchbox").press_sequentially("perrin", delay=30)
    page.get_by_role("radio", name=re.compile(r"^Nina Perrin")).check()
    field(page, "Indication").select_option(label="Skin rejuvenation")
    field(page, "Mixture").select_option(label="Facial rejuvenation")
    page.get_by_label("Face", exact=True).check()
    field(page, "Number of sessions").fill("3")
    with page.expect_navigation():
        page.get_by_role("button", name="Preview the dates").click()
    second = page.locator('#preview tr[data-sequence="2"]')
    expect(second.locator(".slot-note")).to_contain_text("practitioner already booked")
    pick = second.get_by_label("Session 2", exact=True)
    options = pick.locator("option").all_inner_texts()
    assert options[-1] == "Another date and time…" and len(options) == 7
    wanted = options[2]  # the second of the other free slots offered
    # Choosing it updates the preview at once.
    with page.expect_navigation():
        pick.select_option(label=wanted)
    second = page.locator('#preview tr[data-sequence="2"]')
    expect(second.locator("option:checked")).to_have_text(wanted)
    expect(second.locator(".slot-note")).to_have_text("Your choice.")
    page.get_by_role("button", name="Confirm and book 3 sessions").click()
    page.wait_for_url(re.compile(r"/plans/\d+/$"))
    plan = TreatmentPlan.objects.get(client=patient)
    booked = timezone.localtime(plan.sessions.get(sequence=2).starts_at)
    assert f"{booked:%a %d %b %Y}, {booked:%H:%M}" == wanted


def test_reception_undoes_a_mistaken_arrived(sign_in_as, ines, monkeypatch):
    # A Tuesday at 10:00, whenever the test runs: the client is marked arrived
    # half an hour early, by mistake.
    start = next_weekday_at(10, minute=30)
    ClosedDay.objects.filter(date=start.date()).delete()
    now = start - dt.timedelta(minutes=30)
    monkeypatch.setattr(timezone, "now", lambda: now)
    page, _ = sign_in_as(Role.RECEPTION)
    session = make_session(
        plan=make_plan(client=make_client(first_name="Marc", last_name="Aubry"), practitioner=ines),
        starts_at=start,
        status=SessionStatus.CONFIRMED,
    )
    page.goto(f"/schedule/?date={start:%Y-%m-%d}&practitioner={ines.pk}")
    page.locator(f'.cal-session[data-session="{session.pk}"] .cal-session-link').click()
    panel = page.locator("#session-dialog")
    expect(panel).to_contain_text("Marc Aubry")
    panel.get_by_role("button", name="Arrived").click()
    message = page.get_by_role("status").filter(has_text="Marc Aubry")
    expect(message).to_contain_text(": arrived.")
    assert TreatmentSession.objects.get(pk=session.pk).status == SessionStatus.ARRIVED
    message.get_by_role("button", name="Undo").click()
    expect(page.get_by_role("status").filter(has_text="Undone")).to_contain_text(
        "Undone: Marc Aubry's session is confirmed again."
    )
    session.refresh_from_db()
    assert (session.status, session.undo_status) == (SessionStatus.CONFIRMED, "")
    assert [h.status for h in session.history.order_by("history_date")][-2:] == ["arrived", "confirmed"]


def test_a_saturday_arrival_for_monday_is_refused(sign_in_as, ines, monkeypatch):
    monday = next_weekday_at(10, weekday=0)
    saturday = (monday - dt.timedelta(days=2)).replace(hour=11)
    ClosedDay.objects.filter(date__in=[monday.date(), saturday.date()]).delete()
    session = make_session(plan=make_plan(practitioner=ines), starts_at=monday, status=SessionStatus.CONFIRMED)
    monkeypatch.setattr(timezone, "now", lambda: saturday)
    page, _ = sign_in_as(Role.RECEPTION)
    page.goto(f"/schedule/?date={monday:%Y-%m-%d}&practitioner={ines.pk}")
    page.locator(f'.cal-session[data-session="{session.pk}"] .cal-session-link').click()
    panel = page.locator("#session-dialog")
    expect(panel).to_be_visible()
    expect(panel.get_by_role("button", name="Arrived")).to_have_count(0)
    expect(panel.locator("#not-now")).to_contain_text(
        f"This session is on {monday:%A %d %B %Y}: the client can be marked arrived only on that day."
    )
    # Forged anyway (an old page, a crafted form): refused with the same reason.
    page.evaluate(
        """([url, token]) => {
            const form = document.createElement("form");
            form.method = "post"; form.action = url;
            const input = document.createElement("input");
            input.name = "csrfmiddlewaretoken"; input.value = token; form.appendChild(input);
            document.body.appendChild(form); form.submit();
        }""",
        [f"/sessions/{session.pk}/arrive/", page.locator("input[name=csrfmiddlewaretoken]").first.input_value()],
    )
    expect(page.get_by_role("alert")).to_contain_text("the client can be marked arrived only on that day")
    assert TreatmentSession.objects.get(pk=session.pk).status == SessionStatus.CONFIRMED


@pytest.mark.parametrize("view", ["week", "everyone's day"])
def test_a_half_hour_session_on_a_tablet_keeps_its_warning_and_status_in_view(sign_in_as, ines, view):
    # On a tablet (820 px), a practitioner's week has seven columns and
    # everyone's day eight: a half-hour session of a client with a long name
    # and no screening on record keeps its warning and its status inside the
    # block, on one line under a one-line name, the warning first. A shorter
    # session shows its time and name alone.
    start = next_weekday_at(10, minute=30)
    ClosedDay.objects.filter(date=start.date()).delete()
    client = make_client(first_name="Maximiliana", last_name="Vandenberghe-Oyelaran")
    session = make_session(
        plan=make_plan(client=client, practitioner=ines),
        starts_at=start,
        ends_at=start + dt.timedelta(minutes=30),
        status=SessionStatus.CONFIRMED,
    )
    # Under half an hour there is room for one line: the time and the name, no badges.
    short = make_session(
        plan=make_plan(client=make_client(first_name="Ana", last_name="Bo"), practitioner=ines),
        starts_at=start + dt.timedelta(hours=1),
        ends_at=start + dt.timedelta(hours=1, minutes=20),
        status=SessionStatus.CONFIRMED,
    )
    page, _ = sign_in_as(Role.PRACTITIONER, TABLET)
    if view == "week":
        page.goto(f"/schedule/?view=week&date={start:%Y-%m-%d}&practitioner={ines.pk}")
    else:
        for n in range(7):
            make_user(Role.PRACTITIONER, first_name="Zoé", last_name=f"Zeller {n}")
        page.goto(f"/schedule/?date={start:%Y-%m-%d}")
        assert page.locator(".cal-col").count() == 8
    block = page.locator(f'.cal-session[data-session="{session.pk}"]')
    block.scroll_into_view_if_needed()
    warning, status = block.locator(".clearance-badge"), block.locator(".status-badge")
    expect(warning).to_have_text("Screening due")
    expect(status).to_have_text("Confirmed")
    inside = block.bounding_box()
    for badge in (warning, status):
        box = badge.bounding_box()
        assert inside["y"] <= box["y"] and box["y"] + box["height"] <= inside["y"] + inside["height"] + 0.5
    assert warning.bounding_box()["x"] < status.bounding_box()["x"]
    name = block.locator(".cal-client")
    line = float(name.evaluate("e => parseFloat(getComputedStyle(e).lineHeight)"))
    assert name.bounding_box()["height"] <= line + 1, "the name keeps to one line"
    assert "Maximiliana Vandenberghe-Oyelaran" in block.locator(".cal-session-link").get_attribute("title")
    short_block = page.locator(f'.cal-session[data-session="{short.pk}"]')
    expect(short_block.locator(".cal-client")).to_have_text("Ana Bo")
    expect(short_block.locator(".cal-meta")).to_be_hidden()
