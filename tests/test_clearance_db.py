"""The clearance rule fed from the database: latest screening, allergies on
record, the mixture's substances, and the consent to the current text."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from sessions_app.clearance import Clearance
from sessions_app.models import (
    ConsentText,
    Contraindication,
    Indication,
    Mixture,
    Role,
    Screening,
    Substance,
    TreatmentArea,
)
from sessions_app.services.alerts import client_alerts
from sessions_app.services.clearance import (
    clearance,
    clearances,
    current_consent_text,
    plan_clearances,
    screening_facts,
)

from .factories import make_answer, make_nurse, make_physician, make_plan, make_session, make_user, next_weekday_at
from .factories import make_consent as sign
from .factories import make_screening as screen


@pytest.fixture
def session(db):
    session = make_session()
    screen(session.plan.client)
    sign(session.plan)
    return session


def test_a_screened_and_consenting_client_is_clear(session):
    assert clearance(session).may_treat


def test_the_latest_screening_decides(session):
    screen(session.plan.client, days_ago=1, yes=[Contraindication.PREGNANCY])
    assert clearance(session).clearance == Clearance.BLOCKED


def test_an_allergy_on_record_to_the_mixtures_substance_blocks(session):
    products = [c.product_id for c in session.plan.mixture.components.all()]
    substance = Substance.objects.filter(products__in=products).first()
    session.plan.client.allergies.add(substance)
    verdict = clearance(session)
    assert verdict.clearance == Clearance.BLOCKED
    assert substance.name in verdict.reasons[0]


def test_a_relative_yes_without_judgement_needs_one(session):
    screen(session.plan.client, days_ago=1, yes=[Contraindication.BLEEDING])
    assert clearance(session).clearance == Clearance.NEEDS_JUDGEMENT
    screen(session.plan.client, days_ago=0, yes=[Contraindication.BLEEDING], judgement="INR in range, small needle")
    assert clearance(session).may_treat


def test_a_nurses_judgement_does_not_clear_what_calls_for_caution_and_a_physicians_does(session):
    nurse_screening = screen(session.plan.client, days_ago=1, answered=False, screened_by=make_nurse())
    make_answer(nurse_screening, Contraindication.DIABETES, answer=True, details="Type 2", judgement="Looks fine")
    verdict = clearance(session)
    assert verdict.clearance == Clearance.NEEDS_JUDGEMENT
    assert "not a physician's" in verdict.reasons[0]
    screening = screen(session.plan.client, days_ago=0, answered=False, screened_by=make_nurse())
    make_answer(
        screening,
        Contraindication.DIABETES,
        answer=True,
        details="Type 2",
        judgement="HbA1c 6.8%",
        judged_by=make_physician(),
    )
    assert clearance(session).may_treat


def test_a_blank_judgement_clears_neither_the_treatment_nor_the_alert(session):
    """The alerts banner asks clearance.caution_cleared, so a judgement of
    spaces, which the treatment rule refuses, does not read as cleared above it."""
    client_id = session.plan.client_id
    screen(session.plan.client, days_ago=0, yes=[Contraindication.DIABETES], judgement="  \n ")
    assert clearance(session).clearance == Clearance.NEEDS_JUDGEMENT
    [condition] = [a for a in client_alerts([client_id])[client_id].items if a.kind == "condition"]
    assert condition.level == "danger" and "Waits for a physician's judgement" in condition.text
    # A physician's words clear both.
    screen(session.plan.client, days_ago=0, yes=[Contraindication.DIABETES], judgement="HbA1c 6.8%")
    assert clearance(session).may_treat
    [condition] = [a for a in client_alerts([client_id])[client_id].items if a.kind == "condition"]
    assert condition.level == "warning" and "HbA1c 6.8%" in condition.text


def test_an_infection_blocks_the_plans_on_its_areas_only(session):
    face, thighs = TreatmentArea.objects.get(name="Face"), TreatmentArea.objects.get(name="Thighs")
    screen(session.plan.client, days_ago=0, yes=[Contraindication.SKIN_INFECTION], areas=[thighs])
    assert clearance(session).may_treat  # the plan treats the face
    session.plan.areas.add(thighs)
    verdict = clearance(session)
    assert verdict.clearance == Clearance.BLOCKED
    assert verdict.reasons == ("Active skin infection: Thighs, which this plan treats.",)
    assert face.name not in verdict.reasons[0]


def test_severe_obesity_is_asked_and_rules_out_body_contouring_only(session):
    contouring = make_plan(
        client=session.plan.client,
        indication=Indication.objects.get(name="Body contouring"),
        mixture=Mixture.objects.get(name="Body contouring"),
    )
    sign(contouring)
    later = make_session(plan=contouring, starts_at=session.starts_at + dt.timedelta(days=7))
    no_question = screen(session.plan.client, days_ago=0, answered=False)
    make_answer(no_question, Contraindication.PREGNANCY, answer=False)
    assert clearance(session).may_treat
    assert clearance(later).clearance == Clearance.NEEDS_SCREENING  # not asked
    screen(session.plan.client, days_ago=0, yes=[Contraindication.SEVERE_OBESITY])
    assert clearance(session).may_treat
    assert clearance(later).reasons == ("Severe obesity: rules out this plan's indication.",)


def test_an_old_screening_needs_renewal(session, settings):
    Screening.objects.update(screened_at=timezone.now() - dt.timedelta(days=400))
    assert clearance(session).clearance == Clearance.NEEDS_SCREENING
    settings.CLINIC_SCREENING_MAX_AGE_MONTHS = 24
    assert clearance(session).may_treat


def test_a_new_consent_text_version_asks_for_a_new_signature(session):
    old = current_consent_text()
    ConsentText.objects.create(
        version=old.version + 1,
        title=old.title,
        body=old.body + "\nNew paragraph.",
        effective_from=timezone.localdate(),
    )
    assert clearance(session).clearance == Clearance.NEEDS_CONSENT
    sign(session.plan)
    assert clearance(session).may_treat


@pytest.mark.django_db
def test_many_sessions_take_a_fixed_number_of_queries(django_assert_num_queries):
    thighs = TreatmentArea.objects.get(name="Thighs")

    def add(n, kinds=("judged", "allergic", "infected")):
        """n plans, each client in turn judged fit, allergic to the mixture, or
        with an infection on an area the plan treats."""
        for i in range(n):
            plan = make_plan()
            kind = kinds[i % len(kinds)]
            yes = {"judged": [Contraindication.DIABETES], "infected": [Contraindication.SKIN_INFECTION]}
            screen(plan.client, yes=yes.get(kind, []), judgement="Well controlled", areas=[thighs])
            if kind == "allergic":
                products = [c.product_id for c in plan.mixture.components.all()]
                plan.client.allergies.add(Substance.objects.filter(products__in=products).first())
            if kind == "infected":
                plan.areas.add(thighs)
            sign(plan)
            make_session(plan=plan, starts_at=timezone.now() + dt.timedelta(days=30 + len(sessions)))
            sessions.append(plan.sessions.select_related("plan").get())

    sessions = []
    add(3)
    # Latest screenings, their answers, the in-area answers' areas, allergies,
    # the allergic clients' mixtures' substances, the plans' areas where an
    # in-area condition is, fat-reduction indications, consents to the text in force.
    with django_assert_num_queries(8):
        verdicts = [v.clearance for v in clearances(sessions).values()]
    assert verdicts == [Clearance.CLEAR, Clearance.BLOCKED, Clearance.BLOCKED]
    add(9)
    with django_assert_num_queries(8):
        verdicts = [v.clearance for v in clearances(sessions).values()]
    assert verdicts == [Clearance.CLEAR, Clearance.BLOCKED, Clearance.BLOCKED] * 4
    # No allergy and no in-area condition among them: nothing of the
    # mixtures or the areas to read.
    with django_assert_num_queries(5):
        assert [v.clearance for v in clearances(sessions[::3]).values()] == [Clearance.CLEAR] * 4


@pytest.mark.django_db
def test_the_rule_and_the_alerts_read_the_same_screening_facts_once(django_assert_num_queries):
    """A page that shows both (the client page, the record form) reads the
    latest screening, its answers and areas and the allergies once: what each
    says is what it says reading them itself."""
    face, thighs = TreatmentArea.objects.get(name="Face"), TreatmentArea.objects.get(name="Thighs")
    plans = [make_plan() for _ in range(3)]
    infected, allergic, judged = plans
    screen(infected.client, yes=[Contraindication.SKIN_INFECTION, Contraindication.PREGNANCY], areas=[thighs, face])
    infected.areas.add(thighs)
    products = [c.product_id for c in allergic.mixture.components.all()]
    allergic.client.allergies.add(*Substance.objects.filter(products__in=products)[:2])
    screen(allergic.client)
    screen(judged.client, yes=[Contraindication.DIABETES], judgement="Well controlled")
    for plan in plans:
        sign(plan)
    ids = [p.client_id for p in plans]

    alone = client_alerts(ids)
    verdicts = plan_clearances(plans)
    with django_assert_num_queries(4):  # screenings, answers, the in-area answers' areas, allergies
        facts = screening_facts(ids)
    with django_assert_num_queries(2):  # open side effects, consent texts
        shared = client_alerts(ids, facts=facts)
    # The allergic clients' mixtures' substances, the in-area plans' areas,
    # fat-reduction indications, consents to the text in force.
    with django_assert_num_queries(4):
        assert plan_clearances(plans, facts) == verdicts
    assert shared == alone
    assert [a.title for a in shared[infected.client_id].items][:2] == [
        "Pregnant or breastfeeding",
        "Active skin infection: Face, Thighs",
    ]
    assert verdicts[infected.pk].clearance == verdicts[allergic.pk].clearance == Clearance.BLOCKED
    assert verdicts[judged.pk].may_treat
    # Facts of other clients are not taken for these: they are read again.
    partial = screening_facts(ids[:1])
    with django_assert_num_queries(4 + 2):
        assert client_alerts(ids, facts=partial) == alone


@pytest.mark.django_db
def test_the_schedule_warns_and_only_clinical_staff_read_the_reason(client):
    start = next_weekday_at(10)
    unscreened = make_session(starts_at=start)
    pregnant = make_session(starts_at=start + dt.timedelta(hours=1))
    screen(pregnant.plan.client, yes=[Contraindication.PREGNANCY])
    sign(pregnant.plan)
    url = reverse("schedule") + f"?date={start.date().isoformat()}"

    client.force_login(make_user(Role.PRACTITIONER))
    page = client.get(url).content.decode()
    assert "Screening due" in page and "Do not treat" in page
    assert "an absolute contraindication" in page

    client.force_login(make_user(Role.RECEPTION))
    page = client.get(url).content.decode()
    assert "Screening due" in page and "Do not treat" in page
    assert "absolute contraindication" not in page
    assert "Pregnant" not in page
    assert unscreened.plan.client.full_name in page


@pytest.mark.django_db
def test_the_screening_facts_read_in_plain_sql_are_what_the_orm_reads():
    """screening_facts reads in plain SQL what Screening.latest_of_client and
    the answers' and allergies' models say, with the ORM's types: the latest
    screening (two at the same minute: the later one made), its yes answers
    and the indication-only ones with their judge, in-area answers' areas by
    name, allergies by name, datetimes aware (SQLite gives them naive) and
    yes a boolean."""
    face, thighs = TreatmentArea.objects.get(name="Face"), TreatmentArea.objects.get(name="Thighs")
    plans = [make_plan() for _ in range(3)]
    twice, judged, unscreened = (p.client for p in plans)
    at = timezone.now().replace(microsecond=0) - dt.timedelta(days=3)
    screen(twice, screened_at=at, yes=[Contraindication.DIABETES], judgement="Stable")
    latest = screen(twice, screened_at=at, yes=[Contraindication.SKIN_INFECTION], areas=[thighs, face])
    screen(judged, yes=[Contraindication.DIABETES], judgement="Well controlled")
    twice.allergies.add(*Substance.objects.order_by("-name")[:2])
    ids = [twice.pk, judged.pk, unscreened.pk]

    facts = screening_facts(ids)

    expected = {
        c: (pk, when)
        for c, pk, when in Screening.objects.filter(client_id__in=ids, pk=Screening.latest_of_client()).values_list(
            "client_id", "pk", "screened_at"
        )
    }
    assert facts.screenings == expected and facts.screenings[twice.pk][0] == latest.pk
    assert all(when.tzinfo is not None for _, when in facts.screenings.values())
    rows = facts.answers[latest.pk]
    yes = [r for r in rows if r["answer"]]
    assert [r["question"] for r in yes] == [Contraindication.SKIN_INFECTION]
    assert all(type(r["answer"]) is bool for r in rows)
    assert [name for _, name in facts.areas[yes[0]["pk"]]] == ["Face", "Thighs"]
    (diabetes,) = [r for r in facts.answers[facts.screenings[judged.pk][0]] if r["answer"]]
    assert diabetes["judgement"] == "Well controlled" and diabetes["judged_at"].tzinfo is not None
    assert diabetes["judged_by__profession"] == "physician"
    assert list(facts.allergies[twice.pk].values()) == sorted(twice.allergies.values_list("name", flat=True), key=str)
    assert unscreened.pk not in facts.screenings and unscreened.pk not in facts.allergies
