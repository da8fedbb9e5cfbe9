from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import ExpressionWrapper, F, Q
from simple_history.models import HistoricalRecords

from .catalog import SideEffectKind
from .clients import Client
from .plans import TreatmentSession


class SideEffectSeverity(models.TextChoices):
    MILD = "mild", "Mild"
    MODERATE = "moderate", "Moderate"
    SEVERE = "severe", "Severe"


# Not yet resolved, or not yet reviewed by a practitioner.
OPEN = Q(resolved_on__isnull=True) | Q(reviewed_at__isnull=True)
# The order practitioners work through them: serious first, then those not yet
# reviewed, then the most recent. (Ordering by reviewed_at itself put the
# unreviewed last on PostgreSQL, which sorts NULLs last, and first on SQLite.)
# side_effect_review_idx holds this order.
REVIEWED = ExpressionWrapper(Q(reviewed_at__isnull=False), output_field=models.BooleanField())
REVIEW_ORDER = (F("serious").desc(), REVIEWED.asc(), F("onset").desc(), F("id").desc())


class SideEffectQuerySet(models.QuerySet):
    def open(self):
        """Not yet resolved, or not yet reviewed by a practitioner."""
        return self.filter(OPEN)

    def for_review(self):
        """The open ones in the order they are reviewed, with what the lists show."""
        return (
            self.open()
            .select_related("client", "kind", "session", "recorded_by", "reviewed_by")
            .order_by(*REVIEW_ORDER)
        )


class SideEffect(models.Model):
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="side_effects")
    session = models.ForeignKey(
        TreatmentSession,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="side_effects",
    )
    kind = models.ForeignKey(SideEffectKind, on_delete=models.PROTECT, related_name="side_effects")
    severity = models.CharField(max_length=10, choices=SideEffectSeverity.choices)
    serious = models.BooleanField(default=False, help_text="A serious adverse event, to report.")
    onset = models.DateField()
    resolved_on = models.DateField(null=True, blank=True)
    action_taken = models.TextField(blank=True)
    notes = models.TextField(blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)

    history = HistoricalRecords()
    objects = SideEffectQuerySet.as_manager()

    class Meta:
        ordering = ["-onset", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(severity__in=SideEffectSeverity.values),
                name="side_effect_severity_valid",
            ),
            models.CheckConstraint(
                condition=Q(resolved_on__isnull=True) | Q(resolved_on__gte=F("onset")),
                name="side_effect_resolved_after_onset",
                violation_error_message="A side effect cannot resolve before its onset.",
            ),
            models.CheckConstraint(
                condition=Q(reviewed_by__isnull=True, reviewed_at__isnull=True)
                | Q(reviewed_by__isnull=False, reviewed_at__isnull=False),
                name="side_effect_review_complete",
                violation_error_message="A review needs both the reviewer and the date.",
            ),
        ]
        indexes = [
            # A client's side effects on the client page.
            models.Index(fields=["client", "-onset"], name="side_effect_client_idx"),
            # The open side effects in review order (dashboard, review list): a
            # page is read from the index, not sorted from all of them.
            models.Index(*REVIEW_ORDER, condition=OPEN, name="side_effect_review_idx"),
            # The admin's list, newest first (a page read from the index, not sorted), and
            # the first and last date of its date drill-down.
            models.Index(fields=["-onset", "-id"], name="side_effect_onset_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} ({self.get_severity_display().lower()}) for {self.client}"

    def clean(self):
        # A side effect follows one of the client's own sessions, whatever form records it.
        if self.session_id and self.client_id and self.session.plan.client_id != self.client_id:
            raise ValidationError({"session": "This session is another client's."})
