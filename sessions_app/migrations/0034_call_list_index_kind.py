"""The call list's index ends with the reminder's kind: the call list's counts
by kind and Today's overdue maintenance recalls are read from the index
alone, not from ten thousand rows of a chain's open calls."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("sessions_app", "0033_client_search_prefix_indexes"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="reminder",
            name="reminder_call_list_idx",
        ),
        migrations.AddIndex(
            model_name="reminder",
            index=models.Index(fields=["channel", "status", "due_at", "id", "kind"], name="reminder_call_list_idx"),
        ),
    ]
