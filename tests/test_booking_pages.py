"""Reception's pages: book a series, the schedule, actions, moves, the feed."""

import datetime as dt
import json
from urllib.parse import quote
from zoneinfo import ZoneInfo

import icalendar
import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from django.utils.html import strip_tags

from sessions_app.calendar_feed import calendar_token_revoke, calendar_token_rotate
from sessions_app.models import (
    ClosedDay,
    Indication,
    Mixture,
    Role,
    Room,
    SessionStatus,
    TreatmentArea,
    TreatmentPlan,
    TreatmentSession,
)
from sessions_app.services import maintenance, series, session_status
from sessions_app.views import schedule

from .factories import make_cleared, make_client, make_plan, make_session, make_user, next_weekday_at, sign_record

PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture
def reception_client(client, reception):
    client.force_login(reception)
    return client


def series_post(client_obj, practitioner, first: dt.datetime, **overrides):
    data = {
        "client": client_obj.pk,
        "indication": Indication.objects.get(name="Skin rejuvenation").pk,
        "areas": [TreatmentArea.objects.get(name="Face").pk],
        "mixture": Mixture.objects.get(name="Facial rejuvenation").pk,
        "practitioner": practitioner.pk,
        "room": Room.objects.get(name="Room 1").pk,
        "sessions": 6,
        "interval": 2,
        "interval_unit": "weeks",
        "first_date": first.date().isoformat(),
        "first_time": first.strftime("%H:%M"),
        "duration": 45,
        "maintenance_interval_days": 90,
        "notes": "",
    }
    data.update(overrides)
    return data


def preview_then_confirm(http, data):
    preview = http.post(reverse("book_series"), data | {"action": "preview"})
    assert preview.status_code == 200
    signature = preview.context["signature"]
    return preview, http.post(reverse("book_series"), data | {"action": "confirm", "signature": signature})


@pytest.mark.django_db
def test_preview_saves_nothing_and_confirm_books_the_whole_series(reception_client, reception, practitioner):
    patient = make_client()
    first = next_weekday_at(10, weeks_ahead=2)
    ClosedDay.objects.create(date=(first + dt.timedelta(weeks=4)).date(), reason="Inventory")
    preview, confirm = preview_then_confirm(reception_client, series_post(patient, practitioner, first))
    assert "Proposed sessions" in preview.content.decode()
    assert "closed day (Inventory)" in preview.content.decode()
    plan = TreatmentPlan.objects.get(client=patient)
    assert confirm.status_code == 302
    assert confirm["Location"] == reverse("plan_detail", args=[plan.pk])
    sessions = list(plan.sessions.order_by("sequence"))
    assert len(sessions) == 6
    assert sessions[2].starts_at.astimezone(PARIS).date() != (first + dt.timedelta(weeks=4)).date()
    assert sessions[5].starts_at == first + dt.timedelta(weeks=10)
    # Written in bulk, each session still has its history row naming who booked it.
    history = TreatmentSession.history.filter(plan=plan)
    assert sorted(history.values_list("sequence", "history_type", "history_user")) == [
        (i, "+", reception.pk) for i in range(1, 7)
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("override", "field", "message"),
    [
        ({"interval": 0}, "interval", "at least 1"),
        ({"sessions": 16}, "sessions", "At most 15 sessions"),
        ({"room": 999999}, "room", "Unknown room"),
        ({"duration": 600}, "duration", "longer than the clinic's longest opening period"),
        ({"first_date": "2020-01-06"}, "first_date", "cannot be in the past"),
        ({"client": ""}, "client", "Choose the client"),
        ({"first_time": "ten"}, "first_time", "Enter a valid time"),
        # Out of range: a 500 on PostgreSQL or silently saved on SQLite before the bounds.
        ({"interval": 1_000_000, "interval_unit": "days", "sessions": 2}, "interval", "At most 365 days (52 weeks)"),
        ({"interval": 3000, "sessions": 2}, "interval", "At most 365 days (52 weeks)"),
        ({"interval": 53}, "interval", "At most 365 days (52 weeks)"),
        ({"interval": 10, "sessions": 15}, "interval", "more than two years ahead"),
        ({"maintenance_interval_days": 40_000}, "maintenance_interval_days", "at most every 730 days"),
        ({"maintenance_interval_days": 731}, "maintenance_interval_days", "at most every 730 days"),
        ({"first_date": "9999-12-30", "sessions": 1}, "first_date", "can be booked up to"),
        ({"first_date": "0001-01-01", "first_time": "00:00"}, "first_date", "cannot be in the past"),
    ],
)
def test_bad_input_is_shown_beside_the_field_and_nothing_is_saved(
    reception_client, practitioner, override, field, message
):
    data = series_post(make_client(), practitioner, next_weekday_at(10)) | override
    for action in ("preview", "confirm"):
        response = reception_client.post(reverse("book_series"), data | {"action": action, "signature": "x"})
        assert response.status_code == 200
        assert message in " ".join(response.context["form"].errors[field])
    assert TreatmentPlan.objects.count() == 0
    assert TreatmentSession.objects.count() == 0


