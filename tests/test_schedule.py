"""The schedule: the day as a time grid (a column per practitioner or room),
a practitioner's or room's week as a grid, everyone's week at a glance, and
the printable list; what each offers, and what each costs in queries."""

import datetime as dt
import itertools
import re
from types import SimpleNamespace
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import strip_tags

from sessions_app.models import ClosedDay, Role, Room
from sessions_app.views import schedule
from sessions_app.views.timegrid import Layout, grid_hours

from .factories import PARIS, make_client, make_plan, make_session, make_user, next_weekday_at


@pytest.fixture
def reception_client(client, reception):
    client.force_login(reception)
    return client


def schedule_url(**params):
    return reverse("schedule") + "?" + "&".join(f"{k}={v}" for k, v in params.items())


def column_items(response, kind: str) -> dict[str, list]:
    """The grid's items of a kind ("session", "free", "closed") by column label."""
    return {c.label: [i for i in c.items if i.kind == kind] for c in response.context["grid"].columns}


# --- The pure layout --------------------------------------------------------------------

HOURS = {d: [(dt.time(9), dt.time(13)), (dt.time(14), dt.time(19))] for d in range(5)} | {
    5: [(dt.time(9), dt.time(13))]
}


def test_the_grid_spans_the_opening_hours_on_whole_hours_and_takes_in_a_session_outside_them():
    monday = dt.date(2026, 11, 30)
    assert grid_hours([monday], HOURS, [], PARIS) == (9 * 60, 19 * 60)
    # A session booked before the hours changed, in the evening: the grid stretches to show it.
    evening = SimpleNamespace(
        starts_at=dt.datetime(2026, 11, 30, 19, 30, tzinfo=PARIS),
        ends_at=dt.datetime(2026, 11, 30, 20, 10, tzinfo=PARIS),
    )
    assert grid_hours([monday], HOURS, [evening], PARIS) == (9 * 60, 21 * 60)
    # A week shown with Sunday closed still starts and ends with the weekdays' hours.
    assert grid_hours([monday + dt.timedelta(days=6)], HOURS, [], PARIS) == (9 * 60, 18 * 60)


def test_a_session_is_placed_on_the_rows_of_its_minutes():
    layout = Layout(9 * 60, 19 * 60, PARIS)
    assert layout.rows == 120
    # 10:05-10:50: 13 rows down, 9 rows of five minutes.
    assert layout.place(
        dt.datetime(2026, 11, 30, 10, 5, tzinfo=PARIS), dt.datetime(2026, 11, 30, 10, 50, tzinfo=PARIS)
    ) == (
        14,
        9,
    )
    # Seven minutes still take two rows; a session from 08:00 is kept on the grid.
    assert (
        layout.place(dt.datetime(2026, 11, 30, 9, 0, tzinfo=PARIS), dt.datetime(2026, 11, 30, 9, 7, tzinfo=PARIS))[1]
        == 2
    )
    assert layout.place(
        dt.datetime(2026, 11, 30, 8, 0, tzinfo=PARIS), dt.datetime(2026, 11, 30, 9, 30, tzinfo=PARIS)
    ) == (1, 6)


# --- The day ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_day_has_a_column_per_practitioner_with_each_session_sized_by_its_length(reception_client):
    day = next_weekday_at(9)
    alice = make_user(Role.PRACTITIONER, first_name="Alice", last_name="Aubert")
    make_user(Role.PRACTITIONER, first_name="Bob", last_name="Brun")
    plan = make_plan(practitioner=alice, sessions_planned=6, client=make_client(first_name="Zoé", last_name="Roux"))
    make_session(plan=plan, starts_at=day - dt.timedelta(weeks=2), status="completed")
    make_session(
        plan=plan, starts_at=day + dt.timedelta(hours=1), ends_at=day + dt.timedelta(hours=2), status="confirmed"
    )
    response = reception_client.get(schedule_url(date=day.date().isoformat()))
    sessions = column_items(response, "session")
    assert set(sessions) == {"Alice Aubert", "Bob Brun"}
    [block] = sessions["Alice Aubert"]
    assert (block.row, block.span) == (13, 12)  # 10:00, an hour
    assert sessions["Bob Brun"] == []
    page = response.content.decode()
    assert "Zoé Roux" in page
    assert "2 of 6" in page  # its place among the kept sessions
    assert "Confirmed" in page


