"""The manager's figures on Today: the day's and the week's sessions and
no-shows, serious side effects still open, overdue maintenance recalls and
failed reminders, each with the address of the list it counts. Four
aggregate queries, whatever the size of the clinic."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from sessions_app.models import Reminder, ReminderKind, ReminderStatus, SessionStatus, SideEffect, TreatmentSession


@dataclass(frozen=True)
class Figure:
    label: str
    today: int | None
    week: int | None
    today_url: str
    week_url: str = ""
    # Drawn in the warning colour when not zero.
    alarming: bool = False


def _midnight(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def _admin_list(model: str, **filters) -> str:
    return reverse(f"admin:sessions_app_{model}_changelist") + "?" + urlencode(filters)


def manager_figures(now: dt.datetime | None = None) -> list[Figure]:
    now = now or timezone.now()
    today = timezone.localdate(now)
    monday = today - dt.timedelta(days=today.weekday())
    sunday = monday + dt.timedelta(days=6)
    day_start, day_end = _midnight(today), _midnight(today + dt.timedelta(days=1))
    week_start, week_end = _midnight(monday), _midnight(sunday + dt.timedelta(days=1))
    in_day = Q(starts_at__gte=day_start, starts_at__lt=day_end)

    sessions = (
        TreatmentSession.objects.filter(starts_at__gte=week_start, starts_at__lt=week_end)
        .exclude(status=SessionStatus.CANCELLED)
        .aggregate(
            today=Count("pk", filter=in_day),
            week=Count("pk"),
            no_shows_today=Count("pk", filter=in_day & Q(status=SessionStatus.NO_SHOW)),
            no_shows_week=Count("pk", filter=Q(status=SessionStatus.NO_SHOW)),
        )
    )
    serious = SideEffect.objects.open().filter(serious=True).count()
    recalls = Reminder.objects.open_calls().filter(kind=ReminderKind.MAINTENANCE_DUE, due_at__lte=now).count()
    failed = Reminder.objects.filter(
        status=ReminderStatus.FAILED, due_at__gte=week_start, due_at__lt=week_end
    ).aggregate(today=Count("pk", filter=Q(due_at__gte=day_start, due_at__lt=day_end)), week=Count("pk"))

    schedule = reverse("schedule")
    week_dates = {"starts_at__date__gte": monday.isoformat(), "starts_at__date__lte": sunday.isoformat()}
    return [
        Figure(
            "Sessions",
            sessions["today"],
            sessions["week"],
            f"{schedule}?{urlencode({'date': today.isoformat()})}",
            f"{schedule}?{urlencode({'view': 'week', 'date': today.isoformat()})}",
        ),
        Figure(
            "No-shows",
            sessions["no_shows_today"],
            sessions["no_shows_week"],
            _admin_list("treatmentsession", status__exact="no_show", starts_at__date=today.isoformat()),
            _admin_list("treatmentsession", status__exact="no_show", **week_dates),
            alarming=True,
        ),
        Figure("Serious side effects open", serious, None, reverse("side_effect_list"), alarming=True),
        Figure(
            "Maintenance recalls overdue", recalls, None, reverse("call_list") + "#group-maintenance", alarming=True
        ),
        Figure(
            "Failed reminders",
            failed["today"],
            failed["week"],
            _admin_list("reminder", status__exact="failed", due_at__date=today.isoformat()),
            _admin_list(
                "reminder",
                status__exact="failed",
                due_at__date__gte=monday.isoformat(),
                due_at__date__lte=sunday.isoformat(),
            ),
            alarming=True,
        ),
    ]


def manager_panel_context(user, now: dt.datetime | None = None) -> dict:
    """What Today's manager panel (dashboard/_manager_panel.html) needs;
    nothing for anyone who does not read the whole clinic's reports."""
    if not user.has_perm("sessions_app.view_reports"):
        return {}
    return {"manager_figures": manager_figures(now)}
