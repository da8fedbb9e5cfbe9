"""Query expressions the models and views share."""

from django.db import NotSupportedError
from django.db.models import DateField, Func, IntegerField, QuerySet, Subquery
from django.db.models.functions import TruncDate


class SubqueryCount(Subquery):
    """How many rows a correlated queryset has, as a scalar subquery: 0 when
    none. Counting this way adds no join and no GROUP BY to the outer query,
    which keeps a page's main query cheap to plan and its rows one per object."""

    template = "(SELECT COUNT(*) FROM (%(subquery)s) _counted)"
    output_field = IntegerField()

    def __init__(self, queryset: QuerySet, **extra):
        super().__init__(queryset.order_by().values("pk"), **extra)


class LocalDayNumber(Func):
    """The day of the clinic's calendar a datetime falls on, as a whole number
    of days since 1970-01-01: subtracting two gives the calendar days between
    them (what `scheduling.next_series_date` counts), the same on both
    databases, where subtracting dates gives an integer on PostgreSQL and
    nothing usable on SQLite."""

    output_field = IntegerField()

    def __init__(self, expression, **extra):
        # TruncDate converts to the current time zone, the clinic's (TIME_ZONE).
        super().__init__(TruncDate(expression), **extra)

    def as_postgresql(self, compiler, connection, **extra_context):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"({sql} - DATE '1970-01-01')", params

    def as_sqlite(self, compiler, connection, **extra_context):
        sql, params = compiler.compile(self.source_expressions[0])
        # julianday() of a date is its Julian day at midnight, 1970-01-01 being 2440587.5.
        return f"CAST(julianday({sql}) - 2440587.5 AS INTEGER)", params

    def as_sql(self, compiler, connection, **extra_context):
        raise NotSupportedError(f"LocalDayNumber is written for PostgreSQL and SQLite, not {connection.vendor}.")


class AddDays(Func):
    """A date plus a whole number of days taken from a column, on both
    databases (Django adds only fixed durations to a date)."""

    output_field = DateField()

    def as_postgresql(self, compiler, connection, **extra_context):
        (date_sql, date_params), (days_sql, days_params) = (compiler.compile(e) for e in self.source_expressions)
        return f"({date_sql} + {days_sql})", [*date_params, *days_params]

    def as_sqlite(self, compiler, connection, **extra_context):
        (date_sql, date_params), (days_sql, days_params) = (compiler.compile(e) for e in self.source_expressions)
        return f"date({date_sql}, '+' || ({days_sql}) || ' days')", [*date_params, *days_params]

    def as_sql(self, compiler, connection, **extra_context):
        raise NotSupportedError(f"AddDays is written for PostgreSQL and SQLite, not {connection.vendor}.")


def count_up_to(queryset: QuerySet, limit: int) -> int:
    """How many rows `queryset` has, counted to `limit + 1` at most: one query
    reading no more rows than that, whatever the table's size. A result over
    `limit` means "more than `limit`" (a chain's backlog, a big table's list)."""
    return queryset.order_by().values("pk")[: limit + 1].count()


def attach_related(rows, queryset: QuerySet, *paths: str) -> None:
    """Set on each row the objects of `queryset` that `paths` name
    ("handled_by", "session.practitioner": a foreign key, through relations
    already loaded), read in one query for every path. A list that joins the
    user table once per path, and small tables beside, is slow to plan: the
    call list's page took 16 ms of planning for 1 ms of work."""
    wanted = []
    for row in rows:
        for path in paths:
            *hops, field = path.split(".")
            owner = row
            for hop in hops:
                owner = getattr(owner, hop)
                if owner is None:
                    break
            else:
                if (pk := getattr(owner, f"{field}_id")) is not None:
                    wanted.append((owner, field, pk))
    found = queryset.in_bulk({pk for _, _, pk in wanted}) if wanted else {}
    for owner, field, pk in wanted:
        setattr(owner, field, found[pk])
