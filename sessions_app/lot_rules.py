"""May this lot be recorded as injected in this session? The one rule, in plain values.

The session record form shows its answers beside the lots field, and the
records service asks it again before it writes anything. Nothing here touches
the ORM.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass


def lot_expired(expiry_date: dt.date, day: dt.date) -> bool:
    """A lot may be used up to and including its expiry date."""
    return day > expiry_date


@dataclass(frozen=True)
class LotFacts:
    """What the rule needs to know of a lot."""

    lot_number: str
    product_id: int
    product_name: str
    expiry_date: dt.date
    substances: Mapping[int, str]  # substance id -> name
    received_on: dt.date | None = None


def lot_refusals(
    lot: LotFacts,
    *,
    session_day: dt.date,
    mixture_product_ids: Collection[int],
    allergy_ids: Collection[int],
) -> list[str]:
    """Every reason the lot cannot be recorded, each a sentence for the
    practitioner; empty when it can."""
    label = f"{lot.product_name} lot {lot.lot_number}"
    reasons = []
    if lot.product_id not in mixture_product_ids:
        reasons.append(f"{label} is not a product of this plan's mixture.")
    if lot.received_on and lot.received_on > session_day:
        reasons.append(
            f"{label} was received on {lot.received_on:%d/%m/%Y}, after the session ({session_day:%d/%m/%Y})."
        )
    if lot_expired(lot.expiry_date, session_day):
        reasons.append(f"{label} expired on {lot.expiry_date:%d/%m/%Y}, before the session ({session_day:%d/%m/%Y}).")
    allergens = sorted(name for pk, name in lot.substances.items() if pk in allergy_ids)
    if allergens:
        reasons.append(f"{label} contains {', '.join(allergens)}, to which the client is allergic.")
    return reasons


@dataclass(frozen=True)
class OfferedLot:
    """A lot the rule does not refuse, and when it was last recorded in the
    clinic (the id of its latest injection link, None if never)."""

    lot_id: int
    product_id: int
    expiry_date: dt.date
    last_recorded: int | None = None


def lots_in_use(offered: Iterable[OfferedLot]) -> dict[int, int]:
    """The lot each product's choice starts on, by product id: of the lots
    offered (those the rule does not refuse for this client and day), the one
    most recently recorded in the clinic, the vial on the trolley; else the
    first to expire."""
    best: dict[int, OfferedLot] = {}

    def rank(lot: OfferedLot) -> tuple:
        # Recorded lots first, the latest first; then the first to expire.
        return (lot.last_recorded is None, -(lot.last_recorded or 0), lot.expiry_date, lot.lot_id)

    for lot in offered:
        if lot.product_id not in best or rank(lot) < rank(best[lot.product_id]):
            best[lot.product_id] = lot
    return {product: lot.lot_id for product, lot in best.items()}
