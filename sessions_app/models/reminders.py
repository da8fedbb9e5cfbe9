from django.db import models
from django.db.models import Q
from django.utils.timezone import localtime

from .clients import Client
from .plans import TreatmentPlan, TreatmentSession


class ReminderKind(models.TextChoices):
    UPCOMING_SESSION = "upcoming_session", "Upcoming session"
    AFTERCARE_CHECK = "aftercare_check", "Aftercare check"
    NEXT_SESSION_UNBOOKED = "next_session_unbooked", "Next series session not booked"
    MAINTENANCE_DUE = "maintenance_due", "Maintenance due"
    SCREENING_RENEWAL = "screening_renewal", "Screening renewal"


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


class ReminderQuerySet(models.QuerySet):
    def due(self, now):
        return self.filter(status=ReminderStatus.PENDING, due_at__lte=now)


class Reminder(models.Model):
    """A message to a client, or a call task for staff, about a session or plan.

    `key` names what the reminder is about (for example
    "upcoming_session:email:session=42"); its uniqueness stops the generator from
    creating the same reminder twice, however often it runs.
    """

    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="reminders")
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
    )
    kind = models.CharField(max_length=24, choices=ReminderKind.choices)
    channel = models.CharField(max_length=8, choices=ReminderChannel.choices)
    key = models.CharField(max_length=200, help_text="What this reminder is about; unique.")
    due_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=ReminderStatus.choices, default=ReminderStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    claimed_at = models.DateTimeField(null=True, blank=True, help_text="When a worker began sending it.")
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
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
        ]
        indexes = [
            # The worker's claim: pending reminders by due time.
            models.Index(fields=["status", "due_at"], name="reminder_status_due_idx"),
            # A client's reminders on the client page.
            models.Index(fields=["client", "-due_at"], name="reminder_client_idx"),
        ]

    def __str__(self) -> str:
        due = localtime(self.due_at)
        return f"{self.get_kind_display()} by {self.channel} for {self.client}, due {due:%Y-%m-%d %H:%M}"
