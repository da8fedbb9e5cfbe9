"""Sign-in, the base layout's navigation per role, and today's dashboard."""

import datetime as dt
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from sessions_app.models import (
    Reminder,
    ReminderChannel,
    ReminderKind,
    Role,
    Room,
    SessionStatus,
    SideEffect,
    SideEffectKind,
)
from sessions_app.views import dashboard

from .factories import PASSWORD, make_client, make_session, make_user, next_weekday_at


def add_side_effect(client_obj, recorded_by, *, serious=False, resolved=False):
    return SideEffect.objects.create(
        client=client_obj,
        kind=SideEffectKind.objects.order_by("pk").first(),
        severity="mild",
        serious=serious,
        onset=timezone.localdate(),
        resolved_on=timezone.localdate() if resolved else None,
        status="resolved" if resolved else "open",
        recorded_by=recorded_by,
    )


def add_due_reminder(client_obj, n: int):
    return Reminder.objects.create(
        client=client_obj,
        kind=ReminderKind.MAINTENANCE_DUE,
        channel=ReminderChannel.CALL,
        key=f"test:{client_obj.pk}:{n}",
        due_at=timezone.now() - dt.timedelta(hours=1),
    )


@pytest.mark.django_db
def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get(reverse("dashboard"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.django_db
def test_staff_sign_in_with_the_form_and_out_with_a_post(client):
    user = make_user(Role.RECEPTION)
    wrong = client.post(reverse("login"), {"username": user.username, "password": "nope"})
    assert wrong.status_code == 200
    assert "correct username and password" in wrong.content.decode()
    right = client.post(reverse("login"), {"username": user.username, "password": PASSWORD})
    assert right["Location"] == reverse("dashboard")
    assert client.get(reverse("dashboard")).status_code == 200
    client.post(reverse("logout"))
    assert client.get(reverse("dashboard")).status_code == 302


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("role", "sees", "hidden"),
    [
        (Role.RECEPTION, ["Schedule", "Book a series", "Reminders due"], ["Open side effects", "Admin"]),
        (Role.PRACTITIONER, ["Schedule", "Book a series", "Open side effects", "Reminders due"], ["Admin"]),
        (Role.MANAGER, ["Schedule", "Book a series", "Open side effects", "Reminders due", "Admin"], []),
    ],
)
def test_each_role_sees_its_navigation_and_panels(client, role, sees, hidden):
    client.force_login(make_user(role))
    page = client.get(reverse("dashboard")).content.decode()
    for text in sees:
        assert text in page, text
    for text in hidden:
        assert text not in page, text


@pytest.mark.django_db
def test_dashboard_lists_todays_sessions_open_side_effects_and_due_reminders(client):
    manager = make_user(Role.MANAGER)
    client.force_login(manager)
    today = timezone.localtime().replace(hour=11, minute=0, second=0, microsecond=0)
    session = make_session(starts_at=today)
    tomorrow = make_session(starts_at=today + dt.timedelta(days=1))
    add_side_effect(session.plan.client, manager, serious=True)
    add_side_effect(tomorrow.plan.client, manager, resolved=True)  # resolved but not reviewed: still open
    add_due_reminder(session.plan.client, 1)

    response = client.get(reverse("dashboard"))
    assert [s.pk for s in response.context["sessions"]] == [session.pk]
    assert response.context["side_effects_total"] == 2
    assert response.context["reminders_total"] == 1
    page = response.content.decode()
    assert session.plan.client.full_name in page
    assert "serious" in page


@pytest.mark.django_db
def test_dashboard_query_count_does_not_grow(client, django_assert_num_queries):
    manager = make_user(Role.MANAGER)
    client.force_login(manager)
    start = timezone.localtime().replace(hour=8, minute=0, second=0, microsecond=0)

    def add(first, last):
        for i in range(first, last):
            session = make_session(starts_at=start + dt.timedelta(minutes=45 * i))
            add_side_effect(session.plan.client, manager)
            add_due_reminder(session.plan.client, i)

    add(0, 1)
    # session, user, roles and permissions (one query), today's count (all, and those
    # over), today's sessions shown with series position, the clearance badge
    # (latest screenings, allergies, fat-reduction indications, consents to the
    # text in force; no answers, so no mixtures or areas to read),
    # the clients' alerts (the same screenings and allergies, then open side
    # effects, consent texts), new signal flags, the side effects
    # past their expected time and the severe check-ins (one count of both; no
    # severe check-in to list), open side effects, their count, reminders due,
    # their count, the manager's figures (sessions of the day and week, serious
    # side effects open, overdue recalls, failed reminders).
    with django_assert_num_queries(21):
        first = client.get(reverse("dashboard"))
    add(1, 15)
    with django_assert_num_queries(21):
        second = client.get(reverse("dashboard"))
    assert len(second.context["sessions"]) > len(first.context["sessions"])
    assert second.context["reminders_total"] == 15


@pytest.mark.django_db
def test_a_long_backlog_of_reminders_is_counted_up_to_a_bound_and_says_more(client, monkeypatch):
    monkeypatch.setattr(dashboard, "DASHBOARD_LIMIT", 2)
    monkeypatch.setattr(dashboard, "DASHBOARD_COUNT_MAX", 3)
    client.force_login(make_user(Role.RECEPTION))
    someone = make_client()
    for n in range(3):
        add_due_reminder(someone, n)
    page = client.get(reverse("dashboard")).content.decode()
    assert "2 of 3 shown" in page and "more than" not in page
    add_due_reminder(someone, 3)
    response = client.get(reverse("dashboard"))
    assert (response.context["reminders_total"], response.context["reminders_more"]) == (3, True)
    page = response.content.decode()
    assert "3+</span>" in page
    assert "2 of more than 3 shown" in page and reverse("reminders_due") in page


@pytest.mark.django_db
def test_dashboard_with_nothing_today_says_so(client):
    client.force_login(make_user(Role.PRACTITIONER))
    make_client()
    make_session(starts_at=next_weekday_at(10, weeks_ahead=2))
    page = client.get(reverse("dashboard")).content.decode()
    assert "No sessions booked with you today." in page
    assert "No side effect waits for review." in page
    assert "No reminder is due." in page


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("clock", "hours"),
    [
        (dt.time(8, 0), [9, 10, 11]),  # the morning: the day's first
        (dt.time(12, 30), [12, 14, 15]),  # from the one in progress
        (dt.time(21, 0), [14, 15, 16]),  # the evening: the day's last
    ],
)
def test_a_busy_day_shows_the_sessions_from_the_first_not_over(client, monkeypatch, clock, hours):
    monkeypatch.setattr(dashboard, "DASHBOARD_SESSIONS", 3)
    day = next_weekday_at(9)
    with mock.patch.object(timezone, "now", return_value=day.replace(hour=clock.hour, minute=clock.minute)):
        # Signed in on that day: a session lasts a working day at most.
        client.force_login(make_user(Role.RECEPTION))
        for hour in (9, 10, 11, 12, 14, 15, 16):
            make_session(starts_at=day.replace(hour=hour))
        response = client.get(reverse("dashboard"))
    assert [timezone.localtime(s.starts_at).hour for s in response.context["sessions"]] == hours
    assert response.context["sessions_window"].total == 7
    assert f"3 of 7 shown, from {hours[0]:02d}:00" in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("clock", "shown"),
    [
        # From the one in progress: the window read forwards from it.
        (dt.time(11, 30), ["11:00 Room 1", "11:00 Room 2", "12:00 Room 1"]),
        # The evening: the day's last three, read backwards from the end, in the
        # list's order still (a tie of times by room).
        (dt.time(20, 0), ["12:00 Room 1", "13:00 Room 1", "13:00 Room 2"]),
    ],
)
def test_the_window_keeps_the_list_s_order_and_each_series_position_in_the_evening(client, monkeypatch, clock, shown):
    monkeypatch.setattr(dashboard, "DASHBOARD_SESSIONS", 3)
    day = next_weekday_at(9)
    rooms = {name: Room.objects.get(name=name) for name in ("Room 1", "Room 2")}
    with mock.patch.object(timezone, "now", return_value=day.replace(hour=clock.hour, minute=clock.minute)):
        client.force_login(make_user(Role.RECEPTION))
        for hour, room in ((9, "Room 1"), (10, "Room 1"), (11, "Room 2"), (11, "Room 1"), (12, "Room 1")):
            make_session(starts_at=day.replace(hour=hour), room=rooms[room], status=SessionStatus.COMPLETED)
        # Two series, each in its third session today: "3 of 6".
        for room in ("Room 2", "Room 1"):
            done = {"room": rooms[room], "status": SessionStatus.COMPLETED}
            plan = make_session(starts_at=day - dt.timedelta(days=28), **done).plan
            make_session(plan, starts_at=day - dt.timedelta(days=14), **done)
            make_session(plan, starts_at=day.replace(hour=13), room=rooms[room])
        response = client.get(reverse("dashboard"))
    sessions = response.context["sessions"]
    assert [f"{timezone.localtime(s.starts_at):%H:%M} {s.room.name}" for s in sessions] == shown
    assert [s.position for s in sessions] == [3 if timezone.localtime(s.starts_at).hour == 13 else 1 for s in sessions]
    assert "3 of 6" in response.content.decode() or clock.hour < 13
    assert response.context["sessions_window"].total == 7


