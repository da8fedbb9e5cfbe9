"""A session's place in its series ("3 of 6") counts its plan's kept series
sessions up to it: every session a calendar, Today or a client's timeline
shows asks it. On PostgreSQL the count reads session_series_position_idx,
which holds exactly those sessions (not maintenance, not cancelled, not a
no-show): no row read and thrown away, whatever the plan's history."""

import datetime as dt
import json

import pytest
from django.db import connection

from sessions_app.models import SessionStatus, TreatmentSession

from .factories import T0, make_plan, make_session, more_plans

pytestmark = [pytest.mark.django_db, pytest.mark.postgres_only]

# Each plan's history, in order: what counts towards the position and what does not.
HISTORY = [
    (SessionStatus.COMPLETED, False),
    (SessionStatus.CANCELLED, False),
    (SessionStatus.COMPLETED, False),
    (SessionStatus.NO_SHOW, False),
    (SessionStatus.COMPLETED, True),  # maintenance
    (SessionStatus.BOOKED, False),
]


@pytest.fixture
def plans():
    """A clinic of plans with cancelled, missed and maintenance sessions among
    their series; planner statistics up to date."""
    first = make_plan()
    plans = [first, *more_plans(first, 299)]
    room = make_session(first, T0).room
    TreatmentSession.objects.filter(plan=first).delete()
    rows = []
    for p, plan in enumerate(plans):
        sequence = 0
        for n, (status, maintenance) in enumerate(HISTORY):
            starts = T0 + dt.timedelta(days=n * 14, hours=p)
            if status != SessionStatus.CANCELLED and not maintenance:
                sequence += 1
            done = status == SessionStatus.COMPLETED
            rows.append(
                TreatmentSession(
                    plan=plan,
                    sequence=sequence if not maintenance else 50 + n,
                    is_maintenance=maintenance,
                    starts_at=starts,
                    ends_at=starts + dt.timedelta(minutes=30),
                    practitioner=plan.practitioner,
                    room=room,
                    status=status,
                    completed_at=starts if done else None,
                    signed_at=starts if done else None,
                    signed_by=plan.practitioner if done else None,
                )
            )
    TreatmentSession.objects.bulk_create(rows)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE sessions_app_treatmentsession")
    return plans


def nodes(node: dict):
    yield node
    for child in node.get("Plans", []):
        yield from nodes(child)


def test_the_position_counts_the_kept_series_sessions_up_to_each_one(plans):
    sessions = TreatmentSession.objects.filter(plan=plans[7]).with_series_position().order_by("starts_at")
    # Completed 1, cancelled (not counted), completed 2, no-show (not counted),
    # maintenance (not counted), booked 3.
    assert [s.position for s in sessions] == [1, 1, 2, 2, 2, 3]


def test_the_position_is_counted_from_the_partial_index_alone(plans):
    shown = TreatmentSession.objects.filter(plan__in=plans[:40], status=SessionStatus.BOOKED).with_series_position()
    top = json.loads(shown.explain(format="json", analyze=True))[0]["Plan"]
    counts = [n for n in nodes(top) if n.get("Parent Relationship") == "SubPlan"]
    assert counts, "the position is a subquery of each session"
    scans = [n for count in counts for n in nodes(count) if "Relation Name" in n]
    assert [n.get("Index Name") for n in scans] == ["session_series_position_idx"]
    [scan] = scans
    assert scan["Node Type"] in ("Index Scan", "Index Only Scan")
    assert scan.get("Rows Removed by Filter", 0) == 0
    # Once for each booked session, reading the three kept series sessions up to it.
    assert (scan["Actual Loops"], scan["Actual Rows"]) == (40, 3)
