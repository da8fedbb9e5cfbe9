"""The test databases: made from a template migrated once, and emptied fast.

**A template, copied.** Building a database through every migration takes 5 to
8 seconds, and every pytest-xdist worker would pay it again at the start of
every run. Instead the first run builds a template through the migrations,
named by a hash of what the migrations run, and every test process then starts
from a copy of it: SQLite copies the file, PostgreSQL runs CREATE DATABASE ...
TEMPLATE. Django's own test setup then finds the copy (keepdb) and runs
`migrate` on it, which has nothing to apply and sends post_migrate
(permissions, content types) as usual.

The hash covers every migration file of every installed app (Django's and the
packages' too, so an upgrade that brings a migration counts), the project
modules those migrations import (sessions_app.roles, the models), Django's
version and the database engine. Change any of them and the next run builds
a new template and drops the old ones of the same name. Templates are named
after this checkout (SQLite) or the test database name (PostgreSQL), so two
checkouts or two DATABASE_URLs never drop each other's. `pytest --create-db`
rebuilds the template whatever its hash, once per run.

Builds and copies take a lock (a file lock for SQLite, an advisory lock on the
server for PostgreSQL): copies run side by side, a build runs alone, and the
workers of one run, or two runs, wait for the one that builds.

**Emptied with DELETE.** A transactional test (browser, threads, processes)
ends with Django's flush. On PostgreSQL that is one TRUNCATE of every table,
about 0.4 s: it makes new files for every table and index. After a test the
tables hold a few rows, and DELETE empties them all in about 10 ms.
"""

import ast
import contextlib
import fcntl
import hashlib
import importlib.util
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import django
from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.db import connections
from django.db.migrations.loader import MigrationLoader

# PostgreSQL's limit on a database name.
PG_NAME_MAX = 63


def migration_hash(vendor: str) -> str:
    """Hash of everything that decides what the migrations build: the engine,
    Django's version (its schema editor writes the SQL), the migration files
    and the project code they import."""
    digest = hashlib.sha256(f"{vendor} {django.__version__}".encode())
    files = set()
    for app_config in apps.get_app_configs():
        module_name, _explicit = MigrationLoader.migrations_module(app_config.label)
        spec = importlib.util.find_spec(module_name) if module_name else None
        if spec is None or not spec.submodule_search_locations:
            continue
        for location in spec.submodule_search_locations:
            files.update(Path(location).glob("*.py"))
    files |= _project_modules_imported_by(sorted(files))
    for path in sorted(files):
        digest.update(str(path.relative_to(path.parents[1])).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def _project_modules_imported_by(files: list[Path]) -> set[Path]:
    """Source files of this project that the migrations import, and what those
    import in turn (a data migration may call the app's own code)."""
    root = Path(settings.BASE_DIR).resolve()
    seen: set[Path] = set()
    pending = [(path, _module_name(path, root)) for path in files if path.resolve().is_relative_to(root)]
    while pending:
        path, module = pending.pop()
        for name in _imports(path, module):
            for candidate in _with_parents(name):
                found = _source(candidate, root)
                if found and found not in seen:
                    seen.add(found)
                    pending.append((found, candidate))
    return seen


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.resolve().relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path, module: str) -> Iterator[str]:
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_bytes(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base]) if base else ".".join(anchor)
            yield base
            # `from package import module` imports a module too.
            yield from (f"{base}.{alias.name}" for alias in node.names)


def _with_parents(name: str) -> list[str]:
    """Importing a.b.c runs a/__init__.py and a/b/__init__.py first."""
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]


def _source(module: str, root: Path) -> Path | None:
    top = module.partition(".")[0]
    if not top or not ((root / top).is_dir() or (root / f"{top}.py").is_file()):
        return None  # not this project's: never imported here just to look
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        return None
    path = Path(spec.origin).resolve()
    return path if path.is_relative_to(root) else None


def _migrate(alias: str) -> None:
    call_command("migrate", verbosity=0, interactive=False, database=alias, run_syncdb=True)


@contextlib.contextmanager
def _pointing_at(connection, name: str) -> Iterator[None]:
    """The connection's database switched to `name` while the block runs."""
    original = connection.settings_dict["NAME"]
    connection.close()
    connection.settings_dict["NAME"] = name
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict["NAME"] = original


# --- SQLite -------------------------------------------------------------------


def _sqlite_files(path: Path) -> list[Path]:
    return [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]


def _remove_sqlite(path: Path) -> None:
    for file in _sqlite_files(path):
        file.unlink(missing_ok=True)


def copy_sqlite_template(connection, run: str, rebuild: bool) -> None:
    """Copies this checkout's template to the connection's test database file,
    building the template first when the migrations changed."""
    checkout = hashlib.sha256(str(Path(settings.BASE_DIR).resolve()).encode()).hexdigest()[:8]
    prefix = f"mesoclinic-test-template-{checkout}-"
    folder = Path(tempfile.gettempdir())
    template = folder / f"{prefix}{migration_hash('sqlite')}.sqlite3"
    built_by = template.with_name(f"{template.name}.run")  # the run that built it, for --create-db
    target = Path(connection.creation._get_test_db_name())
    with open(folder / f"{prefix}lock", "w") as lock:
        while True:
            fcntl.flock(lock, fcntl.LOCK_SH)  # copies run side by side; a build runs alone
            if template.exists() and not (rebuild and _read(built_by) != run):
                _remove_sqlite(target)
                shutil.copyfile(template, target)
                return
            fcntl.flock(lock, fcntl.LOCK_UN)
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not template.exists() or (rebuild and _read(built_by) != run):
                for stale in folder.glob(f"{prefix}*.sqlite3*"):
                    stale.unlink(missing_ok=True)
                building = template.with_name(f"{template.name}.building")
                _remove_sqlite(building)
                with _pointing_at(connection, str(building)):
                    _migrate(connection.alias)
                # Closing the last connection folded the write-ahead log into the file.
                built_by.write_text(run)
                os.replace(building, template)
                _remove_sqlite(building)
            fcntl.flock(lock, fcntl.LOCK_UN)


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except FileNotFoundError:
        return ""


