"""Client search and the client page: the whole history on one screen."""

import datetime as dt

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from sessions_app.models import (
    Reminder,
    ReminderChannel,
    ReminderKind,
    ReminderStatus,
    Role,
    SessionStatus,
    SideEffect,
    SideEffectKind,
    TreatmentArea,
    TreatmentSession,
)
from sessions_app.services.check_ins import check_in_answer
from sessions_app.services.side_effects import side_effect_follow_up
from sessions_app.views import clients as clients_views
from sessions_app.views.clients import SEARCH_LIMIT

from .factories import (
    check_in_message,
    make_amendment,
    make_client,
    make_injection,
    make_lot,
    make_photo,
    make_plan,
    make_session,
    make_user,
)
from .factories import make_consent as sign
from .factories import make_screening as screen


def history(client_obj, practitioner, *, sessions=3):
    """A plan with completed sessions, each with an injection, and a bruise after the first."""
    plan = make_plan(client=client_obj, practitioner=practitioner)
    first = timezone.now().replace(microsecond=0, second=0) - dt.timedelta(weeks=2 * sessions)
    # Each call an hour apart from the last, so the practitioner is never double-booked.
    first += dt.timedelta(hours=TreatmentSession.objects.filter(practitioner=practitioner).count())
    done = []
    for i in range(sessions):
        start = first + dt.timedelta(weeks=2 * i)
        session = make_session(
            plan=plan, starts_at=start, status=SessionStatus.COMPLETED, completed_at=start, notes=f"Note {i}"
        )
        make_injection(session, lots=[make_lot(lot_number=f"LOT-{plan.pk}-{i}")])
        done.append(session)
    SideEffect.objects.create(
        client=client_obj,
        session=done[0],
        kind=SideEffectKind.objects.get(name="Bruising"),
        severity="mild",
        onset=timezone.localtime(done[0].starts_at).date(),
        recorded_by=practitioner,
    )
    return plan


@pytest.mark.django_db
def test_search_finds_by_name_words_and_phone_and_hides_archived(client, reception):
    client.force_login(reception)
    marie = make_client(first_name="Marie", last_name="Dupont", phone="+33 6 11 22 33 44")
    make_client(first_name="Marc", last_name="Durand", archived_at=timezone.now())
    assert list(client.get(reverse("client_search"), {"q": "mar dup"}).context["clients"]) == [marie]
    assert list(client.get(reverse("client_search"), {"q": "22 33"}).context["clients"]) == [marie]
    assert len(client.get(reverse("client_search"), {"q": "mar"}).context["clients"]) == 1
    assert len(client.get(reverse("client_search"), {"q": "mar", "archived": "1"}).context["clients"]) == 2


@pytest.mark.django_db
def test_the_page_shows_plans_sessions_with_lots_screenings_consents_and_side_effects(client, practitioner):
    client.force_login(practitioner)
    patient = make_client()
    screen(patient)
    plan = history(patient, practitioner)
    sign(plan)
    page = client.get(reverse("client_detail", args=[patient.pk])).content.decode()
    assert "3 of 6" in page  # n of m progress
    for i in range(3):
        assert f"LOT-{plan.pk}-{i}" in page
    assert "Screening" in page and "Consent signed" in page
    assert "Bruising" in page and "Note 0" in page


@pytest.mark.django_db
def test_each_signed_session_links_to_its_record_with_amendments_and_photos(client, practitioner, reception):
    patient = make_client()
    plan = history(patient, practitioner, sessions=2)
    first = plan.sessions.order_by("starts_at").first()
    make_amendment(first)
    make_photo(first)
    make_photo(first, kind="after")
    client.force_login(practitioner)
    page = client.get(reverse("client_detail", args=[patient.pk])).content.decode()
    assert page.count("Signed record") == 2
    assert reverse("session_record", args=[first.pk]) in page
    assert "amended 1 time · 2 photos" in page
    client.force_login(reception)
    page = client.get(reverse("client_detail", args=[patient.pk])).content.decode()
    assert "Signed record" not in page and "photos" not in page


