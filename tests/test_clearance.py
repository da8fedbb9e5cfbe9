"""The rule that decides whether a client may be treated: plain values, no database."""

import datetime as dt

import pytest

from sessions_app.clearance import Answer, Clearance, months_before, treatment_clearance

TODAY = dt.date(2026, 11, 23)
HA, LIDOCAINE = 1, 2


def verdict(**overrides):
    values = {
        "today": TODAY,
        "screened_on": dt.date(2026, 10, 1),
        "answers": [Answer("Diabetes", yes=False, absolute=False)],
        "allergy_names": {},
        "mixture_substance_ids": [HA],
        "consent_signed": True,
    }
    return treatment_clearance(**(values | overrides))


def test_a_screened_consenting_client_with_no_yes_may_be_treated():
    assert verdict().may_treat


@pytest.mark.parametrize("label", ["Pregnant or breastfeeding", "Active skin infection in the area"])
def test_an_absolute_yes_blocks_treatment_even_with_a_judgement(label):
    result = verdict(answers=[Answer(label, yes=True, absolute=True, judgement="Seems fine")])
    assert result.clearance == Clearance.BLOCKED
    assert label in result.reasons[0]


def test_an_allergy_on_record_to_a_substance_of_the_mixture_blocks_treatment():
    result = verdict(allergy_names={LIDOCAINE: "Lidocaine"}, mixture_substance_ids=[HA, LIDOCAINE])
    assert result.clearance == Clearance.BLOCKED
    assert "Lidocaine" in result.reasons[0]


def test_an_allergy_to_a_substance_not_in_the_mixture_does_not_block():
    assert verdict(allergy_names={LIDOCAINE: "Lidocaine"}, mixture_substance_ids=[HA]).may_treat


def test_an_allergy_blocks_even_without_a_screening():
    result = verdict(screened_on=None, answers=[], allergy_names={HA: "Hyaluronic acid"})
    assert result.clearance == Clearance.BLOCKED


def test_a_relative_yes_needs_a_recorded_judgement():
    unjudged = verdict(answers=[Answer("Anticoagulant therapy", yes=True, absolute=False, judgement="  ")])
    assert unjudged.clearance == Clearance.NEEDS_JUDGEMENT
    judged = verdict(answers=[Answer("Anticoagulant therapy", yes=True, absolute=False, judgement="INR stable")])
    assert judged.may_treat


def test_no_screening_must_be_done_first():
    assert verdict(screened_on=None, answers=[]).clearance == Clearance.NEEDS_SCREENING


@pytest.mark.parametrize(
    ("screened_on", "clearance"),
    [
        (dt.date(2025, 11, 24), Clearance.CLEAR),  # one day short of 12 months
        (dt.date(2025, 11, 23), Clearance.NEEDS_SCREENING),  # 12 months to the day
        (dt.date(2024, 6, 1), Clearance.NEEDS_SCREENING),
    ],
)
def test_a_screening_older_than_the_allowed_age_must_be_renewed(screened_on, clearance):
    assert verdict(screened_on=screened_on).clearance == clearance


def test_the_allowed_age_is_configurable():
    assert verdict(screened_on=dt.date(2026, 5, 1), max_screening_age_months=6).clearance == Clearance.NEEDS_SCREENING
    assert verdict(screened_on=dt.date(2026, 5, 1), max_screening_age_months=12).may_treat


def test_without_a_signature_to_the_current_consent_text_consent_is_needed():
    assert verdict(consent_signed=False).clearance == Clearance.NEEDS_CONSENT


def test_a_block_outranks_an_expired_screening_and_a_missing_consent():
    result = verdict(
        screened_on=dt.date(2020, 1, 1),
        consent_signed=False,
        answers=[Answer("Pregnant or breastfeeding", yes=True, absolute=True)],
    )
    assert result.clearance == Clearance.BLOCKED


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (dt.date(2026, 3, 31), 1, dt.date(2026, 2, 28)),
        (dt.date(2024, 2, 29), 12, dt.date(2023, 2, 28)),
        (dt.date(2026, 1, 15), 12, dt.date(2025, 1, 15)),
    ],
)
def test_months_before_clamps_to_the_end_of_a_shorter_month(day, months, expected):
    assert months_before(day, months) == expected
