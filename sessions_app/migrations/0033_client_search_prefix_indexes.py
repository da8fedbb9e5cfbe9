"""Client search on PostgreSQL, one word typed: the names it begins, read in
order from a btree index a page at a time (ClientQuerySet.search_first), so
"mar" at a chain's 100,000 clients costs what it does at 1,000. One index on
"last first" and one on "first last", both through mesoclinic_search_name
(migration 0020) in the "C" collation, which LIKE 'mar%' can range-scan. On
SQLite nothing is done here: the search reads Client.search_key."""

from django.db import migrations

CREATE = """
CREATE INDEX IF NOT EXISTS client_search_last_first
    ON sessions_app_client ((mesoclinic_search_name(last_name, first_name) COLLATE "C"));
CREATE INDEX IF NOT EXISTS client_search_first_last
    ON sessions_app_client ((mesoclinic_search_name(first_name, last_name) COLLATE "C"));
"""
DROP = """
DROP INDEX IF EXISTS client_search_first_last;
DROP INDEX IF EXISTS client_search_last_first;
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("sessions_app", "0032_reminder_claim_indexes"),
    ]

    operations = [migrations.RunPython(create, drop, elidable=False)]