@pytest.mark.django_db
def test_the_day_per_room_has_a_column_per_room(reception_client):
    day = next_weekday_at(9)
    make_session(starts_at=day, room=Room.objects.get(name="Room 2"))
    response = reception_client.get(schedule_url(date=day.date().isoformat(), by="room"))
    sessions = column_items(response, "session")
    assert list(sessions) == [r.name for r in Room.objects.filter(active=True)]
    assert [len(v) for v in sessions.values()] == [0, 1, 0]


@pytest.mark.django_db
def test_free_time_between_bookings_is_a_link_to_book_there(reception_client, practitioner):
    day = next_weekday_at(9)
    make_session(practitioner=practitioner, starts_at=day.replace(hour=10), ends_at=day.replace(hour=11))
    response = reception_client.get(schedule_url(date=day.date().isoformat(), practitioner=practitioner.pk))
    [column] = response.context["grid"].columns
    free = [
        (i.start.astimezone(PARIS).time(), i.end.astimezone(PARIS).time()) for i in column.items if i.kind == "free"
    ]
    assert free == [(dt.time(9), dt.time(10)), (dt.time(11), dt.time(13)), (dt.time(14), dt.time(19))]
    link = next(i.url for i in column.items if i.kind == "free")
    query = parse_qs(urlsplit(link).query)
    assert urlsplit(link).path == reverse("book_series")
    assert query == {"date": [day.date().isoformat()], "practitioner": [str(practitioner.pk)], "time": ["09:00"]}
    # The lunch hour is closed, shaded with its reason.
    closed = [(i.row, i.span, i.label) for i in column.items if i.kind == "closed"]
    assert (49, 12, "Closed") in closed


@pytest.mark.django_db
def test_time_gone_by_is_not_offered_as_free(reception_client, practitioner):
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    response = reception_client.get(schedule_url(date=yesterday.isoformat(), practitioner=practitioner.pk))
    assert column_items(response, "free") == {str(practitioner): []}


@pytest.mark.django_db
@pytest.mark.parametrize(("closed", "label"), [(True, "Closed: Inventory"), (False, "Closed on Sundays")])
def test_a_closed_day_is_shaded_whole_with_its_reason_and_offers_nothing(reception_client, practitioner, closed, label):
    day = next_weekday_at(9, weekday=2 if closed else 6).date()
    if closed:
        ClosedDay.objects.create(date=day, reason="Inventory")
    response = reception_client.get(schedule_url(date=day.isoformat(), practitioner=practitioner.pk))
    [column] = response.context["grid"].columns
    assert column.closed == label
    assert [(i.kind, i.label) for i in column.items] == [("closed", label)]
    assert label in response.content.decode()


@pytest.mark.django_db
def test_today_has_a_now_line_other_days_none(client, reception, practitioner, monkeypatch):
    day = next_weekday_at(9)
    monkeypatch.setattr(timezone, "now", lambda: day.replace(hour=11, minute=20))
    client.force_login(reception)  # signed in on that day
    reception_client = client
    client_page = reception_client.get(schedule_url(date=day.date().isoformat(), practitioner=practitioner.pk))
    [column] = client_page.context["grid"].columns
    assert column.is_today and column.now_row == (11 * 60 + 20 - 9 * 60) // 5 + 1
    tomorrow = reception_client.get(
        schedule_url(date=(day + dt.timedelta(days=1)).date().isoformat(), practitioner=practitioner.pk)
    )
    assert tomorrow.context["grid"].columns[0].now_row is None


