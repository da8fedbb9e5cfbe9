"""The maintenance report reads every maintenance reminder's plan and anchor
session (36,000 of 293,000 reminders at 100,000 clients) to find the
maintenance dates of its period: this partial index holds exactly those, so
they are read from the index rather than by a scan of every reminder. Built
without locking the reminders against the worker (CONCURRENTLY, on
PostgreSQL)."""

from django.db import migrations, models

from ._concurrently import AddIndexConcurrently


class Migration(migrations.Migration):
    # CREATE INDEX CONCURRENTLY cannot run inside a transaction.
    atomic = False

    dependencies = [
        ("sessions_app", "0035_series_position_index"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="reminder",
            index=models.Index(
                condition=models.Q(("kind", "maintenance_due"), ("session__isnull", False)),
                fields=["plan", "session"],
                name="reminder_maintenance_idx",
            ),
        ),
    ]
