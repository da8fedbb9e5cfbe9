"""Loads what `sessions_app.clearance.treatment_clearance` needs, for many
sessions at once in a fixed number of queries (the schedule shows a badge per
session), and asks it."""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db import connection
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
    Product,
    Profession,
    Screening,
    ScreeningAnswer,
    SessionStatus,
    TreatmentPlan,
    TreatmentSession,
    User,
)
from sessions_app.plain_sql import among, aware, column, linked, table


def consent_texts_in_force():
    """The consent texts already effective today, the one in force first (the highest version)."""
    return ConsentText.objects.filter(effective_from__lte=timezone.localdate()).order_by("-version")


def current_consent_text() -> ConsentText | None:
    """The consent text in force today."""
    return consent_texts_in_force().first()


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
    none when the facts `given` already cover these clients. Plain SQL
    (sessions_app.plain_sql): a schedule asks this of a hundred clients, and
    the ORM took two to three times the database's time to ask it."""
    ids = frozenset(client_ids)
    if given is not None and given.covers(ids):
        return given
    screenings: dict[int, tuple[int, dt.datetime]] = {}
    answers: dict[int, list[dict]] = defaultdict(list)
    areas: dict[int, list[tuple[int, str]]] = defaultdict(list)
    allergies: dict[int, dict[int, str]] = defaultdict(dict)
    if not ids:
        return ScreeningFacts(ids, screenings, answers, areas, allergies)
    with connection.cursor() as cursor:
        cursor.execute(*_latest_screenings(ids))
        for client_id, pk, screened_at in cursor.fetchall():
            screenings[client_id] = (pk, aware(screened_at))
        if screenings:
            cursor.execute(*_answers([pk for pk, _ in screenings.values()]))
            for row in cursor.fetchall():
                answer = dict(zip(ANSWER_FIELDS, row, strict=True))
                answer["answer"] = bool(answer["answer"])
                answer["judged_at"] = aware(answer["judged_at"])
                answers[answer["screening_id"]].append(answer)
            in_area = [r["pk"] for rs in answers.values() for r in rs if r["answer"] and r["severity"] == IN_AREA]
            if in_area:
                cursor.execute(*linked(ScreeningAnswer.areas.through, "screeninganswer", "treatmentarea", in_area))
                for answer_id, area_id, name in cursor.fetchall():
                    areas[answer_id].append((area_id, name))
        cursor.execute(*linked(Client.allergies.through, "client", "substance", ids))
        for client_id, substance_id, name in cursor.fetchall():
            allergies[client_id][substance_id] = name
    return ScreeningFacts(ids, screenings, answers, areas, allergies)


def _latest_screenings(client_ids: Collection[int]) -> tuple[str, list]:
    """Each client's latest screening: client id, screening id, screened_at.
    The rule is Screening.latest_of_client's, as the ORM writes it (compiled
    once a database); the clients are picked around it, a filter PostgreSQL
    and SQLite both push down to screening_client_latest_idx."""
    client = connection.ops.quote_name("client_id")
    matched, params = among(f"latest.{client}", client_ids)
    return f"SELECT * FROM ({_every_latest_screening(connection.alias)}) latest WHERE {matched}", params


@functools.cache
def _every_latest_screening(alias: str) -> str:
    rows = Screening.objects.filter(pk=Screening.latest_of_client()).order_by()
    sql, params = rows.values_list("client_id", "pk", "screened_at").query.get_compiler(alias).as_sql()
    assert not params, params  # a parameter would change from one call to the next
    return sql


def _answers(screening_ids: Collection[int]) -> tuple[str, list]:
    """The screenings' yes answers and their answers to an indication-only
    question, with who judged them: ANSWER_FIELDS, by screening and id."""
    a, user = table(ScreeningAnswer), table(User)
    own = ("id", "screening", "question", "answer", "details", "severity", "judgement", "judged_at")
    judge = ("first_name", "last_name", "username", "profession")
    fields = [f"a.{column(ScreeningAnswer, f)}" for f in own] + [f"j.{column(User, f)}" for f in judge]
    matched, params = among(f"a.{column(ScreeningAnswer, 'screening')}", screening_ids)
    asked, more = among(f"a.{column(ScreeningAnswer, 'question')}", sorted(FAT_REDUCTION_QUESTIONS))
    sql = (
        f"SELECT {', '.join(fields)} FROM {a} a"
        f" LEFT JOIN {user} j ON j.{column(User, 'id')} = a.{column(ScreeningAnswer, 'judged_by')}"
        f" WHERE {matched} AND (a.{column(ScreeningAnswer, 'answer')} OR {asked})"
        f" ORDER BY a.{column(ScreeningAnswer, 'screening')}, a.{column(ScreeningAnswer, 'id')}"
    )
    return sql, params + more


def _mixture_substances(mixture_ids: Collection[int]) -> tuple[str, list]:
    """The substances in each mixture's products: mixture id, substance id."""
    through = Product.substances.through
    product, mixture = column(MixtureComponent, "product"), column(MixtureComponent, "mixture")
    matched, params = among(f"c.{mixture}", mixture_ids)
    sql = (
        f"SELECT c.{mixture}, l.{column(through, 'substance')} FROM {table(MixtureComponent)} c"
        f" JOIN {table(through)} l ON l.{column(through, 'product')} = c.{product} WHERE {matched}"
    )
    return sql, params


def _fat_reduction(indication_ids: Collection[int]) -> tuple[str, list]:
    """Which of these indications reduce fat: their ids."""
    pk, reduces_fat = column(Indication, "id"), column(Indication, "reduces_fat")
    matched, params = among(pk, indication_ids)
    return f"SELECT {pk} FROM {table(Indication)} WHERE {matched} AND {reduces_fat}", params


def _signed_in_force(plan_ids: Collection[int]) -> tuple[str, list]:
    """Which of these plans signed the consent text in force today
    (consent_texts_in_force's first, as the ORM writes it)."""
    in_force, more = consent_texts_in_force().values("pk")[:1].query.get_compiler(connection.alias).as_sql()
    matched, params = among(f"c.{column(Consent, 'plan')}", plan_ids)
    plan, text = column(Consent, "plan"), column(Consent, "consent_text")
    return f"SELECT c.{plan} FROM {table(Consent)} c WHERE {matched} AND c.{text} = ({in_force})", [*params, *more]


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
    plan_areas: dict[int, dict[int, str]] = defaultdict(dict)
    in_area = {client_id for client_id, (pk, _) in screenings.items() if any(a.areas for a in answers.get(pk, ()))}
    with connection.cursor() as cursor:
        if mixture_ids := {p.mixture_id for p in plans if p.client_id in allergies}:
            cursor.execute(*_mixture_substances(mixture_ids))
            for mixture_id, substance_id in cursor.fetchall():
                substances[mixture_id].add(substance_id)
        if in_area:
            through, in_area_plans = TreatmentPlan.areas.through, [p.pk for p in plans if p.client_id in in_area]
            cursor.execute(*linked(through, "treatmentplan", "treatmentarea", in_area_plans))
            for plan_id, area_id, name in cursor.fetchall():
                plan_areas[plan_id][area_id] = name
        cursor.execute(*_fat_reduction({p.indication_id for p in plans}))
        fat_reduction = {pk for (pk,) in cursor.fetchall()}
        cursor.execute(*_signed_in_force(plan_ids))
        signed = {plan_id for (plan_id,) in cursor.fetchall()}

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
