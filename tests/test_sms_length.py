"""What an SMS costs (issue 18: with its stop link a reminder SMS was 226
characters, two parts, though the code said one). One function counts GSM-7
and UCS-2 lengths and parts; the default SMS texts fit one part with a short
stop link that still works through the unsubscribe page."""

import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.test import Client as HttpClient

from sessions_app.models import Reminder, ReminderChannel, ReminderKind, ReminderRule
from sessions_app.reminders.checkin_link import check_in_url
from sessions_app.reminders.delivery import SMS_SAMPLE_REMINDER_ID, sms_sample
from sessions_app.reminders.generate import reminders_generate
from sessions_app.reminders.sms_text import GSM7, UCS2, sms_length
from sessions_app.reminders.unsubscribe import read_token, unsubscribe_token, unsubscribe_url
from sessions_app.reminders.worker import ReminderWorker

from .factories import make_client, make_plan, make_session

# A clinic's real address at the longest CLINIC_BASE_URL the README allows (48 characters).
REALISTIC_BASE_URL = "https://rendez-vous.clinique-esthetique-paris.fr"


@pytest.mark.parametrize(
    ("text", "encoding", "units", "parts"),
    [
        ("", GSM7, 0, 0),
        ("a" * 160, GSM7, 160, 1),
        ("a" * 161, GSM7, 161, 2),
        ("a" * 306, GSM7, 306, 2),  # 153 a part once split
        ("a" * 307, GSM7, 307, 3),
        ("Crème, Ñoño, Øre: é à ü ß", GSM7, 25, 1),  # accents of the GSM alphabet
        ("€" * 80, GSM7, 160, 1),  # the extension table counts double
        ("€" * 81, GSM7, 162, 2),
        ("[x]{y}|~^\\", GSM7, 18, 1),
        # 152 + a double character that does not fit the one place left: it goes whole into the next part.
        ("a" * 152 + "€" + "a" * 152, GSM7, 306, 3),
        ("ł" * 70, UCS2, 70, 1),  # one character outside the GSM alphabet: UCS-2, 70 to a part
        ("ł" * 71, UCS2, 71, 2),
        ("ł" * 134, UCS2, 134, 2),  # 67 a part once split
        ("ł" * 135, UCS2, 135, 3),
        ("See you at 10:00 \u2019", UCS2, 18, 1),  # a curly apostrophe is enough
        ("😀" * 35, UCS2, 70, 1),  # outside the Basic Multilingual Plane: two units
        ("😀" * 36, UCS2, 72, 2),
        ("a" * 66 + "😀" + "a" * 66, UCS2, 134, 3),  # a surrogate pair is not cut between parts
    ],
)
def test_sms_length_counts_units_and_parts(text, encoding, units, parts):
    length = sms_length(text)
    assert (length.encoding, length.units, length.parts) == (encoding, units, parts)


def test_sms_length_says_it_in_words():
    assert str(sms_length("a" * 150)) == "150 of 160 characters: 1 part (GSM-7)"
    assert str(sms_length("a" * 200)) == "200 characters: 2 parts (GSM-7, 153 characters a part)"


# --- The stop link ----------------------------------------------------------------------------


def test_the_sms_stop_link_is_short_and_unguessable():
    token = unsubscribe_token(100_000, ReminderChannel.SMS)
    assert len(token) == 13  # 3 characters of client id in base 62, 10 of signature (60 bits)
    assert read_token(token) == (100_000, ReminderChannel.SMS)
    for forged in (token[:-1] + ("A" if token[-1] != "A" else "B"), "1" + token[1:], token[:-2], "", "0" + token):
        with pytest.raises(Exception, match="token"):
            read_token(forged)
    # Another client's id with this signature is refused.
    other = unsubscribe_token(100_001, ReminderChannel.SMS)
    with pytest.raises(Exception, match="token"):
        read_token(other[:3] + token[3:])


@pytest.mark.django_db
def test_the_short_link_and_the_links_sent_before_it_both_unsubscribe_from_sms():
    from sessions_app.reminders import unsubscribe

    for token in (
        unsubscribe_token,
        # The SMS links sent before the short ones: "42s." and 16 characters of signature.
        lambda pk, channel: f"{pk}s.{unsubscribe._signature(f'{pk}s')}",
    ):
        client = make_client(consent_sms=True, consent_email=True)
        path = f"/u/{token(client.pk, ReminderChannel.SMS)}/"
        assert "Stop SMS reminders" in HttpClient().get(path).content.decode()
        assert HttpClient(enforce_csrf_checks=True).post(path).status_code == 200
        client.refresh_from_db()
        assert (client.consent_sms, client.consent_email) == (False, True)


