"""The client's own check-in after a session (issue 16): the messages on days
1, 3 and 7, the personal link (expired, wrong session, replayed, forged, rate
limited), what an answer becomes, the severe answer's call, stopping them."""

import io
import os
import subprocess
import sys
import uuid

import pytest
from django.conf import settings
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client as HttpClient
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from sessions_app.models import (
    CheckIn,
    Reminder,
    ReminderChannel,
    ReminderKind,
    ReminderRule,
    ReminderStatus,
    SideEffect,
    SideEffectSource,
)
from sessions_app.reminders.calls import call_list
from sessions_app.reminders.checkin_link import check_in_token
from sessions_app.reminders.generate import reminders_generate
from sessions_app.reminders.sms_text import sms_length
from sessions_app.reminders.worker import ReminderWorker
from sessions_app.services.clients import client_merge

from .factories import (
    PARIS,
    Clock,
    check_in_message,
    check_in_path,
    complete,
    done_session,
    image_bytes,
    make_client,
    make_plan,
    make_session,
)

dt = __import__("datetime")


def answer(path, client=None, **data):
    return (client or HttpClient()).post(path, data)


# --- The messages ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_default_rules_send_a_check_in_on_days_1_3_and_7_by_the_consented_channel():
    ReminderRule.objects.exclude(kind=ReminderKind.CHECK_IN).update(active=False)
    by_sms = make_client(preferred_channel="sms", consent_sms=True, consent_email=True)
    no_consent = make_client(preferred_channel="phone")
    session = done_session(days_ago=0.5, plan=make_plan(by_sms))
    done_session(days_ago=0.5, plan=make_plan(no_consent))
    reminders_generate(now=timezone.now())
    messages = Reminder.objects.filter(kind=ReminderKind.CHECK_IN).order_by("due_at")
    # One message a day for the client who agreed to SMS; nothing, not even a call, for the other.
    assert [(m.client, m.channel) for m in messages] == [(by_sms, "sms")] * 3
    completed = timezone.localtime(session.completed_at).date()
    assert [timezone.localtime(m.due_at) for m in messages] == [
        dt.datetime.combine(completed + dt.timedelta(days=days), dt.time(18), tzinfo=PARIS) for days in (1, 3, 7)
    ]


@pytest.mark.django_db
def test_the_sms_carries_the_personal_link_in_one_part_and_the_email_its_link_and_stop_link(settings):
    settings.CLINIC_REMINDER_QUIET_HOURS = None
    # The day-after check-in only: done_session starts up to two days earlier
    # still, which would make the day-3 one due too.
    ReminderRule.objects.exclude(kind=ReminderKind.CHECK_IN, amount=1).update(active=False)
    sms_client = make_client(preferred_channel="sms", consent_sms=True)
    email_client = make_client(preferred_channel="email", consent_email=True)
    moment = timezone.now()
    # A day and a half ago, an hour apart: only the day-1 check-in is due a day
    # later (done_session's shifting hours could make it the day-3 one as well).
    for hours, patient in enumerate((sms_client, email_client)):
        start = moment.replace(microsecond=0) - dt.timedelta(days=1.5, hours=hours)
        complete(make_session(make_plan(patient), starts_at=start))
    worker = ReminderWorker(clock=Clock(moment + dt.timedelta(days=1)))
    worker.run_round()
    sms = Reminder.objects.get(client=sms_client, status=ReminderStatus.SENT)
    link = settings.CLINIC_BASE_URL + check_in_path(sms)
    assert sms.message.endswith(link) and sms_length(sms.message).parts == 1
    assert "stop SMS" in sms.message
    email = Reminder.objects.get(client=email_client, status=ReminderStatus.SENT)
    [sent] = [m for m in mail.outbox if email_client.email in m.to]
    assert settings.CLINIC_BASE_URL + check_in_path(email) in sent.body
    assert "List-Unsubscribe" in sent.extra_headers


@pytest.mark.django_db
def test_a_client_who_stopped_sms_gets_no_check_in_and_no_call_instead(settings):
    settings.CLINIC_REMINDER_QUIET_HOURS = None
    message = check_in_message()
    Reminder.objects.filter(pk=message.pk).update(status=ReminderStatus.PENDING, sent_at=None)
    message.client.consent_sms = False
    message.client.save()
    worker = ReminderWorker(clock=Clock(timezone.now()))
    assert worker.claim_next() == message.pk
    assert worker.process(message.pk) == "cancelled"
    message.refresh_from_db()
    assert message.status == ReminderStatus.CANCELLED
    assert not Reminder.objects.filter(channel=ReminderChannel.CALL).exists()


