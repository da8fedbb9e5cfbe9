"""The rule that decides whether a client may be treated: plain values, no database.

Each case of the screening: a yes that rules treatment out; one that calls for
caution, with and without a physician's judgement; one in the area to be
treated, for this plan's areas and for others; one that concerns an
indication (severe obesity, for fat reduction) only."""

import datetime as dt

import pytest

from sessions_app.clearance import (
    ABSOLUTE,
    CAUTION,
    FAT_REDUCTION_QUESTIONS,
    IN_AREA,
    INDICATION,
    QUESTION_SEVERITY,
    Answer,
    Clearance,
    indication_questions,
    months_before,
    questions_unanswered,
    screening_runs_out_on,
    screening_stale,
    treatment_clearance,
)

TODAY = dt.date(2026, 11, 23)
HA, LIDOCAINE = 1, 2
FACE, THIGHS, ABDOMEN = 10, 11, 12
OBESITY = {"severe_obesity": "Severe obesity"}


def verdict(**overrides):
    values = {
        "today": TODAY,
        "screened_on": dt.date(2026, 10, 1),
        "answers": [Answer("Diabetes", yes=False, severity=CAUTION, question="diabetes")],
        "allergy_names": {},
        "mixture_substance_ids": [HA],
        "consent_signed": True,
        "plan_areas": {FACE: "Face"},
    }
    return treatment_clearance(**(values | overrides))


def test_a_screened_consenting_client_with_no_yes_may_be_treated():
    assert verdict().may_treat


@pytest.mark.parametrize("label", ["Pregnant or breastfeeding", "Autoimmune disease"])
def test_a_yes_that_rules_treatment_out_blocks_it_even_with_a_judgement(label):
    judged = Answer(label, yes=True, severity=ABSOLUTE, judgement="Seems fine", judged_by_physician=True)
    result = verdict(answers=[judged])
    assert result.clearance == Clearance.BLOCKED
    assert result.reasons == (f"{label}: an absolute contraindication.",)


def test_an_allergy_on_record_to_a_substance_of_the_mixture_blocks_treatment():
    result = verdict(allergy_names={LIDOCAINE: "Lidocaine"}, mixture_substance_ids=[HA, LIDOCAINE])
    assert result.clearance == Clearance.BLOCKED
    assert "Lidocaine" in result.reasons[0]


def test_an_allergy_to_a_substance_not_in_the_mixture_does_not_block():
    assert verdict(allergy_names={LIDOCAINE: "Lidocaine"}, mixture_substance_ids=[HA]).may_treat


def test_an_allergy_blocks_even_without_a_screening():
    result = verdict(screened_on=None, answers=[], allergy_names={HA: "Hyaluronic acid"})
    assert result.clearance == Clearance.BLOCKED


# --- Calls for caution: only a physician's judgement clears it -------------------


def caution(**fields) -> Answer:
    return Answer("Anticoagulant therapy", yes=True, severity=CAUTION, question="bleeding", **fields)


def test_a_yes_that_calls_for_caution_without_a_judgement_waits_for_one():
    result = verdict(answers=[caution(judgement="  ")])
    assert result.clearance == Clearance.NEEDS_JUDGEMENT
    assert result.reasons == ("Anticoagulant therapy: needs a physician's recorded judgement.",)


def test_a_physicians_judgement_clears_a_yes_that_calls_for_caution():
    assert verdict(answers=[caution(judgement="INR stable", judged_by_physician=True)]).may_treat


def test_a_judgement_by_someone_who_is_not_a_physician_does_not_clear_it():
    result = verdict(answers=[caution(judgement="INR stable", judged_by_physician=False)])
    assert result.clearance == Clearance.NEEDS_JUDGEMENT
    assert "not a physician's" in result.reasons[0]


# --- In the area to be treated ------------------------------------------------------


def infection(*areas) -> Answer:
    names = {FACE: "Face", THIGHS: "Thighs", ABDOMEN: "Abdomen"}
    return Answer(
        "Active skin infection",
        yes=True,
        severity=IN_AREA,
        question="skin_infection",
        areas=tuple((pk, names[pk]) for pk in areas),
    )


def test_a_condition_in_an_area_the_plan_treats_blocks_it():
    result = verdict(answers=[infection(THIGHS, FACE)], plan_areas={FACE: "Face", ABDOMEN: "Abdomen"})
    assert result.clearance == Clearance.BLOCKED
    assert result.reasons == ("Active skin infection: Face, which this plan treats.",)


def test_a_condition_in_other_areas_does_not_block_this_plan():
    assert verdict(answers=[infection(THIGHS)], plan_areas={FACE: "Face", ABDOMEN: "Abdomen"}).may_treat


