"""Loads what `sessions_app.clearance.treatment_clearance` needs, for many
sessions at once in a fixed number of queries (the schedule shows a badge per
session), and asks it."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Q, Subquery
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
    rows = Screening.objects.filter(client_id__in=client_ids, pk=Screening.latest_of_client())
    return {client_id: (pk, at) for client_id, pk, at in rows.values_list("client_id", "pk", "screened_at")}


# What a screening answer's row holds: the rule's needs, and the alerts'
# (details, when and by whom a condition was judged).
ANSWER_FIELDS = (
    "pk",
    "screening_id",
    "question",
    "answer",
    "details",
    "severity",
    "judgement",
    "judged_at",
    "judged_by__first_name",
    "judged_by__last_name",
    "judged_by__username",
    "judged_by__profession",
)


@dataclass(frozen=True)
class ScreeningFacts:
    """What the treatment rule and the alerts both read of some clients'
    records, read once for both (a page that shows a verdict and the alerts
    would otherwise read each twice). Plain values rather than model
    instances: the week of a busy clinic reads the answers of hundreds of
    clients."""

    client_ids: frozenset[int]
    # client id -> (the latest screening's id, its screened_at)
    screenings: dict[int, tuple[int, dt.datetime]]
    # screening id -> its answer rows (ANSWER_FIELDS), by pk: the yes answers,
    # and every answer to an indication-only question (the rule asks whether
    # it was asked)
    answers: dict[int, list[dict]]
    # answer id -> (area id, name) by name, for the yes answers in areas
    areas: dict[int, list[tuple[int, str]]]
    # client id -> {substance id: name}, by name
    allergies: dict[int, dict[int, str]]

    def covers(self, client_ids: Iterable[int]) -> bool:
        return self.client_ids.issuperset(client_ids)


def screening_facts(client_ids: Iterable[int], given: ScreeningFacts | None = None) -> ScreeningFacts:
    """Latest screenings, their answers, the areas of the in-area ones (only
    when there are any) and the allergies on record: four queries at most;
    none when the facts `given` already cover these clients."""
    ids = frozenset(client_ids)
    if given is not None and given.covers(ids):
        return given
    screenings = latest_screenings(ids) if ids else {}
    answers: dict[int, list[dict]] = defaultdict(list)
    areas: dict[int, list[tuple[int, str]]] = defaultdict(list)
    if screenings:
        rows = (
            ScreeningAnswer.objects.filter(screening_id__in=[pk for pk, _ in screenings.values()])
            .filter(Q(answer=True) | Q(question__in=FAT_REDUCTION_QUESTIONS))
            .order_by("screening_id", "pk")
            .values(*ANSWER_FIELDS)
        )
        for row in rows:
            answers[row["screening_id"]].append(row)
        in_area = [r["pk"] for rs in answers.values() for r in rs if r["answer"] and r["severity"] == IN_AREA]
        if in_area:
            links = ScreeningAnswer.areas.through.objects.filter(screeninganswer_id__in=in_area)
            for answer_id, area_id, name in links.order_by("treatmentarea__name").values_list(
                "screeninganswer_id", "treatmentarea_id", "treatmentarea__name"
            ):
                areas[answer_id].append((area_id, name))
    allergies: dict[int, dict[int, str]] = defaultdict(dict)
    if ids:
        through = Client.allergies.through.objects.filter(client_id__in=ids).order_by("substance__name")
        for client_id, substance_id, name in through.values_list("client_id", "substance_id", "substance__name"):
            allergies[client_id][substance_id] = name
    return ScreeningFacts(ids, screenings, answers, areas, allergies)


def _rule_answers(facts: ScreeningFacts) -> dict[int, list[Answer]]:
    """The answers as the rule reads them, by screening id."""
    return {
        screening_id: [
            Answer(
                label=Contraindication(row["question"]).label,
                yes=row["answer"],
                severity=row["severity"],
                judgement=row["judgement"],
                judged_by_physician=row["judged_by__profession"] == Profession.PHYSICIAN,
                areas=tuple(facts.areas.get(row["pk"], ())),
                question=row["question"],
            )
            for row in rows
        ]
        for screening_id, rows in facts.answers.items()
    }


def plan_clearances(plans: Iterable[TreatmentPlan], facts: ScreeningFacts | None = None) -> dict[int, Verdict]:
    """The verdict for each plan, by plan id, today: at most eight queries
    whatever the number of plans (four when `facts`, screening_facts of
    their clients, are given), fewer when nothing calls for the rest (no
    allergy on record: no mixture's substances to read; no in-area
    condition: no areas)."""
    plans = list(plans)
    if not plans:
        return {}
    client_ids = {p.client_id for p in plans}
    plan_ids = {p.pk for p in plans}
    facts = screening_facts(client_ids, facts)
    screenings, allergies = facts.screenings, facts.allergies
    answers = _rule_answers(facts)
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


def clearances(sessions: Sequence[TreatmentSession], facts: ScreeningFacts | None = None) -> dict[int, Verdict]:
    """The verdict for each session, by session id: its plan's verdict today
    (plan_clearances). Each session needs its `plan` loaded."""
    verdicts = plan_clearances({s.plan_id: s.plan for s in sessions}.values(), facts)
    return {s.pk: verdicts[s.plan_id] for s in sessions}


def clearance(session: TreatmentSession, facts: ScreeningFacts | None = None) -> Verdict:
    return clearances([session], facts)[session.pk]


def annotate_clearance(sessions: Sequence[TreatmentSession], facts: ScreeningFacts | None = None) -> None:
    """Set `session.clearance` (a Verdict, or None for sessions already done
    or called off) on each session, for the schedule's warning badge."""
    verdicts = clearances([s for s in sessions if s.status in SessionStatus.AHEAD], facts)
    for session in sessions:
        session.clearance = verdicts.get(session.pk)
