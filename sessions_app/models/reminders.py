import datetime as dt

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.timezone import localtime

from sessions_app.reminders.messages import PLACEHOLDERS, template_errors
from sessions_app.reminders.rules import (
    ANCHORS,
    Direction,
    Offset,
    Unit,
    describe_offset,
    is_overdue,
    reminder_channels,
)

from .clients import Client, Screening
from .plans import TreatmentPlan, TreatmentSession


class ReminderKind(models.TextChoices):
    UPCOMING_SESSION = "upcoming_session", "Upcoming session"
    AFTERCARE_CHECK = "aftercare_check", "Aftercare check"
    NEXT_SESSION_UNBOOKED = "next_session_unbooked", "Next series session not booked"
    MAINTENANCE_DUE = "maintenance_due", "Maintenance due"
    SCREENING_RENEWAL = "screening_renewal", "Screening renewal"
    CHECK_IN = "check_in", "Check-in after a session"
    SIDE_EFFECT_UNRESOLVED = "side_effect_unresolved", "Side effect not resolved when expected"
    # Made at once by a client's check-in, not by a rule.
    SIDE_EFFECT_URGENT = "side_effect_urgent", "Severe side effect reported by the client"


# The kinds a rule may have: the urgent call follows a check-in at once.
RULE_KINDS = [kind for kind in ReminderKind.values if kind != ReminderKind.SIDE_EFFECT_URGENT]


class ReminderChannel(models.TextChoices):
    EMAIL = "email", "Email to client"
    SMS = "sms", "SMS to client"
    CALL = "call", "Call task for staff"


class ReminderStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


class CallOutcome(models.TextChoices):
    REACHED = "reached", "Reached"
    NO_ANSWER = "no_answer", "No answer"
    BOOKED = "booked", "Booked"
    DECLINED = "declined", "Declined"


class OffsetUnit(models.TextChoices):
    HOURS = Unit.HOURS.value, "hours"
    DAYS = Unit.DAYS.value, "days"


class OffsetDirection(models.TextChoices):
    BEFORE = Direction.BEFORE.value, "before"
    AFTER = Direction.AFTER.value, "after"


# An offset longer than this is a typo (a year in days, or in hours).
OFFSET_MAX = 366


