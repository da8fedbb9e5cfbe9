"""Index operations that, on PostgreSQL, build and drop an index without
locking its table against writes (CREATE / DROP INDEX CONCURRENTLY), for the
tables a chain fills with millions of rows. A migration using them sets
`atomic = False`. (The leading underscore keeps Django's migration loader
from reading this module as a migration.)"""

from django.db import migrations


def _concurrently(schema_editor) -> bool:
    """On PostgreSQL, outside a transaction: build and drop the indexes without
    locking their table against writes (the worker, the pages) for the
    minutes a chain's table takes. Elsewhere, or inside a transaction (which
    holds its locks to the end anyway), the plain statements."""
    return schema_editor.connection.vendor == "postgresql" and not schema_editor.connection.in_atomic_block


class AddIndexConcurrently(migrations.AddIndex):
    """AddIndex, CONCURRENTLY on PostgreSQL. An earlier attempt that failed
    half-way leaves an invalid index of that name: it is dropped first, so
    running the migration again builds it."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if not _concurrently(schema_editor):
            return super().database_forwards(app_label, schema_editor, from_state, to_state)
        model = to_state.apps.get_model(app_label, self.model_name)
        if not self.allow_migrate_model(schema_editor.connection.alias, model):
            return
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(
                "SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                "WHERE c.relname = %s AND NOT i.indisvalid",
                [self.index.name],
            )
            half_built = cursor.fetchone() is not None
        if half_built:
            schema_editor.remove_index(model, self.index, concurrently=True)
        schema_editor.add_index(model, self.index, concurrently=True)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if not _concurrently(schema_editor):
            return super().database_backwards(app_label, schema_editor, from_state, to_state)
        model = from_state.apps.get_model(app_label, self.model_name)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            schema_editor.remove_index(model, self.index, concurrently=True)


class RemoveIndexConcurrently(migrations.RemoveIndex):
    """RemoveIndex, CONCURRENTLY (and IF EXISTS) on PostgreSQL."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if not _concurrently(schema_editor):
            return super().database_forwards(app_label, schema_editor, from_state, to_state)
        model = from_state.apps.get_model(app_label, self.model_name)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            index = from_state.models[app_label, self.model_name_lower].get_index_by_name(self.name)
            schema_editor.remove_index(model, index, concurrently=True)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if not _concurrently(schema_editor):
            return super().database_backwards(app_label, schema_editor, from_state, to_state)
        model = to_state.apps.get_model(app_label, self.model_name)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            index = to_state.models[app_label, self.model_name_lower].get_index_by_name(self.name)
            schema_editor.add_index(model, index, concurrently=True)
