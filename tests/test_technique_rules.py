"""Which depth, technique and needle fit together: plain values, no database."""

from decimal import Decimal

import pytest

from sessions_app.technique_rules import misfits


def test_the_protocol_combinations_fit():
    assert misfits(depth="superficial_dermis", technique="nappage", needle_length_mm=Decimal("4")) == []
    assert misfits(depth="deep_dermis", technique="point_by_point", needle_length_mm=Decimal("6")) == []
    assert misfits(depth="dej", technique="papules", needle_length_mm=Decimal("4")) == []


def test_an_epidermal_injection_with_a_long_needle_is_flagged():
    assert misfits(depth="epidermal", technique="point_by_point", needle_length_mm=Decimal("13")) == [
        "A 13 mm needle at the epidermal depth: that depth takes 4 mm at most."
    ]
    assert misfits(depth="epidermal", technique="point_by_point", needle_length_mm=Decimal("4")) == []


@pytest.mark.parametrize(
    ("depth", "technique", "needle", "words"),
    [
        ("deep_dermis", "nappage", "4", "Nappage is for the epidermal, dermo-epidermal junction or superficial dermis"),
        ("epidermal", "papules", "4", "Papules is for the dermo-epidermal junction or superficial dermis depth"),
        ("superficial_dermis", "roller", "1.5", "A roller is for the epidermal or dermo-epidermal junction depth"),
        ("epidermal", "roller", "3", "A roller's needles are 2.5 mm at most, not 3 mm."),
        ("superficial_dermis", "injector_gun", "8", "A 8 mm needle at the superficial dermis depth"),
    ],
)
def test_each_misfit_is_named(depth, technique, needle, words):
    assert any(
        words in problem for problem in misfits(depth=depth, technique=technique, needle_length_mm=Decimal(needle))
    )
