"""Reception's call list: today's aftercare calls and overdue maintenance
recalls, outcomes that close or keep a call, "booked" on to booking, a
reported side effect on to its form (only for staff who may record one), and a
query count that does not grow with the calls."""

import datetime as dt
import itertools

import pytest
from django.utils import timezone
from django.utils.html import strip_tags

from sessions_app.models import (
    CallOutcome,
    PlanStatus,
    Reminder,
    ReminderChannel,
    ReminderKind,
    ReminderStatus,
    Role,
)
from sessions_app.reminders import calls
from sessions_app.reminders.calls import CallClosed, reminder_record_call
from sessions_app.reminders.generate import reminders_generate

from .factories import aftercare_call, complete, make_client, make_plan, make_rule, make_session, make_user

pytestmark = pytest.mark.django_db


def now():
    return timezone.now()


def maintenance_recall(days_overdue=10):
    make_rule("maintenance_due", amount=7, direction="after", by_email=False, by_call=True)
    plan = make_plan(status=PlanStatus.MAINTENANCE, maintenance_interval_days=60)
    complete(make_session(plan, starts_at=now() - dt.timedelta(days=60 + days_overdue)))
    reminders_generate(now=now())
    return Reminder.objects.get(plan=plan, channel="call")


def signed_in(client, role):
    user = make_user(role)
    client.force_login(user)
    return user


def test_reception_sees_todays_aftercare_calls_and_overdue_recalls(client):
    signed_in(client, Role.RECEPTION)
    call = aftercare_call()
    recall = maintenance_recall()
    make_rule("maintenance_due", amount=30, direction="after", by_email=False, by_call=True)
    not_yet = make_plan(status=PlanStatus.MAINTENANCE, maintenance_interval_days=60)
    complete(make_session(not_yet, starts_at=now() - dt.timedelta(days=61)))
    reminders_generate(now=now())
    response = client.get("/calls/")
    assert response.status_code == 200
    calls = response.context["calls"]
    assert calls.aftercare == [call]
    assert calls.maintenance == [recall]
    assert not_yet.client.full_name not in response.content.decode()
    page = response.content.decode()
    assert "Camille Durand" in page and f'href="tel:{call.client.phone.replace(" ", "")}"' in page
    assert "Side effect reported" not in page, "reception may not record side effects"


@pytest.mark.parametrize(
    ("outcome", "status", "closed"),
    [("reached", "sent", True), ("declined", "sent", True), ("no_answer", "pending", False)],
)
def test_an_outcome_closes_the_call_except_no_answer(client, outcome, status, closed):
    user = signed_in(client, Role.RECEPTION)
    call = aftercare_call()
    response = client.post(f"/calls/{call.pk}/{outcome}/")
    assert response.status_code == 302 and response["Location"] == "/calls/"
    call.refresh_from_db()
    assert (call.status, call.call_outcome, call.handled_by, call.attempts) == (status, outcome, user, 1)
    on_list = client.get("/calls/").context["calls"].aftercare
    assert (call not in on_list) is closed


def test_booked_goes_on_to_booking_for_the_client(client):
    signed_in(client, Role.RECEPTION)
    recall = maintenance_recall()
    response = client.post(f"/calls/{recall.pk}/booked/")
    assert response["Location"] == f"/book/?client={recall.client_id}"
    recall.refresh_from_db()
    assert (recall.status, recall.call_outcome) == ("sent", "booked")


def test_a_side_effect_reported_on_a_call_opens_its_form_for_a_practitioner(client):
    signed_in(client, Role.PRACTITIONER)
    call = aftercare_call()
    assert "Side effect reported" in client.get("/calls/").content.decode()
    response = client.post(f"/calls/{call.pk}/side_effect/")
    form_url = f"/clients/{call.client_id}/side-effects/new/"
    assert response["Location"] == f"{form_url}?next=%2Fcalls%2F&session={call.session_id}"
    form = client.get(response["Location"])
    assert form.status_code == 200
    assert form.context["form"].initial["session"] == call.session_id
    call.refresh_from_db()
    assert (call.status, call.call_outcome) == ("sent", "reached")


