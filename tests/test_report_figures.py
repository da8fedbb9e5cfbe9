"""What the reports compute beside their queries (periods, rates, open hours:
pure), and the expressions they ask both databases for: the median, the
clinic-calendar day number, a date plus a column of days."""

import datetime as dt

import pytest
from django.db.models import F, Value
from django.db.models.functions import TruncDate
from hypothesis import given
from hypothesis import strategies as st

from sessions_app.models import TreatmentSession
from sessions_app.models.expressions import AddDays, LocalDayNumber
from sessions_app.reports.figures import hours, median_of_counts, open_hours_by_week, rate
from sessions_app.reports.period import MAX_DAYS, Period, default_period, latest, period_refusal, presets
from sessions_app.reports.tables import Table, cell_text

from .factories import PARIS, make_plan, make_session


def test_rates_are_percentages_to_one_decimal_and_none_without_a_whole():
    assert rate(3, 20) == 15.0
    assert rate(1, 3) == 33.3
    assert rate(0, 7) == 0.0
    assert rate(2, 0) is None and rate(None, 5) is None
    assert hours(dt.timedelta(minutes=45)) == 0.8 and hours(None) == 0.0


def test_cells_read_the_same_on_the_page_and_in_the_csv():
    table = Table("t", "T", ["a", "b", "c", "d"], [["x", 3, 15.0, None]], total=["All", 3, -2.5, None])
    assert table.text_rows() == [["x", "3", "15.0", ""], ["All", "3", "-2.5", ""]]
    assert [str(cell) for row in table.csv_rows() for cell in row] == ["x", "3", "15.0", "", "All", "3", "-2.5", ""]
    assert cell_text(dt.date(2025, 3, 1)) == "2025-03-01"


def test_a_period_has_its_months_and_weeks():
    period = Period(dt.date(2025, 12, 30), dt.date(2026, 2, 2))
    assert period.months() == [dt.date(2025, 12, 1), dt.date(2026, 1, 1), dt.date(2026, 2, 1)]
    assert period.weeks()[0] == dt.date(2025, 12, 29) and period.weeks()[-1] == dt.date(2026, 2, 2)
    assert period.days == 35
    with pytest.raises(ValueError):
        Period(dt.date(2025, 3, 2), dt.date(2025, 3, 1))


def test_the_default_and_the_one_click_periods():
    today = dt.date(2026, 1, 15)
    assert default_period(today) == Period(dt.date(2025, 11, 1), today)
    named = dict(presets(today))
    assert named["Last month"] == Period(dt.date(2025, 12, 1), dt.date(2025, 12, 31))
    assert named["Last 12 months"] == Period(dt.date(2025, 2, 1), today)
    assert named["This year"] == Period(dt.date(2026, 1, 1), today)


def test_a_period_too_long_or_upside_down_is_refused_by_field():
    today = dt.date(2026, 1, 15)
    assert period_refusal(dt.date(2025, 1, 1), dt.date(2025, 12, 31), today=today) == {}
    assert "end" in period_refusal(dt.date(2025, 1, 2), dt.date(2025, 1, 1), today=today)
    start = dt.date(2020, 1, 1)
    assert period_refusal(start, start + dt.timedelta(days=MAX_DAYS - 1), today=today) == {}
    assert "end" in period_refusal(start, start + dt.timedelta(days=MAX_DAYS), today=today)
    assert "start" in period_refusal(dt.date(1999, 1, 1), dt.date(2000, 1, 1), today=today)


def test_a_period_reaches_the_booking_horizon_and_no_further():
    today = dt.date(2026, 1, 15)
    horizon = latest(today)
    assert horizon == dt.date(2028, 1, 15)  # scheduling.BOOKING_HORIZON: two years of 365 days
    assert period_refusal(today, horizon, today=today) == {}
    assert set(period_refusal(today, horizon + dt.timedelta(days=1), today=today)) == {"end"}
    assert set(period_refusal(dt.date(2026, 1, 1), dt.date(9999, 12, 31), today=today)) == {"end"}
    assert set(period_refusal(dt.date(9999, 12, 1), dt.date(9999, 12, 31), today=today)) == {"start", "end"}
    assert set(period_refusal(dt.date(1, 1, 1), dt.date(1, 1, 1), today=today)) == {"start"}


def test_a_period_at_the_calendars_ends_has_months_weeks_and_bounds():
    last = Period(dt.date(9999, 11, 20), dt.date(9999, 12, 30))
    assert last.months() == [dt.date(9999, 11, 1), dt.date(9999, 12, 1)]
    assert last.weeks()[-1] == dt.date(9999, 12, 27)
    assert last.bounds(PARIS)[1] == dt.datetime(9999, 12, 31, tzinfo=PARIS)
    first = Period(dt.date(1, 1, 2), dt.date(1, 1, 9))
    assert first.months() == [dt.date(1, 1, 1)] and first.weeks() == [dt.date(1, 1, 1), dt.date(1, 1, 8)]
    # Its last day has no midnight after it, its first no day before.
    for start, end in ((dt.date(9999, 12, 1), dt.date.max), (dt.date.min, dt.date(1, 1, 5))):
        with pytest.raises(ValueError):
            Period(start, end)


