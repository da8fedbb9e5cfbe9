"""The lot rule in plain values: which lots a session record may name."""

import datetime as dt

from sessions_app.lot_rules import LotFacts, lot_expired, lot_refusals

DAY = dt.date(2026, 11, 23)
HYALURONIC, LIDOCAINE = 1, 2


def lot(**changes) -> LotFacts:
    facts = {
        "lot_number": "A123",
        "product_id": 10,
        "product_name": "Hyalu Meso 1%",
        "expiry_date": dt.date(2027, 6, 30),
        "substances": {HYALURONIC: "Hyaluronic acid"},
    }
    return LotFacts(**(facts | changes))


def refusals(facts: LotFacts, *, day=DAY, products=(10, 11), allergies=()) -> list[str]:
    return lot_refusals(facts, session_day=day, mixture_product_ids=products, allergy_ids=allergies)


def test_a_lot_of_the_mixture_in_date_and_without_allergen_is_accepted():
    assert refusals(lot()) == []


def test_a_lot_of_another_product_is_refused_by_name():
    [reason] = refusals(lot(product_id=99, product_name="Lipo PC"))
    assert reason == "Lipo PC lot A123 is not a product of this plan's mixture."


def test_a_lot_may_be_used_on_its_expiry_date_but_not_the_day_after():
    assert refusals(lot(expiry_date=DAY)) == []
    [reason] = refusals(lot(expiry_date=DAY - dt.timedelta(days=1)))
    assert "expired on 22/11/2026, before the session (23/11/2026)" in reason
    assert not lot_expired(DAY, DAY) and lot_expired(DAY, DAY + dt.timedelta(days=1))


def test_expiry_is_judged_on_the_session_day_not_today():
    # Recorded late: the lot was in date when it was injected.
    assert refusals(lot(expiry_date=dt.date(2026, 11, 1)), day=dt.date(2026, 10, 30)) == []


def test_a_lot_containing_a_substance_the_client_is_allergic_to_is_refused():
    facts = lot(substances={HYALURONIC: "Hyaluronic acid", LIDOCAINE: "Lidocaine"})
    [reason] = refusals(facts, allergies={LIDOCAINE, 77})
    assert reason == "Hyalu Meso 1% lot A123 contains Lidocaine, to which the client is allergic."


def test_every_reason_is_given_at_once():
    facts = lot(product_id=99, expiry_date=dt.date(2020, 1, 1))
    assert len(refusals(facts, allergies={HYALURONIC})) == 3


def test_a_lot_received_after_the_session_was_not_injected_in_it():
    received = DAY + dt.timedelta(days=3)
    [reason] = refusals(lot(received_on=received))
    assert reason == "Hyalu Meso 1% lot A123 was received on 26/11/2026, after the session (23/11/2026)."
    assert refusals(lot(received_on=DAY)) == []


def test_each_product_starts_on_the_lot_last_recorded_else_the_first_to_expire():
    from sessions_app.lot_rules import OfferedLot, lots_in_use

    offered = [
        OfferedLot(1, 10, dt.date(2027, 1, 1), last_recorded=5),
        OfferedLot(2, 10, dt.date(2026, 12, 1), last_recorded=9),  # the vial opened last
        OfferedLot(3, 10, dt.date(2026, 12, 5)),
        OfferedLot(4, 11, dt.date(2027, 3, 1)),
        OfferedLot(5, 11, dt.date(2027, 2, 1)),  # never used: the first to expire
    ]
    assert lots_in_use(offered) == {10: 2, 11: 5}
    assert lots_in_use([]) == {}
