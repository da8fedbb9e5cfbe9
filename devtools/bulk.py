"""Writing many rows of plain values, for the demo seed: COPY on PostgreSQL,
bulk_create elsewhere (SQLite, where the demo is small).

Rows are tuples of plain Python values (str, int, bool, date, aware datetime,
Decimal, None) in the order of the columns named, by attname ("client_id").
The model's other columns take their default, as bulk_create would give them.
No model instance is built on PostgreSQL, no signal is sent, and auto_now
fields keep the value given.

Primary keys are reserved first (`ids_reserve`), so that the caller can name a
row's id in its children's rows before writing either.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from itertools import batched
from typing import Any

from django.db import connection, models
from django.db.models import NOT_PROVIDED
from django.utils import timezone

BATCH = 1000


def is_postgresql() -> bool:
    return connection.vendor == "postgresql"


def ids_reserve(model: type[models.Model], count: int) -> Sequence[int]:
    """`count` new primary keys of the model's table, in ascending order, none
    of which anything else can take: the table's sequence moved past them on
    PostgreSQL, after the largest ever used on SQLite (whose transaction holds
    the only write lock)."""
    if count <= 0:
        return range(0)
    table = model._meta.db_table
    column = model._meta.pk.column
    with connection.cursor() as cursor:
        if is_postgresql():
            # While the table is locked against writes (until the transaction
            # ends: loading() holds a stronger lock anyway) nobody else draws
            # from its sequence, so the next `count` values are ours.
            cursor.execute(f"LOCK TABLE {connection.ops.quote_name(table)} IN SHARE ROW EXCLUSIVE MODE")
            cursor.execute(
                "SELECT setval(seq, nextval(seq) + %s - 1) - %s + 1"
                " FROM (SELECT pg_get_serial_sequence(%s, %s)::regclass AS seq) AS s",
                [count, count, table, column],
            )
            (first,) = cursor.fetchone()
            return range(first, first + count)
        quoted_table, quoted_column = connection.ops.quote_name(table), connection.ops.quote_name(column)
        cursor.execute(f"SELECT coalesce(max({quoted_column}), 0) FROM {quoted_table}")
        (largest,) = cursor.fetchone()
        cursor.execute("SELECT name FROM sqlite_master WHERE name = 'sqlite_sequence'")
        if cursor.fetchone():
            cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
            found = cursor.fetchone()
            largest = max(largest, found[0] if found else 0)
        return range(largest + 1, largest + 1 + count)


def _defaults(model: type[models.Model], columns: Sequence[str]) -> dict[str, Any]:
    """The database values of the concrete columns not named (not the pk, nor
    those the database fills itself)."""
    named = set(columns)
    values = {}
    for field in model._meta.concrete_fields:
        if field.attname in named or field.primary_key:
            continue
        if getattr(field, "db_default", NOT_PROVIDED) is not NOT_PROVIDED:
            continue
        value = timezone.now() if _stamped(field) else field.get_default()
        values[field.column] = field.get_db_prep_save(value, connection)
    return values


def _stamped(field: models.Field) -> bool:
    return getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)


def rows_insert(
    model: type[models.Model],
    columns: Sequence[str],
    rows: Iterable[tuple],
    *,
    tick: Callable[[int], Any] | None = None,
) -> int:
    """Insert the rows (tuples in the order of `columns`, attnames); returns how
    many. `tick(n)` is called as rows go, for a progress bar."""
    if is_postgresql():
        return _copy(model, columns, rows, tick)
    return _bulk_create(model, columns, rows, tick)


def _copy(model, columns, rows, tick) -> int:
    fields = {f.attname: f for f in model._meta.concrete_fields}
    defaults = _defaults(model, columns)
    quote = connection.ops.quote_name
    names = [quote(fields[c].column) for c in columns] + [quote(c) for c in defaults]
    sql = f"COPY {quote(model._meta.db_table)} ({', '.join(names)}) FROM STDIN"
    constant = tuple(defaults.values())
    written = 0
    with connection.cursor() as wrapper, wrapper.cursor.copy(sql) as copy:
        write = copy.write_row
        for row in rows:
            write(row + constant if constant else row)
            written += 1
            if tick and not written % BATCH:
                tick(BATCH)
    if tick and written % BATCH:
        tick(written % BATCH)
    return written


def _bulk_create(model, columns, rows, tick) -> int:
    written = 0
    with _timestamps_as_given(model):
        for batch in batched(rows, BATCH):
            model.objects.bulk_create([model(**dict(zip(columns, row, strict=True))) for row in batch])
            written += len(batch)
            if tick:
                tick(len(batch))
    return written


@contextmanager
def _timestamps_as_given(model: type[models.Model]):
    """bulk_create stamps auto_now/auto_now_add fields with the current time;
    the rows carry their own. Switched off for the duration, in this process."""
    fields = [f for f in model._meta.concrete_fields if _stamped(f)]
    saved = [(f, f.auto_now, f.auto_now_add) for f in fields]
    try:
        for f in fields:
            f.auto_now = f.auto_now_add = False
        yield
    finally:
        for f, auto_now, auto_now_add in saved:
            f.auto_now, f.auto_now_add = auto_now, auto_now_add


@contextmanager
def loading(models_: Iterable[type[models.Model]], *, bar: Callable[[int], Any] | None = None) -> Iterator[None]:
    """Around a load (or delete) of many rows of these models' tables, on
    PostgreSQL: the foreign keys into and out of the tables and their plain
    indexes are dropped first and made again after, as PostgreSQL's manual
    advises for populating a database. Checking a foreign key row by row
    takes a lock and an index look-up per row (over 30 s at commit for 10,000
    demo clients); adding it back checks the whole table in one join. An index
    built once is faster than one grown row by row. The same definitions come
    back under the same names; unique indexes, primary keys and exclusion
    constraints stay and check each row as it comes. Inside the caller's
    transaction (DDL is transactional there): a failure puts everything back.
    The tables are locked until the transaction ends. `bar(total)` makes a
    progress bar (tqdm's interface) for the making again. Elsewhere, nothing."""
    if not is_postgresql():
        yield
        return
    tables = [m._meta.db_table for m in models_]
    with checks_now(), connection.cursor() as cursor:
        # Memory for the index builds' sorts and the foreign keys' joins, until
        # the transaction ends (the defaults, 64 and 4 MB, spill to disk).
        cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
        cursor.execute("SET LOCAL work_mem = '64MB'")
        cursor.execute(
            "SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid), c.confrelid::regclass::text"
            " FROM pg_constraint c"
            " WHERE c.contype = 'f' AND (c.conrelid = ANY(%(t)s::regclass[]) OR c.confrelid = ANY(%(t)s::regclass[]))"
            " ORDER BY 1, 2",
            {"t": tables},
        )
        foreign_keys = cursor.fetchall()
        cursor.execute(
            "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i"
            " WHERE i.indrelid = ANY(%(t)s::regclass[]) AND NOT i.indisunique AND NOT i.indisprimary"
            " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)"
            " ORDER BY 1",
            {"t": tables},
        )
        indexes = cursor.fetchall()
        involved = sorted({*tables, *(fk[0] for fk in foreign_keys), *(fk[3] for fk in foreign_keys)})
        cursor.execute(
            "SELECT bool_and(pg_has_role(relowner, 'USAGE')) FROM pg_class WHERE oid = ANY(%s::regclass[])",
            [involved],
        )
        if not cursor.fetchone()[0]:
            # Only a table's owner may alter it: the load goes on as it is, slower.
            yield
            return
        for table, name, _, _ in foreign_keys:
            cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {connection.ops.quote_name(name)}")
        for index, _ in indexes:
            cursor.execute(f"DROP INDEX {index}")
        yield
        statements = [definition for _, definition in indexes] + [
            f"ALTER TABLE {table} ADD CONSTRAINT {connection.ops.quote_name(name)} {definition}"
            for table, name, definition, _ in foreign_keys
        ]
        with (bar or _no_bar)(len(statements)) as progress:
            for statement in statements:
                cursor.execute(statement)
                progress.update(1)


@contextmanager
def checks_now() -> Iterator[None]:
    """On PostgreSQL, the checks of constraints deferred to the commit (the
    foreign keys of rows written earlier in the transaction) run now and
    inside, as a table with checks waiting cannot be altered; after, the
    constraints deferred by default are deferred again."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    yield
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname FROM pg_constraint WHERE condeferred AND connamespace = current_schema()::regnamespace"
        )
        deferred = [connection.ops.quote_name(name) for (name,) in cursor.fetchall()]
        if deferred:
            cursor.execute(f"SET CONSTRAINTS {', '.join(deferred)} DEFERRED")


class _no_bar:
    def __init__(self, total: int):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        pass

    def update(self, n: int) -> None:
        pass
