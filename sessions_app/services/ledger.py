"""Loads the dose ledger's inputs (sessions_app.ledger) for one session: five
queries, whatever the length of the client's history, in plain SQL."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db import connection
from django.utils import timezone

from sessions_app.clearance import months_before
from sessions_app.ledger import LEDGER_MONTHS, AreaDose, Ledger, SubstanceInfo, dose_ledger
from sessions_app.models import (
    Injection,
    InjectionQuantity,
    MixtureComponent,
    Product,
    ProductLot,
    ProductSubstance,
    SessionStatus,
    Substance,
    TreatmentPlan,
    TreatmentSession,
    Unit,
)
from sessions_app.plain_sql import among, aware, column, decimal_of, moment, table

if TYPE_CHECKING:
    from sessions_app.services.records import InjectionInput


def _start_of(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def session_ledger(session: TreatmentSession, current: Sequence[InjectionInput] | None = None) -> Ledger:
    """The client's ledger as of `session`: its areas (`current`, as the form
    has them, or else as recorded) and the signed sessions of the 12 months up
    to its day. Needs the session's `plan` loaded."""
    plan = session.plan
    day = timezone.localtime(session.starts_at).date()
    since = months_before(day, LEDGER_MONTHS) + dt.timedelta(days=1)
    volume, quantity = decimal_of(Injection, "volume_ml"), decimal_of(InjectionQuantity, "quantity_ml")
    with connection.cursor() as cursor:
        cursor.execute(*_signed_injections(plan.client_id, _start_of(since), _start_of(day + dt.timedelta(days=1))))
        rows = [(pk, sid, aware(at), volume(ml), mixture) for pk, sid, at, ml, mixture in cursor.fetchall()]
        if current is not None:
            rows = [row for row in rows if row[1] != session.pk]
        ids = [row[0] for row in rows]
        products: dict[int, set[int]] = defaultdict(set)
        quantities: dict[int, dict[int, Decimal]] = defaultdict(dict)
        if ids:
            cursor.execute(*_lot_products(ids))
            for injection_id, product_id in cursor.fetchall():
                products[injection_id].add(product_id)
            cursor.execute(*_quantities(ids))
            for injection_id, product_id, ml in cursor.fetchall():
                quantities[injection_id][product_id] = quantity(ml)

    current_areas = []
    for item in current or ():
        current_areas.append((tuple({lot.product_id for lot in item.lots}), item.volume_ml, dict(item.quantities)))
    mixtures = {row[4] for row in rows} | {plan.mixture_id}
    recipes: dict[int, dict[int, Decimal]] = defaultdict(dict)
    amount = decimal_of(MixtureComponent, "amount")
    with connection.cursor() as cursor:
        cursor.execute(*_recipes(mixtures))
        for mixture_id, product_id, ml in cursor.fetchall():
            recipes[mixture_id][product_id] = amount(ml)

    every_product = {p for found in products.values() for p in found} | {p for a in current_areas for p in a[0]}
    every_product |= {p for found in quantities.values() for p in found}
    every_product |= {p for _, _, typed in current_areas for p in typed}
    contents, substances, names = _contents(every_product)

    earlier = [
        AreaDose(
            session_id=session_id,
            day=timezone.localtime(starts_at).date(),
            volume_ml=volume,
            products=tuple(sorted(products[pk])),
            quantities=quantities[pk],
            recipe=recipes[mixture_id],
        )
        for pk, session_id, starts_at, volume, mixture_id in rows
    ]
    this = [
        AreaDose(session.pk, day, volume, found, typed, recipes[plan.mixture_id])
        for found, volume, typed in current_areas
    ]
    if current is None:
        this = [a for a in earlier if a.session_id == session.pk]
    return dose_ledger(
        day=day,
        session_id=session.pk,
        this_session=this,
        earlier=[a for a in earlier if a.session_id != session.pk],
        contents=contents,
        substances=substances,
        product_names=names,
    )