@pytest.mark.django_db
def test_reception_sees_progress_but_not_clinical_detail(client, practitioner, reception):
    patient = make_client()
    screen(patient)
    plan = history(patient, practitioner)
    client.force_login(reception)
    page = client.get(reverse("client_detail", args=[patient.pk])).content.decode()
    assert "3 of 6" in page and patient.phone in page
    assert f"LOT-{plan.pk}-0" not in page
    assert "Bruising" not in page and "Note 0" not in page and "Screening" not in page
    assert "Allergies" not in page


@pytest.mark.django_db
def test_filters_by_plan_and_area(client, practitioner):
    client.force_login(practitioner)
    patient = make_client()
    face = history(patient, practitioner, sessions=2)
    body = make_plan(client=patient, practitioner=practitioner)
    thighs = TreatmentArea.objects.get(name="Thighs")
    body.areas.set([thighs])
    start = timezone.now().replace(microsecond=0, second=0) - dt.timedelta(days=1)
    make_injection(
        make_session(plan=body, starts_at=start, status=SessionStatus.COMPLETED, completed_at=start), area=thighs
    )
    other = make_plan(client=make_client(last_name="Other"), practitioner=practitioner)
    other.areas.set([TreatmentArea.objects.get(name="Neck")])
    url = reverse("client_detail", args=[patient.pk])

    # The areas to filter by: each of this client's once, nobody else's.
    assert client.get(url).context["areas"] == sorted({thighs, *face.areas.all()}, key=lambda a: a.name)
    by_plan = client.get(url, {"plan": face.pk}).context["events"]
    assert {e.obj.plan_id for e in by_plan if e.kind == "session"} == {face.pk}
    by_area = client.get(url, {"area": thighs.pk}).context["events"]
    assert [e.obj.plan_id for e in by_area if e.kind == "session"] == [body.pk]
    assert client.get(url, {"plan": "nonsense", "area": "'; drop"}).status_code == 200


@pytest.mark.django_db
def test_query_count_does_not_grow_with_the_history(client, practitioner, django_assert_num_queries):
    client.force_login(practitioner)
    patient = make_client()
    screen(patient)
    sign(history(patient, practitioner, sessions=1))
    url = reverse("client_detail", args=[patient.pk])
    # session, user, roles and permissions (one query), client, the access
    # log entry, plans with counts, their areas, consents with texts, areas for
    # the filter (the plans' and the side effects'), the latest sessions, their
    # injections, their lots as labels, screenings, their yes answers, side
    # effects (with their follow-ups counted), check-ins, reminders, groups
    # (navigation); the header: the next session booked, the records merged
    # into this one, the active plans' verdicts (plan_clearances: latest
    # screenings, their answers, allergies, fat-reduction indications,
    # consents to the text in force; no allergy or in-area condition, so no
    # mixtures' substances or plans' areas to read); the alerts (the same
    # screening and allergies, then open side effects, consent texts).
    with django_assert_num_queries(26):
        client.get(url)
    for _ in range(3):
        plan = history(patient, practitioner, sessions=4)
        make_photo(plan.sessions.first())
        make_amendment(plan.sessions.first())
        for session in plan.sessions.all():
            answer_check_in(session, "fine")
            answer_check_in(session, "swelling")
        for effect in SideEffect.objects.filter(session__plan=plan):
            side_effect_follow_up(
                side_effect_id=effect.pk, by=practitioner, note="Better.", severity="mild", status="improving"
            )
    with django_assert_num_queries(26):
        response = client.get(url)
    kinds = [e.kind for e in response.context["events"]]
    assert kinds.count("session") == 13 and kinds.count("check_in") == 24


def answer_check_in(session, answer, score=4, note=""):
    """The client's answer to a check-in message about `session`, a day after it."""
    message = check_in_message(session, due_at=session.starts_at + dt.timedelta(days=1))
    score = None if answer == "fine" else score
    return check_in_answer(reminder_id=message.pk, answer=answer, score=score, note=note, now=message.due_at)