@pytest.mark.django_db
def test_a_plan_the_model_refuses_is_shown_beside_the_field_not_a_500(reception_client, practitioner, monkeypatch):
    from django.core.exceptions import ValidationError

    def refuse(**kwargs):
        raise ValidationError({"interval_days": ["The interval between sessions is at most 365 days."]})

    monkeypatch.setattr(series, "plan_book", refuse)
    data = series_post(make_client(), practitioner, next_weekday_at(10, weeks_ahead=2))
    preview = reception_client.post(reverse("book_series"), data | {"action": "preview"})
    response = reception_client.post(
        reverse("book_series"), data | {"action": "confirm", "signature": preview.context["signature"]}
    )
    assert response.status_code == 200
    assert response.context["form"].errors["interval"] == ["The interval between sessions is at most 365 days."]


@pytest.mark.django_db
def test_a_booking_that_loses_the_race_says_slot_just_taken_with_the_nearest_free_slot(reception_client, practitioner):
    patient = make_client()
    first = next_weekday_at(10, weeks_ahead=2)
    data = series_post(patient, practitioner, first, sessions=2)
    preview = reception_client.post(reverse("book_series"), data | {"action": "preview"})
    signature = preview.context["signature"]
    # Another receptionist takes the first slot after our preview, before our confirm.
    original = series.series_preview
    calls = []

    def preview_before_the_other_booking(**kwargs):
        calls.append(1)
        result = original(**kwargs)
        if len(calls) == 1:
            make_session(
                plan=make_plan(practitioner=practitioner), practitioner=practitioner, starts_at=first, sequence=1
            )
        return result

    series.series_preview = preview_before_the_other_booking
    try:
        response = reception_client.post(reverse("book_series"), data | {"action": "confirm", "signature": signature})
    finally:
        series.series_preview = original
    assert response.status_code == 409
    page = response.content.decode()
    assert "was just taken" in page
    assert "nearest free slot" in page
    assert not TreatmentPlan.objects.filter(client=patient).exists()


@pytest.mark.django_db
def test_a_lost_race_quotes_the_nearest_free_slot_of_the_session_that_lost(reception_client, practitioner, monkeypatch):
    first = next_weekday_at(10, weeks_ahead=2)
    ClosedDay.objects.create(date=first.date(), reason="Inventory")  # session 1 is moved off its day
    data = series_post(make_client(), practitioner, first, sessions=2)
    preview = reception_client.post(reverse("book_series"), data | {"action": "preview"})
    second = preview.context["proposal"][1].start
    original, calls = series.series_preview, []

    def preview_before_the_other_booking(**kwargs):
        calls.append(1)
        result = original(**kwargs)
        if len(calls) == 1:  # another receptionist takes session 2's slot
            make_session(plan=make_plan(practitioner=practitioner), practitioner=practitioner, starts_at=second)
        return result

    monkeypatch.setattr(series, "series_preview", preview_before_the_other_booking)
    response = reception_client.post(
        reverse("book_series"), data | {"action": "confirm", "signature": preview.context["signature"]}
    )
    assert response.status_code == 409
    one, two = response.context["proposal"]
    text = " ".join(str(m) for m in response.context["messages"])
    assert f"The slot at {timezone.localtime(second):%d/%m/%Y %H:%M} was just taken" in text
    assert f"nearest free slot is {timezone.localtime(two.start):%A %d %B %Y at %H:%M}" in text
    assert f"{timezone.localtime(one.start):%A %d %B %Y}" not in text


