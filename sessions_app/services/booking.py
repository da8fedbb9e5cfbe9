"""Booking series and keeping them on track: the writes reception makes.

The date arithmetic is `sessions_app.scheduling` (pure); this module feeds it
the clinic's calendar from the database and writes the result in one
transaction, in a fixed number of queries whatever the number of sessions. No
double booking: on PostgreSQL two exclusion constraints refuse overlapping
sessions (migrations 0005 and 0006); on SQLite the same overlap rule is checked
here inside a transaction that holds the write lock from BEGIN.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from django.db import IntegrityError, connection, transaction
from django.db.models import Max, Model, QuerySet
from django.utils import timezone
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

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
from sessions_app.models.plans import position_label
from sessions_app.reminders import generate as reminders
from sessions_app.scheduling import (
    SEARCH_DAYS,
    Calendar,
    IntervalUnit,
    ProposedSession,
    add_interval,
    calendar_days_between,
    clinic_tz,
    minimum_interval,
    nearest_free_slot,
    overlap,
    propose_series,
    same_time_from,
    shift_days,
    slot_problem,
    wall_clock,
)

OVERLAP_CONSTRAINTS = ("session_no_practitioner_overlap", "session_no_room_overlap")


class SlotTaken(Exception):
    """Another booking took one of the slots between the preview and the save.
    `sequence` names the session that lost the race, when known."""

    def __init__(self, start: dt.datetime, sequence: int | None = None):
        self.start = start
        self.sequence = sequence
        super().__init__(f"The slot at {timezone.localtime(start):%d/%m/%Y %H:%M} was just taken.")


class NoFreeSlot(Exception):
    """A preview found nowhere to put a session: every slot near the wanted one
    is closed, booked, or would break the series' spacing."""

    def __init__(self, wanted: dt.datetime, reason: str | None):
        self.wanted = wanted
        self.reason = reason
        super().__init__(f"No free slot near {timezone.localtime(wanted):%d/%m/%Y %H:%M} ({reason}).")


def conflicts(
    *, practitioner: User, room: Room, start: dt.datetime, end: dt.datetime, exclude: Iterable[int] = ()
) -> QuerySet[TreatmentSession]:
    return TreatmentSession.objects.conflicting(
        practitioner_id=practitioner.pk, room_id=room.pk, start=start, end=end
    ).exclude(pk__in=list(exclude))


def first_conflict(sessions: Sequence[TreatmentSession], exclude: Iterable[int] = ()) -> TreatmentSession | None:
    """The earliest of `sessions` that overlaps another booking (not in
    `exclude`) of its practitioner or room: one query for them all."""
    busy = list(
        TreatmentSession.objects.conflicting_any(
            [(s.practitioner_id, s.room_id, s.starts_at, s.ends_at) for s in sessions]
        )
        .exclude(pk__in=list(exclude))
        .values_list("practitioner_id", "room_id", "starts_at", "ends_at")
    )
    for session in sorted(sessions, key=lambda s: s.starts_at):
        for practitioner_id, room_id, start, end in busy:
            shared = practitioner_id == session.practitioner_id or room_id == session.room_id
            if shared and overlap(session.starts_at, session.ends_at, start, end):
                return session
    return None


def load_calendars(
    *, resources: Iterable[tuple[int, int]], start: dt.datetime, end: dt.datetime, exclude: Iterable[int] = ()
) -> dict[tuple[int, int], Calendar]:
    """For each (practitioner id, room id) pair: the clinic's hours and closed
    days and the pair's bookings between `start` and `end` (plus the search
    margin). Three queries, whatever the number of pairs."""
    resources = set(resources)
    start, end = start - dt.timedelta(days=SEARCH_DAYS + 1), end + dt.timedelta(days=SEARCH_DAYS + 1)
    hours: dict[int, list[tuple[dt.time, dt.time]]] = {}
    for period in OpeningHours.objects.order_by("weekday", "opens"):
        hours.setdefault(period.weekday, []).append((period.opens, period.closes))
    closed = dict(ClosedDay.objects.filter(date__range=(start.date(), end.date())).values_list("date", "reason"))
    busy = list(
        TreatmentSession.objects.conflicting_any([(p, r, start, end) for p, r in resources])
        .exclude(pk__in=list(exclude))
        .values_list("practitioner_id", "room_id", "starts_at", "ends_at")
    )
    return {
        (practitioner_id, room_id): Calendar(
            tz=clinic_tz(),
            hours=hours,
            closed=closed,
            practitioner_busy=[(s, e) for p, _, s, e in busy if p == practitioner_id],
            room_busy=[(s, e) for _, r, s, e in busy if r == room_id],
        )
        for practitioner_id, room_id in resources
    }