@pytest.mark.django_db
def test_each_side_effect_links_to_its_page_with_its_status_source_and_course(client, practitioner):
    patient = make_client()
    plan = history(patient, practitioner, sessions=2)
    first, second = plan.sessions.order_by("starts_at")
    bruise = SideEffect.objects.get(session=first)
    side_effect_follow_up(
        side_effect_id=bruise.pk, by=practitioner, note="Fading.", severity="mild", status="improving"
    )
    reported = answer_check_in(second, "redness", note="Still red on the cheek").side_effect
    client.force_login(practitioner)
    page = client.get(reverse("client_detail", args=[patient.pk])).content.decode()
    timeline = page[page.index('id="timeline"') :]
    assert "ongoing" not in timeline
    assert reverse("side_effect_detail", args=[bruise.pk]) in timeline
    assert reverse("side_effect_detail", args=[reported.pk]) in timeline
    latest = timezone.localtime(bruise.follow_ups.get().at)
    assert f"1 follow-up, the latest {latest:%d/%m/%Y}" in timeline
    assert "Improving" in timeline and "client's check-in" in timeline
    # Resolved: with its date.
    side_effect_follow_up(
        side_effect_id=bruise.pk,
        by=practitioner,
        note="Gone.",
        severity="mild",
        status="resolved",
        resolved_on=timezone.localdate(),
    )
    page = client.get(reverse("client_detail", args=[patient.pk])).content.decode()
    assert f"resolved on {timezone.localdate():%d/%m/%Y}" in page and "2 follow-ups" in page


@pytest.mark.django_db
def test_the_area_filter_finds_a_side_effect_by_its_own_area(client, practitioner):
    patient = make_client()
    plan = history(patient, practitioner, sessions=1)  # on the face
    neck = TreatmentArea.objects.get(name="Neck")
    SideEffect.objects.filter(session__plan=plan).update(area=neck)
    client.force_login(practitioner)
    url = reverse("client_detail", args=[patient.pk])
    response = client.get(url)
    assert neck in response.context["areas"]
    by_area = client.get(url, {"area": neck.pk}).context["events"]
    assert [e.kind for e in by_area if e.kind == "side_effect"] == ["side_effect"]


@pytest.mark.django_db
def test_clinical_staff_see_the_check_ins_fine_ones_too(client, practitioner, reception):
    patient = make_client()
    plan = history(patient, practitioner, sessions=2)
    first, second = plan.sessions.order_by("starts_at")
    answer_check_in(first, "fine", note="All good")
    swelling = answer_check_in(second, "swelling", score=6)
    url = reverse("client_detail", args=[patient.pk])
    client.force_login(practitioner)
    response = client.get(url)
    check_ins = [e.obj for e in response.context["events"] if e.kind == "check_in"]
    assert len(check_ins) == 2
    page = response.content.decode()
    assert "Check-in" in page and "“All good”" in page and "6 out of 10" in page
    assert reverse("side_effect_detail", args=[swelling.side_effect_id]) in page
    # Filtered by plan, they stay with their plan's sessions.
    assert len([e for e in client.get(url, {"plan": plan.pk}).context["events"] if e.kind == "check_in"]) == 2
    client.force_login(reception)
    page = client.get(url).content.decode()
    assert "timeline-check_in" not in page and "All good" not in page


@pytest.mark.django_db
def test_an_unknown_client_is_a_404(client):
    client.force_login(make_user())
    assert client.get(reverse("client_detail", args=[999999])).status_code in (403, 404)


@pytest.mark.django_db
def test_search_query_count_does_not_grow_with_the_clients(client, django_assert_num_queries):
    client.force_login(make_user(Role.RECEPTION))
    make_client(first_name="Marie", last_name="Martin")
    url = reverse("client_search") + "?q=mar"
    # session, user, roles and permissions (one query), the matching clients (at most a
    # page of them): on PostgreSQL a tier at a time (the last names "mar" begins, the
    # first names, the rest), each only while the page is not full.
    tiers = 3 if connection.vendor == "postgresql" else 1
    with django_assert_num_queries(3 + tiers):
        first = client.get(url)
    for i in range(SEARCH_LIMIT + 5):
        make_client(first_name="Marc", last_name=f"Marchand{i:03d}")
    with django_assert_num_queries(4):  # the first tier fills the page
        second = client.get(url)
    assert len(first.context["clients"]) == 1
    assert len(second.context["clients"]) == SEARCH_LIMIT
    assert f"The first {SEARCH_LIMIT} matches" in second.content.decode()


@pytest.mark.django_db
def test_the_page_names_each_lot_injected(client, practitioner):
    client.force_login(practitioner)
    patient = make_client()
    plan = history(patient, practitioner, sessions=2)
    page = client.get(reverse("client_detail", args=[patient.pk])).content.decode()
    for session in plan.sessions.all():
        for lot in session.injections.get().lots.all():
            assert f"{lot.product.name} {lot.lot_number}" in page


