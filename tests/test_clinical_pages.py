"""Screening and consent pages: what the practitioner records before treating."""

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from sessions_app.clearance import Clearance
from sessions_app.models import (
    Consent,
    ConsentText,
    Contraindication,
    Indication,
    Mixture,
    Screening,
    ScreeningAnswer,
    TreatmentArea,
)
from sessions_app.services.clearance import clearance, current_consent_text

from .factories import make_answer, make_client, make_consent, make_plan, make_screening, make_session


@pytest.fixture
def practitioner_client(client, practitioner):
    client.force_login(practitioner)
    return client


def all_no(**overrides):
    data = {f"{q}_answer": "no" for q in Contraindication.values}
    return data | overrides


@pytest.mark.django_db
def test_a_screening_records_every_answer_with_its_severity_and_who_screened(practitioner_client, practitioner):
    session = make_session()
    client_obj = session.plan.client
    url = reverse("screening_new", args=[client_obj.pk])
    data = all_no(
        bleeding_answer="yes", bleeding_details="Apixaban 5 mg", bleeding_judgement="Fine needle, pressure after"
    )
    assert practitioner_client.post(url, data).status_code == 302
    screening = Screening.objects.get(client=client_obj)
    assert screening.screened_by == practitioner
    answers = {a.question: a for a in screening.answers.all()}
    assert len(answers) == len(Contraindication.values)
    assert answers["bleeding"].answer and answers["bleeding"].severity == "relative"
    assert answers["pregnancy"].severity == "absolute" and not answers["pregnancy"].answer
    assert clearance(session).clearance == Clearance.NEEDS_CONSENT  # screened and judged; consent still missing


@pytest.mark.django_db
def test_a_yes_without_details_is_refused_beside_the_question_and_nothing_is_saved(practitioner_client):
    client_obj = make_plan().client
    response = practitioner_client.post(reverse("screening_new", args=[client_obj.pk]), all_no(diabetes_answer="yes"))
    assert response.status_code == 200
    assert "a yes needs details" in " ".join(response.context["form"].errors["diabetes_details"])
    assert not Screening.objects.exists() and not ScreeningAnswer.objects.exists()


@pytest.mark.django_db
def test_nothing_is_pre_answered(practitioner_client):
    page = practitioner_client.get(reverse("screening_new", args=[make_client().pk])).content.decode()
    radios = re.findall(r'<input class="btn-check" type="radio"[^>]*>', page)
    assert len(radios) == 2 * len(Contraindication)
    assert not [r for r in radios if "checked" in r]


@pytest.mark.django_db
def test_questions_left_unanswered_are_refused_with_their_list(practitioner_client):
    client_obj = make_plan().client
    data = all_no()
    del data["pregnancy_answer"], data["keloid_answer"]
    response = practitioner_client.post(reverse("screening_new", args=[client_obj.pk]), data)
    form = response.context["form"]
    assert form.errors["pregnancy_answer"] == ["Answer yes or no."]
    assert form.non_field_errors() == [
        "2 questions are not answered yet: Pregnant or breastfeeding, Tendency to keloid scars."
    ]
    assert not Screening.objects.exists()
    nothing = practitioner_client.post(reverse("screening_new", args=[client_obj.pk]), {})
    assert f"{len(Contraindication) - 1} questions are not answered yet" in nothing.content.decode()


@pytest.mark.django_db
def test_a_condition_in_the_area_is_recorded_with_its_areas_in_the_history_too(practitioner_client, practitioner):
    client_obj = make_client()
    url = reverse("screening_new", args=[client_obj.pk])
    data = all_no(skin_infection_answer="yes", skin_infection_details="Folliculitis")
    refused = practitioner_client.post(url, data)
    assert refused.context["form"].errors["skin_infection_areas"] == ["Tick the areas it concerns."]
    thighs = TreatmentArea.objects.get(name="Thighs")
    assert practitioner_client.post(url, data | {"skin_infection_areas": [thighs.pk]}).status_code == 302
    answer = ScreeningAnswer.objects.get(question="skin_infection")
    assert (answer.severity, list(answer.areas.all())) == ("in_area", [thighs])
    latest = answer.history.order_by("-history_id").first()
    assert [a.treatmentarea_id for a in latest.areas.all()] == [thighs.pk]
    assert latest.history_user == practitioner


