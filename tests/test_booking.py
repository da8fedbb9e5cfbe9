"""Booking a series, moving sessions, and the rule against double booking."""

import contextlib
import datetime as dt
import threading
from zoneinfo import ZoneInfo

import pytest
from django.db import IntegrityError, close_old_connections, connection, transaction
from django.utils import timezone

from sessions_app.models import (
    ClosedDay,
    Indication,
    Mixture,
    PlanStatus,
    Role,
    Room,
    SessionStatus,
    TreatmentArea,
    TreatmentPlan,
    TreatmentSession,
)
from sessions_app.services import booking
from sessions_app.services.booking import InvalidTransition, Slot, SlotTaken

from .factories import make_cleared, make_client, make_plan, make_session, make_user, sign_record

PARIS = ZoneInfo("Europe/Paris")


def next_weekday_at(hour, minute=0, weekday=1, weeks_ahead=1):
    """A clinic-local datetime on a weekday (Tuesday by default) in the future."""
    today = timezone.localdate()
    day = today + dt.timedelta(days=(weekday - today.weekday()) % 7 + 7 * weeks_ahead)
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=PARIS)


def book(practitioner, start, count=1, room=None, client=None):
    slots = [
        Slot(start + dt.timedelta(weeks=2 * i), start + dt.timedelta(weeks=2 * i, minutes=45)) for i in range(count)
    ]
    return booking.plan_book(
        client=client or make_client(),
        indication=Indication.objects.get(name="Skin rejuvenation"),
        areas=[TreatmentArea.objects.get(name="Face")],
        mixture=Mixture.objects.get(name="Facial rejuvenation"),
        practitioner=practitioner,
        room=room or Room.objects.get(name="Room 1"),
        interval_days=14,
        maintenance_interval_days=90,
        slots=slots,
    )


@pytest.mark.django_db
def test_plan_book_creates_the_plan_and_every_session(practitioner):
    plan = book(practitioner, next_weekday_at(10), count=6)
    sessions = list(plan.sessions.order_by("sequence"))
    assert [s.sequence for s in sessions] == [1, 2, 3, 4, 5, 6]
    assert plan.sessions_planned == 6
    assert all(s.status == SessionStatus.BOOKED for s in sessions)


@pytest.mark.django_db
def test_a_conflicting_series_saves_nothing(practitioner):
    start = next_weekday_at(10)
    book(practitioner, start + dt.timedelta(weeks=4))  # will clash with session 3
    plans_before = TreatmentPlan.objects.count()
    with pytest.raises(SlotTaken) as taken:
        book(practitioner, start, count=6, room=Room.objects.get(name="Room 2"))
    assert taken.value.start == start + dt.timedelta(weeks=4)
    assert TreatmentPlan.objects.count() == plans_before
    assert TreatmentSession.objects.count() == 1


@pytest.mark.django_db
def test_the_same_room_cannot_be_double_booked(practitioner):
    start = next_weekday_at(11)
    book(practitioner, start)
    with pytest.raises(SlotTaken):
        book(make_user(Role.PRACTITIONER), start + dt.timedelta(minutes=30))


@pytest.mark.django_db
def test_a_cancelled_session_frees_its_slot(practitioner):
    start = next_weekday_at(11)
    plan = book(practitioner, start)
    booking.session_set_status(session_id=plan.sessions.get().pk, action="cancel")
    book(practitioner, start)  # no SlotTaken
    assert TreatmentSession.objects.filter(starts_at=start).count() == 2


@pytest.mark.django_db
def test_postgres_refuses_overlaps_even_when_the_application_is_bypassed(practitioner, on_postgres):
    if not on_postgres:
        pytest.skip("the exclusion constraint exists on PostgreSQL only; SQLite relies on the service")
    first = make_session(practitioner=practitioner, starts_at=next_weekday_at(10))
    with pytest.raises(IntegrityError, match="session_no_practitioner_overlap"), transaction.atomic():
        make_session(
            practitioner=practitioner,
            starts_at=first.starts_at + dt.timedelta(minutes=15),
            room=Room.objects.get(name="Room 3"),
        )


@pytest.mark.django_db(transaction=True)
def test_several_threads_booking_one_slot_get_exactly_one_booking():
    """The race the exclusion constraint (PostgreSQL) and the serialised write
    transaction (SQLite) exist for: every thread passes its own "is it free?"
    check before any has written."""
    practitioner = make_user(Role.PRACTITIONER)
    clients = [make_client() for _ in range(6)]
    start = next_weekday_at(15)
    barrier = threading.Barrier(len(clients))
    outcomes = []
    real_conflicts = booking.conflicts

    def slow_conflicts(**kwargs):
        # Everyone checks, then everyone writes: the worst interleaving.
        result = real_conflicts(**kwargs)
        exists = result.exists()
        # On SQLite the others wait at BEGIN (serialised writers), so the barrier breaks.
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait(timeout=2)
        return result if exists else result.none()

    def attempt(client):
        try:
            book(practitioner, start, client=client)
            outcomes.append("booked")
        except SlotTaken:
            outcomes.append("taken")
        finally:
            close_old_connections()
            connection.close()

    booking.conflicts = slow_conflicts
    try:
        threads = [threading.Thread(target=attempt, args=(c,)) for c in clients]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
    finally:
        booking.conflicts = real_conflicts
    assert sorted(outcomes) == ["booked"] + ["taken"] * 5
    assert TreatmentSession.objects.filter(practitioner=practitioner).count() == 1


