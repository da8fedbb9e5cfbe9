"""Loads what `sessions_app.clearance.treatment_clearance` needs, for many
sessions at once in a fixed number of queries (the schedule shows a badge per
session), and asks it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

from django.conf import settings
from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone

from sessions_app.clearance import (
    FAT_REDUCTION_QUESTIONS,
    IN_AREA,
    Answer,
    Verdict,
    indication_questions,
    treatment_clearance,
)
from sessions_app.models import (
    Client,
    Consent,
    ConsentText,
    Contraindication,
    Indication,
    MixtureComponent,
    Profession,
    Screening,
    ScreeningAnswer,
    SessionStatus,
    TreatmentPlan,
    TreatmentSession,
)


def consent_texts_in_force():
    """The consent texts already effective today, the one in force first (the highest version)."""
    return ConsentText.objects.filter(effective_from__lte=timezone.localdate()).order_by("-version")


def current_consent_text() -> ConsentText | None:
    """The consent text in force today."""
    return consent_texts_in_force().first()


def latest_screenings(client_ids) -> dict[int, tuple[int, object]]:
    """Each client's latest screening, as client id -> (screening id, screened_at): one query."""
    latest = Screening.objects.filter(client_id=OuterRef("client_id")).order_by("-screened_at", "-pk").values("pk")[:1]
    rows = Screening.objects.filter(client_id__in=client_ids, pk=Subquery(latest))
    return {client_id: (pk, at) for client_id, pk, at in rows.values_list("client_id", "pk", "screened_at")}


def screening_answers(screening_ids) -> dict[int, list[Answer]]:
    """The answers the rule reads, by screening id: the yes answers, and every
    answer to an indication-only question (the rule asks whether it was
    asked). Plain values rather than model instances: the week of a busy
    clinic reads the answers of hundreds of clients. One query, and one more
    for the areas of the in-area conditions when there are any (the rule
    reads areas of those alone)."""
    answers: dict[int, list[Answer]] = defaultdict(list)
    if not screening_ids:
        return answers
    rows = list(
        ScreeningAnswer.objects.filter(screening_id__in=screening_ids)
        .filter(Q(answer=True) | Q(question__in=FAT_REDUCTION_QUESTIONS))
        .values_list("pk", "screening_id", "question", "answer", "severity", "judgement", "judged_by__profession")
    )
    areas: dict[int, list[tuple[int, str]]] = defaultdict(list)
    in_area = [pk for pk, _, _, yes, severity, *_ in rows if yes and severity == IN_AREA]
    if in_area:
        through = ScreeningAnswer.areas.through.objects.filter(screeninganswer_id__in=in_area)
        for answer_id, area_id, name in through.values_list(
            "screeninganswer_id", "treatmentarea_id", "treatmentarea__name"
        ):
            areas[answer_id].append((area_id, name))
    for pk, screening_id, question, yes, severity, judgement, profession in rows:
        answers[screening_id].append(
            Answer(
                label=Contraindication(question).label,
                yes=yes,
                severity=severity,
                judgement=judgement,
                judged_by_physician=profession == Profession.PHYSICIAN,
                areas=tuple(sorted(areas[pk], key=lambda a: a[1])),
                question=question,
            )
        )
    return answers


def plan_clearances(plans: Iterable[TreatmentPlan]) -> dict[int, Verdict]:
    """The verdict for each plan, by plan id, today: at most eight queries
    whatever the number of plans, fewer when nothing calls for the rest (no
    allergy on record: no mixture's substances to read; no in-area condition:
    no areas)."""
    plans = list(plans)
    if not plans:
        return {}
    client_ids = {p.client_id for p in plans}
    plan_ids = {p.pk for p in plans}

    screenings = latest_screenings(client_ids)
    answers = screening_answers([pk for pk, _ in screenings.values()])
    allergies: dict[int, dict[int, str]] = defaultdict(dict)
    through = Client.allergies.through.objects.filter(client_id__in=client_ids)
    for client_id, substance_id, name in through.values_list("client_id", "substance_id", "substance__name"):
        allergies[client_id][substance_id] = name
    # The rule matches a mixture's substances against the client's allergies,
    # and a plan's areas against an in-area condition's: read for those alone.
    substances: dict[int, set[int]] = defaultdict(set)
    mixture_ids = {p.mixture_id for p in plans if p.client_id in allergies}
    if mixture_ids:
        components = MixtureComponent.objects.filter(mixture_id__in=mixture_ids, product__substances__isnull=False)
        for mixture_id, substance_id in components.values_list("mixture_id", "product__substances"):
            substances[mixture_id].add(substance_id)
    plan_areas: dict[int, dict[int, str]] = defaultdict(dict)
    in_area = {client_id for client_id, (pk, _) in screenings.items() if any(a.areas for a in answers.get(pk, ()))}
    if in_area:
        links = TreatmentPlan.areas.through.objects.filter(
            treatmentplan_id__in=[p.pk for p in plans if p.client_id in in_area]
        )
        for plan_id, area_id, name in links.values_list("treatmentplan_id", "treatmentarea_id", "treatmentarea__name"):
            plan_areas[plan_id][area_id] = name
    fat_reduction = set(
        Indication.objects.filter(pk__in={p.indication_id for p in plans}, reduces_fat=True).values_list(
            "pk", flat=True
        )
    )
    # The plans that signed the text in force today, read with it as a subquery.
    in_force = Subquery(consent_texts_in_force().values("pk")[:1])
    signed = set(Consent.objects.filter(plan_id__in=plan_ids, consent_text=in_force).values_list("plan_id", flat=True))

    today = timezone.localdate()
    result = {}
    for plan in plans:
        screening_id, screened_at = screenings.get(plan.client_id, (None, None))
        asked = indication_questions(reduces_fat=plan.indication_id in fat_reduction)
        result[plan.pk] = treatment_clearance(
            today=today,
            screened_on=timezone.localtime(screened_at).date() if screened_at else None,
            answers=answers.get(screening_id, ()),
            allergy_names=allergies.get(plan.client_id, {}),
            mixture_substance_ids=substances.get(plan.mixture_id, set()),
            consent_signed=plan.pk in signed,
            max_screening_age_months=settings.CLINIC_SCREENING_MAX_AGE_MONTHS,
            plan_areas=plan_areas.get(plan.pk, {}),
            asked_for_plan={q: Contraindication(q).label for q in sorted(asked)},
        )
    return result


def clearances(sessions: Sequence[TreatmentSession]) -> dict[int, Verdict]:
    """The verdict for each session, by session id: its plan's verdict today
    (plan_clearances). Each session needs its `plan` loaded."""
    verdicts = plan_clearances({s.plan_id: s.plan for s in sessions}.values())
    return {s.pk: verdicts[s.plan_id] for s in sessions}


def clearance(session: TreatmentSession) -> Verdict:
    return clearances([session])[session.pk]


def annotate_clearance(sessions: Sequence[TreatmentSession]) -> None:
    """Set `session.clearance` (a Verdict, or None for sessions already done
    or called off) on each session, for the schedule's warning badge."""
    verdicts = clearances([s for s in sessions if s.status in SessionStatus.AHEAD])
    for session in sessions:
        session.clearance = verdicts.get(session.pk)
