"""Helpers for the few reads written in plain SQL, where the ORM's own work
(building the query, compiling it, binding a long list of ids one by one)
took several times the database's: the permissions every page reads
(roles.py), the side-effect signal's counts, the screening facts that the
treatment rule and the alerts read for every session of a schedule.

Names come from the models, so a renamed table or column is followed; what
differs between PostgreSQL and SQLite (a list of ids as one parameter, the
types a row comes back in) is decided here."""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Callable, Collection

from django.db import connection


def table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def column(model, field: str) -> str:
    return connection.ops.quote_name(model._meta.get_field(field).column)


def among(expression: str, values: Collection) -> tuple[str, list]:
    """`expression` is one of `values`, as SQL and its parameters. PostgreSQL
    takes the list as one array parameter (`= ANY(%s)`), bound once whatever
    its length; SQLite, which has no arrays, one placeholder a value. An
    empty list matches nothing."""
    values = list(values)
    if not values:
        return "1 = 0", []
    if connection.vendor == "postgresql":
        return f"{expression} = ANY(%s)", [values]
    return f"{expression} IN ({', '.join(['%s'] * len(values))})", values


def linked(through, owner: str, target: str, owner_ids: Collection[int]) -> tuple[str, list]:
    """The rows of a many-to-many table (`through`) for these owners, each
    with its target's name, by that name: owner id, target id, name (a
    client's allergies, a plan's or a screening answer's areas)."""
    model = through._meta.get_field(target).related_model
    owner_id, target_id, name = column(through, owner), column(through, target), column(model, "name")
    matched, params = among(f"l.{owner_id}", owner_ids)
    sql = (
        f"SELECT l.{owner_id}, l.{target_id}, t.{name} FROM {table(through)} l"
        f" JOIN {table(model)} t ON t.{column(model, 'id')} = l.{target_id} WHERE {matched} ORDER BY t.{name}"
    )
    return sql, params


def aware(value: dt.datetime | None) -> dt.datetime | None:
    """A datetime column's value as the ORM gives it: SQLite's comes back
    naive, in UTC (Django stores it so); PostgreSQL's already aware."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


def decimal_of(model, field: str) -> Callable[[object], decimal.Decimal | None]:
    """A decimal column's value as the ORM gives it: PostgreSQL's numeric
    comes back a Decimal; SQLite's a float (or an int), turned into a Decimal
    the way Django's SQLite backend does (15 digits, then the field's places)."""
    places = model._meta.get_field(field)
    quantum = decimal.Decimal(1).scaleb(-places.decimal_places)
    create = decimal.Context(prec=15).create_decimal_from_float

    def convert(value):
        if value is None or isinstance(value, decimal.Decimal):
            return value
        return create(value).quantize(quantum, context=places.context)

    return convert


def moment(value: dt.datetime) -> dt.datetime | str:
    """A datetime as a parameter, as the ORM passes it: SQLite stores times as
    text in UTC, so an aware datetime is turned into that text (given as it
    is, it would compare as text with its offset); PostgreSQL takes it as it is."""
    return connection.ops.adapt_datetimefield_value(value)
