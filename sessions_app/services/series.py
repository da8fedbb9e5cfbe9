"""Booking a whole series, and the plan's progress through it.

The dates are `sessions_app.scheduling.propose_series` (pure), fed the clinic's
calendar by `services.slots`; the plan and all its sessions are written in
one transaction, in a fixed number of queries whatever their number.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from sessions_app.models import (
    Client,
    Indication,
    Mixture,
    PlanStatus,
    Room,
    TreatmentArea,
    TreatmentPlan,
    TreatmentSession,
    User,
)
from sessions_app.scheduling import (
    IntervalUnit,
    ProposedSession,
    add_interval,
    clash_first,
    clinic_tz,
    propose_series,
)
from sessions_app.services.slots import check_fields, load_calendar, save_sessions


def series_preview(
    *,
    practitioner: User,
    room: Room,
    first_start: dt.datetime,
    count: int,
    interval: int,
    unit: IntervalUnit | str,
    duration: dt.timedelta,
    pinned: Mapping[int, dt.datetime] | None = None,
    options: int = 0,
) -> list[ProposedSession]:
    """The proposed sessions of a series, each moved off conflicts with its
    reason (looking first where the clinic's setting says), those reception
    chose (`pinned`) kept where chosen, each with `options` other free slots
    to choose from."""
    last_day = add_interval(timezone.localtime(first_start).date(), interval * (count - 1), unit)
    last = dt.datetime.combine(last_day, dt.time(23, 59), tzinfo=clinic_tz())
    chosen = list((pinned or {}).values())
    cal = load_calendar(
        practitioner=practitioner, room=room, start=min([first_start, *chosen]), end=max([last, *chosen])
    )
    return propose_series(
        first_start=first_start,
        count=count,
        interval=interval,
        unit=unit,
        duration=duration,
        cal=cal,
        now=timezone.now(),
        first=clash_first(),
        pinned=pinned,
        options=options,
    )


@dataclass(frozen=True)
class Slot:
    start: dt.datetime
    end: dt.datetime


@transaction.atomic
def plan_book(
    *,
    client,
    indication: Indication,
    areas: Sequence[TreatmentArea],
    mixture: Mixture,
    practitioner: User,
    room: Room,
    interval_days: int,
    maintenance_interval_days: int | None,
    slots: Sequence[Slot],
    notes: str = "",
) -> TreatmentPlan:
    """Create a plan and all its sessions, or nothing: ValidationError when a
    value is out of the plan's bounds or the client's record was archived (or
    merged into another) since the form was opened, SlotTaken when any slot
    was booked by someone else since the preview."""
    # Locked, so that a merge (which locks both records) and this booking go one
    # after the other: a plan never lands on a record archived a moment ago.
    record = Client.objects.select_for_update().only("archived_at", "merged_into").get(pk=client.pk)
    if record.merged_into_id:
        raise ValidationError({"client": "This record was merged into another one: book on the record kept."})
    if record.archived_at:
        raise ValidationError({"client": "This client's record is archived: restore it before booking."})
    plan = TreatmentPlan(
        client=client,
        indication=indication,
        mixture=mixture,
        practitioner=practitioner,
        sessions_planned=len(slots),
        interval_days=interval_days,
        maintenance_interval_days=maintenance_interval_days,
        notes=notes,
    )
    check_fields(plan)
    plan.save()
    plan.areas.set(areas)
    sessions = [
        TreatmentSession(
            plan=plan,
            sequence=i,
            starts_at=slot.start,
            ends_at=slot.end,
            practitioner=practitioner,
            room=room,
        )
        for i, slot in enumerate(slots, start=1)
    ]
    save_sessions(sessions)
    return plan


def series_shortfall(plan: TreatmentPlan) -> int:
    """How many sessions the series is short of its plan, counting those done or
    still booked (no-shows and cancellations do not count)."""
    return max(0, plan.sessions_planned - plan.sessions.kept_series().count())


def plan_after_session_completed(plan: TreatmentPlan) -> None:
    """Once the series has all its sessions done, the plan enters maintenance
    (or is completed when it has no maintenance interval). Called inside the
    transaction that completes a session (sessions_app.services.records)."""
    remaining = plan.sessions.filter(is_maintenance=False).ahead()
    if plan.status == PlanStatus.ACTIVE and series_shortfall(plan) == 0 and not remaining.exists():
        plan.status = PlanStatus.MAINTENANCE if plan.maintenance_interval_days else PlanStatus.COMPLETED
        plan.save(update_fields=["status"])
