"""Screening answers name the areas a condition concerns, and record who judged
a condition that calls for caution.

Existing screenings keep meaning what they meant: each answer kept the
severity recorded with it (an "active skin infection" from before is
absolute, in every area), and a judgement already written is the judgement of
whoever recorded the screening, at that time. Whether that person is a
physician is read from their profession, as for any judgement.
"""

import django.db.models.deletion
import simple_history.models
from django.conf import settings
from django.db import migrations, models
from django.db.models import OuterRef, Subquery

QUESTIONS = [
    ("pregnancy", "Pregnant or breastfeeding"),
    ("diabetes", "Diabetes"),
    ("liver_kidney", "Liver or kidney disease"),
    ("cardiovascular", "Cardiovascular disease"),
    ("bleeding", "Blood or bleeding disorder, or anticoagulant therapy"),
    ("autoimmune", "Autoimmune disease"),
    ("skin_infection", "Active skin infection"),
    ("skin_condition", "Severe chronic skin condition or severe acne"),
    ("allergy", "Known allergy to a substance in the mixture"),
    ("keloid", "Tendency to keloid scars"),
    ("immunosuppressed", "Weakened immune system"),
    ("severe_obesity", "Severe obesity"),
]
SEVERITIES = [
    ("absolute", "Rules treatment out"),
    ("relative", "Calls for caution: a physician's judgement"),
    ("in_area", "Rules treatment out in the areas named"),
    ("indication", "Rules out the indications it concerns"),
]
JUDGEMENT_HELP = "For a yes that calls for caution: the physician's recorded judgement (why treating is safe)."


def judged_by_the_screener(apps, schema_editor):
    ScreeningAnswer = apps.get_model("sessions_app", "ScreeningAnswer")
    Screening = apps.get_model("sessions_app", "Screening")
    screening = Screening.objects.filter(pk=OuterRef("screening_id"))
    ScreeningAnswer.objects.exclude(judgement="").update(
        judged_by_id=Subquery(screening.values("screened_by_id")[:1]),
        judged_at=Subquery(screening.values("screened_at")[:1]),
    )


class Migration(migrations.Migration):
    dependencies = [("sessions_app", "0026_protocols_and_doses")]

    operations = [
        migrations.RemoveConstraint(model_name="screeninganswer", name="answer_severity_valid"),
        migrations.AlterField(
            model_name="screeninganswer",
            name="severity",
            field=models.CharField(
                choices=SEVERITIES, help_text="What a yes meant when it was answered.", max_length=10
            ),
        ),
        migrations.AlterField(
            model_name="historicalscreeninganswer",
            name="severity",
            field=models.CharField(
                choices=SEVERITIES, help_text="What a yes meant when it was answered.", max_length=10
            ),
        ),
        migrations.AddConstraint(
            model_name="screeninganswer",
            constraint=models.CheckConstraint(
                condition=models.Q(("severity__in", ["absolute", "relative", "in_area", "indication"])),
                name="answer_severity_valid",
            ),
        ),
        migrations.AlterField(
            model_name="screeninganswer",
            name="question",
            field=models.CharField(choices=QUESTIONS, max_length=30),
        ),
        migrations.AlterField(
            model_name="historicalscreeninganswer",
            name="question",
            field=models.CharField(choices=QUESTIONS, max_length=30),
        ),
        migrations.AlterField(
            model_name="screeninganswer",
            name="judgement",
            field=models.TextField(blank=True, help_text=JUDGEMENT_HELP),
        ),
        migrations.AlterField(
            model_name="historicalscreeninganswer",
            name="judgement",
            field=models.TextField(blank=True, help_text=JUDGEMENT_HELP),
        ),
        migrations.AddField(
            model_name="screeninganswer",
            name="areas",
            field=models.ManyToManyField(blank=True, related_name="+", to="sessions_app.treatmentarea"),
        ),
        migrations.AddField(
            model_name="screeninganswer",
            name="judged_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="screeninganswer",
            name="judged_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="historicalscreeninganswer",
            name="judged_by",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="historicalscreeninganswer",
            name="judged_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.CreateModel(
            name="HistoricalScreeningAnswer_areas",
            fields=[
                ("id", models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name="ID")),
                ("m2m_history_id", models.AutoField(primary_key=True, serialize=False)),
                (
                    "history",
                    models.ForeignKey(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        to="sessions_app.historicalscreeninganswer",
                    ),
                ),
                (
                    "screeninganswer",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        db_tablespace="",
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="sessions_app.screeninganswer",
                    ),
                ),
                (
                    "treatmentarea",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        db_tablespace="",
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="sessions_app.treatmentarea",
                    ),
                ),
            ],
            options={"verbose_name": "HistoricalScreeningAnswer_areas"},
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        # Last: on PostgreSQL the rows it writes leave deferred foreign-key checks
        # pending until the commit, and the constraint (an ALTER TABLE of the same
        # table) waits for migration 0019.
        migrations.RunPython(judged_by_the_screener, migrations.RunPython.noop),
    ]
