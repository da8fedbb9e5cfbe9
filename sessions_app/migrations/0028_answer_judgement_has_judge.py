"""A judgement records who judged and when (migration 0018 filled them in for
the judgements already written)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("sessions_app", "0027_screening_areas_and_judges")]

    operations = [
        migrations.AddConstraint(
            model_name="screeninganswer",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("judgement", ""),
                    models.Q(("judged_at__isnull", False), ("judged_by__isnull", False)),
                    _connector="OR",
                ),
                name="answer_judgement_has_judge",
                violation_error_message="A judgement records who judged, and when.",
            ),
        ),
    ]
