"""Side effects, from first report to resolution: the side effect itself (edited
with its history), the follow-up entries of its course, and the client's own
check-ins after a session."""

import enum

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import ExpressionWrapper, F, OuterRef, Q, Subquery
from django.utils import timezone
from simple_history.models import HistoricalRecords

from .catalog import Product, SideEffectKind, Substance, Symptom, TreatmentArea
from .clients import Client
from .expressions import SubqueryCount
from .plans import PAIN_SCORE_MAX, TreatmentSession
from .records import photo_path


class SideEffectSeverity(models.TextChoices):
    MILD = "mild", "Mild"
    MODERATE = "moderate", "Moderate"
    SEVERE = "severe", "Severe"


class SideEffectStatus(models.TextChoices):
    """A side effect's course, and the one home of which changes it may take."""

    OPEN = "open", "Open"
    IMPROVING = "improving", "Improving"
    RESOLVED = "resolved", "Resolved"

    # From each status, the ones a follow-up may move it to: it may get better,
    # worse again, or come back after it resolved.
    TRANSITIONS = enum.nonmember(
        {
            "open": ("improving", "resolved"),
            "improving": ("open", "resolved"),
            "resolved": ("open",),
        }
    )

    @classmethod
    def refusal(cls, current: str, target: str) -> str | None:
        """Why a side effect may not go from `current` to `target`, or None
        when it may (staying as it is is always allowed)."""
        if current == target or target in cls.TRANSITIONS.get(current, ()):
            return None
        return f"A side effect that is {cls(current).label.lower()} cannot become {cls(target).label.lower()}."