@pytest.mark.django_db
@pytest.mark.parametrize("sessions", [2, 12])
def test_booking_preview_and_confirm_query_counts_do_not_grow_with_the_series(
    reception_client, practitioner, django_assert_num_queries, sessions
):
    data = series_post(make_client(), practitioner, next_weekday_at(10, weeks_ahead=2), sessions=sessions, interval=1)
    # session, user, user and group permissions; the protocols (and their
    # areas) the indication field carries; the form: client, indication,
    # areas, mixture, practitioner, room, the longest opening period; the
    # preview: opening hours, closed days, bookings; the page: groups
    # (navigation), and the choices of indication, mixture, areas, practitioner, room.
    with django_assert_num_queries(22):
        preview = reception_client.post(reverse("book_series"), data | {"action": "preview"})
    assert len(preview.context["proposal"]) == sessions
    # The same up to the bookings (no page), then: savepoint, the plan and its
    # history row, its areas (through rows read, area ids, existing ids, insert,
    # the plan's history row for the change, through rows, their history), one
    # conflicts query for all sessions, savepoint, one INSERT of the sessions,
    # one of their history rows, two releases.
    with django_assert_num_queries(32):
        confirm = reception_client.post(
            reverse("book_series"), data | {"action": "confirm", "signature": preview.context["signature"]}
        )
    assert confirm.status_code == 302
    assert TreatmentSession.objects.count() == sessions


@pytest.mark.django_db
def test_confirm_with_a_stale_preview_shows_the_new_dates_instead_of_booking(reception_client, practitioner):
    data = series_post(make_client(), practitioner, next_weekday_at(10, weeks_ahead=2))
    response = reception_client.post(reverse("book_series"), data | {"action": "confirm", "signature": "stale"})
    assert response.status_code == 200
    assert "changed since your preview" in response.content.decode()
    assert TreatmentPlan.objects.count() == 0


@pytest.mark.django_db
def test_client_lookup_finds_by_name_and_leaves_archived_clients_out(reception_client):
    make_client(first_name="Amélie", last_name="Poulain")
    make_client(first_name="Amélie", last_name="Pouliot", archived_at=timezone.now())
    response = reception_client.get(reverse("client_lookup"), {"q": "poul"})
    page = response.content.decode()
    assert "Amélie Poulain" in page
    assert "Pouliot" not in page


def schedule_url(**params):
    return reverse("schedule") + "?" + "&".join(f"{k}={v}" for k, v in params.items())


@pytest.mark.django_db
def test_schedule_lists_each_session_with_client_series_position_and_status(reception_client, practitioner):
    day = next_weekday_at(9)
    plan = make_plan(practitioner=practitioner, sessions_planned=6, client=make_client(first_name="Zoé"))
    make_session(
        plan=plan,
        starts_at=day - dt.timedelta(weeks=4),
        sequence=1,
        status="completed",
        completed_at=day - dt.timedelta(weeks=4),
    )
    make_session(plan=plan, starts_at=day - dt.timedelta(weeks=2), sequence=2, status="no_show")
    make_session(plan=plan, starts_at=day, sequence=3, status="confirmed")
    response = reception_client.get(schedule_url(date=day.date().isoformat()))
    [day] = response.context["days"]
    assert [s.plan.client.first_name for s in day.sessions] == ["Zoé"]
    page = response.content.decode()
    assert "2 of 6" in page  # the no-show does not count
    assert "Confirmed" in page


@pytest.mark.django_db
def test_the_schedule_offers_each_session_the_actions_its_status_allows(reception_client, practitioner):
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
        )
        for i, status in enumerate(statuses, start=1)
    }
    page = reception_client.get(schedule_url(date=day.date().isoformat(), cancelled="1")).content.decode()

    def offered(session) -> set[str]:
        row = page.split(f'data-session="{session.pk}"', 1)[1].split("</tr>", 1)[0]
        actions = {
            a
            for a in ("confirm", "arrive", "no_show", "cancel")
            if reverse("session_action", args=[session.pk, a]) in row
        }
        return actions | ({"move"} if reverse("session_move", args=[session.pk]) in row else set())

    assert offered(sessions["booked"]) == {"confirm", "arrive", "no_show", "cancel", "move"}
    assert offered(sessions["confirmed"]) == {"arrive", "no_show", "cancel", "move"}
    for status in ("arrived", "completed", "no_show", "cancelled"):
        assert offered(sessions[status]) == set(), status


