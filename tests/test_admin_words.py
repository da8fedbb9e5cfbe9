"""The admin in the clinic's words: its sections and models named as the
clinic says them, one "Access log", and the reminder-rule editor's preview of
the messages a sample client would get, with the SMS's length and parts."""

import re

import pytest
from django.urls import reverse

from sessions_app.models import ReminderRule, Role
from sessions_app.reminders.sms_text import sms_length

from .factories import admin_url, make_user

PREVIEW = "admin:sessions_app_reminderrule_preview"


def visible_text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.mark.django_db
def test_the_admin_index_names_sections_and_models_as_the_clinic_does(manager_client):
    text = visible_text(manager_client.get(reverse("admin:index")).content.decode())
    for name in ("Sign-in lockouts", "Authenticators", "Lockouts and failure counts", "Failed sign-ins", "Sign-ins"):
        assert name in text, name
    assert "Authenticator apps" in text
    assert text.count("Access log") == 1
    for code in ("Axes", "AXES", "Otp_Totp", "OTP_TOTP", "TOTP devices", "Access logs", "Access attempts"):
        assert code not in text, code


@pytest.mark.django_db
def test_a_lockouts_page_is_titled_in_words(manager_client):
    from axes.models import AccessAttempt

    text = visible_text(manager_client.get(admin_url(AccessAttempt, "changelist")).content.decode())
    # The breadcrumbs and the title.
    assert "Home Sign-in lockouts Lockouts and failure counts" in text
    assert "Select lockout to" in text


def preview(client, **fields):
    data = {"kind": "upcoming_session", "subject": "", "body": "", "sms_body": "", **fields}
    return client.post(reverse(PREVIEW), data)


@pytest.mark.django_db
def test_the_preview_fills_in_the_messages_for_a_sample_client(manager_client, settings):
    settings.CLINIC_NAME = "Clinique du Parc"
    response = preview(
        manager_client,
        subject="See you on {date}",
        body="Dear {first_name}, see you on {date} at {time} with {practitioner}.",
        sms_body="{clinic}: {first_name}, see you {date} {time}.",
    )
    assert response.status_code == 200
    shown = response.json()
    assert shown["email_subject"] == "See you on Wednesday 30 September 2026"
    assert shown["email_text"].startswith(
        "Dear Camille, see you on Wednesday 30 September 2026 at 10:30 with Dr Claire"
    )
    assert "To stop email reminders from Clinique du Parc" in shown["email_text"]
    assert shown["sms_text"].startswith(
        "Clinique du Parc: Camille, see you Wednesday 30 September 2026 10:30.\nStop SMS: "
    )
    assert shown["sms_length"] == str(sms_length(shown["sms_text"]))
    assert shown["sms_parts"] == 1


@pytest.mark.django_db
def test_the_preview_counts_the_parts_of_a_long_or_emoji_sms(manager_client):
    long = preview(manager_client, body="x", sms_body="Hello {first_name} " + "a" * 200).json()
    assert long["sms_parts"] == 2 and "2 parts (GSM-7" in long["sms_length"]
    emoji = preview(manager_client, body="x", sms_body="Hello {first_name} 🙂 " + "a" * 30).json()
    assert "UCS-2" in emoji["sms_length"] and emoji["sms_parts"] == 2
    # No SMS text of its own: the SMS says the message.
    plain = preview(manager_client, body="Hello {first_name}").json()
    assert plain["sms_text"].startswith("Hello Camille\nStop SMS: ")


@pytest.mark.django_db
def test_the_preview_says_why_a_text_cannot_be_filled_in(manager_client):
    shown = preview(manager_client, kind="maintenance_due", body="At {time}", sms_body="{oops}").json()
    assert "Unknown placeholder {time}" in shown["email_error"]
    assert "Unknown placeholder {oops}" in shown["sms_error"]
    assert "Choose the kind" in preview(manager_client, kind="").json()["error"]
    assert "Choose the kind" in preview(manager_client, kind="<script>").json()["error"]


@pytest.mark.django_db
def test_the_preview_is_a_managers_and_saves_nothing(client, manager_client):
    rules = ReminderRule.objects.count()
    assert manager_client.get(reverse(PREVIEW)).status_code == 405
    preview(manager_client, body="Hello", name="New rule")
    assert ReminderRule.objects.count() == rules
    client.force_login(make_user(Role.PRACTITIONER))
    assert preview(client, body="Hello").status_code == 403


@pytest.mark.django_db
def test_the_rule_editor_carries_the_preview(manager_client):
    rule = ReminderRule.objects.order_by("pk").first()
    page = manager_client.get(admin_url(ReminderRule, "change", rule.pk)).content.decode()
    assert 'id="rule-preview"' in page and "js/rule_preview.js" in page
    assert f'data-preview-url="{reverse(PREVIEW)}"' in page