def load_calendar(
    *, practitioner: User, room: Room, start: dt.datetime, end: dt.datetime, exclude: Iterable[int] = ()
) -> Calendar:
    """The calendar of one practitioner and room: see load_calendars."""
    pair = (practitioner.pk, room.pk)
    return load_calendars(resources=[pair], start=start, end=end, exclude=exclude)[pair]


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


def _check_fields(obj: Model) -> None:
    """Field checks, in Python: the foreign keys are objects the caller holds,
    and the named constraints are the database's final word (Django would run a
    query per constraint and per row to check them here)."""
    obj.clean_fields(exclude=[f.name for f in obj._meta.concrete_fields if f.is_relation])


@contextmanager
def _overlaps_checked_at_the_end() -> Iterator[None]:
    """PostgreSQL checks the overlap constraints row by row during one UPDATE: a
    series shifted by exactly its interval would collide with the old slot of
    its next session, not yet moved. Deferred (migration 0006 made them
    deferrable), they are checked once the block has written every row, still
    inside it, so that a refusal is raised here."""
    if connection.vendor != "postgresql":
        yield
        return
    names = ", ".join(OVERLAP_CONSTRAINTS)
    with connection.cursor() as cursor:
        cursor.execute(f"SET CONSTRAINTS {names} DEFERRED")
    yield
    with connection.cursor() as cursor:
        cursor.execute(f"SET CONSTRAINTS {names} IMMEDIATE")


def _save_sessions(sessions: Sequence[TreatmentSession], *, fields: Sequence[str] = ()) -> None:
    """Insert the sessions, or with `fields` update those fields, with their
    history rows, in a fixed number of queries whatever their number. SlotTaken
    when one overlaps another booking of its practitioner or room. Must run
    inside the caller's transaction."""
    ids = [s.pk for s in sessions if s.pk]
    if taken := first_conflict(sessions, exclude=ids):
        raise SlotTaken(taken.starts_at, taken.sequence)
    for session in sessions:
        _check_fields(session)
    try:
        # A savepoint, so that PostgreSQL's refusal can be turned into SlotTaken.
        with transaction.atomic():
            if fields:
                with _overlaps_checked_at_the_end():
                    bulk_update_with_history(sessions, TreatmentSession, fields=list(fields))
            else:
                bulk_create_with_history(sessions, TreatmentSession)
    except IntegrityError as exc:
        if not is_double_booking(exc):
            raise
        # The constraint waited for the booking that won the race to commit:
        # it is visible now, and tells which of ours lost.
        taken = first_conflict(sessions, exclude=ids) or sessions[0]
        raise SlotTaken(taken.starts_at, taken.sequence) from exc