@pytest.mark.django_db
def test_the_evening_list_reads_from_where_it_starts_not_past_the_day_s_finished_sessions(
    client, monkeypatch, django_assert_num_queries
):
    """No OFFSET: with one, the database works out each finished session's
    place in its series only to throw it away (715 of them in a chain's
    evening), and the evening costs more than the morning."""
    monkeypatch.setattr(dashboard, "DASHBOARD_SESSIONS", 2)
    day = next_weekday_at(9)
    reception = make_user(Role.RECEPTION)
    for hour in range(9, 18):
        make_session(starts_at=day.replace(hour=hour))
    for clock in (dt.time(8), dt.time(12, 30), dt.time(21)):
        with mock.patch.object(timezone, "now", return_value=day.replace(hour=clock.hour, minute=clock.minute)):
            client.force_login(reception)
            with CaptureQueriesContext(connection) as queries:
                assert client.get(reverse("dashboard")).status_code == 200
        assert len(queries) == 11, clock
        listed = [q["sql"] for q in queries if "sessions_app_room" in q["sql"] and "LIMIT" in q["sql"]]
        assert len(listed) == 1 and "OFFSET" not in listed[0], listed


@pytest.mark.django_db
def test_a_long_session_still_running_stays_on_the_dashboard_among_shorter_ones(client, monkeypatch):
    """The window starts at the first session in the list not over yet, not
    at the number of sessions over: with sessions of different lengths in
    different rooms, a long one begun early is still running after shorter
    ones that began later have ended."""
    monkeypatch.setattr(dashboard, "DASHBOARD_SESSIONS", 3)
    day = next_weekday_at(9)
    with mock.patch.object(timezone, "now", return_value=day.replace(hour=10, minute=45)):
        client.force_login(make_user(Role.RECEPTION))
        long = make_session(starts_at=day, ends_at=day.replace(hour=11), room=Room.objects.get(name="Room 2"))
        for hour, minute in ((9, 5), (9, 35), (10, 5)):
            start = day.replace(hour=hour, minute=minute)
            make_session(starts_at=start, ends_at=start + dt.timedelta(minutes=30))
        for hour in (12, 13, 14):
            make_session(starts_at=day.replace(hour=hour))
        response = client.get(reverse("dashboard"))
    shown = [timezone.localtime(s.starts_at).strftime("%H:%M") for s in response.context["sessions"]]
    assert shown == ["09:00", "09:05", "09:35"], "from the long session still running, in the list's order"
    assert long in response.context["sessions"]