@pytest.mark.django_db
def test_only_sessions_that_may_move_can_be_dragged(reception_client, practitioner):
    day = next_weekday_at(9)
    booked = make_session(practitioner=practitioner, starts_at=day.replace(hour=10))
    done = make_session(practitioner=practitioner, starts_at=day.replace(hour=12), status="completed")
    page = reception_client.get(schedule_url(date=day.date().isoformat())).content.decode()
    assert f'data-session="{booked.pk}" data-move-url="{reverse("session_move", args=[booked.pk])}"' in page
    assert f'data-session="{done.pk}">' in page and reverse("session_move", args=[done.pk]) not in page


@pytest.mark.django_db
def test_cancelled_sessions_are_listed_below_the_grid_when_asked_for(reception_client, practitioner):
    day = next_weekday_at(9)
    gone = make_session(practitioner=practitioner, starts_at=day, status="cancelled", cancellation="late")
    make_session(practitioner=practitioner, starts_at=day)  # its slot, booked again
    hidden = reception_client.get(schedule_url(date=day.date().isoformat()))
    assert hidden.context["cancelled"] == []
    shown = reception_client.get(schedule_url(date=day.date().isoformat(), cancelled=1))
    assert shown.context["cancelled"] == [gone]
    assert "(by the client, late)" in shown.content.decode()
    assert sum(len(v) for v in column_items(shown, "session").values()) == 1


# --- The week ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_practitioner_s_week_is_seven_day_columns_with_every_session_no_pages(reception_client, practitioner):
    monday = next_weekday_at(9, weekday=0)
    for day in range(6):
        for hour in range(8):  # 48 sessions: two pages of the old list
            make_session(practitioner=practitioner, starts_at=monday + dt.timedelta(days=day, hours=hour, minutes=0))
    response = reception_client.get(
        schedule_url(view="week", date=monday.date().isoformat(), practitioner=practitioner.pk)
    )
    columns = response.context["grid"].columns
    assert [c.day.weekday() for c in columns] == list(range(7))
    assert [c.sessions for c in columns] == [8, 8, 8, 8, 8, 8, 0]
    assert response.context["total"] == 48
    assert columns[6].closed == "Closed on Sundays"
    assert f"Week of {monday:%d %B %Y}" in response.content.decode()