def test_reception_cannot_take_the_side_effect_route(client):
    signed_in(client, Role.RECEPTION)
    call = aftercare_call()
    assert client.post(f"/calls/{call.pk}/side_effect/").status_code == 403
    call.refresh_from_db()
    assert call.status == "pending"


def test_unanswered_calls_give_up_after_the_attempt_limit(settings):
    settings.CLINIC_REMINDER_MAX_ATTEMPTS = 2
    user = make_user(Role.RECEPTION)
    call = aftercare_call()
    reminder_record_call(reminder_id=call.pk, outcome=CallOutcome.NO_ANSWER, user=user)
    call = reminder_record_call(reminder_id=call.pk, outcome=CallOutcome.NO_ANSWER, user=user)
    assert (call.status, call.last_error) == (ReminderStatus.FAILED, "No answer after 2 calls.")
    with pytest.raises(CallClosed, match="already closed"):
        reminder_record_call(reminder_id=call.pk, outcome=CallOutcome.REACHED, user=user)


def test_two_receptionists_recording_the_same_call(client):
    first = make_user(Role.RECEPTION, first_name="Julie", last_name="Marchand")
    call = aftercare_call()
    reminder_record_call(reminder_id=call.pk, outcome=CallOutcome.REACHED, user=first)
    signed_in(client, Role.RECEPTION)
    response = client.post(f"/calls/{call.pk}/declined/", follow=True)
    assert "This call was already closed by Julie Marchand: Reached." in response.content.decode()
    call.refresh_from_db()
    assert call.call_outcome == "reached"


def test_the_call_list_needs_the_permission(client):
    assert client.get("/calls/").status_code == 302  # signed out: to the login page
    nobody = make_user()
    client.force_login(nobody)
    assert client.get("/calls/").status_code == 403
    assert client.post("/calls/1/reached/").status_code == 403


def test_the_call_list_query_count_does_not_grow_with_calls(client, django_assert_num_queries):
    signed_in(client, Role.RECEPTION)
    make_rule("aftercare_check", amount=1, by_email=False, by_call=True, send_time=dt.time(0, 0))
    practitioner = make_user(Role.PRACTITIONER)

    hours = itertools.count()

    # Two days ago from 06:00 (whatever the time now), so every call is due by today.
    morning = timezone.make_aware(dt.datetime.combine(timezone.localdate() - dt.timedelta(days=2), dt.time(6)))

    def add_calls(n):
        for _ in range(n):
            # One practitioner: an hour apart, not overlapping.
            start = morning + dt.timedelta(hours=next(hours))
            complete(make_session(make_plan(practitioner=practitioner), starts_at=start))
        reminders_generate(now=now())

    add_calls(1)
    # session, user, roles and permissions (one query),
    # the counts of open calls (all, and by group), the calls with client, session
    # and plan, the urgent calls (severe check-ins) above them, then the staff and
    # the indications they name (one query each; side-effect kinds when a call has one).
    with django_assert_num_queries(8):
        client.get("/calls/")
    add_calls(15)
    with django_assert_num_queries(8):
        response = client.get("/calls/")
    assert len(response.context["calls"].aftercare) == 16


def test_a_long_call_list_comes_a_page_at_a_time_the_oldest_first(client, monkeypatch):
    monkeypatch.setattr(calls, "CALL_LIST_PAGE_SIZE", 3)
    signed_in(client, Role.RECEPTION)
    made = []
    for i in range(5):
        made.append(
            Reminder.objects.create(
                client=make_client(),
                kind=ReminderKind.NEXT_SESSION_UNBOOKED,
                channel=ReminderChannel.CALL,
                key=f"test:page:{i}",
                due_at=now() - dt.timedelta(hours=10 - i),
            )
        )
    first = client.get("/calls/")
    assert first.context["calls"].other == made[:3]
    assert first.context["calls"].total == 5
    assert "Calls 1–3 of 5, the oldest first." in first.content.decode()
    second = client.get("/calls/", {"page": 2})
    assert second.context["calls"].other == made[3:]
    assert client.get("/calls/", {"page": "last"}).context["calls"].other == made[:3]


