"""A session's status changed by staff: confirm, arrived, no-show, cancel.

Which change is allowed is `SessionStatus.refusal` (models/plans.py); this
module asks it under a row lock and keeps the session's reminders in step.
"""

from __future__ import annotations

from django.db import transaction

from sessions_app.models import SessionStatus, TreatmentSession
from sessions_app.reminders import generate as reminders


class InvalidTransition(Exception):
    """The change is refused: the session's (or its plan's) state does not allow
    it. The message says why, for the user."""


@transaction.atomic
def session_set_status(*, session_id: int, action: str) -> TreatmentSession:
    """Confirm, mark arrived, no-show or cancel a session; refuses a change its
    current status does not allow (for example cancelling a completed one):
    SessionStatus.refusal decides."""
    if action not in SessionStatus.TRANSITIONS:
        raise InvalidTransition(f"Unknown action {action!r}.")
    target = SessionStatus.TRANSITIONS[action].target
    session = TreatmentSession.objects.select_for_update().get(pk=session_id)
    if refusal := SessionStatus.refusal(session.status, target):
        raise InvalidTransition(refusal)
    session.status = target
    session.save(update_fields=["status", "updated_at"])
    reminders.reminders_follow_sessions(session_ids=[session.pk])
    return session
