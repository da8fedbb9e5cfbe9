"""The send loop: generate what the rules call for, then claim the due client
messages a batch at a time, send them after the claim is committed, and record
each result as soon as it is known.

Exactly once, even with two workers: a batch is claimed in one transaction
that picks the candidates (on PostgreSQL with SELECT ... FOR UPDATE SKIP
LOCKED, so two workers take different rows without waiting) and moves them
from pending (or failed, retry time come) to sending with one UPDATE that must
change every one of them; the claim time marks them as that claim's. The
candidates are read through a partial index of the pending reminders, so a
claim costs the same however many were sent before. Nothing is sent inside a
transaction. A batch's emails share one connection to the mail server. Downtime
skips nothing: a reminder is sent when it is due or at the first run after,
because the claim asks for "due_at <= now", never for an exact time. A worker
that dies while sending leaves the rest of its batch "sending"; after
CLINIC_REMINDER_SENDING_TIMEOUT_SECONDS they go back to pending (the one case
that can send twice, as with any mail queue: the message in hand when it died).

Each step is a method, so tests drive it one step at a time with their own clock.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from sessions_app.models import Reminder, ReminderChannel, ReminderKind, ReminderStatus
from sessions_app.reminders.delivery import DeliveryError, Outbox, deliver, for_delivery
from sessions_app.reminders.generate import obsolete_reasons, reminders_cancel_obsolete, reminders_generate
from sessions_app.reminders.rules import in_quiet_hours, retry_delay
from sessions_app.scheduling import clinic_tz
from sessions_app.services.signal import signal_flags_refresh

log = logging.getLogger(__name__)

# Reminders claimed at once: one mail connection and a few queries serve them all,
# and a batch takes well under the sending timeout even with a slow server.
BATCH_SIZE = 50
# What a claim changes besides the attempts, and a release puts back.
RESTORED = ("status", "next_attempt_at", "claimed_at")

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


@contextlib.contextmanager
def _results_without_waiting_for_disk() -> Iterator[None]:
    """On PostgreSQL, the results of a batch are committed without waiting for
    the disk (synchronous_commit off): a flush per message was most of a
    round's time. A worker that dies loses nothing committed; only a crash of
    PostgreSQL itself may forget the last fraction of a second of results,
    whose reminders then come back "sending" and go again after the timeout."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO OFF")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET synchronous_commit")


@dataclass(frozen=True)
class Claim:
    """Reminders one worker moved to "sending" at `at` (which marks them as
    this claim's), in sending order, and each one's RESTORED fields before."""

    at: dt.datetime
    ids: list[int]
    before: dict[int, tuple]