@pytest.mark.django_db
def test_everyone_s_week_at_a_glance_shows_every_session_on_its_row_and_day(reception_client):
    monday = next_weekday_at(9, weekday=0)
    alice, bob = make_user(Role.PRACTITIONER), make_user(Role.PRACTITIONER)
    # Plans of their own: a plan made for a session alone would bring a
    # practitioner of its own, and enough of them push Alice and Bob off the
    # first page of practitioners.
    for i in range(30):
        make_session(plan=make_plan(practitioner=alice), starts_at=monday + dt.timedelta(days=i % 5, hours=i // 5))
    make_session(
        plan=make_plan(practitioner=bob),
        starts_at=monday.replace(hour=10) + dt.timedelta(days=2),
        room=Room.objects.get(name="Room 2"),
    )
    response = reception_client.get(schedule_url(view="week", date=monday.date().isoformat()))
    rows = {row.label: row for row in response.context["overview"]}
    assert [c.count for c in rows[str(alice)].cells] == [6, 6, 6, 6, 6, 0, 0]
    assert [c.count for c in rows[str(bob)].cells] == [0, 0, 1, 0, 0, 0, 0]
    [segment] = rows[str(bob)].cells[2].segments
    assert (segment.left, segment.width) == (10.0, 7.5)  # 10:00 of 09:00-19:00, 45 minutes
    link = rows[str(bob)].cells[2].url
    assert parse_qs(urlsplit(link).query) == {
        "view": ["day"],
        "date": [(monday + dt.timedelta(days=2)).date().isoformat()],
        "practitioner": [str(bob.pk)],
    }


# --- Query counts -----------------------------------------------------------------------


def add_sessions(practitioners, day, first, last):
    """Sessions `first` to `last` spread over the practitioners (each in a room
    of their own), twelve a day each, from `day`."""
    rooms = list(Room.objects.order_by("name"))
    for i in range(first, last):
        k = i % len(practitioners)
        n = i // len(practitioners)
        make_session(
            plan=make_plan(practitioner=practitioners[k]),
            starts_at=day + dt.timedelta(minutes=45 * (n % 12), days=n // 12 % 6),
            room=rooms[k % len(rooms)],
        )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("params", "queries"),
    [
        # session, user, roles and permissions (one query), practitioners, rooms, the
        # sessions (with series position), opening hours, closed days, the
        # clearance badge (latest screenings, allergies, fat-reduction
        # indications, consents to the text in force; no answers, so no
        # mixtures or areas to read).
        ({}, 12),
        ({"by": "room"}, 12),
        ({"view": "week", "practitioner": "P"}, 12),
        ({"view": "week", "room": "R"}, 12),
        # Everyone's week: no clearance badge.
        ({"view": "week"}, 8),
    ],
    ids=["day", "day per room", "practitioner's week", "room's week", "everyone's week"],
)
def test_the_calendar_costs_the_same_queries_whatever_it_holds(
    reception_client, django_assert_num_queries, params, queries
):
    monday = next_weekday_at(9, weekday=0)
    staff = [make_user(Role.PRACTITIONER) for _ in range(3)]
    params = {"date": monday.date().isoformat(), **params}
    params = {
        k: staff[0].pk if v == "P" else Room.objects.get(name="Room 1").pk if v == "R" else v for k, v in params.items()
    }
    url = schedule_url(**params)
    add_sessions(staff, monday, 0, 1)
    with django_assert_num_queries(queries):
        first = reception_client.get(url)
    add_sessions(staff, monday, 1, 60)
    with django_assert_num_queries(queries):
        second = reception_client.get(url)
    assert second.context["total"] > first.context["total"] >= 1


@pytest.mark.django_db
def test_a_practitioner_s_calendar_with_the_alerts_costs_the_same_queries_whatever_it_holds(
    client, django_assert_num_queries
):
    monday = next_weekday_at(9, weekday=0)
    staff = [make_user(Role.PRACTITIONER) for _ in range(3)]
    client.force_login(staff[0])
    url = schedule_url(date=monday.date().isoformat())
    add_sessions(staff, monday, 0, 1)
    # What reception's day costs (12), and the alerts clinical roles see on the
    # badge: the clearance badge's screenings and allergies, then open side
    # effects, consent texts.
    with django_assert_num_queries(14):
        first = client.get(url)
    add_sessions(staff, monday, 1, 60)
    with django_assert_num_queries(14):
        second = client.get(url)
    assert second.context["total"] > first.context["total"] >= 1


# --- The printable list -----------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("view", ["day", "week"])
def test_the_list_query_count_does_not_grow_with_sessions(
    reception_client, view, django_assert_num_queries, monkeypatch
):
    monkeypatch.setattr(schedule, "SCHEDULE_PAGE_SIZE", 5)
    day = next_weekday_at(9)
    practitioner = make_user(Role.PRACTITIONER)
    url = schedule_url(view=view, date=day.date().isoformat(), layout="list")
    add_sessions([practitioner], day, 0, 1)
    # session, user, roles and permissions (one query), practitioners, rooms, sessions per
    # day, the page of sessions with series position, the clearance badge (latest
    # screenings, allergies, fat-reduction indications, consents to the text in
    # force; no answers, so no mixtures or areas to read).
    with django_assert_num_queries(11):
        first = reception_client.get(url)
    add_sessions([practitioner], day, 1, 25)
    with django_assert_num_queries(11):
        second = reception_client.get(url)
    assert second.context["total"] > first.context["total"]
    # The page holds at most a page of sessions, whatever the day or week holds.
    shown = sum(len(d.sessions) for d in second.context["list_days"])
    assert shown == 5 < second.context["total"]


@pytest.mark.django_db
def test_the_list_offers_each_session_the_actions_its_status_and_the_clock_allow(reception_client, practitioner):
    day = next_weekday_at(9, weeks_ahead=1)
    plan = make_plan(practitioner=practitioner)
    statuses = ["booked", "confirmed", "arrived", "completed", "no_show", "cancelled"]
    sessions = {
        status: make_session(
            plan=plan,
            sequence=i,
            starts_at=day + dt.timedelta(hours=i),
            status=status,
            completed_at=day if status == "completed" else None,
            cancellation="client" if status == "cancelled" else "",
        )
        for i, status in enumerate(statuses, start=1)
    }
    page = reception_client.get(
        schedule_url(date=day.date().isoformat(), cancelled="1", layout="list")
    ).content.decode()

    def offered(session) -> set[str]:
        row = page.split(f'data-session="{session.pk}"', 1)[1].split("</tr>", 1)[0]
        actions = {
            a
            for a in ("confirm", "arrive", "no_show", "cancel")
            if reverse("session_action", args=[session.pk, a]) in row
        }
        return actions | ({"move"} if reverse("session_move", args=[session.pk]) in row else set())

    # Next week: not arrived before its day, not a no-show before it begins.
    assert offered(sessions["booked"]) == {"confirm", "cancel", "move"}
    assert offered(sessions["confirmed"]) == {"cancel", "move"}
    for status in ("arrived", "completed", "no_show", "cancelled"):
        assert offered(sessions[status]) == set(), status


@pytest.mark.django_db
def test_on_its_day_a_session_offers_arrived_and_once_begun_no_show(client, reception, practitioner, monkeypatch):
    day = next_weekday_at(9)
    session = make_session(practitioner=practitioner, starts_at=day.replace(hour=10), status="confirmed")
    url = schedule_url(date=day.date().isoformat(), layout="list")
    arrive, no_show = (reverse("session_action", args=[session.pk, a]) for a in ("arrive", "no_show"))
    monkeypatch.setattr(timezone, "now", lambda: day.replace(hour=9, minute=50))
    client.force_login(reception)  # signed in on that day
    reception_client = client
    page = reception_client.get(url).content.decode()
    assert arrive in page and no_show not in page
    monkeypatch.setattr(timezone, "now", lambda: day.replace(hour=10, minute=10))
    page = reception_client.get(url).content.decode()
    assert arrive in page and no_show in page
    assert "Not arrived" in page  # begun, the client not marked arrived


@pytest.mark.django_db
def test_a_busy_week_list_comes_in_pages_and_says_where_each_day_is(reception_client, monkeypatch):
    monkeypatch.setattr(schedule, "SCHEDULE_PAGE_SIZE", 3)
    monday = next_weekday_at(9, weekday=0)
    practitioner = make_user(Role.PRACTITIONER)
    # Monday four sessions, Tuesday none, Wednesday two: three a page.
    for day, count in ((0, 4), (2, 2)):
        for i in range(count):
            make_session(practitioner=practitioner, starts_at=monday + dt.timedelta(days=day, hours=i))
    url = schedule_url(view="week", date=monday.date().isoformat(), layout="list")

    first = reception_client.get(url)
    days = {d.day.weekday(): d for d in first.context["list_days"]}
    assert first.context["total"] == 6
    assert [len(days[0].sessions), days[0].count, days[0].other_pages] == [3, 4, [2]]
    assert [len(days[1].sessions), days[1].count] == [0, 0]
    assert [len(days[2].sessions), days[2].count, days[2].other_pages] == [0, 2, [2]]
    page = first.content.decode()
    assert f"Week of {monday:%d %B %Y}" in page
    assert "Sessions 1–3 of 6, page 1 of 2" in page
    assert "More of this day on page" in page and "2 sessions, on page" in page and "No sessions." in page

    second = reception_client.get(url + "&page=2")
    days = {d.day.weekday(): d for d in second.context["list_days"]}
    assert [len(days[0].sessions), days[0].other_pages] == [1, [1]]
    assert len(days[2].sessions) == 2
    shown = [s.pk for d in (first, second) for day in d.context["list_days"] for s in day.sessions]
    assert len(shown) == len(set(shown)) == 6, "every session once, on one page or the other"
    # A page that does not exist is the nearest one, never an error.
    assert reception_client.get(url + "&page=9").context["page"].number == 2
    assert reception_client.get(url + "&page=x").context["page"].number == 1
    for forged in ("²", "9" * 5000):  # pass str.isdigit(), make int() raise: once a 500
        assert reception_client.get(url + "&page=" + quote(forged)).context["page"].number == 1


# --- Filters and nonsense ---------------------------------------------------------------


@pytest.mark.django_db
def test_the_schedule_filters_by_practitioner_and_room(reception_client):
    day = next_weekday_at(9)
    alice, bob = make_user(Role.PRACTITIONER), make_user(Role.PRACTITIONER)
    make_session(practitioner=alice, starts_at=day)
    make_session(practitioner=bob, starts_at=day, room=Room.objects.get(name="Room 2"))
    by_alice = reception_client.get(schedule_url(date=day.date().isoformat(), practitioner=alice.pk))
    assert by_alice.context["total"] == 1
    assert [c.label for c in by_alice.context["grid"].columns] == [str(alice)]
    by_room = reception_client.get(schedule_url(date=day.date().isoformat(), room=Room.objects.get(name="Room 2").pk))
    assert [i.session.practitioner for i in column_items(by_room, "session")["Room 2"]] == [bob]
    listed = reception_client.get(
        schedule_url(date=day.date().isoformat(), room=Room.objects.get(name="Room 2").pk, layout="list")
    )
    assert [s.practitioner for d in listed.context["list_days"] for s in d.sessions] == [bob]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "params", [{"date": "9999-12-31"}, {"date": "0001-01-01"}, {"date": "9999-12-31", "view": "week"}]
)
def test_schedule_clamps_absurd_dates_instead_of_failing(reception_client, params):
    response = reception_client.get(schedule_url(**params))
    assert response.status_code == 200
    assert abs(response.context["day"].year - timezone.localdate().year) <= 10


@pytest.mark.django_db
def test_schedule_ignores_nonsense_parameters(reception_client):
    response = reception_client.get(schedule_url(date="31-02-2026", practitioner="x' or 1=1", view="year", by="moon"))
    assert response.status_code == 200
    assert response.context["view"] == "day"
    assert not response.context["by_room"]


@pytest.mark.django_db
def test_the_schedule_says_how_to_move_and_book_from_the_calendar(reception_client):
    page = strip_tags(reception_client.get(schedule_url()).content.decode())
    assert re.search(r"Drag a session to move it, or open it and choose Move", page)


@pytest.mark.django_db
def test_everyone_s_day_comes_a_few_columns_a_page_whatever_the_size_of_the_clinic(reception_client, monkeypatch):
    monkeypatch.setattr(schedule, "DAY_COLUMNS", 2)
    day = next_weekday_at(9)
    staff = [make_user(Role.PRACTITIONER, last_name=f"Practitioner {letter}") for letter in "ABCDE"]
    for who, room in zip(staff, Room.objects.all(), strict=False):  # A, B and C have a session
        make_session(plan=make_plan(practitioner=who), starts_at=day, room=room)
    first = reception_client.get(schedule_url(date=day.date().isoformat()))
    assert [c.practitioner for c in first.context["grid"].columns] == staff[:2]
    assert first.context["total"] == 2  # the sessions of the columns shown
    page = first.content.decode()
    assert "Practitioners 1–2 of 5" in page and "Next practitioners" in page
    last = reception_client.get(schedule_url(date=day.date().isoformat(), cols=3))
    assert [c.practitioner for c in last.context["grid"].columns] == staff[4:]
    assert reception_client.get(schedule_url(date=day.date().isoformat(), cols="x")).context["columns_page"].number == 1


@pytest.mark.django_db
def test_everyone_s_week_comes_a_few_practitioners_a_page_and_keeps_the_page_from_week_to_week(
    reception_client, monkeypatch
):
    monkeypatch.setattr(schedule, "DAY_COLUMNS", 2)
    monday = next_weekday_at(9, weekday=0)
    staff = [make_user(Role.PRACTITIONER, last_name=f"Practitioner {letter}") for letter in "ABCDE"]
    tuesday = itertools.count()  # one after the other, in the one room
    for k, who in enumerate(staff):  # k + 1 sessions each, on Tuesday
        for _ in range(k + 1):
            start = monday + dt.timedelta(days=1, minutes=45 * next(tuesday))
            make_session(plan=make_plan(practitioner=who), starts_at=start)
    week = monday.date().isoformat()
    first = reception_client.get(schedule_url(view="week", date=week))
    assert [row.label for row in first.context["overview"]] == [str(p) for p in staff[:2]]
    assert first.context["total"] == 1 + 2  # the sessions of the rows shown
    page = strip_tags(first.content.decode())
    assert "Practitioners 1–2 of 5" in page and "Next practitioners" in page
    middle = reception_client.get(reverse("schedule") + first.context["columns_links"]["next"])
    rows = middle.context["overview"]
    assert [row.label for row in rows] == [str(p) for p in staff[2:4]]
    page = middle.content.decode()
    # The filter form keeps the page too; the count says whose sessions it counts.
    assert '<input type="hidden" name="cols" value="2">' in page
    assert "7 sessions with these practitioners." in strip_tags(page)
    assert [[c.count for c in row.cells] for row in rows] == [[0, 3, 0, 0, 0, 0, 0], [0, 4, 0, 0, 0, 0, 0]]
    # The next week, and the day a cell opens as a whole, show the same practitioners.
    following = reception_client.get(reverse("schedule") + middle.context["links"]["next"])
    assert [row.label for row in following.context["overview"]] == [str(p) for p in staff[2:4]]
    day = reception_client.get(reverse("schedule") + middle.context["links"]["day"])
    assert [c.practitioner for c in day.context["grid"].columns] == staff[2:4]
    # Per room starts again from the first rooms.
    assert "cols" not in parse_qs(urlsplit(middle.context["links"]["by_room"]).query)


@pytest.mark.django_db
def test_hostile_text_on_the_calendar_s_blocks_and_badges_is_shown_escaped(client, practitioner):
    """The blocks and badges are written in Python (sessions_app/badges.py):
    a client's name and an allergy's name reach the page as text, not HTML."""
    from sessions_app.models import Substance

    hostile = '<img src=x onerror="alert(1)">'
    day = next_weekday_at(10)
    who = make_client(first_name=hostile, last_name="Roux")
    plan = make_plan(practitioner=practitioner, client=who)
    make_session(plan=plan, starts_at=day, status="booked")
    products = [c.product_id for c in plan.mixture.components.all()]
    substance = Substance.objects.filter(products__in=products).first()
    substance.name = f"{hostile} lidocaine"
    substance.save()
    who.allergies.add(substance)
    client.force_login(practitioner)
    date = day.date().isoformat()
    escaped = "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;"
    for params, shown in (
        # The client's name on the block (its text and its title), the allergy
        # on the clearance badge's reasons and on the alert badge.
        ({"date": date}, 4),
        ({"view": "week", "date": date, "practitioner": practitioner.pk}, 4),
        # Everyone's week at a glance: the name on the session's mark.
        ({"view": "week", "date": date}, 1),
    ):
        page = client.get(reverse("schedule"), params).content.decode()
        assert "<img" not in page
        assert page.count(escaped) == shown, params