class ReminderRule(models.Model):
    """When and how the clinic reminds a client (or asks staff to call) about
    one kind of event. Reference data a manager edits; the defaults come from
    migration 0006. Rules are never deleted once used: switch one off."""

    name = models.CharField(max_length=120, unique=True)
    kind = models.CharField(max_length=24, choices=ReminderKind.choices)
    active = models.BooleanField(default=True)
    amount = models.PositiveSmallIntegerField(
        "offset", help_text=f"How many hours or days (0 to {OFFSET_MAX}) from what the reminder is about."
    )
    unit = models.CharField("offset unit", max_length=5, choices=OffsetUnit.choices, default=OffsetUnit.DAYS)
    direction = models.CharField(max_length=6, choices=OffsetDirection.choices, default=OffsetDirection.BEFORE)
    send_time = models.TimeField(
        default=dt.time(10, 0),
        help_text="For an offset in days: the time of day it is due, on the clinic's clock.",
    )
    by_email = models.BooleanField("email", default=False, help_text="Email the client, if they agreed to email.")
    by_sms = models.BooleanField("SMS", default=False, help_text="Text the client, if they agreed to SMS.")
    by_call = models.BooleanField(
        "call task", default=False, help_text="Ask reception to call the client (on the call list)."
    )
    subject = models.CharField(max_length=200, blank=True, help_text="The email's subject; placeholders allowed.")
    body = models.TextField(
        help_text="The message. Placeholders: "
        + ", ".join(f"{{{name}}} ({meaning})" for name, meaning in PLACEHOLDERS.items())
        + ". The unsubscribe link is added below it."
    )
    sms_body = models.TextField(
        "SMS text",
        blank=True,
        help_text="The text message, with the same placeholders; the stop link is added after it. One SMS part "
        "holds 160 characters, link included (70 with a character outside the GSM alphabet, such as an emoji). "
        "Empty: the SMS says the message above.",
    )

    class Meta:
        ordering = ["kind", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=RULE_KINDS),
                name="rule_kind_valid",
                violation_error_message="A severe check-in's call is made at once, not by a rule.",
            ),
            models.CheckConstraint(condition=Q(unit__in=OffsetUnit.values), name="rule_unit_valid"),
            models.CheckConstraint(condition=Q(direction__in=OffsetDirection.values), name="rule_direction_valid"),
            models.CheckConstraint(
                condition=Q(amount__lte=OFFSET_MAX),
                name="rule_offset_range",
                violation_error_message=f"The offset is at most {OFFSET_MAX}.",
            ),
            models.CheckConstraint(
                condition=Q(by_email=True) | Q(by_sms=True) | Q(by_call=True),
                name="rule_has_a_channel",
                violation_error_message="Choose at least one channel: email, SMS or a call task.",
            ),
            models.CheckConstraint(
                condition=~Q(kind=ReminderKind.UPCOMING_SESSION, direction=OffsetDirection.AFTER),
                name="rule_upcoming_is_before",
                violation_error_message="A reminder of an upcoming session comes before it.",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def offset(self) -> Offset:
        return Offset(self.amount, self.unit, self.direction, self.send_time)

    def channels_for(self, *, preferred: str, consent_email: bool, consent_sms: bool) -> dict[str, str]:
        """{slot: channel} of the reminders this rule makes for a client (rules.reminder_channels)."""
        return reminder_channels(
            email=self.by_email,
            sms=self.by_sms,
            call=self.by_call,
            preferred=preferred,
            consent_email=consent_email,
            consent_sms=consent_sms,
            # A check-in is the client's own answer: no call replaces it.
            call_instead=self.kind != ReminderKind.CHECK_IN,
        )

    @property
    def sms_template(self) -> str:
        """What an SMS of this rule says: its own text, else the message."""
        return self.sms_body if self.sms_body.strip() else self.body

    def describe(self) -> str:
        return describe_offset(self.offset, ANCHORS.get(self.kind, "the event"))

    def clean(self):
        errors = {}
        if self.kind == ReminderKind.SIDE_EFFECT_URGENT:
            errors["kind"] = "A severe check-in's call is made at once, not by a rule."
        if self.kind == ReminderKind.CHECK_IN:
            if self.by_call:
                errors["by_call"] = "A check-in is the client's own answer: by email or SMS only."
            for field in ("body", "sms_body"):
                text = getattr(self, field)
                if text.strip() and "{link}" not in text:
                    errors[field] = "A check-in message needs its {link}: the client's personal page."
        if self.kind == ReminderKind.SIDE_EFFECT_UNRESOLVED and (self.by_email or self.by_sms):
            errors["by_call"] = "A side effect past its expected time is a call for staff to make."
        if self.kind == ReminderKind.UPCOMING_SESSION and self.direction == OffsetDirection.AFTER:
            errors["direction"] = "A reminder of an upcoming session comes before it."
        if not (self.by_email or self.by_sms or self.by_call):
            errors["by_call"] = "Choose at least one channel: email, SMS or a call task."
        if (self.by_email or self.by_sms) and not self.body.strip():
            errors["body"] = "A message to the client needs a text."
        for field in ("subject", "body", "sms_body"):
            if problems := template_errors(getattr(self, field) or "", self.kind or ""):
                errors.setdefault(field, " ".join(problems))
        if errors:
            raise ValidationError(errors)


# Client messages the worker sends; call tasks wait for staff.
MESSAGE_CHANNELS = (ReminderChannel.EMAIL, ReminderChannel.SMS)


# The client messages the worker may still send: pending, or failed with a
# retry planned (only a failed reminder has a retry time: reminder_retry_only_when_failed).
CLAIMABLE = Q(channel__in=MESSAGE_CHANNELS) & (Q(status=ReminderStatus.PENDING) | Q(next_attempt_at__isnull=False))


def ready_at():
    """When a claimable message may go: its retry time once it failed, else its due time."""
    return Coalesce("next_attempt_at", "due_at")


class ReminderQuerySet(models.QuerySet):
    def due(self, now):
        """Waiting and due, messages and calls (Today's list): read through
        reminder_pending_due_idx, which holds the pending ones only."""
        return self.filter(status=ReminderStatus.PENDING, due_at__lte=now)

    def sendable(self, now):
        """Client messages the worker may claim now, the longest ready first:
        pending and due, or failed with a retry time that has come. Read in
        order from reminder_claimable_idx, so the first few cost the same
        however many were sent before."""
        return self.filter(CLAIMABLE).alias(ready_at=ready_at()).filter(ready_at__lte=now).order_by("ready_at", "pk")

    def open_calls(self):
        """Call tasks still to make (a "no answer" stays open)."""
        return self.filter(channel=ReminderChannel.CALL, status=ReminderStatus.PENDING)

    def for_call_list(self):
        """With what the list shows; the staff, indications and side-effect
        kinds are attached by reminders.calls.call_list (attach_related)."""
        return self.select_related("client", "session", "plan", "side_effect")


class Reminder(models.Model):
    """A message to a client, or a call task for staff, about a session or plan.

    `key` names what the reminder is about (for example
    "upcoming_session:email:session=42"); its uniqueness stops the generator from
    creating the same reminder twice, however often it runs.
    """

    # client and session are indexed by reminder_client_idx and
    # reminder_session_rule_idx, which lead with them: a second index of each
    # would only slow down every insert (the generator writes thousands at once).
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="reminders", db_index=False)
    plan = models.ForeignKey(
        TreatmentPlan,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reminders",
    )
    session = models.ForeignKey(
        TreatmentSession,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reminders",
        db_index=False,
    )
    screening = models.ForeignKey(
        Screening,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reminders",
        help_text="For a screening renewal: the screening that runs out.",
    )
    side_effect = models.ForeignKey(
        "sessions_app.SideEffect",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reminders",
        help_text="For a side-effect call: the side effect.",
        db_index=False,  # reminder_side_effect_rule_idx leads with it
    )
    rule = models.ForeignKey(ReminderRule, on_delete=models.PROTECT, null=True, blank=True, related_name="reminders")
    kind = models.CharField(max_length=24, choices=ReminderKind.choices)
    channel = models.CharField(max_length=8, choices=ReminderChannel.choices)
    key = models.CharField(max_length=200, help_text="What this reminder is about; unique.")
    due_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=ReminderStatus.choices, default=ReminderStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    claimed_at = models.DateTimeField(null=True, blank=True, help_text="When a worker began sending it.")
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(
        null=True, blank=True, help_text="When a failed reminder is tried again; empty once given up."
    )
    message = models.TextField(blank=True, help_text="What was sent, as sent.")
    call_outcome = models.CharField(max_length=10, choices=CallOutcome.choices, blank=True)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Who recorded the last call outcome.",
        # Staff accounts are deactivated, never deleted: nothing looks reminders up by it.
        db_index=False,
    )
    handled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ReminderQuerySet.as_manager()

    class Meta:
        ordering = ["due_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["key"], name="reminder_unique_key"),
            models.CheckConstraint(condition=Q(kind__in=ReminderKind.values), name="reminder_kind_valid"),
            models.CheckConstraint(
                condition=Q(channel__in=ReminderChannel.values),
                name="reminder_channel_valid",
            ),
            models.CheckConstraint(
                condition=Q(status__in=ReminderStatus.values),
                name="reminder_status_valid",
            ),
            models.CheckConstraint(
                condition=~Q(status=ReminderStatus.SENT) | Q(sent_at__isnull=False),
                name="reminder_sent_has_time",
                violation_error_message="A sent reminder needs its sending time.",
            ),
            models.CheckConstraint(
                condition=~Q(status=ReminderStatus.SENDING) | Q(claimed_at__isnull=False),
                name="reminder_sending_is_claimed",
            ),
            models.CheckConstraint(
                condition=Q(call_outcome="") | Q(call_outcome__in=CallOutcome.values),
                name="reminder_call_outcome_valid",
            ),
            models.CheckConstraint(
                condition=Q(call_outcome="") | Q(channel=ReminderChannel.CALL),
                name="reminder_outcome_only_for_calls",
            ),
            models.CheckConstraint(
                condition=Q(next_attempt_at__isnull=True) | Q(status=ReminderStatus.FAILED),
                name="reminder_retry_only_when_failed",
            ),
        ]
        indexes = [
            # Reminders of one status by due time: the stuck ones the worker takes
            # back, the week's failed ones on Today.
            models.Index(fields=["status", "due_at"], name="reminder_status_due_idx"),
            # The worker's claim (sendable()): only the messages it may still send, in
            # the order it takes them, so a claim reads the few it takes and none of
            # the many sent or cancelled before.
            models.Index(ready_at(), "id", condition=CLAIMABLE, name="reminder_claimable_idx"),
            # Today's reminders due (due()): the pending ones, messages and calls, in due order.
            models.Index(
                fields=["due_at", "id"], condition=Q(status=ReminderStatus.PENDING), name="reminder_pending_due_idx"
            ),
            # A client's reminders on the client page.
            models.Index(fields=["client", "-due_at"], name="reminder_client_idx"),
            # The generator's anti-join: has this rule a reminder about this session yet?
            models.Index(fields=["session", "rule"], name="reminder_session_rule_idx"),
            # The call list: open call tasks in due order, so a page is read from
            # the index rather than sorted from all of them. The kind, last, lets
            # the call list's counts by kind and Today's overdue recalls be read
            # from the index alone (a chain has ten thousand open calls).
            models.Index(fields=["channel", "status", "due_at", "id", "kind"], name="reminder_call_list_idx"),
            # The admin's list in due order (a page read from the index, not sorted),
            # and the first and last date of its date drill-down.
            models.Index(fields=["due_at", "id"], name="reminder_due_idx"),
            # The top of the call list: the severe check-ins' calls still to make, the newest first.
            models.Index(
                fields=["-due_at"],
                condition=Q(kind="side_effect_urgent", status="pending"),
                name="reminder_urgent_call_idx",
            ),
            # The maintenance report: the maintenance reminders' plans and anchor
            # sessions (an eighth of the reminders), read from the index alone
            # rather than by a scan of every reminder.
            models.Index(
                fields=["plan", "session"],
                condition=Q(kind="maintenance_due", session__isnull=False),
                name="reminder_maintenance_idx",
            ),
            # The generator's anti-join for side-effect calls (few rows: only those reminders have one).
            models.Index(
                fields=["side_effect", "rule"], condition=Q(side_effect__isnull=False), name="reminder_side_effect_idx"
            ),
        ]

    def __str__(self) -> str:
        due = localtime(self.due_at)
        channel = self.get_channel_display().lower()
        return f"{self.get_kind_display()}, {channel}, for {self.client}, due {due:%Y-%m-%d %H:%M}"

    @property
    def overdue(self) -> bool:
        """Whether this reminder, still waiting, is overdue (rules.is_overdue)."""
        if self.status != ReminderStatus.PENDING:
            return False
        return is_overdue(
            call=self.channel == ReminderChannel.CALL,
            due=self.due_at,
            now=timezone.now(),
            tz=timezone.get_current_timezone(),
        )