class ReminderWorker:
    def __init__(self, *, clock: Callable = timezone.now, batch_size: int = BATCH_SIZE):
        self.clock = clock
        self.batch_size = batch_size
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

    def candidates(self, now: dt.datetime):
        """What a claim picks from: the messages sendable now (no SMS in the
        quiet hours), locked as read on PostgreSQL, skipping rows another
        worker has locked."""
        candidates = Reminder.objects.sendable(now)
        if in_quiet_hours(now, settings.CLINIC_REMINDER_QUIET_HOURS, clinic_tz()):
            candidates = candidates.exclude(channel=ReminderChannel.SMS)
        if connection.vendor == "postgresql":
            candidates = candidates.select_for_update(skip_locked=True)
        return candidates

    def claim_batch(self, size: int | None = None) -> Claim | None:
        """Claim up to `size` client messages, the longest ready first, or None
        when none is due. One transaction: the candidates are picked (on
        PostgreSQL with FOR UPDATE SKIP LOCKED, so two workers take different
        rows without waiting; SQLite's transactions hold the write lock from
        their start) and moved to "sending" by one conditional UPDATE, which
        must change every one of them."""
        now = self.clock()
        candidates = self.candidates(now)
        for _ in range(20):
            with transaction.atomic():
                rows = list(candidates.values_list("pk", *RESTORED)[: size or self.batch_size])
                if not rows:
                    return None
                ids = [pk for pk, *_ in rows]
                taken = (
                    Reminder.objects.sendable(now)
                    .order_by()
                    .filter(pk__in=ids)
                    .update(
                        status=ReminderStatus.SENDING, claimed_at=now, attempts=F("attempts") + 1, next_attempt_at=None
                    )
                )
                if taken == len(ids):
                    return Claim(now, ids, {pk: tuple(before) for pk, *before in rows})
                # Another worker took some first (a database without row locks): try again.
                transaction.set_rollback(True)
        return None

    def claim_next(self) -> int | None:
        """Claim the most overdue client message alone, or None when none is due."""
        claim = self.claim_batch(1)
        return claim.ids[0] if claim else None

    def release(self, claim: Claim, ids: list[int]) -> int:
        """Give back claimed reminders not sent (a stop, a batch past its time):
        each as it was before the claim, its attempt not counted."""
        by_state: dict[tuple, list[int]] = {}
        for pk in ids:
            by_state.setdefault(claim.before[pk], []).append(pk)
        released = 0
        for before, pks in by_state.items():
            released += Reminder.objects.filter(pk__in=pks, status=ReminderStatus.SENDING, claimed_at=claim.at).update(
                attempts=F("attempts") - 1, **dict(zip(RESTORED, before, strict=True))
            )
        return released

    def send_batch(self, claim: Claim) -> list[str]:
        """Send the claimed reminders over one mail connection, recording each
        result as soon as it is known (a worker killed mid-batch leaves only
        the unsent ones "sending"). After stop(), or once the batch has taken
        half the sending timeout (a slow server: the rest could be taken back
        as stuck and sent twice), the rest is released unsent."""
        # Those still this claim's: none taken back as stuck meanwhile, or deleted (a client erased).
        mine = for_delivery().filter(pk__in=claim.ids, status=ReminderStatus.SENDING, claimed_at=claim.at)
        reminders = {r.pk: r for r in mine}
        reasons = obsolete_reasons(reminders.values(), now=self.clock())
        deadline = claim.at + dt.timedelta(seconds=settings.CLINIC_REMINDER_SENDING_TIMEOUT_SECONDS / 2)
        outcomes = []
        with Outbox() as outbox, _results_without_waiting_for_disk():
            for i, pk in enumerate(claim.ids):
                if self.stopping or self.clock() >= deadline:
                    self.release(claim, claim.ids[i:])
                    break
                if pk in reminders:
                    outcomes.append(self._send(reminders[pk], reasons.get(pk), outbox))
        return outcomes

    def process(self, pk: int) -> str:
        """Send one claimed reminder and record what happened: "sent",
        "failed", "cancelled" or "call". Never raises for a bad reminder."""
        reminder = for_delivery().get(pk=pk)
        with Outbox() as outbox:
            return self._send(reminder, obsolete_reasons([reminder], now=self.clock()).get(pk), outbox)

    def _send(self, reminder: Reminder, obsolete_because: str | None, outbox: Outbox) -> str:
        if obsolete_because:
            self._finish(reminder, status=ReminderStatus.CANCELLED, last_error=f"Not sent: {obsolete_because}.")
            return "cancelled"
        # Without an address the message fails (readably, and is retried: the
        # address may be added); with one but no agreement, a call replaces it.
        address = reminder.client.email if reminder.channel == ReminderChannel.EMAIL else reminder.client.phone
        if address and not getattr(reminder.client, _CONSENT[reminder.channel]):
            return self._to_call(reminder)
        try:
            text = deliver(reminder, outbox)
        except DeliveryError as exc:
            return self._failed(reminder, str(exc))
        except Exception as exc:  # a bug or an odd backend must not stop the other reminders
            log.exception("Reminder %s: unexpected error while sending", reminder.pk)
            return self._failed(reminder, f"Unexpected error: {type(exc).__name__}: {exc}")
        self._finish(reminder, status=ReminderStatus.SENT, sent_at=self.clock(), message=text, last_error="")
        log.info("Reminder %s sent by %s", reminder.pk, reminder.channel)
        return "sent"

    def _finish(self, reminder: Reminder, **values) -> None:
        """Record the result, if the reminder is still this claim's (its claim
        time marks it: one taken back as stuck and claimed again is another's)."""
        mine = Reminder.objects.filter(pk=reminder.pk, status=ReminderStatus.SENDING, claimed_at=reminder.claimed_at)
        if not mine.update(**values):
            log.warning("Reminder %s was no longer ours when its result came (stuck timeout too short?)", reminder.pk)

    def _failed(self, reminder: Reminder, error: str) -> str:
        limit = settings.CLINIC_REMINDER_MAX_ATTEMPTS
        if reminder.attempts >= limit:
            self._finish(reminder, status=ReminderStatus.FAILED, last_error=f"{error} Gave up after {limit} attempts.")
        else:
            delay = retry_delay(
                reminder.attempts,
                settings.CLINIC_REMINDER_BACKOFF_SECONDS,
                settings.CLINIC_REMINDER_BACKOFF_MAX_SECONDS,
            )
            self._finish(reminder, status=ReminderStatus.FAILED, last_error=error, next_attempt_at=self.clock() + delay)
        log.warning("Reminder %s failed (attempt %s): %s", reminder.pk, reminder.attempts, error)
        return "failed"

    def _to_call(self, reminder: Reminder) -> str:
        """The client withdrew their agreement to this channel since the
        reminder was made: reception calls instead, unless the rule already
        has a call task for it."""
        channel = reminder.get_channel_display().split()[0].lower()
        if reminder.kind == ReminderKind.CHECK_IN:
            why = f"Not sent: the client no longer agrees to {channel} messages; a check-in is theirs to answer."
            self._finish(reminder, status=ReminderStatus.CANCELLED, last_error=why)
            return "cancelled"
        if reminder.rule and reminder.rule.by_call:
            why = f"Not sent: the client no longer agrees to {channel} reminders; the rule's call task covers it."
            self._finish(reminder, status=ReminderStatus.CANCELLED, last_error=why)
            return "cancelled"
        self._finish(
            reminder,
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
        while not self.stopping and (claim := self.claim_batch()) is not None:
            for outcome in self.send_batch(claim):
                if outcome == "sent":
                    done.sent += 1
                elif outcome == "failed":
                    done.failed += 1
                elif outcome == "call":
                    done.to_calls += 1
                else:
                    done.cancelled += 1
            # Rows another worker left "sending" come back within their timeout, however long this round.
            done.back_from_stuck += self.recover_stuck()
        # The side-effect signal's flags on Today follow the side effects recorded
        # since: counted after the messages are out (seconds at a chain's size),
        # so that no message waits for the count.
        done.new_signal_flags = signal_flags_refresh(now=self.clock())
        return done
