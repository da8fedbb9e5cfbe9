"""Booking series and keeping them on track: the writes reception makes.

The date arithmetic is `sessions_app.scheduling` (pure); this module feeds it
the clinic's calendar from the database and writes the result in one
transaction. No double booking: on PostgreSQL two exclusion constraints refuse
overlapping sessions (migration 0005); on SQLite the same overlap rule is
checked here inside a transaction that holds the write lock from BEGIN.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max, QuerySet
from django.utils import timezone

from sessions_app.clearance import Verdict
from sessions_app.models import (
    ClosedDay,
    Indication,
    Mixture,
    OpeningHours,
    PlanStatus,
    Room,
    SessionStatus,
    TreatmentArea,
    TreatmentPlan,
    TreatmentSession,
    User,
)
from sessions_app.reminders import generate as reminders
from sessions_app.scheduling import (
    SEARCH_DAYS,
    Calendar,
    IntervalUnit,
    ProposedSession,
    add_interval,
    nearest_free_slot,
    propose_series,
)
from sessions_app.services.clearance import clearance

OVERLAP_CONSTRAINTS = ("session_no_practitioner_overlap", "session_no_room_overlap")
# Statuses a move or a shift may change; the others are history.
MOVABLE = (SessionStatus.BOOKED, SessionStatus.CONFIRMED)


class SlotTaken(Exception):
    """Another booking took one of the slots between the preview and the save."""

    def __init__(self, start: dt.datetime):
        self.start = start
        super().__init__(f"The slot at {timezone.localtime(start):%d/%m/%Y %H:%M} was just taken.")


def clinic_tz() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def conflicts(
    *, practitioner: User, room: Room, start: dt.datetime, end: dt.datetime, exclude: Iterable[int] = ()
) -> QuerySet[TreatmentSession]:
    return TreatmentSession.objects.conflicting(
        practitioner_id=practitioner.pk, room_id=room.pk, start=start, end=end
    ).exclude(pk__in=list(exclude))


def load_calendar(
    *, practitioner: User, room: Room, start: dt.datetime, end: dt.datetime, exclude: Iterable[int] = ()
) -> Calendar:
    """The clinic's hours, closed days and the practitioner's and room's
    bookings between `start` and `end` (plus the search margin): four queries."""
    start, end = start - dt.timedelta(days=SEARCH_DAYS + 1), end + dt.timedelta(days=SEARCH_DAYS + 1)
    hours: dict[int, list[tuple[dt.time, dt.time]]] = {}
    for period in OpeningHours.objects.order_by("weekday", "opens"):
        hours.setdefault(period.weekday, []).append((period.opens, period.closes))
    closed = dict(ClosedDay.objects.filter(date__range=(start.date(), end.date())).values_list("date", "reason"))
    busy = conflicts(practitioner=practitioner, room=room, start=start, end=end, exclude=exclude).values_list(
        "practitioner_id", "room_id", "starts_at", "ends_at"
    )
    practitioner_busy, room_busy = [], []
    for practitioner_id, room_id, starts_at, ends_at in busy:
        if practitioner_id == practitioner.pk:
            practitioner_busy.append((starts_at, ends_at))
        if room_id == room.pk:
            room_busy.append((starts_at, ends_at))
    return Calendar(
        tz=clinic_tz(), hours=hours, closed=closed, practitioner_busy=practitioner_busy, room_busy=room_busy
    )


def series_preview(
    *,
    practitioner: User,
    room: Room,
    first_start: dt.datetime,
    count: int,
    interval: int,
    unit: IntervalUnit | str,
    duration: dt.timedelta,
    first_sequence: int = 1,
    exclude: Iterable[int] = (),
) -> list[ProposedSession]:
    """The proposed sessions of a series, each moved off conflicts with its reason."""
    last_day = add_interval(timezone.localtime(first_start).date(), interval * (count - 1), unit)
    last = dt.datetime.combine(last_day, dt.time(23, 59), tzinfo=clinic_tz())
    cal = load_calendar(practitioner=practitioner, room=room, start=first_start, end=last, exclude=exclude)
    return propose_series(
        first_start=first_start,
        count=count,
        interval=interval,
        unit=unit,
        duration=duration,
        cal=cal,
        now=timezone.now(),
        first_sequence=first_sequence,
    )


@dataclass(frozen=True)
class Slot:
    start: dt.datetime
    end: dt.datetime


def _validate(session: TreatmentSession) -> None:
    """Field and constraint checks. Not the model's clean(): its overlap check
    cannot see which sessions move together, and the callers here check
    conflicts themselves, excluding exactly those."""
    session.clean_fields()
    session.validate_constraints()


def _insert_sessions(sessions: Sequence[TreatmentSession]) -> None:
    """Create the sessions, refusing any that overlaps a booking of its
    practitioner or room. Must run inside the caller's transaction."""
    for session in sessions:
        if conflicts(
            practitioner=session.practitioner,
            room=session.room,
            start=session.starts_at,
            end=session.ends_at,
            exclude=[session.pk] if session.pk else [],
        ).exists():
            raise SlotTaken(session.starts_at)
    try:
        # A savepoint, so that PostgreSQL's refusal can be turned into SlotTaken.
        with transaction.atomic():
            for session in sessions:
                _validate(session)
                session.save()
    except IntegrityError as exc:
        taken = _overlap_violation(exc, sessions)
        if taken is None:
            raise
        raise SlotTaken(taken) from exc


