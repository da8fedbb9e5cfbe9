"""Sending one reminder: what it says (the rule's template filled in), by
email through Django's mail system (MAILERS) or by SMS through the backend of
`sms`, with a one-click unsubscribe link for its channel.

Every failure becomes a DeliveryError whose message a receptionist can read;
the worker records it on the reminder and tries again later.
"""

from __future__ import annotations

import contextlib
import smtplib

from django.conf import settings
from django.core import mail
from django.core.mail import EmailMessage
from django.utils import dateformat

from sessions_app.models import Reminder, ReminderChannel, ReminderKind
from sessions_app.reminders.checkin_link import check_in_url
from sessions_app.reminders.messages import TemplateError, render
from sessions_app.reminders.rules import screening_expires_on
from sessions_app.reminders.sms import SmsError, sms_backend
from sessions_app.reminders.sms_text import SmsLength, sms_length, with_stop_link
from sessions_app.reminders.unsubscribe import unsubscribe_url
from sessions_app.scheduling import clinic_tz, next_series_date


class DeliveryError(Exception):
    """The reminder could not be sent; the message says why."""


class Outbox:
    """One connection to the mail server for a batch of emails, where each
    used to open its own (Django's default mailer, opened at the first email,
    closed by `close()`). An email that fails drops the connection, and the
    next one opens a new one: a broken session never reaches the others, and a
    server that is down fails each email as it did alone."""

    def __init__(self):
        self._mailer = None

    def send(self, message: EmailMessage) -> None:
        if self._mailer is None:
            self._mailer = mail.mailers.default
        try:
            self._mailer.open()  # no-op while open; send_messages keeps what it did not open
            self._mailer.send_messages([message])
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        mailer, self._mailer = self._mailer, None
        if mailer is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                mailer.close()

    def __enter__(self) -> Outbox:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def for_delivery():
    """Reminders with everything a message names, in one query."""
    return Reminder.objects.select_related(
        "client", "rule", "session__practitioner", "plan__practitioner", "screening__screened_by", "side_effect"
    )


def _day(value) -> str:
    return dateformat.format(value, "l j F Y")


def message_values(reminder: Reminder) -> dict[str, str]:
    """What the placeholders stand for, for this reminder."""
    tz = clinic_tz()
    client, session, plan = reminder.client, reminder.session, reminder.plan
    who = (
        (session and session.practitioner)
        or (plan and plan.practitioner)
        or (reminder.screening and reminder.screening.screened_by)
    )
    values = {
        "client_name": client.full_name,
        "first_name": client.first_name,
        "clinic": settings.CLINIC_NAME,
        "practitioner": str(who or settings.CLINIC_NAME),
        "date": "",
        "time": "",
        "link": "",
    }
    kind = reminder.kind
    if session and kind in (ReminderKind.UPCOMING_SESSION, ReminderKind.AFTERCARE_CHECK, ReminderKind.CHECK_IN):
        start = session.starts_at.astimezone(tz)
        values |= {"date": _day(start), "time": f"{start:%H:%M}"}
    if session and kind == ReminderKind.CHECK_IN:
        values["link"] = check_in_url(reminder.pk, client.pk, session.pk)
    elif session and plan and kind == ReminderKind.NEXT_SESSION_UNBOOKED:
        values["date"] = _day(next_series_date(session.starts_at, plan.interval_days, tz))
    elif session and plan and kind == ReminderKind.MAINTENANCE_DUE:
        values["date"] = _day(plan.maintenance_due_on(session.starts_at) or session.starts_at.astimezone(tz))
    elif reminder.side_effect and kind == ReminderKind.SIDE_EFFECT_UNRESOLVED:
        values["date"] = _day(reminder.side_effect.expected_resolution_on or reminder.side_effect.onset)
    elif reminder.screening and kind == ReminderKind.SCREENING_RENEWAL:
        screened = reminder.screening.screened_at.astimezone(tz).date()
        values["date"] = _day(screening_expires_on(screened, settings.CLINIC_SCREENING_MAX_AGE_MONTHS))
    return values


def compose(reminder: Reminder) -> tuple[str, str]:
    """(subject, text) of the client's message (an SMS's own text for an SMS);
    DeliveryError when the rule's template cannot be filled in."""
    rule = reminder.rule
    template = (rule.sms_template if reminder.channel == ReminderChannel.SMS else rule.body) if rule else ""
    if not template.strip():
        raise DeliveryError("No message text: the reminder has no rule with a message.")
    values = message_values(reminder)
    try:
        subject = render(rule.subject or "Reminder from {clinic}", reminder.kind, values)
        body = render(template, reminder.kind, values)
    except TemplateError as exc:
        raise DeliveryError(f"The rule \u201c{rule.name}\u201d has a bad template: {exc}") from exc
    return " ".join(subject.split()), body


