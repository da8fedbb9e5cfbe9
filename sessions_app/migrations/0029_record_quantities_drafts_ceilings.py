"""The session record's new parts: an optional quantity per product of the
mixture in each area (with its history), the draft the record form keeps on
the server until the record is signed, and the practitioner's decision when
a dose ceiling is passed. No existing row changes: a record signed before
has no quantities (the dose ledger then takes each product's share of the
volume from the mixture's recipe), no draft and no decision."""

from decimal import Decimal

import django.core.validators
import django.db.models.deletion
import simple_history.models
from django.conf import settings
from django.db import migrations, models

from sessions_app.roles import sync_role_groups_migration


class Migration(migrations.Migration):
    dependencies = [
        ("sessions_app", "0028_answer_judgement_has_judge"),
    ]

    operations = [
        migrations.CreateModel(
            name="HistoricalInjectionQuantity",
            fields=[
                ("id", models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name="ID")),
                (
                    "quantity_ml",
                    models.DecimalField(
                        decimal_places=2,
                        max_digits=6,
                        validators=[django.core.validators.MinValueValidator(Decimal("0.01"))],
                        verbose_name="quantity (ml)",
                    ),
                ),
                ("history_id", models.AutoField(primary_key=True, serialize=False)),
                ("history_date", models.DateTimeField(db_index=True)),
                ("history_change_reason", models.TextField(null=True)),
                (
                    "history_type",
                    models.CharField(choices=[("+", "Created"), ("~", "Changed"), ("-", "Deleted")], max_length=1),
                ),
                (
                    "history_user",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "injection",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="sessions_app.injection",
                    ),
                ),
                (
                    "product",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="sessions_app.product",
                    ),
                ),
            ],
            options={
                "verbose_name": "historical injection quantity",
                "verbose_name_plural": "historical injection quantities",
                "ordering": ("-history_date", "-history_id"),
                "get_latest_by": ("history_date", "history_id"),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name="RecordDraft",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("data", models.JSONField(default=dict, help_text="The form's fields, each a list of values.")),
                ("saved_at", models.DateTimeField()),
                (
                    "saved_by",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="+", to=settings.AUTH_USER_MODEL
                    ),
                ),
                (
                    "session",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="record_draft",
                        to="sessions_app.treatmentsession",
                    ),
                ),
            ],
            options={
                "ordering": ["-saved_at"],
            },
        ),
        migrations.CreateModel(
            name="CeilingDecision",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "period",
                    models.CharField(
                        choices=[("session", "in one session"), ("12_months", "over 12 months")], max_length=10
                    ),
                ),
                ("total", models.DecimalField(decimal_places=3, help_text="What the client received.", max_digits=12)),
                ("ceiling", models.DecimalField(decimal_places=3, max_digits=10)),
                ("unit", models.CharField(choices=[("mg", "mg"), ("µg", "µg"), ("IU", "IU")], max_length=3)),
                ("decision", models.TextField(help_text="Why the practitioner went ahead.")),
                ("decided_at", models.DateTimeField()),
                (
                    "decided_by",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="+", to=settings.AUTH_USER_MODEL
                    ),
                ),
                (
                    "session",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="ceiling_decisions",
                        to="sessions_app.treatmentsession",
                    ),
                ),
                (
                    "substance",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="+", to="sessions_app.substance"
                    ),
                ),
            ],
            options={
                "ordering": ["session", "substance__name", "period"],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("decision", ""), _negated=True),
                        name="ceiling_decision_present",
                        violation_error_message="Going past a ceiling needs the practitioner's decision.",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("period__in", ["session", "12_months"])), name="ceiling_period_valid"
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("unit__in", ["mg", "µg", "IU"])), name="ceiling_unit_valid"
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("total__gt", models.F("ceiling"))),
                        name="ceiling_decision_past_ceiling",
                        violation_error_message="A decision is kept only for a total past its ceiling.",
                    ),
                ],
            },
        ),
        migrations.CreateModel(
            name="InjectionQuantity",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "quantity_ml",
                    models.DecimalField(
                        decimal_places=2,
                        max_digits=6,
                        validators=[django.core.validators.MinValueValidator(Decimal("0.01"))],
                        verbose_name="quantity (ml)",
                    ),
                ),
                (
                    "injection",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="quantities",
                        to="sessions_app.injection",
                    ),
                ),
                (
                    "product",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="+", to="sessions_app.product"
                    ),
                ),
            ],
            options={
                "verbose_name_plural": "injection quantities",
                "ordering": ["injection", "product__name"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("injection", "product"), name="quantity_unique_product_per_injection"
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("quantity_ml__gt", 0)),
                        name="quantity_positive",
                        violation_error_message="A quantity is more than zero (leave it empty when not measured).",
                    ),
                ],
            },
        ),
        # The roles' permissions on the new models (sessions_app.roles).
        migrations.RunPython(sync_role_groups_migration, migrations.RunPython.noop),
    ]
