"""Reference data a clinic manager edits: areas (and where each is on the face
and body chart), indications, substances (with the ceilings the dose ledger
warns at), products (with what one ml holds) and their lots, mixtures
(recipes of products), side-effect kinds, rooms, opening hours."""

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


class ChartZone(models.TextChoices):
    """The zones of the face and body chart (templates/includes/chart.html
    draws each, front or back). A treatment area shows on the chart when it
    names its zone."""

    SCALP = "scalp", "Scalp"
    FACE = "face", "Face"
    NECK = "neck", "Neck (front)"
    DECOLLETAGE = "decolletage", "Décolletage"
    SHOULDERS = "shoulders", "Shoulders"
    ARMS = "arms", "Arms"
    HANDS = "hands", "Hands"
    ABDOMEN = "abdomen", "Abdomen"
    FLANKS = "flanks", "Flanks"
    THIGHS = "thighs", "Thighs"
    KNEES = "knees", "Knees"
    CALVES = "calves", "Calves"
    NAPE = "nape", "Back of the neck"
    UPPER_BACK = "upper_back", "Upper back"
    LOWER_BACK = "lower_back", "Lower back"
    BUTTOCKS = "buttocks", "Buttocks"


class TreatmentArea(models.Model):
    name = models.CharField(max_length=80, unique=True)
    region = models.CharField(max_length=10, choices=AreaRegion.choices)
    chart_zone = models.CharField(
        max_length=12,
        choices=ChartZone.choices,
        blank=True,
        help_text="Where the area is on the face and body chart; empty: listed beside the chart.",
    )
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(region__in=AreaRegion.values), name="area_region_valid"),
            models.CheckConstraint(condition=Q(chart_zone__in=["", *ChartZone.values]), name="area_chart_zone_valid"),
            # One area per zone: a tap on the chart names one area.
            models.UniqueConstraint(
                fields=["chart_zone"],
                condition=~Q(chart_zone=""),
                name="area_unique_chart_zone",
                violation_error_message="Another area already has this place on the chart.",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Indication(models.Model):
    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    reduces_fat = models.BooleanField(
        "fat reduction",
        default=False,
        help_text="Plans of this indication reduce fat: the screening asks about severe obesity, which rules them out.",
    )
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class SubstanceUnit(models.TextChoices):
    """What the dose ledger counts a substance in."""

    MG = "mg", "mg"
    MICROGRAM = "µg", "µg"
    IU = "IU", "IU"


class Substance(models.Model):
    name = models.CharField(max_length=100, unique=True)
    category = models.CharField(max_length=20, choices=SubstanceCategory.choices)
    unit = models.CharField(
        max_length=3,
        choices=SubstanceUnit.choices,
        default=SubstanceUnit.MG,
        help_text="The unit of the amounts products hold and of the ceilings.",
    )
    # The clinic's own ceilings, optional: signing a record past one asks the
    # practitioner's decision, which the record keeps (services.records).
    ceiling_per_session = models.DecimalField(
        max_digits=10,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="Warn before signing a session in which a client receives more than this.",
    )
    ceiling_per_12_months = models.DecimalField(
        "ceiling per 12 months",
        max_digits=10,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="Warn before signing a session that takes a client past this over 12 months.",
    )
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(category__in=SubstanceCategory.values),
                name="substance_category_valid",
            ),
            models.CheckConstraint(condition=Q(unit__in=SubstanceUnit.values), name="substance_unit_valid"),
            models.CheckConstraint(
                condition=Q(ceiling_per_session__isnull=True) | Q(ceiling_per_session__gt=0),
                name="substance_session_ceiling_positive",
                violation_error_message="A ceiling is more than zero (leave it empty for none).",
            ),
            models.CheckConstraint(
                condition=Q(ceiling_per_12_months__isnull=True) | Q(ceiling_per_12_months__gt=0),
                name="substance_year_ceiling_positive",
                violation_error_message="A ceiling is more than zero (leave it empty for none).",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Product(models.Model):
    """A commercial vial of one or more substances."""

    name = models.CharField(max_length=120)
    manufacturer = models.CharField(max_length=120)
    substances = models.ManyToManyField(Substance, related_name="products", through="ProductSubstance")
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


class ProductSubstance(models.Model):
    """A substance a product holds, and how much of it in one ml (the dose
    ledger multiplies the ml injected by it). The table is the one Django made
    for the plain many-to-many link before the amount was added (migration
    0017), so every link kept its row (and its integer key)."""

    id = models.AutoField(primary_key=True)
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="contents")
    substance = models.ForeignKey(Substance, on_delete=models.PROTECT, related_name="+")
    amount_per_ml = models.DecimalField(
        "amount per ml",
        max_digits=10,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="In the substance's unit; empty when not known (the ledger then says so).",
    )

    class Meta:
        db_table = "sessions_app_product_substances"
        ordering = ["product", "substance__name"]
        verbose_name = "substance of a product"
        constraints = [
            models.UniqueConstraint(fields=["product", "substance"], name="product_substance_unique"),
            models.CheckConstraint(
                condition=Q(amount_per_ml__isnull=True) | Q(amount_per_ml__gt=0),
                name="product_substance_amount_positive",
                violation_error_message="The amount is more than zero (leave it empty when not known).",
            ),
        ]

    def __str__(self) -> str:
        amount = f" {self.amount_per_ml.normalize():f} {self.substance.unit}/ml" if self.amount_per_ml else ""
        return f"{self.substance.name}{amount}"


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
