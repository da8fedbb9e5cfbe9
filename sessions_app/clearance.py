"""May this client be treated today? The one rule, in plain values.

The session form, the admin, the schedule's warning badge and the client's
alerts all ask `treatment_clearance`; `sessions_app.services.clearance` loads
its inputs from the database. Nothing here touches the ORM.

What a yes to each screening question means lives here too (QUESTION_SEVERITY):
the screening form groups the questions by it, and each answer records it when
it is given, so that an answer keeps the meaning it had that day.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

# What a yes weighs; an answer stores it (models.clients.Severity gives the labels).
ABSOLUTE = "absolute"  # rules treatment out
CAUTION = "relative"  # calls for caution: only a physician's recorded judgement clears it
IN_AREA = "in_area"  # rules treatment out in the areas the answer names
INDICATION = "indication"  # rules out the indications it concerns; asked only for those

QUESTION_SEVERITY: dict[str, str] = {
    "pregnancy": ABSOLUTE,
    "autoimmune": ABSOLUTE,
    "allergy": ABSOLUTE,
    "diabetes": CAUTION,
    "liver_kidney": CAUTION,
    "cardiovascular": CAUTION,
    "bleeding": CAUTION,
    "keloid": CAUTION,
    "immunosuppressed": CAUTION,
    "skin_infection": IN_AREA,
    "skin_condition": IN_AREA,
    "severe_obesity": INDICATION,
}
# The questions that matter only for a fat-reduction indication (body contouring).
FAT_REDUCTION_QUESTIONS = frozenset({"severe_obesity"})


def question_severity(question: str) -> str:
    return QUESTION_SEVERITY[question]


def indication_questions(*, reduces_fat: bool) -> frozenset[str]:
    """The indication-only questions a plan's screening must have answered."""
    return FAT_REDUCTION_QUESTIONS if reduces_fat else frozenset()


def questions_unanswered(answered: Iterable[str], *, required_extra: Iterable[str] = ()) -> list[str]:
    """The questions a screening must answer and did not, in questionnaire
    order: every question but the indication-only ones, and those of
    `required_extra` (the indication-only questions the client's plans ask)."""
    answered, extra = set(answered), set(required_extra)
    return [
        q for q, severity in QUESTION_SEVERITY.items() if (severity != INDICATION or q in extra) and q not in answered
    ]


class Clearance(StrEnum):
    CLEAR = "clear"  # treat
    NEEDS_JUDGEMENT = "needs_judgement"  # a condition calling for caution has no physician's judgement
    NEEDS_SCREENING = "needs_screening"  # no screening, one too old, or one that did not ask what this plan needs
    NEEDS_CONSENT = "needs_consent"  # no signature to the current consent text for this plan
    BLOCKED = "blocked"  # a contraindication rules this treatment out


@dataclass(frozen=True)
class Answer:
    """One answer of the questionnaire, with the severity recorded with it
    (question_severity's when it was given; answers from before the areas were
    asked keep theirs: an old "infection in the area" is absolute).
    `areas` are the (id, name) of the areas an in-area condition concerns;
    `judged_by_physician` says whether whoever recorded the judgement is a
    physician."""

    label: str
    yes: bool
    severity: str
    judgement: str = ""
    judged_by_physician: bool = False
    areas: tuple[tuple[int, str], ...] = ()
    question: str = ""


@dataclass(frozen=True)
class Verdict:
    clearance: Clearance
    reasons: tuple[str, ...] = field(default=())

    @property
    def may_treat(self) -> bool:
        return self.clearance == Clearance.CLEAR


def months_before(day: dt.date, months: int) -> dt.date:
    """`day` less `months` calendar months, clamped to the month's end."""
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    return dt.date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def screening_stale(screened_on: dt.date, today: dt.date, max_age_months: int) -> bool:
    """Whether a screening of that day is too old to treat on `today`."""
    return screened_on <= months_before(today, max_age_months)


def screening_runs_out_on(screened_on: dt.date, max_age_months: int) -> dt.date:
    """The first day a screening of that day is too old (screening_stale)."""
    index = screened_on.year * 12 + screened_on.month - 1 + max_age_months
    year, month = divmod(index, 12)
    day = dt.date(year, month + 1, min(screened_on.day, calendar.monthrange(year, month + 1)[1]))
    day -= dt.timedelta(days=4)  # month ends clamp: walk up to the first stale day
    while not screening_stale(screened_on, day, max_age_months):
        day += dt.timedelta(days=1)
    return day


