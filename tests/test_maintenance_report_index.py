"""The maintenance report finds the maintenance dates of its period from the
maintenance reminders' anchors: on PostgreSQL it reads them through
reminder_maintenance_idx, which holds only those, and looks each anchor
session up by its key (a subquery), rather than scanning every reminder and
joining every session."""

import datetime as dt
import json

import pytest
from django.db import connection
from django.utils import timezone

from sessions_app.models import PlanStatus, Reminder, ReminderKind, SessionStatus, TreatmentPlan, TreatmentSession
from sessions_app.reports.period import Period
from sessions_app.reports.queries import Reports, Scope

from .factories import T0, make_client, make_plan, make_rule, make_session, more_plans

pytestmark = [pytest.mark.django_db, pytest.mark.postgres_only]

PLANS = 200


@pytest.fixture
def recalls():
    """Two hundred plans in maintenance, each with its last session a day
    apart and an email and an SMS about its maintenance date (90 days on),
    among thousands of other reminders; planner statistics up to date."""
    first = make_plan(status=PlanStatus.MAINTENANCE, maintenance_interval_days=90)
    more_plans(first, PLANS - 1, status=PlanStatus.MAINTENANCE, maintenance_interval_days=90)
    room = make_session(first, T0).room
    TreatmentSession.objects.filter(plan=first).delete()
    plans = list(TreatmentPlan.objects.order_by("pk"))
    sessions = TreatmentSession.objects.bulk_create(
        TreatmentSession(
            plan=plan,
            sequence=6,
            starts_at=T0 + dt.timedelta(days=n),
            ends_at=T0 + dt.timedelta(days=n, minutes=30),
            practitioner=plan.practitioner,
            room=room,
            status=SessionStatus.COMPLETED,
            completed_at=T0 + dt.timedelta(days=n),
            signed_at=T0 + dt.timedelta(days=n),
            signed_by=plan.practitioner,
        )
        for n, plan in enumerate(plans)
    )
    rule = make_rule(ReminderKind.MAINTENANCE_DUE)
    client = make_client()
    rows = [
        Reminder(
            client=client,
            plan=session.plan,
            session=session,
            rule=rule,
            kind=ReminderKind.MAINTENANCE_DUE,
            channel=channel,
            key=f"maintenance:{session.pk}:{channel}",
            due_at=session.starts_at + dt.timedelta(days=80),
        )
        for session in sessions
        for channel in ("email", "sms")
    ]
    rows += [
        Reminder(client=client, kind=ReminderKind.UPCOMING_SESSION, channel="email", key=f"other:{n}", due_at=T0)
        for n in range(6000)
    ]
    Reminder.objects.bulk_create(rows)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE sessions_app_reminder")
        cursor.execute("ANALYZE sessions_app_treatmentsession")
        cursor.execute("ANALYZE sessions_app_treatmentplan")
    return sessions


def nodes(node: dict, subplans: bool = True):
    """A plan's nodes; without `subplans`, only the outer query's."""
    yield node
    for child in node.get("Plans", []):
        if subplans or child.get("Parent Relationship") not in ("SubPlan", "InitPlan"):
            yield from nodes(child, subplans)


def test_the_maintenance_dates_are_found_from_the_partial_index_and_each_anchor_by_its_key(recalls):
    # The maintenance dates of the first 30 anchors: 90 days after T0 to 29 days later.
    first = timezone.localdate(recalls[0].starts_at) + dt.timedelta(days=90)
    period = Period(first, first + dt.timedelta(days=29))
    reports = Reports(Scope(period, now=T0))
    assert sum(row["due"] for row in reports.maintenance_by_month.values()) == 30
    top = json.loads(reports.maintenance_counts().explain(format="json", analyze=True))[0]["Plan"]
    reminders = [n for n in nodes(top, subplans=False) if n.get("Relation Name") == "sessions_app_reminder"]
    assert [n.get("Index Name") for n in reminders] == ["reminder_maintenance_idx"]
    # Each anchor looked up by its key (a subplan), not the sessions joined:
    # joined, PostgreSQL scanned every session of a chain to find the anchors.
    outer = {n.get("Relation Name") for n in nodes(top, subplans=False)}
    assert "sessions_app_treatmentsession" not in outer
