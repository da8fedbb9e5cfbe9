"""Booking a series, moving sessions, and the rule against double booking."""

import contextlib
import datetime as dt
import threading

import pytest
from django.core.exceptions import ValidationError
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
from sessions_app.scheduling import Reason
from sessions_app.services import maintenance, series, slots
from sessions_app.services.clients import client_archive, client_merge
from sessions_app.services.moves import NoFreeSlot, move_preview, session_move
from sessions_app.services.series import Slot
from sessions_app.services.session_status import InvalidTransition
from sessions_app.services.slots import SlotTaken

from .factories import (
    PARIS,
    change_status,
    make_cleared,
    make_client,
    make_plan,
    make_session,
    make_user,
    next_weekday_at,
    sign_record,
)


def book(practitioner, start, count=1, room=None, client=None):
    slots = [
        Slot(start + dt.timedelta(weeks=2 * i), start + dt.timedelta(weeks=2 * i, minutes=45)) for i in range(count)
    ]
    return series.plan_book(
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
def test_a_series_is_never_booked_on_an_archived_or_merged_record(practitioner, manager):
    """The booking form offers active clients only; the service holds the rule
    for a record archived or merged between the form and the save."""
    archived, kept, merged = make_client(), make_client(), make_client()
    client_archive(client=archived, by=manager)
    client_merge(keep_id=kept.pk, merge_id=merged.pk, by=manager, keep_version=1, merge_version=1)
    for client, message in [(archived, "archived"), (merged, "merged into another")]:
        with pytest.raises(ValidationError, match=message):
            book(practitioner, next_weekday_at(10), count=3, client=client)
    assert not TreatmentPlan.objects.filter(client__in=[archived, merged]).exists()
    assert not TreatmentSession.objects.filter(plan__client__in=[archived, merged]).exists()


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_booking_racing_a_merge_never_lands_on_the_archived_record(reference_data):
    manager, practitioner = make_user("Manager"), make_user("Practitioner")
    keep, other = make_client(), make_client()
    barrier, outcomes = threading.Barrier(2), {}

    def merge():
        barrier.wait()
        try:
            client_merge(keep_id=keep.pk, merge_id=other.pk, by=manager, keep_version=1, merge_version=1)
            outcomes["merge"] = "done"
        finally:
            connection.close()

    def booking():
        barrier.wait()
        try:
            book(practitioner, next_weekday_at(10), count=3, client=other)
            outcomes["booking"] = "booked"
        except ValidationError:
            outcomes["booking"] = "refused"
        finally:
            connection.close()

    threads = [threading.Thread(target=merge), threading.Thread(target=booking)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes["merge"] == "done"
    # Booked first, the plan moved to the kept record with the merge; merged first, refused.
    assert not TreatmentPlan.objects.filter(client=other).exists()
    expected = 1 if outcomes["booking"] == "booked" else 0
    assert TreatmentPlan.objects.filter(client=keep).count() == expected


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
    change_status(plan.sessions.get(), "cancel")
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


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_bookings_that_deadlock_on_the_constraints_lose_their_slot_cleanly(reference_data):
    """Each booking waits on the other's row, one at the practitioner's constraint
    and the other at the room's: PostgreSQL aborts one (deadlock detected). The
    one aborted is told its slot was taken, never a 500; the other books."""
    start = next_weekday_at(11)
    p1, p2, p3 = (make_user(Role.PRACTITIONER) for _ in range(3))
    r1, r2, r3 = (Room.objects.get_or_create(name=name)[0] for name in ("Room 1", "Room 2", "Deadlock room"))
    plans = [make_plan(practitioner=p) for p in (p1, p2)]
    first_written = [threading.Event(), threading.Event()]
    outcomes = {}

    def session(plan, practitioner, room, sequence):
        end = start + dt.timedelta(minutes=45)
        return TreatmentSession(
            plan=plan, sequence=sequence, starts_at=start, ends_at=end, practitioner=practitioner, room=room
        )

    def booking(i, first, second):
        try:
            with transaction.atomic():
                slots.save_sessions([first])
                first_written[i].set()
                first_written[1 - i].wait(timeout=10)
                slots.save_sessions([second])
            outcomes[i] = "booked"
        except SlotTaken:
            outcomes[i] = "taken"
        finally:
            connection.close()

    # One writes p1 in room 1, then wants room 2; the other writes p2 in room 2,
    # then wants p1 (in room 3): each waits for the other's first row.
    threads = [
        threading.Thread(target=booking, args=(0, session(plans[0], p1, r1, 1), session(plans[0], p3, r2, 2))),
        threading.Thread(target=booking, args=(1, session(plans[1], p2, r2, 1), session(plans[1], p1, r3, 2))),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(outcomes.values()) == ["booked", "taken"]
    assert TreatmentSession.objects.filter(starts_at=start).count() == 2


@pytest.mark.django_db(transaction=True)
def test_several_threads_booking_one_slot_get_exactly_one_booking(reference_data):
    """The race the exclusion constraint (PostgreSQL) and the serialised write
    transaction (SQLite) exist for: every thread passes its own "is it free?"
    check before any has written."""
    practitioner = make_user(Role.PRACTITIONER)
    clients = [make_client() for _ in range(6)]
    start = next_weekday_at(15)
    barrier = threading.Barrier(len(clients))
    outcomes = []
    real_first_conflict = slots.first_conflict

    def slow_first_conflict(sessions, exclude=()):
        # Everyone checks, then everyone writes: the worst interleaving.
        result = real_first_conflict(sessions, exclude)
        # On SQLite the others wait at BEGIN (serialised writers), so the barrier breaks.
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait(timeout=2)
        return result

    def attempt(client):
        try:
            book(practitioner, start, client=client)
            outcomes.append("booked")
        except SlotTaken:
            outcomes.append("taken")
        finally:
            close_old_connections()
            connection.close()

    slots.first_conflict = slow_first_conflict
    try:
        threads = [threading.Thread(target=attempt, args=(c,)) for c in clients]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
    finally:
        slots.first_conflict = real_first_conflict
    assert sorted(outcomes) == ["booked"] + ["taken"] * 5
    assert TreatmentSession.objects.filter(practitioner=practitioner).count() == 1


@pytest.mark.django_db
def test_preview_moves_a_session_off_a_closed_day_and_off_a_booking(practitioner):
    start = next_weekday_at(10, weekday=1, weeks_ahead=2)
    closed = (start + dt.timedelta(weeks=2)).date()
    ClosedDay.objects.create(date=closed, reason="Staff training")
    book(make_user(Role.PRACTITIONER), start + dt.timedelta(weeks=4))  # Room 1 taken at session 3
    proposal = series.series_preview(
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
    moves, left = move_preview(session=second, new_start=new_start, shift_later=True)
    assert [m.session.sequence for m in moves] == [2, 3, 4]
    assert left == []
    session_move(moves=moves)
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
    moves, left = move_preview(session=second, new_start=second.starts_at + dt.timedelta(hours=4), shift_later=False)
    assert [s.sequence for s in left] == [3]
    session_move(moves=moves)
    assert plan.sessions.get(sequence=3).starts_at == next_weekday_at(10) + dt.timedelta(weeks=4)


@pytest.mark.django_db
def test_a_shift_by_a_whole_interval_does_not_collide_with_its_own_series(practitioner):
    plan = book(practitioner, next_weekday_at(10), count=3)
    first = plan.sessions.get(sequence=1)
    moves, _ = move_preview(session=first, new_start=first.starts_at + dt.timedelta(weeks=2), shift_later=True)
    session_move(moves=moves)
    assert plan.sessions.get(sequence=1).starts_at == next_weekday_at(10) + dt.timedelta(weeks=2)
    assert plan.sessions.get(sequence=3).starts_at == next_weekday_at(10) + dt.timedelta(weeks=6)


@pytest.mark.django_db
def test_a_no_show_leaves_the_series_short_and_offers_a_session_at_the_end(practitioner):
    plan = book(practitioner, next_weekday_at(10), count=3)
    change_status(plan.sessions.get(sequence=2), "no_show")
    assert series.series_shortfall(plan) == 1
    offer = maintenance.rebook_at_end_preview(plan)
    proposal = offer.proposal
    last = plan.sessions.get(sequence=3)
    assert proposal.start >= last.starts_at + dt.timedelta(days=13)
    maintenance.session_rebook_at_end(
        plan=plan, start=proposal.start, end=proposal.end, practitioner=offer.practitioner, room=offer.room
    )
    assert series.series_shortfall(plan) == 0
    assert plan.sessions.get(sequence=4).starts_at == proposal.start
    assert maintenance.rebook_at_end_preview(plan) is None


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("status", "action"), [("completed", "cancel"), ("cancelled", "confirm"), ("no_show", "arrive")]
)
def test_a_status_change_the_current_status_forbids_is_refused(status, action):
    session = make_session(status=status, completed_at=timezone.now() if status == "completed" else None)
    with pytest.raises(InvalidTransition):
        change_status(session, action)
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
    assert plan.maintenance_due_on(two.starts_at) == timezone.localtime(two.starts_at).date() + dt.timedelta(days=90)
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


def next_spring_change() -> dt.date:
    """The next Sunday on which Paris moves its clocks forward (the last of March)."""
    year = timezone.localdate().year
    while True:
        last = dt.date(year, 3, 31)
        sunday = last - dt.timedelta(days=(last.weekday() + 1) % 7)
        if sunday > timezone.localdate() + dt.timedelta(days=7):
            return sunday
        year += 1


def series_of(practitioner, starts, interval_days=14, **plan_fields):
    """A plan with one booked session at each of `starts`, numbered in order."""
    plan = make_plan(
        practitioner=practitioner, sessions_planned=len(starts), interval_days=interval_days, **plan_fields
    )
    return plan, [make_session(plan=plan, starts_at=start, sequence=i) for i, start in enumerate(starts, start=1)]


@pytest.mark.django_db
def test_shifting_later_sessions_across_a_daylight_saving_change_keeps_their_time_of_day(practitioner):
    tuesday = next_spring_change() - dt.timedelta(days=5)  # the Tuesday before the clocks go forward
    starts = [dt.datetime.combine(tuesday + dt.timedelta(weeks=i), dt.time(10), tzinfo=PARIS) for i in range(3)]
    plan, sessions = series_of(practitioner, starts, interval_days=7)
    first = TreatmentSession.objects.get(pk=sessions[0].pk)  # as the page loads it: in UTC
    # Session 1 to the Wednesday a week later (after the change): every session a day later than its week.
    new_start = dt.datetime.combine(tuesday + dt.timedelta(days=8), dt.time(10), tzinfo=PARIS)
    moves, _ = move_preview(session=first, new_start=new_start, shift_later=True)
    assert [timezone.localtime(m.start).time() for m in moves] == [dt.time(10)] * 3
    assert [timezone.localtime(m.start).date() for m in moves] == [
        tuesday + dt.timedelta(days=8),
        tuesday + dt.timedelta(days=15),
        tuesday + dt.timedelta(days=22),
    ]
    assert all(m.reason is None for m in moves)


@pytest.mark.django_db
def test_a_session_moved_before_the_previous_one_is_kept_after_it_with_the_reason(practitioner):
    start = next_weekday_at(10, weeks_ahead=2)
    plan, (one, two, three) = series_of(practitioner, [start + dt.timedelta(weeks=2 * i) for i in range(3)])
    # Session 3 to the day before session 2, the others left where they are.
    [move], left = move_preview(session=three, new_start=two.starts_at - dt.timedelta(days=1), shift_later=False)
    assert left == []
    assert move.reason == Reason.TOO_SOON
    assert move.start >= two.starts_at + dt.timedelta(days=13)
    session_move(moves=[move])
    assert list(plan.sessions.order_by("starts_at").values_list("sequence", flat=True)) == [1, 2, 3]


@pytest.mark.django_db
def test_a_session_moved_onto_the_next_ones_day_stays_the_minimum_interval_before_it(practitioner):
    start = next_weekday_at(10, weeks_ahead=2)
    plan, (one, two, three) = series_of(practitioner, [start + dt.timedelta(weeks=2 * i) for i in range(3)])
    [move], left = move_preview(session=one, new_start=two.starts_at + dt.timedelta(hours=4), shift_later=False)
    assert [s.pk for s in left] == [two.pk, three.pk]
    assert move.reason == Reason.TOO_LATE
    assert move.start <= two.starts_at - dt.timedelta(days=13)
    assert timezone.localtime(move.start).date() != timezone.localtime(two.starts_at).date()


@pytest.mark.django_db
def test_a_move_with_no_room_between_its_neighbours_is_refused_with_the_reason(practitioner):
    start = next_weekday_at(10, weeks_ahead=2)
    # Sessions 1 and 3 only three weeks apart: session 2 cannot keep 13 days from both.
    plan, (one, two, three) = series_of(
        practitioner, [start, start + dt.timedelta(weeks=2), start + dt.timedelta(weeks=3)]
    )
    with pytest.raises(NoFreeSlot) as refused:
        move_preview(session=two, new_start=two.starts_at + dt.timedelta(days=2), shift_later=False)
    assert "keeps the minimum interval" in str(refused.value)


@pytest.mark.django_db
def test_a_shifted_series_keeps_each_session_after_the_one_before(practitioner):
    start = next_weekday_at(10, weeks_ahead=2)
    plan, sessions = series_of(practitioner, [start + dt.timedelta(weeks=2 * i) for i in range(4)])
    # Session 3's shifted day is closed: it moves off it, and session 4 keeps 13 days after it.
    ClosedDay.objects.create(date=timezone.localtime(sessions[2].starts_at).date() + dt.timedelta(days=1), reason="x")
    moves, _ = move_preview(
        session=sessions[1], new_start=sessions[1].starts_at + dt.timedelta(days=1), shift_later=True
    )
    assert [m.session.pk for m in moves] == [s.pk for s in sessions[1:]]
    assert moves[1].moved and "closed day" in moves[1].reason
    starts = [sessions[0].starts_at] + [m.start for m in moves]
    assert all(b - a >= dt.timedelta(days=13) for a, b in zip(starts, starts[1:], strict=False))


@pytest.mark.django_db
def test_rebooking_at_the_end_keeps_the_minimum_interval_after_the_last_kept_session(practitioner):
    start = next_weekday_at(10, weeks_ahead=2)
    plan, (one, two) = series_of(practitioner, [start, start + dt.timedelta(weeks=2)])
    change_status(one, "no_show")
    last_day = timezone.localtime(two.starts_at).date()
    for k in range(8, 22):  # the wanted day and the week before it are closed
        ClosedDay.objects.create(date=last_day + dt.timedelta(days=k), reason="Holiday")
    offer = maintenance.rebook_at_end_preview(plan)
    assert offer.proposal.start - two.starts_at >= dt.timedelta(days=13)
    assert offer.proposal.reason == "closed day (Holiday)"
    assert offer.title == "session 2 of 2"  # what users see, not its number (3)


@pytest.mark.django_db
def test_rebooking_books_the_practitioner_and_room_the_preview_showed(practitioner):
    other, room_3 = make_user(Role.PRACTITIONER), Room.objects.get(name="Room 3")
    start = next_weekday_at(10, weeks_ahead=2)
    plan, (one, two) = series_of(practitioner, [start, start + dt.timedelta(weeks=2)])
    # Session 2 was handed to another practitioner in another room; session 1 was missed.
    TreatmentSession.objects.filter(pk=two.pk).update(practitioner=other, room=room_3)
    change_status(one, "cancel")
    offer = maintenance.rebook_at_end_preview(plan)
    assert (offer.practitioner, offer.room) == (other, room_3)
    session = maintenance.session_rebook_at_end(
        plan=plan,
        start=offer.proposal.start,
        end=offer.proposal.end,
        practitioner=offer.practitioner,
        room=offer.room,
    )
    assert (session.practitioner, session.room) == (other, room_3)
    assert session.history.count() == 1


def plan_in_maintenance(practitioner, days_ago=80, interval=90):
    plan = make_cleared(make_plan(practitioner=practitioner, sessions_planned=1, maintenance_interval_days=interval))
    last = make_session(plan=plan, starts_at=next_weekday_at(11, weeks_ahead=0) - dt.timedelta(days=days_ago))
    sign_record(last)
    plan.refresh_from_db()
    return plan, last


@pytest.mark.django_db
def test_the_next_maintenance_session_is_proposed_on_its_due_date_and_booked_once(practitioner):
    plan, last = plan_in_maintenance(practitioner)
    due = timezone.localtime(last.starts_at).date() + dt.timedelta(days=90)
    # The last session was on a Saturday at 11:00, so the due day is a Friday,
    # open at 11:00 with nothing booked; a public holiday on it would move the
    # offer (the next test), so none is.
    ClosedDay.objects.filter(date=due).delete()
    offer = maintenance.maintenance_preview(plan)
    assert offer.due == due and offer.title == "maintenance"
    assert offer.proposal.start == dt.datetime.combine(due, dt.time(11), tzinfo=PARIS)
    assert offer.proposal.reason is None
    session = maintenance.session_book_maintenance(
        plan=plan, start=offer.proposal.start, end=offer.proposal.end, practitioner=offer.practitioner, room=offer.room
    )
    assert session.is_maintenance and session.status == SessionStatus.BOOKED
    assert session.ends_at - session.starts_at == last.ends_at - last.starts_at
    assert maintenance.maintenance_due(plan, list(plan.sessions.all())) is None
    assert maintenance.maintenance_preview(plan) is None
    with pytest.raises(InvalidTransition):
        maintenance.session_book_maintenance(
            plan=plan,
            start=offer.proposal.start + dt.timedelta(days=1),
            end=offer.proposal.end + dt.timedelta(days=1),
            practitioner=offer.practitioner,
            room=offer.room,
        )


@pytest.mark.django_db
def test_maintenance_due_on_a_closed_day_is_moved_with_the_reason(practitioner):
    plan, last = plan_in_maintenance(practitioner)
    due = timezone.localtime(last.starts_at).date() + dt.timedelta(days=90)
    ClosedDay.objects.create(date=due, reason="Public holiday")
    offer = maintenance.maintenance_preview(plan)
    assert offer.proposal.reason == "closed day (Public holiday)"
    assert timezone.localtime(offer.proposal.start).date() != due


@pytest.mark.django_db
def test_overdue_maintenance_is_proposed_from_today(practitioner):
    plan, last = plan_in_maintenance(practitioner, days_ago=200)
    offer = maintenance.maintenance_preview(plan)
    assert offer.due < timezone.localdate()
    assert offer.proposal.start > timezone.now()


@pytest.mark.django_db
def test_the_plan_refuses_intervals_beyond_its_bounds_and_saves_nothing(practitioner):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as refused:
        series.plan_book(
            client=make_client(),
            indication=Indication.objects.get(name="Skin rejuvenation"),
            areas=[TreatmentArea.objects.get(name="Face")],
            mixture=Mixture.objects.get(name="Facial rejuvenation"),
            practitioner=practitioner,
            room=Room.objects.get(name="Room 1"),
            interval_days=1_000_000,
            maintenance_interval_days=40_000,
            slots=[Slot(next_weekday_at(10), next_weekday_at(10, minute=45))],
        )
    assert set(refused.value.message_dict) == {"interval_days", "maintenance_interval_days"}
    assert TreatmentPlan.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.postgres_only
def test_a_move_that_loses_the_race_in_the_database_names_the_session_that_lost(practitioner, monkeypatch):
    start = next_weekday_at(10, weeks_ahead=2)
    plan, sessions = series_of(practitioner, [start + dt.timedelta(weeks=2 * i) for i in range(3)])
    moves, _ = move_preview(session=sessions[0], new_start=start + dt.timedelta(days=1), shift_later=True)
    # Someone books session 3's new slot after the application's own check, before the write.
    real_first_conflict = slots.first_conflict
    checks = []

    def check_then_lose_the_race(sessions, exclude=()):
        checks.append(1)
        if len(checks) == 1:
            make_session(practitioner=practitioner, starts_at=moves[2].start, room=Room.objects.get(name="Room 3"))
            return None
        return real_first_conflict(sessions, exclude)

    monkeypatch.setattr(slots, "first_conflict", check_then_lose_the_race)
    with pytest.raises(SlotTaken) as taken:
        session_move(moves=moves)
    assert taken.value.start == moves[2].start
    assert taken.value.sequence == 3
    assert list(plan.sessions.order_by("sequence").values_list("starts_at", flat=True)) == [
        s.starts_at for s in sessions
    ]


@pytest.mark.django_db
def test_booking_and_moving_keep_history_rows_for_every_session(practitioner):
    plan = book(practitioner, next_weekday_at(10, weeks_ahead=2), count=4)
    first = plan.sessions.get(sequence=1)
    moves, _ = move_preview(session=first, new_start=first.starts_at + dt.timedelta(days=1), shift_later=True)
    session_move(moves=moves)
    for session in plan.sessions.all():
        assert list(session.history.order_by("history_date").values_list("history_type", flat=True)) == ["+", "~"]
        assert session.history.latest().starts_at == session.starts_at