def _overlap_violation(exc: IntegrityError, sessions: Sequence[TreatmentSession]) -> dt.datetime | None:
    """The start of the session PostgreSQL refused for an overlap, if it was one."""
    cause = getattr(exc, "__cause__", None)
    name = getattr(getattr(cause, "diag", None), "constraint_name", None) or ""
    if name not in OVERLAP_CONSTRAINTS and not any(c in str(exc) for c in OVERLAP_CONSTRAINTS):
        return None
    return next((s.starts_at for s in sessions if s.pk is None), sessions[0].starts_at)


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
    """Create a plan and all its sessions, or nothing: SlotTaken when any slot
    was booked by someone else since the preview."""
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
    plan.full_clean()
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
    _insert_sessions(sessions)
    return plan


@dataclass(frozen=True)
class Move:
    session: TreatmentSession
    start: dt.datetime
    end: dt.datetime
    reason: str | None

    @property
    def moved(self) -> bool:
        return self.start != self.session.starts_at


def move_preview(
    *, session: TreatmentSession, new_start: dt.datetime, shift_later: bool
) -> tuple[list[Move], list[TreatmentSession]]:
    """What moving `session` to `new_start` does: the session itself and, when
    `shift_later`, each later movable session of its series shifted by the same
    amount (each moved off conflicts with its reason). Returns the moves and the
    later sessions that would be left where they are."""
    later = list(
        session.plan.sessions.filter(starts_at__gt=session.starts_at, status__in=MOVABLE)
        .exclude(pk=session.pk)
        .order_by("starts_at")
    )
    delta = new_start - session.starts_at
    to_move = [session, *later] if shift_later else [session]
    duration = session.ends_at - session.starts_at
    last = max(s.starts_at for s in to_move) + delta
    cal = load_calendar(
        practitioner=session.practitioner,
        room=session.room,
        start=min(new_start, session.starts_at),
        end=last + duration,
        exclude=[s.pk for s in to_move],
    )
    moves: list[Move] = []
    previous_end: dt.datetime | None = None
    now = timezone.now()
    min_gap = dt.timedelta(days=max(1, session.plan.interval_days - 1))
    for s in to_move:
        wanted = s.starts_at + delta
        length = s.ends_at - s.starts_at
        not_before = max(now, previous_end + min_gap) if previous_end and s is not session else now
        problem = "in the past" if wanted < now else cal.problem(wanted, wanted + length)
        if problem is None and previous_end and s is not session and wanted < not_before:
            problem = "keeps the minimum interval after the previous session"
        start = wanted if problem is None else nearest_free_slot(wanted, length, cal, not_before)
        if start is None:
            raise SlotTaken(wanted)
        moves.append(Move(s, start, start + length, problem))
        previous_end = start
    return moves, ([] if shift_later else later)


@transaction.atomic
def session_move(*, moves: Sequence[Move]) -> None:
    """Apply a previewed move. SlotTaken when a target slot was taken meanwhile,
    or a session changed status; nothing is saved then."""
    ids = [m.session.pk for m in moves]
    current = {s.pk: s for s in TreatmentSession.objects.select_for_update().filter(pk__in=ids)}
    sessions = []
    for m in moves:
        s = current[m.session.pk]
        if s.status not in MOVABLE:
            raise SlotTaken(m.start)
        s.starts_at, s.ends_at = m.start, m.end
        sessions.append(s)
    for s in sessions:
        if conflicts(practitioner=s.practitioner, room=s.room, start=s.starts_at, end=s.ends_at, exclude=ids).exists():
            raise SlotTaken(s.starts_at)
    try:
        with transaction.atomic():
            # Save in the direction of travel, so that a shifted session never
            # lands on the old slot of one that has not moved yet.
            forward = moves[0].start > moves[0].session.starts_at
            for s in sorted(sessions, key=lambda s: s.starts_at, reverse=forward):
                _validate(s)
                s.save(update_fields=["starts_at", "ends_at", "updated_at"])
    except IntegrityError as exc:
        taken = _overlap_violation(exc, sessions)
        if taken is None:
            raise
        raise SlotTaken(taken) from exc
    reminders.reminders_follow_sessions(session_ids=ids)


# Which status each action leads to, from which statuses.
TRANSITIONS: dict[str, tuple[SessionStatus, tuple[SessionStatus, ...]]] = {
    "confirm": (SessionStatus.CONFIRMED, (SessionStatus.BOOKED,)),
    "arrive": (SessionStatus.ARRIVED, (SessionStatus.BOOKED, SessionStatus.CONFIRMED)),
    "no_show": (SessionStatus.NO_SHOW, (SessionStatus.BOOKED, SessionStatus.CONFIRMED)),
    "cancel": (SessionStatus.CANCELLED, (SessionStatus.BOOKED, SessionStatus.CONFIRMED)),
}


