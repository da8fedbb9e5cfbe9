"""Reception's pages: book a series (from the calendar too, steering its dates), re-book,
actions, moves (dropped on the calendar too), the feed. The schedule itself: test_schedule.py."""

import datetime as dt
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
    Role,
    Room,
    SessionStatus,
    TreatmentPlan,
    TreatmentSession,
)
from sessions_app.services import maintenance, series

from .factories import (
    change_status,
    make_cleared,
    make_client,
    make_plan,
    make_session,
    make_user,
    next_weekday_at,
    series_post,
    sign_record,
)

PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture
def reception_client(client, reception):
    client.force_login(reception)
    return client


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
    # session, user, roles and permissions (one query); the protocols (and their
    # areas) the indication field carries; the form: client, indication,
    # areas, mixture, practitioner, room, the longest opening period; the
    # preview: opening hours, closed days, bookings; the page: the choices of
    # indication, mixture, areas, practitioner, room.
    with django_assert_num_queries(20):
        preview = reception_client.post(reverse("book_series"), data | {"action": "preview"})
    assert len(preview.context["proposal"]) == sessions
    # The same up to the bookings (no page), then: savepoint, the client's row
    # locked (archived or merged meanwhile?), the plan and its
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


def begun_an_hour_ago():
    return timezone.now().replace(second=0, microsecond=0) - dt.timedelta(hours=1)


@pytest.mark.django_db
def test_no_show_offers_to_rebook_at_the_end(reception_client, practitioner):
    plan = make_plan(practitioner=practitioner, sessions_planned=2)
    one = make_session(plan=plan, starts_at=begun_an_hour_ago(), sequence=1)
    make_session(plan=plan, starts_at=next_weekday_at(10, weeks_ahead=3), sequence=2)
    response = reception_client.post(reverse("session_action", args=[one.pk, "no_show"]), {"confirmed": "yes"})
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
    one = make_session(plan=plan, starts_at=begun_an_hour_ago(), sequence=1)
    make_session(plan=plan, starts_at=next_weekday_at(10, weeks_ahead=3), sequence=2)
    back = f"/schedule/?view=week&date={one.starts_at:%Y-%m-%d}&practitioner={practitioner.pk}&room="
    response = reception_client.post(
        reverse("session_action", args=[one.pk, "no_show"]), {"next": back, "confirmed": "yes"}
    )
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
    change_status(one, "no_show")
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
    # session, user, roles and permissions (one query), the session (with its series
    # position), the plan's kept sessions, opening hours, closed days, bookings,
    # the form's practitioners and rooms (each read twice
    # by its select: its first choice, then all).
    with django_assert_num_queries(12):
        preview = reception_client.post(url, data | {"action": "preview"})
    assert len(preview.context["moves"]) == later + 1
    # The same up to the bookings, then: savepoint, the moved sessions locked,
    # one conflicts query for all, savepoint, one UPDATE, one history INSERT, two
    # releases; on PostgreSQL also SET CONSTRAINTS ... DEFERRED and IMMEDIATE;
    # then the sessions' reminders: the statuses of sessions no longer booked
    # (none here), the reminders to move.
    with django_assert_num_queries(18 + (2 if connection.vendor == "postgresql" else 0)):
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
    # session, user, roles and permissions (one query), plan (+client, indication, mixture,
    # practitioner), areas, sessions.
    with django_assert_num_queries(6):
        reception_client.get(url)
    for i in range(2, 12):
        make_session(plan=plan, starts_at=next_weekday_at(10, weeks_ahead=i), sequence=i)
    with django_assert_num_queries(6):
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
    change_status(one, "no_show")
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
def test_a_free_slot_on_the_calendar_opens_booking_filled_with_a_free_room(reception_client, practitioner):
    start = next_weekday_at(10)
    # Room 1 is taken then by someone else's session; Room 2 is free.
    make_session(starts_at=start, room=Room.objects.get(name="Room 1"))
    url = reverse("book_series") + f"?date={start:%Y-%m-%d}&time=10:00&practitioner={practitioner.pk}"
    response = reception_client.get(url)
    form = response.context["form"]
    assert form.initial["practitioner"] == practitioner.pk
    assert form.initial["room"] == Room.objects.get(name="Room 2").pk
    assert (form.initial["first_date"], form.initial["first_time"]) == (start.date(), dt.time(10))
    page = strip_tags(response.content.decode())
    assert f"From the calendar: {start:%A %d %B %Y} at 10:00 with {practitioner} in Room 2." in " ".join(page.split())
    single = reception_client.get(url + "&sessions=1")
    assert single.context["form"].initial["sessions"] == 1
    assert "Book a series instead" in single.content.decode()


@pytest.mark.django_db
def test_a_room_column_fills_in_a_free_practitioner(reception_client, practitioner):
    start = next_weekday_at(10)
    busy = make_user(Role.PRACTITIONER, last_name="Aaa")  # first by name, but booked then
    make_session(starts_at=start, practitioner=busy, room=Room.objects.get(name="Room 3"))
    room = Room.objects.get(name="Room 2")
    form = reception_client.get(reverse("book_series"), {"date": f"{start:%Y-%m-%d}", "time": "10:00", "room": room.pk})
    assert form.context["form"].initial["room"] == room.pk
    assert form.context["form"].initial["practitioner"] == practitioner.pk


