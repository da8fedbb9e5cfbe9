"""No double booking, held by PostgreSQL itself.

Two exclusion constraints on treatment sessions: no two sessions of one
practitioner, and no two in one room, whose [starts_at, ends_at) ranges overlap,
cancelled sessions excepted. They need btree_gist (equality on a bigint inside
a GiST index). SQLite has no such constraint: there the booking service checks
for conflicts inside a transaction that takes the write lock at BEGIN
(transaction_mode IMMEDIATE), which serialises writers.

Kept out of the model state on purpose: Django would otherwise try to validate
the constraints on SQLite too, where the range functions do not exist.
"""

from django.db import migrations

CONSTRAINTS = {
    "session_no_practitioner_overlap": "practitioner_id",
    "session_no_room_overlap": "room_id",
}


def add(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    for name, column in CONSTRAINTS.items():
        schema_editor.execute(
            f"ALTER TABLE sessions_app_treatmentsession ADD CONSTRAINT {name} "
            f"EXCLUDE USING gist ({column} WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&) "
            "WHERE (status <> 'cancelled')"
        )


def remove(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in CONSTRAINTS:
        schema_editor.execute(f"ALTER TABLE sessions_app_treatmentsession DROP CONSTRAINT IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("sessions_app", "0004_user_calendar_token")]

    operations = [migrations.RunPython(add, remove)]
