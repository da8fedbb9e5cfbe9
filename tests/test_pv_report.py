"""The report for the authorities (issue 16): one side effect as a printable
page, JSON and CSV, holding what pharmacovigilance forms ask for, the CSV's
cells safe from spreadsheet formulas, each export in the access log."""

import csv
import datetime as dt
import io
import json

import pytest
from django.urls import reverse
from django.utils import timezone

from sessions_app.models import AccessAction, AccessLog, Product, Profession, SideEffectKind, TreatmentArea
from sessions_app.services.pv_report import age_on, initials
from sessions_app.services.side_effects import side_effect_follow_up, side_effect_record, side_effect_review

from .factories import done_session, make_client, make_injection, make_lot, make_plan


def test_initials_and_age():
    assert initials("Camille", "Durand") == "C.D."
    assert initials("Jean-Pierre", "Le Goff") == "J.-P.L.G."
    assert initials("élodie", "ébert") == "É.É."
    assert age_on(dt.date(1985, 4, 12), dt.date(2026, 4, 11)) == 40
    assert age_on(dt.date(1985, 4, 12), dt.date(2026, 4, 12)) == 41


@pytest.fixture
def reported(practitioner):
    practitioner.profession, practitioner.registration_number = Profession.PHYSICIAN, "10000000001"
    practitioner.save()
    patient = make_client(first_name="Camille", last_name="Durand", date_of_birth=dt.date(1985, 4, 12), sex="female")
    session = done_session(days_ago=6, plan=make_plan(patient, practitioner=practitioner))
    product = Product.objects.get(name="Hyalu Meso 1%")
    lot = make_lot(product, lot_number="HY-2611")
    make_injection(session, lots=[lot])
    effect = side_effect_record(
        client=patient,
        session=session,
        kind=SideEffectKind.objects.get(name="Allergic reaction"),
        severity="severe",
        serious=True,
        onset=timezone.localdate() - dt.timedelta(days=5),
        resolved_on=None,
        action_taken='=HYPERLINK("http://evil")',
        notes="+33 hives on both cheeks",
        recorded_by=practitioner,
        area=TreatmentArea.objects.get(name="Face"),
        suspected_product=product,
    )
    side_effect_review(side_effect_id=effect.pk, reviewer=practitioner)
    side_effect_follow_up(
        side_effect_id=effect.pk,
        by=practitioner,
        note="Settled with antihistamines",
        severity="mild",
        status="resolved",
        resolved_on=timezone.localdate(),
    )
    return effect


@pytest.mark.django_db
def test_the_report_holds_what_the_forms_ask_for(client, practitioner, reported):
    client.force_login(practitioner)
    response = client.get(reverse("side_effect_report_json", args=[reported.pk]))
    assert response["Content-Type"] == "application/json"
    assert "attachment" in response["Content-Disposition"]
    report = json.loads(response.content)
    assert report["reporter"] == {
        "name": str(practitioner),
        "profession": "Physician",
        "registration_number": "10000000001",
    }
    assert report["patient"] == {
        "initials": "C.D.",
        "age_at_onset": reported.client.date_of_birth and 41,
        "sex": "Female",
    }
    assert report["suspected"]["products"] == ["Hyalu Meso 1%"]
    assert report["suspected"]["lots"][0]["lot"] == "HY-2611"
    session_day = timezone.localtime(reported.session.starts_at).date()
    assert report["dates"] == {
        "treatment": f"{session_day:%Y-%m-%d}",
        "onset": f"{reported.onset:%Y-%m-%d}",
        "resolved": f"{timezone.localdate():%Y-%m-%d}",
    }
    assert report["reaction"]["kind"] == "Allergic reaction" and report["reaction"]["area"] == "Face"
    assert (report["seriousness"], report["outcome"]) == ("Serious", "Recovered/resolved")
    # Nothing that names the client beyond initials, age and sex.
    text = response.content.decode()
    for private in ("Camille", "Durand", reported.client.email, reported.client.phone):
        assert private not in text
    assert AccessLog.objects.filter(action=AccessAction.EXPORT_SIDE_EFFECT, client=reported.client).exists()


@pytest.mark.django_db
def test_the_csv_neutralises_formulas_and_the_page_prints(client, practitioner, reported):
    client.force_login(practitioner)
    response = client.get(reverse("side_effect_report_csv", args=[reported.pk]))
    rows = dict(csv.reader(io.StringIO(response.content.decode())))
    assert rows["reaction.action_taken"] == '\'=HYPERLINK("http://evil")'
    assert rows["reaction.description"] == "'+33 hives on both cheeks"
    assert rows["patient.initials"] == "C.D." and rows["outcome"] == "Recovered/resolved"
    page = client.get(reverse("side_effect_report", args=[reported.pk]))
    text = page.content.decode()
    assert "Suspected adverse reaction report" in text and "HY-2611" in text and "data-print" in text
    assert "Durand" not in text.split('id="report"')[1]


@pytest.mark.django_db
def test_a_report_without_a_session_or_sex_says_so(client, practitioner):
    patient = make_client()
    effect = side_effect_record(
        client=patient,
        session=None,
        kind=SideEffectKind.objects.get(name="Pain"),
        severity="mild",
        serious=False,
        onset=timezone.localdate(),
        resolved_on=None,
        action_taken="",
        notes="",
        recorded_by=practitioner,
    )
    client.force_login(practitioner)
    report = json.loads(client.get(reverse("side_effect_report_json", args=[effect.pk])).content)
    assert report["patient"]["sex"] == "Not recorded"
    assert report["suspected"]["lots"] == [] and report["dates"]["treatment"] == ""
    assert report["outcome"] == "Not recovered/not resolved"