def email_text(body: str, link: str) -> str:
    """The email as sent: the message, then its one-click stop link."""
    return f"{body}\n\n-- \nTo stop email reminders from {settings.CLINIC_NAME}, open {link}\n"


def send_email(reminder: Reminder, subject: str, body: str, outbox: Outbox | None = None) -> str:
    """Email the message, through `outbox` (a batch's connection) or a
    connection of its own."""
    client = reminder.client
    if not client.email:
        raise DeliveryError("The client has no email address on file.")
    link = unsubscribe_url(client.pk, ReminderChannel.EMAIL)
    text = email_text(body, link)
    message = EmailMessage(
        subject=subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[client.email],
        # RFC 8058: mail programs offer their own one-click "unsubscribe" button.
        headers={"List-Unsubscribe": f"<{link}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
    )
    try:
        if outbox is None:
            with Outbox() as own:
                own.send(message)
        else:
            outbox.send(message)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = "; ".join(f"{code} {reason.decode(errors='replace')}" for code, reason in exc.recipients.values())
        raise DeliveryError(f"The mail server refused the address: {codes}.") from exc
    except smtplib.SMTPResponseException as exc:
        raise DeliveryError(f"The mail server refused the message: {exc.smtp_code} {_text(exc.smtp_error)}.") from exc
    except (smtplib.SMTPException, OSError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc) or type(exc).__name__
        raise DeliveryError(f"The mail server could not be reached: {reason}.") from exc
    return text


def _text(value) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def sms_as_sent(body: str, kind: str, client_id: int) -> str:
    """An SMS with its stop link. A check-in's own link opens a page that
    stops SMS too (one button, as the stop link's page), so its message
    carries that one link: two would not fit one SMS part."""
    if kind == ReminderKind.CHECK_IN:
        return body
    return with_stop_link(body, unsubscribe_url(client_id, ReminderChannel.SMS))


def send_sms(reminder: Reminder, body: str) -> str:
    client = reminder.client
    if not client.phone:
        raise DeliveryError("The client has no phone number on file.")
    if reminder.kind == ReminderKind.CHECK_IN and check_in_url(reminder.pk, client.pk, reminder.session_id) not in body:
        raise DeliveryError("A check-in SMS must carry its {link}: the rule's SMS text has none.")
    text = sms_as_sent(body, reminder.kind, client.pk)
    try:
        sms_backend().send(client.phone, text)
    except SmsError as exc:
        raise DeliveryError(str(exc)) from exc
    return text


# What the rule editor fills a sample SMS with: long but ordinary values (the
# longest date in English), and a client id of a clinic chain's size.
SMS_SAMPLE_VALUES = {
    "client_name": "Camille Martin",
    "first_name": "Camille",
    "date": "Wednesday 30 September 2026",
    "time": "10:30",
    "practitioner": "Dr Claire Martin",
}
SMS_SAMPLE_CLIENT_ID = 100_000
# A clinic chain's message count after years of check-ins: four characters of base 62.
SMS_SAMPLE_REMINDER_ID = 10_000_000


def sms_sample(template: str, kind: str) -> tuple[str, SmsLength]:
    """A rule's SMS as a client would get it, stop link (or check-in link)
    included, and its length and parts; TemplateError when the template
    cannot be filled in."""
    link = check_in_url(SMS_SAMPLE_REMINDER_ID, SMS_SAMPLE_CLIENT_ID, SMS_SAMPLE_REMINDER_ID)
    values = SMS_SAMPLE_VALUES | {"clinic": settings.CLINIC_NAME, "link": link}
    text = sms_as_sent(render(template, kind, values), kind, SMS_SAMPLE_CLIENT_ID)
    return text, sms_length(text)


def deliver(reminder: Reminder, outbox: Outbox | None = None) -> str:
    """Send the client's message (an email through `outbox` when given);
    returns the text as sent."""
    subject, body = compose(reminder)
    if reminder.channel == ReminderChannel.EMAIL:
        return send_email(reminder, subject, body, outbox)
    if reminder.channel == ReminderChannel.SMS:
        return send_sms(reminder, body)
    raise DeliveryError(f"A {reminder.get_channel_display().lower()} is not sent by the worker.")


def email_sample(subject: str, body: str, kind: str) -> tuple[str, str]:
    """A rule's email as a client would get it, with the sample values:
    (subject, text); TemplateError when a template cannot be filled in."""
    values = SMS_SAMPLE_VALUES | {"clinic": settings.CLINIC_NAME}
    filled = " ".join(render(subject or "Reminder from {clinic}", kind, values).split())
    link = unsubscribe_url(SMS_SAMPLE_CLIENT_ID, ReminderChannel.EMAIL)
    return filled, email_text(render(body, kind, values), link)
