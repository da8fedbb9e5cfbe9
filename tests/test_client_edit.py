"""New client, edit client, duplicates and merges: the pages reception,
practitioners and managers use instead of the admin, and the services behind them."""

import datetime as dt
import threading

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test import Client as HttpClient
from django.urls import reverse
from django.utils import timezone

from sessions_app.client_forms import three_way
from sessions_app.models import (
    AccessAction,
    AccessLog,
    Client,
    Reminder,
    ReminderChannel,
    ReminderKind,
    SessionStatus,
    SideEffect,
    SideEffectKind,
    Substance,
)
from sessions_app.reminders.unsubscribe import unsubscribe_token
from sessions_app.services.alerts import client_alerts
from sessions_app.services.check_ins import check_in_answer
from sessions_app.services.clients import (
    DUPLICATES_SHOWN,
    ClientChanged,
    ClientMerged,
    client_duplicates,
    client_merge,
    client_update,
    merge_summary,
    names_alike,
    related_counts,
)
from sessions_app.services.privacy import client_erase
from sessions_app.services.side_effects import (
    client_allergy_from_side_effect,
    side_effect_follow_up,
    side_effect_review,
)

from .factories import (
    check_in_message,
    done_session,
    make_amendment,
    make_ceiling_decision,
    make_cleared,
    make_client,
    make_draft,
    make_injection,
    make_photo,
    make_plan,
    make_quantity,
    make_screening,
    make_session,
    make_side_effect,
    make_user,
)

NEW = {
    "first_name": "Lucía",
    "last_name": "Fernández",
    "date_of_birth": "1984-03-09",
    "phone": "06 12 34 56 78",
    "email": "lucia@example.org",
    "preferred_channel": "sms",
    "consent_sms": "on",
}


def form_errors(response) -> dict:
    return response.context["form"].errors


# --- New client ---------------------------------------------------------------------


@pytest.mark.django_db
def test_reception_adds_a_client_with_the_phone_in_e164_and_history(client, reception):
    client.force_login(reception)
    response = client.post(reverse("client_new"), NEW)
    created = Client.objects.get(last_name="Fernández")
    assert response.url == reverse("client_detail", args=[created.pk])
    assert created.phone == "+33612345678" and created.consent_sms
    assert created.search_key == "lucia fernandez"
    record = created.history.get()
    assert record.history_user == reception and record.history_type == "+"
    page = client.get(response.url).content.decode()
    assert "06 12 34 56 78" in page


@pytest.mark.django_db
def test_the_search_prefills_the_new_client_form(client, reception):
    client.force_login(reception)
    page = client.get(reverse("client_search"), {"q": "garcia"})
    assert "No match: add" in page.content.decode()
    assert f"{reverse('client_new')}?q=garcia" in page.content.decode()
    form = client.get(reverse("client_new"), {"q": "DUPONT marie 06 39 98 76 73 14/09/1966"}).context["form"]
    assert form.initial["last_name"] == "Dupont" and form.initial["first_name"] == "Marie"
    assert form.initial["phone"] == "06 39 98 76 73"
    assert form.initial["date_of_birth"] == dt.date(1966, 9, 14)


