"""The benchmark's own databases, on the PostgreSQL server DATABASE_URL names.

The bench never writes to the database DATABASE_URL names: it creates
`mesoclinic_bench_<clients>` beside it (migrated once into a template, then
copied, which is much faster than migrating each) and drops it at the end
unless asked to keep it. It drops only what it created: a database of that
name that already exists is refused, not replaced. A database seeded to the
end is marked (a comment on the database), and only a marked one, at the
code's migrations, is timed again by `--reuse`.

Each bench database has a connection of its own, opened once; Django's default
connection is pointed at one or the other by putting its connection in the
default's place (`Connections.use`), which costs an attribute assignment, so the
sizes can be timed alternately, request by request, without reconnecting.
"""

from __future__ import annotations

import datetime as dt
import json
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.core.management import call_command
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

PREFIX = "mesoclinic_bench_"
TEMPLATE = f"{PREFIX}template"
# A copy of a database larger than this is made file by file (copy_database).
FILE_COPY_FROM_BYTES = 200 * 1024 * 1024


class BenchDatabaseError(Exception):
    """The server cannot be used for the benchmark; the message says why."""


def bench_database_name(clients: int) -> str:
    return f"{PREFIX}{clients}"


def _connection():
    return connections[DEFAULT_DB_ALIAS]


def server_description() -> str:
    """host:port of the server, for messages."""
    params = _connection().settings_dict
    return f"{params.get('HOST') or 'localhost'}:{params.get('PORT') or 5432}"


def check_server() -> str:
    """The server's version string, or BenchDatabaseError when DATABASE_URL is
    not PostgreSQL or the server cannot be reached."""
    connection = _connection()
    if connection.vendor != "postgresql":
        raise BenchDatabaseError(
            f"The benchmark runs on PostgreSQL, and DATABASE_URL names {connection.vendor} "
            f"({connection.settings_dict['NAME']}). Set DATABASE_URL=postgres://user@host:5432/dbname; "
            f"the bench creates its own {PREFIX}* databases on that server and leaves the named one alone."
        )
    try:
        with _server_cursor() as cursor:
            cursor.execute("SELECT version()")
            return cursor.fetchone()[0]
    except DatabaseError as exc:
        raise BenchDatabaseError(f"PostgreSQL at {server_description()} cannot be reached: {exc}".strip()) from exc


@contextmanager
def _server_cursor() -> Iterator:
    """A cursor on the server's maintenance database. When that is unreachable
    Django warns before trying the named database; the error says it all."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Normally Django will use a connection to the 'postgres' database")
        with _connection()._nodb_cursor() as cursor:
            yield cursor


def _admin(sql: str) -> None:
    """A statement run outside any database (CREATE or DROP DATABASE)."""
    try:
        with _server_cursor() as cursor:
            cursor.execute(sql)
    except DatabaseError as exc:
        raise BenchDatabaseError(f"PostgreSQL at {server_description()} refused {sql.split(' (')[0]!r}: {exc}") from exc


def _quoted(name: str) -> str:
    return _connection().ops.quote_name(name)


def drop_database(name: str) -> None:
    _admin(f"DROP DATABASE IF EXISTS {_quoted(name)} WITH (FORCE)")


def open_connection(name: str) -> BaseDatabaseWrapper:
    """A connection of its own to `name` on the same server, configured as
    the default connection is (it connects on first use)."""
    default = _connection()
    return default.__class__({**default.settings_dict, "NAME": name}, alias=DEFAULT_DB_ALIAS)


class Connections:
    """The bench databases' connections, one per database, each put in the
    default connection's place in turn; `close()` puts the default's own back."""

    def __init__(self) -> None:
        self._original = _connection()
        self._opened: dict[str, BaseDatabaseWrapper] = {}

    def use(self, name: str) -> None:
        """Django's default connection is `name`'s from now on: every query,
        `django.db.connection` and the test client's requests go there."""
        if name not in self._opened:
            self._opened[name] = open_connection(name)
        connections[DEFAULT_DB_ALIAS] = self._opened[name]

    def release(self, name: str) -> None:
        """Closes `name`'s connection (a database copied must have none); the
        default's own connection is back in place if `name`'s was."""
        wrapper = self._opened.pop(name, None)
        if wrapper is not None:
            if connections[DEFAULT_DB_ALIAS] is wrapper:
                connections[DEFAULT_DB_ALIAS] = self._original
            wrapper.close()

    def close(self) -> None:
        connections[DEFAULT_DB_ALIAS] = self._original
        for wrapper in self._opened.values():
            wrapper.close()
        self._opened.clear()


@contextmanager
def using_database(name: str) -> Iterator[None]:
    """Django's default connection points at `name` inside the block (a
    connection of its own, closed at the end)."""
    opened = Connections()
    opened.use(name)
    try:
        yield
    finally:
        opened.close()


def database_exists(name: str) -> bool:
    with _server_cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        return cursor.fetchone() is not None


def _create(sql: str, name: str) -> None:
    """CREATE DATABASE, refused for a name that exists: the bench drops only
    what it created (an earlier run's --keep, or a bench running at the same
    time, is left alone)."""
    if database_exists(name):
        raise BenchDatabaseError(
            f"The database {name} already exists on {server_description()}: kept by an earlier run "
            f"(--keep), or another bench is running. Drop it when it is no longer needed "
            f"(dropdb {name}), then run the bench again."
        )
    _admin(sql)


