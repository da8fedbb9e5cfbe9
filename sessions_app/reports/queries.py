"""The reports' figures: each counted by the database (COUNT, SUM), the
same on PostgreSQL and SQLite. Python puts the database's totals in order (a
month with none gets a 0), works out rates, and adds up where one count serves
several tables (the no-shows by month, weekday and hour from one count by
hour; series adherence by month and in all, and its medians, from one count
by day and days after the due date); it never loads sessions, plans or
reminders to count them.

`Reports` runs each query the first time a table asks for it, so the page
runs them all once and a CSV download only those its table needs. Every
figure is the scope's: the whole clinic, or one practitioner's own.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from functools import cached_property

from django.conf import settings
from django.db import connection, transaction
from django.db.models import (
    Case,
    CharField,
    Count,
    DateField,
    DateTimeField,
    Exists,
    ExpressionWrapper,
    F,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    ValueRange,
    When,
    Window,
    WindowFrameExclusion,
)
from django.db.models.functions import (
    Abs,
    Coalesce,
    TruncDate,
    TruncHour,
    TruncMonth,
    TruncWeek,
)
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from sessions_app.models import (
    Cancellation,
    Client,
    ClosedDay,
    OpeningHours,
    PlanStatus,
    Reminder,
    ReminderChannel,
    ReminderKind,
    ReminderRule,
    ReminderStatus,
    Room,
    SessionStatus,
    SideEffect,
    TreatmentPlan,
    TreatmentSession,
    User,
)
from sessions_app.models.expressions import AddDays, LocalDayNumber
from sessions_app.reminders.unsubscribe import unsubscribe_reason
from sessions_app.scheduling import clinic_tz

from .figures import hours, median_of_counts, open_hours_by_week, rate
from .period import Period
from .tables import Chart, Dataset, Table

# "Booked within 30 days of the reminder" (the measure of a recall).
RECALL_WINDOW_DAYS = 30
# What _attendance counts.
ATTENDANCE_COUNTS = ("due", "no_shows", "late", "held")
# What _reminder_counts counts.
REMINDER_COUNTS = ("sent", "failed", "waiting", "cancelled")
EPOCH = dt.date(1970, 1, 1)  # LocalDayNumber's day 0
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


@dataclass(frozen=True)
class Scope:
    """What a report covers: a period, as of `now`, for the whole clinic or
    for one practitioner (`practitioner_id`)."""

    period: Period
    now: dt.datetime
    practitioner_id: int | None = None

    @property
    def starts(self) -> dt.datetime:
        return self.period.bounds(clinic_tz())[0]

    @property
    def ends(self) -> dt.datetime:
        """Midnight after the period's last day."""
        return self.period.bounds(clinic_tz())[1]

    @property
    def today(self) -> dt.date:
        return timezone.localdate(self.now)


def _day(value: dt.date | dt.datetime) -> dt.date:
    """A truncated month or week as the database returns it: a date, or an
    aware datetime at midnight in the clinic's time zone."""
    return timezone.localtime(value).date() if isinstance(value, dt.datetime) else value


def _name(first: str, last: str, username: str) -> str:
    return f"{first} {last}".strip() or username


