"""Migrations 0032, 0035 and 0036 build the reminders' and the sessions' partial
indexes without locking a chain's table: on PostgreSQL CREATE / DROP INDEX
CONCURRENTLY (outside a transaction), the plain statements elsewhere."""

import io

import pytest
from django.core.management import call_command
from django.db import connection


def sql_of(migration: str) -> str:
    out = io.StringIO()
    call_command("sqlmigrate", "sessions_app", migration, stdout=out)
    return out.getvalue()


@pytest.mark.django_db(transaction=True)
def test_the_claim_indexes_are_built_and_dropped_concurrently_on_postgresql():
    sql = sql_of("0032")
    if connection.vendor == "postgresql":
        assert 'CREATE INDEX CONCURRENTLY "reminder_claimable_idx"' in sql
        assert 'CREATE INDEX CONCURRENTLY "reminder_pending_due_idx"' in sql
        assert 'DROP INDEX CONCURRENTLY IF EXISTS "reminder_status_retry_idx"' in sql
        # The old index goes last: the claim has one to read throughout.
        assert sql.index("reminder_status_retry_idx") > sql.index("reminder_pending_due_idx")
    else:
        assert "CONCURRENTLY" not in sql
        assert 'CREATE INDEX "reminder_claimable_idx"' in sql


@pytest.mark.django_db(transaction=True)
def test_the_series_position_index_is_built_concurrently_on_postgresql():
    sql = sql_of("0035")
    built = "CONCURRENTLY " if connection.vendor == "postgresql" else ""
    assert f'CREATE INDEX {built}"session_series_position_idx"' in sql


@pytest.mark.django_db(transaction=True)
def test_the_maintenance_reminders_index_is_built_concurrently_on_postgresql():
    sql = sql_of("0036")
    built = "CONCURRENTLY " if connection.vendor == "postgresql" else ""
    assert f'CREATE INDEX {built}"reminder_maintenance_idx"' in sql