# --- The default texts ------------------------------------------------------------------------


@pytest.fixture
def realistic(settings):
    settings.CLINIC_BASE_URL = REALISTIC_BASE_URL
    settings.CLINIC_NAME = "Mesoclinic"
    return settings


@pytest.mark.django_db
def test_every_default_sms_fits_one_part_with_its_stop_link(realistic):
    """With the longest English date, a clinic chain's client id (100,000) and a
    48-character base URL. A check-in's SMS carries its own link instead,
    whose page stops SMS as the stop link's does (two links would not fit)."""
    rules = ReminderRule.objects.filter(by_sms=True).order_by("name")
    assert rules.count() == 8
    for rule in rules:
        text, length = sms_sample(rule.sms_template, rule.kind)
        assert length.encoding == GSM7, rule.name
        assert length.parts == 1, f"{rule.name}: {length}\n{text}"
        if rule.kind == ReminderKind.CHECK_IN:
            assert text.endswith(check_in_url(SMS_SAMPLE_REMINDER_ID, 100_000, SMS_SAMPLE_REMINDER_ID)), text
            assert "stop SMS" in text
        else:
            assert text.endswith(f"\nStop SMS: {unsubscribe_url(100_000, ReminderChannel.SMS)}")
        assert "Wednesday 30 September 2026" in text or "{date}" not in rule.sms_template


@pytest.mark.django_db
def test_the_day_before_reminder_goes_out_as_one_sms_part(realistic, tmp_path):
    """Through the worker, as a client gets it, on the longest date of the year."""
    realistic.CLINIC_SMS_BACKEND, realistic.CLINIC_SMS_FILE_PATH = "file", tmp_path / "sms.jsonl"
    rule = ReminderRule.objects.get(name="Session reminder, the day before")
    ReminderRule.objects.exclude(pk=rule.pk).update(active=False)
    paris = ZoneInfo(settings.TIME_ZONE)
    start = dt.datetime(2026, 9, 30, 10, 30, tzinfo=paris)
    client = make_client(first_name="Camille", preferred_channel="sms", phone="+33 6 12 34 56 78", consent_sms=True)
    make_session(make_plan(client), starts_at=start)
    reminders_generate(now=start - dt.timedelta(hours=30))
    assert Reminder.objects.get(client=client).channel == ReminderChannel.SMS
    ReminderWorker(clock=lambda: start - dt.timedelta(hours=23)).run_round()
    [line] = tmp_path.joinpath("sms.jsonl").read_text().splitlines()
    body = json.loads(line)["body"]
    assert "Wednesday 30 September 2026 at 10:30" in body
    assert sms_length(body).parts == 1, f"{sms_length(body)}\n{body}"
    assert body.endswith(f"Stop SMS: {unsubscribe_url(client.pk, ReminderChannel.SMS)}")


# --- The rule editor ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_rule_editor_shows_the_sms_with_its_length_and_warns_past_one_part(manager_client, realistic):
    rule = ReminderRule.objects.get(name="Session reminder, the day before")
    url = f"/admin/sessions_app/reminderrule/{rule.pk}/change/"
    page = manager_client.get(url).content.decode()
    assert "SMS, as a client gets it" in page
    assert "Mesoclinic: see you Wednesday 30 September 2026 at 10:30." in page
    assert "of 160 characters: 1 part (GSM-7)" in page

    data = {
        "name": rule.name,
        "kind": rule.kind,
        "active": "on",
        "amount": 24,
        "unit": "hours",
        "direction": "before",
        "send_time": "10:00",
        "by_email": "on",
        "by_sms": "on",
        "subject": rule.subject,
        "body": rule.body,
        "sms_body": "Hello {first_name}, a reminder of your session at {clinic} on {date} at {time} 😀",
    }
    saved = manager_client.post(url, data, follow=True)
    notices = [str(m) for m in saved.context["messages"]]
    assert any("3 parts (UCS-2, 67 characters a part)" in m and "shorten the SMS text" in m for m in notices)
    rule.refresh_from_db()
    assert rule.sms_body.endswith("😀")
    data["sms_body"] = "{doctor} waits"
    refused = manager_client.post(url, data)
    assert "Unknown placeholder {doctor}" in refused.context["adminform"].form.errors["sms_body"][0]
