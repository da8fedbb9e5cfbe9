"""Do this depth, technique and needle fit together? The one rule, in plain values.

Mesotherapy is "little, rarely, in the right place": each depth is reached
with needles of a certain length, and each technique works at certain depths.
A combination that does not fit is flagged before a record is signed (the
record form shows it beside the area; signing is still the practitioner's
call) and refused in a protocol. A needle over 13 mm is refused everywhere
by the database (models.records.NEEDLE_MAX_MM). Nothing here touches the ORM.
"""

from __future__ import annotations

from decimal import Decimal

# The longest needle that fits each depth, in mm. An epidermal injection with a
# long needle goes deeper than meant; a 4 mm needle reaches the epidermis held
# at an angle, as in nappage.
NEEDLE_MAX_FOR_DEPTH = {
    "epidermal": Decimal("4"),
    "dej": Decimal("4"),
    "superficial_dermis": Decimal("6"),
    "deep_dermis": Decimal("13"),
}
# The depths each technique works at; a technique not named works at any.
TECHNIQUE_DEPTHS = {
    "nappage": {"epidermal", "dej", "superficial_dermis"},
    "papules": {"dej", "superficial_dermis"},
    "roller": {"epidermal", "dej"},
}
# Roller needles are short: microneedles.
ROLLER_NEEDLE_MAX = Decimal("2.5")

DEPTH_LABELS = {
    "epidermal": "epidermal",
    "dej": "dermo-epidermal junction",
    "superficial_dermis": "superficial dermis",
    "deep_dermis": "deeper dermis",
}
TECHNIQUE_LABELS = {
    "point_by_point": "Point by point",
    "papules": "Papules",
    "nappage": "Nappage",
    "injector_gun": "Injector gun",
    "roller": "A roller",
}


def _mm(value: Decimal) -> str:
    return f"{value.normalize():f} mm"


def misfits(*, depth: str, technique: str, needle_length_mm: Decimal) -> list[str]:
    """Every way the combination does not fit, each a sentence; empty when it fits."""
    problems = []
    longest = NEEDLE_MAX_FOR_DEPTH.get(depth)
    if longest is not None and needle_length_mm > longest:
        problems.append(
            f"A {_mm(needle_length_mm)} needle at the {DEPTH_LABELS[depth]} depth: "
            f"that depth takes {_mm(longest)} at most."
        )
    depths = TECHNIQUE_DEPTHS.get(technique)
    if depths is not None and depth not in depths:
        where = [DEPTH_LABELS[d] for d in DEPTH_LABELS if d in depths]
        listed = ", ".join(where[:-1]) + " or " + where[-1] if len(where) > 1 else where[0]
        problems.append(f"{TECHNIQUE_LABELS[technique]} is for the {listed} depth, not the {DEPTH_LABELS[depth]}.")
    if technique == "roller" and needle_length_mm > ROLLER_NEEDLE_MAX:
        problems.append(f"A roller's needles are {_mm(ROLLER_NEEDLE_MAX)} at most, not {_mm(needle_length_mm)}.")
    return problems