class SideEffectSource(models.TextChoices):
    STAFF = "staff", "Recorded by staff"
    CHECK_IN = "check_in", "The client's check-in"


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

    def for_client_timeline(self):
        """With what the client's timeline says of each: kind, area, session,
        reviewer, and its course in brief (how many follow-ups, when the
        latest was), counted in the same query."""
        course = SideEffectFollowUp.objects.filter(side_effect=OuterRef("pk"))
        return self.select_related("kind", "area", "session", "reviewed_by").annotate(
            follow_up_count=SubqueryCount(course),
            last_follow_up_at=Subquery(course.order_by("-at", "-id").values("at")[:1]),
        )

    def for_review(self):
        """The open ones in the order they are reviewed, with their client and
        kind, what Today's list shows (each table joined beside them made the
        query slower to plan than to run)."""
        return self.open().select_related("client", "kind").order_by(*REVIEW_ORDER)


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
    severity = models.CharField(max_length=10, choices=SideEffectSeverity.choices, help_text="As it is now.")
    serious = models.BooleanField(default=False, help_text="A serious adverse event, to report.")
    status = models.CharField(max_length=10, choices=SideEffectStatus.choices, default=SideEffectStatus.OPEN)
    area = models.ForeignKey(
        TreatmentArea, on_delete=models.PROTECT, null=True, blank=True, related_name="+", help_text="Where it is."
    )
    suspected_product = models.ForeignKey(
        Product, on_delete=models.PROTECT, null=True, blank=True, related_name="+", help_text="The product suspected."
    )
    suspected_substance = models.ForeignKey(
        Substance,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The substance suspected (for an allergic reaction: the allergen).",
    )
    onset = models.DateField()
    expected_resolution_on = models.DateField(
        null=True,
        blank=True,
        editable=False,
        help_text="When a side effect of its kind is usually gone (its kind's expected days after the onset).",
    )
    resolved_on = models.DateField(null=True, blank=True)
    action_taken = models.TextField(blank=True)
    notes = models.TextField(blank=True)
    source = models.CharField(max_length=10, choices=SideEffectSource.choices, default=SideEffectSource.STAFF)
    # Empty for one the client reported at a check-in.
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
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
            models.CheckConstraint(condition=Q(status__in=SideEffectStatus.values), name="side_effect_status_valid"),
            models.CheckConstraint(
                condition=Q(status=SideEffectStatus.RESOLVED, resolved_on__isnull=False)
                | (~Q(status=SideEffectStatus.RESOLVED) & Q(resolved_on__isnull=True)),
                name="side_effect_resolved_has_date",
                violation_error_message="A resolved side effect has its date of resolution, and only a resolved one.",
            ),
            models.CheckConstraint(condition=Q(source__in=SideEffectSource.values), name="side_effect_source_valid"),
            models.CheckConstraint(
                condition=Q(source=SideEffectSource.CHECK_IN) | Q(recorded_by__isnull=False),
                name="side_effect_staff_record_has_author",
                violation_error_message="A side effect recorded by staff names who recorded it.",
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
            # Today: the client's check-ins not yet reviewed (the severe ones are flagged).
            models.Index(
                fields=["-recorded_at"],
                condition=Q(source=SideEffectSource.CHECK_IN, reviewed_at__isnull=True),
                name="side_effect_check_in_idx",
            ),
            # Today's flag and the generator's calls: unresolved ones past their expected time.
            models.Index(
                fields=["expected_resolution_on"],
                condition=Q(resolved_on__isnull=True, expected_resolution_on__isnull=False),
                name="side_effect_overdue_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} ({self.get_severity_display().lower()}) for {self.client}"

    def clean(self):
        # A side effect follows one of the client's own sessions, whatever form records it.
        if self.session_id and self.client_id and self.session.plan.client_id != self.client_id:
            raise ValidationError({"session": "This session is another client's."})
        # Mirrors side_effect_resolved_has_date, beside the field.
        if self.status == SideEffectStatus.RESOLVED and self.resolved_on is None:
            raise ValidationError({"resolved_on": "Give the date it resolved."})
        if self.status != SideEffectStatus.RESOLVED and self.resolved_on is not None:
            raise ValidationError({"resolved_on": "Only a resolved side effect has a date of resolution."})

    @property
    def is_resolved(self) -> bool:
        return self.status == SideEffectStatus.RESOLVED

    def overdue_on(self, day) -> bool:
        """Unresolved past the time its kind usually takes."""
        return not self.is_resolved and self.expected_resolution_on is not None and self.expected_resolution_on < day


class SideEffectFollowUp(models.Model):
    """One entry of a side effect's course: what was seen or done, its
    severity then, and the status it left it in. Entries are added, never
    changed: together they are the history of its course."""

    side_effect = models.ForeignKey(SideEffect, on_delete=models.PROTECT, related_name="follow_ups")
    at = models.DateTimeField(default=timezone.now)
    note = models.TextField(blank=True)
    severity = models.CharField(max_length=10, choices=SideEffectSeverity.choices, help_text="At that time.")
    previous_status = models.CharField(max_length=10, choices=SideEffectStatus.choices)
    status = models.CharField(max_length=10, choices=SideEffectStatus.choices)
    source = models.CharField(max_length=10, choices=SideEffectSource.choices, default=SideEffectSource.STAFF)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # A photo, kept as staff uploads are (services.records.photo_prepare).
    photo = models.ImageField(upload_to=photo_path, blank=True)
    photo_width = models.PositiveIntegerField(null=True, blank=True, editable=False)
    photo_height = models.PositiveIntegerField(null=True, blank=True, editable=False)
    photo_content_type = models.CharField(max_length=40, blank=True, editable=False)

    class Meta:
        ordering = ["side_effect", "at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(severity__in=SideEffectSeverity.values), name="follow_up_severity_valid"
            ),
            models.CheckConstraint(
                condition=Q(status__in=SideEffectStatus.values, previous_status__in=SideEffectStatus.values),
                name="follow_up_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(source=SideEffectSource.CHECK_IN) | Q(recorded_by__isnull=False),
                name="follow_up_staff_entry_has_author",
            ),
        ]
        indexes = [
            # A side effect's course, in order, on its page.
            models.Index(fields=["side_effect", "at"], name="follow_up_side_effect_idx"),
        ]

    def __str__(self) -> str:
        return f"Follow-up of {self.side_effect_id} on {timezone.localtime(self.at):%Y-%m-%d %H:%M}"

    @property
    def status_changed(self) -> bool:
        return self.status != self.previous_status


class CheckInAnswer(models.TextChoices):
    FINE = "fine", "Fine"
    REDNESS = Symptom.REDNESS.value, Symptom.REDNESS.label
    SWELLING = Symptom.SWELLING.value, Symptom.SWELLING.label
    BRUISING = Symptom.BRUISING.value, Symptom.BRUISING.label
    PAIN = Symptom.PAIN.value, Symptom.PAIN.label
    OTHER = Symptom.OTHER.value, Symptom.OTHER.label


class CheckIn(models.Model):
    """A client's answer to a check-in message after a session, given on the
    page its personal link opens. One answer per message: the link cannot be
    used twice."""

    reminder = models.OneToOneField(
        "sessions_app.Reminder", on_delete=models.PROTECT, related_name="check_in", help_text="The message answered."
    )
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="check_ins")
    session = models.ForeignKey(TreatmentSession, on_delete=models.PROTECT, related_name="check_ins")
    answered_at = models.DateTimeField(default=timezone.now)
    answer = models.CharField(max_length=10, choices=CheckInAnswer.choices)
    score = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(PAIN_SCORE_MAX)],
        help_text=f"How bad, 0 (not at all) to {PAIN_SCORE_MAX} (the worst).",
    )
    note = models.TextField(blank=True)
    side_effect = models.ForeignKey(
        SideEffect, on_delete=models.PROTECT, null=True, blank=True, related_name="check_ins"
    )

    class Meta:
        ordering = ["-answered_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(answer__in=CheckInAnswer.values), name="check_in_answer_valid"),
            models.CheckConstraint(
                condition=Q(score__isnull=True) | Q(score__gte=0, score__lte=PAIN_SCORE_MAX),
                name="check_in_score_range",
            ),
            models.CheckConstraint(
                condition=Q(answer=CheckInAnswer.FINE, side_effect__isnull=True)
                | (~Q(answer=CheckInAnswer.FINE) & Q(score__isnull=False, side_effect__isnull=False)),
                name="check_in_problem_is_a_side_effect",
                violation_error_message="Anything but fine has its score and becomes a side effect.",
            ),
        ]
        indexes = [
            # A client's check-ins, newest first.
            models.Index(fields=["client", "-answered_at"], name="check_in_client_idx"),
        ]

    def __str__(self) -> str:
        return f"Check-in of {self.client} on {timezone.localtime(self.answered_at):%Y-%m-%d}: {self.answer}"