class InvalidTransition(Exception):
    pass


class NotCleared(InvalidTransition):
    """The client may not be treated: sessions_app.clearance says why."""

    def __init__(self, verdict: Verdict):
        self.verdict = verdict
        super().__init__("Not completed: " + " ".join(verdict.reasons))


@transaction.atomic
def session_set_status(*, session_id: int, action: str) -> TreatmentSession:
    """Confirm, mark arrived, no-show or cancel a session; refuses a change its
    current status does not allow (for example cancelling a completed one)."""
    if action not in TRANSITIONS:
        raise InvalidTransition(f"Unknown action {action!r}.")
    target, allowed = TRANSITIONS[action]
    session = TreatmentSession.objects.select_for_update().get(pk=session_id)
    if session.status not in allowed:
        raise InvalidTransition(
            f"A session that is {session.get_status_display().lower()} cannot be marked {target.label.lower()}."
        )
    session.status = target
    session.save(update_fields=["status", "updated_at"])
    reminders.reminders_follow_sessions(session_ids=[session.pk])
    return session


def series_shortfall(plan: TreatmentPlan) -> int:
    """How many sessions the series is short of its plan, counting those done or
    still booked (no-shows and cancellations do not count)."""
    return max(0, plan.sessions_planned - plan.sessions.kept_series().count())


def next_sequence(plan: TreatmentPlan) -> int:
    """The number for a session added to the plan: after every existing one."""
    return (plan.sessions.aggregate(m=Max("sequence"))["m"] or 0) + 1


def rebook_at_end_preview(plan: TreatmentPlan) -> ProposedSession | None:
    """The session that replaces a missed one: one interval after the series'
    last kept session, moved off conflicts. None when nothing is missing."""
    if series_shortfall(plan) == 0:
        return None
    last = plan.sessions.kept_series().order_by("-starts_at").first() or plan.sessions.order_by("-starts_at").first()
    start = last.starts_at + dt.timedelta(days=plan.interval_days)
    proposal = series_preview(
        practitioner=last.practitioner,
        room=last.room,
        first_start=max(start, timezone.now() + dt.timedelta(hours=1)),
        count=1,
        interval=plan.interval_days,
        unit=IntervalUnit.DAYS,
        duration=last.ends_at - last.starts_at,
        first_sequence=next_sequence(plan),
    )
    return proposal[0]


@transaction.atomic
def session_rebook_at_end(*, plan: TreatmentPlan, start: dt.datetime, end: dt.datetime, room: Room) -> TreatmentSession:
    plan = TreatmentPlan.objects.select_for_update().get(pk=plan.pk)
    if series_shortfall(plan) == 0:
        raise InvalidTransition("The series is not short of any session.")
    session = TreatmentSession(
        plan=plan,
        sequence=next_sequence(plan),
        starts_at=start,
        ends_at=end,
        practitioner=plan.practitioner,
        room=room,
    )
    _insert_sessions([session])
    return session


def maintenance_due_on(plan: TreatmentPlan, last_session_start: dt.datetime) -> dt.date | None:
    """The next maintenance date: the plan's maintenance interval after its last
    session, in the clinic's calendar."""
    if not plan.maintenance_interval_days:
        return None
    return timezone.localtime(last_session_start).date() + dt.timedelta(days=plan.maintenance_interval_days)


@transaction.atomic
def session_complete(*, session_id: int, completed_at: dt.datetime | None = None) -> TreatmentSession:
    """Mark a session completed, if the treatment rule clears the client
    (NotCleared otherwise). When it is the last of the series, the plan enters
    maintenance (or is completed when it has no maintenance interval)."""
    session = TreatmentSession.objects.select_for_update().select_related("plan").get(pk=session_id)
    if session.status == SessionStatus.COMPLETED:
        raise InvalidTransition("This session is already completed.")
    if session.status in (SessionStatus.CANCELLED, SessionStatus.NO_SHOW):
        raise InvalidTransition(f"A {session.get_status_display().lower()} session cannot be completed.")
    verdict = clearance(session)
    if not verdict.may_treat:
        raise NotCleared(verdict)
    session.status = SessionStatus.COMPLETED
    session.completed_at = completed_at or timezone.now()
    session.save(update_fields=["status", "completed_at", "updated_at"])
    plan = session.plan
    remaining = plan.sessions.filter(is_maintenance=False, status__in=MOVABLE + (SessionStatus.ARRIVED,))
    if plan.status == PlanStatus.ACTIVE and series_shortfall(plan) == 0 and not remaining.exists():
        plan.status = PlanStatus.MAINTENANCE if plan.maintenance_interval_days else PlanStatus.COMPLETED
        plan.save(update_fields=["status"])
    return session
