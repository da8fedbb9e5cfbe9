"""A session's page, its status actions (no-show and cancel asked first, cancel
saying who cancelled), and the undo of a status change by its maker."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import strip_tags

from sessions_app.models import Reminder, ReminderStatus, Role, SessionStatus, TreatmentSession
from sessions_app.services.session_status import InvalidTransition, session_set_status, session_status_undo

from .factories import change_status, make_plan, make_reminder, make_rule, make_session, make_user, next_weekday_at


@pytest.fixture
def reception_client(client, reception):
    client.force_login(reception)
    return client


def soon() -> dt.datetime:
    """A session later today: it may be marked arrived, not yet no-show."""
    start = timezone.now().replace(second=0, microsecond=0) + dt.timedelta(minutes=20)
    if timezone.localtime(start).date() != timezone.localdate():  # just before midnight
        start -= dt.timedelta(minutes=30)
    return start


def begun() -> dt.datetime:
    return timezone.now().replace(second=0, microsecond=0) - dt.timedelta(minutes=10)


@pytest.mark.django_db
def test_the_session_page_offers_what_the_rules_allow_now(reception_client):
    session = make_session(starts_at=next_weekday_at(10))
    page = reception_client.get(reverse("session_detail", args=[session.pk]))
    html = page.content.decode()
    assert session.plan.client.full_name in html
    assert reverse("session_action", args=[session.pk, "confirm"]) in html
    assert reverse("session_action", args=[session.pk, "cancel"]) in html
    assert reverse("session_move", args=[session.pk]) in html
    # Next week: not arrived yet, not a no-show before it begins.
    assert reverse("session_action", args=[session.pk, "arrive"]) not in html
    assert reverse("session_action", args=[session.pk, "no_show"]) not in html


@pytest.mark.django_db
def test_the_calendar_gets_the_session_as_a_panel(reception_client):
    session = make_session(starts_at=next_weekday_at(10))
    panel = reception_client.get(reverse("session_detail", args=[session.pk]), headers={"HX-Request": "true"})
    html = panel.content.decode()
    assert "<html" not in html and 'class="session-panel"' in html


@pytest.mark.django_db
def test_cancel_asks_who_cancelled_then_cancels_and_says_so(reception_client, reception):
    session = make_session(starts_at=next_weekday_at(10))
    url = reverse("session_action", args=[session.pk, "cancel"])
    asked = reception_client.get(url, {"next": "/schedule/"})
    assert "Who cancelled?" in asked.content.decode()
    assert [label for _, label in asked.context["cancellations"]] == [
        "By the client",
        "By the client, late",
        "By the clinic",
    ]
    # Nothing chosen: asked again, beside the question; nothing changed.
    unanswered = reception_client.post(url, {"confirmed": "yes", "next": "/schedule/"})
    assert "Say who cancelled the session." in unanswered.content.decode()
    assert TreatmentSession.objects.get(pk=session.pk).status == SessionStatus.BOOKED
    # A post without the confirmation (an old page) only asks.
    unconfirmed = reception_client.post(url, {"cancellation": "late", "next": "/schedule/"})
    assert unconfirmed.status_code == 200
    assert TreatmentSession.objects.get(pk=session.pk).status == SessionStatus.BOOKED
    done = reception_client.post(url, {"confirmed": "yes", "cancellation": "late", "next": "/schedule/"}, follow=True)
    session.refresh_from_db()
    assert (session.status, session.cancellation, session.status_changed_by) == ("cancelled", "late", reception)
    assert "cancelled (by the client, late)" in strip_tags(done.content.decode())


@pytest.mark.django_db
def test_no_show_asks_first_and_only_once_the_session_has_begun(reception_client):
    future = make_session(starts_at=next_weekday_at(10))
    refused = reception_client.get(reverse("session_action", args=[future.pk, "no_show"]))
    assert "it can be marked no-show only once it has begun" in refused.content.decode()
    assert "Mark as no-show" not in refused.content.decode()
    late = make_session(starts_at=begun(), room=future.room)
    asked = reception_client.get(reverse("session_action", args=[late.pk, "no_show"]))
    assert "Mark as no-show" in asked.content.decode()
    reception_client.post(reverse("session_action", args=[late.pk, "no_show"]), {"confirmed": "yes"})
    assert TreatmentSession.objects.get(pk=late.pk).status == SessionStatus.NO_SHOW


@pytest.mark.django_db
def test_a_saturday_arrival_for_monday_is_refused_with_the_reason(client, reception, monkeypatch):
    monday = next_weekday_at(10, weekday=0)
    saturday = monday - dt.timedelta(days=2)
    session = make_session(starts_at=monday, status=SessionStatus.CONFIRMED)
    monkeypatch.setattr(timezone, "now", lambda: saturday.replace(hour=11))
    client.force_login(reception)
    page = client.get(reverse("session_detail", args=[session.pk])).content.decode()
    assert reverse("session_action", args=[session.pk, "arrive"]) not in page  # not offered
    response = client.post(reverse("session_action", args=[session.pk, "arrive"]), follow=True)  # forged
    assert f"This session is on {monday:%A %d %B %Y}: the client can be marked arrived only on that day." in (
        response.content.decode()
    )
    assert TreatmentSession.objects.get(pk=session.pk).status == SessionStatus.CONFIRMED


@pytest.mark.django_db
def test_a_status_change_can_be_undone_by_its_maker_and_the_history_keeps_both(reception_client, reception):
    session = make_session(starts_at=soon(), status=SessionStatus.CONFIRMED)
    response = reception_client.post(reverse("session_action", args=[session.pk, "arrive"]), follow=True)
    html = response.content.decode()
    # The message offers the undo.
    assert reverse("session_undo", args=[session.pk]) in html
    assert TreatmentSession.objects.get(pk=session.pk).status == SessionStatus.ARRIVED
    undone = reception_client.post(reverse("session_undo", args=[session.pk]), follow=True)
    assert "session is confirmed again" in undone.content.decode()
    session.refresh_from_db()
    assert (session.status, session.undo_status) == (SessionStatus.CONFIRMED, "")
    changes = reception_client.get(reverse("session_detail", args=[session.pk])).context["history"]
    assert [(c["before"], c["after"], c["reason"]) for c in changes] == [
        ("Arrived", "Confirmed", "Undo: arrived taken back"),
        ("Confirmed", "Arrived", ""),
    ]
    assert {c["by"] for c in changes} == {reception.get_full_name()}
    # An undo is not undone in turn.
    again = reception_client.post(reverse("session_undo", args=[session.pk]), follow=True)
    assert "no change to undo" in again.content.decode()


@pytest.mark.django_db
def test_only_the_maker_undoes_and_only_for_ten_minutes(reception):
    session = make_session(starts_at=soon(), status=SessionStatus.CONFIRMED)
    changed_at = timezone.now()
    session_set_status(session_id=session.pk, action="arrive", by=reception, now=changed_at)
    with pytest.raises(InvalidTransition, match="Only the person who changed this status can undo it."):
        session_status_undo(session_id=session.pk, by=make_user(Role.RECEPTION), now=changed_at)
    with pytest.raises(InvalidTransition, match="more than 10 minutes ago"):
        session_status_undo(session_id=session.pk, by=reception, now=changed_at + dt.timedelta(minutes=11))
    session_status_undo(session_id=session.pk, by=reception, now=changed_at + dt.timedelta(minutes=9))
    assert TreatmentSession.objects.get(pk=session.pk).status == SessionStatus.CONFIRMED


@pytest.mark.django_db
def test_an_undone_cancellation_takes_its_slot_back_only_if_still_free(reception, practitioner):
    start = next_weekday_at(10)
    session = make_session(starts_at=start, practitioner=practitioner)
    change_status(session, "cancel", by=reception)
    # Someone books the freed slot meanwhile.
    make_session(starts_at=start, practitioner=practitioner)
    with pytest.raises(InvalidTransition, match="the practitioner has been booked at that time meanwhile"):
        session_status_undo(session_id=session.pk, by=reception)
    assert TreatmentSession.objects.get(pk=session.pk).status == SessionStatus.CANCELLED


@pytest.mark.django_db
def test_an_undone_cancellation_gets_its_reminder_back(reception):
    session = make_session(starts_at=next_weekday_at(10))
    rule = make_rule("upcoming_session", amount=24, unit="hours")
    reminder = make_reminder(
        session.plan.client, session=session, rule=rule, due_at=session.starts_at - dt.timedelta(days=1)
    )
    change_status(session, "cancel", by=reception)
    reminder.refresh_from_db()
    assert reminder.status == ReminderStatus.CANCELLED
    session_status_undo(session_id=session.pk, by=reception)
    reminder.refresh_from_db()
    # Set aside: the next generation round writes it anew, as the rules and the client's wishes say then.
    assert "#" in reminder.key
    assert not Reminder.objects.filter(session=session).exclude(pk=reminder.pk).exists()


@pytest.mark.django_db
def test_the_session_page_says_why_it_cannot_be_recorded_yet(client, practitioner):
    session = make_session(plan=make_plan(practitioner=practitioner), starts_at=next_weekday_at(10))
    client.force_login(practitioner)
    page = client.get(reverse("session_detail", args=[session.pk])).content.decode()
    assert reverse("session_record", args=[session.pk]) not in page
    assert "it can be recorded once the client has arrived or the session has begun" in page


@pytest.mark.django_db
def test_the_panel_offers_side_effect_once_the_client_was_treated_and_the_form_takes_the_session(client, practitioner):
    """Arrived or completed, and begun: what the side-effect form accepts as
    the cause (SessionStatus.may_have_caused), preselected when it opens."""
    plan = make_plan(practitioner=practitioner)
    arrived = make_session(plan, starts_at=begun(), status=SessionStatus.ARRIVED)
    early = make_session(plan, starts_at=soon() + dt.timedelta(hours=1), status=SessionStatus.ARRIVED)
    booked = make_session(plan, starts_at=begun() - dt.timedelta(hours=2))
    client.force_login(practitioner)
    new = reverse("side_effect_new", args=[plan.client_id])
    for session, offered in ((arrived, True), (early, False), (booked, False)):
        panel = client.get(reverse("session_detail", args=[session.pk]), headers={"HX-Request": "true"})
        assert (f"{new}?session={session.pk}" in panel.content.decode()) == offered, session.status
    form = client.get(new, {"session": arrived.pk}).context["form"]
    assert form["session"].value() == arrived.pk
    assert arrived in form.fields["session"].queryset