def is_double_booking(exc: IntegrityError) -> bool:
    """Whether PostgreSQL refused a row for one of the overlap constraints."""
    cause = getattr(exc, "__cause__", None)
    name = getattr(getattr(cause, "diag", None), "constraint_name", None) or ""
    return name in OVERLAP_CONSTRAINTS or any(c in str(exc) for c in OVERLAP_CONSTRAINTS)


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
    value is out of the plan's bounds, SlotTaken when any slot was booked by
    someone else since the preview."""
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
    _check_fields(plan)
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
    _save_sessions(sessions)
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
    `shift_later`, each later movable session of its plan moved by the same
    number of calendar days, at its own wall-clock time. Each is moved off
    conflicts with its reason; a series session also keeps the minimum interval
    after the session before it and before the next one that stays, so the
    series keeps its order. Returns the moves (sessions annotated with their
    series position) and the later sessions left where they are; NoFreeSlot
    when a session has nowhere to go. Four queries."""
    tz = clinic_tz()
    plan = session.plan
    kept = list(
        plan.sessions.exclude(status__in=SessionStatus.NOT_KEPT)
        .with_series_position()
        .order_by("starts_at", "sequence")
    )
    me = next((s for s in kept if s.pk == session.pk), None)
    if me is None or me.status not in SessionStatus.MOVABLE:
        raise InvalidTransition(f"A {session.get_status_display().lower()} session cannot be moved.")
    later = [s for s in kept if s.starts_at > me.starts_at and s.status in SessionStatus.MOVABLE]
    to_move = [me, *later] if shift_later else [me]
    days = calendar_days_between(me.starts_at, new_start, tz)
    wanted = [new_start] + [shift_days(s.starts_at, days, tz) for s in to_move[1:]]
    series = [s for s in kept if s.counts_in_series]
    gap = minimum_interval(dt.timedelta(days=plan.interval_days))
    moving = {s.pk for s in to_move}
    calendars = load_calendars(
        resources={(s.practitioner_id, s.room_id) for s in to_move},
        start=min(new_start, me.starts_at),
        end=max(wanted),
        exclude=moving,
    )
    now = timezone.now()
    placed: dict[int, dt.datetime] = {}
    moves: list[Move] = []
    for s, want in zip(to_move, wanted, strict=True):
        not_before, not_after = now, None
        if s.counts_in_series:
            i = series.index(s)
            if i > 0:
                previous = series[i - 1]
                not_before = max(now, placed.get(previous.pk, previous.starts_at) + gap)
            if i + 1 < len(series) and series[i + 1].pk not in moving:
                not_after = series[i + 1].starts_at - gap
        cal = _with_moved(calendars[(s.practitioner_id, s.room_id)], s, moves)
        length = s.ends_at - s.starts_at
        problem = slot_problem(want, length, cal, now=now, not_before=not_before, not_after=not_after)
        start = want if problem is None else nearest_free_slot(want, length, cal, not_before, not_after)
        if start is None:
            raise NoFreeSlot(want, problem)
        moves.append(Move(s, start, start + length, problem))
        placed[s.pk] = start
    return moves, ([] if shift_later else later)


def _with_moved(cal: Calendar, session: TreatmentSession, moves: Sequence[Move]) -> Calendar:
    """`cal` with the new slots of the sessions already placed in this move."""
    if not moves:
        return cal
    return dataclasses.replace(
        cal,
        practitioner_busy=[
            *cal.practitioner_busy,
            *((m.start, m.end) for m in moves if m.session.practitioner_id == session.practitioner_id),
        ],
        room_busy=[*cal.room_busy, *((m.start, m.end) for m in moves if m.session.room_id == session.room_id)],
    )


@transaction.atomic
def session_move(*, moves: Sequence[Move]) -> None:
    """Apply a previewed move, in a fixed number of queries. SlotTaken when a
    target slot was taken meanwhile, or a session changed status; nothing is
    saved then."""
    ids = [m.session.pk for m in moves]
    current = {s.pk: s for s in TreatmentSession.objects.select_for_update().filter(pk__in=ids)}
    now = timezone.now()
    sessions = []
    for m in moves:
        s = current.get(m.session.pk)
        if s is None or s.status not in SessionStatus.MOVABLE:
            raise SlotTaken(m.start, m.session.sequence)
        s.starts_at, s.ends_at, s.updated_at = m.start, m.end, now
        sessions.append(s)
    _save_sessions(sessions, fields=["starts_at", "ends_at", "updated_at"])
    reminders.reminders_follow_sessions(session_ids=ids)


class InvalidTransition(Exception):
    pass


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


def series_shortfall(plan: TreatmentPlan) -> int:
    """How many sessions the series is short of its plan, counting those done or
    still booked (no-shows and cancellations do not count)."""
    return max(0, plan.sessions_planned - plan.sessions.kept_series().count())


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
    _save_sessions([session])
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


def plan_after_session_completed(plan: TreatmentPlan) -> None:
    """Once the series has all its sessions done, the plan enters maintenance
    (or is completed when it has no maintenance interval). Called inside the
    transaction that completes a session (sessions_app.services.records)."""
    remaining = plan.sessions.filter(is_maintenance=False).ahead()
    if plan.status == PlanStatus.ACTIVE and series_shortfall(plan) == 0 and not remaining.exists():
        plan.status = PlanStatus.MAINTENANCE if plan.maintenance_interval_days else PlanStatus.COMPLETED
        plan.save(update_fields=["status"])