class SignalDimension(models.TextChoices):
    LOT = "lot", "Lot"
    MIXTURE = "mixture", "Mixture"


class SignalFlag(models.Model):
    """A lot or mixture whose sessions were followed by side effects well
    above the rest of the clinic (services.signal): raised when the test first
    flags it, cleared when it no longer does. Today shows the new ones."""

    dimension = models.CharField(max_length=10, choices=SignalDimension.choices)
    object_id = models.PositiveBigIntegerField(help_text="The lot's or the mixture's id.")
    label = models.CharField(max_length=200)
    raised_at = models.DateTimeField()
    cleared_at = models.DateTimeField(null=True, blank=True)
    checked_at = models.DateTimeField(help_text="When the figures below were counted.")
    sessions = models.PositiveIntegerField()
    with_side_effect = models.PositiveIntegerField()
    baseline = models.FloatField(help_text="The rest of the clinic's rate then.")
    p_value = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["-raised_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(dimension__in=SignalDimension.values), name="signal_flag_dimension_valid"
            ),
            models.UniqueConstraint(
                fields=["dimension", "object_id"], condition=Q(cleared_at__isnull=True), name="signal_flag_one_standing"
            ),
        ]
        indexes = [
            # Today: the standing flags, the newest first.
            models.Index(fields=["-raised_at"], condition=Q(cleared_at__isnull=True), name="signal_flag_standing_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_dimension_display()} {self.label}: {self.with_side_effect} of {self.sessions} sessions"

    @property
    def rate(self) -> float:
        return self.with_side_effect / self.sessions if self.sessions else 0.0


class SignalCount(models.Model):
    """The signal's counts over the default period (the last 12 months), as the
    reminder round last made them: the page shows them without counting a
    year of sessions again for every visit. Other periods are counted when
    asked. Derived data: replaced each round, never edited."""

    period_start = models.DateField()
    period_end = models.DateField()
    counted_at = models.DateTimeField()
    counts = models.JSONField(
        help_text='{"total": [sessions, with a side effect], "rows": {dimension: [[id, label, n, k]]}}'
    )

    class Meta:
        ordering = ["-counted_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["period_start", "period_end"], name="signal_count_one_per_period"),
        ]

    def __str__(self) -> str:
        period = f"{self.period_start:%Y-%m-%d} to {self.period_end:%Y-%m-%d}"
        return f"Signal {period}, counted {timezone.localtime(self.counted_at):%Y-%m-%d %H:%M}"
