"""send_reminders as real processes of manage.py, against the test database:
two at once send each of 1,000 reminders exactly once (PostgreSQL, where the
claim can race), through a real SMTP sink and the file SMS backend; and
SIGTERM stops the loop after the reminder in hand."""

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from sessions_app.models import Client, Reminder, ReminderStatus, Role, Room, TreatmentPlan, TreatmentSession
from sessions_app.reminders.generate import reminders_generate

from .factories import make_client, make_plan, make_rule, make_session, make_user
from .sinks import SmsGateway, SmtpSink

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parent.parent


def database_url() -> str:
    """The test database, as DATABASE_URL for a child process."""
    db = connection.settings_dict
    if connection.vendor == "postgresql":
        return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    return f"sqlite:///{db['NAME']}"


def worker(*args: str, **env: str) -> subprocess.Popen:
    environ = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "clinic.settings",
        "DJANGO_SECRET_KEY": settings.SECRET_KEY,
        "DJANGO_DEBUG": "false",
        "DATABASE_URL": database_url(),
        "CLINIC_TIME_ZONE": settings.TIME_ZONE,
        "CLINIC_REMINDER_QUIET_HOURS": "",  # the test may run at night
        "DJANGO_LOG_LEVEL": "WARNING",
        **env,
    }
    return subprocess.Popen(
        [sys.executable, "manage.py", "send_reminders", *args],
        cwd=ROOT,
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def sent_count(output: str) -> int:
    """From the summary line: "Reminders: ..., 12 sent, ..."."""
    line = next(line for line in output.splitlines() if line.startswith("Reminders:"))
    return int(line.split(" sent")[0].rsplit(", ", 1)[1])


N = 1000
PARALLEL = 5  # practitioners and rooms, so that 1,000 sessions fit in 200 hours


@pytest.mark.postgres_only
def test_two_workers_send_1000_due_reminders_exactly_once(reference_data, tmp_path, settings):
    settings.CLINIC_REMINDER_CATCH_UP_DAYS = 30
    now = timezone.now().replace(microsecond=0)
    make_rule("upcoming_session", amount=300, unit="hours", by_sms=True)  # every session below is due
    practitioners = [make_user(Role.PRACTITIONER) for _ in range(PARALLEL)]
    rooms = [Room.objects.create(name=f"Concurrency room {i}") for i in range(PARALLEL)]
    clients = Client.objects.bulk_create(
        Client(
            first_name="Client",
            last_name=f"N{i:04d}",
            date_of_birth=dt.date(1980, 1, 1),
            email=f"client{i:04d}@example.org",
            phone=f"+33 6 {i:08d}",
            preferred_channel="email" if i % 2 else "sms",
            consent_email=True,
            consent_sms=True,
        )
        for i in range(N)
    )
    template = make_plan(make_client(), practitioners[0])
    plans = TreatmentPlan.objects.bulk_create(
        TreatmentPlan(
            client=c,
            indication_id=template.indication_id,
            mixture_id=template.mixture_id,
            practitioner=practitioners[i % PARALLEL],
            sessions_planned=6,
            interval_days=14,
        )
        for i, c in enumerate(clients)
    )
    TreatmentSession.objects.bulk_create(
        TreatmentSession(
            plan=plan,
            sequence=1,
            starts_at=now + dt.timedelta(hours=1 + i // PARALLEL),
            ends_at=now + dt.timedelta(hours=1 + i // PARALLEL, minutes=45),
            practitioner=practitioners[i % PARALLEL],
            room=rooms[i % PARALLEL],
        )
        for i, plan in enumerate(plans)
    )
    assert reminders_generate(now=now) == N
    assert Reminder.objects.filter(due_at__lte=now, status=ReminderStatus.PENDING).count() == N

    sink = SmtpSink().start()
    sms_file = tmp_path / "sms.jsonl"
    env = {
        "DJANGO_EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "DJANGO_EMAIL_HOST": "127.0.0.1",
        "DJANGO_EMAIL_PORT": str(sink.port),
        "CLINIC_SMS_BACKEND": "file",
        "CLINIC_SMS_FILE_PATH": str(sms_file),
        "CLINIC_REMINDER_CATCH_UP_DAYS": "30",
    }
    try:
        processes = [worker(**env) for _ in range(2)]
        outputs = [p.communicate(timeout=240) for p in processes]
    finally:
        sink.stop()
    for process, (_, err) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, err
    per_process = [sent_count(out) for out, _ in outputs]

    emailed = Counter(message["To"] for message in sink.messages)
    texted = Counter(json.loads(line)["to"] for line in sms_file.read_text().splitlines())
    assert sum(emailed.values()) + sum(texted.values()) == N
    assert max(emailed.values()) == max(texted.values()) == 1, "a client got a message twice"
    assert set(emailed) == {c.email for c in clients if c.preferred_channel == "email"}
    assert set(texted) == {c.phone for c in clients if c.preferred_channel == "sms"}
    assert sum(per_process) == N
    assert min(per_process) > 0, f"one worker did everything: {per_process}"
    assert Reminder.objects.filter(status=ReminderStatus.SENT).count() == N


def test_sigterm_stops_the_loop_after_the_reminder_in_hand(reference_data):
    now = timezone.now().replace(microsecond=0)
    make_rule("upcoming_session", amount=24, unit="hours", by_email=False, by_sms=True)
    for i in range(2):
        client = make_client(preferred_channel="sms", consent_sms=True)
        make_session(make_plan(client), starts_at=now + dt.timedelta(hours=2 + i))
    gateway = SmsGateway(delay=2.0)  # answers two seconds after each request
    try:
        process = worker("--loop", "--interval", "1", CLINIC_SMS_BACKEND="http", CLINIC_SMS_URL=gateway.url)
        assert gateway.received.wait(30), process.stderr.read() if process.poll() is not None else "no request"
        process.send_signal(signal.SIGTERM)  # while the first SMS is with the gateway
        signalled = time.monotonic()
        out, err = process.communicate(timeout=30)
    finally:
        gateway.shutdown()
    assert process.returncode == 0, err
    assert time.monotonic() - signalled >= 1.0, "it did not wait for the reminder in hand"
    assert "SIGTERM: stopping after the reminder in hand." in out
    assert out.rstrip().endswith("Stopped.")
    first, second = Reminder.objects.order_by("due_at")
    assert (first.status, first.attempts) == (ReminderStatus.SENT, 1)
    assert (second.status, second.attempts) == (ReminderStatus.PENDING, 0)
    assert len(gateway.requests) == 1
