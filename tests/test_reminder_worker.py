"""The send loop, one step at a time with its own clock: what is due goes out
once, by the right channel, with its unsubscribe link; failures are recorded
readably and retried with backoff; stuck rows come back; quiet hours hold SMS;
downtime skips nothing; one bad reminder never stops the others."""

import datetime as dt
import json
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.core import mail
from django.core.management import CommandError, call_command
from django.test import Client as HttpClient
from django.utils import timezone

from sessions_app.models import Client, Reminder, ReminderChannel, ReminderRule, ReminderStatus, SessionStatus
from sessions_app.reminders.generate import reminders_generate
from sessions_app.reminders.sms import HttpSmsBackend, SmsError
from sessions_app.reminders.unsubscribe import unsubscribe_token
from sessions_app.reminders.worker import ReminderWorker
from sessions_app.services.clients import client_merge

from .factories import T0, Clock, admin_url, at, make_client, make_plan, make_rule, make_session, session_form
from .sinks import SmsGateway, free_port

pytestmark = pytest.mark.django_db
TZ = ZoneInfo(settings.TIME_ZONE)


@pytest.fixture
def clock():
    return Clock(T0)


@pytest.fixture
def worker(clock):
    return ReminderWorker(clock=clock)


@pytest.fixture
def sms_file(tmp_path, settings):
    settings.CLINIC_SMS_BACKEND = "file"
    settings.CLINIC_SMS_FILE_PATH = tmp_path / "sms.jsonl"
    return settings.CLINIC_SMS_FILE_PATH