def _contents(product_ids: Iterable[int]):
    """What each product holds (product -> substance -> amount per ml), the
    substances named, and the products' names: one query (none for no product)."""
    contents: dict[int, dict[int, Decimal | None]] = defaultdict(dict)
    substances: dict[int, SubstanceInfo] = {}
    names: dict[int, str] = {}
    product_ids = list(product_ids)
    if not product_ids:
        return contents, substances, names
    per_ml = decimal_of(ProductSubstance, "amount_per_ml")
    per_session, per_year = decimal_of(Substance, "ceiling_per_session"), decimal_of(Substance, "ceiling_per_12_months")
    ps, product, substance = table(ProductSubstance), table(Product), table(Substance)
    matched, params = among(f"c.{column(ProductSubstance, 'product')}", product_ids)
    fields = ", ".join(
        [f"c.{column(ProductSubstance, 'product')}", f"p.{column(Product, 'name')}"]
        + [f"c.{column(ProductSubstance, 'substance')}"]
        + [f"s.{column(Substance, f)}" for f in ("name", "unit", "ceiling_per_session", "ceiling_per_12_months")]
        + [f"c.{column(ProductSubstance, 'amount_per_ml')}"]
    )
    sql = (
        f"SELECT {fields} FROM {ps} c"
        f" JOIN {product} p ON p.{column(Product, 'id')} = c.{column(ProductSubstance, 'product')}"
        f" JOIN {substance} s ON s.{column(Substance, 'id')} = c.{column(ProductSubstance, 'substance')}"
        f" WHERE {matched}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    for product_id, name, substance_id, substance_name, unit, session_max, year_max, amount in rows:
        contents[product_id][substance_id] = per_ml(amount)
        substances[substance_id] = SubstanceInfo(
            substance_id, substance_name, unit, per_session(session_max), per_year(year_max)
        )
        names[product_id] = name
    return contents, substances, names


# The ledger's reads, in plain SQL (sessions_app.plain_sql): the ORM's own
# work took twice the database's time on the record pages.


def _signed_injections(client_id: int, start: dt.datetime, end: dt.datetime) -> tuple[str, list]:
    """The client's injections of completed sessions begun in [start, end):
    id, session id, the session's start, volume, the plan's mixture."""
    i, t, p = table(Injection), table(TreatmentSession), table(TreatmentPlan)
    at = column(TreatmentSession, "starts_at")
    sql = (
        f"SELECT i.{column(Injection, 'id')}, i.{column(Injection, 'session')}, t.{at},"
        f" i.{column(Injection, 'volume_ml')}, p.{column(TreatmentPlan, 'mixture')} FROM {i} i"
        f" JOIN {t} t ON t.{column(TreatmentSession, 'id')} = i.{column(Injection, 'session')}"
        f" JOIN {p} p ON p.{column(TreatmentPlan, 'id')} = t.{column(TreatmentSession, 'plan')}"
        f" WHERE p.{column(TreatmentPlan, 'client')} = %s AND t.{at} >= %s AND t.{at} < %s"
        f" AND t.{column(TreatmentSession, 'status')} = %s ORDER BY t.{at}, i.{column(Injection, 'id')}"
    )
    return sql, [client_id, moment(start), moment(end), SessionStatus.COMPLETED.value]


def _lot_products(injection_ids: Collection[int]) -> tuple[str, list]:
    """The product of each lot given in these injections: injection id, product id."""
    through = Injection.lots.through
    lot = column(through, "productlot")
    matched, params = among(f"l.{column(through, 'injection')}", injection_ids)
    sql = (
        f"SELECT l.{column(through, 'injection')}, pl.{column(ProductLot, 'product')} FROM {table(through)} l"
        f" JOIN {table(ProductLot)} pl ON pl.{column(ProductLot, 'id')} = l.{lot} WHERE {matched}"
    )
    return sql, params


def _quantities(injection_ids: Collection[int]) -> tuple[str, list]:
    """The quantities written down in these injections: injection id, product id, ml."""
    q = InjectionQuantity
    matched, params = among(column(q, "injection"), injection_ids)
    fields = ", ".join(column(q, f) for f in ("injection", "product", "quantity_ml"))
    return f"SELECT {fields} FROM {table(q)} WHERE {matched}", params


def _recipes(mixture_ids: Collection[int]) -> tuple[str, list]:
    """What these mixtures hold in ml: mixture id, product id, amount."""
    c = MixtureComponent
    matched, params = among(column(c, "mixture"), mixture_ids)
    fields = ", ".join(column(c, f) for f in ("mixture", "product", "amount"))
    return f"SELECT {fields} FROM {table(c)} WHERE {matched} AND {column(c, 'unit')} = %s", [*params, Unit.ML.value]
