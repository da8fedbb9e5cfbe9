"""Sign-in, the base layout's navigation per role, and today's dashboard."""

import datetime as dt
from unittest import mock

import pytest
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
    # session, user, user and group permissions, today's count (all, and those
    # over), today's sessions shown with series position, the clearance badge
    # (latest screenings, allergies, mixtures' substances, consent text,
    # consents; no answers to read), open side effects, their count, reminders
    # due, their count, the manager's figures (sessions of the day and week,
    # serious side effects, overdue recalls, failed reminders), groups
    # (navigation).
    with django_assert_num_queries(20):
        first = client.get(reverse("dashboard"))
    add(1, 15)
    with django_assert_num_queries(20):
        second = client.get(reverse("dashboard"))
    assert len(second.context["sessions"]) > len(first.context["sessions"])
    assert second.context["reminders_total"] == 15


@pytest.mark.django_db
def test_dashboard_with_nothing_today_says_so(client):
    client.force_login(make_user(Role.PRACTITIONER))
    make_client()
    make_session(starts_at=next_weekday_at(10, weeks_ahead=2))
    page = client.get(reverse("dashboard")).content.decode()
    assert "No sessions booked today." in page
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
