"""On PostgreSQL, the worker's claim and Today's reminders due are read
through partial indexes that hold only what can still be claimed (or is
still pending): with thousands of reminders sent and cancelled before, the
plans name those indexes, sort nothing, and read no row they then discard."""

import datetime as dt
import json

import pytest
from django.db import connection

from sessions_app.models import Reminder, ReminderStatus
from sessions_app.reminders.worker import ReminderWorker

from .factories import T0, Clock, make_client, make_rule

pytestmark = [pytest.mark.django_db, pytest.mark.postgres_only]

HISTORY = 6000


@pytest.fixture
def history():
    """A clinic's years of reminders, most sent or cancelled, all due before
    the few still waiting; planner statistics up to date."""
    rule = make_rule("upcoming_session", amount=24, unit="hours")
    client = make_client(consent_email=True, consent_sms=True)
    rows = []

    def add(n, channel, status, due, **fields):
        for i in range(n):
            rows.append(
                Reminder(
                    client=client,
                    rule=rule,
                    kind=rule.kind,
                    channel=channel,
                    key=f"{channel}:{status}:{len(rows)}",
                    due_at=due - dt.timedelta(minutes=i),
                    status=status,
                    **fields,
                )
            )

    add(HISTORY, "email", ReminderStatus.SENT, T0 - dt.timedelta(days=1), sent_at=T0, claimed_at=T0)
    add(HISTORY // 3, "sms", ReminderStatus.CANCELLED, T0 - dt.timedelta(days=1))
    add(200, "call", ReminderStatus.PENDING, T0 - dt.timedelta(hours=12))  # calls still to make
    add(60, "email", ReminderStatus.PENDING, T0 - dt.timedelta(minutes=5))  # due, to send
    add(3, "sms", ReminderStatus.FAILED, T0 - dt.timedelta(days=2), next_attempt_at=T0 - dt.timedelta(minutes=1))
    add(2000, "email", ReminderStatus.PENDING, T0 + dt.timedelta(days=30))  # later
    Reminder.objects.bulk_create(rows)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE sessions_app_reminder")


def plan(queryset) -> dict:
    """EXPLAIN ANALYZE of the query, as PostgreSQL's JSON plan."""
    return json.loads(queryset.explain(format="json", analyze=True))[0]["Plan"]


def nodes(node: dict):
    yield node
    for child in node.get("Plans", []):
        yield from nodes(child)


def index_definition(name: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = %s", [name])
        row = cursor.fetchone()
    assert row, f"no index {name}"
    return row[0]


def test_the_partial_indexes_hold_only_what_can_still_be_claimed_or_is_pending():
    claimable = index_definition("reminder_claimable_idx")
    assert "USING btree (COALESCE(next_attempt_at, due_at), id) WHERE" in claimable
    assert "WHERE (((channel)::text = ANY" in claimable
    assert "(status)::text = 'pending'::text) OR (next_attempt_at IS NOT NULL)" in claimable
    pending = index_definition("reminder_pending_due_idx")
    assert pending.endswith("(due_at, id) WHERE ((status)::text = 'pending'::text)")


def test_a_claim_reads_the_batch_it_takes_from_the_claimable_index_and_nothing_sent_before(history):
    batch = 50
    top = plan(ReminderWorker(clock=Clock(T0)).candidates(T0).values_list("pk")[:batch])
    scans = [n for n in nodes(top) if "Index Name" in n]
    assert [n["Index Name"] for n in scans] == ["reminder_claimable_idx"]
    [scan] = scans
    assert scan["Node Type"] == "Index Scan", "read in order, not gathered and sorted"
    assert not any(n["Node Type"] in ("Sort", "Incremental Sort", "Seq Scan") for n in nodes(top))
    assert scan["Actual Rows"] == batch
    assert scan.get("Rows Removed by Filter", 0) == 0


def test_a_claim_with_nothing_due_stops_at_the_first_reminder_not_yet_due(history):
    Reminder.objects.filter(due_at__lte=T0, status__in=["pending", "failed"], channel__in=["email", "sms"]).update(
        status=ReminderStatus.SENT, sent_at=T0, next_attempt_at=None, claimed_at=T0
    )
    top = plan(ReminderWorker(clock=Clock(T0)).candidates(T0).values_list("pk")[:50])
    [scan] = [n for n in nodes(top) if "Index Name" in n]
    assert scan["Index Name"] == "reminder_claimable_idx"
    assert scan["Actual Rows"] == 0
    assert scan.get("Rows Removed by Filter", 0) == 0, "it walked the reminders not yet due"


def test_todays_reminders_due_are_read_from_the_pending_index(history):
    due = Reminder.objects.due(T0).order_by("due_at", "pk")
    top = plan(due[:10])
    [scan] = [n for n in nodes(top) if "Index Name" in n]
    assert scan["Index Name"] == "reminder_pending_due_idx"
    assert scan["Node Type"] in ("Index Scan", "Index Only Scan")
    assert scan["Actual Rows"] == 10
    assert scan.get("Rows Removed by Filter", 0) == 0
    assert due.count() == 260  # the calls and the emails due; not the failed retries
    # The count, from an index of the pending ones too (this one or status's).
    count = plan(due.order_by().values("pk"))
    assert not any(n["Node Type"] == "Seq Scan" for n in nodes(count))
    assert {n.get("Index Name") for n in nodes(count)} & {"reminder_pending_due_idx", "reminder_status_due_idx"}
