"""Protocols per indication, the face and body chart's zones, what a product
holds per ml and the substances' optional ceilings (the dose ledger).

Product.substances becomes a link with an amount: the model ProductSubstance
takes over the table Django made for the plain many-to-many link, so every
link keeps its row. Defaults are loaded for the reference data migration 0002
wrote, within the ranges the clinical sources give (DESIGN.md): series of 4
to 10 sessions a week or two apart, maintenance months apart, needles of at
most 13 mm. Managers edit them in the admin. No ceiling is set: a clinic
chooses its own.

Frozen here on purpose: a migration must not change when the models' choices do.
"""

from decimal import Decimal

import django.core.validators
import django.db.models.deletion
from django.db import migrations, models

CHART_ZONES = {
    "Face": "face",
    "Neck": "neck",
    "Décolletage": "decolletage",
    "Scalp": "scalp",
    "Arms": "arms",
    "Abdomen": "abdomen",
    "Flanks": "flanks",
    "Thighs": "thighs",
    "Buttocks": "buttocks",
    "Knees": "knees",
    "Lower back": "lower_back",
    "Shoulder": "shoulders",
    "Cervical spine (neck pain)": "nape",
}

FAT_REDUCTION = ["Body contouring"]

# (product, manufacturer, substance): amount per ml, in the substance's unit, as
# the product's name says it (1% is 10 mg in a ml). Products whose name does not
# say it are left empty for the manager to fill from the leaflet.
CONTENTS = [
    ("Hyalu Meso 1%", "Dermalab", "Hyaluronic acid", "10"),
    ("Vita C 20%", "Mesopharm", "Vitamin C", "200"),
    ("Biotin 0.5%", "Mesopharm", "Biotin (vitamin B7)", "5"),
    ("Lipo PC", "Bodyline", "Phosphatidylcholine", "50"),
    ("Caffeine 10%", "Bodyline", "Caffeine", "100"),
    ("Artichoke 5%", "Bodyline", "Artichoke extract", "50"),
    ("Centella 2%", "Phytomeso", "Centella asiatica", "20"),
    ("Lidocaine 1%", "Pharma Generic", "Lidocaine", "10"),
    ("Procaine 2%", "Pharma Generic", "Procaine", "20"),
    ("Piroxicam 20 mg", "Pharma Generic", "Piroxicam", "20"),
    ("Calcitonin 100 IU", "Pharma Generic", "Calcitonin", "100"),
]
UNITS = {"Calcitonin": "IU"}

# indication: mixture, sessions, interval (days), maintenance (days or None),
# areas, depth, technique, needle (mm), volume per area (ml), points per area.
PROTOCOLS = [
    (
        "Skin rejuvenation",
        "Facial rejuvenation",
        4,
        14,
        120,
        ["Face", "Neck"],
        "superficial_dermis",
        "nappage",
        "4",
        "2.0",
        60,
    ),
    ("Hair loss", "Hair restoration", 8, 14, 90, ["Scalp"], "superficial_dermis", "point_by_point", "4", "3.0", 80),
    (
        "Body contouring",
        "Body contouring",
        8,
        14,
        180,
        ["Abdomen", "Flanks"],
        "deep_dermis",
        "point_by_point",
        "6",
        "5.0",
        40,
    ),
    ("Cellulite", "Cellulite", 10, 7, 60, ["Thighs", "Buttocks"], "deep_dermis", "point_by_point", "6", "4.0", 40),
    ("Pain management", "Joint pain", 5, 7, None, ["Knees"], "superficial_dermis", "point_by_point", "4", "2.0", 15),
    ("Stretch marks", "Stretch marks", 6, 14, 180, ["Abdomen"], "dej", "papules", "4", "2.0", 40),
]