def test_an_answer_from_before_areas_were_asked_keeps_its_absolute_meaning():
    # A yes recorded as absolute, with no areas: it blocks every plan, as it did.
    old = Answer("Active skin infection in the area", yes=True, severity=ABSOLUTE, question="skin_infection")
    assert verdict(answers=[old], plan_areas={ABDOMEN: "Abdomen"}).clearance == Clearance.BLOCKED


def test_a_relative_answer_from_before_needs_a_physicians_judgement_in_any_area():
    old = Answer("Severe chronic skin condition or severe acne in the area", yes=True, severity=CAUTION)
    assert verdict(answers=[old]).clearance == Clearance.NEEDS_JUDGEMENT


# --- Questions for one indication only ----------------------------------------------


def obesity(yes: bool) -> Answer:
    return Answer("Severe obesity", yes=yes, severity=INDICATION, question="severe_obesity")


def test_severe_obesity_rules_out_a_plan_of_fat_reduction():
    result = verdict(answers=[obesity(True)], asked_for_plan=OBESITY)
    assert result.clearance == Clearance.BLOCKED
    assert result.reasons == ("Severe obesity: rules out this plan's indication.",)


def test_severe_obesity_does_not_concern_another_indication():
    assert verdict(answers=[obesity(True)]).may_treat


def test_a_plan_of_fat_reduction_needs_the_question_asked():
    result = verdict(answers=[], asked_for_plan=OBESITY)
    assert result.clearance == Clearance.NEEDS_SCREENING
    assert "Severe obesity: not asked" in result.reasons[0]
    assert verdict(answers=[obesity(False)], asked_for_plan=OBESITY).may_treat


def test_only_fat_reduction_asks_the_indication_questions():
    assert indication_questions(reduces_fat=True) == FAT_REDUCTION_QUESTIONS == {"severe_obesity"}
    assert indication_questions(reduces_fat=False) == frozenset()
    assert {q for q, s in QUESTION_SEVERITY.items() if s == INDICATION} == FAT_REDUCTION_QUESTIONS


def test_a_screening_must_answer_every_question_but_those_of_other_indications():
    every = set(QUESTION_SEVERITY)
    assert questions_unanswered(every - {"severe_obesity"}) == []
    assert questions_unanswered(every - {"severe_obesity"}, required_extra=FAT_REDUCTION_QUESTIONS) == [
        "severe_obesity"
    ]
    assert questions_unanswered({"pregnancy"})[:2] == ["autoimmune", "allergy"]


def test_the_conditions_the_seeds_name_as_calling_for_caution_are_those_a_physician_clears():
    called = {q for q, s in QUESTION_SEVERITY.items() if s == CAUTION}
    assert called == {"diabetes", "liver_kidney", "cardiovascular", "bleeding", "keloid", "immunosuppressed"}
    assert {q for q, s in QUESTION_SEVERITY.items() if s == IN_AREA} == {"skin_infection", "skin_condition"}


# --- Screening age, consent, order ----------------------------------------------------


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


@pytest.mark.parametrize(
    "screened_on", [dt.date(2025, 11, 24), dt.date(2024, 2, 29), dt.date(2026, 1, 31), dt.date(2026, 3, 31)]
)
@pytest.mark.parametrize("months", [1, 6, 12])
def test_a_screening_runs_out_on_the_first_day_the_rule_calls_it_stale(screened_on, months):
    last = screening_runs_out_on(screened_on, months)
    assert screening_stale(screened_on, last, months)
    assert not screening_stale(screened_on, last - dt.timedelta(days=1), months)


def test_the_allowed_age_is_configurable():
    assert verdict(screened_on=dt.date(2026, 5, 1), max_screening_age_months=6).clearance == Clearance.NEEDS_SCREENING
    assert verdict(screened_on=dt.date(2026, 5, 1), max_screening_age_months=12).may_treat


def test_without_a_signature_to_the_current_consent_text_consent_is_needed():
    assert verdict(consent_signed=False).clearance == Clearance.NEEDS_CONSENT


def test_a_block_outranks_an_expired_screening_and_a_missing_consent():
    result = verdict(
        screened_on=dt.date(2020, 1, 1),
        consent_signed=False,
        answers=[Answer("Pregnant or breastfeeding", yes=True, severity=ABSOLUTE)],
    )
    assert result.clearance == Clearance.BLOCKED


def test_a_missing_judgement_outranks_a_missing_consent():
    assert verdict(answers=[caution()], consent_signed=False).clearance == Clearance.NEEDS_JUDGEMENT


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