# The first and last days a Period holds.
FIRST, LAST = dt.date(1, 1, 2), dt.date(9999, 12, 30)


@given(start=st.dates(FIRST, LAST), days=st.integers(0, 2 * MAX_DAYS))
def test_any_period_has_each_month_and_week_it_touches_once(start, days):
    period = Period(start, start + dt.timedelta(days=min(days, (LAST - start).days)))
    months, weeks = period.months(), period.weeks()
    assert months[0] == period.start.replace(day=1) and months[-1] == period.end.replace(day=1)
    assert all(m.day == 1 and 28 <= (n - m).days <= 31 for m, n in zip(months, months[1:], strict=False))
    assert weeks[0] <= period.start < weeks[0] + dt.timedelta(days=7)
    assert weeks[-1] <= period.end < weeks[-1] + dt.timedelta(days=7)
    assert all((n - w).days == 7 for w, n in zip(weeks, weeks[1:], strict=False))
    start, end = period.bounds(PARIS)
    assert (start.date(), start.time(), start.tzinfo) == (period.start, dt.time.min, PARIS)
    assert (end.date(), end.time()) == (period.end + dt.timedelta(days=1), dt.time.min)


def test_open_hours_each_week_less_closed_days_and_cut_by_the_period():
    periods = [(0, dt.time(9), dt.time(12)), (0, dt.time(14), dt.time(18, 30)), (2, dt.time(9), dt.time(17))]
    # Monday 7.5 hours, Wednesday 8 hours.
    period = Period(dt.date(2025, 6, 4), dt.date(2025, 6, 16))  # a Wednesday to a Monday
    closed = [dt.date(2025, 6, 11)]  # the second Wednesday
    assert open_hours_by_week(periods, closed, period) == {
        dt.date(2025, 6, 2): 8.0,  # the week's Monday is before the period
        dt.date(2025, 6, 9): 7.5,
        dt.date(2025, 6, 16): 7.5,
    }


def test_the_median_of_a_histogram_is_the_middle_value_or_the_mean_of_the_two_middle_ones():
    assert median_of_counts({}) is None
    assert median_of_counts({7: 0}) is None
    assert median_of_counts({5: 1}) == 5.0
    assert median_of_counts({4: 1, 1: 1, 3: 1}) == 3.0
    assert median_of_counts({10: 1, 4: 1, 1: 1, 3: 1}) == 3.5
    # 1, 1, 1, 6, 6: the third of five.
    assert median_of_counts({6: 2, 1: 3}) == 1.0
    # -2, -2, 0, 5, 5, 5: between the third and the fourth.
    assert median_of_counts({5: 3, -2: 2, 0: 1}) == 2.5


@pytest.mark.django_db
def test_day_numbers_are_the_clinics_calendar_days():
    """Late in the evening in Paris is the next day in UTC: 23:30 on 1 May and
    00:30 on 15 May are 14 calendar days apart (13 by UTC dates); across the
    change to summer time, 10:00 to 10:00 is still whole days."""
    plan = make_plan(sessions_planned=10)
    times = [
        dt.datetime(2025, 5, 1, 23, 30, tzinfo=PARIS),
        dt.datetime(2025, 5, 15, 0, 30, tzinfo=PARIS),
        dt.datetime(2025, 3, 28, 10, tzinfo=PARIS),
        dt.datetime(2025, 4, 1, 10, tzinfo=PARIS),
    ]
    sessions = [make_session(plan, starts_at=t) for t in times]
    days = dict(TreatmentSession.objects.annotate(day=LocalDayNumber("starts_at")).values_list("pk", "day"))
    numbers = [days[s.pk] for s in sessions]
    assert numbers[0] == (dt.date(2025, 5, 1) - dt.date(1970, 1, 1)).days
    assert numbers[1] - numbers[0] == 14
    assert numbers[3] - numbers[2] == 4


@pytest.mark.django_db
def test_a_date_plus_a_column_of_days():
    plan = make_plan(maintenance_interval_days=90)
    make_session(plan, starts_at=dt.datetime(2025, 1, 31, 23, 30, tzinfo=PARIS))
    due = TreatmentSession.objects.annotate(
        due=AddDays(TruncDate("starts_at"), F("plan__maintenance_interval_days")),
        next_day=AddDays(TruncDate("starts_at"), Value(1)),
    ).get()
    assert due.due == dt.date(2025, 5, 1)
    assert due.next_day == dt.date(2025, 2, 1)


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)  # SET LOCAL lasts to the end of the outermost transaction
def test_the_reports_run_without_jit_compilation_on_postgresql_and_leave_it_as_it_was():
    """JIT compiling took 30 ms of a 40 ms report query (its estimated cost
    crosses jit_above_cost), and series adherence's sort spilled to disk
    under the default work_mem; the settings last for the reports'
    transaction only."""
    from django.db import connection

    from sessions_app.reports.queries import reports_planned

    def show(setting: str) -> str:
        with connection.cursor() as cursor:
            cursor.execute(f"SHOW {setting}")
            return cursor.fetchone()[0]

    before = show("jit"), show("work_mem")
    with reports_planned():
        assert (show("jit"), show("work_mem")) == ("off", "32MB")
    assert (show("jit"), show("work_mem")) == before
