"""Indexes the benchmark (manage.py bench) asked for: each list reads its page
from an index in its own order instead of sorting every row first, whatever
the size of the clinic, and the reminder generator finds a plan's last
completed session, and the sessions completed lately, without reading them all. Each index says which query it serves on its model;
the lot trace's is on Django's own table of the injection-lot links, so it is
plain SQL (the same on PostgreSQL and SQLite)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("sessions_app", "0013_access_log_lists"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="reminder",
            name="reminder_call_list_idx",
        ),
        migrations.RemoveIndex(
            model_name="sideeffect",
            name="side_effect_open_idx",
        ),
        migrations.AddIndex(
            model_name="consent",
            index=models.Index(fields=["-signed_at", "-id"], name="consent_signed_idx"),
        ),
        migrations.AddIndex(
            model_name="reminder",
            index=models.Index(fields=["channel", "status", "due_at", "id"], name="reminder_call_list_idx"),
        ),
        migrations.AddIndex(
            model_name="reminder",
            index=models.Index(fields=["due_at", "id"], name="reminder_due_idx"),
        ),
        migrations.AddIndex(
            model_name="screening",
            index=models.Index(fields=["-screened_at", "-id"], name="screening_screened_idx"),
        ),
        migrations.AddIndex(
            model_name="sideeffect",
            index=models.Index(
                models.OrderBy(models.F("serious"), descending=True),
                models.OrderBy(
                    models.ExpressionWrapper(
                        models.Q(("reviewed_at__isnull", False)), output_field=models.BooleanField()
                    )
                ),
                models.OrderBy(models.F("onset"), descending=True),
                models.OrderBy(models.F("id"), descending=True),
                condition=models.Q(("resolved_on__isnull", True), ("reviewed_at__isnull", True), _connector="OR"),
                name="side_effect_review_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="sideeffect",
            index=models.Index(fields=["-onset", "-id"], name="side_effect_onset_idx"),
        ),
        migrations.AddIndex(
            model_name="treatmentplan",
            index=models.Index(fields=["-created_at", "-id"], name="plan_created_idx"),
        ),
        migrations.AddIndex(
            model_name="treatmentsession",
            index=models.Index(
                condition=models.Q(("status", "completed")),
                fields=["plan", "-starts_at", "-id"],
                name="session_plan_last_done_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="treatmentsession",
            index=models.Index(
                condition=models.Q(("status", "completed")), fields=["completed_at"], name="session_completed_idx"
            ),
        ),
        # The lot trace: a lot's injections in the order they were recorded, a
        # page at a time (views/lots.py).
        migrations.RunSQL(
            "CREATE INDEX injection_lots_lot_idx ON sessions_app_injection_lots (productlot_id, injection_id)",
            reverse_sql="DROP INDEX injection_lots_lot_idx",
        ),
    ]