@pytest.mark.django_db
def test_a_long_history_shows_the_latest_sessions_and_the_whole_of_it_on_request(client, practitioner, monkeypatch):
    monkeypatch.setattr(clients_views, "TIMELINE_SESSIONS", 5)
    client.force_login(practitioner)
    patient = make_client()
    screen(patient)
    old, recent = history(patient, practitioner, sessions=4), history(patient, practitioner, sessions=4)
    sign(old)
    sign(recent)
    url = reverse("client_detail", args=[patient.pk])

    latest = client.get(url)
    sessions = [e.obj for e in latest.context["events"] if e.kind == "session"]
    everything = TreatmentSession.objects.filter(plan__client=patient).order_by("-starts_at")
    assert sessions == list(everything[:5])
    # Plans, the screening and side effects are always there, the older ones too.
    kinds = {e.kind for e in latest.context["events"]}
    assert {"plan", "screening", "side_effect"} <= kinds
    assert {e.obj for e in latest.context["events"] if e.kind == "plan"} == {old, recent}
    assert "Show the whole history" in latest.content.decode()

    whole = client.get(url, {"all": "1"})
    assert len([e for e in whole.context["events"] if e.kind == "session"]) == 8
    assert whole.context["since"] is None


@pytest.mark.django_db
def test_a_long_history_lists_the_reminders_of_the_sessions_shown(client, practitioner, monkeypatch):
    """A reminder belongs where it went out, or where it is due while it waits."""
    monkeypatch.setattr(clients_views, "TIMELINE_SESSIONS", 2)
    client.force_login(practitioner)
    patient = make_client()
    plan = history(patient, practitioner, sessions=4)
    shown = list(TreatmentSession.objects.filter(plan=plan).order_by("-starts_at")[:2])
    since = shown[-1].starts_at
    hour = dt.timedelta(hours=1)

    def remind(key, due_at, sent_at=None):
        status = ReminderStatus.SENT if sent_at else ReminderStatus.PENDING
        return Reminder.objects.create(
            client=patient,
            plan=plan,
            kind=ReminderKind.AFTERCARE_CHECK,
            channel=ReminderChannel.EMAIL,
            key=key,
            due_at=due_at,
            sent_at=sent_at,
            status=status,
        )

    sent_before = remind("sent-before", since - 2 * hour, since - hour)
    sent_late = remind("sent-late", since - 2 * hour, since + hour)
    waiting = remind("waiting", since + hour)
    listed = client.get(reverse("client_detail", args=[patient.pk])).context["events"]
    assert {e.obj for e in listed if e.kind == "reminder"} == {sent_late, waiting}

    whole = client.get(reverse("client_detail", args=[patient.pk]), {"all": "1"}).context["events"]
    assert {e.obj for e in whole if e.kind == "reminder"} == {sent_before, sent_late, waiting}


@pytest.mark.django_db
def test_hostile_text_on_the_timeline_is_shown_escaped(client, practitioner):
    """The timeline's lines are written in Python (sessions_app/timeline.py):
    whatever staff or the client typed reaches the page as text."""
    hostile = '<img src=x onerror="alert(1)">'
    patient = make_client()
    screen(patient, yes=["diabetes"], judgement=hostile)
    plan = history(patient, practitioner, sessions=2)
    sign(plan, signed_name=hostile)
    first, second = plan.sessions.order_by("starts_at")
    TreatmentSession.objects.filter(pk=first.pk).update(notes=hostile)
    SideEffect.objects.filter(session=first).update(action_taken=hostile)
    answer_check_in(second, "swelling", note=hostile)
    first.injections.first().lots.update(lot_number=hostile)
    client.force_login(practitioner)
    page = client.get(reverse("client_detail", args=[patient.pk])).content.decode()
    timeline = page[page.index('id="timeline"') :]
    assert "<img" not in timeline
    # The judgement, the signed name, the session's notes, the action taken,
    # the check-in's note (and the side effect it became, its action) and the lot.
    assert timeline.count("&lt;img src=x onerror=&quot;alert(1)&quot;&gt;") >= 6
