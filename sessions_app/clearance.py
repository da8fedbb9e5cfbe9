"""May this client be treated today? The one rule, in plain values.

The session form, the admin and the schedule's warning badge all ask
`treatment_clearance`; `sessions_app.services.clearance` loads its inputs from
the database. Nothing here touches the ORM.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class Clearance(StrEnum):
    CLEAR = "clear"  # treat
    NEEDS_JUDGEMENT = "needs_judgement"  # a relative contraindication has no recorded judgement
    NEEDS_SCREENING = "needs_screening"  # no screening, or one older than the allowed age
    NEEDS_CONSENT = "needs_consent"  # no signature to the current consent text for this plan
    BLOCKED = "blocked"  # an absolute contraindication


@dataclass(frozen=True)
class Answer:
    """One answer of the questionnaire. `absolute` says whether a yes forbids
    treatment (models.clients.contraindication_severity decides, when the
    answer is recorded) or needs the practitioner's judgement."""

    label: str
    yes: bool
    absolute: bool
    judgement: str = ""


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


def treatment_clearance(
    *,
    today: dt.date,
    screened_on: dt.date | None,
    answers: Iterable[Answer],
    allergy_names: Mapping[int, str],
    mixture_substance_ids: Iterable[int],
    consent_signed: bool,
    max_screening_age_months: int = 12,
) -> Verdict:
    """The worst of what stands between the client and treatment, with every
    reason of that kind. Order: blocked, needs screening, needs judgement,
    needs consent, clear.

    A known allergy (on the client's record) to a substance of the plan's
    mixture blocks treatment whatever the questionnaire says: the record may
    be newer than the screening.
    """
    allergic = sorted(name for pk, name in allergy_names.items() if pk in set(mixture_substance_ids))
    blocked = [f"Known allergy to {name}, which the mixture contains." for name in allergic]
    if screened_on is None:
        if blocked:
            return Verdict(Clearance.BLOCKED, tuple(blocked))
        return Verdict(Clearance.NEEDS_SCREENING, ("No screening on record.",))

    answers = list(answers)
    blocked += [f"{a.label}: an absolute contraindication." for a in answers if a.yes and a.absolute]
    if blocked:
        return Verdict(Clearance.BLOCKED, tuple(blocked))
    if screened_on <= months_before(today, max_screening_age_months):
        return Verdict(
            Clearance.NEEDS_SCREENING,
            (f"The last screening, on {screened_on:%d/%m/%Y}, is older than {max_screening_age_months} months.",),
        )
    unjudged = [
        f"{a.label}: needs the practitioner's recorded judgement."
        for a in answers
        if a.yes and not a.absolute and not a.judgement.strip()
    ]
    if unjudged:
        return Verdict(Clearance.NEEDS_JUDGEMENT, tuple(unjudged))
    if not consent_signed:
        return Verdict(Clearance.NEEDS_CONSENT, ("The client has not signed the current consent text for this plan.",))
    return Verdict(Clearance.CLEAR)
