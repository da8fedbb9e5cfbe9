# A reminder rule gets its own SMS text, and the default rules a short one each:
# with its stop link an SMS of the email's message was 226 characters, two parts.

from django.db import migrations, models

# Each fits one GSM-7 part (160 characters) with its stop link, for a
# CLINIC_BASE_URL of up to 48 characters, CLINIC_NAME "Mesoclinic" and the
# longest date ("Wednesday 30 September 2026"): tests/test_sms_length.py holds them to it.
DEFAULT_SMS_TEXTS = {
    "Session reminder, the day before": "{clinic}: see you {date} at {time}. Can't come? Call us.",
    "Aftercare check, 2 days after a session": (
        "{clinic}: how is the treated area? If it hurts, is hot or worries you, call us."
    ),
    "Next series session not booked": "{clinic}: your next session is due {date}. Call us to book.",
    "Maintenance due": "{clinic}: your maintenance is due {date}. Call us to book.",
    "Screening renewal": "{clinic}: your health form expires {date}. Come 10 min early.",
}


def load_default_sms_texts(apps, schema_editor=None):
    """Idempotent, and only where no SMS text was written (the tests call it again after a flush)."""
    ReminderRule = apps.get_model("sessions_app", "ReminderRule")
    for name, text in DEFAULT_SMS_TEXTS.items():
        ReminderRule.objects.filter(name=name, by_sms=True, sms_body="").update(sms_body=text)


class Migration(migrations.Migration):
    dependencies = [
        ("sessions_app", "0017_history_change_reason_text"),
    ]

    operations = [
        migrations.AddField(
            model_name="reminderrule",
            name="sms_body",
            field=models.TextField(
                blank=True,
                help_text="The text message, with the same placeholders; the stop link is added after it. One SMS part holds 160 characters, link included (70 with a character outside the GSM alphabet, such as an emoji). Empty: the SMS says the message above.",
                verbose_name="SMS text",
            ),
        ),
        migrations.RunPython(load_default_sms_texts, migrations.RunPython.noop),
    ]