@pytest.mark.django_db
def test_a_client_added_from_booking_goes_back_to_booking_picked(client, reception):
    client.force_login(reception)
    options = client.get(reverse("client_lookup"), {"q": "nobody here"}).content.decode()
    assert "as a new client" in options and "next=/book/" in options
    response = client.post(reverse("client_new") + "?next=/book/", {**NEW, "next": "/book/"})
    created = Client.objects.get(last_name="Fernández")
    assert response.url == f"/book/?client={created.pk}"
    booking = client.get(response.url)
    assert booking.context["selected_client"] == created
    # Somewhere else than this site is never where the form goes.
    other = {
        **NEW,
        "last_name": "Other",
        "phone": "07 00 00 00 01",
        "email": "o@example.org",
        "next": "https://evil.example/",
    }
    response = client.post(reverse("client_new"), other)
    assert response.url.startswith("/clients/")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "field, value, message",
    [
        ("date_of_birth", "2999-01-01", "cannot be in the future"),
        ("date_of_birth", "1890-05-05", "more than 120 years ago"),
        ("phone", "06 12", "too few digits"),
        ("phone", "06 12 34 56 78 90 12 34", "too many digits"),
        ("phone", "call me maybe", "digits"),
        ("email", "lucia@", "valid email"),
        ("consent_sms", "on", "need a phone number"),
    ],
)
def test_bad_input_is_said_beside_the_field_and_nothing_is_saved(client, reception, field, value, message):
    client.force_login(reception)
    data = {**NEW, field: value}
    if field == "consent_sms":
        data["phone"] = ""
    response = client.post(reverse("client_new"), data)
    assert response.status_code == 200
    assert message in " ".join(form_errors(response)[field])
    assert 'id="form-errors"' in response.content.decode()  # the summary at the top too
    assert not Client.objects.filter(last_name="Fernández").exists()


@pytest.mark.django_db
def test_clinical_fields_only_for_clinical_staff(client, reception, practitioner):
    allergen = Substance.objects.order_by("pk").first()
    client.force_login(reception)
    form = client.get(reverse("client_new")).context["form"]
    assert "allergies" not in form.fields and "notes" not in form.fields
    # Posted anyway, they are ignored.
    client.post(reverse("client_new"), {**NEW, "notes": "forged", "allergies": [allergen.pk]})
    created = Client.objects.get(last_name="Fernández")
    assert created.notes == "" and not created.allergies.exists()
    with pytest.raises(PermissionDenied):
        client_update(client_id=created.pk, version=created.version, by=reception, values={"notes": "x"})

    client.force_login(practitioner)
    response = client.post(
        reverse("client_edit", args=[created.pk]),
        {**NEW, "notes": "Prefers the left arm", "allergies": [allergen.pk], "version": created.version},
    )
    assert response.status_code == 302
    created.refresh_from_db()
    assert created.notes == "Prefers the left arm" and list(created.allergies.all()) == [allergen]
    assert created.history.first().history_user == practitioner


# --- Duplicates ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "a, b, alike",
    [
        (("Marie", "Dupont"), ("marie", "DUPONT"), True),
        (("José", "García"), ("Jose", "Garcia"), True),
        (("Marie", "Dupont"), ("Dupont", "Marie"), True),
        (("Marie", "Lefebvre"), ("Marie", "Lefebre"), True),
        (("Marie", "Dupont"), ("Paul", "Martin"), False),
    ],
)
def test_names_alike(a, b, alike):
    assert names_alike(*a, *b) is alike


@pytest.mark.django_db
def test_duplicates_are_offered_and_a_different_person_is_added(client, reception):
    twin = make_client(first_name="Lucia", last_name="FERNANDEZ", date_of_birth=dt.date(1984, 3, 9), phone="")
    same_phone = make_client(first_name="Paul", last_name="Other", phone="+33612345678")
    same_email = make_client(first_name="Ana", last_name="Else", email="LUCIA@example.org", phone="")
    make_client(first_name="Lucia", last_name="Fernandez", date_of_birth=dt.date(1990, 1, 1), phone="")
    make_client(first_name="Zoe", last_name="Nothing", date_of_birth=dt.date(1984, 3, 9), phone="")
    client.force_login(reception)
    response = client.post(reverse("client_new"), NEW)
    offered = {d.client: d.reasons for d in response.context["duplicates"]}
    assert set(offered) == {twin, same_phone, same_email}
    assert offered[twin] == ("same date of birth, similar name",)
    page = response.content.decode()
    assert "It's this client" in page and "No, a different person" in page
    assert not Client.objects.filter(last_name="Fernández").exists()

    response = client.post(reverse("client_new"), {**NEW, "distinct": "1"})
    assert response.status_code == 302
    assert Client.objects.filter(last_name="Fernández").count() == 1


