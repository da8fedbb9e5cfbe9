"""Writes a practitioner makes before treating: screenings and consents."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from sessions_app.models import (
    Client,
    Consent,
    ConsentText,
    Screening,
    ScreeningAnswer,
    TreatmentPlan,
    User,
    contraindication_severity,
)


class AlreadySigned(Exception):
    pass


@transaction.atomic
def screening_record(*, client: Client, screened_by: User, answers: list[dict], notes: str = "") -> Screening:
    """A new dated questionnaire with every answer, or nothing. Each answer's
    severity is fixed when it is recorded: absolute or needing judgement."""
    screening = Screening(client=client, screened_at=timezone.now(), screened_by=screened_by, notes=notes)
    screening._history_user = screened_by
    screening.save()
    rows = [
        ScreeningAnswer(
            screening=screening,
            question=a["question"],
            answer=a["yes"],
            details=a["details"].strip() if a["yes"] else "",
            judgement=a["judgement"].strip() if a["yes"] else "",
            severity=contraindication_severity(a["question"]),
        )
        for a in answers
    ]
    for row in rows:
        row.full_clean(exclude=["screening"])
    # With their history rows, as every clinical record: who answered, and when.
    bulk_create_with_history(rows, ScreeningAnswer, default_user=screened_by)
    return screening


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