@pytest.mark.django_db
def test_reception_picks_another_slot_for_one_session_and_one_confirm_books_them_all(reception_client, practitioner):
    first = next_weekday_at(10, weeks_ahead=2)
    data = series_post(make_client(), practitioner, first, sessions=3)
    preview = reception_client.post(reverse("book_series"), data | {"action": "preview"})
    two = preview.context["proposal"][1]
    assert len(two.options) == 5
    chosen = two.options[0]
    pick = {"slot-2": f"{timezone.localtime(chosen):%Y-%m-%dT%H:%M}"}
    updated = reception_client.post(reverse("book_series"), data | pick | {"action": "preview"})
    proposal = updated.context["proposal"]
    assert proposal[1].chosen and proposal[1].start == chosen
    assert "Your choice." in updated.content.decode()
    # Confirming the first preview's signature with another choice is refused: preview first.
    stale = reception_client.post(
        reverse("book_series"), data | pick | {"action": "confirm", "signature": preview.context["signature"]}
    )
    assert "changed since your preview" in stale.content.decode()
    assert not TreatmentPlan.objects.exists()
    booked = reception_client.post(
        reverse("book_series"), data | pick | {"action": "confirm", "signature": updated.context["signature"]}
    )
    assert booked.status_code == 302
    plan = TreatmentPlan.objects.get()
    assert list(plan.sessions.order_by("sequence").values_list("starts_at", flat=True)) == [p.start for p in proposal]


@pytest.mark.django_db
def test_a_typed_slot_that_cannot_be_booked_says_why_and_blocks_the_confirm(reception_client, practitioner):
    first = next_weekday_at(10, weeks_ahead=2)
    ClosedDay.objects.create(date=(first + dt.timedelta(weeks=2, days=1)).date(), reason="Inventory")
    data = series_post(make_client(), practitioner, first, sessions=3)
    typed = {
        "slot-2": "other",
        "other-date-2": f"{first + dt.timedelta(weeks=2, days=1):%Y-%m-%d}",
        "other-time-2": "10:00",
        "slot-3": "other",
        "other-date-3": "1st of May",
        "other-time-3": "noon",
    }
    response = reception_client.post(reverse("book_series"), data | typed | {"action": "preview"})
    page = strip_tags(response.content.decode())
    assert "Cannot be booked: closed day (Inventory)." in page
    assert "Enter a date and a time, for example" in page
    assert not response.context["complete"]
    refused = reception_client.post(
        reverse("book_series"), data | typed | {"action": "confirm", "signature": response.context["signature"]}
    )
    assert refused.status_code == 200
    assert not TreatmentPlan.objects.exists()


@pytest.mark.django_db
def test_a_session_dropped_on_another_practitioner_s_column_previews_the_move_to_them(reception_client, practitioner):
    other = make_user(Role.PRACTITIONER)
    session = make_session(starts_at=next_weekday_at(10), practitioner=practitioner)
    new = next_weekday_at(15)
    url = reverse("session_move", args=[session.pk])
    dropped = reception_client.get(url, {"new_date": f"{new:%Y-%m-%d}", "new_time": "15:00", "practitioner": other.pk})
    [move] = dropped.context["moves"]
    assert (move.start, move.practitioner_id, move.room_id, move.reason) == (new, other.pk, session.room_id, None)
    assert TreatmentSession.objects.get(pk=session.pk).practitioner == practitioner  # a preview saves nothing
    # Confirm posts the form the preview shows.
    form = {"new_date": f"{new:%Y-%m-%d}", "new_time": "15:00", "practitioner": other.pk, "room": session.room_id}
    confirm = reception_client.post(url, form | {"action": "confirm", "signature": dropped.context["signature"]})
    assert confirm.status_code == 302
    session.refresh_from_db()
    assert (session.starts_at, session.practitioner) == (new, other)


@pytest.mark.django_db
def test_a_drop_on_a_booked_slot_says_why_and_offers_the_nearest_free_time_that_day(reception_client, practitioner):
    session = make_session(starts_at=next_weekday_at(10), practitioner=practitioner)
    taken = make_session(starts_at=next_weekday_at(15), practitioner=practitioner)
    dropped = reception_client.get(
        reverse("session_move", args=[session.pk]),
        {"new_date": f"{taken.starts_at:%Y-%m-%d}", "new_time": "15:15"},
    )
    [move] = dropped.context["moves"]
    assert move.reason == "practitioner already booked"
    assert timezone.localtime(move.start).date() == timezone.localtime(taken.starts_at).date()  # the day dropped on
    page = " ".join(strip_tags(dropped.content.decode()).split())
    assert f"Not at {taken.starts_at:%a %d %b} 15:15: practitioner already booked." in page


@pytest.mark.django_db
def test_the_move_form_opens_filled_with_where_the_session_is_now(reception_client):
    session = make_session(starts_at=next_weekday_at(10), room=Room.objects.get(name="Room 3"))
    form = reception_client.get(reverse("session_move", args=[session.pk])).context["form"]
    assert form.initial == {
        "new_date": timezone.localtime(session.starts_at).date(),
        "new_time": dt.time(10),
        "practitioner": session.practitioner_id,
        "room": session.room_id,
    }
