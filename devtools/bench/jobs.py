"""The work that is not a page: seeding a clinic, generating reminders, and
one round of send_reminders, each timed on the data set in use."""

from __future__ import annotations

import contextlib
import io
import logging
import statistics
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
def _nothing_leaves_the_machine() -> Iterator[io.StringIO]:
    """Email into Django's in-memory outbox, SMS printed into a buffer, and
    the worker's one log line per message kept off the terminal."""
    sms = io.StringIO()
    worker_log = logging.getLogger("sessions_app.reminders.worker")
    level = worker_log.level
    worker_log.setLevel(logging.WARNING)
    try:
        with (
            override_settings(
                MAILERS={"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}},
                CLINIC_SMS_BACKEND="console",
                CLINIC_REMINDER_QUIET_HOURS=None,
            ),
            contextlib.redirect_stdout(sms),
        ):
            yield sms
    finally:
        worker_log.setLevel(level)


def time_send_round() -> JobTiming:
    """One `manage.py send_reminders` round: recover, generate, cancel what
    is obsolete, and send every email and SMS due now. Quiet hours are lifted
    so that the round sends the same whatever the time of day."""
    messages = Reminder.objects.filter(channel__in=[ReminderChannel.EMAIL, ReminderChannel.SMS])
    sent_before = messages.filter(status=ReminderStatus.SENT).count()
    with _nothing_leaves_the_machine():
        seconds, _ = _timed(lambda: call_command("send_reminders", stdout=io.StringIO()))
    sent = messages.filter(status=ReminderStatus.SENT).count() - sent_before
    return JobTiming("send_reminders, one round", seconds, f"{sent:,} messages sent")
