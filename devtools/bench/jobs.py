"""The work that is not a page: seeding a clinic, generating reminders, and
one round of send_reminders, each timed on the data set in use."""

from __future__ import annotations

import contextlib
import io
import logging
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from django.core.management import call_command
from django.db import transaction
from django.test.utils import override_settings
from django.utils import timezone

from sessions_app.models import (
    Client,
    Injection,
    Reminder,
    ReminderChannel,
    ReminderKind,
    ReminderStatus,
    TreatmentSession,
)
from sessions_app.reminders.generate import reminders_generate


@dataclass(frozen=True)
class JobTiming:
    name: str
    seconds: float
    detail: str
    # A send round's messages sent: its target is a rate (report.SEND_PER_MINUTE_MIN).
    messages: int = 0


@dataclass(frozen=True)
class DataSize:
    clients: int
    sessions: int
    injections: int
    reminders: int

    @classmethod
    def measure(cls) -> DataSize:
        return cls(
            Client.objects.count(),
            TreatmentSession.objects.count(),
            Injection.objects.count(),
            Reminder.objects.count(),
        )


def _timed(work: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    result = work()
    return time.perf_counter() - start, result


def time_seed(clients: int) -> JobTiming:
    """`manage.py seed_demo --clients N` into an empty (migrated) database."""
    out = io.StringIO()
    seconds, _ = _timed(lambda: call_command("seed_demo", clients=clients, verbosity=0, stdout=out))
    return JobTiming(f"seed_demo --clients {clients}", seconds, f"{TreatmentSession.objects.count():,} sessions")


def time_generation_first(*, now=None) -> JobTiming:
    """Reminder generation with no reminder in the database yet (a first
    round after an upgrade, the most it ever has to create), rolled back."""
    now = now or timezone.now()
    with transaction.atomic():
        # All but the check-in messages clients answered (their answers keep them).
        Reminder.objects.filter(check_in__isnull=True).delete()
        seconds, created = _timed(lambda: reminders_generate(now=now))
        transaction.set_rollback(True)
    return JobTiming("reminder generation, first round", seconds, f"{created:,} reminders created")


def time_check_in_generation(*, now=None) -> JobTiming:
    """The check-in messages' generation alone, none in the database yet (the
    days 1, 3 and 7 after every session completed lately), rolled back: it
    runs inside each reminder round."""
    now = now or timezone.now()
    with transaction.atomic():
        Reminder.objects.filter(kind=ReminderKind.CHECK_IN, check_in__isnull=True).delete()
        seconds, created = _timed(lambda: reminders_generate(now=now, kinds=[ReminderKind.CHECK_IN]))
        transaction.set_rollback(True)
    return JobTiming("check-in generation, first round", seconds, f"{created:,} check-in messages created")


def time_generation_steady(*, rounds: int = 3, now=None) -> JobTiming:
    """Reminder generation when every reminder already exists: what each
    round of the worker does, every few minutes, all day (median of `rounds`)."""
    now = now or timezone.now()
    spent, created = [], 0
    for _ in range(rounds):
        seconds, created = _timed(lambda: reminders_generate(now=now))
        spent.append(seconds)
    return JobTiming(
        "reminder generation, next rounds", statistics.median(spent), f"{created:,} new (median of {rounds})"
    )


@contextlib.contextmanager
def _nothing_leaves_the_machine(mailers: dict | None = None) -> Iterator[io.StringIO]:
    """Email into Django's in-memory outbox (or `mailers`), SMS printed into
    a buffer, and the worker's one log line per message kept off the terminal."""
    sms = io.StringIO()
    worker_log = logging.getLogger("sessions_app.reminders.worker")
    level = worker_log.level
    worker_log.setLevel(logging.WARNING)
    try:
        with (
            override_settings(
                MAILERS=mailers or {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}},
                CLINIC_SMS_BACKEND="console",
                CLINIC_REMINDER_QUIET_HOURS=None,
            ),
            contextlib.redirect_stdout(sms),
        ):
            yield sms
    finally:
        worker_log.setLevel(level)


# What a round changes on the messages it sends, and keep_due puts back.
_SENDING_FIELDS = ("status", "attempts", "claimed_at", "sent_at", "next_attempt_at", "last_error", "message", "channel")


@contextlib.contextmanager
def _due_again_after(keep_due: bool) -> Iterator[None]:
    """With keep_due, the messages due now are put back as they were once
    the round is timed, so the next round (the other mail backend) sends
    the same ones."""
    if not keep_due:
        yield
        return
    due = list(Reminder.objects.sendable(timezone.now()).order_by().only("pk", *_SENDING_FIELDS))
    try:
        yield
    finally:
        Reminder.objects.bulk_update(due, _SENDING_FIELDS, batch_size=2000)


def _send_round(name: str, mailers: dict | None, keep_due: bool) -> JobTiming:
    messages = Reminder.objects.filter(channel__in=[ReminderChannel.EMAIL, ReminderChannel.SMS])
    sent_before = messages.filter(status=ReminderStatus.SENT).count()
    with _due_again_after(keep_due):
        with _nothing_leaves_the_machine(mailers):
            seconds, _ = _timed(lambda: call_command("send_reminders", stdout=io.StringIO()))
        sent = messages.filter(status=ReminderStatus.SENT).count() - sent_before
    return JobTiming(name, seconds, f"{sent:,} messages sent", messages=sent)


def time_send_round(*, keep_due: bool = False) -> JobTiming:
    """One `manage.py send_reminders` round: recover, generate, cancel what
    is obsolete, and send every email and SMS due now, the emails into
    Django's in-memory outbox (which costs no connection). Quiet hours are
    lifted so that the round sends the same whatever the time of day. With
    keep_due the messages sent are put back as they were, due again."""
    return _send_round("send_reminders, one round", None, keep_due)


@contextlib.contextmanager
def _smtp_sink() -> Iterator[int]:
    """A local SMTP server that accepts and discards every message (aiosmtpd's
    Sink, a process of its own as a mail server would be); yields its port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "aiosmtpd", "-n", "-c", "aiosmtpd.handlers.Sink", "-l", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                break
            time.sleep(0.05)
        else:
            raise RuntimeError("The SMTP sink (aiosmtpd) did not start.")
        yield port
    finally:
        server.terminate()
        server.wait(10)


def time_send_round_smtp(*, keep_due: bool = False) -> JobTiming:
    """The same round with the emails sent through Django's SMTP backend to a
    local SMTP sink: the connections and the SMTP exchange the in-memory
    outbox hides."""
    with _smtp_sink() as port:
        mailers = {
            "default": {
                "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                "OPTIONS": {"host": "127.0.0.1", "port": port, "timeout": 10},
            }
        }
        return _send_round("send_reminders, one round, SMTP sink", mailers, keep_due)
