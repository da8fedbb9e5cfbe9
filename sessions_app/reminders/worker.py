"""The send loop: generate what the rules call for, then claim each due
client message, send it after the claim is committed, and record the result.

Exactly once, even with two workers: a reminder is claimed by one UPDATE that
moves it from pending (or failed, retry time come) to sending and must change
exactly one row; on PostgreSQL the candidate is picked with
SELECT ... FOR UPDATE SKIP LOCKED so two workers never wait on the same row.
Nothing is sent inside a transaction. Downtime skips nothing: a reminder is
sent when it is due or at the first run after, because the claim asks for
"due_at <= now", never for an exact time. A worker that dies while sending
leaves the row "sending"; after CLINIC_REMINDER_SENDING_TIMEOUT_SECONDS it goes
back to pending (the one case that can send twice, as with any mail queue).

Each step is a method, so tests drive it one step at a time with their own clock.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, fields

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from sessions_app.models import Reminder, ReminderChannel, ReminderKind, ReminderStatus
from sessions_app.reminders.delivery import DeliveryError, deliver, for_delivery
from sessions_app.reminders.generate import obsolete_reason, reminders_cancel_obsolete, reminders_generate
from sessions_app.reminders.rules import in_quiet_hours, retry_delay
from sessions_app.scheduling import clinic_tz
from sessions_app.services.signal import signal_flags_refresh

log = logging.getLogger(__name__)

_CONSENT = {ReminderChannel.EMAIL: "consent_email", ReminderChannel.SMS: "consent_sms"}


@dataclass
class Round:
    """What one round did, for the command's summary line."""

    back_from_stuck: int = 0
    generated: int = 0
    cancelled: int = 0
    sent: int = 0
    failed: int = 0
    to_calls: int = 0
    new_signal_flags: int = 0

    def __str__(self) -> str:
        return ", ".join(f"{getattr(self, f.name)} {f.name.replace('_', ' ')}" for f in fields(self))


