"""A side effect from first report to resolution: recorded (by staff, or from
the client's check-in), edited with its history, followed up until resolved,
reviewed, and, for an allergic reaction, the allergy added to the client's
record so that the clearance and lot rules block the substance from then on."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from sessions_app.models import (
    Client,
    Product,
    SideEffect,
    SideEffectFollowUp,
    SideEffectKind,
    SideEffectSource,
    SideEffectStatus,
    Substance,
    TreatmentArea,
    TreatmentSession,
    User,
)
from sessions_app.services.clients import client_allergy_add
from sessions_app.services.records import PhotoRefused, photo_prepare
from sessions_app.side_effect_course import expected_resolution


class AlreadyReviewed(Exception):
    pass


class SideEffectRefused(Exception):
    """The change cannot be made; the message says why, for the person who asked."""


# What staff may edit on a side effect (its course changes through follow-ups).
EDITABLE = (
    "session",
    "kind",
    "severity",
    "serious",
    "area",
    "suspected_product",
    "suspected_substance",
    "onset",
    "action_taken",
    "notes",
)


def side_effect_refusals(
    *,
    client_id: int,
    session: TreatmentSession | None,
    onset: dt.date | None,
    resolved_on: dt.date | None = None,
    now: dt.datetime,
    cause_changed: bool = True,
) -> dict[str, str]:
    """Why a side effect with these facts cannot be kept, by field; empty when
    it can. The one home of the rule the staff forms, the admin and the
    services below ask: the session given as the cause is one of the client's
    past sessions in which they were treated (checked when it is chosen,
    `cause_changed`), the onset is neither in the future, nor before that
    session, nor after the day it resolved, which is not in the future."""
    errors, today = {}, timezone.localdate(now)
    causes = TreatmentSession.objects.possible_causes(client_id, now)
    if cause_changed and session is not None and not causes.filter(pk=session.pk).exists():
        errors["session"] = "Choose one of the client's past sessions in which they were treated."
    if onset is not None:
        if onset > today:
            errors["onset"] = "The onset cannot be in the future."
        elif session is not None and onset < timezone.localtime(session.starts_at).date():
            errors["onset"] = "The onset cannot be before the session."
        elif resolved_on is not None and onset > resolved_on:
            errors["onset"] = f"The onset cannot be after the day it resolved ({resolved_on:%d/%m/%Y})."
    if resolved_on is not None and resolved_on > today:
        errors["resolved_on"] = "The date it resolved cannot be in the future."
    return errors


def status_when_recorded(resolved_on: dt.date | None) -> str:
    """A side effect is recorded resolved when it comes with the date it
    resolved, open otherwise; after that, its status changes by follow-ups."""
    return SideEffectStatus.RESOLVED if resolved_on else SideEffectStatus.OPEN


def _attributed(effect: SideEffect, by: User | None, reason: str | None = None) -> SideEffect:
    effect._history_user = by
    if reason:
        effect._change_reason = reason
    return effect


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
    recorded_by: User | None,
    area: TreatmentArea | None = None,
    suspected_product: Product | None = None,
    suspected_substance: Substance | None = None,
    source: str = SideEffectSource.STAFF,
    now: dt.datetime | None = None,
) -> SideEffect:
    """A side effect the client reported, from the session or later (a
    follow-up call, their check-in). Resolved when it comes with the date it
    resolved; otherwise open, and expected to resolve when its kind usually
    does. side_effect_refusals says what may be recorded."""
    if errors := side_effect_refusals(
        client_id=client.pk, session=session, onset=onset, resolved_on=resolved_on, now=now or timezone.now()
    ):
        raise ValidationError(errors)
    effect = SideEffect(
        client=client,
        session=session,
        kind=kind,
        severity=severity,
        serious=serious,
        status=status_when_recorded(resolved_on),
        area=area,
        suspected_product=suspected_product,
        suspected_substance=suspected_substance,
        onset=onset,
        expected_resolution_on=expected_resolution(onset, kind.expected_days),
        resolved_on=resolved_on,
        action_taken=action_taken,
        notes=notes,
        source=source,
        recorded_by=recorded_by,
    )
    effect.full_clean()
    _attributed(effect, recorded_by).save()
    return effect


@transaction.atomic
def side_effect_update(*, side_effect_id: int, by: User, now: dt.datetime | None = None, **changes) -> SideEffect:
    """A practitioner corrects or completes a side effect (EDITABLE fields),
    under side_effect_refusals; its history keeps who changed what and when."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise TypeError(f"Not editable here: {', '.join(sorted(unknown))}")
    effect = SideEffect.objects.select_for_update(of=("self",)).select_related("kind").get(pk=side_effect_id)
    for name, value in changes.items():
        setattr(effect, name, value)
    if errors := side_effect_refusals(
        client_id=effect.client_id,
        session=effect.session,
        onset=effect.onset,
        resolved_on=effect.resolved_on,
        now=now or timezone.now(),
        cause_changed="session" in changes,
    ):
        raise ValidationError(errors)
    effect.expected_resolution_on = expected_resolution(effect.onset, effect.kind.expected_days)
    effect.full_clean()
    _attributed(effect, by).save()
    return effect