def load(apps, schema_editor):
    TreatmentArea = apps.get_model("sessions_app", "TreatmentArea")
    Indication = apps.get_model("sessions_app", "Indication")
    Substance = apps.get_model("sessions_app", "Substance")
    ProductSubstance = apps.get_model("sessions_app", "ProductSubstance")
    Mixture = apps.get_model("sessions_app", "Mixture")
    Protocol = apps.get_model("sessions_app", "Protocol")

    taken = set(TreatmentArea.objects.exclude(chart_zone="").values_list("chart_zone", flat=True))
    for name, zone in CHART_ZONES.items():
        if zone not in taken and TreatmentArea.objects.filter(name=name, chart_zone="").update(chart_zone=zone):
            taken.add(zone)
    Indication.objects.filter(name__in=FAT_REDUCTION).update(reduces_fat=True)
    for name, unit in UNITS.items():
        Substance.objects.filter(name=name).update(unit=unit)
    for product, manufacturer, substance, amount in CONTENTS:
        ProductSubstance.objects.filter(
            product__name=product,
            product__manufacturer=manufacturer,
            substance__name=substance,
            amount_per_ml__isnull=True,
        ).update(amount_per_ml=Decimal(amount))
    areas = {area.name: area for area in TreatmentArea.objects.all()}
    for (
        indication,
        mixture,
        sessions,
        interval,
        maintenance,
        names,
        depth,
        technique,
        needle,
        volume,
        points,
    ) in PROTOCOLS:
        indication = Indication.objects.filter(name=indication).first()
        mixture = Mixture.objects.filter(name=mixture).first()
        if indication is None or mixture is None or Protocol.objects.filter(indication=indication).exists():
            continue
        protocol = Protocol.objects.create(
            indication=indication,
            mixture=mixture,
            sessions=sessions,
            interval_days=interval,
            maintenance_interval_days=maintenance,
            depth=depth,
            technique=technique,
            needle_length_mm=Decimal(needle),
            volume_ml=Decimal(volume),
            points=points,
        )
        protocol.areas.set([areas[name] for name in names if name in areas])