@pytest.mark.django_db
def test_a_client_still_being_treated_past_the_booked_end_stays_on_the_dashboard(client, monkeypatch):
    monkeypatch.setattr(dashboard, "DASHBOARD_SESSIONS", 3)
    day = next_weekday_at(9)
    with mock.patch.object(timezone, "now", return_value=day.replace(hour=12, minute=20)):
        client.force_login(make_user(Role.RECEPTION))
        for hour in (9, 10):
            make_session(starts_at=day.replace(hour=hour), status=SessionStatus.COMPLETED)
        running_late = make_session(starts_at=day.replace(hour=11), status=SessionStatus.ARRIVED)
        for hour in (13, 14, 15, 16):
            make_session(starts_at=day.replace(hour=hour))
        response = client.get(reverse("dashboard"))
    assert response.context["sessions"][0] == running_late, "arrived, not yet recorded: still in the treatment room"


@pytest.mark.django_db
def test_a_practitioner_sees_their_own_day_first_and_how_many_the_clinic_has(client):
    me, colleague = make_user(Role.PRACTITIONER), make_user(Role.PRACTITIONER)
    start = timezone.localtime().replace(hour=8, minute=0, second=0, microsecond=0)
    mine = make_session(practitioner=me, starts_at=start)
    make_session(practitioner=colleague, starts_at=start, room=Room.objects.get(name="Room 2"))
    make_session(practitioner=colleague, starts_at=start + dt.timedelta(hours=1), room=Room.objects.get(name="Room 2"))
    client.force_login(me)
    response = client.get(reverse("dashboard"))
    assert response.context["sessions"] == [mine]
    assert (response.context["own_day"], response.context["clinic_sessions"]) == (True, 3)
    page = response.content.decode()
    assert "Your sessions today" in page and "The whole clinic has 3 sessions today" in page
    # Reception sees the clinic's day.
    client.force_login(make_user(Role.RECEPTION))
    assert len(client.get(reverse("dashboard")).context["sessions"]) == 3


