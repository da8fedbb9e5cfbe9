"""Reference data a clinic manager edits: areas, indications, substances,
products and their lots, mixtures (recipes of products), side-effect kinds,
rooms, opening hours."""

import datetime
from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q

from sessions_app.lot_rules import lot_expired


class AreaRegion(models.TextChoices):
    FACE = "face", "Face and neck"
    SCALP = "scalp", "Scalp"
    BODY = "body", "Body"
    JOINT = "joint", "Joint or region (pain)"


class SubstanceCategory(models.TextChoices):
    HYALURONIC_ACID = "hyaluronic_acid", "Hyaluronic acid (non-crosslinked)"
    VITAMIN = "vitamin", "Vitamin"
    MINERAL = "mineral", "Mineral or trace element"
    AMINO_ACID = "amino_acid", "Amino acid"
    ANTIOXIDANT = "antioxidant", "Antioxidant"
    ENZYME = "enzyme", "Enzyme"
    HORMONE = "hormone", "Hormone"
    PLANT_EXTRACT = "plant_extract", "Plant extract"
    MEDICATION = "medication", "Medication"


class TreatmentArea(models.Model):
    name = models.CharField(max_length=80, unique=True)
    region = models.CharField(max_length=10, choices=AreaRegion.choices)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(region__in=AreaRegion.values), name="area_region_valid"),
        ]

    def __str__(self) -> str:
        return self.name


class Indication(models.Model):
    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Substance(models.Model):
    name = models.CharField(max_length=100, unique=True)
    category = models.CharField(max_length=20, choices=SubstanceCategory.choices)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(category__in=SubstanceCategory.values),
                name="substance_category_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Product(models.Model):
    """A commercial vial of one or more substances."""

    name = models.CharField(max_length=120)
    manufacturer = models.CharField(max_length=120)
    substances = models.ManyToManyField(Substance, related_name="products")
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name", "manufacturer"]
        constraints = [
            models.UniqueConstraint(
                fields=["name", "manufacturer"],
                name="product_unique_name_per_manufacturer",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.manufacturer})"


