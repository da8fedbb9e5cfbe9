"""The test database template (tests/template_db.py) is named by a hash of what
the migrations build: a test run must never start from a template built by
migrations that have since changed, and editing a view must not cost a rebuild."""

from pathlib import Path

import pytest
from django.conf import settings

from .template_db import migration_hash

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
