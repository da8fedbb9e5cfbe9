"""Privacy requests: a client's whole record, and the erasure of what the clinic
may not keep.

Health-data law lets a clinic keep the clinical record for its legal retention
time (CLINIC_RECORD_RETENTION_YEARS after the last treatment) even when the
client asks to be forgotten; what it must not keep is what served contact and
marketing. Erasure removes exactly that, stops every reminder, and keeps the
clinical record (screenings, consents, plans, sessions, injections, lots, side
effects, photos) whole.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Max, Prefetch
from django.utils import timezone

from sessions_app.models import (
    Channel,
    CheckIn,
    Client,
    Consent,
    Injection,
    ProductLot,
    Reminder,
    ReminderStatus,
    Screening,
    ScreeningAnswer,
    SessionStatus,
    SideEffect,
    SideEffectFollowUp,
    TreatmentPlan,
    TreatmentSession,
    User,
)
from sessions_app.services.clients import client_write

# What an erasure blanks on the client and on every earlier version of it.
CONTACT_FIELDS = {"email": "", "phone": "", "address": ""}
OPEN_REMINDERS = (ReminderStatus.PENDING, ReminderStatus.SENDING, ReminderStatus.FAILED)


class AlreadyErased(Exception):
    pass


def _when(value: dt.datetime | dt.date | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).isoformat()
    return value.isoformat()


def _person(user: User | None) -> str | None:
    return str(user) if user else None


def client_record(client: Client) -> dict[str, Any]:
    """Everything the clinic holds about the client, as plain values (JSON-ready),
    in a fixed number of queries: statuses, channels and kinds in words
    ("Upcoming session", "Email to client"), as the client reads them."""
    lots = Prefetch("lots", ProductLot.objects.select_related("product"))
    sessions = (
        TreatmentSession.objects.filter(plan__client=client)
        .select_related("practitioner", "room", "signed_by")
        .prefetch_related(
            Prefetch(
                "injections", Injection.objects.select_related("area").prefetch_related(lots, "quantities__product")
            )
        )
        .prefetch_related(
            "photos", "amendments__amended_by", "ceiling_decisions__substance", "ceiling_decisions__decided_by"
        )
        .order_by("starts_at")
    )
    by_plan: dict[int, list] = {}
    for s in sessions:
        by_plan.setdefault(s.plan_id, []).append(s)
    plans = (
        TreatmentPlan.objects.filter(client=client)
        .select_related("indication", "mixture", "practitioner")
        .prefetch_related("areas", Prefetch("consents", Consent.objects.select_related("consent_text", "witnessed_by")))
        .order_by("created_at")
    )
    answers = Prefetch("answers", ScreeningAnswer.objects.select_related("judged_by").prefetch_related("areas"))
    screenings = Screening.objects.filter(client=client).select_related("screened_by").prefetch_related(answers)
    effects = (
        SideEffect.objects.filter(client=client)
        .select_related("kind", "area", "suspected_product", "suspected_substance", "recorded_by", "reviewed_by")
        .prefetch_related(Prefetch("follow_ups", SideEffectFollowUp.objects.select_related("recorded_by")))
    )
    check_ins = (
        CheckIn.objects.filter(client=client).select_related("session", "side_effect__kind").order_by("answered_at")
    )
    reminders = Reminder.objects.filter(client=client).order_by("due_at")
    return {
        "exported_at": _when(timezone.now()),
        "clinic": settings.CLINIC_NAME,
        "client": {
            "id": client.pk,
            "first_name": client.first_name,
            "last_name": client.last_name,
            "date_of_birth": _when(client.date_of_birth),
            "sex": client.get_sex_display(),
            "email": client.email,
            "phone": client.phone,
            "address": client.address,
            "preferred_channel": client.get_preferred_channel_display(),
            "agrees_to_email_reminders": client.consent_email,
            "agrees_to_sms_reminders": client.consent_sms,
            "allergies": [s.name for s in client.allergies.all()],
            "notes": client.notes,
            "archived_at": _when(client.archived_at),
            "erased_at": _when(client.erased_at),
            "created_at": _when(client.created_at),
        },
        "screenings": [
            {
                "screened_at": _when(s.screened_at),
                "screened_by": _person(s.screened_by),
                "notes": s.notes,
                "answers": [
                    {
                        "question": a.get_question_display(),
                        "yes": a.answer,
                        "details": a.details,
                        "severity": a.get_severity_display(),
                        "areas": [area.name for area in a.areas.all()],
                        "judgement": a.judgement,
                        "judged_by": _person(a.judged_by),
                        "judged_at": _when(a.judged_at),
                    }
                    for a in s.answers.all()
                ],
            }
            for s in screenings
        ],
        "plans": [
            {
                "indication": str(p.indication),
                "areas": [a.name for a in p.areas.all()],
                "mixture": str(p.mixture),
                "practitioner": _person(p.practitioner),
                "sessions_planned": p.sessions_planned,
                "interval_days": p.interval_days,
                "maintenance_interval_days": p.maintenance_interval_days,
                "status": p.get_status_display(),
                "notes": p.notes,
                "created_at": _when(p.created_at),
                "consents": [
                    {
                        "consent_text": str(c.consent_text),
                        "signed_name": c.signed_name,
                        "signed_at": _when(c.signed_at),
                        "witnessed_by": _person(c.witnessed_by),
                    }
                    for c in p.consents.all()
                ],
                "sessions": [_session(s) for s in by_plan.get(p.pk, [])],
            }
            for p in plans
        ],
        "side_effects": [
            {
                "kind": str(e.kind),
                "severity": e.get_severity_display(),
                "serious": e.serious,
                "status": e.get_status_display(),
                "source": e.get_source_display(),
                "area": str(e.area or ""),
                "suspected_product": str(e.suspected_product or ""),
                "suspected_substance": str(e.suspected_substance or ""),
                "onset": _when(e.onset),
                "resolved_on": _when(e.resolved_on),
                "action_taken": e.action_taken,
                "notes": e.notes,
                "session_starts_at": _when(e.session.starts_at) if e.session_id else None,
                "recorded_by": _person(e.recorded_by),
                "reviewed_by": _person(e.reviewed_by),
                "reviewed_at": _when(e.reviewed_at),
                "follow_ups": [
                    {
                        "at": _when(f.at),
                        "note": f.note,
                        "severity": f.get_severity_display(),
                        "status": f.get_status_display(),
                        "by": _person(f.recorded_by) if f.recorded_by_id else "the client",
                        "photo": bool(f.photo),
                    }
                    for f in e.follow_ups.all()
                ],
            }
            for e in effects.select_related("session")
        ],
        "check_ins": [
            {
                "answered_at": _when(c.answered_at),
                "session_starts_at": _when(c.session.starts_at),
                "answer": c.get_answer_display(),
                "score": c.score,
                "note": c.note,
                "side_effect": str(c.side_effect.kind) if c.side_effect_id else None,
            }
            for c in check_ins
        ],
        "reminders": [
            {
                "kind": r.get_kind_display(),
                "channel": r.get_channel_display(),
                "due_at": _when(r.due_at),
                "status": r.get_status_display(),
                "sent_at": _when(r.sent_at),
                "message": r.message,
            }
            for r in reminders
        ],
    }


def _session(s: TreatmentSession) -> dict[str, Any]:
    return {
        "sequence": s.sequence,
        "maintenance": s.is_maintenance,
        "starts_at": _when(s.starts_at),
        "ends_at": _when(s.ends_at),
        "status": s.get_status_display(),
        "practitioner": _person(s.practitioner),
        "room": str(s.room),
        "anaesthetic": s.get_anaesthetic_display(),
        "pain_score": s.pain_score,
        "combination_therapy": s.get_combination_therapy_display(),
        "notes": s.notes,
        "signed_by": _person(s.signed_by),
        "signed_at": _when(s.signed_at),
        "injections": [
            {
                "area": i.area.name,
                "lots": [{"product": lot.product.name, "lot": lot.lot_number} for lot in i.lots.all()],
                "quantities_ml": {q.product.name: str(q.quantity_ml) for q in i.quantities.all()},
                "volume_ml": str(i.volume_ml),
                "depth": i.get_depth_display(),
                "technique": i.get_technique_display(),
                "needle_length_mm": str(i.needle_length_mm),
                "points": i.points,
            }
            for i in s.injections.all()
        ],
        "photos": [{"kind": p.get_kind_display(), "taken_at": _when(p.uploaded_at)} for p in s.photos.all()],
        "amendments": [
            {"at": _when(a.amended_at), "by": _person(a.amended_by), "reason": a.reason, "changes": a.changes}
            for a in s.amendments.all()
        ],
        "past_dose_ceilings": [
            {
                "substance": d.substance.name,
                "period": d.get_period_display(),
                "total": str(d.total),
                "ceiling": str(d.ceiling),
                "unit": d.get_unit_display(),
                "decision": d.decision,
                "decided_by": _person(d.decided_by),
                "decided_at": _when(d.decided_at),
            }
            for d in s.ceiling_decisions.all()
        ],
    }


def retention_until(client: Client) -> dt.date:
    """The day the clinical record may be destroyed: CLINIC_RECORD_RETENTION_YEARS
    after the last treatment (or after the client's record was opened)."""
    last = TreatmentSession.objects.filter(plan__client=client, status=SessionStatus.COMPLETED).aggregate(
        last=Max("starts_at")
    )["last"]
    start = timezone.localtime(last or client.created_at).date()
    years = settings.CLINIC_RECORD_RETENTION_YEARS
    try:
        return start.replace(year=start.year + years)
    except ValueError:  # 29 February
        return start.replace(year=start.year + years, day=28)


@transaction.atomic
def client_erase(*, client_id: int, by: User) -> Client:
    """Erase the client's contact and marketing data, and stop every reminder:
    the client is archived, the contact fields are blanked on the client and on
    every earlier version of it in the history, reminders still to send are
    cancelled, and the texts of those sent are removed. The clinical record
    stays. AlreadyErased the second time."""
    client = Client.objects.select_for_update().get(pk=client_id)
    if client.is_erased:
        raise AlreadyErased(f"{client.full_name}'s contact data was already erased.")
    now = timezone.now()
    for name, blank in CONTACT_FIELDS.items():
        setattr(client, name, blank)
    client.consent_email = client.consent_sms = False
    client.preferred_channel = Channel.PHONE
    client.archived_at = client.archived_at or now
    client.erased_at, client.erased_by = now, by
    client.full_clean(exclude=["date_of_birth"])  # an old record keeps its date of birth as it is
    client_write(client, by=by, reason="Privacy request: contact and marketing data erased")
    Client.history.filter(id=client.pk).update(**CONTACT_FIELDS)
    reminders = Reminder.objects.filter(client=client)
    reminders.filter(status__in=OPEN_REMINDERS).update(
        status=ReminderStatus.CANCELLED,
        next_attempt_at=None,
        last_error="Not sent: the client's contact data was erased at their request.",
    )
    reminders.exclude(message="").update(message="")
    return client