def create_template() -> None:
    """A migrated, empty database the bench databases are copied from."""
    _create(f"CREATE DATABASE {_quoted(TEMPLATE)}", TEMPLATE)
    with using_database(TEMPLATE):
        call_command("migrate", interactive=False, verbosity=0)


def create_database(name: str) -> None:
    """A fresh copy of the template (which must have no open connection)."""
    _create(f"CREATE DATABASE {_quoted(name)} TEMPLATE {_quoted(TEMPLATE)}", name)


def jobs_database_name(clients: int) -> str:
    return f"{bench_database_name(clients)}_jobs"


def copy_database(source: str, name: str) -> None:
    """`name`, a copy of `source` (which must have no open connection): the
    jobs write (reminders generated, sent), and a database kept for --reuse is
    timed again as it was seeded. A large one is copied file by file where the
    server can (PostgreSQL 15+), much faster than through the WAL; a small one
    through the WAL, which spares the two checkpoints a file copy costs."""
    with _server_cursor() as cursor:
        cursor.execute("SELECT current_setting('server_version_num')::int, pg_database_size(%s)", [source])
        version, size = cursor.fetchone()
    strategy = " STRATEGY FILE_COPY" if version >= 150000 and size > FILE_COPY_FROM_BYTES else ""
    _create(f"CREATE DATABASE {_quoted(name)} TEMPLATE {_quoted(source)}{strategy}", name)


@dataclass(frozen=True)
class Mark:
    """What the bench writes on a database it seeded to the end: how big, when, how long it took."""

    clients: int
    seeded: dt.datetime
    seconds: float
    sessions: int

    def text(self) -> str:
        return json.dumps(
            {
                "bench": "mesoclinic",
                "clients": self.clients,
                "seeded": self.seeded.isoformat(),
                "seconds": round(self.seconds, 2),
                "sessions": self.sessions,
            }
        )

    @classmethod
    def parse(cls, text: str | None) -> Mark | None:
        try:
            data = json.loads(text or "")
            if data.get("bench") != "mesoclinic":
                return None
            return cls(
                int(data["clients"]), dt.datetime.fromisoformat(data["seeded"]), data["seconds"], data["sessions"]
            )
        except (ValueError, TypeError, KeyError, AttributeError):
            return None


def write_mark(name: str, mark: Mark) -> None:
    """Marks `name` as seeded to the end (run once its seed succeeded)."""
    with _connection().cursor() as cursor:
        cursor.execute(f"COMMENT ON DATABASE {_quoted(name)} IS %s", [mark.text()])


def read_mark(name: str) -> Mark | None:
    with _server_cursor() as cursor:
        cursor.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
            [name],
        )
        row = cursor.fetchone()
    return Mark.parse(row[0]) if row else None


def migration_gaps() -> tuple[list[str], list[str]]:
    """For the database in use: the code's migrations it has not applied, and
    the migrations it has applied that the code does not know (another branch's)."""
    executor = MigrationExecutor(_connection())
    graph = executor.loader.graph
    missing = [f"{m.app_label}.{m.name}" for m, _ in executor.migration_plan(graph.leaf_nodes())]
    unknown = sorted(
        f"{app}.{name}" for app, name in executor.loader.applied_migrations if (app, name) not in graph.nodes
    )
    return missing, unknown


def reusable(clients: int) -> Mark:
    """The mark of the database an earlier `--keep` run seeded with `clients`
    clients, or BenchDatabaseError saying why it cannot be timed again."""
    name = bench_database_name(clients)
    if not database_exists(name):
        raise BenchDatabaseError(
            f"--reuse: there is no {name} on {server_description()}. Run the bench once with --keep "
            f"(and these --sizes) to seed it."
        )
    mark = read_mark(name)
    if mark is None or mark.clients != clients:
        raise BenchDatabaseError(
            f"--reuse: {name} carries no mark of a bench seed that went to the end (seeded by an older "
            f"bench, or stopped while seeding). Drop it (dropdb {name}) and run the bench with --keep."
        )
    with using_database(name):
        missing, unknown = migration_gaps()
    if missing or unknown:
        said = []
        if missing:
            said.append(f"the code's migrations it lacks: {_listed(missing)}")
        if unknown:
            said.append(f"migrations applied that the code does not know: {_listed(unknown)}")
        seeded = timezone.localtime(mark.seeded)
        raise BenchDatabaseError(
            f"--reuse: {name} (seeded {seeded:%Y-%m-%d %H:%M}) is at an older migration state; "
            f"{'; '.join(said)}. Drop it (dropdb {name}) and run the bench with --keep to seed it again, "
            f"or, if its data can stand for what seed_demo makes now, migrate it "
            f"(DATABASE_URL=…/{name} manage.py migrate) and run --reuse again."
        )
    return mark


def _listed(names: list[str], most: int = 5) -> str:
    return ", ".join(names[:most]) + (f" and {len(names) - most} more" if len(names) > most else "")


def settle() -> None:
    """VACUUM (ANALYZE) the database in use: what autovacuum does to a clinic's
    database in the minutes after a bulk load (visibility map, hint bits,
    statistics). Done before timing, so that autovacuum does not do it on the
    same two cores while pages are timed, and the pages meet the database as it
    is in steady use."""
    with _connection().cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE)")