# --- The link -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_page_shows_nothing_but_the_first_name_and_the_session_date():
    message = check_in_message()
    message.client.first_name, message.client.last_name = "Camille", "Durand-Secret"
    message.client.save()
    page = HttpClient().get(check_in_path(message))
    assert page.status_code == 200
    text = page.content.decode()
    day = timezone.localtime(message.session.starts_at)
    assert "Hello Camille" in text and f"{day:%-d} {day:%B}" in text
    for private in ("Durand-Secret", message.client.email, message.client.phone, str(message.session.practitioner)):
        assert private not in text
    assert page["Cache-Control"].startswith("max-age=0") or "no-store" in page["Cache-Control"]


@pytest.mark.django_db
def test_an_expired_link_takes_no_answer():
    message = check_in_message(due_at=timezone.now() - dt.timedelta(days=14, hours=1))
    response = HttpClient().get(check_in_path(message))
    assert response.status_code == 410 and "expired" in response.content.decode()
    assert answer(check_in_path(message), answer="fine").status_code == 410
    assert not CheckIn.objects.exists()
    # Just within the 14 days it still works.
    fresh = check_in_message(due_at=timezone.now() - dt.timedelta(days=13, hours=23))
    assert HttpClient().get(check_in_path(fresh)).status_code == 200


@pytest.mark.django_db
def test_a_link_opens_its_own_session_only():
    mine, theirs = check_in_message(), check_in_message()
    # The signature of my message under the id of another: refused.
    token = check_in_token(mine.pk, mine.client_id, mine.session_id)
    swapped = check_in_token(theirs.pk, 1, 1)[:-10] + token[-10:]
    assert HttpClient().get(reverse("check_in", args=[swapped])).status_code == 404
    # A token signed for my client but another session: refused.
    other_session = check_in_token(mine.pk, mine.client_id, theirs.session_id)
    assert HttpClient().get(reverse("check_in", args=[other_session])).status_code == 404
    # A reminder that is no check-in (an aftercare message) opens nothing either.
    Reminder.objects.filter(pk=theirs.pk).update(kind=ReminderKind.AFTERCARE_CHECK)
    assert HttpClient().get(check_in_path(theirs)).status_code == 404


@pytest.mark.django_db
def test_a_link_sent_before_two_merges_still_opens_and_answers(manager):
    message = check_in_message()
    path = check_in_path(message)  # signed for the record it was sent to
    first_home, last_home = make_client(), make_client()
    client_merge(keep_id=first_home.pk, merge_id=message.client_id, by=manager)
    client_merge(keep_id=last_home.pk, merge_id=first_home.pk, by=manager)
    message.refresh_from_db()
    assert message.client_id == last_home.pk
    assert HttpClient().get(path).status_code == 200
    assert answer(path, answer="fine").status_code == 200
    assert CheckIn.objects.get().client_id == last_home.pk
    # Signed for a client that was never merged into this one: still refused.
    stranger = make_client()
    forged = check_in_token(message.pk, stranger.pk, message.session_id)
    assert HttpClient().get(reverse("check_in", args=[forged])).status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize(
    "forge",
    [
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # one character of the signature
        lambda t: t[:-2],  # cut short
        lambda t: "0" + t,  # a leading zero on the id
        lambda t: t + "x",
        lambda t: "zz" + t[2:],
    ],
)
def test_a_forged_or_damaged_link_opens_nothing(forge):
    message = check_in_message()
    token = forge(check_in_token(message.pk, message.client_id, message.session_id))
    response = HttpClient().get(f"/c/{token}")
    assert response.status_code == 404
    assert "does not work" in response.content.decode() or response.status_code == 404
    assert HttpClient().post(f"/c/{token}", {"answer": "fine"}).status_code == 404
    assert not CheckIn.objects.exists()


@pytest.mark.django_db
def test_a_link_answers_once_then_says_so():
    message = check_in_message()
    first = answer(check_in_path(message), answer="swelling", score="5", note="Since yesterday")
    assert first.status_code == 200 and "Thank you" in first.content.decode()
    replay = answer(check_in_path(message), answer="swelling", score="9")
    assert "Already answered" in replay.content.decode()
    assert HttpClient().get(check_in_path(message)).status_code == 200
    assert CheckIn.objects.count() == 1 and SideEffect.objects.count() == 1
    assert not Reminder.objects.filter(kind=ReminderKind.SIDE_EFFECT_URGENT).exists()