@pytest.mark.django_db
def test_everything_on_today_is_a_link_and_ten_of_many_leads_to_the_rest(client, monkeypatch):
    monkeypatch.setattr(dashboard, "DASHBOARD_LIMIT", 2)
    manager = make_user(Role.MANAGER)
    client.force_login(manager)
    session = make_session(starts_at=timezone.localtime().replace(hour=8, minute=0, second=0, microsecond=0))
    for n in range(3):
        add_due_reminder(session.plan.client, n)
        add_side_effect(session.plan.client, manager)
    page = client.get(reverse("dashboard")).content.decode()
    assert f'href="{reverse("client_detail", args=[session.plan.client_id])}"' in page
    assert reverse("session_detail", args=[session.pk]) in page
    assert f'href="{reverse("plan_detail", args=[session.plan_id])}"' in page
    assert f'href="{reverse("call_list")}"' in page  # the call reminders lead to the call list
    assert f'2 of 3 shown: <a href="{reverse("reminders_due")}">all 3</a>' in page
    assert f'2 of 3 shown: <a href="{reverse("side_effect_list")}">all 3</a>' in page


@pytest.mark.django_db
def test_what_is_overdue_is_flagged(client, monkeypatch):
    day = next_weekday_at(9)
    with mock.patch.object(timezone, "now", return_value=day.replace(hour=11)):
        client.force_login(make_user(Role.RECEPTION))
        late = make_session(starts_at=day.replace(hour=10, minute=30), status=SessionStatus.CONFIRMED)
        unrecorded = make_session(
            starts_at=day.replace(hour=9), status=SessionStatus.ARRIVED, room=Room.objects.get(name="Room 2")
        )
        on_time = make_session(starts_at=day.replace(hour=12))
        client_obj = late.plan.client
        old_call = Reminder.objects.create(
            client=client_obj,
            kind=ReminderKind.MAINTENANCE_DUE,
            channel=ReminderChannel.CALL,
            key="t:1",
            due_at=day - dt.timedelta(days=1),
        )
        todays_call = Reminder.objects.create(
            client=client_obj,
            kind=ReminderKind.MAINTENANCE_DUE,
            channel=ReminderChannel.CALL,
            key="t:2",
            due_at=day.replace(hour=9),
        )
        response = client.get(reverse("dashboard"))
        overdue_reminders = [r.pk for r in response.context["reminders"] if r.overdue]
    overdue = {s.pk: s.overdue for s in response.context["sessions"]}
    assert overdue == {unrecorded.pk: "Not recorded", late.pk: "Not arrived", on_time.pk: None}
    assert overdue_reminders == [old_call.pk]
    assert todays_call in response.context["reminders"]
    page = response.content.decode()
    assert page.count("overdue-badge") == 2 and page.count(">overdue</span>") == 1


@pytest.mark.django_db
def test_the_reminders_due_page_costs_the_same_queries_whatever_it_lists(client, django_assert_num_queries):
    client.force_login(make_user(Role.RECEPTION))
    patient = make_client()
    add_due_reminder(patient, 0)
    # session, user, roles and permissions (one query), the count, the page of
    # reminders with their clients.
    with django_assert_num_queries(5):
        first = client.get(reverse("reminders_due"))
    for n in range(1, 40):
        add_due_reminder(patient, n)
    with django_assert_num_queries(5):
        second = client.get(reverse("reminders_due"))
    assert len(first.context["reminders"]) == 1 and len(second.context["reminders"]) == 25
    assert second.context["page"].total == 40


@pytest.mark.django_db
def test_a_practitioner_s_today_costs_the_same_queries_whatever_the_day_holds(client, django_assert_num_queries):
    me = make_user(Role.PRACTITIONER)
    client.force_login(me)
    start = timezone.localtime().replace(hour=8, minute=0, second=0, microsecond=0)
    make_session(practitioner=me, starts_at=start)
    # session, user, roles and permissions (one query),
    # new signal flags, side effects past their time and severe check-ins
    # (one count), today's counts, today's sessions shown, the clearance badge
    # (four: no allergy or in-area condition to match), the alerts (two more:
    # open side effects, consent texts), open side effects, their count,
    # reminders due, their count.
    with django_assert_num_queries(17):
        client.get(reverse("dashboard"))
    for i in range(1, 10):
        make_session(practitioner=me, starts_at=start + dt.timedelta(minutes=45 * i))
    with django_assert_num_queries(17):
        second = client.get(reverse("dashboard"))
    assert len(second.context["sessions"]) == 10
