"""Client search on PostgreSQL: accents and case ignored (unaccent), any part
of a name and small typos found (pg_trgm), through GIN trigram indexes.

unaccent() is only STABLE (its dictionary could change), so an index cannot
use it directly: mesoclinic_search_name wraps it in an IMMUTABLE SQL function
with the dictionary named, the usual way to index unaccented text. The
extensions' schema is looked up, so the function works wherever they live.
On SQLite nothing is done here: the search reads Client.search_key.
"""

from django.db import migrations

SEARCH_NAME = """
CREATE OR REPLACE FUNCTION mesoclinic_search_name(first_name text, last_name text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    AS $$ SELECT lower({unaccent}.unaccent('{unaccent}.unaccent'::regdictionary, first_name || ' ' || last_name)) $$;
CREATE INDEX IF NOT EXISTS client_search_name_trgm ON sessions_app_client
    USING gin (mesoclinic_search_name(first_name, last_name) {trgm}.gin_trgm_ops);
CREATE INDEX IF NOT EXISTS client_phone_trgm ON sessions_app_client USING gin (phone {trgm}.gin_trgm_ops);
"""
DROP = """
DROP INDEX IF EXISTS client_phone_trgm;
DROP INDEX IF EXISTS client_search_name_trgm;
DROP FUNCTION IF EXISTS mesoclinic_search_name(text, text);
"""


def _schema(cursor, extension: str) -> str:
    cursor.execute(
        "SELECT quote_ident(extnamespace::regnamespace::text) FROM pg_extension WHERE extname = %s", [extension]
    )
    return cursor.fetchone()[0]


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        # Both are "trusted" extensions (PostgreSQL 13+): the database's owner may create them.
        cursor.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
        cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        unaccent, trgm = _schema(cursor, "unaccent"), _schema(cursor, "pg_trgm")
        cursor.execute(SEARCH_NAME.format(unaccent=unaccent, trgm=trgm))


def drop(apps, schema_editor):
    # The extensions stay: other databases objects may use them.
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("sessions_app", "0019_client_search_merge_version"),
    ]

    operations = [migrations.RunPython(create, drop, elidable=False)]
