"""Loads what `sessions_app.clearance.treatment_clearance` needs, for many
sessions at once in a fixed number of queries (the schedule shows a badge per
session), and asks it."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence

from django.conf import settings
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from sessions_app.clearance import Answer, Verdict, treatment_clearance
from sessions_app.models import (
    Client,
    Consent,
    ConsentText,
    Contraindication,
    MixtureComponent,
    Screening,
    ScreeningAnswer,
    SessionStatus,
    Severity,
    TreatmentSession,
)
from sessions_app.reminders.rules import screening_expires_on


def current_consent_text() -> ConsentText | None:
    """The consent text in force today: the highest version already effective."""
    return ConsentText.objects.filter(effective_from__lte=timezone.localdate()).order_by("-version").first()


def clearances(sessions: Sequence[TreatmentSession]) -> dict[int, Verdict]:
    """The verdict for each session, by session id: six queries whatever the
    number of sessions. Each session needs its `plan` loaded."""
    if not sessions:
        return {}
    client_ids = {s.plan.client_id for s in sessions}
    mixture_ids = {s.plan.mixture_id for s in sessions}
    plan_ids = {s.plan_id for s in sessions}

    latest = Screening.objects.filter(client_id=OuterRef("client_id")).order_by("-screened_at", "-pk").values("pk")[:1]
    # Plain values rather than model instances: the week of a busy clinic reads
    # the answers of hundreds of clients.
    screenings = {
        client_id: (pk, screened_at)
        for client_id, pk, screened_at in Screening.objects.filter(
            client_id__in=client_ids, pk=Subquery(latest)
        ).values_list("client_id", "pk", "screened_at")
    }
    answers: dict[int, list[Answer]] = defaultdict(list)
    if screenings:
        # Only the yes answers: a no never stands in the way (treatment_clearance
        # reads `yes` first), and most of a questionnaire is no.
        rows = ScreeningAnswer.objects.filter(screening_id__in=[pk for pk, _ in screenings.values()], answer=True)
        for screening_id, question, yes, severity, judgement in rows.values_list(
            "screening_id", "question", "answer", "severity", "judgement"
        ):
            label = Contraindication(question).label
            answers[screening_id].append(Answer(label, yes, severity == Severity.ABSOLUTE, judgement))
    allergies: dict[int, dict[int, str]] = defaultdict(dict)
    through = Client.allergies.through.objects.filter(client_id__in=client_ids)
    for client_id, substance_id, name in through.values_list("client_id", "substance_id", "substance__name"):
        allergies[client_id][substance_id] = name
    substances: dict[int, set[int]] = defaultdict(set)
    components = MixtureComponent.objects.filter(mixture_id__in=mixture_ids, product__substances__isnull=False)
    for mixture_id, substance_id in components.values_list("mixture_id", "product__substances"):
        substances[mixture_id].add(substance_id)
    text = current_consent_text()
    signed = set()
    if text is not None:
        signed = set(Consent.objects.filter(plan_id__in=plan_ids, consent_text=text).values_list("plan_id", flat=True))

    today = timezone.localdate()
    result = {}
    for session in sessions:
        screening_id, screened_at = screenings.get(session.plan.client_id, (None, None))
        result[session.pk] = treatment_clearance(
            today=today,
            screened_on=timezone.localtime(screened_at).date() if screened_at else None,
            answers=answers.get(screening_id, ()),
            allergy_names=allergies.get(session.plan.client_id, {}),
            mixture_substance_ids=substances.get(session.plan.mixture_id, set()),
            consent_signed=session.plan_id in signed,
            max_screening_age_months=settings.CLINIC_SCREENING_MAX_AGE_MONTHS,
        )
    return result


def clearance(session: TreatmentSession) -> Verdict:
    return clearances([session])[session.pk]


def annotate_clearance(sessions: Sequence[TreatmentSession]) -> None:
    """Set `session.clearance` (a Verdict, or None for sessions already done
    or called off) on each session, for the schedule's warning badge."""
    verdicts = clearances([s for s in sessions if s.status in SessionStatus.AHEAD])
    for session in sessions:
        session.clearance = verdicts.get(session.pk)


# A screening that runs out within this many days is announced on the client page.
SCREENING_EXPIRY_NOTICE_DAYS = 30


def plan_verdicts(
    *,
    client: Client,
    plans: Sequence,
    screened_at,
    yes_answers: Sequence[ScreeningAnswer],
) -> dict[int, Verdict]:
    """The verdict for each of one client's plans, from what the client page
    has loaded (the client's allergies, each plan's consents with their text,
    the latest screening's yes answers): two queries, the mixtures' substances
    and the consent text in force."""
    if not plans:
        return {}
    substances: dict[int, set[int]] = defaultdict(set)
    components = MixtureComponent.objects.filter(
        mixture_id__in={p.mixture_id for p in plans}, product__substances__isnull=False
    )
    for mixture_id, substance_id in components.values_list("mixture_id", "product__substances"):
        substances[mixture_id].add(substance_id)
    text = current_consent_text()
    answers = [
        Answer(a.get_question_display(), a.answer, a.severity == Severity.ABSOLUTE, a.judgement) for a in yes_answers
    ]
    allergies = {s.pk: s.name for s in client.allergies.all()}
    today = timezone.localdate()
    return {
        p.pk: treatment_clearance(
            today=today,
            screened_on=timezone.localtime(screened_at).date() if screened_at else None,
            answers=answers,
            allergy_names=allergies,
            mixture_substance_ids=substances.get(p.mixture_id, set()),
            consent_signed=text is not None and any(c.consent_text_id == text.pk for c in p.consents.all()),
            max_screening_age_months=settings.CLINIC_SCREENING_MAX_AGE_MONTHS,
        )
        for p in plans
    }


def screening_runs_out_soon(screened_at, *, today=None):
    """The day the latest screening runs out, when that is within
    SCREENING_EXPIRY_NOTICE_DAYS ahead (None otherwise, or when it has run
    out: the verdicts say that)."""
    if screened_at is None:
        return None
    today = today or timezone.localdate()
    expires = screening_expires_on(timezone.localtime(screened_at).date(), settings.CLINIC_SCREENING_MAX_AGE_MONTHS)
    return expires if today < expires <= today + dt.timedelta(days=SCREENING_EXPIRY_NOTICE_DAYS) else None