@pytest.mark.django_db
def test_the_pages_are_rate_limited_by_address(settings):
    settings.CLINIC_CHECK_IN_RATE_LIMIT = 5
    message = check_in_message()
    browser = HttpClient(REMOTE_ADDR="203.0.113.7")
    assert [browser.get(check_in_path(message)).status_code for _ in range(5)] == [200] * 5
    limited = browser.get(check_in_path(message))
    assert limited.status_code == 429 and limited["Retry-After"] == "600"
    assert "Too many tries" in limited.content.decode()
    # Guessing other links from there is refused too, before any lookup.
    assert browser.get("/c/2Bik3J9aZ0xQwA").status_code == 429
    # Another address is counted apart.
    assert HttpClient(REMOTE_ADDR="198.51.100.2").get(check_in_path(message)).status_code == 200


@pytest.mark.django_db
def test_answers_to_one_link_are_rate_limited_from_any_address(settings):
    settings.CLINIC_CHECK_IN_RATE_LIMIT = 6  # two answers to one link in the window
    message = check_in_message()
    statuses = [
        HttpClient(REMOTE_ADDR=f"198.51.100.{n}").post(check_in_path(message), {"answer": "pain"}).status_code
        for n in range(3)
    ]
    assert statuses == [200, 200, 429]  # the first two miss their score (the form says so)


REDIS_URL = "redis://127.0.0.1:6379/15"
BASE = str(settings.BASE_DIR)


def _redis_up() -> bool:
    try:
        import redis

        return redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5).ping()
    except Exception:
        return False


@pytest.mark.skipif(not _redis_up(), reason="needs Redis on 127.0.0.1:6379")
def test_with_redis_every_process_counts_against_the_same_limit():
    """What production needs (CLINIC_CACHE_URL): two processes share one count.
    Each process here is a Python of its own with the app's settings."""
    key = f"test-{uuid.uuid4().hex}"
    code = (
        "import django; django.setup(); from sessions_app.ratelimit import allow; "
        f"print([allow({key!r}, limit=3, window_seconds=600) for _ in range(%d)])"
    )
    env = {**os.environ, "CLINIC_CACHE_URL": REDIS_URL, "DJANGO_SETTINGS_MODULE": "clinic.settings_test"}

    def process(calls: int) -> str:
        done = subprocess.run(
            [sys.executable, "-c", code % calls], env=env, capture_output=True, text=True, timeout=60, cwd=BASE
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.strip().splitlines()[-1]

    try:
        assert process(3) == "[True, True, True]"
        assert process(1) == "[False]"  # the first process used them up
    finally:
        import redis

        connection = redis.Redis.from_url(REDIS_URL)
        for name in connection.scan_iter(f"*{key}*"):
            connection.delete(name)


# --- What an answer becomes ---------------------------------------------------------------------


@pytest.mark.django_db
def test_fine_is_recorded_and_nothing_else():
    message = check_in_message()
    assert "Glad to hear it" in answer(check_in_path(message), answer="fine").content.decode()
    check_in = CheckIn.objects.get()
    assert (check_in.answer, check_in.score, check_in.side_effect) == ("fine", None, None)
    assert not SideEffect.objects.exists()


@pytest.mark.django_db
def test_anything_but_fine_becomes_a_side_effect_awaiting_review(client, practitioner):
    message = check_in_message()
    answer(check_in_path(message), answer="redness", score="5", note="Warm to the touch")
    effect = SideEffect.objects.get()
    assert (effect.client, effect.session, effect.kind.name) == (message.client, message.session, "Redness")
    assert (effect.source, effect.severity, effect.recorded_by, effect.reviewed_at) == (
        SideEffectSource.CHECK_IN,
        "moderate",
        None,
        None,
    )
    entry = effect.follow_ups.get()
    assert "Warm to the touch" in entry.note and entry.source == SideEffectSource.CHECK_IN
    client.force_login(practitioner)
    listed = client.get(reverse("side_effect_list")).content.decode()
    assert "client&#x27;s check-in" in listed or "client's check-in" in listed
    # Not severe: no call at once.
    assert not Reminder.objects.filter(kind=ReminderKind.SIDE_EFFECT_URGENT).exists()


@pytest.mark.django_db
def test_something_else_is_a_side_effect_of_the_kind_other():
    message = check_in_message()
    answer(check_in_path(message), answer="other", score="2", note="Itchy bumps")
    assert SideEffect.objects.get().kind.name == "Other"


@pytest.mark.django_db
def test_a_severe_answer_puts_a_call_at_the_top_of_the_call_list_at_once_and_on_today(client, practitioner, reception):
    # An older aftercare call already waits on the list.
    from .factories import aftercare_call

    aftercare_call("Old Call")
    message = check_in_message()
    answer(check_in_path(message), answer="swelling", score="8")
    effect = SideEffect.objects.get(client=message.client)
    assert effect.severity == "severe"
    call = Reminder.objects.get(kind=ReminderKind.SIDE_EFFECT_URGENT)
    assert (call.channel, call.status, call.side_effect, call.client) == ("call", "pending", effect, message.client)
    assert call.due_at <= timezone.now()
    calls = call_list(now=timezone.now())
    assert calls.urgent == [call] and call not in calls.aftercare + calls.other
    client.force_login(reception)
    page = client.get(reverse("call_list")).content.decode()
    assert page.index("Call first") < page.index("Aftercare calls")
    assert message.client.full_name in page
    client.force_login(practitioner)
    today = client.get(reverse("dashboard"))
    assert today.context["urgent_check_ins"] == [effect]
    assert "Severe, reported by clients" in today.content.decode()


@pytest.mark.django_db
def test_a_missing_score_is_said_beside_the_field_and_nothing_is_saved():
    message = check_in_message()
    response = answer(check_in_path(message), answer="pain")
    assert response.status_code == 200
    assert "Say how bad it is" in " ".join(response.context["form"].errors["score"])
    assert 'id="error-summary"' in response.content.decode()
    assert not CheckIn.objects.exists() and not SideEffect.objects.exists()


@pytest.mark.django_db
def test_hostile_text_is_kept_as_text():
    message = check_in_message()
    note = "<script>alert(1)</script>\u202e🙂" + "x" * 1900
    answer(check_in_path(message), answer="bruising", score="3", note=note)
    assert SideEffect.objects.get().follow_ups.get().note.endswith(note)
    too_long = check_in_message()
    response = answer(check_in_path(too_long), answer="bruising", score="3", note="x" * 2001)
    assert response.context["form"].errors["note"]


def _jpeg_with_exif() -> bytes:
    image = Image.new("RGB", (60, 40), (180, 120, 100))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # camera make
    exif[0x0132] = "2026:11:28 10:00:00"  # date and time
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif.tobytes())
    return out.getvalue()


