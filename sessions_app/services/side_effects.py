"""Recording and reviewing side effects."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from sessions_app.models import Client, SideEffect, SideEffectKind, TreatmentSession, User


class AlreadyReviewed(Exception):
    pass


@transaction.atomic
def side_effect_record(
    *,
    client: Client,
    session: TreatmentSession | None,
    kind: SideEffectKind,
    severity: str,
    serious: bool,
    onset: dt.date,
    resolved_on: dt.date | None,
    action_taken: str,
    notes: str,
    recorded_by: User,
) -> SideEffect:
    """A side effect the client reported, from the session or later (a follow-up
    call). The session, when given, must be the client's own (SideEffect.clean)."""
    effect = SideEffect(
        client=client,
        session=session,
        kind=kind,
        severity=severity,
        serious=serious,
        onset=onset,
        resolved_on=resolved_on,
        action_taken=action_taken,
        notes=notes,
        recorded_by=recorded_by,
    )
    effect.full_clean()
    effect.save()
    return effect


@transaction.atomic
def side_effect_review(*, side_effect_id: int, reviewer: User) -> SideEffect:
    """A practitioner has read the side effect and what was done about it."""
    effect = SideEffect.objects.select_for_update().get(pk=side_effect_id)
    if effect.reviewed_at is not None:
        raise AlreadyReviewed(
            f"Already reviewed by {effect.reviewed_by} on {timezone.localtime(effect.reviewed_at):%d/%m/%Y}."
        )
    effect.reviewed_by = reviewer
    effect.reviewed_at = timezone.now()
    effect.save(update_fields=["reviewed_by", "reviewed_at"])
    return effect
