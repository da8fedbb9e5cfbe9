"""Moving a session, and optionally the later ones of its plan by as many days.

The slots are found by the pure functions of `sessions_app.scheduling` in the
calendar `services.slots` loads; a move is written as one UPDATE for every
session it moves, whose reminders then follow them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from sessions_app.models import Room, SessionStatus, TreatmentSession, User
from sessions_app.reminders import generate as reminders
from sessions_app.scheduling import (
    Calendar,
    ClashFirst,
    calendar_days_between,
    clash_first,
    clinic_tz,
    minimum_interval,
    nearest_free_slot,
    shift_days,
    slot_problem,
)
from sessions_app.services.session_status import InvalidTransition
from sessions_app.services.slots import SlotTaken, load_calendars, save_sessions


class NoFreeSlot(Exception):
    """A preview found nowhere to put a session: every slot near the wanted one
    is closed, booked, or would break the series' spacing."""

    def __init__(self, wanted: dt.datetime, reason: str | None):
        self.wanted = wanted
        self.reason = reason
        super().__init__(f"No free slot near {timezone.localtime(wanted):%d/%m/%Y %H:%M} ({reason}).")


@dataclass(frozen=True)
class Move:
    session: TreatmentSession
    start: dt.datetime
    end: dt.datetime
    reason: str | None  # why it is not where it was wanted
    practitioner_id: int
    room_id: int
    wanted: dt.datetime | None = None  # where it was wanted (dropped, typed, or shifted to)

    @property
    def moved(self) -> bool:
        return self.start != self.session.starts_at

    @property
    def changes_hands(self) -> bool:
        """Whether the session goes to another practitioner or room."""
        return self.practitioner_id != self.session.practitioner_id or self.room_id != self.session.room_id


def move_preview(
    *,
    session: TreatmentSession,
    new_start: dt.datetime,
    shift_later: bool,
    practitioner: User | None = None,
    room: Room | None = None,
) -> tuple[list[Move], list[TreatmentSession]]:
    """What moving `session` to `new_start` (with `practitioner` and `room`,
    its own by default) does: the session itself and, when `shift_later`, each
    later movable session of its plan moved by the same number of calendar
    days, at its own wall-clock time, with its own practitioner and room. Each
    is moved off conflicts with its reason (free_slots_near: the session
    itself the nearest free time on its new day first, the later ones where the
    clinic's setting says); a series session also keeps the minimum
    interval after the session before it and before the next one that stays,
    so the series keeps its order. Returns the moves (sessions annotated with
    their series position) and the later sessions left where they are;
    NoFreeSlot when a session has nowhere to go. Four queries (more to read
    the practitioner and room when only their ids are loaded)."""
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
    days = calendar_days_between(me.starts_at, new_start, tz)
    # A move within its day shifts nothing: the later sessions stay where they are.
    shift_later = shift_later and days != 0
    to_move = [me, *later] if shift_later else [me]
    wanted = [new_start] + [shift_days(s.starts_at, days, tz) for s in to_move[1:]]
    series = [s for s in kept if s.counts_in_series]
    gap = minimum_interval(dt.timedelta(days=plan.interval_days))
    moving = {s.pk for s in to_move}
    hands = {s.pk: (s.practitioner_id, s.room_id) for s in to_move}
    hands[me.pk] = (practitioner.pk if practitioner else me.practitioner_id, room.pk if room else me.room_id)
    calendars = load_calendars(
        resources=set(hands.values()),
        start=min(new_start, me.starts_at),
        end=max(wanted),
        exclude=moving,
    )
    now = timezone.now()
    # The session moved was put on a day (dropped there, or typed): it keeps
    # that day when it can. The later ones it shifts look first where the
    # clinic's setting says, as a series does.
    first = {me.pk: ClashFirst.TIME}
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
        who, where = hands[s.pk]
        cal = _with_moved(calendars[(who, where)], who, where, moves)
        length = s.ends_at - s.starts_at
        problem = slot_problem(want, length, cal, now=now, not_before=not_before, not_after=not_after)
        start = (
            want
            if problem is None
            else nearest_free_slot(want, length, cal, not_before, not_after, first=first.get(s.pk, clash_first()))
        )
        if start is None:
            raise NoFreeSlot(want, problem)
        moves.append(Move(s, start, start + length, problem, who, where, want))
        placed[s.pk] = start
    return moves, ([] if shift_later else later)


def _with_moved(cal: Calendar, practitioner_id: int, room_id: int, moves: Sequence[Move]) -> Calendar:
    """`cal` with the new slots of the sessions already placed in this move."""
    if not moves:
        return cal
    return dataclasses.replace(
        cal,
        practitioner_busy=[
            *cal.practitioner_busy,
            *((m.start, m.end) for m in moves if m.practitioner_id == practitioner_id),
        ],
        room_busy=[*cal.room_busy, *((m.start, m.end) for m in moves if m.room_id == room_id)],
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
        s.practitioner_id, s.room_id = m.practitioner_id, m.room_id
        sessions.append(s)
    save_sessions(sessions, fields=["starts_at", "ends_at", "practitioner", "room", "updated_at"])
    reminders.reminders_follow_sessions(session_ids=ids)