def texts(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def upcoming(client=None, *, starts_in_hours: float = 30, **rule_fields):
    """A session `starts_in_hours` after T0 and its generated 24-hours-before reminder."""
    rule_fields.setdefault("by_sms", True)
    make_rule("upcoming_session", amount=24, unit="hours", **rule_fields)
    client = client or make_client(first_name="Léa", last_name="Martin", consent_email=True)
    session = make_session(make_plan(client), starts_at=at(starts_in_hours))
    reminders_generate(now=T0)
    return Reminder.objects.get(session=session)


def test_a_due_email_goes_out_once_with_its_unsubscribe_link(worker, clock):
    reminder = upcoming(starts_in_hours=20)  # due 4 hours ago
    done = worker.run_round()
    assert (done.sent, done.failed) == (1, 0)
    [email] = mail.outbox
    assert email.to == [reminder.client.email]
    when = timezone.localtime(reminder.session.starts_at)
    assert email.subject == f"About {when:%A} {when.day} {when:%B %Y}"
    assert f"Hello Léa Martin, about {when:%A} {when.day} {when:%B %Y} at {settings.CLINIC_NAME}" in email.body
    link = f"{settings.CLINIC_BASE_URL}/u/{unsubscribe_token(reminder.client_id, 'email')}/"
    assert link in email.body
    assert email.extra_headers["List-Unsubscribe"] == f"<{link}>"
    assert email.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    reminder.refresh_from_db()
    assert (reminder.status, reminder.attempts, reminder.sent_at, reminder.message) == ("sent", 1, T0, email.body)
    # Again: nothing more.
    assert worker.run_round().sent == 0
    assert len(mail.outbox) == 1


def test_the_messages_go_out_before_the_side_effect_signal_is_counted(worker):
    """The signal's count takes seconds at a chain's size: it runs after the
    round's messages are sent, so no message waits for it."""
    upcoming(starts_in_hours=20)  # due 4 hours ago
    outbox_when_counted = []

    def count(*, now):
        outbox_when_counted.append(len(mail.outbox))
        return 0

    with mock.patch("sessions_app.reminders.worker.signal_flags_refresh", side_effect=count):
        assert worker.run_round().sent == 1
    assert outbox_when_counted == [1]


def test_nothing_goes_out_before_it_is_due(worker, clock):
    reminder = upcoming(starts_in_hours=30)  # due in 6 hours
    assert worker.run_round().sent == 0
    clock.moment = reminder.due_at
    assert worker.run_round().sent == 1


def test_sms_by_the_sms_backend(worker, sms_file):
    client = make_client(preferred_channel="sms", phone="+33 6 11 22 33 44", consent_sms=True)
    reminder = upcoming(client, starts_in_hours=20)
    assert reminder.channel == ReminderChannel.SMS
    worker.run_round()
    [text] = texts(sms_file)
    assert text["to"] == "+33611223344"  # E.164, as gateways take it
    assert text["body"].endswith(f"Stop SMS: {settings.CLINIC_BASE_URL}/u/{unsubscribe_token(client.pk, 'sms')}/")
    assert not mail.outbox


def test_a_run_after_downtime_sends_what_fell_due_meanwhile_in_order(worker, clock):
    make_rule("upcoming_session", amount=48, unit="hours")
    clients = [make_client(consent_email=True, first_name=f"C{i}") for i in range(4)]
    for i, client in enumerate(clients):
        make_session(make_plan(client), starts_at=at(54 + 12 * i))  # due at +6, +18, +30, +42 hours
    worker.run_round()
    assert not mail.outbox
    clock.moment = at(36)  # the worker was down from T0 until now
    done = worker.run_round()
    assert done.sent == 3
    assert [m.to[0] for m in mail.outbox] == [c.email for c in clients[:3]]
    clock.moment = at(48)
    assert worker.run_round().sent == 1
    assert Reminder.objects.filter(status=ReminderStatus.SENT).count() == 4


def test_an_unknown_placeholder_fails_readably_then_goes_once_fixed(worker, clock):
    reminder = upcoming(starts_in_hours=20)
    # Written past the admin form (which refuses it), for example by a script.
    ReminderRule.objects.filter(pk=reminder.rule_id).update(body="Hello {nmae}")
    done = worker.run_round()
    assert (done.sent, done.failed) == (0, 1)
    reminder.refresh_from_db()
    assert reminder.status == ReminderStatus.FAILED
    assert reminder.last_error.startswith(f"The rule \u201c{reminder.rule.name}\u201d has a bad template: ")
    assert "Unknown placeholder {nmae}" in reminder.last_error
    assert reminder.next_attempt_at == T0 + dt.timedelta(seconds=settings.CLINIC_REMINDER_BACKOFF_SECONDS)
    ReminderRule.objects.filter(pk=reminder.rule_id).update(body="Hello {client_name}")
    assert worker.run_round().sent == 0, "retried before its backoff"
    clock.moment = reminder.next_attempt_at
    assert worker.run_round().sent == 1
    reminder.refresh_from_db()
    assert (reminder.status, reminder.attempts, reminder.last_error) == ("sent", 2, "")


def test_a_client_with_no_email_fails_readably_retries_with_backoff_then_gives_up(worker, clock, settings):
    settings.CLINIC_REMINDER_MAX_ATTEMPTS = 3
    reminder = upcoming(starts_in_hours=100)
    # Reception set the channel by hand for a client with no address.
    Client.objects.filter(pk=reminder.client_id).update(email="", consent_email=False)
    clock.moment = reminder.due_at
    waits = []
    for _ in range(3):
        worker.run_round()
        reminder.refresh_from_db()
        assert reminder.status == ReminderStatus.FAILED
        assert reminder.last_error.startswith("The client has no email address on file.")
        if reminder.next_attempt_at:
            waits.append(reminder.next_attempt_at - clock.moment)
            clock.moment = reminder.next_attempt_at
    assert waits == [dt.timedelta(seconds=300), dt.timedelta(seconds=600)]
    assert reminder.attempts == 3 and reminder.next_attempt_at is None
    assert reminder.last_error.endswith("Gave up after 3 attempts.")
    clock.moment += dt.timedelta(days=1)
    worker.run_round()
    reminder.refresh_from_db()
    assert reminder.attempts == 3, "a reminder given up is not tried again"


def test_one_broken_reminder_does_not_stop_the_others(worker, sms_file):
    make_rule("upcoming_session", amount=24, unit="hours", by_sms=True)
    good = [make_client(consent_email=True) for _ in range(2)]
    texter = make_client(preferred_channel="sms", consent_sms=True)
    for i, client in enumerate([good[0], texter, good[1]]):
        make_session(make_plan(client), starts_at=at(20 + i))
    reminders_generate(now=T0)
    with mock.patch("sessions_app.reminders.sms.FileSmsBackend.send", side_effect=RuntimeError("disk on fire")):
        done = worker.run_round()
    assert (done.sent, done.failed) == (2, 1)
    failed = Reminder.objects.get(status=ReminderStatus.FAILED)
    assert failed.client == texter
    assert failed.last_error == "Unexpected error: RuntimeError: disk on fire"
    assert sorted(m.to[0] for m in mail.outbox) == sorted(c.email for c in good)


def test_a_reminder_stuck_in_sending_comes_back_after_the_timeout(worker, clock):
    reminder = upcoming(starts_in_hours=20)
    assert worker.claim_next() == reminder.pk  # the worker died here, before sending
    clock.moment = at(0.1)
    assert worker.run_round().sent == 0, "still within the sending timeout"
    clock.moment = T0 + dt.timedelta(seconds=settings.CLINIC_REMINDER_SENDING_TIMEOUT_SECONDS + 1)
    done = worker.run_round()
    assert (done.back_from_stuck, done.sent) == (1, 1)
    reminder.refresh_from_db()
    assert (reminder.status, reminder.attempts) == ("sent", 2)


def test_no_sms_in_quiet_hours_email_still_goes(worker, clock, sms_file, settings):
    settings.CLINIC_REMINDER_QUIET_HOURS = (dt.time(21), dt.time(8))
    make_rule("upcoming_session", amount=24, unit="hours", by_sms=True)
    texter = make_client(preferred_channel="sms", consent_sms=True)
    emailer = make_client(consent_email=True)
    night = dt.datetime(2031, 3, 11, 23, 30, tzinfo=TZ)
    for i, client in enumerate((texter, emailer)):
        make_session(make_plan(client), starts_at=night + dt.timedelta(hours=20 + i))
    clock.moment = night
    assert worker.run_round().sent == 1
    assert len(mail.outbox) == 1 and not texts(sms_file)
    clock.moment = dt.datetime(2031, 3, 12, 7, 59, tzinfo=TZ)
    assert worker.run_round().sent == 0
    clock.moment = dt.datetime(2031, 3, 12, 8, 0, tzinfo=TZ)
    assert worker.run_round().sent == 1
    assert len(texts(sms_file)) == 1


def test_a_client_who_unsubscribed_meanwhile_gets_a_call_instead(worker):
    reminder = upcoming(starts_in_hours=20)
    Client.objects.filter(pk=reminder.client_id).update(consent_email=False)
    assert worker.run_round().to_calls == 1
    reminder.refresh_from_db()
    assert (reminder.channel, reminder.status) == ("call", "pending")
    assert reminder.last_error == "The client no longer agrees to email reminders: a call instead."
    assert not mail.outbox


def test_a_reminder_whose_session_was_cancelled_meanwhile_is_not_sent(worker):
    reminder = upcoming(starts_in_hours=20)
    # Changed behind the booking service's back: the worker checks again before sending.
    type(reminder.session).objects.filter(pk=reminder.session_id).update(status=SessionStatus.CANCELLED)
    with mock.patch("sessions_app.reminders.worker.reminders_cancel_obsolete", return_value=0):
        assert worker.run_round().cancelled == 1
    reminder.refresh_from_db()
    assert (reminder.status, reminder.last_error) == ("cancelled", "Not sent: the session was cancelled or has begun.")
    assert not mail.outbox


# --- The HTTP SMS gateway backend ------------------------------------------------------------


def test_http_gateway_posts_json_with_the_token():
    gateway = SmsGateway()
    try:
        HttpSmsBackend(url=gateway.url, token="s3cret", timeout=5).send("+33 6 00 00 00 01", "Hello")
    finally:
        gateway.shutdown()
    [(headers, body)] = gateway.requests
    assert body == {"to": "+33 6 00 00 00 01", "body": "Hello"}
    assert headers["Authorization"] == "Bearer s3cret"
    assert headers["Content-Type"] == "application/json"


def test_http_gateway_errors_are_readable(worker, clock, settings):
    gateway = SmsGateway(status=503)
    settings.CLINIC_SMS_BACKEND = "http"
    settings.CLINIC_SMS_URL = gateway.url
    try:
        with pytest.raises(SmsError, match=r"^The SMS gateway refused the message: HTTP 503 .*gateway busy"):
            HttpSmsBackend().send("+1", "x")
        client = make_client(preferred_channel="sms", consent_sms=True)
        reminder = upcoming(client, starts_in_hours=20)
        assert worker.run_round().failed == 1
        reminder.refresh_from_db()
        assert reminder.last_error.startswith("The SMS gateway refused the message: HTTP 503")
    finally:
        gateway.shutdown()
    with pytest.raises(SmsError, match="^The SMS gateway could not be reached: .*refused"):
        HttpSmsBackend(url=f"http://127.0.0.1:{free_port()}/", timeout=2).send("+1", "x")


# --- One-click unsubscribe -------------------------------------------------------------------


def unsubscribe_path(client, channel="email"):
    return f"/u/{unsubscribe_token(client.pk, channel)}/"


def test_the_unsubscribe_link_asks_first_and_works_without_signing_in():
    client = make_client(consent_email=True, consent_sms=True)
    browser = HttpClient(enforce_csrf_checks=True)
    page = browser.get(unsubscribe_path(client))
    assert page.status_code == 200
    assert "Stop email reminders" in page.content.decode()
    client.refresh_from_db()
    assert client.consent_email, "a GET (a mail scanner following the link) changes nothing"
    done = browser.post(unsubscribe_path(client))
    assert done.status_code == 200
    assert "you will get no more email reminders" in done.content.decode()
    client.refresh_from_db()
    assert (client.consent_email, client.consent_sms) == (False, True)
    assert client.history.first().history_change_reason.startswith("Unsubscribed from email")


def test_rfc_8058_one_click_post_from_a_mail_program():
    client = make_client(consent_sms=True)
    response = HttpClient(enforce_csrf_checks=True).post(
        unsubscribe_path(client, "sms"), "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 200
    client.refresh_from_db()
    assert not client.consent_sms


@pytest.mark.parametrize("channel", ["email", "sms"])
def test_a_link_from_before_a_merge_unsubscribes_the_record_kept(manager, channel):
    merged = make_client(consent_email=True, consent_sms=True)
    kept = make_client(consent_email=True, consent_sms=True)
    old_link = unsubscribe_path(merged, channel)
    client_merge(keep_id=kept.pk, merge_id=merged.pk, by=manager)
    assert HttpClient().post(old_link).status_code == 200
    kept.refresh_from_db()
    field = f"consent_{channel}"
    assert getattr(kept, field) is False, "the kept record is the one messages go to"
    assert kept.history.first().history_change_reason.startswith(f"Unsubscribed from {channel}")


@pytest.mark.parametrize("token", ["12e.forged", "abc", "9999999e", "."])
def test_a_forged_or_damaged_link_changes_nothing(token):
    client = make_client(consent_email=True)
    response = HttpClient().post(f"/u/{token}/")
    assert response.status_code == 404
    assert "not valid" in response.content.decode()
    other = unsubscribe_token(client.pk, "email").replace(f"{client.pk}e.", f"{client.pk + 1}e.")
    assert HttpClient().post(f"/u/{other}/").status_code == 404
    cut = unsubscribe_token(client.pk, "email")[:-3]
    assert HttpClient().post(f"/u/{cut}/").status_code == 404
    client.refresh_from_db()
    assert client.consent_email


# --- The admin and the command ------------------------------------------------------------------


def test_the_admin_refuses_an_unknown_placeholder_beside_the_field(manager_client):
    rule = ReminderRule.objects.get(name="Maintenance due")
    data = {
        "name": rule.name,
        "kind": rule.kind,
        "active": "on",
        "amount": 14,
        "unit": "days",
        "direction": "before",
        "send_time": "10:00",
        "by_email": "on",
        "subject": "Hi {client_name}",
        "body": "Your maintenance is due on {date} at {time}; {doctor} waits.",
    }
    response = manager_client.post(f"/admin/sessions_app/reminderrule/{rule.pk}/change/", data)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "Unknown placeholder {doctor}" in errors["body"][0]
    assert "Unknown placeholder {time}" in errors["body"][0]  # maintenance has a date, no time
    rule.refresh_from_db()
    assert "{doctor}" not in rule.body
    data["body"] = "Your maintenance is due on {date}, {client_name}."
    assert manager_client.post(f"/admin/sessions_app/reminderrule/{rule.pk}/change/", data).status_code == 302


def test_the_command_runs_one_round_and_says_what_it_did():
    make_rule("upcoming_session", amount=24, unit="hours")
    make_session(make_plan(make_client(consent_email=True)), starts_at=timezone.now() + dt.timedelta(hours=3))
    from io import StringIO

    out = StringIO()
    call_command("send_reminders", stdout=out)
    assert out.getvalue().strip() == (
        "Reminders: 0 back from stuck, 1 generated, 0 cancelled, 1 sent, 0 failed, 0 to calls, 0 new signal flags."
    )
    assert len(mail.outbox) == 1


def test_the_command_refuses_a_bad_interval():
    with pytest.raises(CommandError, match="--interval: must be at least 1, not 0"):
        call_command("send_reminders", "--loop", "--interval", "0")


def test_switching_a_rule_off_stops_what_it_already_queued(worker, clock):
    reminder = upcoming(starts_in_hours=30)  # queued when the session was booked
    ReminderRule.objects.filter(pk=reminder.rule_id).update(active=False)  # the manager switches it off
    clock.moment = reminder.due_at
    worker.run_round()
    reminder.refresh_from_db()
    assert not mail.outbox
    assert (reminder.status, reminder.last_error) == ("cancelled", "Not sent: its rule was switched off.")


def test_a_session_moved_in_the_admin_takes_its_reminder_along(worker, clock):
    from django.test import Client as Browser

    from sessions_app.models import Role, TreatmentSession

    from .factories import make_user

    reminder = upcoming(starts_in_hours=30)
    session = reminder.session
    browser = Browser()
    browser.force_login(make_user(Role.MANAGER))
    later = session.starts_at + dt.timedelta(days=4)
    data = session_form(session, starts_at=later, ends_at=later + dt.timedelta(minutes=45))
    assert browser.post(admin_url(TreatmentSession, "change", session.pk), data).status_code == 302
    reminder.refresh_from_db()
    assert reminder.due_at == later - dt.timedelta(hours=24)