class ReminderWorker:
    def __init__(self, *, clock: Callable = timezone.now):
        self.clock = clock
        self.stopping = False

    def stop(self) -> None:
        """Finish the reminder in hand, then stop (SIGTERM, SIGINT)."""
        self.stopping = True

    # --- The steps -------------------------------------------------------------

    def recover_stuck(self) -> int:
        """Rows left "sending" past the timeout go back to pending, or fail
        for good when they have used up their attempts."""
        now = self.clock()
        stuck = Reminder.objects.filter(
            status=ReminderStatus.SENDING,
            claimed_at__lt=now - dt.timedelta(seconds=settings.CLINIC_REMINDER_SENDING_TIMEOUT_SECONDS),
        )
        why = "The worker stopped while sending it"
        limit = settings.CLINIC_REMINDER_MAX_ATTEMPTS
        given_up = stuck.filter(attempts__gte=limit).update(
            status=ReminderStatus.FAILED, last_error=f"{why}; gave up after {limit} attempts."
        )
        return given_up + stuck.update(status=ReminderStatus.PENDING, last_error=f"{why}; trying again.")

    def claim_next(self) -> int | None:
        """Claim the most overdue client message, or None when none is due."""
        now = self.clock()
        candidates = Reminder.objects.sendable(now).order_by("due_at", "pk")
        if in_quiet_hours(now, settings.CLINIC_REMINDER_QUIET_HOURS, clinic_tz()):
            candidates = candidates.exclude(channel=ReminderChannel.SMS)
        if connection.vendor == "postgresql":
            with transaction.atomic():
                pk = candidates.select_for_update(skip_locked=True).values_list("pk", flat=True).first()
                return pk if pk is not None and self._take(pk, now) else None
        # Elsewhere the conditional UPDATE alone decides; a lost race tries the next one.
        for _ in range(20):
            pk = candidates.values_list("pk", flat=True).first()
            if pk is None or self._take(pk, now):
                return pk
        return None

    def _take(self, pk: int, now) -> bool:
        changed = (
            Reminder.objects.sendable(now)
            .filter(pk=pk)
            .update(status=ReminderStatus.SENDING, claimed_at=now, attempts=F("attempts") + 1, next_attempt_at=None)
        )
        return changed == 1

    def process(self, pk: int) -> str:
        """Send one claimed reminder and record what happened: "sent",
        "failed", "cancelled" or "call". Never raises for a bad reminder."""
        reminder = for_delivery().get(pk=pk)
        now = self.clock()
        if why := obsolete_reason(pk, reminder.kind, now):
            self._finish(pk, status=ReminderStatus.CANCELLED, last_error=f"Not sent: {why}.")
            return "cancelled"
        # Without an address the message fails (readably, and is retried: the
        # address may be added); with one but no agreement, a call replaces it.
        address = reminder.client.email if reminder.channel == ReminderChannel.EMAIL else reminder.client.phone
        if address and not getattr(reminder.client, _CONSENT[reminder.channel]):
            return self._to_call(reminder)
        try:
            text = deliver(reminder)
        except DeliveryError as exc:
            return self._failed(reminder, str(exc))
        except Exception as exc:  # a bug or an odd backend must not stop the other reminders
            log.exception("Reminder %s: unexpected error while sending", pk)
            return self._failed(reminder, f"Unexpected error: {type(exc).__name__}: {exc}")
        self._finish(pk, status=ReminderStatus.SENT, sent_at=self.clock(), message=text, last_error="")
        log.info("Reminder %s sent by %s", pk, reminder.channel)
        return "sent"

    def _finish(self, pk: int, **values) -> None:
        if not Reminder.objects.filter(pk=pk, status=ReminderStatus.SENDING).update(**values):
            log.warning("Reminder %s was no longer ours when its result came (stuck timeout too short?)", pk)

    def _failed(self, reminder: Reminder, error: str) -> str:
        limit = settings.CLINIC_REMINDER_MAX_ATTEMPTS
        if reminder.attempts >= limit:
            self._finish(
                reminder.pk, status=ReminderStatus.FAILED, last_error=f"{error} Gave up after {limit} attempts."
            )
        else:
            delay = retry_delay(
                reminder.attempts,
                settings.CLINIC_REMINDER_BACKOFF_SECONDS,
                settings.CLINIC_REMINDER_BACKOFF_MAX_SECONDS,
            )
            self._finish(
                reminder.pk, status=ReminderStatus.FAILED, last_error=error, next_attempt_at=self.clock() + delay
            )
        log.warning("Reminder %s failed (attempt %s): %s", reminder.pk, reminder.attempts, error)
        return "failed"

    def _to_call(self, reminder: Reminder) -> str:
        """The client withdrew their agreement to this channel since the
        reminder was made: reception calls instead, unless the rule already
        has a call task for it."""
        channel = reminder.get_channel_display().split()[0].lower()
        if reminder.kind == ReminderKind.CHECK_IN:
            why = f"Not sent: the client no longer agrees to {channel} messages; a check-in is theirs to answer."
            self._finish(reminder.pk, status=ReminderStatus.CANCELLED, last_error=why)
            return "cancelled"
        if reminder.rule and reminder.rule.by_call:
            why = f"Not sent: the client no longer agrees to {channel} reminders; the rule's call task covers it."
            self._finish(reminder.pk, status=ReminderStatus.CANCELLED, last_error=why)
            return "cancelled"
        self._finish(
            reminder.pk,
            status=ReminderStatus.PENDING,
            channel=ReminderChannel.CALL,
            attempts=0,
            last_error=f"The client no longer agrees to {channel} reminders: a call instead.",
        )
        return "call"

    # --- A round ---------------------------------------------------------------------

    def run_round(self) -> Round:
        """Everything due now, then return. Stops early after the reminder in
        hand when stop() was called."""
        done = Round()
        done.back_from_stuck = self.recover_stuck()
        done.generated = reminders_generate(now=self.clock())
        done.cancelled = reminders_cancel_obsolete(now=self.clock())
        # The side-effect signal's flags on Today follow the side effects recorded since.
        done.new_signal_flags = signal_flags_refresh(now=self.clock())
        while not self.stopping and (pk := self.claim_next()) is not None:
            outcome = self.process(pk)
            if outcome == "sent":
                done.sent += 1
            elif outcome == "failed":
                done.failed += 1
            elif outcome == "call":
                done.to_calls += 1
            else:
                done.cancelled += 1
        return done
