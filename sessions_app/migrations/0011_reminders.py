"""Reminder rules (with the defaults a clinic starts from), and what the
reminder worker and the call list record on each reminder."""

import datetime

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from sessions_app.roles import sync_role_groups_migration


class Migration(migrations.Migration):
    dependencies = [
        ("sessions_app", "0010_booking_bounds"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.AddField(
            model_name="reminder",
            name="call_outcome",
            field=models.CharField(
                blank=True,
                choices=[
                    ("reached", "Reached"),
                    ("no_answer", "No answer"),
                    ("booked", "Booked"),
                    ("declined", "Declined"),
                ],
                max_length=10,
            ),
        ),
        migrations.AddField(
            model_name="reminder",
            name="handled_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="reminder",
            name="handled_by",
            field=models.ForeignKey(
                blank=True,
                help_text="Who recorded the last call outcome.",
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="reminder",
            name="message",
            field=models.TextField(blank=True, help_text="What was sent, as sent."),
        ),
        migrations.AddField(
            model_name="reminder",
            name="next_attempt_at",
            field=models.DateTimeField(
                blank=True, help_text="When a failed reminder is tried again; empty once given up.", null=True
            ),
        ),
        migrations.AddField(
            model_name="reminder",
            name="screening",
            field=models.ForeignKey(
                blank=True,
                help_text="For a screening renewal: the screening that runs out.",
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="reminders",
                to="sessions_app.screening",
            ),
        ),
        migrations.CreateModel(
            name="ReminderRule",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(max_length=120, unique=True)),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("upcoming_session", "Upcoming session"),
                            ("aftercare_check", "Aftercare check"),
                            ("next_session_unbooked", "Next series session not booked"),
                            ("maintenance_due", "Maintenance due"),
                            ("screening_renewal", "Screening renewal"),
                        ],
                        max_length=24,
                    ),
                ),
                ("active", models.BooleanField(default=True)),
                (
                    "amount",
                    models.PositiveSmallIntegerField(
                        help_text="How many hours or days (0 to 366) from what the reminder is about.",
                        verbose_name="offset",
                    ),
                ),
                (
                    "unit",
                    models.CharField(
                        choices=[("hours", "hours"), ("days", "days")],
                        default="days",
                        max_length=5,
                        verbose_name="offset unit",
                    ),
                ),
                (
                    "direction",
                    models.CharField(
                        choices=[("before", "before"), ("after", "after")], default="before", max_length=6
                    ),
                ),
                (
                    "send_time",
                    models.TimeField(
                        default=datetime.time(10, 0),
                        help_text="For an offset in days: the time of day it is due, on the clinic's clock.",
                    ),
                ),
                (
                    "by_email",
                    models.BooleanField(
                        default=False, help_text="Email the client, if they agreed to email.", verbose_name="email"
                    ),
                ),
                (
                    "by_sms",
                    models.BooleanField(
                        default=False, help_text="Text the client, if they agreed to SMS.", verbose_name="SMS"
                    ),
                ),
                (
                    "by_call",
                    models.BooleanField(
                        default=False,
                        help_text="Ask reception to call the client (on the call list).",
                        verbose_name="call task",
                    ),
                ),
                (
                    "subject",
                    models.CharField(
                        blank=True, help_text="The email's subject; placeholders allowed.", max_length=200
                    ),
                ),
                (
                    "body",
                    models.TextField(
                        help_text="The message. Placeholders: {client_name} (the client's first and last name), {first_name} (the client's first name), {date} (the date the reminder is about (the session, the next session or maintenance due, the screening's end)), {time} (the session's time (upcoming session and aftercare check only)), {clinic} (the clinic's name), {practitioner} (the practitioner's name). The unsubscribe link is added below it."
                    ),
                ),
            ],
            options={
                "ordering": ["kind", "name"],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(
                            (
                                "kind__in",
                                [
                                    "upcoming_session",
                                    "aftercare_check",
                                    "next_session_unbooked",
                                    "maintenance_due",
                                    "screening_renewal",
                                ],
                            )
                        ),
                        name="rule_kind_valid",
                    ),
                    models.CheckConstraint(condition=models.Q(("unit__in", ["hours", "days"])), name="rule_unit_valid"),
                    models.CheckConstraint(
                        condition=models.Q(("direction__in", ["before", "after"])), name="rule_direction_valid"
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("amount__lte", 366)),
                        name="rule_offset_range",
                        violation_error_message="The offset is at most 366.",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("by_email", True), ("by_sms", True), ("by_call", True), _connector="OR"),
                        name="rule_has_a_channel",
                        violation_error_message="Choose at least one channel: email, SMS or a call task.",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("direction", "after"), ("kind", "upcoming_session"), _negated=True),
                        name="rule_upcoming_is_before",
                        violation_error_message="A reminder of an upcoming session comes before it.",
                    ),
                ],
            },
        ),
        migrations.AddField(
            model_name="reminder",
            name="rule",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="reminders",
                to="sessions_app.reminderrule",
            ),
        ),
        migrations.AddIndex(
            model_name="reminder",
            index=models.Index(fields=["status", "next_attempt_at"], name="reminder_status_retry_idx"),
        ),
        migrations.AddIndex(
            model_name="reminder",
            index=models.Index(fields=["channel", "status", "kind", "due_at"], name="reminder_call_list_idx"),
        ),
        migrations.AddIndex(
            model_name="reminder",
            index=models.Index(fields=["session", "rule"], name="reminder_session_rule_idx"),
        ),
        migrations.AddConstraint(
            model_name="reminder",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("call_outcome", ""),
                    ("call_outcome__in", ["reached", "no_answer", "booked", "declined"]),
                    _connector="OR",
                ),
                name="reminder_call_outcome_valid",
            ),
        ),
        migrations.AddConstraint(
            model_name="reminder",
            constraint=models.CheckConstraint(
                condition=models.Q(("call_outcome", ""), ("channel", "call"), _connector="OR"),
                name="reminder_outcome_only_for_calls",
            ),
        ),
        migrations.AddConstraint(
            model_name="reminder",
            constraint=models.CheckConstraint(
                condition=models.Q(("next_attempt_at__isnull", True), ("status", "failed"), _connector="OR"),
                name="reminder_retry_only_when_failed",
            ),
        ),
    ]


