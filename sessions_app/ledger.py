"""How much of each substance a client received: the dose ledger, in plain values.

An area's volume is a mixture: each product's part is what the practitioner
wrote down for it, or else its share of the rest of the volume by the
mixture's recipe. A product's part times what one ml of it holds is the
substance received. The record page shows the totals of the session and of
the 12 months up to it; a substance's optional ceilings (per session, per 12
months) turn a total past them into a warning the practitioner decides on
before signing (services.records keeps the decision with the record).
`sessions_app.services.ledger` loads the inputs. Nothing here touches the ORM.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from sessions_app.clearance import months_before

LEDGER_MONTHS = 12
SESSION, TWELVE_MONTHS = "session", "12_months"
PERIOD_WORDS = {SESSION: "in this session", TWELVE_MONTHS: "over 12 months"}


@dataclass(frozen=True)
class SubstanceInfo:
    id: int
    name: str
    unit: str
    ceiling_per_session: Decimal | None = None
    ceiling_per_12_months: Decimal | None = None


@dataclass(frozen=True)
class AreaDose:
    """What one area of one session received, as the ledger reads it."""

    session_id: int
    day: dt.date
    volume_ml: Decimal
    products: tuple[int, ...]  # the products whose lots were recorded in the area
    quantities: Mapping[int, Decimal] = field(default_factory=dict)  # ml of a product, when written down
    recipe: Mapping[int, Decimal] = field(default_factory=dict)  # the mixture's ml of each product


def product_volumes(area: AreaDose) -> dict[int, Decimal | None]:
    """The ml of each product in the area: the quantity written down, else its
    share, by the recipe, of the volume the written quantities leave; None
    when neither is known (a product the recipe does not give in ml)."""
    volumes: dict[int, Decimal | None] = dict(area.quantities)
    rest = [p for p in area.products if p not in volumes]
    left = max(area.volume_ml - sum(area.quantities.values(), Decimal(0)), Decimal(0))
    weights = {p: area.recipe[p] for p in rest if area.recipe.get(p)}
    total = sum(weights.values(), Decimal(0))
    for product in rest:
        volumes[product] = left * weights[product] / total if product in weights else None
    return volumes


@dataclass
class Line:
    """One substance: received in this session, over the 12 months up to and
    including it, and in each session of those months. `incomplete` says some
    part could not be counted (a product's share or content not known): the
    totals are then at least these."""

    substance: SubstanceInfo
    this_session: Decimal = Decimal(0)
    twelve_months: Decimal = Decimal(0)
    per_session: dict[int, Decimal] = field(default_factory=dict)
    incomplete: bool = False

    @property
    def past_a_ceiling(self) -> bool:
        s = self.substance
        return (s.ceiling_per_session is not None and self.this_session > s.ceiling_per_session) or (
            s.ceiling_per_12_months is not None and self.twelve_months > s.ceiling_per_12_months
        )


@dataclass(frozen=True)
class CeilingWarning:
    substance: SubstanceInfo
    period: str  # SESSION or TWELVE_MONTHS
    total: Decimal
    ceiling: Decimal

    @property
    def message(self) -> str:
        unit = self.substance.unit
        return (
            f"{self.substance.name}: {_amount(self.total)} {unit} {PERIOD_WORDS[self.period]}, "
            f"past the clinic's ceiling of {_amount(self.ceiling)} {unit}."
        )


@dataclass
class Ledger:
    day: dt.date
    lines: list[Line]
    sessions: list[tuple[int, dt.date]]  # the sessions of the 12 months, oldest first (this one last)
    uncounted: list[str] = field(default_factory=list)  # why some parts are not counted, one sentence each

    def warnings(self) -> list[CeilingWarning]:
        """Every ceiling the session or the 12 months go past (Line.past_a_ceiling, one by one)."""
        found = []
        for line in self.lines:
            s = line.substance
            if s.ceiling_per_session is not None and line.this_session > s.ceiling_per_session:
                found.append(CeilingWarning(s, SESSION, line.this_session, s.ceiling_per_session))
            if s.ceiling_per_12_months is not None and line.twelve_months > s.ceiling_per_12_months:
                found.append(CeilingWarning(s, TWELVE_MONTHS, line.twelve_months, s.ceiling_per_12_months))
        return found


def _amount(value: Decimal) -> str:
    rounded = value.quantize(Decimal("0.1")) if value >= 10 else value.quantize(Decimal("0.01"))
    return f"{rounded.normalize():f}"


def dose_ledger(
    *,
    day: dt.date,
    session_id: int,
    this_session: Iterable[AreaDose],
    earlier: Iterable[AreaDose],
    contents: Mapping[int, Mapping[int, Decimal | None]],
    substances: Mapping[int, SubstanceInfo],
    product_names: Mapping[int, str] | None = None,
) -> Ledger:
    """The ledger of the session on `day`: `this_session`'s areas, and those of
    `earlier` sessions in the 12 months before it (later ones and this
    session's own rows are left out). `contents` is product -> substance ->
    amount per ml (None: not known)."""
    product_names = product_names or {}
    since = months_before(day, LEDGER_MONTHS)
    areas = [a for a in earlier if since < a.day <= day and a.session_id != session_id]
    areas += [AreaDose(session_id, day, a.volume_ml, a.products, a.quantities, a.recipe) for a in this_session]
    lines: dict[int, Line] = {}
    uncounted: set[str] = set()
    for area in areas:
        for product, ml in product_volumes(area).items():
            held = contents.get(product, {})
            name = product_names.get(product, "A product")
            if ml is None and held:
                uncounted.add(f"{name}: its part of the volume is not known (write its quantity down).")
            for substance_id, per_ml in held.items():
                line = lines.setdefault(substance_id, Line(substances[substance_id]))
                if ml is None or per_ml is None:
                    line.incomplete = True
                    if per_ml is None:
                        uncounted.add(f"{name}: how much {substances[substance_id].name} one ml holds is not known.")
                    continue
                amount = ml * per_ml
                line.twelve_months += amount
                line.per_session[area.session_id] = line.per_session.get(area.session_id, Decimal(0)) + amount
                if area.session_id == session_id:
                    line.this_session += amount
    days: dict[int, dt.date] = defaultdict(lambda: day)
    for area in areas:
        days[area.session_id] = area.day
    order = sorted(days.items(), key=lambda item: (item[1], item[0] == session_id, item[0]))
    return Ledger(
        day=day,
        lines=sorted(lines.values(), key=lambda line: line.substance.name),
        sessions=order,
        uncounted=sorted(uncounted),
    )
