"""Loads the dose ledger's inputs (sessions_app.ledger) for one session: five
queries, whatever the length of the client's history."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING

from django.utils import timezone

from sessions_app.clearance import months_before
from sessions_app.ledger import LEDGER_MONTHS, AreaDose, Ledger, SubstanceInfo, dose_ledger
from sessions_app.models import (
    Injection,
    InjectionQuantity,
    MixtureComponent,
    ProductSubstance,
    SessionStatus,
    TreatmentSession,
    Unit,
)

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
    rows = list(
        Injection.objects.filter(
            session__plan__client_id=plan.client_id,
            session__starts_at__gte=_start_of(since),
            session__starts_at__lt=_start_of(day + dt.timedelta(days=1)),
        )
        .filter(session__status=SessionStatus.COMPLETED)
        .values_list("pk", "session_id", "session__starts_at", "volume_ml", "session__plan__mixture_id")
    )
    if current is not None:
        rows = [row for row in rows if row[1] != session.pk]
    ids = [row[0] for row in rows]
    products: dict[int, set[int]] = defaultdict(set)
    for injection_id, product_id in Injection.lots.through.objects.filter(injection_id__in=ids).values_list(
        "injection_id", "productlot__product_id"
    ):
        products[injection_id].add(product_id)
    quantities: dict[int, dict[int, Decimal]] = defaultdict(dict)
    for injection_id, product_id, ml in InjectionQuantity.objects.filter(injection_id__in=ids).values_list(
        "injection_id", "product_id", "quantity_ml"
    ):
        quantities[injection_id][product_id] = ml

    current_areas = []
    for item in current or ():
        current_areas.append((tuple({lot.product_id for lot in item.lots}), item.volume_ml, dict(item.quantities)))
    mixtures = {row[4] for row in rows} | {plan.mixture_id}
    recipes: dict[int, dict[int, Decimal]] = defaultdict(dict)
    for mixture_id, product_id, amount in MixtureComponent.objects.filter(
        mixture_id__in=mixtures, unit=Unit.ML
    ).values_list("mixture_id", "product_id", "amount"):
        recipes[mixture_id][product_id] = amount

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
    substances named, and the products' names: one query."""
    contents: dict[int, dict[int, Decimal | None]] = defaultdict(dict)
    substances: dict[int, SubstanceInfo] = {}
    names: dict[int, str] = {}
    rows = ProductSubstance.objects.filter(product_id__in=list(product_ids)).values_list(
        "product_id",
        "product__name",
        "substance_id",
        "substance__name",
        "substance__unit",
        "substance__ceiling_per_session",
        "substance__ceiling_per_12_months",
        "amount_per_ml",
    )
    for product_id, product, substance_id, name, unit, per_session, per_year, amount in rows:
        contents[product_id][substance_id] = amount
        substances[substance_id] = SubstanceInfo(substance_id, name, unit, per_session, per_year)
        names[product_id] = product
    return contents, substances, names
