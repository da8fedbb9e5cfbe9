"""The benchmark's own databases, on the PostgreSQL server DATABASE_URL names.

The bench never writes to the database DATABASE_URL names: it creates
`mesoclinic_bench_<clients>` beside it (migrated once into a template, then
copied, which is much faster than migrating each), points Django's default
connection at it the way Django's test runner does for a test database, and
drops it at the end unless asked to keep it. It drops only what it created:
a database of that name that already exists is refused, not replaced.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager

from django.core.management import call_command
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

PREFIX = "mesoclinic_bench_"
TEMPLATE = f"{PREFIX}template"


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


@contextmanager
def using_database(name: str) -> Iterator[None]:
    """Django's default connection points at `name` inside the block."""
    connection = _connection()
    original = connection.settings_dict["NAME"]
    connection.close()
    connection.settings_dict["NAME"] = name
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict["NAME"] = original


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


def settle() -> None:
    """VACUUM (ANALYZE) the database in use: what autovacuum does to a clinic's
    database in the minutes after a bulk load (visibility map, hint bits,
    statistics). Done before timing, so that autovacuum does not do it on the
    same two cores while pages are timed, and the pages meet the database as it
    is in steady use."""
    with _connection().cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE)")