@pytest.mark.django_db
def test_a_nurse_records_details_but_no_judgement(client, nurse):
    client.force_login(nurse)
    client_obj = make_client()
    url = reverse("screening_new", args=[client_obj.pk])
    page = client.get(url).content.decode()
    assert "diabetes_judgement" not in page and "A physician records the judgement" in page
    data = all_no(diabetes_answer="yes", diabetes_details="Type 2", diabetes_judgement="Crafted by hand")
    assert client.post(url, data).status_code == 302
    answer = ScreeningAnswer.objects.get(question="diabetes")
    assert (answer.judgement, answer.judged_by) == ("", None)  # the form has no such field for a nurse


@pytest.mark.django_db
def test_a_nurse_cannot_write_a_judgement_through_the_service(nurse):
    from sessions_app.services.clinical import AnswerInput, ScreeningRefused, screening_record

    answers = [AnswerInput(q, False) for q in Contraindication.values if q != "diabetes"]
    answers.append(AnswerInput("diabetes", True, details="Type 2", judgement="Fine"))
    with pytest.raises(ScreeningRefused, match="only a physician records a judgement"):
        screening_record(client=make_client(), screened_by=nurse, answers=answers)
    assert not Screening.objects.exists()


@pytest.mark.django_db
def test_severe_obesity_is_required_only_for_a_client_with_a_fat_reduction_plan(practitioner_client):
    client_obj = make_plan().client
    url = reverse("screening_new", args=[client_obj.pk])
    data = all_no()
    del data["severe_obesity_answer"]
    assert 'class="question-group mb-3" id="group-fat-reduction"' in practitioner_client.get(url).content.decode()
    assert practitioner_client.post(url, data).status_code == 302
    assert not ScreeningAnswer.objects.filter(question="severe_obesity").exists()

    make_plan(
        client=client_obj,
        indication=Indication.objects.get(name="Body contouring"),
        mixture=Mixture.objects.get(name="Body contouring"),
    )
    response = practitioner_client.post(url, data)
    assert response.context["form"].errors["severe_obesity_answer"] == ["Answer yes or no."]
    assert practitioner_client.post(url, all_no()).status_code == 302


@pytest.mark.django_db
def test_a_physician_judges_what_a_nurse_screened_and_the_client_is_cleared(client, practitioner, nurse):
    session = make_session()
    make_consent(session.plan)
    screening = make_screening(session.plan.client, days_ago=0, answered=False, screened_by=nurse)
    diabetes = make_answer(screening, Contraindication.DIABETES, answer=True, details="Type 2")
    for q in Contraindication.values:
        if q != "diabetes":
            make_answer(screening, q, answer=False)
    assert clearance(session).clearance == Clearance.NEEDS_JUDGEMENT
    url = reverse("screening_judge", args=[screening.pk])
    client.force_login(nurse)
    assert client.get(url).status_code == 403
    client.force_login(practitioner)
    assert "Type 2" in client.get(url).content.decode()
    assert client.post(url, {f"judgement_{diabetes.pk}": "HbA1c 6.8%, small needle"}).status_code == 302
    diabetes.refresh_from_db()
    assert (diabetes.judgement, diabetes.judged_by) == ("HbA1c 6.8%, small needle", practitioner)
    assert clearance(session).may_treat