# --- PostgreSQL ---------------------------------------------------------------


def copy_postgresql_template(connection, run: str, rebuild: bool) -> None:
    """CREATE DATABASE <test database> TEMPLATE <template>, building the template
    first when the migrations changed."""
    target = connection.creation._get_test_db_name()
    # Named after the test database without pytest-xdist's _gwN suffix: the workers share it.
    base = target.removesuffix(f"_{os.environ.get('PYTEST_XDIST_WORKER', '')}")
    digest = migration_hash("postgresql")
    prefix = f"{base[: PG_NAME_MAX - len(digest) - len('_template_') - len('_new')]}_template_"
    template = f"{prefix}{digest}"
    building = f"{template}_new"
    lock = int.from_bytes(hashlib.sha256(prefix.encode()).digest()[:8], "big", signed=True)
    quote = connection.ops.quote_name
    connection.close()  # CREATE DATABASE ... TEMPLATE wants nobody connected to the template
    with connection._nodb_cursor() as cursor:

        def built_by() -> str | None:
            """The run that built the template (its comment), None if there is none."""
            cursor.execute(
                "SELECT coalesce(shobj_description(oid, 'pg_database'), '') FROM pg_database WHERE datname = %s",
                [template],
            )
            row = cursor.fetchone()
            return row[0] if row else None

        while True:
            cursor.execute("SELECT pg_advisory_lock_shared(%s)", [lock])  # copies side by side; a build alone
            try:
                found = built_by()
                if found is not None and not (rebuild and found != run):
                    cursor.execute(f"DROP DATABASE IF EXISTS {quote(target)}")
                    cursor.execute(f"CREATE DATABASE {quote(target)} TEMPLATE {quote(template)}")
                    return
            finally:
                cursor.execute("SELECT pg_advisory_unlock_shared(%s)", [lock])
            cursor.execute("SELECT pg_advisory_lock(%s)", [lock])
            try:
                found = built_by()
                if found is None or (rebuild and found != run):
                    cursor.execute(
                        "SELECT datname FROM pg_database WHERE datname LIKE %s",
                        [prefix.replace("_", r"\_") + "%"],
                    )
                    for (stale,) in cursor.fetchall():
                        cursor.execute(f"DROP DATABASE IF EXISTS {quote(stale)}")
                    cursor.execute(f"CREATE DATABASE {quote(building)}")
                    with _pointing_at(connection, building):
                        _migrate(connection.alias)
                    cursor.execute(f"COMMENT ON DATABASE {quote(building)} IS %s", [run])
                    cursor.execute(f"ALTER DATABASE {quote(building)} RENAME TO {quote(template)}")
            finally:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [lock])


def copy_templates(aliases: set[str], run: str, rebuild: bool = False) -> None:
    """Puts a fresh copy of the template where Django will look for each test
    database; Django's setup_databases(keepdb=True) then uses it. `run` names
    this test run (all its xdist workers): with `rebuild`, the first of them
    rebuilds the template and the others use that one."""
    for alias in sorted(aliases):
        connection = connections[alias]
        if connection.settings_dict["TEST"].get("MIRROR"):
            continue
        if connection.vendor == "sqlite":
            if connection.creation.is_in_memory_db(connection.creation._get_test_db_name()):
                continue  # nothing to copy: Django migrates an in-memory database itself
            copy_sqlite_template(connection, run, rebuild)
        elif connection.vendor == "postgresql":
            copy_postgresql_template(connection, run, rebuild)
        else:
            raise NotImplementedError(f"no test database template for {connection.vendor}")


# --- Emptying after a transactional test ----------------------------------------


def delete_instead_of_truncate(monkeypatch) -> None:
    """Django's flush on PostgreSQL, as DELETE statements in one transaction.
    Django makes every foreign key DEFERRABLE INITIALLY DEFERRED there, so the
    order does not matter: they are checked at commit, when every table is
    empty. A table's own triggers (the access log refuses DELETE) are off for
    its DELETE and on again before the commit, as TRUNCATE never fires them.
    Anything else that refuses fails the test's teardown loudly, and nothing is
    left half-emptied (one transaction)."""
    from django.db.backends.postgresql.operations import DatabaseOperations

    truncate = DatabaseOperations.sql_flush

    def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):
        if reset_sequences or allow_cascade or not tables:
            return truncate(self, style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade)
        with self.connection.cursor() as cursor:
            cursor.execute(
                "SELECT DISTINCT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
                " WHERE NOT t.tgisinternal AND c.relname = ANY(%s) AND pg_table_is_visible(c.oid)",
                [list(tables)],
            )
            triggered = {name for (name,) in cursor.fetchall()}
        statements = ["SET CONSTRAINTS ALL DEFERRED;"]
        for table in tables:
            name = style.SQL_FIELD(self.quote_name(table))
            if table in triggered:
                statements.append(f"{style.SQL_KEYWORD('ALTER TABLE')} {name} DISABLE TRIGGER USER;")
            statements.append(f"{style.SQL_KEYWORD('DELETE FROM')} {name};")
            if table in triggered:
                statements.append(f"{style.SQL_KEYWORD('ALTER TABLE')} {name} ENABLE TRIGGER USER;")
        return statements

    monkeypatch.setattr(DatabaseOperations, "sql_flush", sql_flush)
