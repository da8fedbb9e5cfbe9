"""The test databases (tests/databases.py). The template is named by a hash of
what the migrations build: a test run must never start from a template built by
migrations that have since changed, and editing a view must not cost a rebuild.
The flush after a transactional test empties every table, whatever the foreign
keys between them, without PostgreSQL's slow TRUNCATE."""

from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext

from sessions_app.models import AccessAction, AccessLog

from .databases import migration_hash
from .factories import make_injection, make_lot, make_photo, make_session, make_user

ROOT = Path(settings.BASE_DIR)


@pytest.fixture
def edit(monkeypatch):
    """edit(path): the hash now reads that file with a line added, as if someone changed it."""
    read_bytes = Path.read_bytes

    def edit_file(path: Path) -> None:
        edited = path.resolve()
        monkeypatch.setattr(
            Path, "read_bytes", lambda self: read_bytes(self) + (b"\n# edited\n" if self.resolve() == edited else b"")
        )

    return edit_file


def django_migration(app: str, name: str) -> Path:
    import django

    return Path(django.__file__).parent / "contrib" / app / "migrations" / name


@pytest.mark.parametrize(
    "changed",
    [
        ROOT / "sessions_app" / "migrations" / "0002_reference_data.py",
        ROOT / "sessions_app" / "roles.py",  # called by the migrations that set up the role groups
        ROOT / "sessions_app" / "models" / "staff.py",  # imported by roles.py in turn
        django_migration("auth", "0001_initial.py"),  # a package's own migration (an upgrade)
    ],
    ids=lambda path: path.name,
)
def test_a_change_to_what_the_migrations_run_gives_a_new_template(edit, changed):
    assert changed.exists()
    before = migration_hash("sqlite")
    edit(changed)
    assert migration_hash("sqlite") != before


def test_a_change_the_migrations_never_run_keeps_the_template(edit):
    before = migration_hash("sqlite")
    edit(ROOT / "sessions_app" / "views" / "dashboard.py")
    assert migration_hash("sqlite") == before


def test_each_database_engine_has_its_own_template():
    assert migration_hash("sqlite") != migration_hash("postgresql")


@pytest.mark.django_db(transaction=True)
def test_the_flush_after_a_transactional_test_empties_every_table_whatever_refers_to_what(reference_data):
    session = make_session()  # a client, a plan, a practitioner, a room...
    make_injection(session, lots=[make_lot()])
    make_photo(session)
    AccessLog.objects.create(  # append-only on PostgreSQL: a trigger refuses DELETE
        user=session.practitioner, action=AccessAction.VIEW_CLIENT, client=session.plan.client, path="/"
    )
    with CaptureQueriesContext(connection) as flushed:
        # As after a transactional test (TransactionTestCase._fixture_teardown).
        call_command("flush", interactive=False, verbosity=0, reset_sequences=False, inhibit_post_migrate=True)
    assert not any("TRUNCATE" in query["sql"] for query in flushed.captured_queries)
    left = {model._meta.label: model._base_manager.count() for model in apps.get_models()}
    assert {label: rows for label, rows in left.items() if rows} == {}
    if connection.vendor == "postgresql":  # and the access log's guard is on again for the next test
        AccessLog.objects.create(user=make_user(), action=AccessAction.VIEW_CLIENT, path="/")
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            AccessLog.objects.all().delete()