@pytest.mark.django_db
def test_the_client_signs_the_current_text_and_a_new_version_asks_again(practitioner_client, practitioner):
    plan = make_plan()
    url = reverse("consent_new", args=[plan.pk])
    text = current_consent_text()
    assert text.title in practitioner_client.get(url).content.decode()

    refused = practitioner_client.post(url, {"signed_name": plan.client.full_name})
    assert "must tick the box" in " ".join(refused.context["form"].errors["agreed"])
    assert not Consent.objects.exists()

    practitioner_client.post(url, {"signed_name": plan.client.full_name, "agreed": "on"})
    consent = Consent.objects.get(plan=plan)
    assert (consent.consent_text, consent.witnessed_by, consent.signed_name) == (
        text,
        practitioner,
        plan.client.full_name,
    )
    assert "Signed by" in practitioner_client.get(url).content.decode()

    newer = ConsentText.objects.create(
        version=text.version + 1, title=text.title, body=text.body, effective_from=timezone.localdate()
    )
    assert "Signed by" not in practitioner_client.get(url).content.decode()
    practitioner_client.post(url, {"signed_name": plan.client.full_name, "agreed": "on"})
    assert set(Consent.objects.filter(plan=plan).values_list("consent_text", flat=True)) == {text.pk, newer.pk}


@pytest.mark.django_db
def test_signing_twice_keeps_one_signature(practitioner_client):
    plan = make_plan()
    url = reverse("consent_new", args=[plan.pk])
    practitioner_client.post(url, {"signed_name": "A", "agreed": "on"})
    practitioner_client.post(url, {"signed_name": "B", "agreed": "on"})
    assert list(Consent.objects.values_list("signed_name", flat=True)) == ["A"]


@pytest.mark.django_db
def test_reception_cannot_screen_or_take_consent(client, reception):
    client.force_login(reception)
    plan = make_plan()
    assert client.get(reverse("screening_new", args=[plan.client_id])).status_code == 403
    assert client.get(reverse("consent_new", args=[plan.pk])).status_code == 403


@pytest.mark.django_db
def test_every_screening_answer_keeps_who_recorded_it_in_its_history(practitioner_client, practitioner):
    client_obj = make_client()
    data = all_no(bleeding_answer="yes", bleeding_details="Apixaban", bleeding_judgement="Pressure after")
    assert practitioner_client.post(reverse("screening_new", args=[client_obj.pk]), data).status_code == 302
    answers = ScreeningAnswer.objects.filter(screening__client=client_obj)
    created = ScreeningAnswer.history.filter(history_type="+", screening__client=client_obj)
    assert created.count() == answers.count() == len(Contraindication)
    assert set(created.values_list("history_user", flat=True)) == {practitioner.pk}
    assert Screening.history.get(client=client_obj).history_user == practitioner


@pytest.mark.django_db
def test_the_screening_form_costs_a_fixed_number_of_queries(practitioner_client, django_assert_num_queries):
    from sessions_app.models import Substance

    client_obj = make_plan().client
    url = reverse("screening_new", args=[client_obj.pk])
    # session, user, roles and permissions (one query), the client, their allergies,
    # whether a plan reduces fat, the areas (for each condition in the area),
    # (the navigation's roles came with the permissions).
    with django_assert_num_queries(7):
        practitioner_client.get(url)
    client_obj.allergies.set(Substance.objects.all()[:5])
    for n in range(5):
        TreatmentArea.objects.create(name=f"Area {n}", region="body")
    with django_assert_num_queries(7):
        practitioner_client.get(url)


@pytest.mark.django_db
def test_the_client_page_offers_a_physician_to_judge_a_condition_calling_for_caution(client, practitioner, nurse):
    screening = make_screening(days_ago=0, yes=[Contraindication.DIABETES], screened_by=nurse)
    url = reverse("client_detail", args=[screening.client_id])
    judge = reverse("screening_judge", args=[screening.pk])
    client.force_login(practitioner)
    page = client.get(url).content.decode()
    assert judge in page and "Waits for a physician&#x27;s judgement." in page
    client.force_login(nurse)
    assert judge not in client.get(url).content.decode()
