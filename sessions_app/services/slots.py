"""The clinic's calendar as the database holds it: loaded for the pure
functions of `sessions_app.scheduling`, and sessions saved into it without
double booking. Every booking service (series, moves, maintenance and
re-booking) goes through here.

No double booking: on PostgreSQL two exclusion constraints refuse overlapping
sessions (migrations 0005 and 0006); on SQLite the same overlap rule is checked
here inside a transaction that holds the write lock from BEGIN. Saving costs a
fixed number of queries whatever the number of sessions (one conflict check for
all, one INSERT or UPDATE, one for the history rows).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager

from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import Model, QuerySet
from django.utils import timezone
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from sessions_app.models import ClosedDay, OpeningHours, Role, Room, SessionStatus, TreatmentSession, User
from sessions_app.scheduling import SEARCH_DAYS, Calendar, clinic_tz, overlap


def practitioners() -> QuerySet[User]:
    """The active members of the Practitioner group, by name: who can be booked."""
    return User.objects.filter(groups__name=Role.PRACTITIONER, is_active=True).order_by("last_name", "first_name")


OVERLAP_CONSTRAINTS = ("session_no_practitioner_overlap", "session_no_room_overlap")


class SlotTaken(Exception):
    """Another booking took one of the slots between the preview and the save.
    `sequence` names the session that lost the race, when known."""

    def __init__(self, start: dt.datetime, sequence: int | None = None):
        self.start = start
        self.sequence = sequence
        super().__init__(f"The slot at {timezone.localtime(start):%d/%m/%Y %H:%M} was just taken.")


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


def opening_hours() -> dict[int, list[tuple[dt.time, dt.time]]]:
    """The clinic's opening periods by weekday (Monday 0), as Calendar holds them: one query."""
    hours: dict[int, list[tuple[dt.time, dt.time]]] = {}
    for weekday, opens, closes in OpeningHours.objects.order_by("weekday", "opens").values_list(
        "weekday", "opens", "closes"
    ):
        hours.setdefault(weekday, []).append((opens, closes))
    return hours


def closed_days(first: dt.date, last: dt.date) -> dict[dt.date, str]:
    """The closed days from `first` to `last`, with their reason: one query."""
    return dict(ClosedDay.objects.filter(date__range=(first, last)).values_list("date", "reason"))


def free_to_book(*, start: dt.datetime, end: dt.datetime) -> tuple[list[User], list[Room]]:
    """The active practitioners and rooms with no booking overlapping [start,
    end): where a free slot clicked on the calendar fills in what its column
    does not say. Three queries."""
    busy = list(
        TreatmentSession.objects.filter(starts_at__lt=end, ends_at__gt=start)
        .exclude(status=SessionStatus.CANCELLED)
        .values_list("practitioner_id", "room_id")
    )
    busy_people, busy_rooms = {p for p, _ in busy}, {r for _, r in busy}
    people = [p for p in practitioners() if p.pk not in busy_people]
    rooms = [r for r in Room.objects.filter(active=True) if r.pk not in busy_rooms]
    return people, rooms


def load_calendars(
    *, resources: Iterable[tuple[int, int]], start: dt.datetime, end: dt.datetime, exclude: Iterable[int] = ()
) -> dict[tuple[int, int], Calendar]:
    """For each (practitioner id, room id) pair: the clinic's hours and closed
    days and the pair's bookings between `start` and `end` (plus the search
    margin). Three queries, whatever the number of pairs."""
    resources = set(resources)
    start, end = start - dt.timedelta(days=SEARCH_DAYS + 1), end + dt.timedelta(days=SEARCH_DAYS + 1)
    hours = opening_hours()
    closed = closed_days(start.date(), end.date())
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


def load_calendar(*, practitioner: User, room: Room, start: dt.datetime, end: dt.datetime) -> Calendar:
    """The calendar of one practitioner and room: see load_calendars."""
    pair = (practitioner.pk, room.pk)
    return load_calendars(resources=[pair], start=start, end=end)[pair]


def check_fields(obj: Model) -> None:
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


def save_sessions(sessions: Sequence[TreatmentSession], *, fields: Sequence[str] = ()) -> None:
    """Insert the sessions, or with `fields` update those fields, with their
    history rows, in a fixed number of queries whatever their number. SlotTaken
    when one overlaps another booking of its practitioner or room. Must run
    inside the caller's transaction."""
    ids = [s.pk for s in sessions if s.pk]
    if taken := first_conflict(sessions, exclude=ids):
        raise SlotTaken(taken.starts_at, taken.sequence)
    for session in sessions:
        check_fields(session)
    try:
        # A savepoint, so that PostgreSQL's refusal can be turned into SlotTaken.
        with transaction.atomic():
            if fields:
                with _overlaps_checked_at_the_end():
                    bulk_update_with_history(sessions, TreatmentSession, fields=list(fields))
            else:
                bulk_create_with_history(sessions, TreatmentSession)
    except (IntegrityError, OperationalError) as exc:
        if not (is_double_booking(exc) or is_deadlock(exc)):
            raise
        # The constraint waited for the booking that won the race to commit:
        # it is visible now, and tells which of ours lost.
        taken = first_conflict(sessions, exclude=ids) or sessions[0]
        raise SlotTaken(taken.starts_at, taken.sequence) from exc


def is_deadlock(exc: OperationalError) -> bool:
    """Whether PostgreSQL gave up one of two bookings racing for the same slot:
    each waits on the other's row, one at the practitioner's constraint and the
    other at the room's, and PostgreSQL aborts one of them (SQLSTATE 40P01).
    The one aborted lost the slot, as a refusal by the constraint would say."""
    return getattr(getattr(exc, "__cause__", None), "sqlstate", None) == "40P01"


def is_double_booking(exc: IntegrityError) -> bool:
    """Whether PostgreSQL refused a row for one of the overlap constraints."""
    cause = getattr(exc, "__cause__", None)
    name = getattr(getattr(cause, "diag", None), "constraint_name", None) or ""
    return name in OVERLAP_CONSTRAINTS or any(c in str(exc) for c in OVERLAP_CONSTRAINTS)
