"""Writes a practitioner makes before treating: screenings (and a physician's
judgement of a condition that calls for caution) and consents."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from sessions_app.clearance import CAUTION, IN_AREA, questions_unanswered
from sessions_app.models import (
    Client,
    Consent,
    ConsentText,
    Contraindication,
    Screening,
    ScreeningAnswer,
    TreatmentArea,
    TreatmentPlan,
    User,
    contraindication_severity,
)


class AlreadySigned(Exception):
    pass


class ScreeningRefused(Exception):
    """The screening or judgement cannot be recorded; `messages` say why."""

    def __init__(self, messages: Sequence[str]):
        self.messages = list(messages)
        super().__init__(" ".join(self.messages))


@dataclass(frozen=True)
class AnswerInput:
    question: str
    yes: bool
    details: str = ""
    judgement: str = ""
    areas: tuple[TreatmentArea, ...] = ()


def _answer_problems(a: AnswerInput, screened_by: User) -> list[str]:
    label = Contraindication(a.question).label
    severity = contraindication_severity(a.question)
    problems = []
    if a.yes and not a.details.strip():
        problems.append(f"{label}: a yes needs details.")
    if a.yes and severity == IN_AREA and not a.areas:
        problems.append(f"{label}: name the areas it concerns.")
    if a.yes and a.judgement.strip() and severity == CAUTION and not screened_by.is_physician:
        problems.append(f"{label}: only a physician records a judgement that clears it.")
    return problems


@transaction.atomic
def screening_record(
    *,
    client: Client,
    screened_by: User,
    answers: Iterable[AnswerInput],
    notes: str = "",
    required_extra: Iterable[str] = (),
) -> Screening:
    """A new dated questionnaire, or nothing: refused (ScreeningRefused) when a
    question is left unanswered (every question but the indication-only ones,
    and those of `required_extra`), a yes has no details, a condition in the
    area names no area, or someone other than a physician writes a judgement.

    Each answer records what a yes means that day (its severity), the areas of
    a condition in the area, and a physician's judgement with who and when."""
    answers = list(answers)
    problems = []
    if left := questions_unanswered([a.question for a in answers], required_extra=required_extra):
        names = ", ".join(Contraindication(q).label for q in left)
        problems.append(f"Answer every question: {names}.")
    for a in answers:
        problems += _answer_problems(a, screened_by)
    if problems:
        raise ScreeningRefused(problems)

    now = timezone.now()
    screening = Screening(client=client, screened_at=now, screened_by=screened_by, notes=notes)
    screening._history_user = screened_by
    screening.save()
    rows = []
    for a in answers:
        severity = contraindication_severity(a.question)
        judgement = a.judgement.strip() if a.yes and severity == CAUTION else ""
        rows.append(
            ScreeningAnswer(
                screening=screening,
                question=a.question,
                answer=a.yes,
                details=a.details.strip() if a.yes else "",
                judgement=judgement,
                judged_by=screened_by if judgement else None,
                judged_at=now if judgement else None,
                severity=severity,
            )
        )
    for row in rows:
        row.full_clean(exclude=["screening"])
    # With their history rows, as every clinical record: who answered, and when.
    bulk_create_with_history(rows, ScreeningAnswer, default_user=screened_by)
    for row, a in zip(rows, answers, strict=True):
        if a.yes and row.severity == IN_AREA:
            row._history_user = screened_by  # the areas' history row names who recorded them
            row.areas.set(a.areas)
    return screening


@transaction.atomic
def screening_judge(*, judgements: Iterable[tuple[int, str]], by: User) -> list[ScreeningAnswer]:
    """A physician's judgement of yes answers that call for caution, each as
    (answer id, judgement): why treating is safe, the precautions. Recorded
    with who and when, an earlier judgement kept in the answer's history; all
    of them, or none (ScreeningRefused)."""
    judged = []
    for answer_id, judgement in judgements:
        answer = ScreeningAnswer.objects.select_for_update().get(pk=answer_id)
        label = answer.get_question_display()
        if not by.is_physician:
            raise ScreeningRefused([f"{label}: only a physician's judgement clears it."])
        if not (answer.answer and answer.severity == CAUTION):
            raise ScreeningRefused([f"{label}: only a yes that calls for caution takes a judgement."])
        if not judgement.strip():
            raise ScreeningRefused([f"{label}: write the judgement (why treating is safe, the precautions)."])
        answer.judgement, answer.judged_by, answer.judged_at = judgement.strip(), by, timezone.now()
        answer._history_user = by
        answer.full_clean(exclude=["screening"])
        answer.save()
        judged.append(answer)
    return judged


@transaction.atomic
def consent_sign(*, plan: TreatmentPlan, consent_text: ConsentText, signed_name: str, witnessed_by: User) -> Consent:
    """The client's signature (typed name, tick, time) to this version of the
    consent text; AlreadySigned when this plan has it already."""
    consent = Consent(
        plan=plan,
        consent_text=consent_text,
        signed_name=signed_name,
        agreed=True,
        signed_at=timezone.now(),
        witnessed_by=witnessed_by,
    )
    try:
        with transaction.atomic():
            consent.save()
    except IntegrityError as exc:
        if Consent.objects.filter(plan=plan, consent_text=consent_text).exists():
            raise AlreadySigned(f"This plan already has a signature to version {consent_text.version}.") from exc
        raise
    return consent
