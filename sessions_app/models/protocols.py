"""Protocols: what a clinic usually does for an indication. Reference data a
manager edits in the admin; booking a series starts from the protocol of the
indication chosen, and the session record from the plan's protocol."""

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from .catalog import Indication, Mixture, TreatmentArea
from .plans import INTERVAL_DAYS_MAX, MAINTENANCE_INTERVAL_DAYS_MAX, SESSIONS_PLANNED_MAX
from .records import NEEDLE_MAX_MM, POINTS_MAX, Depth, Technique


class Protocol(models.Model):
    """The usual series and technique for one indication."""

    indication = models.OneToOneField(Indication, on_delete=models.PROTECT, related_name="protocol")
    mixture = models.ForeignKey(Mixture, on_delete=models.PROTECT, related_name="protocols")
    areas = models.ManyToManyField(TreatmentArea, related_name="protocols", help_text="The areas usually treated.")
    sessions = models.PositiveSmallIntegerField(
        "sessions in the series", validators=[MinValueValidator(1), MaxValueValidator(SESSIONS_PLANNED_MAX)]
    )
    interval_days = models.PositiveSmallIntegerField(
        "interval between sessions (days)", validators=[MinValueValidator(1), MaxValueValidator(INTERVAL_DAYS_MAX)]
    )
    maintenance_interval_days = models.PositiveSmallIntegerField(
        "maintenance interval (days)",
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(MAINTENANCE_INTERVAL_DAYS_MAX)],
        help_text="Empty: no maintenance after the series.",
    )
    depth = models.CharField(max_length=20, choices=Depth.choices)
    technique = models.CharField(max_length=20, choices=Technique.choices)
    needle_length_mm = models.DecimalField(
        "needle length (mm)",
        max_digits=4,
        decimal_places=1,
        validators=[MinValueValidator(Decimal("0.1")), MaxValueValidator(NEEDLE_MAX_MM)],
    )
    volume_ml = models.DecimalField(
        "volume per area (ml)",
        max_digits=6,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.01"))],
    )
    points = models.PositiveIntegerField(
        "injection points per area",
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(POINTS_MAX)],
    )
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["indication__name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(sessions__gte=1, sessions__lte=SESSIONS_PLANNED_MAX),
                name="protocol_sessions_range",
                violation_error_message=f"A series has 1 to {SESSIONS_PLANNED_MAX} sessions.",
            ),
            models.CheckConstraint(
                condition=Q(interval_days__gte=1, interval_days__lte=INTERVAL_DAYS_MAX),
                name="protocol_interval_range",
                violation_error_message=f"Sessions are 1 to {INTERVAL_DAYS_MAX} days apart.",
            ),
            models.CheckConstraint(
                condition=Q(maintenance_interval_days__isnull=True)
                | Q(maintenance_interval_days__gte=1, maintenance_interval_days__lte=MAINTENANCE_INTERVAL_DAYS_MAX),
                name="protocol_maintenance_interval_range",
                violation_error_message=f"Maintenance is 1 to {MAINTENANCE_INTERVAL_DAYS_MAX} days apart.",
            ),
            models.CheckConstraint(
                condition=Q(needle_length_mm__gt=0, needle_length_mm__lte=NEEDLE_MAX_MM),
                name="protocol_needle_max_13mm",
                violation_error_message=f"Needles are at most {NEEDLE_MAX_MM} mm.",
            ),
            models.CheckConstraint(
                condition=Q(volume_ml__isnull=True) | Q(volume_ml__gt=0),
                name="protocol_volume_positive",
                violation_error_message="The volume must be more than zero.",
            ),
            models.CheckConstraint(
                condition=Q(points__isnull=True) | Q(points__gte=1, points__lte=POINTS_MAX),
                name="protocol_points_range",
                violation_error_message=f"1 to {POINTS_MAX} injection points on one area.",
            ),
            models.CheckConstraint(condition=Q(depth__in=Depth.values), name="protocol_depth_valid"),
            models.CheckConstraint(condition=Q(technique__in=Technique.values), name="protocol_technique_valid"),
        ]

    def __str__(self) -> str:
        return f"Protocol for {self.indication}"