@pytest.mark.django_db
def test_it_is_this_client_goes_back_to_booking_with_them(client, reception):
    twin = make_client(first_name="Lucia", last_name="Fernandez", date_of_birth=dt.date(1984, 3, 9))
    client.force_login(reception)
    response = client.post(reverse("client_new"), {**NEW, "next": "/book/"})
    assert f"/book/?client={twin.pk}" in response.content.decode()


@pytest.mark.django_db
def test_duplicates_ignore_merged_and_archived_records():
    gone = make_client(first_name="A", last_name="B", phone="+33612345678", archived_at=timezone.now())
    assert client_duplicates(first_name="X", last_name="Y", date_of_birth=None, phone=gone.phone) == []


# --- Editing, and two people editing at once ---------------------------------------------


@pytest.mark.django_db
def test_the_duplicates_list_makes_the_same_queries_however_many_it_shows(client, reception, django_assert_num_queries):
    client.force_login(reception)
    url = reverse("client_new")
    make_client(first_name="Lucia", last_name="Fernandez", date_of_birth=dt.date(1984, 3, 9))
    # session, user, roles and permissions (one query), the probable duplicates (one
    # query, at most 200 candidates read, DUPLICATES_SHOWN shown), groups
    # (navigation).
    with django_assert_num_queries(4):
        response = client.post(url, NEW)
    assert len(response.context["duplicates"]) == 1
    for i in range(12):
        make_client(first_name="Lucía", last_name=f"Fernández {i}", date_of_birth=dt.date(1984, 3, 9))
    with django_assert_num_queries(4):
        response = client.post(url, NEW)
    assert len(response.context["duplicates"]) == DUPLICATES_SHOWN
    assert "It&#x27;s this client" in response.content.decode() or "It's this client" in response.content.decode()


@pytest.mark.django_db
def test_reception_edits_the_phone(client, reception):
    patient = make_client(phone="06 11 11 11 11")
    client.force_login(reception)
    form = client.get(reverse("client_edit", args=[patient.pk])).context["form"]
    assert form.initial["phone"] == "06 11 11 11 11"
    data = {**{k: v for k, v in form.initial.items() if v not in (None, False)}, "phone": "+33 6 22 22 22 22"}
    data["date_of_birth"] = patient.date_of_birth.isoformat()
    response = client.post(reverse("client_edit", args=[patient.pk]), data)
    assert response.status_code == 302
    patient.refresh_from_db()
    assert patient.phone == "+33622222222" and patient.version == 2
    assert patient.history.first().history_user == reception


def _edit_data(form) -> dict:
    data = {k: v for k, v in form.initial.items() if v not in (None, False, [])}
    data["date_of_birth"] = form.initial["date_of_birth"].isoformat()
    return data


@pytest.mark.django_db
def test_the_second_save_is_told_what_changed_and_overwrites_nothing(client, reception):
    patient = make_client(phone="06 11 11 11 11", email="old@example.org", address="1 rue A")
    anna, ben = reception, make_user("Reception", first_name="Ben", last_name="Late")
    client.force_login(ben)
    ben_form = client.get(reverse("client_edit", args=[patient.pk])).context["form"]
    # Anna saves first: a new phone and a new address.
    client_update(
        client_id=patient.pk,
        version=patient.version,
        by=anna,
        values={"phone": "06 99 99 99 99", "address": "2 rue B"},
    )
    # Ben, from the old version, changes the email and the address.
    response = client.post(
        reverse("client_edit", args=[patient.pk]),
        {**_edit_data(ben_form), "email": "new@example.org", "address": "3 rue C"},
    )
    assert response.status_code == 409
    patient.refresh_from_db()
    assert (patient.phone, patient.address, patient.email) == ("+33699999999", "2 rue B", "old@example.org")
    form = response.context["form"]
    summary = " ".join(form.non_field_errors())
    assert "changed this record" in summary and "nothing was saved" in summary
    assert "06 99 99 99 99" in summary  # her phone, taken into the form
    assert form.data["phone"] == "06 99 99 99 99" and form.data["email"] == "new@example.org"
    assert "2 rue B" in " ".join(form.errors["address"])  # both changed it: marked beside the field
    # Saving again, deliberately, keeps Ben's address and email and Anna's phone.
    again = client.post(
        reverse("client_edit", args=[patient.pk]), {**form.data, "date_of_birth": form.data.get("date_of_birth")}
    )
    assert again.status_code == 302
    patient.refresh_from_db()
    assert (patient.phone, patient.address, patient.email) == ("+33699999999", "3 rue C", "new@example.org")