def _store_photo(entry: SideEffectFollowUp, upload: UploadedFile) -> None:
    """The photo kept as staff uploads are (type, size, turned upright,
    metadata stripped); called last, so a failure before leaves no file."""
    try:
        prepared = photo_prepare(upload, max_bytes=settings.CLINIC_PHOTO_MAX_BYTES)
    except PhotoRefused as exc:
        raise SideEffectRefused(str(exc)) from exc
    entry.photo_content_type = prepared.content_type
    entry.photo_width, entry.photo_height = prepared.width, prepared.height
    entry.photo.save(prepared.content.name, prepared.content, save=False)
    try:
        entry.save()
    except Exception:
        entry.photo.delete(save=False)
        raise


@transaction.atomic
def side_effect_follow_up(
    *,
    side_effect_id: int,
    by: User | None,
    note: str,
    severity: str,
    status: str,
    resolved_on: dt.date | None = None,
    photo: UploadedFile | None = None,
    source: str = SideEffectSource.STAFF,
    now: dt.datetime | None = None,
) -> SideEffectFollowUp:
    """An entry in the side effect's course: what was seen, its severity now,
    a photo, and its status from then on (open, improving, or resolved on a
    date; SideEffectStatus.TRANSITIONS says which changes are allowed).
    The side effect takes the new severity and status, with its history."""
    now = now or timezone.now()
    effect = SideEffect.objects.select_for_update().get(pk=side_effect_id)
    if why := SideEffectStatus.refusal(effect.status, status):
        raise SideEffectRefused(why)
    note = note.strip()
    if status == effect.status and severity == effect.severity and not note and photo is None:
        raise SideEffectRefused("Nothing to add: write a note, add a photo, or change the severity or status.")
    if status == SideEffectStatus.RESOLVED and effect.status != SideEffectStatus.RESOLVED:
        if resolved_on is None:
            raise ValidationError({"resolved_on": "Give the date it resolved."})
        if resolved_on < effect.onset:
            raise ValidationError({"resolved_on": f"It cannot resolve before its onset ({effect.onset:%d/%m/%Y})."})
        if resolved_on > timezone.localdate(now):
            raise ValidationError({"resolved_on": "The date it resolved cannot be in the future."})
        effect.resolved_on = resolved_on
    elif status != SideEffectStatus.RESOLVED:
        effect.resolved_on = None
    entry = SideEffectFollowUp(
        side_effect=effect,
        at=now,
        note=note,
        severity=severity,
        previous_status=effect.status,
        status=status,
        source=source,
        recorded_by=by,
    )
    entry.full_clean(exclude=["photo"])
    if (effect.severity, effect.status) != (severity, status):
        effect.severity, effect.status = severity, status
        effect.full_clean()
        reason = "Follow-up"
        if entry.status_changed:
            reason += f": {entry.get_previous_status_display().lower()} → {entry.get_status_display().lower()}"
        _attributed(effect, by, reason).save()
    if photo is None:
        entry.save()
    else:
        _store_photo(entry, photo)
    return entry


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
    _attributed(effect, reviewer, "Reviewed").save(update_fields=["reviewed_by", "reviewed_at"])
    return effect


def allergy_to_offer(effect: SideEffect, client_allergy_ids) -> Substance | None:
    """The substance whose allergy a side effect offers to add to the client's
    record: an allergic reaction, reviewed, with a suspected substance the
    record does not name yet. Needs `kind` and `suspected_substance` loaded."""
    substance = effect.suspected_substance
    if not effect.kind.allergy or substance is None or effect.reviewed_at is None:
        return None
    return None if substance.pk in set(client_allergy_ids) else substance


@transaction.atomic
def client_allergy_from_side_effect(*, side_effect_id: int, by: User) -> Substance:
    """Add the suspected substance of a reviewed allergic reaction to the
    client's allergies: from then on the clearance rule blocks a mixture that
    holds it and the lot rule refuses its lots. The client's history keeps who
    added it and why; the side effect's course says so too."""
    effect = (
        SideEffect.objects.select_for_update(of=("self",))
        .select_related("kind", "suspected_substance", "client")
        .get(pk=side_effect_id)
    )
    client = Client.objects.select_for_update().get(pk=effect.client_id)
    substance = allergy_to_offer(effect, client.allergies.values_list("pk", flat=True))
    if substance is None:
        raise SideEffectRefused(
            "Only a reviewed allergic reaction with a suspected substance the client's record does not name yet "
            "adds an allergy."
        )
    client_allergy_add(
        client_id=client.pk,
        substance=substance,
        by=by,
        reason=f"Allergy to {substance} added from side effect {effect.pk} ({effect.kind})",
    )
    SideEffectFollowUp.objects.create(
        side_effect=effect,
        note=f"Allergy to {substance} added to the client's record.",
        severity=effect.severity,
        previous_status=effect.status,
        status=effect.status,
        recorded_by=by,
    )
    return substance