@pytest.mark.django_db
def test_preview_moves_a_session_off_a_closed_day_and_off_a_booking(practitioner):
    start = next_weekday_at(10, weekday=1, weeks_ahead=2)
    closed = (start + dt.timedelta(weeks=2)).date()
    ClosedDay.objects.create(date=closed, reason="Staff training")
    book(make_user(Role.PRACTITIONER), start + dt.timedelta(weeks=4))  # Room 1 taken at session 3
    proposal = booking.series_preview(
        practitioner=practitioner,
        room=Room.objects.get(name="Room 1"),
        first_start=start,
        count=4,
        interval=2,
        unit="weeks",
        duration=dt.timedelta(minutes=45),
    )
    assert [p.moved for p in proposal] == [False, True, True, False]
    assert proposal[1].reason == "closed day (Staff training)"
    assert proposal[1].start.astimezone(PARIS).date() != closed
    assert proposal[2].reason == "room already booked"


@pytest.mark.django_db
def test_moving_a_session_can_shift_the_rest_of_the_series(practitioner):
    plan = book(practitioner, next_weekday_at(10), count=4)
    second = plan.sessions.get(sequence=2)
    new_start = second.starts_at + dt.timedelta(days=2)
    moves, left = booking.move_preview(session=second, new_start=new_start, shift_later=True)
    assert [m.session.sequence for m in moves] == [2, 3, 4]
    assert left == []
    booking.session_move(moves=moves)
    starts = list(plan.sessions.order_by("sequence").values_list("starts_at", flat=True))
    assert [b - a for a, b in zip(starts, starts[1:], strict=False)] == [
        dt.timedelta(days=16),
        dt.timedelta(days=14),
        dt.timedelta(days=14),
    ]


@pytest.mark.django_db
def test_moving_one_session_leaves_the_others(practitioner):
    plan = book(practitioner, next_weekday_at(10), count=3)
    second = plan.sessions.get(sequence=2)
    moves, left = booking.move_preview(
        session=second, new_start=second.starts_at + dt.timedelta(hours=4), shift_later=False
    )
    assert [s.sequence for s in left] == [3]
    booking.session_move(moves=moves)
    assert plan.sessions.get(sequence=3).starts_at == next_weekday_at(10) + dt.timedelta(weeks=4)


@pytest.mark.django_db
def test_a_shift_by_a_whole_interval_does_not_collide_with_its_own_series(practitioner):
    plan = book(practitioner, next_weekday_at(10), count=3)
    first = plan.sessions.get(sequence=1)
    moves, _ = booking.move_preview(session=first, new_start=first.starts_at + dt.timedelta(weeks=2), shift_later=True)
    booking.session_move(moves=moves)
    assert plan.sessions.get(sequence=1).starts_at == next_weekday_at(10) + dt.timedelta(weeks=2)
    assert plan.sessions.get(sequence=3).starts_at == next_weekday_at(10) + dt.timedelta(weeks=6)


@pytest.mark.django_db
def test_a_no_show_leaves_the_series_short_and_offers_a_session_at_the_end(practitioner):
    plan = book(practitioner, next_weekday_at(10), count=3)
    booking.session_set_status(session_id=plan.sessions.get(sequence=2).pk, action="no_show")
    assert booking.series_shortfall(plan) == 1
    proposal = booking.rebook_at_end_preview(plan)
    last = plan.sessions.get(sequence=3)
    assert proposal.start >= last.starts_at + dt.timedelta(days=13)
    booking.session_rebook_at_end(plan=plan, start=proposal.start, end=proposal.end, room=last.room)
    assert booking.series_shortfall(plan) == 0
    assert plan.sessions.get(sequence=4).starts_at == proposal.start
    assert booking.rebook_at_end_preview(plan) is None


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("status", "action"), [("completed", "cancel"), ("cancelled", "confirm"), ("no_show", "arrive")]
)
def test_a_status_change_the_current_status_forbids_is_refused(status, action):
    session = make_session(status=status, completed_at=timezone.now() if status == "completed" else None)
    with pytest.raises(InvalidTransition):
        booking.session_set_status(session_id=session.pk, action=action)
    session.refresh_from_db()
    assert session.status == status


@pytest.mark.django_db
def test_completing_the_last_session_puts_the_plan_into_maintenance(practitioner):
    plan = make_cleared(make_plan(practitioner=practitioner, sessions_planned=2, maintenance_interval_days=90))
    one = make_session(plan=plan, starts_at=next_weekday_at(10, weeks_ahead=-3))
    two = make_session(plan=plan, starts_at=next_weekday_at(10, weeks_ahead=-1))
    sign_record(one)
    plan.refresh_from_db()
    assert plan.status == PlanStatus.ACTIVE
    sign_record(two)
    plan.refresh_from_db()
    assert plan.status == PlanStatus.MAINTENANCE
    assert booking.maintenance_due_on(plan, two.starts_at) == timezone.localtime(two.starts_at).date() + dt.timedelta(
        days=90
    )
    with pytest.raises(InvalidTransition):
        sign_record(two)


@pytest.mark.django_db
def test_model_validation_names_the_double_booking_so_the_admin_shows_it(practitioner):
    from django.core.exceptions import ValidationError

    first = make_session(practitioner=practitioner, starts_at=next_weekday_at(10))
    clash = TreatmentSession(
        plan=first.plan,
        sequence=2,
        starts_at=first.starts_at + dt.timedelta(minutes=30),
        ends_at=first.ends_at + dt.timedelta(minutes=30),
        practitioner=practitioner,
        room=Room.objects.get(name="Room 2"),
    )
    with pytest.raises(ValidationError) as error:
        clash.full_clean()
    assert "practitioner is already booked" in str(error.value.message_dict["starts_at"])
    clash.status = SessionStatus.CANCELLED
    clash.full_clean()  # a cancelled session blocks nothing
