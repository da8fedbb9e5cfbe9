"""Email reminders through Django's SMTP backend to a real SMTP server
(aiosmtpd on loopback): delivered with their headers; refused or down, the
reminder fails with a readable error, is retried later, and nothing else is
lost."""

import datetime as dt
import json

import pytest

from sessions_app.models import Reminder, ReminderStatus
from sessions_app.reminders.generate import reminders_generate
from sessions_app.reminders.unsubscribe import unsubscribe_token
from sessions_app.reminders.worker import ReminderWorker

from .factories import T0, Clock, at, make_client, make_plan, make_rule, make_session
from .sinks import SmtpSink

pytestmark = pytest.mark.django_db


def due_reminders(emailers: int = 1, texters: int = 0) -> list[Reminder]:
    make_rule("upcoming_session", amount=24, unit="hours", by_sms=True, subject="Your session on {date}")
    clients = [make_client(consent_email=True, first_name="Inès", last_name=f"Morel{i}") for i in range(emailers)]
    clients += [make_client(preferred_channel="sms", consent_sms=True) for _ in range(texters)]
    for i, client in enumerate(clients):
        make_session(make_plan(client), starts_at=at(20 + i))
    reminders_generate(now=T0)
    return list(Reminder.objects.order_by("due_at"))


def test_an_email_reminder_reaches_a_real_smtp_server(sink, settings):
    [reminder] = due_reminders()
    assert ReminderWorker(clock=Clock(T0)).run_round().sent == 1
    [message] = sink.messages
    assert message["To"] == reminder.client.email
    assert message["From"] == settings.DEFAULT_FROM_EMAIL
    assert message["Subject"].startswith("Your session on ")
    # Plain, not RFC 2047-encoded: mail programs read the address as it stands.
    link = f"{settings.CLINIC_BASE_URL}/u/{unsubscribe_token(reminder.client_id, 'email')}/"
    assert message["List-Unsubscribe"] == f"<{link}>"
    assert message.get_all("List-Unsubscribe") == [f"<{link}>"]
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    body = message.get_payload(decode=True).decode()
    assert "Hello Inès Morel0, about" in body
    reminder.refresh_from_db()
    assert reminder.status == ReminderStatus.SENT


def test_with_the_server_down_the_email_fails_readably_and_goes_later(settings, tmp_path):
    settings.CLINIC_SMS_BACKEND, settings.CLINIC_SMS_FILE_PATH = "file", tmp_path / "sms.jsonl"
    down = SmtpSink()  # its port, nobody listening yet
    settings.MAILERS = down.mailers()
    emails = due_reminders(emailers=2, texters=1)
    clock = Clock(T0)
    worker = ReminderWorker(clock=clock)
    done = worker.run_round()
    assert (done.sent, done.failed) == (1, 2)  # the SMS went; the emails wait
    assert len((tmp_path / "sms.jsonl").read_text().splitlines()) == 1
    for reminder in Reminder.objects.filter(channel="email"):
        assert reminder.status == ReminderStatus.FAILED
        assert reminder.last_error == "The mail server could not be reached: Connection refused."
        assert reminder.next_attempt_at == T0 + dt.timedelta(seconds=settings.CLINIC_REMINDER_BACKOFF_SECONDS)
    sink = down.start()
    try:
        assert worker.run_round().sent == 0, "not before the backoff"
        clock.moment = T0 + dt.timedelta(seconds=settings.CLINIC_REMINDER_BACKOFF_SECONDS)
        assert worker.run_round().sent == 2
    finally:
        sink.stop()
    assert sorted(m["To"] for m in sink.messages) == sorted(r.client.email for r in emails if r.channel == "email")
    assert set(Reminder.objects.values_list("status", flat=True)) == {ReminderStatus.SENT}
    texts = [json.loads(line) for line in (tmp_path / "sms.jsonl").read_text().splitlines()]
    assert len(texts) == 1, "the SMS was not sent again"


def test_a_refused_address_is_recorded_with_the_servers_answer(sink):
    sink.refuse = True
    [reminder] = due_reminders()
    assert ReminderWorker(clock=Clock(T0)).run_round().failed == 1
    reminder.refresh_from_db()
    assert reminder.last_error == "The mail server refused the address: 550 5.1.1 Mailbox unavailable."
    assert not sink.messages
