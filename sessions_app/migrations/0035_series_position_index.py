"""A session's place in its series ("3 of 6") is a count of its plan's kept
series sessions up to it, read for every session a calendar, Today or a
client's timeline shows: this partial index holds exactly those sessions, so
the count is read from the index alone. Built without locking a chain's
million sessions against bookings (CONCURRENTLY, on PostgreSQL)."""

from django.db import migrations, models

from ._concurrently import AddIndexConcurrently


class Migration(migrations.Migration):
    # CREATE INDEX CONCURRENTLY cannot run inside a transaction.
    atomic = False

    dependencies = [
        ("sessions_app", "0034_call_list_index_kind"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="treatmentsession",
            index=models.Index(
                condition=models.Q(
                    ("is_maintenance", False), models.Q(("status__in", ("cancelled", "no_show")), _negated=True)
                ),
                fields=["plan", "starts_at"],
                name="session_series_position_idx",
            ),
        ),
    ]