def _refused_summary(response) -> str:
    assert response.status_code == 409
    return " ".join(response.context["form"].non_field_errors())


@pytest.mark.django_db
def test_an_allergy_added_from_a_side_effect_refuses_an_edit_opened_before(client, practitioner):
    session = done_session()
    patient = session.plan.client
    client.force_login(practitioner)
    url = reverse("client_edit", args=[patient.pk])
    stale = client.get(url).context["form"]
    substance = Substance.objects.order_by("pk").first()
    reaction = make_side_effect(
        session, kind=SideEffectKind.objects.get(name="Allergic reaction"), suspected_substance=substance
    )
    side_effect_review(side_effect_id=reaction.pk, reviewer=practitioner)
    client_allergy_from_side_effect(side_effect_id=reaction.pk, by=practitioner)

    # The form opened before, allergies unticked, is refused: the allergy stays.
    response = client.post(url, {**_edit_data(stale), "address": "10 rue Neuve"})
    summary = _refused_summary(response)
    assert "while you were editing" in summary and "Known allergies" in summary
    patient.refresh_from_db()
    assert list(patient.allergies.all()) == [substance] and patient.address != "10 rue Neuve"
    added = patient.history.first()
    assert added.history_user == practitioner and f"side effect {reaction.pk}" in added.history_change_reason
    # The form comes back with the allergy ticked: saving it keeps both.
    form = response.context["form"]
    again = client.post(url, {**form.data, "date_of_birth": form.data.get("date_of_birth")})
    assert again.status_code == 302
    patient.refresh_from_db()
    assert list(patient.allergies.all()) == [substance] and patient.address == "10 rue Neuve"


@pytest.mark.django_db
def test_an_unsubscribe_refuses_an_edit_opened_before(client, reception):
    patient = make_client(phone="06 11 11 11 11", consent_sms=True)
    client.force_login(reception)
    url = reverse("client_edit", args=[patient.pk])
    stale = client.get(url).context["form"]
    assert HttpClient().post(f"/u/{unsubscribe_token(patient.pk, 'sms')}/").status_code == 200

    response = client.post(url, {**_edit_data(stale), "address": "10 rue Neuve"})
    summary = _refused_summary(response)
    assert "while you were editing it (Unsubscribed from sms reminders by the link in a message)" in summary
    patient.refresh_from_db()
    assert patient.consent_sms is False and patient.address != "10 rue Neuve"
    withdrawn = patient.history.first()
    assert withdrawn.history_user is None and withdrawn.history_change_reason.startswith("Unsubscribed from sms")
    # The form comes back unticked: saving it does not agree again in the client's name.
    form = response.context["form"]
    assert not form.data.get("consent_sms")
    client.post(url, {**form.data, "date_of_birth": form.data.get("date_of_birth")})
    patient.refresh_from_db()
    assert patient.consent_sms is False and patient.address == "10 rue Neuve"


@pytest.mark.django_db
def test_an_erasure_adds_a_version(manager):
    patient = make_client()
    client_erase(client_id=patient.pk, by=manager)
    patient.refresh_from_db()
    assert patient.version == 2
    with pytest.raises(ClientChanged):
        client_update(client_id=patient.pk, version=1, by=manager, values={"first_name": "Stale"})


def test_three_way():
    merged, conflicts, theirs = three_way({"a": 1, "b": 1, "c": 1}, {"a": 2, "b": 1, "c": 3}, {"a": 1, "b": 5, "c": 4})
    assert merged == {"a": 2, "b": 5, "c": 3} and conflicts == ["c"] and theirs == ["b"]
    merged, conflicts, _ = three_way(None, {"a": 2, "b": 1}, {"a": 1, "b": 1})
    assert conflicts == ["a"]