# --- Data: the default rules, existing reminders linked to them, role permissions ---

DEFAULT_RULES = [
    {
        "name": "Session reminder, the day before",
        "kind": "upcoming_session",
        "amount": 24,
        "unit": "hours",
        "direction": "before",
        "by_email": True,
        "by_sms": True,
        "subject": "Your session at {clinic} on {date}",
        "body": "Hello {first_name},\n\nThis is a reminder of your session with {practitioner} at {clinic} on "
        "{date} at {time}.\n\nIf you cannot come, please call us so that we can offer the time to someone else.",
    },
    {
        "name": "Aftercare check, 2 days after a session",
        "kind": "aftercare_check",
        "amount": 2,
        "unit": "days",
        "direction": "after",
        "by_email": True,
        "by_sms": True,
        "by_call": True,
        "subject": "How are you after your session at {clinic}?",
        "body": "Hello {first_name},\n\nHow is the treated area two days after your session of {date}? Some "
        "redness, swelling or a small bruise is usual and fades within days. If it hurts more, is hot, or you "
        "notice anything that worries you, please call {clinic}.",
    },
    {
        "name": "Next series session not booked",
        "kind": "next_session_unbooked",
        "amount": 2,
        "unit": "days",
        "direction": "after",
        "by_email": True,
        "by_sms": True,
        "subject": "Book your next session at {clinic}",
        "body": "Hello {first_name},\n\nYour next session is due around {date} to keep the series on track. "
        "Please call {clinic} to book it with {practitioner}.",
    },
    {
        "name": "Maintenance due",
        "kind": "maintenance_due",
        "amount": 14,
        "unit": "days",
        "direction": "before",
        "by_email": True,
        "by_sms": True,
        "subject": "Time for your maintenance session at {clinic}",
        "body": "Hello {first_name},\n\nTo keep the results of your treatment, your maintenance session is due "
        "around {date}. Please call {clinic} to book it with {practitioner}.",
    },
    {
        "name": "Maintenance overdue: recall call",
        "kind": "maintenance_due",
        "amount": 7,
        "unit": "days",
        "direction": "after",
        "by_call": True,
        "subject": "",
        "body": "Call {client_name}: maintenance was due on {date} and nothing is booked.",
    },
    {
        "name": "Screening renewal",
        "kind": "screening_renewal",
        "amount": 30,
        "unit": "days",
        "direction": "before",
        "by_email": True,
        "by_sms": True,
        "subject": "Your health questionnaire at {clinic}",
        "body": "Hello {first_name},\n\nYour health questionnaire runs out on {date}. We will go through it "
        "again with you at your next visit; please arrive ten minutes early.",
    },
]


def load_default_rules(apps, schema_editor=None):
    """Idempotent: the tests call it again after a transactional test flushed the table."""
    ReminderRule = apps.get_model("sessions_app", "ReminderRule")
    for fields in DEFAULT_RULES:
        ReminderRule.objects.get_or_create(name=fields["name"], defaults=fields)


def link_existing_reminders(apps, schema_editor):
    """Reminders written before rules existed (seed_demo's upcoming-session
    ones) join the default rule with the generator's key, so that it does not
    create them a second time."""
    from sessions_app.reminders.rules import MESSAGE, reminder_key

    Reminder = apps.get_model("sessions_app", "Reminder")
    ReminderRule = apps.get_model("sessions_app", "ReminderRule")
    rule = ReminderRule.objects.get(name=DEFAULT_RULES[0]["name"])
    taken = set(Reminder.objects.filter(rule__isnull=False).values_list("key", flat=True))
    old = Reminder.objects.filter(rule__isnull=True, kind="upcoming_session", session__isnull=False)
    batch = []
    for reminder in old.only("pk", "key", "session_id").iterator(chunk_size=2000):
        key = reminder_key("upcoming_session", MESSAGE, rule.pk, "session", reminder.session_id)
        reminder.rule_id = rule.pk
        if key not in taken:
            reminder.key = key
            taken.add(key)
        batch.append(reminder)
        if len(batch) >= 1000:
            Reminder.objects.bulk_update(batch, ["rule", "key"])
            batch = []
    Reminder.objects.bulk_update(batch, ["rule", "key"])


Migration.operations += [
    migrations.RunPython(load_default_rules, migrations.RunPython.noop),
    migrations.RunPython(link_existing_reminders, migrations.RunPython.noop),
    # The role groups get the new permissions (view, change reminder rules...).
    migrations.RunPython(sync_role_groups_migration, migrations.RunPython.noop),
]