def _blocking(a: Answer, plan_areas: Mapping[int, str], asked_for_plan: Mapping[str, str]) -> str | None:
    if not a.yes:
        return None
    if a.severity == ABSOLUTE:
        return f"{a.label}: an absolute contraindication."
    if a.severity == IN_AREA:
        where = sorted(name for pk, name in a.areas if pk in plan_areas)
        if where:
            return f"{a.label}: {', '.join(where)}, which this plan treats."
    if a.severity == INDICATION and a.question in asked_for_plan:
        return f"{a.label}: rules out this plan's indication."
    return None


def caution_cleared(*, judgement: str, judged_by_physician: bool) -> bool:
    """Whether a recorded judgement clears a condition calling for caution:
    a physician's, with words in it (blank or whitespace is no judgement).
    The client's alerts ask this too."""
    return bool(judgement.strip()) and judged_by_physician


def _unjudged(a: Answer) -> str | None:
    if not (a.yes and a.severity == CAUTION):
        return None
    if caution_cleared(judgement=a.judgement, judged_by_physician=a.judged_by_physician):
        return None
    if not a.judgement.strip():
        return f"{a.label}: needs a physician's recorded judgement."
    if not a.judged_by_physician:
        return f"{a.label}: the judgement recorded is not a physician's; a physician must judge it."
    return None


def treatment_clearance(
    *,
    today: dt.date,
    screened_on: dt.date | None,
    answers: Iterable[Answer],
    allergy_names: Mapping[int, str],
    mixture_substance_ids: Iterable[int],
    consent_signed: bool,
    max_screening_age_months: int = 12,
    plan_areas: Mapping[int, str] | None = None,
    asked_for_plan: Mapping[str, str] | None = None,
) -> Verdict:
    """The worst of what stands between the client and this plan's treatment,
    with every reason of that kind. Order: blocked, needs screening, needs
    judgement, needs consent, clear.

    - A known allergy (on the client's record) to a substance of the plan's
      mixture blocks whatever the questionnaire says: the record may be newer
      than the screening.
    - A yes that rules treatment out blocks; one that concerns areas blocks a
      plan on any of them (`plan_areas`, id -> name) and no other; one that
      concerns indications blocks the plans whose indication asks it
      (`asked_for_plan`, question -> label).
    - The screening must be younger than `max_screening_age_months`, and must
      have answered every question in `asked_for_plan`.
    - A yes that calls for caution needs a physician's recorded judgement.
    """
    plan_areas = plan_areas or {}
    asked_for_plan = asked_for_plan or {}
    allergic = sorted(name for pk, name in allergy_names.items() if pk in set(mixture_substance_ids))
    blocked = [f"Known allergy to {name}, which the mixture contains." for name in allergic]
    if screened_on is None:
        if blocked:
            return Verdict(Clearance.BLOCKED, tuple(blocked))
        return Verdict(Clearance.NEEDS_SCREENING, ("No screening on record.",))

    answers = list(answers)
    blocked += [reason for a in answers if (reason := _blocking(a, plan_areas, asked_for_plan))]
    if blocked:
        return Verdict(Clearance.BLOCKED, tuple(blocked))
    if screening_stale(screened_on, today, max_screening_age_months):
        return Verdict(
            Clearance.NEEDS_SCREENING,
            (f"The last screening, on {screened_on:%d/%m/%Y}, is older than {max_screening_age_months} months.",),
        )
    answered = {a.question for a in answers}
    unasked = [label for question, label in asked_for_plan.items() if question not in answered]
    if unasked:
        return Verdict(
            Clearance.NEEDS_SCREENING,
            tuple(
                f"{label}: not asked at the last screening, and this plan's indication needs it." for label in unasked
            ),
        )
    unjudged = [reason for a in answers if (reason := _unjudged(a))]
    if unjudged:
        return Verdict(Clearance.NEEDS_JUDGEMENT, tuple(unjudged))
    if not consent_signed:
        return Verdict(Clearance.NEEDS_CONSENT, ("The client has not signed the current consent text for this plan.",))
    return Verdict(Clearance.CLEAR)
