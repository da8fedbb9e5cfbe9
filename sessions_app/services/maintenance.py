"""One more session for a plan, previewed then booked: the session that
replaces a missed one at the end of the series (re-booking), and the next
maintenance visit.

Each preview is an Offer (slot, practitioner, room) the confirm books exactly;
the booking re-checks, under a lock on the plan, that the session is still
wanted, and is refused with SlotTaken when its slot was taken meanwhile.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from sessions_app.models import PlanStatus, Room, SessionStatus, TreatmentPlan, TreatmentSession, User
from sessions_app.models.plans import position_label
from sessions_app.scheduling import (
    IntervalUnit,
    ProposedSession,
    clash_first,
    clinic_tz,
    propose_series,
    same_time_from,
    shift_days,
    wall_clock,
)
from sessions_app.services.series import series_shortfall
from sessions_app.services.session_status import InvalidTransition
from sessions_app.services.slots import load_calendar, save_sessions


def next_sequence(plan: TreatmentPlan) -> int:
    """The number for a session added to the plan: after every existing one."""
    return (plan.sessions.aggregate(m=Max("sequence"))["m"] or 0) + 1


@dataclass(frozen=True)
class Offer:
    """One session proposed for a plan (a re-booking at the end of the series, or
    a maintenance visit) with its practitioner and room: the preview shows it and
    the confirm books exactly it."""

    proposal: ProposedSession
    practitioner: User
    room: Room
    title: str  # its place in the plan, as TreatmentSession.series_title: "session 6 of 6", "maintenance"
    due: dt.date | None = None


def _offer(
    plan: TreatmentPlan,
    *,
    basis: TreatmentSession,
    wanted: dt.datetime,
    previous: dt.datetime | None,
    title: str,
    due: dt.date | None = None,
) -> Offer:
    """A session like `basis` (practitioner, room, length) near `wanted`, moved
    off conflicts, and keeping the series' minimum interval after `previous`."""
    now = timezone.now()
    wanted = same_time_from(wanted, now, clinic_tz())
    duration = basis.ends_at - basis.starts_at
    cal = load_calendar(practitioner=basis.practitioner, room=basis.room, start=wanted, end=wanted + duration)
    [proposal] = propose_series(
        first_start=wanted,
        count=1,
        interval=plan.interval_days,
        unit=IntervalUnit.DAYS,
        duration=duration,
        cal=cal,
        now=now,
        first_sequence=next_sequence(plan),
        previous=previous,
        first=clash_first(),
    )
    return Offer(proposal, basis.practitioner, basis.room, title, due)


def rebook_at_end_preview(plan: TreatmentPlan) -> Offer | None:
    """The session that replaces a missed one: one interval after the series'
    last kept session at its wall-clock time, never sooner than the minimum
    interval, with its practitioner and room. None when nothing is missing."""
    if series_shortfall(plan) == 0:
        return None
    sessions = list(plan.sessions.select_related("practitioner", "room").order_by("starts_at"))
    if not sessions:
        return None
    kept = [s for s in sessions if s.counts_in_series]
    last_kept = kept[-1] if kept else None
    basis = last_kept or sessions[-1]
    return _offer(
        plan,
        basis=basis,
        wanted=shift_days(basis.starts_at, plan.interval_days, clinic_tz()),
        previous=last_kept.starts_at if last_kept else None,
        title=f"session {position_label(len(kept) + 1, plan.sessions_planned)}",
    )


def _add_session(plan: TreatmentPlan, **fields) -> TreatmentSession:
    session = TreatmentSession(plan=plan, sequence=next_sequence(plan), **fields)
    save_sessions([session])
    return session


@transaction.atomic
def session_rebook_at_end(
    *, plan: TreatmentPlan, start: dt.datetime, end: dt.datetime, practitioner: User, room: Room
) -> TreatmentSession:
    """Book the session rebook_at_end_preview offered. InvalidTransition when the
    series is no longer short, SlotTaken when the slot was taken meanwhile."""
    plan = TreatmentPlan.objects.select_for_update().get(pk=plan.pk)
    if series_shortfall(plan) == 0:
        raise InvalidTransition("The series is not short of any session.")
    return _add_session(plan, starts_at=start, ends_at=end, practitioner=practitioner, room=room)


def maintenance_due(plan: TreatmentPlan, sessions: Sequence[TreatmentSession]) -> dt.date | None:
    """When the plan's next maintenance session is due, while none is booked: its
    maintenance interval after the last completed session. None when the plan is
    not in maintenance or a maintenance session is booked. `sessions`: all the
    plan's sessions."""
    if plan.status != PlanStatus.MAINTENANCE:
        return None
    if any(s.is_booked_maintenance for s in sessions):
        return None
    last = max((s.starts_at for s in sessions if s.status == SessionStatus.COMPLETED), default=None)
    return plan.maintenance_due_on(last) if last else None


def maintenance_preview(plan: TreatmentPlan) -> Offer | None:
    """The next maintenance session: on its due date (from today when overdue) at
    the wall-clock time of the last completed session, with its practitioner and
    room, moved off conflicts. None when no maintenance is due."""
    sessions = list(plan.sessions.select_related("practitioner", "room").order_by("starts_at"))
    due = maintenance_due(plan, sessions)
    if due is None:
        return None
    last = [s for s in sessions if s.status == SessionStatus.COMPLETED][-1]
    at = timezone.localtime(last.starts_at).time().replace(tzinfo=None)
    wanted = wall_clock(due, at, clinic_tz())
    return _offer(plan, basis=last, wanted=wanted, previous=None, title="maintenance", due=due)


@transaction.atomic
def session_book_maintenance(
    *, plan: TreatmentPlan, start: dt.datetime, end: dt.datetime, practitioner: User, room: Room
) -> TreatmentSession:
    """Book the maintenance session maintenance_preview offered. InvalidTransition
    when none is due any more (booked meanwhile), SlotTaken when the slot was taken."""
    plan = TreatmentPlan.objects.select_for_update().get(pk=plan.pk)
    if maintenance_due(plan, list(plan.sessions.all())) is None:
        raise InvalidTransition("No maintenance session is due: one is booked already.")
    return _add_session(plan, is_maintenance=True, starts_at=start, ends_at=end, practitioner=practitioner, room=room)