def test_each_group_counts_its_calls_on_every_page_and_says_where_the_others_are(client, monkeypatch):
    """The list is paged in due order across the groups: a group whose calls
    are all on the next page must not say there is nothing to call about."""
    monkeypatch.setattr(calls, "CALL_LIST_PAGE_SIZE", 3)
    signed_in(client, Role.RECEPTION)
    for i in range(5):
        Reminder.objects.create(
            client=make_client(),
            kind=ReminderKind.NEXT_SESSION_UNBOOKED if i < 3 else ReminderKind.AFTERCARE_CHECK,
            channel=ReminderChannel.CALL,
            key=f"test:groups:{i}",
            due_at=now() - dt.timedelta(hours=10 - i),
        )
    first = client.get("/calls/")
    assert first.context["calls"].aftercare == []
    assert first.context["calls"].totals == {"aftercare": 2, "maintenance": 0, "side_effects": 0, "other": 3}
    page = first.content.decode()
    aftercare = page[page.index('id="group-aftercare"') : page.index('id="group-maintenance"')]
    assert "Nothing to call about." not in aftercare
    assert "2 calls, on other pages of the list." in " ".join(strip_tags(aftercare).split())
    maintenance = page[page.index('id="group-maintenance"') : page.index('id="group-other"')]
    assert "Nothing to call about." in maintenance
    second = client.get("/calls/", {"page": 2})
    other = second.content.decode()
    other = other[other.index('id="group-other"') :]
    assert "3 calls, on other pages of the list." in " ".join(strip_tags(other).split())


@pytest.mark.parametrize("page", ["2", "²", ""])
def test_an_outcome_leads_back_to_the_page_of_the_list_the_call_was_on(client, page):
    signed_in(client, Role.RECEPTION)
    call = aftercare_call()
    response = client.post(f"/calls/{call.pk}/reached/", {"page": page})
    assert response["Location"] == ("/calls/?page=2" if page == "2" else "/calls/")
    again = client.post(f"/calls/{call.pk}/no_answer/", {"page": page})  # already closed: a message, then back
    assert again["Location"] == response["Location"]


def test_each_call_says_who_what_and_when_and_its_buttons_record_that_call(client):
    """The row as reception reads it, every value escaped, and one form whose
    buttons post the outcome of this call with the page it was on."""
    user = signed_in(client, Role.RECEPTION)
    call = aftercare_call(name='<script>alert(1)</script> "Durand"')
    call.call_outcome, call.attempts, call.handled_by = CallOutcome.NO_ANSWER, 2, user
    call.handled_at = timezone.now() - dt.timedelta(hours=3)
    call.save()
    page = client.get("/calls/").content.decode()
    row = page[page.index(f'data-call="{call.pk}"') :]
    row = row[: row.index("</li>")]
    assert "<script>" not in row and "&lt;script&gt;alert(1)&lt;/script&gt; &quot;Durand&quot;" in row
    session = call.session
    starts = timezone.localtime(session.starts_at)
    text = " ".join(strip_tags(row).split())
    assert f"Aftercare check: session of {starts:%a %d/%m %H:%M} with {session.practitioner}" in text
    assert f"No answer ×2 last tried {timezone.localtime(call.handled_at):%d/%m %H:%M} by {user}" in text
    assert row.count("<form ") == 1 and '<input type="hidden" name="page" value="1">' in row
    for outcome in ("reached", "no_answer", "booked", "declined"):
        assert f'formaction="/calls/{call.pk}/{outcome}/"' in row
    assert "side_effect/" not in row  # reception may not record a side effect