@pytest.mark.django_db
def test_the_photo_is_kept_as_staff_uploads_are_without_its_metadata():
    message = check_in_message()
    assert Image.open(io.BytesIO(_jpeg_with_exif())).getexif()  # it has some
    photo = SimpleUploadedFile("me.jpg", _jpeg_with_exif(), content_type="image/jpeg")
    response = HttpClient().post(
        check_in_path(message), {"answer": "bruising", "score": "4", "photo": photo}, format="multipart"
    )
    assert response.status_code == 200
    entry = SideEffect.objects.get().follow_ups.get()
    with entry.photo.open("rb") as stored:
        kept = Image.open(stored)
        assert kept.format == "JPEG" and not kept.getexif()
    # Not a photo: refused beside the field, nothing saved.
    other = check_in_message()
    fake = SimpleUploadedFile("me.jpg", b"%PDF-1.4 not a photo", content_type="image/jpeg")
    refused = HttpClient().post(check_in_path(other), {"answer": "bruising", "score": "4", "photo": fake})
    assert refused.context["form"].errors["photo"]
    assert SideEffect.objects.count() == 1


@pytest.mark.django_db
def test_a_photo_too_large_is_refused(settings):
    settings.CLINIC_PHOTO_MAX_BYTES = 1000
    message = check_in_message()
    photo = SimpleUploadedFile("me.png", image_bytes(size=(400, 400)), content_type="image/png")
    response = HttpClient().post(check_in_path(message), {"answer": "bruising", "score": "4", "photo": photo})
    assert "at most" in " ".join(response.context["form"].errors["photo"])


# --- Stopping them ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_page_stops_messages_by_its_channel_as_the_stop_link_does():
    message = check_in_message(channel=ReminderChannel.SMS)
    message.client.consent_sms = message.client.consent_email = True
    message.client.save()
    page = HttpClient().get(check_in_path(message)).content.decode()
    assert "Stop SMS messages" in page
    done = HttpClient(enforce_csrf_checks=False).post(check_in_path(message) + "/stop")
    assert "no more SMS messages" in done.content.decode()
    message.client.refresh_from_db()
    assert (message.client.consent_sms, message.client.consent_email) == (False, True)
    # It works on an answered or expired link too, never on a forged one.
    answered = check_in_message(channel=ReminderChannel.EMAIL)
    answer(check_in_path(answered), answer="fine")
    assert HttpClient().post(check_in_path(answered) + "/stop").status_code == 200
    assert HttpClient().post(check_in_path(answered)[:-1] + "Z/stop").status_code == 404