class Migration(migrations.Migration):
    dependencies = [("sessions_app", "0025_session_status_changes_and_cancellation")]

    operations = [
        # The link table stays; only Django's picture of it changes.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="ProductSubstance",
                    fields=[
                        ("id", models.AutoField(primary_key=True, serialize=False)),
                        (
                            "product",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="contents",
                                to="sessions_app.product",
                            ),
                        ),
                        (
                            "substance",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to="sessions_app.substance",
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "substance of a product",
                        "db_table": "sessions_app_product_substances",
                        "ordering": ["product", "substance__name"],
                        # What the many-to-many link made; replaced by a named constraint below.
                        "unique_together": {("product", "substance")},
                    },
                ),
                migrations.AlterField(
                    model_name="product",
                    name="substances",
                    field=models.ManyToManyField(
                        related_name="products", through="sessions_app.ProductSubstance", to="sessions_app.substance"
                    ),
                ),
            ],
        ),
        migrations.AlterUniqueTogether(name="productsubstance", unique_together=set()),
        migrations.AddConstraint(
            model_name="productsubstance",
            constraint=models.UniqueConstraint(fields=("product", "substance"), name="product_substance_unique"),
        ),
        migrations.AddField(
            model_name="productsubstance",
            name="amount_per_ml",
            field=models.DecimalField(
                blank=True,
                decimal_places=3,
                help_text="In the substance's unit; empty when not known (the ledger then says so).",
                max_digits=10,
                null=True,
                verbose_name="amount per ml",
            ),
        ),
        migrations.AddConstraint(
            model_name="productsubstance",
            constraint=models.CheckConstraint(
                condition=models.Q(("amount_per_ml__isnull", True), ("amount_per_ml__gt", 0), _connector="OR"),
                name="product_substance_amount_positive",
                violation_error_message="The amount is more than zero (leave it empty when not known).",
            ),
        ),
        migrations.AddField(
            model_name="substance",
            name="unit",
            field=models.CharField(
                choices=[("mg", "mg"), ("µg", "µg"), ("IU", "IU")],
                default="mg",
                help_text="The unit of the amounts products hold and of the ceilings.",
                max_length=3,
            ),
        ),
        migrations.AddField(
            model_name="substance",
            name="ceiling_per_session",
            field=models.DecimalField(
                blank=True,
                decimal_places=3,
                help_text="Warn before signing a session in which a client receives more than this.",
                max_digits=10,
                null=True,
            ),
        ),
        migrations.AddField(
            model_name="substance",
            name="ceiling_per_12_months",
            field=models.DecimalField(
                blank=True,
                decimal_places=3,
                help_text="Warn before signing a session that takes a client past this over 12 months.",
                max_digits=10,
                null=True,
                verbose_name="ceiling per 12 months",
            ),
        ),
        migrations.AddConstraint(
            model_name="substance",
            constraint=models.CheckConstraint(
                condition=models.Q(("unit__in", ["mg", "µg", "IU"])), name="substance_unit_valid"
            ),
        ),
        migrations.AddConstraint(
            model_name="substance",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("ceiling_per_session__isnull", True), ("ceiling_per_session__gt", 0), _connector="OR"
                ),
                name="substance_session_ceiling_positive",
                violation_error_message="A ceiling is more than zero (leave it empty for none).",
            ),
        ),
        migrations.AddConstraint(
            model_name="substance",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("ceiling_per_12_months__isnull", True), ("ceiling_per_12_months__gt", 0), _connector="OR"
                ),
                name="substance_year_ceiling_positive",
                violation_error_message="A ceiling is more than zero (leave it empty for none).",
            ),
        ),
        migrations.AddField(
            model_name="indication",
            name="reduces_fat",
            field=models.BooleanField(
                default=False,
                help_text="Plans of this indication reduce fat: the screening asks about severe obesity, which rules them out.",
                verbose_name="fat reduction",
            ),
        ),
        migrations.AddField(
            model_name="treatmentarea",
            name="chart_zone",
            field=models.CharField(
                blank=True,
                choices=[
                    ("scalp", "Scalp"),
                    ("face", "Face"),
                    ("neck", "Neck (front)"),
                    ("decolletage", "Décolletage"),
                    ("shoulders", "Shoulders"),
                    ("arms", "Arms"),
                    ("hands", "Hands"),
                    ("abdomen", "Abdomen"),
                    ("flanks", "Flanks"),
                    ("thighs", "Thighs"),
                    ("knees", "Knees"),
                    ("calves", "Calves"),
                    ("nape", "Back of the neck"),
                    ("upper_back", "Upper back"),
                    ("lower_back", "Lower back"),
                    ("buttocks", "Buttocks"),
                ],
                help_text="Where the area is on the face and body chart; empty: listed beside the chart.",
                max_length=12,
            ),
        ),
        migrations.AddConstraint(
            model_name="treatmentarea",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    (
                        "chart_zone__in",
                        [
                            "",
                            "scalp",
                            "face",
                            "neck",
                            "decolletage",
                            "shoulders",
                            "arms",
                            "hands",
                            "abdomen",
                            "flanks",
                            "thighs",
                            "knees",
                            "calves",
                            "nape",
                            "upper_back",
                            "lower_back",
                            "buttocks",
                        ],
                    )
                ),
                name="area_chart_zone_valid",
            ),
        ),
        migrations.AddConstraint(
            model_name="treatmentarea",
            constraint=models.UniqueConstraint(
                condition=models.Q(("chart_zone", ""), _negated=True),
                fields=("chart_zone",),
                name="area_unique_chart_zone",
                violation_error_message="Another area already has this place on the chart.",
            ),
        ),
        migrations.CreateModel(
            name="Protocol",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "sessions",
                    models.PositiveSmallIntegerField(
                        validators=[
                            django.core.validators.MinValueValidator(1),
                            django.core.validators.MaxValueValidator(30),
                        ],
                        verbose_name="sessions in the series",
                    ),
                ),
                (
                    "interval_days",
                    models.PositiveSmallIntegerField(
                        validators=[
                            django.core.validators.MinValueValidator(1),
                            django.core.validators.MaxValueValidator(365),
                        ],
                        verbose_name="interval between sessions (days)",
                    ),
                ),
                (
                    "maintenance_interval_days",
                    models.PositiveSmallIntegerField(
                        blank=True,
                        help_text="Empty: no maintenance after the series.",
                        null=True,
                        validators=[
                            django.core.validators.MinValueValidator(1),
                            django.core.validators.MaxValueValidator(730),
                        ],
                        verbose_name="maintenance interval (days)",
                    ),
                ),
                (
                    "depth",
                    models.CharField(
                        choices=[
                            ("epidermal", "Epidermal"),
                            ("dej", "Dermo-epidermal junction"),
                            ("superficial_dermis", "Superficial dermis"),
                            ("deep_dermis", "Deeper dermis"),
                        ],
                        max_length=20,
                    ),
                ),
                (
                    "technique",
                    models.CharField(
                        choices=[
                            ("point_by_point", "Point by point"),
                            ("papules", "Papules"),
                            ("nappage", "Nappage"),
                            ("injector_gun", "Injector gun"),
                            ("roller", "Roller"),
                        ],
                        max_length=20,
                    ),
                ),
                (
                    "needle_length_mm",
                    models.DecimalField(
                        decimal_places=1,
                        max_digits=4,
                        validators=[
                            django.core.validators.MinValueValidator(Decimal("0.1")),
                            django.core.validators.MaxValueValidator(Decimal("13")),
                        ],
                        verbose_name="needle length (mm)",
                    ),
                ),
                (
                    "volume_ml",
                    models.DecimalField(
                        blank=True,
                        decimal_places=2,
                        max_digits=6,
                        null=True,
                        validators=[django.core.validators.MinValueValidator(Decimal("0.01"))],
                        verbose_name="volume per area (ml)",
                    ),
                ),
                (
                    "points",
                    models.PositiveIntegerField(
                        blank=True,
                        null=True,
                        validators=[
                            django.core.validators.MinValueValidator(1),
                            django.core.validators.MaxValueValidator(5000),
                        ],
                        verbose_name="injection points per area",
                    ),
                ),
                ("notes", models.TextField(blank=True)),
                (
                    "areas",
                    models.ManyToManyField(
                        help_text="The areas usually treated.",
                        related_name="protocols",
                        to="sessions_app.treatmentarea",
                    ),
                ),
                (
                    "indication",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="protocol",
                        to="sessions_app.indication",
                    ),
                ),
                (
                    "mixture",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="protocols",
                        to="sessions_app.mixture",
                    ),
                ),
            ],
            options={
                "ordering": ["indication__name"],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("sessions__gte", 1), ("sessions__lte", 30)),
                        name="protocol_sessions_range",
                        violation_error_message="A series has 1 to 30 sessions.",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("interval_days__gte", 1), ("interval_days__lte", 365)),
                        name="protocol_interval_range",
                        violation_error_message="Sessions are 1 to 365 days apart.",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            ("maintenance_interval_days__isnull", True),
                            models.Q(("maintenance_interval_days__gte", 1), ("maintenance_interval_days__lte", 730)),
                            _connector="OR",
                        ),
                        name="protocol_maintenance_interval_range",
                        violation_error_message="Maintenance is 1 to 730 days apart.",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("needle_length_mm__gt", 0), ("needle_length_mm__lte", Decimal("13"))),
                        name="protocol_needle_max_13mm",
                        violation_error_message="Needles are at most 13 mm.",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("volume_ml__isnull", True), ("volume_ml__gt", 0), _connector="OR"),
                        name="protocol_volume_positive",
                        violation_error_message="The volume must be more than zero.",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            ("points__isnull", True),
                            models.Q(("points__gte", 1), ("points__lte", 5000)),
                            _connector="OR",
                        ),
                        name="protocol_points_range",
                        violation_error_message="1 to 5000 injection points on one area.",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("depth__in", ["epidermal", "dej", "superficial_dermis", "deep_dermis"])),
                        name="protocol_depth_valid",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            ("technique__in", ["point_by_point", "papules", "nappage", "injector_gun", "roller"])
                        ),
                        name="protocol_technique_valid",
                    ),
                ],
            },
        ),
        migrations.RunPython(load, migrations.RunPython.noop),
    ]
