"""A session's status changed by staff (confirm, arrived, no-show, cancel), and
undone by the person who changed it.

Which change is allowed, and when, is `SessionStatus.refusal` (models/plans.py);
who may undo it is `SessionStatus.undo_refusal`. This module asks them under a
row lock, records who changed the status and when (the history keeps every
change), and keeps the session's reminders in step.
"""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction
from django.utils import timezone

from sessions_app.models import Cancellation, SessionStatus, TreatmentSession, User
from sessions_app.reminders import generate as reminders

# What a status change writes, beside the history row.
STATUS_FIELDS = ["status", "cancellation", "undo_status", "status_changed_at", "status_changed_by", "updated_at"]


class InvalidTransition(Exception):
    """The change is refused: the session's (or its plan's) state does not allow
    it. The message says why, for the user."""


@transaction.atomic
def session_set_status(
    *, session_id: int, action: str, by: User, cancellation: str = "", now: dt.datetime | None = None
) -> TreatmentSession:
    """Confirm, mark arrived, no-show or cancel a session; refuses a change its
    status or the clock does not allow (SessionStatus.refusal decides), and a
    cancellation that does not say who cancelled. The change can be undone by
    `by` for SessionStatus.UNDO_WINDOW (session_status_undo)."""
    if action not in SessionStatus.TRANSITIONS:
        raise InvalidTransition(f"Unknown action {action!r}.")
    target = SessionStatus.TRANSITIONS[action].target
    if target == SessionStatus.CANCELLED and cancellation not in Cancellation.values:
        raise InvalidTransition("Say who cancelled the session: the client, late or not, or the clinic.")
    now = now or timezone.now()
    session = TreatmentSession.objects.select_for_update().get(pk=session_id)
    if refusal := SessionStatus.refusal(session.status, target, starts_at=session.starts_at, now=now):
        raise InvalidTransition(refusal)
    session.undo_status = session.status
    session.status = target
    session.cancellation = cancellation if target == SessionStatus.CANCELLED else ""
    session.status_changed_at, session.status_changed_by = now, by
    session.save(update_fields=STATUS_FIELDS)
    reminders.reminders_follow_sessions(session_ids=[session.pk])
    return session


@transaction.atomic
def session_status_undo(*, session_id: int, by: User, now: dt.datetime | None = None) -> TreatmentSession:
    """Put back the status a session had before its last change, when `by`
    made that change less than SessionStatus.UNDO_WINDOW ago. The undo is a
    change of its own in the history (with its reason), and is not undone in
    turn. A session called off and put back is booked again only if its slot
    is still free: another booking may have taken it meanwhile."""
    now = now or timezone.now()
    session = TreatmentSession.objects.select_for_update().get(pk=session_id)
    refusal = SessionStatus.undo_refusal(
        undo_status=session.undo_status,
        changed_by_id=session.status_changed_by_id,
        changed_at=session.status_changed_at,
        user_id=by.pk,
        now=now,
    )
    if refusal:
        raise InvalidTransition(refusal)
    undone = session.get_status_display().lower()
    session.status, session.undo_status, session.cancellation = session.undo_status, "", ""
    session.status_changed_at, session.status_changed_by = now, by
    session._change_reason = f"Undo: {undone} taken back"
    if session.status != SessionStatus.CANCELLED:
        _refuse_if_slot_taken(session)
    try:
        # A savepoint, so that PostgreSQL's refusal (the slot or the session's
        # number taken meanwhile) becomes a message.
        with transaction.atomic():
            session.save(update_fields=STATUS_FIELDS)
    except IntegrityError as exc:
        raise InvalidTransition(
            "This change cannot be undone: the slot or the session's number in its series was booked meanwhile."
        ) from exc
    reminders.reminders_follow_sessions(session_ids=[session.pk])
    return session


def _refuse_if_slot_taken(session: TreatmentSession) -> None:
    """A session put back from cancelled holds its slot again: refused when
    another booking of its practitioner or room overlaps it now (on SQLite the
    only check; on PostgreSQL the exclusion constraints would refuse it too)."""
    clash = (
        TreatmentSession.objects.conflicting(
            practitioner_id=session.practitioner_id,
            room_id=session.room_id,
            start=session.starts_at,
            end=session.ends_at,
        )
        .exclude(pk=session.pk)
        .first()
    )
    if clash:
        who = "practitioner" if clash.practitioner_id == session.practitioner_id else "room"
        raise InvalidTransition(f"This change cannot be undone: the {who} has been booked at that time meanwhile.")