@pytest.mark.django_db
def test_an_old_version_is_refused_by_the_service(reception):
    patient = make_client()
    client_update(client_id=patient.pk, version=1, by=reception, values={"address": "here"})
    with pytest.raises(ClientChanged):
        client_update(client_id=patient.pk, version=1, by=reception, values={"address": "there"})
    assert Client.objects.get(pk=patient.pk).address == "here"


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_saves_at_once_on_one_version_one_wins(reference_data):
    patient = make_client()
    staff = [make_user("Reception") for _ in range(2)]
    barrier, outcomes = threading.Barrier(2), []

    def edit(user, address):
        try:
            barrier.wait()
            client_update(client_id=patient.pk, version=1, by=user, values={"address": address})
            outcomes.append("saved")
        except ClientChanged:
            outcomes.append("changed")
        finally:
            connection.close()

    threads = [threading.Thread(target=edit, args=(u, f"addr {i}")) for i, u in enumerate(staff)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["changed", "saved"]
    assert Client.objects.get(pk=patient.pk).version == 2


# --- Merging two records ----------------------------------------------------------------


def _full_record(client_obj, practitioner):
    plan = make_cleared(make_plan(client=client_obj, practitioner=practitioner))
    start = timezone.now().replace(microsecond=0, second=0) - dt.timedelta(days=30)
    start += dt.timedelta(hours=client_obj.pk % 8)
    done = make_session(plan=plan, starts_at=start, status=SessionStatus.COMPLETED)
    make_quantity(make_injection(done))
    make_photo(done)
    make_amendment(done)
    make_ceiling_decision(done)
    make_draft(make_session(plan=plan, starts_at=start + dt.timedelta(days=60)))
    bruise = SideEffect.objects.create(
        client=client_obj,
        session=done,
        kind=SideEffectKind.objects.get(name="Bruising"),
        severity="mild",
        onset=timezone.localtime(start).date(),
        recorded_by=practitioner,
    )
    side_effect_follow_up(
        side_effect_id=bruise.pk, by=practitioner, note="Fading.", severity="mild", status="improving"
    )
    # The client's check-ins: one fine, one that became a side effect with its follow-up.
    for answer, score in (("fine", None), ("redness", 3)):
        message = check_in_message(done, due_at=start + dt.timedelta(days=1))
        check_in_answer(reminder_id=message.pk, answer=answer, score=score, note="", now=message.due_at)
    Reminder.objects.create(
        client=client_obj,
        plan=plan,
        session=done,
        kind=ReminderKind.AFTERCARE_CHECK,
        channel=ReminderChannel.CALL,
        key=f"test:aftercare:{done.pk}",
        due_at=start + dt.timedelta(days=2),
    )
    return plan


@pytest.mark.django_db
def test_a_merge_moves_the_whole_record_and_archives_the_other(manager, practitioner):
    keep = make_client(first_name="Marie", last_name="Dupont", email="", phone="")
    other = make_client(first_name="Marie", last_name="Dupond", address="5 rue X", notes="Needle phobia")
    allergen = Substance.objects.order_by("pk").first()
    other.allergies.add(allergen)
    _full_record(keep, practitioner)
    _full_record(other, practitioner)
    other_phone = other.phone
    before = related_counts([keep.pk, other.pk])

    result = client_merge(keep_id=keep.pk, merge_id=other.pk, by=manager)

    assert related_counts([keep.pk]) == before
    assert related_counts([other.pk]) == dict.fromkeys(before, 0)
    keep.refresh_from_db()
    other.refresh_from_db()
    assert other.merged_into == keep and other.is_archived
    assert keep.phone == other_phone and keep.address == "5 rue X" and "Needle phobia" in keep.notes
    assert allergen in keep.allergies.all()
    assert set(result.filled) == {"email", "phone", "address"}
    for record in (keep, other):
        assert "Merged record" in (record.history.first().history_change_reason or "")
        assert record.history.first().history_user == manager
    assert AccessLog.objects.filter(action=AccessAction.MERGE_CLIENT).count() == 2
    with pytest.raises(ClientMerged):
        client_update(client_id=other.pk, version=other.version, by=manager, values={"address": "y"})


@pytest.mark.postgres_only
@pytest.mark.django_db
def test_nothing_clinical_is_lost_in_a_merge_on_postgresql(manager, practitioner, client):
    """On PostgreSQL, with the append-only access log: every row counted
    before and after; the log's entries stay under the old id, listed with
    the kept record."""
    keep, other = make_client(), make_client()
    _full_record(keep, practitioner)
    _full_record(other, practitioner)
    make_screening(other, days_ago=400)
    client.force_login(manager)
    client.get(reverse("client_detail", args=[other.pk]))  # an access log entry under the old id
    before = related_counts([keep.pk, other.pk])
    log_before = AccessLog.objects.filter(client__in=[keep, other]).count()
    assert before["plans"] == 2 and before["photos"] == 2 and before["screenings"] == 3
    # Every kind of row is on the record that goes, so one left behind shows.
    assert all(related_counts([other.pk]).values())
    assert before["check-ins"] == 4 and before["side-effect follow-ups"] == 4

    client.post(
        reverse("client_merge", args=[keep.pk]),
        {"keep": keep.pk, "other": other.pk, "version": keep.version, "other_version": other.version},
    )

    assert related_counts([keep.pk]) == before
    assert related_counts([other.pk]) == dict.fromkeys(before, 0)
    assert AccessLog.objects.filter(client__in=[keep, other]).count() == log_before + 2
    page = client.get(reverse("client_detail", args=[keep.pk])).content.decode()
    assert f"client__id__in={keep.pk},{other.pk}" in page
    changelist = client.get(
        reverse("admin:sessions_app_accesslog_changelist") + f"?client__id__in={keep.pk},{other.pk}"
    )
    assert changelist.status_code == 200


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_merge_racing_an_edit_never_loses_the_edit_silently(reference_data):
    manager = make_user("Manager")
    keep, other = make_client(), make_client()
    barrier, outcomes = threading.Barrier(2), {}

    def merge():
        barrier.wait()
        try:
            client_merge(keep_id=keep.pk, merge_id=other.pk, by=manager, keep_version=1, merge_version=1)
            outcomes["merge"] = "done"
        except ClientChanged:
            outcomes["merge"] = "refused"
        finally:
            connection.close()

    def edit():
        barrier.wait()
        try:
            client_update(client_id=other.pk, version=1, by=manager, values={"address": "edited"})
            outcomes["edit"] = "saved"
        except (ClientChanged, ClientMerged):
            outcomes["edit"] = "refused"
        except Exception as exc:  # the merge refused: the edit came first
            outcomes["edit"] = f"error {exc}"
        finally:
            connection.close()

    threads = [threading.Thread(target=merge), threading.Thread(target=edit)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    keep.refresh_from_db()
    other.refresh_from_db()
    if outcomes.get("edit") == "saved":
        # The edit came first: the merge saw version 2 and refused, nothing merged.
        assert outcomes["merge"] == "refused" and other.address == "edited" and not other.is_merged
    else:
        # The merge came first: the edit was refused, not written onto the archived record.
        assert outcomes == {"merge": "done", "edit": "refused"} and other.address != "edited"


@pytest.mark.django_db
def test_the_merge_page_previews_and_merges(client, manager, practitioner):
    keep, other = make_client(last_name="Kept"), make_client(last_name="Other")
    _full_record(other, practitioner)
    client.force_login(manager)
    url = reverse("client_merge", args=[keep.pk])
    found = client.get(url, {"q": "other"})
    assert list(found.context["candidates"]) == [other]
    preview = client.get(url, {"other": other.pk}).content.decode()
    assert "Which record do you keep?" in preview and "Merge the two records" in preview
    assert merge_summary(other)["check-ins"] == 2 and "Check-ins" in preview
    response = client.post(
        url, {"keep": keep.pk, "other": other.pk, "version": keep.version, "other_version": other.version}
    )
    assert response.url == reverse("client_detail", args=[keep.pk])
    page = client.get(response.url).content.decode()
    assert "Also holds the merged record" in page
    assert "merged into" in client.get(reverse("client_detail", args=[other.pk])).content.decode()


@pytest.mark.django_db
def test_a_merge_on_a_stale_preview_is_refused(client, manager, reception):
    keep, other = make_client(), make_client()
    client.force_login(manager)
    client_update(client_id=other.pk, version=1, by=reception, values={"address": "moved"})
    response = client.post(
        reverse("client_merge", args=[keep.pk]), {"keep": keep.pk, "other": other.pk, "version": 1, "other_version": 1}
    )
    assert response.status_code == 302
    assert not Client.objects.get(pk=other.pk).is_merged


# --- The client page's header -------------------------------------------------------------


@pytest.mark.django_db
def test_the_header_tells_each_role_what_it_needs(client, reception, practitioner):
    patient = make_client(date_of_birth=dt.date(1980, 1, 1), phone="06 39 98 76 73", preferred_channel="sms")
    allergen = Substance.objects.order_by("pk").first()
    patient.allergies.add(allergen)
    plan = make_plan(client=patient, practitioner=practitioner)
    make_screening(patient, yes=["diabetes"], judgement="Stable, HbA1c normal")
    upcoming = make_session(plan=plan, starts_at=timezone.now().replace(microsecond=0) + dt.timedelta(days=3))
    SideEffect.objects.create(
        client=patient,
        kind=SideEffectKind.objects.get(name="Bruising"),
        severity="mild",
        onset=timezone.localdate(),
        recorded_by=practitioner,
    )
    client.force_login(reception)
    page = client.get(reverse("client_detail", args=[patient.pk])).content.decode()
    age = timezone.localdate().year - 1980 - (timezone.localdate() < dt.date(timezone.localdate().year, 1, 1))
    assert f"{age} years" in page and "06 39 98 76 73" in page and "SMS" in page
    assert timezone.localtime(upcoming.starts_at).strftime("%d/%m/%Y %H:%M") in page
    assert "0 of 6" in page
    assert "client-alerts" not in page and "Bruising" not in page and "HbA1c" not in page

    client.force_login(practitioner)
    page = client.get(reverse("client_detail", args=[patient.pk])).content.decode()
    # The alerts banner (services.alerts), as on the record page.
    assert 'id="client-alerts"' in page
    assert allergen.name in page and "Stable, HbA1c normal" in page
    assert "Side effect: Bruising" in page
    # The plan's verdict from the one treatment rule: an allergy to its mixture, or the consent missing.
    assert 'id="plan-verdicts"' in page
    assert "has not signed the current consent text" in page or "Known allergy" in page


@pytest.mark.django_db
def test_the_header_says_when_no_screening_is_on_record(client, practitioner):
    patient = make_client()
    client.force_login(practitioner)
    url = reverse("client_detail", args=[patient.pk])
    page = client.get(url).content.decode()
    assert 'id="client-alerts"' in page and "No screening on record" in page
    assert [a.title for a in client_alerts([patient.pk])[patient.pk].items] == ["No screening on record"]
    make_screening(patient, days_ago=1)
    page = client.get(url).content.decode()
    assert "No screening on record" not in page and 'id="no-alerts"' in page


@pytest.mark.django_db
def test_reception_records_the_administrative_sex_a_side_effect_report_needs(client, reception):
    patient = make_client()
    client.force_login(reception)
    form = client.get(reverse("client_edit", args=[patient.pk])).context["form"]
    response = client.post(reverse("client_edit", args=[patient.pk]), {**_edit_data(form), "sex": "female"})
    assert response.status_code == 302
    patient.refresh_from_db()
    assert patient.sex == "female" and patient.history.first().history_user == reception
    refused = client.post(reverse("client_edit", args=[patient.pk]), {**_edit_data(form), "sex": "x"})
    assert "sex" in refused.context["form"].errors