def natural_key(text: str) -> list:
    """Sorts "Room 2" before "Room 10"."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", text)]


def summed(rows: list[dict], key, counts: tuple[str, ...], zero=0) -> dict:
    """The `counts` of a finer count's `rows` added up by `key(row)`: where
    one query serves several tables (months, weekdays and hours; channels
    and rules; practitioners and rooms). `zero` starts each sum (a timedelta
    for durations)."""
    totals: dict = {}
    for row in rows:
        sums = totals.setdefault(key(row), dict.fromkeys(counts, zero))
        for count in counts:
            sums[count] += row[count]
    return totals


def _month_label(month: dt.date) -> str:
    return f"{month:%b %Y}"


def late_cancellation_cutoff():
    """Its start less CLINIC_LATE_CANCELLATION_HOURS: a cancellation after
    this was made within the hours."""
    return F("starts_at") - dt.timedelta(hours=settings.CLINIC_LATE_CANCELLATION_HOURS)


def late_cancellation() -> Q:
    """The one rule of a late cancellation: the client's, never the clinic's.
    Reception says so when it cancels ("By the client, late",
    Cancellation.LATE); a session cancelled before reception said who
    cancelled (no `cancellation`) counts as late when it was cancelled within
    CLINIC_LATE_CANCELLATION_HOURS of its start. Reads `cancelled_at`,
    annotated with cancelled_at()."""
    unsaid_within_the_hours = Q(cancellation="", cancelled_at__gt=late_cancellation_cutoff())
    return Q(status=SessionStatus.CANCELLED) & (Q(cancellation=Cancellation.LATE) | unsaid_within_the_hours)


def late_cancellation_note() -> str:
    """The rule, as the page and the README say it."""
    hours = settings.CLINIC_LATE_CANCELLATION_HOURS
    return (
        'A late cancellation is the client\'s: reception marked it "by the client, late" when cancelling (for a '
        f"session cancelled before reception said who cancelled: less than {hours} hours before it). A cancellation "
        "by the clinic is never late, and is not a session due."
    )


def cancelled_at():
    """When a cancelled session was cancelled: the first version of it in its
    history with the status cancelled (every status change, from the schedule
    or the admin, is saved with the session's history); None for a session not
    cancelled, or cancelled before its history was kept."""
    first = (
        TreatmentSession.history.model.objects.filter(id=OuterRef("pk"), status=SessionStatus.CANCELLED)
        .order_by("history_date")
        .values("history_date")[:1]
    )
    return Case(When(status=SessionStatus.CANCELLED, then=Subquery(first)), output_field=DateTimeField())


def previous_kept_start():
    """The start of the kept (completed) series session of the same plan just
    before this one (session_series_kept_idx reads it)."""
    return Subquery(
        TreatmentSession.objects.filter(
            plan=OuterRef("plan"),
            status=SessionStatus.COMPLETED,
            is_maintenance=False,
            starts_at__lt=OuterRef("starts_at"),
        )
        .order_by("-starts_at")
        .values("starts_at")[:1]
    )


def kept_before_among():
    """previous_kept_start() for each of a set of sessions read together,
    where the set holds every series session of its plans from some date on
    (a period's, for the whole clinic): the latest kept session before this one
    among the set's rows of its plan (a window, read in the same pass), or,
    where there is none (the plan's first kept session from that date), the
    lookup. At 100,000 clients a quarter's 70,000 series sessions needed
    70,000 lookups; a fifth of them do now."""
    kept_start = Case(When(status=SessionStatus.COMPLETED, then=F("starts_at")))
    latest_before = Window(
        Max(kept_start),
        partition_by=F("plan_id"),
        order_by=F("starts_at").asc(),
        frame=ValueRange(start=None, end=0, exclusion=WindowFrameExclusion.GROUP),
    )
    return Coalesce(latest_before, previous_kept_start())


class Reports:
    """The tables of the reports page for one scope, each query run once."""

    def __init__(self, scope: Scope):
        self.scope = scope

    # --- what each query reads ------------------------------------------------

    def _sessions(self) -> QuerySet:
        s = self.scope
        sessions = TreatmentSession.objects.filter(starts_at__gte=s.starts, starts_at__lt=s.ends).order_by()
        if s.practitioner_id:
            sessions = sessions.filter(practitioner_id=s.practitioner_id)
        return sessions

    def _attendance(self) -> dict:
        """The counts (ATTENDANCE_COUNTS) of the no-show report, for an aggregate or a GROUP BY:
        sessions due (started, and not cancelled ahead of time), no-shows,
        late cancellations, and sessions held."""
        started = Q(starts_at__lt=self.scope.now)
        late = late_cancellation()
        return {
            "due": Count("pk", filter=started & (~Q(status=SessionStatus.CANCELLED) | late)),
            "no_shows": Count("pk", filter=started & Q(status=SessionStatus.NO_SHOW)),
            "late": Count("pk", filter=started & late),
            "held": Count("pk", filter=Q(status=SessionStatus.COMPLETED)),
        }

    def _attendance_by(self, **group) -> list[dict]:
        rows = self._sessions().annotate(cancelled_at=cancelled_at(), **group).values(*group)
        return list(rows.annotate(**self._attendance()))

    @cached_property
    def sessions_by_hour_of_the_period(self) -> list[dict]:
        """One query for the months, weekdays and hours: the attendance counts
        of each hour of the period (the clinic's hours), added up in Python.
        A quarter is a thousand rows; three queries grouping by month, weekday
        and hour read every session of it three times."""
        rows = self._attendance_by(hour_starts=TruncHour("starts_at"))
        for row in rows:
            row["hour_starts"] = timezone.localtime(row["hour_starts"])
        return rows

    def _attendance_summed(self, key) -> dict:
        """The attendance counts summed by `key(the hour's start)`."""
        return summed(self.sessions_by_hour_of_the_period, lambda row: key(row["hour_starts"]), ATTENDANCE_COUNTS)

    @cached_property
    def sessions_by_month(self) -> dict[dt.date, dict]:
        """Each month's attendance counts and sessions held."""
        return self._attendance_summed(lambda hour: hour.date().replace(day=1))

    @cached_property
    def sessions_by_weekday(self) -> dict[int, dict]:
        # ISO weekdays, 1 = Monday.
        return self._attendance_summed(lambda hour: hour.isoweekday())

    @cached_property
    def sessions_by_hour(self) -> dict[int, dict]:
        return self._attendance_summed(lambda hour: hour.hour)

    @cached_property
    def sessions_by_practitioner(self) -> list[dict]:
        """Each practitioner's attendance counts, by last name then first
        name, each row with the practitioner's `name`."""
        rows = list(
            self._sessions()
            .annotate(cancelled_at=cancelled_at())
            .values("practitioner_id")
            .annotate(**self._attendance())
        )
        people = self._people(row["practitioner_id"] for row in rows)
        for row in rows:
            row["name"] = people[row["practitioner_id"]][0]
        # Namesakes in the order they joined the staff, the same on every reading.
        return sorted(rows, key=lambda row: (people[row["practitioner_id"]][1], row["practitioner_id"]))

    def _people(self, ids) -> dict[int, tuple[str, list]]:
        """The practitioners' names and the key that sorts them by last name,
        read apart: grouping the sessions by the joined user's name columns
        took three times as long as by the practitioner's id."""
        users = User.objects.filter(pk__in=set(ids)).values_list("pk", "first_name", "last_name", "username")
        return {pk: (_name(first, last, user), natural_key(f"{last} {first}")) for pk, first, last, user in users}

    @cached_property
    def series_delays(self) -> list[tuple[dt.date, int | None, int, int]]:
        """The series sessions (not maintenance) of the period that took place
        or were missed (completed, no-show or cancelled, started before now),
        counted by their day and how many calendar days after its due date
        each kept one took place (its due date: the kept session before it
        plus the plan's interval; 0 on the day, negative when early, None for
        the first of a series): (day, days after due, kept, missed).

        One query: the sessions' rows with the kept start before each
        (kept_before_among) in a subquery, counted by the query around it
        (Django aggregates no window). The window reads the whole clinic's
        rows, since a plan's previous session may be another practitioner's;
        one practitioner's are picked around it."""
        s = self.scope
        kept = Q(status=SessionStatus.COMPLETED)
        rows = (
            TreatmentSession.objects.filter(starts_at__gte=s.starts, starts_at__lt=min(s.ends, s.now))
            .filter(is_maintenance=False, status__in=[SessionStatus.COMPLETED, *SessionStatus.NOT_KEPT])
            .order_by()
            .annotate(
                day_number=LocalDayNumber("starts_at"),
                previous_day_number=LocalDayNumber(Case(When(kept, then=kept_before_among()))),
                plan_interval=F("plan__interval_days"),
                is_kept=Case(When(kept, then=Value(1)), default=Value(0)),
            )
            .values("practitioner_id", "day_number", "previous_day_number", "plan_interval", "is_kept")
        )
        sql, params = rows.query.sql_with_params()
        mine = ""
        if s.practitioner_id:
            mine, params = "WHERE series.practitioner_id = %s", (*params, s.practitioner_id)
        counted = (
            "SELECT series.day_number, series.day_number - series.previous_day_number - series.plan_interval, "
            f"SUM(series.is_kept), COUNT(*) - SUM(series.is_kept) FROM ({sql}) series {mine} GROUP BY 1, 2"
        )
        with connection.cursor() as cursor:
            cursor.execute(counted, params)
            return [(EPOCH + dt.timedelta(days=day), delay, kept, missed) for day, delay, kept, missed in cursor]

    def _adherence(self, month_of) -> dict:
        """The series sessions kept, kept late and missed, and the median days
        after the due date, summed by `month_of(day)`."""
        tolerance = settings.CLINIC_SERIES_LATE_TOLERANCE_DAYS
        sums: dict = {}
        for day, delay, kept, missed in self.series_delays:
            month = sums.setdefault(month_of(day), {"kept": 0, "late": 0, "missed": 0, "delays": Counter()})
            month["kept"] += kept
            month["missed"] += missed
            if delay is not None:
                month["delays"][delay] += kept
                month["late"] += kept if delay > tolerance else 0
        for month in sums.values():
            month["median"] = median_of_counts(month.pop("delays"))
        return sums

    @cached_property
    def adherence_by_month(self) -> dict[dt.date, dict]:
        return self._adherence(lambda day: day.replace(day=1))

    @cached_property
    def adherence_total(self) -> dict:
        """The whole period's (its median is not one of the months')."""
        return self._adherence(lambda day: None).get(None, {})

    @cached_property
    def plans_by_month(self) -> dict[dt.date, dict[str, int]]:
        """Plans started each month, by their status today."""
        s = self.scope
        plans = TreatmentPlan.objects.filter(created_at__gte=s.starts, created_at__lt=s.ends).order_by()
        if s.practitioner_id:
            plans = plans.filter(practitioner_id=s.practitioner_id)
        rows = plans.annotate(month=TruncMonth("created_at")).values("month", "status").annotate(n=Count("pk"))
        months: dict[dt.date, dict[str, int]] = {}
        for row in rows:
            months.setdefault(_day(row["month"]), {})[row["status"]] = row["n"]
        return months

    @cached_property
    def maintenance_by_month(self) -> dict[dt.date, dict]:
        return {_day(row["month"]): row for row in self.maintenance_counts()}

    def maintenance_counts(self) -> QuerySet:
        """Each maintenance date falling in the period (a plan's last completed
        session plus its maintenance interval, for each session the maintenance
        reminders are about), by its month: how many came due, were reminded,
        were booked within RECALL_WINDOW_DAYS of the first message sent, were
        booked at all, and are overdue (the date passed, nothing booked)."""
        s = self.scope
        # Read from the reminders' side (reminder_maintenance_idx holds them):
        # 36,000 at 100,000 clients, where every session of the clinic would
        # have been read to work out its date.
        recalls = Reminder.objects.filter(
            kind=ReminderKind.MAINTENANCE_DUE, session__isnull=False, plan__maintenance_interval_days__isnull=False
        ).order_by()
        if s.practitioner_id:
            recalls = recalls.filter(plan__practitioner_id=s.practitioner_id)
        # The anchor session's start, looked up by its key for each reminder:
        # joined, PostgreSQL read every session of the clinic (a seq scan of a
        # million rows at 100,000 clients) to find the 36,000 anchors.
        anchor_start = Subquery(
            TreatmentSession.objects.filter(pk=OuterRef("session_id")).order_by().values("starts_at")
        )
        # Its day in the period, as one comparison, so that PostgreSQL looks the
        # anchor up once a reminder, not once for each end of the period: the
        # day number's distance from the period's middle at most half its length.
        first, last = ((day - EPOCH).days for day in (s.period.start, s.period.end))
        due_number = LocalDayNumber("anchor_start") + F("plan__maintenance_interval_days")
        recalls = (
            recalls.annotate(anchor_start=anchor_start)
            .alias(from_middle=Abs(2 * due_number - (first + last)))
            .filter(from_middle__lte=last - first)
            .annotate(due_on=AddDays(TruncDate("anchor_start"), F("plan__maintenance_interval_days")))
        )
        first_message = (
            Reminder.objects.filter(
                kind=ReminderKind.MAINTENANCE_DUE,
                session=OuterRef("session_id"),
                channel__in=[ReminderChannel.EMAIL, ReminderChannel.SMS],
                status=ReminderStatus.SENT,
            )
            .order_by("sent_at")
            .values("sent_at")[:1]
        )
        later = TreatmentSession.objects.filter(
            plan=OuterRef("plan_id"), starts_at__gt=OuterRef("anchor_start")
        ).exclude(status__in=SessionStatus.NOT_KEPT)
        window_end = ExpressionWrapper(
            OuterRef("reminded_at") + dt.timedelta(days=RECALL_WINDOW_DAYS), output_field=DateTimeField()
        )
        recalls = recalls.annotate(reminded_at=Subquery(first_message)).annotate(
            is_booked=Exists(later),
            is_booked_soon=Exists(
                later.filter(is_maintenance=True, created_at__gte=OuterRef("reminded_at"), created_at__lt=window_end)
            ),
        )

        def anchors(condition: Q | None = None) -> Count:
            """The maintenance dates counted once each, however many reminders are about them."""
            return Count("session_id", distinct=True, filter=condition)

        rows = (
            recalls.annotate(month=TruncMonth("due_on", output_field=DateField()))
            .values("month")
            .annotate(
                due=anchors(),
                reminded=anchors(Q(reminded_at__isnull=False)),
                booked_soon=anchors(Q(is_booked_soon=True)),
                booked=anchors(Q(is_booked=True)),
                overdue=anchors(Q(is_booked=False, due_on__lt=s.today)),
            )
        )
        return rows

    @cached_property
    def recall_calls(self) -> dict[tuple[str, str], int]:
        """Maintenance recall calls due in the period, by (status, outcome)."""
        s = self.scope
        calls = Reminder.objects.filter(
            kind=ReminderKind.MAINTENANCE_DUE, channel=ReminderChannel.CALL, due_at__gte=s.starts, due_at__lt=s.ends
        ).order_by()
        if s.practitioner_id:
            calls = calls.filter(plan__practitioner_id=s.practitioner_id)
        rows = calls.values("status", "call_outcome").annotate(n=Count("pk"))
        return {(row["status"], row["call_outcome"]): row["n"] for row in rows}

    def _reminders(self) -> QuerySet:
        s = self.scope
        return Reminder.objects.filter(due_at__gte=s.starts, due_at__lt=s.ends).order_by()

    def _reminder_counts(self) -> dict:
        return {
            "sent": Count("pk", filter=Q(status=ReminderStatus.SENT)),
            "failed": Count("pk", filter=Q(status=ReminderStatus.FAILED)),
            "waiting": Count("pk", filter=Q(status__in=[ReminderStatus.PENDING, ReminderStatus.SENDING])),
            "cancelled": Count("pk", filter=Q(status=ReminderStatus.CANCELLED)),
        }

    @cached_property
    def reminders_by_channel_and_rule(self) -> list[dict]:
        """One query for both tables: the period's reminders counted by
        channel and rule (a few dozen rows), added up by each in Python; two
        queries read the chain's 30,000 reminders of a quarter twice."""
        return list(self._reminders().values("channel", "rule_id").annotate(**self._reminder_counts()))

    def _reminders_summed(self, key: str) -> dict:
        return summed(self.reminders_by_channel_and_rule, lambda row: row[key], REMINDER_COUNTS)

    @cached_property
    def reminders_by_channel(self) -> dict[str, dict]:
        return self._reminders_summed("channel")

    @cached_property
    def reminders_by_rule(self) -> list[dict]:
        """Each rule's counts (None: reminders of no rule), with the rule's name, by name."""
        by_rule = self._reminders_summed("rule_id")
        # Every rule's name: a clinic has a dozen rules.
        names = dict(ReminderRule.objects.values_list("pk", "name"))
        rows = [{"rule_id": pk, "rule__name": names.get(pk), **counts} for pk, counts in by_rule.items()]
        return sorted(rows, key=lambda r: r["rule__name"] or "")

    @cached_property
    def unsubscribes(self) -> dict[tuple[str, int | None], int]:
        """Clients who unsubscribed in the period, by (channel, rule): the rule
        of the last message the client was sent by that channel before (the
        link does not say which message it came from)."""
        s = self.scope
        reasons = {unsubscribe_reason(channel): channel for channel in (ReminderChannel.EMAIL, ReminderChannel.SMS)}
        channel = Case(
            *(When(history_change_reason=reason, then=Value(code)) for reason, code in reasons.items()),
            output_field=CharField(),
        )
        last_rule = (
            Reminder.objects.filter(
                client=OuterRef("id"),
                channel=OuterRef("channel"),
                status=ReminderStatus.SENT,
                sent_at__lte=OuterRef("history_date"),
            )
            .order_by("-sent_at")
            .values("rule_id")[:1]
        )
        rows = (
            Client.history.model.objects.filter(
                history_date__gte=s.starts, history_date__lt=s.ends, history_change_reason__in=list(reasons)
            )
            .order_by()
            .annotate(channel=channel)
            .annotate(rule_id=Subquery(last_rule))
            .values("channel", "rule_id")
            .annotate(n=Count("history_id"))
        )
        return {(row["channel"], row["rule_id"]): row["n"] for row in rows}

    @cached_property
    def booked_by_week_practitioner_and_room(self) -> list[dict]:
        """The time booked each week by each practitioner in each room: one
        query for both utilisation tables, added up in Python. A quarter of a
        chain is 12,000 rows; a query for each table read every session of
        the period twice (170 ms each at 100,000 clients)."""
        rows = (
            self._sessions()
            .exclude(status=SessionStatus.CANCELLED)
            # Each week's Monday as a date: as a datetime, Django made each of
            # a chain's 4,000 rows aware in the clinic's time zone, one by one.
            .annotate(week=TruncWeek("starts_at", output_field=DateField()))
            .values("week", "practitioner_id", "room_id")
            .annotate(booked=Sum(F("ends_at") - F("starts_at")))
        )
        return list(rows)

    def _booked_hours(self, key: str) -> dict[tuple[int, dt.date], dt.timedelta]:
        """The time booked by each practitioner (`key` practitioner_id) or in
        each room (room_id), by (its id, the week's Monday)."""
        totals = summed(
            self.booked_by_week_practitioner_and_room,
            lambda row: (row[key], _day(row["week"])),
            ("booked",),
            zero=dt.timedelta(),
        )
        return {pk_and_week: sums["booked"] for pk_and_week, sums in totals.items()}

    @cached_property
    def booked_by_practitioner(self) -> dict[tuple[int, dt.date], dt.timedelta]:
        return self._booked_hours("practitioner_id")

    @cached_property
    def booked_by_room(self) -> dict[tuple[int, dt.date], dt.timedelta]:
        return self._booked_hours("room_id")

    @cached_property
    def open_hours(self) -> dict[dt.date, float]:
        """Two small queries: the weekly opening hours and the period's closed days."""
        periods = OpeningHours.objects.values_list("weekday", "opens", "closes")
        closed = ClosedDay.objects.filter(date__gte=self.scope.period.start, date__lte=self.scope.period.end)
        return open_hours_by_week(periods, closed.values_list("date", flat=True), self.scope.period)

    @cached_property
    def new_clients_by_month(self) -> dict[dt.date, int]:
        s = self.scope
        clients = Client.objects.filter(created_at__gte=s.starts, created_at__lt=s.ends).order_by()
        if s.practitioner_id:
            clients = clients.filter(
                Exists(TreatmentPlan.objects.filter(client=OuterRef("pk"), practitioner_id=s.practitioner_id))
            )
        rows = clients.annotate(month=TruncMonth("created_at")).values("month").annotate(n=Count("pk"))
        return {_day(row["month"]): row["n"] for row in rows}

    @cached_property
    def plans_by_indication(self) -> dict[str, int]:
        s = self.scope
        plans = TreatmentPlan.objects.filter(created_at__gte=s.starts, created_at__lt=s.ends).order_by()
        if s.practitioner_id:
            plans = plans.filter(practitioner_id=s.practitioner_id)
        return {row["indication__name"]: row["n"] for row in plans.values("indication__name").annotate(n=Count("pk"))}

    @cached_property
    def held_by_indication(self) -> dict[str, int]:
        rows = (
            self._sessions()
            .filter(status=SessionStatus.COMPLETED)
            .values("plan__indication__name")
            .annotate(n=Count("pk"))
        )
        return {row["plan__indication__name"]: row["n"] for row in rows}

    @cached_property
    def side_effects_by_month(self) -> dict[dt.date, dict]:
        """Side effects by the month of their onset; a practitioner's are those
        that followed their sessions."""
        s = self.scope
        effects = SideEffect.objects.filter(onset__gte=s.period.start, onset__lte=s.period.end).order_by()
        if s.practitioner_id:
            effects = effects.filter(session__practitioner_id=s.practitioner_id)
        rows = (
            effects.annotate(month=TruncMonth("onset", output_field=DateField()))
            .values("month")
            .annotate(n=Count("pk"), serious=Count("pk", filter=Q(serious=True)))
        )
        return {_day(row["month"]): row for row in rows}

    # --- the tables -------------------------------------------------------------

    def _attendance_row(self, label: str, row: dict | None) -> list:
        row = row or {}
        due, no_shows, late = row.get("due", 0), row.get("no_shows", 0), row.get("late", 0)
        return [label, due, no_shows, rate(no_shows, due), late, rate(late, due)]

    ATTENDANCE_COLUMNS = [
        "sessions due",
        "no-shows",
        "no-show rate (%)",
        "late cancellations",
        "late cancellation rate (%)",
    ]

    def _attendance_table(self, slug: str, title: str, first: str, rows: list[list]) -> Table:
        totals = [sum(row[i] for row in rows) for i in (1, 2, 4)]
        total = ["All", totals[0], totals[1], rate(totals[1], totals[0]), totals[2], rate(totals[2], totals[0])]
        chart = Chart(
            labels=[row[0] for row in rows],
            datasets=[
                Dataset("No-show rate (%)", [row[3] for row in rows], axis="percent"),
                Dataset("Late cancellation rate (%)", [row[5] for row in rows], axis="percent"),
            ],
            percent_title="% of sessions due",
        )
        note = late_cancellation_note()
        return Table(slug, title, [first, *self.ATTENDANCE_COLUMNS], rows, chart=chart, total=total, note=note)

    def no_shows_by_month(self) -> Table:
        months = self.sessions_by_month
        rows = [self._attendance_row(_month_label(m), months.get(m)) for m in self.scope.period.months()]
        return self._attendance_table("no-shows-by-month", "By month", "month", rows)

    def no_shows_by_weekday(self) -> Table:
        days = self.sessions_by_weekday
        rows = [self._attendance_row(name, days.get(n)) for n, name in enumerate(WEEKDAYS, start=1)]
        return self._attendance_table("no-shows-by-weekday", "By weekday", "weekday", rows)

    def no_shows_by_hour(self) -> Table:
        hours_seen = self.sessions_by_hour
        rows = [self._attendance_row(f"{h:02d}:00", hours_seen[h]) for h in sorted(hours_seen)]
        return self._attendance_table("no-shows-by-hour", "By hour of the day", "starting at", rows)

    def no_shows_by_practitioner(self) -> Table:
        rows = [self._attendance_row(r["name"], r) for r in self.sessions_by_practitioner]
        table = self._attendance_table("no-shows-by-practitioner", "By practitioner", "practitioner", rows)
        table.chart.horizontal = True
        return table

    def adherence(self) -> Table:
        tolerance = settings.CLINIC_SERIES_LATE_TOLERANCE_DAYS
        months = self.adherence_by_month

        def row(label: str, r: dict | None) -> list:
            r = r or {}
            kept, late, missed = r.get("kept", 0), r.get("late", 0), r.get("missed", 0)
            on_time, all_ = kept - late, kept + missed
            return [label, on_time, late, missed, rate(on_time, all_), r.get("median")]

        rows = [row(_month_label(m), months.get(m)) for m in self.scope.period.months()]
        total = row("All", self.adherence_total)
        chart = Chart(
            labels=[r[0] for r in rows],
            datasets=[
                Dataset("Kept on time", [r[1] for r in rows]),
                Dataset(f"Kept late (over {tolerance} days)", [r[2] for r in rows]),
                Dataset("Missed", [r[3] for r in rows]),
            ],
            count_title="series sessions",
            stacked=True,
        )
        return Table(
            "series-adherence",
            "Series sessions: on time, late, missed",
            [
                "month",
                "kept on time",
                "kept late",
                "missed (no-show or cancelled)",
                "on time (%)",
                "median days after the due date",
            ],
            rows,
            chart=chart,
            total=total,
            note=f"A session is late when it takes place more than {tolerance} days after its due date, the "
            "session before it plus the plan's interval; the first session "
            "of a series is on time. The median counts the days after the due date (negative: early).",
        )

    def plans(self) -> Table:
        months = self.plans_by_month
        statuses = [
            ("running", [PlanStatus.ACTIVE]),
            ("completed", [PlanStatus.COMPLETED, PlanStatus.MAINTENANCE]),
            ("dropped", [PlanStatus.CANCELLED]),
        ]
        rows = []
        for month in self.scope.period.months():
            counts = months.get(month, {})
            cells = [sum(counts.get(s, 0) for s in group) for _, group in statuses]
            rows.append([_month_label(month), sum(cells), *cells])
        total = ["All", *(sum(r[i] for r in rows) for i in range(1, 5))]
        chart = Chart(
            labels=[r[0] for r in rows],
            datasets=[Dataset(f"Series {name}", [r[i] for r in rows]) for i, (name, _) in enumerate(statuses, 2)],
            count_title="plans started",
            stacked=True,
        )
        return Table(
            "plans",
            "Plans started, by where they are now",
            ["month started", "plans started", "series running", "series completed", "dropped"],
            rows,
            chart=chart,
            total=total,
            note="Completed: the series is over (in maintenance or finished). Dropped: the plan was cancelled.",
        )

    def maintenance(self) -> Table:
        months = self.maintenance_by_month
        keys = ("due", "reminded", "booked_soon", "booked", "overdue")
        rows = []
        for month in self.scope.period.months():
            r = months.get(month, {})
            counts = [r.get(k, 0) for k in keys]
            rows.append([_month_label(month), *counts, rate(counts[2], counts[1])])
        totals = [sum(r[i] for r in rows) for i in range(1, 6)]
        total = ["All", *totals, rate(totals[2], totals[1])]
        chart = Chart(
            labels=[r[0] for r in rows],
            datasets=[
                Dataset("Due", [r[1] for r in rows]),
                Dataset(f"Booked within {RECALL_WINDOW_DAYS} days of the reminder", [r[3] for r in rows]),
                Dataset("Overdue", [r[5] for r in rows]),
            ],
            count_title="maintenance sessions",
        )
        return Table(
            "maintenance",
            "Maintenance due, booked and overdue",
            [
                "month due",
                "due",
                "reminded",
                f"booked within {RECALL_WINDOW_DAYS} days of the reminder",
                "booked",
                "overdue",
                f"reminded and booked within {RECALL_WINDOW_DAYS} days (%)",
            ],
            rows,
            chart=chart,
            total=total,
            note="A plan's maintenance is due its maintenance interval after its last session. Reminded: an email "
            "or SMS about it was sent. Overdue: the date has passed and nothing is booked.",
        )

    RECALL_OUTCOMES = [
        ("Booked", ReminderStatus.SENT, "booked"),
        ("Reached", ReminderStatus.SENT, "reached"),
        ("Declined", ReminderStatus.SENT, "declined"),
        ("No answer, to call again", ReminderStatus.PENDING, "no_answer"),
        ("No answer, given up", ReminderStatus.FAILED, None),
        ("Not called yet", ReminderStatus.PENDING, ""),
        ("No longer needed", ReminderStatus.CANCELLED, None),
    ]

    def recall_calls_table(self) -> Table:
        counts = self.recall_calls
        rows = []
        for label, status, outcome in self.RECALL_OUTCOMES:
            n = sum(v for (st, out), v in counts.items() if st == status and (outcome is None or out == outcome))
            rows.append([label, n])
        chart = Chart(
            labels=[r[0] for r in rows],
            datasets=[Dataset("Recall calls", [r[1] for r in rows])],
            count_title="calls",
            horizontal=True,
        )
        return Table(
            "recall-calls",
            "Maintenance recall calls and their outcomes",
            ["outcome", "calls"],
            rows,
            chart=chart,
            total=["All", sum(r[1] for r in rows)],
        )

    def _reminder_row(self, label: str, counts: dict, unsubscribed: int) -> list:
        sent, failed = counts.get("sent", 0), counts.get("failed", 0)
        return [
            label,
            sent,
            failed,
            rate(failed, sent + failed),
            counts.get("waiting", 0),
            counts.get("cancelled", 0),
            unsubscribed,
        ]

    REMINDER_COLUMNS = ["sent", "failed", "failed (%)", "waiting", "cancelled", "unsubscribed"]

    def reminders_by_channel_table(self) -> Table:
        channels, unsubscribed = self.reminders_by_channel, self.unsubscribes
        rows = [
            self._reminder_row(
                label, channels.get(code, {}), sum(n for (ch, _), n in unsubscribed.items() if ch == code)
            )
            for code, label in ReminderChannel.choices
        ]
        return self._reminder_table("reminders-by-channel", "By channel", "channel", rows)

    def reminders_by_rule_table(self) -> Table:
        unsubscribed = self.unsubscribes
        rows = [
            self._reminder_row(
                r["rule__name"] or "No rule",
                r,
                sum(n for (_, rule), n in unsubscribed.items() if rule == r["rule_id"]),
            )
            for r in self.reminders_by_rule
        ]
        table = self._reminder_table("reminders-by-rule", "By rule", "rule", rows)
        table.chart.horizontal = True
        return table

    def _reminder_table(self, slug: str, title: str, first: str, rows: list[list]) -> Table:
        sums = [sum(r[i] for r in rows) for i in (1, 2, 4, 5, 6)]
        total = ["All", sums[0], sums[1], rate(sums[1], sums[0] + sums[1]), *sums[2:]]
        chart = Chart(
            labels=[r[0] for r in rows],
            datasets=[
                Dataset("Sent", [r[1] for r in rows]),
                Dataset("Failed", [r[2] for r in rows]),
                Dataset("Unsubscribed", [r[6] for r in rows]),
            ],
            count_title="reminders",
        )
        return Table(
            slug,
            title,
            [first, *self.REMINDER_COLUMNS],
            rows,
            chart=chart,
            total=total,
            note="Reminders due in the period. Failed: given up, or waiting to be tried again. Unsubscribed: "
            "clients who used the link in a message, counted under the last message they were sent by that "
            "channel.",
        )

    def _utilisation(
        self, slug: str, title: str, who: str, booked: dict[tuple[int, dt.date], dt.timedelta], names: dict
    ) -> Table:
        """A row per practitioner (or room) of `booked` (_booked_hours): the
        share of each week's open hours booked, then the whole period's
        booked hours and share; the last row gives the open hours."""
        weeks, open_hours = self.scope.period.weeks(), self.open_hours
        people = {pk: names[pk] for pk, _ in booked}
        by_week = {pk_and_week: hours(time) for pk_and_week, time in booked.items()}
        open_total = round(sum(open_hours.values()), 1)
        rows = []
        # Namesakes (a chain has them) in the order they joined, the same on every reading.
        for pk in sorted(people, key=lambda pk: (natural_key(people[pk]), pk)):
            weekly = [rate(by_week.get((pk, week), 0.0), open_hours.get(week)) for week in weeks]
            booked_total = round(sum(by_week.get((pk, week), 0.0) for week in weeks), 1)
            rows.append([people[pk], *weekly, booked_total, rate(booked_total, open_total)])
        labels = [f"{week:%d/%m}" for week in weeks]
        chart = Chart(
            labels=labels,
            datasets=[Dataset(row[0], row[1 : 1 + len(weeks)], axis="percent", kind="line") for row in rows],
            percent_title="% of open hours booked",
        )
        return Table(
            slug,
            title,
            [who, *(f"{label} (%)" for label in labels), "booked hours", "whole period (%)"],
            rows,
            chart=chart,
            total=["Open hours", *(open_hours.get(week, 0.0) for week in weeks), open_total, None],
            note=f"The share of the clinic's open hours (opening hours less closed days) booked each week, "
            "each column a week from its Monday, "
            f"no-shows included, cancelled sessions not; each {who} counted as available whenever the clinic "
            "is open. The last row gives the open hours.",
        )

    def utilisation_by_practitioner(self) -> Table:
        booked = self.booked_by_practitioner
        people = self._people(pk for pk, _ in booked)
        names = {pk: name for pk, (name, _) in people.items()}
        return self._utilisation("utilisation-by-practitioner", "By practitioner", "practitioner", booked, names)

    def utilisation_by_room(self) -> Table:
        booked = self.booked_by_room
        names = dict(Room.objects.filter(pk__in={pk for pk, _ in booked}).values_list("pk", "name"))
        return self._utilisation("utilisation-by-room", "By room", "room", booked, names)

    def activity_by_month(self) -> Table:
        sessions, clients, plans = self.sessions_by_month, self.new_clients_by_month, self.plans_by_month
        rows = [
            [
                _month_label(m),
                clients.get(m, 0),
                sum(plans.get(m, {}).values()),
                sessions.get(m, {}).get("held", 0),
            ]
            for m in self.scope.period.months()
        ]
        total = ["All", *(sum(r[i] for r in rows) for i in range(1, 4))]
        chart = Chart(
            labels=[r[0] for r in rows],
            datasets=[
                Dataset("New clients", [r[1] for r in rows]),
                Dataset("Plans started", [r[2] for r in rows]),
                Dataset("Sessions held", [r[3] for r in rows]),
            ],
            count_title="number",
        )
        note = "Sessions held: completed and signed."
        if self.scope.practitioner_id:
            note += " New clients: those with a plan with you."
        return Table(
            "activity-by-month",
            "By month",
            ["month", "new clients", "plans started", "sessions held"],
            rows,
            chart=chart,
            total=total,
            note=note,
        )

    def activity_by_indication(self) -> Table:
        plans, held = self.plans_by_indication, self.held_by_indication
        names = sorted(set(plans) | set(held), key=lambda n: (n or "").lower())
        rows = [[name or "—", plans.get(name, 0), held.get(name, 0)] for name in names]
        chart = Chart(
            labels=[r[0] for r in rows],
            datasets=[Dataset("Plans started", [r[1] for r in rows]), Dataset("Sessions held", [r[2] for r in rows])],
            count_title="number",
            horizontal=True,
        )
        return Table(
            "activity-by-indication",
            "By indication",
            ["indication", "plans started", "sessions held"],
            rows,
            chart=chart,
            total=["All", sum(r[1] for r in rows), sum(r[2] for r in rows)],
        )

    def side_effect_rate(self) -> Table:
        effects, sessions = self.side_effects_by_month, self.sessions_by_month
        rows = []
        for month in self.scope.period.months():
            n, serious = effects.get(month, {}).get("n", 0), effects.get(month, {}).get("serious", 0)
            held = sessions.get(month, {}).get("held", 0)
            rows.append([_month_label(month), held, n, rate(n, held), serious])
        sums = [sum(r[i] for r in rows) for i in (1, 2, 4)]
        total = ["All", sums[0], sums[1], rate(sums[1], sums[0]), sums[2]]
        chart = Chart(
            labels=[r[0] for r in rows],
            datasets=[
                Dataset("Side effects", [r[2] for r in rows]),
                Dataset("Per 100 sessions held", [r[3] for r in rows], axis="percent", kind="line"),
            ],
            count_title="side effects",
            percent_title="per 100 sessions held",
        )
        return Table(
            "side-effect-rate",
            "Side effects by month",
            ["month", "sessions held", "side effects", "per 100 sessions held", "of them serious"],
            rows,
            chart=chart,
            total=total,
            note=(
                "Side effects by the month of their onset, each one counted (two after one session count two, one "
                "not linked to a session counts too), per 100 sessions held that month. The signal page measures "
                "something else: the share of completed sessions followed by at least one side effect, by the "
                "session's date, compared across mixtures, lots and practitioners."
            ),
            extra={"signal_url": side_effect_signal_url(self.scope.period)},
        )


@contextmanager
def _planned_for_reports() -> Iterator[None]:
    with transaction.atomic(), connection.cursor() as cursor:
        # SET LOCAL, both in one statement.
        cursor.execute("SELECT set_config('jit', 'off', true), set_config('work_mem', '32MB', true)")
        yield


def reports_planned():
    """Where the reports' queries run. On PostgreSQL, in a transaction without
    JIT compilation (their estimated cost, the correlated subqueries, crosses
    jit_above_cost, and PostgreSQL spent 30 ms compiling a query that then ran
    in 10) and with 32 MB to sort in (series adherence sorts a quarter's
    series sessions by plan: at 100,000 clients, 3 MB spilled to disk under
    the default 4 MB). On SQLite, as they are (a transaction there takes the
    write lock)."""
    return _planned_for_reports() if connection.vendor == "postgresql" else nullcontext()


def side_effect_signal_url(period: Period) -> str:
    """The side-effect signal page over the same period (its own measure:
    the share of completed sessions followed by a side effect)."""
    return f"{reverse('side_effect_signal')}?{urlencode({'start': period.start, 'end': period.end})}"


@dataclass(frozen=True)
class Section:
    slug: str
    title: str
    question: str
    # (the CSV's slug, the Reports method that makes the table)
    tables: list[tuple[str, str]]
    # Shown for the whole clinic only (not for one practitioner's figures).
    whole_clinic_only: bool = False


# The page's sections, in order, and their tables.
SECTIONS = [
    Section(
        "no-shows",
        "No-shows and late cancellations",
        "Who does not come, and when? Of the sessions due (begun, and not cancelled ahead of time or by the "
        "clinic), the no-shows and the late cancellations.",
        [
            ("no-shows-by-month", "no_shows_by_month"),
            ("no-shows-by-weekday", "no_shows_by_weekday"),
            ("no-shows-by-hour", "no_shows_by_hour"),
            ("no-shows-by-practitioner", "no_shows_by_practitioner"),
        ],
    ),
    Section(
        "series",
        "Series adherence",
        "Do clients keep their series on time, and do they finish them?",
        [("series-adherence", "adherence"), ("plans", "plans")],
    ),
    Section(
        "maintenance",
        "Maintenance",
        "Do maintenance reminders and recall calls bring clients back?",
        [("maintenance", "maintenance"), ("recall-calls", "recall_calls_table")],
    ),
    Section(
        "reminders",
        "Reminders",
        "Do the messages reach clients, and which make them unsubscribe?",
        [("reminders-by-channel", "reminders_by_channel_table"), ("reminders-by-rule", "reminders_by_rule_table")],
        whole_clinic_only=True,
    ),
    Section(
        "utilisation",
        "Utilisation",
        "How full are the diaries and the rooms, week by week?",
        [
            ("utilisation-by-practitioner", "utilisation_by_practitioner"),
            ("utilisation-by-room", "utilisation_by_room"),
        ],
    ),
    Section(
        "activity",
        "Activity",
        "How many new clients, plans and sessions, and for what?",
        [("activity-by-month", "activity_by_month"), ("activity-by-indication", "activity_by_indication")],
    ),
    Section(
        "side-effects",
        "Side-effect rate",
        "How many side effects began each month, per 100 sessions held?",
        [("side-effect-rate", "side_effect_rate")],
    ),
]
# One practitioner's figures leave out the comparison of practitioners.
WHOLE_CLINIC_TABLES = {"no-shows-by-practitioner"}


def sections_for(scope: Scope) -> list[tuple[Section, list[tuple[str, str]]]]:
    """The sections and tables the scope shows."""
    whole = scope.practitioner_id is None
    shown = []
    for section in SECTIONS:
        if section.whole_clinic_only and not whole:
            continue
        tables = [(slug, method) for slug, method in section.tables if whole or slug not in WHOLE_CLINIC_TABLES]
        shown.append((section, tables))
    return shown


def table_for(reports: Reports, slug: str) -> Table | None:
    """The table whose CSV is named `slug`, if the scope shows it."""
    for _section, tables in sections_for(reports.scope):
        for name, method in tables:
            if name == slug:
                return getattr(reports, method)()
    return None
