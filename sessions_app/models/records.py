"""A session's record: what was injected into each area with the lots used,
the corrections made after signing, and the before and after photos."""

import uuid
from decimal import Decimal
from pathlib import PurePath

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.timezone import localtime
from simple_history.models import HistoricalRecords

from .catalog import Product, ProductLot, Substance, SubstanceUnit, TreatmentArea
from .plans import TreatmentSession

# Injection points on one area in one session: hundreds at most, in nappage.
POINTS_MAX = 5000

# Mesotherapy needles are short; DESIGN.md: no longer than 13 mm.
NEEDLE_MAX_MM = Decimal("13")


class Depth(models.TextChoices):
    EPIDERMAL = "epidermal", "Epidermal"
    DEJ = "dej", "Dermo-epidermal junction"
    SUPERFICIAL_DERMIS = "superficial_dermis", "Superficial dermis"
    DEEP_DERMIS = "deep_dermis", "Deeper dermis"


class Technique(models.TextChoices):
    POINT_BY_POINT = "point_by_point", "Point by point"
    PAPULES = "papules", "Papules"
    NAPPAGE = "nappage", "Nappage"
    INJECTOR_GUN = "injector_gun", "Injector gun"
    ROLLER = "roller", "Roller"


class Injection(models.Model):
    """What was injected into one area during a session, with the lots used."""

    session = models.ForeignKey(TreatmentSession, on_delete=models.CASCADE, related_name="injections")
    area = models.ForeignKey(TreatmentArea, on_delete=models.PROTECT, related_name="injections")
    lots = models.ManyToManyField(ProductLot, related_name="injections")
    volume_ml = models.DecimalField(
        "volume (ml)",
        max_digits=6,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01"))],
    )
    depth = models.CharField(max_length=20, choices=Depth.choices)
    technique = models.CharField(max_length=20, choices=Technique.choices)
    needle_length_mm = models.DecimalField(
        "needle length (mm)",
        max_digits=4,
        decimal_places=1,
        validators=[
            MinValueValidator(Decimal("0.1")),
            MaxValueValidator(NEEDLE_MAX_MM),
        ],
    )
    points = models.PositiveIntegerField(
        "injection points", validators=[MinValueValidator(1), MaxValueValidator(POINTS_MAX)]
    )

    history = HistoricalRecords(m2m_fields=[lots])

    class Meta:
        ordering = ["session", "area__name"]
        constraints = [
            models.UniqueConstraint(fields=["session", "area"], name="injection_unique_area_per_session"),
            models.CheckConstraint(
                condition=Q(volume_ml__gt=0),
                name="injection_volume_positive",
                violation_error_message="The volume must be more than zero.",
            ),
            models.CheckConstraint(
                condition=Q(needle_length_mm__gt=0, needle_length_mm__lte=NEEDLE_MAX_MM),
                name="injection_needle_max_13mm",
                violation_error_message=f"Needles are at most {NEEDLE_MAX_MM} mm.",
            ),
            models.CheckConstraint(
                condition=Q(points__gte=1),
                name="injection_points_positive",
                violation_error_message="At least one injection point.",
            ),
            models.CheckConstraint(
                condition=Q(points__lte=POINTS_MAX),
                name="injection_points_max",
                violation_error_message=f"At most {POINTS_MAX} injection points on one area.",
            ),
            models.CheckConstraint(condition=Q(depth__in=Depth.values), name="injection_depth_valid"),
            models.CheckConstraint(
                condition=Q(technique__in=Technique.values),
                name="injection_technique_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.area} {self.volume_ml} ml"


class InjectionQuantity(models.Model):
    """How much of one product of the mixture went into an area, when the
    practitioner wrote it down (optional). Without it, the dose ledger takes
    the product's share of the area's volume from the mixture's recipe."""

    injection = models.ForeignKey(Injection, on_delete=models.CASCADE, related_name="quantities")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    quantity_ml = models.DecimalField(
        "quantity (ml)", max_digits=6, decimal_places=2, validators=[MinValueValidator(Decimal("0.01"))]
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["injection", "product__name"]
        verbose_name_plural = "injection quantities"
        constraints = [
            models.UniqueConstraint(fields=["injection", "product"], name="quantity_unique_product_per_injection"),
            models.CheckConstraint(
                condition=Q(quantity_ml__gt=0),
                name="quantity_positive",
                violation_error_message="A quantity is more than zero (leave it empty when not measured).",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity_ml} ml of {self.product.name}"


class RecordDraft(models.Model):
    """The record form as it was last left, before it is signed: what the
    practitioner entered is kept on the server as they go, so closing the tab
    or losing the tablet's battery loses nothing. It is the form's fields as
    posted (photos excepted: a file is stored only with the signed record);
    signing the record replaces it."""

    session = models.OneToOneField(TreatmentSession, on_delete=models.CASCADE, related_name="record_draft")
    data = models.JSONField(default=dict, help_text="The form's fields, each a list of values.")
    saved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    saved_at = models.DateTimeField()

    class Meta:
        ordering = ["-saved_at"]

    def __str__(self) -> str:
        return f"Draft record of {self.session}, saved {localtime(self.saved_at):%Y-%m-%d %H:%M}"


class CeilingPeriod(models.TextChoices):
    SESSION = "session", "in one session"
    TWELVE_MONTHS = "12_months", "over 12 months"


class CeilingDecision(models.Model):
    """A dose ceiling the record went past when it was signed, and what the
    practitioner decided: the warning and the decision stay with the record."""

    session = models.ForeignKey(TreatmentSession, on_delete=models.PROTECT, related_name="ceiling_decisions")
    substance = models.ForeignKey(Substance, on_delete=models.PROTECT, related_name="+")
    period = models.CharField(max_length=10, choices=CeilingPeriod.choices)
    total = models.DecimalField(max_digits=12, decimal_places=3, help_text="What the client received.")
    ceiling = models.DecimalField(max_digits=10, decimal_places=3)
    unit = models.CharField(max_length=3, choices=SubstanceUnit.choices)
    decision = models.TextField(help_text="Why the practitioner went ahead.")
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField()

    class Meta:
        ordering = ["session", "substance__name", "period"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(decision=""),
                name="ceiling_decision_present",
                violation_error_message="Going past a ceiling needs the practitioner's decision.",
            ),
            models.CheckConstraint(condition=Q(period__in=CeilingPeriod.values), name="ceiling_period_valid"),
            models.CheckConstraint(condition=Q(unit__in=SubstanceUnit.values), name="ceiling_unit_valid"),
            models.CheckConstraint(
                condition=Q(total__gt=models.F("ceiling")),
                name="ceiling_decision_past_ceiling",
                violation_error_message="A decision is kept only for a total past its ceiling.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.substance}: {self.total} {self.unit} {self.get_period_display()} (ceiling {self.ceiling})"


class SessionAmendment(models.Model):
    """A correction of a signed record: who, when, why, and what changed.

    The changed rows themselves keep their before and after values in their
    history tables (django-simple-history), each with this amendment's user
    and reason; `changes` is the readable summary shown with the record.
    """

    session = models.ForeignKey(TreatmentSession, on_delete=models.PROTECT, related_name="amendments")
    reason = models.TextField()
    changes = models.JSONField(default=list, help_text="What changed, one line each.")
    amended_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    amended_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["session", "amended_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(reason=""),
                name="amendment_reason_present",
                violation_error_message="An amendment needs its reason.",
            ),
        ]
        indexes = [
            # A session's amendments, in order, on its record page and the client timeline.
            models.Index(fields=["session", "amended_at"], name="amendment_session_idx"),
        ]

    def __str__(self) -> str:
        return f"Amendment of {self.session} by {self.amended_by} on {localtime(self.amended_at):%Y-%m-%d %H:%M}"


class PhotoKind(models.TextChoices):
    BEFORE = "before", "Before"
    AFTER = "after", "After"


def photo_path(instance: "SessionPhoto", filename: str) -> str:
    """A random name under a dated folder: the client's name, the original file
    name and anything guessable stay out of the path."""
    suffix = PurePath(filename).suffix.lower()[:8]
    return f"clinical-photos/{timezone.localdate():%Y/%m}/{uuid.uuid4().hex}{suffix}"


class SessionPhoto(models.Model):
    """A before or after photo of a session. Stored under MEDIA_ROOT, which no URL
    serves: the photo view streams it to signed-in staff allowed to see it."""

    session = models.ForeignKey(TreatmentSession, on_delete=models.PROTECT, related_name="photos")
    kind = models.CharField(max_length=6, choices=PhotoKind.choices)
    image = models.ImageField(upload_to=photo_path)
    width = models.PositiveIntegerField(editable=False)
    height = models.PositiveIntegerField(editable=False)
    content_type = models.CharField(max_length=40, editable=False)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["session", "kind", "uploaded_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=PhotoKind.values), name="photo_kind_valid"),
        ]
        indexes = [
            # A session's photos on its record page and the client timeline.
            models.Index(fields=["session", "kind"], name="photo_session_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} photo of {self.session}"