@pytest.mark.django_db
@pytest.mark.parametrize("view", ["day", "week"])
def test_schedule_query_count_does_not_grow_with_sessions(
    reception_client, view, django_assert_num_queries, monkeypatch
):
    monkeypatch.setattr(schedule, "SCHEDULE_PAGE_SIZE", 5)
    day = next_weekday_at(9)
    practitioner = make_user(Role.PRACTITIONER)

    def add_sessions(first, last):
        for i in range(first, last):
            make_session(practitioner=practitioner, starts_at=day + dt.timedelta(minutes=45 * (i % 12), days=i // 12))

    add_sessions(0, 1)
    url = schedule_url(view=view, date=day.date().isoformat())
    # session, user, user and group permissions, practitioners, rooms, sessions per
    # day, the page of sessions with series position, the clearance badge (latest
    # screenings, allergies, mixtures' substances, plans' areas, fat-reduction
    # indications, consent text, consents; no answers to read), groups (navigation).
    with django_assert_num_queries(16):
        first = reception_client.get(url)
    add_sessions(1, 25)
    with django_assert_num_queries(16):
        second = reception_client.get(url)
    assert second.context["total"] > first.context["total"]
    # The page holds at most a page of sessions, whatever the day or week holds.
    shown = sum(len(d.sessions) for d in second.context["days"])
    assert shown == 5 < second.context["total"]


@pytest.mark.django_db
def test_a_busy_week_comes_in_pages_and_says_where_each_day_is(reception_client, monkeypatch):
    monkeypatch.setattr(schedule, "SCHEDULE_PAGE_SIZE", 3)
    monday = next_weekday_at(9, weekday=0)
    practitioner = make_user(Role.PRACTITIONER)
    # Monday four sessions, Tuesday none, Wednesday two: three a page.
    for day, count in ((0, 4), (2, 2)):
        for i in range(count):
            make_session(practitioner=practitioner, starts_at=monday + dt.timedelta(days=day, hours=i))
    url = schedule_url(view="week", date=monday.date().isoformat())

    first = reception_client.get(url)
    days = {d.day.weekday(): d for d in first.context["days"]}
    assert first.context["total"] == 6
    assert [len(days[0].sessions), days[0].count, days[0].other_pages] == [3, 4, [2]]
    assert [len(days[1].sessions), days[1].count] == [0, 0]
    assert [len(days[2].sessions), days[2].count, days[2].other_pages] == [0, 2, [2]]
    page = first.content.decode()
    assert f"Week of {monday:%d %B %Y}" in page
    assert "Sessions 1–3 of 6, page 1 of 2" in page
    assert "More of this day on page" in page and "2 sessions, on page" in page and "No sessions." in page

    second = reception_client.get(url + "&page=2")
    days = {d.day.weekday(): d for d in second.context["days"]}
    assert [len(days[0].sessions), days[0].other_pages] == [1, [1]]
    assert len(days[2].sessions) == 2
    shown = [s.pk for d in (first, second) for day in d.context["days"] for s in day.sessions]
    assert len(shown) == len(set(shown)) == 6, "every session once, on one page or the other"
    # A page that does not exist is the nearest one, never an error.
    assert reception_client.get(url + "&page=9").context["page"].number == 2
    assert reception_client.get(url + "&page=x").context["page"].number == 1
    for forged in ("²", "9" * 5000):  # pass str.isdigit(), make int() raise: once a 500
        assert reception_client.get(url + "&page=" + quote(forged)).context["page"].number == 1


@pytest.mark.django_db
def test_schedule_filters_by_practitioner_and_room(reception_client):
    day = next_weekday_at(9)
    alice, bob = make_user(Role.PRACTITIONER), make_user(Role.PRACTITIONER)
    make_session(practitioner=alice, starts_at=day)
    make_session(practitioner=bob, starts_at=day, room=Room.objects.get(name="Room 2"))
    by_alice = reception_client.get(schedule_url(date=day.date().isoformat(), practitioner=alice.pk))
    assert by_alice.context["total"] == 1
    by_room = reception_client.get(schedule_url(date=day.date().isoformat(), room=Room.objects.get(name="Room 2").pk))
    assert [s.practitioner for day in by_room.context["days"] for s in day.sessions] == [bob]


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
    response = reception_client.get(schedule_url(date="31-02-2026", practitioner="x' or 1=1", view="year"))
    assert response.status_code == 200
    assert response.context["view"] == "day"


@pytest.mark.django_db
def test_no_show_offers_to_rebook_at_the_end(reception_client, practitioner):
    plan = make_plan(practitioner=practitioner, sessions_planned=2)
    one = make_session(plan=plan, starts_at=next_weekday_at(10), sequence=1)
    make_session(plan=plan, starts_at=next_weekday_at(10, weeks_ahead=3), sequence=2)
    response = reception_client.post(reverse("session_action", args=[one.pk, "no_show"]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("plan_rebook", args=[plan.pk]))
    rebook = reception_client.get(response["Location"])
    assert rebook.status_code == 200
    confirm = reception_client.post(reverse("plan_rebook", args=[plan.pk]), {"signature": rebook.context["signature"]})
    assert confirm.status_code == 302
    assert plan.sessions.exclude(status="no_show").count() == 2


@pytest.mark.django_db
def test_after_a_no_show_the_rebooking_page_leads_back_to_the_filtered_schedule(reception_client, practitioner):
    plan = make_plan(practitioner=practitioner, sessions_planned=2)
    one = make_session(plan=plan, starts_at=next_weekday_at(10), sequence=1)
    make_session(plan=plan, starts_at=next_weekday_at(10, weeks_ahead=3), sequence=2)
    back = f"/schedule/?view=week&date={one.starts_at:%Y-%m-%d}&practitioner={practitioner.pk}&room="
    response = reception_client.post(reverse("session_action", args=[one.pk, "no_show"]), {"next": back})
    rebook = reception_client.get(response["Location"])
    assert rebook.context["next"] == back
    assert f'href="{back.replace("&", "&amp;")}"' in rebook.content.decode()


@pytest.mark.django_db
def test_an_impossible_action_is_a_message_not_an_error(reception_client):
    session = make_session(status="completed", completed_at=timezone.now())
    response = reception_client.post(reverse("session_action", args=[session.pk, "cancel"]), follow=True)
    assert response.status_code == 200
    assert "cannot be marked cancelled" in response.content.decode()


@pytest.mark.django_db
def test_unknown_action_is_a_404(reception_client):
    session = make_session()
    assert reception_client.post(f"/sessions/{session.pk}/delete/").status_code == 404


@pytest.mark.django_db
def test_move_previews_then_shifts_the_rest_of_the_series(reception_client, practitioner):
    plan = make_plan(practitioner=practitioner, sessions_planned=3)
    start = next_weekday_at(10, weeks_ahead=2)
    sessions = [make_session(plan=plan, starts_at=start + dt.timedelta(weeks=2 * i), sequence=i + 1) for i in range(3)]
    new = sessions[1].starts_at + dt.timedelta(days=1)
    data = {"new_date": new.date().isoformat(), "new_time": "10:00", "shift_later": "on"}
    url = reverse("session_move", args=[sessions[1].pk])
    preview = reception_client.post(url, data | {"action": "preview"})
    assert [m.session.sequence for m in preview.context["moves"]] == [2, 3]
    assert TreatmentSession.objects.get(pk=sessions[1].pk).starts_at == sessions[1].starts_at  # nothing saved yet
    confirm = reception_client.post(url, data | {"action": "confirm", "signature": preview.context["signature"]})
    assert confirm.status_code == 302
    assert TreatmentSession.objects.get(pk=sessions[2].pk).starts_at == sessions[2].starts_at + dt.timedelta(days=1)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("day", "time", "message"),
    [("9999-12-30", "10:00", "can be booked up to"), ("0001-01-01", "00:00", "cannot be moved into the past")],
)
def test_a_move_to_an_absurd_date_is_refused_beside_the_date(reception_client, day, time, message):
    session = make_session(starts_at=next_weekday_at(10))
    response = reception_client.post(
        reverse("session_move", args=[session.pk]), {"new_date": day, "new_time": time, "action": "preview"}
    )
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors["new_date"])


@pytest.mark.django_db
def test_the_move_page_names_each_session_by_its_place_in_the_series(reception_client, practitioner):
    plan = make_plan(practitioner=practitioner, sessions_planned=3)
    start = next_weekday_at(10, weeks_ahead=2)
    one, two, three = (
        make_session(plan=plan, starts_at=start + dt.timedelta(weeks=2 * i), sequence=i + 1) for i in range(3)
    )
    session_status.session_set_status(session_id=one.pk, action="no_show")
    url = reverse("session_move", args=[two.pk])
    page = strip_tags(reception_client.get(url).content.decode())
    assert "session 1 of 3, now" in page  # the schedule says "1 of 3" too; its number is 2
    preview = reception_client.post(
        url,
        {"new_date": f"{two.starts_at + dt.timedelta(days=1):%Y-%m-%d}", "new_time": "10:00", "shift_later": "on"},
    )
    assert [m.session.series_label for m in preview.context["moves"]] == ["1 of 3", "2 of 3"]


@pytest.mark.django_db
def test_a_move_that_breaks_the_series_order_shows_why_in_the_preview(reception_client, practitioner):
    plan = make_plan(practitioner=practitioner, sessions_planned=3)
    start = next_weekday_at(10, weeks_ahead=2)
    sessions = [make_session(plan=plan, starts_at=start + dt.timedelta(weeks=2 * i), sequence=i + 1) for i in range(3)]
    before_two = timezone.localtime(sessions[1].starts_at) - dt.timedelta(days=1)
    response = reception_client.post(
        reverse("session_move", args=[sessions[2].pk]),
        {"new_date": f"{before_two:%Y-%m-%d}", "new_time": "10:00", "action": "preview"},
    )
    [move] = response.context["moves"]
    assert move.start >= sessions[1].starts_at + dt.timedelta(days=13)
    assert "moved off: keeps the minimum interval after the previous session" in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("later", [1, 11])
def test_move_preview_and_confirm_query_counts_do_not_grow_with_the_series(
    reception_client, practitioner, django_assert_num_queries, later
):
    plan = make_plan(practitioner=practitioner, sessions_planned=later + 1)
    start = next_weekday_at(10, weeks_ahead=2)
    first, *_ = [
        make_session(plan=plan, starts_at=start + dt.timedelta(weeks=2 * i), sequence=i + 1) for i in range(later + 1)
    ]
    url = reverse("session_move", args=[first.pk])
    data = {"new_date": f"{start + dt.timedelta(days=1):%Y-%m-%d}", "new_time": "10:00", "shift_later": "on"}
    # session, user, user and group permissions, the session (with its series
    # position), the plan's kept sessions, opening hours, closed days, bookings,
    # groups (navigation).
    with django_assert_num_queries(10):
        preview = reception_client.post(url, data | {"action": "preview"})
    assert len(preview.context["moves"]) == later + 1
    # The same up to the bookings, then: savepoint, the moved sessions locked,
    # one conflicts query for all, savepoint, one UPDATE, one history INSERT, two
    # releases; on PostgreSQL also SET CONSTRAINTS ... DEFERRED and IMMEDIATE;
    # then the sessions' reminders: the statuses of sessions no longer booked
    # (none here), the reminders to move.
    with django_assert_num_queries(19 + (2 if connection.vendor == "postgresql" else 0)):
        confirm = reception_client.post(url, data | {"action": "confirm", "signature": preview.context["signature"]})
    assert confirm.status_code == 302
    assert plan.sessions.filter(starts_at__gt=start + dt.timedelta(hours=12)).count() == later + 1


@pytest.mark.django_db
def test_a_move_into_the_past_is_refused_beside_the_date(reception_client):
    session = make_session(starts_at=next_weekday_at(10))
    response = reception_client.post(
        reverse("session_move", args=[session.pk]), {"new_date": "2020-01-01", "new_time": "10:00", "action": "confirm"}
    )
    assert "cannot be moved into the past" in " ".join(response.context["form"].errors["new_date"])


@pytest.mark.django_db
def test_plan_page_shows_maintenance_due_not_booked(reception_client, practitioner):
    plan = make_cleared(make_plan(practitioner=practitioner, sessions_planned=1, maintenance_interval_days=90))
    last = make_session(plan=plan, starts_at=next_weekday_at(10, weeks_ahead=-2))
    sign_record(last)
    response = reception_client.get(reverse("plan_detail", args=[plan.pk]))
    due = timezone.localtime(last.starts_at).date() + dt.timedelta(days=90)
    assert response.context["maintenance_due"] == due
    assert "not booked" in response.content.decode()


@pytest.mark.django_db
def test_reception_books_the_next_maintenance_from_the_plan_page(reception_client, practitioner):
    plan = make_cleared(make_plan(practitioner=practitioner, sessions_planned=1, maintenance_interval_days=60))
    last = make_session(plan=plan, starts_at=next_weekday_at(10, weeks_ahead=-2))
    sign_record(last)
    plan_url = reverse("plan_detail", args=[plan.pk])
    page = reception_client.get(plan_url).content.decode()
    assert "not booked" in page
    url = reverse("plan_maintenance", args=[plan.pk])
    assert f'href="{url}"' in page
    preview = reception_client.get(url)
    offer = preview.context["offer"]
    assert preview.status_code == 200 and offer.title == "maintenance"
    assert TreatmentSession.objects.filter(plan=plan, is_maintenance=True).count() == 0  # the preview saves nothing
    confirm = reception_client.post(url, {"signature": preview.context["signature"]})
    assert confirm.status_code == 302 and confirm["Location"] == plan_url
    session = TreatmentSession.objects.get(plan=plan, is_maintenance=True)
    assert (session.starts_at, session.practitioner, session.room) == (
        offer.proposal.start,
        offer.practitioner,
        offer.room,
    )
    after = reception_client.get(plan_url)
    assert after.context["maintenance_due"] is None
    assert "not booked" not in after.content.decode()
    again = reception_client.post(url, {"signature": preview.context["signature"]}, follow=True)
    assert "No maintenance session is due" in again.content.decode()
    assert TreatmentSession.objects.filter(plan=plan, is_maintenance=True).count() == 1


@pytest.mark.django_db
def test_plan_page_query_count_does_not_grow_with_sessions(reception_client, practitioner, django_assert_num_queries):
    plan = make_plan(practitioner=practitioner, sessions_planned=12)
    make_session(plan=plan, starts_at=next_weekday_at(10), sequence=1)
    url = reverse("plan_detail", args=[plan.pk])
    # session, user, user and group permissions, plan (+client, indication, mixture,
    # practitioner), areas, sessions, groups (navigation).
    with django_assert_num_queries(8):
        reception_client.get(url)
    for i in range(2, 12):
        make_session(plan=plan, starts_at=next_weekday_at(10, weeks_ahead=i), sequence=i)
    with django_assert_num_queries(8):
        reception_client.get(url)


@pytest.mark.django_db
def test_calendar_feed_parses_with_the_clinic_time_zone_and_can_be_revoked(client, practitioner):
    patient = make_client(first_name="Inès", last_name="Martin")
    plan = make_plan(client=patient, practitioner=practitioner)
    start = dt.datetime(2026, 3, 31, 10, tzinfo=PARIS)  # after the spring change
    session = make_session(plan=plan, starts_at=start, sequence=1)
    make_session(plan=plan, starts_at=start + dt.timedelta(weeks=2), sequence=2, status=SessionStatus.CANCELLED)
    token = calendar_token_rotate(user=practitioner)
    url = reverse("practitioner_feed", args=[token])
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("sessions_app.calendar_feed.timezone.now", lambda: start - dt.timedelta(days=1))
        response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    cal = icalendar.Calendar.from_ical(response.content)
    [event] = cal.events
    assert event.start == start
    assert str(event.start.tzinfo) == "Europe/Paris"
    assert event.end - event.start == dt.timedelta(minutes=45)
    assert event["UID"].startswith(f"session-{session.pk}@")
    assert "Inès M." in str(event["SUMMARY"])
    assert "Martin" not in response.content.decode()  # no full name in a feed that may reach a cloud calendar
    calendar_token_revoke(user=practitioner)
    assert client.get(url).status_code == 404


@pytest.mark.django_db
def test_the_feed_numbers_sessions_as_the_schedule_does_and_no_show_is_not_confirmed(client, practitioner):
    plan = make_plan(client=make_client(first_name="Ana", last_name="Lopez"), practitioner=practitioner)
    plan.sessions_planned = 2
    plan.save()
    start = next_weekday_at(10, weeks_ahead=2)
    one = make_session(plan=plan, starts_at=start, sequence=1)
    make_session(plan=plan, starts_at=start + dt.timedelta(weeks=2), sequence=2, status=SessionStatus.CONFIRMED)
    session_status.session_set_status(session_id=one.pk, action="no_show")
    offer = maintenance.rebook_at_end_preview(plan)
    maintenance.session_rebook_at_end(
        plan=plan, start=offer.proposal.start, end=offer.proposal.end, practitioner=offer.practitioner, room=offer.room
    )
    response = client.get(reverse("practitioner_feed", args=[calendar_token_rotate(user=practitioner)]))
    events = sorted(icalendar.Calendar.from_ical(response.content).events, key=lambda e: e.start)
    assert [(str(e["SUMMARY"]), str(e["STATUS"])) for e in events] == [
        ("Ana L. – session #1 of 2 (no-show)", "CANCELLED"),
        ("Ana L. – session 1 of 2", "CONFIRMED"),
        ("Ana L. – session 2 of 2", "TENTATIVE"),
    ]


@pytest.mark.django_db
def test_rotating_the_token_retires_the_old_url(client, practitioner):
    old = calendar_token_rotate(user=practitioner)
    new = calendar_token_rotate(user=practitioner)
    assert client.get(reverse("practitioner_feed", args=[old])).status_code == 404
    assert client.get(reverse("practitioner_feed", args=[new])).status_code == 200


@pytest.mark.django_db
def test_booking_pages_need_sign_in_and_the_right_permission(client):
    assert client.get(reverse("book_series")).status_code == 302
    nobody = make_user(None)
    client.force_login(nobody)
    assert client.get(reverse("book_series")).status_code == 403
    assert client.get(reverse("schedule")).status_code == 403


@pytest.mark.django_db
def test_a_practitioner_switches_the_feed_on_rotates_and_revokes_it(client, practitioner):
    client.force_login(practitioner)
    page = reverse("calendar_settings")
    assert "Your calendar feed is off." in client.get(page).content.decode()

    client.post(page, {"action": "rotate"})
    practitioner.refresh_from_db()
    first = practitioner.calendar_token
    assert first and first in client.get(page).content.decode()
    assert client.get(reverse("practitioner_feed", args=[first])).status_code == 200

    client.post(page, {"action": "rotate"})
    practitioner.refresh_from_db()
    assert practitioner.calendar_token != first
    assert client.get(reverse("practitioner_feed", args=[first])).status_code == 404

    client.post(page, {"action": "revoke"})
    practitioner.refresh_from_db()
    assert practitioner.calendar_token is None


@pytest.mark.django_db
def test_only_practitioners_have_a_calendar_feed_page(client, reception):
    client.force_login(reception)
    assert client.get(reverse("calendar_settings")).status_code == 403


@pytest.mark.django_db
def test_the_move_page_fills_the_date_and_time_inputs_in_the_format_browsers_read(reception_client):
    start = next_weekday_at(10)
    session = make_session(starts_at=start)
    page = reception_client.get(reverse("session_move", args=[session.pk])).content.decode()
    local = timezone.localtime(start)
    assert f'value="{local:%Y-%m-%d}"' in page  # a browser's date input ignores "24/11/2026"
    assert f'value="{local:%H:%M}"' in page


@pytest.mark.django_db
def test_the_booking_page_posts_the_client_once(reception_client):
    """The picker's radio buttons carry the client; no second, empty input."""
    patient = make_client()
    page = reception_client.get(reverse("book_series"), {"client": patient.pk}).content.decode()
    assert page.count('name="client"') == 1


@pytest.mark.django_db
def test_booking_starts_from_the_protocol_of_the_indication_chosen(reception_client):
    from sessions_app.models import Indication, Mixture, TreatmentArea

    contouring = Indication.objects.get(name="Body contouring")
    response = reception_client.get(reverse("book_series"), {"indication": contouring.pk})
    form = response.context["form"]
    assert form.initial["indication"] == contouring.pk
    assert form.initial["mixture"] == Mixture.objects.get(name="Body contouring").pk
    assert form.initial["areas"] == sorted(
        TreatmentArea.objects.filter(name__in=["Abdomen", "Flanks"]).values_list("pk", flat=True)
    )
    assert (form.initial["sessions"], form.initial["interval"], form.initial["interval_unit"]) == (8, 2, "weeks")
    assert form.initial["maintenance_interval_days"] == 180
    # The browser fills the same on choosing the indication: the field carries every protocol.
    carried = json.loads(form.fields["indication"].widget.attrs["data-protocols"])
    assert carried[str(contouring.pk)]["sessions"] == 8
    assert carried[str(Indication.objects.get(name="Pain management").pk)]["interval"] == 1


@pytest.mark.django_db
def test_an_indication_without_a_protocol_keeps_the_forms_own_defaults(reception_client):
    from sessions_app.models import Indication

    scars = Indication.objects.get(name="Scars")
    form = reception_client.get(reverse("book_series"), {"indication": scars.pk}).context["form"]
    assert "indication" not in form.initial and form["sessions"].value() == 6