class ProductLot(models.Model):
    """One batch of a product. Every injection records its lots, so a recall can
    reach every client who received one."""

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="lots")
    lot_number = models.CharField(max_length=60)
    expiry_date = models.DateField()
    received_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["product__name", "expiry_date", "lot_number"]
        constraints = [
            models.UniqueConstraint(fields=["product", "lot_number"], name="lot_unique_number_per_product"),
            models.CheckConstraint(
                condition=Q(received_on__isnull=True) | Q(received_on__lte=F("expiry_date")),
                name="lot_received_before_expiry",
                violation_error_message="A lot cannot be received after it expires.",
            ),
        ]
        indexes = [
            # Lot search in the admin and the session form's autocomplete.
            models.Index(fields=["lot_number"], name="lot_number_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.product.name} lot {self.lot_number} (exp. {self.expiry_date:%Y-%m-%d})"

    def is_expired_on(self, day: datetime.date) -> bool:
        """Whether the lot may no longer be used on `day` (sessions_app.lot_rules decides)."""
        return lot_expired(self.expiry_date, day)


class Symptom(models.TextChoices):
    """What a client may report at a check-in after a session, other than "fine"."""

    REDNESS = "redness", "Redness"
    SWELLING = "swelling", "Swelling"
    BRUISING = "bruising", "Bruising"
    PAIN = "pain", "Pain"
    OTHER = "other", "Something else"


# A kind's expected time to resolve, at most (a year covers a keloid's slow course).
EXPECTED_DAYS_MAX = 365


class SideEffectKind(models.Model):
    name = models.CharField(max_length=80, unique=True)
    description = models.TextField(blank=True)
    active = models.BooleanField(default=True)
    expected_days = models.PositiveSmallIntegerField(
        "expected days to resolve",
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(EXPECTED_DAYS_MAX)],
        help_text="Usually gone within this many days of its onset; one still unresolved then becomes a call on "
        "the call list and a flag on Today. Empty: no expected time.",
    )
    allergy = models.BooleanField(
        "an allergic reaction",
        default=False,
        help_text="Once reviewed with a suspected substance, offers to add that allergy to the client's record.",
    )
    symptom = models.CharField(
        "check-in answer",
        max_length=10,
        choices=Symptom.choices,
        blank=True,
        help_text="The kind a client's check-in answer becomes (one kind per answer).",
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(expected_days__isnull=True) | Q(expected_days__gte=1, expected_days__lte=EXPECTED_DAYS_MAX),
                name="side_effect_kind_expected_days_range",
                violation_error_message=f"The expected time to resolve is 1 to {EXPECTED_DAYS_MAX} days.",
            ),
            models.CheckConstraint(
                condition=Q(symptom="") | Q(symptom__in=Symptom.values), name="side_effect_kind_symptom_valid"
            ),
            models.UniqueConstraint(
                fields=["symptom"],
                condition=~Q(symptom=""),
                name="side_effect_kind_unique_symptom",
                violation_error_message="Another kind already takes this check-in answer.",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Room(models.Model):
    name = models.CharField(max_length=60, unique=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class OpeningHours(models.Model):
    """One opening period on a weekday; a day may have several (morning and
    afternoon). Times are the clinic's wall clock (CLINIC_TIME_ZONE)."""

    class Weekday(models.IntegerChoices):
        MONDAY = 0
        TUESDAY = 1
        WEDNESDAY = 2
        THURSDAY = 3
        FRIDAY = 4
        SATURDAY = 5
        SUNDAY = 6

    weekday = models.PositiveSmallIntegerField(
        choices=Weekday.choices, validators=[MinValueValidator(0), MaxValueValidator(6)]
    )
    opens = models.TimeField()
    closes = models.TimeField()

    class Meta:
        ordering = ["weekday", "opens"]
        verbose_name_plural = "opening hours"
        constraints = [
            models.UniqueConstraint(fields=["weekday", "opens"], name="hours_unique_period_start"),
            models.CheckConstraint(condition=Q(weekday__gte=0, weekday__lte=6), name="hours_weekday_valid"),
            models.CheckConstraint(
                condition=Q(closes__gt=F("opens")),
                name="hours_close_after_open",
                violation_error_message="Closing time must be after opening time.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.opens:%H:%M}–{self.closes:%H:%M}"


class ClosedDay(models.Model):
    date = models.DateField(unique=True)
    reason = models.CharField(max_length=120, blank=True)

    class Meta:
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date:%Y-%m-%d} {self.reason}".strip()


class Unit(models.TextChoices):
    ML = "ml", "ml"
    MG = "mg", "mg"
    IU = "IU", "IU"
    PERCENT = "%", "%"


class Mixture(models.Model):
    """A named recipe of products and amounts, used for an indication."""

    name = models.CharField(max_length=120, unique=True)
    indication = models.ForeignKey(
        Indication,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="mixtures",
    )
    notes = models.TextField(blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class MixtureComponent(models.Model):
    mixture = models.ForeignKey(Mixture, on_delete=models.CASCADE, related_name="components")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    amount = models.DecimalField(max_digits=8, decimal_places=2, validators=[MinValueValidator(Decimal("0.01"))])
    unit = models.CharField(max_length=5, choices=Unit.choices, default=Unit.ML)

    class Meta:
        ordering = ["mixture", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["mixture", "product"],
                name="component_unique_product_per_mixture",
            ),
            models.CheckConstraint(
                condition=Q(amount__gt=0),
                name="component_amount_positive",
                violation_error_message="The amount must be more than zero.",
            ),
            models.CheckConstraint(condition=Q(unit__in=Unit.values), name="component_unit_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.amount} {self.unit} {self.product.name}"
