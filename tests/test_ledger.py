"""The dose ledger in plain values: each product's part of an area's volume,
each substance's total in the session and over 12 months, and the ceilings."""

import datetime as dt
from decimal import Decimal as D

from sessions_app.ledger import AreaDose, SubstanceInfo, dose_ledger, product_volumes

DAY = dt.date(2026, 11, 23)
HYALU, REVITA, VITA_C = 1, 2, 3  # products
HA, VITC, AMINO = 10, 11, 12  # substances
RECIPE = {HYALU: D("2"), REVITA: D("3"), VITA_C: D("1")}  # the mixture: 6 ml
CONTENTS = {HYALU: {HA: D("10")}, REVITA: {HA: D("1"), AMINO: None}, VITA_C: {VITC: D("200")}}
SUBSTANCES = {
    HA: SubstanceInfo(HA, "Hyaluronic acid", "mg"),
    VITC: SubstanceInfo(VITC, "Vitamin C", "mg", ceiling_per_session=D("250"), ceiling_per_12_months=D("1000")),
    AMINO: SubstanceInfo(AMINO, "Amino acids", "mg"),
}


def area(session_id=1, day=DAY, volume="6", quantities=None, products=(HYALU, REVITA, VITA_C)):
    return AreaDose(session_id, day, D(volume), tuple(products), quantities or {}, RECIPE)


def ledger(this, earlier=()):
    return dose_ledger(
        day=DAY, session_id=1, this_session=this, earlier=earlier, contents=CONTENTS, substances=SUBSTANCES
    )


def line(result, substance):
    return next(line for line in result.lines if line.substance.id == substance)


def test_each_product_takes_its_share_of_the_volume_by_the_recipe():
    assert product_volumes(area(volume="3")) == {HYALU: D("1"), REVITA: D("1.5"), VITA_C: D("0.5")}


def test_a_quantity_written_down_is_used_and_the_rest_is_shared_by_the_recipe():
    volumes = product_volumes(area(volume="6", quantities={VITA_C: D("2")}))
    assert volumes == {VITA_C: D("2"), HYALU: D("1.6"), REVITA: D("2.4")}


def test_a_product_the_recipe_does_not_give_is_not_counted_unless_written_down():
    other = 99
    assert product_volumes(area(products=(HYALU, other)))[other] is None
    assert product_volumes(area(products=(HYALU, other), quantities={other: D("1")}))[other] == D("1")


def test_the_session_total_is_composition_times_volume_over_its_areas():
    result = ledger([area(volume="6"), area(volume="3")])
    # Hyaluronic acid: Hyalu 3 ml × 10 mg + Revita 4.5 ml × 1 mg.
    assert line(result, HA).this_session == D("34.5")
    assert line(result, VITC).this_session == D("300")  # 1.5 ml × 200 mg
    assert line(result, AMINO).incomplete  # Revita's amino acids per ml are not known
    assert "Amino acids" in " ".join(result.uncounted)


def test_twelve_months_count_the_earlier_sessions_of_the_year_only():
    earlier = [
        area(session_id=2, day=DAY - dt.timedelta(days=300), volume="3"),  # counted
        area(session_id=3, day=dt.date(2025, 11, 23), volume="3"),  # 12 months to the day: not counted
        area(session_id=4, day=DAY + dt.timedelta(days=7), volume="3"),  # after this session: not counted
        area(session_id=1, day=DAY, volume="60"),  # this session's own saved rows: the form's replace them
    ]
    result = ledger([area(volume="3")], earlier)
    vit_c = line(result, VITC)
    assert (vit_c.this_session, vit_c.twelve_months) == (D("100"), D("200"))
    assert vit_c.per_session == {2: D("100"), 1: D("100")}
    assert [session for session, _ in result.sessions] == [2, 1]


def test_a_total_past_a_ceiling_warns_and_one_at_the_ceiling_does_not():
    at_ceiling = ledger([area(volume="7.5")])  # 1.25 ml Vita C: 250 mg, the session ceiling
    assert at_ceiling.warnings() == []
    past = ledger([area(volume="9")], [area(session_id=2, day=DAY - dt.timedelta(days=30), volume="27")])
    warnings = {(w.period, w.total) for w in past.warnings()}
    assert warnings == {("session", D("300")), ("12_months", D("1200"))}
    assert past.warnings()[0].message == "Vitamin C: 300 mg in this session, past the clinic's ceiling of 250 mg."


def test_no_area_no_line():
    assert ledger([]).lines == []
