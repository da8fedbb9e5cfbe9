"""The series date function, without a database."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from sessions_app.scheduling import (
    Calendar,
    ClashFirst,
    IntervalUnit,
    Reason,
    add_interval,
    calendar_days_between,
    free_periods,
    local_datetime,
    maintenance_due_on,
    minimum_interval,
    nearest_free_slot,
    propose_series,
    same_time_from,
    shift_days,
    slot_problem,
)

PARIS = ZoneInfo("Europe/Paris")
UTC = dt.UTC
# Monday to Friday 09-13 and 14-19, Saturday 09-13, as the reference data.
HOURS = {d: [(dt.time(9), dt.time(13)), (dt.time(14), dt.time(19))] for d in range(5)} | {
    5: [(dt.time(9), dt.time(13))]
}
MINUTES_45 = dt.timedelta(minutes=45)
NOW = dt.datetime(2026, 1, 1, 8, tzinfo=PARIS)


def at(y, m, d, hh=10, mm=0):
    return dt.datetime(y, m, d, hh, mm, tzinfo=PARIS)


def series(
    first, count=6, interval=2, unit=IntervalUnit.WEEKS, previous=None, clash=ClashFirst.DAY, pinned=None, **cal_fields
):
    cal = Calendar(tz=PARIS, hours=HOURS, **cal_fields)
    return propose_series(
        first_start=first,
        count=count,
        interval=interval,
        unit=unit,
        duration=MINUTES_45,
        cal=cal,
        now=NOW,
        previous=previous,
        first=clash,
        pinned=pinned,
        options=3,
    )


def test_six_sessions_every_two_weeks_keep_day_and_time():
    plan = series(at(2026, 2, 2))  # a Monday
    assert [p.start for p in plan] == [at(2026, 2, 2) + dt.timedelta(weeks=2 * i) for i in range(6)]
    assert [p.sequence for p in plan] == [1, 2, 3, 4, 5, 6]
    assert not any(p.moved for p in plan)
    assert all(p.end - p.start == MINUTES_45 for p in plan)


def test_wall_clock_time_is_kept_across_the_spring_daylight_saving_change():
    # Paris moves from +01:00 to +02:00 on 29 March 2026.
    plan = series(at(2026, 3, 17), count=2)
    second = plan[1].start
    assert second.astimezone(PARIS).time() == dt.time(10)
    assert second.astimezone(PARIS).date() == dt.date(2026, 3, 31)
    # In absolute time the gap is an hour short of two weeks.
    assert second - plan[0].start == dt.timedelta(weeks=2, hours=-1)


def test_wall_clock_time_is_kept_across_the_autumn_change():
    # And back to +01:00 on 25 October 2026.
    plan = series(at(2026, 10, 20, 18, 0), count=2)
    assert plan[1].start.astimezone(PARIS).replace(tzinfo=None) == dt.datetime(2026, 11, 3, 18, 0)
    assert plan[1].start - plan[0].start == dt.timedelta(weeks=2, hours=1)


def test_a_time_the_clock_skips_does_not_exist():
    assert local_datetime(dt.date(2026, 3, 29), dt.time(2, 30), PARIS) is None
    assert local_datetime(dt.date(2026, 3, 29), dt.time(3, 30), PARIS) is not None


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (dt.date(2026, 1, 31), 1, dt.date(2026, 2, 28)),
        (dt.date(2028, 1, 31), 1, dt.date(2028, 2, 29)),  # leap year
        (dt.date(2026, 12, 31), 2, dt.date(2027, 2, 28)),  # across the year end
        (dt.date(2026, 3, 31), 1, dt.date(2026, 4, 30)),
        (dt.date(2026, 5, 15), 3, dt.date(2026, 8, 15)),
    ],
)
def test_months_clamp_to_the_end_of_a_shorter_month(day, months, expected):
    assert add_interval(day, months, IntervalUnit.MONTHS) == expected


def test_monthly_series_from_the_31st_returns_to_the_31st_after_a_short_month():
    plan = series(at(2026, 7, 31), count=3, interval=1, unit=IntervalUnit.MONTHS)
    # 31 July (Fri), 31 August (Mon), 30 September (Wed): each from the first date, not the previous.
    assert [p.start.date() for p in plan] == [dt.date(2026, 7, 31), dt.date(2026, 8, 31), dt.date(2026, 9, 30)]


def test_weekly_interval_crosses_month_end_by_days():
    assert add_interval(dt.date(2026, 1, 25), 2, IntervalUnit.WEEKS) == dt.date(2026, 2, 8)
    assert add_interval(dt.date(2026, 2, 25), 5, IntervalUnit.DAYS) == dt.date(2026, 3, 2)


def test_a_closed_day_moves_the_session_to_the_nearest_open_day_with_the_reason():
    # Friday 25 December is closed; the nearest open slot at 10:00 is Saturday the 26th.
    plan = series(at(2026, 12, 11), count=3, closed={dt.date(2026, 12, 25): "Christmas"})
    moved = plan[1]
    assert moved.moved
    assert moved.start == at(2026, 12, 26)
    assert moved.reason == "closed day (Christmas)"
    # The next session keeps its own date: the series' rhythm is not shifted.
    assert plan[2].start == at(2027, 1, 8)
    assert not plan[2].moved


def test_a_booked_practitioner_moves_the_session_to_the_same_time_on_the_nearest_day():
    busy = [(at(2026, 2, 16, 10), at(2026, 2, 16, 11))]
    plan = series(at(2026, 2, 2), count=2, practitioner_busy=busy)
    # Monday the 16th is taken at 10:00; Tuesday and Sunday are as near, and the later wins.
    assert plan[1].start == at(2026, 2, 17, 10)
    assert plan[1].reason == Reason.PRACTITIONER_BUSY


def test_with_time_first_a_booked_practitioner_moves_the_session_to_the_nearest_time_that_day():
    busy = [(at(2026, 2, 16, 10), at(2026, 2, 16, 11))]
    plan = series(at(2026, 2, 2), count=2, practitioner_busy=busy, clash=ClashFirst.TIME)
    # 09:15-10:00 ends when the busy hour starts: nearer than 11:00.
    assert plan[1].start == at(2026, 2, 16, 9, 15)
    assert plan[1].reason == Reason.PRACTITIONER_BUSY


def test_a_booked_room_moves_the_session_too():
    busy = [(at(2026, 2, 16, 9), at(2026, 2, 16, 10, 30))]
    plan = series(at(2026, 2, 2), count=2, room_busy=busy, clash=ClashFirst.TIME)
    assert plan[1].start == at(2026, 2, 16, 10, 30)
    assert plan[1].reason == Reason.ROOM_BUSY


def test_when_the_same_time_is_taken_on_the_nearest_days_the_nearest_time_that_day_comes_next():
    # 10:00 is taken from Friday the 13th to Thursday the 19th: beyond the days searched for the same time.
    busy = [(at(2026, 2, d, 10), at(2026, 2, d, 11)) for d in range(13, 20)]
    plan = series(at(2026, 2, 2), count=2, practitioner_busy=busy)
    assert plan[1].start == at(2026, 2, 16, 9, 15)


def test_a_clashing_session_offers_the_nearest_free_slots_in_the_order_of_the_setting():
    busy = [(at(2026, 2, 16, 10), at(2026, 2, 16, 11))]
    day_first = series(at(2026, 2, 2), count=2, practitioner_busy=busy)[1]
    # Proposed: Tuesday the 17th (Sunday the 15th is closed); then the same time two and three
    # days later (the days before are too soon after session 1), then the nearest time that Monday.
    assert day_first.start == at(2026, 2, 17)
    assert day_first.options == (at(2026, 2, 18), at(2026, 2, 19), at(2026, 2, 16, 9, 15))
    time_first = series(at(2026, 2, 2), count=2, practitioner_busy=busy, clash=ClashFirst.TIME)[1]
    assert time_first.options == (at(2026, 2, 16, 11), at(2026, 2, 16, 9), at(2026, 2, 16, 11, 15))


def test_a_slot_reception_chose_is_kept_and_the_later_sessions_follow_it():
    plan = series(at(2026, 2, 2), count=3, pinned={2: at(2026, 2, 17, 9)})
    assert plan[1].chosen and plan[1].start == at(2026, 2, 17, 9) and plan[1].bookable
    # Session 3 keeps its own date: 13 days after the chosen Tuesday 09:00 is Monday 2 March 09:00.
    assert plan[2].start == at(2026, 3, 2)
    assert not plan[2].moved
    # Chosen later in the day, session 3 would come too soon: it moves after it.
    later = series(at(2026, 2, 2), count=3, pinned={2: at(2026, 2, 17, 15)})
    assert later[2].start >= at(2026, 3, 2, 15)
    assert later[2].reason == Reason.TOO_SOON


def test_a_chosen_slot_that_cannot_be_booked_says_why_and_is_not_bookable():
    busy = [(at(2026, 2, 16, 15), at(2026, 2, 16, 16))]
    taken, closed, too_soon = series(
        at(2026, 2, 2),
        count=3,
        practitioner_busy=busy,
        closed={dt.date(2026, 3, 2): "Inventory"},
        pinned={1: at(2026, 2, 16, 15), 2: at(2026, 3, 2), 3: at(2026, 3, 3)},
    )
    assert (taken.refused, taken.bookable) == (Reason.PRACTITIONER_BUSY, False)
    assert closed.refused == "closed day (Inventory)"
    assert too_soon.refused == Reason.TOO_SOON


def test_back_to_back_bookings_do_not_clash():
    busy = [(at(2026, 2, 16, 9), at(2026, 2, 16, 10))]
    plan = series(at(2026, 2, 2), count=2, practitioner_busy=busy)
    assert not plan[1].moved


def test_a_session_running_past_closing_time_is_moved_inside_opening_hours():
    plan = series(at(2026, 2, 2, 12, 30), count=1)
    assert plan[0].start == at(2026, 2, 2, 12, 15)
    assert plan[0].reason == Reason.OUTSIDE_HOURS


def test_sunday_has_no_opening_hours():
    plan = series(at(2026, 2, 8), count=1)  # a Sunday
    assert plan[0].start == at(2026, 2, 9)  # Monday 10:00 is as near as Saturday 10:00 and later wins
    assert plan[0].reason == Reason.OUTSIDE_HOURS


def test_a_moved_session_never_comes_sooner_than_the_minimum_interval():
    # Saturday 26 December is closed too, so session 2 goes to Monday 28th; with
    # a 13-day minimum, session 3 may not come before Saturday 9 January 10:00...
    closed = {dt.date(2026, 12, 25): "Christmas", dt.date(2026, 12, 26): "Boxing day", dt.date(2026, 12, 24): "Eve"}
    plan = series(at(2026, 12, 11), count=3, closed=closed)
    assert plan[1].start == at(2026, 12, 28)
    assert plan[2].start - plan[1].start >= dt.timedelta(days=13)
    assert plan[2].reason == Reason.TOO_SOON


def test_a_first_date_in_the_past_is_moved_to_the_future():
    cal = Calendar(tz=PARIS, hours=HOURS)
    plan = propose_series(
        first_start=at(2025, 12, 29),
        count=1,
        interval=1,
        unit=IntervalUnit.WEEKS,
        duration=MINUTES_45,
        cal=cal,
        now=NOW,
    )
    assert plan[0].start >= NOW
    assert plan[0].reason == Reason.IN_THE_PAST


def test_no_free_slot_is_reported_not_invented():
    cal = Calendar(tz=PARIS, hours={})  # never open
    plan = propose_series(
        first_start=at(2026, 2, 2), count=2, interval=1, unit="weeks", duration=MINUTES_45, cal=cal, now=NOW
    )
    assert all(p.start is None for p in plan)
    assert plan[0].reason.startswith("no free slot")


@pytest.mark.parametrize(("count", "interval"), [(0, 1), (1, 0)])
def test_a_series_needs_sessions_and_an_interval(count, interval):
    with pytest.raises(ValueError):
        series(at(2026, 2, 2), count=count, interval=interval)


def test_times_are_aware_and_convert_cleanly_to_utc():
    plan = series(at(2026, 6, 1), count=1)
    assert plan[0].start.astimezone(UTC) == dt.datetime(2026, 6, 1, 8, tzinfo=UTC)


def test_shifting_by_calendar_days_keeps_the_wall_clock_across_both_changes():
    # Spring (29 March 2026) and autumn (25 October 2026) in Paris.
    assert shift_days(at(2026, 3, 24), 8, PARIS) == at(2026, 4, 1)
    assert shift_days(at(2026, 3, 24), 8, PARIS) - at(2026, 3, 24) == dt.timedelta(days=8, hours=-1)
    assert shift_days(at(2026, 10, 20, 18), 14, PARIS) == at(2026, 11, 3, 18)
    assert shift_days(at(2026, 4, 1), -8, PARIS) == at(2026, 3, 24)


def test_shifting_onto_the_hour_the_clock_skips_takes_the_hour_after():
    assert shift_days(at(2026, 3, 28, 2, 30), 1, PARIS) == at(2026, 3, 29, 3, 30)


def test_calendar_days_are_counted_on_the_clinic_wall_clock_not_in_utc():
    # 00:30 in Paris is still the previous day in UTC.
    assert calendar_days_between(at(2026, 6, 1, 23, 30), at(2026, 6, 2, 0, 30), PARIS) == 1
    assert calendar_days_between(at(2026, 6, 2, 0, 30), at(2026, 6, 2, 23, 30), PARIS) == 0


def test_an_overdue_time_is_offered_at_the_same_time_from_today():
    now = at(2026, 5, 12, 11)
    assert same_time_from(at(2026, 6, 1), now, PARIS) == at(2026, 6, 1)  # still ahead: unchanged
    assert same_time_from(at(2026, 2, 3, 15), now, PARIS) == at(2026, 5, 12, 15)  # later today
    assert same_time_from(at(2026, 2, 3, 10), now, PARIS) == at(2026, 5, 13, 10)  # gone today: tomorrow


def test_the_minimum_interval_is_a_day_less_than_the_interval_and_at_least_a_day():
    assert minimum_interval(dt.timedelta(days=14)) == dt.timedelta(days=13)
    assert minimum_interval(dt.timedelta(days=1)) == dt.timedelta(days=1)


def test_a_session_longer_than_that_days_opening_hours_says_so():
    # Saturday is open 09:00-13:00 (240 minutes); weekdays have a 300-minute afternoon.
    cal = Calendar(tz=PARIS, hours=HOURS)
    saturday = at(2026, 2, 7, 9)
    assert cal.problem(saturday, saturday + dt.timedelta(minutes=280)) == (
        "longer than the opening hours that day (Saturday: at most 240 minutes)"
    )
    # A session that fits the day but not the time asked is simply outside the hours.
    assert cal.problem(at(2026, 2, 7, 12), at(2026, 2, 7, 13, 30)) == Reason.OUTSIDE_HOURS


def test_a_slot_is_looked_for_between_the_neighbours_only():
    cal = Calendar(tz=PARIS, hours=HOURS, closed={dt.date(2026, 2, 17): "Training"})
    wanted = at(2026, 2, 17)
    # The nearest open days are the 16th and the 18th; the later wins a tie unless it is too late.
    assert nearest_free_slot(wanted, MINUTES_45, cal, NOW) == at(2026, 2, 18)
    assert nearest_free_slot(wanted, MINUTES_45, cal, NOW, not_after=at(2026, 2, 17, 23)) == at(2026, 2, 16)
    assert nearest_free_slot(wanted, MINUTES_45, cal, at(2026, 2, 18, 12), not_after=at(2026, 2, 18, 11)) is None


def test_a_slot_after_the_next_session_s_limit_is_too_late():
    cal = Calendar(tz=PARIS, hours=HOURS)
    problem = slot_problem(at(2026, 2, 17), MINUTES_45, cal, now=NOW, not_before=NOW, not_after=at(2026, 2, 16))
    assert problem == Reason.TOO_LATE


def test_a_series_continued_at_its_end_keeps_the_minimum_interval_after_the_previous_session():
    # The session after 1 December is wanted on the 15th, but the 9th to the 22nd are closed:
    # the nearest open day, the 8th, would be a week after the previous session.
    closed = {dt.date(2026, 12, 9) + dt.timedelta(days=k): "Holiday" for k in range(14)}
    [session] = series(
        at(2026, 12, 15), count=1, interval=14, unit=IntervalUnit.DAYS, previous=at(2026, 12, 1), closed=closed
    )
    assert session.start == at(2026, 12, 23)
    assert session.reason == "closed day (Holiday)"


def test_maintenance_is_due_its_interval_after_the_last_session_on_the_clinic_calendar():
    # 00:30 in Paris on 1 November is still 31 October in UTC; the clinic's day counts.
    last = dt.datetime(2026, 11, 1, 0, 30, tzinfo=PARIS)
    assert maintenance_due_on(last, 90, PARIS) == dt.date(2027, 1, 30)
    assert maintenance_due_on(last.astimezone(UTC), 90, PARIS) == dt.date(2027, 1, 30)
    assert maintenance_due_on(last, None, PARIS) is None


def test_free_time_is_the_opening_hours_less_the_bookings():
    day = dt.date(2026, 2, 16)  # a Monday: 09-13 and 14-19
    cal = Calendar(tz=PARIS, hours=HOURS)
    busy = [(at(2026, 2, 16, 9), at(2026, 2, 16, 9, 45)), (at(2026, 2, 16, 12, 50), at(2026, 2, 16, 14, 30))]
    assert free_periods(cal.open_periods(day), busy) == [
        (at(2026, 2, 16, 9, 45), at(2026, 2, 16, 12, 50)),
        (at(2026, 2, 16, 14, 30), at(2026, 2, 16, 19)),
    ]
    # Ten minutes between two bookings is not a free slot.
    tight = [(at(2026, 2, 16, 9), at(2026, 2, 16, 10)), (at(2026, 2, 16, 10, 10), at(2026, 2, 16, 13))]
    assert free_periods(cal.open_periods(day), tight)[0][0] == at(2026, 2, 16, 14)


def test_a_closed_day_and_a_day_without_hours_have_no_opening_periods():
    cal = Calendar(tz=PARIS, hours=HOURS, closed={dt.date(2026, 2, 17): "Training"})
    assert cal.open_periods(dt.date(2026, 2, 17)) == []
    assert cal.open_periods(dt.date(2026, 2, 15)) == []  # a Sunday
    assert cal.open_periods(dt.date(2026, 2, 14)) == [(at(2026, 2, 14, 9), at(2026, 2, 14, 13))]
