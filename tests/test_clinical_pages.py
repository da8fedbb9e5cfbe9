"""Screening and consent pages: what the practitioner records before treating."""

import pytest
from django.urls import reverse
from django.utils import timezone

from sessions_app.clearance import Clearance
from sessions_app.models import Consent, ConsentText, Contraindication, Screening, ScreeningAnswer
from sessions_app.services.clearance import clearance, current_consent_text

from .factories import make_client, make_plan, make_session


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
def test_a_missing_answer_is_refused(practitioner_client):
    client_obj = make_plan().client
    data = all_no()
    del data["pregnancy_answer"]
    response = practitioner_client.post(reverse("screening_new", args=[client_obj.pk]), data)
    assert "This field is required" in " ".join(response.context["form"].errors["pregnancy_answer"])
    assert not Screening.objects.exists()


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
