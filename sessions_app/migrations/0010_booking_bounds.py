"""Bounds on a plan's intervals, and overlap constraints a move can defer.

1. A series interval of at most a year and a maintenance interval of at most two
   years, as named check constraints (SQLite stored 1,000,000 days before). A
   plan already beyond them stops the migration with its id, rather than the
   database's bare refusal: fix it in the admin (nothing is changed silently).
2. PostgreSQL's overlap exclusion constraints (0005) become DEFERRABLE INITIALLY
   IMMEDIATE. Every write is still checked at once; only a move defers them to
   the end of its one UPDATE, which shifts a whole series: checked row by row,
   a session would collide with the old slot of the next one, still unmoved.
"""

import django.core.validators
from django.db import migrations, models

INTERVAL_DAYS_MAX = 365
MAINTENANCE_INTERVAL_DAYS_MAX = 730
OVERLAP = {
    "session_no_practitioner_overlap": "practitioner_id",
    "session_no_room_overlap": "room_id",
}


def refuse_plans_out_of_bounds(apps, schema_editor):
    TreatmentPlan = apps.get_model("sessions_app", "TreatmentPlan")
    beyond = TreatmentPlan.objects.filter(
        models.Q(interval_days__gt=INTERVAL_DAYS_MAX)
        | models.Q(maintenance_interval_days__gt=MAINTENANCE_INTERVAL_DAYS_MAX)
    ).values_list("pk", flat=True)
    if ids := list(beyond[:20]):
        raise RuntimeError(
            f"Treatment plans {ids} have an interval over {INTERVAL_DAYS_MAX} days or a maintenance interval over "
            f"{MAINTENANCE_INTERVAL_DAYS_MAX} days. Correct them in the admin, then migrate again."
        )


def interval_field():
    return models.PositiveSmallIntegerField(
        validators=[
            django.core.validators.MinValueValidator(1),
            django.core.validators.MaxValueValidator(INTERVAL_DAYS_MAX),
        ],
        verbose_name="interval between sessions (days)",
    )


def maintenance_field():
    return models.PositiveSmallIntegerField(
        blank=True,
        null=True,
        validators=[
            django.core.validators.MinValueValidator(1),
            django.core.validators.MaxValueValidator(MAINTENANCE_INTERVAL_DAYS_MAX),
        ],
        verbose_name="maintenance interval (days)",
    )


def overlap_constraints(deferrable: bool):
    def recreate(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for name, column in OVERLAP.items():
            schema_editor.execute(f"ALTER TABLE sessions_app_treatmentsession DROP CONSTRAINT {name}")
            schema_editor.execute(
                f"ALTER TABLE sessions_app_treatmentsession ADD CONSTRAINT {name} "
                f"EXCLUDE USING gist ({column} WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&) "
                "WHERE (status <> 'cancelled')" + (" DEFERRABLE INITIALLY IMMEDIATE" if deferrable else "")
            )

    return recreate


class Migration(migrations.Migration):
    dependencies = [("sessions_app", "0009_public_holidays")]

    operations = [
        migrations.RunPython(refuse_plans_out_of_bounds, migrations.RunPython.noop),
        *(
            migrations.AlterField(model_name=model, name=name, field=field())
            for model in ("historicaltreatmentplan", "treatmentplan")
            for name, field in (("interval_days", interval_field), ("maintenance_interval_days", maintenance_field))
        ),
        migrations.AddConstraint(
            model_name="treatmentplan",
            constraint=models.CheckConstraint(
                condition=models.Q(("interval_days__lte", 365)),
                name="plan_interval_max",
                violation_error_message="The interval between sessions is at most 365 days.",
            ),
        ),
        migrations.AddConstraint(
            model_name="treatmentplan",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("maintenance_interval_days__isnull", True),
                    ("maintenance_interval_days__lte", 730),
                    _connector="OR",
                ),
                name="plan_maintenance_interval_max",
                violation_error_message="The maintenance interval is at most 730 days.",
            ),
        ),
        migrations.RunPython(overlap_constraints(deferrable=True), overlap_constraints(deferrable=False)),
    ]
