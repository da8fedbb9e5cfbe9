"""The access log of reads and exports, and privacy requests: a client's whole
record, and the erasure of contact and marketing data that keeps the clinical
record."""

import datetime as dt
import json

import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction
from django.test import Client as Browser
from django.urls import reverse
from django.utils import timezone

from sessions_app.models import (
    AccessLog,
    Client,
    Reminder,
    ReminderStatus,
    SessionStatus,
    SideEffect,
)

from .factories import (
    make_client,
    make_injection,
    make_lot,
    make_photo,
    make_plan,
    make_reminder,
    make_session,
    make_side_effect,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(practitioner):
    """A client with a treated session (an injection with its lot), a side effect,
    a photo, a sent and a pending reminder."""
    patient = make_client(first_name="Lucie", last_name="Garnier", address="3 rue des Lilas, Lyon")
    patient.consent_email = True
    patient.save()
    plan = make_plan(client=patient, practitioner=practitioner)
    start = timezone.now().replace(microsecond=0) - dt.timedelta(days=3)
    session = make_session(plan=plan, starts_at=start, status=SessionStatus.COMPLETED, notes="Slight redness")
    make_injection(session, lots=[make_lot(lot_number="TRACE-77")])
    make_side_effect(session, onset=timezone.localdate() - dt.timedelta(days=2))
    make_photo(session)
    make_reminder(patient, status=ReminderStatus.SENT, sent_at=timezone.now(), message="Hello Lucie, see you soon")
    make_reminder(patient, due_at=timezone.now() + dt.timedelta(days=3))
    return patient


# --- The access log -----------------------------------------------------------


def test_reading_a_client_record_is_logged_with_who_what_and_when(client, reception, practitioner, history):
    session = history.plans.get().sessions.get()
    photo = session.photos.get()
    client.force_login(reception)
    client.get(reverse("client_detail", args=[history.pk]))
    client.force_login(practitioner)
    client.get(reverse("session_record", args=[session.pk]))
    client.get(reverse("session_photo", args=[photo.pk]))
    entries = list(AccessLog.objects.filter(client=history).order_by("at", "pk"))
    assert [(e.user, e.action) for e in entries] == [
        (reception, "view_client"),
        (practitioner, "view_record"),
        (practitioner, "view_photo"),
    ]
    assert entries[1].detail == f"session {session.pk}" and entries[0].ip_address == "127.0.0.1"
    assert entries[0].path == reverse("client_detail", args=[history.pk])


def test_a_refused_read_is_not_logged_as_a_read(client, reception, history):
    photo = history.plans.get().sessions.get().photos.get()
    client.force_login(reception)
    assert client.get(reverse("session_photo", args=[photo.pk])).status_code == 403
    assert not AccessLog.objects.filter(action="view_photo").exists()


def test_a_manager_reads_the_log_and_nobody_edits_it_from_the_app(manager_client, reception, history):
    client = Browser()  # reception's own browser
    client.force_login(reception)
    client.get(reverse("client_detail", args=[history.pk]))
    entry = AccessLog.objects.get()
    changelist = reverse("admin:sessions_app_accesslog_changelist")
    response = manager_client.get(changelist, {"client__id__exact": history.pk})
    assert list(response.context["cl"].result_list) == [entry]
    change = reverse("admin:sessions_app_accesslog_change", args=[entry.pk])
    manager_client.post(change, {"action": "export_client", "detail": "tampered"})
    delete = reverse("admin:sessions_app_accesslog_delete", args=[entry.pk])
    assert manager_client.post(delete, {"post": "yes"}).status_code == 403
    entry.refresh_from_db()
    assert (entry.action, entry.detail) == ("view_client", "")
    client.force_login(reception)
    assert client.get(changelist).status_code == 403  # not staff: no admin at all


@pytest.mark.postgres_only
def test_the_database_refuses_to_rewrite_the_access_log(reception, history):
    entry = AccessLog.objects.create(user=reception, action="view_client", client=history, path="/")
    for rewrite in (lambda: AccessLog.objects.filter(pk=entry.pk).update(detail="x"), entry.delete):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            rewrite()
    assert AccessLog.objects.filter(pk=entry.pk, detail="").exists()


# --- Export -------------------------------------------------------------------


def test_a_manager_exports_the_whole_record_as_json_and_the_export_is_logged(manager_client, manager, history):
    response = manager_client.get(reverse("client_export_json", args=[history.pk]))
    assert response["Content-Type"].startswith("application/json")
    assert "attachment" in response["Content-Disposition"] and "no-store" in response["Cache-Control"]
    record = json.loads(response.content)
    assert record["client"]["last_name"] == "Garnier" and record["client"]["address"] == "3 rue des Lilas, Lyon"
    [plan] = record["plans"]
    [session] = plan["sessions"]
    assert session["notes"] == "Slight redness"
    assert session["injections"][0]["lots"] == [{"product": "Hyalu Meso 1%", "lot": "TRACE-77"}]
    # In words, as the client reads them, never the codes.
    assert session["photos"][0]["kind"] == "Before"
    assert (session["status"], plan["status"]) == ("Completed", "Active series")
    assert {(r["kind"], r["channel"]) for r in record["reminders"]} == {("Upcoming session", "Email to client")}
    assert len(record["side_effects"]) == 1 and len(record["reminders"]) == 2
    assert AccessLog.objects.get(action="export_client").user == manager


def test_the_readable_export_shows_the_record(manager_client, history):
    page = manager_client.get(reverse("client_export", args=[history.pk])).content.decode()
    assert "Everything held about Lucie Garnier" in page and "TRACE-77" in page and "Slight redness" in page
    # Statuses and kinds in words, not codes ("upcoming_session by email").
    assert "Upcoming session, email to client: sent" in page and "active series" in page
    assert "upcoming_session" not in page and "by email" not in page


@pytest.mark.parametrize("role", ["reception", "practitioner"])
def test_only_managers_answer_privacy_requests(client, request, role, history):
    client.force_login(request.getfixturevalue(role))
    for name in ("client_export", "client_export_json", "client_erase"):
        assert client.get(reverse(name, args=[history.pk])).status_code == 403
    assert client.post(reverse("client_erase", args=[history.pk]), {"confirm_name": "Lucie Garnier"}).status_code == 403
    assert not Client.objects.get(pk=history.pk).is_erased


# --- Erasure ------------------------------------------------------------------


def test_erasure_removes_contact_and_marketing_data_and_keeps_the_clinical_record(manager_client, manager, history):
    before = {
        "sessions": history.plans.get().sessions.count(),
        "injections": history.plans.get().sessions.get().injections.count(),
        "side_effects": SideEffect.objects.filter(client=history).count(),
        "photos": history.plans.get().sessions.get().photos.count(),
    }
    page = manager_client.get(reverse("client_erase", args=[history.pk])).content.decode()
    assert "Kept until" in page
    wrong = manager_client.post(reverse("client_erase", args=[history.pk]), {"confirm_name": "Lucie"})
    assert "Type “Lucie Garnier” exactly" in wrong.content.decode()
    assert not Client.objects.get(pk=history.pk).is_erased

    response = manager_client.post(reverse("client_erase", args=[history.pk]), {"confirm_name": " lucie  garnier "})
    assert response.status_code == 302
    erased = Client.objects.get(pk=history.pk)
    assert (erased.email, erased.phone, erased.address) == ("", "", "")
    assert not erased.consent_email and not erased.consent_sms
    assert erased.is_archived and erased.erased_by == manager
    assert (erased.first_name, erased.last_name, erased.date_of_birth) == ("Lucie", "Garnier", history.date_of_birth)
    # Every earlier version in the history lost the contact data too.
    assert not Client.history.filter(id=history.pk).exclude(email="", phone="", address="").exists()
    # No reminder will go out; the text of those sent is gone.
    assert not Reminder.objects.filter(client=history, status=ReminderStatus.PENDING).exists()
    assert set(Reminder.objects.filter(client=history).values_list("message", flat=True)) == {""}
    # The clinical record is whole.
    session = erased.plans.get().sessions.get()
    assert before == {
        "sessions": erased.plans.get().sessions.count(),
        "injections": session.injections.count(),
        "side_effects": SideEffect.objects.filter(client=history).count(),
        "photos": session.photos.count(),
    }
    assert AccessLog.objects.filter(action="erase_client", client=history, user=manager).exists()
    again = manager_client.post(reverse("client_erase", args=[history.pk]), {"confirm_name": "Lucie Garnier"})
    assert "Already erased" in again.content.decode()
    assert Client.objects.get(pk=history.pk).erased_at == erased.erased_at


def test_an_erased_client_cannot_be_given_contact_data_again(manager_client, history):
    manager_client.post(reverse("client_erase", args=[history.pk]), {"confirm_name": "Lucie Garnier"})
    data = {
        "first_name": "Lucie",
        "last_name": "Garnier",
        "date_of_birth": history.date_of_birth.isoformat(),
        "email": "lucie@example.org",
        "preferred_channel": "email",
    }
    page = manager_client.get(reverse("admin:sessions_app_client_change", args=[history.pk])).content.decode()
    assert 'name="email"' not in page  # shown, not editable
    manager_client.post(reverse("admin:sessions_app_client_change", args=[history.pk]), data)
    erased = Client.objects.get(pk=history.pk)
    assert erased.email == ""
    erased.phone = "+33 6 00 00 00 00"
    with pytest.raises(ValidationError, match="An erased client has no contact details"):
        erased.full_clean()


def test_every_way_of_reading_a_record_is_logged(practitioner, manager_client, history):
    session = history.plans.get().sessions.get()
    lot = session.injections.get().lots.get()
    client = Browser()  # the practitioner's; the manager has their own
    client.force_login(practitioner)
    pages = {
        "the amend form shows the whole record": reverse("session_amend", args=[session.pk]),
        "a lot trace lists the clients given the lot": reverse("lot_trace", args=[lot.pk]),
        "the open side effects list each client's": reverse("side_effect_list"),
    }
    for what, url in pages.items():
        before = AccessLog.objects.filter(client=history, user=practitioner).count()
        assert client.get(url).status_code == 200, what
        assert AccessLog.objects.filter(client=history, user=practitioner).count() == before + 1, what
    # The recall file holds the client's contact details: it is in their log.
    client.get(reverse("lot_trace", args=[lot.pk]), {"format": "csv"})
    assert AccessLog.objects.filter(client=history, action="export_lot_trace", detail__contains="TRACE-77").exists()
    # A manager reading the record, or its history, in the admin.
    for url in (
        reverse("admin:sessions_app_treatmentsession_change", args=[session.pk]),
        reverse("admin:sessions_app_client_history", args=[history.pk]),
        reverse("admin:sessions_app_sideeffect_change", args=[SideEffect.objects.get(client=history).pk]),
    ):
        before = AccessLog.objects.filter(client=history).count()
        assert manager_client.get(url).status_code == 200, url
        assert AccessLog.objects.filter(client=history).count() == before + 1, url
    assert manager_client.get(reverse("admin:sessions_app_client_change", args=["not-an-id"])).status_code == 302


def test_behind_the_tls_proxy_the_log_keeps_the_address_the_proxy_saw(client, reception, history, settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    client.force_login(reception)
    client.get(reverse("client_detail", args=[history.pk]), headers={"X-Forwarded-For": "6.6.6.6, 203.0.113.9"})
    assert AccessLog.objects.get().ip_address == "203.0.113.9"  # the first is whatever the visitor claimed


def test_an_erased_client_stays_archived_when_restored_in_the_admin(manager_client, history):
    other = make_client(archived_at=timezone.now())
    manager_client.post(reverse("client_erase", args=[history.pk]), {"confirm_name": "Lucie Garnier"})
    response = manager_client.post(
        reverse("admin:sessions_app_client_changelist") + "?archived=yes",
        {"action": "restore", "_selected_action": [history.pk, other.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert "erased at their request" in response.content.decode()
    assert Client.objects.get(pk=history.pk).is_archived
    assert not Client.objects.get(pk=other.pk).is_archived


def test_the_export_holds_the_quantities_the_ceiling_decisions_and_the_screenings_areas_and_judges(
    manager_client, practitioner, history
):
    from sessions_app.models import Contraindication, TreatmentArea

    from .factories import make_ceiling_decision, make_quantity, make_screening

    session = history.plans.get().sessions.get()
    make_quantity(session.injections.get(), quantity_ml="1.5")
    make_ceiling_decision(session, decided_by=practitioner)
    thighs = TreatmentArea.objects.get(name="Thighs")
    make_screening(
        history, yes=[Contraindication.SKIN_INFECTION, Contraindication.DIABETES], judgement="Fine", areas=[thighs]
    )
    record = json.loads(manager_client.get(reverse("client_export_json", args=[history.pk])).content)
    [exported] = record["plans"][0]["sessions"]
    assert exported["injections"][0]["quantities_ml"] == {"Hyalu Meso 1%": "1.50"}
    [decision] = exported["past_dose_ceilings"]
    assert (decision["substance"], decision["total"], decision["decided_by"]) == (
        "Lidocaine",
        "250.000",
        str(practitioner),
    )
    answers = {a["question"]: a for a in record["screenings"][0]["answers"]}
    assert answers["Active skin infection"]["areas"] == ["Thighs"]
    assert answers["Diabetes"]["judgement"] == "Fine" and answers["Diabetes"]["judged_by"]


def test_the_export_says_each_code_in_words_and_the_page_shows_check_ins_follow_ups_quantities_and_ceilings(
    manager_client, practitioner, history
):
    """Issue 17: human labels wherever a code shows, the privacy export included;
    and the readable page holds what the JSON holds."""
    from sessions_app.services.check_ins import check_in_answer
    from sessions_app.services.side_effects import side_effect_follow_up

    from .factories import check_in_message, make_ceiling_decision, make_quantity

    Client.objects.filter(pk=history.pk).update(sex="female")
    session = history.plans.get().sessions.get()
    make_quantity(session.injections.get(), quantity_ml="1.5")
    make_ceiling_decision(session, decided_by=practitioner, period="12_months", unit="mg")
    staff_effect = history.side_effects.get()
    side_effect_follow_up(
        side_effect_id=staff_effect.pk, by=practitioner, note="Fading", severity="moderate", status="improving"
    )
    for days, answer, score, note in ((1, "fine", None, ""), (2, "redness", 5, "Red cheek")):
        message = check_in_message(session, due_at=session.starts_at + dt.timedelta(days=days))
        check_in_answer(reminder_id=message.pk, answer=answer, score=score, note=note, now=message.due_at)

    record = json.loads(manager_client.get(reverse("client_export_json", args=[history.pk])).content)
    assert record["client"]["sex"] == "Female"
    effects = {e["source"]: e for e in record["side_effects"]}
    assert set(effects) == {"Recorded by staff", "The client's check-in"}
    by_staff = effects["Recorded by staff"]
    assert by_staff["status"] == "Improving"
    assert [(f["severity"], f["status"]) for f in by_staff["follow_ups"]] == [("Moderate", "Improving")]
    assert effects["The client's check-in"]["follow_ups"][0]["severity"] == "Moderate"
    assert [(c["answer"], c["score"], c["side_effect"]) for c in record["check_ins"]] == [
        ("Fine", None, None),
        ("Redness", 5, "Redness"),
    ]
    [decision] = record["plans"][0]["sessions"][0]["past_dose_ceilings"]
    assert (decision["period"], decision["unit"]) == ("over 12 months", "mg")

    page = manager_client.get(reverse("client_export", args=[history.pk])).content.decode()
    for shown in (
        "Female",
        "Hyalu Meso 1% 1.50 ml",
        "past the dose ceiling: Lidocaine 250.000 mg over 12 months (ceiling 200.000 mg)",
        "improving; recorded by staff",
        "moderate, improving; “Fading”",
        "the client&#x27;s check-in",
        "Check-ins after a session",
        ": fine</li>",
        ": redness, 5 out of 10; “Red cheek”; recorded as a side effect (Redness)",
    ):
        assert shown in page, shown
    for code in ("12_months", "check_in", ">open<", "improving,", "female"):
        assert code not in page, code
