"""The client's check-in after a session: the page their personal link opens
(no sign-in: the signed link is the credential), and their answer. Anything
but "fine" becomes a side effect awaiting a practitioner's review; a severe
one puts a call at the top of the call list at once."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from sessions_app.models import (
    CheckIn,
    CheckInAnswer,
    Reminder,
    ReminderChannel,
    ReminderKind,
    SideEffectKind,
    SideEffectSeverity,
    SideEffectSource,
    SideEffectStatus,
)
from sessions_app.reminders.checkin_link import BadCheckInLink, check_in_expires_at, token_matches, token_reminder_id
from sessions_app.services.clients import merged_record_ids
from sessions_app.services.side_effects import side_effect_follow_up, side_effect_record
from sessions_app.side_effect_course import severity_from_score

# A kind for an answer no kind takes (a manager cleared them all).
FALLBACK_KIND = "Reported at a check-in"


class CheckInUnavailable(Exception):
    """The link cannot take an answer: `reason` is "invalid", "expired" or "answered"."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True)
class CheckInPage:
    """All the page shows of the client: the first name and the session's date."""

    reminder_id: int
    first_name: str
    session_day: dt.date
    expires_at: dt.datetime
    channel: str


def check_in_reminder(token: str) -> Reminder:
    """The check-in message a link names, its signature checked against that
    message's client and session; CheckInUnavailable("invalid") for a forged,
    damaged or cut-off link. One query; one more for a link signed for
    another client id: a link sent before a merge was signed for the record
    merged since into the message's client (which it moved to), and still
    works; any other client's id does not."""
    try:
        reminder_id = token_reminder_id(token)
    except BadCheckInLink:
        raise CheckInUnavailable("invalid") from None
    reminder = (
        Reminder.objects.filter(pk=reminder_id, kind=ReminderKind.CHECK_IN, session__isnull=False)
        .select_related("client", "session")
        .first()
    )
    if reminder is None:
        raise CheckInUnavailable("invalid")
    signed_for = {"reminder_id": reminder.pk, "session_id": reminder.session_id}
    if token_matches(token, client_id=reminder.client_id, **signed_for):
        return reminder
    if any(token_matches(token, client_id=pk, **signed_for) for pk in merged_record_ids(reminder.client_id)):
        return reminder
    raise CheckInUnavailable("invalid")


def check_in_open(token: str, *, now: dt.datetime | None = None) -> CheckInPage:
    """What the link opens, or CheckInUnavailable: a forged, damaged or
    someone else's link ("invalid"), one already answered ("answered"), or
    one past CHECK_IN_LINK_DAYS ("expired"). Two queries."""
    now = now or timezone.now()
    reminder = check_in_reminder(token)
    if CheckIn.objects.filter(reminder=reminder).exists():
        raise CheckInUnavailable("answered")
    expires = check_in_expires_at(reminder.due_at)
    if now > expires:
        raise CheckInUnavailable("expired")
    return CheckInPage(
        reminder_id=reminder.pk,
        first_name=reminder.client.first_name,
        session_day=timezone.localtime(reminder.session.starts_at).date(),
        expires_at=expires,
        channel=reminder.channel,
    )


def kind_for(answer: str) -> SideEffectKind:
    """The kind a check-in answer becomes (SideEffectKind.symptom), else the
    kind of "something else", else one made for it."""
    kinds = {k.symptom: k for k in SideEffectKind.objects.filter(symptom__in=[answer, CheckInAnswer.OTHER])}
    kind = kinds.get(answer) or kinds.get(CheckInAnswer.OTHER)
    if kind is None:
        kind, _ = SideEffectKind.objects.get_or_create(
            name=FALLBACK_KIND, defaults={"description": "A client's check-in answer; name the kind when reviewing."}
        )
    return kind


def urgent_call_key(side_effect_id: int) -> str:
    return f"{ReminderKind.SIDE_EFFECT_URGENT}:call:side_effect={side_effect_id}"


@transaction.atomic
def check_in_answer(
    *,
    reminder_id: int,
    answer: str,
    score: int | None,
    note: str,
    photo: UploadedFile | None = None,
    now: dt.datetime | None = None,
) -> CheckIn:
    """Record the client's answer, once. Anything but fine becomes a side
    effect (source: the client's check-in, awaiting review) whose first
    follow-up holds their words, score and photo; a severe score also puts a
    call on the call list, due at once. CheckInUnavailable("answered") for a
    second answer to the same message (the database's unique link decides)."""
    now = now or timezone.now()
    reminder = (
        Reminder.objects.select_for_update(of=("self",)).select_related("client", "session__plan").get(pk=reminder_id)
    )
    if CheckIn.objects.filter(reminder=reminder).exists():
        raise CheckInUnavailable("answered")
    note = note.strip()
    check_in = CheckIn(reminder=reminder, client=reminder.client, session=reminder.session, answered_at=now)
    check_in.answer, check_in.note = answer, note
    if answer == CheckInAnswer.FINE:
        if photo is not None:
            raise ValidationError({"photo": "A photo goes with something that is not fine: choose what you notice."})
        return _saved(check_in)
    if score is None:
        raise ValidationError({"score": "Say how bad it is, from 0 to 10."})
    check_in.score = score
    severity = severity_from_score(score)
    label = CheckInAnswer(answer).label
    effect = side_effect_record(
        client=reminder.client,
        session=reminder.session,
        kind=kind_for(answer),
        severity=severity,
        serious=False,
        onset=timezone.localdate(now),
        resolved_on=None,
        action_taken="",
        notes=f"The client's check-in: {label.lower()}, {score} out of 10." + (f" {note}" if note else ""),
        recorded_by=None,
        source=SideEffectSource.CHECK_IN,
        now=now,
    )
    check_in.side_effect = effect
    _saved(check_in)
    if severity == SideEffectSeverity.SEVERE:
        Reminder.objects.create(
            client=reminder.client,
            plan=reminder.session.plan,
            session=reminder.session,
            side_effect=effect,
            kind=ReminderKind.SIDE_EFFECT_URGENT,
            channel=ReminderChannel.CALL,
            key=urgent_call_key(effect.pk),
            due_at=now,
        )
    # Last: the photo's file is written only once everything else is.
    side_effect_follow_up(
        side_effect_id=effect.pk,
        by=None,
        note=f"{label}, {score} out of 10." + (f"\n{note}" if note else ""),
        severity=severity,
        status=SideEffectStatus.OPEN,
        photo=photo,
        source=SideEffectSource.CHECK_IN,
        now=now,
    )
    return check_in


def _saved(check_in: CheckIn) -> CheckIn:
    try:
        with transaction.atomic():
            check_in.save()
    except IntegrityError:
        raise CheckInUnavailable("answered") from None
    return check_in
