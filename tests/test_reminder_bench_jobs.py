"""The bench's send rounds: through the in-memory outbox and through a real
SMTP sink (a process of its own), each able to put the messages it sent back
as due, so that both time the same messages."""

import datetime as dt

import pytest
from django.utils import timezone

from devtools.bench.jobs import time_send_round, time_send_round_smtp
from sessions_app.models import Reminder, ReminderStatus
from sessions_app.reminders.generate import reminders_generate

from .factories import make_client, make_plan, make_rule, make_session

pytestmark = pytest.mark.django_db


def due_now(n: int) -> None:
    make_rule("upcoming_session", amount=24, unit="hours")
    now = timezone.now().replace(microsecond=0)
    for i in range(n):
        make_session(make_plan(make_client(consent_email=True)), starts_at=now + dt.timedelta(hours=2 + i))
    reminders_generate(now=now)
    assert Reminder.objects.due(timezone.now()).count() == n


def test_both_send_rounds_time_the_same_messages_when_asked_to_keep_them_due():
    due_now(3)
    smtp = time_send_round_smtp(keep_due=True)
    assert (smtp.name, smtp.detail) == ("send_reminders, one round, SMTP sink", "3 messages sent")
    assert Reminder.objects.due(timezone.now()).count() == 3, "put back as due"
    assert not Reminder.objects.filter(status=ReminderStatus.SENT).exists()
    outbox = time_send_round()
    assert (outbox.name, outbox.detail) == ("send_reminders, one round", "3 messages sent")
    assert Reminder.objects.filter(status=ReminderStatus.SENT).count() == 3
