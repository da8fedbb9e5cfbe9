"""The manager's Today: the figures of the day and the week, each a link to
the list it counts, and only for managers."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from sessions_app.models import ReminderChannel, ReminderKind, ReminderStatus, Role, Room, SessionStatus
from sessions_app.reports.today import manager_figures, manager_panel_context

from .factories import make_plan, make_reminder, make_session, make_side_effect, make_user


def at_day(day: dt.date, hour: int) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))


@pytest.fixture
def clinic_week(db):
    """Today: 3 sessions (one no-show) and a cancelled one; another day of the
    week: 2 sessions (one no-show); last week: a no-show. A serious side
    effect open and one resolved and reviewed; two maintenance recalls
    overdue, one for later today; failed reminders today and earlier."""
    now = timezone.now()
    today = timezone.localdate(now)
    monday = today - dt.timedelta(days=today.weekday())
    other_day = monday if today != monday else monday + dt.timedelta(days=1)
    plan = make_plan(sessions_planned=20)
    room2 = Room.objects.get(name="Room 2")
    for hour, status in [(8, "completed"), (9, "no_show"), (10, "booked"), (11, "cancelled")]:
        make_session(plan, starts_at=at_day(today, hour), status=status)
    for hour, status in [(8, "completed"), (9, "no_show")]:
        make_session(plan, starts_at=at_day(other_day, hour), status=status, room=room2)
    make_session(plan, starts_at=at_day(monday - dt.timedelta(days=3), 9), status="no_show")
    session = plan.sessions.first()
    make_side_effect(session, serious=True, severity="severe")
    make_side_effect(
        session, serious=True, severity="severe", resolved_on=today, reviewed_by=plan.practitioner, reviewed_at=now
    )
    for hours in (-30, -2, 5):
        make_reminder(
            plan.client,
            plan=plan,
            kind=ReminderKind.MAINTENANCE_DUE,
            channel=ReminderChannel.CALL,
            due_at=now + dt.timedelta(hours=hours),
        )
    failed = {"status": ReminderStatus.FAILED, "last_error": "Mail server down."}
    make_reminder(plan.client, due_at=at_day(today, 7), **failed)
    make_reminder(plan.client, due_at=at_day(other_day, 7), **failed)
    make_reminder(plan.client, due_at=at_day(monday - dt.timedelta(days=2), 7), **failed)
    return now


@pytest.mark.django_db
def test_the_figures_of_the_day_and_the_week(clinic_week):
    figures = {f.label: (f.today, f.week) for f in manager_figures(clinic_week)}
    assert figures == {
        "Sessions": (3, 5),
        "No-shows": (1, 2),
        "Serious side effects open": (1, None),
        "Maintenance recalls overdue": (2, None),
        "Failed reminders": (1, 2),
    }


@pytest.mark.django_db
def test_each_figure_opens_the_list_it_counts(manager_client, clinic_week):
    for figure in manager_figures(clinic_week):
        for count, url in ((figure.today, figure.today_url), (figure.week, figure.week_url)):
            if count is None:
                continue
            response = manager_client.get(url)
            assert response.status_code == 200, url
            if "/admin/" in url:
                assert len(response.context["cl"].result_list) == count, url
    schedule = manager_client.get(manager_figures(clinic_week)[0].week_url)
    assert schedule.context["view"] == "week"


@pytest.mark.django_db
def test_managers_see_the_panel_on_today_and_others_do_not(client, clinic_week):
    client.force_login(make_user(Role.MANAGER))
    page = client.get(reverse("dashboard")).content.decode()
    assert 'id="manager-figure-cards"' in page
    assert "Maintenance recalls overdue" in page
    for role in (Role.RECEPTION, Role.PRACTITIONER):
        client.force_login(make_user(role))
        assert 'id="manager-figure-cards"' not in client.get(reverse("dashboard")).content.decode()


@pytest.mark.django_db
def test_the_panel_costs_four_queries_whatever_the_numbers(client, django_assert_num_queries):
    """Sessions (one aggregate), serious side effects, overdue recalls, failed reminders."""
    manager = make_user(Role.MANAGER)
    manager.has_perm("sessions_app.view_reports")  # permissions loaded once, as on a page
    with django_assert_num_queries(4):
        manager_panel_context(manager)
    plan = make_plan()
    # Today from 9:00, so inside this week whatever the hour the suite runs
    # (an hour from now on a Sunday evening is next week).
    nine = timezone.make_aware(dt.datetime.combine(timezone.localdate(), dt.time(9)))
    for i in range(5):
        make_session(plan, starts_at=nine + dt.timedelta(hours=i), status=SessionStatus.BOOKED)
    with django_assert_num_queries(4):
        context = manager_panel_context(manager)
    assert context["manager_figures"][0].week >= 1
